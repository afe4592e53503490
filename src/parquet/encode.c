#include "parquet/encode.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int mr_pq_bit_width(uint64_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

/* ---- RLE / bit-packed hybrid ---- */

/* Repeats shorter than this stay in bit-packed groups (parquet-cpp's choice:
 * a shorter RLE run would cost more header bytes than it saves). */
#define MIN_RLE_RUN 8

static void put_rle_run(mr_pq_obuf *out, uint32_t value, int64_t count, int bw)
{
    mr_pq_obuf_uvarint(out, (uint64_t)count << 1);
    for (int k = 0; k < (bw + 7) / 8; k++) mr_pq_obuf_byte(out, (uint8_t)(value >> (8 * k)));
}

/* One bit-packed run of n values (zero-padded to whole groups of 8). Values
 * are packed least significant bit first; 8 values of bw bits fill exactly bw
 * bytes, so the accumulator is empty after every group. */
#define DEFINE_BITPACK(NAME, T)                                                                    \
    static void NAME(mr_pq_obuf *out, const T *v, int64_t n, int bw)                               \
    {                                                                                              \
        int64_t groups = (n + 7) / 8;                                                              \
        mr_pq_obuf_uvarint(out, (uint64_t)groups << 1 | 1);                                        \
        size_t len = (size_t)groups * (size_t)bw;                                                  \
        if (len == 0 || mr_pq_obuf_reserve(out, len)) return;                                      \
        uint8_t *p = out->p + out->n;                                                              \
        uint64_t acc = 0;                                                                          \
        int nb = 0;                                                                                \
        int64_t full = n & ~(int64_t)7;                                                            \
        if (bw == 1) {                                                                             \
            for (int64_t i = 0; i < full; i += 8)                                                  \
                *p++ = (uint8_t)(v[i] | v[i + 1] << 1 | v[i + 2] << 2 | v[i + 3] << 3 |            \
                                 v[i + 4] << 4 | v[i + 5] << 5 | v[i + 6] << 6 | v[i + 7] << 7);   \
        } else {                                                                                   \
            for (int64_t i = 0; i < full; i++) {                                                   \
                acc |= (uint64_t)v[i] << nb;                                                       \
                nb += bw;                                                                          \
                while (nb >= 8) {                                                                  \
                    *p++ = (uint8_t)acc;                                                           \
                    acc >>= 8;                                                                     \
                    nb -= 8;                                                                       \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (int64_t i = full; i < groups * 8; i++) {                                              \
            acc |= (uint64_t)(i < n ? v[i] : 0) << nb;                                             \
            nb += bw;                                                                              \
            while (nb >= 8) {                                                                      \
                *p++ = (uint8_t)acc;                                                               \
                acc >>= 8;                                                                         \
                nb -= 8;                                                                           \
            }                                                                                      \
        }                                                                                          \
        out->n += len;                                                                             \
    }

DEFINE_BITPACK(bitpack_u8, uint8_t)
DEFINE_BITPACK(bitpack_u32, uint32_t)

/* Scans for repeats; the values since the last RLE run (`lit`) are pending
 * literals. Before an RLE run, the literals are flushed as a bit-packed run
 * lengthened to a multiple of 8 with the repeat's first values, if the
 * repeat stays long enough to be worth an RLE run. */
#define DEFINE_RLE(NAME, T, BITPACK)                                                               \
    void NAME(mr_pq_obuf *out, const T *v, int64_t n, int bw)                                      \
    {                                                                                              \
        int64_t lit = 0, i = 0;                                                                    \
        while (i < n) {                                                                            \
            T x = v[i];                                                                            \
            int64_t j = i + 1;                                                                     \
            while (j < n && v[j] == x) j++;                                                        \
            int64_t r = j - i;                                                                     \
            if (r < MIN_RLE_RUN) {                                                                 \
                i = j;                                                                             \
                continue;                                                                          \
            }                                                                                      \
            int64_t pending = i - lit;                                                             \
            if (pending > 0) {                                                                     \
                int64_t pad = (8 - pending % 8) % 8;                                               \
                if (r - pad < MIN_RLE_RUN) {                                                       \
                    i = j;                                                                         \
                    continue;                                                                      \
                }                                                                                  \
                BITPACK(out, v + lit, pending + pad, bw);                                          \
                r -= pad;                                                                          \
            }                                                                                      \
            put_rle_run(out, x, r, bw);                                                            \
            lit = i = j;                                                                           \
        }                                                                                          \
        if (lit < n) BITPACK(out, v + lit, n - lit, bw);                                           \
    }

DEFINE_RLE(mr_pq_rle_u8, uint8_t, bitpack_u8)
DEFINE_RLE(mr_pq_rle_u32, uint32_t, bitpack_u32)

/* ---- PLAIN ---- */

void mr_pq_plain_fixed(mr_pq_obuf *out, const void *values, int width, const uint8_t *valid,
                       int64_t from, int64_t to)
{
    const uint8_t *src = (const uint8_t *)values;
    if (to <= from) return;
    if (!valid) {
        mr_pq_obuf_put(out, src + from * width, (size_t)(to - from) * (size_t)width);
        return;
    }
    if (mr_pq_obuf_reserve(out, (size_t)(to - from) * (size_t)width)) return;
    uint8_t *p = out->p + out->n;
    if (width == 4) {
        for (int64_t s = from; s < to; s++)
            if (valid[s]) {
                memcpy(p, src + s * 4, 4);
                p += 4;
            }
    } else {
        for (int64_t s = from; s < to; s++)
            if (valid[s]) {
                memcpy(p, src + s * width, (size_t)width);
                p += width;
            }
    }
    out->n = (size_t)(p - out->p);
}

void mr_pq_plain_bool(mr_pq_obuf *out, const uint8_t *values, const uint8_t *valid, int64_t from,
                      int64_t to)
{
    if (to <= from || mr_pq_obuf_reserve(out, (size_t)(to - from + 7) / 8)) return;
    uint8_t *p = out->p + out->n;
    uint8_t acc = 0;
    int nb = 0;
    for (int64_t s = from; s < to; s++) {
        if (valid && !valid[s]) continue;
        acc |= (uint8_t)((values[s] != 0) << nb);
        if (++nb == 8) {
            *p++ = acc;
            acc = 0;
            nb = 0;
        }
    }
    if (nb) *p++ = acc;
    out->n = (size_t)(p - out->p);
}

static inline void put_le32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
    p[2] = (uint8_t)(x >> 16);
    p[3] = (uint8_t)(x >> 24);
}

void mr_pq_plain_bytes(mr_pq_obuf *out, const int64_t *offsets, const uint8_t *bytes,
                       const uint8_t *valid, int64_t from, int64_t to)
{
    if (to <= from) return;
    size_t total = (size_t)(offsets[to] - offsets[from]) + 4 * (size_t)(to - from);
    if (mr_pq_obuf_reserve(out, total)) return;
    uint8_t *p = out->p + out->n;
    for (int64_t s = from; s < to; s++) {
        if (valid && !valid[s]) continue;
        size_t len = (size_t)(offsets[s + 1] - offsets[s]);
        put_le32(p, (uint32_t)len);
        memcpy(p + 4, bytes + offsets[s], len);
        p += 4 + len;
    }
    out->n = (size_t)(p - out->p);
}

/* ---- dictionaries ---- */

#define FIB 0x9E3779B97F4A7C15ull /* 2^64 / golden ratio: Fibonacci hashing */

void mr_pq_dict_free(mr_pq_dict *d)
{
    free(d->first);
    free(d->keys);
    free(d->codes);
    memset(d, 0, sizeof *d);
}

static int table_shift(size_t cap)
{
    int s = 64;
    while (cap > 1) {
        cap >>= 1;
        s--;
    }
    return s;
}

/* Empties the dictionary, keeping its memory. */
static int dict_reset(mr_pq_dict *d)
{
    d->n = 0;
    d->bytes = 0;
    if (!d->cap) {
        d->cap = 1024;
        d->keys = malloc(d->cap * sizeof *d->keys);
        d->codes = malloc(d->cap * sizeof *d->codes);
        if (!d->keys || !d->codes) return mr_err(MR_ENOMEM, "out of memory for a dictionary table");
    }
    memset(d->codes, 0xff, d->cap * sizeof *d->codes);
    return 0;
}

/* Doubles the table, reinserting the entries by their stored keys. */
static int dict_grow(mr_pq_dict *d)
{
    size_t cap = d->cap * 2, mask = cap - 1;
    int shift = table_shift(cap);
    uint64_t *keys = malloc(cap * sizeof *keys);
    int32_t *codes = malloc(cap * sizeof *codes);
    if (!keys || !codes) {
        free(keys);
        free(codes);
        return mr_err(MR_ENOMEM, "out of memory growing a dictionary table to %zu entries", cap);
    }
    mr_pq_hugepage_hint(keys, cap * sizeof *keys);
    mr_pq_hugepage_hint(codes, cap * sizeof *codes);
    memset(codes, 0xff, cap * sizeof *codes);
    for (size_t i = 0; i < d->cap; i++) {
        if (d->codes[i] < 0) continue;
        size_t h = (size_t)((d->keys[i] * FIB) >> shift);
        while (codes[h] >= 0) h = (h + 1) & mask;
        keys[h] = d->keys[i];
        codes[h] = d->codes[i];
    }
    free(d->keys);
    free(d->codes);
    d->keys = keys;
    d->codes = codes;
    d->cap = cap;
    return 0;
}

static int dict_add_entry(mr_pq_dict *d, int64_t slot)
{
    if (d->n == d->first_cap) {
        int64_t cap = d->first_cap ? d->first_cap * 2 : 1024;
        int64_t *f = realloc(d->first, (size_t)cap * sizeof *f);
        if (!f)
            return mr_err(MR_ENOMEM, "out of memory for %lld dictionary entries", (long long)cap);
        d->first = f;
        d->first_cap = cap;
    }
    d->first[d->n++] = slot;
    return 0;
}

/* After SAMPLE values, a dictionary that is still almost all distinct
 * values and whose projected size is far over the limit is given up at once
 * instead of when it reaches the limit: unique keys and timestamps would
 * otherwise cost a hash insert per value for the first max_bytes of the chunk. */
#define SAMPLE 65536
static int hopeless(int64_t distinct, int64_t seen, int64_t total, size_t entry_bytes,
                    size_t max_bytes)
{
    return distinct * 10 > seen * 9 &&
           (double)total * 0.9 * (double)entry_bytes > 2.0 * (double)max_bytes;
}

/* Whether dictionary encoding does not pay: the dictionary page plus one
 * bit-packed code per value is no smaller than the values' PLAIN size;
 * tested at the end of the chunk (parquet-mr makes the same test after its
 * first page). It is also tested after SAMPLE values when those are mostly
 * distinct (ids spread over a large range, the benchmark's track_id), so
 * that such a column skips the hashing of a whole chunk that would end in
 * PLAIN anyway. Only then: with fewer distinct values the dictionary's
 * growth slows down as the chunk goes on (the pipeline's item_idx: 60%
 * distinct in the first 65,536 of a 1M-row group, yet its dictionary ends
 * at 60% of the PLAIN size), so a test on the sample would give up
 * dictionaries that pay. */
static int mostly_distinct(int64_t distinct, int64_t seen) { return distinct * 10 > seen * 9; }

static int unprofitable(int64_t entries, size_t entry_bytes, int64_t values, size_t plain_bytes)
{
    uint64_t code_bytes = ((uint64_t)values * (uint64_t)mr_pq_bit_width((uint64_t)(entries > 1 ? entries - 1 : 1)) + 7) / 8;
    return (uint64_t)entry_bytes + code_bytes >= (uint64_t)plain_bytes;
}

int mr_pq_dict_fixed(mr_pq_dict *d, const void *values, int width, const uint8_t *valid,
                     int64_t from, int64_t to, size_t max_bytes, uint32_t *codes)
{
    int rc = dict_reset(d);
    if (rc) return rc;
    const uint32_t *v32 = values;
    const uint64_t *v64 = values;
    size_t mask = d->cap - 1;
    int shift = table_shift(d->cap);
    uint64_t prev = 0;
    uint32_t prev_code = 0;
    int have_prev = 0;
    int64_t k = 0;
    for (int64_t s = from; s < to; s++) {
        if (valid && !valid[s]) continue;
        if (k == SAMPLE && (hopeless(d->n, SAMPLE, to - from, (size_t)width, max_bytes) ||
                            (mostly_distinct(d->n, SAMPLE) &&
                             unprofitable(d->n, d->bytes, SAMPLE, (size_t)SAMPLE * (size_t)width))))
            return 0;
        uint64_t key = width == 4 ? v32[s] : v64[s];
        if (have_prev && key == prev) { /* sorted and clustered data repeat a lot */
            codes[k++] = prev_code;
            continue;
        }
        size_t h = (size_t)((key * FIB) >> shift);
        int32_t c;
        for (;;) {
            c = d->codes[h];
            if (c < 0 || d->keys[h] == key) break;
            h = (h + 1) & mask;
        }
        if (c < 0) {
            if (d->bytes + (size_t)width > max_bytes) return 0;
            if ((rc = dict_add_entry(d, s))) return rc;
            c = (int32_t)(d->n - 1);
            d->keys[h] = key;
            d->codes[h] = c;
            d->bytes += (size_t)width;
            if ((size_t)d->n * 2 > d->cap) {
                if ((rc = dict_grow(d))) return rc;
                mask = d->cap - 1;
                shift = table_shift(d->cap);
            }
        }
        codes[k++] = (uint32_t)c;
        prev = key;
        prev_code = (uint32_t)c;
        have_prev = 1;
    }
    return !unprofitable(d->n, d->bytes, k, (size_t)k * (size_t)width);
}

/* A fast non-cryptographic hash of a byte string (8 bytes per step). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * FIB);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

int mr_pq_dict_bytes(mr_pq_dict *d, const int64_t *offsets, const uint8_t *bytes,
                     const uint8_t *valid, int64_t from, int64_t to, size_t max_bytes,
                     uint32_t *codes)
{
    int rc = dict_reset(d);
    if (rc) return rc;
    size_t mask = d->cap - 1;
    int shift = table_shift(d->cap);
    int64_t k = 0;
    size_t plain = 0; /* PLAIN size of the values so far */
    for (int64_t s = from; s < to; s++) {
        if (valid && !valid[s]) continue;
        if (k == SAMPLE && (hopeless(d->n, SAMPLE, to - from, d->bytes / (size_t)d->n, max_bytes) ||
                            (mostly_distinct(d->n, SAMPLE) && unprofitable(d->n, d->bytes, SAMPLE, plain))))
            return 0;
        const uint8_t *p = bytes + offsets[s];
        size_t len = (size_t)(offsets[s + 1] - offsets[s]);
        plain += 4 + len;
        uint64_t key = hash_bytes(p, len);
        size_t h = (size_t)((key * FIB) >> shift);
        int32_t c;
        for (;;) {
            c = d->codes[h];
            if (c < 0) break;
            if (d->keys[h] == key) {
                int64_t f = d->first[c];
                if ((size_t)(offsets[f + 1] - offsets[f]) == len &&
                    memcmp(bytes + offsets[f], p, len) == 0)
                    break;
            }
            h = (h + 1) & mask;
        }
        if (c < 0) {
            if (d->bytes + 4 + len > max_bytes) return 0;
            if ((rc = dict_add_entry(d, s))) return rc;
            c = (int32_t)(d->n - 1);
            d->keys[h] = key;
            d->codes[h] = c;
            d->bytes += 4 + len;
            if ((size_t)d->n * 2 > d->cap) {
                if ((rc = dict_grow(d))) return rc;
                mask = d->cap - 1;
                shift = table_shift(d->cap);
            }
        }
        codes[k++] = (uint32_t)c;
    }
    return !unprofitable(d->n, d->bytes, k, plain);
}

void mr_pq_dict_plain_fixed(const mr_pq_dict *d, mr_pq_obuf *out, const void *values, int width)
{
    if (mr_pq_obuf_reserve(out, (size_t)d->n * (size_t)width)) return;
    const uint8_t *src = values;
    uint8_t *p = out->p + out->n;
    for (int64_t i = 0; i < d->n; i++, p += width)
        memcpy(p, src + d->first[i] * width, (size_t)width);
    out->n = (size_t)(p - out->p);
}

void mr_pq_dict_plain_bytes(const mr_pq_dict *d, mr_pq_obuf *out, const int64_t *offsets,
                            const uint8_t *bytes)
{
    if (mr_pq_obuf_reserve(out, d->bytes)) return;
    uint8_t *p = out->p + out->n;
    for (int64_t i = 0; i < d->n; i++) {
        int64_t s = d->first[i];
        size_t len = (size_t)(offsets[s + 1] - offsets[s]);
        put_le32(p, (uint32_t)len);
        memcpy(p + 4, bytes + offsets[s], len);
        p += 4 + len;
    }
    out->n = (size_t)(p - out->p);
}
