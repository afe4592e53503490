/* Loading a snapshot from a work directory.
 *
 * Required: the catalog (data/preprocessed/items.parquet). Everything else
 * is optional and its absence is logged once, so the service can start on a
 * partial pipeline (popularity only, say) and gain parts on SIGHUP:
 *   data/preprocessed/users.parquet       user_id -> user_idx
 *   results/recommendations.parquet       offline lists (ranker); else
 *   results/personal_als.parquet          offline lists (ALS)
 *   data/preprocessed/train_matrix.npz    what each known user listened to
 *   results/top_popular.parquet           popular list
 *   results/similar_index.bin             similar items (mapped, not read)
 *   models/als_model.bin                  item factors, λ and α, for fold-in
 * A file that exists but is wrong (corrupt, other item count) is an error:
 * serving half-matching artifacts would be worse than not starting (or, on
 * SIGHUP, than keeping the old ones).
 *
 * Arrays are taken over from the readers (they allocate each array with
 * malloc or mr_malloc_huge), not copied, so loading needs no second copy of
 * the big ones. Only what requests use is kept, or even read:
 *   - the train matrix: its structure (indptr, indices), which filters out
 *     tracks a known user already heard; its values (listen counts, as
 *     large as the indices) are not read (MR_NPZ_PATTERN);
 *   - the ALS model: item factors, λ and α; fold-in solves for an unknown
 *     user from the item side alone, and known users have offline lists,
 *     so the user factors are only streamed through the checksum
 *     (MR_ALS_LOAD_ITEMS_ONLY).
 * Each part's seconds and the resident memory after it are logged
 * ("artifact loaded"; bench/serve_start.sh prints them).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "data/recs.h"
#include "data/tables.h"
#include "models/als.h"
#include "models/similar.h"
#include "parquet/parquet.h"
#include "serve/snapshot.h"
#include "store/npy.h"

#define TAKE(dst, src) ((dst) = (src), (src) = NULL)

static int load_items(mr_snap *s, const char *path)
{
    mr_items it;
    int rc = mr_items_read(path, &it);
    if (rc) return rc;
    s->n_items = it.n;
    TAKE(s->track_id, it.track_id);
    TAKE(s->name_off, it.name_off);
    TAKE(s->name_bytes, it.name_bytes);
    TAKE(s->artist_off, it.artist_off);
    TAKE(s->artist_name_off, it.artist_name_off);
    TAKE(s->artist_name_bytes, it.artist_name_bytes);
    mr_items_free(&it);
    return 0;
}

static int load_users(mr_snap *s, const char *path)
{
    mr_users u;
    int rc = mr_users_read(path, &u);
    if (rc) return rc;
    s->n_users = u.n;
    TAKE(s->user_id, u.user_id);
    mr_users_free(&u);
    return 0;
}

static int load_recs(mr_snap *s, const char *path)
{
    mr_recs r;
    int rc = mr_recs_read(path, &r);
    if (rc) return rc;
    s->n_rec_users = r.n_users;
    TAKE(s->rec_user, r.user_idx);
    TAKE(s->rec_off, r.off);
    TAKE(s->rec_item, r.item_idx);
    TAKE(s->rec_score, r.score);
    mr_recs_free(&r);
    return 0;
}

static int load_history(mr_snap *s, const char *path)
{
    mr_csr m;
    int rc = mr_npz_read_csr_opts(path, &m, MR_NPZ_PATTERN); /* which items, not how often */
    if (rc) return rc;
    if (m.n_rows != s->n_users || m.n_cols != s->n_items) {
        rc = mr_err(MR_EFORMAT, "%s is %lld x %lld but there are %d users and %d items: a stale matrix?", path,
                    (long long)m.n_rows, (long long)m.n_cols, s->n_users, s->n_items);
        mr_csr_free(&m);
        return rc;
    }
    TAKE(s->hist_off, m.indptr);
    TAKE(s->hist_item, m.indices);
    mr_csr_free(&m);
    return 0;
}

static int load_popular(mr_snap *s, const char *path)
{
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int c_item, c_rank, c_score;
    int64_t n = mr_pq_num_rows(r), *item = NULL, *rank = NULL;
    if ((rc = mr_pq_require(r, "item_idx", &c_item)) || (rc = mr_pq_require(r, "rank", &c_rank)) ||
        (rc = mr_pq_require(r, "score", &c_score)))
        goto done;
    if (n > INT32_MAX) {
        rc = mr_err(MR_EFORMAT, "%s: %lld rows is too many for a popular list", path, (long long)n);
        goto done;
    }
    item = mr_malloc((size_t)(n ? n : 1) * sizeof *item);
    rank = mr_malloc((size_t)(n ? n : 1) * sizeof *rank);
    s->pop_item = mr_malloc((size_t)(n ? n : 1) * sizeof *s->pop_item);
    s->pop_score = mr_malloc((size_t)(n ? n : 1) * sizeof *s->pop_score);
    if (!item || !rank || !s->pop_item || !s->pop_score) {
        rc = MR_ENOMEM;
        goto done;
    }
    if ((rc = mr_pq_read_all_i64(r, c_item, item)) || (rc = mr_pq_read_all_i64(r, c_rank, rank))) goto done;
    const mr_pq_column_info *ci = mr_pq_column(r, c_score);
    if (ci->physical != MR_PQ_FLOAT && ci->physical != MR_PQ_DOUBLE) {
        rc = mr_err(MR_EFORMAT, "%s: column score is not FLOAT or DOUBLE", path);
        goto done;
    }
    int64_t at = 0;
    for (int g = 0; g < mr_pq_num_row_groups(r) && !rc; g++) {
        mr_pq_col col;
        if ((rc = mr_pq_read(r, g, c_score, &col))) break;
        for (int64_t i = 0; i < col.n_slots && at < n; i++, at++) {
            if (col.valid && !col.valid[i]) {
                rc = mr_err(MR_EFORMAT, "%s: column score has a null in row %lld", path, (long long)at);
                break;
            }
            s->pop_score[at] = ci->physical == MR_PQ_FLOAT ? ((const float *)col.values)[i]
                                                             : (float)((const double *)col.values)[i];
        }
        mr_pq_col_free(&col);
    }
    for (int64_t i = 0; i < n && !rc; i++) {
        if (rank[i] != i + 1) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld has rank %lld, expected %lld (rows in rank order)", path,
                        (long long)i, (long long)rank[i], (long long)i + 1);
            break;
        }
        if (item[i] < 0 || item[i] >= s->n_items) {
            rc = mr_err(MR_EFORMAT, "%s: row %lld has item_idx %lld, outside the catalog of %d items", path,
                        (long long)i, (long long)item[i], s->n_items);
            break;
        }
        s->pop_item[i] = (int32_t)item[i];
    }
    if (!rc) s->n_popular = (int32_t)n;
done:
    free(item);
    free(rank);
    mr_pq_close(r);
    return rc;
}

static void unmap_similar(void *p)
{
    mr_similar_unmap(p);
    free(p);
}

static int load_similar(mr_snap *s, const char *path)
{
    mr_similar_index *ix = mr_calloc(1, sizeof *ix);
    if (!ix) return MR_ENOMEM;
    int rc = mr_similar_map(path, 0, ix);
    if (rc) {
        free(ix);
        return rc;
    }
    if (ix->n_items != s->n_items) {
        rc = mr_err(MR_EFORMAT, "%s has %lld items but the catalog has %d: a stale index?", path,
                    (long long)ix->n_items, s->n_items);
        unmap_similar(ix);
        return rc;
    }
    s->sim_map = ix;
    s->sim_unmap = unmap_similar;
    s->sim_width = ix->n;
    s->sim_stride = 2 * ix->n;
    if (ix->n_items > 0 && ix->n > 0) {
        s->sim_item = mr_similar_items(ix, 0);
        s->sim_score = mr_similar_scores(ix, 0);
    }
    return 0;
}

static int load_als(mr_snap *s, const char *path)
{
    mr_als_model m;
    mr_als_meta meta;
    memset(&m, 0, sizeof m);
    int rc = mr_als_load_opts(path, &m, &meta, MR_ALS_LOAD_ITEMS_ONLY);
    if (rc) return rc;
    if (m.n_items != s->n_items) {
        rc = mr_err(MR_EFORMAT, "%s has factors for %lld items but the catalog has %d: a stale model?", path,
                    (long long)m.n_items, s->n_items);
        mr_als_free(&m);
        return rc;
    }
    s->n_factors = m.factors;
    TAKE(s->item_factors, m.item_factors);
    s->als_reg = (float)meta.regularization;
    s->als_alpha = (float)meta.alpha;
    mr_als_free(&m);
    return 0;
}

typedef int (*part_fn)(mr_snap *, const char *);

/* Loads one optional part; a missing file is logged and skipped. */
static int part(mr_snap *s, const char *workdir, const char *rel, part_fn fn, const char *without)
{
    char *path = mr_path_join(workdir, rel);
    if (!path) return MR_ENOMEM;
    int rc = 0;
    if (!mr_file_exists(path)) {
        MR_LOG(MR_LOG_WARN, "artifact missing", MR_S("path", path), MR_S("effect", without));
    } else {
        double t0 = mr_now();
        rc = fn(s, path);
        if (!rc)
            MR_LOG(MR_LOG_INFO, "artifact loaded", MR_S("path", path), MR_F("seconds", mr_now() - t0),
                   MR_I("rss_bytes", mr_current_rss()));
    }
    free(path);
    return rc;
}

int mr_snap_load(const char *workdir, mr_snap **out)
{
    *out = NULL;
    mr_snap *s = mr_calloc(1, sizeof *s);
    if (!s) return MR_ENOMEM;
    char *items = mr_path_join(workdir, "data/preprocessed/items.parquet");
    int rc = items ? 0 : MR_ENOMEM;
    if (!rc && !mr_file_exists(items))
        rc = mr_err(MR_ENOTFOUND, "%s does not exist: run `musrec preprocess` first (the service needs the catalog)",
                    items);
    if (!rc) rc = load_items(s, items);
    free(items);
    if (!rc) rc = part(s, workdir, "data/preprocessed/users.parquet", load_users, "no offline lists");
    if (!rc && s->n_users > 0) {
        char *ranked = mr_path_join(workdir, "results/recommendations.parquet");
        int have_ranked = ranked && mr_file_exists(ranked);
        free(ranked);
        if (have_ranked) {
            rc = part(s, workdir, "results/recommendations.parquet", load_recs, "");
            strcpy(s->offline_source, "recommendations");
        } else {
            rc = part(s, workdir, "results/personal_als.parquet", load_recs,
                      "no offline lists: every user gets popular (or fold-in)");
            if (s->rec_user) strcpy(s->offline_source, "personal_als");
        }
        if (!rc) rc = part(s, workdir, "data/preprocessed/train_matrix.npz", load_history,
                           "listened tracks of known users are not filtered");
    }
    if (!rc) rc = part(s, workdir, "results/top_popular.parquet", load_popular, "no popular list for cold users");
    if (!rc) rc = part(s, workdir, "results/similar_index.bin", load_similar, "online lists are empty");
    if (!rc) rc = part(s, workdir, "models/als_model.bin", load_als, "no fold-in for unknown users");
    if (!rc) rc = mr_snap_finish(s);
    if (rc) {
        mr_snap_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
