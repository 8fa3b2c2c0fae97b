/**
 * One call that brings up a whole local CART deployment: (for etcd) a 3-member etcd cluster,
 * the deployment folder, and the replica processes. Shared by `cart cluster`, `cart demo`,
 * `cart bench` and the end-to-end tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeployment, loadDeployment, type Deployment, type GenerateOptions } from './generate.ts';
import { readFile } from 'node:fs/promises';
import { startLocalCluster, type ByzantineFlag, type LocalCluster } from './local-cluster.ts';
import type { ConsensusProtocol } from './config.ts';

/** Options of {@link launchLocalDeployment}. */
export interface LaunchOptions extends Omit<GenerateOptions, 'dir' | 'etcdEndpoints'> {
  /** Deployment folder; default a fresh temp folder removed by `close()`. */
  readonly dir?: string;
  readonly protocol?: ConsensusProtocol;
  readonly byzantine?: ReadonlyMap<number, readonly ByzantineFlag[]>;
  readonly logLevel?: string;
  readonly readyTimeoutMs?: number;
  readonly onEvent?: (index: number, event: Record<string, unknown>) => void;
  readonly onUnexpectedExit?: (index: number, code: number | null, signal: NodeJS.Signals | null, logFile: string) => void;
  /** Start from the deployment files already in `dir` instead of generating new ones. */
  readonly reuse?: boolean;
  /** Progress messages (e.g. to stderr). */
  readonly progress?: (message: string) => void;
}

/** A running local deployment. */
export interface LocalDeployment {
  readonly deployment: Deployment;
  readonly cluster: LocalCluster;
  /** The etcd cluster under CART (protocol etcd only). */
  readonly etcd?: { readonly endpoints: readonly string[]; stopMember(i: number): Promise<void>; restartMember(i: number): Promise<void> };
  /** Stop replicas and etcd; remove the temp folder if we made it. Idempotent. */
  close(): Promise<void>;
}

/**
 * Generate a deployment and start it locally.
 * @throws the generation, etcd or replica start errors (everything started is stopped first)
 */
export async function launchLocalDeployment(o: LaunchOptions = {}): Promise<LocalDeployment> {
  const progress = o.progress ?? (() => {});
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'cart-')));
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    if (ownDir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    let etcd: LocalDeployment['etcd'];
    let etcdEndpoints: readonly string[] | undefined;
    if (o.protocol === 'etcd') {
      progress('starting a 3-member etcd cluster on 127.0.0.1 ...');
      const { startEtcdCluster } = await import('../consensus/etcd/index.ts');
      const e = await startEtcdCluster({ members: 3, dataDir: join(dir, 'etcd-data') });
      cleanups.push(() => e.close());
      etcd = e;
      etcdEndpoints = e.endpoints;
    }
    // A replica can lose the race for a port picked as free (other processes on this machine):
    // regenerate the ports and try once more. The failing replica's log tail goes into the error,
    // since a temp folder is removed on failure.
    let deployment: Deployment;
    let cluster: LocalCluster;
    for (let attempt = 1; ; attempt++) {
      deployment = o.reuse
        ? await loadDeployment(dir)
        : await generateDeployment({ ...o, dir, ...(etcdEndpoints ? { etcdEndpoints } : {}), overwrite: o.overwrite ?? ownDir });
      if (o.protocol === 'bftsmart' && !o.reuse) {
        const { prepareBftSmartDeployment } = await import('./bftsmart.ts');
        await prepareBftSmartDeployment(deployment);
      }
      const n = deployment.replicaFiles.length;
      progress(`starting ${n} CART replicas (${deployment.cluster.consensus.protocol}, f = ${deployment.cluster.f}) ...`);
      try {
        cluster = await startLocalCluster({
          deployment,
          ...(o.byzantine ? { byzantine: o.byzantine } : {}),
          ...(o.logLevel ? { logLevel: o.logLevel } : {}),
          readyTimeoutMs: o.readyTimeoutMs ?? (o.protocol === 'bftsmart' ? 180_000 : 60_000),
          ...(o.onEvent ? { onEvent: o.onEvent } : {}),
          ...(o.onUnexpectedExit ? { onUnexpectedExit: o.onUnexpectedExit } : {}),
        });
        break;
      } catch (e) {
        const m = /log: (\S+)$/.exec((e as Error).message);
        const tail = m ? await readFile(m[1]!, 'utf8').then((t) => t.trim().split('\n').slice(-5).join('\n'), () => '') : '';
        const err = new Error(`${(e as Error).message}${tail ? `\nlast log lines:\n${tail}` : ''}`);
        // a replica stopped by SIGINT/SIGTERM (Ctrl-C reaches the whole process group) is no port race
        const interrupted = /signal SIG(INT|TERM)\)/.test((e as Error).message);
        if (attempt >= 2 || o.reuse || !(ownDir || o.overwrite) || interrupted) throw err;
        progress(`start failed (${(e as Error).message.split('\n')[0]}); retrying once with fresh ports ...`);
      }
    }
    cleanups.push(() => cluster.close());
    let closed = false;
    return {
      deployment,
      cluster,
      ...(etcd ? { etcd } : {}),
      close: async () => {
        if (closed) return;
        closed = true;
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
