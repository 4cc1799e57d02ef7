/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Route table with Azure UDR semantics, and the neighbor (ARP) table.
 *
 * A struct vfw_route_table is immutable once built: it belongs to one policy
 * generation and is read by workers without locks. It holds the system
 * routes (each port's subnet as VnetLocal, 0.0.0.0/0 -> Internet when the
 * vnet port has a gateway) and the user routes; a user route with the same
 * prefix replaces the system route. Longest prefix match via rte_fib (DIR24_8).
 *
 * The neighbor table outlives generations. It has exactly one writer thread
 * (the slow-path/control thread) and lock-free readers (workers): entries are
 * found through an rte_hash created with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
 * and an entry's MAC and state live in one 64-bit word written atomically.
 * Deleted slots are reused only after an RCU grace period (the writer passes
 * the workers' rte_rcu_qsbr variable to vfw_neigh_create()).
 */
#ifndef VNETFW_ROUTE_H
#define VNETFW_ROUTE_H

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>

#include "vnetfw/common.h"
#include "vnetfw/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a route resolves to. Workers read it through the pointer that
 * vfw_route_lookup_bulk() returns. */
struct vfw_nexthop {
	uint8_t type;      /**< enum vfw_nh_type */
	uint8_t port;      /**< egress role (enum vfw_port_role) */
	uint16_t reserved; /**< zero */
	uint32_t route;    /**< index of the route entry (for counters); 32 bits
			        because a table may hold a million routes */
	uint32_t gw;       /**< next hop IPv4, network order; 0 = the
			        destination itself (VnetLocal) */
	int32_t neigh;     /**< neighbor slot of gw, -1 if gw == 0 or none */
};

/** A route as shown by "show routes". */
struct vfw_route_entry {
	char name[VFW_NAME_MAX];     /**< user name, or "system-vnet" etc. */
	struct vfw_prefix prefix;
	bool system;                 /**< a system route */
	bool overridden;             /**< system route hidden by a user route */
	struct vfw_nexthop nh;
};

struct vfw_route_table;
struct vfw_neigh_table;

/**
 * Build the table of a config. name must be unique among live tables
 * (it names the rte_fib). neigh, if not NULL, gets an incomplete entry for
 * every gateway next hop so that workers can use the slot directly.
 * Returns NULL and adds to errs (or sets rte_errno) on failure.
 */
struct vfw_route_table *vfw_route_table_build(const struct vfw_config *cfg,
					      const char *name,
					      struct vfw_neigh_table *neigh,
					      struct vfw_errors *errs);
/**
 * Drop one reference; the last one frees the table. The caller must know
 * that no worker reads the table any more (RCU grace period).
 */
void vfw_route_table_free(struct vfw_route_table *rt);

/**
 * Take another reference to rt (control thread only): a policy generation
 * whose routing inputs equal the previous one's shares its table instead
 * of building a copy. Returns rt.
 */
struct vfw_route_table *vfw_route_table_ref(struct vfw_route_table *rt);

/**
 * True when a and b give the same route table: the same port addresses,
 * vnet gateway and user routes (names included; source positions are
 * ignored).
 */
bool vfw_route_config_equal(const struct vfw_config *a,
			    const struct vfw_config *b);

/**
 * Longest-prefix match of n IPv4 destinations (host order). nh[i] is NULL
 * when no route matches (no default route configured).
 */
void vfw_route_lookup_bulk(const struct vfw_route_table *rt,
			   const uint32_t *dst_host,
			   const struct vfw_nexthop **nh, unsigned int n);

/**
 * Identity of a table: different for every table built in the process
 * (never 0), the same for generations that share one. Next hops are an
 * array (vfw_route_nh()), and an index into it keeps its meaning as long
 * as the identity does.
 */
uint64_t vfw_route_table_id(const struct vfw_route_table *rt);

/* What the per-packet path reads of a table; route.c lays its table out
 * so. */
struct vfw_route_table_hot_ {
	const void *fib;
	const struct vfw_nexthop *nh;
};

/**
 * Next hop i of rt's array: what vfw_route_lookup_bulk() returns points
 * into it (so its index is nh - vfw_route_nh(rt, 0)).
 */
static inline const struct vfw_nexthop *
vfw_route_nh(const struct vfw_route_table *rt, uint32_t i)
{
	return &((const struct vfw_route_table_hot_ *)(const void *)rt)->nh[i];
}

/** Number of entries (user + system), and entry i for display/counters. */
unsigned int vfw_route_count(const struct vfw_route_table *rt);
const struct vfw_route_entry *vfw_route_get(const struct vfw_route_table *rt,
					    unsigned int i);

/** Port role whose subnet contains ip (network order), or -1. */
int vfw_route_port_of(const struct vfw_config *cfg, uint32_t ip_be);

/* ---------------- neighbor table ---------------- */

enum vfw_neigh_state {
	VFW_NEIGH_FREE = 0,
	VFW_NEIGH_INCOMPLETE,   /**< request sent, no answer yet */
	VFW_NEIGH_REACHABLE,    /**< learned from a reply we asked for */
	VFW_NEIGH_STATIC,       /**< from config / control; never replaced */
	VFW_NEIGH_FAILED,       /**< no answer after retries */
};

/** A neighbor as shown by "show neighbors". */
struct vfw_neigh_info {
	uint32_t ip;            /**< network order */
	uint8_t port;
	enum vfw_neigh_state state;
	struct rte_ether_addr mac;
	uint64_t updated;       /**< tsc of the last change */
	uint32_t probes;        /**< requests sent in this resolution */
};

struct vfw_neigh_table *vfw_neigh_create(const char *name,
					 unsigned int capacity, int socket,
					 struct rte_rcu_qsbr *qsv);
void vfw_neigh_free(struct vfw_neigh_table *t);

/** Reader: slot of ip or -ENOENT. Lock-free. */
int vfw_neigh_find(const struct vfw_neigh_table *t, uint32_t ip_be);
/** Reader: bulk version; slots[i] = slot or -1. */
void vfw_neigh_find_bulk(const struct vfw_neigh_table *t,
			 const uint32_t *ip_be, int32_t *slots, unsigned int n);
/** Reader: 1 and *mac if slot currently holds ip_be and is usable
 * (reachable or static), else 0. Checking the address makes a stale slot
 * number (entry deleted and reused) harmless. */
int vfw_neigh_mac(const struct vfw_neigh_table *t, int32_t slot,
		  uint32_t ip_be, struct rte_ether_addr *mac);
/** vfw_neigh_mac(), inline, with the MAC as the low 48 bits of *mac in
 * memory order (byte i at bits 8i..8i+7) and the high 16 bits zero. */
static inline bool vfw_neigh_mac_word(const struct vfw_neigh_table *t,
				      int32_t slot, uint32_t ip_be,
				      uint64_t *mac);

/* Writer side (one thread). Return 0 or negative errno. */
int vfw_neigh_add_static(struct vfw_neigh_table *t, uint8_t port,
			 uint32_t ip_be, const struct rte_ether_addr *mac);
int vfw_neigh_del(struct vfw_neigh_table *t, uint32_t ip_be);
/** Start resolving ip on port: returns the slot (existing or new incomplete),
 * -ENOSPC when full. */
int vfw_neigh_resolve(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
		      uint64_t now);
/** An ARP reply arrived. Updates only incomplete/failed/reachable entries
 * (never static, never unknown IPs): returns 1 if learned, 0 if ignored. */
int vfw_neigh_learn(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
		    const struct rte_ether_addr *mac, uint64_t now);
/** Mark a probe sent / failed. */
void vfw_neigh_probe_sent(struct vfw_neigh_table *t, int32_t slot, uint64_t now);
void vfw_neigh_set_failed(struct vfw_neigh_table *t, int32_t slot, uint64_t now);
/** Snapshot of slot (writer side or tests). 0, or -ENOENT for free slots. */
int vfw_neigh_get(const struct vfw_neigh_table *t, int32_t slot,
		  struct vfw_neigh_info *info);
/** Iterate: returns next used slot >= from, or -1. */
int32_t vfw_neigh_next(const struct vfw_neigh_table *t, int32_t from);
unsigned int vfw_neigh_capacity(const struct vfw_neigh_table *t);

/*
 * Inline implementation. struct vfw_neigh_table (opaque, lib/route) starts
 * with struct vfw_neigh_hot_. An entry's reader-visible word holds the MAC
 * in bits 0-47 (byte i at bits 8i..8i+7, whatever the CPU's byte order)
 * and the state in bits 48-55; the writer stores ip before word, and
 * readers load word (acquire) before ip, so a usable word of a later owner
 * of the slot implies that owner's address is visible and a stale slot
 * never yields another host's MAC.
 */
#define VFW_NEIGH_STATE_SHIFT_ 48
#define VFW_NEIGH_MAC_MASK_ ((UINT64_C(1) << 48) - 1)

struct vfw_neigh_entry_ {
	/* read by workers */
	uint64_t word;
	uint32_t ip;              /* network order */
	/* writer only */
	uint8_t port;
	uint8_t pad[3];
	uint64_t updated;
	uint32_t probes;
	uint32_t pad2;
};

struct vfw_neigh_hot_ {
	struct vfw_neigh_entry_ *ent;
	unsigned int capacity;
};

static inline bool
vfw_neigh_mac_word(const struct vfw_neigh_table *t, int32_t slot,
		   uint32_t ip_be, uint64_t *mac)
{
	const struct vfw_neigh_hot_ *h = (const struct vfw_neigh_hot_ *)(const void *)t;
	const struct vfw_neigh_entry_ *e;
	unsigned int st;
	uint64_t w;

	if (unlikely((uint32_t)slot >= h->capacity))
		return false;
	e = &h->ent[slot];
	w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
	st = (unsigned int)(w >> VFW_NEIGH_STATE_SHIFT_) & 0xff;
	*mac = w & VFW_NEIGH_MAC_MASK_;
	/* usable (reachable or static) and still this address's slot; one
	 * branch for the caller, not one per test */
	return ((((1u << VFW_NEIGH_REACHABLE) | (1u << VFW_NEIGH_STATIC)) >>
		 (st & 31)) & 1u) &
	       (unsigned int)(__atomic_load_n(&e->ip, __ATOMIC_RELAXED) == ip_be);
}

#ifdef __cplusplus
}
#endif
#endif
