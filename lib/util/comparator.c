#include "lib/util/comparator.h"

static int bytewise_compare(const struct comparator *c, struct slice a, struct slice b)
{
	(void)c;
	return slice_compare(a, b);
}

static const char *bytewise_name(const struct comparator *c)
{
	(void)c;
	return "leveldb.BytewiseComparator";
}

/* Finds the first differing byte; if it can be incremented and stay below
 * limit, truncates start just after it. */
static int bytewise_shorten_separator(const struct comparator *c, struct buf *start, struct slice limit)
{
	(void)c;
	size_t min = start->len < limit.size ? start->len : limit.size;
	size_t diff = 0;
	while (diff < min && start->data[diff] == limit.data[diff])
		diff++;
	if (diff >= min)
		return 0; /* one is a prefix of the other */
	unsigned char byte = (unsigned char)start->data[diff];
	if (byte < 0xff && byte + 1 < (unsigned char)limit.data[diff]) {
		start->data[diff] = (char)(byte + 1);
		start->len = diff + 1;
	}
	return 0;
}

/* Increments the first byte that is not 0xff and truncates after it. */
static int bytewise_short_successor(const struct comparator *c, struct buf *key)
{
	(void)c;
	for (size_t i = 0; i < key->len; i++) {
		unsigned char byte = (unsigned char)key->data[i];
		if (byte != 0xff) {
			key->data[i] = (char)(byte + 1);
			key->len = i + 1;
			return 0;
		}
	}
	return 0; /* all 0xff: leave it */
}

static const struct comparator bytewise = {
	.compare = bytewise_compare,
	.name = bytewise_name,
	.shorten_separator = bytewise_shorten_separator,
	.short_successor = bytewise_short_successor,
	.bytewise = 1,
};

const struct comparator *comparator_bytewise(void)
{
	return &bytewise;
}

int comparator_keep_separator(const struct comparator *c, struct buf *start, struct slice limit)
{
	(void)c;
	(void)start;
	(void)limit;
	return 0;
}

int comparator_keep_successor(const struct comparator *c, struct buf *key)
{
	(void)c;
	(void)key;
	return 0;
}
