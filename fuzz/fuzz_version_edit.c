/*
 * Version-edit decoding (a MANIFEST record) over arbitrary bytes. A record
 * that decodes is encoded again; that encoding must decode to an equal edit
 * whose encoding is byte for byte the same.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/version/version_edit.h"
#include "shale.h"

static int buf_eq(const struct buf *a, const struct buf *b)
{
	return slice_equal(buf_slice(a), buf_slice(b));
}

static void same_edit(const struct version_edit *a, const struct version_edit *b)
{
	fuzz_check(a->has_comparator == b->has_comparator &&
	           (!a->has_comparator || buf_eq(&a->comparator, &b->comparator)), "comparator");
	fuzz_check(a->has_log_number == b->has_log_number &&
	           (!a->has_log_number || a->log_number == b->log_number), "log number");
	fuzz_check(a->has_prev_log_number == b->has_prev_log_number &&
	           (!a->has_prev_log_number || a->prev_log_number == b->prev_log_number), "prev log number");
	fuzz_check(a->has_next_file_number == b->has_next_file_number &&
	           (!a->has_next_file_number || a->next_file_number == b->next_file_number), "next file");
	fuzz_check(a->has_last_sequence == b->has_last_sequence &&
	           (!a->has_last_sequence || a->last_sequence == b->last_sequence), "last sequence");
	fuzz_check(a->npointers == b->npointers, "pointers");
	for (size_t i = 0; i < a->npointers; i++)
		fuzz_check(a->pointers[i].level == b->pointers[i].level &&
		           buf_eq(&a->pointers[i].key, &b->pointers[i].key), "pointer %zu", i);
	fuzz_check(a->ndeleted == b->ndeleted, "deleted");
	for (size_t i = 0; i < a->ndeleted; i++)
		fuzz_check(a->deleted[i].level == b->deleted[i].level &&
		           a->deleted[i].number == b->deleted[i].number, "deleted %zu", i);
	fuzz_check(a->nadded == b->nadded, "added");
	for (size_t i = 0; i < a->nadded; i++) {
		const struct file_meta *x = a->added[i].f, *y = b->added[i].f;
		fuzz_check(a->added[i].level == b->added[i].level && x->number == y->number &&
		           x->size == y->size && slice_equal(x->smallest, y->smallest) &&
		           slice_equal(x->largest, y->largest), "added %zu", i);
	}
}

static void in_range(const struct version_edit *e)
{
	for (size_t i = 0; i < e->npointers; i++)
		fuzz_check(e->pointers[i].level >= 0 && e->pointers[i].level < NUM_LEVELS, "pointer level");
	for (size_t i = 0; i < e->ndeleted; i++)
		fuzz_check(e->deleted[i].level >= 0 && e->deleted[i].level < NUM_LEVELS, "deleted level");
	for (size_t i = 0; i < e->nadded; i++)
		fuzz_check(e->added[i].level >= 0 && e->added[i].level < NUM_LEVELS, "added level");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct version_edit e, e2;
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	edit_init(&e);
	edit_init(&e2);
	int rc = edit_decode(&e, slice_make(data, size), "MANIFEST-000001");
	if (rc != 0) {
		fuzz_check(rc == SHALE_ECORRUPT, "decode returned %d", rc);
		goto out;
	}
	in_range(&e);
	fuzz_check(edit_encode(&e, &enc) == 0, "encode");
	fuzz_check(edit_decode(&e2, buf_slice(&enc), "again") == 0, "the encoding does not decode");
	same_edit(&e, &e2);
	fuzz_check(edit_encode(&e2, &enc2) == 0, "encode");
	fuzz_check(buf_eq(&enc, &enc2), "encodings differ");
out:
	edit_free(&e);
	edit_free(&e2);
	buf_free(&enc);
	buf_free(&enc2);
	return 0;
}
