/*
 * scans: iterators over a range, a prefix, and backwards.
 *
 * Stores users and orders under keys "user:NNN" and "order:NNN", then:
 *   - a bounded range scan: the users from user:003 up to (not including)
 *     user:007;
 *   - a prefix scan: every key that starts with "order:";
 *   - a reverse scan: the last three users, in reverse key order, with
 *     seek_for_prev.
 * Each loop checks shale_iter_status afterwards: an iterator that stops
 * early because of an error says so there, never by skipping entries.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shale.h>

static void die(const char *what)
{
	fprintf(stderr, "scans: %s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

static void print_entry(const shale_iter *it)
{
	size_t klen, vlen;
	const char *key = shale_iter_key(it, &klen);
	const char *val = shale_iter_value(it, &vlen);
	printf("  %.*s = %.*s\n", (int)klen, key, (int)vlen, val);
}

/* After a loop: the end of the range, or an error. */
static void check_status(const shale_iter *it)
{
	if (shale_iter_status(it) != SHALE_OK)
		die("iterating");
}

static void expect_count(const char *what, int got, int want)
{
	if (got != want) {
		fprintf(stderr, "scans: %s: %d entries, expected %d\n", what, got, want);
		exit(EXIT_FAILURE);
	}
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
	for (int i = 1; i <= 10; i++) {
		char key[32], val[32];
		int kn = snprintf(key, sizeof(key), "user:%03d", i);
		int vn = snprintf(val, sizeof(val), "name%d", i);
		if (shale_batch_put(b, key, (size_t)kn, val, (size_t)vn) != SHALE_OK)
			die("shale_batch_put");
		kn = snprintf(key, sizeof(key), "order:%03d", i * 7);
		vn = snprintf(val, sizeof(val), "user:%03d", i);
		if (shale_batch_put(b, key, (size_t)kn, val, (size_t)vn) != SHALE_OK)
			die("shale_batch_put");
	}
	if (shale_write(db, NULL, b) != SHALE_OK)
		die("shale_write");
	shale_batch_destroy(b);

	shale_readopts *ro = shale_readopts_create();
	if (ro == NULL)
		die("shale_readopts_create");

	/* 1. A bounded range: [user:003, user:007). The iterator copies the
	 * bounds when it is created; ro can then change. */
	shale_readopts_set_lower_bound(ro, "user:003", 8);
	shale_readopts_set_upper_bound(ro, "user:007", 8);
	shale_iter *it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	printf("users from user:003 up to user:007:\n");
	int n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), n++)
		print_entry(it);
	check_status(it);
	shale_iter_destroy(it);
	expect_count("range scan", n, 4);

	/* 2. A prefix: every key that starts with "order:" (it replaces both
	 * bounds). A seek inside the prefix works as usual. */
	shale_readopts_set_prefix(ro, "order:", 6);
	it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	printf("orders:\n");
	n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), n++)
		print_entry(it);
	check_status(it);
	expect_count("prefix scan", n, 10);
	printf("orders from order:050 on:\n");
	n = 0;
	for (shale_iter_seek(it, "order:050", 9); shale_iter_valid(it); shale_iter_next(it), n++)
		print_entry(it);
	check_status(it);
	shale_iter_destroy(it);
	expect_count("prefix scan from order:050", n, 3);

	/* 3. Backwards: the last three users, starting from the last key at or
	 * before "user:~" ('~' sorts after the digits), within the "user:"
	 * prefix. */
	shale_readopts_set_prefix(ro, "user:", 5);
	it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	printf("the last three users, in reverse key order:\n");
	n = 0;
	for (shale_iter_seek_for_prev(it, "user:~", 6); shale_iter_valid(it) && n < 3; shale_iter_prev(it), n++)
		print_entry(it);
	check_status(it);
	expect_count("reverse scan", n, 3);
	/* seek_last lands on the same key: the last one within the prefix. */
	shale_iter_seek_last(it);
	size_t klen;
	const char *key = shale_iter_key(it, &klen);
	if (!shale_iter_valid(it) || klen != 8 || memcmp(key, "user:010", 8) != 0) {
		check_status(it);
		fprintf(stderr, "scans: seek_last did not land on user:010\n");
		return EXIT_FAILURE;
	}
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);

	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_destroy_db(path, NULL) != SHALE_OK)
		die("shale_destroy_db");
	rmdir(dir);
	return EXIT_SUCCESS;
}
