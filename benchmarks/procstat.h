/*
 * procstat.h: what the comparison measures about the benchmark process
 * itself, from Linux's /proc: storage writes, peak anonymous memory, and the
 * size of a directory on disk.
 */
#ifndef SHALE_BENCH_PROCSTAT_H
#define SHALE_BENCH_PROCSTAT_H

#include <stdint.h>

/* write_bytes of /proc/self/io: the bytes this process (all its threads,
 * live or exited) caused to be sent to storage. -1 when unreadable. */
int64_t proc_write_bytes(void);

/* RssAnon of /proc/self/status in bytes: resident anonymous memory (heap,
 * stacks, private mappings), not file pages of mapped files. -1 when
 * unreadable. */
int64_t proc_rss_anon_bytes(void);

/* A thread that samples proc_rss_anon_bytes every 100 ms and keeps the
 * largest. rss_sampler_start: 0, or -1 when the thread cannot start;
 * rss_sampler_stop takes one last sample, stops the thread and returns the
 * peak in bytes (-1 when never readable). One sampler per process. */
int rss_sampler_start(void);
int64_t rss_sampler_stop(void);

/* Bytes allocated on disk (st_blocks) by path and everything under it. */
int64_t dir_disk_bytes(const char *path);

#endif
