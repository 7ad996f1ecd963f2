#include "lib/util/env.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"

void env_free_names(char **names, size_t count)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int env_read_file(struct env *e, const char *path, struct buf *b)
{
	struct seq_file *f = NULL;
	int rc = env_open_seq(e, path, &f);
	if (rc)
		return rc;
	buf_clear(b);
	for (;;) {
		rc = buf_reserve(b, 8192);
		if (rc)
			break;
		struct slice got;
		rc = seq_file_read(f, 8192, b->data + b->len, &got);
		if (rc || got.size == 0)
			break;
		b->len += got.size;
	}
	seq_file_close(f);
	return rc;
}

int env_write_file(struct env *e, const char *path, const void *data, size_t n, int sync)
{
	struct wfile *f = NULL;
	int rc = env_open_write(e, path, &f);
	if (rc)
		return rc;
	rc = wfile_append(f, data, n);
	if (rc == 0 && sync)
		rc = wfile_sync(f);
	int crc = wfile_close(f);
	if (rc == 0)
		rc = crc;
	if (rc)
		env_remove(e, path); /* best effort: do not leave a partial file */
	return rc;
}

void env_dirname(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	if (slash == NULL) {
		path = ".";
		n = 1;
	} else if (slash == path) {
		n = 1; /* "/" */
	} else {
		n = (size_t)(slash - path);
	}
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}
