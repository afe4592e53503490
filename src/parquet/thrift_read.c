/* Thrift compact protocol, read side (see thrift_read.h for the design).
 * Wire format: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md */
#include "parquet/thrift_read.h"

#include <string.h>

static void fail(mr_thrift *t, const char *why)
{
    if (!t->err) {
        t->err = 1;
        t->why = why;
    }
    t->p = t->end; /* every later read fails fast */
}

void mr_thrift_init(mr_thrift *t, const uint8_t *p, size_t n)
{
    t->p = p;
    t->end = p + n;
    t->depth = 0;
    t->err = 0;
    t->why = NULL;
}

uint64_t mr_thrift_varint(mr_thrift *t)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (t->p >= t->end) {
            fail(t, "truncated varint");
            return 0;
        }
        uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail(t, "varint longer than 10 bytes");
    return 0;
}

static int64_t zigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

void mr_thrift_struct_begin(mr_thrift *t, int16_t *last)
{
    *last = 0;
    if (++t->depth > MR_THRIFT_MAX_DEPTH) fail(t, "structures nested too deeply");
}

void mr_thrift_struct_end(mr_thrift *t) { t->depth--; }

int mr_thrift_field(mr_thrift *t, int16_t *last, int16_t *id, int *type)
{
    if (t->err) return 0;
    if (t->p >= t->end) {
        fail(t, "truncated structure");
        return 0;
    }
    uint8_t b = *t->p++;
    *type = b & 0x0f;
    if (*type == MR_T_STOP) return 0;
    int delta = b >> 4;
    int64_t fid;
    if (delta) fid = (int64_t)*last + delta;
    else fid = zigzag(mr_thrift_varint(t));
    if (t->err) return 0;
    if (fid < -32768 || fid > 32767) {
        fail(t, "field id out of range");
        return 0;
    }
    if (*type > MR_T_STRUCT) {
        fail(t, "unknown field type");
        return 0;
    }
    *last = (int16_t)fid;
    *id = (int16_t)fid;
    return 1;
}

int64_t mr_thrift_int(mr_thrift *t, int type)
{
    switch (type) {
    case MR_T_BYTE:
        if (t->p >= t->end) {
            fail(t, "truncated byte");
            return 0;
        }
        return (int8_t)*t->p++;
    case MR_T_I16:
    case MR_T_I32:
    case MR_T_I64: {
        int64_t v = zigzag(mr_thrift_varint(t));
        if ((type == MR_T_I16 && (v < INT16_MIN || v > INT16_MAX)) ||
            (type == MR_T_I32 && (v < INT32_MIN || v > INT32_MAX)))
            fail(t, "integer out of range for its type");
        return t->err ? 0 : v;
    }
    default: fail(t, "expected an integer field"); return 0;
    }
}

int32_t mr_thrift_i32(mr_thrift *t, int type)
{
    int64_t v = mr_thrift_int(t, type);
    if (v < INT32_MIN || v > INT32_MAX) {
        fail(t, "integer out of range for int32");
        return 0;
    }
    return (int32_t)v;
}

int mr_thrift_bool(mr_thrift *t, int type)
{
    if (type == MR_T_TRUE) return 1;
    if (type == MR_T_FALSE) return 0;
    fail(t, "expected a boolean field");
    return 0;
}

/* A boolean list element is one byte: 1 true, 2 (or 0) false. */
static int list_bool(mr_thrift *t)
{
    if (t->p >= t->end) {
        fail(t, "truncated boolean");
        return 0;
    }
    return *t->p++ == 1;
}

double mr_thrift_double(mr_thrift *t, int type)
{
    if (type != MR_T_DOUBLE) {
        fail(t, "expected a double field");
        return 0;
    }
    if (t->end - t->p < 8) {
        fail(t, "truncated double");
        return 0;
    }
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | t->p[i];
    t->p += 8;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

size_t mr_thrift_binary(mr_thrift *t, int type, const uint8_t **s)
{
    *s = t->p;
    if (type != MR_T_BINARY) {
        fail(t, "expected a string field");
        return 0;
    }
    uint64_t n = mr_thrift_varint(t);
    if (t->err) return 0;
    if (n > (uint64_t)(t->end - t->p)) {
        fail(t, "string longer than the data left");
        return 0;
    }
    *s = t->p;
    t->p += n;
    return (size_t)n;
}

uint32_t mr_thrift_list(mr_thrift *t, int type, int *elem_type)
{
    *elem_type = 0;
    if (type != MR_T_LIST && type != MR_T_SET) {
        fail(t, "expected a list field");
        return 0;
    }
    if (t->p >= t->end) {
        fail(t, "truncated list header");
        return 0;
    }
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    *elem_type = b & 0x0f;
    if (n == 15) n = mr_thrift_varint(t);
    if (t->err) return 0;
    if (*elem_type == MR_T_FALSE) *elem_type = MR_T_TRUE; /* both mean bool */
    if (*elem_type == MR_T_STOP || *elem_type > MR_T_STRUCT) {
        fail(t, "unknown list element type");
        return 0;
    }
    /* Each element takes at least one byte on the wire. */
    if (n > (uint64_t)(t->end - t->p)) {
        fail(t, "list longer than the data left");
        return 0;
    }
    return (uint32_t)n;
}

static void skip_elem(mr_thrift *t, int type);

void mr_thrift_skip(mr_thrift *t, int type)
{
    if (t->err) return;
    switch (type) {
    case MR_T_TRUE:
    case MR_T_FALSE: return; /* value lives in the field header */
    default: skip_elem(t, type);
    }
}

static void skip_elem(mr_thrift *t, int type)
{
    if (t->err) return;
    switch (type) {
    case MR_T_TRUE:
    case MR_T_FALSE: list_bool(t); return;
    case MR_T_BYTE: mr_thrift_int(t, MR_T_BYTE); return;
    case MR_T_I16:
    case MR_T_I32:
    case MR_T_I64: mr_thrift_varint(t); return;
    case MR_T_DOUBLE: mr_thrift_double(t, MR_T_DOUBLE); return;
    case MR_T_BINARY: {
        const uint8_t *s;
        mr_thrift_binary(t, MR_T_BINARY, &s);
        return;
    }
    case MR_T_LIST:
    case MR_T_SET: {
        int et;
        uint32_t n = mr_thrift_list(t, type, &et);
        if (++t->depth > MR_THRIFT_MAX_DEPTH) fail(t, "structures nested too deeply");
        for (uint32_t i = 0; i < n && !t->err; i++) skip_elem(t, et);
        t->depth--;
        return;
    }
    case MR_T_MAP: {
        uint64_t n = mr_thrift_varint(t);
        if (t->err || n == 0) return;
        if (t->p >= t->end || n > (uint64_t)(t->end - t->p)) {
            fail(t, "map longer than the data left");
            return;
        }
        uint8_t kv = *t->p++;
        int kt = kv >> 4, vt = kv & 0x0f;
        if (kt == MR_T_STOP || kt > MR_T_STRUCT || vt == MR_T_STOP || vt > MR_T_STRUCT) {
            fail(t, "unknown map element type");
            return;
        }
        if (++t->depth > MR_THRIFT_MAX_DEPTH) fail(t, "structures nested too deeply");
        for (uint64_t i = 0; i < n && !t->err; i++) {
            skip_elem(t, kt);
            skip_elem(t, vt);
        }
        t->depth--;
        return;
    }
    case MR_T_STRUCT: {
        int16_t last, id;
        int ft;
        mr_thrift_struct_begin(t, &last);
        while (mr_thrift_field(t, &last, &id, &ft)) mr_thrift_skip(t, ft);
        mr_thrift_struct_end(t);
        return;
    }
    default: fail(t, "unknown type");
    }
}
