/*
 * The file inspectors: dump-wal, dump-sst, dump-manifest. They read one file
 * through the internal readers (readers.h), print everything readable on
 * stdout and each problem, with its offset, on stderr (exit 1 if any).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/db/write_batch.h"
#include "tools/cli.h"
#include "tools/progress.h"
#include "tools/readers.h"

struct inspect {
	struct cli *c;
	const char *path;
	int hex;
	uint64_t problems;
	/* dump-wal */
	uint64_t ops, next_seq, min_seq, max_seq;
	int have_seq;
	/* dump-manifest */
	struct manifest_state state;
	uint64_t edits;
};

static void on_problem(void *arg, uint64_t offset, const char *what)
{
	struct inspect *in = arg;
	in->problems++;
	cli_msg(in->c, "%s: offset %llu: %s", in->path, (unsigned long long)offset, what);
}

/* The file must exist and be a regular file: CLI_OK or CLI_ERROR. */
static int check_file(struct cli *c, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		cli_msg(c, "%s: %s", path, strerror(errno));
		return CLI_ERROR;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_msg(c, "%s: not a regular file", path);
		return CLI_ERROR;
	}
	return CLI_OK;
}

static int finish(struct inspect *in, int rc)
{
	if (rc) {
		cli_lib_error(in->c, in->path, rc);
		return CLI_ERROR;
	}
	if (cli_flush_stdout(in->c))
		return CLI_ERROR;
	return in->problems ? CLI_FAIL : CLI_OK;
}

/* ---- dump-wal ---- */

static int print_put(void *arg, struct slice key, struct slice value)
{
	struct inspect *in = arg;
	fputs("  put ", stdout);
	print_quoted(stdout, key, in->hex);
	fputs(" => ", stdout);
	print_quoted(stdout, value, in->hex);
	putchar('\n');
	in->ops++;
	return 0;
}

static int print_del(void *arg, struct slice key)
{
	struct inspect *in = arg;
	fputs("  del ", stdout);
	print_quoted(stdout, key, in->hex);
	putchar('\n');
	in->ops++;
	return 0;
}

static void on_wal_record(void *arg, uint64_t offset, struct slice rec)
{
	struct inspect *in = arg;
	printf("--- offset %llu: ", (unsigned long long)offset);
	if (rec.size >= BATCH_HEADER) {
		uint32_t n = batch_rep_count(rec);
		printf("sequence %llu, %u operation%s, %zu bytes\n", (unsigned long long)batch_rep_sequence(rec), n,
		       n == 1 ? "" : "s", rec.size);
	} else {
		printf("%zu bytes\n", rec.size);
	}
	struct batch_handler h = { print_put, print_del, in };
	uint64_t first, count;
	int rc = batch_iterate(rec, &h, in->path);
	if (rc == 0)
		rc = batch_check(rec, in->path, &first, &count);
	if (rc == 0 && (rc = batch_check_follows(first, in->next_seq, in->path)) == 0) {
		in->next_seq = first + count;
		if (count) {
			if (!in->have_seq || first < in->min_seq)
				in->min_seq = first;
			if (first + count - 1 > in->max_seq)
				in->max_seq = first + count - 1;
			in->have_seq = 1;
		}
	}
	if (rc)
		on_problem(in, offset, reader_reason(rc, in->path));
	progress_show("dump-wal: offset %llu", (unsigned long long)offset);
}

int cmd_dump_wal(struct cli *c)
{
	struct inspect in;
	memset(&in, 0, sizeof(in));
	in.c = c;
	in.path = c->args[0];
	in.hex = cli_has(c, OPT_HEX);
	if (check_file(c, in.path))
		return CLI_ERROR;
	struct log_visitor v = { on_wal_record, on_problem, &in };
	struct log_summary s;
	int rc = log_walk(in.path, &v, &s);
	if (rc == 0) {
		printf("--- %llu record%s, %llu operation%s", (unsigned long long)s.records, s.records == 1 ? "" : "s",
		       (unsigned long long)in.ops, in.ops == 1 ? "" : "s");
		if (in.have_seq)
			printf(", sequences %llu..%llu", (unsigned long long)in.min_seq, (unsigned long long)in.max_seq);
		printf("\n");
		if (s.torn_tail)
			printf("--- ends with a record cut short at offset %llu (%llu bytes): the trace of a crash\n",
			       (unsigned long long)(s.size - s.torn_tail), (unsigned long long)s.torn_tail);
	}
	return finish(&in, rc);
}

/* ---- dump-sst ---- */

static void print_entry(void *arg, struct slice ikey, const struct parsed_ikey *p, struct slice value)
{
	struct inspect *in = arg;
	print_ikey(stdout, ikey, in->hex);
	if (p == NULL || p->type == IKEY_TYPE_VALUE) {
		fputs(" => ", stdout);
		print_quoted(stdout, value, in->hex);
	}
	putchar('\n');
}

static void print_table_stats(const struct inspect *in, const struct table_summary *s)
{
	printf("file: %s\n", in->path);
	printf("size: %llu bytes\n", (unsigned long long)s->size);
	printf("entries: %llu (%llu puts, %llu deletions", (unsigned long long)s->entries,
	       (unsigned long long)s->puts, (unsigned long long)s->deletions);
	if (s->bad_keys)
		printf(", %llu not internal keys", (unsigned long long)s->bad_keys);
	printf(")\n");
	if (s->puts + s->deletions)
		printf("sequences: %llu..%llu\n", (unsigned long long)s->min_seq, (unsigned long long)s->max_seq);
	printf("key bytes: %llu\nvalue bytes: %llu\n", (unsigned long long)s->key_bytes,
	       (unsigned long long)s->value_bytes);
	if (s->entries) {
		printf("smallest key: ");
		print_ikey(stdout, buf_slice(&s->first_key), in->hex);
		printf("\nlargest key: ");
		print_ikey(stdout, buf_slice(&s->last_key), in->hex);
		printf("\n");
	}
	printf("data blocks: %llu", (unsigned long long)s->data_blocks);
	if (s->bad_blocks)
		printf(" (%llu with problems)", (unsigned long long)s->bad_blocks);
	const char *sep = " (compression: ";
	for (int i = 0; i < TABLE_CODECS; i++)
		if (s->blocks_by_codec[i]) {
			printf("%s%s %llu", sep, table_codec_names[i], (unsigned long long)s->blocks_by_codec[i]);
			sep = ", ";
		}
	printf("%s\n", sep[0] == ',' ? ")" : "");
	printf("data bytes: %llu stored, %llu uncompressed\n", (unsigned long long)s->data_stored,
	       (unsigned long long)s->data_raw);
	if (s->data_stored)
		printf("compression ratio: %.2f\n", (double)s->data_raw / (double)s->data_stored);
	printf("index block: %llu bytes\nmetaindex block: %llu bytes\n", (unsigned long long)s->index_size,
	       (unsigned long long)s->metaindex_size);
	if (s->filter_name[0])
		printf("filter: %s, %llu bytes%s\n", s->filter_name, (unsigned long long)s->filter_size,
		       s->has_filter ? "" : " (not read)");
	else
		printf("filter: none\n");
}

int cmd_dump_sst(struct cli *c)
{
	struct inspect in;
	memset(&in, 0, sizeof(in));
	in.c = c;
	in.path = c->args[0];
	in.hex = cli_has(c, OPT_HEX);
	if (check_file(c, in.path))
		return CLI_ERROR;
	int stats = cli_has(c, OPT_STATS);
	struct table_visitor v = { stats ? NULL : print_entry, on_problem, &in, 1 };
	struct table_summary s;
	int rc = table_walk(in.path, &v, &s);
	if (rc == 0 && stats)
		print_table_stats(&in, &s);
	table_summary_free(&s);
	return finish(&in, rc);
}

/* ---- dump-manifest ---- */

static void print_file_line(const struct inspect *in, uint64_t number, uint64_t size, struct slice smallest,
                            struct slice largest)
{
	printf("table %06llu, %llu bytes, ", (unsigned long long)number, (unsigned long long)size);
	print_ikey(stdout, smallest, in->hex);
	printf(" .. ");
	print_ikey(stdout, largest, in->hex);
	putchar('\n');
}

static void on_edit(void *arg, uint64_t offset, struct slice rec)
{
	struct inspect *in = arg;
	struct version_edit e;
	edit_init(&e);
	in->edits++;
	printf("--- offset %llu: edit %llu, %zu bytes\n", (unsigned long long)offset, (unsigned long long)in->edits,
	       rec.size);
	int rc = edit_decode(&e, rec, in->path);
	if (rc) {
		on_problem(in, offset, reader_reason(rc, in->path));
		edit_free(&e);
		return;
	}
	if (e.has_comparator)
		printf("  comparator: %.*s\n", (int)e.comparator.len, e.comparator.data);
	if (e.has_log_number)
		printf("  log number: %llu\n", (unsigned long long)e.log_number);
	if (e.has_prev_log_number)
		printf("  previous log number: %llu\n", (unsigned long long)e.prev_log_number);
	if (e.has_next_file_number)
		printf("  next file number: %llu\n", (unsigned long long)e.next_file_number);
	if (e.has_last_sequence)
		printf("  last sequence: %llu\n", (unsigned long long)e.last_sequence);
	for (size_t i = 0; i < e.npointers; i++) {
		printf("  compaction pointer: level %d, ", e.pointers[i].level);
		print_ikey(stdout, buf_slice(&e.pointers[i].key), in->hex);
		putchar('\n');
	}
	for (size_t i = 0; i < e.ndeleted; i++)
		printf("  delete: level %d, table %06llu\n", e.deleted[i].level,
		       (unsigned long long)e.deleted[i].number);
	for (size_t i = 0; i < e.nadded; i++) {
		const struct file_meta *f = e.added[i].f;
		printf("  add: level %d, ", e.added[i].level);
		print_file_line(in, f->number, f->size, f->smallest, f->largest);
	}
	if (manifest_state_apply(&in->state, &e))
		on_problem(in, offset, "out of memory");
	edit_free(&e);
}

static void print_state(struct inspect *in)
{
	struct manifest_state *m = &in->state;
	printf("--- the version %llu edit%s add up to\n", (unsigned long long)m->edits, m->edits == 1 ? "" : "s");
	if (m->has_comparator)
		printf("  comparator: %.*s\n", (int)m->comparator.len, m->comparator.data);
	if (m->has_log_number)
		printf("  log number: %llu\n", (unsigned long long)m->log_number);
	if (m->has_prev_log_number)
		printf("  previous log number: %llu\n", (unsigned long long)m->prev_log_number);
	if (m->has_next_file)
		printf("  next file number: %llu\n", (unsigned long long)m->next_file);
	if (m->has_last_sequence)
		printf("  last sequence: %llu\n", (unsigned long long)m->last_sequence);
	manifest_state_sort(m);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		printf("  level %d: ", f->level);
		print_file_line(in, f->number, f->size, buf_slice(&f->smallest), buf_slice(&f->largest));
	}
	printf("  %zu table%s\n", m->nfiles, m->nfiles == 1 ? "" : "s");
}

int cmd_dump_manifest(struct cli *c)
{
	struct inspect in;
	memset(&in, 0, sizeof(in));
	in.c = c;
	in.path = c->args[0];
	in.hex = cli_has(c, OPT_HEX);
	manifest_state_init(&in.state);
	if (check_file(c, in.path))
		return CLI_ERROR;
	struct log_visitor v = { on_edit, on_problem, &in };
	struct log_summary s;
	int rc = log_walk(in.path, &v, &s);
	if (rc == 0) {
		print_state(&in);
		if (s.torn_tail)
			printf("--- ends with a record cut short at offset %llu (%llu bytes): the trace of a crash\n",
			       (unsigned long long)(s.size - s.torn_tail), (unsigned long long)s.torn_tail);
	}
	manifest_state_free(&in.state);
	return finish(&in, rc);
}
