/*
 * Fault-injecting file layer (see env_fault.h for the model).
 *
 * State, all guarded by fe->mu:
 *  - names: every path the wrapper has seen, hashed, with per-operation
 *    counters and, for files written through the wrapper, an inode record
 *    holding the length made durable by the last sync;
 *  - undo: the directory changes not yet made durable by a directory sync,
 *    oldest first, each with a hidden hard link (".fault-op-N") to the inode
 *    it placed, so that a crash can place it again whatever came after;
 *  - rules, the frozen flag and the epoch (bumped by each crash so that files
 *    opened before it stay ghosts).
 * Hooks run without the lock.
 */
#include "lib/testing/env_fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"
#include "lib/util/hash.h"

#define NAME_BUCKETS 4096
#define TRASH_PREFIX ".fault-trash-"
#define OPLINK_PREFIX ".fault-op-"

struct finode {
	uint64_t written; /* bytes appended through the wrapper (file length) */
	uint64_t synced;  /* length at the last sync */
	/* [lost_lo, lost_hi): unsynced bytes when a sync failed; never durable */
	uint64_t lost_lo, lost_hi;
	int lost;
	struct finode *next_all;
};

struct fname {
	char *path;
	struct finode *ino; /* NULL: not written through the wrapper (durable) */
	uint64_t counts[FAULT_OP_COUNT];
	struct fname *next;
};

enum undo_type { UNDO_CREATE, UNDO_REMOVE, UNDO_RENAME, UNDO_MKDIR };

struct undo {
	enum undo_type type;
	char *dir;  /* directory whose sync makes it durable */
	char *a;    /* CREATE/MKDIR: the path; REMOVE: original path; RENAME: from */
	char *b;    /* REMOVE: trash path; RENAME: to */
	char *c;    /* RENAME over a file: where the replaced file waits (trash) */
	char *link; /* CREATE, RENAME: a hard link to the inode placed (NULL: none) */
	struct finode *ino; /* that inode's record (NULL: not written through us) */
};

struct rule_state {
	struct fault_rule r;
	char *path_contains;
	int seen;
	int failed;
};

struct fault_env {
	struct env base;
	struct env *inner;
	pthread_mutex_t mu;
	struct fname *names[NAME_BUCKETS];
	struct finode *inodes;
	struct undo *undo;
	size_t nundo, capundo;
	struct rule_state *rules;
	size_t nrules;
	fault_hook_fn hook;
	void *hook_arg;
	int frozen;
	uint64_t epoch;
	uint64_t seq;
	uint64_t trash_counter;
	int dir_model;              /* FAULT_DIR_* */
	int data_model;             /* FAULT_DATA_* */
	uint64_t rng;               /* crash choices */
};

static struct fault_env *FE(struct env *e)
{
	return (struct fault_env *)e;
}

static int op_index(unsigned op)
{
	return __builtin_ctz(op);
}

/* REQUIRES: mu held. NULL when memory runs out. */
static struct fname *name_get(struct fault_env *fe, const char *path)
{
	uint32_t h = hash32(path, strlen(path), 0) % NAME_BUCKETS;
	for (struct fname *n = fe->names[h]; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	struct fname *n = calloc(1, sizeof(*n));
	if (n == NULL || (n->path = strdup(path)) == NULL) {
		free(n);
		return NULL;
	}
	n->next = fe->names[h];
	fe->names[h] = n;
	return n;
}

/* Removes a hidden name (trash, op link) for good: its file and its node,
 * so that names do not pile up over a long run. REQUIRES: mu held. */
static void hidden_remove(struct fault_env *fe, const char *path)
{
	if (env_exists(fe->inner, path))
		env_remove(fe->inner, path);
	uint32_t h = hash32(path, strlen(path), 0) % NAME_BUCKETS;
	for (struct fname **pp = &fe->names[h]; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->path, path) == 0) {
			struct fname *n = *pp;
			*pp = n->next;
			free(n->path);
			free(n);
			return;
		}
	}
}

static struct finode *inode_new(struct fault_env *fe)
{
	struct finode *i = calloc(1, sizeof(*i));
	if (i) {
		i->next_all = fe->inodes;
		fe->inodes = i;
	}
	return i;
}

/* Records a directory change. For CREATE and RENAME the inode now at `to`
 * (a, or b for a rename) gets a hidden hard link so that a crash can place
 * it again. REQUIRES: mu held. */
static int push_undo(struct fault_env *fe, enum undo_type t, const char *dirpath, const char *a, const char *b,
                     const char *c)
{
	if (fe->nundo == fe->capundo) {
		size_t cap = fe->capundo ? fe->capundo * 2 : 32;
		struct undo *u = realloc(fe->undo, cap * sizeof(*u));
		if (u == NULL)
			return err_nomem("fault env undo log");
		fe->undo = u;
		fe->capundo = cap;
	}
	char dir[4096], link[4200];
	env_dirname(dirpath, dir, sizeof(dir));
	struct undo *u = &fe->undo[fe->nundo];
	memset(u, 0, sizeof(*u));
	u->type = t;
	u->dir = strdup(dir);
	u->a = strdup(a);
	u->b = b ? strdup(b) : NULL;
	u->c = c ? strdup(c) : NULL;
	const char *placed = t == UNDO_CREATE ? a : t == UNDO_RENAME ? b : NULL;
	if (placed) {
		struct fname *n = name_get(fe, placed);
		u->ino = n ? n->ino : NULL;
		snprintf(link, sizeof(link), "%s/%s%llu", dir, OPLINK_PREFIX, (unsigned long long)fe->trash_counter++);
		if (env_link(fe->inner, placed, link) == 0)
			u->link = strdup(link);
	}
	if (u->dir == NULL || u->a == NULL || (b && u->b == NULL) || (c && u->c == NULL) || (placed && !u->link)) {
		if (u->link)
			env_remove(fe->inner, u->link);
		free(u->dir);
		free(u->a);
		free(u->b);
		free(u->c);
		free(u->link);
		return err_nomem("fault env undo log");
	}
	fe->nundo++;
	return 0;
}

/* Forgets a change (made durable, or replayed by a crash): its hidden
 * link goes. REQUIRES: mu held. */
static void free_undo(struct fault_env *fe, struct undo *u)
{
	if (u->link)
		hidden_remove(fe, u->link);
	free(u->dir);
	free(u->a);
	free(u->b);
	free(u->c);
	free(u->link);
}

/*
 * Counts the operation, runs the hook and the rules. Returns FAULT_NONE, a
 * fault kind, or -1 when the env is frozen (the caller then pretends).
 */
static int check_op(struct fault_env *fe, unsigned op, const char *path, uint64_t *epoch_out)
{
	pthread_mutex_lock(&fe->mu);
	uint64_t seq = fe->seq++;
	struct fname *n = path ? name_get(fe, path) : NULL;
	if (n)
		n->counts[op_index(op)]++;
	fault_hook_fn hook = fe->hook;
	void *hook_arg = fe->hook_arg;
	int frozen = fe->frozen;
	pthread_mutex_unlock(&fe->mu);
	if (frozen)
		return -1;

	int kind = FAULT_NONE;
	if (hook)
		kind = hook(hook_arg, &fe->base, op, path ? path : "", seq);

	pthread_mutex_lock(&fe->mu);
	if (fe->frozen) {
		/* the hook pulled the plug: this operation never happens */
		pthread_mutex_unlock(&fe->mu);
		return -1;
	}
	for (size_t i = 0; i < fe->nrules && kind == FAULT_NONE; i++) {
		struct rule_state *rs = &fe->rules[i];
		if (!(rs->r.ops & op))
			continue;
		if (rs->path_contains && (path == NULL || strstr(path, rs->path_contains) == NULL))
			continue;
		if (rs->seen++ < rs->r.skip)
			continue;
		if (rs->r.count >= 0 && rs->failed >= rs->r.count)
			continue;
		rs->failed++;
		kind = rs->r.kind;
	}
	if (epoch_out)
		*epoch_out = fe->epoch;
	pthread_mutex_unlock(&fe->mu);
	return kind;
}

static int fault_error(int kind, const char *what, const char *path)
{
	if (kind == FAULT_ENOSPC)
		return err_set(SHALE_ENOSPC, "%s: %s: injected ENOSPC", path, what);
	return err_set(SHALE_EIO, "%s: %s: injected fault", path, what);
}

/* ---- files ---- */

struct fault_seq {
	struct seq_file base;
	struct fault_env *fe;
	struct seq_file *inner;
	char *path;
};

static int fseq_read(struct seq_file *f, size_t n, char *scratch, struct slice *out)
{
	struct fault_seq *s = (struct fault_seq *)f;
	int k = check_op(s->fe, FAULT_READ, s->path, NULL);
	if (k > 0)
		return fault_error(k, "read", s->path);
	return seq_file_read(s->inner, n, scratch, out);
}

static int fseq_skip(struct seq_file *f, uint64_t n)
{
	struct fault_seq *s = (struct fault_seq *)f;
	return seq_file_skip(s->inner, n);
}

static void fseq_close(struct seq_file *f)
{
	struct fault_seq *s = (struct fault_seq *)f;
	seq_file_close(s->inner);
	free(s->path);
	free(s);
}

static const struct seq_file_ops fault_seq_ops = { fseq_read, fseq_skip, fseq_close };

struct fault_rand {
	struct rand_file base;
	struct fault_env *fe;
	struct rand_file *inner;
	char *path;
};

static int frand_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct fault_rand *r = (struct fault_rand *)f;
	int k = check_op(r->fe, FAULT_READ, r->path, NULL);
	if (k > 0)
		return fault_error(k, "pread", r->path);
	return rand_file_read(r->inner, off, n, scratch, out);
}

static void frand_close(struct rand_file *f)
{
	struct fault_rand *r = (struct fault_rand *)f;
	rand_file_close(r->inner);
	free(r->path);
	free(r);
}

static const struct rand_file_ops fault_rand_ops = { frand_read, frand_close, NULL };

struct fault_wfile {
	struct wfile base;
	struct fault_env *fe;
	struct wfile *inner;  /* NULL for a file created by a ghost */
	struct finode *ino;
	uint64_t epoch;
	char *path;
};

/* A ghost file: opened while frozen, or before the last crash. */
static int is_ghost(struct fault_wfile *w)
{
	pthread_mutex_lock(&w->fe->mu);
	int ghost = w->inner == NULL || w->epoch != w->fe->epoch || w->fe->frozen;
	pthread_mutex_unlock(&w->fe->mu);
	return ghost;
}

static int fw_append(struct wfile *f, const char *data, size_t n)
{
	struct fault_wfile *w = (struct fault_wfile *)f;
	int k = check_op(w->fe, FAULT_APPEND, w->path, NULL);
	if (k < 0 || is_ghost(w))
		return 0;
	if (k == FAULT_SHORT_WRITE) {
		size_t half = n / 2;
		int rc = wfile_append(w->inner, data, half);
		if (rc == 0)
			rc = wfile_flush(w->inner);
		pthread_mutex_lock(&w->fe->mu);
		w->ino->written += half;
		pthread_mutex_unlock(&w->fe->mu);
		if (rc)
			return rc;
		return err_set(SHALE_EIO, "%s: write: injected short write (%zu of %zu bytes)",
		               w->path, half, n);
	}
	if (k > 0)
		return fault_error(k, "write", w->path);
	int rc = wfile_append(w->inner, data, n);
	if (rc == 0) {
		pthread_mutex_lock(&w->fe->mu);
		w->ino->written += n;
		pthread_mutex_unlock(&w->fe->mu);
	}
	return rc;
}

static int fw_flush(struct wfile *f)
{
	struct fault_wfile *w = (struct fault_wfile *)f;
	int k = check_op(w->fe, FAULT_FLUSH, w->path, NULL);
	if (k < 0 || is_ghost(w))
		return 0;
	if (k > 0)
		return fault_error(k, "write", w->path);
	return wfile_flush(w->inner);
}

static int fw_sync(struct wfile *f)
{
	struct fault_wfile *w = (struct fault_wfile *)f;
	int k = check_op(w->fe, FAULT_SYNC, w->path, NULL);
	if (k < 0 || is_ghost(w))
		return 0;
	if (k > 0) {
		/* The kernel may have dropped the dirty pages (and marked them
		 * clean): what was not yet durable never will be. */
		pthread_mutex_lock(&w->fe->mu);
		struct finode *i = w->ino;
		if (i->written > i->synced) {
			if (!i->lost || i->synced < i->lost_lo)
				i->lost_lo = i->synced;
			if (!i->lost || i->written > i->lost_hi)
				i->lost_hi = i->written;
			i->lost = 1;
		}
		pthread_mutex_unlock(&w->fe->mu);
		return fault_error(k, "fdatasync", w->path);
	}
	int rc = wfile_sync(w->inner);
	if (rc == 0) {
		pthread_mutex_lock(&w->fe->mu);
		w->ino->synced = w->ino->written;
		pthread_mutex_unlock(&w->fe->mu);
	}
	return rc;
}

static int fw_close(struct wfile *f)
{
	struct fault_wfile *w = (struct fault_wfile *)f;
	int rc = 0;
	if (w->inner) {
		int k = check_op(w->fe, FAULT_FLUSH, w->path, NULL);
		/* A ghost's buffered bytes may reach the file here; the crash cuts
		 * the file back to its synced length, so they never count. */
		rc = wfile_close(w->inner);
		if (k > 0 && !is_ghost(w) && rc == 0)
			rc = fault_error(k, "close", w->path);
		if (k < 0 || is_ghost(w))
			rc = 0;
	}
	free(w->path);
	free(w);
	return rc;
}

static const struct wfile_ops fault_wfile_ops = { fw_append, fw_flush, fw_sync, fw_close };

/* ---- env operations ---- */

static int fe_open_seq(struct env *e, const char *path, struct seq_file **out)
{
	struct fault_env *fe = FE(e);
	*out = NULL;
	int k = check_op(fe, FAULT_OPEN_READ, path, NULL);
	if (k > 0)
		return fault_error(k, "open", path);
	struct fault_seq *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return err_nomem("fault seq file");
	}
	int rc = env_open_seq(fe->inner, path, &s->inner);
	if (rc) {
		free(s->path);
		free(s);
		return rc;
	}
	s->base.ops = &fault_seq_ops;
	s->fe = fe;
	*out = &s->base;
	return 0;
}

static int fe_open_rand(struct env *e, const char *path, struct rand_file **out)
{
	struct fault_env *fe = FE(e);
	*out = NULL;
	int k = check_op(fe, FAULT_OPEN_READ, path, NULL);
	if (k > 0)
		return fault_error(k, "open", path);
	struct fault_rand *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->path = strdup(path)) == NULL) {
		free(r);
		return err_nomem("fault rand file");
	}
	int rc = env_open_rand(fe->inner, path, &r->inner);
	if (rc) {
		free(r->path);
		free(r);
		return rc;
	}
	r->base.ops = &fault_rand_ops;
	r->base.mapped = r->inner->mapped;
	r->fe = fe;
	*out = &r->base;
	return 0;
}

static int open_writable(struct env *e, const char *path, int append, struct wfile **out)
{
	struct fault_env *fe = FE(e);
	*out = NULL;
	uint64_t epoch = 0;
	int k = check_op(fe, FAULT_OPEN_WRITE, path, &epoch);
	if (k > 0)
		return fault_error(k, "open for writing", path);
	struct fault_wfile *w = calloc(1, sizeof(*w));
	if (w == NULL || (w->path = strdup(path)) == NULL) {
		free(w);
		return err_nomem("fault writable file");
	}
	w->base.ops = &fault_wfile_ops;
	w->fe = fe;
	w->epoch = epoch;
	if (k < 0) { /* frozen: a ghost */
		*out = &w->base;
		return 0;
	}
	int existed = env_exists(fe->inner, path);
	uint64_t size = 0;
	if (existed && append && env_file_size(fe->inner, path, &size) != 0)
		size = 0;
	int rc = append ? env_open_append(fe->inner, path, &w->inner)
	                : env_open_write(fe->inner, path, &w->inner);
	if (rc) {
		free(w->path);
		free(w);
		return rc;
	}
	pthread_mutex_lock(&fe->mu);
	struct fname *n = name_get(fe, path);
	if (n && n->ino == NULL) {
		n->ino = inode_new(fe);
		/* bytes already there before the wrapper wrote count as durable */
		if (n->ino)
			n->ino->synced = size;
	}
	if (n == NULL || n->ino == NULL)
		rc = err_nomem("fault env inode");
	else {
		w->ino = n->ino;
		w->ino->written = size;
		if (!append)
			w->ino->synced = 0; /* truncated */
	}
	if (rc == 0 && !existed)
		rc = push_undo(fe, UNDO_CREATE, path, path, NULL, NULL);
	pthread_mutex_unlock(&fe->mu);
	if (rc) {
		wfile_close(w->inner);
		free(w->path);
		free(w);
		return rc;
	}
	*out = &w->base;
	return 0;
}

static int fe_open_write(struct env *e, const char *path, struct wfile **out)
{
	return open_writable(e, path, 0, out);
}

static int fe_open_append(struct env *e, const char *path, struct wfile **out)
{
	return open_writable(e, path, 1, out);
}

/* Its files model the page cache themselves: a log is a plain file here. */
static int fe_open_log(struct env *e, const char *path, uint64_t expect, struct wfile **out)
{
	(void)expect;
	return open_writable(e, path, 0, out);
}

static int fe_exists(struct env *e, const char *path)
{
	return env_exists(FE(e)->inner, path);
}

static int is_trash(const char *name)
{
	return strncmp(name, TRASH_PREFIX, strlen(TRASH_PREFIX)) == 0 ||
	       strncmp(name, OPLINK_PREFIX, strlen(OPLINK_PREFIX)) == 0;
}

static int fe_list_dir(struct env *e, const char *dir, char ***names, size_t *count)
{
	struct fault_env *fe = FE(e);
	*names = NULL;
	*count = 0;
	int k = check_op(fe, FAULT_LIST, dir, NULL);
	if (k > 0)
		return fault_error(k, "opendir", dir);
	int rc = env_list_dir(fe->inner, dir, names, count);
	if (rc)
		return rc;
	size_t j = 0;
	for (size_t i = 0; i < *count; i++) {
		if (is_trash((*names)[i]))
			free((*names)[i]);
		else
			(*names)[j++] = (*names)[i];
	}
	*count = j;
	return 0;
}

/* Moves the name node's inode record along with a rename. REQUIRES: mu held. */
static int move_inode(struct fault_env *fe, const char *from, const char *to)
{
	struct fname *a = name_get(fe, from);
	struct fname *b = name_get(fe, to);
	if (a == NULL || b == NULL)
		return err_nomem("fault env names");
	b->ino = a->ino;
	a->ino = NULL;
	return 0;
}

/* Removal that a crash can undo: the file moves to a hidden trash name in the
 * same directory, written to trash. REQUIRES: mu held. */
static int trash_file(struct fault_env *fe, const char *path, char *trash, size_t cap)
{
	char dir[4096];
	env_dirname(path, dir, sizeof(dir));
	snprintf(trash, cap, "%s/%s%llu", dir, TRASH_PREFIX, (unsigned long long)fe->trash_counter++);
	int rc = env_rename(fe->inner, path, trash);
	if (rc == 0)
		rc = move_inode(fe, path, trash);
	return rc;
}

static int fe_remove(struct env *e, const char *path)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_REMOVE, path, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "unlink", path);
	if (!env_exists(fe->inner, path))
		return env_remove(fe->inner, path); /* the base reports ENOENT */
	char trash[4200];
	pthread_mutex_lock(&fe->mu);
	int rc = trash_file(fe, path, trash, sizeof(trash));
	if (rc == 0)
		rc = push_undo(fe, UNDO_REMOVE, path, path, trash, NULL);
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

static int fe_mkdir(struct env *e, const char *path)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_MKDIR, path, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "mkdir", path);
	int existed = env_exists(fe->inner, path);
	int rc = env_mkdir(fe->inner, path);
	if (rc == 0 && !existed) {
		pthread_mutex_lock(&fe->mu);
		rc = push_undo(fe, UNDO_MKDIR, path, path, NULL, NULL);
		pthread_mutex_unlock(&fe->mu);
	}
	return rc;
}

static int fe_rmdir(struct env *e, const char *path)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_REMOVE, path, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "rmdir", path);
	/* Not undone by a crash: shale removes directories only when destroying. */
	return env_rmdir(fe->inner, path);
}

static int fe_file_size(struct env *e, const char *path, uint64_t *size)
{
	return env_file_size(FE(e)->inner, path, size);
}

static int fe_truncate(struct env *e, const char *path, uint64_t size)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_APPEND, path, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "truncate", path);
	int rc = env_truncate(fe->inner, path, size);
	if (rc == 0) {
		pthread_mutex_lock(&fe->mu);
		struct fname *n = name_get(fe, path);
		if (n && n->ino) {
			n->ino->written = size;
			if (n->ino->synced > size)
				n->ino->synced = size;
		}
		pthread_mutex_unlock(&fe->mu);
	}
	return rc;
}

static int fe_rename(struct env *e, const char *from, const char *to)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_RENAME, from, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "rename", from);
	if (!env_exists(fe->inner, from))
		return env_rename(fe->inner, from, to); /* the base reports it */
	pthread_mutex_lock(&fe->mu);
	int rc = 0;
	char trash[4200];
	int replaced = env_exists(fe->inner, to);
	if (replaced)
		rc = trash_file(fe, to, trash, sizeof(trash)); /* the replaced file can come back */
	if (rc == 0)
		rc = env_rename(fe->inner, from, to);
	if (rc == 0)
		rc = move_inode(fe, from, to);
	/* one change: a rename over a file is atomic */
	if (rc == 0)
		rc = push_undo(fe, UNDO_RENAME, to, from, to, replaced ? trash : NULL);
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

static int fe_link(struct env *e, const char *from, const char *to)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_LINK, to, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "link", to);
	int rc = env_link(fe->inner, from, to);
	if (rc == 0) {
		pthread_mutex_lock(&fe->mu);
		struct fname *src = name_get(fe, from), *dst = name_get(fe, to);
		if (src && dst)
			dst->ino = src->ino;
		rc = push_undo(fe, UNDO_CREATE, to, to, NULL, NULL);
		pthread_mutex_unlock(&fe->mu);
	}
	return rc;
}

static int fe_sync_dir(struct env *e, const char *dir)
{
	struct fault_env *fe = FE(e);
	int k = check_op(fe, FAULT_SYNC_DIR, dir, NULL);
	if (k < 0)
		return 0;
	if (k > 0)
		return fault_error(k, "fsync directory", dir);
	int rc = env_sync_dir(fe->inner, dir);
	if (rc)
		return rc;
	/* Every change in this directory is now durable: forget how to undo
	 * it, and let removed files really go. */
	char canon[4096];
	snprintf(canon, sizeof(canon), "%s", dir);
	size_t len = strlen(canon);
	while (len > 1 && canon[len - 1] == '/')
		canon[--len] = '\0';
	pthread_mutex_lock(&fe->mu);
	size_t j = 0;
	for (size_t i = 0; i < fe->nundo; i++) {
		struct undo *u = &fe->undo[i];
		if (strcmp(u->dir, canon) == 0) {
			if (u->type == UNDO_REMOVE)
				hidden_remove(fe, u->b);
			if (u->c)
				hidden_remove(fe, u->c);
			free_undo(fe, u);
		} else {
			fe->undo[j++] = *u;
		}
	}
	fe->nundo = j;
	pthread_mutex_unlock(&fe->mu);
	return 0;
}

static int fe_lock(struct env *e, const char *path, struct file_lock **out)
{
	struct fault_env *fe = FE(e);
	*out = NULL;
	int k = check_op(fe, FAULT_LOCK, path, NULL);
	if (k > 0)
		return fault_error(k, "lock", path);
	/* Locks are not persistent state; even a ghost takes them for real. The
	 * LOCK file's creation is not rolled back by a crash. */
	return env_lock(fe->inner, path, out);
}

static int fe_unlock(struct env *e, struct file_lock *l)
{
	return env_unlock(FE(e)->inner, l);
}

static uint64_t fe_now_micros(struct env *e)
{
	return env_now_micros(FE(e)->inner);
}

static void fe_sleep_micros(struct env *e, uint64_t us)
{
	env_sleep_micros(FE(e)->inner, us);
}

/* Removes path and, for a directory, everything below it (crash rollback of
 * a mkdir). */
static void remove_tree(struct env *inner, const char *path)
{
	char **names = NULL;
	size_t n = 0;
	if (env_list_dir(inner, path, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			char child[4200];
			snprintf(child, sizeof(child), "%s/%s", path, names[i]);
			remove_tree(inner, child);
		}
		env_free_names(names, n);
		env_rmdir(inner, path);
	} else {
		env_remove(inner, path);
	}
}

static void clear_state(struct fault_env *fe)
{
	for (size_t i = 0; i < fe->nundo; i++)
		free_undo(fe, &fe->undo[i]);
	fe->nundo = 0;
}

static void fe_destroy(struct env *e)
{
	struct fault_env *fe = FE(e);
	/* Pending removals happen now, as they eventually would on a real disk. */
	for (size_t i = 0; i < fe->nundo; i++) {
		if (fe->undo[i].type == UNDO_REMOVE)
			env_remove(fe->inner, fe->undo[i].b);
		if (fe->undo[i].c)
			env_remove(fe->inner, fe->undo[i].c);
	}
	clear_state(fe);
	free(fe->undo);
	for (int b = 0; b < NAME_BUCKETS; b++) {
		struct fname *n = fe->names[b];
		while (n) {
			struct fname *next = n->next;
			free(n->path);
			free(n);
			n = next;
		}
	}
	struct finode *i = fe->inodes;
	while (i) {
		struct finode *next = i->next_all;
		free(i);
		i = next;
	}
	fault_env_clear_rules(e);
	free(fe->rules);
	pthread_mutex_destroy(&fe->mu);
	free(fe);
}

static const struct env_ops fault_ops = {
	.open_seq = fe_open_seq,
	.open_rand = fe_open_rand,
	.open_write = fe_open_write,
	.open_log = fe_open_log,
	.open_append = fe_open_append,
	.exists = fe_exists,
	.list_dir = fe_list_dir,
	.remove = fe_remove,
	.mkdir = fe_mkdir,
	.rmdir = fe_rmdir,
	.file_size = fe_file_size,
	.truncate = fe_truncate,
	.rename = fe_rename,
	.link = fe_link,
	.sync_dir = fe_sync_dir,
	.lock = fe_lock,
	.unlock = fe_unlock,
	.now_micros = fe_now_micros,
	.sleep_micros = fe_sleep_micros,
	.destroy = fe_destroy,
};

int fault_env_create(struct env *base, struct env **out)
{
	*out = NULL;
	struct fault_env *fe = calloc(1, sizeof(*fe));
	if (fe == NULL)
		return err_nomem("fault env");
	if (pthread_mutex_init(&fe->mu, NULL) != 0) {
		free(fe);
		return err_nomem("fault env mutex");
	}
	fe->base.ops = &fault_ops;
	fe->inner = base;
	*out = &fe->base;
	return 0;
}

int fault_env_add_rule(struct env *e, const struct fault_rule *rule)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	struct rule_state *rs = realloc(fe->rules, (fe->nrules + 1) * sizeof(*rs));
	if (rs == NULL) {
		pthread_mutex_unlock(&fe->mu);
		return err_nomem("fault rule");
	}
	fe->rules = rs;
	rs = &fe->rules[fe->nrules];
	memset(rs, 0, sizeof(*rs));
	rs->r = *rule;
	if (rule->path_contains) {
		rs->path_contains = strdup(rule->path_contains);
		if (rs->path_contains == NULL) {
			pthread_mutex_unlock(&fe->mu);
			return err_nomem("fault rule");
		}
	}
	fe->nrules++;
	pthread_mutex_unlock(&fe->mu);
	return 0;
}

void fault_env_clear_rules(struct env *e)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	for (size_t i = 0; i < fe->nrules; i++)
		free(fe->rules[i].path_contains);
	fe->nrules = 0;
	pthread_mutex_unlock(&fe->mu);
}

void fault_env_set_hook(struct env *e, fault_hook_fn hook, void *arg)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	fe->hook = hook;
	fe->hook_arg = arg;
	pthread_mutex_unlock(&fe->mu);
}

void fault_env_freeze(struct env *e)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	fe->frozen = 1;
	pthread_mutex_unlock(&fe->mu);
}

int fault_env_frozen(struct env *e)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	int f = fe->frozen;
	pthread_mutex_unlock(&fe->mu);
	return f;
}

static uint64_t crash_rand(struct fault_env *fe)
{
	/* splitmix64: a fixed sequence per seed */
	uint64_t z = (fe->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Which pending directory changes survive the power cut. FAULT_DIR_ROLLBACK:
 * none. FAULT_DIR_PREFIX: in each directory, a random number of the oldest.
 * FAULT_DIR_SUBSET: each one on its own, with even odds. REQUIRES: mu. */
static void choose_persisted(struct fault_env *fe, char *persisted)
{
	memset(persisted, 0, fe->nundo);
	if (fe->dir_model == FAULT_DIR_SUBSET) {
		for (size_t i = 0; i < fe->nundo; i++)
			persisted[i] = (char)(crash_rand(fe) & 1);
	} else if (fe->dir_model == FAULT_DIR_PREFIX) {
		for (size_t i = 0; i < fe->nundo; i++) {
			if (i > 0 && persisted[i] != 0)
				continue; /* decided with an earlier change of its directory */
			size_t n = 0;
			for (size_t j = i; j < fe->nundo; j++)
				n += strcmp(fe->undo[j].dir, fe->undo[i].dir) == 0;
			size_t keep = (size_t)(crash_rand(fe) % (n + 1));
			for (size_t j = i, seen = 0; j < fe->nundo; j++)
				if (strcmp(fe->undo[j].dir, fe->undo[i].dir) == 0)
					persisted[j] = seen++ < keep ? 1 : 2; /* 2: decided, lost */
		}
		for (size_t i = 0; i < fe->nundo; i++)
			persisted[i] = persisted[i] == 1;
	}
}

/* Makes path name the inode held by link (replacing whatever is there). */
static int place(struct fault_env *fe, const char *link, const char *path)
{
	if (env_exists(fe->inner, path)) {
		int rc = env_remove(fe->inner, path);
		if (rc)
			return rc;
	}
	return env_link(fe->inner, link, path);
}

static int unplace(struct fault_env *fe, const char *path)
{
	return env_exists(fe->inner, path) ? env_remove(fe->inner, path) : 0;
}

/* Overwrites bytes [lo, hi) of path with zeros (same inode). */
static int zero_range(struct fault_env *fe, const char *path, uint64_t lo, uint64_t hi)
{
	struct buf b = BUF_INIT;
	int rc = env_read_file(fe->inner, path, &b);
	if (rc == 0 && hi <= b.len) {
		memset(b.data + lo, 0, (size_t)(hi - lo));
		rc = env_write_file(fe->inner, path, b.data, b.len, 0);
	}
	buf_free(&b);
	return rc;
}

int fault_env_crash(struct env *e)
{
	struct fault_env *fe = FE(e);
	int rc = 0;
	pthread_mutex_lock(&fe->mu);
	char *persisted = malloc(fe->nundo + 1);
	if (persisted == NULL) {
		pthread_mutex_unlock(&fe->mu);
		return err_nomem("fault env crash");
	}
	choose_persisted(fe, persisted);

	/* 1. Every pending directory change rolled back, newest first, so names
	 * are where they were at the last syncs. The inodes placed by changes
	 * stay reachable through their hidden links. */
	for (size_t i = fe->nundo; i-- > 0;) {
		struct undo *u = &fe->undo[i];
		int r = 0;
		switch (u->type) {
		case UNDO_CREATE:
			r = unplace(fe, u->a);
			if (r == 0)
				r = move_inode(fe, u->a, u->link ? u->link : u->a);
			break;
		case UNDO_MKDIR:
			break; /* decided below */
		case UNDO_REMOVE:
			r = env_rename(fe->inner, u->b, u->a);
			if (r == 0)
				r = move_inode(fe, u->b, u->a);
			break;
		case UNDO_RENAME:
			r = env_rename(fe->inner, u->b, u->a);
			if (r == 0)
				r = move_inode(fe, u->b, u->a);
			if (r == 0 && u->c) {
				r = env_rename(fe->inner, u->c, u->b);
				if (r == 0)
					r = move_inode(fe, u->c, u->b);
			}
			break;
		}
		if (r && rc == 0)
			rc = r;
	}
	/* 2. The changes that reached the disk, replayed oldest first with what
	 * each one did to its names: a create or a link gives a name an inode, a
	 * remove takes a name away, a rename gives `to` the inode it moved and
	 * takes `from` away. */
	for (size_t i = 0; i < fe->nundo; i++) {
		struct undo *u = &fe->undo[i];
		if (!persisted[i])
			continue;
		int r = 0;
		struct fname *n;
		switch (u->type) {
		case UNDO_CREATE:
			r = place(fe, u->link, u->a);
			if (r == 0 && (n = name_get(fe, u->a)) != NULL)
				n->ino = u->ino;
			break;
		case UNDO_MKDIR:
			break;
		case UNDO_REMOVE:
			r = unplace(fe, u->a);
			if (r == 0 && (n = name_get(fe, u->a)) != NULL)
				n->ino = NULL;
			break;
		case UNDO_RENAME:
			r = place(fe, u->link, u->b);
			if (r == 0 && (n = name_get(fe, u->b)) != NULL)
				n->ino = u->ino;
			if (r == 0)
				r = unplace(fe, u->a);
			if (r == 0 && (n = name_get(fe, u->a)) != NULL)
				n->ino = NULL;
			break;
		}
		if (r && rc == 0)
			rc = r;
	}
	/* 3. A directory whose creation was lost goes with everything in it;
	 * files in the trash whose removal was kept really go. */
	for (size_t i = fe->nundo; i-- > 0;)
		if (fe->undo[i].type == UNDO_MKDIR && !persisted[i])
			remove_tree(fe->inner, fe->undo[i].a);
	for (size_t i = 0; i < fe->nundo; i++) {
		struct undo *u = &fe->undo[i];
		if (u->type == UNDO_REMOVE)
			hidden_remove(fe, u->b);
		if (u->c)
			hidden_remove(fe, u->c);
	}
	free(persisted);
	clear_state(fe);

	/* 4. File data: every file written through us keeps what was synced;
	 * of the rest, nothing (FAULT_DATA_LOST) or a random prefix
	 * (FAULT_DATA_PREFIX: a torn write). */
	for (int b = 0; b < NAME_BUCKETS; b++) {
		for (struct fname *n = fe->names[b]; n; n = n->next) {
			if (n->ino == NULL || !env_exists(fe->inner, n->path))
				continue;
			uint64_t size = 0, keep = n->ino->synced;
			if (env_file_size(fe->inner, n->path, &size) != 0 || size <= keep)
				continue;
			if (fe->data_model == FAULT_DATA_PREFIX)
				keep += crash_rand(fe) % (size - keep + 1);
			if (keep < size) {
				int r = env_truncate(fe->inner, n->path, keep);
				if (r && rc == 0)
					rc = r;
			}
		}
	}
	/* 5. Data a failed sync lost is zeros on the disk, whatever a later
	 * sync did. */
	for (int b = 0; b < NAME_BUCKETS; b++) {
		for (struct fname *n = fe->names[b]; n; n = n->next) {
			if (n->ino == NULL || !n->ino->lost)
				continue;
			uint64_t size = 0;
			if (env_exists(fe->inner, n->path) && env_file_size(fe->inner, n->path, &size) == 0) {
				uint64_t hi = n->ino->lost_hi < size ? n->ino->lost_hi : size;
				if (n->ino->lost_lo < hi) {
					int r = zero_range(fe, n->path, n->ino->lost_lo, hi);
					if (r && rc == 0)
						rc = r;
				}
			}
			n->ino->lost = 0;
		}
	}
	/* what the disk holds now is durable as it is */
	for (int b = 0; b < NAME_BUCKETS; b++)
		for (struct fname *n = fe->names[b]; n; n = n->next)
			if (n->ino) {
				uint64_t size = 0;
				if (env_exists(fe->inner, n->path) && env_file_size(fe->inner, n->path, &size) == 0)
					n->ino->written = n->ino->synced = size;
			}
	fe->frozen = 0;
	fe->epoch++;
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

void fault_env_set_crash_model(struct env *e, int dir_model, int data_model, uint64_t seed)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	fe->dir_model = dir_model;
	fe->data_model = data_model;
	fe->rng = seed;
	pthread_mutex_unlock(&fe->mu);
}

uint64_t fault_env_op_count(struct env *e)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	uint64_t s = fe->seq;
	pthread_mutex_unlock(&fe->mu);
	return s;
}

uint64_t fault_env_count(struct env *e, unsigned op, const char *path_contains)
{
	struct fault_env *fe = FE(e);
	uint64_t total = 0;
	int idx = op_index(op);
	pthread_mutex_lock(&fe->mu);
	for (int b = 0; b < NAME_BUCKETS; b++)
		for (struct fname *n = fe->names[b]; n; n = n->next)
			if (path_contains == NULL || strstr(n->path, path_contains))
				total += n->counts[idx];
	pthread_mutex_unlock(&fe->mu);
	return total;
}

void fault_env_reset_counts(struct env *e)
{
	struct fault_env *fe = FE(e);
	pthread_mutex_lock(&fe->mu);
	for (int b = 0; b < NAME_BUCKETS; b++)
		for (struct fname *n = fe->names[b]; n; n = n->next)
			memset(n->counts, 0, sizeof(n->counts));
	pthread_mutex_unlock(&fe->mu);
}
