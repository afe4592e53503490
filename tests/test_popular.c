/* Unit tests for src/models/popular: counting, ties, recency weights. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "models/popular.h"
#include "parquet/parquet.h"
#include "mr_test.h"

/* Distinct listeners; equal counts are ordered by track_id, not item_idx. */
TEST(popular_ties_by_track_id)
{
    int64_t track_id[5] = {50, 10, 40, 30, 20};
    /* user 0: items 0, 1; user 1: 1, 0, 2; user 2: item 3 twice (counts
     * once); user 3: item 4 */
    int32_t user[] = {0, 0, 1, 1, 1, 2, 2, 3};
    int32_t item[] = {0, 1, 1, 0, 2, 3, 3, 4};
    int32_t day[] = {1, 1, 1, 1, 1, 1, 2, 1};
    mr_popularity p;
    REQUIRE_OK(mr_popular_fit(user, item, day, 8, 5, track_id, 0, &p));
    /* listeners: item0 2, item1 2, item2 1, item3 1, item4 1 */
    int32_t want[5] = {1, 0, 4, 3, 2}; /* tracks 10, 50 (2 each); 20, 30, 40 (1 each) */
    for (int i = 0; i < 5; i++) CHECK_INT(p.order[i], want[i]);
    CHECK_NEAR(p.listeners[0], 2, 0);
    CHECK_NEAR(p.listeners[3], 1, 0);
    CHECK_INT(p.train_users, 4);
    CHECK_NEAR(p.half_life, 0, 0);
    mr_popular_free(&p);
}

/* half-life 7 days, last train day 100: weights 2^(-age/7). */
TEST(popular_half_life_weights)
{
    int64_t track_id[4] = {1, 2, 3, 4};
    /* user 0: item 0 on day 100 (w 1)
     * user 1: item 0 on day 93 (w 1/2), item 3 on day 96 (w 2^(-4/7))
     * user 2: item 1 on day 86 (w 1/4), again on day 100 (already counted)
     * user 3: item 1 on day 93 (w 1/2), item 2 on day 79 (w 1/8), item 3 on day 100 */
    int32_t user[] = {0, 1, 1, 2, 2, 3, 3, 3};
    int32_t item[] = {0, 0, 3, 1, 1, 2, 1, 3};
    int32_t day[] = {100, 93, 96, 86, 100, 79, 93, 100};
    mr_popularity p;
    REQUIRE_OK(mr_popular_fit(user, item, day, 8, 4, track_id, 7.0, &p));
    CHECK_NEAR(p.listeners[0], 1.5, 1e-9);
    CHECK_NEAR(p.listeners[1], 0.75, 1e-9);
    CHECK_NEAR(p.listeners[2], 0.125, 1e-9);
    CHECK_NEAR(p.listeners[3], 1.6729500963161781, 1e-9); /* 2^(-4/7) + 1 */
    CHECK_INT(p.ref_day, 100);
    int32_t want[4] = {3, 0, 1, 2};
    for (int i = 0; i < 4; i++) CHECK_INT(p.order[i], want[i]);
    mr_popular_free(&p);
    /* without weights item 1 (2 listeners) ties item 0 and item 3 */
    REQUIRE_OK(mr_popular_fit(user, item, day, 8, 4, track_id, 0, &p));
    int32_t want0[4] = {0, 1, 3, 2};
    for (int i = 0; i < 4; i++) CHECK_INT(p.order[i], want0[i]);
    mr_popular_free(&p);
}

TEST(popular_same_at_any_thread_count)
{
    int64_t n = 200000;
    int32_t n_items = 5000;
    int32_t *user = malloc((size_t)n * sizeof *user), *item = malloc((size_t)n * sizeof *item);
    int32_t *day = malloc((size_t)n * sizeof *day);
    int64_t *tid = malloc((size_t)n_items * sizeof *tid);
    REQUIRE(user && item && day && tid);
    uint64_t s = 12345;
    for (int32_t i = 0; i < n_items; i++) tid[i] = 1000 + i;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        user[i] = (int32_t)(i / 37);
        item[i] = (int32_t)((s >> 33) % 64 * (s >> 40) % 64 % (uint64_t)n_items); /* skewed */
        day[i] = 18993 + (int32_t)((s >> 20) % 365);
    }
    for (int w = 0; w < 2; w++) {
        mr_popularity ref, p;
        omp_set_num_threads(1);
        REQUIRE_OK(mr_popular_fit(user, item, day, n, n_items, tid, w ? 30.0 : 0, &ref));
        for (int t = 2; t <= 5; t += 3) {
            omp_set_num_threads(t);
            REQUIRE_OK(mr_popular_fit(user, item, day, n, n_items, tid, w ? 30.0 : 0, &p));
            CHECK(memcmp(ref.order, p.order, (size_t)n_items * sizeof *p.order) == 0);
            CHECK(memcmp(ref.listeners, p.listeners, (size_t)n_items * sizeof *p.listeners) == 0);
            CHECK_INT(p.train_users, ref.train_users);
            mr_popular_free(&p);
        }
        mr_popular_free(&ref);
    }
    omp_set_num_threads(omp_get_num_procs());
    free(user), free(item), free(day), free(tid);
}

TEST(popular_bad_input)
{
    int64_t tid[3] = {1, 2, 3};
    int32_t user[] = {0, 2, 1}, item[] = {0, 1, 2}, day[] = {5, 5, 5};
    mr_popularity p;
    CHECK_ERR(mr_popular_fit(user, item, day, 3, 3, tid, 0, &p), "row 2 has user 1 after user 2");
    user[2] = 3;
    item[1] = 3;
    CHECK_ERR(mr_popular_fit(user, item, day, 3, 3, tid, 0, &p), "train event 1 has item_idx 3");
    CHECK_ERR(mr_popular_fit(user, item, day, 0, 3, tid, 0, &p), "no train events");
}

TEST(popular_recommend_skips_history)
{
    int32_t order[] = {5, 3, 9, 1, 7};
    int32_t hist[] = {3, 7};
    int32_t out[10];
    CHECK_INT(mr_popular_recommend(order, 5, hist, 2, 3, out), 3);
    CHECK_INT(out[0], 5);
    CHECK_INT(out[1], 9);
    CHECK_INT(out[2], 1);
    CHECK_INT(mr_popular_recommend(order, 5, hist, 2, 10, out), 3); /* the ranking runs out */
    CHECK_INT(mr_popular_recommend(order, 5, NULL, 0, 2, out), 2);
    CHECK_INT(out[1], 3);
}

/* The events reader: INT64 codes narrowed, TIMESTAMP(ns) to days (rounded
 * down, also before 1970), several row groups, nulls and a missing column
 * are errors naming the file and column. */
TEST(popular_event_cols_read)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ev.parquet", mr_test_tmpdir());
    int32_t user[5] = {0, 0, 1, 2, 2};
    int64_t item[5] = {4, 3, 3, 0, 1};
    int64_t day_ns = 86400LL * 1000000000LL;
    int64_t ts[5] = {19000 * day_ns, 19000 * day_ns + day_ns - 1, 19001 * day_ns + 5, -1, -day_ns};
    int32_t uid[5] = {10, 10, 11, 12, 12};
    mr_pq_field f[4] = {{.name = "user_id", .type = MR_PQ_W_I32},
                        {.name = "user_idx", .type = MR_PQ_W_I32},
                        {.name = "item_idx", .type = MR_PQ_W_I64},
                        {.name = "started_at", .type = MR_PQ_W_TS_NS}};
    mr_pq_col c[4] = {{.n_rows = 5, .n_slots = 5, .values = uid},
                      {.n_rows = 5, .n_slots = 5, .values = user},
                      {.n_rows = 5, .n_slots = 5, .values = item},
                      {.n_rows = 5, .n_slots = 5, .values = ts}};
    mr_pq_write_opts o = {.codec = MR_PQ_SNAPPY, .row_group_rows = 2, .dictionary = 1};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, &o));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_event_cols ev;
    REQUIRE_OK(mr_event_cols_read(path, 1, 1, &ev));
    CHECK_INT(ev.n, 5);
    int32_t want_day[5] = {19000, 19000, 19001, -1, -1};
    for (int i = 0; i < 5; i++) {
        CHECK_INT(ev.user_idx[i], user[i]);
        CHECK_INT(ev.item_idx[i], item[i]);
        CHECK_INT(ev.day[i], want_day[i]);
        CHECK_INT(ev.user_id[i], uid[i]);
    }
    mr_event_cols_free(&ev);
    REQUIRE_OK(mr_event_cols_read(path, 0, 0, &ev));
    CHECK(ev.day == NULL && ev.user_id == NULL);
    mr_event_cols_free(&ev);

    /* a null item and an item_idx beyond int32 */
    uint8_t valid[5] = {1, 1, 1, 0, 1};
    f[2].nullable = 1;
    c[2].valid = valid;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, &o));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_event_cols_read(path, 0, 0, &ev), "column 'item_idx' has a null");
    c[2].valid = NULL;
    f[2].nullable = 0;
    item[4] = 1LL << 40;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, &o));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_event_cols_read(path, 0, 0, &ev), "outside int32");
    /* no item_idx column at all */
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 2, &o));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    CHECK_ERR(mr_event_cols_read(path, 0, 0, &ev), "item_idx");
}
