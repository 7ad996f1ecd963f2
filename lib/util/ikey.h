/*
 * Internal keys: user key + 8 bytes, fixed64 of (sequence << 8) | type.
 * Ordering: user key ascending by the user comparator, then the 8-byte tag
 * descending (newest sequence first; at equal sequence, value before
 * deletion). A key shorter than 8 bytes (only from a damaged file) orders as
 * if its tag were 0 and its whole bytes the user key; ikey_parse rejects it.
 */
#ifndef SHALE_UTIL_IKEY_H
#define SHALE_UTIL_IKEY_H

#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/comparator.h"

#define IKEY_TYPE_DELETION 0
#define IKEY_TYPE_VALUE 1
/* a lookup key uses the highest type so it sorts before every entry at its sequence */
#define IKEY_TYPE_FOR_SEEK IKEY_TYPE_VALUE
#define IKEY_SEQ_MAX ((UINT64_C(1) << 56) - 1)
#define IKEY_TRAILER 8

static inline uint64_t ikey_pack_tag(uint64_t seq, int type)
{
	return (seq << 8) | (uint64_t)type;
}

struct parsed_ikey {
	struct slice user_key;
	uint64_t seq;
	int type;
};

/* 1 when ik is well-formed (>= 8 bytes, known type), else 0. */
static inline int ikey_parse(struct slice ik, struct parsed_ikey *out)
{
	if (ik.size < IKEY_TRAILER)
		return 0;
	uint64_t tag = decode_fixed64(ik.data + ik.size - IKEY_TRAILER);
	int type = (int)(tag & 0xff);
	if (type > IKEY_TYPE_VALUE)
		return 0;
	out->user_key = slice_make(ik.data, ik.size - IKEY_TRAILER);
	out->seq = tag >> 8;
	out->type = type;
	return 1;
}

static inline struct slice ikey_user_key(struct slice ik)
{
	return slice_make(ik.data, ik.size >= IKEY_TRAILER ? ik.size - IKEY_TRAILER : ik.size);
}

static inline uint64_t ikey_tag(struct slice ik)
{
	return ik.size >= IKEY_TRAILER ? decode_fixed64(ik.data + ik.size - IKEY_TRAILER) : 0;
}

/* Appends user_key + tag to b. */
int ikey_append(struct buf *b, struct slice user_key, uint64_t seq, int type);

static inline int ikey_compare(const struct comparator *ucmp, struct slice a, struct slice b)
{
	int r = comparator_compare(ucmp, ikey_user_key(a), ikey_user_key(b));
	if (r == 0) {
		uint64_t ta = ikey_tag(a), tb = ikey_tag(b);
		r = (ta < tb) - (ta > tb);
	}
	return r;
}

/* A comparator over internal keys, for tables and the index. */
struct ikey_comparator {
	struct comparator base;
	const struct comparator *user;
	char name[96];
};

void ikey_comparator_init(struct ikey_comparator *ic, const struct comparator *user);

#endif
