/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Bounds-checked packet parsing into a flow key, and checksum helpers.
 *
 * The parser never reads past rte_pktmbuf_data_len() of the first segment
 * (multi-segment frames are parsed only as far as the first segment holds the
 * headers; a header split across segments is "truncated").
 *
 * Thread safety: all functions are pure on their arguments (the packet and
 * its private metadata); any thread may call them on packets it owns.
 */
#ifndef VNETFW_PKT_H
#define VNETFW_PKT_H

#include <rte_mbuf.h>
#include <rte_ether.h>

#include "vnetfw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * 5-tuple of a flow, 40 bytes, network byte order. Also the rte_acl input
 * (proto at offset 0, src at 4, dst at 20, ports at 36/38) and the
 * conntrack hash key. IPv4 uses src[0]/dst[0]; the other words are zero.
 * ICMP echo request/reply: sport = dport = identifier, so the reverse of the
 * request's key is the reply's key. Other ICMP: ports are
 * (type << 8 | code) in sport, 0 in dport.
 */
struct vfw_flow_key {
	uint8_t proto;
	uint8_t af;      /**< VFW_AF_INET or VFW_AF_INET6 */
	uint16_t zone;   /**< reserved, 0 */
	uint32_t src[4];
	uint32_t dst[4];
	uint16_t sport;
	uint16_t dport;
} __rte_aligned(4);

_Static_assert(sizeof(struct vfw_flow_key) == 40, "flow key layout");

/** Packet classes found by the parser. */
enum vfw_pkt_class {
	VFW_PC_OTHER = 0,
	VFW_PC_ARP,
	VFW_PC_IP,
};

/* vfw_pkt_meta.flags */
#define VFW_PF_VLAN        0x0001 /**< one 802.1Q tag present */
#define VFW_PF_FRAG        0x0002 /**< an IP fragment (first or not) */
#define VFW_PF_FRAG_LATER  0x0004 /**< non-first fragment: no L4 header */
#define VFW_PF_IP_OPTS     0x0008 /**< IPv4 options present */
#define VFW_PF_ICMP_ERR    0x0010 /**< ICMP(v6) error with embedded header */
#define VFW_PF_ICMP_ECHO   0x0020 /**< echo request or reply */
#define VFW_PF_L2_BCAST    0x0040 /**< destination MAC ff:ff:ff:ff:ff:ff */
#define VFW_PF_L2_MCAST    0x0080 /**< other group MAC (not with BCAST) */
#define VFW_PF_L4_CSUM_0   0x0100 /**< UDP over IPv4 with checksum 0 */
#define VFW_PF_HANDOFF     0x0200 /**< came through a worker hand-off ring */

/**
 * Per-packet metadata kept in the mbuf private area (pools are created with
 * priv_size >= sizeof(struct vfw_pkt_meta)).
 */
struct vfw_pkt_meta {
	struct vfw_flow_key key;   /**< as parsed (pre-NAT) */
	uint16_t flags;            /**< VFW_PF_* */
	uint8_t cls;               /**< enum vfw_pkt_class */
	uint8_t l4proto;           /**< protocol of the L4 header */
	uint16_t l2_len;           /**< Ethernet + VLAN */
	uint16_t l3_len;           /**< IPv4 header incl. options / IPv6 + ext */
	uint16_t l4_len;           /**< bytes of L4 header+payload available:
				    *   the IP header's L4 length (padding
				    *   excluded), capped at the first
				    *   segment, so l2+l3+l4 <= data_len */
	uint16_t vlan_tci;         /**< host order, if VFW_PF_VLAN */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t frag_off;         /**< IPv4/IPv6 fragment offset in bytes */
	uint32_t frag_id;          /**< IPv4 id or IPv6 fragment id, host order */
	uint16_t inner_off;        /**< ICMP error: offset of embedded IP hdr
				    *   from the start of the frame */
	uint8_t ttl;               /**< TTL / hop limit */
	uint8_t tcp_flags;
	/* Filled by later stages: */
	uint32_t nh_ip;            /**< next hop, network order (IPv4) */
	uint16_t out_port;         /**< egress role (enum vfw_port_role) */
	uint16_t drop;             /**< enum vfw_drop when dropped (set by
				    *   vfw_pkt_parse to its result) */
	uint32_t session;          /**< conntrack handle, stage-defined */
	uint32_t aux;              /**< stage-defined scratch */
};

/** Metadata of a packet (the mbuf's private area). */
static inline struct vfw_pkt_meta *
vfw_pkt_meta(struct rte_mbuf *m)
{
	return (struct vfw_pkt_meta *)rte_mbuf_to_priv(m);
}

/** Private-area size to pass to rte_pktmbuf_pool_create(). */
#define VFW_MBUF_PRIV_SIZE \
	RTE_ALIGN(sizeof(struct vfw_pkt_meta), RTE_MBUF_PRIV_ALIGN)

/** Limits of the parser. */
#define VFW_IP6_MAX_EXT_HDRS 8

/**
 * Parse a frame into its metadata. Returns VFW_DROP_NONE when the packet
 * may go on (meta->cls says what it is), otherwise the drop reason, which
 * is also stored in meta->drop. Clears every field up to and including
 * tcp_flags first (the key is fully deterministic: unused words and ports
 * are 0); nh_ip, out_port, session and aux are left to later stages.
 * Does not verify L4 checksums, but drops IPv4 TCP/UDP whose mbuf says
 * RTE_MBUF_F_RX_L4_CKSUM_BAD (VFW_DROP_L4_CSUM). Verifies the IPv4 header
 * checksum unless the mbuf says the NIC already did
 * (RTE_MBUF_F_RX_IP_CKSUM_GOOD, or _NONE, which has the GOOD bit); drops
 * on RTE_MBUF_F_RX_IP_CKSUM_BAD.
 */
enum vfw_drop vfw_pkt_parse(struct rte_mbuf *m, struct vfw_pkt_meta *meta);

/**
 * Parse the IP header embedded in an ICMP error at meta->inner_off into key
 * (the tuple of the packet that caused the error, as it was sent). Only the
 * first 8 bytes of L4 are needed. Returns VFW_DROP_NONE or VFW_DROP_ICMP_INNER.
 */
enum vfw_drop vfw_pkt_parse_inner(const struct rte_mbuf *m,
				  const struct vfw_pkt_meta *meta,
				  struct vfw_flow_key *key);

/** Reverse a key (swap addresses and ports). */
static inline void
vfw_flow_key_reverse(struct vfw_flow_key *dst, const struct vfw_flow_key *src)
{
	dst->proto = src->proto;
	dst->af = src->af;
	dst->zone = src->zone;
	memcpy(dst->src, src->dst, sizeof(dst->src));
	memcpy(dst->dst, src->src, sizeof(dst->dst));
	dst->sport = src->dport;
	dst->dport = src->sport;
}

/* ---- checksums (RFC 1624 incremental updates) ---- */

/** Update a 16-bit one's-complement checksum (network order) for a 16-bit
 * field change old -> new (both network order). */
static inline uint16_t
vfw_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint16_t)~csum;
	s += (uint16_t)~old;
	s += new_;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/**
 * Changes to one's-complement sums in one pass: the sum of ~old + new over
 * every changed 32-bit word (network order) is formed in 64 bits with
 * vfw_csum_delta32() and folded into a checksum with vfw_csum_apply(). The
 * result equals a chain of vfw_csum_update16() calls over the 16-bit halves
 * (and a full recomputation): all end in the unique representative in
 * [1, 0xffff] of the same sum.
 */
static inline uint64_t
vfw_csum_delta32(uint32_t old, uint32_t new_)
{
	return (uint64_t)(uint32_t)~old + new_;
}

/** ~(~c + d) with end-around carries: checksum c after the changes d. */
static inline uint16_t
vfw_csum_apply(uint16_t c, uint64_t d)
{
	uint64_t s = (uint64_t)(uint16_t)~c + d;

	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/** Same for a 32-bit field (e.g. an IPv4 address). */
static inline uint16_t
vfw_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	csum = vfw_csum_update16(csum, (uint16_t)(old >> 16), (uint16_t)(new_ >> 16));
	return vfw_csum_update16(csum, (uint16_t)old, (uint16_t)new_);
}

/**
 * Full IPv4 header checksum (network-order result, ready to store) over
 * hdr_len bytes. The checksum field itself counts as zero, so it need not
 * be cleared first.
 */
uint16_t vfw_ip4_csum(const void *hdr, unsigned int hdr_len);

/**
 * Full L4 checksum of an IPv4 TCP/UDP/ICMP packet (for tests and for packets
 * the appliance builds). l4 points at the L4 header, l4_len bytes long.
 * TCP and UDP include the pseudo-header; ICMP has none. The checksum field
 * (TCP, UDP, ICMP) counts as zero; for other protocols clear it first.
 * For UDP a computed 0 is returned as 0xffff (0 means "no checksum").
 */
uint16_t vfw_l4_csum4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
		      const void *l4, unsigned int l4_len);

/**
 * True unless the TCP, UDP or ICMP checksum of a parsed IPv4 packet is
 * wrong. Verified in software over the whole datagram (every segment),
 * except where it cannot or need not be: the port vouched for it
 * (RTE_MBUF_F_RX_L4_CKSUM_GOOD or _NONE), a fragment (its checksum covers
 * the reassembled datagram), UDP without a checksum, other protocols,
 * IPv6. Costs a pass over the payload: for packets that open or change a
 * session, not for every packet.
 */
bool vfw_pkt_l4_csum_ok(const struct rte_mbuf *m, const struct vfw_pkt_meta *meta);

#ifdef __cplusplus
}
#endif
#endif
