/**
 * `cart keygen --replicas N [--faults f] --out DIR [--force]`: deals the threshold BLS key sets
 * ('ordered' t = f+1, 'readonly' t = 2f+1) and writes one public file for clients and one
 * secret file per replica (mode 0600). See docs/crypto.md §Key files.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { writeKeyFiles } from '../crypto/keyfile.ts';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** Adds the `keygen` sub-command. */
export function register(program: Command): void {
  program
    .command('keygen')
    .description('deal threshold BLS12-381 key sets for N replicas: one public key file + one secret file per replica')
    .requiredOption('-n, --replicas <N>', 'number of replicas (N ≥ 3f+1)', positiveInt)
    .option('-f, --faults <f>', 'Byzantine faults tolerated (default: floor((N-1)/3))', positiveInt)
    .requiredOption('-o, --out <DIR>', 'output directory (created with mode 0700)')
    .option('--force', 'overwrite existing key files', false)
    .action(async (opts: { replicas: number; faults?: number; out: string; force: boolean }) => {
      const n = opts.replicas;
      if (n < 1) throw new Error(`--replicas must be at least 1 (n = 3f+1: 4 for f = 1), got ${n}`);
      const f = opts.faults ?? Math.floor((n - 1) / 3);
      const { publicFile, secretFiles } = await writeKeyFiles(opts.out, n, f, { overwrite: opts.force });
      process.stdout.write(
        `dealt key sets for n=${n}, f=${f}: ordered (t=${f + 1}), readonly (t=${2 * f + 1})\n` +
          `public key file (give to clients): ${publicFile}\n` +
          `secret key files (one per replica, mode 0600):\n${secretFiles.map((s) => `  ${s}`).join('\n')}\n`,
      );
    });
}
