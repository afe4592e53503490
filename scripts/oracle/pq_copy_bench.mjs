// DuckDB side of the write benchmark (bench/parquet.sh): loads IN.parquet
// into an in-memory table (not timed), then times COPY t TO OUT.parquet
// RUNS times with the given thread count and codec, as bench/pqwrite.c has
// musrec write the same columns from memory. DuckDB's COPY does not fsync
// its output; musrec's writer does (its atomic output), so after each COPY
// the output is fsynced here and that is timed on its own: the benchmark
// can then compare both with and without the sync.
// Usage: node pq_copy_bench.mjs IN.parquet OUT.parquet RUNS CODEC THREADS
// Prints one JSON line: rows, row_groups, bytes, the median COPY wall and
// CPU seconds (all DuckDB threads, process.cpuUsage), the median fsync
// seconds, and each run.
import { DuckDBInstance } from '@duckdb/node-api';
import { openSync, fsyncSync, closeSync, statSync } from 'node:fs';

const [input, out, runs = '3', codec = 'snappy', threads = '2'] = process.argv.slice(2);
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await inst.connect();
await con.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${q(input)})`);
const res = [];
for (let r = 0; r < Number(runs); r++) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  await con.run(`COPY t TO ${q(out)} (FORMAT parquet, COMPRESSION ${codec})`);
  const t1 = performance.now();
  const c = process.cpuUsage(c0);
  const fd = openSync(out, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  res.push({ seconds: (t1 - t0) / 1000, cpu_seconds: (c.user + c.system) / 1e6, fsync_seconds: (performance.now() - t1) / 1000 });
}
const median = (k) => res.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(res.length / 2)];
const meta = (await con.runAndReadAll(`SELECT count(*)::INTEGER AS g, max(row_group_num_rows)::INTEGER AS m FROM (SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${q(out)}))`)).getRowObjects()[0];
const rows = (await con.runAndReadAll('SELECT count(*)::BIGINT AS n FROM t')).getRowObjects()[0].n;
console.log(JSON.stringify({
  rows: Number(rows), row_groups: meta.g, bytes: statSync(out).size,
  median_seconds: median('seconds'), median_cpu_seconds: median('cpu_seconds'), median_fsync_seconds: median('fsync_seconds'),
  runs: res,
}));
