/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Connection tracking: per-worker session tables.
 *
 * A session is found from either direction: it is entered into the table's
 * index under two keys, the original key (the first packet as it arrived, before
 * any NAT) and the reply key (what a reply looks like on the wire: the
 * reverse of the first packet after all NAT). NAT is implied by the pair:
 * a packet matching one key is rewritten to the reverse of the other key.
 *
 * Sessions live in a preallocated array sized at creation (max_sessions);
 * nothing is allocated per packet. Aging is amortised: vfw_ct_age() examines
 * a bounded number of entries per call, so a worker calls it every loop
 * iteration and never stalls.
 *
 * Times are in caller-chosen ticks (the worker passes rte_rdtsc(), tests pass
 * a fake clock); params.hz converts the configured seconds.
 *
 * Thread safety: a struct vfw_ct belongs to one worker; only that worker
 * calls any function on it. Other threads reach it through the worker (see
 * lib/dataplane requests), never directly.
 */
#ifndef VNETFW_CT_H
#define VNETFW_CT_H

#include <rte_branch_prediction.h>
#include <rte_tcp.h>

#include "vnetfw/common.h"
#include "vnetfw/config.h"
#include "vnetfw/pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vfw_ct_state {
	VFW_CT_FREE = 0,
	VFW_CT_TCP_SYN_SENT,     /**< SYN seen from originator */
	VFW_CT_TCP_SYN_RECV,     /**< SYN-ACK seen from responder */
	VFW_CT_TCP_ESTABLISHED,
	VFW_CT_TCP_CLOSING,      /**< FIN seen (either side) */
	VFW_CT_TCP_CLOSED,       /**< RST, or FIN both ways + final ACK */
	VFW_CT_UDP,              /**< one direction seen */
	VFW_CT_UDP_REPLIED,      /**< both directions seen */
	VFW_CT_ICMP,
	VFW_CT_OTHER,            /**< other IP protocols */
	VFW_CT_STATE_MAX
};

const char *vfw_ct_state_name(enum vfw_ct_state s);

/* vfw_session.flags */
#define VFW_SF_SNAT      0x01  /**< source translated (orig direction) */
#define VFW_SF_DNAT      0x02  /**< destination translated */
#define VFW_SF_HAIRPIN   0x04
#define VFW_SF_REEVAL    0x08  /**< scheduled for re-evaluation */

/**
 * One session: two cache lines, one key on each, so that a lookup of
 * either direction compares against exactly one line.
 */
struct vfw_session {
	struct vfw_flow_key orig;   /**< first packet as received */
	uint8_t state;              /**< enum vfw_ct_state */
	uint8_t flags;              /**< VFW_SF_* */
	uint8_t dir;                /**< enum vfw_dir of the first packet */
	uint8_t fin_seen;           /**< bit 0: orig FIN, bit 1: reply FIN */
	uint32_t rule;              /**< ACL rule index that allowed it */
	uint32_t generation;        /**< policy generation that allowed it */
	uint16_t snat_pool;         /**< NAT pool id when VFW_SF_SNAT */
	uint16_t nat_rule;          /**< SNAT/DNAT rule index (counters) */
	uint32_t nh_hint[2];        /**< per direction, the owner's: 0 at
				     *   creation, then whatever it keeps
				     *   (the worker: 1 + the next hop that
				     *   forwarded that direction, see
				     *   lib/dataplane) */
	/* --- second cache line --- */
	struct vfw_flow_key reply;  /**< a reply as it arrives (post-NAT) */
	uint64_t expire;            /**< tick when it times out */
	uint64_t packets[2];        /**< per direction: 0 orig, 1 reply */
} __rte_cache_aligned;

struct vfw_ct_params {
	const char *name;           /**< unique, <= 21 characters (names the
				     *   table's memzone "CT_<name>") */
	uint32_t max_sessions;
	int socket;
	uint64_t hz;                /**< ticks per second */
	bool tcp_loose;
	struct vfw_cfg_timeouts timeouts;
	uint32_t max_frags;         /**< fragment-tracking entries (0: 4096) */
};

struct vfw_ct;

struct vfw_ct *vfw_ct_create(const struct vfw_ct_params *p);
void vfw_ct_free(struct vfw_ct *ct);
/** Change timeouts / tcp_loose on a live table (owner thread only). */
void vfw_ct_set_params(struct vfw_ct *ct, bool tcp_loose,
		       const struct vfw_cfg_timeouts *t);

/** Hit encoding: session index << 1 | direction (0 orig, 1 reply); -1 miss. */
#define VFW_CT_HIT_IDX(h) ((uint32_t)(h) >> 1)
#define VFW_CT_HIT_DIR(h) ((uint32_t)(h) & 1)

/** Bulk lookup of n keys (n <= 64). hits[i] as above. */
void vfw_ct_lookup_bulk(struct vfw_ct *ct,
			const struct vfw_flow_key *const *keys,
			int32_t *hits, unsigned int n);

/**
 * Start loading the index buckets of n keys about to be given to
 * vfw_ct_create_session() (a burst of new flows: their reply keys'
 * buckets are cold), so that the creations do not wait for them one by
 * one. A hint only: nothing is read or changed.
 */
void vfw_ct_prefetch_keys(struct vfw_ct *ct,
			  const struct vfw_flow_key *const *keys, unsigned int n);

static inline struct vfw_session *vfw_ct_session(struct vfw_ct *ct,
						 uint32_t idx);

/**
 * Create a session. orig: first packet's key; reply: the key replies will
 * carry. Returns the session index, -ENOSPC when max_sessions is reached and no unproven
 * session could be removed to make room (vfw_ct_early_dropped()),
 * -EEXIST when either key is already in use by a session that keeps it
 * (e.g. a NAT port collision), -EINVAL when the packet may not open one.
 * The state is set from the first packet (tcp_flags for TCP).
 *
 * A key held by a session that may not keep it is taken over: the holder
 * is removed first (release callback included) and counted by
 * vfw_ct_replaced(). That is a TCP session in CLOSING or CLOSED when the
 * new one opens with a SYN (a port reused right after a close, possibly
 * by another flow that NAT maps onto the same tuple), and any session
 * past its expiry that aging has not reached yet.
 */
int vfw_ct_create_session(struct vfw_ct *ct, const struct vfw_flow_key *orig,
			  const struct vfw_flow_key *reply, enum vfw_dir dir,
			  uint8_t tcp_flags, uint64_t now);

/**
 * A packet of session idx in direction d (0 orig, 1 reply) was seen: update
 * TCP state, counters and the expiry. Returns 0 when the packet is valid for
 * the state, -1 when it must be dropped (counted by the caller as
 * VFW_DROP_CT_INVALID; e.g. a SYN on a closed session is treated as a new
 * flow by the caller after vfw_ct_delete()).
 */
static inline int vfw_ct_update(struct vfw_ct *ct, uint32_t idx,
				unsigned int d, uint8_t tcp_flags, uint64_t now);
/** vfw_ct_update() for the packets its inline fast path does not take. */
int vfw_ct_update_slow(struct vfw_ct *ct, uint32_t idx, unsigned int d,
		       uint8_t tcp_flags, uint64_t now);

/** True if a TCP packet with these flags may open a session (SYN w/o ACK,
 * or anything when tcp_loose). */
bool vfw_ct_tcp_may_open(const struct vfw_ct *ct, uint8_t tcp_flags);

/** Callback run for every session that is removed (aging, delete, or
 * replaced by vfw_ct_create_session()), e.g. to give back a NAT port. */
typedef void (*vfw_ct_release_cb)(void *arg, const struct vfw_session *s);
void vfw_ct_set_release_cb(struct vfw_ct *ct, vfw_ct_release_cb cb, void *arg);

void vfw_ct_delete(struct vfw_ct *ct, uint32_t idx);

/**
 * Expire up to budget sessions' worth of the table, starting where the last
 * call stopped. Returns the number of sessions removed.
 */
unsigned int vfw_ct_age(struct vfw_ct *ct, uint64_t now, unsigned int budget);

/** Sessions removed by vfw_ct_create_session() to take over a key. */
uint64_t vfw_ct_replaced(const struct vfw_ct *ct);

/** Sessions removed by vfw_ct_create_session() to make room in a full
 * table: unproven ones only (TCP handshake not completed, closed TCP, UDP
 * never answered). */
uint64_t vfw_ct_early_dropped(const struct vfw_ct *ct);

/**
 * Sessions removed so far, by any path (aging, delete, replacement). A
 * caller that holds session indices across calls sees from a change that
 * an index may now name another session.
 */
uint64_t vfw_ct_removed(const struct vfw_ct *ct);

/** Sessions in use, and per-state counts (array of VFW_CT_STATE_MAX). */
uint32_t vfw_ct_count(const struct vfw_ct *ct);
void vfw_ct_count_by_state(const struct vfw_ct *ct, uint32_t *counts);
uint32_t vfw_ct_capacity(const struct vfw_ct *ct);

/** Iterate used sessions: next used index >= from, or -1. */
int64_t vfw_ct_next(const struct vfw_ct *ct, uint32_t from);

/* ---- IP fragment tracking (non-first fragments carry no ports) ---- */

/**
 * Remember the L4 ports of a first fragment (key already complete) under
 * (src, dst, proto, frag id) for a few seconds. Returns 0 or -ENOSPC.
 */
int vfw_ct_frag_record(struct vfw_ct *ct, const struct vfw_flow_key *key,
		       uint32_t frag_id, uint64_t now);
/**
 * For a non-first fragment: fill key->sport/dport from its first fragment.
 * Returns 0, or -ENOENT if the first fragment was not seen (drop:
 * VFW_DROP_FRAG_NO_FIRST).
 */
int vfw_ct_frag_lookup(struct vfw_ct *ct, struct vfw_flow_key *key,
		       uint32_t frag_id, uint64_t now);

/*
 * Inline implementation. struct vfw_ct (opaque, lib/ct) starts with this:
 * what the per-packet fast path reads.
 */
struct vfw_ct_hot {
	struct vfw_session *sessions;
	uint64_t tmo[VFW_CT_STATE_MAX];  /**< timeout of each state, ticks */
};

static inline struct vfw_session *
vfw_ct_session(struct vfw_ct *ct, uint32_t idx)
{
	return &((struct vfw_ct_hot *)(void *)ct)->sessions[idx];
}

/* States in which a packet changes nothing but counters and expiry. */
#define VFW_CT_STATELESS_ ((1u << VFW_CT_UDP_REPLIED) | (1u << VFW_CT_ICMP) | \
			   (1u << VFW_CT_OTHER))

static inline int
vfw_ct_update(struct vfw_ct *ct, uint32_t idx, unsigned int d,
	      uint8_t tcp_flags, uint64_t now)
{
	const struct vfw_ct_hot *h = (const struct vfw_ct_hot *)(void *)ct;
	struct vfw_session *s = &h->sessions[idx];
	unsigned int st = s->state, fast;

	d &= 1;
	/*
	 * The common packets, inline: data and ACKs of an established TCP
	 * connection (ACK without FIN, SYN or RST), any packet of a flow
	 * whose state no packet changes, and UDP before the first reply.
	 * Everything else goes through the state machine (ct_state.c).
	 */
	fast = ((VFW_CT_STATELESS_ | ((d ^ 1u) << VFW_CT_UDP) |
		 ((unsigned int)((tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG |
					       RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG)) ==
				 RTE_TCP_ACK_FLAG) << VFW_CT_TCP_ESTABLISHED)) >> st) & 1u;

	/* one set of states the packet may take inline, one test: not one
	 * branch per state, as protocols and states arrive in no order a
	 * predictor learns */
	if (likely(fast)) {
		s->packets[d]++;
		s->expire = now + h->tmo[st];
		return 0;
	}
	return vfw_ct_update_slow(ct, idx, d, tcp_flags, now);
}

#ifdef __cplusplus
}
#endif
#endif
