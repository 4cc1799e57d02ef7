/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/pkt: the frame parser, the ICMP-error inner parser and
 * the checksum helpers.
 *
 * Every frame is parsed twice: from a pool mbuf, and from an external buffer
 * whose last byte is the last byte of a malloc'd block, so that under
 * -Db_sanitize=address any read past data_len is a heap-buffer-overflow
 * report (pool memory is not instrumented). Both parses must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vnetfw/pkt.h"

static struct rte_mempool *pool;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* ---- helpers ---- */

static uint64_t
rnd(void)
{
	/* xorshift64*: deterministic, seedable from VFW_TEST_SEED. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

#define IP4_SRC 0x0a000001u /* 10.0.0.1 */
#define IP4_DST 0x0a000002u /* 10.0.0.2 */
static const uint8_t ip6_src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t ip6_dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* Ethernet header with tags 802.1Q tags (TCI 0x0105); returns its length. */
static uint32_t
put_eth(uint8_t *b, unsigned int tags, uint16_t et)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint32_t off = 12;
	unsigned int i;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	for (i = 0; i < tags; i++, off += 4) {
		put16(b + off, 0x8100);
		put16(b + off + 2, 0x0105);
	}
	put16(b + off, et);
	return off + 2;
}

/* 20-byte IPv4 header for l4len bytes of payload, valid checksum. */
static uint32_t
put_ip4(uint8_t *ip, uint8_t proto, uint32_t src, uint32_t dst, uint32_t l4len)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	memcpy(ip + 10, (uint16_t[]){vfw_ip4_csum(ip, 20)}, 2);
	return 20;
}

static void
fix_ip4_csum(uint8_t *ip)
{
	uint16_t c = vfw_ip4_csum(ip, (ip[0] & 0xf) * 4u);

	memcpy(ip + 10, &c, 2);
}

/* Ethernet + IPv4 + l4; returns the frame length. */
static uint32_t
frame4(uint8_t *b, unsigned int tags, uint8_t proto, const void *l4,
       uint32_t l4len)
{
	uint32_t off = put_eth(b, tags, 0x0800);

	off += put_ip4(b + off, proto, IP4_SRC, IP4_DST, l4len);
	memcpy(b + off, l4, l4len);
	return off + l4len;
}

/* Ethernet + IPv6 (next header nh) + ext bytes + l4; returns the length. */
static uint32_t
frame6(uint8_t *b, unsigned int tags, uint8_t nh, const void *ext,
       uint32_t extlen, const void *l4, uint32_t l4len)
{
	uint32_t off = put_eth(b, tags, 0x86dd);
	uint8_t *ip = b + off;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)(extlen + l4len));
	ip[6] = nh;
	ip[7] = 63;
	memcpy(ip + 8, ip6_src, 16);
	memcpy(ip + 24, ip6_dst, 16);
	off += 40;
	if (ext != NULL)
		memcpy(b + off, ext, extlen);
	off += extlen;
	if (l4 != NULL)
		memcpy(b + off, l4, l4len);
	return off + l4len;
}

static uint32_t
put_tcp(uint8_t *t, uint16_t sp, uint16_t dp, uint8_t flags)
{
	memset(t, 0, 20);
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, 1000);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	return 20;
}

static uint32_t
put_udp(uint8_t *u, uint16_t sp, uint16_t dp, uint32_t paylen)
{
	memset(u, 0, 8 + paylen);
	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, (uint16_t)(8 + paylen));
	put16(u + 6, 0xbeef);
	return 8 + paylen;
}

static uint32_t
put_icmp(uint8_t *c, uint8_t type, uint8_t code, uint16_t id)
{
	memset(c, 0, 8);
	c[0] = type;
	c[1] = code;
	put16(c + 4, id);
	put16(c + 6, 1);
	return 8;
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* ---- running the parser ---- */

struct result {
	enum vfw_drop rc;
	struct vfw_pkt_meta meta;
	enum vfw_drop inner_rc;
	struct vfw_flow_key inner;
};

static void
noop_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

static void
parse_mbuf(struct rte_mbuf *m, struct result *r)
{
	struct vfw_pkt_meta *meta = vfw_pkt_meta(m);

	/* Garbage in: the parser must clear what it owns. */
	memset(meta, 0xa5, sizeof(*meta));
	r->rc = vfw_pkt_parse(m, meta);
	r->meta = *meta;
	r->inner_rc = VFW_DROP_ICMP_INNER;
	memset(&r->inner, 0, sizeof(r->inner));
	if (r->rc == VFW_DROP_NONE && (meta->flags & VFW_PF_ICMP_ERR))
		r->inner_rc = vfw_pkt_parse_inner(m, meta, &r->inner);
}

/*
 * wire >= len is the frame's pkt_len: a first segment of len bytes of a
 * longer frame (the parser must still stop at data_len).
 */
static void
parse_pool(const uint8_t *frame, uint32_t len, uint32_t wire, uint64_t ol,
	   struct result *r)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(d);
	memcpy(d, frame, len);
	m->pkt_len = wire;
	m->ol_flags |= ol;
	parse_mbuf(m, r);
	rte_pktmbuf_free(m);
}

/* The frame is the very end of a heap block: over-reads hit a redzone. */
static void
parse_tail(const uint8_t *frame, uint32_t len, uint32_t wire, uint64_t ol,
	   struct result *r)
{
	struct rte_mbuf_ext_shared_info shinfo = {.free_cb = noop_free};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *buf = malloc(len ? len : 1);

	assert_non_null(m);
	assert_non_null(buf);
	memcpy(buf, frame, len);
	rte_mbuf_ext_refcnt_set(&shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, buf, RTE_BAD_IOVA, (uint16_t)len, &shinfo);
	m->data_off = 0;
	m->data_len = (uint16_t)len;
	m->pkt_len = wire;
	m->ol_flags |= ol;
	parse_mbuf(m, r);
	rte_pktmbuf_free(m);
	free(buf);
}

/* Properties every successful parse has. */
static void
check_invariants(const struct result *r, uint32_t len)
{
	const struct vfw_pkt_meta *mt = &r->meta;

	assert_int_equal(mt->drop, r->rc);
	if (r->rc != VFW_DROP_NONE)
		return;
	assert_true(mt->l2_len == 14 || mt->l2_len == 18);
	assert_int_equal(mt->key.zone, 0);
	if (mt->cls == VFW_PC_ARP) {
		assert_true(mt->l2_len + 28u <= len);
		return;
	}
	assert_int_equal(mt->cls, VFW_PC_IP);
	assert_true((uint32_t)mt->l2_len + mt->l3_len + mt->l4_len <= len);
	assert_int_equal(mt->key.proto, mt->l4proto);
	if (mt->key.af == VFW_AF_INET) {
		assert_int_equal(mt->l3_len % 4, 0);
		assert_true(mt->key.src[1] == 0 && mt->key.src[2] == 0 &&
			    mt->key.src[3] == 0);
		assert_true(mt->key.dst[1] == 0 && mt->key.dst[2] == 0 &&
			    mt->key.dst[3] == 0);
	} else {
		assert_int_equal(mt->key.af, VFW_AF_INET6);
		assert_true(mt->l3_len >= 40);
	}
	if (mt->flags & VFW_PF_FRAG_LATER) {
		assert_true(mt->flags & VFW_PF_FRAG);
		assert_int_equal(mt->key.sport, 0);
		assert_int_equal(mt->key.dport, 0);
	}
	if (mt->flags & VFW_PF_ICMP_ERR) {
		assert_true(mt->inner_off + 8u <= len);
		if (r->inner_rc == VFW_DROP_NONE)
			assert_int_equal(r->inner.af, mt->key.af);
		else
			assert_int_equal(r->inner_rc, VFW_DROP_ICMP_INNER);
	}
	assert_false((mt->flags & VFW_PF_L2_BCAST) && (mt->flags & VFW_PF_L2_MCAST));
}

/* Parse both ways, check they agree and the invariants hold. */
static enum vfw_drop
run_wire(const uint8_t *frame, uint32_t len, uint32_t wire, uint64_t ol,
	 struct result *out)
{
	struct result a, b;

	parse_pool(frame, len, wire, ol, &a);
	parse_tail(frame, len, wire, ol, &b);
	assert_int_equal(a.rc, b.rc);
	/* Parser-owned fields and drop are identical (later-stage fields are
	 * left alone, so they still hold the garbage pattern). */
	assert_memory_equal(&a.meta, &b.meta, offsetof(struct vfw_pkt_meta, nh_ip));
	assert_int_equal(a.meta.drop, b.meta.drop);
	assert_int_equal(a.inner_rc, b.inner_rc);
	assert_memory_equal(&a.inner, &b.inner, sizeof(a.inner));
	check_invariants(&a, len);
	if (out != NULL)
		*out = a;
	return a.rc;
}

static enum vfw_drop
run_ol(const uint8_t *frame, uint32_t len, uint64_t ol, struct result *out)
{
	return run_wire(frame, len, len, ol, out);
}

static enum vfw_drop
run(const uint8_t *frame, uint32_t len, struct result *out)
{
	return run_wire(frame, len, len, 0, out);
}

/* ---- good frames ---- */

static void
test_tcp4_good(void **state)
{
	uint8_t l4[20], f[128];
	struct result r;
	uint32_t len;
	unsigned int i;

	(void)state;
	put_tcp(l4, 40000, 443, TCP_SYN);
	len = frame4(f, 0, IPPROTO_TCP, l4, sizeof(l4));
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.cls, VFW_PC_IP);
	assert_int_equal(r.meta.key.proto, IPPROTO_TCP);
	assert_int_equal(r.meta.key.af, VFW_AF_INET);
	assert_int_equal(r.meta.key.src[0], rte_cpu_to_be_32(IP4_SRC));
	assert_int_equal(r.meta.key.dst[0], rte_cpu_to_be_32(IP4_DST));
	for (i = 1; i < 4; i++) {
		assert_int_equal(r.meta.key.src[i], 0);
		assert_int_equal(r.meta.key.dst[i], 0);
	}
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(40000));
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(443));
	assert_int_equal(r.meta.l2_len, 14);
	assert_int_equal(r.meta.l3_len, 20);
	assert_int_equal(r.meta.l4_len, 20);
	assert_int_equal(r.meta.l4proto, IPPROTO_TCP);
	assert_int_equal(r.meta.ttl, 64);
	assert_int_equal(r.meta.tcp_flags, TCP_SYN);
	assert_int_equal(r.meta.flags, 0);
	assert_int_equal(r.meta.vlan_tci, 0);
	assert_int_equal(r.meta.drop, VFW_DROP_NONE);
	/* Later-stage fields are not the parser's. */
	assert_int_equal(r.meta.session, 0xa5a5a5a5u);

	/* Ethernet padding to 60 bytes: l4_len from total_length. */
	memset(f + len, 0, 60 - len + 6);
	assert_int_equal(run(f, 60 + 6, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l4_len, 20);

	/* Legal but rare flag sets pass: FIN alone, RST alone, FIN+ACK. */
	put_tcp(l4, 1, 2, TCP_FIN);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), NULL), VFW_DROP_NONE);
	put_tcp(l4, 1, 2, TCP_RST);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), NULL), VFW_DROP_NONE);
	put_tcp(l4, 1, 2, TCP_FIN | TCP_ACK | TCP_PSH);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.tcp_flags, TCP_FIN | TCP_ACK | TCP_PSH);
}

static void
test_tcp4_options(void **state)
{
	uint8_t l4[40], f[128];
	struct result r;

	(void)state;
	put_tcp(l4, 1234, 80, TCP_SYN);
	l4[12] = 10 << 4; /* 40-byte header: MSS, SACK-perm, TS, WS */
	memset(l4 + 20, 1, 20);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 40), &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l4_len, 40);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(80));
}

static void
test_udp4_good(void **state)
{
	uint8_t l4[64], f[128];
	struct result r;
	uint32_t n;

	(void)state;
	n = put_udp(l4, 5353, 53, 12);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_UDP, l4, n), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.proto, IPPROTO_UDP);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(5353));
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(53));
	assert_int_equal(r.meta.l4_len, 20);
	assert_int_equal(r.meta.flags & VFW_PF_L4_CSUM_0, 0);

	/* Checksum 0 over IPv4 = no checksum. */
	put16(l4 + 6, 0);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_UDP, l4, n), &r),
			 VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_L4_CSUM_0);

	/* UDP length shorter than the IP payload: trailing bytes allowed. */
	put16(l4 + 4, 8);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_UDP, l4, n), NULL),
			 VFW_DROP_NONE);

	/* DHCP discover: source 0.0.0.0 to 255.255.255.255 is fine. */
	n = put_udp(l4, 68, 67, 4);
	n = put_eth(f, 0, 0x0800);
	n += put_ip4(f + n, IPPROTO_UDP, 0, 0xffffffffu, 12);
	memcpy(f + n, l4, 12);
	memset(f, 0xff, 6);
	assert_int_equal(run(f, n + 12, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.key.src[0], 0);
	assert_true(r.meta.flags & VFW_PF_L2_BCAST);
}

static void
test_icmp4(void **state)
{
	uint8_t l4[8], f[128];
	struct result req, rep, r;
	struct vfw_flow_key rev;

	(void)state;
	put_icmp(l4, 8, 0, 0x4242);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_ICMP, l4, 8), &req),
			 VFW_DROP_NONE);
	assert_true(req.meta.flags & VFW_PF_ICMP_ECHO);
	assert_int_equal(req.meta.icmp_type, 8);
	assert_int_equal(req.meta.key.sport, rte_cpu_to_be_16(0x4242));
	assert_int_equal(req.meta.key.dport, rte_cpu_to_be_16(0x4242));

	/* The reply's key is the reverse of the request's key. */
	put_icmp(l4, 0, 0, 0x4242);
	{
		uint32_t off = put_eth(f, 0, 0x0800);

		off += put_ip4(f + off, IPPROTO_ICMP, IP4_DST, IP4_SRC, 8);
		memcpy(f + off, l4, 8);
		assert_int_equal(run(f, off + 8, &rep), VFW_DROP_NONE);
	}
	vfw_flow_key_reverse(&rev, &req.meta.key);
	assert_memory_equal(&rev, &rep.meta.key, sizeof(rev));

	/* Other ICMP (timestamp): sport = type << 8 | code, dport 0. */
	put_icmp(l4, 13, 0, 7);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_ICMP, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(13 << 8));
	assert_int_equal(r.meta.key.dport, 0);
	assert_int_equal(r.meta.flags & (VFW_PF_ICMP_ECHO | VFW_PF_ICMP_ERR), 0);

	/* Redirect (5, code 1) is not one of the errors we translate. */
	put_icmp(l4, 5, 1, 0);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_ICMP, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(5 << 8 | 1));
	assert_int_equal(r.meta.icmp_code, 1);

	/* ICMPv6 protocol number inside IPv4: just another L4, ports 0. */
	put_icmp(l4, 128, 0, 1);
	assert_int_equal(run(f, frame4(f, 0, IPPROTO_ICMPV6, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.sport, 0);
	assert_int_equal(r.meta.flags & VFW_PF_ICMP_ECHO, 0);
}

static void
test_other_l4(void **state)
{
	uint8_t l4[16] = {1, 2, 3, 4}, f[128];
	struct result r;

	(void)state;
	/* GRE, ESP, SCTP: key with ports 0. */
	assert_int_equal(run(f, frame4(f, 0, 47, l4, 16), &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.key.proto, 47);
	assert_int_equal(r.meta.key.sport, 0);
	assert_int_equal(run(f, frame4(f, 0, 50, l4, 16), &r), VFW_DROP_NONE);
	assert_int_equal(run(f, frame4(f, 0, 132, l4, 16), &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.key.dport, 0);
	/* No payload at all. */
	assert_int_equal(run(f, frame4(f, 0, 47, l4, 0), &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l4_len, 0);
}

static void
test_ip4_options(void **state)
{
	uint8_t f[128], l4[20];
	struct result r;
	uint32_t off;
	uint8_t *ip;

	(void)state;
	off = put_eth(f, 0, 0x0800);
	ip = f + off;
	put_ip4(ip, IPPROTO_TCP, IP4_SRC, IP4_DST, 0);
	/* Make room for 4 bytes of options (router alert). */
	ip[0] = 0x46;
	put16(ip + 2, 24 + 20);
	put32(ip + 20, 0x94040000);
	fix_ip4_csum(ip);
	put_tcp(l4, 1, 2, TCP_ACK);
	memcpy(ip + 24, l4, 20);
	assert_int_equal(run(f, off + 44, &r), VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_IP_OPTS);
	assert_int_equal(r.meta.l3_len, 24);
	assert_int_equal(r.meta.l4_len, 20);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(2));

	/* Maximal header (IHL 15): checksum over all 60 bytes. */
	ip[0] = 0x4f;
	put16(ip + 2, 60 + 20);
	memset(ip + 20, 1, 40); /* NOPs */
	fix_ip4_csum(ip);
	memcpy(ip + 60, l4, 20);
	assert_int_equal(run(f, off + 80, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l3_len, 60);
	ip[30] ^= 0x10;
	assert_int_equal(run(f, off + 80, NULL), VFW_DROP_IP4_CSUM);
}

/*
 * Ethernet + IPv4 with the option bytes opts (n <= 40, padded with zeros,
 * i.e. End of List, to a multiple of 4) + an 8-byte UDP header; frag is
 * the flags/offset word. Returns the frame length.
 */
static uint32_t
frame4_opts(uint8_t *f, const uint8_t *opts, uint32_t n, uint16_t frag)
{
	uint32_t off = put_eth(f, 0, 0x0800), ol = (n + 3) & ~3u;
	uint8_t *ip = f + off;

	put_ip4(ip, IPPROTO_UDP, IP4_SRC, IP4_DST, 0);
	ip[0] = (uint8_t)(0x40 | (20 + ol) / 4);
	put16(ip + 2, (uint16_t)(20 + ol + 8));
	put16(ip + 6, frag);
	memset(ip + 20, 0, ol);
	memcpy(ip + 20, opts, n);
	fix_ip4_csum(ip);
	put_udp(ip + 20 + ol, 5000, 53, 0);
	return off + 20 + ol + 8;
}

#define OPTS_RC(...) ({                                                     \
	static const uint8_t o_[] = { __VA_ARGS__ };                        \
	uint8_t f_[128];                                                    \
	run(f_, frame4_opts(f_, o_, sizeof(o_), 0x4000), NULL);             \
})

/* The option walk: benign options pass, source routes and malformed
 * lists are dropped under their reasons. */
static void
test_ip4_option_list(void **state)
{
	uint8_t f[128];
	struct result r;
	uint32_t len;

	(void)state;
	/* Benign options, alone and together, with and without End of
	 * List; an option that ends exactly at the end of the header. */
	assert_int_equal(OPTS_RC(1, 1, 1, 0), VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(0), VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(7, 7, 4, 0, 0, 0, 0, 0), VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(0x94, 4, 0, 0), VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(1, 0x94, 4, 0, 0, 7, 7, 4, 1, 2, 3, 4),
			 VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
			 VFW_DROP_NONE);
	/* Whatever follows End of List is padding, never parsed. */
	assert_int_equal(OPTS_RC(0, 0x83, 0, 0), VFW_DROP_NONE);
	len = frame4_opts(f, (const uint8_t[]){ 0x94, 4, 0, 0 }, 4, 0x4000);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_IP_OPTS);
	assert_int_equal(r.meta.l3_len, 24);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(53));

	/* Loose and strict source routes, wherever they are in the list,
	 * and whatever their pointer says (used up or not). */
	assert_int_equal(OPTS_RC(0x83, 7, 4, 10, 66, 0, 1), VFW_DROP_IP4_SRCRT);
	assert_int_equal(OPTS_RC(0x89, 7, 4, 10, 66, 0, 1), VFW_DROP_IP4_SRCRT);
	assert_int_equal(OPTS_RC(1, 1, 0x94, 4, 0, 0, 0x83, 7, 8, 10, 66, 0, 1),
			 VFW_DROP_IP4_SRCRT);
	assert_int_equal(OPTS_RC(0x89, 3, 4), VFW_DROP_IP4_SRCRT);
	assert_int_equal(OPTS_RC(0x83, 39, 40, [38] = 0), VFW_DROP_IP4_SRCRT);
	/* Not just the first fragment: every fragment of it. */
	len = frame4_opts(f, (const uint8_t[]){ 0x83, 7, 4, 10, 66, 0, 1 }, 7,
			  0x0001);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_SRCRT);
	len = frame4_opts(f, (const uint8_t[]){ 0x83, 7, 4, 10, 66, 0, 1 }, 7,
			  0x2000);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_SRCRT);

	/* Malformed lists: length 0 or 1, past the end of the header, a
	 * type with no room for its length; a malformed list is that even
	 * when it also holds a source route. */
	assert_int_equal(OPTS_RC(7, 0, 0, 0), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(7, 1, 0, 0), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(0x83, 1, 0, 0), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(7, 0x28, 4, 0), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(7, 5, 4, 0), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(1, 1, 1, 7), VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(0x83, 7, 4, 10, 66, 0, 1, 0x44),
			 VFW_DROP_IP4_OPTS);
	assert_int_equal(OPTS_RC(0x94, 4, 0, 0, 7, 255, 0, 0), VFW_DROP_IP4_OPTS);
	/* 40 bytes of options, the last one running one byte over. */
	assert_int_equal(OPTS_RC(0x44, 40, [39] = 0), VFW_DROP_NONE);
	assert_int_equal(OPTS_RC(1, 0x44, 40, [39] = 0), VFW_DROP_IP4_OPTS);

	/* Earlier checks come first: a corrupt header checksum is that,
	 * whatever its options say. */
	len = frame4_opts(f, (const uint8_t[]){ 7, 0, 0, 0 }, 4, 0x4000);
	f[14 + 10] ^= 1;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_CSUM);
}

static void
test_l4_6(void **state)
{
	uint8_t l4[64], f[256];
	struct result r, rep;
	struct vfw_flow_key rev;
	uint32_t n;

	(void)state;
	put_tcp(l4, 40000, 443, TCP_SYN);
	assert_int_equal(run(f, frame6(f, 0, IPPROTO_TCP, NULL, 0, l4, 20), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.af, VFW_AF_INET6);
	assert_memory_equal(r.meta.key.src, ip6_src, 16);
	assert_memory_equal(r.meta.key.dst, ip6_dst, 16);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(40000));
	assert_int_equal(r.meta.l3_len, 40);
	assert_int_equal(r.meta.l4_len, 20);
	assert_int_equal(r.meta.ttl, 63);
	assert_int_equal(r.meta.key.zone, 0);

	n = put_udp(l4, 546, 547, 10);
	put16(l4 + 6, 0); /* no CSUM_0 flag for IPv6 */
	assert_int_equal(run(f, frame6(f, 0, IPPROTO_UDP, NULL, 0, l4, n), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(547));
	assert_int_equal(r.meta.flags & VFW_PF_L4_CSUM_0, 0);

	put_icmp(l4, 128, 0, 77);
	assert_int_equal(run(f, frame6(f, 0, IPPROTO_ICMPV6, NULL, 0, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_ICMP_ECHO);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(77));
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(77));
	put_icmp(l4, 129, 0, 77);
	n = frame6(f, 0, IPPROTO_ICMPV6, NULL, 0, l4, 8);
	memcpy(f + 14 + 8, ip6_dst, 16);
	memcpy(f + 14 + 24, ip6_src, 16);
	assert_int_equal(run(f, n, &rep), VFW_DROP_NONE);
	vfw_flow_key_reverse(&rev, &r.meta.key);
	assert_memory_equal(&rev, &rep.meta.key, sizeof(rev));

	/* Neighbor solicitation: other ICMPv6. */
	put_icmp(l4, 135, 0, 0);
	assert_int_equal(run(f, frame6(f, 0, IPPROTO_ICMPV6, NULL, 0, l4, 24), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(135 << 8));
	assert_int_equal(r.meta.icmp_type, 135);

	/* ESP, no-next-header (empty payload), unknown: ports 0. */
	memset(l4, 7, 16);
	assert_int_equal(run(f, frame6(f, 0, 50, NULL, 0, l4, 16), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.proto, 50);
	assert_int_equal(r.meta.key.sport, 0);
	assert_int_equal(run(f, frame6(f, 0, 59, NULL, 0, l4, 0), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.proto, 59);
	assert_int_equal(run(f, frame6(f, 0, 253, NULL, 0, l4, 16), &r),
			 VFW_DROP_NONE);
	/* ICMPv4 number inside IPv6: ports 0, not an echo. */
	put_icmp(l4, 8, 0, 5);
	assert_int_equal(run(f, frame6(f, 0, IPPROTO_ICMP, NULL, 0, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.key.sport, 0);
}

static void
test_vlan(void **state)
{
	uint8_t l4[20], f[128];
	struct result r;
	uint32_t len;

	(void)state;
	put_tcp(l4, 1, 2, TCP_SYN);
	len = frame4(f, 1, IPPROTO_TCP, l4, 20);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_VLAN);
	assert_int_equal(r.meta.vlan_tci, 0x0105);
	assert_int_equal(r.meta.l2_len, 18);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(1));

	/* 802.1ad outer tag alone is accepted as the one tag. */
	put16(f + 12, 0x88a8);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l2_len, 18);

	/* VLAN + IPv6 */
	len = frame6(f, 1, IPPROTO_TCP, NULL, 0, l4, 20);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l2_len, 18);

	/* Stacked: 802.1Q in 802.1Q, 802.1Q in 802.1ad. */
	len = frame4(f, 2, IPPROTO_TCP, l4, 20);
	assert_int_equal(run(f, len, NULL), VFW_DROP_VLAN_STACKED);
	put16(f + 12, 0x88a8);
	assert_int_equal(run(f, len, NULL), VFW_DROP_VLAN_STACKED);

	/* Tag cut short. */
	assert_int_equal(run(f, 17, NULL), VFW_DROP_VLAN_TRUNC);
	assert_int_equal(run(f, 14, NULL), VFW_DROP_VLAN_TRUNC);
}

static void
test_l2(void **state)
{
	uint8_t l4[20], f[128];
	struct result r;
	uint32_t len;

	(void)state;
	put_tcp(l4, 1, 2, TCP_SYN);
	len = frame4(f, 0, IPPROTO_TCP, l4, 20);
	memset(f, 0xff, 6);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_L2_BCAST | VFW_PF_L2_MCAST),
			 VFW_PF_L2_BCAST);
	memcpy(f, (uint8_t[]){0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, 6);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_L2_BCAST | VFW_PF_L2_MCAST),
			 VFW_PF_L2_MCAST);
	/* Almost broadcast is multicast. */
	memcpy(f, (uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, 6);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_L2_BCAST | VFW_PF_L2_MCAST),
			 VFW_PF_L2_MCAST);

	assert_int_equal(run(f, 0, NULL), VFW_DROP_ETH_TRUNC);
	assert_int_equal(run(f, 13, NULL), VFW_DROP_ETH_TRUNC);
	put16(f + 12, 0x88cc); /* LLDP */
	assert_int_equal(run(f, len, NULL), VFW_DROP_ETHERTYPE);
	put16(f + 12, 0x0026); /* 802.3 length field */
	assert_int_equal(run(f, len, NULL), VFW_DROP_ETHERTYPE);
	put16(f + 12, 0x9100); /* old QinQ TPID: not a tag we accept */
	assert_int_equal(run(f, len, NULL), VFW_DROP_ETHERTYPE);
}

static void
test_arp(void **state)
{
	uint8_t f[128];
	struct result r;
	uint32_t off, len;
	uint8_t *a;

	(void)state;
	off = put_eth(f, 0, 0x0806);
	a = f + off;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memset(a + 8, 0x11, 20);
	len = off + 28;
	memset(f, 0xff, 6);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.cls, VFW_PC_ARP);
	assert_int_equal(r.meta.l2_len, 14);
	assert_true(r.meta.flags & VFW_PF_L2_BCAST);
	/* Padded to 60 bytes. */
	memset(f + len, 0, 18);
	assert_int_equal(run(f, 60, NULL), VFW_DROP_NONE);
	/* With a VLAN tag. */
	{
		uint8_t g[128];
		uint32_t o2 = put_eth(g, 1, 0x0806);

		memcpy(g + o2, a, 28);
		assert_int_equal(run(g, o2 + 28, &r), VFW_DROP_NONE);
		assert_int_equal(r.meta.cls, VFW_PC_ARP);
		assert_int_equal(r.meta.l2_len, 18);
	}

	assert_int_equal(run(f, len - 1, NULL), VFW_DROP_ARP_MALFORMED);
	assert_int_equal(run(f, off, NULL), VFW_DROP_ARP_MALFORMED);
	put16(a, 6); /* htype IEEE 802 */
	assert_int_equal(run(f, len, NULL), VFW_DROP_ARP_MALFORMED);
	put16(a, 1);
	put16(a + 2, 0x86dd);
	assert_int_equal(run(f, len, NULL), VFW_DROP_ARP_MALFORMED);
	put16(a + 2, 0x0800);
	a[4] = 8;
	assert_int_equal(run(f, len, NULL), VFW_DROP_ARP_MALFORMED);
	a[4] = 6;
	a[5] = 16;
	assert_int_equal(run(f, len, NULL), VFW_DROP_ARP_MALFORMED);
	a[5] = 4;
	assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);
}

/* ---- IPv4 drops ---- */

static void
test_ip4_drops(void **state)
{
	uint8_t l4[20], f[128];
	uint32_t len, off = 14;
	uint8_t *ip = f + off;

	(void)state;
	put_tcp(l4, 1, 2, TCP_SYN);
	len = frame4(f, 0, IPPROTO_TCP, l4, 20);
	assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);

	/* Truncated fixed header. */
	assert_int_equal(run(f, off + 19, NULL), VFW_DROP_IP4_TRUNC);
	assert_int_equal(run(f, off, NULL), VFW_DROP_IP4_TRUNC);
	/* Truncated after the header: total length says more. */
	assert_int_equal(run(f, len - 1, NULL), VFW_DROP_IP4_TOTLEN);

	/* Version. */
	ip[0] = 0x65;
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_VERSION);
	ip[0] = 0x05;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_VERSION);

	/* IHL below 5. */
	ip[0] = 0x44;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_IHL);
	ip[0] = 0x40;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_IHL);

	/* IHL beyond the frame. */
	ip[0] = 0x4f; /* 60 bytes, frame holds 40 */
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_TRUNC);
	/* IHL within the frame but beyond total length. */
	ip[0] = 0x49; /* 36 bytes, total length 40: ok-ish, then */
	put16(ip + 2, 32);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_TOTLEN);

	/* Total length below the header, above the frame, zero. */
	len = frame4(f, 0, IPPROTO_TCP, l4, 20);
	put16(ip + 2, 19);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_TOTLEN);
	put16(ip + 2, 41);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_TOTLEN);
	put16(ip + 2, 0);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_TOTLEN);

	/* Checksum. */
	len = frame4(f, 0, IPPROTO_TCP, l4, 20);
	ip[11] ^= 1;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_CSUM);
	/* The NIC says it checked: the parser trusts it (GOOD and NONE). */
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD, NULL),
			 VFW_DROP_NONE);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_IP_CKSUM_NONE, NULL),
			 VFW_DROP_NONE);
	ip[11] ^= 1;
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_IP_CKSUM_BAD, NULL),
			 VFW_DROP_IP4_CSUM);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, NULL),
			 VFW_DROP_NONE);
	/* L4: only what the NIC says counts (no software check); BAD drops,
	 * GOOD, NONE and UNKNOWN pass, whatever the field holds. */
	ip[20 + 16] ^= 0x55;   /* the TCP checksum */
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_L4_CKSUM_BAD, NULL),
			 VFW_DROP_L4_CSUM);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD |
					RTE_MBUF_F_RX_L4_CKSUM_BAD, NULL),
			 VFW_DROP_L4_CSUM);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_L4_CKSUM_GOOD, NULL),
			 VFW_DROP_NONE);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_L4_CKSUM_NONE, NULL),
			 VFW_DROP_NONE);
	assert_int_equal(run_ol(f, len, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, NULL),
			 VFW_DROP_NONE);
	ip[20 + 16] ^= 0x55;   /* the TCP checksum */
	/* A header checksummed to the other zero (0xffff vs 0) still sums right. */

	/* Martian sources. */
	{
		static const uint32_t bad[] = {0xe0000001, 0xefffffff,
					       0xffffffff, 0x7f000001,
					       0x7fffffff};
		static const uint32_t ok[] = {0x00000000, 0xdfffffff,
					      0x80000001, 0x0a000001};
		unsigned int i;

		for (i = 0; i < RTE_DIM(bad); i++) {
			put_ip4(ip, IPPROTO_TCP, bad[i], IP4_DST, 20);
			assert_int_equal(run(f, len, NULL), VFW_DROP_IP4_SRC);
		}
		for (i = 0; i < RTE_DIM(ok); i++) {
			put_ip4(ip, IPPROTO_TCP, ok[i], IP4_DST, 20);
			assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);
		}
	}
}

/* ---- TCP/UDP/ICMP drops ---- */

static void
test_tcp_drops(void **state)
{
	uint8_t l4[64], f[128];
	uint32_t len;
	unsigned int flags;

	(void)state;
	memset(l4, 0, sizeof(l4));
	put_tcp(l4, 1, 2, TCP_SYN);
	/* 19 bytes of TCP. */
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 19), NULL), VFW_DROP_TCP_TRUNC);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 0), NULL), VFW_DROP_TCP_TRUNC);
	assert_int_equal(run(f, frame6(f, 0, 6, NULL, 0, l4, 19), NULL),
			 VFW_DROP_TCP_TRUNC);
	/* Data offset below 5 and beyond the segment. */
	l4[12] = 4 << 4;
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), NULL), VFW_DROP_TCP_TRUNC);
	l4[12] = 6 << 4;
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), NULL), VFW_DROP_TCP_TRUNC);
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 24), NULL), VFW_DROP_NONE);
	l4[12] = 15 << 4;
	assert_int_equal(run(f, frame4(f, 0, 6, l4, 56), NULL), VFW_DROP_TCP_TRUNC);
	/* Options beyond total length (in trailing padding) do not count. */
	len = frame4(f, 0, 6, l4, 56);
	memset(f + len, 0, 8);
	assert_int_equal(run(f, len + 8, NULL), VFW_DROP_TCP_TRUNC);

	/* Every combination of the six classic flags, CWR/ECE on and off. */
	for (flags = 0; flags < 256; flags++) {
		unsigned int f6 = flags & 0x3f;
		bool bad = f6 == 0 ||
			   (f6 & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN) ||
			   (f6 & (TCP_SYN | TCP_RST)) == (TCP_SYN | TCP_RST);
		struct result r;

		put_tcp(l4, 1, 2, (uint8_t)flags);
		len = frame4(f, 0, 6, l4, 20);
		assert_int_equal(run(f, len, &r),
				 bad ? VFW_DROP_TCP_FLAGS : VFW_DROP_NONE);
		assert_int_equal(r.meta.tcp_flags, flags);
	}
	put_tcp(l4, 1, 2, 0);
	assert_int_equal(run(f, frame6(f, 0, 6, NULL, 0, l4, 20), NULL),
			 VFW_DROP_TCP_FLAGS);
}

static void
test_udp_drops(void **state)
{
	uint8_t l4[64], f[128];

	(void)state;
	put_udp(l4, 1, 2, 0);
	assert_int_equal(run(f, frame4(f, 0, 17, l4, 7), NULL), VFW_DROP_UDP_TRUNC);
	assert_int_equal(run(f, frame6(f, 0, 17, NULL, 0, l4, 7), NULL),
			 VFW_DROP_UDP_TRUNC);
	assert_int_equal(run(f, frame4(f, 0, 17, l4, 8), NULL), VFW_DROP_NONE);
	put16(l4 + 4, 7);
	assert_int_equal(run(f, frame4(f, 0, 17, l4, 8), NULL), VFW_DROP_UDP_LEN);
	put16(l4 + 4, 0);
	assert_int_equal(run(f, frame6(f, 0, 17, NULL, 0, l4, 8), NULL),
			 VFW_DROP_UDP_LEN);
	put16(l4 + 4, 9);
	assert_int_equal(run(f, frame4(f, 0, 17, l4, 8), NULL), VFW_DROP_UDP_LEN);
	assert_int_equal(run(f, frame6(f, 0, 17, NULL, 0, l4, 8), NULL),
			 VFW_DROP_UDP_LEN);
	/* UDP length pointing into Ethernet padding is still too long. */
	{
		uint32_t len = frame4(f, 0, 17, l4, 8);

		memset(f + len, 0, 18);
		assert_int_equal(run(f, len + 18, NULL), VFW_DROP_UDP_LEN);
	}
}

/* An ICMP error quoting the IP packet of frame (an Ethernet frame). */
static uint32_t
icmp_error4(uint8_t *out, uint8_t type, uint8_t code, const uint8_t *frame,
	    uint32_t quote)
{
	uint8_t msg[256];

	put_icmp(msg, type, code, 0);
	memcpy(msg + 8, frame + 14, quote);
	put16(msg + 2, vfw_l4_csum4(0, 0, IPPROTO_ICMP, msg, 8 + quote));
	{
		uint32_t off = put_eth(out, 0, 0x0800);

		/* The router (10.9.9.9) reports to the original sender. */
		off += put_ip4(out + off, IPPROTO_ICMP, 0x0a090909, IP4_SRC,
			       8 + quote);
		memcpy(out + off, msg, 8 + quote);
		return off + 8 + quote;
	}
}

static uint32_t
icmp_error6(uint8_t *out, uint8_t type, const uint8_t *frame, uint32_t quote)
{
	uint8_t msg[256];

	put_icmp(msg, type, 0, 0);
	memcpy(msg + 8, frame + 14, quote);
	return frame6(out, 0, IPPROTO_ICMPV6, NULL, 0, msg, 8 + quote);
}

static void
test_icmp_error4(void **state)
{
	static const uint8_t types[] = {3, 4, 11, 12};
	uint8_t l4[128], orig[256], f[256];
	struct result o, r;
	unsigned int i;
	uint32_t len, n;

	(void)state;
	for (i = 0; i < RTE_DIM(types); i++) {
		/* Quoting a UDP datagram: header + 8 bytes (RFC 792). */
		n = put_udp(l4, 5000, 53, 100);
		len = frame4(orig, 0, IPPROTO_UDP, l4, n);
		assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
		len = icmp_error4(f, types[i], 1, orig, 28);
		assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
		assert_true(r.meta.flags & VFW_PF_ICMP_ERR);
		assert_int_equal(r.meta.icmp_type, types[i]);
		assert_int_equal(r.meta.inner_off, 14 + 20 + 8);
		assert_int_equal(r.meta.key.sport,
				 rte_cpu_to_be_16((uint16_t)(types[i] << 8 | 1)));
		assert_int_equal(r.inner_rc, VFW_DROP_NONE);
		assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));
	}

	/* Quoting a TCP segment, a ping, and with the whole packet quoted. */
	put_tcp(l4, 33000, 22, TCP_SYN);
	len = frame4(orig, 0, IPPROTO_TCP, l4, 20);
	assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
	len = icmp_error4(f, 3, 4, orig, 40);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));

	put_icmp(l4, 8, 0, 999);
	len = frame4(orig, 0, IPPROTO_ICMP, l4, 8);
	assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
	len = icmp_error4(f, 11, 0, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_NONE);
	assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));

	/* Quote with IP options in the inner header. */
	{
		uint8_t q[64];

		memcpy(q, orig + 14, 28);
		memmove(q + 24, q + 20, 8);
		q[0] = 0x46;
		put16(q + 2, 32);
		put32(q + 20, 0x01010101);
		memcpy(orig + 14, q, 32);
		len = icmp_error4(f, 3, 0, orig, 32);
		assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
		assert_int_equal(r.inner_rc, VFW_DROP_NONE);
		assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));
		/* ...one byte short of the options + 8. */
		len = icmp_error4(f, 3, 0, orig, 31);
		assert_int_equal(run(f, len, NULL), VFW_DROP_ICMP_TRUNC);
	}
}

static void
test_icmp_trunc(void **state)
{
	uint8_t l4[64], orig[256], f[256];
	uint32_t len, n;

	(void)state;
	put_icmp(l4, 8, 0, 1);
	assert_int_equal(run(f, frame4(f, 0, 1, l4, 7), NULL), VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, frame4(f, 0, 1, l4, 0), NULL), VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, frame6(f, 0, 58, NULL, 0, l4, 7), NULL),
			 VFW_DROP_ICMP_TRUNC);
	put_icmp(l4, 13, 0, 1);
	assert_int_equal(run(f, frame4(f, 0, 1, l4, 4), NULL), VFW_DROP_ICMP_TRUNC);

	/* Errors quoting less than IP header + 8 bytes. */
	n = put_udp(l4, 1, 2, 0);
	len = frame4(orig, 0, IPPROTO_UDP, l4, n);
	assert_int_equal(run(f, icmp_error4(f, 3, 3, orig, 27), NULL),
			 VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, icmp_error4(f, 3, 3, orig, 20), NULL),
			 VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, icmp_error4(f, 3, 3, orig, 0), NULL),
			 VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, icmp_error4(f, 3, 3, orig, 28), NULL),
			 VFW_DROP_NONE);
	len = frame6(orig, 0, IPPROTO_UDP, NULL, 0, l4, n);
	assert_int_equal(run(f, icmp_error6(f, 1, orig, 47), NULL),
			 VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, icmp_error6(f, 2, orig, 40), NULL),
			 VFW_DROP_ICMP_TRUNC);
	assert_int_equal(run(f, icmp_error6(f, 3, orig, 48), NULL),
			 VFW_DROP_NONE);
	(void)len;
}

static void
test_icmp_error6(void **state)
{
	uint8_t l4[64], ext[16], orig[256], f[256];
	struct result o, r;
	unsigned int t;
	uint32_t len;

	(void)state;
	for (t = 1; t <= 4; t++) {
		put_tcp(l4, 50000, 443, TCP_SYN | TCP_ACK);
		len = frame6(orig, 0, IPPROTO_TCP, NULL, 0, l4, 20);
		assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
		len = icmp_error6(f, (uint8_t)t, orig, 60);
		assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
		assert_true(r.meta.flags & VFW_PF_ICMP_ERR);
		assert_int_equal(r.meta.inner_off, 14 + 40 + 8);
		assert_int_equal(r.inner_rc, VFW_DROP_NONE);
		assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));
	}
	/* Inner packet with a destination-options header and UDP. */
	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_UDP;
	ext[1] = 0;
	put_udp(l4, 1111, 2222, 0);
	len = frame6(orig, 0, 60, ext, 8, l4, 8);
	assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
	len = icmp_error6(f, 1, orig, 56);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_NONE);
	assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));
	/* Quote ends inside the inner UDP header: no ports to map. */
	len = icmp_error6(f, 1, orig, 52);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	/* ...or inside the extension header. */
	ext[1] = 1;
	len = frame6(orig, 0, 60, ext, 16, l4, 8);
	len = icmp_error6(f, 1, orig, 50);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);

	/* Ping inside time-exceeded. */
	put_icmp(l4, 128, 0, 31337);
	len = frame6(orig, 0, IPPROTO_ICMPV6, NULL, 0, l4, 8);
	assert_int_equal(run(orig, len, &o), VFW_DROP_NONE);
	len = icmp_error6(f, 3, orig, 48);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_memory_equal(&r.inner, &o.meta.key, sizeof(r.inner));
}

static void
test_icmp_inner_bad(void **state)
{
	uint8_t l4[64], orig[256], f[256];
	struct result r;
	struct vfw_flow_key k;
	uint32_t len, n;

	(void)state;
	n = put_udp(l4, 1, 2, 0);
	frame4(orig, 0, IPPROTO_UDP, l4, n);

	/* Inner version is not 4. */
	orig[14] = 0x65;
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	/* Inner IHL below 5. */
	orig[14] = 0x44;
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	/* Inner total length below the inner header. */
	orig[14] = 0x45;
	put16(orig + 16, 12);
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	/* Inner total length 20+4: the quote's ports are beyond it. */
	put16(orig + 16, 24);
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	/* Embedded total length larger than what is quoted: normal. */
	put16(orig + 16, 1500);
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_NONE);
	assert_int_equal(r.inner.sport, rte_cpu_to_be_16(1));
	/* Inner non-first fragment: key without ports. */
	put16(orig + 20, 100);
	len = icmp_error4(f, 3, 1, orig, 28);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_NONE);
	assert_int_equal(r.inner.sport, 0);
	assert_int_equal(r.inner.proto, IPPROTO_UDP);

	/* IPv6 quoted inside ICMPv4, IPv4 inside ICMPv6. */
	frame6(orig, 0, IPPROTO_UDP, NULL, 0, l4, n);
	len = icmp_error4(f, 3, 1, orig, 48);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);
	frame4(orig, 0, IPPROTO_UDP, l4, n);
	len = icmp_error6(f, 1, orig, 48);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.inner_rc, VFW_DROP_ICMP_INNER);

	/* Not an ICMP error at all: refused, key zeroed. */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		struct vfw_pkt_meta meta;

		assert_non_null(m);
		put_icmp(l4, 8, 0, 1);
		len = frame4(f, 0, IPPROTO_ICMP, l4, 8);
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
		assert_int_equal(vfw_pkt_parse(m, &meta), VFW_DROP_NONE);
		memset(&k, 0xee, sizeof(k));
		assert_int_equal(vfw_pkt_parse_inner(m, &meta, &k),
				 VFW_DROP_ICMP_INNER);
		assert_int_equal(k.af, 0);
		/* A lying meta cannot make it read past the segment. */
		meta.flags |= VFW_PF_ICMP_ERR;
		meta.inner_off = (uint16_t)(len - 4);
		meta.l4_len = 60000;
		assert_int_equal(vfw_pkt_parse_inner(m, &meta, &k),
				 VFW_DROP_ICMP_INNER);
		meta.inner_off = 60000;
		assert_int_equal(vfw_pkt_parse_inner(m, &meta, &k),
				 VFW_DROP_ICMP_INNER);
		rte_pktmbuf_free(m);
	}
}

/* ---- fragments ---- */

static void
test_frag4(void **state)
{
	uint8_t l4[128], f[256];
	struct result r;
	uint32_t len;
	uint8_t *ip = f + 14;

	(void)state;
	/* First fragment (MF, offset 0) with a whole TCP header. */
	put_tcp(l4, 1000, 80, TCP_ACK);
	len = frame4(f, 0, IPPROTO_TCP, l4, 24);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER),
			 VFW_PF_FRAG);
	assert_int_equal(r.meta.frag_id, 0x1234);
	assert_int_equal(r.meta.frag_off, 0);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(1000));

	/* First fragment whose L4 header is cut: FRAG_BAD, not TCP_TRUNC. */
	len = frame4(f, 0, IPPROTO_TCP, l4, 16);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_FRAG_BAD);
	/* Bad flags in a complete first fragment stay TCP_FLAGS. */
	put_tcp(l4, 1000, 80, TCP_SYN | TCP_FIN);
	len = frame4(f, 0, IPPROTO_TCP, l4, 24);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_TCP_FLAGS);

	/* First fragment of a big UDP datagram: UDP length > fragment. */
	put_udp(l4, 53, 5353, 100);
	len = frame4(f, 0, IPPROTO_UDP, l4, 32);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(5353));
	/* ...and first fragments with no room for a UDP or ICMP header
	 * (8 bytes of padding after them must not be taken for one). */
	len = frame4(f, 0, IPPROTO_UDP, l4, 0);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	memcpy(f + len, l4, 8);
	assert_int_equal(run(f, len + 8, NULL), VFW_DROP_FRAG_BAD);
	put_icmp(l4, 8, 0, 1);
	len = frame4(f, 0, IPPROTO_ICMP, l4, 0);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	memcpy(f + len, l4, 8);
	assert_int_equal(run(f, len + 8, NULL), VFW_DROP_FRAG_BAD);

	/* Later fragment: no L4, ports 0, offset in bytes. */
	memset(l4, 0x55, 64);
	len = frame4(f, 0, IPPROTO_TCP, l4, 64);
	put16(ip + 6, 0x2000 | 185);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER),
			 VFW_PF_FRAG | VFW_PF_FRAG_LATER);
	assert_int_equal(r.meta.frag_off, 1480);
	assert_int_equal(r.meta.key.proto, IPPROTO_TCP);
	assert_int_equal(r.meta.key.sport, 0);
	assert_int_equal(r.meta.key.dport, 0);
	assert_int_equal(r.meta.tcp_flags, 0);
	/* Last fragment (no MF): any length. */
	len = frame4(f, 0, IPPROTO_UDP, l4, 13);
	put16(ip + 6, 185);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_FRAG_LATER);
	/* Short fragment: a tiny "later" fragment of 1 byte (last). */
	len = frame4(f, 0, IPPROTO_UDP, l4, 1);
	put16(ip + 6, 1);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);

	/* Beyond 64 KiB when reassembled. */
	len = frame4(f, 0, IPPROTO_UDP, l4, 32);
	put16(ip + 6, 8189); /* 65512 + 32 */
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_FRAG_BAD);
	len = frame4(f, 0, IPPROTO_UDP, l4, 23);
	put16(ip + 6, 8189); /* 65512 + 23 = 65535 ok */
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);
	/* MF with a length not a multiple of 8. */
	len = frame4(f, 0, IPPROTO_UDP, l4, 33);
	put16(ip + 6, 0x2000 | 10);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_FRAG_BAD);
	put_udp(l4, 1, 2, 100);
	len = frame4(f, 0, IPPROTO_UDP, l4, 33);
	put16(ip + 6, 0x2000);
	fix_ip4_csum(ip);
	assert_int_equal(run(f, len, NULL), VFW_DROP_FRAG_BAD);
}

static void
test_frag6(void **state)
{
	uint8_t l4[128], ext[64], f[512];
	struct result r;
	uint32_t len;

	(void)state;
	memset(ext, 0, sizeof(ext));
	/* First fragment: fragment header then TCP. */
	ext[0] = IPPROTO_TCP;
	put16(ext + 2, 0x0001); /* offset 0, M */
	put32(ext + 4, 0xdeadbeef);
	put_tcp(l4, 1000, 80, TCP_ACK);
	len = frame6(f, 0, 44, ext, 8, l4, 24);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER),
			 VFW_PF_FRAG);
	assert_int_equal(r.meta.frag_id, 0xdeadbeef);
	assert_int_equal(r.meta.l3_len, 48);
	assert_int_equal(r.meta.l4proto, IPPROTO_TCP);
	assert_int_equal(r.meta.key.sport, rte_cpu_to_be_16(1000));

	/* First fragment with a cut L4 header. */
	len = frame6(f, 0, 44, ext, 8, l4, 16);
	assert_int_equal(run(f, len, NULL), VFW_DROP_FRAG_BAD);

	/* Later fragment. */
	put16(ext + 2, (uint16_t)(1448 | 1));
	memset(l4, 0x66, 64);
	len = frame6(f, 0, 44, ext, 8, l4, 64);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & (VFW_PF_FRAG | VFW_PF_FRAG_LATER),
			 VFW_PF_FRAG | VFW_PF_FRAG_LATER);
	assert_int_equal(r.meta.frag_off, 1448);
	assert_int_equal(r.meta.key.proto, IPPROTO_TCP);
	assert_int_equal(r.meta.key.sport, 0);
	assert_int_equal(r.meta.l3_len, 48);
	assert_int_equal(r.meta.l4_len, 64);

	/* Beyond 64 KiB, and MF with a length not a multiple of 8. */
	put16(ext + 2, (uint16_t)(65528 | 1));
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 8, l4, 16), NULL),
			 VFW_DROP_FRAG_BAD);
	put16(ext + 2, (uint16_t)(65520));
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 8, l4, 15), NULL),
			 VFW_DROP_NONE);
	put16(ext + 2, (uint16_t)(8 | 1));
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 8, l4, 20), NULL),
			 VFW_DROP_FRAG_BAD);

	/* Atomic fragment (offset 0, no M, RFC 6946): a whole packet. */
	put16(ext + 2, 0);
	put_tcp(l4, 7, 8, TCP_SYN);
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 8, l4, 20), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.flags & VFW_PF_FRAG, 0);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(8));
	assert_int_equal(r.meta.l3_len, 48);

	/* Two fragment headers. */
	memcpy(ext + 8, ext, 8);
	ext[0] = 44;
	put16(ext + 2, 1);
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 16, l4, 20), NULL),
			 VFW_DROP_IP6_EXTHDR);

	/* Fragment header cut short. */
	ext[0] = IPPROTO_TCP;
	assert_int_equal(run(f, frame6(f, 0, 44, ext, 4, NULL, 0), NULL),
			 VFW_DROP_IP6_EXTHDR);
}

/* ---- IPv6 ---- */

static void
test_ip6_drops(void **state)
{
	uint8_t l4[64], f[256];
	uint32_t len;

	(void)state;
	put_tcp(l4, 1, 2, TCP_SYN);
	len = frame6(f, 0, IPPROTO_TCP, NULL, 0, l4, 20);
	assert_int_equal(run(f, len, NULL), VFW_DROP_NONE);
	assert_int_equal(run(f, 14 + 39, NULL), VFW_DROP_IP6_TRUNC);
	assert_int_equal(run(f, 14, NULL), VFW_DROP_IP6_TRUNC);
	/* Payload length beyond the frame (cut frame). */
	assert_int_equal(run(f, len - 1, NULL), VFW_DROP_IP6_PAYLEN);
	/* Padding after the payload is fine. */
	memset(f + len, 0, 10);
	assert_int_equal(run(f, len + 10, NULL), VFW_DROP_NONE);
	/* Version. */
	f[14] = 0x40;
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP6_VERSION);
	f[14] = 0x60;
	/* Payload length 0 with TCP: the TCP header is outside the packet. */
	put16(f + 18, 0);
	assert_int_equal(run(f, len, NULL), VFW_DROP_TCP_TRUNC);
}

static void
test_ip6_ext(void **state)
{
	uint8_t l4[64], ext[256], f[512];
	struct result r;
	unsigned int i;
	uint32_t len;

	(void)state;
	memset(ext, 0, sizeof(ext));
	put_tcp(l4, 1, 2, TCP_SYN);
	/* Hop-by-hop (8) + routing type 2 (24) + dest opts (16) + AH (24). */
	ext[0] = 43;
	ext[1] = 0;
	ext[8] = 60;
	ext[9] = 2;
	ext[10] = 2; /* type 2 (mobile IPv6) */
	ext[11] = 1;
	ext[32] = 51;
	ext[33] = 1;
	ext[48] = IPPROTO_TCP;
	ext[49] = 4; /* (4 + 2) * 4 = 24 */
	len = frame6(f, 0, 0, ext, 72, l4, 20);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l3_len, 40 + 72);
	assert_int_equal(r.meta.l4proto, IPPROTO_TCP);
	assert_int_equal(r.meta.key.dport, rte_cpu_to_be_16(2));
	assert_int_equal(r.meta.l4_len, 20);

	/* Each header cut one byte short of its length. */
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 7, NULL, 0), NULL),
			 VFW_DROP_IP6_EXTHDR);
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 31, NULL, 0), NULL),
			 VFW_DROP_IP6_EXTHDR);
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 47, NULL, 0), NULL),
			 VFW_DROP_IP6_EXTHDR);
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 71, NULL, 0), NULL),
			 VFW_DROP_IP6_EXTHDR);
	/* Ext header length beyond payload_length but within the frame. */
	len = frame6(f, 0, 0, ext, 72, l4, 20);
	put16(f + 18, 40);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP6_EXTHDR);

	/* Hop-by-hop not first. */
	ext[8] = 0;
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 72, l4, 20), NULL),
			 VFW_DROP_IP6_EXTHDR);
	ext[8] = 60;

	/* Routing header type 0 with segments left: deprecated, dropped. */
	ext[10] = 0;
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 72, l4, 20), NULL),
			 VFW_DROP_IP6_EXTHDR);
	ext[11] = 0;
	assert_int_equal(run(f, frame6(f, 0, 0, ext, 72, l4, 20), NULL),
			 VFW_DROP_NONE);

	/* Chains of destination options: 8 pass, a 9th is one too many. */
	memset(ext, 0, sizeof(ext));
	for (i = 0; i < VFW_IP6_MAX_EXT_HDRS; i++)
		ext[i * 8] = 60;
	ext[(VFW_IP6_MAX_EXT_HDRS - 1) * 8] = IPPROTO_TCP;
	len = frame6(f, 0, 60, ext, VFW_IP6_MAX_EXT_HDRS * 8, l4, 20);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.l3_len, 40 + VFW_IP6_MAX_EXT_HDRS * 8);
	ext[(VFW_IP6_MAX_EXT_HDRS - 1) * 8] = 60;
	ext[VFW_IP6_MAX_EXT_HDRS * 8] = IPPROTO_TCP;
	len = frame6(f, 0, 60, ext, (VFW_IP6_MAX_EXT_HDRS + 1) * 8, l4, 20);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP6_EXT_LIMIT);
	/* An endless chain (every header says "another one follows"). */
	for (i = 0; i < 30; i++)
		ext[i * 8] = 60;
	len = frame6(f, 0, 60, ext, 240, NULL, 0);
	assert_int_equal(run(f, len, NULL), VFW_DROP_IP6_EXT_LIMIT);

	/* Ext headers then ESP / no next header: ports 0. */
	memset(ext, 0, 16);
	ext[0] = 50;
	len = frame6(f, 0, 60, ext, 8, l4, 20);
	assert_int_equal(run(f, len, &r), VFW_DROP_NONE);
	assert_int_equal(r.meta.key.proto, 50);
	assert_int_equal(r.meta.key.sport, 0);
	ext[0] = 59;
	assert_int_equal(run(f, frame6(f, 0, 60, ext, 8, NULL, 0), &r),
			 VFW_DROP_NONE);
	assert_int_equal(r.meta.l4_len, 0);

	/* Ext header then a cut TCP header: TCP_TRUNC. */
	ext[0] = IPPROTO_TCP;
	assert_int_equal(run(f, frame6(f, 0, 60, ext, 8, l4, 10), NULL),
			 VFW_DROP_TCP_TRUNC);
	/* Ext header then ICMPv6 echo. */
	ext[0] = IPPROTO_ICMPV6;
	put_icmp(l4, 128, 0, 9);
	assert_int_equal(run(f, frame6(f, 0, 60, ext, 8, l4, 8), &r),
			 VFW_DROP_NONE);
	assert_true(r.meta.flags & VFW_PF_ICMP_ECHO);
}

/* ---- multi-segment mbufs ---- */

static void
test_multiseg(void **state)
{
	uint8_t l4[1200], f[1400];
	struct rte_mbuf *m, *m2;
	struct vfw_pkt_meta meta;
	uint32_t len, n, split;

	(void)state;
	n = put_udp(l4, 1, 2, 1000);
	len = frame4(f, 0, IPPROTO_UDP, l4, n);
	for (split = 0; split <= len; split += 1) {
		enum vfw_drop rc;

		m = rte_pktmbuf_alloc(pool);
		m2 = rte_pktmbuf_alloc(pool);
		assert_non_null(m);
		assert_non_null(m2);
		memcpy(rte_pktmbuf_append(m, (uint16_t)split), f, split);
		memcpy(rte_pktmbuf_append(m2, (uint16_t)(len - split)), f + split,
		       len - split);
		assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
		rc = vfw_pkt_parse(m, &meta);
		if (split < 14)
			assert_int_equal(rc, VFW_DROP_ETH_TRUNC);
		else if (split < 34)
			assert_int_equal(rc, VFW_DROP_IP4_TRUNC);
		else if (split < 42)
			assert_int_equal(rc, VFW_DROP_UDP_TRUNC);
		else {
			assert_int_equal(rc, VFW_DROP_NONE);
			assert_int_equal(meta.l4_len, split - 34);
			assert_int_equal(meta.key.dport, rte_cpu_to_be_16(2));
		}
		rte_pktmbuf_free(m);
	}
}

/* ---- determinism / meta hygiene ---- */

static void
test_key_deterministic(void **state)
{
	uint8_t l4[20], f[128];
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct vfw_pkt_meta a, b;
	uint32_t len;

	(void)state;
	assert_non_null(m);
	put_tcp(l4, 1, 2, TCP_SYN);
	len = frame4(f, 0, IPPROTO_TCP, l4, 20);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	memset(&a, 0x00, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	assert_int_equal(vfw_pkt_parse(m, &a), VFW_DROP_NONE);
	assert_int_equal(vfw_pkt_parse(m, &b), VFW_DROP_NONE);
	assert_memory_equal(&a, &b, offsetof(struct vfw_pkt_meta, nh_ip));
	assert_int_equal(b.drop, 0);
	/* Drops too: a dropped packet's meta is cleared the same way. */
	m->data_len = m->pkt_len = 20;
	memset(&b, 0xff, sizeof(b));
	assert_int_equal(vfw_pkt_parse(m, &b), VFW_DROP_IP4_TRUNC);
	assert_int_equal(b.drop, VFW_DROP_IP4_TRUNC);
	assert_int_equal(b.key.sport, 0);
	assert_int_equal(b.key.src[3], 0);
	rte_pktmbuf_free(m);
}

/* ---- randomized robustness ---- */

/* A corpus of valid frames of every kind the parser knows. */
static unsigned int
build_corpus(uint8_t frames[][512], uint32_t *lens)
{
	uint8_t l4[256], ext[64], tmp[512];
	unsigned int n = 0;

	put_tcp(l4, 1, 2, TCP_SYN);
	lens[n] = frame4(frames[n], 0, 6, l4, 20), n++;
	lens[n] = frame4(frames[n], 1, 6, l4, 20), n++;
	lens[n] = frame6(frames[n], 0, 6, NULL, 0, l4, 20), n++;
	put_udp(l4, 1, 2, 20);
	lens[n] = frame4(frames[n], 0, 17, l4, 28), n++;
	lens[n] = frame6(frames[n], 1, 17, NULL, 0, l4, 28), n++;
	put_icmp(l4, 8, 0, 3);
	lens[n] = frame4(frames[n], 0, 1, l4, 8), n++;
	put_icmp(l4, 128, 0, 3);
	lens[n] = frame6(frames[n], 0, 58, NULL, 0, l4, 8), n++;
	/* ICMP errors. */
	put_tcp(l4, 1, 2, TCP_SYN);
	frame4(tmp, 0, 6, l4, 20);
	lens[n] = icmp_error4(frames[n], 3, 1, tmp, 40), n++;
	frame6(tmp, 0, 6, NULL, 0, l4, 20);
	lens[n] = icmp_error6(frames[n], 1, tmp, 60), n++;
	/* IPv6 with ext headers, and fragments. */
	memset(ext, 0, sizeof(ext));
	ext[0] = 60;
	ext[8] = 44;
	ext[16] = 6;
	put16(ext + 18, 1);
	lens[n] = frame6(frames[n], 0, 0, ext, 24, l4, 24), n++;
	put16(ext + 18, 16 | 1);
	lens[n] = frame6(frames[n], 0, 0, ext, 24, l4, 24), n++;
	lens[n] = frame4(frames[n], 0, 6, l4, 24);
	put16(frames[n] + 14 + 6, 0x2000);
	fix_ip4_csum(frames[n] + 14);
	n++;
	/* IPv4 with options. */
	lens[n] = frame4(frames[n], 0, 6, l4, 20);
	memmove(frames[n] + 38, frames[n] + 34, 20);
	frames[n][14] = 0x46;
	put16(frames[n] + 16, 44);
	put32(frames[n] + 34, 0x01010101);
	fix_ip4_csum(frames[n] + 14);
	lens[n] += 4;
	n++;
	/* ARP. */
	{
		uint32_t off = put_eth(frames[n], 0, 0x0806);

		memcpy(frames[n] + off,
		       (uint8_t[]){0, 1, 8, 0, 6, 4, 0, 1}, 8);
		memset(frames[n] + off + 8, 3, 20);
		lens[n] = off + 28;
		n++;
	}
	return n;
}

/* Every truncation of every valid frame: drop or consistent parse. */
static void
test_truncations(void **state)
{
	static uint8_t frames[32][512];
	uint32_t lens[32];
	unsigned int i, n;
	uint32_t l;

	(void)state;
	n = build_corpus(frames, lens);
	for (i = 0; i < n; i++) {
		struct result full;

		assert_int_equal(run(frames[i], lens[i], &full), VFW_DROP_NONE);
		for (l = 0; l < lens[i]; l++) {
			struct result r;

			/* A frame cut short: the headers' lengths lie. */
			assert_int_not_equal(run(frames[i], l, &r),
					     VFW_DROP_NONE);
			/* The first l bytes of the frame in the first segment:
			 * parses only if the cut is past every header the
			 * full frame needed, and then it is the same flow. */
			if (run_wire(frames[i], l, lens[i], 0, &r) !=
			    VFW_DROP_NONE)
				continue;
			assert_true(l >= (uint32_t)full.meta.l2_len +
					 full.meta.l3_len);
			assert_memory_equal(&r.meta.key, &full.meta.key,
					    sizeof(r.meta.key));
			assert_int_equal(r.meta.flags, full.meta.flags);
			assert_true(r.meta.l4_len <= full.meta.l4_len);
		}
	}
}

/* Random mutations of valid frames and plain random bytes. */
static void
test_random(void **state)
{
	static uint8_t frames[32][512];
	uint32_t lens[32];
	uint8_t f[600];
	unsigned int n, it, counts[VFW_DROP_MAX] = {0};

	(void)state;
	n = build_corpus(frames, lens);
	for (it = 0; it < 200000; it++) {
		unsigned int k = rnd() % n, flips, j;
		uint32_t len = lens[k];
		struct result r;

		memcpy(f, frames[k], len);
		if (it % 4 == 3) {
			/* Pure noise with a plausible ethertype half the time. */
			static const uint16_t et[] = {0x0800, 0x86dd, 0x8100,
						      0x0806, 0x88a8};

			len = rnd() % 200;
			for (j = 0; j < len; j++)
				f[j] = (uint8_t)rnd();
			if (len >= 14 && (rnd() & 1))
				put16(f + 12, et[rnd() % RTE_DIM(et)]);
		} else {
			flips = 1 + rnd() % 4;
			for (j = 0; j < flips; j++)
				f[rnd() % len] = (uint8_t)rnd();
			/* Also extend (padding garbage) or cut. */
			if (rnd() & 1)
				len = (uint32_t)(rnd() % (len + 32));
			if (len > lens[k])
				for (j = lens[k]; j < len; j++)
					f[j] = (uint8_t)rnd();
			/* Keep IPv4 checksums valid most of the time so the
			 * mutations reach L4. */
			if (len >= 34 && f[12] == 0x08 && f[13] == 0x00 &&
			    (f[14] & 0xf0) == 0x40 && (rnd() % 4) &&
			    len >= 14u + (f[14] & 0xf) * 4u)
				fix_ip4_csum(f + 14);
		}
		/* Sometimes only the first segment of a longer frame. */
		counts[run_wire(f, len, len + (rnd() % 4 ? 0 : rnd() % 64), 0,
				&r)]++;
	}
	/* The mutations reached deep layers: most reasons were seen. */
	print_message("random: none=%u tcp_flags=%u icmp_trunc=%u ext=%u\n",
		      counts[VFW_DROP_NONE], counts[VFW_DROP_TCP_FLAGS],
		      counts[VFW_DROP_ICMP_TRUNC], counts[VFW_DROP_IP6_EXTHDR]);
	assert_true(counts[VFW_DROP_NONE] > 1000);
	assert_true(counts[VFW_DROP_IP4_CSUM] > 0);
	assert_true(counts[VFW_DROP_TCP_FLAGS] > 0);
	assert_true(counts[VFW_DROP_IP6_EXTHDR] > 0);
}

/* ---- checksums ---- */

static uint16_t
ref_sum(const uint8_t *p, unsigned int len, uint32_t s)
{
	unsigned int i;

	/* Straightforward RFC 1071 reference, big-endian words. */
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Stored (network order) checksum of an IPv4 header, by the reference. */
static uint16_t
ref_ip4(uint8_t *ip, unsigned int hlen)
{
	uint8_t save[2] = {ip[10], ip[11]};
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = rte_cpu_to_be_16((uint16_t)~ref_sum(ip, hlen, 0));
	ip[10] = save[0];
	ip[11] = save[1];
	return c;
}

static uint16_t
ref_l4(uint32_t src, uint32_t dst, uint8_t proto, uint8_t *l4, unsigned int len,
       unsigned int field)
{
	uint8_t save[2] = {l4[field], l4[field + 1]};
	uint32_t s = 0;
	uint16_t c;

	l4[field] = l4[field + 1] = 0;
	if (proto != IPPROTO_ICMP)
		s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
		    proto + len;
	c = (uint16_t)~ref_sum(l4, len, s);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	l4[field] = save[0];
	l4[field + 1] = save[1];
	return rte_cpu_to_be_16(c);
}

static void
test_csum_full(void **state)
{
	uint8_t hdr[60], l4[1600];
	unsigned int it, i;

	(void)state;
	for (it = 0; it < 1000; it++) {
		unsigned int hlen = 20 + 4 * (rnd() % 11);
		unsigned int len = rnd() % 1500 + 8;
		uint32_t src = (uint32_t)rnd(), dst = (uint32_t)rnd();
		uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
		uint8_t fields[] = {16, 6, 2};
		unsigned int pi = it % 3;
		uint16_t c;

		for (i = 0; i < hlen; i++)
			hdr[i] = (uint8_t)rnd();
		hdr[0] = (uint8_t)(0x40 | hlen / 4);
		c = vfw_ip4_csum(hdr, hlen);
		assert_int_equal(c, ref_ip4(hdr, hlen));
		/* Same as DPDK's helper over a header with the field zeroed. */
		hdr[10] = hdr[11] = 0;
		assert_int_equal(c, rte_ipv4_cksum((void *)hdr));
		memcpy(hdr + 10, &c, 2);
		assert_int_equal(ref_sum(hdr, hlen, 0), 0xffff);

		if (len < 20)
			len = 20;
		for (i = 0; i < len; i++)
			l4[i] = (uint8_t)rnd();
		c = vfw_l4_csum4(rte_cpu_to_be_32(src), rte_cpu_to_be_32(dst),
				 protos[pi], l4, len);
		assert_int_equal(c, ref_l4(src, dst, protos[pi], l4, len,
					   fields[pi]));
	}
	/* UDP whose checksum computes to 0 is sent as 0xffff. */
	{
		uint8_t u[16] = {0};
		uint16_t c;

		put16(u + 4, 16);
		c = vfw_l4_csum4(0, 0, IPPROTO_UDP, u, 16);
		/* Make the data sum to -0 by putting ~sum in a payload word. */
		memcpy(u + 8, &(uint16_t){c}, 2);
		assert_int_equal(vfw_l4_csum4(0, 0, IPPROTO_UDP, u, 16), 0xffff);
	}
}

/* An mbuf holding frame, in two segments when split (0 < split < len). */
static struct rte_mbuf *
mbuf_of(const uint8_t *frame, uint32_t len, uint32_t split)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *m2;
	uint32_t first = split > 0 && split < len ? split : len;

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)first), frame, first);
	if (first < len) {
		m2 = rte_pktmbuf_alloc(pool);
		assert_non_null(m2);
		memcpy(rte_pktmbuf_append(m2, (uint16_t)(len - first)), frame + first,
		       len - first);
		assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	}
	return m;
}

/* vfw_pkt_l4_csum_ok() of frame as parsed, in one or two segments. */
static bool
l4_ok(const uint8_t *frame, uint32_t len, uint32_t split, uint64_t ol)
{
	struct rte_mbuf *m = mbuf_of(frame, len, split);
	struct vfw_pkt_meta *meta = vfw_pkt_meta(m);
	bool ok;

	m->ol_flags |= ol;
	assert_int_equal(vfw_pkt_parse(m, meta), VFW_DROP_NONE);
	ok = vfw_pkt_l4_csum_ok(m, meta);
	rte_pktmbuf_free(m);
	return ok;
}

/*
 * The software L4 checksum check: right checksums pass and any changed
 * payload bit fails, for TCP, UDP and ICMP, odd lengths, with and without
 * a VLAN tag, in one segment or split anywhere across two; what it cannot
 * or need not judge passes (UDP checksum 0, fragments, the port's GOOD).
 */
static void
test_l4_csum_verify(void **state)
{
	static const uint8_t protos[3] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
	static const unsigned int hdr[3] = {20, 8, 8}, field[3] = {16, 6, 2};
	uint8_t l4[400], f[480];
	unsigned int it;

	(void)state;
	for (it = 0; it < 3000; it++) {
		unsigned int pi = it % 3, tags = (it / 3) % 2, i;
		uint32_t pay = (uint32_t)(rnd() % 300), n, len, l4_off, split;
		uint16_t c;

		n = hdr[pi] + pay;
		for (i = 0; i < n; i++)
			l4[i] = (uint8_t)rnd();
		if (pi == 0) {
			put_tcp(l4, 1000, 80, TCP_ACK);
		} else if (pi == 1) {
			put16(l4 + 4, (uint16_t)n);
		} else {
			l4[0] = 8;	/* echo request */
			l4[1] = 0;
		}
		c = vfw_l4_csum4(rte_cpu_to_be_32(IP4_SRC), rte_cpu_to_be_32(IP4_DST),
				 protos[pi], l4, n);
		memcpy(l4 + field[pi], &c, 2);
		len = frame4(f, tags, protos[pi], l4, n);
		l4_off = len - n;
		/* a split anywhere after the headers, or none */
		split = it % 4 == 0 ? 0 : l4_off + hdr[pi] +
			(uint32_t)(rnd() % (pay + 1));
		assert_true(l4_ok(f, len, split, 0));
		if (pay == 0)
			continue;
		/* one payload bit */
		i = l4_off + hdr[pi] + (uint32_t)(rnd() % pay);
		f[i] ^= (uint8_t)(1u << (rnd() % 8));
		assert_false(l4_ok(f, len, split, 0));
		/* the port said GOOD: not checked again */
		assert_true(l4_ok(f, len, split, RTE_MBUF_F_RX_L4_CKSUM_GOOD));
		if (pi == 1) {
			/* UDP without a checksum */
			f[l4_off + 6] = f[l4_off + 7] = 0;
			assert_true(l4_ok(f, len, split, 0));
		}
	}
	/* a first fragment (MF) with a wrong checksum: it covers bytes not
	 * here, so it cannot be judged */
	{
		uint32_t len, n = put_udp(l4, 1000, 53, 32);

		len = frame4(f, 0, IPPROTO_UDP, l4, n);
		f[14 + 6] |= 0x20;	/* MF */
		fix_ip4_csum(f + 14);
		assert_true(l4_ok(f, len, 0, 0));
	}
}

/* One's-complement equality: 0x0000 and 0xffff are both zero. */
static bool
csum_equiv(uint16_t a, uint16_t b)
{
	return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0);
}

/* Incremental updates (RFC 1624) equal full recomputation on random
 * IPv4 + TCP/UDP packets for address, port, TTL and id changes. */
static void
test_csum_incremental(void **state)
{
	uint8_t pkt[20 + 512];
	unsigned int it, i;

	(void)state;
	for (it = 0; it < 1000; it++) {
		uint8_t *ip = pkt, *l4 = pkt + 20;
		bool udp = it & 1;
		/* Room for the word after the checksum field (see below). */
		unsigned int l4len = (udp ? 10 : 20) + rnd() % 400;
		unsigned int cfield = udp ? 6 : 16;
		uint16_t ipc, l4c, old16, new16, full;
		uint32_t old32, new32, s, d;

		for (i = 0; i < 20 + l4len; i++)
			pkt[i] = (uint8_t)rnd();
		put_ip4(ip, udp ? IPPROTO_UDP : IPPROTO_TCP, (uint32_t)rnd(),
			(uint32_t)rnd(), l4len);
		if (udp)
			put16(l4 + 4, (uint16_t)l4len);
		memcpy(&s, ip + 12, 4);
		memcpy(&d, ip + 16, 4);
		/* Every 50th packet: force the stored L4 checksum to the
		 * corner value (UDP 0xffff for a computed 0, TCP 0x0000) by
		 * choosing a payload word. */
		if (it % 50 < 2) {
			uint16_t w0 = 0, c;

			memcpy(l4 + cfield + 2, &w0, 2);
			c = vfw_l4_csum4(s, d, ip[9], l4, l4len);
			memcpy(l4 + cfield + 2, &c, 2);
		}
		l4c = vfw_l4_csum4(s, d, ip[9], l4, l4len);
		if (it % 50 < 2)
			assert_int_equal(l4c, udp ? 0xffff : 0x0000);
		memcpy(l4 + cfield, &l4c, 2);
		memcpy(&ipc, ip + 10, 2);

		/* Source address change (SNAT): IP and L4 checksums. */
		memcpy(&old32, ip + 12, 4);
		new32 = (uint32_t)rnd();
		if (it % 50 == 2)
			new32 = old32 ^ 0xffff; /* halves swap 0x0000/0xffff */
		memcpy(ip + 12, &new32, 4);
		ipc = vfw_csum_update32(ipc, old32, new32);
		l4c = vfw_csum_update32(l4c, old32, new32);
		/* Destination port change (DNAT). */
		memcpy(&old16, l4 + 2, 2);
		new16 = (uint16_t)rnd();
		if (it % 50 == 3) {
			old16 = 0xffff;
			memcpy(l4 + 2, &old16, 2);
			l4c = vfw_l4_csum4(new32, d, ip[9], l4, l4len);
			memcpy(l4 + cfield, &l4c, 2);
			new16 = 0;
		}
		memcpy(l4 + 2, &new16, 2);
		l4c = vfw_csum_update16(l4c, old16, new16);
		/* TTL decrement: the TTL/proto word. */
		memcpy(&old16, ip + 8, 2);
		ip[8]--;
		memcpy(&new16, ip + 8, 2);
		ipc = vfw_csum_update16(ipc, old16, new16);
		/* IP id rewrite. */
		memcpy(&old16, ip + 4, 2);
		new16 = (uint16_t)rnd();
		memcpy(ip + 4, &new16, 2);
		ipc = vfw_csum_update16(ipc, old16, new16);

		/* IP header data is never all zero: exact equality. */
		assert_int_equal(ipc, vfw_ip4_csum(ip, 20));
		memcpy(ip + 10, &ipc, 2);
		assert_int_equal(ref_sum(ip, 20, 0), 0xffff);
		/* L4: equal as one's-complement numbers, and after the UDP
		 * "0 means none" rule is applied, equal as bits. */
		memcpy(&s, ip + 12, 4);
		full = vfw_l4_csum4(s, d, ip[9], l4, l4len);
		assert_true(csum_equiv(l4c, full));
		if (udp && l4c == 0)
			l4c = 0xffff;
		assert_int_equal(l4c, full);
		memcpy(l4 + cfield, &l4c, 2);
		{
			uint32_t sh = rte_be_to_cpu_32(s), dh = rte_be_to_cpu_32(d);

			assert_int_equal(ref_sum(l4, l4len,
						 (sh >> 16) + (sh & 0xffff) +
						 (dh >> 16) + (dh & 0xffff) +
						 ip[9] + l4len), 0xffff);
		}
	}
}

/* The update formula on hand-picked corners of one's-complement math. */
static void
test_csum_corners(void **state)
{
	static const uint16_t vals[] = {0x0000, 0x0001, 0x7fff, 0x8000,
					0xfffe, 0xffff};
	unsigned int a, b, c;

	(void)state;
	/* Data = {w, x, y}; change w from vals[a] to vals[b] with a third
	 * word chosen so the old checksum is each corner. */
	for (a = 0; a < RTE_DIM(vals); a++)
		for (b = 0; b < RTE_DIM(vals); b++)
			for (c = 0; c < RTE_DIM(vals); c++) {
				uint8_t d[6];
				uint16_t old, upd, full;

				put16(d, vals[a]);
				put16(d + 2, 0x1234);
				put16(d + 4, vals[c]);
				old = (uint16_t)~ref_sum(d, 6, 0);
				put16(d, vals[b]);
				full = (uint16_t)~ref_sum(d, 6, 0);
				upd = rte_be_to_cpu_16(vfw_csum_update16(
					rte_cpu_to_be_16(old),
					rte_cpu_to_be_16(vals[a]),
					rte_cpu_to_be_16(vals[b])));
				/* Data is nonzero (0x1234): exact. */
				assert_int_equal(upd, full);
				/* Old checksum stored as the other zero. */
				if (old == 0) {
					upd = rte_be_to_cpu_16(vfw_csum_update16(
						0xffff, rte_cpu_to_be_16(vals[a]),
						rte_cpu_to_be_16(vals[b])));
					assert_true(csum_equiv(upd, full));
				}
			}
	/* 32-bit change whose halves are 0xffff -> 0x0000. */
	{
		uint8_t d[8];
		uint16_t old, full, upd;

		put32(d, 0xffffffff);
		put32(d + 4, 0x00000001);
		old = (uint16_t)~ref_sum(d, 8, 0);
		put32(d, 0);
		full = (uint16_t)~ref_sum(d, 8, 0);
		upd = rte_be_to_cpu_16(vfw_csum_update32(
			rte_cpu_to_be_16(old), 0xffffffff, 0));
		assert_int_equal(upd, full);
	}
}

/* The TCP flag bitmap is what its comment says. */
static void
test_tcp_flag_table(void **state)
{
	(void)state;
	/* Covered exhaustively in test_tcp_drops; here only the corners that
	 * must pass even though they look odd. */
	static const uint8_t ok[] = {TCP_FIN, TCP_RST, TCP_RST | TCP_ACK,
				     TCP_FIN | TCP_RST, TCP_PSH, 0x20 /* URG */};
	uint8_t l4[20], f[128];
	unsigned int i;

	for (i = 0; i < RTE_DIM(ok); i++) {
		put_tcp(l4, 1, 2, ok[i]);
		assert_int_equal(run(f, frame4(f, 0, 6, l4, 20), NULL),
				 VFW_DROP_NONE);
	}
}

/*
 * Not a pass/fail test: TSC cycles per parse of a TCP/IPv4 frame, for the
 * log. Only 8 mbufs: this pool lays mbufs out 4 KiB apart, so more than
 * the L1 associativity would measure L1 set conflicts, not the parser.
 */
static void
test_perf(void **state)
{
	enum { BURST = 8, ROUNDS = 80000 };
	struct rte_mbuf *ms[BURST];
	uint8_t l4[20], f[128];
	uint64_t t0, t1;
	unsigned int i, j, acc = 0;
	uint32_t len;

	(void)state;
	put_tcp(l4, 1, 2, TCP_ACK);
	len = frame4(f, 0, 6, l4, 20);
	for (i = 0; i < BURST; i++) {
		ms[i] = rte_pktmbuf_alloc(pool);
		assert_non_null(ms[i]);
		put16(f + 14 + 20, (uint16_t)i);
		memcpy(rte_pktmbuf_append(ms[i], (uint16_t)len), f, len);
	}
	t0 = rte_rdtsc_precise();
	for (j = 0; j < ROUNDS; j++)
		for (i = 0; i < BURST; i++)
			acc += vfw_pkt_parse(ms[i], vfw_pkt_meta(ms[i]));
	t1 = rte_rdtsc_precise();
	assert_int_equal(acc, 0);
	print_message("parse tcp4: %.1f TSC cycles/packet\n",
		      (double)(t1 - t0) / (BURST * ROUNDS));
	for (i = 0; i < BURST; i++)
		rte_pktmbuf_free(ms[i]);
}

/* ---- setup ---- */

static int
setup(void **state)
{
	char *argv[] = {"test_pkt", "--no-huge", "--no-pci", "-m", "128",
			"--file-prefix=test_pkt", "--no-shconf", "--log-level=lib.*:error",
			"--no-telemetry"};
	const char *seed = getenv("VFW_TEST_SEED");

	(void)state;
	if (seed != NULL)
		rng_state = strtoull(seed, NULL, 0) | 1;
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_pkt", 1023, 0, VFW_MBUF_PRIV_SIZE,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return pool == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4_good),
		cmocka_unit_test(test_tcp4_options),
		cmocka_unit_test(test_udp4_good),
		cmocka_unit_test(test_icmp4),
		cmocka_unit_test(test_other_l4),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_ip4_option_list),
		cmocka_unit_test(test_l4_6),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_l2),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ip4_drops),
		cmocka_unit_test(test_tcp_drops),
		cmocka_unit_test(test_tcp_flag_table),
		cmocka_unit_test(test_udp_drops),
		cmocka_unit_test(test_icmp_error4),
		cmocka_unit_test(test_icmp_trunc),
		cmocka_unit_test(test_icmp_error6),
		cmocka_unit_test(test_icmp_inner_bad),
		cmocka_unit_test(test_frag4),
		cmocka_unit_test(test_frag6),
		cmocka_unit_test(test_ip6_drops),
		cmocka_unit_test(test_ip6_ext),
		cmocka_unit_test(test_multiseg),
		cmocka_unit_test(test_key_deterministic),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_csum_full),
		cmocka_unit_test(test_csum_incremental),
		cmocka_unit_test(test_csum_corners),
		cmocka_unit_test(test_l4_csum_verify),
		cmocka_unit_test(test_perf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
