/* Recommendation lists on disk (recs.h): parquet through our writer and
 * reader. Writing goes a slice of users at a time (about one row group), so
 * the raw-id columns never exist for the whole file at once; reading takes
 * only the four columns the pipeline needs, row group by row group, and
 * checks the order the format promises. */
#include "data/recs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "data/pqcol.h"
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

/* The score column of row group rg into dst: FLOAT straight into place,
 * any other number through a per-call buffer. */
static int read_scores(mr_pq_reader *pr, int rg, int col, int64_t n, float *dst)
{
    const mr_pq_column_info *ci = mr_pq_column(pr, col);
    if (ci->list_depth != 0 || (ci->physical != MR_PQ_FLOAT && ci->physical != MR_PQ_DOUBLE &&
                                ci->physical != MR_PQ_INT32 && ci->physical != MR_PQ_INT64))
        return mr_err(MR_EFORMAT, "%s: column '%s' is not a flat numeric column", mr_pq_path(pr), ci->name);
    if (ci->physical == MR_PQ_FLOAT) return mr_pq_read_into(pr, rg, col, dst, NULL);
    void *buf = mr_malloc(8 * (size_t)(n + 1));
    if (!buf) return MR_ENOMEM;
    int rc = mr_pq_read_into(pr, rg, col, buf, NULL);
    for (int64_t j = 0; !rc && j < n; j++)
        dst[j] = ci->physical == MR_PQ_DOUBLE  ? (float)((const double *)buf)[j]
                 : ci->physical == MR_PQ_INT64 ? (float)((const int64_t *)buf)[j]
                                               : (float)((const int32_t *)buf)[j];
    free(buf);
    return rc;
}

/* What one row group holds, for stitching row groups together: the file
 * rows at which a user starts inside it (its first row always counts; the
 * stitch drops it when the previous row group's last user goes on) and the
 * user and rank at both ends. */
typedef struct {
    int64_t n_starts;
    int64_t *start_row;
    int32_t *start_user;
    int32_t first_user, last_user, first_rank, last_rank;
    int rc;
    char msg[512];
} rg_part;

static int check_rg(const char *path, int64_t row0, int64_t n, const int32_t *u, const int32_t *k, rg_part *g)
{
    int64_t starts = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j == 0 || u[j] != u[j - 1]) {
            if (j > 0 && u[j] < u[j - 1])
                return mr_err(MR_EFORMAT, "%s: row %lld is not sorted by user_idx (%d after %d)", path,
                              (long long)(row0 + j), u[j], u[j - 1]);
            starts++;
        } else if (k[j] <= k[j - 1]) {
            return mr_err(MR_EFORMAT, "%s: row %lld is not sorted by rank within user_idx %d (rank %d after %d)",
                          path, (long long)(row0 + j), u[j], k[j], k[j - 1]);
        }
    }
    g->start_row = mr_malloc(sizeof(int64_t) * (size_t)(starts + 1));
    g->start_user = mr_malloc(sizeof(int32_t) * (size_t)(starts + 1));
    if (!g->start_row || !g->start_user) return MR_ENOMEM;
    for (int64_t j = 0; j < n; j++)
        if (j == 0 || u[j] != u[j - 1]) {
            g->start_row[g->n_starts] = row0 + j;
            g->start_user[g->n_starts++] = u[j];
        }
    g->first_user = u[0], g->last_user = u[n - 1];
    g->first_rank = k[0], g->last_rank = k[n - 1];
    return 0;
}

/* The columns mr_recs_read needs, in the order of col[] below. */
enum { C_USER, C_ITEM, C_SCORE, C_RANK };

/* One row group: user_idx and rank into u and k (checked, reduced to the
 * part's user starts), item_idx and score into their slices of r. */
static int read_rg(mr_pq_reader *pr, const char *path, int g, int64_t row0, int64_t n, const int *col, int32_t *u,
                   int32_t *k, mr_recs *r, rg_part *p)
{
    int rc;
    if ((rc = mr_pqc_read_narrow(pr, g, col[C_USER], MR_PQC_INT, u, 4, 0, INT32_MAX)) ||
        (rc = mr_pqc_read_narrow(pr, g, col[C_RANK], MR_PQC_INT, k, 4, 1, INT32_MAX)) ||
        (rc = mr_pqc_read_narrow(pr, g, col[C_ITEM], MR_PQC_INT, r->item_idx + row0, 4, 0, INT32_MAX)) ||
        (rc = read_scores(pr, g, col[C_SCORE], n, r->score + row0)))
        return rc;
    return check_rg(path, row0, n, u, k, p);
}

/* Row groups are decoded in parallel: item_idx and score straight into
 * their slices of the whole arrays, user_idx and rank into per-thread
 * buffers that are checked (ranges, order) and reduced to the row group's
 * user starts; then one pass over the row groups stitches them in order
 * (a user may span two) and reports the first error by row. */
int mr_recs_read(const char *path, mr_recs *r)
{
    memset(r, 0, sizeof *r);
    mr_pq_reader *pr = NULL;
    int rc = mr_pq_open(&pr, path);
    if (rc) return rc;
    int col[4];
    if ((rc = mr_pqc_require(pr, "user_idx", MR_PQC_INT, 0, &col[C_USER])) ||
        (rc = mr_pqc_require(pr, "item_idx", MR_PQC_INT, 0, &col[C_ITEM])) ||
        (rc = mr_pq_require(pr, "score", &col[C_SCORE])) || (rc = mr_pqc_require(pr, "rank", MR_PQC_INT, 0, &col[C_RANK]))) {
        mr_pq_close(pr);
        return rc;
    }
    int nrg = mr_pq_num_row_groups(pr);
    int64_t total = mr_pq_num_rows(pr);
    rg_part *parts = mr_calloc((size_t)nrg + 1, sizeof *parts);
    int64_t *row0 = mr_malloc(sizeof(int64_t) * (size_t)(nrg + 1));
    r->item_idx = mr_malloc_huge(sizeof(int32_t) * (size_t)(total + 1));
    r->score = mr_malloc_huge(sizeof(float) * (size_t)(total + 1));
    if (!parts || !row0 || !r->item_idx || !r->score) {
        rc = MR_ENOMEM;
        goto out;
    }
    row0[0] = 0;
    for (int g = 0; g < nrg; g++) row0[g + 1] = row0[g] + mr_pq_row_group_rows(pr, g);
#pragma omp parallel
    {
        int32_t *u = NULL, *k = NULL;
        int64_t cap = 0;
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < nrg; g++) {
            int64_t n = row0[g + 1] - row0[g];
            rg_part *p = &parts[g];
            if (n == 0) continue;
            if (n > cap) {
                free(u), free(k);
                u = mr_malloc(sizeof(int32_t) * (size_t)n);
                k = mr_malloc(sizeof(int32_t) * (size_t)n);
                cap = u && k ? n : 0;
            }
            p->rc = cap ? read_rg(pr, path, g, row0[g], n, col, u, k, r, p) : MR_ENOMEM;
            if (p->rc) {
                snprintf(p->msg, sizeof p->msg, "%s", mr_errmsg());
            }
        }
        free(u), free(k);
    }
    int64_t users = 0;
    for (int g = 0; g < nrg; g++) {
        if (parts[g].rc) {
            mr_err_set_msg(parts[g].msg);
            rc = parts[g].rc;
            goto out;
        }
        users += parts[g].n_starts;
    }
    r->user_idx = mr_malloc(sizeof(int32_t) * (size_t)(users + 1));
    r->off = mr_malloc(sizeof(int64_t) * (size_t)(users + 2));
    if (!r->user_idx || !r->off) {
        rc = MR_ENOMEM;
        goto out;
    }
    users = 0;
    const rg_part *prev = NULL;
    for (int g = 0; g < nrg; g++) {
        const rg_part *p = &parts[g];
        if (!p->n_starts) continue;
        int64_t from = 0;
        if (prev && p->first_user < prev->last_user) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld is not sorted by user_idx (%d after %d)", path, (long long)row0[g],
                        p->first_user, prev->last_user);
            goto out;
        }
        if (prev && p->first_user == prev->last_user) {
            /* the previous row group's last user goes on */
            if (p->first_rank <= prev->last_rank) {
                rc = mr_err(MR_EFORMAT, "%s: row %lld is not sorted by rank within user_idx %d (rank %d after %d)",
                            path, (long long)row0[g], p->first_user, p->first_rank, prev->last_rank);
                goto out;
            }
            from = 1;
        }
        for (int64_t j = from; j < p->n_starts; j++) {
            r->user_idx[users] = p->start_user[j];
            r->off[users++] = p->start_row[j];
        }
        prev = p;
    }
    r->n_users = users;
    r->off[users] = total;
out:
    for (int g = 0; parts && g < nrg; g++) free(parts[g].start_row), free(parts[g].start_user);
    free(parts);
    free(row0);
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
