/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet rewriting for NAT: addresses, ports / ICMP echo identifiers and
 * every checksum that covers them, updated incrementally (RFC 1624) so the
 * cost does not depend on the payload length.
 *
 * Checksums are assumed to be complete in the packet (software checksums,
 * or checksums the NIC verified on RX). TX checksum offload, where the L4
 * field holds only the pseudo-header sum, is set up by the TX stage after
 * NAT and is out of scope here.
 *
 * All packet words are loaded and stored with memcpy: IPv4 headers behind a
 * 14-byte Ethernet header are only 2-byte aligned. One's-complement sums do
 * not care about byte order as long as every operand is in the same
 * (memory) order, so no byte swapping is needed either.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ip.h>

#include "nat_private.h"

#define IP4_HDR_MIN 20
#define ICMP_HDR_LEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12

#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define ICMP_CSUM_OFF 2
#define ICMP_ID_OFF 4

static inline uint16_t
ld16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
st16(void *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
st32(void *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Fold a 32-bit address change into a checksum (nothing if equal). */
static inline uint16_t
csum_addr(uint16_t csum, uint32_t old, uint32_t new_)
{
	return old == new_ ? csum : vfw_csum_update32(csum, old, new_);
}

/*
 * L4 part of an IPv4 rewrite: ports / echo identifier and the L4 checksum
 * (which for TCP and UDP also covers the addresses through the pseudo
 * header: d_addr). Called for unfragmented packets and first fragments
 * only; the first fragment carries the checksum of the whole datagram, so
 * adjusting it here for the address change is what keeps the reassembled
 * datagram valid while later fragments only get new addresses.
 */
static inline void
rewrite4_l4(uint8_t *l4, uint32_t avail, uint8_t proto, uint64_t d_addr,
	    uint32_t np)
{
	uint32_t op;
	uint16_t c, id, nid, port[2];

	switch (proto) {
	case IPPROTO_TCP:
		if (unlikely(avail < TCP_CSUM_OFF + 2))
			return;
		op = ld32(l4);
		c = ld16(l4 + TCP_CSUM_OFF);
		st32(l4, np);
		st16(l4 + TCP_CSUM_OFF, vfw_csum_apply(c, d_addr + vfw_csum_delta32(op, np)));
		break;
	case IPPROTO_UDP:
		if (unlikely(avail < UDP_CSUM_OFF + 2))
			return;
		op = ld32(l4);
		st32(l4, np);
		c = ld16(l4 + UDP_CSUM_OFF);
		/* 0 means "no checksum" over IPv4: it must stay 0. */
		if (c == 0)
			break;
		c = vfw_csum_apply(c, d_addr + vfw_csum_delta32(op, np));
		/* A computed 0 is sent as its other one's-complement form. */
		if (c == 0)
			c = 0xffff;
		st16(l4 + UDP_CSUM_OFF, c);
		break;
	case IPPROTO_ICMP:
		/* Only echo has an identifier to translate; ICMPv4 has no
		 * pseudo header, so address changes do not touch its sum. */
		if (unlikely(avail < ICMP_HDR_LEN))
			return;
		memcpy(port, &np, sizeof(port));    /* sport, dport */
		if (l4[0] == ICMP_ECHO_REQUEST)
			nid = port[0];
		else if (l4[0] == ICMP_ECHO_REPLY)
			nid = port[1];
		else
			return;
		id = ld16(l4 + ICMP_ID_OFF);
		if (id == nid)
			return;
		c = ld16(l4 + ICMP_CSUM_OFF);
		st16(l4 + ICMP_ID_OFF, nid);
		st16(l4 + ICMP_CSUM_OFF, vfw_csum_update16(c, id, nid));
		break;
	default:
		/* Other protocols: addresses only; we know no L4 checksum. */
		break;
	}
}

/* Addresses and ports of two keys equal (bytes 4..39: src, dst, ports). */
static inline bool
tuple_equal(const struct vfw_flow_key *a, const struct vfw_flow_key *b)
{
	const uint8_t *x = (const uint8_t *)a + 4, *y = (const uint8_t *)b + 4;
	uint64_t d = (uint64_t)(ld32(x + 32) ^ ld32(y + 32)), u, v;
	unsigned int i;

	for (i = 0; i < 32; i += 8) {
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	return d == 0;
}

/*
 * The IPv4 rewrite to source nsrc, destination ndst and ports np (sport
 * then dport, in memory order), once the tuple is known to change. False
 * (nothing done) when the headers are not where meta says.
 */
static inline bool
rewrite4(struct rte_mbuf *m, struct vfw_pkt_meta *meta, uint32_t nsrc,
	 uint32_t ndst, uint32_t np)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t l3off = meta->l2_len, l4off;
	uint32_t osrc, odst;
	uint64_t d_addr;
	uint8_t *ip;

	if (unlikely(meta->l3_len < IP4_HDR_MIN ||
		     l3off + meta->l3_len > len))
		return false;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l3off);
	osrc = ld32(ip + 12);
	odst = ld32(ip + 16);
	d_addr = vfw_csum_delta32(osrc, nsrc) + vfw_csum_delta32(odst, ndst);

	if (!(meta->flags & VFW_PF_FRAG_LATER)) {
		l4off = l3off + meta->l3_len;
		rewrite4_l4(ip + meta->l3_len, len - l4off, ip[9], d_addr, np);
	}

	if (osrc != nsrc || odst != ndst) {
		st16(ip + 10, vfw_csum_apply(ld16(ip + 10), d_addr));
		st32(ip + 12, nsrc);
		st32(ip + 16, ndst);
	}
	return true;
}

/* IPv6 would go here. NAT rules are IPv4-only (vfw_nat_build refuses IPv6
 * addresses), so no session asks for it yet. It will differ from IPv4 in:
 * no header checksum; the pseudo header (128-bit addresses) also covers
 * ICMPv6; the UDP checksum is mandatory (never 0); the L4 header sits
 * after the extension headers (meta->l3_len covers them). */

void
vfw_nat_rewrite(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
		const struct vfw_flow_key *to)
{
	uint32_t np;

	if (tuple_equal(&meta->key, to))
		return;
	if (unlikely(meta->key.af != VFW_AF_INET))
		return;
	memcpy(&np, &to->sport, sizeof(np));
	if (rewrite4(m, meta, to->src[0], to->dst[0], np))
		meta->key = *to;
}

void
vfw_nat_rewrite_rev(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
		    const struct vfw_flow_key *peer)
{
	uint32_t pp, np, nsrc = peer->dst[0], ndst = peer->src[0];
	uint32_t op;

	if (unlikely(meta->key.af != VFW_AF_INET || peer->af != VFW_AF_INET)) {
		struct vfw_flow_key to;

		vfw_flow_key_reverse(&to, peer);
		vfw_nat_rewrite(m, meta, &to);
		return;
	}
	/* the reverse's ports: (peer dport, peer sport) */
	memcpy(&pp, &peer->sport, sizeof(pp));
	np = (pp >> 16) | (pp << 16);
	/*
	 * Both keys are IPv4, whose other address words are zero, and the
	 * two keys of a session share proto, af and zone (meta->key is the
	 * packet's own key): the tuple is unchanged when these three words
	 * are, and they are all of the key that changes.
	 */
	memcpy(&op, &meta->key.sport, sizeof(op));
	if (meta->key.src[0] == nsrc && meta->key.dst[0] == ndst && op == np)
		return;
	if (rewrite4(m, meta, nsrc, ndst, np)) {
		meta->key.src[0] = nsrc;
		meta->key.dst[0] = ndst;
		memcpy(&meta->key.sport, &np, sizeof(np));
	}
}

/*
 * Replace the 16-bit word at f with v and fold the change into the ICMP
 * checksum that covers it and, when given, into up to two more sums.
 */
static inline void
swap_word(uint8_t *f, uint16_t v, uint16_t *icmp_c, uint16_t *c1,
	  uint16_t *c2)
{
	uint16_t o = ld16(f);

	if (o == v)
		return;
	st16(f, v);
	*icmp_c = vfw_csum_update16(*icmp_c, o, v);
	if (c1 != NULL)
		*c1 = vfw_csum_update16(*c1, o, v);
	if (c2 != NULL)
		*c2 = vfw_csum_update16(*c2, o, v);
}

static inline void
swap_addr(uint8_t *f, uint32_t v, uint16_t *icmp_c, uint16_t *c1,
	  uint16_t *c2)
{
	const uint8_t *b = (const uint8_t *)&v;

	swap_word(f, ld16(b), icmp_c, c1, c2);
	swap_word(f + 2, ld16(b + 2), icmp_c, c1, c2);
}

int
vfw_nat_icmp_error(struct rte_mbuf *m, struct vfw_pkt_meta *meta,
		   const struct vfw_session *s, unsigned int d)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t l3off = meta->l2_len, ohl, end, avail, ihl, itot, il4len;
	uint8_t *oip, *icmp, *iip, *il4, *l4cp = NULL;
	const struct vfw_flow_key *pre;
	struct vfw_flow_key post;
	uint16_t icmp_c, ipc, ipc0, l4c = 0, l4c0 = 0, ocsum;
	uint32_t osrc;
	bool has_l4, pseudo = false;
	uint8_t iproto, itype = 0;

	if (s == NULL || d > 1)
		return -EINVAL;
	/*
	 * The embedded packet went out in direction d after NAT (post); its
	 * sender saw it before NAT (pre). Direction 0 leaves as the reverse
	 * of the reply key and was the orig key before; direction 1 leaves
	 * as the reverse of the orig key and was the reply key before.
	 */
	if (d == 0) {
		pre = &s->orig;
		vfw_flow_key_reverse(&post, &s->reply);
	} else {
		pre = &s->reply;
		vfw_flow_key_reverse(&post, &s->orig);
	}
	/* An untranslated session (either family) needs nothing. */
	if (tuple_equal(pre, &post))
		return 0;
	/* IPv6 (ICMPv6 errors) goes here once NAT supports IPv6. */
	if (meta->key.af != VFW_AF_INET || pre->af != VFW_AF_INET ||
	    post.af != VFW_AF_INET)
		return -EINVAL;
	if (meta->flags & VFW_PF_FRAG_LATER)
		return -EINVAL;

	/* ---- validate everything before writing anything ---- */
	if (l3off + IP4_HDR_MIN > len)
		return -EINVAL;
	oip = p + l3off;
	ohl = (oip[0] & 0x0fu) * 4;
	if ((oip[0] >> 4) != 4 || ohl < IP4_HDR_MIN ||
	    oip[9] != IPPROTO_ICMP)
		return -EINVAL;
	/* The message ends at the IP total length, not at Ethernet padding,
	 * and never past the first segment. */
	end = RTE_MIN(len, l3off + rte_be_to_cpu_16(ld16(oip + 2)));
	if (l3off + ohl + ICMP_HDR_LEN + IP4_HDR_MIN > end)
		return -EINVAL;
	icmp = oip + ohl;
	/* Source quench (4) is deprecated (RFC 6633) and not translated. */
	if (icmp[0] != ICMP_DEST_UNREACH && icmp[0] != ICMP_TIME_EXCEEDED &&
	    icmp[0] != ICMP_PARAM_PROBLEM)
		return -EINVAL;
	iip = icmp + ICMP_HDR_LEN;
	avail = end - (l3off + ohl + ICMP_HDR_LEN);
	ihl = (iip[0] & 0x0fu) * 4;
	itot = rte_be_to_cpu_16(ld16(iip + 2));
	if ((iip[0] >> 4) != 4 || ihl < IP4_HDR_MIN || ihl > avail ||
	    itot < ihl)
		return -EINVAL;
	/* The quote is usually cut short of itot; never read past either. */
	avail = RTE_MIN(avail, itot);
	iproto = iip[9];
	if (iproto != pre->proto)
		return -EINVAL;
	/* The error must be about the packet as it left us, and sent to
	 * that packet's source; anything else is not ours to translate. */
	if (ld32(iip + 12) != post.src[0] || ld32(iip + 16) != post.dst[0] ||
	    ld32(oip + 16) != post.src[0])
		return -EINVAL;
	il4 = iip + ihl;
	il4len = avail - ihl;
	/* A quoted non-first fragment has no L4 header. */
	has_l4 = (ld16(iip + 6) & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) == 0;
	if (has_l4) {
		switch (iproto) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			if (il4len < 8 || ld16(il4) != post.sport ||
			    ld16(il4 + 2) != post.dport)
				return -EINVAL;
			pseudo = true;
			if (iproto == IPPROTO_TCP && il4len >= TCP_CSUM_OFF + 2)
				l4cp = il4 + TCP_CSUM_OFF;
			else if (iproto == IPPROTO_UDP &&
				 ld16(il4 + UDP_CSUM_OFF) != 0)
				l4cp = il4 + UDP_CSUM_OFF;
			break;
		case IPPROTO_ICMP:
			if (il4len < 8)
				return -EINVAL;
			itype = il4[0];
			if (itype == ICMP_ECHO_REQUEST &&
			    ld16(il4 + ICMP_ID_OFF) != post.sport)
				return -EINVAL;
			if (itype == ICMP_ECHO_REPLY &&
			    ld16(il4 + ICMP_ID_OFF) != post.dport)
				return -EINVAL;
			l4cp = il4 + ICMP_CSUM_OFF;
			break;
		default:
			break;
		}
	}

	/* ---- embedded packet: back to what its sender sent ---- */
	icmp_c = ld16(icmp + ICMP_CSUM_OFF);
	ipc = ipc0 = ld16(iip + 10);
	if (l4cp != NULL)
		l4c = l4c0 = ld16(l4cp);
	/* Embedded addresses are covered by the ICMP sum, the embedded IP
	 * header sum and (pseudo header) the embedded TCP/UDP sum. */
	swap_addr(iip + 12, pre->src[0], &icmp_c, &ipc,
		  pseudo && l4cp ? &l4c : NULL);
	swap_addr(iip + 16, pre->dst[0], &icmp_c, &ipc,
		  pseudo && l4cp ? &l4c : NULL);
	if (has_l4 && (iproto == IPPROTO_TCP || iproto == IPPROTO_UDP)) {
		swap_word(il4, pre->sport, &icmp_c, l4cp ? &l4c : NULL, NULL);
		swap_word(il4 + 2, pre->dport, &icmp_c, l4cp ? &l4c : NULL,
			  NULL);
	} else if (has_l4 && iproto == IPPROTO_ICMP &&
		   (itype == ICMP_ECHO_REQUEST || itype == ICMP_ECHO_REPLY)) {
		swap_word(il4 + ICMP_ID_OFF, itype == ICMP_ECHO_REQUEST ?
			  pre->sport : pre->dport, &icmp_c, &l4c, NULL);
	}
	/* The checksum fields are words of the ICMP message too. */
	if (ipc != ipc0) {
		st16(iip + 10, ipc);
		icmp_c = vfw_csum_update16(icmp_c, ipc0, ipc);
	}
	if (l4cp != NULL) {
		if (iproto == IPPROTO_UDP && l4c == 0)
			l4c = 0xffff;
		if (l4c != l4c0) {
			st16(l4cp, l4c);
			icmp_c = vfw_csum_update16(icmp_c, l4c0, l4c);
		}
	}
	st16(icmp + ICMP_CSUM_OFF, icmp_c);

	/* ---- outer header (no pseudo header in ICMPv4) ---- */
	ocsum = ld16(oip + 10);
	/* To the original sender of the quoted packet. */
	ocsum = csum_addr(ocsum, post.src[0], pre->src[0]);
	st32(oip + 16, pre->src[0]);
	/* An error from the quoted packet's destination itself comes from
	 * the address the sender talked to; routers on the way keep theirs
	 * (so traceroute through the NAT still shows the hops). */
	osrc = ld32(oip + 12);
	if (osrc == post.dst[0] && osrc != pre->dst[0]) {
		ocsum = vfw_csum_update32(ocsum, osrc, pre->dst[0]);
		st32(oip + 12, pre->dst[0]);
	}
	st16(oip + 10, ocsum);
	meta->key.src[0] = ld32(oip + 12);
	meta->key.dst[0] = ld32(oip + 16);
	return 0;
}
