// Runs SQL in an in-memory DuckDB (the independent oracle of the evaluation
// tests): `node eval_sql.mjs "STATEMENT; ..." [...]`. Each argument is one
// statement; rows of the last one are printed as JSON lines (BigInt as
// numbers when safe, else strings).
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const stmts = process.argv.slice(2);
let last = null;
for (const s of stmts) last = await conn.runAndReadAll(s);
if (last) {
  for (const row of last.getRowObjects()) {
    const o = {};
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === 'bigint') o[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      else if (v !== null && typeof v === 'object') o[k] = v.toString();
      else o[k] = v;
    }
    console.log(JSON.stringify(o));
  }
}
