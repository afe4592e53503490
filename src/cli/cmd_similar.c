/* `musrec similar`: step 7, the item-to-item index.
 *
 * Reads models/als_model.bin, finds for every track its N most similar
 * tracks by cosine of the item factors (models/similar.h) and writes
 * results/similar.parquet (track_id, similar_track_id, score, rank,
 * item_idx, similar_item_idx; sorted by item_idx then rank) and
 * results/similar_index.bin for the service. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/recs.h"
#include "models/als.h"
#include "models/similar.h"
#include "parquet/parquet.h"

#define SLICE_ITEMS 65536

static int write_parquet(const char *path, int64_t ni, int n, const int32_t *idx, const float *sc,
                         const int64_t *tid)
{
    static const mr_pq_field fields[] = {
        {"track_id", MR_PQ_W_I64, 0, 0, 0}, {"similar_track_id", MR_PQ_W_I64, 0, 0, 0},
        {"score", MR_PQ_W_F32, 0, 0, 0},    {"rank", MR_PQ_W_I32, 0, 0, 0},
        {"item_idx", MR_PQ_W_I32, 0, 0, 0}, {"similar_item_idx", MR_PQ_W_I32, 0, 0, 0},
    };
    mr_pq_writer *w = NULL;
    int rc = mr_pq_writer_open(&w, path, fields, 6, NULL);
    if (rc) return rc;
    size_t cap = (size_t)SLICE_ITEMS * n;
    int64_t *a = mr_malloc(cap * 8), *b = mr_malloc(cap * 8);
    float *s = mr_malloc(cap * 4);
    int32_t *r = mr_malloc(cap * 4), *ii = mr_malloc(cap * 4), *si = mr_malloc(cap * 4);
    if (!a || !b || !s || !r || !ii || !si) rc = MR_ENOMEM;
    for (int64_t i0 = 0; i0 < ni && !rc; i0 += SLICE_ITEMS) {
        int64_t m = 0, i1 = i0 + SLICE_ITEMS < ni ? i0 + SLICE_ITEMS : ni;
        for (int64_t i = i0; i < i1; i++)
            for (int j = 0; j < n; j++) {
                int32_t t = idx[i * n + j];
                if (t < 0) break;
                a[m] = tid[i];
                b[m] = tid[t];
                s[m] = sc[i * n + j];
                r[m] = j + 1;
                ii[m] = (int32_t)i;
                si[m++] = t;
            }
        mr_pq_col cols[6] = {
            {.n_rows = m, .n_slots = m, .values = a},  {.n_rows = m, .n_slots = m, .values = b},
            {.n_rows = m, .n_slots = m, .values = s},  {.n_rows = m, .n_slots = m, .values = r},
            {.n_rows = m, .n_slots = m, .values = ii}, {.n_rows = m, .n_slots = m, .values = si},
        };
        if (m > 0) rc = mr_pq_writer_write(w, cols);
    }
    free(a), free(b), free(s), free(r), free(ii), free(si);
    if (rc) {
        mr_pq_writer_abort(w);
        return rc;
    }
    return mr_pq_writer_close(w);
}

int mr_cmd_similar(mr_ctx *ctx, int argc, char **argv)
{
    int64_t top_n = 10, nlist = 0, nprobe = 16;
    int approx = 0;
    const mr_arg args[] = {
        {"top-n", MR_ARG_INT, &top_n, "SIMILAR_TOP_N", NULL, "similar tracks per track"},
        {"approx", MR_ARG_FLAG, &approx, "SIMILAR_APPROX", NULL,
         "approximate search over k-means clusters (recall against exact is measured and logged)"},
        {"nlist", MR_ARG_INT, &nlist, "SIMILAR_NLIST", NULL, "--approx: clusters; 0 = sqrt(tracks)"},
        {"nprobe", MR_ARG_INT, &nprobe, "SIMILAR_NPROBE", NULL, "--approx: clusters searched per track"},
        {0},
    };
    int rc = mr_args_parse(ctx, "similar", "[options]",
                           "For every track, its N most similar tracks by cosine of the ALS item factors\n"
                           "(itself excluded): results/similar.parquet and results/similar_index.bin.",
                           args, argc, argv, NULL, NULL);
    if (rc) return rc == MR_ARGS_HELP ? 0 : 2;
    if (top_n < 1 || top_n > 10000) {
        fprintf(stderr, "musrec similar: --top-n must be between 1 and 10000, got %lld\n", (long long)top_n);
        return 2;
    }
    mr_step st;
    if (mr_step_begin(ctx, &st, "similar")) return 1;
    char *model_path = mr_ctx_path(ctx, "models/als_model.bin");
    char *items_path = mr_ctx_path(ctx, "data/preprocessed/items.parquet");
    char *pq_path = mr_ctx_path(ctx, "results/similar.parquet");
    char *ix_path = mr_ctx_path(ctx, "results/similar_index.bin");
    mr_als_model m = {0};
    int64_t *tid = NULL;
    int32_t *idx = NULL;
    float *sc = NULL;
    if (!model_path || !items_path || !pq_path || !ix_path) {
        rc = MR_ENOMEM;
        goto out;
    }
    mr_step_file(&st, "input", model_path);
    if ((rc = mr_als_load(model_path, &m, NULL)) != 0) goto out;
    if ((rc = mr_read_id_column(items_path, "track_id", m.n_items, &tid, NULL)) != 0) goto out;
    int n = (int)(top_n < m.n_items - 1 ? top_n : (m.n_items > 1 ? m.n_items - 1 : 1));
    idx = mr_malloc(sizeof(int32_t) * (size_t)m.n_items * n);
    sc = mr_malloc(sizeof(float) * (size_t)m.n_items * n);
    if (!idx || !sc) {
        rc = MR_ENOMEM;
        goto out;
    }
    double t0 = mr_now();
    if (approx) {
        if (nlist <= 0) nlist = (int64_t)ceil(sqrt((double)m.n_items));
        if (nlist > INT32_MAX || nprobe < 1 || nprobe > INT32_MAX) {
            rc = mr_err(MR_EUSAGE, "--nprobe must be at least 1 and --nlist at most 2^31");
            goto out;
        }
        if ((rc = mr_similar_compute_approx(m.item_factors, m.n_items, m.factors, n, (int)nlist, (int)nprobe, idx,
                                            sc)) != 0)
            goto out;
        double secs = mr_now() - t0;
        double recall = mr_similar_recall(m.item_factors, m.n_items, m.factors, n, idx, 1000);
        MR_LOG(MR_LOG_INFO, "similar items", MR_I("items", m.n_items), MR_I("top_n", n), MR_F("seconds", secs),
               MR_S("method", "approx"), MR_I("nlist", nlist), MR_I("nprobe", nprobe),
               MR_F("recall_vs_exact", recall), MR_I("recall_sample", m.n_items < 1000 ? m.n_items : 1000));
    } else {
        mr_topk_opts o = {.k = n};
        if ((rc = mr_similar_compute_opts(m.item_factors, m.n_items, m.factors, n, &o, idx, sc)) != 0) goto out;
        MR_LOG(MR_LOG_INFO, "similar items", MR_I("items", m.n_items), MR_I("top_n", n),
               MR_F("seconds", mr_now() - t0), MR_S("method", "exact"),
               MR_S("engine", mr_topk_path_name(o.path)),
               MR_I("rescored", o.rescored),
               MR_F("rescored_fraction", (double)o.rescored / ((double)m.n_items * (double)m.n_items)));
    }
    if ((rc = write_parquet(pq_path, m.n_items, n, idx, sc, tid)) != 0) goto out;
    mr_step_file(&st, "output", pq_path);
    if ((rc = mr_similar_write_index(ix_path, m.n_items, n, m.factors, idx, sc)) != 0) goto out;
    mr_step_file(&st, "output", ix_path);
out:
    mr_als_free(&m);
    free(tid), free(idx), free(sc);
    free(model_path), free(items_path), free(pq_path), free(ix_path);
    return mr_step_end(ctx, &st, rc);
}
