/**
 * Parser for Java `.properties` text, exactly as `java.util.Properties.load(Reader)` reads it
 * (Java SE API docs, `Properties.load`), which is how YCSB reads workload files (`-P file`).
 *
 *  - Natural lines end at `\n`, `\r` or `\r\n`. A line whose first non-white-space character is
 *    `#` or `!` is a comment; blank lines are ignored. White space is space, tab and form feed.
 *  - A logical line continues on the next natural line when it ends with an odd number of
 *    backslashes; the continuation's leading white space is dropped (comment lines never
 *    continue).
 *  - The key runs from the first non-white-space character to the first unescaped `=`, `:` or
 *    white space; then white space, at most one `=` or `:`, and white space are skipped; the rest
 *    of the logical line is the value (trailing white space kept).
 *  - Escapes in keys and values: `\t`, `\n`, `\r`, `\f`, `\uXXXX`; a backslash before any other
 *    character yields that character.
 *  - A later duplicate key replaces an earlier one.
 * Browser-safe (no Node-only imports).
 */

/** Malformed properties text (only a bad `\uXXXX` escape can make Java's parser fail). */
export class PropertiesSyntaxError extends Error {
  override readonly name = 'PropertiesSyntaxError';
  constructor(
    message: string,
    /** 1-based number of the natural line where the logical line starts. */
    readonly line: number,
  ) {
    super(`${message} (line ${line})`);
  }
}

const isWs = (c: string): boolean => c === ' ' || c === '\t' || c === '\f';

/** Split into logical lines (continuations joined), skipping comments and blank lines. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const natural = text.split(/\r\n|\r|\n/);
  const out: Array<{ text: string; line: number }> = [];
  let acc: string | undefined;
  let start = 0;
  for (let i = 0; i < natural.length; i++) {
    let line = natural[i]!;
    let p = 0;
    while (p < line.length && isWs(line[p]!)) p++;
    line = line.slice(p);
    if (acc === undefined) {
      if (line === '' || line[0] === '#' || line[0] === '!') continue;
      start = i + 1;
    }
    let slashes = 0;
    for (let j = line.length - 1; j >= 0 && line[j] === '\\'; j--) slashes++;
    if (slashes % 2 === 1) {
      acc = (acc ?? '') + line.slice(0, -1);
      if (i === natural.length - 1) out.push({ text: acc, line: start });
      continue;
    }
    out.push({ text: (acc ?? '') + line, line: start });
    acc = undefined;
  }
  return out;
}

function unescape(s: string, line: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === undefined) break; // a lone trailing backslash is dropped, as in Java
    if (n === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesSyntaxError('Malformed \\uxxxx encoding', line);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += n === 't' ? '\t' : n === 'n' ? '\n' : n === 'r' ? '\r' : n === 'f' ? '\f' : n;
  }
  return out;
}

/**
 * Parse `.properties` text into an ordered map of key → value.
 * @throws {PropertiesSyntaxError} on a malformed `\uXXXX` escape.
 */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const { text: l, line } of logicalLines(text)) {
    let i = 0;
    let escaped = false;
    for (; i < l.length; i++) {
      const c = l[i]!;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '=' || c === ':' || isWs(c)) break;
    }
    const key = l.slice(0, i);
    let v = i;
    while (v < l.length && isWs(l[v]!)) v++;
    if (v < l.length && (l[v] === '=' || l[v] === ':')) v++;
    while (v < l.length && isWs(l[v]!)) v++;
    props.set(unescape(key, line), unescape(l.slice(v), line));
  }
  return props;
}
