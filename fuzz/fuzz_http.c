/* libFuzzer target for the HTTP service's request handling: the request
 * target (path + query-string parsing, percent-decoding, integer and k
 * parsing), the POST /events JSON body, routing, and every endpoint's
 * response, over a small in-memory snapshot.
 *
 * Input: byte 0 picks the method; the target runs to the first '\n'; the
 * rest is the body. Properties checked beyond "no crash, no sanitizer
 * report": the status is one the service documents, and every JSON response
 * parses as JSON.
 *
 *   make fuzz && build-fuzz/fuzz_http -max_total_time=300 fuzz/corpus/http
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"
#include "serve/sbuf.h"
#include "serve/service.h"
#include "serve/snapshot.h"

static mr_service *svc;

/* 50 items (track_id 1000 + i) with names that need escaping, 3 known
 * users with offline lists, popular, a fixed-width similar table and
 * 4 factors: enough for every endpoint and the fold-in path. */
static mr_snap *build(void)
{
    enum { N = 50, F = 4, W = 5 };
    mr_snap *s = calloc(1, sizeof *s);
    s->n_items = N;
    s->track_id = malloc(N * sizeof *s->track_id);
    s->name_off = malloc((N + 1) * sizeof *s->name_off);
    s->artist_off = malloc((N + 1) * sizeof *s->artist_off);
    s->artist_name_off = malloc((N + 1) * sizeof *s->artist_name_off);
    s->name_bytes = malloc(N * 16);
    s->artist_name_bytes = malloc(N * 16);
    s->name_off[0] = s->artist_off[0] = s->artist_name_off[0] = 0;
    size_t nb = 0, ab = 0;
    for (int i = 0; i < N; i++) {
        s->track_id[i] = 1000 + i;
        nb += (size_t)sprintf(s->name_bytes + nb, "t\"%d\\\xff\n", i);
        s->name_off[i + 1] = (int64_t)nb;
        ab += (size_t)sprintf(s->artist_name_bytes + ab, "a%d", i % 7);
        s->artist_name_off[i + 1] = (int64_t)ab;
        s->artist_off[i + 1] = i + 1;
    }
    s->n_users = 3;
    s->user_id = malloc(3 * sizeof *s->user_id);
    s->user_id[0] = 1, s->user_id[1] = 2, s->user_id[2] = 3;
    s->n_rec_users = 2;
    s->rec_user = malloc(2 * sizeof *s->rec_user);
    s->rec_user[0] = 0, s->rec_user[1] = 2;
    s->rec_off = malloc(3 * sizeof *s->rec_off);
    s->rec_off[0] = 0, s->rec_off[1] = 10, s->rec_off[2] = 20;
    s->rec_item = malloc(20 * sizeof *s->rec_item);
    s->rec_score = malloc(20 * sizeof *s->rec_score);
    for (int i = 0; i < 20; i++) s->rec_item[i] = (i * 7) % N, s->rec_score[i] = 1.0f / (i + 1);
    s->hist_off = malloc(4 * sizeof *s->hist_off);
    s->hist_item = malloc(6 * sizeof *s->hist_item);
    s->hist_off[0] = 0, s->hist_off[1] = 2, s->hist_off[2] = 2, s->hist_off[3] = 6;
    int32_t h[6] = {1, 2, 3, 4, 5, 6};
    memcpy(s->hist_item, h, sizeof h);
    s->n_popular = 30;
    s->pop_item = malloc(30 * sizeof *s->pop_item);
    s->pop_score = malloc(30 * sizeof *s->pop_score);
    for (int i = 0; i < 30; i++) s->pop_item[i] = i, s->pop_score[i] = (float)(100 - i);
    int32_t *si = malloc(N * W * sizeof *si);
    float *ss = malloc(N * W * sizeof *ss);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < W; j++) {
            si[i * W + j] = j == W - 1 && i % 3 == 0 ? -1 : (i + j + 1) % N;
            ss[i * W + j] = 1.0f - 0.1f * j;
        }
    s->sim_item = si, s->sim_score = ss, s->sim_width = W;
    s->n_factors = F;
    s->item_factors = malloc(N * F * sizeof(float));
    for (int i = 0; i < N * F; i++) s->item_factors[i] = (float)sin(i * 0.37);
    s->als_reg = 0.05f, s->als_alpha = 1.0f;
    strcpy(s->offline_source, "fuzz");
    if (mr_snap_finish(s) != 0) abort();
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mr_service_opts o = {.default_k = 10, .max_users = 200};
    if (mr_service_new(&svc, build(), &o) != 0) abort();
    return 0;
}

static const char *const methods[] = {"GET", "POST", "HEAD", "DELETE", "PUT", "OPTIONS", "", "G\x01T"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(rest, '\n', n);
    size_t tlen = nl ? (size_t)(nl - rest) : n;
    const char *body = nl ? nl + 1 : rest + n;
    size_t blen = nl ? n - tlen - 1 : 0;

    /* the parsers alone, on exactly these bytes */
    static mr_req req;
    if (mr_req_parse(&req, rest, tlen) == 0) {
        int64_t v;
        int k;
        mr_req_i64(&req, "user_id", &v);
        if (mr_req_k(&req, 10, MR_REQ_K_MAX, &k) == 0 && (k < MR_REQ_K_MIN || k > MR_REQ_K_MAX)) abort();
    }
    int64_t u, t;
    char err[160];
    mr_req_parse_event(body, blen, &u, &t, err, sizeof err);

    /* the whole service */
    static mr_sbuf out;
    mr_reply rep;
    mr_service_handle(svc, method, rest, tlen, body, blen, data[0] >= 0xf0, &out, &rep);
    static const int ok[] = {200, 400, 404, 405, 413, 414};
    int known = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) known |= rep.status == ok[i];
    if (!known) {
        fprintf(stderr, "unexpected status %d: %.*s\n", rep.status, (int)out.n, out.p);
        abort();
    }
    if (strncmp(rep.content_type, "application/json", 16) == 0) {
        cJSON *j = cJSON_ParseWithLength(out.p, out.n);
        if (!j) {
            fprintf(stderr, "invalid JSON response: %.*s\n", (int)out.n, out.p);
            abort();
        }
        cJSON_Delete(j);
    }
    return 0;
}
