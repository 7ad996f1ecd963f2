/*
 * put_get_delete: the basic calls, each result checked.
 *
 * Opens (creating) a database in a fresh temporary directory, stores a few
 * keys, reads one back, looks for one that is not there, deletes one, and
 * shows that an empty value is still a value, and reopens. Then it closes
 * the database and removes it.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shale.h>

static void die(const char *what)
{
	fprintf(stderr, "put_get_delete: %s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

/* Prints key's value, or that it is absent; exits unless the get answered
 * want (SHALE_OK or SHALE_NOTFOUND). */
static void expect(shale_db *db, const char *key, int want)
{
	void *val;
	size_t len;
	int rc = shale_get(db, NULL, key, strlen(key), &val, &len);
	if (rc == SHALE_OK) {
		printf("  %-8s = \"%.*s\" (%zu bytes)\n", key, (int)len, (const char *)val, len);
		shale_free(val);
	} else if (rc == SHALE_NOTFOUND) {
		printf("  %-8s is not there\n", key);
	} else {
		die("shale_get");
	}
	if (rc != want) {
		fprintf(stderr, "put_get_delete: %s: expected %s\n", key, shale_strerror(want));
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

	static const char *const fruit[][2] = {
		{ "apple", "red" }, { "banana", "yellow" }, { "cherry", "dark red" },
	};
	for (size_t i = 0; i < sizeof(fruit) / sizeof(fruit[0]); i++)
		if (shale_put(db, NULL, fruit[i][0], strlen(fruit[i][0]), fruit[i][1], strlen(fruit[i][1])) != SHALE_OK)
			die("shale_put");
	/* A put replaces the value; an empty value is still a value. */
	if (shale_put(db, NULL, "apple", 5, "green", 5) != SHALE_OK ||
	    shale_put(db, NULL, "empty", 5, "", 0) != SHALE_OK)
		die("shale_put");

	printf("after the puts:\n");
	expect(db, "apple", SHALE_OK);
	expect(db, "empty", SHALE_OK);
	expect(db, "durian", SHALE_NOTFOUND);

	/* Deleting an absent key is not an error. */
	if (shale_delete(db, NULL, "banana", 6) != SHALE_OK || shale_delete(db, NULL, "durian", 6) != SHALE_OK)
		die("shale_delete");
	printf("after deleting banana (and durian, which was never there):\n");
	expect(db, "banana", SHALE_NOTFOUND);
	expect(db, "cherry", SHALE_OK);

	/* A synced write is on disk before the call returns. */
	shale_writeopts *wo = shale_writeopts_create();
	if (wo == NULL)
		die("shale_writeopts_create");
	shale_writeopts_set_sync(wo, 1);
	if (shale_put(db, wo, "durable", 7, "yes", 3) != SHALE_OK)
		die("shale_put (sync)");
	shale_writeopts_destroy(wo);

	/* Reopen: everything written is still there. */
	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_open(path, opt, &db) != SHALE_OK)
		die("shale_open (again)");
	shale_options_destroy(opt);
	printf("after reopening:\n");
	expect(db, "apple", SHALE_OK);
	expect(db, "durable", SHALE_OK);
	expect(db, "banana", SHALE_NOTFOUND);

	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_destroy_db(path, NULL) != SHALE_OK)
		die("shale_destroy_db");
	rmdir(dir);
	return EXIT_SUCCESS;
}
