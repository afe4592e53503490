/* Footer, page headers and schema interpretation.
 *
 * The thrift structs are read field by field with their ids from
 * parquet.thrift; unknown fields are skipped so files from newer writers
 * still open. The schema is a flattened tree (each group says how many
 * children follow); mr_pq_schema_columns() rebuilds it and walks every root
 * field to its leaves, computing definition/repetition levels and
 * recognising lists in all three forms that LogicalTypes.md's backward
 * compatibility rules describe:
 *   3-level:  optional group a (LIST) { repeated group list { optional T element } }
 *   2-level:  optional group a (LIST) { repeated T element }
 *   bare:     repeated T a            (a required list of required T)
 * Maps, structs and decimals are recognised too, so that reading them fails
 * with their name rather than with a wrong value.
 */
#include "parquet/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "parquet/thrift_read.h"

/* ---- thrift structs ---- */

static char *dup_bytes(const uint8_t *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* TimeUnit union: the id of the member that is set. */
static int read_time_unit(mr_thrift *t)
{
    int16_t last, id;
    int ft, unit = 0;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        if (ft == MR_T_STRUCT && id >= 1 && id <= 3) unit = id;
        mr_thrift_skip(t, ft);
    }
    mr_thrift_struct_end(t);
    return unit;
}

static void read_logical(mr_thrift *t, mr_pq_selem *e)
{
    int16_t last, id;
    int ft;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        if (ft != MR_T_STRUCT) {
            mr_thrift_skip(t, ft);
            continue;
        }
        e->logical = id;
        int16_t l2, id2;
        int ft2;
        mr_thrift_struct_begin(t, &l2);
        while (mr_thrift_field(t, &l2, &id2, &ft2)) {
            if (id == 5 && id2 == 1) e->lt_scale = mr_thrift_i32(t, ft2);
            else if (id == 5 && id2 == 2) e->lt_precision = mr_thrift_i32(t, ft2);
            else if ((id == 7 || id == 8) && id2 == 1) e->lt_utc = mr_thrift_bool(t, ft2);
            else if ((id == 7 || id == 8) && id2 == 2 && ft2 == MR_T_STRUCT) e->lt_unit = read_time_unit(t);
            else if (id == 10 && id2 == 1) e->lt_bit_width = (int)mr_thrift_int(t, ft2);
            else if (id == 10 && id2 == 2) e->lt_signed = mr_thrift_bool(t, ft2);
            else mr_thrift_skip(t, ft2);
        }
        mr_thrift_struct_end(t);
    }
    mr_thrift_struct_end(t);
}

static void read_schema_element(mr_thrift *t, mr_pq_selem *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->repetition = -1;
    e->num_children = -1;
    e->converted = -1;
    int16_t last, id;
    int ft, has_name = 0;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        switch (id) {
        case 1: e->type = mr_thrift_i32(t, ft); break;
        case 2: e->type_length = mr_thrift_i32(t, ft); break;
        case 3: e->repetition = mr_thrift_i32(t, ft); break;
        case 4:
            e->name_len = mr_thrift_binary(t, ft, &e->name);
            has_name = 1;
            break;
        case 5: e->num_children = mr_thrift_i32(t, ft); break;
        case 6: e->converted = mr_thrift_i32(t, ft); break;
        case 7: e->scale = mr_thrift_i32(t, ft); break;
        case 8: e->precision = mr_thrift_i32(t, ft); break;
        case 10:
            if (ft == MR_T_STRUCT) read_logical(t, e);
            else mr_thrift_skip(t, ft);
            break;
        default: mr_thrift_skip(t, ft);
        }
    }
    mr_thrift_struct_end(t);
    if (!has_name && !t->err) {
        t->err = 1;
        t->why = "schema element without a name";
    }
}

static void read_column_meta(mr_thrift *t, mr_pq_chunk *c)
{
    int16_t last, id;
    int ft;
    c->has_meta = 1;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        switch (id) {
        case 1: c->type = mr_thrift_i32(t, ft); break;
        case 2: {
            int et;
            uint32_t n = mr_thrift_list(t, ft, &et);
            for (uint32_t i = 0; i < n && !t->err; i++) {
                int64_t e = mr_thrift_int(t, et);
                if (e >= 0 && e < 32) c->encodings |= 1u << e;
            }
            break;
        }
        case 4: c->codec = mr_thrift_i32(t, ft); break;
        case 5: c->num_values = mr_thrift_int(t, ft); break;
        case 6: c->total_uncompressed = mr_thrift_int(t, ft); break;
        case 7: c->total_compressed = mr_thrift_int(t, ft); break;
        case 9: c->data_page_offset = mr_thrift_int(t, ft); break;
        case 11: c->dictionary_page_offset = mr_thrift_int(t, ft); break;
        default: mr_thrift_skip(t, ft);
        }
    }
    mr_thrift_struct_end(t);
}

static void read_column_chunk(mr_thrift *t, mr_pq_chunk *c)
{
    memset(c, 0, sizeof *c);
    c->dictionary_page_offset = -1;
    int16_t last, id;
    int ft;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        if (id == 1 && ft == MR_T_BINARY) {
            const uint8_t *s;
            if (mr_thrift_binary(t, ft, &s) > 0) c->has_file_path = 1;
        } else if (id == 3 && ft == MR_T_STRUCT) {
            read_column_meta(t, c);
        } else {
            mr_thrift_skip(t, ft);
        }
    }
    mr_thrift_struct_end(t);
}

static int read_row_group(mr_thrift *t, mr_pq_rowgroup *rg)
{
    memset(rg, 0, sizeof *rg);
    int16_t last, id;
    int ft;
    mr_thrift_struct_begin(t, &last);
    while (mr_thrift_field(t, &last, &id, &ft)) {
        if (id == 1 && !rg->cols) {
            int et;
            uint32_t n = mr_thrift_list(t, ft, &et);
            if (t->err) break;
            if (et != MR_T_STRUCT && n) {
                t->err = 1;
                t->why = "row group columns are not structs";
                break;
            }
            rg->cols = calloc(n ? n : 1, sizeof *rg->cols);
            if (!rg->cols) return MR_ENOMEM;
            rg->n_cols = (int)n;
            for (uint32_t i = 0; i < n && !t->err; i++) read_column_chunk(t, &rg->cols[i]);
        } else if (id == 3) {
            rg->num_rows = mr_thrift_int(t, ft);
        } else {
            mr_thrift_skip(t, ft);
        }
    }
    mr_thrift_struct_end(t);
    return 0;
}

void mr_pq_meta_free(mr_pq_meta *m)
{
    if (!m) return;
    free(m->schema);
    for (int i = 0; i < m->n_rg; i++) free(m->rgs[i].cols);
    free(m->rgs);
    for (int i = 0; i < 2 * m->n_kv; i++) free(m->kv[i]);
    free(m->kv);
    free(m->created_by);
    memset(m, 0, sizeof *m);
}

static int read_kv(mr_thrift *t, int ft, mr_pq_meta *m)
{
    int et;
    uint32_t n = mr_thrift_list(t, ft, &et);
    if (t->err || n == 0) return 0;
    if (et != MR_T_STRUCT) {
        mr_thrift_skip(t, MR_T_STRUCT); /* make the error sticky */
        t->err = 1;
        t->why = "key-value metadata is not a list of structs";
        return 0;
    }
    m->kv = calloc(2 * (size_t)n, sizeof *m->kv);
    if (!m->kv) return MR_ENOMEM;
    for (uint32_t i = 0; i < n && !t->err; i++) {
        int16_t last, id;
        int f;
        const uint8_t *k = NULL, *v = NULL;
        size_t kn = 0, vn = 0;
        mr_thrift_struct_begin(t, &last);
        while (mr_thrift_field(t, &last, &id, &f)) {
            if (id == 1) kn = mr_thrift_binary(t, f, &k);
            else if (id == 2) vn = mr_thrift_binary(t, f, &v);
            else mr_thrift_skip(t, f);
        }
        mr_thrift_struct_end(t);
        if (t->err) break;
        char *ks = dup_bytes(k ? k : (const uint8_t *)"", kn), *vs = dup_bytes(v ? v : (const uint8_t *)"", vn);
        m->kv[2 * m->n_kv] = ks;
        m->kv[2 * m->n_kv + 1] = vs;
        m->n_kv++;
        if (!ks || !vs) return MR_ENOMEM;
    }
    return 0;
}

int mr_pq_meta_parse(const uint8_t *buf, size_t n, mr_pq_meta *m)
{
    memset(m, 0, sizeof *m);
    mr_thrift t;
    mr_thrift_init(&t, buf, n);
    int16_t last, id;
    int ft, rc = 0, have_schema = 0, have_rows = 0;
    mr_thrift_struct_begin(&t, &last);
    while (!rc && mr_thrift_field(&t, &last, &id, &ft)) {
        switch (id) {
        case 2: {
            int et;
            uint32_t ns = mr_thrift_list(&t, ft, &et);
            if (t.err || have_schema) break;
            if (et != MR_T_STRUCT && ns) {
                t.err = 1;
                t.why = "schema is not a list of structs";
                break;
            }
            m->schema = calloc(ns ? ns : 1, sizeof *m->schema);
            if (!m->schema) {
                rc = MR_ENOMEM;
                break;
            }
            m->n_schema = (int)ns;
            for (uint32_t i = 0; i < ns && !t.err; i++) read_schema_element(&t, &m->schema[i]);
            have_schema = 1;
            break;
        }
        case 3:
            m->num_rows = mr_thrift_int(&t, ft);
            have_rows = 1;
            break;
        case 4: {
            int et;
            uint32_t nr = mr_thrift_list(&t, ft, &et);
            if (t.err || m->rgs) break;
            if (et != MR_T_STRUCT && nr) {
                t.err = 1;
                t.why = "row groups are not a list of structs";
                break;
            }
            m->rgs = calloc(nr ? nr : 1, sizeof *m->rgs);
            if (!m->rgs) {
                rc = MR_ENOMEM;
                break;
            }
            for (uint32_t i = 0; i < nr && !t.err && !rc; i++) {
                rc = read_row_group(&t, &m->rgs[i]);
                m->n_rg = (int)i + 1;
            }
            break;
        }
        case 5:
            if (m->kv) mr_thrift_skip(&t, ft);
            else rc = read_kv(&t, ft, m);
            break;
        case 6: {
            const uint8_t *s;
            size_t len = mr_thrift_binary(&t, ft, &s);
            if (!t.err && !m->created_by && !(m->created_by = dup_bytes(s, len))) rc = MR_ENOMEM;
            break;
        }
        default: mr_thrift_skip(&t, ft);
        }
    }
    mr_thrift_struct_end(&t);
    if (rc == MR_ENOMEM) {
        mr_pq_meta_free(m);
        return mr_err(MR_ENOMEM, "out of memory reading the footer");
    }
    if (t.err) {
        int r = mr_err(MR_EFORMAT, "corrupt footer: %s", t.why ? t.why : "bad thrift data");
        mr_pq_meta_free(m);
        return r;
    }
    if (!have_schema || m->n_schema < 1) {
        mr_pq_meta_free(m);
        return mr_err(MR_EFORMAT, "corrupt footer: no schema");
    }
    if (!have_rows || m->num_rows < 0) {
        mr_pq_meta_free(m);
        return mr_err(MR_EFORMAT, "corrupt footer: missing or negative row count");
    }
    return 0;
}

int mr_pq_page_header_parse(const uint8_t *buf, size_t n, mr_pq_page_header *h, size_t *hdr_len)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = 1;
    h->encoding = h->def_encoding = h->rep_encoding = -1;
    mr_thrift t;
    mr_thrift_init(&t, buf, n);
    int16_t last, id;
    int ft, have_unc = 0, have_comp = 0;
    mr_thrift_struct_begin(&t, &last);
    while (mr_thrift_field(&t, &last, &id, &ft)) {
        switch (id) {
        case 1: h->type = mr_thrift_i32(&t, ft); break;
        case 2:
            h->uncompressed_size = mr_thrift_i32(&t, ft);
            have_unc = 1;
            break;
        case 3:
            h->compressed_size = mr_thrift_i32(&t, ft);
            have_comp = 1;
            break;
        case 4:
            h->crc = (uint32_t)mr_thrift_i32(&t, ft);
            h->has_crc = 1;
            break;
        case 5:
        case 7:
        case 8: {
            if (ft != MR_T_STRUCT) {
                mr_thrift_skip(&t, ft);
                break;
            }
            int16_t l2, id2;
            int f2;
            if (id == 5) h->has_v1 = 1;
            if (id == 7) h->has_dict = 1;
            if (id == 8) h->has_v2 = 1;
            mr_thrift_struct_begin(&t, &l2);
            while (mr_thrift_field(&t, &l2, &id2, &f2)) {
                if (id2 == 1) h->num_values = mr_thrift_i32(&t, f2);
                else if (id == 5 && id2 == 2) h->encoding = mr_thrift_i32(&t, f2);
                else if (id == 5 && id2 == 3) h->def_encoding = mr_thrift_i32(&t, f2);
                else if (id == 5 && id2 == 4) h->rep_encoding = mr_thrift_i32(&t, f2);
                else if (id == 7 && id2 == 2) h->encoding = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 2) h->num_nulls = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 3) h->num_rows = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 4) h->encoding = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 5) h->def_len = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 6) h->rep_len = mr_thrift_i32(&t, f2);
                else if (id == 8 && id2 == 7) h->is_compressed = mr_thrift_bool(&t, f2);
                else mr_thrift_skip(&t, f2);
            }
            mr_thrift_struct_end(&t);
            break;
        }
        default: mr_thrift_skip(&t, ft);
        }
    }
    mr_thrift_struct_end(&t);
    if (t.err) return mr_err(MR_EFORMAT, "corrupt page header: %s", t.why ? t.why : "bad thrift data");
    if (!have_unc || !have_comp || h->type < 0)
        return mr_err(MR_EFORMAT, "corrupt page header: missing type or sizes");
    if (h->uncompressed_size < 0 || h->compressed_size < 0)
        return mr_err(MR_EFORMAT, "corrupt page header: negative page size");
    if (h->num_values < 0 || h->num_nulls < 0 || h->num_rows < 0 || h->def_len < 0 || h->rep_len < 0)
        return mr_err(MR_EFORMAT, "corrupt page header: negative count or length");
    *hdr_len = (size_t)(t.p - buf);
    return 0;
}

const char *mr_pq_encoding_name(int e, char buf[24])
{
    static const char *const names[] = {"PLAIN",
                                        "GROUP_VAR_INT",
                                        "PLAIN_DICTIONARY",
                                        "RLE",
                                        "BIT_PACKED",
                                        "DELTA_BINARY_PACKED",
                                        "DELTA_LENGTH_BYTE_ARRAY",
                                        "DELTA_BYTE_ARRAY",
                                        "RLE_DICTIONARY",
                                        "BYTE_STREAM_SPLIT"};
    if (e >= 0 && e < (int)(sizeof names / sizeof names[0])) return names[e];
    snprintf(buf, 24, "encoding %d", e);
    return buf;
}

/* ---- schema ---- */

/* Walk state for one path from a root field down to a leaf. */
typedef struct {
    int def, rep;
    int nlists;
    int list_def[MR_PQ_MAX_LIST_DEPTH], elem_def[MR_PQ_MAX_LIST_DEPTH];
    int top_optional;
    const char *unsupported;
    char path[1024];
    size_t path_len;
    int top;                 /* schema index of the root field */
} walk_state;

typedef struct {
    const mr_pq_meta *m;
    int *first_child;        /* per element: index of its first child */
    int *next_sibling;       /* per element: next sibling or -1 */
    mr_pq_column_info *cols;
    int n, cap;
    int err;
} schema_ctx;

static int is_list(const mr_pq_selem *e) { return e->converted == 3 || e->logical == 3; }
static int is_map(const mr_pq_selem *e) { return e->converted == 1 || e->converted == 2 || e->logical == 2; }

static int name_eq(const mr_pq_selem *e, const char *s)
{
    return e->name_len == strlen(s) && memcmp(e->name, s, e->name_len) == 0;
}

static void path_push(walk_state *w, const mr_pq_selem *e)
{
    size_t need = (w->path_len ? 1 : 0) + e->name_len;
    if (w->path_len + need + 1 > sizeof w->path) {
        if (!w->unsupported) w->unsupported = "a column path longer than 1023 bytes";
        return;
    }
    if (w->path_len) w->path[w->path_len++] = '.';
    memcpy(w->path + w->path_len, e->name, e->name_len);
    w->path_len += e->name_len;
    w->path[w->path_len] = 0;
}

static void set_logical(mr_pq_column_info *c, const mr_pq_selem *e)
{
    c->logical = MR_PQ_L_NONE;
    if (c->physical == MR_PQ_INT32 || c->physical == MR_PQ_INT64) {
        c->bit_width = c->physical == MR_PQ_INT32 ? 32 : 64;
        c->is_signed = 1;
    }
    if (e->logical) {
        switch (e->logical) {
        case 1: c->logical = MR_PQ_L_STRING; break;
        case 4: c->logical = MR_PQ_L_ENUM; break;
        case 5:
            c->logical = MR_PQ_L_DECIMAL;
            c->scale = e->lt_scale;
            c->precision = e->lt_precision;
            break;
        case 6: c->logical = MR_PQ_L_DATE; break;
        case 7:
        case 8:
            c->logical = e->logical == 7 ? MR_PQ_L_TIME : MR_PQ_L_TIMESTAMP;
            c->unit = e->lt_unit == 3 ? MR_PQ_NANOS : e->lt_unit == 2 ? MR_PQ_MICROS : MR_PQ_MILLIS;
            c->utc = e->lt_utc;
            break;
        case 10:
            c->logical = MR_PQ_L_INT;
            c->bit_width = e->lt_bit_width;
            c->is_signed = e->lt_signed;
            break;
        case 12: c->logical = MR_PQ_L_JSON; break;
        case 13: c->logical = MR_PQ_L_BSON; break;
        case 14: c->logical = MR_PQ_L_UUID; break;
        case 15: c->logical = MR_PQ_L_FLOAT16; break;
        default: break; /* UNKNOWN (always null) or newer types: raw values */
        }
        if (c->logical != MR_PQ_L_NONE) return;
    }
    switch (e->converted) {
    case 0: c->logical = MR_PQ_L_STRING; break;
    case 4: c->logical = MR_PQ_L_ENUM; break;
    case 5:
        c->logical = MR_PQ_L_DECIMAL;
        c->scale = e->scale;
        c->precision = e->precision;
        break;
    case 6: c->logical = MR_PQ_L_DATE; break;
    case 7:
    case 8:
        c->logical = MR_PQ_L_TIME;
        c->unit = e->converted == 7 ? MR_PQ_MILLIS : MR_PQ_MICROS;
        c->utc = 1;
        break;
    case 9:
    case 10:
        c->logical = MR_PQ_L_TIMESTAMP;
        c->unit = e->converted == 9 ? MR_PQ_MILLIS : MR_PQ_MICROS;
        c->utc = 1;
        break;
    case 11: case 12: case 13: case 14:
    case 15: case 16: case 17: case 18:
        c->logical = MR_PQ_L_INT;
        c->is_signed = e->converted >= 15;
        c->bit_width = 8 << ((e->converted - (c->is_signed ? 15 : 11)) & 3);
        break;
    case 19: c->logical = MR_PQ_L_JSON; break;
    case 20: c->logical = MR_PQ_L_BSON; break;
    default: break;
    }
}

static int add_leaf(schema_ctx *s, const walk_state *w, int idx)
{
    const mr_pq_selem *e = &s->m->schema[idx], *top = &s->m->schema[w->top];
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        mr_pq_column_info *p = realloc(s->cols, (size_t)cap * sizeof *p);
        if (!p) return MR_ENOMEM;
        s->cols = p;
        s->cap = cap;
    }
    mr_pq_column_info *c = &s->cols[s->n];
    memset(c, 0, sizeof *c);
    c->name = dup_bytes(top->name, top->name_len);
    c->path = dup_bytes((const uint8_t *)w->path, w->path_len);
    if (!c->name || !c->path) {
        free((char *)c->name);
        free((char *)c->path);
        return MR_ENOMEM;
    }
    s->n++;
    c->schema_index = idx;
    c->physical = (mr_pq_physical)e->type;
    c->type_length = e->type_length;
    c->max_def = w->def;
    c->max_rep = w->rep;
    c->nullable = w->top_optional;
    c->list_depth = w->nlists;
    memcpy(c->list_def, w->list_def, sizeof c->list_def);
    memcpy(c->elem_def, w->elem_def, sizeof c->elem_def);
    c->elem_nullable = w->nlists > 0 && w->def > w->elem_def[w->nlists - 1];
    c->unsupported = w->unsupported;
    set_logical(c, e);
    if (!c->unsupported) {
        if (e->type < 0 || e->type > MR_PQ_FIXED_LEN_BYTE_ARRAY) c->unsupported = "of an unknown physical type";
        else if (e->type == MR_PQ_FIXED_LEN_BYTE_ARRAY && (e->type_length <= 0 || e->type_length > (1 << 20)))
            c->unsupported = "a FIXED_LEN_BYTE_ARRAY without a valid length";
        else if (c->logical == MR_PQ_L_DECIMAL) c->unsupported = "a DECIMAL";
        else if (c->logical == MR_PQ_L_INT && c->bit_width != 8 && c->bit_width != 16 &&
                 c->bit_width != 32 && c->bit_width != 64)
            c->unsupported = "an INT of invalid width";
    }
    return 0;
}

static int walk(schema_ctx *s, int idx, walk_state w, int depth);
static int walk_list(schema_ctx *s, int idx, walk_state w, int depth);

static int walk_children(schema_ctx *s, int idx, walk_state w, int depth)
{
    for (int c = s->first_child[idx]; c >= 0; c = s->next_sibling[c]) {
        int rc = walk(s, c, w, depth + 1);
        if (rc) return rc;
    }
    return 0;
}

/* A LIST-annotated group whose one child is repeated; the group's own
 * levels are already in w. Finds the element by the backward-compatibility
 * rules and walks into it. */
static int walk_list(schema_ctx *s, int idx, walk_state w, int depth)
{
    const mr_pq_selem *e = &s->m->schema[idx];
    int c0 = s->first_child[idx];
    const mr_pq_selem *rep = &s->m->schema[c0];
    if (depth > 64) return mr_err(MR_EFORMAT, "corrupt footer: schema nested more than 64 levels");
    if (w.nlists >= MR_PQ_MAX_LIST_DEPTH) {
        if (!w.unsupported) w.unsupported = "a list nested too deeply";
    } else {
        int k = w.nlists++;
        w.list_def[k] = w.def;
        w.elem_def[k] = w.def + 1;
    }
    path_push(&w, rep);
    w.def += 1;
    w.rep += 1;
    if (rep->num_children <= 0 && rep->type >= 0) return add_leaf(s, &w, c0); /* 2-level */
    if (rep->num_children <= 0)
        return mr_err(MR_EFORMAT, "corrupt footer: group '%.*s' has no children", (int)rep->name_len, rep->name);
    /* The repeated group is the element itself when it has several fields
     * or carries the old 'array' / '<list>_tuple' names; else its one child
     * is (3-level). */
    char tuple[300];
    snprintf(tuple, sizeof tuple, "%.*s_tuple", (int)e->name_len, e->name);
    if (rep->num_children == 1 && !name_eq(rep, "array") && !name_eq(rep, tuple))
        return walk(s, s->first_child[c0], w, depth + 2);
    int g0 = s->first_child[c0];
    if (is_list(rep) && rep->num_children == 1 && s->m->schema[g0].repetition == 2)
        return walk_list(s, c0, w, depth + 1); /* a list of lists */
    if (!w.unsupported) w.unsupported = is_map(rep) ? "a MAP" : "a LIST of STRUCT";
    return walk_children(s, c0, w, depth + 1);
}

/* Enters node idx (adds its levels and name) and dispatches on its kind. */
static int walk(schema_ctx *s, int idx, walk_state w, int depth)
{
    const mr_pq_selem *e = &s->m->schema[idx];
    if (depth > 64) return mr_err(MR_EFORMAT, "corrupt footer: schema nested more than 64 levels");
    path_push(&w, e);
    int optional = e->repetition == 1, repeated = e->repetition == 2;
    if (e->repetition < -1 || e->repetition > 2) return mr_err(MR_EFORMAT, "corrupt footer: bad repetition type %d in the schema", e->repetition);
    w.def += optional || repeated;
    w.rep += repeated;
    if (depth == 0) w.top_optional = optional;
    int leaf = e->num_children <= 0 && e->type >= 0;

    if (leaf) {
        if (repeated) { /* bare repeated primitive, not consumed by a LIST */
            if (w.nlists >= MR_PQ_MAX_LIST_DEPTH) {
                if (!w.unsupported) w.unsupported = "a list nested too deeply";
            } else {
                w.list_def[w.nlists] = w.def - 1;
                w.elem_def[w.nlists] = w.def;
                w.nlists++;
            }
        }
        return add_leaf(s, &w, idx);
    }
    if (e->num_children <= 0) return mr_err(MR_EFORMAT, "corrupt footer: group '%.*s' has no children", (int)e->name_len, e->name);

    int c0 = s->first_child[idx];
    if (is_map(e)) {
        if (!w.unsupported) w.unsupported = "a MAP";
    } else if (is_list(e) && !repeated && e->num_children == 1 && s->m->schema[c0].repetition == 2) {
        return walk_list(s, idx, w, depth);
    } else if (is_list(e)) {
        if (!w.unsupported) w.unsupported = "a malformed LIST";
    } else if (repeated) {
        if (!w.unsupported) w.unsupported = "a repeated group (a list of STRUCT)";
    } else {
        if (!w.unsupported) w.unsupported = "a STRUCT";
    }
    /* Unsupported groups: still list their leaves, with levels, so that
     * `schema` shows them and reading names the reason. */
    return walk_children(s, idx, w, depth);
}

void mr_pq_columns_free(mr_pq_column_info *cols, int n)
{
    if (!cols) return;
    for (int i = 0; i < n; i++) {
        free((char *)cols[i].name);
        free((char *)cols[i].path);
    }
    free(cols);
}

/* Links the flattened tree: element i's children are the next num_children
 * subtrees. Iterative, so a hostile schema cannot exhaust the stack. */
static int link_tree(const mr_pq_meta *m, int *first_child, int *next_sibling)
{
    int n = m->n_schema;
    int *stack = malloc((size_t)n * sizeof *stack), *left = malloc((size_t)n * sizeof *left);
    int *prev = malloc((size_t)n * sizeof *prev);
    if (!stack || !left || !prev) {
        free(stack);
        free(left);
        free(prev);
        return mr_err(MR_ENOMEM, "out of memory reading the schema");
    }
    for (int i = 0; i < n; i++) first_child[i] = next_sibling[i] = -1;
    int sp = 0, rc = 0;
    if (m->schema[0].num_children < 0) {
        rc = mr_err(MR_EFORMAT, "corrupt footer: the schema root is not a group");
        goto out;
    }
    stack[sp] = 0;
    left[sp] = m->schema[0].num_children;
    prev[sp] = -1;
    sp = 1;
    for (int i = 1; i < n; i++) {
        while (sp > 0 && left[sp - 1] == 0) sp--;
        if (sp == 0) {
            rc = mr_err(MR_EFORMAT, "corrupt footer: schema has %d elements after the root's children", n - i);
            goto out;
        }
        int parent = stack[sp - 1];
        left[sp - 1]--;
        if (prev[sp - 1] < 0) first_child[parent] = i;
        else next_sibling[prev[sp - 1]] = i;
        prev[sp - 1] = i;
        int nc = m->schema[i].num_children;
        if (nc > 0) {
            if (nc > n) {
                rc = mr_err(MR_EFORMAT, "corrupt footer: schema element claims %d children", nc);
                goto out;
            }
            stack[sp] = i;
            left[sp] = nc;
            prev[sp] = -1;
            sp++;
        }
    }
    while (sp > 0 && left[sp - 1] == 0) sp--;
    if (sp > 0) rc = mr_err(MR_EFORMAT, "corrupt footer: schema ends before all its groups' children");
out:
    free(stack);
    free(left);
    free(prev);
    return rc;
}

int mr_pq_schema_columns(const mr_pq_meta *m, mr_pq_column_info **cols, int *n)
{
    *cols = NULL;
    *n = 0;
    schema_ctx s = {.m = m};
    s.first_child = malloc((size_t)m->n_schema * sizeof(int));
    s.next_sibling = malloc((size_t)m->n_schema * sizeof(int));
    if (!s.first_child || !s.next_sibling) {
        free(s.first_child);
        free(s.next_sibling);
        return mr_err(MR_ENOMEM, "out of memory reading the schema");
    }
    int rc = link_tree(m, s.first_child, s.next_sibling);
    for (int c = rc ? -1 : s.first_child[0]; c >= 0 && !rc; c = s.next_sibling[c]) {
        walk_state w;
        memset(&w, 0, sizeof w);
        w.top = c;
        rc = walk(&s, c, w, 0);
    }
    free(s.first_child);
    free(s.next_sibling);
    if (rc == MR_ENOMEM) mr_err(MR_ENOMEM, "out of memory reading the schema");
    if (rc) {
        mr_pq_columns_free(s.cols, s.n);
        return rc;
    }
    *cols = s.cols;
    *n = s.n;
    return 0;
}
