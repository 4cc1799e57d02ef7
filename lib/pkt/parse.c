/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bounds-checked frame parser: Ethernet (one optional 802.1Q/802.1ad tag),
 * ARP, IPv4, IPv6 with extension headers, TCP, UDP, ICMP and ICMPv6, into
 * struct vfw_pkt_meta. See README.md for what is checked and why.
 *
 * Bounds discipline: every function gets a pointer and the number of bytes
 * that may be read from it ("avail"), derived from rte_pktmbuf_data_len() of
 * the first segment and the lengths the headers claim. A read at p[i..i+n)
 * is done only after avail >= i + n has been established on that path.
 *
 * The common path (untagged Ethernet -> IPv4 with IHL 5 -> TCP/UDP, and
 * IPv6 without extension headers) is inlined into vfw_pkt_parse() with
 * constant offsets and one predictable branch per check; VLAN, ARP, IPv4
 * options, fragments and IPv6 extension headers are out of line.
 */
#include <stddef.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "vnetfw/pkt.h"

/*
 * The parser owns the fields up to and including tcp_flags and clears them
 * with one 64-byte store sequence; the fields after belong to later stages.
 * Keep the parser's part within one cache line.
 */
#define META_PARSER_BYTES offsetof(struct vfw_pkt_meta, nh_ip)
_Static_assert(META_PARSER_BYTES <= 64, "parser-owned meta fits a cache line");

#define IP4_HDR_MIN 20u
#define IP6_HDR_LEN 40u
#define TCP_HDR_MIN 20u
#define UDP_HDR_LEN 8u
#define ICMP_HDR_LEN 8u
#define ARP_IP4_LEN 28u /* 8-byte header + 2 * (6-byte MAC + 4-byte IPv4) */
#define FRAG6_HDR_LEN 8u
#define IP_MAX_LEN 65535u

/* A first fragment is not checked against the L4 length of the datagram. */
#define L4_LEN_UNKNOWN IP_MAX_LEN

/* IPv6 next-header values the extension-header walk steps over. */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60
#define IP6_EXT_MASK ((1ULL << NH_HOPOPTS) | (1ULL << NH_ROUTING) | \
		      (1ULL << NH_FRAGMENT) | (1ULL << NH_AH) | \
		      (1ULL << NH_DSTOPTS))

/*
 * TCP flag combinations (FIN, SYN, RST, PSH, ACK, URG = low six bits) that
 * no conforming stack sends and scanners do: nothing set, SYN+FIN, SYN+RST.
 * Bit f of the mask is set when the combination f is dropped. A unit test
 * checks the constant against that definition.
 */
#define TCP_BAD_FLAGS_MASK 0xc8c8c8c8c8c8c8c9ULL

/* ---- loads: raw (network order) and converted, from unaligned bytes ---- */

static __rte_always_inline uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static __rte_always_inline uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static __rte_always_inline uint16_t
be16(const uint8_t *p)
{
	return rte_be_to_cpu_16(ld16(p));
}

/* ---- small classifiers ---- */

static __rte_always_inline bool
is_vlan_tpid(uint16_t et)
{
	return et == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
	       et == RTE_BE16(RTE_ETHER_TYPE_QINQ);
}

static __rte_always_inline bool
ip6_is_ext(uint8_t nh)
{
	return nh < 64 && ((IP6_EXT_MASK >> nh) & 1);
}

static __rte_always_inline bool
icmp_is_echo(unsigned int af, uint8_t type)
{
	if (af == VFW_AF_INET)
		return type == 0 || type == 8;
	return type == 128 || type == 129;
}

/* Error messages that quote the offending packet's IP header. */
static __rte_always_inline bool
icmp_is_error(unsigned int af, uint8_t type)
{
	if (af == VFW_AF_INET)
		/* dest-unreach, source-quench, time-exceeded, param-problem */
		return type < 32 && ((((1u << 3) | (1u << 4) | (1u << 11) |
				       (1u << 12)) >> type) & 1);
	/* dest-unreach, packet-too-big, time-exceeded, param-problem */
	return type >= 1 && type <= 4;
}

/*
 * Ports of an ICMP key. Echo: the identifier in both, so that the reply's key
 * is the reverse of the request's. Others: (type << 8 | code) in network
 * order is simply the first two bytes of the message. l4 has >= 8 bytes.
 */
static __rte_always_inline void
icmp_key_ports(struct vfw_flow_key *key, unsigned int af, const uint8_t *l4)
{
	if (icmp_is_echo(af, l4[0])) {
		key->sport = ld16(l4 + 4);
		key->dport = key->sport;
	} else {
		key->sport = ld16(l4);
		key->dport = 0;
	}
}

/* Group destination MAC (the I/G bit is set): broadcast or multicast,
 * exclusive flags. Only called for group addresses, which are rare. */
static __rte_noinline uint16_t
l2_group_flags(const uint8_t *eth)
{
	if (ld32(eth) == UINT32_MAX && ld16(eth + 4) == UINT16_MAX)
		return VFW_PF_L2_BCAST;
	return VFW_PF_L2_MCAST;
}

/*
 * Verify an IPv4 header checksum (hlen >= 20, multiple of 4, readable).
 * Summing 32-bit words is the same one's-complement sum as 16-bit words
 * modulo 0xffff (2^16 = 1 there), and a correct header sums to -0, i.e.
 * 0 modulo 0xffff; +0 would need an all-zero header, which the version
 * nibble rules out. One division by a constant replaces four folds.
 */
static __rte_always_inline bool
ip4_csum_ok(const uint8_t *ip, uint32_t hlen)
{
	uint64_t s;
	uint32_t i;

	s = (uint64_t)ld32(ip) + ld32(ip + 4) + ld32(ip + 8) + ld32(ip + 12) +
	    ld32(ip + 16);
	for (i = IP4_HDR_MIN; i < hlen; i += 4)
		s += ld32(ip + i);
	return s % UINT16_MAX == 0;
}

/*
 * Martian IPv4 sources (RFC 1812 5.3.7): multicast 224/4, limited broadcast
 * and loopback 127/8. 0.0.0.0 is allowed for DHCP, and 240/4 is not dropped
 * (some clusters use it for pods). The hot path only tests the first octet
 * (127 or >= 224); the rest is decided out of line.
 */
static __rte_noinline bool
ip4_src_bad_slow(const uint8_t *ip)
{
	uint8_t b0 = ip[12];

	return b0 == 127 || (b0 & 0xf0) == 0xe0 || ld32(ip + 12) == UINT32_MAX;
}

static __rte_always_inline bool
ip4_src_bad(const uint8_t *ip)
{
	uint8_t b0 = ip[12];

	if (likely(b0 < 224 && b0 != 127))
		return false;
	return ip4_src_bad_slow(ip);
}

/*
 * IPv4 options (RFC 791), at ip[20..hlen) (hlen > 20, readable): every
 * option but End of List (0) and No Operation (1) is type, length (>= 2,
 * counting both), data; End of List ends the list and padding follows.
 * A length below 2 or past the header is VFW_DROP_IP4_OPTS. A well-formed
 * list with a loose or strict source route (131, 137) is
 * VFW_DROP_IP4_SRCRT: a router does not let the sender choose the path
 * beyond it (RFC 7126 4.3/4.4, Linux accept_source_route=0). Other options
 * (record route, timestamp, router alert, security...) pass untouched.
 */
#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_LSRR 131
#define IPOPT_SSRR 137

static __rte_noinline enum vfw_drop
ip4_opts_check(const uint8_t *ip, uint32_t hlen)
{
	enum vfw_drop rc = VFW_DROP_NONE;
	uint32_t i = IP4_HDR_MIN, olen;
	uint8_t type;

	while (i < hlen) {
		type = ip[i];
		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		/* i < hlen: at least the type byte; the length is next. */
		if (hlen - i < 2)
			return VFW_DROP_IP4_OPTS;
		olen = ip[i + 1];
		if (olen < 2 || olen > hlen - i)
			return VFW_DROP_IP4_OPTS;
		if (type == IPOPT_LSRR || type == IPOPT_SSRR)
			rc = VFW_DROP_IP4_SRCRT;
		i += olen;
	}
	return rc;
}

/* A first fragment must carry the whole L4 header (RFC 1858, RFC 7112). */
static enum vfw_drop
first_frag_rc(enum vfw_drop rc)
{
	if (rc == VFW_DROP_TCP_TRUNC || rc == VFW_DROP_UDP_TRUNC ||
	    rc == VFW_DROP_ICMP_TRUNC)
		return VFW_DROP_FRAG_BAD;
	return rc;
}

/* ---- L4 ---- */

/*
 * ICMP or ICMPv6 message of avail readable bytes. An error must quote at
 * least the offending IP header and 8 bytes of its L4 header, which is all
 * vfw_pkt_parse_inner() and the NAT need.
 */
static __rte_always_inline enum vfw_drop
parse_icmp(const uint8_t *l4, uint32_t avail, unsigned int af,
	   struct vfw_pkt_meta *meta)
{
	uint32_t inner_hlen;
	uint8_t type;

	if (unlikely(avail < ICMP_HDR_LEN))
		return VFW_DROP_ICMP_TRUNC;
	type = l4[0];
	meta->icmp_type = type;
	meta->icmp_code = l4[1];
	icmp_key_ports(&meta->key, af, l4);
	if (icmp_is_echo(af, type)) {
		meta->flags |= VFW_PF_ICMP_ECHO;
		return VFW_DROP_NONE;
	}
	if (!icmp_is_error(af, type))
		return VFW_DROP_NONE;
	if (af == VFW_AF_INET) {
		if (avail < ICMP_HDR_LEN + IP4_HDR_MIN + 8)
			return VFW_DROP_ICMP_TRUNC;
		/* A quoted IHL below 5 is for parse_inner to reject. */
		inner_hlen = RTE_MAX((l4[ICMP_HDR_LEN] & 0x0fu) * 4, IP4_HDR_MIN);
	} else {
		inner_hlen = IP6_HDR_LEN;
	}
	if (avail < ICMP_HDR_LEN + inner_hlen + 8)
		return VFW_DROP_ICMP_TRUNC;
	meta->flags |= VFW_PF_ICMP_ERR;
	meta->inner_off = meta->l2_len + meta->l3_len + ICMP_HDR_LEN;
	return VFW_DROP_NONE;
}

/*
 * L4 header at l4: avail bytes readable, l4_ip bytes according to the IP
 * header (L4_LEN_UNKNOWN in a first fragment). af is a constant at every
 * call site so each caller gets its own specialised copy.
 */
static __rte_always_inline enum vfw_drop
parse_l4(const uint8_t *l4, uint32_t avail, uint32_t l4_ip, uint8_t proto,
	 unsigned int af, struct vfw_pkt_meta *meta)
{
	if (likely(proto == IPPROTO_TCP)) {
		uint32_t doff;
		uint8_t flags;

		if (unlikely(avail < TCP_HDR_MIN))
			return VFW_DROP_TCP_TRUNC;
		doff = (l4[12] >> 4) * 4u;
		/* doff < 20 wraps around: one test for both bounds. */
		if (unlikely(doff - TCP_HDR_MIN > avail - TCP_HDR_MIN))
			return VFW_DROP_TCP_TRUNC;
		flags = l4[13];
		meta->tcp_flags = flags;
		memcpy(&meta->key.sport, l4, 4);
		if (unlikely((TCP_BAD_FLAGS_MASK >> (flags & 0x3f)) & 1))
			return VFW_DROP_TCP_FLAGS;
		return VFW_DROP_NONE;
	}
	if (likely(proto == IPPROTO_UDP)) {
		uint32_t ulen;

		if (unlikely(avail < UDP_HDR_LEN))
			return VFW_DROP_UDP_TRUNC;
		ulen = be16(l4 + 4);
		/* l4_ip >= avail >= 8 here; ulen < 8 wraps around. */
		if (unlikely(ulen - UDP_HDR_LEN > l4_ip - UDP_HDR_LEN))
			return VFW_DROP_UDP_LEN;
		memcpy(&meta->key.sport, l4, 4);
		/* A zero checksum means "none" for IPv4 UDP; NAT must keep it. */
		if (af == VFW_AF_INET && ld16(l4 + 6) == 0)
			meta->flags |= VFW_PF_L4_CSUM_0;
		return VFW_DROP_NONE;
	}
	if (proto == (af == VFW_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return parse_icmp(l4, avail, af, meta);
	/* Other upper layers (ESP, GRE, SCTP, no-next-header...): ports 0. */
	return VFW_DROP_NONE;
}

/* Out-of-line copies for the rare paths (fragments, extension headers). */
static __rte_noinline enum vfw_drop
parse_l4_4_slow(const uint8_t *l4, uint32_t avail, uint32_t l4_ip,
		uint8_t proto, struct vfw_pkt_meta *meta)
{
	return parse_l4(l4, avail, l4_ip, proto, VFW_AF_INET, meta);
}

static __rte_noinline enum vfw_drop
parse_l4_6_slow(const uint8_t *l4, uint32_t avail, uint32_t l4_ip,
		uint8_t proto, struct vfw_pkt_meta *meta)
{
	return parse_l4(l4, avail, l4_ip, proto, VFW_AF_INET6, meta);
}

/* ---- IPv4 ---- */

/*
 * IPv4 fragment (MF set or offset > 0). A later fragment has no L4 header:
 * its key keeps ports 0 and the fragment stage maps it to its first one.
 */
static __rte_noinline enum vfw_drop
ip4_frag(const uint8_t *ip, uint32_t hlen, uint32_t avail, uint32_t l4_ip,
	 struct vfw_pkt_meta *meta)
{
	uint16_t fo = be16(ip + 6);
	uint32_t off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) *
		       RTE_IPV4_HDR_OFFSET_UNITS;

	meta->flags |= VFW_PF_FRAG;
	meta->frag_id = be16(ip + 4);
	meta->frag_off = (uint16_t)off;
	/* Reassembled datagram would exceed 64 KiB (ping of death). */
	if (off + l4_ip > IP_MAX_LEN)
		return VFW_DROP_FRAG_BAD;
	/* All but the last fragment carry a multiple of 8 bytes (RFC 791). */
	if ((fo & RTE_IPV4_HDR_MF_FLAG) && (l4_ip & 7))
		return VFW_DROP_FRAG_BAD;
	if (off != 0) {
		meta->flags |= VFW_PF_FRAG_LATER;
		return VFW_DROP_NONE;
	}
	return first_frag_rc(parse_l4_4_slow(ip + hlen, avail, L4_LEN_UNKNOWN,
					     ip[9], meta));
}

/*
 * IPv4 packet whose header (hlen bytes, validated and readable) is at ip:
 * seg bytes readable in the first segment, wire bytes in the whole frame
 * (they differ only for multi-segment mbufs). hlen is the constant 20 on
 * the hot path, so the checksum is unrolled and option handling vanishes.
 */
static __rte_always_inline enum vfw_drop
parse_ip4_body(const struct rte_mbuf *m, const uint8_t *ip, uint32_t hlen,
	       uint32_t seg, uint32_t wire, struct vfw_pkt_meta *meta)
{
	uint32_t totlen, l4_ip, avail;
	uint8_t proto;

	totlen = be16(ip + 2);
	/* total_length, not the frame, bounds L3: Ethernet pads short frames.
	 * totlen < hlen wraps around: one test for both bounds. */
	if (unlikely(totlen - hlen > wire - hlen))
		return VFW_DROP_IP4_TOTLEN;
	/* GOOD and NONE both have the GOOD bit: the NIC vouched for the header. */
	if (!(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD)) {
		if (unlikely((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
			     RTE_MBUF_F_RX_IP_CKSUM_BAD ||
			     !ip4_csum_ok(ip, hlen)))
			return VFW_DROP_IP4_CSUM;
	}
	if (unlikely(ip4_src_bad(ip)))
		return VFW_DROP_IP4_SRC;
	/* The port verified the TCP/UDP checksum (rx offload) and found it
	 * wrong. Without the offload L4 checksums are not verified. */
	if (unlikely((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
		     RTE_MBUF_F_RX_L4_CKSUM_BAD))
		return VFW_DROP_L4_CSUM;
	/* hlen is the constant 20 on the hot path: this vanishes there. */
	if (hlen > IP4_HDR_MIN) {
		enum vfw_drop rc = ip4_opts_check(ip, hlen);

		if (unlikely(rc != VFW_DROP_NONE))
			return rc;
	}

	proto = ip[9];
	meta->cls = VFW_PC_IP;
	meta->l4proto = proto;
	meta->ttl = ip[8];
	meta->l3_len = (uint16_t)hlen;
	meta->key.proto = proto;
	meta->key.af = VFW_AF_INET;
	meta->key.src[0] = ld32(ip + 12);
	meta->key.dst[0] = ld32(ip + 16);
	l4_ip = totlen - hlen;
	avail = RTE_MIN(totlen, seg) - hlen;
	meta->l4_len = (uint16_t)avail;

	if (unlikely(ld16(ip + 6) & RTE_BE16(RTE_IPV4_HDR_MF_FLAG |
					      RTE_IPV4_HDR_OFFSET_MASK)))
		return ip4_frag(ip, hlen, avail, l4_ip, meta);
	return parse_l4(ip + hlen, avail, l4_ip, proto, VFW_AF_INET, meta);
}

/* IPv4 whose first byte is not 0x45: a bad version or IHL, or options. */
static __rte_noinline enum vfw_drop
parse_ip4_opts(const struct rte_mbuf *m, const uint8_t *ip, uint32_t seg,
	       uint32_t wire, struct vfw_pkt_meta *meta)
{
	uint32_t hlen;

	if ((ip[0] & 0xf0) != 0x40)
		return VFW_DROP_IP4_VERSION;
	hlen = (ip[0] & 0x0fu) * 4;
	if (hlen < IP4_HDR_MIN)
		return VFW_DROP_IP4_IHL;
	if (hlen > seg)
		return VFW_DROP_IP4_TRUNC;
	meta->flags |= VFW_PF_IP_OPTS;
	return parse_ip4_body(m, ip, hlen, seg, wire, meta);
}

static __rte_always_inline enum vfw_drop
parse_ip4(const struct rte_mbuf *m, const uint8_t *ip, uint32_t seg,
	  uint32_t wire, struct vfw_pkt_meta *meta)
{
	if (unlikely(seg < IP4_HDR_MIN))
		return VFW_DROP_IP4_TRUNC;
	if (unlikely(ip[0] != 0x45))
		return parse_ip4_opts(m, ip, seg, wire, meta);
	return parse_ip4_body(m, ip, IP4_HDR_MIN, seg, wire, meta);
}

/* ---- IPv6 ---- */

/* Result of an extension-header walk. */
struct ip6_walk {
	uint32_t off;       /**< offset of the upper-layer header */
	uint32_t frag_end;  /**< offset just past the fragment header */
	uint32_t frag_id;   /**< host order */
	uint16_t frag_off;  /**< bytes */
	uint8_t nh;         /**< upper-layer protocol */
	bool frag;          /**< a real (non-atomic) fragment */
	bool mf;            /**< more fragments follow */
};

/*
 * Walk the extension headers of the IPv6 packet at ip, of which rd bytes
 * (>= 40) may be read. Stops at the first non-extension header, or right
 * after the fragment header of a non-first fragment (what follows is not
 * a header). Returns VFW_DROP_IP6_EXTHDR / _EXT_LIMIT or VFW_DROP_NONE.
 */
static enum vfw_drop
ip6_walk(const uint8_t *ip, uint32_t rd, struct ip6_walk *w)
{
	unsigned int n = 0;
	uint32_t off = IP6_HDR_LEN, len;
	bool seen_frag = false;
	uint8_t nh = ip[6];

	memset(w, 0, sizeof(*w));
	while (ip6_is_ext(nh)) {
		const uint8_t *h = ip + off;

		if (n == VFW_IP6_MAX_EXT_HDRS)
			return VFW_DROP_IP6_EXT_LIMIT;
		/* Hop-by-hop is only valid right after the fixed header. */
		if (nh == NH_HOPOPTS && off != IP6_HDR_LEN)
			return VFW_DROP_IP6_EXTHDR;
		if (off + 8 > rd)
			return VFW_DROP_IP6_EXTHDR;
		switch (nh) {
		case NH_FRAGMENT: {
			uint16_t fo = be16(h + 2);

			if (seen_frag)
				return VFW_DROP_IP6_EXTHDR;
			seen_frag = true;
			len = FRAG6_HDR_LEN;
			/* Offset 0 and no M bit: an atomic fragment (RFC 6946),
			 * processed as a whole packet. */
			if ((fo & 0xfff9) == 0)
				break;
			w->frag = true;
			w->mf = fo & 1;
			w->frag_off = fo & 0xfff8;
			w->frag_id = rte_be_to_cpu_32(ld32(h + 4));
			w->frag_end = off + len;
			if (w->frag_off != 0) {
				w->off = off + len;
				w->nh = h[0];
				return VFW_DROP_NONE;
			}
			break;
		}
		case NH_AH:
			len = (h[1] + 2u) * 4;
			break;
		case NH_ROUTING:
			/* Type 0 source routing is deprecated (RFC 5095). */
			if (h[2] == 0 && h[3] != 0)
				return VFW_DROP_IP6_EXTHDR;
			len = (h[1] + 1u) * 8;
			break;
		default:
			len = (h[1] + 1u) * 8;
			break;
		}
		if (off + len > rd)
			return VFW_DROP_IP6_EXTHDR;
		nh = h[0];
		off += len;
		n++;
	}
	w->off = off;
	w->nh = nh;
	return VFW_DROP_NONE;
}

/* IPv6 packet with extension headers; rd readable, end per payload_length. */
static __rte_noinline enum vfw_drop
parse_ip6_ext(const uint8_t *ip, uint32_t rd, uint32_t end,
	      struct vfw_pkt_meta *meta)
{
	struct ip6_walk w;
	enum vfw_drop rc;
	uint32_t frag_len;

	rc = ip6_walk(ip, rd, &w);
	if (rc != VFW_DROP_NONE)
		return rc;
	meta->l3_len = (uint16_t)w.off;
	meta->l4proto = w.nh;
	meta->key.proto = w.nh;
	meta->l4_len = (uint16_t)(rd - w.off);
	if (!w.frag)
		return parse_l4_6_slow(ip + w.off, rd - w.off, end - w.off,
				       w.nh, meta);

	meta->flags |= VFW_PF_FRAG;
	meta->frag_id = w.frag_id;
	meta->frag_off = w.frag_off;
	frag_len = end - w.frag_end;
	if (w.frag_off + frag_len > IP_MAX_LEN)
		return VFW_DROP_FRAG_BAD;
	/* Non-last fragments are multiples of 8 bytes (RFC 8200 4.5). */
	if (w.mf && (frag_len & 7))
		return VFW_DROP_FRAG_BAD;
	if (w.frag_off != 0) {
		meta->flags |= VFW_PF_FRAG_LATER;
		return VFW_DROP_NONE;
	}
	return first_frag_rc(parse_l4_6_slow(ip + w.off, rd - w.off,
					     L4_LEN_UNKNOWN, w.nh, meta));
}

static __rte_always_inline enum vfw_drop
parse_ip6(const uint8_t *ip, uint32_t seg, uint32_t wire,
	  struct vfw_pkt_meta *meta)
{
	uint32_t end, rd;
	uint8_t nh;

	if (unlikely(seg < IP6_HDR_LEN))
		return VFW_DROP_IP6_TRUNC;
	if (unlikely((ip[0] & 0xf0) != 0x60))
		return VFW_DROP_IP6_VERSION;
	end = IP6_HDR_LEN + be16(ip + 4);
	if (unlikely(end > wire))
		return VFW_DROP_IP6_PAYLEN;
	rd = RTE_MIN(end, seg);

	meta->cls = VFW_PC_IP;
	meta->ttl = ip[7];
	meta->key.af = VFW_AF_INET6;
	memcpy(meta->key.src, ip + 8, 16);
	memcpy(meta->key.dst, ip + 24, 16);
	nh = ip[6];
	if (unlikely(ip6_is_ext(nh)))
		return parse_ip6_ext(ip, rd, end, meta);
	meta->l3_len = IP6_HDR_LEN;
	meta->l4proto = nh;
	meta->key.proto = nh;
	meta->l4_len = (uint16_t)(rd - IP6_HDR_LEN);
	return parse_l4(ip + IP6_HDR_LEN, rd - IP6_HDR_LEN, end - IP6_HDR_LEN,
			nh, VFW_AF_INET6, meta);
}

/* ---- ARP ---- */

static __rte_noinline enum vfw_drop
parse_arp(const uint8_t *a, uint32_t seg, struct vfw_pkt_meta *meta)
{
	/* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4. */
	if (seg < ARP_IP4_LEN ||
	    ld32(a) != RTE_BE32(0x00010800) || ld16(a + 4) != RTE_BE16(0x0604))
		return VFW_DROP_ARP_MALFORMED;
	meta->cls = VFW_PC_ARP;
	meta->l3_len = ARP_IP4_LEN;
	return VFW_DROP_NONE;
}

/* ---- frame ---- */

/*
 * Everything but untagged IPv4/IPv6: one VLAN tag, ARP, the rest. Out of
 * line so that the untagged path keeps its offsets constant; the tagged
 * path gets its own inlined copies of the IP parsers.
 */
static __rte_noinline enum vfw_drop
parse_l2_other(const struct rte_mbuf *m, const uint8_t *p, uint32_t seg,
	       uint32_t wire, uint16_t et, struct vfw_pkt_meta *meta)
{
	const uint32_t l2 = RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;

	if (et == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return parse_arp(p + RTE_ETHER_HDR_LEN, seg - RTE_ETHER_HDR_LEN,
				 meta);
	if (!is_vlan_tpid(et))
		return VFW_DROP_ETHERTYPE;
	if (seg < l2)
		return VFW_DROP_VLAN_TRUNC;
	meta->flags |= VFW_PF_VLAN;
	meta->vlan_tci = be16(p + 14);
	meta->l2_len = l2;
	et = ld16(p + 16);
	if (likely(et == RTE_BE16(RTE_ETHER_TYPE_IPV4)))
		return parse_ip4(m, p + l2, seg - l2, wire - l2, meta);
	if (likely(et == RTE_BE16(RTE_ETHER_TYPE_IPV6)))
		return parse_ip6(p + l2, seg - l2, wire - l2, meta);
	if (et == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return parse_arp(p + l2, seg - l2, meta);
	if (is_vlan_tpid(et))
		return VFW_DROP_VLAN_STACKED;
	return VFW_DROP_ETHERTYPE;
}

static __rte_always_inline enum vfw_drop
parse_frame(const struct rte_mbuf *m, struct vfw_pkt_meta *meta)
{
	const uint32_t l2 = RTE_ETHER_HDR_LEN;
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t seg = rte_pktmbuf_data_len(m);
	/* pkt_len < data_len would be a broken mbuf: never trust it below seg. */
	uint32_t wire = RTE_MAX(rte_pktmbuf_pkt_len(m), seg);
	uint16_t et;

	memset(meta, 0, META_PARSER_BYTES);
	if (unlikely(seg < l2))
		return VFW_DROP_ETH_TRUNC;
	if (unlikely(p[0] & 1))
		meta->flags = l2_group_flags(p);
	meta->l2_len = l2;
	et = ld16(p + 12);
	if (likely(et == RTE_BE16(RTE_ETHER_TYPE_IPV4)))
		return parse_ip4(m, p + l2, seg - l2, wire - l2, meta);
	if (likely(et == RTE_BE16(RTE_ETHER_TYPE_IPV6)))
		return parse_ip6(p + l2, seg - l2, wire - l2, meta);
	return parse_l2_other(m, p, seg, wire, et, meta);
}

enum vfw_drop
vfw_pkt_parse(struct rte_mbuf *m, struct vfw_pkt_meta *meta)
{
	enum vfw_drop rc = parse_frame(m, meta);

	meta->drop = (uint16_t)rc;
	return rc;
}

/* ---- embedded header of an ICMP error ---- */

/*
 * Ports of the quoted packet from the first bytes of its L4 header, by the
 * same rules as the outer key so the result matches a conntrack key.
 */
static enum vfw_drop
inner_ports(struct vfw_flow_key *key, unsigned int af, const uint8_t *l4,
	    uint32_t avail)
{
	uint8_t icmp = af == VFW_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP &&
	    key->proto != icmp)
		return VFW_DROP_NONE;
	if (avail < 8)
		return VFW_DROP_ICMP_INNER;
	if (key->proto == icmp)
		icmp_key_ports(key, af, l4);
	else
		memcpy(&key->sport, l4, 4);
	return VFW_DROP_NONE;
}

static enum vfw_drop
inner_ip4(const uint8_t *ip, uint32_t avail, struct vfw_flow_key *key)
{
	uint32_t hlen, totlen;

	if (avail < IP4_HDR_MIN || (ip[0] & 0xf0) != 0x40)
		return VFW_DROP_ICMP_INNER;
	hlen = (ip[0] & 0x0fu) * 4;
	totlen = be16(ip + 2);
	if (hlen < IP4_HDR_MIN || hlen > avail || totlen < hlen)
		return VFW_DROP_ICMP_INNER;
	key->af = VFW_AF_INET;
	key->proto = ip[9];
	key->src[0] = ld32(ip + 12);
	key->dst[0] = ld32(ip + 16);
	/* A quoted non-first fragment has no L4 header: ports stay 0. */
	if (ld16(ip + 6) & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return VFW_DROP_NONE;
	/* The quote is usually cut short of totlen; never read past either. */
	avail = RTE_MIN(avail, totlen);
	return inner_ports(key, VFW_AF_INET, ip + hlen, avail - hlen);
}

static enum vfw_drop
inner_ip6(const uint8_t *ip, uint32_t avail, struct vfw_flow_key *key)
{
	struct ip6_walk w;

	if (avail < IP6_HDR_LEN || (ip[0] & 0xf0) != 0x60)
		return VFW_DROP_ICMP_INNER;
	avail = RTE_MIN(avail, IP6_HDR_LEN + be16(ip + 4));
	if (ip6_walk(ip, avail, &w) != VFW_DROP_NONE)
		return VFW_DROP_ICMP_INNER;
	key->af = VFW_AF_INET6;
	key->proto = w.nh;
	memcpy(key->src, ip + 8, 16);
	memcpy(key->dst, ip + 24, 16);
	if (w.frag_off != 0)
		return VFW_DROP_NONE;
	return inner_ports(key, VFW_AF_INET6, ip + w.off, avail - w.off);
}

enum vfw_drop
vfw_pkt_parse_inner(const struct rte_mbuf *m, const struct vfw_pkt_meta *meta,
		    struct vfw_flow_key *key)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t end, off = meta->inner_off;
	enum vfw_drop rc;

	memset(key, 0, sizeof(*key));
	if (!(meta->flags & VFW_PF_ICMP_ERR))
		return VFW_DROP_ICMP_INNER;
	/* The quote ends with the outer L4 payload (not at Ethernet padding)
	 * and, whatever meta says, within the first segment. */
	end = RTE_MIN((uint32_t)meta->l2_len + meta->l3_len + meta->l4_len,
		      (uint32_t)rte_pktmbuf_data_len(m));
	if (off >= end)
		return VFW_DROP_ICMP_INNER;
	if (meta->key.af == VFW_AF_INET && meta->l4proto == IPPROTO_ICMP)
		rc = inner_ip4(p + off, end - off, key);
	else if (meta->key.af == VFW_AF_INET6 && meta->l4proto == IPPROTO_ICMPV6)
		rc = inner_ip6(p + off, end - off, key);
	else
		rc = VFW_DROP_ICMP_INNER;
	if (rc != VFW_DROP_NONE)
		memset(key, 0, sizeof(*key));
	return rc;
}
