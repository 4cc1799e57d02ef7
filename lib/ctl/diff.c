/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a new config changes against the running one, by item name: the
 * "diff" of validate and apply replies. Items are matched by name (by
 * address for neighbors) after sorting, so large rule sets cost
 * O(n log n); an item is "changed" when any field but its source location
 * differs, or, for SNAT rules (tried in order), its place among the others.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_private.h"

static bool
prefix_eq(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	return a->len == b->len && vfw_ip_equal(&a->ip, &b->ip);
}

static bool
prefixes_eq(const struct vfw_prefix *a, unsigned int na,
	    const struct vfw_prefix *b, unsigned int nb)
{
	unsigned int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!prefix_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool
ranges_eq(const struct vfw_port_range *a, unsigned int na,
	  const struct vfw_port_range *b, unsigned int nb)
{
	unsigned int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].lo != b[i].lo || a[i].hi != b[i].hi)
			return false;
	return true;
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
		    !prefix_eq(&a[i].prefix, &b[i].prefix))
			return false;
		if (a[i].kind == VFW_ADDR_SET && strcmp(a[i].set, b[i].set) != 0)
			return false;
	}
	return true;
}

static bool
mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return memcmp(a->addr_bytes, b->addr_bytes, sizeof(a->addr_bytes)) == 0;
}

static bool
rule_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_rule *a = pa, *b = pb;

	return a->priority == b->priority && a->direction == b->direction &&
	       a->access == b->access && a->protocol == b->protocol &&
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
route_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_route *a = pa, *b = pb;

	return prefix_eq(&a->prefix, &b->prefix) && a->type == b->type &&
	       a->has_next_hop == b->has_next_hop &&
	       (!a->has_next_hop || vfw_ip_equal(&a->next_hop, &b->next_hop));
}

static bool
dnat_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_dnat *a = pa, *b = pb;

	return a->protocol == b->protocol &&
	       vfw_ip_equal(&a->destination, &b->destination) &&
	       a->destination_port == b->destination_port &&
	       vfw_ip_equal(&a->translated_address, &b->translated_address) &&
	       a->translated_port == b->translated_port;
}

static bool
snat_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_snat *a = pa, *b = pb;
	unsigned int i;

	if (!prefixes_eq(a->source, a->n_source, b->source, b->n_source) ||
	    !prefixes_eq(a->destination, a->n_destination, b->destination,
			 b->n_destination) ||
	    !prefixes_eq(a->exclude, a->n_exclude, b->exclude, b->n_exclude) ||
	    a->n_translated != b->n_translated ||
	    a->ports.lo != b->ports.lo || a->ports.hi != b->ports.hi)
		return false;
	for (i = 0; i < a->n_translated; i++)
		if (!vfw_ip_equal(&a->translated_addresses[i],
				  &b->translated_addresses[i]))
			return false;
	return true;
}

static bool
neigh_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_neighbor *a = pa, *b = pb;

	return mac_eq(&a->mac, &b->mac);
}

static bool
set_eq(const void *pa, const void *pb)
{
	const struct vfw_cfg_addrset *a = pa, *b = pb;

	return prefixes_eq(a->prefixes, a->n_prefixes, b->prefixes,
			   b->n_prefixes);
}

static bool
port_eq(const struct vfw_cfg_port *a, const struct vfw_cfg_port *b)
{
	return strcmp(a->device, b->device) == 0 &&
	       prefix_eq(&a->address, &b->address) &&
	       a->has_address6 == b->has_address6 &&
	       (!a->has_address6 || prefix_eq(&a->address6, &b->address6)) &&
	       a->has_gateway == b->has_gateway &&
	       (!a->has_gateway || vfw_ip_equal(&a->gateway, &b->gateway)) &&
	       a->has_mac == b->has_mac && (!a->has_mac || mac_eq(&a->mac, &b->mac)) &&
	       a->mtu == b->mtu;
}

static bool
conntrack_eq(const struct vfw_cfg_conntrack *a, const struct vfw_cfg_conntrack *b)
{
	const struct vfw_cfg_timeouts *x = &a->timeouts, *y = &b->timeouts;

	return a->max_sessions == b->max_sessions &&
	       a->tcp_loose == b->tcp_loose && x->tcp_syn == y->tcp_syn &&
	       x->tcp_established == y->tcp_established &&
	       x->tcp_closing == y->tcp_closing && x->udp == y->udp &&
	       x->icmp == y->icmp;
}

/* One item of a list to compare: its key and where it is. */
struct key {
	char name[VFW_NAME_MAX];
	const void *item;
};

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct key *)a)->name,
		      ((const struct key *)b)->name);
}

/* A kind of item: how to name it and compare two of the same name. */
struct kind {
	const void *(*at)(const struct vfw_config *cfg, unsigned int i);
	unsigned int (*count)(const struct vfw_config *cfg);
	void (*name)(const void *item, char *buf);
	bool (*eq)(const void *a, const void *b);
};

#define LIST_KIND(kind, arr, n, type)                                          \
	static const void *kind##_at(const struct vfw_config *c, unsigned int i)  \
	{ return &c->arr[i]; }                                                 \
	static unsigned int kind##_count(const struct vfw_config *c)           \
	{ return c->n; }                                                       \
	static void kind##_name(const void *it, char *buf)                     \
	{ snprintf(buf, VFW_NAME_MAX, "%s", ((const type *)it)->name); }

LIST_KIND(rule, rules, n_rules, struct vfw_cfg_rule)
LIST_KIND(route, routes, n_routes, struct vfw_cfg_route)
LIST_KIND(dnat, dnat, n_dnat, struct vfw_cfg_dnat)
LIST_KIND(snat, snat, n_snat, struct vfw_cfg_snat)
LIST_KIND(set, address_sets, n_address_sets, struct vfw_cfg_addrset)

static const void *
neigh_at(const struct vfw_config *c, unsigned int i)
{
	return &c->neighbors[i];
}

static unsigned int
neigh_count(const struct vfw_config *c)
{
	return c->n_neighbors;
}

static void
neigh_name(const void *it, char *buf)
{
	vfw_ip_str(&((const struct vfw_cfg_neighbor *)it)->address, buf,
		   VFW_NAME_MAX);
}

static const struct kind k_rule = { rule_at, rule_count, rule_name, rule_eq };
static const struct kind k_route = { route_at, route_count, route_name, route_eq };
static const struct kind k_dnat = { dnat_at, dnat_count, dnat_name, dnat_eq };
static const struct kind k_snat = { snat_at, snat_count, snat_name, snat_eq };
static const struct kind k_neigh = { neigh_at, neigh_count, neigh_name, neigh_eq };
static const struct kind k_set = { set_at, set_count, set_name, set_eq };

/* Collects the names of one section ("nat" spans dnat and snat). */
struct section {
	FILE *added, *removed, *changed;
	char *buf[3];
	size_t len[3];
	unsigned int n[3];
};

static void
note(struct section *s, int which, const char *name)
{
	FILE *f = which == 0 ? s->added : which == 1 ? s->removed : s->changed;

	if (f == NULL)
		return;
	if (s->n[which]++ > 0)
		putc(',', f);
	ctl_json_str(f, name);
}

static struct key *
keys_of(const struct kind *k, const struct vfw_config *cfg, unsigned int *n)
{
	unsigned int i, cnt = k->count(cfg);
	struct key *keys = calloc(cnt ? cnt : 1, sizeof(*keys));

	*n = 0;
	if (keys == NULL)
		return NULL;
	for (i = 0; i < cnt; i++) {
		keys[i].item = k->at(cfg, i);
		k->name(keys[i].item, keys[i].name);
	}
	qsort(keys, cnt, sizeof(*keys), key_cmp);
	*n = cnt;
	return keys;
}

static void
compare(struct section *s, const struct kind *k, const struct vfw_config *a,
	const struct vfw_config *b)
{
	unsigned int na, nb, i = 0, j = 0;
	struct key *ka = keys_of(k, a, &na), *kb = keys_of(k, b, &nb);
	int r;

	while (ka != NULL && kb != NULL && (i < na || j < nb)) {
		if (i == na)
			r = 1;
		else if (j == nb)
			r = -1;
		else
			r = strcmp(ka[i].name, kb[j].name);
		if (r < 0) {
			note(s, 1, ka[i++].name);
		} else if (r > 0) {
			note(s, 0, kb[j++].name);
		} else {
			if (!k->eq(ka[i].item, kb[j].item))
				note(s, 2, ka[i].name);
			i++;
			j++;
		}
	}
	free(ka);
	free(kb);
}

/*
 * SNAT rules are tried in order and the first match wins, so a rule that
 * moved among the others changes what it does although none of its fields
 * did: it is "changed" too. A rule moved when the number of rules before
 * it that both configs have differs between them.
 */
static void
snat_order(struct section *s, const struct vfw_config *a,
	   const struct vfw_config *b)
{
	unsigned int na, nb, i = 0, j = 0, before = 0, *in_a, *rank_a;
	struct key *ka = keys_of(&k_snat, a, &na), *kb = keys_of(&k_snat, b, &nb);
	int r;

	in_a = malloc((b->n_snat ? b->n_snat : 1) * sizeof(*in_a));
	rank_a = malloc((a->n_snat ? a->n_snat : 1) * sizeof(*rank_a));
	if (ka == NULL || kb == NULL || in_a == NULL || rank_a == NULL)
		goto out;
	for (j = 0; j < nb; j++)
		in_a[j] = UINT32_MAX;
	for (i = 0; i < na; i++)
		rank_a[i] = UINT32_MAX;
	for (i = 0, j = 0; i < na && j < nb;) {
		r = strcmp(ka[i].name, kb[j].name);
		if (r < 0) {
			i++;
		} else if (r > 0) {
			j++;
		} else {
			unsigned int ia = (unsigned int)((const struct vfw_cfg_snat *)
							  ka[i].item - a->snat);
			unsigned int ib = (unsigned int)((const struct vfw_cfg_snat *)
							  kb[j].item - b->snat);

			in_a[ib] = ia;
			rank_a[ia] = 0; /* in both */
			i++;
			j++;
		}
	}
	for (i = 0; i < na; i++)
		if (rank_a[i] != UINT32_MAX)
			rank_a[i] = before++;
	for (j = 0, before = 0; j < nb; j++) {
		if (in_a[j] == UINT32_MAX)
			continue;
		/* A rule whose fields differ is listed already. */
		if (rank_a[in_a[j]] != before &&
		    snat_eq(&a->snat[in_a[j]], &b->snat[j]))
			note(s, 2, b->snat[j].name);
		before++;
	}
out:
	free(ka);
	free(kb);
	free(in_a);
	free(rank_a);
}

static void
section_open(struct section *s)
{
	memset(s, 0, sizeof(*s));
	s->added = open_memstream(&s->buf[0], &s->len[0]);
	s->removed = open_memstream(&s->buf[1], &s->len[1]);
	s->changed = open_memstream(&s->buf[2], &s->len[2]);
}

static unsigned int
section_close(struct section *s, FILE *f, const char *title, bool first)
{
	static const char *const what[3] = { "added", "removed", "changed" };
	FILE **fs[3] = { &s->added, &s->removed, &s->changed };
	unsigned int w;

	fprintf(f, "%s\"%s\":{", first ? "" : ",", title);
	for (w = 0; w < 3; w++) {
		if (*fs[w] != NULL)
			fclose(*fs[w]);
		fprintf(f, "%s\"%s\":[%s]", w ? "," : "", what[w],
			s->buf[w] != NULL ? s->buf[w] : "");
		free(s->buf[w]);
	}
	putc('}', f);
	return s->n[0] + s->n[1] + s->n[2];
}

unsigned int
ctl_diff_write(FILE *f, const struct vfw_config *a, const struct vfw_config *b)
{
	struct section s;
	unsigned int n = 0, m = 0, r;
	const char *settings[4];

	putc('{', f);
	section_open(&s);
	compare(&s, &k_rule, a, b);
	n += section_close(&s, f, "rules", true);
	section_open(&s);
	compare(&s, &k_route, a, b);
	n += section_close(&s, f, "routes", false);
	section_open(&s);
	compare(&s, &k_dnat, a, b);
	compare(&s, &k_snat, a, b);
	snat_order(&s, a, b);
	n += section_close(&s, f, "nat", false);
	section_open(&s);
	compare(&s, &k_neigh, a, b);
	n += section_close(&s, f, "neighbors", false);
	section_open(&s);
	compare(&s, &k_set, a, b);
	n += section_close(&s, f, "address_sets", false);

	/* Sections without named items are reported as a whole. */
	for (r = 0; r < VFW_PORT_MAX; r++)
		if (!port_eq(&a->ports[r], &b->ports[r]))
			break;
	if (r < VFW_PORT_MAX)
		settings[m++] = "ports";
	if (!prefixes_eq(a->vnet_prefixes, a->n_vnet_prefixes,
			 b->vnet_prefixes, b->n_vnet_prefixes))
		settings[m++] = "vnet_prefixes";
	if (!conntrack_eq(&a->conntrack, &b->conntrack))
		settings[m++] = "conntrack";
	if (strcmp(a->control.socket, b->control.socket) != 0 ||
	    a->control.mode != b->control.mode)
		settings[m++] = "control";
	fputs(",\"settings\":[", f);
	for (r = 0; r < m; r++)
		fprintf(f, "%s\"%s\"", r ? "," : "", settings[r]);
	fputs("]}", f);
	return n + m;
}
