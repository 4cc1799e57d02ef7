/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/policy: generation numbering (build, publish, poll,
 * -EBUSY while a publication is in flight), the RCU grace period seen from
 * a simulated worker, counter carry-over by rule/route/NAT name across
 * generations, the owned addresses and "inside" prefixes derived from a
 * config, and freeing of failed builds (nothing leaks, names are reusable).
 *
 * The test thread plays both roles: it is the control thread, and it
 * drives a registered qsbr reader (thread id 0) by hand, so that "a worker
 * is still in a burst of the old generation" is a deterministic state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "vnetfw/policy.h"

#define N_READERS 2

/* ---- fixture: a manager with its own qsbr variable, neighbors, pools ---- */

struct fx {
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	unsigned int n_workers;
};

static unsigned int fx_seq;

static void
fx_init(struct fx *f, unsigned int n_workers)
{
	char name[32];

	memset(f, 0, sizeof(*f));
	f->n_workers = n_workers;
	f->qsv = rte_zmalloc("tp_qsv", rte_rcu_qsbr_get_memsize(N_READERS),
			     RTE_CACHE_LINE_SIZE);
	assert_non_null(f->qsv);
	assert_int_equal(rte_rcu_qsbr_init(f->qsv, N_READERS), 0);
	snprintf(name, sizeof(name), "tp_neigh%u", fx_seq++);
	f->neigh = vfw_neigh_create(name, 64, SOCKET_ID_ANY, f->qsv);
	assert_non_null(f->neigh);
	f->pools = vfw_nat_pools_create(n_workers, SOCKET_ID_ANY);
	assert_non_null(f->pools);
	f->pm = vfw_policy_mgr_create(n_workers, f->qsv, f->neigh, f->pools);
	assert_non_null(f->pm);
}

static void
fx_fini(struct fx *f)
{
	vfw_policy_mgr_free(f->pm);
	vfw_nat_pools_free(f->pools);
	vfw_neigh_free(f->neigh);
	rte_free(f->qsv);
}

static struct vfw_config *
load(const char *yaml)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	unsigned int i;

	vfw_errors_init(&errs);
	cfg = vfw_config_load_string(yaml, strlen(yaml), "<test>", &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "config error: %s\n", errs.msg[i]);
	assert_non_null(cfg);
	vfw_errors_free(&errs);
	return cfg;
}

static struct vfw_policy *
build_ok(struct fx *f, const char *yaml)
{
	struct vfw_errors errs;
	struct vfw_config *cfg = load(yaml);
	struct vfw_policy *p;
	unsigned int i;

	vfw_errors_init(&errs);
	p = vfw_policy_build(f->pm, cfg, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "build error: %s\n", errs.msg[i]);
	assert_non_null(p);
	assert_int_equal(errs.n, 0);
	vfw_errors_free(&errs);
	vfw_config_free(cfg);
	return p;
}

/* Publish and wait (no reader online: the grace period is immediate). */
static void
install(struct fx *f, struct vfw_policy *p)
{
	assert_int_equal(vfw_policy_publish(f->pm, p), 0);
	vfw_policy_sync(f->pm);
	assert_ptr_equal(vfw_policy_current(f->pm), p);
	assert_int_equal(vfw_policy_applied_generation(f->pm), p->generation);
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;
	unsigned int i;
	size_t sum = 0;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
						&st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static uint32_t
ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ---- index lookups by name ---- */

static int
rule_idx(const struct vfw_policy *p, const char *name)
{
	unsigned int i, n = vfw_acl_rule_count(p->acl);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_acl_rule(p->acl, i)->name, name) == 0)
			return (int)i;
	return -1;
}

static int
route_idx(const struct vfw_policy *p, const char *name)
{
	unsigned int i, n = vfw_route_count(p->rt);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_route_get(p->rt, i)->name, name) == 0)
			return (int)i;
	return -1;
}

static int
dnat_idx(const struct vfw_policy *p, const char *name)
{
	unsigned int i, n = vfw_nat_dnat_count(p->nat);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_nat_dnat(p->nat, i)->name, name) == 0)
			return (int)i;
	return -1;
}

static int
snat_idx(const struct vfw_policy *p, const char *name)
{
	unsigned int i, n = vfw_nat_snat_count(p->nat);

	for (i = 0; i < n; i++)
		if (strcmp(vfw_nat_snat(p->nat, i)->name, name) == 0)
			return (int)i;
	return -1;
}

/* What a worker does: bump a per-worker counter of generation p. */
static void
hit_rule(struct vfw_policy *p, unsigned int w, const char *name, uint64_t n)
{
	int i = rule_idx(p, name);

	assert_true(i >= 0);
	assert_true(w < p->n_workers);
	p->ctr[w].rule_hits[i] += n;
}

static uint64_t
rule_hits(const struct vfw_policy *p, const char *name)
{
	int i = rule_idx(p, name);

	assert_true(i >= 0);
	return vfw_policy_rule_hits(p, (unsigned int)i);
}

static uint64_t
route_hits(const struct vfw_policy *p, const char *name)
{
	int i = route_idx(p, name);

	assert_true(i >= 0);
	return vfw_policy_route_hits(p, (unsigned int)i);
}

/* ---- configs ---- */

#define PORTS \
	"ports:\n" \
	"  vnet: {device: t0, address: 10.0.1.4/24, gateway: 10.0.1.1, mac: \"02:00:00:00:aa:01\"}\n" \
	"  cluster: {device: t1, address: 10.240.0.4/16, mac: \"02:00:00:00:aa:02\"}\n" \
	"vnet_prefixes: [10.0.0.0/8]\n"

static const char cfg_min[] = PORTS;

/* rule r-<tag> at priority prio, inbound tcp to port dport */
static char *
cfg_rules(const char *const *names, unsigned int n)
{
	size_t cap = 4096 + n * 256, len;
	char *y = malloc(cap);
	unsigned int i;

	assert_non_null(y);
	len = (size_t)snprintf(y, cap, "%ssecurity_rules:\n", PORTS);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {name: %s, priority: %u, direction: inbound, access: allow,"
			" protocol: tcp, source: [any], destination: [any],"
			" destination_ports: [%u]}\n", names[i], 100 + i, 1000 + i);
	return y;
}

/* ---- generation numbering ---- */

static void
test_generation_numbering(void **state)
{
	struct fx f;
	struct vfw_policy *p1, *p2, *p3, *p4;

	(void)state;
	fx_init(&f, 1);
	assert_null(vfw_policy_current(f.pm));
	assert_int_equal(vfw_policy_applied_generation(f.pm), 0);
	/* nothing in flight: poll is done at once */
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_ptr_equal(vfw_policy_qsv(f.pm), f.qsv);

	p1 = build_ok(&f, cfg_min);
	assert_int_equal(p1->generation, 1);
	assert_int_equal(p1->n_workers, 1);
	/* built, not published: nothing runs it yet */
	assert_null(vfw_policy_current(f.pm));
	assert_int_equal(vfw_policy_applied_generation(f.pm), 0);
	assert_int_equal(vfw_policy_publish(f.pm, p1), 0);
	assert_ptr_equal(vfw_policy_current(f.pm), p1);
	assert_ptr_equal(vfw_policy_acquire(f.pm), p1);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 1);

	/* each build takes the next number, published or not */
	p2 = build_ok(&f, cfg_min);
	p3 = build_ok(&f, cfg_min);
	assert_int_equal(p2->generation, 2);
	assert_int_equal(p3->generation, 3);
	vfw_policy_free(p2);     /* never published: the number is skipped */
	install(&f, p3);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 3);

	p4 = build_ok(&f, cfg_min);
	assert_int_equal(p4->generation, 4);
	install(&f, p4);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 4);
	/* polling again after completion is harmless */
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 4);
	fx_fini(&f);
}

/*
 * A reader (worker) is online and has not reported a quiescent state: the
 * publication stays in flight, a second one is refused with -EBUSY, the
 * applied generation does not move; it completes once the reader passes a
 * quiescent state. A reader that goes offline does not hold it up either.
 */
static void
test_publish_in_flight(void **state)
{
	struct fx f;
	struct vfw_policy *p1, *p2, *p3, *p4;
	unsigned int i;

	(void)state;
	fx_init(&f, 2);
	p1 = build_ok(&f, cfg_min);
	install(&f, p1);

	assert_int_equal(rte_rcu_qsbr_thread_register(f.qsv, 0), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(f.qsv, 1), 0);
	rte_rcu_qsbr_thread_online(f.qsv, 0);
	rte_rcu_qsbr_thread_online(f.qsv, 1);
	/* the worker is in a burst that loaded generation 1 */
	assert_ptr_equal(vfw_policy_acquire(f.pm), p1);

	p2 = build_ok(&f, cfg_min);
	p3 = build_ok(&f, cfg_min);
	assert_int_equal(vfw_policy_publish(f.pm, p2), 0);
	/* new bursts see p2 at once; p1 is still alive for the old burst */
	assert_ptr_equal(vfw_policy_acquire(f.pm), p2);
	assert_int_equal(p1->generation, 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(vfw_policy_poll(f.pm), 0);
		assert_int_equal(vfw_policy_applied_generation(f.pm), 1);
		assert_int_equal(vfw_policy_publish(f.pm, p3), -EBUSY);
	}
	/* one of two readers passes: still waiting for the other */
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	assert_int_equal(vfw_policy_poll(f.pm), 0);
	assert_int_equal(vfw_policy_publish(f.pm, p3), -EBUSY);
	rte_rcu_qsbr_quiescent(f.qsv, 1);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 2);

	/* now p3 may go; a reader that goes offline does not block it */
	assert_int_equal(vfw_policy_publish(f.pm, p3), 0);
	assert_int_equal(vfw_policy_poll(f.pm), 0);
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	rte_rcu_qsbr_thread_offline(f.qsv, 1);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 3);

	/* quiescent states reported before a publication do not count */
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	p4 = build_ok(&f, cfg_min);
	assert_int_equal(vfw_policy_publish(f.pm, p4), 0);
	assert_int_equal(vfw_policy_poll(f.pm), 0);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 3);
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(vfw_policy_applied_generation(f.pm), 4);

	rte_rcu_qsbr_thread_offline(f.qsv, 0);
	rte_rcu_qsbr_thread_unregister(f.qsv, 0);
	rte_rcu_qsbr_thread_unregister(f.qsv, 1);
	fx_fini(&f);
}

/* Applied generations only increase, over many publications. */
static void
test_generation_monotonic(void **state)
{
	struct fx f;
	uint64_t last = 0;
	unsigned int i;

	(void)state;
	fx_init(&f, 1);
	assert_int_equal(rte_rcu_qsbr_thread_register(f.qsv, 0), 0);
	rte_rcu_qsbr_thread_online(f.qsv, 0);
	for (i = 0; i < 40; i++) {
		struct vfw_policy *p = build_ok(&f, cfg_min);
		int polls = 0;

		assert_true(p->generation > last);
		assert_int_equal(vfw_policy_publish(f.pm, p), 0);
		while (vfw_policy_poll(f.pm) == 0) {
			assert_int_equal(vfw_policy_applied_generation(f.pm), last);
			/* the "worker" finishes its burst after a few polls */
			if (++polls == 1 + (int)(i % 3))
				rte_rcu_qsbr_quiescent(f.qsv, 0);
			assert_true(polls < 10);
		}
		assert_int_equal(vfw_policy_applied_generation(f.pm), p->generation);
		last = p->generation;
	}
	assert_int_equal(last, 40);
	rte_rcu_qsbr_thread_offline(f.qsv, 0);
	rte_rcu_qsbr_thread_unregister(f.qsv, 0);
	fx_fini(&f);
}

/* ---- counters ---- */

static const char cfg_ctr_a[] = PORTS
	"neighbors: [{address: 10.0.1.10, mac: \"02:00:00:00:bb:01\"}]\n"
	"security_rules:\n"
	"  - {name: keep, priority: 100, direction: inbound, access: allow,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [80]}\n"
	"  - {name: old-name, priority: 110, direction: inbound, access: allow,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [81]}\n"
	"  - {name: gone, priority: 120, direction: outbound, access: deny,"
	" protocol: udp, source: [any], destination: [any]}\n"
	"  - {name: edited, priority: 130, direction: inbound, access: allow,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [82]}\n"
	"nat:\n"
	"  dnat:\n"
	"    - {name: web, protocol: tcp, destination: 10.0.1.4, destination_port: 8080,"
	" translated_address: 10.240.1.10, translated_port: 80}\n"
	"    - {name: dgone, protocol: tcp, destination: 10.0.1.4, destination_port: 2222,"
	" translated_address: 10.240.1.11, translated_port: 22}\n"
	"  snat:\n"
	"    - {name: egress, source: [10.240.0.0/16], exclude: [10.0.0.0/8],"
	" translated_addresses: [10.0.1.4]}\n"
	"routes:\n"
	"  - {name: hole, prefix: 10.66.0.0/16, next_hop_type: None}\n"
	"  - {name: spoke, prefix: 10.2.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.0.1.10}\n";

/*
 * The next generation: "keep" unchanged, "old-name" renamed to "new-name",
 * "gone" removed, "edited" changed in place (rule.replace), "added" new;
 * DNAT "dgone" removed, "web2" added; SNAT renamed; route "spoke" kept,
 * "hole" renamed "hole2".
 */
static const char cfg_ctr_b[] = PORTS
	"neighbors: [{address: 10.0.1.10, mac: \"02:00:00:00:bb:01\"}]\n"
	"security_rules:\n"
	"  - {name: added, priority: 90, direction: inbound, access: deny,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [79]}\n"
	"  - {name: keep, priority: 100, direction: inbound, access: allow,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [80]}\n"
	"  - {name: new-name, priority: 110, direction: inbound, access: allow,"
	" protocol: tcp, source: [any], destination: [any], destination_ports: [81]}\n"
	"  - {name: edited, priority: 140, direction: inbound, access: deny,"
	" protocol: udp, source: [10.0.0.0/8], destination: [any], destination_ports: [82, 83]}\n"
	"nat:\n"
	"  dnat:\n"
	"    - {name: web2, protocol: tcp, destination: 10.0.1.4, destination_port: 8443,"
	" translated_address: 10.240.1.10, translated_port: 443}\n"
	"    - {name: web, protocol: tcp, destination: 10.0.1.4, destination_port: 8080,"
	" translated_address: 10.240.1.10, translated_port: 80}\n"
	"  snat:\n"
	"    - {name: egress2, source: [10.240.0.0/16], exclude: [10.0.0.0/8],"
	" translated_addresses: [10.0.1.4]}\n"
	"routes:\n"
	"  - {name: spoke, prefix: 10.2.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.0.1.10}\n"
	"  - {name: hole2, prefix: 10.66.0.0/16, next_hop_type: None}\n";

static void
test_counter_carry_over(void **state)
{
	struct fx f;
	struct vfw_policy *a, *b, *c;
	int i;

	(void)state;
	fx_init(&f, 2);
	a = build_ok(&f, cfg_ctr_a);
	install(&f, a);
	/* a fresh generation starts at zero everywhere */
	assert_int_equal(rule_hits(a, "keep"), 0);
	assert_int_equal(route_hits(a, "spoke"), 0);

	/* two workers count in generation a */
	hit_rule(a, 0, "keep", 5);
	hit_rule(a, 1, "keep", 7);
	hit_rule(a, 0, "old-name", 3);
	hit_rule(a, 1, "gone", 11);
	hit_rule(a, 1, "edited", 13);
	hit_rule(a, 0, "DenyAllInBound", 17);
	a->ctr[0].route_hits[route_idx(a, "spoke")] += 19;
	a->ctr[1].route_hits[route_idx(a, "hole")] += 23;
	a->ctr[1].route_hits[route_idx(a, "system-cluster")] += 29;
	a->ctr[0].dnat_hits[dnat_idx(a, "web")] += 31;
	a->ctr[0].dnat_hits[dnat_idx(a, "dgone")] += 37;
	a->ctr[1].snat_hits[snat_idx(a, "egress")] += 41;
	a->ctr[1].snat_fail[snat_idx(a, "egress")] += 2;
	assert_int_equal(rule_hits(a, "keep"), 12);
	assert_int_equal(rule_hits(a, "DenyAllInBound"), 17);

	/*
	 * Publish b while a worker is still in a burst of a: what it counts
	 * in a after the publication is carried over too (the fold happens
	 * at retirement, after the grace period).
	 */
	assert_int_equal(rte_rcu_qsbr_thread_register(f.qsv, 0), 0);
	rte_rcu_qsbr_thread_online(f.qsv, 0);
	b = build_ok(&f, cfg_ctr_b);
	assert_int_equal(vfw_policy_publish(f.pm, b), 0);
	/* before retirement b holds only its own counts */
	assert_int_equal(rule_hits(b, "keep"), 0);
	hit_rule(a, 0, "keep", 100);            /* late burst on a */
	assert_int_equal(vfw_policy_poll(f.pm), 0);
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	/* a is freed now: only b may be touched */

	assert_int_equal(rule_hits(b, "keep"), 112);       /* kept name */
	assert_int_equal(rule_hits(b, "edited"), 13);      /* replaced in place */
	assert_int_equal(rule_hits(b, "new-name"), 0);     /* renamed: lost */
	assert_int_equal(rule_hits(b, "added"), 0);        /* new: 0 */
	assert_int_equal(rule_idx(b, "gone"), -1);
	assert_int_equal(rule_idx(b, "old-name"), -1);
	assert_int_equal(rule_hits(b, "DenyAllInBound"), 17); /* default rule */
	assert_int_equal(route_hits(b, "spoke"), 19);
	assert_int_equal(route_hits(b, "system-cluster"), 29);
	assert_int_equal(route_hits(b, "hole2"), 0);
	assert_int_equal(route_idx(b, "hole"), -1);
	i = dnat_idx(b, "web");
	assert_true(i >= 0);
	assert_int_equal(vfw_policy_dnat_hits(b, (unsigned int)i), 31);
	i = dnat_idx(b, "web2");
	assert_true(i >= 0);
	assert_int_equal(vfw_policy_dnat_hits(b, (unsigned int)i), 0);
	assert_int_equal(dnat_idx(b, "dgone"), -1);
	i = snat_idx(b, "egress2");
	assert_true(i >= 0);
	assert_int_equal(vfw_policy_snat_hits(b, (unsigned int)i), 0);
	assert_int_equal(vfw_policy_snat_fail(b, (unsigned int)i), 0);

	/* the carried totals keep accumulating over further generations */
	hit_rule(b, 1, "keep", 1000);
	hit_rule(b, 0, "added", 4);
	b->ctr[0].dnat_hits[dnat_idx(b, "web")] += 9;
	c = build_ok(&f, cfg_ctr_b);
	assert_int_equal(vfw_policy_publish(f.pm, c), 0);
	rte_rcu_qsbr_quiescent(f.qsv, 0);
	assert_int_equal(vfw_policy_poll(f.pm), 1);
	assert_int_equal(rule_hits(c, "keep"), 1112);
	assert_int_equal(rule_hits(c, "added"), 4);
	assert_int_equal(rule_hits(c, "edited"), 13);
	assert_int_equal(vfw_policy_dnat_hits(c, (unsigned int)dnat_idx(c, "web")), 40);
	assert_int_equal(route_hits(c, "spoke"), 19);
	/* the carried part lives in base, the workers' arrays start at 0 */
	assert_int_equal(c->ctr[0].rule_hits[rule_idx(c, "keep")], 0);
	assert_int_equal(c->ctr[1].rule_hits[rule_idx(c, "keep")], 0);

	rte_rcu_qsbr_thread_offline(f.qsv, 0);
	rte_rcu_qsbr_thread_unregister(f.qsv, 0);
	fx_fini(&f);
}

/* A name that leaves and comes back starts over; swapping names swaps. */
static void
test_counter_names_not_positions(void **state)
{
	static const char *const n1[] = { "alpha", "beta", "gamma" };
	static const char *const n2[] = { "gamma", "alpha" };   /* beta out */
	static const char *const n3[] = { "beta", "gamma", "alpha" };
	struct fx f;
	struct vfw_policy *p;
	char *y;

	(void)state;
	fx_init(&f, 1);
	y = cfg_rules(n1, 3);
	p = build_ok(&f, y);
	free(y);
	install(&f, p);
	hit_rule(p, 0, "alpha", 1);
	hit_rule(p, 0, "beta", 10);
	hit_rule(p, 0, "gamma", 100);

	/* positions move: alpha was index 0, is now after gamma */
	y = cfg_rules(n2, 2);
	p = build_ok(&f, y);
	free(y);
	install(&f, p);
	assert_int_equal(rule_hits(p, "alpha"), 1);
	assert_int_equal(rule_hits(p, "gamma"), 100);
	assert_int_equal(rule_idx(p, "beta"), -1);

	y = cfg_rules(n3, 3);
	p = build_ok(&f, y);
	free(y);
	install(&f, p);
	assert_int_equal(rule_hits(p, "alpha"), 1);
	assert_int_equal(rule_hits(p, "gamma"), 100);
	assert_int_equal(rule_hits(p, "beta"), 0);   /* came back: new rule */
	fx_fini(&f);
}

/* ---- route table shared while the routes do not change ---- */

#define RT_HOLE "  - {name: hole, prefix: 10.66.0.0/16, next_hop_type: None}\n"
#define RT_SPOKE "  - {name: spoke, prefix: 10.2.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.0.1.10}\n"
#define RULE(n, port) "  - {name: " n ", priority: 100, direction: inbound, access: allow," \
	" protocol: tcp, source: [any], destination: [any], destination_ports: [" port "]}\n"

static const char cfg_rt_1[] = PORTS "security_rules:\n" RULE("web", "80")
	"routes:\n" RT_HOLE RT_SPOKE;
/* a rule edit only */
static const char cfg_rt_2[] = PORTS "security_rules:\n" RULE("web", "8080")
	"routes:\n" RT_HOLE RT_SPOKE;
/* a route added in front: the others move */
static const char cfg_rt_3[] = PORTS "security_rules:\n" RULE("web", "8080")
	"routes:\n  - {name: extra, prefix: 10.77.0.0/16, next_hop_type: None}\n"
	RT_HOLE RT_SPOKE;
/* "hole" keeps its name but gets another prefix: a different route */
static const char cfg_rt_4[] = PORTS "security_rules:\n" RULE("web", "8080")
	"routes:\n  - {name: extra, prefix: 10.77.0.0/16, next_hop_type: None}\n"
	"  - {name: hole, prefix: 10.67.0.0/16, next_hop_type: None}\n" RT_SPOKE;

static void
test_route_table_shared(void **state)
{
	struct vfw_policy *a, *b, *c, *d;
	struct fx f;

	(void)state;
	fx_init(&f, 1);
	a = build_ok(&f, cfg_rt_1);
	install(&f, a);
	a->ctr[0].route_hits[route_idx(a, "hole")] += 5;
	a->ctr[0].route_hits[route_idx(a, "spoke")] += 7;

	/* rules changed, routes did not: the same table, counters follow */
	b = build_ok(&f, cfg_rt_2);
	assert_ptr_equal(b->rt, a->rt);
	install(&f, b); /* a is freed; the table lives on in b */
	assert_string_equal(vfw_route_get(b->rt, (unsigned int)route_idx(b, "spoke"))->name,
			    "spoke");
	assert_int_equal(route_hits(b, "hole"), 5);
	assert_int_equal(route_hits(b, "spoke"), 7);
	b->ctr[0].route_hits[route_idx(b, "spoke")] += 1;

	/* a validate-style build that is never published shares too, and
	 * freeing it leaves the published generation's table intact */
	c = build_ok(&f, cfg_rt_2);
	assert_ptr_equal(c->rt, b->rt);
	vfw_policy_free(c);
	assert_int_equal(route_hits(b, "spoke"), 8);

	/* a route added: a new table; counters matched by name and prefix */
	c = build_ok(&f, cfg_rt_3);
	assert_ptr_not_equal(c->rt, b->rt);
	install(&f, c);
	assert_int_equal(route_hits(c, "hole"), 5);
	assert_int_equal(route_hits(c, "spoke"), 8);
	assert_int_equal(route_hits(c, "extra"), 0);

	/* same name, other prefix: not the same route */
	d = build_ok(&f, cfg_rt_4);
	assert_ptr_not_equal(d->rt, c->rt);
	install(&f, d);
	assert_int_equal(route_hits(d, "hole"), 0);
	assert_int_equal(route_hits(d, "spoke"), 8);
	fx_fini(&f);
}

/* ---- owned addresses ---- */

static const char cfg_owned[] = PORTS
	"nat:\n"
	"  dnat:\n"
	"    - {name: on-iface, protocol: tcp, destination: 10.0.1.4, destination_port: 8080,"
	" translated_address: 10.240.1.10, translated_port: 80}\n"
	"    - {name: public, protocol: udp, destination: 10.0.1.5, destination_port: 53,"
	" translated_address: 10.240.1.11, translated_port: 5353}\n"
	"  snat:\n"
	"    - {name: egress, source: [10.240.0.0/16, 172.16.0.0/12], exclude: [10.0.0.0/8],"
	" translated_addresses: [10.0.1.6, 10.0.1.5]}\n";

static bool
has_inside(const struct vfw_policy *p, const char *ip, uint8_t len)
{
	unsigned int i;

	for (i = 0; i < p->n_inside; i++)
		if (p->inside[i].ip.af == VFW_AF_INET &&
		    p->inside[i].ip.v4 == ip4(ip) && p->inside[i].len == len)
			return true;
	return false;
}

/* Is ip covered by one of p's inside prefixes? */
static bool
is_inside(const struct vfw_policy *p, const char *ip)
{
	unsigned int i;

	for (i = 0; i < p->n_inside; i++) {
		const struct vfw_prefix *x = &p->inside[i];
		uint32_t m = x->len == 0 ? 0 : htonl(~0u << (32 - x->len));

		if (x->ip.af == VFW_AF_INET && ((ip4(ip) ^ x->ip.v4) & m) == 0)
			return true;
	}
	return false;
}

static const struct vfw_owned_addr *
owned_entry(const struct vfw_policy *p, const char *ip)
{
	unsigned int i;

	for (i = 0; i < p->n_owned; i++)
		if (p->owned[i].ip == ip4(ip))
			return &p->owned[i];
	return NULL;
}

static void
test_owned_addresses(void **state)
{
	struct fx f;
	struct vfw_policy *p;
	const struct vfw_owned_addr *o;
	unsigned int i, j;

	(void)state;
	fx_init(&f, 1);
	p = build_ok(&f, cfg_owned);

	assert_int_equal(p->iface_ip[VFW_PORT_VNET], ip4("10.0.1.4"));
	assert_int_equal(p->iface_ip[VFW_PORT_CLUSTER], ip4("10.240.0.4"));
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.4")),
			 VFW_OWN_IFACE | VFW_OWN_DNAT);
	assert_int_equal(vfw_policy_owned(p, ip4("10.240.0.4")), VFW_OWN_IFACE);
	/* an address both DNAT and SNAT use */
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.5")),
			 VFW_OWN_DNAT | VFW_OWN_SNAT);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.6")), VFW_OWN_SNAT);
	/* translated (backend) addresses, neighbors, others are not ours */
	assert_int_equal(vfw_policy_owned(p, ip4("10.240.1.10")), 0);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.1")), 0);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.7")), 0);
	assert_int_equal(vfw_policy_owned(p, ip4("0.0.0.0")), 0);
	/* each address once, on the port whose subnet holds it */
	assert_int_equal(p->n_owned, 4);
	for (i = 0; i < p->n_owned; i++)
		for (j = i + 1; j < p->n_owned; j++)
			assert_int_not_equal(p->owned[i].ip, p->owned[j].ip);
	o = owned_entry(p, "10.0.1.6");
	assert_non_null(o);
	assert_int_equal(o->port, VFW_PORT_VNET);
	o = owned_entry(p, "10.240.0.4");
	assert_non_null(o);
	assert_int_equal(o->port, VFW_PORT_CLUSTER);

	/* inside prefixes: interface hosts, the cluster subnet (masked),
	 * DNAT destinations and backends, SNAT addresses and sources; each
	 * once, none inside another (the backends and the cluster address
	 * are in the cluster subnet) */
	assert_true(has_inside(p, "10.0.1.4", 32));
	assert_true(has_inside(p, "10.240.0.0", 16));
	assert_true(has_inside(p, "10.0.1.5", 32));
	assert_true(has_inside(p, "10.0.1.6", 32));
	assert_true(has_inside(p, "172.16.0.0", 12));
	assert_true(is_inside(p, "10.240.0.4"));
	assert_true(is_inside(p, "10.240.1.10"));
	assert_true(is_inside(p, "10.240.1.11"));
	assert_int_equal(p->n_inside, 5);
	assert_false(is_inside(p, "10.0.1.1"));
	assert_false(has_inside(p, "10.0.0.0", 8));   /* exclude is not inside */
	assert_false(is_inside(p, "10.1.0.1"));
	install(&f, p);

	/* the next generation without NAT owns only the interfaces */
	p = build_ok(&f, cfg_min);
	assert_int_equal(p->n_owned, 2);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.4")), VFW_OWN_IFACE);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.5")), 0);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.6")), 0);
	assert_false(is_inside(p, "10.0.1.5"));
	assert_int_equal(p->n_inside, 2);
	install(&f, p);
	fx_fini(&f);
}

/*
 * Many port forwards on one public address (to backends in the cluster
 * subnet, and one outside it), then SNAT for pods outside the cluster
 * subnet: every NAT address and source is inside, whatever the number of
 * DNAT rules (the tables are small and fixed: a repeated address must not
 * take an entry per rule, and nothing may be left out silently).
 */
static void
test_owned_many_dnat(void **state)
{
	const size_t cap = 1 << 17;
	char *y = malloc(cap);
	size_t len;
	struct fx f, f2;
	struct vfw_policy *p;
	struct vfw_errors errs;
	struct vfw_config *cfg;
	unsigned int i;

	(void)state;
	assert_non_null(y);
	fx_init(&f, 1);
	len = (size_t)snprintf(y, cap, "%s", PORTS "nat:\n  dnat:\n");
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"    - {name: fwd%u, protocol: tcp, destination: 10.0.1.4,"
			" destination_port: %u, translated_address: 10.240.%u.%u,"
			" translated_port: 80}\n", i, 8000 + i, 1 + i / 200, 10 + i % 200);
	len += (size_t)snprintf(y + len, cap - len,
		"    - {name: far, protocol: udp, destination: 10.0.1.4, destination_port: 53,"
		" translated_address: 10.50.0.53, translated_port: 53}\n"
		"  snat:\n"
		"    - {name: pods, source: [10.244.0.0/16], translated_addresses: [10.0.1.4]}\n");
	p = build_ok(&f, y);
	assert_true(is_inside(p, "10.240.1.10"));
	assert_true(is_inside(p, "10.240.1.109"));
	assert_true(has_inside(p, "10.50.0.53", 32));
	assert_true(has_inside(p, "10.244.0.0", 16));
	assert_int_equal(p->n_inside, 4);
	assert_int_equal(p->n_owned, 2);
	assert_int_equal(vfw_policy_owned(p, ip4("10.0.1.4")),
			 VFW_OWN_IFACE | VFW_OWN_DNAT | VFW_OWN_SNAT);
	install(&f, p);

	/* 510 public addresses: with the interfaces, as many as the
	 * appliance answers for (VFW_MAX_OWNED); one more is refused by the
	 * config checks, at the rule that adds it */
	len = (size_t)snprintf(y, cap, "%s", PORTS "nat:\n  dnat:\n");
	for (i = 0; i < VFW_MAX_OWNED - 2; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"    - {name: pub%u, protocol: tcp, destination: 100.64.%u.%u,"
			" destination_port: 80, translated_address: 10.240.1.10,"
			" translated_port: 80}\n", i, i / 250, 1 + i % 250);
	snprintf(y + len, cap - len,
		 "    - {name: one-more, protocol: tcp, destination: 100.65.0.1,"
		 " destination_port: 80, translated_address: 10.240.1.10,"
		 " translated_port: 80}\n");
	vfw_errors_init(&errs);
	assert_null(vfw_config_load_string(y, strlen(y), "<test>", &errs));
	assert_int_equal(errs.n, 1);
	if (strstr(errs.msg[0], "nat.dnat[510] (one-more).destination: "
		   "100.65.0.1 is one address too many") == NULL)
		fail_msg("got %s", errs.msg[0]);
	vfw_errors_free(&errs);
	/* without it the config is good: every address is answered for */
	snprintf(y + len, cap - len, "  snat:\n"
		 "    - {name: pods, source: [10.244.0.0/16], translated_addresses: [10.0.1.4]}\n");
	p = build_ok(&f, y);
	assert_int_equal(p->n_owned, VFW_MAX_OWNED);
	assert_int_equal(vfw_policy_owned(p, ip4("100.64.2.10")), VFW_OWN_DNAT);
	install(&f, p);
	fx_fini(&f);

	/* With two workers, the 510 addresses and the pods' prefix do not
	 * fit the inside prefixes that keep a NAT flow on one worker: the
	 * build says so instead of leaving some out (their flows would
	 * meet two workers). */
	fx_init(&f2, 2);
	cfg = load(y);
	vfw_errors_init(&errs);
	assert_null(vfw_policy_build(f2.pm, cfg, &errs));
	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msg[i], "with 2 workers: more than 64 distinct NAT prefixes") != NULL)
			break;
	assert_true(i < errs.n);
	vfw_errors_free(&errs);
	vfw_config_free(cfg);
	free(y);
	fx_fini(&f2);
}

/* ---- failed builds ---- */

enum breakage { BREAK_ACL, BREAK_NAT, BREAK_ROUTE, BREAK_MAX };

static const char *const break_names[BREAK_MAX] = { "acl", "nat", "route" };

/*
 * Loaded (valid) configs broken afterwards the way only the compiler
 * notices, so that the build fails at each of its stages: after nothing,
 * after the ACL, after the ACL and NAT were built.
 */
static struct vfw_config *
broken(enum breakage how)
{
	struct vfw_config *cfg = load(cfg_ctr_a);

	switch (how) {
	case BREAK_ACL:
		/* a reference to an address set that does not exist */
		cfg->rules[0].source[0].kind = VFW_ADDR_SET;
		snprintf(cfg->rules[0].source[0].set,
			 sizeof(cfg->rules[0].source[0].set), "NoSuchSet");
		break;
	case BREAK_NAT:
		/* two DNAT rules for one (protocol, address, port) */
		cfg->dnat[1].destination_port = cfg->dnat[0].destination_port;
		break;
	case BREAK_ROUTE:
		/* a next hop outside both subnets */
		assert_string_equal(cfg->routes[1].name, "spoke");
		cfg->routes[1].next_hop.v4 = ip4("192.0.2.1");
		break;
	default:
		fail();
	}
	return cfg;
}

static void
test_failed_build_frees(void **state)
{
	struct fx f;
	struct vfw_policy *p, *good;
	struct vfw_config *cfg;
	struct vfw_errors errs;
	size_t before;
	uint64_t gen;
	unsigned int how, round;

	(void)state;
	fx_init(&f, 2);
	/* warm up one-time allocations (NAT pools, rte_acl, neighbors) */
	good = build_ok(&f, cfg_ctr_a);
	install(&f, good);
	p = build_ok(&f, cfg_ctr_a);
	vfw_policy_free(p);
	vfw_policy_free(NULL);   /* harmless */

	before = heap_used();
	gen = vfw_policy_applied_generation(f.pm) + 2;  /* one was skipped */
	for (round = 0; round < 3; round++) {
		for (how = 0; how < BREAK_MAX; how++) {
			cfg = broken((enum breakage)how);
			vfw_errors_init(&errs);
			p = vfw_policy_build(f.pm, cfg, &errs);
			if (p != NULL)
				fail_msg("broken %s config built", break_names[how]);
			if (errs.n == 0)
				fail_msg("broken %s config: no error message",
					 break_names[how]);
			vfw_errors_free(&errs);
			vfw_config_free(cfg);
			if (heap_used() != before)
				fail_msg("broken %s config: %zu bytes of DPDK heap leaked",
					 break_names[how], heap_used() - before);
			/* nothing changed for the workers */
			assert_ptr_equal(vfw_policy_current(f.pm), good);
		}
	}
	/*
	 * A failed build does not take a generation number, and the names
	 * it gave to DPDK objects (rte_acl, rte_fib "g<N>") were released:
	 * the next build reuses them and succeeds.
	 */
	p = build_ok(&f, cfg_ctr_a);
	assert_int_equal(p->generation, gen);
	vfw_policy_free(p);
	assert_int_equal(heap_used(), before);

	/* built and freed without publication: nothing left either */
	for (round = 0; round < 3; round++) {
		p = build_ok(&f, cfg_ctr_b);
		vfw_policy_free(p);
	}
	assert_int_equal(heap_used(), before);
	assert_ptr_equal(vfw_policy_current(f.pm), good);
	assert_int_equal(vfw_policy_applied_generation(f.pm), good->generation);
	fx_fini(&f);
}

/* Publishing and retiring many generations returns the heap to its level. */
static void
test_retire_frees(void **state)
{
	struct fx f;
	struct vfw_policy *p;
	size_t before;
	unsigned int i;

	(void)state;
	fx_init(&f, 2);
	install(&f, build_ok(&f, cfg_ctr_a));
	install(&f, build_ok(&f, cfg_ctr_b));
	before = heap_used();
	for (i = 0; i < 20; i++) {
		p = build_ok(&f, (i & 1) ? cfg_ctr_b : cfg_ctr_a);
		install(&f, p);
	}
	/* same config as at "before": the same amount of memory */
	assert_int_equal(heap_used(), before);
	fx_fini(&f);
}

int
main(void)
{
	char *eal_args[] = {
		"test_policy", "--no-huge", "--no-pci", "-m", "512",
		"--file-prefix=test_policy", "--no-shconf", "--log-level=lib.*:error",
		"--no-telemetry",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generation_numbering),
		cmocka_unit_test(test_publish_in_flight),
		cmocka_unit_test(test_generation_monotonic),
		cmocka_unit_test(test_counter_carry_over),
		cmocka_unit_test(test_counter_names_not_positions),
		cmocka_unit_test(test_route_table_shared),
		cmocka_unit_test(test_owned_addresses),
		cmocka_unit_test(test_owned_many_dnat),
		cmocka_unit_test(test_failed_build_frees),
		cmocka_unit_test(test_retire_frees),
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
