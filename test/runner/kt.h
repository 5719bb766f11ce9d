/* kt.h - knode's tiny test runner.
 *
 *   KT_TEST(quantity, parses_milli) {
 *       KT_ASSERT_EQ(parse("100m"), 100);
 *   }
 *
 * Tests register themselves (constructor functions), so a new test file is
 * picked up by the Makefile without any list to edit. Each test runs in a
 * forked child in its own process group with a timeout and a fresh temporary
 * directory (kt_tmpdir()); its output is shown only when it fails (or with
 * KT_VERBOSE=1). A failed assertion prints file:line and ends the child.
 * The runner's last line is "N passed, N failed, N skipped". Tests of the
 * suite "bench" are benchmarks: they run only when a filter names them. */
#ifndef KNODE_TEST_KT_H
#define KNODE_TEST_KT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct kt_case {
    const char *suite;
    const char *name;
    void (*fn)(void);
    int timeout_s;
    struct kt_case *next;
} kt_case;

void kt_register(kt_case *c);

#define KT_TEST_TIMEOUT(suite, name, timeout)                                                      \
    static void kt_fn_##suite##_##name(void);                                                      \
    static kt_case kt_case_##suite##_##name = {#suite, #name, kt_fn_##suite##_##name, timeout,     \
                                               NULL};                                              \
    __attribute__((constructor)) static void kt_reg_##suite##_##name(void)                         \
    {                                                                                              \
        kt_register(&kt_case_##suite##_##name);                                                    \
    }                                                                                              \
    static void kt_fn_##suite##_##name(void)

#define KT_TEST(suite, name) KT_TEST_TIMEOUT(suite, name, 60)

/* Ends the test as failed / skipped. Never return. */
void kt_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void kt_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A directory created for this test and removed after it (never crossing
 * mount points). */
const char *kt_tmpdir(void);

/* Registers a function run when the test is stopped by its timeout (SIGTERM)
 * or ends by a failed assertion, e.g. to tear down network namespaces. Last
 * registered runs first. At most 16. */
void kt_on_cleanup(void (*fn)(void *), void *arg);

/* Runs the registered cleanups now (also called at a normal test end). */
void kt_run_cleanups(void);

/* The path of NAME in the folder of the running test binary (malloc'd), e.g.
 * kt_beside_self("knode"): knode and the tests are built into one BUILD. */
char *kt_beside_self(const char *name);

#define KT_FAIL(...) kt_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define KT_SKIP(...) kt_skip(__VA_ARGS__)

#define KT_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            kt_fail_at(__FILE__, __LINE__, "assertion failed: %s", #cond);                         \
    } while (0)

#define KT_ASSERT_MSG(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            kt_fail_at(__FILE__, __LINE__, __VA_ARGS__);                                           \
    } while (0)

#define KT_ASSERT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long kt_a_ = (long long)(a), kt_b_ = (long long)(b);                                  \
        if (kt_a_ != kt_b_)                                                                        \
            kt_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, kt_a_, kt_b_);        \
    } while (0)

#define KT_ASSERT_NE(a, b)                                                                         \
    do {                                                                                           \
        long long kt_a_ = (long long)(a), kt_b_ = (long long)(b);                                  \
        if (kt_a_ == kt_b_)                                                                        \
            kt_fail_at(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, kt_a_);                  \
    } while (0)

#define KT_ASSERT_STREQ(a, b)                                                                      \
    do {                                                                                           \
        const char *kt_a_ = (a), *kt_b_ = (b);                                                     \
        if (!kt_a_ || !kt_b_ || strcmp(kt_a_, kt_b_) != 0)                                         \
            kt_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                   \
                       kt_a_ ? kt_a_ : "(null)", kt_b_ ? kt_b_ : "(null)");                        \
    } while (0)

#define KT_ASSERT_CONTAINS(hay, needle)                                                            \
    do {                                                                                           \
        const char *kt_h_ = (hay), *kt_n_ = (needle);                                              \
        if (!kt_h_ || !strstr(kt_h_, kt_n_))                                                       \
            kt_fail_at(__FILE__, __LINE__, "%s does not contain \"%s\": \"%s\"", #hay, kt_n_,      \
                       kt_h_ ? kt_h_ : "(null)");                                                  \
    } while (0)

/* For functions of the kn_error convention: expr must be >= 0; on failure the
 * error's message is printed. */
#define KT_ASSERT_OK(expr, errp)                                                                   \
    do {                                                                                           \
        if ((expr) < 0)                                                                            \
            kt_fail_at(__FILE__, __LINE__, "%s failed: %s", #expr, kn_error_msg(errp));            \
    } while (0)

/* expr must fail (< 0). */
#define KT_ASSERT_FAILS(expr)                                                                      \
    do {                                                                                           \
        if ((expr) >= 0)                                                                           \
            kt_fail_at(__FILE__, __LINE__, "%s succeeded, expected failure", #expr);               \
    } while (0)

#endif
