// Measures a raw data directory (tracks, catalog_names, interactions and
// _truth/track_groups .parquet) with DuckDB, independently of musrec's
// reader: `node gen_stats.mjs DIR` prints one JSON object of statistics
// (schema, sizes, shape) that tests/e2e/gen_stats.sh compares with the facts
// of docs/DATASET.md.
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const f = (name) => `'${dir}/${name}'`;

function plain(v) {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v !== null && typeof v === 'object') return v.toString();
  return v;
}
async function rows(sql) {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjects().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
}
async function one(sql) {
  return (await rows(sql))[0];
}

const out = {};
for (const file of ['tracks.parquet', 'catalog_names.parquet', 'interactions.parquet', '_truth/track_groups.parquet']) {
  out[`schema:${file}`] = await rows(
    `SELECT name, type, converted_type, logical_type::VARCHAR AS logical_type, repetition_type
     FROM parquet_schema(${f(file)}) WHERE name <> 'schema'`);
  const kv = await rows(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${f(file)})`);
  out[`kv:${file}`] = kv.map((x) => x.k);
  const p = kv.find((x) => x.k === 'pandas');
  if (p) out[`pandas_index:${file}`] = JSON.parse(p.v).index_columns;
}

await conn.run(`CREATE VIEW t AS SELECT * FROM read_parquet(${f('tracks.parquet')})`);
await conn.run(`CREATE VIEW c AS SELECT * FROM read_parquet(${f('catalog_names.parquet')})`);
await conn.run(`CREATE VIEW e AS SELECT * FROM read_parquet(${f('interactions.parquet')})`);
await conn.run(`CREATE VIEW g AS SELECT * FROM read_parquet(${f('_truth/track_groups.parquet')})`);

out.tracks = await one(`SELECT count(*) AS n, count(DISTINCT track_id) AS distinct_ids,
  min(track_id) AS min_id, max(track_id) AS max_id,
  count(*) FILTER (WHERE albums IS NULL OR artists IS NULL OR genres IS NULL OR track_id IS NULL) AS nulls,
  count(*) FILTER (WHERE len(albums) = 0) AS empty_albums,
  count(*) FILTER (WHERE len(artists) = 0) AS empty_artists,
  count(*) FILTER (WHERE len(genres) = 0) AS empty_genres,
  sum(track_id) AS sum_id FROM t`);
out.dangling = await one(`WITH tg AS (SELECT track_id, unnest(genres) AS gid FROM t),
  d AS (SELECT * FROM tg WHERE gid NOT IN (SELECT id FROM c WHERE type = 'genre'))
  SELECT count(DISTINCT track_id) AS tracks, count(DISTINCT gid) AS ids FROM d`);
out.refs = await one(`SELECT
  (SELECT count(*) FROM (SELECT DISTINCT unnest(albums) AS a FROM t) WHERE a NOT IN (SELECT id FROM c WHERE type='album')) AS unknown_albums,
  (SELECT count(*) FROM (SELECT DISTINCT unnest(artists) AS a FROM t) WHERE a NOT IN (SELECT id FROM c WHERE type='artist')) AS unknown_artists,
  (SELECT count(*) FROM t WHERE track_id NOT IN (SELECT id FROM c WHERE type='track')) AS tracks_without_name`);

out.catalog = await one(`SELECT count(*) AS n, count(DISTINCT name) AS distinct_names,
  count(*) FILTER (WHERE type = 'album') AS albums, count(*) FILTER (WHERE type = 'artist') AS artists,
  count(*) FILTER (WHERE type = 'genre') AS genres, count(*) FILTER (WHERE type = 'track') AS tracks,
  count(*) FILTER (WHERE id IS NULL OR type IS NULL OR name IS NULL) AS nulls,
  count(*) FILTER (WHERE type = 'genre' AND NOT regexp_full_match(name, '[a-z]+')) AS genre_names_not_lower,
  count(*) - count(DISTINCT (type, id)) AS dup_type_id,
  count(*) FILTER (WHERE regexp_matches(name, '[А-Яа-яЁё]')) AS cyrillic_names FROM c`);

out.events = await one(`SELECT count(*) AS n, count(DISTINCT user_id) AS users,
  min(user_id) AS min_user, max(user_id) AS max_user,
  count(DISTINCT track_id) AS tracks, count(DISTINCT (user_id, track_id)) AS distinct_pairs,
  count(*) FILTER (WHERE user_id IS NULL OR track_id IS NULL OR track_seq IS NULL OR started_at IS NULL) AS nulls,
  count(DISTINCT started_at) AS days, min(started_at)::VARCHAR AS first, max(started_at)::VARCHAR AS last,
  count(*) FILTER (WHERE started_at <> date_trunc('day', started_at)) AS not_midnight,
  count(*) FILTER (WHERE __index_level_0__ <> track_seq - 1) AS index_not_seq,
  max(track_seq) AS max_seq,
  sum(user_id) AS sum_user, sum(track_id) AS sum_track, sum(track_seq) AS sum_seq,
  sum(__index_level_0__) AS sum_index, (sum(epoch_ns(started_at)::HUGEINT) % 18446744073709551616)::VARCHAR AS sum_ts_mod64,
  count(*) FILTER (WHERE track_id NOT IN (SELECT track_id FROM t)) AS unknown_tracks FROM e`);
out.per_user = await one(`WITH u AS (SELECT user_id, count(*) AS n, max(track_seq) AS mx, min(track_seq) AS mn,
    count(DISTINCT track_seq) AS nd, min(__index_level_0__) AS i0 FROM e GROUP BY user_id)
  SELECT avg(n) AS mean, median(n) AS median, max(n) AS max, min(n) AS min,
    count(*) FILTER (WHERE mx <> n OR mn <> 1 OR nd <> n) AS seq_not_permutation,
    count(*) FILTER (WHERE i0 <> 0) AS index_not_restarting FROM u`);
// track_seq follows started_at: no later seq on an earlier day
out.seq_order = await one(`SELECT count(*) AS violations FROM (
  SELECT started_at, lag(started_at) OVER (PARTITION BY user_id ORDER BY track_seq) AS prev FROM e)
  WHERE prev > started_at`);
out.months = (await rows(`SELECT month(started_at) AS m, count(*) AS n FROM e GROUP BY 1 ORDER BY 1`)).map((r) => r.n);
out.popularity = await one(`WITH p AS (SELECT track_id, count(*) AS listeners FROM e GROUP BY 1)
  SELECT max(listeners) AS top, median(listeners) AS median, count(*) AS tracks_heard,
    (SELECT count(*) FROM t) - count(*) AS unheard,
    quantile_cont(listeners, 0.99) AS p99 FROM p`);
out.split = await one(`WITH u AS (SELECT user_id, bool_or(started_at < '2022-12-16') AS tr,
    bool_or(started_at >= '2022-12-16') AS te FROM e GROUP BY 1)
  SELECT (SELECT count(*) FROM e WHERE started_at >= '2022-12-16') AS test_events,
    count(*) FILTER (WHERE tr) AS train_users, count(*) FILTER (WHERE te) AS test_users,
    count(*) FILTER (WHERE te AND NOT tr) AS cold_users FROM u`);
// taste: share of consecutive events (same user and day) by the same first artist
out.sessions = await one(`WITH x AS (SELECT e.user_id, e.started_at, e.track_seq, t.artists[1] AS a
    FROM e JOIN t USING (track_id) WHERE len(t.artists) > 0),
  y AS (SELECT a, lag(a) OVER (PARTITION BY user_id ORDER BY track_seq) AS pa,
    lag(started_at) OVER (PARTITION BY user_id ORDER BY track_seq) AS pd, started_at FROM x)
  SELECT avg(CASE WHEN a = pa THEN 1 ELSE 0 END) AS same_artist_next FROM y WHERE pd = started_at`);
out.truth = await one(`WITH s AS (SELECT true_group, count(*) AS k FROM g GROUP BY 1)
  SELECT (SELECT count(*) FROM g) AS n, count(*) AS groups, sum(k) FILTER (WHERE k > 1) AS tracks_in_multi,
    max(k) AS largest,
    (SELECT count(*) FROM g WHERE true_group NOT IN (SELECT track_id FROM t)) AS group_not_a_track,
    (SELECT count(*) FROM g WHERE track_id NOT IN (SELECT track_id FROM t)) AS unknown_tracks FROM s`);
// titles: versions named like catalogs name them, and same-title songs that are not one group
out.titles = await one(`WITH n AS (SELECT g.track_id, g.true_group, c.name FROM g JOIN c ON c.type = 'track' AND c.id = g.track_id),
  v AS (SELECT * FROM n WHERE track_id <> true_group),
  k AS (SELECT lower(trim(regexp_replace(name, '\\s+', ' ', 'g'))) AS key, count(DISTINCT true_group) AS ng FROM n GROUP BY 1)
  SELECT count(*) FILTER (WHERE regexp_matches(name, '\\((\\w+ )*Remix\\)|- .*Remix|Extended Mix')) AS remix,
    count(*) FILTER (WHERE regexp_matches(name, '- Live|\\(Live|\\[Live')) AS live,
    count(*) FILTER (WHERE regexp_matches(name, 'Acoustic|Unplugged')) AS acoustic,
    count(*) FILTER (WHERE regexp_matches(name, '\\((feat|ft)\\. ')) AS feat,
    count(*) FILTER (WHERE regexp_matches(name, 'Radio Edit')) AS radio_edit,
    count(*) FILTER (WHERE name = (SELECT name FROM n o WHERE o.track_id = v.true_group)) AS same_title,
    (SELECT count(*) FROM k WHERE ng > 1) AS titles_shared_by_groups,
    (SELECT max(ng) FROM k) AS max_groups_per_title,
    count(*) AS versions FROM v`);
console.log(JSON.stringify(out));
