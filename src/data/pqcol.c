/* Typed column access for the pipeline's inputs; see pqcol.h. */
#include "data/pqcol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static const char *phys_name(mr_pq_physical p)
{
    static const char *n[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
                              "FIXED_LEN_BYTE_ARRAY"};
    return (unsigned)p < 8 ? n[p] : "?";
}

const char *mr_pqc_describe(const mr_pq_column_info *ci, char *buf, int cap)
{
    const char *lg = "";
    switch (ci->logical) {
    case MR_PQ_L_STRING: lg = " STRING"; break;
    case MR_PQ_L_DATE: lg = " DATE"; break;
    case MR_PQ_L_TIMESTAMP: lg = " TIMESTAMP"; break;
    case MR_PQ_L_TIME: lg = " TIME"; break;
    case MR_PQ_L_DECIMAL: lg = " DECIMAL"; break;
    case MR_PQ_L_INT: lg = ""; break;
    default: break;
    }
    snprintf(buf, (size_t)cap, "%s%s%s", ci->list_depth ? "LIST of " : "", phys_name(ci->physical), lg);
    return buf;
}

static int kind_ok(const mr_pq_column_info *ci, mr_pqc_kind kind)
{
    switch (kind) {
    case MR_PQC_INT:
        return (ci->physical == MR_PQ_INT32 || ci->physical == MR_PQ_INT64) &&
               (ci->logical == MR_PQ_L_NONE || ci->logical == MR_PQ_L_INT);
    case MR_PQC_DAY:
        return (ci->physical == MR_PQ_INT32 && ci->logical == MR_PQ_L_DATE) ||
               (ci->physical == MR_PQ_INT64 && ci->logical == MR_PQ_L_TIMESTAMP) || ci->physical == MR_PQ_INT96;
    case MR_PQC_STRING:
        return ci->physical == MR_PQ_BYTE_ARRAY &&
               (ci->logical == MR_PQ_L_NONE || ci->logical == MR_PQ_L_STRING || ci->logical == MR_PQ_L_ENUM);
    }
    return 0;
}

int mr_pqc_require(mr_pq_reader *r, const char *name, mr_pqc_kind kind, int list, int *col)
{
    int rc = mr_pq_require(r, name, col);
    if (rc) return rc;
    const mr_pq_column_info *ci = mr_pq_column(r, *col);
    static const char *want[] = {"INT32 or INT64", "DATE or TIMESTAMP", "STRING"};
    if (!kind_ok(ci, kind) || ci->list_depth != (list ? 1 : 0)) {
        char d[64];
        return mr_err(MR_EFORMAT, "%s: column %s is %s, expected %s%s", mr_pq_path(r), name,
                      mr_pqc_describe(ci, d, sizeof d), list ? "a LIST of " : "", want[kind]);
    }
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void mr_pqc_convert(const mr_pq_column_info *ci, mr_pqc_kind kind, const mr_pq_col *c, int64_t *dst)
{
    int64_t n = c->n_slots;
    if (ci->physical == MR_PQ_INT32) {
        const int32_t *v = c->values;
        /* unsigned 32-bit ints widen without sign */
        if (ci->logical == MR_PQ_L_INT && !ci->is_signed)
            for (int64_t i = 0; i < n; i++) dst[i] = (int64_t)(uint32_t)v[i];
        else
            for (int64_t i = 0; i < n; i++) dst[i] = v[i];
        return; /* DATE is already days */
    }
    const int64_t *v = c->values; /* INT64, or INT96 converted to ns by the reader */
    if (kind == MR_PQC_DAY) {
        int64_t per_day = ci->physical == MR_PQ_INT96 || ci->unit == MR_PQ_NANOS ? 86400000000000LL
                          : ci->unit == MR_PQ_MICROS                              ? 86400000000LL
                                                                                  : 86400000LL;
        for (int64_t i = 0; i < n; i++) dst[i] = floor_div(v[i], per_day);
    } else
        memcpy(dst, v, (size_t)n * 8);
}

/* One row group of one column in its physical width, and its null flags:
 * a buffer per thread, reused from call to call, so that reading a file of
 * many row groups does not allocate (and fault in) fresh memory for each. */
static _Thread_local struct {
    void *p;
    size_t cap;
    uint8_t *valid;
    size_t vcap;
} tls_buf;

static void *tls_grow(void **p, size_t *cap, size_t want)
{
    if (want < 64) want = 64;
    if (want <= *cap) return *p;
    void *q = realloc(*p, want);
    if (!q) return NULL;
    *p = q;
    *cap = want;
    return q;
}

int mr_pqc_read_i64(mr_pq_reader *r, int rg, int col, mr_pqc_kind kind, int64_t *dst, int64_t null_value,
                    int64_t *n_null)
{
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    if (!ci) return mr_err(MR_EINVAL, "%s has no column %d", mr_pq_path(r), col);
    if (ci->physical != MR_PQ_INT32 && ci->physical != MR_PQ_INT64 && ci->physical != MR_PQ_INT96)
        return mr_err(MR_EINVAL, "%s: column %s is not an integer column", mr_pq_path(r), ci->name);
    int64_t n = mr_pq_row_group_rows(r, rg);
    size_t w = ci->physical == MR_PQ_INT32 ? 4 : 8;
    void *vals = tls_grow(&tls_buf.p, &tls_buf.cap, (size_t)n * w);
    uint8_t *valid = ci->nullable ? tls_grow((void **)&tls_buf.valid, &tls_buf.vcap, (size_t)n) : NULL;
    if (!vals || (ci->nullable && !valid)) return mr_err(MR_ENOMEM, "out of memory reading %s", mr_pq_path(r));
    int rc = mr_pq_read_into(r, rg, col, vals, valid);
    if (rc) return rc;
    mr_pq_col c = {.n_rows = n, .n_slots = n, .values = vals};
    mr_pqc_convert(ci, kind, &c, dst);
    if (valid) {
        int64_t nn = 0;
        for (int64_t i = 0; i < n; i++)
            if (!valid[i]) {
                dst[i] = null_value;
                nn++;
            }
        if (nn && !n_null)
            return mr_err(MR_EFORMAT, "%s: column %s has %lld null values in row group %d", mr_pq_path(r), ci->name,
                          (long long)nn, rg);
        if (n_null) *n_null += nn;
    }
    return 0;
}

/* dst[i] = (DT)EXPR(s[i]) for i < n, with *bad set when a value falls
 * outside lo..hi; one pass, no branches, so it vectorises. */
#define NARROW(ST, DT, EXPR)                                                                        \
    do {                                                                                            \
        const ST *s_ = (const ST *)src;                                                             \
        DT *d_ = (DT *)dst;                                                                         \
        int b_ = 0;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                           \
            int64_t v = EXPR(s_[i]);                                                                \
            b_ |= (v < lo) | (v > hi);                                                              \
            d_[i] = (DT)v;                                                                          \
        }                                                                                           \
        bad = b_;                                                                                   \
    } while (0)
#define AS_IS(x) ((int64_t)(x))
#define AS_U32(x) ((int64_t)(uint32_t)(x))
#define AS_DAY(x) floor_div((x), per_day)

int mr_pqc_read_narrow(mr_pq_reader *r, int rg, int col, mr_pqc_kind kind, void *dst, int dst_width, int64_t lo,
                       int64_t hi)
{
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    if (!ci) return mr_err(MR_EINVAL, "%s has no column %d", mr_pq_path(r), col);
    if ((ci->physical != MR_PQ_INT32 && ci->physical != MR_PQ_INT64 && ci->physical != MR_PQ_INT96) ||
        (dst_width != 2 && dst_width != 4 && dst_width != 8))
        return mr_err(MR_EINVAL, "%s: column %s cannot be read as %d-byte integers", mr_pq_path(r), ci->name,
                      dst_width);
    int64_t n = mr_pq_row_group_rows(r, rg);
    int is32 = ci->physical == MR_PQ_INT32, u32 = is32 && ci->logical == MR_PQ_L_INT && !ci->is_signed;
    int day = kind == MR_PQC_DAY && !is32; /* DATE is days already */
    size_t sw = is32 ? 4 : 8;
    /* Same width and meaning: decoded straight into place, then checked. */
    int direct = n > 0 && !u32 && !day && (size_t)dst_width == sw;
    void *src = direct ? dst : tls_grow(&tls_buf.p, &tls_buf.cap, (size_t)n * sw);
    if (!src) return mr_err(MR_ENOMEM, "out of memory reading %s", mr_pq_path(r));
    int rc = mr_pq_read_into(r, rg, col, src, NULL);
    if (rc) return rc;
    int64_t per_day = ci->physical == MR_PQ_INT96 || ci->unit == MR_PQ_NANOS ? 86400000000000LL
                      : ci->unit == MR_PQ_MICROS                              ? 86400000000LL
                                                                              : 86400000LL;
    int bad = 0;
    if (direct) {
        if (is32 && lo <= INT32_MIN && hi >= INT32_MAX) return 0;
        if (!is32 && lo == INT64_MIN && hi == INT64_MAX) return 0;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        if (is32) {
            const int32_t *v = dst;
            int32_t a = INT32_MAX, b = INT32_MIN;
            for (int64_t i = 0; i < n; i++) a = v[i] < a ? v[i] : a, b = v[i] > b ? v[i] : b;
            mn = a, mx = b;
        } else {
            const int64_t *v = dst;
            for (int64_t i = 0; i < n; i++) mn = v[i] < mn ? v[i] : mn, mx = v[i] > mx ? v[i] : mx;
        }
        bad = mn < lo || mx > hi;
    } else if (is32) {
        if (dst_width == 2) {
            if (u32) NARROW(int32_t, int16_t, AS_U32);
            else NARROW(int32_t, int16_t, AS_IS);
        } else if (dst_width == 4) {
            if (u32) NARROW(int32_t, int32_t, AS_U32);
            else NARROW(int32_t, int32_t, AS_IS);
        } else {
            if (u32) NARROW(int32_t, int64_t, AS_U32);
            else NARROW(int32_t, int64_t, AS_IS);
        }
    } else if (day) {
        if (dst_width == 2) NARROW(int64_t, int16_t, AS_DAY);
        else if (dst_width == 4) NARROW(int64_t, int32_t, AS_DAY);
        else NARROW(int64_t, int64_t, AS_DAY);
    } else {
        if (dst_width == 2) NARROW(int64_t, int16_t, AS_IS);
        else if (dst_width == 4) NARROW(int64_t, int32_t, AS_IS);
        else NARROW(int64_t, int64_t, AS_IS);
    }
    if (!bad) return 0;
    /* Find the first value out of range, for the message. */
    for (int64_t i = 0; i < n; i++) {
        int64_t v = is32 ? (u32 ? (int64_t)(uint32_t)((const int32_t *)src)[i] : ((const int32_t *)src)[i])
                         : day ? floor_div(((const int64_t *)src)[i], per_day) : ((const int64_t *)src)[i];
        if (v < lo || v > hi)
            return mr_err(MR_EFORMAT, "%s: column %s: value %lld in row group %d is outside %lld..%lld", mr_pq_path(r),
                          ci->name, (long long)v, rg, (long long)lo, (long long)hi);
    }
    return 0;
}

/* Concatenates a column over all row groups: fixed values (as int64) or
 * strings, flat or list. off gets n_rows + 1 list offsets for lists; for
 * strings soff gets n_slots + 1 byte offsets. */
int mr_pqc_gather(mr_pq_reader *r, int col, mr_pqc_kind kind, int list, mr_pqc_gathered *g)
{
    memset(g, 0, sizeof *g);
    int nrg = mr_pq_num_row_groups(r);
    int64_t rows = mr_pq_num_rows(r), slots_cap = rows + 1, bytes_cap = 1024, nb = 0;
    const mr_pq_column_info *ci = mr_pq_column(r, col);
    int rc = 0;
    if (list && !(g->off = mr_malloc((size_t)(rows + 1) * 8))) return MR_ENOMEM;
    if (list) g->off[0] = 0;
    if (kind == MR_PQC_STRING) {
        g->soff = mr_malloc((size_t)slots_cap * 8);
        g->bytes = mr_malloc((size_t)bytes_cap);
        if (!g->soff || !g->bytes) rc = MR_ENOMEM;
        else g->soff[0] = 0;
    } else if (!(g->vals = mr_malloc((size_t)slots_cap * 8)))
        rc = MR_ENOMEM;
    for (int rg = 0; rg < nrg && !rc; rg++) {
        mr_pq_col c;
        rc = mr_pq_read(r, rg, col, &c);
        if (rc) break;
        /* null lists read as empty; null elements are dropped */
        int64_t ns = c.n_slots;
        if (g->n_slots + ns + 1 > slots_cap) {
            int64_t cap = (g->n_slots + ns + 1) * 2;
            if (kind == MR_PQC_STRING) {
                int64_t *p = mr_realloc(g->soff, (size_t)cap * 8);
                if (!p) rc = MR_ENOMEM;
                else g->soff = p;
            } else {
                int64_t *p = mr_realloc(g->vals, (size_t)cap * 8);
                if (!p) rc = MR_ENOMEM;
                else g->vals = p;
            }
            slots_cap = cap;
        }
        int64_t *tmp = NULL;
        if (!rc && kind != MR_PQC_STRING) {
            tmp = mr_malloc((size_t)(ns ? ns : 1) * 8);
            if (!tmp) rc = MR_ENOMEM;
            else mr_pqc_convert(ci, kind, &c, tmp);
        }
        if (!rc && kind == MR_PQC_STRING && c.offsets) {
            int64_t add = c.offsets[ns] - c.offsets[0];
            if (nb + add + 1 > bytes_cap) {
                bytes_cap = (nb + add + 1) * 2;
                char *p = mr_realloc(g->bytes, (size_t)bytes_cap);
                if (!p) rc = MR_ENOMEM;
                else g->bytes = p;
            }
        }
        /* copy slot by slot, dropping null slots */
        int64_t base_slot = g->n_slots;
        int64_t *keep_pos = NULL;
        if (!rc && list && !(keep_pos = mr_malloc((size_t)(ns + 1) * 8))) rc = MR_ENOMEM;
        for (int64_t s = 0; !rc && s < ns; s++) {
            if (list) keep_pos[s] = g->n_slots;
            if (c.valid && !c.valid[s]) continue;
            if (kind == MR_PQC_STRING) {
                int64_t a = c.offsets[s], b = c.offsets[s + 1];
                memcpy(g->bytes + nb, c.bytes + a, (size_t)(b - a));
                nb += b - a;
                g->soff[g->n_slots + 1] = nb;
            } else
                g->vals[g->n_slots] = tmp[s];
            g->n_slots++;
        }
        if (!rc && list) {
            keep_pos[ns] = g->n_slots;
            int64_t nr = c.n_rows;
            for (int64_t i = 0; i < nr; i++) {
                int64_t e = c.list_offsets[i + 1];
                g->off[g->n_rows + i + 1] = e < ns ? keep_pos[e] : keep_pos[ns];
            }
            g->n_rows += nr;
        } else if (!rc) {
            if (c.valid && g->n_slots - base_slot != c.n_rows)
                rc = mr_err(MR_EFORMAT, "%s: column %s has null values", mr_pq_path(r), ci->name);
            g->n_rows += c.n_rows;
        }
        free(keep_pos);
        free(tmp);
        mr_pq_col_free(&c);
    }
    if (rc) {
        free(g->vals), free(g->off), free(g->soff), free(g->bytes);
        memset(g, 0, sizeof *g);
    }
    return rc;
}

void mr_pqc_gathered_free(mr_pqc_gathered *g)
{
    free(g->vals), free(g->off), free(g->soff), free(g->bytes);
    memset(g, 0, sizeof *g);
}

/* Civil-from-days and days-from-civil (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int mr_day_parse(const char *s, int32_t *day)
{
    int y, m, d;
    char tail;
    if (!s || sscanf(s, "%d-%d-%d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31 || y < 1 ||
        y > 9999)
        return mr_err(MR_EINVAL, "'%s' is not a date (YYYY-MM-DD)", s ? s : "");
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) return mr_err(MR_EINVAL, "'%s' is not a valid date", s);
    *day = (int32_t)days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

void mr_day_format(int32_t day, char out[16])
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 16, "%04d-%02u-%02u", (int)(y % 100000), m % 100, d % 100);
}
