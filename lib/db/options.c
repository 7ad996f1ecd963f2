#include "config.h"
#include "lib/db/options.h"

#include <stdlib.h>

#include "lib/util/error.h"
#include "sstable/compress.h"

void options_init_defaults(struct shale_options *o)
{
	o->create_if_missing = 0;
	o->error_if_exists = 0;
	o->paranoid_checks = 0;
	o->write_buffer_size = DEFAULT_WRITE_BUFFER_SIZE;
	o->max_open_files = DEFAULT_MAX_OPEN_FILES;
	o->block_size = DEFAULT_BLOCK_SIZE;
	o->restart_interval = DEFAULT_RESTART_INTERVAL;
	o->max_file_size = DEFAULT_MAX_FILE_SIZE;
#ifdef HAVE_SNAPPY
	o->compression = SHALE_COMPRESSION_SNAPPY;
#else
	o->compression = SHALE_COMPRESSION_NONE;
#endif
	o->bloom_bits_per_key = DEFAULT_BLOOM_BITS;
	o->cache = NULL;
	o->comparator = NULL;
	o->filter_policy = NULL;
	o->background_threads = DEFAULT_BACKGROUND_THREADS;
	o->l0_compaction_trigger = DEFAULT_L0_COMPACTION_TRIGGER;
	o->l0_slowdown_trigger = DEFAULT_L0_SLOWDOWN_TRIGGER;
	o->l0_stop_trigger = DEFAULT_L0_STOP_TRIGGER;
	o->max_bytes_for_level_base = DEFAULT_MAX_BYTES_FOR_LEVEL_BASE;
	o->level_multiplier = DEFAULT_LEVEL_MULTIPLIER;
	o->env = NULL;
	o->hooks = NULL;
	o->max_manifest_size = DEFAULT_MAX_MANIFEST_SIZE;
	o->bg_retry_micros = 1000000;
	o->use_mmap_reads = 1;
	o->read_only = 0;
	o->wal_flush_delay = DEFAULT_WAL_FLUSH_DELAY;
	o->compaction_nice = DEFAULT_COMPACTION_NICE;
	o->info_log_mode = INFO_LOG_FILE;
	o->info_log_fn = NULL;
	o->info_log_state = NULL;
}

int options_validate(const struct shale_options *o)
{
#define BAD(opt, fmt, ...) err_set(SHALE_EINVAL, "option " opt ": " fmt, __VA_ARGS__)
	if (o->write_buffer_size < 4096 || o->write_buffer_size > ((size_t)1 << 40))
		return BAD("write_buffer_size", "%zu bytes (must be 4 KiB .. 1 TiB)", o->write_buffer_size);
	if (o->max_open_files < 20 || o->max_open_files > 1000000)
		return BAD("max_open_files", "%d (must be 20 .. 1000000)", o->max_open_files);
	if (o->block_size < 64 || o->block_size > ((size_t)256 << 20))
		return BAD("block_size", "%zu bytes (must be 64 B .. 256 MiB)", o->block_size);
	if (o->restart_interval < 1 || o->restart_interval > 65536)
		return BAD("block_restart_interval", "%d (must be 1 .. 65536)", o->restart_interval);
	if (o->max_file_size < 4096 || o->max_file_size > ((size_t)1 << 40))
		return BAD("max_file_size", "%zu bytes (must be 4 KiB .. 1 TiB)", o->max_file_size);
	if (o->compression < SHALE_COMPRESSION_NONE || o->compression > SHALE_COMPRESSION_ZLIB)
		return BAD("compression", "unknown type %d", o->compression);
	if (o->bloom_bits_per_key < 0 || o->bloom_bits_per_key > 1000)
		return BAD("bloom_bits_per_key", "%d (must be 0 .. 1000)", o->bloom_bits_per_key);
	if (o->background_threads < 1 || o->background_threads > 64)
		return BAD("background_threads", "%d (must be 1 .. 64)", o->background_threads);
	if (o->l0_compaction_trigger < 1 || o->l0_compaction_trigger > 1000)
		return BAD("l0_compaction_trigger", "%d (must be 1 .. 1000)", o->l0_compaction_trigger);
	if (o->l0_slowdown_trigger < o->l0_compaction_trigger || o->l0_slowdown_trigger > 10000)
		return BAD("l0_slowdown_trigger", "%d (must be >= l0_compaction_trigger %d and <= 10000)",
		           o->l0_slowdown_trigger, o->l0_compaction_trigger);
	if (o->l0_stop_trigger < o->l0_slowdown_trigger || o->l0_stop_trigger > 10000)
		return BAD("l0_stop_trigger", "%d (must be >= l0_slowdown_trigger %d and <= 10000)",
		           o->l0_stop_trigger, o->l0_slowdown_trigger);
	if (o->max_bytes_for_level_base < 4096 || o->max_bytes_for_level_base > (1ull << 50))
		return BAD("max_bytes_for_level_base", "%llu bytes (must be 4 KiB .. 1 PiB)",
		           (unsigned long long)o->max_bytes_for_level_base);
	if (o->wal_flush_delay > 1000000)
		return BAD("wal_flush_delay", "%llu microseconds (must be 0 .. 1000000)",
		           (unsigned long long)o->wal_flush_delay);
	if (o->compaction_nice < 0 || o->compaction_nice > 19)
		return BAD("compaction_nice", "%d (must be 0 .. 19)", o->compaction_nice);
	if (o->level_multiplier < 2 || o->level_multiplier > 1000)
		return BAD("level_multiplier", "%d (must be 2 .. 1000)", o->level_multiplier);
#undef BAD
	return 0;
}

void options_vset_config(const struct shale_options *o, struct vset_config *cfg)
{
	cfg->max_file_size = o->max_file_size;
	cfg->l0_compaction_trigger = o->l0_compaction_trigger;
	cfg->max_bytes_for_level_base = o->max_bytes_for_level_base;
	cfg->level_multiplier = o->level_multiplier;
	cfg->max_manifest_size = o->max_manifest_size;
}

/* ---- public options ---- */

SHALE_EXPORT shale_options *shale_options_create(void)
{
	shale_options *o = malloc(sizeof(*o));
	if (o == NULL) {
		err_nomem("options");
		return NULL;
	}
	options_init_defaults(o);
	return o;
}

SHALE_EXPORT void shale_options_destroy(shale_options *o)
{
	free(o);
}

#define SETTER(name, type, field) \
	SHALE_EXPORT void shale_options_set_##name(shale_options *o, type v) { if (o) o->field = v; }

SETTER(create_if_missing, int, create_if_missing)
SETTER(error_if_exists, int, error_if_exists)
SETTER(paranoid_checks, int, paranoid_checks)
SETTER(write_buffer_size, size_t, write_buffer_size)
SETTER(max_open_files, int, max_open_files)
SETTER(block_size, size_t, block_size)
SETTER(block_restart_interval, int, restart_interval)
SETTER(max_file_size, size_t, max_file_size)
SETTER(compression, int, compression)
SETTER(bloom_bits_per_key, int, bloom_bits_per_key)
SETTER(cache, shale_cache *, cache)
SETTER(comparator, shale_comparator *, comparator)
SETTER(filter_policy, shale_filter_policy *, filter_policy)
SETTER(background_threads, int, background_threads)
SETTER(l0_compaction_trigger, int, l0_compaction_trigger)
SETTER(l0_slowdown_trigger, int, l0_slowdown_trigger)
SETTER(l0_stop_trigger, int, l0_stop_trigger)
SETTER(max_bytes_for_level_base, uint64_t, max_bytes_for_level_base)
SETTER(level_multiplier, int, level_multiplier)
SETTER(mmap_reads, int, use_mmap_reads)
SETTER(read_only, int, read_only)
SETTER(wal_flush_delay, uint64_t, wal_flush_delay)
SETTER(compaction_nice, int, compaction_nice)
#undef SETTER

void options_set_env(shale_options *o, struct env *env) { o->env = env; }
void options_set_test_hooks(shale_options *o, const struct db_test_hooks *h) { o->hooks = h; }
void options_set_max_manifest_size(shale_options *o, uint64_t bytes) { o->max_manifest_size = bytes; }
void options_set_bg_retry_micros(shale_options *o, uint64_t us) { o->bg_retry_micros = us; }
void options_set_use_mmap_reads(shale_options *o, int on) { o->use_mmap_reads = on; }

SHALE_EXPORT void shale_options_set_info_log(shale_options *o, void (*log)(void *state, const char *line),
                                             void *state)
{
	if (o == NULL)
		return;
	o->info_log_mode = log ? INFO_LOG_CALLBACK : INFO_LOG_NONE;
	o->info_log_fn = log;
	o->info_log_state = state;
}

SHALE_EXPORT shale_writeopts *shale_writeopts_create(void)
{
	shale_writeopts *w = calloc(1, sizeof(*w));
	if (w == NULL)
		err_nomem("write options");
	return w;
}

SHALE_EXPORT void shale_writeopts_destroy(shale_writeopts *w)
{
	free(w);
}

SHALE_EXPORT void shale_writeopts_set_sync(shale_writeopts *w, int on)
{
	if (w)
		w->sync = on;
}

SHALE_EXPORT shale_readopts *shale_readopts_create(void)
{
	shale_readopts *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		err_nomem("read options");
		return NULL;
	}
	r->verify_checksums = 1;
	r->fill_cache = 1;
	r->scan_ahead = 1;
	buf_init(&r->lower);
	buf_init(&r->upper);
	return r;
}

SHALE_EXPORT void shale_readopts_destroy(shale_readopts *r)
{
	if (r == NULL)
		return;
	buf_free(&r->lower);
	buf_free(&r->upper);
	free(r);
}

SHALE_EXPORT void shale_readopts_set_verify_checksums(shale_readopts *r, int on)
{
	if (r)
		r->verify_checksums = on;
}

SHALE_EXPORT void shale_readopts_set_fill_cache(shale_readopts *r, int on)
{
	if (r)
		r->fill_cache = on;
}

SHALE_EXPORT void shale_readopts_set_scan_ahead(shale_readopts *r, int on)
{
	if (r)
		r->scan_ahead = on;
}

SHALE_EXPORT void shale_readopts_set_snapshot(shale_readopts *r, const shale_snapshot *s)
{
	if (r)
		r->snapshot = s;
}

/* The setters cannot report: a bound that cannot be copied (out of memory)
 * is remembered as failed, and iterators made with these options are then
 * invalid with SHALE_ENOMEM rather than silently unbounded. */
static void set_bound(int *has, int *failed, struct buf *b, const void *key, size_t klen)
{
	*failed = 0;
	if (key == NULL) {
		*has = 0;
		buf_clear(b);
		return;
	}
	*has = 1;
	if (buf_set(b, key, klen) != 0)
		*failed = 1;
}

SHALE_EXPORT void shale_readopts_set_lower_bound(shale_readopts *r, const void *key, size_t klen)
{
	if (r) {
		set_bound(&r->has_lower, &r->lower_failed, &r->lower, key, klen);
		r->prefix_lower = 0;
	}
}

SHALE_EXPORT void shale_readopts_set_upper_bound(shale_readopts *r, const void *key, size_t klen)
{
	if (r) {
		set_bound(&r->has_upper, &r->upper_failed, &r->upper, key, klen);
		r->prefix_upper = 0;
	}
}

SHALE_EXPORT void shale_readopts_set_prefix(shale_readopts *r, const void *prefix, size_t len)
{
	if (r == NULL)
		return;
	set_bound(&r->has_lower, &r->lower_failed, &r->lower, prefix, len);
	/* The upper bound is the shortest key past every key with the prefix:
	 * drop trailing 0xff bytes, then add one to the last byte. An empty or
	 * all-0xff prefix has no successor: no upper bound. */
	size_t n = len;
	const unsigned char *p = prefix;
	while (n > 0 && p[n - 1] == 0xff)
		n--;
	if (prefix != NULL && n > 0) {
		set_bound(&r->has_upper, &r->upper_failed, &r->upper, prefix, n);
		if (!r->upper_failed)
			r->upper.data[n - 1] = (char)(p[n - 1] + 1);
	} else {
		set_bound(&r->has_upper, &r->upper_failed, &r->upper, NULL, 0);
	}
	r->prefix_lower = r->prefix_upper = prefix != NULL;
}

/* ---- comparators ---- */

static int user_compare(const struct comparator *c, struct slice a, struct slice b)
{
	const shale_comparator *uc = (const shale_comparator *)c;
	/* An empty key may be a NULL slice inside shale; a user comparator is
	 * promised a valid pointer always (include/shale.h). */
	static const char empty[1] = "";
	return uc->compare(uc->state, a.data ? a.data : empty, a.size, b.data ? b.data : empty, b.size);
}

static const char *user_name(const struct comparator *c)
{
	const shale_comparator *uc = (const shale_comparator *)c;
	const char *n = uc->name(uc->state);
	return n ? n : "";
}

SHALE_EXPORT shale_comparator *shale_comparator_create(void *state, void (*destructor)(void *),
    int (*compare)(void *, const void *, size_t, const void *, size_t), const char *(*name)(void *))
{
	if (compare == NULL || name == NULL) {
		err_set(SHALE_EINVAL, "shale_comparator_create needs compare and name");
		return NULL;
	}
	shale_comparator *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_nomem("comparator");
		return NULL;
	}
	c->base.compare = user_compare;
	c->base.name = user_name;
	c->base.shorten_separator = comparator_keep_separator;
	c->base.short_successor = comparator_keep_successor;
	c->base.bytewise = 0;
	c->state = state;
	c->destructor = destructor;
	c->compare = compare;
	c->name = name;
	return c;
}

SHALE_EXPORT void shale_comparator_destroy(shale_comparator *c)
{
	if (c == NULL)
		return;
	if (c->destructor)
		c->destructor(c->state);
	free(c);
}

/* ---- caches ---- */

SHALE_EXPORT shale_cache *shale_cache_create_lru(size_t capacity)
{
	shale_cache *c = malloc(sizeof(*c));
	if (c == NULL) {
		err_nomem("cache");
		return NULL;
	}
	if (cache_create(capacity, &c->cache) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

SHALE_EXPORT void shale_cache_destroy(shale_cache *c)
{
	if (c == NULL)
		return;
	cache_destroy(c->cache);
	free(c);
}

SHALE_EXPORT int shale_compression_supported(int type)
{
	return compress_api_supported(type);
}
