/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Appliance-generated ICMP errors and egress fragmentation (lib/dataplane
 * icmp_gen.c, frag.c), through the real pipeline (vfw_dp_process with a
 * tx hook), on randomized packets:
 *  - time exceeded through SNAT and DNAT quotes, byte for byte, the packet
 *    its sender sent (NAT undone, checksums included), for TCP, UDP and
 *    ICMP echo of random ports, identifiers and lengths;
 *  - fragmentation needed carries the egress MTU;
 *  - fragments of random datagrams reassemble to the datagram as it is
 *    forwarded (TTL - 1, SNAT applied, L4 checksum valid);
 *  - the token bucket: burst, refill, cap, rate 0.
 * VFW_TEST_SEED sets the random seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "vnetfw/dataplane.h"
#include "../../lib/dataplane/dp_private.h"

static const char policy[] =
	"ports:\n"
	"  vnet: {device: t0, address: 10.0.1.4/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n"
	"  cluster: {device: t1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n"
	"vnet_prefixes: [10.0.0.0/8]\n"
	"neighbors:\n"
	"  - {address: 10.0.1.1, mac: \"02:00:00:00:bb:01\"}\n"
	"  - {address: 10.0.1.10, mac: \"02:00:00:00:bb:0a\"}\n"
	"  - {address: 10.240.1.10, mac: \"02:00:00:00:cc:0a\"}\n"
	"security_rules:\n"
	"  - {name: in, priority: 100, direction: inbound, access: allow, protocol: any,\n"
	"     source: [any], destination: [any]}\n"
	"  - {name: out, priority: 100, direction: outbound, access: allow, protocol: any,\n"
	"     source: [any], destination: [any]}\n"
	"nat:\n"
	"  dnat: [{name: pub, protocol: tcp, destination: 10.0.1.4, destination_port: 8080,\n"
	"          translated_address: 10.240.1.10, translated_port: 80},\n"
	"         {name: pubu, protocol: udp, destination: 10.0.1.4, destination_port: 5300,\n"
	"          translated_address: 10.240.1.10, translated_port: 5353}]\n"
	"  snat: [{name: out, source: [10.240.0.0/16], exclude: [10.0.0.0/8],\n"
	"          translated_addresses: [10.0.1.4], ports: 1024-65535}]\n"
	"conntrack: {max_sessions: 65536, tcp_loose: true}\n";

#define MTU 1500
#define MAX_OUT 64

static struct {
	struct rte_mempool *pool;
	struct vfw_dp *dp;
	struct vfw_worker *w;
	struct vfw_config *cfg;
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct rte_mbuf *out[VFW_PORT_MAX][MAX_OUT];
	unsigned int n_out[VFW_PORT_MAX];
} T;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void
sink(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	(void)arg;
	for (i = 0; i < n; i++) {
		if (T.n_out[role] < MAX_OUT)
			T.out[role][T.n_out[role]++] = pkts[i];
		else
			rte_pktmbuf_free(pkts[i]);
	}
}

static void
out_clear(void)
{
	unsigned int r, i;

	for (r = 0; r < VFW_PORT_MAX; r++) {
		for (i = 0; i < T.n_out[r]; i++)
			rte_pktmbuf_free(T.out[r][i]);
		T.n_out[r] = 0;
	}
}

static uint32_t
ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32((uint32_t)a << 24 | (uint32_t)b << 16 |
				(uint32_t)c << 8 | d);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* one's-complement sum of len bytes, folded (0xffff: a valid checksum) */
static uint16_t
sum16(const uint8_t *p, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static bool
l4_csum_valid(const uint8_t *ip)
{
	unsigned int hl = (ip[0] & 15u) * 4, tot = get16(ip + 2);
	uint32_t s = 0;

	if (ip[9] == IPPROTO_ICMP)
		return sum16(ip + hl, tot - hl, 0) == 0xffff;
	if (ip[9] == IPPROTO_UDP && get16(ip + hl + 6) == 0)
		return true;
	s = (uint32_t)get16(ip + 12) + get16(ip + 14) + get16(ip + 16) +
	    get16(ip + 18) + ip[9] + (tot - hl);
	return sum16(ip + hl, tot - hl, s) == 0xffff;
}

/*
 * An IPv4 packet into buf: proto with random ports (or echo identifier),
 * payload of plen random bytes, checksums computed. Returns its length.
 */
static unsigned int
build_ip(uint8_t *ip, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
	 uint16_t dport, unsigned int plen, uint8_t ttl, bool df)
{
	unsigned int l4len = proto == IPPROTO_TCP ? 20 : 8, i, tot;
	uint8_t *l4 = ip + 20;
	uint16_t c;

	tot = 20 + l4len + plen;
	memset(ip, 0, 20 + l4len);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, (uint16_t)rnd());
	put16(ip + 6, df ? 0x4000 : 0);
	ip[8] = ttl;
	ip[9] = proto;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	for (i = 0; i < plen; i++)
		l4[l4len + i] = (uint8_t)rnd();
	if (proto == IPPROTO_ICMP) {
		l4[0] = 8;
		put16(l4 + 4, sport);
		put16(l4 + 6, (uint16_t)rnd());
	} else {
		put16(l4, sport);
		put16(l4 + 2, dport);
		if (proto == IPPROTO_UDP) {
			put16(l4 + 4, (uint16_t)(8 + plen));
		} else {
			put16(l4 + 4, (uint16_t)rnd());
			l4[12] = 0x50;
			l4[13] = 0x02;  /* SYN */
			put16(l4 + 14, 64240);
		}
	}
	c = vfw_l4_csum4(src, dst, proto, l4, l4len + plen);
	memcpy(l4 + (proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2), &c, 2);
	c = vfw_ip4_csum(ip, 20);
	memcpy(ip + 10, &c, 2);
	return tot;
}

/* Run one frame (ip of len bytes) arriving on port role through the
 * pipeline; outputs land in T.out. */
static void
run(uint8_t role, const uint8_t *ip, unsigned int len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(T.pool);
	struct rte_ether_hdr *eth;
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*eth) + len));
	assert_non_null(d);
	eth = (struct rte_ether_hdr *)d;
	eth->dst_addr = T.cfg->ports[role].mac;
	memset(&eth->src_addr, 0x0e, sizeof(eth->src_addr));
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memcpy(d + sizeof(*eth), ip, len);
	m->port = role;
	vfw_dp_process(T.w, &m, 1, rte_rdtsc());
	vfw_dp_flush(T.w);
}

static const uint8_t *
out_ip(unsigned int role, unsigned int i)
{
	return rte_pktmbuf_mtod_offset(T.out[role][i], const uint8_t *,
				       RTE_ETHER_HDR_LEN);
}

static void
refill(void)
{
	vfw_tb_init(&T.w->icmp_tb, rte_get_tsc_hz(), VFW_ICMP_ERR_RATE,
		    VFW_ICMP_ERR_BURST, rte_rdtsc());
}

/* ---- tests ---- */

static void
test_token_bucket(void **state)
{
	struct vfw_token_bucket tb;
	uint64_t hz = 1000000, t = 5000;
	int i;

	(void)state;
	vfw_tb_init(&tb, hz, 100, 3, t);   /* 10000 cycles per token */
	for (i = 0; i < 3; i++)
		assert_true(vfw_tb_take(&tb, t));
	assert_false(vfw_tb_take(&tb, t));
	assert_false(vfw_tb_take(&tb, t + 9999));
	assert_true(vfw_tb_take(&tb, t + 10000));
	assert_false(vfw_tb_take(&tb, t + 10000));
	/* a long idle time fills the bucket to its burst, no more */
	t += 10000000;
	for (i = 0; i < 3; i++)
		assert_true(vfw_tb_take(&tb, t));
	assert_false(vfw_tb_take(&tb, t));
	/* time going backwards (another TSC) takes nothing away */
	assert_false(vfw_tb_take(&tb, t - 100000));
	assert_true(vfw_tb_take(&tb, t + 10000));
	vfw_tb_init(&tb, hz, 0, 50, t);
	assert_false(vfw_tb_take(&tb, t + 100000000));
}

/* Check the one error out on role about the packet orig (as sent). */
static void
check_error(unsigned int role, const uint8_t *orig, unsigned int olen,
	    uint32_t from, uint8_t type, uint8_t code, uint16_t mtu)
{
	const uint8_t *e, *icmp;
	unsigned int q = olen < 548 ? olen : 548, tot;

	assert_int_equal(T.n_out[role], 1);
	assert_int_equal(T.n_out[1 - role], 0);
	e = out_ip(role, 0);
	tot = get16(e + 2);
	assert_int_equal(tot, 28 + q);
	assert_int_equal(sum16(e, 20, 0), 0xffff);
	assert_memory_equal(e + 12, &from, 4);
	assert_memory_equal(e + 16, orig + 12, 4);   /* to the sender */
	assert_int_equal(e[8], 64);
	icmp = e + 20;
	assert_int_equal(icmp[0], type);
	assert_int_equal(icmp[1], code);
	assert_int_equal(get16(icmp + 6), mtu);
	assert_int_equal(sum16(icmp, tot - 20, 0), 0xffff);
	/* the quote: the packet exactly as its sender sent it */
	assert_memory_equal(icmp + 8, orig, q);
}

static void
test_time_exceeded_nat(void **state)
{
	static uint8_t ip[2048];
	const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	uint32_t server = ip4(10, 240, 1, 10), client = ip4(10, 0, 1, 10);
	uint32_t cl_if = ip4(10, 240, 0, 4), vnet_if = ip4(10, 0, 1, 4);
	int i;

	(void)state;
	for (i = 0; i < 600; i++) {
		uint8_t proto = protos[rnd() % 3];
		unsigned int plen = rnd() % 1400, len;
		uint16_t sport = (uint16_t)(1024 + rnd() % 60000);

		refill();
		if (i % 3 != 2) {
			/* cluster -> internet: SNAT to 10.0.1.4 */
			uint32_t far = ip4(203, 0, 113, (uint8_t)(1 + rnd() % 250));

			len = build_ip(ip, proto, server, far, sport,
				       (uint16_t)(1 + rnd() % 65535), plen, 1, false);
			run(VFW_PORT_CLUSTER, ip, len);
			check_error(VFW_PORT_CLUSTER, ip, len, cl_if, 11, 0, 0);
		} else {
			/* vnet client -> 10.0.1.4:8080/tcp or :5300/udp (DNAT) */
			proto = (i & 4) ? IPPROTO_TCP : IPPROTO_UDP;
			len = build_ip(ip, proto, client, vnet_if, sport,
				       proto == IPPROTO_TCP ? 8080 : 5300, plen, 1,
				       false);
			run(VFW_PORT_VNET, ip, len);
			check_error(VFW_PORT_VNET, ip, len, vnet_if, 11, 0, 0);
		}
		out_clear();
	}
}

static void
test_frag_needed(void **state)
{
	static uint8_t ip[2048];
	uint32_t server = ip4(10, 240, 1, 10), client = ip4(10, 0, 1, 10);
	unsigned int len;

	(void)state;
	refill();
	len = build_ip(ip, IPPROTO_UDP, client, server, 4000, 53, 1700, 64, true);
	run(VFW_PORT_VNET, ip, len);
	check_error(VFW_PORT_VNET, ip, len, ip4(10, 0, 1, 4), 3, 4, MTU);
	out_clear();
	/* through SNAT: the quote is the client's own packet */
	len = build_ip(ip, IPPROTO_TCP, server, ip4(198, 51, 100, 7), 4001, 443,
		       1600, 64, true);
	run(VFW_PORT_CLUSTER, ip, len);
	check_error(VFW_PORT_CLUSTER, ip, len, ip4(10, 240, 0, 4), 3, 4, MTU);
	out_clear();
	/* the rate limit holds errors back, the drops are still counted */
	vfw_tb_init(&T.w->icmp_tb, rte_get_tsc_hz(), 1, 1, rte_rdtsc());
	assert_true(vfw_tb_take(&T.w->icmp_tb, rte_rdtsc()));
	run(VFW_PORT_CLUSTER, ip, len);
	assert_int_equal(T.n_out[0] + T.n_out[1], 0);
	assert_true(T.w->stats.ev[VFW_EV_ICMP_ERR_LIMITED] >= 1);
	refill();
}

/* Reassemble T.out[role] into buf; returns the length or 0. */
static unsigned int
reassemble(unsigned int role, uint8_t *buf)
{
	unsigned int i, n = T.n_out[role], hl0 = 0, end = 0, got = 0;
	bool last_seen = false;

	for (i = 0; i < n; i++) {
		const uint8_t *f = out_ip(role, i);
		unsigned int hl = (f[0] & 15u) * 4, tot = get16(f + 2);
		unsigned int off = (get16(f + 6) & 0x1fff) * 8;

		assert_true(tot <= MTU);
		assert_int_equal(sum16(f, hl, 0), 0xffff);
		assert_int_equal(off % 8, 0);
		if (off == 0) {
			hl0 = hl;
			memcpy(buf, f, hl);
		}
		if (!(get16(f + 6) & 0x2000)) {
			last_seen = true;
			end = off + tot - hl;
		}
		got += tot - hl;
	}
	if (hl0 == 0 || !last_seen || got != end)
		return 0;
	for (i = 0; i < n; i++) {
		const uint8_t *f = out_ip(role, i);
		unsigned int hl = (f[0] & 15u) * 4, tot = get16(f + 2);
		unsigned int off = (get16(f + 6) & 0x1fff) * 8;

		memcpy(buf + hl0 + off, f + hl, tot - hl);
	}
	put16(buf + 2, (uint16_t)(hl0 + end));
	put16(buf + 6, 0);
	return hl0 + end;
}

static void
test_fragments(void **state)
{
	static uint8_t ip[2048], dg[4096];
	uint32_t server = ip4(10, 240, 1, 10), client = ip4(10, 0, 1, 10);
	uint32_t snat = ip4(10, 0, 1, 4);
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		uint8_t proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;
		unsigned int plen = 1473 + rnd() % 400, len, n, want;
		bool snatted = (i % 4) >= 2;
		uint16_t c;

		if (snatted)
			len = build_ip(ip, proto, server, ip4(198, 51, 100, 7),
				       (uint16_t)(1024 + i), 7, plen, 64, false);
		else
			len = build_ip(ip, proto, client, server,
				       (uint16_t)(1024 + i), 9, plen, 64, false);
		run(snatted ? VFW_PORT_CLUSTER : VFW_PORT_VNET, ip, len);
		want = (len - 20 + MTU - 20 - 1) / (MTU - 20);
		n = T.n_out[snatted ? VFW_PORT_VNET : VFW_PORT_CLUSTER];
		assert_int_equal(n, want);
		n = reassemble(snatted ? VFW_PORT_VNET : VFW_PORT_CLUSTER, dg);
		assert_int_equal(n, len);
		/* what the appliance forwards: TTL - 1, and with SNAT the new
		 * source; then the L4 checksum must be right */
		ip[8]--;
		if (snatted)
			memcpy(ip + 12, &snat, 4);
		put16(ip + 10, 0);
		c = vfw_ip4_csum(ip, 20);
		memcpy(ip + 10, &c, 2);
		assert_memory_equal(dg, ip, 10);   /* up to the header checksum */
		assert_memory_equal(dg + 12, ip + 12, 8);
		assert_true(l4_csum_valid(dg));
		if (!snatted) {
			assert_memory_equal(dg + 20, ip + 20, len - 20);
		} else {
			/* source port translated: payload after the ports equal */
			assert_memory_equal(dg + 22, ip + 22, 4);
			assert_memory_equal(dg + 20 + (proto == IPPROTO_TCP ? 20 : 8),
					    ip + 20 + (proto == IPPROTO_TCP ? 20 : 8), plen);
		}
		out_clear();
	}
	assert_true(T.w->stats.ev[VFW_EV_FRAGMENTED] >= 300);
}

/* A port with IPv4 checksum tx offload: errors and fragments leave the
 * header checksum to it (flags, lengths, and the field exactly 0 after the
 * route stage's TTL decrement, as NICs want it); NAT-forwarded packets
 * keep their incrementally updated checksum and no offload flag. */
static void
check_offloaded(struct rte_mbuf *m, const char *what)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, RTE_ETHER_HDR_LEN);
	uint8_t hdr[20];
	uint16_t c;

	(void)what;
	assert_true((m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4)) ==
		    (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4));
	assert_int_equal(m->l2_len, RTE_ETHER_HDR_LEN);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(get16(ip + 10), 0);
	/* what the NIC puts there makes the header valid */
	memcpy(hdr, ip, 20);
	c = vfw_ip4_csum(hdr, 20);
	memcpy(hdr + 10, &c, 2);
	assert_int_equal(sum16(hdr, 20, 0), 0xffff);
}

static void
test_tx_offload(void **state)
{
	static uint8_t ip[2048];
	uint32_t server = ip4(10, 240, 1, 10), client = ip4(10, 0, 1, 10);
	unsigned int len, i, r;

	(void)state;
	for (r = 0; r < VFW_PORT_MAX; r++)
		T.w->ports[r].tx_offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	refill();
	/* time exceeded through SNAT */
	len = build_ip(ip, IPPROTO_UDP, server, ip4(203, 0, 113, 9), 5000, 33434,
		       100, 1, false);
	run(VFW_PORT_CLUSTER, ip, len);
	assert_int_equal(T.n_out[VFW_PORT_CLUSTER], 1);
	check_offloaded(T.out[VFW_PORT_CLUSTER][0], "time exceeded");
	assert_int_equal(out_ip(VFW_PORT_CLUSTER, 0)[8], 64);
	out_clear();
	/* fragments */
	len = build_ip(ip, IPPROTO_UDP, client, server, 5001, 9, 1800, 64, false);
	run(VFW_PORT_VNET, ip, len);
	assert_int_equal(T.n_out[VFW_PORT_CLUSTER], 2);
	for (i = 0; i < 2; i++) {
		check_offloaded(T.out[VFW_PORT_CLUSTER][i], "fragment");
		assert_int_equal(out_ip(VFW_PORT_CLUSTER, i)[8], 63);
	}
	out_clear();
	/* an ordinary forwarded packet through SNAT: software checksum kept */
	len = build_ip(ip, IPPROTO_UDP, server, ip4(203, 0, 113, 9), 5002, 53,
		       100, 64, false);
	run(VFW_PORT_CLUSTER, ip, len);
	assert_int_equal(T.n_out[VFW_PORT_VNET], 1);
	assert_false(T.out[VFW_PORT_VNET][0]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(sum16(out_ip(VFW_PORT_VNET, 0), 20, 0), 0xffff);
	out_clear();
	for (r = 0; r < VFW_PORT_MAX; r++)
		T.w->ports[r].tx_offloads = 0;
}

/* ---- setup ---- */

static int
setup(void **state)
{
	char *eal[] = { "test_icmp_gen", "--no-huge", "--no-pci", "-m", "256",
			"--file-prefix=test_icmp_gen", "--no-shconf", "--log-level=*:error",
			"--no-telemetry" };
	const char *seed = getenv("VFW_TEST_SEED");
	struct vfw_errors errs;
	struct vfw_policy *p;
	struct vfw_dp_params dpp;
	unsigned int r, i;

	(void)state;
	if (seed != NULL)
		rng_state = strtoull(seed, NULL, 0) | 1;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		return -1;
	T.pool = rte_pktmbuf_pool_create("ticmp", 4095, 0, VFW_MBUF_PRIV_SIZE,
					 RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	vfw_errors_init(&errs);
	T.cfg = vfw_config_load_string(policy, sizeof(policy) - 1, "<test>", &errs);
	if (T.cfg == NULL || T.pool == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return -1;
	}
	T.qsv = rte_zmalloc("tqsv", rte_rcu_qsbr_get_memsize(1), 64);
	rte_rcu_qsbr_init(T.qsv, 1);
	T.neigh = vfw_neigh_create("tneigh", 64, 0, T.qsv);
	T.pools = vfw_nat_pools_create(1, 0);
	T.pm = vfw_policy_mgr_create(1, T.qsv, T.neigh, T.pools);
	for (i = 0; i < T.cfg->n_neighbors; i++) {
		const struct vfw_cfg_neighbor *nb = &T.cfg->neighbors[i];
		uint8_t port = (rte_be_to_cpu_32(nb->address.v4) >> 24) == 10 &&
			       ((rte_be_to_cpu_32(nb->address.v4) >> 16) & 0xff) == 240;

		vfw_neigh_add_static(T.neigh, port, nb->address.v4, &nb->mac);
	}
	p = vfw_policy_build(T.pm, T.cfg, &errs);
	if (p == NULL)
		return -1;
	vfw_policy_publish(T.pm, p);
	vfw_policy_sync(T.pm);
	memset(&dpp, 0, sizeof(dpp));
	dpp.n_workers = 1;
	for (r = 0; r < VFW_PORT_MAX; r++) {
		dpp.ports[r].port_id = (uint16_t)r;
		dpp.ports[r].mac = T.cfg->ports[r].mac;
		dpp.ports[r].ip = T.cfg->ports[r].address.ip.v4;
		dpp.ports[r].n_rxq = dpp.ports[r].n_txq = 1;
		dpp.ports[r].mtu = MTU;
	}
	dpp.pm = T.pm;
	dpp.neigh = T.neigh;
	dpp.pools = T.pools;
	dpp.pool = T.pool;
	dpp.cfg = T.cfg;
	dpp.hz = rte_get_tsc_hz();
	T.dp = vfw_dp_create(&dpp);
	if (T.dp == NULL)
		return -1;
	T.w = vfw_dp_worker(T.dp, 0);
	vfw_dp_set_tx_hook(T.w, sink, NULL);
	rte_rcu_qsbr_thread_register(T.qsv, 0);
	rte_rcu_qsbr_thread_online(T.qsv, 0);
	vfw_errors_free(&errs);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	out_clear();
	rte_rcu_qsbr_thread_offline(T.qsv, 0);
	rte_rcu_qsbr_thread_unregister(T.qsv, 0);
	vfw_dp_free(T.dp);
	vfw_policy_mgr_free(T.pm);
	vfw_nat_pools_free(T.pools);
	vfw_neigh_free(T.neigh);
	rte_free(T.qsv);
	vfw_config_free(T.cfg);
	rte_mempool_free(T.pool);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_time_exceeded_nat),
		cmocka_unit_test(test_frag_needed),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_tx_offload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
