/* Runs every registered unit test (or those whose name contains argv[1]). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "mr_test.h"

#define MAX_TESTS 4096

static struct {
    const char *name, *file;
    mr_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failures;
static char tmpdir[512];

void mr_test_register(const char *name, const char *file, mr_test_fn fn)
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].file = file;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void mr_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failures++;
}

const char *mr_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/musrec-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

const char *mr_test_parquet_testing(void)
{
    const char *p = getenv("PARQUET_TESTING");
    return p ? p : "../shared/parquet-testing";
}

static int cmp_tests(const void *a, const void *b)
{
    const typeof(tests[0]) *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    mr_log_setup(MR_LOG_ERROR, 1); /* keep expected warnings out of the output */
    qsort(tests, (size_t)n_tests, sizeof tests[0], cmp_tests);
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        current_failures = 0;
        tmpdir[0] = 0;
        tests[i].fn();
        if (current_failures) {
            fprintf(stderr, "FAIL %s (%s)\n", tests[i].name, tests[i].file);
            failed++;
        } else {
            passed++;
            if (tmpdir[0]) {
                char cmd[600];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
                if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
            }
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
