/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The data plane: workers (rx burst -> parse -> conntrack -> DNAT -> local
 * -> ACL -> session create / SNAT -> route -> rewrite -> tx), the hand-off
 * between workers, and the slow path (ARP, next-hop resolution) that runs on
 * the control thread.
 *
 * Flow ownership: with N > 1 workers every IPv4 packet is handed to the
 * worker chosen from the addresses of its flow that lie *outside* the
 * appliance's NAT domain (see struct vfw_policy.inside): both directions of
 * a flow, translated or not, carry the same outside addresses, so both reach
 * the worker that holds the session. ICMP errors are dispatched by their
 * embedded header; fragments by addresses only, so all fragments of a
 * datagram meet.
 *
 * Thread safety: each struct vfw_worker is used by its own lcore only.
 * The control thread talks to workers through single-producer rings and a
 * request mailbox (struct vfw_dp_request); counters are per worker and are
 * summed by readers without locks (64-bit loads).
 */
#ifndef VNETFW_DATAPLANE_H
#define VNETFW_DATAPLANE_H

#include <stdatomic.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "vnetfw/ct.h"
#include "vnetfw/nat.h"
#include "vnetfw/policy.h"
#include "vnetfw/route.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFW_BURST 32

/** Non-drop event counters (X(enum, "name")). */
#define VFW_EVENTS(X)                                   \
	X(FORWARDED, "forwarded")                       \
	X(CT_HIT, "session_hits")                       \
	X(CT_NEW, "sessions_created")                   \
	X(CT_REPLACED, "sessions_replaced")             \
	X(CT_EARLY_DROP, "sessions_early_dropped")      \
	X(ACL_ALLOW, "acl_allowed")                     \
	X(DNAT, "dnat_translated")                      \
	X(SNAT, "snat_translated")                      \
	X(HAIRPIN, "hairpin")                           \
	X(ICMP_ERR_XLATE, "icmp_errors_related")        \
	X(ECHO_REPLY, "icmp_echo_answered")             \
	X(ARP_REPLY, "arp_answered_by_worker")          \
	X(TO_SLOWPATH, "to_slowpath")                   \
	X(FROM_SLOWPATH, "from_slowpath")               \
	X(HANDOFF_OUT, "handoff_out")                   \
	X(HANDOFF_IN, "handoff_in")                     \
	X(HANDOFF_RX_PAUSED, "handoff_rx_paused")       \
	X(FRAG, "fragments")                            \
	X(REEVAL_DROPPED, "sessions_reevaluated_out")   \
	X(CT_EXPIRED, "sessions_expired")              \
	X(ICMP_ERR_SENT, "icmp_errors_sent")            \
	X(ICMP_ERR_LIMITED, "icmp_errors_rate_limited") \
	X(FRAGMENTED, "packets_fragmented")             \
	X(FRAGS_OUT, "fragments_created")

#define VFW_EV_ENUM_(e, s) VFW_EV_##e,
enum vfw_event { VFW_EVENTS(VFW_EV_ENUM_) VFW_EV_MAX };
#undef VFW_EV_ENUM_
const char *vfw_event_name(enum vfw_event e);

/** Counters of one worker (or of the slow path), written by one thread. */
struct vfw_dp_stats {
	uint64_t rx[VFW_PORT_MAX];
	uint64_t tx[VFW_PORT_MAX];
	uint64_t ev[VFW_EV_MAX];
	uint64_t drops[VFW_DROP_MAX];
} __rte_cache_aligned;

/** Slow-path counters (control thread). */
struct vfw_sp_stats {
	uint64_t arp_requests_answered;
	uint64_t arp_replies_learned;
	uint64_t arp_ignored;
	uint64_t arp_requests_sent;
	uint64_t resolved_sent;       /**< held packets sent after resolution */
	uint64_t drops[VFW_DROP_MAX];
};

/** A port as the data plane sees it. */
struct vfw_dp_port {
	uint16_t port_id;
	uint16_t n_rxq;
	uint16_t n_txq;
	uint16_t mtu;
	struct rte_ether_addr mac;
	uint32_t ip;               /**< interface address, network order */
	uint64_t rx_offloads;      /**< RTE_ETH_RX_OFFLOAD_* enabled */
	uint16_t rss_reta_size;    /**< entries of the port's RSS redirection
				    *   table, filled round robin over its rx
				    *   queues (a power of two); 0: no RSS */
	uint64_t tx_offloads;      /**< RTE_ETH_TX_OFFLOAD_* enabled: with
				    *   IPV4_CKSUM, fragments and generated
				    *   errors leave their header checksum
				    *   to the port */
};

/**
 * Flow ownership with several workers. The owner of an IPv4 packet is
 *   vfw_dp_rss_owner(vfw_dp_rss_hash(outside(src), outside(dst)), R - 1, N)
 *   = (hash mod R) mod N
 * where outside() is the vnet port's address for an address inside the NAT
 * domain and the address itself otherwise: the Toeplitz
 * hash with vfw_rss_key (symmetric: both directions hash alike) mapped
 * through a redirection table of R entries filled round robin. R is the
 * table size the ports report (struct vfw_dp_port.rss_reta_size: the vnet
 * port's, else the cluster port's), VFW_RSS_RETA_SIZE when neither has
 * RSS. That is the queue a NIC picks for the packet when its RSS hashes the
 * IPv4 addresses with this key and its table is filled round robin, which
 * is what vnetfw programs at start: a flow whose addresses are all outside
 * arrives on its owner's queue and is not handed off, and so does a NAT
 * flow's vnet side when NAT uses the vnet port's address.
 */
#define VFW_RSS_KEY_LEN 40
#define VFW_RSS_RETA_SIZE 128
extern const uint8_t vfw_rss_key[VFW_RSS_KEY_LEN];

/** Toeplitz hash (vfw_rss_key) of the IPv4 pair (src, dst), both in
 * network order, as rte_softrss() computes it; equal for (dst, src). */
uint32_t vfw_dp_rss_hash(uint32_t src_be, uint32_t dst_be);

/** The worker (queue) of a hash in a round-robin redirection table of
 * reta_mask + 1 entries (a power of two) over n workers. */
static inline unsigned int
vfw_dp_rss_owner(uint32_t hash, uint32_t reta_mask, unsigned int n)
{
	return (hash & reta_mask) % n;
}

struct vfw_dp_params {
	unsigned int n_workers;
	struct vfw_dp_port ports[VFW_PORT_MAX];
	struct vfw_policy_mgr *pm;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct rte_mempool *pool;
	const struct vfw_config *cfg;   /**< initial config (conntrack sizes) */
	int socket;
	uint64_t hz;
	bool ports_started;             /**< false: bench/fuzz, no ethdev I/O */
};

/** Mailbox requests from the control thread to one worker. */
enum vfw_dp_req_type {
	VFW_REQ_NONE = 0,
	VFW_REQ_SESSIONS,     /**< copy up to max sessions into buf */
	VFW_REQ_REEVALUATE,   /**< re-check sessions against generation gen */
	VFW_REQ_FLUSH,        /**< delete every session */
};

struct vfw_session_snapshot {
	struct vfw_session s;
	uint16_t worker;
};

struct vfw_dp;
struct vfw_worker;

struct vfw_dp *vfw_dp_create(const struct vfw_dp_params *p);
void vfw_dp_free(struct vfw_dp *dp);
struct vfw_worker *vfw_dp_worker(struct vfw_dp *dp, unsigned int i);
unsigned int vfw_dp_n_workers(const struct vfw_dp *dp);

/** lcore entry point; arg is a struct vfw_worker *. Returns at stop. */
int vfw_dp_worker_main(void *arg);
void vfw_dp_stop(struct vfw_dp *dp);

/**
 * Run the pipeline on n received packets (the same function the worker
 * loop calls; exposed for vnetfw-bench and the fuzzers). Packets are
 * consumed (sent, queued or freed). Returns the number forwarded.
 */
uint16_t vfw_dp_process(struct vfw_worker *w, struct rte_mbuf **pkts,
			uint16_t n, uint64_t now);
/** Flush transmit buffers (bench/fuzz; the loop does it itself). */
void vfw_dp_flush(struct vfw_worker *w);
/**
 * One pass of the worker loop (vfw_dp_worker_main() without its RCU
 * quiescent report): hand-offs in, rx and dispatch, housekeeping, flush.
 * For tests that step workers in a chosen order. Returns the packets taken
 * (received plus taken from hand-off rings).
 */
unsigned int vfw_dp_worker_poll(struct vfw_worker *w, uint64_t now);
/** Worker housekeeping as the loop does it: slow-path returns, mailbox,
 * aging. */
void vfw_dp_housekeeping(struct vfw_worker *w, uint64_t now);
/**
 * Bench/fuzz hook: when set, packets a worker would transmit are passed to
 * fn instead of an ethdev (fn owns them).
 */
typedef void (*vfw_dp_tx_fn)(void *arg, uint8_t role, struct rte_mbuf **pkts,
			     uint16_t n);
void vfw_dp_set_tx_hook(struct vfw_worker *w, vfw_dp_tx_fn fn, void *arg);

/** Slow path: handle ARP and held packets, age neighbors. Control thread. */
int vfw_dp_slowpath_poll(struct vfw_dp *dp, uint64_t now);

/** Sum of all workers' counters (racy reads of monotonic counters). */
void vfw_dp_stats_sum(const struct vfw_dp *dp, struct vfw_dp_stats *out);
const struct vfw_sp_stats *vfw_dp_sp_stats(const struct vfw_dp *dp);
/** Per-state session counts over all workers ([VFW_CT_STATE_MAX]), total. */
uint32_t vfw_dp_sessions(const struct vfw_dp *dp, uint32_t *by_state);

/**
 * Ask every worker to do req and wait (bounded by timeout_ms) until all
 * finished. For VFW_REQ_SESSIONS, out/max receive up to max snapshots and
 * the count is returned. Control thread. Returns -ETIMEDOUT on timeout,
 * also when a worker has not taken an earlier request (a re-evaluation) in
 * that time: that one is left in place, never replaced.
 */
int vfw_dp_request(struct vfw_dp *dp, enum vfw_dp_req_type req, uint64_t gen,
		   struct vfw_session_snapshot *out, unsigned int max,
		   unsigned int timeout_ms);
/** Start re-evaluating sessions against generation gen: posted to every
 * worker's mailbox (once the worker has taken what was there), not waited
 * for. */
void vfw_dp_reevaluate(struct vfw_dp *dp, uint64_t gen);

#ifdef __cplusplus
}
#endif
#endif
