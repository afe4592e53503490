/* Parquet codecs. Decompression writes straight into the caller's buffer of
 * the exact uncompressed page size, so a reader allocates once per column
 * chunk and never copies. Each codec checks that the stream fills that
 * buffer exactly; a short or long stream is a corrupt page.
 *
 * LZ4 (codec 5) is a historical mess: parquet-mr writes Hadoop's framing
 * (big-endian uncompressed and compressed sizes before each block), old
 * Arrow wrote a raw block, and some writers used the LZ4 frame format. Like
 * Arrow we try the Hadoop framing first, then the frame format (by its magic
 * number), then a raw block.
 */
#include "parquet/codec.h"

#include <limits.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/err.h"

const char *mr_pq_codec_name(int codec, char buf[16])
{
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                        "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    if (codec >= 0 && codec < (int)(sizeof names / sizeof names[0])) return names[codec];
    snprintf(buf, 16, "codec %d", codec);
    return buf;
}

int mr_pq_codec_supported(int codec)
{
    switch (codec) {
    case MR_PQ_UNCOMPRESSED:
    case MR_PQ_SNAPPY:
    case MR_PQ_GZIP:
    case MR_PQ_LZ4:
    case MR_PQ_ZSTD:
    case MR_PQ_LZ4_RAW: return 1;
    default: return 0;
    }
}

/* ---- compression ---- */

static int reserve(uint8_t **dst, size_t *cap, size_t want)
{
    if (*dst && *cap >= want) return 0;
    uint8_t *p = mr_realloc(*dst, want);
    if (!p) return MR_ENOMEM;
    *dst = p;
    *cap = want;
    return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int gzip_compress(int level, const uint8_t *src, size_t n, uint8_t **dst, size_t *dst_len,
                         size_t *dst_cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip wrapper, which every parquet reader expects. */
    if (deflateInit2(&zs, level > 0 ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return mr_err(MR_ENOMEM, "cannot initialise the gzip compressor");
    size_t bound = deflateBound(&zs, (uLong)n);
    int rc = reserve(dst, dst_cap, bound);
    if (rc) {
        deflateEnd(&zs);
        return rc;
    }
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = *dst;
    zs.avail_out = (uInt)bound;
    int zr = deflate(&zs, Z_FINISH);
    *dst_len = zs.total_out;
    deflateEnd(&zs);
    if (zr != Z_STREAM_END) return mr_err(MR_EFORMAT, "gzip compression failed (zlib code %d)", zr);
    return 0;
}

int mr_pq_compress_level(mr_pq_codec codec, int level, const uint8_t *src, size_t n, uint8_t **dst,
                         size_t *dst_len, size_t *dst_cap)
{
    int rc;
    if (n > (size_t)INT_MAX - 1024) return mr_err(MR_EINVAL, "cannot compress a page of %zu bytes (limit 2 GiB)", n);
    switch (codec) {
    case MR_PQ_UNCOMPRESSED:
        if ((rc = reserve(dst, dst_cap, n))) return rc;
        if (n) memcpy(*dst, src, n);
        *dst_len = n;
        return 0;
    case MR_PQ_SNAPPY: {
        size_t bound = snappy_max_compressed_length(n), out = bound;
        if ((rc = reserve(dst, dst_cap, bound))) return rc;
        if (snappy_compress((const char *)src, n, (char *)*dst, &out) != SNAPPY_OK)
            return mr_err(MR_EFORMAT, "snappy compression failed");
        *dst_len = out;
        return 0;
    }
    case MR_PQ_GZIP: return gzip_compress(level, src, n, dst, dst_len, dst_cap);
    case MR_PQ_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        if ((rc = reserve(dst, dst_cap, bound))) return rc;
        size_t out = ZSTD_compress(*dst, bound, src, n, level > 0 ? level : 3);
        if (ZSTD_isError(out)) return mr_err(MR_EFORMAT, "zstd compression failed: %s", ZSTD_getErrorName(out));
        *dst_len = out;
        return 0;
    }
    case MR_PQ_LZ4_RAW:
    case MR_PQ_LZ4: {
        /* LZ4 gets Hadoop's framing (one block), which parquet-mr, Arrow and
         * DuckDB all read; LZ4_RAW is the bare block. */
        size_t hdr = codec == MR_PQ_LZ4 ? 8 : 0;
        int bound = LZ4_compressBound((int)n);
        if ((rc = reserve(dst, dst_cap, (size_t)bound + hdr))) return rc;
        int out = LZ4_compress_default((const char *)src, (char *)*dst + hdr, (int)n, bound);
        if (out <= 0) return mr_err(MR_EFORMAT, "lz4 compression failed");
        if (hdr) {
            put_be32(*dst, (uint32_t)n);
            put_be32(*dst + 4, (uint32_t)out);
        }
        *dst_len = (size_t)out + hdr;
        return 0;
    }
    default: {
        char buf[16];
        return mr_err(MR_EUNSUPPORTED, "unsupported: compression codec %s", mr_pq_codec_name(codec, buf));
    }
    }
}

int mr_pq_compress(mr_pq_codec codec, const uint8_t *src, size_t n, uint8_t **dst, size_t *dst_len,
                   size_t *dst_cap)
{
    return mr_pq_compress_level(codec, 0, src, n, dst, dst_len, dst_cap);
}

/* ---- decompression ---- */

/* gzip, possibly several concatenated members (the gzip spec allows it and
 * some writers emit one member per flush), or a zlib stream, or raw
 * deflate when neither header is present. */
static int gzip_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t expected)
{
    if (n > UINT_MAX || expected > UINT_MAX) return mr_err(MR_EFORMAT, "gzip page larger than 4 GiB");
    int raw = !(n >= 2 && ((src[0] == 0x1f && src[1] == 0x8b) ||
                           ((src[0] & 0x0f) == 8 && ((src[0] << 8) | src[1]) % 31 == 0)));
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, raw ? -15 : 15 + 32) != Z_OK)
        return mr_err(MR_ENOMEM, "cannot initialise the gzip decompressor");
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)expected;
    int rc = 0;
    for (;;) {
        int zr = inflate(&zs, Z_FINISH);
        if (zr == Z_STREAM_END) {
            /* Another member follows? Skip zero padding some writers leave. */
            while (zs.avail_in && *zs.next_in == 0) zs.next_in++, zs.avail_in--;
            if (zs.avail_in == 0 || raw) break;
            if (inflateReset(&zs) != Z_OK) {
                rc = mr_err(MR_EFORMAT, "gzip data is corrupt");
                break;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && zs.avail_out == 0)
            rc = mr_err(MR_EFORMAT, "gzip data is longer than the page's uncompressed size %zu", expected);
        else
            rc = mr_err(MR_EFORMAT, "gzip data is corrupt (%s)", zs.msg ? zs.msg : "truncated");
        break;
    }
    size_t got = expected - zs.avail_out; /* total_out restarts per member */
    inflateEnd(&zs);
    if (rc) return rc;
    if (got != expected)
        return mr_err(MR_EFORMAT, "gzip data inflates to %zu bytes, the page header says %zu", got, expected);
    return 0;
}

static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t expected)
{
    /* Each frame: be32 uncompressed size, be32 compressed size, then one or
     * more LZ4 blocks whose outputs add up to the uncompressed size (in
     * practice exactly one block). Returns 0 only when everything fits. */
    size_t in = 0, out = 0;
    while (in < n) {
        if (n - in < 8) return -1;
        size_t ulen = get_be32(src + in), clen = get_be32(src + in + 4);
        in += 8;
        if (clen > n - in || ulen > expected - out) return -1;
        int got = LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)clen, (int)ulen);
        if (got < 0 || (size_t)got != ulen) return -1;
        in += clen;
        out += ulen;
    }
    return out == expected ? 0 : -1;
}

static int lz4_frame(const uint8_t *src, size_t n, uint8_t *dst, size_t expected)
{
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return -1;
    size_t in = 0, out = 0;
    int rc = -1;
    for (;;) {
        size_t isz = n - in, osz = expected - out;
        size_t r = LZ4F_decompress(ctx, dst + out, &osz, src + in, &isz, NULL);
        if (LZ4F_isError(r)) break;
        in += isz;
        out += osz;
        if (r == 0) {
            rc = out == expected && in == n ? 0 : -1;
            break;
        }
        if (isz == 0 && osz == 0) break; /* no progress: truncated or too long */
    }
    LZ4F_freeDecompressionContext(ctx);
    return rc;
}

int mr_pq_decompress(mr_pq_codec codec, const uint8_t *src, size_t n, uint8_t *dst,
                     size_t expected_len)
{
    char buf[16];
    switch (codec) {
    case MR_PQ_UNCOMPRESSED:
        if (n != expected_len)
            return mr_err(MR_EFORMAT, "uncompressed page is %zu bytes, the page header says %zu", n, expected_len);
        if (n) memcpy(dst, src, n);
        return 0;
    case MR_PQ_SNAPPY: {
        size_t ulen;
        if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
            return mr_err(MR_EFORMAT, "snappy data is corrupt (bad length header)");
        if (ulen != expected_len)
            return mr_err(MR_EFORMAT, "snappy data holds %zu bytes, the page header says %zu", ulen, expected_len);
        size_t out = expected_len;
        if (snappy_uncompress((const char *)src, n, (char *)dst, &out) != SNAPPY_OK || out != expected_len)
            return mr_err(MR_EFORMAT, "snappy data is corrupt");
        return 0;
    }
    case MR_PQ_GZIP: return gzip_decompress(src, n, dst, expected_len);
    case MR_PQ_ZSTD: {
        /* Several concatenated frames are legal; ZSTD_decompress handles them. */
        size_t out = ZSTD_decompress(dst, expected_len, src, n);
        if (ZSTD_isError(out)) return mr_err(MR_EFORMAT, "zstd data is corrupt: %s", ZSTD_getErrorName(out));
        if (out != expected_len)
            return mr_err(MR_EFORMAT, "zstd data holds %zu bytes, the page header says %zu", out, expected_len);
        return 0;
    }
    case MR_PQ_LZ4_RAW: {
        if (n > INT_MAX || expected_len > INT_MAX) return mr_err(MR_EFORMAT, "lz4 page larger than 2 GiB");
        int out = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)expected_len);
        if (out < 0) return mr_err(MR_EFORMAT, "lz4 data is corrupt");
        if ((size_t)out != expected_len)
            return mr_err(MR_EFORMAT, "lz4 data holds %d bytes, the page header says %zu", out, expected_len);
        return 0;
    }
    case MR_PQ_LZ4: {
        if (n > INT_MAX || expected_len > INT_MAX) return mr_err(MR_EFORMAT, "lz4 page larger than 2 GiB");
        if (lz4_hadoop(src, n, dst, expected_len) == 0) return 0;
        if (n >= 4 && src[0] == 0x04 && src[1] == 0x22 && src[2] == 0x4d && src[3] == 0x18) {
            if (lz4_frame(src, n, dst, expected_len) == 0) return 0;
            return mr_err(MR_EFORMAT, "lz4 frame data is corrupt or does not hold %zu bytes", expected_len);
        }
        int out = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)expected_len);
        if (out < 0 || (size_t)out != expected_len)
            return mr_err(MR_EFORMAT, "lz4 data is corrupt (neither Hadoop-framed nor a raw block of %zu bytes)",
                          expected_len);
        return 0;
    }
    default:
        return mr_err(MR_EUNSUPPORTED, "unsupported: compression codec %s", mr_pq_codec_name(codec, buf));
    }
}
