/* Unit tests for src/serve: request parsing, the event store, the blend,
 * fold-in numerics (against a 2-factor system solved by hand), top-k, the
 * service's responses and statuses, and the metrics text. */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "mr_test.h"
#include "serve/blend.h"
#include "serve/events.h"
#include "serve/foldin.h"
#include "serve/request.h"
#include "serve/sbuf.h"
#include "serve/service.h"
#include "serve/snapshot.h"

/* ---- request parsing ---- */

static int parse(mr_req *r, const char *s) { return mr_req_parse(r, s, strlen(s)); }

TEST(serve_query_decode)
{
    mr_req r;
    REQUIRE_OK(parse(&r, "/recommendations?user_id=17&k=5&name=a+b%20c%2Bd&empty=&flag"));
    CHECK_STR(r.path, "/recommendations");
    CHECK_INT(r.n_params, 5);
    CHECK_STR(mr_req_param(&r, "user_id"), "17");
    CHECK_STR(mr_req_param(&r, "name"), "a b c+d");
    CHECK_STR(mr_req_param(&r, "empty"), "");
    CHECK_STR(mr_req_param(&r, "flag"), "");
    CHECK(mr_req_param(&r, "missing") == NULL);
    REQUIRE_OK(parse(&r, "/pop%75lar"));
    CHECK_STR(r.path, "/popular");
    CHECK_INT(r.n_params, 0);
    REQUIRE_OK(parse(&r, "/x?&&a=1&&"));
    CHECK_INT(r.n_params, 1);
    REQUIRE_OK(parse(&r, "/x?a=1#frag&b=2"));
    CHECK_INT(r.n_params, 1);
    /* percent-decoding of keys too */
    REQUIRE_OK(parse(&r, "/x?user%5Fid=3"));
    CHECK_STR(mr_req_param(&r, "user_id"), "3");
}

TEST(serve_query_errors)
{
    mr_req r;
    CHECK_INT(parse(&r, "/x?a=%zz"), -1);
    CHECK(strstr(r.err, "percent-escape") != NULL);
    CHECK_INT(parse(&r, "/x?a=%4"), -1);
    CHECK_INT(parse(&r, "/x?a=%"), -1);
    CHECK_INT(parse(&r, "/x?a=%00"), -1);
    CHECK_INT(parse(&r, "/x%"), -1);
    CHECK_INT(parse(&r, "x?a=1"), -1);
    CHECK(strstr(r.err, "does not start with /") != NULL);
    CHECK_INT(parse(&r, ""), -1);
    CHECK_INT(parse(&r, "/x?a=1&a=2"), -1);
    CHECK(strstr(r.err, "given twice") != NULL);
    char many[512] = "/x?";
    for (int i = 0; i < MR_REQ_MAX_PARAMS + 1; i++) sprintf(many + strlen(many), "p%d=1&", i);
    CHECK_INT(parse(&r, many), -1);
    CHECK(strstr(r.err, "more than 16") != NULL);
    static char longt[MR_REQ_MAX_TARGET + 10];
    memset(longt, 'a', sizeof longt - 1);
    longt[0] = '/';
    CHECK_INT(mr_req_parse(&r, longt, MR_REQ_MAX_TARGET), 0);
    CHECK_INT(mr_req_parse(&r, longt, MR_REQ_MAX_TARGET + 1), -2);
}

TEST(serve_parse_i64)
{
    int64_t v;
    CHECK_OK(mr_parse_i64("0", 1, &v));
    CHECK_INT(v, 0);
    CHECK_OK(mr_parse_i64("-42", 3, &v));
    CHECK_INT(v, -42);
    CHECK_OK(mr_parse_i64("9223372036854775807", 19, &v));
    CHECK(v == INT64_MAX);
    CHECK_OK(mr_parse_i64("-9223372036854775808", 20, &v));
    CHECK(v == INT64_MIN);
    CHECK_INT(mr_parse_i64("9223372036854775808", 19, &v), -1);
    CHECK_INT(mr_parse_i64("-9223372036854775809", 20, &v), -1);
    const char *bad[] = {"", "-", " 1", "1 ", "1e3", "0x10", "+1", "12abc", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(mr_parse_i64(bad[i], strlen(bad[i]), &v), -1);
}

TEST(serve_k_clamp)
{
    mr_req r;
    int k = -7;
    REQUIRE_OK(parse(&r, "/popular"));
    CHECK_OK(mr_req_k(&r, 10, MR_REQ_K_MAX, &k));
    CHECK_INT(k, 10);
    const struct {
        const char *q;
        int k;
    } cases[] = {{"/p?k=0", 1},       {"/p?k=-5", 1},     {"/p?k=1", 1},
                 {"/p?k=1000", 1000}, {"/p?k=1001", 1000}, {"/p?k=99999999999999999999999", 1000},
                 {"/p?k=-99999999999999999999999", 1}, {"/p?k=37", 37}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE_OK(parse(&r, cases[i].q));
        CHECK_OK(mr_req_k(&r, 10, MR_REQ_K_MAX, &k));
        if (k != cases[i].k) mr_test_fail(__FILE__, __LINE__, "%s gave k=%d, expected %d", cases[i].q, k, cases[i].k);
    }
    const char *bad[] = {"/p?k=", "/p?k=abc", "/p?k=1.5", "/p?k=-", "/p?k=%2B3", "/p?k=+3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        REQUIRE_OK(parse(&r, bad[i]));
        if (mr_req_k(&r, 10, MR_REQ_K_MAX, &k) != -1) mr_test_fail(__FILE__, __LINE__, "%s accepted", bad[i]);
    }
    /* required integers */
    int64_t u = 0;
    REQUIRE_OK(parse(&r, "/r?k=3"));
    CHECK_INT(mr_req_i64_required(&r, "user_id", &u), -1);
    CHECK_STR(r.err, "missing parameter user_id");
    REQUIRE_OK(parse(&r, "/r?user_id=12x"));
    CHECK_INT(mr_req_i64_required(&r, "user_id", &u), -1);
    CHECK(strstr(r.err, "must be an integer, got '12x'") != NULL);
    REQUIRE_OK(parse(&r, "/r?user_id=-12"));
    CHECK_INT(mr_req_i64_required(&r, "user_id", &u), 1);
    CHECK_INT(u, -12);
}

TEST(serve_event_body)
{
    int64_t u = 0, t = 0;
    char err[160];
    const char *ok = " {\"user_id\": 5, \"extra\": [1,2], \"track_id\": 101521819}\n";
    REQUIRE_OK(mr_req_parse_event(ok, strlen(ok), &u, &t, err, sizeof err));
    CHECK_INT(u, 5);
    CHECK_INT(t, 101521819);
    const struct {
        const char *body, *msg;
    } bad[] = {
        {"", "empty body"},
        {"{", "not valid JSON"},
        {"[1,2]", "must be a JSON object"},
        {"{\"user_id\": 1}", "lacks track_id"},
        {"{\"track_id\": 1}", "lacks user_id"},
        {"{\"user_id\": \"1\", \"track_id\": 2}", "user_id must be a number"},
        {"{\"user_id\": 1.5, \"track_id\": 2}", "must be an integer"},
        {"{\"user_id\": 1, \"track_id\": 9007199254740992}", "below 2^53"},
        {"{\"user_id\": 1, \"track_id\": 1e300}", "below 2^53"},
        {"{\"user_id\": 1, \"track_id\": 2} x", "trailing bytes"},
        {"{\"user_id\": 1, \"track_id\": 2}{}", "trailing bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mr_req_parse_event(bad[i].body, strlen(bad[i].body), &u, &t, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].msg))
            mr_test_fail(__FILE__, __LINE__, "body %s: rc %d, message \"%s\", expected \"%s\"", bad[i].body, rc,
                         err, bad[i].msg);
    }
    /* a body that is not NUL-terminated: parsing must stop at its length */
    char cut[] = {'{', '"', 'u', 's', 'e', 'r', '_', 'i', 'd', '"', ':', '1', ',', '"', 't', 'r', 'a', 'c', 'k',
                  '_', 'i', 'd', '"', ':', '2', '}', '9', '9'};
    REQUIRE_OK(mr_req_parse_event(cut, 26, &u, &t, err, sizeof err));
    CHECK_INT(t, 2);
}

/* ---- output buffer ---- */

TEST(serve_sbuf_json)
{
    mr_sbuf b = {0};
    const char s[] = "a\"b\\c\n\x01\xc3\xa9\xff\xe2\x82";
    mr_sbuf_json_str(&b, s, sizeof s - 1);
    mr_sbuf_putc(&b, 0);
    CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    mr_sbuf_reset(&b);
    mr_sbuf_i64(&b, INT64_MIN);
    mr_sbuf_putc(&b, ' ');
    mr_sbuf_i64(&b, 0);
    mr_sbuf_putc(&b, ' ');
    mr_sbuf_f32(&b, NAN);
    mr_sbuf_putc(&b, ' ');
    mr_sbuf_f32(&b, 0.125f);
    mr_sbuf_putc(&b, 0);
    CHECK_STR(b.p, "-9223372036854775808 0 null 0.125");
    /* floats: against printf's %.7g, read back */
    const float fixed[] = {1.0f, -2.5f, 0.1f, 1234567.0f, 12345678.0f, 1e-5f, 1.5e-6f, 3.4028235e38f,
                           1.17549435e-38f, 1.4e-45f, 0.03846999f, 999999.94f, 9999999.0f, 100.0f};
    const char *want[] = {"1", "-2.5", "0.1", "1234567", "1.234568e+07", "0.00001", "1.5e-06", "3.402823e+38",
                          "1.175494e-38", "1.401298e-45", "0.03846999", "999999.9", "9999999", "100"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        mr_sbuf_reset(&b);
        mr_sbuf_f32(&b, fixed[i]);
        mr_sbuf_putc(&b, 0);
        CHECK_STR(b.p, want[i]);
    }
    uint32_t x = 12345;
    int off = 0;
    for (int i = 0; i < 200000; i++) {
        x = x * 1664525u + 1013904223u;
        float f;
        uint32_t bits = x & 0xff7fffffu; /* no infinities or NaN */
        memcpy(&f, &bits, 4);
        mr_sbuf_reset(&b);
        mr_sbuf_f32(&b, f);
        mr_sbuf_putc(&b, 0);
        char ref[32];
        snprintf(ref, sizeof ref, "%.7g", (double)f);
        double ours = strtod(b.p, NULL), theirs = strtod(ref, NULL);
        /* same to 7 digits: equal, or one unit apart at a rounding tie */
        if (ours != theirs && fabs(ours - theirs) > 1.01e-6 * fabs(theirs)) {
            if (off++ < 5) mr_test_fail(__FILE__, __LINE__, "%.9g: ours %s, printf %s", (double)f, b.p, ref);
        }
    }
    CHECK_INT(off, 0);
    mr_sbuf_free(&b);
}

/* ---- event store ---- */

TEST(serve_evstore_ring)
{
    mr_evstore *s;
    REQUIRE_OK(mr_evstore_new(&s, 1000));
    for (int i = 0; i < 60; i++) REQUIRE_OK(mr_evstore_put(s, 7, 100 + i));
    REQUIRE_OK(mr_evstore_put(s, -3, 1));
    int64_t out[64];
    uint64_t ver;
    int n = mr_evstore_get(s, 7, out, 64, &ver);
    CHECK_INT(n, MR_EVSTORE_PER_USER);
    CHECK_INT(ver, 60);
    for (int i = 0; i < n; i++) CHECK_INT(out[i], 159 - i); /* newest first */
    CHECK_INT(mr_evstore_get(s, 7, out, 3, NULL), 3);
    CHECK_INT(out[2], 157);
    CHECK_INT(mr_evstore_get(s, 8, out, 64, &ver), 0);
    CHECK_INT(ver, 0);
    CHECK_INT(mr_evstore_get(s, -3, out, 64, NULL), 1);
    CHECK_INT(mr_evstore_users(s), 2);
    mr_evstore_free(s);
}

TEST(serve_evstore_bound)
{
    mr_evstore *s;
    REQUIRE_OK(mr_evstore_new(&s, 256)); /* 4 users per shard */
    CHECK_INT(mr_evstore_capacity(s), 256);
    for (int64_t u = 0; u < 20000; u++) REQUIRE_OK(mr_evstore_put(s, u * 7919, u));
    CHECK(mr_evstore_users(s) <= 256);
    CHECK_INT(mr_evstore_users(s) + mr_evstore_evictions(s), 20000);
    /* the newest user is always there (just written), with its event */
    int64_t out[4];
    CHECK_INT(mr_evstore_get(s, 19999LL * 7919, out, 4, NULL), 1);
    CHECK_INT(out[0], 19999);
    /* every user still held answers with its own single event: the index
     * survived thousands of evictions (backward-shift deletions) */
    int held = 0;
    for (int64_t u = 0; u < 20000; u++)
        if (mr_evstore_get(s, u * 7919, out, 4, NULL) == 1) {
            held++;
            if (out[0] != u) mr_test_fail(__FILE__, __LINE__, "user %lld holds %lld", (long long)u, (long long)out[0]);
        }
    CHECK_INT(held, mr_evstore_users(s));
    mr_evstore_free(s);
}

typedef struct {
    mr_evstore *s;
    int id;
} ev_thread_arg;

static void *ev_thread(void *p)
{
    ev_thread_arg *a = p;
    for (int i = 0; i < 20000; i++) {
        int64_t user = i % 97, out[MR_EVSTORE_PER_USER];
        mr_evstore_put(a->s, user, (int64_t)a->id * 1000000 + i);
        mr_evstore_get(a->s, user, out, MR_EVSTORE_PER_USER, NULL);
    }
    return NULL;
}

TEST(serve_evstore_threads)
{
    mr_evstore *s;
    REQUIRE_OK(mr_evstore_new(&s, 100000));
    pthread_t th[4];
    ev_thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (ev_thread_arg){s, i};
        pthread_create(&th[i], NULL, ev_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK_INT(mr_evstore_users(s), 97);
    for (int64_t u = 0; u < 97; u++) {
        int64_t out[MR_EVSTORE_PER_USER];
        uint64_t ver;
        CHECK_INT(mr_evstore_get(s, u, out, MR_EVSTORE_PER_USER, &ver), MR_EVSTORE_PER_USER);
        /* each thread wrote user u with ascending i: within one thread's
         * events, newer entries must have larger i */
        int64_t last[4] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
        for (int i = 0; i < MR_EVSTORE_PER_USER; i++) {
            int th_id = (int)(out[i] / 1000000);
            REQUIRE(th_id >= 0 && th_id < 4);
            CHECK(out[i] % 1000000 < last[th_id]);
            last[th_id] = out[i] % 1000000;
        }
        uint64_t expect = 0;
        for (int i = 0; i < 20000; i++) expect += (i % 97 == u) ? 4 : 0;
        CHECK_INT(ver, expect);
    }
    mr_evstore_free(s);
}

/* ---- a hand-built snapshot ----
 * 10 items: track_id 100+i, name "t<i>", item i has artists "a<i>" (and
 * "b<i>" for even i). Users: user_id 7 (idx 0, offline list [5,6,7], train
 * history {0}), 8 (idx 1, no offline list, train history {1,2}).
 * Popular: 0,1,2,3,4 (scores 10..6). Similar: 3 -> 4 (0.9), 5 (0.8);
 * 4 -> 5 (0.95), 8 (0.7); 9 -> 3 (0.6), 0 (0.5). Factors (f = 2): item i is
 * (cos(i), sin(i)), reg 0.1, alpha 2. */
static char *dupbytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static mr_snap *fixture(void)
{
    mr_snap *s = calloc(1, sizeof *s);
    int n = 10;
    s->n_items = n;
    s->track_id = malloc(n * sizeof *s->track_id);
    s->name_off = malloc((n + 1) * sizeof *s->name_off);
    s->artist_off = malloc((n + 1) * sizeof *s->artist_off);
    s->artist_name_off = malloc(2 * n * sizeof *s->artist_name_off);
    char names[64] = "", artists[128] = "";
    s->name_off[0] = 0;
    s->artist_off[0] = 0;
    s->artist_name_off[0] = 0;
    int na = 0;
    for (int i = 0; i < n; i++) {
        s->track_id[i] = 100 + i;
        sprintf(names + strlen(names), "t%d", i);
        s->name_off[i + 1] = (int64_t)strlen(names);
        sprintf(artists + strlen(artists), "a%d", i);
        s->artist_name_off[++na] = (int64_t)strlen(artists);
        if (i % 2 == 0) {
            sprintf(artists + strlen(artists), "b%d", i);
            s->artist_name_off[++na] = (int64_t)strlen(artists);
        }
        s->artist_off[i + 1] = na;
    }
    s->name_bytes = dupbytes(names, strlen(names));
    s->artist_name_bytes = dupbytes(artists, strlen(artists));
    s->n_users = 2;
    s->user_id = malloc(2 * sizeof *s->user_id);
    s->user_id[0] = 7;
    s->user_id[1] = 8;
    s->n_rec_users = 1;
    s->rec_user = calloc(1, sizeof *s->rec_user);
    s->rec_off = malloc(2 * sizeof *s->rec_off);
    s->rec_off[0] = 0;
    s->rec_off[1] = 3;
    s->rec_item = malloc(3 * sizeof *s->rec_item);
    s->rec_score = malloc(3 * sizeof *s->rec_score);
    for (int i = 0; i < 3; i++) {
        s->rec_item[i] = 5 + i;
        s->rec_score[i] = 3.0f - i;
    }
    strcpy(s->offline_source, "test");
    s->hist_off = malloc(3 * sizeof *s->hist_off);
    s->hist_item = malloc(3 * sizeof *s->hist_item);
    s->hist_off[0] = 0, s->hist_off[1] = 1, s->hist_off[2] = 3;
    s->hist_item[0] = 0, s->hist_item[1] = 1, s->hist_item[2] = 2;
    s->n_popular = 5;
    s->pop_item = malloc(5 * sizeof *s->pop_item);
    s->pop_score = malloc(5 * sizeof *s->pop_score);
    for (int i = 0; i < 5; i++) {
        s->pop_item[i] = i;
        s->pop_score[i] = 10.0f - i;
    }
    s->sim_off = calloc(n + 1, sizeof *s->sim_off);
    int32_t *si = malloc(6 * sizeof *si);
    float *ss = malloc(6 * sizeof *ss);
    int32_t sim_of[6] = {3, 3, 4, 4, 9, 9}, sim_to[6] = {4, 5, 5, 8, 3, 0};
    float sim_sc[6] = {0.9f, 0.8f, 0.95f, 0.7f, 0.6f, 0.5f};
    for (int j = 0; j < 6; j++) {
        si[j] = sim_to[j];
        ss[j] = sim_sc[j];
        s->sim_off[sim_of[j] + 1]++;
    }
    for (int i = 0; i < n; i++) s->sim_off[i + 1] += s->sim_off[i];
    s->sim_item = si;
    s->sim_score = ss;
    s->n_factors = 2;
    s->item_factors = malloc(2 * n * sizeof(float));
    for (int i = 0; i < n; i++) {
        s->item_factors[2 * i] = (float)cos(i);
        s->item_factors[2 * i + 1] = (float)sin(i);
    }
    s->als_reg = 0.1f;
    s->als_alpha = 2.0f;
    if (mr_snap_finish(s) != 0) {
        mr_test_fail(__FILE__, __LINE__, "fixture: %s", mr_errmsg());
        mr_snap_free(s);
        return NULL;
    }
    return s;
}

TEST(serve_snapshot_checks)
{
    mr_snap *s = fixture();
    REQUIRE(s);
    CHECK_INT(mr_snap_item(s, 105), 5);
    CHECK_INT(mr_snap_item(s, 99), -1);
    CHECK_INT(mr_snap_user(s, 8), 1);
    CHECK_INT(mr_snap_user(s, 9), -1);
    CHECK(mr_snap_listened(s, 1, 2));
    CHECK(!mr_snap_listened(s, 1, 0));
    /* YᵀY = Σ (cos² , cos·sin ; sin²) over i = 0..9 */
    double g00 = 0, g01 = 0, g11 = 0;
    for (int i = 0; i < 10; i++) {
        float c = (float)cos(i), sn = (float)sin(i);
        g00 += (double)c * c, g01 += (double)c * sn, g11 += (double)sn * sn;
    }
    CHECK_NEAR(s->gram[0], g00, 1e-9);
    CHECK_NEAR(s->gram[1], g01, 1e-9);
    CHECK_NEAR(s->gram[2], g01, 1e-9);
    CHECK_NEAR(s->gram[3], g11, 1e-9);
    mr_snap_free(s);

    /* bad indices are refused at load, naming the array */
    s = fixture();
    REQUIRE(s);
    mr_imap_free(&s->track_index);
    mr_imap_free(&s->user_index);
    free(s->gram);
    s->gram = NULL;
    s->pop_item[2] = 10;
    CHECK_ERR(mr_snap_finish(s), "top popular: entry 2 holds item_idx 10");
    s->pop_item[2] = 2;
    mr_imap_free(&s->track_index);
    mr_imap_free(&s->user_index);
    free(s->gram);
    s->gram = NULL;
    s->track_id[3] = 100;
    CHECK_ERR(mr_snap_finish(s), "track_id 100 appears twice");
    mr_snap_free(s);
}

/* ---- blend ---- */

static int items_of(const mr_scored *x, int n, int32_t *items)
{
    for (int i = 0; i < n; i++) items[i] = x[i].item;
    return n;
}

#define CHECK_LIST(x, n, ...)                                                                 \
    do {                                                                                      \
        int32_t want_[] = {__VA_ARGS__}, got_[64];                                            \
        int nw_ = (int)(sizeof want_ / sizeof want_[0]), ng_ = items_of((x), (n), got_);      \
        int same_ = nw_ == ng_;                                                               \
        for (int i_ = 0; same_ && i_ < nw_; i_++) same_ = want_[i_] == got_[i_];              \
        if (!same_) {                                                                         \
            char b_[256] = "";                                                                \
            for (int i_ = 0; i_ < ng_; i_++) sprintf(b_ + strlen(b_), "%d ", got_[i_]);       \
            mr_test_fail(__FILE__, __LINE__, "list is [%s], expected [%s]", b_, #__VA_ARGS__); \
        }                                                                                     \
    } while (0)

TEST(serve_interleave)
{
    mr_scored a[] = {{1, 0, MR_SRC_OFFLINE}, {2, 0, MR_SRC_OFFLINE}, {3, 0, MR_SRC_OFFLINE}};
    mr_scored b[] = {{2, 0, MR_SRC_ONLINE}, {4, 0, MR_SRC_ONLINE}, {5, 0, MR_SRC_ONLINE}, {6, 0, MR_SRC_ONLINE}};
    mr_scored out[16];
    int32_t set[64];
    int n = mr_blend_interleave(a, 3, b, 4, 10, out, set, 64);
    /* 1(a) 2(b) [a's 2 is a repeat: a's turn goes to 3] 3(a) 4(b) then b alone: 5 6 */
    CHECK_LIST(out, n, 1, 2, 3, 4, 5, 6);
    CHECK_INT(out[1].src, MR_SRC_ONLINE);
    n = mr_blend_interleave(a, 3, b, 4, 3, out, set, 64);
    CHECK_LIST(out, n, 1, 2, 3);
    n = mr_blend_interleave(a, 0, b, 4, 2, out, set, 64);
    CHECK_LIST(out, n, 2, 4);
    n = mr_blend_interleave(a, 3, b, 0, 10, out, set, 64);
    CHECK_LIST(out, n, 1, 2, 3);
    mr_scored dup[] = {{1, 0, 0}, {1, 0, 0}, {2, 0, 0}};
    n = mr_blend_interleave(dup, 3, dup, 3, 10, out, set, 64);
    CHECK_LIST(out, n, 1, 2);
}

TEST(serve_blend_cases)
{
    mr_snap *s = fixture();
    REQUIRE(s);
    mr_blend_scratch w = {0};
    mr_scored out[64];
    int n;
    /* 1. unknown user, no history: popular */
    mr_blend_user cold = {s, -1, NULL, 0, &w};
    n = mr_blend_recs(&cold, 3, out);
    CHECK_LIST(out, n, 0, 1, 2);
    CHECK_INT(out[0].src, MR_SRC_POPULAR);
    CHECK_NEAR(out[0].score, 10, 0);
    /* known user without an offline list: popular minus train history {1,2} */
    mr_blend_user u8 = {s, 1, NULL, 0, &w};
    n = mr_blend_recs(&u8, 10, out);
    CHECK_LIST(out, n, 0, 3, 4);
    /* 2. personal list, no online history */
    mr_blend_user u7 = {s, 0, NULL, 0, &w};
    n = mr_blend_recs(&u7, 10, out);
    CHECK_LIST(out, n, 5, 6, 7);
    CHECK_INT(out[2].src, MR_SRC_OFFLINE);
    CHECK_NEAR(out[1].score, 2, 0);
    CHECK_INT(mr_blend_online(&u7, 10, out), 0);
    /* 3. both: user 7 just listened to 9 then 3 (newest first: 3, 9).
     * online: similar(3) = 4 .9, 5 .8; similar(9) = 3 .6 (listened), 0 .5
     * (train history of user 7) -> 4, 5. offline 5 6 7. blend: 5 4 6 [5 dup]
     * 7. */
    int32_t h7[] = {3, 9};
    mr_blend_user both = {s, 0, h7, 2, &w};
    n = mr_blend_online(&both, 10, out);
    CHECK_LIST(out, n, 4, 5);
    CHECK_NEAR(out[0].score, 0.9f, 0);
    n = mr_blend_recs(&both, 10, out);
    CHECK_LIST(out, n, 5, 4, 6, 7);
    CHECK_INT(out[0].src, MR_SRC_OFFLINE);
    CHECK_INT(out[1].src, MR_SRC_ONLINE);
    n = mr_blend_recs(&both, 2, out);
    CHECK_LIST(out, n, 5, 4);
    /* online merge by score: seeds 4 and 3 both lead to 5: it keeps 0.95 */
    int32_t h[] = {4, 3};
    mr_blend_user m = {s, -1, h, 2, &w};
    n = mr_blend_online(&m, 10, out);
    CHECK_LIST(out, n, 5, 8);
    CHECK_NEAR(out[0].score, 0.95f, 0);
    /* only the last 3 distinct listens seed: 9 (oldest of 4 distinct) is out */
    int32_t h4[] = {4, 4, 3, 8, 9};
    mr_blend_user m4 = {s, -1, h4, 5, &w};
    n = mr_blend_online(&m4, 10, out);
    CHECK_LIST(out, n, 5);
    /* a listened track leaves the offline list and popular too */
    int32_t h6[] = {6};
    mr_blend_user u7b = {s, 0, h6, 1, &w};
    n = mr_blend_offline(&u7b, 10, out);
    CHECK_LIST(out, n, 5, 7);
    int32_t h0[] = {0, 2};
    mr_blend_user coldh = {s, 12345, h0, 2, &w};
    coldh.u = -1;
    n = mr_blend_offline(&coldh, 2, out);
    CHECK_LIST(out, n, 1, 3);
    mr_blend_scratch_free(&w);
    mr_snap_free(s);
}

/* ---- fold-in ---- */

TEST(serve_foldin_hand_solved)
{
    /* Y = [1 0; 0 1; 1 1], YᵀY = [2 1; 1 2], λ = 0.1, α = 1.
     * The user listened to item 0 with r = 2 and item 2 with r = 1:
     * c0 = 3, c2 = 2.
     *   A = YᵀY + 2·y0y0ᵀ + 1·y2y2ᵀ + 0.1·I = [5.1 2; 2 3.1]
     *   b = 3·y0 + 2·y2 = [5; 2]
     *   det A = 5.1·3.1 − 4 = 11.81
     *   x = A⁻¹b = [(3.1·5 − 2·2) / 11.81; (−2·5 + 5.1·2) / 11.81]
     *     = [11.5 / 11.81; 0.2 / 11.81] */
    float Y[] = {1, 0, 0, 1, 1, 1};
    double gram[] = {2, 1, 1, 2}, work[6];
    int32_t items[] = {0, 2};
    float r[] = {2, 1}, x[2];
    REQUIRE_OK(mr_foldin_solve(Y, 2, gram, 0.1, 1.0, items, r, 2, x, work));
    CHECK_NEAR(x[0], 11.5 / 11.81, 1e-6);
    CHECK_NEAR(x[1], 0.2 / 11.81, 1e-6);
    /* no items, no regularisation, singular YᵀY: refused, not NaN */
    double sing[] = {1, 1, 1, 1};
    CHECK_ERR(mr_foldin_solve(Y, 2, sing, 0.0, 1.0, items, r, 0, x, work), "not positive definite");
}

TEST(serve_cholesky_3x3)
{
    /* A = L·Lᵀ with L = [2 0 0; 1 3 0; -1 2 1]; x = [1, -2, 3]; b = A·x */
    double L[9] = {2, 0, 0, 1, 3, 0, -1, 2, 1}, A[9], x[3] = {1, -2, 3}, b[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            A[i * 3 + j] = 0;
            for (int k = 0; k < 3; k++) A[i * 3 + j] += L[i * 3 + k] * L[j * 3 + k];
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) b[i] += A[i * 3 + j] * x[j];
    REQUIRE_OK(mr_cholesky_solve(A, b, 3));
    for (int i = 0; i < 3; i++) CHECK_NEAR(b[i], x[i], 1e-12);
    CHECK_NEAR(A[3], 1, 1e-12); /* L[1][0] */
    CHECK_NEAR(A[8], 1, 1e-12); /* L[2][2] */
}

TEST(serve_foldin_blend)
{
    /* an unknown user with 3 events gets fold-in recommendations equal to
     * the top of Y·x for the x the solver gives, minus the listened items */
    mr_snap *s = fixture();
    REQUIRE(s);
    mr_blend_scratch w = {0};
    int32_t h[] = {1, 2, 1}; /* 3 events, 2 distinct */
    mr_blend_user u = {s, -1, h, 3, &w};
    mr_scored out[16];
    int n = mr_blend_offline(&u, 4, out);
    REQUIRE(n == 4);
    float x[2];
    double work[6];
    int32_t items[] = {1, 2};
    float r[] = {1, 1};
    REQUIRE_OK(mr_foldin_solve(s->item_factors, 2, s->gram, 0.1, 2.0, items, r, 2, x, work));
    /* the direction of x is between item 1 (angle 1) and 2 (angle 2):
     * brute-force the expected order */
    int32_t order[10];
    float sc[10];
    for (int i = 0; i < 10; i++) {
        order[i] = i;
        sc[i] = s->item_factors[2 * i] * x[0] + s->item_factors[2 * i + 1] * x[1];
    }
    for (int i = 0; i < 10; i++)
        for (int j = i + 1; j < 10; j++)
            if (sc[order[j]] > sc[order[i]]) {
                int32_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int m = 0;
    for (int i = 0; i < 10 && m < 4; i++) {
        if (order[i] == 1 || order[i] == 2) continue;
        CHECK_INT(out[m].item, order[i]);
        CHECK_NEAR(out[m].score, sc[order[i]], 1e-5);
        CHECK_INT(out[m].src, MR_SRC_FOLDIN);
        m++;
    }
    /* 2 events: not enough, popular instead (minus 1 and 2) */
    u.n_hist = 2;
    n = mr_blend_offline(&u, 3, out);
    CHECK_LIST(out, n, 0, 3, 4);
    CHECK_INT(out[0].src, MR_SRC_POPULAR);
    mr_blend_scratch_free(&w);
    mr_snap_free(s);
}

/* ---- the service ---- */

typedef struct {
    int status;
    cJSON *json;
    char body[8192];
} resp;

static void call(mr_service *svc, const char *method, const char *target, const char *body, resp *r)
{
    mr_sbuf out = {0};
    mr_reply rep;
    mr_service_handle(svc, method, target, strlen(target), body, body ? strlen(body) : 0, 0, &out, &rep);
    r->status = rep.status;
    size_t n = out.n < sizeof r->body - 1 ? out.n : sizeof r->body - 1;
    memcpy(r->body, out.p, n);
    r->body[n] = 0;
    r->json = strncmp(rep.content_type, "application/json", 16) == 0 ? cJSON_Parse(r->body) : NULL;
    mr_sbuf_free(&out);
}

static const char *item_str(const cJSON *j, int i, const char *field)
{
    const cJSON *items = cJSON_GetObjectItem(j, "items");
    const cJSON *it = cJSON_GetArrayItem(items, i);
    const cJSON *f = cJSON_GetObjectItem(it, field);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static double item_num(const cJSON *j, int i, const char *field)
{
    const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), i);
    const cJSON *f = cJSON_GetObjectItem(it, field);
    return cJSON_IsNumber(f) ? f->valuedouble : NAN;
}

static int n_items(const cJSON *j) { return cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")); }

TEST(serve_service_endpoints)
{
    mr_snap *s = fixture();
    REQUIRE(s);
    mr_service *svc;
    mr_service_opts o = {.default_k = 10, .max_users = 1000};
    REQUIRE_OK(mr_service_new(&svc, s, &o));
    resp r;

    call(svc, "GET", "/recommendations?user_id=7&k=2", NULL, &r);
    CHECK_INT(r.status, 200);
    REQUIRE(r.json);
    CHECK_INT(n_items(r.json), 2);
    CHECK_NEAR(item_num(r.json, 0, "track_id"), 105, 0);
    CHECK_STR(item_str(r.json, 0, "name"), "t5");
    CHECK_STR(item_str(r.json, 0, "source"), "offline");
    CHECK_NEAR(item_num(r.json, 1, "score"), 2, 1e-6);
    const cJSON *artists = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 1), "artists");
    CHECK_INT(cJSON_GetArraySize(artists), 2); /* item 6: a6, b6 */
    CHECK_STR(cJSON_GetArrayItem(artists, 1)->valuestring, "b6");
    cJSON_Delete(r.json);

    /* events: POST and GET /events/put, then the blend uses them */
    call(svc, "POST", "/events", "{\"user_id\": 7, \"track_id\": 109}", &r);
    CHECK_INT(r.status, 200);
    cJSON_Delete(r.json);
    call(svc, "GET", "/events/put?user_id=7&track_id=103", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"events\":2") != NULL);
    cJSON_Delete(r.json);
    call(svc, "GET", "/events?user_id=7", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"events\":[{\"track_id\":103,\"name\":\"t3\",\"artists\":[\"a3\"]},"
                         "{\"track_id\":109,") != NULL);
    cJSON_Delete(r.json);
    call(svc, "GET", "/recommendations?user_id=7", NULL, &r);
    CHECK_INT(n_items(r.json), 4);
    CHECK_NEAR(item_num(r.json, 1, "track_id"), 104, 0);
    CHECK_STR(item_str(r.json, 1, "source"), "online");
    cJSON_Delete(r.json);
    call(svc, "GET", "/recommendations/online?user_id=7&k=1", NULL, &r);
    CHECK_INT(n_items(r.json), 1);
    CHECK_NEAR(item_num(r.json, 0, "track_id"), 104, 0);
    cJSON_Delete(r.json);
    call(svc, "GET", "/recommendations/offline?user_id=7", NULL, &r);
    CHECK_INT(n_items(r.json), 3);
    cJSON_Delete(r.json);

    /* fold-in after 3 events of an unknown user */
    for (int i = 0; i < 3; i++) {
        call(svc, "GET", i == 2 ? "/events/put?user_id=555&track_id=101" : "/events/put?user_id=555&track_id=102", NULL, &r);
        cJSON_Delete(r.json);
    }
    call(svc, "GET", "/recommendations/offline?user_id=555&k=3", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(item_str(r.json, 0, "source"), "foldin");
    CHECK_INT(n_items(r.json), 3);
    cJSON_Delete(r.json);

    call(svc, "GET", "/similar?track_id=104&k=1", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(n_items(r.json), 1);
    CHECK_NEAR(item_num(r.json, 0, "track_id"), 105, 0);
    CHECK_STR(item_str(r.json, 0, "source"), "similar");
    cJSON_Delete(r.json);
    call(svc, "GET", "/popular?k=0", NULL, &r);
    CHECK_INT(n_items(r.json), 1);
    CHECK(strstr(r.body, "\"k\":1,") != NULL);
    cJSON_Delete(r.json);
    call(svc, "GET", "/popular?k=5000", NULL, &r);
    CHECK_INT(n_items(r.json), 5);
    CHECK(strstr(r.body, "\"k\":1000,") != NULL);
    cJSON_Delete(r.json);
    call(svc, "GET", "/health/", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "foldin")));
    CHECK_NEAR(cJSON_GetObjectItem(r.json, "event_store_users")->valuedouble, 2, 0);
    cJSON_Delete(r.json);

    /* errors: status and a JSON body naming the problem */
    const struct {
        const char *method, *target, *body, *needle;
        int status;
    } errs[] = {
        {"GET", "/recommendations", NULL, "missing parameter user_id", 400},
        {"GET", "/recommendations?user_id=abc", NULL, "must be an integer", 400},
        {"GET", "/recommendations?user_id=1&k=x", NULL, "parameter k", 400},
        {"GET", "/recommendations?user_id=%zz", NULL, "percent-escape", 400},
        {"GET", "/similar?track_id=999", NULL, "unknown track_id 999", 404},
        {"GET", "/similar", NULL, "missing parameter track_id", 400},
        {"GET", "/events/put?user_id=1&track_id=5", NULL, "unknown track_id 5", 404},
        {"GET", "/events/put?user_id=1", NULL, "missing parameter track_id", 400},
        {"POST", "/events", "{\"user_id\":1,\"track_id\":5}", "unknown track_id 5", 404},
        {"POST", "/events", "{\"user_id\":1", "not valid JSON", 400},
        {"GET", "/nope", NULL, "no endpoint /nope", 404},
        {"DELETE", "/events", NULL, "method DELETE is not allowed", 405},
        {"POST", "/popular", "{}", "method POST is not allowed", 405},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        call(svc, errs[i].method, errs[i].target, errs[i].body, &r);
        const cJSON *e = cJSON_GetObjectItem(r.json, "error");
        if (r.status != errs[i].status || !cJSON_IsString(e) || !strstr(e->valuestring, errs[i].needle))
            mr_test_fail(__FILE__, __LINE__, "%s %s: %d %s, expected %d with \"%s\"", errs[i].method, errs[i].target,
                         r.status, r.body, errs[i].status, errs[i].needle);
        cJSON_Delete(r.json);
    }
    /* 413 and 414 */
    mr_sbuf out = {0};
    mr_reply rep;
    mr_service_handle(svc, "POST", "/events", 7, "", 0, 1, &out, &rep);
    CHECK_INT(rep.status, 413);
    static char longt[MR_REQ_MAX_TARGET + 2];
    memset(longt, 'a', sizeof longt);
    longt[0] = '/';
    mr_service_handle(svc, "GET", longt, sizeof longt, NULL, 0, 0, &out, &rep);
    CHECK_INT(rep.status, 414);

    /* metrics count what happened above */
    mr_service_handle(svc, "GET", "/metrics", 8, NULL, 0, 0, &out, &rep);
    CHECK_INT(rep.status, 200);
    mr_sbuf_putc(&out, 0);
    CHECK(strstr(out.p, "musrec_http_requests_total{method=\"GET\",endpoint=\"/similar\",status=\"404\"} 1\n") != NULL);
    CHECK(strstr(out.p, "musrec_http_requests_total{method=\"POST\",endpoint=\"/events\",status=\"200\"} 1\n") != NULL);
    CHECK(strstr(out.p, "musrec_http_requests_total{method=\"GET\",endpoint=\"/events/put\",status=\"200\"} 4\n") != NULL);
    CHECK(strstr(out.p, "musrec_http_request_duration_seconds_count{method=\"GET\",endpoint=\"/recommendations\"} 5\n") != NULL);
    CHECK(strstr(out.p, "endpoint=\"/recommendations\",le=\"+Inf\"} 5\n") != NULL);
    CHECK(strstr(out.p, "musrec_event_store_users 2\n") != NULL);
    CHECK(strstr(out.p, "musrec_foldin_total 1\n") != NULL);
    mr_sbuf_free(&out);

    /* swap in a fresh snapshot: the event store survives */
    mr_snap *s2 = fixture();
    REQUIRE(s2);
    mr_service_swap(svc, s2);
    call(svc, "GET", "/events?user_id=7&k=1", NULL, &r);
    CHECK(strstr(r.body, "[{\"track_id\":103,") != NULL);
    cJSON_Delete(r.json);
    mr_service_free(svc);
}

/* ---- reload under load: requests on 3 threads while snapshots swap ---- */

typedef struct {
    mr_service *svc;
    _Atomic int *stop;
    int bad;
    long done;
} load_arg;

static void *load_thread(void *p)
{
    load_arg *a = p;
    mr_sbuf out = {0};
    mr_reply rep;
    const char *t = "/recommendations?user_id=7&k=3";
    while (!atomic_load(a->stop)) {
        mr_service_handle(a->svc, "GET", t, strlen(t), NULL, 0, 0, &out, &rep);
        if (rep.status != 200 || out.n < 20 || memcmp(out.p, "{\"user_id\":7,\"k\":3,\"items\":[{\"track_id\":105", 43))
            a->bad++;
        a->done++;
    }
    mr_sbuf_free(&out);
    return NULL;
}

TEST(serve_swap_under_load)
{
    mr_service *svc;
    mr_service_opts o = {.default_k = 10, .max_users = 100};
    mr_snap *s = fixture();
    REQUIRE(s);
    REQUIRE_OK(mr_service_new(&svc, s, &o));
    _Atomic int stop = 0;
    pthread_t th[3];
    load_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (load_arg){svc, &stop, 0, 0};
        pthread_create(&th[i], NULL, load_thread, &args[i]);
    }
    for (int i = 0; i < 50; i++) {
        mr_snap *n = fixture();
        REQUIRE(n);
        mr_service_swap(svc, n); /* frees the old one: ASan catches a use after free */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL); /* let the request threads run between swaps */
    }
    atomic_store(&stop, 1);
    long done = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].bad, 0);
        done += args[i].done;
    }
    CHECK(done > 0);
    mr_service_free(svc);
}
