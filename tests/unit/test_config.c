/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/config: loading the contract's example, round trips
 * through the writers, deep copies, and a table of broken documents each
 * checked for its message and its line:column.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "vnetfw/config.h"

#ifndef VFW_TEST_DATA
#define VFW_TEST_DATA "tests/unit/data"
#endif
#define DATA(f) VFW_TEST_DATA "/config/" f

/* The example of DESIGN.md section 2, verbatim. */
static const char demo[] =
"ports:\n"
"  vnet:    {device: net_af_packet0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n"
"  cluster: {device: net_af_packet1, address: 10.240.0.4/16}\n"
"vnet_prefixes: [10.0.0.0/8]\n"
"neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}]\n"
"address_sets:\n"
"  AksApi: [10.240.0.10/32]\n"
"security_rules:\n"
"  - {name: https-in, priority: 100, direction: inbound, access: allow,\n"
"     protocol: tcp, source: [Internet], destination: [10.240.0.0/16],\n"
"     destination_ports: [443, 30000-32767]}\n"
"  - {name: no-api-from-outside, priority: 110, direction: inbound, access: deny,\n"
"     protocol: tcp, source: [any], destination: [AksApi], destination_ports: [6443]}\n"
"nat:\n"
"  dnat: [{name: web, protocol: tcp, destination: 10.0.1.4, destination_port: 443,\n"
"          translated_address: 10.240.1.10, translated_port: 8443}]\n"
"  snat: [{name: egress, source: [10.240.0.0/16], exclude: [10.0.0.0/8],\n"
"          translated_addresses: [10.0.1.4], ports: 1024-65535}]\n"
"routes:\n"
"  - {name: blackhole, prefix: 10.66.0.0/16, next_hop_type: None}\n"
"  - {name: spoke2, prefix: 10.2.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.0.1.10}\n"
"conntrack: {max_sessions: 1048576, timeouts: {udp: 300}}\n"
"control: {socket: /run/vnetfw/control.sock, mode: \"0660\"}\n";

/* Three lines of valid ports; broken documents start on line 4. */
#define BASE                                                                 \
	"ports:\n"                                                           \
	"  vnet: {device: v0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n"    \
	"  cluster: {device: c0, address: 10.240.0.4/16}\n"

static void
print_errors(const struct vfw_errors *e)
{
	unsigned int i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "    | %s\n", e->msg[i]);
}

static struct vfw_config *
load_ok(const char *doc)
{
	struct vfw_errors e;
	struct vfw_config *cfg;

	vfw_errors_init(&e);
	cfg = vfw_config_load_string(doc, strlen(doc), "t.yaml", &e);
	if (cfg == NULL || e.n != 0) {
		print_errors(&e);
		fail_msg("document did not load");
	}
	vfw_errors_free(&e);
	return cfg;
}

static uint32_t
ip4(const char *s)
{
	struct vfw_ip ip;

	assert_int_equal(vfw_ip_parse(s, &ip), 0);
	return ip.v4;
}

static void
assert_prefix(const struct vfw_prefix *p, const char *want)
{
	char b[64];

	assert_string_equal(vfw_prefix_str(p, b, sizeof(b)), want);
}

static void
assert_ip(const struct vfw_ip *ip, const char *want)
{
	char b[64];

	assert_string_equal(vfw_ip_str(ip, b, sizeof(b)), want);
}

/* --- equality of configs (everything but locations and file name) ---- */

static bool
ip_eq(const struct vfw_ip *a, const struct vfw_ip *b)
{
	return a->af == b->af && vfw_ip_equal(a, b);
}

static bool
pfx_eq(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	return a->len == b->len && ip_eq(&a->ip, &b->ip);
}

static bool
pfxs_eq(const struct vfw_prefix *a, unsigned int na,
	const struct vfw_prefix *b, unsigned int nb)
{
	unsigned int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!pfx_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool
ranges_eq(const struct vfw_port_range *a, unsigned int na,
	  const struct vfw_port_range *b, unsigned int nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool
addrs_eq(const struct vfw_cfg_addr *a, unsigned int na,
	 const struct vfw_cfg_addr *b, unsigned int nb)
{
	unsigned int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (a[i].kind != b[i].kind)
			return false;
		if (a[i].kind == VFW_ADDR_PREFIX &&
		    !pfx_eq(&a[i].prefix, &b[i].prefix))
			return false;
		if (a[i].kind == VFW_ADDR_SET && strcmp(a[i].set, b[i].set))
			return false;
	}
	return true;
}

static bool
rule_eq(const struct vfw_cfg_rule *a, const struct vfw_cfg_rule *b)
{
	return strcmp(a->name, b->name) == 0 && a->priority == b->priority &&
	       a->direction == b->direction && a->access == b->access &&
	       a->protocol == b->protocol &&
	       addrs_eq(a->source, a->n_source, b->source, b->n_source) &&
	       addrs_eq(a->destination, a->n_destination, b->destination,
			b->n_destination) &&
	       ranges_eq(a->source_ports, a->n_source_ports, b->source_ports,
			 b->n_source_ports) &&
	       ranges_eq(a->destination_ports, a->n_destination_ports,
			 b->destination_ports, b->n_destination_ports) &&
	       strcmp(a->description, b->description) == 0;
}

static bool
snat_eq(const struct vfw_cfg_snat *a, const struct vfw_cfg_snat *b)
{
	unsigned int i;

	if (strcmp(a->name, b->name) || a->n_translated != b->n_translated ||
	    a->ports.lo != b->ports.lo || a->ports.hi != b->ports.hi)
		return false;
	for (i = 0; i < a->n_translated; i++)
		if (!ip_eq(&a->translated_addresses[i],
			   &b->translated_addresses[i]))
			return false;
	return pfxs_eq(a->source, a->n_source, b->source, b->n_source) &&
	       pfxs_eq(a->destination, a->n_destination, b->destination,
		       b->n_destination) &&
	       pfxs_eq(a->exclude, a->n_exclude, b->exclude, b->n_exclude);
}

static bool
dnat_eq(const struct vfw_cfg_dnat *a, const struct vfw_cfg_dnat *b)
{
	return strcmp(a->name, b->name) == 0 && a->protocol == b->protocol &&
	       ip_eq(&a->destination, &b->destination) &&
	       a->destination_port == b->destination_port &&
	       ip_eq(&a->translated_address, &b->translated_address) &&
	       a->translated_port == b->translated_port;
}

static bool
route_eq(const struct vfw_cfg_route *a, const struct vfw_cfg_route *b)
{
	return strcmp(a->name, b->name) == 0 && pfx_eq(&a->prefix, &b->prefix) &&
	       a->type == b->type && a->has_next_hop == b->has_next_hop &&
	       (!a->has_next_hop || ip_eq(&a->next_hop, &b->next_hop));
}

static bool
port_eq(const struct vfw_cfg_port *a, const struct vfw_cfg_port *b)
{
	return strcmp(a->device, b->device) == 0 &&
	       pfx_eq(&a->address, &b->address) &&
	       a->has_address6 == b->has_address6 &&
	       (!a->has_address6 || pfx_eq(&a->address6, &b->address6)) &&
	       a->has_gateway == b->has_gateway &&
	       (!a->has_gateway || ip_eq(&a->gateway, &b->gateway)) &&
	       a->has_mac == b->has_mac &&
	       (!a->has_mac || rte_is_same_ether_addr(&a->mac, &b->mac)) &&
	       a->mtu == b->mtu;
}

static void
assert_config_equal(const struct vfw_config *a, const struct vfw_config *b)
{
	unsigned int i, j;

	for (i = 0; i < VFW_PORT_MAX; i++)
		assert_true(port_eq(&a->ports[i], &b->ports[i]));
	assert_true(pfxs_eq(a->vnet_prefixes, a->n_vnet_prefixes,
			    b->vnet_prefixes, b->n_vnet_prefixes));
	assert_int_equal(a->n_neighbors, b->n_neighbors);
	for (i = 0; i < a->n_neighbors; i++) {
		assert_true(ip_eq(&a->neighbors[i].address,
				  &b->neighbors[i].address));
		assert_true(rte_is_same_ether_addr(&a->neighbors[i].mac,
						   &b->neighbors[i].mac));
	}
	assert_int_equal(a->n_address_sets, b->n_address_sets);
	for (i = 0; i < a->n_address_sets; i++) {
		assert_string_equal(a->address_sets[i].name,
				    b->address_sets[i].name);
		assert_true(pfxs_eq(a->address_sets[i].prefixes,
				    a->address_sets[i].n_prefixes,
				    b->address_sets[i].prefixes,
				    b->address_sets[i].n_prefixes));
	}
	assert_int_equal(a->n_rules, b->n_rules);
	for (i = 0; i < a->n_rules; i++)
		assert_true(rule_eq(&a->rules[i], &b->rules[i]));
	assert_int_equal(a->n_dnat, b->n_dnat);
	for (i = 0; i < a->n_dnat; i++)
		assert_true(dnat_eq(&a->dnat[i], &b->dnat[i]));
	assert_int_equal(a->n_snat, b->n_snat);
	for (i = 0; i < a->n_snat; i++)
		assert_true(snat_eq(&a->snat[i], &b->snat[i]));
	assert_int_equal(a->n_routes, b->n_routes);
	for (j = 0; j < a->n_routes; j++)
		assert_true(route_eq(&a->routes[j], &b->routes[j]));
	/* everything but where max_sessions was written */
	assert_int_equal(a->conntrack.max_sessions, b->conntrack.max_sessions);
	assert_int_equal(a->conntrack.tcp_loose, b->conntrack.tcp_loose);
	assert_memory_equal(&a->conntrack.timeouts, &b->conntrack.timeouts,
			    sizeof(a->conntrack.timeouts));
	assert_string_equal(a->control.socket, b->control.socket);
	assert_int_equal(a->control.mode, b->control.mode);
}

/* --- valid documents --------------------------------------------------- */

static void
check_demo(const struct vfw_config *c)
{
	const struct vfw_cfg_rule *r;
	const struct vfw_cfg_port *p;

	p = &c->ports[VFW_PORT_VNET];
	assert_string_equal(p->device, "net_af_packet0");
	assert_prefix(&p->address, "10.0.1.4/24"); /* host bits kept */
	assert_true(p->has_gateway);
	assert_ip(&p->gateway, "10.0.1.1");
	assert_false(p->has_mac);
	assert_false(p->has_address6);
	assert_int_equal(p->loc.line, 2);
	assert_int_equal(p->loc.col, 12);
	p = &c->ports[VFW_PORT_CLUSTER];
	assert_string_equal(p->device, "net_af_packet1");
	assert_prefix(&p->address, "10.240.0.4/16");
	assert_false(p->has_gateway);

	assert_int_equal(c->n_vnet_prefixes, 1);
	assert_prefix(&c->vnet_prefixes[0], "10.0.0.0/8");

	assert_int_equal(c->n_neighbors, 1);
	assert_ip(&c->neighbors[0].address, "10.0.1.1");
	assert_int_equal(c->neighbors[0].mac.addr_bytes[0], 0x02);
	assert_int_equal(c->neighbors[0].mac.addr_bytes[4], 0x01);
	assert_int_equal(c->neighbors[0].mac.addr_bytes[5], 0x01);

	assert_int_equal(c->n_address_sets, 1);
	assert_string_equal(c->address_sets[0].name, "AksApi");
	assert_int_equal(c->address_sets[0].n_prefixes, 1);
	assert_prefix(&c->address_sets[0].prefixes[0], "10.240.0.10/32");
	assert_int_equal(c->address_sets[0].loc.line, 7);

	assert_int_equal(c->n_rules, 2);
	r = &c->rules[0];
	assert_string_equal(r->name, "https-in");
	assert_int_equal(r->priority, 100);
	assert_int_equal(r->direction, VFW_DIR_IN);
	assert_int_equal(r->access, VFW_ACCESS_ALLOW);
	assert_int_equal(r->protocol, IPPROTO_TCP);
	assert_int_equal(r->n_source, 1);
	assert_int_equal(r->source[0].kind, VFW_ADDR_SET);
	assert_string_equal(r->source[0].set, "Internet");
	assert_int_equal(r->n_destination, 1);
	assert_int_equal(r->destination[0].kind, VFW_ADDR_PREFIX);
	assert_prefix(&r->destination[0].prefix, "10.240.0.0/16");
	assert_int_equal(r->n_source_ports, 0);
	assert_int_equal(r->n_destination_ports, 2);
	assert_int_equal(r->destination_ports[0].lo, 443);
	assert_int_equal(r->destination_ports[0].hi, 443);
	assert_int_equal(r->destination_ports[1].lo, 30000);
	assert_int_equal(r->destination_ports[1].hi, 32767);
	assert_string_equal(r->description, "");
	assert_int_equal(r->loc.line, 9);
	assert_int_equal(r->loc.col, 5);
	r = &c->rules[1];
	assert_string_equal(r->name, "no-api-from-outside");
	assert_int_equal(r->priority, 110);
	assert_int_equal(r->access, VFW_ACCESS_DENY);
	assert_int_equal(r->n_source, 1);
	assert_int_equal(r->source[0].kind, VFW_ADDR_ANY);
	assert_int_equal(r->destination[0].kind, VFW_ADDR_SET);
	assert_string_equal(r->destination[0].set, "AksApi");
	assert_int_equal(r->n_destination_ports, 1);
	assert_int_equal(r->destination_ports[0].lo, 6443);
	assert_int_equal(r->loc.line, 12);

	assert_int_equal(c->n_dnat, 1);
	assert_string_equal(c->dnat[0].name, "web");
	assert_int_equal(c->dnat[0].protocol, IPPROTO_TCP);
	assert_ip(&c->dnat[0].destination, "10.0.1.4");
	assert_int_equal(c->dnat[0].destination_port, 443);
	assert_ip(&c->dnat[0].translated_address, "10.240.1.10");
	assert_int_equal(c->dnat[0].translated_port, 8443);
	assert_int_equal(c->dnat[0].loc.line, 15);

	assert_int_equal(c->n_snat, 1);
	assert_string_equal(c->snat[0].name, "egress");
	assert_int_equal(c->snat[0].n_source, 1);
	assert_prefix(&c->snat[0].source[0], "10.240.0.0/16");
	assert_int_equal(c->snat[0].n_destination, 0);
	assert_int_equal(c->snat[0].n_exclude, 1);
	assert_prefix(&c->snat[0].exclude[0], "10.0.0.0/8");
	assert_int_equal(c->snat[0].n_translated, 1);
	assert_int_equal(c->snat[0].translated_addresses[0].v4, ip4("10.0.1.4"));
	assert_int_equal(c->snat[0].ports.lo, 1024);
	assert_int_equal(c->snat[0].ports.hi, 65535);

	assert_int_equal(c->n_routes, 2);
	assert_string_equal(c->routes[0].name, "blackhole");
	assert_prefix(&c->routes[0].prefix, "10.66.0.0/16");
	assert_int_equal(c->routes[0].type, VFW_NH_NONE);
	assert_false(c->routes[0].has_next_hop);
	assert_string_equal(c->routes[1].name, "spoke2");
	assert_int_equal(c->routes[1].type, VFW_NH_APPLIANCE);
	assert_true(c->routes[1].has_next_hop);
	assert_ip(&c->routes[1].next_hop, "10.0.1.10");
	assert_int_equal(c->routes[1].loc.line, 21);

	assert_int_equal(c->conntrack.max_sessions, 1048576);
	assert_false(c->conntrack.tcp_loose);
	assert_int_equal(c->conntrack.timeouts.tcp_syn, 30);
	assert_int_equal(c->conntrack.timeouts.tcp_established, 14400);
	assert_int_equal(c->conntrack.timeouts.tcp_closing, 120);
	assert_int_equal(c->conntrack.timeouts.udp, 300);
	assert_int_equal(c->conntrack.timeouts.icmp, 60);
	assert_string_equal(c->control.socket, "/run/vnetfw/control.sock");
	assert_int_equal(c->control.mode, 0660);
}

static void
test_demo(void **state)
{
	struct vfw_config *c = load_ok(demo);

	(void)state;
	check_demo(c);
	assert_string_equal(c->file, "t.yaml");
	assert_int_equal(vfw_config_validate(c, NULL), 0);
	vfw_config_free(c);
}

static void
test_demo_file(void **state)
{
	struct vfw_errors e;
	struct vfw_config *c;

	(void)state;
	vfw_errors_init(&e);
	c = vfw_config_load_file(DATA("demo.yaml"), &e);
	if (c == NULL)
		print_errors(&e);
	assert_non_null(c);
	check_demo(c);
	assert_string_equal(c->file, DATA("demo.yaml"));
	vfw_config_free(c);

	c = vfw_config_load_file(DATA("no-such-file.yaml"), &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "no-such-file.yaml: cannot open"));
	vfw_errors_free(&e);
}

static void
test_full(void **state)
{
	struct vfw_errors e;
	struct vfw_config *c;
	const struct vfw_cfg_rule *r;

	(void)state;
	vfw_errors_init(&e);
	c = vfw_config_load_file(DATA("full.yaml"), &e);
	if (c == NULL)
		print_errors(&e);
	assert_non_null(c);
	assert_string_equal(c->ports[0].device, "0000:03:00.0");
	assert_true(c->ports[0].has_mac);
	assert_int_equal(c->ports[0].mac.addr_bytes[5], 1);
	assert_true(c->ports[0].has_address6);
	assert_prefix(&c->ports[0].address6, "fd00:1::4/64");
	assert_prefix(&c->ports[1].address6, "fd00:2::4/64");
	assert_int_equal(c->ports[0].mtu, 9000);
	assert_int_equal(c->ports[1].mtu, 0); /* not given: the device's */
	assert_int_equal(c->n_vnet_prefixes, 3);
	assert_int_equal(c->n_neighbors, 2);
	assert_int_equal(c->neighbors[1].mac.addr_bytes[5], 0x0a);
	assert_int_equal(c->n_address_sets, 3);
	assert_int_equal(c->address_sets[1].n_prefixes, 1); /* scalar form */
	assert_string_equal(c->address_sets[2].name, "v6.set_1-a");

	r = &c->rules[0];
	assert_int_equal(r->direction, VFW_DIR_IN);
	assert_int_equal(r->access, VFW_ACCESS_ALLOW);
	assert_int_equal(r->protocol, IPPROTO_TCP);
	assert_string_equal(r->source[0].set, "Internet");
	assert_int_equal(r->n_destination, 2);
	assert_string_equal(r->destination[1].set, "Web");
	assert_int_equal(r->n_source_ports, 0); /* "*" */
	assert_int_equal(r->n_destination_ports, 3);
	assert_int_equal(r->destination_ports[1].lo, 8443);
	assert_string_equal(r->description,
			    "HTTPS from \"anywhere\" \\ \xc3\xa9 \xe2\x9c\x93 \t tab");
	r = &c->rules[1];
	assert_int_equal(r->protocol, IPPROTO_ICMP);
	assert_int_equal(r->source[0].kind, VFW_ADDR_ANY); /* missing */
	assert_string_equal(r->destination[0].set, "VirtualNetwork");
	r = &c->rules[2];
	assert_int_equal(r->direction, VFW_DIR_OUT);
	assert_int_equal(r->protocol, IPPROTO_UDP);
	assert_int_equal(r->destination[0].kind, VFW_ADDR_ANY);
	r = &c->rules[3];
	assert_int_equal(r->protocol, VFW_PROTO_ANY);
	assert_int_equal(r->priority, 64999);
	assert_prefix(&r->source[0].prefix, "fd00::/8");
	assert_string_equal(r->source[1].set, "v6.set_1-a");
	assert_int_equal(r->source_ports[0].lo, 0);
	assert_int_equal(r->source_ports[0].hi, 1023);

	assert_int_equal(c->dnat[1].protocol, IPPROTO_UDP);
	assert_int_equal(c->dnat[1].translated_port, 53); /* default */
	assert_int_equal(c->snat[0].n_destination, 0);
	assert_int_equal(c->snat[0].n_translated, 2);
	assert_int_equal(c->snat[1].ports.lo, 20000);
	assert_int_equal(c->snat[1].ports.hi, 30000);
	assert_int_equal(c->routes[1].type, VFW_NH_APPLIANCE);
	assert_int_equal(c->routes[2].type, VFW_NH_INTERNET);
	assert_int_equal(c->routes[3].type, VFW_NH_VNETLOCAL);
	assert_ip(&c->routes[4].next_hop, "10.240.0.20");
	assert_int_equal(c->conntrack.max_sessions, 2048);
	assert_true(c->conntrack.tcp_loose);
	assert_int_equal(c->conntrack.timeouts.icmp, 5);
	assert_int_equal(c->control.mode, 0600);
	assert_string_equal(c->control.socket, "/tmp/vnetfw.sock");
	vfw_config_free(c);
	vfw_errors_free(&e);
}

/* What apply refuses: one error per field, naming it, old -> new. */
static void
test_check_restart(void **state)
{
	static const char a_doc[] =
		"ports:\n"
		"  vnet: {device: net_null0, address: 10.0.1.4/24, gateway: 10.0.1.1}\n"
		"  cluster: {device: net_null1, address: 10.240.0.4/16}\n";
	static const char b_doc[] =
		"ports:\n"
		"  vnet: {device: net_null0, address: 10.0.1.4/24, gateway: 10.0.1.2}\n"
		"  cluster: {device: net_null2, address: 10.240.0.5/16, mtu: 9000,\n"
		"            mac: \"02:00:00:00:00:02\"}\n"
		"conntrack: {max_sessions: 2048}\n";
	const uint16_t dev_mtu[VFW_PORT_MAX] = { 1500, 1500 };
	struct vfw_config *a, *b;
	struct vfw_errors e;

	(void)state;
	a = load_ok(a_doc);
	b = load_ok(b_doc);
	vfw_errors_init(&e);
	assert_int_equal(vfw_config_check_restart(a, a, NULL, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(vfw_config_check_restart(a, b, dev_mtu, &e), 5);
	assert_int_equal(e.n, 5);
	assert_string_equal(e.msg[0], "t.yaml:3:12: ports.cluster.device: net_null1 -> net_null2 "
			    "cannot change while running (restart vnetfw to change it)");
	assert_non_null(strstr(e.msg[1], "ports.cluster.address: 10.240.0.4/16 -> 10.240.0.5/16 cannot"));
	assert_non_null(strstr(e.msg[2], "ports.cluster.mac: unset -> 02:00:00:00:00:02 cannot"));
	assert_non_null(strstr(e.msg[3], "ports.cluster.mtu: unset (the device's 1500) -> 9000 cannot"));
	/* at the value that changed, like the port fields */
	assert_non_null(strstr(e.msg[4], "t.yaml:5:27: conntrack.max_sessions: 1048576 -> 2048 cannot"));
	vfw_errors_free(&e);
	vfw_config_free(a);
	vfw_config_free(b);
}

static void
test_defaults(void **state)
{
	struct vfw_config *c = load_ok(BASE);

	(void)state;
	assert_int_equal(c->n_rules, 0);
	assert_int_equal(c->n_routes, 0);
	assert_int_equal(c->conntrack.max_sessions, 1048576);
	assert_false(c->conntrack.tcp_loose);
	assert_int_equal(c->conntrack.timeouts.tcp_syn, 30);
	assert_int_equal(c->conntrack.timeouts.tcp_established, 14400);
	assert_int_equal(c->conntrack.timeouts.tcp_closing, 120);
	assert_int_equal(c->conntrack.timeouts.udp, 300);
	assert_int_equal(c->conntrack.timeouts.icmp, 60);
	assert_string_equal(c->control.socket, "/run/vnetfw/control.sock");
	assert_int_equal(c->control.mode, 0660);
	vfw_config_free(c);

	/* Empty sections, mode spellings, JSON document. */
	c = load_ok(BASE "security_rules: []\nroutes:\nnat: {}\naddress_sets: {}\n"
		    "vnet_prefixes: []\ncontrol: {mode: 432}\n");
	assert_int_equal(c->control.mode, 0660);
	vfw_config_free(c);
	c = load_ok(BASE "control: {mode: 0640}\n");
	assert_int_equal(c->control.mode, 0640);
	vfw_config_free(c);
	c = load_ok(BASE "control: {mode: '600'}\n");
	assert_int_equal(c->control.mode, 0600);
	vfw_config_free(c);
	c = load_ok("{\"ports\":{\"vnet\":{\"device\":\"a\",\"address\":\"10.0.0.1/24\"},"
		    "\"cluster\":{\"device\":\"b\",\"address\":\"10.1.0.1/24\"}},"
		    "\"security_rules\":[{\"name\":\"r\",\"priority\":\"5\","
		    "\"direction\":\"outbound\",\"access\":\"deny\"}]}");
	assert_int_equal(c->rules[0].priority, 5);
	assert_int_equal(c->rules[0].protocol, VFW_PROTO_ANY);
	assert_int_equal(c->rules[0].n_destination, 1);
	assert_int_equal(c->rules[0].destination[0].kind, VFW_ADDR_ANY);
	vfw_config_free(c);
}

static void
roundtrip(const struct vfw_config *a)
{
	struct vfw_errors e;
	struct vfw_config *b;
	char *s1, *s2;
	size_t l1, l2;

	s1 = vfw_config_to_string(a, &l1);
	assert_non_null(s1);
	assert_int_equal(strlen(s1), l1);
	vfw_errors_init(&e);
	b = vfw_config_load_string(s1, l1, "written.yaml", &e);
	if (b == NULL) {
		fprintf(stderr, "%s", s1);
		print_errors(&e);
	}
	assert_non_null(b);
	assert_config_equal(a, b);
	/* Writing is a fixed point. */
	s2 = vfw_config_to_string(b, &l2);
	assert_non_null(s2);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	vfw_config_free(b);
	vfw_errors_free(&e);
}

static void
test_roundtrip(void **state)
{
	struct vfw_errors e;
	struct vfw_config *c;
	char *s;

	(void)state;
	c = load_ok(demo);
	roundtrip(c);
	s = vfw_config_to_string(c, NULL);
	assert_non_null(strstr(s, "security_rules:\n  - name: https-in\n"
				  "    priority: 100\n"));
	assert_non_null(strstr(s, "    destination_ports: [443, 30000-32767]\n"));
	assert_non_null(strstr(s, "  mode: \"0660\"\n"));
	free(s);
	vfw_config_free(c);

	vfw_errors_init(&e);
	c = vfw_config_load_file(DATA("full.yaml"), &e);
	assert_non_null(c);
	roundtrip(c);
	/* ports.vnet.mtu is written back; the cluster port has none */
	s = vfw_config_to_string(c, NULL);
	assert_non_null(strstr(s, "\n    mtu: 9000\n  cluster:\n"));
	assert_null(strstr(strstr(s, "mtu:") + 1, "mtu:"));
	free(s);
	vfw_config_free(c);

	/* the bounds load, and round-trip */
	c = load_ok("ports:\n"
		    "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 68}\n"
		    "  cluster: {device: c0, address: 10.240.0.4/16, mtu: 65389}\n");
	assert_int_equal(c->ports[0].mtu, 68);
	assert_int_equal(c->ports[1].mtu, 65389);
	roundtrip(c);
	vfw_config_free(c);

	c = load_ok(BASE);
	roundtrip(c);
	vfw_config_free(c);
	vfw_errors_free(&e);
}

static void
test_write_file(void **state)
{
	struct vfw_errors e;
	struct vfw_config *a = load_ok(demo), *b;
	char path[] = "/tmp/vfw_test_config_XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(vfw_config_write(a, f), 0);
	assert_int_equal(fclose(f), 0);
	vfw_errors_init(&e);
	b = vfw_config_load_file(path, &e);
	assert_non_null(b);
	assert_config_equal(a, b);
	unlink(path);
	vfw_config_free(a);
	vfw_config_free(b);
	vfw_errors_free(&e);
}

static void
test_dup(void **state)
{
	struct vfw_errors e;
	struct vfw_config *a, *b;

	(void)state;
	vfw_errors_init(&e);
	a = vfw_config_load_file(DATA("full.yaml"), &e);
	assert_non_null(a);
	b = vfw_config_dup(a);
	assert_non_null(b);
	assert_config_equal(a, b);
	assert_string_equal(a->file, b->file);
	assert_ptr_not_equal(a->rules, b->rules);
	assert_ptr_not_equal(a->rules[0].source, b->rules[0].source);
	assert_ptr_not_equal(a->snat[0].translated_addresses,
			     b->snat[0].translated_addresses);
	assert_ptr_not_equal(a->address_sets[0].prefixes,
			     b->address_sets[0].prefixes);
	/* Independent: editing the copy leaves the original alone. */
	b->rules[0].destination_ports[0].lo = 1;
	strcpy(b->address_sets[0].name, "Other");
	assert_int_equal(a->rules[0].destination_ports[0].lo, 443);
	assert_string_equal(a->address_sets[0].name, "AksApi");
	vfw_config_free(a);
	/* The copy lives on its own (ASan/valgrind would catch sharing). */
	assert_int_equal(b->rules[0].destination_ports[2].hi, 32767);
	vfw_config_free(b);
	vfw_config_free(NULL);
	vfw_errors_free(&e);
}

static char *
json_of(int (*fn)(const void *, FILE *), const void *item)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(item, f), 0);
	fclose(f);
	return buf;
}

#define JSON(fn, item) json_of((int (*)(const void *, FILE *))(fn), (item))

/* Parse a one-line JSON item back with the control-protocol entry points. */
static yaml_node_t *
load_json(yaml_document_t *doc, const char *s)
{
	yaml_parser_t p;
	yaml_node_t *root;

	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)s, strlen(s));
	assert_true(yaml_parser_load(&p, doc));
	yaml_parser_delete(&p);
	root = yaml_document_get_root_node(doc);
	assert_non_null(root);
	return root;
}

static void
test_json(void **state)
{
	struct vfw_errors e;
	struct vfw_config *c;
	yaml_document_t doc;
	yaml_node_t *n;
	char *s;

	(void)state;
	vfw_errors_init(&e);
	c = load_ok(demo);
	s = JSON(vfw_cfg_rule_write_json, &c->rules[0]);
	assert_string_equal(s,
		"{\"name\":\"https-in\",\"priority\":100,\"direction\":\"inbound\","
		"\"access\":\"allow\",\"protocol\":\"tcp\",\"source\":[\"Internet\"],"
		"\"destination\":[\"10.240.0.0/16\"],\"source_ports\":[\"any\"],"
		"\"destination_ports\":[\"443\",\"30000-32767\"]}");
	n = load_json(&doc, s);
	{
		struct vfw_cfg_rule r;

		assert_int_equal(vfw_config_parse_rule(&doc, n, "<req>", &r, &e), 0);
		assert_true(rule_eq(&r, &c->rules[0]));
		assert_int_equal(r.loc.line, 1);
		assert_int_equal(r.loc.col, 1);
		vfw_cfg_rule_clear(&r);
	}
	yaml_document_delete(&doc);
	free(s);

	s = JSON(vfw_cfg_route_write_json, &c->routes[1]);
	assert_string_equal(s,
		"{\"name\":\"spoke2\",\"prefix\":\"10.2.0.0/16\","
		"\"next_hop_type\":\"VirtualAppliance\",\"next_hop\":\"10.0.1.10\"}");
	n = load_json(&doc, s);
	{
		struct vfw_cfg_route r;

		assert_int_equal(vfw_config_parse_route(&doc, n, NULL, &r, &e), 0);
		assert_true(route_eq(&r, &c->routes[1]));
	}
	yaml_document_delete(&doc);
	free(s);
	s = JSON(vfw_cfg_route_write_json, &c->routes[0]);
	assert_string_equal(s, "{\"name\":\"blackhole\",\"prefix\":\"10.66.0.0/16\","
			       "\"next_hop_type\":\"None\"}");
	free(s);

	s = JSON(vfw_cfg_dnat_write_json, &c->dnat[0]);
	assert_string_equal(s,
		"{\"name\":\"web\",\"protocol\":\"tcp\",\"destination\":\"10.0.1.4\","
		"\"destination_port\":443,\"translated_address\":\"10.240.1.10\","
		"\"translated_port\":8443}");
	n = load_json(&doc, s);
	{
		struct vfw_cfg_dnat d;

		assert_int_equal(vfw_config_parse_dnat(&doc, n, NULL, &d, &e), 0);
		assert_true(dnat_eq(&d, &c->dnat[0]));
	}
	yaml_document_delete(&doc);
	free(s);

	s = JSON(vfw_cfg_snat_write_json, &c->snat[0]);
	assert_string_equal(s,
		"{\"name\":\"egress\",\"source\":[\"10.240.0.0/16\"],"
		"\"destination\":[\"any\"],\"exclude\":[\"10.0.0.0/8\"],"
		"\"translated_addresses\":[\"10.0.1.4\"],\"ports\":\"1024-65535\"}");
	n = load_json(&doc, s);
	{
		struct vfw_cfg_snat sn;

		assert_int_equal(vfw_config_parse_snat(&doc, n, NULL, &sn, &e), 0);
		assert_true(snat_eq(&sn, &c->snat[0]));
		vfw_cfg_snat_clear(&sn);
	}
	yaml_document_delete(&doc);
	free(s);
	assert_int_equal(e.n, 0);
	vfw_config_free(c);

	/* Strings with quotes, backslashes, controls and non-UTF-8 bytes
	 * still make valid JSON that reads back. */
	c = load_ok(BASE "security_rules:\n"
		    "  - {name: x, priority: 1, direction: inbound, access: allow,\n"
		    "     description: \"q\\\"b\\\\s\\x01\\x7f\\u2028\\u00e9\\n\"}\n");
	/* The YAML writer escapes the same way. */
	roundtrip(c);
	c->rules[0].description[13] = (char)0xff;
	c->rules[0].description[14] = '\0';
	s = JSON(vfw_cfg_rule_write_json, &c->rules[0]);
	assert_non_null(strstr(s, "\"description\":\"q\\\"b\\\\s\\u0001\\u007f\\u2028"
				  "\xc3\xa9\\n\\ufffd\""));
	n = load_json(&doc, s);
	{
		struct vfw_cfg_rule r;

		assert_int_equal(vfw_config_parse_rule(&doc, n, NULL, &r, &e), 0);
		assert_string_equal(r.description,
				    "q\"b\\s\x01\x7f\xe2\x80\xa8\xc3\xa9\n\xef\xbf\xbd");
		vfw_cfg_rule_clear(&r);
	}
	yaml_document_delete(&doc);
	free(s);
	vfw_config_free(c);
	vfw_errors_free(&e);
}

static void
test_parse_item_errors(void **state)
{
	struct vfw_errors e;
	struct vfw_cfg_rule r;
	struct vfw_cfg_neighbor nb;
	struct vfw_cfg_snat sn;
	yaml_document_t doc;
	yaml_node_t *n;
	int rc;

	(void)state;
	vfw_errors_init(&e);
	n = load_json(&doc, "{\"name\":\"x\",\"priority\":0,\"direction\":\"in\","
			    "\"access\":\"allow\",\"source\":[\"10.0.0.1/8\"],"
			    "\"extra\":1}");
	rc = vfw_config_parse_rule(&doc, n, "<request>", &r, &e);
	assert_int_equal(rc, 4);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.msg[0],
		"<request>:1:84: rule: unknown key 'extra' in security rule "
		"(expected one of: name, priority, direction, access, protocol, "
		"source, destination, source_ports, destination_ports, description)");
	assert_string_equal(e.msg[1],
		"<request>:1:24: rule.priority: 0 is out of range (1-64999)");
	assert_string_equal(e.msg[2],
		"<request>:1:38: rule.direction: 'in' is not valid (expected inbound or outbound)");
	assert_string_equal(e.msg[3],
		"<request>:1:70: rule.source[0]: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)");
	/* Left zeroed, nothing to free. */
	assert_null(r.source);
	assert_int_equal(r.n_source, 0);
	assert_string_equal(r.name, "");
	yaml_document_delete(&doc);
	vfw_errors_free(&e);

	n = load_json(&doc, "[1]");
	rc = vfw_config_parse_neighbor(&doc, n, NULL, &nb, &e);
	assert_int_equal(rc, 1);
	assert_string_equal(e.msg[0],
		"line 1, column 1: neighbor: expected a mapping (neighbor), got a list");
	yaml_document_delete(&doc);
	vfw_errors_free(&e);

	n = load_json(&doc, "{name: s, source: [10.0.0.0/8], translated_addresses: [], ports: 5-1}");
	rc = vfw_config_parse_snat(&doc, n, "r", &sn, &e);
	assert_int_equal(rc, 2);
	assert_null(sn.source);
	assert_non_null(strstr(e.msg[0], "r:1:55: snat.translated_addresses: empty list"));
	assert_non_null(strstr(e.msg[1], "r:1:66: snat.ports: port range 5-1 is reversed"));
	yaml_document_delete(&doc);
	/* errs may be NULL: errors are still counted. */
	n = load_json(&doc, "{name: s}");
	assert_int_equal(vfw_config_parse_snat(&doc, n, NULL, &sn, NULL), 2);
	yaml_document_delete(&doc);
	vfw_errors_free(&e);
}

/* A config built in memory has no locations: messages carry none. */
static void
test_validate_memory(void **state)
{
	struct vfw_errors e;
	struct vfw_config *c = load_ok(demo), *d;
	struct vfw_cfg_rule *r;

	(void)state;
	vfw_errors_init(&e);
	/* Edit a loaded copy: second rule now clashes with the first. */
	d = vfw_config_dup(c);
	d->rules[1].priority = 100;
	strcpy(d->rules[1].destination[0].set, "Nope");
	d->routes[1].next_hop.v4 = ip4("192.0.2.1");
	assert_int_equal(vfw_config_validate(d, &e), 3);
	assert_string_equal(e.msg[0],
		"t.yaml:12:5: security_rules[1] (no-api-from-outside).destination: "
		"address set 'Nope' is not defined");
	assert_string_equal(e.msg[1],
		"t.yaml:12:5: security_rules[1] (no-api-from-outside): duplicate "
		"priority 100 in inbound rules (also used by rule 'https-in' at line 9)");
	assert_non_null(strstr(e.msg[2], "t.yaml:21:5: routes[1] (spoke2).next_hop: "
				      "192.0.2.1 is not inside any port subnet"));
	vfw_errors_free(&e);
	vfw_config_free(d);

	/* Grown by hand, no file, no locations. */
	d = vfw_config_dup(c);
	free(d->file);
	d->file = NULL;
	r = realloc(d->rules, 3 * sizeof(*r));
	assert_non_null(r);
	d->rules = r;
	memset(&r[2], 0, sizeof(r[2]));
	strcpy(r[2].name, "https-in");
	r[2].priority = 65000;
	r[2].protocol = IPPROTO_ICMP;
	d->n_rules = 3;
	assert_int_equal(vfw_config_validate(d, &e), 4);
	assert_string_equal(e.msg[0],
		"security_rules[2] (https-in).priority: 65000 is out of range (1-64999)");
	assert_string_equal(e.msg[1],
		"security_rules[2] (https-in): source is empty (use any)");
	assert_string_equal(e.msg[2],
		"security_rules[2] (https-in): destination is empty (use any)");
	assert_string_equal(e.msg[3],
		"security_rules[2]: duplicate rule name 'https-in' (also used at line 9)");
	vfw_errors_free(&e);

	d->conntrack.max_sessions = 5;
	d->control.mode = 01777;
	d->n_rules = 2;
	d->ports[VFW_PORT_CLUSTER].mtu = 67;
	assert_int_equal(vfw_config_validate(d, &e), 3);
	assert_string_equal(e.msg[0],
		"line 3, column 12: ports.cluster.mtu: 67 is out of range (68-65389)");
	assert_string_equal(e.msg[1],
		"conntrack.max_sessions: 5 is out of range (1024-67108864)");
	assert_string_equal(e.msg[2], "control.mode: 1777 is out of range (0-0777)");
	d->n_rules = 3;
	vfw_errors_free(&e);
	vfw_config_free(d);
	vfw_config_free(c);
}

/* All errors of a document come back at once, in document order. */
static void
test_collects_all(void **state)
{
	static const char doc[] = BASE
		"security_rules:\n"
		"  - {name: a, priority: 70000, direction: inbound, access: allow}\n"
		"  - {name: b, priority: 10, direction: up, access: allow}\n"
		"  - {name: c, priority: 10, direction: inbound, access: allow,\n"
		"     source: [10.0.0.300/24], destination_ports: [90-80]}\n"
		"routes:\n"
		"  - {name: r, prefix: 10.9.0.0/16, next_hop_type: VirtualAppliance}\n"
		"conntrack: {timeouts: {udp: 0}}\n";
	struct vfw_errors e;

	(void)state;
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(doc, strlen(doc), "t.yaml", &e));
	if (e.n != 6)
		print_errors(&e);
	assert_int_equal(e.n, 6);
	assert_string_equal(e.msg[0], "t.yaml:5:25: security_rules[0].priority: "
				      "70000 is out of range (1-64999)");
	assert_string_equal(e.msg[1], "t.yaml:6:40: security_rules[1].direction: "
				      "'up' is not valid (expected inbound or outbound)");
	assert_string_equal(e.msg[2], "t.yaml:8:15: security_rules[2].source[0]: "
				      "bad CIDR '10.0.0.300/24'");
	assert_string_equal(e.msg[3], "t.yaml:8:51: security_rules[2].destination_ports[0]: "
				      "port range 90-80 is reversed");
	assert_string_equal(e.msg[4], "t.yaml:10:5: routes[0]: next_hop is required "
				      "with next_hop_type VirtualAppliance");
	assert_string_equal(e.msg[5], "t.yaml:11:29: conntrack.timeouts.udp: 0 is "
				      "out of range (1-1000000)");
	vfw_errors_free(&e);
}

/* --- broken documents --------------------------------------------------- */

struct bad {
	const char *name;
	const char *doc;
	const char *msg;   /* substring of the message */
	unsigned int line; /* 1-based, 0 = no location expected */
	const char *at;    /* token on that line where the column points */
};

static const struct bad bad_docs[] = {
	{ "priority_range", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 70000, direction: inbound, access: allow}\n",
	  "security_rules[0].priority: 70000 is out of range (1-64999)", 5, "70000" },
	{ "priority_huge", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 99999999999999999999999, direction: inbound, access: allow}\n",
	  "99999999999999999999999 is out of range (1-64999)", 5, "999" },
	{ "priority_not_number", BASE
	  "security_rules:\n"
	  "  - name: a\n"
	  "    priority: high\n"
	  "    direction: inbound\n"
	  "    access: allow\n",
	  "security_rules[0].priority: 'high' is not a number (expected 1-64999)", 6, "high" },
	{ "priority_negative", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: -5, direction: inbound, access: allow}\n",
	  "'-5' is not a number", 5, "-5" },
	{ "unknown_rule_key", BASE
	  "security_rules:\n"
	  "  - name: a\n"
	  "    prioirty: 100\n"
	  "    direction: inbound\n"
	  "    access: allow\n",
	  "unknown key 'prioirty' in security rule (expected one of: name, priority, "
	  "direction, access, protocol, source, destination, source_ports, "
	  "destination_ports, description); did you mean 'priority'?", 6, "prioirty" },
	{ "missing_priority", BASE
	  "security_rules:\n"
	  "  - {name: a, direction: inbound, access: allow}\n",
	  "security_rules[0]: missing required key 'priority'", 5, "{" },
	{ "undefined_set", BASE
	  "address_sets: {AksApi: [10.240.0.10/32]}\n"
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow}\n"
	  "  - name: b\n"
	  "    priority: 2\n"
	  "    direction: inbound\n"
	  "    access: deny\n"
	  "    destination: [AksApi, AksApi2]\n",
	  "security_rules[1] (b).destination: address set 'AksApi2' is not defined", 7, "name" },
	{ "duplicate_priority", BASE
	  "security_rules:\n"
	  "  - {name: https-in, priority: 100, direction: inbound, access: allow}\n"
	  "  - {name: out, priority: 100, direction: outbound, access: allow}\n"
	  "  - {name: other, priority: 100, direction: Inbound, access: deny}\n",
	  "security_rules[2] (other): duplicate priority 100 in inbound rules "
	  "(also used by rule 'https-in' at line 5)", 7, "{" },
	{ "duplicate_rule_name", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow}\n"
	  "  - {name: a, priority: 2, direction: inbound, access: allow}\n",
	  "security_rules[1]: duplicate rule name 'a' (also used at line 5)", 6, "{" },
	{ "bad_cidr", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source: [10.0.0.300/24]}\n",
	  "security_rules[0].source[0]: bad CIDR '10.0.0.300/24'", 5, "10.0.0.300" },
	{ "bad_prefix_len", BASE
	  "vnet_prefixes: [10.0.0.0/33]\n",
	  "vnet_prefixes[0]: bad CIDR '10.0.0.0/33'", 4, "10." },
	{ "host_bits", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, destination: 10.0.1.5/24}\n",
	  "security_rules[0].destination: 10.0.1.5/24 has host bits set (did you mean 10.0.1.0/24?)",
	  5, "10.0.1.5" },
	{ "host_bits_v6", BASE
	  "routes: [{name: r, prefix: \"fd00::1/64\", next_hop_type: None}]\n",
	  "fd00::1/64 has host bits set (did you mean fd00::/64?)", 4, "\"fd00" },
	{ "port_range_reversed", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, protocol: tcp,\n"
	  "     destination_ports: [80, 443-80]}\n",
	  "security_rules[0].destination_ports[1]: port range 443-80 is reversed", 6, "443-80" },
	{ "port_out_of_range", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source_ports: 70000}\n",
	  "security_rules[0].source_ports: port 70000 is out of range (0-65535)", 5, "70000" },
	{ "port_garbage", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source_ports: [1-2-3]}\n",
	  "'1-2-3' is not a port or port range (expected N or A-B or any)", 5, "1-2-3" },
	{ "ports_with_icmp", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, protocol: icmp,\n"
	  "     destination_ports: [80]}\n",
	  "security_rules[0].destination_ports: ports are not allowed with protocol icmp", 6, "[" },
	{ "bad_direction", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: sideways, access: allow}\n",
	  "security_rules[0].direction: 'sideways' is not valid (expected inbound or outbound)",
	  5, "sideways" },
	{ "bad_access", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: permit}\n",
	  "'permit' is not valid (expected deny or allow)", 5, "permit" },
	{ "bad_protocol", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, protocol: gre}\n",
	  "security_rules[0].protocol: 'gre' is not valid (expected tcp, udp, icmp or any)",
	  5, "gre" },
	{ "bad_name_chars", BASE
	  "security_rules:\n"
	  "  - {name: \"my rule\", priority: 1, direction: inbound, access: allow}\n",
	  "security_rules[0].name: 'my rule' is not a valid name (1-63 characters", 5, "\"my" },
	{ "name_too_long", BASE
	  "routes:\n"
	  "  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "    prefix: 10.9.0.0/16\n"
	  "    next_hop_type: None\n",
	  "routes[0].name: 'aaaa", 5, "aaaa" },
	{ "any_combined", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source: [10.0.0.0/8, any]}\n",
	  "security_rules[0].source[1]: 'any' cannot be combined with other entries", 5, "any" },
	{ "empty_source", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source: []}\n",
	  "security_rules[0].source: empty list (use any)", 5, "[" },
	{ "source_garbage", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, source: [\"a b\"]}\n",
	  "'a b' is not an address, a CIDR, an address set name or any", 5, "\"a b" },
	{ "description_too_long", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1, direction: inbound, access: allow, description: "
	  "\"0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\"}\n",
	  "security_rules[0].description: too long (280 bytes, at most 255)", 5, "\"0123" },
	{ "route_appliance_no_next_hop", BASE
	  "routes:\n"
	  "  - name: r\n"
	  "    prefix: 10.9.0.0/16\n"
	  "    next_hop_type: VirtualAppliance\n",
	  "routes[0]: next_hop is required with next_hop_type VirtualAppliance", 5, "name" },
	{ "route_next_hop_off_link", BASE
	  "routes:\n"
	  "  - {name: r, prefix: 10.9.0.0/16, next_hop_type: VirtualAppliance, next_hop: 192.168.1.1}\n",
	  "routes[0] (r).next_hop: 192.168.1.1 is not inside any port subnet", 5, "{" },
	{ "route_next_hop_own", BASE
	  "routes:\n"
	  "  - {name: r, prefix: 10.9.0.0/16, next_hop_type: VirtualAppliance, next_hop: 10.240.0.4}\n",
	  "routes[0] (r).next_hop: 10.240.0.4 is our own interface address", 5, "{" },
	{ "route_next_hop_with_none", BASE
	  "routes:\n"
	  "  - {name: r, prefix: 10.9.0.0/16, next_hop_type: None, next_hop: 10.0.1.9}\n",
	  "routes[0].next_hop: only allowed with next_hop_type VirtualAppliance (not None)",
	  5, "10.0.1.9" },
	{ "route_internet_no_gateway",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n"
	  "routes:\n"
	  "  - {name: r, prefix: 0.0.0.0/0, next_hop_type: internet}\n",
	  "routes[0] (r): next_hop_type Internet needs ports.vnet.gateway", 5, "{" },
	{ "route_duplicate_prefix", BASE
	  "routes:\n"
	  "  - {name: r1, prefix: 10.9.0.0/16, next_hop_type: None}\n"
	  "  - {name: r2, prefix: 10.9.0.0/16, next_hop_type: VnetLocal}\n",
	  "routes[1]: duplicate prefix 10.9.0.0/16 (also in route 'r1' at line 5)", 6, "{" },
	{ "route_duplicate_name", BASE
	  "routes:\n"
	  "  - {name: r1, prefix: 10.9.0.0/16, next_hop_type: None}\n"
	  "  - {name: r1, prefix: 10.8.0.0/16, next_hop_type: None}\n",
	  "routes[1]: duplicate route name 'r1' (also used at line 5)", 6, "{" },
	{ "route_bad_type", BASE
	  "routes:\n"
	  "  - {name: r, prefix: 10.9.0.0/16, next_hop_type: Gateway}\n",
	  "'Gateway' is not valid (expected VnetLocal, VirtualAppliance, Internet or None)",
	  5, "Gateway" },
	{ "dnat_duplicate", BASE
	  "nat:\n"
	  "  dnat:\n"
	  "    - {name: a, protocol: tcp, destination: 10.0.1.4, destination_port: 443, translated_address: 10.240.0.5}\n"
	  "    - {name: b, protocol: TCP, destination: 10.0.1.4, destination_port: 443, translated_address: 10.240.0.6}\n",
	  "nat.dnat[1] (b): duplicate mapping tcp 10.0.1.4:443 (also in dnat rule 'a' at line 6)",
	  7, "{" },
	{ "dnat_protocol", BASE
	  "nat:\n"
	  "  dnat: [{name: a, protocol: icmp, destination: 10.0.1.4, destination_port: 1, translated_address: 10.240.0.5}]\n",
	  "nat.dnat[0].protocol: 'icmp' is not valid (expected tcp or udp)", 5, "icmp" },
	{ "dnat_port_zero", BASE
	  "nat:\n"
	  "  dnat: [{name: a, protocol: udp, destination: 10.0.1.4, destination_port: 0, translated_address: 10.240.0.5}]\n",
	  "nat.dnat[0].destination_port: 0 is out of range (1-65535)", 5, "0," },
	{ "dnat_family", BASE
	  "nat:\n"
	  "  dnat: [{name: a, protocol: udp, destination: 10.0.1.4, destination_port: 1, translated_address: \"fd00::5\"}]\n",
	  "nat.dnat[0].translated_address: address family differs", 5, "\"fd00" },
	{ "nat_shared_name", BASE
	  "nat:\n"
	  "  dnat: [{name: a, protocol: udp, destination: 10.0.1.4, destination_port: 1, translated_address: 10.240.0.5}]\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: 10.0.1.4}]\n",
	  "nat.snat[0]: duplicate NAT rule name 'a' (also used by a dnat rule at line 5)",
	  6, "{name: a, s" },
	{ "snat_missing_addresses", BASE
	  "nat:\n"
	  "  snat:\n"
	  "    - name: egress\n"
	  "      source: [10.240.0.0/16]\n",
	  "nat.snat[0]: missing required key 'translated_addresses'", 6, "name" },
	{ "snat_ports_zero", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: 10.0.1.4, ports: 0-100}]\n",
	  "nat.snat[0].ports: port 0-100 is out of range (1-65535)", 5, "0-100" },
	{ "snat_ports_reversed", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: 10.0.1.4, ports: 2000-1024}]\n",
	  "nat.snat[0].ports: port range 2000-1024 is reversed", 5, "2000" },
	{ "snat_source_any", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: any, translated_addresses: 10.0.1.4}]\n",
	  "nat.snat[0].source: 'any' is not allowed here (use 0.0.0.0/0 or ::/0)", 5, "any" },
	{ "snat_translated_twice", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: [10.0.1.4, 10.0.1.5, 10.0.1.4]}]\n",
	  "nat.snat[0] (a).translated_addresses: 10.0.1.4 is listed twice", 5, "{" },
	{ "snat_family", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: \"fd00::/8\", translated_addresses: 10.0.1.4}]\n",
	  "nat.snat[0] (a): source fd00::/8 has no translated address of its address family",
	  5, "{" },
	/* IPv6 is classified, not forwarded: what lib/route and lib/nat
	 * cannot build is refused by --check too, not only at start. */
	{ "route_v6", BASE
	  "routes:\n"
	  "  - {name: r6, prefix: \"2001:db8::/32\", next_hop_type: None}\n",
	  "routes[0].prefix: only IPv4 prefixes are supported", 5, "\"2001" },
	{ "dnat_v6", BASE
	  "nat:\n"
	  "  dnat: [{name: a, protocol: tcp, destination: \"2001:db8::1\", destination_port: 80, translated_address: \"fd00::5\"}]\n",
	  "nat.dnat[0].destination: only IPv4 addresses are supported", 5, "\"2001" },
	{ "snat_v6_translated", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: [10.0.1.4, \"2001:db8::1\"]}]\n",
	  "nat.snat[0].translated_addresses[1]: only IPv4 addresses are supported", 5, "\"2001" },
	{ "snat_too_many_addresses", BASE
	  "nat:\n"
	  "  snat: [{name: a, source: 10.240.0.0/16, translated_addresses: [10.0.1.10, 10.0.1.11,\n"
	  "         10.0.1.12, 10.0.1.13, 10.0.1.14, 10.0.1.15, 10.0.1.16, 10.0.1.17, 10.0.1.18,\n"
	  "         10.0.1.19, 10.0.1.20, 10.0.1.21, 10.0.1.22, 10.0.1.23, 10.0.1.24, 10.0.1.25,\n"
	  "         10.0.1.26]}]\n",
	  "nat.snat[0].translated_addresses: 17 addresses, at most 16 are supported", 5,
	  "[10.0.1.10" },
	{ "neighbor_bad_mac", BASE
	  "neighbors:\n"
	  "  - {address: 10.0.1.1, mac: \"02:00:00:00:01\"}\n",
	  "neighbors[0].mac: bad MAC address '02:00:00:00:01' (expected six hex bytes",
	  5, "\"02" },
	{ "neighbor_multicast_mac", BASE
	  "neighbors:\n"
	  "  - {address: 10.0.1.1, mac: \"01:00:5e:00:00:01\"}\n",
	  "neighbors[0].mac: MAC address 01:00:5e:00:00:01 is not a unicast address", 5, "\"01" },
	{ "neighbor_duplicate", BASE
	  "neighbors:\n"
	  "  - {address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}\n"
	  "  - {address: 10.0.1.1, mac: \"02:00:00:00:01:02\"}\n",
	  "neighbors[1]: duplicate neighbor 10.0.1.1 (also listed at line 5)", 6, "{" },
	{ "neighbor_off_link", BASE
	  "neighbors:\n"
	  "  - {address: 10.99.0.1, mac: \"02:00:00:00:01:01\"}\n",
	  "neighbors[0]: 10.99.0.1 is not inside any port subnet", 5, "{" },
	{ "neighbor_bad_ip", BASE
	  "neighbors: [{address: 10.0.1.256, mac: \"02:00:00:00:01:01\"}]\n",
	  "neighbors[0].address: bad IP address '10.0.1.256'", 4, "10.0" },
	{ "ports_missing", "vnet_prefixes: [10.0.0.0/8]\n",
	  "missing required key 'ports' (with vnet and cluster)", 1, "vnet_prefixes" },
	{ "ports_missing_cluster",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24}\n",
	  "ports: missing required key 'cluster'", 2, "vnet" },
	{ "port_missing_device",
	  "ports:\n"
	  "  vnet: {address: 10.0.1.4/24}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet: missing required key 'device'", 2, "{" },
	{ "port_address_no_len",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.address: '10.0.1.4' needs a prefix length (e.g. 10.0.1.4/24)", 2, "10.0" },
	{ "port_address_v6",
	  "ports:\n"
	  "  vnet: {device: v0, address: \"fd00::4/64\"}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.address: 'fd00::4/64' is not an IPv4 address", 2, "\"fd00" },
	{ "gateway_outside",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, gateway: 10.0.2.1}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.gateway: 10.0.2.1 is not inside the vnet subnet 10.0.1.0/24", 2, "{" },
	{ "gateway_on_cluster",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16, gateway: 10.240.0.1}\n",
	  "ports.cluster.gateway: only the vnet port has a gateway", 3, "10.240.0.1" },
	{ "subnets_overlap",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/16}\n"
	  "  cluster: {device: c0, address: 10.0.200.4/24}\n",
	  "ports.cluster.address: subnet 10.0.200.0/24 overlaps the vnet subnet 10.0.0.0/16",
	  3, "{" },
	{ "same_device",
	  "ports:\n"
	  "  vnet: {device: net_tap0, address: 10.0.1.4/24}\n"
	  "  cluster: {device: net_tap0, address: 10.1.1.4/24}\n",
	  "ports.cluster.device: 'net_tap0' is also the vnet port's device", 3, "{" },
	{ "unknown_port_key",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, speed: 9000}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet: unknown key 'speed' in port (expected one of: device, address, gateway, mac, address6, mtu)",
	  2, "speed" },
	{ "port_mtu_low",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 67}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: 67 is out of range (68-65389)", 2, "67" },
	{ "port_mtu_high",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24}\n"
	  "  cluster:\n"
	  "    device: c0\n"
	  "    address: 10.240.0.4/16\n"
	  "    mtu: 65390\n",
	  "ports.cluster.mtu: 65390 is out of range (68-65389)", 6, "65390" },
	{ "port_mtu_huge",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 99999999999999999999999}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: 99999999999999999999999 is out of range (68-65389)", 2, "9999" },
	{ "port_mtu_zero",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 0}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: 0 is out of range (68-65389)", 2, "0}" },
	{ "port_mtu_word",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: jumbo}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: 'jumbo' is not a number (expected 68-65389)", 2, "jumbo" },
	{ "port_mtu_fraction",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 1500.0}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: '1500.0' is not a number (expected 68-65389)", 2, "1500.0" },
	{ "port_mtu_negative",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: -1500}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: '-1500' is not a number (expected 68-65389)", 2, "-1500" },
	{ "port_mtu_hex",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: 0x2328}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: '0x2328' is not a number (expected 68-65389)", 2, "0x2328" },
	{ "port_mtu_list",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: [9000]}\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu: expected a", 2, "[9000]" },
	{ "port_mtu_empty",
	  "ports:\n"
	  "  vnet: {device: v0, address: 10.0.1.4/24, mtu: }\n"
	  "  cluster: {device: c0, address: 10.240.0.4/16}\n",
	  "ports.vnet.mtu:", 2, NULL },
	{ "set_undefined_reserved", BASE
	  "address_sets:\n"
	  "  Internet: [1.0.0.0/8]\n",
	  "address_sets: 'Internet' is reserved", 5, "Internet" },
	{ "set_name_digit", BASE
	  "address_sets:\n"
	  "  1web: [1.0.0.0/8]\n",
	  "address_sets: '1web' must not start with a digit", 5, "1web" },
	{ "set_duplicate", BASE
	  "address_sets:\n"
	  "  web: [1.0.0.0/8]\n"
	  "  web: [2.0.0.0/8]\n",
	  "address_sets: duplicate set name 'web' (also defined at line 5)", 6, "web" },
	{ "set_empty", BASE
	  "address_sets: {web: []}\n",
	  "address_sets.web: empty list", 4, "[" },
	{ "vnet_prefix_duplicate", BASE
	  "vnet_prefixes:\n"
	  "  - 10.0.0.0/8\n"
	  "  - 10.1.0.0/16\n"
	  "  - 10.0.0.0/8\n",
	  "vnet_prefixes[2]: duplicate prefix 10.0.0.0/8 (also listed at line 5)",
	  7, "10.0.0.0/8" },
	{ "max_sessions_range", BASE
	  "conntrack: {max_sessions: 10}\n",
	  "conntrack.max_sessions: 10 is out of range (1024-67108864)", 4, "10}" },
	{ "timeout_zero", BASE
	  "conntrack:\n"
	  "  timeouts:\n"
	  "    tcp_established: 0\n",
	  "conntrack.timeouts.tcp_established: 0 is out of range (1-1000000)", 6, "0" },
	{ "timeout_unknown", BASE
	  "conntrack: {timeouts: {tcp_fin: 10}}\n",
	  "conntrack.timeouts: unknown key 'tcp_fin' in timeouts (expected one of: tcp_syn, "
	  "tcp_established, tcp_closing, udp, icmp)", 4, "tcp_fin" },
	{ "tcp_loose_bad", BASE
	  "conntrack: {tcp_loose: maybe}\n",
	  "conntrack.tcp_loose: 'maybe' is not a boolean (expected true or false)", 4, "maybe" },
	{ "mode_bad", BASE
	  "control: {mode: \"0999\"}\n",
	  "control.mode: '0999' is not a file mode", 4, "\"0999" },
	{ "mode_range", BASE
	  "control: {mode: 660}\n",
	  "control.mode: 660 is out of range (0-0777)", 4, "660" },
	{ "socket_too_long", BASE
	  "control: {socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
	  "control.socket: path is too long (", 4, "/aaa" },
	{ "socket_empty", BASE
	  "control: {mode: \"0600\", socket: \"\"}\n",
	  "control.socket: the path is empty", 4, "\"\"" },
	{ "unknown_top_key", BASE
	  "rules: []\n",
	  "config: unknown key 'rules' in the config (expected one of: ports, vnet_prefixes, "
	  "neighbors, address_sets, security_rules, nat, routes, conntrack, control)",
	  4, "rules" },
	{ "rules_not_list", BASE
	  "security_rules: {name: a}\n",
	  "security_rules: expected a list of security rules, got a mapping", 4, "{" },
	{ "scalar_expected", BASE
	  "security_rules:\n"
	  "  - {name: [a, b], priority: 1, direction: inbound, access: allow}\n",
	  "security_rules[0].name: expected a single value, got a list", 5, "[" },
	{ "mapping_expected", BASE
	  "conntrack: 5\n",
	  "conntrack: expected a mapping (conntrack), got a single value", 4, "5" },
	{ "missing_value", BASE
	  "security_rules:\n"
	  "  - name: a\n"
	  "    priority:\n"
	  "    direction: inbound\n"
	  "    access: allow\n",
	  "security_rules[0].priority: missing value", 6, NULL },
	{ "duplicate_key", BASE
	  "security_rules:\n"
	  "  - name: a\n"
	  "    priority: 1\n"
	  "    direction: inbound\n"
	  "    priority: 2\n"
	  "    access: allow\n",
	  "security_rules[0]: duplicate key 'priority' (first at line 6)", 8, "priority" },
	{ "duplicate_top_key", BASE
	  "ports: {}\n",
	  "config: duplicate key 'ports' (first at line 2)", 4, "ports" },
	{ "complex_key", BASE
	  "? [a]\n: 1\n",
	  "config: keys must be plain names, got a list", 4, "[" },
	{ "syntax_error", BASE
	  "security_rules:\n"
	  "  - {name: a, priority: 1\n"
	  "routes: []\n",
	  "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 5)",
	  6, ":" },
	{ "syntax_tab", BASE
	  "security_rules:\n"
	  "\t- {}\n",
	  "YAML syntax error: found character that cannot start any token", 5, "\t" },
	{ "control_char", BASE
	  "# bell \a\n",
	  "invalid input: control characters are not allowed", 4, "\a" },
	{ "bad_utf8", BASE
	  "# \xc3\x28\n",
	  "invalid input: invalid trailing UTF-8 octet (byte 0x28", 4, "(" },
	{ "nul_escape", BASE
	  "security_rules:\n"
	  "  - {name: \"a\\0b\", priority: 1, direction: inbound, access: allow}\n",
	  "security_rules[0].name: value contains a NUL character", 5, "\"a" },
	{ "alias", BASE
	  "address_sets:\n"
	  "  a: &x [10.0.0.0/8]\n"
	  "  b: *x\n",
	  "aliases (*x) are not supported", 6, "*x" },
	{ "anchor", BASE
	  "vnet_prefixes: &p [10.0.0.0/8]\n",
	  "anchors (&p) are not supported", 4, "&p" },
	{ "self_alias", "a: &a [*a]\n", "anchors (&a) are not supported", 1, "&a" },
	{ "empty_document", "", "the document is empty", 0, NULL },
	{ "comment_only", "# nothing\n", "the document is empty", 0, NULL },
	{ "two_documents", BASE "---\n" BASE,
	  "only one YAML document is allowed", 4, "---" },
	{ "document_is_list", "- a\n- b\n",
	  "the document must be a mapping with the keys ports, security_rules, ... (got a list)",
	  1, "-" },
	{ "document_is_scalar", "hello\n", "got a single value", 1, "hello" },
};

static unsigned int
column_of(const char *doc, unsigned int line, const char *tok)
{
	const char *p = doc, *nl, *hit;
	unsigned int l;

	for (l = 1; l < line && p != NULL; l++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	assert_non_null(p);
	nl = strchr(p, '\n');
	hit = strstr(p, tok);
	assert_non_null(hit);
	assert_true(nl == NULL || hit < nl);
	return (unsigned int)(hit - p) + 1;
}

static void
test_bad(void **state)
{
	const struct bad *b = *state;
	struct vfw_errors e;
	char prefix[64];
	unsigned int i;
	bool found = false;

	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(b->doc, strlen(b->doc), "t.yaml", &e));
	if (b->line == 0)
		snprintf(prefix, sizeof(prefix), "t.yaml: ");
	else if (b->at == NULL)
		snprintf(prefix, sizeof(prefix), "t.yaml:%u:", b->line);
	else
		snprintf(prefix, sizeof(prefix), "t.yaml:%u:%u: ", b->line,
			 column_of(b->doc, b->line, b->at));
	for (i = 0; i < e.n && !found; i++)
		found = strncmp(e.msg[i], prefix, strlen(prefix)) == 0 &&
			strstr(e.msg[i], b->msg) != NULL;
	if (!found) {
		fprintf(stderr, "  want: %s... %s\n  got:\n", prefix, b->msg);
		print_errors(&e);
	}
	assert_true(found);
	/* Nothing else should be that broken: a handful of errors at most. */
	assert_true(e.n >= 1 && e.n <= 3);
	vfw_errors_free(&e);
}

/* --- robustness -------------------------------------------------------- */

static void
expect_fail(const char *doc, size_t len, const char *msg)
{
	struct vfw_errors e;
	unsigned int i;
	bool found = false;

	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(doc, len, NULL, &e));
	for (i = 0; i < e.n; i++)
		found |= strstr(e.msg[i], msg) != NULL;
	if (!found)
		print_errors(&e);
	assert_true(found);
	vfw_errors_free(&e);
}

static void
test_hostile(void **state)
{
	static const char laughs[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
	size_t n = 200000, i;
	char *deep = malloc(2 * n + 1), *big;
	struct vfw_errors e;

	(void)state;
	assert_non_null(deep);
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[n + i] = ']';
	}
	deep[2 * n] = '\0';
	expect_fail(deep, 2 * n, "nesting is deeper than");
	for (i = 0; i < n; i++) {
		deep[2 * i] = '{';
		deep[2 * i + 1] = 'a';
	}
	expect_fail(deep, 2 * n, "YAML syntax error");
	free(deep);
	expect_fail(laughs, strlen(laughs), "are not supported");
	expect_fail(NULL, 0, "the document is empty");
	expect_fail("\0", 1, "invalid input");

	/* A 1 MB scalar: reported short, not echoed in full. */
	n = 1 << 20;
	big = malloc(n + 512);
	assert_non_null(big);
	strcpy(big, BASE "security_rules: [{name: ");
	i = strlen(big);
	memset(big + i, 'x', n);
	strcpy(big + i + n, "}]\n");
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(big, strlen(big), "big", &e));
	assert_true(e.n >= 1);
	for (i = 0; i < e.n; i++)
		assert_true(strlen(e.msg[i]) < 400);
	vfw_errors_free(&e);
	free(big);

	/* Thousands of errors are capped, not collected forever. */
	n = 20000;
	big = malloc(512 + n * 8);
	assert_non_null(big);
	strcpy(big, BASE "vnet_prefixes: [");
	{
		char *p = big + strlen(big);

		for (i = 0; i < n; i++) {
			memcpy(p, "bad, ", 5);
			p += 5;
		}
		strcpy(p, "bad]\n");
	}
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(big, strlen(big), "many", &e));
	assert_true(e.n <= 1001);
	assert_non_null(strstr(e.msg[e.n - 1], "too many errors"));
	vfw_errors_free(&e);
	free(big);
}

/* Deterministic mutation fuzzing of the demo: no crash, no leak. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void
test_fuzz(void **state)
{
	static const char alphabet[] = "{}[],:-&*!|>'\"#%@`\n\t 0123456789./abcxyz\\";
	size_t len = strlen(demo), i;
	unsigned int iter, ok = 0;
	char *buf = malloc(len * 2 + 16);
	struct vfw_errors e;
	struct vfw_config *c;
	const char *s;

	(void)state;
	assert_non_null(buf);
	/* Every prefix of the document. */
	for (i = 0; i <= len; i++) {
		vfw_errors_init(&e);
		c = vfw_config_load_string(demo, i, "cut", &e);
		ok += c != NULL;
		vfw_config_free(c);
		vfw_errors_free(&e);
	}
	for (iter = 0; iter < 10000; iter++) {
		size_t n = len;
		unsigned int k, muts = 1 + rnd() % 4;

		memcpy(buf, demo, len);
		for (k = 0; k < muts; k++) {
			size_t pos = rnd() % n;

			switch (rnd() % 4) {
			case 0: /* replace */
				buf[pos] = alphabet[rnd() % (sizeof(alphabet) - 1)];
				break;
			case 1: /* random byte */
				buf[pos] = (char)rnd();
				break;
			case 2: /* delete */
				memmove(buf + pos, buf + pos + 1, n - pos - 1);
				n--;
				break;
			default: /* duplicate a chunk */
				if (n < len * 2 - 8) {
					size_t m = rnd() % 8;

					if (pos + m > n)
						m = n - pos;
					memmove(buf + pos + m, buf + pos, n - pos);
					n += m;
				}
			}
		}
		vfw_errors_init(&e);
		c = vfw_config_load_string(buf, n, "fuzz", &e);
		if (c != NULL) {
			char *w = vfw_config_to_string(c, NULL);

			ok++;
			assert_int_equal(e.n, 0);
			assert_non_null(w);
			free(w);
			vfw_config_free(c);
		} else {
			assert_true(e.n > 0);
			for (i = 0; i < e.n; i++)
				for (s = e.msg[i]; *s; s++)
					assert_true(*s == '\t' || (unsigned char)*s >= 0x20);
		}
		vfw_errors_free(&e);
	}
	assert_true(ok > 0);
	free(buf);
}

/* Append to a growing document. */
static void __attribute__((format(printf, 4, 5)))
app(char *buf, size_t cap, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + *o, cap - *o, fmt, ap);
	va_end(ap);
	assert_true(w >= 0 && (size_t)w < cap - *o);
	*o += (size_t)w;
}

/* Large rule sets: uniqueness checks must not be quadratic. */
static void
test_scale(void **state)
{
	const unsigned int n = 60000;
	const size_t cap = 256 + (size_t)n * 200;
	struct vfw_errors e;
	struct vfw_config *c;
	unsigned int i;
	size_t o = 0;
	char *doc;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	app(doc, cap, &o, "%s", BASE "address_sets:\n");
	for (i = 0; i < n; i++)
		app(doc, cap, &o, "  s%u: [10.%u.%u.0/24]\n", i, i >> 8 & 0xff,
		    i & 0xff);
	app(doc, cap, &o, "security_rules:\n");
	for (i = 0; i < n; i++)
		app(doc, cap, &o, "  - {name: r%u, priority: %u, direction: %s, "
		    "access: allow, destination: [s%u]}\n", i, 1 + i / 2,
		    i & 1 ? "outbound" : "inbound", i);
	c = load_ok(doc);
	assert_int_equal(c->n_rules, n);
	assert_int_equal(c->n_address_sets, n);
	vfw_config_free(c);

	/* One clash at the very end is found and points at the first. */
	app(doc, cap, &o, "  - {name: last, priority: 7, direction: outbound, access: deny}\n");
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(doc, o, "big", &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "duplicate priority 7 in outbound rules "
				       "(also used by rule 'r13' at line"));
	vfw_errors_free(&e);
	free(doc);
}

/*
 * Static neighbors are bounded by what the neighbor table can take: a
 * config with more passed --check and then could not start, and an apply
 * of one left the table half changed.
 */
static void
test_neighbor_limit(void **state)
{
	const unsigned int n = VFW_CFG_MAX_NEIGHBORS;
	const size_t cap = 256 + (size_t)(n + 1) * 80;
	struct vfw_errors e;
	struct vfw_config *c;
	unsigned int i;
	size_t o = 0;
	char *doc, want[64];

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	app(doc, cap, &o, "%s", BASE "neighbors:\n");
	for (i = 0; i < n; i++)
		app(doc, cap, &o, "  - {address: 10.240.%u.%u, mac: \"02:00:00:00:%02x:%02x\"}\n",
		    1 + i / 250, 1 + i % 250, i >> 8 & 0xff, i & 0xff);
	c = load_ok(doc);
	assert_int_equal(c->n_neighbors, n);
	vfw_config_free(c);

	/* One more: refused, at the first one too many (line 4 + n + 1). */
	app(doc, cap, &o, "  - {address: 10.240.200.1, mac: \"02:00:00:01:00:00\"}\n");
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(doc, o, "t.yaml", &e));
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "t.yaml:%u:5: neighbors[%u]: more than %u",
		 5 + n, n, n);
	if (strncmp(e.msg[0], want, strlen(want)) != 0)
		fail_msg("got %s, want %s...", e.msg[0], want);
	vfw_errors_free(&e);
	free(doc);
}

/* SNAT pools are bounded too: 256 with the hairpin pool. */
static void
snat_pools_doc(char *doc, size_t cap, unsigned int last)
{
	unsigned int i, j;
	size_t o = 0;

	app(doc, cap, &o, "%s", BASE "nat:\n  snat:\n");
	for (i = 0; i < 16; i++) {
		app(doc, cap, &o, "    - {name: s%u, source: [10.240.0.0/16], translated_addresses: [", i);
		for (j = 0; j < (i == 15 ? last : 16); j++)
			app(doc, cap, &o, "%s100.64.%u.%u", j ? ", " : "", i, j);
		app(doc, cap, &o, "]}\n");
	}
}

static void
test_snat_pool_limit(void **state)
{
	const size_t cap = 16384;
	struct vfw_errors e;
	struct vfw_config *c;
	char *doc;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	snat_pools_doc(doc, cap, 15); /* 255 + the hairpin pool */
	c = load_ok(doc);
	assert_int_equal(c->n_snat, 16);
	vfw_config_free(c);
	snat_pools_doc(doc, cap, 16);
	vfw_errors_init(&e);
	assert_null(vfw_config_load_string(doc, strlen(doc), "t.yaml", &e));
	assert_int_equal(e.n, 1);
	if (strstr(e.msg[0], "t.yaml:21:7: nat.snat[15] (s15).translated_addresses: more than 256") == NULL)
		fail_msg("got %s", e.msg[0]);
	vfw_errors_free(&e);
	free(doc);
}

static void
test_nh_names(void **state)
{
	(void)state;
	assert_string_equal(vfw_nh_type_name(VFW_NH_VNETLOCAL), "VnetLocal");
	assert_string_equal(vfw_nh_type_name(VFW_NH_APPLIANCE), "VirtualAppliance");
	assert_string_equal(vfw_nh_type_name(VFW_NH_INTERNET), "Internet");
	assert_string_equal(vfw_nh_type_name(VFW_NH_NONE), "None");
	assert_string_equal(vfw_nh_type_name(VFW_NH_TYPE_MAX), "?");
}

static void
test_errors_api(void **state)
{
	struct vfw_errors e;
	struct vfw_loc l = { 3, 4 }, z = { 0, 0 };

	(void)state;
	vfw_errors_init(&e);
	vfw_errors_add(&e, "f", &l, "x %d", 1);
	vfw_errors_add(&e, "f", &z, "y");
	vfw_errors_add(&e, NULL, &l, "z");
	vfw_errors_add(&e, NULL, NULL, "w");
	vfw_errors_add(NULL, NULL, NULL, "ignored");
	assert_int_equal(e.n, 4);
	assert_string_equal(e.msg[0], "f:3:4: x 1");
	assert_string_equal(e.msg[1], "f: y");
	assert_string_equal(e.msg[2], "line 3, column 4: z");
	assert_string_equal(e.msg[3], "w");
	vfw_errors_free(&e);
	assert_int_equal(e.n, 0);
	vfw_errors_free(&e);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_demo),
		cmocka_unit_test(test_demo_file),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_check_restart),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_parse_item_errors),
		cmocka_unit_test(test_validate_memory),
		cmocka_unit_test(test_collects_all),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_neighbor_limit),
		cmocka_unit_test(test_snat_pool_limit),
		cmocka_unit_test(test_nh_names),
		cmocka_unit_test(test_errors_api),
	};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	size_t nb = sizeof(bad_docs) / sizeof(bad_docs[0]);
	struct CMUnitTest *t = calloc(nf + nb, sizeof(*t));
	size_t i;
	int rc;

	if (t == NULL)
		return 1;
	memcpy(t, fixed, sizeof(fixed));
	/* One test per broken document, named after it. */
	for (i = 0; i < nb; i++) {
		t[nf + i].name = bad_docs[i].name;
		t[nf + i].test_func = test_bad;
		t[nf + i].initial_state = (void *)(uintptr_t)&bad_docs[i];
	}
	rc = _cmocka_run_group_tests("config", t, nf + nb, NULL, NULL);
	free(t);
	return rc;
}
