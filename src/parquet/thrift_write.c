#include "parquet/thrift_write.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "base/err.h"

/* Large buffers ask for transparent huge pages: a writer's first row group
 * touches tens of MB of fresh memory, and in a VM each 4 KiB page fault is
 * expensive. Only the 2 MiB-aligned interior can be huge; a no-op where THP
 * is off. */
void mr_pq_hugepage_hint(void *p, size_t n)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < 2 * huge) return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
    if (b > a) madvise((void *)a, b - a, MADV_HUGEPAGE);
}

int mr_pq_obuf_reserve(mr_pq_obuf *b, size_t more)
{
    if (b->oom) return MR_ENOMEM;
    if (b->cap - b->n >= more) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < more) cap += cap / 2 + 256;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return MR_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    mr_pq_hugepage_hint(p, cap);
    return 0;
}

void mr_pq_obuf_free(mr_pq_obuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int mr_pq_obuf_ok(const mr_pq_obuf *b)
{
    if (b->oom)
        return mr_err(MR_ENOMEM, "out of memory growing a parquet buffer past %zu bytes", b->cap);
    return 0;
}

void mr_pq_obuf_uvarint(mr_pq_obuf *b, uint64_t x)
{
    if (b->cap - b->n < 10 && mr_pq_obuf_reserve(b, 10)) return;
    uint8_t *p = b->p + b->n;
    while (x >= 0x80) {
        *p++ = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    *p++ = (uint8_t)x;
    b->n = (size_t)(p - b->p);
}

void mr_pq_tw_init(mr_pq_tw *t, mr_pq_obuf *out)
{
    t->out = out;
    t->depth = 0;
    t->last[0] = 0;
}

void mr_pq_tw_field(mr_pq_tw *t, int16_t id, int tc)
{
    int16_t delta = (int16_t)(id - t->last[t->depth]);
    if (delta > 0 && delta <= 15) {
        mr_pq_obuf_byte(t->out, (uint8_t)(delta << 4 | tc));
    } else {
        mr_pq_obuf_byte(t->out, (uint8_t)tc);
        mr_pq_obuf_uvarint(t->out, mr_pq_zigzag(id));
    }
    t->last[t->depth] = id;
}

void mr_pq_tw_i32(mr_pq_tw *t, int16_t id, int32_t v)
{
    mr_pq_tw_field(t, id, MR_TC_I32);
    mr_pq_obuf_uvarint(t->out, mr_pq_zigzag(v));
}

void mr_pq_tw_i64(mr_pq_tw *t, int16_t id, int64_t v)
{
    mr_pq_tw_field(t, id, MR_TC_I64);
    mr_pq_obuf_uvarint(t->out, mr_pq_zigzag(v));
}

void mr_pq_tw_i16(mr_pq_tw *t, int16_t id, int16_t v)
{
    mr_pq_tw_field(t, id, MR_TC_I16);
    mr_pq_obuf_uvarint(t->out, mr_pq_zigzag(v));
}

void mr_pq_tw_i8(mr_pq_tw *t, int16_t id, int8_t v)
{
    mr_pq_tw_field(t, id, MR_TC_BYTE);
    mr_pq_obuf_byte(t->out, (uint8_t)v);
}

void mr_pq_tw_bool(mr_pq_tw *t, int16_t id, int v)
{
    /* compact protocol folds a bool field's value into its type code */
    mr_pq_tw_field(t, id, v ? MR_TC_BOOL_TRUE : MR_TC_BOOL_FALSE);
}

void mr_pq_tw_binary(mr_pq_tw *t, int16_t id, const void *p, size_t n)
{
    mr_pq_tw_field(t, id, MR_TC_BINARY);
    mr_pq_obuf_uvarint(t->out, n);
    mr_pq_obuf_put(t->out, p, n);
}

void mr_pq_tw_begin(mr_pq_tw *t)
{
    if (t->depth + 1 >= MR_PQ_THRIFT_MAX_DEPTH) {
        t->out->oom = 1; /* cannot happen with parquet's fixed nesting */
        return;
    }
    t->last[++t->depth] = 0;
}

void mr_pq_tw_struct(mr_pq_tw *t, int16_t id)
{
    mr_pq_tw_field(t, id, MR_TC_STRUCT);
    mr_pq_tw_begin(t);
}

void mr_pq_tw_end(mr_pq_tw *t)
{
    mr_pq_obuf_byte(t->out, 0);
    if (t->depth > 0) t->depth--;
}

void mr_pq_tw_list(mr_pq_tw *t, int16_t id, int elem_tc, int64_t n)
{
    mr_pq_tw_field(t, id, MR_TC_LIST);
    if (n < 15) {
        mr_pq_obuf_byte(t->out, (uint8_t)(n << 4 | elem_tc));
    } else {
        mr_pq_obuf_byte(t->out, (uint8_t)(0xF0 | elem_tc));
        mr_pq_obuf_uvarint(t->out, (uint64_t)n);
    }
}

void mr_pq_tw_elem_i32(mr_pq_tw *t, int32_t v)
{
    mr_pq_obuf_uvarint(t->out, mr_pq_zigzag(v));
}

void mr_pq_tw_elem_binary(mr_pq_tw *t, const void *p, size_t n)
{
    mr_pq_obuf_uvarint(t->out, n);
    mr_pq_obuf_put(t->out, p, n);
}
