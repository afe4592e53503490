/* Thrift compact protocol encoder for the parquet footer and page headers.
 *
 * Parquet metadata is a handful of thrift structs; a generic thrift library
 * would be a large dependency for that. This writer emits the compact
 * protocol directly: the caller opens structs, writes fields in ascending id
 * order (the encoder keeps the last field id of each open struct to emit the
 * 4-bit id delta when it fits), and closes them. Values go into a growable
 * byte buffer that the page encoders share.
 *
 * Memory errors are sticky: once an append fails, the buffer's `oom` flag is
 * set and later appends do nothing, so a long run of writes needs one check
 * at the end (mr_pq_obuf_ok) instead of one per call.
 */
#ifndef MR_PQ_THRIFT_WRITE_H
#define MR_PQ_THRIFT_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A growable output buffer. Zero-initialised is empty. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} mr_pq_obuf;

/* Ensures room for `more` bytes past n; 0 or MR_ENOMEM (and sets oom). */
int mr_pq_obuf_reserve(mr_pq_obuf *b, size_t more);
void mr_pq_obuf_free(mr_pq_obuf *b);
/* 0, or MR_ENOMEM (with an error message) if any append failed. */
int mr_pq_obuf_ok(const mr_pq_obuf *b);

static inline void mr_pq_obuf_put(mr_pq_obuf *b, const void *src, size_t n)
{
    if (b->cap - b->n < n && mr_pq_obuf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void mr_pq_obuf_byte(mr_pq_obuf *b, uint8_t x)
{
    if (b->n == b->cap && mr_pq_obuf_reserve(b, 1)) return;
    b->p[b->n++] = x;
}

/* Asks the kernel for huge pages for a large buffer (a hint; never fails). */
void mr_pq_hugepage_hint(void *p, size_t n);

/* ULEB128 (thrift varint, RLE run headers). */
void mr_pq_obuf_uvarint(mr_pq_obuf *b, uint64_t x);
static inline uint64_t mr_pq_zigzag(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}

/* Compact protocol writer. Nesting depth is bounded by parquet's schema
 * (FileMetaData > RowGroup > ColumnChunk > ColumnMetaData > Statistics). */
#define MR_PQ_THRIFT_MAX_DEPTH 16

typedef struct {
    mr_pq_obuf *out;
    int depth;
    int16_t last[MR_PQ_THRIFT_MAX_DEPTH]; /* last field id of each open struct */
} mr_pq_tw;

/* Compact protocol type codes. */
enum {
    MR_TC_BOOL_TRUE = 1,
    MR_TC_BOOL_FALSE = 2,
    MR_TC_BYTE = 3,
    MR_TC_I16 = 4,
    MR_TC_I32 = 5,
    MR_TC_I64 = 6,
    MR_TC_DOUBLE = 7,
    MR_TC_BINARY = 8,
    MR_TC_LIST = 9,
    MR_TC_SET = 10,
    MR_TC_MAP = 11,
    MR_TC_STRUCT = 12,
};

/* Starts the outermost struct (no field header). */
void mr_pq_tw_init(mr_pq_tw *t, mr_pq_obuf *out);
/* Field header for field `id` of type `tc` in the current struct. */
void mr_pq_tw_field(mr_pq_tw *t, int16_t id, int tc);
void mr_pq_tw_i32(mr_pq_tw *t, int16_t id, int32_t v);
void mr_pq_tw_i64(mr_pq_tw *t, int16_t id, int64_t v);
void mr_pq_tw_i8(mr_pq_tw *t, int16_t id, int8_t v);
void mr_pq_tw_i16(mr_pq_tw *t, int16_t id, int16_t v);
void mr_pq_tw_bool(mr_pq_tw *t, int16_t id, int v);
void mr_pq_tw_binary(mr_pq_tw *t, int16_t id, const void *p, size_t n);
static inline void mr_pq_tw_string(mr_pq_tw *t, int16_t id, const char *s)
{
    mr_pq_tw_binary(t, id, s, strlen(s));
}
/* Opens a struct-valued field; close it with mr_pq_tw_end. */
void mr_pq_tw_struct(mr_pq_tw *t, int16_t id);
/* Writes the stop byte of the current struct and returns to its parent. */
void mr_pq_tw_end(mr_pq_tw *t);
/* A list field header: `n` elements of type `elem_tc` follow. */
void mr_pq_tw_list(mr_pq_tw *t, int16_t id, int elem_tc, int64_t n);
/* List elements. Struct elements: mr_pq_tw_begin ... mr_pq_tw_end. */
void mr_pq_tw_elem_i32(mr_pq_tw *t, int32_t v);
void mr_pq_tw_elem_binary(mr_pq_tw *t, const void *p, size_t n);
void mr_pq_tw_begin(mr_pq_tw *t);

#endif
