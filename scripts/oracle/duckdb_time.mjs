// Times SQL in DuckDB for the benchmarks: `node duckdb_time.mjs THREADS RUNS
// "SETUP; ..." "TIMED"` runs the setup statements once (not timed), then the
// timed statement RUNS times; prints the result of the last run as JSON and
// the median seconds as {"median_seconds": x, "runs": [...]}.
import { DuckDBInstance } from '@duckdb/node-api';
const [threads, runs, setup, timed] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const conn = await db.connect();
for (const s of (setup || '').split(';').map((x) => x.trim()).filter(Boolean)) await conn.run(s);
const times = [];
let last;
for (let r = 0; r < Number(runs); r++) {
  const t0 = performance.now();
  last = await conn.runAndReadAll(timed);
  times.push((performance.now() - t0) / 1000);
}
const rows = last.getRowObjects().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v === null ? null : typeof v === 'object' ? String(v) : v])));
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({ median_seconds: sorted[Math.floor(sorted.length / 2)], runs: times, result: rows }));
