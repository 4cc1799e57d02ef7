/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RCU stress test of policy generations under a running data plane.
 *
 * Worker lcores run the real pipeline (vfw_dp_process, the function the
 * worker loop calls) on pre-built UDP packets in a tight loop, collect what
 * they transmit through the tx hook, and report a quiescent state after
 * every burst, exactly like vfw_dp_worker_main. Meanwhile the main lcore
 * builds and publishes hundreds of generations, alternating rule sets that
 * allow and deny the probe traffic, without ever waiting between a build
 * and the previous publication's grace period.
 *
 * Each burst carries
 *  - one packet of each of the worker's established flows, whose sessions
 *    were created before the churn: with "existing: keep" they must be
 *    forwarded whatever the generation, none lost;
 *  - (regularly, and on every generation change) fresh flows that the ACL
 *    must judge: a burst is judged by one generation, so they are either
 *    all forwarded or all dropped (acl_deny), and when the generation did
 *    not change during the burst, the verdict is that generation's.
 *
 * At the end: forwarded + every counted drop == packets sent; the probe
 * rule's hit counter, carried over by name across every generation, equals
 * the number of probes judged; the established rule's counter still equals
 * the sessions it opened; and fresh flows get the last generation's verdict.
 * Run under ASan/UBSan (the sanitizer build) a generation freed while a
 * burst still uses it is a reported use-after-free.
 *
 * VFW_TEST_GENERATIONS overrides the number of generations (default 300).
 *
 * Also here: next-hop hints (one worker, in line), existing: keep and
 * reevaluate through the worker's mailbox (in line), and the back-pressure
 * between two workers' hand-off rings (one lcore stepping both loops).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_thash.h>
#include <rte_udp.h>

#include "vnetfw/dataplane.h"
#include "../../lib/dataplane/dp_private.h"

#define MAX_WORKERS 2
#define N_EST 16              /* established flows per worker */
#define N_PROBE 16            /* fresh flows per probing burst */
#define PROBE_CAP 16000       /* fresh flows on generation changes */
#define PROBE_EXTRA 8000      /* and at random times, per worker */
#define EST_PORT 5000
#define PROBE_PORT 6000
#define FRAME 64

static const struct rte_ether_addr port_mac[VFW_PORT_MAX] = {
	{ { 0x02, 0, 0, 0, 0xaa, 0x01 } }, { { 0x02, 0, 0, 0, 0xaa, 0x02 } } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0xbb, 0x01 } };

struct stress_worker {
	unsigned int id;
	struct vfw_worker *w;
	struct rte_rcu_qsbr *qsv;
	struct vfw_policy_mgr *pm;
	struct rte_mempool *pool;
	_Atomic bool *stop;
	_Atomic bool ready;
	uint8_t est_tmpl[N_EST][FRAME] __rte_aligned(8);
	uint32_t probe_seq;
	uint32_t change_probes;
	uint32_t extra_probes;

	/* what the tx hook saw in the current burst */
	unsigned int tx_est;
	unsigned int tx_probe;
	unsigned int tx_other;

	/* totals, read by the main lcore after the worker stopped */
	uint64_t bursts;
	uint64_t sent;
	uint64_t est_sent;
	uint64_t est_fwd;
	uint64_t probe_sent;
	uint64_t probe_fwd;
	uint64_t probe_bursts;
	uint64_t stable_probe_bursts;  /* judged by a known generation */
	uint64_t gen_changes_seen;
	uint64_t straddling;          /* a publication during the burst */
	uint64_t last_gen;
	uint64_t bursts_on_last_gen;
	/* progress, polled by the main lcore while the worker runs */
	_Atomic uint64_t progress_gen;
	_Atomic uint64_t progress_bursts;
	/* violations */
	uint64_t est_lost;
	uint64_t mixed_bursts;
	uint64_t wrong_verdicts;
	uint64_t corrupt;
	uint64_t holds;
	uint64_t alloc_fail;
	uint64_t bad_tx;
	char first_error[160];
};

static struct {
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct vfw_dp *dp;
	struct vfw_config *cfg0;
	unsigned int n_workers;
	struct stress_worker sw[MAX_WORKERS];
	_Atomic bool stop;
} T;

/* ---- configs ---- */

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

/*
 * Generation i's config: rule "probe" allows or denies the fresh flows,
 * rule "est" (which opened the established sessions) follows it, so the
 * established flows pass only thanks to their sessions. Some filler rules
 * and routes vary in number so that consecutive generations differ in
 * size and layout, not only in one bit.
 */
/* the last byte of the vnet port's address, 10.0.1.4 but for one test */
static unsigned int gen_vnet_host = 4;

static char *
gen_yaml(bool allow, unsigned int i)
{
	size_t len = 0, cap = 8192;
	char *y = malloc(cap);
	const char *acc = allow ? "allow" : "deny";
	unsigned int k, fill = i % 7;

	if (y == NULL)
		abort();
	y = appendf(y, &len, &cap,
		"ports:\n"
		"  vnet: {device: s0, address: 10.0.1.%u/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n"
		"  cluster: {device: s1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n"
		"vnet_prefixes: [10.0.0.0/8]\n"
		"neighbors:\n"
		"  - {address: 10.0.1.1, mac: \"02:00:00:00:bb:01\"}\n"
		"  - {address: 10.240.1.10, mac: \"02:00:00:00:bb:03\"}\n"
		"conntrack: {max_sessions: 131072}\n"
		"security_rules:\n"
		"  - {name: probe, priority: 100, direction: inbound, access: %s,"
		" protocol: udp, source: [any], destination: [10.240.1.10/32],"
		" destination_ports: [%u]}\n"
		"  - {name: est, priority: 110, direction: inbound, access: %s,"
		" protocol: udp, source: [any], destination: [10.240.1.10/32],"
		" destination_ports: [%u]}\n", gen_vnet_host, acc, PROBE_PORT, acc, EST_PORT);
	for (k = 0; k < fill; k++)
		y = appendf(y, &len, &cap,
			"  - {name: fill%u, priority: %u, direction: %s, access: deny,"
			" protocol: tcp, source: [172.16.%u.0/24], destination: [any],"
			" destination_ports: [%u]}\n", k, 200 + k,
			(k & 1) ? "outbound" : "inbound", k, 7000 + k);
	y = appendf(y, &len, &cap, "routes:\n"
		"  - {name: hole, prefix: 10.66.0.0/16, next_hop_type: None}\n");
	for (k = 0; k < (i % 3); k++)
		y = appendf(y, &len, &cap,
			"  - {name: spoke%u, prefix: 10.%u.0.0/16, next_hop_type:"
			" VirtualAppliance, next_hop: 10.0.1.1}\n", k, 100 + k);
	return y;
}

static struct vfw_config *
gen_config(bool allow, unsigned int i)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	char *y = gen_yaml(allow, i);

	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(y, strlen(y), "<stress>", &errs);
	if (cfg == NULL)
		fprintf(stderr, "config: %s\n", errs.n ? errs.msg[0] : "?");
	vfw_errors_free(&errs);
	free(y);
	return cfg;
}

static struct vfw_policy *
gen_build(bool allow, unsigned int i)
{
	struct vfw_errors errs;
	struct vfw_config *cfg = gen_config(allow, i);
	struct vfw_policy *p;

	if (cfg == NULL)
		return NULL;
	vfw_errors_init(&errs);
	p = vfw_policy_build(T.pm, cfg, &errs);
	if (p == NULL)
		fprintf(stderr, "build: %s\n", errs.n ? errs.msg[0] : "?");
	vfw_errors_free(&errs);
	vfw_config_free(cfg);
	return p;
}

/* The verdict a generation gives the probe flows (read under RCU). */
static int
gen_allows_probe(const struct vfw_policy *p)
{
	unsigned int i;

	for (i = 0; i < p->cfg->n_rules; i++)
		if (strcmp(p->cfg->rules[i].name, "probe") == 0)
			return p->cfg->rules[i].access == VFW_ACCESS_ALLOW;
	return -1;
}

/* ---- packets ---- */

static void
build_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
	    uint16_t dport)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
	const uint16_t payload = FRAME - 14 - 20 - 8;

	memset(f, 0, FRAME);
	eth->dst_addr = port_mac[VFW_PORT_VNET];
	eth->src_addr = peer_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + payload);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(8 + payload);
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

#define SERVER (10u << 24 | 240u << 16 | 1u << 8 | 10u)

static void
est_templates(struct stress_worker *s)
{
	unsigned int i;

	/* 10.0.1.<20+id>:2000+i -> 10.240.1.10:5000 */
	for (i = 0; i < N_EST; i++)
		build_frame(s->est_tmpl[i], 10u << 24 | 1u << 8 | (20 + s->id),
			    SERVER, (uint16_t)(2000 + i), EST_PORT);
}

/* A flow never seen before: 10.<100+id>.x.y:port -> 10.240.1.10:6000 */
static void
probe_frame(struct stress_worker *s, uint8_t *f)
{
	uint32_t seq = s->probe_seq++;

	build_frame(f, 10u << 24 | (100u + s->id) << 16 | ((seq >> 8) & 0xffff),
		    SERVER, (uint16_t)(10000 + (seq & 0xff)), PROBE_PORT);
}

static void
collect(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	struct stress_worker *s = arg;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(pkts[i],
			const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
		const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(ip + 1);
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		uint16_t dport = rte_be_to_cpu_16(u->dst_port);

		if (role != VFW_PORT_CLUSTER ||
		    eth->src_addr.addr_bytes[5] != 0x02 ||   /* cluster port MAC */
		    eth->dst_addr.addr_bytes[5] != 0x03)     /* the server's */
			s->bad_tx++;
		if (dport == EST_PORT)
			s->tx_est++;
		else if (dport == PROBE_PORT)
			s->tx_probe++;
		else
			s->tx_other++;
		rte_pktmbuf_free(pkts[i]);
	}
}

static void
note(struct stress_worker *s, const char *fmt, ...)
{
	va_list ap;

	if (s->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
	va_end(ap);
}

/*
 * One burst: established packets, plus fresh flows when asked. Checks the
 * outcome against the generation(s) that could have judged it.
 */
static void
one_burst(struct stress_worker *s, bool probe)
{
	struct rte_mbuf *m[N_EST + N_PROBE];
	const struct vfw_policy *before, *after;
	unsigned int i, n = N_EST + (probe ? N_PROBE : 0);
	int allow_before, allow_after;
	uint64_t gen_before;

	if (rte_pktmbuf_alloc_bulk(s->pool, m, n) != 0) {
		s->alloc_fail++;
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);

		if (i < N_EST)
			memcpy(d, s->est_tmpl[i], FRAME);
		else
			probe_frame(s, d);
		m[i]->data_len = m[i]->pkt_len = FRAME;
		m[i]->port = VFW_PORT_VNET;
	}
	s->tx_est = s->tx_probe = s->tx_other = 0;
	/* a registered, online reader: before stays valid until quiescent */
	before = vfw_policy_acquire(s->pm);
	gen_before = before->generation;
	allow_before = gen_allows_probe(before);
	vfw_dp_process(s->w, m, (uint16_t)n, rte_rdtsc());
	vfw_dp_housekeeping(s->w, rte_rdtsc());
	/* the generation the burst started with is still intact (not
	 * freed: under ASan a read of a freed one is reported here) */
	if (before->generation != gen_before ||
	    gen_allows_probe(before) != allow_before) {
		s->corrupt++;
		note(s, "worker %u: generation %" PRIu64 " changed under a burst",
		     s->id, gen_before);
	}
	after = vfw_policy_acquire(s->pm);
	allow_after = gen_allows_probe(after);

	s->bursts++;
	s->sent += n;
	s->est_sent += N_EST;
	s->est_fwd += s->tx_est;
	if (s->tx_est != N_EST) {
		s->est_lost += N_EST - s->tx_est;
		note(s, "worker %u: %u of %u established packets forwarded "
		     "(generation %" PRIu64 "..%" PRIu64 ")", s->id, s->tx_est,
		     N_EST, before->generation, after->generation);
	}
	if (s->tx_other != 0)
		note(s, "worker %u: %u unexpected packets sent", s->id, s->tx_other);
	if (after->generation != s->last_gen) {
		s->gen_changes_seen++;
		s->last_gen = after->generation;
		s->bursts_on_last_gen = 0;
	}
	if (before == after)
		s->bursts_on_last_gen++;
	else
		s->straddling++;
	atomic_store_explicit(&s->progress_gen, s->last_gen, memory_order_relaxed);
	atomic_store_explicit(&s->progress_bursts, s->bursts_on_last_gen,
			      memory_order_relaxed);
	if (!probe)
		return;
	s->probe_bursts++;
	s->probe_sent += N_PROBE;
	s->probe_fwd += s->tx_probe;
	if (s->tx_probe != 0 && s->tx_probe != N_PROBE) {
		s->mixed_bursts++;
		note(s, "worker %u: %u of %u fresh flows of one burst forwarded "
		     "(generation %" PRIu64 "..%" PRIu64 ")", s->id, s->tx_probe,
		     N_PROBE, before->generation, after->generation);
	} else if (before == after) {
		s->stable_probe_bursts++;
		if ((s->tx_probe == N_PROBE) != (allow_before == 1)) {
			s->wrong_verdicts++;
			note(s, "worker %u: generation %" PRIu64 " %s the probe flows "
			     "but they were %s", s->id, before->generation,
			     allow_before == 1 ? "allows" : "denies",
			     s->tx_probe ? "forwarded" : "dropped");
		}
	} else if ((s->tx_probe == N_PROBE) != (allow_before == 1) &&
		   (s->tx_probe == N_PROBE) != (allow_after == 1)) {
		/* neither of the two generations gives this verdict */
		s->wrong_verdicts++;
		note(s, "worker %u: verdict of neither generation %" PRIu64
		     " nor %" PRIu64, s->id, before->generation, after->generation);
	}
}

/*
 * A worker descheduled in the middle of a burst: hold generation p across
 * its replacement and a while longer (the control thread must not free it
 * before this reader's next quiescent state), then use it again. A grace
 * period that ends too early turns this into a use-after-free that ASan
 * reports deterministically, instead of a narrow race.
 */
static void
hold_across_publication(struct stress_worker *s)
{
	const struct vfw_policy *held = vfw_policy_acquire(s->pm);
	uint64_t gen = held->generation, deadline;
	int allow = gen_allows_probe(held);

	deadline = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
	while (vfw_policy_acquire(s->pm) == held &&
	       !atomic_load_explicit(s->stop, memory_order_acquire) &&
	       rte_get_tsc_cycles() < deadline)
		rte_delay_us_sleep(500);
	/* long enough for a build and a free on the control thread */
	rte_delay_us_sleep(100 * 1000);
	if (held->generation != gen || gen_allows_probe(held) != allow) {
		s->corrupt++;
		note(s, "worker %u: generation %" PRIu64 " changed while held",
		     s->id, gen);
	}
	s->holds++;
}

static int
worker_main(void *arg)
{
	struct stress_worker *s = arg;
	uint64_t seen = 0, since = 0;

	rte_rcu_qsbr_thread_register(s->qsv, s->id);
	rte_rcu_qsbr_thread_online(s->qsv, s->id);
	/* open the established sessions under the first (allowing) generation */
	one_burst(s, false);
	rte_rcu_qsbr_quiescent(s->qsv, s->id);
	atomic_store_explicit(&s->ready, true, memory_order_release);
	while (!atomic_load_explicit(s->stop, memory_order_acquire)) {
		uint64_t g = vfw_policy_acquire(s->pm)->generation;
		bool probe;

		/* fresh flows in the first burst of each generation seen and
		 * once more a little later: a bounded number of sessions */
		if (g != seen) {
			seen = g;
			since = 0;
		}
		if ((since == 0 || since == 8) && s->change_probes < PROBE_CAP) {
			probe = true;
			s->change_probes += N_PROBE;
		} else if ((s->bursts & 255) == 0 && s->extra_probes < PROBE_EXTRA) {
			probe = true;
			s->extra_probes += N_PROBE;
		} else {
			probe = false;
		}
		since++;
		if (since == 16 && (g + s->id * 16) % 32 == 0)
			hold_across_publication(s);
		one_burst(s, probe);
		rte_rcu_qsbr_quiescent(s->qsv, s->id);
		/* the lcores may share CPUs with the control thread */
		if ((s->bursts & 15) == 0)
			sched_yield();
	}
	rte_rcu_qsbr_thread_offline(s->qsv, s->id);
	rte_rcu_qsbr_thread_unregister(s->qsv, s->id);
	return 0;
}

/* ---- setup ---- */

/* The config's static neighbors, each on the port its route leaves by. */
static void
add_static_neighbors(struct vfw_neigh_table *neigh, const struct vfw_config *cfg)
{
	unsigned int r;

	for (r = 0; r < cfg->n_neighbors; r++)
		assert_int_equal(vfw_neigh_add_static(neigh,
			(uint8_t)RTE_MAX(vfw_route_port_of(cfg,
				cfg->neighbors[r].address.v4), 0),
			cfg->neighbors[r].address.v4, &cfg->neighbors[r].mac), 0);
}

/* A data plane of n workers, n queues per port, ports not started.
 * port_id: the ethdev of each role, or NULL for ports 0 and 1. */
static struct vfw_dp *
create_dp(unsigned int n, const uint16_t *port_id, struct vfw_policy_mgr *pm,
	  struct vfw_neigh_table *neigh, struct vfw_nat_pools *pools,
	  struct rte_mempool *pool, const struct vfw_config *cfg)
{
	struct vfw_dp_params dpp;
	unsigned int r;

	memset(&dpp, 0, sizeof(dpp));
	dpp.n_workers = n;
	for (r = 0; r < VFW_PORT_MAX; r++) {
		dpp.ports[r].port_id = port_id != NULL ? port_id[r] : (uint16_t)r;
		dpp.ports[r].mac = port_mac[r];
		dpp.ports[r].ip = cfg->ports[r].address.ip.v4;
		dpp.ports[r].n_rxq = dpp.ports[r].n_txq = (uint16_t)n;
	}
	dpp.pm = pm;
	dpp.neigh = neigh;
	dpp.pools = pools;
	dpp.pool = pool;
	dpp.cfg = cfg;
	dpp.socket = SOCKET_ID_ANY;
	dpp.hz = rte_get_tsc_hz();
	return vfw_dp_create(&dpp);
}

static int
setup(void **state)
{
	struct vfw_policy *p;
	unsigned int r, lc, n = 0;

	(void)state;
	memset(&T, 0, sizeof(T));
	RTE_LCORE_FOREACH_WORKER(lc)
		n++;
	T.n_workers = RTE_MAX(1u, RTE_MIN(n, (unsigned int)MAX_WORKERS));
	T.pool = rte_pktmbuf_pool_create("stress", 8191, 128, VFW_MBUF_PRIV_SIZE,
					 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(T.pool);
	T.qsv = rte_zmalloc("sqsv", rte_rcu_qsbr_get_memsize(T.n_workers),
			    RTE_CACHE_LINE_SIZE);
	assert_non_null(T.qsv);
	assert_int_equal(rte_rcu_qsbr_init(T.qsv, T.n_workers), 0);
	T.neigh = vfw_neigh_create("sneigh", 256, SOCKET_ID_ANY, T.qsv);
	assert_non_null(T.neigh);
	T.pools = vfw_nat_pools_create(T.n_workers, SOCKET_ID_ANY);
	assert_non_null(T.pools);
	T.pm = vfw_policy_mgr_create(T.n_workers, T.qsv, T.neigh, T.pools);
	assert_non_null(T.pm);
	T.cfg0 = gen_config(true, 0);
	assert_non_null(T.cfg0);
	add_static_neighbors(T.neigh, T.cfg0);
	p = gen_build(true, 0);
	assert_non_null(p);
	assert_int_equal(vfw_policy_publish(T.pm, p), 0);
	vfw_policy_sync(T.pm);

	T.dp = create_dp(T.n_workers, NULL, T.pm, T.neigh, T.pools, T.pool, T.cfg0);
	assert_non_null(T.dp);
	for (r = 0; r < T.n_workers; r++) {
		struct stress_worker *s = &T.sw[r];

		s->id = r;
		s->w = vfw_dp_worker(T.dp, r);
		assert_non_null(s->w);
		s->qsv = T.qsv;
		s->pm = T.pm;
		s->pool = T.pool;
		s->stop = &T.stop;
		est_templates(s);
		vfw_dp_set_tx_hook(s->w, collect, s);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vfw_dp_free(T.dp);
	vfw_policy_mgr_free(T.pm);
	vfw_nat_pools_free(T.pools);
	vfw_neigh_free(T.neigh);
	rte_free(T.qsv);
	vfw_config_free(T.cfg0);
	rte_mempool_free(T.pool);
	return 0;
}

static unsigned int
n_generations(void)
{
	const char *e = getenv("VFW_TEST_GENERATIONS");
	long v = e != NULL ? strtol(e, NULL, 10) : 0;

	return v > 0 && v < 100000 ? (unsigned int)v : 300;
}

/* Wait for the publication in flight, yielding the CPU to the workers. */
static void
wait_applied(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + 30 * rte_get_tsc_hz();

	while (vfw_policy_poll(T.pm) == 0) {
		if (rte_get_tsc_cycles() > deadline)
			fail_msg("a grace period did not end in 30 s");
		sched_yield();
	}
}

static uint64_t
rule_hits(const struct vfw_policy *p, const char *name)
{
	unsigned int i, n = vfw_acl_rule_count(p->acl);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_acl_rule(p->acl, i)->name, name) == 0)
			return vfw_policy_rule_hits(p, i);
	fail_msg("no rule %s", name);
	return 0;
}

/* ---- the test ---- */

static void
test_rcu_stress(void **state)
{
	unsigned int gens = n_generations(), i, w, lc, k;
	struct vfw_policy *next, *cur;
	struct vfw_dp_stats st;
	uint64_t sent = 0, drops = 0, probes = 0, probe_fwd = 0, busy = 0;
	uint64_t t0, ms, t_build = 0, t_wait = 0;
	bool final_allow;
	int rc;

	(void)state;
	k = 0;
	RTE_LCORE_FOREACH_WORKER(lc) {
		if (k == T.n_workers)
			break;
		assert_int_equal(rte_eal_remote_launch(worker_main, &T.sw[k], lc), 0);
		k++;
	}
	if (k == 0)
		fail_msg("no worker lcore (start EAL with 2+ lcores)");
	for (w = 0; w < T.n_workers; w++) {
		uint64_t deadline = rte_get_tsc_cycles() + 30 * rte_get_tsc_hz();

		while (!atomic_load_explicit(&T.sw[w].ready, memory_order_acquire)) {
			if (rte_get_tsc_cycles() > deadline)
				fail_msg("worker %u did not start", w);
			sched_yield();
		}
	}

	/*
	 * Churn. Odd i deny the probes, even i allow them. After an odd
	 * publication the next generation is built while its grace period
	 * still runs (three generations alive at once); after an even one
	 * the control thread polls at once, so the old generation is freed
	 * the moment the last worker leaves it.
	 */
	t0 = rte_get_tsc_cycles();
	for (i = 1; i <= gens; i++) {
		uint64_t t1 = rte_get_tsc_cycles();

		next = gen_build((i & 1) == 0, i);
		assert_non_null(next);
		t_build += rte_get_tsc_cycles() - t1;
		rc = vfw_policy_publish(T.pm, next);
		if (rc == -EBUSY) {
			busy++;
			t1 = rte_get_tsc_cycles();
			wait_applied();
			t_wait += rte_get_tsc_cycles() - t1;
			rc = vfw_policy_publish(T.pm, next);
		}
		assert_int_equal(rc, 0);
		if ((i & 1) == 0) {
			t1 = rte_get_tsc_cycles();
			wait_applied();
			t_wait += rte_get_tsc_cycles() - t1;
		}
	}
	wait_applied();
	ms = (rte_get_tsc_cycles() - t0) * 1000 / rte_get_tsc_hz();
	cur = vfw_policy_current(T.pm);
	assert_int_equal(vfw_policy_applied_generation(T.pm), cur->generation);
	assert_int_equal(cur->generation, gens + 1);
	final_allow = (gens & 1) == 0;
	assert_int_equal(gen_allows_probe(cur), final_allow);

	/* let every worker run a few bursts wholly on the final generation */
	for (w = 0; w < T.n_workers; w++) {
		uint64_t deadline = rte_get_tsc_cycles() + 30 * rte_get_tsc_hz();

		while (atomic_load_explicit(&T.sw[w].progress_gen,
					    memory_order_relaxed) != cur->generation ||
		       atomic_load_explicit(&T.sw[w].progress_bursts,
					    memory_order_relaxed) < 16) {
			if (rte_get_tsc_cycles() > deadline)
				fail_msg("worker %u stuck", w);
			sched_yield();
		}
	}
	atomic_store_explicit(&T.stop, true, memory_order_release);
	rte_eal_mp_wait_lcore();

	for (w = 0; w < T.n_workers; w++) {
		struct stress_worker *s = &T.sw[w];

		print_message("worker %u: %" PRIu64 " bursts, %" PRIu64 " packets, "
			      "%" PRIu64 " generation changes seen, %" PRIu64
			      " probe bursts (%" PRIu64 " on one generation), "
			      "%" PRIu64 "/%" PRIu64 " probes forwarded, "
			      "%" PRIu64 " generations held across publication, "
			      "%" PRIu64 " bursts saw a publication\n",
			      w, s->bursts, s->sent, s->gen_changes_seen,
			      s->probe_bursts, s->stable_probe_bursts,
			      s->probe_fwd, s->probe_sent, s->holds, s->straddling);
		if (s->first_error[0] != '\0')
			print_error("worker %u: %s\n", w, s->first_error);
		assert_int_equal(s->alloc_fail, 0);
		assert_int_equal(s->bad_tx, 0);
		assert_int_equal(s->est_lost, 0);
		assert_int_equal(s->est_fwd, s->est_sent);
		assert_int_equal(s->mixed_bursts, 0);
		assert_int_equal(s->wrong_verdicts, 0);
		assert_int_equal(s->corrupt, 0);
		assert_true(s->holds > 0 || gens < 64);
		assert_true(s->first_error[0] == '\0');
		/* the churn was seen: verdicts of both kinds were checked */
		assert_true(s->gen_changes_seen >= 2);
		assert_true(s->probe_fwd > 0 && s->probe_fwd < s->probe_sent);
		sent += s->sent;
		probes += s->probe_sent;
		probe_fwd += s->probe_fwd;
	}
	print_message("%u generations published in %" PRIu64 " ms (%.2f ms each: "
		      "build %.2f ms, waiting for grace periods %.2f ms; "
		      "%" PRIu64 " publications had to wait)\n",
		      gens, ms, (double)ms / gens,
		      (double)t_build * 1000 / rte_get_tsc_hz() / gens,
		      (double)t_wait * 1000 / rte_get_tsc_hz() / gens, busy);

	/* every packet forwarded or dropped for a counted reason */
	vfw_dp_stats_sum(T.dp, &st);
	for (k = 1; k < VFW_DROP_MAX; k++) {
		if (st.drops[k] != 0 && k != VFW_DROP_ACL_DENY)
			print_error("unexpected drops: %s = %" PRIu64 "\n",
				    vfw_drop_name((enum vfw_drop)k), st.drops[k]);
		drops += st.drops[k];
	}
	assert_int_equal(st.ev[VFW_EV_FORWARDED] + drops, sent);
	assert_int_equal(st.drops[VFW_DROP_ACL_DENY], probes - probe_fwd);
	assert_int_equal(st.ev[VFW_EV_TO_SLOWPATH], 0);
	assert_int_equal(st.tx[VFW_PORT_CLUSTER], st.ev[VFW_EV_FORWARDED]);
	assert_int_equal(st.ev[VFW_EV_CT_NEW], N_EST * T.n_workers + probe_fwd);

	/*
	 * Counters carried over by name through every generation: each probe
	 * was judged once, by the rule "probe" of some generation; "est"
	 * judged only the flows that opened the established sessions.
	 */
	assert_int_equal(rule_hits(cur, "probe"), probes);
	assert_int_equal(rule_hits(cur, "est"), N_EST * T.n_workers);

	/* and fresh flows now get the final generation's verdict */
	rte_rcu_qsbr_thread_register(T.qsv, 0);
	rte_rcu_qsbr_thread_online(T.qsv, 0);
	T.sw[0].first_error[0] = '\0';
	T.sw[0].probe_seq += 1000;
	one_burst(&T.sw[0], true);
	rte_rcu_qsbr_thread_offline(T.qsv, 0);
	rte_rcu_qsbr_thread_unregister(T.qsv, 0);
	assert_int_equal(T.sw[0].tx_est, N_EST);
	assert_int_equal(T.sw[0].tx_probe, final_allow ? N_PROBE : 0);
	assert_true(T.sw[0].first_error[0] == '\0');

	/* one more generation flips the verdict for the next fresh flows */
	next = gen_build(!final_allow, gens + 1);
	assert_non_null(next);
	assert_int_equal(vfw_policy_publish(T.pm, next), 0);
	vfw_policy_sync(T.pm);
	one_burst(&T.sw[0], true);
	assert_int_equal(T.sw[0].tx_est, N_EST);
	assert_int_equal(T.sw[0].tx_probe, final_allow ? 0 : N_PROBE);
	assert_int_equal(rule_hits(next, "probe"), probes + 2 * N_PROBE);
}

/* ---- next-hop hints (single lcore) ---- */

/*
 * A session's packets take the next hop their session remembers (the hint)
 * instead of a route lookup, as long as the route table is the one the
 * hint came from. Flows to 10.240.1.10 are routed by a user route to a
 * VirtualAppliance next hop; generations move that route between two
 * appliances and shift its index with a decoy route before it (another
 * table: every hint goes), or change only a rule (the same table, shared:
 * hints stay). Every packet must leave with the MAC of
 * the appliance the generation in force names, before, during and after
 * the sweep that clears old hints, and the route counters must count each
 * packet once.
 */
#define H_FLOWS 96
#define H_APPL_A 0x10
#define H_APPL_B 0x11

static struct {
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct vfw_dp *dp;
	struct vfw_worker *w;
	uint8_t tmpl[H_FLOWS][FRAME] __rte_aligned(8);
	unsigned int tx, bad, mac_seen[256];
} H;

static struct vfw_config *
hint_config(uint8_t appl, unsigned int extra_rule, bool decoy)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	size_t len = 0, cap = 4096;
	char *y = malloc(cap);

	if (y == NULL)
		abort();
	y = appendf(y, &len, &cap,
		"ports:\n"
		"  vnet: {device: h0, address: 10.0.1.4/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n"
		"  cluster: {device: h1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n"
		"vnet_prefixes: [10.0.0.0/8]\n"
		"neighbors:\n"
		"  - {address: 10.0.1.1, mac: \"02:00:00:00:bb:01\"}\n"
		"  - {address: 10.240.0.16, mac: \"02:00:00:00:bb:%02x\"}\n"
		"  - {address: 10.240.0.17, mac: \"02:00:00:00:bb:%02x\"}\n"
		"conntrack: {max_sessions: 4096}\n"
		"security_rules:\n"
		"  - {name: web, priority: 100, direction: inbound, access: allow,"
		" protocol: udp, source: [any], destination: [10.240.1.0/24]}\n",
		H_APPL_A, H_APPL_B);
	if (extra_rule)
		y = appendf(y, &len, &cap,
			"  - {name: extra%u, priority: 200, direction: inbound, access: deny,"
			" protocol: tcp, source: [172.16.0.0/16], destination: [any]}\n",
			extra_rule);
	y = appendf(y, &len, &cap, "routes:\n");
	/* a route before pods moves pods' index: a stale hint would name
	 * the decoy, whose next hop is the other appliance */
	if (decoy)
		y = appendf(y, &len, &cap,
			"  - {name: decoy, prefix: 10.99.0.0/16, next_hop_type: VirtualAppliance,"
			" next_hop: 10.240.0.%u}\n", appl == H_APPL_A ? 17 : 16);
	y = appendf(y, &len, &cap,
		"  - {name: pods, prefix: 10.240.1.0/24, next_hop_type: VirtualAppliance,"
		" next_hop: 10.240.0.%u}\n", appl == H_APPL_A ? 16 : 17);
	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(y, strlen(y), "<hints>", &errs);
	if (cfg == NULL)
		fprintf(stderr, "config: %s\n", errs.n ? errs.msg[0] : "?");
	vfw_errors_free(&errs);
	free(y);
	return cfg;
}

static void
hint_collect(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	(void)arg;
	for (i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);

		if (role != VFW_PORT_CLUSTER)
			H.bad++;
		H.mac_seen[eth->dst_addr.addr_bytes[5]]++;
		H.tx++;
		rte_pktmbuf_free(pkts[i]);
	}
}

/* Publish the generation of cfg and let the (single, in-line) worker
 * adopt it: it reports a quiescent state while the grace period runs. */
static struct vfw_policy *
hint_publish(struct vfw_config *cfg)
{
	struct vfw_errors errs;
	struct vfw_policy *p;
	uint64_t deadline = rte_get_tsc_cycles() + 30 * rte_get_tsc_hz();

	assert_non_null(cfg);
	vfw_errors_init(&errs);
	p = vfw_policy_build(H.pm, cfg, &errs);
	vfw_errors_free(&errs);
	vfw_config_free(cfg);
	assert_non_null(p);
	assert_int_equal(vfw_policy_publish(H.pm, p), 0);
	while (vfw_policy_poll(H.pm) == 0) {
		rte_rcu_qsbr_quiescent(H.qsv, 0);
		if (rte_get_tsc_cycles() > deadline)
			fail_msg("a grace period did not end in 30 s");
	}
	return p;
}

/* Every flow once, in bursts; all must leave for appliance `appl`. */
/* One packet of every flow template from the vnet side, in bursts of 32,
 * the worker's RCU reader quiescent after each. */
static void
send_flows(void)
{
	struct rte_mbuf *m[32];
	unsigned int f = 0, i, k;

	while (f < H_FLOWS) {
		k = RTE_MIN(32u, H_FLOWS - f);
		assert_int_equal(rte_pktmbuf_alloc_bulk(H.pool, m, k), 0);
		for (i = 0; i < k; i++) {
			memcpy(rte_pktmbuf_mtod(m[i], void *), H.tmpl[f + i], FRAME);
			m[i]->data_len = m[i]->pkt_len = FRAME;
			m[i]->port = VFW_PORT_VNET;
		}
		vfw_dp_process(H.w, m, (uint16_t)k, rte_rdtsc());
		rte_rcu_qsbr_quiescent(H.qsv, 0);
		f += k;
	}
}

static void
hint_round(uint8_t appl)
{
	memset(H.mac_seen, 0, sizeof(H.mac_seen));
	H.tx = 0;
	send_flows();
	assert_int_equal(H.bad, 0);
	assert_int_equal(H.tx, H_FLOWS);
	assert_int_equal(H.mac_seen[appl], H_FLOWS);
}

static uint64_t
pods_route_hits(const struct vfw_policy *p)
{
	unsigned int i, n = vfw_route_count(p->rt);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_route_get(p->rt, i)->name, "pods") == 0)
			return vfw_policy_route_hits(p, i);
	fail_msg("no route pods");
	return 0;
}

/* One worker on a hint_config(H_APPL_A) policy (not yet published, which
 * is returned), its static neighbors, H_FLOWS frame templates, this
 * thread online as the worker's RCU reader. h_teardown() undoes it. */
static struct vfw_config *
h_setup(void)
{
	struct vfw_config *cfg;
	unsigned int i;

	memset(&H, 0, sizeof(H));
	H.pool = rte_pktmbuf_pool_create("hints", 1023, 32, VFW_MBUF_PRIV_SIZE,
					 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(H.pool);
	H.qsv = rte_zmalloc("hqsv", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(H.qsv);
	assert_int_equal(rte_rcu_qsbr_init(H.qsv, 1), 0);
	H.neigh = vfw_neigh_create("hneigh", 64, SOCKET_ID_ANY, H.qsv);
	H.pools = vfw_nat_pools_create(1, SOCKET_ID_ANY);
	H.pm = vfw_policy_mgr_create(1, H.qsv, H.neigh, H.pools);
	assert_non_null(H.neigh);
	assert_non_null(H.pools);
	assert_non_null(H.pm);
	cfg = hint_config(H_APPL_A, 0, false);
	assert_non_null(cfg);
	add_static_neighbors(H.neigh, cfg);
	H.dp = create_dp(1, NULL, H.pm, H.neigh, H.pools, H.pool, cfg);
	assert_non_null(H.dp);
	H.w = vfw_dp_worker(H.dp, 0);
	vfw_dp_set_tx_hook(H.w, hint_collect, NULL);
	for (i = 0; i < H_FLOWS; i++)
		build_frame(H.tmpl[i], 10u << 24 | 1u << 8 | 50, SERVER,
			    (uint16_t)(3000 + i), 53);
	rte_rcu_qsbr_thread_register(H.qsv, 0);
	rte_rcu_qsbr_thread_online(H.qsv, 0);
	return cfg;
}

static void
h_teardown(void)
{
	rte_rcu_qsbr_thread_offline(H.qsv, 0);
	rte_rcu_qsbr_thread_unregister(H.qsv, 0);
	vfw_dp_free(H.dp);
	vfw_policy_mgr_free(H.pm);
	vfw_nat_pools_free(H.pools);
	vfw_neigh_free(H.neigh);
	rte_free(H.qsv);
	rte_mempool_free(H.pool);
}

static void
test_next_hop_hints(void **state)
{
	struct vfw_config *cfg;
	struct vfw_policy *p;
	unsigned int i;

	(void)state;
	cfg = h_setup();
	p = hint_publish(cfg);

	/* first packets (sessions, hints), then hinted ones */
	hint_round(H_APPL_A);
	hint_round(H_APPL_A);
	assert_int_equal(pods_route_hits(p), 2 * H_FLOWS);

	/* The route moves: another table. Before any sweep, during a
	 * partial one, and after a complete one. */
	p = hint_publish(hint_config(H_APPL_B, 0, true));
	hint_round(H_APPL_B);
	/* part of the sweep (a busy worker's share: 64 of 4096 sessions) */
	vfw_dp_housekeeping(H.w, rte_rdtsc());
	hint_round(H_APPL_B);
	hint_round(H_APPL_B);
	for (i = 0; i < 100; i++)
		vfw_dp_housekeeping(H.w, rte_rdtsc());
	hint_round(H_APPL_B);
	hint_round(H_APPL_B);

	/* A rule change shares the table: hints stay, and still hold. */
	p = hint_publish(hint_config(H_APPL_B, 1, true));
	hint_round(H_APPL_B);
	/* counters carried over by name: every packet counted once */
	assert_int_equal(pods_route_hits(p), 8 * H_FLOWS);

	/* Back, with the sweep in progress for a while. */
	p = hint_publish(hint_config(H_APPL_A, 1, false));
	for (i = 0; i < 4; i++) {
		hint_round(H_APPL_A);
		vfw_dp_housekeeping(H.w, rte_rdtsc());
	}
	assert_int_equal(pods_route_hits(p), 12 * H_FLOWS);

	h_teardown();
}

/* ---- existing: keep / reevaluate (single lcore) ---- */

/* Every flow of the hint harness once; returns how many were forwarded. */
static unsigned int
reeval_round(void)
{
	H.tx = 0;
	send_flows();
	return H.tx;
}

/*
 * A rule change that denies established flows: with "existing: keep"
 * their sessions carry them on; re-evaluation removes them. The request
 * goes through the worker's one-slot mailbox without waiting, so the
 * control thread's next request (a "show sessions" right after the
 * acknowledgement) can come before the worker took it, when the worker
 * is descheduled (two workers on one core). That request must not
 * replace it: it waits, here until it times out, since no worker runs,
 * and the re-evaluation then still happens at the worker's next
 * housekeeping.
 */
/* Plays a worker that claims a sessions request, is descheduled for
 * 100 ms in the middle of it, then writes one snapshot and frees the slot. */
struct slow_claim {
	struct vfw_worker *w;
	atomic_bool done;
};

static void *
slow_claimer(void *arg)
{
	struct slow_claim *sc = arg;
	int req = VFW_REQ_SESSIONS;

	while (!atomic_compare_exchange_weak(&sc->w->req, &req, VFW_REQ_TAKEN_))
		req = VFW_REQ_SESSIONS;
	rte_delay_ms(100);
	memset(&sc->w->req_out[0], 0, sizeof(sc->w->req_out[0]));
	sc->w->req_count = 1;
	atomic_store(&sc->done, true);
	atomic_store(&sc->w->req, VFW_REQ_NONE);
	return NULL;
}

static void
test_reevaluate_mailbox(void **state)
{
	struct vfw_session_snapshot snap[4];
	struct vfw_config *cfg;
	struct vfw_policy *p;
	unsigned int i;

	(void)state;
	cfg = h_setup();
	hint_publish(cfg);
	assert_int_equal(reeval_round(), H_FLOWS);
	assert_int_equal(vfw_dp_sessions(H.dp, NULL), H_FLOWS);

	/* the rule that opened them now denies: kept, they still pass */
	cfg = hint_config(H_APPL_A, 0, false);
	assert_non_null(cfg);
	assert_string_equal(cfg->rules[0].name, "web");
	cfg->rules[0].access = VFW_ACCESS_DENY;
	p = hint_publish(cfg);
	assert_int_equal(reeval_round(), H_FLOWS);
	assert_int_equal(H.w->stats.drops[VFW_DROP_ACL_DENY], 0);

	/* re-evaluated, and another request right behind it */
	vfw_dp_reevaluate(H.dp, p->generation);
	assert_int_equal(vfw_dp_request(H.dp, VFW_REQ_SESSIONS, 0, snap,
					RTE_DIM(snap), 10), -ETIMEDOUT);
	for (i = 0; i < 64 && vfw_dp_sessions(H.dp, NULL) != 0; i++)
		vfw_dp_housekeeping(H.w, rte_rdtsc());
	assert_int_equal(vfw_dp_sessions(H.dp, NULL), 0);
	assert_int_equal(H.w->stats.ev[VFW_EV_REEVAL_DROPPED], H_FLOWS);
	/* and the flows are new flows again, which the rule denies */
	assert_int_equal(reeval_round(), 0);
	assert_int_equal(H.w->stats.drops[VFW_DROP_ACL_DENY], H_FLOWS);

	/* a request no worker takes in time is withdrawn: -ETIMEDOUT, and
	 * the worker never writes into the caller's buffer afterwards */
	memset(snap, 0xa5, sizeof(snap));
	assert_int_equal(vfw_dp_request(H.dp, VFW_REQ_SESSIONS, 0, snap,
					RTE_DIM(snap), 5), -ETIMEDOUT);
	assert_int_equal(atomic_load(&H.w->req), VFW_REQ_NONE);
	vfw_dp_housekeeping(H.w, rte_rdtsc());
	for (i = 0; i < sizeof(snap); i++)
		assert_int_equal(((uint8_t *)snap)[i], 0xa5);

	/* a request the worker has claimed is waited for past the timeout:
	 * the buffer is the caller's again only once the worker is done */
	{
		struct slow_claim sc = { .w = H.w };
		pthread_t t;
		uint64_t t0 = rte_get_tsc_cycles();
		int n;

		assert_int_equal(pthread_create(&t, NULL, slow_claimer, &sc), 0);
		n = vfw_dp_request(H.dp, VFW_REQ_SESSIONS, 0, snap, RTE_DIM(snap), 10);
		assert_true(atomic_load(&sc.done));
		assert_int_equal(n, 1);
		assert_true(rte_get_tsc_cycles() - t0 >= rte_get_tsc_hz() / 20);
		assert_int_equal(pthread_join(t, NULL), 0);
	}

	/* a re-evaluation is never written over a request being carried
	 * out (the worker would free the slot and erase it): after 1 s it
	 * is given up for that worker, and the slot left alone */
	atomic_store(&H.w->req, VFW_REQ_TAKEN_);
	vfw_dp_reevaluate(H.dp, p->generation);
	assert_int_equal(atomic_load(&H.w->req), VFW_REQ_TAKEN_);
	atomic_store(&H.w->req, VFW_REQ_NONE);

	h_teardown();
}

/* ---- hand-off back-pressure (one lcore steps two workers' loops) ---- */

/*
 * Two workers, each with a receive queue on two net_ring ports; the test
 * plays the NIC (keeps a worker's vnet queue topped up from an endless
 * source of 512 UDP flows, with outside sources, so about half belong to
 * the other worker), the clock (each tick is a 50th of the longest rx
 * pause) and the scheduler: it runs one worker's loop
 * (vfw_dp_worker_poll) once a tick and the other's less often, as when
 * the owner of half the traffic gets a fraction of a CPU.
 *
 * - The slow worker runs every 32 ticks, within the longest pause: every
 *   packet offered must be forwarded (without back-pressure the fast
 *   worker would fill its ring to the slow one and drop what follows:
 *   handoff_ring_full), the fast worker must pause its receive while the
 *   ring lacks room, a paused pass must leave the NIC queue untouched,
 *   and every pass must first take what its peer handed it. Both ways.
 * - The slow worker stalls for 8 pauses' worth: the fast worker pauses
 *   for one pause, then receives again, forwards its own flows and drops
 *   (handoff_ring_full) what does not fit on the ring.
 *
 * Single-threaded, with its own clock: the outcome is the same on every
 * run.
 */
#define B_FLOWS 512
#define B_DEPTH 512       /* packets kept in the fed rx queue (net_ring: 1023) */
#define B_PER_PHASE 16000 /* packets offered per phase */
#define B_SLOW 32         /* passes of the fast worker per pass of the slow */
#define B_TICKS 50        /* ticks per longest pause */
#define B_STALL (8 * B_TICKS) /* ticks the slow worker stalls for */

static struct {
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct vfw_config *cfg;
	struct vfw_dp *dp;
	struct vfw_worker *w[2];
	struct rte_ring *rxq[2];     /* the vnet port's rx queue of worker i */
	uint16_t port[VFW_PORT_MAX];
	uint8_t tmpl[B_FLOWS][FRAME] __rte_aligned(8);
	uint64_t offered, tx, bad, pauses[2], passes[2];
	uint64_t now, tick;
	uint64_t stall_pauses;       /* the fast worker's, in the last stall */
	uint64_t stall_tx;           /* forwarded during the last stall */
} B;

static void
bp_collect(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	(void)arg;
	if (role != VFW_PORT_CLUSTER)
		B.bad += n;
	B.tx += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

/* A started net_ring port with a queue pair per worker; its rx queue q is
 * the ring "ETH_RXTX<q>_<name>" (the PMD's loopback rings). */
static uint16_t
bp_port(const char *name, struct rte_ring **rxq0, struct rte_ring **rxq1)
{
	struct rte_eth_conf conf;
	char rname[RTE_RING_NAMESIZE];
	uint16_t pid, q;

	assert_int_equal(rte_eth_dev_get_port_by_name(name, &pid), 0);
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(rte_eth_dev_configure(pid, 2, 2, &conf), 0);
	for (q = 0; q < 2; q++) {
		assert_int_equal(rte_eth_rx_queue_setup(pid, q, 1024, SOCKET_ID_ANY,
							NULL, B.pool), 0);
		assert_int_equal(rte_eth_tx_queue_setup(pid, q, 1024, SOCKET_ID_ANY,
							NULL), 0);
	}
	assert_int_equal(rte_eth_dev_start(pid), 0);
	if (rxq0 != NULL) {
		snprintf(rname, sizeof(rname), "ETH_RXTX0_%s", name);
		*rxq0 = rte_ring_lookup(rname);
		snprintf(rname, sizeof(rname), "ETH_RXTX1_%s", name);
		*rxq1 = rte_ring_lookup(rname);
		assert_non_null(*rxq0);
		assert_non_null(*rxq1);
	}
	return pid;
}

/* The NIC: keep worker q's vnet queue at B_DEPTH until limit is offered. */
static void
bp_feed(unsigned int q, uint64_t limit)
{
	struct rte_mbuf *m;

	while (B.offered < limit && rte_ring_count(B.rxq[q]) < B_DEPTH) {
		m = rte_pktmbuf_alloc(B.pool);
		assert_non_null(m);
		memcpy(rte_pktmbuf_mtod(m, void *), B.tmpl[B.offered % B_FLOWS], FRAME);
		m->data_len = m->pkt_len = FRAME;
		m->port = B.port[VFW_PORT_VNET];   /* net_ring does not set it */
		assert_int_equal(rte_ring_enqueue(B.rxq[q], m), 0);
		B.offered++;
	}
}

/* One pass of worker i's loop, and what must hold around it. */
static void
bp_pass(unsigned int i)
{
	struct vfw_worker *w = B.w[i], *peer = B.w[1 - i];
	struct rte_ring *in = peer->handoff_out[i], *out = w->handoff_out[1 - i];
	unsigned int in_before = rte_ring_count(in);
	unsigned int rx_before = rte_ring_count(B.rxq[i]), took;
	uint64_t paused = w->stats.ev[VFW_EV_HANDOFF_RX_PAUSED];

	vfw_dp_worker_poll(w, B.now);
	B.passes[i]++;
	/* first what the peer handed over: all of it, or at least what one
	 * pass of the peer's rx can add (a burst per port) */
	took = in_before - rte_ring_count(in);
	if (took != in_before && took < 2 * VFW_BURST)
		fail_msg("worker %u took %u of %u handed to it", i, took, in_before);
	if (w->stats.ev[VFW_EV_HANDOFF_RX_PAUSED] != paused) {
		/* paused for want of room (a burst per port), the NIC
		 * queue untouched */
		B.pauses[i]++;
		assert_true(rte_ring_free_count(out) < 2 * VFW_BURST);
		assert_int_equal(rte_ring_count(B.rxq[i]), rx_before);
	} else {
		assert_int_equal(rte_ring_count(B.rxq[i]),
				 rx_before - RTE_MIN(rx_before, (unsigned int)VFW_BURST));
	}
}

/*
 * Offer B_PER_PHASE packets on fast's queue, one tick per pass of fast;
 * the other worker sleeps for the first stall ticks, then runs every
 * B_SLOW ticks. Ends when everything offered has left the rings.
 */
static void
bp_phase(unsigned int fast, uint64_t stall)
{
	uint64_t limit = B.offered + B_PER_PHASE, it;
	/* enough passes for every packet many times over: more would mean
	 * that the workers stopped making progress */
	uint64_t max_it = stall + 64 * B_PER_PHASE / VFW_BURST;
	uint64_t paused = B.pauses[fast], tx = B.tx;

	for (it = 0; it < max_it; it++, B.now += B.tick) {
		if (it == stall) {
			B.stall_pauses = B.pauses[fast] - paused;
			B.stall_tx = B.tx - tx;
		}
		bp_feed(fast, limit);
		bp_pass(fast);
		if (it >= stall && it % B_SLOW == B_SLOW - 1)
			bp_pass(1 - fast);
		if (B.offered == limit && rte_ring_count(B.rxq[fast]) == 0 &&
		    rte_ring_count(B.w[0]->handoff_out[1]) == 0 &&
		    rte_ring_count(B.w[1]->handoff_out[0]) == 0)
			return;
	}
	fail_msg("no progress: %" PRIu64 " offered, %" PRIu64 " forwarded after %"
		 PRIu64 " passes", B.offered, B.tx, it);
}

/* Two workers on two started net_ring ports, the tx hook counting. */
static void
bp_setup(void)
{
	struct vfw_policy *p;
	unsigned int i;

	memset(&B, 0, sizeof(B));
	B.pool = rte_pktmbuf_pool_create("bp", 8191, 128, VFW_MBUF_PRIV_SIZE,
					 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(B.pool);
	B.port[VFW_PORT_VNET] = bp_port("net_ring0", &B.rxq[0], &B.rxq[1]);
	B.port[VFW_PORT_CLUSTER] = bp_port("net_ring1", NULL, NULL);
	B.qsv = rte_zmalloc("bqsv", rte_rcu_qsbr_get_memsize(2), RTE_CACHE_LINE_SIZE);
	assert_non_null(B.qsv);
	assert_int_equal(rte_rcu_qsbr_init(B.qsv, 2), 0);
	B.neigh = vfw_neigh_create("bneigh", 64, SOCKET_ID_ANY, B.qsv);
	B.pools = vfw_nat_pools_create(2, SOCKET_ID_ANY);
	B.pm = vfw_policy_mgr_create(2, B.qsv, B.neigh, B.pools);
	assert_non_null(B.neigh);
	assert_non_null(B.pools);
	assert_non_null(B.pm);
	B.cfg = gen_config(true, 0);
	assert_non_null(B.cfg);
	add_static_neighbors(B.neigh, B.cfg);
	{
		struct vfw_errors errs;

		vfw_errors_init(&errs);
		p = vfw_policy_build(B.pm, B.cfg, &errs);
		vfw_errors_free(&errs);
	}
	assert_non_null(p);
	assert_int_equal(vfw_policy_publish(B.pm, p), 0);
	vfw_policy_sync(B.pm);

	B.dp = create_dp(2, B.port, B.pm, B.neigh, B.pools, B.pool, B.cfg);
	assert_non_null(B.dp);
	for (i = 0; i < 2; i++) {
		B.w[i] = vfw_dp_worker(B.dp, i);
		vfw_dp_set_tx_hook(B.w[i], bp_collect, NULL);
	}
}

static void
bp_teardown(void)
{
	unsigned int r;

	vfw_dp_free(B.dp);
	/* stopped, not closed: closing a net_ring port removes it, and the
	 * next test sets it up again */
	for (r = 0; r < VFW_PORT_MAX; r++)
		assert_int_equal(rte_eth_dev_stop(B.port[r]), 0);
	vfw_policy_mgr_free(B.pm);
	vfw_nat_pools_free(B.pools);
	vfw_neigh_free(B.neigh);
	vfw_config_free(B.cfg);
	rte_free(B.qsv);
	rte_mempool_free(B.pool);
}

static void
test_handoff_backpressure(void **state)
{
	struct vfw_dp_stats st;
	unsigned int i, k;
	uint64_t drops = 0, pause_passes, tx0;

	(void)state;
	bp_setup();
	/* 10.100.x.y:10000+ -> 10.240.1.10:6000, allowed by "probe" */
	for (i = 0; i < B_FLOWS; i++)
		build_frame(B.tmpl[i], 10u << 24 | 100u << 16 | (i * 7919u & 0xffff),
			    SERVER, (uint16_t)(10000 + i), PROBE_PORT);

	B.now = rte_rdtsc();
	B.tick = B.w[0]->handoff_pause_max / B_TICKS;
	assert_true(B.tick > 0);
	/* passes of one pause: those less than the limit after its start */
	pause_passes = (B.w[0]->handoff_pause_max + B.tick - 1) / B.tick;

	bp_phase(0, 0);   /* worker 1 gets one pass in B_SLOW */
	bp_phase(1, 0);   /* and the other way round */

	vfw_dp_stats_sum(B.dp, &st);
	for (k = 1; k < VFW_DROP_MAX; k++) {
		if (st.drops[k] != 0)
			print_error("drops: %s = %" PRIu64 "\n",
				    vfw_drop_name((enum vfw_drop)k), st.drops[k]);
		drops += st.drops[k];
	}
	print_message("%" PRIu64 " offered, %" PRIu64 " forwarded, %" PRIu64
		      " handed off; passes %" PRIu64 "/%" PRIu64 ", paused %"
		      PRIu64 "/%" PRIu64 "\n", B.offered, B.tx,
		      st.ev[VFW_EV_HANDOFF_OUT], B.passes[0], B.passes[1],
		      B.pauses[0], B.pauses[1]);
	assert_int_equal(drops, 0);
	assert_int_equal(st.drops[VFW_DROP_HANDOFF_FULL], 0);
	assert_int_equal(B.bad, 0);
	assert_int_equal(B.offered, 2 * B_PER_PHASE);
	assert_int_equal(B.tx, B.offered);
	assert_int_equal(st.ev[VFW_EV_FORWARDED], B.offered);
	assert_int_equal(st.rx[VFW_PORT_VNET], B.offered);
	/* the traffic crossed, both ways, and the fast side was held back */
	assert_int_equal(st.ev[VFW_EV_HANDOFF_IN], st.ev[VFW_EV_HANDOFF_OUT]);
	assert_true(B.w[0]->stats.ev[VFW_EV_HANDOFF_OUT] > B_PER_PHASE / 4);
	assert_true(B.w[1]->stats.ev[VFW_EV_HANDOFF_OUT] > B_PER_PHASE / 4);
	assert_true(B.pauses[0] > 0);
	assert_true(B.pauses[1] > 0);
	assert_int_equal(st.ev[VFW_EV_HANDOFF_RX_PAUSED], B.pauses[0] + B.pauses[1]);

	/* Worker 1 stalls: worker 0 pauses once, for the longest pause, then
	 * serves its own flows and drops what worker 1 cannot take. */
	tx0 = B.tx;
	bp_phase(0, B_STALL);
	vfw_dp_stats_sum(B.dp, &st);
	print_message("stall: %" PRIu64 " paused passes (a pause: %" PRIu64
		      "), %" PRIu64 " forwarded during it, %" PRIu64 " in the phase, %"
		      PRIu64 " dropped at the ring\n",
		      B.stall_pauses, pause_passes, B.stall_tx, B.tx - tx0,
		      st.drops[VFW_DROP_HANDOFF_FULL]);
	assert_int_equal(B.stall_pauses, pause_passes);
	assert_true(st.drops[VFW_DROP_HANDOFF_FULL] > 0);
	/* every packet forwarded or dropped there, and nothing else */
	assert_int_equal(B.tx + st.drops[VFW_DROP_HANDOFF_FULL], B.offered);
	assert_int_equal(B.offered, 3 * B_PER_PHASE);
	for (k = 1; k < VFW_DROP_MAX; k++)
		if (k != VFW_DROP_HANDOFF_FULL)
			assert_int_equal(st.drops[k], 0);
	/* worker 0's own flows went on while worker 1 stalled: a pause
	 * without end would have stopped them once the ring filled (about
	 * 64 ticks, 16 own packets a tick), past the limit they get about
	 * 16 a tick */
	assert_true(B.stall_tx > 4 * B_STALL);

	bp_teardown();
}

/*
 * A packet arrives on the queue the NIC's RSS gives its addresses; the
 * worker it lands on keeps it when the owner function agrees. For a
 * packet from an outside client to an inside address that NAT uses on the
 * vnet side (the vnet port's own address: SNAT replies, port forwards) it
 * must: inside addresses count as that address. Worker 0 is fed packets
 * from clients X to the vnet address V that a round-robin table of 128
 * puts on its queue, then ones it puts on worker 1's: the first stay, the
 * second are all handed over. V is 10.0.1.5: Toeplitz(0, V) has its low
 * bit set, so counting inside addresses as 0.0.0.0 would put half of
 * these flows on the other worker (Toeplitz is linear: (X, V) and (X, 0)
 * differ by Toeplitz(0, V)), and the test would see it.
 */
#define O_PKTS 64

static void
owner_feed(uint32_t vnet, unsigned int nic_queue)
{
	uint32_t x;
	unsigned int n = 0;

	for (x = 100u << 24 | 64u << 16; n < O_PKTS; x += 7919) {
		struct rte_mbuf *m;
		uint32_t h = vfw_dp_rss_hash(rte_cpu_to_be_32(x), rte_cpu_to_be_32(vnet));

		if ((h % VFW_RSS_RETA_SIZE) % 2 != nic_queue)
			continue;
		m = rte_pktmbuf_alloc(B.pool);
		assert_non_null(m);
		build_frame(rte_pktmbuf_mtod(m, uint8_t *), x, vnet, 40000, 6000);
		m->data_len = m->pkt_len = FRAME;
		m->port = B.port[VFW_PORT_VNET];
		assert_int_equal(rte_ring_enqueue(B.rxq[0], m), 0);
		n++;
	}
	while (rte_ring_count(B.rxq[0]) != 0)
		vfw_dp_worker_poll(B.w[0], rte_rdtsc());
}

static void
test_owner_vnet_address(void **state)
{
	const uint32_t vnet = 10u << 24 | 1u << 8 | 5u;

	(void)state;
	gen_vnet_host = 5;
	bp_setup();
	gen_vnet_host = 4;
	owner_feed(vnet, 0);
	assert_int_equal(B.w[0]->stats.rx[VFW_PORT_VNET], O_PKTS);
	assert_int_equal(B.w[0]->stats.ev[VFW_EV_HANDOFF_OUT], 0);
	owner_feed(vnet, 1);
	assert_int_equal(B.w[0]->stats.rx[VFW_PORT_VNET], 2 * O_PKTS);
	assert_int_equal(B.w[0]->stats.ev[VFW_EV_HANDOFF_OUT], O_PKTS);
	vfw_dp_worker_poll(B.w[1], rte_rdtsc());
	assert_int_equal(B.w[1]->stats.ev[VFW_EV_HANDOFF_IN], O_PKTS);
	bp_teardown();
}

/*
 * Build the --lcores argument: lcores 0..2 all floating over the CPUs this
 * process may use, so that the test runs on a machine with fewer than three
 * CPUs (the workers and the control thread then share them).
 */
static void
lcores_arg(char *buf, size_t sz)
{
	cpu_set_t set;
	size_t len;
	int c, first = 1;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) == 0) {
		snprintf(buf, sz, "--lcores=0@0,1@0,2@0");
		return;
	}
	len = (size_t)snprintf(buf, sz, "--lcores=(0-2)@(");
	for (c = 0; c < CPU_SETSIZE && len + 8 < sz; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		len += (size_t)snprintf(buf + len, sz - len, "%s%d", first ? "" : ",", c);
		first = 0;
	}
	snprintf(buf + len, sz - len, ")");
}

/*
 * Flow ownership hashes like a NIC's RSS with vnetfw's key: the table
 * version equals DPDK's rte_softrss() (the bitwise reference) on the same
 * pair, is the same both ways round, and the owner of an all-outside pair
 * is the queue a round-robin redirection table of the port's size gives it.
 */
static void
test_rss_hash(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned int i, same = 0;

	(void)state;
	for (i = 0; i < 100000; i++) {
		uint32_t a, b, t[2], h;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		a = (uint32_t)(seed >> 32);
		b = (uint32_t)seed;
		if (i % 7 == 0)
			b = 0; /* an inside address: outside() is 0 */
		t[0] = rte_be_to_cpu_32(a);
		t[1] = rte_be_to_cpu_32(b);
		h = vfw_dp_rss_hash(a, b);
		assert_int_equal(h, rte_softrss(t, 2, vfw_rss_key));
		assert_int_equal(h, vfw_dp_rss_hash(b, a));
		same += (h % VFW_RSS_RETA_SIZE) % 2 == (h & 1);
		/* the owner is the queue of a round-robin table of the
		 * port's size, also when N does not divide 128 */
		assert_int_equal(vfw_dp_rss_owner(h, 511, 3), (h % 512) % 3);
		assert_int_equal(vfw_dp_rss_owner(h, 127, 2), (h % 128) % 2);
		assert_int_equal(vfw_dp_rss_owner(h, 63, 4), h % 4);
	}
	/* with N a power of two the table is the hash's low bits */
	assert_int_equal(same, 100000);
	/* and a known value, so that a change of key or byte order shows:
	 * 10.0.0.1 -> 10.0.0.2 with the 0x6d5a key, as the bitwise Toeplitz
	 * of scripts/bench-rig.sh (Python) computes it */
	assert_int_equal(vfw_dp_rss_hash(rte_cpu_to_be_32(0x0a000001u),
					 rte_cpu_to_be_32(0x0a000002u)), 0xadfbadfbu);
}

int
main(void)
{
	static char lcores[1024];
	char *eal_args[] = {
		"test_dataplane", lcores, "--no-huge", "--no-pci", "-m", "1024",
		"--file-prefix=test_dataplane", "--no-shconf", "--log-level=lib.*:error",
		"--no-telemetry", "--vdev=net_ring0", "--vdev=net_ring1",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rcu_stress, setup, teardown),
		cmocka_unit_test(test_next_hop_hints),
		cmocka_unit_test(test_reevaluate_mailbox),
		cmocka_unit_test(test_handoff_backpressure),
		cmocka_unit_test(test_owner_vnet_address),
		cmocka_unit_test(test_rss_hash),
	};
	int rc;

	lcores_arg(lcores, sizeof(lcores));
	if (rte_eal_init((int)RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
