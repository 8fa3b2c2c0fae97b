import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, generateLocalCluster, parseClusterConfig } from '../../src/consensus/pbft/config.ts';
import { RUNS, mutateJson } from './helpers.ts';

test('fuzz: PBFT cluster config files parse to a valid config or a ConfigError', async () => {
  const { config } = await generateLocalCluster({ f: 1, ports: 0, clients: ['c1', 'c2'], protocol: { checkpointInterval: 8 } });
  const valid = JSON.parse(JSON.stringify(config)) as unknown;
  const hostile = fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 1e308, 2 ** 31, 84, 85, '', 'AAAA', null, [], {}));
  fc.assert(
    fc.property(fc.array(fc.nat(8), { minLength: 1, maxLength: 4 }), hostile, fc.boolean(), (path, repl, del) => {
      const j = mutateJson(valid, path, repl, del);
      try {
        const c = parseClusterConfig(j);
        assert.equal(c.replicas.length, 3 * c.f + 1);
        c.replicas.forEach((r, i) => assert.equal(r.id, i));
      } catch (e) {
        assert.ok(e instanceof ConfigError, `untyped ${(e as Error).name}: ${(e as Error).message}`);
      }
    }),
    { numRuns: RUNS },
  );
});
