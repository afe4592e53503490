/* Recommendation lists read back from parquet files of many row groups
 * (mr_recs_read decodes row groups in parallel and stitches them): the
 * lists are compared with the rows as written, users that span row groups
 * included, and every order, range and null error is caught wherever it
 * falls, at a row group boundary too. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "data/recs.h"
#include "mr_test.h"
#include "parquet/parquet.h"

/* Writes rows (user_idx, item_idx, score, rank) in row groups of rg rows;
 * the score column as DOUBLE when dbl; valid (or NULL) marks item nulls. */
static int write_rows(const char *path, int64_t n, const int32_t *u, const int32_t *it, const float *sc,
                      const int32_t *rk, int64_t rg, int dbl, const uint8_t *valid)
{
    mr_pq_field f[4] = {{"user_idx", MR_PQ_W_I32, 0, 0, 0},
                        {"item_idx", MR_PQ_W_I32, 0, valid != NULL, 0},
                        {"score", dbl ? MR_PQ_W_F64 : MR_PQ_W_F32, 0, 0, 0},
                        {"rank", MR_PQ_W_I32, 0, 0, 0}};
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.row_group_rows = rg;
    double *d = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) d[i] = sc[i];
    mr_pq_writer *w = NULL;
    int rc = mr_pq_writer_open(&w, path, f, 4, &o);
    if (!rc) {
        mr_pq_col c[4] = {{.n_rows = n, .n_slots = n, .values = (void *)u},
                          {.n_rows = n, .n_slots = n, .values = (void *)it, .valid = (uint8_t *)valid},
                          {.n_rows = n, .n_slots = n, .values = dbl ? (void *)d : (void *)sc},
                          {.n_rows = n, .n_slots = n, .values = (void *)rk}};
        rc = mr_pq_writer_write(w, c);
        if (!rc) rc = mr_pq_writer_close(w);
        else mr_pq_writer_abort(w);
    }
    free(d);
    return rc;
}

TEST(recs_read_row_groups)
{
    /* 997 users with 0..9 entries each (users with none are absent), in row
     * groups of 7 rows, so most users cross a boundary somewhere. */
    enum { MAXN = 10000 };
    int32_t *u = malloc(sizeof(int32_t) * MAXN), *it = malloc(sizeof(int32_t) * MAXN), *rk = malloc(sizeof(int32_t) * MAXN);
    float *sc = malloc(sizeof(float) * MAXN);
    int64_t n = 0, users = 0;
    uint64_t s = 12345;
    for (int32_t user = 0; user < 997; user++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int len = (int)(s >> 60) % 10;
        if (len) users++;
        for (int j = 0; j < len; j++, n++) {
            u[n] = user * 3 + 3;
            it[n] = (int32_t)((s >> 20) % 100000) + j;
            sc[n] = 1.0f / (float)(j + 1);
            rk[n] = j + 1 + (user % 2) * j; /* increasing, not always consecutive */
        }
    }
    char *path = mr_path_join(mr_test_tmpdir(), "recs_rg.parquet");
    for (int dbl = 0; dbl <= 1; dbl++) {
        REQUIRE_OK(write_rows(path, n, u, it, sc, rk, 7, dbl, NULL));
        mr_recs r;
        REQUIRE_OK(mr_recs_read(path, &r));
        CHECK_INT(r.n_users, users);
        CHECK_INT(r.off[r.n_users], n);
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++) {
            if (i == 0 || u[i] != u[i - 1]) {
                REQUIRE(k < r.n_users);
                CHECK_INT(r.user_idx[k], u[i]);
                CHECK_INT(r.off[k], i);
                k++;
            }
            CHECK_INT(r.item_idx[i], it[i]);
            CHECK(r.score[i] == sc[i]);
        }
        CHECK_INT(k, users);
        mr_recs_free(&r);
    }

    /* Errors, each placed at a row group boundary (row 14 starts the third
     * group of 7) and inside a group (row 10). */
    int32_t *u2 = malloc(sizeof(int32_t) * MAXN), *rk2 = malloc(sizeof(int32_t) * MAXN), *it2 = malloc(sizeof(int32_t) * MAXN);
    mr_recs r;
    for (int at = 10; at <= 14; at += 4) {
        memcpy(u2, u, sizeof(int32_t) * (size_t)n);
        memcpy(rk2, rk, sizeof(int32_t) * (size_t)n);
        memcpy(it2, it, sizeof(int32_t) * (size_t)n);
        /* a user going backwards */
        u2[at] = u2[at - 1] - 1;
        for (int64_t i = at + 1; i < n && u[i] == u[at]; i++) u2[i] = u2[at];
        REQUIRE_OK(write_rows(path, n, u2, it, sc, rk, 7, 0, NULL));
        CHECK_ERR(mr_recs_read(path, &r), "not sorted by user_idx");
        CHECK(r.item_idx == NULL && r.n_users == 0);
        /* a rank that does not increase within one user */
        memcpy(u2, u, sizeof(int32_t) * (size_t)n);
        u2[at] = u2[at - 1];
        rk2[at] = rk2[at - 1];
        REQUIRE_OK(write_rows(path, n, u2, it, sc, rk2, 7, 0, NULL));
        CHECK_ERR(mr_recs_read(path, &r), "not sorted by rank");
        /* an item index out of range */
        it2[at] = -5;
        REQUIRE_OK(write_rows(path, n, u, it2, sc, rk, 7, 0, NULL));
        CHECK_ERR(mr_recs_read(path, &r), "-5");
    }
    /* a rank of 0 (ranks are 1-based) */
    memcpy(rk2, rk, sizeof(int32_t) * (size_t)n);
    rk2[0] = 0;
    REQUIRE_OK(write_rows(path, n, u, it, sc, rk2, 7, 0, NULL));
    CHECK_ERR(mr_recs_read(path, &r), "rank");
    /* a null item */
    uint8_t *valid = malloc((size_t)n);
    memset(valid, 1, (size_t)n);
    valid[20] = 0;
    REQUIRE_OK(write_rows(path, n, u, it, sc, rk, 7, 0, valid));
    CHECK_ERR(mr_recs_read(path, &r), "null");
    /* the first error by row wins when several row groups fail */
    memcpy(it2, it, sizeof(int32_t) * (size_t)n);
    it2[100] = -7;
    it2[3] = -6;
    REQUIRE_OK(write_rows(path, n, u, it2, sc, rk, 7, 0, NULL));
    CHECK_ERR(mr_recs_read(path, &r), "-6");
    free(valid);
    free(u2), free(rk2), free(it2);
    free(u), free(it), free(rk), free(sc);
    free(path);
}
