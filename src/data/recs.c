/* Recommendation lists on disk (recs.h): parquet through our writer and
 * reader. Writing goes a slice of users at a time (about one row group), so
 * the raw-id columns never exist for the whole file at once; reading takes
 * only the four columns the pipeline needs, row group by row group, and
 * checks the order the format promises. */
#include "data/recs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "parquet/parquet.h"

#define SLICE_ROWS (1 << 20)

void mr_recs_free(mr_recs *r)
{
    free(r->user_idx);
    free(r->off);
    free(r->item_idx);
    free(r->score);
    memset(r, 0, sizeof *r);
}

int mr_recs_write(const char *path, const mr_recs *r, const int32_t *user_id, const int64_t *track_id)
{
    static const mr_pq_field fields[] = {
        {"user_id", MR_PQ_W_I32, 0, 0, 0},  {"user_idx", MR_PQ_W_I32, 0, 0, 0}, {"track_id", MR_PQ_W_I64, 0, 0, 0},
        {"item_idx", MR_PQ_W_I32, 0, 0, 0}, {"score", MR_PQ_W_F32, 0, 0, 0},    {"rank", MR_PQ_W_I32, 0, 0, 0},
    };
    mr_pq_writer *w = NULL;
    int rc = mr_pq_writer_open(&w, path, fields, 6, NULL);
    if (rc) return rc;
    int32_t *uid = mr_malloc(sizeof(int32_t) * SLICE_ROWS), *uix = mr_malloc(sizeof(int32_t) * SLICE_ROWS);
    int64_t *tid = mr_malloc(sizeof(int64_t) * SLICE_ROWS);
    int32_t *iix = mr_malloc(sizeof(int32_t) * SLICE_ROWS), *rank = mr_malloc(sizeof(int32_t) * SLICE_ROWS);
    float *sc = mr_malloc(sizeof(float) * SLICE_ROWS);
    if (!uid || !uix || !tid || !iix || !rank || !sc) {
        rc = MR_ENOMEM;
        goto out;
    }
    int64_t u = 0;
    while (u < r->n_users) {
        int64_t n = 0;
        /* whole users per slice; a user longer than a slice gets its own */
        while (u < r->n_users && (n == 0 || n + (r->off[u + 1] - r->off[u]) <= SLICE_ROWS)) {
            int64_t len = r->off[u + 1] - r->off[u];
            if (len > SLICE_ROWS) {
                rc = mr_err(MR_EINVAL, "writing %s: user_idx %d has %lld recommendations, more than %d", path,
                            r->user_idx[u], (long long)len, SLICE_ROWS);
                goto out;
            }
            for (int64_t j = 0; j < len; j++) {
                int32_t item = r->item_idx[r->off[u] + j];
                uix[n] = r->user_idx[u];
                uid[n] = user_id ? user_id[r->user_idx[u]] : r->user_idx[u];
                iix[n] = item;
                tid[n] = track_id ? track_id[item] : item;
                sc[n] = r->score[r->off[u] + j];
                rank[n] = (int32_t)(j + 1);
                n++;
            }
            u++;
        }
        mr_pq_col cols[6] = {
            {.n_rows = n, .n_slots = n, .values = uid}, {.n_rows = n, .n_slots = n, .values = uix},
            {.n_rows = n, .n_slots = n, .values = tid}, {.n_rows = n, .n_slots = n, .values = iix},
            {.n_rows = n, .n_slots = n, .values = sc},  {.n_rows = n, .n_slots = n, .values = rank},
        };
        if ((rc = mr_pq_writer_write(w, cols)) != 0) goto out;
    }
    rc = mr_pq_writer_close(w);
    w = NULL;
out:
    if (w) mr_pq_writer_abort(w);
    free(uid), free(uix), free(tid), free(iix), free(rank), free(sc);
    return rc;
}

/* Reads column `col` of row group rg as int64 or double into dst (n rows). */
static int read_num(mr_pq_reader *pr, int rg, int col, int64_t n, int64_t *di, double *dd)
{
    const mr_pq_column_info *ci = mr_pq_column(pr, col);
    mr_pq_col c;
    memset(&c, 0, sizeof c);
    if (ci->list_depth != 0)
        return mr_err(MR_EFORMAT, "%s: column '%s' is a list, expected numbers", mr_pq_path(pr), ci->name);
    int rc = mr_pq_read(pr, rg, col, &c);
    if (rc) return rc;
    if (c.n_slots != n) {
        mr_pq_col_free(&c);
        return mr_err(MR_EFORMAT, "%s: column '%s' has %lld values in row group %d, expected %lld", mr_pq_path(pr),
                      ci->name, (long long)c.n_slots, rg, (long long)n);
    }
    if (c.valid)
        for (int64_t j = 0; j < n; j++)
            if (!c.valid[j]) {
                mr_pq_col_free(&c);
                return mr_err(MR_EFORMAT, "%s: column '%s' has a null in row group %d", mr_pq_path(pr), ci->name, rg);
            }
    for (int64_t j = 0; j < n; j++) {
        double v;
        switch (ci->physical) {
        case MR_PQ_INT32: v = ((const int32_t *)c.values)[j]; break;
        case MR_PQ_INT64: v = (double)((const int64_t *)c.values)[j]; break;
        case MR_PQ_FLOAT: v = ((const float *)c.values)[j]; break;
        case MR_PQ_DOUBLE: v = ((const double *)c.values)[j]; break;
        default:
            mr_pq_col_free(&c);
            return mr_err(MR_EFORMAT, "%s: column '%s' is not numeric", mr_pq_path(pr), ci->name);
        }
        if (di) {
            if (ci->physical == MR_PQ_INT64) di[j] = ((const int64_t *)c.values)[j];
            else if (ci->physical == MR_PQ_INT32) di[j] = ((const int32_t *)c.values)[j];
            else {
                mr_pq_col_free(&c);
                return mr_err(MR_EFORMAT, "%s: column '%s' must be an integer column", mr_pq_path(pr), ci->name);
            }
        } else dd[j] = v;
    }
    mr_pq_col_free(&c);
    return 0;
}

int mr_recs_read(const char *path, mr_recs *r)
{
    memset(r, 0, sizeof *r);
    mr_pq_reader *pr = NULL;
    int rc = mr_pq_open(&pr, path);
    if (rc) return rc;
    int cu, ci, cs, ck;
    if ((rc = mr_pq_require(pr, "user_idx", &cu)) || (rc = mr_pq_require(pr, "item_idx", &ci)) ||
        (rc = mr_pq_require(pr, "score", &cs)) || (rc = mr_pq_require(pr, "rank", &ck))) {
        mr_pq_close(pr);
        return rc;
    }
    int64_t total = mr_pq_num_rows(pr), rows = 0, users = 0;
    r->item_idx = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    r->score = mr_malloc(sizeof(float) * (size_t)(total + 1));
    r->user_idx = mr_malloc(sizeof(int32_t) * (size_t)(total + 1));
    r->off = mr_malloc(sizeof(int64_t) * (size_t)(total + 2));
    int64_t *bu = NULL, *bi = NULL, *bk = NULL;
    double *bs = NULL;
    if (!r->item_idx || !r->score || !r->user_idx || !r->off) {
        rc = MR_ENOMEM;
        goto out;
    }
    int64_t prev_user = -1, prev_rank = 0;
    for (int rg = 0; rg < mr_pq_num_row_groups(pr); rg++) {
        int64_t n = mr_pq_row_group_rows(pr, rg);
        free(bu), free(bi), free(bk), free(bs);
        bu = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
        bi = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
        bk = mr_malloc(sizeof(int64_t) * (size_t)(n + 1));
        bs = mr_malloc(sizeof(double) * (size_t)(n + 1));
        if (!bu || !bi || !bk || !bs) {
            rc = MR_ENOMEM;
            goto out;
        }
        if ((rc = read_num(pr, rg, cu, n, bu, NULL)) || (rc = read_num(pr, rg, ci, n, bi, NULL)) ||
            (rc = read_num(pr, rg, ck, n, bk, NULL)) || (rc = read_num(pr, rg, cs, n, NULL, bs)))
            goto out;
        for (int64_t j = 0; j < n; j++, rows++) {
            if (bu[j] < 0 || bu[j] > INT32_MAX || bi[j] < 0 || bi[j] > INT32_MAX) {
                rc = mr_err(MR_EFORMAT, "%s: row %lld has user_idx %lld, item_idx %lld: out of range", path,
                            (long long)rows, (long long)bu[j], (long long)bi[j]);
                goto out;
            }
            if (bu[j] != prev_user) {
                if (bu[j] < prev_user) {
                    rc = mr_err(MR_EFORMAT, "%s: row %lld is not sorted by user_idx (%lld after %lld)", path,
                                (long long)rows, (long long)bu[j], (long long)prev_user);
                    goto out;
                }
                r->user_idx[users] = (int32_t)bu[j];
                r->off[users++] = rows;
                prev_user = bu[j];
                prev_rank = 0;
            }
            if (bk[j] <= prev_rank) {
                rc = mr_err(MR_EFORMAT, "%s: row %lld is not sorted by rank within user_idx %lld (rank %lld after %lld)",
                            path, (long long)rows, (long long)bu[j], (long long)bk[j], (long long)prev_rank);
                goto out;
            }
            prev_rank = bk[j];
            r->item_idx[rows] = (int32_t)bi[j];
            r->score[rows] = (float)bs[j];
        }
    }
    r->n_users = users;
    r->off[users] = rows;
out:
    free(bu), free(bi), free(bk), free(bs);
    mr_pq_close(pr);
    if (rc) mr_recs_free(r);
    return rc;
}

int mr_read_id_column(const char *path, const char *column, int64_t expect_rows, int64_t **ids, int64_t *n)
{
    *ids = NULL;
    mr_pq_reader *pr = NULL;
    int rc = mr_pq_open(&pr, path);
    if (rc) return rc;
    int col;
    int64_t rows = mr_pq_num_rows(pr);
    if ((rc = mr_pq_require(pr, column, &col)) != 0) goto out;
    if (expect_rows >= 0 && rows != expect_rows) {
        rc = mr_err(MR_EFORMAT, "%s has %lld rows but the model has %lld; it is not the id map the model was "
                                "trained with (rerun the pipeline from preprocess)",
                    path, (long long)rows, (long long)expect_rows);
        goto out;
    }
    *ids = mr_malloc(sizeof(int64_t) * (size_t)(rows + 1));
    if (!*ids) {
        rc = MR_ENOMEM;
        goto out;
    }
    rc = mr_pq_read_all_i64(pr, col, *ids);
    if (rc) {
        free(*ids);
        *ids = NULL;
    } else if (n) *n = rows;
out:
    mr_pq_close(pr);
    return rc;
}
