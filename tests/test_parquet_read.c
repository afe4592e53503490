/* Unit tests of the parquet reader's pieces: codecs, thrift compact
 * decoding, RLE/bit-packing, delta encodings, and bounds on bad input.
 * Expected bytes are computed by hand from the parquet and thrift specs. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/err.h"
#include "mr_test.h"
#include "base/fs.h"
#include "data/pqcol.h"
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

/* ---- thrift compact protocol ---- */
#include "parquet/decode.h"
#include "parquet/parquet.h"
#include "parquet/thrift_read.h"

TEST(pq_thrift_fields)
{
    /* field 1 i32 = 2 (short form: delta 1, type 5; zigzag 4), field 2
     * binary "abc", field 10 i32 = 3 in the long form (type byte 0x05, then
     * zigzag i16 id 20), an unknown field 11 holding a map<i32,string> of one
     * entry which must be skipped, field 12 a nested struct with a bool
     * true, then STOP. */
    const uint8_t b[] = {0x15, 0x04, 0x18, 0x03, 'a', 'b', 'c', 0x05, 0x14, 0x06,
                         0x1b, 0x01, 0x58, 0x02, 0x01, 'x', 0x1c, 0x11, 0x00, 0x00};
    mr_thrift t;
    mr_thrift_init(&t, b, sizeof b);
    int16_t last, id;
    int type, seen = 0;
    mr_thrift_struct_begin(&t, &last);
    while (mr_thrift_field(&t, &last, &id, &type)) {
        if (id == 1) { CHECK_INT(mr_thrift_i32(&t, type), 2); seen |= 1; }
        else if (id == 2) {
            const uint8_t *s;
            size_t n = mr_thrift_binary(&t, type, &s);
            CHECK(n == 3 && memcmp(s, "abc", 3) == 0);
            seen |= 2;
        } else if (id == 10) { CHECK_INT(mr_thrift_i32(&t, type), 3); seen |= 4; }
        else if (id == 12) {
            int16_t l2, id2;
            int t2;
            mr_thrift_struct_begin(&t, &l2);
            REQUIRE(mr_thrift_field(&t, &l2, &id2, &t2));
            CHECK_INT(id2, 1);
            CHECK_INT(mr_thrift_bool(&t, t2), 1);
            CHECK(!mr_thrift_field(&t, &l2, &id2, &t2));
            mr_thrift_struct_end(&t);
            seen |= 8;
        } else mr_thrift_skip(&t, type);
    }
    mr_thrift_struct_end(&t);
    CHECK_INT(t.err, 0);
    CHECK_INT(seen, 15);
    CHECK(t.p == b + sizeof b);
}

TEST(pq_thrift_bounds)
{
    /* A string longer than the buffer, a list claiming more elements than
     * bytes, a truncated varint, and structs nested past the depth limit
     * all fail without reading past the end. */
    const uint8_t s[] = {0x18, 0x7f, 'a'};
    mr_thrift t;
    int16_t last, id;
    int type;
    const uint8_t *p;
    mr_thrift_init(&t, s, sizeof s);
    mr_thrift_struct_begin(&t, &last);
    REQUIRE(mr_thrift_field(&t, &last, &id, &type));
    mr_thrift_binary(&t, type, &p);
    CHECK(t.err);

    const uint8_t l[] = {0x19, 0xf5, 0xff, 0xff, 0x0f, 0x01}; /* list<i32> of 33554431 */
    mr_thrift_init(&t, l, sizeof l);
    mr_thrift_struct_begin(&t, &last);
    REQUIRE(mr_thrift_field(&t, &last, &id, &type));
    int et;
    CHECK_INT(mr_thrift_list(&t, type, &et), 0);
    CHECK(t.err);

    const uint8_t v[] = {0x16, 0xff, 0xff};
    mr_thrift_init(&t, v, sizeof v);
    mr_thrift_struct_begin(&t, &last);
    REQUIRE(mr_thrift_field(&t, &last, &id, &type));
    mr_thrift_int(&t, type);
    CHECK(t.err);

    uint8_t deep[200];
    for (int i = 0; i < 200; i++) deep[i] = 0x1c; /* field +1, struct, forever */
    mr_thrift_init(&t, deep, sizeof deep);
    mr_thrift_skip(&t, MR_T_STRUCT);
    CHECK(t.err);

    /* i32 field holding a value beyond int32 */
    const uint8_t big[] = {0x15, 0x80, 0x80, 0x80, 0x80, 0x20};
    mr_thrift_init(&t, big, sizeof big);
    mr_thrift_struct_begin(&t, &last);
    REQUIRE(mr_thrift_field(&t, &last, &id, &type));
    mr_thrift_i32(&t, type);
    CHECK(t.err);
}

/* ---- RLE / bit-packed hybrid ---- */

TEST(pq_rle_spec_example)
{
    /* The spec's bit-packed example: width 3, values 0..7 pack into
     * 10001000 11000110 11111010; then an RLE run of five 4s. */
    const uint8_t b[] = {0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x04};
    mr_pq_rle d;
    uint32_t out[13];
    mr_pq_rle_init(&d, b, sizeof b, 3);
    /* Read in uneven pieces to cross group and run boundaries. */
    REQUIRE_OK(mr_pq_rle_get(&d, out, 3));
    REQUIRE_OK(mr_pq_rle_get(&d, out + 3, 6));
    REQUIRE_OK(mr_pq_rle_get(&d, out + 9, 4));
    const uint32_t want[13] = {0, 1, 2, 3, 4, 5, 6, 7, 4, 4, 4, 4, 4};
    for (int i = 0; i < 13; i++) CHECK_INT(out[i], want[i]);
    CHECK_ERR(mr_pq_rle_get(&d, out, 1), "ends");
}

TEST(pq_rle_truncated_and_invalid)
{
    /* A bit-packed run claiming 2 groups (16 values) with only 3 bytes (one
     * group) yields 8 values, the 9th is an error. */
    const uint8_t b[] = {0x05, 0x88, 0xc6, 0xfa};
    mr_pq_rle d;
    uint32_t out[16];
    mr_pq_rle_init(&d, b, sizeof b, 3);
    CHECK_OK(mr_pq_rle_get(&d, out, 8));
    CHECK_INT(out[7], 7);
    CHECK(mr_pq_rle_get(&d, out, 1) != 0);
    /* An RLE value wider than the bit width is corrupt. */
    const uint8_t r[] = {0x04, 0x09};
    mr_pq_rle_init(&d, r, sizeof r, 3);
    CHECK(mr_pq_rle_get(&d, out, 2) != 0);
    /* Levels above the maximum are rejected. */
    const uint8_t lv[] = {0x04, 0x02};
    int16_t levels[2];
    mr_pq_rle_init(&d, lv, sizeof lv, 2);
    CHECK_ERR(mr_pq_rle_levels(&d, levels, 2, 1, NULL), "maximum");
    /* Counting the levels at the maximum, across an RLE and a packed run. */
    const uint8_t mix[] = {0x06, 0x01, 0x03, 0x5a}; /* 3 x 1, then 8 bits 0,1,0,1,1,0,1,0 */
    int16_t lv8[11];
    size_t at;
    mr_pq_rle_init(&d, mix, sizeof mix, 1);
    REQUIRE_OK(mr_pq_rle_levels(&d, lv8, 11, 1, &at));
    CHECK_INT(at, 3 + 4);
    CHECK_INT(lv8[3], 0);
    CHECK_INT(lv8[4], 1);
}

TEST(pq_unpack_all_widths)
{
    /* Pack pseudo-random values per width with a bit-at-a-time packer (LSB
     * first) and unpack them with the width-specialised kernels: every
     * count of 8-value groups from 1 to 40, so both the vector loop and the
     * scalar tail it leaves run, from a heap buffer of exactly the packed
     * size (ASan catches a read past it). */
    for (int w = 0; w <= 32; w++)
        for (size_t n = 8; n <= 320; n += 8) {
            uint32_t vals[320], out[320];
            size_t nb = n * (size_t)w / 8;
            uint8_t *buf = calloc(nb + 1, 1);
            uint64_t x = 88172645463325252ull + (uint64_t)w * 1000 + n;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                vals[i] = w == 32 ? (uint32_t)x : (uint32_t)(x & ((1ull << w) - 1));
                for (int b = 0; b < w; b++)
                    if (vals[i] >> b & 1) buf[(i * (size_t)w + (size_t)b) / 8] |= (uint8_t)(1u << ((i * (size_t)w + (size_t)b) % 8));
            }
            uint8_t *exact = malloc(nb ? nb : 1);
            memcpy(exact, buf, nb);
            mr_pq_unpack32(exact, w, out, n);
            int ok = 1;
            for (size_t i = 0; i < n; i++) ok &= out[i] == vals[i];
            if (!ok) mr_test_fail(__FILE__, __LINE__, "unpack of width %d, %zu values differs", w, n);
            free(buf);
            free(exact);
        }
}

/* ---- DELTA_BINARY_PACKED (the spec's examples) ---- */

TEST(pq_delta_spec_examples)
{
    /* 1,2,3,4,5: block 128, 4 miniblocks, 5 values, first 1; min delta 1 and
     * all widths 0, so no miniblock data. */
    const uint8_t a[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    int64_t out[8];
    size_t used;
    REQUIRE_OK(mr_pq_delta_decode(a, sizeof a, out, 5, &used));
    for (int i = 0; i < 5; i++) CHECK_INT(out[i], i + 1);
    CHECK_INT(used, sizeof a);
    /* 7,5,3,1,2,3,4,5: deltas -2,-2,-2,1,1,1,1, min delta -2, relative
     * 0,0,0,3,3,3,3 at width 2: bytes 0xc0 0x3f then zero padding to 32
     * values (8 bytes). */
    const uint8_t b[] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 2, 0, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0, 0, 0};
    REQUIRE_OK(mr_pq_delta_decode(b, sizeof b, out, 8, &used));
    const int64_t want[8] = {7, 5, 3, 1, 2, 3, 4, 5};
    for (int i = 0; i < 8; i++) CHECK_INT(out[i], want[i]);
    CHECK_INT(used, sizeof b);
    /* Truncated miniblock, more values asked than the header holds, and an
     * invalid block size are errors. */
    CHECK(mr_pq_delta_decode(b, sizeof b - 1, out, 8, &used) != 0);
    CHECK_ERR(mr_pq_delta_decode(a, sizeof a, out, 6, &used), "holds 5 values");
    const uint8_t c[] = {0x81, 0x01, 0x04, 0x05, 0x02};
    CHECK_ERR(mr_pq_delta_decode(c, sizeof c, out, 1, &used), "invalid");
}

TEST(pq_byte_stream_split)
{
    /* Two floats 1.0f (0x3f800000) and -2.0f (0xc0000000): stream k holds
     * byte k of each value. */
    const uint8_t b[] = {0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3f, 0xc0};
    float out[2];
    REQUIRE_OK(mr_pq_bss_decode(b, sizeof b, 4, (uint8_t *)out, 2));
    CHECK(out[0] == 1.0f && out[1] == -2.0f);
    CHECK(mr_pq_bss_decode(b, 7, 4, (uint8_t *)out, 2) != 0);
}

/* ---- whole files ---- */

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)sz + 1);
    *n = fread(p, 1, (size_t)sz, f);
    fclose(f);
    return p;
}

TEST(pq_read_alltypes_plain)
{
    /* parquet-testing's alltypes_plain: 8 rows, ids 4,5,6,7,2,3,0,1 (as its
     * README and every reader agree), bool_col alternating true/false. */
    char path[1024];
    snprintf(path, sizeof path, "%s/data/alltypes_plain.parquet", mr_test_parquet_testing());
    mr_pq_reader *r;
    REQUIRE_OK(mr_pq_open(&r, path));
    CHECK_INT(mr_pq_num_rows(r), 8);
    int id, b;
    REQUIRE_OK(mr_pq_require(r, "id", &id));
    REQUIRE_OK(mr_pq_require(r, "bool_col", &b));
    CHECK_ERR(mr_pq_require(r, "nope", &b), "no column 'nope'");
    REQUIRE_OK(mr_pq_require(r, "bool_col", &b));
    int64_t ids[8];
    REQUIRE_OK(mr_pq_read_all_i64(r, id, ids));
    const int64_t want[8] = {4, 5, 6, 7, 2, 3, 0, 1};
    for (int i = 0; i < 8; i++) CHECK_INT(ids[i], want[i]);
    mr_pq_col c;
    REQUIRE_OK(mr_pq_read(r, 0, b, &c));
    CHECK_INT(c.n_slots, 8);
    for (int i = 0; i < 8; i++) CHECK_INT(((uint8_t *)c.values)[i], i % 2 == 0);
    mr_pq_col_free(&c);
    mr_pq_close(r);
}

TEST(pq_open_every_prefix)
{
    /* Every truncation of a real file opens cleanly or fails cleanly; the
     * ones that open read cleanly or fail cleanly (ASan checks the rest). */
    char path[1024];
    snprintf(path, sizeof path, "%s/data/datapage_v2.snappy.parquet", mr_test_parquet_testing());
    size_t n;
    uint8_t *all = slurp(path, &n);
    REQUIRE(all);
    int opened = 0;
    for (size_t len = 0; len <= n; len++) {
        uint8_t *p = malloc(len + 1);
        memcpy(p, all, len);
        mr_pq_reader *r;
        if (mr_pq_open_mem(&r, p, len, "prefix") == 0) {
            opened++;
            for (int c = 0; c < mr_pq_num_columns(r); c++) {
                mr_pq_col col;
                if (mr_pq_read(r, 0, c, &col) == 0) mr_pq_col_free(&col);
            }
            mr_pq_close(r);
        } else {
            CHECK(strlen(mr_errmsg()) > 0);
        }
        free(p);
    }
    CHECK_INT(opened, 1); /* only the whole file has its footer at the end */
    /* Flip each byte of the file in turn: no crash, any outcome. */
    for (size_t i = 0; i < n; i++) {
        all[i] ^= 0xa5;
        mr_pq_reader *r;
        if (mr_pq_open_mem(&r, all, n, "flipped") == 0) {
            for (int c = 0; c < mr_pq_num_columns(r); c++) {
                mr_pq_col col;
                if (mr_pq_read(r, 0, c, &col) == 0) mr_pq_col_free(&col);
            }
            mr_pq_close(r);
        }
        all[i] ^= 0xa5;
    }
    free(all);
}

TEST(pq_read_into_matches_read)
{
    /* mr_pq_read_into gives the same values and null flags as mr_pq_read,
     * and without a valid array a null is an error naming the column. */
    char path[1024];
    snprintf(path, sizeof path, "%s/data/int32_with_null_pages.parquet", mr_test_parquet_testing());
    mr_pq_reader *r;
    REQUIRE_OK(mr_pq_open(&r, path));
    int col;
    REQUIRE_OK(mr_pq_require(r, "int32_field", &col));
    int64_t rows = mr_pq_row_group_rows(r, 0);
    REQUIRE(rows > 0);
    mr_pq_col c;
    REQUIRE_OK(mr_pq_read(r, 0, col, &c));
    REQUIRE(c.valid);
    int32_t *dst = malloc((size_t)rows * 4);
    uint8_t *valid = malloc((size_t)rows);
    REQUIRE_OK(mr_pq_read_into(r, 0, col, dst, valid));
    int same = 1, nulls = 0;
    for (int64_t i = 0; i < rows; i++) {
        same &= valid[i] == c.valid[i] && dst[i] == ((int32_t *)c.values)[i];
        nulls += !valid[i];
    }
    CHECK(same);
    CHECK(nulls > 0);
    CHECK_ERR(mr_pq_read_into(r, 0, col, dst, NULL), "has nulls");
    mr_pq_col_free(&c);
    free(dst);
    free(valid);
    mr_pq_close(r);
}

TEST(pq_rle_run_peek)
{
    /* An RLE run of five 4s, a bit-packed group, an RLE run of three 2s
     * (width 3): the peek reports runs only, and taking from a run by
     * lowering rle_left leaves the stream where mr_pq_rle_get expects it. */
    const uint8_t b[] = {0x0a, 0x04, 0x03, 0x88, 0xc6, 0xfa, 0x06, 0x02};
    mr_pq_rle d;
    uint32_t v = 99, out[8];
    mr_pq_rle_init(&d, b, sizeof b, 3);
    CHECK_INT(mr_pq_rle_run(&d, &v), 5);
    CHECK_INT(v, 4);
    d.rle_left -= 2;
    CHECK_INT(mr_pq_rle_run(&d, &v), 3);
    REQUIRE_OK(mr_pq_rle_get(&d, out, 4)); /* 4, 4, 4, then the group's 0 */
    CHECK(out[0] == 4 && out[2] == 4 && out[3] == 0);
    CHECK_INT(mr_pq_rle_run(&d, &v), 0); /* inside the bit-packed group */
    REQUIRE_OK(mr_pq_rle_get(&d, out, 7));
    CHECK_INT(out[6], 7);
    CHECK_INT(mr_pq_rle_run(&d, &v), 3);
    CHECK_INT(v, 2);
    d.rle_left = 0;
    CHECK_INT(mr_pq_rle_run(&d, &v), 0); /* the end */
    CHECK_ERR(mr_pq_rle_get(&d, out, 1), "ends");
    /* A bad header is left for mr_pq_rle_get to report, not skipped. */
    const uint8_t bad[] = {0x00, 0x01};
    mr_pq_rle_init(&d, bad, sizeof bad, 3);
    CHECK_INT(mr_pq_rle_run(&d, &v), 0);
    CHECK(mr_pq_rle_get(&d, out, 1) != 0);
}

TEST(pqc_read_narrow)
{
    /* Our writer's INT32, INT(16), INT64, DATE and TIMESTAMP(ns) columns,
     * read back narrowed by the pipeline's reader, with the range check
     * naming the value. */
    enum { N = 3000 };
    int32_t a[N], s16[N], day[N];
    int64_t b[N], ts[N];
    for (int i = 0; i < N; i++) {
        a[i] = i * 7 - 100;
        s16[i] = (i % 500) - 250;
        b[i] = (int64_t)i * 1000003 - 5;
        day[i] = 19000 + i % 365;
        ts[i] = (int64_t)(i - 1500) * 43200000000000LL + (i % 3) - 1; /* half days around 1970 */
    }
    uint8_t tvalid[N];
    memset(tvalid, 1, sizeof tvalid);
    tvalid[N - 1] = 0;
    mr_pq_field f[5] = {{.name = "a", .type = MR_PQ_W_I32},
                        {.name = "s", .type = MR_PQ_W_I32, .bit_width = 16},
                        {.name = "b", .type = MR_PQ_W_I64},
                        {.name = "d", .type = MR_PQ_W_DATE},
                        {.name = "t", .type = MR_PQ_W_TS_NS, .nullable = 1}};
    mr_pq_col c[5] = {{.n_rows = N, .values = a}, {.n_rows = N, .values = s16}, {.n_rows = N, .values = b},
                      {.n_rows = N, .values = day}, {.n_rows = N, .values = ts, .valid = tvalid}};
    char *path = mr_path_join(mr_test_tmpdir(), "narrow.parquet");
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.row_group_rows = 1000;
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 5, &o));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_pq_reader *r;
    REQUIRE_OK(mr_pq_open(&r, path));
    REQUIRE(mr_pq_num_row_groups(r) == 3);
    int32_t o32[1000];
    int16_t o16[1000];
    int64_t o64[1000];
    int ok = 1;
    for (int g = 0; g < 3; g++) {
        int base = g * 1000;
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 0, MR_PQC_INT, o32, 4, INT32_MIN, INT32_MAX)); /* direct */
        for (int i = 0; i < 1000; i++) ok &= o32[i] == a[base + i];
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 0, MR_PQC_INT, o16, 2, -32768, 32767));
        for (int i = 0; i < 1000; i++) ok &= o16[i] == (int16_t)a[base + i];
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 0, MR_PQC_INT, o64, 8, INT64_MIN, INT64_MAX));
        for (int i = 0; i < 1000; i++) ok &= o64[i] == a[base + i];
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 1, MR_PQC_INT, o16, 2, INT16_MIN, INT16_MAX));
        for (int i = 0; i < 1000; i++) ok &= o16[i] == s16[base + i];
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 2, MR_PQC_INT, o64, 8, INT64_MIN, INT64_MAX)); /* direct */
        for (int i = 0; i < 1000; i++) ok &= o64[i] == b[base + i];
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 3, MR_PQC_DAY, o32, 4, INT32_MIN, INT32_MAX));
        for (int i = 0; i < 1000; i++) ok &= o32[i] == day[base + i];
        /* nanoseconds to days, rounding down before 1970 too */
        if (g == 2) continue; /* holds a null */
        REQUIRE_OK(mr_pqc_read_narrow(r, g, 4, MR_PQC_DAY, o32, 4, INT32_MIN, INT32_MAX));
        for (int i = 0; i < 1000; i++) {
            int64_t t = ts[base + i], want = t / 86400000000000LL - (t % 86400000000000LL < 0);
            ok &= o32[i] == want;
        }
    }
    CHECK(ok);
    /* Out of range: the first offending value, the column and row group. */
    CHECK_ERR(mr_pqc_read_narrow(r, 1, 0, MR_PQC_INT, o32, 4, 0, 10000), "column a: value 10001 in row group 1 is outside 0..10000");
    CHECK_ERR(mr_pqc_read_narrow(r, 0, 0, MR_PQC_INT, o16, 2, 0, 32767), "value -100 in row group 0");
    CHECK_ERR(mr_pqc_read_narrow(r, 2, 2, MR_PQC_INT, o32, 4, INT32_MIN, INT32_MAX), "outside");
    CHECK_ERR(mr_pqc_read_narrow(r, 0, 3, MR_PQC_DAY, o16, 2, 0, 19100), "value 19101 in row group 0");
    CHECK_ERR(mr_pqc_read_narrow(r, 0, 0, MR_PQC_INT, o32, 3, 0, 1), "cannot be read as 3-byte");
    CHECK_ERR(mr_pqc_read_narrow(r, 2, 4, MR_PQC_DAY, o32, 4, INT32_MIN, INT32_MAX), "has nulls");
    mr_pq_close(r);
    free(path);
}
