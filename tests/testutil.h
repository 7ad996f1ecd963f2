/* Helpers shared by the Check suites. */
#ifndef SHALE_TESTS_TESTUTIL_H
#define SHALE_TESTS_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util/random.h"

/* 1 in an ASan or TSan build, where code runs several times slower: the
 * heaviest randomised tests take smaller sizes there (the plain builds run
 * them whole), so that the test command stays inside its time. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TU_SANITIZED 1
#endif
#endif
#ifndef TU_SANITIZED
#define TU_SANITIZED 0
#endif

/* A fresh empty directory under $TMPDIR (or /tmp); the caller frees the
 * string and removes the tree with tu_rmtree. */
char *tu_mkdtemp(const char *tag);
/* Removes path and everything below it (ignores errors). */
void tu_rmtree(const char *path);
/* Fills buf with n random bytes. */
void tu_random_bytes(struct rng *r, char *buf, size_t n);
/* Writes/reads a whole file directly (not through the env); abort the test on error. */
void tu_write_file(const char *path, const void *data, size_t n);
size_t tu_read_file(const char *path, char **data);
/* Runs a suite and returns a process exit status. */
int tu_run(Suite *s);

/* Check's ck_assert_msg records every passed check (_mark_point, a write to
 * a file), which dominates loops of millions of checks. Passed checks are
 * free here; a failure is reported exactly as Check does. (A test that
 * crashes is located with the sanitizers or a debugger instead.) */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...)                                                         \
	((expr) ? (void)0                                                                    \
	        : _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))

/* The same, spelled for loops that read better with it. */
#define tu_assert(cond, ...)                  \
	do {                                      \
		if (!(cond))                          \
			ck_abort_msg(__VA_ARGS__);        \
	} while (0)

#define ck_assert_ok(expr)                                                        \
	do {                                                                          \
		int rc_ = (expr);                                                         \
		tu_assert(rc_ == 0, "%s failed: %d (%s)", #expr, rc_, shale_errmsg());    \
	} while (0)

#endif
