/**
 * The built-in replicated applications and a factory by name (for configuration files and the
 * CLI). All modules here are browser-safe.
 */
import type { Application } from './application.ts';
import { Counter } from './counter.ts';
import { KvStore, type KvStoreOptions } from './kv.ts';

export type { Application } from './application.ts';
export { KvStore, type KvStoreOptions } from './kv.ts';
export { Counter } from './counter.ts';

/** Names accepted by {@link createApplication}. */
export const APPLICATION_NAMES = ['kv', 'counter'] as const;
/** A built-in application name. */
export type ApplicationName = (typeof APPLICATION_NAMES)[number];

/** An unknown application name was requested. */
export class UnknownApplicationError extends Error {
  override readonly name = 'UnknownApplicationError';
  constructor(readonly application: string) {
    super(`unknown application ${JSON.stringify(application)} (known: ${APPLICATION_NAMES.join(', ')})`);
  }
}

/**
 * A fresh (empty) instance of a built-in application.
 * @param options for `kv`: {@link KvStoreOptions} (limits); ignored by `counter`.
 * @throws {UnknownApplicationError} for an unknown name.
 */
export function createApplication(name: string, options: KvStoreOptions = {}): Application {
  switch (name) {
    case 'kv':
      return new KvStore(options);
    case 'counter':
      return new Counter();
    default:
      throw new UnknownApplicationError(name);
  }
}
