/**
 * `cart kv ...`: a command-line CART client for the replicated key-value store. Needs only the
 * cluster's public files; every reply is checked against the group public key before printing.
 */
import type { Command } from 'commander';
import { connectToCluster } from '../deploy/client.ts';
import { decodeKvResult, encodeKvOperation, kvRecordFromStrings, kvRecordToStrings, type KvOperation, type KvResult } from '../apps/kv-codec.ts';
import { parseIntArg } from './cluster.ts';

function fieldsOf(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`expected field=value, got '${p}'`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  if (Object.keys(out).length === 0) throw new Error('give at least one field=value');
  return out;
}

function show(r: KvResult): string {
  switch (r.type) {
    case 'ok':
      return 'OK';
    case 'notFound':
      return 'NOT FOUND';
    case 'record':
      return JSON.stringify(kvRecordToStrings(r.record));
    case 'records':
      return r.records.map((x) => `${x.key} ${JSON.stringify(kvRecordToStrings(x.record))}`).join('\n') || '(no records)';
    case 'error':
      return `ERROR ${r.code}: ${r.message}`;
  }
}

/** Adds the `kv` command and its sub-commands. */
export function register(program: Command): void {
  const kv = program
    .command('kv')
    .description('key-value client: every reply is verified against the group public key')
    .requiredOption('--cluster <file>', 'cluster.json of the deployment (public file)')
    .option('--table <name>', 'YCSB table name', 'usertable')
    .option('--timeout <ms>', 'per-replica timeout before failing over', parseIntArg('--timeout', 1), 2000)
    .option('--read-only', 'use the read-only path for reads (falls back to ordered when needed)')
    .addHelpText('after', `
Examples:
  cart kv --cluster cart-cluster/cluster.json insert user1 field0=hello field1=world
  cart kv --cluster cart-cluster/cluster.json read user1
  cart kv --cluster cart-cluster/cluster.json scan user0 10`);
  const run = async (op: KvOperation, readOnly = false): Promise<void> => {
    const o = kv.opts<{ cluster: string; timeout: number; readOnly?: boolean }>();
    const client = await connectToCluster(o.cluster, { timeoutMs: o.timeout });
    try {
      const bytes = readOnly && o.readOnly ? await client.invokeReadOnly(encodeKvOperation(op)) : await client.invoke(encodeKvOperation(op));
      const r = decodeKvResult(bytes);
      process.stdout.write(show(r) + '\n');
      if (r.type === 'error') process.exitCode = 2;
      else if (r.type === 'notFound') process.exitCode = 1;
    } finally {
      await client.close();
    }
  };
  const table = (): string => kv.opts<{ table: string }>().table;
  kv.command('read <key> [fields...]').alias('get').description('read a record (all fields or the given ones)').action((key: string, fields: string[]) =>
    run(fields.length ? { type: 'read', table: table(), key, fields } : { type: 'read', table: table(), key }, true));
  kv.command('insert <key> <field=value...>').alias('put').description('insert (or replace) a record').action((key: string, pairs: string[]) =>
    run({ type: 'insert', table: table(), key, values: kvRecordFromStrings(fieldsOf(pairs)) }));
  kv.command('update <key> <field=value...>').description('update fields of an existing record').action((key: string, pairs: string[]) =>
    run({ type: 'update', table: table(), key, values: kvRecordFromStrings(fieldsOf(pairs)) }));
  kv.command('delete <key>').description('delete a record').action((key: string) => run({ type: 'delete', table: table(), key }));
  kv.command('scan <startKey> <count>').description('read up to <count> records in key order from <startKey>').action((startKey: string, count: string) =>
    run({ type: 'scan', table: table(), startKey, count: parseIntArg('count', 1, 1000)(count) }, true));
  kv.command('rmw <key> <field=value...>').description('read-modify-write: returns the old record, writes the fields').action((key: string, pairs: string[]) =>
    run({ type: 'readModifyWrite', table: table(), key, values: kvRecordFromStrings(fieldsOf(pairs)) }));
}
