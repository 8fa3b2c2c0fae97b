import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseProperties, PropertiesSyntaxError, parseWorkload, builtinWorkload, WorkloadConfigError, type CoreWorkloadConfig } from '../../src/bench/ycsb/index.ts';
import { loadWorkloadFile } from '../../src/bench/ycsb/file.ts';

test('properties: Java Properties.load syntax', () => {
  const text = [
    '# comment',
    '   ! also a comment',
    '',
    '  \t ',
    'a=1',
    'b = 2  ',
    'c:3',
    'd 4',
    'e\t=\t  five six',
    'f',
    'g=',
    'multi = first, \\',
    '        second, \\',
    '   third',
    'esc\\=key = va\\tl\\u0041\\\\',
    'colon\\:key : x:y=z',
    'trailing = back\\\\',
    'a=override',
    '#notcontinued \\',
    'h=after',
  ].join('\r\n');
  const p = parseProperties(text);
  assert.deepEqual(Object.fromEntries(p), {
    a: 'override',
    b: '2  ',
    c: '3',
    d: '4',
    e: 'five six',
    f: '',
    g: '',
    multi: 'first, second, third',
    'esc=key': 'va\tlA\\',
    'colon:key': 'x:y=z',
    trailing: 'back\\',
    h: 'after',
  });
  assert.throws(() => parseProperties('x=\\u12G4'), PropertiesSyntaxError);
  // CR-only and LF line ends, continuation at end of input
  assert.deepEqual(Object.fromEntries(parseProperties('x=1\ry=2\nz=3\\')), { x: '1', y: '2', z: '3' });
});

const expected: Record<string, Partial<CoreWorkloadConfig>> = {
  a: { readProportion: 0.5, updateProportion: 0.5, scanProportion: 0, insertProportion: 0, requestDistribution: 'zipfian' },
  b: { readProportion: 0.95, updateProportion: 0.05, requestDistribution: 'zipfian' },
  c: { readProportion: 1, updateProportion: 0, requestDistribution: 'zipfian' },
  d: { readProportion: 0.95, updateProportion: 0, insertProportion: 0.05, requestDistribution: 'latest' },
  e: { readProportion: 0, scanProportion: 0.95, insertProportion: 0.05, maxScanLength: 100, scanLengthDistribution: 'uniform', requestDistribution: 'zipfian' },
  f: { readProportion: 0.5, updateProportion: 0, readModifyWriteProportion: 0.5, requestDistribution: 'zipfian' },
};
const common: Partial<CoreWorkloadConfig> = {
  recordCount: 1000,
  operationCount: 1000,
  table: 'usertable',
  fieldCount: 10,
  fieldLength: 100,
  fieldLengthDistribution: 'constant',
  readAllFields: true,
  writeAllFields: false,
  zipfianConstant: 0.99,
  insertOrder: 'hashed',
  insertStart: 0,
  insertCount: 1000,
};

function pick(cfg: CoreWorkloadConfig, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (cfg as unknown as Record<string, unknown>)[k]]));
}

const sharedDir = resolve(process.cwd(), '../shared/ycsb');
for (const letter of ['a', 'b', 'c', 'd', 'e', 'f']) {
  test(`workload ${letter}: shared YCSB file parses with YCSB defaults and equals the built-in`, { skip: !existsSync(resolve(sharedDir, `workload${letter}`)) && `no ${sharedDir}` }, async () => {
    const file = resolve(sharedDir, `workload${letter}`);
    const cfg = await loadWorkloadFile(file);
    const want = { ...common, ...expected[letter] };
    assert.deepEqual(pick(cfg, Object.keys(want)), want);
    const builtin = builtinWorkload(letter.toUpperCase());
    const { properties: _p1, ...a } = cfg;
    const { properties: _p2, ...b } = builtin;
    assert.deepEqual(a, b, 'built-in workload differs from the shared file');
    assert.equal(parseWorkload(readFileSync(file, 'utf8')).requestDistribution, want.requestDistribution);
  });
}

test('workload config: defaults, overrides and typed errors', () => {
  const d = parseWorkload('');
  assert.equal(d.readProportion, 0.95);
  assert.equal(d.updateProportion, 0.05);
  assert.equal(d.requestDistribution, 'uniform');
  assert.equal(d.maxScanLength, 1000);
  assert.equal(d.fieldNamePrefix, 'field');
  const o = builtinWorkload('a', new Map([['recordcount', '50'], ['insertstart', '10']]));
  assert.equal(o.recordCount, 50);
  assert.equal(o.insertCount, 40);
  assert.throws(() => parseWorkload('recordcount=ten'), WorkloadConfigError);
  assert.throws(() => parseWorkload('requestdistribution=pareto'), WorkloadConfigError);
  assert.throws(() => parseWorkload('readproportion=0\nupdateproportion=0'), WorkloadConfigError);
  assert.throws(() => parseWorkload('workload=site.ycsb.workloads.TimeSeriesWorkload'), WorkloadConfigError);
  assert.throws(() => parseWorkload('fieldlengthdistribution=histogram'), WorkloadConfigError);
  assert.throws(() => builtinWorkload('g'), WorkloadConfigError);
});

test('workload spec: letter or file path; -p style overrides', async () => {
  const { resolveWorkload } = await import('../../src/bench/ycsb/file.ts');
  const { parseOverrides } = await import('../../src/bench/ycsb/index.ts');
  const o = parseOverrides(['recordcount=20', 'table = t', 'fieldlength=']);
  assert.deepEqual([...o], [['recordcount', '20'], ['table', ' t'], ['fieldlength', '']]);
  assert.throws(() => parseOverrides(['novalue']), WorkloadConfigError);
  const b = await resolveWorkload('B', new Map([['recordcount', '20']]));
  assert.equal(b.readProportion, 0.95);
  assert.equal(b.recordCount, 20);
  await assert.rejects(resolveWorkload('/nonexistent/workload'), /ENOENT/);
});
