/* A minimal test harness: TH_CHECK records a failure and goes on. */
#ifndef TRAILHOUND_TEST_HARNESS_H
#define TRAILHOUND_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_checks_passed;
static int s_checks_failed;

#define TH_CHECK(cond)                                                              \
    do {                                                                            \
        if (cond) {                                                                 \
            s_checks_passed++;                                                      \
        } else {                                                                    \
            s_checks_failed++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define TH_CHECK_STR(a, b)                                                              \
    do {                                                                                \
        const char *a_ = (a), *b_ = (b);                                                \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                          \
            s_checks_passed++;                                                          \
        } else {                                                                        \
            s_checks_failed++;                                                          \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", \
                    b_ ? b_ : "(null)");                                                \
        }                                                                               \
    } while (0)

#define TH_RUN(test)                                                    \
    do {                                                                \
        int failed_before_ = s_checks_failed;                           \
        test();                                                         \
        printf("%s %s\n", s_checks_failed == failed_before_ ? "ok  " : "FAIL", #test); \
    } while (0)

/* Prints the closing line and returns the exit status for main. */
static inline int th_test_report(const char *suite)
{
    printf("%s: %d checks passed, %d checks failed\n", suite, s_checks_passed, s_checks_failed);
    return s_checks_failed ? 1 : 0;
}

#endif
