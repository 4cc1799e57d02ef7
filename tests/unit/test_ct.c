/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/ct: session table, TCP/UDP/ICMP state and timeouts,
 * aging, counters, fragments, bulk lookup, and a 1M-session benchmark
 * (printed, never asserted: these machines are noisy).
 *
 * The clock is injected: hz = 1000, so one tick is one millisecond and
 * "now" is advanced by hand.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "vnetfw/ct.h"

#define HZ 1000ULL
#define SEC(s) ((uint64_t)(s) * HZ)

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct vfw_cfg_timeouts default_tmo = {
	.tcp_syn = 30,
	.tcp_established = 14400,
	.tcp_closing = 120,
	.udp = 300,
	.icmp = 60,
};

static unsigned int table_seq;

static struct vfw_ct *
new_ct(uint32_t max_sessions, bool loose, uint32_t max_frags)
{
	struct vfw_ct_params p;
	char name[32];
	struct vfw_ct *ct;

	/* Unique names: a failed test leaks its table (cmocka longjmps). */
	snprintf(name, sizeof(name), "tct%u", table_seq++);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.max_sessions = max_sessions;
	p.socket = SOCKET_ID_ANY;
	p.hz = HZ;
	p.tcp_loose = loose;
	p.timeouts = default_tmo;
	p.max_frags = max_frags;
	ct = vfw_ct_create(&p);
	assert_non_null(ct);
	return ct;
}

static struct vfw_flow_key
k4(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct vfw_flow_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.af = VFW_AF_INET;
	k.src[0] = rte_cpu_to_be_32(src);
	k.dst[0] = rte_cpu_to_be_32(dst);
	k.sport = rte_cpu_to_be_16(sport);
	k.dport = rte_cpu_to_be_16(dport);
	return k;
}

static struct vfw_flow_key
rev(const struct vfw_flow_key *k)
{
	struct vfw_flow_key r;

	vfw_flow_key_reverse(&r, k);
	return r;
}

/* Find one key; returns the hit word or -1. */
static int32_t
lookup1(struct vfw_ct *ct, const struct vfw_flow_key *k)
{
	const struct vfw_flow_key *keys[1] = { k };
	int32_t hit = -2;

	vfw_ct_lookup_bulk(ct, keys, &hit, 1);
	return hit;
}

static uint8_t
state_of(struct vfw_ct *ct, int idx)
{
	return vfw_ct_session(ct, (uint32_t)idx)->state;
}

static uint32_t
state_count(struct vfw_ct *ct, enum vfw_ct_state st)
{
	uint32_t c[VFW_CT_STATE_MAX];

	vfw_ct_count_by_state(ct, c);
	return c[st];
}

/* The incremental per-state counters must equal a full scan. */
static void
check_counts(struct vfw_ct *ct)
{
	uint32_t c[VFW_CT_STATE_MAX], scan[VFW_CT_STATE_MAX] = { 0 };
	uint32_t i, cap = vfw_ct_capacity(ct), sum = 0;

	vfw_ct_count_by_state(ct, c);
	for (i = 0; i < cap; i++)
		scan[vfw_ct_session(ct, i)->state]++;
	for (i = 0; i < VFW_CT_STATE_MAX; i++) {
		assert_int_equal(c[i], scan[i]);
		sum += c[i];
	}
	assert_int_equal(sum, cap);
	assert_int_equal(vfw_ct_count(ct), cap - c[VFW_CT_FREE]);
}

/* ---- release callback recorder ---- */

#define REC_MAX 64
struct rec {
	struct vfw_ct *ct;
	unsigned int n;
	uint32_t idx[REC_MAX];
	struct vfw_flow_key orig[REC_MAX];
};

static void
rec_cb(void *arg, const struct vfw_session *s)
{
	struct rec *r = arg;

	/* Called before removal: the session is still whole and findable. */
	assert_int_not_equal(s->state, VFW_CT_FREE);
	assert_true(lookup1(r->ct, &s->orig) >= 0);
	assert_true(lookup1(r->ct, &s->reply) >= 0);
	if (r->n < REC_MAX) {
		r->idx[r->n] = (uint32_t)(s - vfw_ct_session(r->ct, 0));
		r->orig[r->n] = s->orig;
	}
	r->n++;
}

/* ---- tests ---- */

static void
test_create_params(void **state)
{
	struct vfw_ct_params p;
	struct vfw_ct *a, *b;

	(void)state;
	assert_null(vfw_ct_create(NULL));
	assert_int_equal(rte_errno, EINVAL);

	memset(&p, 0, sizeof(p));
	p.name = "tct_params";
	p.max_sessions = 16;
	p.socket = SOCKET_ID_ANY;
	p.hz = HZ;
	p.timeouts = default_tmo;

	p.hz = 0;
	assert_null(vfw_ct_create(&p));
	assert_int_equal(rte_errno, EINVAL);
	p.hz = HZ;
	p.max_sessions = 0;
	assert_null(vfw_ct_create(&p));
	assert_int_equal(rte_errno, EINVAL);
	p.max_sessions = 16;
	p.name = "a_name_that_is_far_too_long_for_rte_hash";
	assert_null(vfw_ct_create(&p));
	assert_int_equal(rte_errno, ENAMETOOLONG);
	p.name = "tct_params";

	a = vfw_ct_create(&p);
	assert_non_null(a);
	assert_int_equal(vfw_ct_capacity(a), 16);
	assert_int_equal(vfw_ct_count(a), 0);
	assert_int_equal(state_count(a, VFW_CT_FREE), 16);
	/* Names are per table: a second one with the same name fails. */
	b = vfw_ct_create(&p);
	assert_null(b);
	assert_int_equal(rte_errno, EEXIST);
	vfw_ct_free(a);
	/* ...and is free again once the first is gone. */
	a = vfw_ct_create(&p);
	assert_non_null(a);
	vfw_ct_free(a);
	vfw_ct_free(NULL);

	assert_string_equal(vfw_ct_state_name(VFW_CT_TCP_ESTABLISHED),
			    "ESTABLISHED");
	assert_string_equal(vfw_ct_state_name(VFW_CT_STATE_MAX), "?");
}

static void
test_create_lookup(void **state)
{
	struct vfw_ct *ct = new_ct(64, false, 0);
	/* SNAT: 10.240.0.5:40000 -> 1.1.1.1:443 leaves as 10.0.1.4:1024. */
	struct vfw_flow_key orig = k4(IPPROTO_TCP, IP4(10, 240, 0, 5), 40000,
				      IP4(1, 1, 1, 1), 443);
	struct vfw_flow_key reply = k4(IPPROTO_TCP, IP4(1, 1, 1, 1), 443,
				       IP4(10, 0, 1, 4), 1024);
	struct vfw_flow_key unnat = rev(&orig);
	const struct vfw_flow_key *keys[3] = { &orig, &reply, &unnat };
	struct vfw_flow_key o2, r2;
	const struct vfw_session *s;
	int32_t hits[3];
	int idx;

	(void)state;
	idx = vfw_ct_create_session(ct, &orig, &reply, VFW_DIR_OUT, F_SYN,
				    1000);
	assert_int_equal(idx, 0);

	vfw_ct_lookup_bulk(ct, keys, hits, 3);
	assert_int_equal(hits[0], (idx << 1) | 0);
	assert_int_equal(hits[1], (idx << 1) | 1);
	assert_int_equal(VFW_CT_HIT_IDX(hits[1]), idx);
	assert_int_equal(VFW_CT_HIT_DIR(hits[1]), 1);
	/* The un-NATed reverse is not a key of this session. */
	assert_int_equal(hits[2], -1);

	s = vfw_ct_session(ct, idx);
	assert_memory_equal(&s->orig, &orig, sizeof(orig));
	assert_memory_equal(&s->reply, &reply, sizeof(reply));
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->dir, VFW_DIR_OUT);
	assert_int_equal(s->flags, 0);
	assert_int_equal(s->fin_seen, 0);
	assert_int_equal(s->nh_hint[0], 0);
	assert_int_equal(s->nh_hint[1], 0);
	assert_int_equal(s->expire, 1000 + SEC(30));
	assert_int_equal(s->packets[0], 1);
	assert_int_equal(s->packets[1], 0);

	assert_int_equal(vfw_ct_count(ct), 1);
	assert_int_equal(state_count(ct, VFW_CT_TCP_SYN_SENT), 1);
	check_counts(ct);

	/* Without NAT the reply key is simply the reverse. */
	o2 = k4(IPPROTO_UDP, IP4(10, 240, 0, 6), 5353, IP4(8, 8, 8, 8), 53);
	r2 = rev(&o2);
	idx = vfw_ct_create_session(ct, &o2, &r2, VFW_DIR_OUT, 0, 1000);
	assert_int_equal(idx, 1);
	assert_int_equal(lookup1(ct, &r2), (1 << 1) | 1);
	assert_int_equal(lookup1(ct, &o2), (1 << 1) | 0);

	vfw_ct_delete(ct, 0);
	assert_int_equal(lookup1(ct, &orig), -1);
	assert_int_equal(lookup1(ct, &reply), -1);
	assert_int_equal(lookup1(ct, &o2), (1 << 1) | 0);
	assert_int_equal(vfw_ct_count(ct), 1);
	check_counts(ct);
	vfw_ct_free(ct);
}

static void
test_duplicate(void **state)
{
	struct vfw_ct *ct = new_ct(64, false, 0);
	struct vfw_flow_key o1 = k4(IPPROTO_TCP, IP4(10, 240, 0, 5), 40000,
				    IP4(1, 1, 1, 1), 443);
	struct vfw_flow_key o2 = k4(IPPROTO_TCP, IP4(10, 240, 0, 6), 40000,
				    IP4(1, 1, 1, 1), 443);
	struct vfw_flow_key r1 = k4(IPPROTO_TCP, IP4(1, 1, 1, 1), 443,
				    IP4(10, 0, 1, 4), 1024);
	struct vfw_flow_key r2 = k4(IPPROTO_TCP, IP4(1, 1, 1, 1), 443,
				    IP4(10, 0, 1, 4), 1025);
	struct vfw_flow_key self = k4(IPPROTO_UDP, IP4(10, 0, 0, 1), 7,
				      IP4(10, 0, 0, 1), 7);

	(void)state;
	assert_int_equal(vfw_ct_create_session(ct, &o1, &r1, VFW_DIR_OUT,
					       F_SYN, 0), 0);
	/* NAT port collision: a second flow picked the same reply key. */
	assert_int_equal(vfw_ct_create_session(ct, &o2, &r1, VFW_DIR_OUT,
					       F_SYN, 0), -EEXIST);
	/* The original key again (a second SYN racing the first). */
	assert_int_equal(vfw_ct_create_session(ct, &o1, &r2, VFW_DIR_OUT,
					       F_SYN, 0), -EEXIST);
	/* A flow that is its own reverse cannot hold two keys. */
	assert_int_equal(vfw_ct_create_session(ct, &self, &self, VFW_DIR_IN,
					       0, 0), -EEXIST);

	/* Nothing left behind by the failures. */
	assert_int_equal(lookup1(ct, &o2), -1);
	assert_int_equal(lookup1(ct, &r2), -1);
	assert_int_equal(lookup1(ct, &self), -1);
	assert_int_equal(lookup1(ct, &o1), 0);
	assert_int_equal(lookup1(ct, &r1), 1);
	assert_int_equal(vfw_ct_count(ct), 1);
	check_counts(ct);

	/* The failures consumed no session slot. */
	assert_int_equal(vfw_ct_create_session(ct, &o2, &r2, VFW_DIR_OUT,
					       F_SYN, 0), 1);
	assert_int_equal(lookup1(ct, &o2), 2);
	assert_int_equal(lookup1(ct, &r2), 3);
	check_counts(ct);
	vfw_ct_free(ct);
}

static void
test_full(void **state)
{
	struct vfw_ct *ct = new_ct(4, false, 0);
	struct vfw_flow_key o[8], r[8];
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		o[i] = k4(IPPROTO_UDP, IP4(10, 240, 0, 1), 1000 + i,
			  IP4(8, 8, 8, 8), 53);
		r[i] = rev(&o[i]);
	}
	/* answered UDP flows: proven, never removed to make room */
	for (i = 0; i < 4; i++) {
		assert_int_equal(vfw_ct_create_session(ct, &o[i], &r[i],
						       VFW_DIR_OUT, 0, 0), i);
		assert_int_equal(vfw_ct_update(ct, (uint32_t)i, 1, 0, 0), 0);
	}
	assert_int_equal(vfw_ct_create_session(ct, &o[4], &r[4], VFW_DIR_OUT,
					       0, 0), -ENOSPC);
	assert_int_equal(vfw_ct_early_dropped(ct), 0);
	assert_int_equal(lookup1(ct, &o[4]), -1);
	assert_int_equal(lookup1(ct, &r[4]), -1);
	assert_int_equal(vfw_ct_count(ct), 4);
	assert_int_equal(state_count(ct, VFW_CT_FREE), 0);

	/* Space again after a delete; a stale second delete is harmless. */
	vfw_ct_delete(ct, 2);
	vfw_ct_delete(ct, 2);
	vfw_ct_delete(ct, 1000);
	assert_int_equal(vfw_ct_count(ct), 3);
	assert_int_equal(vfw_ct_removed(ct), 1);
	assert_int_equal(vfw_ct_create_session(ct, &o[4], &r[4], VFW_DIR_OUT,
					       0, 10), 2);
	/* o[4]'s session is unanswered: a new flow takes its place */
	assert_int_equal(vfw_ct_create_session(ct, &o[5], &r[5], VFW_DIR_OUT,
					       0, 10), 2);
	assert_int_equal(vfw_ct_early_dropped(ct), 1);
	assert_int_equal(lookup1(ct, &o[4]), -1);
	assert_int_equal(vfw_ct_update(ct, 2, 1, 0, 10), 0);
	assert_int_equal(vfw_ct_removed(ct), 2);
	assert_int_equal(vfw_ct_create_session(ct, &o[6], &r[6], VFW_DIR_OUT,
					       0, 10), -ENOSPC);

	/* ...and after aging. */
	assert_int_equal(vfw_ct_age(ct, SEC(300) + 10, 4), 4);
	assert_int_equal(vfw_ct_count(ct), 0);
	assert_int_equal(vfw_ct_removed(ct), 6);
	for (i = 4; i < 8; i++)
		assert_true(vfw_ct_create_session(ct, &o[i], &r[i],
						  VFW_DIR_OUT, 0, SEC(301)) >= 0);
	assert_int_equal(vfw_ct_count(ct), 4);
	check_counts(ct);
	vfw_ct_free(ct);
}

/* A TCP session through its whole life, FIN close. */
static void
test_tcp_fin_lifecycle(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_flow_key o = k4(IPPROTO_TCP, IP4(198, 51, 100, 7), 40000,
				   IP4(10, 240, 1, 10), 8443);
	struct vfw_flow_key r = rev(&o);
	struct vfw_session *s;
	int idx;

	(void)state;
	idx = vfw_ct_create_session(ct, &o, &r, VFW_DIR_IN, F_SYN, 0);
	assert_true(idx >= 0);
	s = vfw_ct_session(ct, idx);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->expire, SEC(30));

	/* Retransmitted SYN refreshes. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 10), 0);
	assert_int_equal(s->expire, 10 + SEC(30));
	/* An ACK before the SYN-ACK is invalid: nothing changes. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, 20), -1);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->expire, 10 + SEC(30));
	assert_int_equal(s->packets[0], 2);
	/* Reply data before the SYN-ACK: invalid too. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | F_PSH, 25), -1);

	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 30), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_RECV);
	assert_int_equal(s->expire, 30 + SEC(30));
	assert_int_equal(s->packets[1], 1);
	check_counts(ct);

	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, 40), 0);
	assert_int_equal(s->state, VFW_CT_TCP_ESTABLISHED);
	assert_int_equal(s->expire, 40 + SEC(14400));
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | F_PSH, 50), 0);
	assert_int_equal(s->expire, 50 + SEC(14400));
	check_counts(ct);

	/* Originator closes. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_FIN | F_ACK, 60), 0);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSING);
	assert_int_equal(s->fin_seen, 1);
	assert_int_equal(s->expire, 60 + SEC(120));
	/* Half-closed: the responder still sends data. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | F_PSH, 70), 0);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSING);
	assert_int_equal(s->expire, 70 + SEC(120));
	/* A SYN on a closing session: caller deletes and re-creates. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 75), -1);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSING);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_FIN | F_ACK, 80), 0);
	assert_int_equal(s->fin_seen, 3);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSING);
	check_counts(ct);

	/* The last ACK closes. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, 90), 0);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSED);
	assert_int_equal(s->expire, 90 + SEC(10));
	/* Stragglers pass but do not keep it alive. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_FIN | F_ACK, 100), 0);
	assert_int_equal(s->expire, 90 + SEC(10));
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_RST, 100), 0);
	assert_int_equal(s->expire, 90 + SEC(10));
	/* A new SYN on the same tuple: -1, the caller re-creates. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 110), -1);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSED);
	check_counts(ct);

	/* CLOSED timeout: min(10 s, tcp_closing). */
	assert_int_equal(vfw_ct_age(ct, 90 + SEC(10) - 1, 16), 0);
	assert_int_equal(vfw_ct_age(ct, 90 + SEC(10), 16), 1);
	assert_int_equal(vfw_ct_count(ct), 0);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, 0), -1);
	check_counts(ct);
	vfw_ct_free(ct);
}

/* Age a table of one session at expire-1 (kept) and expire (removed). */
static void
expect_expiry(struct vfw_ct *ct, int idx, uint64_t expire)
{
	assert_int_equal(vfw_ct_session(ct, idx)->expire, expire);
	assert_int_equal(vfw_ct_age(ct, expire - 1, vfw_ct_capacity(ct)), 0);
	assert_int_not_equal(state_of(ct, idx), VFW_CT_FREE);
	assert_int_equal(vfw_ct_age(ct, expire, vfw_ct_capacity(ct)), 1);
	assert_int_equal(state_of(ct, idx), VFW_CT_FREE);
	check_counts(ct);
}

static int
tcp_open(struct vfw_ct *ct, uint16_t sport, uint64_t t)
{
	struct vfw_flow_key o = k4(IPPROTO_TCP, IP4(10, 0, 0, 1), sport,
				   IP4(10, 0, 0, 2), 80);
	struct vfw_flow_key r = rev(&o);
	int idx = vfw_ct_create_session(ct, &o, &r, VFW_DIR_IN, F_SYN, t);

	assert_true(idx >= 0);
	return idx;
}

static int
tcp_established(struct vfw_ct *ct, uint16_t sport, uint64_t t)
{
	int idx = tcp_open(ct, sport, t);

	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, t), 0);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, t), 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_ESTABLISHED);
	return idx;
}

static void
test_tcp_timeouts(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_cfg_timeouts t = default_tmo;
	int idx;

	(void)state;
	/* SYN_SENT: tcp_syn. */
	idx = tcp_open(ct, 1, 1000);
	expect_expiry(ct, idx, 1000 + SEC(30));

	/* SYN_RECV: tcp_syn from the SYN-ACK. */
	idx = tcp_open(ct, 2, 1000);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 1500), 0);
	expect_expiry(ct, idx, 1500 + SEC(30));

	/* ESTABLISHED: tcp_established from the last packet. */
	idx = tcp_established(ct, 3, 2000);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK, 2500), 0);
	expect_expiry(ct, idx, 2500 + SEC(14400));

	/* CLOSING (one FIN): tcp_closing. */
	idx = tcp_established(ct, 4, 3000);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_FIN | F_ACK, 3100), 0);
	assert_int_equal(vfw_ct_session(ct, idx)->fin_seen, 2);
	expect_expiry(ct, idx, 3100 + SEC(120));

	/* RST from the responder while established: CLOSED, 10 s. */
	idx = tcp_established(ct, 5, 4000);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_RST | F_ACK, 4100), 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_CLOSED);
	expect_expiry(ct, idx, 4100 + SEC(10));

	/* Connection refused (RST answering the SYN). */
	idx = tcp_open(ct, 6, 5000);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_RST | F_ACK, 5001), 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_CLOSED);
	expect_expiry(ct, idx, 5001 + SEC(10));

	/* tcp_closing shorter than 10 s bounds CLOSED as well. */
	t.tcp_closing = 5;
	vfw_ct_set_params(ct, false, &t);
	idx = tcp_established(ct, 7, 6000);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_RST, 6100), 0);
	expect_expiry(ct, idx, 6100 + SEC(5));
	idx = tcp_established(ct, 8, 7000);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_FIN | F_ACK, 7100), 0);
	expect_expiry(ct, idx, 7100 + SEC(5));

	assert_int_equal(vfw_ct_count(ct), 0);
	vfw_ct_free(ct);
}

static void
test_tcp_edges(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_flow_key o = k4(IPPROTO_TCP, IP4(10, 0, 0, 1), 999,
				   IP4(10, 0, 0, 2), 80);
	struct vfw_flow_key r = rev(&o);
	struct vfw_session *s;
	uint64_t exp;
	int idx;

	(void)state;
	/* Garbage flag combinations never open. */
	assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, F_SYN | F_FIN,
					       0), -EINVAL);
	assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, F_SYN | F_RST,
					       0), -EINVAL);
	assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, 0, 0), -EINVAL);
	assert_int_equal(vfw_ct_count(ct), 0);
	/* PSH/URG/ECE/CWR are ignored: an ECN SYN opens. */
	idx = vfw_ct_create_session(ct, &o, &r, 0, F_SYN | 0x40 | 0x80, 0);
	assert_true(idx >= 0);
	s = vfw_ct_session(ct, idx);

	/* SYN_SENT: a SYN-ACK from the originator is invalid; a bare SYN
	 * back (simultaneous open) passes unchanged. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN | F_ACK, 1), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN, 2), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 3), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_RECV);
	/* SYN_RECV: retransmitted SYN and SYN-ACK pass unchanged. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 4), 0);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 5), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_RECV);
	/* Responder data after SYN_RECV establishes as well. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | F_PSH, 6), 0);
	assert_int_equal(s->state, VFW_CT_TCP_ESTABLISHED);

	/* ESTABLISHED: a SYN (lost state on the client) and a retransmitted
	 * SYN-ACK pass without changing the state. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 7), 0);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 8), 0);
	assert_int_equal(s->state, VFW_CT_TCP_ESTABLISHED);
	/* Garbage in an established flow is dropped and changes nothing. */
	exp = s->expire;
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN | F_FIN, 9), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_FIN, 9), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 0, 0, 9), -1);
	assert_int_equal(s->state, VFW_CT_TCP_ESTABLISHED);
	assert_int_equal(s->expire, exp);
	check_counts(ct);
	vfw_ct_delete(ct, idx);

	/* FIN|ACK completing the handshake goes straight to CLOSING. */
	idx = vfw_ct_create_session(ct, &o, &r, 0, F_SYN, 10);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 11), 0);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_FIN | F_ACK, 12), 0);
	s = vfw_ct_session(ct, idx);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSING);
	assert_int_equal(s->fin_seen, 1);
	/* A SYN-ACK on a closing session is stale: invalid. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_SYN | F_ACK, 13), -1);
	check_counts(ct);
	vfw_ct_free(ct);
}

/*
 * Port reuse against a responder still in TIME_WAIT: it answers the new
 * SYN with a bare ACK for the old connection (RFC 5961 challenge ACK).
 * The ACK passes without changing the session; the originator's RST then
 * closes it and its retried SYN opens a fresh one.
 */
static void
test_tcp_challenge_ack(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_flow_key o = k4(IPPROTO_TCP, IP4(198, 51, 100, 7), 6100,
				   IP4(10, 240, 1, 10), 80);
	struct vfw_flow_key r = rev(&o);
	struct vfw_session *s;
	int idx, idx2;

	(void)state;
	idx = vfw_ct_create_session(ct, &o, &r, VFW_DIR_IN, F_SYN, 0);
	assert_true(idx >= 0);
	s = vfw_ct_session(ct, idx);

	/* The challenge ACK: passes, state and expiry unchanged. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK, 100), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->expire, SEC(30));
	assert_int_equal(s->packets[1], 1);
	/* ...again (the responder repeats it, rate-limited): still nothing,
	 * so a peer spraying ACKs cannot keep the session alive. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | 0x40, 200), 0);
	assert_int_equal(s->expire, SEC(30));
	assert_int_equal(s->packets[1], 2);
	/* Anything more than a bare ACK before the SYN-ACK stays invalid:
	 * data, FIN, urgent data; and an ACK from the originator. */
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | F_PSH, 300), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_FIN | F_ACK, 300), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 1, F_ACK | 0x20, 300), -1);
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_ACK, 300), -1);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->packets[1], 2);
	assert_int_equal(s->packets[0], 1);
	check_counts(ct);

	/* The originator resets its side of the old connection: CLOSED. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_RST, 400), 0);
	assert_int_equal(s->state, VFW_CT_TCP_CLOSED);
	assert_int_equal(s->expire, 400 + SEC(10));
	/* Its retried SYN: -1, and it may open, so the caller deletes the
	 * closed session and creates a fresh one. */
	assert_int_equal(vfw_ct_update(ct, idx, 0, F_SYN, 1400), -1);
	assert_true(vfw_ct_tcp_may_open(ct, F_SYN));
	vfw_ct_delete(ct, (uint32_t)idx);
	idx2 = vfw_ct_create_session(ct, &o, &r, VFW_DIR_IN, F_SYN, 1400);
	assert_true(idx2 >= 0);
	s = vfw_ct_session(ct, idx2);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->expire, 1400 + SEC(30));
	assert_int_equal(s->packets[1], 0);
	assert_int_equal(lookup1(ct, &r), idx2 << 1 | 1);
	assert_int_equal(vfw_ct_count(ct), 1);
	/* This time the SYN-ACK comes. */
	assert_int_equal(vfw_ct_update(ct, idx2, 1, F_SYN | F_ACK, 1401), 0);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_RECV);
	check_counts(ct);

	/* Strict tracking elsewhere is unchanged: a bare ACK opens nothing. */
	assert_false(vfw_ct_tcp_may_open(ct, F_ACK));
	assert_int_equal(vfw_ct_create_session(ct, &r, &o, VFW_DIR_OUT, F_ACK,
					       1500), -EINVAL);
	assert_int_equal(vfw_ct_count(ct), 1);
	check_counts(ct);
	vfw_ct_free(ct);
}

/*
 * A new SYN whose key a closing or closed session holds replaces that
 * session (release callback, counters); a live holder keeps its keys.
 * The soak's case: a client port used first through DNAT, then straight
 * to the server, whose reply key is the DNAT session's.
 */
static void
test_replace_closed(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	const uint32_t c = IP4(198, 51, 100, 7), pub = IP4(10, 0, 1, 4),
		       srv = IP4(10, 240, 1, 10);
	struct vfw_flow_key dn_o, dn_r, d_o, d_r;
	struct rec rec = { .ct = ct };
	struct vfw_session *s;
	int a, b;

	(void)state;
	vfw_ct_set_release_cb(ct, rec_cb, &rec);
	/* through DNAT: C:6200 -> pub:8080, translated to srv:80 */
	dn_o = k4(IPPROTO_TCP, c, 6200, pub, 8080);
	dn_r = k4(IPPROTO_TCP, srv, 80, c, 6200);
	/* direct: C:6200 -> srv:80; its reply key is dn_r */
	d_o = k4(IPPROTO_TCP, c, 6200, srv, 80);
	d_r = rev(&d_o);
	assert_memory_equal(&d_r, &dn_r, sizeof(d_r));

	/* A half-open holder (SYN_SENT) is live: refused, nothing changes. */
	a = vfw_ct_create_session(ct, &dn_o, &dn_r, VFW_DIR_IN, F_SYN, 0);
	assert_true(a >= 0);
	assert_int_equal(vfw_ct_create_session(ct, &d_o, &d_r, VFW_DIR_IN,
					       F_SYN, 10), -EEXIST);
	/* ...and so is an established one. */
	assert_int_equal(vfw_ct_update(ct, a, 1, F_SYN | F_ACK, 20), 0);
	assert_int_equal(vfw_ct_create_session(ct, &d_o, &d_r, VFW_DIR_IN,
					       F_SYN, 30), -EEXIST);
	assert_int_equal(vfw_ct_update(ct, a, 0, F_ACK, 40), 0);
	assert_int_equal(state_of(ct, a), VFW_CT_TCP_ESTABLISHED);
	assert_int_equal(vfw_ct_create_session(ct, &d_o, &d_r, VFW_DIR_IN,
					       F_SYN, 50), -EEXIST);
	assert_int_equal(rec.n, 0);
	assert_int_equal(vfw_ct_replaced(ct), 0);
	assert_int_equal(vfw_ct_removed(ct), 0);
	assert_int_equal(vfw_ct_count(ct), 1);
	assert_int_equal(lookup1(ct, &d_o), -1);
	assert_int_equal(lookup1(ct, &dn_r), a << 1 | 1);
	check_counts(ct);

	/* The client closes (FIN seen: CLOSING): a new SYN takes the key. */
	assert_int_equal(vfw_ct_update(ct, a, 0, F_FIN | F_ACK, 60), 0);
	assert_int_equal(state_of(ct, a), VFW_CT_TCP_CLOSING);
	/* Only a SYN does (tcp_loose: an ACK could open, but not take). */
	{
		struct vfw_cfg_timeouts t = default_tmo;

		vfw_ct_set_params(ct, true, &t);
		assert_int_equal(vfw_ct_create_session(ct, &d_o, &d_r,
						       VFW_DIR_IN, F_ACK, 65),
				 -EEXIST);
		vfw_ct_set_params(ct, false, &t);
	}
	assert_int_equal(rec.n, 0);
	b = vfw_ct_create_session(ct, &d_o, &d_r, VFW_DIR_IN, F_SYN, 70);
	assert_true(b >= 0);
	/* the old session went through the release callback, then away */
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.idx[0], (uint32_t)a);
	assert_memory_equal(&rec.orig[0], &dn_o, sizeof(dn_o));
	assert_int_equal(vfw_ct_replaced(ct), 1);
	assert_int_equal(vfw_ct_removed(ct), 1);
	assert_int_equal(vfw_ct_count(ct), 1);
	assert_int_equal(lookup1(ct, &dn_o), -1);
	assert_int_equal(lookup1(ct, &d_o), b << 1);
	assert_int_equal(lookup1(ct, &d_r), b << 1 | 1);
	s = vfw_ct_session(ct, b);
	assert_int_equal(s->state, VFW_CT_TCP_SYN_SENT);
	assert_int_equal(s->expire, 70 + SEC(30));
	assert_int_equal(state_count(ct, VFW_CT_TCP_CLOSING), 0);
	check_counts(ct);

	/* The other way round, after a RST (CLOSED): the direct session's
	 * reply key is wanted by a new DNAT flow. */
	assert_int_equal(vfw_ct_update(ct, b, 1, F_RST | F_ACK, 80), 0);
	assert_int_equal(state_of(ct, b), VFW_CT_TCP_CLOSED);
	a = vfw_ct_create_session(ct, &dn_o, &dn_r, VFW_DIR_IN, F_SYN, 90);
	assert_true(a >= 0);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.idx[1], (uint32_t)b);
	assert_int_equal(vfw_ct_replaced(ct), 2);
	assert_int_equal(vfw_ct_removed(ct), 2);
	assert_int_equal(vfw_ct_count(ct), 1);
	assert_int_equal(lookup1(ct, &d_o), -1);
	assert_int_equal(lookup1(ct, &dn_r), a << 1 | 1);
	check_counts(ct);
	vfw_ct_free(ct);
}

/*
 * Replacement is all or nothing over both keys: every holder must qualify.
 * A holder past its expiry qualifies for any new session.
 */
static void
test_replace_both_keys(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_flow_key x_o, x_r, y_o, y_r, z_o, n_o, n_r, u_o, u_r;
	struct rec rec = { .ct = ct };
	int x, y, z, n;

	(void)state;
	vfw_ct_set_release_cb(ct, rec_cb, &rec);
	/* x holds n's orig key, y holds n's reply key (as its orig key) */
	n_o = k4(IPPROTO_TCP, IP4(10, 0, 0, 1), 1000, IP4(10, 0, 0, 2), 80);
	n_r = k4(IPPROTO_TCP, IP4(10, 0, 0, 9), 80, IP4(10, 0, 0, 1), 1000);
	x_o = n_o;
	x_r = k4(IPPROTO_TCP, IP4(10, 0, 0, 2), 80, IP4(10, 0, 0, 1), 1000);
	y_o = n_r;
	y_r = rev(&n_r);
	x = vfw_ct_create_session(ct, &x_o, &x_r, VFW_DIR_IN, F_SYN, 0);
	y = vfw_ct_create_session(ct, &y_o, &y_r, VFW_DIR_OUT, F_SYN, 0);
	assert_true(x >= 0 && y >= 0);
	assert_int_equal(vfw_ct_update(ct, x, 0, F_RST, 10), 0);
	/* x closed, y half-open: refused, and x is still there */
	assert_int_equal(vfw_ct_create_session(ct, &n_o, &n_r, VFW_DIR_IN,
					       F_SYN, 20), -EEXIST);
	assert_int_equal(rec.n, 0);
	assert_int_equal(vfw_ct_replaced(ct), 0);
	assert_int_equal(lookup1(ct, &x_o), x << 1);
	assert_int_equal(vfw_ct_count(ct), 2);
	/* both closed: both go, the new session takes both keys */
	assert_int_equal(vfw_ct_update(ct, y, 0, F_RST, 30), 0);
	n = vfw_ct_create_session(ct, &n_o, &n_r, VFW_DIR_IN, F_SYN, 40);
	assert_true(n >= 0);
	assert_int_equal(rec.n, 2);
	assert_int_equal(vfw_ct_replaced(ct), 2);
	assert_int_equal(vfw_ct_count(ct), 1);
	assert_int_equal(lookup1(ct, &n_o), n << 1);
	assert_int_equal(lookup1(ct, &n_r), n << 1 | 1);
	assert_int_equal(lookup1(ct, &x_r), -1);
	assert_int_equal(lookup1(ct, &y_r), -1);
	check_counts(ct);

	/* UDP: a live holder keeps its key (an SNAT port collision)... */
	u_o = k4(IPPROTO_UDP, IP4(10, 240, 0, 5), 5000, IP4(8, 8, 8, 8), 53);
	u_r = k4(IPPROTO_UDP, IP4(8, 8, 8, 8), 53, IP4(10, 0, 1, 4), 20000);
	z_o = k4(IPPROTO_UDP, IP4(10, 240, 0, 6), 5000, IP4(8, 8, 8, 8), 53);
	z = vfw_ct_create_session(ct, &u_o, &u_r, VFW_DIR_OUT, 0, 100);
	assert_true(z >= 0);
	assert_int_equal(vfw_ct_create_session(ct, &z_o, &u_r, VFW_DIR_OUT, 0,
					       100 + SEC(300) - 1), -EEXIST);
	/* ...until it has expired, aged out or not */
	assert_int_equal(vfw_ct_create_session(ct, &z_o, &u_r, VFW_DIR_OUT, 0,
					       100 + SEC(300)), z);
	assert_int_equal(rec.n, 3);
	assert_memory_equal(&rec.orig[2], &u_o, sizeof(u_o));
	assert_int_equal(vfw_ct_replaced(ct), 3);
	assert_int_equal(lookup1(ct, &u_o), -1);
	assert_int_equal(lookup1(ct, &z_o), z << 1);
	assert_int_equal(vfw_ct_count(ct), 2);
	check_counts(ct);
	vfw_ct_free(ct);
}

static void
test_tcp_loose(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_cfg_timeouts t = default_tmo;
	struct vfw_flow_key o[4], r[4];
	int i, idx;

	(void)state;
	for (i = 0; i < 4; i++) {
		o[i] = k4(IPPROTO_TCP, IP4(10, 0, 0, 1), 2000 + i,
			  IP4(10, 0, 0, 2), 22);
		r[i] = rev(&o[i]);
	}
	assert_true(vfw_ct_tcp_may_open(ct, F_SYN));
	assert_true(vfw_ct_tcp_may_open(ct, F_SYN | F_PSH));
	assert_false(vfw_ct_tcp_may_open(ct, F_ACK));
	assert_false(vfw_ct_tcp_may_open(ct, F_SYN | F_ACK));
	assert_false(vfw_ct_tcp_may_open(ct, F_FIN | F_ACK));
	assert_false(vfw_ct_tcp_may_open(ct, F_RST));
	assert_int_equal(vfw_ct_create_session(ct, &o[0], &r[0], 0, F_ACK, 0),
			 -EINVAL);
	assert_int_equal(vfw_ct_count(ct), 0);
	assert_int_equal(lookup1(ct, &o[0]), -1);

	vfw_ct_set_params(ct, true, &t);
	assert_true(vfw_ct_tcp_may_open(ct, F_ACK));
	assert_true(vfw_ct_tcp_may_open(ct, F_SYN | F_ACK));
	assert_true(vfw_ct_tcp_may_open(ct, F_ACK | F_PSH));
	assert_false(vfw_ct_tcp_may_open(ct, F_SYN | F_FIN));

	/* Mid-stream pickup goes straight to ESTABLISHED. */
	idx = vfw_ct_create_session(ct, &o[0], &r[0], 0, F_ACK | F_PSH, 100);
	assert_true(idx >= 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_ESTABLISHED);
	assert_int_equal(vfw_ct_session(ct, idx)->expire, 100 + SEC(14400));
	/* A FIN or RST picked up still counts. */
	idx = vfw_ct_create_session(ct, &o[1], &r[1], 0, F_FIN | F_ACK, 100);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_CLOSING);
	assert_int_equal(vfw_ct_session(ct, idx)->fin_seen, 1);
	idx = vfw_ct_create_session(ct, &o[2], &r[2], 0, F_RST, 100);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_CLOSED);
	assert_int_equal(vfw_ct_session(ct, idx)->expire, 100 + SEC(10));
	/* A SYN is still tracked from the handshake. */
	idx = vfw_ct_create_session(ct, &o[3], &r[3], 0, F_SYN, 100);
	assert_int_equal(state_of(ct, idx), VFW_CT_TCP_SYN_SENT);
	check_counts(ct);

	/* Back to strict: existing sessions are unaffected. */
	vfw_ct_set_params(ct, false, &t);
	assert_false(vfw_ct_tcp_may_open(ct, F_ACK));
	assert_int_equal(vfw_ct_update(ct, 0, 1, F_ACK, 200), 0);
	assert_int_equal(vfw_ct_count(ct), 4);
	vfw_ct_free(ct);
}

static void
test_udp(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct vfw_flow_key o = k4(IPPROTO_UDP, IP4(10, 240, 0, 9), 5353,
				   IP4(8, 8, 4, 4), 53);
	struct vfw_flow_key r = rev(&o);
	struct vfw_cfg_timeouts t = default_tmo;
	struct vfw_session *s;
	int idx;

	(void)state;
	/* tcp_flags mean nothing for UDP. */
	idx = vfw_ct_create_session(ct, &o, &r, VFW_DIR_OUT, 0xff, 0);
	assert_true(idx >= 0);
	s = vfw_ct_session(ct, idx);
	assert_int_equal(s->state, VFW_CT_UDP);
	assert_int_equal(s->expire, SEC(300));
	assert_int_equal(vfw_ct_update(ct, idx, 0, 0, 10), 0);
	assert_int_equal(s->state, VFW_CT_UDP);
	assert_int_equal(s->expire, 10 + SEC(300));
	assert_int_equal(state_count(ct, VFW_CT_UDP), 1);

	assert_int_equal(vfw_ct_update(ct, idx, 1, 0, 20), 0);
	assert_int_equal(s->state, VFW_CT_UDP_REPLIED);
	assert_int_equal(vfw_ct_update(ct, idx, 0, 0, 30), 0);
	assert_int_equal(s->state, VFW_CT_UDP_REPLIED);
	assert_int_equal(s->packets[0], 3);
	assert_int_equal(s->packets[1], 1);
	assert_int_equal(state_count(ct, VFW_CT_UDP), 0);
	assert_int_equal(state_count(ct, VFW_CT_UDP_REPLIED), 1);
	check_counts(ct);

	/* New timeouts apply from the next packet. */
	t.udp = 7;
	vfw_ct_set_params(ct, false, &t);
	assert_int_equal(s->expire, 30 + SEC(300));
	assert_int_equal(vfw_ct_update(ct, idx, 1, 0, 40), 0);
	expect_expiry(ct, idx, 40 + SEC(7));
	vfw_ct_free(ct);
}

static void
test_icmp_other(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 0);
	/* Echo: sport = dport = identifier, the reply is the reverse. */
	struct vfw_flow_key o = k4(IPPROTO_ICMP, IP4(10, 240, 0, 9), 0x1234,
				   IP4(1, 1, 1, 1), 0x1234);
	struct vfw_flow_key r = rev(&o);
	struct vfw_flow_key g = k4(47, IP4(10, 240, 0, 9), 0, IP4(1, 1, 1, 2),
				   0);
	struct vfw_flow_key gr = rev(&g);
	struct vfw_flow_key o6, r6;
	int idx, gidx, idx6;

	(void)state;
	idx = vfw_ct_create_session(ct, &o, &r, VFW_DIR_OUT, 0, 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_ICMP);
	assert_int_equal(lookup1(ct, &r), (idx << 1) | 1);
	assert_int_equal(vfw_ct_update(ct, idx, 1, 0, 500), 0);
	assert_int_equal(state_of(ct, idx), VFW_CT_ICMP);

	/* ICMPv6 echo is an ICMP session too. */
	memset(&o6, 0, sizeof(o6));
	o6.proto = IPPROTO_ICMPV6;
	o6.af = VFW_AF_INET6;
	o6.src[0] = rte_cpu_to_be_32(0x20010db8);
	o6.src[3] = rte_cpu_to_be_32(1);
	o6.dst[0] = rte_cpu_to_be_32(0x20010db8);
	o6.dst[3] = rte_cpu_to_be_32(2);
	o6.sport = o6.dport = rte_cpu_to_be_16(77);
	r6 = rev(&o6);
	idx6 = vfw_ct_create_session(ct, &o6, &r6, VFW_DIR_OUT, 0, 500);
	assert_int_equal(state_of(ct, idx6), VFW_CT_ICMP);
	assert_int_equal(lookup1(ct, &r6), (idx6 << 1) | 1);

	/* Other protocols (GRE) age like UDP. */
	gidx = vfw_ct_create_session(ct, &g, &gr, VFW_DIR_OUT, 0, 500);
	assert_int_equal(state_of(ct, gidx), VFW_CT_OTHER);
	assert_int_equal(vfw_ct_session(ct, gidx)->expire, 500 + SEC(300));
	assert_int_equal(vfw_ct_update(ct, gidx, 1, 0, 600), 0);
	assert_int_equal(state_of(ct, gidx), VFW_CT_OTHER);
	check_counts(ct);

	/* Both ICMP sessions go at 500 + 60 s, GRE stays. */
	assert_int_equal(vfw_ct_session(ct, idx)->expire, 500 + SEC(60));
	assert_int_equal(vfw_ct_age(ct, 500 + SEC(60) - 1, 16), 0);
	assert_int_equal(vfw_ct_age(ct, 500 + SEC(60), 16), 2);
	assert_int_equal(state_of(ct, gidx), VFW_CT_OTHER);
	expect_expiry(ct, gidx, 600 + SEC(300));
	vfw_ct_free(ct);
}

static struct vfw_flow_key
udp_key(unsigned int i)
{
	return k4(IPPROTO_UDP, IP4(10, 1, (i >> 8) & 0xff, i & 0xff),
		  (uint16_t)(10000 + i), IP4(8, 8, 8, 8), 53);
}

static void
test_aging_budget(void **state)
{
	static const uint32_t aged_order[8] = { 0, 3, 4, 5, 6, 7, 8, 9 };
	struct vfw_ct *ct = new_ct(16, false, 0);
	struct rec rec = { .ct = ct };
	struct vfw_flow_key o, r;
	unsigned int i;
	int idx;

	(void)state;
	vfw_ct_set_release_cb(ct, rec_cb, &rec);
	for (i = 0; i < 10; i++) {
		o = udp_key(i);
		r = rev(&o);
		assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, 0, 0),
				 (int)i);
	}
	/* Delete runs the callback too, once. */
	vfw_ct_delete(ct, 1);
	vfw_ct_delete(ct, 2);
	vfw_ct_delete(ct, 2);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.idx[0], 1);
	assert_int_equal(rec.idx[1], 2);
	rec.n = 0;

	/* Nothing expired: a full lap removes nothing, cursor back at 0. */
	assert_int_equal(vfw_ct_age(ct, SEC(300) - 1, 16), 0);
	assert_int_equal(rec.n, 0);

	/* All expired now. Slots 0-3: 0 and 3 are used. */
	assert_int_equal(vfw_ct_age(ct, SEC(300), 4), 2);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.idx[0], 0);
	assert_int_equal(rec.idx[1], 3);
	o = udp_key(0);
	assert_memory_equal(&rec.orig[0], &o, sizeof(o));
	o = udp_key(3);
	assert_memory_equal(&rec.orig[1], &o, sizeof(o));
	assert_int_equal(state_of(ct, 4), VFW_CT_UDP);
	/* Slots 4-7. */
	assert_int_equal(vfw_ct_age(ct, SEC(300), 4), 4);
	assert_int_equal(state_of(ct, 8), VFW_CT_UDP);
	/* Slots 8-12. */
	assert_int_equal(vfw_ct_age(ct, SEC(300), 5), 2);
	assert_int_equal(rec.n, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(rec.idx[i], aged_order[i]);
	assert_int_equal(vfw_ct_count(ct), 0);
	check_counts(ct);

	/* Cursor is at 13. A budget larger than the table is one lap. */
	assert_int_equal(vfw_ct_age(ct, SEC(1000), 1000), 0);
	/* New session in a slot the next 12 slots (13,14,15,0..8) miss. */
	o = udp_key(100);
	r = rev(&o);
	idx = vfw_ct_create_session(ct, &o, &r, 0, 0, SEC(1000));
	assert_int_equal(idx, 9); /* LIFO: the last slot freed */
	rec.n = 0;
	assert_int_equal(vfw_ct_age(ct, SEC(2000), 12), 0);
	assert_int_equal(rec.n, 0);
	assert_int_equal(vfw_ct_age(ct, SEC(2000), 1), 1);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.idx[0], 9);
	assert_int_equal(vfw_ct_age(ct, SEC(2000), 0), 0);
	check_counts(ct);
	vfw_ct_free(ct);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic, so failures reproduce. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void
test_counters_random(void **state)
{
	static const uint8_t flags[] = {
		F_SYN, F_SYN | F_ACK, F_ACK, F_ACK | F_PSH, F_FIN | F_ACK,
		F_RST, F_RST | F_ACK, F_SYN | F_FIN, 0,
	};
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP, 47 };
	struct vfw_ct *ct = new_ct(128, false, 0);
	struct rec rec = { .ct = ct };
	uint64_t now = 0;
	unsigned int created = 0, removed = 0, step;

	(void)state;
	vfw_ct_set_release_cb(ct, rec_cb, &rec);
	for (step = 0; step < 20000; step++) {
		uint64_t x = rng();
		unsigned int op = x % 8;

		now += (x >> 8) % 500;
		if (op < 3) {
			unsigned int k = (x >> 20) % 512;
			struct vfw_flow_key o = k4(protos[k % 4], IP4(10, 9, 0, 1),
						   (uint16_t)k, IP4(10, 9, 0, 2),
						   80);
			struct vfw_flow_key r = rev(&o);
			uint64_t rep0 = vfw_ct_replaced(ct);
			uint64_t ed0 = vfw_ct_early_dropped(ct);
			int ret = vfw_ct_create_session(ct, &o, &r, 0,
					flags[(x >> 32) % sizeof(flags)], now);

			/* closed or expired holders it replaced, and an
			 * unproven session it removed from a full table */
			removed += (unsigned int)(vfw_ct_replaced(ct) - rep0);
			removed += (unsigned int)(vfw_ct_early_dropped(ct) - ed0);
			if (ret >= 0)
				created++;
			else
				assert_true(ret == -EEXIST || ret == -ENOSPC ||
					    ret == -EINVAL);
		} else if (op < 6) {
			int64_t i = vfw_ct_next(ct, (x >> 20) % 128);

			if (i >= 0)
				vfw_ct_update(ct, (uint32_t)i, (x >> 40) & 1,
					flags[(x >> 32) % sizeof(flags)], now);
		} else if (op == 6) {
			unsigned int n0 = rec.n, got;

			got = vfw_ct_age(ct, now, (x >> 20) % 40);
			assert_int_equal(rec.n - n0, got);
			removed += got;
		} else {
			uint32_t i = (x >> 20) % 128;

			if (state_of(ct, i) != VFW_CT_FREE)
				removed++;
			vfw_ct_delete(ct, i);
		}
		if (step % 64 == 0)
			check_counts(ct);
	}
	check_counts(ct);
	/* Every removal (age, delete or replacement) ran the callback
	 * exactly once. */
	assert_true(vfw_ct_replaced(ct) > 0);
	assert_int_equal(rec.n, removed);
	assert_int_equal(vfw_ct_count(ct), created - removed);
	vfw_ct_free(ct);
}

static void
test_iteration(void **state)
{
	struct vfw_ct *ct = new_ct(8, false, 0);
	struct vfw_flow_key o, r;
	unsigned int i, n;
	int64_t it;

	(void)state;
	assert_int_equal(vfw_ct_next(ct, 0), -1);
	for (i = 0; i < 5; i++) {
		o = udp_key(i);
		r = rev(&o);
		assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, 0, 0),
				 (int)i);
	}
	vfw_ct_delete(ct, 1);
	vfw_ct_delete(ct, 3);
	assert_int_equal(vfw_ct_next(ct, 0), 0);
	assert_int_equal(vfw_ct_next(ct, 1), 2);
	assert_int_equal(vfw_ct_next(ct, 3), 4);
	assert_int_equal(vfw_ct_next(ct, 5), -1);
	assert_int_equal(vfw_ct_next(ct, 8), -1);
	assert_int_equal(vfw_ct_next(ct, UINT32_MAX), -1);

	n = 0;
	for (it = vfw_ct_next(ct, 0); it >= 0;
	     it = vfw_ct_next(ct, (uint32_t)it + 1))
		n++;
	assert_int_equal(n, vfw_ct_count(ct));
	vfw_ct_free(ct);
}

static void
test_bulk_lookup(void **state)
{
	struct vfw_ct *ct = new_ct(1024, false, 0);
	struct vfw_flow_key o[64], r[64], keys[100];
	const struct vfw_flow_key *kp[100];
	int32_t hits[100], expect[100];
	unsigned int i;

	(void)state;
	/* 40 SNATed sessions: reply keys share one public address. */
	for (i = 0; i < 40; i++) {
		o[i] = k4(IPPROTO_TCP, IP4(10, 240, 0, i + 1), 40000,
			  IP4(93, 184, 216, 34), 443);
		r[i] = k4(IPPROTO_TCP, IP4(93, 184, 216, 34), 443,
			  IP4(10, 0, 1, 4), (uint16_t)(1024 + i));
		assert_int_equal(vfw_ct_create_session(ct, &o[i], &r[i],
						       VFW_DIR_OUT, F_SYN, 0),
				 (int)i);
	}
	for (i = 0; i < 100; i++) {
		unsigned int j = (i * 7) % 40;

		switch (i % 3) {
		case 0: /* miss: the un-NATed reverse, or a stranger */
			keys[i] = (i & 1) ? rev(&o[j]) :
				  k4(IPPROTO_UDP, IP4(10, 240, 0, j + 1),
				     40000, IP4(93, 184, 216, 34), 443);
			expect[i] = -1;
			break;
		case 1:
			keys[i] = o[j];
			expect[i] = (int32_t)(j << 1);
			break;
		default:
			keys[i] = r[j];
			expect[i] = (int32_t)(j << 1 | 1);
			break;
		}
		kp[i] = &keys[i];
	}
	memset(hits, 0x55, sizeof(hits));
	vfw_ct_lookup_bulk(ct, kp, hits, 64);
	for (i = 0; i < 64; i++)
		assert_int_equal(hits[i], expect[i]);
	assert_int_equal(hits[64], 0x55555555);

	/* More than one rte_hash burst is split, not refused. */
	memset(hits, 0x55, sizeof(hits));
	vfw_ct_lookup_bulk(ct, kp, hits, 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(hits[i], expect[i]);
	/* n = 0 touches nothing. */
	vfw_ct_lookup_bulk(ct, kp, hits, 0);
	vfw_ct_free(ct);
}

static void
test_frag(void **state)
{
	struct vfw_ct *ct = new_ct(16, false, 8);
	struct vfw_flow_key k = k4(IPPROTO_UDP, IP4(10, 0, 0, 1), 5000,
				   IP4(10, 0, 0, 2), 53);
	struct vfw_flow_key q, k6;
	unsigned int i;

	(void)state;
	assert_int_equal(vfw_ct_frag_record(ct, &k, 77, 0), 0);
	q = k;
	q.sport = q.dport = 0;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 77, 100), 0);
	assert_memory_equal(&q, &k, sizeof(k));
	/* Another datagram id, protocol or direction: not found. */
	q.sport = q.dport = 0;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 78, 100), -ENOENT);
	q.proto = IPPROTO_TCP;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 77, 100), -ENOENT);
	q = rev(&k);
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 77, 100), -ENOENT);

	/* IPv6. */
	memset(&k6, 0, sizeof(k6));
	k6.proto = IPPROTO_UDP;
	k6.af = VFW_AF_INET6;
	k6.src[0] = rte_cpu_to_be_32(0xfd000000);
	k6.src[3] = rte_cpu_to_be_32(1);
	k6.dst[0] = rte_cpu_to_be_32(0xfd000000);
	k6.dst[3] = rte_cpu_to_be_32(2);
	k6.sport = rte_cpu_to_be_16(4444);
	k6.dport = rte_cpu_to_be_16(4789);
	assert_int_equal(vfw_ct_frag_record(ct, &k6, 0xdeadbeef, 1000), 0);
	q = k6;
	q.sport = q.dport = 0;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 0xdeadbeef, 1001), 0);
	assert_int_equal(q.dport, rte_cpu_to_be_16(4789));

	/* Expiry: 5 s after the first fragment. */
	q = k;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 77, SEC(5) - 1), 0);
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 77, SEC(5)), -ENOENT);

	/* Full: max_frags 8 gives 16 slots (two buckets); all live at
	 * t = 10 s (the two above expired and are reused). */
	for (i = 0; i < 16; i++)
		assert_int_equal(vfw_ct_frag_record(ct, &k, 100 + i, SEC(10)),
				 0);
	assert_int_equal(vfw_ct_frag_record(ct, &k, 200, SEC(10)), -ENOSPC);
	assert_int_equal(vfw_ct_frag_record(ct, &k6, 200, SEC(10)), -ENOSPC);
	/* Recording a datagram again overwrites, it takes no slot. */
	k.sport = rte_cpu_to_be_16(5001);
	assert_int_equal(vfw_ct_frag_record(ct, &k, 103, SEC(11)), 0);
	q = k;
	q.sport = 0;
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 103, SEC(11)), 0);
	assert_int_equal(q.sport, rte_cpu_to_be_16(5001));
	for (i = 0; i < 16; i++)
		assert_int_equal(vfw_ct_frag_lookup(ct, &q, 100 + i, SEC(11)),
				 0);
	/* Expired entries are reused in place. */
	assert_int_equal(vfw_ct_frag_record(ct, &k, 200, SEC(15)), 0);
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 200, SEC(15)), 0);
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 100, SEC(15)), -ENOENT);
	/* 103 was refreshed at 11 s: still live at 15 s. */
	assert_int_equal(vfw_ct_frag_lookup(ct, &q, 103, SEC(15)), 0);
	vfw_ct_free(ct);

	/* Default capacity (4096 datagrams): how many fit before the first
	 * pair of buckets is full of live entries. Printed; 4096 must fit. */
	ct = new_ct(16, false, 0);
	for (i = 0; i < 8192; i++) {
		uint64_t x = rng();

		/* Random sources and ids: sequential ones spread perfectly
		 * under CRC and would flatter the table. */
		q = k4(IPPROTO_UDP, (uint32_t)x, 1, IP4(10, 3, 0, 1), 2);
		if (vfw_ct_frag_record(ct, &q, (uint32_t)(x >> 32), 0) != 0)
			break;
	}
	print_message("frag table (max_frags 4096): first -ENOSPC after %u "
		      "live entries\n", i);
	assert_true(i >= 4096);
	vfw_ct_free(ct);
}

/* ---- benchmark: 1M sessions ---- */

static size_t
heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
						&st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static void
bench_key(unsigned int i, bool reply, struct vfw_flow_key *k)
{
	/* Sessions i: 10.x.y.z:(i%50000) -> 203.0.113.1:443, SNATed to
	 * 192.0.2.(i>>16):1024+(i&0xffff)... distinct on both sides. */
	uint16_t sport = (uint16_t)(1024 + (i % 50000));

	if (!reply)
		*k = k4(IPPROTO_TCP, IP4(10, (i >> 16) & 0xff,
					 (i >> 8) & 0xff, i & 0xff),
			sport, IP4(203, 0, 113, 1), 443);
	else
		*k = k4(IPPROTO_TCP, IP4(203, 0, 113, 1), 443,
			IP4(192, 0, 2, (i >> 16) & 0xff),
			(uint16_t)(i & 0xffff));
}

#define BENCH_N (1u << 20)
#define BURST 32

struct bench_res {
	double cyc;
	double ns;
};

/* Bursts of BURST keys picked among the first `span` sessions. */
static struct bench_res
bench_lookup(struct vfw_ct *ct, unsigned int span, unsigned int bursts,
	     bool update, bool miss)
{
	struct vfw_flow_key keys[BURST];
	const struct vfw_flow_key *kp[BURST];
	int32_t hits[BURST];
	uint64_t cyc = 0, now = SEC(100);
	unsigned int b, i, found = 0;
	struct bench_res res;

	for (i = 0; i < BURST; i++)
		kp[i] = &keys[i];
	for (b = 0; b < bursts; b++) {
		uint64_t t0;

		for (i = 0; i < BURST; i++) {
			uint64_t x = rng();

			bench_key((unsigned int)(x % span), (x >> 40) & 1,
				  &keys[i]);
			if (miss) /* same addresses and ports, not TCP */
				keys[i].proto = IPPROTO_UDP;
		}
		t0 = rte_rdtsc_precise();
		vfw_ct_lookup_bulk(ct, kp, hits, BURST);
		if (update) {
			for (i = 0; i < BURST; i++)
				if (hits[i] >= 0)
					vfw_ct_update(ct, VFW_CT_HIT_IDX(hits[i]),
						      VFW_CT_HIT_DIR(hits[i]),
						      F_ACK, now);
		}
		cyc += rte_rdtsc_precise() - t0;
		for (i = 0; i < BURST; i++)
			found += hits[i] >= 0;
	}
	assert_int_equal(found, miss ? 0 : bursts * BURST);
	res.cyc = (double)cyc / ((double)bursts * BURST);
	res.ns = res.cyc * 1e9 / (double)rte_get_tsc_hz();
	return res;
}

static void
test_bench_1m(void **state)
{
	size_t before, after, freed;
	struct vfw_flow_key o, r;
	struct bench_res res;
	struct vfw_ct *ct;
	uint64_t t0, cyc;
	unsigned int i;

	(void)state;
	before = heap_allocated();
	ct = new_ct(BENCH_N, true, 0);
	after = heap_allocated();
	print_message("ct memory for %u sessions: %zu bytes (%.1f MiB, "
		      "%.1f MB), %.1f bytes/session\n", BENCH_N,
		      after - before, (after - before) / 1048576.0,
		      (after - before) / 1e6,
		      (double)(after - before) / BENCH_N);
	assert_true(after - before <= 300u * 1000 * 1000);

	/* Fill completely (tcp_loose: straight to ESTABLISHED). */
	t0 = rte_rdtsc_precise();
	for (i = 0; i < BENCH_N; i++) {
		bench_key(i, false, &o);
		bench_key(i, true, &r);
		assert_int_equal(vfw_ct_create_session(ct, &o, &r, VFW_DIR_OUT,
						       F_ACK, SEC(1)), (int)i);
	}
	cyc = rte_rdtsc_precise() - t0;
	print_message("create: %.0f cycles/session (%.0f ns), table full at "
		      "%u\n", (double)cyc / BENCH_N,
		      (double)cyc / BENCH_N * 1e9 / rte_get_tsc_hz(),
		      vfw_ct_count(ct));
	assert_int_equal(vfw_ct_count(ct), BENCH_N);
	bench_key(BENCH_N, false, &o);
	bench_key(BENCH_N, true, &r);
	assert_int_equal(vfw_ct_create_session(ct, &o, &r, 0, F_ACK, 0),
			 -ENOSPC);

	res = bench_lookup(ct, BENCH_N, 20000, false, false);
	print_message("lookup, 1M sessions, random: %.1f cycles/key "
		      "(%.1f ns), bursts of %u\n", res.cyc, res.ns, BURST);
	res = bench_lookup(ct, BENCH_N, 20000, true, false);
	print_message("lookup+update, 1M sessions, random: %.1f cycles/pkt "
		      "(%.1f ns)\n", res.cyc, res.ns);
	res = bench_lookup(ct, BENCH_N, 20000, false, true);
	print_message("lookup miss, 1M sessions: %.1f cycles/key (%.1f ns)\n",
		      res.cyc, res.ns);
	bench_lookup(ct, 1024, 2000, true, false); /* warm */
	res = bench_lookup(ct, 1024, 20000, false, false);
	print_message("lookup, 1024 hot sessions: %.1f cycles/key (%.1f ns)\n",
		      res.cyc, res.ns);
	res = bench_lookup(ct, 1024, 20000, true, false);
	print_message("lookup+update, 1024 hot sessions: %.1f cycles/pkt "
		      "(%.1f ns)\n", res.cyc, res.ns);

	/* One aging call per loop iteration with budget 64: its cost. */
	t0 = rte_rdtsc_precise();
	for (i = 0; i < BENCH_N / 64; i++)
		vfw_ct_age(ct, SEC(2), 64);
	cyc = rte_rdtsc_precise() - t0;
	print_message("age (nothing expired), budget 64: %.0f cycles/call\n",
		      (double)cyc / (BENCH_N / 64));
	assert_int_equal(vfw_ct_count(ct), BENCH_N);
	check_counts(ct);

	t0 = rte_rdtsc_precise();
	for (i = 0; i < BENCH_N / 64; i++)
		vfw_ct_age(ct, SEC(20000), 64);
	cyc = rte_rdtsc_precise() - t0;
	print_message("age (all expired), budget 64: %.0f cycles/call "
		      "(%.0f cycles/removal)\n", (double)cyc / (BENCH_N / 64),
		      (double)cyc / BENCH_N);
	assert_int_equal(vfw_ct_count(ct), 0);

	vfw_ct_free(ct);
	freed = heap_allocated();
	assert_int_equal(freed, before);
}

int
main(void)
{
	char *eal_args[] = {
		"test_ct", "--no-huge", "--no-pci", "-m", "1024",
		"--file-prefix=test_ct", "--no-shconf", "--log-level=lib.*:error",
		"--no-telemetry",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_params),
		cmocka_unit_test(test_create_lookup),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_tcp_fin_lifecycle),
		cmocka_unit_test(test_tcp_timeouts),
		cmocka_unit_test(test_tcp_edges),
		cmocka_unit_test(test_tcp_challenge_ack),
		cmocka_unit_test(test_replace_closed),
		cmocka_unit_test(test_replace_both_keys),
		cmocka_unit_test(test_tcp_loose),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp_other),
		cmocka_unit_test(test_aging_budget),
		cmocka_unit_test(test_counters_random),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_bulk_lookup),
		cmocka_unit_test(test_frag),
		cmocka_unit_test(test_bench_1m),
	};
	int rc;

	if (rte_eal_init((int)RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
