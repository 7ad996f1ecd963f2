/*
 * Write-batch decoding (the WAL record payload) over arbitrary bytes:
 * batch_iterate and batch_check. Every key and value handed out must lie
 * inside the input. A batch that decodes is rebuilt through the public
 * batch API and must decode to the same operations (also after a copy is
 * appended); one that also passes batch_check is inserted into a memtable,
 * and every operation must read back at its own sequence.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/db/write_batch.h"
#include "lib/util/ikey.h"
#include "memtable/memtable.h"
#include "shale.h"

struct op {
	int put;
	struct slice key, value;
};

struct recorder {
	struct slice rep; /* what every slice must lie in */
	struct op *ops;
	size_t n, cap;
};

static void inside(const struct recorder *r, struct slice s)
{
	fuzz_check(s.data != NULL, "NULL slice");
	fuzz_check(s.data >= r->rep.data && s.size <= r->rep.size &&
	           (size_t)(s.data - r->rep.data) <= r->rep.size - s.size, "slice outside the batch");
}

static int add(struct recorder *r, int put, struct slice key, struct slice value)
{
	inside(r, key);
	inside(r, value);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
		fuzz_check(r->ops != NULL, "memory");
	}
	r->ops[r->n].put = put;
	r->ops[r->n].key = key;
	r->ops[r->n].value = value;
	r->n++;
	return 0;
}

static int rec_put(void *arg, struct slice key, struct slice value)
{
	return add(arg, 1, key, value);
}

static int rec_del(void *arg, struct slice key)
{
	struct recorder *r = arg;
	return add(r, 0, key, slice_make(r->rep.data, 0));
}

static int walk(struct slice rep, struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	r->rep = rep;
	struct batch_handler h = { rec_put, rec_del, r };
	return batch_iterate(rep, &h, "fuzz.log");
}

static void same_ops(const struct op *a, const struct op *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fuzz_check(a[i].put == b[i].put && slice_equal(a[i].key, b[i].key), "op %zu differs", i);
		if (a[i].put)
			fuzz_check(slice_equal(a[i].value, b[i].value), "value %zu differs", i);
	}
}

static void check_memtable(struct slice rep, const struct recorder *r, uint64_t first)
{
	struct memtable *mem;
	fuzz_check(memtable_create(comparator_bytewise(), &mem) == 0, "memory");
	fuzz_check(batch_insert(rep, mem, "fuzz.log") == 0, "insert of a checked batch failed");
	fuzz_check(memtable_count(mem) == r->n, "memtable holds %llu of %zu",
	           (unsigned long long)memtable_count(mem), r->n);
	for (size_t i = 0; i < r->n; i++) {
		struct slice v;
		int got = memtable_get(mem, r->ops[i].key, first + i, &v);
		if (r->ops[i].put)
			fuzz_check(got == MEMTABLE_FOUND && slice_equal(v, r->ops[i].value), "op %zu: got %d", i, got);
		else
			fuzz_check(got == MEMTABLE_DELETED, "op %zu: got %d", i, got);
	}
	struct iter *it = memtable_iter(mem);
	fuzz_check(it != NULL, "memory");
	size_t seen = 0;
	struct parsed_ikey prev = { { NULL, 0 }, 0, 0 };
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		struct parsed_ikey p;
		fuzz_check(ikey_parse(iter_key(it), &p), "bad internal key in the memtable");
		fuzz_check(p.seq >= first && p.seq - first < r->n, "sequence out of the batch's range");
		if (seen > 0) {
			int c = slice_compare(prev.user_key, p.user_key);
			fuzz_check(c < 0 || (c == 0 && prev.seq > p.seq), "memtable out of order");
		}
		prev = p;
		seen++;
	}
	fuzz_check(seen == r->n, "iterated %zu of %zu", seen, r->n);
	iter_destroy(it);
	memtable_unref(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice rep = slice_make(data, size);
	struct recorder r;
	int rc = walk(rep, &r);
	uint64_t first = 0, count = 0;
	int crc = batch_check(rep, "fuzz.log", &first, &count);
	if (rc != 0) {
		fuzz_check(rc == SHALE_ECORRUPT, "iterate returned %d", rc);
		fuzz_check(crc == SHALE_ECORRUPT, "check passed what iterate refused");
		free(r.ops);
		return 0;
	}
	fuzz_check(r.n == batch_rep_count(rep), "%zu operations, header says %u", r.n, batch_rep_count(rep));
	if (crc == 0) {
		fuzz_check(count == r.n && first == batch_rep_sequence(rep), "check's sequence range");
		fuzz_check(first <= IKEY_SEQ_MAX && count <= IKEY_SEQ_MAX + 1 - first, "sequences past 2^56");
		check_memtable(rep, &r, first);
	} else {
		fuzz_check(crc == SHALE_ECORRUPT, "check returned %d", crc);
	}

	/* Rebuilt through the public API: the same operations; a copy appended
	 * (group commit) gives them twice. */
	shale_batch *b = shale_batch_create(), *c = shale_batch_create();
	fuzz_check(b != NULL && c != NULL, "memory");
	for (size_t i = 0; i < r.n; i++) {
		const struct op *o = &r.ops[i];
		for (int k = 0; k < 2; k++) {
			shale_batch *t = k ? c : b;
			rc = o->put ? shale_batch_put(t, o->key.data, o->key.size, o->value.data, o->value.size)
			            : shale_batch_delete(t, o->key.data, o->key.size);
			fuzz_check(rc == 0, "rebuilding op %zu: %d", i, rc);
		}
	}
	fuzz_check(shale_batch_count(b) == r.n, "count");
	fuzz_check(batch_append(b, c) == 0, "append");
	struct recorder again;
	fuzz_check(walk(batch_rep(b), &again) == 0, "rebuilt batch does not decode");
	fuzz_check(again.n == 2 * r.n, "%zu ops after appending %zu to itself", again.n, r.n);
	if (r.n) {
		same_ops(r.ops, again.ops, r.n);
		same_ops(r.ops, again.ops + r.n, r.n);
	}
	free(again.ops);
	shale_batch_destroy(b);
	shale_batch_destroy(c);
	free(r.ops);
	return 0;
}
