/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Egress fragmentation (RFC 791, RFC 1812 5.2.6): an IPv4 packet without
 * DF that does not fit the egress port's MTU is cut into fragments, which
 * the route stage then sends like any packet. A slow branch of the route
 * stage; the forward path only compares the length with the MTU.
 *
 * librte_ip_frag does the cutting. Its copying variant is used rather than
 * rte_ipv4_fragment_packet(): that one chains indirect mbufs that point
 * into the original, so its fragments are multi-segment and share a buffer,
 * which a port running with RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE (enabled
 * where offered, see app/vnetfw) or a PMD's simple transmit path (no
 * MULTI_SEGS) cannot take. Copying about one MTU per fragment is nothing
 * next to the rest of this branch, and every fragment is then one direct
 * mbuf of the common pool, like every other packet.
 */
#include <errno.h>

#include <rte_branch_prediction.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>

#include "dp_private.h"

#define L2_MAX (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)

unsigned int
vfw_frag_ipv4(struct vfw_worker *w, struct rte_mbuf *m, uint8_t port,
	      struct rte_mbuf **out, unsigned int max)
{
	struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
	uint16_t l2 = meta->l2_len, mtu = w->ports[port].mtu;
	uint8_t hdr[L2_MAX];
	const struct rte_ipv4_hdr *ip;
	uint16_t in_port = m->port;
	uint32_t totlen;
	int32_t n, i;

	if (unlikely(l2 > L2_MAX || rte_pktmbuf_data_len(m) < l2 + meta->l3_len)) {
		w->stats.drops[VFW_DROP_MTU]++;
		rte_pktmbuf_free(m);
		return 0;
	}
	memcpy(hdr, rte_pktmbuf_mtod(m, const uint8_t *), l2);
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l2);
	totlen = rte_be_to_cpu_16(ip->total_length);
	/* Ethernet padding or junk after total_length is no payload: the
	 * library cuts up the whole mbuf */
	if (rte_pktmbuf_pkt_len(m) > l2 + totlen &&
	    rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - l2 - totlen)) != 0) {
		w->stats.drops[VFW_DROP_MTU]++;
		rte_pktmbuf_free(m);
		return 0;
	}
	rte_pktmbuf_adj(m, l2);
	n = rte_ipv4_fragment_copy_nonseg_packet(m, out, (uint16_t)max, mtu,
						 w->dp->pool);
	if (unlikely(n <= 0)) {
		/* -ENOMEM: the pool is empty; -EINVAL: more than max
		 * fragments or an MTU the library refuses */
		w->stats.drops[n == -ENOMEM ? VFW_DROP_NO_MBUF : VFW_DROP_MTU]++;
		rte_pktmbuf_free(m);
		return 0;
	}
	rte_pktmbuf_free(m);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *f = out[i];
		struct vfw_pkt_meta *fm = vfw_pkt_meta(f);
		uint8_t *d = (uint8_t *)rte_pktmbuf_prepend(f, l2);
		struct rte_ipv4_hdr *fip;
		uint16_t fo, hl;

		if (unlikely(d == NULL)) {
			/* no headroom for the L2 header (a pool without any) */
			rte_pktmbuf_free_bulk(out, (unsigned int)n);
			w->stats.drops[VFW_DROP_MTU]++;
			return 0;
		}
		fip = (struct rte_ipv4_hdr *)(d + l2);
		fo = rte_be_to_cpu_16(fip->fragment_offset);
		hl = (uint16_t)((fip->version_ihl & RTE_IPV4_HDR_IHL_MASK) *
				RTE_IPV4_IHL_MULTIPLIER);
		memcpy(d, hdr, l2);
		vfw_ip4_csum_out(w, f, fip, l2, hl, port);
		*fm = *meta;
		fm->flags |= VFW_PF_FRAG;
		fm->frag_off = (uint16_t)((fo & RTE_IPV4_HDR_OFFSET_MASK) *
					  RTE_IPV4_HDR_OFFSET_UNITS);
		if (fm->frag_off != 0)
			fm->flags |= VFW_PF_FRAG_LATER;
		if (hl == sizeof(struct rte_ipv4_hdr))
			fm->flags &= (uint16_t)~VFW_PF_IP_OPTS;
		fm->frag_id = rte_be_to_cpu_16(fip->packet_id);
		fm->l3_len = hl;
		fm->l4_len = (uint16_t)(rte_be_to_cpu_16(fip->total_length) - hl);
		f->port = in_port;
	}
	w->stats.ev[VFW_EV_FRAGMENTED]++;
	w->stats.ev[VFW_EV_FRAGS_OUT] += (uint64_t)n;
	return (unsigned int)n;
}
