/**
 * The glue link's message codec and the generated BFT-SMaRt configuration (no JVM needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  MsgType,
  decodeGlueMessage,
  decodeSnapshot,
  encodeResults,
  encodeSnapshot,
  encodeRestored,
  encodeRequest,
  sequenceOfConsensus,
} from '../../src/consensus/bftsmart/protocol.ts';
import { GlueProtocolError, BftSmartConfigError } from '../../src/consensus/bftsmart/errors.ts';
import { readHostsConfig, readSystemProperty, setProperties, writeBftSmartConfig } from '../../src/consensus/bftsmart/config.ts';

/** Build an EXECUTE frame the way GlueRecoverable.java does. */
function executeFrame(call: number, fromConsensus: boolean, batches: Array<{ cid: bigint; regency: number; leader: number; requests: Uint8Array[] }>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(10);
  head[0] = MsgType.EXECUTE;
  head.writeInt32BE(call, 1);
  head[5] = fromConsensus ? 1 : 0;
  head.writeInt32BE(batches.length, 6);
  parts.push(head);
  for (const b of batches) {
    const h = Buffer.alloc(20);
    h.writeBigInt64BE(b.cid, 0);
    h.writeInt32BE(b.regency, 8);
    h.writeInt32BE(b.leader, 12);
    h.writeInt32BE(b.requests.length, 16);
    parts.push(h);
    for (const r of b.requests) {
      const l = Buffer.alloc(4);
      l.writeInt32BE(r.length);
      parts.push(l, Buffer.from(r));
    }
  }
  return Buffer.concat(parts);
}

test('EXECUTE frames decode to the batches that were encoded', () => {
  const arbBatch = fc.record({
    cid: fc.bigInt({ min: 0n, max: (1n << 62n) - 1n }),
    regency: fc.integer({ min: 0, max: 1000 }),
    leader: fc.integer({ min: 0, max: 100 }),
    requests: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
  });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.boolean(), fc.array(arbBatch, { maxLength: 4 }), (call, fromConsensus, batches) => {
      const m = decodeGlueMessage(executeFrame(call, fromConsensus, batches));
      assert.equal(m.type, 'execute');
      if (m.type !== 'execute') return;
      assert.equal(m.call, call);
      assert.equal(m.fromConsensus, fromConsensus);
      assert.deepEqual(
        m.batches.map((b) => ({ cid: b.consensusId, regency: b.regency, leader: b.leader, requests: b.requests.map((r) => Buffer.from(r).toString('hex')) })),
        batches.map((b) => ({ cid: b.cid, regency: b.regency, leader: b.leader, requests: b.requests.map((r) => Buffer.from(r).toString('hex')) })),
      );
    }),
  );
});

test('truncated frames, hostile counts and unknown types are rejected with GlueProtocolError', () => {
  const good = executeFrame(7, true, [{ cid: 3n, regency: 0, leader: 0, requests: [Buffer.from('abc'), Buffer.from('de')] }]);
  for (let cut = 0; cut < good.length; cut++) {
    assert.throws(() => decodeGlueMessage(good.subarray(0, cut)), GlueProtocolError, `cut at ${cut}`);
  }
  const hostile = Buffer.from(good);
  hostile.writeInt32BE(0x7fffffff, 6); // batch count far beyond the frame
  assert.throws(() => decodeGlueMessage(hostile), /does not fit/);
  const negative = Buffer.from(good);
  negative.writeInt32BE(-1, 6 + 4 + 20); // first request length
  assert.throws(() => decodeGlueMessage(negative), GlueProtocolError);
  assert.throws(() => decodeGlueMessage(Buffer.from([0x42])), /unknown glue message type 0x42/);
});

test('SUBMITTED / INVOKED / HELLO decode; RESULTS, RESTORED, SUBMIT encode the documented layout', () => {
  const sub = Buffer.concat([Buffer.from([MsgType.SUBMITTED, 0, 0, 1, 0, 1]), Buffer.from('refused')]);
  assert.deepEqual(decodeGlueMessage(sub), { type: 'submitted', id: 256, ok: false, message: 'refused' });
  const inv = Buffer.concat([Buffer.from([MsgType.INVOKED, 0, 0, 0, 9, 0]), Buffer.from([1, 2, 3])]);
  const m = decodeGlueMessage(inv);
  assert.equal(m.type, 'invoked');
  if (m.type === 'invoked') assert.deepEqual([m.id, m.ok, [...m.payload]], [9, true, [1, 2, 3]]);
  assert.deepEqual(decodeGlueMessage(Buffer.concat([Buffer.from([MsgType.HELLO]), Buffer.from('tok')])), { type: 'hello', token: 'tok' });

  const r = encodeResults(5, [Buffer.from('xy'), new Uint8Array(0)]);
  assert.equal(r.toString('hex'), '81' + '00000005' + '00000002' + '00000002' + '7879' + '00000000');
  assert.equal(encodeRestored(3, false, 'no').toString('hex'), '83' + '00000003' + '00' + '6e6f');
  assert.equal(encodeRequest(MsgType.SUBMIT, 2, Buffer.from([0xaa])).toString('hex'), '84' + '00000002' + 'aa');
});

test('snapshots carry their sequence; consensus ids map to sequences from 1', () => {
  const s = encodeSnapshot(42n, Buffer.from('state'));
  const d = decodeSnapshot(s);
  assert.equal(d.sequence, 42n);
  assert.equal(Buffer.from(d.snapshot).toString(), 'state');
  assert.throws(() => decodeSnapshot(s.subarray(0, 7)), GlueProtocolError);
  assert.throws(() => decodeSnapshot(encodeSnapshot(-1n, new Uint8Array(0))), /negative/);
  assert.equal(sequenceOfConsensus(0n), 1n);
  assert.equal(sequenceOfConsensus(41n), 42n);
});

test('writeBftSmartConfig copies the home config, writes hosts/system config and removes currentView', () => {
  const root = mkdtempSync(join(tmpdir(), 'cart-bftsmart-config-'));
  try {
    const home = join(root, 'home');
    mkdirSync(join(home, 'config', 'keysECDSA'), { recursive: true });
    mkdirSync(join(home, 'lib'));
    writeFileSync(join(home, 'lib', 'BFT-SMaRt.jar'), 'not really a jar');
    writeFileSync(join(home, 'config', 'system.config'), '# comment\nsystem.servers.num = 4\nsystem.servers.f = 1\n#system.initial.view = 9\nsystem.initial.view = 0,1,2,3\nsystem.bft = true\n');
    writeFileSync(join(home, 'config', 'hosts.config'), '0 127.0.0.1 11000 11001\n');
    writeFileSync(join(home, 'config', 'keysECDSA', 'publickey0'), 'k');
    const work = join(root, 'work');
    mkdirSync(join(work, 'config'), { recursive: true });
    writeFileSync(join(work, 'config', 'currentView'), 'stale');
    const replicas = [0, 1, 2, 3, 4, 5, 6].map((id) => ({ id, port: 20000 + 10 * id }));
    const dir = writeBftSmartConfig({ home, workDir: work, replicas, systemOverrides: { 'system.totalordermulticast.checkpoint_period': '8' } });
    assert.equal(existsSync(join(dir, 'currentView')), false);
    assert.equal(readFileSync(join(dir, 'keysECDSA', 'publickey0'), 'utf8'), 'k');
    assert.deepEqual(readHostsConfig(dir), replicas.map((r) => ({ id: r.id, host: '127.0.0.1', port: r.port, replicaPort: r.port + 1 })));
    assert.equal(readSystemProperty(dir, 'system.servers.num'), '7');
    assert.equal(readSystemProperty(dir, 'system.servers.f'), '2');
    assert.equal(readSystemProperty(dir, 'system.initial.view'), '0,1,2,3,4,5,6');
    assert.equal(readSystemProperty(dir, 'system.bft'), 'true');
    assert.equal(readSystemProperty(dir, 'system.totalordermulticast.checkpoint_period'), '8');
    assert.match(readFileSync(join(dir, 'system.config'), 'utf8'), /#system.initial.view = 9/); // comments untouched
    // the user's home is never modified
    assert.match(readFileSync(join(home, 'config', 'system.config'), 'utf8'), /system.servers.num = 4/);

    assert.throws(() => writeBftSmartConfig({ home, workDir: work, replicas: [{ id: 1, port: 1000 }] }), BftSmartConfigError);
    assert.throws(() => writeBftSmartConfig({ home, workDir: work, replicas: [{ id: 0, port: 1000 }, { id: 1, port: 1001 }] }), /used twice/);
    assert.throws(() => writeBftSmartConfig({ home, workDir: work, replicas: replicas.slice(0, 4), f: 2 }), /3f\+1/);
    assert.throws(() => writeBftSmartConfig({ home: join(root, 'nope'), workDir: work, replicas }), /does not exist/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('setProperties replaces the first live occurrence and appends missing keys', () => {
  const out = setProperties('a = 1\n# b = 2\nb: 3\nc=4\n', { b: 'x', d: 'y' });
  assert.equal(out, 'a = 1\n# b = 2\nb = x\nc=4\nd = y\n');
});
