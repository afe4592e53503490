/* Unit tests for src/base: config, atomic files, logger, json, imap. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/vec.h"
#include "mr_test.h"

TEST(config_precedence)
{
    mr_config *c;
    setenv("MUSREC_SEED", "7", 1);
    setenv("MUSREC_THREADS", "3", 1);
    REQUIRE_OK(mr_config_new(&c));
    CHECK_STR(mr_config_get(c, "MUSREC_LOG_LEVEL"), "info");
    CHECK_STR(mr_config_source(c, "MUSREC_LOG_LEVEL"), "default");
    CHECK_OK(mr_config_load_text(c, "MUSREC_SEED=9\nMUSREC_LOG_LEVEL=warn\nMUSREC_THREADS=1\n", "t.env"));
    /* file beats default, environment beats file */
    CHECK_STR(mr_config_get(c, "MUSREC_LOG_LEVEL"), "warn");
    CHECK_STR(mr_config_source(c, "MUSREC_LOG_LEVEL"), "t.env:2");
    CHECK_STR(mr_config_get(c, "MUSREC_SEED"), "7");
    CHECK_STR(mr_config_source(c, "MUSREC_SEED"), "environment");
    /* flag beats environment */
    CHECK_OK(mr_config_set_flag(c, "MUSREC_THREADS", "2"));
    CHECK_STR(mr_config_get(c, "MUSREC_THREADS"), "2");
    CHECK_STR(mr_config_source(c, "MUSREC_THREADS"), "flag");
    int64_t v = 0;
    CHECK_OK(mr_config_int(c, "MUSREC_THREADS", &v));
    CHECK_INT(v, 2);
    mr_config_free(c);
    unsetenv("MUSREC_SEED");
    unsetenv("MUSREC_THREADS");
}

TEST(config_quoting)
{
    mr_config *c;
    REQUIRE_OK(mr_config_new(&c));
    const char *text = "# comment\n"
                       "\n"
                       "export A=plain value # trailing comment\n"
                       "B=\"quoted # not a comment \\\"x\\\" \\\\ \"\n"
                       "C='single $HOME # kept'\n"
                       "  D =  spaced  \r\n"
                       "E=\n"
                       "F=a#b\n";
    CHECK_OK(mr_config_load_text(c, text, "q.env"));
    CHECK_STR(mr_config_get(c, "A"), "plain value");
    CHECK_STR(mr_config_get(c, "B"), "quoted # not a comment \"x\" \\ ");
    CHECK_STR(mr_config_get(c, "C"), "single $HOME # kept");
    CHECK_STR(mr_config_get(c, "D"), "spaced");
    CHECK_STR(mr_config_get(c, "E"), "");
    CHECK_STR(mr_config_get(c, "F"), "a#b");
    CHECK_STR(mr_config_source(c, "C"), "q.env:5");
    mr_config_free(c);
}

TEST(config_errors)
{
    mr_config *c;
    REQUIRE_OK(mr_config_new(&c));
    char text[512] = "";
    for (int i = 0; i < 11; i++) strcat(text, "# line\n");
    strcat(text, "this is not an assignment\n");
    CHECK_ERR(mr_config_load_text(c, text, "config/musrec.env"), "config/musrec.env:12: expected KEY=VALUE");
    CHECK_ERR(mr_config_load_text(c, "X=\"open\n", "a.env"), "a.env:1:");
    CHECK_ERR(mr_config_load_text(c, "=1\n", "b.env"), "b.env:1: expected KEY=VALUE");
    CHECK_OK(mr_config_load_text(c, "MUSREC_SEED=abc\n", "c.env"));
    int64_t v;
    CHECK_ERR(mr_config_int(c, "MUSREC_SEED", &v), "c.env:1");
    CHECK_ERR(mr_config_load_file(c, "/nonexistent/musrec.env", 1), "/nonexistent/musrec.env");
    CHECK_OK(mr_config_load_file(c, "/nonexistent/musrec.env", 0));
    mr_config_free(c);
}

TEST(config_masks_secrets)
{
    mr_config *c;
    REQUIRE_OK(mr_config_new(&c));
    CHECK_OK(mr_config_load_text(c, "AWS_SECRET_ACCESS_KEY=hunter2\nMY_TOKEN=tok123\nDB_PASSWORD=pw\nPLAIN=visible\n", "s.env"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mr_config_print(c, f);
    fclose(f);
    CHECK(strstr(buf, "hunter2") == NULL);
    CHECK(strstr(buf, "tok123") == NULL);
    CHECK(strstr(buf, "=pw") == NULL);
    CHECK(strstr(buf, "AWS_SECRET_ACCESS_KEY=********") != NULL);
    CHECK(strstr(buf, "PLAIN=visible") != NULL);
    CHECK(mr_config_is_secret("AWS_ACCESS_KEY_ID"));
    CHECK(!mr_config_is_secret("S3_BUCKET_NAME"));
    free(buf);
    mr_config_free(c);
}

TEST(config_every_key_documented)
{
    /* config/musrec.env must document every key of config_keys.def */
    char *doc;
    REQUIRE_OK(mr_read_file("config/musrec.env", &doc, NULL));
#define MR_KEY(name, def, step, help)                                                        \
    if (!strstr(doc, #name "=")) mr_test_fail(__FILE__, __LINE__, "config/musrec.env lacks %s", #name);
#include "base/config_keys.def"
#undef MR_KEY
    free(doc);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

TEST(afile_commit_and_abort)
{
    const char *dir = mr_test_tmpdir();
    char *path = mr_path_join(dir, "sub/out.bin");
    mr_afile a;
    REQUIRE_OK(mr_afile_open(&a, path));
    fputs("partial", a.f);
    CHECK(!mr_file_exists(path)); /* nothing at the final path while writing */
    mr_afile_abort(&a);
    CHECK(!mr_file_exists(path));
    char *sub = mr_path_join(dir, "sub");
    CHECK_INT(count_entries(sub), 0); /* no stray temporary file */

    REQUIRE_OK(mr_afile_open(&a, path));
    fputs("complete", a.f);
    CHECK_OK(mr_afile_commit(&a));
    char *data;
    REQUIRE_OK(mr_read_file(path, &data, NULL));
    CHECK_STR(data, "complete");
    CHECK_INT(count_entries(sub), 1);
    free(data);
    free(sub);
    free(path);
}

TEST(afile_failed_commit_leaves_nothing)
{
    /* The final path is a directory, so the rename fails: the commit must
     * report it, and no temporary file may stay behind. */
    const char *dir = mr_test_tmpdir();
    char *path = mr_path_join(dir, "target");
    REQUIRE(mkdir(path, 0755) == 0);
    char *inner = mr_path_join(path, "keep");
    REQUIRE_OK(mr_write_file_atomic(inner, "x", 1));
    mr_afile a;
    REQUIRE_OK(mr_afile_open(&a, path));
    fputs("data", a.f);
    CHECK_ERR(mr_afile_commit(&a), "target");
    CHECK_INT(count_entries(dir), 1); /* only the directory itself */
    free(inner);
    free(path);
}

TEST(afile_unwritable_dir)
{
    /* /proc refuses new directories even to root, so this fails for everyone */
    CHECK_ERR(mr_ensure_writable_dir("/proc/musrec-nope/sub"), "/proc/musrec-nope");
    mr_afile a;
    CHECK_ERR(mr_afile_open(&a, "/proc/musrec-nope/out.parquet"), "/proc/musrec-nope");
}

TEST(mkdirs_file_in_the_way)
{
    const char *dir = mr_test_tmpdir();
    char *f = mr_path_join(dir, "file");
    REQUIRE_OK(mr_write_file_atomic(f, "x", 1));
    char *d = mr_path_join(f, "sub");
    CHECK_ERR(mr_mkdirs(d), "file");
    free(d);
    free(f);
}

TEST(logger_writes_json_lines)
{
    const char *dir = mr_test_tmpdir();
    REQUIRE_OK(mr_log_open(dir, "unit"));
    MR_LOG(MR_LOG_INFO, "hello \"world\"\n", MR_I("rows", 123456789012LL), MR_F("ratio", 0.1),
           MR_S("file", "a\tb.parquet"), MR_B("ok", 1), MR_F("nan", NAN));
    mr_logf(MR_LOG_WARN, "plain %d", 5);
    MR_LOG(MR_LOG_DEBUG, "debug line");
    mr_log_close();
    char *path = mr_path_join(dir, "logs/logs_unit.json"), *data;
    REQUIRE_OK(mr_read_file(path, &data, NULL));
    int lines = 0;
    for (char *save = NULL, *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        REQUIRE(j != NULL);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "ts")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "level")));
        CHECK_STR(cJSON_GetObjectItem(j, "step")->valuestring, "unit");
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "msg")));
        if (lines == 0) {
            CHECK_STR(cJSON_GetObjectItem(j, "msg")->valuestring, "hello \"world\"\n");
            CHECK_STR(cJSON_GetObjectItem(j, "level")->valuestring, "info");
            CHECK_NEAR(cJSON_GetObjectItem(j, "rows")->valuedouble, 123456789012.0, 0);
            CHECK_NEAR(cJSON_GetObjectItem(j, "ratio")->valuedouble, 0.1, 0);
            CHECK_STR(cJSON_GetObjectItem(j, "file")->valuestring, "a\tb.parquet");
            CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
            CHECK_STR(cJSON_GetObjectItem(j, "nan")->valuestring, "NaN");
        }
        if (lines == 1) CHECK_STR(cJSON_GetObjectItem(j, "level")->valuestring, "warn");
        cJSON_Delete(j);
        lines++;
    }
    CHECK_INT(lines, 3);
    free(data);
    free(path);
}

TEST(json_numbers_round_trip)
{
    char b[32];
    CHECK_STR(mr_json_num(b, 0.1), "0.1");
    CHECK_STR(mr_json_num(b, 1e300), "1e+300");
    CHECK_STR(mr_json_num(b, -2), "-2");
    CHECK_STR(mr_json_num(b, INFINITY), "\"Infinity\"");
    CHECK_STR(mr_json_num(b, -INFINITY), "\"-Infinity\"");
    CHECK_STR(mr_json_num_f32(b, 0.1f), "0.1");
    double vals[] = {1.0 / 3, 123456.789, 5e-324, 1.7976931348623157e308};
    for (int i = 0; i < 4; i++) CHECK(strtod(mr_json_num(b, vals[i]), NULL) == vals[i]);
}

TEST(json_string_escapes_and_bad_utf8)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mr_json_str(f, "a\"\\\x01\xff\xd0\xb6", 7);
    fclose(f);
    CHECK_STR(buf, "\"a\\\"\\\\\\u0001\xef\xbf\xbd\xd0\xb6\"");
    free(buf);
}

TEST(imap_put_get_grow)
{
    mr_imap m;
    REQUIRE_OK(mr_imap_init(&m, 4));
    for (int64_t i = 0; i < 100000; i++) REQUIRE_OK(mr_imap_put(&m, i * 1000003 - 50000, (int32_t)i));
    int32_t v = -1;
    CHECK(mr_imap_get(&m, 77 * 1000003 - 50000, &v));
    CHECK_INT(v, 77);
    CHECK(!mr_imap_get(&m, 1, &v));
    CHECK_INT(m.n, 100000);
    int32_t out;
    CHECK_OK(mr_imap_get_or_put(&m, -7, 5, &out));
    CHECK_INT(out, 5);
    CHECK_OK(mr_imap_get_or_put(&m, -7, 9, &out));
    CHECK_INT(out, 5);
    mr_imap_free(&m);
}

TEST(config_unknown_keys_reported_with_file_and_line)
{
    mr_config *c;
    REQUIRE_OK(mr_config_new(&c));
    CHECK_OK(mr_config_load_text(c, "# x\nMUSREC_SEED=1\nALS_FACTRS=32\n", "u.env"));
    CHECK_STR(mr_config_source(c, "ALS_FACTRS"), "u.env:3");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mr_config_print(c, f);
    fclose(f);
    const char *unknown = strstr(buf, "# [unknown keys]");
    CHECK(unknown != NULL);
    CHECK(unknown && strstr(unknown, "ALS_FACTRS=32  # u.env:3") != NULL);
    free(buf);
    mr_config_free(c);
}
