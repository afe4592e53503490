// DuckDB oracle for tests/e2e/prep_split.sh and bench/prep.sh: runs many
// statements in one process (node start-up dominates small tests).
// Usage: node prep_sql.mjs FILE.json, where FILE.json is a list of
// [name, sql] pairs; a pair with name null is executed for its effect.
// Prints one JSON object {name: [rows...]} with rows as plain JSON (lists as
// arrays, BIGINT as numbers, DATE as 'YYYY-MM-DD').
import fs from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const stmts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const threads = process.env.DUCKDB_THREADS;
const db = await DuckDBInstance.create(':memory:', threads ? { threads: String(threads) } : {});
const conn = await db.connect();
const out = {};
// BIGINT comes back as strings: turn those columns (and lists of them) into numbers
const num = (v) => (typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v);
for (const [name, sql] of stmts) {
  if (name === null) { await conn.run(sql); continue; }
  const r = await conn.runAndReadAll(sql);
  const names = r.columnNames(), types = r.columnTypes().map((t) => t.toString());
  out[name] = r.getRowObjectsJson().map((row) => {
    for (let i = 0; i < names.length; i++) {
      const t = types[i], v = row[names[i]];
      if (/^(U?BIGINT|HUGEINT)$/.test(t)) row[names[i]] = num(v);
      else if (/^(U?BIGINT|HUGEINT)\[\]$/.test(t) && Array.isArray(v)) row[names[i]] = v.map(num);
    }
    return row;
  });
}
process.stdout.write(JSON.stringify(out));
