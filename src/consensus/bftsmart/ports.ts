/**
 * Free local ports for a BFT-SMaRt replica set (tests, `cart cluster` on one host).
 */
import { createServer, type Server } from 'node:net';
import type { BftSmartReplicaAddress } from './config.ts';

/**
 * Pick `n` replica addresses on `host` with two free ports each (client port, replica port),
 * found by listening on port 0 (all held open until every port is chosen, then released).
 * Another process may still grab a port before BFT-SMaRt binds it; the JVM then fails with
 * "Address already in use" in its stderr.
 */
export async function allocateBftSmartAddresses(n: number, host = '127.0.0.1'): Promise<BftSmartReplicaAddress[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < 2 * n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, host, () => resolve());
      });
      ports.push((s.address() as { port: number }).port);
    }
    return Array.from({ length: n }, (_, id) => ({ id, host, port: ports[2 * id]!, replicaPort: ports[2 * id + 1]! }));
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
