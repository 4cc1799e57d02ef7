/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prefix set arithmetic: union normalization, complement, and the built-in
 * address sets (VirtualNetwork, Internet) of the NSG model.
 *
 * Every set is turned into sorted, merged, inclusive address intervals on a
 * 128-bit host-order integer (IPv4 uses the low 32 bits) and then cut back
 * into CIDR blocks, largest aligned block first. That greedy cut of an
 * interval is the unique minimal CIDR cover of it, so both the normalized
 * union and the complement (the gaps between the intervals) come out
 * minimal without any trie.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "acl_private.h"

typedef unsigned __int128 u128;

struct range {
	u128 lo;
	u128 hi; /* inclusive: a /0 of IPv6 has no exclusive end */
};

int
acl_pfx_push(struct acl_pfx_list *l, const struct vfw_prefix *p)
{
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 8;
		struct vfw_prefix *np = realloc(l->p, cap * sizeof(*np));

		if (np == NULL)
			return -ENOMEM;
		l->p = np;
		l->cap = cap;
	}
	l->p[l->n++] = *p;
	return 0;
}

int
acl_pfx_append(struct acl_pfx_list *l, const struct acl_pfx_list *src)
{
	unsigned int i;

	for (i = 0; i < src->n; i++)
		if (acl_pfx_push(l, &src->p[i]) < 0)
			return -ENOMEM;
	return 0;
}

void
acl_pfx_list_free(struct acl_pfx_list *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

static u128
width_max(unsigned int bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

/* Host bits of a /len in a bits-wide address space. */
static u128
host_mask(unsigned int len, unsigned int bits)
{
	return len >= bits ? 0 : width_max(bits - len);
}

static u128
ip_to_u128(const struct vfw_ip *ip)
{
	u128 v = 0;
	unsigned int i;

	if (ip->af != VFW_AF_INET6)
		return ntohl(ip->v4);
	for (i = 0; i < 16; i++)
		v = (v << 8) | ip->v6[i];
	return v;
}

static void
u128_to_prefix(u128 v, unsigned int len, uint8_t af, struct vfw_prefix *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	p->ip.af = af;
	p->len = (uint8_t)len;
	if (af != VFW_AF_INET6) {
		p->ip.v4 = htonl((uint32_t)v);
		return;
	}
	for (i = 15; i >= 0; i--) {
		p->ip.v6[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Index of the lowest set bit; v != 0. */
static unsigned int
ctz128(u128 v)
{
	uint64_t lo = (uint64_t)v;

	if (lo != 0)
		return (unsigned int)__builtin_ctzll(lo);
	return 64 + (unsigned int)__builtin_ctzll((uint64_t)(v >> 64));
}

/* floor(log2(v)); v != 0. */
static unsigned int
log2_128(u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);

	if (hi != 0)
		return 127 - (unsigned int)__builtin_clzll(hi);
	return 63 - (unsigned int)__builtin_clzll((uint64_t)v);
}

/* Append the minimal CIDR cover of [lo, hi] to out. */
static int
emit_range(u128 lo, u128 hi, uint8_t af, struct acl_pfx_list *out)
{
	unsigned int bits = acl_af_bits(af);
	struct vfw_prefix p;

	for (;;) {
		u128 span = hi - lo;
		unsigned int k, kspan;

		/* Largest block that starts aligned at lo and ends <= hi. */
		k = lo == 0 ? bits : ctz128(lo);
		kspan = span == width_max(128) ? 128 : log2_128(span + 1);
		if (kspan < k)
			k = kspan;
		if (k > bits)
			k = bits;
		u128_to_prefix(lo, bits - k, af, &p);
		if (acl_pfx_push(out, &p) < 0)
			return -ENOMEM;
		if (k == bits || span == host_mask(bits - k, bits))
			return 0;
		lo += (u128)1 << k;
	}
}

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/*
 * Sorted, disjoint, non-adjacent intervals covering the union of the
 * prefixes of family af in l. *out is malloc'd (may be NULL when *n == 0).
 */
static int
union_ranges(const struct acl_pfx_list *l, uint8_t af, struct range **out,
	     unsigned int *n)
{
	unsigned int bits = acl_af_bits(af);
	unsigned int i, m = 0, k;
	struct range *r;

	*out = NULL;
	*n = 0;
	if (l->n == 0)
		return 0;
	r = malloc(l->n * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const struct vfw_prefix *p = &l->p[i];
		unsigned int len = p->len > bits ? bits : p->len;
		u128 hm = host_mask(len, bits);

		if (p->ip.af != af)
			continue;
		/* Host bits are cleared here too: a sloppy prefix must not
		 * turn into an interval that is not a CIDR block. */
		r[m].lo = ip_to_u128(&p->ip) & ~hm & width_max(bits);
		r[m].hi = r[m].lo | hm;
		m++;
	}
	if (m == 0) {
		free(r);
		return 0;
	}
	qsort(r, m, sizeof(*r), range_cmp);
	k = 0;
	for (i = 1; i < m; i++) {
		/* Merge overlapping and adjacent; hi == max absorbs the rest. */
		if (r[k].hi == width_max(bits) || r[i].lo <= r[k].hi + 1) {
			if (r[i].hi > r[k].hi)
				r[k].hi = r[i].hi;
		} else {
			r[++k] = r[i];
		}
	}
	*out = r;
	*n = k + 1;
	return 0;
}

int
acl_pfx_normalize(struct acl_pfx_list *l, uint8_t af)
{
	struct acl_pfx_list res = {0};
	struct range *r;
	unsigned int i, n;
	int rc;

	rc = union_ranges(l, af, &r, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = emit_range(r[i].lo, r[i].hi, af, &res);
	free(r);
	if (rc < 0) {
		acl_pfx_list_free(&res);
		return rc;
	}
	acl_pfx_list_free(l);
	*l = res;
	return 0;
}

int
acl_pfx_complement(const struct acl_pfx_list *in, uint8_t af,
		   struct acl_pfx_list *out)
{
	unsigned int bits = acl_af_bits(af);
	struct range *r;
	unsigned int i, n;
	u128 start = 0;
	int rc;

	rc = union_ranges(in, af, &r, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (r[i].lo > start)
			rc = emit_range(start, r[i].lo - 1, af, out);
		if (r[i].hi == width_max(bits))
			break;
		start = r[i].hi + 1;
	}
	if (rc == 0 && (n == 0 || r[n - 1].hi != width_max(bits)))
		rc = emit_range(start, width_max(bits), af, out);
	free(r);
	return rc;
}

int
acl_vnet_prefixes(const struct vfw_config *cfg, uint8_t af,
		  struct acl_pfx_list *out)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < VFW_PORT_MAX && rc == 0; i++) {
		const struct vfw_cfg_port *port = &cfg->ports[i];

		/* The subnet is the interface address with its host bits
		 * cleared; union_ranges() clears them. */
		if (af == VFW_AF_INET && port->address.ip.af == VFW_AF_INET)
			rc = acl_pfx_push(out, &port->address);
		else if (af == VFW_AF_INET6 && port->has_address6 &&
			 port->address6.ip.af == VFW_AF_INET6)
			rc = acl_pfx_push(out, &port->address6);
	}
	for (i = 0; i < cfg->n_vnet_prefixes && rc == 0; i++)
		if (cfg->vnet_prefixes[i].ip.af == af)
			rc = acl_pfx_push(out, &cfg->vnet_prefixes[i]);
	if (rc == 0)
		rc = acl_pfx_normalize(out, af);
	return rc;
}

struct vfw_prefix *
vfw_acl_expand_set(const struct vfw_config *cfg, const char *set, uint8_t af,
		   unsigned int *n)
{
	struct acl_pfx_list l = {0};
	unsigned int i, j;
	int rc = 0;

	if (n != NULL)
		*n = 0;
	if (cfg == NULL || set == NULL || n == NULL ||
	    (af != VFW_AF_INET && af != VFW_AF_INET6)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strcmp(set, ACL_SET_VNET) == 0) {
		rc = acl_vnet_prefixes(cfg, af, &l);
	} else if (strcmp(set, ACL_SET_INTERNET) == 0) {
		struct acl_pfx_list vnet = {0};

		rc = acl_vnet_prefixes(cfg, af, &vnet);
		if (rc == 0)
			rc = acl_pfx_complement(&vnet, af, &l);
		acl_pfx_list_free(&vnet);
	} else {
		for (i = 0; i < cfg->n_address_sets; i++)
			if (strcmp(cfg->address_sets[i].name, set) == 0)
				break;
		if (i == cfg->n_address_sets) {
			rte_errno = ENOENT;
			return NULL;
		}
		for (j = 0; j < cfg->address_sets[i].n_prefixes && rc == 0; j++)
			rc = acl_pfx_push(&l, &cfg->address_sets[i].prefixes[j]);
		if (rc == 0)
			rc = acl_pfx_normalize(&l, af);
	}
	if (rc < 0) {
		acl_pfx_list_free(&l);
		rte_errno = -rc;
		return NULL;
	}
	if (l.n == 0) {
		acl_pfx_list_free(&l);
		rte_errno = 0;
		return NULL;
	}
	*n = l.n;
	return l.p;
}
