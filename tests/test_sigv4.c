/* SigV4 against AWS's published examples (S3 "Signature Calculations for
 * the Authorization Header: Transferring Payload in a Single Chunk" and the
 * SigV4 test suite's get-vanilla cases), SHA-256/HMAC against FIPS 180-4 and
 * RFC 4231 vectors, and the S3 URI-encoding rules. botocore cross-checks
 * live in tests/e2e/s3_sigv4_botocore.sh. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "mr_test.h"
#include "store/sigv4.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EX_AK "AKIAIOSFODNN7EXAMPLE"
#define EX_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void sign_s3_example(const char *method, const char *uri, const char *query,
                            const mr_sigv4_header *h, int nh, const char *payload,
                            const char *want_sig)
{
    mr_sigv4_req r = {.method = method, .canonical_uri = uri, .canonical_query = query,
                      .headers = h, .nheaders = nh, .payload_hash = payload,
                      .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
                      .access_key = EX_AK, .secret_key = EX_SK};
    mr_sigv4_out o;
    CHECK_OK(mr_sigv4_sign(&r, &o));
    CHECK_STR(o.signature, want_sig);
    mr_sigv4_out_free(&o);
}

TEST(sigv4_aws_s3_get_object_range)
{
    mr_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-date", "20130524T000000Z"}};
    mr_sigv4_req r = {.method = "GET", .canonical_uri = "/test.txt", .canonical_query = "",
                      .headers = h, .nheaders = 4, .payload_hash = EMPTY_SHA,
                      .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
                      .access_key = EX_AK, .secret_key = EX_SK};
    mr_sigv4_out o;
    REQUIRE_OK(mr_sigv4_sign(&r, &o));
    /* The canonical request and string to sign exactly as the AWS page prints them. */
    CHECK_STR(o.canonical_request,
              "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
              "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    CHECK_STR(o.string_to_sign,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(o.authorization,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    mr_sigv4_out_free(&o);
}

TEST(sigv4_aws_s3_put_object)
{
    char body_hash[65];
    mr_sha256_hex("Welcome to Amazon S3.", 21, body_hash);
    CHECK_STR(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    char *uri = mr_sigv4_uri_encode("/test$file.text", 1);
    CHECK_STR(uri, "/test%24file.text");
    /* Header names in mixed case and unsorted: the signer lower-cases and sorts. */
    mr_sigv4_header h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"Host", "examplebucket.s3.amazonaws.com"},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"X-Amz-Date", "20130524T000000Z"},
                           {"x-amz-content-sha256", body_hash}};
    sign_s3_example("PUT", uri, "", h, 5, body_hash,
                    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(uri);
}

TEST(sigv4_aws_s3_get_lifecycle_and_list)
{
    mr_sigv4_header h[] = {{"host", "examplebucket.s3.amazonaws.com"},
                           {"x-amz-date", "20130524T000000Z"},
                           {"x-amz-content-sha256", EMPTY_SHA}};
    mr_sigv4_param lc[] = {{"lifecycle", NULL}};
    char *q = mr_sigv4_query(lc, 1);
    CHECK_STR(q, "lifecycle=");
    sign_s3_example("GET", "/", q, h, 3, EMPTY_SHA,
                    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(q);
    mr_sigv4_param ls[] = {{"prefix", "J"}, {"max-keys", "2"}}; /* unsorted on purpose */
    q = mr_sigv4_query(ls, 2);
    CHECK_STR(q, "max-keys=2&prefix=J");
    sign_s3_example("GET", "/", q, h, 3, EMPTY_SHA,
                    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    free(q);
}

TEST(sigv4_test_suite_get_vanilla)
{
    /* aws-sig-v4-test-suite get-vanilla and get-header-value-trim. */
    mr_sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
    mr_sigv4_req r = {.method = "GET", .canonical_uri = "/", .canonical_query = "", .headers = h,
                      .nheaders = 2, .payload_hash = EMPTY_SHA, .amz_date = "20150830T123600Z",
                      .region = "us-east-1", .service = "service", .access_key = "AKIDEXAMPLE",
                      .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    mr_sigv4_out o;
    REQUIRE_OK(mr_sigv4_sign(&r, &o));
    CHECK_STR(o.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    mr_sigv4_out_free(&o);

    mr_sigv4_header t[] = {{"Host", "example.amazonaws.com"}, {"My-Header1", " value1"},
                           {"My-Header2", " \"a   b   c\""}, {"X-Amz-Date", "20150830T123600Z"}};
    r.headers = t;
    r.nheaders = 4;
    REQUIRE_OK(mr_sigv4_sign(&r, &o));
    CHECK_STR(o.canonical_request,
              "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
              "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_SHA);
    CHECK_STR(o.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
    mr_sigv4_out_free(&o);

    /* get-header-value-order: repeated names join in the order given. */
    mr_sigv4_header v[] = {{"Host", "example.amazonaws.com"}, {"My-Header1", "value4"},
                           {"My-Header1", "value1"}, {"My-Header1", "value3"},
                           {"My-Header1", "value2"}, {"X-Amz-Date", "20150830T123600Z"}};
    r.headers = v;
    r.nheaders = 6;
    REQUIRE_OK(mr_sigv4_sign(&r, &o));
    CHECK(strstr(o.canonical_request, "\nmy-header1:value4,value1,value3,value2\n") != NULL);
    CHECK_STR(o.signature, "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01");
    mr_sigv4_out_free(&o);
}

TEST(sigv4_uri_encoding)
{
    struct {
        const char *in;
        int slash;
        const char *out;
    } c[] = {
        {"data/raw/tracks.parquet", 1, "data/raw/tracks.parquet"},
        {"a b/c d", 1, "a%20b/c%20d"},
        {"a b/c d", 0, "a%20b%2Fc%20d"},
        {"x+y=z&w", 1, "x%2By%3Dz%26w"},
        {"-_.~", 1, "-_.~"},
        {"Ünïcødé/трек.parquet", 1, "%C3%9Cn%C3%AFc%C3%B8d%C3%A9/%D1%82%D1%80%D0%B5%D0%BA.parquet"},
        {"a//b/./c", 1, "a//b/./c"}, /* S3 keys are not normalised */
        {"*'()!$", 1, "%2A%27%28%29%21%24"},
        {"", 1, ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *e = mr_sigv4_uri_encode(c[i].in, c[i].slash);
        CHECK_STR(e, c[i].out);
        free(e);
    }
    mr_sigv4_param p[] = {{"prefix", "runs/a b/"}, {"list-type", "2"}, {"continuation-token", "1/x=="}};
    char *q = mr_sigv4_query(p, 3);
    CHECK_STR(q, "continuation-token=1%2Fx%3D%3D&list-type=2&prefix=runs%2Fa%20b%2F");
    free(q);
    q = mr_sigv4_query(NULL, 0);
    CHECK_STR(q, "");
    free(q);
}

TEST(sigv4_rejects_bad_input)
{
    mr_sigv4_header h[] = {{"host", "h"}};
    mr_sigv4_req r = {.method = "GET", .canonical_uri = "/", .headers = h, .nheaders = 1,
                      .payload_hash = EMPTY_SHA, .amz_date = "2013-05-24", .region = "r",
                      .service = "s3", .access_key = "a", .secret_key = "s"};
    mr_sigv4_out o;
    CHECK_ERR(mr_sigv4_sign(&r, &o), "YYYYMMDDTHHMMSSZ");
    r.amz_date = "20130524T000000Z";
    r.secret_key = "";
    CHECK_ERR(mr_sigv4_sign(&r, &o), "AWS_SECRET_ACCESS_KEY");
    char d[17];
    mr_sigv4_amz_date(1767225600, d); /* 2026-01-01 00:00:00 UTC */
    CHECK_STR(d, "20260101T000000Z");
}

TEST(sha256_hmac_vectors)
{
    char hex[65];
    mr_sha256_hex("abc", 3, hex); /* FIPS 180-4 example */
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mr_sha256_hex(m2, strlen(m2), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* RFC 4231 test cases 1 and 2. */
    uint8_t key1[20], out[32];
    memset(key1, 0x0b, sizeof key1);
    mr_hmac_sha256(key1, 20, "Hi There", 8, out);
    mr_hex(out, 32, hex);
    CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    mr_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    mr_hex(out, 32, hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(file_digests)
{
    char *path = malloc(strlen(mr_test_tmpdir()) + 8);
    sprintf(path, "%s/f.bin", mr_test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("xxabcyy", f);
    fclose(f);
    char hex[65], md5[33];
    CHECK_OK(mr_file_sha256_hex(path, 2, 3, hex));
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_OK(mr_file_md5_hex(path, 0, -1, md5));
    uint8_t d[16];
    mr_md5("xxabcyy", 7, d);
    char want[33];
    mr_hex(d, 16, want);
    CHECK_STR(md5, want);
    CHECK_ERR(mr_file_sha256_hex(path, 5, 10, hex), "shorter");
    free(path);
}
