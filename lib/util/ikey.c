#include "lib/util/ikey.h"

#include <stdio.h>

int ikey_append(struct buf *b, struct slice user_key, uint64_t seq, int type)
{
	int rc = buf_reserve(b, user_key.size + IKEY_TRAILER);
	if (rc)
		return rc;
	buf_append(b, user_key.data, user_key.size);
	return buf_append_fixed64(b, ikey_pack_tag(seq, type));
}

static const struct comparator *user_of(const struct comparator *c)
{
	return ((const struct ikey_comparator *)c)->user;
}

static int ic_compare(const struct comparator *c, struct slice a, struct slice b)
{
	return ikey_compare(user_of(c), a, b);
}

static const char *ic_name(const struct comparator *c)
{
	return ((const struct ikey_comparator *)c)->name;
}

/* Shortens the user key part; when that made it strictly larger, the
 * earliest possible tag keeps it sorting before every entry of that user key. */
static int ic_shorten_separator(const struct comparator *c, struct buf *start, struct slice limit)
{
	const struct comparator *u = user_of(c);
	if (start->len < IKEY_TRAILER || limit.size < IKEY_TRAILER)
		return 0;
	struct buf tmp = BUF_INIT;
	struct slice su = ikey_user_key(buf_slice(start));
	int rc = buf_set(&tmp, su.data, su.size);
	if (rc == 0)
		rc = u->shorten_separator(u, &tmp, ikey_user_key(limit));
	if (rc == 0 && tmp.len < su.size && comparator_compare(u, su, buf_slice(&tmp)) < 0) {
		rc = buf_append_fixed64(&tmp, ikey_pack_tag(IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
		if (rc == 0)
			rc = buf_set(start, tmp.data, tmp.len);
	}
	buf_free(&tmp);
	return rc;
}

static int ic_short_successor(const struct comparator *c, struct buf *key)
{
	const struct comparator *u = user_of(c);
	if (key->len < IKEY_TRAILER)
		return 0;
	struct buf tmp = BUF_INIT;
	struct slice ku = ikey_user_key(buf_slice(key));
	int rc = buf_set(&tmp, ku.data, ku.size);
	if (rc == 0)
		rc = u->short_successor(u, &tmp);
	if (rc == 0 && tmp.len < ku.size && comparator_compare(u, ku, buf_slice(&tmp)) < 0) {
		rc = buf_append_fixed64(&tmp, ikey_pack_tag(IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
		if (rc == 0)
			rc = buf_set(key, tmp.data, tmp.len);
	}
	buf_free(&tmp);
	return rc;
}

void ikey_comparator_init(struct ikey_comparator *ic, const struct comparator *user)
{
	ic->base.compare = ic_compare;
	ic->base.name = ic_name;
	ic->base.shorten_separator = ic_shorten_separator;
	ic->base.short_successor = ic_short_successor;
	ic->base.bytewise = 0;
	ic->base.ikey_bytewise = user->bytewise;
	ic->user = user;
	snprintf(ic->name, sizeof(ic->name), "leveldb.InternalKeyComparator");
}
