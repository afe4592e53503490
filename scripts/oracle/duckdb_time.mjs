// Times SQL in DuckDB for the benchmarks: `node duckdb_time.mjs THREADS RUNS
// "SETUP; ..." "TIMED"` runs the setup statements once (not timed), then the
// timed statement RUNS times; prints the result of the last run as JSON and
// the median wall and CPU seconds (CPU of all DuckDB threads, from
// process.cpuUsage) as {"median_seconds", "median_cpu_seconds", "runs", "result"}.
import { DuckDBInstance } from '@duckdb/node-api';
const [threads, runs, setup, timed] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const conn = await db.connect();
for (const s of (setup || '').split(';').map((x) => x.trim()).filter(Boolean)) await conn.run(s);
const times = [], cpus = [];
let last;
for (let r = 0; r < Number(runs); r++) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  last = await conn.runAndReadAll(timed);
  times.push((performance.now() - t0) / 1000);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1e6);
}
const rows = last.getRowObjects().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v === null ? null : typeof v === 'object' ? String(v) : v])));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ median_seconds: median(times), median_cpu_seconds: median(cpus), runs: times, result: rows }));
