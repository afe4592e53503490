/* Parquet page compression codecs over Debian's libraries (snappy, zlib,
 * zstd, lz4).
 *
 * Both directions are built for buffer reuse: a reader decompresses every
 * page of a column chunk into one buffer it grows as needed, a writer
 * compresses into one output buffer it keeps between pages. Decompression is
 * strict: the output must be exactly `expected_len` bytes (the page header's
 * uncompressed size), anything else is MR_EFORMAT. All functions are
 * thread-safe (no shared state).
 */
#ifndef MR_PQ_CODEC_H
#define MR_PQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/parquet.h"

/* "SNAPPY", "ZSTD", ...; "codec 9" style text for unknown values. The
 * returned pointer is static for known codecs; for unknown ones it points
 * into buf (16 bytes). */
const char *mr_pq_codec_name(int codec, char buf[16]);

/* 1 if this build can decompress (and compress) `codec`. */
int mr_pq_codec_supported(int codec);

/* Compresses src[0..n) with `codec` at its default level (zstd 3, gzip 6),
 * writing into *dst, which is (re)allocated to hold the worst case when
 * *dst_cap is too small; *dst_len receives the compressed size. *dst may be
 * NULL with *dst_cap 0 on the first call. UNCOMPRESSED copies. */
int mr_pq_compress(mr_pq_codec codec, const uint8_t *src, size_t n, uint8_t **dst, size_t *dst_len,
                   size_t *dst_cap);
/* Same with an explicit level (0 = default; zstd 1..22, gzip 1..9; ignored
 * by snappy and lz4). */
int mr_pq_compress_level(mr_pq_codec codec, int level, const uint8_t *src, size_t n, uint8_t **dst,
                         size_t *dst_len, size_t *dst_cap);

/* Decompresses src[0..n) into dst, which holds exactly expected_len bytes.
 * GZIP accepts concatenated gzip members, zlib and raw deflate streams. LZ4
 * (codec 5) accepts the Hadoop framing, the LZ4 frame format and a raw LZ4
 * block, as parquet-mr and Arrow do. Errors are MR_EFORMAT ("snappy data is
 * corrupt", ...) or MR_EUNSUPPORTED for LZO/BROTLI; callers prefix the
 * column and page. */
int mr_pq_decompress(mr_pq_codec codec, const uint8_t *src, size_t n, uint8_t *dst,
                     size_t expected_len);

#endif
