/*
 * The data commands: get, put, delete, scan, load, dump. Public API only.
 * The reading ones open the database read-only (no LOCK), so they work on a
 * database another process has open.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "tools/cli.h"
#include "tools/progress.h"

/* Records per batch written by load, and bytes (whichever comes first). */
#define LOAD_BATCH_RECORDS 1000
#define LOAD_BATCH_BYTES (1 << 20)

static shale_writeopts *make_writeopts(const struct cli *c)
{
	shale_writeopts *wo = shale_writeopts_create();
	if (wo == NULL)
		cli_msg(c, "out of memory");
	else if (cli_has(c, OPT_SYNC))
		shale_writeopts_set_sync(wo, 1);
	return wo;
}

int cmd_get(struct cli *c)
{
	const char *path = c->args[0];
	struct bytes key = { 0 };
	shale_db *db = NULL;
	void *val = NULL;
	size_t vlen = 0;
	int status = cli_parse_key(c, c->args[1], "KEY", &key);
	if (status == CLI_OK)
		status = cli_open(c, path, 1, &db);
	if (status == CLI_OK) {
		int rc = shale_get(db, NULL, key.data, key.len, &val, &vlen);
		if (rc == SHALE_NOTFOUND) {
			cli_msg(c, "%s: %s: not found", path, c->args[1]);
			status = CLI_FAIL;
		} else if (rc) {
			status = cli_lib_error(c, path, rc);
		} else {
			escape_write(stdout, val, vlen, cli_has(c, OPT_HEX));
			putchar('\n');
			status = cli_flush_stdout(c);
		}
	}
	shale_free(val);
	if (db && cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	bytes_free(&key);
	return status;
}

/* put and delete: one write. */
static int write_one(struct cli *c, int is_put)
{
	const char *path = c->args[0];
	struct bytes key = { 0 }, val = { 0 };
	shale_db *db = NULL;
	shale_writeopts *wo = NULL;
	int status = cli_parse_key(c, c->args[1], "KEY", &key);
	if (status == CLI_OK && is_put)
		status = cli_parse_key(c, c->args[2], "VALUE", &val);
	if (status == CLI_OK && (wo = make_writeopts(c)) == NULL)
		status = CLI_ERROR;
	if (status == CLI_OK)
		status = cli_open(c, path, 0, &db);
	if (status == CLI_OK) {
		int rc = is_put ? shale_put(db, wo, key.data, key.len, val.data, val.len)
		                : shale_delete(db, wo, key.data, key.len);
		if (rc)
			status = cli_lib_error(c, path, rc);
	}
	if (db && cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	shale_writeopts_destroy(wo);
	bytes_free(&key);
	bytes_free(&val);
	return status;
}

int cmd_put(struct cli *c)
{
	return write_one(c, 1);
}

int cmd_delete(struct cli *c)
{
	return write_one(c, 0);
}

static int starts_with(const struct bytes *s, const struct bytes *p)
{
	return s->len >= p->len && (p->len == 0 || memcmp(s->data, p->data, p->len) == 0);
}

static int bytes_cmp(const struct bytes *a, const struct bytes *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = n ? memcmp(a->data, b->data, n) : 0;
	return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* Read options for scan's range: the prefix's bounds, narrowed by --from
 * and --to where they are tighter (so the keys shown satisfy all three). */
static shale_readopts *range_readopts(const struct cli *c)
{
	shale_readopts *ro = shale_readopts_create();
	if (ro == NULL)
		return NULL;
	int have_prefix = cli_has(c, OPT_PREFIX);
	if (have_prefix)
		shale_readopts_set_prefix(ro, c->prefix.data, c->prefix.len);
	/* the keys with prefix P are [P, successor of P): --from is tighter when
	 * above P; --to is tighter when below that successor, that is when it
	 * sorts before P or starts with P */
	if (cli_has(c, OPT_FROM) && (!have_prefix || bytes_cmp(&c->from, &c->prefix) > 0))
		shale_readopts_set_lower_bound(ro, c->from.data, c->from.len);
	if (cli_has(c, OPT_TO) &&
	    (!have_prefix || bytes_cmp(&c->to, &c->prefix) < 0 || starts_with(&c->to, &c->prefix)))
		shale_readopts_set_upper_bound(ro, c->to.data, c->to.len);
	return ro;
}

/* Writes the entries of it from where it stands to out, one a line, moving
 * forward (or backward), at most limit of them (0 = no limit when
 * !has_limit). Returns CLI_OK, or CLI_ERROR with the message printed. */
static int print_entries(struct cli *c, const char *path, shale_iter *it, FILE *out,
                         const char *outname, int backward, int keys_only, const char *verb,
                         uint64_t *count)
{
	int hex = cli_has(c, OPT_HEX);
	int has_limit = cli_has(c, OPT_LIMIT);
	*count = 0;
	for (; shale_iter_valid(it); backward ? shale_iter_prev(it) : shale_iter_next(it)) {
		if (has_limit && *count >= c->limit)
			break;
		size_t klen, vlen;
		const void *k = shale_iter_key(it, &klen);
		int w = escape_write(out, k, klen, hex);
		if (w == 0 && !keys_only) {
			const void *v = shale_iter_value(it, &vlen);
			w = putc('\t', out) == EOF ? EOF : escape_write(out, v, vlen, hex);
		}
		if (w == 0)
			w = putc('\n', out) == EOF ? EOF : 0;
		if (w) {
			cli_msg(c, "%s: %s", outname, strerror(errno));
			return CLI_ERROR;
		}
		++*count;
		if ((*count & 1023) == 0)
			progress_show("%s: %llu records", verb, (unsigned long long)*count);
	}
	int rc = shale_iter_status(it);
	if (rc)
		return cli_lib_error(c, path, rc);
	return CLI_OK;
}

int cmd_scan(struct cli *c)
{
	const char *path = c->args[0];
	shale_db *db = NULL;
	shale_iter *it = NULL;
	shale_readopts *ro = range_readopts(c);
	int status = ro ? CLI_OK : CLI_ERROR;
	if (ro == NULL)
		cli_msg(c, "out of memory");
	if (status == CLI_OK)
		status = cli_open(c, path, 1, &db);
	if (status == CLI_OK && (it = shale_iter_create(db, ro)) == NULL)
		status = cli_lib_error(c, path, SHALE_ENOMEM);
	if (status == CLI_OK) {
		int backward = cli_has(c, OPT_REVERSE);
		uint64_t n;
		if (backward)
			shale_iter_seek_last(it);
		else
			shale_iter_seek_first(it);
		status = print_entries(c, path, it, stdout, "standard output", backward,
		                       cli_has(c, OPT_KEYS_ONLY), "scan", &n);
		if (status == CLI_OK)
			status = cli_flush_stdout(c);
	}
	shale_iter_destroy(it);
	if (db && cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	shale_readopts_destroy(ro);
	return status;
}

int cmd_dump(struct cli *c)
{
	const char *path = c->args[0], *file = c->args[1];
	int to_stdout = strcmp(file, "-") == 0;
	const char *outname = to_stdout ? "standard output" : file;
	shale_db *db = NULL;
	shale_iter *it = NULL;
	FILE *out = NULL;
	int status = cli_open(c, path, 1, &db);
	if (status == CLI_OK && (it = shale_iter_create(db, NULL)) == NULL)
		status = cli_lib_error(c, path, SHALE_ENOMEM);
	if (status == CLI_OK) {
		out = to_stdout ? stdout : fopen(file, "w");
		if (out == NULL) {
			cli_msg(c, "%s: %s", file, strerror(errno));
			status = CLI_ERROR;
		}
	}
	if (status == CLI_OK) {
		uint64_t n;
		shale_iter_seek_first(it);
		status = print_entries(c, path, it, out, outname, 0, 0, "dump", &n);
	}
	if (out) {
		int bad = fflush(out) != 0 || ferror(out);
		if (out != stdout && fclose(out) != 0)
			bad = 1;
		if (bad && status == CLI_OK) {
			cli_msg(c, "%s: %s", outname, strerror(errno));
			status = CLI_ERROR;
		}
	}
	shale_iter_destroy(it);
	if (db && cli_close(c, path, db) && status == CLI_OK)
		status = CLI_ERROR;
	return status;
}

/* ---- load ---- */

struct loader {
	struct cli *c;
	const char *path;
	shale_db *db;
	shale_writeopts *wo;
	shale_batch *batch;
	size_t batch_bytes;
	uint64_t loaded;
};

static int load_flush(struct loader *l)
{
	if (shale_batch_count(l->batch) == 0)
		return CLI_OK;
	int rc = shale_write(l->db, l->wo, l->batch);
	if (rc)
		return cli_lib_error(l->c, l->path, rc);
	l->loaded += shale_batch_count(l->batch);
	shale_batch_clear(l->batch);
	l->batch_bytes = 0;
	return CLI_OK;
}

/* Parses one line (without its newline) into a put in the batch. */
static int load_line(struct loader *l, const char *name, uint64_t lineno, const char *line, size_t len,
                     struct bytes *key, struct bytes *val)
{
	int hex = cli_has(l->c, OPT_HEX);
	const char *tab = memchr(line, '\t', len);
	size_t at;
	const char *why;
	int rc;
	if (tab == NULL) {
		cli_msg(l->c, "%s:%llu: no tab between key and value", name, (unsigned long long)lineno);
		return CLI_ERROR;
	}
	size_t klen = (size_t)(tab - line);
	rc = escape_parse_strict(line, klen, hex, key, &at, &why);
	if (rc == 0) {
		rc = escape_parse_strict(tab + 1, len - klen - 1, hex, val, &at, &why);
		at += klen + 1;
	}
	if (rc == -2) {
		cli_msg(l->c, "out of memory");
		return CLI_ERROR;
	}
	if (rc) {
		cli_msg(l->c, "%s:%llu: column %zu: %s", name, (unsigned long long)lineno, at + 1, why);
		return CLI_ERROR;
	}
	if ((rc = shale_batch_put(l->batch, key->data, key->len, val->data, val->len)) != 0) {
		cli_msg(l->c, "%s:%llu: %s", name, (unsigned long long)lineno, shale_errmsg());
		return CLI_ERROR;
	}
	l->batch_bytes += key->len + val->len;
	if (shale_batch_count(l->batch) >= LOAD_BATCH_RECORDS || l->batch_bytes >= LOAD_BATCH_BYTES)
		return load_flush(l);
	return CLI_OK;
}

int cmd_load(struct cli *c)
{
	struct loader l = { c, c->args[0], NULL, NULL, NULL, 0, 0 };
	const char *file = c->args[1];
	int from_stdin = strcmp(file, "-") == 0;
	const char *name = from_stdin ? "standard input" : file;
	struct bytes key = { 0 }, val = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *in = from_stdin ? stdin : fopen(file, "r");
	int status = CLI_OK;
	if (in == NULL) {
		cli_msg(c, "%s: %s", file, strerror(errno));
		return CLI_ERROR;
	}
	if ((l.wo = make_writeopts(c)) == NULL)
		status = CLI_ERROR;
	if (status == CLI_OK && (l.batch = shale_batch_create()) == NULL) {
		cli_msg(c, "out of memory");
		status = CLI_ERROR;
	}
	if (status == CLI_OK)
		status = cli_open(c, l.path, 0, &l.db);
	uint64_t lineno = 0, bytes_read = 0;
	while (status == CLI_OK) {
		errno = 0;
		ssize_t n = getline(&line, &cap, in);
		if (n < 0) {
			if (ferror(in)) {
				cli_msg(c, "%s: %s", name, strerror(errno ? errno : EIO));
				status = CLI_ERROR;
			}
			break;
		}
		lineno++;
		bytes_read += (uint64_t)n;
		if (line[n - 1] != '\n') {
			cli_msg(c, "%s:%llu: no newline at the end of the last line (cut short?)", name,
			        (unsigned long long)lineno);
			status = CLI_ERROR;
			break;
		}
		status = load_line(&l, name, lineno, line, (size_t)n - 1, &key, &val);
		if ((lineno & 1023) == 0)
			progress_show("load: %llu records, %.1f MiB", (unsigned long long)lineno,
			              (double)bytes_read / 1048576.0);
	}
	/* every record before a bad line is written (as the help says) */
	if (l.db && l.batch) {
		int flushed = load_flush(&l);
		if (status == CLI_OK)
			status = flushed;
	}
	if (status != CLI_OK && l.db && lineno > 0)
		cli_msg(c, "%s: %llu records written before the error", l.path, (unsigned long long)l.loaded);
	if (l.db && cli_close(c, l.path, l.db) && status == CLI_OK)
		status = CLI_ERROR;
	if (!from_stdin)
		fclose(in);
	free(line);
	bytes_free(&key);
	bytes_free(&val);
	shale_batch_destroy(l.batch);
	shale_writeopts_destroy(l.wo);
	return status;
}
