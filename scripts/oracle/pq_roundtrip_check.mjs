// Reads every NAME.parquet in a directory with DuckDB and with hyparquet and
// compares the values with NAME.json, the values the writer was given (see
// tests/pqwrite_fixture.c). Also checks, with DuckDB's parquet_metadata, that
// each row group's column statistics (min, max, null_count) equal the true
// ones computed here from the JSON, and that the codec is the one asked for.
// Usage: node pq_roundtrip_check.mjs DIR [NAME...]. Exit 1 on any difference.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects, asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const dir = process.argv[2];
let names = process.argv.slice(3);
if (!names.length) names = fs.readdirSync(dir).filter(f => f.endsWith('.json')).map(f => f.slice(0, -5)).sort();

const INT_TYPES = new Set(['I32', 'DATE']);
const BIG_TYPES = new Set(['I64', 'TS_NS']);

// Canonical text of one expected or read value, by the field's type.
function canon(type, v) {
  if (v === null || v === undefined) return 'null';
  if (INT_TYPES.has(type) || BIG_TYPES.has(type)) return 'i:' + BigInt(v).toString();
  if (type === 'F32' || type === 'F64') {
    let x = typeof v === 'string' ? (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v)) : v;
    if (type === 'F32') x = Math.fround(x);
    if (Number.isNaN(x)) return 'f:NaN';
    if (Object.is(x, -0)) return 'f:-0';
    return 'f:' + x;
  }
  if (type === 'BOOL') return 'b:' + (v === true || v === 1 ? 'true' : v === false || v === 0 ? 'false' : String(v));
  if (type === 'STRING') return 's:' + v;
  return '?:' + String(v);
}
function canonCell(f, v) {
  if (!f.is_list) return canon(f.type, v);
  if (v === null || v === undefined) return 'null';
  if (!Array.isArray(v)) return 'notalist:' + String(v);
  return '[' + v.map(x => canon(f.type, x)).join(',') + ']';
}
function short(s) { return s.length > 120 ? s.slice(0, 120) + `...(${s.length} chars)` : s; }

// DuckDB expression giving each type in a form canon() reads exactly.
function duckExpr(f, x) {
  switch (f.type) {
    case 'DATE': return `CAST(${x} - DATE '1970-01-01' AS BIGINT)`;
    case 'TS_NS': return `epoch_ns(${x})`;
    case 'I32': return `CAST(${x} AS BIGINT)`;
    default: return x;
  }
}
function q(name) { return '"' + name.replace(/"/g, '""') + '"'; }

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
let bad = 0;
function fail(name, msg) { bad++; console.log(`FAIL ${name}: ${msg}`); }

// Compares rows[r][c] (already canonical) with the expectation.
function compare(name, who, exp, got) {
  const n = exp.n_rows;
  if (got.length !== n) return fail(name, `${who} read ${got.length} rows, expected ${n}`);
  let shown = 0;
  for (let c = 0; c < exp.fields.length; c++) {
    const f = exp.fields[c];
    for (let r = 0; r < n; r++) {
      const e = canonCell(f, exp.columns[c][r]);
      if (got[r][c] !== e) {
        if (shown++ < 5) fail(name, `${who} column ${f.name} row ${r}: read ${short(got[r][c])}, expected ${short(e)}`);
        else { bad++; }
      }
    }
  }
}

// True min/max/null_count of rows [a, b) of a column, as parquet orders them.
function trueStats(f, vals, a, b) {
  let nulls = 0, nonnull = 0, mn, mx;
  const cmp = (x, y) => {
    if (f.type === 'STRING') return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
    if (BIG_TYPES.has(f.type) || INT_TYPES.has(f.type)) { const p = BigInt(x), q2 = BigInt(y); return p < q2 ? -1 : p > q2 ? 1 : 0; }
    if (f.type === 'BOOL') return (x ? 1 : 0) - (y ? 1 : 0);
    const p = Number(x), q2 = Number(y); return p < q2 ? -1 : p > q2 ? 1 : 0;
  };
  const add = v => {
    if (v === null) { nulls++; return; }
    nonnull++;
    if ((f.type === 'F32' || f.type === 'F64') && (v === 'NaN')) return;
    let x = v;
    if (x === 'Infinity') x = Infinity; else if (x === '-Infinity') x = -Infinity;
    if (mn === undefined || cmp(x, mn) < 0) mn = x;
    if (mx === undefined || cmp(x, mx) > 0) mx = x;
  };
  for (let r = a; r < b; r++) {
    const v = vals[r];
    if (!f.is_list) add(v);
    else if (v === null || v.length === 0) nulls++;
    else v.forEach(add);
  }
  return { mn, mx, nulls, nonnull };
}

// DuckDB renders stats_min_value in the column's logical type; bring it to canon().
function duckStat(f, s) {
  if (s === null || s === undefined) return undefined;
  if (f.type === 'DATE') {
    const m = /^(-?\d+)-(\d\d)-(\d\d)( \(BC\))?$/.exec(s);
    if (!m) return 'unparsed:' + s;
    let y = Number(m[1]); if (m[4]) y = 1 - y;
    const d = new Date(0); d.setUTCFullYear(y, Number(m[2]) - 1, Number(m[3]));
    return canon('DATE', Math.round(d.getTime() / 86400000));
  }
  if (f.type === 'TS_NS') {
    const m = /^(-?\d+)-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(s);
    if (!m) return 'unparsed:' + s;
    const d = new Date(0); d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
    const frac = (m[7] || '').padEnd(9, '0');
    return canon('TS_NS', BigInt(d.getTime()) * 1000000n + BigInt(frac));
  }
  if (f.type === 'F32' || f.type === 'F64') {
    const x = s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
    return canon(f.type, x);
  }
  if (f.type === 'BOOL') return canon('BOOL', s === 'true');
  return canon(f.type, s);
}

// Whether a column chunk must be dictionary-encoded (undefined: either is fine).
function wantDict(name, f, t) {
  if (f.type === 'BOOL' || t.nonnull === 0) return false; // nothing to put in a dictionary
  if (name.startsWith('plain_crc')) return false;
  // The writer keeps a dictionary only when it makes the chunk smaller than
  // PLAIN: a single value never pays (entry + code > value); the 50 distinct
  // values of the lowcard cases always do from 200 values on (for 4-byte
  // ints 50 x 4 + 200 x 6 bits = 350 bytes against 800); in between, either.
  if (t.nonnull === 1) return false;
  if (name.startsWith('lowcard_') || name === 'row_groups_lowcard_zstd') return t.nonnull >= 200 ? true : undefined;
  if (name === 'dict_fallback') return f.name === 'few';
  return undefined;
}

for (const name of names) {
  const exp = JSON.parse(fs.readFileSync(path.join(dir, name + '.json'), 'utf8'));
  const file = path.join(dir, name + '.parquet');
  if (!fs.existsSync(file)) { fail(name, 'parquet file missing'); continue; }
  const fp = file.replace(/'/g, "''");

  // DuckDB values
  const sel = exp.fields.map(f => f.is_list ? `list_transform(${q(f.name)}, x -> ${duckExpr(f, 'x')})` : duckExpr(f, q(f.name))).join(', ');
  try {
    const rd = await con.runAndReadAll(`SELECT ${sel} FROM read_parquet('${fp}')`);
    const rows = rd.getRowsJS().map(row => row.map((v, c) => canonCell(exp.fields[c], v)));
    compare(name, 'duckdb', exp, rows);
    const names2 = rd.columnNames();
    if (names2.length !== exp.fields.length) fail(name, `duckdb sees ${names2.length} columns`);
  } catch (e) { fail(name, 'duckdb: ' + e.message); }

  // DuckDB schema types
  try {
    const rd = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${fp}')`);
    const want = { BOOL: 'BOOLEAN', I64: 'BIGINT', F32: 'FLOAT', F64: 'DOUBLE', STRING: 'VARCHAR', DATE: 'DATE', TS_NS: 'TIMESTAMP_NS' };
    rd.getRowObjectsJS().forEach((row, c) => {
      const f = exp.fields[c];
      let t = f.type === 'I32' ? ({ 8: 'TINYINT', 16: 'SMALLINT' }[f.bit_width] || 'INTEGER') : want[f.type];
      if (f.is_list) t += '[]';
      if (row.column_name !== f.name || row.column_type !== t) fail(name, `duckdb column ${c} is ${row.column_name} ${row.column_type}, expected ${f.name} ${t}`);
    });
  } catch (e) { fail(name, 'duckdb describe: ' + e.message); }

  // hyparquet values
  try {
    const buf = await asyncBufferFromFile(file);
    const objs = await parquetReadObjects({ file: buf, compressors, parsers: { timestampFromNanoseconds: n => n, dateFromDays: d => d } });
    const rows = objs.map(o => exp.fields.map(f => canonCell(f, o[f.name])));
    compare(name, 'hyparquet', exp, rows);
    const md = await parquetMetadataAsync(buf);
    const kv = (md.key_value_metadata || []).find(k => k.key === 'musrec.case');
    if (!kv || kv.value !== name) fail(name, `hyparquet: key-value metadata musrec.case is ${kv && kv.value}`);
  } catch (e) { fail(name, 'hyparquet: ' + e.message); }

  // statistics and codec, per row group
  try {
    const rd = await con.runAndReadAll(`SELECT row_group_id, row_group_num_rows, column_id, compression, stats_min_value, stats_max_value, stats_min, stats_max, stats_null_count, encodings, dictionary_page_offset FROM parquet_metadata('${fp}') ORDER BY row_group_id, column_id`);
    const md = rd.getRowObjectsJS();
    const starts = new Map(); let at = 0;
    for (const m of md) if (!starts.has(m.row_group_id)) { starts.set(m.row_group_id, at); at += Number(m.row_group_num_rows); }
    if (at !== exp.n_rows) fail(name, `row groups hold ${at} rows, expected ${exp.n_rows}`);
    let shown = 0;
    for (const m of md) {
      const c = Number(m.column_id), f = exp.fields[c];
      const a = starts.get(m.row_group_id), b = a + Number(m.row_group_num_rows);
      const t = trueStats(f, exp.columns[c], a, b);
      const problems = [];
      if (m.compression !== exp.codec) problems.push(`codec ${m.compression}`);
      if (BigInt(m.stats_null_count) !== BigInt(t.nulls)) problems.push(`null_count ${m.stats_null_count} != ${t.nulls}`);
      const tooLong = f.type === 'STRING' && t.mn !== undefined && (Buffer.byteLength(t.mn) > 4096 || Buffer.byteLength(t.mx) > 4096);
      const emn = t.mn === undefined || tooLong ? undefined : canon(f.type, t.mn);
      const emx = t.mx === undefined || tooLong ? undefined : canon(f.type, t.mx);
      let gmn = duckStat(f, m.stats_min_value), gmx = duckStat(f, m.stats_max_value);
      // DuckDB shows no infinite float statistic (its own writer writes none)
      if (gmn === undefined && emn === 'f:-Infinity') gmn = emn;
      if (gmx === undefined && emx === 'f:Infinity') gmx = emx;
      // float zero: parquet writes min -0.0 and max +0.0
      const z = (s, neg) => (s === 'f:0' || s === 'f:-0') ? (neg ? 'f:-0' : 'f:0') : s;
      const fl = f.type === 'F32' || f.type === 'F64';
      if ((fl ? z(gmn, true) : gmn) !== (fl ? z(emn, true) : emn)) problems.push(`min_value ${m.stats_min_value} != ${emn && short(emn)}`);
      if ((fl ? z(gmx, false) : gmx) !== (fl ? z(emx, false) : emx)) problems.push(`max_value ${m.stats_max_value} != ${emx && short(emx)}`);
      if (fl && emn !== undefined && (gmn !== z(emn, true) || gmx !== z(emx, false)))
        problems.push(`float zero signs: ${m.stats_min_value} ${m.stats_max_value}`);
      // deprecated min/max: written for signed orders (not strings), as pyarrow does
      if (f.type !== 'STRING' && emn !== undefined && ((m.stats_min === null && m.stats_min_value !== null) || (m.stats_max === null && m.stats_max_value !== null))) problems.push('deprecated min/max missing');
      if (f.type === 'STRING' && (m.stats_min !== null || m.stats_max !== null)) problems.push('deprecated min/max written for a string');
      // dictionary encoding where it must (few distinct values) and must not (off, or too big) be used
      const dict = m.dictionary_page_offset !== null && /RLE_DICTIONARY/.test(m.encodings);
      const want = wantDict(name, f, t);
      if (want !== undefined && dict !== want) problems.push(`dictionary ${dict ? 'used' : 'not used'} (encodings ${m.encodings})`);
      if (problems.length && shown++ < 10) fail(name, `row group ${m.row_group_id} column ${f.name}: ${problems.join('; ')}`);
      else if (problems.length) bad++;
    }
  } catch (e) { fail(name, 'parquet_metadata: ' + e.message); }
  console.log(`checked ${name}: ${exp.n_rows} rows x ${exp.fields.length} columns`);
}
console.log(bad ? `${bad} differences` : `all ${names.length} files read back identically in DuckDB and hyparquet`);
process.exit(bad ? 1 : 0);
