/* `musrec parquet`: look inside parquet files, and measure the codec.
 *
 *   schema FILE                  the schema tree, rows, row groups, codecs, encodings
 *   head FILE [-n N] [--columns] the first N rows as JSON lines
 *   cat FILE [--columns]         every row as JSON lines
 *   scan FILE [--columns]        decode the columns into whole arrays, in
 *                                parallel over row groups x columns; prints
 *                                checksums, seconds and peak RSS (benchmark)
 *   copy IN OUT [--codec] [--row-group-rows]  read every chunk, write again
 *
 * JSON rules (also docs/parquet.md): integers exact, floats shortest
 * round-trip with "NaN"/"Infinity"/"-Infinity" as strings, DATE as
 * "YYYY-MM-DD", TIMESTAMP as "YYYY-MM-DDTHH:MM:SS[.fraction]", strings
 * escaped, other binary as base64, null, lists as arrays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <sys/resource.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "parquet/codec.h"
#include "parquet/meta.h"
#include "parquet/parquet.h"

/* ---- value formatting ---- */

/* Days since 1970-01-01 -> civil date (H. Hinnant's algorithm). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static void put_date(FILE *f, int64_t days)
{
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) fprintf(f, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
    else fprintf(f, "\"%" PRId64 "-%02u-%02u\"", y, m, d);
}

static const int64_t unit_per_sec[3] = {1000, 1000000, 1000000000};
static const int unit_digits[3] = {3, 6, 9};

/* Fraction digits without trailing zeros; nothing when zero. */
static void put_fraction(FILE *f, int64_t frac, int digits)
{
    if (!frac) return;
    char buf[16];
    snprintf(buf, sizeof buf, "%0*" PRId64, digits, frac);
    int n = digits;
    while (n > 0 && buf[n - 1] == '0') n--;
    fprintf(f, ".%.*s", n, buf);
}

static void put_timestamp(FILE *f, int64_t v, mr_pq_unit unit)
{
    int64_t per = unit_per_sec[unit];
    int64_t secs = v / per, frac = v % per;
    if (frac < 0) {
        frac += per;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) fprintf(f, "\"%04" PRId64, y);
    else fprintf(f, "\"%" PRId64, y);
    fprintf(f, "-%02u-%02uT%02d:%02d:%02d", m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    put_fraction(f, frac, unit_digits[unit]);
    fputc('"', f);
}

static void put_time(FILE *f, int64_t v, mr_pq_unit unit)
{
    int64_t per = unit_per_sec[unit];
    int64_t secs = v / per, frac = v % per;
    if (frac < 0 || secs < 0) {
        fprintf(f, "%" PRId64, v);
        return;
    }
    fprintf(f, "\"%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    put_fraction(f, frac, unit_digits[unit]);
    fputc('"', f);
}

static void put_base64(FILE *f, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputc('"', f);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        fputc(tab[v >> 18], f);
        fputc(tab[(v >> 12) & 63], f);
        fputc(tab[(v >> 6) & 63], f);
        fputc(tab[v & 63], f);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        fprintf(f, "%c%c==", tab[v >> 18], tab[(v >> 12) & 63]);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        fprintf(f, "%c%c%c=", tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63]);
    }
    fputc('"', f);
}

static float half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else {
            e = 127 - 15 + 1;
            while (!(m & 1024)) {
                m <<= 1;
                e--;
            }
            bits = s | e << 23 | (m & 1023) << 13;
        }
    } else if (e == 31) bits = s | 0x7f800000u | m << 13;
    else bits = s | (e - 15 + 127) << 23 | m << 13;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* Writes slot i of a decoded column (known non-null) as JSON. */
static void put_value(FILE *f, const mr_pq_column_info *ci, const mr_pq_col *c, int64_t i)
{
    char buf[40];
    switch (ci->physical) {
    case MR_PQ_BOOLEAN: fputs(((const uint8_t *)c->values)[i] ? "true" : "false", f); return;
    case MR_PQ_INT32: {
        int32_t v = ((const int32_t *)c->values)[i];
        if (ci->logical == MR_PQ_L_DATE) put_date(f, v);
        else if (ci->logical == MR_PQ_L_TIME) put_time(f, v, ci->unit);
        else if (ci->logical == MR_PQ_L_INT && !ci->is_signed) {
            uint32_t u = (uint32_t)v;
            if (ci->bit_width == 8) u &= 0xff;
            if (ci->bit_width == 16) u &= 0xffff;
            fprintf(f, "%" PRIu32, u);
        } else fprintf(f, "%" PRId32, v);
        return;
    }
    case MR_PQ_INT96: {
        /* Raw: nanoseconds of the day and Julian day, full range. */
        const uint8_t *p = (const uint8_t *)c->values + (size_t)i * 12;
        int64_t nanos;
        uint32_t jd;
        memcpy(&nanos, p, 8);
        memcpy(&jd, p + 8, 4);
        int64_t days = (int64_t)jd - 2440588 + nanos / 86400000000000LL;
        nanos %= 86400000000000LL;
        if (nanos < 0) {
            nanos += 86400000000000LL;
            days--;
        }
        int64_t y;
        unsigned m, d;
        civil(days, &y, &m, &d);
        int64_t secs = nanos / 1000000000;
        fprintf(f, "\"%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
        put_fraction(f, nanos % 1000000000, 9);
        fputc('"', f);
        return;
    }
    case MR_PQ_INT64: {
        int64_t v = ((const int64_t *)c->values)[i];
        if (ci->logical == MR_PQ_L_TIMESTAMP) put_timestamp(f, v, ci->unit);
        else if (ci->logical == MR_PQ_L_TIME) put_time(f, v, ci->unit);
        else if (ci->logical == MR_PQ_L_DATE) put_date(f, v);
        else if (ci->logical == MR_PQ_L_INT && !ci->is_signed) fprintf(f, "%" PRIu64, (uint64_t)v);
        else fprintf(f, "%" PRId64, v);
        return;
    }
    case MR_PQ_FLOAT: fputs(mr_json_num_f32(buf, ((const float *)c->values)[i]), f); return;
    case MR_PQ_DOUBLE: fputs(mr_json_num(buf, ((const double *)c->values)[i]), f); return;
    case MR_PQ_BYTE_ARRAY: {
        const uint8_t *p = c->bytes + c->offsets[i];
        size_t n = (size_t)(c->offsets[i + 1] - c->offsets[i]);
        if (ci->logical == MR_PQ_L_STRING || ci->logical == MR_PQ_L_ENUM || ci->logical == MR_PQ_L_JSON)
            mr_json_str(f, (const char *)p, n);
        else put_base64(f, p, n);
        return;
    }
    case MR_PQ_FIXED_LEN_BYTE_ARRAY: {
        const uint8_t *p = (const uint8_t *)c->values + (size_t)i * (size_t)ci->type_length;
        if (ci->logical == MR_PQ_L_UUID && ci->type_length == 16) {
            fputc('"', f);
            for (int k = 0; k < 16; k++) fprintf(f, "%s%02x", k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "", p[k]);
            fputc('"', f);
        } else if (ci->logical == MR_PQ_L_FLOAT16 && ci->type_length == 2) {
            fputs(mr_json_num_f32(buf, half_to_float((uint16_t)(p[0] | p[1] << 8))), f);
        } else if (ci->logical == MR_PQ_L_STRING) {
            mr_json_str(f, (const char *)p, (size_t)ci->type_length);
        } else {
            put_base64(f, p, (size_t)ci->type_length);
        }
        return;
    }
    }
}

/* ---- options shared by the subcommands ---- */

typedef struct {
    int *cols;
    int n;
} selection;

static int select_columns(mr_pq_reader *r, const char *list, selection *sel)
{
    int nc = mr_pq_num_columns(r);
    sel->cols = mr_calloc((size_t)nc + 1, sizeof *sel->cols);
    sel->n = 0;
    if (!sel->cols) return MR_ENOMEM;
    if (!list || !*list) {
        for (int i = 0; i < nc; i++) sel->cols[sel->n++] = i;
        return 0;
    }
    char *copy = mr_strdup(list), *save = NULL;
    if (!copy) return MR_ENOMEM;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        /* A top-level name selects all its leaves; a dotted path one leaf. */
        int found = 0;
        for (int i = 0; i < nc; i++) {
            const mr_pq_column_info *ci = mr_pq_column(r, i);
            if (strcmp(ci->path, t) && strcmp(ci->name, t)) continue;
            int dup = 0;
            for (int k = 0; k < sel->n; k++) dup |= sel->cols[k] == i;
            if (!dup && sel->n < nc) sel->cols[sel->n++] = i;
            found = 1;
        }
        if (!found) {
            int rc = mr_err(MR_ENOTFOUND, "%s has no column '%s'", mr_pq_path(r), t);
            free(copy);
            return rc;
        }
    }
    free(copy);
    return 0;
}

/* ---- schema ---- */

static const char *physical_name(int t)
{
    static const char *const n[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t < 8 ? n[t] : "?";
}

static void logical_text(const mr_pq_column_info *ci, char *buf, size_t n)
{
    static const char *const units[] = {"MILLIS", "MICROS", "NANOS"};
    switch (ci->logical) {
    case MR_PQ_L_INT: snprintf(buf, n, "INT(%d, %s)", ci->bit_width, ci->is_signed ? "signed" : "unsigned"); break;
    case MR_PQ_L_STRING: snprintf(buf, n, "STRING"); break;
    case MR_PQ_L_ENUM: snprintf(buf, n, "ENUM"); break;
    case MR_PQ_L_JSON: snprintf(buf, n, "JSON"); break;
    case MR_PQ_L_BSON: snprintf(buf, n, "BSON"); break;
    case MR_PQ_L_UUID: snprintf(buf, n, "UUID"); break;
    case MR_PQ_L_DATE: snprintf(buf, n, "DATE"); break;
    case MR_PQ_L_TIME: snprintf(buf, n, "TIME(%s, utc=%d)", units[ci->unit], ci->utc); break;
    case MR_PQ_L_TIMESTAMP: snprintf(buf, n, "TIMESTAMP(%s, utc=%d)", units[ci->unit], ci->utc); break;
    case MR_PQ_L_DECIMAL: snprintf(buf, n, "DECIMAL(%d, %d)", ci->precision, ci->scale); break;
    case MR_PQ_L_FLOAT16: snprintf(buf, n, "FLOAT16"); break;
    default: buf[0] = 0;
    }
}

static int do_schema(mr_pq_reader *r)
{
    FILE *f = stdout;
    fprintf(f, "file: %s\nrows: %" PRId64 "\nrow groups: %d\n", mr_pq_path(r), mr_pq_num_rows(r), mr_pq_num_row_groups(r));
    if (mr_pq_created_by(r)) fprintf(f, "created by: %s\n", mr_pq_created_by(r));
    /* The tree, as the footer nests it (schema construction validated it). */
    fprintf(f, "schema:\n");
    static const char *const conv[] = {"UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE",
                                       "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
                                       "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32",
                                       "INT_64", "JSON", "BSON", "INTERVAL"};
    static const char *const lt[] = {"", "STRING", "MAP", "LIST", "ENUM", "DECIMAL", "DATE", "TIME", "TIMESTAMP",
                                     "", "INTEGER", "UNKNOWN", "JSON", "BSON", "UUID", "FLOAT16", "VARIANT",
                                     "GEOMETRY", "GEOGRAPHY"};
    static const char *const reps[] = {"required", "optional", "repeated"};
    int left[80], depth = 0;
    for (int i = 0; i < mr_pq_schema_size(r); i++) {
        const char *name;
        int nl, nc, rep, phys, cv, lg;
        mr_pq_schema_at(r, i, &name, &nl, &nc, &rep, &phys, &cv, &lg);
        while (depth > 0 && left[depth - 1] == 0) depth--;
        if (depth > 0) left[depth - 1]--;
        fprintf(f, "  %*s%s%s%s %.*s", 2 * depth, "", rep >= 0 && rep <= 2 ? reps[rep] : "", rep >= 0 && rep <= 2 ? " " : "",
                phys >= 0 ? physical_name(phys) : "group", nl, name);
        if (lg > 0 && lg < (int)(sizeof lt / sizeof *lt) && lt[lg][0]) fprintf(f, " (%s)", lt[lg]);
        else if (cv >= 0 && cv < (int)(sizeof conv / sizeof *conv)) fprintf(f, " (%s)", conv[cv]);
        fputc('\n', f);
        if (nc > 0 && depth < 80) left[depth++] = nc;
    }
    fprintf(f, "columns:\n");
    int nrg = mr_pq_num_row_groups(r);
    for (int i = 0; i < mr_pq_num_columns(r); i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, i);
        char lt[64], cb[16], eb[24];
        logical_text(ci, lt, sizeof lt);
        fprintf(f, "  %s: %s%s%s%s", ci->path, physical_name(ci->physical), lt[0] ? " " : "", lt,
                ci->nullable ? " optional" : " required");
        if (ci->physical == MR_PQ_FIXED_LEN_BYTE_ARRAY) fprintf(f, " length=%d", ci->type_length);
        if (ci->list_depth == 1) fprintf(f, " LIST%s", ci->elem_nullable ? " (nullable elements)" : "");
        if (ci->list_depth > 1) fprintf(f, " LIST nested %d deep", ci->list_depth);
        fprintf(f, " def=%d rep=%d", ci->max_def, ci->max_rep);
        /* Codecs and encodings over all row groups. */
        uint32_t codecs = 0, encs = 0;
        int64_t comp = 0, uncomp = 0;
        for (int g = 0; g < nrg; g++) {
            int codec;
            uint32_t e;
            int64_t c, u;
            if (mr_pq_chunk_info(r, g, i, &codec, &e, &c, &u) == 0) {
                if (codec >= 0 && codec < 32) codecs |= 1u << codec;
                encs |= e;
                comp += c;
                uncomp += u;
            }
        }
        fprintf(f, " codec=");
        for (int k = 0, first = 1; k < 32; k++)
            if (codecs >> k & 1) fprintf(f, "%s%s", first ? "" : ",", mr_pq_codec_name(k, cb)), first = 0;
        fprintf(f, " encodings=");
        for (int k = 0, first = 1; k < 32; k++)
            if (encs >> k & 1) fprintf(f, "%s%s", first ? "" : ",", mr_pq_encoding_name(k, eb)), first = 0;
        fprintf(f, " bytes=%" PRId64 "/%" PRId64, comp, uncomp);
        if (ci->unsupported) fprintf(f, " [unsupported: %s]", ci->unsupported);
        fputc('\n', f);
    }
    int nkv = mr_pq_num_kv(r);
    if (nkv) fprintf(f, "key-value metadata:\n");
    for (int i = 0; i < nkv; i++) {
        const char *k, *v;
        mr_pq_kv_at(r, i, &k, &v);
        size_t vl = strlen(v);
        fprintf(f, "  %s: %.*s%s\n", k, vl > 200 ? 200 : (int)vl, v, vl > 200 ? " ..." : "");
    }
    return 0;
}

/* ---- cat / head ---- */

typedef struct {
    FILE *f;
    const mr_pq_column_info *ci;
    const mr_pq_col *c;
    int need_comma[MR_PQ_MAX_LIST_DEPTH + 1];
    int depth;
} json_asm;

static void ja_sep(json_asm *j)
{
    if (j->depth > 0) {
        if (j->need_comma[j->depth]) fputc(',', j->f);
        j->need_comma[j->depth] = 1;
    }
}
static void ja_begin(void *ctx)
{
    json_asm *j = ctx;
    ja_sep(j);
    fputc('[', j->f);
    if (j->depth < MR_PQ_MAX_LIST_DEPTH) j->depth++;
    j->need_comma[j->depth] = 0;
}
static void ja_end(void *ctx)
{
    json_asm *j = ctx;
    fputc(']', j->f);
    if (j->depth > 0) j->depth--;
}
static void ja_null(void *ctx)
{
    json_asm *j = ctx;
    ja_sep(j);
    fputs("null", j->f);
}
static void ja_value(void *ctx, int64_t slot)
{
    json_asm *j = ctx;
    ja_sep(j);
    put_value(j->f, j->ci, j->c, slot);
}

static int cat_rows(mr_pq_reader *r, const selection *sel, int64_t limit)
{
    FILE *f = stdout;
    int64_t printed = 0;
    int nrg = mr_pq_num_row_groups(r), rc = 0;
    for (int i = 0; i < sel->n; i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, sel->cols[i]);
        if (ci->unsupported)
            return mr_err(MR_EUNSUPPORTED, "%s: unsupported: column '%s' is %s", mr_pq_path(r), ci->path, ci->unsupported);
    }
    mr_pq_col *cols = mr_calloc((size_t)sel->n + 1, sizeof *cols);
    mr_pq_cursor *cur = mr_calloc((size_t)sel->n + 1, sizeof *cur);
    if (!cols || !cur) {
        free(cols);
        free(cur);
        return MR_ENOMEM;
    }
    /* Quoted keys, once. */
    static const mr_pq_assembler cb = {ja_begin, ja_end, ja_null, ja_value};
    for (int g = 0; g < nrg && !rc && (limit < 0 || printed < limit); g++) {
        int64_t rows = mr_pq_row_group_rows(r, g);
        int failed = 0;
        char msg[1024] = "";
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < sel->n; i++) {
            int e = mr_pq_read(r, g, sel->cols[i], &cols[i]);
            if (e) {
#pragma omp critical(cat_err)
                if (!failed) {
                    failed = e;
                    snprintf(msg, sizeof msg, "%s", mr_errmsg());
                }
            }
        }
        if (failed) {
            for (int i = 0; i < sel->n; i++) mr_pq_col_free(&cols[i]);
            mr_err_set_msg(msg);
            rc = failed;
            break;
        }
        memset(cur, 0, (size_t)sel->n * sizeof *cur);
        for (int64_t row = 0; row < rows && (limit < 0 || printed < limit) && !rc; row++, printed++) {
            fputc('{', f);
            for (int i = 0; i < sel->n && !rc; i++) {
                const mr_pq_column_info *ci = mr_pq_column(r, sel->cols[i]);
                const mr_pq_col *c = &cols[i];
                if (i) fputc(',', f);
                mr_json_str(f, ci->name, strlen(ci->name));
                fputc(':', f);
                if (ci->list_depth == 0) {
                    if (c->valid && !c->valid[row]) fputs("null", f);
                    else put_value(f, ci, c, row);
                } else if (ci->list_depth == 1) {
                    if (c->list_valid && !c->list_valid[row]) {
                        fputs("null", f);
                        continue;
                    }
                    fputc('[', f);
                    for (int64_t s = c->list_offsets[row]; s < c->list_offsets[row + 1]; s++) {
                        if (s > c->list_offsets[row]) fputc(',', f);
                        if (c->valid && !c->valid[s]) fputs("null", f);
                        else put_value(f, ci, c, s);
                    }
                    fputc(']', f);
                } else {
                    json_asm j = {.f = f, .ci = ci, .c = c};
                    rc = mr_pq_assemble_row(ci, c, &cur[i], &cb, &j);
                    if (rc) mr_err_wrap(rc, "%s: ", mr_pq_path(r));
                }
            }
            fputs("}\n", f);
        }
        for (int i = 0; i < sel->n; i++) mr_pq_col_free(&cols[i]);
    }
    free(cols);
    free(cur);
    if (fflush(f) != 0 && !rc) rc = mr_err(MR_EIO, "cannot write to standard output");
    return rc;
}

/* ---- scan ---- */

typedef struct {
    void *arr;        /* whole column, for flat fixed-width columns */
    size_t width;
    int64_t nulls, values, bytes;
    double fsum;
    uint64_t isum;    /* wrapping sum of integers, or FNV-1a over strings */
    int64_t imax;
    int is_float;
} scan_col;

/* The check sums of the flat integer columns without nulls, cloned for
 * AVX2 (the build targets generic x86-64, which has no 64-bit vector
 * compare): in `scan` they are as much work as decoding the values. */
__attribute__((target_clones("avx2", "default"))) static void sum_max_i32(const int32_t *restrict v, int64_t n,
                                                                          uint64_t *sum, int32_t *mx)
{
    uint64_t s = 0;
    int32_t m = INT32_MIN;
#pragma omp simd reduction(+ : s) reduction(max : m)
    for (int64_t i = 0; i < n; i++) {
        s += (uint64_t)(int64_t)v[i];
        m = v[i] > m ? v[i] : m;
    }
    *sum = s;
    *mx = m;
}

__attribute__((target_clones("avx2", "default"))) static void sum_max_i64(const int64_t *restrict v, int64_t n,
                                                                          uint64_t *sum, int64_t *mx)
{
    uint64_t s = 0;
    int64_t m = INT64_MIN;
#pragma omp simd reduction(+ : s) reduction(max : m)
    for (int64_t i = 0; i < n; i++) {
        s += (uint64_t)v[i];
        m = v[i] > m ? v[i] : m;
    }
    *sum = s;
    *mx = m;
}

static void scan_accumulate(const mr_pq_column_info *ci, const mr_pq_col *c, scan_col *s)
{
    int64_t n = c->n_slots, nulls = 0;
    /* memchr first: most columns have no nulls, and it is a vector scan. */
    if (c->valid && memchr(c->valid, 0, (size_t)n)) {
        for (int64_t i = 0; i < n; i++) nulls += !c->valid[i];
        s->nulls += nulls;
    }
    if (ci->list_depth > 0) s->values += c->list_offsets ? c->list_offsets[c->n_rows] : c->n_slots;
    else s->values += n;
    switch (ci->physical) {
    case MR_PQ_BOOLEAN:
    case MR_PQ_INT32:
    case MR_PQ_INT64:
    case MR_PQ_INT96: {
        /* Null slots hold 0: harmless in the sum, skipped for the max. */
        uint64_t sum = 0;
        int64_t mx = INT64_MIN;
        const uint8_t *valid = nulls ? c->valid : NULL;
        if (ci->physical == MR_PQ_INT32) {
            const int32_t *v = c->values;
            int32_t m32 = INT32_MIN;
            if (valid) {
                for (int64_t i = 0; i < n; i++) {
                    sum += (uint64_t)(int64_t)v[i];
                    if (valid[i] && v[i] > m32) m32 = v[i];
                }
                if (nulls < n) mx = m32;
            } else {
                sum_max_i32(v, n, &sum, &m32);
                if (n) mx = m32;
            }
        } else if (ci->physical == MR_PQ_BOOLEAN) {
            const uint8_t *v = c->values;
            for (int64_t i = 0; i < n; i++) sum += v[i];
            if (nulls < n) mx = sum > 0;
        } else {
            const int64_t *v = c->values;
            if (valid) {
                for (int64_t i = 0; i < n; i++) {
                    sum += (uint64_t)v[i];
                    if (valid[i] && v[i] > mx) mx = v[i];
                }
            } else {
                sum_max_i64(v, n, &sum, &mx);
            }
        }
        s->isum += sum;
        if (mx > s->imax) s->imax = mx;
        break;
    }
    case MR_PQ_FLOAT:
    case MR_PQ_DOUBLE: {
        double sum = 0;
        if (ci->physical == MR_PQ_FLOAT)
            for (int64_t i = 0; i < n; i++) sum += ((const float *)c->values)[i];
        else
            for (int64_t i = 0; i < n; i++) sum += ((const double *)c->values)[i];
        s->fsum += sum;
        s->is_float = 1;
        break;
    }
    default: {
        const uint8_t *p = ci->physical == MR_PQ_BYTE_ARRAY ? c->bytes : c->values;
        int64_t len = ci->physical == MR_PQ_BYTE_ARRAY ? c->offsets[n] : n * ci->type_length;
        uint64_t h = 1469598103934665603ull;
        for (int64_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
        s->isum += h;
        s->bytes += len;
    }
    }
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int do_scan(mr_pq_reader *r, const selection *sel, int stream)
{
    double t0 = mr_now(), c0 = cpu_now();
    int nrg = mr_pq_num_row_groups(r), nsel = sel->n;
    int64_t nrows = mr_pq_num_rows(r);
    scan_col *sc = mr_calloc((size_t)nsel + 1, sizeof *sc);
    int64_t *first = mr_calloc((size_t)nrg + 1, sizeof *first);
    if (!sc || !first) {
        free(sc);
        free(first);
        return MR_ENOMEM;
    }
    for (int g = 0; g < nrg; g++) first[g + 1] = first[g] + mr_pq_row_group_rows(r, g);
    int rc = 0;
    for (int i = 0; i < nsel && !rc; i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, sel->cols[i]);
        sc[i].imax = INT64_MIN;
        if (ci->unsupported)
            rc = mr_err(MR_EUNSUPPORTED, "%s: unsupported: column '%s' is %s", mr_pq_path(r), ci->path, ci->unsupported);
        else if (ci->list_depth == 0 && ci->physical != MR_PQ_BYTE_ARRAY) {
            /* The whole column as one array, as the pipeline holds it. */
            sc[i].width = ci->physical == MR_PQ_BOOLEAN ? 1
                          : ci->physical == MR_PQ_INT32 || ci->physical == MR_PQ_FLOAT ? 4
                          : ci->physical == MR_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)ci->type_length : 8;
            sc[i].arr = stream ? NULL : mr_malloc_huge((size_t)nrows * sc[i].width);
            if (!stream && !sc[i].arr) rc = mr_err(MR_ENOMEM, "out of memory for column '%s' (%" PRId64 " rows)", ci->path, nrows);
        }
    }
    int failed = 0;
    char msg[1024] = "";
    int ntask = nrg * nsel;
    /* --stream: one reused buffer per thread instead of whole-column arrays. */
    int nth = omp_get_max_threads();
    uint8_t **tbuf = mr_calloc((size_t)nth, sizeof *tbuf);
    size_t *tcap = mr_calloc((size_t)nth, sizeof *tcap);
    if (!tbuf || !tcap) rc = MR_ENOMEM;
    /* Row-group-major order so a thread's tasks are close in the file; the
     * reductions per column are done under a lock at the end of each task. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < (rc ? 0 : ntask); t++) {
        int g = t / nsel, i = t % nsel, stop;
#pragma omp atomic read
        stop = failed;
        if (stop) continue;
        const mr_pq_column_info *ci = mr_pq_column(r, sel->cols[i]);
        mr_pq_col c;
        int e;
        if (sc[i].width) {
            /* Straight into the whole-column array (or the thread's buffer),
             * then summed there. */
            memset(&c, 0, sizeof c);
            c.n_slots = c.n_rows = first[g + 1] - first[g];
            if (stream) {
                int th = omp_get_thread_num();
                size_t need = (size_t)c.n_slots * sc[i].width + 1;
                if (need > tcap[th]) {
                    free(tbuf[th]);
                    tbuf[th] = malloc(need);
                    tcap[th] = tbuf[th] ? need : 0;
                }
                c.values = tbuf[th];
            } else {
                c.values = (uint8_t *)sc[i].arr + (size_t)first[g] * sc[i].width;
            }
            /* Null flags of this row group only: nulls are counted, the
             * whole-column array holds 0 for them. */
            c.valid = ci->nullable ? malloc((size_t)c.n_slots + 1) : NULL;
            e = (ci->nullable && !c.valid) || !c.values ? mr_err(MR_ENOMEM, "out of memory")
                                         : mr_pq_read_into(r, g, sel->cols[i], c.values, c.valid);
        } else {
            e = mr_pq_read(r, g, sel->cols[i], &c);
        }
        if (e) {
            if (sc[i].width) free(c.valid);
#pragma omp critical(scan_err)
            if (!failed) {
                failed = e;
                snprintf(msg, sizeof msg, "%s", mr_errmsg());
            }
            continue;
        }
        scan_col part = {.width = sc[i].width, .imax = INT64_MIN};
        scan_accumulate(ci, &c, &part);
        if (!sc[i].width) mr_pq_col_free(&c);
        else free(c.valid);
#pragma omp critical(scan_sum)
        {
            sc[i].nulls += part.nulls;
            sc[i].values += part.values;
            sc[i].bytes += part.bytes;
            sc[i].fsum += part.fsum;
            sc[i].isum += part.isum;
            sc[i].is_float = part.is_float;
            if (part.imax > sc[i].imax) sc[i].imax = part.imax;
        }
    }
    if (failed) {
        mr_err_set_msg(msg);
        rc = failed;
    }
    double secs = mr_now() - t0;
    double cpu = cpu_now() - c0; /* all threads, without process start-up */
    /* The most one row group's selected chunks take, compressed plus
     * decompressed: the bound on a reader's working memory per thread. */
    int64_t rg_bytes = 0;
    for (int g = 0; g < nrg; g++) {
        int64_t b = 0;
        for (int i = 0; i < nsel; i++) {
            int codec;
            uint32_t enc;
            int64_t cz, uz;
            if (mr_pq_chunk_info(r, g, sel->cols[i], &codec, &enc, &cz, &uz) == 0) b += cz + uz;
        }
        if (b > rg_bytes) rg_bytes = b;
    }
    if (!rc) {
        printf("{\"file\":");
        mr_json_str(stdout, mr_pq_path(r), strlen(mr_pq_path(r)));
        printf(",\"mode\":\"%s\",\"rows\":%" PRId64 ",\"row_groups\":%d,\"threads\":%d,\"seconds\":%.6f,\"cpu_seconds\":%.6f,"
               "\"peak_rss_bytes\":%" PRId64 ",\"max_row_group_chunk_bytes\":%" PRId64 ",\"columns\":[",
               stream ? "stream" : "arrays", nrows, nrg, omp_get_max_threads(), secs, cpu, mr_peak_rss(), rg_bytes);
        for (int i = 0; i < nsel; i++) {
            const mr_pq_column_info *ci = mr_pq_column(r, sel->cols[i]);
            char buf[40];
            printf("%s{\"name\":", i ? "," : "");
            mr_json_str(stdout, ci->path, strlen(ci->path));
            printf(",\"values\":%" PRId64 ",\"nulls\":%" PRId64, sc[i].values, sc[i].nulls);
            if (sc[i].is_float) printf(",\"sum\":%s", mr_json_num(buf, sc[i].fsum));
            else if (ci->physical == MR_PQ_BYTE_ARRAY || ci->physical == MR_PQ_FIXED_LEN_BYTE_ARRAY)
                printf(",\"bytes\":%" PRId64 ",\"checksum\":%" PRIu64, sc[i].bytes, sc[i].isum);
            else {
                printf(",\"sum\":%" PRId64, (int64_t)sc[i].isum);
                if (sc[i].imax != INT64_MIN) printf(",\"max\":%" PRId64, sc[i].imax);
            }
            if (sc[i].arr) printf(",\"array_bytes\":%" PRId64, (int64_t)((size_t)nrows * sc[i].width));
            else if (sc[i].width) printf(",\"array_bytes\":0");
            printf("}");
        }
        printf("]}\n");
    }
    for (int i = 0; i < nsel; i++) free(sc[i].arr);
    for (int t = 0; tbuf && t < nth; t++) free(tbuf[t]);
    free(tbuf);
    free(tcap);
    free(sc);
    free(first);
    return rc;
}

/* ---- copy ---- */

/* The writer's field for a column we read, or an error naming what it
 * cannot write. Timestamps of any unit become TIMESTAMP(ns). */
static int copy_field(const mr_pq_reader *r, const mr_pq_column_info *ci, mr_pq_field *f)
{
    memset(f, 0, sizeof *f);
    f->name = ci->name;
    f->nullable = ci->nullable;
    f->is_list = ci->list_depth == 1;
    const char *why = NULL;
    if (ci->unsupported) why = ci->unsupported;
    else if (ci->list_depth > 1) why = "a list of lists";
    else if (ci->list_depth == 1 && ci->elem_nullable) why = "a LIST with nullable elements";
    else switch (ci->physical) {
        case MR_PQ_BOOLEAN: f->type = MR_PQ_W_BOOL; break;
        case MR_PQ_INT32:
            if (ci->logical == MR_PQ_L_DATE) f->type = MR_PQ_W_DATE;
            else if (ci->logical == MR_PQ_L_NONE || (ci->logical == MR_PQ_L_INT && ci->is_signed)) {
                f->type = MR_PQ_W_I32;
                f->bit_width = ci->logical == MR_PQ_L_INT ? ci->bit_width : 0;
            } else why = "an INT32 with an annotation the writer lacks";
            break;
        case MR_PQ_INT64:
            if (ci->logical == MR_PQ_L_TIMESTAMP) f->type = MR_PQ_W_TS_NS;
            else if (ci->logical == MR_PQ_L_NONE || (ci->logical == MR_PQ_L_INT && ci->is_signed)) f->type = MR_PQ_W_I64;
            else why = "an INT64 with an annotation the writer lacks";
            break;
        case MR_PQ_INT96: f->type = MR_PQ_W_TS_NS; break;
        case MR_PQ_FLOAT: f->type = MR_PQ_W_F32; break;
        case MR_PQ_DOUBLE: f->type = MR_PQ_W_F64; break;
        case MR_PQ_BYTE_ARRAY:
            if (ci->logical == MR_PQ_L_STRING || ci->logical == MR_PQ_L_ENUM || ci->logical == MR_PQ_L_JSON) f->type = MR_PQ_W_STRING;
            else why = "binary (the writer writes strings only)";
            break;
        default: why = "a FIXED_LEN_BYTE_ARRAY";
        }
    if (why) return mr_err(MR_EUNSUPPORTED, "%s: cannot copy column '%s': unsupported: it is %s", mr_pq_path(r), ci->path, why);
    return 0;
}

/* Brings a TIMESTAMP(ms/us) chunk to nanoseconds in place. */
static int to_nanos(const mr_pq_column_info *ci, mr_pq_col *c)
{
    if (ci->physical != MR_PQ_INT64 || ci->logical != MR_PQ_L_TIMESTAMP || ci->unit == MR_PQ_NANOS) return 0;
    int64_t mul = ci->unit == MR_PQ_MILLIS ? 1000000 : 1000, *v = c->values;
    for (int64_t i = 0; i < c->n_slots; i++)
        if (__builtin_mul_overflow(v[i], mul, &v[i]))
            return mr_err(MR_EUNSUPPORTED, "column '%s': timestamp %lld does not fit in int64 nanoseconds", ci->path, (long long)(v[i] / mul));
    return 0;
}

/* Appends chunk b to batch a (same column), growing a's arrays. */
typedef struct {
    mr_pq_col c;
    size_t cap_slots, cap_bytes, cap_rows;
    int width;
} batch_col;

static int grow_to(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap && *p) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < want) n += n / 2;
    void *q = realloc(*p, n * elem);
    if (!q) return mr_err(MR_ENOMEM, "out of memory copying a column (%zu values)", n);
    *p = q;
    *cap = n;
    return 0;
}

static int batch_append(batch_col *a, const mr_pq_col *b, int is_list)
{
    mr_pq_col *c = &a->c;
    size_t ns = (size_t)(c->n_slots + b->n_slots), nr = (size_t)(c->n_rows + b->n_rows);
    size_t cs = a->cap_slots, cr = a->cap_rows;
    int rc = 0;
    if (a->width) rc = grow_to(&c->values, &a->cap_slots, ns, (size_t)a->width);
    else {
        rc = grow_to((void **)&c->offsets, &a->cap_slots, ns + 1, sizeof(int64_t));
        if (!rc) {
            size_t nb = (size_t)(c->n_slots ? c->offsets[c->n_slots] : 0) + (size_t)b->offsets[b->n_slots];
            rc = grow_to((void **)&c->bytes, &a->cap_bytes, nb, 1);
        }
    }
    if (!rc && (c->valid || b->valid)) {
        size_t cap = cs;
        if (!c->valid) {
            cap = 0;
            rc = grow_to((void **)&c->valid, &cap, a->cap_slots, 1);
            if (!rc) memset(c->valid, 1, (size_t)c->n_slots);
        } else {
            cap = cs;
            rc = grow_to((void **)&c->valid, &cap, a->cap_slots, 1);
        }
    }
    if (!rc && is_list) {
        rc = grow_to((void **)&c->list_offsets, &a->cap_rows, nr + 1, sizeof(int64_t));
        if (!rc && (c->list_valid || b->list_valid)) {
            size_t cap = c->list_valid ? cr : 0;
            int fresh = !c->list_valid;
            rc = grow_to((void **)&c->list_valid, &cap, a->cap_rows, 1);
            if (!rc && fresh) memset(c->list_valid, 1, (size_t)c->n_rows);
        }
    }
    if (rc) return rc;
    if (a->width && b->n_slots) memcpy((uint8_t *)c->values + (size_t)c->n_slots * (size_t)a->width, b->values, (size_t)b->n_slots * (size_t)a->width);
    else {
        int64_t base = c->n_slots ? c->offsets[c->n_slots] : 0;
        if (!c->n_slots) c->offsets[0] = 0;
        if (b->offsets[b->n_slots]) memcpy(c->bytes + base, b->bytes, (size_t)b->offsets[b->n_slots]);
        for (int64_t i = 1; i <= b->n_slots; i++) c->offsets[c->n_slots + i] = base + b->offsets[i];
    }
    if (c->valid) {
        if (b->valid) memcpy(c->valid + c->n_slots, b->valid, (size_t)b->n_slots);
        else memset(c->valid + c->n_slots, 1, (size_t)b->n_slots);
    }
    if (is_list) {
        if (!c->n_rows) c->list_offsets[0] = 0;
        for (int64_t i = 1; i <= b->n_rows; i++) c->list_offsets[c->n_rows + i] = c->n_slots + b->list_offsets[i];
        if (c->list_valid) {
            if (b->list_valid) memcpy(c->list_valid + c->n_rows, b->list_valid, (size_t)b->n_rows);
            else memset(c->list_valid + c->n_rows, 1, (size_t)b->n_rows);
        }
    }
    c->n_slots += b->n_slots;
    c->n_rows += b->n_rows;
    return 0;
}

static int do_copy(mr_pq_reader *r, const char *out, const char *codec_name, int64_t rg_rows)
{
    mr_pq_write_opts o = mr_pq_write_opts_default();
    if (!codec_name || strcmp(codec_name, "snappy") == 0) o.codec = MR_PQ_SNAPPY;
    else if (strcmp(codec_name, "zstd") == 0) o.codec = MR_PQ_ZSTD;
    else if (strcmp(codec_name, "gzip") == 0) o.codec = MR_PQ_GZIP;
    else if (strcmp(codec_name, "none") == 0 || strcmp(codec_name, "uncompressed") == 0) o.codec = MR_PQ_UNCOMPRESSED;
    else return mr_err(MR_EUSAGE, "--codec must be snappy, zstd, gzip or none, not '%s'", codec_name);
    if (rg_rows > 0) o.row_group_rows = rg_rows;
    int nc = mr_pq_num_columns(r), nrg = mr_pq_num_row_groups(r), rc = 0;
    mr_pq_field *fields = mr_calloc((size_t)nc, sizeof *fields);
    batch_col *b = mr_calloc((size_t)nc, sizeof *b);
    mr_pq_col *chunk = mr_calloc((size_t)nc, sizeof *chunk);
    mr_pq_col *view = mr_calloc((size_t)nc, sizeof *view);
    if (!fields || !b || !chunk || !view) rc = MR_ENOMEM;
    for (int i = 0; i < nc && !rc; i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, i);
        rc = copy_field(r, ci, &fields[i]);
        b[i].width = ci->physical == MR_PQ_BYTE_ARRAY ? 0 : ci->physical == MR_PQ_BOOLEAN ? 1
                     : ci->physical == MR_PQ_INT32 || ci->physical == MR_PQ_FLOAT ? 4 : 8;
    }
    mr_pq_writer *w = NULL;
    if (!rc) rc = mr_pq_writer_open(&w, out, fields, nc, &o);
    for (int i = 0; i < mr_pq_num_kv(r) && !rc; i++) {
        const char *k, *v;
        mr_pq_kv_at(r, i, &k, &v);
        rc = mr_pq_writer_kv(w, k, v);
    }
    double t_read = 0, t_write = 0;
    int64_t batch_rows = 0;
    for (int g = 0; g <= nrg && !rc; g++) {
        if (g < nrg) {
            double t0 = mr_now();
            int failed = 0;
            char msg[1024] = "";
#pragma omp parallel for schedule(dynamic, 1)
            for (int i = 0; i < nc; i++) {
                int e = mr_pq_read(r, g, i, &chunk[i]);
                if (!e) e = to_nanos(mr_pq_column(r, i), &chunk[i]);
                if (e) {
#pragma omp critical(copy_err)
                    if (!failed) {
                        failed = e;
                        snprintf(msg, sizeof msg, "%s", mr_errmsg());
                    }
                }
            }
            if (failed) {
                mr_err_set_msg(msg);
                rc = failed;
            }
            /* Without a row-group size, input row groups are kept as they are. */
            for (int i = 0; i < nc && !rc; i++)
                if (rg_rows > 0) rc = batch_append(&b[i], &chunk[i], fields[i].is_list);
            if (!rc) batch_rows += mr_pq_row_group_rows(r, g);
            t_read += mr_now() - t0;
        }
        if (rc) {
            for (int i = 0; i < nc && g < nrg; i++) mr_pq_col_free(&chunk[i]);
            break;
        }
        int flush = rg_rows > 0 ? (g == nrg ? batch_rows > 0 : batch_rows >= rg_rows) : g < nrg;
        if (flush) {
            double t0 = mr_now();
            for (int i = 0; i < nc; i++) {
                view[i] = rg_rows > 0 ? b[i].c : chunk[i];
                view[i].owned = 0;
            }
            rc = mr_pq_writer_write(w, view);
            t_write += mr_now() - t0;
            for (int i = 0; i < nc; i++) {
                b[i].c.n_rows = b[i].c.n_slots = 0;
                if (b[i].c.valid) { free(b[i].c.valid); b[i].c.valid = NULL; }
                if (b[i].c.list_valid) { free(b[i].c.list_valid); b[i].c.list_valid = NULL; }
            }
            batch_rows = 0;
        }
        for (int i = 0; i < nc && g < nrg; i++) mr_pq_col_free(&chunk[i]);
    }
    if (w) {
        double t0 = mr_now();
        if (rc) mr_pq_writer_abort(w);
        else rc = mr_pq_writer_close(w);
        t_write += mr_now() - t0;
    }
    if (!rc)
        printf("{\"in\":\"%s\",\"out\":\"%s\",\"rows\":%" PRId64 ",\"read_seconds\":%.6f,\"write_seconds\":%.6f,\"peak_rss_bytes\":%" PRId64 "}\n",
               mr_pq_path(r), out, mr_pq_num_rows(r), t_read, t_write, mr_peak_rss());
    for (int i = 0; b && i < nc; i++) {
        b[i].c.owned = 1;
        mr_pq_col_free(&b[i].c);
    }
    free(fields);
    free(b);
    free(chunk);
    free(view);
    return rc;
}

/* ---- dispatch ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: musrec parquet <schema|head|cat|scan|copy> FILE [options]\n\n"
               "  schema FILE                     schema, rows, row groups, codecs, encodings\n"
               "  head FILE [-n N] [--columns a,b]  first N rows (default 10) as JSON lines\n"
               "  cat FILE [--columns a,b]        all rows as JSON lines\n"
               "  scan FILE [--columns a,b] [--stream] [--repeat N]  decode columns into arrays in\n"
               "                                  parallel; prints sums, seconds and peak RSS as JSON\n"
               "  copy IN OUT [--codec C] [--row-group-rows N]  read every chunk and write it\n"
               "                                  again with our writer; prints read and write seconds\n"
               "`musrec parquet <sub> --help` for a subcommand's options.\n");
}

int mr_cmd_parquet(mr_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    const char *columns = NULL, *codec = NULL;
    int stream = 0;
    int64_t n = 10, rg_rows = 0, repeat = 1;
    char cmdname[64];
    snprintf(cmdname, sizeof cmdname, "parquet %s", sub);
    static const mr_arg no_args[] = {{0}};
    mr_arg head_args[] = {
        {"columns", MR_ARG_STR, &columns, NULL, NULL, "comma-separated column names or dotted paths (default all)"},
        {"n", MR_ARG_INT, &n, NULL, "10", "rows to print"},
        {0}};
    mr_arg copy_args[] = {
        {"codec", MR_ARG_STR, &codec, NULL, "snappy", "snappy, zstd, gzip or none"},
        {"row-group-rows", MR_ARG_INT, &rg_rows, NULL, "0", "rows per row group (0: keep the input's row groups)"},
        {0}};
    const mr_arg *args;
    int want_pos = 1;
    if (strcmp(sub, "schema") == 0) args = no_args;
    else if (strcmp(sub, "head") == 0) args = head_args;
    else if (strcmp(sub, "cat") == 0) {
        head_args[1] = (mr_arg){0};
        args = head_args;
    } else if (strcmp(sub, "scan") == 0) {
        static mr_arg scan_args[4];
        scan_args[0] = head_args[0];
        scan_args[1] = (mr_arg){"stream", MR_ARG_FLAG, &stream, NULL, "0",
                                "decode each chunk into a reused per-thread buffer instead of whole-column arrays"};
        scan_args[2] = (mr_arg){"repeat", MR_ARG_INT, &repeat, NULL, "1",
                                "scan N times in this process, one JSON line each (fresh arrays every time), "
                                "as benchmarks time a warm process"};
        scan_args[3] = (mr_arg){0};
        args = scan_args;
    } else if (strcmp(sub, "copy") == 0) {
        args = copy_args;
        want_pos = 2;
    } else {
        fprintf(stderr, "musrec parquet: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return 2;
    }
    char **pos = NULL;
    int npos = 0;
    int prc = mr_args_parse(ctx, cmdname, want_pos == 2 ? "IN OUT [options]" : "FILE [options]", NULL, args, argc - 1, argv + 1, &pos, &npos);
    if (prc) return prc == MR_ARGS_HELP ? 0 : 2;
    if (npos != want_pos) {
        fprintf(stderr, "musrec %s: expected %s\n", cmdname, want_pos == 2 ? "IN and OUT" : "one FILE");
        free(pos);
        return 2;
    }
    if (n < 0 || rg_rows < 0 || repeat < 1) {
        if (n < 0) fprintf(stderr, "musrec %s: -n must be >= 0, got %lld\n", cmdname, (long long)n);
        else if (rg_rows < 0) fprintf(stderr, "musrec %s: --row-group-rows must be >= 0, got %lld\n", cmdname, (long long)rg_rows);
        else fprintf(stderr, "musrec %s: --repeat must be >= 1, got %lld\n", cmdname, (long long)repeat);
        free(pos);
        return 2;
    }
    const char *out_path = want_pos == 2 ? pos[1] : NULL;
    mr_pq_reader *r = NULL;
    int rc = mr_pq_open(&r, pos[0]);
    if (!rc && strcmp(sub, "scan") && strcmp(sub, "copy")) mr_pq_set_int96_raw(r, 1); /* print any date */
    if (!rc) {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        if (strcmp(sub, "schema") == 0) rc = do_schema(r);
        else if (strcmp(sub, "copy") == 0) rc = do_copy(r, out_path, codec, rg_rows);
        else {
            selection sel = {0};
            rc = select_columns(r, columns, &sel);
            if (!rc && strcmp(sub, "scan") == 0)
                for (int64_t k = 0; k < repeat && !rc; k++) rc = do_scan(r, &sel, stream);
            else if (!rc) rc = cat_rows(r, &sel, strcmp(sub, "head") == 0 ? n : -1);
            free(sel.cols);
        }
        fflush(stdout);
    }
    mr_pq_close(r);
    free(pos);
    if (rc) {
        fprintf(stderr, "musrec parquet %s: %s\n", sub, mr_errmsg());
        return 1;
    }
    (void)ctx;
    return 0;
}
