#include "serve/snapshot.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/vec.h"

/* Scans in parallel (these arrays reach hundreds of millions of entries at
 * scale) and reports the first bad entry. */
static int check_items(const char *what, const int32_t *v, int64_t n, int32_t n_items, int allow_pad)
{
    int64_t bad = n;
#pragma omp parallel for reduction(min : bad) if (n > (1 << 20))
    for (int64_t i = 0; i < n; i++)
        if ((v[i] >= n_items || (v[i] < 0 && !(allow_pad && v[i] == -1))) && i < bad) bad = i;
    if (bad < n)
        return mr_err(MR_EFORMAT, "%s: entry %lld holds item_idx %d, outside [0, %d)", what, (long long)bad, v[bad],
                      n_items);
    return 0;
}

static int check_off(const char *what, const int64_t *off, int64_t n, int64_t total_max)
{
    if (off[0] != 0) return mr_err(MR_EFORMAT, "%s: offsets do not start at 0", what);
    for (int64_t i = 0; i < n; i++)
        if (off[i + 1] < off[i])
            return mr_err(MR_EFORMAT, "%s: offsets decrease at row %lld", what, (long long)i);
    if (total_max >= 0 && off[n] > total_max)
        return mr_err(MR_EFORMAT, "%s: offsets run past the data (%lld > %lld)", what,
                      (long long)off[n], (long long)total_max);
    return 0;
}

int mr_snap_finish(mr_snap *s)
{
    int rc;
    if (s->n_items <= 0) return mr_err(MR_EFORMAT, "the catalog is empty: no items to recommend");
    if (!s->track_id) return mr_err(MR_EINVAL, "snapshot has no track ids");
    if ((rc = mr_imap_init(&s->track_index, (size_t)s->n_items))) return rc;
    for (int32_t i = 0; i < s->n_items; i++) {
        int32_t prev;
        if (mr_imap_get(&s->track_index, s->track_id[i], &prev))
            return mr_err(MR_EFORMAT, "track_id %lld appears twice in the catalog (item_idx %d and %d)",
                          (long long)s->track_id[i], prev, i);
        if ((rc = mr_imap_put(&s->track_index, s->track_id[i], i))) return rc;
    }
    if (s->name_off && (rc = check_off("item names", s->name_off, s->n_items, -1))) return rc;
    if (s->artist_off) {
        if ((rc = check_off("item artists", s->artist_off, s->n_items, -1))) return rc;
        if (!s->artist_name_off) return mr_err(MR_EINVAL, "item artists without artist names");
        if ((rc = check_off("artist names", s->artist_name_off, s->artist_off[s->n_items], -1))) return rc;
    }
    if (s->n_users > 0) {
        if ((rc = mr_imap_init(&s->user_index, (size_t)s->n_users))) return rc;
        for (int32_t u = 0; u < s->n_users; u++)
            if ((rc = mr_imap_put(&s->user_index, s->user_id[u], u))) return rc;
    }
    if (s->n_rec_users > 0) {
        if ((rc = check_off("offline lists", s->rec_off, s->n_rec_users, -1))) return rc;
        if ((rc = check_items("offline lists", s->rec_item, s->rec_off[s->n_rec_users], s->n_items, 0)))
            return rc;
        for (int64_t i = 0; i < s->n_rec_users; i++) {
            if (s->rec_user[i] < 0 || s->rec_user[i] >= s->n_users)
                return mr_err(MR_EFORMAT, "offline lists: user_idx %d is not a known user (%d users)",
                              s->rec_user[i], s->n_users);
            if (i > 0 && s->rec_user[i] <= s->rec_user[i - 1])
                return mr_err(MR_EFORMAT, "offline lists: user_idx not ascending at list %lld", (long long)i);
        }
    }
    if (s->hist_off) {
        if (s->n_users <= 0) return mr_err(MR_EINVAL, "listening history without users");
        if ((rc = check_off("listening history", s->hist_off, s->n_users, -1))) return rc;
        if ((rc = check_items("listening history", s->hist_item, s->hist_off[s->n_users], s->n_items, 0)))
            return rc;
        int32_t bad = s->n_users;
#pragma omp parallel for reduction(min : bad) schedule(dynamic, 4096) if (s->n_users > 10000)
        for (int32_t u = 0; u < s->n_users; u++)
            for (int64_t j = s->hist_off[u] + 1; j < s->hist_off[u + 1]; j++)
                if (s->hist_item[j] <= s->hist_item[j - 1]) {
                    if (u < bad) bad = u;
                    break;
                }
        if (bad < s->n_users)
            return mr_err(MR_EFORMAT, "listening history: row of user_idx %d is not sorted", bad);
    }
    if (s->n_popular > 0 && (rc = check_items("top popular", s->pop_item, s->n_popular, s->n_items, 0)))
        return rc;
    if (s->sim_off) {
        if ((rc = check_off("similar index", s->sim_off, s->n_items, -1))) return rc;
        if ((rc = check_items("similar index", s->sim_item, s->sim_off[s->n_items], s->n_items, 0))) return rc;
    }
    /* a mapped fixed-width index is not scanned here (that would read the
     * whole file at start-up): mr_snap_similar() checks each entry it hands
     * out instead */
    if (s->item_factors && s->n_factors > 0) {
        int f = s->n_factors;
        s->gram = mr_calloc((size_t)f * f, sizeof *s->gram);
        if (!s->gram) return MR_ENOMEM;
        /* YᵀY in double (a sum over up to millions of rows), by blocks of
         * rows widened to double and handed to dsyrk */
        enum { BLOCK = 1024 };
        double *blk = mr_malloc((size_t)BLOCK * f * sizeof *blk);
        if (!blk) return MR_ENOMEM;
        for (int32_t i0 = 0; i0 < s->n_items; i0 += BLOCK) {
            int rows = s->n_items - i0 < BLOCK ? s->n_items - i0 : BLOCK;
            const float *y = s->item_factors + (size_t)i0 * f;
            for (size_t j = 0; j < (size_t)rows * f; j++) blk[j] = y[j];
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, f, rows, 1.0, blk, f, 1.0, s->gram, f);
        }
        free(blk);
        for (int a = 0; a < f; a++)
            for (int b = 0; b < a; b++) s->gram[(size_t)a * f + b] = s->gram[(size_t)b * f + a];
    }
    return 0;
}

void mr_snap_free(mr_snap *s)
{
    if (!s) return;
    free(s->track_id);
    free(s->name_off);
    free(s->name_bytes);
    free(s->artist_off);
    free(s->artist_name_off);
    free(s->artist_name_bytes);
    free(s->user_id);
    free(s->rec_user);
    free(s->rec_off);
    free(s->rec_item);
    free(s->rec_score);
    free(s->hist_off);
    free(s->hist_item);
    free(s->pop_item);
    free(s->pop_score);
    free(s->sim_off);
    if (s->sim_unmap) s->sim_unmap(s->sim_map);
    else {
        free((void *)s->sim_item);
        free((void *)s->sim_score);
    }
    free(s->item_factors);
    free(s->gram);
    mr_imap_free(&s->track_index);
    mr_imap_free(&s->user_index);
    free(s);
}

int64_t mr_snap_offline(const mr_snap *s, int32_t u, const int32_t **items, const float **scores)
{
    int64_t lo = mr_lower_bound_i32(s->rec_user, s->n_rec_users, u);
    if (u < 0 || lo == s->n_rec_users || s->rec_user[lo] != u) return 0;
    *items = s->rec_item + s->rec_off[lo];
    *scores = s->rec_score + s->rec_off[lo];
    return s->rec_off[lo + 1] - s->rec_off[lo];
}

int64_t mr_snap_similar(const mr_snap *s, int32_t i, const int32_t **items, const float **scores)
{
    if (i < 0 || i >= s->n_items || !s->sim_item) return 0;
    if (s->sim_off) {
        *items = s->sim_item + s->sim_off[i];
        *scores = s->sim_score + s->sim_off[i];
        return s->sim_off[i + 1] - s->sim_off[i];
    }
    if (s->sim_width <= 0) return 0;
    size_t stride = s->sim_stride ? (size_t)s->sim_stride : (size_t)s->sim_width;
    const int32_t *row = s->sim_item + (size_t)i * stride;
    int64_t n = 0;
    while (n < s->sim_width && row[n] >= 0 && row[n] < s->n_items) n++;
    *items = row;
    *scores = s->sim_score + (size_t)i * stride;
    return n;
}

int mr_snap_listened(const mr_snap *s, int32_t u, int32_t i)
{
    if (!s->hist_off || u < 0 || u >= s->n_users) return 0;
    return mr_sorted_has_i32(s->hist_item + s->hist_off[u], s->hist_off[u + 1] - s->hist_off[u], i);
}
