/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a config document.
 *
 * Two passes over the text: an event scan that refuses what the document
 * API would turn into trouble (anchors/aliases: shared or cyclic nodes and
 * "billion laughs" expansion; absurd nesting; several documents), then
 * yaml_parser_load() for the node tree whose marks give every error its
 * line and column. Parsing continues past errors so that one run reports
 * all of them; only a YAML syntax error stops it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_private.h"

#define SHOW(s) cfg_show((s), (char[CFG_SHOW_MAX + 8]){ 0 }, CFG_SHOW_MAX + 8)

/* A config file larger than this is a mistake, not a config. */
#define CFG_FILE_MAX (256u << 20)

/* Line/column of a byte offset, for reader errors that only carry one. */
static struct vfw_loc
offset_loc(const unsigned char *buf, size_t len, size_t off)
{
	struct vfw_loc l = { 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			l.line++;
			l.col = 1;
		} else {
			l.col++;
		}
	}
	return l;
}

static void
syntax_error(struct cfg_ctx *c, const yaml_parser_t *p,
	     const unsigned char *buf, size_t len)
{
	struct vfw_loc l;
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		cfg_err(c, NULL, "out of memory while parsing YAML");
		break;
	case YAML_READER_ERROR:
		l = offset_loc(buf, len, p->problem_offset);
		cfg_err(c, &l, "invalid input: %s (byte 0x%02x at offset %zu)",
			problem, (unsigned int)(p->problem_value & 0xff),
			p->problem_offset);
		break;
	default:
		l.line = (uint32_t)p->problem_mark.line + 1;
		l.col = (uint32_t)p->problem_mark.column + 1;
		if (p->context != NULL)
			cfg_err(c, &l, "YAML syntax error: %s (%s at line %u)",
				problem, p->context,
				(unsigned int)p->context_mark.line + 1);
		else
			cfg_err(c, &l, "YAML syntax error: %s", problem);
	}
}

static int
prescan(struct cfg_ctx *c, const unsigned char *buf, size_t len)
{
	unsigned int e0 = c->nerr, depth = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		cfg_err(c, NULL, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		struct vfw_loc l;
		yaml_char_t *anchor = NULL;
		bool stop = false;

		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(c, &p, buf, len);
			break;
		}
		l.line = (uint32_t)ev.start_mark.line + 1;
		l.col = (uint32_t)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				cfg_err(c, &l,
					"only one YAML document is allowed");
				stop = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			cfg_err(c, &l,
				"aliases (*%s) are not supported; write the value out",
				SHOW((const char *)ev.data.alias.anchor));
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ?
					 ev.data.sequence_start.anchor :
					 ev.data.mapping_start.anchor;
			if (++depth > CFG_MAX_DEPTH) {
				cfg_err(c, &l,
					"nesting is deeper than %u levels",
					CFG_MAX_DEPTH);
				stop = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (anchor != NULL)
			cfg_err(c, &l,
				"anchors (&%s) are not supported; write the value out",
				SHOW((const char *)anchor));
		yaml_event_delete(&ev);
		if (stop || c->nerr >= CFG_MAX_ERRORS)
			break;
	}
	yaml_parser_delete(&p);
	return c->nerr == e0 ? 0 : -EINVAL;
}

/* --- sections --------------------------------------------------------- */

enum {
	K_PORTS, K_VNET_PREFIXES, K_NEIGHBORS, K_ADDRESS_SETS, K_RULES, K_NAT,
	K_ROUTES, K_CONNTRACK, K_CONTROL, K_MAX
};
static const char *const top_keys[K_MAX] = {
	"ports", "vnet_prefixes", "neighbors", "address_sets",
	"security_rules", "nat", "routes", "conntrack", "control",
};

enum { PK_DEVICE, PK_ADDRESS, PK_GATEWAY, PK_MAC, PK_ADDRESS6, PK_MTU, PK_MAX };
static const char *const port_keys[PK_MAX] = {
	"device", "address", "gateway", "mac", "address6", "mtu",
};

/*
 * An interface address: host bits are the point here, but the prefix
 * length is required because it defines the on-link subnet.
 */
static int
iface_addr(struct cfg_ctx *c, yaml_node_t *n, const char *path, uint8_t af,
	   struct vfw_prefix *out)
{
	const char *s = cfg_scalar(c, n, path);
	const char *ex = af == VFW_AF_INET ? "10.0.1.4/24" : "fd00::4/64";
	int rc;

	if (s == NULL)
		return -EINVAL;
	rc = vfw_prefix_parse(s, out);
	if (rc < 0 && rc != -EDOM) {
		cfg_err_node(c, n, "%s: bad CIDR '%s' (expected an address with prefix length, e.g. %s)",
			     path, SHOW(s), ex);
		return -EINVAL;
	}
	if (strchr(s, '/') == NULL) {
		cfg_err_node(c, n, "%s: '%s' needs a prefix length (e.g. %s)",
			     path, SHOW(s), ex);
		return -EINVAL;
	}
	if (out->ip.af != af) {
		cfg_err_node(c, n, "%s: '%s' is not an IPv%u address", path,
			     SHOW(s), af);
		return -EINVAL;
	}
	if (out->len == 0) {
		cfg_err_node(c, n, "%s: prefix length 0 is not an interface subnet",
			     path);
		return -EINVAL;
	}
	return 0;
}

static int
parse_port(struct cfg_ctx *c, yaml_node_t *n, enum vfw_port_role role,
	   struct vfw_cfg_port *p)
{
	static const char *const names[VFW_PORT_MAX] = { "vnet", "cluster" };
	unsigned int e0 = c->nerr;
	yaml_node_t *v[PK_MAX];
	char path[32], pb[64];
	const char *s;
	uint32_t x;

	snprintf(path, sizeof(path), "ports.%s", names[role]);
	p->loc = cfg_node_loc(n);
	if (!cfg_fields(c, n, path, "port", port_keys, PK_MAX, v))
		return -EINVAL;
	if (v[PK_DEVICE] == NULL)
		cfg_err_node(c, n, "%s: missing required key 'device'", path);
	if (v[PK_ADDRESS] == NULL)
		cfg_err_node(c, n, "%s: missing required key 'address'", path);
	snprintf(pb, sizeof(pb), "%s.device", path);
	if (v[PK_DEVICE] && (s = cfg_scalar(c, v[PK_DEVICE], pb)) != NULL) {
		if (strlen(s) >= sizeof(p->device))
			cfg_err_node(c, v[PK_DEVICE],
				     "%s: device name is too long (at most %zu characters)",
				     pb, sizeof(p->device) - 1);
		else
			strcpy(p->device, s);
	}
	snprintf(pb, sizeof(pb), "%s.address", path);
	if (v[PK_ADDRESS])
		iface_addr(c, v[PK_ADDRESS], pb, VFW_AF_INET, &p->address);
	snprintf(pb, sizeof(pb), "%s.address6", path);
	if (v[PK_ADDRESS6] &&
	    iface_addr(c, v[PK_ADDRESS6], pb, VFW_AF_INET6, &p->address6) == 0)
		p->has_address6 = true;
	snprintf(pb, sizeof(pb), "%s.gateway", path);
	if (v[PK_GATEWAY] && role != VFW_PORT_VNET)
		cfg_err_node(c, v[PK_GATEWAY],
			     "%s: only the vnet port has a gateway", pb);
	else if (v[PK_GATEWAY] &&
		 cfg_ip(c, v[PK_GATEWAY], pb, &p->gateway) == 0) {
		if (p->gateway.af != VFW_AF_INET)
			cfg_err_node(c, v[PK_GATEWAY],
				     "%s: the gateway must be an IPv4 address",
				     pb);
		else
			p->has_gateway = true;
	}
	snprintf(pb, sizeof(pb), "%s.mac", path);
	if (v[PK_MAC] && cfg_mac(c, v[PK_MAC], pb, &p->mac) == 0)
		p->has_mac = true;
	snprintf(pb, sizeof(pb), "%s.mtu", path);
	if (v[PK_MTU] && cfg_u32(c, v[PK_MTU], pb, VFW_PORT_MTU_MIN,
				 VFW_PORT_MTU_MAX, &x) == 0)
		p->mtu = (uint16_t)x;
	return c->nerr == e0 ? 0 : -EINVAL;
}

static void
parse_ports(struct cfg_ctx *c, yaml_node_t *root, yaml_node_t *n,
	    struct vfw_config *cfg, struct cfg_broken *bk)
{
	static const char *const roles[VFW_PORT_MAX] = { "vnet", "cluster" };
	yaml_node_t *v[VFW_PORT_MAX];
	unsigned int e0 = c->nerr, r;

	if (n == NULL) {
		cfg_err_node(c, root, "missing required key 'ports' (with vnet and cluster)");
		bk->ports = true;
		return;
	}
	if (cfg_fields(c, n, "ports", "ports", roles, VFW_PORT_MAX, v)) {
		for (r = 0; r < VFW_PORT_MAX; r++) {
			if (v[r] == NULL)
				cfg_err_node(c, n,
					     "ports: missing required key '%s'",
					     roles[r]);
			else
				parse_port(c, v[r], (enum vfw_port_role)r,
					   &cfg->ports[r]);
		}
	}
	bk->ports = c->nerr != e0;
}

/* A list section: a sequence, or nothing at all ("key:" / []). */
static int
section_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	     const char *what, unsigned int *count)
{
	*count = 0;
	if (n == NULL || cfg_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_err_node(c, n, "%s: expected a list of %s, got %s", path,
			     what, cfg_kind(n));
		return -EINVAL;
	}
	*count = (unsigned int)(n->data.sequence.items.top -
				n->data.sequence.items.start);
	return 0;
}

static void *
alloc_items(struct cfg_ctx *c, yaml_node_t *n, unsigned int count,
	    size_t size, bool **broken)
{
	void *arr;

	if (count == 0)
		return NULL;
	arr = calloc(count, size);
	*broken = calloc(count, sizeof(**broken));
	if (arr == NULL || *broken == NULL) {
		free(arr);
		free(*broken);
		*broken = NULL;
		cfg_err_node(c, n, "out of memory");
		return NULL;
	}
	return arr;
}

/* Parse every item of a list section with the item parser fn. */
#define PARSE_LIST(c, node, path, what, type, fn, arr, cnt, bkarr)            \
	do {                                                                  \
		unsigned int n_, i_;                                          \
		if (section_list(c, node, path, what, &n_) < 0 || n_ == 0)   \
			break;                                                \
		arr = alloc_items(c, node, n_, sizeof(type), &bkarr);         \
		if (arr == NULL)                                              \
			break;                                                \
		cnt = n_;                                                     \
		for (i_ = 0; i_ < n_; i_++) {                                 \
			char p_[64];                                          \
			snprintf(p_, sizeof(p_), "%s[%u]", path, i_);         \
			bkarr[i_] = fn(c,                                     \
				cfg_node(c, node->data.sequence.items.start[i_]),\
				p_, &arr[i_]) != 0;                           \
		}                                                             \
	} while (0)

static void
parse_sets(struct cfg_ctx *c, yaml_node_t *n, struct vfw_config *cfg,
	   struct cfg_broken *bk)
{
	yaml_node_pair_t *pr;
	unsigned int count, i;

	if (n == NULL || cfg_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		cfg_err_node(c, n,
			     "address_sets: expected a mapping of set name to prefix list, got %s",
			     cfg_kind(n));
		return;
	}
	count = (unsigned int)(n->data.mapping.pairs.top -
			       n->data.mapping.pairs.start);
	if (count == 0)
		return;
	cfg->address_sets = alloc_items(c, n, count, sizeof(*cfg->address_sets),
					&bk->sets);
	if (cfg->address_sets == NULL)
		return;
	cfg->n_address_sets = count;
	for (i = 0, pr = n->data.mapping.pairs.start; i < count; i++, pr++) {
		struct vfw_cfg_addrset *s = &cfg->address_sets[i];
		yaml_node_t *k = cfg_node(c, pr->key);
		yaml_node_t *v = cfg_node(c, pr->value);
		unsigned int e0 = c->nerr;
		char path[96];
		const char *name = cfg_scalar(c, k, "address_sets");

		s->loc = cfg_node_loc(k);
		if (name == NULL) {
			bk->sets[i] = true;
			continue;
		}
		if (!cfg_name_valid(name)) {
			cfg_err_node(c, k,
				     "address_sets: '%s' is not a valid name (1-%u characters of A-Z a-z 0-9 _ . -)",
				     SHOW(name), VFW_NAME_MAX - 1);
			bk->sets[i] = true;
			continue;
		}
		strcpy(s->name, name);
		if (cfg_set_reserved(name))
			cfg_err_node(c, k,
				     "address_sets: '%s' is reserved (any, VirtualNetwork and Internet are built in)",
				     name);
		else if (name[0] >= '0' && name[0] <= '9')
			cfg_err_node(c, k,
				     "address_sets: '%s' must not start with a digit (it would read as an address)",
				     name);
		/* Duplicate names are found by validation (sorted, not n^2). */
		snprintf(path, sizeof(path), "address_sets.%s", name);
		cfg_prefix_list(c, v, path, false, false, &s->prefixes,
				&s->n_prefixes);
		bk->sets[i] = c->nerr != e0;
	}
}

enum { NATK_DNAT, NATK_SNAT, NATK_MAX };
static const char *const nat_keys[NATK_MAX] = { "dnat", "snat" };

static void
parse_nat(struct cfg_ctx *c, yaml_node_t *n, struct vfw_config *cfg,
	  struct cfg_broken *bk)
{
	yaml_node_t *v[NATK_MAX];

	if (n == NULL || cfg_is_null(n))
		return;
	if (!cfg_fields(c, n, "nat", "nat", nat_keys, NATK_MAX, v))
		return;
	if (v[NATK_DNAT])
		PARSE_LIST(c, v[NATK_DNAT], "nat.dnat", "dnat rules",
			   struct vfw_cfg_dnat, cfg_parse_dnat, cfg->dnat,
			   cfg->n_dnat, bk->dnat);
	if (v[NATK_SNAT])
		PARSE_LIST(c, v[NATK_SNAT], "nat.snat", "snat rules",
			   struct vfw_cfg_snat, cfg_parse_snat, cfg->snat,
			   cfg->n_snat, bk->snat);
}

enum { CK_MAX_SESSIONS, CK_TCP_LOOSE, CK_TIMEOUTS, CK_MAX };
static const char *const ct_keys[CK_MAX] = {
	"max_sessions", "tcp_loose", "timeouts",
};
enum { TO_SYN, TO_EST, TO_CLOSING, TO_UDP, TO_ICMP, TO_MAX };
static const char *const to_keys[TO_MAX] = {
	"tcp_syn", "tcp_established", "tcp_closing", "udp", "icmp",
};

/* Bad values leave the default in place so validation stays quiet. */
static void
parse_conntrack(struct cfg_ctx *c, yaml_node_t *n, struct vfw_cfg_conntrack *ct)
{
	yaml_node_t *v[CK_MAX], *t[TO_MAX];
	uint32_t *to[TO_MAX] = {
		&ct->timeouts.tcp_syn, &ct->timeouts.tcp_established,
		&ct->timeouts.tcp_closing, &ct->timeouts.udp,
		&ct->timeouts.icmp,
	};
	char pb[64];
	unsigned int i;
	uint32_t x;
	bool b;

	if (n == NULL || cfg_is_null(n))
		return;
	if (!cfg_fields(c, n, "conntrack", "conntrack", ct_keys, CK_MAX, v))
		return;
	if (v[CK_MAX_SESSIONS] &&
	    cfg_u32(c, v[CK_MAX_SESSIONS], "conntrack.max_sessions", 1024,
		    67108864, &x) == 0) {
		ct->max_sessions = x;
		ct->max_sessions_loc = cfg_node_loc(v[CK_MAX_SESSIONS]);
	}
	if (v[CK_TCP_LOOSE] &&
	    cfg_bool(c, v[CK_TCP_LOOSE], "conntrack.tcp_loose", &b) == 0)
		ct->tcp_loose = b;
	if (v[CK_TIMEOUTS] == NULL || cfg_is_null(v[CK_TIMEOUTS]))
		return;
	if (!cfg_fields(c, v[CK_TIMEOUTS], "conntrack.timeouts", "timeouts",
			to_keys, TO_MAX, t))
		return;
	for (i = 0; i < TO_MAX; i++) {
		snprintf(pb, sizeof(pb), "conntrack.timeouts.%s", to_keys[i]);
		if (t[i] && cfg_u32(c, t[i], pb, 1, 1000000, &x) == 0)
			*to[i] = x;
	}
}

enum { CTL_SOCKET, CTL_MODE, CTL_MAX };
static const char *const ctl_keys[CTL_MAX] = { "socket", "mode" };

/*
 * mode: a file mode is octal by nature. Quoted strings ("0660", "660") and
 * plain numbers with a leading 0 are octal; a plain number without one is
 * taken as YAML would, decimal (432 == 0660).
 */
static int
parse_mode(struct cfg_ctx *c, yaml_node_t *n, uint32_t *out)
{
	const char *s = cfg_scalar(c, n, "control.mode");
	bool octal;
	unsigned long v;
	char *end;

	if (s == NULL)
		return -EINVAL;
	octal = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || s[0] == '0';
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2;
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 8) {
		cfg_err_node(c, n,
			     "control.mode: '%s' is not a file mode (expected an octal string such as \"0660\")",
			     SHOW((const char *)n->data.scalar.value));
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(s, &end, octal ? 8 : 10);
	if (*end != '\0' || errno != 0) {
		cfg_err_node(c, n,
			     "control.mode: '%s' is not a file mode (expected an octal string such as \"0660\")",
			     SHOW((const char *)n->data.scalar.value));
		return -EINVAL;
	}
	if (v > 0777) {
		cfg_err_node(c, n, "control.mode: %s is out of range (0-0777)",
			     SHOW((const char *)n->data.scalar.value));
		return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static void
parse_control(struct cfg_ctx *c, yaml_node_t *n, struct vfw_cfg_control *ctl)
{
	yaml_node_t *v[CTL_MAX];
	const char *s;
	uint32_t mode;

	if (n == NULL || cfg_is_null(n))
		return;
	if (!cfg_fields(c, n, "control", "control", ctl_keys, CTL_MAX, v))
		return;
	if (v[CTL_SOCKET] &&
	    (s = cfg_scalar(c, v[CTL_SOCKET], "control.socket")) != NULL) {
		/* sun_path is 108 bytes including the NUL. */
		if (s[0] == '\0')
			cfg_err_node(c, v[CTL_SOCKET],
				     "control.socket: the path is empty (e.g. /run/vnetfw/control.sock)");
		else if (strlen(s) >= sizeof(ctl->socket))
			cfg_err_node(c, v[CTL_SOCKET],
				     "control.socket: path is too long (%zu bytes, at most %zu)",
				     strlen(s), sizeof(ctl->socket) - 1);
		else
			strcpy(ctl->socket, s);
	}
	if (v[CTL_MODE] && parse_mode(c, v[CTL_MODE], &mode) == 0)
		ctl->mode = mode;
}

static void
parse_vnet_prefixes(struct cfg_ctx *c, yaml_node_t *n, struct vfw_config *cfg,
		    struct cfg_broken *bk)
{
	unsigned int i;

	if (n == NULL || cfg_is_null(n))
		return;
	if (n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top ==
						     n->data.sequence.items.start)
		return;
	if (cfg_prefix_list(c, n, "vnet_prefixes", false, false,
			    &cfg->vnet_prefixes, &cfg->n_vnet_prefixes) < 0 ||
	    cfg->n_vnet_prefixes == 0)
		return;
	/* Parsed without error: entry i is item i of the list (or n). */
	bk->vnet_prefix_locs = calloc(cfg->n_vnet_prefixes,
				      sizeof(*bk->vnet_prefix_locs));
	if (bk->vnet_prefix_locs == NULL)
		return; /* the messages just lose their place */
	for (i = 0; i < cfg->n_vnet_prefixes; i++)
		bk->vnet_prefix_locs[i] = cfg_node_loc(
			n->type == YAML_SEQUENCE_NODE ?
			cfg_node(c, n->data.sequence.items.start[i]) : n);
}

static void
parse_root(struct cfg_ctx *c, yaml_node_t *root, struct vfw_config *cfg,
	   struct cfg_broken *bk)
{
	yaml_node_t *v[K_MAX];

	if (root->type != YAML_MAPPING_NODE) {
		cfg_err_node(c, root,
			     "the document must be a mapping with the keys ports, security_rules, ... (got %s)",
			     cfg_kind(root));
		bk->ports = true;
		return;
	}
	cfg_fields(c, root, "config", "the config", top_keys, K_MAX, v);
	parse_ports(c, root, v[K_PORTS], cfg, bk);
	parse_vnet_prefixes(c, v[K_VNET_PREFIXES], cfg, bk);
	PARSE_LIST(c, v[K_NEIGHBORS], "neighbors", "neighbors",
		   struct vfw_cfg_neighbor, cfg_parse_neighbor, cfg->neighbors,
		   cfg->n_neighbors, bk->neighbors);
	parse_sets(c, v[K_ADDRESS_SETS], cfg, bk);
	PARSE_LIST(c, v[K_RULES], "security_rules", "security rules",
		   struct vfw_cfg_rule, cfg_parse_rule, cfg->rules,
		   cfg->n_rules, bk->rules);
	parse_nat(c, v[K_NAT], cfg, bk);
	PARSE_LIST(c, v[K_ROUTES], "routes", "routes", struct vfw_cfg_route,
		   cfg_parse_route, cfg->routes, cfg->n_routes, bk->routes);
	parse_conntrack(c, v[K_CONNTRACK], &cfg->conntrack);
	parse_control(c, v[K_CONTROL], &cfg->control);
}

static void
broken_free(struct cfg_broken *bk)
{
	free(bk->sets);
	free(bk->neighbors);
	free(bk->rules);
	free(bk->dnat);
	free(bk->snat);
	free(bk->routes);
	free(bk->vnet_prefix_locs);
}

struct vfw_config *
vfw_config_load_string(const char *buf, size_t len, const char *name,
		       struct vfw_errors *errs)
{
	struct cfg_ctx c = { .file = name, .errs = errs, .sort = true };
	struct cfg_broken bk;
	struct vfw_config *cfg;
	yaml_document_t doc;
	yaml_parser_t p;
	yaml_node_t *root;

	memset(&bk, 0, sizeof(bk));
	c.first = errs != NULL ? errs->n : 0;
	if (buf == NULL)
		len = 0;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (name != NULL && (cfg->file = strdup(name)) == NULL)) {
		free(cfg);
		vfw_errors_add(errs, name, NULL, "out of memory");
		return NULL;
	}
	cfg_set_defaults(cfg);
	if (prescan(&c, (const unsigned char *)(buf ? buf : ""), len) < 0)
		goto out;
	if (!yaml_parser_initialize(&p)) {
		cfg_err(&c, NULL, "out of memory");
		goto out;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(buf ? buf : ""),
				     len);
	if (!yaml_parser_load(&p, &doc)) {
		syntax_error(&c, &p, (const unsigned char *)buf, len);
		yaml_parser_delete(&p);
		goto out;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		cfg_err(&c, NULL,
			"the document is empty (expected a mapping with at least 'ports')");
	} else {
		parse_root(&c, root, cfg, &bk);
		cfg_validate(&c, cfg, &bk);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
out:
	broken_free(&bk);
	cfg_errors_sort(&c);
	if (c.nerr != 0) {
		vfw_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct vfw_config *
vfw_config_load_file(const char *path, struct vfw_errors *errs)
{
	struct vfw_config *cfg = NULL;
	struct stat st;
	char *buf;
	size_t got;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		vfw_errors_add(errs, path, NULL, "cannot open: %s",
			       strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > CFG_FILE_MAX) {
		vfw_errors_add(errs, path, NULL,
			       "not a regular file of at most %u MiB",
			       CFG_FILE_MAX >> 20);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		vfw_errors_add(errs, path, NULL, "out of memory");
		fclose(f);
		return NULL;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		vfw_errors_add(errs, path, NULL, "read error: %s",
			       strerror(errno));
	} else {
		buf[got] = '\0';
		cfg = vfw_config_load_string(buf, got, path, errs);
	}
	free(buf);
	fclose(f);
	return cfg;
}
