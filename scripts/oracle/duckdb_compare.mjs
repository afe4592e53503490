// The parquet reader's oracle: DuckDB (@duckdb/node-api) reads FILE, our
// `musrec parquet cat FILE` output is read from OURS (JSON lines), and both
// are brought to one canonical form, value by value, driven by DuckDB's
// column types:
//   integers   exact decimal text (BigInt on both sides; JSON.parse would
//              round int64)
//   FLOAT      ours is the shortest float32 text: Math.fround(ours) must be
//              DuckDB's value; DOUBLE compares as doubles; NaN/Infinity as
//              the strings we print
//   BLOB       base64; VARCHAR as is; UUID as text
//   DATE       days since 1970; TIMESTAMP*/TIME: integer in DuckDB's unit,
//              ours parsed from "YYYY-MM-DDTHH:MM:SS.fraction" and floored
//              to that unit (DuckDB reads INT96 as microseconds)
//   LIST       element by element
// Usage: node duckdb_compare.mjs FILE OURS.jsonl   -> exit 0 same, 1 differ,
//        3 DuckDB cannot read FILE (message on stdout)
//        node duckdb_compare.mjs --dump FILE       -> DuckDB's canonical rows
//        --ignore-row N (repeatable) skips a row DuckDB is known to get wrong
//        --limit N compares only the first N rows (OURS may hold just those)
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

// JSON parser that keeps number tokens as text ({n: "123"}).
function parseJSON(s) {
  let i = 0;
  const ws = () => { while (i < s.length && ' \t\r\n'.includes(s[i])) i++; };
  function val() {
    ws();
    const c = s[i];
    if (c === '{') {
      i++; const o = {}; ws();
      if (s[i] === '}') { i++; return o; }
      for (;;) { ws(); const k = str(); ws(); if (s[i++] !== ':') throw new Error('expected :'); o[k] = val(); ws();
        if (s[i] === ',') { i++; continue; } if (s[i] === '}') { i++; return o; } throw new Error('bad object at ' + i); }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (s[i] === ']') { i++; return a; }
      for (;;) { a.push(val()); ws(); if (s[i] === ',') { i++; continue; } if (s[i] === ']') { i++; return a; } throw new Error('bad array at ' + i); }
    }
    if (c === '"') return str();
    if (s.startsWith('true', i)) { i += 4; return true; }
    if (s.startsWith('false', i)) { i += 5; return false; }
    if (s.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(s.slice(i, i + 64));
    if (!m) throw new Error('bad token at ' + i + ': ' + s.slice(i, i + 20));
    i += m[0].length;
    return { n: m[0] };
  }
  function str() {
    if (s[i] !== '"') throw new Error('expected string at ' + i);
    let j = i + 1;
    while (s[j] !== '"') { if (s[j] === '\\') j++; j++; if (j > s.length) throw new Error('unterminated string'); }
    const out = JSON.parse(s.slice(i, j + 1));
    i = j + 1;
    return out;
  }
  const v = val(); ws();
  if (i !== s.length) throw new Error('trailing data');
  return v;
}

const UNIT = { TIMESTAMP_S: 1000000000n, TIMESTAMP_MS: 1000000n, TIMESTAMP: 1000n, 'TIMESTAMP WITH TIME ZONE': 1000n, TIMESTAMP_NS: 1n, TIME: 1000n, 'TIME WITH TIME ZONE': 1000n };
const INTS = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);

function floorDiv(a, b) { const q = a / b; return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q; }

function daysFromCivil(y, m, d) { // Hinnant, BigInt-free for |y| < 1e7 is fine in doubles
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400), yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function oursTimeNs(s) { // "YYYY-MM-DDTHH:MM:SS[.f]" or "HH:MM:SS[.f]"
  let m = /^(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$/.exec(s);
  let days = 0n, h, mi, se, fr;
  if (m) { days = BigInt(daysFromCivil(+m[1], +m[2], +m[3])); [h, mi, se, fr] = [m[4], m[5], m[6], m[7]]; }
  else {
    m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$/.exec(s);
    if (!m) return 'badtime:' + s;
    [h, mi, se, fr] = [m[1], m[2], m[3], m[4]];
  }
  if (fr !== undefined && fr.endsWith('0')) return 'trailing-zero:' + s; // we never print them
  const frac = BigInt((fr ?? '').padEnd(9, '0') || '0');
  return days * 86400000000000n + BigInt(+h * 3600 + +mi * 60 + +se) * 1000000000n + frac;
}

function floatText(x) { return Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : Object.is(x, -0) ? '-0' : String(x); }

function duck(t, v) {
  if (v === null || v === undefined) return null;
  const ts = t.toString();
  if (ts === 'BOOLEAN') return v ? 'true' : 'false';
  if (INTS.has(ts)) return BigInt(v).toString();
  if (ts === 'FLOAT' || ts === 'DOUBLE') return floatText(v);
  if (ts === 'VARCHAR') return 's:' + v;
  if (ts === 'BLOB') return 'b:' + Buffer.from(v.bytes).toString('base64');
  if (ts === 'UUID') return 'u:' + String(v);
  if (ts === 'DATE') return 'd:' + v.days;
  if (ts in UNIT) {
    const raw = v.nanos ?? v.micros ?? v.millis ?? v.seconds;
    return 't:' + BigInt(raw).toString();
  }
  if (t.valueType && Array.isArray(v.items)) return v.items.map((x) => duck(t.valueType, x));
  return 'unsupported-type:' + ts;
}

function ours(t, v) {
  if (v === null || v === undefined) return null;
  const ts = t.toString();
  if (ts === 'BOOLEAN') return typeof v === 'boolean' ? String(v) : 'notbool:' + JSON.stringify(v);
  if (INTS.has(ts)) return v.n && /^-?\d+$/.test(v.n) ? BigInt(v.n).toString() : 'notint:' + JSON.stringify(v);
  if (ts === 'FLOAT' || ts === 'DOUBLE') {
    if (typeof v === 'string') return ['NaN', 'Infinity', '-Infinity'].includes(v) ? v : 'badfloat:' + v;
    const x = Number(v.n);
    return floatText(ts === 'FLOAT' ? Math.fround(x) : x);
  }
  if (ts === 'VARCHAR') return typeof v === 'string' ? 's:' + v : 'notstring:' + JSON.stringify(v);
  if (ts === 'BLOB') return typeof v === 'string' ? 'b:' + v : 'notblob:' + JSON.stringify(v);
  if (ts === 'UUID') return 'u:' + v;
  if (ts === 'DATE') {
    const m = typeof v === 'string' && /^(-?\d+)-(\d\d)-(\d\d)$/.exec(v);
    return m ? 'd:' + daysFromCivil(+m[1], +m[2], +m[3]) : 'baddate:' + JSON.stringify(v);
  }
  if (ts in UNIT) {
    const ns = typeof v === 'string' ? oursTimeNs(v) : 'notime';
    return typeof ns === 'bigint' ? 't:' + floorDiv(ns, UNIT[ts]).toString() : ns + ':' + JSON.stringify(v);
  }
  if (t.valueType) return Array.isArray(v) ? v.map((x) => ours(t.valueType, x)) : 'notlist:' + JSON.stringify(v);
  return 'unsupported-type:' + ts;
}

let args = process.argv.slice(2);
const ignored = new Set();
let limit = -1;
const li = args.indexOf('--limit');
if (li >= 0) { limit = +args[li + 1]; args = args.slice(0, li).concat(args.slice(li + 2)); }
for (let k = args.indexOf('--ignore-row'); k >= 0; k = args.indexOf('--ignore-row')) {
  ignored.add(+args[k + 1]);
  args = args.slice(0, k).concat(args.slice(k + 2));
}
const dump = args[0] === '--dump';
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const j = (x) => JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? v.toString() : v));

async function load(file) {
  return conn.runAndReadAll(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')${limit >= 0 ? ' LIMIT ' + limit : ''}`);
}

// Returns null when equal, else the first differences as text.
async function compare(file, oursPath) {
  let res;
  try { res = await load(file); } catch (e) { return { code: 3, msg: 'duckdb cannot read it: ' + String(e.message).split('\n')[0] }; }
  const names = res.columnNames(), types = res.columnTypes();
  const rows = res.getRows();
  let lines = readFileSync(oursPath, 'utf8').split('\n').filter((l) => l.length);
  if (limit >= 0) lines = lines.slice(0, limit);
  if (lines.length !== rows.length) return { code: 1, msg: `row count differs: ours ${lines.length}, duckdb ${rows.length}` };
  const msgs = [];
  for (let r = 0; r < rows.length && msgs.length < 5; r++) {
    let o;
    try { o = parseJSON(lines[r]); } catch (e) { return { code: 1, msg: `row ${r}: our line is not JSON (${e.message}): ${lines[r].slice(0, 200)}` }; }
    const keys = Object.keys(o);
    if (keys.length !== names.length || keys.some((k, c) => k !== names[c]))
      return { code: 1, msg: `row ${r}: columns differ: ours ${j(keys)}, duckdb ${j(names)}` };
    for (let c = 0; c < names.length && !ignored.has(r); c++) {
      const a = j(ours(types[c], o[names[c]])), b = j(duck(types[c], rows[r][c]));
      if (a !== b) msgs.push(`row ${r} column ${names[c]} (${types[c]}): ours ${a.slice(0, 300)} duckdb ${b.slice(0, 300)}`);
    }
  }
  return msgs.length ? { code: 1, msg: msgs.join('\n') } : null;
}

if (dump) {
  const res = await load(args[1]);
  const names = res.columnNames(), types = res.columnTypes();
  for (const row of res.getRows()) console.log(j(Object.fromEntries(names.map((n, c) => [n, duck(types[c], row[c])]))));
  process.exit(0);
}
// FILE OURS [FILE OURS ...]: with one pair, silent on success; with more,
// one line per pair.
let worst = 0;
for (let k = 0; k + 1 < args.length; k += 2) {
  const d = await compare(args[k], args[k + 1]);
  if (d) { console.log(args.length > 2 ? `MISMATCH ${args[k]}: ${d.msg}` : d.msg); worst = Math.max(worst, d.code); }
  else if (args.length > 2) console.log(`ok ${args[k]}`);
}
process.exit(worst === 3 && args.length > 2 ? 1 : worst);
