/**
 * `cart replica --config FILE`: run one CART replica (with its consensus protocol replica
 * in-process or supervised) from a deployment's `replica-<i>.json`. Runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { runReplica } from '../deploy/run-replica.ts';

/** Adds the `replica` command. */
export function register(program: Command): void {
  program
    .command('replica')
    .description('run one CART replica from its config file (replica-<i>.json written by `cart cluster --init`)')
    .requiredOption('-c, --config <file>', "this replica's replica-<i>.json (secret: identity key, BLS key share path)")
    .option('--log-level <level>', 'structured log level on stderr (trace|debug|info|warn|error|silent)', 'info')
    .option('--events', 'print machine-readable JSON event lines on stdout (ready, view-change, leader, state-transfer)')
    .option('--exit-with-stdin', 'stop when stdin reaches its end: a launcher holding it open (cart cluster, cart demo) takes the replica down when it dies, even by SIGKILL')
    .option('--byzantine-wrong-results', 'TESTING ONLY: sign and send wrong results')
    .option('--byzantine-bad-shares', 'TESTING ONLY: send signature shares that do not verify')
    .option('--byzantine-bad-share-fraction <x>', 'TESTING ONLY: with --byzantine-bad-shares, only for this fraction (0..1) of batches', Number)
    .option('--byzantine-forge-index', "TESTING ONLY: send shares claiming another replica's signer index")
    .addHelpText('after', '\nExample:\n  cart replica --config deploy/replica-1.json\n\nServes clients on the clientPort of cluster.json, /metrics and /status on metricsPort.')
    .action(async (o: { config: string; logLevel: string; events?: boolean; exitWithStdin?: boolean; byzantineWrongResults?: boolean; byzantineBadShares?: boolean; byzantineBadShareFraction?: number; byzantineForgeIndex?: boolean }) => {
      const emit = (obj: Record<string, unknown>): void => {
        if (o.events) process.stdout.write(JSON.stringify(obj) + '\n');
      };
      const fraction = o.byzantineBadShareFraction;
      if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) throw new Error('--byzantine-bad-share-fraction must be a number in 0..1');
      const byz = {
        wrongResults: !!o.byzantineWrongResults,
        badShares: !!o.byzantineBadShares,
        ...(fraction !== undefined ? { badShareFraction: fraction } : {}),
        forgeShareIndex: !!o.byzantineForgeIndex,
      };
      const anyByz = byz.wrongResults || byz.badShares || byz.forgeShareIndex;
      let view = '0';
      const running = await runReplica({
        configFile: o.config,
        logLevel: o.logLevel,
        ...(anyByz ? { byzantine: byz } : {}),
        onEvent: (e) => {
          if (e.kind === 'view-change') {
            view = e.view.toString();
            emit({ event: 'view-change', view });
          } else if (e.kind === 'leader') emit({ event: 'leader', leader: e.leader + 1, view });
          else if (e.kind === 'state-transfer') emit({ event: 'state-transfer', sequence: e.sequence.toString() });
          else if (e.kind === 'error') emit({ event: 'error', message: e.error.message });
        },
      });
      // listen for the stop signals before announcing `ready`: whoever waits for it may signal at once
      const stopped = new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (o.exitWithStdin) {
          process.stdin.once('end', stop);
          process.stdin.once('error', stop);
          process.stdin.resume();
        }
      });
      emit({ event: 'ready', index: running.index, client: running.replica.address, status: running.status() });
      if (!o.events) process.stderr.write(`replica ${running.index} ready: clients on ${running.replica.address.host}:${running.replica.address.port}\n`);
      await stopped;
      await running.close();
      process.exit(0);
    });
}
