/**
 * YCSB CoreWorkload configuration: the properties `site.ycsb.workloads.CoreWorkload` reads, with
 * YCSB's defaults for omitted ones, and the six core workloads A–F built in.
 * Browser-safe (reading files is in `file.ts`).
 */
import { parseProperties } from './properties.ts';
import { ZIPFIAN_CONSTANT } from './generators.ts';

/** Key-choice distributions of `requestdistribution`. */
export type RequestDistribution = 'uniform' | 'zipfian' | 'latest' | 'hotspot' | 'sequential' | 'exponential';
/** Distributions of `fieldlengthdistribution` (YCSB's `histogram` is not supported). */
export type FieldLengthDistribution = 'constant' | 'uniform' | 'zipfian';
/** Distributions of `scanlengthdistribution`. */
export type ScanLengthDistribution = 'uniform' | 'zipfian';

/** A parsed CoreWorkload configuration (property names in comments). */
export interface CoreWorkloadConfig {
  /** `table`, default `usertable`. */
  readonly table: string;
  /** `recordcount`: records loaded; default 0 (YCSB's Client default). */
  readonly recordCount: number;
  /** `operationcount`: transactions to run; default 0. */
  readonly operationCount: number;
  /** `fieldcount`, default 10. */
  readonly fieldCount: number;
  /** `fieldnameprefix`, default `field` (fields `field0` .. `field9`). */
  readonly fieldNamePrefix: string;
  /** `fieldlength` (bytes; the maximum for non-constant distributions), default 100. */
  readonly fieldLength: number;
  /** `minfieldlength`, default 1. */
  readonly minFieldLength: number;
  /** `fieldlengthdistribution`, default `constant`. */
  readonly fieldLengthDistribution: FieldLengthDistribution;
  /** `readallfields`, default true (else one random field is read). */
  readonly readAllFields: boolean;
  /** `readallfieldsbyname`, default false (name all fields explicitly instead of "all"). */
  readonly readAllFieldsByName: boolean;
  /** `writeallfields`, default false (else one random field is written by updates). */
  readonly writeAllFields: boolean;
  /** `readproportion`, default 0.95. */
  readonly readProportion: number;
  /** `updateproportion`, default 0.05. */
  readonly updateProportion: number;
  /** `insertproportion`, default 0. */
  readonly insertProportion: number;
  /** `scanproportion`, default 0. */
  readonly scanProportion: number;
  /** `readmodifywriteproportion`, default 0. */
  readonly readModifyWriteProportion: number;
  /** `requestdistribution`, default `uniform`. */
  readonly requestDistribution: RequestDistribution;
  /** `zipfianconstant` (extension; YCSB hard-codes 0.99), default 0.99. */
  readonly zipfianConstant: number;
  /** `minscanlength`, default 1. */
  readonly minScanLength: number;
  /** `maxscanlength`, default 1000. */
  readonly maxScanLength: number;
  /** `scanlengthdistribution`, default `uniform`. */
  readonly scanLengthDistribution: ScanLengthDistribution;
  /** `insertorder`: `hashed` (default; keys `user<fnvhash64(n)>`) or `ordered` (`user<n>`). */
  readonly insertOrder: 'hashed' | 'ordered';
  /** `insertstart`, default 0. */
  readonly insertStart: number;
  /** `insertcount`, default `recordcount - insertstart`. */
  readonly insertCount: number;
  /** `zeropadding` of key numbers, default 1. */
  readonly zeroPadding: number;
  /** `hotspotdatafraction`, default 0.2. */
  readonly hotspotDataFraction: number;
  /** `hotspotopnfraction`, default 0.8. */
  readonly hotspotOpnFraction: number;
  /** `exponential.percentile`, default 95. */
  readonly exponentialPercentile: number;
  /** `exponential.frac`, default 0.8571428571. */
  readonly exponentialFrac: number;
  /**
   * `dataintegrity`, default false: values are derived from key and field name (YCSB's
   * `buildDeterministicValue`) so that every read result can be checked; needs constant field
   * lengths.
   */
  readonly dataIntegrity: boolean;
  /** All properties as read (including ones CoreWorkload does not use). */
  readonly properties: ReadonlyMap<string, string>;
}

/** A property has an invalid value or an unsupported setting. */
export class WorkloadConfigError extends Error {
  override readonly name = 'WorkloadConfigError';
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(`${property}: ${message}`);
  }
}

function int(p: ReadonlyMap<string, string>, name: string, def: number, min = 0): number {
  const raw = p.get(name);
  if (raw === undefined) return def;
  const s = raw.trim();
  if (!/^[+-]?\d+$/.test(s)) throw new WorkloadConfigError(name, `not an integer: ${JSON.stringify(raw)}`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < min) throw new WorkloadConfigError(name, `must be an integer ≥ ${min}, got ${raw}`);
  return v;
}

function num(p: ReadonlyMap<string, string>, name: string, def: number, min = -Infinity, max = Infinity): number {
  const raw = p.get(name);
  if (raw === undefined) return def;
  const s = raw.trim();
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v) || v < min || v > max) throw new WorkloadConfigError(name, `must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return v;
}

function bool(p: ReadonlyMap<string, string>, name: string, def: boolean): boolean {
  const raw = p.get(name);
  // Java's Boolean.parseBoolean: "true" (any case) is true, anything else false.
  return raw === undefined ? def : raw.trim().toLowerCase() === 'true';
}

function choice<T extends string>(p: ReadonlyMap<string, string>, name: string, def: T, allowed: readonly T[]): T {
  const raw = p.get(name);
  if (raw === undefined) return def;
  const v = raw.trim() as T;
  if (!allowed.includes(v)) throw new WorkloadConfigError(name, `unknown value ${JSON.stringify(raw)} (expected one of ${allowed.join(', ')})`);
  return v;
}

/**
 * Build a {@link CoreWorkloadConfig} from workload properties, applying YCSB's defaults.
 * `overrides` (like YCSB's `-p name=value`) win over `props`.
 * @throws {WorkloadConfigError} on invalid or unsupported values (e.g. `workload` other than
 *   CoreWorkload, `fieldlengthdistribution=histogram`, all proportions zero).
 */
export function workloadConfig(props: ReadonlyMap<string, string>, overrides: ReadonlyMap<string, string> = new Map()): CoreWorkloadConfig {
  const p = new Map([...props, ...overrides]);
  const workload = p.get('workload')?.trim();
  if (workload !== undefined && !/(^|\.)CoreWorkload$/.test(workload)) {
    throw new WorkloadConfigError('workload', `only CoreWorkload is supported, got ${workload}`);
  }
  const recordCount = int(p, 'recordcount', 0);
  const insertStart = int(p, 'insertstart', 0);
  const cfg: CoreWorkloadConfig = {
    table: p.get('table') ?? 'usertable',
    recordCount,
    operationCount: int(p, 'operationcount', 0),
    fieldCount: int(p, 'fieldcount', 10, 1),
    fieldNamePrefix: p.get('fieldnameprefix') ?? 'field',
    fieldLength: int(p, 'fieldlength', 100, 1),
    minFieldLength: int(p, 'minfieldlength', 1, 0),
    fieldLengthDistribution: choice(p, 'fieldlengthdistribution', 'constant', ['constant', 'uniform', 'zipfian']),
    readAllFields: bool(p, 'readallfields', true),
    readAllFieldsByName: bool(p, 'readallfieldsbyname', false),
    writeAllFields: bool(p, 'writeallfields', false),
    readProportion: num(p, 'readproportion', 0.95, 0),
    updateProportion: num(p, 'updateproportion', 0.05, 0),
    insertProportion: num(p, 'insertproportion', 0, 0),
    scanProportion: num(p, 'scanproportion', 0, 0),
    readModifyWriteProportion: num(p, 'readmodifywriteproportion', 0, 0),
    requestDistribution: choice(p, 'requestdistribution', 'uniform', ['uniform', 'zipfian', 'latest', 'hotspot', 'sequential', 'exponential']),
    zipfianConstant: num(p, 'zipfianconstant', ZIPFIAN_CONSTANT, Number.MIN_VALUE, 1 - Number.EPSILON),
    minScanLength: int(p, 'minscanlength', 1, 0),
    maxScanLength: int(p, 'maxscanlength', 1000, 0),
    scanLengthDistribution: choice(p, 'scanlengthdistribution', 'uniform', ['uniform', 'zipfian']),
    insertOrder: choice(p, 'insertorder', 'hashed', ['hashed', 'ordered']),
    insertStart,
    insertCount: int(p, 'insertcount', Math.max(0, recordCount - insertStart)),
    zeroPadding: int(p, 'zeropadding', 1, 1),
    hotspotDataFraction: num(p, 'hotspotdatafraction', 0.2, 0, 1),
    hotspotOpnFraction: num(p, 'hotspotopnfraction', 0.8, 0, 1),
    exponentialPercentile: num(p, 'exponential.percentile', 95, Number.MIN_VALUE, 100 - 1e-9),
    exponentialFrac: num(p, 'exponential.frac', 0.8571428571, Number.MIN_VALUE),
    dataIntegrity: bool(p, 'dataintegrity', false),
    properties: p,
  };
  if (cfg.readProportion + cfg.updateProportion + cfg.insertProportion + cfg.scanProportion + cfg.readModifyWriteProportion <= 0) {
    throw new WorkloadConfigError('readproportion', 'all operation proportions are zero');
  }
  if (cfg.dataIntegrity && cfg.fieldLengthDistribution !== 'constant') {
    throw new WorkloadConfigError('dataintegrity', 'needs fieldlengthdistribution=constant (as in YCSB)');
  }
  if (cfg.minScanLength > cfg.maxScanLength) throw new WorkloadConfigError('minscanlength', `exceeds maxscanlength ${cfg.maxScanLength}`);
  if (cfg.fieldLengthDistribution !== 'constant' && cfg.minFieldLength > cfg.fieldLength) {
    throw new WorkloadConfigError('minfieldlength', `exceeds fieldlength ${cfg.fieldLength}`);
  }
  return cfg;
}

/**
 * Parse workload property text (the content of a YCSB workload file).
 * @throws {PropertiesSyntaxError} | {@link WorkloadConfigError}
 */
export function parseWorkload(text: string, overrides?: ReadonlyMap<string, string>): CoreWorkloadConfig {
  return workloadConfig(parseProperties(text), overrides);
}

const COMMON = 'recordcount=1000\noperationcount=1000\nworkload=site.ycsb.workloads.CoreWorkload\nreadallfields=true\n';

/**
 * The core workloads A–F, property for property as in YCSB's `workloads/workloada` ..
 * `workloadf` (brianfrankcooper/YCSB, Apache License 2.0).
 */
export const BUILTIN_WORKLOADS: Readonly<Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f', string>> = {
  /** Update heavy: 50% read, 50% update, zipfian. */
  a: COMMON + 'readproportion=0.5\nupdateproportion=0.5\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n',
  /** Read mostly: 95% read, 5% update, zipfian. */
  b: COMMON + 'readproportion=0.95\nupdateproportion=0.05\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n',
  /** Read only, zipfian. */
  c: COMMON + 'readproportion=1\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nrequestdistribution=zipfian\n',
  /** Read latest: 95% read, 5% insert, latest. */
  d: COMMON + 'readproportion=0.95\nupdateproportion=0\nscanproportion=0\ninsertproportion=0.05\nrequestdistribution=latest\n',
  /** Short ranges: 95% scan (uniform length ≤ 100), 5% insert, zipfian. */
  e:
    COMMON +
    'readproportion=0\nupdateproportion=0\nscanproportion=0.95\ninsertproportion=0.05\nrequestdistribution=zipfian\nmaxscanlength=100\nscanlengthdistribution=uniform\n',
  /** Read-modify-write: 50% read, 50% read-modify-write, zipfian. */
  f: COMMON + 'readproportion=0.5\nupdateproportion=0\nscanproportion=0\ninsertproportion=0\nreadmodifywriteproportion=0.5\nrequestdistribution=zipfian\n',
};

/**
 * A core workload by letter (`'a'` .. `'f'`, case-insensitive), with optional overrides (e.g.
 * `new Map([['recordcount', '10000']])`).
 * @throws {WorkloadConfigError} for an unknown letter or bad override.
 */
export function builtinWorkload(letter: string, overrides?: ReadonlyMap<string, string>): CoreWorkloadConfig {
  const text = BUILTIN_WORKLOADS[letter.toLowerCase() as keyof typeof BUILTIN_WORKLOADS];
  if (text === undefined) throw new WorkloadConfigError('workload', `unknown core workload ${JSON.stringify(letter)} (a..f)`);
  return parseWorkload(text, overrides);
}

/**
 * Parse YCSB-style `-p name=value` overrides (e.g. from a repeated CLI option) into a map.
 * @throws {WorkloadConfigError} for an entry without `=` or with an empty name.
 */
export function parseOverrides(entries: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    const i = e.indexOf('=');
    const name = i < 0 ? '' : e.slice(0, i).trim();
    if (name === '') throw new WorkloadConfigError(e, 'expected name=value');
    out.set(name, e.slice(i + 1));
  }
  return out;
}
