import type { Command } from 'commander';

/** A CLI sub-command module: adds its command(s) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * The list of sub-command modules, loaded lazily so `cart --help` stays fast.
 * To add a command: create `src/cli/<name>.ts` exporting `register`, and list it here.
 */
export async function commandModules(): Promise<CommandModule[]> {
  const names: string[] = ['keygen', 'replica', 'cluster', 'kv', 'demo', 'bench'];
  const mods: CommandModule[] = [];
  for (const name of names) mods.push((await import(`./${name}.ts`)) as CommandModule);
  return mods;
}
