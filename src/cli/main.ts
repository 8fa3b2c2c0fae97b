#!/usr/bin/env node
/**
 * `cart` command-line entry point. Every sub-command lives in its own module under `src/cli/`
 * and exports `register(program: Command): void`, which adds the command (with its own
 * `--help`) to the program. Commands: keygen, replica, cluster, kv, demo, bench.
 */
import { Command } from 'commander';
import { commandModules } from './commands.ts';

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command();
  program
    .name('cart')
    .description('CART — Consensus-Agnostic Replication Toolkit: BLS threshold-signed replies over any consensus protocol')
    .showHelpAfterError()
    .enablePositionalOptions();
  for (const mod of await commandModules()) mod.register(program);
  await program.parseAsync(argv);
}

main().catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cart: ${msg}\n`);
  process.exit(1);
});
