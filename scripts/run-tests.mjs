#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's built-in test runner (Node 20 has no glob
// support in `node --test`). Extra arguments are passed through as file filters:
//   node scripts/run-tests.mjs crypto   -> only files whose path contains "crypto".
// The TAP output streams through unchanged; when a test fails, its name and diagnostic block are
// repeated at the very end, so the tail of a CI log always says what failed and where.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...files],
  { stdio: ['inherit', 'pipe', 'inherit'] },
);
/** Failed tests: the `not ok` line plus the indented YAML diagnostic block that follows it. */
const failures = [];
let current = null;
const MAX_BLOCK_LINES = 60;
createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write(line + '\n');
  const m = /^(\s*)not ok \d+ - (.*)$/.exec(line);
  if (m) {
    current = { indent: m[1].length, lines: [line.trim()] };
    failures.push(current);
    return;
  }
  if (current === null) return;
  const indent = /^\s*/.exec(line)[0].length;
  if (indent <= current.indent && line.trim() !== '') {
    current = null;
    return;
  }
  if (current.lines.length < MAX_BLOCK_LINES) current.lines.push(line);
  if (line.trim() === '...') current = null;
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('close', (code, signal) => {
  if (failures.length > 0) {
    // A failing subtest also fails its parent suite/file; list the innermost ones first.
    failures.sort((a, b) => b.indent - a.indent);
    console.log(`\n# ${failures.length} failing test(s) and their diagnostics:`);
    for (const f of failures) console.log(f.lines.join('\n'));
  }
  process.exit(code ?? (signal ? 1 : 0));
});
