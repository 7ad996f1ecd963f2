/* compare.c: the parent of a comparison (see compare.h): one child process
 * per engine, its report lines collected through a pipe, then the tables. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchmarks/compare.h"
#include "benchmarks/engine.h"

#define MAX_ENGINES 16
#define MAX_ROWS 256
#define COL_WIDTH 18

enum run_state { NOT_BUILT, RAN, FAILED };

struct cell {
	int state; /* 0: no result, 1: timed, 2: skipped */
	int64_t ops, found, lookups;
	double seconds, p50, p99;
};

struct engine_run {
	char name[32];
	enum run_state state;
	char why[128]; /* FAILED: how */
	char config[1024];
	int have_totals;
	int64_t write_bytes, user_bytes, disk_bytes, peak_rss;
	struct cell cells[MAX_ROWS];
};

struct table {
	const char *rows[MAX_ROWS]; /* workload names, borrowed from one strdup'd list */
	int nrows;
	struct engine_run runs[MAX_ENGINES];
	int nruns;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "shale_bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* The timed workloads of cs->benchmarks, in order: the rows. */
static int split_rows(struct table *t, char *list)
{
	for (char *save = NULL, *w = strtok_r(list, ",", &save); w != NULL;
	     w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "stats") == 0 || strcmp(w, "sstables") == 0)
			continue;
		if (t->nrows == MAX_ROWS) {
			fprintf(stderr, "shale_bench: at most %d workloads in a comparison\n", MAX_ROWS);
			return -1;
		}
		t->rows[t->nrows++] = w;
	}
	return 0;
}

/* Parses one child's report (NUL-terminated text) into r. */
static void parse_report(const struct table *t, struct engine_run *r, char *text)
{
	int row = 0;

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');
		char name[64];
		struct cell *c;

		if (tab == NULL)
			continue;
		*tab++ = '\0';
		if (strcmp(line, COMPARE_CONFIG) == 0) {
			snprintf(r->config, sizeof(r->config), "%s", tab);
		} else if (strcmp(line, COMPARE_TOTALS) == 0) {
			r->have_totals = sscanf(tab, "%" SCNd64 "\t%" SCNd64 "\t%" SCNd64 "\t%" SCNd64,
			                        &r->write_bytes, &r->user_bytes, &r->disk_bytes,
			                        &r->peak_rss) == 4;
		} else if (strcmp(line, COMPARE_BENCH) == 0 || strcmp(line, COMPARE_SKIP) == 0) {
			if (row >= t->nrows || sscanf(tab, "%63[^\t]", name) != 1 ||
			    strcmp(name, t->rows[row]) != 0) {
				fprintf(stderr, "shale_bench: %s reported '%s' out of order\n", r->name,
				        tab);
				continue;
			}
			c = &r->cells[row++];
			c->state = 2;
			if (strcmp(line, COMPARE_BENCH) == 0 &&
			    sscanf(tab, "%*[^\t]\t%" SCNd64 "\t%lf\t%lf\t%lf\t%" SCNd64 "\t%" SCNd64,
			           &c->ops, &c->seconds, &c->p50, &c->p99, &c->found,
			           &c->lookups) == 6)
				c->state = 1;
		}
	}
}

/* Builds the child's command line: ours without the flags the parent sets,
 * then those four, malloc'd, from (*own)[0] on. */
static char **child_argv(int argc, char **argv, const struct compare_setup *cs,
                         const char *engine, const char *dir, int fd, char ***own)
{
	static const char *const OWN[] = { "--engine=", "--db=", "--benchmarks=", "--report_fd=" };
	char **out = xcalloc((size_t)argc + 5, sizeof(*out));
	int n = 0;

	out[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		int ours = 0;
		for (size_t j = 0; j < sizeof(OWN) / sizeof(OWN[0]); j++)
			ours |= strncmp(argv[i], OWN[j], strlen(OWN[j])) == 0;
		if (!ours)
			out[n++] = argv[i];
	}
	*own = &out[n];
	if (asprintf(&out[n++], "--engine=%s", engine) < 0 ||
	    asprintf(&out[n++], "--db=%s", dir) < 0 ||
	    asprintf(&out[n++], "--benchmarks=%s", cs->benchmarks) < 0 ||
	    asprintf(&out[n++], "--report_fd=%d", fd) < 0) {
		fprintf(stderr, "shale_bench: out of memory\n");
		exit(1);
	}
	out[n] = NULL;
	return out;
}

/* Runs one engine in a child process and collects its report into r. */
static void run_child(const struct compare_setup *cs, int argc, char **argv,
                      const struct table *t, struct engine_run *r)
{
	char *dir = NULL, *text = NULL, **cargv = NULL, **own = NULL;
	size_t len = 0, cap = 0;
	int fds[2], status;
	pid_t pid;

	if (asprintf(&dir, "%s/%s", cs->db, r->name) < 0) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		goto failed;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(r->why, sizeof(r->why), "pipe: %s", strerror(errno));
		goto failed;
	}
	cargv = child_argv(argc, argv, cs, r->name, dir, fds[1], &own);
	printf("==== %s: %s", r->name, cargv[0]);
	for (int i = 1; cargv[i] != NULL; i++)
		printf(" %s", cargv[i]);
	printf("\n");
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		snprintf(r->why, sizeof(r->why), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto failed;
	}
	if (pid == 0) {
		/* The report pipe is the one descriptor the child keeps open. */
		fcntl(fds[1], F_SETFD, 0);
		execv("/proc/self/exe", cargv);
		fprintf(stderr, "exec /proc/self/exe: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t got;
		if (cap - len < 4096) {
			char *more = realloc(text, cap = cap * 2 + 8192);
			if (more == NULL) {
				fprintf(stderr, "shale_bench: out of memory\n");
				exit(1);
			}
			text = more;
		}
		got = read(fds[0], text + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fds[0]);
	text[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	parse_report(t, r, text);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->have_totals) {
		r->state = RAN;
	} else {
		if (WIFSIGNALED(status))
			snprintf(r->why, sizeof(r->why), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(r->why, sizeof(r->why), "exit status %d", WEXITSTATUS(status));
		r->state = FAILED;
	}
	/* Its write-back must not land in the next engine's run. */
	if (cs->created && engine_remove_tree(dir) != 0)
		fprintf(stderr, "shale_bench: %s\n", engine_errmsg());
	sync();
	goto done;

failed:
	r->state = FAILED;
done:
	for (int i = 0; own != NULL && i < 4; i++)
		free(own[i]);
	free(cargv);
	free(text);
	free(dir);
}

/* ---- the tables ----------------------------------------------------------- */

static void print_engine_heads(const struct table *t, const char *first)
{
	printf("%-18s", first);
	for (int e = 0; e < t->nruns; e++)
		printf(" %*s", COL_WIDTH, t->runs[e].name);
	printf("\n");
}

/* The reason a cell has no numbers, or NULL when it has them. */
static const char *no_result(const struct engine_run *r, const struct cell *c)
{
	if (r->state == NOT_BUILT)
		return "not built";
	if (c->state == 0)
		return "failed";
	if (c->state == 2)
		return "skipped";
	return NULL;
}

static double ops_per_sec(const struct cell *c)
{
	return c->seconds > 0 ? (double)c->ops / c->seconds : 0;
}

static void print_throughput(const struct table *t)
{
	const struct engine_run *ldb = NULL;

	for (int e = 0; e < t->nruns; e++)
		if (strcmp(t->runs[e].name, "leveldb") == 0 && t->runs[e].state != NOT_BUILT)
			ldb = &t->runs[e];
	printf("\nops/s%s (readwhilewriting: the readers' ops/s)\n",
	       ldb != NULL ? " (ratio to leveldb)" : "");
	print_engine_heads(t, "workload");
	for (int row = 0; row < t->nrows; row++) {
		const struct cell *base = ldb != NULL && ldb->cells[row].state == 1
		                              ? &ldb->cells[row] : NULL;
		printf("%-18s", t->rows[row]);
		for (int e = 0; e < t->nruns; e++) {
			const struct engine_run *r = &t->runs[e];
			const struct cell *c = &r->cells[row];
			const char *why = no_result(r, c);
			char buf[64];

			if (why != NULL)
				snprintf(buf, sizeof(buf), "%s", why);
			else if (c->ops <= 1) /* compact: one operation, its time */
				snprintf(buf, sizeof(buf), "%.3f s", c->seconds);
			else if (base != NULL && ops_per_sec(base) > 0)
				snprintf(buf, sizeof(buf), "%.0f (%.2fx)", ops_per_sec(c),
				         ops_per_sec(c) / ops_per_sec(base));
			else
				snprintf(buf, sizeof(buf), "%.0f", ops_per_sec(c));
			printf(" %*s", COL_WIDTH, buf);
		}
		printf("\n");
	}
}

static void print_latency(const struct table *t)
{
	printf("\nlatency per op, p50 / p99 (microseconds)\n");
	print_engine_heads(t, "workload");
	for (int row = 0; row < t->nrows; row++) {
		printf("%-18s", t->rows[row]);
		for (int e = 0; e < t->nruns; e++) {
			const struct engine_run *r = &t->runs[e];
			const struct cell *c = &r->cells[row];
			const char *why = no_result(r, c);
			char buf[64];

			if (why != NULL)
				snprintf(buf, sizeof(buf), "%s", why);
			else if (c->ops <= 1)
				snprintf(buf, sizeof(buf), "-");
			else
				snprintf(buf, sizeof(buf), "%.2f / %.2f", c->p50, c->p99);
			printf(" %*s", COL_WIDTH, buf);
		}
		printf("\n");
	}
}

/* Lookups that found different numbers of keys on different engines point
 * at a broken engine binding, unless a readwhilewriting ran before or during
 * them: its writer adds keys at the engine's own pace. */
static void print_found_differences(const struct table *t)
{
	int racing = 0;

	for (int row = 0; row < t->nrows; row++) {
		int64_t first = -1;
		int differs = 0;

		racing |= strcmp(t->rows[row], "readwhilewriting") == 0;
		for (int e = 0; e < t->nruns; e++) {
			const struct cell *c = &t->runs[e].cells[row];
			if (t->runs[e].state == NOT_BUILT || c->state != 1 || c->lookups == 0)
				continue;
			if (first < 0)
				first = c->found;
			else if (c->found != first)
				differs = 1;
		}
		if (!differs)
			continue;
		printf("note: %s found different numbers of keys:", t->rows[row]);
		for (int e = 0; e < t->nruns; e++) {
			const struct cell *c = &t->runs[e].cells[row];
			if (t->runs[e].state != NOT_BUILT && c->state == 1)
				printf(" %s %" PRId64 "/%" PRId64, t->runs[e].name, c->found, c->lookups);
		}
		printf("%s\n", racing ? " (expected: readwhilewriting's writer adds keys at the "
		                         "engine's own pace)"
		                       : "");
	}
}

static void print_resources(const struct table *t)
{
	printf("\nwhole run: write-amp = storage write_bytes (/proc/self/io) / key+value bytes "
	       "written;\ndisk = bytes allocated under the DB directory at the end; "
	       "memory = peak RssAnon (sampled every 100 ms)\n");
	printf("%-12s %10s %14s %14s %12s %12s\n", "engine", "write-amp", "written MB",
	       "storage MB", "disk MB", "peak anon MB");
	for (int e = 0; e < t->nruns; e++) {
		const struct engine_run *r = &t->runs[e];

		if (r->state == NOT_BUILT) {
			printf("%-12s not built (configure did not find it)\n", r->name);
		} else if (!r->have_totals) {
			printf("%-12s failed: %s\n", r->name, r->why);
		} else {
			printf("%-12s %10.2f %14.1f %14.1f %12.1f %12.1f%s%s\n", r->name,
			       r->write_bytes >= 0 && r->user_bytes > 0
			           ? (double)r->write_bytes / (double)r->user_bytes : -1.0,
			       (double)r->user_bytes / 1048576.0, (double)r->write_bytes / 1048576.0,
			       (double)r->disk_bytes / 1048576.0, (double)r->peak_rss / 1048576.0,
			       r->state == FAILED ? "  failed: " : "",
			       r->state == FAILED ? r->why : "");
		}
	}
	printf("\nconfiguration\n");
	for (int e = 0; e < t->nruns; e++) {
		const struct engine_run *r = &t->runs[e];
		printf("%-12s %s\n", r->name,
		       r->state == NOT_BUILT ? "not built" : r->config[0] ? r->config : "(unknown)");
	}
}

int compare_run(const struct compare_setup *cs, int argc, char **argv)
{
	struct table *t = xcalloc(1, sizeof(*t));
	char *rows = strdup(cs->benchmarks);
	int failed = 0;

	if (rows == NULL || split_rows(t, rows) != 0) {
		free(rows);
		free(t);
		return 1;
	}
	if (mkdir(cs->db, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "shale_bench: mkdir %s: %s\n", cs->db, strerror(errno));
		free(rows);
		free(t);
		return 1;
	}
	for (const char *p = cs->engines; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0 && t->nruns < MAX_ENGINES) {
			struct engine_run *r = &t->runs[t->nruns++];
			const struct engine *e;
			snprintf(r->name, sizeof(r->name), "%.*s", (int)len, p);
			if (engine_lookup(p, len, &e) != 0)
				r->state = NOT_BUILT;
			else
				run_child(cs, argc, argv, t, r);
			failed |= r->state == FAILED;
		}
		p += len + (p[len] == ',');
	}

	printf("\n==== comparison: %" PRId64 " entries, %d-byte keys, %d-byte values "
	       "(compressible to %.0f%%), %d thread%s, one process per engine\n",
	       cs->num, cs->key_size, cs->value_size, cs->compression_ratio * 100, cs->threads,
	       cs->threads == 1 ? "" : "s");
	print_throughput(t);
	print_latency(t);
	print_found_differences(t);
	print_resources(t);
	fflush(stdout);

	if (cs->created && engine_remove_tree(cs->db) != 0)
		fprintf(stderr, "shale_bench: %s\n", engine_errmsg());
	free(rows);
	free(t);
	return failed;
}
