/**
 * `cart bench --consensus bftsmart` on real processes: BFT-SMaRt's own client (ServiceProxy, f+1
 * voting) on plain KV replicas beside CART over BFT-SMaRt, in one run. Needs a BFT-SMaRt build
 * (`BFTSMART_HOME`); skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitWithin, groupMembers, killGroup, startBench } from './bench-process.ts';

const HOME = process.env['BFTSMART_HOME'];
const SKIP = HOME ? false : 'BFTSMART_HOME not set: point it at a BFT-SMaRt build (its jar, lib/, config/) to run this test (docs/bftsmart.md)';

test('cart bench --consensus bftsmart: native BFT-SMaRt client and CART over BFT-SMaRt side by side, with ratios', { skip: SKIP, timeout: 300_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cart-bench-bftsmart-'));
  const b = startBench(['--consensus', 'bftsmart', '--bftsmart-home', HOME!, '--modes', 'native,cart-none', '--clients', '1', '--duration', '1', '--warmup', '0.5', '--records', '12', '--out', out, '--json']);
  try {
    const code = await exitWithin(b, 290_000);
    assert.equal(code, 0, b.stderr.slice(-30).join('\n'));
    const last = JSON.parse(b.stdout[b.stdout.length - 1]!) as { results: Record<string, unknown>[] };
    assert.deepEqual(last.results.map((r) => [r['consensus'], r['mode']]), [['bftsmart', 'native'], ['bftsmart', 'cart-none']]);
    for (const r of last.results) {
      assert.ok((r['throughputOpsPerSec'] as number) > 0, `${String(r['mode'])}: operations completed`);
      assert.equal(r['errors'], 0);
      assert.equal(r['integrityErrors'], 0, 'every accepted read returned what was written');
    }
    assert.equal(last.results[0]!['pairingChecksPerReply'], null, 'native: f+1 voting, no BLS');
    assert.ok((last.results[1]!['pairingChecksPerReply'] as number) <= 1);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { ratios: { name: string; consensus: string; value: number | null }[] };
    const ratio = json.ratios.find((q) => q.name === 'cart-none ÷ native' && q.consensus === 'bftsmart');
    assert.ok(ratio && ratio.value !== null && ratio.value > 0, 'cart-none ÷ native over BFT-SMaRt reported');
    assert.match(await readFile(join(out, 'results.md'), 'utf8'), /\| bftsmart \| native \| 1 \|/);
    assert.deepEqual(groupMembers(b.child.pid!), [], 'no replica process or JVM left behind');
  } finally {
    killGroup(b);
    await rm(out, { recursive: true, force: true });
  }
});
