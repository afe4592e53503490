/* Writes parquet files with musrec's writer for the round-trip oracle test
 * (tests/e2e/parquet_roundtrip.sh): for every case NAME it writes
 * OUT/NAME.parquet and OUT/NAME.json, the values the file must read back as.
 *
 *   cc -std=gnu11 -fopenmp -Isrc tests/pqwrite_fixture.c build/libmusrec.a ... -o fixture
 *   ./fixture OUTDIR
 *
 * The JSON holds the fields and the values column by column: int64 and
 * timestamps as decimal strings (exact), DATE as days, floats as shortest
 * decimals ("%.9g"/"%.17g") or "NaN"/"Infinity"/"-Infinity", null as null,
 * lists as arrays. Data comes from a fixed-seed generator, so the files are
 * the same on every run.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "parquet/parquet.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static int64_t rnd_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* A column under construction. */
typedef struct {
    mr_pq_field f;
    mr_pq_col c;
    int64_t cap_bytes;
} tcol;

static const char *SAMPLES[] = {"",
                                "a",
                                "hello",
                                "Ёлка-палка",
                                "日本語テキスト",
                                "emoji 🎵🎶",
                                "quote \" and \\ backslash",
                                "tab\tnew\nline\r",
                                "ctl \x01\x1f end",
                                "Beyoncé",
                                "Мумий Тролль",
                                "a much longer string that "
                                "repeats itself a little to be longer than the others in the list"};
#define NSAMPLES (int)(sizeof SAMPLES / sizeof *SAMPLES)

/* Appends bytes to a string column's buffer. */
static void str_put(tcol *t, int64_t slot, const char *s, size_t len)
{
    int64_t at = t->c.offsets[slot];
    if (at + (int64_t)len > t->cap_bytes) {
        int64_t cap = (t->cap_bytes + (int64_t)len) * 2 + 64;
        t->c.bytes = realloc(t->c.bytes, (size_t)cap);
        if (!t->c.bytes) exit(1);
        t->cap_bytes = cap;
    }
    if (len) memcpy(t->c.bytes + at, s, len);
    t->c.offsets[slot + 1] = at + (int64_t)len;
}

static int width_of(mr_pq_wtype t)
{
    switch (t) {
    case MR_PQ_W_BOOL:
        return 1;
    case MR_PQ_W_I32:
    case MR_PQ_W_DATE:
    case MR_PQ_W_F32:
        return 4;
    case MR_PQ_W_STRING:
        return 0;
    default:
        return 8;
    }
}

/* One value for slot s; `edge` picks the extreme values in turn. */
static void gen_value(tcol *t, int64_t s, int card)
{
    mr_pq_col *c = &t->c;
    uint64_t r = rnd();
    int edge = (r % 16) == 0;
    int64_t pick = card ? (int64_t)(rnd() % (uint64_t)card) : -1;
    switch (t->f.type) {
    case MR_PQ_W_BOOL:
        ((uint8_t *)c->values)[s] = (uint8_t)(r >> 7 & 1);
        break;
    case MR_PQ_W_I32: {
        int32_t v;
        int bw = t->f.bit_width;
        int32_t lo = bw == 8 ? -128 : bw == 16 ? -32768 : INT32_MIN;
        int32_t hi = bw == 8 ? 127 : bw == 16 ? 32767 : INT32_MAX;
        if (pick >= 0)
            v = (int32_t)(pick * 2 - 50);
        else if (edge)
            v = (r >> 8 & 1) ? lo : hi;
        else
            v = (int32_t)rnd_range(lo, hi);
        ((int32_t *)c->values)[s] = v;
        break;
    }
    case MR_PQ_W_DATE:
        ((int32_t *)c->values)[s] = pick >= 0
                                        ? (int32_t)(18000 + pick)
                                        : (int32_t)rnd_range(-719162, 2932896); /* 0001..9999 */
        break;
    case MR_PQ_W_I64: {
        int64_t v;
        if (pick >= 0)
            v = pick * 1000003 - 7;
        else if (edge)
            v = (r >> 8 & 1) ? INT64_MIN : INT64_MAX;
        else
            v = (int64_t)rnd();
        ((int64_t *)c->values)[s] = v;
        break;
    }
    case MR_PQ_W_TS_NS: /* 1677..2262, the range of int64 nanoseconds */
        ((int64_t *)c->values)[s] =
            pick >= 0 ? 1600000000000000000LL + pick * 1000000007LL
                      : (int64_t)(rnd() >> 1) - (INT64_MAX / 2) + (int64_t)(rnd() % 1000);
        break;
    case MR_PQ_W_F32: {
        static const float sp[] = {0.0f, -0.0f,  INFINITY,      -INFINITY,
                                   NAN,  1e-45f, 3.4028235e38f, -1.5f};
        float v = pick >= 0 ? (float)pick * 0.25f
                  : edge    ? sp[r >> 8 & 7]
                            : (float)((double)(int64_t)rnd() / 1e15);
        ((float *)c->values)[s] = v;
        break;
    }
    case MR_PQ_W_F64: {
        static const double sp[] = {
            0.0, -0.0, INFINITY, -INFINITY, NAN, 5e-324, 1.7976931348623157e308, -2.5};
        double v = pick >= 0 ? (double)pick * 0.125
                   : edge    ? sp[r >> 8 & 7]
                             : (double)(int64_t)rnd() / 1e12;
        ((double *)c->values)[s] = v;
        break;
    }
    case MR_PQ_W_STRING: {
        char buf[64];
        if (pick >= 0) {
            int n = snprintf(buf, sizeof buf, "val-%" PRId64, pick);
            str_put(t, s, buf, (size_t)n);
        } else if (r % 3 == 0) {
            int n = snprintf(buf, sizeof buf, "s%016" PRIx64, rnd());
            str_put(t, s, buf, (size_t)n);
        } else {
            const char *x = SAMPLES[(r >> 8) % NSAMPLES];
            str_put(t, s, x, strlen(x));
        }
        break;
    }
    }
}

/* Fills a column with n rows. null_pct: percent null rows (nullable fields);
 * lists get 0..max_len elements, some empty; card > 0 draws values from a
 * small set (dictionary-friendly). */
static void gen_col(tcol *t, int64_t n, int null_pct, int max_len, int card)
{
    mr_pq_col *c = &t->c;
    memset(c, 0, sizeof *c);
    c->n_rows = n;
    int64_t slots = n;
    if (t->f.is_list) {
        c->list_offsets = xcalloc((size_t)n + 1, sizeof(int64_t));
        if (t->f.nullable) c->list_valid = xcalloc((size_t)n, 1);
        slots = 0;
        for (int64_t r = 0; r < n; r++) {
            int null = t->f.nullable && (int)(rnd() % 100) < null_pct;
            int64_t len = null ? 0 : (rnd() % 5 == 0) ? 0 : rnd_range(1, max_len);
            if (c->list_valid) c->list_valid[r] = !null;
            slots += len;
            c->list_offsets[r + 1] = slots;
        }
    } else if (t->f.nullable) {
        c->valid = xcalloc((size_t)n, 1);
        for (int64_t r = 0; r < n; r++) c->valid[r] = (int)(rnd() % 100) >= null_pct;
    }
    c->n_slots = slots;
    int w = width_of(t->f.type);
    if (w)
        c->values = xcalloc((size_t)slots, (size_t)w);
    else
        c->offsets = xcalloc((size_t)slots + 1, sizeof(int64_t));
    for (int64_t s = 0; s < slots; s++) {
        if (c->valid && !c->valid[s]) {
            if (!w) c->offsets[s + 1] = c->offsets[s]; /* a null slot holds nothing */
            continue;
        }
        gen_value(t, s, card);
    }
}

static void free_col(tcol *t)
{
    free(t->c.values);
    free(t->c.offsets);
    free(t->c.bytes);
    free(t->c.valid);
    free(t->c.list_offsets);
    free(t->c.list_valid);
    memset(&t->c, 0, sizeof t->c);
    t->cap_bytes = 0;
}

/* ---- JSON expectation ---- */

static void json_str(FILE *o, const uint8_t *p, size_t n)
{
    fputc('"', o);
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '"' || ch == '\\')
            fprintf(o, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(o, "\\u%04x", ch);
        else
            fputc(ch, o);
    }
    fputc('"', o);
}

static void json_float(FILE *o, double v, int is_f32)
{
    if (isnan(v))
        fputs("\"NaN\"", o);
    else if (isinf(v))
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", o);
    else if (v == 0 && signbit(v))
        fputs("-0.0", o);
    else
        fprintf(o, is_f32 ? "%.9g" : "%.17g", v);
}

static void json_slot(FILE *o, const tcol *t, int64_t s)
{
    const mr_pq_col *c = &t->c;
    if (c->valid && !c->valid[s]) {
        fputs("null", o);
        return;
    }
    switch (t->f.type) {
    case MR_PQ_W_BOOL:
        fputs(((uint8_t *)c->values)[s] ? "true" : "false", o);
        break;
    case MR_PQ_W_I32:
    case MR_PQ_W_DATE:
        fprintf(o, "%d", ((int32_t *)c->values)[s]);
        break;
    case MR_PQ_W_I64:
    case MR_PQ_W_TS_NS:
        fprintf(o, "\"%" PRId64 "\"", ((int64_t *)c->values)[s]);
        break;
    case MR_PQ_W_F32:
        json_float(o, ((float *)c->values)[s], 1);
        break;
    case MR_PQ_W_F64:
        json_float(o, ((double *)c->values)[s], 0);
        break;
    case MR_PQ_W_STRING:
        json_str(o, c->bytes + c->offsets[s], (size_t)(c->offsets[s + 1] - c->offsets[s]));
        break;
    }
}

static const char *TYPE_NAMES[] = {"BOOL", "I32", "I64", "F32", "F64", "STRING", "DATE", "TS_NS"};

/* Appends rows of the batch to the JSON column arrays (one file per column
 * chunk of text, joined at the end). */
typedef struct {
    FILE **colf; /* one temp stream per column */
    int64_t *count;
    int nf;
} expect;

static void expect_init(expect *e, int nf)
{
    e->nf = nf;
    e->colf = xcalloc((size_t)nf, sizeof *e->colf);
    e->count = xcalloc((size_t)nf, sizeof *e->count);
    for (int i = 0; i < nf; i++) e->colf[i] = tmpfile();
}

static void expect_add(expect *e, const tcol *cols)
{
    for (int i = 0; i < e->nf; i++) {
        const tcol *t = &cols[i];
        FILE *o = e->colf[i];
        for (int64_t r = 0; r < t->c.n_rows; r++) {
            if (e->count[i]++) fputc(',', o);
            if (!t->f.is_list) {
                json_slot(o, t, r);
                continue;
            }
            if (t->c.list_valid && !t->c.list_valid[r]) {
                fputs("null", o);
                continue;
            }
            fputc('[', o);
            for (int64_t s = t->c.list_offsets[r]; s < t->c.list_offsets[r + 1]; s++) {
                if (s > t->c.list_offsets[r]) fputc(',', o);
                json_slot(o, t, s);
            }
            fputc(']', o);
        }
    }
}

static void expect_write(expect *e, const char *path, const tcol *cols, const char *codec,
                         int64_t n_rows)
{
    FILE *o = fopen(path, "w");
    if (!o) exit(1);
    fprintf(o, "{\"codec\":\"%s\",\"n_rows\":%" PRId64 ",\"fields\":[", codec, n_rows);
    for (int i = 0; i < e->nf; i++)
        fprintf(
            o,
            "%s{\"name\":\"%s\",\"type\":\"%s\",\"bit_width\":%d,\"nullable\":%d,\"is_list\":%d}",
            i ? "," : "", cols[i].f.name, TYPE_NAMES[cols[i].f.type], cols[i].f.bit_width,
            cols[i].f.nullable, cols[i].f.is_list);
    fputs("],\"columns\":[", o);
    for (int i = 0; i < e->nf; i++) {
        fputs(i ? ",[" : "[", o);
        rewind(e->colf[i]);
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, e->colf[i])) > 0) fwrite(buf, 1, n, o);
        fclose(e->colf[i]);
        fputc(']', o);
    }
    fputs("]}\n", o);
    fclose(o);
    free(e->colf);
    free(e->count);
}

/* ---- cases ---- */

static const char *outdir;
static int failures;

static const char *codec_name(mr_pq_codec c)
{
    return c == MR_PQ_SNAPPY ? "SNAPPY"
           : c == MR_PQ_ZSTD ? "ZSTD"
           : c == MR_PQ_GZIP ? "GZIP"
                             : "UNCOMPRESSED";
}

/* Writes one case: `batches` batches of the given row counts, each freshly
 * generated with the given shape. */
static void write_case(const char *name, tcol *cols, int nf, const mr_pq_write_opts *o,
                       const int64_t *batch_rows, int n_batches, int null_pct, int max_len,
                       int card)
{
    char path[4096], jpath[4096];
    snprintf(path, sizeof path, "%s/%s.parquet", outdir, name);
    snprintf(jpath, sizeof jpath, "%s/%s.json", outdir, name);
    mr_pq_field *fields = xcalloc((size_t)nf, sizeof *fields);
    for (int i = 0; i < nf; i++) fields[i] = cols[i].f;
    mr_pq_writer *w;
    mr_pq_write_opts def = mr_pq_write_opts_default();
    if (!o) o = &def;
    if (mr_pq_writer_open(&w, path, fields, nf, o)) {
        fprintf(stderr, "%s: open: %s\n", name, mr_errmsg());
        failures++;
        free(fields);
        return;
    }
    expect e;
    expect_init(&e, nf);
    int64_t total = 0;
    mr_pq_col *batch = xcalloc((size_t)nf, sizeof *batch);
    for (int b = 0; b < n_batches; b++) {
        for (int i = 0; i < nf; i++) {
            gen_col(&cols[i], batch_rows[b], null_pct, max_len, card);
            batch[i] = cols[i].c;
        }
        if (mr_pq_writer_write(w, batch)) {
            fprintf(stderr, "%s: write: %s\n", name, mr_errmsg());
            failures++;
            mr_pq_writer_abort(w);
            return;
        }
        expect_add(&e, cols);
        total += batch_rows[b];
        for (int i = 0; i < nf; i++) free_col(&cols[i]);
    }
    if (mr_pq_writer_kv(w, "musrec.case", name) || mr_pq_writer_close(w)) {
        fprintf(stderr, "%s: close: %s\n", name, mr_errmsg());
        failures++;
    }
    expect_write(&e, jpath, cols, codec_name(o->codec), total);
    free(batch);
    free(fields);
}

#define F(n, t, bw, nl, li)                                                                        \
    {                                                                                              \
        .f = {.name = n, .type = t, .bit_width = bw, .nullable = nl, .is_list = li }               \
    }

static tcol *all_types(int nullable, int is_list, int *nf)
{
    static tcol cols[12];
    tcol c[] = {
        F("b", MR_PQ_W_BOOL, 0, nullable, is_list),
        F("i8", MR_PQ_W_I32, 8, nullable, is_list),
        F("i16", MR_PQ_W_I32, 16, nullable, is_list),
        F("i32", MR_PQ_W_I32, 32, nullable, is_list),
        F("i32plain", MR_PQ_W_I32, 0, nullable, is_list),
        F("i64", MR_PQ_W_I64, 0, nullable, is_list),
        F("i64ann", MR_PQ_W_I64, 64, nullable, is_list),
        F("f", MR_PQ_W_F32, 0, nullable, is_list),
        F("d", MR_PQ_W_F64, 0, nullable, is_list),
        F("s", MR_PQ_W_STRING, 0, nullable, is_list),
        F("dt", MR_PQ_W_DATE, 0, nullable, is_list),
        F("ts", MR_PQ_W_TS_NS, 0, nullable, is_list),
    };
    memcpy(cols, c, sizeof c);
    *nf = 12;
    return cols;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    int nf;
    tcol *cols;
    mr_pq_write_opts o = mr_pq_write_opts_default();
    int64_t rows1000[] = {1000}, rows0[] = {0}, rows1[] = {1};

    mr_pq_codec codecs[] = {MR_PQ_UNCOMPRESSED, MR_PQ_SNAPPY, MR_PQ_ZSTD, MR_PQ_GZIP};
    for (int k = 0; k < 4; k++) {
        char name[64];
        o = mr_pq_write_opts_default();
        o.codec = codecs[k];
        const char *cn = codec_name(codecs[k]);
        snprintf(name, sizeof name, "flat_required_%s", cn);
        cols = all_types(0, 0, &nf);
        write_case(name, cols, nf, &o, rows1000, 1, 0, 0, 0);
        snprintf(name, sizeof name, "flat_nullable_%s", cn);
        cols = all_types(1, 0, &nf);
        write_case(name, cols, nf, &o, rows1000, 1, 30, 0, 0);
        snprintf(name, sizeof name, "list_required_%s", cn);
        cols = all_types(0, 1, &nf);
        write_case(name, cols, nf, &o, rows1000, 1, 0, 6, 0);
        snprintf(name, sizeof name, "list_nullable_%s", cn);
        cols = all_types(1, 1, &nf);
        write_case(name, cols, nf, &o, rows1000, 1, 25, 6, 0);
        snprintf(name, sizeof name, "lowcard_%s", cn); /* dictionary-encoded */
        cols = all_types(1, 0, &nf);
        write_case(name, cols, nf, &o, rows1000, 1, 10, 0, 20);
    }

    /* no dictionary, page CRCs */
    o = mr_pq_write_opts_default();
    o.dictionary = 0;
    o.page_crc = 1;
    cols = all_types(1, 0, &nf);
    write_case("plain_crc", cols, nf, &o, rows1000, 1, 20, 0, 20);
    cols = all_types(1, 1, &nf);
    write_case("plain_crc_lists", cols, nf, &o, rows1000, 1, 20, 5, 0);

    /* 0 rows (no batch, and an empty batch), 1 row */
    o = mr_pq_write_opts_default();
    cols = all_types(1, 0, &nf);
    write_case("zero_rows", cols, nf, &o, rows0, 0, 0, 0, 0);
    cols = all_types(0, 1, &nf);
    write_case("zero_rows_batch", cols, nf, &o, rows0, 1, 0, 0, 0);
    cols = all_types(0, 0, &nf);
    write_case("one_row", cols, nf, &o, rows1, 1, 0, 0, 0);
    cols = all_types(1, 1, &nf);
    write_case("one_row_list", cols, nf, &o, rows1, 1, 0, 3, 0);

    /* all null */
    cols = all_types(1, 0, &nf);
    write_case("all_null", cols, nf, &o, rows1000, 1, 100, 0, 0);
    cols = all_types(1, 1, &nf);
    write_case("all_null_lists", cols, nf, &o, rows1000, 1, 100, 3, 0);

    /* several row groups and pages: 3 batches, row groups of 700 rows, 2 KiB pages */
    o = mr_pq_write_opts_default();
    o.row_group_rows = 700;
    o.page_bytes = 2048;
    int64_t batches[] = {2500, 1, 1400};
    cols = all_types(1, 0, &nf);
    write_case("row_groups_flat", cols, nf, &o, batches, 3, 15, 0, 0);
    cols = all_types(1, 1, &nf);
    write_case("row_groups_lists", cols, nf, &o, batches, 3, 15, 8, 0);
    o.codec = MR_PQ_ZSTD;
    cols = all_types(1, 0, &nf);
    write_case("row_groups_lowcard_zstd", cols, nf, &o, batches, 3, 15, 0, 50);

    /* long strings: over 64 KiB, one over the 1 MiB page size, and more
     * distinct bytes than the 1 MiB dictionary limit (PLAIN fallback) */
    {
        o = mr_pq_write_opts_default();
        tcol ls[2] = {F("long", MR_PQ_W_STRING, 0, 1, 0), F("longlist", MR_PQ_W_STRING, 0, 0, 1)};
        char path[4096], jpath[4096];
        snprintf(path, sizeof path, "%s/long_strings.parquet", outdir);
        snprintf(jpath, sizeof jpath, "%s/long_strings.json", outdir);
        int64_t n = 40;
        for (int i = 0; i < 2; i++) {
            memset(&ls[i].c, 0, sizeof ls[i].c);
            ls[i].c.n_rows = n;
        }
        ls[0].c.n_slots = n;
        ls[0].c.valid = xcalloc((size_t)n, 1);
        ls[0].c.offsets = xcalloc((size_t)n + 1, sizeof(int64_t));
        ls[1].c.list_offsets = xcalloc((size_t)n + 1, sizeof(int64_t));
        for (int64_t r = 0; r < n; r++)
            ls[1].c.list_offsets[r + 1] = ls[1].c.list_offsets[r] + r % 3;
        int64_t ns = ls[1].c.list_offsets[n];
        ls[1].c.n_slots = ns;
        ls[1].c.offsets = xcalloc((size_t)ns + 1, sizeof(int64_t));
        size_t big = 1600000;
        char *buf = malloc(big);
        for (size_t i = 0; i < big; i++) buf[i] = (char)('a' + rnd() % 26);
        for (int64_t r = 0; r < n; r++) {
            ls[0].c.valid[r] = r % 7 != 3;
            size_t len = r == 5 ? big : r % 4 == 0 ? 70000 + (size_t)r : (size_t)(r * 3);
            if (ls[0].c.valid[r])
                str_put(&ls[0], r, buf + (size_t)r * 7 % 1000, len < big - 1000 ? len : big - 1000);
            else
                ls[0].c.offsets[r + 1] = ls[0].c.offsets[r];
        }
        for (int64_t s = 0; s < ns; s++) {
            size_t len = s % 2 ? 66000 + (size_t)s * 11 : (size_t)s;
            str_put(&ls[1], s, buf + (size_t)s * 13, len);
        }
        mr_pq_field fl[2] = {ls[0].f, ls[1].f};
        mr_pq_col cl[2] = {ls[0].c, ls[1].c};
        mr_pq_writer *w;
        if (mr_pq_writer_open(&w, path, fl, 2, &o) || mr_pq_writer_write(w, cl) ||
            mr_pq_writer_kv(w, "musrec.case", "long_strings") || mr_pq_writer_close(w)) {
            fprintf(stderr, "long_strings: %s\n", mr_errmsg());
            failures++;
        }
        expect e;
        expect_init(&e, 2);
        expect_add(&e, ls);
        expect_write(&e, jpath, ls, "SNAPPY", n);
        free(buf);
        free_col(&ls[0]);
        free_col(&ls[1]);
    }

    /* an int column whose dictionary outgrows 1 MiB (PLAIN fallback) beside one that does not */
    {
        o = mr_pq_write_opts_default();
        tcol dc[2] = {F("distinct", MR_PQ_W_I32, 0, 0, 0), F("few", MR_PQ_W_I64, 0, 0, 0)};
        int64_t n = 300000;
        for (int i = 0; i < 2; i++) {
            memset(&dc[i].c, 0, sizeof dc[i].c);
            dc[i].c.n_rows = dc[i].c.n_slots = n;
            dc[i].c.values = xcalloc((size_t)n, 8);
        }
        for (int64_t r = 0; r < n; r++) {
            ((int32_t *)dc[0].c.values)[r] = (int32_t)(r * 2654435761u);
            ((int64_t *)dc[1].c.values)[r] = (int64_t)(r / 1000) * -1000000007LL;
        }
        char path[4096], jpath[4096];
        snprintf(path, sizeof path, "%s/dict_fallback.parquet", outdir);
        snprintf(jpath, sizeof jpath, "%s/dict_fallback.json", outdir);
        mr_pq_field fl[2] = {dc[0].f, dc[1].f};
        mr_pq_col cl[2] = {dc[0].c, dc[1].c};
        mr_pq_writer *w;
        if (mr_pq_writer_open(&w, path, fl, 2, &o) || mr_pq_writer_write(w, cl) ||
            mr_pq_writer_kv(w, "musrec.case", "dict_fallback") || mr_pq_writer_close(w)) {
            fprintf(stderr, "dict_fallback: %s\n", mr_errmsg());
            failures++;
        }
        expect e;
        expect_init(&e, 2);
        expect_add(&e, dc);
        expect_write(&e, jpath, dc, "SNAPPY", n);
        free_col(&dc[0]);
        free_col(&dc[1]);
    }
    if (failures) fprintf(stderr, "%d cases failed\n", failures);
    return failures ? 1 : 0;
}
