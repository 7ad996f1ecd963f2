#include "tests/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shale.h"

char *tu_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/shale-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	char *p = mkdtemp(path);
	ck_assert_msg(p != NULL, "mkdtemp failed");
	return strdup(p);
}

void tu_rmtree(const char *path)
{
	struct stat st;
	if (getenv("SHALE_TEST_KEEP"))
		return; /* leave the files for a post-mortem */
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				char child[4096];
				snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
				tu_rmtree(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

void tu_random_bytes(struct rng *r, char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(rng_next(r) >> 56);
}

void tu_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert(fwrite(data, 1, n, f) == n);
	ck_assert(fclose(f) == 0);
}

size_t tu_read_file(const char *path, char **data)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc((size_t)n + 1);
	ck_assert(*data != NULL);
	ck_assert(fread(*data, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return (size_t)n;
}

int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
