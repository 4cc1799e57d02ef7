/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT pool registry and per-worker port allocators.
 *
 * Every worker gets the full range of every pool: ports are not split
 * between workers. Two workers may hand out the same translated
 * (address, port) at the same time; that is safe because the dataplane
 * sends both directions of a flow to the worker chosen from the addresses
 * outside the NAT (the remote peer), so two flows that could produce the
 * same reply tuple always meet in the same worker, whose allocator and
 * session table keep them apart. Splitting ranges would instead make a
 * busy worker run out of ports while others sit on idle ones.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "nat_private.h"

#define BITMAP_WORDS(n) (((n) + 63u) / 64u)

static inline bool
bit_test(const uint64_t *bm, uint32_t i)
{
	return (bm[i >> 6] >> (i & 63)) & 1;
}

static inline void
bit_set(uint64_t *bm, uint32_t i)
{
	bm[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline void
bit_clear(uint64_t *bm, uint32_t i)
{
	bm[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* Bytes of link arrays + bitmap for one class of a size-port range. */
static size_t
class_bytes(uint32_t size)
{
	return RTE_ALIGN_CEIL((size_t)size * sizeof(uint16_t) * 2, 8) +
	       BITMAP_WORDS(size) * sizeof(uint64_t);
}

/* The initial free list is the range in ascending order. */
static void
alloc_init(struct nat_port_alloc *a, uint8_t *mem, uint16_t lo, uint32_t size)
{
	uint32_t i;

	a->size = size;
	a->n_free = size;
	a->head = 0;
	a->lo = lo;
	a->alloc_fail = 0;
	a->prev = (uint16_t *)mem;
	a->next = a->prev + size;
	a->used = (uint64_t *)(mem + RTE_ALIGN_CEIL((size_t)size *
						      sizeof(uint16_t) * 2, 8));
	for (i = 0; i < size; i++) {
		a->next[i] = (uint16_t)(i + 1 == size ? 0 : i + 1);
		a->prev[i] = (uint16_t)(i == 0 ? size - 1 : i - 1);
	}
	/* the bitmap is zero: rte_zmalloc */
}

static struct nat_pool_ports *
pool_ports_create(uint32_t addr, uint16_t lo, uint16_t hi, int socket)
{
	uint32_t size = (uint32_t)hi - lo + 1;
	size_t cb = class_bytes(size);
	struct nat_pool_ports *pp;
	uint8_t *mem;
	unsigned int c;

	pp = rte_zmalloc_socket("vfw_nat_ports",
				sizeof(*pp) + cb * VFW_NAT_PCLASS_MAX,
				RTE_CACHE_LINE_SIZE, socket);
	if (pp == NULL)
		return NULL;
	pp->addr = addr;
	mem = (uint8_t *)(pp + 1);
	for (c = 0; c < VFW_NAT_PCLASS_MAX; c++)
		alloc_init(&pp->cls[c], mem + c * cb, lo, size);
	return pp;
}

struct vfw_nat_pools *
vfw_nat_pools_create(unsigned int n_workers, int socket)
{
	struct vfw_nat_pools *p;
	unsigned int w;

	if (n_workers == 0 || n_workers > RTE_MAX_LCORE) {
		rte_errno = EINVAL;
		return NULL;
	}
	p = rte_zmalloc_socket("vfw_nat_pools", sizeof(*p), 0, socket);
	if (p == NULL)
		goto nomem;
	p->n_workers = n_workers;
	p->socket = socket;
	p->w = rte_zmalloc_socket("vfw_nat_pools_w",
				  n_workers * sizeof(p->w[0]), 0, socket);
	if (p->w == NULL)
		goto nomem;
	/* One allocation per worker so no two workers share a cache line. */
	for (w = 0; w < n_workers; w++) {
		p->w[w] = rte_zmalloc_socket("vfw_snat_ports",
					     sizeof(*p->w[w]),
					     RTE_CACHE_LINE_SIZE, socket);
		if (p->w[w] == NULL)
			goto nomem;
	}
	return p;
nomem:
	vfw_nat_pools_free(p);
	rte_errno = ENOMEM;
	return NULL;
}

void
vfw_nat_pools_free(struct vfw_nat_pools *p)
{
	unsigned int w, i;

	if (p == NULL)
		return;
	if (p->w != NULL) {
		for (w = 0; w < p->n_workers; w++) {
			if (p->w[w] == NULL)
				continue;
			for (i = 0; i < VFW_NAT_MAX_POOLS; i++)
				rte_free(p->w[w]->pool[i]);
			rte_free(p->w[w]);
		}
		rte_free(p->w);
	}
	rte_free(p);
}

int
vfw_nat_pool_get(struct vfw_nat_pools *p, uint32_t addr_be, uint16_t lo,
		 uint16_t hi)
{
	struct nat_pool_ports *pp[RTE_MAX_LCORE];
	unsigned int i, w;

	if (p == NULL || lo > hi)
		return -EINVAL;
	for (i = 0; i < p->n_pools; i++)
		if (p->def[i].addr == addr_be && p->def[i].lo == lo &&
		    p->def[i].hi == hi)
			return (int)i;
	if (p->n_pools >= VFW_NAT_MAX_POOLS)
		return -ENOSPC;
	/* All workers' allocators exist before the id is handed out, so a
	 * generation naming it never meets a worker without one. */
	for (w = 0; w < p->n_workers; w++) {
		pp[w] = pool_ports_create(addr_be, lo, hi, p->socket);
		if (pp[w] == NULL) {
			while (w-- > 0)
				rte_free(pp[w]);
			return -ENOMEM;
		}
	}
	i = p->n_pools;
	p->def[i].addr = addr_be;
	p->def[i].lo = lo;
	p->def[i].hi = hi;
	/* Workers only look at this slot after the generation that refers to
	 * it is published (a release store in lib/policy); the release here
	 * keeps that true even for a reader that races ahead. */
	for (w = 0; w < p->n_workers; w++)
		__atomic_store_n(&p->w[w]->pool[i], pp[w], __ATOMIC_RELEASE);
	p->n_pools = i + 1;
	return (int)i;
}

struct vfw_snat_ports *
vfw_nat_pools_worker(struct vfw_nat_pools *p, unsigned int w)
{
	if (p == NULL || w >= p->n_workers)
		return NULL;
	return p->w[w];
}

uint32_t
vfw_nat_pool_in_use(const struct vfw_nat_pools *p, unsigned int id)
{
	uint32_t sum = 0;
	unsigned int w, c;

	if (p == NULL || id >= p->n_pools)
		return 0;
	for (w = 0; w < p->n_workers; w++) {
		const struct nat_pool_ports *pp = p->w[w]->pool[id];

		for (c = 0; c < VFW_NAT_PCLASS_MAX; c++)
			sum += pp->cls[c].size -
			       __atomic_load_n(&pp->cls[c].n_free,
					       __ATOMIC_RELAXED);
	}
	return sum;
}

uint64_t
vfw_nat_pool_alloc_failures(const struct vfw_nat_pools *p, unsigned int id)
{
	uint64_t sum = 0;
	unsigned int w, c;

	if (p == NULL || id >= p->n_pools)
		return 0;
	for (w = 0; w < p->n_workers; w++) {
		const struct nat_pool_ports *pp = p->w[w]->pool[id];

		for (c = 0; c < VFW_NAT_PCLASS_MAX; c++)
			sum += __atomic_load_n(&pp->cls[c].alloc_fail,
					       __ATOMIC_RELAXED);
	}
	return sum;
}

uint32_t
vfw_nat_pool_count(const struct vfw_nat_pools *p)
{
	return p == NULL ? 0 : p->n_pools;
}

int
vfw_nat_pool_info(const struct vfw_nat_pools *p, unsigned int id,
		  uint32_t *addr_be, uint16_t *lo, uint16_t *hi)
{
	if (p == NULL || id >= p->n_pools)
		return -ENOENT;
	if (addr_be != NULL)
		*addr_be = p->def[id].addr;
	if (lo != NULL)
		*lo = p->def[id].lo;
	if (hi != NULL)
		*hi = p->def[id].hi;
	return 0;
}

/* ---- worker side ---- */

static inline struct nat_port_alloc *
worker_alloc(struct vfw_snat_ports *wp, unsigned int pool,
	     enum vfw_nat_pclass c)
{
	struct nat_pool_ports *pp;

	if (unlikely(wp == NULL || pool >= VFW_NAT_MAX_POOLS ||
		     (unsigned int)c >= VFW_NAT_PCLASS_MAX))
		return NULL;
	pp = wp->pool[pool];
	if (unlikely(pp == NULL))
		return NULL;
	return &pp->cls[c];
}

/* Take index i off the free list (it is on it). */
static inline void
list_unlink(struct nat_port_alloc *a, uint32_t i)
{
	uint16_t p = a->prev[i], n = a->next[i];

	a->next[p] = n;
	a->prev[n] = p;
	if (a->head == i)
		a->head = n;
}

int
vfw_snat_alloc(struct vfw_snat_ports *wp, unsigned int pool,
	       enum vfw_nat_pclass c, uint16_t preferred)
{
	struct nat_port_alloc *a = worker_alloc(wp, pool, c);
	uint32_t i;

	if (unlikely(a == NULL))
		return -EINVAL;
	if (unlikely(a->n_free == 0)) {
		__atomic_store_n(&a->alloc_fail, a->alloc_fail + 1,
				 __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	/* Below lo the subtraction wraps past size: one compare covers both
	 * ends of the range. */
	i = (uint32_t)preferred - a->lo;
	if (i >= a->size || bit_test(a->used, i))
		i = a->head;
	list_unlink(a, i);
	bit_set(a->used, i);
	__atomic_store_n(&a->n_free, a->n_free - 1, __ATOMIC_RELAXED);
	return (int)(a->lo + i);
}

void
vfw_snat_free(struct vfw_snat_ports *wp, unsigned int pool,
	      enum vfw_nat_pclass c, uint16_t port)
{
	struct nat_port_alloc *a = worker_alloc(wp, pool, c);
	uint32_t i, h, t;

	if (unlikely(a == NULL))
		return;
	i = (uint32_t)port - a->lo;
	/* A port never handed out (or freed twice) must not enter the list a
	 * second time: that would corrupt it. */
	if (unlikely(i >= a->size || !bit_test(a->used, i)))
		return;
	bit_clear(a->used, i);
	/* Push at the tail: a just-freed port is reused last, which gives a
	 * peer's TIME_WAIT for the old connection the longest time to pass. */
	if (a->n_free == 0) {
		a->head = i;
		a->prev[i] = (uint16_t)i;
		a->next[i] = (uint16_t)i;
	} else {
		h = a->head;
		t = a->prev[h];
		a->next[t] = (uint16_t)i;
		a->prev[i] = (uint16_t)t;
		a->next[i] = (uint16_t)h;
		a->prev[h] = (uint16_t)i;
	}
	__atomic_store_n(&a->n_free, a->n_free + 1, __ATOMIC_RELAXED);
}

enum vfw_nat_pclass
vfw_nat_pclass_of(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return VFW_NAT_TCP;
	case IPPROTO_UDP:
		return VFW_NAT_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return VFW_NAT_ICMP;
	default:
		return VFW_NAT_PCLASS_MAX;
	}
}

uint32_t
vfw_snat_pool_addr(const struct vfw_snat_ports *wp, unsigned int pool)
{
	if (wp == NULL || pool >= VFW_NAT_MAX_POOLS || wp->pool[pool] == NULL)
		return 0;
	return wp->pool[pool]->addr;
}
