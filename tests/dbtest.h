/* The fixture shared by the database test suites: a fresh directory per test
 * (dbtest_dir) with the database path inside it (dbtest_path), and options
 * shrunk so that little data makes many flushes and several levels. */
#ifndef SHALE_TESTS_DBTEST_H
#define SHALE_TESTS_DBTEST_H

#include <stddef.h>
#include <stdint.h>

#include "shale.h"

extern char *dbtest_dir;
extern char dbtest_path[4096];

/* Checked fixture: makes dbtest_dir and dbtest_path; removes them after. */
void dbtest_setup(void);
void dbtest_teardown(void);

/* create_if_missing, the given write buffer, file size and level-1 budget,
 * 1 KiB blocks, and a quick retry after ENOSPC. */
shale_options *dbtest_options(size_t write_buffer, size_t file_size, uint64_t level_base);

#endif
