/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy generations: build, publish with one atomic store, retire after an
 * RCU grace period, carry counters over by name.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "vnetfw/policy.h"

struct vfw_policy_mgr {
	struct vfw_policy *_Atomic current;
	struct rte_rcu_qsbr *qsv;
	unsigned int n_workers;
	uint64_t next_gen;
	uint64_t applied_gen;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	/* publication in flight */
	struct vfw_policy *retiring;
	uint64_t token;
	bool in_flight;
};

struct vfw_policy_mgr *
vfw_policy_mgr_create(unsigned int n_workers, struct rte_rcu_qsbr *qsv,
		      struct vfw_neigh_table *neigh,
		      struct vfw_nat_pools *pools)
{
	struct vfw_policy_mgr *pm;

	if (n_workers == 0 || n_workers > VFW_MAX_WORKERS) {
		rte_errno = EINVAL;
		return NULL;
	}
	pm = calloc(1, sizeof(*pm));
	if (pm == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	pm->qsv = qsv;
	pm->n_workers = n_workers;
	pm->next_gen = 1;
	pm->neigh = neigh;
	pm->pools = pools;
	return pm;
}

void
vfw_policy_mgr_free(struct vfw_policy_mgr *pm)
{
	if (pm == NULL)
		return;
	vfw_policy_free(pm->retiring);
	vfw_policy_free(atomic_load(&pm->current));
	free(pm);
}

static void
counters_free(struct vfw_policy_counters *c)
{
	rte_free(c->rule_hits);
	rte_free(c->route_hits);
	rte_free(c->dnat_hits);
	rte_free(c->snat_hits);
	rte_free(c->snat_fail);
}

static int
counters_alloc(struct vfw_policy_counters *c, unsigned int rules,
	       unsigned int routes, unsigned int dnat, unsigned int snat)
{
	/* +1 so that empty tables still get a valid, cache-aligned array */
	c->rule_hits = rte_zmalloc("vfw_ctr", (rules + 1) * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	c->route_hits = rte_zmalloc("vfw_ctr", (routes + 1) * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	c->dnat_hits = rte_zmalloc("vfw_ctr", (dnat + 1) * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	c->snat_hits = rte_zmalloc("vfw_ctr", (snat + 1) * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	c->snat_fail = rte_zmalloc("vfw_ctr", (snat + 1) * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	if (!c->rule_hits || !c->route_hits || !c->dnat_hits || !c->snat_hits ||
	    !c->snat_fail) {
		counters_free(c);
		return -ENOMEM;
	}
	return 0;
}

void
vfw_policy_free(struct vfw_policy *p)
{
	unsigned int w;

	if (p == NULL)
		return;
	if (p->ctr != NULL) {
		for (w = 0; w < p->n_workers; w++)
			counters_free(&p->ctr[w]);
		rte_free(p->ctr);
	}
	counters_free(&p->base);
	vfw_acl_free(p->acl);
	vfw_nat_free(p->nat);
	vfw_route_table_free(p->rt);
	vfw_config_free(p->cfg);
	free(p);
}

/* Returns false when the table is full (the caller reports it). */
static bool
add_owned(struct vfw_policy *p, const struct vfw_config *cfg, uint32_t ip,
	  unsigned int kind)
{
	unsigned int i;
	int port;

	for (i = 0; i < p->n_owned; i++) {
		if (p->owned[i].ip == ip) {
			p->owned[i].kind |= kind;
			return true;
		}
	}
	if (p->n_owned == VFW_MAX_OWNED)
		return false;
	port = vfw_route_port_of(cfg, ip);
	p->owned[p->n_owned].ip = ip;
	p->owned[p->n_owned].port = port < 0 ? VFW_PORT_VNET : (uint8_t)port;
	p->owned[p->n_owned].kind = (uint8_t)kind;
	p->n_owned++;
	return true;
}

/* Does IPv4 prefix a contain prefix b? */
static bool
prefix4_contains(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	uint32_t m = a->len == 0 ? 0 : rte_cpu_to_be_32(~0u << (32 - a->len));

	return a->len <= b->len && ((a->ip.v4 ^ b->ip.v4) & m) == 0;
}

/*
 * Add an inside prefix, unless one already there holds it (a DNAT backend
 * in the cluster subnet, the same public address in many DNAT rules);
 * those it holds go. Returns false when the table is full.
 */
static bool
add_inside(struct vfw_policy *p, const struct vfw_prefix *pfx)
{
	unsigned int i;

	if (pfx->ip.af != VFW_AF_INET)
		return true;
	for (i = 0; i < p->n_inside; i++)
		if (prefix4_contains(&p->inside[i], pfx))
			return true;
	for (i = 0; i < p->n_inside;) {
		if (prefix4_contains(pfx, &p->inside[i]))
			p->inside[i] = p->inside[--p->n_inside];
		else
			i++;
	}
	if (p->n_inside == VFW_MAX_INSIDE)
		return false;
	p->inside[p->n_inside++] = *pfx;
	return true;
}

/*
 * Owned addresses (ARP, local delivery) and the "inside" prefixes used to
 * pick the worker that owns a flow: the cluster subnet, SNAT sources and
 * every address that NAT puts in packets. Both directions of a flow have
 * the same set of outside addresses, so hashing only those keeps a flow on
 * one worker even when NAT rewrites the inside part.
 *
 * Both tables are fixed (owned is read linearly per new flow, inside per
 * packet with several workers). A policy that does not fit is refused: an
 * address left out would silently not be answered for, or a NAT flow's
 * two directions would meet different workers. With one worker nothing
 * reads inside (no dispatch), and what does not fit there is no error.
 */
static int
derive_addresses(struct vfw_policy *p, const struct vfw_config *cfg,
		 struct vfw_errors *errs)
{
	struct vfw_prefix host = { .len = 32 };
	unsigned int i, j;
	bool own_ok = true, in_ok = true;

	host.ip.af = VFW_AF_INET;
	for (i = 0; i < VFW_PORT_MAX; i++) {
		struct vfw_prefix sub = cfg->ports[i].address;

		p->iface_ip[i] = sub.ip.v4;
		p->bcast[i] = sub.len >= 31 ? 0 :
			sub.ip.v4 | rte_cpu_to_be_32(0xffffffffu >> sub.len);
		own_ok &= add_owned(p, cfg, sub.ip.v4, VFW_OWN_IFACE);
		host.ip.v4 = sub.ip.v4;
		in_ok &= add_inside(p, &host);
	}
	{
		struct vfw_prefix sub = cfg->ports[VFW_PORT_CLUSTER].address;

		if (sub.len < 32 && sub.len > 0)
			sub.ip.v4 &= rte_cpu_to_be_32(~0u << (32 - sub.len));
		in_ok &= add_inside(p, &sub);
	}
	for (i = 0; i < cfg->n_dnat; i++) {
		own_ok &= add_owned(p, cfg, cfg->dnat[i].destination.v4, VFW_OWN_DNAT);
		host.ip.v4 = cfg->dnat[i].destination.v4;
		in_ok &= add_inside(p, &host);
		host.ip.v4 = cfg->dnat[i].translated_address.v4;
		in_ok &= add_inside(p, &host);
	}
	for (i = 0; i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *s = &cfg->snat[i];

		for (j = 0; j < s->n_translated; j++) {
			own_ok &= add_owned(p, cfg, s->translated_addresses[j].v4,
					    VFW_OWN_SNAT);
			host.ip.v4 = s->translated_addresses[j].v4;
			in_ok &= add_inside(p, &host);
		}
		for (j = 0; j < s->n_source; j++)
			in_ok &= add_inside(p, &s->source[j]);
	}
	if (!own_ok)
		vfw_errors_add(errs, cfg->file, NULL,
			       "more than %u distinct addresses to answer for "
			       "(interface addresses, nat.dnat destinations, "
			       "nat.snat translated_addresses)", VFW_MAX_OWNED);
	if (p->n_workers <= 1)
		in_ok = true;
	if (!in_ok)
		vfw_errors_add(errs, cfg->file, NULL,
			       "with %u workers: more than %u distinct NAT prefixes "
			       "(the cluster subnet, nat.snat sources and NAT "
			       "addresses outside them) to keep flows on their "
			       "worker", p->n_workers, VFW_MAX_INSIDE);
	return own_ok && in_ok ? 0 : -E2BIG;
}

struct vfw_policy *
vfw_policy_build(struct vfw_policy_mgr *pm, const struct vfw_config *cfg,
		 struct vfw_errors *errs)
{
	struct vfw_policy *p, *prev;
	char name[32];
	unsigned int w, nr, nrt, nd, ns;

	/* struct vfw_policy holds cache-aligned members, and the compiler
	 * relies on that: AVX-512 code scanning owned[] uses aligned 64-byte
	 * loads, which fault on calloc's 16-byte alignment */
	p = aligned_alloc(alignof(struct vfw_policy), sizeof(*p));
	if (p == NULL)
		goto nomem;
	memset(p, 0, sizeof(*p));
	p->generation = pm->next_gen;
	p->n_workers = pm->n_workers;
	p->cfg = vfw_config_dup(cfg);
	if (p->cfg == NULL)
		goto nomem;

	snprintf(name, sizeof(name), "g%" PRIu64, p->generation);
	p->acl = vfw_acl_build(p->cfg, name, errs);
	if (p->acl == NULL)
		goto fail;
	p->nat = vfw_nat_build(p->cfg, name, pm->pools, errs);
	if (p->nat == NULL)
		goto fail;
	/* Rule and NAT changes leave the routes alone: share the table
	 * (1M routes take seconds and hundreds of MB to build). */
	prev = atomic_load(&pm->current);
	if (prev != NULL && vfw_route_config_equal(prev->cfg, p->cfg))
		p->rt = vfw_route_table_ref(prev->rt);
	else
		p->rt = vfw_route_table_build(p->cfg, name, pm->neigh, errs);
	if (p->rt == NULL)
		goto fail;
	if (derive_addresses(p, p->cfg, errs) < 0)
		goto fail;

	nr = vfw_acl_rule_count(p->acl);
	nrt = vfw_route_count(p->rt);
	nd = vfw_nat_dnat_count(p->nat);
	ns = vfw_nat_snat_count(p->nat);
	p->ctr = rte_zmalloc("vfw_ctr", sizeof(*p->ctr) * p->n_workers,
			     RTE_CACHE_LINE_SIZE);
	if (p->ctr == NULL)
		goto nomem;
	for (w = 0; w < p->n_workers; w++)
		if (counters_alloc(&p->ctr[w], nr, nrt, nd, ns) < 0)
			goto nomem;
	if (counters_alloc(&p->base, nr, nrt, nd, ns) < 0)
		goto nomem;
	pm->next_gen++;
	return p;
nomem:
	vfw_errors_add(errs, NULL, NULL, "out of memory building the policy");
fail:
	vfw_policy_free(p);
	rte_errno = ENOMEM;
	return NULL;
}

static uint64_t
sum(const struct vfw_policy *p, size_t off, unsigned int i)
{
	uint64_t t = (*(uint64_t *const *)((const char *)&p->base + off))[i];
	unsigned int w;

	for (w = 0; w < p->n_workers; w++)
		t += (*(uint64_t *const *)((const char *)&p->ctr[w] + off))[i];
	return t;
}

#define SUMFN(fn, field)                                                     \
	uint64_t fn(const struct vfw_policy *p, unsigned int i)              \
	{                                                                    \
		return sum(p, offsetof(struct vfw_policy_counters, field), i); \
	}
SUMFN(vfw_policy_rule_hits, rule_hits)
SUMFN(vfw_policy_route_hits, route_hits)
SUMFN(vfw_policy_dnat_hits, dnat_hits)
SUMFN(vfw_policy_snat_hits, snat_hits)
SUMFN(vfw_policy_snat_fail, snat_fail)

struct named_rule {
	const struct vfw_acl_rule_info *info;
	unsigned int idx;
};

static int
named_rule_cmp(const void *a, const void *b)
{
	const struct named_rule *x = a, *y = b;

	if (x->info->direction != y->info->direction)
		return (int)x->info->direction - (int)y->info->direction;
	return strcmp(x->info->name, y->info->name);
}

struct named_route {
	const struct vfw_route_entry *e;
	unsigned int idx;
};

static int
named_route_cmp(const void *a, const void *b)
{
	const struct vfw_route_entry *x = ((const struct named_route *)a)->e;
	const struct vfw_route_entry *y = ((const struct named_route *)b)->e;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->prefix.len != y->prefix.len)
		return (int)x->prefix.len - (int)y->prefix.len;
	return memcmp(&x->prefix.ip, &y->prefix.ip, sizeof(x->prefix.ip));
}

/*
 * Route counters follow a route with the same name and prefix. A shared
 * table has the same entries in the same order; otherwise a sorted index
 * keeps this n log n (1M routes).
 */
static void
carry_route_counters(struct vfw_policy *to, const struct vfw_policy *from)
{
	unsigned int i, j, n_to = vfw_route_count(to->rt);
	unsigned int n_from = vfw_route_count(from->rt);
	struct named_route *idx;

	if (to->rt == from->rt) {
		for (i = 0; i < n_to; i++)
			to->base.route_hits[i] += vfw_policy_route_hits(from, i);
		return;
	}
	idx = malloc(sizeof(*idx) * (n_from + 1));
	if (idx == NULL)
		return;
	for (j = 0; j < n_from; j++) {
		idx[j].e = vfw_route_get(from->rt, j);
		idx[j].idx = j;
	}
	qsort(idx, n_from, sizeof(*idx), named_route_cmp);
	for (i = 0; i < n_to; i++) {
		struct named_route key = { vfw_route_get(to->rt, i), 0 };
		const struct named_route *hit =
			bsearch(&key, idx, n_from, sizeof(*idx), named_route_cmp);

		if (hit != NULL)
			to->base.route_hits[i] += vfw_policy_route_hits(from, hit->idx);
	}
	free(idx);
}

/*
 * Fold the retired generation's totals into the new one, matched by name.
 * Rules are matched through a sorted index (n log n): an atomic replace of
 * 10,000 renamed rules would otherwise be 10^8 name comparisons.
 */
static void
carry_counters(struct vfw_policy *to, const struct vfw_policy *from)
{
	unsigned int i, j, n_to, n_from;
	struct named_rule *idx;

	n_to = vfw_acl_rule_count(to->acl);
	n_from = vfw_acl_rule_count(from->acl);
	idx = malloc(sizeof(*idx) * (n_from + 1));
	if (idx != NULL) {
		for (j = 0; j < n_from; j++) {
			idx[j].info = vfw_acl_rule(from->acl, j);
			idx[j].idx = j;
		}
		qsort(idx, n_from, sizeof(*idx), named_rule_cmp);
		for (i = 0; i < n_to; i++) {
			struct named_rule key = { vfw_acl_rule(to->acl, i), 0 };
			const struct named_rule *hit =
				bsearch(&key, idx, n_from, sizeof(*idx), named_rule_cmp);

			if (hit != NULL)
				to->base.rule_hits[i] += vfw_policy_rule_hits(from, hit->idx);
		}
		free(idx);
	}
	carry_route_counters(to, from);
	n_to = vfw_nat_dnat_count(to->nat);
	n_from = vfw_nat_dnat_count(from->nat);
	for (i = 0; i < n_to; i++)
		for (j = 0; j < n_from; j++)
			if (strcmp(vfw_nat_dnat(to->nat, i)->name,
				   vfw_nat_dnat(from->nat, j)->name) == 0) {
				to->base.dnat_hits[i] += vfw_policy_dnat_hits(from, j);
				break;
			}
	n_to = vfw_nat_snat_count(to->nat);
	n_from = vfw_nat_snat_count(from->nat);
	for (i = 0; i < n_to; i++)
		for (j = 0; j < n_from; j++)
			if (strcmp(vfw_nat_snat(to->nat, i)->name,
				   vfw_nat_snat(from->nat, j)->name) == 0) {
				to->base.snat_hits[i] += vfw_policy_snat_hits(from, j);
				to->base.snat_fail[i] += vfw_policy_snat_fail(from, j);
				break;
			}
}

int
vfw_policy_publish(struct vfw_policy_mgr *pm, struct vfw_policy *p)
{
	struct vfw_policy *old;

	if (pm->in_flight)
		return -EBUSY;
	old = atomic_exchange_explicit(&pm->current, p, memory_order_acq_rel);
	pm->retiring = old;
	pm->in_flight = true;
	if (pm->qsv != NULL)
		pm->token = rte_rcu_qsbr_start(pm->qsv);
	return 0;
}

static void
retire(struct vfw_policy_mgr *pm)
{
	struct vfw_policy *cur = atomic_load(&pm->current);

	if (pm->retiring != NULL) {
		carry_counters(cur, pm->retiring);
		vfw_policy_free(pm->retiring);
		pm->retiring = NULL;
	}
	pm->applied_gen = cur->generation;
	pm->in_flight = false;
}

int
vfw_policy_poll(struct vfw_policy_mgr *pm)
{
	if (!pm->in_flight)
		return 1;
	if (pm->qsv != NULL && rte_rcu_qsbr_check(pm->qsv, pm->token, false) != 1)
		return 0;
	retire(pm);
	return 1;
}

void
vfw_policy_sync(struct vfw_policy_mgr *pm)
{
	if (!pm->in_flight)
		return;
	if (pm->qsv != NULL)
		rte_rcu_qsbr_check(pm->qsv, pm->token, true);
	retire(pm);
}

struct vfw_policy *
vfw_policy_current(struct vfw_policy_mgr *pm)
{
	return atomic_load_explicit(&pm->current, memory_order_acquire);
}

uint64_t
vfw_policy_applied_generation(const struct vfw_policy_mgr *pm)
{
	return pm->applied_gen;
}

struct vfw_policy *
vfw_policy_acquire(struct vfw_policy_mgr *pm)
{
	return atomic_load_explicit(&pm->current, memory_order_acquire);
}

struct rte_rcu_qsbr *
vfw_policy_qsv(struct vfw_policy_mgr *pm)
{
	return pm->qsv;
}
