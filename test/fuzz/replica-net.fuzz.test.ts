import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FrameError } from '../../src/net/index.ts';
import { HELLO_BYTES, MSG_HELLO, decodeHello, openData, sealData } from '../../src/net/handshake.ts';
import { generateIdentityKeyPair, importIdentityPrivateKey, importIdentityPublicKey } from '../../src/net/keys.ts';
import { NetError } from '../../src/net/errors.ts';
import { CartApplicationProxy } from '../../src/replica/app-proxy.ts';
import { SnapshotFormatError } from '../../src/replica/bytes.ts';
import { DecodeError } from '../../src/apps/codec.ts';
import { KvStore, encodeKvOperation, kvRecordFromStrings } from '../../src/apps/kv.ts';
import { createClientIdentity, signRequest } from '../../src/client/identity.ts';
import { encodeClientFrame } from '../../src/wire/codec.ts';
import { decodeCheckpointFile, decodeLogEntry, encodeLogEntry } from '../../src/consensus/etcd/codec.ts';
import { EtcdDecodeError } from '../../src/consensus/etcd/errors.ts';
import { RUNS, decodeOrTypedError, fuzzBytes } from './helpers.ts';

test('frame decoder: a length prefix of 2^31 (or 2^32-1) is refused before allocating', () => {
  for (const prefix of [[0x80, 0, 0, 0], [0xff, 0xff, 0xff, 0xff]]) {
    const d = new FrameDecoder();
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => d.push(Uint8Array.from([...prefix, 1, 2, 3])), (e: unknown) => e instanceof FrameError && e.code === 'oversize');
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    assert.throws(() => d.push(new Uint8Array(1)), (e: unknown) => e instanceof FrameError && e.code === 'decoder-failed');
  }
  // Even with the largest allowed limit nothing is pre-allocated for a 2^31 claim.
  const d = new FrameDecoder(0xffffffff);
  const before = process.memoryUsage().arrayBuffers;
  assert.deepEqual(d.push(Uint8Array.from([0x80, 0, 0, 0, ...new Uint8Array(1000)])), []);
  assert.ok(d.bufferedBytes <= 1000);
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
});

test('fuzz: frame decoder on random streams yields frames or FrameError, buffering at most one frame', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), fc.integer({ min: 0, max: 300 }), (chunks, max) => {
      const d = new FrameDecoder(max);
      let failed = false;
      for (const c of chunks) {
        try {
          for (const f of d.push(c)) assert.ok(f.length <= max);
          assert.ok(d.bufferedBytes <= max + 4 + 64);
        } catch (e) {
          assert.ok(e instanceof FrameError, String(e));
          assert.equal(e.code, failed ? 'decoder-failed' : 'oversize');
          failed = true;
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: handshake HELLO and DATA frames: fields, undefined or a failed result, never an exception', () => {
  const key = Buffer.alloc(32, 7);
  const sealed = sealData(key, 5n, Uint8Array.from([1, 2, 3]));
  const hello = Buffer.alloc(HELLO_BYTES, 3);
  hello[0] = MSG_HELLO;
  hello[1] = 1;
  fc.assert(
    fc.property(fuzzBytes([sealed, hello]), (bytes) => {
      const buf = Buffer.from(bytes);
      const h = decodeOrTypedError((b) => decodeHello(MSG_HELLO, Buffer.from(b)), bytes, () => false);
      if (h !== undefined) assert.equal(h.ephemeral.length + h.nonce.length + 6, HELLO_BYTES);
      const r = decodeOrTypedError((b) => openData(key, Buffer.from(b)), bytes, () => false)!;
      assert.equal(r.ok, buf.equals(sealed), 'only the untouched DATA frame authenticates');
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: identity key strings import or fail with NetError', () => {
  const pair = generateIdentityKeyPair();
  const corpus = [Buffer.from(pair.publicKey, 'base64'), Buffer.from(pair.privateKey, 'base64')];
  fc.assert(
    fc.property(fuzzBytes(corpus, 100), fc.boolean(), (bytes, asText) => {
      const s = asText ? Buffer.from(bytes).toString('latin1') : Buffer.from(bytes).toString('base64');
      for (const imp of [importIdentityPublicKey, importIdentityPrivateKey]) {
        try {
          imp(s);
        } catch (e) {
          assert.ok(e instanceof NetError, `untyped ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }),
    { numRuns: RUNS },
  );
});

function request(id: bigint, op: Uint8Array, who = createClientIdentity(new Uint8Array(32).fill(9))): Uint8Array {
  return encodeClientFrame({ clientPublicKey: who.publicKey, requestId: id, operation: op, readOnly: false, signature: signRequest(who, id, false, op) });
}

test('fuzz: application proxy batches of mutated requests never throw and give one result each', () => {
  const ins = encodeKvOperation({ type: 'insert', table: 't', key: 'k', values: kvRecordFromStrings({ f: 'v' }) });
  const rd = encodeKvOperation({ type: 'read', table: 't', key: 'k' });
  const corpus = [request(1n, ins), request(2n, rd)];
  const proxy = new CartApplicationProxy(new KvStore());
  let seq = 0n;
  fc.assert(
    fc.property(fc.array(fuzzBytes(corpus), { maxLength: 4 }), (reqs) => {
      const results = proxy.executeBatch({ sequence: ++seq, requests: reqs });
      assert.equal(results.length, reqs.length);
    }),
    { numRuns: 150 },
  );
});

test('fuzz: CART snapshots restore or throw a typed error leaving the state unchanged', () => {
  const ins = encodeKvOperation({ type: 'insert', table: 't', key: 'k', values: kvRecordFromStrings({ f: 'v' }) });
  const src = new CartApplicationProxy(new KvStore());
  src.executeBatch({ sequence: 1n, requests: [request(1n, ins), request(2n, ins, createClientIdentity(new Uint8Array(32).fill(3)))] });
  const snap = src.snapshot();
  fc.assert(
    fc.property(fuzzBytes([snap]), (bytes) => {
      const p = new CartApplicationProxy(new KvStore());
      p.executeBatch({ sequence: 1n, requests: [request(1n, ins)] });
      const before = p.snapshot();
      const ok = decodeOrTypedError((b) => (p.restore(b, 7n), true), bytes, (e) => e instanceof SnapshotFormatError || e instanceof DecodeError);
      if (ok === undefined) assert.deepEqual(Buffer.from(p.snapshot()), Buffer.from(before));
      else assert.equal(p.lastSequence, 7n);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: etcd log entries and checkpoint files decode or throw EtcdDecodeError', () => {
  const entry = encodeLogEntry([Uint8Array.from([1, 2, 3]), new Uint8Array(0), new Uint8Array(40).fill(5)]);
  fc.assert(
    fc.property(fuzzBytes([entry, Buffer.concat([Buffer.from('CARTETCD\x01', 'latin1'), Buffer.alloc(48)])]), (bytes) => {
      const reqs = decodeOrTypedError(decodeLogEntry, bytes, (e) => e instanceof EtcdDecodeError);
      if (reqs !== undefined) assert.deepEqual(Buffer.from(encodeLogEntry(reqs)), Buffer.from(bytes));
      decodeOrTypedError(decodeCheckpointFile, bytes, (e) => e instanceof EtcdDecodeError);
    }),
    { numRuns: RUNS },
  );
});
