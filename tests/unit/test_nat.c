/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/nat: port allocators and the pool registry, DNAT/SNAT
 * tables, packet rewriting and ICMP error translation. Every checksum the
 * library updates incrementally is checked against a full recomputation
 * done here from scratch (not with lib/pkt's helpers, so one bug cannot
 * hide another).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vnetfw/nat.h"

static struct rte_mempool *mp;

/* ---- small helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	/* xorshift64*: reproducible across runs and libcs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint32_t
ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct vfw_ip
vip4(const char *s)
{
	struct vfw_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.af = VFW_AF_INET;
	ip.v4 = ip4(s);
	return ip;
}

static struct vfw_prefix
pfx4(const char *s, uint8_t len)
{
	struct vfw_prefix p;

	memset(&p, 0, sizeof(p));
	p.ip = vip4(s);
	p.len = len;
	return p;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
rd32be(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v; /* network order, like the keys */
}

/* ---- reference checksums (RFC 1071), host-order results ---- */

static uint32_t
sum_bytes(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Checksum of a copy of p[0..n) with the 16-bit field at csum_off zeroed. */
static uint16_t
csum_without(const uint8_t *p, size_t n, size_t csum_off, uint32_t init)
{
	uint8_t buf[2048];

	assert_true(n <= sizeof(buf));
	memcpy(buf, p, n);
	buf[csum_off] = 0;
	buf[csum_off + 1] = 0;
	return fold(sum_bytes(buf, n, init));
}

static uint16_t
ref_ip4_csum(const uint8_t *ip)
{
	return csum_without(ip, (ip[0] & 0xf) * 4u, 10, 0);
}

/* Full L4 checksum of l4[0..l4len) for an IPv4 datagram src->dst. */
static uint16_t
ref_l4_csum(uint32_t src_be, uint32_t dst_be, uint8_t proto,
	    const uint8_t *l4, size_t l4len)
{
	uint8_t ph[12];
	uint32_t s = 0;
	uint16_t c;

	if (proto == IPPROTO_ICMP)
		return csum_without(l4, l4len, 2, 0);
	memcpy(ph, &src_be, 4);
	memcpy(ph + 4, &dst_be, 4);
	ph[8] = 0;
	ph[9] = proto;
	wr16(ph + 10, (uint16_t)l4len);
	s = sum_bytes(ph, sizeof(ph), 0);
	c = csum_without(l4, l4len, proto == IPPROTO_TCP ? 16 : 6, s);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	return c;
}

/* ---- packet builder ---- */

struct pspec {
	uint32_t src, dst;       /* network order */
	uint8_t proto;
	uint8_t ihl;             /* 5..15 */
	uint16_t sport, dport;   /* host order; ICMP: id in sport */
	uint8_t icmp_type;       /* for ICMP */
	uint16_t payload;        /* payload bytes */
	bool udp_csum0;
	uint16_t frag_off;       /* bytes, multiple of 8 */
	bool mf;
	uint16_t l4_total;       /* L4 length for the pseudo header when the
				  * datagram is fragmented (0: this packet) */
};

static size_t
l4_hdr_len(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;
}

/*
 * Write an IPv4 packet into buf; returns its length. Payload bytes are
 * random. L4 checksum computed over what is written (unfragmented case).
 */
static size_t
build_ip4(uint8_t *buf, const struct pspec *ps)
{
	size_t hl = ps->ihl * 4u, l4h = 0, len;
	uint8_t *l4 = buf + hl;
	size_t i;

	memset(buf, 0, hl);
	buf[0] = (uint8_t)(0x40 | ps->ihl);
	buf[1] = 0;
	wr16(buf + 4, (uint16_t)rnd());
	wr16(buf + 6, (uint16_t)((ps->mf ? 0x2000 : 0) | ps->frag_off / 8));
	buf[8] = 64;
	buf[9] = ps->proto;
	memcpy(buf + 12, &ps->src, 4);
	memcpy(buf + 16, &ps->dst, 4);
	for (i = 20; i < hl; i++)
		buf[i] = 1; /* NOP options */
	if (ps->frag_off == 0) {
		l4h = l4_hdr_len(ps->proto);
		if (ps->proto != IPPROTO_TCP && ps->proto != IPPROTO_UDP &&
		    ps->proto != IPPROTO_ICMP)
			l4h = 0;
		memset(l4, 0, l4h);
		switch (ps->proto) {
		case IPPROTO_TCP:
			wr16(l4, ps->sport);
			wr16(l4 + 2, ps->dport);
			wr16(l4 + 4, (uint16_t)rnd());
			l4[12] = 5 << 4;
			l4[13] = 0x18;
			wr16(l4 + 14, 65535);
			break;
		case IPPROTO_UDP:
			wr16(l4, ps->sport);
			wr16(l4 + 2, ps->dport);
			wr16(l4 + 4, (uint16_t)(8 + ps->payload));
			break;
		case IPPROTO_ICMP:
			l4[0] = ps->icmp_type;
			wr16(l4 + 4, ps->sport);
			wr16(l4 + 6, (uint16_t)rnd());
			break;
		}
	}
	for (i = 0; i < ps->payload; i++)
		l4[l4h + i] = (uint8_t)rnd();
	len = hl + l4h + ps->payload;
	wr16(buf + 2, (uint16_t)len);
	wr16(buf + 10, ref_ip4_csum(buf));
	if (ps->frag_off == 0 && l4h != 0) {
		uint16_t c = ref_l4_csum(ps->src, ps->dst, ps->proto, l4,
					 l4h + ps->payload);

		if (ps->proto == IPPROTO_TCP)
			wr16(l4 + 16, c);
		else if (ps->proto == IPPROTO_UDP)
			wr16(l4 + 6, ps->udp_csum0 ? 0 : c);
		else
			wr16(l4 + 2, c);
	}
	return len;
}

/* Put an Ethernet header (optionally with a VLAN tag) and ip into an mbuf. */
static struct rte_mbuf *
mk_mbuf(const uint8_t *ip, size_t len, bool vlan, uint16_t *l2_len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;
	size_t l2 = vlan ? 18 : 14;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(l2 + len));
	assert_non_null(p);
	memset(p, 0xaa, 12);
	if (vlan) {
		wr16(p + 12, 0x8100);
		wr16(p + 14, 7);
		wr16(p + 16, 0x0800);
	} else {
		wr16(p + 12, 0x0800);
	}
	memcpy(p + l2, ip, len);
	*l2_len = (uint16_t)l2;
	return m;
}

/* What the parser would fill for an IPv4 packet built by build_ip4. */
static void
mk_meta(struct vfw_pkt_meta *meta, const struct rte_mbuf *m, uint16_t l2_len)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, l2_len);
	const uint8_t *l4;
	uint16_t fo = rd16(ip + 6);

	memset(meta, 0, sizeof(*meta));
	meta->cls = VFW_PC_IP;
	meta->l2_len = l2_len;
	meta->l3_len = (uint16_t)((ip[0] & 0xf) * 4);
	meta->l4_len = (uint16_t)(rd16(ip + 2) - meta->l3_len);
	meta->l4proto = ip[9];
	meta->key.proto = ip[9];
	meta->key.af = VFW_AF_INET;
	meta->key.src[0] = rd32be(ip + 12);
	meta->key.dst[0] = rd32be(ip + 16);
	meta->ttl = ip[8];
	if (l2_len == 18)
		meta->flags |= VFW_PF_VLAN;
	if (meta->l3_len > 20)
		meta->flags |= VFW_PF_IP_OPTS;
	if (fo & 0x3fff)
		meta->flags |= VFW_PF_FRAG;
	if (fo & 0x1fff) {
		meta->flags |= VFW_PF_FRAG_LATER;
		meta->frag_off = (uint16_t)((fo & 0x1fff) * 8);
		return;
	}
	l4 = ip + meta->l3_len;
	switch (ip[9]) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		memcpy(&meta->key.sport, l4, 4);
		if (ip[9] == IPPROTO_UDP && rd16(l4 + 6) == 0)
			meta->flags |= VFW_PF_L4_CSUM_0;
		break;
	case IPPROTO_ICMP:
		meta->icmp_type = l4[0];
		meta->icmp_code = l4[1];
		if (l4[0] == 0 || l4[0] == 8) {
			meta->flags |= VFW_PF_ICMP_ECHO;
			memcpy(&meta->key.sport, l4 + 4, 2);
			meta->key.dport = meta->key.sport;
		} else {
			memcpy(&meta->key.sport, l4, 2);
			if (l4[0] == 3 || l4[0] == 11 || l4[0] == 12) {
				meta->flags |= VFW_PF_ICMP_ERR;
				meta->inner_off = (uint16_t)(l2_len +
					meta->l3_len + 8);
			}
		}
		break;
	}
}

static struct vfw_flow_key
mk_key(uint8_t proto, const char *src, uint16_t sport, const char *dst,
       uint16_t dport)
{
	struct vfw_flow_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.af = VFW_AF_INET;
	k.src[0] = ip4(src);
	k.dst[0] = ip4(dst);
	k.sport = htons(sport);
	k.dport = htons(dport);
	return k;
}

/* ================= allocators and registry ================= */

static void
test_pclass(void **state)
{
	(void)state;
	assert_int_equal(vfw_nat_pclass_of(IPPROTO_TCP), VFW_NAT_TCP);
	assert_int_equal(vfw_nat_pclass_of(IPPROTO_UDP), VFW_NAT_UDP);
	assert_int_equal(vfw_nat_pclass_of(IPPROTO_ICMP), VFW_NAT_ICMP);
	assert_int_equal(vfw_nat_pclass_of(IPPROTO_ICMPV6), VFW_NAT_ICMP);
	assert_int_equal(vfw_nat_pclass_of(47), VFW_NAT_PCLASS_MAX);
}

static void
test_pools_create_bad(void **state)
{
	struct vfw_nat_pools *p;

	(void)state;
	rte_errno = 0;
	assert_null(vfw_nat_pools_create(0, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	p = vfw_nat_pools_create(1, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_int_equal(vfw_nat_pool_get(p, ip4("10.0.0.1"), 10, 9),
			 -EINVAL);
	assert_null(vfw_nat_pools_worker(p, 1));
	assert_int_equal(vfw_nat_pool_info(p, 0, NULL, NULL, NULL), -ENOENT);
	/* allocation in a pool id that does not exist */
	assert_int_equal(vfw_snat_alloc(vfw_nat_pools_worker(p, 0), 3,
					VFW_NAT_TCP, 0), -EINVAL);
	assert_int_equal(vfw_snat_alloc(vfw_nat_pools_worker(p, 0), 0,
					VFW_NAT_PCLASS_MAX, 0), -EINVAL);
	vfw_nat_pools_free(p);
	vfw_nat_pools_free(NULL);
}

static void
test_alloc_exhaustion(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(2, SOCKET_ID_ANY);
	struct vfw_snat_ports *w0;
	bool seen[10] = { false };
	int id, i, port;

	(void)state;
	assert_non_null(p);
	id = vfw_nat_pool_get(p, ip4("10.0.1.4"), 1000, 1009);
	assert_int_equal(id, 0);
	w0 = vfw_nat_pools_worker(p, 0);
	for (i = 0; i < 10; i++) {
		port = vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0);
		assert_in_range(port, 1000, 1009);
		assert_false(seen[port - 1000]);
		seen[port - 1000] = true;
	}
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 1005), -ENOSPC);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), -ENOSPC);
	assert_int_equal(vfw_nat_pool_alloc_failures(p, id), 2);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 10);
	/* other classes have their own port space */
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_UDP, 1003), 1003);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_ICMP, 1003), 1003);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 12);
	/* free one: exactly that one comes back */
	vfw_snat_free(w0, id, VFW_NAT_TCP, 1004);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 11);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), 1004);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), -ENOSPC);
	/* double free and out-of-range free are ignored */
	vfw_snat_free(w0, id, VFW_NAT_TCP, 1002);
	vfw_snat_free(w0, id, VFW_NAT_TCP, 1002);
	vfw_snat_free(w0, id, VFW_NAT_TCP, 999);
	vfw_snat_free(w0, id, VFW_NAT_TCP, 1010);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 11);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), 1002);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), -ENOSPC);
	vfw_nat_pools_free(p);
}

static void
test_alloc_fifo_and_preferred(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(1, SOCKET_ID_ANY);
	struct vfw_snat_ports *w;
	int id, i, port;

	(void)state;
	assert_non_null(p);
	id = vfw_nat_pool_get(p, ip4("10.0.1.4"), 1024, 65535);
	w = vfw_nat_pools_worker(p, 0);
	/* preferred kept when free */
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 5000), 5000);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 65535), 65535);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 1024), 1024);
	/* taken: another port of the range (the head of the free list) */
	port = vfw_snat_alloc(w, id, VFW_NAT_UDP, 5000);
	assert_int_not_equal(port, 5000);
	assert_in_range(port, 1024, 65535);
	assert_int_equal(port, 1025);
	/* out of range: the head */
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 80), 1026);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 0), 1027);
	/* freed again: the preferred port is available once more */
	vfw_snat_free(w, id, VFW_NAT_UDP, 5000);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 5000), 5000);
	/* a freed port goes to the tail: not reused by the next alloc */
	vfw_snat_free(w, id, VFW_NAT_UDP, 1025);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 0), 1028);
	for (i = 0; i < 3; i++)
		assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 0),
				 1029 + i);
	/* ... but it is still available when asked for */
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 1025), 1025);
	vfw_nat_pools_free(p);
}

static void
test_alloc_small_tail(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(1, SOCKET_ID_ANY);
	struct vfw_snat_ports *w;
	int id, i;

	(void)state;
	assert_non_null(p);
	id = vfw_nat_pool_get(p, ip4("10.0.1.9"), 100, 104);
	w = vfw_nat_pools_worker(p, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 0),
				 100 + i);
	/* list was empty: frees come back in the order freed */
	vfw_snat_free(w, id, VFW_NAT_TCP, 103);
	vfw_snat_free(w, id, VFW_NAT_TCP, 100);
	vfw_snat_free(w, id, VFW_NAT_TCP, 104);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 0), 103);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 0), 100);
	/* taking the only remaining port by preference empties the list */
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 104), 104);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 0), -ENOSPC);
	/* single-port range */
	id = vfw_nat_pool_get(p, ip4("10.0.1.9"), 7, 7);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 9), 7);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 7), -ENOSPC);
	vfw_snat_free(w, id, VFW_NAT_TCP, 7);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_TCP, 7), 7);
	/* the whole 16-bit space */
	id = vfw_nat_pool_get(p, ip4("10.0.1.9"), 0, 65535);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_ICMP, 65535), 65535);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_ICMP, 0), 0);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_ICMP, 0), 1);
	vfw_nat_pools_free(p);
}

static void
test_alloc_per_worker(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(3, SOCKET_ID_ANY);
	struct vfw_snat_ports *w0, *w1, *w2;
	int id, i;

	(void)state;
	assert_non_null(p);
	id = vfw_nat_pool_get(p, ip4("10.0.1.4"), 2000, 2003);
	w0 = vfw_nat_pools_worker(p, 0);
	w1 = vfw_nat_pools_worker(p, 1);
	w2 = vfw_nat_pools_worker(p, 2);
	assert_true(w0 != w1 && w1 != w2);
	/* each worker has the full range */
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 2002), 2002);
	assert_int_equal(vfw_snat_alloc(w1, id, VFW_NAT_TCP, 2002), 2002);
	for (i = 0; i < 3; i++)
		assert_true(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0) >= 2000);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 0), -ENOSPC);
	/* w0 exhausted, the others are not */
	assert_int_equal(vfw_snat_alloc(w1, id, VFW_NAT_TCP, 0), 2000);
	assert_int_equal(vfw_snat_alloc(w2, id, VFW_NAT_TCP, 2003), 2003);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 4 + 2 + 1);
	assert_int_equal(vfw_nat_pool_alloc_failures(p, id), 1);
	/* a free on w1 does not give w0 a port */
	vfw_snat_free(w1, id, VFW_NAT_TCP, 2002);
	assert_int_equal(vfw_snat_alloc(w0, id, VFW_NAT_TCP, 2002), -ENOSPC);
	assert_int_equal(vfw_snat_alloc(w1, id, VFW_NAT_TCP, 2002), 2002);
	vfw_nat_pools_free(p);
}

#define BIG_LO 1024
#define BIG_N (65536 - BIG_LO)

static void
test_alloc_all_random_free(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(2, SOCKET_ID_ANY);
	struct vfw_snat_ports *w;
	uint16_t *order = calloc(BIG_N, sizeof(*order));
	uint8_t *seen = calloc(65536, 1);
	int id, port;
	uint32_t i, j, kept = 0;

	(void)state;
	assert_non_null(p);
	assert_non_null(order);
	assert_non_null(seen);
	id = vfw_nat_pool_get(p, ip4("10.0.1.4"), BIG_LO, 65535);
	w = vfw_nat_pools_worker(p, 1);
	for (i = 0; i < BIG_N; i++) {
		uint16_t pref = (uint16_t)rnd();

		port = vfw_snat_alloc(w, id, VFW_NAT_UDP, pref);
		assert_in_range(port, BIG_LO, 65535);
		assert_int_equal(seen[port], 0);
		seen[port] = 1;
		kept += port == pref;
		order[i] = (uint16_t)port;
	}
	/* a preference is kept whenever still free: about half of them */
	assert_true(kept > BIG_N / 3);
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 0), -ENOSPC);
	assert_int_equal(vfw_nat_pool_in_use(p, id), BIG_N);
	/* free in random order */
	for (i = BIG_N - 1; i > 0; i--) {
		uint16_t t;

		j = rnd_below(i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < BIG_N; i++)
		vfw_snat_free(w, id, VFW_NAT_UDP, order[i]);
	assert_int_equal(vfw_nat_pool_in_use(p, id), 0);
	/* allocate again: first-freed first (tail insertion), all distinct */
	memset(seen, 0, 65536);
	for (i = 0; i < BIG_N; i++) {
		port = vfw_snat_alloc(w, id, VFW_NAT_UDP, 0);
		assert_int_equal(port, order[i]);
		assert_int_equal(seen[port], 0);
		seen[port] = 1;
	}
	assert_int_equal(vfw_snat_alloc(w, id, VFW_NAT_UDP, 0), -ENOSPC);
	/* and the other worker was never touched */
	assert_int_equal(vfw_snat_alloc(vfw_nat_pools_worker(p, 0), id,
					VFW_NAT_UDP, 0), BIG_LO);
	free(order);
	free(seen);
	vfw_nat_pools_free(p);
}

static void
test_pool_registry(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(2, SOCKET_ID_ANY);
	uint32_t addr;
	uint16_t lo, hi;
	int a, b, c, i;

	(void)state;
	assert_non_null(p);
	a = vfw_nat_pool_get(p, ip4("10.0.1.4"), 1024, 65535);
	b = vfw_nat_pool_get(p, ip4("10.0.1.5"), 1024, 65535);
	c = vfw_nat_pool_get(p, ip4("10.0.1.4"), 2000, 3000);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	/* same (address, range): same id, forever */
	assert_int_equal(vfw_nat_pool_get(p, ip4("10.0.1.5"), 1024, 65535), b);
	assert_int_equal(vfw_nat_pool_get(p, ip4("10.0.1.4"), 1024, 65535), a);
	assert_int_equal(vfw_nat_pool_count(p), 3);
	assert_int_equal(vfw_nat_pool_info(p, c, &addr, &lo, &hi), 0);
	assert_int_equal(addr, ip4("10.0.1.4"));
	assert_int_equal(lo, 2000);
	assert_int_equal(hi, 3000);
	/* fill the registry with small pools */
	for (i = 3; i < VFW_NAT_MAX_POOLS; i++)
		assert_int_equal(vfw_nat_pool_get(p, htonl(0x0a630000u + i),
						  100, 109), i);
	assert_int_equal(vfw_nat_pool_get(p, ip4("10.99.255.255"), 100, 109),
			 -ENOSPC);
	/* existing ones are still found when full */
	assert_int_equal(vfw_nat_pool_get(p, ip4("10.0.1.4"), 2000, 3000), c);
	assert_int_equal(vfw_nat_pool_count(p), VFW_NAT_MAX_POOLS);
	/* and every worker has an allocator for the last one */
	assert_int_equal(vfw_snat_alloc(vfw_nat_pools_worker(p, 1),
					VFW_NAT_MAX_POOLS - 1, VFW_NAT_TCP, 105),
			 105);
	assert_int_equal(vfw_nat_pool_in_use(p, VFW_NAT_MAX_POOLS - 1), 1);
	assert_int_equal(vfw_nat_pool_in_use(p, VFW_NAT_MAX_POOLS), 0);
	vfw_nat_pools_free(p);
}

/* ================= DNAT / SNAT tables ================= */

struct test_cfg {
	struct vfw_config cfg;
	struct vfw_cfg_dnat dnat[3];
	struct vfw_cfg_snat snat[3];
	struct vfw_prefix src_a[1], exc_a[1];
	struct vfw_prefix src_b[2], dst_b[1];
	struct vfw_prefix src_c[1];
	struct vfw_ip tr_a[1], tr_b[2], tr_c[1];
};

static void
mk_dnat(struct vfw_cfg_dnat *d, const char *name, uint8_t proto,
	const char *dst, uint16_t dport, const char *to, uint16_t to_port)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->protocol = proto;
	d->destination = vip4(dst);
	d->destination_port = dport;
	d->translated_address = vip4(to);
	d->translated_port = to_port;
}

/*
 * dnat: web tcp 10.0.1.4:443 -> 10.240.1.10:8443
 *       dns udp 10.0.1.4:53  -> 10.240.1.11:5353
 *       ssh tcp 10.0.1.8:22  -> 10.240.1.12:22
 * snat: a: 10.240.1.0/24, exclude 10.0.0.0/8 -> 10.0.1.4 (1024-65535)
 *       b: 10.240.0.0/16 + 172.16.0.0/12 to 192.0.2.0/24
 *          -> 10.0.1.5, 10.0.1.6 (2000-3000)
 *       c: 10.240.0.0/16 -> 10.0.1.7 (default range)
 * cluster port 10.240.0.4/16 (hairpin)
 */
static void
mk_cfg(struct test_cfg *t)
{
	memset(t, 0, sizeof(*t));
	t->cfg.ports[VFW_PORT_VNET].address = pfx4("10.0.1.4", 24);
	t->cfg.ports[VFW_PORT_CLUSTER].address = pfx4("10.240.0.4", 16);
	mk_dnat(&t->dnat[0], "web", IPPROTO_TCP, "10.0.1.4", 443,
		"10.240.1.10", 8443);
	mk_dnat(&t->dnat[1], "dns", IPPROTO_UDP, "10.0.1.4", 53,
		"10.240.1.11", 5353);
	mk_dnat(&t->dnat[2], "ssh", IPPROTO_TCP, "10.0.1.8", 22,
		"10.240.1.12", 22);
	t->cfg.dnat = t->dnat;
	t->cfg.n_dnat = 3;

	t->src_a[0] = pfx4("10.240.1.0", 24);
	t->exc_a[0] = pfx4("10.0.0.0", 8);
	t->tr_a[0] = vip4("10.0.1.4");
	snprintf(t->snat[0].name, VFW_NAME_MAX, "a");
	t->snat[0].source = t->src_a;
	t->snat[0].n_source = 1;
	t->snat[0].exclude = t->exc_a;
	t->snat[0].n_exclude = 1;
	t->snat[0].translated_addresses = t->tr_a;
	t->snat[0].n_translated = 1;
	t->snat[0].ports.lo = 1024;
	t->snat[0].ports.hi = 65535;

	t->src_b[0] = pfx4("10.240.0.0", 16);
	t->src_b[1] = pfx4("172.16.0.0", 12);
	t->dst_b[0] = pfx4("192.0.2.0", 24);
	t->tr_b[0] = vip4("10.0.1.5");
	t->tr_b[1] = vip4("10.0.1.6");
	snprintf(t->snat[1].name, VFW_NAME_MAX, "b");
	t->snat[1].source = t->src_b;
	t->snat[1].n_source = 2;
	t->snat[1].destination = t->dst_b;
	t->snat[1].n_destination = 1;
	t->snat[1].translated_addresses = t->tr_b;
	t->snat[1].n_translated = 2;
	t->snat[1].ports.lo = 2000;
	t->snat[1].ports.hi = 3000;

	t->src_c[0] = pfx4("10.240.0.0", 16);
	t->tr_c[0] = vip4("10.0.1.7");
	snprintf(t->snat[2].name, VFW_NAME_MAX, "c");
	t->snat[2].source = t->src_c;
	t->snat[2].n_source = 1;
	t->snat[2].translated_addresses = t->tr_c;
	t->snat[2].n_translated = 1;
	t->cfg.snat = t->snat;
	t->cfg.n_snat = 3;
}

static int
dnat_q(const struct vfw_nat *nat, uint8_t proto, const char *dst,
       uint16_t dport)
{
	struct vfw_flow_key k = mk_key(proto, "198.51.100.7", 40000, dst,
				       dport);

	return vfw_nat_dnat_lookup(nat, &k);
}

static int
snat_q(const struct vfw_nat *nat, const char *src, const char *dst)
{
	struct vfw_flow_key k = mk_key(IPPROTO_TCP, src, 40000, dst, 443);

	return vfw_nat_snat_match(nat, &k);
}

static void
test_build_and_lookup(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(2, SOCKET_ID_ANY);
	struct test_cfg t;
	struct vfw_errors errs;
	struct vfw_nat *nat, *nat2;
	const struct vfw_snat_rule *r;
	const struct vfw_dnat_rule *d;
	struct vfw_flow_key k6;
	uint32_t addr;
	uint16_t lo, hi;

	(void)state;
	assert_non_null(p);
	mk_cfg(&t);
	vfw_errors_init(&errs);
	nat = vfw_nat_build(&t.cfg, "test_nat_g1", p, &errs);
	assert_non_null(nat);
	assert_int_equal(errs.n, 0);

	/* DNAT: hit by (proto, address, port), miss on any difference */
	assert_int_equal(vfw_nat_dnat_count(nat), 3);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.4", 443), 0);
	assert_int_equal(dnat_q(nat, IPPROTO_UDP, "10.0.1.4", 53), 1);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.8", 22), 2);
	assert_int_equal(dnat_q(nat, IPPROTO_UDP, "10.0.1.4", 443), -1);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.4", 53), -1);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.5", 443), -1);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.4", 444), -1);
	assert_int_equal(dnat_q(nat, IPPROTO_ICMP, "10.0.1.4", 443), -1);
	assert_int_equal(dnat_q(nat, IPPROTO_TCP, "10.0.1.8", 443), -1);
	d = vfw_nat_dnat(nat, 0);
	assert_string_equal(d->name, "web");
	assert_int_equal(d->dport, htons(443));
	assert_int_equal(d->to_addr, ip4("10.240.1.10"));
	assert_int_equal(d->to_port, htons(8443));
	assert_null(vfw_nat_dnat(nat, 3));
	memset(&k6, 0, sizeof(k6));
	k6.af = VFW_AF_INET6;
	k6.proto = IPPROTO_TCP;
	k6.dport = htons(443);
	assert_int_equal(vfw_nat_dnat_lookup(nat, &k6), -1);
	assert_int_equal(vfw_nat_snat_match(nat, &k6), -1);

	/* SNAT: source, destination, exclude, rule order */
	assert_int_equal(vfw_nat_snat_count(nat), 3);
	assert_int_equal(snat_q(nat, "10.240.1.5", "8.8.8.8"), 0);
	/* excluded from a (destination in 10/8) -> falls to c */
	assert_int_equal(snat_q(nat, "10.240.1.5", "10.1.2.3"), 2);
	/* a is first even when b would match too */
	assert_int_equal(snat_q(nat, "10.240.1.5", "192.0.2.9"), 0);
	assert_int_equal(snat_q(nat, "10.240.2.5", "192.0.2.9"), 1);
	assert_int_equal(snat_q(nat, "172.20.0.1", "192.0.2.9"), 1);
	/* b's destination list does not match: c has none for 172.20/16 */
	assert_int_equal(snat_q(nat, "172.20.0.1", "8.8.8.8"), -1);
	assert_int_equal(snat_q(nat, "10.240.2.5", "8.8.8.8"), 2);
	assert_int_equal(snat_q(nat, "10.241.0.1", "8.8.8.8"), -1);

	/* pools */
	r = vfw_nat_snat(nat, 0);
	assert_string_equal(r->name, "a");
	assert_int_equal(r->n_pools, 1);
	assert_int_equal(vfw_nat_pool_info(p, r->pool[0], &addr, &lo, &hi), 0);
	assert_int_equal(addr, ip4("10.0.1.4"));
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 65535);
	r = vfw_nat_snat(nat, 1);
	assert_int_equal(r->n_pools, 2);
	assert_int_equal(r->lo, 2000);
	assert_int_equal(r->hi, 3000);
	assert_int_equal(vfw_nat_pool_info(p, r->pool[1], &addr, &lo, &hi), 0);
	assert_int_equal(addr, ip4("10.0.1.6"));
	assert_int_equal(lo, 2000);
	r = vfw_nat_snat(nat, 2);
	assert_int_equal(r->lo, 1024); /* unset range: the default */
	assert_int_equal(r->hi, 65535);
	assert_null(vfw_nat_snat(nat, 3));
	assert_true(vfw_nat_hairpin_pool(nat) >= 0);
	assert_int_equal(vfw_nat_pool_info(p, (unsigned int)
					   vfw_nat_hairpin_pool(nat),
					   &addr, &lo, &hi), 0);
	assert_int_equal(addr, ip4("10.240.0.4"));
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 65535);
	assert_int_equal(vfw_nat_pool_count(p), 5);

	/* NAT addresses */
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.0.1.4")));
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.0.1.5")));
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.0.1.6")));
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.0.1.7")));
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.0.1.8")));
	assert_true(vfw_nat_is_nat_address(nat, ip4("10.240.0.4")));
	assert_false(vfw_nat_is_nat_address(nat, ip4("10.240.1.10")));
	assert_false(vfw_nat_is_nat_address(nat, ip4("10.0.1.9")));
	assert_false(vfw_nat_is_nat_address(nat, ip4("0.0.0.0")));
	assert_false(vfw_nat_is_nat_address(nat, ip4("255.255.255.255")));

	/* a second generation of the same config: same pool ids, and a
	 * changed rule gets a new pool while old ids keep their meaning */
	t.snat[1].ports.hi = 4000;
	nat2 = vfw_nat_build(&t.cfg, "test_nat_g2", p, &errs);
	assert_non_null(nat2);
	assert_int_equal(vfw_nat_snat(nat2, 0)->pool[0],
			 vfw_nat_snat(nat, 0)->pool[0]);
	assert_int_equal(vfw_nat_snat(nat2, 2)->pool[0],
			 vfw_nat_snat(nat, 2)->pool[0]);
	assert_int_equal(vfw_nat_hairpin_pool(nat2),
			 vfw_nat_hairpin_pool(nat));
	assert_int_not_equal(vfw_nat_snat(nat2, 1)->pool[0],
			     vfw_nat_snat(nat, 1)->pool[0]);
	assert_int_equal(vfw_nat_pool_count(p), 7);
	assert_int_equal(vfw_nat_pool_info(p, vfw_nat_snat(nat, 1)->pool[0],
					   &addr, &lo, &hi), 0);
	assert_int_equal(hi, 3000);
	vfw_nat_free(nat2);
	vfw_nat_free(nat);
	vfw_nat_free(NULL);
	vfw_errors_free(&errs);
	vfw_nat_pools_free(p);
}

static void
test_build_empty_and_errors(void **state)
{
	struct vfw_nat_pools *p = vfw_nat_pools_create(1, SOCKET_ID_ANY);
	struct vfw_config empty;
	struct vfw_errors errs;
	struct test_cfg t;
	struct vfw_nat *nat;
	struct vfw_ip v6;
	struct vfw_flow_key k;

	(void)state;
	assert_non_null(p);
	vfw_errors_init(&errs);
	/* nothing configured, no cluster address: an empty table */
	memset(&empty, 0, sizeof(empty));
	nat = vfw_nat_build(&empty, NULL, p, &errs);
	assert_non_null(nat);
	assert_int_equal(vfw_nat_dnat_count(nat), 0);
	assert_int_equal(vfw_nat_snat_count(nat), 0);
	assert_int_equal(vfw_nat_hairpin_pool(nat), -1);
	k = mk_key(IPPROTO_TCP, "10.240.1.5", 1, "10.0.1.4", 443);
	assert_int_equal(vfw_nat_dnat_lookup(nat, &k), -1);
	assert_int_equal(vfw_nat_snat_match(nat, &k), -1);
	assert_false(vfw_nat_is_nat_address(nat, ip4("10.0.1.4")));
	vfw_nat_free(nat);

	/* duplicate DNAT, reversed range, IPv6 translated address */
	mk_cfg(&t);
	t.dnat[2] = t.dnat[0];
	snprintf(t.dnat[2].name, VFW_NAME_MAX, "web2");
	t.snat[0].ports.lo = 5000;
	t.snat[0].ports.hi = 4000;
	memset(&v6, 0, sizeof(v6));
	v6.af = VFW_AF_INET6;
	v6.v6[15] = 1;
	t.tr_b[1] = v6;
	rte_errno = 0;
	nat = vfw_nat_build(&t.cfg, "test_nat_bad", p, &errs);
	assert_null(nat);
	assert_int_equal(rte_errno, EINVAL);
	assert_int_equal(errs.n, 3);
	vfw_errors_free(&errs);

	/* no pool left for a new address: ENOSPC */
	while (vfw_nat_pool_count(p) < VFW_NAT_MAX_POOLS)
		assert_true(vfw_nat_pool_get(p, htonl(0x0a630000u +
						       vfw_nat_pool_count(p)),
					     100, 101) >= 0);
	vfw_errors_init(&errs);
	mk_cfg(&t);
	nat = vfw_nat_build(&t.cfg, "test_nat_full", p, &errs);
	assert_null(nat);
	assert_int_equal(rte_errno, ENOSPC);
	assert_true(errs.n > 0);
	vfw_errors_free(&errs);
	vfw_nat_pools_free(p);
}

/* ================= rewriting ================= */

static uint16_t
l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

static void
check_rewritten(const uint8_t *before, const uint8_t *ip,
		const struct vfw_flow_key *to, uint8_t proto, bool csum0)
{
	size_t hl = (ip[0] & 0xf) * 4u, len = rd16(ip + 2);
	const uint8_t *l4 = ip + hl;
	size_t rest;
	uint16_t c;

	assert_int_equal(rd32be(ip + 12), to->src[0]);
	assert_int_equal(rd32be(ip + 16), to->dst[0]);
	assert_int_equal(rd16(ip + 10), ref_ip4_csum(ip));
	/* bytes other than addresses and checksums untouched */
	assert_memory_equal(ip, before, 10);
	assert_memory_equal(ip + 20, before + 20, hl - 20);
	c = rd16(l4 + l4_csum_off(proto));
	if (proto == IPPROTO_ICMP) {
		uint16_t id = l4[0] == 8 ? to->sport : to->dport;

		assert_int_equal(rd16(l4 + 4), ntohs(id));
		assert_memory_equal(l4, before + hl, 2);
	} else {
		assert_int_equal(rd16(l4), ntohs(to->sport));
		assert_int_equal(rd16(l4 + 2), ntohs(to->dport));
		assert_memory_equal(l4 + 4, before + hl + 4,
				    l4_csum_off(proto) - 4);
	}
	if (csum0)
		assert_int_equal(c, 0);
	else
		assert_int_equal(c, ref_l4_csum(to->src[0], to->dst[0], proto,
						l4, len - hl));
	/* after the checksum (ICMP: after the identifier) nothing changes */
	rest = proto == IPPROTO_ICMP ? 6 : l4_csum_off(proto) + 2u;
	assert_memory_equal(l4 + rest, before + hl + rest, len - hl - rest);
}

static void
test_rewrite_random(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	uint8_t pkt[1600], before[1600];
	unsigned int iter, n_csum0 = 0;

	(void)state;
	for (iter = 0; iter < 6000; iter++) {
		struct pspec ps;
		struct vfw_pkt_meta meta;
		struct vfw_flow_key to;
		struct rte_mbuf *m;
		uint16_t l2;
		size_t len;
		uint8_t *ip;

		memset(&ps, 0, sizeof(ps));
		ps.proto = protos[iter % 3];
		ps.ihl = (uint8_t)(5 + (rnd_below(4) == 0 ? rnd_below(11) : 0));
		ps.src = (uint32_t)rnd();
		ps.dst = (uint32_t)rnd();
		ps.sport = (uint16_t)rnd();
		ps.dport = (uint16_t)rnd();
		ps.icmp_type = rnd_below(2) ? 8 : 0;
		ps.payload = (uint16_t)rnd_below(rnd_below(8) == 0 ? 1400 : 64);
		ps.udp_csum0 = ps.proto == IPPROTO_UDP && rnd_below(4) == 0;
		len = build_ip4(pkt, &ps);
		/* sanity: the builder's checksums are right */
		assert_int_equal(rd16(pkt + 10), ref_ip4_csum(pkt));
		m = mk_mbuf(pkt, len, rnd_below(2), &l2);
		mk_meta(&meta, m, l2);
		ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
		memcpy(before, ip, len);

		to = meta.key;
		if (rnd_below(2))
			to.src[0] = (uint32_t)rnd();
		if (rnd_below(2))
			to.dst[0] = (uint32_t)rnd();
		if (ps.proto == IPPROTO_ICMP) {
			if (rnd_below(2))
				to.sport = to.dport = (uint16_t)rnd();
		} else {
			if (rnd_below(2))
				to.sport = (uint16_t)rnd();
			if (rnd_below(2))
				to.dport = (uint16_t)rnd();
		}
		if (iter & 4) {
			/* the session path: the reverse of the other key */
			struct vfw_flow_key peer;

			vfw_flow_key_reverse(&peer, &to);
			/* and its inline variant, which must agree */
			if (iter & 8)
				vfw_nat_rewrite_rev_fast(m, &meta, &peer);
			else
				vfw_nat_rewrite_rev(m, &meta, &peer);
		} else {
			vfw_nat_rewrite(m, &meta, &to);
		}
		check_rewritten(before, ip, &to, ps.proto, ps.udp_csum0);
		n_csum0 += ps.udp_csum0;
		assert_memory_equal(&meta.key, &to, sizeof(to));
		/* the Ethernet header is not ours */
		assert_int_equal(rd16(rte_pktmbuf_mtod_offset(m, uint8_t *,
							      12)),
				 l2 == 18 ? 0x8100 : 0x0800);
		rte_pktmbuf_free(m);
	}
	assert_true(n_csum0 > 100);
}

/* A UDP rewrite whose new checksum computes to 0 must send 0xffff. */
static void
test_rewrite_udp_csum_ffff(void **state)
{
	uint8_t pkt[256], tmp[256];
	struct pspec ps;
	struct vfw_pkt_meta meta;
	struct vfw_flow_key to;
	struct rte_mbuf *m;
	uint16_t l2, w;
	uint32_t s;
	size_t len;
	uint8_t *ip, ph[12];

	(void)state;
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_UDP;
	ps.ihl = 5;
	ps.src = ip4("10.240.1.5");
	ps.dst = ip4("198.51.100.7");
	ps.sport = 40000;
	ps.dport = 53;
	ps.payload = 10;
	len = build_ip4(pkt, &ps);
	to = mk_key(IPPROTO_UDP, "10.0.1.4", 1500, "198.51.100.7", 53);

	/* choose the first payload word so that the translated packet sums
	 * to 0xffff (its computed checksum is 0) */
	memcpy(tmp, pkt, len);
	memcpy(tmp + 12, &to.src[0], 4);
	wr16(tmp + 20, 1500);
	wr16(tmp + 28, 0);
	memcpy(ph, &to.src[0], 4);
	memcpy(ph + 4, &to.dst[0], 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	wr16(ph + 10, 18);
	s = sum_bytes(ph, 12, 0);
	tmp[26] = tmp[27] = 0;
	s = sum_bytes(tmp + 20, 18, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	w = (uint16_t)(0xffff - s);
	wr16(pkt + 28, w);
	wr16(pkt + 26, ref_l4_csum(ps.src, ps.dst, IPPROTO_UDP, pkt + 20, 18));

	m = mk_mbuf(pkt, len, false, &l2);
	mk_meta(&meta, m, l2);
	vfw_nat_rewrite(m, &meta, &to);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
	assert_int_equal(rd16(ip + 26), 0xffff);
	assert_int_equal(ref_l4_csum(to.src[0], to.dst[0], IPPROTO_UDP,
				     ip + 20, 18), 0xffff);
	rte_pktmbuf_free(m);

	/* the same through the session path's inline rewrite */
	{
		struct vfw_flow_key peer;

		vfw_flow_key_reverse(&peer, &to);
		m = mk_mbuf(pkt, len, false, &l2);
		mk_meta(&meta, m, l2);
		vfw_nat_rewrite_rev_fast(m, &meta, &peer);
		ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
		assert_int_equal(rd16(ip + 26), 0xffff);
		assert_memory_equal(&meta.key, &to, sizeof(to));
		rte_pktmbuf_free(m);
	}
}

/* to == current tuple: nothing is touched, even a wrong checksum. */
static void
test_rewrite_noop(void **state)
{
	uint8_t pkt[256], before[256];
	struct pspec ps;
	struct vfw_pkt_meta meta;
	struct vfw_flow_key to;
	struct rte_mbuf *m;
	uint16_t l2;
	size_t len;
	uint8_t *ip;

	(void)state;
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_TCP;
	ps.ihl = 5;
	ps.src = ip4("10.240.1.5");
	ps.dst = ip4("198.51.100.7");
	ps.sport = 40000;
	ps.dport = 443;
	ps.payload = 20;
	len = build_ip4(pkt, &ps);
	wr16(pkt + 10, 0x1234);
	wr16(pkt + 36, 0x4321);
	m = mk_mbuf(pkt, len, false, &l2);
	mk_meta(&meta, m, l2);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
	memcpy(before, ip, len);
	to = meta.key;
	vfw_nat_rewrite(m, &meta, &to);
	assert_memory_equal(ip, before, len);
	rte_pktmbuf_free(m);
}

/* Protocols without ports: addresses and IP checksum only. */
static void
test_rewrite_other_proto(void **state)
{
	uint8_t pkt[256], before[256];
	struct pspec ps;
	struct vfw_pkt_meta meta;
	struct vfw_flow_key to;
	struct rte_mbuf *m;
	uint16_t l2;
	size_t len;
	uint8_t *ip;

	(void)state;
	memset(&ps, 0, sizeof(ps));
	ps.proto = 47; /* GRE */
	ps.ihl = 5;
	ps.src = ip4("10.240.1.5");
	ps.dst = ip4("198.51.100.7");
	ps.payload = 40;
	len = build_ip4(pkt, &ps);
	m = mk_mbuf(pkt, len, true, &l2);
	mk_meta(&meta, m, l2);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
	memcpy(before, ip, len);
	to = meta.key;
	to.src[0] = ip4("10.0.1.4");
	vfw_nat_rewrite(m, &meta, &to);
	assert_int_equal(rd32be(ip + 12), to.src[0]);
	assert_int_equal(rd16(ip + 10), ref_ip4_csum(ip));
	assert_memory_equal(ip + 20, before + 20, len - 20);
	rte_pktmbuf_free(m);

	/* ICMP other than echo: addresses only */
	ps.proto = IPPROTO_ICMP;
	ps.icmp_type = 13; /* timestamp */
	len = build_ip4(pkt, &ps);
	m = mk_mbuf(pkt, len, false, &l2);
	mk_meta(&meta, m, l2);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, l2);
	memcpy(before, ip, len);
	to = meta.key;
	to.dst[0] = ip4("10.240.1.10");
	vfw_nat_rewrite(m, &meta, &to);
	assert_int_equal(rd32be(ip + 16), to.dst[0]);
	assert_int_equal(rd16(ip + 10), ref_ip4_csum(ip));
	assert_memory_equal(ip + 20, before + 20, len - 20);
	assert_int_equal(rd16(ip + 22), ref_l4_csum(0, 0, IPPROTO_ICMP,
						    ip + 20, len - 20));
	rte_pktmbuf_free(m);
}

/*
 * A fragmented datagram: the first fragment's L4 checksum (which covers
 * the whole datagram) must be valid for the reassembled, translated
 * datagram; the later fragment only changes addresses.
 */
static void
frag_case(uint8_t proto)
{
	uint8_t whole[512], f1[512], f2[512], re[512], f2_before[512];
	struct pspec ps;
	struct vfw_pkt_meta meta1, meta2;
	struct vfw_flow_key to;
	struct rte_mbuf *m1, *m2;
	size_t len, l4len, cut = 32, n1, n2;
	uint16_t l2a, l2b;
	uint8_t *ip1, *ip2;

	memset(&ps, 0, sizeof(ps));
	ps.proto = proto;
	ps.ihl = 5;
	ps.src = ip4("10.240.1.5");
	ps.dst = ip4("198.51.100.7");
	ps.sport = 40000;
	ps.dport = 4789;
	ps.payload = 100;
	len = build_ip4(whole, &ps);
	l4len = len - 20;
	/* fragment 1: header + first `cut` L4 bytes, MF set */
	memcpy(f1, whole, 20 + cut);
	wr16(f1 + 2, (uint16_t)(20 + cut));
	wr16(f1 + 6, 0x2000);
	wr16(f1 + 10, ref_ip4_csum(f1));
	n1 = 20 + cut;
	/* fragment 2: the rest at offset cut */
	memcpy(f2, whole, 20);
	memcpy(f2 + 20, whole + 20 + cut, l4len - cut);
	wr16(f2 + 2, (uint16_t)(20 + l4len - cut));
	wr16(f2 + 6, (uint16_t)(cut / 8));
	wr16(f2 + 10, ref_ip4_csum(f2));
	n2 = 20 + l4len - cut;

	to = mk_key(proto, "10.0.1.4", 1500, "198.51.100.9", 4790);
	m1 = mk_mbuf(f1, n1, false, &l2a);
	m2 = mk_mbuf(f2, n2, true, &l2b);
	mk_meta(&meta1, m1, l2a);
	mk_meta(&meta2, m2, l2b);
	assert_true(meta2.flags & VFW_PF_FRAG_LATER);
	/* the key of a later fragment gets its ports from the first one */
	meta2.key.sport = meta1.key.sport;
	meta2.key.dport = meta1.key.dport;
	ip1 = rte_pktmbuf_mtod_offset(m1, uint8_t *, l2a);
	ip2 = rte_pktmbuf_mtod_offset(m2, uint8_t *, l2b);
	memcpy(f2_before, ip2, n2);
	vfw_nat_rewrite(m1, &meta1, &to);
	vfw_nat_rewrite(m2, &meta2, &to);

	assert_int_equal(rd16(ip1 + 10), ref_ip4_csum(ip1));
	assert_int_equal(rd16(ip2 + 10), ref_ip4_csum(ip2));
	assert_int_equal(rd32be(ip2 + 12), to.src[0]);
	assert_int_equal(rd32be(ip2 + 16), to.dst[0]);
	/* later fragment's payload is not an L4 header: untouched */
	assert_memory_equal(ip2 + 20, f2_before + 20, n2 - 20);
	/* reassemble and verify */
	memcpy(re, ip1 + 20, cut);
	memcpy(re + cut, ip2 + 20, l4len - cut);
	assert_int_equal(rd16(re), 1500);
	assert_int_equal(rd16(re + 2), 4790);
	assert_int_equal(rd16(re + l4_csum_off(proto)),
			 ref_l4_csum(to.src[0], to.dst[0], proto, re, l4len));
	rte_pktmbuf_free(m1);
	rte_pktmbuf_free(m2);
}

static void
test_rewrite_fragments(void **state)
{
	(void)state;
	frag_case(IPPROTO_UDP);
	frag_case(IPPROTO_TCP);
}

/* ================= ICMP errors ================= */

/*
 * Build an ICMP error from `from` to `to_addr` quoting `quote` bytes of the
 * packet inner[0..inner_len) (all of it when quote == 0).
 */
static struct rte_mbuf *
mk_icmp_error(uint32_t from, uint32_t to_addr, uint8_t type, uint8_t code,
	      const uint8_t *inner, size_t inner_len, size_t quote,
	      struct vfw_pkt_meta *meta)
{
	uint8_t pkt[1600];
	struct rte_mbuf *m;
	size_t len, q = quote ? quote : inner_len;
	uint16_t l2;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	wr16(pkt + 2, (uint16_t)(28 + q));
	pkt[8] = 64;
	pkt[9] = IPPROTO_ICMP;
	memcpy(pkt + 12, &from, 4);
	memcpy(pkt + 16, &to_addr, 4);
	wr16(pkt + 10, ref_ip4_csum(pkt));
	pkt[20] = type;
	pkt[21] = code;
	memcpy(pkt + 28, inner, q);
	len = 28 + q;
	wr16(pkt + 22, ref_l4_csum(0, 0, IPPROTO_ICMP, pkt + 20, len - 20));
	m = mk_mbuf(pkt, len, false, &l2);
	mk_meta(meta, m, l2);
	assert_true(meta->flags & VFW_PF_ICMP_ERR);
	return m;
}

/* Every checksum of an (IPv4, no options) ICMP error packet is right. */
static void
check_icmp_error(const uint8_t *ip, bool inner_whole)
{
	size_t len = rd16(ip + 2);
	const uint8_t *in = ip + 28, *il4;
	size_t ihl = (in[0] & 0xf) * 4u;

	assert_int_equal(rd16(ip + 10), ref_ip4_csum(ip));
	assert_int_equal(rd16(ip + 22),
			 ref_l4_csum(0, 0, IPPROTO_ICMP, ip + 20, len - 20));
	assert_int_equal(rd16(in + 10), ref_ip4_csum(in));
	if (!inner_whole)
		return;
	il4 = in + ihl;
	if (in[9] == IPPROTO_UDP && rd16(il4 + 6) == 0)
		return;
	assert_int_equal(rd16(il4 + l4_csum_off(in[9])),
			 ref_l4_csum(rd32be(in + 12), rd32be(in + 16), in[9],
				     il4, rd16(in + 2) - ihl));
}

static void
mk_session(struct vfw_session *s, const struct vfw_flow_key *orig,
	   const struct vfw_flow_key *reply)
{
	memset(s, 0, sizeof(*s));
	s->orig = *orig;
	s->reply = *reply;
	s->state = VFW_CT_UDP;
}

/* SNAT UDP: A:40000 -> B:53 leaves as A':1500 -> B:53; B answers with
 * port unreachable to A'. */
static void
test_icmp_err_snat_udp(void **state)
{
	uint8_t inner[128];
	struct pspec ps;
	struct vfw_session s;
	struct vfw_flow_key o, r, emb;
	struct vfw_pkt_meta meta;
	struct rte_mbuf *m;
	size_t ilen;
	uint8_t *ip, *in;
	int csum0;

	(void)state;
	o = mk_key(IPPROTO_UDP, "10.240.1.5", 40000, "198.51.100.7", 53);
	r = mk_key(IPPROTO_UDP, "198.51.100.7", 53, "10.0.1.4", 1500);
	mk_session(&s, &o, &r);
	for (csum0 = 0; csum0 < 2; csum0++) {
		memset(&ps, 0, sizeof(ps));
		ps.proto = IPPROTO_UDP;
		ps.ihl = 5;
		ps.src = ip4("10.0.1.4");
		ps.dst = ip4("198.51.100.7");
		ps.sport = 1500;
		ps.dport = 53;
		ps.payload = 13;
		ps.udp_csum0 = csum0;
		ilen = build_ip4(inner, &ps);
		m = mk_icmp_error(ip4("198.51.100.7"), ip4("10.0.1.4"), 3, 3,
				  inner, ilen, 0, &meta);
		ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
		in = ip + 28;
		/* what the caller does: the embedded key's reverse finds the
		 * session by its reply key, so the embedded packet went in
		 * the orig direction */
		memset(&emb, 0, sizeof(emb));
		vfw_flow_key_reverse(&emb, &r);
		assert_int_equal(rd32be(in + 12), emb.src[0]);
		assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), 0);
		/* outer: from B (the destination, untranslated) to A */
		assert_int_equal(rd32be(ip + 12), ip4("198.51.100.7"));
		assert_int_equal(rd32be(ip + 16), ip4("10.240.1.5"));
		assert_int_equal(meta.key.dst[0], ip4("10.240.1.5"));
		assert_int_equal(meta.key.src[0], ip4("198.51.100.7"));
		/* embedded: A:40000 -> B:53, as A sent it */
		assert_int_equal(rd32be(in + 12), ip4("10.240.1.5"));
		assert_int_equal(rd32be(in + 16), ip4("198.51.100.7"));
		assert_int_equal(rd16(in + 20), 40000);
		assert_int_equal(rd16(in + 22), 53);
		check_icmp_error(ip, true);
		if (csum0)
			assert_int_equal(rd16(in + 26), 0);
		rte_pktmbuf_free(m);
	}
}

/* DNAT TCP: C:51000 -> P:443 goes to S:8443; a router in the cluster
 * network sends time exceeded to C. */
static void
test_icmp_err_dnat_tcp(void **state)
{
	uint8_t inner[128];
	struct pspec ps;
	struct vfw_session s;
	struct vfw_flow_key o, r;
	struct vfw_pkt_meta meta;
	struct rte_mbuf *m;
	size_t ilen, quote;
	uint8_t *ip, *in;

	(void)state;
	o = mk_key(IPPROTO_TCP, "203.0.113.9", 51000, "10.0.1.4", 443);
	r = mk_key(IPPROTO_TCP, "10.240.1.10", 8443, "203.0.113.9", 51000);
	mk_session(&s, &o, &r);
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_TCP;
	ps.ihl = 5;
	ps.src = ip4("203.0.113.9");
	ps.dst = ip4("10.240.1.10");
	ps.sport = 51000;
	ps.dport = 8443;
	ps.payload = 0;
	ilen = build_ip4(inner, &ps);
	/* quote 8 bytes of TCP (RFC 792 minimum), then the whole segment */
	for (quote = 28; quote <= ilen; quote += ilen - 28) {
		m = mk_icmp_error(ip4("10.240.0.1"), ip4("203.0.113.9"), 11, 0,
				  inner, ilen, quote, &meta);
		ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
		in = ip + 28;
		assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), 0);
		/* outer: router and client keep their addresses */
		assert_int_equal(rd32be(ip + 12), ip4("10.240.0.1"));
		assert_int_equal(rd32be(ip + 16), ip4("203.0.113.9"));
		/* embedded: C:51000 -> P:443 */
		assert_int_equal(rd32be(in + 12), ip4("203.0.113.9"));
		assert_int_equal(rd32be(in + 16), ip4("10.0.1.4"));
		assert_int_equal(rd16(in + 20), 51000);
		assert_int_equal(rd16(in + 22), 443);
		/* the rest of the quoted TCP header is unchanged */
		assert_memory_equal(in + 24, inner + 24, 4);
		check_icmp_error(ip, quote == ilen);
		rte_pktmbuf_free(m);
		if (quote == ilen)
			break;
	}
}

/* Hairpin: C (cluster) -> P:53 is DNATed to S:5353 and SNATed to Q:2048.
 * S answers port unreachable to Q: the client must see it from P. */
static void
test_icmp_err_hairpin(void **state)
{
	uint8_t inner[128];
	struct pspec ps;
	struct vfw_session s;
	struct vfw_flow_key o, r;
	struct vfw_pkt_meta meta;
	struct rte_mbuf *m;
	size_t ilen;
	uint8_t *ip, *in;

	(void)state;
	o = mk_key(IPPROTO_UDP, "10.240.2.7", 33333, "10.0.1.4", 53);
	r = mk_key(IPPROTO_UDP, "10.240.1.11", 5353, "10.240.0.4", 2048);
	mk_session(&s, &o, &r);
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_UDP;
	ps.ihl = 6; /* with an option: the quoted header is longer */
	ps.src = ip4("10.240.0.4");
	ps.dst = ip4("10.240.1.11");
	ps.sport = 2048;
	ps.dport = 5353;
	ps.payload = 30;
	ilen = build_ip4(inner, &ps);
	m = mk_icmp_error(ip4("10.240.1.11"), ip4("10.240.0.4"), 3, 3,
			  inner, ilen, 0, &meta);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
	in = ip + 28;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), 0);
	assert_int_equal(rd32be(ip + 12), ip4("10.0.1.4"));
	assert_int_equal(rd32be(ip + 16), ip4("10.240.2.7"));
	assert_int_equal(rd32be(in + 12), ip4("10.240.2.7"));
	assert_int_equal(rd32be(in + 16), ip4("10.0.1.4"));
	assert_int_equal(rd16(in + 24), 33333);
	assert_int_equal(rd16(in + 26), 53);
	check_icmp_error(ip, true);
	rte_pktmbuf_free(m);
}

/* An error about a reply-direction packet (d = 1): B:53 -> A:40000 was
 * delivered, A's host answers port unreachable; B must see it come from
 * A':1500. */
static void
test_icmp_err_reply_dir(void **state)
{
	uint8_t inner[128];
	struct pspec ps;
	struct vfw_session s;
	struct vfw_flow_key o, r;
	struct vfw_pkt_meta meta;
	struct rte_mbuf *m;
	size_t ilen;
	uint8_t *ip, *in;

	(void)state;
	o = mk_key(IPPROTO_UDP, "10.240.1.5", 40000, "198.51.100.7", 53);
	r = mk_key(IPPROTO_UDP, "198.51.100.7", 53, "10.0.1.4", 1500);
	mk_session(&s, &o, &r);
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_UDP;
	ps.ihl = 5;
	ps.src = ip4("198.51.100.7");
	ps.dst = ip4("10.240.1.5");
	ps.sport = 53;
	ps.dport = 40000;
	ps.payload = 50;
	ilen = build_ip4(inner, &ps);
	m = mk_icmp_error(ip4("10.240.1.5"), ip4("198.51.100.7"), 3, 3,
			  inner, ilen, 0, &meta);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
	in = ip + 28;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 1), 0);
	assert_int_equal(rd32be(ip + 12), ip4("10.0.1.4"));
	assert_int_equal(rd32be(ip + 16), ip4("198.51.100.7"));
	assert_int_equal(rd32be(in + 12), ip4("198.51.100.7"));
	assert_int_equal(rd32be(in + 16), ip4("10.0.1.4"));
	assert_int_equal(rd16(in + 20), 53);
	assert_int_equal(rd16(in + 22), 1500);
	check_icmp_error(ip, true);
	rte_pktmbuf_free(m);
}

/* Time exceeded about a SNATed ping: the identifier goes back too. */
static void
test_icmp_err_echo(void **state)
{
	uint8_t inner[128];
	struct pspec ps;
	struct vfw_session s;
	struct vfw_flow_key o, r;
	struct vfw_pkt_meta meta;
	struct rte_mbuf *m;
	size_t ilen;
	uint8_t *ip, *in;

	(void)state;
	o = mk_key(IPPROTO_ICMP, "10.240.1.5", 77, "198.51.100.7", 77);
	r = mk_key(IPPROTO_ICMP, "198.51.100.7", 1030, "10.0.1.4", 1030);
	mk_session(&s, &o, &r);
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_ICMP;
	ps.icmp_type = 8;
	ps.ihl = 5;
	ps.src = ip4("10.0.1.4");
	ps.dst = ip4("198.51.100.7");
	ps.sport = 1030;
	ps.payload = 16;
	ilen = build_ip4(inner, &ps);
	m = mk_icmp_error(ip4("192.0.2.1"), ip4("10.0.1.4"), 11, 0,
			  inner, ilen, 0, &meta);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
	in = ip + 28;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), 0);
	assert_int_equal(rd32be(ip + 12), ip4("192.0.2.1"));
	assert_int_equal(rd32be(ip + 16), ip4("10.240.1.5"));
	assert_int_equal(rd32be(in + 12), ip4("10.240.1.5"));
	assert_int_equal(rd16(in + 24), 77);
	check_icmp_error(ip, true);
	rte_pktmbuf_free(m);
}

static void
test_icmp_err_rejects(void **state)
{
	uint8_t inner[128], before[256];
	struct pspec ps;
	struct vfw_session s, same;
	struct vfw_flow_key o, r, rr;
	struct vfw_pkt_meta meta, meta0;
	struct rte_mbuf *m;
	size_t ilen, len;
	uint8_t *ip;

	(void)state;
	o = mk_key(IPPROTO_UDP, "10.240.1.5", 40000, "198.51.100.7", 53);
	r = mk_key(IPPROTO_UDP, "198.51.100.7", 53, "10.0.1.4", 1500);
	mk_session(&s, &o, &r);
	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_UDP;
	ps.ihl = 5;
	ps.src = ip4("10.0.1.4");
	ps.dst = ip4("198.51.100.7");
	ps.sport = 1500;
	ps.dport = 53;
	ps.payload = 8;
	ilen = build_ip4(inner, &ps);
	m = mk_icmp_error(ip4("198.51.100.7"), ip4("10.0.1.4"), 3, 3,
			  inner, ilen, 0, &meta);
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta.l2_len);
	len = rte_pktmbuf_data_len(m) - meta.l2_len;
	memcpy(before, ip, len);
	meta0 = meta;

	/* wrong direction: the embedded packet does not match */
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 1), -EINVAL);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 2), -EINVAL);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, NULL, 0), -EINVAL);
	/* a session whose ports differ */
	rr = r;
	rr.dport = htons(1501);
	mk_session(&same, &o, &rr);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &same, 0), -EINVAL);
	/* a session of another protocol */
	same.orig.proto = same.reply.proto = IPPROTO_TCP;
	same.reply.dport = r.dport;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &same, 0), -EINVAL);
	assert_memory_equal(ip, before, len);

	/* not an error type */
	ip[20] = 8;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	ip[20] = 4; /* source quench: deprecated, not translated */
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	ip[20] = 3;
	/* outer destination is not the quoted packet's source */
	memcpy(ip + 16, &o.dst[0], 4);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	memcpy(ip, before, len);
	/* truncated inside the embedded header (data_len) */
	rte_pktmbuf_trim(m, (uint16_t)(len - 40));
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	/* the IP total length cuts the quote short of 8 L4 bytes */
	rte_pktmbuf_append(m, (uint16_t)(len - 40));
	memcpy(ip, before, len);
	wr16(ip + 2, 28 + 20 + 4);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	memcpy(ip, before, len);
	/* a later fragment carries no ICMP header */
	meta.flags |= VFW_PF_FRAG_LATER;
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), -EINVAL);
	meta = meta0;
	assert_memory_equal(ip, before, len);

	/* an untranslated session: nothing to do, nothing touched */
	vfw_flow_key_reverse(&rr, &o);
	mk_session(&same, &o, &rr);
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &same, 0), 0);
	assert_memory_equal(ip, before, len);
	assert_memory_equal(&meta, &meta0, sizeof(meta));

	/* and the real session still works on the untouched packet */
	assert_int_equal(vfw_nat_icmp_error(m, &meta, &s, 0), 0);
	check_icmp_error(ip, true);
	rte_pktmbuf_free(m);
}

int
main(void)
{
	char *eal_args[] = { "test_nat", "--no-huge", "--no-pci", "-m", "256",
			     "--file-prefix=test_nat", "--no-shconf",
			     "--log-level=lib.*:error", "--no-telemetry" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pclass),
		cmocka_unit_test(test_pools_create_bad),
		cmocka_unit_test(test_alloc_exhaustion),
		cmocka_unit_test(test_alloc_fifo_and_preferred),
		cmocka_unit_test(test_alloc_small_tail),
		cmocka_unit_test(test_alloc_per_worker),
		cmocka_unit_test(test_alloc_all_random_free),
		cmocka_unit_test(test_pool_registry),
		cmocka_unit_test(test_build_and_lookup),
		cmocka_unit_test(test_build_empty_and_errors),
		cmocka_unit_test(test_rewrite_random),
		cmocka_unit_test(test_rewrite_udp_csum_ffff),
		cmocka_unit_test(test_rewrite_noop),
		cmocka_unit_test(test_rewrite_other_proto),
		cmocka_unit_test(test_rewrite_fragments),
		cmocka_unit_test(test_icmp_err_snat_udp),
		cmocka_unit_test(test_icmp_err_dnat_tcp),
		cmocka_unit_test(test_icmp_err_hairpin),
		cmocka_unit_test(test_icmp_err_reply_dir),
		cmocka_unit_test(test_icmp_err_echo),
		cmocka_unit_test(test_icmp_err_rejects),
	};
	int rc;

	if (rte_eal_init(RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	mp = rte_pktmbuf_pool_create("test_nat_mp", 255, 0,
				     VFW_MBUF_PRIV_SIZE,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return rc;
}
