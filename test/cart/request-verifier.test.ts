/**
 * RequestVerifier's verdict cache: a repeat check of a byte-identical request is served from the
 * cache; anything that differs (operation, request id, flag, key) is checked afresh and a forged
 * request reusing a cached signature is rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestVerifier } from '../../src/replica/request-verifier.ts';
import { createNodeClientIdentity } from '../../src/client/node-identity.ts';
import { signRequest } from '../../src/client/identity.ts';
import type { CartRequest } from '../../src/wire/messages.ts';

const alice = createNodeClientIdentity();
const bob = createNodeClientIdentity();
function req(requestId: bigint, op: string, readOnly = false): CartRequest {
  const operation = new TextEncoder().encode(op);
  return { clientPublicKey: alice.publicKey, requestId, operation, readOnly, signature: signRequest(alice, requestId, readOnly, operation) };
}

test('request verifier: repeats served from the cache; altered requests with a cached signature rejected', () => {
  const v = new RequestVerifier();
  const r = req(1n, 'put x');
  assert.equal(v.verify(r), true);
  assert.equal(v.cacheHits, 0);
  assert.equal(v.verify({ ...r, operation: new Uint8Array(r.operation) }), true, 'byte-identical copy');
  assert.equal(v.cacheHits, 1);
  assert.equal(v.verify({ ...r, operation: new TextEncoder().encode('put y') }), false, 'other operation, same signature');
  assert.equal(v.verify({ ...r, requestId: 2n }), false, 'other request id');
  assert.equal(v.verify({ ...r, readOnly: true }), false, 'other read-only flag');
  assert.equal(v.verify({ ...r, clientPublicKey: bob.publicKey }), false, 'other client key');
  const bad = new Uint8Array(r.signature);
  bad[5]! ^= 1;
  assert.equal(v.verify({ ...r, signature: bad }), false);
  assert.equal(v.cacheHits, 1);
});

test('request verifier: the verdict cache is bounded and can be disabled', () => {
  const v = new RequestVerifier(16, 2);
  const rs = [req(1n, 'a'), req(2n, 'b'), req(3n, 'c')];
  for (const r of rs) assert.equal(v.verify(r), true);
  assert.equal(v.verify(rs[0]!), true, 'evicted: verified afresh');
  assert.equal(v.cacheHits, 0);
  assert.equal(v.verify(rs[2]!), true);
  assert.equal(v.cacheHits, 1);
  const off = new RequestVerifier(16, 0);
  assert.equal(off.verify(rs[0]!), true);
  assert.equal(off.verify(rs[0]!), true);
  assert.equal(off.cacheHits, 0);
});
