/* Step 3, preprocess. The design is set by the size of interactions.parquet
 * (222.6M rows at full scale) on a 24 GB, 2-core laptop:
 *
 *   - Events live as four flat columns (user code, item code, day, track_seq:
 *     14 bytes per event, 3.1 GB at full size), filled by decoding row groups
 *     in parallel straight into their row offsets. Raw ids are converted to
 *     codes on the fly (track_id through a dense array when the id range
 *     allows, else a hash map); raw ids are not kept per event, since the
 *     writers map codes back through small per-user and per-item tables.
 *   - user_idx is assigned by ascending user_id with a presence bitmap over
 *     the id range (or a sorted unique list when the range is huge).
 *   - Ordering by (user, day, track_seq) is a stable counting sort by user
 *     code (a permutation applied one column at a time, so at most one
 *     extra column is alive), skipped when the input is already ordered, as
 *     pandas-written files usually are; only users whose own events are out
 *     of order are sorted again.
 *   - The catalog and tracks tables are small (1.8M and 1M rows) and are
 *     handled with plain sorts and binary searches.
 * Peak memory at full size is about the events (3.1 GB) plus the permutation
 * (0.9 GB) plus one column (0.9 GB) plus the track-id table.
 */
#include "data/preprocess.h"

#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/vec.h"
#include "data/names.h"
#include "data/pqcol.h"
#include "data/tables.h"
#include "parquet/parquet.h"

/* A dense lookup table is used for ids when their range is at most this
 * many times the number of ids (or below DENSE_MIN): 4 bytes per id value,
 * so 1e8-wide track ids cost 400 MB but are then looked up 222M times with
 * one memory access each. */
#define DENSE_FACTOR 128
#define DENSE_MIN (1 << 24)
#define DENSE_MAX ((int64_t)1 << 29)

typedef struct {
    int64_t min, range;
    int32_t *dense;
    mr_imap map;
    int use_map;
} idlookup;

static int lookup_build(idlookup *l, const int64_t *ids, int32_t n)
{
    memset(l, 0, sizeof *l);
    if (n == 0) return 0;
    int64_t mn = ids[0], mx = ids[0];
    for (int32_t i = 1; i < n; i++) {
        if (ids[i] < mn) mn = ids[i];
        if (ids[i] > mx) mx = ids[i];
    }
    /* range computed without overflow for ids near the int64 limits */
    uint64_t range = (uint64_t)mx - (uint64_t)mn + 1;
    l->min = mn;
    if (range <= (uint64_t)DENSE_MAX && (range <= (uint64_t)DENSE_MIN || range <= (uint64_t)n * DENSE_FACTOR)) {
        l->range = (int64_t)range;
        l->dense = mr_malloc((size_t)range * 4);
        if (!l->dense) return MR_ENOMEM;
        memset(l->dense, 0xff, (size_t)range * 4);
        for (int32_t i = 0; i < n; i++) l->dense[ids[i] - mn] = i;
        return 0;
    }
    l->use_map = 1;
    int rc = mr_imap_init(&l->map, (size_t)n);
    for (int32_t i = 0; !rc && i < n; i++) rc = mr_imap_put(&l->map, ids[i], i);
    return rc;
}

static inline int32_t lookup_get(const idlookup *l, int64_t id)
{
    if (l->use_map) {
        int32_t v;
        return mr_imap_get(&l->map, id, &v) ? v : -1;
    }
    if (!l->dense) return -1;
    uint64_t off = (uint64_t)id - (uint64_t)l->min;
    return off < (uint64_t)l->range ? l->dense[off] : -1;
}

static void lookup_free(idlookup *l)
{
    free(l->dense);
    if (l->use_map) mr_imap_free(&l->map);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------- catalog */

enum { T_ALBUM, T_ARTIST, T_GENRE, T_TRACK, T_KNOWN };
static const char *const type_names[T_KNOWN] = {"album", "artist", "genre", "track"};

typedef struct {
    int64_t n;
    int64_t *id;
    int32_t *type;
    int64_t *name_off, *fold_off; /* n + 1 */
    char *name, *fold;
    int n_types;
    char *type_str[256];
    int64_t lo[256], hi[256]; /* rows of each type (sorted by id) */
} catalog;

static void catalog_free(catalog *c)
{
    free(c->id), free(c->type), free(c->name_off), free(c->fold_off), free(c->name), free(c->fold);
    for (int i = T_KNOWN; i < c->n_types; i++) free(c->type_str[i]);
    memset(c, 0, sizeof *c);
}

/* Row of (type, id) in the clean catalog, or -1. */
static int64_t catalog_find(const catalog *c, int type, int64_t id)
{
    int64_t lo = c->lo[type] + mr_lower_bound_i64(c->id + c->lo[type], c->hi[type] - c->lo[type], id);
    return lo < c->hi[type] && c->id[lo] == id ? lo : -1;
}

typedef struct {
    int32_t type;
    int32_t row;
    int64_t id;
} cat_key;

static int cmp_cat_key(const void *a, const void *b)
{
    const cat_key *x = a, *y = b;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int catalog_load(const char *path, catalog *c, mr_prep_stats *st)
{
    memset(c, 0, sizeof *c);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int cid, ctype, cname;
    mr_pqc_gathered gid = {0}, gtype = {0}, gname = {0};
    rc = mr_pqc_require(r, "id", MR_PQC_INT, 0, &cid);
    if (!rc) rc = mr_pqc_require(r, "type", MR_PQC_STRING, 0, &ctype);
    if (!rc) rc = mr_pqc_require(r, "name", MR_PQC_STRING, 0, &cname);
    if (!rc) rc = mr_pqc_gather(r, cid, MR_PQC_INT, 0, &gid);
    if (!rc) rc = mr_pqc_gather(r, ctype, MR_PQC_STRING, 0, &gtype);
    if (!rc) rc = mr_pqc_gather(r, cname, MR_PQC_STRING, 0, &gname);
    mr_pq_close(r);
    int64_t n = gid.n_slots;
    cat_key *keys = NULL;
    int64_t *disp_len = NULL;
    if (!rc) {
        c->n_types = T_KNOWN;
        for (int t = 0; t < T_KNOWN; t++) c->type_str[t] = (char *)type_names[t];
        keys = mr_malloc((size_t)(n ? n : 1) * sizeof *keys);
        if (!keys) rc = MR_ENOMEM;
    }
    for (int64_t i = 0; !rc && i < n; i++) {
        const char *s = gtype.bytes + gtype.soff[i];
        size_t len = (size_t)(gtype.soff[i + 1] - gtype.soff[i]);
        int t = -1;
        for (int k = 0; k < c->n_types; k++)
            if (strlen(c->type_str[k]) == len && !memcmp(c->type_str[k], s, len)) t = k;
        if (t < 0) {
            if (c->n_types == 256) {
                rc = mr_err(MR_EFORMAT, "%s: column type has more than 256 distinct values", path);
                break;
            }
            c->type_str[c->n_types] = mr_malloc(len + 1);
            if (!c->type_str[c->n_types]) {
                rc = MR_ENOMEM;
                break;
            }
            memcpy(c->type_str[c->n_types], s, len);
            c->type_str[c->n_types][len] = 0;
            t = c->n_types++;
        }
        keys[i] = (cat_key){t, (int32_t)i, gid.vals[i]};
    }
    st->catalog_in = n;
    if (!rc) qsort(keys, (size_t)n, sizeof *keys, cmp_cat_key);
    /* display names of every row first: dedupe prefers a non-empty name */
    if (!rc && !(disp_len = mr_malloc((size_t)(n + 1) * 8))) rc = MR_ENOMEM;
    /* row i's clean name goes to disp + soff[i] + i: room for its NUL */
    char *disp = NULL;
    if (!rc && !(disp = mr_malloc((size_t)(gname.soff[n] + n) + 1))) rc = MR_ENOMEM;
    if (!rc) {
#pragma omp parallel for schedule(dynamic, 4096)
        for (int64_t i = 0; i < n; i++)
            disp_len[i] = (int64_t)mr_name_clean(gname.bytes + gname.soff[i], (size_t)(gname.soff[i + 1] - gname.soff[i]),
                                                 disp + gname.soff[i] + i);
    }
    /* keep one row per (type, id): the first with a non-empty name */
    int64_t kept = 0;
    for (int64_t i = 0; !rc && i < n;) {
        int64_t j = i + 1;
        while (j < n && keys[j].type == keys[i].type && keys[j].id == keys[i].id) j++;
        int64_t pick = i;
        for (int64_t k = i; k < j; k++)
            if (disp_len[keys[k].row] > 0) {
                pick = k;
                break;
            }
        keys[kept++] = keys[pick];
        st->catalog_duplicate += j - i - 1;
        i = j;
    }
    if (!rc) {
        c->n = kept;
        c->id = mr_malloc((size_t)(kept ? kept : 1) * 8);
        c->type = mr_malloc((size_t)(kept ? kept : 1) * 4);
        c->name_off = mr_malloc((size_t)(kept + 1) * 8);
        c->fold_off = mr_malloc((size_t)(kept + 1) * 8);
        int64_t total = 0;
        for (int64_t k = 0; k < kept; k++) total += disp_len[keys[k].row];
        c->name = mr_malloc((size_t)total + 1);
        c->fold = mr_malloc((size_t)(3 * total + kept + 2)); /* slot k at 3 * name_off[k] + k */
        if (!c->id || !c->type || !c->name_off || !c->fold_off || !c->name || !c->fold) rc = MR_ENOMEM;
    }
    if (!rc) {
        int64_t o = 0;
        for (int64_t k = 0; k < kept; k++) {
            int32_t row = keys[k].row;
            c->id[k] = keys[k].id;
            c->type[k] = keys[k].type;
            c->name_off[k] = o;
            memcpy(c->name + o, disp + gname.soff[row] + row, (size_t)disp_len[row]);
            o += disp_len[row];
            st->catalog_empty_name += disp_len[row] == 0;
        }
        c->name_off[kept] = o;
        /* fold in parallel into 3x-spaced slots, then compact */
#pragma omp parallel for schedule(dynamic, 4096)
        for (int64_t k = 0; k < kept; k++)
            c->fold_off[k] = (int64_t)mr_name_fold(c->name + c->name_off[k], (size_t)(c->name_off[k + 1] - c->name_off[k]),
                                                   c->fold + 3 * c->name_off[k] + k);
        int64_t w = 0;
        for (int64_t k = 0; k < kept; k++) {
            int64_t len = c->fold_off[k];
            memmove(c->fold + w, c->fold + 3 * c->name_off[k] + k, (size_t)len);
            c->fold_off[k] = w;
            w += len;
        }
        c->fold_off[kept] = w;
        for (int t = 0; t < 256; t++) c->lo[t] = c->hi[t] = 0;
        for (int64_t k = kept - 1; k >= 0; k--) c->lo[c->type[k]] = k;
        for (int64_t k = 0; k < kept; k++) c->hi[c->type[k]] = k + 1;
        st->catalog_out = kept;
    }
    free(disp);
    free(disp_len);
    free(keys);
    mr_pqc_gathered_free(&gid);
    mr_pqc_gathered_free(&gtype);
    mr_pqc_gathered_free(&gname);
    if (rc) catalog_free(c);
    return rc;
}

static int catalog_write(const char *path, const catalog *c)
{
    static const mr_pq_field f[] = {{"id", MR_PQ_W_I64, 0, 0, 0},
                                    {"type", MR_PQ_W_STRING, 0, 0, 0},
                                    {"name", MR_PQ_W_STRING, 0, 0, 0},
                                    {"name_clean", MR_PQ_W_STRING, 0, 0, 0}};
    int64_t *toff = mr_malloc((size_t)(c->n + 1) * 8);
    char *tbytes = NULL;
    int64_t tlen = 0;
    for (int64_t k = 0; k < c->n; k++) tlen += (int64_t)strlen(c->type_str[c->type[k]]);
    tbytes = mr_malloc((size_t)tlen + 1);
    if (!toff || !tbytes) {
        free(toff), free(tbytes);
        return MR_ENOMEM;
    }
    int64_t o = 0;
    for (int64_t k = 0; k < c->n; k++) {
        toff[k] = o;
        size_t l = strlen(c->type_str[c->type[k]]);
        memcpy(tbytes + o, c->type_str[c->type[k]], l);
        o += (int64_t)l;
    }
    toff[c->n] = o;
    mr_pq_col cols[4];
    memset(cols, 0, sizeof cols);
    for (int i = 0; i < 4; i++) cols[i].n_rows = cols[i].n_slots = c->n;
    cols[0].values = c->id;
    cols[1].offsets = toff, cols[1].bytes = (uint8_t *)tbytes;
    cols[2].offsets = c->name_off, cols[2].bytes = (uint8_t *)c->name;
    cols[3].offsets = c->fold_off, cols[3].bytes = (uint8_t *)c->fold;
    mr_pq_writer *w;
    int rc = mr_pq_writer_open(&w, path, f, 4, NULL);
    if (!rc) {
        rc = mr_pq_writer_write(w, cols);
        if (rc) mr_pq_writer_abort(w);
        else rc = mr_pq_writer_close(w);
    }
    free(toff), free(tbytes);
    return rc;
}

/* --------------------------------------------------------------- items */

typedef struct {
    int32_t n;
    int64_t *track_id;
    int32_t *src_row;   /* row in tracks.parquet */
    int32_t *flags, *group;
    int64_t *listens;
    int64_t *name_off;  /* display names */
    char *name;
    mr_vec_i64 artist_off, artist_ids, album_off, album_ids, genre_off, genre_ids;
    mr_vec_i64 artist_name_off, genre_name_off;
    mr_vec_u8 artist_names, genre_names;
} items;

static void items_free(items *it)
{
    free(it->track_id), free(it->src_row), free(it->flags), free(it->group), free(it->listens);
    free(it->name_off), free(it->name);
    mr_vec_i64_free(&it->artist_off), mr_vec_i64_free(&it->artist_ids), mr_vec_i64_free(&it->album_off);
    mr_vec_i64_free(&it->album_ids), mr_vec_i64_free(&it->genre_off), mr_vec_i64_free(&it->genre_ids);
    mr_vec_i64_free(&it->artist_name_off), mr_vec_i64_free(&it->genre_name_off);
    mr_vec_u8_free(&it->artist_names), mr_vec_u8_free(&it->genre_names);
    memset(it, 0, sizeof *it);
}

typedef struct {
    int64_t id;
    int32_t row;
} id_row;

static int cmp_id_row(const void *a, const void *b)
{
    const id_row *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int push_str(mr_vec_u8 *bytes, mr_vec_i64 *off, const char *s, int64_t len)
{
    if (mr_vec_u8_reserve(bytes, bytes->n + (size_t)len)) return MR_ENOMEM;
    memcpy(bytes->v + bytes->n, s, (size_t)len);
    bytes->n += (size_t)len;
    return mr_vec_i64_push(off, (int64_t)bytes->n);
}

static int items_build(const char *path, const catalog *cat, items *it, mr_prep_stats *st)
{
    memset(it, 0, sizeof *it);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    int ctid, calb, cart, cgen;
    mr_pqc_gathered gt = {0}, ga = {0}, gr = {0}, gg = {0};
    rc = mr_pqc_require(r, "track_id", MR_PQC_INT, 0, &ctid);
    if (!rc) rc = mr_pqc_require(r, "albums", MR_PQC_INT, 1, &calb);
    if (!rc) rc = mr_pqc_require(r, "artists", MR_PQC_INT, 1, &cart);
    if (!rc) rc = mr_pqc_require(r, "genres", MR_PQC_INT, 1, &cgen);
    if (!rc) rc = mr_pqc_gather(r, ctid, MR_PQC_INT, 0, &gt);
    if (!rc) rc = mr_pqc_gather(r, calb, MR_PQC_INT, 1, &ga);
    if (!rc) rc = mr_pqc_gather(r, cart, MR_PQC_INT, 1, &gr);
    if (!rc) rc = mr_pqc_gather(r, cgen, MR_PQC_INT, 1, &gg);
    mr_pq_close(r);
    int64_t n_in = gt.n_slots;
    st->tracks_in = n_in;
    if (!rc && n_in == 0) rc = mr_err(MR_EFORMAT, "%s has no tracks", path);
    if (!rc && n_in > INT32_MAX) rc = mr_err(MR_EFORMAT, "%s: more than 2^31 tracks", path);
    id_row *order = NULL;
    if (!rc && !(order = mr_malloc((size_t)n_in * sizeof *order))) rc = MR_ENOMEM;
    if (!rc) {
        for (int64_t i = 0; i < n_in; i++) order[i] = (id_row){gt.vals[i], (int32_t)i};
        qsort(order, (size_t)n_in, sizeof *order, cmp_id_row);
        int64_t k = 0;
        for (int64_t i = 0; i < n_in; i++)
            if (i == 0 || order[i].id != order[i - 1].id) order[k++] = order[i];
        st->tracks_duplicate = n_in - k;
        it->n = (int32_t)k;
        it->track_id = mr_malloc((size_t)k * 8);
        it->src_row = mr_malloc((size_t)k * 4);
        it->flags = mr_calloc((size_t)k, 4);
        it->group = mr_malloc((size_t)k * 4);
        it->listens = mr_calloc((size_t)k, 8);
        it->name_off = mr_malloc((size_t)(k + 1) * 8);
        if (!it->track_id || !it->src_row || !it->flags || !it->group || !it->listens || !it->name_off) rc = MR_ENOMEM;
        for (int64_t i = 0; !rc && i < k; i++) it->track_id[i] = order[i].id, it->src_row[i] = order[i].row;
    }
    free(order);
    /* names */
    int64_t total = 0;
    for (int32_t i = 0; !rc && i < it->n; i++) {
        int64_t row = catalog_find(cat, T_TRACK, it->track_id[i]);
        if (row >= 0) total += cat->name_off[row + 1] - cat->name_off[row];
    }
    if (!rc && !(it->name = mr_malloc((size_t)total + 1))) rc = MR_ENOMEM;
    int64_t o = 0;
    for (int32_t i = 0; !rc && i < it->n; i++) {
        it->name_off[i] = o;
        int64_t row = catalog_find(cat, T_TRACK, it->track_id[i]);
        int64_t len = row >= 0 ? cat->name_off[row + 1] - cat->name_off[row] : 0;
        if (len) memcpy(it->name + o, cat->name + cat->name_off[row], (size_t)len);
        else it->flags[i] |= MR_ITEM_NO_NAME;
        o += len;
    }
    if (!rc) it->name_off[it->n] = o;
    /* lists */
    rc = rc ? rc
            : (mr_vec_i64_push(&it->artist_off, 0) | mr_vec_i64_push(&it->album_off, 0) |
               mr_vec_i64_push(&it->genre_off, 0) | mr_vec_i64_push(&it->artist_name_off, 0) |
               mr_vec_i64_push(&it->genre_name_off, 0))
                  ? MR_ENOMEM
                  : 0;
    for (int32_t i = 0; !rc && i < it->n; i++) {
        int32_t row = it->src_row[i];
        for (int64_t j = gr.off[row]; !rc && j < gr.off[row + 1]; j++) {
            int64_t a = gr.vals[j], cr = catalog_find(cat, T_ARTIST, a);
            rc = mr_vec_i64_push(&it->artist_ids, a);
            if (!rc && cr < 0) st->artist_links_without_name++;
            if (!rc)
                rc = cr >= 0 ? push_str(&it->artist_names, &it->artist_name_off, cat->name + cat->name_off[cr],
                                        cat->name_off[cr + 1] - cat->name_off[cr])
                             : push_str(&it->artist_names, &it->artist_name_off, "", 0);
        }
        for (int64_t j = ga.off[row]; !rc && j < ga.off[row + 1]; j++) rc = mr_vec_i64_push(&it->album_ids, ga.vals[j]);
        int dangling = 0;
        for (int64_t j = gg.off[row]; !rc && j < gg.off[row + 1]; j++) {
            int64_t g = gg.vals[j], cr = catalog_find(cat, T_GENRE, g);
            if (cr < 0) {
                dangling++;
                continue;
            }
            rc = mr_vec_i64_push(&it->genre_ids, g);
            if (!rc)
                rc = push_str(&it->genre_names, &it->genre_name_off, cat->name + cat->name_off[cr],
                              cat->name_off[cr + 1] - cat->name_off[cr]);
        }
        if (rc) break;
        rc = mr_vec_i64_push(&it->artist_off, (int64_t)it->artist_ids.n);
        if (!rc) rc = mr_vec_i64_push(&it->album_off, (int64_t)it->album_ids.n);
        if (!rc) rc = mr_vec_i64_push(&it->genre_off, (int64_t)it->genre_ids.n);
        int32_t f = it->flags[i];
        if (it->artist_off.v[i + 1] == it->artist_off.v[i]) f |= MR_ITEM_NO_ARTIST;
        if (it->album_off.v[i + 1] == it->album_off.v[i]) f |= MR_ITEM_NO_ALBUM;
        if (it->genre_off.v[i + 1] == it->genre_off.v[i]) f |= MR_ITEM_NO_GENRE;
        if (dangling) f |= MR_ITEM_DANGLING_GENRE;
        st->dangling_genre_links += dangling;
        it->flags[i] = f;
    }
    for (int32_t i = 0; !rc && i < it->n; i++) {
        int32_t f = it->flags[i];
        st->no_artist += !!(f & MR_ITEM_NO_ARTIST);
        st->no_album += !!(f & MR_ITEM_NO_ALBUM);
        st->no_genre += !!(f & MR_ITEM_NO_GENRE);
        st->no_name += !!(f & MR_ITEM_NO_NAME);
        st->dangling_genre_tracks += !!(f & MR_ITEM_DANGLING_GENRE);
    }
    st->items = it->n;
    mr_pqc_gathered_free(&gt), mr_pqc_gathered_free(&ga), mr_pqc_gathered_free(&gr), mr_pqc_gathered_free(&gg);
    if (rc) items_free(it);
    return rc;
}

static int items_write(const char *path, const items *it)
{
    static const mr_pq_field f[] = {
        {"track_id", MR_PQ_W_I64, 0, 0, 0},       {"item_idx", MR_PQ_W_I32, 0, 0, 0},
        {"track_group_id", MR_PQ_W_I32, 0, 0, 0}, {"track_name", MR_PQ_W_STRING, 0, 0, 0},
        {"artist_ids", MR_PQ_W_I64, 0, 0, 1},     {"album_ids", MR_PQ_W_I64, 0, 0, 1},
        {"genre_ids", MR_PQ_W_I64, 0, 0, 1},      {"artist_names", MR_PQ_W_STRING, 0, 0, 1},
        {"genre_names", MR_PQ_W_STRING, 0, 0, 1}, {"flags", MR_PQ_W_I32, 0, 0, 0},
    };
    int32_t *idx = mr_malloc((size_t)it->n * 4);
    if (!idx) return MR_ENOMEM;
    for (int32_t i = 0; i < it->n; i++) idx[i] = i;
    mr_pq_col c[10];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 10; i++) c[i].n_rows = c[i].n_slots = it->n;
    c[0].values = it->track_id;
    c[1].values = idx;
    c[2].values = it->group;
    c[3].offsets = it->name_off, c[3].bytes = (uint8_t *)it->name;
    c[4].values = it->artist_ids.v, c[4].list_offsets = it->artist_off.v, c[4].n_slots = (int64_t)it->artist_ids.n;
    c[5].values = it->album_ids.v, c[5].list_offsets = it->album_off.v, c[5].n_slots = (int64_t)it->album_ids.n;
    c[6].values = it->genre_ids.v, c[6].list_offsets = it->genre_off.v, c[6].n_slots = (int64_t)it->genre_ids.n;
    c[7].offsets = it->artist_name_off.v, c[7].bytes = it->artist_names.v, c[7].list_offsets = it->artist_off.v;
    c[7].n_slots = (int64_t)it->artist_ids.n;
    c[8].offsets = it->genre_name_off.v, c[8].bytes = it->genre_names.v, c[8].list_offsets = it->genre_off.v;
    c[8].n_slots = (int64_t)it->genre_ids.n;
    c[9].values = it->flags;
    /* empty vectors have no buffer; the writer wants a pointer */
    static uint8_t empty[8];
    for (int i = 4; i < 9; i++) {
        if (!c[i].values && i < 7) c[i].values = empty;
        if (i >= 7 && !c[i].bytes) c[i].bytes = empty;
    }
    mr_pq_writer *w;
    int rc = mr_pq_writer_open(&w, path, f, 10, NULL);
    if (!rc) {
        rc = mr_pq_writer_write(w, c);
        if (rc) mr_pq_writer_abort(w);
        else rc = mr_pq_writer_close(w);
    }
    free(idx);
    return rc;
}

/* -------------------------------------------------------------- events */

typedef struct {
    int64_t n;
    int32_t *user;  /* raw user_id, then user_idx */
    int32_t *item;  /* item_idx; < 0 while reading: -1 unknown track, -2 null */
    int32_t *day;
    int16_t *seq;
} evcols;

static void evcols_free(evcols *e)
{
    free(e->user), free(e->item), free(e->day), free(e->seq);
    memset(e, 0, sizeof *e);
}

typedef struct {
    mr_pq_reader *r;
    int cu, ct, cs, cd;
    const idlookup *tracks;
    evcols *e;
    const int64_t *start;
} ev_reader;

static int events_read_rg(const ev_reader *er, int rg, int64_t *tmp)
{
    mr_pq_reader *r = er->r;
    int64_t o = er->start[rg], n = er->start[rg + 1] - o;
    int64_t *u = tmp, *t = tmp + n, *s = tmp + 2 * n, *d = tmp + 3 * n;
    const int64_t NUL = INT64_MIN;
    int64_t nn = 0;
    int rc = mr_pqc_read_i64(r, rg, er->cu, MR_PQC_INT, u, NUL, &nn);
    if (!rc) rc = mr_pqc_read_i64(r, rg, er->ct, MR_PQC_INT, t, NUL, &nn);
    if (!rc) rc = mr_pqc_read_i64(r, rg, er->cs, MR_PQC_INT, s, NUL, &nn);
    if (!rc) rc = mr_pqc_read_i64(r, rg, er->cd, MR_PQC_DAY, d, NUL, &nn);
    if (rc) return rc;
    evcols *e = er->e;
    for (int64_t i = 0; i < n; i++) {
        int64_t uu = u[i], tt = t[i], ss = s[i], dd = d[i];
        if (uu == NUL || tt == NUL || ss == NUL || dd == NUL) {
            e->item[o + i] = -2;
            e->user[o + i] = 0, e->day[o + i] = 0, e->seq[o + i] = 0;
            continue;
        }
        if (uu < INT32_MIN || uu > INT32_MAX)
            return mr_err(MR_EFORMAT, "%s: column user_id: value %lld does not fit in 32 bits", mr_pq_path(r),
                          (long long)uu);
        if (ss < INT16_MIN || ss > INT16_MAX)
            return mr_err(MR_EFORMAT, "%s: column track_seq: value %lld does not fit in 16 bits", mr_pq_path(r),
                          (long long)ss);
        if (dd < INT32_MIN || dd > INT32_MAX)
            return mr_err(MR_EFORMAT, "%s: column started_at: day %lld out of range", mr_pq_path(r), (long long)dd);
        e->user[o + i] = (int32_t)uu;
        e->item[o + i] = lookup_get(er->tracks, tt);
        e->day[o + i] = (int32_t)dd;
        e->seq[o + i] = (int16_t)ss;
    }
    return 0;
}

static int events_load(const char *path, const idlookup *tracks, evcols *e, mr_prep_stats *st)
{
    memset(e, 0, sizeof *e);
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, path);
    if (rc) return rc;
    ev_reader er = {.r = r, .tracks = tracks, .e = e};
    rc = mr_pqc_require(r, "user_id", MR_PQC_INT, 0, &er.cu);
    if (!rc) rc = mr_pqc_require(r, "track_id", MR_PQC_INT, 0, &er.ct);
    if (!rc) rc = mr_pqc_require(r, "track_seq", MR_PQC_INT, 0, &er.cs);
    if (!rc) rc = mr_pqc_require(r, "started_at", MR_PQC_DAY, 0, &er.cd);
    int64_t n = mr_pq_num_rows(r);
    int nrg = mr_pq_num_row_groups(r);
    st->events_in = n;
    if (!rc && n == 0) rc = mr_err(MR_EFORMAT, "%s has no rows: there are no events to work with", path);
    int64_t *start = NULL, max_rg = 0;
    if (!rc) {
        start = mr_malloc((size_t)(nrg + 1) * 8);
        e->n = n;
        e->user = mr_malloc((size_t)n * 4);
        e->item = mr_malloc((size_t)n * 4);
        e->day = mr_malloc((size_t)n * 4);
        e->seq = mr_malloc((size_t)n * 2);
        if (!start || !e->user || !e->item || !e->day || !e->seq) rc = MR_ENOMEM;
    }
    if (!rc) {
        start[0] = 0;
        for (int g = 0; g < nrg; g++) {
            int64_t k = mr_pq_row_group_rows(r, g);
            start[g + 1] = start[g] + k;
            if (k > max_rg) max_rg = k;
        }
        er.start = start;
        mr_progress bar;
        mr_progress_start(&bar, "preprocess: events", n, "");
        int err = 0;
        char msg[1024] = "";
#pragma omp parallel
        {
            int64_t *tmp = mr_malloc((size_t)(4 * max_rg + 1) * 8);
            if (!tmp) {
#pragma omp critical(prep_err)
                if (!err) err = MR_ENOMEM, snprintf(msg, sizeof msg, "%s", mr_errmsg());
            }
#pragma omp for schedule(dynamic, 1)
            for (int g = 0; g < nrg; g++) {
                if (!tmp || __atomic_load_n(&err, __ATOMIC_RELAXED)) continue;
                int rr = events_read_rg(&er, g, tmp);
                if (rr) {
#pragma omp critical(prep_err)
                    if (!err) err = rr, snprintf(msg, sizeof msg, "%s", mr_errmsg());
                }
                mr_progress_add(&bar, start[g + 1] - start[g]);
            }
            free(tmp);
        }
        mr_progress_end(&bar);
        if (err) {
            mr_err_set_msg(msg);
            rc = err;
        }
    }
    free(start);
    mr_pq_close(r);
    if (rc) {
        evcols_free(e);
        return rc;
    }
    /* compact away nulls and unknown tracks */
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t it = e->item[i];
        if (it < 0) {
            if (it == -1) st->events_unknown_track++;
            else st->events_null++;
            continue;
        }
        e->user[w] = e->user[i], e->item[w] = it, e->day[w] = e->day[i], e->seq[w] = e->seq[i];
        w++;
    }
    e->n = w;
    if (w == 0)
        return mr_err(MR_EFORMAT, "%s: none of the %lld events has a known track: nothing left to work with", path,
                      (long long)n);
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Replaces raw user ids by user_idx in ascending id order; fills the
 * sorted unique ids (uid_of[user_idx]). */
static int encode_users(evcols *e, int32_t **uid_of, int64_t *n_users)
{
    int64_t n = e->n;
    int32_t mn = INT32_MAX, mx = INT32_MIN;
#pragma omp parallel for reduction(min : mn) reduction(max : mx)
    for (int64_t i = 0; i < n; i++) {
        if (e->user[i] < mn) mn = e->user[i];
        if (e->user[i] > mx) mx = e->user[i];
    }
    int64_t range = (int64_t)mx - mn + 1;
    if (range <= DENSE_MAX) {
        int32_t *code = mr_calloc((size_t)range, 4);
        if (!code) return MR_ENOMEM;
#pragma omp parallel for
        for (int64_t i = 0; i < n; i++) code[e->user[i] - mn] = 1; /* racy writes of the same value */
        int64_t k = 0;
        for (int64_t v = 0; v < range; v++) k += code[v];
        int32_t *ids = mr_malloc((size_t)k * 4);
        if (!ids) {
            free(code);
            return MR_ENOMEM;
        }
        int32_t c = 0;
        for (int64_t v = 0; v < range; v++)
            if (code[v]) ids[c] = (int32_t)(v + mn), code[v] = c++;
#pragma omp parallel for
        for (int64_t i = 0; i < n; i++) e->user[i] = code[e->user[i] - mn];
        free(code);
        *uid_of = ids;
        *n_users = k;
        return 0;
    }
    /* ids spread over more than 2^29 values: sort a copy, binary search */
    int32_t *ids = mr_malloc((size_t)n * 4);
    if (!ids) return MR_ENOMEM;
    memcpy(ids, e->user, (size_t)n * 4);
    qsort(ids, (size_t)n, 4, cmp_i32);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || ids[i] != ids[i - 1]) ids[k++] = ids[i];
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) {
        int64_t lo = 0, hi = k;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (ids[mid] < e->user[i]) lo = mid + 1;
            else hi = mid;
        }
        e->user[i] = (int32_t)lo;
    }
    int32_t *shrunk = mr_realloc(ids, (size_t)(k ? k : 1) * 4);
    *uid_of = shrunk ? shrunk : ids;
    *n_users = k;
    return 0;
}

/* Applies perm (new row j = old row perm[j]) to one column: one extra
 * column alive at a time. */
static int permute32(int32_t **col, const int32_t *perm, int64_t n)
{
    int32_t *nv = mr_malloc((size_t)(n ? n : 1) * 4);
    if (!nv) return MR_ENOMEM;
    const int32_t *old = *col;
#pragma omp parallel for
    for (int64_t j = 0; j < n; j++) nv[j] = old[perm[j]];
    free(*col);
    *col = nv;
    return 0;
}

static int permute16(int16_t **col, const int32_t *perm, int64_t n)
{
    int16_t *nv = mr_malloc((size_t)(n ? n : 1) * 2);
    if (!nv) return MR_ENOMEM;
    const int16_t *old = *col;
#pragma omp parallel for
    for (int64_t j = 0; j < n; j++) nv[j] = old[perm[j]];
    free(*col);
    *col = nv;
    return 0;
}

static int events_by_user_perm(evcols *e, int64_t n_users, int32_t *perm)
{
    int64_t n = e->n;
    int64_t *pos = mr_calloc((size_t)n_users + 1, 8);
    if (!pos) return MR_ENOMEM;
    for (int64_t i = 0; i < n; i++) pos[e->user[i] + 1]++;
    for (int64_t u = 0; u < n_users; u++) pos[u + 1] += pos[u];
    for (int64_t i = 0; i < n; i++) perm[pos[e->user[i]]++] = (int32_t)i;
    free(pos);
    return 0;
}

static int events_sort(evcols *e, int64_t n_users, mr_prep_stats *st)
{
    int64_t n = e->n;
    int sorted_user = 1;
#pragma omp parallel for reduction(& : sorted_user)
    for (int64_t i = 1; i < n; i++) sorted_user &= e->user[i - 1] <= e->user[i];
    if (!sorted_user) {
        if (n > INT32_MAX) return mr_err(MR_EUNSUPPORTED, "more than 2^31 events");
        int32_t *perm = mr_malloc((size_t)n * 4);
        if (!perm) return MR_ENOMEM;
        int rc = events_by_user_perm(e, n_users, perm);
        if (rc) {
            free(perm);
            return rc;
        }
        rc = permute32(&e->user, perm, n);
        if (!rc) rc = permute32(&e->item, perm, n);
        if (!rc) rc = permute32(&e->day, perm, n);
        if (!rc) rc = permute16(&e->seq, perm, n);
        free(perm);
        if (rc) return rc;
    }
    st->events_were_sorted = sorted_user;
    return 0;
}

typedef struct {
    int32_t day;
    int16_t seq;
    int32_t item;
} dsi;

static int cmp_dsi(const void *a, const void *b)
{
    const dsi *x = a, *y = b;
    if (x->day != y->day) return x->day < y->day ? -1 : 1;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* Within each user: order by (day, track_seq), then drop repeated
 * (user, item) pairs keeping the first. ustart: n_users + 1 offsets. */
static int events_order_within_users(evcols *e, const int64_t *ustart, int64_t n_users, int32_t n_items,
                                     mr_prep_stats *st)
{
    int64_t resorted = 0, dups = 0;
    int err = 0;
#pragma omp parallel reduction(+ : resorted, dups)
    {
        int32_t *stamp = mr_malloc((size_t)(n_items ? n_items : 1) * 4);
        dsi *buf = NULL;
        int64_t cap = 0;
        if (!stamp) __atomic_store_n(&err, MR_ENOMEM, __ATOMIC_RELAXED);
        else memset(stamp, 0xff, (size_t)n_items * 4);
#pragma omp for schedule(dynamic, 1024)
        for (int64_t u = 0; u < n_users; u++) {
            if (!stamp) continue;
            int64_t a = ustart[u], b = ustart[u + 1];
            int ok = 1;
            for (int64_t i = a + 1; i < b && ok; i++)
                ok = e->day[i - 1] < e->day[i] || (e->day[i - 1] == e->day[i] && e->seq[i - 1] <= e->seq[i]);
            if (!ok) {
                resorted++;
                if (b - a > cap) {
                    free(buf);
                    cap = b - a;
                    buf = malloc((size_t)cap * sizeof *buf);
                    if (!buf) {
                        cap = 0;
                        __atomic_store_n(&err, MR_ENOMEM, __ATOMIC_RELAXED);
                        continue;
                    }
                }
                for (int64_t i = a; i < b; i++) buf[i - a] = (dsi){e->day[i], e->seq[i], e->item[i]};
                qsort(buf, (size_t)(b - a), sizeof *buf, cmp_dsi);
                for (int64_t i = a; i < b; i++)
                    e->day[i] = buf[i - a].day, e->seq[i] = buf[i - a].seq, e->item[i] = buf[i - a].item;
            }
            for (int64_t i = a; i < b; i++) {
                int32_t it = e->item[i];
                if (stamp[it] == (int32_t)u) {
                    e->item[i] = -1;
                    dups++;
                } else
                    stamp[it] = (int32_t)u;
            }
        }
        free(stamp);
        free(buf);
    }
    if (err) return mr_err(err, "out of memory ordering events within users");
    st->events_duplicate = dups;
    (void)resorted;
    if (dups) {
        int64_t w = 0;
        for (int64_t i = 0; i < e->n; i++) {
            if (e->item[i] < 0) continue;
            e->user[w] = e->user[i], e->item[w] = e->item[i], e->day[w] = e->day[i], e->seq[w] = e->seq[i];
            w++;
        }
        e->n = w;
    }
    return 0;
}

static int users_write(const char *path, const evcols *e, const int32_t *uid_of, int64_t n_users)
{
    static const mr_pq_field f[] = {{"user_id", MR_PQ_W_I32, 0, 0, 0},
                                    {"user_idx", MR_PQ_W_I32, 0, 0, 0},
                                    {"n_events", MR_PQ_W_I32, 0, 0, 0},
                                    {"first_day", MR_PQ_W_DATE, 0, 0, 0},
                                    {"last_day", MR_PQ_W_DATE, 0, 0, 0}};
    size_t m = (size_t)(n_users ? n_users : 1) * 4;
    int32_t *idx = mr_malloc(m), *cnt = mr_calloc(m, 1), *first = mr_malloc(m), *last = mr_malloc(m);
    int rc = 0;
    if (!idx || !cnt || !first || !last) rc = MR_ENOMEM;
    if (!rc) {
        for (int64_t u = 0; u < n_users; u++) idx[u] = (int32_t)u;
        /* events are ordered by (user, day): first and last are the ends */
        for (int64_t i = 0; i < e->n; i++) {
            int32_t u = e->user[i];
            if (cnt[u]++ == 0) first[u] = e->day[i];
            last[u] = e->day[i];
        }
        mr_pq_col c[5];
        memset(c, 0, sizeof c);
        void *v[5] = {(void *)uid_of, idx, cnt, first, last};
        for (int i = 0; i < 5; i++) c[i].n_rows = c[i].n_slots = n_users, c[i].values = v[i];
        mr_pq_writer *w;
        rc = mr_pq_writer_open(&w, path, f, 5, NULL);
        if (!rc) {
            rc = mr_pq_writer_write(w, c);
            if (rc) mr_pq_writer_abort(w);
            else rc = mr_pq_writer_close(w);
        }
    }
    free(idx), free(cnt), free(first), free(last);
    return rc;
}

/* ------------------------------------------------------- group scoring */

static int score_groups(const char *truth_path, const items *it, const idlookup *tracks, mr_prep_stats *st)
{
    mr_pq_reader *r;
    int rc = mr_pq_open(&r, truth_path);
    if (rc) return rc;
    int ct, cg;
    mr_pqc_gathered gt = {0}, gg = {0};
    rc = mr_pqc_require(r, "track_id", MR_PQC_INT, 0, &ct);
    if (!rc) rc = mr_pqc_require(r, "true_group", MR_PQC_INT, 0, &cg);
    if (!rc) rc = mr_pqc_gather(r, ct, MR_PQC_INT, 0, &gt);
    if (!rc) rc = mr_pqc_gather(r, cg, MR_PQC_INT, 0, &gg);
    mr_pq_close(r);
    int64_t *truth = NULL;
    if (!rc && !(truth = mr_malloc((size_t)it->n * 8))) rc = MR_ENOMEM;
    if (!rc) {
        /* items missing from the truth are their own group: ids below all
         * real ones so they collide with nothing */
        int64_t mn = 0;
        for (int64_t i = 0; i < gg.n_slots; i++)
            if (gg.vals[i] < mn) mn = gg.vals[i];
        for (int32_t i = 0; i < it->n; i++) truth[i] = INT64_MIN;
        for (int64_t i = 0; i < gt.n_slots; i++) {
            int32_t k = lookup_get(tracks, gt.vals[i]);
            if (k >= 0) truth[k] = gg.vals[i];
        }
        for (int32_t i = 0; i < it->n; i++)
            if (truth[i] == INT64_MIN) {
                truth[i] = mn - 1 - i;
                st->truth_missing++;
            }
        int64_t tp, pp, tq;
        rc = mr_group_score(it->n, it->group, truth, &st->group_precision, &st->group_recall, &tp, &pp, &tq);
        if (!rc) {
            st->scored = 1;
            MR_LOG(MR_LOG_INFO, "track groups scored against the generator's truth", MR_S("truth", truth_path),
                   MR_F("pairwise_precision", st->group_precision), MR_F("pairwise_recall", st->group_recall),
                   MR_I("true_pairs_found", tp), MR_I("pairs_predicted", pp), MR_I("pairs_true", tq),
                   MR_I("items_missing_from_truth", st->truth_missing));
        }
    }
    free(truth);
    mr_pqc_gathered_free(&gt), mr_pqc_gathered_free(&gg);
    return rc;
}

/* ------------------------------------------------------------------ run */

int mr_preprocess(const mr_prep_opts *o, mr_prep_stats *st)
{
    memset(st, 0, sizeof *st);
    char *p_tracks = mr_path_join(o->raw_dir, "tracks.parquet");
    char *p_cat = mr_path_join(o->raw_dir, "catalog_names.parquet");
    char *p_int = mr_path_join(o->raw_dir, "interactions.parquet");
    char *p_truth = mr_path_join(o->raw_dir, "_truth/track_groups.parquet");
    char *p_items = mr_path_join(o->out_dir, "items.parquet");
    char *p_catc = mr_path_join(o->out_dir, "tracks_catalog_clean.parquet");
    char *p_ev = mr_path_join(o->out_dir, "events.parquet");
    char *p_users = mr_path_join(o->out_dir, "users.parquet");
    catalog cat = {0};
    items it = {0};
    idlookup tracks = {0};
    evcols e = {0};
    int32_t *uid_of = NULL;
    int64_t *ustart = NULL;
    int64_t n_users = 0;
    int rc = 0;
    if (!p_tracks || !p_cat || !p_int || !p_truth || !p_items || !p_catc || !p_ev || !p_users) rc = MR_ENOMEM;
    /* check all inputs exist before doing any work */
    const char *inputs[] = {p_tracks, p_cat, p_int};
    for (int i = 0; i < 3 && !rc; i++)
        if (!mr_file_exists(inputs[i]))
            rc = mr_err(MR_ENOTFOUND, "input %s does not exist (run `musrec download` or `musrec gen` first)",
                        inputs[i]);
    double t0 = mr_now();
    if (!rc) rc = catalog_load(p_cat, &cat, st);
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "catalog cleaned", MR_I("rows_in", st->catalog_in),
               MR_I("duplicate_type_id_dropped", st->catalog_duplicate), MR_I("rows_out", st->catalog_out),
               MR_I("empty_names", st->catalog_empty_name), MR_I("albums", cat.hi[T_ALBUM] - cat.lo[T_ALBUM]),
               MR_I("artists", cat.hi[T_ARTIST] - cat.lo[T_ARTIST]), MR_I("genres", cat.hi[T_GENRE] - cat.lo[T_GENRE]),
               MR_I("tracks", cat.hi[T_TRACK] - cat.lo[T_TRACK]), MR_F("seconds", mr_now() - t0));
        t0 = mr_now();
        rc = items_build(p_tracks, &cat, &it, st);
    }
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "tracks exploded", MR_I("rows_in", st->tracks_in),
               MR_I("duplicate_track_id_dropped", st->tracks_duplicate), MR_I("items", st->items),
               MR_I("flag_no_artist", st->no_artist), MR_I("flag_no_genre", st->no_genre),
               MR_I("flag_no_album", st->no_album), MR_I("flag_no_name", st->no_name),
               MR_I("dangling_genre_ids_dropped", st->dangling_genre_links),
               MR_I("tracks_with_dangling_genres", st->dangling_genre_tracks),
               MR_I("artist_ids_without_catalog_name", st->artist_links_without_name), MR_F("seconds", mr_now() - t0));
        rc = lookup_build(&tracks, it.track_id, it.n);
    }
    if (!rc) {
        t0 = mr_now();
        rc = events_load(p_int, &tracks, &e, st);
    }
    if (!rc) rc = encode_users(&e, &uid_of, &n_users);
    if (!rc) rc = events_sort(&e, n_users, st);
    if (!rc && !(ustart = mr_calloc((size_t)n_users + 1, 8))) rc = MR_ENOMEM;
    if (!rc) {
        for (int64_t i = 0; i < e.n; i++) ustart[e.user[i] + 1]++;
        for (int64_t u = 0; u < n_users; u++) ustart[u + 1] += ustart[u];
        rc = events_order_within_users(&e, ustart, n_users, it.n, st);
    }
    if (!rc) {
        st->events = e.n;
        st->users = n_users;
        int32_t dmin = INT32_MAX, dmax = INT32_MIN;
        for (int64_t i = 0; i < e.n; i++) {
            it.listens[e.item[i]]++;
            if (e.day[i] < dmin) dmin = e.day[i];
            if (e.day[i] > dmax) dmax = e.day[i];
        }
        st->day_min = dmin, st->day_max = dmax;
        char d0[16], d1[16];
        mr_day_format(dmin, d0), mr_day_format(dmax, d1);
        int64_t unheard = 0;
        for (int32_t i = 0; i < it.n; i++) unheard += it.listens[i] == 0;
        MR_LOG(MR_LOG_INFO, "events encoded", MR_I("rows_in", st->events_in), MR_I("null_dropped", st->events_null),
               MR_I("unknown_track_dropped", st->events_unknown_track),
               MR_I("duplicate_user_track_dropped", st->events_duplicate), MR_I("events", st->events),
               MR_I("users", st->users), MR_I("items_never_played", unheard), MR_S("first_day", d0),
               MR_S("last_day", d1), MR_B("input_was_ordered_by_user", st->events_were_sorted),
               MR_F("seconds", mr_now() - t0));
        t0 = mr_now();
        mr_group_input gi = {it.n, it.name_off, it.name, it.artist_off.v, it.artist_ids.v, it.listens};
        static int64_t zero_off[1];
        if (!gi.artist_ids) gi.artist_ids = zero_off;
        rc = mr_track_groups(&gi, &o->groups, it.group, &st->groups);
    }
    if (!rc) {
        MR_LOG(MR_LOG_INFO, "track groups", MR_I("groups", st->groups.n_groups), MR_I("multi_track_groups", st->groups.n_multi),
               MR_I("tracks_in_multi_track_groups", st->groups.tracks_in_multi),
               MR_I("titles_with_version_markers", st->groups.with_markers), MR_I("empty_titles", st->groups.empty_titles),
               MR_I("joins_by_shared_artist", st->groups.joined_by_artist),
               MR_I("joins_as_marked_cover", st->groups.joined_as_cover),
               MR_I("joins_by_distinctive_title", st->groups.joined_by_title), MR_F("seconds", mr_now() - t0));
        if (mr_file_exists(p_truth)) rc = score_groups(p_truth, &it, &tracks, st);
    }
    /* outputs */
    if (!rc) rc = mr_ensure_writable_dir(o->out_dir);
    if (!rc) {
        t0 = mr_now();
        rc = catalog_write(p_catc, &cat);
    }
    if (!rc) rc = items_write(p_items, &it);
    if (!rc) rc = users_write(p_users, &e, uid_of, n_users);
    if (!rc) {
        mr_events ev = {e.n, e.user, e.item, e.day, e.seq, NULL, NULL};
        rc = mr_events_write_days(p_ev, &ev, INT32_MIN, INT32_MAX, uid_of, it.track_id, NULL);
    }
    if (!rc) MR_LOG(MR_LOG_INFO, "written", MR_S("dir", o->out_dir), MR_F("seconds", mr_now() - t0));
    lookup_free(&tracks);
    evcols_free(&e);
    items_free(&it);
    catalog_free(&cat);
    free(uid_of), free(ustart);
    free(p_tracks), free(p_cat), free(p_int), free(p_truth), free(p_items), free(p_catc), free(p_ev), free(p_users);
    return rc;
}
