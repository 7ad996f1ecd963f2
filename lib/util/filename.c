#include "lib/util/filename.h"

#include <stdio.h>
#include <string.h>

static void numbered(char *out, const char *db, uint64_t num, const char *suffix)
{
	snprintf(out, FNAME_MAX, "%s/%06llu.%s", db, (unsigned long long)num, suffix);
}

void fname_log(char *out, const char *db, uint64_t num) { numbered(out, db, num, "log"); }
void fname_table(char *out, const char *db, uint64_t num) { numbered(out, db, num, "ldb"); }
void fname_sst(char *out, const char *db, uint64_t num) { numbered(out, db, num, "sst"); }
void fname_temp(char *out, const char *db, uint64_t num) { numbered(out, db, num, "dbtmp"); }

void fname_manifest(char *out, const char *db, uint64_t num)
{
	snprintf(out, FNAME_MAX, "%s/MANIFEST-%06llu", db, (unsigned long long)num);
}

void fname_current(char *out, const char *db) { snprintf(out, FNAME_MAX, "%s/CURRENT", db); }
void fname_lock(char *out, const char *db) { snprintf(out, FNAME_MAX, "%s/LOCK", db); }
void fname_info_log(char *out, const char *db) { snprintf(out, FNAME_MAX, "%s/LOG", db); }
void fname_old_info_log(char *out, const char *db) { snprintf(out, FNAME_MAX, "%s/LOG.old", db); }

/* Parses a decimal number of 1..20 digits; returns the end or NULL. */
static const char *parse_num(const char *p, uint64_t *num)
{
	uint64_t v = 0;
	const char *start = p;
	while (*p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
		p++;
	}
	if (p == start)
		return NULL;
	*num = v;
	return p;
}

int fname_parse(const char *name, uint64_t *num, enum file_type *type)
{
	*num = 0;
	if (strcmp(name, "CURRENT") == 0) {
		*type = FILE_CURRENT;
		return 1;
	}
	if (strcmp(name, "LOCK") == 0) {
		*type = FILE_LOCK;
		return 1;
	}
	if (strcmp(name, "LOG") == 0 || strcmp(name, "LOG.old") == 0) {
		*type = FILE_INFO_LOG;
		return 1;
	}
	if (strncmp(name, "MANIFEST-", 9) == 0) {
		const char *end = parse_num(name + 9, num);
		if (end == NULL || *end != '\0')
			return 0;
		*type = FILE_MANIFEST;
		return 1;
	}
	const char *end = parse_num(name, num);
	if (end == NULL)
		return 0;
	if (strcmp(end, ".log") == 0)
		*type = FILE_LOG;
	else if (strcmp(end, ".ldb") == 0 || strcmp(end, ".sst") == 0)
		*type = FILE_TABLE;
	else if (strcmp(end, ".dbtmp") == 0)
		*type = FILE_TEMP;
	else
		return 0;
	return 1;
}
