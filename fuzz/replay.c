/*
 * A plain main for a fuzz target, for builds without libFuzzer (any
 * compiler) and for the test suite: runs every file named on the command
 * line, and every file in every directory named, through
 * LLVMFuzzerTestOneInput, in name order. With no argument it replays the
 * corpus the build compiled in (FUZZ_CORPUS_DIR, fuzz/corpus/<name>).
 *
 * A finding crashes the target (an abort, a sanitizer report), so the exit
 * status of a run that gets to the end is 0; an unreadable file or an empty
 * corpus is status 1 (a corpus that went missing must not pass as tested).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, n = 0;
	uint8_t *data = malloc(cap);
	for (;;) {
		if (data == NULL) {
			fclose(f);
			fprintf(stderr, "%s: out of memory\n", path);
			return -1;
		}
		n += fread(data + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		uint8_t *bigger = realloc(data, cap);
		if (bigger == NULL)
			free(data);
		data = bigger;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		return -1;
	}
	/* an exact-size copy, so that reads past the end are caught */
	uint8_t *exact = malloc(n ? n : 1);
	if (exact == NULL) {
		free(data);
		return -1;
	}
	memcpy(exact, data, n);
	free(data);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs path (a file, or every regular file in a directory); returns the
 * number of inputs run, or -1. */
static long run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;
	DIR *d = opendir(path);
	if (d == NULL) {
		perror(path);
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **bigger = realloc(names, cap * sizeof(*names));
			if (bigger == NULL)
				abort();
			names = bigger;
		}
		if ((names[n++] = strdup(e->d_name)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	long runs = 0;
	for (size_t i = 0; i < n; i++) {
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", path, names[i]);
		if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(child) != 0)
				runs = -1;
			else if (runs >= 0)
				runs++;
		}
		free(names[i]);
	}
	free(names);
	return runs;
}

int main(int argc, char **argv)
{
	long total = 0;
	int bad = 0;
#ifdef FUZZ_CORPUS_DIR
	static char *fallback[] = { NULL, (char *)FUZZ_CORPUS_DIR };
	if (argc < 2) {
		fallback[0] = argv[0];
		argv = fallback;
		argc = 2;
	}
#endif
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		long n = run_path(argv[i]);
		if (n < 0)
			bad = 1;
		else
			total += n;
	}
	printf("%s: %ld inputs replayed\n", argv[0], total);
	if (total == 0) {
		fprintf(stderr, "%s: no input found\n", argv[0]);
		bad = 1;
	}
	return bad;
}
