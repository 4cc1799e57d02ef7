/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the whole per-packet pipeline (parse, local, conntrack, ACL,
 * NAT, route, slow path) against a fixed policy. Sessions and neighbor
 * state persist across inputs, as they would in a running worker.
 *
 * Input: the first byte is a mode. Bit 7 clear: one frame, the rest of the
 * input, arriving on port (byte & 1). Bit 7 set: one rx burst, the rest is
 * up to VFW_BURST records [port & 1][length, 2 bytes big endian][frame],
 * processed by one vfw_dp_process() call, so that what depends on other
 * packets of the same burst (a session or a fragment record made by an
 * earlier packet, same-flow packets, the order of ARP and routed packets
 * on the slow path) is reached too.
 * Bit 1 of a frame's port byte says the port verified its L4 checksum
 * (RTE_MBUF_F_RX_L4_CKSUM_GOOD, as a NIC with rx offload does): without
 * it the pipeline checks the L4 checksum of every packet that would open
 * a session, which mutated frames rarely pass, so that the session, ACL
 * and NAT paths stay in reach of the mutations.
 */
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "vnetfw/dataplane.h"

static const char policy[] =
	"ports:\n"
	"  vnet: {device: f0, address: 10.0.1.4/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n"
	"  cluster: {device: f1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n"
	"vnet_prefixes: [10.0.0.0/8]\n"
	"neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:bb:01\"}]\n"
	"address_sets: {Svc: [10.240.1.0/24]}\n"
	"security_rules:\n"
	"  - {name: web, priority: 100, direction: inbound, access: allow, protocol: tcp,\n"
	"     source: [any], destination: [Svc], destination_ports: [80, 443, 8000-9000]}\n"
	"  - {name: dns, priority: 110, direction: inbound, access: allow, protocol: udp,\n"
	"     source: [any], destination: [Svc], destination_ports: [53]}\n"
	"  - {name: ping, priority: 120, direction: inbound, access: allow, protocol: icmp,\n"
	"     source: [any], destination: [any]}\n"
	"  - {name: no-ssh, priority: 130, direction: inbound, access: deny, protocol: tcp,\n"
	"     source: [any], destination: [any], destination_ports: [22]}\n"
	"nat:\n"
	"  dnat: [{name: pub, protocol: tcp, destination: 10.0.1.4, destination_port: 8080,\n"
	"          translated_address: 10.240.1.10, translated_port: 80}]\n"
	"  snat: [{name: out, source: [10.240.0.0/16], exclude: [10.0.0.0/8],\n"
	"          translated_addresses: [10.0.1.4], ports: 1024-2047}]\n"
	"routes:\n"
	"  - {name: hole, prefix: 10.66.0.0/16, next_hop_type: None}\n"
	"  - {name: spoke, prefix: 10.2.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.0.1.10}\n"
	"conntrack: {max_sessions: 4096}\n";

static struct rte_mempool *pool;
static struct vfw_dp *dp;
static struct vfw_worker *w;
static struct vfw_config *cfg;
static struct rte_rcu_qsbr *qsv;
static struct vfw_neigh_table *neigh;
static struct vfw_nat_pools *pools;
static struct vfw_policy_mgr *pm;

/* Free everything at exit so LeakSanitizer reports only real leaks. */
static void
cleanup(void)
{
	rte_rcu_qsbr_thread_offline(qsv, 0);
	rte_rcu_qsbr_thread_unregister(qsv, 0);
	vfw_dp_free(dp);
	vfw_policy_mgr_free(pm);
	vfw_nat_pools_free(pools);
	vfw_neigh_free(neigh);
	rte_free(qsv);
	vfw_config_free(cfg);
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

static void
sink(void *arg, uint8_t role, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	(void)arg;
	(void)role;
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { "fuzz_pipeline", "--no-huge", "--no-pci", "-m", "256",
			"--file-prefix=fuzz_pipeline", "--log-level=*:error",
			"--no-telemetry", "--no-shconf", NULL };
	struct vfw_errors errs;
	struct vfw_policy *p;
	struct vfw_dp_params dpp;
	unsigned int r;

	(void)argc;
	(void)argv;
	if (rte_eal_init(9, eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fz", 4095, 0, VFW_MBUF_PRIV_SIZE,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(policy, sizeof(policy) - 1, "<fuzz>", &errs);
	if (cfg == NULL || pool == NULL)
		abort();
	qsv = rte_zmalloc("fqsv", rte_rcu_qsbr_get_memsize(1), 64);
	rte_rcu_qsbr_init(qsv, 1);
	neigh = vfw_neigh_create("fneigh", 64, 0, qsv);
	pools = vfw_nat_pools_create(1, 0);
	pm = vfw_policy_mgr_create(1, qsv, neigh, pools);
	vfw_neigh_add_static(neigh, 0, cfg->neighbors[0].address.v4, &cfg->neighbors[0].mac);
	p = vfw_policy_build(pm, cfg, &errs);
	if (p == NULL)
		abort();
	vfw_policy_publish(pm, p);
	vfw_policy_sync(pm);
	memset(&dpp, 0, sizeof(dpp));
	dpp.n_workers = 1;
	for (r = 0; r < VFW_PORT_MAX; r++) {
		dpp.ports[r].port_id = (uint16_t)r;
		dpp.ports[r].mac = cfg->ports[r].mac;
		dpp.ports[r].ip = cfg->ports[r].address.ip.v4;
		dpp.ports[r].n_rxq = dpp.ports[r].n_txq = 1;
		/* different MTUs: fragmentation and fragmentation needed */
		dpp.ports[r].mtu = r == VFW_PORT_VNET ? 1500 : 1280;
	}
	dpp.pm = pm;
	dpp.neigh = neigh;
	dpp.pools = pools;
	dpp.pool = pool;
	dpp.cfg = cfg;
	dpp.hz = rte_get_tsc_hz();
	dp = vfw_dp_create(&dpp);
	if (dp == NULL)
		abort();
	w = vfw_dp_worker(dp, 0);
	vfw_dp_set_tx_hook(w, sink, NULL);
	rte_rcu_qsbr_thread_register(qsv, 0);
	rte_rcu_qsbr_thread_online(qsv, 0);
	vfw_errors_free(&errs);
	atexit(cleanup);
	return 0;
}

static struct rte_mbuf *
frame_mbuf(const uint8_t *data, size_t size, uint8_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d;

	if (m == NULL)
		abort();
	if (size > rte_pktmbuf_tailroom(m))
		size = rte_pktmbuf_tailroom(m);
	d = rte_pktmbuf_append(m, (uint16_t)size);
	memcpy(d, data, size);
	m->port = port & 1;
	if (port & 2)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *pkts[VFW_BURST];
	uint64_t now = rte_rdtsc();
	uint16_t n = 0;
	size_t off, len;

	if (size < 1)
		return 0;
	if (!(data[0] & 0x80)) {
		pkts[n++] = frame_mbuf(data + 1, size - 1, data[0]);
	} else {
		for (off = 1; off + 3 <= size && n < VFW_BURST; off += 3 + len) {
			len = RTE_MIN((size_t)(data[off + 1] << 8 | data[off + 2]),
				      size - off - 3);
			pkts[n++] = frame_mbuf(data + off + 3, len, data[off]);
		}
	}
	if (n != 0)
		vfw_dp_process(w, pkts, n, now);
	vfw_dp_slowpath_poll(dp, now);
	vfw_dp_housekeeping(w, now);
	/* everything must have been sent, held or freed: nothing leaks */
	return 0;
}
