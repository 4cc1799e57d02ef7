/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the worker loop and the slow path. */
#ifndef VFW_DP_PRIVATE_H
#define VFW_DP_PRIVATE_H

#include <rte_ip.h>
#include <rte_ring.h>

#include "vnetfw/dataplane.h"

#define VFW_RING_SIZE 1024
#define VFW_HANDOFF_PAUSE_US 100 /* longest rx pause for a full hand-off ring */
#define VFW_PENDING_MAX 256     /* next hops being resolved at once */
#define VFW_PENDING_PKTS 4      /* packets held per next hop */
#define VFW_ARP_RETRY_MS 1000
#define VFW_ARP_PROBES 3
#define VFW_NEIGH_REACHABLE_S 300
#define VFW_NEIGH_FAILED_HOLD_S 20
/* A resolution this old without an answer may give its pending slot to a
 * new next hop when all are taken (a scan holds them all, for good, if
 * nothing gives way): it fails at once. A host on the link answers within
 * a millisecond or two. */
#define VFW_ARP_EVICT_MS 200

/*
 * A learned neighbor's MAC changes only when the old MAC stays silent: an
 * ARP that gives a reachable neighbor another MAC is held as a claim, a
 * request goes out for the address, and the claim is applied only if the
 * old MAC has not answered VFW_ARP_CONFIRM_MS later. A host that is alive
 * keeps its entry against any number of forged claims; a host replaced by
 * another (new MAC) is followed within that time.
 */
#define VFW_ARP_CLAIMS 64
#define VFW_ARP_CONFIRM_MS 1500

struct vfw_claim {
	uint64_t at;                 /**< tsc the claim came; 0: unused */
	uint32_t ip;
	int32_t slot;
	uint8_t port;
	struct rte_ether_addr mac;   /**< the MAC claimed */
};

struct vfw_dp;

/* vfw_dp_rss_hash(), inline for dispatch (dp.c builds the tables). */
extern uint32_t vfw_rss_tbl[8][256];

static inline uint32_t
vfw_rss_hash(uint32_t src_be, uint32_t dst_be)
{
	const uint8_t *a = (const uint8_t *)&src_be, *b = (const uint8_t *)&dst_be;

	return vfw_rss_tbl[0][a[0]] ^ vfw_rss_tbl[1][a[1]] ^
	       vfw_rss_tbl[2][a[2]] ^ vfw_rss_tbl[3][a[3]] ^
	       vfw_rss_tbl[4][b[0]] ^ vfw_rss_tbl[5][b[1]] ^
	       vfw_rss_tbl[6][b[2]] ^ vfw_rss_tbl[7][b[3]];
}

/*
 * ICMP errors the appliance originates (icmp_gen.c): time exceeded and
 * fragmentation needed, at most VFW_ICMP_ERR_RATE per second per worker
 * with bursts of VFW_ICMP_ERR_BURST (token bucket, like Linux's
 * icmp_msgs_per_sec / icmp_msgs_burst).
 */
#define VFW_ICMP_ERR_RATE 1000
#define VFW_ICMP_ERR_BURST 50
#define VFW_ICMP_ERR_TTL 64     /* TTL of the errors on the wire */
#define VFW_ICMP_QUOTE_MAX 576  /* RFC 1812 4.3.2.3: error datagram size */

struct vfw_token_bucket {
	uint64_t credit;   /* TSC cycles saved up, at most cap */
	uint64_t last;     /* TSC of the last refill */
	uint64_t cost;     /* cycles per token */
	uint64_t cap;      /* cycles of a full bucket (burst tokens) */
};

/* Most fragments one packet is cut into (frag.c); a 64 KiB datagram at
 * MTU 576 needs 120. */
#define VFW_FRAG_MAX 128

/*
 * Per-worker cache of neighbor slots for next hops that are not a route's
 * gateway (on-link destinations), so that a burst to a few hosts does not
 * pay a hash lookup per packet. Direct-mapped; a stale entry is harmless
 * because vfw_neigh_mac() checks that the slot still holds the address.
 */
#define VFW_NEIGH_CACHE 256
struct vfw_neigh_cache_entry {
	uint32_t ip;       /* network order; 0: empty */
	int32_t slot;
};

/* a worker's mailbox slot while the worker carries its request out */
#define VFW_REQ_TAKEN_ 0x7f

struct vfw_worker {
	/* hot, read-mostly */
	unsigned int id;
	unsigned int n_workers;
	struct vfw_dp *dp;
	struct vfw_policy_mgr *pm;
	struct vfw_ct *ct;
	struct vfw_snat_ports *snat;
	struct vfw_neigh_table *neigh;
	uint64_t hz;
	uint8_t role_of_port[RTE_MAX_ETHPORTS]; /* 0xff: not ours */
	struct vfw_dp_port ports[VFW_PORT_MAX];
	struct rte_eth_dev_tx_buffer *txb[VFW_PORT_MAX];
	struct rte_ring *to_slow;      /* worker -> slow path */
	struct rte_ring *from_slow;    /* slow path -> worker (ready to tx) */
	struct rte_ring *handoff_in[VFW_MAX_WORKERS];  /* [from] */
	struct rte_ring *handoff_out[VFW_MAX_WORKERS]; /* [to] */
	/* free entries of handoff_out[k] when last looked at: a lower bound,
	 * since only this worker fills the ring (worker.c, handoff_room()) */
	uint32_t handoff_room[VFW_MAX_WORKERS];
	/* rx paused for room on those rings since TSC handoff_held_at, for
	 * at most handoff_pause_max cycles (VFW_HANDOFF_PAUSE_US) */
	uint64_t handoff_held_at;
	uint64_t handoff_pause_max;
	uint32_t rss_reta_mask;  /**< redirection-table size - 1 (dataplane.h) */
	bool handoff_held;
	uint64_t seen_gen;
	vfw_dp_tx_fn tx_hook;
	void *tx_hook_arg;
	bool io;                        /* ports started */
	bool idle;                      /* last loop received nothing */

	/* mailbox: the control thread posts a request into an idle slot
	 * (NONE); the worker claims it (request -> TAKEN) before it reads
	 * anything, and frees the slot (NONE) when done. A request the
	 * worker has not claimed can be withdrawn (-> NONE); a claimed one
	 * is never touched until the worker frees the slot, so a buffer it
	 * writes is never freed under it. */
	_Atomic int req;                /* enum vfw_dp_req_type, or VFW_REQ_TAKEN_ */
	uint64_t req_gen;
	struct vfw_session_snapshot *req_out;
	unsigned int req_max;
	unsigned int req_count;
	/* incremental re-evaluation */
	uint64_t reeval_gen;
	uint32_t reeval_cursor;
	bool reeval_active;
	/* next-hop hints kept in sessions (worker.c, route_and_tx()): valid
	 * for route table hint_rt; while hint_sweep, only below hint_cursor
	 * (the sweep clears those of an older table) */
	uint64_t hint_rt;
	uint32_t hint_cursor;
	bool hint_sweep;

	/* appliance-generated ICMP errors (slow path of the route stage) */
	struct vfw_token_bucket icmp_tb;
	uint16_t icmp_ip_id;

	struct vfw_dp_stats stats;
	struct vfw_neigh_cache_entry neigh_cache[VFW_NEIGH_CACHE];
} __rte_cache_aligned;

struct vfw_pending {
	int32_t slot;
	uint32_t ip;
	uint8_t port;
	uint8_t probes;
	uint16_t n;
	uint64_t started;      /**< first request sent */
	uint64_t next_probe;
	struct rte_mbuf *pkts[VFW_PENDING_PKTS];
};

struct vfw_dp {
	unsigned int n_workers;
	struct vfw_worker *workers[VFW_MAX_WORKERS];
	struct vfw_dp_port ports[VFW_PORT_MAX];
	struct vfw_policy_mgr *pm;
	struct vfw_neigh_table *neigh;
	struct rte_mempool *pool;
	uint64_t hz;
	_Atomic bool stop;
	/* slow path state (control thread) */
	struct vfw_pending pending[VFW_PENDING_MAX];
	uint64_t next_neigh_scan;
	int32_t neigh_cursor;
	int32_t reclaim_cursor;  /**< where a full neighbor table is searched for a failed entry */
	uint64_t *refresh_sent;   /* [neighbor capacity] */
	struct vfw_claim claims[VFW_ARP_CLAIMS];
	unsigned int tx_rr;
	struct vfw_sp_stats sp;
};

/* Token bucket: full at init; take one token at TSC now. */
void vfw_tb_init(struct vfw_token_bucket *tb, uint64_t hz, uint32_t rate,
		 uint32_t burst, uint64_t now);
bool vfw_tb_take(struct vfw_token_bucket *tb, uint64_t now);

/*
 * An ICMP error about m (type, code; mtu for fragmentation needed) from
 * the appliance's address on m's ingress port to m's original sender,
 * quoting m as that sender sent it (NAT undone). m is an IPv4 packet at
 * the route stage, possibly rewritten by NAT; it is not consumed. Returns
 * the error, ready for the route stage, or NULL when RFC 1812 forbids an
 * error about m, the rate limit holds it back, or no mbuf is free (each
 * counted).
 */
struct rte_mbuf *vfw_icmp_error(struct vfw_worker *w, const struct vfw_policy *p,
				struct rte_mbuf *m, uint8_t type, uint8_t code,
				uint16_t mtu);

/*
 * Cut m (IPv4, DF clear, longer than port's MTU) into fragments that fit,
 * each a whole frame with m's L2 header and metadata, into out[0..max).
 * m is consumed. Returns the number of fragments; 0 when m was dropped
 * (counted: exceeds_mtu, mbuf_alloc_failed).
 */
unsigned int vfw_frag_ipv4(struct vfw_worker *w, struct rte_mbuf *m,
			   uint8_t port, struct rte_mbuf **out, unsigned int max);

/*
 * IPv4 header checksum of a packet the appliance built (an error, a
 * fragment), which still goes through the route stage to egress port
 * `port`. When the port has IPV4_CKSUM tx offload, the port computes it
 * and the field must leave as 0: the route stage's TTL decrement updates
 * the field incrementally (RFC 1624 eqn. 3, ~(~HC + ~m + m') with the TTL
 * word 0x0100 lower), which turns 0xfeff into exactly 0, so that is what
 * the field starts with (test_icmp_gen checks it is 0 on the way out).
 * Otherwise it is computed here.
 */
#define VFW_IP4_CSUM_BEFORE_TTL_DEC RTE_BE16(0xfeff)

static inline void
vfw_ip4_csum_out(const struct vfw_worker *w, struct rte_mbuf *m,
		 struct rte_ipv4_hdr *ip, uint16_t l2_len, uint16_t l3_len,
		 unsigned int port)
{
	if (port < VFW_PORT_MAX &&
	    (w->ports[port].tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		m->l2_len = l2_len;
		m->l3_len = l3_len;
		ip->hdr_checksum = VFW_IP4_CSUM_BEFORE_TTL_DEC;
		return;
	}
	ip->hdr_checksum = vfw_ip4_csum(ip, l3_len);
}

/* Hand a ready frame to a worker for transmission (slow path). */
int vfw_dp_sp_send(struct vfw_dp *dp, struct rte_mbuf *m, uint8_t role);

#endif
