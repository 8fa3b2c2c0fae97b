import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ClientTable, decodeCoreState, encodeCoreState } from '../../src/consensus/pbft/client-table.ts';
import { DecodeError } from '../../src/consensus/pbft/codec.ts';
import { decodeGlueMessage, decodeSnapshot, encodeCancel, encodeRequest, encodeResults, encodeSnapshot, MsgType } from '../../src/consensus/bftsmart/protocol.ts';
import { GlueProtocolError } from '../../src/consensus/bftsmart/errors.ts';
import { DeployConfigError, parseClusterConfig, parseReplicaSecretConfig } from '../../src/deploy/config.ts';
import { generateDeployment } from '../../src/deploy/generate.ts';
import { parseWorkload, WorkloadConfigError } from '../../src/bench/ycsb/config.ts';
import { PropertiesSyntaxError } from '../../src/bench/ycsb/properties.ts';
import { RUNS, decodeOrTypedError, fuzzBytes, mutateJson } from './helpers.ts';

test('fuzz: PBFT core state (client table + app snapshot) decodes or throws DecodeError', () => {
  const table = new ClientTable(16);
  table.record('client-a', 1n, Uint8Array.from([1, 2]));
  table.record('client-a', 2n, Uint8Array.from([3]));
  table.record('client-b', 7n, new Uint8Array(0));
  const corpus = [encodeCoreState(table, Uint8Array.from([9, 9, 9])), encodeCoreState(new ClientTable(16), new Uint8Array(0))];
  fc.assert(
    fc.property(fuzzBytes(corpus), (bytes) => {
      const s = decodeOrTypedError((b) => decodeCoreState(b, 16), bytes, (e) => e instanceof DecodeError);
      if (s === undefined) return;
      // Re-encoding is stable. (The decoder accepts some non-canonical inputs, e.g. result ids out
      // of order or above the client's max, which re-encode differently; harmless for state
      // transfer, whose bytes are checked against the certified digest before decoding.)
      const again = encodeCoreState(s.table, s.app);
      assert.equal(Buffer.from(encodeCoreState(decodeCoreState(again, 16).table, s.app)).toString('hex'), Buffer.from(again).toString('hex'));
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: BFT-SMaRt glue frames and snapshots decode or throw GlueProtocolError', () => {
  const corpus = [
    encodeResults(3, [Uint8Array.from([1, 2, 3]), new Uint8Array(0)]),
    encodeRequest(MsgType.SUBMIT, 5, Uint8Array.from([7, 7])),
    encodeCancel(9),
    encodeSnapshot(12n, Uint8Array.from([4, 5, 6])),
  ];
  fc.assert(
    fc.property(fuzzBytes(corpus), (bytes) => {
      decodeOrTypedError(decodeGlueMessage, bytes, (e) => e instanceof GlueProtocolError);
      const s = decodeOrTypedError(decodeSnapshot, bytes, (e) => e instanceof GlueProtocolError);
      if (s !== undefined) assert.ok(s.sequence >= 0n);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: deployment config files parse or throw DeployConfigError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cart-fuzz-deploy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const d = await generateDeployment({ dir, f: 1 });
  const cluster = JSON.parse(await readFile(d.clusterFile, 'utf8')) as unknown;
  const secret = JSON.parse(await readFile(d.replicaFiles[0]!, 'utf8')) as unknown;
  assert.equal(parseClusterConfig(cluster).replicas.length, 4);
  const hostile = fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 0, 65536, 2 ** 53, 'pbft', 'etcd', '', null, [], {}));
  fc.assert(
    fc.property(fc.array(fc.nat(8), { minLength: 1, maxLength: 4 }), hostile, fc.boolean(), (path, repl, del) => {
      for (const [parse, base] of [[parseClusterConfig, cluster], [parseReplicaSecretConfig, secret]] as const) {
        try {
          parse(mutateJson(base, path, repl, del));
        } catch (e) {
          assert.ok(e instanceof DeployConfigError, `untyped ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: YCSB workload files parse or throw a typed error', () => {
  const text = 'workload=site.ycsb.workloads.CoreWorkload\nrecordcount=1000\noperationcount=1000\nreadproportion=0.5\nupdateproportion=0.5\nrequestdistribution=zipfian\n';
  const corpus = [new TextEncoder().encode(text)];
  fc.assert(
    fc.property(fuzzBytes(corpus, 200), (bytes) => {
      decodeOrTypedError((b) => parseWorkload(Buffer.from(b).toString('latin1')), bytes, (e) => e instanceof WorkloadConfigError || e instanceof PropertiesSyntaxError);
    }),
    { numRuns: RUNS },
  );
});
