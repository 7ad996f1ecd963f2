#include "tests/dbtest.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/db/options.h"
#include "tests/testutil.h"

char *dbtest_dir;
char dbtest_path[4096];

void dbtest_setup(void)
{
	dbtest_dir = tu_mkdtemp("db");
	snprintf(dbtest_path, sizeof(dbtest_path), "%s/db", dbtest_dir);
}

void dbtest_teardown(void)
{
	tu_rmtree(dbtest_dir);
	free(dbtest_dir);
	dbtest_dir = NULL;
}

shale_options *dbtest_options(size_t write_buffer, size_t file_size, uint64_t level_base)
{
	shale_options *o = shale_options_create();
	ck_assert_ptr_nonnull(o);
	shale_options_set_create_if_missing(o, 1);
	shale_options_set_write_buffer_size(o, write_buffer);
	shale_options_set_max_file_size(o, file_size);
	shale_options_set_max_bytes_for_level_base(o, level_base);
	shale_options_set_block_size(o, 1024);
	options_set_bg_retry_micros(o, 2000);
	return o;
}
