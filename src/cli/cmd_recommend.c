/* `musrec recommend --user ID`: one user's list, for people.
 *
 *   als      scores every track with the ALS model, the user's train tracks
 *            excluded (the same engine as results/personal_als.parquet)
 *   popular  results/top_popular.parquet in rank order, minus the user's
 *            train tracks
 *   ranked   the user's rows of results/recommendations.parquet
 *
 * Track names and artists come from data/preprocessed/items.parquet; only
 * the row groups holding the listed tracks are decoded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/vec.h"
#include "cli/cli.h"
#include "data/recs.h"
#include "models/als.h"
#include "models/topk.h"
#include "parquet/parquet.h"
#include "store/npy.h"

static int in_row(const mr_csr *m, int64_t u, int32_t item)
{
    return mr_sorted_has_i32(m->indices + m->indptr[u], m->indptr[u + 1] - m->indptr[u], item);
}

/* Prints one line per item with name and artists from items.parquet. */
static int print_items(const char *items_path, const int32_t *items, const float *scores, int n)
{
    mr_pq_reader *pr = NULL;
    int rc = mr_pq_open(&pr, items_path);
    if (rc) return rc;
    /* names and artists are shown when the file has them */
    int ct, cn = mr_pq_find(pr, "track_name"), ca = mr_pq_find(pr, "artist_names");
    if ((rc = mr_pq_require(pr, "track_id", &ct)) != 0) {
        mr_pq_close(pr);
        return rc;
    }
    printf("%4s  %10s  %9s  %s\n", "rank", "track_id", "score", "track - artists");
    for (int j = 0; j < n && !rc; j++) {
        /* find the row group of row items[j] */
        int64_t row = items[j], start = 0;
        int rg = 0, nrg = mr_pq_num_row_groups(pr);
        while (rg < nrg && start + mr_pq_row_group_rows(pr, rg) <= row) start += mr_pq_row_group_rows(pr, rg++);
        if (rg == nrg) {
            rc = mr_err(MR_EFORMAT, "%s has no row for item_idx %d", items_path, items[j]);
            break;
        }
        int64_t r = row - start;
        mr_pq_col t = {0}, nm = {0}, ar = {0};
        if ((rc = mr_pq_read(pr, rg, ct, &t)) || (cn >= 0 && (rc = mr_pq_read(pr, rg, cn, &nm))) ||
            (ca >= 0 && (rc = mr_pq_read(pr, rg, ca, &ar)))) {
            mr_pq_col_free(&t), mr_pq_col_free(&nm), mr_pq_col_free(&ar);
            break;
        }
        long long track = mr_pq_column(pr, ct)->physical == MR_PQ_INT64 ? (long long)((int64_t *)t.values)[r]
                                                                          : (long long)((int32_t *)t.values)[r];
        printf("%4d  %10lld  %9.4f  ", j + 1, track, (double)scores[j]);
        if (nm.offsets && (!nm.valid || nm.valid[r]))
            fwrite(nm.bytes + nm.offsets[r], 1, (size_t)(nm.offsets[r + 1] - nm.offsets[r]), stdout);
        else fputs("(no name)", stdout);
        if (ca >= 0 && ar.list_offsets && (!ar.list_valid || ar.list_valid[r])) {
            for (int64_t s = ar.list_offsets[r]; s < ar.list_offsets[r + 1]; s++) {
                fputs(s == ar.list_offsets[r] ? " - " : ", ", stdout);
                fwrite(ar.bytes + ar.offsets[s], 1, (size_t)(ar.offsets[s + 1] - ar.offsets[s]), stdout);
            }
        }
        fputc('\n', stdout);
        mr_pq_col_free(&t), mr_pq_col_free(&nm), mr_pq_col_free(&ar);
    }
    mr_pq_close(pr);
    return rc;
}

/* results/top_popular.parquet: rank, item_idx, score; in rank order. */
static int popular_list(const char *path, const mr_csr *ui, int64_t u, int k, int32_t *items, float *scores, int *n)
{
    mr_pq_reader *pr = NULL;
    int rc = mr_pq_open(&pr, path);
    if (rc) return rc;
    int cr, ci, cs;
    int64_t rows = mr_pq_num_rows(pr);
    int64_t *rank = NULL, *item = NULL;
    mr_pq_col sc = {0};
    if ((rc = mr_pq_require(pr, "rank", &cr)) || (rc = mr_pq_require(pr, "item_idx", &ci)) ||
        (rc = mr_pq_require(pr, "score", &cs)))
        goto out;
    rank = mr_malloc(sizeof(int64_t) * (size_t)(rows + 1));
    item = mr_malloc(sizeof(int64_t) * (size_t)(rows + 1));
    if (!rank || !item) {
        rc = MR_ENOMEM;
        goto out;
    }
    if ((rc = mr_pq_read_all_i64(pr, cr, rank)) || (rc = mr_pq_read_all_i64(pr, ci, item))) goto out;
    /* rows are in rank order as the popularity step writes them; say so if not */
    for (int64_t r = 1; r < rows; r++)
        if (rank[r] < rank[r - 1]) {
            rc = mr_err(MR_EFORMAT, "%s is not sorted by rank (row %lld)", path, (long long)r);
            goto out;
        }
    *n = 0;
    int64_t start = 0;
    for (int rg = 0; rg < mr_pq_num_row_groups(pr) && *n < k && !rc; rg++) {
        int64_t m = mr_pq_row_group_rows(pr, rg);
        if ((rc = mr_pq_read(pr, rg, cs, &sc)) != 0) break;
        int phys = mr_pq_column(pr, cs)->physical;
        for (int64_t j = 0; j < m && *n < k; j++) {
            int64_t it = item[start + j];
            if (it < 0 || it >= ui->n_cols) {
                rc = mr_err(MR_EFORMAT, "%s: item_idx %lld out of range", path, (long long)it);
                break;
            }
            if (in_row(ui, u, (int32_t)it)) continue;
            items[*n] = (int32_t)it;
            scores[(*n)++] = phys == MR_PQ_DOUBLE ? (float)((double *)sc.values)[j]
                           : phys == MR_PQ_FLOAT  ? ((float *)sc.values)[j]
                           : phys == MR_PQ_INT64  ? (float)((int64_t *)sc.values)[j]
                                                  : (float)((int32_t *)sc.values)[j];
        }
        mr_pq_col_free(&sc);
        start += m;
    }
out:
    free(rank), free(item);
    mr_pq_close(pr);
    return rc;
}

int mr_cmd_recommend(mr_ctx *ctx, int argc, char **argv)
{
    int64_t user = -1, k = 10;
    const char *model = "als";
    const mr_arg args[] = {
        {"user", MR_ARG_INT, &user, NULL, NULL, "raw user_id (as in the interactions)"},
        {"k", MR_ARG_INT, &k, NULL, "10", "how many tracks"},
        {"model", MR_ARG_STR, &model, NULL, "als", "als, popular or ranked"},
        {0},
    };
    int rc = mr_args_parse(ctx, "recommend", "--user ID [--k 10] [--model als|popular|ranked]",
                           "Prints one user's recommendations with track names and artists. Tracks the\n"
                           "user listened to in train are never recommended.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    if (user < 0) {
        fprintf(stderr, "musrec recommend: --user ID is required\n");
        return 2;
    }
    if (k < 1 || k > 10000) {
        fprintf(stderr, "musrec recommend: --k must be between 1 and 10000, got %lld\n", (long long)k);
        return 2;
    }
    if (strcmp(model, "als") && strcmp(model, "popular") && strcmp(model, "ranked")) {
        fprintf(stderr, "musrec recommend: --model must be als, popular or ranked, got '%s'\n", model);
        return 2;
    }
    char *users_path = mr_ctx_path(ctx, "data/preprocessed/users.parquet");
    char *items_path = mr_ctx_path(ctx, "data/preprocessed/items.parquet");
    char *train_path = mr_ctx_path(ctx, "data/preprocessed/train_matrix.npz");
    char *model_path = mr_ctx_path(ctx, "models/als_model.bin");
    char *pop_path = mr_ctx_path(ctx, "results/top_popular.parquet");
    char *rec_path = mr_ctx_path(ctx, "results/recommendations.parquet");
    int64_t *uid = NULL, nusers = 0;
    mr_csr ui = {0};
    mr_als_model m = {0};
    mr_recs recs = {0};
    int32_t *items = mr_malloc(sizeof(int32_t) * (size_t)k);
    float *scores = mr_malloc(sizeof(float) * (size_t)k);
    int n = 0;
    if (!users_path || !items_path || !train_path || !model_path || !pop_path || !rec_path || !items || !scores) {
        rc = MR_ENOMEM;
        goto out;
    }
    {
        const char *need = strcmp(model, "popular") == 0 ? pop_path : strcmp(model, "ranked") == 0 ? rec_path : model_path;
        const char *step = strcmp(model, "popular") == 0 ? "popular" : strcmp(model, "ranked") == 0 ? "rank" : "als";
        if (!mr_file_exists(need)) {
            rc = mr_err(MR_ENOTFOUND, "%s does not exist; run `musrec %s` first", need, step);
            goto out;
        }
    }
    if ((rc = mr_read_id_column(users_path, "user_id", -1, &uid, &nusers)) != 0) goto out;
    int64_t u = -1;
    for (int64_t j = 0; j < nusers; j++)
        if (uid[j] == user) {
            u = j;
            break;
        }
    if (u < 0) {
        rc = mr_err(MR_ENOTFOUND, "user %lld is not in %s (unknown user: no events before the split)", (long long)user,
                    users_path);
        goto out;
    }
    if (strcmp(model, "ranked") == 0) {
        if ((rc = mr_recs_read(rec_path, &recs)) != 0) goto out;
        int64_t lo = mr_lower_bound_i32(recs.user_idx, recs.n_users, u);
        if (lo == recs.n_users || recs.user_idx[lo] != u) {
            rc = mr_err(MR_ENOTFOUND, "user %lld has no list in %s", (long long)user, rec_path);
            goto out;
        }
        for (int64_t j = recs.off[lo]; j < recs.off[lo + 1] && n < k; j++) {
            items[n] = recs.item_idx[j];
            scores[n++] = recs.score[j];
        }
    } else {
        if ((rc = mr_npz_read_csr(train_path, &ui)) != 0) goto out;
        if (u >= ui.n_rows) {
            rc = mr_err(MR_EFORMAT, "%s has %lld rows but user %lld has user_idx %lld", train_path,
                        (long long)ui.n_rows, (long long)user, (long long)u);
            goto out;
        }
        if (strcmp(model, "popular") == 0) {
            if ((rc = popular_list(pop_path, &ui, u, (int)k, items, scores, &n)) != 0) goto out;
        } else {
            if ((rc = mr_als_load(model_path, &m, NULL)) != 0) goto out;
            if (m.n_users != ui.n_rows || m.n_items != ui.n_cols) {
                rc = mr_err(MR_EFORMAT, "%s (%lld x %lld) does not match %s (%lld x %lld); rerun `musrec als`",
                            model_path, (long long)m.n_users, (long long)m.n_items, train_path, (long long)ui.n_rows,
                            (long long)ui.n_cols);
                goto out;
            }
            mr_csr view = {.n_rows = 1, .n_cols = ui.n_cols, .nnz = ui.nnz, .indptr = ui.indptr + u,
                           .indices = ui.indices, .data = ui.data};
            mr_topk_opts o = {.k = (int)k, .exclude = &view};
            if ((rc = mr_topk(m.user_factors + u * m.factors, 1, m.item_factors, m.n_items, m.factors, &o, items,
                              scores)) != 0)
                goto out;
            while (n < k && items[n] >= 0) n++;
        }
        printf("user %lld (user_idx %lld, %lld tracks in train), model %s:\n", (long long)user, (long long)u,
               (long long)(ui.indptr[u + 1] - ui.indptr[u]), model);
        if (ui.indptr[u + 1] == ui.indptr[u] && strcmp(model, "als") == 0)
            printf("note: this user has no train history, so ALS has nothing to go on; try --model popular\n");
    }
    if (strcmp(model, "ranked") == 0) printf("user %lld (user_idx %lld), model ranked:\n", (long long)user, (long long)u);
    rc = print_items(items_path, items, scores, n);
out:
    free(uid), free(items), free(scores);
    mr_csr_free(&ui);
    mr_als_free(&m);
    mr_recs_free(&recs);
    free(users_path), free(items_path), free(train_path), free(model_path), free(pop_path), free(rec_path);
    if (rc) {
        fprintf(stderr, "musrec recommend: %s\n", mr_errmsg());
        return 1;
    }
    return 0;
}
