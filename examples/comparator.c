/*
 * comparator: a database kept in an order of your own.
 *
 * The comparator here orders keys "shortlex": shorter keys first, keys of
 * one length bytewise. For decimal numbers without leading zeros that is
 * numeric order (9 < 10 < 100), where the default bytewise order would give
 * 10 < 100 < 9. The example stores numbers, lists them in order, then shows
 * the rules that come with a custom order: its name is recorded in the
 * database, so an open with another comparator (here the default) fails
 * with SHALE_EINVAL, and prefix iterators, which assume bytewise order, are
 * refused.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shale.h>

static void die(const char *what)
{
	fprintf(stderr, "comparator: %s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

/* The comparator's state: it counts its calls. Flushes, compactions and
 * readers call compare from several threads at once, hence the atomic. */
struct shortlex {
	atomic_ulong calls;
};

static int shortlex_compare(void *state, const void *a, size_t alen, const void *b, size_t blen)
{
	struct shortlex *s = state;
	atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen ? memcmp(a, b, alen) : 0;
}

/* Persisted in the database: change it whenever the order changes. */
static const char *shortlex_name(void *state)
{
	(void)state;
	return "example.ShortlexComparator";
}

static void shortlex_destroy(void *state)
{
	struct shortlex *s = state;
	printf("the comparator was called %lu times\n", (unsigned long)atomic_load(&s->calls));
	free(s);
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

	struct shortlex *state = malloc(sizeof(*state));
	if (state == NULL) {
		perror("malloc");
		return EXIT_FAILURE;
	}
	atomic_init(&state->calls, 0);
	shale_comparator *cmp = shale_comparator_create(state, shortlex_destroy, shortlex_compare, shortlex_name);
	if (cmp == NULL) {
		free(state);
		die("shale_comparator_create");
	}

	shale_options *opt = shale_options_create();
	if (opt == NULL)
		die("shale_options_create");
	shale_options_set_create_if_missing(opt, 1);
	shale_options_set_comparator(opt, cmp); /* borrowed: cmp outlives the database */
	shale_db *db;
	if (shale_open(path, opt, &db) != SHALE_OK)
		die("shale_open");

	static const char *const numbers[] = { "100", "9", "10", "2", "1000", "33" };
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (shale_put(db, NULL, numbers[i], strlen(numbers[i]), "", 0) != SHALE_OK)
			die("shale_put");

	shale_iter *it = shale_iter_create(db, NULL);
	if (it == NULL)
		die("shale_iter_create");
	printf("in shortlex order:");
	static const char *const want[] = { "2", "9", "10", "33", "100", "1000" };
	size_t n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), n++) {
		size_t klen;
		const char *key = shale_iter_key(it, &klen);
		printf(" %.*s", (int)klen, key);
		if (n >= 6 || klen != strlen(want[n]) || memcmp(key, want[n], klen) != 0) {
			fprintf(stderr, "\ncomparator: keys out of the comparator's order\n");
			return EXIT_FAILURE;
		}
	}
	printf("\n");
	if (shale_iter_status(it) != SHALE_OK)
		die("iterating");
	shale_iter_destroy(it);
	if (n != 6) {
		fprintf(stderr, "comparator: %zu keys, expected 6\n", n);
		return EXIT_FAILURE;
	}

	/* Bounds work in any order: [9, 100) is 9, 10, 33. */
	shale_readopts *ro = shale_readopts_create();
	if (ro == NULL)
		die("shale_readopts_create");
	shale_readopts_set_lower_bound(ro, "9", 1);
	shale_readopts_set_upper_bound(ro, "100", 3);
	it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
		n++;
	if (shale_iter_status(it) != SHALE_OK)
		die("iterating");
	shale_iter_destroy(it);
	printf("keys in [9, 100): %zu\n", n);
	if (n != 3) {
		fprintf(stderr, "comparator: expected 3 keys in [9, 100)\n");
		return EXIT_FAILURE;
	}

	/* A prefix is a key range only in bytewise order: refused here. */
	shale_readopts_set_prefix(ro, "1", 1);
	it = shale_iter_create(db, ro);
	if (it == NULL)
		die("shale_iter_create");
	if (shale_iter_status(it) != SHALE_EINVAL) {
		fprintf(stderr, "comparator: a prefix iterator should be refused\n");
		return EXIT_FAILURE;
	}
	printf("prefix iterator refused: %s\n", shale_errmsg());
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);

	if (shale_close(db) != SHALE_OK)
		die("shale_close");

	/* The database remembers its comparator's name: the default one does
	 * not fit it. */
	shale_options_set_comparator(opt, NULL);
	int rc = shale_open(path, opt, &db);
	if (rc != SHALE_EINVAL) {
		if (rc == SHALE_OK)
			shale_close(db);
		fprintf(stderr, "comparator: an open with another comparator should fail\n");
		return EXIT_FAILURE;
	}
	printf("open with the default comparator refused: %s\n", shale_errmsg());
	shale_options_destroy(opt);

	if (shale_destroy_db(path, NULL) != SHALE_OK)
		die("shale_destroy_db");
	rmdir(dir);
	shale_comparator_destroy(cmp); /* after every database using it is closed */
	return EXIT_SUCCESS;
}
