/**
 * `cart cluster`: generate a deployment folder (keys, identities, ports, configs) and run its
 * replicas as local processes until Ctrl-C. `--init` only writes the files (to copy to several
 * hosts and start there with `cart replica --config`).
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { generateDeployment } from '../deploy/generate.ts';
import { launchLocalDeployment } from '../deploy/launch.ts';
import { CONSENSUS_PROTOCOLS, type ConsensusProtocol } from '../deploy/config.ts';

export function parseProtocol(s: string): ConsensusProtocol {
  if (!(CONSENSUS_PROTOCOLS as readonly string[]).includes(s)) throw new Error(`--consensus must be one of ${CONSENSUS_PROTOCOLS.join(', ')}`);
  return s as ConsensusProtocol;
}
export function parseIntArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (s: string) => number {
  return (s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer ${min}..${max}`);
    return v;
  };
}

/** Adds the `cluster` command. */
export function register(program: Command): void {
  program
    .command('cluster')
    .description('generate a deployment (keys, configs) and run its replicas as local processes until Ctrl-C')
    .option('-d, --dir <dir>', 'deployment folder', 'cart-cluster')
    .option('-f, --faults <f>', 'tolerated Byzantine replicas f (n = 3f+1)', parseIntArg('--faults', 1, 10), 1)
    .option('--consensus <protocol>', `consensus protocol: ${CONSENSUS_PROTOCOLS.join(' | ')}`, parseProtocol, 'pbft')
    .option('--bftsmart-home <dir>', 'your BFT-SMaRt build (jar, lib/, config/) for --consensus bftsmart', process.env['BFTSMART_HOME'])
    .option('--app <name>', 'replicated application: kv | counter', 'kv')
    .option('--host <host>', 'host/IP every replica binds to', '127.0.0.1')
    .option('--init', 'only write the deployment files, do not start replicas')
    .option('--force', 'generate a new deployment (new keys) even if --dir already holds one')
    .option('--log-level <level>', "replicas' log level (logs go to <dir>/logs/)", 'info')
    .addHelpText('after', `
Examples:
  cart cluster                                 # 4 replicas, built-in PBFT, KV store, in ./cart-cluster
                                               # (run again: restarts the same deployment; --force: new one)
  cart cluster --consensus etcd                # CART over a local 3-member etcd cluster
  cart cluster --consensus bftsmart --bftsmart-home ~/bft-smart
  cart cluster --init --host 10.0.0.5 -d prod  # files only; edit hosts in cluster.json, copy replica-<i>.* to host i
Then, in another terminal:
  cart kv --cluster cart-cluster/cluster.json put user1 field0=hello`)
    .action(async (o: { dir: string; faults: number; consensus: ConsensusProtocol; bftsmartHome?: string; app: string; host: string; init?: boolean; force?: boolean; logLevel: string }, cmd: Command) => {
      const dir = resolve(o.dir);
      const common = { f: o.faults, protocol: o.consensus, application: o.app, host: o.host, overwrite: !!o.force, ...(o.bftsmartHome ? { bftsmartHome: o.bftsmartHome } : {}) };
      if (o.init) {
        if (o.consensus === 'etcd') throw new Error('--init with etcd: write the files with a running etcd; start without --init instead, or edit consensus.etcd.endpoints in cluster.json');
        const d = await generateDeployment({ ...common, dir });
        process.stdout.write(`wrote ${d.clusterFile} (public), ${d.publicKeyFile} (public) and ${d.replicaFiles.length} secret replica files (mode 0600)\n`);
        return;
      }
      const reuse = !o.force && existsSync(join(dir, 'cluster.json'));
      if (reuse) process.stderr.write(`reusing the deployment in ${dir} (its keys, ports and protocol; --force deals new keys)\n`);
      const running = await launchLocalDeployment({
        ...common,
        dir,
        reuse,
        logLevel: o.logLevel,
        progress: (m) => process.stderr.write(m + '\n'),
        onUnexpectedExit: (i, code, signal, logFile) =>
          process.stderr.write(`replica ${i} exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}\n`),
      });
      // what runs is the deployment's (a reused folder keeps its own f, protocol and app)
      const c = running.deployment.cluster;
      if (reuse) {
        const given = (name: string): boolean => cmd.getOptionValueSource(name) === 'cli';
        const ignored = [
          given('faults') && c.f !== o.faults ? `--faults ${o.faults} (it has f = ${c.f})` : '',
          given('consensus') && c.consensus.protocol !== o.consensus ? `--consensus ${o.consensus} (it has ${c.consensus.protocol})` : '',
          given('app') && c.application !== o.app ? `--app ${o.app} (it has ${c.application})` : '',
        ].filter((x) => x !== '');
        if (ignored.length) process.stderr.write(`note: ignored for the reused deployment: ${ignored.join(', ')}; add --force for a new deployment with these settings\n`);
      }
      process.stdout.write(`CART cluster running (${c.consensus.protocol}, n = ${running.deployment.replicaFiles.length}, f = ${c.f}, app ${c.application})\n`);
      for (const r of running.deployment.cluster.replicas) {
        process.stdout.write(`  replica ${r.index}: clients ${r.host}:${r.clientPort}  metrics http://${r.host}:${r.metricsPort}/metrics  status http://${r.host}:${r.metricsPort}/status\n`);
      }
      process.stdout.write(`client files: ${running.deployment.clusterFile} + ${running.deployment.publicKeyFile}\ntry: cart kv --cluster ${running.deployment.clusterFile} put user1 field0=hello\nCtrl-C stops the cluster.\n`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
      process.stderr.write('stopping ...\n');
      await running.close();
    });
}
