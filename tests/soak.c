/*
 * Soaks: the crash promises of API.md (doc/reliability.md) checked at random
 * points of long workloads.
 *
 *  power  One writer issues puts, deletes and batches (one in 16 synced) to
 *         a database whose options are tiny, so that flushes, compactions
 *         (several at once), MANIFEST rotation and CURRENT replacement never
 *         stop, over the fault env (lib/testing/env_fault.h). At a random
 *         file operation the power goes (fault_env_freeze: the process goes
 *         on as a ghost whose changes never reach the disk), and
 *         fault_env_crash applies the crash model: of the directory changes
 *         not yet synced a random prefix per directory survives
 *         (FAULT_DIR_PREFIX) or any subset (FAULT_DIR_SUBSET); unsynced file
 *         data is lost or torn at a random length. One cut in ten falls in
 *         the middle of the next open's recovery instead. One round in four
 *         the disk also fails before the cut (EIO, ENOSPC or a short write
 *         on a random kind of operation and file): only those rounds may
 *         see a write fail, with that code; a write that failed with ENOSPC
 *         is retried, after any other failure the power goes at once or
 *         (half the time) the database is closed and reopened, and must
 *         hold every write acknowledged, synced or not.
 *  kill   A child process writes from several threads and is killed with
 *         SIGKILL at a random moment (one round in ten early enough to hit
 *         its open); it reports each write it issued, and each it had
 *         acknowledged, through shared memory.
 *
 * After each cut the database is reopened (paranoid_checks on and off in
 * turn) and checked (tests/soak_workload.h): the open succeeds (so no table
 * the MANIFEST names is missing); after its cleanup every table in the
 * directory is named by a live version or being written; each writer's keys
 * hold exactly the state after a prefix of its writes — for one writer,
 * that is a prefix in sequence order of all the writes issued — and that
 * prefix holds every write acknowledged with sync before the cut, and after
 * a SIGKILL every write acknowledged at all (each WAL record reaches the OS
 * before its write returns). Values are checked byte for byte, by scans in
 * both directions and by a get of every key, with verify_checksums on; the
 * writers also read their own keys back while they write.
 *
 * Without arguments: the short soaks, as a Check suite (make check). With
 * flags (--help): the long ones (scripts/soak), which print their figures.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "tests/soak_workload.h"
#include "tests/testutil.h"

/* ---- parameters ---- */

#if defined(__SANITIZE_THREAD__)
#define SOAK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SOAK_TSAN 1
#endif
#endif

static struct {
	int long_mode;
	double power_seconds; /* per model; 0: run power_cuts */
	uint64_t power_cuts;  /* per model */
	int power_models;     /* bit 0: prefix, bit 1: subset */
	double kill_seconds;  /* 0: run kill_rounds */
	uint64_t kill_rounds;
	int kill_threads;
	uint64_t seed;
	const char *dir;      /* where the databases go */
} P = {
	0, 0, 100, 3, 0, 25, 4, 0x5eed5eedull, NULL,
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh directory: --dir or $SHALE_SOAK_DIR, else (power) /dev/shm when
 * there is one — the fault env decides what is durable, so real syncs are
 * wasted time — else $TMPDIR or /tmp. */
static char *soak_mkdtemp(const char *tag, int prefer_shm)
{
	const char *base = P.dir ? P.dir : getenv("SHALE_SOAK_DIR");
	struct stat st;
	if (base == NULL && prefer_shm && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	if (base == NULL)
		base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	char path[4096];
	snprintf(path, sizeof(path), "%s/shale-soak-%s-XXXXXX", base, tag);
	char *p = mkdtemp(path);
	ck_assert_msg(p != NULL, "mkdtemp in %s: %s", base, strerror(errno));
	return strdup(p);
}

/* Tiny options: a flush every ~200 writes, 32 KiB tables, four levels in
 * use, a new MANIFEST every ten edits or so, a table cache of 50 tables. */
static shale_options *soak_options(struct env *e)
{
	shale_options *o = shale_options_create();
	ck_assert_ptr_nonnull(o);
	shale_options_set_create_if_missing(o, 1);
	shale_options_set_write_buffer_size(o, 32 * 1024);
	shale_options_set_max_file_size(o, 32 * 1024);
	shale_options_set_max_bytes_for_level_base(o, 32 * 1024);
	shale_options_set_level_multiplier(o, 4);
	shale_options_set_block_size(o, 1024);
	shale_options_set_max_open_files(o, 60);
	shale_options_set_background_threads(o, 2);
	options_set_max_manifest_size(o, 1500);
	options_set_bg_retry_micros(o, 1000);
	options_set_use_mmap_reads(o, 0); /* every block read through the env */
	if (e)
		options_set_env(o, e);
	return o;
}

/* ---- what the soaks saw (their figures) ---- */

struct power_figures {
	uint64_t cuts, cuts_in_open, cuts_compacting;
	uint64_t writes, acked, acked_sync;
	uint64_t flushes, compactions, mid_manifests;
	uint64_t faulty_rounds, write_errors, write_retries, cuts_after_failure, reopens_after_failure;
	int max_at_once;
	uint64_t at[FAULT_OP_COUNT][6]; /* cut points: operation x file kind */
	struct soak_figures check;
};

static const char *const op_names[FAULT_OP_COUNT] = {
	"open-read", "read", "open-write", "append", "flush", "sync", "dir-sync",
	"rename", "remove", "link", "mkdir", "list", "lock",
};
static const char *const kind_names[6] = { "WAL", "table", "MANIFEST", "CURRENT", "dir", "other" };

static int file_kind(unsigned op, const char *path)
{
	if (op == FAULT_SYNC_DIR || op == FAULT_LIST)
		return 4;
	if (strstr(path, ".log"))
		return 0;
	if (strstr(path, ".ldb"))
		return 1;
	if (strstr(path, "MANIFEST"))
		return 2;
	if (strstr(path, ".dbtmp") || strstr(path, "CURRENT"))
		return 3;
	return 5;
}

/* Compactions that ran at once at most, and running now (from shale.stats). */
static void compaction_counts(shale_db *db, int *running, int *at_most)
{
	*running = *at_most = 0;
	char *s = shale_property(db, "shale.stats");
	const char *p = s ? strstr(s, "Compactions running: ") : NULL;
	if (p)
		sscanf(p, "Compactions running: %d (at most %d at once)", running, at_most);
	shale_free(s);
}

/* ---- power loss ---- */

/* The power goes at operation `at`, or (kinds set) at the countdown-th
 * operation of those kinds. */
struct plug {
	atomic_uint_fast64_t at;
	atomic_uint kinds;
	atomic_int countdown;
	atomic_int armed;
	unsigned op;             /* the operation the power went at */
	char path[64];
};

static int plug_hook(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	struct plug *p = arg;
	if (!atomic_load(&p->armed))
		return FAULT_NONE;
	unsigned kinds = atomic_load(&p->kinds);
	int due = kinds ? (op & kinds) && atomic_fetch_sub(&p->countdown, 1) == 1 : seq >= atomic_load(&p->at);
	if (due && atomic_exchange(&p->armed, 0)) {
		/* written before the freeze; read by whoever sees it frozen */
		p->op = op;
		const char *slash = strrchr(path, '/');
		snprintf(p->path, sizeof(p->path), "%s", slash ? slash + 1 : path);
		fault_env_freeze(e);
	}
	return FAULT_NONE;
}

static void arm(struct plug *p, struct env *e, uint64_t within)
{
	atomic_store(&p->kinds, 0u);
	atomic_store(&p->at, fault_env_op_count(e) + 1 + within);
	atomic_store(&p->armed, 1);
}

/* Most operations are WAL and table writes: half the cuts go instead to
 * the n-th operation of a rarer kind, where durability is decided. */
static const unsigned rare_kinds[] = { FAULT_SYNC, FAULT_SYNC_DIR, FAULT_RENAME, FAULT_REMOVE, FAULT_OPEN_WRITE };

static void arm_random(struct plug *p, struct env *e, uint64_t r)
{
	if (r % 2 == 0) {
		arm(p, e, (r >> 8) % 8000);
		return;
	}
	atomic_store(&p->kinds, rare_kinds[(r >> 8) % 5]);
	atomic_store(&p->countdown, 1 + (int)((r >> 16) % 40));
	atomic_store(&p->armed, 1);
}

/* The writer reads its own keys back while it writes: a get, and now and
 * then a short scan, against the exact live state (one writer: every
 * acknowledged write is visible). A read that raced with the cut proves
 * nothing and is skipped. */
static void live_reads(shale_db *db, struct env *e, uint64_t seed, const uint64_t *live, uint64_t issued,
                       uint64_t r, int scan, int faulty, const char *what)
{
	char k[SOAK_KEY_LEN];
	uint32_t key = (uint32_t)(r % SOAK_KEYS);
	soak_key(0, key, k);
	void *v = NULL;
	size_t vl = 0;
	int rc = shale_get(db, NULL, k, SOAK_KEY_LEN, &v, &vl);
	if (fault_env_frozen(e) || (faulty && rc != 0 && rc != SHALE_NOTFOUND)) {
		/* raced with the cut, or met the injected fault: an error is allowed, a wrong answer never */
		shale_free(v);
		return;
	}
	if (live[key] == 0) {
		tu_assert(rc == SHALE_NOTFOUND, "%s: live get %.12s: %d (%s), expected nothing", what, k, rc, shale_errmsg());
	} else {
		tu_assert(rc == 0, "%s: live get %.12s: %d (%s)", what, k, rc, shale_errmsg());
		int t;
		uint32_t gk;
		uint64_t id = soak_entry_id(seed, 1, &issued, k, SOAK_KEY_LEN, v, vl, &t, &gk, what);
		tu_assert(id == live[key], "%s: live get %.12s gives an older or other value", what, k);
		shale_free(v);
	}
	if (!scan)
		return;
	shale_iter *it = shale_iter_create(db, NULL);
	tu_assert(it != NULL, "%s: iterator: %s", what, shale_errmsg());
	shale_iter_seek(it, k, SOAK_KEY_LEN);
	uint32_t want = key;
	int ok = 1;
	char why[160] = "";
	for (int n = 0; n < 16 && ok; n++, shale_iter_next(it)) {
		while (want < SOAK_KEYS && live[want] == 0)
			want++;
		if (!shale_iter_valid(it)) {
			if (want < SOAK_KEYS || shale_iter_status(it) != 0) {
				ok = 0;
				snprintf(why, sizeof(why), "the scan ends early (status %d: %s)", shale_iter_status(it),
				         shale_errmsg());
			}
			break;
		}
		size_t kl, gvl;
		const char *gk = shale_iter_key(it, &kl);
		const char *gv = shale_iter_value(it, &gvl);
		char wk[SOAK_KEY_LEN];
		if (want == SOAK_KEYS) {
			ok = 0;
			snprintf(why, sizeof(why), "the scan yields %.12s past the last live key", gk);
			break;
		}
		soak_key(0, want, wk);
		if (kl != SOAK_KEY_LEN || memcmp(gk, wk, SOAK_KEY_LEN) != 0) {
			ok = 0;
			snprintf(why, sizeof(why), "the scan yields %.*s where %.12s was due", (int)kl, gk, wk);
			break;
		}
		if (!fault_env_frozen(e)) {
			int t;
			uint32_t kk;
			if (soak_entry_id(seed, 1, &issued, gk, kl, gv, gvl, &t, &kk, what) != live[want]) {
				ok = 0;
				snprintf(why, sizeof(why), "the scan gives %.12s an older or other value", wk);
			}
		}
		want++;
	}
	int failed = shale_iter_status(it) != 0;
	shale_iter_destroy(it);
	tu_assert(ok || fault_env_frozen(e) || (faulty && failed), "%s: live scan from %.12s: %s", what, k, why);
}

/* One round in four the disk also fails before the power goes: a fault
 * (EIO, ENOSPC or a short write) on a random kind of operation and file,
 * after a random number of them went through. */
static const unsigned fault_ops[] = { FAULT_APPEND, FAULT_FLUSH, FAULT_SYNC, FAULT_SYNC_DIR, FAULT_RENAME,
                                      FAULT_OPEN_WRITE, FAULT_READ, FAULT_OPEN_READ, FAULT_REMOVE };
static const char *const fault_paths[] = { ".log", ".ldb", "MANIFEST", ".dbtmp", NULL };

static void add_random_fault(struct env *e, uint64_t r, char *desc, size_t cap)
{
	struct fault_rule fr;
	memset(&fr, 0, sizeof(fr));
	fr.ops = fault_ops[r % 9];
	fr.path_contains = fr.ops == FAULT_SYNC_DIR ? NULL : fault_paths[(r >> 8) % 5];
	fr.skip = (int)((r >> 16) % 40);
	fr.count = 1 + (int)((r >> 24) % 3);
	unsigned k = (unsigned)((r >> 32) % 3);
	fr.kind = k == 0 ? FAULT_EIO : k == 1 ? FAULT_ENOSPC : fr.ops == FAULT_APPEND ? FAULT_SHORT_WRITE : FAULT_EIO;
	ck_assert_ok(fault_env_add_rule(e, &fr));
	snprintf(desc, cap, "%s on %s of %s after %d", fr.kind == FAULT_EIO ? "EIO" : fr.kind == FAULT_ENOSPC ? "ENOSPC" : "short write",
	         op_names[__builtin_ctz(fr.ops)], fr.path_contains ? fr.path_contains : "any file", fr.skip);
}

static void power_soak(int model)
{
	const int dir_model = model == 0 ? FAULT_DIR_PREFIX : FAULT_DIR_SUBSET;
	const char *model_name = model == 0 ? "prefix" : "subset";
	const uint64_t seed = P.seed ^ ((uint64_t)model << 60);
	char *dir = soak_mkdtemp(model_name, 1);
	char path[4200];
	snprintf(path, sizeof(path), "%s/db", dir);
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	struct plug plug;
	memset(&plug, 0, sizeof(plug));
	fault_env_set_hook(e, plug_hook, &plug);
	shale_options *o = soak_options(e);
	struct soak_writer_state *ws = calloc(1, sizeof(*ws));
	uint64_t *live = calloc(SOAK_KEYS, sizeof(uint64_t));
	shale_batch *b = shale_batch_create();
	ck_assert(ws && live && b);
	struct power_figures fig;
	memset(&fig, 0, sizeof(fig));
	uint64_t must = 0, must_synced = 0, issued = 0;
	double start = now_seconds();
	char what[512], last_fault[256] = "";

	for (uint64_t round = 0;; round++) {
		uint64_t r = soak_mix(seed ^ (round * 0x100000001b3ull));
		int data_model = (r & 1) ? FAULT_DATA_PREFIX : FAULT_DATA_LOST;
		const char *data_name = data_model == FAULT_DATA_PREFIX ? "torn" : "lost";
		fault_env_set_crash_model(e, dir_model, data_model, r);
		shale_options_set_paranoid_checks(o, (int)(round & 1));

		if (round > 0 && (r >> 8) % 10 == 0) {
			/* the power goes again, during the recovery of the next open:
			 * what the last round acknowledged without sync may go */
			must = must_synced;
			arm(&plug, e, (r >> 16) % 400);
			shale_db *ghost = NULL;
			if (shale_open(path, o, &ghost) == 0)
				shale_close(ghost);
			atomic_store(&plug.armed, 0);
			if (fault_env_frozen(e))
				fig.cuts_in_open++;
			else
				fault_env_freeze(e); /* the open was done: cut right after it */
			ck_assert_ok(fault_env_crash(e));
			fig.cuts++;
		}

		snprintf(what, sizeof(what), "%s model, cut %llu (%s data, seed %#llx, paranoid %d%s%s)", model_name,
		         (unsigned long long)fig.cuts, data_name, (unsigned long long)P.seed, (int)(round & 1),
		         last_fault[0] ? ", after " : "", last_fault);
		last_fault[0] = '\0';
		shale_db *db = NULL;
		int rc = shale_open(path, o, &db);
		tu_assert(rc == 0, "%s: reopen failed: %d %s", what, rc, shale_errmsg());
		soak_check_no_orphans(db);
		soak_check_state(db, seed, 1, ws, &must, &issued, SOAK_KEYS, what, &fig.check);

		int done = P.power_seconds > 0 ? now_seconds() - start >= P.power_seconds : fig.cuts >= P.power_cuts;
		if (done) {
			ck_assert_ok(shale_close(db));
			break;
		}

		/* write until the power goes (and, one round in four, the disk fails) */
		memcpy(live, ws->model, SOAK_KEYS * sizeof(uint64_t));
		uint64_t j = ws->base;
		must = must_synced = j;
		uint64_t manifests = fault_env_count(e, FAULT_OPEN_WRITE, "MANIFEST");
		int faulty = (r >> 40) % 4 == 0;
		char fault[128] = "";
		if (faulty) {
			add_random_fault(e, soak_mix(r ^ 0xfa17), fault, sizeof(fault));
			snprintf(last_fault, sizeof(last_fault), "%s", fault);
			snprintf(what + strlen(what), sizeof(what) - strlen(what), ", %s", fault);
			fig.faulty_rounds++;
		}
		arm_random(&plug, e, r >> 24);
		int retries = 0, cut_after_failure = 0, reopen_after_failure = 0;
		for (;;) {
			struct soak_op op;
			soak_op(seed, 0, j, &op);
			rc = soak_write(db, seed, 0, j, b, &op);
			issued = j + 1;
			fig.writes++;
			if (fault_env_frozen(e))
				break;
			if (rc != 0) {
				/* Only the injected fault may fail a write, with its own code.
				 * The write is not acknowledged (it may still be on disk, and
				 * is the last one issued): after ENOSPC the same write is
				 * retried — applying it again changes nothing — until the
				 * database's own retry clears the error; otherwise the power
				 * goes now. */
				tu_assert(faulty && (rc == SHALE_EIO || rc == SHALE_ENOSPC), "%s: write %llu: %d %s", what,
				          (unsigned long long)j, rc, shale_errmsg());
				fig.write_errors++;
				if (rc == SHALE_ENOSPC && retries++ < 500) {
					fig.write_retries++;
					usleep(1000);
					continue;
				}
				atomic_store(&plug.armed, 0);
				if ((r >> 48) % 2 == 0) {
					/* no power cut: a plain reopen, which must find
					 * every acknowledged write */
					reopen_after_failure = 1;
					break;
				}
				cut_after_failure = !fault_env_frozen(e);
				fault_env_freeze(e);
				break;
			}
			retries = 0;
			soak_apply(live, j, &op);
			fig.acked++;
			if (op.sync) {
				must = must_synced = j + 1; /* acknowledged with sync before the power went */
				fig.acked_sync++;
			}
			j++;
			uint64_t rr = soak_mix(r ^ j);
			if (j % 16 == 0)
				live_reads(db, e, seed, live, issued, rr, j % 256 == 0, faulty, what);
			tu_assert(j - ws->base < 2000000, "%s: no power cut after 2 million writes", what);
		}
		if (reopen_after_failure) {
			snprintf(last_fault + strlen(last_fault), sizeof(last_fault) - strlen(last_fault),
			         " and write %llu failing: a plain reopen", (unsigned long long)j);
			shale_close(db);
			fault_env_clear_rules(e);
			must = j; /* every write acknowledged, synced or not (until a power cut) */
			fig.reopens_after_failure++;
			continue;
		}
		int running, at_most;
		compaction_counts(db, &running, &at_most);
		fig.cuts_compacting += running > 0;
		if (at_most > fig.max_at_once)
			fig.max_at_once = at_most;
		mutex_lock(&db->vs.mu);
		fig.flushes += db->flushes;
		for (int level = 1; level < NUM_LEVELS; level++)
			fig.compactions += db->stats[level].count;
		mutex_unlock(&db->vs.mu);
		fig.mid_manifests += fault_env_count(e, FAULT_OPEN_WRITE, "MANIFEST") - manifests;
		if (cut_after_failure)
			fig.cuts_after_failure++;
		else
			fig.at[__builtin_ctz(plug.op)][file_kind(plug.op, plug.path)]++;
		shale_close(db); /* the ghost's close: nothing it does reaches the disk */
		ck_assert_ok(fault_env_crash(e));
		fault_env_clear_rules(e); /* the disk is well again */
		fig.cuts++;
	}
	double secs = now_seconds() - start;

	printf("power-loss soak, %s model (directory changes: %s; unsynced data lost or torn), seed %#llx:\n"
	       "  %llu power cuts survived (%llu in the middle of an open's recovery, %llu with a compaction "
	       "running) in %.1f s\n"
	       "  writes issued %llu, acknowledged %llu (%llu with sync); checked after the cuts: %llu entries "
	       "scanned, %llu gets, %llu writes replayed against the model\n"
	       "  during the workload: %llu flushes, %llu compactions (at most %d at once), %llu MANIFESTs started "
	       "mid-workload, %llu CURRENT replacements, %llu tables written\n"
	       "  a failing disk before the cut in %llu rounds: %llu writes failed (%llu retried after ENOSPC); then "
	       "%llu cuts at once, %llu plain reopens finding every acknowledged write\n"
	       "  where the power went:",
	       model_name, model == 0 ? "a random prefix per directory" : "any subset", (unsigned long long)P.seed,
	       (unsigned long long)fig.cuts, (unsigned long long)fig.cuts_in_open,
	       (unsigned long long)fig.cuts_compacting, secs, (unsigned long long)fig.writes,
	       (unsigned long long)fig.acked, (unsigned long long)fig.acked_sync,
	       (unsigned long long)fig.check.entries_scanned, (unsigned long long)fig.check.gets,
	       (unsigned long long)fig.check.writes_replayed, (unsigned long long)fig.flushes,
	       (unsigned long long)fig.compactions, fig.max_at_once, (unsigned long long)fig.mid_manifests,
	       (unsigned long long)fault_env_count(e, FAULT_RENAME, ".dbtmp"),
	       (unsigned long long)fault_env_count(e, FAULT_OPEN_WRITE, ".ldb"), (unsigned long long)fig.faulty_rounds,
	       (unsigned long long)fig.write_errors, (unsigned long long)fig.write_retries,
	       (unsigned long long)fig.cuts_after_failure, (unsigned long long)fig.reopens_after_failure);
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		for (int k = 0; k < 6; k++)
			if (fig.at[op][k])
				printf(" %s %s %llu;", op_names[op], kind_names[k], (unsigned long long)fig.at[op][k]);
	printf("\n");
	fflush(stdout);
	/* the workload did what it is for */
	ck_assert_uint_gt(fig.flushes, 0);
	ck_assert_uint_gt(fig.compactions, 0);
	ck_assert_uint_gt(fig.mid_manifests, 0);

	shale_batch_destroy(b);
	free(live);
	free(ws);
	shale_options_destroy(o);
	env_destroy(e);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(power_cuts_at_random_points_keep_a_prefix_with_every_synced_write)
{
	power_soak(_i);
}
END_TEST

/* ---- SIGKILL ---- */

struct kill_shared {
	atomic_int opened;
	uint64_t start[SOAK_MAX_THREADS];
	atomic_uint_fast64_t issued[SOAK_MAX_THREADS];
	atomic_uint_fast64_t acked[SOAK_MAX_THREADS];
};

struct kill_writer {
	shale_db *db;
	struct kill_shared *sh;
	int t;
	uint64_t seed;
	uint64_t *live; /* this writer's keys, as acknowledged */
};

static void child_fail(const char *what, int t, uint64_t j, int rc)
{
	fprintf(stderr, "soak child: writer %d, write %llu: %s: %d %s\n", t, (unsigned long long)j, what, rc,
	        shale_errmsg());
	_exit(4);
}

static void *kill_writer_main(void *arg)
{
	struct kill_writer *w = arg;
	shale_batch *b = shale_batch_create();
	if (b == NULL)
		child_fail("batch", w->t, 0, SHALE_ENOMEM);
	for (uint64_t j = w->sh->start[w->t];; j++) {
		struct soak_op op;
		soak_op(w->seed, w->t, j, &op);
		atomic_store(&w->sh->issued[w->t], j + 1);
		int rc = soak_write(w->db, w->seed, w->t, j, b, &op);
		if (rc)
			child_fail("write", w->t, j, rc);
		soak_apply(w->live, j, &op);
		atomic_store(&w->sh->acked[w->t], j + 1);
		if (j % 8 == 0) {
			/* read one of its own keys back while the others write */
			uint32_t key = (uint32_t)(soak_mix(w->seed ^ j) % SOAK_KEYS);
			char k[SOAK_KEY_LEN];
			soak_key(w->t, key, k);
			void *v = NULL;
			size_t vl = 0;
			rc = shale_get(w->db, NULL, k, SOAK_KEY_LEN, &v, &vl);
			uint64_t id = 0;
			if (rc == 0 && vl >= SOAK_VALUE_HEADER) {
				char hdr[SOAK_VALUE_HEADER + 1];
				memcpy(hdr, v, SOAK_VALUE_HEADER);
				hdr[SOAK_VALUE_HEADER] = '\0';
				int t = -1, sub = -1;
				unsigned long long jj = 0;
				if (sscanf(hdr, "%2d:%12llu:%1d:", &t, &jj, &sub) == 3 && t == w->t)
					id = jj * SOAK_MAX_SUB + (uint64_t)sub + 1;
			}
			shale_free(v);
			if ((rc != 0 && rc != SHALE_NOTFOUND) || (rc == SHALE_NOTFOUND ? 0 : id) != w->live[key])
				child_fail("reading its own key back", w->t, j, rc);
		}
	}
	return NULL;
}

/* wal_flush_delay: 0 (the default) hands every write to the OS before it
 * is acknowledged; above 0 unsynced writes may wait that long in the
 * process, so a kill may lose them (a suffix). mapped: the default mapped
 * reads and WAL (a kill can cut a record short in the page cache), or pread
 * and write(2) */
static void kill_child(const char *path, struct kill_shared *sh, int nthreads, uint64_t seed,
                       struct soak_writer_state *ws, uint64_t wal_flush_delay, int mapped)
{
	shale_options *o = soak_options(NULL);
	shale_options_set_wal_flush_delay(o, wal_flush_delay);
	options_set_use_mmap_reads(o, mapped);
	shale_db *db = NULL;
	int rc = shale_open(path, o, &db);
	if (rc) {
		fprintf(stderr, "soak child: open: %d %s\n", rc, shale_errmsg());
		_exit(3);
	}
	atomic_store(&sh->opened, 1);
	pthread_t th[SOAK_MAX_THREADS];
	struct kill_writer w[SOAK_MAX_THREADS];
	for (int t = 0; t < nthreads; t++) {
		w[t] = (struct kill_writer){ db, sh, t, seed, ws[t].model };
		if (pthread_create(&th[t], NULL, kill_writer_main, &w[t]) != 0)
			_exit(5);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	_exit(6); /* the writers never finish */
}

static uint64_t total(atomic_uint_fast64_t *v, const uint64_t *start, int n)
{
	uint64_t s = 0;
	for (int t = 0; t < n; t++)
		s += atomic_load(&v[t]) - start[t];
	return s;
}

START_TEST(sigkill_of_a_threaded_writer_keeps_every_acknowledged_write)
{
	const int nthreads = P.kill_threads;
	const uint64_t seed = P.seed ^ 0x6b696c6cull;
	char *dir = soak_mkdtemp("kill", 0);
	char path[4200];
	snprintf(path, sizeof(path), "%s/db", dir);
	struct kill_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	struct soak_writer_state *ws = calloc((size_t)nthreads, sizeof(*ws));
	ck_assert_ptr_nonnull(ws);
	shale_options *o = soak_options(NULL);
	uint64_t must[SOAK_MAX_THREADS] = { 0 }, issued[SOAK_MAX_THREADS] = { 0 };
	uint64_t kills = 0, kills_early = 0, kills_delayed = 0, writes = 0, acked = 0, synced = 0;
	struct soak_figures fig;
	memset(&fig, 0, sizeof(fig));
	double start = now_seconds();
	char what[256];

	int delayed = 0; /* the last kill's writer had the WAL buffer on */
	for (uint64_t round = 0;; round++) {
		snprintf(what, sizeof(what), "SIGKILL %llu (%d writers, seed %#llx, paranoid %d, wal_flush_delay %d us)",
		         (unsigned long long)kills, nthreads, (unsigned long long)P.seed, (int)(round & 1),
		         delayed ? 1000 : 0);
		shale_options_set_paranoid_checks(o, (int)(round & 1));
		shale_db *db = NULL;
		int rc = shale_open(path, o, &db);
		tu_assert(rc == 0, "%s: reopen failed: %d %s", what, rc, shale_errmsg());
		soak_check_no_orphans(db);
		soak_check_state(db, seed, nthreads, ws, must, issued, P.long_mode ? (uint64_t)nthreads * SOAK_KEYS : 2000,
		                 what, &fig);
		ck_assert_ok(shale_close(db));
		int done = P.kill_seconds > 0 ? now_seconds() - start >= P.kill_seconds : kills >= P.kill_rounds;
		if (done)
			break;

		atomic_store(&sh->opened, 0);
		for (int t = 0; t < nthreads; t++) {
			sh->start[t] = ws[t].base;
			atomic_store(&sh->issued[t], ws[t].base);
			atomic_store(&sh->acked[t], ws[t].base);
		}
		uint64_t r = soak_mix(seed ^ (round * 0x100000001b3ull));
		/* one round in four the WAL buffer holds unsynced writes up to 1 ms */
		delayed = (r >> 40) % 4 == 0;
		fflush(NULL);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			kill_child(path, sh, nthreads, seed, ws, delayed ? 1000 : 0, (r >> 44) % 4 != 0);
		int status;
		if ((r >> 8) % 10 == 0) {
			/* early: during the open's recovery, or just after */
			usleep((useconds_t)((r >> 16) % 5000));
			kills_early += !atomic_load(&sh->opened);
		} else {
			uint64_t target = 1 + (r >> 16) % 3000;
			double deadline = now_seconds() + 120;
			while (total(sh->acked, sh->start, nthreads) < target) {
				tu_assert(waitpid(pid, &status, WNOHANG) == 0, "%s: the writer died (status %#x) before its kill",
				          what, status);
				tu_assert(now_seconds() < deadline, "%s: the writer made no progress in 120 s", what);
				usleep(200);
			}
		}
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		tu_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: the writer exited (status %#x) before its kill",
		          what, status);
		kills++;
		kills_delayed += delayed;
		for (int t = 0; t < nthreads; t++) {
			/* a process crash keeps what reached the OS: every acknowledged
			 * write, or with the WAL buffer on, every one up to the
			 * writer's last synced one (its sync took the buffer along) */
			uint64_t a = atomic_load(&sh->acked[t]);
			issued[t] = atomic_load(&sh->issued[t]);
			writes += issued[t] - sh->start[t];
			acked += a - sh->start[t];
			must[t] = delayed ? sh->start[t] : a;
			for (uint64_t j = sh->start[t]; j < a; j++) {
				struct soak_op op;
				soak_op(seed, t, j, &op);
				synced += op.sync;
				if (delayed && op.sync)
					must[t] = j + 1;
			}
		}
	}
	double secs = now_seconds() - start;
	printf("SIGKILL soak, %d writer threads, seed %#llx:\n"
	       "  %llu kills survived (%llu before the open was done; %llu with wal_flush_delay 1 ms, where only "
	       "the writes up to each writer's last synced one must survive) in %.1f s\n"
	       "  writes issued %llu, acknowledged %llu (%llu with sync; every one found after its kill); checked "
	       "after the kills: %llu entries scanned, %llu gets, %llu writes replayed against the model\n",
	       nthreads, (unsigned long long)P.seed, (unsigned long long)kills, (unsigned long long)kills_early,
	       (unsigned long long)kills_delayed, secs,
	       (unsigned long long)writes, (unsigned long long)acked, (unsigned long long)synced,
	       (unsigned long long)fig.entries_scanned, (unsigned long long)fig.gets,
	       (unsigned long long)fig.writes_replayed);
	fflush(stdout);
	shale_options_destroy(o);
	free(ws);
	munmap(sh, sizeof(*sh));
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: soak                  the short soaks (a Check suite, as make check runs it)\n"
	        "       soak [flags]          the long ones, printing their figures:\n"
	        "  --power-seconds=S   power-loss soak: S seconds per directory model\n"
	        "  --power-cuts=N      power-loss soak: N cuts per directory model\n"
	        "  --model=prefix|subset|both   directory models (default both)\n"
	        "  --kill-seconds=S    SIGKILL soak: S seconds\n"
	        "  --kill-rounds=N     SIGKILL soak: N kills\n"
	        "  --threads=T         writer threads of the SIGKILL soak (1..%d, default 4)\n"
	        "  --seed=X            workload seed (default: from the clock in long runs)\n"
	        "  --dir=PATH          where the databases go (default $SHALE_SOAK_DIR, else /dev/shm for\n"
	        "                      the power soak, else $TMPDIR or /tmp)\n",
	        SOAK_MAX_THREADS);
}

static int flag(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) != 0 || arg[n] != '=')
		return 0;
	*val = arg + n + 1;
	return 1;
}

int main(int argc, char **argv)
{
	int power = argc == 1, kill_soak = argc == 1, seeded = 0;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (flag(argv[i], "--power-seconds", &v)) {
			P.power_seconds = atof(v);
			power = 1;
		} else if (flag(argv[i], "--power-cuts", &v)) {
			P.power_cuts = strtoull(v, NULL, 10);
			power = 1;
		} else if (flag(argv[i], "--model", &v)) {
			P.power_models = strcmp(v, "prefix") == 0 ? 1 : strcmp(v, "subset") == 0 ? 2 : 3;
		} else if (flag(argv[i], "--kill-seconds", &v)) {
			P.kill_seconds = atof(v);
			kill_soak = 1;
		} else if (flag(argv[i], "--kill-rounds", &v)) {
			P.kill_rounds = strtoull(v, NULL, 10);
			kill_soak = 1;
		} else if (flag(argv[i], "--threads", &v)) {
			P.kill_threads = atoi(v);
		} else if (flag(argv[i], "--seed", &v)) {
			P.seed = strtoull(v, NULL, 0);
			seeded = 1;
		} else if (flag(argv[i], "--dir", &v)) {
			P.dir = v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (P.kill_threads < 1 || P.kill_threads > SOAK_MAX_THREADS) {
		usage(stderr);
		return 2;
	}
	P.long_mode = argc > 1;
#ifdef SOAK_TSAN
	/* ThreadSanitizer runs it ten times slower: a shorter short run */
	if (!P.long_mode) {
		P.power_cuts = 15;
		P.kill_rounds = 5;
	}
#else
	/* AddressSanitizer three times slower: a shorter one too (the plain
	 * builds run the whole short soak) */
	if (!P.long_mode && TU_SANITIZED) {
		P.power_cuts = 40;
		P.kill_rounds = 10;
	}
#endif
	if (P.long_mode && !seeded)
		P.seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;

	Suite *s = suite_create("soak");
	/* Long runs: the time asked for plus room for the last round. */
	double power_time = P.power_seconds > 0 ? P.power_seconds : (double)P.power_cuts * 0.5;
	double kill_time = P.kill_seconds > 0 ? P.kill_seconds : (double)P.kill_rounds * 0.5;
	if (power) {
		TCase *tc = tcase_create("power");
		tcase_set_timeout(tc, P.long_mode ? power_time + 600 : 300);
		int first = P.power_models & 1 ? 0 : 1, last = P.power_models & 2 ? 2 : 1;
		tcase_add_loop_test(tc, power_cuts_at_random_points_keep_a_prefix_with_every_synced_write, first, last);
		suite_add_tcase(s, tc);
	}
	if (kill_soak) {
		TCase *tc = tcase_create("kill");
		tcase_set_timeout(tc, P.long_mode ? kill_time + 600 : 300);
		tcase_add_test(tc, sigkill_of_a_threaded_writer_keeps_every_acknowledged_write);
		suite_add_tcase(s, tc);
	}
	return tu_run(s);
}
