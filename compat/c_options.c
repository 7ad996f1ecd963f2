/*
 * Options, read and write options, comparators, filter policies, caches,
 * the env and the utilities of LevelDB's C API.
 *
 * LevelDB's setters accept any value and its open brings sizes into fixed
 * ranges; shale refuses values outside its own (wider) ranges. So the
 * options keep what the setters were given, and compat_options_resolve
 * brings them into LevelDB's ranges (doc/leveldb-compat.md, "Options") and
 * makes shale options of them at each open, destroy or repair.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat/c_internal.h"

/* ---- options ---- */

SHALE_LEVELDB_EXPORT leveldb_options_t *leveldb_options_create(void)
{
	leveldb_options_t *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	/* LevelDB's defaults (shale's are the same where it has them) */
	o->write_buffer_size = 4 << 20;
	o->max_open_files = 1000;
	o->block_size = 4096;
	o->block_restart_interval = 16;
	o->max_file_size = 2 << 20;
	o->compression = leveldb_snappy_compression;
	return o;
}

SHALE_LEVELDB_EXPORT void leveldb_options_destroy(leveldb_options_t *o)
{
	free(o);
}

#define SETTER(name, type, field) \
	SHALE_LEVELDB_EXPORT void leveldb_options_set_##name(leveldb_options_t *o, type v) { if (o) o->field = v; }

SETTER(comparator, leveldb_comparator_t *, comparator)
SETTER(filter_policy, leveldb_filterpolicy_t *, filter_policy)
SETTER(create_if_missing, uint8_t, create_if_missing)
SETTER(error_if_exists, uint8_t, error_if_exists)
SETTER(paranoid_checks, uint8_t, paranoid_checks)
SETTER(env, leveldb_env_t *, env)
SETTER(info_log, leveldb_logger_t *, info_log)
SETTER(write_buffer_size, size_t, write_buffer_size)
SETTER(max_open_files, int, max_open_files)
SETTER(cache, leveldb_cache_t *, cache)
SETTER(block_size, size_t, block_size)
SETTER(block_restart_interval, int, block_restart_interval)
SETTER(max_file_size, size_t, max_file_size)
SETTER(compression, int, compression)
#undef SETTER

static size_t clip_size(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int clip_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

shale_options *compat_options_resolve(const leveldb_options_t *o, char **errptr)
{
	if (o == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "NULL options");
		return NULL;
	}
	if (o->info_log != NULL) {
		/* no function of the C API makes a logger: this is not one */
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_options_set_info_log: a logger this API did not make "
		                                    "(only NULL, the LOG file, is possible)");
		return NULL;
	}
	int compression;
	if (o->compression == leveldb_no_compression) {
		compression = SHALE_COMPRESSION_NONE;
	} else if (o->compression == leveldb_snappy_compression) {
		/* LevelDB built without snappy stores its blocks uncompressed */
		compression = shale_compression_supported(SHALE_COMPRESSION_SNAPPY) ? SHALE_COMPRESSION_SNAPPY
		                                                                    : SHALE_COMPRESSION_NONE;
	} else {
		compat_errorf(errptr, SHALE_EINVAL,
		              "option compression: unknown type %d (leveldb_no_compression 0, leveldb_snappy_compression 1)",
		              o->compression);
		return NULL;
	}
	shale_options *so = shale_options_create();
	if (so == NULL) {
		compat_error(errptr, SHALE_ENOMEM);
		return NULL;
	}
	shale_options_set_create_if_missing(so, o->create_if_missing);
	shale_options_set_error_if_exists(so, o->error_if_exists);
	shale_options_set_paranoid_checks(so, o->paranoid_checks);
	/* LevelDB's ranges (its SanitizeOptions), all inside shale's */
	shale_options_set_write_buffer_size(so, clip_size(o->write_buffer_size, 64 << 10, 1 << 30));
	shale_options_set_max_open_files(so, clip_int(o->max_open_files, 64 + 10, 50000));
	shale_options_set_block_size(so, clip_size(o->block_size, 1 << 10, 4 << 20));
	shale_options_set_max_file_size(so, clip_size(o->max_file_size, 1 << 20, 1 << 30));
	/* LevelDB takes any interval; shale 1 .. 65536 (below 1, LevelDB's
	 * blocks get a restart at every key, as with 1) */
	shale_options_set_block_restart_interval(so, clip_int(o->block_restart_interval, 1, 65536));
	shale_options_set_compression(so, compression);
	if (o->comparator)
		shale_options_set_comparator(so, o->comparator->cmp);
	if (o->cache)
		shale_options_set_cache(so, compat_cache(o->cache));
	/* LevelDB writes no filter unless a policy is set */
	shale_options_set_bloom_bits_per_key(so, 0);
	if (o->filter_policy && o->filter_policy->policy)
		shale_options_set_filter_policy(so, o->filter_policy->policy);
	else if (o->filter_policy)
		shale_options_set_bloom_bits_per_key(so, o->filter_policy->bloom_bits);
	/* LevelDB hands every write to the operating system before it returns:
	 * a crash of the process loses no write that returned */
	shale_options_set_wal_flush_delay(so, 0);
	return so;
}

/* ---- read and write options ---- */

SHALE_LEVELDB_EXPORT leveldb_readoptions_t *leveldb_readoptions_create(void)
{
	shale_readopts *ro = shale_readopts_create();
	/* LevelDB's default: data blocks read from disk are not verified */
	shale_readopts_set_verify_checksums(ro, 0);
	return (leveldb_readoptions_t *)ro;
}

SHALE_LEVELDB_EXPORT void leveldb_readoptions_destroy(leveldb_readoptions_t *r)
{
	shale_readopts_destroy(compat_ro(r));
}

SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_verify_checksums(leveldb_readoptions_t *r, uint8_t v)
{
	shale_readopts_set_verify_checksums(compat_ro(r), v != 0);
}

SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_fill_cache(leveldb_readoptions_t *r, uint8_t v)
{
	shale_readopts_set_fill_cache(compat_ro(r), v != 0);
}

SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_snapshot(leveldb_readoptions_t *r, const leveldb_snapshot_t *s)
{
	shale_readopts_set_snapshot(compat_ro(r), compat_snap(s));
}

SHALE_LEVELDB_EXPORT leveldb_writeoptions_t *leveldb_writeoptions_create(void)
{
	return (leveldb_writeoptions_t *)shale_writeopts_create();
}

SHALE_LEVELDB_EXPORT void leveldb_writeoptions_destroy(leveldb_writeoptions_t *w)
{
	shale_writeopts_destroy(compat_wo(w));
}

SHALE_LEVELDB_EXPORT void leveldb_writeoptions_set_sync(leveldb_writeoptions_t *w, uint8_t v)
{
	shale_writeopts_set_sync(compat_wo(w), v != 0);
}

/* ---- comparators ---- */

static int cmp_compare(void *state, const void *a, size_t alen, const void *b, size_t blen)
{
	leveldb_comparator_t *c = state;
	return c->compare(c->state, a, alen, b, blen);
}

static const char *cmp_name(void *state)
{
	leveldb_comparator_t *c = state;
	return c->name(c->state);
}

static void cmp_destroy(void *state)
{
	leveldb_comparator_t *c = state;
	if (c->destructor)
		c->destructor(c->state);
}

SHALE_LEVELDB_EXPORT leveldb_comparator_t *leveldb_comparator_create(
    void *state, void (*destructor)(void *), int (*compare)(void *, const char *, size_t, const char *, size_t),
    const char *(*name)(void *))
{
	if (compare == NULL || name == NULL)
		return NULL;
	leveldb_comparator_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->state = state;
	c->destructor = destructor;
	c->compare = compare;
	c->name = name;
	c->cmp = shale_comparator_create(c, cmp_destroy, cmp_compare, cmp_name);
	if (c->cmp == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

SHALE_LEVELDB_EXPORT void leveldb_comparator_destroy(leveldb_comparator_t *c)
{
	if (c == NULL)
		return;
	shale_comparator_destroy(c->cmp); /* runs the destructor */
	free(c);
}

/* ---- filter policies ---- */

static int fp_create(void *state, const void *const *keys, const size_t *klens, size_t n, void **filter,
                     size_t *flen)
{
	leveldb_filterpolicy_t *fp = state;
	if (n > INT_MAX)
		return -1;
	/* LevelDB's callback takes an array of char pointers */
	const char **ks = malloc(n * sizeof(*ks));
	if (ks == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ks[i] = keys[i];
	size_t len = 0;
	char *f = fp->create_filter(fp->state, ks, klens, (int)n, &len);
	free(ks);
	if (f == NULL && len > 0)
		return -1;
	*filter = f;
	*flen = len;
	return 0;
}

static int fp_match(void *state, const void *key, size_t klen, const void *filter, size_t flen)
{
	leveldb_filterpolicy_t *fp = state;
	return fp->key_may_match(fp->state, key, klen, filter, flen) != 0;
}

static const char *fp_name(void *state)
{
	leveldb_filterpolicy_t *fp = state;
	return fp->name(fp->state);
}

static void fp_destroy(void *state)
{
	leveldb_filterpolicy_t *fp = state;
	if (fp->destructor)
		fp->destructor(fp->state);
}

SHALE_LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create(
    void *state, void (*destructor)(void *),
    char *(*create_filter)(void *, const char *const *, const size_t *, int, size_t *),
    uint8_t (*key_may_match)(void *, const char *, size_t, const char *, size_t), const char *(*name)(void *))
{
	if (create_filter == NULL || key_may_match == NULL || name == NULL)
		return NULL;
	leveldb_filterpolicy_t *fp = calloc(1, sizeof(*fp));
	if (fp == NULL)
		return NULL;
	fp->state = state;
	fp->destructor = destructor;
	fp->create_filter = create_filter;
	fp->key_may_match = key_may_match;
	fp->name = name;
	fp->policy = shale_filter_policy_create(fp, fp_destroy, fp_create, fp_match, fp_name);
	if (fp->policy == NULL) {
		free(fp);
		return NULL;
	}
	return fp;
}

SHALE_LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create_bloom(int bits_per_key)
{
	leveldb_filterpolicy_t *fp = calloc(1, sizeof(*fp));
	if (fp == NULL)
		return NULL;
	/* shale's bloom takes 1 .. 1000 bits per key; LevelDB's any number,
	 * and below 1 it still makes a filter of at least 64 bits and 1 probe,
	 * which is what 1 gives */
	fp->bloom_bits = clip_int(bits_per_key, 1, 1000);
	return fp;
}

SHALE_LEVELDB_EXPORT void leveldb_filterpolicy_destroy(leveldb_filterpolicy_t *fp)
{
	if (fp == NULL)
		return;
	shale_filter_policy_destroy(fp->policy); /* runs the destructor */
	free(fp);
}

/* ---- caches ---- */

SHALE_LEVELDB_EXPORT leveldb_cache_t *leveldb_cache_create_lru(size_t capacity)
{
	return (leveldb_cache_t *)shale_cache_create_lru(capacity);
}

SHALE_LEVELDB_EXPORT void leveldb_cache_destroy(leveldb_cache_t *c)
{
	shale_cache_destroy(compat_cache(c));
}

/* ---- the env ---- */

SHALE_LEVELDB_EXPORT leveldb_env_t *leveldb_create_default_env(void)
{
	leveldb_env_t *e = calloc(1, sizeof(*e));
	if (e)
		e->is_default = 1;
	return e;
}

SHALE_LEVELDB_EXPORT void leveldb_env_destroy(leveldb_env_t *e)
{
	free(e);
}

SHALE_LEVELDB_EXPORT char *leveldb_env_get_test_directory(leveldb_env_t *e)
{
	(void)e; /* every env of this API is the default one */
	char buf[64];
	const char *dir = getenv("TEST_TMPDIR");
	if (dir == NULL || dir[0] == '\0') {
		snprintf(buf, sizeof(buf), "/tmp/leveldbtest-%d", (int)geteuid());
		dir = buf;
	}
	/* as LevelDB: made if missing; a failure to make it (it exists, or
	 * cannot be made) is the caller's to meet when it uses the directory */
	(void)mkdir(dir, 0755);
	return strdup(dir);
}

/* ---- utilities ---- */

SHALE_LEVELDB_EXPORT void leveldb_free(void *ptr)
{
	free(ptr);
}

SHALE_LEVELDB_EXPORT int leveldb_major_version(void)
{
	return 1;
}

SHALE_LEVELDB_EXPORT int leveldb_minor_version(void)
{
	return 23;
}
