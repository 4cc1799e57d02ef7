/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnetfw-bench: drives the worker pipeline (vfw_dp_process, the function the
 * worker loop calls) on pre-built bursts, single core, and reports
 * cycles/packet, Mpps and memory per profile.
 *
 * What one measured packet includes, in this order, and nothing else:
 *  - its share of one rte_pktmbuf_alloc_bulk() of 32 (standing in for the
 *    PMD's rx refill);
 *  - a 60-byte copy of its flow's header template into the mbuf, plus the
 *    length and port fields (standing in for the NIC's DMA write); acl-new
 *    and nat-new also rewrite the source address and port and update the
 *    IPv4 header and L4 checksums (incrementally), so that every packet is
 *    a new flow (nat-new: half DNAT'd inbound TCP, half SNAT'd outbound
 *    UDP) that the pipeline accepts (it verifies the L4 checksum of the
 *    packets that open sessions);
 *  - vfw_dp_process() on the burst: the whole pipeline, exactly as the
 *    worker loop runs it;
 *  - the transmit hook instead of rte_eth_tx_buffer(): one indirect call
 *    per egress port and burst, and the packets put back into their pool
 *    in bulk, as a PMD's tx completion does with MBUF_FAST_FREE (what
 *    i40e, ice, ixgbe and mlx5 do when the application allows it: every
 *    mbuf direct, one segment, refcount 1, one pool; the pipeline's
 *    packets are all of that);
 *  - its share of one vfw_dp_housekeeping() per burst (slow-path ring,
 *    mailbox, aging with the busy budget), as the loop runs it once per
 *    iteration.
 * Established profiles first send one packet per flow to create the
 * sessions (not measured), then cycle over the flows in order.
 *
 * Two figures per profile: cyc/pkt is rte_rdtsc() around the whole run
 * divided by the packets; p50/pkt is the median burst's cycles divided by
 * 32. On a core of its own the two agree to a few percent. On a shared
 * machine the mean also counts the milliseconds the bench was preempted
 * (which land in single bursts) and is no measure of the code; compare
 * p50/pkt there, and repeat. Under valgrind --tool=callgrind only the
 * measured run is counted (client requests below), so instructions per
 * packet are the dump's total divided by --packets.
 *
 * Memory: --no-huge gives 4 KiB pages, so a 1M-flow profile pays a TLB
 * miss on nearly every table access; run with hugepages to see what the
 * appliance (which needs them) sees.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnetfw/config.h"
#include "vnetfw/dataplane.h"

/*
 * Under valgrind --tool=callgrind, count only the measured run: the counters
 * are zeroed when it starts and dumped (one part per profile) when it ends.
 * Outside valgrind the client requests are a few no-op instructions.
 */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_CALLGRIND 1
#endif
#endif
#ifndef BENCH_CALLGRIND
#define CALLGRIND_START_INSTRUMENTATION do { } while (0)
#define CALLGRIND_STOP_INSTRUMENTATION do { } while (0)
#define CALLGRIND_ZERO_STATS do { } while (0)
#define CALLGRIND_DUMP_STATS_AT(s) do { (void)(s); } while (0)
#endif

#define BURST VFW_BURST
#define FRAME 60   /* 64-byte frame without FCS */
/*
 * A small data room. The mempool never lets an object cross a page, so
 * with 4 KiB pages (--no-huge) mbufs of the default 2 KiB data room sit
 * 4 KiB apart, every mbuf's header, metadata and frame then map to the
 * same few L1 sets, and a burst of 32 evicts itself: an artefact worth
 * 100+ cycles per packet that a hugepage-backed pool (the appliance's,
 * with 2 MiB pages and objects spread over odd numbers of cache lines)
 * does not have. Objects of 9 cache lines spread over all sets.
 */
#define BENCH_DATA_ROOM (RTE_PKTMBUF_HEADROOM + 128)

static const struct rte_ether_addr port_mac[VFW_PORT_MAX] = {
	{ { 0x02, 0, 0, 0, 0xaa, 0x01 } }, { { 0x02, 0, 0, 0, 0xaa, 0x02 } } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0xbb, 0x01 } };

struct profile {
	const char *name;
	unsigned int rules;      /* user security rules */
	unsigned int routes;     /* user routes */
	unsigned int flows;      /* distinct flows cycled over */
	bool nat;                /* SNAT egress + DNAT port-forwards */
	bool established;        /* warm sessions up first */
	bool new_flows;          /* every packet a new flow */
};

struct result {
	const struct profile *p;
	double cycles_per_pkt;
	double median_per_pkt;   /* of the median burst */
	double mpps;
	double mem_mb;
	uint64_t packets;
	uint64_t forwarded;
	uint64_t drops;
};

struct bench {
	struct rte_mempool *pool;
	struct rte_mbuf *burst[BURST];
	unsigned int collected;
	uint8_t *tmpl;           /* flows * FRAME bytes */
	uint8_t *tmpl_role;      /* ingress role per flow */
	unsigned int n_tmpl;
};

static struct bench B;

/* Transmit hook: the packets come back to us instead of going to a NIC. */
static void
collect(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	unsigned int i;

	(void)arg;
	(void)role;
	/* What a PMD's tx completion does with the mbufs under
	 * RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: straight back into the pool.
	 * That needs what rte_pktmbuf_prefree_seg() would check; a packet
	 * that is not so (none of the profiles makes one) is freed the
	 * long way. */
	for (i = 0; i < n; i++)
		if (unlikely(rte_mbuf_refcnt_read(pkts[i]) != 1 ||
			     pkts[i]->next != NULL || pkts[i]->pool != B.pool ||
			     !RTE_MBUF_DIRECT(pkts[i]))) {
			rte_pktmbuf_free_bulk(pkts, n);
			return;
		}
	rte_mempool_put_bulk(B.pool, (void **)pkts, n);
}

static char *
appendf(char *buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if ((size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n;
		buf = realloc(buf, *cap);
		if (buf == NULL)
			abort();
	}
	*len += (size_t)n;
	return buf;
}

struct bench_route {
	uint32_t addr;   /* host order, host bits clear */
	uint32_t len;
};

static int
route_cmp(const void *a, const void *b)
{
	const struct bench_route *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/*
 * n distinct random prefixes, /8 to /32, outside the ranges the benchmark
 * itself uses (10/8, 100/8, multicast and up).
 */
static struct bench_route *
random_routes(unsigned int want, unsigned int *n)
{
	unsigned int cap = want + want / 4 + 16, i, k = 0;
	struct bench_route *r = malloc(sizeof(*r) * cap);

	if (r == NULL)
		abort();
	for (i = 0; i < cap; i++) {
		uint32_t len = 8 + (uint32_t)(rte_rand() % 25);
		uint32_t a = (uint32_t)rte_rand();
		uint32_t top = a >> 24;

		if (top == 0 || top == 10 || top == 100 || top == 127 || top >= 224)
			a = (a & 0x00ffffffu) | (11u << 24);
		r[i].addr = len == 32 ? a : a & ~(0xffffffffu >> len);
		r[i].len = len;
	}
	qsort(r, cap, sizeof(*r), route_cmp);
	for (i = 0; i < cap && k < want; i++)
		if (k == 0 || route_cmp(&r[k - 1], &r[i]) != 0)
			r[k++] = r[i];
	*n = k;
	return r;
}

/*
 * The policy of a profile, written as the YAML an operator would write, so
 * the bench goes through the real loader and compiler. Inbound traffic
 * comes from 100.64.0.0/10 ("internet") to 10.240.0.0/16 (the cluster);
 * user rules are spread over other sources and never match before the last
 * allow, so the classifier really has to look at all of them.
 */
static char *
profile_yaml(const struct profile *p)
{
	size_t len = 0, cap = 1 << 16;
	char *y = malloc(cap);
	char snat_addrs[16 * 16] = "";
	unsigned int i;

	y = appendf(y, &len, &cap,
		    "ports:\n"
		    "  vnet: {device: bench0, address: 10.0.1.4/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n"
		    "  cluster: {device: bench1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n"
		    "vnet_prefixes: [10.0.0.0/8]\n"
		    "neighbors:\n"
		    "  - {address: 10.0.1.1, mac: \"02:00:00:00:bb:01\"}\n"
		    "  - {address: 10.0.1.10, mac: \"02:00:00:00:bb:02\"}\n"
		    "  - {address: 10.240.0.10, mac: \"02:00:00:00:bb:03\"}\n"
		    "conntrack: {max_sessions: %u}\n"
		    "security_rules:\n",
		    p->new_flows ? 4u << 20 : RTE_MAX(2u * p->flows + 4096u, 65536u));
	for (i = 0; i + 1 < p->rules; i++)
		y = appendf(y, &len, &cap,
			    "  - {name: r%u, priority: %u, direction: %s, access: %s, "
			    "protocol: %s, source: [172.%u.%u.0/24], destination: [any], "
			    "destination_ports: [%u-%u]}\n",
			    i, 100 + i, (i & 1) ? "outbound" : "inbound",
			    (i % 3) ? "allow" : "deny", (i & 2) ? "tcp" : "udp",
			    16 + (i >> 8) % 16, i & 0xff, 1000 + i % 5000, 2000 + i % 5000);
	y = appendf(y, &len, &cap,
			    "  - {name: allow-bench, priority: 64000, direction: inbound, "
			    "access: allow, protocol: any, source: [any], destination: [any]}\n");
	y = appendf(y, &len, &cap, p->routes ? "routes:\n" : "routes: []\n");
	if (p->routes > 0) {
		unsigned int n;
		struct bench_route *r = random_routes(p->routes, &n);

		for (i = 0; i < n; i++)
			y = appendf(y, &len, &cap,
				    "  - {name: u%u, prefix: %u.%u.%u.%u/%u, next_hop_type: "
				    "VirtualAppliance, next_hop: 10.0.1.10}\n",
				    i, r[i].addr >> 24, (r[i].addr >> 16) & 0xff,
				    (r[i].addr >> 8) & 0xff, r[i].addr & 0xff, r[i].len);
		free(r);
	}
	/*
	 * A port range per address and protocol: 16 addresses hold 16 x 64512
	 * translated flows, enough for the 500k SNAT flows of the 1M profiles
	 * (4 addresses would exhaust at ~258k and every later SNAT flow would
	 * be a new-flow drop, not the established path being measured).
	 */
	for (i = 0; i < 16; i++)
		snprintf(snat_addrs + strlen(snat_addrs), sizeof(snat_addrs) - strlen(snat_addrs),
			 "%s10.0.1.%u", i ? ", " : "", 32 + i);
	if (p->nat)
		y = appendf(y, &len, &cap,
			    "nat:\n"
			    "  dnat:\n"
			    "    - {name: web, protocol: tcp, destination: 10.0.1.4, "
			    "destination_port: 443, translated_address: 10.240.0.10, translated_port: 8443}\n"
			    "  snat:\n"
			    "    - {name: egress, source: [10.240.0.0/16], exclude: [10.0.0.0/8], "
			    "translated_addresses: [%s], ports: 1024-65535}\n", snat_addrs);
	return y;
}

static void
build_frame(uint8_t *f, uint8_t role, uint8_t proto, uint32_t src, uint32_t dst,
	    uint16_t sport, uint16_t dport, uint8_t tcp_flags)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t l4len = proto == IPPROTO_TCP ? 20 : 8;
	struct rte_icmp_hdr *ic;

	memset(f, 0, FRAME);
	eth->dst_addr = port_mac[role];
	eth->src_addr = peer_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + l4len + 6));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

		t->src_port = rte_cpu_to_be_16(sport);
		t->dst_port = rte_cpu_to_be_16(dport);
		t->data_off = 5 << 4;
		t->tcp_flags = tcp_flags;
		t->rx_win = rte_cpu_to_be_16(65535);
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	} else if (proto == IPPROTO_ICMP) {
		/* echo request: the identifier is the flow's "port" */
		ic = (struct rte_icmp_hdr *)(ip + 1);
		ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
		ic->icmp_ident = rte_cpu_to_be_16(sport);
		ic->icmp_seq_nb = rte_cpu_to_be_16(dport);
		ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + 6);
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

		u->src_port = rte_cpu_to_be_16(sport);
		u->dst_port = rte_cpu_to_be_16(dport);
		u->dgram_len = rte_cpu_to_be_16(8 + 6);
		u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	}
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/*
 * --mix: protocols and directions as the rig's traffic has them (and real
 * traffic), in no order a branch predictor can learn: per flow TCP, UDP or
 * ICMP echo 6:3:1 and, with NAT, either direction at random. Without it
 * every profile has one flow shape per direction and full alternates the
 * two, which a predictor follows perfectly. Seeded: every run is the same.
 */
static bool mix;
static uint64_t mix_state = 0x9e3779b97f4a7c15ull;

static uint32_t
mix_rand(void)
{
	/* xorshift64* */
	mix_state ^= mix_state >> 12;
	mix_state ^= mix_state << 25;
	mix_state ^= mix_state >> 27;
	return (uint32_t)((mix_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint8_t
flow_proto(uint8_t plain)
{
	uint32_t r;

	if (!mix)
		return plain;
	r = mix_rand() % 10;
	return r < 6 ? IPPROTO_TCP : r < 9 ? IPPROTO_UDP : IPPROTO_ICMP;
}

/* The destination port of a flow of protocol proto; TCP packets are ACKs
 * (loose TCP lets the first packet of a replayed flow open the session). */
static void
flow_frame(uint8_t *f, uint8_t role, uint8_t proto, uint32_t src, uint32_t dst,
	   uint16_t sport, uint16_t udp_dport)
{
	build_frame(f, role, proto, src, dst, sport,
		    proto == IPPROTO_TCP ? 443 : udp_dport,
		    proto == IPPROTO_TCP ? RTE_TCP_ACK_FLAG : 0);
}

/*
 * Flows: inbound UDP from 100.64.0.0/10 to cluster addresses (or, with NAT,
 * half of them TCP to the DNAT address and half outbound UDP from the
 * cluster to the internet, source-translated). With --mix, see above; an
 * inbound NAT flow that is not TCP goes to the cluster server directly
 * (the DNAT forward is TCP only).
 */
static void
build_templates(const struct profile *p)
{
	unsigned int i;

	B.n_tmpl = p->flows;
	B.tmpl = rte_malloc("tmpl", (size_t)p->flows * FRAME, 64);
	B.tmpl_role = rte_malloc("tmplr", p->flows, 64);
	for (i = 0; i < p->flows; i++) {
		uint32_t client = (100u << 24 | 64u << 16) + (i >> 6) + 1;
		uint16_t sport = (uint16_t)(1024 + (i & 63) * 997 % 60000);
		uint8_t *f = B.tmpl + (size_t)i * FRAME;
		bool out = mix ? (mix_rand() & 1) : (i & 1);

		if (p->nat && out) {
			/* cluster pod -> internet, SNAT */
			uint32_t pod = (10u << 24 | 240u << 16) + 16 + (i >> 7);

			flow_frame(f, VFW_PORT_CLUSTER, flow_proto(IPPROTO_UDP), pod,
				   (100u << 24 | 100u << 16) + (i & 0xff), sport, 53);
			B.tmpl_role[i] = VFW_PORT_CLUSTER;
		} else if (p->nat) {
			/* internet -> DNAT web, TCP */
			uint8_t pr = flow_proto(IPPROTO_TCP);

			flow_frame(f, VFW_PORT_VNET, pr, client,
				   pr == IPPROTO_TCP ? (10u << 24 | 1u << 8 | 4u) :
				   (10u << 24 | 240u << 16) + 10, sport, 8080);
			B.tmpl_role[i] = VFW_PORT_VNET;
		} else {
			/* the cluster server has a static neighbor entry, so
			 * nothing waits for ARP */
			uint32_t dst = p->routes > 16 ?
				(uint32_t)rte_rand() | 0x01000000u :
				(10u << 24 | 240u << 16) + 10;

			/* random destinations over the route table */
			if (p->routes > 16 &&
			    ((dst >> 24) == 10 || (dst >> 24) >= 224 || (dst >> 24) == 127))
				dst = (dst & 0x00ffffffu) | (11u << 24);
			flow_frame(f, VFW_PORT_VNET, flow_proto(IPPROTO_UDP), client,
				   dst, sport, 8080);
			B.tmpl_role[i] = VFW_PORT_VNET;
		}
	}
}

static uint64_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
	return st.heap_allocsz_bytes;
}

/*
 * Per-burst cycle histogram: the median burst is what a core that is not
 * shared with anything else would see. On a loaded machine the mean also
 * counts the time the bench was not running at all (preemption lands in a
 * single burst, which the median ignores).
 */
#define HIST_STEP 4u          /* cycles per bin */
#define HIST_BINS 65536u      /* up to 256k cycles per burst */
static uint32_t hist[HIST_BINS];

static double
hist_median_per_pkt(uint64_t bursts)
{
	uint64_t seen = 0;
	unsigned int b;

	for (b = 0; b < HIST_BINS; b++) {
		seen += hist[b];
		if (2 * seen >= bursts)
			return ((double)b + 0.5) * HIST_STEP / BURST;
	}
	return (double)HIST_BINS * HIST_STEP / BURST;
}

/* Run `packets` packets through the pipeline; returns tsc cycles spent
 * and fills hist[] with the cycles of each burst. */
static uint64_t
run(struct vfw_worker *w, const struct profile *p, uint64_t packets,
    uint64_t *cursor, bool fresh_ports)
{
	uint64_t start = rte_rdtsc(), done = 0, t0 = start, t1;
	static uint32_t newport;

	memset(hist, 0, sizeof(hist));
	while (done < packets) {
		unsigned int i;

		if (rte_pktmbuf_alloc_bulk(B.pool, B.burst, BURST) != 0) {
			fprintf(stderr, "vnetfw-bench: mbuf pool empty\n");
			exit(1);
		}
		for (i = 0; i < BURST; i++) {
			struct rte_mbuf *m = B.burst[i];
			uint64_t f = (*cursor)++ % B.n_tmpl;
			uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);

			rte_memcpy(d, B.tmpl + f * FRAME, FRAME);
			m->data_len = m->pkt_len = FRAME;
			m->port = B.tmpl_role[f];
			if (fresh_ports) {
				/* a new flow every packet: vary the source port
				 * and address, and update the checksums that
				 * cover them (the parser verifies the IPv4
				 * one, session creation the L4 one) */
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + 14);
				struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
				/* clients on the internet; pods (nat-new's
				 * outbound flows) in the cluster */
				uint32_t base = B.tmpl_role[f] == VFW_PORT_CLUSTER ?
					(10u << 24 | 240u << 16 | 16u << 8) :
					(100u << 24 | 64u << 16) + 1;
				uint32_t src = rte_cpu_to_be_32(base +
								(newport / 4096) % 60000);
				uint16_t port = rte_cpu_to_be_16((uint16_t)(1024 +
								newport % 64512));

				if (unlikely(ip->next_proto_id == IPPROTO_ICMP)) {
					struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)u;

					ic->icmp_cksum = vfw_csum_update16(ic->icmp_cksum,
									   ic->icmp_ident, port);
					ic->icmp_ident = port;
				} else {
					/* TCP's checksum field is 16 bytes in, UDP's 6 */
					bool tcp = ip->next_proto_id == IPPROTO_TCP;
					uint8_t *c = (uint8_t *)u + (tcp ? 16 : 6);
					uint16_t v;

					memcpy(&v, c, 2);
					v = vfw_csum_update32(v, ip->src_addr, src);
					v = vfw_csum_update16(v, u->src_port, port);
					/* UDP: 0 would mean "no checksum" */
					if (v == 0 && !tcp)
						v = 0xffff;
					memcpy(c, &v, 2);
					u->src_port = port;
				}
				ip->hdr_checksum = vfw_csum_update32(ip->hdr_checksum,
								     ip->src_addr, src);
				ip->src_addr = src;
				newport++;
			}
		}
		vfw_dp_process(w, B.burst, BURST, rte_rdtsc());
		vfw_dp_housekeeping(w, rte_rdtsc());
		done += BURST;
		t1 = rte_rdtsc();
		hist[RTE_MIN((t1 - t0) / HIST_STEP, (uint64_t)HIST_BINS - 1)]++;
		t0 = t1;
	}
	(void)p;
	return rte_rdtsc() - start;
}

static int
run_profile(const struct profile *pr, uint64_t packets, struct result *res)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct vfw_policy *pol;
	struct vfw_dp_params dpp;
	struct vfw_dp *dp;
	struct vfw_worker *w;
	struct vfw_dp_stats st;
	uint64_t mem0, mem1, cursor = 0, cycles, k;
	char *yaml;
	unsigned int r;

	yaml = profile_yaml(pr);
	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(yaml, strlen(yaml), pr->name, &errs);
	free(yaml);
	if (cfg == NULL) {
		fprintf(stderr, "%s: config: %s\n", pr->name, errs.n ? errs.msg[0] : "?");
		return -1;
	}
	if (pr->nat || mix)
		cfg->conntrack.tcp_loose = true;
	mem0 = heap_bytes();
	qsv = rte_zmalloc("bqsv", rte_rcu_qsbr_get_memsize(1), 64);
	rte_rcu_qsbr_init(qsv, 1);
	neigh = vfw_neigh_create("bneigh", 4096, (int)rte_socket_id(), qsv);
	pools = vfw_nat_pools_create(1, (int)rte_socket_id());
	pm = vfw_policy_mgr_create(1, qsv, neigh, pools);
	for (r = 0; r < cfg->n_neighbors; r++)
		vfw_neigh_add_static(neigh, (uint8_t)RTE_MAX(vfw_route_port_of(cfg,
					cfg->neighbors[r].address.v4), 0),
				     cfg->neighbors[r].address.v4, &cfg->neighbors[r].mac);
	{
		uint64_t t0 = rte_rdtsc();

		pol = vfw_policy_build(pm, cfg, &errs);
		if (pol == NULL) {
			fprintf(stderr, "%s: policy: %s\n", pr->name,
				errs.n ? errs.msg[0] : "?");
			return -1;
		}
		fprintf(stderr, "  %s: policy built in %.2f s\n", pr->name,
			(double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz());
	}
	vfw_policy_publish(pm, pol);
	vfw_policy_sync(pm);
	memset(&dpp, 0, sizeof(dpp));
	dpp.n_workers = 1;
	for (r = 0; r < VFW_PORT_MAX; r++) {
		dpp.ports[r].port_id = (uint16_t)r;
		dpp.ports[r].mac = port_mac[r];
		dpp.ports[r].ip = cfg->ports[r].address.ip.v4;
		dpp.ports[r].n_rxq = dpp.ports[r].n_txq = 1;
	}
	dpp.pm = pm;
	dpp.neigh = neigh;
	dpp.pools = pools;
	dpp.pool = B.pool;
	dpp.cfg = cfg;
	dpp.socket = (int)rte_socket_id();
	dpp.hz = rte_get_tsc_hz();
	dpp.ports_started = false;
	dp = vfw_dp_create(&dpp);
	if (dp == NULL) {
		fprintf(stderr, "%s: data plane: %s\n", pr->name, rte_strerror(rte_errno));
		return -1;
	}
	w = vfw_dp_worker(dp, 0);
	vfw_dp_set_tx_hook(w, collect, NULL);
	rte_rcu_qsbr_thread_register(qsv, 0);
	rte_rcu_qsbr_thread_online(qsv, 0);
	build_templates(pr);

	if (pr->established)
		run(w, pr, RTE_ALIGN_CEIL((uint64_t)pr->flows, BURST), &cursor, false);
	if (pr->new_flows && packets > (3u << 20))
		packets = 3u << 20; /* every packet takes a session */
	if (pr->new_flows && pr->nat && packets > (1u << 20))
		packets = 1u << 20; /* half take an SNAT port: 16 x 64512 */
	mem1 = heap_bytes();
	vfw_dp_stats_sum(dp, &st);
	k = st.ev[VFW_EV_FORWARDED];
	{
		uint64_t d0 = 0;

		for (r = 1; r < VFW_DROP_MAX; r++)
			d0 += st.drops[r];
		CALLGRIND_START_INSTRUMENTATION;
		CALLGRIND_ZERO_STATS;
		cycles = run(w, pr, packets, &cursor, pr->new_flows);
		CALLGRIND_DUMP_STATS_AT(pr->name);
		CALLGRIND_STOP_INSTRUMENTATION;
		vfw_dp_stats_sum(dp, &st);
		res->drops = 0;
		for (r = 1; r < VFW_DROP_MAX; r++)
			res->drops += st.drops[r];
		res->drops -= d0;
	}
	res->p = pr;
	res->packets = packets;
	res->forwarded = st.ev[VFW_EV_FORWARDED] - k;
	res->cycles_per_pkt = (double)cycles / (double)packets;
	res->median_per_pkt = hist_median_per_pkt(packets / BURST);
	res->mpps = (double)packets / ((double)cycles / (double)rte_get_tsc_hz()) / 1e6;
	res->mem_mb = (double)(mem1 - mem0) / (1024.0 * 1024.0);
	if (res->drops != 0) {
		fprintf(stderr, "  %s: %" PRIu64 " drops during the run:", pr->name, res->drops);
		for (r = 1; r < VFW_DROP_MAX; r++)
			if (st.drops[r])
				fprintf(stderr, " %s=%" PRIu64, vfw_drop_name(r), st.drops[r]);
		fputc('\n', stderr);
	}

	rte_rcu_qsbr_thread_offline(qsv, 0);
	rte_rcu_qsbr_thread_unregister(qsv, 0);
	vfw_dp_free(dp);
	vfw_policy_mgr_free(pm);
	vfw_nat_pools_free(pools);
	vfw_neigh_free(neigh);
	rte_free(qsv);
	rte_free(B.tmpl);
	rte_free(B.tmpl_role);
	vfw_config_free(cfg);
	vfw_errors_free(&errs);
	return 0;
}

static void
usage(void)
{
	printf("usage: vnetfw-bench [EAL options] -- [--quick] [--json FILE] "
	       "[--packets N] [--flows N] [--mix] [--profile NAME]...\n"
	       "\n"
	       "Runs the vnetfw pipeline in-process on one core and prints\n"
	       "cycles/packet, Mpps and memory for each profile:\n"
	       "  route-16, route-1M, acl-established-1k, acl-established-10k,\n"
	       "  acl-new-10k, nat-new-10k, nat-established-1M, full\n"
	       "  --quick      small tables and few packets (a smoke run, seconds)\n"
	       "  --json FILE  also write the results as JSON\n"
	       "  --packets N  packets measured per profile (default 20M; quick 200k)\n"
	       "  --flows N    flows cycled over in every chosen profile, 1..2097152\n"
	       "               (default: the profile's own count, shown in the table)\n"
	       "  --mix        TCP, UDP and ICMP echo 6:3:1 and (NAT profiles) both\n"
	       "               directions in random order, as the rig's traffic;\n"
	       "               default: one flow shape per direction, alternating\n"
	       "  --profile NAME  run only this profile (repeatable)\n"
	       "Example: vnetfw-bench --no-huge -m 4096 --no-pci -l 0 -- --json out.json\n");
}

int
main(int argc, char **argv)
{
	static const struct profile full_set[] = {
		{ "route-16", 0, 16, 4096, false, true, false },
		{ "route-1M", 0, 1000000, 65536, false, true, false },
		{ "acl-established-1k", 1000, 16, 100000, false, true, false },
		{ "acl-established-10k", 10000, 16, 100000, false, true, false },
		{ "acl-new-10k", 10000, 16, 4096, false, false, true },
		{ "nat-new-10k", 10000, 16, 4096, true, false, true },
		{ "nat-established-1M", 100, 16, 1000000, true, true, false },
		{ "full", 10000, 1000000, 1000000, true, true, false },
	};
	static const struct profile quick_set[] = {
		{ "route-16", 0, 16, 1024, false, true, false },
		{ "route-1M", 0, 20000, 4096, false, true, false },
		{ "acl-established-1k", 200, 16, 4096, false, true, false },
		{ "acl-established-10k", 500, 16, 4096, false, true, false },
		{ "acl-new-10k", 500, 16, 1024, false, false, true },
		{ "nat-new-10k", 500, 16, 1024, true, false, true },
		{ "nat-established-1M", 100, 16, 8192, true, true, false },
		{ "full", 500, 20000, 8192, true, true, false },
	};
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "packets", required_argument, NULL, 'n' },
		{ "flows", required_argument, NULL, 'f' },
		{ "profile", required_argument, NULL, 'p' },
		{ "mix", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct profile *set = full_set;
	struct result res[16];
	static struct profile chosen[16];
	unsigned long flows = 0;
	char *end;
	const char *json = NULL, *only[8];
	unsigned int n_only = 0, n_res = 0, i, j, nset = RTE_DIM(full_set);
	uint64_t packets = 0;
	int ret, c, failed = 0;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "vnetfw-bench: EAL init failed (try --no-huge -m 4096 --no-pci -l 0)\n");
		return 1;
	}
	argc -= ret;
	argv += ret;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			set = quick_set;
			nset = RTE_DIM(quick_set);
			break;
		case 'j':
			json = optarg;
			break;
		case 'n':
			packets = strtoull(optarg, NULL, 10);
			break;
		case 'f':
			errno = 0;
			flows = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || flows == 0 || flows > (2ul << 20)) {
				fprintf(stderr, "vnetfw-bench: --flows %s: want 1..%lu\n",
					optarg, 2ul << 20);
				return 2;
			}
			break;
		case 'x':
			mix = true;
			break;
		case 'p':
			if (n_only < RTE_DIM(only))
				only[n_only++] = optarg;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (packets == 0)
		packets = set == quick_set ? 200000 : 20000000;
	packets = RTE_ALIGN_CEIL(packets, BURST);
	B.pool = rte_pktmbuf_pool_create("bench", 8191, 256, VFW_MBUF_PRIV_SIZE,
					 BENCH_DATA_ROOM, (int)rte_socket_id());
	if (B.pool == NULL) {
		fprintf(stderr, "vnetfw-bench: mbuf pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	fprintf(stderr, "vnetfw-bench: TSC %.2f GHz, %" PRIu64 " packets per profile%s\n",
		(double)rte_get_tsc_hz() / 1e9, packets,
		mix ? ", mixed protocols and directions (--mix)" : "");
	for (i = 0; i < nset; i++) {
		bool want = n_only == 0;

		for (j = 0; j < n_only; j++)
			if (strcmp(only[j], set[i].name) == 0)
				want = true;
		if (!want)
			continue;
		chosen[n_res] = set[i];
		if (flows != 0)
			chosen[n_res].flows = (unsigned int)flows;
		if (run_profile(&chosen[n_res], packets, &res[n_res]) < 0) {
			failed = 1;
			continue;
		}
		n_res++;
	}
	printf("%-22s %8s %8s %9s %9s %9s %10s %10s\n", "profile", "rules", "routes",
	       "flows", "cyc/pkt", "p50/pkt", "Mpps", "mem MB");
	for (i = 0; i < n_res; i++)
		printf("%-22s %8u %8u %9u %9.1f %9.1f %10.2f %10.1f%s\n", res[i].p->name,
		       res[i].p->rules, res[i].p->routes, res[i].p->flows,
		       res[i].cycles_per_pkt, res[i].median_per_pkt, res[i].mpps,
		       res[i].mem_mb,
		       res[i].forwarded == res[i].packets ? "" : "  (some not forwarded)");
	if (json != NULL) {
		FILE *f = fopen(json, "w");

		if (f == NULL) {
			perror(json);
			return 1;
		}
		fprintf(f, "{\"tsc_hz\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"mix\":%s,\"profiles\":[",
			rte_get_tsc_hz(), packets, mix ? "true" : "false");
		for (i = 0; i < n_res; i++)
			fprintf(f, "%s{\"name\":\"%s\",\"rules\":%u,\"routes\":%u,\"flows\":%u,"
				"\"cycles_per_packet\":%.2f,\"median_burst_cycles_per_packet\":%.2f,\"mpps\":%.3f,\"memory_mb\":%.1f,"
				"\"forwarded\":%" PRIu64 ",\"drops\":%" PRIu64 "}",
				i ? "," : "", res[i].p->name, res[i].p->rules, res[i].p->routes,
				res[i].p->flows, res[i].cycles_per_pkt, res[i].median_per_pkt, res[i].mpps,
				res[i].mem_mb, res[i].forwarded, res[i].drops);
		fputs("]}\n", f);
		fclose(f);
	}
	rte_mempool_free(B.pool);
	rte_eal_cleanup();
	return failed;
}
