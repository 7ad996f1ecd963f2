#include "wal/wal_writer.h"

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "wal/wal_format.h"

void wal_writer_init(struct wal_writer *w, struct wfile *file, uint64_t file_length)
{
	w->file = file;
	w->block_offset = (size_t)(file_length % WAL_BLOCK_SIZE);
	for (int t = 0; t <= WAL_MAX_TYPE; t++) {
		char c = (char)t;
		w->type_crc[t] = crc32c_value(&c, 1);
	}
}

static int emit_fragment(struct wal_writer *w, enum wal_record_type type, const char *p, size_t n)
{
	char header[WAL_HEADER_SIZE];
	uint32_t crc = crc32c_extend(w->type_crc[type], p, n);
	encode_fixed32(header, crc32c_mask(crc));
	encode_fixed16(header + 4, (uint16_t)n);
	header[6] = (char)type;
	int rc = wfile_append(w->file, header, WAL_HEADER_SIZE);
	if (rc == 0 && n > 0)
		rc = wfile_append(w->file, p, n);
	w->block_offset += WAL_HEADER_SIZE + n;
	return rc;
}

int wal_writer_add(struct wal_writer *w, const char *data, size_t n)
{
	static const char zeros[WAL_HEADER_SIZE - 1];
	int first = 1;
	int rc = 0;

	/* Loops at least once, so an empty record is written as one FULL
	 * fragment with no payload. */
	do {
		size_t left = WAL_BLOCK_SIZE - w->block_offset;
		if (left < WAL_HEADER_SIZE) {
			/* Too little room for a header: zero-fill and move on. */
			if (left > 0) {
				rc = wfile_append(w->file, zeros, left);
				if (rc)
					return rc;
			}
			w->block_offset = 0;
			left = WAL_BLOCK_SIZE;
		}
		size_t avail = left - WAL_HEADER_SIZE;
		size_t frag = n < avail ? n : avail;
		int last = frag == n;
		enum wal_record_type type;
		if (first && last)
			type = WAL_FULL;
		else if (first)
			type = WAL_FIRST;
		else if (last)
			type = WAL_LAST;
		else
			type = WAL_MIDDLE;
		rc = emit_fragment(w, type, data, frag);
		if (rc)
			return rc;
		data += frag;
		n -= frag;
		first = 0;
	} while (n > 0);
	return 0;
}
