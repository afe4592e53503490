/* Unit tests for the data generator (src/data/gen.c), in memory.
 *
 * The facts come from docs/DATASET.md (the real files at scale 1); at scale
 * 0.01 counts are the real ones times 0.01, rounded, and shapes (means,
 * medians, ratios) must match within the tolerances written next to each
 * check. The files themselves are checked with DuckDB in
 * tests/e2e/gen_stats.sh. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fs.h"
#include "data/gen.h"
#include "mr_test.h"

#define SCALE 0.01

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t row_of(const mr_gen_catalog *c, int64_t id)
{
    int64_t lo = 0, hi = c->n_tracks - 1;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (c->track_id[m] < id) lo = m + 1;
        else hi = m;
    }
    return c->track_id[lo] == id ? lo : -1;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* All events of a world, block after block. */
static int all_events(const mr_gen_world *w, mr_gen_events *all)
{
    memset(all, 0, sizeof *all);
    mr_gen_events ev = {0};
    int64_t nb = mr_gen_num_blocks(w), n = mr_gen_world_catalog(w)->n_events;
    all->user_id = malloc(sizeof(int32_t) * (size_t)n), all->track_id = malloc(sizeof(int32_t) * (size_t)n);
    all->track_seq = malloc(sizeof(int32_t) * (size_t)n), all->day = malloc(sizeof(int32_t) * (size_t)n);
    all->cap = n;
    for (int64_t b = 0; b < nb; b++) {
        int rc = mr_gen_block(w, b, &ev);
        if (rc) return rc;
        if (all->n + ev.n > n) return mr_err(MR_EINVAL, "more events than announced");
        memcpy(all->user_id + all->n, ev.user_id, sizeof(int32_t) * (size_t)ev.n);
        memcpy(all->track_id + all->n, ev.track_id, sizeof(int32_t) * (size_t)ev.n);
        memcpy(all->track_seq + all->n, ev.track_seq, sizeof(int32_t) * (size_t)ev.n);
        memcpy(all->day + all->n, ev.day, sizeof(int32_t) * (size_t)ev.n);
        all->n += ev.n;
    }
    mr_gen_events_free(&ev);
    return 0;
}

TEST(gen_catalog_shape)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    /* sizes: the real counts times the scale, rounded; genres do not scale */
    CHECK_INT(c->n_tracks, 10000);
    CHECK_INT(c->n_albums, 6587);   /* 658,724 */
    CHECK_INT(c->n_artists, 1536);  /* 153,581 */
    CHECK_INT(c->n_genres, 166);
    CHECK_INT(c->n_names, 6587 + 1536 + 166 + 10000);
    CHECK_INT(c->n_users, 13732);   /* 1,373,221 */
    CHECK_INT(c->user_id[c->n_users - 1], 13746); /* ids 0..1,374,582 with gaps */
    CHECK_INT(c->user_id[0], 0);
    for (int32_t i = 1; i < c->n_users; i++) REQUIRE(c->user_id[i] > c->user_id[i - 1]);
    /* track ids: unique, ascending, sparse from 26 up to about 1.0e8 */
    CHECK_INT(c->track_id[0], 26);
    for (int32_t i = 1; i < c->n_tracks; i++) REQUIRE(c->track_id[i] > c->track_id[i - 1]);
    CHECK(c->track_id[c->n_tracks - 1] > 90000000 && c->track_id[c->n_tracks - 1] < 2147483647);
    /* empty lists and dangling genres at the real rates: 18, 15,369, 3,687, 48,345 times 0.01 */
    int64_t ea = 0, er = 0, eg = 0, dangling = 0, genre_ids[256] = {0};
    for (int64_t i = 0; i < c->n_names; i++)
        if (c->name_type[i] == 2) genre_ids[c->name_id[i]] = 1;
    int64_t dangling_ids[256] = {0};
    for (int32_t i = 0; i < c->n_tracks; i++) {
        ea += c->album_off[i + 1] == c->album_off[i];
        er += c->artist_off[i + 1] == c->artist_off[i];
        eg += c->genre_off[i + 1] == c->genre_off[i];
        int d = 0;
        for (int64_t k = c->genre_off[i]; k < c->genre_off[i + 1]; k++)
            if (!genre_ids[c->genre_ids[k]]) d = 1, dangling_ids[c->genre_ids[k]] = 1;
        dangling += d;
    }
    CHECK_INT(ea, 0);
    CHECK_INT(er, 154);
    CHECK_INT(eg, 37);
    CHECK_INT(dangling, 483);
    int nd = 0;
    for (int i = 0; i < 256; i++) nd += (int)dangling_ids[i];
    CHECK_INT(nd, 30);
    /* catalog rows per type, genre names lower-case tokens, names repeat */
    int64_t per_type[4] = {0};
    for (int64_t i = 0; i < c->n_names; i++) {
        per_type[c->name_type[i]]++;
        if (c->name_type[i] == 2)
            for (int64_t k = c->name_off[i]; k < c->name_off[i + 1]; k++)
                REQUIRE(c->name_bytes[k] >= 'a' && c->name_bytes[k] <= 'z');
    }
    CHECK_INT(per_type[0], 6587);
    CHECK_INT(per_type[1], 1536);
    CHECK_INT(per_type[2], 166);
    CHECK_INT(per_type[3], 10000);
    /* distinct names: 52% at scale 1 (945,118 / 1,812,471); at 0.01 fewer
     * chance collisions, measured 0.64 (bench/gen.sh measures scale 1) */
    uint64_t *h = malloc(sizeof(uint64_t) * (size_t)c->n_names);
    for (int64_t i = 0; i < c->n_names; i++)
        h[i] = fnv(0xcbf29ce484222325ULL, c->name_bytes + c->name_off[i], (size_t)(c->name_off[i + 1] - c->name_off[i]));
    qsort(h, (size_t)c->n_names, sizeof *h, cmp_i64);
    int64_t distinct = 0;
    for (int64_t i = 0; i < c->n_names; i++) distinct += i == 0 || h[i] != h[i - 1];
    free(h);
    double frac = (double)distinct / (double)c->n_names;
    CHECK(frac > 0.50 && frac < 0.75);
    /* true groups: each group is named by a track of its own group; a few
     * percent of tracks are versions */
    int64_t versions = 0;
    for (int32_t i = 0; i < c->n_tracks; i++) {
        int64_t r = row_of(c, c->true_group[i]);
        REQUIRE(r >= 0);
        REQUIRE(c->true_group[r] == c->track_id[r]);
        versions += c->true_group[i] != c->track_id[i];
    }
    CHECK(versions > 200 && versions < 800); /* 2% .. 8% */
    mr_gen_world_free(w);
}

/* A version named "X (Remix)", "X - Live", "X (feat. Y)"... keeps the
 * original title as its prefix unless its case or spaces were changed. */
TEST(gen_version_titles)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    int64_t first_track = c->n_names - c->n_tracks, prefixed = 0, versions = 0, kinds[5] = {0};
    const char *marks[5] = {"Remix", "Live", "Acoustic", "feat.", "Radio Edit"};
    for (int32_t i = 0; i < c->n_tracks; i++) {
        if (c->true_group[i] == c->track_id[i]) continue;
        versions++;
        int64_t r = row_of(c, c->true_group[i]);
        const char *v = c->name_bytes + c->name_off[first_track + i];
        size_t vn = (size_t)(c->name_off[first_track + i + 1] - c->name_off[first_track + i]);
        const char *o = c->name_bytes + c->name_off[first_track + r];
        size_t on = (size_t)(c->name_off[first_track + r + 1] - c->name_off[first_track + r]);
        prefixed += vn >= on && memcmp(v, o, on) == 0;
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%.*s", (int)vn, v);
        for (int k = 0; k < 5; k++) kinds[k] += strstr(tmp, marks[k]) != NULL;
    }
    CHECK(prefixed > versions * 8 / 10);
    for (int k = 0; k < 5; k++) CHECK(kinds[k] > 0);
    mr_gen_world_free(w);
}

TEST(gen_events_shape)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    mr_gen_events e;
    REQUIRE_OK(all_events(w, &e));
    CHECK_INT(e.n, c->n_events);
    /* about 162 events per user on average (222.6M / 1.373M), median 54;
     * at scale 0.01 a history is capped at half the catalog (5,000) */
    double mean = (double)e.n / c->n_users;
    CHECK(mean > 140 && mean < 175);
    int32_t *per = calloc((size_t)c->n_users, sizeof(int32_t));
    int32_t slot = 0, bad_seq = 0, bad_day = 0, users_with_events = 0;
    int64_t month[12] = {0}, test_events = 0;
    static const int month_end[12] = {31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
    int32_t *listeners = calloc((size_t)c->n_tracks, sizeof(int32_t));
    int64_t dup = 0;
    for (int64_t i = 0; i < e.n; i++) {
        while (slot < c->n_users && c->user_id[slot] != e.user_id[i]) slot++;
        REQUIRE(slot < c->n_users);
        if (per[slot] == 0) users_with_events++;
        per[slot]++;
        bad_seq += e.track_seq[i] != per[slot];
        if (per[slot] > 1) bad_day += e.day[i] < e.day[i - 1];
        REQUIRE(e.day[i] >= 0 && e.day[i] < 365);
        int m = 0;
        while (e.day[i] >= month_end[m]) m++;
        month[m]++;
        test_events += e.day[i] >= 349; /* 2022-12-16 */
        int64_t r = row_of(c, e.track_id[i]);
        REQUIRE(r >= 0);
        listeners[r]++;
    }
    CHECK_INT(bad_seq, 0);
    CHECK_INT(bad_day, 0);
    CHECK_INT(users_with_events, c->n_users);
    for (int32_t u = 0; u < c->n_users; u++) REQUIRE(per[u] == c->user_events[u]);
    /* no (user, track) pair twice: sort each user's tracks */
    for (int64_t i = 0, j; i < e.n; i = j) {
        for (j = i; j < e.n && e.user_id[j] == e.user_id[i]; j++) {}
        qsort(e.track_id + i, (size_t)(j - i), sizeof(int32_t), cmp_i32);
        for (int64_t k = i + 1; k < j; k++) dup += e.track_id[k] == e.track_id[k - 1];
    }
    CHECK_INT(dup, 0);
    /* median 54 (+-10%), heavy tail */
    qsort(per, (size_t)c->n_users, sizeof(int32_t), cmp_i32);
    CHECK(per[c->n_users / 2] >= 48 && per[c->n_users / 2] <= 60);
    CHECK(per[c->n_users - 1] > 3000);
    /* monthly volume: 2.3M in January, 32.9M in November (x14.3), 30.2M in December */
    double nov_jan = (double)month[10] / month[0], dec_nov = (double)month[11] / month[10];
    CHECK(nov_jan > 11 && nov_jan < 18);
    CHECK(dec_nov > 0.82 && dec_nov < 0.99);
    for (int m = 1; m < 11; m++) CHECK(month[m] > month[m - 1]);
    /* test share 13.9M / 222.6M = 6.2% (+-1.5 points) */
    double ts = (double)test_events / e.n;
    CHECK(ts > 0.047 && ts < 0.077);
    /* every track heard; popularity heavy-tailed: the top track reaches a
     * large share of users (8% at scale 1), far above the median track */
    qsort(listeners, (size_t)c->n_tracks, sizeof(int32_t), cmp_i32);
    CHECK(listeners[0] >= 1);
    double top = (double)listeners[c->n_tracks - 1] / c->n_users;
    CHECK(top > 0.04 && top < 0.5);
    CHECK(listeners[c->n_tracks - 1] > 10 * listeners[c->n_tracks / 2]);
    free(per), free(listeners);
    mr_gen_events_free(&e);
    mr_gen_world_free(w);
}

/* Lasting tastes: the artists a user plays after 2022-12-16 are mostly
 * artists they played before, far more often than another user's artists
 * would predict. This is what lets a personal model beat popularity. */
TEST(gen_tastes_persist)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    mr_gen_events e;
    REQUIRE_OK(all_events(w, &e));
    /* first artist of each event's track */
    int32_t *art = malloc(sizeof(int32_t) * (size_t)e.n);
    for (int64_t i = 0; i < e.n; i++) {
        int64_t r = row_of(c, e.track_id[i]);
        art[i] = c->artist_off[r + 1] > c->artist_off[r] ? (int32_t)c->artist_ids[c->artist_off[r]] : -1;
    }
    /* user ranges */
    int64_t *start = malloc(sizeof(int64_t) * ((size_t)c->n_users + 1));
    int32_t u = 0;
    for (int64_t i = 0; i < e.n; i++)
        if (i == 0 || e.user_id[i] != e.user_id[i - 1]) start[u++] = i;
    start[u] = e.n;
    int64_t own_hits = 0, other_hits = 0, tests = 0;
    int32_t *train = malloc(sizeof(int32_t) * 20000);
    for (int32_t k = 0; k + 1 < u; k++) {
        /* train artists of user k+1 (the "other" user) and of user k */
        for (int pass = 0; pass < 2; pass++) {
            int32_t src = pass == 0 ? k : k + 1;
            int64_t nt = 0;
            for (int64_t i = start[src]; i < start[src + 1]; i++)
                if (e.day[i] < 349 && art[i] >= 0) train[nt++] = art[i];
            qsort(train, (size_t)nt, sizeof(int32_t), cmp_i32);
            for (int64_t i = start[k]; i < start[k + 1]; i++) {
                if (e.day[i] < 349 || art[i] < 0) continue;
                int hit = bsearch(&art[i], train, (size_t)nt, sizeof(int32_t), cmp_i32) != NULL;
                if (pass == 0) own_hits += hit, tests++;
                else other_hits += hit;
            }
        }
    }
    REQUIRE(tests > 1000);
    double own = (double)own_hits / tests, other = (double)other_hits / tests;
    CHECK(own > 0.4);
    CHECK(own > 2.0 * other);
    free(train), free(start), free(art);
    mr_gen_events_free(&e);
    mr_gen_world_free(w);
}

TEST(gen_deterministic)
{
    mr_gen_world *a, *b, *d;
    REQUIRE_OK(mr_gen_world_new(&a, 0.003, 7));
    REQUIRE_OK(mr_gen_world_new(&b, 0.003, 7));
    REQUIRE_OK(mr_gen_world_new(&d, 0.003, 8));
    const mr_gen_catalog *ca = mr_gen_world_catalog(a), *cb = mr_gen_world_catalog(b), *cd = mr_gen_world_catalog(d);
    REQUIRE(ca->n_names == cb->n_names);
    CHECK(memcmp(ca->track_id, cb->track_id, sizeof(int64_t) * (size_t)ca->n_tracks) == 0);
    CHECK(memcmp(ca->name_bytes, cb->name_bytes, (size_t)ca->name_off[ca->n_names]) == 0);
    CHECK(memcmp(ca->track_id, cd->track_id, sizeof(int64_t) * (size_t)ca->n_tracks) != 0);
    /* blocks on one thread in order == blocks on several threads in reverse */
    int64_t nb = mr_gen_num_blocks(a);
    uint64_t *h1 = calloc((size_t)nb, sizeof(uint64_t)), *h2 = calloc((size_t)nb, sizeof(uint64_t));
    for (int64_t k = 0; k < nb; k++) {
        mr_gen_events ev = {0};
        REQUIRE_OK(mr_gen_block(a, k, &ev));
        h1[k] = fnv(fnv(fnv(0xcbf29ce484222325ULL, ev.user_id, 4 * (size_t)ev.n), ev.track_id, 4 * (size_t)ev.n), ev.day, 4 * (size_t)ev.n);
        mr_gen_events_free(&ev);
    }
    int fails = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(3) reduction(+ : fails)
    for (int64_t k = nb - 1; k >= 0; k--) {
        mr_gen_events ev = {0};
        fails += mr_gen_block(b, k, &ev) != 0;
        h2[k] = fnv(fnv(fnv(0xcbf29ce484222325ULL, ev.user_id, 4 * (size_t)ev.n), ev.track_id, 4 * (size_t)ev.n), ev.day, 4 * (size_t)ev.n);
        mr_gen_events_free(&ev);
    }
    CHECK_INT(fails, 0);
    CHECK(memcmp(h1, h2, sizeof(uint64_t) * (size_t)nb) == 0);
    free(h1), free(h2);
    mr_gen_world_free(a), mr_gen_world_free(b), mr_gen_world_free(d);
}

static int dir_entries(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 0", dir);
    return system(cmd) == 0 ? 0 : 1;
}

TEST(gen_bad_input)
{
    const char *tmp = mr_test_tmpdir();
    char *out = mr_path_join(tmp, "raw");
    mr_gen_opts o = {.scale = 0, .seed = 1, .out_dir = out};
    CHECK_ERR(mr_gen_run(&o, NULL), "--scale must be a number between 0.001 and 10");
    o.scale = -1;
    CHECK_ERR(mr_gen_run(&o, NULL), "got -1");
    o.scale = NAN;
    CHECK_ERR(mr_gen_run(&o, NULL), "--scale");
    o.scale = 11;
    CHECK_ERR(mr_gen_run(&o, NULL), "got 11");
    CHECK(!mr_file_exists(out));
    /* an unwritable directory */
    mr_gen_opts bad = {.scale = 0.001, .seed = 1, .out_dir = "/proc/musrec-gen-test/raw"};
    CHECK(mr_gen_run(&bad, NULL) != 0);
    CHECK(strstr(mr_errmsg(), "/proc/musrec-gen-test") != NULL);
    /* a good run, then a refusal to overwrite, then --force */
    o.scale = 0.001;
    mr_gen_stats st;
    REQUIRE_OK(mr_gen_run(&o, &st));
    CHECK_INT(st.n_tracks, 1000);
    CHECK(st.bytes > 0);
    char *tracks = mr_path_join(out, "tracks.parquet"), *truth = mr_path_join(out, "_truth/track_groups.parquet");
    CHECK(mr_file_exists(tracks));
    CHECK(mr_file_exists(truth));
    int64_t mtime = mr_file_mtime_ns(tracks);
    CHECK_ERR(mr_gen_run(&o, NULL), "pass --force to overwrite");
    CHECK(mr_file_mtime_ns(tracks) == mtime);
    o.force = 1;
    CHECK_OK(mr_gen_run(&o, NULL));
    /* no staging directory or temporary file is left behind */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | grep -v -x -e tracks.parquet -e catalog_names.parquet "
                              "-e interactions.parquet -e _truth | wc -l) -eq 0", out);
    CHECK(system(cmd) == 0);
    /* a full disk: say how much is needed, write nothing (a small tmpfs if any) */
    struct stat sb;
    if (stat("/dev/shm", &sb) == 0 && mr_disk_free("/dev/shm") >= 0 && mr_disk_free("/dev/shm") < mr_gen_estimate_bytes(10)) {
        char shm[256];
        snprintf(shm, sizeof shm, "/dev/shm/musrec-gen-test-%d", (int)getpid());
        mr_gen_opts big = {.scale = 10, .seed = 1, .out_dir = shm};
        CHECK_ERR(mr_gen_run(&big, NULL), "not enough disk space");
        CHECK(strstr(mr_errmsg(), "needs about") != NULL);
        CHECK(dir_entries(shm) == 0);
        rmdir(shm);
    }
    free(tracks), free(truth), free(out);
}

/* Covers: another artist's song under its title; about 30% say so
 * ("(Cover)", "- Cover", "(кавер)"), the rest carry the original title
 * alone (up to case and spaces). */
TEST(gen_cover_titles)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    int64_t first_track = c->n_names - c->n_tracks, covers = 0, marked = 0, bare = 0;
    for (int32_t i = 0; i < c->n_tracks; i++) {
        if (c->true_group[i] == c->track_id[i]) continue;
        int64_t r = row_of(c, c->true_group[i]);
        REQUIRE(r >= 0);
        /* a cover shares no artist with its original */
        int shared = 0;
        for (int64_t a = c->artist_off[i]; a < c->artist_off[i + 1]; a++)
            for (int64_t b = c->artist_off[r]; b < c->artist_off[r + 1]; b++) shared |= c->artist_ids[a] == c->artist_ids[b];
        if (shared || c->artist_off[i] == c->artist_off[i + 1] || c->artist_off[r] == c->artist_off[r + 1]) continue;
        covers++;
        char v[1024], o[1024];
        snprintf(v, sizeof v, "%.*s", (int)(c->name_off[first_track + i + 1] - c->name_off[first_track + i]),
                 c->name_bytes + c->name_off[first_track + i]);
        snprintf(o, sizeof o, "%.*s", (int)(c->name_off[first_track + r + 1] - c->name_off[first_track + r]),
                 c->name_bytes + c->name_off[first_track + r]);
        if (strstr(v, "Cover") || strstr(v, "cover") || strstr(v, "COVER") || strstr(v, "кавер") ||
            strstr(v, "Кавер") || strstr(v, "КАВЕР"))
            marked++;
        else if (strcasecmp(v, o) == 0 || strlen(v) == strlen(o) + 1) /* case changed, or one space added */
            bare++;
    }
    CHECK(covers > 60 && covers < 200); /* 1.2% of 10,000 tracks */
    CHECK(marked > covers * 15 / 100 && marked < covers * 45 / 100);
    CHECK_INT(marked + bare, covers);
    mr_gen_world_free(w);
}

/* Title words come from a long-tailed vocabulary: a head of common words
 * and many rare ones, so the distinct words of 10,000 titles run to
 * thousands (a vocabulary of the ~500 listed words alone gives < 600). */
TEST(gen_title_vocabulary)
{
    mr_gen_world *w;
    REQUIRE_OK(mr_gen_world_new(&w, SCALE, 42));
    const mr_gen_catalog *c = mr_gen_world_catalog(w);
    int64_t first_track = c->n_names - c->n_tracks, nw = 0;
    uint64_t *h = malloc(sizeof(uint64_t) * (size_t)(c->name_off[c->n_names] - c->name_off[first_track] + 1));
    for (int64_t row = first_track; row < c->n_names; row++) {
        const char *s = c->name_bytes + c->name_off[row];
        int64_t n = c->name_off[row + 1] - c->name_off[row];
        for (int64_t i = 0; i < n;) {
            int64_t j = i;
            while (j < n && s[j] != ' ') j++;
            if (j > i) {
                /* case-folded for ASCII; Cyrillic words are lower-case past the first letter */
                char wbuf[256];
                int64_t l = j - i < 255 ? j - i : 255;
                for (int64_t k = 0; k < l; k++) wbuf[k] = (char)(s[i + k] >= 'A' && s[i + k] <= 'Z' ? s[i + k] + 32 : s[i + k]);
                h[nw++] = fnv(0xcbf29ce484222325ULL, wbuf, (size_t)l);
            }
            i = j + 1;
        }
    }
    qsort(h, (size_t)nw, sizeof *h, cmp_i64);
    int64_t distinct = 0;
    for (int64_t i = 0; i < nw; i++) distinct += i == 0 || h[i] != h[i - 1];
    free(h);
    CHECK(distinct > 5000);
    CHECK(distinct < nw / 2); /* and a head that repeats */
    mr_gen_world_free(w);
}
