/*
 * snapshot_thread: a snapshot read while another thread writes.
 *
 * Stores 100 keys, takes a snapshot, then starts a thread that overwrites
 * every key round after round, deletes some and adds others. Meanwhile the
 * main thread reads through the snapshot, again and again, with shale_get
 * and with an iterator, and checks that it always sees exactly the 100
 * original values, whatever the writer has done and whatever flushes and
 * compactions its writes set off (the write buffer is small, so there are
 * many). Without the snapshot, the same reads see the writer's work.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shale.h>

#define NKEYS 100
#define ROUNDS 100

static void die(const char *what)
{
	fprintf(stderr, "snapshot_thread: %s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

static void fail(const char *what)
{
	fprintf(stderr, "snapshot_thread: %s\n", what);
	exit(EXIT_FAILURE);
}

static int key_of(int i, char *buf, size_t cap)
{
	return snprintf(buf, cap, "key:%03d", i);
}

struct writer {
	shale_db *db;
	atomic_int done;
	int rc;
	char msg[256];
};

/* Overwrites every key with "round R", deletes every tenth, adds new ones. */
static void *write_rounds(void *arg)
{
	struct writer *w = arg;
	for (int round = 1; round <= ROUNDS && w->rc == SHALE_OK; round++) {
		for (int i = 0; i < NKEYS && w->rc == SHALE_OK; i++) {
			char key[32], val[64];
			int kn = key_of(i, key, sizeof(key));
			int vn = snprintf(val, sizeof(val), "round %d, padded to make the memtable fill", round);
			if (i % 10 == 0)
				w->rc = shale_delete(w->db, NULL, key, (size_t)kn);
			else
				w->rc = shale_put(w->db, NULL, key, (size_t)kn, val, (size_t)vn);
		}
		char key[32];
		int kn = key_of(NKEYS + round, key, sizeof(key));
		if (w->rc == SHALE_OK)
			w->rc = shale_put(w->db, NULL, key, (size_t)kn, "new", 3);
	}
	if (w->rc != SHALE_OK)
		snprintf(w->msg, sizeof(w->msg), "%s", shale_errmsg()); /* the message is per thread */
	atomic_store(&w->done, 1);
	return NULL;
}

/* Reads every key through ro and checks it holds its original value. */
static void check_gets(shale_db *db, const shale_readopts *ro)
{
	for (int i = 0; i < NKEYS; i++) {
		char key[32], want[32];
		int kn = key_of(i, key, sizeof(key));
		int wn = snprintf(want, sizeof(want), "original %d", i);
		void *val;
		size_t len;
		int rc = shale_get(db, ro, key, (size_t)kn, &val, &len);
		if (rc == SHALE_NOTFOUND)
			fail("a key vanished from the snapshot");
		if (rc != SHALE_OK)
			die("shale_get");
		int same = len == (size_t)wn && memcmp(val, want, len) == 0;
		shale_free(val);
		if (!same)
			fail("a value changed under the snapshot");
	}
}

/* Scans through ro: exactly the original keys and values, in order. */
static void check_scan(shale_db *db, const shale_readopts *ro)
{
	shale_iter *it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	int n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), n++) {
		char key[32], want[32];
		int kn = key_of(n, key, sizeof(key));
		int wn = snprintf(want, sizeof(want), "original %d", n);
		size_t klen, vlen;
		const void *k = shale_iter_key(it, &klen);
		const void *v = shale_iter_value(it, &vlen);
		if (klen != (size_t)kn || memcmp(k, key, klen) != 0 || vlen != (size_t)wn || memcmp(v, want, vlen) != 0)
			fail("the scan through the snapshot saw a change");
	}
	if (shale_iter_status(it) != SHALE_OK)
		die("iterating");
	shale_iter_destroy(it);
	if (n != NKEYS)
		fail("the scan through the snapshot saw keys come or go");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], path[4200];
	snprintf(dir, sizeof(dir), "%s/shale-example-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "%s/db", dir);

	shale_options *opt = shale_options_create();
	if (opt == NULL)
		die("shale_options_create");
	shale_options_set_create_if_missing(opt, 1);
	shale_options_set_write_buffer_size(opt, 64 << 10); /* many flushes */
	shale_db *db;
	if (shale_open(path, opt, &db) != SHALE_OK)
		die("shale_open");
	shale_options_destroy(opt);

	for (int i = 0; i < NKEYS; i++) {
		char key[32], val[32];
		int kn = key_of(i, key, sizeof(key));
		int vn = snprintf(val, sizeof(val), "original %d", i);
		if (shale_put(db, NULL, key, (size_t)kn, val, (size_t)vn) != SHALE_OK)
			die("shale_put");
	}

	const shale_snapshot *snap = shale_snapshot_create(db);
	if (snap == NULL)
		die("shale_snapshot_create");
	shale_readopts *ro = shale_readopts_create();
	if (ro == NULL)
		die("shale_readopts_create");
	shale_readopts_set_snapshot(ro, snap);

	struct writer w = { .db = db, .rc = SHALE_OK };
	atomic_init(&w.done, 0);
	pthread_t thread;
	if (pthread_create(&thread, NULL, write_rounds, &w) != 0)
		fail("pthread_create failed");

	/* Read through the snapshot for as long as the writer writes. */
	int passes = 0;
	do {
		check_gets(db, ro);
		check_scan(db, ro);
		passes++;
	} while (!atomic_load(&w.done));
	pthread_join(thread, NULL);
	if (w.rc != SHALE_OK) {
		fprintf(stderr, "snapshot_thread: the writer failed: %s\n", w.msg);
		return EXIT_FAILURE;
	}
	/* Once more, now that every write is done. */
	check_gets(db, ro);
	check_scan(db, ro);
	printf("%d passes through the snapshot while the writer wrote %d rounds: it never changed\n",
	       passes + 1, ROUNDS);

	/* The latest state has the writer's work: key:000 deleted, key:001
	 * overwritten. */
	void *val;
	size_t len;
	if (shale_get(db, NULL, "key:000", 7, &val, &len) != SHALE_NOTFOUND)
		fail("key:000 should be deleted in the latest state");
	if (shale_get(db, NULL, "key:001", 7, &val, &len) != SHALE_OK)
		die("shale_get key:001");
	printf("latest key:001 = %.*s\n", (int)len, (const char *)val);
	shale_free(val);

	shale_readopts_destroy(ro);
	shale_snapshot_release(db, snap);
	char *stats = shale_property(db, "shale.num-files-at-level0");
	if (stats == NULL)
		die("shale_property");
	printf("level-0 files now: %s\n", stats);
	shale_free(stats);
	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_destroy_db(path, NULL) != SHALE_OK)
		die("shale_destroy_db");
	rmdir(dir);
	return EXIT_SUCCESS;
}
