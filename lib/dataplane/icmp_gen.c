/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP errors the appliance originates as a router (RFC 1812 4.3):
 * time exceeded when a TTL expires here (traceroute shows the appliance as
 * a hop) and destination unreachable / fragmentation needed when a packet
 * with DF set does not fit the egress MTU (RFC 1191 path MTU discovery).
 *
 * Called from the route stage's slow branches only. The error is built
 * from the packet as the route stage holds it, which NAT may already have
 * rewritten: the quoted datagram is translated back to what its sender
 * sent (the session says how), so that a client behind SNAT finds its own
 * packet in the error, and the error goes to that sender from the
 * appliance's address on the port the packet came in by. The route stage
 * then routes it like any other packet (route, neighbor, L2, tx).
 */
#include <netinet/in.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "dp_private.h"

#define ICMP_HDR_LEN 8
#define IP4_HDR_LEN 20
/* the precedence "internetwork control" (RFC 1812 4.3.2.5), as Linux */
#define ICMP_ERR_TOS 0xc0

void
vfw_tb_init(struct vfw_token_bucket *tb, uint64_t hz, uint32_t rate,
	    uint32_t burst, uint64_t now)
{
	tb->cost = rate != 0 ? RTE_MAX(hz / rate, (uint64_t)1) : UINT64_MAX;
	tb->cap = rate != 0 ? tb->cost * burst : 0;
	tb->credit = tb->cap;
	tb->last = now;
}

bool
vfw_tb_take(struct vfw_token_bucket *tb, uint64_t now)
{
	if (now > tb->last) {
		uint64_t d = now - tb->last;

		tb->credit = d >= tb->cap - tb->credit ? tb->cap : tb->credit + d;
		tb->last = now;
	}
	if (tb->credit < tb->cost || tb->cap == 0)
		return false;
	tb->credit -= tb->cost;
	return true;
}

static inline bool
ip4_not_unicast(uint32_t ip_be)
{
	uint32_t h = rte_be_to_cpu_32(ip_be);
	uint8_t b0 = (uint8_t)(h >> 24);

	/* this network 0/8, loopback, multicast, limited broadcast */
	return b0 == 0 || b0 == 127 || (b0 & 0xf0) == 0xe0 || h == UINT32_MAX;
}

/* ICMP types that are errors or unknown: never answered with an error
 * (RFC 1812 4.3.2.7; unknown types as Linux treats them). */
static inline bool
icmp_type_is_error(uint8_t type)
{
	switch (type) {
	case 0: case 8:           /* echo */
	case 9: case 10:          /* router advertisement / solicitation */
	case 13: case 14:         /* timestamp */
	case 15: case 16:         /* information */
	case 17: case 18:         /* address mask */
		return false;
	default:
		return true;
	}
}

/*
 * The tuple m had when its sender sent it. NAT rewrote meta->key to what
 * goes out; a session holds both: the current tuple reversed is one of its
 * keys, and the other key is what arrived.
 */
static void
original_tuple(struct vfw_worker *w, const struct vfw_pkt_meta *meta,
	       struct vfw_flow_key *orig)
{
	struct vfw_flow_key rev;
	const struct vfw_flow_key *kp = &rev;
	const struct vfw_session *s;
	int32_t hit;

	*orig = meta->key;
	if (meta->key.proto != IPPROTO_TCP && meta->key.proto != IPPROTO_UDP &&
	    meta->key.proto != IPPROTO_ICMP)
		return;
	vfw_flow_key_reverse(&rev, &meta->key);
	vfw_ct_lookup_bulk(w->ct, &kp, &hit, 1);
	if (hit < 0)
		return;
	s = vfw_ct_session(w->ct, VFW_CT_HIT_IDX(hit));
	if (!(s->flags & (VFW_SF_SNAT | VFW_SF_DNAT)))
		return;
	*orig = VFW_CT_HIT_DIR(hit) ? s->orig : s->reply;
}

/* RFC 1812 4.3.2.7: no error about an error, a non-first fragment, or a
 * packet to or from an address that is not one host. */
static bool
may_answer(const struct vfw_policy *p, const struct vfw_pkt_meta *meta,
	   const struct vfw_flow_key *orig)
{
	unsigned int r;

	if (meta->flags & (VFW_PF_FRAG_LATER | VFW_PF_ICMP_ERR |
			   VFW_PF_L2_BCAST | VFW_PF_L2_MCAST))
		return false;
	if (meta->key.proto == IPPROTO_ICMP && icmp_type_is_error(meta->icmp_type))
		return false;
	if (ip4_not_unicast(orig->src[0]) || ip4_not_unicast(orig->dst[0]))
		return false;
	for (r = 0; r < VFW_PORT_MAX; r++)
		if (orig->src[0] == p->bcast[r] || orig->dst[0] == p->bcast[r])
			return false;
	/* an error to ourselves would only loop */
	return vfw_policy_owned(p, orig->src[0]) == 0;
}

struct rte_mbuf *
vfw_icmp_error(struct vfw_worker *w, const struct vfw_policy *p,
	       struct rte_mbuf *m, uint8_t type, uint8_t code, uint16_t mtu)
{
	const struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l2_len);
	uint8_t role = (uint8_t)meta->aux;
	struct vfw_flow_key orig;
	struct vfw_pkt_meta *em, qm;
	struct rte_ipv4_hdr *eip;
	struct rte_mbuf *e;
	uint32_t quote, l2 = meta->l2_len, len;
	uint8_t *d, *icmp;

	if (unlikely(role >= VFW_PORT_MAX || meta->key.af != VFW_AF_INET))
		return NULL;
	original_tuple(w, meta, &orig);
	if (!may_answer(p, meta, &orig))
		return NULL;
	if (!vfw_tb_take(&w->icmp_tb, rte_rdtsc())) {
		w->stats.ev[VFW_EV_ICMP_ERR_LIMITED]++;
		return NULL;
	}
	/* as much of the datagram as fits in 576 bytes (RFC 1812 4.3.2.3) */
	quote = RTE_MIN((uint32_t)rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)ip)->total_length),
			rte_pktmbuf_data_len(m) - l2);
	quote = RTE_MIN(quote, (uint32_t)(VFW_ICMP_QUOTE_MAX - IP4_HDR_LEN - ICMP_HDR_LEN));
	if (unlikely(quote < meta->l3_len))
		return NULL;
	e = rte_pktmbuf_alloc(w->dp->pool);
	if (unlikely(e == NULL)) {
		w->stats.drops[VFW_DROP_NO_MBUF]++;
		return NULL;
	}
	len = l2 + IP4_HDR_LEN + ICMP_HDR_LEN + quote;
	d = (uint8_t *)rte_pktmbuf_append(e, (uint16_t)len);
	if (unlikely(d == NULL)) {
		rte_pktmbuf_free(e);
		w->stats.drops[VFW_DROP_NO_MBUF]++;
		return NULL;
	}
	/* L2 as it came (VLAN tag included); the route stage sets the MACs */
	memcpy(d, rte_pktmbuf_mtod(m, const uint8_t *), l2);
	icmp = d + l2 + IP4_HDR_LEN;
	memcpy(icmp + ICMP_HDR_LEN, ip, quote);

	/* the quote as the sender sent it: NAT undone, checksums with it */
	em = vfw_pkt_meta(e);
	if (memcmp(&orig, &meta->key, sizeof(orig)) != 0) {
		memset(&qm, 0, sizeof(qm));
		qm.key = meta->key;
		qm.l2_len = (uint16_t)(l2 + IP4_HDR_LEN + ICMP_HDR_LEN);
		qm.l3_len = meta->l3_len;
		vfw_nat_rewrite(e, &qm, &orig);
	}

	icmp[0] = type;
	icmp[1] = code;
	memset(icmp + 2, 0, 6);
	if (mtu != 0) {
		rte_be16_t v = rte_cpu_to_be_16(mtu);

		memcpy(icmp + 6, &v, sizeof(v));   /* next-hop MTU, RFC 1191 */
	}
	{
		uint16_t c = vfw_l4_csum4(0, 0, IPPROTO_ICMP, icmp,
					  ICMP_HDR_LEN + quote);

		memcpy(icmp + 2, &c, sizeof(c));
	}

	eip = (struct rte_ipv4_hdr *)(d + l2);
	eip->version_ihl = RTE_IPV4_VHL_DEF;
	eip->type_of_service = ICMP_ERR_TOS;
	eip->total_length = rte_cpu_to_be_16((uint16_t)(IP4_HDR_LEN + ICMP_HDR_LEN + quote));
	eip->packet_id = rte_cpu_to_be_16(w->icmp_ip_id++);
	eip->fragment_offset = 0;
	/* the route stage takes one off, as from every packet it routes */
	eip->time_to_live = VFW_ICMP_ERR_TTL + 1;
	eip->next_proto_id = IPPROTO_ICMP;
	eip->src_addr = w->ports[role].ip;
	eip->dst_addr = orig.src[0];
	{
		/* the port it will leave by: the route to the sender */
		uint32_t dst_host = rte_be_to_cpu_32(orig.src[0]);
		const struct vfw_nexthop *nh;

		vfw_route_lookup_bulk(p->rt, &dst_host, &nh, 1);
		vfw_ip4_csum_out(w, e, eip, (uint16_t)l2, IP4_HDR_LEN,
				 nh != NULL ? nh->port : VFW_PORT_MAX);
	}

	memset(em, 0, sizeof(*em));
	em->cls = VFW_PC_IP;
	em->l4proto = IPPROTO_ICMP;
	em->flags = meta->flags & VFW_PF_VLAN;
	em->vlan_tci = meta->vlan_tci;
	em->l2_len = (uint16_t)l2;
	em->l3_len = IP4_HDR_LEN;
	em->l4_len = (uint16_t)(ICMP_HDR_LEN + quote);
	em->icmp_type = type;
	em->icmp_code = code;
	em->ttl = eip->time_to_live;
	em->key.proto = IPPROTO_ICMP;
	em->key.af = VFW_AF_INET;
	em->key.src[0] = eip->src_addr;
	em->key.dst[0] = eip->dst_addr;
	em->key.sport = rte_cpu_to_be_16((uint16_t)(type << 8 | code));
	em->aux = role;
	e->port = m->port;
	w->stats.ev[VFW_EV_ICMP_ERR_SENT]++;
	return e;
}
