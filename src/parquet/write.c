/* Parquet writer: the writer half of parquet.h.
 *
 * A batch passed to mr_pq_writer_write is cut into row groups of at most
 * row_group_rows rows. Column chunks are encoded in parallel, one OpenMP
 * task per (row group, column) over a window of row groups (write_batch),
 * each thread with its own reusable scratch, straight from the caller's
 * arrays into complete in-memory chunks (page headers, optional dictionary
 * page, data pages v1), which are written in file order as soon as they and
 * every chunk before them are done, while the other thread goes on
 * encoding. A chunk depends only on its column's data, so the file is
 * byte-identical whatever the thread count.
 *
 * Every column chunk first tries dictionary encoding (not for BOOLEAN) and
 * falls back to PLAIN for the whole chunk once the dictionary's PLAIN size
 * would pass DICT_LIMIT, the dictionary page limit of pyarrow. Pages are cut
 * at row boundaries once their values' PLAIN size reaches page_bytes.
 *
 * Row-group metadata is serialised to thrift as soon as a row group is
 * written, so the writer keeps only bytes, not structs, until the footer.
 * The file goes through base/fs.h's atomic output: nothing appears at the
 * final path unless mr_pq_writer_close succeeds.
 *
 * Statistics follow pyarrow: min/max over non-null values (NaN ignored,
 * a zero minimum written as -0.0 and a zero maximum as +0.0), null_count
 * counting level entries below the maximum definition level (nulls, null
 * and empty lists), the deprecated min/max fields only for signed orders
 * (not strings), and no min/max when either is longer than 4096 bytes.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <omp.h>
#include <stdio.h>

#include "base/err.h"
#include "base/fs.h"
#include "parquet/codec.h"
#include "parquet/encode.h"
#include "parquet/parquet.h"
#include "parquet/thrift_write.h"

#define DEFAULT_ROW_GROUP_ROWS 1048576
#define DEFAULT_PAGE_BYTES (1 << 20)
#define DICT_LIMIT (1 << 20) /* pyarrow's dictionary_pagesize_limit */
#define MAX_STAT_BYTES 4096  /* pyarrow's max_statistics_size */
#define CREATED_BY "musrec version 0.1.0"
#define WINDOW_BYTES ((size_t)32 << 20) /* input encoded per parallel region, roughly */
#define MAX_WINDOW 64                   /* row groups */

/* parquet.thrift enums */
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2 };
enum {
    CT_UTF8 = 0,
    CT_LIST = 3,
    CT_DATE = 6,
    CT_INT_8 = 15,
    CT_INT_16 = 16,
    CT_INT_32 = 17,
    CT_INT_64 = 18
};

typedef struct {
    char *name;
    mr_pq_wtype type;
    int bit_width, nullable, is_list;
    mr_pq_physical physical;
    int width; /* bytes per value in `values` (0 for strings) */
    int max_def, max_rep;
} wfield;

/* Scratch one encoding thread reuses from chunk to chunk. */
typedef struct {
    mr_pq_obuf page; /* one page body before compression */
    mr_pq_obuf hdr;
    uint8_t *comp; /* compressed page */
    size_t comp_len, comp_cap;
    uint8_t *def, *rep; /* level scratch */
    size_t lv_cap;
    uint32_t *codes;
    size_t codes_cap;
    mr_pq_dict dict;
} wscratch;

/* One encoded column chunk of the row group being written, with what its
 * ColumnChunk metadata needs; kept until the chunk is in the file. */
typedef struct {
    mr_pq_obuf chunk; /* the encoded column chunk: headers and pages */
    int64_t pos;      /* where it starts in the file, once written */
    int64_t num_values, uncompressed, dict_bytes, n_data_pages;
    int has_dict;
    int64_t null_count;
    int has_minmax;
    uint8_t min[8], max[8];     /* fixed-width statistics */
    const uint8_t *smin, *smax; /* string statistics, into the caller's bytes */
    size_t smin_len, smax_len;
    int rc;
    char *msg;
} wcol;

struct mr_pq_writer {
    mr_afile af;
    char *path;
    wfield *f;
    int nf;
    mr_pq_write_opts o;
    wcol *cols;        /* n_slots row groups x nf chunks in flight */
    int n_slots;
    wscratch *scr;     /* one per encoding thread */
    int n_scr;
    int64_t pos, num_rows, n_row_groups;
    mr_pq_obuf rg_meta; /* serialised RowGroup structs */
    char **kv;          /* key, value pairs */
    int nkv;
    int failed;
};

mr_pq_write_opts mr_pq_write_opts_default(void)
{
    mr_pq_write_opts o = {
        .codec = MR_PQ_SNAPPY, .row_group_rows = DEFAULT_ROW_GROUP_ROWS, .dictionary = 1};
    return o;
}

static const char *type_name(mr_pq_wtype t)
{
    static const char *names[] = {"BOOL", "I32", "I64", "F32", "F64", "STRING", "DATE", "TS_NS"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

static void free_slots(mr_pq_writer *w)
{
    for (int i = 0; w->cols && i < w->n_slots * w->nf; i++) {
        mr_pq_obuf_free(&w->cols[i].chunk);
        free(w->cols[i].msg);
    }
    free(w->cols);
    w->cols = NULL;
    w->n_slots = 0;
}

static void free_scratch(mr_pq_writer *w)
{
    for (int i = 0; w->scr && i < w->n_scr; i++) {
        wscratch *sc = &w->scr[i];
        mr_pq_obuf_free(&sc->page);
        mr_pq_obuf_free(&sc->hdr);
        free(sc->comp);
        free(sc->def);
        free(sc->rep);
        free(sc->codes);
        mr_pq_dict_free(&sc->dict);
    }
    free(w->scr);
    w->scr = NULL;
    w->n_scr = 0;
}

static void free_writer(mr_pq_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->nf; i++) free(w->f[i].name);
    free_slots(w);
    free_scratch(w);
    free(w->f);
    for (int i = 0; i < 2 * w->nkv; i++) free(w->kv[i]);
    free(w->kv);
    mr_pq_obuf_free(&w->rg_meta);
    free(w->path);
    free(w);
}

/* ---- open ---- */

static int check_field(const char *path, const mr_pq_field *f, int i)
{
    if (!f->name || !*f->name)
        return mr_err(MR_EINVAL, "writing %s: field %d has no name", path, i);
    if ((unsigned)f->type > MR_PQ_W_TS_NS)
        return mr_err(MR_EINVAL, "writing %s: field '%s' has unknown type %d", path, f->name,
                      (int)f->type);
    int bw = f->bit_width;
    int ok = bw == 0 || (f->type == MR_PQ_W_I32 && (bw == 8 || bw == 16 || bw == 32)) ||
             (f->type == MR_PQ_W_I64 && bw == 64);
    if (!ok)
        return mr_err(MR_EINVAL,
                      "writing %s: field '%s' of type %s cannot have bit_width %d (I32 takes 8, "
                      "16 or 32, I64 takes 64)",
                      path, f->name, type_name(f->type), bw);
    return 0;
}

int mr_pq_writer_open(mr_pq_writer **out, const char *path, const mr_pq_field *fields, int n_fields,
                      const mr_pq_write_opts *opts)
{
    *out = NULL;
    if (n_fields < 1 || !fields)
        return mr_err(MR_EINVAL, "writing %s: a parquet file needs at least one field", path);
    mr_pq_write_opts o = opts ? *opts : mr_pq_write_opts_default();
    if (o.row_group_rows <= 0) o.row_group_rows = DEFAULT_ROW_GROUP_ROWS;
    if (o.page_bytes <= 0) o.page_bytes = DEFAULT_PAGE_BYTES;
    if (o.codec != MR_PQ_UNCOMPRESSED && o.codec != MR_PQ_SNAPPY && o.codec != MR_PQ_ZSTD &&
        o.codec != MR_PQ_GZIP)
        return mr_err(MR_EINVAL,
                      "writing %s: codec %d is not one the writer offers "
                      "(UNCOMPRESSED, SNAPPY, GZIP, ZSTD)",
                      path, (int)o.codec);
    for (int i = 0; i < n_fields; i++) {
        int rc = check_field(path, &fields[i], i);
        if (rc) return rc;
        for (int j = 0; j < i; j++)
            if (strcmp(fields[i].name, fields[j].name) == 0)
                return mr_err(MR_EINVAL, "writing %s: field name '%s' appears twice", path,
                              fields[i].name);
    }
    mr_pq_writer *w = mr_calloc(1, sizeof *w);
    if (!w) return MR_ENOMEM;
    w->o = o;
    w->f = mr_calloc((size_t)n_fields, sizeof *w->f);
    w->path = mr_strdup(path);
    if (!w->f || !w->path) {
        free_writer(w);
        return MR_ENOMEM;
    }
    w->nf = n_fields;
    for (int i = 0; i < n_fields; i++) {
        const mr_pq_field *s = &fields[i];
        wfield *f = &w->f[i];
        f->name = mr_strdup(s->name);
        if (!f->name) {
            free_writer(w);
            return MR_ENOMEM;
        }
        f->type = s->type;
        f->bit_width = s->bit_width;
        f->nullable = s->nullable != 0;
        f->is_list = s->is_list != 0;
        switch (s->type) {
        case MR_PQ_W_BOOL:
            f->physical = MR_PQ_BOOLEAN, f->width = 1;
            break;
        case MR_PQ_W_I32:
        case MR_PQ_W_DATE:
            f->physical = MR_PQ_INT32, f->width = 4;
            break;
        case MR_PQ_W_I64:
        case MR_PQ_W_TS_NS:
            f->physical = MR_PQ_INT64, f->width = 8;
            break;
        case MR_PQ_W_F32:
            f->physical = MR_PQ_FLOAT, f->width = 4;
            break;
        case MR_PQ_W_F64:
            f->physical = MR_PQ_DOUBLE, f->width = 8;
            break;
        case MR_PQ_W_STRING:
            f->physical = MR_PQ_BYTE_ARRAY, f->width = 0;
            break;
        }
        f->max_rep = f->is_list;
        f->max_def = f->nullable + f->is_list;
    }
    int rc = mr_afile_open(&w->af, path);
    if (rc) {
        free_writer(w);
        return rc;
    }
    if (fwrite("PAR1", 1, 4, w->af.f) != 4) {
        rc = mr_err(MR_EIO, "cannot write %s: %s", path, strerror(errno));
        mr_afile_abort(&w->af);
        free_writer(w);
        return rc;
    }
    w->pos = 4;
    *out = w;
    return 0;
}

int mr_pq_writer_kv(mr_pq_writer *w, const char *key, const char *value)
{
    if (!key || !value)
        return mr_err(MR_EINVAL, "writing %s: metadata key and value must be set", w->path);
    for (int i = 0; i < w->nkv; i++)
        if (strcmp(w->kv[2 * i], key) == 0) {
            char *v = mr_strdup(value);
            if (!v) return MR_ENOMEM;
            free(w->kv[2 * i + 1]);
            w->kv[2 * i + 1] = v;
            return 0;
        }
    char **kv = mr_realloc(w->kv, (size_t)(w->nkv + 1) * 2 * sizeof *kv);
    if (!kv) return MR_ENOMEM;
    w->kv = kv;
    char *k = mr_strdup(key), *v = mr_strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return MR_ENOMEM;
    }
    kv[2 * w->nkv] = k;
    kv[2 * w->nkv + 1] = v;
    w->nkv++;
    return 0;
}

/* ---- input validation ---- */

/* Offset of the first byte of p[0..n) that is not valid UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included), or -1. */
static int64_t utf8_bad(const uint8_t *p, int64_t n)
{
    int64_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (i + len > n) return i;
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return -1;
}

/* Checks one column batch against its field, before anything is encoded. */
static int check_col(const mr_pq_writer *w, const wfield *f, const mr_pq_col *c, int64_t n)
{
    const char *p = w->path, *nm = f->name;
    if (c->n_rows != n)
        return mr_err(MR_EINVAL, "writing %s: column '%s' has %lld rows but column '%s' has %lld",
                      p, nm, (long long)c->n_rows, w->f[0].name, (long long)n);
    int64_t s0 = 0, s1 = n;
    if (f->is_list) {
        const int64_t *lo = c->list_offsets;
        if (!lo)
            return mr_err(MR_EINVAL, "writing %s: list column '%s' has no list_offsets", p, nm);
        if (lo[0] < 0)
            return mr_err(MR_EINVAL, "writing %s: column '%s' has negative list offset %lld", p, nm,
                          (long long)lo[0]);
        for (int64_t r = 0; r < n; r++) {
            if (lo[r + 1] < lo[r])
                return mr_err(MR_EINVAL,
                              "writing %s: column '%s' has decreasing list offsets at row %lld", p,
                              nm, (long long)r);
            if (c->list_valid && !c->list_valid[r]) {
                if (!f->nullable)
                    return mr_err(MR_EINVAL,
                                  "writing %s: column '%s' is required but row %lld is a null list",
                                  p, nm, (long long)r);
                if (lo[r + 1] != lo[r])
                    return mr_err(MR_EINVAL,
                                  "writing %s: column '%s' row %lld is a null list but owns %lld "
                                  "elements",
                                  p, nm, (long long)r, (long long)(lo[r + 1] - lo[r]));
            }
        }
        s0 = lo[0];
        s1 = lo[n];
        if (c->n_slots && s1 > c->n_slots)
            return mr_err(MR_EINVAL,
                          "writing %s: column '%s' list offsets end at %lld but it has %lld slots",
                          p, nm, (long long)s1, (long long)c->n_slots);
        if (c->valid)
            for (int64_t s = s0; s < s1; s++)
                if (!c->valid[s])
                    return mr_err(MR_EINVAL,
                                  "writing %s: column '%s' holds lists of required elements but "
                                  "element %lld is null",
                                  p, nm, (long long)s);
    } else {
        if (c->n_slots != 0 && c->n_slots != n)
            return mr_err(MR_EINVAL, "writing %s: flat column '%s' has %lld slots for %lld rows", p,
                          nm, (long long)c->n_slots, (long long)n);
        if (c->valid && !f->nullable)
            for (int64_t s = 0; s < n; s++)
                if (!c->valid[s])
                    return mr_err(MR_EINVAL,
                                  "writing %s: column '%s' is required but row %lld is null", p, nm,
                                  (long long)s);
    }
    if (s1 == s0) return 0;
    if (f->type == MR_PQ_W_STRING) {
        const int64_t *o = c->offsets;
        if (!o) return mr_err(MR_EINVAL, "writing %s: string column '%s' has no offsets", p, nm);
        if (o[s0] < 0)
            return mr_err(MR_EINVAL, "writing %s: column '%s' has negative string offset", p, nm);
        for (int64_t s = s0; s < s1; s++) {
            int64_t len = o[s + 1] - o[s];
            if (len < 0 || len > INT32_MAX)
                return mr_err(MR_EINVAL, "writing %s: column '%s' slot %lld has string length %lld",
                              p, nm, (long long)s, (long long)len);
        }
        if (!c->bytes && o[s1] > o[s0])
            return mr_err(MR_EINVAL, "writing %s: string column '%s' has no bytes", p, nm);
        const uint8_t *valid = f->is_list ? NULL : c->valid;
        for (int64_t s = s0; s < s1; s++) {
            if (valid && !valid[s]) continue;
            int64_t bad = utf8_bad(c->bytes + o[s], o[s + 1] - o[s]);
            if (bad >= 0)
                return mr_err(MR_EINVAL,
                              "writing %s: column '%s' %s %lld is not valid UTF-8 (byte %lld is "
                              "0x%02x)",
                              p, nm, f->is_list ? "element" : "row", (long long)s, (long long)bad,
                              c->bytes[o[s] + bad]);
        }
    } else if (!c->values) {
        return mr_err(MR_EINVAL, "writing %s: column '%s' has no values", p, nm);
    } else if (f->type == MR_PQ_W_I32 && (f->bit_width == 8 || f->bit_width == 16)) {
        /* INT(8)/INT(16) values must fit their annotation */
        const int32_t *v = c->values;
        const uint8_t *valid = f->is_list ? NULL : c->valid;
        int32_t lim = f->bit_width == 8 ? 127 : 32767;
        for (int64_t s = s0; s < s1; s++)
            if ((v[s] > lim || v[s] < -lim - 1) && (!valid || valid[s]))
                return mr_err(MR_EINVAL, "writing %s: column '%s' is INT(%d) but %s %lld holds %d",
                              p, nm, f->bit_width, f->is_list ? "element" : "row", (long long)s,
                              (int)v[s]);
    }
    return 0;
}

/* ---- statistics ---- */

static int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return na < nb ? -1 : na > nb;
}

#define MINMAX_INT(T)                                                                              \
    do {                                                                                           \
        const T *v = col->values;                                                                  \
        T lo = 0, hi = 0;                                                                          \
        int any = 0;                                                                               \
        if (!valid) {                                                                              \
            if (s1 > s0) {                                                                         \
                lo = hi = v[s0];                                                                   \
                any = 1;                                                                           \
            }                                                                                      \
            for (int64_t s = s0; s < s1; s++) {                                                    \
                T x = v[s];                                                                        \
                lo = x < lo ? x : lo;                                                              \
                hi = x > hi ? x : hi;                                                              \
            }                                                                                      \
        } else {                                                                                   \
            for (int64_t s = s0; s < s1; s++) {                                                    \
                if (!valid[s]) continue;                                                           \
                T x = v[s];                                                                        \
                if (!any) lo = hi = x, any = 1;                                                    \
                lo = x < lo ? x : lo;                                                              \
                hi = x > hi ? x : hi;                                                              \
            }                                                                                      \
        }                                                                                          \
        cs->has_minmax = any;                                                                      \
        memcpy(cs->min, &lo, sizeof lo);                                                           \
        memcpy(cs->max, &hi, sizeof hi);                                                           \
    } while (0)

#define MINMAX_FLOAT(T)                                                                            \
    do {                                                                                           \
        const T *v = col->values;                                                                  \
        T lo = 0, hi = 0;                                                                          \
        int any = 0;                                                                               \
        for (int64_t s = s0; s < s1; s++) {                                                        \
            if (valid && !valid[s]) continue;                                                      \
            T x = v[s];                                                                            \
            if (x != x) continue; /* NaN has no place in an order */                               \
            if (!any) lo = hi = x, any = 1;                                                        \
            lo = x < lo ? x : lo;                                                                  \
            hi = x > hi ? x : hi;                                                                  \
        }                                                                                          \
        if (any && lo == 0) lo = -(T)0.0;                                                          \
        if (any && hi == 0) hi = (T)0.0;                                                           \
        cs->has_minmax = any;                                                                      \
        memcpy(cs->min, &lo, sizeof lo);                                                           \
        memcpy(cs->max, &hi, sizeof hi);                                                           \
    } while (0)

static void compute_stats(const wfield *f, const mr_pq_col *col, const uint8_t *bytes, int64_t s0,
                          int64_t s1, wcol *cs)
{
    const uint8_t *valid = f->is_list ? NULL : col->valid;
    cs->has_minmax = 0;
    cs->smin = cs->smax = NULL;
    switch (f->type) {
    case MR_PQ_W_I32:
    case MR_PQ_W_DATE:
        MINMAX_INT(int32_t);
        break;
    case MR_PQ_W_I64:
    case MR_PQ_W_TS_NS:
        MINMAX_INT(int64_t);
        break;
    case MR_PQ_W_F32:
        MINMAX_FLOAT(float);
        break;
    case MR_PQ_W_F64:
        MINMAX_FLOAT(double);
        break;
    case MR_PQ_W_BOOL: {
        const uint8_t *v = col->values;
        int seen[2] = {0, 0};
        for (int64_t s = s0; s < s1 && !(seen[0] && seen[1]); s++)
            if (!valid || valid[s]) seen[v[s] != 0] = 1;
        cs->has_minmax = seen[0] || seen[1];
        cs->min[0] = !seen[0];
        cs->max[0] = seen[1];
        break;
    }
    case MR_PQ_W_STRING: {
        const int64_t *o = col->offsets;
        const uint8_t *b = bytes;
        for (int64_t s = s0; s < s1; s++) {
            if (valid && !valid[s]) continue;
            const uint8_t *p = b + o[s];
            size_t len = (size_t)(o[s + 1] - o[s]);
            if (!cs->has_minmax) {
                cs->smin = cs->smax = p;
                cs->smin_len = cs->smax_len = len;
                cs->has_minmax = 1;
                continue;
            }
            if (cmp_bytes(p, len, cs->smin, cs->smin_len) < 0) cs->smin = p, cs->smin_len = len;
            if (cmp_bytes(p, len, cs->smax, cs->smax_len) > 0) cs->smax = p, cs->smax_len = len;
        }
        if (cs->has_minmax && (cs->smin_len > MAX_STAT_BYTES || cs->smax_len > MAX_STAT_BYTES))
            cs->has_minmax = 0;
        break;
    }
    }
}

/* ---- pages ---- */

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < want) n += n / 2 + 1024;
    void *q = realloc(*p, n * elem);
    if (!q) return mr_err(MR_ENOMEM, "out of memory for %zu page entries", n);
    *p = q;
    *cap = n;
    mr_pq_hugepage_hint(q, n * elem);
    return 0;
}

/* Compresses the finished page body in sc->page and appends header + data to
 * the chunk. */
static int emit_page(const mr_pq_writer *w, const wfield *f, wcol *cs, wscratch *sc, int type,
                     int64_t n_values, int encoding)
{
    const uint8_t *data = sc->page.p;
    size_t ulen = sc->page.n, clen = ulen;
    int rc = mr_pq_obuf_ok(&sc->page);
    if (rc) return rc;
    if (ulen > INT32_MAX)
        return mr_err(MR_EINVAL,
                      "writing %s: a page of column '%s' would be %zu bytes, over the "
                      "2 GiB page limit",
                      w->path, f->name, ulen);
    if (w->o.codec != MR_PQ_UNCOMPRESSED) {
        rc = mr_pq_compress_level(w->o.codec, w->o.level, sc->page.p, ulen, &sc->comp,
                                  &sc->comp_len, &sc->comp_cap);
        if (rc) return mr_err_wrap(rc, "writing %s column '%s': ", w->path, f->name);
        data = sc->comp;
        clen = sc->comp_len;
        if (clen > INT32_MAX)
            return mr_err(MR_EINVAL, "writing %s: a compressed page of column '%s' is over 2 GiB",
                          w->path, f->name);
    }
    sc->hdr.n = 0;
    mr_pq_tw t;
    mr_pq_tw_init(&t, &sc->hdr);
    mr_pq_tw_i32(&t, 1, type);
    mr_pq_tw_i32(&t, 2, (int32_t)ulen);
    mr_pq_tw_i32(&t, 3, (int32_t)clen);
    if (w->o.page_crc) mr_pq_tw_i32(&t, 4, (int32_t)crc32(0, data, (uInt)clen));
    if (type == PAGE_DATA) {
        mr_pq_tw_struct(&t, 5);
        mr_pq_tw_i32(&t, 1, (int32_t)n_values);
        mr_pq_tw_i32(&t, 2, encoding);
        mr_pq_tw_i32(&t, 3, ENC_RLE);
        mr_pq_tw_i32(&t, 4, ENC_RLE);
        mr_pq_tw_end(&t);
    } else {
        mr_pq_tw_struct(&t, 7);
        mr_pq_tw_i32(&t, 1, (int32_t)n_values);
        mr_pq_tw_i32(&t, 2, encoding);
        mr_pq_tw_end(&t);
    }
    mr_pq_tw_end(&t);
    if ((rc = mr_pq_obuf_ok(&sc->hdr))) return rc;
    mr_pq_obuf_put(&cs->chunk, sc->hdr.p, sc->hdr.n);
    mr_pq_obuf_put(&cs->chunk, data, clen);
    cs->uncompressed += (int64_t)(sc->hdr.n + ulen);
    return mr_pq_obuf_ok(&cs->chunk);
}

/* Appends a level run with its 4-byte length prefix (data page v1). */
static void put_levels(mr_pq_obuf *out, const uint8_t *lv, int64_t n, int max_level)
{
    if (mr_pq_obuf_reserve(out, 4)) return;
    size_t at = out->n;
    out->n += 4;
    mr_pq_rle_u8(out, lv, n, mr_pq_bit_width((uint64_t)max_level));
    if (out->oom) return;
    uint32_t len = (uint32_t)(out->n - at - 4);
    for (int k = 0; k < 4; k++) out->p[at + k] = (uint8_t)(len >> (8 * k));
}

/* Encodes rows [r0, r1) of one column into cs->chunk. */
static int encode_chunk(const mr_pq_writer *w, const wfield *f, const mr_pq_col *col, int64_t r0,
                        int64_t r1, wcol *cs, wscratch *sc)
{
    const int64_t *lo = col->list_offsets;
    const uint8_t *valid = f->is_list ? NULL : col->valid;
    int64_t s0 = f->is_list ? lo[r0] : r0, s1 = f->is_list ? lo[r1] : r1;
    int rc;
    /* all-empty strings may come without a byte buffer */
    const uint8_t *bytes = col->bytes ? col->bytes : (const uint8_t *)"";

    cs->chunk.n = 0;
    /* room for the whole chunk up front (PLAIN size, compression's worst
     * case and page headers), so it is not grown and copied page by page */
    size_t est = f->width || s1 == s0
                     ? (size_t)(s1 - s0) * (size_t)f->width
                     : (size_t)(s1 - s0) * 4 + (size_t)(col->offsets[s1] - col->offsets[s0]);
    if (mr_pq_obuf_reserve(&cs->chunk, est + est / 32 + 65536)) return mr_pq_obuf_ok(&cs->chunk);
    cs->num_values = cs->uncompressed = cs->dict_bytes = cs->n_data_pages = 0;
    cs->has_dict = 0;

    /* null count: level entries below max_def */
    int64_t nulls = 0;
    if (f->is_list) {
        for (int64_t r = r0; r < r1; r++) nulls += lo[r + 1] == lo[r];
    } else if (valid) {
        for (int64_t s = s0; s < s1; s++) nulls += !valid[s];
    }
    cs->null_count = nulls;
    int64_t nonnull = f->is_list ? s1 - s0 : (s1 - s0) - nulls;

    compute_stats(f, col, bytes, s0, s1, cs);

    /* dictionary attempt */
    int bw = 0;
    if (w->o.dictionary && f->type != MR_PQ_W_BOOL && nonnull > 0) {
        if ((rc = grow((void **)&sc->codes, &sc->codes_cap, (size_t)nonnull, sizeof *sc->codes)))
            return rc;
        if (f->type == MR_PQ_W_STRING)
            rc = mr_pq_dict_bytes(&sc->dict, col->offsets, bytes, valid, s0, s1, DICT_LIMIT,
                                  sc->codes);
        else
            rc = mr_pq_dict_fixed(&sc->dict, col->values, f->width, valid, s0, s1, DICT_LIMIT,
                                  sc->codes);
        if (rc < 0) return rc;
        cs->has_dict = rc;
    }
    if (cs->has_dict) {
        sc->page.n = 0;
        if (f->type == MR_PQ_W_STRING)
            mr_pq_dict_plain_bytes(&sc->dict, &sc->page, col->offsets, bytes);
        else
            mr_pq_dict_plain_fixed(&sc->dict, &sc->page, col->values, f->width);
        if ((rc = emit_page(w, f, cs, sc, PAGE_DICTIONARY, sc->dict.n, ENC_PLAIN))) return rc;
        cs->dict_bytes = (int64_t)cs->chunk.n;
        bw = mr_pq_bit_width((uint64_t)(sc->dict.n - 1));
        if (bw == 0) bw = 1; /* some readers reject width 0 */
    }

    /* data pages, cut at row boundaries */
    int64_t page_bytes = w->o.page_bytes, k = 0; /* k: index of the page's first code */
    int64_t r = r0;
    do {
        int64_t pr0 = r, pr1;
        if (!f->is_list && f->width) {
            int64_t rows = page_bytes / f->width;
            pr1 = r1 - pr0 > rows ? pr0 + (rows ? rows : 1) : r1;
        } else {
            int64_t acc = 0;
            pr1 = pr0;
            while (pr1 < r1 && acc < page_bytes) {
                int64_t a = f->is_list ? lo[pr1] : pr1, b = f->is_list ? lo[pr1 + 1] : pr1 + 1;
                acc += f->width ? (b - a) * f->width
                                : (b - a) * 4 + (col->offsets[b] - col->offsets[a]);
                acc += 1; /* a row of empty lists still costs levels */
                pr1++;
            }
        }
        r = pr1;
        int64_t ps0 = f->is_list ? lo[pr0] : pr0, ps1 = f->is_list ? lo[pr1] : pr1;
        int64_t n_lv = f->is_list ? 0 : pr1 - pr0, page_nonnull = 0;

        /* levels */
        sc->page.n = 0;
        if (f->is_list) {
            size_t want = (size_t)(ps1 - ps0 + pr1 - pr0);
            if ((rc = grow((void **)&sc->def, &sc->lv_cap, want, 1))) return rc;
            size_t cap2 = sc->lv_cap; /* rep shares def's capacity */
            uint8_t *rp = realloc(sc->rep, cap2);
            if (!rp) return mr_err(MR_ENOMEM, "out of memory for %zu levels", cap2);
            sc->rep = rp;
            uint8_t empty_def = (uint8_t)(f->max_def - 1);
            for (int64_t q = pr0; q < pr1; q++) {
                int64_t len = lo[q + 1] - lo[q];
                if (len == 0) {
                    sc->def[n_lv] = (col->list_valid && !col->list_valid[q]) ? 0 : empty_def;
                    sc->rep[n_lv++] = 0;
                    continue;
                }
                memset(sc->def + n_lv, f->max_def, (size_t)len);
                memset(sc->rep + n_lv, 1, (size_t)len);
                sc->rep[n_lv] = 0;
                n_lv += len;
            }
            page_nonnull = ps1 - ps0;
            put_levels(&sc->page, sc->rep, n_lv, f->max_rep);
            put_levels(&sc->page, sc->def, n_lv, f->max_def);
        } else if (f->nullable) {
            if ((rc = grow((void **)&sc->def, &sc->lv_cap, (size_t)n_lv, 1))) return rc;
            if (valid) {
                for (int64_t s = ps0; s < ps1; s++) {
                    uint8_t d = valid[s] != 0;
                    sc->def[s - ps0] = d;
                    page_nonnull += d;
                }
            } else {
                memset(sc->def, 1, (size_t)n_lv);
                page_nonnull = n_lv;
            }
            put_levels(&sc->page, sc->def, n_lv, f->max_def);
        } else {
            page_nonnull = n_lv;
        }

        /* values */
        if (cs->has_dict) {
            mr_pq_obuf_byte(&sc->page, (uint8_t)bw);
            mr_pq_rle_u32(&sc->page, sc->codes + k, page_nonnull, bw);
        } else if (f->type == MR_PQ_W_STRING) {
            mr_pq_plain_bytes(&sc->page, col->offsets, bytes, valid, ps0, ps1);
        } else if (f->type == MR_PQ_W_BOOL) {
            mr_pq_plain_bool(&sc->page, col->values, valid, ps0, ps1);
        } else {
            mr_pq_plain_fixed(&sc->page, col->values, f->width, valid, ps0, ps1);
        }
        k += page_nonnull;
        if (n_lv > INT32_MAX)
            return mr_err(MR_EINVAL, "writing %s: a page of column '%s' has over 2^31 values",
                          w->path, f->name);
        rc = emit_page(w, f, cs, sc, PAGE_DATA, n_lv, cs->has_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN);
        if (rc) return rc;
        cs->num_values += n_lv;
        cs->n_data_pages++;
    } while (r < r1);
    return 0;
}

/* ---- metadata ---- */

static void put_stats(mr_pq_tw *t, const wfield *f, const wcol *cs)
{
    mr_pq_tw_struct(t, 12);
    const void *mn = cs->min, *mx = cs->max;
    size_t n = f->width;
    if (f->type == MR_PQ_W_STRING) {
        mn = cs->smin;
        mx = cs->smax;
    }
    int deprecated = f->type != MR_PQ_W_STRING; /* only for signed sort orders */
    if (cs->has_minmax && deprecated) {
        mr_pq_tw_binary(t, 1, mx, n);
        mr_pq_tw_binary(t, 2, mn, n);
    }
    mr_pq_tw_i64(t, 3, cs->null_count);
    if (cs->has_minmax) {
        mr_pq_tw_binary(t, 5, mx, f->type == MR_PQ_W_STRING ? cs->smax_len : n);
        mr_pq_tw_binary(t, 6, mn, f->type == MR_PQ_W_STRING ? cs->smin_len : n);
    }
    mr_pq_tw_end(t);
}

static void put_path(mr_pq_tw *t, int16_t id, const wfield *f)
{
    mr_pq_tw_list(t, id, MR_TC_BINARY, f->is_list ? 3 : 1);
    mr_pq_tw_elem_binary(t, f->name, strlen(f->name));
    if (f->is_list) {
        mr_pq_tw_elem_binary(t, "list", 4);
        mr_pq_tw_elem_binary(t, "element", 7);
    }
}

/* Serialises one RowGroup struct into w->rg_meta from its nf written
 * chunks rg[0..nf). */
static int put_row_group(mr_pq_writer *w, const wcol *rg, int64_t rows)
{
    mr_pq_tw t;
    mr_pq_tw_init(&t, &w->rg_meta);
    int64_t total_u = 0, total_c = 0;
    mr_pq_tw_list(&t, 1, MR_TC_STRUCT, w->nf);
    for (int i = 0; i < w->nf; i++) {
        const wfield *f = &w->f[i];
        const wcol *cs = &rg[i];
        int64_t start = cs->pos, clen = (int64_t)cs->chunk.n;
        total_u += cs->uncompressed;
        total_c += clen;
        mr_pq_tw_begin(&t); /* ColumnChunk */
        mr_pq_tw_i64(&t, 2, start);
        mr_pq_tw_struct(&t, 3); /* ColumnMetaData */
        mr_pq_tw_i32(&t, 1, f->physical);
        if (cs->has_dict) {
            mr_pq_tw_list(&t, 2, MR_TC_I32, 3);
            mr_pq_tw_elem_i32(&t, ENC_PLAIN);
            mr_pq_tw_elem_i32(&t, ENC_RLE);
            mr_pq_tw_elem_i32(&t, ENC_RLE_DICTIONARY);
        } else {
            mr_pq_tw_list(&t, 2, MR_TC_I32, 2);
            mr_pq_tw_elem_i32(&t, ENC_PLAIN);
            mr_pq_tw_elem_i32(&t, ENC_RLE);
        }
        put_path(&t, 3, f);
        mr_pq_tw_i32(&t, 4, w->o.codec);
        mr_pq_tw_i64(&t, 5, cs->num_values);
        mr_pq_tw_i64(&t, 6, cs->uncompressed);
        mr_pq_tw_i64(&t, 7, clen);
        mr_pq_tw_i64(&t, 9, start + cs->dict_bytes);
        if (cs->has_dict) mr_pq_tw_i64(&t, 11, start);
        put_stats(&t, f, cs);
        /* encoding_stats: lets readers see every data page is dictionary-encoded */
        mr_pq_tw_list(&t, 13, MR_TC_STRUCT, cs->has_dict ? 2 : 1);
        if (cs->has_dict) {
            mr_pq_tw_begin(&t);
            mr_pq_tw_i32(&t, 1, PAGE_DICTIONARY);
            mr_pq_tw_i32(&t, 2, ENC_PLAIN);
            mr_pq_tw_i32(&t, 3, 1);
            mr_pq_tw_end(&t);
        }
        mr_pq_tw_begin(&t);
        mr_pq_tw_i32(&t, 1, PAGE_DATA);
        mr_pq_tw_i32(&t, 2, cs->has_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN);
        mr_pq_tw_i32(&t, 3, (int32_t)cs->n_data_pages);
        mr_pq_tw_end(&t);
        mr_pq_tw_end(&t); /* ColumnMetaData */
        mr_pq_tw_end(&t); /* ColumnChunk */
    }
    mr_pq_tw_i64(&t, 2, total_u);
    mr_pq_tw_i64(&t, 3, rows);
    mr_pq_tw_i64(&t, 5, rg[0].pos);
    mr_pq_tw_i64(&t, 6, total_c);
    mr_pq_tw_i16(&t, 7, (int16_t)(w->n_row_groups < INT16_MAX ? w->n_row_groups : INT16_MAX));
    mr_pq_tw_end(&t);
    return mr_pq_obuf_ok(&w->rg_meta);
}

static void put_leaf_type(mr_pq_tw *t, const wfield *f)
{
    mr_pq_tw_i32(t, 1, f->physical);
}

/* converted_type (6) and logicalType (10) of a leaf */
static void put_leaf_annotation(mr_pq_tw *t, const wfield *f)
{
    switch (f->type) {
    case MR_PQ_W_STRING:
        mr_pq_tw_i32(t, 6, CT_UTF8);
        mr_pq_tw_struct(t, 10);
        mr_pq_tw_struct(t, 1); /* StringType */
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        break;
    case MR_PQ_W_DATE:
        mr_pq_tw_i32(t, 6, CT_DATE);
        mr_pq_tw_struct(t, 10);
        mr_pq_tw_struct(t, 6); /* DateType */
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        break;
    case MR_PQ_W_TS_NS: /* no converted type exists for nanoseconds */
        mr_pq_tw_struct(t, 10);
        mr_pq_tw_struct(t, 8); /* TimestampType */
        mr_pq_tw_bool(t, 1, 0);
        mr_pq_tw_struct(t, 2); /* TimeUnit */
        mr_pq_tw_struct(t, 3); /* NANOS */
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        break;
    case MR_PQ_W_I32:
    case MR_PQ_W_I64:
        if (!f->bit_width) break;
        mr_pq_tw_i32(t, 6,
                     f->bit_width == 8    ? CT_INT_8
                     : f->bit_width == 16 ? CT_INT_16
                     : f->bit_width == 32 ? CT_INT_32
                                          : CT_INT_64);
        mr_pq_tw_struct(t, 10);
        mr_pq_tw_struct(t, 10); /* IntType */
        mr_pq_tw_i8(t, 1, (int8_t)f->bit_width);
        mr_pq_tw_bool(t, 2, 1);
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        break;
    default:
        break;
    }
}

static void put_schema(mr_pq_tw *t, const mr_pq_writer *w)
{
    int n = 1;
    for (int i = 0; i < w->nf; i++) n += w->f[i].is_list ? 3 : 1;
    mr_pq_tw_list(t, 2, MR_TC_STRUCT, n);
    mr_pq_tw_begin(t); /* root */
    mr_pq_tw_string(t, 4, "schema");
    mr_pq_tw_i32(t, 5, w->nf);
    mr_pq_tw_end(t);
    for (int i = 0; i < w->nf; i++) {
        const wfield *f = &w->f[i];
        int rep = f->nullable ? REP_OPTIONAL : REP_REQUIRED;
        if (!f->is_list) {
            mr_pq_tw_begin(t);
            put_leaf_type(t, f);
            mr_pq_tw_i32(t, 3, rep);
            mr_pq_tw_string(t, 4, f->name);
            put_leaf_annotation(t, f);
            mr_pq_tw_end(t);
            continue;
        }
        mr_pq_tw_begin(t); /* <name> (LIST) */
        mr_pq_tw_i32(t, 3, rep);
        mr_pq_tw_string(t, 4, f->name);
        mr_pq_tw_i32(t, 5, 1);
        mr_pq_tw_i32(t, 6, CT_LIST);
        mr_pq_tw_struct(t, 10);
        mr_pq_tw_struct(t, 3); /* ListType */
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        mr_pq_tw_end(t);
        mr_pq_tw_begin(t); /* repeated group list */
        mr_pq_tw_i32(t, 3, REP_REPEATED);
        mr_pq_tw_string(t, 4, "list");
        mr_pq_tw_i32(t, 5, 1);
        mr_pq_tw_end(t);
        mr_pq_tw_begin(t); /* required element */
        put_leaf_type(t, f);
        mr_pq_tw_i32(t, 3, REP_REQUIRED);
        mr_pq_tw_string(t, 4, "element");
        put_leaf_annotation(t, f);
        mr_pq_tw_end(t);
    }
}

/* ---- write / close ---- */

static int write_bytes(mr_pq_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->af.f) != n)
        return mr_err(MR_EIO, "cannot write %s: %s", w->path, strerror(errno));
    w->pos += (int64_t)n;
    return 0;
}

/* Room for `slots` row groups of chunks in flight and one scratch per
 * thread; kept from batch to batch. */
static int ensure_slots(mr_pq_writer *w, int slots, int threads)
{
    if (slots > w->n_slots) {
        free_slots(w);
        w->cols = mr_calloc((size_t)slots * (size_t)w->nf, sizeof *w->cols);
        if (!w->cols) return MR_ENOMEM;
        w->n_slots = slots;
    }
    if (threads > w->n_scr) {
        free_scratch(w);
        w->scr = mr_calloc((size_t)threads, sizeof *w->scr);
        if (!w->scr) return MR_ENOMEM;
        w->n_scr = threads;
    }
    return 0;
}

/* Writes task k's chunk (row group k / nf of the window, column k % nf) at
 * the end of the file, and the row group's metadata after its last chunk. */
static int write_chunk(mr_pq_writer *w, int k, const int64_t *rg_rows)
{
    int nf = w->nf, gi = k / nf;
    wcol *cs = &w->cols[k];
    cs->pos = w->pos;
    int rc = write_bytes(w, cs->chunk.p, cs->chunk.n);
    if (rc || k % nf != nf - 1) return rc;
    if ((rc = put_row_group(w, &w->cols[gi * nf], rg_rows[gi]))) return rc;
    w->n_row_groups++;
    w->num_rows += rg_rows[gi];
    return 0;
}

/* Encodes rows [0, n) as row groups of row_group_rows and writes them.
 *
 * The work is one task per (row group, column) chunk, for a window of at
 * least as many row groups as there are threads (more when they are small),
 * so that 2 threads stay busy even when one column costs far more than the
 * others. Chunks are written in
 * file order as soon as they and every chunk before them are encoded, by
 * whichever thread finds the next one ready, while the other threads go on
 * encoding: the file write overlaps the encoding instead of following it.
 * The output does not depend on the thread count. */
static int write_batch(mr_pq_writer *w, const mr_pq_col *cols, int64_t n)
{
    int nf = w->nf, rc;
    int64_t R = w->o.row_group_rows, n_rg = (n + R - 1) / R;
    if (n_rg == 0) return 0;
    int threads = omp_get_max_threads();
    if (threads < 1) threads = 1;
    /* At least a row group per thread; small row groups (DuckDB's 122,880
     * rows) by the dozen, up to about WINDOW_BYTES of input, so that the
     * parallel regions and their barriers stay few. */
    size_t row_bytes = 0;
    for (int i = 0; i < nf; i++) row_bytes += (size_t)(w->f[i].width ? w->f[i].width : 16) + (w->f[i].is_list ? 8 : 0);
    int64_t by_bytes = (int64_t)(WINDOW_BYTES / ((size_t)R * row_bytes + 1));
    int64_t want = by_bytes > threads ? (by_bytes < MAX_WINDOW ? by_bytes : MAX_WINDOW) : threads;
    int win = (int)(n_rg < want ? n_rg : want);
    if ((rc = ensure_slots(w, win, threads))) return rc;
    int64_t rg_rows[win];
    uint8_t done[win * nf];
    for (int64_t g0 = 0; g0 < n_rg; g0 += win) {
        int ng = n_rg - g0 < win ? (int)(n_rg - g0) : win, ntask = ng * nf;
        for (int gi = 0; gi < ng; gi++) {
            int64_t r0 = (g0 + gi) * R;
            rg_rows[gi] = n - r0 < R ? n - r0 : R;
        }
        memset(done, 0, sizeof done);
        int next = 0, busy = 0, failed = 0, io_rc = 0;
        char io_msg[1024] = "";
        omp_lock_t lock;
        omp_init_lock(&lock);
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
        for (int k = 0; k < ntask; k++) {
            if (__atomic_load_n(&failed, __ATOMIC_RELAXED)) continue;
            int gi = k / nf, i = k % nf, th = omp_get_thread_num();
            int64_t r0 = (g0 + gi) * R;
            wcol *cs = &w->cols[k];
            cs->rc = encode_chunk(w, &w->f[i], &cols[i], r0, r0 + rg_rows[gi], cs, &w->scr[th < threads ? th : 0]);
            if (cs->rc) {
                free(cs->msg);
                cs->msg = strdup(mr_errmsg());
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
                continue;
            }
            /* Write every chunk that is now next in file order, unless
             * another thread is already doing so (it will see this one). */
            omp_set_lock(&lock);
            done[k] = 1;
            if (!busy) {
                busy = 1;
                while (next < ntask && done[next] && !failed) {
                    int at = next;
                    omp_unset_lock(&lock);
                    int e = write_chunk(w, at, rg_rows);
                    omp_set_lock(&lock);
                    if (e) {
                        io_rc = e;
                        snprintf(io_msg, sizeof io_msg, "%s", mr_errmsg());
                        __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
                    }
                    next++;
                }
                busy = 0;
            }
            omp_unset_lock(&lock);
        }
        omp_destroy_lock(&lock);
        if (failed) {
            for (int k = 0; k < ntask; k++)
                if (w->cols[k].rc) {
                    mr_err_set_msg(w->cols[k].msg ? w->cols[k].msg : "out of memory");
                    return w->cols[k].rc;
                }
            mr_err_set_msg(io_msg);
            return io_rc ? io_rc : MR_EIO;
        }
    }
    return 0;
}

int mr_pq_writer_write(mr_pq_writer *w, const mr_pq_col *cols)
{
    if (!w) return mr_err(MR_EINVAL, "parquet write on a writer that is not open");
    if (w->failed)
        return mr_err(MR_EINVAL, "writing %s: the writer failed earlier and must be aborted",
                      w->path);
    if (!cols) return mr_err(MR_EINVAL, "writing %s: no columns given", w->path);
    int64_t n = cols[0].n_rows;
    if (n < 0)
        return mr_err(MR_EINVAL, "writing %s: negative row count %lld", w->path, (long long)n);
    /* validation leaves the writer usable: nothing has been written yet */
    int nf = w->nf, first_bad = -1;
    int *rcs = mr_calloc((size_t)nf, sizeof *rcs);
    char **msgs = mr_calloc((size_t)nf, sizeof *msgs);
    if (!rcs || !msgs) {
        free(rcs);
        free(msgs);
        return MR_ENOMEM;
    }
#pragma omp parallel for schedule(dynamic, 1) if (nf > 1)
    for (int i = 0; i < nf; i++) {
        rcs[i] = check_col(w, &w->f[i], &cols[i], n);
        if (rcs[i]) msgs[i] = strdup(mr_errmsg());
    }
    for (int i = 0; i < nf && first_bad < 0; i++)
        if (rcs[i]) first_bad = i;
    int rc = first_bad < 0 ? 0 : rcs[first_bad];
    if (rc) mr_err_set_msg(msgs[first_bad] ? msgs[first_bad] : "invalid column");
    for (int i = 0; i < nf; i++) free(msgs[i]);
    free(rcs);
    free(msgs);
    if (rc) return rc;
    if ((rc = write_batch(w, cols, n))) w->failed = 1;
    return rc;
}

int mr_pq_writer_close(mr_pq_writer *w)
{
    if (!w) return mr_err(MR_EINVAL, "parquet close of a writer that is not open");
    if (w->failed) {
        int rc = mr_err(MR_EINVAL, "writing %s: the writer failed earlier; nothing was written",
                        w->path);
        mr_pq_writer_abort(w);
        return rc;
    }
    mr_pq_obuf meta = {0};
    mr_pq_tw t;
    mr_pq_tw_init(&t, &meta);
    mr_pq_tw_i32(&t, 1, 2); /* format version 2: logical types, nanosecond timestamps */
    put_schema(&t, w);
    mr_pq_tw_i64(&t, 3, w->num_rows);
    mr_pq_tw_list(&t, 4, MR_TC_STRUCT, w->n_row_groups);
    mr_pq_obuf_put(&meta, w->rg_meta.p, w->rg_meta.n);
    if (w->nkv) {
        mr_pq_tw_list(&t, 5, MR_TC_STRUCT, w->nkv);
        for (int i = 0; i < w->nkv; i++) {
            mr_pq_tw_begin(&t);
            mr_pq_tw_string(&t, 1, w->kv[2 * i]);
            mr_pq_tw_string(&t, 2, w->kv[2 * i + 1]);
            mr_pq_tw_end(&t);
        }
    }
    mr_pq_tw_string(&t, 6, CREATED_BY);
    /* column_orders: TYPE_ORDER for every leaf, which tells readers that
     * min_value/max_value use the type's own order */
    mr_pq_tw_list(&t, 7, MR_TC_STRUCT, w->nf);
    for (int i = 0; i < w->nf; i++) {
        mr_pq_tw_begin(&t);
        mr_pq_tw_struct(&t, 1);
        mr_pq_tw_end(&t);
        mr_pq_tw_end(&t);
    }
    mr_pq_tw_end(&t);
    int rc = mr_pq_obuf_ok(&meta);
    if (!rc && meta.n > UINT32_MAX)
        rc = mr_err(MR_EINVAL, "writing %s: footer of %zu bytes is too large", w->path, meta.n);
    if (!rc) rc = write_bytes(w, meta.p, meta.n);
    if (!rc) {
        uint8_t tail[8];
        uint32_t len = (uint32_t)meta.n;
        for (int k = 0; k < 4; k++) tail[k] = (uint8_t)(len >> (8 * k));
        memcpy(tail + 4, "PAR1", 4);
        rc = write_bytes(w, tail, 8);
    }
    mr_pq_obuf_free(&meta);
    if (rc) {
        mr_pq_writer_abort(w);
        return rc;
    }
    rc = mr_afile_commit(&w->af);
    free_writer(w);
    return rc;
}

void mr_pq_writer_abort(mr_pq_writer *w)
{
    if (!w) return;
    mr_afile_abort(&w->af);
    free_writer(w);
}
