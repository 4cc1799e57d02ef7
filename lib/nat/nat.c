/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-generation NAT tables: the DNAT map, the compiled SNAT rules and the
 * set of addresses the NAT owns.
 *
 * The DNAT map is a sorted array searched by bisection rather than an
 * rte_hash: it is consulted for new flows only, holds tens to a few
 * thousand entries, needs no hugepage-backed named object per generation
 * (so two generations never fight over a name) and is trivially immutable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "nat_private.h"

/* Default SNAT range, also the hairpin pool's range. */
#define NAT_PORT_LO 1024
#define NAT_PORT_HI 65535

static int
dnat_ent_cmp(const void *a, const void *b)
{
	const struct nat_dnat_ent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->rule < y->rule ? -1 : (x->rule > y->rule);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : (x > y);
}

static void
prefix_compile(struct nat_prefix *out, const struct vfw_prefix *p)
{
	unsigned int i, words = p->ip.af == VFW_AF_INET ? 1 : 4;
	unsigned int len = p->len;

	memset(out, 0, sizeof(*out));
	out->af = p->ip.af;
	for (i = 0; i < words; i++) {
		uint32_t m;

		if (len >= 32)
			m = UINT32_MAX;
		else if (len == 0)
			m = 0;
		else
			m = ~UINT32_C(0) << (32 - len);
		len = len >= 32 ? len - 32 : 0;
		out->mask[i] = rte_cpu_to_be_32(m);
		out->net[i] = p->ip.w[i] & out->mask[i];
	}
}

static inline bool
prefix_match(const struct nat_prefix *p, uint8_t af, const uint32_t *a)
{
	if (p->af != af)
		return false;
	if (af == VFW_AF_INET)
		return (a[0] & p->mask[0]) == p->net[0];
	return (a[0] & p->mask[0]) == p->net[0] &&
	       (a[1] & p->mask[1]) == p->net[1] &&
	       (a[2] & p->mask[2]) == p->net[2] &&
	       (a[3] & p->mask[3]) == p->net[3];
}

static bool
prefix_list_match(const struct nat_prefix *list, uint32_t n, uint8_t af,
		  const uint32_t *a)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (prefix_match(&list[i], af, a))
			return true;
	return false;
}

static void *
nat_zalloc(const char *what, size_t n, size_t size, int socket)
{
	/* rte_zmalloc refuses 0 bytes; an empty table is still a table. */
	return rte_zmalloc_socket(what, RTE_MAX(n * size, (size_t)8), 0,
				  socket);
}

/* Add an error and remember the first errno to return. */
#define BUILD_ERR(cfg, errs, loc, err, ...)                                 \
	do {                                                                \
		if ((errs) != NULL)                                         \
			vfw_errors_add((errs), (cfg)->file, (loc),          \
				       __VA_ARGS__);                        \
		if (rc == 0)                                                \
			rc = (err);                                         \
	} while (0)

static int
build_dnat(struct vfw_nat *nat, const struct vfw_config *cfg,
	   struct vfw_errors *errs)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < cfg->n_dnat; i++) {
		const struct vfw_cfg_dnat *d = &cfg->dnat[i];
		struct vfw_dnat_rule *r = &nat->dnat[i];

		if (d->protocol != IPPROTO_TCP && d->protocol != IPPROTO_UDP)
			BUILD_ERR(cfg, errs, &d->loc, EINVAL,
				  "dnat %s: protocol must be tcp or udp",
				  d->name);
		if (d->destination.af != VFW_AF_INET ||
		    d->translated_address.af != VFW_AF_INET)
			BUILD_ERR(cfg, errs, &d->loc, EINVAL,
				  "dnat %s: only IPv4 addresses are supported",
				  d->name);
		snprintf(r->name, sizeof(r->name), "%s", d->name);
		r->protocol = d->protocol;
		r->dst = d->destination.v4;
		r->dport = rte_cpu_to_be_16(d->destination_port);
		r->to_addr = d->translated_address.v4;
		r->to_port = rte_cpu_to_be_16(d->translated_port);
		nat->dnat_map[i].key = nat_dnat_key(r->protocol, r->dst,
						    r->dport);
		nat->dnat_map[i].rule = i;
	}
	nat->n_dnat = cfg->n_dnat;
	qsort(nat->dnat_map, nat->n_dnat, sizeof(nat->dnat_map[0]),
	      dnat_ent_cmp);
	/* Two rules for one (proto, address, port) would make the lookup
	 * depend on sort order: refuse. */
	for (i = 1; i < nat->n_dnat; i++)
		if (nat->dnat_map[i].key == nat->dnat_map[i - 1].key) {
			const struct vfw_cfg_dnat *a, *b;

			a = &cfg->dnat[nat->dnat_map[i - 1].rule];
			b = &cfg->dnat[nat->dnat_map[i].rule];
			BUILD_ERR(cfg, errs, &b->loc, EINVAL,
				  "dnat %s: same protocol, destination and port as %s",
				  b->name, a->name);
		}
	return -rc;
}

static int
build_snat(struct vfw_nat *nat, const struct vfw_config *cfg,
	   struct vfw_nat_pools *pools, struct vfw_errors *errs)
{
	uint32_t np = 0;
	unsigned int i, j;
	int rc = 0;

	for (i = 0; i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *s = &cfg->snat[i];
		struct vfw_snat_rule *r = &nat->snat[i];
		struct nat_snat_match *m = &nat->snat_match[i];
		uint16_t lo = s->ports.lo, hi = s->ports.hi;

		snprintf(r->name, sizeof(r->name), "%s", s->name);
		/* An unset range in a hand-built config means the default. */
		if (lo == 0 && hi == 0) {
			lo = NAT_PORT_LO;
			hi = NAT_PORT_HI;
		}
		r->lo = lo;
		r->hi = hi;
		if (lo > hi)
			BUILD_ERR(cfg, errs, &s->loc, EINVAL,
				  "snat %s: port range %u-%u is out of order",
				  s->name, lo, hi);
		if (s->n_source == 0)
			BUILD_ERR(cfg, errs, &s->loc, EINVAL,
				  "snat %s: no source prefixes", s->name);
		if (s->n_translated == 0 ||
		    s->n_translated > VFW_NAT_MAX_ADDRS)
			BUILD_ERR(cfg, errs, &s->loc, EINVAL,
				  "snat %s: needs 1 to %u translated addresses",
				  s->name, VFW_NAT_MAX_ADDRS);

		m->src_off = np;
		m->n_src = s->n_source;
		for (j = 0; j < s->n_source; j++)
			prefix_compile(&nat->prefixes[np++], &s->source[j]);
		m->dst_off = np;
		m->n_dst = s->n_destination;
		for (j = 0; j < s->n_destination; j++)
			prefix_compile(&nat->prefixes[np++],
				       &s->destination[j]);
		m->exc_off = np;
		m->n_exc = s->n_exclude;
		for (j = 0; j < s->n_exclude; j++)
			prefix_compile(&nat->prefixes[np++], &s->exclude[j]);

		for (j = 0; j < s->n_translated && j < VFW_NAT_MAX_ADDRS;
		     j++) {
			const struct vfw_ip *a = &s->translated_addresses[j];
			int id;

			if (a->af != VFW_AF_INET) {
				BUILD_ERR(cfg, errs, &s->loc, EINVAL,
					  "snat %s: only IPv4 translated addresses are supported",
					  s->name);
				continue;
			}
			if (lo > hi)
				continue;
			id = vfw_nat_pool_get(pools, a->v4, lo, hi);
			if (id == -ENOSPC) {
				/* Pools live as long as the process (README):
				 * say what the operator can do about it. */
				BUILD_ERR(cfg, errs, &s->loc, ENOSPC,
					  "snat %s: no room for another SNAT pool: vnetfw keeps one per translated address and ports range used since it started, at most %u (restart vnetfw to reclaim them)",
					  s->name, VFW_NAT_MAX_POOLS);
				continue;
			}
			if (id < 0) {
				BUILD_ERR(cfg, errs, &s->loc, -id,
					  "snat %s: no NAT pool for a translated address: %s",
					  s->name, strerror(-id));
				continue;
			}
			r->pool[r->n_pools++] = (uint16_t)id;
			nat->addrs[nat->n_addrs++] =
				rte_be_to_cpu_32(a->v4);
		}
	}
	nat->n_snat = cfg->n_snat;
	return -rc;
}

struct vfw_nat *
vfw_nat_build(const struct vfw_config *cfg, const char *name,
	      struct vfw_nat_pools *pools, struct vfw_errors *errs)
{
	const struct vfw_cfg_port *cl;
	struct vfw_nat *nat;
	size_t n_prefixes = 0, n_addrs;
	unsigned int i, k;
	int socket, rc, rc2;

	if (cfg == NULL || pools == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	socket = pools->socket;
	for (i = 0; i < cfg->n_snat; i++)
		n_prefixes += cfg->snat[i].n_source +
			      cfg->snat[i].n_destination +
			      cfg->snat[i].n_exclude;
	/* DNAT destinations + SNAT addresses + hairpin address */
	n_addrs = cfg->n_dnat + (size_t)cfg->n_snat * VFW_NAT_MAX_ADDRS + 1;

	nat = rte_zmalloc_socket("vfw_nat", sizeof(*nat), RTE_CACHE_LINE_SIZE,
				 socket);
	if (nat == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(nat->name, sizeof(nat->name), "%s", name ? name : "nat");
	nat->hairpin_pool = -1;
	nat->dnat = nat_zalloc("vfw_nat_dnat", cfg->n_dnat,
			       sizeof(nat->dnat[0]), socket);
	nat->dnat_map = nat_zalloc("vfw_nat_dnat_map", cfg->n_dnat,
				   sizeof(nat->dnat_map[0]), socket);
	nat->snat = nat_zalloc("vfw_nat_snat", cfg->n_snat,
			       sizeof(nat->snat[0]), socket);
	nat->snat_match = nat_zalloc("vfw_nat_snat_match", cfg->n_snat,
				     sizeof(nat->snat_match[0]), socket);
	nat->prefixes = nat_zalloc("vfw_nat_prefixes", n_prefixes,
				   sizeof(nat->prefixes[0]), socket);
	nat->addrs = nat_zalloc("vfw_nat_addrs", n_addrs,
				sizeof(nat->addrs[0]), socket);
	if (nat->dnat == NULL || nat->dnat_map == NULL || nat->snat == NULL ||
	    nat->snat_match == NULL || nat->prefixes == NULL ||
	    nat->addrs == NULL) {
		vfw_nat_free(nat);
		rte_errno = ENOMEM;
		return NULL;
	}

	/* Both run to the end so that every error is reported at once. */
	rc = build_dnat(nat, cfg, errs);
	rc2 = build_snat(nat, cfg, pools, errs);
	if (rc == 0)
		rc = rc2;

	/* Hairpinned flows are source-translated to the cluster port's own
	 * address so that the server's replies come back through us. */
	cl = &cfg->ports[VFW_PORT_CLUSTER];
	if (cl->address.ip.af == VFW_AF_INET && cl->address.ip.v4 != 0) {
		int id = vfw_nat_pool_get(pools, cl->address.ip.v4,
					  NAT_PORT_LO, NAT_PORT_HI);

		if (id < 0) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, &cl->loc,
					       "no NAT pool for the hairpin address: %s",
					       strerror(-id));
			if (rc == 0)
				rc = id;
		} else {
			nat->hairpin_pool = id;
			nat->addrs[nat->n_addrs++] =
				rte_be_to_cpu_32(cl->address.ip.v4);
		}
	}
	if (rc < 0) {
		vfw_nat_free(nat);
		rte_errno = -rc;
		return NULL;
	}

	for (i = 0; i < nat->n_dnat; i++)
		nat->addrs[nat->n_addrs++] = rte_be_to_cpu_32(nat->dnat[i].dst);
	qsort(nat->addrs, nat->n_addrs, sizeof(nat->addrs[0]), u32_cmp);
	for (i = 0, k = 0; i < nat->n_addrs; i++)
		if (k == 0 || nat->addrs[k - 1] != nat->addrs[i])
			nat->addrs[k++] = nat->addrs[i];
	nat->n_addrs = k;
	return nat;
}

void
vfw_nat_free(struct vfw_nat *nat)
{
	if (nat == NULL)
		return;
	rte_free(nat->dnat);
	rte_free(nat->dnat_map);
	rte_free(nat->snat);
	rte_free(nat->snat_match);
	rte_free(nat->prefixes);
	rte_free(nat->addrs);
	rte_free(nat);
}

int
vfw_nat_dnat_lookup(const struct vfw_nat *nat, const struct vfw_flow_key *key)
{
	const struct nat_dnat_ent *map = nat->dnat_map;
	uint32_t lo = 0, hi = nat->n_dnat;
	uint64_t k;

	if (key->af != VFW_AF_INET)
		return -1;
	k = nat_dnat_key(key->proto, key->dst[0], key->dport);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (map[mid].key < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < nat->n_dnat && map[lo].key == k)
		return (int)map[lo].rule;
	return -1;
}

int
vfw_nat_snat_match(const struct vfw_nat *nat, const struct vfw_flow_key *key)
{
	unsigned int i;

	/* Translated addresses are IPv4: an IPv6 flow has nothing to map to. */
	if (key->af != VFW_AF_INET)
		return -1;
	for (i = 0; i < nat->n_snat; i++) {
		const struct nat_snat_match *m = &nat->snat_match[i];
		const struct nat_prefix *p = nat->prefixes;

		if (!prefix_list_match(p + m->src_off, m->n_src, key->af,
				       key->src))
			continue;
		if (m->n_dst != 0 &&
		    !prefix_list_match(p + m->dst_off, m->n_dst, key->af,
				       key->dst))
			continue;
		/* exclude names destinations (like Azure Firewall's private
		 * ranges): traffic to them keeps its source address. */
		if (prefix_list_match(p + m->exc_off, m->n_exc, key->af,
				      key->dst))
			continue;
		return (int)i;
	}
	return -1;
}

int
vfw_nat_hairpin_pool(const struct vfw_nat *nat)
{
	return nat->hairpin_pool;
}

bool
vfw_nat_is_nat_address(const struct vfw_nat *nat, uint32_t addr_be)
{
	uint32_t a = rte_be_to_cpu_32(addr_be);
	uint32_t lo = 0, hi = nat->n_addrs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (nat->addrs[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nat->n_addrs && nat->addrs[lo] == a;
}

unsigned int
vfw_nat_dnat_count(const struct vfw_nat *nat)
{
	return nat->n_dnat;
}

const struct vfw_dnat_rule *
vfw_nat_dnat(const struct vfw_nat *nat, unsigned int i)
{
	return i < nat->n_dnat ? &nat->dnat[i] : NULL;
}

unsigned int
vfw_nat_snat_count(const struct vfw_nat *nat)
{
	return nat->n_snat;
}

const struct vfw_snat_rule *
vfw_nat_snat(const struct vfw_nat *nat, unsigned int i)
{
	return i < nat->n_snat ? &nat->snat[i] : NULL;
}
