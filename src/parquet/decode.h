/* Parquet value and level encodings, decoding side (internal to
 * src/parquet/). Every decoder takes the bytes it may read as (p, n) and
 * the number of values it must produce, and fails with MR_EFORMAT instead
 * of reading past n. */
#ifndef MR_PQ_DECODE_H
#define MR_PQ_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* RLE / bit-packed hybrid stream (levels, dictionary indices, booleans).
 * A streaming decoder, so dictionary indices can be decoded in cache-sized
 * batches and gathered straight into the output. */
typedef struct {
    const uint8_t *p, *end;
    int width;
    uint32_t rle_left, rle_value;   /* current RLE run */
    const uint8_t *bp;              /* current bit-packed run data */
    uint64_t bp_left;               /* values left in it */
    uint64_t bp_avail;              /* values its bytes actually hold */
} mr_pq_rle;

/* width 0..32. */
void mr_pq_rle_init(mr_pq_rle *d, const uint8_t *p, size_t n, int width);
/* Produces exactly n values or returns MR_EFORMAT ("RLE data ends early"). */
int mr_pq_rle_get(mr_pq_rle *d, uint32_t *out, size_t n);
/* How many copies of one value the stream holds next (what is left of the
 * current RLE run, starting the next run first if the current one is used
 * up), with the value; 0 when a bit-packed run comes next or the stream is
 * at its end or bad (mr_pq_rle_get then reports it). Consuming k <= that
 * many is subtracting k from d->rle_left. */
uint64_t mr_pq_rle_run(mr_pq_rle *d, uint32_t *value);
/* Same into int16 levels, checking every value is <= max_level; *n_max
 * (if not NULL) receives how many equal max_level. RLE runs are filled
 * without unpacking. */
int mr_pq_rle_levels(mr_pq_rle *d, int16_t *out, size_t n, int max_level, size_t *n_max);

/* 1 if the stream (p, n) of `width`-bit values starts with one RLE run of
 * at least `count` copies of `value` (a page without nulls), else 0. */
int mr_pq_rle_is_run(const uint8_t *p, size_t n, int width, size_t count, uint32_t value);

/* Unpacks n (a multiple of 8) values of `width` bits (0..32, LSB first, as
 * parquet packs them) from in, which holds at least n * width / 8 bytes. */
void mr_pq_unpack32(const uint8_t *in, int width, uint32_t *out, size_t n);

/* DELTA_BINARY_PACKED: decodes `count` values (the header's count must be
 * at least that) into out; *used receives the bytes consumed. Arithmetic
 * wraps modulo 2^64, so INT32 columns take the low 32 bits. */
int mr_pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t count, size_t *used);
/* The total value count in a DELTA_BINARY_PACKED header (for sizing). */
int mr_pq_delta_count(const uint8_t *p, size_t n, uint64_t *count);

/* BYTE_STREAM_SPLIT: count values of `width` bytes from width streams. */
int mr_pq_bss_decode(const uint8_t *p, size_t n, int width, uint8_t *out, size_t count);

/* ULEB128 varint at *p (advanced), bounded by end. */
int mr_pq_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif
