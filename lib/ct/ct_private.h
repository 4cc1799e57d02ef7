/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/ct shared by ct.c (table), ct_state.c (per-packet state
 * machine) and ct_frag.c (fragment tracking). Not installed; nothing outside
 * lib/ct and its unit test may include it.
 */
#ifndef VNETFW_CT_PRIVATE_H
#define VNETFW_CT_PRIVATE_H

#include <rte_common.h>

#include "vnetfw/ct.h"

/*
 * Longest params.name accepted. rte_hash names its key-slot ring "HT_<name>"
 * and, with the extendable table, "HT_EXT_<name>"; rte_ring prefixes "RG_"
 * to make a memzone name of at most RTE_MEMZONE_NAMESIZE - 1 (31) characters,
 * so 31 - 10 are left for us. A longer name would be truncated by rte_hash
 * and two workers' tables could then collide.
 */
#define CT_NAME_MAX 21

/* rte_hash stores the data word as a pointer; session index << 1 | dir. */
#define CT_MAX_SESSIONS (1u << 29)

/* expire of a free slot: lets the aging sweep skip free slots by reading
 * the expiry alone. */
#define CT_EXPIRE_NEVER UINT64_MAX

/*
 * A RST closes at once; the session stays only so that packets still in
 * flight (the peer's own RST, a retransmitted FIN) find it. Linux conntrack
 * uses 10 s for its CLOSE state; tcp_closing applies when it is shorter.
 */
#define CT_TCP_CLOSED_TIMEOUT_S 10

/* How long a first fragment's ports are remembered (RFC 791 suggests a
 * reassembly timer of 15 s; real fragment trains arrive within
 * milliseconds, and a short life keeps the small table from filling). */
#define CT_FRAG_TIMEOUT_S 5
#define CT_FRAG_DEFAULT 4096u
#define CT_FRAG_MAX (1u << 24)
/* Slots per bucket; a datagram may live in either of two buckets. */
#define CT_FRAG_BUCKET 8u

/* What identifies a fragmented datagram; compared and hashed as one block. */
struct ct_frag_key {
	uint32_t src[4];
	uint32_t dst[4];
	uint32_t id;
	uint8_t proto;
	uint8_t af;
	uint16_t zero;
};

/* One remembered first fragment. */
struct ct_frag_slot {
	struct ct_frag_key k;
	uint16_t sport;        /**< network order, as in the flow key */
	uint16_t dport;
};

/*
 * Tags and expiry times are kept apart from the slots so that choosing a
 * slot reads two short runs of memory, and a slot is touched only on a
 * likely match.
 */
struct ct_frag_table {
	uint32_t *tag;         /**< hash | 1 per slot; 0 = never used */
	uint64_t *expire;      /**< live while now < expire; 0 = never used */
	struct ct_frag_slot *slot;
	uint32_t bucket_mask;  /**< buckets - 1 (a power of two) */
	uint64_t timeout;      /**< ticks */
};

struct vfw_ct {
	/* Must stay first: vfw_ct_session() in ct.h reads it blindly. */
	struct vfw_session *sessions;
	struct rte_hash *hash;
	/* Per-state expiry in ticks, indexed by enum vfw_ct_state. */
	uint64_t tmo[VFW_CT_STATE_MAX];
	bool tcp_loose;
	uint32_t max_sessions;
	uint32_t n_free;       /**< entries on free_stack */
	uint32_t *free_stack;  /**< free session indices; top is [n_free-1] */
	uint32_t age_cursor;   /**< next slot vfw_ct_age() examines */
	uint32_t by_state[VFW_CT_STATE_MAX];
	uint64_t hz;
	vfw_ct_release_cb release_cb;
	void *release_arg;
	struct ct_frag_table frag;
	char name[CT_NAME_MAX + 1];
} __rte_cache_aligned;

/* Move a session to a new state, keeping the per-state counters exact. */
static inline void
ct_set_state(struct vfw_ct *ct, struct vfw_session *s, enum vfw_ct_state st)
{
	ct->by_state[s->state]--;
	ct->by_state[st]++;
	s->state = (uint8_t)st;
}

/* ct_state.c */
void ct_timeouts_to_ticks(struct vfw_ct *ct, const struct vfw_cfg_timeouts *t);
/* Initial state for a first packet; -EINVAL when it may not open. */
int ct_initial_state(const struct vfw_ct *ct, uint8_t proto, uint8_t tcp_flags,
		     uint8_t *fin_seen);

/* ct_frag.c */
int ct_frag_init(struct ct_frag_table *f, uint32_t max_frags, uint64_t hz,
		 int socket);
void ct_frag_fini(struct ct_frag_table *f);

#endif
