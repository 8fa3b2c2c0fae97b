/**
 * Per-replica etcd access control for CART over etcd (etcd v3 authentication: users, roles,
 * key-range permissions; etcd docs "Role-based access control").
 *
 * Without it any CART replica with network access to etcd can write any key: a Byzantine replica
 * could append entries under another replica's log key or vote checkpoints in its name. With
 * {@link configureEtcdAuth}, replica `i` logs in as `cart-replica-<i>` whose role may only write
 * its own log key `<prefix>log/<i>` and its own votes `<prefix>vote/<i>/…`, plus the shared
 * content-addressed snapshot blobs `<prefix>blob/` (verified by digest on restore), and read
 * everything under the prefix. The f+1 matching-vote rule for stable checkpoints then really
 * needs f+1 distinct replicas.
 */
import { randomBytes } from 'node:crypto';
import { Etcd3, Range } from 'etcd3';

/** Login of one etcd user (pass to `createEtcdAdapter({ auth })`). */
export interface EtcdCredentials {
  readonly username: string;
  readonly password: string;
}

/** Result of {@link configureEtcdAuth}. */
export interface EtcdAuthSetup {
  /** The etcd root user (administration only; CART replicas never need it). */
  readonly root: EtcdCredentials;
  /** Credentials per replica id. */
  readonly replicas: ReadonlyMap<number, EtcdCredentials>;
}

/** Options of {@link configureEtcdAuth}. */
export interface EtcdAuthOptions {
  /** Key prefix of the CART deployment (ends with `/`). Default `"cart/"`. */
  readonly prefix?: string;
  /** Replica ids to create users for. */
  readonly replicaIds: readonly number[];
  /** Password generator (injected); default 18 random bytes, base64url. */
  readonly newPassword?: () => string;
}

/** Range end such that `[key, keyAfter(key))` holds exactly `key`. */
function keyAfter(key: string): string {
  return `${key}\0`;
}

/**
 * Create the root user and one user + role per CART replica, then enable authentication.
 * Must run against an etcd cluster with authentication still disabled (a fresh cluster).
 * @throws the etcd client's errors (e.g. `EtcdUserExistsError` if already configured)
 */
export async function configureEtcdAuth(endpoints: readonly string[], options: EtcdAuthOptions): Promise<EtcdAuthSetup> {
  const prefix = options.prefix ?? 'cart/';
  const newPassword = options.newPassword ?? (() => randomBytes(18).toString('base64url'));
  const client = new Etcd3({ hosts: [...endpoints] });
  try {
    const root: EtcdCredentials = { username: 'root', password: newPassword() };
    await client.user(root.username).create(root.password);
    await client.role('root').create();
    await client.user(root.username).addRole('root');
    const replicas = new Map<number, EtcdCredentials>();
    for (const id of options.replicaIds) {
      if (!Number.isInteger(id) || id < 0) throw new RangeError(`bad replica id ${id}`);
      const name = `cart-replica-${id}`;
      const role = await client.role(name).create();
      const logKey = `${prefix}log/${id}`;
      await role.grant([
        { permission: 'Read', range: Range.prefix(prefix) },
        { permission: 'Readwrite', range: new Range(logKey, keyAfter(logKey)) },
        { permission: 'Readwrite', range: Range.prefix(`${prefix}vote/${id}/`) },
        { permission: 'Readwrite', range: Range.prefix(`${prefix}blob/`) },
      ]);
      const creds: EtcdCredentials = { username: name, password: newPassword() };
      await (await client.user(name).create(creds.password)).addRole(name);
      replicas.set(id, creds);
    }
    await client.auth.authEnable({});
    return { root, replicas };
  } finally {
    client.close();
  }
}
