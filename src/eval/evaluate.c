/* The evaluation step (what it evaluates and writes: evaluate.h).
 *
 * The data are loaded once for all models: train and test events become
 * per-user item rows (a counting sort by user, then each row sorted), train
 * rows give the history that popularity removes and the listeners that
 * novelty needs, test rows (deduplicated) are R_u. Each model then only
 * supplies, for the evaluated users, where their lists are: the metrics take
 * begin/end offsets, so recommendation files are scored where they lie in
 * memory and the popularity lists of the cold users all point at one list.
 * Peak memory is about the train events as read plus one copy of their
 * item column.
 */
#include "eval/evaluate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/vec.h"
#include "data/recs.h"
#include "models/popular.h"
#include "parquet/parquet.h"

#define TEST_FILE "data/preprocessed/test_events.parquet"
#define TRAIN_FILE "data/preprocessed/train_events.parquet"
#define ITEMS_FILE "data/preprocessed/items.parquet"
#define POP_ALL_FILE "results/popularity_track_scores.parquet"
#define POP_TOP_FILE "results/top_popular.parquet"
#define MAX_MODELS 8

typedef struct {
    int32_t n_users, n_items;
    int64_t *tr_off;          /* n_users + 1; rows sorted */
    int32_t *tr_items;
    int64_t *te_beg, *te_end; /* n_users; rows sorted and distinct */
    int32_t *te_items;
    int32_t *raw_uid;         /* n_users; -1 for users absent from test */
    int64_t *listeners;       /* n_items */
    int64_t train_users, n_train_events, n_test_events;
    int32_t *warm, *cold;     /* evaluated warm users (ascending), all cold test users */
    int64_t n_warm_all, n_warm, n_cold;
    uint64_t test_hash;
} eval_data;

static void data_free(eval_data *d)
{
    free(d->tr_off), free(d->tr_items), free(d->te_beg), free(d->te_end), free(d->te_items);
    free(d->raw_uid), free(d->listeners), free(d->warm), free(d->cold);
    memset(d, 0, sizeof *d);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts a user's row of item codes: quicksort with a median-of-three pivot
 * and insertion sort for short runs, inlined on int32 (about twice as fast
 * as qsort's comparator calls on rows of ~150 items). */
static void sort_i32(int32_t *a, int64_t n)
{
    while (n > 16) {
        int32_t x = a[0], y = a[n / 2], z = a[n - 1];
        int32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i >= j) break;
            int32_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
        if (j + 1 < n - j - 1) { /* recurse into the smaller part, loop on the larger */
            sort_i32(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            sort_i32(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int64_t i = 1; i < n; i++) {
        int32_t v = a[i];
        int64_t j = i;
        for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Checks codes of an events file against the item count; max user code. */
static int check_events(const char *path, const mr_event_cols *ev, int32_t n_items, int32_t *max_user)
{
    int64_t bad = INT64_MAX;
    int32_t mu = -1;
#pragma omp parallel for reduction(min : bad) reduction(max : mu)
    for (int64_t i = 0; i < ev->n; i++) {
        if ((ev->user_idx[i] < 0 || ev->item_idx[i] < 0 || ev->item_idx[i] >= n_items) && i < bad) bad = i;
        if (ev->user_idx[i] > mu) mu = ev->user_idx[i];
    }
    if (bad != INT64_MAX)
        return mr_err(MR_EFORMAT, "%s: row %lld has user_idx %d, item_idx %d; items.parquet has %d items", path,
                      (long long)bad, ev->user_idx[bad], ev->item_idx[bad], n_items);
    *max_user = mu;
    return 0;
}

/* Groups the events' items by user (rows sorted): off[n_users + 1], items. */
static int rows_by_user(const mr_event_cols *ev, int32_t n_users, int64_t **off_out, int32_t **items_out)
{
    int64_t *off = mr_calloc((size_t)n_users + 2, sizeof *off);
    int32_t *items = mr_malloc((size_t)ev->n * sizeof *items + 1);
    if (!off || !items) {
        free(off), free(items);
        return MR_ENOMEM;
    }
    for (int64_t i = 0; i < ev->n; i++) off[ev->user_idx[i] + 2]++;
    for (int32_t u = 0; u < n_users; u++) off[u + 2] += off[u + 1];
    for (int64_t i = 0; i < ev->n; i++) items[off[ev->user_idx[i] + 1]++] = ev->item_idx[i];
#pragma omp parallel for schedule(dynamic, 1024)
    for (int32_t u = 0; u < n_users; u++)
        sort_i32(items + off[u], off[u + 1] - off[u]);
    *off_out = off;
    *items_out = items;
    return 0;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int load_data(const mr_eval_opts *o, eval_data *d)
{
    memset(d, 0, sizeof *d);
    char *test = mr_path_join(o->workdir, TEST_FILE), *train = mr_path_join(o->workdir, TRAIN_FILE),
         *items = mr_path_join(o->workdir, ITEMS_FILE);
    mr_event_cols te = {0}, tr = {0};
    mr_pq_reader *ir = NULL;
    int rc = test && train && items ? 0 : MR_ENOMEM;
    if (!rc && !mr_file_exists(test))
        rc = mr_err(MR_ENOTFOUND, "test events file %s does not exist; run `musrec split` first", test);
    if (!rc && !mr_file_exists(train))
        rc = mr_err(MR_ENOTFOUND, "train events file %s does not exist; run `musrec split` first", train);
    if (!rc && !mr_file_exists(items))
        rc = mr_err(MR_ENOTFOUND, "items file %s does not exist; run `musrec preprocess` first", items);
    if (!rc) rc = mr_pq_open(&ir, items);
    if (!rc) {
        int64_t n = mr_pq_num_rows(ir);
        if (n <= 0 || n > INT32_MAX) rc = mr_err(MR_EFORMAT, "%s has %lld items", items, (long long)n);
        d->n_items = (int32_t)n;
    }
    if (!rc && (rc = mr_event_cols_read(test, 0, 1, &te)) == 0 && te.n == 0)
        rc = mr_err(MR_EINVAL, "%s has no events: there is nothing to evaluate", test);
    int32_t mu_te = -1, mu_tr = -1;
    if (!rc) rc = check_events(test, &te, d->n_items, &mu_te);
    if (!rc) rc = mr_event_cols_read(train, 0, 0, &tr);
    if (!rc) rc = check_events(train, &tr, d->n_items, &mu_tr);
    if (rc) goto done;
    d->n_users = (mu_te > mu_tr ? mu_te : mu_tr) + 1;
    d->n_train_events = tr.n;
    d->n_test_events = te.n;

    /* train rows, listeners per item */
    if ((rc = rows_by_user(&tr, d->n_users, &d->tr_off, &d->tr_items))) goto done;
    mr_event_cols_free(&tr);
    d->listeners = mr_calloc((size_t)d->n_items, sizeof *d->listeners);
    if (!d->listeners) {
        rc = MR_ENOMEM;
        goto done;
    }
    int64_t train_users = 0;
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : train_users)
    for (int32_t u = 0; u < d->n_users; u++) {
        const int32_t *r = d->tr_items + d->tr_off[u];
        int64_t n = d->tr_off[u + 1] - d->tr_off[u];
        train_users += n > 0;
        for (int64_t i = 0; i < n; i++)
            if (i == 0 || r[i] != r[i - 1]) __atomic_fetch_add(&d->listeners[r[i]], 1, __ATOMIC_RELAXED);
    }
    d->train_users = train_users;

    /* test rows, deduplicated in place; raw ids; a fingerprint of the pairs */
    int64_t *te_off = NULL;
    if ((rc = rows_by_user(&te, d->n_users, &te_off, &d->te_items))) goto done;
    d->te_beg = mr_malloc((size_t)d->n_users * sizeof *d->te_beg + 1);
    d->te_end = mr_malloc((size_t)d->n_users * sizeof *d->te_end + 1);
    d->raw_uid = mr_malloc((size_t)d->n_users * sizeof *d->raw_uid + 1);
    if (!d->te_beg || !d->te_end || !d->raw_uid) {
        free(te_off);
        rc = MR_ENOMEM;
        goto done;
    }
    for (int32_t u = 0; u < d->n_users; u++) {
        int32_t *r = d->te_items + te_off[u];
        int64_t n = te_off[u + 1] - te_off[u], m = 0;
        for (int64_t i = 0; i < n; i++)
            if (m == 0 || r[i] != r[m - 1]) r[m++] = r[i];
        d->te_beg[u] = te_off[u];
        d->te_end[u] = te_off[u] + m;
        d->raw_uid[u] = -1;
    }
    free(te_off);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over (user_idx, item_idx) in file order */
    for (int64_t i = 0; i < te.n; i++) {
        d->raw_uid[te.user_idx[i]] = te.user_id ? te.user_id[i] : te.user_idx[i];
        uint32_t v[2] = {(uint32_t)te.user_idx[i], (uint32_t)te.item_idx[i]};
        const unsigned char *b = (const unsigned char *)v;
        for (int j = 0; j < 8; j++) h = (h ^ b[j]) * 0x100000001b3ull;
    }
    d->test_hash = h;
    mr_event_cols_free(&te);

    /* warm and cold test users, then the sample */
    int64_t nw = 0, nc = 0;
    for (int32_t u = 0; u < d->n_users; u++)
        if (d->te_end[u] > d->te_beg[u]) {
            if (d->tr_off[u + 1] > d->tr_off[u]) nw++;
            else nc++;
        }
    d->warm = mr_malloc((size_t)nw * sizeof *d->warm + 1);
    d->cold = mr_malloc((size_t)nc * sizeof *d->cold + 1);
    if (!d->warm || !d->cold) {
        rc = MR_ENOMEM;
        goto done;
    }
    nw = nc = 0;
    for (int32_t u = 0; u < d->n_users; u++)
        if (d->te_end[u] > d->te_beg[u]) {
            if (d->tr_off[u + 1] > d->tr_off[u]) d->warm[nw++] = u;
            else d->cold[nc++] = u;
        }
    d->n_warm_all = d->n_warm = nw;
    d->n_cold = nc;
    if (o->sample_users > 0 && o->sample_users < nw) {
        /* partial Fisher-Yates: the first N places get a uniform sample */
        uint64_t s = o->seed ^ 0x6576616c75617465ull; /* "evaluate" */
        for (int64_t i = 0; i < o->sample_users; i++) {
            int64_t j = i + (int64_t)(splitmix64(&s) % (uint64_t)(nw - i));
            int32_t t = d->warm[i];
            d->warm[i] = d->warm[j];
            d->warm[j] = t;
        }
        d->n_warm = o->sample_users;
        qsort(d->warm, (size_t)d->n_warm, sizeof *d->warm, cmp_i32);
    }
done:
    if (ir) mr_pq_close(ir);
    mr_event_cols_free(&te);
    mr_event_cols_free(&tr);
    free(test), free(train), free(items);
    if (rc) data_free(d);
    return rc;
}

/* ---- one model ---- */

typedef struct {
    char name[32];
    char source[256];       /* file the lists came from, relative to the workdir */
    int64_t users;          /* evaluated */
    int64_t without_recs;   /* evaluated users with no list */
    int64_t train_items;    /* recommended items already in the user's train history */
    double seconds;
    mr_metrics m[64];
    int has_cold;           /* popularity: the cold users' result */
    mr_metrics cold[64];
} model_result;

/* Scores the lists items[beg[i] .. end[i]) of users[i]. */
static int score(const eval_data *d, const mr_eval_opts *o, const int32_t *users, int64_t n, const int32_t *items,
                 const int64_t *beg, const int64_t *end, mr_metrics *out, int64_t *train_items)
{
    int64_t *rb = mr_malloc((size_t)n * sizeof *rb + 1), *re = mr_malloc((size_t)n * sizeof *re + 1);
    int32_t *label = mr_malloc((size_t)n * sizeof *label + 1);
    if (!rb || !re || !label) {
        free(rb), free(re), free(label);
        return MR_ENOMEM;
    }
    int64_t in_train = 0;
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : in_train)
    for (int64_t i = 0; i < n; i++) {
        int32_t u = users[i];
        rb[i] = d->te_beg[u];
        re[i] = d->te_end[u];
        label[i] = d->raw_uid[u];
        const int32_t *h = d->tr_items + d->tr_off[u];
        int64_t nh = d->tr_off[u + 1] - d->tr_off[u];
        for (int64_t j = beg[i]; j < end[i] && nh > 0; j++) in_train += mr_sorted_has_i32(h, nh, items[j]);
    }
    mr_metrics_input in = {.n_users = n, .n_items = d->n_items, .user_label = label,
                           .listeners = d->listeners, .train_users = d->train_users};
    in.rel = (mr_lists){d->te_items, rb, re};
    in.rec = (mr_lists){items, beg, end};
    int rc = mr_metrics_compute(&in, o->ks, o->n_k, out);
    if (train_items) *train_items = in_train;
    free(rb), free(re), free(label);
    return rc;
}

static int eval_popularity(const eval_data *d, const mr_eval_opts *o, const char *path, model_result *res)
{
    int32_t *order = NULL;
    int64_t n_order = 0;
    int rc = mr_popular_read_order(path, &order, &n_order);
    if (rc) return rc;
    for (int64_t i = 0; i < n_order; i++)
        if (order[i] >= d->n_items) {
            rc = mr_err(MR_EINVAL, "%s: rank %lld is item_idx %d, an unknown item (items.parquet has %d items)", path,
                        (long long)i + 1, order[i], d->n_items);
            free(order);
            return rc;
        }
    int64_t kmax = o->ks[o->n_k - 1], n = d->n_warm;
    int32_t *lists = mr_malloc((size_t)n * (size_t)kmax * sizeof *lists + 1);
    int64_t *beg = mr_malloc((size_t)(n + d->n_cold) * sizeof *beg + 1);
    int64_t *end = mr_malloc((size_t)(n + d->n_cold) * sizeof *end + 1);
    if (!lists || !beg || !end) {
        free(order), free(lists), free(beg), free(end);
        return MR_ENOMEM;
    }
    int64_t short_lists = 0;
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : short_lists)
    for (int64_t i = 0; i < n; i++) {
        int32_t u = d->warm[i];
        beg[i] = i * kmax;
        int64_t got = mr_popular_recommend(order, n_order, d->tr_items + d->tr_off[u], d->tr_off[u + 1] - d->tr_off[u],
                                           kmax, lists + beg[i]);
        end[i] = beg[i] + got;
        short_lists += got < kmax;
    }
    res->users = n;
    rc = score(d, o, d->warm, n, lists, beg, end, res->m, &res->train_items);
    if (!rc && short_lists && n_order < d->n_items)
        MR_LOG(MR_LOG_WARN, "popularity lists shorter than the largest K (the ranking file is too short)",
               MR_S("file", path), MR_I("users", short_lists), MR_I("k", kmax));
    if (!rc && d->n_cold > 0) {
        /* cold users have no history: everyone gets the head of the ranking */
        int64_t len = n_order < kmax ? n_order : kmax;
        for (int64_t i = 0; i < d->n_cold; i++) beg[i] = 0, end[i] = len;
        rc = score(d, o, d->cold, d->n_cold, order, beg, end, res->cold, NULL);
        res->has_cold = 1;
    }
    free(order), free(lists), free(beg), free(end);
    return rc;
}

static int eval_recs(const eval_data *d, const mr_eval_opts *o, const char *path, model_result *res)
{
    mr_recs r = {0};
    int rc = mr_recs_read(path, &r);
    if (rc) return rc;
    for (int64_t k = 0; k < r.n_users && !rc; k++)
        if (r.user_idx[k] < 0 || r.user_idx[k] >= d->n_users)
            rc = mr_err(MR_EINVAL, "%s has recommendations for user_idx %d, an unknown user (the data have %d users)",
                        path, r.user_idx[k], d->n_users);
    int64_t n_items_total = r.n_users > 0 ? r.off[r.n_users] : 0, bad = INT64_MAX;
#pragma omp parallel for reduction(min : bad)
    for (int64_t j = 0; j < n_items_total; j++)
        if ((r.item_idx[j] < 0 || r.item_idx[j] >= d->n_items) && j < bad) bad = j;
    if (!rc && bad != INT64_MAX)
        rc = mr_err(MR_EINVAL, "%s recommends item_idx %d, an unknown item (items.parquet has %d items)", path,
                    r.item_idx[bad], d->n_items);
    int64_t n = d->n_warm;
    int64_t *beg = rc ? NULL : mr_malloc((size_t)n * sizeof *beg + 1);
    int64_t *end = rc ? NULL : mr_malloc((size_t)n * sizeof *end + 1);
    if (!rc && (!beg || !end)) rc = MR_ENOMEM;
    if (!rc) {
        int64_t without = 0;
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : without)
        for (int64_t i = 0; i < n; i++) {
            int32_t u = d->warm[i];
            int64_t lo = mr_lower_bound_i32(r.user_idx, r.n_users, u);
            if (lo < r.n_users && r.user_idx[lo] == u) {
                beg[i] = r.off[lo];
                end[i] = r.off[lo + 1];
            } else {
                beg[i] = end[i] = 0;
                without++;
            }
        }
        res->users = n;
        res->without_recs = without;
        rc = score(d, o, d->warm, n, r.item_idx, beg, end, res->m, &res->train_items);
    }
    free(beg), free(end);
    mr_recs_free(&r);
    return rc;
}

/* ---- outputs ---- */

static void json_metrics(FILE *f, const mr_metrics *m, int n_k)
{
    char b[8][32];
    fputc('[', f);
    for (int j = 0; j < n_k; j++)
        fprintf(f,
                "%s\n    {\"k\": %d, \"precision\": %s, \"recall\": %s, \"map\": %s, \"ndcg\": %s, "
                "\"hit_rate\": %s, \"mrr\": %s, \"coverage\": %s, \"novelty\": %s, \"recommended\": %" PRId64 "}",
                j ? "," : "", m[j].k, mr_json_num(b[0], m[j].precision), mr_json_num(b[1], m[j].recall),
                mr_json_num(b[2], m[j].map), mr_json_num(b[3], m[j].ndcg), mr_json_num(b[4], m[j].hit_rate),
                mr_json_num(b[5], m[j].mrr), mr_json_num(b[6], m[j].coverage), mr_json_num(b[7], m[j].novelty),
                m[j].slots);
    fprintf(f, "\n  ]");
}

static void json_file(FILE *f, const char *workdir, const char *rel, int last)
{
    char *p = mr_path_join(workdir, rel);
    fprintf(f, "    ");
    mr_json_str(f, rel, strlen(rel));
    fprintf(f, ": {\"bytes\": %" PRId64 ", \"mtime_ns\": %" PRId64 "}%s\n", p ? mr_file_size(p) : -1,
            p ? mr_file_mtime_ns(p) : 0, last ? "" : ",");
    free(p);
}

static int write_json(const mr_eval_opts *o, const eval_data *d, const model_result *res, const char *created)
{
    char rel[96];
    snprintf(rel, sizeof rel, "results/evaluation_%s.json", res->name);
    char *path = mr_path_join(o->workdir, rel);
    if (!path) return MR_ENOMEM;
    mr_afile a;
    int rc = mr_afile_open(&a, path);
    if (rc) {
        free(path);
        return rc;
    }
    FILE *f = a.f;
    char b[32];
    fprintf(f, "{\n  \"model\": ");
    mr_json_str(f, res->name, strlen(res->name));
    fprintf(f, ",\n  \"recommendations\": ");
    mr_json_str(f, res->source, strlen(res->source));
    fprintf(f, ",\n  \"k\": [");
    for (int j = 0; j < o->n_k; j++) fprintf(f, "%s%d", j ? ", " : "", o->ks[j]);
    fprintf(f,
            "],\n  \"users\": %" PRId64 ",\n  \"users_without_recommendations\": %" PRId64
            ",\n  \"train_items_recommended\": %" PRId64 ",\n  \"test_users\": %" PRId64
            ",\n  \"warm_test_users\": %" PRId64 ",\n  \"cold_test_users\": %" PRId64
            ",\n  \"sample_users\": %" PRId64 ",\n  \"seed\": %" PRIu64 ",\n  \"metrics\": ",
            res->users, res->without_recs, res->train_items, d->n_warm_all + d->n_cold, d->n_warm_all, d->n_cold,
            o->sample_users, o->seed);
    json_metrics(f, res->m, o->n_k);
    if (res->has_cold) {
        fprintf(f, ",\n  \"cold\": {\"users\": %" PRId64 ", \"metrics\": ", d->n_cold);
        json_metrics(f, res->cold, o->n_k);
        fprintf(f, "}");
    }
    fprintf(f,
            ",\n  \"data\": {\n    \"test_pairs_fnv1a64\": \"%016" PRIx64 "\",\n    \"test_events\": %" PRId64
            ",\n    \"train_events\": %" PRId64 ",\n    \"users\": %d,\n    \"items\": %d,\n    \"train_users\": %" PRId64
            ",\n",
            d->test_hash, d->n_test_events, d->n_train_events, d->n_users, d->n_items, d->train_users);
    json_file(f, o->workdir, TEST_FILE, 0);
    json_file(f, o->workdir, TRAIN_FILE, 0);
    json_file(f, o->workdir, ITEMS_FILE, 0);
    json_file(f, o->workdir, res->source, 1);
    fprintf(f, "  },\n  \"created_at\": \"%s\",\n  \"seconds\": %s\n}\n", created, mr_json_num(b, res->seconds));
    rc = mr_afile_commit(&a);
    free(path);
    return rc;
}

static int write_comparison(const char *path, const mr_eval_row *rows, int n_models)
{
    int n_k = n_models ? rows[0].n_k : 0;
    int64_t n = (int64_t)n_models * n_k;
    int64_t *off = mr_malloc(((size_t)n + 1) * sizeof *off);
    char *bytes = mr_malloc((size_t)n * 32 + 1);
    int32_t *k = mr_malloc((size_t)n * sizeof *k + 1);
    int64_t *users = mr_malloc((size_t)n * sizeof *users + 1);
    double *v[8];
    for (int q = 0; q < 8; q++) v[q] = mr_malloc((size_t)n * sizeof(double) + 1);
    int rc = off && bytes && k && users ? 0 : MR_ENOMEM;
    for (int q = 0; q < 8; q++)
        if (!v[q]) rc = MR_ENOMEM;
    int64_t r = 0;
    if (!rc) {
        off[0] = 0;
        for (int mi = 0; mi < n_models; mi++)
            for (int j = 0; j < n_k; j++, r++) {
                size_t len = strlen(rows[mi].model);
                memcpy(bytes + off[r], rows[mi].model, len);
                off[r + 1] = off[r] + (int64_t)len;
                const mr_metrics *m = &rows[mi].m[j];
                k[r] = m->k;
                users[r] = m->users;
                double x[8] = {m->precision, m->recall, m->map, m->ndcg, m->hit_rate, m->mrr, m->coverage, m->novelty};
                for (int q = 0; q < 8; q++) v[q][r] = x[q];
            }
    }
    static const char *names[8] = {"precision", "recall", "map", "ndcg", "hit_rate", "mrr", "coverage", "novelty"};
    mr_pq_field fields[11] = {{.name = "model", .type = MR_PQ_W_STRING},
                              {.name = "k", .type = MR_PQ_W_I32},
                              {.name = "users", .type = MR_PQ_W_I64}};
    mr_pq_col cols[11] = {{.n_rows = n, .n_slots = n, .offsets = off, .bytes = (uint8_t *)bytes},
                          {.n_rows = n, .n_slots = n, .values = k},
                          {.n_rows = n, .n_slots = n, .values = users}};
    for (int q = 0; q < 8; q++) {
        fields[3 + q] = (mr_pq_field){.name = names[q], .type = MR_PQ_W_F64};
        cols[3 + q] = (mr_pq_col){.n_rows = n, .n_slots = n, .values = v[q]};
    }
    mr_pq_writer *w = NULL;
    if (!rc) rc = mr_pq_writer_open(&w, path, fields, 11, NULL);
    if (!rc) rc = mr_pq_writer_write(w, cols);
    if (!rc) {
        rc = mr_pq_writer_close(w);
        w = NULL;
    }
    if (w) mr_pq_writer_abort(w);
    free(off), free(bytes), free(k), free(users);
    for (int q = 0; q < 8; q++) free(v[q]);
    return rc;
}

void mr_eval_print_table(FILE *f, const mr_eval_row *rows, int n)
{
    fprintf(f, "%-16s %6s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "model", "K", "users", "precision", "recall",
            "map", "ndcg", "hit_rate", "mrr", "coverage", "novelty");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < rows[i].n_k; j++) {
            const mr_metrics *m = &rows[i].m[j];
            fprintf(f, "%-16s %6d %9" PRId64 " %9.5f %9.5f %9.5f %9.5f %9.5f %9.5f %9.5f %9.4f\n", rows[i].model, m->k,
                    m->users, m->precision, m->recall, m->map, m->ndcg, m->hit_rate, m->mrr, m->coverage, m->novelty);
        }
}

int mr_eval_run(const mr_eval_opts *o)
{
    if (o->n_k < 1 || o->n_k > 64) return mr_err(MR_EINVAL, "between 1 and 64 values of K are needed, got %d", o->n_k);
    for (int j = 0; j < o->n_k; j++)
        if (o->ks[j] < 1 || (j > 0 && o->ks[j] <= o->ks[j - 1]))
            return mr_err(MR_EINVAL, "K values must be at least 1, ascending and distinct");
    double t0 = mr_now();
    eval_data d;
    int rc = load_data(o, &d);
    if (rc) return rc;
    MR_LOG(MR_LOG_INFO, "data loaded", MR_I("test_users", d.n_warm_all + d.n_cold), MR_I("warm", d.n_warm_all),
           MR_I("cold", d.n_cold), MR_I("evaluated", d.n_warm), MR_I("train_users", d.train_users),
           MR_I("items", d.n_items), MR_F("seconds", mr_now() - t0));

    static const struct {
        const char *name, *file, *fallback;
    } models[] = {
        {"popularity", POP_ALL_FILE, POP_TOP_FILE},
        {"als", "results/personal_als.parquet", NULL},
        {"ranked", "results/recommendations.parquet", NULL},
    };
    int n_models = (int)(sizeof models / sizeof models[0]);
    model_result *res = mr_calloc(MAX_MODELS, sizeof *res);
    mr_eval_row *rows = mr_calloc(MAX_MODELS + 1, sizeof *rows);
    if (!res || !rows) {
        free(res), free(rows);
        data_free(&d);
        return MR_ENOMEM;
    }
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);

    int n_done = 0, n_rows = 0;
    for (int mi = 0; mi < n_models && !rc; mi++) {
        model_result *r = &res[n_done];
        const char *rel = models[mi].file;
        char *path = mr_path_join(o->workdir, rel);
        if (path && !mr_file_exists(path) && models[mi].fallback) {
            free(path);
            rel = models[mi].fallback;
            path = mr_path_join(o->workdir, rel);
        }
        if (!path) {
            rc = MR_ENOMEM;
            break;
        }
        if (!mr_file_exists(path)) {
            MR_LOG(MR_LOG_INFO, "skipped: no recommendations", MR_S("model", models[mi].name), MR_S("file", path));
            free(path);
            continue;
        }
        snprintf(r->name, sizeof r->name, "%s", models[mi].name);
        snprintf(r->source, sizeof r->source, "%s", rel);
        double t = mr_now();
        rc = mi == 0 ? eval_popularity(&d, o, path, r) : eval_recs(&d, o, path, r);
        r->seconds = mr_now() - t;
        if (rc) mr_err_wrap(rc, "evaluating %s: ", models[mi].name);
        if (!rc) rc = write_json(o, &d, r, created);
        free(path);
        if (rc) break;
        if (r->train_items)
            MR_LOG(MR_LOG_WARN, "recommendations include items from the users' train history",
                   MR_S("model", r->name), MR_I("items", r->train_items));
        const mr_metrics *m10 = &r->m[0];
        for (int j = 0; j < o->n_k; j++)
            if (r->m[j].k == 10) m10 = &r->m[j];
        MR_LOG(MR_LOG_INFO, "evaluated", MR_S("model", r->name), MR_I("users", r->users),
               MR_I("users_without_recs", r->without_recs), MR_I("k", m10->k), MR_F("ndcg", m10->ndcg),
               MR_F("recall", m10->recall), MR_F("precision", m10->precision), MR_F("seconds", r->seconds));
        snprintf(rows[n_rows].model, sizeof rows[n_rows].model, "%s", r->name);
        rows[n_rows].n_k = o->n_k;
        memcpy(rows[n_rows].m, r->m, sizeof r->m);
        n_rows++;
        if (r->has_cold) {
            snprintf(rows[n_rows].model, sizeof rows[n_rows].model, "%.24s_cold", r->name);
            rows[n_rows].n_k = o->n_k;
            memcpy(rows[n_rows].m, r->cold, sizeof r->cold);
            n_rows++;
        }
        n_done++;
    }
    if (!rc && n_done == 0)
        rc = mr_err(MR_ENOTFOUND, "there are no recommendations to evaluate in %s/results; run `musrec popular` first",
                    o->workdir);
    if (!rc) {
        char *path = mr_path_join(o->workdir, "results/models_comparison.parquet");
        rc = path ? write_comparison(path, rows, n_rows) : MR_ENOMEM;
        free(path);
    }
    if (!rc && o->table) mr_eval_print_table(o->table, rows, n_rows);
    free(res), free(rows);
    data_free(&d);
    return rc;
}
