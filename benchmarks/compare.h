/*
 * compare.h: shale_bench's side-by-side comparison of engines. The parent
 * runs each engine in a fresh process of its own (this same program, exec'd
 * with --engine=NAME --db=DIR/NAME --report_fd=FD), one after another, never
 * two at once; each child prints its usual db_bench report to the shared
 * stdout and writes its results for the table to the pipe FD, one line each,
 * fields separated by tabs:
 *
 *   config <the engine's one-line configuration>
 *   bench  <workload> <ops> <wall seconds> <p50 us> <p99 us> <found> <lookups>
 *   skip   <workload> <why>
 *   totals <storage write_bytes over the run> <key+value bytes written>
 *          <bytes on disk at the end> <peak RssAnon bytes>
 *
 * with one bench or skip line per timed workload, in the order of
 * --benchmarks ("stats" and "sstables" are reports, not timed, and have none).
 */
#ifndef SHALE_BENCH_COMPARE_H
#define SHALE_BENCH_COMPARE_H

#include <stdint.h>

#define COMPARE_CONFIG "config"
#define COMPARE_BENCH "bench"
#define COMPARE_SKIP "skip"
#define COMPARE_TOTALS "totals"

struct compare_setup {
	const char *engines;    /* comma-separated engine names, all known */
	const char *benchmarks; /* comma-separated workloads, all known */
	const char *db;         /* base directory: each engine runs on db/<name> */
	int created;            /* db is a temporary directory to remove at the end */
	int64_t num;            /* for the table's title */
	int key_size, value_size, threads;
	double compression_ratio;
};

/* Runs the comparison and prints its tables. argv is the program's own
 * command line, passed on to each child but for --engine, --db,
 * --benchmarks and --report_fd, which the parent sets. Returns the exit
 * status: 0 when every built engine ran to the end, 1 otherwise. */
int compare_run(const struct compare_setup *cs, int argc, char **argv);

#endif
