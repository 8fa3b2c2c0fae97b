/**
 * Compiling the Java glue (`java/bftsmart-glue/src`) with `javac` at first use, against the
 * user's BFT-SMaRt jars. Nothing compiled is committed: classes go to a cache directory keyed
 * by a SHA-256 over the glue sources and the BFT-SMaRt classpath (names, sizes, mtimes), so a
 * changed glue or a different BFT-SMaRt build gets a fresh compile.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlueCompileError } from './errors.ts';

/** Directory of the glue's Java sources in this repository. */
export const GLUE_SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../java/bftsmart-glue/src');

/** Main class of the glue JVM. */
export const GLUE_MAIN_CLASS = 'cart.bftsmart.GlueMain';

/** Default cache root: `$XDG_CACHE_HOME/cart` or `~/.cache/cart`. */
export function defaultCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'cart');
}

function javaSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...javaSources(p));
    else if (name.endsWith('.java')) out.push(p);
  }
  return out;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Compile the glue against `classpath` unless an up-to-date build is cached.
 * @param classpath BFT-SMaRt jars ({@link ./config.ts bftSmartClasspath})
 * @param options `cacheDir` (default {@link defaultCacheDir}), `javac` executable (default `javac`)
 * @returns the directory holding the compiled classes
 * @throws {GlueCompileError} if javac is missing or fails (its output attached).
 */
export function compileGlue(classpath: readonly string[], options: { cacheDir?: string; javac?: string } = {}): Promise<string> {
  const sources = javaSources(GLUE_SOURCE_DIR);
  const h = createHash('sha256');
  for (const s of sources) h.update(s.slice(GLUE_SOURCE_DIR.length)).update(readFileSync(s));
  for (const jar of classpath) {
    const st = statSync(jar);
    h.update(`${jar}\0${st.size}\0${st.mtimeMs}\0`);
  }
  const root = join(options.cacheDir ?? defaultCacheDir(), 'bftsmart-glue');
  const target = join(root, h.digest('hex').slice(0, 24));
  if (existsSync(join(target, 'cart', 'bftsmart', 'GlueMain.class'))) return Promise.resolve(target);
  const pending = inFlight.get(target);
  if (pending !== undefined) return pending;
  const p = new Promise<string>((resolvePromise, reject) => {
    mkdirSync(root, { recursive: true });
    // Compile into a private directory, then rename: concurrent compilers (other processes) never
    // see a half-written class directory.
    const tmp = mkdtempSync(join(root, 'tmp-'));
    const args = ['-nowarn', '-encoding', 'UTF-8', '-d', tmp, '-cp', classpath.join(delimiter), ...sources];
    execFile(options.javac ?? 'javac', args, { maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) {
        rmSync(tmp, { recursive: true, force: true });
        reject(new GlueCompileError(`javac failed to compile the BFT-SMaRt glue (${(err as NodeJS.ErrnoException).code ?? err.message})`, `${stdout}${stderr}`));
        return;
      }
      try {
        renameSync(tmp, target);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another process won the race
      }
      resolvePromise(target);
    });
  }).finally(() => inFlight.delete(target));
  inFlight.set(target, p);
  return p;
}
