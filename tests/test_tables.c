/* Unit tests for src/data/tables.c, pqcol.c and split.c: table round trips
 * through our parquet writer and reader, contract violations, dates, and
 * the interaction matrix and quantile day on hand-computed cases. */
#include <stdlib.h>

#include "base/err.h"
#include "base/fs.h"
#include "data/pqcol.h"
#include "data/split.h"
#include "data/tables.h"
#include "mr_test.h"
#include "parquet/parquet.h"

TEST(day_parse_format)
{
    int32_t d;
    REQUIRE_OK(mr_day_parse("1970-01-01", &d));
    CHECK_INT(d, 0);
    REQUIRE_OK(mr_day_parse("2022-12-16", &d));
    CHECK_INT(d, 19342);
    REQUIRE_OK(mr_day_parse("2000-02-29", &d));
    CHECK_INT(d, 11016);
    REQUIRE_OK(mr_day_parse("1969-12-31", &d));
    CHECK_INT(d, -1);
    char buf[16];
    for (int32_t x = -719000; x <= 2900000; x += 997) { /* years 1..9999 */
        mr_day_format(x, buf);
        int32_t y;
        if (mr_day_parse(buf, &y) || y != x) {
            mr_test_fail(__FILE__, __LINE__, "day %d -> %s -> %d", x, buf, y);
            break;
        }
    }
    CHECK_ERR(mr_day_parse("2022-02-29", &d), "2022-02-29");
    CHECK_ERR(mr_day_parse("2022-13-01", &d), "2022-13-01");
    CHECK_ERR(mr_day_parse("2022-12-16x", &d), "2022-12-16x");
    CHECK_ERR(mr_day_parse("", &d), "date");
}

static void sample_events(mr_events *ev)
{
    static int32_t uidx[] = {0, 0, 1, 1, 1, 2};
    static int32_t iidx[] = {3, 1, 0, 1, 2, 3};
    static int32_t day[] = {19000, 19342, 18000, 19341, 19343, 19342};
    static int16_t seq[] = {1, 2, 1, 2, 3, 1};
    static int32_t uid[] = {10, 10, 20, 20, 20, 35};
    static int64_t tid[] = {400, 200, 100, 200, 300, 400};
    *ev = (mr_events){6, uidx, iidx, day, seq, uid, tid};
}

TEST(events_roundtrip_and_day_filter)
{
    char *path = mr_path_join(mr_test_tmpdir(), "events.parquet");
    mr_events ev, back;
    sample_events(&ev);
    REQUIRE_OK(mr_events_write(path, &ev));
    REQUIRE_OK(mr_events_read(path, 1, &back));
    CHECK_INT(back.n, 6);
    CHECK(memcmp(back.user_idx, ev.user_idx, 24) == 0);
    CHECK(memcmp(back.item_idx, ev.item_idx, 24) == 0);
    CHECK(memcmp(back.day, ev.day, 24) == 0);
    CHECK(memcmp(back.track_seq, ev.track_seq, 12) == 0);
    CHECK(memcmp(back.user_id, ev.user_id, 24) == 0);
    CHECK(memcmp(back.track_id, ev.track_id, 48) == 0);
    mr_events_free(&back);
    /* a day window, raw ids from lookups instead of per-event arrays */
    int32_t user_ids[] = {10, 20, 35};
    int64_t track_ids[] = {100, 200, 300, 400};
    mr_events codes = ev;
    codes.user_id = NULL;
    codes.track_id = NULL;
    int64_t nw = 0;
    REQUIRE_OK(mr_events_write_days(path, &codes, 19342, INT32_MAX, user_ids, track_ids, &nw));
    CHECK_INT(nw, 3);
    REQUIRE_OK(mr_events_read(path, 1, &back));
    REQUIRE(back.n == 3);
    CHECK_INT(back.user_id[0], 10);
    CHECK_INT(back.track_id[0], 200);
    CHECK_INT(back.user_id[1], 20);
    CHECK_INT(back.track_id[1], 300);
    CHECK_INT(back.day[2], 19342);
    CHECK_INT(back.track_id[2], 400);
    mr_events_free(&back);
    /* without raw ids at all: an error, and nothing written */
    char *p2 = mr_path_join(mr_test_tmpdir(), "none.parquet");
    CHECK_ERR(mr_events_write(p2, &codes), "raw ids");
    CHECK(!mr_file_exists(p2));
    free(p2);
    free(path);
}

TEST(events_read_rejects_bad_files)
{
    char *path = mr_path_join(mr_test_tmpdir(), "bad.parquet");
    /* user_idx negative */
    mr_pq_field f[] = {{"user_idx", MR_PQ_W_I32, 0, 0, 0}, {"item_idx", MR_PQ_W_I32, 0, 0, 0},
                       {"started_at", MR_PQ_W_DATE, 0, 0, 0}, {"track_seq", MR_PQ_W_I32, 16, 0, 0}};
    int32_t u[] = {0, -1}, it[] = {0, 1}, d[] = {5, 6}, s[] = {1, 2};
    void *v[] = {u, it, d, s};
    mr_pq_col c[4];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 4; i++) c[i].n_rows = c[i].n_slots = 2, c[i].values = v[i];
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_events ev;
    CHECK_ERR(mr_events_read(path, 0, &ev), "user_idx");
    /* raw ids asked for but absent */
    u[1] = 1;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    REQUIRE_OK(mr_events_read(path, 0, &ev));
    mr_events_free(&ev);
    CHECK_ERR(mr_events_read(path, 1, &ev), "user_id");
    /* started_at of the wrong kind */
    f[2].type = MR_PQ_W_I32;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_events_read(path, 0, &ev), "column started_at is INT32, expected DATE or TIMESTAMP");
    CHECK_ERR(mr_events_read("/nonexistent/e.parquet", 0, &ev), "/nonexistent/e.parquet");
    free(path);
}

TEST(items_and_users_read)
{
    char *path = mr_path_join(mr_test_tmpdir(), "items.parquet");
    mr_pq_field f[] = {
        {"track_id", MR_PQ_W_I64, 0, 0, 0},       {"item_idx", MR_PQ_W_I32, 0, 0, 0},
        {"track_group_id", MR_PQ_W_I32, 0, 0, 0}, {"track_name", MR_PQ_W_STRING, 0, 0, 0},
        {"artist_ids", MR_PQ_W_I64, 0, 0, 1},     {"album_ids", MR_PQ_W_I64, 0, 0, 1},
        {"genre_ids", MR_PQ_W_I64, 0, 0, 1},      {"artist_names", MR_PQ_W_STRING, 0, 0, 1},
        {"genre_names", MR_PQ_W_STRING, 0, 0, 1}, {"flags", MR_PQ_W_I32, 0, 0, 0},
    };
    int64_t tid[] = {5, 9}, name_off[] = {0, 3, 8}, art_off[] = {0, 2, 2}, arts[] = {7, 8}, alb_off[] = {0, 1, 2},
            albs[] = {70, 71}, gen_off[] = {0, 0, 1}, gens[] = {3}, an_off[] = {0, 1, 3}, gn_off[] = {0, 3};
    int32_t idx[] = {0, 1}, grp[] = {0, 0}, flags[] = {2, 1};
    mr_pq_col c[10];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 10; i++) c[i].n_rows = c[i].n_slots = 2;
    c[0].values = tid;
    c[1].values = idx;
    c[2].values = grp;
    c[3].offsets = name_off, c[3].bytes = (uint8_t *)"OneSong2";
    c[4].values = arts, c[4].list_offsets = art_off;
    c[5].values = albs, c[5].list_offsets = alb_off;
    c[6].values = gens, c[6].list_offsets = gen_off, c[6].n_slots = 1;
    c[7].offsets = an_off, c[7].bytes = (uint8_t *)"ABB", c[7].list_offsets = art_off;
    c[8].offsets = gn_off, c[8].bytes = (uint8_t *)"pop", c[8].list_offsets = gen_off, c[8].n_slots = 1;
    c[9].values = flags;
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 10, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_items it;
    REQUIRE_OK(mr_items_read(path, &it));
    CHECK_INT(it.n, 2);
    CHECK_INT(it.track_id[1], 9);
    CHECK_INT(it.name_off[1], 3);
    CHECK(memcmp(it.name_bytes + it.name_off[1], "Song2", 5) == 0);
    CHECK_INT(it.artist_off[1], 2);
    CHECK_INT(it.artist_off[2], 2);
    CHECK_INT(it.artist_ids[1], 8);
    CHECK(memcmp(it.artist_name_bytes + it.artist_name_off[1], "BB", 2) == 0);
    CHECK_INT(it.genre_off[1], 0);
    CHECK_INT(it.genre_ids[0], 3);
    CHECK(memcmp(it.genre_name_bytes + it.genre_name_off[0], "pop", 3) == 0);
    CHECK_INT(it.album_ids[1], 71);
    CHECK_INT(it.flags[0], 2);
    mr_items_free(&it);
    /* items out of item_idx order break the contract */
    idx[0] = 1, idx[1] = 0;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 10, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_items_read(path, &it), "item_idx order");

    char *up = mr_path_join(mr_test_tmpdir(), "users.parquet");
    mr_pq_field uf[] = {{"user_id", MR_PQ_W_I32, 0, 0, 0}, {"user_idx", MR_PQ_W_I32, 0, 0, 0},
                        {"n_events", MR_PQ_W_I32, 0, 0, 0}, {"first_day", MR_PQ_W_DATE, 0, 0, 0},
                        {"last_day", MR_PQ_W_DATE, 0, 0, 0}};
    int32_t uid[] = {4, 8}, uidx[] = {0, 1}, ne[] = {3, 1}, fd[] = {100, 200}, ld[] = {150, 200};
    void *uv[] = {uid, uidx, ne, fd, ld};
    mr_pq_col ucol[5];
    memset(ucol, 0, sizeof ucol);
    for (int i = 0; i < 5; i++) ucol[i].n_rows = ucol[i].n_slots = 2, ucol[i].values = uv[i];
    REQUIRE_OK(mr_pq_writer_open(&w, up, uf, 5, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, ucol));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_users u;
    REQUIRE_OK(mr_users_read(up, &u));
    CHECK_INT(u.n, 2);
    CHECK_INT(u.user_id[1], 8);
    CHECK_INT(u.n_events[0], 3);
    CHECK_INT(u.first_day[1], 200);
    CHECK_INT(u.last_day[0], 150);
    mr_users_free(&u);
    REQUIRE_OK(mr_pq_writer_open(&w, up, uf, 4, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, ucol));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_users_read(up, &u), "last_day");
    free(up);
    free(path);
}

TEST(split_matrix_hand_computed)
{
    /* user 0: items 3 (day 10), 1 (day 12), 3 again (day 14);
     * user 2: item 0 (day 14); user 1: nothing; a test-side event on day 20 */
    int32_t u[] = {0, 0, 0, 2, 0}, it[] = {3, 1, 3, 0, 2}, day[] = {10, 12, 14, 14, 20};
    int16_t seq[] = {1, 2, 3, 1, 4};
    mr_events ev = {5, u, it, day, seq, NULL, NULL};
    mr_csr m;
    REQUIRE_OK(mr_split_matrix(&ev, 3, 4, 0, 20, MR_VALUE_ONE, 0, &m));
    CHECK_INT(m.nnz, 3);
    int64_t want_ptr[] = {0, 2, 2, 3};
    int32_t want_idx[] = {1, 3, 0};
    CHECK(memcmp(m.indptr, want_ptr, sizeof want_ptr) == 0);
    CHECK(memcmp(m.indices, want_idx, sizeof want_idx) == 0);
    CHECK_NEAR(m.data[1], 1.0, 0);
    mr_csr_free(&m);
    REQUIRE_OK(mr_split_matrix(&ev, 3, 4, 0, 20, MR_VALUE_COUNT, 0, &m));
    CHECK_NEAR(m.data[1], 2.0, 0);
    CHECK_NEAR(m.data[0], 1.0, 0);
    mr_csr_free(&m);
    /* decay, half-life 2 days, reference = last day of the part (14):
     * (0,3): 2^-2 + 2^0 = 1.25; (0,1): 2^-1; (2,0): 1 */
    REQUIRE_OK(mr_split_matrix(&ev, 3, 4, 0, 20, MR_VALUE_DECAY, 2, &m));
    CHECK_NEAR(m.data[0], 0.5, 1e-6);
    CHECK_NEAR(m.data[1], 1.25, 1e-6);
    CHECK_NEAR(m.data[2], 1.0, 1e-6);
    mr_csr_free(&m);
    /* the test side, and events not in user order (serial fill path) */
    int32_t u2[] = {2, 0, 2}, it2[] = {1, 0, 0}, d2[] = {30, 31, 32};
    int16_t s2[] = {1, 1, 2};
    mr_events ev2 = {3, u2, it2, d2, s2, NULL, NULL};
    REQUIRE_OK(mr_split_matrix(&ev2, 3, 2, 31, INT32_MAX, MR_VALUE_ONE, 0, &m));
    int64_t p2[] = {0, 1, 1, 2};
    int32_t i2[] = {0, 0};
    CHECK(memcmp(m.indptr, p2, sizeof p2) == 0);
    CHECK(memcmp(m.indices, i2, sizeof i2) == 0);
    mr_csr_free(&m);
    /* codes outside the shape */
    CHECK_ERR(mr_split_matrix(&ev2, 2, 2, 0, 100, MR_VALUE_ONE, 0, &m), "outside");
    /* quantile day: days 10 12 14 14 20; q = 0.5 -> floor(0.5 * 4) = 2nd -> 14 */
    CHECK_INT(mr_split_quantile_day(&ev, 0.5), 14);
    CHECK_INT(mr_split_quantile_day(&ev, 0.25), 12);
    CHECK_INT(mr_split_quantile_day(&ev, 0.99), 14);
}
