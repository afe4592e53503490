/* Unit tests of the parquet reader's pieces: codecs, thrift compact
 * decoding, RLE/bit-packing, delta encodings, and bounds on bad input.
 * Expected bytes are computed by hand from the parquet and thrift specs. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/err.h"
#include "mr_test.h"
#include "parquet/codec.h"

static uint8_t *sample(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i * 7) % 13 + (i / 100));
    return p;
}

TEST(pq_codec_roundtrip)
{
    const mr_pq_codec codecs[] = {MR_PQ_UNCOMPRESSED, MR_PQ_SNAPPY, MR_PQ_GZIP, MR_PQ_ZSTD, MR_PQ_LZ4, MR_PQ_LZ4_RAW};
    const size_t sizes[] = {0, 1, 1000, 300000};
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++)
        for (size_t s = 0; s < 4; s++) {
            size_t n = sizes[s];
            uint8_t *src = sample(n), *back = malloc(n + 1);
            CHECK_OK(mr_pq_compress(codecs[c], src, n, &buf, &len, &cap));
            CHECK_OK(mr_pq_decompress(codecs[c], buf, len, back, n));
            CHECK(n == 0 || memcmp(src, back, n) == 0);
            /* A wrong expected size is an error, never an overflow. */
            if (n > 0) CHECK(mr_pq_decompress(codecs[c], buf, len, back, n - 1) != 0);
            free(src);
            free(back);
        }
    free(buf);
}

TEST(pq_codec_gzip_concatenated_members)
{
    /* Two gzip members back to back inflate to the concatenation. */
    uint8_t a[] = "hello ", b[] = "world";
    uint8_t *g1 = NULL, *g2 = NULL;
    size_t l1, l2, c1 = 0, c2 = 0;
    REQUIRE_OK(mr_pq_compress(MR_PQ_GZIP, a, 6, &g1, &l1, &c1));
    REQUIRE_OK(mr_pq_compress(MR_PQ_GZIP, b, 5, &g2, &l2, &c2));
    uint8_t *cat = malloc(l1 + l2);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    uint8_t out[11];
    CHECK_OK(mr_pq_decompress(MR_PQ_GZIP, cat, l1 + l2, out, 11));
    CHECK(memcmp(out, "hello world", 11) == 0);
    /* Truncated second member. */
    CHECK_ERR(mr_pq_decompress(MR_PQ_GZIP, cat, l1 + l2 - 3, out, 11), "gzip");
    /* zlib-wrapped data is accepted too. */
    uLongf zl = compressBound(11);
    uint8_t z[64];
    compress(z, &zl, (const Bytef *)"hello world", 11);
    CHECK_OK(mr_pq_decompress(MR_PQ_GZIP, z, zl, out, 11));
    CHECK(memcmp(out, "hello world", 11) == 0);
    free(g1);
    free(g2);
    free(cat);
}

TEST(pq_codec_corrupt)
{
    uint8_t junk[64], out[128];
    for (int i = 0; i < 64; i++) junk[i] = (uint8_t)(i * 37 + 11);
    CHECK_ERR(mr_pq_decompress(MR_PQ_SNAPPY, junk, 64, out, 128), "snappy");
    CHECK_ERR(mr_pq_decompress(MR_PQ_ZSTD, junk, 64, out, 128), "zstd");
    CHECK_ERR(mr_pq_decompress(MR_PQ_GZIP, junk, 64, out, 128), "gzip");
    CHECK_ERR(mr_pq_decompress(MR_PQ_LZ4_RAW, junk, 64, out, 128), "lz4");
    CHECK_ERR(mr_pq_decompress(MR_PQ_LZ4, junk, 64, out, 128), "lz4");
    CHECK_ERR(mr_pq_decompress(MR_PQ_BROTLI, junk, 64, out, 128), "unsupported: compression codec BROTLI");
    CHECK_ERR(mr_pq_decompress(MR_PQ_UNCOMPRESSED, junk, 64, out, 63), "uncompressed");
}

TEST(pq_codec_lz4_raw_block_fallback)
{
    /* Codec 5 written as a bare block (old Arrow) is still read. */
    uint8_t *src = sample(5000), *blk = NULL, back[5000];
    size_t len, cap = 0;
    REQUIRE_OK(mr_pq_compress(MR_PQ_LZ4_RAW, src, 5000, &blk, &len, &cap));
    CHECK_OK(mr_pq_decompress(MR_PQ_LZ4, blk, len, back, 5000));
    CHECK(memcmp(src, back, 5000) == 0);
    free(src);
    free(blk);
}
