// DuckDB side of bench/pqwrite.sh: builds the same N-row interactions table
// in memory (not timed), then times COPY ... TO parquet RUNS times with the
// given thread count and codec; prints the median wall and CPU seconds.
// Usage: node pq_copy_bench.mjs OUT.parquet ROWS RUNS CODEC THREADS
import { DuckDBInstance } from '@duckdb/node-api';
const [out, rows = '20000000', runs = '3', codec = 'snappy', threads = '2'] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await inst.connect();
// keep in step with bench/pqwrite.c
await con.run(`CREATE TABLE t AS SELECT CAST(i // 160 AS INTEGER) AS user_id,
  CAST((i * 2654435761) % 1000003 AS INTEGER) AS track_id,
  CAST(i % 160 AS SMALLINT) AS track_seq,
  make_timestamp_ns(1600000000000000000 + i * 1000000007) AS started_at
  FROM range(${Number(rows)}) r(i)`);
const times = [], cpus = [];
for (let r = 0; r < Number(runs); r++) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  await con.run(`COPY t TO '${out.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION ${codec})`);
  times.push((performance.now() - t0) / 1000);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1e6);
  console.error(`duckdb run ${r + 1}: ${times[r].toFixed(3)} s wall, ${((c.user + c.system) / 1e6).toFixed(3)} s cpu`);
}
times.sort((a, b) => a - b);
cpus.sort((a, b) => a - b);
const mid = Math.floor(times.length / 2);
console.log(`${times[mid].toFixed(3)} ${cpus[mid].toFixed(3)}`); // medians: wall, cpu
