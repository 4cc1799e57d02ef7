/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * NAT: DNAT port-forwards, SNAT rules and port pools, packet rewriting with
 * incremental checksums, ICMP error translation.
 *
 * Three lifetimes:
 * - struct vfw_nat: the DNAT map and SNAT rules of one policy generation;
 *   immutable once built, read lock-free by workers.
 * - struct vfw_nat_pools: registry of SNAT pools (translated address + port
 *   range) kept by the control plane across generations; a pool id, once
 *   given, keeps meaning the same address and range for the process's life,
 *   so sessions that outlive a generation can give their port back.
 * - struct vfw_snat_ports: one worker's port allocators, one per pool and
 *   protocol class (TCP, UDP, ICMP id). O(1) allocate (keeping the
 *   original port when it is free) and O(1) free: a doubly linked free list
 *   over the range. The control plane creates allocators for new pools
 *   before it publishes the generation that refers to them.
 *
 * Flow ownership across workers: the dataplane hands a packet to the worker
 * that owns its flow, computed from the addresses outside the NAT (see
 * lib/dataplane), so both directions of a translated flow meet in one
 * worker and the worker's own session table guarantees that a translated
 * tuple is unique.
 *
 * Thread safety: vfw_nat — immutable; vfw_nat_pools — control thread only;
 * vfw_snat_ports — allocation/free by the owning worker only; pool creation
 * by the control thread only for pool ids no generation has published yet.
 */
#ifndef VNETFW_NAT_H
#define VNETFW_NAT_H

#include <netinet/in.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "vnetfw/common.h"
#include "vnetfw/config.h"
#include "vnetfw/ct.h"
#include "vnetfw/pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFW_NAT_MAX_POOLS VFW_CFG_SNAT_MAX_POOLS
#define VFW_NAT_MAX_ADDRS VFW_CFG_SNAT_MAX_ADDRS /**< translated addresses per SNAT rule */

/** Protocol classes with separate port spaces. */
enum vfw_nat_pclass {
	VFW_NAT_TCP = 0,
	VFW_NAT_UDP,
	VFW_NAT_ICMP,
	VFW_NAT_PCLASS_MAX
};

struct vfw_nat_pools;
struct vfw_snat_ports;
struct vfw_nat;

/** A compiled SNAT rule. */
struct vfw_snat_rule {
	char name[VFW_NAME_MAX];
	uint16_t pool[VFW_NAT_MAX_ADDRS];  /**< pool id per translated address */
	uint16_t n_pools;
	uint16_t lo, hi;                   /**< port range */
};

/** A compiled DNAT mapping. */
struct vfw_dnat_rule {
	char name[VFW_NAME_MAX];
	uint8_t protocol;
	uint32_t dst;          /**< network order */
	uint16_t dport;        /**< network order */
	uint32_t to_addr;      /**< network order */
	uint16_t to_port;      /**< network order */
};

/* ---- pool registry (control thread) ---- */
struct vfw_nat_pools *vfw_nat_pools_create(unsigned int n_workers, int socket);
void vfw_nat_pools_free(struct vfw_nat_pools *p);
/** Pool id of (address, range), created if new. -ENOSPC when full. */
int vfw_nat_pool_get(struct vfw_nat_pools *p, uint32_t addr_be, uint16_t lo,
		     uint16_t hi);
/** Worker w's allocators (to hand to the worker at start). */
struct vfw_snat_ports *vfw_nat_pools_worker(struct vfw_nat_pools *p,
					    unsigned int w);
/** Ports in use in pool id, summed over workers and classes (approximate
 * while workers run). */
uint32_t vfw_nat_pool_in_use(const struct vfw_nat_pools *p, unsigned int id);
/** Allocations refused in pool id because the range was exhausted, summed
 * over workers and classes (approximate while workers run). */
uint64_t vfw_nat_pool_alloc_failures(const struct vfw_nat_pools *p,
				     unsigned int id);
uint32_t vfw_nat_pool_count(const struct vfw_nat_pools *p);
/** Address/range of pool id. */
int vfw_nat_pool_info(const struct vfw_nat_pools *p, unsigned int id,
		      uint32_t *addr_be, uint16_t *lo, uint16_t *hi);

/* ---- per-worker allocation (owning worker) ---- */
/**
 * Allocate a port (host order) in pool id for class c: the preferred port if
 * it is free and in range, else any free one. -ENOSPC when exhausted.
 */
int vfw_snat_alloc(struct vfw_snat_ports *wp, unsigned int pool,
		   enum vfw_nat_pclass c, uint16_t preferred);
void vfw_snat_free(struct vfw_snat_ports *wp, unsigned int pool,
		   enum vfw_nat_pclass c, uint16_t port);
/** Translated address (network order) of pool id, as the owning worker sees
 * it (its own copy: no access to the control thread's registry). 0 if the
 * pool does not exist. */
uint32_t vfw_snat_pool_addr(const struct vfw_snat_ports *wp, unsigned int pool);

/* ---- per-generation tables ---- */
/**
 * Build the DNAT map and SNAT rules of cfg; pools for every translated
 * address (and for the cluster port address, used for hairpin) are taken
 * from the registry. NULL + rte_errno / errs on failure.
 */
struct vfw_nat *vfw_nat_build(const struct vfw_config *cfg, const char *name,
			      struct vfw_nat_pools *pools,
			      struct vfw_errors *errs);
void vfw_nat_free(struct vfw_nat *nat);

/** DNAT rule index matching (proto, dst, dport) of key, or -1. */
int vfw_nat_dnat_lookup(const struct vfw_nat *nat,
			const struct vfw_flow_key *key);
/** First SNAT rule matching key (source in source, destination in
 * destination, not in exclude), or -1. */
int vfw_nat_snat_match(const struct vfw_nat *nat,
		       const struct vfw_flow_key *key);
/** Pool used to source-translate hairpinned flows (cluster address). */
int vfw_nat_hairpin_pool(const struct vfw_nat *nat);
/** True if addr (network order) is a DNAT destination or SNAT address. */
bool vfw_nat_is_nat_address(const struct vfw_nat *nat, uint32_t addr_be);

unsigned int vfw_nat_dnat_count(const struct vfw_nat *nat);
const struct vfw_dnat_rule *vfw_nat_dnat(const struct vfw_nat *nat,
					 unsigned int i);
unsigned int vfw_nat_snat_count(const struct vfw_nat *nat);
const struct vfw_snat_rule *vfw_nat_snat(const struct vfw_nat *nat,
					 unsigned int i);

/** Port class of an IP protocol: TCP, UDP, ICMP/ICMPv6 (echo identifier);
 * VFW_NAT_PCLASS_MAX for any other protocol (no port to translate). */
enum vfw_nat_pclass vfw_nat_pclass_of(uint8_t proto);

/* ---- packet rewriting ---- */
/**
 * Rewrite the IPv4 packet (parsed into meta) so its addresses and ports are
 * those of key `to`: IPv4 header checksum and L4 checksum updated
 * incrementally (RFC 1624); UDP checksum 0 stays 0; ICMP echo identifier
 * rewritten. Non-first fragments: only addresses (the L4 checksum lives in
 * the first fragment and covers the whole datagram). meta->key is updated.
 */
void vfw_nat_rewrite(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
		     const struct vfw_flow_key *to);
/**
 * vfw_nat_rewrite() to the reverse of `peer`: a session's packet takes the
 * reverse of the key of its other direction. Same result, without
 * building that key (the per-packet path of a NAT session).
 */
void vfw_nat_rewrite_rev(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
			 const struct vfw_flow_key *peer);

/**
 * vfw_nat_rewrite_rev() inline for the per-packet path: an unfragmented
 * IPv4 TCP or UDP packet as vfw_pkt_parse() accepted it, whose headers are
 * therefore whole in the first segment (the parser drops truncated ones)
 * and whose key holds its addresses and ports. Everything else (ICMP,
 * fragments, other protocols) goes to vfw_nat_rewrite_rev(). Same result
 * as that function, bit for bit (test_nat compares them).
 */
static inline void
vfw_nat_rewrite_rev_fast(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
			 const struct vfw_flow_key *peer)
{
	uint32_t nsrc = peer->dst[0], ndst = peer->src[0];
	uint32_t osrc = meta->key.src[0], odst = meta->key.dst[0];
	uint8_t proto = meta->key.proto;
	uint32_t pp, np, op, tcp, udp;
	uint64_t d;
	uint16_t c, nc, udp0;
	uint8_t *ip, *l4, *csum;

	/* one branch, whatever the protocol: TCP and UDP arrive mixed in no
	 * order a predictor learns */
	tcp = proto == IPPROTO_TCP;
	udp = proto == IPPROTO_UDP;
	if (unlikely(((tcp | udp) == 0) | ((meta->flags & VFW_PF_FRAG) != 0) |
		     (meta->key.af != VFW_AF_INET))) {
		vfw_nat_rewrite_rev(m, meta, peer);
		return;
	}
	/* the reverse's ports: (peer dport, peer sport) */
	memcpy(&pp, &peer->sport, sizeof(pp));
	np = (pp >> 16) | (pp << 16);
	memcpy(&op, &meta->key.sport, sizeof(op));
	if (osrc == nsrc && odst == ndst && op == np)
		return;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->l2_len);
	l4 = ip + meta->l3_len;
	d = vfw_csum_delta32(osrc, nsrc) + vfw_csum_delta32(odst, ndst);
	/* L4: ports, and the checksum over them and the pseudo header, at
	 * offset 16 in TCP and 6 in UDP. A UDP checksum of 0 is "no
	 * checksum" over IPv4 and stays; a computed 0 is sent as its other
	 * form. Selected, not branched on. */
	memcpy(l4, &np, sizeof(np));
	csum = l4 + 6 + 10 * tcp;
	memcpy(&c, csum, sizeof(c));
	nc = vfw_csum_apply(c, d + vfw_csum_delta32(op, np));
	udp0 = (uint16_t)-(uint16_t)((c == 0) & udp);
	nc |= (uint16_t)-(uint16_t)((nc == 0) & udp);
	c = nc & (uint16_t)~udp0;       /* udp0: c was 0 and stays */
	memcpy(csum, &c, sizeof(c));
	if (((osrc ^ nsrc) | (odst ^ ndst)) != 0) {
		memcpy(&c, ip + 10, sizeof(c));
		c = vfw_csum_apply(c, d);
		memcpy(ip + 10, &c, sizeof(c));
		memcpy(ip + 12, &nsrc, sizeof(nsrc));
		memcpy(ip + 16, &ndst, sizeof(ndst));
	}
	meta->key.src[0] = nsrc;
	meta->key.dst[0] = ndst;
	memcpy(&meta->key.sport, &np, sizeof(np));
}

/**
 * Translate an ICMP error whose embedded packet belongs to session s: the
 * embedded header is rewritten to what its sender saw, and the outer
 * destination to the session's endpoint, checksums included (outer IPv4,
 * ICMP, embedded IPv4 header; embedded L4 checksum left as is except for the
 * port/address delta when present). d is the direction of the embedded
 * packet relative to s. Returns 0, or -EINVAL if the packet is unusable.
 */
int vfw_nat_icmp_error(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
		       const struct vfw_session *s, unsigned int d);

#ifdef __cplusplus
}
#endif
#endif
