/*
 * batch: an atomic write of several operations.
 *
 * Moves 30 units from one account to another and records the transfer in
 * one write batch, so that no reader (and no crash) ever sees the money
 * gone from one account and not yet in the other. Shows what a batch
 * holds (count and iterate), that a later operation on a key wins, and
 * that a batch can be reused after shale_batch_clear.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shale.h>

static void die(const char *what)
{
	fprintf(stderr, "batch: %s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

/* The balance stored under key, as a number. */
static long balance(shale_db *db, const char *key)
{
	void *val;
	size_t len;
	int rc = shale_get(db, NULL, key, strlen(key), &val, &len);
	if (rc == SHALE_NOTFOUND)
		return 0;
	if (rc != SHALE_OK)
		die("shale_get");
	char text[32];
	snprintf(text, sizeof(text), "%.*s", (int)(len < 31 ? len : 31), (const char *)val);
	shale_free(val);
	return strtol(text, NULL, 10);
}

static void put_balance(shale_batch *b, const char *key, long amount)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld", amount);
	if (shale_batch_put(b, key, strlen(key), text, (size_t)n) != SHALE_OK)
		die("shale_batch_put");
}

static void print_put(void *state, const void *key, size_t klen, const void *val, size_t vlen)
{
	(void)state;
	printf("  put    %.*s = %.*s\n", (int)klen, (const char *)key, (int)vlen, (const char *)val);
}

static void print_del(void *state, const void *key, size_t klen)
{
	(void)state;
	printf("  delete %.*s\n", (int)klen, (const char *)key);
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
	shale_db *db;
	if (shale_open(path, opt, &db) != SHALE_OK)
		die("shale_open");
	shale_options_destroy(opt);

	shale_batch *b = shale_batch_create();
	if (b == NULL)
		die("shale_batch_create");

	/* Opening balances, and a note that the next write will replace. */
	put_balance(b, "account:alice", 100);
	put_balance(b, "account:bob", 20);
	if (shale_batch_put(b, "pending", 7, "yes", 3) != SHALE_OK)
		die("shale_batch_put");
	if (shale_write(db, NULL, b) != SHALE_OK)
		die("shale_write");
	shale_batch_clear(b);

	/* The transfer: all of it, or none of it. Synced, as money should be.
	 * (The balances are read, then written: with other writers about, the
	 * application would need its own lock around the pair; shale has no
	 * transactions beyond atomic batches and snapshots.) */
	long amount = 30;
	long alice = balance(db, "account:alice"), bob = balance(db, "account:bob");
	put_balance(b, "account:alice", alice - amount);
	put_balance(b, "account:bob", bob + amount);
	if (shale_batch_put(b, "log:0001", 8, "alice->bob 30", 13) != SHALE_OK)
		die("shale_batch_put");
	if (shale_batch_delete(b, "pending", 7) != SHALE_OK)
		die("shale_batch_delete");
	/* Within a batch a later operation on a key wins: the log entry ends up
	 * with this value. */
	if (shale_batch_put(b, "log:0001", 8, "alice->bob 30 (ok)", 18) != SHALE_OK)
		die("shale_batch_put");

	printf("the transfer batch holds %u operations:\n", (unsigned)shale_batch_count(b));
	if (shale_batch_iterate(b, NULL, print_put, print_del) != SHALE_OK)
		die("shale_batch_iterate");

	shale_writeopts *wo = shale_writeopts_create();
	if (wo == NULL)
		die("shale_writeopts_create");
	shale_writeopts_set_sync(wo, 1);
	if (shale_write(db, wo, b) != SHALE_OK)
		die("shale_write");
	shale_writeopts_destroy(wo);
	shale_batch_destroy(b);

	long a = balance(db, "account:alice"), c = balance(db, "account:bob");
	printf("after the transfer: alice %ld, bob %ld (total %ld)\n", a, c, a + c);
	void *val;
	size_t len;
	int rc = shale_get(db, NULL, "log:0001", 8, &val, &len);
	if (rc != SHALE_OK)
		die("shale_get log:0001");
	printf("log:0001 = %.*s\n", (int)len, (const char *)val);
	int last_wins = len == 18 && memcmp(val, "alice->bob 30 (ok)", 18) == 0;
	shale_free(val);
	rc = shale_get(db, NULL, "pending", 7, &val, &len);
	if (rc == SHALE_OK)
		shale_free(val);
	else if (rc != SHALE_NOTFOUND)
		die("shale_get pending");
	if (a != 70 || c != 50 || !last_wins || rc != SHALE_NOTFOUND) {
		fprintf(stderr, "batch: the database does not hold what the batches wrote\n");
		return EXIT_FAILURE;
	}

	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_destroy_db(path, NULL) != SHALE_OK)
		die("shale_destroy_db");
	rmdir(dir);
	return EXIT_SUCCESS;
}
