/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path, run by the control thread: ARP (answer requests for the
 * addresses we own, learn the replies to requests we sent), next-hop
 * resolution with a few packets held per next hop, neighbor refresh and
 * aging. Frames it sends go back to a worker through that worker's
 * from_slow ring, because only workers own transmit queues.
 */
#include <arpa/inet.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "dp_private.h"

int
vfw_dp_sp_send(struct vfw_dp *dp, struct rte_mbuf *m, uint8_t role)
{
	struct vfw_worker *w = dp->workers[dp->tx_rr++ % dp->n_workers];

	vfw_pkt_meta(m)->out_port = role;
	if (rte_ring_mp_enqueue(w->from_slow, m) != 0) {
		dp->sp.drops[VFW_DROP_SLOWPATH_FULL]++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return 0;
}

static void
sp_drop(struct vfw_dp *dp, struct rte_mbuf *m, enum vfw_drop why)
{
	dp->sp.drops[why]++;
	rte_pktmbuf_free(m);
}

/* Does the appliance answer ARP for ip on port role? */
static bool
owns(struct vfw_dp *dp, uint32_t ip, uint8_t role)
{
	struct vfw_policy *p = vfw_policy_current(dp->pm);
	unsigned int i;

	if (dp->ports[role].ip == ip)
		return true;
	if (p == NULL)
		return false;
	for (i = 0; i < p->n_owned; i++)
		if (p->owned[i].ip == ip && p->owned[i].port == role)
			return true;
	return false;
}

static int
send_arp_request(struct vfw_dp *dp, uint8_t role, uint32_t target)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL) {
		dp->sp.drops[VFW_DROP_NO_MBUF]++;
		return -ENOMEM;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&dp->ports[role].mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&dp->ports[role].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = dp->ports[role].ip;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = target;
	dp->sp.arp_requests_sent++;
	return vfw_dp_sp_send(dp, m, role);
}

static struct vfw_pending *
pending_find(struct vfw_dp *dp, uint32_t ip)
{
	unsigned int i;

	for (i = 0; i < VFW_PENDING_MAX; i++)
		if (dp->pending[i].slot >= 0 && dp->pending[i].ip == ip)
			return &dp->pending[i];
	return NULL;
}

static void
pending_release(struct vfw_dp *dp, struct vfw_pending *pe, bool send)
{
	struct rte_ether_addr mac;
	unsigned int i;

	if (send && !vfw_neigh_mac(dp->neigh, pe->slot, pe->ip, &mac))
		send = false;
	for (i = 0; i < pe->n; i++) {
		struct rte_mbuf *m = pe->pkts[i];

		if (send) {
			struct rte_ether_hdr *eth =
				rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

			rte_ether_addr_copy(&mac, &eth->dst_addr);
			rte_ether_addr_copy(&dp->ports[pe->port].mac, &eth->src_addr);
			dp->sp.resolved_sent++;
			vfw_dp_sp_send(dp, m, pe->port);
		} else {
			sp_drop(dp, m, VFW_DROP_ARP_FAILED);
		}
	}
	pe->n = 0;
	pe->slot = -1;
}

/*
 * A pending slot for a new resolution: a free one, else the oldest
 * resolution if it has gone unanswered for VFW_ARP_EVICT_MS (it fails
 * now, its held packets counted arp_failed), else NULL. Without giving
 * way, a scan of an on-link subnet would keep every slot busy and no new
 * next hop, a host that just came up, could be resolved meanwhile.
 */
static struct vfw_pending *
pending_slot(struct vfw_dp *dp, uint64_t now)
{
	struct vfw_pending *old = NULL;
	unsigned int i;

	for (i = 0; i < VFW_PENDING_MAX; i++) {
		struct vfw_pending *pe = &dp->pending[i];

		if (pe->slot < 0)
			return pe;
		if (old == NULL || pe->started < old->started)
			old = pe;
	}
	if (now - old->started < dp->hz * VFW_ARP_EVICT_MS / 1000)
		return NULL;
	vfw_neigh_set_failed(dp->neigh, old->slot, now);
	pending_release(dp, old, false);
	return old;
}

/*
 * The neighbor table is full: make room by removing a failed entry, if
 * one is among the next VFW_NEIGH_RECLAIM slots (a rotating cursor). A
 * failed entry only holds off new probes for a while; under a sustained
 * scan, failures come faster than their hold time ends and would fill the
 * table, locking out every new next hop. Returns true if one went.
 */
#define VFW_NEIGH_RECLAIM 256

static bool
neigh_reclaim(struct vfw_dp *dp)
{
	struct vfw_neigh_info info;
	unsigned int k;

	for (k = 0; k < VFW_NEIGH_RECLAIM; k++) {
		int32_t slot = vfw_neigh_next(dp->neigh, dp->reclaim_cursor);

		if (slot < 0) {
			dp->reclaim_cursor = 0;
			slot = vfw_neigh_next(dp->neigh, 0);
			if (slot < 0)
				return false;
		}
		dp->reclaim_cursor = slot + 1;
		if (vfw_neigh_get(dp->neigh, slot, &info) == 0 &&
		    info.state == VFW_NEIGH_FAILED) {
			vfw_neigh_del(dp->neigh, info.ip);
			return true;
		}
	}
	return false;
}

/* A routed packet whose next hop has no MAC yet. */
static void
resolve(struct vfw_dp *dp, struct rte_mbuf *m, uint64_t now)
{
	struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
	uint8_t port = (uint8_t)meta->out_port;
	uint32_t ip = meta->nh_ip;
	struct vfw_pending *pe = pending_find(dp, ip);
	struct rte_ether_addr mac;
	int slot;

	slot = vfw_neigh_resolve(dp->neigh, port, ip, now);
	if (slot == -ENOSPC && neigh_reclaim(dp))
		slot = vfw_neigh_resolve(dp->neigh, port, ip, now);
	if (slot < 0) {
		sp_drop(dp, m, VFW_DROP_NEIGH_FULL);
		return;
	}
	if (vfw_neigh_mac(dp->neigh, slot, ip, &mac)) {
		/* resolved between the worker's look and ours */
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		rte_ether_addr_copy(&mac, &eth->dst_addr);
		rte_ether_addr_copy(&dp->ports[port].mac, &eth->src_addr);
		dp->sp.resolved_sent++;
		vfw_dp_sp_send(dp, m, port);
		return;
	}
	if (pe == NULL) {
		struct vfw_neigh_info info;

		/* a next hop that just failed is not probed again at once */
		if (vfw_neigh_get(dp->neigh, slot, &info) == 0 &&
		    info.state == VFW_NEIGH_FAILED &&
		    now - info.updated < VFW_NEIGH_FAILED_HOLD_S * dp->hz) {
			sp_drop(dp, m, VFW_DROP_ARP_FAILED);
			return;
		}
		pe = pending_slot(dp, now);
		if (pe == NULL) {
			/* not resolved, not to be: an entry left incomplete
			 * without a resolution would hold its place in the
			 * table for good (a scan would fill it) */
			if (vfw_neigh_get(dp->neigh, slot, &info) == 0 &&
			    info.state == VFW_NEIGH_INCOMPLETE)
				vfw_neigh_del(dp->neigh, ip);
			sp_drop(dp, m, VFW_DROP_ARP_PENDING);
			return;
		}
		pe->slot = slot;
		pe->ip = ip;
		pe->port = port;
		pe->probes = 1;
		pe->n = 0;
		pe->started = now;
		pe->next_probe = now + dp->hz * VFW_ARP_RETRY_MS / 1000;
		vfw_neigh_probe_sent(dp->neigh, slot, now);
		send_arp_request(dp, port, ip);
	}
	if (pe->n == VFW_PENDING_PKTS) {
		sp_drop(dp, m, VFW_DROP_ARP_PENDING);
		return;
	}
	pe->pkts[pe->n++] = m;
}

/*
 * An ARP from ip with MAC mac, on port role (see VFW_ARP_CLAIMS): true
 * when it may update the neighbor table at once (not a change of a
 * reachable neighbor's MAC: learn() decides), false when it is held as a
 * claim (or one is already held for ip) and a request has gone out.
 */
static bool
claim_or_learn(struct vfw_dp *dp, uint8_t role, uint32_t ip,
	       const struct rte_ether_addr *mac, uint64_t now)
{
	struct vfw_neigh_info info;
	int32_t slot = vfw_neigh_find(dp->neigh, ip);
	unsigned int i, free_i = VFW_ARP_CLAIMS;

	if (slot < 0 || vfw_neigh_get(dp->neigh, slot, &info) != 0 ||
	    info.state != VFW_NEIGH_REACHABLE || info.port != role ||
	    rte_is_same_ether_addr(&info.mac, mac))
		return true;
	for (i = 0; i < VFW_ARP_CLAIMS; i++) {
		if (dp->claims[i].at == 0) {
			if (free_i == VFW_ARP_CLAIMS)
				free_i = i;
		} else if (dp->claims[i].ip == ip) {
			return false;  /* one claim per neighbor at a time */
		}
	}
	if (free_i == VFW_ARP_CLAIMS)
		return false;  /* too many at once: the old MACs stay */
	dp->claims[free_i] = (struct vfw_claim){ .at = now, .ip = ip, .slot = slot,
						 .port = role, .mac = *mac };
	dp->refresh_sent[slot] = now;
	send_arp_request(dp, role, ip);
	return false;
}

/* Claims whose time is up: applied unless the old MAC answered since. */
static void
claims_expire(struct vfw_dp *dp, uint64_t now)
{
	char a[RTE_ETHER_ADDR_FMT_SIZE], b[RTE_ETHER_ADDR_FMT_SIZE], ip[INET_ADDRSTRLEN];
	struct vfw_neigh_info info;
	unsigned int i;

	for (i = 0; i < VFW_ARP_CLAIMS; i++) {
		struct vfw_claim *c = &dp->claims[i];

		if (c->at == 0 || now - c->at < dp->hz * VFW_ARP_CONFIRM_MS / 1000)
			continue;
		if (vfw_neigh_get(dp->neigh, c->slot, &info) == 0 &&
		    info.ip == c->ip && info.state == VFW_NEIGH_REACHABLE) {
			rte_ether_format_addr(a, sizeof(a), &info.mac);
			rte_ether_format_addr(b, sizeof(b), &c->mac);
			inet_ntop(AF_INET, &c->ip, ip, sizeof(ip));
			if (info.updated > c->at) {
				RTE_LOG(INFO, USER1, "neighbor %s: kept %s, which "
					"still answers; %s claimed it\n", ip, a, b);
			} else if (vfw_neigh_learn(dp->neigh, c->port, c->ip, &c->mac,
						   now) == 1) {
				dp->sp.arp_replies_learned++;
				RTE_LOG(NOTICE, USER1, "neighbor %s: MAC %s -> %s (the "
					"old one did not answer)\n", ip, a, b);
			}
		}
		c->at = 0;
	}
}

static void
handle_arp(struct vfw_dp *dp, struct rte_mbuf *m, uint64_t now)
{
	struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
	uint8_t role = (uint8_t)meta->aux;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *,
							  meta->l2_len);
	uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
	uint32_t sip = arp->arp_data.arp_sip, tip = arp->arp_data.arp_tip;
	struct vfw_pending *pe;

	if (role >= VFW_PORT_MAX) {
		sp_drop(dp, m, VFW_DROP_L2_NOT_FOR_US);
		return;
	}
	/* Either way, a host that is talking to us tells us its MAC: use it
	 * only for entries we resolve or refresh (never create one), and
	 * change a reachable entry's MAC only through a claim that the old
	 * MAC does not answer (claim_or_learn()). */
	if (sip != 0 && claim_or_learn(dp, role, sip, &arp->arp_data.arp_sha, now) &&
	    vfw_neigh_learn(dp->neigh, role, sip, &arp->arp_data.arp_sha, now) == 1) {
		dp->sp.arp_replies_learned++;
		pe = pending_find(dp, sip);
		if (pe != NULL)
			pending_release(dp, pe, true);
	}
	if (op == RTE_ARP_OP_REQUEST && owns(dp, tip, role)) {
		rte_ether_addr_copy(&arp->arp_data.arp_sha, &eth->dst_addr);
		rte_ether_addr_copy(&dp->ports[role].mac, &eth->src_addr);
		arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
		rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
		arp->arp_data.arp_tip = sip;
		rte_ether_addr_copy(&dp->ports[role].mac, &arp->arp_data.arp_sha);
		arp->arp_data.arp_sip = tip;
		dp->sp.arp_requests_answered++;
		vfw_dp_sp_send(dp, m, role);
		return;
	}
	dp->sp.arp_ignored++;
	rte_pktmbuf_free(m);
}

static void
pending_timers(struct vfw_dp *dp, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < VFW_PENDING_MAX; i++) {
		struct vfw_pending *pe = &dp->pending[i];
		struct rte_ether_addr mac;

		if (pe->slot < 0)
			continue;
		if (vfw_neigh_mac(dp->neigh, pe->slot, pe->ip, &mac)) {
			pending_release(dp, pe, true);
			continue;
		}
		if (now < pe->next_probe)
			continue;
		if (pe->probes >= VFW_ARP_PROBES) {
			vfw_neigh_set_failed(dp->neigh, pe->slot, now);
			pending_release(dp, pe, false);
			continue;
		}
		pe->probes++;
		pe->next_probe = now + dp->hz * VFW_ARP_RETRY_MS / 1000;
		vfw_neigh_probe_sent(dp->neigh, pe->slot, now);
		send_arp_request(dp, pe->port, pe->ip);
	}
}

/*
 * Neighbor upkeep, a few slots per call. A learned entry older than
 * VFW_NEIGH_REACHABLE_S stays usable while it is re-probed once a second;
 * a reply refreshes it, silence for VFW_ARP_PROBES seconds removes it.
 * Failed entries are removed after a hold time, and incomplete ones that
 * no resolution stands behind at once, so that a scan of a large on-link
 * subnet cannot fill the table for good.
 */
static void
neigh_upkeep(struct vfw_dp *dp, uint64_t now)
{
	unsigned int k;

	for (k = 0; k < 16; k++) {
		struct vfw_neigh_info info;
		int32_t slot = vfw_neigh_next(dp->neigh, dp->neigh_cursor);
		uint64_t age;

		if (slot < 0) {
			dp->neigh_cursor = 0;
			return;
		}
		dp->neigh_cursor = slot + 1;
		if (vfw_neigh_get(dp->neigh, slot, &info) < 0)
			continue;
		age = now - info.updated;
		if (info.state == VFW_NEIGH_FAILED &&
		    age > VFW_NEIGH_FAILED_HOLD_S * dp->hz) {
			vfw_neigh_del(dp->neigh, info.ip);
		} else if (info.state == VFW_NEIGH_INCOMPLETE &&
			   age > VFW_ARP_PROBES * dp->hz &&
			   pending_find(dp, info.ip) == NULL) {
			/* no resolution behind it (none should be left so;
			 * this keeps the table from filling if one is) */
			vfw_neigh_del(dp->neigh, info.ip);
		} else if (info.state == VFW_NEIGH_REACHABLE &&
			   age > VFW_NEIGH_REACHABLE_S * dp->hz) {
			if (age > (VFW_NEIGH_REACHABLE_S + VFW_ARP_PROBES) * dp->hz) {
				vfw_neigh_del(dp->neigh, info.ip);
			} else if (dp->refresh_sent[slot] < info.updated ||
				   now - dp->refresh_sent[slot] > dp->hz) {
				dp->refresh_sent[slot] = now;
				send_arp_request(dp, info.port, info.ip);
			}
		}
	}
}

int
vfw_dp_slowpath_poll(struct vfw_dp *dp, uint64_t now)
{
	struct rte_mbuf *pkts[VFW_BURST];
	unsigned int w, i, n, total = 0;

	for (w = 0; w < dp->n_workers; w++) {
		n = rte_ring_sc_dequeue_burst(dp->workers[w]->to_slow,
					      (void **)pkts, VFW_BURST, NULL);
		for (i = 0; i < n; i++) {
			if (vfw_pkt_meta(pkts[i])->cls == VFW_PC_ARP)
				handle_arp(dp, pkts[i], now);
			else
				resolve(dp, pkts[i], now);
		}
		total += n;
	}
	pending_timers(dp, now);
	claims_expire(dp, now);
	if (now >= dp->next_neigh_scan) {
		neigh_upkeep(dp, now);
		dp->next_neigh_scan = now + dp->hz / 100;
	}
	return (int)total;
}
