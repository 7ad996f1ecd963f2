/*
 * Writes a table (.ldb) in LevelDB's format (doc/format.md, "Tables"):
 * data blocks cut at block_size, a filter block, the metaindex, the index
 * block with short separators, and the footer.
 *
 * Not thread-safe. On any error the builder is done: the caller destroys it
 * and deletes the file.
 */
#ifndef SHALE_SSTABLE_TABLE_BUILDER_H
#define SHALE_SSTABLE_TABLE_BUILDER_H

#include <stdint.h>
#include "lib/util/env.h"
#include "sstable/table_options.h"

struct table_builder;

/* opt is copied (its pointers are borrowed); file is borrowed (the caller
 * syncs and closes it after finish); path names the file in messages. */
int table_builder_create(const struct table_options *opt, struct wfile *file, const char *path,
                         struct table_builder **out);
/* Frees the builder (abandoning the table if finish was not called). NULL ok. */
void table_builder_destroy(struct table_builder *b);
/* REQUIRES: key sorts after every key added before (by opt->cmp). */
int table_builder_add(struct table_builder *b, struct slice key, struct slice value);
/* Writes what is buffered and the filter, metaindex, index and footer. Does
 * not sync or close the file. */
int table_builder_finish(struct table_builder *b);
uint64_t table_builder_num_entries(const struct table_builder *b);
/* Bytes written to the file so far; after finish, the table's size. */
uint64_t table_builder_file_size(const struct table_builder *b);

#endif
