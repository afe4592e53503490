/* The parquet reader: footer, column chunks, pages, values.
 *
 * mr_pq_read() reads one column chunk with a single pread into a buffer,
 * walks its pages, decompresses each page once into a buffer reused for the
 * whole chunk, decodes the levels, then decodes the page's non-null values
 * densely into the output array at the page's first slot and spreads them
 * to their slots backwards in place (a value never moves left), so nullable
 * columns need no second array. Dictionary indices are decoded in batches
 * and gathered straight into the output. Nothing here is shared between
 * calls, so distinct (row group, column) pairs decode in parallel.
 *
 * Hostile input: every header field is checked against the bytes actually
 * present; value counts against the chunk's and row group's counts;
 * dictionary indices against the dictionary size; and the total memory one
 * chunk may take is capped (mr_pq_set_alloc_limit) so that a tiny file
 * claiming billions of values fails cleanly.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/err.h"
#include "parquet/codec.h"
#include "parquet/decode.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the parquet reader assumes a little-endian host"
#endif

struct mr_pq_reader {
    char *path;
    int fd;                 /* -1 for an in-memory file */
    const uint8_t *mem;     /* in-memory file, not owned */
    int64_t file_size;
    int64_t data_end;       /* where the footer starts */
    uint8_t *footer;        /* owns the bytes schema names point into */
    mr_pq_meta meta;
    mr_pq_column_info *cols;
    int n_cols;
    int64_t *rg_first_row;  /* n_rg + 1 */
    size_t alloc_limit;
    int int96_raw;          /* keep INT96 as 12 raw bytes */
};

static int read_at(const mr_pq_reader *r, int64_t off, size_t len, uint8_t *dst)
{
    if (off < 0 || (uint64_t)off > (uint64_t)r->file_size || len > (uint64_t)(r->file_size - off))
        return mr_err(MR_EFORMAT, "%s: read of %zu bytes at offset %lld is past the end of the file", r->path, len,
                      (long long)off);
    if (r->mem) {
        memcpy(dst, r->mem + off, len);
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t k = pread(r->fd, dst + done, len - done, (off_t)(off + (int64_t)done));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return mr_err(MR_EIO, "%s: read failed: %s", r->path, strerror(errno));
        if (k == 0) return mr_err(MR_EFORMAT, "%s: file is shorter than its footer says", r->path);
        done += (size_t)k;
    }
    return 0;
}

static int finish_open(mr_pq_reader *r)
{
    if (r->file_size < 12) return mr_err(MR_EFORMAT, "%s: not a parquet file (only %lld bytes)", r->path, (long long)r->file_size);
    uint8_t head[4], tail[8];
    int rc = read_at(r, 0, 4, head);
    if (!rc) rc = read_at(r, r->file_size - 8, 8, tail);
    if (rc) return rc;
    if (memcmp(tail + 4, "PARE", 4) == 0) return mr_err(MR_EUNSUPPORTED, "%s: unsupported: encrypted parquet file", r->path);
    if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4))
        return mr_err(MR_EFORMAT, "%s: not a parquet file (no PAR1 magic)", r->path);
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if ((int64_t)flen > r->file_size - 12)
        return mr_err(MR_EFORMAT, "%s: footer length %u is larger than the file", r->path, flen);
    r->data_end = r->file_size - 8 - flen;
    r->footer = mr_malloc(flen ? flen : 1);
    if (!r->footer) return MR_ENOMEM;
    if ((rc = read_at(r, r->data_end, flen, r->footer))) return rc;
    if ((rc = mr_pq_meta_parse(r->footer, flen, &r->meta))) return mr_err_wrap(rc, "%s: ", r->path);
    if ((rc = mr_pq_schema_columns(&r->meta, &r->cols, &r->n_cols))) return mr_err_wrap(rc, "%s: ", r->path);
    if (r->n_cols == 0) return mr_err(MR_EFORMAT, "%s: the schema has no columns", r->path);
    r->rg_first_row = mr_calloc((size_t)r->meta.n_rg + 1, sizeof *r->rg_first_row);
    if (!r->rg_first_row) return MR_ENOMEM;
    int64_t total = 0;
    for (int i = 0; i < r->meta.n_rg; i++) {
        const mr_pq_rowgroup *g = &r->meta.rgs[i];
        if (g->n_cols != r->n_cols)
            return mr_err(MR_EFORMAT, "%s: row group %d has %d column chunks, the schema has %d columns", r->path, i,
                          g->n_cols, r->n_cols);
        if (g->num_rows < 0 || g->num_rows > INT64_MAX - total)
            return mr_err(MR_EFORMAT, "%s: row group %d has an invalid row count %lld", r->path, i, (long long)g->num_rows);
        r->rg_first_row[i] = total;
        total += g->num_rows;
    }
    r->rg_first_row[r->meta.n_rg] = total;
    /* Some writers leave the footer's total at 0; the row groups are what
     * the data holds, so they win. */
    r->meta.num_rows = total;
    return 0;
}

static mr_pq_reader *new_reader(const char *path)
{
    mr_pq_reader *r = mr_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    r->alloc_limit = (size_t)1 << 40;
    r->path = mr_strdup(path ? path : "(memory)");
    if (!r->path) {
        free(r);
        return NULL;
    }
    return r;
}

int mr_pq_open(mr_pq_reader **out, const char *path)
{
    *out = NULL;
    mr_pq_reader *r = new_reader(path);
    if (!r) return MR_ENOMEM;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        mr_pq_close(r);
        return mr_err(e == ENOENT ? MR_ENOTFOUND : MR_EIO, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        mr_pq_close(r);
        return mr_err(MR_EIO, "%s is not a regular file", path);
    }
    r->file_size = st.st_size;
    int rc = finish_open(r);
    if (rc) {
        mr_pq_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int mr_pq_open_mem(mr_pq_reader **out, const void *data, size_t len, const char *name)
{
    *out = NULL;
    mr_pq_reader *r = new_reader(name);
    if (!r) return MR_ENOMEM;
    r->mem = data;
    r->file_size = (int64_t)len;
    int rc = finish_open(r);
    if (rc) {
        mr_pq_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void mr_pq_set_alloc_limit(mr_pq_reader *r, size_t bytes) { r->alloc_limit = bytes; }
void mr_pq_set_int96_raw(mr_pq_reader *r, int raw) { r->int96_raw = raw != 0; }

void mr_pq_close(mr_pq_reader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    mr_pq_columns_free(r->cols, r->n_cols);
    mr_pq_meta_free(&r->meta);
    free(r->footer);
    free(r->rg_first_row);
    free(r->path);
    free(r);
}

const char *mr_pq_path(const mr_pq_reader *r) { return r->path; }
int64_t mr_pq_num_rows(const mr_pq_reader *r) { return r->meta.num_rows; }
int mr_pq_num_row_groups(const mr_pq_reader *r) { return r->meta.n_rg; }
int64_t mr_pq_row_group_rows(const mr_pq_reader *r, int rg)
{
    return rg >= 0 && rg < r->meta.n_rg ? r->meta.rgs[rg].num_rows : 0;
}
int mr_pq_num_columns(const mr_pq_reader *r) { return r->n_cols; }
const mr_pq_column_info *mr_pq_column(const mr_pq_reader *r, int col)
{
    return col >= 0 && col < r->n_cols ? &r->cols[col] : NULL;
}
const char *mr_pq_created_by(const mr_pq_reader *r) { return r->meta.created_by; }

int mr_pq_find(const mr_pq_reader *r, const char *name)
{
    for (int i = 0; i < r->n_cols; i++)
        if (strcmp(r->cols[i].path, name) == 0) return i;
    for (int i = 0; i < r->n_cols; i++)
        if (strcmp(r->cols[i].name, name) == 0) return i;
    return -1;
}

int mr_pq_require(const mr_pq_reader *r, const char *name, int *col)
{
    *col = mr_pq_find(r, name);
    if (*col < 0) return mr_err(MR_ENOTFOUND, "%s has no column '%s'", r->path, name);
    return 0;
}

int mr_pq_schema_size(const mr_pq_reader *r) { return r->meta.n_schema; }

void mr_pq_schema_at(const mr_pq_reader *r, int i, const char **name, int *name_len, int *num_children,
                     int *repetition, int *physical, int *converted, int *logical)
{
    const mr_pq_selem *e = &r->meta.schema[i < 0 || i >= r->meta.n_schema ? 0 : i];
    *name = (const char *)e->name;
    *name_len = (int)e->name_len;
    *num_children = e->num_children;
    *repetition = e->repetition;
    *physical = e->type;
    *converted = e->converted;
    *logical = e->logical;
}

const char *mr_pq_kv(const mr_pq_reader *r, const char *key)
{
    for (int i = 0; i < r->meta.n_kv; i++)
        if (strcmp(r->meta.kv[2 * i], key) == 0) return r->meta.kv[2 * i + 1];
    return NULL;
}
int mr_pq_num_kv(const mr_pq_reader *r) { return r->meta.n_kv; }
void mr_pq_kv_at(const mr_pq_reader *r, int i, const char **key, const char **value)
{
    *key = *value = NULL;
    if (i < 0 || i >= r->meta.n_kv) return;
    *key = r->meta.kv[2 * i];
    *value = r->meta.kv[2 * i + 1];
}

int mr_pq_chunk_info(const mr_pq_reader *r, int rg, int col, int *codec, uint32_t *encodings,
                     int64_t *compressed, int64_t *uncompressed)
{
    if (rg < 0 || rg >= r->meta.n_rg || col < 0 || col >= r->n_cols)
        return mr_err(MR_EINVAL, "%s: no row group %d column %d", r->path, rg, col);
    const mr_pq_chunk *c = &r->meta.rgs[rg].cols[col];
    *codec = c->codec;
    *encodings = c->encodings;
    *compressed = c->total_compressed;
    *uncompressed = c->total_uncompressed;
    return 0;
}

void mr_pq_col_free(mr_pq_col *c)
{
    if (!c) return;
    free(c->values);
    free(c->offsets);
    free(c->bytes);
    free(c->valid);
    free(c->list_offsets);
    free(c->list_valid);
    free(c->def);
    free(c->rep);
    memset(c, 0, sizeof *c);
}

/* ---- column chunk decoding ---- */

static int value_width(const mr_pq_reader *r, const mr_pq_column_info *ci)
{
    if (ci->physical == MR_PQ_INT96 && r->int96_raw) return 12;
    switch (ci->physical) {
    case MR_PQ_BOOLEAN: return 1;
    case MR_PQ_INT32:
    case MR_PQ_FLOAT: return 4;
    case MR_PQ_INT64:
    case MR_PQ_DOUBLE:
    case MR_PQ_INT96: return 8; /* converted to int64 nanoseconds */
    case MR_PQ_FIXED_LEN_BYTE_ARRAY: return ci->type_length;
    default: return 0; /* BYTE_ARRAY: offsets + bytes */
    }
}

static int bit_width_of(int v)
{
    int w = 0;
    while (v >> w) w++;
    return w;
}

/* Buffers each thread keeps between mr_pq_read() calls (the compressed
 * chunk, the decompressed page, levels), so that reading a file of many row
 * groups does not map and fault in fresh memory for every chunk. Buffers
 * above SCRATCH_KEEP bytes are released after the call. Thread-local, so
 * concurrent reads never share them. */
#define SCRATCH_KEEP ((size_t)64 << 20)
typedef struct {
    uint8_t *chunk, *page;
    size_t chunk_cap, page_cap;
    int16_t *defs, *reps;
    size_t lev_cap;
    int64_t *tmp64;
    size_t tmp64_cap;
} read_scratch;
static _Thread_local read_scratch tls_scratch;

/* One chunk being decoded. */
typedef struct {
    const mr_pq_reader *r;
    const mr_pq_column_info *ci;
    mr_pq_col *out;
    int rg, col, page;
    int width;             /* output bytes per value, 0 for BYTE_ARRAY */
    int64_t rows_cap;      /* row group rows */
    int64_t slots_cap;     /* slots allocated in values/valid/offsets */
    int64_t levels_cap;    /* chunk num_values */
    size_t bytes_cap;
    size_t alloc;          /* bytes allocated so far, against the limit */
    int external;          /* values/valid belong to the caller (mr_pq_read_into) */
    uint8_t *chunk_buf;    /* compressed chunk (scratch) */
    size_t chunk_cap;
    /* dictionary */
    int have_dict;
    int64_t dict_n;
    uint8_t *dict_vals;    /* fixed width, converted */
    int64_t *dict_off;     /* BYTE_ARRAY */
    uint8_t *dict_bytes;
    /* per-page scratch, reused */
    uint8_t *page_buf;
    size_t page_cap;
    int16_t *defs, *reps;
    size_t lev_cap;
    int64_t *tmp64;
    size_t tmp64_cap;
    uint32_t idx[1024];
} chunk_ctx;

#define CERR(ctx, code, ...) chunk_err((ctx), (code), __VA_ARGS__)
static int chunk_err(chunk_ctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int chunk_err(chunk_ctx *x, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mr_err(code, "%s: column '%s', row group %d, page %d: %s", x->r->path, x->ci->path, x->rg, x->page, msg);
}

static int charge(chunk_ctx *x, size_t bytes)
{
    size_t lim = x->r->alloc_limit;
    if (bytes > lim || x->alloc > lim - bytes)
        return CERR(x, MR_EFORMAT, "decoding would take more than %zu bytes of memory; the file is corrupt or too large",
                    x->r->alloc_limit);
    x->alloc += bytes;
    return 0;
}

static int grow(chunk_ctx *x, void **p, size_t *cap, size_t want)
{
    if (want <= *cap && *p) return 0; /* never leaves *p NULL: memcpy(NULL, .., 0) is UB */
    size_t ncap = *cap ? *cap : 64;
    while (ncap < want) ncap = ncap + ncap / 2 + 64;
    int rc = charge(x, ncap - *cap);
    if (rc) return rc;
    void *q = realloc(*p, ncap);
    if (!q) return CERR(x, MR_ENOMEM, "out of memory (%zu bytes)", ncap);
    *p = q;
    *cap = ncap;
    return 0;
}

/* INT96 (Impala/Spark): nanoseconds of the day, then the Julian day
 * (2440588 is 1970-01-01). Returns the index of the first value outside
 * int64 nanoseconds (years 1677..2262), or n. */
static size_t int96_to_ns(const uint8_t *src, int64_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++, src += 12) {
        int64_t nanos, v;
        uint32_t jd;
        memcpy(&nanos, src, 8);
        memcpy(&jd, src + 8, 4);
        if (__builtin_mul_overflow((int64_t)jd - 2440588, (int64_t)86400000000000, &v) ||
            __builtin_add_overflow(v, nanos, &v))
            return i;
        dst[i] = v;
    }
    return n;
}

/* PLAIN fixed-width values: n values from (p, len) into dst. *used gets the
 * bytes consumed. */
static int plain_fixed(chunk_ctx *x, const uint8_t *p, size_t len, uint8_t *dst, size_t n, size_t *used)
{
    mr_pq_physical t = x->ci->physical;
    if (t == MR_PQ_BOOLEAN) {
        if (n > len * 8) return CERR(x, MR_EFORMAT, "PLAIN booleans: %zu values need more than %zu bytes", n, len);
        for (size_t i = 0; i < n; i++) dst[i] = (p[i >> 3] >> (i & 7)) & 1;
        *used = (n + 7) / 8;
        return 0;
    }
    size_t w = t == MR_PQ_INT96 ? 12 : (size_t)x->width;
    if (w == 0 || n > len / w) return CERR(x, MR_EFORMAT, "PLAIN data: %zu values of %zu bytes need more than %zu bytes", n, w, len);
    if (t == MR_PQ_INT96 && x->width == 8) {
        size_t bad = int96_to_ns(p, (int64_t *)dst, n);
        if (bad < n)
            return CERR(x, MR_EUNSUPPORTED, "unsupported: INT96 timestamp %zu is outside the int64 nanosecond range (years 1677-2262)", bad);
    } else if (n) {
        memcpy(dst, p, n * w);
    }
    *used = n * w;
    return 0;
}

/* Appends n BYTE_ARRAY values (4-byte length + bytes each) to out. */
static int plain_bytes(chunk_ctx *x, const uint8_t *p, size_t len, int64_t first_slot, size_t n,
                       int64_t **offs, uint8_t **bytes, size_t *bytes_cap, size_t *used)
{
    const uint8_t *q = p, *end = p + len;
    int64_t *o = *offs + first_slot;
    size_t at = (size_t)o[0];
    /* One pass to size the bytes, so the copy loop does not check capacity. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (end - q < 4) return CERR(x, MR_EFORMAT, "PLAIN strings: value %zu of %zu is truncated", i, n);
        uint32_t l;
        memcpy(&l, q, 4);
        q += 4;
        if (l > (size_t)(end - q)) return CERR(x, MR_EFORMAT, "PLAIN strings: value %zu claims %u bytes, %zu remain", i, l, (size_t)(end - q));
        q += l;
        total += l;
    }
    int rc = grow(x, (void **)bytes, bytes_cap, at + total);
    if (rc) return rc;
    q = p;
    uint8_t *b = *bytes;
    for (size_t i = 0; i < n; i++) {
        uint32_t l;
        memcpy(&l, q, 4);
        q += 4;
        memcpy(b + at, q, l);
        q += l;
        at += l;
        o[i + 1] = (int64_t)at;
    }
    *used = (size_t)(q - p);
    return 0;
}

static int decode_dictionary(chunk_ctx *x, const uint8_t *p, size_t len, int64_t n, int encoding)
{
    char eb[24];
    if (x->have_dict) return CERR(x, MR_EFORMAT, "a second dictionary page");
    if (encoding != 0 && encoding != 2)
        return CERR(x, MR_EUNSUPPORTED, "unsupported: dictionary page encoding %s", mr_pq_encoding_name(encoding, eb));
    if (n < 0) return CERR(x, MR_EFORMAT, "dictionary page has a negative value count");
    size_t used;
    int rc;
    if (x->width) {
        size_t w = x->ci->physical == MR_PQ_INT96 ? 12 : (size_t)x->width;
        if (x->ci->physical == MR_PQ_BOOLEAN ? (uint64_t)n > (uint64_t)len * 8 : (uint64_t)n > len / w)
            return CERR(x, MR_EFORMAT, "dictionary page holds %zu bytes, too few for %lld values", len, (long long)n);
        if ((rc = charge(x, (size_t)n * (size_t)x->width))) return rc;
        x->dict_vals = malloc((size_t)n * (size_t)x->width + 1);
        if (!x->dict_vals) return CERR(x, MR_ENOMEM, "out of memory for the dictionary");
        if ((rc = plain_fixed(x, p, len, x->dict_vals, (size_t)n, &used))) return rc;
    } else {
        if ((uint64_t)n > len / 4) return CERR(x, MR_EFORMAT, "dictionary page holds %zu bytes, too few for %lld strings", len, (long long)n);
        if ((rc = charge(x, ((size_t)n + 1) * 8))) return rc;
        x->dict_off = calloc((size_t)n + 1, sizeof *x->dict_off);
        if (!x->dict_off) return CERR(x, MR_ENOMEM, "out of memory for the dictionary");
        size_t cap = 0;
        if ((rc = plain_bytes(x, p, len, 0, (size_t)n, &x->dict_off, &x->dict_bytes, &cap, &used))) return rc;
    }
    x->dict_n = n;
    x->have_dict = 1;
    return 0;
}

/* Makes room for `more` slots after out->n_slots (values, offsets, valid). */
static int reserve_slots(chunk_ctx *x, int64_t more)
{
    mr_pq_col *o = x->out;
    int64_t want = o->n_slots + more;
    if (want <= x->slots_cap) return 0;
    if (want > x->levels_cap) return CERR(x, MR_EFORMAT, "pages hold more values than the chunk's %lld", (long long)x->levels_cap);
    if (x->external) return CERR(x, MR_EFORMAT, "pages hold more values than the row group's %lld rows", (long long)x->slots_cap);
    /* Slots are bounded by the chunk's value count: allocate that at once. */
    int64_t cap = x->levels_cap;
    size_t w = x->width ? (size_t)x->width : sizeof(int64_t);
    int rc = charge(x, (size_t)cap * (w + 1) + 8);
    if (rc) return rc;
    size_t vbytes = (size_t)cap * w + (x->width ? 0 : sizeof(int64_t));
    void *nv = realloc(x->width ? o->values : (void *)o->offsets, vbytes ? vbytes : 1);
    if (!nv) return CERR(x, MR_ENOMEM, "out of memory (%zu bytes)", vbytes);
    if (x->width) o->values = nv;
    else o->offsets = nv;
    if (o->valid) {
        uint8_t *v = realloc(o->valid, (size_t)cap ? (size_t)cap : 1);
        if (!v) return CERR(x, MR_ENOMEM, "out of memory");
        o->valid = v;
    }
    x->slots_cap = cap;
    return 0;
}

/* The loops of dictionary decoding, apart so that each is one simple loop
 * the compiler vectorises, and cloned for AVX2 (the build targets generic
 * x86-64): the index check is a vector max instead of a compare per index,
 * the gather uses vector gathers. Dictionary-encoded integer columns are
 * most of what the pipeline reads. */
__attribute__((target_clones("avx2", "default"))) static uint32_t max_u32(const uint32_t *restrict v, size_t n)
{
    uint32_t top = 0;
#pragma omp simd reduction(max : top)
    for (size_t i = 0; i < n; i++) top = v[i] > top ? v[i] : top;
    return top;
}

__attribute__((target_clones("avx2", "default"))) static void gather_u32(const uint32_t *restrict dict, const uint32_t *restrict ix,
                                                                         size_t n, uint32_t *restrict out)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = dict[ix[i]];
}

__attribute__((target_clones("avx2", "default"))) static void gather_u64(const uint64_t *restrict dict, const uint32_t *restrict ix,
                                                                         size_t n, uint64_t *restrict out)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = dict[ix[i]];
}

/* Gathers n dictionary entries by index into the dense fixed-width dst. */
static int dict_gather_fixed(chunk_ctx *x, mr_pq_rle *d, uint8_t *dst, size_t n)
{
    const int64_t dn = x->dict_n;
    size_t w = (size_t)x->width;
    while (n > 0) {
        /* An RLE run (sorted or clustered columns: a user's events) fills
         * its stretch with one dictionary value, without indices. */
        uint32_t rv;
        uint64_t run = mr_pq_rle_run(d, &rv);
        if (run) {
            size_t k = run < n ? (size_t)run : n;
            if (rv >= (uint64_t)dn)
                return CERR(x, MR_EFORMAT, "a dictionary index is out of range (dictionary has %lld entries)", (long long)dn);
            switch (w) {
            case 4: {
                uint32_t v, *o = (uint32_t *)dst;
                memcpy(&v, x->dict_vals + (size_t)rv * 4, 4);
#pragma omp simd
                for (size_t i = 0; i < k; i++) o[i] = v;
                break;
            }
            case 8: {
                uint64_t v, *o = (uint64_t *)dst;
                memcpy(&v, x->dict_vals + (size_t)rv * 8, 8);
#pragma omp simd
                for (size_t i = 0; i < k; i++) o[i] = v;
                break;
            }
            default:
                for (size_t i = 0; i < k; i++) memcpy(dst + i * w, x->dict_vals + (size_t)rv * w, w);
            }
            d->rle_left -= (uint32_t)k;
            dst += k * w;
            n -= k;
            continue;
        }
        size_t k = n < 1024 ? n : 1024;
        int rc = mr_pq_rle_get(d, x->idx, k);
        if (rc) return CERR(x, MR_EFORMAT, "dictionary indices: %s", mr_errmsg());
        if ((uint64_t)max_u32(x->idx, k) >= (uint64_t)dn)
            return CERR(x, MR_EFORMAT, "a dictionary index is out of range (dictionary has %lld entries)", (long long)dn);
        switch (w) {
        case 4:
            gather_u32((const uint32_t *)x->dict_vals, x->idx, k, (uint32_t *)dst);
            break;
        case 8:
            gather_u64((const uint64_t *)x->dict_vals, x->idx, k, (uint64_t *)dst);
            break;
        case 1:
            for (size_t i = 0; i < k; i++) dst[i] = x->dict_vals[x->idx[i]];
            break;
        default:
            for (size_t i = 0; i < k; i++) memcpy(dst + i * w, x->dict_vals + (size_t)x->idx[i] * w, w);
        }
        dst += k * w;
        n -= k;
    }
    return 0;
}

static int dict_gather_bytes(chunk_ctx *x, mr_pq_rle *d, int64_t first_slot, size_t n)
{
    mr_pq_col *o = x->out;
    const int64_t dn = x->dict_n;
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        int rc = mr_pq_rle_get(d, x->idx, k);
        if (rc) return CERR(x, MR_EFORMAT, "dictionary indices: %s", mr_errmsg());
        size_t total = 0;
        for (size_t i = 0; i < k; i++) {
            if (x->idx[i] >= (uint64_t)dn)
                return CERR(x, MR_EFORMAT, "dictionary index %u is out of range (dictionary has %lld entries)", x->idx[i], (long long)dn);
            total += (size_t)(x->dict_off[x->idx[i] + 1] - x->dict_off[x->idx[i]]);
        }
        int64_t *off = o->offsets + first_slot;
        size_t at = (size_t)off[0];
        if ((rc = grow(x, (void **)&o->bytes, &x->bytes_cap, at + total))) return rc;
        for (size_t i = 0; i < k; i++) {
            int64_t s = x->dict_off[x->idx[i]], l = x->dict_off[x->idx[i] + 1] - s;
            memcpy(o->bytes + at, x->dict_bytes + s, (size_t)l);
            at += (size_t)l;
            off[i + 1] = (int64_t)at;
        }
        first_slot += (int64_t)k;
        n -= k;
    }
    return 0;
}

static int ensure_tmp64(chunk_ctx *x, size_t n)
{
    if (n <= x->tmp64_cap) return 0;
    size_t cap = x->tmp64_cap * sizeof(int64_t);
    int rc = grow(x, (void **)&x->tmp64, &cap, n * sizeof(int64_t));
    x->tmp64_cap = cap / sizeof(int64_t);
    return rc;
}

/* Appends n byte strings given as lengths + concatenated data. */
static int append_lengths(chunk_ctx *x, int64_t first_slot, const int64_t *lens, size_t n, const uint8_t *data,
                          size_t data_len, size_t *used)
{
    mr_pq_col *o = x->out;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > data_len - total)
            return CERR(x, MR_EFORMAT, "string %zu has an invalid length %lld", i, (long long)lens[i]);
        total += (size_t)lens[i];
    }
    int64_t *off = o->offsets + first_slot;
    size_t at = (size_t)off[0];
    int rc = grow(x, (void **)&o->bytes, &x->bytes_cap, at + total);
    if (rc) return rc;
    if (total) memcpy(o->bytes + at, data, total);
    for (size_t i = 0; i < n; i++) {
        at += (size_t)lens[i];
        off[i + 1] = (int64_t)at;
    }
    *used = total;
    return 0;
}

static int delta_byte_array(chunk_ctx *x, const uint8_t *p, size_t len, int64_t first_slot, size_t n)
{
    mr_pq_col *o = x->out;
    size_t u1, u2;
    int rc;
    if ((rc = ensure_tmp64(x, 2 * n + 2))) return rc;
    int64_t *pre = x->tmp64, *suf = x->tmp64 + n + 1;
    if ((rc = mr_pq_delta_decode(p, len, pre, n, &u1))) return CERR(x, MR_EFORMAT, "prefix lengths: %s", mr_errmsg());
    if ((rc = mr_pq_delta_decode(p + u1, len - u1, suf, n, &u2))) return CERR(x, MR_EFORMAT, "suffix lengths: %s", mr_errmsg());
    const uint8_t *data = p + u1 + u2;
    size_t data_len = len - u1 - u2, total = 0, used = 0;
    int64_t prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (pre[i] < 0 || pre[i] > prev_len) return CERR(x, MR_EFORMAT, "DELTA_BYTE_ARRAY prefix %lld is longer than the previous value", (long long)pre[i]);
        if (suf[i] < 0 || (uint64_t)suf[i] > data_len - used) return CERR(x, MR_EFORMAT, "DELTA_BYTE_ARRAY suffix length %lld is invalid", (long long)suf[i]);
        used += (size_t)suf[i];
        prev_len = pre[i] + suf[i];
        total += (size_t)prev_len;
    }
    if (x->width) { /* FIXED_LEN_BYTE_ARRAY: values go to the fixed array */
        for (size_t i = 0; i < n; i++)
            if (pre[i] + suf[i] != x->width) return CERR(x, MR_EFORMAT, "DELTA_BYTE_ARRAY value of %lld bytes in a FIXED_LEN_BYTE_ARRAY(%d) column", (long long)(pre[i] + suf[i]), x->width);
        uint8_t *dst = (uint8_t *)o->values + (size_t)first_slot * (size_t)x->width, *prev = NULL;
        const uint8_t *s = data;
        for (size_t i = 0; i < n; i++) {
            if (pre[i]) memcpy(dst, prev, (size_t)pre[i]);
            memcpy(dst + pre[i], s, (size_t)suf[i]);
            s += suf[i];
            prev = dst;
            dst += x->width;
        }
        return 0;
    }
    int64_t *off = o->offsets + first_slot;
    size_t at = (size_t)off[0];
    if ((rc = grow(x, (void **)&o->bytes, &x->bytes_cap, at + total))) return rc;
    const uint8_t *s = data;
    size_t prev_at = at;
    for (size_t i = 0; i < n; i++) {
        /* The prefix comes from the previous value, already in o->bytes. */
        if (pre[i]) memmove(o->bytes + at, o->bytes + prev_at, (size_t)pre[i]);
        memcpy(o->bytes + at + pre[i], s, (size_t)suf[i]);
        s += suf[i];
        prev_at = at;
        at += (size_t)(pre[i] + suf[i]);
        off[i + 1] = (int64_t)at;
    }
    return 0;
}

/* Decodes n non-null values of one page densely, starting at slot
 * first_slot of the output. */
static int decode_values(chunk_ctx *x, int encoding, const uint8_t *p, size_t len, int64_t first_slot, size_t n)
{
    mr_pq_col *o = x->out;
    mr_pq_physical t = x->ci->physical;
    size_t w = (size_t)x->width, used;
    uint8_t *dst = x->width && o->values ? (uint8_t *)o->values + (size_t)first_slot * w : NULL; /* NULL only when n is 0 */
    char eb[24];
    int rc;
    switch (encoding) {
    case 0: /* PLAIN */
        if (x->width) return plain_fixed(x, p, len, dst, n, &used);
        return plain_bytes(x, p, len, first_slot, n, &o->offsets, &o->bytes, &x->bytes_cap, &used);
    case 2: /* PLAIN_DICTIONARY */
    case 8: { /* RLE_DICTIONARY */
        if (!x->have_dict) return CERR(x, MR_EFORMAT, "dictionary-encoded page without a dictionary page");
        if (n == 0) return 0;
        if (len < 1) return CERR(x, MR_EFORMAT, "dictionary-encoded page has no bit width");
        if (p[0] > 32) return CERR(x, MR_EFORMAT, "dictionary index bit width %d exceeds 32", p[0]);
        mr_pq_rle d;
        mr_pq_rle_init(&d, p + 1, len - 1, p[0]);
        return x->width ? dict_gather_fixed(x, &d, dst, n) : dict_gather_bytes(x, &d, first_slot, n);
    }
    case 3: { /* RLE: booleans only, with a 4-byte length prefix */
        if (t != MR_PQ_BOOLEAN) return CERR(x, MR_EUNSUPPORTED, "unsupported: RLE encoding for a non-boolean column");
        if (len < 4) return CERR(x, MR_EFORMAT, "RLE booleans without their length");
        uint32_t l;
        memcpy(&l, p, 4);
        if (l > len - 4) return CERR(x, MR_EFORMAT, "RLE booleans claim %u bytes, %zu remain", l, len - 4);
        mr_pq_rle d;
        mr_pq_rle_init(&d, p + 4, l, 1);
        while (n > 0) {
            size_t k = n < 1024 ? n : 1024;
            if ((rc = mr_pq_rle_get(&d, x->idx, k))) return CERR(x, MR_EFORMAT, "RLE booleans: %s", mr_errmsg());
            for (size_t i = 0; i < k; i++) dst[i] = (uint8_t)x->idx[i];
            dst += k;
            n -= k;
        }
        return 0;
    }
    case 5: { /* DELTA_BINARY_PACKED */
        if (t != MR_PQ_INT32 && t != MR_PQ_INT64)
            return CERR(x, MR_EFORMAT, "DELTA_BINARY_PACKED encoding for a non-integer column");
        if (t == MR_PQ_INT64) {
            if ((rc = mr_pq_delta_decode(p, len, (int64_t *)dst, n, &used))) return CERR(x, MR_EFORMAT, "%s", mr_errmsg());
            return 0;
        }
        if ((rc = ensure_tmp64(x, n + 1))) return rc;
        if ((rc = mr_pq_delta_decode(p, len, x->tmp64, n, &used))) return CERR(x, MR_EFORMAT, "%s", mr_errmsg());
        int32_t *d32 = (int32_t *)dst;
        for (size_t i = 0; i < n; i++) d32[i] = (int32_t)(uint32_t)(uint64_t)x->tmp64[i];
        return 0;
    }
    case 6: { /* DELTA_LENGTH_BYTE_ARRAY */
        if (t != MR_PQ_BYTE_ARRAY) return CERR(x, MR_EFORMAT, "DELTA_LENGTH_BYTE_ARRAY encoding for a non-BYTE_ARRAY column");
        if ((rc = ensure_tmp64(x, n + 1))) return rc;
        if ((rc = mr_pq_delta_decode(p, len, x->tmp64, n, &used))) return CERR(x, MR_EFORMAT, "lengths: %s", mr_errmsg());
        size_t u2;
        return append_lengths(x, first_slot, x->tmp64, n, p + used, len - used, &u2);
    }
    case 7: /* DELTA_BYTE_ARRAY */
        if (t != MR_PQ_BYTE_ARRAY && t != MR_PQ_FIXED_LEN_BYTE_ARRAY)
            return CERR(x, MR_EFORMAT, "DELTA_BYTE_ARRAY encoding for a column of fixed-width numbers");
        return delta_byte_array(x, p, len, first_slot, n);
    case 9: /* BYTE_STREAM_SPLIT */
        if (!x->width || t == MR_PQ_BOOLEAN || t == MR_PQ_INT96)
            return CERR(x, MR_EFORMAT, "BYTE_STREAM_SPLIT encoding for a %s column", t == MR_PQ_BOOLEAN ? "BOOLEAN" : t == MR_PQ_INT96 ? "INT96" : "BYTE_ARRAY");
        if (n * w != len) return CERR(x, MR_EFORMAT, "BYTE_STREAM_SPLIT data is %zu bytes, %zu values need %zu", len, n, n * w);
        if ((rc = mr_pq_bss_decode(p, len, x->width, dst, n))) return CERR(x, MR_EFORMAT, "%s", mr_errmsg());
        return 0;
    default:
        return CERR(x, MR_EUNSUPPORTED, "unsupported: value encoding %s", mr_pq_encoding_name(encoding, eb));
    }
}

/* Moves the page's nn dense values (at slots base..base+nn) to their slots
 * base..base+ns, given valid[base..base+ns). Backwards, in place. */
static void spread(chunk_ctx *x, int64_t base, int64_t ns, int64_t nn)
{
    mr_pq_col *o = x->out;
    const uint8_t *valid = o->valid + base;
    int64_t j = nn - 1;
    if (x->width) {
        size_t w = (size_t)x->width;
        uint8_t *v = (uint8_t *)o->values + (size_t)base * w;
        for (int64_t i = ns - 1; i >= 0 && i > j; i--) {
            if (valid[i]) memcpy(v + (size_t)i * w, v + (size_t)j-- * w, w);
            else memset(v + (size_t)i * w, 0, w);
        }
    } else {
        int64_t *off = o->offsets + base;
        for (int64_t i = ns - 1; i >= 0 && i > j; i--) {
            if (valid[i]) off[i + 1] = off[j-- + 1];
            else off[i + 1] = off[j + 1];
        }
    }
}

/* Levels and values of one data page (v1 or v2, already decompressed). */
static int data_page(chunk_ctx *x, const mr_pq_page_header *h, const uint8_t *rep_p, size_t rep_n,
                     const uint8_t *def_p, size_t def_n, const uint8_t *val_p, size_t val_n)
{
    const mr_pq_column_info *ci = x->ci;
    mr_pq_col *o = x->out;
    size_t nv = (size_t)h->num_values;
    int rc;
    if (nv > (size_t)(x->levels_cap - o->n_levels))
        return CERR(x, MR_EFORMAT, "pages hold more than the chunk's %lld values", (long long)x->levels_cap);
    if (nv > x->lev_cap) {
        size_t cap = x->lev_cap * sizeof(int16_t), cap2 = cap;
        if ((rc = grow(x, (void **)&x->defs, &cap, nv * sizeof(int16_t)))) return rc;
        if ((rc = grow(x, (void **)&x->reps, &cap2, nv * sizeof(int16_t)))) return rc;
        x->lev_cap = nv;
    }
    mr_pq_rle d;
    if (ci->max_rep > 0) {
        mr_pq_rle_init(&d, rep_p, rep_n, bit_width_of(ci->max_rep));
        if ((rc = mr_pq_rle_levels(&d, x->reps, nv, ci->max_rep, NULL))) return CERR(x, MR_EFORMAT, "repetition levels: %s", mr_errmsg());
    }
    size_t nn = nv;
    /* A flat page whose levels are one run at the maximum has no nulls:
     * skip decoding them (the usual case for pandas and DuckDB files,
     * which mark every column optional). */
    int all_defined = ci->max_def > 0 && ci->list_depth == 0 &&
                      mr_pq_rle_is_run(def_p, def_n, bit_width_of(ci->max_def), nv, (uint32_t)ci->max_def);
    if (ci->max_def > 0 && !all_defined) {
        mr_pq_rle_init(&d, def_p, def_n, bit_width_of(ci->max_def));
        if ((rc = mr_pq_rle_levels(&d, x->defs, nv, ci->max_def, &nn))) return CERR(x, MR_EFORMAT, "definition levels: %s", mr_errmsg());
    }

    int64_t base = o->n_slots, ns;
    if (ci->list_depth > 1) {
        /* Raw levels + dense values, for the record assembler. */
        if (nv && o->n_levels == 0 && x->reps[0] != 0) return CERR(x, MR_EFORMAT, "repetition levels start with %d, not 0", x->reps[0]);
        memcpy(o->def + o->n_levels, x->defs, nv * sizeof(int16_t));
        memcpy(o->rep + o->n_levels, x->reps, nv * sizeof(int16_t));
        for (size_t i = 0; i < nv; i++) o->n_rows += x->reps[i] == 0;
        if (o->n_rows > x->rows_cap) return CERR(x, MR_EFORMAT, "more rows than the row group's %lld", (long long)x->rows_cap);
        o->n_levels += (int64_t)nv;
        if ((rc = reserve_slots(x, (int64_t)nn))) return rc;
        if ((rc = decode_values(x, h->encoding, val_p, val_n, base, nn))) return rc;
        o->n_slots += (int64_t)nn;
        return 0;
    }
    if (ci->list_depth == 1) {
        /* Rows start at rep 0; a slot exists where def reaches the element. */
        const int ld = ci->list_def[0], ed = ci->elem_def[0], md = ci->max_def;
        ns = 0;
        for (size_t i = 0; i < nv; i++) ns += x->defs[i] >= ed || (ci->max_def == 0);
        if ((rc = reserve_slots(x, ns))) return rc;
        if (!o->valid && nn < (size_t)ns) {
            if ((rc = charge(x, (size_t)x->slots_cap))) return rc;
            o->valid = malloc((size_t)x->slots_cap ? (size_t)x->slots_cap : 1);
            if (!o->valid) return CERR(x, MR_ENOMEM, "out of memory");
            memset(o->valid, 1, (size_t)x->slots_cap);
        }
        int64_t s = base;
        for (size_t i = 0; i < nv; i++) {
            int dl = ci->max_def ? x->defs[i] : 0;
            if (x->reps[i] == 0) {
                if (o->n_rows >= x->rows_cap) return CERR(x, MR_EFORMAT, "more rows than the row group's %lld", (long long)x->rows_cap);
                o->list_offsets[o->n_rows] = s;
                if (dl < ld) {
                    if (!o->list_valid) {
                        if ((rc = charge(x, (size_t)x->rows_cap))) return rc;
                        o->list_valid = malloc((size_t)x->rows_cap ? (size_t)x->rows_cap : 1);
                        if (!o->list_valid) return CERR(x, MR_ENOMEM, "out of memory");
                        memset(o->list_valid, 1, (size_t)x->rows_cap);
                    }
                    o->list_valid[o->n_rows] = 0;
                }
                o->n_rows++;
            } else if (o->n_rows == 0) {
                return CERR(x, MR_EFORMAT, "repetition levels start with %d, not 0", x->reps[i]);
            }
            if (dl >= ed || ci->max_def == 0) {
                if (o->valid) o->valid[s] = dl == md;
                s++;
            }
        }
    } else {
        ns = (int64_t)nv;
        if ((rc = reserve_slots(x, ns))) return rc;
        if (!o->valid && nn < nv) {
            if ((rc = charge(x, (size_t)x->slots_cap))) return rc;
            o->valid = malloc((size_t)x->slots_cap ? (size_t)x->slots_cap : 1);
            if (!o->valid) return CERR(x, MR_ENOMEM, "out of memory");
            memset(o->valid, 1, (size_t)x->slots_cap);
        }
        if (o->valid) {
            const int16_t md = (int16_t)ci->max_def;
            if (ci->max_def && nn < nv) for (size_t i = 0; i < nv; i++) o->valid[base + (int64_t)i] = x->defs[i] == md;
            else memset(o->valid + base, 1, nv);
        }
        o->n_rows += (int64_t)nv;
    }
    o->n_levels += (int64_t)nv;
    if ((rc = decode_values(x, h->encoding, val_p, val_n, base, nn))) return rc;
    if ((int64_t)nn < ns) spread(x, base, ns, (int64_t)nn);
    o->n_slots += ns;
    return 0;
}

static int read_chunk(chunk_ctx *x)
{
    const mr_pq_reader *r = x->r;
    const mr_pq_column_info *ci = x->ci;
    const mr_pq_chunk *c = &r->meta.rgs[x->rg].cols[x->col];
    mr_pq_col *o = x->out;
    char cb[16];
    int rc;
    if (!c->has_meta) return CERR(x, MR_EFORMAT, "column chunk has no metadata");
    if (c->has_file_path) return CERR(x, MR_EUNSUPPORTED, "unsupported: column chunk stored in another file");
    if (c->type != (int)ci->physical) return CERR(x, MR_EFORMAT, "chunk type %d differs from the schema's %d", c->type, ci->physical);
    if (!mr_pq_codec_supported(c->codec))
        return CERR(x, MR_EUNSUPPORTED, "unsupported: compression codec %s", mr_pq_codec_name(c->codec, cb));
    int64_t start = c->data_page_offset;
    if (c->dictionary_page_offset > 0 && c->dictionary_page_offset < start) start = c->dictionary_page_offset;
    int64_t len = c->total_compressed;
    if (start < 4 || len <= 0 || start >= r->data_end || len > r->data_end - start)
        return CERR(x, MR_EFORMAT, "column chunk at offset %lld with %lld bytes lies outside the file's data", (long long)start, (long long)len);
    if (c->num_values < 0 || c->num_values > INT32_MAX * 64LL)
        return CERR(x, MR_EFORMAT, "column chunk has an invalid value count %lld", (long long)c->num_values);
    int64_t rows = r->meta.rgs[x->rg].num_rows;
    if (ci->max_rep == 0 && c->num_values != rows)
        return CERR(x, MR_EFORMAT, "column chunk holds %lld values, the row group %lld rows", (long long)c->num_values, (long long)rows);
    x->rows_cap = rows;
    x->levels_cap = c->num_values;
    x->width = value_width(r, ci);

    if ((rc = charge(x, (size_t)len))) return rc;
    const uint8_t *buf;
    if (r->mem) {
        buf = r->mem + start;
    } else {
        if ((size_t)len > x->chunk_cap) {
            free(x->chunk_buf);
            x->chunk_cap = 0;
            x->chunk_buf = malloc((size_t)len);
            if (!x->chunk_buf) return CERR(x, MR_ENOMEM, "out of memory for %lld bytes", (long long)len);
            x->chunk_cap = (size_t)len;
        }
        if ((rc = read_at(r, start, (size_t)len, x->chunk_buf))) return rc;
        buf = x->chunk_buf;
    }

    /* Row-level arrays. */
    if (ci->list_depth == 1) {
        if ((rc = charge(x, ((size_t)rows + 1) * 8))) goto out;
        o->list_offsets = malloc(((size_t)rows + 1) * sizeof *o->list_offsets);
        if (!o->list_offsets) {
            rc = CERR(x, MR_ENOMEM, "out of memory");
            goto out;
        }
    } else if (ci->list_depth > 1) {
        if ((rc = charge(x, (size_t)c->num_values * 4))) goto out;
        o->def = malloc((size_t)c->num_values * 2 + 2);
        o->rep = malloc((size_t)c->num_values * 2 + 2);
        if (!o->def || !o->rep) {
            rc = CERR(x, MR_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (!x->width) {
        o->offsets = calloc(1, sizeof *o->offsets);
        if (!o->offsets) {
            rc = CERR(x, MR_ENOMEM, "out of memory");
            goto out;
        }
    }

    size_t pos = 0;
    while (o->n_levels < c->num_values) {
        x->page++;
        if (pos >= (size_t)len) {
            rc = CERR(x, MR_EFORMAT, "column chunk ends after %lld of %lld values", (long long)o->n_levels, (long long)c->num_values);
            goto out;
        }
        mr_pq_page_header h;
        size_t hl;
        if ((rc = mr_pq_page_header_parse(buf + pos, (size_t)len - pos, &h, &hl))) {
            rc = CERR(x, rc, "%s", mr_errmsg());
            goto out;
        }
        pos += hl;
        if ((size_t)h.compressed_size > (size_t)len - pos) {
            rc = CERR(x, MR_EFORMAT, "page of %d bytes runs past the column chunk", h.compressed_size);
            goto out;
        }
        const uint8_t *page = buf + pos;
        size_t plen = (size_t)h.compressed_size;
        pos += plen;
        if (h.has_crc && (uint32_t)crc32(0, page, (uInt)plen) != h.crc) {
            rc = CERR(x, MR_EFORMAT, "page fails its CRC32 check (corrupt data)");
            goto out;
        }
        if (h.type == MR_PQ_PAGE_INDEX || (h.type != MR_PQ_PAGE_DATA && h.type != MR_PQ_PAGE_DATA_V2 && h.type != MR_PQ_PAGE_DICT))
            continue; /* index pages and unknown page types carry no values */
        if (h.type == MR_PQ_PAGE_DICT && !h.has_dict) {
            rc = CERR(x, MR_EFORMAT, "dictionary page without its header");
            goto out;
        }
        if ((h.type == MR_PQ_PAGE_DATA && !h.has_v1) || (h.type == MR_PQ_PAGE_DATA_V2 && !h.has_v2)) {
            rc = CERR(x, MR_EFORMAT, "data page without its header");
            goto out;
        }
        size_t ulen = (size_t)h.uncompressed_size;
        /* Decompress what is compressed: the whole page, except v2 levels. */
        size_t lev = 0;
        int compressed = c->codec != MR_PQ_UNCOMPRESSED;
        if (h.type == MR_PQ_PAGE_DATA_V2) {
            lev = (size_t)h.rep_len + (size_t)h.def_len;
            if (lev > plen || lev > ulen) {
                rc = CERR(x, MR_EFORMAT, "level lengths %d + %d exceed the page", h.rep_len, h.def_len);
                goto out;
            }
            compressed = compressed && h.is_compressed;
        }
        const uint8_t *data = page + lev;
        size_t dlen = ulen - lev;
        if (compressed) {
            if (dlen > x->page_cap || !x->page_buf) { /* never NULL, even for an empty page */
                if ((rc = grow(x, (void **)&x->page_buf, &x->page_cap, dlen))) goto out;
            }
            if ((rc = mr_pq_decompress((mr_pq_codec)c->codec, page + lev, plen - lev, x->page_buf, dlen))) {
                rc = CERR(x, rc, "%s", mr_errmsg());
                goto out;
            }
            data = x->page_buf;
        } else if (plen - lev != dlen) {
            rc = CERR(x, MR_EFORMAT, "uncompressed page is %zu bytes, its header says %zu", plen - lev, dlen);
            goto out;
        }
        if (h.type == MR_PQ_PAGE_DICT) {
            if (o->n_levels > 0) {
                rc = CERR(x, MR_EFORMAT, "dictionary page after data pages");
                goto out;
            }
            if ((rc = decode_dictionary(x, data, dlen, h.num_values, h.encoding))) goto out;
            /* The dictionary lives in page_buf? No: decode_dictionary copies. */
            continue;
        }
        if (h.type == MR_PQ_PAGE_DATA) {
            const uint8_t *q = data, *end = data + dlen, *rp = NULL, *dp = NULL;
            size_t rn = 0, dn = 0;
            char eb[24];
            if (ci->max_rep > 0) {
                if (h.rep_encoding != 3) {
                    rc = CERR(x, MR_EUNSUPPORTED, "unsupported: repetition level encoding %s", mr_pq_encoding_name(h.rep_encoding, eb));
                    goto out;
                }
                uint32_t l;
                if (end - q < 4 || (memcpy(&l, q, 4), l > (size_t)(end - q - 4))) {
                    rc = CERR(x, MR_EFORMAT, "repetition levels are truncated");
                    goto out;
                }
                rp = q + 4;
                rn = l;
                q += 4 + l;
            }
            if (ci->max_def > 0) {
                if (h.def_encoding != 3) {
                    rc = CERR(x, MR_EUNSUPPORTED, "unsupported: definition level encoding %s", mr_pq_encoding_name(h.def_encoding, eb));
                    goto out;
                }
                uint32_t l;
                if (end - q < 4 || (memcpy(&l, q, 4), l > (size_t)(end - q - 4))) {
                    rc = CERR(x, MR_EFORMAT, "definition levels are truncated");
                    goto out;
                }
                dp = q + 4;
                dn = l;
                q += 4 + l;
            }
            rc = data_page(x, &h, rp, rn, dp, dn, q, (size_t)(end - q));
        } else {
            rc = data_page(x, &h, page, (size_t)h.rep_len, page + h.rep_len, (size_t)h.def_len, data, dlen);
        }
        if (rc) goto out;
    }
    if (o->n_rows != rows) {
        x->page = 0;
        rc = CERR(x, MR_EFORMAT, "column chunk holds %lld rows, the row group %lld", (long long)o->n_rows, (long long)rows);
        goto out;
    }
    if (o->list_offsets) o->list_offsets[o->n_rows] = o->n_slots;
    if (ci->list_depth <= 1) o->n_levels = 0; /* levels are kept only for nested lists */
    if (!x->width && !o->bytes) o->bytes = malloc(1); /* non-NULL even when empty */
out:
    return rc;
}

static void scratch_take(chunk_ctx *x)
{
    read_scratch *t = &tls_scratch;
    x->chunk_buf = t->chunk, x->chunk_cap = t->chunk_cap;
    x->page_buf = t->page, x->page_cap = t->page_cap;
    x->defs = t->defs, x->reps = t->reps, x->lev_cap = t->lev_cap;
    x->tmp64 = t->tmp64, x->tmp64_cap = t->tmp64_cap;
    memset(t, 0, sizeof *t);
}

static void keep_or_free(void **dst, size_t *dcap, void *p, size_t bytes)
{
    if (bytes > SCRATCH_KEEP) {
        free(p);
        p = NULL;
        bytes = 0;
    }
    *dst = p;
    *dcap = bytes;
}

static void scratch_give_back(chunk_ctx *x)
{
    read_scratch *t = &tls_scratch;
    size_t lev = x->lev_cap * sizeof(int16_t), t64 = x->tmp64_cap * sizeof(int64_t);
    keep_or_free((void **)&t->chunk, &t->chunk_cap, x->chunk_buf, x->chunk_cap);
    keep_or_free((void **)&t->page, &t->page_cap, x->page_buf, x->page_cap);
    if (lev > SCRATCH_KEEP) {
        free(x->defs);
        free(x->reps);
        t->defs = t->reps = NULL;
        t->lev_cap = 0;
    } else {
        t->defs = x->defs, t->reps = x->reps, t->lev_cap = x->lev_cap;
    }
    keep_or_free((void **)&t->tmp64, &t64, x->tmp64, t64);
    t->tmp64_cap = t64 / sizeof(int64_t);
}

static int read_common(mr_pq_reader *r, int rg, int col, mr_pq_col *out, void *ext_values, uint8_t *ext_valid)
{
    memset(out, 0, sizeof *out);
    if (rg < 0 || rg >= r->meta.n_rg) return mr_err(MR_EINVAL, "%s has no row group %d", r->path, rg);
    if (col < 0 || col >= r->n_cols) return mr_err(MR_EINVAL, "%s has no column %d", r->path, col);
    const mr_pq_column_info *ci = &r->cols[col];
    if (ci->unsupported)
        return mr_err(MR_EUNSUPPORTED, "%s: unsupported: column '%s' is %s", r->path, ci->path, ci->unsupported);
    chunk_ctx *x = calloc(1, sizeof *x);
    if (!x) return mr_err(MR_ENOMEM, "out of memory");
    x->r = r;
    x->ci = ci;
    x->out = out;
    x->rg = rg;
    x->col = col;
    out->owned = 1;
    if (ext_values) {
        x->external = 1;
        out->values = ext_values;
        out->valid = ext_valid;
        x->slots_cap = r->meta.rgs[rg].num_rows;
    }
    scratch_take(x);
    int rc = read_chunk(x);
    scratch_give_back(x);
    free(x->dict_vals);
    free(x->dict_off);
    free(x->dict_bytes);
    free(x);
    if (ext_values) {
        /* A null with nowhere to record it was caught as valid appeared. */
        if (!ext_valid && out->valid) {
            free(out->valid);
            out->valid = NULL;
            if (!rc) rc = mr_err(MR_EFORMAT, "%s: column '%s' has nulls in row group %d", r->path, ci->path, rg);
        }
        out->values = NULL;
        if (out->valid == ext_valid) out->valid = NULL;
    }
    if (rc) mr_pq_col_free(out);
    return rc;
}

int mr_pq_read(mr_pq_reader *r, int rg, int col, mr_pq_col *out) { return read_common(r, rg, col, out, NULL, NULL); }

int mr_pq_read_into(mr_pq_reader *r, int rg, int col, void *dst, uint8_t *valid)
{
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    if (!ci) return mr_err(MR_EINVAL, "%s has no column %d", r->path, col);
    if (ci->list_depth || ci->physical == MR_PQ_BYTE_ARRAY)
        return mr_err(MR_EINVAL, "%s: column '%s' is not a flat fixed-width column", r->path, ci->path);
    mr_pq_col c;
    int rc = read_common(r, rg, col, &c, dst, valid);
    /* valid, when given, was written page by page (every slot). */
    mr_pq_col_free(&c);
    return rc;
}

int mr_pq_read_all_i64(mr_pq_reader *r, int col, int64_t *dst)
{
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    if (!ci) return mr_err(MR_EINVAL, "%s has no column %d", r->path, col);
    if (ci->list_depth || (ci->physical != MR_PQ_INT32 && ci->physical != MR_PQ_INT64 &&
                           ci->physical != MR_PQ_INT96 && ci->physical != MR_PQ_BOOLEAN))
        return mr_err(MR_EINVAL, "%s: column '%s' is not a flat integer column", r->path, ci->path);
    int n_rg = r->meta.n_rg, failed = 0;
    char msg[1024] = "";
    int code = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int g = 0; g < n_rg; g++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop) continue;
        mr_pq_col c;
        int rc;
        if (ci->physical == MR_PQ_INT64 || ci->physical == MR_PQ_INT96) {
            /* Same width: straight into place, a null is an error. */
            rc = mr_pq_read_into(r, g, col, dst + r->rg_first_row[g], NULL);
            if (rc) {
#pragma omp critical(mr_pq_read_all)
                if (!failed) {
                    failed = 1;
                    code = rc;
                    snprintf(msg, sizeof msg, "%s", mr_errmsg());
                }
            }
            continue;
        }
        rc = mr_pq_read(r, g, col, &c);
        if (!rc && c.valid) {
            for (int64_t i = 0; i < c.n_slots && !rc; i++)
                if (!c.valid[i])
                    rc = mr_err(MR_EFORMAT, "%s: column '%s' has a null in row %lld", r->path, ci->path,
                                (long long)(r->rg_first_row[g] + i));
        }
        if (!rc) {
            int64_t *d = dst + r->rg_first_row[g];
            if (ci->physical == MR_PQ_INT32) {
                const int32_t *v = c.values;
                if (ci->logical == MR_PQ_L_INT && !ci->is_signed)
                    for (int64_t i = 0; i < c.n_slots; i++) d[i] = (uint32_t)v[i];
                else
                    for (int64_t i = 0; i < c.n_slots; i++) d[i] = v[i];
            } else if (ci->physical == MR_PQ_BOOLEAN) {
                const uint8_t *v = c.values;
                for (int64_t i = 0; i < c.n_slots; i++) d[i] = v[i];
            } else {
                memcpy(d, c.values, (size_t)c.n_slots * sizeof *d);
            }
        }
        mr_pq_col_free(&c);
        if (rc) {
#pragma omp critical(mr_pq_read_all)
            if (!failed) {
                failed = 1;
                code = rc;
                snprintf(msg, sizeof msg, "%s", mr_errmsg());
            }
        }
    }
    if (failed) {
        mr_err_set_msg(msg);
        return code;
    }
    return 0;
}
