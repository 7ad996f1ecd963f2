#include "tests/soak_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"
#include "tests/testutil.h"

#define VALUE_HEADER SOAK_VALUE_HEADER
#define VALUE_MAX (VALUE_HEADER + 7000)

void soak_op(uint64_t seed, int t, uint64_t j, struct soak_op *op)
{
	uint64_t r = soak_mix(seed ^ soak_mix(((uint64_t)t << 56) ^ j));
#define NEXT() (r = soak_mix(r))
	unsigned kind = (unsigned)(NEXT() % 100);
	op->sync = NEXT() % 16 == 0;
	op->batch = kind >= 75;
	op->n = op->batch ? 2 + (int)(NEXT() % (SOAK_MAX_SUB - 1)) : 1;
	for (int i = 0; i < op->n; i++) {
		op->sub[i].put = op->batch ? NEXT() % 4 != 0 : kind < 60;
		uint64_t x = NEXT();
		/* half the writes go to a tenth of the keys: overwrites, and
		 * deletes that find something */
		op->sub[i].key = (uint32_t)((x & 1) ? (x >> 1) % (SOAK_KEYS / 10) : (x >> 1) % SOAK_KEYS);
		uint64_t y = NEXT();
		/* a few values span WAL blocks and table blocks */
		op->sub[i].vlen = VALUE_HEADER + (uint32_t)(y % 100 == 0 ? 1000 + (y >> 8) % 6000 : (y >> 8) % 200);
	}
#undef NEXT
}

void soak_key(int t, uint32_t k, char *out)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "t%02d-%08u", t, (unsigned)k);
	memcpy(out, tmp, SOAK_KEY_LEN);
}

void soak_value(uint64_t seed, int t, uint64_t j, int sub, uint32_t vlen, char *out)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%02d:%012llu:%d:", t, (unsigned long long)j, sub);
	memcpy(out, tmp, VALUE_HEADER);
	uint64_t h = soak_mix(seed ^ ((uint64_t)t << 56) ^ (j * SOAK_MAX_SUB + (uint64_t)sub));
	for (uint32_t i = VALUE_HEADER; i < vlen; i++)
		out[i] = (char)('a' + ((h >> ((i % 7) * 8)) + i) % 26);
}

int soak_write(shale_db *db, uint64_t seed, int t, uint64_t j, shale_batch *b, const struct soak_op *op)
{
	static _Thread_local char val[VALUE_MAX];
	char key[SOAK_KEY_LEN];
	shale_writeopts *wo = NULL;
	if (op->sync) {
		wo = shale_writeopts_create();
		if (wo == NULL)
			return SHALE_ENOMEM;
		shale_writeopts_set_sync(wo, 1);
	}
	int rc = 0;
	if (!op->batch) {
		soak_key(t, op->sub[0].key, key);
		if (op->sub[0].put) {
			soak_value(seed, t, j, 0, op->sub[0].vlen, val);
			rc = shale_put(db, wo, key, SOAK_KEY_LEN, val, op->sub[0].vlen);
		} else {
			rc = shale_delete(db, wo, key, SOAK_KEY_LEN);
		}
	} else {
		shale_batch_clear(b);
		for (int i = 0; rc == 0 && i < op->n; i++) {
			soak_key(t, op->sub[i].key, key);
			if (op->sub[i].put) {
				soak_value(seed, t, j, i, op->sub[i].vlen, val);
				rc = shale_batch_put(b, key, SOAK_KEY_LEN, val, op->sub[i].vlen);
			} else {
				rc = shale_batch_delete(b, key, SOAK_KEY_LEN);
			}
		}
		if (rc == 0)
			rc = shale_write(db, wo, b);
	}
	shale_writeopts_destroy(wo);
	return rc;
}

void soak_apply(uint64_t *model, uint64_t j, const struct soak_op *op)
{
	for (int i = 0; i < op->n; i++)
		model[op->sub[i].key] = op->sub[i].put ? j * SOAK_MAX_SUB + (uint64_t)i + 1 : 0;
}

/* ---- checks ---- */

struct db_image {
	int nthreads;
	uint64_t *id; /* [t * SOAK_KEYS + k]: the value's write id, 0 = absent */
};

uint64_t soak_entry_id(uint64_t seed, int nthreads, const uint64_t *issued, const char *k, size_t kl,
                      const char *v, size_t vl, int *tp, uint32_t *kp, const char *what)
{
	static _Thread_local char want[VALUE_MAX];
	char kbuf[SOAK_KEY_LEN + 1], vbuf[VALUE_HEADER + 1];
	int t = -1, sub = -1;
	unsigned key = 0;
	unsigned long long j = 0;
	tu_assert(kl == SOAK_KEY_LEN, "%s: a key of %zu bytes that no writer wrote", what, kl);
	memcpy(kbuf, k, kl);
	kbuf[kl] = '\0';
	tu_assert(sscanf(kbuf, "t%2d-%8u", &t, &key) == 2 && t >= 0 && t < nthreads && key < SOAK_KEYS,
	          "%s: key \"%s\" that no writer wrote", what, kbuf);
	tu_assert(vl >= VALUE_HEADER, "%s: key %s holds a value of %zu bytes that no write made", what, kbuf, vl);
	memcpy(vbuf, v, VALUE_HEADER);
	vbuf[VALUE_HEADER] = '\0';
	int vt = -1;
	tu_assert(sscanf(vbuf, "%2d:%12llu:%1d:", &vt, &j, &sub) == 3 && vt == t && sub >= 0 && sub < SOAK_MAX_SUB,
	          "%s: key %s holds a value (\"%.18s\") that no write made", what, kbuf, vbuf);
	tu_assert(j < issued[t], "%s: key %s holds the value of write %llu of writer %d, which was never issued (%llu were)",
	          what, kbuf, j, t, (unsigned long long)issued[t]);
	struct soak_op op;
	soak_op(seed, t, j, &op);
	tu_assert(sub < op.n && op.sub[sub].put && op.sub[sub].key == key && op.sub[sub].vlen == vl,
	          "%s: key %s holds a value naming write %llu.%d of writer %d, which put no such value there", what,
	          kbuf, j, sub, t);
	soak_value(seed, t, j, sub, (uint32_t)vl, want);
	tu_assert(memcmp(want, v, vl) == 0, "%s: key %s: the value of write %llu.%d has wrong bytes", what, kbuf, j, sub);
	*tp = t;
	*kp = key;
	return j * SOAK_MAX_SUB + (uint64_t)sub + 1;
}

static void read_image(shale_db *db, uint64_t seed, const uint64_t *issued, struct db_image *img, uint64_t gets,
                       const char *what, struct soak_figures *fig)
{
	shale_readopts *ro = shale_readopts_create();
	ck_assert_ptr_nonnull(ro);
	shale_readopts_set_verify_checksums(ro, 1);
	shale_iter *it = shale_iter_create(db, ro);
	tu_assert(it != NULL, "%s: iterator: %s", what, shale_errmsg());
	uint64_t n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it)) {
		size_t kl, vl;
		const char *k = shale_iter_key(it, &kl);
		const char *v = shale_iter_value(it, &vl);
		int t;
		uint32_t key;
		uint64_t id = soak_entry_id(seed, img->nthreads, issued, k, kl, v, vl, &t, &key, what);
		tu_assert(img->id[(size_t)t * SOAK_KEYS + key] == 0, "%s: the scan yields key %.12s twice", what, k);
		img->id[(size_t)t * SOAK_KEYS + key] = id;
		n++;
	}
	tu_assert(shale_iter_status(it) == 0, "%s: scan: %s", what, shale_errmsg());
	/* backward: the same keys, in reverse */
	uint64_t back = 0;
	for (shale_iter_seek_last(it); shale_iter_valid(it); shale_iter_prev(it)) {
		size_t kl, vl;
		const char *k = shale_iter_key(it, &kl);
		const char *v = shale_iter_value(it, &vl);
		int t;
		uint32_t key;
		uint64_t id = soak_entry_id(seed, img->nthreads, issued, k, kl, v, vl, &t, &key, what);
		tu_assert(img->id[(size_t)t * SOAK_KEYS + key] == id, "%s: the backward scan differs at key %.12s", what, k);
		back++;
	}
	tu_assert(shale_iter_status(it) == 0, "%s: backward scan: %s", what, shale_errmsg());
	tu_assert(back == n, "%s: the forward scan yields %llu entries, the backward one %llu", what,
	          (unsigned long long)n, (unsigned long long)back);
	shale_iter_destroy(it);
	fig->entries_scanned += n + back;

	/* keys by get: all of them, or every stride-th from a random one */
	uint64_t keys = (uint64_t)img->nthreads * SOAK_KEYS;
	uint32_t stride = gets >= keys ? 1 : (uint32_t)((keys + gets - 1) / gets);
	for (int t = 0; t < img->nthreads; t++)
		for (uint32_t key = (uint32_t)(soak_mix(seed ^ fig->gets) % stride); key < SOAK_KEYS; key += stride) {
			char k[SOAK_KEY_LEN];
			soak_key(t, key, k);
			void *v;
			size_t vl;
			int rc = shale_get(db, ro, k, SOAK_KEY_LEN, &v, &vl);
			uint64_t want = img->id[(size_t)t * SOAK_KEYS + key];
			if (want == 0) {
				tu_assert(rc == SHALE_NOTFOUND, "%s: get %.12s: %d (%s), the scan did not see it", what, k, rc,
				          rc == 0 ? "found" : shale_errmsg());
			} else {
				tu_assert(rc == 0, "%s: get %.12s: %d (%s), the scan saw it", what, k, rc, shale_errmsg());
				int gt;
				uint32_t gk;
				uint64_t id = soak_entry_id(seed, img->nthreads, issued, k, SOAK_KEY_LEN, v, vl, &gt, &gk, what);
				tu_assert(id == want, "%s: get %.12s gives another value than the scan", what, k);
				shale_free(v);
			}
			fig->gets++;
		}
	shale_readopts_destroy(ro);
}

static void id_name(uint64_t id, char *out, size_t cap)
{
	if (id == 0)
		snprintf(out, cap, "nothing");
	else
		snprintf(out, cap, "write %llu.%llu", (unsigned long long)((id - 1) / SOAK_MAX_SUB),
		         (unsigned long long)((id - 1) % SOAK_MAX_SUB));
}

void soak_check_state(shale_db *db, uint64_t seed, int nthreads, struct soak_writer_state *ws,
                      const uint64_t *must, const uint64_t *issued, uint64_t gets, const char *what,
                      struct soak_figures *fig)
{
	struct db_image img;
	img.nthreads = nthreads;
	img.id = calloc((size_t)nthreads * SOAK_KEYS, sizeof(uint64_t));
	ck_assert_ptr_nonnull(img.id);
	read_image(db, seed, issued, &img, gets ? gets : 1, what, fig);

	static _Thread_local uint64_t m[SOAK_KEYS];
	for (int t = 0; t < nthreads; t++) {
		const uint64_t *have = img.id + (size_t)t * SOAK_KEYS;
		uint64_t lo = must[t] > ws[t].base ? must[t] : ws[t].base;
		tu_assert(issued[t] >= lo, "%s: writer %d: %llu writes issued, but %llu must be there", what, t,
		          (unsigned long long)issued[t], (unsigned long long)lo);
		memcpy(m, ws[t].model, sizeof(m));
		uint64_t diff = 0;
		for (uint32_t k = 0; k < SOAK_KEYS; k++)
			diff += m[k] != have[k];
		uint64_t best = UINT64_MAX, best_p = 0, found = UINT64_MAX;
		for (uint64_t p = ws[t].base;; p++) {
			if (p >= lo) {
				if (diff == 0)
					found = p; /* the largest match wins */
				if (diff < best) {
					best = diff;
					best_p = p;
				}
			}
			if (p == issued[t])
				break;
			struct soak_op op;
			soak_op(seed, t, p, &op);
			for (int i = 0; i < op.n; i++) {
				uint32_t k = op.sub[i].key;
				diff -= m[k] != have[k];
				m[k] = op.sub[i].put ? p * SOAK_MAX_SUB + (uint64_t)i + 1 : 0;
				diff += m[k] != have[k];
			}
		}
		fig->writes_replayed += issued[t] - ws[t].base;
		if (found == UINT64_MAX) {
			/* describe the closest prefix */
			memcpy(m, ws[t].model, sizeof(m));
			for (uint64_t p = ws[t].base; p < best_p; p++) {
				struct soak_op op;
				soak_op(seed, t, p, &op);
				soak_apply(m, p, &op);
			}
			uint32_t k = 0;
			while (k < SOAK_KEYS && m[k] == have[k])
				k++;
			char a[64] = "", b[64] = "";
			if (k < SOAK_KEYS) {
				id_name(have[k], a, sizeof(a));
				id_name(m[k], b, sizeof(b));
			}
			ck_abort_msg("%s: writer %d: the database holds no prefix of its writes that has the first %llu "
			             "(those it must keep) of the %llu issued; closest: the first %llu writes, %llu keys "
			             "differ, e.g. key %u holds %s instead of %s",
			             what, t, (unsigned long long)lo, (unsigned long long)issued[t], (unsigned long long)best_p,
			             (unsigned long long)best, (unsigned)k, a, b);
		}
		for (uint64_t p = ws[t].base; p < found; p++) {
			struct soak_op op;
			soak_op(seed, t, p, &op);
			soak_apply(ws[t].model, p, &op);
		}
		ws[t].base = found;
	}
	free(img.id);
}

int soak_check_no_orphans(shale_db *db)
{
	struct u64map live;
	u64map_init(&live);
	char **names = NULL;
	size_t n = 0;
	int tables = 0;
	char orphan[256] = "";
	mutex_lock(&db->vs.mu);
	while (db->deleting)
		cond_wait(&db->bg_cv, &db->vs.mu);
	unsigned long long next = db->vs.next_file_number, manifest = db->vs.manifest_file_number;
	int rc = vset_add_live_files(&db->vs, &live);
	for (size_t i = 0; rc == 0 && i < db->pending_outputs.cap; i++)
		if (u64map_slot_live(&db->pending_outputs.slots[i]))
			rc = u64map_put(&live, db->pending_outputs.slots[i].key, db);
	/* listed under the mutex: no table is numbered, installed or deleted meanwhile */
	if (rc == 0)
		rc = env_list_dir(db->env, db->dbname, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type) || type != FILE_TABLE)
			continue;
		tables++;
		if (!u64map_has(&live, num) && orphan[0] == '\0')
			snprintf(orphan, sizeof(orphan), "%s", names[i]);
	}
	mutex_unlock(&db->vs.mu);
	env_free_names(names, n);
	u64map_free(&live);
	ck_assert_msg(rc == 0, "listing the live files: %s", shale_errmsg());
	ck_assert_msg(orphan[0] == '\0',
	              "%s is left after the open's cleanup, and no live version names it (next file number %llu, "
	              "MANIFEST-%06llu)", orphan, next, manifest);
	return tables;
}
