/* A minimal unit-test harness. TEST(name) { ... } registers itself at load
 * time (so a new test file needs no list to edit); CHECK* record a failure
 * with file and line and go on; REQUIRE* stop the test. The runner prints one
 * line per failure and ends with "N passed, N failed".
 *
 *   TEST(config_quotes) {
 *       CHECK_STR(mr_config_get(c, "A"), "x y");
 *       CHECK_NEAR(loss, 1.25, 1e-9);
 *   }
 */
#ifndef MR_TEST_H
#define MR_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef void (*mr_test_fn)(void);
void mr_test_register(const char *name, const char *file, mr_test_fn fn);
void mr_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A fresh empty directory for this test (removed after a passing run). */
const char *mr_test_tmpdir(void);
/* Directory of ../shared/parquet-testing (or $PARQUET_TESTING). */
const char *mr_test_parquet_testing(void);

#define TEST(name)                                                                           \
    static void test_##name(void);                                                           \
    __attribute__((constructor)) static void register_##name(void)                           \
    {                                                                                        \
        mr_test_register(#name, __FILE__, test_##name);                                      \
    }                                                                                        \
    static void test_##name(void)

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) mr_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                   \
    } while (0)
#define REQUIRE(cond)                                                                        \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            mr_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                          \
            return;                                                                          \
        }                                                                                    \
    } while (0)
#define CHECK_OK(expr)                                                                       \
    do {                                                                                     \
        int rc_ = (expr);                                                                    \
        if (rc_ != 0) mr_test_fail(__FILE__, __LINE__, "%s returned %d: %s", #expr, rc_, mr_errmsg()); \
    } while (0)
#define REQUIRE_OK(expr)                                                                     \
    do {                                                                                     \
        int rc_ = (expr);                                                                    \
        if (rc_ != 0) {                                                                      \
            mr_test_fail(__FILE__, __LINE__, "%s returned %d: %s", #expr, rc_, mr_errmsg()); \
            return;                                                                          \
        }                                                                                    \
    } while (0)
#define CHECK_INT(a, b)                                                                      \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        if (a_ != b_) mr_test_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                                \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                           \
        if (!(fabs(a_ - b_) <= (tol)))                                                       \
            mr_test_fail(__FILE__, __LINE__, "%s == %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol)); \
    } while (0)
#define CHECK_STR(a, b)                                                                      \
    do {                                                                                     \
        const char *a_ = (a), *b_ = (b);                                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                               \
            mr_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)
/* Expects a failing call whose message contains `needle`. */
#define CHECK_ERR(expr, needle)                                                              \
    do {                                                                                     \
        int rc_ = (expr);                                                                    \
        if (rc_ == 0) mr_test_fail(__FILE__, __LINE__, "%s succeeded, expected an error", #expr); \
        else if (!strstr(mr_errmsg(), (needle)))                                             \
            mr_test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", #expr, mr_errmsg(), (needle)); \
    } while (0)

#endif
