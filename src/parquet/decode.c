/* Level and value decoders.
 *
 * Bit-packed data is unpacked eight values at a time by a function per bit
 * width (generated below), so the shifts and masks are constants and the
 * loop unrolls; a generic bit reader per value would be several times
 * slower, and dictionary indices and levels are the hot path of every read.
 * RLE runs are filled without unpacking. The decoders read only inside the
 * (p, n) they are given: a bit-packed run that claims more bytes than remain
 * yields only the values its bytes hold, and asking for more is an error.
 */
#include "parquet/decode.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "base/err.h"

int mr_pq_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 64; shift += 7) {
        if (q >= end) return MR_EFORMAT;
        uint8_t b = *q++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *p = q;
            *v = x;
            return 0;
        }
    }
    return MR_EFORMAT;
}

/* ---- bit unpacking ---- */

#define UNPACK8(W)                                                                           \
    static inline void unpack8_##W(const uint8_t *in, uint32_t *out)                         \
    {                                                                                        \
        uint8_t b[W + 8];                                                                    \
        memcpy(b, in, W);                                                                    \
        memset(b + W, 0, 8);                                                                 \
        for (int i = 0; i < 8; i++) {                                                        \
            uint64_t v;                                                                      \
            memcpy(&v, b + (i * W) / 8, 8);                                                  \
            out[i] = (uint32_t)((v >> ((i * W) % 8)) & ((1ull << W) - 1));                   \
        }                                                                                    \
    }                                                                                        \
    /* n / 8 groups in one call: the loop, not a call per group */                           \
    static void unpack_##W(const uint8_t *in, uint32_t *out, size_t n)                       \
    {                                                                                        \
        for (size_t i = 0; i < n; i += 8, in += W) unpack8_##W(in, out + i);                 \
    }
UNPACK8(1) UNPACK8(2) UNPACK8(3) UNPACK8(4) UNPACK8(5) UNPACK8(6) UNPACK8(7) UNPACK8(8)
UNPACK8(9) UNPACK8(10) UNPACK8(11) UNPACK8(12) UNPACK8(13) UNPACK8(14) UNPACK8(15) UNPACK8(16)
UNPACK8(17) UNPACK8(18) UNPACK8(19) UNPACK8(20) UNPACK8(21) UNPACK8(22) UNPACK8(23) UNPACK8(24)
UNPACK8(25) UNPACK8(26) UNPACK8(27) UNPACK8(28) UNPACK8(29) UNPACK8(30) UNPACK8(31) UNPACK8(32)

static void unpack8_0(const uint8_t *in, uint32_t *out)
{
    (void)in;
    memset(out, 0, 8 * sizeof *out);
}

static void unpack_0(const uint8_t *in, uint32_t *out, size_t n)
{
    (void)in;
    memset(out, 0, n * sizeof *out);
}

typedef void (*unpack8_fn)(const uint8_t *, uint32_t *);
static const unpack8_fn unpack8[33] = {
    unpack8_0,  unpack8_1,  unpack8_2,  unpack8_3,  unpack8_4,  unpack8_5,  unpack8_6,
    unpack8_7,  unpack8_8,  unpack8_9,  unpack8_10, unpack8_11, unpack8_12, unpack8_13,
    unpack8_14, unpack8_15, unpack8_16, unpack8_17, unpack8_18, unpack8_19, unpack8_20,
    unpack8_21, unpack8_22, unpack8_23, unpack8_24, unpack8_25, unpack8_26, unpack8_27,
    unpack8_28, unpack8_29, unpack8_30, unpack8_31, unpack8_32};

typedef void (*unpack_fn)(const uint8_t *, uint32_t *, size_t);
static const unpack_fn unpack_n[33] = {
    unpack_0,  unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,  unpack_6,
    unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11, unpack_12, unpack_13,
    unpack_14, unpack_15, unpack_16, unpack_17, unpack_18, unpack_19, unpack_20,
    unpack_21, unpack_22, unpack_23, unpack_24, unpack_25, unpack_26, unpack_27,
    unpack_28, unpack_29, unpack_30, unpack_31, unpack_32};

#if defined(__x86_64__)
/* AVX2, widths 1..25 (a value and its bit offset fit in 4 bytes): per 8
 * values, the bytes of values 0-3 from in and of values 4-7 from
 * in + 4w/8 go into the two 128-bit halves, a byte shuffle moves each
 * value's 4-byte window into its lane, a variable shift and a mask finish.
 * Five instructions for 8 values where the scalar kernel takes ~30. Stops
 * where the second 16-byte load would pass the packed data; returns how
 * many values it unpacked. */
__attribute__((target("avx2"))) static size_t unpack_avx2(const uint8_t *in, int w, uint32_t *out, size_t n)
{
    uint8_t shuf[32];
    uint32_t shift[8];
    size_t half = (size_t)(4 * w) / 8;
    for (int i = 0; i < 8; i++) {
        size_t bit = (size_t)i * (size_t)w, rel = bit / 8 - (i < 4 ? 0 : half);
        for (int j = 0; j < 4; j++) shuf[4 * i + j] = (uint8_t)(rel + (size_t)j);
        shift[i] = (uint32_t)(bit % 8);
    }
    const __m256i S = _mm256_loadu_si256((const __m256i *)shuf), SH = _mm256_loadu_si256((const __m256i *)shift);
    const __m256i M = _mm256_set1_epi32((int)((1u << w) - 1));
    size_t groups = n / 8, bytes = groups * (size_t)w, g = 0;
    for (; g < groups && bytes - g * (size_t)w >= half + 16; g++) {
        const uint8_t *p = in + g * (size_t)w;
        __m256i v = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(p + half)), _mm_loadu_si128((const __m128i *)p));
        v = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(v, S), SH), M);
        _mm256_storeu_si256((__m256i *)(out + g * 8), v);
    }
    return g * 8;
}
#endif

void mr_pq_unpack32(const uint8_t *in, int width, uint32_t *out, size_t n)
{
#if defined(__x86_64__)
    if (width >= 1 && width <= 25 && __builtin_cpu_supports("avx2")) {
        size_t done = unpack_avx2(in, width, out, n);
        in += done / 8 * (size_t)width;
        out += done;
        n -= done;
    }
#endif
    unpack_n[width](in, out, n);
}

/* Values of up to 64 bits (DELTA_BINARY_PACKED miniblocks). */
static void unpack64(const uint8_t *in, int width, uint64_t *out, size_t n)
{
    if (width == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    uint64_t mask = width == 64 ? ~0ull : (1ull << width) - 1;
    size_t bit = 0;
    for (size_t i = 0; i < n; i++, bit += (size_t)width) {
        uint64_t v = 0;
        size_t byte = bit >> 3;
        int shift = (int)(bit & 7), got = 0;
        /* Gather up to 9 bytes: width + shift <= 71 bits. */
        for (int k = 0; got < width + shift; k++, got += 8) {
            uint64_t b = in[byte + (size_t)k];
            if (k == 0) v = b >> shift;
            else v |= b << (8 * k - shift);
        }
        out[i] = v & mask;
    }
}

/* ---- RLE / bit-packed hybrid ---- */

void mr_pq_rle_init(mr_pq_rle *d, const uint8_t *p, size_t n, int width)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->width = width;
}

/* Reads the next run header. Returns 0, or MR_EFORMAT at the end. */
static int next_run(mr_pq_rle *d)
{
    uint64_t h;
    if (mr_pq_uleb(&d->p, d->end, &h)) return MR_EFORMAT;
    if (h & 1) {
        uint64_t groups = h >> 1;
        if (groups == 0 || groups > ((uint64_t)1 << 31)) return MR_EFORMAT;
        uint64_t bytes = groups * (uint64_t)d->width, have = (uint64_t)(d->end - d->p);
        d->bp = d->p;
        d->bp_left = groups * 8;
        if (bytes > have) {
            /* A truncated last run holds as many whole groups as its bytes. */
            d->bp_avail = d->width ? have / (uint64_t)d->width * 8 : d->bp_left;
            d->p = d->end;
        } else {
            d->bp_avail = d->bp_left;
            d->p += bytes;
        }
        if (d->bp_avail == 0) return MR_EFORMAT;
    } else {
        uint64_t count = h >> 1;
        if (count == 0 || count > UINT32_MAX) return MR_EFORMAT;
        int nb = (d->width + 7) / 8;
        if (d->end - d->p < nb) return MR_EFORMAT;
        uint32_t v = 0;
        for (int i = 0; i < nb; i++) v |= (uint32_t)d->p[i] << (8 * i);
        d->p += nb;
        if (d->width < 32 && (v >> d->width)) return MR_EFORMAT;
        d->rle_left = (uint32_t)count;
        d->rle_value = v;
    }
    return 0;
}

int mr_pq_rle_is_run(const uint8_t *p, size_t n, int width, size_t count, uint32_t value)
{
    mr_pq_rle d;
    mr_pq_rle_init(&d, p, n, width);
    if (width < 0 || width > 32 || next_run(&d)) return 0;
    return d.rle_left >= count && d.rle_value == value && !d.bp_left;
}

uint64_t mr_pq_rle_run(mr_pq_rle *d, uint32_t *value)
{
    if (d->width < 0 || d->width > 32) return 0;
    if (!d->rle_left && !d->bp_left) {
        mr_pq_rle save = *d;
        if (d->p >= d->end || next_run(d)) {
            *d = save; /* mr_pq_rle_get will report it */
            return 0;
        }
    }
    *value = d->rle_value;
    return d->rle_left;
}

int mr_pq_rle_get(mr_pq_rle *d, uint32_t *out, size_t n)
{
    if (d->width < 0 || d->width > 32) return mr_err(MR_EFORMAT, "bit width %d is out of range", d->width);
    while (n > 0) {
        if (d->rle_left) {
            size_t k = d->rle_left < n ? d->rle_left : n;
            uint32_t v = d->rle_value;
            for (size_t i = 0; i < k; i++) out[i] = v;
            out += k;
            n -= k;
            d->rle_left -= (uint32_t)k;
            continue;
        }
        if (d->bp_left) {
            /* bp_left is a multiple of 8 plus what the caller took last time;
             * the group position is (total - left) values into the run. */
            uint64_t used = (d->bp_left % 8) ? 8 - d->bp_left % 8 : 0;
            if (used) {
                /* Finish a partly consumed group (present: bp_avail counts
                 * whole groups and moves with bp_left). */
                if (d->bp_avail == 0) return mr_err(MR_EFORMAT, "bit-packed run is truncated");
                uint32_t tmp[8];
                const uint8_t *g = d->bp;
                unpack8[d->width](g, tmp);
                size_t k = 8 - used;
                if (k > n) k = n;
                memcpy(out, tmp + used, k * sizeof *out);
                out += k;
                n -= k;
                d->bp_left -= k;
                d->bp_avail -= k;
                if (d->bp_left % 8 == 0) d->bp += d->width;
                continue;
            }
            uint64_t avail = d->bp_avail < d->bp_left ? d->bp_avail : d->bp_left;
            if (avail == 0) return mr_err(MR_EFORMAT, "bit-packed run is truncated");
            size_t whole = (size_t)(n < avail ? n : avail) / 8 * 8;
            if (whole) {
                mr_pq_unpack32(d->bp, d->width, out, whole);
                d->bp += whole / 8 * (size_t)d->width;
                out += whole;
                n -= whole;
                d->bp_left -= whole;
                d->bp_avail -= whole;
                continue;
            }
            /* Fewer than 8 wanted (or available): take part of a group. */
            if (avail < 8) return mr_err(MR_EFORMAT, "bit-packed run is truncated");
            uint32_t tmp[8];
            unpack8[d->width](d->bp, tmp);
            size_t k = n; /* n < 8 here */
            memcpy(out, tmp, k * sizeof *out);
            out += k;
            n -= k;
            d->bp_left -= k;
            d->bp_avail -= k;
            continue;
        }
        if (next_run(d)) return mr_err(MR_EFORMAT, "RLE/bit-packed data ends %zu values early or is corrupt", n);
    }
    return 0;
}

int mr_pq_rle_levels(mr_pq_rle *d, int16_t *out, size_t n, int max_level, size_t *n_max)
{
    uint32_t buf[512];
    size_t at_max = 0;
    if (d->width < 0 || d->width > 16) return mr_err(MR_EFORMAT, "level bit width %d is out of range", d->width);
    while (n > 0) {
        if (!d->rle_left && !d->bp_left && next_run(d))
            return mr_err(MR_EFORMAT, "RLE/bit-packed levels end %zu values early or are corrupt", n);
        if (d->rle_left) {
            /* A run (the common case: all defined) fills without decoding. */
            size_t k = d->rle_left < n ? d->rle_left : n;
            if (d->rle_value > (uint32_t)max_level)
                return mr_err(MR_EFORMAT, "a level is above the column's maximum %d", max_level);
            int16_t v = (int16_t)d->rle_value;
            for (size_t i = 0; i < k; i++) out[i] = v;
            if (d->rle_value == (uint32_t)max_level) at_max += k;
            d->rle_left -= (uint32_t)k;
            out += k;
            n -= k;
            continue;
        }
        size_t k = n < 512 ? n : 512;
        if (k > d->bp_left) k = (size_t)d->bp_left;
        int rc = mr_pq_rle_get(d, buf, k);
        if (rc) return rc;
        uint32_t bad = 0;
        for (size_t i = 0; i < k; i++) {
            bad |= buf[i] > (uint32_t)max_level;
            at_max += buf[i] == (uint32_t)max_level;
            out[i] = (int16_t)buf[i];
        }
        if (bad) return mr_err(MR_EFORMAT, "a level is above the column's maximum %d", max_level);
        out += k;
        n -= k;
    }
    if (n_max) *n_max = at_max;
    return 0;
}

/* ---- DELTA_BINARY_PACKED ---- */

typedef struct {
    uint64_t block, mini, total;
    int64_t first;
} delta_header;

static int delta_header_read(const uint8_t **p, const uint8_t *end, delta_header *h)
{
    uint64_t first;
    if (mr_pq_uleb(p, end, &h->block) || mr_pq_uleb(p, end, &h->mini) || mr_pq_uleb(p, end, &h->total) ||
        mr_pq_uleb(p, end, &first))
        return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED header is truncated");
    h->first = (int64_t)(first >> 1) ^ -(int64_t)(first & 1);
    if (h->block == 0 || h->block % 128 || h->block > (1u << 20) || h->mini == 0 || h->block % h->mini ||
        (h->block / h->mini) % 32)
        return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED header is invalid (block %llu, miniblocks %llu)",
                      (unsigned long long)h->block, (unsigned long long)h->mini);
    return 0;
}

int mr_pq_delta_count(const uint8_t *p, size_t n, uint64_t *count)
{
    delta_header h;
    int rc = delta_header_read(&p, p + n, &h);
    *count = rc ? 0 : h.total;
    return rc;
}

int mr_pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t count, size_t *used)
{
    const uint8_t *start = p, *end = p + n;
    delta_header h;
    int rc = delta_header_read(&p, end, &h);
    if (rc) return rc;
    if (h.total < count)
        return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED data holds %llu values, the page needs %zu",
                      (unsigned long long)h.total, count);
    if (count == 0) {
        *used = (size_t)(p - start);
        return 0;
    }
    uint64_t vpm = h.block / h.mini, last = (uint64_t)h.first;
    out[0] = h.first;
    size_t i = 1;
    uint64_t deltas[64];
    while (i < count) {
        uint64_t mdz;
        if (mr_pq_uleb(&p, end, &mdz)) return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED block is truncated");
        uint64_t min_delta = (uint64_t)((int64_t)(mdz >> 1) ^ -(int64_t)(mdz & 1));
        if ((uint64_t)(end - p) < h.mini) return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED block is truncated");
        const uint8_t *widths = p;
        p += h.mini;
        for (uint64_t m = 0; m < h.mini && i < count; m++) {
            int w = widths[m];
            if (w > 64) return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED bit width %d exceeds 64", w);
            uint64_t bytes = vpm * (uint64_t)w / 8;
            if ((uint64_t)(end - p) < bytes) return mr_err(MR_EFORMAT, "DELTA_BINARY_PACKED miniblock is truncated");
            for (uint64_t j = 0; j < vpm && i < count; j += 32) {
                size_t k = count - i < 32 ? count - i : 32;
                /* 32 values of w bits are exactly 4w bytes, inside the miniblock. */
                unpack64(p + j * (uint64_t)w / 8, w, deltas, k);
                for (size_t q = 0; q < k; q++) {
                    last += min_delta + deltas[q];
                    out[i++] = (int64_t)last;
                }
            }
            p += bytes;
        }
    }
    *used = (size_t)(p - start);
    return 0;
}

/* ---- BYTE_STREAM_SPLIT ---- */

int mr_pq_bss_decode(const uint8_t *p, size_t n, int width, uint8_t *out, size_t count)
{
    if (width <= 0 || count > n / (size_t)width)
        return mr_err(MR_EFORMAT, "BYTE_STREAM_SPLIT data holds %zu bytes, %zu values of %d bytes need more", n,
                      count, width);
    size_t stride = n / (size_t)width; /* each stream's length */
    for (int b = 0; b < width; b++) {
        const uint8_t *s = p + (size_t)b * stride;
        for (size_t i = 0; i < count; i++) out[i * (size_t)width + (size_t)b] = s[i];
    }
    return 0;
}
