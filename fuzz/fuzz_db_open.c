/*
 * Whole-database open and read of a directory whose files are fuzzed.
 *
 * Input: one flag byte, then files, each as
 *     kind (1 byte), number (1 byte), length (fixed16), the bytes
 * (the last file takes what is left when its length runs past the end).
 * kind % 4: 0 CURRENT, 1 MANIFEST-<number>, 2 <number>.log, 3 <number>.ldb.
 * ($SHALE_FUZZ_DUMP_DIR names a directory to leave the files in, for
 * triage.) Flags: bit 0 rewrites the CRCs of logs and tables first (so mutations
 * reach what the checksums guard); bit 1 reads once more with
 * verify_checksums off; bit 2 reads tables through mmap.
 *
 * The directory is opened with paranoid_checks on, then (rewritten) off;
 * each open that succeeds is read whole (both directions, gets of what was
 * seen, a few seeks), closed, and reopened. Any outcome but a crash, hang,
 * leak or undefined behaviour is fine, but answers must never be garbage:
 *  - iteration yields keys strictly increasing (decreasing backward) or
 *    stops with an error status; both directions agree when both finish;
 *  - a seek never lands before its target (seek_for_prev after it);
 *  - an open that succeeds with paranoid checks succeeds without them and
 *    shows the same data; a closed database reopens with the same data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/db/options.h"
#include "lib/util/buf.h"
#include "shale.h"

#define MAX_FILES 16
#define MAX_ENTRIES 20000
#define MAX_COPY (1u << 20)

struct file {
	char name[32];
	uint8_t *data;
	size_t n;
};

struct entry {
	char *k, *v;
	size_t kn, vn;
};

struct contents {
	int opened;  /* 0: the open failed */
	int status;  /* of the forward walk */
	int complete;
	struct entry *e;
	size_t n, bytes;
};

static void contents_free(struct contents *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].k);
		free(c->e[i].v);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int r = m ? memcmp(a, b, m) : 0;
	return r ? r : (an > bn) - (an < bn);
}

static void check_iter_status(shale_iter *it)
{
	int st = shale_iter_status(it);
	fuzz_check(st == 0 || st == SHALE_ECORRUPT || st == SHALE_ENOTSUP || st == SHALE_EIO ||
	           st == SHALE_ENOMEM, "iterator status %d: %s", st, shale_errmsg());
	if (st)
		fuzz_check(!shale_iter_valid(it), "valid with an error");
}

/* Forward walk into c (copies, bounded); ordering checked. */
static void walk_forward(shale_db *db, const shale_readopts *ro, struct contents *c)
{
	shale_iter *it = shale_iter_create(db, ro);
	fuzz_check(it != NULL, "memory");
	c->complete = 1;
	const char *pk = NULL;
	size_t pkn = 0;
	size_t steps = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it) && steps < MAX_ENTRIES; shale_iter_next(it), steps++) {
		size_t kn, vn;
		const void *k = shale_iter_key(it, &kn);
		const void *v = shale_iter_value(it, &vn);
		fuzz_check(k != NULL && v != NULL, "NULL key or value");
		if (pk)
			fuzz_check(cmp_bytes(pk, pkn, k, kn) < 0, "forward iteration out of order at entry %zu", steps);
		if (c->complete && c->bytes + kn + vn <= MAX_COPY) {
			c->e = realloc(c->e, (c->n + 1) * sizeof(*c->e));
			fuzz_check(c->e != NULL, "memory");
			c->e[c->n] = (struct entry){ (char *)fuzz_dup(slice_make(k, kn)).data, (char *)fuzz_dup(slice_make(v, vn)).data, kn, vn };
			c->n++;
			c->bytes += kn + vn;
			pk = c->e[c->n - 1].k;
			pkn = kn;
		} else {
			/* keep the previous key for the order check */
			c->complete = 0;
			static struct buf prev;
			fuzz_check(buf_set(&prev, k, kn) == 0, "memory");
			pk = prev.data;
			pkn = kn;
		}
	}
	if (shale_iter_valid(it))
		c->complete = 0;
	check_iter_status(it);
	c->status = shale_iter_status(it);
	shale_iter_destroy(it);
}

/* Backward walk, checked for order and against the forward one. */
static void walk_backward(shale_db *db, const shale_readopts *ro, const struct contents *c)
{
	shale_iter *it = shale_iter_create(db, ro);
	fuzz_check(it != NULL, "memory");
	struct buf prev = BUF_INIT;
	int have_prev = 0;
	size_t steps = 0;
	int same = c->status == 0 && c->complete;
	for (shale_iter_seek_last(it); shale_iter_valid(it) && steps < MAX_ENTRIES; shale_iter_prev(it), steps++) {
		size_t kn, vn;
		const void *k = shale_iter_key(it, &kn);
		const void *v = shale_iter_value(it, &vn);
		if (have_prev)
			fuzz_check(cmp_bytes(k, kn, prev.data, prev.len) < 0, "backward iteration out of order at entry %zu", steps);
		fuzz_check(buf_set(&prev, k, kn) == 0, "memory");
		have_prev = 1;
		if (same) {
			fuzz_check(steps < c->n, "more entries backward than forward");
			const struct entry *e = &c->e[c->n - 1 - steps];
			fuzz_check(cmp_bytes(e->k, e->kn, k, kn) == 0 && cmp_bytes(e->v, e->vn, v, vn) == 0,
			           "backward entry %zu differs from forward", steps);
		}
	}
	check_iter_status(it);
	if (same && shale_iter_status(it) == 0 && !shale_iter_valid(it))
		fuzz_check(steps == c->n, "%zu entries backward, %zu forward", steps, c->n);
	buf_free(&prev);
	shale_iter_destroy(it);
}

/* Gets of keys the walk saw and of keys just after them. Their answers are
 * not compared with the walk: files from different databases (or a filter
 * that no longer matches its block, once checksums are rewritten) disagree
 * with each other in ways no reader can see (LevelDB orders level 0 by file
 * number, not by sequence), so only the outcome's kind is checked. */
static void gets(shale_db *db, const shale_readopts *ro, const struct contents *c)
{
	size_t step = c->n / 32 + 1;
	for (size_t i = 0; i < c->n; i += step) {
		char buf[512];
		size_t n = c->e[i].kn < sizeof(buf) - 1 ? c->e[i].kn : sizeof(buf) - 1;
		memcpy(buf, c->e[i].k, n);
		for (int j = 0; j < 2; j++) {
			void *v = NULL;
			size_t vn = 0;
			int rc = shale_get(db, ro, buf, n + (size_t)j, &v, &vn);
			fuzz_check(rc == 0 || rc == SHALE_NOTFOUND || rc == SHALE_ECORRUPT || rc == SHALE_EIO ||
			           rc == SHALE_ENOTSUP || rc == SHALE_ENOMEM, "get returned %d: %s", rc, shale_errmsg());
			fuzz_check(rc == 0 ? v != NULL : v == NULL && vn == 0, "get's value and code disagree");
			shale_free(v);
			buf[n] = 0;
		}
	}
	/* Seeks to keys the walk saw, and just after them. Where they land is
	 * not compared with the walk either (an index or a file range that
	 * lies sends a seek past a key the walk met); but a seek never lands
	 * before its target, nor seek_for_prev after it. */
	shale_iter *it = shale_iter_create(db, ro);
	fuzz_check(it != NULL, "memory");
	for (size_t i = 0; i < c->n; i += step) {
		char buf[512];
		size_t n = c->e[i].kn < sizeof(buf) - 1 ? c->e[i].kn : sizeof(buf) - 1;
		memcpy(buf, c->e[i].k, n);
		buf[n] = 0;
		for (size_t len = n; len <= n + 1; len++) {
			shale_iter_seek(it, buf, len);
			check_iter_status(it);
			if (shale_iter_valid(it)) {
				size_t kn;
				const void *k = shale_iter_key(it, &kn);
				fuzz_check(cmp_bytes(k, kn, buf, len) >= 0, "seek landed before its target");
			}
			shale_iter_seek_for_prev(it, buf, len);
			check_iter_status(it);
			if (shale_iter_valid(it)) {
				size_t kn;
				const void *k = shale_iter_key(it, &kn);
				fuzz_check(cmp_bytes(k, kn, buf, len) <= 0, "seek_for_prev landed after its target");
			}
			if (shale_iter_status(it))
				break;
		}
		if (shale_iter_status(it))
			break;
	}
	shale_iter_destroy(it);
}

static int open_db(const char *dir, int paranoid, int mmap_reads, shale_cache *cache, shale_db **db)
{
	shale_options *o = shale_options_create();
	fuzz_check(o != NULL, "memory");
	shale_options_set_paranoid_checks(o, paranoid);
	shale_options_set_background_threads(o, 1);
	shale_options_set_max_open_files(o, 20);
	shale_options_set_cache(o, cache);
	shale_options_set_write_buffer_size(o, 64 << 10);
	options_set_use_mmap_reads(o, mmap_reads);
	int rc = shale_open(dir, o, db);
	shale_options_destroy(o);
	if (fuzz_verbose())
		fprintf(stderr, "open (paranoid %d): %d %s\n", paranoid, rc, rc ? shale_errmsg() : "");
	if (rc)
		fuzz_check(rc == SHALE_ECORRUPT || rc == SHALE_EINVAL || rc == SHALE_ENOTSUP || rc == SHALE_EIO ||
		           rc == SHALE_ENOMEM, "open returned %d: %s", rc, shale_errmsg());
	return rc;
}

/* Opens, reads everything, closes; the forward walk in c. */
static void open_and_read(const char *dir, int paranoid, unsigned flags, shale_cache *cache, struct contents *c)
{
	shale_db *db;
	memset(c, 0, sizeof(*c));
	if (open_db(dir, paranoid, (flags & 4) != 0, cache, &db) != 0)
		return;
	c->opened = 1;
	shale_readopts *ro = shale_readopts_create();
	fuzz_check(ro != NULL, "memory");
	walk_forward(db, ro, c);
	walk_backward(db, ro, c);
	gets(db, ro, c);
	if (flags & 2) {
		/* unverified: still in order or failed */
		struct contents u;
		memset(&u, 0, sizeof(u));
		shale_readopts_set_verify_checksums(ro, 0);
		walk_forward(db, ro, &u);
		walk_backward(db, ro, &u);
		contents_free(&u);
	}
	shale_readopts_destroy(ro);
	if (fuzz_verbose())
		fprintf(stderr, "  read %zu entries (%s), status %d\n", c->n, c->complete ? "all" : "some", c->status);
	fuzz_check(shale_close(db) == 0, "close: %s", shale_errmsg());
}

static void same_contents(const struct contents *a, const struct contents *b, const char *what)
{
	if (!a->opened || !b->opened || a->status || b->status || !a->complete || !b->complete)
		return;
	fuzz_check(a->n == b->n, "%s: %zu entries, then %zu", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		fuzz_check(cmp_bytes(a->e[i].k, a->e[i].kn, b->e[i].k, b->e[i].kn) == 0 &&
		           cmp_bytes(a->e[i].v, a->e[i].vn, b->e[i].v, b->e[i].vn) == 0, "%s: entry %zu differs", what, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned flags = fuzz_u8(&in);
	struct file files[MAX_FILES];
	size_t nfiles = 0;
	while (in.n > 0 && nfiles < MAX_FILES) {
		unsigned kind = fuzz_u8(&in) % 4, num = fuzz_u8(&in);
		size_t len = fuzz_u16(&in), got;
		const uint8_t *p = fuzz_bytes(&in, len, &got);
		struct file *f = &files[nfiles++];
		switch (kind) {
		case 0: snprintf(f->name, sizeof(f->name), "CURRENT"); break;
		case 1: snprintf(f->name, sizeof(f->name), "MANIFEST-%06u", num); break;
		case 2: snprintf(f->name, sizeof(f->name), "%06u.log", num); break;
		default: snprintf(f->name, sizeof(f->name), "%06u.ldb", num); break;
		}
		f->data = (uint8_t *)fuzz_dup(slice_make(p, got)).data;
		f->n = got;
		if (flags & 1) {
			if (kind == 1 || kind == 2)
				fuzz_fix_log_crcs(f->data, f->n);
			else if (kind == 3)
				fuzz_fix_table_crcs(f->data, f->n);
		}
	}
	const char *dump = getenv("SHALE_FUZZ_DUMP_DIR");
	if (dump) {
		/* triage: leave the files (checksums rewritten) in that directory */
		for (size_t i = 0; i < nfiles; i++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", dump, files[i].name);
			FILE *f = fopen(path, "wb");
			fuzz_check(f && fwrite(files[i].data, 1, files[i].n, f) == files[i].n && fclose(f) == 0, "%s", path);
		}
	}
	shale_cache *cache = shale_cache_create_lru(64 << 10);
	fuzz_check(cache != NULL, "memory");

	struct contents pass[3];
	const char *dir = NULL;
	for (int p = 0; p < 2; p++) {
		dir = fuzz_dir();
		for (size_t i = 0; i < nfiles; i++)
			fuzz_write_file(files[i].name, files[i].data, files[i].n); /* later ones replace */
		open_and_read(dir, p == 0, flags, cache, &pass[p]);
	}
	if (pass[0].opened)
		fuzz_check(pass[1].opened, "opens with paranoid checks but not without");
	same_contents(&pass[0], &pass[1], "paranoid, then not");
	if (pass[1].opened) {
		/* what one open made of the directory, the next open sees */
		open_and_read(dir, 0, flags & ~2u, cache, &pass[2]);
		fuzz_check(pass[2].opened, "a database that opened and closed does not reopen: %s", shale_errmsg());
		same_contents(&pass[1], &pass[2], "reopen");
		contents_free(&pass[2]);
	}
	contents_free(&pass[0]);
	contents_free(&pass[1]);
	fuzz_clear_dir();
	shale_cache_destroy(cache);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].data);
	return 0;
}
