/**
 * Local persistence of the etcd adapter: the latest checkpoint (snapshot + the etcd revision it
 * reflects + the etcd cluster id) of one CART replica, so that a restarted replica restores it and resumes watching the
 * log from the next revision. Written atomically (temp file, fsync, rename, fsync of the folder),
 * so a crash leaves either the old or the new checkpoint, never a torn one.
 */
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCheckpointFile, encodeCheckpointFile, type LocalCheckpoint } from './codec.ts';

/** File holding replica `replicaId`'s checkpoint inside `stateDir`. */
export function checkpointPath(stateDir: string, replicaId: number): string {
  return join(stateDir, `etcd-checkpoint-r${replicaId}.bin`);
}

/**
 * Read the local checkpoint, or `undefined` if there is none.
 * @throws {EtcdDecodeError} if the file exists but is corrupt
 */
export async function loadLocalCheckpoint(file: string): Promise<LocalCheckpoint | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return decodeCheckpointFile(bytes);
}

/** Atomically replace the local checkpoint file by `cp`. */
export async function saveLocalCheckpoint(file: string, cp: LocalCheckpoint): Promise<void> {
  const dir = join(file, '..');
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(encodeCheckpointFile(cp));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
