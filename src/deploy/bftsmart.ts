/**
 * BFT-SMaRt part of a local deployment: allocate BFT-SMaRt's own ports and write each replica's
 * `config/` (hosts.config, system.config from the user's build as template) under the
 * deployment's `bftsmart/replica-<i>/` work folder, where the adapter's JVM runs.
 */
import { join } from 'node:path';
import { allocateBftSmartAddresses, writeBftSmartConfig } from '../consensus/bftsmart/index.ts';
import { relativeTo } from './config.ts';
import type { Deployment } from './generate.ts';

/**
 * Write BFT-SMaRt configs for every replica of `deployment` (protocol `bftsmart`).
 * @throws {Error} if the deployment is not a BFT-SMaRt one, or the BFT-SMaRt config errors
 */
export async function prepareBftSmartDeployment(deployment: Deployment): Promise<void> {
  const c = deployment.cluster.consensus;
  if (c.protocol !== 'bftsmart') throw new Error('not a BFT-SMaRt deployment');
  const n = deployment.cluster.replicas.length;
  const addresses = await allocateBftSmartAddresses(n);
  const root = relativeTo(deployment.clusterFile, c.bftsmart.workDir);
  for (let i = 1; i <= n; i++) {
    writeBftSmartConfig({ home: c.bftsmart.home, workDir: join(root, `replica-${i}`), replicas: addresses, f: deployment.cluster.f });
  }
}
