/*
 * The public option objects, comparators and caches, and the resolved options
 * the database runs with. Everything here is plain data owned by whoever
 * created it; the DB copies the options it needs at open.
 */
#ifndef SHALE_DB_OPTIONS_H
#define SHALE_DB_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util/buf.h"
#include "lib/util/cache.h"
#include "lib/util/comparator.h"
#include "lib/util/env.h"
#include "lib/version/version.h"
#include "sstable/filter_policy.h"
#include "shale.h"

/* Defaults (doc/api.md gives the reasons). */
#define DEFAULT_WRITE_BUFFER_SIZE (8u << 20)
#define DEFAULT_MAX_OPEN_FILES 1000
#define DEFAULT_BLOCK_SIZE 2048
#define DEFAULT_RESTART_INTERVAL 4
#define DEFAULT_MAX_FILE_SIZE (2u << 20)
#define DEFAULT_BLOOM_BITS 10
#define DEFAULT_BACKGROUND_THREADS 2
#define DEFAULT_L0_COMPACTION_TRIGGER 4
#define DEFAULT_L0_SLOWDOWN_TRIGGER 8
#define DEFAULT_L0_STOP_TRIGGER 12
#define DEFAULT_MAX_BYTES_FOR_LEVEL_BASE (10ull << 20) /* the API's */
#define DEFAULT_LEVEL_MULTIPLIER 10
#define DEFAULT_CACHE_SIZE (8u << 20)
#define DEFAULT_MAX_MANIFEST_SIZE (64ull << 20)
#define DEFAULT_COMPACTION_NICE 10
#define DEFAULT_WAL_FLUSH_DELAY 0 /* microseconds: every write reaches the OS before it returns */

struct db_test_hooks; /* lib/db/db_hooks.h */

struct shale_comparator {
	struct comparator base; /* first: a shale_comparator * is a struct comparator * */
	void *state;
	void (*destructor)(void *);
	int (*compare)(void *, const void *, size_t, const void *, size_t);
	const char *(*name)(void *);
};

struct shale_cache {
	struct cache *cache;
};

struct shale_filter_policy {
	struct filter_policy base; /* first: a shale_filter_policy * is a struct filter_policy * */
	void *state;
	void (*destructor)(void *);
	int (*create_filter)(void *, const void *const *, const size_t *, size_t, void **, size_t *);
	int (*key_may_match)(void *, const void *, size_t, const void *, size_t);
	const char *(*name)(void *);
};

struct shale_options {
	int create_if_missing;
	int error_if_exists;
	int paranoid_checks;
	size_t write_buffer_size;
	int max_open_files;
	size_t block_size;
	int restart_interval;
	size_t max_file_size;
	int compression;
	int bloom_bits_per_key;
	shale_cache *cache;
	shale_comparator *comparator;
	shale_filter_policy *filter_policy; /* NULL: the built-in bloom */
	int background_threads;
	int l0_compaction_trigger;
	int l0_slowdown_trigger;
	int l0_stop_trigger;
	uint64_t max_bytes_for_level_base;
	int level_multiplier;
	/* internal: set by tests and tools through options_set_* below */
	struct env *env;                      /* NULL = POSIX */
	const struct db_test_hooks *hooks;    /* NULL = none */
	uint64_t max_manifest_size;
	uint64_t bg_retry_micros;             /* wait before retrying after ENOSPC */
	int use_mmap_reads;
	int read_only;
	uint64_t wal_flush_delay;             /* microseconds; 0 = every write to the OS at once */
	int compaction_nice;                  /* nice increment of compaction threads */
	int info_log_mode;                    /* INFO_LOG_* */
	void (*info_log_fn)(void *state, const char *line);
	void *info_log_state;
};

#define INFO_LOG_FILE 0     /* <db>/LOG (the default) */
#define INFO_LOG_NONE 1     /* no info log */
#define INFO_LOG_CALLBACK 2 /* lines go to info_log_fn */

struct shale_writeopts {
	int sync;
};

struct shale_readopts {
	int verify_checksums;
	int fill_cache;
	int scan_ahead;
	const shale_snapshot *snapshot;
	int has_lower, has_upper;
	int lower_failed, upper_failed; /* a bound could not be copied */
	int prefix_lower, prefix_upper; /* the bound comes from set_prefix (bytewise order only) */
	struct buf lower, upper;
};

/* Fills o with the defaults. */
void options_init_defaults(struct shale_options *o);
/* Checks option values; SHALE_EINVAL naming the option when absurd. */
int options_validate(const struct shale_options *o);
/* The engine settings of the version layer and compaction. */
void options_vset_config(const struct shale_options *o, struct vset_config *cfg);

/* Internal setters (tests, tools). */
void options_set_env(shale_options *o, struct env *env);
void options_set_test_hooks(shale_options *o, const struct db_test_hooks *hooks);
void options_set_max_manifest_size(shale_options *o, uint64_t bytes);
void options_set_bg_retry_micros(shale_options *o, uint64_t us);
void options_set_use_mmap_reads(shale_options *o, int on);

/* The filter policy tables are written and read with: the user's, or NULL
 * for the built-in bloom (bloom_bits_per_key). */
static inline const struct filter_policy *options_filter_policy(const struct shale_options *o)
{
	return o->filter_policy ? &o->filter_policy->base : NULL;
}

/* The comparator a DB uses: the user's, or bytewise. */
static inline const struct comparator *options_comparator(const struct shale_options *o)
{
	return o->comparator ? &o->comparator->base : comparator_bytewise();
}

#endif
