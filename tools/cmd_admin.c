/*
 * The administration commands: stats, compact, checkpoint, destroy, repair.
 * Public API only (plus POSIX to list DB/lost/ and read a confirmation).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/progress.h"

/* Prints a property's value (ending it with a newline); 0 when unknown. */
static int print_property(shale_db *db, const char *name)
{
	char *v = shale_property(db, name);
	if (v == NULL)
		return 0;
	size_t n = strlen(v);
	fputs(v, stdout);
	if (n == 0 || v[n - 1] != '\n')
		putchar('\n');
	shale_free(v);
	return 1;
}

int cmd_stats(struct cli *c)
{
	const char *path = c->args[0];
	shale_db *db = NULL;
	int status = cli_open(c, path, 1, &db);
	if (status != CLI_OK)
		return status;
	print_property(db, "shale.stats");
	printf("\nFiles per level:\n");
	uint64_t total = 0;
	for (int level = 0; level < 100; level++) {
		char name[64];
		snprintf(name, sizeof(name), "shale.num-files-at-level%d", level);
		char *v = shale_property(db, name);
		if (v == NULL)
			break;
		printf("  level %d: %s\n", level, v);
		total += strtoull(v, NULL, 10);
		shale_free(v);
	}
	printf("  total: %llu\n", (unsigned long long)total);
	char *mem = shale_property(db, "shale.approximate-memory-usage");
	if (mem) {
		printf("\nApproximate memory usage: %s bytes\n", mem);
		shale_free(mem);
	}
	if (cli_has(c, OPT_FILES)) {
		printf("\nTables:\n");
		print_property(db, "shale.sstables");
	}
	status = cli_flush_stdout(c);
	if (cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	return status;
}

int cmd_compact(struct cli *c)
{
	const char *path = c->args[0];
	shale_db *db = NULL;
	int status = cli_open(c, path, 0, &db);
	if (status != CLI_OK)
		return status;
	struct ticker t;
	ticker_start(&t, "compacting");
	int rc = shale_compact_range(db, cli_has(c, OPT_FROM) ? c->from.data : NULL, c->from.len,
	                             cli_has(c, OPT_TO) ? c->to.data : NULL, c->to.len);
	ticker_stop(&t);
	if (rc)
		status = cli_lib_error(c, path, rc);
	if (cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	return status;
}

int cmd_checkpoint(struct cli *c)
{
	const char *path = c->args[0], *dir = c->args[1];
	shale_db *db = NULL;
	int status = cli_open(c, path, 0, &db);
	if (status != CLI_OK)
		return status;
	int rc = shale_checkpoint(db, dir);
	if (rc)
		status = cli_lib_error(c, dir, rc);
	if (cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	return status;
}

/* 1 when dir holds a file only a database has (CURRENT, LOCK, a MANIFEST),
 * so destroy never runs on a directory that merely exists. */
static int looks_like_db(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, "CURRENT") == 0 || strcmp(e->d_name, "LOCK") == 0 ||
		        strncmp(e->d_name, "MANIFEST-", 9) == 0;
	closedir(d);
	return found;
}

/* Asks on the terminal; 1 for yes. */
static int confirm(const char *path)
{
	fprintf(stderr, "Destroy the database in %s, deleting its files? [y/N] ", path);
	fflush(stderr);
	char answer[16];
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return 0;
	return strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0 ||
	       strcmp(answer, "Y\n") == 0 || strcmp(answer, "YES\n") == 0;
}

int cmd_destroy(struct cli *c)
{
	const char *path = c->args[0];
	struct stat st;
	if (stat(path, &st) != 0) {
		cli_msg(c, "%s: %s", path, strerror(errno));
		return CLI_ERROR;
	}
	if (!S_ISDIR(st.st_mode) || !looks_like_db(path)) {
		cli_msg(c, "%s: not a database (no CURRENT, LOCK or MANIFEST): nothing destroyed", path);
		return CLI_ERROR;
	}
	if (!cli_has(c, OPT_YES)) {
		if (!isatty(STDIN_FILENO)) {
			cli_msg(c, "%s: standard input is not a terminal to confirm on: give --yes to destroy", path);
			return CLI_ERROR;
		}
		if (!confirm(path)) {
			cli_msg(c, "%s: not destroyed", path);
			return CLI_ERROR;
		}
	}
	int rc = shale_destroy_db(path, NULL);
	if (rc)
		return cli_lib_error(c, path, rc);
	return CLI_OK;
}

/* ---- repair ---- */

struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return 1;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, sorted (none when it does not exist). 0 or -1. */
static int list_names(const char *dir, struct names *out)
{
	out->v = NULL;
	out->n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	size_t cap = 0;
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (out->n == cap) {
			cap = cap ? 2 * cap : 16;
			char **v = realloc(out->v, cap * sizeof(*v));
			if (v == NULL) {
				rc = -1;
				break;
			}
			out->v = v;
		}
		if ((out->v[out->n] = strdup(e->d_name)) == NULL) {
			rc = -1;
			break;
		}
		out->n++;
	}
	closedir(d);
	if (rc == 0 && out->n)
		qsort(out->v, out->n, sizeof(*out->v), by_name);
	return rc;
}

static void print_report_line(void *state, const char *line)
{
	(void)state;
	progress_done();
	printf("%s\n", line);
	fflush(stdout);
}

int cmd_repair(struct cli *c)
{
	const char *path = c->args[0];
	size_t plen = strlen(path);
	char *lost = malloc(plen + sizeof("/lost"));
	struct names before = { NULL, 0 }, after = { NULL, 0 };
	shale_options *o = shale_options_create();
	int status = CLI_OK;
	if (lost == NULL || o == NULL) {
		cli_msg(c, "out of memory");
		status = CLI_ERROR;
		goto out;
	}
	memcpy(lost, path, plen);
	memcpy(lost + plen, "/lost", sizeof("/lost"));
	if (list_names(lost, &before)) {
		cli_msg(c, "%s: %s", lost, strerror(errno));
		status = CLI_ERROR;
		goto out;
	}
	shale_options_set_info_log(o, print_report_line, NULL);
	struct ticker t;
	ticker_start(&t, "repairing");
	int rc = shale_repair_db(path, o);
	ticker_stop(&t);
	if (rc) {
		status = cli_lib_error(c, path, rc);
		goto out;
	}
	if (list_names(lost, &after)) {
		cli_msg(c, "%s: %s", lost, strerror(errno));
		status = CLI_ERROR;
		goto out;
	}
	size_t added = 0;
	for (size_t i = 0; i < after.n; i++)
		if (!names_has(&before, after.v[i]))
			added++;
	if (added == 0) {
		printf("repaired %s: nothing set aside\n", path);
	} else {
		printf("repaired %s: %zu file%s set aside in %s:\n", path, added, added == 1 ? "" : "s", lost);
		for (size_t i = 0; i < after.n; i++)
			if (!names_has(&before, after.v[i]))
				printf("  %s\n", after.v[i]);
	}
	if (before.n)
		printf("(%s also holds %zu file%s from before)\n", lost, before.n, before.n == 1 ? "" : "s");
	status = cli_flush_stdout(c);
out:
	names_free(&before);
	names_free(&after);
	shale_options_destroy(o);
	free(lost);
	return status;
}
