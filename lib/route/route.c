/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route table of one policy generation: system and user routes with Azure
 * UDR semantics, compiled into one rte_fib (DIR24_8) whose next-hop values
 * are indexes into an array of struct vfw_nexthop. See README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rib.h>

#include "vnetfw/route.h"

/*
 * 4-byte fib entries: half the memory of 8-byte ones (tbl24 is 64 MB instead
 * of 128 MB and every tbl8 group 1 KB instead of 2 KB) and still 2^31 - 1
 * next-hop values, far more routes than we accept.
 */
#define ROUTE_NH_SZ RTE_FIB_DIR24_8_4B
/* Largest value a 4-byte DIR24_8 entry holds (one bit flags a tbl8). It is
 * the fib's default next hop when there is no default route. */
#define ROUTE_NO_ROUTE ((UINT64_C(1) << 31) - 1)
/* Entries are indexed by fib values, so they must stay below the sentinel. */
#define ROUTE_MAX_ENTRIES (1u << 30)
/* vfw_route_lookup_bulk() works in chunks of this many addresses so that the
 * fib's output fits on the stack; a worker burst (32) is one chunk. */
#define ROUTE_LOOKUP_CHUNK 64
/*
 * rte_fib_create() names a RIB mempool "MP_<name>", whose ring is
 * "MP_MP_<name>" and must fit RTE_RING_NAMESIZE (30 with the NUL): a fib
 * name longer than 23 characters is silently truncated into a collision.
 */
#define ROUTE_FIB_NAME_MAX 20

struct vfw_route_table {
	/* Read by workers, first so they share a cache line; the first two
	 * as struct vfw_route_table_hot_ (route.h) lays them out. */
	struct rte_fib *fib;
	const struct vfw_nexthop *nh;
	uint64_t id;                     /* vfw_route_table_id() */
	/* Control plane only. */
	struct vfw_nexthop *nh_mem;      /* same as nh, writable */
	struct vfw_route_entry *ent;     /* plain heap: never read by workers */
	unsigned int n;
	unsigned int refs;               /* generations sharing the table */
	char fib_name[ROUTE_FIB_NAME_MAX];
};

_Static_assert(offsetof(struct vfw_route_table, fib) ==
	       offsetof(struct vfw_route_table_hot_, fib) &&
	       offsetof(struct vfw_route_table, nh) ==
	       offsetof(struct vfw_route_table_hot_, nh),
	       "struct vfw_route_table starts as struct vfw_route_table_hot_");

/* Sequence number that makes fib names unique within the process. */
static uint32_t route_fib_seq;
/* Source of table identities (tables are built by one thread at a time). */
static uint64_t route_table_seq;

static inline uint32_t
depth_mask(uint8_t len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static const char *
ip4_str(uint32_t ip_be, char *buf, size_t len)
{
	return inet_ntop(AF_INET, &ip_be, buf, len) ? buf : "?";
}

int
vfw_route_port_of(const struct vfw_config *cfg, uint32_t ip_be)
{
	uint32_t ip = rte_be_to_cpu_32(ip_be);
	int best = -1;
	int best_len = -1;
	unsigned int r;

	if (cfg == NULL)
		return -1;
	/* The most specific subnet wins should the two overlap; on a tie the
	 * vnet port (role 0) is kept. */
	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_prefix *a = &cfg->ports[r].address;
		uint32_t m;

		if (a->ip.af != VFW_AF_INET || a->len > 32)
			continue;
		m = depth_mask(a->len);
		if (((ip ^ rte_be_to_cpu_32(a->ip.v4)) & m) == 0 &&
		    (int)a->len > best_len) {
			best = (int)r;
			best_len = a->len;
		}
	}
	return best;
}

static bool
is_own_address(const struct vfw_config *cfg, uint32_t ip_be)
{
	unsigned int r;

	for (r = 0; r < VFW_PORT_MAX; r++)
		if (cfg->ports[r].address.ip.af == VFW_AF_INET &&
		    cfg->ports[r].address.ip.v4 == ip_be)
			return true;
	return false;
}

static void
set_name(struct vfw_route_entry *e, const char *name)
{
	snprintf(e->name, sizeof(e->name), "%s", name);
}

static void
set_prefix4(struct vfw_route_entry *e, uint32_t ip_be, uint8_t len)
{
	memset(&e->prefix, 0, sizeof(e->prefix));
	e->prefix.ip.af = VFW_AF_INET;
	e->prefix.ip.v4 = rte_cpu_to_be_32(rte_be_to_cpu_32(ip_be) &
					   depth_mask(len));
	e->prefix.len = len;
}

/* Each port's subnet as VnetLocal, then 0.0.0.0/0 -> Internet when the vnet
 * port has a gateway. Returns the number of entries written. */
static unsigned int
add_system_routes(const struct vfw_config *cfg, struct vfw_route_entry *ent)
{
	static const char *const names[VFW_PORT_MAX] = {
		[VFW_PORT_VNET] = "system-vnet",
		[VFW_PORT_CLUSTER] = "system-cluster",
	};
	const struct vfw_cfg_port *vnet = &cfg->ports[VFW_PORT_VNET];
	unsigned int n = 0;
	unsigned int r;

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_prefix *a = &cfg->ports[r].address;
		struct vfw_route_entry *e = &ent[n];

		/* IPv6 subnets get system routes once rte_fib6 is wired. */
		if (a->ip.af != VFW_AF_INET || a->len > 32)
			continue;
		set_name(e, names[r]);
		set_prefix4(e, a->ip.v4, a->len);
		e->system = true;
		e->nh.type = VFW_NH_VNETLOCAL;
		e->nh.port = (uint8_t)r;
		e->nh.route = n;
		e->nh.neigh = -1;
		n++;
	}
	if (vnet->has_gateway && vnet->gateway.af == VFW_AF_INET) {
		struct vfw_route_entry *e = &ent[n];

		set_name(e, "system-default");
		set_prefix4(e, 0, 0);
		e->system = true;
		e->nh.type = VFW_NH_INTERNET;
		e->nh.port = VFW_PORT_VNET;
		e->nh.gw = vnet->gateway.v4;
		e->nh.route = n;
		e->nh.neigh = -1;
		n++;
	}
	return n;
}

/* Resolve one user route into e. Returns the number of errors added. */
static unsigned int
add_user_route(const struct vfw_config *cfg, const struct vfw_cfg_route *r,
	       unsigned int idx, struct vfw_route_entry *e,
	       struct vfw_errors *errs)
{
	const struct vfw_cfg_port *vnet = &cfg->ports[VFW_PORT_VNET];
	char a[INET6_ADDRSTRLEN];
	int port;

	set_name(e, r->name);
	e->nh.route = idx;
	e->nh.neigh = -1;
	e->nh.type = (uint8_t)r->type;
	if (r->prefix.ip.af != VFW_AF_INET || r->prefix.len > 32) {
		if (errs != NULL)
			vfw_errors_add(errs, cfg->file, &r->loc,
				       "route %s: only IPv4 prefixes are supported",
				       r->name);
		return 1;
	}
	/* Host bits are masked rather than refused: the loader already
	 * reports them, and the fib would mask them anyway. */
	set_prefix4(e, r->prefix.ip.v4, r->prefix.len);

	switch (r->type) {
	case VFW_NH_VNETLOCAL:
		/* On-link on the port whose subnet holds the prefix; a prefix
		 * outside both subnets (e.g. a peered VNet range declared
		 * VnetLocal) is reached through the vnet port. */
		port = vfw_route_port_of(cfg, e->prefix.ip.v4);
		e->nh.port = port >= 0 ? (uint8_t)port : VFW_PORT_VNET;
		return 0;
	case VFW_NH_APPLIANCE:
		if (!r->has_next_hop || r->next_hop.af != VFW_AF_INET) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, &r->loc,
					       "route %s: %s needs an IPv4 next_hop",
					       r->name,
					       vfw_nh_type_name(r->type));
			return 1;
		}
		ip4_str(r->next_hop.v4, a, sizeof(a));
		if (is_own_address(cfg, r->next_hop.v4)) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, &r->loc,
					       "route %s: next hop %s is this appliance's own address",
					       r->name, a);
			return 1;
		}
		port = vfw_route_port_of(cfg, r->next_hop.v4);
		if (port < 0) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, &r->loc,
					       "route %s: next hop %s is not in the subnet of any port",
					       r->name, a);
			return 1;
		}
		e->nh.port = (uint8_t)port;
		e->nh.gw = r->next_hop.v4;
		return 0;
	case VFW_NH_INTERNET:
		if (!vnet->has_gateway || vnet->gateway.af != VFW_AF_INET) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, &r->loc,
					       "route %s: %s needs ports.vnet.gateway",
					       r->name,
					       vfw_nh_type_name(r->type));
			return 1;
		}
		e->nh.port = VFW_PORT_VNET;
		e->nh.gw = vnet->gateway.v4;
		return 0;
	case VFW_NH_NONE:
		e->nh.port = VFW_PORT_VNET;
		return 0;
	default:
		if (errs != NULL)
			vfw_errors_add(errs, cfg->file, &r->loc,
				       "route %s: unknown next_hop_type %d",
				       r->name, (int)r->type);
		return 1;
	}
}

/*
 * DIR24_8 allocates its tbl8 groups (1 KB each here) up front, and needs
 * one per /24 that holds a prefix longer than /24, nothing else: the
 * default route lives in default_nh; routes go in shortest first, so no
 * group is ever overwritten; every route has its own next hop, so none is
 * ever recycled. Counting them sizes the pool exactly instead of guessing.
 * install_to_fib() wants one spare group while it splits a range, hence
 * + 1; dir24_8 rounds up to 64 anyway.
 */
static int
count_tbl8(const struct vfw_route_entry *ent, unsigned int n, uint32_t *out)
{
	uint64_t *seen;
	uint32_t cnt = 0;
	unsigned int i;

	seen = calloc((1u << 24) / 64, sizeof(*seen));
	if (seen == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint32_t b;
		uint64_t bit;

		if (ent[i].prefix.len <= 24)
			continue;
		b = rte_be_to_cpu_32(ent[i].prefix.ip.v4) >> 8;
		bit = UINT64_C(1) << (b & 63);
		if (!(seen[b >> 6] & bit)) {
			seen[b >> 6] |= bit;
			cnt++;
		}
	}
	free(seen);
	*out = cnt + 1;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * rte_fib sizes its RIB at 2 * max_routes nodes of 192 bytes each (a 40-byte
 * node in a cache-aligned mempool slot): 384 MB for a million routes. The
 * RIB is a path-compressed binary trie, so it holds the distinct prefixes
 * plus one branch node where two of them part without either containing
 * the other. In (address, length) order, which is the trie's preorder, each
 * branch node is the common prefix of one adjacent pair: counting those
 * pairs, less the ones whose common prefix is itself a route (it sorts
 * before the pair, hence the search in key[0..i)), gives the node count.
 * Random tables need about 1.5 nodes per route.
 */
static int
count_rib_nodes(const struct vfw_route_entry *ent, unsigned int n,
		uint32_t *out)
{
	uint64_t *key;
	unsigned int i, m = 0, u, cnt = 0;

	key = malloc((n + 1) * sizeof(*key));
	if (key == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (ent[i].prefix.len != 0)
			key[m++] = (uint64_t)rte_be_to_cpu_32(ent[i].prefix.ip.v4)
				<< 6 | ent[i].prefix.len;
	qsort(key, m, sizeof(*key), cmp_u64);
	/* A user route overriding a system route: one node. */
	for (i = 0, u = 0; i < m; i++)
		if (u == 0 || key[i] != key[u - 1])
			key[u++] = key[i];
	for (i = 0; i < u; i++) {
		uint32_t a, b, x;
		unsigned int la, lb, lcp;

		cnt++;
		if (i + 1 == u)
			break;
		a = (uint32_t)(key[i] >> 6);
		la = key[i] & 63;
		b = (uint32_t)(key[i + 1] >> 6);
		lb = key[i + 1] & 63;
		x = a ^ b;
		lcp = x == 0 ? 32 : (unsigned int)__builtin_clz(x);
		if (lcp < la && lcp < lb &&
		    bsearch(&(uint64_t){(uint64_t)(a & depth_mask((uint8_t)lcp))
					<< 6 | lcp},
			    key, i, sizeof(*key), cmp_u64) == NULL)
			cnt++;
	}
	free(key);
	/* A little slack: running out of RIB nodes fails the build. */
	*out = cnt + cnt / 64 + 16;
	return 0;
}

static struct rte_fib *
create_fib(struct vfw_route_table *rt, const char *name, uint64_t def_nh,
	   uint32_t num_tbl8, uint32_t rib_nodes)
{
	struct rte_fib_conf conf;
	struct rte_fib *fib;
	int attempt;

	memset(&conf, 0, sizeof(conf));
	conf.type = RTE_FIB_DIR24_8;
	conf.default_nh = def_nh;
	/* max_routes only sizes the RIB, at twice as many nodes. */
	conf.max_routes = (int)(rib_nodes / 2 + 1);
	conf.rib_ext_sz = 0;
	conf.dir24_8.nh_sz = ROUTE_NH_SZ;
	conf.dir24_8.num_tbl8 = num_tbl8;

	/* The given name only labels the fib for debugging; uniqueness comes
	 * from the sequence number in front, which truncation never cuts. */
	for (attempt = 0; attempt < 16; attempt++) {
		uint32_t seq = __atomic_fetch_add(&route_fib_seq, 1,
						  __ATOMIC_RELAXED);

		snprintf(rt->fib_name, sizeof(rt->fib_name), "vr%x_%s", seq,
			 name);
		fib = rte_fib_create(rt->fib_name, SOCKET_ID_ANY, &conf);
		if (fib != NULL || rte_errno != EEXIST)
			return fib;
	}
	return NULL;
}

/*
 * Entry indexes sorted by prefix length, shortest first, entry order kept
 * within a length (a stable counting sort: system routes stay ahead of user
 * routes). The default route (length 0) is left out: it is the fib's
 * default_nh.
 *
 * Why shortest first: the DIR24_8 of DPDK 22.11 corrupts the whole tbl24
 * when it adds a prefix that ends at 255.255.255.255 while sub-prefixes
 * already cover its end (e.g. 255.0.0.0/9 and 255.128.0.0/9, then
 * 255.0.0.0/8: modify_fib() wraps its left edge to 0 and installs 0/0).
 * Added shortest first, a prefix never has sub-prefixes in the RIB when it
 * is added, so that path is never taken. It is also the fastest order: each
 * add writes its range once without walking sub-prefixes, and each tbl8
 * group is allocated once and never overwritten.
 */
static uint32_t *
sort_by_length(const struct vfw_route_table *rt)
{
	unsigned int start[RTE_FIB_MAXDEPTH + 2] = {0};
	uint32_t *order;
	unsigned int i, len;

	order = malloc((rt->n + 1) * sizeof(*order));
	if (order == NULL)
		return NULL;
	for (i = 0; i < rt->n; i++)
		start[rt->ent[i].prefix.len + 1]++;
	start[1] = 0; /* drop length 0 */
	for (len = 1; len <= RTE_FIB_MAXDEPTH + 1; len++)
		start[len] += start[len - 1];
	for (i = 0; i < rt->n; i++) {
		len = rt->ent[i].prefix.len;
		if (len != 0)
			order[start[len]++] = i;
	}
	return order;
}

/* Install the valid entries into the fib, shortest prefix first; mark
 * system routes that a user route with the same prefix overrides. Returns
 * the number of errors. */
static unsigned int
install_routes(const struct vfw_config *cfg, struct vfw_route_table *rt,
	       unsigned int n_sys, struct vfw_errors *errs)
{
	struct rte_rib *rib = rte_fib_get_rib(rt->fib);
	unsigned int nerr = 0;
	unsigned int k, n_inst = 0;
	uint32_t *order;

	order = sort_by_length(rt);
	if (order == NULL) {
		if (errs != NULL)
			vfw_errors_add(errs, cfg->file, NULL,
				       "route table: out of memory");
		return 1;
	}
	for (k = 0; k < rt->n; k++)
		if (rt->ent[k].prefix.len != 0)
			n_inst++;
	for (k = 0; k < n_inst; k++) {
		unsigned int i = order[k];
		struct vfw_route_entry *e = &rt->ent[i];
		uint32_t ip = rte_be_to_cpu_32(e->prefix.ip.v4);
		struct rte_rib_node *node;
		uint64_t old;
		int ret;

		node = rte_rib_lookup_exact(rib, ip, e->prefix.len);
		if (node != NULL) {
			rte_rib_get_nh(node, &old);
			if (e->system) {
				/* Two ports with one subnet: the first one
				 * (vnet) keeps it. */
				e->overridden = true;
				continue;
			}
			if (!rt->ent[old].system) {
				char p[INET6_ADDRSTRLEN];
				const struct vfw_cfg_route *r =
					&cfg->routes[i - n_sys];

				if (errs != NULL)
					vfw_errors_add(errs, cfg->file,
						       &r->loc,
						       "route %s: prefix %s/%u is also the prefix of route %s",
						       e->name,
						       ip4_str(e->prefix.ip.v4,
							       p, sizeof(p)),
						       e->prefix.len,
						       rt->ent[old].name);
				nerr++;
				continue;
			}
			/* Azure keeps the system route, shown "Invalid".
			 * Replacing it is safe: nothing longer is in the
			 * fib yet. */
			rt->ent[old].overridden = true;
		}
		ret = rte_fib_add(rt->fib, ip, e->prefix.len, i);
		if (ret < 0) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, NULL,
					       "route %s: rte_fib_add: %s",
					       e->name, strerror(-ret));
			nerr++;
		}
	}
	free(order);
	return nerr;
}

/* Find the default route: a user 0.0.0.0/0 overrides the system one.
 * Returns the fib default next hop, or ROUTE_NO_ROUTE. */
static uint64_t
pick_default(const struct vfw_config *cfg, struct vfw_route_table *rt,
	     unsigned int n_sys, unsigned int *nerr, struct vfw_errors *errs)
{
	uint64_t def = ROUTE_NO_ROUTE;
	unsigned int i;

	for (i = 0; i < rt->n; i++) {
		struct vfw_route_entry *e = &rt->ent[i];

		if (e->prefix.len != 0)
			continue;
		if (def == ROUTE_NO_ROUTE) {
			def = i;
		} else if (e->system) {
			/* System routes come first: the first one keeps
			 * the prefix, as in install_routes(). */
			e->overridden = true;
		} else if (rt->ent[def].system) {
			rt->ent[def].overridden = true;
			def = i;
		} else {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file,
					       &cfg->routes[i - n_sys].loc,
					       "route %s: prefix 0.0.0.0/0 is also the prefix of route %s",
					       e->name, rt->ent[def].name);
			(*nerr)++;
		}
	}
	return def;
}

/* Give every gateway next hop a neighbor slot so workers need no lookup. */
static unsigned int
resolve_gateways(const struct vfw_config *cfg, struct vfw_route_table *rt,
		 struct vfw_neigh_table *neigh, struct vfw_errors *errs)
{
	uint64_t now = rte_get_tsc_cycles();
	uint32_t last_gw = 0;
	int32_t last_slot = -1;
	unsigned int i;

	for (i = 0; i < rt->n; i++) {
		struct vfw_nexthop *nh = &rt->nh_mem[i];
		char a[INET6_ADDRSTRLEN];
		int slot;

		if (nh->gw == 0 || rt->ent[i].overridden)
			continue;
		/* Big tables repeat a handful of gateways. */
		if (nh->gw == last_gw) {
			nh->neigh = last_slot;
			continue;
		}
		slot = vfw_neigh_resolve(neigh, nh->port, nh->gw, now);
		if (slot < 0) {
			if (errs != NULL)
				vfw_errors_add(errs, cfg->file, NULL,
					       "route %s: next hop %s: neighbor table: %s",
					       rt->ent[i].name,
					       ip4_str(nh->gw, a, sizeof(a)),
					       strerror(-slot));
			rte_errno = -slot;
			return 1;
		}
		nh->neigh = slot;
		last_gw = nh->gw;
		last_slot = slot;
	}
	return 0;
}

struct vfw_route_table *
vfw_route_table_build(const struct vfw_config *cfg, const char *name,
		      struct vfw_neigh_table *neigh, struct vfw_errors *errs)
{
	struct vfw_route_table *rt;
	unsigned int n_max, n_sys, nerr = 0, i;
	uint32_t num_tbl8, rib_nodes;
	uint64_t def_nh;
	int err = EINVAL;

	if (cfg == NULL || name == NULL ||
	    (cfg->n_routes > 0 && cfg->routes == NULL)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (cfg->n_routes > ROUTE_MAX_ENTRIES) {
		if (errs != NULL)
			vfw_errors_add(errs, cfg->file, NULL,
				       "%u routes: at most %u are supported",
				       cfg->n_routes, ROUTE_MAX_ENTRIES);
		rte_errno = E2BIG;
		return NULL;
	}
	n_max = VFW_PORT_MAX + 1 + cfg->n_routes;

	rt = rte_zmalloc("vfw_route_table", sizeof(*rt), RTE_CACHE_LINE_SIZE);
	if (rt == NULL)
		goto nomem;
	rt->ent = calloc(n_max, sizeof(*rt->ent));
	rt->nh_mem = rte_zmalloc_socket("vfw_route_nh",
					n_max * sizeof(*rt->nh_mem),
					RTE_CACHE_LINE_SIZE, SOCKET_ID_ANY);
	if (rt->ent == NULL || rt->nh_mem == NULL)
		goto nomem;
	rt->nh = rt->nh_mem;
	rt->refs = 1;
	rt->id = __atomic_add_fetch(&route_table_seq, 1, __ATOMIC_RELAXED);

	n_sys = add_system_routes(cfg, rt->ent);
	for (i = 0; i < cfg->n_routes; i++)
		nerr += add_user_route(cfg, &cfg->routes[i], n_sys + i,
				       &rt->ent[n_sys + i], errs);
	rt->n = n_sys + cfg->n_routes;
	if (nerr != 0)
		goto fail;

	def_nh = pick_default(cfg, rt, n_sys, &nerr, errs);
	if (nerr != 0)
		goto fail;
	if (count_tbl8(rt->ent, rt->n, &num_tbl8) < 0 ||
	    count_rib_nodes(rt->ent, rt->n, &rib_nodes) < 0)
		goto nomem;
	rt->fib = create_fib(rt, name, def_nh, num_tbl8, rib_nodes);
	if (rt->fib == NULL) {
		err = rte_errno;
		if (errs != NULL)
			vfw_errors_add(errs, cfg->file, NULL,
				       "route table %s: rte_fib_create: %s",
				       name, rte_strerror(err));
		goto fail_errno;
	}
	nerr = install_routes(cfg, rt, n_sys, errs);
	if (nerr != 0)
		goto fail;

	for (i = 0; i < rt->n; i++)
		rt->nh_mem[i] = rt->ent[i].nh;
	if (neigh != NULL && resolve_gateways(cfg, rt, neigh, errs) != 0) {
		err = rte_errno;
		goto fail_errno;
	}
	for (i = 0; i < rt->n; i++)
		rt->ent[i].nh.neigh = rt->nh_mem[i].neigh;
	return rt;

nomem:
	err = ENOMEM;
	if (errs != NULL)
		vfw_errors_add(errs, cfg->file, NULL,
			       "route table %s: out of memory", name);
	goto fail_errno;
fail:
	err = EINVAL;
fail_errno:
	vfw_route_table_free(rt);
	rte_errno = err;
	return NULL;
}

void
vfw_route_table_free(struct vfw_route_table *rt)
{
	if (rt == NULL || --rt->refs > 0)
		return;
	rte_fib_free(rt->fib);
	rte_free(rt->nh_mem);
	free(rt->ent);
	rte_free(rt);
}

struct vfw_route_table *
vfw_route_table_ref(struct vfw_route_table *rt)
{
	rt->refs++;
	return rt;
}

static bool
prefix_equal(const struct vfw_prefix *a, const struct vfw_prefix *b)
{
	return a->len == b->len && vfw_ip_equal(&a->ip, &b->ip);
}

bool
vfw_route_config_equal(const struct vfw_config *a, const struct vfw_config *b)
{
	unsigned int i;

	for (i = 0; i < VFW_PORT_MAX; i++) {
		const struct vfw_cfg_port *x = &a->ports[i], *y = &b->ports[i];

		if (!prefix_equal(&x->address, &y->address) ||
		    x->has_gateway != y->has_gateway ||
		    (x->has_gateway && !vfw_ip_equal(&x->gateway, &y->gateway)))
			return false;
	}
	if (a->n_routes != b->n_routes)
		return false;
	for (i = 0; i < a->n_routes; i++) {
		const struct vfw_cfg_route *x = &a->routes[i], *y = &b->routes[i];

		if (x->type != y->type || x->has_next_hop != y->has_next_hop ||
		    !prefix_equal(&x->prefix, &y->prefix) ||
		    (x->has_next_hop && !vfw_ip_equal(&x->next_hop, &y->next_hop)) ||
		    strcmp(x->name, y->name) != 0)
			return false;
	}
	return true;
}

void
vfw_route_lookup_bulk(const struct vfw_route_table *rt,
		      const uint32_t *dst_host,
		      const struct vfw_nexthop **nh, unsigned int n)
{
	const struct vfw_nexthop *base = rt->nh;
	uint64_t v[ROUTE_LOOKUP_CHUNK];
	unsigned int i, k;

	while (n > 0) {
		k = RTE_MIN(n, (unsigned int)ROUTE_LOOKUP_CHUNK);
		/* rte_fib takes the addresses non-const but only reads them. */
		rte_fib_lookup_bulk(rt->fib, (uint32_t *)(uintptr_t)dst_host,
				    v, (int)k);
		for (i = 0; i < k; i++)
			nh[i] = likely(v[i] != ROUTE_NO_ROUTE) ?
				&base[v[i]] : NULL;
		dst_host += k;
		nh += k;
		n -= k;
	}
}

uint64_t
vfw_route_table_id(const struct vfw_route_table *rt)
{
	return rt->id;
}

unsigned int
vfw_route_count(const struct vfw_route_table *rt)
{
	return rt == NULL ? 0 : rt->n;
}

const struct vfw_route_entry *
vfw_route_get(const struct vfw_route_table *rt, unsigned int i)
{
	if (rt == NULL || i >= rt->n)
		return NULL;
	return &rt->ent[i];
}
