/*
 * Reading the old database for a repair (steps 1 to 3 of repair.c): the
 * directory listing, every MANIFEST and every WAL. Nothing is written here
 * but temporaries (memtables spilled by the WAL replay). Damage is recorded
 * in the input it was found in and reading goes on; only failures that are
 * not the file's (memory, a file that cannot be opened) stop the repair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/repair.h"
#include "lib/db/write_batch.h"
#include "lib/util/error.h"
#include "lib/version/version_edit.h"
#include "wal/wal_reader.h"

/* File numbers from this on are not believed: they would leave no room. */
#define NUMBER_LIMIT (UINT64_C(1) << 62)

static void note_number(struct repairer *r, uint64_t n)
{
	if (n < NUMBER_LIMIT && n >= r->next_number)
		r->next_number = n + 1;
}

/* Records damage in an input (the first reason is kept). */
static void input_damage(struct repair_input *in, const char *reason)
{
	in->damaged = 1;
	in->dropped++;
	if (in->reason[0] == '\0')
		snprintf(in->reason, sizeof(in->reason), "%s", reason);
}

static void wal_damage(void *arg, uint64_t bytes, const char *reason)
{
	struct repair_input *in = arg;
	in->dropped_bytes += bytes;
	input_damage(in, reason);
}

/* ---- step 1: what is there ---- */

/* The number in a name in lost/ (the file's own, before any ".N"). */
static int lost_number(const char *name, uint64_t *num)
{
	const char *p = strncmp(name, "MANIFEST-", 9) == 0 ? name + 9 : name;
	uint64_t v = 0;
	int digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*num = v;
	return digits > 0;
}

/* MANIFESTs first, then WALs, then tables; by number within each. */
static int input_order(const void *a, const void *b)
{
	const struct repair_input *x = a, *y = b;
	if (x->type != y->type) {
		int rx = x->type == FILE_MANIFEST ? 0 : x->type == FILE_LOG ? 1 : 2;
		int ry = y->type == FILE_MANIFEST ? 0 : y->type == FILE_LOG ? 1 : 2;
		return rx - ry;
	}
	return (x->number > y->number) - (x->number < y->number);
}

int repair_scan(struct repairer *r)
{
	char **names = NULL;
	size_t n = 0;
	int rc = env_list_dir(r->env, r->dbname, &names, &n);
	if (rc)
		return rc;
	r->inputs = calloc(n ? n : 1, sizeof(*r->inputs));
	if (r->inputs == NULL) {
		rc = err_nomem("repair inputs");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type))
			continue;
		note_number(r, num);
		if (!repair_is_input_type(type) || strlen(names[i]) >= sizeof(r->inputs[0].name))
			continue;
		struct repair_input *in = &r->inputs[r->ninputs++];
		snprintf(in->name, sizeof(in->name), "%s", names[i]);
		in->type = type;
		in->number = num;
	}
	qsort(r->inputs, r->ninputs, sizeof(*r->inputs), input_order);

	/* numbers of files set aside by an earlier repair stay used */
	char lost[FNAME_MAX];
	snprintf(lost, sizeof(lost), "%s/" REPAIR_LOST_DIR, r->dbname);
	if (env_exists(r->env, lost)) {
		env_free_names(names, n);
		names = NULL;
		n = 0;
		rc = env_list_dir(r->env, lost, &names, &n);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			uint64_t num;
			if (lost_number(names[i], &num))
				note_number(r, num);
		}
	}
out:
	env_free_names(names, n);
	return rc;
}

/* ---- step 2: MANIFESTs ---- */

int repair_read_manifest(struct repairer *r, struct repair_input *in)
{
	char path[FNAME_MAX + 64];
	repair_input_path(r, in, path, sizeof(path));
	struct seq_file *f = NULL;
	struct wal_reader *rd = NULL;
	struct wal_reporter rep = { wal_damage, in };
	const char *want = r->ucmp->name(r->ucmp);
	int rc = env_open_seq(r->env, path, &f);
	if (rc == 0)
		rc = wal_reader_create(f, &rep, 1, &rd);
	while (rc == 0) {
		struct slice rec;
		int got = wal_reader_read(rd, &rec);
		if (got == 0)
			break;
		if (got < 0) {
			if (got == SHALE_ENOMEM)
				rc = got;
			else
				input_damage(in, err_msg()); /* a read error ends the file */
			break;
		}
		struct version_edit e;
		edit_init(&e);
		int drc = edit_decode(&e, rec, path);
		if (drc) {
			edit_free(&e);
			if (drc != SHALE_ECORRUPT)
				rc = drc;
			else
				input_damage(in, err_msg());
			continue;
		}
		if (e.has_comparator && (e.comparator.len != strlen(want) ||
		                         memcmp(e.comparator.data, want, e.comparator.len) != 0)) {
			rc = err_set(SHALE_EINVAL, "%s: the database uses comparator \"%.*s\", the options give \"%s\"",
			             path, (int)(e.comparator.len > 200 ? 200 : e.comparator.len), e.comparator.data,
			             want);
			edit_free(&e);
			break;
		}
		if (e.has_last_sequence) {
			if (e.last_sequence <= IKEY_SEQ_MAX) {
				if (e.last_sequence > r->max_seq)
					r->max_seq = e.last_sequence;
			} else {
				err_set(SHALE_ECORRUPT, "%s: last sequence %llu out of range", path,
				        (unsigned long long)e.last_sequence);
				input_damage(in, err_msg());
			}
		}
		if (e.has_next_file_number && e.next_file_number > 0)
			note_number(r, e.next_file_number - 1);
		if (e.has_log_number)
			note_number(r, e.log_number);
		if (e.has_prev_log_number)
			note_number(r, e.prev_log_number);
		for (size_t i = 0; i < e.nadded; i++)
			note_number(r, e.added[i].f->number);
		in->kept++;
		in->kept_bytes += rec.size;
		edit_free(&e);
	}
	wal_reader_destroy(rd);
	seq_file_close(f);
	return rc;
}

/* ---- step 3: WALs ---- */

static int check_key(const char *path, struct slice key)
{
	if (key.size > UINT32_MAX - IKEY_TRAILER)
		return err_set(SHALE_ECORRUPT, "%s: write batch: key of %zu bytes", path, key.size);
	return 0;
}

static int check_put(void *arg, struct slice key, struct slice value)
{
	(void)value;
	return check_key(arg, key);
}

static int check_del(void *arg, struct slice key)
{
	return check_key(arg, key);
}

/* The memtable being filled becomes a temporary table. */
static int seal_memtable(struct repairer *r)
{
	if (r->mem == NULL)
		return 0;
	int rc = repair_spill_memtable(r, r->mem);
	memtable_unref(r->mem);
	r->mem = NULL;
	return rc;
}

int repair_replay_wal(struct repairer *r, struct repair_input *in)
{
	char path[FNAME_MAX + 64];
	repair_input_path(r, in, path, sizeof(path));
	struct seq_file *f = NULL;
	struct wal_reader *rd = NULL;
	struct wal_reporter rep = { wal_damage, in };
	struct batch_handler check = { check_put, check_del, path };
	int rc = env_open_seq(r->env, path, &f);
	if (rc == 0)
		rc = wal_reader_create(f, &rep, 1, &rd);
	while (rc == 0) {
		struct slice rec;
		int got = wal_reader_read(rd, &rec);
		if (got == 0)
			break;
		if (got < 0) {
			if (got == SHALE_ENOMEM)
				rc = got;
			else
				input_damage(in, err_msg()); /* a read error ends the file */
			break;
		}
		int vrc = batch_iterate(rec, &check, path);
		if (vrc) {
			if (vrc != SHALE_ECORRUPT) {
				rc = vrc;
				break;
			}
			input_damage(in, err_msg());
			continue;
		}
		uint64_t seq = batch_rep_sequence(rec);
		uint32_t count = batch_rep_count(rec);
		if (count == 0) {
			in->kept++;
			continue;
		}
		if (seq > IKEY_SEQ_MAX || count - 1 > IKEY_SEQ_MAX - seq) {
			err_set(SHALE_ECORRUPT, "%s: write batch: sequence %llu with %u operations out of range",
			        path, (unsigned long long)seq, count);
			input_damage(in, err_msg());
			continue;
		}
		/* one memtable never holds a (key, sequence) twice: a record that
		 * does not follow the last one starts another */
		if (r->mem && seq < r->mem_next_seq && (rc = seal_memtable(r)) != 0)
			break;
		if (r->mem == NULL && (rc = memtable_create(r->ucmp, &r->mem)) != 0)
			break;
		if ((rc = batch_insert(rec, r->mem, path)) != 0)
			break;
		r->mem_next_seq = seq + count;
		if (seq + count - 1 > r->max_seq)
			r->max_seq = seq + count - 1;
		in->kept++;
		in->kept_bytes += rec.size;
		if (memtable_memory_usage(r->mem) > r->opt->write_buffer_size)
			rc = seal_memtable(r);
	}
	wal_reader_destroy(rd);
	seq_file_close(f);
	return rc;
}
