#include "lib/db/write_batch.h"

#include <stdlib.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"

int batch_init(struct shale_batch *b)
{
	buf_init(&b->rep);
	int rc = buf_resize(&b->rep, BATCH_HEADER);
	if (rc == 0)
		memset(b->rep.data, 0, BATCH_HEADER);
	return rc;
}

void batch_free(struct shale_batch *b)
{
	buf_free(&b->rep);
}

void batch_reset(struct shale_batch *b)
{
	b->rep.len = BATCH_HEADER;
	memset(b->rep.data, 0, BATCH_HEADER);
}

static void set_count(struct shale_batch *b, uint32_t n)
{
	encode_fixed32(b->rep.data + 8, n);
}

int batch_append(struct shale_batch *dst, const struct shale_batch *src)
{
	uint32_t dn = batch_rep_count(batch_rep(dst)), sn = batch_rep_count(batch_rep(src));
	if (sn > UINT32_MAX - dn)
		return err_set(SHALE_EINVAL, "write batch: more than %u operations", UINT32_MAX);
	size_t n = src->rep.len - BATCH_HEADER;
	/* reserve first: src may be dst, whose buffer the append moves */
	int rc = buf_reserve(&dst->rep, n);
	if (rc == 0)
		rc = buf_append(&dst->rep, src->rep.data + BATCH_HEADER, n);
	if (rc == 0)
		set_count(dst, dn + sn);
	return rc;
}

int batch_iterate(struct slice rep, const struct batch_handler *h, const char *what)
{
	if (rep.size < BATCH_HEADER)
		return err_set(SHALE_ECORRUPT, "%s: write batch of %zu bytes is shorter than its header",
		               what, rep.size);
	uint32_t want = batch_rep_count(rep);
	uint32_t found = 0;
	struct slice in = slice_make(rep.data + BATCH_HEADER, rep.size - BATCH_HEADER);
	while (in.size > 0) {
		char tag = in.data[0];
		in.data++;
		in.size--;
		struct slice key, value;
		int rc;
		if (tag == IKEY_TYPE_VALUE) {
			if (!get_lenprefixed(&in, &key) || !get_lenprefixed(&in, &value))
				return err_set(SHALE_ECORRUPT, "%s: write batch: bad put record", what);
			rc = h->put(h->arg, key, value);
		} else if (tag == IKEY_TYPE_DELETION) {
			if (!get_lenprefixed(&in, &key))
				return err_set(SHALE_ECORRUPT, "%s: write batch: bad delete record", what);
			rc = h->del(h->arg, key);
		} else {
			return err_set(SHALE_ECORRUPT, "%s: write batch: unknown operation %d", what,
			               (unsigned char)tag);
		}
		if (rc)
			return rc;
		found++;
	}
	if (found != want)
		return err_set(SHALE_ECORRUPT, "%s: write batch holds %u operations, header says %u",
		               what, found, want);
	return 0;
}

static int check_put(void *arg, struct slice key, struct slice value)
{
	(void)value;
	const char *what = arg;
	if (key.size > BATCH_KEY_MAX)
		return err_set(SHALE_ECORRUPT, "%s: write batch: key of %zu bytes", what, key.size);
	return 0;
}

static int check_del(void *arg, struct slice key)
{
	return check_put(arg, key, slice_make(NULL, 0));
}

int batch_check(struct slice rep, const char *what, uint64_t *first, uint64_t *count)
{
	struct batch_handler h = { check_put, check_del, (void *)what };
	int rc = batch_iterate(rep, &h, what);
	if (rc)
		return rc;
	*first = batch_rep_sequence(rep);
	*count = batch_rep_count(rep);
	if (*first > IKEY_SEQ_MAX || *count > IKEY_SEQ_MAX + 1 - *first)
		return err_set(SHALE_ECORRUPT, "%s: write batch: sequences %llu + %llu past the largest (2^56 - 1)",
		               what, (unsigned long long)*first, (unsigned long long)*count);
	return 0;
}

int batch_check_follows(uint64_t first, uint64_t next, const char *what)
{
	if (first < next)
		return err_set(SHALE_ECORRUPT, "%s: write batch: sequence %llu goes back (the previous record ended at %llu)",
		               what, (unsigned long long)first, (unsigned long long)next);
	return 0;
}

struct inserter {
	struct memtable *mem;
	uint64_t seq;
};

static int ins_put(void *arg, struct slice key, struct slice value)
{
	struct inserter *in = arg;
	return memtable_add(in->mem, in->seq++, IKEY_TYPE_VALUE, key, value);
}

static int ins_del(void *arg, struct slice key)
{
	struct inserter *in = arg;
	return memtable_add(in->mem, in->seq++, IKEY_TYPE_DELETION, key, slice_make("", 0));
}

int batch_insert(struct slice rep, struct memtable *mem, const char *what)
{
	struct inserter in = { mem, rep.size >= BATCH_HEADER ? batch_rep_sequence(rep) : 0 };
	struct batch_handler h = { ins_put, ins_del, &in };
	return batch_iterate(rep, &h, what);
}

/* ---- public ---- */

SHALE_EXPORT shale_batch *shale_batch_create(void)
{
	shale_batch *b = malloc(sizeof(*b));
	if (b == NULL || batch_init(b) != 0) {
		free(b);
		err_nomem("write batch");
		return NULL;
	}
	return b;
}

SHALE_EXPORT void shale_batch_destroy(shale_batch *b)
{
	if (b == NULL)
		return;
	batch_free(b);
	free(b);
}

static int check_len(size_t n, size_t max, const char *what)
{
	if (n > max)
		return err_set(SHALE_EINVAL, "%s of %zu bytes (at most %zu)", what, n, max);
	return 0;
}

SHALE_EXPORT int shale_batch_put(shale_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (b == NULL || (key == NULL && klen) || (val == NULL && vlen))
		return err_set(SHALE_EINVAL, "shale_batch_put: NULL batch or buffer");
	int rc = check_len(klen, BATCH_KEY_MAX, "key");
	if (rc == 0)
		rc = check_len(vlen, BATCH_VALUE_MAX, "value");
	if (rc)
		return rc;
	size_t before = b->rep.len;
	rc = buf_reserve(&b->rep, 1 + 10 + klen + vlen);
	if (rc == 0)
		rc = buf_append_byte(&b->rep, IKEY_TYPE_VALUE);
	if (rc == 0)
		rc = buf_append_lenprefixed(&b->rep, key, klen);
	if (rc == 0)
		rc = buf_append_lenprefixed(&b->rep, val, vlen);
	if (rc) {
		b->rep.len = before;
		return rc;
	}
	set_count(b, shale_batch_count(b) + 1);
	return 0;
}

SHALE_EXPORT int shale_batch_delete(shale_batch *b, const void *key, size_t klen)
{
	if (b == NULL || (key == NULL && klen))
		return err_set(SHALE_EINVAL, "shale_batch_delete: NULL batch or key");
	int rc = check_len(klen, BATCH_KEY_MAX, "key");
	if (rc)
		return rc;
	size_t before = b->rep.len;
	rc = buf_append_byte(&b->rep, IKEY_TYPE_DELETION);
	if (rc == 0)
		rc = buf_append_lenprefixed(&b->rep, key, klen);
	if (rc) {
		b->rep.len = before;
		return rc;
	}
	set_count(b, shale_batch_count(b) + 1);
	return 0;
}

SHALE_EXPORT void shale_batch_clear(shale_batch *b)
{
	if (b)
		batch_reset(b);
}

SHALE_EXPORT uint32_t shale_batch_count(const shale_batch *b)
{
	return b ? batch_rep_count(batch_rep(b)) : 0;
}

struct user_handler {
	void *state;
	void (*put)(void *state, const void *key, size_t klen, const void *val, size_t vlen);
	void (*del)(void *state, const void *key, size_t klen);
};

/* The pointers handed to the user are never NULL, even for empty keys and
 * values (include/shale.h). */
static const char *never_null(struct slice s)
{
	return s.data ? s.data : "";
}

static int user_put(void *arg, struct slice key, struct slice value)
{
	struct user_handler *u = arg;
	u->put(u->state, never_null(key), key.size, never_null(value), value.size);
	return 0;
}

static int user_del(void *arg, struct slice key)
{
	struct user_handler *u = arg;
	u->del(u->state, never_null(key), key.size);
	return 0;
}

SHALE_EXPORT int shale_batch_iterate(const shale_batch *b, void *state,
                                     void (*put)(void *state, const void *key, size_t klen, const void *val,
                                                 size_t vlen),
                                     void (*del)(void *state, const void *key, size_t klen))
{
	if (b == NULL || put == NULL || del == NULL)
		return err_set(SHALE_EINVAL, "shale_batch_iterate: NULL batch or callback");
	struct user_handler u = { state, put, del };
	struct batch_handler h = { user_put, user_del, &u };
	return batch_iterate(batch_rep(b), &h, "write batch");
}

SHALE_EXPORT int shale_batch_append(shale_batch *dst, const shale_batch *src)
{
	if (dst == NULL || src == NULL)
		return err_set(SHALE_EINVAL, "shale_batch_append: NULL batch");
	return batch_append(dst, src);
}
