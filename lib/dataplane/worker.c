/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker: one pass per stage over each burst.
 *
 *   parse -> [hand-off] -> conntrack (bulk) -> hits: NAT rewrite
 *                                           -> misses: DNAT, local, ACL
 *                                              (bulk), session + SNAT
 *   -> route (bulk) -> TTL, neighbor, L2 rewrite -> tx buffer
 *
 * Nothing here locks, allocates or makes a system call; the slow path
 * (ARP, unresolved next hops) is reached through a ring.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "dp_private.h"

/* Session slots examined per loop iteration: a sweep costs memory
 * bandwidth, so little while packets flow and more when the queues are idle. */
#define VFW_AGE_BUDGET_BUSY 8
#define VFW_AGE_BUDGET_IDLE 256
#define VFW_REEVAL_BUDGET 256

static inline void
drop(struct vfw_worker *w, struct rte_mbuf *m, enum vfw_drop why)
{
	w->stats.drops[why]++;
	rte_pktmbuf_free(m);
}

static inline void
tx(struct vfw_worker *w, uint8_t role, struct rte_mbuf *m)
{
	if (unlikely(w->tx_hook != NULL)) {
		w->tx_hook(w->tx_hook_arg, role, &m, 1);
		w->stats.tx[role]++;
		return;
	}
	if (unlikely(!w->io)) {
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.tx[role] += rte_eth_tx_buffer(w->ports[role].port_id,
					       (uint16_t)w->id, w->txb[role], m);
}

/* Packets of one tx_burst() that go to the port without the tx buffer. */
#define VFW_TX_DIRECT 8

/* Transmit n packets on port role; the bench/fuzz hook gets them at once. */
static inline void
tx_burst(struct vfw_worker *w, uint8_t role, struct rte_mbuf **pkts,
	 unsigned int n)
{
	uint16_t port_id = w->ports[role].port_id;
	struct rte_eth_dev_tx_buffer *txb = w->txb[role];
	uint64_t sent = 0;
	unsigned int i;

	if (n == 0)
		return;
	if (unlikely(w->tx_hook != NULL)) {
		w->tx_hook(w->tx_hook_arg, role, pkts, (uint16_t)n);
		w->stats.tx[role] += n;
		return;
	}
	if (unlikely(!w->io)) {
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	if (txb->length == 0 && n >= VFW_TX_DIRECT) {
		/* A burst's worth with nothing queued before it: straight to
		 * the port, and what it refuses takes the buffer's own error
		 * path (counted tx_queue_full, freed), as a flush would. */
		sent = rte_eth_tx_burst(port_id, (uint16_t)w->id, pkts, (uint16_t)n);
		if (unlikely(sent < n))
			txb->error_callback(pkts + sent, (uint16_t)(n - sent),
					    txb->error_userdata);
	} else {
		for (i = 0; i < n; i++)
			sent += rte_eth_tx_buffer(port_id, (uint16_t)w->id, txb,
						  pkts[i]);
	}
	w->stats.tx[role] += sent;
}

void
vfw_dp_flush(struct vfw_worker *w)
{
	unsigned int r;

	if (!w->io)
		return;
	for (r = 0; r < VFW_PORT_MAX; r++)
		w->stats.tx[r] += rte_eth_tx_buffer_flush(w->ports[r].port_id,
							  (uint16_t)w->id,
							  w->txb[r]);
}

static inline void
to_slowpath(struct vfw_worker *w, struct rte_mbuf *m)
{
	if (unlikely(rte_ring_sp_enqueue(w->to_slow, m) != 0)) {
		drop(w, m, VFW_DROP_SLOWPATH_FULL);
		return;
	}
	w->stats.ev[VFW_EV_TO_SLOWPATH]++;
}

static inline struct rte_ipv4_hdr *
ip4_hdr(struct rte_mbuf *m, const struct vfw_pkt_meta *meta)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, meta->l2_len);
}

static inline bool
ip4_is_multicast(uint32_t ip_be)
{
	uint32_t h = rte_be_to_cpu_32(ip_be);

	return (h & 0xf0000000u) == 0xe0000000u || h == 0xffffffffu;
}

/* Answer an ICMP echo request addressed to us, in place. */
static void
echo_reply(struct vfw_worker *w, struct rte_mbuf *m, struct vfw_pkt_meta *meta,
	   uint8_t role)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = ip4_hdr(m, meta);
	struct rte_icmp_hdr *icmp;
	uint32_t a;
	uint16_t old;

	if (meta->flags & (VFW_PF_FRAG | VFW_PF_IP_OPTS)) {
		drop(w, m, VFW_DROP_LOCAL_UNHANDLED);
		return;
	}
	icmp = (struct rte_icmp_hdr *)((char *)ip + meta->l3_len);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&w->ports[role].mac, &eth->src_addr);
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	old = *(uint16_t *)&ip->time_to_live;
	ip->time_to_live = 64;
	ip->hdr_checksum = vfw_csum_update16(ip->hdr_checksum, old,
					     *(uint16_t *)&ip->time_to_live);
	old = *(uint16_t *)&icmp->icmp_type;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = vfw_csum_update16(icmp->icmp_cksum, old,
					     *(uint16_t *)&icmp->icmp_type);
	w->stats.ev[VFW_EV_ECHO_REPLY]++;
	tx(w, role, m);
}

/*
 * Answer an ARP request for an address we own on this port, in place, and
 * send it. Done here rather than on the slow path so that neighbors keep
 * reaching us while the control thread is busy (compiling a large policy
 * takes seconds). A request tells the slow path nothing it needs except
 * the sender's MAC when it is resolving that sender, so requests from
 * senders in the neighbor table still go there, to be learned.
 */
static bool
arp_answer(struct vfw_worker *w, const struct vfw_policy *p,
	   struct rte_mbuf *m, const struct vfw_pkt_meta *meta, uint8_t role)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *,
							  meta->l2_len);
	uint32_t tip = arp->arp_data.arp_tip, sip = arp->arp_data.arp_sip;
	unsigned int i;
	bool ours = tip == w->ports[role].ip;

	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		return false;
	for (i = 0; !ours && i < p->n_owned; i++)
		ours = p->owned[i].ip == tip && p->owned[i].port == role;
	if (!ours)
		return false;
	/* a sender we are resolving: let the slow path learn its MAC */
	if (vfw_neigh_find(w->neigh, sip) >= 0)
		return false;
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &eth->dst_addr);
	rte_ether_addr_copy(&w->ports[role].mac, &eth->src_addr);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = sip;
	rte_ether_addr_copy(&w->ports[role].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip;
	w->stats.ev[VFW_EV_ARP_REPLY]++;
	tx(w, role, m);
	return true;
}

/* ---------------- route, rewrite, transmit ---------------- */

/*
 * IPv4 header checksum after a TTL decrement: RFC 1624 eqn. 3 with the
 * change folded into a constant. The TTL is the high byte of its 16-bit
 * word, so the word drops by 0x0100 (in network order) and ~m + m' is
 * 0xffff - 0x0100 whatever m was. Same result as vfw_csum_update16().
 */
static inline rte_be16_t
csum_ttl_dec(rte_be16_t csum)
{
	uint32_t s = (uint16_t)~csum +
		     (uint32_t)(0xffffu - rte_cpu_to_be_16(0x0100));

	s = (s & 0xffff) + (s >> 16);
	return (rte_be16_t)~s;
}

static inline unsigned int
neigh_cache_idx(uint32_t ip_be)
{
	return (ip_be * 0x9e3779b1u) >> 24;  /* VFW_NEIGH_CACHE = 256 */
}
_Static_assert(VFW_NEIGH_CACHE == 256, "neigh_cache_idx() takes 8 bits");

/*
 * Next-hop hints. A session's packets of one direction all leave with the
 * same (post-NAT) destination, so the worker keeps in the session, per
 * direction, 1 + the index of the next hop the route lookup gave
 * (vfw_session.nh_hint); later packets take it instead of a lookup. A
 * hint holds for the route table it came from (w->hint_rt): when a
 * generation brings another table, the housekeeping sweep clears every
 * session's hints, and until it is through only hints below its cursor
 * are read or written. meta->session carries the handle (conntrack hit
 * word) of the session a packet matched from the session stages to
 * routing, or VFW_NO_SESSION: a flow's first packet, which made its
 * session, is routed by lookup, and its next packet leaves the hint.
 */
#define VFW_NO_SESSION UINT32_MAX
#define VFW_HINT_SWEEP_BUSY 64
#define VFW_HINT_SWEEP_IDLE 1024

/*
 * Handles below this limit may have their hints read and written: the
 * handle is index << 1 | direction, so "index below the sweep's cursor" is
 * one compare, and VFW_NO_SESSION is never below it.
 */
static inline uint32_t
hint_limit(const struct vfw_worker *w, bool hinted)
{
	if (!hinted)
		return 0;
	return w->hint_sweep ? w->hint_cursor << 1 : VFW_NO_SESSION;
}

static void
hint_sweep_step(struct vfw_worker *w, unsigned int budget)
{
	uint32_t cap = vfw_ct_capacity(w->ct);
	uint32_t end = w->hint_cursor + RTE_MIN(budget, cap - w->hint_cursor);
	uint32_t i;

	for (i = w->hint_cursor; i < end; i++) {
		struct vfw_session *s = vfw_ct_session(w->ct, i);

		s->nh_hint[0] = 0;
		s->nh_hint[1] = 0;
	}
	w->hint_cursor = end;
	if (end == cap)
		w->hint_sweep = false;
}

/* The route table of a new generation: hints of another table go. */
static void
hint_table(struct vfw_worker *w, const struct vfw_route_table *rt)
{
	uint64_t id = vfw_route_table_id(rt);

	if (id == w->hint_rt)
		return;
	/* before the first table no hint was ever written */
	if (w->hint_rt != 0) {
		w->hint_sweep = true;
		w->hint_cursor = 0;
	}
	w->hint_rt = id;
}

/*
 * Next hops of n packets: from their sessions' hints when hinted (the
 * caller vouches that every packet's meta->session names the session it
 * was judged by, or is VFW_NO_SESSION), by route lookup for the rest,
 * whose results then become hints.
 */
static inline void
next_hops(struct vfw_worker *w, struct vfw_policy *p, struct rte_mbuf **pkts,
	  unsigned int n, bool hinted, const struct vfw_nexthop **nh)
{
	struct vfw_session *sess = vfw_ct_session(w->ct, 0);
	const struct vfw_nexthop *base = vfw_route_nh(p->rt, 0);
	const struct vfw_nexthop *got[VFW_BURST];
	uint32_t lim = hint_limit(w, hinted), dst[VFW_BURST];
	uint8_t look[VFW_BURST];
	unsigned int i, k, nlook = 0, nleave = 0;

	for (i = 0; i < n; i++) {
		const struct vfw_pkt_meta *meta = vfw_pkt_meta(pkts[i]);
		uint32_t sh = meta->session;

		if (likely(sh < lim)) {
			uint32_t hint = sess[VFW_CT_HIT_IDX(sh)].nh_hint[VFW_CT_HIT_DIR(sh)];

			if (likely(hint != 0)) {
				nh[i] = &base[hint - 1];
				continue;
			}
			nleave++;
		}
		look[nlook] = (uint8_t)i;
		dst[nlook++] = rte_be_to_cpu_32(meta->key.dst[0]);
	}
	if (nlook == n) {
		/* nothing hinted (new flows, the first packets after a
		 * table change): the lookup fills nh in place */
		vfw_route_lookup_bulk(p->rt, dst, nh, n);
	} else if (nlook != 0) {
		vfw_route_lookup_bulk(p->rt, dst, got, nlook);
		for (k = 0; k < nlook; k++)
			nh[look[k]] = got[k];
	}
	/* the lookups of sessions without a hint leave one */
	for (k = 0; nleave != 0 && k < nlook; k++) {
		uint32_t sh = vfw_pkt_meta(pkts[look[k]])->session;
		const struct vfw_nexthop *h = nh[look[k]];

		if (sh < lim && h != NULL) {
			sess[VFW_CT_HIT_IDX(sh)].nh_hint[VFW_CT_HIT_DIR(sh)] =
				(uint32_t)(h - base) + 1;
			nleave--;
		}
	}
}

/* The route stage for the packets its slow branches make (errors,
 * fragments): an out-of-line entry, so that the stage itself stays inlined
 * in process_chunk() although it reaches itself through these. */
static __rte_noinline void route_and_tx_slow(struct vfw_worker *w,
					     struct vfw_policy *p,
					     struct rte_mbuf **pkts,
					     unsigned int n);

/*
 * The TTL expires here: drop, and tell the sender (time exceeded, from
 * icmp_gen.c), routed like any packet. Out of line, as too_big(): the
 * forward path only pays for the tests that lead here.
 */
static __rte_noinline void
ttl_expired(struct vfw_worker *w, struct vfw_policy *p, struct rte_mbuf *m)
{
	struct rte_mbuf *e = vfw_icmp_error(w, p, m, 11 /* time exceeded */,
					    0 /* in transit */, 0);

	drop(w, m, VFW_DROP_TTL_EXPIRED);
	if (e != NULL)
		route_and_tx_slow(w, p, &e, 1);
}

/*
 * Longer than the egress MTU: with DF set, drop it and send the sender
 * fragmentation needed with that MTU (RFC 1191); without, cut it into
 * fragments (frag.c) and route those, which counts each of them on the
 * route instead of the packet.
 */
static __rte_noinline void
too_big(struct vfw_worker *w, struct vfw_policy *p, struct rte_mbuf *m,
	const struct vfw_nexthop *h)
{
	struct rte_mbuf *frags[VFW_FRAG_MAX];
	unsigned int n, i;

	if (ip4_hdr(m, vfw_pkt_meta(m))->fragment_offset &
	    rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
		struct rte_mbuf *e = vfw_icmp_error(w, p, m, 3 /* unreachable */,
						    4 /* fragmentation needed */,
						    w->ports[h->port].mtu);

		drop(w, m, VFW_DROP_MTU);
		if (e != NULL)
			route_and_tx_slow(w, p, &e, 1);
		return;
	}
	p->ctr[w->id].route_hits[h->route]--;
	n = vfw_frag_ipv4(w, m, h->port, frags, VFW_FRAG_MAX);
	for (i = 0; i < n; i += VFW_BURST)
		route_and_tx_slow(w, p, frags + i,
				  RTE_MIN(n - i, (unsigned int)VFW_BURST));
}

/* Destination and source MAC: one 8-byte and one 6-byte store. */
static inline void
l2_rewrite(struct vfw_worker *w, struct rte_mbuf *m, uint64_t dmac, uint8_t port)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);

	memcpy(eth, &dmac, sizeof(dmac));
	memcpy(eth + RTE_ETHER_ADDR_LEN, &w->ports[port].mac, RTE_ETHER_ADDR_LEN);
}

/*
 * Route, TTL, next hop MAC, L2 rewrite and transmit, in one pass over the
 * burst. A gateway's neighbor slot is in its next hop; other next hops
 * (on-link destinations) go through the worker's slot cache. Packets whose
 * next hop neither finds are set aside and looked up in one bulk hash
 * lookup after the pass; what that does not resolve goes to the slow path
 * (ARP). Packets of one flow take the same way, so their order holds.
 */
static __rte_always_inline void
route_and_tx(struct vfw_worker *w, struct vfw_policy *p,
	     struct rte_mbuf **pkts, unsigned int n, bool hinted)
{
	uint32_t find_ip[VFW_BURST];
	const struct vfw_nexthop *nh[VFW_BURST];
	struct rte_mbuf *find_pkt[VFW_BURST];
	int32_t found[VFW_BURST];
	uint8_t find_port[VFW_BURST];
	struct rte_mbuf *txq[VFW_PORT_MAX][VFW_BURST];
	unsigned int ntx[VFW_PORT_MAX] = { 0 };
	uint64_t *route_hits = p->ctr[w->id].route_hits;
	unsigned int i, r, nfind = 0;

	if (n == 0)
		return;
	next_hops(w, p, pkts, n, hinted, nh);
	/*
	 * With many routes, next hops and their counters are cold and each
	 * depends on the lookup: start all the misses before using any.
	 */
	for (i = 0; i < n; i++)
		rte_prefetch0(nh[i]);
	for (i = 0; i < n; i++)
		if (likely(nh[i] != NULL))
			rte_prefetch0(&route_hits[nh[i]->route]);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
		const struct vfw_nexthop *h = nh[i];
		const struct vfw_neigh_cache_entry *ce;
		struct rte_ipv4_hdr *ip;
		uint32_t nip, gw;
		int32_t slot, cslot;
		uint64_t mac;
		uint8_t port;

		if (unlikely(h == NULL)) {
			drop(w, m, VFW_DROP_NO_ROUTE);
			continue;
		}
		route_hits[h->route]++;
		if (unlikely(h->type == VFW_NH_NONE)) {
			drop(w, m, VFW_DROP_ROUTE_NONE);
			continue;
		}
		ip = ip4_hdr(m, meta);
		if (unlikely(ip->time_to_live <= 1)) {
			ttl_expired(w, p, m);
			continue;
		}
		port = h->port;
		if (unlikely(rte_be_to_cpu_16(ip->total_length) >
			     w->ports[port].mtu && w->ports[port].mtu != 0)) {
			too_big(w, p, m, h);
			continue;
		}
		ip->time_to_live--;
		ip->hdr_checksum = csum_ttl_dec(ip->hdr_checksum);
		/*
		 * The neighbor: a gateway's slot is in its next hop when it
		 * was known as the table was built; any other next hop's (an
		 * on-link destination, a gateway resolved later) is in the
		 * slot cache, or -1. Selected with masks, not branches:
		 * on-link and routed packets arrive mixed.
		 */
		gw = -(uint32_t)(h->gw != 0);
		nip = (h->gw & gw) | (meta->key.dst[0] & ~gw);
		ce = &w->neigh_cache[neigh_cache_idx(nip)];
		cslot = (int32_t)((uint32_t)ce->slot | -(uint32_t)(ce->ip != nip));
		gw &= -(uint32_t)(h->neigh >= 0);
		slot = (int32_t)(((uint32_t)h->neigh & gw) | ((uint32_t)cslot & ~gw));
		if (likely(vfw_neigh_mac_word(w->neigh, slot, nip, &mac))) {
			l2_rewrite(w, m, mac, port);
			txq[port][ntx[port]++] = m;
			continue;
		}
		find_pkt[nfind] = m;
		find_port[nfind] = port;
		find_ip[nfind++] = nip;
	}

	if (unlikely(nfind != 0)) {
		vfw_neigh_find_bulk(w->neigh, find_ip, found, nfind);
		for (i = 0; i < nfind; i++) {
			struct rte_mbuf *m = find_pkt[i];
			uint8_t port = find_port[i];
			uint64_t mac;

			if (!vfw_neigh_mac_word(w->neigh, found[i], find_ip[i], &mac)) {
				struct vfw_pkt_meta *meta = vfw_pkt_meta(m);

				meta->out_port = port;
				meta->nh_ip = find_ip[i];
				to_slowpath(w, m);
				continue;
			}
			w->neigh_cache[neigh_cache_idx(find_ip[i])] =
				(struct vfw_neigh_cache_entry){ find_ip[i], found[i] };
			l2_rewrite(w, m, mac, port);
			txq[port][ntx[port]++] = m;
		}
	}
	w->stats.ev[VFW_EV_FORWARDED] += ntx[VFW_PORT_VNET] + ntx[VFW_PORT_CLUSTER];
	for (r = 0; r < VFW_PORT_MAX; r++)
		tx_burst(w, (uint8_t)r, txq[r], ntx[r]);
}

static __rte_noinline void
route_and_tx_slow(struct vfw_worker *w, struct vfw_policy *p,
		  struct rte_mbuf **pkts, unsigned int n)
{
	route_and_tx(w, p, pkts, n, false);
}

/* ---------------- packets of known sessions ---------------- */

enum { SP_FORWARD, SP_NEW, SP_DROPPED };

/*
 * A packet that matched session hit: TCP state, timer, NAT. Returns
 * SP_FORWARD (rewritten, ready to route), SP_NEW (a SYN reopening a closed
 * session: deleted, judge it as a new flow) or SP_DROPPED.
 */
static inline int
session_packet(struct vfw_worker *w, struct rte_mbuf *m,
	       struct vfw_pkt_meta *meta, int32_t hit, uint64_t now)
{
	uint32_t idx = VFW_CT_HIT_IDX(hit);
	unsigned int d = VFW_CT_HIT_DIR(hit);
	struct vfw_session *s;

	/* A packet that may change the session's state (RST, FIN, SYN) must
	 * be one the end host would accept: a forged RST with a bad checksum
	 * would otherwise close it. One test of a byte already loaded; the
	 * pass over the payload only for those rare packets. */
	if (unlikely(meta->tcp_flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG |
					RTE_TCP_SYN_FLAG)) &&
	    !vfw_pkt_l4_csum_ok(m, meta)) {
		drop(w, m, VFW_DROP_L4_CSUM);
		return SP_DROPPED;
	}
	if (unlikely(vfw_ct_update(w->ct, idx, d, meta->tcp_flags, now) < 0)) {
		if (meta->key.proto == IPPROTO_TCP && d == 0 &&
		    vfw_ct_tcp_may_open(w->ct, meta->tcp_flags)) {
			vfw_ct_delete(w->ct, idx);
			/* the new flow takes the old session's place */
			w->stats.ev[VFW_EV_CT_REPLACED]++;
			return SP_NEW;
		}
		drop(w, m, VFW_DROP_CT_INVALID);
		return SP_DROPPED;
	}
	w->stats.ev[VFW_EV_CT_HIT]++;
	meta->session = (uint32_t)hit;
	s = vfw_ct_session(w->ct, idx);
	if (unlikely((meta->flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER)) ==
		     VFW_PF_FRAG) &&
	    vfw_ct_frag_record(w->ct, &meta->key, meta->frag_id, now) < 0) {
		/* its later fragments could not be matched: drop it all now */
		drop(w, m, VFW_DROP_FRAG_TABLE_FULL);
		return SP_DROPPED;
	}
	if (s->flags & (VFW_SF_SNAT | VFW_SF_DNAT))
		vfw_nat_rewrite_rev_fast(m, meta, d == 0 ? &s->reply : &s->orig);
	return SP_FORWARD;
}

/*
 * Session creation failed. -EEXIST may mean an earlier packet of the same
 * burst created this very flow's session: then this packet is simply its
 * next packet. Anything else is counted.
 *
 * A key held by a closing or closed TCP session does not fail a SYN's
 * creation: lib/ct replaces that session (releasing its SNAT port through
 * the release callback). That is only sound because the holder is in this
 * worker's table whenever it exists at all: two sessions that collide share
 * a key, a key is a packet of its session as it is on the wire (orig: as
 * received; reply: as a reply arrives), and dispatch() picks the owner of
 * a packet from its outside addresses alone, the same for both directions
 * and under NAT. So both sessions are owned by the worker that owns the
 * key's addresses. (After a policy change that moves the NAT domain, an
 * old session may sit on a worker that no longer gets its packets; the
 * new flow then lives on its new owner and the collision is not seen,
 * which is harmless: the old one ages out.)
 */
static void
create_failed(struct vfw_worker *w, struct rte_mbuf *m,
	      struct vfw_pkt_meta *meta, int err, uint64_t now,
	      struct rte_mbuf **fwd, unsigned int *nf)
{
	const struct vfw_flow_key *kp = &meta->key;
	int32_t hit;

	if (err == -EEXIST) {
		vfw_ct_lookup_bulk(w->ct, &kp, &hit, 1);
		if (hit >= 0) {
			switch (session_packet(w, m, meta, hit, now)) {
			case SP_FORWARD:
				fwd[(*nf)++] = m;
				break;
			case SP_NEW: /* reopened twice in one burst: give up */
				drop(w, m, VFW_DROP_CT_INVALID);
				break;
			default:
				break;
			}
			return;
		}
	}
	drop(w, m, err == -ENOSPC ? VFW_DROP_CT_FULL : VFW_DROP_CT_INVALID);
}

/*
 * A packet that missed the session lookup and may not open a session (TCP
 * without a bare SYN, an echo reply). When an earlier packet of the same
 * burst created sessions after the lookup (created != 0), this one may
 * belong to one of them (a SYN and the RST that follows it in one burst):
 * look again. Otherwise it is invalid.
 */
static void
not_opening(struct vfw_worker *w, struct rte_mbuf *m,
	    struct vfw_pkt_meta *meta, unsigned int created, uint64_t now,
	    struct rte_mbuf **fwd, unsigned int *nf)
{
	if (created != 0)
		create_failed(w, m, meta, -EEXIST, now, fwd, nf);
	else
		drop(w, m, VFW_DROP_CT_INVALID);
}

/* ---------------- new flows ---------------- */

static inline enum vfw_dir
dir_of_role(uint8_t role)
{
	return role == VFW_PORT_VNET ? VFW_DIR_IN : VFW_DIR_OUT;
}

static inline bool
key_equal(const struct vfw_flow_key *a, const struct vfw_flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Which flows get a session: TCP, UDP and ICMP echo. */
static inline bool
tracked(const struct vfw_pkt_meta *meta)
{
	uint8_t pr = meta->key.proto;

	/* an echo reply opens nothing: it is only valid on the session
	 * its request made */
	return pr == IPPROTO_TCP || pr == IPPROTO_UDP ||
	       (pr == IPPROTO_ICMP && (meta->flags & VFW_PF_ICMP_ECHO) &&
		meta->icmp_type == RTE_IP_ICMP_ECHO_REQUEST);
}

/*
 * Source-translate final (post-DNAT tuple) with pool `pool`; returns the
 * session index or a negative errno (port exhaustion: -ENOSPC with *exhausted).
 */
static int
snat_and_create(struct vfw_worker *w, struct vfw_pkt_meta *meta,
		struct vfw_flow_key *final, unsigned int pool, uint32_t addr,
		enum vfw_dir dir, uint64_t now, bool *exhausted)
{
	enum vfw_nat_pclass pc = vfw_nat_pclass_of(final->proto);
	struct vfw_flow_key reply;
	uint16_t want = rte_be_to_cpu_16(final->sport);
	int tries, port, idx = -EEXIST;

	*exhausted = false;
	for (tries = 0; tries < 4 && idx == -EEXIST; tries++) {
		port = vfw_snat_alloc(w->snat, pool, pc, want);
		if (port < 0) {
			*exhausted = true;
			return -ENOSPC;
		}
		final->src[0] = addr;
		final->sport = rte_cpu_to_be_16((uint16_t)port);
		if (pc == VFW_NAT_ICMP)
			final->dport = final->sport;
		vfw_flow_key_reverse(&reply, final);
		idx = vfw_ct_create_session(w->ct, &meta->key, &reply, dir,
					    meta->tcp_flags, now);
		if (idx < 0)
			vfw_snat_free(w->snat, pool, pc, (uint16_t)port);
		if (idx == -EEXIST) {
			const struct vfw_flow_key *kp = &meta->key;
			int32_t hit;

			/* the flow itself exists (an earlier packet of this
			 * burst): no other port will help */
			vfw_ct_lookup_bulk(w->ct, &kp, &hit, 1);
			if (hit >= 0)
				return -EEXIST;
		}
		want = 0; /* collision: take any other port next time */
	}
	return idx;
}

/* The pool SNAT rule si takes for a flow from src (network order): one
 * of its pools by a hash of the source, so a client keeps its address. */
static inline uint16_t
snat_pool_of(const struct vfw_policy *p, int si, uint32_t src)
{
	const struct vfw_snat_rule *sr = vfw_nat_snat(p->nat, (unsigned int)si);

	return sr->pool[sr->n_pools > 1 ? rte_hash_crc_4byte(src, 0) % sr->n_pools : 0];
}

static void
new_flows(struct vfw_worker *w, struct vfw_policy *p, struct rte_mbuf **pkts,
	  unsigned int n, uint64_t now, struct rte_mbuf **fwd, unsigned int *nf)
{
	struct vfw_flow_key post[VFW_BURST];
	const struct vfw_flow_key *keys[VFW_DIR_MAX][VFW_BURST];
	struct rte_mbuf *acl_pkts[VFW_DIR_MAX][VFW_BURST];
	uint32_t res[VFW_DIR_MAX][VFW_BURST];
	int16_t dnat_of[VFW_DIR_MAX][VFW_BURST];
	unsigned int nk[VFW_DIR_MAX] = { 0, 0 }, created = 0;
	struct vfw_policy_counters *ctr = &p->ctr[w->id];
	const struct vfw_nexthop *src_nh[VFW_BURST];
	struct vfw_flow_key rev[VFW_BURST];
	const struct vfw_flow_key *revp[VFW_BURST];
	int16_t snat_of[VFW_BURST];
	uint32_t src[VFW_BURST];
	unsigned int i, d;

	/* Strict reverse-path check for new flows: the route back to the
	 * source must leave by the port the packet came in on, and the
	 * source must not be one of ours. Packets of sessions never get
	 * here, so asymmetric replies are not affected. */
	for (i = 0; i < n; i++)
		src[i] = rte_be_to_cpu_32(vfw_pkt_meta(pkts[i])->key.src[0]);
	vfw_route_lookup_bulk(p->rt, src, src_nh, n);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
		uint8_t role = (uint8_t)meta->aux;
		struct vfw_flow_key *k = &post[i];
		unsigned int own;
		int di = -1;

		if (unlikely(meta->flags & VFW_PF_FRAG_LATER) && tracked(meta)) {
			/* its first fragment made no session: never judge a
			 * fragment on its own */
			drop(w, m, VFW_DROP_FRAG_NO_FIRST);
			continue;
		}
		if (unlikely(src_nh[i] == NULL || src_nh[i]->port != role ||
			     src_nh[i]->type == VFW_NH_NONE ||
			     vfw_policy_owned(p, meta->key.src[0]) != 0)) {
			drop(w, m, VFW_DROP_SPOOFED);
			continue;
		}
		/* Only packets the end host would accept open sessions or get
		 * answered (Linux conntrack's nf_conntrack_checksum): a SYN
		 * with a bad checksum must not take a session or a NAT port. */
		if (unlikely(!vfw_pkt_l4_csum_ok(m, meta))) {
			drop(w, m, VFW_DROP_L4_CSUM);
			continue;
		}
		*k = meta->key;
		if (meta->key.proto == IPPROTO_TCP || meta->key.proto == IPPROTO_UDP)
			di = vfw_nat_dnat_lookup(p->nat, &meta->key);
		if (di >= 0) {
			const struct vfw_dnat_rule *r = vfw_nat_dnat(p->nat, (unsigned int)di);

			k->dst[0] = r->to_addr;
			k->dport = r->to_port;
			ctr->dnat_hits[di]++;
		} else {
			own = vfw_policy_owned(p, meta->key.dst[0]);
			if (own != 0) {
				if ((own & VFW_OWN_IFACE) &&
				    meta->key.proto == IPPROTO_ICMP &&
				    meta->icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
					echo_reply(w, m, meta, role);
				else
					drop(w, m, VFW_DROP_LOCAL_UNHANDLED);
				continue;
			}
			/* multicast, limited and directed broadcast (RFC 2644):
			 * never routed */
			if (unlikely(ip4_is_multicast(meta->key.dst[0]) ||
				     meta->key.dst[0] == p->bcast[VFW_PORT_VNET] ||
				     meta->key.dst[0] == p->bcast[VFW_PORT_CLUSTER])) {
				drop(w, m, VFW_DROP_MULTICAST);
				continue;
			}
		}
		d = dir_of_role(role);
		keys[d][nk[d]] = k;
		acl_pkts[d][nk[d]] = m;
		dnat_of[d][nk[d]] = (int16_t)di;
		nk[d]++;
	}

	for (d = 0; d < VFW_DIR_MAX; d++) {
		unsigned int npf = 0;

		if (nk[d] == 0)
			continue;
		vfw_acl_classify(p->acl, (enum vfw_dir)d, keys[d], res[d], nk[d]);
		/*
		 * The sessions about to be made: the session lookup read the
		 * index buckets of the packets' own keys, but those of their
		 * reply keys are cold, one miss per creation. Start them all
		 * before the first creation waits for one. A flow that gets
		 * SNAT has its reply key only with its port (prefetching the
		 * one it asks for, its own source port, bought nothing
		 * measurable on vnetfw-bench nat-new-10k). The SNAT match is
		 * kept for the loop below.
		 */
		for (i = 0; i < nk[d]; i++) {
			const struct vfw_pkt_meta *meta = vfw_pkt_meta(acl_pkts[d][i]);

			snat_of[i] = -1;
			if (!(res[d][i] & VFW_ACL_ALLOW) || !tracked(meta) ||
			    (dnat_of[d][i] >= 0 && meta->aux == VFW_PORT_CLUSTER))
				continue;
			snat_of[i] = (int16_t)vfw_nat_snat_match(p->nat, keys[d][i]);
			if (snat_of[i] >= 0)
				continue;
			vfw_flow_key_reverse(&rev[npf], keys[d][i]);
			revp[npf] = &rev[npf];
			npf++;
		}
		vfw_ct_prefetch_keys(w->ct, revp, npf);
		for (i = 0; i < nk[d]; i++) {
			struct rte_mbuf *m = acl_pkts[d][i];
			struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
			struct vfw_flow_key final = *keys[d][i];
			uint32_t r = res[d][i];
			int di = dnat_of[d][i];
			struct vfw_session *s;
			bool exhausted = false;
			uint16_t pool_id = 0, nat_rule = 0;
			uint8_t flags = 0;
			int si = -1, idx;

			ctr->rule_hits[r & VFW_ACL_INDEX_MASK]++;
			if (!(r & VFW_ACL_ALLOW)) {
				drop(w, m, VFW_DROP_ACL_DENY);
				continue;
			}
			w->stats.ev[VFW_EV_ACL_ALLOW]++;
			if (!tracked(meta)) {
				if (meta->key.proto == IPPROTO_ICMP &&
				    meta->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
					/* a reply with no request seen (but maybe
					 * one earlier in this burst) */
					not_opening(w, m, meta, created, now, fwd, nf);
					continue;
				}
				fwd[(*nf)++] = m;
				continue;
			}
			if (meta->key.proto == IPPROTO_TCP &&
			    !vfw_ct_tcp_may_open(w->ct, meta->tcp_flags)) {
				not_opening(w, m, meta, created, now, fwd, nf);
				continue;
			}
			if (di >= 0) {
				flags |= VFW_SF_DNAT;
				nat_rule = (uint16_t)di;
				w->stats.ev[VFW_EV_DNAT]++;
			}
			if (di >= 0 && meta->aux == VFW_PORT_CLUSTER) {
				/* hairpin: the server must answer through us */
				int hp = vfw_nat_hairpin_pool(p->nat);

				if (hp >= 0) {
					flags |= VFW_SF_SNAT | VFW_SF_HAIRPIN;
					pool_id = (uint16_t)hp;
					w->stats.ev[VFW_EV_HAIRPIN]++;
				}
			} else {
				si = snat_of[i];
				if (si >= 0) {
					flags |= VFW_SF_SNAT;
					pool_id = snat_pool_of(p, si, final.src[0]);
					nat_rule = (uint16_t)si;
				}
			}
			if (flags & VFW_SF_SNAT) {
				uint32_t addr = vfw_snat_pool_addr(w->snat, pool_id);

				idx = snat_and_create(w, meta, &final, pool_id, addr,
						      (enum vfw_dir)d, now, &exhausted);
				if (exhausted) {
					if (si >= 0)
						ctr->snat_fail[si]++;
					drop(w, m, VFW_DROP_SNAT_EXHAUSTED);
					continue;
				}
				if (idx >= 0 && si >= 0)
					ctr->snat_hits[si]++;
				if (idx >= 0)
					w->stats.ev[VFW_EV_SNAT]++;
			} else {
				struct vfw_flow_key reply;

				vfw_flow_key_reverse(&reply, &final);
				idx = vfw_ct_create_session(w->ct, &meta->key, &reply,
							    (enum vfw_dir)d,
							    meta->tcp_flags, now);
			}
			if (idx < 0) {
				create_failed(w, m, meta, idx, now, fwd, nf);
				continue;
			}
			created++;
			s = vfw_ct_session(w->ct, (uint32_t)idx);
			s->rule = r & VFW_ACL_INDEX_MASK;
			s->generation = (uint32_t)p->generation;
			s->flags = flags;
			s->snat_pool = pool_id;
			s->nat_rule = nat_rule;
			w->stats.ev[VFW_EV_CT_NEW]++;
			if (unlikely(meta->flags & VFW_PF_FRAG) &&
			    vfw_ct_frag_record(w->ct, &meta->key, meta->frag_id,
					       now) < 0) {
				drop(w, m, VFW_DROP_FRAG_TABLE_FULL);
				continue;
			}
			if (!key_equal(&final, &meta->key))
				vfw_nat_rewrite(m, meta, &final);
			fwd[(*nf)++] = m;
		}
	}
}

/* ---------------- ICMP errors about tracked flows ---------------- */

static bool
icmp_error(struct vfw_worker *w, struct rte_mbuf *m, struct vfw_pkt_meta *meta)
{
	struct vfw_flow_key inner, rev;
	const struct vfw_flow_key *kp = &rev;
	struct vfw_session *s;
	int32_t hit;

	if (vfw_pkt_parse_inner(m, meta, &inner) != VFW_DROP_NONE) {
		drop(w, m, VFW_DROP_ICMP_INNER);
		return false;
	}
	vfw_flow_key_reverse(&rev, &inner);
	vfw_ct_lookup_bulk(w->ct, &kp, &hit, 1);
	if (hit < 0) {
		drop(w, m, VFW_DROP_CT_INVALID);
		return false;
	}
	s = vfw_ct_session(w->ct, VFW_CT_HIT_IDX(hit));
	if ((s->flags & (VFW_SF_SNAT | VFW_SF_DNAT)) &&
	    vfw_nat_icmp_error(m, meta, s, 1 - VFW_CT_HIT_DIR(hit)) < 0) {
		drop(w, m, VFW_DROP_ICMP_INNER);
		return false;
	}
	w->stats.ev[VFW_EV_ICMP_ERR_XLATE]++;
	return true;
}

/* ---------------- the pipeline ---------------- */

/*
 * Is the first fragment of meta's datagram among pkts[0..n) (parsed, not
 * yet judged)? A sender emits a datagram's fragments back to back, so the
 * first one is usually in the same burst as the others, and the session
 * stages record it only after this burst's parse pass.
 */
static bool
first_fragment_before(struct rte_mbuf *const *pkts, unsigned int n,
		      const struct vfw_pkt_meta *meta)
{
	unsigned int j;

	for (j = 0; j < n; j++) {
		const struct vfw_pkt_meta *f = vfw_pkt_meta(pkts[j]);

		if ((f->flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER)) == VFW_PF_FRAG &&
		    f->frag_id == meta->frag_id &&
		    f->key.proto == meta->key.proto && f->key.af == meta->key.af &&
		    memcmp(f->key.src, meta->key.src, sizeof(f->key.src)) == 0 &&
		    memcmp(f->key.dst, meta->key.dst, sizeof(f->key.dst)) == 0)
			return true;
	}
	return false;
}

/*
 * Non-first fragments that follow their first fragment in the same burst:
 * looked up again once the session stages have recorded it.
 */
static void
late_fragments(struct vfw_worker *w, struct rte_mbuf **late, unsigned int n,
	       uint64_t now, struct rte_mbuf **fwd, unsigned int *nf)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = late[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
		const struct vfw_flow_key *kp = &meta->key;
		int32_t hit;

		if (vfw_ct_frag_lookup(w->ct, &meta->key, meta->frag_id, now) < 0) {
			drop(w, m, VFW_DROP_FRAG_NO_FIRST);
			continue;
		}
		vfw_ct_lookup_bulk(w->ct, &kp, &hit, 1);
		if (hit < 0) {
			/* its first fragment made no session */
			drop(w, m, VFW_DROP_FRAG_NO_FIRST);
			continue;
		}
		switch (session_packet(w, m, meta, hit, now)) {
		case SP_FORWARD:
			fwd[(*nf)++] = m;
			break;
		case SP_NEW: /* needs a SYN: not on a later fragment */
			drop(w, m, VFW_DROP_CT_INVALID);
			break;
		default:
			break;
		}
	}
}

static void
process_chunk(struct vfw_worker *w, struct vfw_policy *p,
	      struct rte_mbuf **pkts, unsigned int n, uint64_t now)
{
	struct rte_mbuf *ct_pkts[VFW_BURST], *miss[VFW_BURST], *fwd[VFW_BURST];
	struct rte_mbuf *late[VFW_BURST], *errs[VFW_BURST];
	const struct vfw_flow_key *keys[VFW_BURST];
	int32_t hits[VFW_BURST];
	unsigned int i, nct = 0, nm = 0, nf = 0, nlate = 0, nerr = 0;
	uint64_t removed = vfw_ct_removed(w->ct);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
		const struct rte_ether_hdr *eth;
		enum vfw_drop why;
		uint8_t role;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		meta->session = VFW_NO_SESSION;
		if (!(meta->flags & VFW_PF_HANDOFF)) {
			why = vfw_pkt_parse(m, meta);
			if (unlikely(why != VFW_DROP_NONE)) {
				drop(w, m, why);
				continue;
			}
			meta->aux = w->role_of_port[m->port];
		}
		role = (uint8_t)meta->aux;
		if (unlikely(role >= VFW_PORT_MAX)) {
			drop(w, m, VFW_DROP_L2_NOT_FOR_US);
			continue;
		}
		if (unlikely(meta->cls != VFW_PC_IP)) {
			if (meta->cls != VFW_PC_ARP)
				drop(w, m, VFW_DROP_ETHERTYPE);
			else if (!arp_answer(w, p, m, meta, role))
				to_slowpath(w, m);
			continue;
		}
		if (unlikely(meta->key.af != VFW_AF_INET)) {
			drop(w, m, VFW_DROP_IP6_UNSUPPORTED);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr,
						     &w->ports[role].mac))) {
			drop(w, m, (meta->flags & (VFW_PF_L2_BCAST | VFW_PF_L2_MCAST)) ?
				   VFW_DROP_MULTICAST : VFW_DROP_L2_NOT_FOR_US);
			continue;
		}
		if (unlikely(meta->flags & VFW_PF_FRAG)) {
			w->stats.ev[VFW_EV_FRAG]++;
			if ((meta->flags & VFW_PF_FRAG_LATER) &&
			    (meta->key.proto == IPPROTO_TCP ||
			     meta->key.proto == IPPROTO_UDP ||
			     meta->key.proto == IPPROTO_ICMP) &&
			    vfw_ct_frag_lookup(w->ct, &meta->key, meta->frag_id,
					       now) < 0) {
				/* out of order (first not seen yet): drop */
				if (first_fragment_before(ct_pkts, nct, meta))
					late[nlate++] = m;
				else
					drop(w, m, VFW_DROP_FRAG_NO_FIRST);
				continue;
			}
		}
		if (unlikely(meta->flags & VFW_PF_ICMP_ERR)) {
			/* after this chunk's sessions exist: an error may be
			 * about a flow whose first packet is earlier in the
			 * chunk (packets handed off by another worker arrive
			 * in one batch, from both ports) */
			errs[nerr++] = m;
			continue;
		}
		keys[nct] = &meta->key;
		ct_pkts[nct++] = m;
	}

	if (nct != 0)
		vfw_ct_lookup_bulk(w->ct, keys, hits, nct);
	for (i = 0; i < nct; i++) {
		struct rte_mbuf *m = ct_pkts[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);

		if (hits[i] < 0) {
			miss[nm++] = m;
			continue;
		}
		switch (session_packet(w, m, meta, hits[i], now)) {
		case SP_FORWARD:
			break;
		case SP_NEW:
			miss[nm++] = m;
			continue;
		default:
			continue;
		}
		fwd[nf++] = m;
	}
	if (nm != 0)
		new_flows(w, p, miss, nm, now, fwd, &nf);
	if (unlikely(nlate != 0))
		late_fragments(w, late, nlate, now, fwd, &nf);
	for (i = 0; i < nerr; i++)
		if (icmp_error(w, errs[i], vfw_pkt_meta(errs[i])))
			fwd[nf++] = errs[i];
	/* A session removed in this chunk may have made way for another
	 * under the same index: then no handle here is trusted for hints. */
	route_and_tx(w, p, fwd, nf, vfw_ct_removed(w->ct) == removed);
}

uint16_t
vfw_dp_process(struct vfw_worker *w, struct rte_mbuf **pkts, uint16_t n,
	       uint64_t now)
{
	struct vfw_policy *p = vfw_policy_acquire(w->pm);
	uint64_t before = w->stats.ev[VFW_EV_FORWARDED];
	uint16_t done = 0;

	if (unlikely(p->generation != w->seen_gen)) {
		vfw_ct_set_params(w->ct, p->cfg->conntrack.tcp_loose,
				  &p->cfg->conntrack.timeouts);
		hint_table(w, p->rt);
		w->seen_gen = p->generation;
	}
	while (done < n) {
		unsigned int k = RTE_MIN((unsigned int)(n - done), (unsigned int)VFW_BURST);

		process_chunk(w, p, pkts + done, k, now);
		done = (uint16_t)(done + k);
	}
	return (uint16_t)(w->stats.ev[VFW_EV_FORWARDED] - before);
}

/* ---------------- hand-off between workers ---------------- */

/*
 * An address as flow ownership sees it: itself when outside the NAT
 * domain; every inside address counts as the vnet port's address, the
 * one replies of SNAT and DNAT flows carry on the vnet side in the usual
 * setup (NAT to the appliance's own address). Those replies then arrive
 * on their owner's queue; any constant would keep both directions of a
 * flow together, this one also spares them the hand-off.
 */
static inline uint32_t
outside(const struct vfw_policy *p, uint32_t ip_be)
{
	unsigned int i;

	for (i = 0; i < p->n_inside; i++) {
		const struct vfw_prefix *x = &p->inside[i];
		uint32_t mask = x->len == 0 ? 0 :
			rte_cpu_to_be_32(~0u << (32 - x->len));

		if ((ip_be & mask) == x->ip.v4)
			return p->iface_ip[VFW_PORT_VNET];
	}
	return ip_be;
}

/*
 * Back-pressure between workers. A packet crosses to its owner through
 * the ring of that pair, and when the owner falls behind, the receiving
 * worker should not take more from the NIC than the owner can take from
 * it: otherwise it spends its cycles receiving and parsing packets that it
 * then drops at a full ring (handoff_ring_full). So, as DPDK's eventdev rx
 * adapter does when its event buffer has no room for a burst, a worker
 * leaves its rx queues alone in a loop where a ring to a peer has no room
 * for what one pass of rx may put on it (a burst per port: all of it may
 * be for one peer). The packets wait in the NIC queue; what overflows it
 * is the NIC's rx miss (nic_rx_missed), which costs no CPU. Each such
 * loop counts handoff_rx_paused.
 *
 * But a paused worker does not serve its own flows either: the pause
 * ties every worker to the slowest owner. An owner that is slow for good
 * (its CPU shared, or the traffic's outside addresses hashing mostly to
 * it, which an attacker can arrange) would hold back all traffic; with
 * 2 workers on the rig, where one worker had a third of a CPU, pausing
 * without a limit cut what vnetfw forwarded by more than half
 * (docs/PERFORMANCE.md). So a pause lasts at most VFW_HANDOFF_PAUSE_US
 * (about what a NIC queue of 1024 holds at 10 Mpps): a ring still short
 * of room after that is congestion, not a hiccup, and the worker goes
 * back to receiving, serves its own flows and drops what does not fit
 * on the ring, as VPP's hand-off does (congestion drop), counted as
 * handoff_ring_full. The pause ends, and may start again, when the
 * room is back.
 *
 * No deadlock: a worker takes packets from its incoming rings first in
 * every loop, paused or not, and processing a handed-off packet never
 * hands it off again, so every ring drains whatever the other workers do.
 * Packets already received are served before new ones: up to
 * VFW_HANDOFF_DRAIN per incoming ring and loop, twice what one pass of a
 * peer's rx can add to it, so an owner that loops as often as its peers
 * empties its rings, and bounded so that housekeeping, the tx flush and
 * the RCU report keep coming.
 *
 * Each outgoing ring's free space is remembered from the last enqueue
 * (which reads the consumer's index anyway), a lower bound afterwards
 * since only this worker fills the ring: the check before rx reads the
 * ring, a cache line the peer writes, only when that room runs short.
 * Enqueues are one burst per peer and rx burst. With one worker none of
 * this runs (worker_poll() is compiled twice).
 */
#define VFW_HANDOFF_DRAIN (2 * VFW_PORT_MAX * VFW_BURST)
_Static_assert(VFW_HANDOFF_DRAIN < VFW_RING_SIZE, "drain budget below a ring");
_Static_assert(VFW_MAX_WORKERS <= 32, "dispatch() keeps peers in 32 bits");

/* Room on every ring to a peer for need packets? */
static inline bool
handoff_room(struct vfw_worker *w, uint32_t need)
{
	unsigned int k;

	for (k = 0; k < w->n_workers; k++) {
		if (likely(w->handoff_room[k] >= need) || w->handoff_out[k] == NULL)
			continue;
		w->handoff_room[k] = rte_ring_free_count(w->handoff_out[k]);
		if (w->handoff_room[k] < need)
			return false;
	}
	return true;
}

/* Take up to VFW_HANDOFF_DRAIN packets from each incoming ring and process
 * them. pkts has room for VFW_HANDOFF_DRAIN. */
static inline unsigned int
handoff_drain(struct vfw_worker *w, struct rte_mbuf **pkts, uint64_t now)
{
	unsigned int j, n, got = 0;

	for (j = 0; j < w->n_workers; j++) {
		if (w->handoff_in[j] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(w->handoff_in[j], (void **)pkts,
					      VFW_HANDOFF_DRAIN, NULL);
		if (n == 0)
			continue;
		got += n;
		w->stats.ev[VFW_EV_HANDOFF_IN] += n;
		vfw_dp_process(w, pkts, (uint16_t)n, now);
	}
	return got;
}

/* Put n packets for worker k on its ring, in order, in one enqueue. */
static inline void
handoff_send(struct vfw_worker *w, unsigned int k, struct rte_mbuf **pkts,
	     unsigned int n)
{
	unsigned int sent, room;

	sent = rte_ring_sp_enqueue_burst(w->handoff_out[k], (void **)pkts, n, &room);
	w->handoff_room[k] = room;
	w->stats.ev[VFW_EV_HANDOFF_OUT] += sent;
	/* a ring still short of room after the longest pause */
	while (unlikely(sent < n))
		drop(w, pkts[sent++], VFW_DROP_HANDOFF_FULL);
}

static void
dispatch(struct vfw_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct vfw_policy *p = vfw_policy_acquire(w->pm);
	struct rte_mbuf *mine[VFW_BURST], *out[VFW_BURST], *one[VFW_BURST];
	uint8_t to[VFW_BURST];
	unsigned int i, nm = 0, no = 0;
	uint32_t peers = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
		struct vfw_flow_key inner;
		uint32_t a, b, owner;
		enum vfw_drop why;

		why = vfw_pkt_parse(m, meta);
		if (unlikely(why != VFW_DROP_NONE)) {
			drop(w, m, why);
			continue;
		}
		meta->aux = w->role_of_port[m->port];
		meta->flags |= VFW_PF_HANDOFF;
		owner = w->id;
		if (meta->cls == VFW_PC_IP && meta->key.af == VFW_AF_INET) {
			a = meta->key.src[0];
			b = meta->key.dst[0];
			if ((meta->flags & VFW_PF_ICMP_ERR) &&
			    vfw_pkt_parse_inner(m, meta, &inner) == VFW_DROP_NONE) {
				a = inner.src[0];
				b = inner.dst[0];
			}
			/* the queue the NIC's RSS picks when every address
			 * is outside (dataplane.h, vfw_dp_rss_owner) */
			owner = vfw_dp_rss_owner(vfw_rss_hash(outside(p, a),
							      outside(p, b)),
						 w->rss_reta_mask, w->n_workers);
		}
		if (owner == w->id) {
			mine[nm++] = m;
		} else {
			to[no] = (uint8_t)owner;
			out[no++] = m;
			peers |= 1u << owner;
		}
	}
	/* to the owners first, so that they can start on them */
	if (peers != 0 && (peers & (peers - 1)) == 0) {
		/* one peer (always so with 2 workers) */
		handoff_send(w, (unsigned int)rte_bsf32(peers), out, no);
	} else {
		while (peers != 0) {
			unsigned int k = rte_bsf32(peers), c = 0;

			peers &= peers - 1;
			for (i = 0; i < no; i++)
				if (to[i] == k)
					one[c++] = out[i];
			handoff_send(w, k, one, c);
		}
	}
	if (nm != 0)
		vfw_dp_process(w, mine, (uint16_t)nm, now);
}

/* ---------------- housekeeping ---------------- */

static void
reevaluate_step(struct vfw_worker *w, struct vfw_policy *p)
{
	uint32_t cap = vfw_ct_capacity(w->ct), k;

	for (k = 0; k < VFW_REEVAL_BUDGET; k++) {
		struct vfw_session *s;
		struct vfw_flow_key post;
		const struct vfw_flow_key *kp = &post;
		uint32_t res;

		if (w->reeval_cursor >= cap) {
			w->reeval_active = false;
			return;
		}
		s = vfw_ct_session(w->ct, w->reeval_cursor);
		if (s->state != VFW_CT_FREE && s->generation < w->reeval_gen) {
			/* judge the tuple the rules saw: post-DNAT, pre-SNAT */
			post = s->orig;
			memcpy(post.dst, s->reply.src, sizeof(post.dst));
			post.dport = s->reply.sport;
			vfw_acl_classify(p->acl, (enum vfw_dir)s->dir, &kp, &res, 1);
			if (!(res & VFW_ACL_ALLOW)) {
				vfw_ct_delete(w->ct, w->reeval_cursor);
				w->stats.ev[VFW_EV_REEVAL_DROPPED]++;
			} else {
				s->rule = res & VFW_ACL_INDEX_MASK;
				s->generation = (uint32_t)p->generation;
			}
		}
		w->reeval_cursor++;
	}
}

static void
mailbox(struct vfw_worker *w)
{
	int req = atomic_load_explicit(&w->req, memory_order_acquire);
	int64_t i;

	if (likely(req == VFW_REQ_NONE) || req == VFW_REQ_TAKEN_)
		return;
	/* claim it: from here on the control thread leaves the slot and
	 * the buffers it names alone (a timed-out request it withdrew
	 * first is not done) */
	if (!atomic_compare_exchange_strong_explicit(&w->req, &req, VFW_REQ_TAKEN_,
						     memory_order_acq_rel,
						     memory_order_acquire))
		return;
	switch (req) {
	case VFW_REQ_SESSIONS:
		w->req_count = 0;
		for (i = vfw_ct_next(w->ct, 0); i >= 0 && w->req_count < w->req_max;
		     i = vfw_ct_next(w->ct, (uint32_t)i + 1)) {
			w->req_out[w->req_count].s = *vfw_ct_session(w->ct, (uint32_t)i);
			w->req_out[w->req_count].worker = (uint16_t)w->id;
			w->req_count++;
		}
		break;
	case VFW_REQ_REEVALUATE:
		w->reeval_gen = w->req_gen;
		w->reeval_cursor = 0;
		w->reeval_active = true;
		break;
	case VFW_REQ_FLUSH:
		for (i = vfw_ct_next(w->ct, 0); i >= 0;
		     i = vfw_ct_next(w->ct, (uint32_t)i + 1))
			vfw_ct_delete(w->ct, (uint32_t)i);
		break;
	default:
		break;
	}
	atomic_store_explicit(&w->req, VFW_REQ_NONE, memory_order_release);
}

void
vfw_dp_housekeeping(struct vfw_worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[VFW_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->from_slow, (void **)pkts, VFW_BURST, NULL);
	for (i = 0; i < n; i++) {
		w->stats.ev[VFW_EV_FROM_SLOWPATH]++;
		tx(w, (uint8_t)vfw_pkt_meta(pkts[i])->out_port, pkts[i]);
	}
	mailbox(w);
	if (unlikely(w->reeval_active))
		reevaluate_step(w, vfw_policy_acquire(w->pm));
	if (unlikely(w->hint_sweep))
		hint_sweep_step(w, w->idle ? VFW_HINT_SWEEP_IDLE : VFW_HINT_SWEEP_BUSY);
	w->stats.ev[VFW_EV_CT_EXPIRED] += vfw_ct_age(w->ct, now, w->idle ?
						     VFW_AGE_BUDGET_IDLE : VFW_AGE_BUDGET_BUSY);
}

/*
 * One pass of the loop: hand-offs in, rx (paused while a ring to a peer
 * lacks room, see above), housekeeping, tx flush. multi is a constant at
 * each call, so the one-worker loop carries none of the hand-off code.
 */
static __rte_always_inline unsigned int
worker_poll(struct vfw_worker *w, uint64_t now, const bool multi)
{
	struct rte_mbuf *pkts[VFW_HANDOFF_DRAIN];
	unsigned int r, got = 0;
	bool paused = false;
	uint16_t n;

	if (multi) {
		uint32_t need = 0;

		got = handoff_drain(w, pkts, now);
		for (r = 0; r < VFW_PORT_MAX; r++)
			if (w->id < w->ports[r].n_rxq)
				need += VFW_BURST;
		if (likely(handoff_room(w, need))) {
			w->handoff_held = false;
		} else {
			if (!w->handoff_held) {
				w->handoff_held = true;
				w->handoff_held_at = now;
			}
			/* past the limit: receive, and drop what does not fit */
			if (now - w->handoff_held_at < w->handoff_pause_max) {
				paused = true;
				w->stats.ev[VFW_EV_HANDOFF_RX_PAUSED]++;
			}
		}
	}
	for (r = 0; r < VFW_PORT_MAX && !paused; r++) {
		if (w->id >= w->ports[r].n_rxq)
			continue;
		n = rte_eth_rx_burst(w->ports[r].port_id, (uint16_t)w->id,
				     pkts, VFW_BURST);
		if (n == 0)
			continue;
		got += n;
		w->stats.rx[r] += n;
		if (multi)
			dispatch(w, pkts, n, now);
		else
			vfw_dp_process(w, pkts, n, now);
	}
	/* paused, the NIC queue holds packets: not idle */
	w->idle = got == 0 && !paused;
	vfw_dp_housekeeping(w, now);
	vfw_dp_flush(w);
	return got;
}

unsigned int
vfw_dp_worker_poll(struct vfw_worker *w, uint64_t now)
{
	if (w->n_workers > 1)
		return worker_poll(w, now, true);
	return worker_poll(w, now, false);
}

static __rte_always_inline void
worker_loop(struct vfw_worker *w, struct rte_rcu_qsbr *qsv, const bool multi)
{
	while (!atomic_load_explicit(&w->dp->stop, memory_order_relaxed)) {
		worker_poll(w, rte_rdtsc(), multi);
		rte_rcu_qsbr_quiescent(qsv, w->id);
	}
}

int
vfw_dp_worker_main(void *arg)
{
	struct vfw_worker *w = arg;
	struct rte_rcu_qsbr *qsv = vfw_policy_qsv(w->pm);

	rte_rcu_qsbr_thread_register(qsv, w->id);
	rte_rcu_qsbr_thread_online(qsv, w->id);
	if (w->n_workers > 1)
		worker_loop(w, qsv, true);
	else
		worker_loop(w, qsv, false);
	vfw_dp_flush(w);
	rte_rcu_qsbr_thread_offline(qsv, w->id);
	rte_rcu_qsbr_thread_unregister(qsv, w->id);
	return 0;
}
