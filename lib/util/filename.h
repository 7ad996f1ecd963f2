/*
 * Names of the files in a database directory (doc/format.md, "File names").
 * Callers check that the database path is shorter than DBPATH_MAX (shale_open
 * does), so every name fits in FNAME_MAX bytes.
 */
#ifndef SHALE_UTIL_FILENAME_H
#define SHALE_UTIL_FILENAME_H

#include <stdint.h>

#define DBPATH_MAX 4000
#define FNAME_MAX 4096

enum file_type {
	FILE_LOG,       /* NNNNNN.log */
	FILE_TABLE,     /* NNNNNN.ldb or NNNNNN.sst */
	FILE_MANIFEST,  /* MANIFEST-NNNNNN */
	FILE_CURRENT,
	FILE_LOCK,
	FILE_TEMP,      /* NNNNNN.dbtmp */
	FILE_INFO_LOG,  /* LOG, LOG.old */
};

void fname_log(char *out, const char *db, uint64_t num);
void fname_table(char *out, const char *db, uint64_t num);     /* .ldb */
void fname_sst(char *out, const char *db, uint64_t num);       /* legacy .sst */
void fname_manifest(char *out, const char *db, uint64_t num);
void fname_current(char *out, const char *db);
void fname_lock(char *out, const char *db);
void fname_temp(char *out, const char *db, uint64_t num);
void fname_info_log(char *out, const char *db);
void fname_old_info_log(char *out, const char *db);

/* Recognises a file name (no directory part). Returns 1 and fills *num (0
 * where the name has none) and *type, or 0 for a name that is not ours. */
int fname_parse(const char *name, uint64_t *num, enum file_type *type);

#endif
