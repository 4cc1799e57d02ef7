/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-config validation: everything that involves more than one item
 * (uniqueness, references, reachability), plus the per-item checks again
 * so that a config built or edited in memory gets the same scrutiny as a
 * loaded one.
 *
 * Uniqueness is checked by sorting indices, not pairwise: rule sets of tens
 * of thousands of entries are expected.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_ether.h>

#include "config_private.h"

#define SHOW(s) cfg_show((s), (char[CFG_SHOW_MAX + 8]){ 0 }, CFG_SHOW_MAX + 8)

bool
cfg_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (i >= VFW_NAME_MAX - 1)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-'))
			return false;
	}
	return i > 0;
}

/* Names an address set may not take: they mean something in a rule. */
bool
cfg_set_reserved(const char *s)
{
	return strcasecmp(s, "any") == 0 || strcasecmp(s, CFG_SET_VNET) == 0 ||
	       strcasecmp(s, CFG_SET_INTERNET) == 0;
}

static uint32_t
word_mask(unsigned int len, unsigned int i)
{
	unsigned int bits;

	if (len <= i * 32)
		return 0;
	bits = len - i * 32;
	if (bits >= 32)
		return 0xffffffffu;
	return __builtin_bswap32(~0u << (32 - bits));
}

static unsigned int
af_words(uint8_t af)
{
	return af == VFW_AF_INET6 ? 4 : 1;
}

static unsigned int
af_bits(uint8_t af)
{
	return af == VFW_AF_INET6 ? 128 : 32;
}

void
cfg_prefix_mask(struct vfw_prefix *p)
{
	unsigned int i;

	for (i = 0; i < af_words(p->ip.af); i++)
		p->ip.w[i] &= word_mask(p->len, i);
}

bool
cfg_prefix_has_host_bits(const struct vfw_prefix *p)
{
	unsigned int i;

	for (i = 0; i < af_words(p->ip.af); i++)
		if (p->ip.w[i] & ~word_mask(p->len, i))
			return true;
	return false;
}

static bool
af_valid(uint8_t af)
{
	return af == VFW_AF_INET || af == VFW_AF_INET6;
}

static bool
prefix_valid(const struct vfw_prefix *p)
{
	return af_valid(p->ip.af) && p->len <= af_bits(p->ip.af);
}

static int
ip_cmp(const struct vfw_ip *a, const struct vfw_ip *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->v6, b->v6, a->af == VFW_AF_INET6 ? 16 : 4);
}

static int
prefix_cmp(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	int r = ip_cmp(&a->ip, &b->ip);

	if (r != 0)
		return r;
	return (int)a->len - (int)b->len;
}

static bool
prefix_overlap(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	return vfw_prefix_contains(a, &b->ip) || vfw_prefix_contains(b, &a->ip);
}

/* --- duplicate detection ---------------------------------------------- */

typedef int (*key_cmp_t)(const void *arg, unsigned int a, unsigned int b);

struct dup_sort {
	key_cmp_t cmp;
	const void *arg;
};

static int
dup_sort_cmp(const void *a, const void *b, void *arg)
{
	const struct dup_sort *ds = arg;
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
	int r = ds->cmp(ds->arg, x, y);

	if (r != 0)
		return r;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * first[i] = index of the earliest item whose key equals item i's, or i
 * itself. Items with skip[i] set take no part. Returns NULL only on OOM
 * (or n == 0).
 */
static unsigned int *
find_dups(unsigned int n, const bool *skip, key_cmp_t cmp, const void *arg)
{
	struct dup_sort ds = { cmp, arg };
	unsigned int *order, *first, i, k = 0;

	if (n == 0)
		return NULL;
	order = malloc(n * sizeof(*order));
	first = malloc(n * sizeof(*first));
	if (order == NULL || first == NULL) {
		free(order);
		free(first);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		first[i] = i;
		if (skip == NULL || !skip[i])
			order[k++] = i;
	}
	qsort_r(order, k, sizeof(*order), dup_sort_cmp, &ds);
	for (i = 1; i < k; i++)
		if (cmp(arg, order[i - 1], order[i]) == 0)
			first[order[i]] = first[order[i - 1]];
	free(order);
	return first;
}

static bool
skipped(const bool *skip, unsigned int i)
{
	return skip != NULL && skip[i];
}

/* " at line N" when known. */
static const char *
at_line(const struct vfw_loc *l, char *buf, size_t len)
{
	if (l->line == 0)
		return "";
	snprintf(buf, len, " at line %u", l->line);
	return buf;
}

#define OOM(c) cfg_err((c), NULL, "out of memory during validation")

/* --- ports ------------------------------------------------------------ */

static const char *const role_name[VFW_PORT_MAX] = { "vnet", "cluster" };

static int
port_on_link(const struct vfw_config *cfg, const struct vfw_ip *ip)
{
	unsigned int r;

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *p = &cfg->ports[r];

		if (vfw_prefix_contains(&p->address, ip))
			return (int)r;
		if (p->has_address6 && vfw_prefix_contains(&p->address6, ip))
			return (int)r;
	}
	return -1;
}

static bool
is_own_address(const struct vfw_config *cfg, const struct vfw_ip *ip)
{
	unsigned int r;

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *p = &cfg->ports[r];

		if (vfw_ip_equal(&p->address.ip, ip))
			return true;
		if (p->has_address6 && vfw_ip_equal(&p->address6.ip, ip))
			return true;
	}
	return false;
}

static bool
mac_ok(const struct rte_ether_addr *m)
{
	return rte_is_unicast_ether_addr(m) && !rte_is_zero_ether_addr(m);
}

static void
check_ports(struct cfg_ctx *c, const struct vfw_config *cfg)
{
	const struct vfw_cfg_port *v = &cfg->ports[VFW_PORT_VNET];
	const struct vfw_cfg_port *k = &cfg->ports[VFW_PORT_CLUSTER];
	char a[64], b[64];
	unsigned int r;
	bool addr_ok[VFW_PORT_MAX];

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *p = &cfg->ports[r];
		const char *rn = role_name[r];

		addr_ok[r] = false;
		if (p->device[0] == '\0' ||
		    strnlen(p->device, sizeof(p->device)) == sizeof(p->device))
			cfg_err(c, &p->loc, "ports.%s: device is required", rn);
		if (p->address.ip.af != VFW_AF_INET || p->address.len == 0 ||
		    p->address.len > 32)
			cfg_err(c, &p->loc,
				"ports.%s.address: expected an IPv4 interface address with prefix length 1-32 (e.g. 10.0.1.4/24)",
				rn);
		else
			addr_ok[r] = true;
		if (p->has_address6 &&
		    (p->address6.ip.af != VFW_AF_INET6 ||
		     p->address6.len == 0 || p->address6.len > 128))
			cfg_err(c, &p->loc,
				"ports.%s.address6: expected an IPv6 interface address with prefix length 1-128",
				rn);
		if (p->has_mac && !mac_ok(&p->mac))
			cfg_err(c, &p->loc,
				"ports.%s.mac: not a unicast address", rn);
		if (p->has_gateway && r != VFW_PORT_VNET)
			cfg_err(c, &p->loc,
				"ports.%s.gateway: only the vnet port has a gateway",
				rn);
		if (p->mtu != 0 &&
		    (p->mtu < VFW_PORT_MTU_MIN || p->mtu > VFW_PORT_MTU_MAX))
			cfg_err(c, &p->loc,
				"ports.%s.mtu: %u is out of range (%u-%u)", rn,
				p->mtu, VFW_PORT_MTU_MIN, VFW_PORT_MTU_MAX);
	}
	if (v->has_gateway && addr_ok[VFW_PORT_VNET]) {
		struct vfw_prefix net = v->address;

		cfg_prefix_mask(&net);
		if (!vfw_prefix_contains(&v->address, &v->gateway))
			cfg_err(c, &v->loc,
				"ports.vnet.gateway: %s is not inside the vnet subnet %s",
				vfw_ip_str(&v->gateway, a, sizeof(a)),
				vfw_prefix_str(&net, b, sizeof(b)));
		else if (vfw_ip_equal(&v->gateway, &v->address.ip))
			cfg_err(c, &v->loc,
				"ports.vnet.gateway: %s is the port's own address",
				vfw_ip_str(&v->gateway, a, sizeof(a)));
	}
	if (v->device[0] != '\0' &&
	    strncmp(v->device, k->device, sizeof(v->device)) == 0)
		cfg_err(c, &k->loc,
			"ports.cluster.device: '%s' is also the vnet port's device",
			SHOW(k->device));
	if (addr_ok[0] && addr_ok[1] && prefix_overlap(&v->address, &k->address)) {
		struct vfw_prefix x = v->address, y = k->address;

		cfg_prefix_mask(&x);
		cfg_prefix_mask(&y);
		cfg_err(c, &k->loc,
			"ports.cluster.address: subnet %s overlaps the vnet subnet %s",
			vfw_prefix_str(&y, a, sizeof(a)),
			vfw_prefix_str(&x, b, sizeof(b)));
	}
	if (v->has_address6 && k->has_address6 &&
	    v->address6.ip.af == VFW_AF_INET6 &&
	    k->address6.ip.af == VFW_AF_INET6 &&
	    prefix_overlap(&v->address6, &k->address6))
		cfg_err(c, &k->loc,
			"ports.cluster.address6: subnet overlaps the vnet port's IPv6 subnet");
}

/* --- prefix lists ----------------------------------------------------- */

static void
check_prefixes(struct cfg_ctx *c, const struct vfw_loc *loc, const char *path,
	       const struct vfw_prefix *p, unsigned int n)
{
	char a[64];
	unsigned int i;

	if (n > 0 && p == NULL) {
		cfg_err(c, loc, "%s: list is missing", path);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!prefix_valid(&p[i]))
			cfg_err(c, loc, "%s[%u]: not a valid prefix", path, i);
		else if (cfg_prefix_has_host_bits(&p[i]))
			cfg_err(c, loc, "%s[%u]: %s has host bits set", path, i,
				vfw_prefix_str(&p[i], a, sizeof(a)));
	}
}

static int
vnetpfx_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_prefix *p = arg;

	return prefix_cmp(&p[a], &p[b]);
}

static void
check_vnet_prefixes(struct cfg_ctx *c, const struct vfw_config *cfg,
		    const struct cfg_broken *bk)
{
	const struct vfw_loc *locs = bk->vnet_prefix_locs;
	unsigned int *first, i;
	char a[64], l[32];

	check_prefixes(c, NULL, "vnet_prefixes", cfg->vnet_prefixes,
		       cfg->n_vnet_prefixes);
	if (cfg->n_vnet_prefixes == 0 || cfg->vnet_prefixes == NULL)
		return;
	first = find_dups(cfg->n_vnet_prefixes, NULL, vnetpfx_cmp,
			  cfg->vnet_prefixes);
	if (first == NULL) {
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_vnet_prefixes; i++) {
		if (first[i] == i)
			continue;
		if (locs != NULL)
			cfg_err(c, &locs[i],
				"vnet_prefixes[%u]: duplicate prefix %s (also listed%s)",
				i, vfw_prefix_str(&cfg->vnet_prefixes[i], a,
						  sizeof(a)),
				at_line(&locs[first[i]], l, sizeof(l)));
		else
			cfg_err(c, NULL, "vnet_prefixes[%u]: duplicate prefix %s",
				i, vfw_prefix_str(&cfg->vnet_prefixes[i], a,
						  sizeof(a)));
	}
	free(first);
}

/* --- neighbors -------------------------------------------------------- */

static int
neigh_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_neighbor *n = arg;

	return ip_cmp(&n[a].address, &n[b].address);
}

static void
check_neighbors(struct cfg_ctx *c, const struct vfw_config *cfg,
		const struct cfg_broken *bk)
{
	const struct vfw_cfg_neighbor *nb = cfg->neighbors;
	unsigned int *first, i;
	char a[64], l[32];

	if (cfg->n_neighbors == 0 || nb == NULL)
		return;
	if (cfg->n_neighbors > VFW_CFG_MAX_NEIGHBORS)
		cfg_err(c, &nb[VFW_CFG_MAX_NEIGHBORS].loc,
			"neighbors[%u]: more than %u static neighbors (the neighbor table also holds learned ones)",
			VFW_CFG_MAX_NEIGHBORS, VFW_CFG_MAX_NEIGHBORS);
	for (i = 0; i < cfg->n_neighbors; i++) {
		if (skipped(bk->neighbors, i))
			continue;
		if (!af_valid(nb[i].address.af)) {
			cfg_err(c, &nb[i].loc, "neighbors[%u]: bad address", i);
			continue;
		}
		if (!mac_ok(&nb[i].mac))
			cfg_err(c, &nb[i].loc,
				"neighbors[%u].mac: not a unicast address", i);
		if (bk->ports)
			continue;
		vfw_ip_str(&nb[i].address, a, sizeof(a));
		if (is_own_address(cfg, &nb[i].address))
			cfg_err(c, &nb[i].loc,
				"neighbors[%u]: %s is our own interface address",
				i, a);
		else if (port_on_link(cfg, &nb[i].address) < 0)
			cfg_err(c, &nb[i].loc,
				"neighbors[%u]: %s is not inside any port subnet",
				i, a);
	}
	first = find_dups(cfg->n_neighbors, bk->neighbors, neigh_cmp, nb);
	if (first == NULL) {
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_neighbors; i++)
		if (first[i] != i)
			cfg_err(c, &nb[i].loc,
				"neighbors[%u]: duplicate neighbor %s (also listed%s)",
				i, vfw_ip_str(&nb[i].address, a, sizeof(a)),
				at_line(&nb[first[i]].loc, l, sizeof(l)));
	free(first);
}

/* --- address sets ----------------------------------------------------- */

static int
set_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_addrset *s = arg;

	return strncmp(s[a].name, s[b].name, VFW_NAME_MAX);
}

static bool
set_name_ok(const char *name)
{
	return cfg_name_valid(name) && !cfg_set_reserved(name) &&
	       !(name[0] >= '0' && name[0] <= '9');
}

static void
check_sets(struct cfg_ctx *c, const struct vfw_config *cfg,
	   const struct cfg_broken *bk)
{
	const struct vfw_cfg_addrset *s = cfg->address_sets;
	unsigned int *first, i;
	char path[96], l[32];

	if (cfg->n_address_sets == 0 || s == NULL)
		return;
	for (i = 0; i < cfg->n_address_sets; i++) {
		if (skipped(bk->sets, i))
			continue;
		if (strnlen(s[i].name, VFW_NAME_MAX) == VFW_NAME_MAX ||
		    !set_name_ok(s[i].name)) {
			cfg_err(c, &s[i].loc,
				"address_sets: '%s' is not a valid set name",
				SHOW(strnlen(s[i].name, VFW_NAME_MAX) <
				     VFW_NAME_MAX ? s[i].name : "?"));
			continue;
		}
		snprintf(path, sizeof(path), "address_sets.%s", s[i].name);
		if (s[i].n_prefixes == 0)
			cfg_err(c, &s[i].loc, "%s: empty set", path);
		check_prefixes(c, &s[i].loc, path, s[i].prefixes,
			       s[i].n_prefixes);
	}
	first = find_dups(cfg->n_address_sets, bk->sets, set_cmp, s);
	if (first == NULL) {
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_address_sets; i++)
		if (first[i] != i)
			cfg_err(c, &s[i].loc,
				"address_sets: duplicate set name '%s' (also defined%s)",
				SHOW(s[i].name),
				at_line(&s[first[i]].loc, l, sizeof(l)));
	free(first);
}

/* Sorted set names for reference lookups. */
struct set_index {
	const char **names;
	unsigned int n;
};

static int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
set_index_build(struct set_index *si, const struct vfw_config *cfg)
{
	unsigned int i;

	si->n = 0;
	si->names = NULL;
	if (cfg->n_address_sets == 0 || cfg->address_sets == NULL)
		return 0;
	si->names = malloc(cfg->n_address_sets * sizeof(*si->names));
	if (si->names == NULL)
		return -ENOMEM;
	/* Broken sets count as defined: their error is already reported. */
	for (i = 0; i < cfg->n_address_sets; i++) {
		const char *nm = cfg->address_sets[i].name;

		if (nm[0] != '\0' && strnlen(nm, VFW_NAME_MAX) < VFW_NAME_MAX)
			si->names[si->n++] = nm;
	}
	qsort(si->names, si->n, sizeof(*si->names), str_ptr_cmp);
	return 0;
}

static bool
set_defined(const struct set_index *si, const char *name)
{
	if (strcmp(name, CFG_SET_VNET) == 0 || strcmp(name, CFG_SET_INTERNET) == 0)
		return true;
	return si->n > 0 && bsearch(&name, si->names, si->n,
				    sizeof(*si->names), str_ptr_cmp) != NULL;
}

/* --- security rules --------------------------------------------------- */

static void
check_addrs(struct cfg_ctx *c, const struct vfw_cfg_rule *r, const char *path,
	    const char *field, const struct vfw_cfg_addr *a, unsigned int n,
	    const struct set_index *si)
{
	char p[64];
	unsigned int i;

	if (n == 0 || a == NULL) {
		cfg_err(c, &r->loc, "%s: %s is empty (use any)", path, field);
		return;
	}
	for (i = 0; i < n; i++) {
		switch (a[i].kind) {
		case VFW_ADDR_ANY:
			break;
		case VFW_ADDR_PREFIX:
			if (!prefix_valid(&a[i].prefix))
				cfg_err(c, &r->loc, "%s.%s[%u]: not a valid prefix",
					path, field, i);
			else if (cfg_prefix_has_host_bits(&a[i].prefix))
				cfg_err(c, &r->loc,
					"%s.%s[%u]: %s has host bits set", path,
					field, i,
					vfw_prefix_str(&a[i].prefix, p,
						       sizeof(p)));
			break;
		case VFW_ADDR_SET:
			if (strnlen(a[i].set, VFW_NAME_MAX) == VFW_NAME_MAX)
				cfg_err(c, &r->loc, "%s.%s[%u]: bad set name",
					path, field, i);
			else if (!set_defined(si, a[i].set))
				cfg_err(c, &r->loc,
					"%s.%s: address set '%s' is not defined",
					path, field, SHOW(a[i].set));
			break;
		default:
			cfg_err(c, &r->loc, "%s.%s[%u]: bad entry kind", path,
				field, i);
		}
	}
}

static void
check_ports_list(struct cfg_ctx *c, const struct vfw_cfg_rule *r,
		 const char *path, const char *field,
		 const struct vfw_port_range *p, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		return;
	if (p == NULL) {
		cfg_err(c, &r->loc, "%s.%s: list is missing", path, field);
		return;
	}
	if (r->protocol == IPPROTO_ICMP)
		cfg_err(c, &r->loc,
			"%s.%s: ports are not allowed with protocol icmp", path,
			field);
	for (i = 0; i < n; i++)
		if (p[i].lo > p[i].hi)
			cfg_err(c, &r->loc, "%s.%s: port range %u-%u is reversed",
				path, field, p[i].lo, p[i].hi);
}

static int
rule_name_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_rule *r = arg;

	return strncmp(r[a].name, r[b].name, VFW_NAME_MAX);
}

static int
rule_prio_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_rule *r = arg;

	if (r[a].direction != r[b].direction)
		return r[a].direction < r[b].direction ? -1 : 1;
	if (r[a].priority != r[b].priority)
		return r[a].priority < r[b].priority ? -1 : 1;
	return 0;
}

static void
check_rules(struct cfg_ctx *c, const struct vfw_config *cfg,
	    const struct cfg_broken *bk)
{
	const struct vfw_cfg_rule *r = cfg->rules;
	struct set_index si;
	unsigned int *first, i;
	char path[128], l[32];
	bool *skip;

	if (cfg->n_rules == 0 || r == NULL)
		return;
	if (set_index_build(&si, cfg) < 0) {
		OOM(c);
		return;
	}
	/* Rules whose name is unusable are left out of the duplicate checks. */
	skip = calloc(cfg->n_rules, sizeof(*skip));
	if (skip == NULL) {
		free(si.names);
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_rules; i++) {
		const struct vfw_cfg_rule *x = &r[i];
		bool name_ok;

		if (skipped(bk->rules, i)) {
			skip[i] = true;
			continue;
		}
		name_ok = strnlen(x->name, VFW_NAME_MAX) < VFW_NAME_MAX &&
			  cfg_name_valid(x->name);
		if (name_ok)
			snprintf(path, sizeof(path), "security_rules[%u] (%s)",
				 i, x->name);
		else
			snprintf(path, sizeof(path), "security_rules[%u]", i);
		if (!name_ok) {
			cfg_err(c, &x->loc, "%s: rule name is missing or invalid",
				path);
			skip[i] = true;
		}
		if (x->priority < 1 || x->priority > 64999)
			cfg_err(c, &x->loc,
				"%s.priority: %u is out of range (1-64999)", path,
				x->priority);
		if ((unsigned int)x->direction >= VFW_DIR_MAX)
			cfg_err(c, &x->loc, "%s.direction: invalid", path);
		if (x->access != VFW_ACCESS_ALLOW && x->access != VFW_ACCESS_DENY)
			cfg_err(c, &x->loc, "%s.access: invalid", path);
		if (x->protocol != VFW_PROTO_ANY && x->protocol != IPPROTO_TCP &&
		    x->protocol != IPPROTO_UDP && x->protocol != IPPROTO_ICMP)
			cfg_err(c, &x->loc,
				"%s.protocol: %u is not tcp, udp, icmp or any",
				path, x->protocol);
		if (strnlen(x->description, sizeof(x->description)) ==
		    sizeof(x->description))
			cfg_err(c, &x->loc, "%s.description: not terminated",
				path);
		check_addrs(c, x, path, "source", x->source, x->n_source, &si);
		check_addrs(c, x, path, "destination", x->destination,
			    x->n_destination, &si);
		check_ports_list(c, x, path, "source_ports", x->source_ports,
				 x->n_source_ports);
		check_ports_list(c, x, path, "destination_ports",
				 x->destination_ports, x->n_destination_ports);
	}
	free(si.names);

	first = find_dups(cfg->n_rules, skip, rule_name_cmp, r);
	if (first == NULL) {
		OOM(c);
		free(skip);
		return;
	}
	for (i = 0; i < cfg->n_rules; i++)
		if (first[i] != i)
			cfg_err(c, &r[i].loc,
				"security_rules[%u]: duplicate rule name '%s' (also used%s)",
				i, r[i].name,
				at_line(&r[first[i]].loc, l, sizeof(l)));
	free(first);

	/* Priorities: only rules whose direction and priority are sane. */
	for (i = 0; i < cfg->n_rules; i++)
		skip[i] = skipped(bk->rules, i) ||
			  (unsigned int)r[i].direction >= VFW_DIR_MAX ||
			  r[i].priority == 0;
	first = find_dups(cfg->n_rules, skip, rule_prio_cmp, r);
	if (first == NULL) {
		OOM(c);
		free(skip);
		return;
	}
	for (i = 0; i < cfg->n_rules; i++) {
		if (first[i] == i)
			continue;
		snprintf(path, sizeof(path), "security_rules[%u]", i);
		if (cfg_name_valid(r[i].name))
			snprintf(path, sizeof(path), "security_rules[%u] (%s)",
				 i, r[i].name);
		cfg_err(c, &r[i].loc,
			"%s: duplicate priority %u in %s rules (also used by rule '%s'%s)",
			path, r[i].priority,
			r[i].direction == VFW_DIR_IN ? "inbound" : "outbound",
			SHOW(r[first[i]].name),
			at_line(&r[first[i]].loc, l, sizeof(l)));
	}
	free(first);
	free(skip);
}

/* --- NAT -------------------------------------------------------------- */

/* DNAT and SNAT share one name space: nat.del takes just a name. */
static const char *
nat_name(const struct vfw_config *cfg, unsigned int i)
{
	return i < cfg->n_dnat ? cfg->dnat[i].name :
				 cfg->snat[i - cfg->n_dnat].name;
}

static const struct vfw_loc *
nat_loc(const struct vfw_config *cfg, unsigned int i)
{
	return i < cfg->n_dnat ? &cfg->dnat[i].loc :
				 &cfg->snat[i - cfg->n_dnat].loc;
}

static int
nat_name_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_config *cfg = arg;

	return strncmp(nat_name(cfg, a), nat_name(cfg, b), VFW_NAME_MAX);
}

static int
dnat_key_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_dnat *d = arg;
	int r;

	if (d[a].protocol != d[b].protocol)
		return d[a].protocol < d[b].protocol ? -1 : 1;
	r = ip_cmp(&d[a].destination, &d[b].destination);
	if (r != 0)
		return r;
	return (int)d[a].destination_port - (int)d[b].destination_port;
}

static int
ip_arr_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_ip *ip = arg;

	return ip_cmp(&ip[a], &ip[b]);
}

static const char *
nat_path(char *buf, size_t len, const char *kind, unsigned int i,
	 const char *name)
{
	if (strnlen(name, VFW_NAME_MAX) < VFW_NAME_MAX && cfg_name_valid(name))
		snprintf(buf, len, "nat.%s[%u] (%s)", kind, i, name);
	else
		snprintf(buf, len, "nat.%s[%u]", kind, i);
	return buf;
}

static void
check_dnat(struct cfg_ctx *c, const struct vfw_config *cfg, bool *skip,
	   const struct cfg_broken *bk)
{
	const struct vfw_cfg_dnat *d = cfg->dnat;
	unsigned int *first, i;
	char path[128], a[64], l[32];
	bool *kskip;

	if (cfg->n_dnat == 0 || d == NULL)
		return;
	kskip = calloc(cfg->n_dnat, sizeof(*kskip));
	if (kskip == NULL) {
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_dnat; i++) {
		const struct vfw_cfg_dnat *x = &d[i];

		if (skipped(bk->dnat, i)) {
			skip[i] = kskip[i] = true;
			continue;
		}
		nat_path(path, sizeof(path), "dnat", i, x->name);
		if (strnlen(x->name, VFW_NAME_MAX) == VFW_NAME_MAX ||
		    !cfg_name_valid(x->name)) {
			cfg_err(c, &x->loc, "%s: name is missing or invalid",
				path);
			skip[i] = true;
		}
		if (x->protocol != IPPROTO_TCP && x->protocol != IPPROTO_UDP) {
			cfg_err(c, &x->loc, "%s.protocol: must be tcp or udp",
				path);
			kskip[i] = true;
		}
		if (!af_valid(x->destination.af) ||
		    !af_valid(x->translated_address.af)) {
			cfg_err(c, &x->loc, "%s: addresses are missing", path);
			kskip[i] = true;
		} else if (x->destination.af != x->translated_address.af) {
			cfg_err(c, &x->loc,
				"%s.translated_address: address family differs from destination's",
				path);
		}
		if (x->destination_port == 0)
			cfg_err(c, &x->loc,
				"%s.destination_port: 0 is out of range (1-65535)",
				path);
		if (x->translated_port == 0)
			cfg_err(c, &x->loc,
				"%s.translated_port: 0 is out of range (1-65535)",
				path);
	}
	first = find_dups(cfg->n_dnat, kskip, dnat_key_cmp, d);
	free(kskip);
	if (first == NULL) {
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_dnat; i++)
		if (first[i] != i)
			cfg_err(c, &d[i].loc,
				"%s: duplicate mapping %s %s:%u (also in dnat rule '%s'%s)",
				nat_path(path, sizeof(path), "dnat", i,
					 d[i].name),
				d[i].protocol == IPPROTO_TCP ? "tcp" : "udp",
				vfw_ip_str(&d[i].destination, a, sizeof(a)),
				d[i].destination_port,
				SHOW(d[first[i]].name),
				at_line(&d[first[i]].loc, l, sizeof(l)));
	free(first);
}

static void
check_snat(struct cfg_ctx *c, const struct vfw_config *cfg, bool *skip,
	   const struct cfg_broken *bk)
{
	const struct vfw_cfg_snat *s = cfg->snat;
	char path[128], sub[160], a[64];
	unsigned int i, j;

	if (cfg->n_snat == 0 || s == NULL)
		return;
	for (i = 0; i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *x = &s[i];

		if (skipped(bk->snat, i)) {
			skip[i] = true;
			continue;
		}
		nat_path(path, sizeof(path), "snat", i, x->name);
		if (strnlen(x->name, VFW_NAME_MAX) == VFW_NAME_MAX ||
		    !cfg_name_valid(x->name)) {
			cfg_err(c, &x->loc, "%s: name is missing or invalid",
				path);
			skip[i] = true;
		}
		if (x->n_source == 0)
			cfg_err(c, &x->loc, "%s.source: at least one prefix is required",
				path);
		snprintf(sub, sizeof(sub), "%s.source", path);
		check_prefixes(c, &x->loc, sub, x->source, x->n_source);
		snprintf(sub, sizeof(sub), "%s.destination", path);
		check_prefixes(c, &x->loc, sub, x->destination,
			       x->n_destination);
		snprintf(sub, sizeof(sub), "%s.exclude", path);
		check_prefixes(c, &x->loc, sub, x->exclude, x->n_exclude);
		if (x->n_translated == 0 || x->translated_addresses == NULL) {
			cfg_err(c, &x->loc,
				"%s.translated_addresses: at least one address is required",
				path);
		} else {
			const struct vfw_ip *ta = x->translated_addresses;
			bool fam[2] = { false, false };
			unsigned int *first;

			for (j = 0; j < x->n_translated; j++) {
				if (!af_valid(ta[j].af))
					cfg_err(c, &x->loc,
						"%s.translated_addresses[%u]: bad address",
						path, j);
				else
					fam[ta[j].af == VFW_AF_INET6] = true;
			}
			first = find_dups(x->n_translated, NULL, ip_arr_cmp, ta);
			if (first == NULL)
				OOM(c);
			for (j = 0; first != NULL && j < x->n_translated; j++)
				if (first[j] != j)
					cfg_err(c, &x->loc,
						"%s.translated_addresses: %s is listed twice",
						path, vfw_ip_str(&ta[j], a, sizeof(a)));
			free(first);
			/* Each source family needs an address to map to. */
			for (j = 0; x->source != NULL && j < x->n_source; j++) {
				if (!af_valid(x->source[j].ip.af) ||
				    fam[x->source[j].ip.af == VFW_AF_INET6])
					continue;
				cfg_err(c, &x->loc,
					"%s: source %s has no translated address of its address family",
					path, vfw_prefix_str(&x->source[j], a,
							     sizeof(a)));
				break;
			}
		}
		if (x->ports.lo < 1 || x->ports.lo > x->ports.hi)
			cfg_err(c, &x->loc,
				"%s.ports: %u-%u is not a valid range (1-65535, low-high)",
				path, x->ports.lo, x->ports.hi);
	}
}

/*
 * lib/nat keeps one port pool per translated address and ports range (and
 * one for hairpinned flows, on the cluster address with 1024-65535); a
 * config needing more than it can hold could not start.
 */
static void
check_snat_pools(struct cfg_ctx *c, const struct vfw_config *cfg,
		 const struct cfg_broken *bk)
{
	struct pool { uint32_t addr; uint16_t lo, hi; } *p;
	const struct vfw_cfg_port *cl = &cfg->ports[VFW_PORT_CLUSTER];
	unsigned int n = 0, i, j, k;

	p = calloc(VFW_CFG_SNAT_MAX_POOLS + 1, sizeof(*p));
	if (p == NULL) {
		OOM(c);
		return;
	}
	if (cl->address.ip.af == VFW_AF_INET)
		p[n++] = (struct pool){ cl->address.ip.v4, 1024, 65535 };
	for (i = 0; i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *x = &cfg->snat[i];

		if (skipped(bk->snat, i) || x->translated_addresses == NULL)
			continue;
		for (j = 0; j < x->n_translated; j++) {
			if (x->translated_addresses[j].af != VFW_AF_INET)
				continue;
			for (k = 0; k < n; k++)
				if (p[k].addr == x->translated_addresses[j].v4 &&
				    p[k].lo == x->ports.lo && p[k].hi == x->ports.hi)
					break;
			if (k < n)
				continue;
			if (n == VFW_CFG_SNAT_MAX_POOLS) {
				char path[128];

				cfg_err(c, &x->loc,
					"%s.translated_addresses: more than %u distinct translated address and ports pairs in the SNAT rules (the hairpin pool included)",
					nat_path(path, sizeof(path), "snat", i,
						 x->name),
					VFW_CFG_SNAT_MAX_POOLS);
				free(p);
				return;
			}
			p[n++] = (struct pool){ x->translated_addresses[j].v4,
						x->ports.lo, x->ports.hi };
		}
	}
	free(p);
}

/*
 * The appliance answers ARP for, and terminates, its interface addresses,
 * DNAT destinations and SNAT addresses: at most VFW_MAX_OWNED distinct
 * ones (lib/policy keeps them in a small table read per new flow). The
 * item that adds one too many is the error.
 */
static bool
owned_add(uint32_t *seen, unsigned int *n, uint32_t ip)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (seen[i] == ip)
			return true;
	if (*n == VFW_MAX_OWNED)
		return false;
	seen[(*n)++] = ip;
	return true;
}

static void
check_owned(struct cfg_ctx *c, const struct vfw_config *cfg,
	    const struct cfg_broken *bk)
{
	uint32_t seen[VFW_MAX_OWNED];
	unsigned int n = 0, i, j;
	char path[128], a[64];

	for (i = 0; i < VFW_PORT_MAX; i++)
		if (cfg->ports[i].address.ip.af == VFW_AF_INET)
			(void)owned_add(seen, &n, cfg->ports[i].address.ip.v4);
	for (i = 0; cfg->dnat != NULL && i < cfg->n_dnat; i++) {
		const struct vfw_cfg_dnat *d = &cfg->dnat[i];

		if (skipped(bk->dnat, i) || d->destination.af != VFW_AF_INET ||
		    owned_add(seen, &n, d->destination.v4))
			continue;
		cfg_err(c, &d->loc,
			"%s.destination: %s is one address too many: the appliance answers for at most %u (interface addresses, DNAT destinations, SNAT translated addresses)",
			nat_path(path, sizeof(path), "dnat", i, d->name),
			vfw_ip_str(&d->destination, a, sizeof(a)), VFW_MAX_OWNED);
		return;
	}
	for (i = 0; cfg->snat != NULL && i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *x = &cfg->snat[i];

		if (skipped(bk->snat, i))
			continue;
		for (j = 0; x->translated_addresses != NULL && j < x->n_translated; j++) {
			const struct vfw_ip *t = &x->translated_addresses[j];

			if (t->af != VFW_AF_INET || owned_add(seen, &n, t->v4))
				continue;
			cfg_err(c, &x->loc,
				"%s.translated_addresses: %s is one address too many: the appliance answers for at most %u (interface addresses, DNAT destinations, SNAT translated addresses)",
				nat_path(path, sizeof(path), "snat", i, x->name),
				vfw_ip_str(t, a, sizeof(a)), VFW_MAX_OWNED);
			return;
		}
	}
}

static void
check_nat(struct cfg_ctx *c, const struct vfw_config *cfg,
	  const struct cfg_broken *bk)
{
	unsigned int n = cfg->n_dnat + cfg->n_snat, *first, i;
	char l[32];
	bool *skip;

	if (cfg->n_dnat != 0 && cfg->dnat == NULL)
		cfg_err(c, NULL, "nat.dnat: list is missing");
	if (cfg->n_snat != 0 && cfg->snat == NULL)
		cfg_err(c, NULL, "nat.snat: list is missing");
	if (n == 0 || (cfg->n_dnat && cfg->dnat == NULL) ||
	    (cfg->n_snat && cfg->snat == NULL))
		return;
	skip = calloc(n, sizeof(*skip));
	if (skip == NULL) {
		OOM(c);
		return;
	}
	check_dnat(c, cfg, skip, bk);
	check_snat(c, cfg, skip + cfg->n_dnat, bk);
	check_snat_pools(c, cfg, bk);
	check_owned(c, cfg, bk);
	first = find_dups(n, skip, nat_name_cmp, cfg);
	if (first == NULL) {
		OOM(c);
		free(skip);
		return;
	}
	for (i = 0; i < n; i++)
		if (first[i] != i)
			cfg_err(c, nat_loc(cfg, i),
				"nat.%s[%u]: duplicate NAT rule name '%s' (also used by a %s rule%s)",
				i < cfg->n_dnat ? "dnat" : "snat",
				i < cfg->n_dnat ? i : i - cfg->n_dnat,
				nat_name(cfg, i),
				first[i] < cfg->n_dnat ? "dnat" : "snat",
				at_line(nat_loc(cfg, first[i]), l, sizeof(l)));
	free(first);
	free(skip);
}

/* --- routes ----------------------------------------------------------- */

static int
route_name_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_route *r = arg;

	return strncmp(r[a].name, r[b].name, VFW_NAME_MAX);
}

static int
route_prefix_cmp(const void *arg, unsigned int a, unsigned int b)
{
	const struct vfw_cfg_route *r = arg;

	return prefix_cmp(&r[a].prefix, &r[b].prefix);
}

static void
check_routes(struct cfg_ctx *c, const struct vfw_config *cfg,
	     const struct cfg_broken *bk)
{
	const struct vfw_cfg_route *r = cfg->routes;
	unsigned int *first, i;
	char path[128], a[64], l[32];
	bool *skip, *pskip;

	if (cfg->n_routes == 0 || r == NULL)
		return;
	skip = calloc(cfg->n_routes, sizeof(*skip));
	pskip = calloc(cfg->n_routes, sizeof(*pskip));
	if (skip == NULL || pskip == NULL) {
		free(skip);
		free(pskip);
		OOM(c);
		return;
	}
	for (i = 0; i < cfg->n_routes; i++) {
		const struct vfw_cfg_route *x = &r[i];

		if (skipped(bk->routes, i)) {
			skip[i] = pskip[i] = true;
			continue;
		}
		if (strnlen(x->name, VFW_NAME_MAX) < VFW_NAME_MAX &&
		    cfg_name_valid(x->name)) {
			snprintf(path, sizeof(path), "routes[%u] (%s)", i,
				 x->name);
		} else {
			snprintf(path, sizeof(path), "routes[%u]", i);
			cfg_err(c, &x->loc, "%s: name is missing or invalid",
				path);
			skip[i] = true;
		}
		if (!prefix_valid(&x->prefix)) {
			cfg_err(c, &x->loc, "%s.prefix: not a valid prefix",
				path);
			pskip[i] = true;
		} else if (cfg_prefix_has_host_bits(&x->prefix)) {
			cfg_err(c, &x->loc, "%s.prefix: %s has host bits set",
				path, vfw_prefix_str(&x->prefix, a, sizeof(a)));
		}
		if ((unsigned int)x->type >= VFW_NH_TYPE_MAX) {
			cfg_err(c, &x->loc, "%s.next_hop_type: invalid", path);
			continue;
		}
		if (x->type == VFW_NH_APPLIANCE && !x->has_next_hop) {
			cfg_err(c, &x->loc,
				"%s: next_hop is required with next_hop_type VirtualAppliance",
				path);
			continue;
		}
		if (x->type != VFW_NH_APPLIANCE && x->has_next_hop) {
			cfg_err(c, &x->loc,
				"%s.next_hop: only allowed with next_hop_type VirtualAppliance",
				path);
			continue;
		}
		if (x->has_next_hop && !pskip[i] &&
		    x->next_hop.af != x->prefix.ip.af) {
			cfg_err(c, &x->loc,
				"%s.next_hop: address family differs from the prefix's",
				path);
			continue;
		}
		if (bk->ports)
			continue;
		if (x->type == VFW_NH_APPLIANCE) {
			vfw_ip_str(&x->next_hop, a, sizeof(a));
			if (is_own_address(cfg, &x->next_hop))
				cfg_err(c, &x->loc,
					"%s.next_hop: %s is our own interface address",
					path, a);
			else if (port_on_link(cfg, &x->next_hop) < 0)
				cfg_err(c, &x->loc,
					"%s.next_hop: %s is not inside any port subnet (a next hop must be on-link)",
					path, a);
		}
		if (x->type == VFW_NH_INTERNET &&
		    !cfg->ports[VFW_PORT_VNET].has_gateway)
			cfg_err(c, &x->loc,
				"%s: next_hop_type Internet needs ports.vnet.gateway",
				path);
	}
	first = find_dups(cfg->n_routes, skip, route_name_cmp, r);
	if (first == NULL)
		goto oom;
	for (i = 0; i < cfg->n_routes; i++)
		if (first[i] != i)
			cfg_err(c, &r[i].loc,
				"routes[%u]: duplicate route name '%s' (also used%s)", i,
				r[i].name, at_line(&r[first[i]].loc, l, sizeof(l)));
	free(first);
	first = find_dups(cfg->n_routes, pskip, route_prefix_cmp, r);
	if (first == NULL)
		goto oom;
	for (i = 0; i < cfg->n_routes; i++)
		if (first[i] != i)
			cfg_err(c, &r[i].loc,
				"routes[%u]: duplicate prefix %s (also in route '%s'%s)",
				i, vfw_prefix_str(&r[i].prefix, a, sizeof(a)),
				SHOW(r[first[i]].name),
				at_line(&r[first[i]].loc, l, sizeof(l)));
	free(first);
	free(skip);
	free(pskip);
	return;
oom:
	OOM(c);
	free(skip);
	free(pskip);
}

/* --- conntrack, control ------------------------------------------------ */

static void
check_limits(struct cfg_ctx *c, const struct vfw_config *cfg)
{
	const struct vfw_cfg_timeouts *t = &cfg->conntrack.timeouts;
	const struct {
		const char *name;
		uint32_t v;
	} to[] = {
		{ "tcp_syn", t->tcp_syn },
		{ "tcp_established", t->tcp_established },
		{ "tcp_closing", t->tcp_closing },
		{ "udp", t->udp },
		{ "icmp", t->icmp },
	};
	unsigned int i;

	if (cfg->conntrack.max_sessions < 1024 ||
	    cfg->conntrack.max_sessions > 67108864)
		cfg_err(c, NULL,
			"conntrack.max_sessions: %u is out of range (1024-67108864)",
			cfg->conntrack.max_sessions);
	for (i = 0; i < RTE_DIM(to); i++)
		if (to[i].v < 1 || to[i].v > 1000000)
			cfg_err(c, NULL,
				"conntrack.timeouts.%s: %u is out of range (1-1000000)",
				to[i].name, to[i].v);
	if (cfg->control.socket[0] == '\0' ||
	    strnlen(cfg->control.socket, sizeof(cfg->control.socket)) ==
		    sizeof(cfg->control.socket))
		cfg_err(c, NULL, "control.socket: a path is required (at most %zu bytes)",
			sizeof(cfg->control.socket) - 1);
	if (cfg->control.mode > 0777)
		cfg_err(c, NULL, "control.mode: %o is out of range (0-0777)",
			cfg->control.mode);
}

unsigned int
cfg_validate(struct cfg_ctx *c, const struct vfw_config *cfg,
	     const struct cfg_broken *broken)
{
	static const struct cfg_broken none;
	unsigned int e0 = c->nerr;

	if (broken == NULL)
		broken = &none;
	if (!broken->ports)
		check_ports(c, cfg);
	check_vnet_prefixes(c, cfg, broken);
	check_neighbors(c, cfg, broken);
	check_sets(c, cfg, broken);
	check_rules(c, cfg, broken);
	check_nat(c, cfg, broken);
	check_routes(c, cfg, broken);
	check_limits(c, cfg);
	return c->nerr - e0;
}

unsigned int
vfw_config_validate(const struct vfw_config *cfg, struct vfw_errors *errs)
{
	struct cfg_ctx c = { .errs = errs };

	if (cfg == NULL) {
		vfw_errors_add(errs, NULL, NULL, "no config");
		return 1;
	}
	c.file = cfg->file;
	return cfg_validate(&c, cfg, NULL);
}
