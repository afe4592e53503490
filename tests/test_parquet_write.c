/* Unit tests of the parquet writer: the encoders against bytes computed by
 * hand from the parquet and thrift specifications, and the writer's error
 * handling. The values written are checked by independent readers in
 * tests/e2e/parquet_roundtrip.sh (DuckDB, hyparquet). */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fs.h"
#include "mr_test.h"
#include "parquet/encode.h"
#include "parquet/parquet.h"
#include "parquet/thrift_write.h"

/* Compares a buffer with expected bytes, printing both on a mismatch. */
static void check_bytes(const char *what, const mr_pq_obuf *b, const uint8_t *want, size_t n,
                        int line)
{
    if (b->n == n && memcmp(b->p, want, n) == 0) return;
    char got[256] = "", exp[256] = "";
    for (size_t i = 0; i < b->n && i < 40; i++) sprintf(got + 3 * i, "%02x ", b->p[i]);
    for (size_t i = 0; i < n && i < 40; i++) sprintf(exp + 3 * i, "%02x ", want[i]);
    mr_test_fail(__FILE__, line, "%s: got [%s] expected [%s]", what, got, exp);
}
#define CHECK_BYTES(what, buf, ...)                                                                \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        check_bytes(what, buf, want_, sizeof want_, __LINE__);                                     \
    } while (0)

TEST(pq_uvarint_zigzag)
{
    mr_pq_obuf b = {0};
    mr_pq_obuf_uvarint(&b, 0);
    mr_pq_obuf_uvarint(&b, 1);
    mr_pq_obuf_uvarint(&b, 127);
    mr_pq_obuf_uvarint(&b, 128);
    mr_pq_obuf_uvarint(&b, 300);
    CHECK_BYTES("uvarint", &b, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02);
    b.n = 0;
    mr_pq_obuf_uvarint(&b, UINT64_MAX); /* 64 bits: nine 7-bit groups and one bit */
    CHECK_BYTES("uvarint max", &b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    CHECK_INT(mr_pq_zigzag(0), 0);
    CHECK_INT(mr_pq_zigzag(-1), 1);
    CHECK_INT(mr_pq_zigzag(1), 2);
    CHECK_INT(mr_pq_zigzag(-2), 3);
    CHECK(mr_pq_zigzag(INT64_MIN) == UINT64_MAX);
    CHECK(mr_pq_zigzag(INT64_MAX) == UINT64_MAX - 1);
    mr_pq_obuf_free(&b);
}

TEST(pq_thrift_compact)
{
    mr_pq_obuf b = {0};
    mr_pq_tw t;
    mr_pq_tw_init(&t, &b);
    mr_pq_tw_i32(&t, 1, 5);              /* delta 1, type 5: 0x15, zigzag 10 */
    mr_pq_tw_struct(&t, 2);              /* delta 1, type 12: 0x1c */
    mr_pq_tw_i32(&t, 1, 7);              /* inner: 0x15 0x0e */
    mr_pq_tw_end(&t);                    /* 0x00 */
    mr_pq_tw_i64(&t, 4, -1);             /* delta 2 from 2, type 6: 0x26 0x01 */
    mr_pq_tw_bool(&t, 20, 1);            /* delta 16 > 15: long form 0x01, zigzag(20)=40 0x28 */
    mr_pq_tw_list(&t, 21, MR_TC_I32, 3); /* 0x19, size 3 type 5: 0x35 */
    mr_pq_tw_elem_i32(&t, 1);
    mr_pq_tw_elem_i32(&t, -2);
    mr_pq_tw_elem_i32(&t, 3);         /* 02 03 06 */
    mr_pq_tw_binary(&t, 22, "hi", 2); /* 0x18 0x02 'h' 'i' */
    mr_pq_tw_i8(&t, 23, -3);          /* 0x13 0xfd */
    mr_pq_tw_i16(&t, 24, 300);        /* 0x14 zigzag 600 = 0xd8 0x04 */
    mr_pq_tw_bool(&t, 25, 0);         /* 0x12 */
    mr_pq_tw_end(&t);
    CHECK_BYTES("compact struct", &b, 0x15, 0x0a, 0x1c, 0x15, 0x0e, 0x00, 0x26, 0x01, 0x01, 0x28,
                0x19, 0x35, 0x02, 0x03, 0x06, 0x18, 0x02, 'h', 'i', 0x13, 0xfd, 0x14, 0xd8, 0x04,
                0x12, 0x00);
    CHECK_INT(mr_pq_obuf_ok(&b), 0);

    /* a list of 20 elements takes the long header (0xF0 | type, varint size);
     * struct elements restart field ids at 0; a field id going down uses the
     * long form */
    b.n = 0;
    mr_pq_tw_init(&t, &b);
    mr_pq_tw_list(&t, 1, MR_TC_BINARY, 20);
    CHECK_BYTES("long list", &b, 0x19, 0xf8, 0x14);
    b.n = 0;
    mr_pq_tw_init(&t, &b);
    mr_pq_tw_list(&t, 2, MR_TC_STRUCT, 1);
    mr_pq_tw_begin(&t);
    mr_pq_tw_i32(&t, 3, 1);
    mr_pq_tw_end(&t);
    mr_pq_tw_i32(&t, 1, 0);
    CHECK_BYTES("struct elem", &b, 0x29, 0x1c, 0x35, 0x02, 0x00, 0x05, 0x02, 0x00);
    mr_pq_obuf_free(&b);
}

TEST(pq_bit_width)
{
    CHECK_INT(mr_pq_bit_width(0), 0);
    CHECK_INT(mr_pq_bit_width(1), 1);
    CHECK_INT(mr_pq_bit_width(2), 2);
    CHECK_INT(mr_pq_bit_width(3), 2);
    CHECK_INT(mr_pq_bit_width(255), 8);
    CHECK_INT(mr_pq_bit_width(256), 9);
    CHECK_INT(mr_pq_bit_width(UINT32_MAX), 32);
}

TEST(pq_rle_hybrid)
{
    mr_pq_obuf b = {0};
    /* ten 5s, width 3: one RLE run, header 10 << 1, value in one byte */
    uint32_t run[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    mr_pq_rle_u32(&b, run, 10, 3);
    CHECK_BYTES("rle run", &b, 0x14, 0x05);

    /* 0..7 width 3: the spec's bit-packing example, one group (header 1<<1|1) */
    b.n = 0;
    uint32_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    mr_pq_rle_u32(&b, seq, 8, 3);
    CHECK_BYTES("bitpacked 0..7", &b, 0x03, 0x88, 0xc6, 0xfa);

    /* 1,2,3 then thirteen 7s: the literals borrow five 7s to fill a group of
     * 8 (bits 001 010 011 111 111 111 111 111 LSB first: d1 fe ff), then an
     * RLE run of the remaining eight 7s */
    b.n = 0;
    uint32_t mix[16] = {1, 2, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    mr_pq_rle_u32(&b, mix, 16, 3);
    CHECK_BYTES("literals then run", &b, 0x03, 0xd1, 0xfe, 0xff, 0x10, 0x07);

    /* 1,2,3 then twelve 7s: after borrowing five, seven 7s are too few for a
     * run, so all 15 values are bit-packed in 2 groups (last padded with 0) */
    b.n = 0;
    mr_pq_rle_u32(&b, mix, 15, 3);
    CHECK_BYTES("short run stays packed", &b, 0x05, 0xd1, 0xfe, 0xff, 0xff, 0xff, 0x1f);

    /* a trailing partial group is zero-padded */
    b.n = 0;
    uint8_t lv[3] = {1, 0, 1};
    mr_pq_rle_u8(&b, lv, 3, 1);
    CHECK_BYTES("partial group", &b, 0x03, 0x05);

    /* width 1 fast path: alternating 1,0 over two groups */
    b.n = 0;
    uint8_t alt[16];
    for (int i = 0; i < 16; i++) alt[i] = (uint8_t)(i % 2 == 0);
    mr_pq_rle_u8(&b, alt, 16, 1);
    CHECK_BYTES("width 1", &b, 0x05, 0x55, 0x55);

    /* a run, literals, a run: 8 ones, then 0 1 0, then 9 zeros (width 1) */
    b.n = 0;
    uint8_t lv2[20] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    mr_pq_rle_u8(&b, lv2, 20, 1);
    /* a run of 8 ones (0x10 0x01); then 0,1 and a run of ten 0s: borrowing
     * six 0s to fill the group leaves four, too few for a run, so all twelve
     * values are bit-packed in two groups (0b00000010, 0) */
    CHECK_BYTES("run literals run", &b, 0x10, 0x01, 0x05, 0x02, 0x00);

    /* width 20 RLE value takes 3 bytes; width 0 writes no value bytes */
    b.n = 0;
    uint32_t wide[9];
    for (int i = 0; i < 9; i++) wide[i] = 0xFFFFF;
    mr_pq_rle_u32(&b, wide, 9, 20);
    CHECK_BYTES("wide run", &b, 0x12, 0xff, 0xff, 0x0f);
    b.n = 0;
    mr_pq_rle_u32(&b, wide, 0, 20);
    CHECK_INT(b.n, 0);

    /* width 32 bit-packing keeps all bits */
    b.n = 0;
    uint32_t big[2] = {0xDEADBEEF, 1};
    mr_pq_rle_u32(&b, big, 2, 32);
    CHECK_INT(b.n, 1 + 32);
    CHECK(b.p[0] == 0x03 && b.p[1] == 0xef && b.p[4] == 0xde && b.p[5] == 0x01 && b.p[32] == 0);
    mr_pq_obuf_free(&b);
}

TEST(pq_plain)
{
    mr_pq_obuf b = {0};
    int32_t v[4] = {1, -1, 258, 7};
    uint8_t valid[4] = {1, 0, 1, 1};
    mr_pq_plain_fixed(&b, v, 4, valid, 0, 3); /* skips the null slot 1 */
    CHECK_BYTES("plain int32", &b, 0x01, 0, 0, 0, 0x02, 0x01, 0, 0);
    b.n = 0;
    mr_pq_plain_fixed(&b, v, 4, NULL, 1, 2);
    CHECK_BYTES("plain int32 no nulls", &b, 0xff, 0xff, 0xff, 0xff);

    b.n = 0;
    uint8_t bools[10] = {1, 0, 1, 1, 0, 0, 0, 0, 2, 1};
    uint8_t bvalid[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    mr_pq_plain_bool(&b, bools, bvalid, 0, 10); /* nonzero is true; 9 values */
    CHECK_BYTES("plain bool", &b, 0x0d, 0x01);

    b.n = 0;
    int64_t off[4] = {0, 2, 2, 5};
    const uint8_t *bytes = (const uint8_t *)"abcde";
    mr_pq_plain_bytes(&b, off, bytes, NULL, 0, 3);
    CHECK_BYTES("plain bytes", &b, 2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 3, 0, 0, 0, 'c', 'd', 'e');
    mr_pq_obuf_free(&b);
}

TEST(pq_dictionary)
{
    mr_pq_dict d = {0};
    mr_pq_obuf b = {0};
    int32_t v[6] = {5, 7, 5, -9, 7, 5};
    uint8_t valid[6] = {1, 1, 1, 1, 0, 1};
    uint32_t codes[6];
    CHECK_INT(mr_pq_dict_fixed(&d, v, 4, valid, 0, 6, 1 << 20, codes), 1);
    CHECK_INT(d.n, 3);
    CHECK(codes[0] == 0 && codes[1] == 1 && codes[2] == 0 && codes[3] == 2 && codes[4] == 0);
    mr_pq_dict_plain_fixed(&d, &b, v, 4);
    CHECK_BYTES("dict page", &b, 5, 0, 0, 0, 7, 0, 0, 0, 0xf7, 0xff, 0xff, 0xff);
    /* three int32 entries are 12 bytes: over an 8-byte limit the build gives up */
    CHECK_INT(mr_pq_dict_fixed(&d, v, 4, NULL, 0, 6, 8, codes), 0);

    /* many distinct int64 values grow the table several times */
    int64_t *w = malloc(100000 * sizeof *w);
    uint32_t *wc = malloc(100000 * sizeof *wc);
    for (int i = 0; i < 100000; i++) w[i] = (int64_t)(i % 40000) * 1000003 - 5;
    CHECK_INT(mr_pq_dict_fixed(&d, w, 8, NULL, 0, 100000, 1 << 20, wc), 1);
    CHECK_INT(d.n, 40000);
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= wc[i] == (uint32_t)(i % 40000);
    CHECK(ok);
    /* unique values past the limit: no dictionary (given up early or at the
     * limit); unique values under the limit: no dictionary either, since
     * 8-byte entries plus a code per value outgrow PLAIN (judged on the
     * first 65536 values, or at the end of a shorter chunk) */
    int64_t *u = malloc(400000 * sizeof *u);
    uint32_t *uc = malloc(400000 * sizeof *uc);
    for (int i = 0; i < 400000; i++) u[i] = (int64_t)i * 7919;
    CHECK_INT(mr_pq_dict_fixed(&d, u, 8, NULL, 0, 400000, 1 << 20, uc), 0);
    CHECK_INT(mr_pq_dict_fixed(&d, u, 8, NULL, 0, 131072, 1 << 20, uc), 0);
    CHECK_INT(d.n, 65536); /* given up at the sample */
    CHECK_INT(mr_pq_dict_fixed(&d, u, 8, NULL, 0, 1000, 1 << 20, uc), 0);
    CHECK_INT(d.n, 1000); /* built, then found not to pay */
    /* 30000 distinct among 100000: 240000 + 187500 bytes against 800000 */
    for (int i = 30000; i < 100000; i++) u[i] = u[i % 30000];
    CHECK_INT(mr_pq_dict_fixed(&d, u, 8, NULL, 0, 100000, 1 << 20, uc), 1);
    CHECK_INT(d.n, 30000);
    CHECK(uc[99999] == 99999 % 30000);
    /* int32: 600 distinct of 1000 pay (2400 + 1250 < 4000), 800 do not
     * (3200 + 1250) */
    int32_t v32[1000];
    for (int i = 0; i < 1000; i++) v32[i] = (i % 600) * 3;
    CHECK_INT(mr_pq_dict_fixed(&d, v32, 4, NULL, 0, 1000, 1 << 20, uc), 1);
    for (int i = 0; i < 1000; i++) v32[i] = (i % 800) * 3;
    CHECK_INT(mr_pq_dict_fixed(&d, v32, 4, NULL, 0, 1000, 1 << 20, uc), 0);
    free(u);
    free(uc);
    free(w);
    free(wc);

    int64_t off[5] = {0, 1, 3, 4, 4};
    const uint8_t *bytes = (const uint8_t *)"xyyx";
    CHECK_INT(mr_pq_dict_bytes(&d, off, bytes, NULL, 0, 4, 1 << 20, codes), 1);
    CHECK_INT(d.n, 3);
    CHECK(codes[0] == 0 && codes[1] == 1 && codes[2] == 0 && codes[3] == 2);
    b.n = 0;
    mr_pq_dict_plain_bytes(&d, &b, off, bytes);
    CHECK_BYTES("string dict page", &b, 1, 0, 0, 0, 'x', 2, 0, 0, 0, 'y', 'y', 0, 0, 0, 0);
    CHECK_INT(mr_pq_dict_bytes(&d, off, bytes, NULL, 0, 4, 9, codes), 0);
    mr_pq_dict_free(&d);
    mr_pq_obuf_free(&b);
}

/* ---- writer ---- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

TEST(pq_writer_bad_fields)
{
    char *path = mr_path_join(mr_test_tmpdir(), "bad.parquet");
    mr_pq_writer *w = NULL;
    mr_pq_field none[1] = {{.name = "", .type = MR_PQ_W_I32}};
    CHECK_ERR(mr_pq_writer_open(&w, path, none, 1, NULL), "has no name");
    mr_pq_field dup[2] = {{.name = "a", .type = MR_PQ_W_I32}, {.name = "a", .type = MR_PQ_W_I64}};
    CHECK_ERR(mr_pq_writer_open(&w, path, dup, 2, NULL), "'a' appears twice");
    mr_pq_field bw[1] = {{.name = "x", .type = MR_PQ_W_I64, .bit_width = 16}};
    CHECK_ERR(mr_pq_writer_open(&w, path, bw, 1, NULL), "cannot have bit_width 16");
    mr_pq_field bw2[1] = {{.name = "x", .type = MR_PQ_W_STRING, .bit_width = 8}};
    CHECK_ERR(mr_pq_writer_open(&w, path, bw2, 1, NULL), "cannot have bit_width 8");
    mr_pq_field ty[1] = {{.name = "x", .type = (mr_pq_wtype)42}};
    CHECK_ERR(mr_pq_writer_open(&w, path, ty, 1, NULL), "unknown type 42");
    CHECK_ERR(mr_pq_writer_open(&w, path, ty, 0, NULL), "at least one field");
    mr_pq_field ok[1] = {{.name = "x", .type = MR_PQ_W_I32}};
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.codec = MR_PQ_LZO;
    CHECK_ERR(mr_pq_writer_open(&w, path, ok, 1, &o), "codec 3");
    CHECK(w == NULL);
    CHECK_INT(count_entries(mr_test_tmpdir()), 0);
    free(path);
}

TEST(pq_writer_bad_batches)
{
    char *path = mr_path_join(mr_test_tmpdir(), "t.parquet");
    mr_pq_field f[3] = {{.name = "a", .type = MR_PQ_W_I32},
                        {.name = "s", .type = MR_PQ_W_STRING, .nullable = 1},
                        {.name = "l", .type = MR_PQ_W_I64, .is_list = 1}};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 3, NULL));
    int32_t a[3] = {1, 2, 3};
    int64_t soff[4] = {0, 1, 1, 3};
    uint8_t sval[3] = {1, 0, 1};
    int64_t lo[4] = {0, 2, 2, 3}, lv[3] = {10, 20, 30};
    mr_pq_col c[3] = {{.n_rows = 3, .values = a},
                      {.n_rows = 3, .offsets = soff, .bytes = (uint8_t *)"xyz", .valid = sval},
                      {.n_rows = 3, .n_slots = 3, .values = lv, .list_offsets = lo}};
    c[1].n_rows = 2;
    CHECK_ERR(mr_pq_writer_write(w, c), "column 's' has 2 rows but column 'a' has 3");
    c[1].n_rows = 3;
    uint8_t aval[3] = {1, 0, 1};
    c[0].valid = aval;
    CHECK_ERR(mr_pq_writer_write(w, c), "column 'a' is required but row 1 is null");
    c[0].valid = NULL;
    uint8_t lval[3] = {1, 0, 1};
    c[2].list_valid = lval;
    CHECK_ERR(mr_pq_writer_write(w, c), "column 'l' is required but row 1 is a null list");
    c[2].list_valid = NULL;
    lo[2] = 1;
    CHECK_ERR(mr_pq_writer_write(w, c), "decreasing list offsets at row 1");
    lo[2] = 2;
    c[2].valid = aval;
    CHECK_ERR(mr_pq_writer_write(w, c), "element 1 is null");
    c[2].valid = NULL;
    c[2].n_slots = 2;
    CHECK_ERR(mr_pq_writer_write(w, c), "list offsets end at 3 but it has 2 slots");
    c[2].n_slots = 3;
    c[0].values = NULL;
    CHECK_ERR(mr_pq_writer_write(w, c), "column 'a' has no values");
    c[0].values = a;
    soff[1] = 5;
    CHECK_ERR(mr_pq_writer_write(w, c), "string length -4");
    soff[1] = 1;
    c[0].n_slots = 7;
    CHECK_ERR(mr_pq_writer_write(w, c), "flat column 'a' has 7 slots for 3 rows");
    c[0].n_slots = 3;
    /* rejected batches leave the writer usable */
    CHECK_OK(mr_pq_writer_write(w, c));
    CHECK_OK(mr_pq_writer_close(w));
    CHECK(mr_file_exists(path));
    CHECK_INT(count_entries(mr_test_tmpdir()), 1);
    free(path);
}

TEST(pq_writer_failure_and_abort)
{
    const char *dir = mr_test_tmpdir();
    char *path = mr_path_join(dir, "x.parquet");
    mr_pq_field f[1] = {{.name = "small", .type = MR_PQ_W_I32, .bit_width = 8}};
    int32_t v[2] = {1, 300};
    mr_pq_col c = {.n_rows = 2, .values = v};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 1, NULL));
    CHECK_ERR(mr_pq_writer_write(w, &c), "column 'small' is INT(8) but row 1 holds 300");
    v[1] = -129;
    CHECK_ERR(mr_pq_writer_write(w, &c), "row 1 holds -129");
    uint8_t valid[2] = {1, 0}; /* a null slot's value is ignored */
    c.valid = valid;
    CHECK_ERR(mr_pq_writer_write(w, &c), "is required but row 1 is null");
    c.valid = NULL;
    v[1] = -128;
    CHECK_OK(mr_pq_writer_write(w, &c));
    CHECK_OK(mr_pq_writer_close(w));
    CHECK(mr_file_exists(path));
    remove(path);

    /* strings must be UTF-8 */
    mr_pq_field fs[1] = {{.name = "s", .type = MR_PQ_W_STRING, .nullable = 1}};
    const char *txt = "ok\xc3\xa9"
                      "\xe2\x82"
                      "x"
                      "\xed\xa0\x80"
                      "\xc0\xaf"
                      "\xf4\x90\x80\x80";
    int64_t off[6] = {0, 4, 6, 7, 10, 12};
    uint8_t sval[5] = {1, 0, 1, 1, 1};
    mr_pq_col cs = {.n_rows = 1, .offsets = off, .bytes = (uint8_t *)txt, .valid = sval};
    REQUIRE_OK(mr_pq_writer_open(&w, path, fs, 1, NULL));
    CHECK_OK(mr_pq_writer_write(w, &cs)); /* "ok\u00e9" */
    cs.n_rows = 2;
    CHECK_OK(mr_pq_writer_write(w, &cs)); /* a cut sequence, but null */
    sval[1] = 1;
    CHECK_ERR(mr_pq_writer_write(w, &cs), "row 1 is not valid UTF-8 (byte 0 is 0xe2)");
    int64_t one[2][2] = {{7, 10}, {10, 12}}; /* a surrogate, an overlong '/' */
    cs.n_rows = 1;
    cs.offsets = one[0];
    CHECK_ERR(mr_pq_writer_write(w, &cs), "not valid UTF-8");
    cs.offsets = one[1];
    CHECK_ERR(mr_pq_writer_write(w, &cs), "not valid UTF-8");
    int64_t past[2] = {12, 16}; /* U+110000 */
    cs.offsets = past;
    CHECK_ERR(mr_pq_writer_write(w, &cs), "not valid UTF-8");
    mr_pq_writer_abort(w);
    CHECK_INT(count_entries(dir), 0);

    /* abort after data was written leaves nothing, not even the temp file */
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 1, NULL));
    CHECK_OK(mr_pq_writer_write(w, &c));
    CHECK_INT(count_entries(dir), 1); /* the temporary file */
    mr_pq_writer_abort(w);
    CHECK(!mr_file_exists(path));
    CHECK_INT(count_entries(dir), 0);

    /* an existing file is replaced only on a successful close */
    REQUIRE_OK(mr_write_file_atomic(path, "old", 3));
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 1, NULL));
    CHECK_OK(mr_pq_writer_write(w, &c));
    mr_pq_writer_abort(w);
    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    CHECK_STR(data, "old");
    free(data);

    /* an unwritable place fails at open, naming the path */
    mr_pq_writer *w2 = NULL;
    CHECK_ERR(mr_pq_writer_open(&w2, "/proc/musrec-no/x.parquet", f, 1, NULL), "/proc/musrec-no");
    CHECK(w2 == NULL);
    free(path);
}

/* The file's bytes: "PAR1", the data page of 3 PLAIN int32 values with its
 * thrift header (hand-encoded here), the footer, its length, "PAR1". */
TEST(pq_writer_bytes)
{
    char *path = mr_path_join(mr_test_tmpdir(), "b.parquet");
    mr_pq_field f[1] = {{.name = "a", .type = MR_PQ_W_I32}};
    mr_pq_write_opts o = {.codec = MR_PQ_UNCOMPRESSED, .dictionary = 0};
    int32_t v[3] = {1, 2, -3};
    mr_pq_col c = {.n_rows = 3, .values = v};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 1, &o));
    REQUIRE_OK(mr_pq_writer_write(w, &c));
    REQUIRE_OK(mr_pq_writer_close(w));
    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    /* clang-format off */
    static const uint8_t head[] = {
        'P', 'A', 'R', '1',
        0x15, 0x00,     /* 1: type DATA_PAGE (0) */
        0x15, 0x18,     /* 2: uncompressed_page_size 12 */
        0x15, 0x18,     /* 3: compressed_page_size 12 */
        0x2c,           /* 5: data_page_header (delta 2, struct) */
        0x15, 0x06,     /*   1: num_values 3 */
        0x15, 0x00,     /*   2: encoding PLAIN */
        0x15, 0x06,     /*   3: definition_level_encoding RLE (3) */
        0x15, 0x06,     /*   4: repetition_level_encoding RLE */
        0x00, 0x00,     /* stop, stop */
        1, 0, 0, 0, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, /* PLAIN 1, 2, -3 */
    };
    /* clang-format on */
    REQUIRE(len > sizeof head + 8);
    CHECK(memcmp(data, head, sizeof head) == 0);
    CHECK(memcmp(data + len - 4, "PAR1", 4) == 0);
    uint32_t flen = (uint8_t)data[len - 8] | (uint8_t)data[len - 7] << 8 |
                    (uint8_t)data[len - 6] << 16 | (uint32_t)(uint8_t)data[len - 5] << 24;
    CHECK_INT(flen, len - 8 - sizeof head);
    /* the footer starts with version 2 and the root schema element */
    CHECK((uint8_t)data[sizeof head] == 0x15 && (uint8_t)data[sizeof head + 1] == 0x04);
    free(data);
    free(path);
}

/* Column chunks are encoded in parallel; the bytes must not depend on it. */
TEST(pq_writer_thread_independent)
{
    enum { N = 50000 };
    mr_pq_field f[4] = {{.name = "a", .type = MR_PQ_W_I32},
                        {.name = "b", .type = MR_PQ_W_I64, .nullable = 1},
                        {.name = "s", .type = MR_PQ_W_STRING},
                        {.name = "l", .type = MR_PQ_W_F64, .is_list = 1}};
    int32_t *a = malloc(N * sizeof *a);
    int64_t *b = malloc(N * sizeof *b), *so = malloc((N + 1) * sizeof *so);
    int64_t *lo = malloc((N + 1) * sizeof *lo);
    double *lv = malloc(2 * N * sizeof *lv);
    uint8_t *bv = malloc(N), *sb = malloc(N * 8);
    so[0] = lo[0] = 0;
    for (int i = 0; i < N; i++) {
        a[i] = i % 97;
        b[i] = (int64_t)i * i;
        bv[i] = i % 5 != 0;
        int n = snprintf((char *)sb + so[i], 8, "k%d", i % 1000);
        so[i + 1] = so[i] + n;
        lo[i + 1] = lo[i] + i % 3;
    }
    for (int i = 0; i < 2 * N; i++) lv[i] = i * 0.5;
    mr_pq_col c[4] = {{.n_rows = N, .values = a},
                      {.n_rows = N, .values = b, .valid = bv},
                      {.n_rows = N, .offsets = so, .bytes = sb},
                      {.n_rows = N, .values = lv, .list_offsets = lo}};
    mr_pq_write_opts o = mr_pq_write_opts_default();
    o.row_group_rows = 20000;
    char *data[2];
    size_t len[2];
    int saved = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k ? 4 : 1);
        char *path = mr_path_join(mr_test_tmpdir(), k ? "t4.parquet" : "t1.parquet");
        mr_pq_writer *w;
        REQUIRE_OK(mr_pq_writer_open(&w, path, f, 4, &o));
        REQUIRE_OK(mr_pq_writer_write(w, c));
        REQUIRE_OK(mr_pq_writer_close(w));
        REQUIRE_OK(mr_read_file(path, &data[k], &len[k]));
        free(path);
    }
    omp_set_num_threads(saved);
    CHECK(len[0] == len[1] && memcmp(data[0], data[1], len[0]) == 0);
    free(data[0]);
    free(data[1]);
    free(a), free(b), free(so), free(lo), free(lv), free(bv), free(sb);
}

/* ---- round trip through musrec's own reader ---- */

/* Deterministic test data: one column per writer type, nullable, flat or
 * LIST, n rows. */
typedef struct {
    mr_pq_field f;
    mr_pq_col c;
} rt_col;

static uint64_t rt_rng = 12345;
static uint64_t rt_next(void)
{
    rt_rng ^= rt_rng << 13;
    rt_rng ^= rt_rng >> 7;
    rt_rng ^= rt_rng << 17;
    return rt_rng;
}

static void rt_make(rt_col *t, int64_t n, int card)
{
    mr_pq_col *c = &t->c;
    memset(c, 0, sizeof *c);
    c->n_rows = n;
    int64_t slots = n;
    if (t->f.is_list) {
        c->list_offsets = calloc((size_t)n + 1, 8);
        c->list_valid = calloc((size_t)n + 1, 1);
        for (int64_t r = 0; r < n; r++) {
            uint64_t x = rt_next();
            c->list_valid[r] = x % 7 != 0;
            c->list_offsets[r + 1] =
                c->list_offsets[r] + (c->list_valid[r] ? (int64_t)(x >> 8) % 4 : 0);
        }
        slots = c->list_offsets[n];
    } else {
        c->valid = calloc((size_t)n + 1, 1);
        for (int64_t r = 0; r < n; r++) c->valid[r] = rt_next() % 5 != 0;
    }
    c->n_slots = slots;
    int w = t->f.type == MR_PQ_W_BOOL     ? 1
            : t->f.type == MR_PQ_W_STRING ? 0
            : (t->f.type == MR_PQ_W_I64 || t->f.type == MR_PQ_W_TS_NS || t->f.type == MR_PQ_W_F64)
                ? 8
                : 4;
    if (w) {
        c->values = calloc((size_t)slots + 1, (size_t)w);
        for (int64_t s = 0; s < slots; s++) {
            if (c->valid && !c->valid[s]) continue;
            uint64_t x = rt_next() % (card ? (uint64_t)card : UINT64_MAX);
            switch (t->f.type) {
            case MR_PQ_W_BOOL:
                ((uint8_t *)c->values)[s] = x & 1;
                break;
            case MR_PQ_W_F32:
                ((float *)c->values)[s] = (float)(int64_t)x / 7.0f;
                break;
            case MR_PQ_W_F64:
                ((double *)c->values)[s] = (double)(int64_t)x / 3.0;
                break;
            default:
                if (w == 4)
                    ((int32_t *)c->values)[s] = t->f.bit_width == 16 ? (int16_t)x : (int32_t)x;
                else
                    ((int64_t *)c->values)[s] = (int64_t)x;
            }
        }
    } else {
        c->offsets = calloc((size_t)slots + 1, 8);
        c->bytes = malloc((size_t)slots * 24 + 1);
        for (int64_t s = 0; s < slots; s++) {
            int len = 0;
            if (!c->valid || c->valid[s])
                len = snprintf(
                    (char *)c->bytes + c->offsets[s], 24, "ж%llu",
                    (unsigned long long)(rt_next() % (card ? (uint64_t)card : 1000000007)));
            c->offsets[s + 1] = c->offsets[s] + len;
        }
    }
}

static void rt_free(rt_col *t)
{
    free(t->c.values);
    free(t->c.offsets);
    free(t->c.bytes);
    free(t->c.valid);
    free(t->c.list_offsets);
    free(t->c.list_valid);
}

/* Value of slot s of a column as comparable bytes. */
static int rt_slot_eq(const rt_col *t, int64_t s, const mr_pq_col *got, int64_t g)
{
    const mr_pq_col *c = &t->c;
    int null_w = c->valid && !c->valid[s], null_g = got->valid && !got->valid[g];
    if (null_w || null_g) return null_w == null_g;
    if (t->f.type == MR_PQ_W_STRING) {
        int64_t a = c->offsets[s + 1] - c->offsets[s], b = got->offsets[g + 1] - got->offsets[g];
        return a == b &&
               memcmp(c->bytes + c->offsets[s], got->bytes + got->offsets[g], (size_t)a) == 0;
    }
    int w = t->f.type == MR_PQ_W_BOOL ? 1
            : (t->f.type == MR_PQ_W_I64 || t->f.type == MR_PQ_W_TS_NS || t->f.type == MR_PQ_W_F64)
                ? 8
                : 4;
    if (t->f.type == MR_PQ_W_BOOL)
        return !((uint8_t *)c->values)[s] == !((uint8_t *)got->values)[g];
    return memcmp((uint8_t *)c->values + s * w, (uint8_t *)got->values + g * w, (size_t)w) == 0;
}

/* Writes cols with opts, reads every row group back and compares. */
static void roundtrip(rt_col *cols, int nf, int64_t n, const mr_pq_write_opts *o, const char *name)
{
    char *path = mr_path_join(mr_test_tmpdir(), name);
    mr_pq_field *f = calloc((size_t)nf, sizeof *f);
    mr_pq_col *c = calloc((size_t)nf, sizeof *c);
    for (int i = 0; i < nf; i++) f[i] = cols[i].f, c[i] = cols[i].c;
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, nf, o));
    REQUIRE_OK(mr_pq_writer_kv(w, "k", "v1"));
    REQUIRE_OK(mr_pq_writer_kv(w, "k", "v2"));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_pq_reader *r;
    REQUIRE_OK(mr_pq_open(&r, path));
    CHECK_INT(mr_pq_num_rows(r), n);
    CHECK_INT(mr_pq_num_columns(r), nf);
    int64_t rg_rows = o->row_group_rows ? o->row_group_rows : 1048576;
    CHECK_INT(mr_pq_num_row_groups(r), (n + rg_rows - 1) / rg_rows);
    CHECK_STR(mr_pq_kv(r, "k"), "v2");
    for (int i = 0; i < nf; i++) {
        const mr_pq_column_info *ci = mr_pq_column(r, i);
        const rt_col *t = &cols[i];
        CHECK_STR(ci->name, t->f.name);
        CHECK_INT(ci->list_depth, t->f.is_list);
        CHECK_INT(ci->nullable, t->f.nullable);
        if (t->f.type == MR_PQ_W_TS_NS)
            CHECK(ci->logical == MR_PQ_L_TIMESTAMP && ci->unit == MR_PQ_NANOS && !ci->utc);
        if (t->f.type == MR_PQ_W_DATE) CHECK(ci->logical == MR_PQ_L_DATE);
        if (t->f.type == MR_PQ_W_STRING) CHECK(ci->logical == MR_PQ_L_STRING);
        if (t->f.bit_width)
            CHECK(ci->logical == MR_PQ_L_INT && ci->bit_width == t->f.bit_width && ci->is_signed);
        int64_t row = 0;
        int bad = 0;
        for (int g = 0; g < mr_pq_num_row_groups(r); g++) {
            mr_pq_col got = {0};
            if (mr_pq_read(r, g, i, &got)) {
                mr_test_fail(__FILE__, __LINE__, "%s column %s row group %d: %s", name, t->f.name,
                             g, mr_errmsg());
                bad = 1;
                break;
            }
            for (int64_t q = 0; q < got.n_rows && !bad; q++, row++) {
                if (!t->f.is_list) {
                    bad = !rt_slot_eq(t, row, &got, q);
                    continue;
                }
                int wn = t->c.list_valid && !t->c.list_valid[row];
                int gn = got.list_valid && !got.list_valid[q];
                int64_t wl = t->c.list_offsets[row + 1] - t->c.list_offsets[row];
                int64_t gl = got.list_offsets[q + 1] - got.list_offsets[q];
                bad = wn != gn || wl != gl;
                for (int64_t e = 0; e < wl && !bad; e++)
                    bad = !rt_slot_eq(t, t->c.list_offsets[row] + e, &got, got.list_offsets[q] + e);
            }
            if (bad)
                mr_test_fail(__FILE__, __LINE__, "%s column %s differs at row %lld", name,
                             t->f.name, (long long)row);
            mr_pq_col_free(&got);
        }
        if (!bad) CHECK_INT(row, n);
    }
    mr_pq_close(r);
    free(f);
    free(c);
    free(path);
}

TEST(pq_writer_roundtrip_own_reader)
{
    static const mr_pq_wtype types[] = {MR_PQ_W_BOOL,   MR_PQ_W_I32,  MR_PQ_W_I32,
                                        MR_PQ_W_I64,    MR_PQ_W_F32,  MR_PQ_W_F64,
                                        MR_PQ_W_STRING, MR_PQ_W_DATE, MR_PQ_W_TS_NS};
    static const char *names[] = {"b", "i32", "i16", "i64", "f", "d", "s", "dt", "ts"};
    enum { NT = 9, N = 3000 };
    rt_col cols[2 * NT];
    mr_pq_codec codecs[] = {MR_PQ_UNCOMPRESSED, MR_PQ_SNAPPY, MR_PQ_ZSTD, MR_PQ_GZIP};
    for (int k = 0; k < 8; k++) {
        char lname[NT][16];
        for (int i = 0; i < 2 * NT; i++) {
            int t = i % NT;
            cols[i].f = (mr_pq_field){.name = names[t],
                                      .type = types[t],
                                      .nullable = 1,
                                      .bit_width = t == 2 ? 16 : 0,
                                      .is_list = i >= NT};
            if (i >= NT) {
                snprintf(lname[t], sizeof lname[t], "l%s", names[t]);
                cols[i].f.name = lname[t];
                cols[i].f.nullable = t % 2; /* required and optional lists */
            }
            rt_make(&cols[i], N, k >= 4 ? 30 : 0); /* k >= 4: dictionary-friendly */
            if (i >= NT && !cols[i].f.nullable) {
                free(cols[i].c.list_valid);
                cols[i].c.list_valid = NULL;
            }
        }
        mr_pq_write_opts o = mr_pq_write_opts_default();
        o.codec = codecs[k % 4];
        o.row_group_rows = 1100;
        o.page_bytes = 1000;
        o.page_crc = 1;
        char name[32];
        snprintf(name, sizeof name, "rt%d.parquet", k);
        roundtrip(cols, 2 * NT, N, &o, name);
        for (int i = 0; i < 2 * NT; i++) rt_free(&cols[i]);
    }
}

/* A flipped byte in a page must fail our reader's check of the CRC we wrote. */
TEST(pq_writer_crc_detects_corruption)
{
    char *path = mr_path_join(mr_test_tmpdir(), "crc.parquet");
    mr_pq_field f[1] = {{.name = "a", .type = MR_PQ_W_I64}};
    int64_t v[100];
    for (int i = 0; i < 100; i++) v[i] = i * 1000003LL;
    mr_pq_col c = {.n_rows = 100, .values = v};
    mr_pq_write_opts o = {.codec = MR_PQ_UNCOMPRESSED, .page_crc = 1};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 1, &o));
    REQUIRE_OK(mr_pq_writer_write(w, &c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_pq_reader *r;
    mr_pq_col got = {0};
    REQUIRE_OK(mr_pq_open(&r, path));
    CHECK_OK(mr_pq_read(r, 0, 0, &got));
    CHECK(got.n_slots == 100 && ((int64_t *)got.values)[99] == v[99]);
    mr_pq_col_free(&got);
    mr_pq_close(r);
    char *data;
    size_t len;
    REQUIRE_OK(mr_read_file(path, &data, &len));
    /* value 50 (8 bytes) sits 400 bytes into the page data; find it */
    char *at = memmem(data, len, &v[50], 8);
    REQUIRE(at != NULL);
    at[0] ^= 1;
    REQUIRE_OK(mr_write_file_atomic(path, data, len));
    free(data);
    REQUIRE_OK(mr_pq_open(&r, path));
    CHECK_ERR(mr_pq_read(r, 0, 0, &got), "CRC");
    mr_pq_col_free(&got);
    mr_pq_close(r);
    free(path);
}

/* A plain decoder of the RLE/bit-packed hybrid, written from the spec for
 * this test: returns the number of values decoded (at most cap). */
static int64_t rle_decode_ref(const uint8_t *p, size_t n, int bw, uint32_t *out, int64_t cap)
{
    size_t i = 0;
    int64_t k = 0;
    while (i < n && k < cap) {
        uint64_t h = 0;
        int sh = 0;
        while (i < n) {
            h |= (uint64_t)(p[i] & 0x7f) << sh;
            sh += 7;
            if (!(p[i++] & 0x80)) break;
        }
        if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
            int64_t cnt = (int64_t)(h >> 1) * 8;
            for (int64_t j = 0; j < cnt; j++) {
                uint64_t v = 0;
                for (int b = 0; b < bw; b++) {
                    uint64_t bit = (uint64_t)j * bw + b;
                    if (i + bit / 8 >= n) return -1;
                    v |= (uint64_t)(p[i + bit / 8] >> (bit % 8) & 1) << b;
                }
                if (k < cap) out[k++] = (uint32_t)v;
            }
            i += (size_t)(h >> 1) * bw;
        } else { /* run: h >> 1 copies of a value in ceil(bw/8) bytes */
            uint32_t v = 0;
            for (int b = 0; b < (bw + 7) / 8; b++) v |= (uint32_t)p[i++] << (8 * b);
            for (uint64_t j = 0; j < h >> 1 && k < cap; j++) out[k++] = v;
        }
    }
    return i == n ? k : -1;
}

TEST(pq_rle_property)
{
    enum { MAXN = 3000 };
    uint32_t *v = malloc(MAXN * sizeof *v), *back = malloc((MAXN + 8) * sizeof *back);
    uint8_t *v8 = malloc(MAXN);
    mr_pq_obuf b = {0};
    uint64_t x = 777;
    int bad = 0;
    for (int trial = 0; trial < 400 && !bad; trial++) {
        int bw = trial % 33;
        uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int64_t n = (int64_t)(x >> 33) % MAXN;
        /* runs of random lengths (1..20), so both run kinds and borrowing occur */
        for (int64_t i = 0; i < n;) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            int64_t len = 1 + (int64_t)(x >> 59) % 20;
            uint32_t val = (uint32_t)(x >> 17) & mask;
            for (int64_t j = 0; j < len && i < n; j++) v[i++] = val;
        }
        b.n = 0;
        mr_pq_rle_u32(&b, v, n, bw);
        int64_t got = rle_decode_ref(b.p, b.n, bw, back, n + 8);
        /* the decoder sees padding values of the last group too */
        bad = got < n || got > n + 7 || (n && memcmp(v, back, (size_t)n * 4) != 0);
        if (bad)
            mr_test_fail(__FILE__, __LINE__, "u32 trial %d: width %d, %lld values, decoded %lld",
                         trial, bw, (long long)n, (long long)got);
        if (bw <= 8 && !bad) {
            for (int64_t i = 0; i < n; i++) v8[i] = (uint8_t)v[i];
            b.n = 0;
            mr_pq_rle_u8(&b, v8, n, bw);
            got = rle_decode_ref(b.p, b.n, bw, back, n + 8);
            bad = got < n || got > n + 7 || (n && memcmp(v, back, (size_t)n * 4) != 0);
            if (bad)
                mr_test_fail(__FILE__, __LINE__, "u8 trial %d: width %d, %lld values", trial, bw,
                             (long long)n);
        }
    }
    free(v), free(back), free(v8);
    mr_pq_obuf_free(&b);
}

/* Offsets need not start at 0: a caller may pass a slice of bigger arrays. */
TEST(pq_writer_offset_slices)
{
    char *path = mr_path_join(mr_test_tmpdir(), "slice.parquet");
    mr_pq_field f[2] = {{.name = "l", .type = MR_PQ_W_I64, .is_list = 1},
                        {.name = "s", .type = MR_PQ_W_STRING}};
    int64_t lo[4] = {2, 4, 4, 5}, lv[5] = {-1, -1, 10, 11, 12};
    int64_t so[4] = {3, 5, 5, 8};
    mr_pq_col c[2] = {{.n_rows = 3, .n_slots = 5, .values = lv, .list_offsets = lo},
                      {.n_rows = 3, .offsets = so, .bytes = (uint8_t *)"xxxabcde"}};
    mr_pq_writer *w;
    REQUIRE_OK(mr_pq_writer_open(&w, path, f, 2, NULL));
    REQUIRE_OK(mr_pq_writer_write(w, c));
    REQUIRE_OK(mr_pq_writer_close(w));
    mr_pq_reader *r;
    REQUIRE_OK(mr_pq_open(&r, path));
    mr_pq_col a = {0}, s = {0};
    REQUIRE_OK(mr_pq_read(r, 0, 0, &a));
    REQUIRE_OK(mr_pq_read(r, 0, 1, &s));
    REQUIRE(a.n_rows == 3 && a.n_slots == 3 && s.n_rows == 3);
    CHECK(a.list_offsets[0] == 0 && a.list_offsets[1] == 2 && a.list_offsets[2] == 2 &&
          a.list_offsets[3] == 3);
    CHECK(((int64_t *)a.values)[0] == 10 && ((int64_t *)a.values)[2] == 12);
    CHECK(s.offsets[1] - s.offsets[0] == 2 && memcmp(s.bytes + s.offsets[0], "ab", 2) == 0);
    CHECK(s.offsets[2] == s.offsets[1]);
    CHECK(s.offsets[3] - s.offsets[2] == 3 && memcmp(s.bytes + s.offsets[2], "cde", 3) == 0);
    mr_pq_col_free(&a);
    mr_pq_col_free(&s);
    mr_pq_close(r);
    free(path);
}
