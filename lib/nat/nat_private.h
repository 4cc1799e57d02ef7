/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/nat, shared by pool.c (port allocators), nat.c (the
 * per-generation tables) and rewrite.c (packet rewriting).
 */
#ifndef VNETFW_NAT_PRIVATE_H
#define VNETFW_NAT_PRIVATE_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_common.h>

#include "vnetfw/nat.h"

/*
 * One port allocator: the free ports of a range [lo, lo + size) kept in a
 * circular doubly linked list of indices (port - lo). A circular list needs
 * no "nil" index, so a full 65536-port range still fits uint16_t links.
 * used[] tells in O(1) whether an index is on the list, which makes
 * "take the preferred port if free" an O(1) unlink from the middle.
 *
 * Written by the owning worker only. n_free and alloc_fail are also read by
 * the control thread for counters, hence relaxed atomic accesses on them.
 */
struct nat_port_alloc {
	uint32_t size;         /* hi - lo + 1: 1..65536 */
	uint32_t n_free;       /* ports on the free list */
	uint32_t head;         /* first free index; meaningless if n_free == 0 */
	uint16_t lo;
	uint16_t pad;
	uint64_t alloc_fail;   /* allocations refused: range exhausted */
	uint16_t *prev;        /* size entries */
	uint16_t *next;        /* size entries */
	uint64_t *used;        /* bitmap, size bits: 1 = handed out */
};

/* One pool as seen by one worker: an allocator per protocol class. The
 * link arrays and bitmaps follow in the same allocation. */
struct nat_pool_ports {
	uint32_t addr;         /* translated address, network order */
	struct nat_port_alloc cls[VFW_NAT_PCLASS_MAX];
} __rte_cache_aligned;

/* One worker's view of every pool. Pointers are filled by the control
 * thread before any generation that uses the pool id is published. */
struct vfw_snat_ports {
	struct nat_pool_ports *pool[VFW_NAT_MAX_POOLS];
} __rte_cache_aligned;

struct nat_pool_def {
	uint32_t addr;   /* network order */
	uint16_t lo, hi; /* host order */
};

struct vfw_nat_pools {
	unsigned int n_workers;
	int socket;
	uint32_t n_pools;
	struct nat_pool_def def[VFW_NAT_MAX_POOLS];
	struct vfw_snat_ports **w; /* n_workers entries */
};

/* A prefix compiled for matching: (addr & mask) == net, word by word. */
struct nat_prefix {
	uint8_t af;
	uint32_t net[4];   /* network order, host bits cleared */
	uint32_t mask[4];  /* network order */
};

/* Where an SNAT rule's prefix lists live in vfw_nat.prefixes. */
struct nat_snat_match {
	uint32_t src_off, n_src;
	uint32_t dst_off, n_dst;   /* n_dst == 0: any destination */
	uint32_t exc_off, n_exc;
};

/* DNAT map entry, sorted by key for binary search. */
struct nat_dnat_ent {
	uint64_t key;   /* proto << 48 | dst (host order) << 16 | dport (host) */
	uint32_t rule;  /* index into vfw_nat.dnat (config order) */
	uint32_t pad;
};

struct vfw_nat {
	char name[VFW_NAME_MAX];
	int hairpin_pool;              /* -1 when the cluster port has no IPv4 */
	unsigned int n_dnat;
	unsigned int n_snat;
	unsigned int n_addrs;
	struct vfw_dnat_rule *dnat;    /* config order */
	struct nat_dnat_ent *dnat_map; /* sorted by key */
	struct vfw_snat_rule *snat;    /* config order */
	struct nat_snat_match *snat_match;
	struct nat_prefix *prefixes;
	uint32_t *addrs;               /* sorted unique NAT addresses (host order) */
};

static inline uint64_t
nat_dnat_key(uint8_t proto, uint32_t dst_be, uint16_t dport_be)
{
	return (uint64_t)proto << 48 |
	       (uint64_t)rte_be_to_cpu_32(dst_be) << 16 |
	       rte_be_to_cpu_16(dport_be);
}

#endif
