/**
 * Client side of the freshness protocol against scripted (possibly lying) replicas over an
 * in-memory transport: STALE_FRESHNESS hints make the client re-sign the SAME request id with
 * the hinted sequence; re-signings are bounded by maxAttempts; a hint that is not newer only
 * causes a failover; nothing unverified is ever accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CartClient } from '../../src/client/client.ts';
import { NoQuorumError } from '../../src/client/errors.ts';
import { createClientIdentity } from '../../src/client/identity.ts';
import type { ClientTransport, ReplicaEndpoint, TransportConnection, TransportHandlers } from '../../src/client/transport.ts';
import { RequestVerifier } from '../../src/replica/request-verifier.ts';
import { MerkleTree } from '../../src/crypto/merkle.ts';
import { clientIdOf, digest, ORDERED_KEY_SET, replyDigest } from '../../src/wire/digest.ts';
import { decodeClientFrame, encodeReplicaFrame, ErrorCode, PROTOCOL_VERSION, type CartRequest } from '../../src/wire/codec.ts';

type Policy = (replica: number, req: CartRequest) => Uint8Array | undefined;

/** n scripted replicas: every frame a client sends is decoded, logged and answered by `policy`. */
class ScriptedTransport implements ClientTransport {
  readonly log: { replica: number; req: CartRequest }[] = [];
  constructor(private readonly policy: Policy) {}
  connect(endpoint: ReplicaEndpoint, h: TransportHandlers): TransportConnection {
    const replica = endpoint.port;
    let open = true;
    return {
      send: (payload) => {
        if (!open) return false;
        const req = decodeClientFrame(payload);
        this.log.push({ replica, req });
        const answer = this.policy(replica, req);
        if (answer) queueMicrotask(() => open && h.onFrame(answer));
        return true;
      },
      close: () => {
        if (!open) return;
        open = false;
        queueMicrotask(() => h.onClose('closed'));
      },
    };
  }
}

const staleFreshness = (req: CartRequest, sequence: bigint): Uint8Array =>
  encodeReplicaFrame({ type: 'error', error: { requestId: req.requestId, code: ErrorCode.STALE_FRESHNESS, message: 'stale', supportedVersion: PROTOCOL_VERSION, sequence } });

function client(transport: ClientTransport, maxAttempts = 6): CartClient {
  return new CartClient(
    {
      replicas: [0, 1, 2, 3].map((port) => ({ host: 'scripted', port })),
      groupPublicKey: new Uint8Array(96),
      verifier: { verify: async () => false },
      identity: createClientIdentity(),
      timeoutMs: 5000,
      maxAttempts,
    },
    transport,
  );
}

test('a STALE_FRESHNESS hint makes the client re-sign the same request id with the hint; re-signings are bounded by maxAttempts', async (t) => {
  let next = 1000n;
  // every replica lies with an ever newer hint: the client must stop after maxAttempts
  const transport = new ScriptedTransport((_r, req) => staleFreshness(req, (next += 10n)));
  const c = client(transport, 5);
  t.after(() => c.close());
  await assert.rejects(c.invoke(Uint8Array.of(1)), NoQuorumError);
  assert.equal(transport.log.length, 5, 'one frame per attempt');
  assert.ok(transport.log.every((x) => x.req.requestId === 1n), 'always the same request id');
  assert.deepEqual(
    transport.log.map((x) => x.req.fresh),
    [0n, 1010n, 1020n, 1030n, 1040n],
    'each retry carries the previous hint',
  );
  const verifier = new RequestVerifier(16, 0);
  for (const { req } of transport.log) assert.equal(verifier.verify(req), true, 'every re-signed frame carries a valid signature over its fresh');
  assert.equal(c.stats().freshnessRetries, 4);
  assert.equal(c.stats().verified, 0);
  assert.equal(c.freshnessSequence, 0n, 'unauthenticated hints never raise the client-wide freshness');
});

test('a hint that is not newer than the frame\'s own fresh causes a failover, not a re-signing', async (t) => {
  const transport = new ScriptedTransport((replica, req) => (replica === 0 ? staleFreshness(req, 0n) : undefined));
  const c = client(transport, 3);
  t.after(() => c.close());
  const outcome = c.invoke(Uint8Array.of(2));
  // replica 0 answers with hint 0 (== fresh 0): the client moves on to replica 1 with the same frame
  const deadline = Date.now() + 20_000;
  while (transport.log.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    transport.log.map((x) => [x.replica, x.req.fresh]),
    [
      [0, 0n],
      [1, 0n],
    ],
  );
  assert.equal(c.stats().freshnessRetries, 0);
  assert.equal(c.stats().failovers, 1);
  await c.close();
  await assert.rejects(outcome);
});

test('a second copy of a reply that is still being checked (the replica answered a retransmission) is a benign duplicate, not a rejection', async (t) => {
  const result = Uint8Array.of(7, 7);
  const replyTo = (req: CartRequest): Uint8Array => {
    const clientId = clientIdOf(req.clientPublicKey);
    const leaf = replyDigest({ keySet: ORDERED_KEY_SET, clientId, requestId: req.requestId, operationDigest: digest(req.operation), result });
    const reply = { requestId: req.requestId, clientId, result, keySet: ORDERED_KEY_SET, sequence: 5n, root: new MerkleTree([leaf]).root, leafIndex: 0, leafCount: 1, proof: [], groupSignature: new Uint8Array(48), replica: 1 };
    return encodeReplicaFrame({ type: 'reply', reply });
  };
  // replica 0 sends its reply twice; the (fake) signature check takes a while, so the copy arrives mid-check
  const transport = new ScriptedTransport(() => undefined);
  const twice: ClientTransport = {
    connect: (endpoint, h) => {
      const inner = transport.connect(endpoint, h);
      return {
        send: (payload) => {
          const req = decodeClientFrame(payload);
          const frame = replyTo(req);
          queueMicrotask(() => h.onFrame(frame));
          setTimeout(() => h.onFrame(frame), 5);
          return inner.send(payload);
        },
        close: () => inner.close(),
      };
    },
  };
  const c = new CartClient(
    {
      replicas: [0, 1, 2, 3].map((port) => ({ host: 'scripted', port })),
      groupPublicKey: new Uint8Array(96),
      verifier: { verify: () => new Promise<boolean>((r) => setTimeout(() => r(true), 30)) },
      identity: createClientIdentity(),
      timeoutMs: 5000,
    },
    twice,
  );
  t.after(() => c.close());
  assert.deepEqual([...(await c.invoke(Uint8Array.of(1)))], [...result]);
  const s = c.stats();
  assert.equal(s.rejected.unsolicited, 0);
  assert.equal(s.rejected.late, 1);
  assert.equal(s.verified, 1);
});
