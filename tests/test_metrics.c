/* Unit tests for src/eval/metrics: every metric on hand-computed cases.
 *
 * Discounts used below, 1/log2(i+1): position 1 -> 1, 2 -> 0.6309297535714575
 * (= log_3 2), 3 -> 0.5, 4 -> 0.43067655807339306 (= log_5 2).
 */
#include <omp.h>
#include <stdlib.h>

#include "base/err.h"
#include "eval/metrics.h"
#include "mr_test.h"

#define D2 0.6309297535714575
#define D4 0.43067655807339306
#define TOL 1e-15

/* Builds an input from per-user arrays given as (count, items...) runs. */
typedef struct {
    int32_t rel[256], rec[256];
    int64_t rel_off[33], rec_off[33];
    int n;
} cases;

static void add_user(cases *c, int nr, const int32_t *r, int nl, const int32_t *l)
{
    if (c->n == 0) c->rel_off[0] = c->rec_off[0] = 0;
    if (nr) memcpy(c->rel + c->rel_off[c->n], r, (size_t)nr * sizeof *r);
    if (nl) memcpy(c->rec + c->rec_off[c->n], l, (size_t)nl * sizeof *l);
    c->rel_off[c->n + 1] = c->rel_off[c->n] + nr;
    c->rec_off[c->n + 1] = c->rec_off[c->n] + nl;
    c->n++;
}

static mr_metrics_input input_of(const cases *c, int32_t n_items)
{
    mr_metrics_input in = {.n_users = c->n, .n_items = n_items};
    in.rel = (mr_lists){.items = c->rel, .beg = c->rel_off};
    in.rec = (mr_lists){.items = c->rec, .beg = c->rec_off};
    return in;
}

/* A macro, so that a failure names the line of the case. */
#define check_metrics(m, p, r, hit, mrr_, map_, ndcg_, what)                                  \
    do {                                                                                     \
        CHECK_NEAR((m)->precision, (p), TOL);                                                \
        CHECK_NEAR((m)->recall, (r), TOL);                                                   \
        CHECK_NEAR((m)->hit_rate, (hit), TOL);                                               \
        CHECK_NEAR((m)->mrr, (mrr_), TOL);                                                   \
        CHECK_NEAR((m)->map, (map_), TOL);                                                   \
        CHECK_NEAR((m)->ndcg, (ndcg_), TOL);                                                 \
    } while (0)

/* R = {1,3,5}, L = [3,7,1,9,2]: hits at ranks 1 and 3. K = 10 is past the
 * end of the list (scored on what there is) and |R| < K from K = 5 on. */
TEST(metrics_hits_at_1_and_3)
{
    cases c = {0};
    add_user(&c, 3, (int32_t[]){1, 3, 5}, 5, (int32_t[]){3, 7, 1, 9, 2});
    mr_metrics_input in = input_of(&c, 10);
    mr_metrics m[4];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){1, 3, 5, 10}, 4, m));
    double ndcg3 = (1 + 0.5) / (1 + D2 + 0.5);
    /* K=1: 1 hit; MAP = P@1 = 1 */
    check_metrics(&m[0], 1.0, 1.0 / 3, 1, 1, 1.0, 1.0, "K=1");
    /* K=3: MAP = (1/3)(P@1 + P@3) = (1/3)(1 + 2/3) = 5/9 */
    check_metrics(&m[1], 2.0 / 3, 2.0 / 3, 1, 1, 5.0 / 9, ndcg3, "K=3");
    check_metrics(&m[2], 2.0 / 5, 2.0 / 3, 1, 1, 5.0 / 9, ndcg3, "K=5");
    /* K=10: precision still divides by K; MAP by min(10,3) = 3 */
    check_metrics(&m[3], 2.0 / 10, 2.0 / 3, 1, 1, 5.0 / 9, ndcg3, "K=10");
    CHECK_INT(m[0].k, 1);
    CHECK_INT(m[3].k, 10);
    CHECK_INT(m[0].users, 1);
    CHECK_INT(m[2].slots, 5);
    CHECK_INT(m[3].slots, 5);
}

TEST(metrics_no_hit)
{
    cases c = {0};
    add_user(&c, 1, (int32_t[]){2}, 3, (int32_t[]){0, 1, 3});
    mr_metrics_input in = input_of(&c, 4);
    mr_metrics m[2];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){1, 5}, 2, m));
    check_metrics(&m[0], 0, 0, 0, 0, 0, 0, "K=1");
    check_metrics(&m[1], 0, 0, 0, 0, 0, 0, "K=5");
    CHECK_INT(m[1].slots, 3);
}

/* The only hit is at rank K = 3; at K = 2 nothing is hit yet. */
TEST(metrics_hit_at_position_k)
{
    cases c = {0};
    add_user(&c, 2, (int32_t[]){4, 8}, 3, (int32_t[]){1, 2, 4});
    mr_metrics_input in = input_of(&c, 10);
    mr_metrics m[2];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){3, 2}, 2, m)); /* K's in any order */
    CHECK_INT(m[0].k, 3);
    CHECK_INT(m[1].k, 2);
    /* K=3: MAP = (1/min(3,2)) · P@3 = (1/2)(1/3); NDCG = 0.5 / (1 + D2) */
    check_metrics(&m[0], 1.0 / 3, 1.0 / 2, 1, 1.0 / 3, 1.0 / 6, 0.5 / (1 + D2), "K=3");
    check_metrics(&m[1], 0, 0, 0, 0, 0, 0, "K=2");
}

TEST(metrics_single_relevant_item)
{
    cases c = {0};
    add_user(&c, 1, (int32_t[]){7}, 1, (int32_t[]){7});
    add_user(&c, 1, (int32_t[]){7}, 4, (int32_t[]){1, 2, 3, 7});
    mr_metrics_input in = input_of(&c, 8);
    mr_metrics m[1];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){5}, 1, m));
    /* user 1: P=1/5, R=1, MRR=1, MAP=1, NDCG=1;
     * user 2: P=1/5, R=1, MRR=1/4, MAP=(1/1)(P@4=1/4), NDCG=D4/1 */
    check_metrics(&m[0], 1.0 / 5, 1, 1, (1 + 0.25) / 2, (1 + 0.25) / 2, (1 + D4) / 2, "K=5");
}

/* |R_u| < K and every relevant item found: recall, MAP and NDCG are 1. */
TEST(metrics_fewer_relevant_than_k)
{
    cases c = {0};
    add_user(&c, 2, (int32_t[]){1, 2}, 4, (int32_t[]){1, 2, 3, 4});
    mr_metrics_input in = input_of(&c, 5);
    mr_metrics m[1];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){4}, 1, m));
    check_metrics(&m[0], 0.5, 1, 1, 1, 1, 1, "K=4");
}

TEST(metrics_empty_list)
{
    cases c = {0};
    add_user(&c, 1, (int32_t[]){1}, 0, (int32_t[]){0});
    mr_metrics_input in = input_of(&c, 3);
    int64_t listeners[3] = {1, 1, 1};
    in.listeners = listeners;
    in.train_users = 4;
    mr_metrics m[1];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){10}, 1, m));
    check_metrics(&m[0], 0, 0, 0, 0, 0, 0, "K=10");
    CHECK_INT(m[0].slots, 0);
    CHECK_NEAR(m[0].novelty, 0, 0);
    CHECK_NEAR(m[0].coverage, 0, 0);
}

/* Means over users, coverage and novelty over two users' lists. */
TEST(metrics_mean_coverage_novelty)
{
    cases c = {0};
    add_user(&c, 3, (int32_t[]){1, 3, 5}, 5, (int32_t[]){3, 7, 1, 9, 2});
    add_user(&c, 1, (int32_t[]){2}, 3, (int32_t[]){0, 1, 3});
    mr_metrics_input in = input_of(&c, 10);
    /* train users 8; self-information -log2(l/8): item 0 has no listeners
     * (counts as one) -> 3; item 3: 4 -> 1; item 7: 2 -> 2; item 1: 8 -> 0 */
    int64_t listeners[10] = {0, 8, 1, 4, 1, 1, 1, 2, 1, 1};
    in.listeners = listeners;
    in.train_users = 8;
    mr_metrics m[3];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){1, 2, 3}, 3, m));
    /* K=1: user 1 hit (P 1, R 1/3), user 2 miss */
    check_metrics(&m[0], 0.5, 1.0 / 6, 0.5, 0.5, 0.5, 0.5, "K=1");
    /* K=2: user 1: P 1/2, R 1/3, MAP (1/2)(1), NDCG 1/(1+D2) */
    check_metrics(&m[1], 0.25, 1.0 / 6, 0.5, 0.5, 0.25, 0.5 / (1 + D2), "K=2");
    /* coverage: K=1 {3,0}; K=2 {3,7,0,1}; K=3 {3,7,1,0} */
    CHECK_NEAR(m[0].coverage, 0.2, TOL);
    CHECK_NEAR(m[1].coverage, 0.4, TOL);
    CHECK_NEAR(m[2].coverage, 0.4, TOL);
    /* novelty: K=1 (1 + 3)/2; K=2 (1+2 + 3+0)/4; K=3 (1+2+0 + 3+0+1)/6 */
    CHECK_NEAR(m[0].novelty, 2.0, TOL);
    CHECK_NEAR(m[1].novelty, 1.5, TOL);
    CHECK_NEAR(m[2].novelty, 7.0 / 6, TOL);
    CHECK_INT(m[2].slots, 6);
}

/* beg/end pairs pointing into a shared array, in any order. */
TEST(metrics_begin_end_lists)
{
    int32_t rel[] = {9, 9, 1, 2};
    int32_t rec[] = {2, 5, 1};
    int64_t rb[] = {2}, re[] = {4}, lb[] = {0}, le[] = {3};
    mr_metrics_input in = {.n_users = 1, .n_items = 10};
    in.rel = (mr_lists){rel, rb, re};
    in.rec = (mr_lists){rec, lb, le};
    mr_metrics m[1];
    REQUIRE_OK(mr_metrics_compute(&in, (int32_t[]){3}, 1, m));
    /* hits at 1 and 3: MAP = (1/2)(1 + 2/3), NDCG = (1 + 0.5)/(1 + D2) */
    check_metrics(&m[0], 2.0 / 3, 1, 1, 1, 5.0 / 6, 1.5 / (1 + D2), "K=3");
}

TEST(metrics_bad_input)
{
    mr_metrics m[2];
    cases c = {0};
    add_user(&c, 1, (int32_t[]){1}, 2, (int32_t[]){4, 5});
    add_user(&c, 1, (int32_t[]){1}, 3, (int32_t[]){1, 2, 1});
    mr_metrics_input in = input_of(&c, 10);
    int32_t ids[2] = {1001, 1002};
    in.user_label = ids;
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "user 1002: item 1 appears twice");
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "ranks 1 and 3");
    c.rec[4] = 3;
    CHECK_OK(mr_metrics_compute(&in, (int32_t[]){5}, 1, m));
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){0}, 1, m), "K must be between 1");
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5, 5}, 2, m), "K = 5 is given twice");
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 0, m), "no K");
    c.rec[1] = 10;
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "user 1001: recommended item 10 (rank 2)");
    c.rec[1] = 5;
    c.rel[0] = -1;
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "user 1001: test item -1");
    c.rel[0] = 1;
    cases d = {0};
    add_user(&d, 2, (int32_t[]){3, 2}, 0, NULL);
    in = input_of(&d, 10);
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "not sorted and distinct");
    cases e = {0};
    add_user(&e, 0, NULL, 1, (int32_t[]){1});
    in = input_of(&e, 10);
    CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "user 0 has no relevant");
}

/* The first bad user is reported whatever the thread count. */
TEST(metrics_first_error_wins)
{
    int n = 5000;
    int64_t *off = calloc((size_t)n + 1, sizeof *off);
    int32_t *rel = calloc((size_t)n, sizeof *rel), *rec = calloc((size_t)n * 2, sizeof *rec);
    int64_t *roff = calloc((size_t)n + 1, sizeof *roff);
    REQUIRE(off && rel && rec && roff);
    for (int u = 0; u < n; u++) {
        off[u + 1] = u + 1;
        roff[u + 1] = 2 * (u + 1);
        rel[u] = u % 50;
        rec[2 * u] = u % 7;
        rec[2 * u + 1] = (u == 3100 || u == 4900) ? u % 7 : 49;
    }
    mr_metrics_input in = {.n_users = n, .n_items = 50};
    in.rel = (mr_lists){rel, off, NULL};
    in.rec = (mr_lists){rec, roff, NULL};
    mr_metrics m[1];
    for (int t = 1; t <= 4; t++) {
        omp_set_num_threads(t);
        CHECK_ERR(mr_metrics_compute(&in, (int32_t[]){5}, 1, m), "user 3100:");
    }
    omp_set_num_threads(omp_get_num_procs());
    free(off), free(rel), free(rec), free(roff);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Identical bits at 1, 2, 3 and 8 threads on a random case. */
TEST(metrics_deterministic_across_threads)
{
    int n = 20000, n_items = 3000, per = 60;
    int64_t *roff = malloc(((size_t)n + 1) * sizeof *roff), *loff = malloc(((size_t)n + 1) * sizeof *loff);
    int32_t *rel = malloc((size_t)n * 20 * sizeof *rel), *rec = malloc((size_t)n * per * sizeof *rec);
    int64_t *listeners = malloc((size_t)n_items * sizeof *listeners);
    uint8_t *mark = calloc((size_t)n_items, 1);
    REQUIRE(roff && loff && rel && rec && listeners && mark);
    uint64_t s = 88172645463325252ull;
    roff[0] = loff[0] = 0;
    for (int i = 0; i < n_items; i++) listeners[i] = (int64_t)(rng(&s) % 500);
    for (int u = 0; u < n; u++) {
        int nr = 1 + (int)(rng(&s) % 20), nl = (int)(rng(&s) % (per + 1));
        int64_t r0 = roff[u], l0 = loff[u];
        memset(mark, 0, (size_t)n_items);
        int got = 0;
        for (int x = 0; x < n_items && got < nr; x++)
            if (rng(&s) % 15 == 0) mark[x] = 1, rel[r0 + got++] = x;
        if (!got) mark[0] = 1, rel[r0 + got++] = 0;
        roff[u + 1] = r0 + got;
        int gl = 0;
        while (gl < nl) {
            int32_t x = (int32_t)(rng(&s) % 400); /* popular-ish items, many hits */
            if (mark[x] == 2) continue;
            mark[x] = 2;
            rec[l0 + gl++] = x;
        }
        loff[u + 1] = l0 + gl;
    }
    mr_metrics_input in = {.n_users = n, .n_items = n_items, .listeners = listeners, .train_users = 600};
    in.rel = (mr_lists){rel, roff, NULL};
    in.rec = (mr_lists){rec, loff, NULL};
    int32_t ks[] = {100, 1, 5, 10, 50};
    mr_metrics ref[5], m[5];
    omp_set_num_threads(1);
    REQUIRE_OK(mr_metrics_compute(&in, ks, 5, ref));
    CHECK(ref[0].hit_rate > 0.1 && ref[0].hit_rate < 0.9); /* a case with hits and misses */
    int threads[] = {2, 3, 8};
    for (int t = 0; t < 3; t++) {
        omp_set_num_threads(threads[t]);
        REQUIRE_OK(mr_metrics_compute(&in, ks, 5, m));
        for (int j = 0; j < 5; j++) {
            CHECK(m[j].k == ref[j].k && m[j].users == ref[j].users && m[j].slots == ref[j].slots);
            double a[8] = {m[j].precision, m[j].recall, m[j].map, m[j].ndcg, m[j].hit_rate, m[j].mrr, m[j].coverage, m[j].novelty};
            double b[8] = {ref[j].precision, ref[j].recall, ref[j].map, ref[j].ndcg, ref[j].hit_rate, ref[j].mrr, ref[j].coverage, ref[j].novelty};
            CHECK(memcmp(a, b, sizeof a) == 0);
        }
    }
    omp_set_num_threads(omp_get_num_procs());
    free(roff), free(loff), free(rel), free(rec), free(listeners), free(mark);
}

TEST(metrics_parse_k)
{
    int32_t *ks;
    int n;
    REQUIRE_OK(mr_metrics_parse_k("5,10,50,100", &ks, &n));
    CHECK_INT(n, 4);
    CHECK_INT(ks[0], 5);
    CHECK_INT(ks[3], 100);
    free(ks);
    REQUIRE_OK(mr_metrics_parse_k("10, 5,5", &ks, &n));
    CHECK_INT(n, 2);
    CHECK_INT(ks[0], 5);
    CHECK_INT(ks[1], 10);
    free(ks);
    CHECK_ERR(mr_metrics_parse_k("0,5", &ks, &n), "K must be between 1 and 100000, got 0");
    CHECK_ERR(mr_metrics_parse_k("5,x", &ks, &n), "bad K list '5,x'");
    CHECK_ERR(mr_metrics_parse_k("5,", &ks, &n), "bad K list");
    CHECK_ERR(mr_metrics_parse_k("", &ks, &n), "empty");
    CHECK_ERR(mr_metrics_parse_k("-3", &ks, &n), "got -3");
}
