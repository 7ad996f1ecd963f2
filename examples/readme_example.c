#include <stdio.h>
#include <stdlib.h>
#include <shale.h>

/* Reports the failed call with shale's message and gives up. The process
 * exiting releases the database; its log is replayed at the next open. */
static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, shale_errmsg());
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "example-db";
	shale_options *opt = shale_options_create();
	if (opt == NULL)
		die("shale_options_create");
	shale_options_set_create_if_missing(opt, 1);

	shale_db *db;
	if (shale_open(path, opt, &db) != SHALE_OK)
		die("shale_open");
	shale_options_destroy(opt); /* the database keeps its own copy */

	if (shale_put(db, NULL, "greeting", 8, "hello, world", 12) != SHALE_OK)
		die("shale_put");

	void *val;
	size_t len;
	int rc = shale_get(db, NULL, "greeting", 8, &val, &len);
	if (rc == SHALE_OK) {
		printf("greeting = %.*s\n", (int)len, (const char *)val);
		shale_free(val);
	} else if (rc == SHALE_NOTFOUND) {
		printf("greeting is not there\n");
	} else {
		die("shale_get");
	}

	if (shale_delete(db, NULL, "greeting", 8) != SHALE_OK)
		die("shale_delete");
	rc = shale_get(db, NULL, "greeting", 8, &val, &len);
	if (rc == SHALE_OK) {
		fprintf(stderr, "greeting is still there after its deletion\n");
		return EXIT_FAILURE;
	} else if (rc != SHALE_NOTFOUND) {
		die("shale_get");
	}
	printf("greeting deleted\n");

	if (shale_close(db) != SHALE_OK)
		die("shale_close");
	if (shale_destroy_db(path, NULL) != SHALE_OK) /* remove the example's files */
		die("shale_destroy_db");
	return EXIT_SUCCESS;
}
