/**
 * SVG plots of `cart bench` results, written as plain SVG 1.1 text (no canvas or native
 * dependencies; any browser or `rsvg-convert` renders them):
 * - {@link throughputLatencySvg}: p50 latency (ms) against throughput (ops/s), one line per
 *   (consensus, mode) over the client counts, points labelled with the client count;
 * - {@link throughputByModeSvg}: grouped bars of throughput per mode, one group per client count.
 * Colours are fixed per mode so both plots read alike; CART over etcd is drawn dashed / lighter.
 * Pure functions (strings in, string out).
 */

/** The fields of a result a plot needs. */
export interface PlotPoint {
  readonly consensus: string;
  readonly mode: string;
  readonly clients: number;
  readonly throughputOpsPerSec: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

const MODE_COLOURS: Readonly<Record<string, string>> = {
  native: '#333333',
  'cart-none': '#e15759',
  'cart-batch': '#4e79a7',
  'cart-tentative': '#f28e2b',
  'cart-readonly': '#76b7b2',
  'cart-workers': '#b07aa1',
  'cart-leader': '#edc948',
  'cart-all': '#59a14f',
  'cart-all-ordered-reads': '#8cd17d',
  'cart-all-byzantine': '#9c755f',
};
const EXTRA_COLOURS = ['#ff9da7', '#bab0ac', '#1f77b4'];

/** Fixed colour of a mode (unknown modes get a stable fallback colour). */
export function modeColour(mode: string): string {
  const c = MODE_COLOURS[mode];
  if (c) return c;
  let h = 0;
  for (const ch of mode) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return EXTRA_COLOURS[h % EXTRA_COLOURS.length]!;
}

/** Escape text for SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * "Nice" axis ticks from 0 to at least `max`: steps of 1, 2 or 5 × 10^k, about `target` ticks.
 * Returns [0] ... [top] with top ≥ max; for max ≤ 0 (or not finite) returns [0, 1].
 */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const v = Math.round(i * step * 1e9) / 1e9;
    ticks.push(v);
    if (v >= max) break;
  }
  return ticks;
}

function label(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k`;
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

const W = 960;
const H = 560;
const M = { left: 80, right: 250, top: 56, bottom: 70 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function frame(title: string, subtitle: string): string[] {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="26" font-size="18" font-weight="bold" fill="#222">${escapeXml(title)}</text>`,
    `<text x="${M.left}" y="44" font-size="12" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
}

function axes(out: string[], xTicks: number[] | null, yTicks: number[], xTitle: string, yTitle: string, xs: (v: number) => number, ys: (v: number) => number): void {
  for (const t of yTicks) {
    const y = ys(t).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + PW}" y2="${y}" stroke="#e6e6e6"/>`);
    out.push(`<text x="${M.left - 8}" y="${y}" font-size="12" fill="#333" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`);
  }
  if (xTicks) {
    for (const t of xTicks) {
      const x = xs(t).toFixed(1);
      out.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + PH}" stroke="#f0f0f0"/>`);
      out.push(`<text x="${x}" y="${M.top + PH + 18}" font-size="12" fill="#333" text-anchor="middle">${label(t)}</text>`);
    }
  }
  out.push(`<line x1="${M.left}" y1="${M.top + PH}" x2="${M.left + PW}" y2="${M.top + PH}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + PH}" stroke="#333"/>`);
  out.push(`<text x="${M.left + PW / 2}" y="${H - 22}" font-size="13" fill="#222" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  const cy = M.top + PH / 2;
  out.push(`<text x="22" y="${cy}" font-size="13" fill="#222" text-anchor="middle" transform="rotate(-90 22 ${cy})">${escapeXml(yTitle)}</text>`);
}

interface Series {
  readonly key: string;
  readonly name: string;
  readonly mode: string;
  readonly dashed: boolean;
  readonly points: PlotPoint[];
}

function seriesOf(points: readonly PlotPoint[]): Series[] {
  const multi = new Set(points.map((p) => p.consensus)).size > 1;
  const map = new Map<string, Series>();
  for (const p of points) {
    const key = `${p.consensus}/${p.mode}`;
    let s = map.get(key);
    if (!s) map.set(key, (s = { key, name: multi ? `${p.mode} (${p.consensus})` : p.mode, mode: p.mode, dashed: p.consensus !== 'pbft', points: [] }));
    s.points.push(p);
  }
  for (const s of map.values()) s.points.sort((a, b) => a.clients - b.clients);
  return [...map.values()];
}

function legend(out: string[], entries: readonly { name: string; colour: string; dashed: boolean; marker: 'line' | 'box' }[]): void {
  const x = M.left + PW + 24;
  let y = M.top + 8;
  out.push(`<text x="${x}" y="${y}" font-size="13" font-weight="bold" fill="#222">Mode</text>`);
  y += 20;
  for (const e of entries) {
    if (e.marker === 'line') {
      out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 26}" y2="${y - 4}" stroke="${e.colour}" stroke-width="3"${e.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      out.push(`<circle cx="${x + 13}" cy="${y - 4}" r="4" fill="${e.dashed ? '#fff' : e.colour}" stroke="${e.colour}" stroke-width="2"/>`);
    } else {
      out.push(`<rect x="${x + 4}" y="${y - 11}" width="18" height="14" fill="${e.colour}"${e.dashed ? ' fill-opacity="0.5" stroke-dasharray="3 2"' : ''} stroke="${e.colour}"/>`);
    }
    out.push(`<text x="${x + 34}" y="${y}" font-size="12" fill="#222">${escapeXml(e.name)}</text>`);
    y += 20;
  }
}

function empty(out: string[]): string {
  out.push(`<text x="${M.left + PW / 2}" y="${M.top + PH / 2}" font-size="16" fill="#888" text-anchor="middle">no results</text>`, '</svg>');
  return out.join('\n') + '\n';
}

/**
 * Throughput–latency plot: x = throughput (ops/s), y = p50 latency (ms); one polyline per
 * (consensus, mode) through its client counts in ascending order, each point labelled `N c`.
 */
export function throughputLatencySvg(points: readonly PlotPoint[], title = 'Throughput vs latency (YCSB, closed loop)'): string {
  const out = frame(title, 'p50 latency against throughput; each point is one client count (label: clients)');
  const series = seriesOf(points);
  if (series.length === 0) return empty(out);
  const xTicks = niceTicks(Math.max(...points.map((p) => p.throughputOpsPerSec)) * 1.05);
  const yTicks = niceTicks(Math.max(...points.map((p) => p.latencyP50Ms)) * 1.1);
  const xMax = xTicks[xTicks.length - 1]!;
  const yMax = yTicks[yTicks.length - 1]!;
  const xs = (v: number): number => M.left + (v / xMax) * PW;
  const ys = (v: number): number => M.top + PH - (v / yMax) * PH;
  axes(out, xTicks, yTicks, 'throughput (operations / s)', 'p50 latency (ms)', xs, ys);
  for (const s of series) {
    const colour = modeColour(s.mode);
    const pts = s.points.map((p) => `${xs(p.throughputOpsPerSec).toFixed(1)},${ys(p.latencyP50Ms).toFixed(1)}`);
    out.push(`<g data-series="${escapeXml(s.key)}">`);
    if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${colour}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) {
      const x = xs(p.throughputOpsPerSec).toFixed(1);
      const y = ys(p.latencyP50Ms).toFixed(1);
      out.push(`<circle cx="${x}" cy="${y}" r="4.5" fill="${s.dashed ? '#fff' : colour}" stroke="${colour}" stroke-width="2"><title>${escapeXml(`${s.name}, ${p.clients} clients: ${p.throughputOpsPerSec} ops/s, p50 ${p.latencyP50Ms} ms, p99 ${p.latencyP99Ms} ms`)}</title></circle>`);
      out.push(`<text x="${(Number(x) + 7).toFixed(1)}" y="${(Number(y) - 7).toFixed(1)}" font-size="10" fill="${colour}">${p.clients} c</text>`);
    }
    out.push('</g>');
  }
  legend(out, series.map((s) => ({ name: s.name, colour: modeColour(s.mode), dashed: s.dashed, marker: 'line' as const })));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Grouped bar chart: one group per client count, one bar per (consensus, mode) in first-seen
 * order, the throughput printed above each bar.
 */
export function throughputByModeSvg(points: readonly PlotPoint[], title = 'Throughput per mode (YCSB, closed loop)'): string {
  const out = frame(title, 'operations per second; one group per client count');
  const series = seriesOf(points);
  if (series.length === 0) return empty(out);
  const clients = [...new Set(points.map((p) => p.clients))].sort((a, b) => a - b);
  const yTicks = niceTicks(Math.max(...points.map((p) => p.throughputOpsPerSec)) * 1.12);
  const yMax = yTicks[yTicks.length - 1]!;
  const ys = (v: number): number => M.top + PH - (v / yMax) * PH;
  axes(out, null, yTicks, 'closed-loop clients', 'throughput (operations / s)', (v) => v, ys);
  const groupW = PW / clients.length;
  const barW = Math.max(2, Math.min(48, (groupW * 0.8) / series.length));
  const valueFont = barW >= 30 ? 11 : barW >= 16 ? 9 : 7;
  for (const [gi, c] of clients.entries()) {
    const gx = M.left + gi * groupW;
    const start = gx + (groupW - barW * series.length) / 2;
    out.push(`<text x="${(gx + groupW / 2).toFixed(1)}" y="${M.top + PH + 18}" font-size="12" fill="#333" text-anchor="middle">${c} client${c === 1 ? '' : 's'}</text>`);
    for (const [si, s] of series.entries()) {
      const p = s.points.find((q) => q.clients === c);
      if (!p) continue;
      const colour = modeColour(s.mode);
      const x = start + si * barW;
      const y = ys(p.throughputOpsPerSec);
      out.push(
        `<rect x="${(x + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(M.top + PH - y).toFixed(1)}" fill="${colour}"${s.dashed ? ' fill-opacity="0.5" stroke-dasharray="3 2"' : ''} stroke="${colour}"><title>${escapeXml(`${s.name}, ${c} clients: ${p.throughputOpsPerSec} ops/s`)}</title></rect>`,
      );
      const tx = (x + barW / 2).toFixed(1);
      const ty = (y - 4).toFixed(1);
      const rotated = barW < 16 ? ` text-anchor="start" transform="rotate(-90 ${tx} ${ty})"` : ' text-anchor="middle"';
      out.push(`<text x="${tx}" y="${ty}" font-size="${valueFont}" fill="#222"${rotated}>${Math.round(p.throughputOpsPerSec)}</text>`);
    }
  }
  legend(out, series.map((s) => ({ name: s.name, colour: modeColour(s.mode), dashed: s.dashed, marker: 'box' as const })));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
