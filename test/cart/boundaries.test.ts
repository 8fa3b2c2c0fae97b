import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Static (non-dynamic) import specifiers of a file. */
function staticImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
}

/** Every file reachable from `entry` through static imports, and every bare specifier met. */
function closure(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    for (const spec of staticImports(f)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(f), spec));
      else external.add(spec);
    }
  }
  return { files, external };
}

test('the client entry pulls in no replica/consensus code and no Node-only module (browser-shippable)', () => {
  const { files, external } = closure(join(ROOT, 'src/client/index.ts'));
  const rel = [...files].map((f) => relative(ROOT, f));
  assert.deepEqual(rel.filter((f) => f.startsWith('src/replica') || f.startsWith('src/consensus') || f.startsWith('src/net')), []);
  assert.deepEqual([...external].filter((e) => e.startsWith('node:')), []);
  assert.ok(rel.includes('src/crypto/verify.ts'));
  assert.ok(!rel.includes('src/crypto/index.ts'), 'verify-only crypto entry');
});

test('the replica imports only the adapter interface from consensus', () => {
  const dir = join(ROOT, 'src/replica');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    for (const spec of staticImports(join(dir, name))) {
      const target = relative(ROOT, resolve(dir, spec));
      if (target.startsWith('src/consensus')) assert.equal(target, 'src/consensus/adapter.ts', `${name} imports ${spec}`);
      assert.ok(!target.startsWith('src/client'), `${name} imports client code ${spec}`);
    }
  }
});
