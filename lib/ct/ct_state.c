/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-packet session state: the TCP state machine, UDP "replied" tracking and
 * the timeout of each state. See README.md for the transition table and
 * what is deliberately not checked (sequence windows).
 */
#include <netinet/in.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_tcp.h>

#include "ct_private.h"

#define TCP_FIN RTE_TCP_FIN_FLAG
#define TCP_SYN RTE_TCP_SYN_FLAG
#define TCP_RST RTE_TCP_RST_FLAG
#define TCP_ACK RTE_TCP_ACK_FLAG
/* The flags that drive the state machine; PSH, URG, ECE and CWR never do. */
#define TCP_STATE_FLAGS (TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK)

static const char *const state_names[VFW_CT_STATE_MAX] = {
	[VFW_CT_FREE] = "FREE",
	[VFW_CT_TCP_SYN_SENT] = "SYN_SENT",
	[VFW_CT_TCP_SYN_RECV] = "SYN_RECV",
	[VFW_CT_TCP_ESTABLISHED] = "ESTABLISHED",
	[VFW_CT_TCP_CLOSING] = "CLOSING",
	[VFW_CT_TCP_CLOSED] = "CLOSED",
	[VFW_CT_UDP] = "UDP",
	[VFW_CT_UDP_REPLIED] = "UDP_REPLIED",
	[VFW_CT_ICMP] = "ICMP",
	[VFW_CT_OTHER] = "OTHER",
};

const char *
vfw_ct_state_name(enum vfw_ct_state s)
{
	if ((unsigned int)s >= VFW_CT_STATE_MAX)
		return "?";
	return state_names[s];
}

void
ct_timeouts_to_ticks(struct vfw_ct *ct, const struct vfw_cfg_timeouts *t)
{
	uint64_t hz = ct->hz;
	uint32_t closed = RTE_MIN((uint32_t)CT_TCP_CLOSED_TIMEOUT_S,
				  t->tcp_closing);

	ct->tmo[VFW_CT_FREE] = 0;
	ct->tmo[VFW_CT_TCP_SYN_SENT] = t->tcp_syn * hz;
	ct->tmo[VFW_CT_TCP_SYN_RECV] = t->tcp_syn * hz;
	ct->tmo[VFW_CT_TCP_ESTABLISHED] = t->tcp_established * hz;
	ct->tmo[VFW_CT_TCP_CLOSING] = t->tcp_closing * hz;
	ct->tmo[VFW_CT_TCP_CLOSED] = closed * hz;
	ct->tmo[VFW_CT_UDP] = t->udp * hz;
	ct->tmo[VFW_CT_UDP_REPLIED] = t->udp * hz;
	ct->tmo[VFW_CT_ICMP] = t->icmp * hz;
	/* No protocol knowledge: treat like a datagram flow. */
	ct->tmo[VFW_CT_OTHER] = t->udp * hz;
}

/*
 * The flag combinations a real TCP stack sends (as netfilter's
 * tcp_valid_flags): SYN, SYN|ACK, RST, RST|ACK, FIN|ACK, ACK. Everything
 * else (SYN|FIN, SYN|RST, FIN without ACK, no flags) is a scan or garbage.
 * Index: FIN, SYN, RST in bits 0-2, ACK folded into bit 3.
 */
#define TCP_VALID_MASK ((1u << 2) | (1u << 10) | (1u << 4) | (1u << 12) | \
			(1u << 9) | (1u << 8))

static inline bool
tcp_flags_valid(uint8_t f)
{
	unsigned int i = (f & (TCP_FIN | TCP_SYN | TCP_RST)) |
			 ((f & TCP_ACK) >> 1);

	return (TCP_VALID_MASK >> i) & 1;
}

int
ct_initial_state(const struct vfw_ct *ct, uint8_t proto, uint8_t tcp_flags,
		 uint8_t *fin_seen)
{
	uint8_t f = tcp_flags & TCP_STATE_FLAGS;

	*fin_seen = 0;
	switch (proto) {
	case IPPROTO_TCP:
		if (!tcp_flags_valid(f))
			return -EINVAL;
		if (f == TCP_SYN)
			return VFW_CT_TCP_SYN_SENT;
		if (!ct->tcp_loose)
			return -EINVAL;
		/*
		 * Mid-stream pickup (tcp_loose): the handshake was not seen,
		 * so assume it happened; a FIN or RST still counts.
		 */
		if (f & TCP_RST)
			return VFW_CT_TCP_CLOSED;
		if (f & TCP_FIN) {
			*fin_seen = 1;
			return VFW_CT_TCP_CLOSING;
		}
		return VFW_CT_TCP_ESTABLISHED;
	case IPPROTO_UDP:
		return VFW_CT_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return VFW_CT_ICMP;
	default:
		return VFW_CT_OTHER;
	}
}

bool
vfw_ct_tcp_may_open(const struct vfw_ct *ct, uint8_t tcp_flags)
{
	uint8_t fin_seen;

	return ct_initial_state(ct, IPPROTO_TCP, tcp_flags, &fin_seen) >= 0;
}

/*
 * One TCP packet of direction d. Returns 0 (valid, refresh the expiry),
 * 1 (valid, keep the expiry: a CLOSED session must not be kept alive by
 * stragglers, nor a half-open one by challenge ACKs) or -1 (invalid: drop,
 * nothing changes).
 */
static int
tcp_update(struct vfw_ct *ct, struct vfw_session *s, unsigned int d,
	   uint8_t tcp_flags)
{
	uint8_t f = tcp_flags & TCP_STATE_FLAGS;

	if (unlikely(!tcp_flags_valid(f)))
		return -1;
	if (unlikely(f & TCP_RST)) {
		/* No sequence check (see README): any RST closes. */
		if (s->state == VFW_CT_TCP_CLOSED)
			return 1;
		ct_set_state(ct, s, VFW_CT_TCP_CLOSED);
		return 0;
	}

	switch (s->state) {
	case VFW_CT_TCP_ESTABLISHED:
		/* Fast path first: data and ACKs of a live connection. */
		if (likely(!(f & (TCP_FIN | TCP_SYN))))
			return 0;
		if (f & TCP_FIN) {
			s->fin_seen |= 1u << d;
			ct_set_state(ct, s, VFW_CT_TCP_CLOSING);
		}
		/*
		 * A SYN-ACK is a retransmission (our final ACK was lost); a
		 * SYN is a client that lost its state reusing the port. Both
		 * pass unchanged so the endpoints can sort it out (challenge
		 * ACK, then RST, which closes us; the next SYN re-creates).
		 */
		return 0;
	case VFW_CT_TCP_SYN_SENT:
		if (d == 0)
			/* Only retransmissions of the SYN before an answer. */
			return f == TCP_SYN ? 0 : -1;
		if (f == (TCP_SYN | TCP_ACK)) {
			ct_set_state(ct, s, VFW_CT_TCP_SYN_RECV);
			return 0;
		}
		/* Simultaneous open (a bare SYN back) passes unchanged. */
		if (f == TCP_SYN)
			return 0;
		/*
		 * A bare ACK (no PSH or URG either) answering the SYN is the
		 * challenge ACK of a responder that still holds the 4-tuple
		 * of an earlier connection (TIME_WAIT, RFC 5961 4; RFC 793's
		 * answer to a SYN in a synchronised state). The originator
		 * needs it: it answers with a RST, which closes the session
		 * here, and its next SYN opens a fresh one. Like netfilter's
		 * sIG it passes, and changes nothing: neither the state nor
		 * the expiry, so a peer spraying ACKs cannot keep a half-open
		 * session alive.
		 */
		if ((tcp_flags & (TCP_STATE_FLAGS | RTE_TCP_PSH_FLAG |
				  RTE_TCP_URG_FLAG)) == TCP_ACK)
			return 1;
		return -1;
	case VFW_CT_TCP_SYN_RECV:
		/* Retransmitted SYN or SYN-ACK. */
		if (f & TCP_SYN)
			return 0;
		/*
		 * The originator's ACK completes the handshake; data or an
		 * ACK from the responder proves it as well (the final ACK may
		 * have taken another path or been lost while data flows).
		 */
		ct_set_state(ct, s, VFW_CT_TCP_ESTABLISHED);
		if (f & TCP_FIN) {
			s->fin_seen |= 1u << d;
			ct_set_state(ct, s, VFW_CT_TCP_CLOSING);
		}
		return 0;
	case VFW_CT_TCP_CLOSING:
		/* A new connection on a dying 5-tuple: the caller deletes
		 * this session and opens a fresh one through the ACL. */
		if (f & TCP_SYN)
			return -1;
		if (f & TCP_FIN)
			s->fin_seen |= 1u << d;
		else if (s->fin_seen == 3)
			/* The ACK of the second FIN. */
			ct_set_state(ct, s, VFW_CT_TCP_CLOSED);
		return 0;
	case VFW_CT_TCP_CLOSED:
		return (f & TCP_SYN) ? -1 : 1;
	default:
		return -1;
	}
}

int
vfw_ct_update_slow(struct vfw_ct *ct, uint32_t idx, unsigned int d,
		   uint8_t tcp_flags, uint64_t now)
{
	struct vfw_session *s = &ct->sessions[idx];
	int ret;

	d &= 1;
	switch (s->state) {
	case VFW_CT_TCP_SYN_SENT:
	case VFW_CT_TCP_SYN_RECV:
	case VFW_CT_TCP_ESTABLISHED:
	case VFW_CT_TCP_CLOSING:
	case VFW_CT_TCP_CLOSED:
		ret = tcp_update(ct, s, d, tcp_flags);
		if (unlikely(ret < 0))
			return -1;
		s->packets[d]++;
		if (likely(ret == 0))
			s->expire = now + ct->tmo[s->state];
		return 0;
	case VFW_CT_UDP:
		if (d == 1)
			ct_set_state(ct, s, VFW_CT_UDP_REPLIED);
		/* fallthrough */
	case VFW_CT_UDP_REPLIED:
	case VFW_CT_ICMP:
	case VFW_CT_OTHER:
		s->packets[d]++;
		s->expire = now + ct->tmo[s->state];
		return 0;
	default:
		/* A stale handle to a freed slot. */
		return -1;
	}
}
