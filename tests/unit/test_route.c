/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/route: UDR semantics of the route table, a 100k-route
 * table against a reference LPM, and the neighbor table's rules (no
 * poisoning, static entries win, stale slots, full table, RCU reuse).
 * Configs are built by hand so that these tests do not need the loader.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "vnetfw/route.h"

/* ------------------------------------------------------------ helpers */

static uint32_t
be(const char *s)
{
	uint32_t a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad address %s", s);
	return a;
}

static uint32_t
host(const char *s)
{
	return ntohl(be(s));
}

static struct vfw_ip
ip4(const char *s)
{
	struct vfw_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.af = VFW_AF_INET;
	ip.v4 = be(s);
	return ip;
}

static struct vfw_prefix
pfx(const char *s, uint8_t len)
{
	struct vfw_prefix p;

	memset(&p, 0, sizeof(p));
	p.ip = ip4(s);
	p.len = len;
	return p;
}

#define MAX_TEST_ROUTES 16

struct test_cfg {
	struct vfw_config cfg;
	struct vfw_cfg_route routes[MAX_TEST_ROUTES];
};

/* vnet 10.0.1.4/24 (gateway 10.0.1.1 if gw), cluster 10.240.0.4/16. */
static void
cfg_init(struct test_cfg *t, bool gw)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->cfg.ports[VFW_PORT_VNET].device, 128, "net_null0");
	t->cfg.ports[VFW_PORT_VNET].address = pfx("10.0.1.4", 24);
	if (gw) {
		t->cfg.ports[VFW_PORT_VNET].has_gateway = true;
		t->cfg.ports[VFW_PORT_VNET].gateway = ip4("10.0.1.1");
	}
	snprintf(t->cfg.ports[VFW_PORT_CLUSTER].device, 128, "net_null1");
	t->cfg.ports[VFW_PORT_CLUSTER].address = pfx("10.240.0.4", 16);
	t->cfg.routes = t->routes;
}

static struct vfw_cfg_route *
add_route(struct test_cfg *t, const char *name, const char *prefix,
	  uint8_t len, enum vfw_nh_type type, const char *next_hop)
{
	struct vfw_cfg_route *r;

	assert_true(t->cfg.n_routes < MAX_TEST_ROUTES);
	r = &t->routes[t->cfg.n_routes++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->prefix = pfx(prefix, len);
	r->type = type;
	if (next_hop != NULL) {
		r->has_next_hop = true;
		r->next_hop = ip4(next_hop);
	}
	r->loc.line = t->cfg.n_routes;
	r->loc.col = 5;
	return r;
}

static const struct vfw_nexthop *
lookup1(const struct vfw_route_table *rt, const char *dst)
{
	const struct vfw_nexthop *nh = (const void *)1;
	uint32_t d = host(dst);

	vfw_route_lookup_bulk(rt, &d, &nh, 1);
	return nh;
}

static int
find_entry(const struct vfw_route_table *rt, const char *name)
{
	unsigned int i;

	for (i = 0; i < vfw_route_count(rt); i++)
		if (strcmp(vfw_route_get(rt, i)->name, name) == 0)
			return (int)i;
	return -1;
}

/* The next hop of dst comes from the entry called name. */
static void
expect_route(const struct vfw_route_table *rt, const char *dst,
	     const char *name, enum vfw_nh_type type, enum vfw_port_role port,
	     const char *gw)
{
	const struct vfw_nexthop *nh = lookup1(rt, dst);
	int idx = find_entry(rt, name);

	if (nh == NULL)
		fail_msg("%s: no route, expected %s", dst, name);
	assert_true(idx >= 0);
	if (nh->route != (uint32_t)idx)
		fail_msg("%s: route %s, expected %s", dst,
			 vfw_route_get(rt, nh->route)->name, name);
	assert_int_equal(nh->type, type);
	assert_int_equal(nh->port, port);
	assert_int_equal(nh->gw, gw == NULL ? 0 : be(gw));
	/* The entry shows the same next hop. */
	assert_memory_equal(&vfw_route_get(rt, idx)->nh, nh, sizeof(*nh));
}

static bool
errs_contain(const struct vfw_errors *e, const char *needle)
{
	unsigned int i;

	for (i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle) != NULL)
			return true;
	return false;
}

static struct rte_ether_addr
mac_of(uint8_t last)
{
	struct rte_ether_addr m = {{0x02, 0x00, 0x00, 0x00, 0x01, last}};

	return m;
}

/* ------------------------------------------------------- route tests */

static void
test_system_routes(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;
	const struct vfw_route_entry *e;

	(void)state;
	cfg_init(&t, true);
	rt = vfw_route_table_build(&t.cfg, "sys", NULL, NULL);
	assert_non_null(rt);
	assert_int_equal(vfw_route_count(rt), 3);

	e = vfw_route_get(rt, find_entry(rt, "system-vnet"));
	assert_true(e->system);
	assert_false(e->overridden);
	assert_int_equal(e->prefix.ip.v4, be("10.0.1.0")); /* host bits off */
	assert_int_equal(e->prefix.len, 24);
	e = vfw_route_get(rt, find_entry(rt, "system-cluster"));
	assert_int_equal(e->prefix.ip.v4, be("10.240.0.0"));
	assert_int_equal(e->prefix.len, 16);
	e = vfw_route_get(rt, find_entry(rt, "system-default"));
	assert_int_equal(e->prefix.len, 0);
	assert_int_equal(e->nh.type, VFW_NH_INTERNET);
	assert_null(vfw_route_get(rt, 3));

	expect_route(rt, "10.0.1.77", "system-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "10.240.3.3", "system-cluster", VFW_NH_VNETLOCAL,
		     VFW_PORT_CLUSTER, NULL);
	expect_route(rt, "8.8.8.8", "system-default", VFW_NH_INTERNET,
		     VFW_PORT_VNET, "10.0.1.1");
	expect_route(rt, "255.255.255.255", "system-default", VFW_NH_INTERNET,
		     VFW_PORT_VNET, "10.0.1.1");
	/* No neighbor table: no slots. */
	assert_int_equal(lookup1(rt, "8.8.8.8")->neigh, -1);
	vfw_route_table_free(rt);
}

static void
test_default_only_with_gateway(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;

	(void)state;
	cfg_init(&t, false);
	rt = vfw_route_table_build(&t.cfg, "nogw", NULL, NULL);
	assert_non_null(rt);
	assert_int_equal(vfw_route_count(rt), 2);
	assert_int_equal(find_entry(rt, "system-default"), -1);
	assert_null(lookup1(rt, "8.8.8.8"));
	assert_null(lookup1(rt, "10.0.2.1"));
	assert_null(lookup1(rt, "0.0.0.0"));
	expect_route(rt, "10.0.1.255", "system-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	vfw_route_table_free(rt);
}

static void
test_user_overrides_system(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;

	(void)state;
	cfg_init(&t, true);
	add_route(&t, "cluster-via-fw", "10.240.0.0", 16, VFW_NH_APPLIANCE,
		  "10.0.1.10");
	add_route(&t, "default-drop", "0.0.0.0", 0, VFW_NH_NONE, NULL);
	rt = vfw_route_table_build(&t.cfg, "ovr", NULL, NULL);
	assert_non_null(rt);
	/* System routes stay in the list, marked overridden. */
	assert_int_equal(vfw_route_count(rt), 5);
	assert_true(vfw_route_get(rt, find_entry(rt, "system-cluster"))->overridden);
	assert_true(vfw_route_get(rt, find_entry(rt, "system-default"))->overridden);
	assert_false(vfw_route_get(rt, find_entry(rt, "system-vnet"))->overridden);
	assert_false(vfw_route_get(rt, find_entry(rt, "cluster-via-fw"))->overridden);
	assert_false(vfw_route_get(rt, find_entry(rt, "cluster-via-fw"))->system);

	expect_route(rt, "10.240.1.1", "cluster-via-fw", VFW_NH_APPLIANCE,
		     VFW_PORT_VNET, "10.0.1.10");
	expect_route(rt, "8.8.8.8", "default-drop", VFW_NH_NONE,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "10.0.1.9", "system-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	vfw_route_table_free(rt);
}

static void
test_longest_prefix(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;

	(void)state;
	cfg_init(&t, true);
	add_route(&t, "ten", "10.0.0.0", 8, VFW_NH_INTERNET, NULL);
	add_route(&t, "spoke2", "10.2.0.0", 16, VFW_NH_APPLIANCE,
		  "10.240.0.50");
	add_route(&t, "hole", "10.2.3.4", 32, VFW_NH_NONE, NULL);
	add_route(&t, "blackhole", "10.66.0.0", 16, VFW_NH_NONE, NULL);
	add_route(&t, "edge", "10.2.255.255", 32, VFW_NH_NONE, NULL);
	rt = vfw_route_table_build(&t.cfg, "lpm", NULL, NULL);
	assert_non_null(rt);

	expect_route(rt, "10.9.9.9", "ten", VFW_NH_INTERNET, VFW_PORT_VNET,
		     "10.0.1.1");
	expect_route(rt, "10.2.9.9", "spoke2", VFW_NH_APPLIANCE,
		     VFW_PORT_CLUSTER, "10.240.0.50");
	expect_route(rt, "10.2.0.0", "spoke2", VFW_NH_APPLIANCE,
		     VFW_PORT_CLUSTER, "10.240.0.50");
	expect_route(rt, "10.2.3.4", "hole", VFW_NH_NONE, VFW_PORT_VNET, NULL);
	expect_route(rt, "10.2.3.3", "spoke2", VFW_NH_APPLIANCE,
		     VFW_PORT_CLUSTER, "10.240.0.50");
	expect_route(rt, "10.2.3.5", "spoke2", VFW_NH_APPLIANCE,
		     VFW_PORT_CLUSTER, "10.240.0.50");
	expect_route(rt, "10.2.255.255", "edge", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	expect_route(rt, "10.2.255.254", "spoke2", VFW_NH_APPLIANCE,
		     VFW_PORT_CLUSTER, "10.240.0.50");
	expect_route(rt, "10.3.0.0", "ten", VFW_NH_INTERNET, VFW_PORT_VNET,
		     "10.0.1.1");
	expect_route(rt, "10.66.1.1", "blackhole", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	/* The system /24 and /16 are longer than the user /8. */
	expect_route(rt, "10.0.1.9", "system-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "10.240.5.5", "system-cluster", VFW_NH_VNETLOCAL,
		     VFW_PORT_CLUSTER, NULL);
	expect_route(rt, "11.1.1.1", "system-default", VFW_NH_INTERNET,
		     VFW_PORT_VNET, "10.0.1.1");
	vfw_route_table_free(rt);
}

static void
test_vnetlocal_and_none(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;

	(void)state;
	cfg_init(&t, false);
	add_route(&t, "pods-b", "10.240.128.0", 17, VFW_NH_VNETLOCAL, NULL);
	add_route(&t, "peered", "172.16.0.0", 12, VFW_NH_VNETLOCAL, NULL);
	add_route(&t, "upper-vnet", "10.0.1.128", 25, VFW_NH_VNETLOCAL, NULL);
	add_route(&t, "drop", "192.168.0.0", 16, VFW_NH_NONE, NULL);
	/* Host bits in the config are masked. */
	add_route(&t, "sloppy", "192.0.2.77", 24, VFW_NH_NONE, NULL);
	rt = vfw_route_table_build(&t.cfg, "vl", NULL, NULL);
	assert_non_null(rt);
	expect_route(rt, "10.240.200.1", "pods-b", VFW_NH_VNETLOCAL,
		     VFW_PORT_CLUSTER, NULL);
	/* Not inside a port subnet: the vnet port. */
	expect_route(rt, "172.20.1.1", "peered", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "10.0.1.200", "upper-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "192.168.44.1", "drop", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	expect_route(rt, "192.0.2.1", "sloppy", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	assert_int_equal(vfw_route_get(rt, find_entry(rt, "sloppy"))->prefix.ip.v4,
			 be("192.0.2.0"));
	assert_null(lookup1(rt, "192.169.0.1"));
	assert_int_equal(lookup1(rt, "192.168.44.1")->neigh, -1);
	vfw_route_table_free(rt);
}

static void
test_route_errors(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;
	struct vfw_errors errs;
	struct vfw_cfg_route *r;

	(void)state;
	/* Each bad route is reported, all in one pass. */
	cfg_init(&t, false);
	add_route(&t, "far", "10.2.0.0", 16, VFW_NH_APPLIANCE, "192.168.9.9");
	add_route(&t, "inet", "1.0.0.0", 8, VFW_NH_INTERNET, NULL);
	add_route(&t, "nohop", "10.3.0.0", 16, VFW_NH_APPLIANCE, NULL);
	add_route(&t, "self", "10.4.0.0", 16, VFW_NH_APPLIANCE, "10.240.0.4");
	r = add_route(&t, "six", "10.5.0.0", 16, VFW_NH_NONE, NULL);
	r->prefix.ip.af = VFW_AF_INET6;
	r->prefix.len = 64;
	add_route(&t, "fine", "10.6.0.0", 16, VFW_NH_NONE, NULL);
	t.cfg.file = (char *)"routes.yaml";
	vfw_errors_init(&errs);
	rte_errno = 0;
	rt = vfw_route_table_build(&t.cfg, "err", NULL, &errs);
	assert_null(rt);
	assert_int_equal(rte_errno, EINVAL);
	assert_int_equal(errs.n, 5);
	assert_true(errs_contain(&errs, "route far: next hop 192.168.9.9 is not in the subnet of any port"));
	assert_true(errs_contain(&errs, "route inet: Internet needs ports.vnet.gateway"));
	assert_true(errs_contain(&errs, "route nohop: VirtualAppliance needs an IPv4 next_hop"));
	assert_true(errs_contain(&errs, "route self: next hop 10.240.0.4 is this appliance's own address"));
	assert_true(errs_contain(&errs, "route six: only IPv4"));
	/* Each message carries where the route was written. */
	assert_true(errs_contain(&errs, "routes.yaml:1:5: route far"));
	assert_true(errs_contain(&errs, "routes.yaml:4:5: route self"));
	vfw_errors_free(&errs);

	/* Without errs: NULL and rte_errno only. */
	rte_errno = 0;
	assert_null(vfw_route_table_build(&t.cfg, "err", NULL, NULL));
	assert_int_equal(rte_errno, EINVAL);

	/* Two user routes with one prefix. */
	cfg_init(&t, true);
	add_route(&t, "a", "10.7.0.0", 16, VFW_NH_NONE, NULL);
	add_route(&t, "b", "10.7.0.0", 16, VFW_NH_INTERNET, NULL);
	add_route(&t, "d1", "0.0.0.0", 0, VFW_NH_NONE, NULL);
	add_route(&t, "d2", "0.0.0.0", 0, VFW_NH_INTERNET, NULL);
	vfw_errors_init(&errs);
	assert_null(vfw_route_table_build(&t.cfg, "dup", NULL, &errs));
	assert_int_equal(rte_errno, EINVAL);
	assert_true(errs_contain(&errs, "route d2: prefix 0.0.0.0/0 is also the prefix of route d1"));
	vfw_errors_free(&errs);
	t.cfg.n_routes = 2;
	vfw_errors_init(&errs);
	assert_null(vfw_route_table_build(&t.cfg, "dup", NULL, &errs));
	assert_true(errs_contain(&errs, "route b: prefix 10.7.0.0/16 is also the prefix of route a"));
	vfw_errors_free(&errs);

	rte_errno = 0;
	assert_null(vfw_route_table_build(NULL, "x", NULL, NULL));
	assert_int_equal(rte_errno, EINVAL);
}

static void
test_port_of(void **state)
{
	struct test_cfg t;

	(void)state;
	cfg_init(&t, true);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.0.1.200")),
			 VFW_PORT_VNET);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.0.1.0")),
			 VFW_PORT_VNET);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.240.77.1")),
			 VFW_PORT_CLUSTER);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.241.0.1")), -1);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("1.1.1.1")), -1);
	assert_int_equal(vfw_route_port_of(NULL, be("1.1.1.1")), -1);
	/* Overlapping subnets: the most specific one. */
	t.cfg.ports[VFW_PORT_CLUSTER].address = pfx("10.0.0.5", 8);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.0.1.5")),
			 VFW_PORT_VNET);
	assert_int_equal(vfw_route_port_of(&t.cfg, be("10.5.5.5")),
			 VFW_PORT_CLUSTER);
}

static void
test_fib_names(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *a, *b, *c;
	char longname[200];

	(void)state;
	cfg_init(&t, true);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	/* The same name twice, and a name far over RTE_FIB_NAMESIZE. */
	a = vfw_route_table_build(&t.cfg, "gen", NULL, NULL);
	b = vfw_route_table_build(&t.cfg, "gen", NULL, NULL);
	c = vfw_route_table_build(&t.cfg, longname, NULL, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	expect_route(b, "8.8.8.8", "system-default", VFW_NH_INTERNET,
		     VFW_PORT_VNET, "10.0.1.1");
	vfw_route_table_free(a);
	vfw_route_table_free(b);
	vfw_route_table_free(c);
	vfw_route_table_free(NULL);
	assert_int_equal(vfw_route_count(NULL), 0);
}

static void
test_build_resolves_gateways(void **state)
{
	struct test_cfg t;
	struct vfw_neigh_table *nt;
	struct vfw_route_table *rt;
	const struct vfw_nexthop *a, *b, *d, *l;
	struct vfw_neigh_info info;
	struct rte_ether_addr m = mac_of(9);
	struct vfw_errors errs;
	unsigned int i;

	(void)state;
	nt = vfw_neigh_create("gwres", 64, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	cfg_init(&t, true);
	add_route(&t, "s2", "10.2.0.0", 16, VFW_NH_APPLIANCE, "10.0.1.10");
	add_route(&t, "s3", "10.3.0.0", 16, VFW_NH_APPLIANCE, "10.0.1.10");
	add_route(&t, "s4", "10.4.0.0", 16, VFW_NH_APPLIANCE, "10.240.0.9");
	add_route(&t, "nothing", "10.5.0.0", 16, VFW_NH_NONE, NULL);
	rt = vfw_route_table_build(&t.cfg, "gw", nt, NULL);
	assert_non_null(rt);

	a = lookup1(rt, "10.2.0.1");
	b = lookup1(rt, "10.3.0.1");
	assert_true(a->neigh >= 0);
	assert_int_equal(a->neigh, b->neigh);
	assert_int_equal(vfw_neigh_find(nt, be("10.0.1.10")), a->neigh);
	assert_int_equal(vfw_neigh_get(nt, a->neigh, &info), 0);
	assert_int_equal(info.ip, be("10.0.1.10"));
	assert_int_equal(info.state, VFW_NEIGH_INCOMPLETE);
	assert_int_equal(info.port, VFW_PORT_VNET);
	l = lookup1(rt, "10.4.0.1");
	assert_int_equal(vfw_neigh_get(nt, l->neigh, &info), 0);
	assert_int_equal(info.ip, be("10.240.0.9"));
	assert_int_equal(info.port, VFW_PORT_CLUSTER);
	d = lookup1(rt, "8.8.8.8");
	assert_int_equal(vfw_neigh_find(nt, be("10.0.1.1")), d->neigh);
	assert_int_equal(lookup1(rt, "10.5.0.1")->neigh, -1);
	assert_int_equal(lookup1(rt, "10.0.1.20")->neigh, -1);
	for (i = 0; i < vfw_route_count(rt); i++)
		assert_int_equal(vfw_route_get(rt, i)->nh.neigh,
				 vfw_route_get(rt, i)->nh.gw == 0 ? -1 :
				 vfw_route_get(rt, i)->nh.neigh);
	assert_int_equal(vfw_route_get(rt, a->route)->nh.neigh, a->neigh);

	/* The slot is usable by workers once the reply is learned. */
	assert_int_equal(vfw_neigh_mac(nt, a->neigh, a->gw, &m), 0);
	assert_int_equal(vfw_neigh_learn(nt, VFW_PORT_VNET, a->gw, &m, 1), 1);
	memset(&m, 0, sizeof(m));
	assert_int_equal(vfw_neigh_mac(nt, a->neigh, a->gw, &m), 1);
	assert_int_equal(m.addr_bytes[5], 9);

	/* A second generation finds the existing slots. */
	struct vfw_route_table *rt2 = vfw_route_table_build(&t.cfg, "gw", nt,
							    NULL);
	assert_non_null(rt2);
	assert_int_equal(lookup1(rt2, "10.2.0.1")->neigh, a->neigh);
	vfw_route_table_free(rt2);
	vfw_route_table_free(rt);
	vfw_neigh_free(nt);

	/* Full neighbor table: the build fails with ENOSPC. */
	nt = vfw_neigh_create("gwfull", 8, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	for (i = 0; i < 8; i++) {
		struct rte_ether_addr sm = mac_of((uint8_t)i);

		assert_int_equal(vfw_neigh_add_static(nt, 0,
						      htonl(0x0a000100 + 100 + i),
						      &sm), 0);
	}
	vfw_errors_init(&errs);
	rte_errno = 0;
	assert_null(vfw_route_table_build(&t.cfg, "gw", nt, &errs));
	assert_int_equal(rte_errno, ENOSPC);
	assert_true(errs_contain(&errs, "neighbor table"));
	vfw_errors_free(&errs);
	vfw_neigh_free(nt);
}

/* ------------------------------------- 100k random routes vs reference */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Reference LPM: one exact-match hash per prefix length, probed from /32
 * down. Slow but obviously right. */
struct ref {
	uint64_t *key;  /* (addr << 8 | len) + 1; 0 = empty */
	uint32_t *val;
	uint32_t mask;
};

static uint64_t
ref_key(uint32_t addr, uint8_t len)
{
	return (((uint64_t)addr << 8) | len) + 1;
}

static uint32_t *
ref_slot(struct ref *r, uint32_t addr, uint8_t len, bool insert)
{
	uint64_t k = ref_key(addr, len);
	uint32_t h = (uint32_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 40);

	for (;; h++) {
		h &= r->mask;
		if (r->key[h] == k)
			return &r->val[h];
		if (r->key[h] == 0) {
			if (!insert)
				return NULL;
			r->key[h] = k;
			return &r->val[h];
		}
	}
}

static uint32_t
mask_of(uint8_t len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static int64_t
ref_lookup(struct ref *r, uint32_t addr)
{
	int len;

	for (len = 32; len >= 0; len--) {
		uint32_t *v = ref_slot(r, addr & mask_of((uint8_t)len),
				       (uint8_t)len, false);

		if (v != NULL)
			return *v;
	}
	return -1;
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;
	unsigned int s;

	for (s = 0; s < rte_socket_count(); s++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s),
						&st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum dense {
	SPREAD,      /* /8-/32 anywhere */
	DENSE_TOP,   /* /1-/32 nested on the way to 255.255.255.255 */
	DENSE_BOTTOM /* /1-/32 nested on the way to 0.0.0.0 */
};

static void
random_vs_reference(bool gw, unsigned int n_routes, unsigned int n_addr,
		    enum dense dense)
{
	static const char *const appliances[] = {
		"10.0.1.10", "10.0.1.11", "10.240.0.50", "10.240.9.9",
	};
	struct vfw_config cfg;
	struct test_cfg base;
	struct vfw_cfg_route *routes;
	struct vfw_route_table *rt;
	const struct vfw_nexthop **nh;
	struct ref ref;
	uint32_t *addr;
	unsigned int i, n_sys, n_user = 0, mismatches = 0, hits = 0;
	size_t heap0, heap1;
	double t0, t1, t2;

	rng_state = UINT64_C(0x5eed00c0ffee1234) ^ n_routes ^ gw ^
		    ((uint64_t)dense << 40);
	print_message("seed %#llx, %u routes%s, %u addresses, gateway %s\n",
		      (unsigned long long)rng_state, n_routes,
		      dense == SPREAD ? "" : dense == DENSE_TOP ?
		      " (dense, top)" : " (dense, bottom)", n_addr,
		      gw ? "yes" : "no");
	cfg_init(&base, gw);
	cfg = base.cfg;
	routes = calloc(n_routes, sizeof(*routes));
	ref.mask = (1u << 20) - 1;
	assert_true(n_routes + 8 < ref.mask / 2);
	ref.key = calloc(ref.mask + 1, sizeof(*ref.key));
	ref.val = calloc(ref.mask + 1, sizeof(*ref.val));
	addr = calloc(n_addr, sizeof(*addr));
	nh = calloc(n_addr, sizeof(*nh));
	assert_non_null(routes);
	assert_non_null(ref.key);
	assert_non_null(ref.val);
	assert_non_null(addr);
	assert_non_null(nh);

	/* System routes first (entry order), user routes may replace them. */
	n_sys = 0;
	*ref_slot(&ref, host("10.0.1.0"), 24, true) = n_sys++;
	*ref_slot(&ref, host("10.240.0.0"), 16, true) = n_sys++;
	if (gw)
		*ref_slot(&ref, 0, 0, true) = n_sys++;

	while (n_user < n_routes) {
		uint64_t x = rng();
		uint8_t len = (uint8_t)(8 + (x >> 32) % 25);
		uint32_t a = (uint32_t)x;

		if (dense != SPREAD) {
			/* Nested prefixes that end where the address space
			 * does: the corner DPDK 22.11's DIR24_8 gets wrong
			 * when they are added longest first. */
			len = (uint8_t)(1 + (x >> 32) % 32);
			if (dense == DENSE_TOP)
				a |= mask_of(RTE_MIN(len, 20));
			else
				a &= ~mask_of(RTE_MIN(len, 20));
		}
		a &= mask_of(len);
		struct vfw_cfg_route *r;
		uint32_t *v;
		unsigned int kind;

		v = ref_slot(&ref, a, len, false);
		if (v != NULL && *v >= n_sys)
			continue; /* one user route per prefix */
		r = &routes[n_user];
		snprintf(r->name, sizeof(r->name), "r%u", n_user);
		r->prefix.ip.af = VFW_AF_INET;
		r->prefix.ip.v4 = htonl(a);
		r->prefix.len = len;
		kind = (unsigned int)(x >> 48) % (gw ? 4 : 3);
		r->type = kind == 0 ? VFW_NH_NONE : kind == 1 ?
			VFW_NH_VNETLOCAL : kind == 2 ? VFW_NH_APPLIANCE :
			VFW_NH_INTERNET;
		if (r->type == VFW_NH_APPLIANCE) {
			r->has_next_hop = true;
			r->next_hop = ip4(appliances[(x >> 56) % 4]);
		}
		*ref_slot(&ref, a, len, true) = n_sys + n_user;
		n_user++;
	}
	cfg.routes = routes;
	cfg.n_routes = n_user;

	heap0 = heap_used();
	t0 = now_s();
	rt = vfw_route_table_build(&cfg, "rnd", NULL, NULL);
	t1 = now_s();
	assert_non_null(rt);
	heap1 = heap_used();
	assert_int_equal(vfw_route_count(rt), n_sys + n_user);

	/* Half uniformly random, half inside a random route's prefix so
	 * long prefixes and their edges are hit too. */
	for (i = 0; i < n_addr; i++) {
		uint64_t x = rng();

		if (i & 1) {
			const struct vfw_cfg_route *r = &routes[(x >> 32) %
								n_user];
			uint32_t m = mask_of(r->prefix.len);
			uint32_t hostbits = (uint32_t)x;

			if ((x >> 60) == 0)
				hostbits = 0;
			else if ((x >> 60) == 1)
				hostbits = UINT32_MAX;
			addr[i] = (ntohl(r->prefix.ip.v4) & m) | (hostbits & ~m);
		} else if (i < 8) {
			addr[i] = i < 4 ? i : UINT32_MAX - (i - 4);
		} else {
			addr[i] = (uint32_t)x;
		}
	}
	/* One odd-sized call (chunking) and the rest in bursts of 32. */
	vfw_route_lookup_bulk(rt, addr, nh, 1001);
	for (i = 1001; i < n_addr; i += 32)
		vfw_route_lookup_bulk(rt, addr + i, nh + i,
				      RTE_MIN(32u, n_addr - i));
	t2 = now_s();

	for (i = 0; i < n_addr; i++) {
		int64_t want = ref_lookup(&ref, addr[i]);
		int64_t got = nh[i] == NULL ? -1 : (int64_t)nh[i]->route;

		if (want != got) {
			if (mismatches++ < 10)
				print_message("%08x: want %lld got %lld\n",
					      addr[i], (long long)want,
					      (long long)got);
		} else if (got >= 0) {
			hits++;
			assert_int_equal(nh[i]->type,
					 vfw_route_get(rt, (unsigned int)got)->nh.type);
		}
	}
	assert_int_equal(mismatches, 0);
	assert_true(hits > n_addr / 4);
	print_message("build %.3f s, lookups %.3f s, DPDK heap %.1f MB, "
		      "entries %.1f MB (plain heap)\n", t1 - t0, t2 - t1,
		      (double)(heap1 - heap0) / 1e6,
		      (double)vfw_route_count(rt) *
		      sizeof(struct vfw_route_entry) / 1e6);
	vfw_route_table_free(rt);
	free(routes);
	free(ref.key);
	free(ref.val);
	free(addr);
	free(nh);
}

static void
test_random_routes_gateway(void **state)
{
	(void)state;
	random_vs_reference(true, 100000, 100000, SPREAD);
}

static void
test_random_routes_no_default(void **state)
{
	(void)state;
	random_vs_reference(false, 20000, 100000, SPREAD);
}

static void
test_random_routes_dense(void **state)
{
	(void)state;
	random_vs_reference(false, 5000, 50000, DENSE_TOP);
	random_vs_reference(true, 5000, 50000, DENSE_BOTTOM);
}

/* The shapes that DPDK 22.11's DIR24_8 corrupts the whole table on when a
 * covering prefix is added after the prefixes that fill its end. */
static void
test_top_of_address_space(void **state)
{
	struct test_cfg t;
	struct vfw_route_table *rt;

	(void)state;
	cfg_init(&t, false);
	add_route(&t, "lo9", "255.0.0.0", 9, VFW_NH_NONE, NULL);
	add_route(&t, "hi9", "255.128.0.0", 9, VFW_NH_NONE, NULL);
	add_route(&t, "all8", "255.0.0.0", 8, VFW_NH_NONE, NULL);
	add_route(&t, "e28a", "254.255.255.224", 28, VFW_NH_NONE, NULL);
	add_route(&t, "e28b", "254.255.255.240", 28, VFW_NH_NONE, NULL);
	add_route(&t, "e27", "254.255.255.224", 27, VFW_NH_NONE, NULL);
	add_route(&t, "top1", "128.0.0.0", 1, VFW_NH_NONE, NULL);
	rt = vfw_route_table_build(&t.cfg, "top", NULL, NULL);
	assert_non_null(rt);
	expect_route(rt, "255.0.0.1", "lo9", VFW_NH_NONE, VFW_PORT_VNET, NULL);
	expect_route(rt, "255.255.255.255", "hi9", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	expect_route(rt, "254.255.255.255", "e28b", VFW_NH_NONE,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "254.255.255.230", "e28a", VFW_NH_NONE,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "254.255.255.200", "top1", VFW_NH_NONE,
		     VFW_PORT_VNET, NULL);
	expect_route(rt, "128.0.0.0", "top1", VFW_NH_NONE, VFW_PORT_VNET,
		     NULL);
	assert_null(lookup1(rt, "19.187.196.110"));
	assert_null(lookup1(rt, "127.255.255.255"));
	expect_route(rt, "10.0.1.1", "system-vnet", VFW_NH_VNETLOCAL,
		     VFW_PORT_VNET, NULL);
	vfw_route_table_free(rt);
}

/* ----------------------------------------------------- neighbor tests */

static void
test_neigh_static_wins(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_ether_addr a = mac_of(1), b = mac_of(2), m;
	struct vfw_neigh_info info;
	int slot;

	(void)state;
	nt = vfw_neigh_create("static", 64, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	assert_int_equal(vfw_neigh_add_static(nt, 0, be("10.0.1.1"), &a), 0);
	slot = vfw_neigh_find(nt, be("10.0.1.1"));
	assert_true(slot >= 0);
	/* A reply, solicited or not, never replaces a static entry. */
	assert_int_equal(vfw_neigh_learn(nt, 0, be("10.0.1.1"), &b, 5), 0);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.0.1.1"), &m), 1);
	assert_memory_equal(&m, &a, sizeof(m));
	/* Resolving a static entry returns it unchanged. */
	assert_int_equal(vfw_neigh_resolve(nt, 0, be("10.0.1.1"), 6), slot);
	vfw_neigh_probe_sent(nt, slot, 7);
	vfw_neigh_set_failed(nt, slot, 8);
	assert_int_equal(vfw_neigh_get(nt, slot, &info), 0);
	assert_int_equal(info.state, VFW_NEIGH_STATIC);
	assert_int_equal(info.probes, 0);
	assert_memory_equal(&info.mac, &a, sizeof(m));

	/* A learned entry becomes static when the operator says so. */
	int s2 = vfw_neigh_resolve(nt, 1, be("10.240.0.7"), 1);
	assert_true(s2 >= 0);
	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.240.0.7"), &a, 2), 1);
	assert_int_equal(vfw_neigh_add_static(nt, 1, be("10.240.0.7"), &b), 0);
	assert_int_equal(vfw_neigh_find(nt, be("10.240.0.7")), s2);
	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.240.0.7"), &a, 3), 0);
	assert_int_equal(vfw_neigh_mac(nt, s2, be("10.240.0.7"), &m), 1);
	assert_memory_equal(&m, &b, sizeof(m));

	/* Bad input. */
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_ether_addr zero = {{0}};
	assert_int_equal(vfw_neigh_add_static(nt, 0, be("10.0.1.2"), &bc),
			 -EINVAL);
	assert_int_equal(vfw_neigh_add_static(nt, 0, be("10.0.1.2"), &zero),
			 -EINVAL);
	assert_int_equal(vfw_neigh_add_static(nt, 0, 0, &a), -EINVAL);
	assert_int_equal(vfw_neigh_resolve(nt, 0, 0, 1), -EINVAL);
	vfw_neigh_free(nt);
	vfw_neigh_free(NULL);
}

static void
test_neigh_unsolicited_ignored(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_ether_addr a = mac_of(1), m;
	struct rte_ether_addr mc = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
	int slot;

	(void)state;
	nt = vfw_neigh_create("unsol", 64, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	assert_int_equal(vfw_neigh_learn(nt, 0, be("10.0.1.66"), &a, 1), 0);
	assert_int_equal(vfw_neigh_find(nt, be("10.0.1.66")), -ENOENT);
	assert_int_equal(vfw_neigh_next(nt, 0), -1);

	slot = vfw_neigh_resolve(nt, 0, be("10.0.1.66"), 1);
	assert_true(slot >= 0);
	/* Wrong port, or a multicast MAC: not our answer. */
	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.0.1.66"), &a, 2), 0);
	assert_int_equal(vfw_neigh_learn(nt, 0, be("10.0.1.66"), &mc, 2), 0);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.0.1.66"), &m), 0);
	vfw_neigh_free(nt);
}

static void
test_neigh_resolve_learn(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_ether_addr a = mac_of(0xaa), b = mac_of(0xbb), m;
	struct vfw_neigh_info info;
	int slot;

	(void)state;
	nt = vfw_neigh_create("rl", 64, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	assert_int_equal(vfw_neigh_capacity(nt), 64);
	slot = vfw_neigh_resolve(nt, 1, be("10.240.0.9"), 100);
	assert_true(slot >= 0 && slot < 64);
	assert_int_equal(vfw_neigh_resolve(nt, 0, be("10.240.0.9"), 101), slot);
	assert_int_equal(vfw_neigh_get(nt, slot, &info), 0);
	assert_int_equal(info.ip, be("10.240.0.9"));
	assert_int_equal(info.state, VFW_NEIGH_INCOMPLETE);
	assert_int_equal(info.port, 1);
	assert_int_equal(info.updated, 100);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.240.0.9"), &m), 0);

	vfw_neigh_probe_sent(nt, slot, 110);
	vfw_neigh_probe_sent(nt, slot, 120);
	assert_int_equal(vfw_neigh_get(nt, slot, &info), 0);
	assert_int_equal(info.probes, 2);
	assert_int_equal(info.updated, 120);

	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.240.0.9"), &a, 130), 1);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.240.0.9"), &m), 1);
	assert_memory_equal(&m, &a, sizeof(m));
	assert_int_equal(vfw_neigh_get(nt, slot, &info), 0);
	assert_int_equal(info.state, VFW_NEIGH_REACHABLE);
	assert_int_equal(info.probes, 0);
	assert_int_equal(info.updated, 130);
	assert_memory_equal(&info.mac, &a, sizeof(m));

	/* A reachable neighbor that moves (new reply) is updated. */
	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.240.0.9"), &b, 140), 1);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.240.0.9"), &m), 1);
	assert_memory_equal(&m, &b, sizeof(m));

	/* Failed: unusable, and a late reply still counts. */
	vfw_neigh_set_failed(nt, slot, 150);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.240.0.9"), &m), 0);
	assert_int_equal(vfw_neigh_get(nt, slot, &info), 0);
	assert_int_equal(info.state, VFW_NEIGH_FAILED);
	assert_int_equal(vfw_neigh_learn(nt, 1, be("10.240.0.9"), &a, 160), 1);
	assert_int_equal(vfw_neigh_mac(nt, slot, be("10.240.0.9"), &m), 1);

	/* Slot numbers out of range are harmless. */
	assert_int_equal(vfw_neigh_mac(nt, -1, be("10.240.0.9"), &m), 0);
	assert_int_equal(vfw_neigh_mac(nt, 64, be("10.240.0.9"), &m), 0);
	assert_int_equal(vfw_neigh_get(nt, 64, &info), -EINVAL);
	vfw_neigh_probe_sent(nt, -5, 1);
	vfw_neigh_set_failed(nt, 1000, 1);
	vfw_neigh_free(nt);
}

static void
test_neigh_stale_slot(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_ether_addr a = mac_of(1), b = mac_of(2), m;
	int slots[8], s_new, i;

	(void)state;
	/* A full table so the freed slot is the only one to reuse. */
	nt = vfw_neigh_create("stale", 8, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	for (i = 0; i < 8; i++) {
		slots[i] = vfw_neigh_resolve(nt, 0, htonl(0x0a000164 + i), 1);
		assert_true(slots[i] >= 0);
	}
	assert_int_equal(vfw_neigh_learn(nt, 0, htonl(0x0a000164 + 3), &a, 2),
			 1);
	assert_int_equal(vfw_neigh_mac(nt, slots[3], htonl(0x0a000164 + 3),
				       &m), 1);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0a000164 + 3)), 0);
	/* Deleted: the old slot is unusable at once. */
	assert_int_equal(vfw_neigh_mac(nt, slots[3], htonl(0x0a000164 + 3),
				       &m), 0);
	s_new = vfw_neigh_resolve(nt, 0, be("10.0.1.200"), 3);
	assert_int_equal(s_new, slots[3]);
	assert_int_equal(vfw_neigh_learn(nt, 0, be("10.0.1.200"), &b, 4), 1);
	/* Same slot, new owner: the old address does not get its MAC. */
	assert_int_equal(vfw_neigh_mac(nt, slots[3], htonl(0x0a000164 + 3),
				       &m), 0);
	assert_int_equal(vfw_neigh_mac(nt, s_new, be("10.0.1.200"), &m), 1);
	assert_memory_equal(&m, &b, sizeof(m));
	vfw_neigh_free(nt);
}

static void
test_neigh_full_del_reuse(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_ether_addr a = mac_of(1);
	struct vfw_neigh_info info;
	int seen[16] = {0};
	unsigned int i, n;
	int32_t s;

	(void)state;
	nt = vfw_neigh_create("full", 16, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	assert_int_equal(vfw_neigh_capacity(nt), 16);
	/* Exactly capacity entries fit, whatever their hashes. */
	for (i = 0; i < 16; i++) {
		int slot = (i % 2) ?
			vfw_neigh_resolve(nt, 1, htonl(0x0af00000 + i), 1) :
			vfw_neigh_add_static(nt, 1, htonl(0x0af00000 + i), &a);

		assert_true(slot >= 0);
		if (i % 2) {
			assert_true(slot < 16);
			assert_int_equal(seen[slot], 0);
			seen[slot] = 1;
		}
	}
	assert_int_equal(vfw_neigh_resolve(nt, 1, htonl(0x0af00000 + 99), 1),
			 -ENOSPC);
	assert_int_equal(vfw_neigh_add_static(nt, 1, htonl(0x0af00000 + 99),
					      &a), -ENOSPC);
	/* Existing entries are still found when full. */
	assert_true(vfw_neigh_resolve(nt, 1, htonl(0x0af00000 + 5), 1) >= 0);

	/* Iterate what "show neighbors" would show. */
	for (n = 0, s = vfw_neigh_next(nt, 0); s >= 0;
	     s = vfw_neigh_next(nt, s + 1), n++)
		assert_int_equal(vfw_neigh_get(nt, s, &info), 0);
	assert_int_equal(n, 16);

	/* del works on every state: static, incomplete, failed, reachable. */
	vfw_neigh_set_failed(nt, vfw_neigh_find(nt, htonl(0x0af00000 + 3)), 2);
	assert_int_equal(vfw_neigh_learn(nt, 1, htonl(0x0af00000 + 5), &a, 2),
			 1);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0af00000 + 0)), 0);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0af00000 + 1)), 0);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0af00000 + 3)), 0);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0af00000 + 5)), 0);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0af00000 + 5)), -ENOENT);
	assert_int_equal(vfw_neigh_find(nt, htonl(0x0af00000 + 0)), -ENOENT);
	for (n = 0, s = vfw_neigh_next(nt, -3); s >= 0;
	     s = vfw_neigh_next(nt, s + 1))
		n++;
	assert_int_equal(n, 12);
	/* ... and the slots are reused. */
	for (i = 0; i < 4; i++)
		assert_true(vfw_neigh_resolve(nt, 0, htonl(0x0a000100 + i),
					      3) >= 0);
	assert_int_equal(vfw_neigh_resolve(nt, 0, htonl(0x0a000100 + 4), 3),
			 -ENOSPC);
	vfw_neigh_free(nt);
}

static void
test_neigh_find_bulk(void **state)
{
	struct vfw_neigh_table *nt;
	uint32_t ips[150];
	int32_t slots[150];
	unsigned int i;

	(void)state;
	nt = vfw_neigh_create("bulk", 256, SOCKET_ID_ANY, NULL);
	assert_non_null(nt);
	for (i = 0; i < 150; i++) {
		ips[i] = htonl(0x0a000000 + i);
		if (i % 3 == 0)
			assert_true(vfw_neigh_resolve(nt, 0, ips[i], 1) >= 0);
	}
	vfw_neigh_find_bulk(nt, ips, slots, 150);
	for (i = 0; i < 150; i++) {
		if (i % 3 == 0)
			assert_int_equal(slots[i], vfw_neigh_find(nt, ips[i]));
		else
			assert_int_equal(slots[i], -1);
	}
	vfw_neigh_free(nt);
}

static void
test_neigh_rcu_reuse(void **state)
{
	struct vfw_neigh_table *nt;
	struct rte_rcu_qsbr *qsv;
	struct rte_ether_addr a = mac_of(1), m;
	struct vfw_neigh_info info;
	size_t sz = rte_rcu_qsbr_get_memsize(1);
	unsigned int i;
	int old, s;

	(void)state;
	qsv = rte_zmalloc("test_qsv", sz, RTE_CACHE_LINE_SIZE);
	assert_non_null(qsv);
	assert_int_equal(rte_rcu_qsbr_init(qsv, 1), 0);
	/* This thread plays the worker: registered and online, it has not
	 * reported a quiescent state until told so below. */
	assert_int_equal(rte_rcu_qsbr_thread_register(qsv, 0), 0);
	rte_rcu_qsbr_thread_online(qsv, 0);

	nt = vfw_neigh_create("rcu", 8, SOCKET_ID_ANY, qsv);
	assert_non_null(nt);
	for (i = 0; i < 8; i++)
		assert_true(vfw_neigh_resolve(nt, 0, htonl(0x0a000164 + i),
					      1) >= 0);
	old = vfw_neigh_find(nt, htonl(0x0a000164 + 2));
	assert_int_equal(vfw_neigh_learn(nt, 0, htonl(0x0a000164 + 2), &a, 2),
			 1);
	assert_int_equal(vfw_neigh_del(nt, htonl(0x0a000164 + 2)), 0);
	assert_int_equal(vfw_neigh_mac(nt, old, htonl(0x0a000164 + 2), &m), 0);
	/* The reader has not quiesced: the slot is not handed out yet. */
	assert_int_equal(vfw_neigh_resolve(nt, 0, be("10.0.1.250"), 3),
			 -ENOSPC);
	assert_int_equal(vfw_neigh_get(nt, old, &info), -ENOENT);
	rte_rcu_qsbr_quiescent(qsv, 0);
	s = vfw_neigh_resolve(nt, 0, be("10.0.1.250"), 4);
	assert_int_equal(s, old);

	vfw_neigh_free(nt);
	rte_rcu_qsbr_thread_offline(qsv, 0);
	rte_rcu_qsbr_thread_unregister(qsv, 0);
	rte_free(qsv);
}

/* One writer (this thread) churns entries while a reader thread checks that
 * a MAC it is given always belongs to the address it asked for, through
 * fresh slots and through slots it kept from earlier lookups. */
#define CHURN_IPS 32

struct churn {
	struct vfw_neigh_table *nt;
	struct rte_rcu_qsbr *qsv;
	volatile int done;
	uint64_t reads, hits, stale_hits, bad;
};

static struct rte_ether_addr
mac_for(uint32_t ip_be)
{
	struct rte_ether_addr m = {{0x02, 0x00}};

	memcpy(&m.addr_bytes[2], &ip_be, 4);
	return m;
}

static void *
churn_reader(void *arg)
{
	struct churn *c = arg;
	int32_t kept[CHURN_IPS];
	struct rte_ether_addr m, want;
	unsigned int i;

	for (i = 0; i < CHURN_IPS; i++)
		kept[i] = -1;
	rte_rcu_qsbr_thread_register(c->qsv, 0);
	rte_rcu_qsbr_thread_online(c->qsv, 0);
	while (!c->done) {
		for (i = 0; i < CHURN_IPS; i++) {
			uint32_t ip = htonl(0x0a000001 + i);
			int slot = vfw_neigh_find(c->nt, ip);

			want = mac_for(ip);
			c->reads++;
			if (slot >= 0 && vfw_neigh_mac(c->nt, slot, ip, &m)) {
				c->hits++;
				if (memcmp(&m, &want, sizeof(m)) != 0)
					c->bad++;
			}
			/* A slot kept across quiescent states, as a
			 * route's nexthop keeps its neighbor slot. */
			if (kept[i] >= 0 &&
			    vfw_neigh_mac(c->nt, kept[i], ip, &m)) {
				c->stale_hits++;
				if (memcmp(&m, &want, sizeof(m)) != 0)
					c->bad++;
			}
			if (slot >= 0)
				kept[i] = slot;
		}
		rte_rcu_qsbr_quiescent(c->qsv, 0);
	}
	rte_rcu_qsbr_thread_offline(c->qsv, 0);
	rte_rcu_qsbr_thread_unregister(c->qsv, 0);
	return NULL;
}

static void
test_neigh_concurrent_churn(void **state)
{
	struct churn c;
	pthread_t th;
	double t_end;
	uint64_t ops = 0, reused = 0;
	uint32_t owner[16] = {0};

	(void)state;
	memset(&c, 0, sizeof(c));
	c.qsv = rte_zmalloc("churn_qsv", rte_rcu_qsbr_get_memsize(1),
			    RTE_CACHE_LINE_SIZE);
	assert_non_null(c.qsv);
	assert_int_equal(rte_rcu_qsbr_init(c.qsv, 1), 0);
	/* Fewer slots than addresses: deletes must be reclaimed for the
	 * writer to go on, so slots really change owner under the reader. */
	c.nt = vfw_neigh_create("churn", 16, SOCKET_ID_ANY, c.qsv);
	assert_non_null(c.nt);
	assert_int_equal(pthread_create(&th, NULL, churn_reader, &c), 0);

	rng_state = UINT64_C(0xc0ffee);
	t_end = now_s() + 0.3;
	/* At least 0.3 s and 64 slots changing owner under the reader; a
	 * busy machine gets more time. */
	while ((now_s() < t_end || reused < 64) && now_s() < t_end + 10) {
		uint64_t x = rng();
		uint32_t ip = htonl(0x0a000001 + (uint32_t)(x % CHURN_IPS));
		struct rte_ether_addr m = mac_for(ip);
		int slot = vfw_neigh_find(c.nt, ip);

		if (slot >= 0) {
			if ((x >> 32) % 4 == 0)
				vfw_neigh_del(c.nt, ip);
			else if ((x >> 32) % 16 == 1)
				vfw_neigh_set_failed(c.nt, slot, x);
			else
				vfw_neigh_learn(c.nt, 0, ip, &m, x);
		} else {
			slot = vfw_neigh_resolve(c.nt, 0, ip, x);
			if (slot == -ENOSPC) {
				/* Deleted slots wait for the reader: let it
				 * pass a quiescent state (it is offline once
				 * done, so this never hangs). */
				rte_rcu_qsbr_synchronize(c.qsv,
							 RTE_QSBR_THRID_INVALID);
				continue;
			}
			assert_true(slot >= 0 && slot < 16);
			if (owner[slot] != 0 && owner[slot] != ip)
				reused++;
			owner[slot] = ip;
			vfw_neigh_learn(c.nt, 0, ip, &m, x);
		}
		ops++;
	}
	c.done = 1;
	pthread_join(th, NULL);
	print_message("%llu writes, %llu slots reused by another address, "
		      "%llu reads, %llu hits, %llu via kept slots\n",
		      (unsigned long long)ops, (unsigned long long)reused,
		      (unsigned long long)c.reads,
		      (unsigned long long)c.hits,
		      (unsigned long long)c.stale_hits);
	assert_int_equal(c.bad, 0);
	assert_true(c.hits > 0);
	assert_true(reused > 0);
	vfw_neigh_free(c.nt);
	rte_free(c.qsv);
}

int
main(void)
{
	char *eal_args[] = {
		"test_route", "--no-huge", "--no-pci", "-m", "512",
		"--file-prefix=test_route", "--no-shconf", "--log-level=lib.*:error",
		"--no-telemetry",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_routes),
		cmocka_unit_test(test_default_only_with_gateway),
		cmocka_unit_test(test_user_overrides_system),
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_vnetlocal_and_none),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_port_of),
		cmocka_unit_test(test_fib_names),
		cmocka_unit_test(test_build_resolves_gateways),
		cmocka_unit_test(test_random_routes_gateway),
		cmocka_unit_test(test_random_routes_no_default),
		cmocka_unit_test(test_random_routes_dense),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_neigh_static_wins),
		cmocka_unit_test(test_neigh_unsolicited_ignored),
		cmocka_unit_test(test_neigh_resolve_learn),
		cmocka_unit_test(test_neigh_stale_slot),
		cmocka_unit_test(test_neigh_full_del_reuse),
		cmocka_unit_test(test_neigh_find_bulk),
		cmocka_unit_test(test_neigh_rcu_reuse),
		cmocka_unit_test(test_neigh_concurrent_churn),
	};
	int ret;

	if (rte_eal_init(RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
