// Which truth pairs does track grouping miss, and which false pairs does it
// make? A development aid for src/data/groups.c (not a test).
//
//   node scripts/dev/group_errors.mjs WORKDIR|FILE.tsv [N_EXAMPLES]
//
// Reads WORKDIR/data/preprocessed/items.parquet (our track_group_id) and
// WORKDIR/data/raw/_truth/track_groups.parquet (the generator's truth) with
// DuckDB, enumerates pairs inside each true group and each predicted group,
// (or the TSV scripts/dev/group_sim.c writes) and breaks missed and false pairs down by: exact folded title equal or not,
// artists shared or not, genres shared or not, album shared or not, words in
// the title. Prints tables and a few examples of each kind.
import { createRequire } from 'node:module';

// resolve DuckDB from scripts/oracle (make deps installs it there)
const require = createRequire(new URL('../oracle/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const wd = process.argv[2];
const nex = Number(process.argv[3] || 8);
if (!wd) {
  console.error('usage: group_errors.mjs WORKDIR [N_EXAMPLES]');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const show = (title, rows) => {
  console.log(`\n## ${title}`);
  if (!rows.length) return console.log('(none)');
  console.table(rows);
};

const from = wd.endsWith('.tsv')
  ? `(SELECT track_id, track_group_id, true_group, track_name, artist_ids::BIGINT[] AS artist_ids,
       genre_ids::BIGINT[] AS genre_ids, album_ids::BIGINT[] AS album_ids
     FROM read_csv('${wd}', delim = '\t', header = true, quote = '', auto_detect = true, all_varchar = false,
       types = {'track_name': 'VARCHAR', 'artist_ids': 'VARCHAR', 'genre_ids': 'VARCHAR', 'album_ids': 'VARCHAR'}))`
  : `(SELECT i.*, t.true_group FROM '${wd}/data/preprocessed/items.parquet' i
       JOIN '${wd}/data/raw/_truth/track_groups.parquet' t USING (track_id))`;
await c.run(`CREATE TABLE it AS SELECT track_id, track_group_id AS g, true_group AS tg, track_name AS name,
  lower(regexp_replace(trim(track_name), '\\s+', ' ', 'g')) AS lname,
  artist_ids AS a, genre_ids AS ge, album_ids AS al FROM ${from}`);
// pairs inside true groups and inside predicted groups (x < y)
await c.run(`CREATE TABLE tp AS SELECT x.track_id AS x, y.track_id AS y FROM it x JOIN it y ON x.tg = y.tg AND x.track_id < y.track_id`);
await c.run(`CREATE TABLE pp AS SELECT x.track_id AS x, y.track_id AS y FROM it x JOIN it y ON x.g = y.g AND x.track_id < y.track_id`);
const feats = (tab) => `SELECT p.x, p.y, X.name AS nx, Y.name AS ny,
   X.lname = Y.lname AS same_title,
   len(list_intersect(X.a, Y.a)) > 0 AS share_artist,
   len(list_intersect(X.ge, Y.ge)) > 0 AS share_genre,
   len(list_intersect(X.al, Y.al)) > 0 AS share_album,
   X.tg = X.track_id OR Y.tg = Y.track_id AS with_original,
   len(string_split(X.lname, ' ')) AS words
  FROM ${tab} p JOIN it X ON X.track_id = p.x JOIN it Y ON Y.track_id = p.y`;
await c.run(`CREATE TABLE missed AS ${feats('(SELECT * FROM tp EXCEPT SELECT * FROM pp)')}`);
await c.run(`CREATE TABLE falsep AS ${feats('(SELECT * FROM pp EXCEPT SELECT * FROM tp)')}`);
await c.run(`CREATE TABLE allp AS ${feats('tp')}`);

show('totals', await q(`SELECT (SELECT count(*) FROM tp) AS true_pairs, (SELECT count(*) FROM pp) AS predicted_pairs,
  (SELECT count(*) FROM missed) AS missed, (SELECT count(*) FROM falsep) AS false_pairs`));
const breakdown = (tab) => q(`SELECT same_title, share_artist, share_genre, share_album, count(*) AS pairs
  FROM ${tab} GROUP BY ALL ORDER BY pairs DESC`);
show('missed truth pairs by evidence', await breakdown('missed'));
show('false pairs by evidence', await breakdown('falsep'));
show('missed, same title, no shared artist: by words', await q(`SELECT words, count(*) AS pairs FROM missed
  WHERE same_title AND NOT share_artist GROUP BY ALL ORDER BY words`));
show('all truth pairs by evidence', await breakdown('allp'));
// how many unrelated performer pairs share each exact title, by words: the
// coincidences a title-only rule would join
show('distinct-song pairs with the same lower-cased title, by words (coincidences)', await q(`
  SELECT len(string_split(x.lname, ' ')) AS words, count(*) AS pairs,
         sum((len(list_intersect(x.a, y.a)) > 0)::INT) AS share_artist
  FROM it x JOIN it y ON x.lname = y.lname AND x.track_id < y.track_id AND x.tg <> y.tg GROUP BY ALL ORDER BY words`));
show('examples: missed', await q(`SELECT nx, ny, share_artist, share_genre FROM missed USING SAMPLE ${nex} ROWS`));
show('examples: missed, same artist', await q(`SELECT nx, ny FROM missed WHERE share_artist USING SAMPLE ${nex} ROWS`));
show('examples: false', await q(`SELECT nx, ny, share_artist, share_genre FROM falsep USING SAMPLE ${nex} ROWS`));
