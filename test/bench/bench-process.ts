/**
 * Helpers for real-process `cart bench` tests: run the bench in its own process group (detached),
 * collect its output, wait (bounded) for lines or its exit, list and kill what is left of the group.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The `cart` CLI entry. */
export const MAIN = resolve('src/cli/main.ts');

/** A running `cart bench` process and what it printed so far (lines). */
export interface Bench {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves when a stderr line matches `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<void>;
}

/** Start `cart bench ARGS` in its own process group (kill it with {@link killGroup}). */
export function startBench(args: string[]): Bench {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: { re: RegExp; done: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderr.push(l);
    for (const w of watchers.splice(0)) {
      if (w.re.test(l)) w.done();
      else watchers.push(w);
    }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    stdout,
    stderr,
    exited,
    waitFor: (re, ms) =>
      new Promise<void>((res, rej) => {
        if (stderr.some((l) => re.test(l))) return res();
        const t = setTimeout(() => rej(new Error(`no stderr line matching ${re} within ${ms} ms:\n${stderr.slice(-20).join('\n')}`)), ms);
        watchers.push({ re, done: () => (clearTimeout(t), res()) });
      }),
  };
}

/** Exit code, or a failure after `ms`. */
export async function exitWithin(b: Bench, ms: number): Promise<number | null> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`bench did not exit within ${ms} ms:\n${b.stderr.slice(-20).join('\n')}`)), ms)));
  try {
    return await Promise.race([b.exited, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** PIDs still alive in the bench's process group (the bench and its replicas). */
export function groupMembers(pgid: number): number[] {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => Number(c[1]) === pgid && !c[2]?.startsWith('Z'))
    .map((c) => Number(c[0]));
}

export function killGroup(b: Bench): void {
  try {
    process.kill(-b.child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
