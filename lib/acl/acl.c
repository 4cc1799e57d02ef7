/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Security rules (NSG semantics) compiled into four rte_acl contexts
 * (inbound/outbound x IPv4/IPv6), and the burst classifier.
 *
 * Build: every rule (user rules in config order, then the five defaults) is
 * checked, ranked within its direction, and expanded per address family
 * into the cross product sources x destinations x source port ranges x
 * destination port ranges, after each list has been normalized (merged,
 * deduplicated), so "any" next to a prefix costs nothing. All expansions of
 * one rule share its rte_acl priority and userdata (rule index + 1).
 *
 * Priority: rte_acl returns the match with the highest priority. Rather
 * than RTE_ACL_MAX_PRIORITY - nsg_priority we rank the rules of a direction
 * by (NSG priority, rule index) and give rank r the priority
 * RTE_ACL_MAX_PRIORITY - r. Distinct NSG priorities therefore never tie,
 * and even a duplicate priority (which the config validator rejects) gets a
 * deterministic winner, the earlier rule, instead of rte_acl's
 * unspecified one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "acl_private.h"

/* Context index by family. */
enum {
	ACL_FAM4 = 0,
	ACL_FAM6 = 1,
	ACL_FAM_MAX
};

/* rte_acl fields. The protocol byte must come first (rte_acl requires a
 * 1-byte first field); every other input_index groups 4 bytes. */
enum {
	F4_PROTO,
	F4_SRC,
	F4_DST,
	F4_SPORT,
	F4_DPORT,
	F4_NUM
};

enum {
	F6_PROTO,
	F6_SRC0,
	F6_DST0 = F6_SRC0 + 4,
	F6_SPORT = F6_DST0 + 4,
	F6_DPORT,
	F6_NUM
};

RTE_ACL_RULE_DEF(acl_rule4, F4_NUM);
RTE_ACL_RULE_DEF(acl_rule6, F6_NUM);

#define KOFF(f) ((uint32_t)offsetof(struct vfw_flow_key, f))

/* The flow key is the rte_acl input as is; pin the layout we rely on. */
_Static_assert(offsetof(struct vfw_flow_key, proto) == 0, "proto @0");
_Static_assert(offsetof(struct vfw_flow_key, src) == 4, "src @4");
_Static_assert(offsetof(struct vfw_flow_key, dst) == 20, "dst @20");
_Static_assert(offsetof(struct vfw_flow_key, sport) == 36, "sport @36");
_Static_assert(offsetof(struct vfw_flow_key, dport) == 38, "dport @38");

static const struct rte_acl_field_def acl_defs4[F4_NUM] = {
	[F4_PROTO] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, F4_PROTO, 0, KOFF(proto)},
	[F4_SRC] = {RTE_ACL_FIELD_TYPE_MASK, 4, F4_SRC, 1, KOFF(src)},
	[F4_DST] = {RTE_ACL_FIELD_TYPE_MASK, 4, F4_DST, 2, KOFF(dst)},
	/* Both ports are one 4-byte input, as rte_acl reads 4 at a time. */
	[F4_SPORT] = {RTE_ACL_FIELD_TYPE_RANGE, 2, F4_SPORT, 3, KOFF(sport)},
	[F4_DPORT] = {RTE_ACL_FIELD_TYPE_RANGE, 2, F4_DPORT, 3, KOFF(dport)},
};

/* IPv6 address word w of the key's src/dst as its own 4-byte input. */
#define W6(fld, first, w) {RTE_ACL_FIELD_TYPE_MASK, 4, (first) + (w), \
			   (first) + (w), KOFF(fld) + 4 * (w)}

static const struct rte_acl_field_def acl_defs6[F6_NUM] = {
	[F6_PROTO] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, F6_PROTO, 0, KOFF(proto)},
	[F6_SRC0 + 0] = W6(src, F6_SRC0, 0),
	[F6_SRC0 + 1] = W6(src, F6_SRC0, 1),
	[F6_SRC0 + 2] = W6(src, F6_SRC0, 2),
	[F6_SRC0 + 3] = W6(src, F6_SRC0, 3),
	[F6_DST0 + 0] = W6(dst, F6_DST0, 0),
	[F6_DST0 + 1] = W6(dst, F6_DST0, 1),
	[F6_DST0 + 2] = W6(dst, F6_DST0, 2),
	[F6_DST0 + 3] = W6(dst, F6_DST0, 3),
	[F6_SPORT] = {RTE_ACL_FIELD_TYPE_RANGE, 2, F6_SPORT, 9, KOFF(sport)},
	[F6_DPORT] = {RTE_ACL_FIELD_TYPE_RANGE, 2, F6_DPORT, 9, KOFF(dport)},
};
#undef W6

/*
 * Upper bound on rte_acl rules per struct vfw_acl. Each IPv6 rule costs
 * ~200 bytes of rte_malloc memory kept in the context, plus the trie; a
 * config that expands past this is almost certainly a mistake (e.g. a long
 * list crossed with another long list) and is refused with E2BIG.
 */
#define ACL_MAX_EXPANDED (1u << 20)

/*
 * rte_acl_build() memory limit for the run-time tries. 0 means "no limit"
 * and makes rte_acl split rules into tries early (smallest node limit),
 * which keeps builds of 10k+ wildcard-heavy rules fast and small at a
 * modest classify cost. See README.md for measurements.
 */
#define ACL_BUILD_MAX_SIZE 0

/* Keys per rte_acl_classify() call; a worker burst (32) fits in one. */
#define ACL_CLASSIFY_CHUNK 64

#define ACL_N_DEFAULTS 5

/* The NSG default rules, appended after the user rules in this order. */
static const struct acl_default {
	const char *name;
	uint32_t priority;
	enum vfw_dir dir;
	enum vfw_access access;
	const char *src; /* address set, NULL = any */
	const char *dst;
} acl_defaults[ACL_N_DEFAULTS] = {
	{"AllowVnetInBound", 65000, VFW_DIR_IN, VFW_ACCESS_ALLOW,
	 ACL_SET_VNET, ACL_SET_VNET},
	{"DenyAllInBound", 65500, VFW_DIR_IN, VFW_ACCESS_DENY, NULL, NULL},
	{"AllowVnetOutBound", 65000, VFW_DIR_OUT, VFW_ACCESS_ALLOW,
	 ACL_SET_VNET, ACL_SET_VNET},
	{"AllowInternetOutBound", 65001, VFW_DIR_OUT, VFW_ACCESS_ALLOW,
	 NULL, ACL_SET_INTERNET},
	{"DenyAllOutBound", 65500, VFW_DIR_OUT, VFW_ACCESS_DENY, NULL, NULL},
};

/* Offsets of DenyAll{In,Out}Bound among the defaults. */
static const unsigned int acl_deny_all[VFW_DIR_MAX] = {1, 4};

struct vfw_acl {
	/* Read by workers on every burst. */
	struct rte_acl_ctx *ctx[VFW_DIR_MAX][ACL_FAM_MAX];
	/*
	 * Per direction: rte_acl userdata -> classify result. Slot 0 (no
	 * match) holds that direction's DenyAll result, so a miss needs no
	 * branch on the hot path.
	 */
	uint32_t *result[VFW_DIR_MAX];

	/* Control plane only. */
	struct vfw_acl_rule_info *rules;
	unsigned int n_rules;
	uint32_t n_expanded[VFW_DIR_MAX][ACL_FAM_MAX];
	uint64_t expanded;
	size_t memory;
};

/* Expanded rte_acl rules of one context, before rte_acl_add_rules(). */
struct acl_rbuf {
	uint8_t *mem;
	uint32_t n;
	uint32_t cap;
	uint32_t rule_sz;
};

/* Build state; lives for one vfw_acl_build() call. */
struct acl_bld {
	const struct vfw_config *cfg;
	struct vfw_errors *errs;
	unsigned int nerr;
	unsigned int n_rules;

	/* The defaults as config rules, so one code path handles all. */
	struct vfw_cfg_rule defaults[ACL_N_DEFAULTS];
	struct vfw_cfg_addr default_addr[ACL_N_DEFAULTS][2];

	/* User address sets by name (bsearch), normalized lazily. */
	const struct vfw_cfg_addrset **set_by_name;
	struct acl_pfx_list *set_pfx; /* [set * ACL_FAM_MAX + fam] */
	bool *set_ready;

	/* Built-in sets and "any", per family. */
	struct acl_pfx_list vnet[ACL_FAM_MAX];
	struct acl_pfx_list inet[ACL_FAM_MAX];
	struct acl_pfx_list any[ACL_FAM_MAX];

	int32_t *prio; /* rte_acl priority per rule index */
	struct acl_rbuf rb[VFW_DIR_MAX][ACL_FAM_MAX];
	uint64_t expanded;

	/* Scratch, reused for every rule. */
	struct acl_pfx_list src;
	struct acl_pfx_list dst;
	struct vfw_port_range *sp, *dp;
	unsigned int nsp, ndp, sp_cap, dp_cap;
};

static const char *const dir_name[VFW_DIR_MAX] = {"inbound", "outbound"};
static const char *const fam_name[ACL_FAM_MAX] = {"IPv4", "IPv6"};

static uint8_t
fam_af(unsigned int fam)
{
	return fam == ACL_FAM6 ? VFW_AF_INET6 : VFW_AF_INET;
}

static const struct vfw_cfg_rule *
rule_at(const struct acl_bld *b, unsigned int idx)
{
	if (idx < b->cfg->n_rules)
		return &b->cfg->rules[idx];
	return &b->defaults[idx - b->cfg->n_rules];
}

static void __attribute__((format(printf, 3, 4)))
bld_error(struct acl_bld *b, const struct vfw_cfg_rule *r, const char *fmt,
	  ...)
{
	char msg[384];
	va_list ap;

	b->nerr++;
	if (b->errs == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r != NULL)
		vfw_errors_add(b->errs, b->cfg->file, &r->loc,
			       "security rule '%s': %s", r->name, msg);
	else
		vfw_errors_add(b->errs, b->cfg->file, NULL, "%s", msg);
}

static int
set_name_cmp(const void *a, const void *b)
{
	const struct vfw_cfg_addrset *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
set_key_cmp(const void *key, const void *elem)
{
	const struct vfw_cfg_addrset *const *s = elem;

	return strcmp(key, (*s)->name);
}

static bool
set_is_builtin(const char *name)
{
	return strcmp(name, ACL_SET_VNET) == 0 ||
	       strcmp(name, ACL_SET_INTERNET) == 0;
}

/* Index of the user set called name, or -1. */
static int
set_find(const struct acl_bld *b, const char *name)
{
	const struct vfw_cfg_addrset **s;

	if (b->cfg->n_address_sets == 0)
		return -1;
	s = bsearch(name, b->set_by_name, b->cfg->n_address_sets,
		    sizeof(b->set_by_name[0]), set_key_cmp);
	if (s == NULL)
		return -1;
	return (int)(*s - b->cfg->address_sets);
}

/* Prefixes of a set for one family; NULL with *rc = 0 for unknown names. */
static const struct acl_pfx_list *
set_prefixes(struct acl_bld *b, const char *name, unsigned int fam, int *rc)
{
	const struct vfw_cfg_addrset *s;
	struct acl_pfx_list *l;
	unsigned int i;
	int idx;

	*rc = 0;
	if (strcmp(name, ACL_SET_VNET) == 0)
		return &b->vnet[fam];
	if (strcmp(name, ACL_SET_INTERNET) == 0)
		return &b->inet[fam];
	idx = set_find(b, name);
	if (idx < 0)
		return NULL;
	l = &b->set_pfx[idx * ACL_FAM_MAX + fam];
	if (b->set_ready[idx * ACL_FAM_MAX + fam])
		return l;
	s = &b->cfg->address_sets[idx];
	for (i = 0; i < s->n_prefixes && *rc == 0; i++)
		*rc = acl_pfx_push(l, &s->prefixes[i]);
	if (*rc == 0)
		*rc = acl_pfx_normalize(l, fam_af(fam));
	if (*rc < 0)
		return NULL;
	b->set_ready[idx * ACL_FAM_MAX + fam] = true;
	return l;
}

static int
bld_init(struct acl_bld *b, const struct vfw_config *cfg,
	 struct vfw_errors *errs)
{
	unsigned int i, fam;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->errs = errs;
	b->n_rules = cfg->n_rules + ACL_N_DEFAULTS;

	for (i = 0; i < ACL_N_DEFAULTS; i++) {
		const struct acl_default *d = &acl_defaults[i];
		struct vfw_cfg_rule *r = &b->defaults[i];
		struct vfw_cfg_addr *a = b->default_addr[i];

		snprintf(r->name, sizeof(r->name), "%s", d->name);
		r->priority = d->priority;
		r->direction = d->dir;
		r->access = d->access;
		r->protocol = VFW_PROTO_ANY;
		a[0].kind = d->src != NULL ? VFW_ADDR_SET : VFW_ADDR_ANY;
		a[1].kind = d->dst != NULL ? VFW_ADDR_SET : VFW_ADDR_ANY;
		if (d->src != NULL)
			snprintf(a[0].set, sizeof(a[0].set), "%s", d->src);
		if (d->dst != NULL)
			snprintf(a[1].set, sizeof(a[1].set), "%s", d->dst);
		r->source = &a[0];
		r->n_source = 1;
		r->destination = &a[1];
		r->n_destination = 1;
	}

	if (cfg->n_address_sets > 0) {
		b->set_by_name = calloc(cfg->n_address_sets,
					sizeof(b->set_by_name[0]));
		b->set_pfx = calloc((size_t)cfg->n_address_sets * ACL_FAM_MAX,
				    sizeof(b->set_pfx[0]));
		b->set_ready = calloc((size_t)cfg->n_address_sets * ACL_FAM_MAX,
				      sizeof(b->set_ready[0]));
		if (b->set_by_name == NULL || b->set_pfx == NULL ||
		    b->set_ready == NULL)
			return -ENOMEM;
		for (i = 0; i < cfg->n_address_sets; i++)
			b->set_by_name[i] = &cfg->address_sets[i];
		qsort(b->set_by_name, cfg->n_address_sets,
		      sizeof(b->set_by_name[0]), set_name_cmp);
	}

	for (fam = 0; fam < ACL_FAM_MAX && rc == 0; fam++) {
		struct vfw_prefix all = {.ip = {.af = fam_af(fam)}, .len = 0};

		rc = acl_pfx_push(&b->any[fam], &all);
		if (rc == 0)
			rc = acl_vnet_prefixes(cfg, fam_af(fam), &b->vnet[fam]);
		if (rc == 0)
			rc = acl_pfx_complement(&b->vnet[fam], fam_af(fam),
						&b->inet[fam]);
	}

	b->prio = calloc(b->n_rules, sizeof(b->prio[0]));
	if (b->prio == NULL)
		return -ENOMEM;
	for (i = 0; i < VFW_DIR_MAX; i++) {
		b->rb[i][ACL_FAM4].rule_sz = sizeof(struct acl_rule4);
		b->rb[i][ACL_FAM6].rule_sz = sizeof(struct acl_rule6);
	}
	return rc;
}

static void
bld_free(struct acl_bld *b)
{
	unsigned int i, j;

	if (b->set_pfx != NULL)
		for (i = 0; i < b->cfg->n_address_sets * ACL_FAM_MAX; i++)
			acl_pfx_list_free(&b->set_pfx[i]);
	free(b->set_pfx);
	free(b->set_ready);
	free(b->set_by_name);
	for (i = 0; i < ACL_FAM_MAX; i++) {
		acl_pfx_list_free(&b->vnet[i]);
		acl_pfx_list_free(&b->inet[i]);
		acl_pfx_list_free(&b->any[i]);
	}
	for (i = 0; i < VFW_DIR_MAX; i++)
		for (j = 0; j < ACL_FAM_MAX; j++)
			free(b->rb[i][j].mem);
	acl_pfx_list_free(&b->src);
	acl_pfx_list_free(&b->dst);
	free(b->sp);
	free(b->dp);
	free(b->prio);
}

/* Check one address item; errors are reported, not returned. */
static void
check_addr(struct acl_bld *b, const struct vfw_cfg_rule *r,
	   const struct vfw_cfg_addr *a)
{
	switch (a->kind) {
	case VFW_ADDR_ANY:
		break;
	case VFW_ADDR_PREFIX:
		if ((a->prefix.ip.af != VFW_AF_INET &&
		     a->prefix.ip.af != VFW_AF_INET6) ||
		    a->prefix.len > acl_af_bits(a->prefix.ip.af))
			bld_error(b, r, "invalid prefix");
		break;
	case VFW_ADDR_SET:
		if (!set_is_builtin(a->set) && set_find(b, a->set) < 0)
			bld_error(b, r, "unknown address set '%s'", a->set);
		break;
	default:
		bld_error(b, r, "invalid address item");
		break;
	}
}

static void
check_rule(struct acl_bld *b, const struct vfw_cfg_rule *r)
{
	unsigned int i;

	if ((unsigned int)r->direction >= VFW_DIR_MAX)
		bld_error(b, r, "invalid direction");
	if (r->access != VFW_ACCESS_ALLOW && r->access != VFW_ACCESS_DENY)
		bld_error(b, r, "invalid access");
	if (r->n_source == 0 || r->source == NULL)
		bld_error(b, r, "empty source list");
	if (r->n_destination == 0 || r->destination == NULL)
		bld_error(b, r, "empty destination list");
	for (i = 0; r->source != NULL && i < r->n_source; i++)
		check_addr(b, r, &r->source[i]);
	for (i = 0; r->destination != NULL && i < r->n_destination; i++)
		check_addr(b, r, &r->destination[i]);
	for (i = 0; i < r->n_source_ports; i++)
		if (r->source_ports[i].lo > r->source_ports[i].hi)
			bld_error(b, r, "source port range out of order");
	for (i = 0; i < r->n_destination_ports; i++)
		if (r->destination_ports[i].lo > r->destination_ports[i].hi)
			bld_error(b, r,
				  "destination port range out of order");
}

/*
 * Rank rules per direction by (NSG priority, index); the best gets
 * RTE_ACL_MAX_PRIORITY. Indexes order the tie-break, so user rules (lower
 * indexes) beat a default of the same number.
 */
struct rank_ent {
	uint32_t priority;
	uint32_t idx;
};

static int
rank_cmp(const void *a, const void *b)
{
	const struct rank_ent *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
rank_rules(struct acl_bld *b)
{
	struct rank_ent *e;
	unsigned int i, dir, n;

	e = malloc(b->n_rules * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	for (dir = 0; dir < VFW_DIR_MAX; dir++) {
		n = 0;
		for (i = 0; i < b->n_rules; i++) {
			const struct vfw_cfg_rule *r = rule_at(b, i);

			if ((unsigned int)r->direction == dir) {
				e[n].priority = r->priority;
				e[n].idx = i;
				n++;
			}
		}
		qsort(e, n, sizeof(*e), rank_cmp);
		for (i = 0; i < n; i++)
			b->prio[e[i].idx] = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
	}
	free(e);
	return 0;
}

/* Union of a rule side's items for one family, normalized, into out. */
static int
side_prefixes(struct acl_bld *b, const struct vfw_cfg_addr *items,
	      unsigned int n, unsigned int fam, struct acl_pfx_list *out)
{
	const struct acl_pfx_list *l;
	unsigned int i;
	int rc = 0;

	out->n = 0;
	for (i = 0; i < n && rc == 0; i++) {
		switch (items[i].kind) {
		case VFW_ADDR_ANY:
			rc = acl_pfx_append(out, &b->any[fam]);
			break;
		case VFW_ADDR_PREFIX:
			if (items[i].prefix.ip.af == fam_af(fam))
				rc = acl_pfx_push(out, &items[i].prefix);
			break;
		case VFW_ADDR_SET:
			l = set_prefixes(b, items[i].set, fam, &rc);
			if (l != NULL)
				rc = acl_pfx_append(out, l);
			break;
		}
	}
	if (rc == 0)
		rc = acl_pfx_normalize(out, fam_af(fam));
	return rc;
}

static int
port_cmp(const void *a, const void *b)
{
	const struct vfw_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/* Sorted, merged copy of a port list; empty means 0-65535. */
static int
ports_normalize(const struct vfw_port_range *in, unsigned int n,
		struct vfw_port_range **buf, unsigned int *cap,
		unsigned int *out_n)
{
	struct vfw_port_range *p;
	unsigned int i, k;

	if (*cap < n || *cap == 0) {
		unsigned int c = n > 0 ? n : 1;

		p = realloc(*buf, c * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		*buf = p;
		*cap = c;
	}
	p = *buf;
	if (n == 0) {
		p[0].lo = 0;
		p[0].hi = UINT16_MAX;
		*out_n = 1;
		return 0;
	}
	memcpy(p, in, n * sizeof(*p));
	qsort(p, n, sizeof(*p), port_cmp);
	k = 0;
	for (i = 1; i < n; i++) {
		if ((uint32_t)p[i].lo <= (uint32_t)p[k].hi + 1) {
			if (p[i].hi > p[k].hi)
				p[k].hi = p[i].hi;
		} else {
			p[++k] = p[i];
		}
	}
	*out_n = k + 1;
	return 0;
}

static void *
rbuf_reserve(struct acl_rbuf *rb, uint32_t n)
{
	if (rb->n + n > rb->cap) {
		uint32_t cap = rb->cap ? rb->cap : 256;
		uint8_t *m;

		while (cap < rb->n + n)
			cap *= 2;
		m = realloc(rb->mem, (size_t)cap * rb->rule_sz);
		if (m == NULL)
			return NULL;
		rb->mem = m;
		rb->cap = cap;
	}
	return rb->mem + (size_t)rb->n * rb->rule_sz;
}

/* Bits of word w (0..3) of an IPv6 /len: the rte_acl per-field mask. */
static uint32_t
word_len(unsigned int len, unsigned int w)
{
	if (len <= w * 32)
		return 0;
	return len - w * 32 >= 32 ? 32 : len - w * 32;
}

static void
emit4(struct acl_rule4 *ar, const struct rte_acl_rule_data *data,
      uint8_t proto, const struct vfw_prefix *s, const struct vfw_prefix *d,
      const struct vfw_port_range *sp, const struct vfw_port_range *dp)
{
	memset(ar, 0, sizeof(*ar));
	ar->data = *data;
	/* rte_acl takes rule values in host order (and reads the input,
	 * here the network-order key, most significant byte first). */
	ar->field[F4_PROTO].value.u8 = proto;
	ar->field[F4_PROTO].mask_range.u8 = proto != VFW_PROTO_ANY ? 0xff : 0;
	ar->field[F4_SRC].value.u32 = ntohl(s->ip.v4);
	ar->field[F4_SRC].mask_range.u32 = s->len;
	ar->field[F4_DST].value.u32 = ntohl(d->ip.v4);
	ar->field[F4_DST].mask_range.u32 = d->len;
	ar->field[F4_SPORT].value.u16 = sp->lo;
	ar->field[F4_SPORT].mask_range.u16 = sp->hi;
	ar->field[F4_DPORT].value.u16 = dp->lo;
	ar->field[F4_DPORT].mask_range.u16 = dp->hi;
}

static void
emit6(struct acl_rule6 *ar, const struct rte_acl_rule_data *data,
      uint8_t proto, const struct vfw_prefix *s, const struct vfw_prefix *d,
      const struct vfw_port_range *sp, const struct vfw_port_range *dp)
{
	unsigned int w;

	memset(ar, 0, sizeof(*ar));
	ar->data = *data;
	ar->field[F6_PROTO].value.u8 = proto;
	ar->field[F6_PROTO].mask_range.u8 = proto != VFW_PROTO_ANY ? 0xff : 0;
	for (w = 0; w < 4; w++) {
		ar->field[F6_SRC0 + w].value.u32 = ntohl(s->ip.w[w]);
		ar->field[F6_SRC0 + w].mask_range.u32 = word_len(s->len, w);
		ar->field[F6_DST0 + w].value.u32 = ntohl(d->ip.w[w]);
		ar->field[F6_DST0 + w].mask_range.u32 = word_len(d->len, w);
	}
	ar->field[F6_SPORT].value.u16 = sp->lo;
	ar->field[F6_SPORT].mask_range.u16 = sp->hi;
	ar->field[F6_DPORT].value.u16 = dp->lo;
	ar->field[F6_DPORT].mask_range.u16 = dp->hi;
}

/* Write the cross product of the scratch lists (one family) at out. */
static void
emit_cross(const struct acl_bld *b, unsigned int fam,
	   const struct rte_acl_rule_data *data, uint8_t proto, uint8_t *out,
	   uint32_t rule_sz)
{
	unsigned int s, d, i, j;

	for (s = 0; s < b->src.n; s++)
		for (d = 0; d < b->dst.n; d++)
			for (i = 0; i < b->nsp; i++)
				for (j = 0; j < b->ndp; j++, out += rule_sz)
					if (fam == ACL_FAM4)
						emit4((void *)out, data, proto,
						      &b->src.p[s], &b->dst.p[d],
						      &b->sp[i], &b->dp[j]);
					else
						emit6((void *)out, data, proto,
						      &b->src.p[s], &b->dst.p[d],
						      &b->sp[i], &b->dp[j]);
}

/* Expand rule idx into the rule buffers of its direction. */
static int
expand_rule(struct acl_bld *b, unsigned int idx,
	    struct vfw_acl_rule_info *info)
{
	const struct vfw_cfg_rule *r = rule_at(b, idx);
	struct rte_acl_rule_data data = {
		.category_mask = 1,
		.priority = b->prio[idx],
		.userdata = idx + 1, /* 0 is rte_acl's "no match" */
	};
	unsigned int fam;
	int rc;

	rc = ports_normalize(r->source_ports, r->n_source_ports, &b->sp,
			     &b->sp_cap, &b->nsp);
	if (rc == 0)
		rc = ports_normalize(r->destination_ports,
				     r->n_destination_ports, &b->dp,
				     &b->dp_cap, &b->ndp);
	for (fam = 0; fam < ACL_FAM_MAX && rc == 0; fam++) {
		struct acl_rbuf *rb = &b->rb[r->direction][fam];
		uint8_t proto = r->protocol;
		bool ports_only;
		uint64_t cnt;
		uint8_t *out;

		rc = side_prefixes(b, r->source, r->n_source, fam, &b->src);
		if (rc == 0)
			rc = side_prefixes(b, r->destination, r->n_destination,
					   fam, &b->dst);
		if (rc < 0)
			break;
		/* A rule whose items are all of the other family (or an
		 * empty set) has nothing to match in this family. */
		if (b->src.n == 0 || b->dst.n == 0)
			continue;
		/* Ports exist only for TCP and UDP: a protocol-any rule that
		 * names ports matches those two, never ICMP (whose key
		 * carries the echo id where ports would be) or others. */
		ports_only = proto == VFW_PROTO_ANY &&
			     (b->nsp != 1 || b->sp[0].lo != 0 || b->sp[0].hi != 65535 ||
			      b->ndp != 1 || b->dp[0].lo != 0 || b->dp[0].hi != 65535);
		cnt = (uint64_t)b->src.n * b->dst.n * b->nsp * b->ndp *
		      (ports_only ? 2 : 1);
		if (b->expanded + cnt > ACL_MAX_EXPANDED) {
			bld_error(b, r, "expands into %" PRIu64 " rte_acl "
				  "rules, %" PRIu64 " with the rules before "
				  "it, over the limit of %u", cnt,
				  b->expanded + cnt, ACL_MAX_EXPANDED);
			return -E2BIG;
		}
		out = rbuf_reserve(rb, (uint32_t)cnt);
		if (out == NULL)
			return -ENOMEM;
		if (fam == ACL_FAM6 && proto == IPPROTO_ICMP)
			proto = IPPROTO_ICMPV6;
		if (ports_only) {
			emit_cross(b, fam, &data, IPPROTO_TCP, out, rb->rule_sz);
			emit_cross(b, fam, &data, IPPROTO_UDP,
				   out + (size_t)(cnt / 2) * rb->rule_sz, rb->rule_sz);
		} else {
			emit_cross(b, fam, &data, proto, out, rb->rule_sz);
		}
		rb->n += (uint32_t)cnt;
		b->expanded += cnt;
		info->n_acl_rules += (uint32_t)cnt;
	}
	return rc;
}

/* 32-bit FNV-1a, to shorten long ACL names into unique context names. */
static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

/*
 * rte_acl context name: "<name>_<i|o><4|6>" in RTE_ACL_NAMESIZE. rte_acl
 * truncates silently and, worse, rte_acl_create() hands back an existing
 * context of the same name, so long names are shortened with a hash of
 * the full name and existing names are refused by the caller.
 */
static void
ctx_name(char *buf, const char *name, unsigned int dir, unsigned int fam)
{
	const size_t room = RTE_ACL_NAMESIZE - 1 - 3;
	char base[RTE_ACL_NAMESIZE - 3];

	if (strlen(name) <= room)
		snprintf(base, sizeof(base), "%s", name);
	else
		snprintf(base, sizeof(base), "%.*s~%08x", (int)(room - 9),
			 name, fnv1a(name));
	snprintf(buf, RTE_ACL_NAMESIZE, "%s_%c%c", base,
		 dir == VFW_DIR_IN ? 'i' : 'o', fam == ACL_FAM4 ? '4' : '6');
}

static int
build_ctx(struct vfw_acl *acl, struct acl_bld *b, const char *name,
	  unsigned int dir, unsigned int fam)
{
	struct acl_rbuf *rb = &b->rb[dir][fam];
	struct rte_acl_config bcfg;
	struct rte_acl_param param;
	char nm[RTE_ACL_NAMESIZE];
	char what[160];
	int rc;

	ctx_name(nm, name, dir, fam);
	snprintf(what, sizeof(what), "acl '%s': %s %s context '%s' (%u rules)",
		 name, dir_name[dir], fam_name[fam], nm, rb->n);
	if (rte_acl_find_existing(nm) != NULL) {
		bld_error(b, NULL, "%s: name already in use", what);
		return -EEXIST;
	}
	memset(&param, 0, sizeof(param));
	param.name = nm;
	param.socket_id = SOCKET_ID_ANY;
	param.rule_size = rb->rule_sz;
	param.max_rule_num = rb->n;
	acl->ctx[dir][fam] = rte_acl_create(&param);
	if (acl->ctx[dir][fam] == NULL) {
		/* The name was free, so it is memory (rte_acl_create does
		 * not always set rte_errno). */
		bld_error(b, NULL, "%s: rte_acl_create failed: out of memory",
			  what);
		return -ENOMEM;
	}
	rc = rte_acl_add_rules(acl->ctx[dir][fam],
			       (const struct rte_acl_rule *)rb->mem, rb->n);
	if (rc < 0) {
		bld_error(b, NULL, "%s: rte_acl_add_rules failed", what);
		return rc;
	}
	memset(&bcfg, 0, sizeof(bcfg));
	bcfg.num_categories = 1;
	if (fam == ACL_FAM4) {
		bcfg.num_fields = F4_NUM;
		memcpy(bcfg.defs, acl_defs4, sizeof(acl_defs4));
	} else {
		bcfg.num_fields = F6_NUM;
		memcpy(bcfg.defs, acl_defs6, sizeof(acl_defs6));
	}
	bcfg.max_size = ACL_BUILD_MAX_SIZE;

	rc = rte_acl_build(acl->ctx[dir][fam], &bcfg);
	if (rc != 0) {
		bld_error(b, NULL, "%s: rte_acl_build failed: %s", what,
			  strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	acl->n_expanded[dir][fam] = rb->n;
	/* The rules now live in the context; drop our copy early. */
	free(rb->mem);
	rb->mem = NULL;
	return 0;
}

/* Bytes allocated from every rte_malloc heap. */
static size_t
heap_allocated(void)
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

void
vfw_acl_free(struct vfw_acl *acl)
{
	unsigned int dir, fam;

	if (acl == NULL)
		return;
	for (dir = 0; dir < VFW_DIR_MAX; dir++)
		for (fam = 0; fam < ACL_FAM_MAX; fam++)
			rte_acl_free(acl->ctx[dir][fam]);
	rte_free(acl->result[VFW_DIR_IN]); /* one block for both */
	free(acl->rules);
	rte_free(acl);
}

struct vfw_acl *
vfw_acl_build(const struct vfw_config *cfg, const char *name,
	      struct vfw_errors *errs)
{
	struct vfw_acl *acl = NULL;
	struct acl_bld b;
	size_t heap0 = heap_allocated(), heap1;
	unsigned int i, dir, fam;
	uint32_t *res;
	int rc;

	if (cfg == NULL || name == NULL || name[0] == '\0' ||
	    (cfg->n_rules > 0 && cfg->rules == NULL) ||
	    cfg->n_rules > VFW_ACL_INDEX_MASK - ACL_N_DEFAULTS) {
		if (errs != NULL)
			vfw_errors_add(errs, NULL, NULL,
				       "acl: invalid build arguments");
		rte_errno = EINVAL;
		return NULL;
	}
	rc = bld_init(&b, cfg, errs);
	if (rc < 0)
		goto fail;

	for (i = 0; i < b.n_rules; i++)
		check_rule(&b, rule_at(&b, i));
	if (b.nerr > 0) {
		rc = -EINVAL;
		goto fail;
	}
	rc = rank_rules(&b);
	if (rc < 0)
		goto fail;

	acl = rte_zmalloc("vfw_acl", sizeof(*acl), RTE_CACHE_LINE_SIZE);
	if (acl == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	acl->n_rules = b.n_rules;
	acl->rules = calloc(b.n_rules, sizeof(acl->rules[0]));
	res = rte_zmalloc("vfw_acl_result",
			  (size_t)VFW_DIR_MAX * (b.n_rules + 1) * sizeof(*res),
			  RTE_CACHE_LINE_SIZE);
	if (acl->rules == NULL || res == NULL) {
		rte_free(res);
		rc = -ENOMEM;
		goto fail;
	}
	for (dir = 0; dir < VFW_DIR_MAX; dir++) {
		acl->result[dir] = res + dir * (b.n_rules + 1);
		acl->result[dir][0] = cfg->n_rules + acl_deny_all[dir];
	}

	for (i = 0; i < b.n_rules; i++) {
		const struct vfw_cfg_rule *r = rule_at(&b, i);
		struct vfw_acl_rule_info *info = &acl->rules[i];
		uint32_t out = i | (r->access == VFW_ACCESS_ALLOW ?
				    VFW_ACL_ALLOW : 0);

		snprintf(info->name, sizeof(info->name), "%s", r->name);
		info->priority = r->priority;
		info->direction = r->direction;
		info->access = r->access;
		info->protocol = r->protocol;
		info->is_default = i >= cfg->n_rules;
		info->cfg_index = info->is_default ? -1 : (int32_t)i;
		if (info->is_default) {
			info->default_src = acl_defaults[i - cfg->n_rules].src;
			info->default_dst = acl_defaults[i - cfg->n_rules].dst;
		}
		for (dir = 0; dir < VFW_DIR_MAX; dir++)
			acl->result[dir][i + 1] = out;
		rc = expand_rule(&b, i, info);
		if (rc < 0)
			goto fail;
	}

	for (dir = 0; dir < VFW_DIR_MAX; dir++)
		for (fam = 0; fam < ACL_FAM_MAX; fam++) {
			/* rte_acl cannot build an empty context; a miss in
			 * a missing one is the DenyAll result anyway. */
			if (b.rb[dir][fam].n == 0)
				continue;
			rc = build_ctx(acl, &b, name, dir, fam);
			if (rc < 0)
				goto fail;
		}
	acl->expanded = b.expanded;
	bld_free(&b);
	/* Approximate if another thread uses rte_malloc meanwhile. */
	heap1 = heap_allocated();
	acl->memory = (heap1 > heap0 ? heap1 - heap0 : 0) +
		      acl->n_rules * sizeof(acl->rules[0]);
	return acl;

fail:
	if (rc == -ENOMEM && b.nerr == 0 && errs != NULL)
		vfw_errors_add(errs, cfg->file, NULL,
			       "acl '%s': out of memory", name);
	bld_free(&b);
	vfw_acl_free(acl);
	rte_errno = -rc;
	return NULL;
}

/* Classify n (<= ACL_CLASSIFY_CHUNK) keys of one family; scatter results. */
static inline void
classify_fam(const struct rte_acl_ctx *ctx, const uint32_t *result,
	     const uint8_t **data, const uint16_t *pos, unsigned int n,
	     uint32_t *out)
{
	uint32_t ud[ACL_CLASSIFY_CHUNK];
	unsigned int i;

	if (unlikely(ctx == NULL) ||
	    unlikely(rte_acl_classify(ctx, data, ud, n, 1) != 0))
		memset(ud, 0, n * sizeof(ud[0]));
	for (i = 0; i < n; i++)
		out[pos[i]] = result[ud[i]];
}

void
vfw_acl_classify(const struct vfw_acl *acl, enum vfw_dir dir,
		 const struct vfw_flow_key *const *keys, uint32_t *results,
		 unsigned int n)
{
	const uint8_t *data[ACL_FAM_MAX][ACL_CLASSIFY_CHUNK];
	uint16_t pos[ACL_FAM_MAX][ACL_CLASSIFY_CHUNK];
	const uint32_t *result;
	unsigned int base, i, m, cnt[ACL_FAM_MAX];

	RTE_ASSERT((unsigned int)dir < VFW_DIR_MAX);
	result = acl->result[dir];
	for (base = 0; base < n; base += m) {
		m = RTE_MIN(n - base, (unsigned int)ACL_CLASSIFY_CHUNK);
		cnt[ACL_FAM4] = 0;
		cnt[ACL_FAM6] = 0;
		for (i = 0; i < m; i++) {
			const struct vfw_flow_key *k = keys[base + i];
			unsigned int f;

			if (likely(k->af == VFW_AF_INET))
				f = ACL_FAM4;
			else if (likely(k->af == VFW_AF_INET6))
				f = ACL_FAM6;
			else {
				/* Not a parsed IP key: deny by default. */
				results[base + i] = result[0];
				continue;
			}
			data[f][cnt[f]] = (const uint8_t *)k;
			pos[f][cnt[f]++] = (uint16_t)i;
		}
		for (i = 0; i < ACL_FAM_MAX; i++)
			if (cnt[i] != 0)
				classify_fam(acl->ctx[dir][i], result, data[i],
					     pos[i], cnt[i], results + base);
	}
}

unsigned int
vfw_acl_rule_count(const struct vfw_acl *acl)
{
	return acl != NULL ? acl->n_rules : 0;
}

const struct vfw_acl_rule_info *
vfw_acl_rule(const struct vfw_acl *acl, unsigned int idx)
{
	if (acl == NULL || idx >= acl->n_rules)
		return NULL;
	return &acl->rules[idx];
}

uint64_t
vfw_acl_expanded_count(const struct vfw_acl *acl)
{
	return acl != NULL ? acl->expanded : 0;
}

size_t
vfw_acl_memory(const struct vfw_acl *acl)
{
	return acl != NULL ? acl->memory : 0;
}
