/* The block buffer pool: see bpool.h for why and how. */
#include "lib/util/bpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "lib/util/error.h"
#include "lib/util/thread.h"

#if defined(__SANITIZE_ADDRESS__)
#define BPOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BPOOL_ASAN 1
#endif
#endif
#ifdef BPOOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define GRANULE ((size_t)256)
#define NUM_CLASSES (BPOOL_MAX_SLOT / GRANULE)
#define CHUNK ((size_t)256 << 10)
/* The chunk's header takes the first granule; slots follow it. */
#define HEADER GRANULE

struct free_slot {
	struct free_slot *next;
};

struct chunk {
	struct chunk *prev, *next; /* in its class's list of chunks with room */
	struct free_slot *free;    /* slots freed, to hand out again */
	uint32_t live;             /* slots handed out */
	uint32_t carved;           /* slots ever handed out (lazily carved) */
	uint32_t nslots;
	uint32_t cls;
	int on_list;
};

_Static_assert(sizeof(struct chunk) <= HEADER, "a chunk header fits its granule");

struct bpool {
	struct mutex mu;
	/* Guarded by mu: per class (index = slot size / GRANULE - 1), the chunks
	 * with a free or uncarved slot; and the bytes mapped. */
	struct chunk *room[NUM_CLASSES];
	size_t mapped;
};

int bpool_create(struct bpool **out)
{
	*out = NULL;
	struct bpool *p = calloc(1, sizeof(*p));
	if (!p)
		return err_nomem("block buffer pool");
	int rc = mutex_init(&p->mu);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static void unmap_chunk(struct chunk *c)
{
	UNPOISON(c, CHUNK);
	munmap(c, CHUNK);
}

void bpool_destroy(struct bpool *p)
{
	if (!p)
		return;
	/* With every buffer freed, every chunk is empty, and an empty chunk is
	 * always on its class's list. */
	for (size_t i = 0; i < NUM_CLASSES; i++) {
		struct chunk *c = p->room[i];
		while (c) {
			struct chunk *next = c->next;
			unmap_chunk(c);
			c = next;
		}
	}
	mutex_destroy(&p->mu);
	free(p);
}

static size_t class_of(size_t n)
{
	return (n + GRANULE - 1) / GRANULE - 1;
}

size_t bpool_charge(const struct bpool *p, size_t n)
{
	if (!p || n == 0 || n > BPOOL_MAX_SLOT)
		return n;
	return (class_of(n) + 1) * GRANULE;
}

/* A chunk mapped at an address that is a multiple of CHUNK, or NULL. */
static struct chunk *map_chunk(void)
{
	char *m = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)m + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
	char *aligned = (char *)start;
	if (aligned > m)
		munmap(m, (size_t)(aligned - m));
	size_t tail = (size_t)(m + 2 * CHUNK - (aligned + CHUNK));
	if (tail)
		munmap(aligned + CHUNK, tail);
	return (struct chunk *)aligned;
}

static void list_remove(struct bpool *p, struct chunk *c) SHALE_REQUIRES(p->mu)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->room[c->cls] = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->on_list = 0;
}

static void list_push(struct bpool *p, struct chunk *c) SHALE_REQUIRES(p->mu)
{
	c->prev = NULL;
	c->next = p->room[c->cls];
	if (c->next)
		c->next->prev = c;
	p->room[c->cls] = c;
	c->on_list = 1;
}

void *bpool_alloc(struct bpool *p, size_t n)
{
	if (!p || n == 0 || n > BPOOL_MAX_SLOT)
		return malloc(n ? n : 1);
	size_t cls = class_of(n);
	size_t slot = (cls + 1) * GRANULE;
	mutex_lock(&p->mu);
	struct chunk *c = p->room[cls];
	if (!c) {
		c = map_chunk();
		if (!c) {
			mutex_unlock(&p->mu);
			return NULL;
		}
		c->free = NULL;
		c->live = c->carved = 0;
		c->nslots = (uint32_t)((CHUNK - HEADER) / slot);
		c->cls = (uint32_t)cls;
		POISON((char *)c + HEADER, CHUNK - HEADER);
		list_push(p, c);
		p->mapped += CHUNK;
	}
	char *buf;
	if (c->free) {
		struct free_slot *f = c->free;
		UNPOISON(f, sizeof(*f));
		c->free = f->next;
		buf = (char *)f;
	} else {
		buf = (char *)c + HEADER + (size_t)c->carved * slot;
		c->carved++;
	}
	c->live++;
	if (c->live == c->nslots)
		list_remove(p, c);
	mutex_unlock(&p->mu);
	UNPOISON(buf, n);
	return buf;
}

void bpool_free(struct bpool *p, void *buf, size_t n)
{
	if (!buf)
		return;
	if (!p || n == 0 || n > BPOOL_MAX_SLOT) {
		free(buf);
		return;
	}
	struct chunk *c = (struct chunk *)((uintptr_t)buf & ~(uintptr_t)(CHUNK - 1));
	size_t slot = ((size_t)c->cls + 1) * GRANULE;
	POISON(buf, slot);
	mutex_lock(&p->mu);
	struct free_slot *f = buf;
	UNPOISON(f, sizeof(*f));
	f->next = c->free;
	POISON(f, sizeof(*f));
	c->free = f;
	c->live--;
	if (!c->on_list)
		list_push(p, c);
	/* An empty chunk goes back to the system unless it is the only one of
	 * its class with room: a class that empties and refills at once (one
	 * block evicted for one read) does not map and unmap each time. */
	if (c->live == 0 && (c->next || c->prev)) {
		list_remove(p, c);
		p->mapped -= CHUNK;
		unmap_chunk(c);
	}
	mutex_unlock(&p->mu);
}

size_t bpool_mapped(struct bpool *p)
{
	mutex_lock(&p->mu);
	size_t m = p->mapped;
	mutex_unlock(&p->mu);
	return m;
}
