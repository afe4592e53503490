/* Parquet value encoders used by the writer: PLAIN, the RLE/bit-packed
 * hybrid (definition and repetition levels, dictionary indices) and
 * dictionary building.
 *
 * Every encoder appends to an mr_pq_obuf and reads straight from the
 * caller's arrays (the mr_pq_col layout of parquet.h): values are indexed by
 * absolute slot, `valid` (NULL = no nulls) says which slots hold a value, and
 * null slots are skipped, since parquet stores only non-null values.
 *
 * The hybrid encoder follows parquet-cpp's choices, which every reader
 * handles: a value repeated 8 or more times becomes an RLE run, anything
 * else goes into bit-packed groups of 8 (the last group zero-padded), and a
 * bit-packed run borrows values from a following repeat to end on a multiple
 * of 8.
 *
 * Dictionaries are built in first-seen order with an open-addressing hash
 * table, so the output depends only on the input. Building gives up (returns
 * 0) as soon as the dictionary's PLAIN size passes the caller's limit, the
 * point at which parquet writers fall back to PLAIN, and also when the
 * dictionary would not make the chunk smaller than PLAIN (the dictionary
 * page plus the bit-packed codes against the values' PLAIN size), judged
 * early from a sample and again at the end.
 */
#ifndef MR_PQ_ENCODE_H
#define MR_PQ_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/thrift_write.h"

/* Bits needed to store values 0..max (0 for max == 0). */
int mr_pq_bit_width(uint64_t max);

/* RLE/bit-packed hybrid of v[0..n), each < 2^bw (bw 0..32), with no length
 * prefix and no bit-width byte. */
void mr_pq_rle_u8(mr_pq_obuf *out, const uint8_t *v, int64_t n, int bw);
void mr_pq_rle_u32(mr_pq_obuf *out, const uint32_t *v, int64_t n, int bw);

/* PLAIN of the non-null slots in [from, to). width is 4 or 8 bytes. */
void mr_pq_plain_fixed(mr_pq_obuf *out, const void *values, int width, const uint8_t *valid,
                       int64_t from, int64_t to);
/* PLAIN BOOLEAN: one bit per non-null value (nonzero byte = true), LSB first. */
void mr_pq_plain_bool(mr_pq_obuf *out, const uint8_t *values, const uint8_t *valid, int64_t from,
                      int64_t to);
/* PLAIN BYTE_ARRAY: 4-byte little-endian length, then the bytes. */
void mr_pq_plain_bytes(mr_pq_obuf *out, const int64_t *offsets, const uint8_t *bytes,
                       const uint8_t *valid, int64_t from, int64_t to);

/* A dictionary under construction; reusable across column chunks. */
typedef struct {
    int64_t n;      /* entries */
    int64_t *first; /* slot of each entry's first occurrence */
    int64_t first_cap;
    uint64_t *keys; /* hash table: value bits (fixed) or hash (bytes) */
    int32_t *codes; /* hash table: entry, -1 = empty */
    size_t cap;     /* table size, a power of two */
    size_t bytes;   /* PLAIN size of the entries so far */
} mr_pq_dict;

void mr_pq_dict_free(mr_pq_dict *d);

/* Builds the dictionary of the non-null slots in [from, to) and writes one
 * code per non-null slot to codes[] (in slot order). Returns 1 when built,
 * 0 when the dictionary's PLAIN size would exceed max_bytes or the
 * dictionary does not pay (codes then undefined), MR_ENOMEM on allocation
 * failure. */
int mr_pq_dict_fixed(mr_pq_dict *d, const void *values, int width, const uint8_t *valid,
                     int64_t from, int64_t to, size_t max_bytes, uint32_t *codes);
int mr_pq_dict_bytes(mr_pq_dict *d, const int64_t *offsets, const uint8_t *bytes,
                     const uint8_t *valid, int64_t from, int64_t to, size_t max_bytes,
                     uint32_t *codes);

/* PLAIN encoding of the dictionary's entries (the dictionary page body). */
void mr_pq_dict_plain_fixed(const mr_pq_dict *d, mr_pq_obuf *out, const void *values, int width);
void mr_pq_dict_plain_bytes(const mr_pq_dict *d, mr_pq_obuf *out, const int64_t *offsets,
                            const uint8_t *bytes);

#endif
