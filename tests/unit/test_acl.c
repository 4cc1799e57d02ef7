/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/acl: NSG rule semantics compiled into rte_acl.
 *
 * Configs are built in C (no YAML loader); a brute-force reference matcher
 * written straight from the contract checks the compiled contexts on random
 * rules and keys. Set VFW_TEST_SEED to replay a random run and
 * VFW_TEST_FILTER to pick tests by name.
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
#include <time.h>

#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "vnetfw/acl.h"

/* ---- random numbers (deterministic, seedable) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd64(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint32_t
rnd(uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(rnd64() % n);
}

/* ---- config construction ---- */

static void
must_prefix(const char *s, struct vfw_prefix *p)
{
	int rc = vfw_prefix_parse(s, p);

	/* -EDOM: host bits set, as in an interface address. */
	if (rc != 0 && rc != -EDOM)
		fail_msg("bad prefix in test: %s", s);
}

static char **
split(const char *s, unsigned int *n)
{
	char **v = NULL;
	char *dup, *tok, *save = NULL;

	*n = 0;
	if (s == NULL || s[0] == '\0')
		return NULL;
	dup = strdup(s);
	assert_non_null(dup);
	for (tok = strtok_r(dup, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		v = realloc(v, (*n + 1) * sizeof(*v));
		assert_non_null(v);
		v[(*n)++] = strdup(tok);
	}
	free(dup);
	return v;
}

static void
split_free(char **v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* "any", a CIDR/address, or an address set name, comma separated. */
static struct vfw_cfg_addr *
parse_addrs(const char *s, unsigned int *n)
{
	char **v = split(s, n);
	struct vfw_cfg_addr *a = calloc(*n ? *n : 1, sizeof(*a));
	unsigned int i;

	assert_non_null(a);
	for (i = 0; i < *n; i++) {
		if (strcmp(v[i], "any") == 0) {
			a[i].kind = VFW_ADDR_ANY;
		} else if (strchr(v[i], '.') != NULL ||
			   strchr(v[i], ':') != NULL) {
			a[i].kind = VFW_ADDR_PREFIX;
			must_prefix(v[i], &a[i].prefix);
		} else {
			a[i].kind = VFW_ADDR_SET;
			snprintf(a[i].set, sizeof(a[i].set), "%s", v[i]);
		}
	}
	split_free(v, *n);
	return a;
}

/* "80,1000-2000"; NULL or "" = any. */
static struct vfw_port_range *
parse_ports(const char *s, unsigned int *n)
{
	char **v = split(s, n);
	struct vfw_port_range *p;
	unsigned int i;

	if (*n == 0)
		return NULL;
	p = calloc(*n, sizeof(*p));
	assert_non_null(p);
	for (i = 0; i < *n; i++) {
		unsigned int lo, hi;

		if (sscanf(v[i], "%u-%u", &lo, &hi) == 2) {
			p[i].lo = (uint16_t)lo;
			p[i].hi = (uint16_t)hi;
		} else {
			p[i].lo = p[i].hi = (uint16_t)atoi(v[i]);
		}
	}
	split_free(v, *n);
	return p;
}

/*
 * A config as in the contract's example, made so that every part of
 * VirtualNetwork counts on its own: the vnet port subnet (172.16.1.0/24)
 * and cluster subnet (10.240.0.0/16) are outside vnet_prefixes.
 */
static struct vfw_config *
cfg_new(bool with_v6)
{
	struct vfw_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	must_prefix("172.16.1.4/24", &cfg->ports[VFW_PORT_VNET].address);
	must_prefix("10.240.0.4/16", &cfg->ports[VFW_PORT_CLUSTER].address);
	cfg->vnet_prefixes = calloc(3, sizeof(*cfg->vnet_prefixes));
	assert_non_null(cfg->vnet_prefixes);
	must_prefix("10.0.0.0/16", &cfg->vnet_prefixes[0]);
	must_prefix("192.168.0.0/16", &cfg->vnet_prefixes[1]);
	cfg->n_vnet_prefixes = 2;
	if (with_v6) {
		cfg->ports[VFW_PORT_VNET].has_address6 = true;
		must_prefix("fd00:1::4/64", &cfg->ports[VFW_PORT_VNET].address6);
		cfg->ports[VFW_PORT_CLUSTER].has_address6 = true;
		must_prefix("fd00:240::4/64",
			    &cfg->ports[VFW_PORT_CLUSTER].address6);
		must_prefix("fd10::/48", &cfg->vnet_prefixes[2]);
		cfg->n_vnet_prefixes = 3;
	}
	return cfg;
}

static void
cfg_free(struct vfw_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->n_rules; i++) {
		free(cfg->rules[i].source);
		free(cfg->rules[i].destination);
		free(cfg->rules[i].source_ports);
		free(cfg->rules[i].destination_ports);
	}
	free(cfg->rules);
	for (i = 0; i < cfg->n_address_sets; i++)
		free(cfg->address_sets[i].prefixes);
	free(cfg->address_sets);
	free(cfg->vnet_prefixes);
	free(cfg);
}

static void
add_set(struct vfw_config *cfg, const char *name, const char *prefixes)
{
	struct vfw_cfg_addrset *s;
	char **v;
	unsigned int i, n;

	cfg->address_sets = realloc(cfg->address_sets,
				    (cfg->n_address_sets + 1) * sizeof(*s));
	assert_non_null(cfg->address_sets);
	s = &cfg->address_sets[cfg->n_address_sets++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	v = split(prefixes, &n);
	s->prefixes = calloc(n ? n : 1, sizeof(*s->prefixes));
	assert_non_null(s->prefixes);
	for (i = 0; i < n; i++)
		must_prefix(v[i], &s->prefixes[i]);
	s->n_prefixes = n;
	split_free(v, n);
}

static struct vfw_cfg_rule *
add_rule(struct vfw_config *cfg, const char *name, uint32_t prio,
	 enum vfw_dir dir, enum vfw_access acc, uint8_t proto,
	 const char *src, const char *dst, const char *sports,
	 const char *dports)
{
	struct vfw_cfg_rule *r;

	cfg->rules = realloc(cfg->rules, (cfg->n_rules + 1) * sizeof(*r));
	assert_non_null(cfg->rules);
	r = &cfg->rules[cfg->n_rules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->priority = prio;
	r->direction = dir;
	r->access = acc;
	r->protocol = proto;
	r->source = parse_addrs(src, &r->n_source);
	r->destination = parse_addrs(dst, &r->n_destination);
	r->source_ports = parse_ports(sports, &r->n_source_ports);
	r->destination_ports = parse_ports(dports, &r->n_destination_ports);
	return r;
}

#define IN VFW_DIR_IN
#define OUT VFW_DIR_OUT
#define ALLOW VFW_ACCESS_ALLOW
#define DENY VFW_ACCESS_DENY
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP IPPROTO_ICMP
#define ANYP VFW_PROTO_ANY

/* ---- keys and lookups ---- */

static struct vfw_flow_key
key(uint8_t proto, const char *src, uint16_t sport, const char *dst,
    uint16_t dport)
{
	struct vfw_flow_key k;
	struct vfw_ip s, d;

	memset(&k, 0, sizeof(k));
	assert_int_equal(vfw_ip_parse(src, &s), 0);
	assert_int_equal(vfw_ip_parse(dst, &d), 0);
	assert_int_equal(s.af, d.af);
	k.proto = proto;
	k.af = s.af;
	if (s.af == VFW_AF_INET) {
		k.src[0] = s.v4;
		k.dst[0] = d.v4;
	} else {
		memcpy(k.src, s.v6, 16);
		memcpy(k.dst, d.v6, 16);
	}
	k.sport = htons(sport);
	k.dport = htons(dport);
	return k;
}

static uint32_t
cls(const struct vfw_acl *acl, enum vfw_dir dir, const struct vfw_flow_key k)
{
	const struct vfw_flow_key *kp = &k;
	uint32_t r = 0xdeadbeef;

	vfw_acl_classify(acl, dir, &kp, &r, 1);
	return r;
}

/* Expected classify result of the rule called name. */
static uint32_t
R(const struct vfw_acl *acl, const char *name)
{
	unsigned int i;

	for (i = 0; i < vfw_acl_rule_count(acl); i++) {
		const struct vfw_acl_rule_info *ri = vfw_acl_rule(acl, i);

		if (strcmp(ri->name, name) == 0)
			return i | (ri->access == VFW_ACCESS_ALLOW ?
				    VFW_ACL_ALLOW : 0);
	}
	fail_msg("no rule %s", name);
	return 0;
}

static const struct vfw_acl_rule_info *
info(const struct vfw_acl *acl, const char *name)
{
	return vfw_acl_rule(acl, R(acl, name) & VFW_ACL_INDEX_MASK);
}

static struct vfw_acl *
build_ok(const struct vfw_config *cfg, const char *name)
{
	struct vfw_errors errs;
	struct vfw_acl *acl;
	unsigned int i;

	vfw_errors_init(&errs);
	acl = vfw_acl_build(cfg, name, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("build error: %s\n", errs.msg[i]);
	if (acl == NULL)
		fail_msg("vfw_acl_build(%s): %s", name,
			 rte_strerror(rte_errno));
	assert_int_equal(errs.n, 0);
	vfw_errors_free(&errs);
	return acl;
}

#define EXPECT(acl, dir, k, name) \
	assert_int_equal(cls(acl, dir, k), R(acl, name))

/* ---- semantics ---- */

static void
test_priority_order(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_flow_key k = key(TCP, "198.51.100.7", 40000,
				    "10.240.1.10", 80);
	struct vfw_acl *acl;

	/* The lower number wins, whatever the order in the config. */
	add_rule(cfg, "deny-web", 200, IN, DENY, TCP, "any", "10.240.0.0/16",
		 NULL, "80");
	add_rule(cfg, "allow-web", 100, IN, ALLOW, TCP, "any",
		 "10.240.0.0/16", NULL, "80");
	acl = build_ok(cfg, "prio1");
	EXPECT(acl, IN, k, "allow-web");
	assert_int_equal(cls(acl, IN, k), 1 | VFW_ACL_ALLOW);
	vfw_acl_free(acl);

	cfg->rules[0].priority = 100;
	cfg->rules[1].priority = 200;
	acl = build_ok(cfg, "prio2");
	EXPECT(acl, IN, k, "deny-web");
	assert_int_equal(cls(acl, IN, k), 0);
	/* The other direction is not affected by inbound rules. */
	EXPECT(acl, OUT, k, "DenyAllOutBound");
	vfw_acl_free(acl);

	/* Adjacent priorities still order (no rounding in the mapping). */
	cfg->rules[0].priority = 4097;
	cfg->rules[1].priority = 4096;
	acl = build_ok(cfg, "prio3");
	EXPECT(acl, IN, k, "allow-web");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_overlap(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_acl *acl;

	/* A more specific deny with a better priority carves a hole. */
	add_rule(cfg, "allow-cluster", 300, IN, ALLOW, ANYP, "any",
		 "10.240.0.0/16", NULL, NULL);
	add_rule(cfg, "deny-sub", 200, IN, DENY, ANYP, "any",
		 "10.240.1.0/24", NULL, NULL);
	acl = build_ok(cfg, "overlap");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "10.240.1.5", 22), "deny-sub");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "10.240.2.5", 22),
	       "allow-cluster");
	EXPECT(acl, IN, key(UDP, "8.8.8.8", 1, "10.240.1.255", 53),
	       "deny-sub");
	EXPECT(acl, IN, key(UDP, "8.8.8.8", 1, "10.240.0.255", 53),
	       "allow-cluster");
	EXPECT(acl, IN, key(UDP, "8.8.8.8", 1, "10.241.0.1", 53),
	       "DenyAllInBound");
	vfw_acl_free(acl);

	/* Deny before allow: a broad deny beats a more specific allow. */
	cfg->rules[0].priority = 100;
	cfg->rules[0].access = DENY;
	cfg->rules[1].priority = 200;
	cfg->rules[1].access = ALLOW;
	acl = build_ok(cfg, "overlap2");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "10.240.1.5", 22),
	       "allow-cluster");
	assert_int_equal(cls(acl, IN, key(TCP, "8.8.8.8", 1, "10.240.1.5", 22)),
			 0);
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_ports(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	const char *src = "198.51.100.7", *dst = "10.240.1.10";
	struct vfw_acl *acl;

	add_rule(cfg, "web", 100, IN, ALLOW, TCP, "any", "10.240.0.0/16",
		 "1024-65535", "80,1000-2000,65535");
	/* Out of order, overlapping and adjacent pieces: merged. */
	add_rule(cfg, "merged", 110, IN, ALLOW, UDP, "any", "10.240.0.0/16",
		 NULL, "3005-3020,3021,3000-3010");
	add_rule(cfg, "low", 120, IN, ALLOW, UDP, "any", "10.240.0.0/16",
		 "0-10", "0");
	/* 256 = 0x0100 and 1 = 0x0001: swapped byte order would mix them. */
	add_rule(cfg, "p256", 130, IN, ALLOW, TCP, "any", "10.240.0.0/16",
		 NULL, "256");
	acl = build_ok(cfg, "ports");
	assert_int_equal(info(acl, "web")->n_acl_rules, 3);
	assert_int_equal(info(acl, "merged")->n_acl_rules, 1);

	EXPECT(acl, IN, key(TCP, src, 40000, dst, 80), "web");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 79), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 81), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 999), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 1000), "web");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 1500), "web");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 2000), "web");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 2001), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 65534), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 40000, dst, 65535), "web");
	/* source port range edges */
	EXPECT(acl, IN, key(TCP, src, 1023, dst, 80), "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, src, 1024, dst, 80), "web");
	EXPECT(acl, IN, key(TCP, src, 65535, dst, 80), "web");
	EXPECT(acl, IN, key(TCP, src, 0, dst, 80), "DenyAllInBound");

	EXPECT(acl, IN, key(UDP, src, 5, dst, 2999), "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, src, 5, dst, 3000), "merged");
	EXPECT(acl, IN, key(UDP, src, 5, dst, 3011), "merged");
	EXPECT(acl, IN, key(UDP, src, 5, dst, 3021), "merged");
	EXPECT(acl, IN, key(UDP, src, 5, dst, 3022), "DenyAllInBound");

	EXPECT(acl, IN, key(UDP, src, 0, dst, 0), "low");
	EXPECT(acl, IN, key(UDP, src, 10, dst, 0), "low");
	EXPECT(acl, IN, key(UDP, src, 11, dst, 0), "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, src, 0, dst, 1), "DenyAllInBound");

	EXPECT(acl, IN, key(TCP, src, 7, dst, 256), "p256");
	EXPECT(acl, IN, key(TCP, src, 7, dst, 1), "DenyAllInBound");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_byte_order(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_acl *acl;

	/* 10.240.1.0/24 byte-swapped would be 0.1.240.10 (and /24 of it
	 * would cover 1.240.10.x-ish keys): make sure only the real one hits. */
	add_rule(cfg, "net", 100, IN, ALLOW, ANYP, "any", "10.240.1.0/24",
		 NULL, NULL);
	add_rule(cfg, "host", 110, IN, ALLOW, ANYP, "1.2.3.4", "any",
		 NULL, NULL);
	acl = build_ok(cfg, "border");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "10.240.1.77", 2), "net");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "1.240.10.1", 2),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 1, "0.1.240.10", 2),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "1.2.3.4", 1, "8.8.8.8", 2), "host");
	EXPECT(acl, IN, key(TCP, "4.3.2.1", 1, "8.8.8.8", 2),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "1.2.3.5", 1, "8.8.8.8", 2),
	       "DenyAllInBound");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_protocols(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	const char *s4 = "198.51.100.7", *s6 = "2001:db8::7";
	struct vfw_acl *acl;

	add_rule(cfg, "tcp-r", 100, IN, ALLOW, TCP, "any", "10.240.0.1",
		 NULL, NULL);
	add_rule(cfg, "udp-r", 110, IN, ALLOW, UDP, "any", "10.240.0.2",
		 NULL, NULL);
	add_rule(cfg, "icmp-r", 120, IN, ALLOW, ICMP, "any",
		 "10.240.0.3,fd00:240::3", NULL, NULL);
	add_rule(cfg, "any-r", 130, IN, ALLOW, ANYP, "any",
		 "10.240.0.4,fd00:240::4", NULL, NULL);
	acl = build_ok(cfg, "proto");
	assert_int_equal(info(acl, "icmp-r")->protocol, IPPROTO_ICMP);

	EXPECT(acl, IN, key(TCP, s4, 1, "10.240.0.1", 2), "tcp-r");
	EXPECT(acl, IN, key(UDP, s4, 1, "10.240.0.1", 2), "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, s4, 1, "10.240.0.2", 2), "udp-r");
	EXPECT(acl, IN, key(TCP, s4, 1, "10.240.0.2", 2), "DenyAllInBound");
	EXPECT(acl, IN, key(ICMP, s4, 7, "10.240.0.3", 7), "icmp-r");
	EXPECT(acl, IN, key(TCP, s4, 7, "10.240.0.3", 7), "DenyAllInBound");
	EXPECT(acl, IN, key(IPPROTO_ICMPV6, s4, 7, "10.240.0.3", 7),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(47, s4, 0, "10.240.0.4", 0), "any-r");
	EXPECT(acl, IN, key(TCP, s4, 1, "10.240.0.4", 2), "any-r");
	EXPECT(acl, IN, key(0, s4, 1, "10.240.0.4", 2), "any-r");
	EXPECT(acl, IN, key(255, s4, 1, "10.240.0.4", 2), "any-r");
	/* icmp means ICMPv6 in the IPv6 context. */
	EXPECT(acl, IN, key(IPPROTO_ICMPV6, s6, 7, "fd00:240::3", 7),
	       "icmp-r");
	EXPECT(acl, IN, key(IPPROTO_ICMP, s6, 7, "fd00:240::3", 7),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, s6, 7, "fd00:240::3", 7), "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, s6, 7, "fd00:240::4", 7), "any-r");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_address_sets(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	struct vfw_acl *acl;

	add_set(cfg, "Web", "10.240.1.10/32,10.240.2.0/24,fd00:240::10/128");
	add_set(cfg, "Empty", "");
	add_rule(cfg, "vnet-deny-web", 90, IN, DENY, ANYP, "VirtualNetwork",
		 "Web", NULL, NULL);
	add_rule(cfg, "inet-web", 100, IN, ALLOW, TCP, "Internet", "Web",
		 NULL, "443");
	add_rule(cfg, "never", 50, IN, DENY, ANYP, "Empty", "any", NULL,
		 NULL);
	acl = build_ok(cfg, "sets");
	assert_int_equal(info(acl, "never")->n_acl_rules, 0);

	EXPECT(acl, IN, key(TCP, "198.51.100.7", 5, "10.240.1.10", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "198.51.100.7", 5, "10.240.1.11", 443),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "198.51.100.7", 5, "10.240.2.200", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "198.51.100.7", 5, "10.240.2.200", 444),
	       "DenyAllInBound");
	/* Sources inside each piece of VirtualNetwork. */
	EXPECT(acl, IN, key(TCP, "10.0.5.5", 5, "10.240.2.7", 443),
	       "vnet-deny-web");
	EXPECT(acl, IN, key(TCP, "172.16.1.9", 5, "10.240.1.10", 443),
	       "vnet-deny-web");
	EXPECT(acl, IN, key(TCP, "10.240.200.1", 5, "10.240.1.10", 443),
	       "vnet-deny-web");
	EXPECT(acl, IN, key(UDP, "192.168.3.3", 5, "10.240.2.1", 53),
	       "vnet-deny-web");
	/* Just outside VirtualNetwork is Internet. */
	EXPECT(acl, IN, key(TCP, "10.1.0.1", 5, "10.240.1.10", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "172.16.2.1", 5, "10.240.1.10", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "172.16.0.255", 5, "10.240.1.10", 443),
	       "inet-web");
	/* vnet to vnet outside Web: the default allows it. */
	EXPECT(acl, IN, key(TCP, "10.240.9.9", 5, "10.240.3.3", 443),
	       "AllowVnetInBound");
	/* IPv6 */
	EXPECT(acl, IN, key(TCP, "2001:db8::5", 5, "fd00:240::10", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "2001:db8::5", 5, "fd00:240::11", 443),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "fd10::1", 5, "fd00:240::10", 443),
	       "vnet-deny-web");
	EXPECT(acl, IN, key(TCP, "fd10::ffff:ffff:1", 5, "fd00:240::10", 443),
	       "vnet-deny-web");
	EXPECT(acl, IN, key(TCP, "fd10:1::1", 5, "fd00:240::10", 443),
	       "inet-web");
	EXPECT(acl, IN, key(TCP, "fd00:1::7", 5, "fd00:240::10", 443),
	       "vnet-deny-web");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

/* ---- address set expansion ---- */

static bool
in_list(const struct vfw_prefix *p, unsigned int n, const struct vfw_ip *ip)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (vfw_prefix_contains(&p[i], ip))
			return true;
	return false;
}

/* VirtualNetwork straight from the contract, for the reference. */
static bool
ref_in_vnet(const struct vfw_config *cfg, const struct vfw_ip *ip)
{
	unsigned int i;

	for (i = 0; i < VFW_PORT_MAX; i++) {
		const struct vfw_cfg_port *p = &cfg->ports[i];

		/* vfw_prefix_contains ignores host bits of the port address */
		if (vfw_prefix_contains(&p->address, ip))
			return true;
		if (p->has_address6 && vfw_prefix_contains(&p->address6, ip))
			return true;
	}
	return in_list(cfg->vnet_prefixes, cfg->n_vnet_prefixes, ip);
}

static void
check_prefix_list(const struct vfw_prefix *p, unsigned int n, uint8_t af)
{
	unsigned int i, j;
	char a[64], b[64];

	for (i = 0; i < n; i++) {
		struct vfw_prefix c;

		assert_int_equal(p[i].ip.af, af);
		/* host bits zero */
		vfw_prefix_str(&p[i], a, sizeof(a));
		assert_int_equal(vfw_prefix_parse(a, &c), 0);
		for (j = i + 1; j < n; j++) {
			/* disjoint: neither contains the other's base */
			if (vfw_prefix_contains(&p[i], &p[j].ip) ||
			    vfw_prefix_contains(&p[j], &p[i].ip))
				fail_msg("overlap %s %s", a,
					 vfw_prefix_str(&p[j], b, sizeof(b)));
			/* minimal: no two mergeable siblings */
			if (p[i].len == p[j].len && p[i].len > 0) {
				struct vfw_prefix pa = p[i];

				pa.len--;
				if (vfw_prefix_contains(&pa, &p[j].ip))
					fail_msg("siblings %s %s", a,
						 vfw_prefix_str(&p[j], b,
								sizeof(b)));
			}
		}
	}
}

static void
test_expand_set_exact(void **state)
{
	static const char *const want[] = {
		"0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6",
		"16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1",
	};
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_prefix *p;
	unsigned int n, i;
	char buf[64];

	/* VirtualNetwork = 10.0.0.0/8 exactly (port subnets inside). */
	must_prefix("10.0.1.4/24", &cfg->ports[VFW_PORT_VNET].address);
	must_prefix("10.0.0.0/8", &cfg->vnet_prefixes[0]);
	cfg->n_vnet_prefixes = 1;

	p = vfw_acl_expand_set(cfg, "VirtualNetwork", VFW_AF_INET, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_string_equal(vfw_prefix_str(&p[0], buf, sizeof(buf)),
			    "10.0.0.0/8");
	free(p);

	p = vfw_acl_expand_set(cfg, "Internet", VFW_AF_INET, &n);
	assert_non_null(p);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		assert_string_equal(vfw_prefix_str(&p[i], buf, sizeof(buf)),
				    want[i]);
	free(p);

	/* No IPv6 anywhere: VirtualNetwork6 empty, Internet6 everything. */
	p = vfw_acl_expand_set(cfg, "VirtualNetwork", VFW_AF_INET6, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	p = vfw_acl_expand_set(cfg, "Internet", VFW_AF_INET6, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_string_equal(vfw_prefix_str(&p[0], buf, sizeof(buf)), "::/0");
	free(p);

	/* User sets come back normalized and per family. */
	add_set(cfg, "S", "10.0.0.0/25,10.0.0.7/32,10.0.0.128/25,"
		"2001:db8::/32,2001:db8:1::/48");
	p = vfw_acl_expand_set(cfg, "S", VFW_AF_INET, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_string_equal(vfw_prefix_str(&p[0], buf, sizeof(buf)),
			    "10.0.0.0/24");
	free(p);
	p = vfw_acl_expand_set(cfg, "S", VFW_AF_INET6, &n);
	assert_non_null(p);
	assert_int_equal(n, 1);
	assert_string_equal(vfw_prefix_str(&p[0], buf, sizeof(buf)),
			    "2001:db8::/32");
	free(p);

	/* VirtualNetwork = everything: Internet is empty. */
	must_prefix("0.0.0.0/0", &cfg->vnet_prefixes[0]);
	p = vfw_acl_expand_set(cfg, "Internet", VFW_AF_INET, &n);
	assert_null(p);
	assert_int_equal(n, 0);

	p = vfw_acl_expand_set(cfg, "NoSuchSet", VFW_AF_INET, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(rte_errno, ENOENT);
	p = vfw_acl_expand_set(cfg, "Internet", 5, &n);
	assert_null(p);
	assert_int_equal(rte_errno, EINVAL);
	cfg_free(cfg);
}

static void
rand_ip(uint8_t af, struct vfw_ip *ip)
{
	unsigned int i;

	memset(ip, 0, sizeof(*ip));
	ip->af = af;
	if (af == VFW_AF_INET) {
		ip->v4 = (uint32_t)rnd64();
		return;
	}
	for (i = 0; i < 4; i++)
		ip->w[i] = (uint32_t)rnd64();
	/* keep most IPv6 keys near the interesting prefixes */
	if (rnd(2)) {
		ip->v6[0] = 0xfd;
		ip->v6[1] = (uint8_t)rnd(2);
	}
}

/* Random address inside p (host bits random). */
static void
rand_in_prefix(const struct vfw_prefix *p, struct vfw_ip *ip)
{
	unsigned int w, words = p->ip.af == VFW_AF_INET ? 1 : 4;

	rand_ip(p->ip.af, ip);
	for (w = 0; w < words; w++) {
		unsigned int bits = p->len > w * 32 ? p->len - w * 32 : 0;
		uint32_t m = bits >= 32 ? 0xffffffffu :
			     bits == 0 ? 0 : htonl(~0u << (32 - bits));

		ip->w[w] = (p->ip.w[w] & m) | (ip->w[w] & ~m);
	}
}

/* First (last) address of p, moved by delta (+-1) with carry. */
static void
prefix_edge(const struct vfw_prefix *p, bool last, int delta,
	    struct vfw_ip *ip)
{
	unsigned int w, words = p->ip.af == VFW_AF_INET ? 1 : 4;
	int i;

	*ip = p->ip;
	for (w = 0; w < words; w++) {
		unsigned int bits = p->len > w * 32 ? p->len - w * 32 : 0;
		uint32_t m = bits >= 32 ? 0xffffffffu :
			     bits == 0 ? 0 : htonl(~0u << (32 - bits));

		ip->w[w] &= m;
		if (last)
			ip->w[w] |= ~m;
	}
	if (delta == 0)
		return;
	/* big-endian add/subtract 1 over the used bytes */
	for (i = (int)words * 4 - 1; i >= 0; i--) {
		uint8_t *b = &ip->v6[i];

		if (delta > 0) {
			if (++*b != 0)
				break;
		} else {
			if ((*b)-- != 0)
				break;
		}
	}
}

/* A random edge of p: first or last address, or one beyond. */
static void
rand_edge(const struct vfw_prefix *p, struct vfw_ip *ip)
{
	bool last = rnd(2) != 0;
	int delta = (int)rnd(3) - 1;

	prefix_edge(p, last, delta, ip);
}

static void
rand_prefix(uint8_t af, struct vfw_prefix *p)
{
	struct vfw_prefix full;
	unsigned int len;

	memset(&full, 0, sizeof(full));
	rand_ip(af, &full.ip);
	len = af == VFW_AF_INET ? rnd(33) : rnd(129);
	if (rnd(3) == 0)
		len = af == VFW_AF_INET ? 8 + rnd(25) : 32 + rnd(97);
	full.len = (uint8_t)(af == VFW_AF_INET ? 32 : 128);
	*p = full;
	p->len = (uint8_t)len;
	/* clear host bits */
	prefix_edge(p, false, 0, &p->ip);
}

static void
test_expand_set_random(void **state)
{
	unsigned int iter;

	for (iter = 0; iter < 60; iter++) {
		struct vfw_config *cfg = cfg_new(true);
		unsigned int afi, i, nv;

		/* random VirtualNetwork pieces in both families */
		nv = 1 + rnd(12);
		free(cfg->vnet_prefixes);
		cfg->vnet_prefixes = calloc(nv * 2, sizeof(struct vfw_prefix));
		assert_non_null(cfg->vnet_prefixes);
		for (i = 0; i < nv * 2; i++)
			rand_prefix(i % 2 ? VFW_AF_INET6 : VFW_AF_INET,
				    &cfg->vnet_prefixes[i]);
		cfg->n_vnet_prefixes = nv * 2;
		rand_prefix(VFW_AF_INET, &cfg->ports[0].address);
		cfg->ports[0].address.ip.v4 |= htonl(1); /* host bits */
		if (iter % 3 == 0)
			cfg->ports[1].has_address6 = false;

		for (afi = 0; afi < 2; afi++) {
			uint8_t af = afi ? VFW_AF_INET6 : VFW_AF_INET;
			struct vfw_prefix *inet, *vnet;
			unsigned int ni, nvn, k;
			struct vfw_ip ip;

			inet = vfw_acl_expand_set(cfg, "Internet", af, &ni);
			vnet = vfw_acl_expand_set(cfg, "VirtualNetwork", af,
						  &nvn);
			check_prefix_list(inet, ni, af);
			check_prefix_list(vnet, nvn, af);
			for (k = 0; k < 3000; k++) {
				bool rv, ex_v, ex_i;

				if (k < 1000) {
					rand_ip(af, &ip);
				} else {
					const struct vfw_prefix *p =
						&cfg->vnet_prefixes[rnd(
							cfg->n_vnet_prefixes)];

					if (p->ip.af != af)
						continue;
					if (k % 2)
						rand_in_prefix(p, &ip);
					else
						rand_edge(p, &ip);
				}
				rv = ref_in_vnet(cfg, &ip);
				ex_v = in_list(vnet, nvn, &ip);
				ex_i = in_list(inet, ni, &ip);
				if (rv != ex_v || rv == ex_i) {
					char b[64];

					fail_msg("iter %u %s: vnet %d expanded "
						 "vnet %d internet %d", iter,
						 vfw_ip_str(&ip, b, sizeof(b)),
						 rv, ex_v, ex_i);
				}
			}
			free(inet);
			free(vnet);
		}
		cfg_free(cfg);
	}
}

/* ---- IPv6 and defaults ---- */

static void
test_ipv6_rules(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	struct vfw_acl *acl;

	add_rule(cfg, "v6-only", 100, IN, ALLOW, TCP, "2001:db8::/32",
		 "fd00:240::/64", NULL, "22,443");
	add_rule(cfg, "v6-dst-any-src", 110, IN, ALLOW, UDP, "any",
		 "fd00:240::53", NULL, "53");
	add_rule(cfg, "both", 120, IN, ALLOW, ANYP, "any", "any", NULL,
		 "7000");
	add_rule(cfg, "v4-only", 130, IN, ALLOW, TCP, "any", "10.240.0.0/16",
		 NULL, "8080");
	/* Word boundaries of the four rte_acl words: /33, /95, /100. */
	add_rule(cfg, "w33", 140, IN, DENY, TCP, "any", "2001:db8:8000::/33",
		 NULL, "9000");
	add_rule(cfg, "w100", 141, IN, DENY, TCP, "any",
		 "fd00:240::1:2:3000:0/100", NULL, "9000");
	add_rule(cfg, "w95", 142, IN, DENY, TCP, "any",
		 "fd00:240::/95", NULL, "9000");
	acl = build_ok(cfg, "ipv6");
	assert_int_equal(info(acl, "v6-only")->n_acl_rules, 2);
	assert_int_equal(info(acl, "v6-dst-any-src")->n_acl_rules, 1);
	/* protocol any with ports: TCP and UDP, in both families */
	assert_int_equal(info(acl, "both")->n_acl_rules, 4);
	assert_int_equal(info(acl, "v4-only")->n_acl_rules, 1);

	EXPECT(acl, IN, key(TCP, "2001:db8:ffff::1", 5, "fd00:240::ffff", 22),
	       "v6-only");
	EXPECT(acl, IN, key(TCP, "2001:db8::1", 5,
			    "fd00:240::ffff:ffff:ffff:ffff", 443), "v6-only");
	EXPECT(acl, IN, key(TCP, "2001:db9::1", 5, "fd00:240::1", 22),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "2001:db8::1", 5, "fd00:240:0:1::1", 22),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "2001:db8::1", 5, "fd00:240::1", 23),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, "::1", 5, "fd00:240::53", 53),
	       "v6-dst-any-src");
	EXPECT(acl, IN, key(UDP, "::1", 5, "fd00:240::54", 53),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(UDP, "::", 5, "::", 7000), "both");
	EXPECT(acl, IN, key(UDP, "1.1.1.1", 5, "2.2.2.2", 7000), "both");
	/* ICMP carries its echo id where ports would be: a port rule of
	 * protocol any must not match it */
	EXPECT(acl, IN, key(IPPROTO_ICMP, "1.1.1.1", 7000, "2.2.2.2", 7000),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "8.8.8.8", 5, "10.240.0.1", 8080),
	       "v4-only");
	EXPECT(acl, IN, key(TCP, "2001:db8::1", 5, "fd00:240::1", 8080),
	       "DenyAllInBound");

	EXPECT(acl, IN, key(TCP, "::1", 5, "2001:db8:8000::", 9000), "w33");
	EXPECT(acl, IN, key(TCP, "::1", 5, "2001:db8:ffff:ffff::", 9000),
	       "w33");
	EXPECT(acl, IN, key(TCP, "::1", 5, "2001:db8:7fff:ffff::", 9000),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::1:2:3fff:ffff", 9000),
	       "w100");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::1:2:4000:0", 9000),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::1:2:2fff:ffff", 9000),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::1:ffff:ffff", 9000),
	       "w95");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::", 9000), "w95");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240::2:0:0", 9000),
	       "DenyAllInBound");
	EXPECT(acl, IN, key(TCP, "::1", 5, "fd00:240:0:0:1::", 9000),
	       "DenyAllInBound");

	/* IPv6 VirtualNetwork / Internet through the defaults. */
	EXPECT(acl, IN, key(TCP, "fd00:1::9", 5, "fd00:240::9", 80),
	       "AllowVnetInBound");
	EXPECT(acl, IN, key(TCP, "fd10::9", 5, "fd00:1::1", 80),
	       "AllowVnetInBound");
	EXPECT(acl, IN, key(TCP, "2001:db9::9", 5, "fd00:240::9", 80),
	       "DenyAllInBound");
	EXPECT(acl, OUT, key(TCP, "fd00:240::9", 5, "2606:4700::1", 443),
	       "AllowInternetOutBound");
	EXPECT(acl, OUT, key(TCP, "fd00:240::9", 5, "fd00:1::1", 443),
	       "AllowVnetOutBound");
	EXPECT(acl, OUT, key(TCP, "2606:4700::1", 5, "fd00:1::1", 443),
	       "DenyAllOutBound");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

static void
test_defaults(void **state)
{
	static const struct {
		const char *name;
		uint32_t prio;
		enum vfw_dir dir;
		enum vfw_access acc;
	} want[] = {
		{"AllowVnetInBound", 65000, IN, ALLOW},
		{"DenyAllInBound", 65500, IN, DENY},
		{"AllowVnetOutBound", 65000, OUT, ALLOW},
		{"AllowInternetOutBound", 65001, OUT, ALLOW},
		{"DenyAllOutBound", 65500, OUT, DENY},
	};
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_acl *acl;
	unsigned int i;

	add_rule(cfg, "u0", 100, IN, DENY, TCP, "any", "10.240.0.99", NULL,
		 NULL);
	add_rule(cfg, "u1", 100, OUT, DENY, TCP, "any", "10.240.0.99", NULL,
		 NULL);
	acl = build_ok(cfg, "defaults");
	assert_int_equal(vfw_acl_rule_count(acl), 7);
	assert_null(vfw_acl_rule(acl, 7));
	for (i = 0; i < 2; i++) {
		assert_false(vfw_acl_rule(acl, i)->is_default);
		assert_int_equal(vfw_acl_rule(acl, i)->cfg_index, (int)i);
	}
	for (i = 0; i < 5; i++) {
		const struct vfw_acl_rule_info *ri = vfw_acl_rule(acl, 2 + i);

		assert_string_equal(ri->name, want[i].name);
		assert_int_equal(ri->priority, want[i].prio);
		assert_int_equal(ri->direction, want[i].dir);
		assert_int_equal(ri->access, want[i].acc);
		assert_int_equal(ri->protocol, VFW_PROTO_ANY);
		assert_true(ri->is_default);
		assert_int_equal(ri->cfg_index, -1);
	}
	/* VirtualNetwork4 is 4 disjoint prefixes: 4 x 4 rte_acl rules. */
	assert_int_equal(info(acl, "AllowVnetInBound")->n_acl_rules, 16);
	assert_int_equal(info(acl, "DenyAllInBound")->n_acl_rules, 2);

	/* inbound: vnet to vnet allowed, internet to vnet denied */
	EXPECT(acl, IN, key(TCP, "10.0.5.5", 1, "10.240.1.1", 22),
	       "AllowVnetInBound");
	assert_int_equal(cls(acl, IN, key(TCP, "10.0.5.5", 1, "10.240.1.1",
					  22)), 2 | VFW_ACL_ALLOW);
	EXPECT(acl, IN, key(UDP, "172.16.1.200", 1, "192.168.9.9", 53),
	       "AllowVnetInBound");
	EXPECT(acl, IN, key(TCP, "198.51.100.7", 1, "10.240.1.1", 22),
	       "DenyAllInBound");
	assert_int_equal(cls(acl, IN, key(TCP, "198.51.100.7", 1,
					  "10.240.1.1", 22)), 3);
	EXPECT(acl, IN, key(TCP, "10.240.1.1", 1, "8.8.8.8", 22),
	       "DenyAllInBound");
	/* outbound: to the internet allowed, vnet-vnet allowed */
	EXPECT(acl, OUT, key(TCP, "10.240.1.1", 1, "8.8.8.8", 443),
	       "AllowInternetOutBound");
	EXPECT(acl, OUT, key(TCP, "8.8.4.4", 1, "8.8.8.8", 443),
	       "AllowInternetOutBound");
	EXPECT(acl, OUT, key(TCP, "10.240.1.1", 1, "10.0.5.5", 443),
	       "AllowVnetOutBound");
	EXPECT(acl, OUT, key(TCP, "8.8.8.8", 1, "10.0.5.5", 443),
	       "DenyAllOutBound");
	/* user rules beat the defaults */
	EXPECT(acl, IN, key(TCP, "10.0.5.5", 1, "10.240.0.99", 22), "u0");
	EXPECT(acl, OUT, key(TCP, "10.0.5.5", 1, "10.240.0.99", 22), "u1");
	/* no IPv6 interface: IPv6 in is denied, out to anywhere allowed */
	EXPECT(acl, IN, key(TCP, "fd00::1", 1, "fd00::2", 22),
	       "DenyAllInBound");
	EXPECT(acl, OUT, key(TCP, "fd00::1", 1, "2001:db8::2", 22),
	       "AllowInternetOutBound");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

/* A user rule with a default's number still wins (tie broken by index). */
static void
test_tie_with_default(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_acl *acl;

	add_rule(cfg, "late", 65000, IN, DENY, ANYP, "VirtualNetwork",
		 "10.240.0.0/16", NULL, NULL);
	acl = build_ok(cfg, "tie");
	EXPECT(acl, IN, key(TCP, "10.0.5.5", 1, "10.240.1.1", 22), "late");
	EXPECT(acl, IN, key(TCP, "10.0.5.5", 1, "10.0.1.1", 22),
	       "AllowVnetInBound");
	vfw_acl_free(acl);
	cfg_free(cfg);
}

/* Bursts mixing families, longer than the internal chunk. */
static void
test_burst_mixed(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	struct vfw_flow_key keys[300];
	const struct vfw_flow_key *kp[300];
	uint32_t res[300];
	struct vfw_acl *acl;
	unsigned int i;

	add_rule(cfg, "a4", 100, IN, ALLOW, TCP, "any", "10.240.0.0/16",
		 NULL, "80");
	add_rule(cfg, "a6", 110, IN, ALLOW, TCP, "any", "fd00:240::/64",
		 NULL, "80");
	acl = build_ok(cfg, "burst");
	for (i = 0; i < 300; i++) {
		switch (rnd(4)) {
		case 0:
			keys[i] = key(TCP, "8.8.8.8", 1, "10.240.3.3",
				      rnd(2) ? 80 : 81);
			break;
		case 1:
			keys[i] = key(TCP, "2001:db8::1", 1, "fd00:240::3",
				      rnd(2) ? 80 : 81);
			break;
		case 2:
			keys[i] = key(UDP, "10.0.0.1", 1, "10.240.3.3", 80);
			break;
		default:
			keys[i] = key(UDP, "fd00:1::1", 1, "fd00:240::3", 80);
			break;
		}
		if (i == 299)
			keys[i].af = 0; /* not IP: DenyAll of the direction */
		kp[i] = &keys[i];
	}
	vfw_acl_classify(acl, IN, kp, res, 300);
	for (i = 0; i < 299; i++)
		assert_int_equal(res[i], cls(acl, IN, keys[i]));
	assert_int_equal(res[299], R(acl, "DenyAllInBound"));
	vfw_acl_classify(acl, OUT, kp, res, 300);
	assert_int_equal(res[299], R(acl, "DenyAllOutBound"));
	for (i = 0; i < 299; i++)
		assert_int_equal(res[i], cls(acl, OUT, keys[i]));
	vfw_acl_classify(acl, IN, kp, res, 0);
	vfw_acl_free(acl);
	cfg_free(cfg);
}

/* ---- errors and lifetime ---- */

static bool
errs_contain(const struct vfw_errors *e, const char *s)
{
	unsigned int i;

	for (i = 0; i < e->n; i++)
		if (strstr(e->msg[i], s) != NULL)
			return true;
	return false;
}

static void
test_errors(void **state)
{
	struct vfw_config *cfg = cfg_new(false);
	struct vfw_errors errs;
	struct vfw_acl *acl, *acl2;
	struct vfw_cfg_rule *r;
	unsigned int i;

	vfw_errors_init(&errs);
	r = add_rule(cfg, "bad-set", 100, IN, ALLOW, TCP, "NoSuchSet", "any",
		     NULL, NULL);
	r->loc.line = 12;
	r->loc.col = 5;
	add_rule(cfg, "bad-ports", 110, IN, ALLOW, TCP, "any", "any",
		 NULL, "90-80");
	assert_null(vfw_acl_build(cfg, "errs", &errs));
	assert_int_equal(rte_errno, EINVAL);
	assert_int_equal(errs.n, 2);
	assert_true(errs_contain(&errs, "NoSuchSet"));
	assert_true(errs_contain(&errs, "line 12"));
	assert_true(errs_contain(&errs, "bad-ports"));
	vfw_errors_free(&errs);
	/* errs may be NULL */
	assert_null(vfw_acl_build(cfg, "errs", NULL));
	assert_null(vfw_acl_build(NULL, "errs", NULL));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(vfw_acl_build(cfg, NULL, NULL));
	cfg_free(cfg);

	/* Names must be unique among live ACLs, also when truncated. */
	cfg = cfg_new(true);
	acl = build_ok(cfg, "dup");
	vfw_errors_init(&errs);
	assert_null(vfw_acl_build(cfg, "dup", &errs));
	assert_int_equal(rte_errno, EEXIST);
	assert_true(errs_contain(&errs, "already in use"));
	vfw_errors_free(&errs);
	vfw_acl_free(acl);
	acl = build_ok(cfg, "dup");
	vfw_acl_free(acl);
	acl = build_ok(cfg, "a-rather-long-policy-generation-name-1");
	acl2 = build_ok(cfg, "a-rather-long-policy-generation-name-2");
	vfw_acl_free(acl);
	vfw_acl_free(acl2);
	cfg_free(cfg);

	/* A cross product past the limit is refused, naming the rule. */
	cfg = cfg_new(false);
	r = add_rule(cfg, "huge", 100, IN, ALLOW, TCP, "any", "any", NULL,
		     NULL);
	free(r->source);
	free(r->destination);
	r->n_source = 1100;
	r->n_destination = 1000;
	r->source = calloc(r->n_source, sizeof(*r->source));
	r->destination = calloc(r->n_destination, sizeof(*r->destination));
	assert_non_null(r->source);
	assert_non_null(r->destination);
	for (i = 0; i < r->n_source; i++) {
		/* every other /32, so that nothing merges */
		r->source[i].kind = VFW_ADDR_PREFIX;
		r->source[i].prefix.ip.af = VFW_AF_INET;
		r->source[i].prefix.ip.v4 = htonl(0x0a000000u + 2 * i);
		r->source[i].prefix.len = 32;
		if (i >= r->n_destination)
			continue;
		r->destination[i] = r->source[i];
		r->destination[i].prefix.ip.v4 = htonl(0x0b000000u + 2 * i);
	}
	vfw_errors_init(&errs);
	assert_null(vfw_acl_build(cfg, "huge", &errs));
	assert_int_equal(rte_errno, E2BIG);
	assert_int_equal(errs.n, 1);
	assert_true(errs_contain(&errs, "'huge': expands into 1100000"));
	vfw_errors_free(&errs);

	vfw_acl_free(NULL);
	assert_int_equal(vfw_acl_rule_count(NULL), 0);
	assert_null(vfw_acl_rule(NULL, 0));
	cfg_free(cfg);
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

static void
test_no_leak(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	struct rte_acl_param param;
	struct rte_acl_ctx *squat;
	struct vfw_acl *acl;
	size_t before, with_squat;
	unsigned int i;

	memset(&param, 0, sizeof(param));
	add_set(cfg, "S", "10.240.1.0/24,fd00:240::/64");
	add_rule(cfg, "r", 100, IN, ALLOW, TCP, "Internet", "S", NULL,
		 "80,443");
	/* warm up rte_acl's own one-time allocations */
	acl = build_ok(cfg, "leak");
	vfw_acl_free(acl);
	before = heap_used();
	for (i = 0; i < 3; i++) {
		acl = build_ok(cfg, "leak");
		assert_true(vfw_acl_memory(acl) > 0);
		assert_true(vfw_acl_expanded_count(acl) > 0);
		vfw_acl_free(acl);
	}
	assert_int_equal(heap_used(), before);

	/* A build failing after some contexts exist frees them: squat on
	 * the name of the last context (outbound IPv6) so that it fails. */
	param.name = "leak_o6";
	param.socket_id = SOCKET_ID_ANY;
	param.rule_size = RTE_ACL_RULE_SZ(4);
	param.max_rule_num = 1;
	squat = rte_acl_create(&param);
	assert_non_null(squat);
	with_squat = heap_used();
	assert_null(vfw_acl_build(cfg, "leak", NULL));
	assert_int_equal(rte_errno, EEXIST);
	assert_int_equal(heap_used(), with_squat);
	rte_acl_free(squat);
	assert_int_equal(heap_used(), before);

	/* a failing build frees what it made too */
	add_rule(cfg, "bad", 110, IN, ALLOW, TCP, "any", "Nope", NULL, NULL);
	assert_null(vfw_acl_build(cfg, "leak", NULL));
	assert_int_equal(heap_used(), before);
	cfg_free(cfg);
}

/* ---- randomized check against a brute-force reference ---- */

static const struct {
	const char *name;
	uint32_t prio;
	enum vfw_dir dir;
	enum vfw_access acc;
	const char *src, *dst;
} ref_defaults[] = {
	{"AllowVnetInBound", 65000, IN, ALLOW, "VirtualNetwork",
	 "VirtualNetwork"},
	{"DenyAllInBound", 65500, IN, DENY, "any", "any"},
	{"AllowVnetOutBound", 65000, OUT, ALLOW, "VirtualNetwork",
	 "VirtualNetwork"},
	{"AllowInternetOutBound", 65001, OUT, ALLOW, "any", "Internet"},
	{"DenyAllOutBound", 65500, OUT, DENY, "any", "any"},
};

/* Does a port list cover 0-65535 (an empty list means any)? */
static bool
ref_all_ports(const struct vfw_port_range *pr, unsigned int n)
{
	uint32_t next = 0;
	bool progress = true;
	unsigned int i;

	if (n == 0)
		return true;
	/* sweep: extend the covered prefix 0..next-1 until stuck */
	while (progress && next <= 65535) {
		progress = false;
		for (i = 0; i < n; i++)
			if (pr[i].lo <= next && pr[i].hi >= next) {
				next = (uint32_t)pr[i].hi + 1;
				progress = true;
			}
	}
	return next > 65535;
}

static bool
ref_addr(const struct vfw_config *cfg, const struct vfw_cfg_addr *a,
	 unsigned int n, const struct vfw_ip *ip)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		switch (a[i].kind) {
		case VFW_ADDR_ANY:
			return true;
		case VFW_ADDR_PREFIX:
			if (vfw_prefix_contains(&a[i].prefix, ip))
				return true;
			break;
		case VFW_ADDR_SET:
			if (strcmp(a[i].set, "VirtualNetwork") == 0) {
				if (ref_in_vnet(cfg, ip))
					return true;
			} else if (strcmp(a[i].set, "Internet") == 0) {
				if (!ref_in_vnet(cfg, ip))
					return true;
			} else {
				for (j = 0; j < cfg->n_address_sets; j++)
					if (strcmp(cfg->address_sets[j].name,
						   a[i].set) == 0 &&
					    in_list(cfg->address_sets[j].prefixes,
						    cfg->address_sets[j]
							    .n_prefixes, ip))
						return true;
			}
			break;
		}
	}
	return false;
}

static bool
ref_ports(const struct vfw_port_range *p, unsigned int n, uint16_t port)
{
	unsigned int i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
		if (port >= p[i].lo && port <= p[i].hi)
			return true;
	return false;
}

static bool
ref_match(const struct vfw_config *cfg, const struct vfw_cfg_rule *r,
	  const struct vfw_flow_key *k)
{
	struct vfw_ip s, d;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.af = d.af = k->af;
	memcpy(s.w, k->src, sizeof(s.w));
	memcpy(d.w, k->dst, sizeof(d.w));
	if (r->protocol != VFW_PROTO_ANY) {
		uint8_t p = r->protocol;

		if (p == IPPROTO_ICMP && k->af == VFW_AF_INET6)
			p = IPPROTO_ICMPV6;
		if (k->proto != p)
			return false;
	} else if ((!ref_all_ports(r->source_ports, r->n_source_ports) ||
		    !ref_all_ports(r->destination_ports, r->n_destination_ports)) &&
		   k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) {
		/* ports restrict a protocol-any rule to TCP and UDP */
		return false;
	}
	return ref_ports(r->source_ports, r->n_source_ports,
			 ntohs(k->sport)) &&
	       ref_ports(r->destination_ports, r->n_destination_ports,
			 ntohs(k->dport)) &&
	       ref_addr(cfg, r->source, r->n_source, &s) &&
	       ref_addr(cfg, r->destination, r->n_destination, &d);
}

struct ref {
	const struct vfw_config *cfg; /* with the defaults appended */
	unsigned int *order[VFW_DIR_MAX];
	unsigned int n[VFW_DIR_MAX];
};

static const struct vfw_config *ref_sort_cfg;

static int
ref_cmp(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
	uint32_t px = ref_sort_cfg->rules[x].priority;
	uint32_t py = ref_sort_cfg->rules[y].priority;

	if (px != py)
		return px < py ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* rules = user rules + the defaults, sorted per direction. */
static void
ref_init(struct ref *ref, const struct vfw_config *all)
{
	unsigned int i, d;

	ref->cfg = all;
	for (d = 0; d < VFW_DIR_MAX; d++) {
		ref->order[d] = calloc(all->n_rules, sizeof(unsigned int));
		assert_non_null(ref->order[d]);
		ref->n[d] = 0;
		for (i = 0; i < all->n_rules; i++)
			if (all->rules[i].direction == d)
				ref->order[d][ref->n[d]++] = i;
		ref_sort_cfg = all;
		qsort(ref->order[d], ref->n[d], sizeof(unsigned int), ref_cmp);
	}
}

static uint32_t
ref_classify(const struct ref *ref, enum vfw_dir dir,
	     const struct vfw_flow_key *k)
{
	unsigned int i;

	for (i = 0; i < ref->n[dir]; i++) {
		unsigned int idx = ref->order[dir][i];
		const struct vfw_cfg_rule *r = &ref->cfg->rules[idx];

		if (ref_match(ref->cfg, r, k))
			return idx | (r->access == ALLOW ? VFW_ACL_ALLOW : 0);
	}
	return UINT32_MAX; /* impossible: DenyAll */
}

static void
ref_add_defaults(struct vfw_config *cfg)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(ref_defaults); i++)
		add_rule(cfg, ref_defaults[i].name, ref_defaults[i].prio,
			 ref_defaults[i].dir, ref_defaults[i].acc,
			 ANYP, ref_defaults[i].src, ref_defaults[i].dst, NULL,
			 NULL);
}

static void
ref_free(struct ref *ref)
{
	free(ref->order[0]);
	free(ref->order[1]);
}

/* Random prefix near a few bases so that rules overlap a lot. */
static void
rand_rule_prefix(uint8_t af, struct vfw_prefix *p)
{
	static const char *const b4[] = {
		"10.0.0.0", "10.240.0.0", "172.16.1.0", "192.168.0.0",
		"198.51.100.0", "203.0.113.0", "8.8.0.0", "10.1.0.0",
	};
	static const char *const b6[] = {
		"fd00:1::", "fd00:240::", "fd10::", "2001:db8::", "2001:db8:1::",
	};
	static const uint8_t l4[] = {8, 12, 16, 20, 24, 26, 28, 30, 31, 32};
	static const uint8_t l6[] = {16, 32, 48, 60, 64, 96, 112, 120, 127,
				     128};
	struct vfw_ip base;

	memset(p, 0, sizeof(*p));
	if (af == VFW_AF_INET) {
		assert_int_equal(vfw_ip_parse(b4[rnd(RTE_DIM(b4))], &base), 0);
		base.v4 = htonl(ntohl(base.v4) | (rnd(65536)));
		p->len = l4[rnd(RTE_DIM(l4))];
	} else {
		assert_int_equal(vfw_ip_parse(b6[rnd(RTE_DIM(b6))], &base), 0);
		base.w[2] = rnd(4) ? 0 : (uint32_t)rnd64();
		base.w[3] = htonl(rnd(65536));
		p->len = l6[rnd(RTE_DIM(l6))];
	}
	p->ip = base;
	prefix_edge(p, false, 0, &p->ip);
}

static void
rand_items(struct vfw_cfg_addr **out, unsigned int *n)
{
	static const char *const sets[] = {"S0", "S1", "S2", "S3", "S4"};
	struct vfw_cfg_addr *a;
	unsigned int i;

	*n = 1 + rnd(3);
	a = calloc(*n, sizeof(*a));
	assert_non_null(a);
	for (i = 0; i < *n; i++) {
		unsigned int x = rnd(100);

		if (x < 6) {
			a[i].kind = VFW_ADDR_ANY;
		} else if (x < 56) {
			a[i].kind = VFW_ADDR_PREFIX;
			rand_rule_prefix(VFW_AF_INET, &a[i].prefix);
		} else if (x < 78) {
			a[i].kind = VFW_ADDR_PREFIX;
			rand_rule_prefix(VFW_AF_INET6, &a[i].prefix);
		} else if (x < 94) {
			a[i].kind = VFW_ADDR_SET;
			snprintf(a[i].set, sizeof(a[i].set), "%s",
				 sets[rnd(RTE_DIM(sets))]);
		} else {
			/* Internet is ~60 IPv4 and ~150 IPv6 prefixes here:
			 * keep it rare or the cross products explode. */
			a[i].kind = VFW_ADDR_SET;
			snprintf(a[i].set, sizeof(a[i].set), "%s",
				 x < 99 ? "VirtualNetwork" : "Internet");
		}
	}
	*out = a;
}

static uint16_t
rand_port(void)
{
	static const uint16_t pool[] = {0, 22, 53, 80, 443, 8080, 65535};

	return rnd(3) ? pool[rnd(RTE_DIM(pool))] : (uint16_t)rnd(65536);
}

static void
rand_ports(struct vfw_port_range **out, unsigned int *n)
{
	struct vfw_port_range *p;
	unsigned int i;

	*out = NULL;
	*n = rnd(2) ? 0 : 1 + rnd(2);
	if (*n == 0)
		return;
	p = calloc(*n, sizeof(*p));
	assert_non_null(p);
	for (i = 0; i < *n; i++) {
		p[i].lo = rand_port();
		if (rnd(2)) {
			uint32_t hi = p[i].lo + rnd(3000);

			p[i].hi = (uint16_t)(hi > 65535 ? 65535 : hi);
		} else {
			p[i].hi = p[i].lo;
		}
	}
	*out = p;
}

static void
rand_config_rules(struct vfw_config *cfg, unsigned int nrules)
{
	static const uint8_t protos[] = {ANYP, TCP, UDP, ICMP};
	uint32_t *prio = malloc(64999 * sizeof(*prio));
	unsigned int i;

	assert_non_null(prio);
	/* unique priorities: a shuffled 1..64999 */
	for (i = 0; i < 64999; i++)
		prio[i] = i + 1;
	for (i = 64998; i > 0; i--) {
		unsigned int j = rnd(i + 1);
		uint32_t t = prio[i];

		prio[i] = prio[j];
		prio[j] = t;
	}
	for (i = 0; i < 5; i++) {
		char name[8], list[512] = "";
		unsigned int j, np = 1 + rnd(4);

		for (j = 0; j < np; j++) {
			struct vfw_prefix p;
			char b[64];

			rand_rule_prefix(rnd(3) ? VFW_AF_INET : VFW_AF_INET6,
					 &p);
			strcat(list, j ? "," : "");
			strcat(list, vfw_prefix_str(&p, b, sizeof(b)));
		}
		snprintf(name, sizeof(name), "S%u", i);
		add_set(cfg, name, list);
	}
	cfg->rules = calloc(nrules, sizeof(*cfg->rules));
	assert_non_null(cfg->rules);
	for (i = 0; i < nrules; i++) {
		struct vfw_cfg_rule *r = &cfg->rules[i];

		snprintf(r->name, sizeof(r->name), "rnd%u", i);
		r->priority = prio[i];
		r->direction = rnd(2) ? IN : OUT;
		r->access = rnd(2) ? ALLOW : DENY;
		r->protocol = protos[rnd(RTE_DIM(protos))];
		rand_items(&r->source, &r->n_source);
		rand_items(&r->destination, &r->n_destination);
		rand_ports(&r->source_ports, &r->n_source_ports);
		rand_ports(&r->destination_ports, &r->n_destination_ports);
	}
	cfg->n_rules = nrules;
	free(prio);
}

/* An address that some rule probably mentions, or random. */
static void
rand_key_ip(const struct vfw_config *cfg, uint8_t af, struct vfw_ip *ip)
{
	unsigned int tries;

	if (rnd(10) < 7)
		for (tries = 0; tries < 8; tries++) {
			const struct vfw_cfg_rule *r =
				&cfg->rules[rnd(cfg->n_rules)];
			const struct vfw_cfg_addr *a = rnd(2) ?
				&r->source[rnd(r->n_source)] :
				&r->destination[rnd(r->n_destination)];

			if (a->kind != VFW_ADDR_PREFIX || a->prefix.ip.af != af)
				continue;
			if (rnd(4) == 0)
				rand_edge(&a->prefix, ip);
			else
				rand_in_prefix(&a->prefix, ip);
			return;
		}
	if (rnd(2)) {
		struct vfw_prefix p;

		rand_rule_prefix(af, &p);
		rand_in_prefix(&p, ip);
		return;
	}
	rand_ip(af, ip);
}

static uint16_t
rand_key_port(const struct vfw_config *cfg)
{
	const struct vfw_cfg_rule *r = &cfg->rules[rnd(cfg->n_rules)];
	const struct vfw_port_range *p;

	if (rnd(2) && r->n_destination_ports > 0) {
		p = &r->destination_ports[rnd(r->n_destination_ports)];
		switch (rnd(4)) {
		case 0:
			return p->lo;
		case 1:
			return p->hi;
		case 2:
			return (uint16_t)(p->lo - 1);
		default:
			return (uint16_t)(p->hi + 1);
		}
	}
	return rand_port();
}

/* An address for one rule item, usually inside it. */
static void
item_ip(const struct vfw_config *cfg, const struct vfw_cfg_addr *a,
	uint8_t af, struct vfw_ip *ip)
{
	const struct vfw_prefix *p = NULL;
	unsigned int i, j;

	if (a->kind == VFW_ADDR_PREFIX && a->prefix.ip.af == af) {
		p = &a->prefix;
	} else if (a->kind == VFW_ADDR_SET &&
		   strcmp(a->set, "VirtualNetwork") == 0) {
		for (i = 0; i < 4 && p == NULL; i++) {
			j = rnd(cfg->n_vnet_prefixes);
			if (cfg->vnet_prefixes[j].ip.af == af)
				p = &cfg->vnet_prefixes[j];
		}
	} else if (a->kind == VFW_ADDR_SET) {
		for (i = 0; i < cfg->n_address_sets; i++) {
			const struct vfw_cfg_addrset *s = &cfg->address_sets[i];

			if (strcmp(s->name, a->set) != 0 || s->n_prefixes == 0)
				continue;
			j = rnd(s->n_prefixes);
			if (s->prefixes[j].ip.af == af)
				p = &s->prefixes[j];
		}
	}
	if (p == NULL)
		rand_ip(af, ip);
	else if (rnd(4) == 0)
		rand_edge(p, ip);
	else
		rand_in_prefix(p, ip);
}

static uint16_t
ports_pick(const struct vfw_port_range *p, unsigned int n)
{
	const struct vfw_port_range *r;

	if (n == 0)
		return rand_port();
	r = &p[rnd(n)];
	switch (rnd(6)) {
	case 0:
		return r->lo;
	case 1:
		return r->hi;
	case 2:
		return (uint16_t)(r->lo - 1);
	case 3:
		return (uint16_t)(r->hi + 1);
	default:
		return (uint16_t)(r->lo + rnd(r->hi - r->lo + 1u));
	}
}

/* A key aimed at one random rule (and its edges). */
static void
rule_key(const struct vfw_config *cfg, struct vfw_flow_key *k)
{
	const struct vfw_cfg_rule *r = &cfg->rules[rnd(cfg->n_rules)];
	const struct vfw_cfg_addr *sa = &r->source[rnd(r->n_source)];
	const struct vfw_cfg_addr *da = &r->destination[rnd(r->n_destination)];
	struct vfw_ip s, d;

	if (sa->kind == VFW_ADDR_PREFIX)
		k->af = sa->prefix.ip.af;
	else if (da->kind == VFW_ADDR_PREFIX)
		k->af = da->prefix.ip.af;
	else
		k->af = rnd(2) ? VFW_AF_INET : VFW_AF_INET6;
	k->proto = r->protocol;
	if (k->proto == ICMP && k->af == VFW_AF_INET6)
		k->proto = IPPROTO_ICMPV6;
	if (k->proto == ANYP || rnd(8) == 0)
		k->proto = (uint8_t)(rnd(2) ? TCP : UDP);
	item_ip(cfg, sa, k->af, &s);
	item_ip(cfg, da, k->af, &d);
	memcpy(k->src, s.w, 16);
	memcpy(k->dst, d.w, 16);
	if (k->af == VFW_AF_INET) {
		memset(&k->src[1], 0, 12);
		memset(&k->dst[1], 0, 12);
	}
	k->sport = htons(ports_pick(r->source_ports, r->n_source_ports));
	k->dport = htons(ports_pick(r->destination_ports,
				    r->n_destination_ports));
}

static void
rand_key(const struct vfw_config *cfg, struct vfw_flow_key *k)
{
	static const uint8_t protos[] = {TCP, UDP, ICMP, IPPROTO_ICMPV6, 47,
					 TCP, UDP};
	struct vfw_ip s, d;

	memset(k, 0, sizeof(*k));
	if (rnd(2)) {
		rule_key(cfg, k);
		return;
	}
	k->af = rnd(10) < 6 ? VFW_AF_INET : VFW_AF_INET6;
	k->proto = protos[rnd(RTE_DIM(protos))];
	rand_key_ip(cfg, k->af, &s);
	rand_key_ip(cfg, k->af, &d);
	if (k->af == VFW_AF_INET) {
		k->src[0] = s.v4;
		k->dst[0] = d.v4;
	} else {
		memcpy(k->src, s.w, 16);
		memcpy(k->dst, d.w, 16);
	}
	k->sport = htons(rand_key_port(cfg));
	k->dport = htons(rand_key_port(cfg));
}

static void
key_str(const struct vfw_flow_key *k, char *buf, size_t len)
{
	struct vfw_ip s, d;
	char a[64], b[64];

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.af = d.af = k->af;
	memcpy(s.w, k->src, 16);
	memcpy(d.w, k->dst, 16);
	snprintf(buf, len, "proto %u %s:%u -> %s:%u", k->proto,
		 vfw_ip_str(&s, a, sizeof(a)), ntohs(k->sport),
		 vfw_ip_str(&d, b, sizeof(b)), ntohs(k->dport));
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Compare the compiled ACL with the reference on nkeys random keys of both
 * directions; returns the number of mismatches (printing the first few).
 */
static unsigned int
compare_with_ref(struct vfw_config *cfg, const struct vfw_acl *acl,
		 unsigned int nkeys)
{
	struct vfw_config *all;
	struct vfw_flow_key *keys;
	const struct vfw_flow_key **kp;
	uint32_t *res;
	struct ref ref;
	unsigned int i, bad = 0, dir, hits_user = 0;

	/* The reference sees the defaults as ordinary rules at the end. */
	all = calloc(1, sizeof(*all));
	assert_non_null(all);
	*all = *cfg;
	all->rules = calloc(cfg->n_rules, sizeof(*all->rules));
	assert_non_null(all->rules);
	memcpy(all->rules, cfg->rules, cfg->n_rules * sizeof(*all->rules));
	all->n_rules = cfg->n_rules;
	ref_add_defaults(all);
	ref_init(&ref, all);

	keys = calloc(nkeys, sizeof(*keys));
	kp = calloc(nkeys, sizeof(*kp));
	res = calloc(nkeys, sizeof(*res));
	assert_non_null(keys);
	assert_non_null(kp);
	assert_non_null(res);
	for (i = 0; i < nkeys; i++) {
		rand_key(cfg, &keys[i]);
		kp[i] = &keys[i];
	}
	for (dir = 0; dir < VFW_DIR_MAX; dir++) {
		vfw_acl_classify(acl, dir, kp, res, nkeys);
		for (i = 0; i < nkeys; i++) {
			uint32_t want = ref_classify(&ref, dir, &keys[i]);

			if ((want & VFW_ACL_INDEX_MASK) < cfg->n_rules)
				hits_user++;
			if (res[i] == want)
				continue;
			if (bad++ < 10) {
				char b[160];

				key_str(&keys[i], b, sizeof(b));
				print_error("%s %s: got %#x want %#x\n",
					    dir ? "out" : "in", b, res[i],
					    want);
			}
		}
	}
	print_message("  %u keys x 2 directions, %u matched a user rule, "
		      "%u mismatches\n", nkeys, hits_user, bad);
	/* the keys must exercise user rules, not only the defaults */
	assert_true(hits_user > nkeys / 4);

	/* all->rules[n..] are the defaults we added: free only those. */
	for (i = cfg->n_rules; i < all->n_rules; i++) {
		free(all->rules[i].source);
		free(all->rules[i].destination);
	}
	free(all->rules);
	free(all);
	ref_free(&ref);
	free(keys);
	free(kp);
	free(res);
	return bad;
}

static void
test_random_vs_reference(void **state)
{
	struct vfw_config *cfg = cfg_new(true);
	struct vfw_acl *acl;
	double t0;

	rand_config_rules(cfg, 2000);
	t0 = now_s();
	acl = build_ok(cfg, "random");
	print_message("  2000 random rules -> %" PRIu64 " rte_acl rules, "
		      "built in %.3f s, %.1f MiB\n",
		      vfw_acl_expanded_count(acl), now_s() - t0,
		      vfw_acl_memory(acl) / 1048576.0);
	assert_int_equal(compare_with_ref(cfg, acl, 20000), 0);
	vfw_acl_free(acl);
	cfg_free(cfg);
}

/* ---- scale ---- */

static void
test_scale_10k(void **state)
{
	const unsigned int nrules = 10000, nbench = 1 << 20;
	struct vfw_config *cfg = cfg_new(true);
	struct vfw_flow_key *keys;
	const struct vfw_flow_key **kp;
	uint32_t res[32];
	struct vfw_acl *acl;
	unsigned int i, j;
	double t0, t;

	/* Rules as a large policy has them: a few sources, a couple of
	 * destinations, one port range; one in ten is IPv6. */
	cfg->rules = calloc(nrules, sizeof(*cfg->rules));
	assert_non_null(cfg->rules);
	for (i = 0; i < nrules; i++) {
		struct vfw_cfg_rule *r = &cfg->rules[i];
		uint8_t af = (i / 2) % 10 == 9 ? VFW_AF_INET6 : VFW_AF_INET;

		snprintf(r->name, sizeof(r->name), "r%u", i);
		r->priority = 100 + i;
		r->direction = i % 2 ? OUT : IN;
		r->access = i % 3 ? ALLOW : DENY;
		r->protocol = i % 2 ? TCP : UDP;
		r->n_source = 3;
		r->source = calloc(3, sizeof(*r->source));
		r->n_destination = 2;
		r->destination = calloc(2, sizeof(*r->destination));
		assert_non_null(r->source);
		assert_non_null(r->destination);
		for (j = 0; j < 3; j++) {
			r->source[j].kind = VFW_ADDR_PREFIX;
			rand_prefix(af, &r->source[j].prefix);
			r->source[j].prefix.len = af == VFW_AF_INET ?
				24 + rnd(9) : 48 + rnd(81);
			prefix_edge(&r->source[j].prefix, false, 0,
				    &r->source[j].prefix.ip);
		}
		for (j = 0; j < 2; j++) {
			r->destination[j].kind = VFW_ADDR_PREFIX;
			rand_prefix(af, &r->destination[j].prefix);
			r->destination[j].prefix.len = af == VFW_AF_INET ?
				16 + rnd(17) : 48 + rnd(81);
			prefix_edge(&r->destination[j].prefix, false, 0,
				    &r->destination[j].prefix.ip);
		}
		r->n_destination_ports = 1;
		r->destination_ports = calloc(1, sizeof(*r->destination_ports));
		assert_non_null(r->destination_ports);
		r->destination_ports[0].lo = (uint16_t)rnd(60000);
		r->destination_ports[0].hi =
			(uint16_t)(r->destination_ports[0].lo + rnd(1000));
	}
	cfg->n_rules = nrules;

	t0 = now_s();
	acl = build_ok(cfg, "scale");
	t = now_s() - t0;
	print_message("  %u rules -> %" PRIu64 " rte_acl rules, built in "
		      "%.3f s, memory %.1f MiB\n", nrules,
		      vfw_acl_expanded_count(acl), t,
		      vfw_acl_memory(acl) / 1048576.0);

	/* Spot-check correctness against the reference. */
	assert_int_equal(compare_with_ref(cfg, acl, 4000), 0);

	/* Informational classify cost, bursts of 32, IPv4 and IPv6 mixed. */
	keys = calloc(4096, sizeof(*keys));
	kp = calloc(4096, sizeof(*kp));
	assert_non_null(keys);
	assert_non_null(kp);
	for (i = 0; i < 4096; i++) {
		rand_key(cfg, &keys[i]);
		kp[i] = &keys[i];
	}
	t0 = now_s();
	for (i = 0; i < nbench; i += 32)
		vfw_acl_classify(acl, i & 64 ? OUT : IN, &kp[i & 4095], res,
				 32);
	t = now_s() - t0;
	print_message("  classify: %.1f ns/key (bursts of 32)\n",
		      t * 1e9 / nbench);
	free(keys);
	free(kp);
	vfw_acl_free(acl);
	cfg_free(cfg);
}

int
main(int argc, char **argv)
{
	const char *eal_args[] = {
		"test_acl", "--no-huge", "--no-pci", "-m", "512",
		"--file-prefix=test_acl", "--no-shconf", "--log-level=lib.*:error",
		"--no-telemetry",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_order),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_byte_order),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_address_sets),
		cmocka_unit_test(test_expand_set_exact),
		cmocka_unit_test(test_expand_set_random),
		cmocka_unit_test(test_ipv6_rules),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tie_with_default),
		cmocka_unit_test(test_burst_mixed),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_leak),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_scale_10k),
	};
	const char *seed = getenv("VFW_TEST_SEED");
	int rc;

	(void)argc;
	(void)argv;
	if (seed != NULL)
		rng_state = strtoull(seed, NULL, 0) | 1;
	/* e.g. VFW_TEST_FILTER='test_scale*' to run one test */
	if (getenv("VFW_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("VFW_TEST_FILTER"));
	printf("test_acl: seed %#llx\n", (unsigned long long)rng_state);
	if (rte_eal_init((int)RTE_DIM(eal_args), (char **)(uintptr_t)eal_args)
	    < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
