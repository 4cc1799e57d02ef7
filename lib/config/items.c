/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed parsing of YAML nodes: scalars, lists, and the list items of the
 * config (rules, routes, NAT rules, neighbors). The same parsers serve the
 * config file and the control socket, so an item has one shape everywhere.
 *
 * Item parsers check everything that can be checked on the item alone and
 * report it at the exact node; cross-item checks are in validate.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_ether.h>

#include "config_private.h"

/* Printable copy of a value for a message, valid until the end of the
 * enclosing full expression's block. */
#define SHOW(s) cfg_show((s), (char[CFG_SHOW_MAX + 8]){ 0 }, CFG_SHOW_MAX + 8)

#define PATH_MAX_ 160

/*
 * Paths like "security_rules[12].source[3]" prefix every message. They are
 * short; should one ever be cut, only the message gets shorter.
 */
static const char *
sub(char *buf, size_t len, const char *path, const char *key)
{
	if (snprintf(buf, len, "%s.%s", path, key) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *
idx(char *buf, size_t len, const char *path, unsigned int i)
{
	if (snprintf(buf, len, "%s[%u]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

yaml_node_t *
cfg_node(struct cfg_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

const char *
cfg_kind(const yaml_node_t *n)
{
	if (n == NULL)
		return "nothing";
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* An empty value ("key:" with nothing after it, or ~ / null). */
bool
cfg_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n == NULL || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/*
 * The text of a scalar node. Refuses other node kinds, empty plain values
 * (a forgotten value, not an empty string) and embedded NULs (which would
 * silently truncate a C string).
 */
const char *
cfg_scalar(struct cfg_ctx *c, yaml_node_t *n, const char *path)
{
	const char *s;

	if (n == NULL) {
		cfg_err(c, NULL, "%s: missing value", path);
		return NULL;
	}
	if (n->type != YAML_SCALAR_NODE) {
		cfg_err_node(c, n, "%s: expected a single value, got %s", path,
			     cfg_kind(n));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		cfg_err_node(c, n, "%s: value contains a NUL character", path);
		return NULL;
	}
	if (cfg_is_null(n)) {
		cfg_err_node(c, n, "%s: missing value", path);
		return NULL;
	}
	return s;
}

/*
 * Edit distance with transpositions (optimal string alignment), for the
 * "did you mean" hint on misspelt keys. Keys are short; longer input is
 * not worth a suggestion.
 */
static unsigned int
key_distance(const char *a, const char *b)
{
	unsigned int d[33][33], i, j;
	size_t la = strlen(a), lb = strlen(b);

	if (la > 32 || lb > 32)
		return UINT32_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned int cost = a[i - 1] != b[j - 1];
			unsigned int v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * Split a mapping into the values of known keys (vals[i] for keys[i]).
 * Unknown and duplicate keys are errors. Returns false if n is not a
 * mapping at all (the caller cannot go on), true otherwise.
 */
int
cfg_fields(struct cfg_ctx *c, yaml_node_t *map, const char *path,
	   const char *what, const char *const *keys, unsigned int nkeys,
	   yaml_node_t **vals)
{
	yaml_node_pair_t *p;
	unsigned int i;

	for (i = 0; i < nkeys; i++)
		vals[i] = NULL;
	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		cfg_err_node(c, map, "%s: expected a mapping (%s), got %s",
			     path, what, cfg_kind(map));
		return false;
	}
	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key);
		yaml_node_t *v = cfg_node(c, p->value);
		const char *name;

		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    strlen((const char *)k->data.scalar.value) !=
			    k->data.scalar.length) {
			cfg_err_node(c, k, "%s: keys must be plain names, got %s",
				     path, cfg_kind(k));
			continue;
		}
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys; i++)
			if (strcmp(name, keys[i]) == 0)
				break;
		if (i == nkeys) {
			char expected[512], hint[96];
			size_t o = 0;
			unsigned int j, best = 3, dist;

			hint[0] = '\0';
			for (j = 0; j < nkeys; j++) {
				dist = key_distance(name, keys[j]);
				if (dist < best) {
					best = dist;
					snprintf(hint, sizeof(hint),
						 "; did you mean '%s'?", keys[j]);
				}
			}
			expected[0] = '\0';
			for (j = 0; j < nkeys && o < sizeof(expected); j++) {
				int w = snprintf(expected + o,
						 sizeof(expected) - o, "%s%s",
						 j ? ", " : "", keys[j]);
				if (w < 0)
					break;
				o += (size_t)w;
			}
			cfg_err_node(c, k,
				     "%s: unknown key '%s' in %s (expected one of: %s)%s",
				     path, SHOW(name), what, expected, hint);
			continue;
		}
		if (vals[i] != NULL) {
			cfg_err_node(c, k,
				     "%s: duplicate key '%s' (first at line %u)",
				     path, keys[i], cfg_node_loc(vals[i]).line);
			continue;
		}
		/* A key with no value node at all cannot come from libyaml,
		 * but keep the "present" marker non-NULL regardless. */
		vals[i] = v != NULL ? v : k;
	}
	return true;
}

static void
need(struct cfg_ctx *c, yaml_node_t *map, const char *path, yaml_node_t *v,
     const char *key)
{
	if (v == NULL)
		cfg_err_node(c, map, "%s: missing required key '%s'", path, key);
}

/* Strict unsigned decimal: digits only, no sign, no spaces. */
static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		v = UINT64_MAX; /* reported as out of range by callers */
	*out = v;
	return 0;
}

int
cfg_u32(struct cfg_ctx *c, yaml_node_t *n, const char *path, uint32_t min,
	uint32_t max, uint32_t *out)
{
	const char *s = cfg_scalar(c, n, path);
	uint64_t v;

	if (s == NULL)
		return -EINVAL;
	if (parse_u64(s, &v) < 0) {
		cfg_err_node(c, n, "%s: '%s' is not a number (expected %u-%u)",
			     path, SHOW(s), min, max);
		return -EINVAL;
	}
	if (v < min || v > max) {
		cfg_err_node(c, n, "%s: %s is out of range (%u-%u)", path,
			     SHOW(s), min, max);
		return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int
cfg_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = cfg_scalar(c, n, path);
	unsigned int i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < RTE_DIM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	cfg_err_node(c, n, "%s: '%s' is not a boolean (expected true or false)",
		     path, SHOW(s));
	return -EINVAL;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Only the canonical xx:xx:xx:xx:xx:xx form (or with '-'), nothing clever. */
static int
parse_mac(const char *s, struct rte_ether_addr *m)
{
	unsigned int i;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && s[i * 3 + 2] != s[2])
			return -EINVAL;
		m->addr_bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2] == ':' || s[2] == '-' ? 0 : -EINVAL;
}

int
cfg_mac(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	struct rte_ether_addr *out)
{
	const char *s = cfg_scalar(c, n, path);

	if (s == NULL)
		return -EINVAL;
	if (parse_mac(s, out) < 0) {
		cfg_err_node(c, n,
			     "%s: bad MAC address '%s' (expected six hex bytes like 02:00:00:00:01:01)",
			     path, SHOW(s));
		return -EINVAL;
	}
	if (!rte_is_unicast_ether_addr(out) || rte_is_zero_ether_addr(out)) {
		cfg_err_node(c, n,
			     "%s: MAC address %s is not a unicast address",
			     path, SHOW(s));
		return -EINVAL;
	}
	return 0;
}

int
cfg_name(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out)
{
	const char *s = cfg_scalar(c, n, path);

	if (s == NULL)
		return -EINVAL;
	if (!cfg_name_valid(s)) {
		cfg_err_node(c, n,
			     "%s: '%s' is not a valid name (1-%u characters of A-Z a-z 0-9 _ . -)",
			     path, SHOW(s), VFW_NAME_MAX - 1);
		return -EINVAL;
	}
	strcpy(out, s); /* length checked by cfg_name_valid */
	return 0;
}

int
cfg_ip(struct cfg_ctx *c, yaml_node_t *n, const char *path,
       struct vfw_ip *out)
{
	const char *s = cfg_scalar(c, n, path);

	if (s == NULL)
		return -EINVAL;
	if (vfw_ip_parse(s, out) < 0) {
		cfg_err_node(c, n, "%s: bad IP address '%s'", path, SHOW(s));
		return -EINVAL;
	}
	return 0;
}

/* Parse a network prefix from text; host bits are an error with a hint. */
static int
prefix_text(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	    const char *s, struct vfw_prefix *out)
{
	char hint[64], a[64];
	int rc = vfw_prefix_parse(s, out);

	if (rc == -EDOM) {
		struct vfw_prefix fixed = *out;

		cfg_prefix_mask(&fixed);
		cfg_err_node(c, n,
			     "%s: %s has host bits set (did you mean %s?)",
			     path, vfw_prefix_str(out, a, sizeof(a)),
			     vfw_prefix_str(&fixed, hint, sizeof(hint)));
		return rc;
	}
	if (rc < 0) {
		if (strchr(s, '/') != NULL)
			cfg_err_node(c, n, "%s: bad CIDR '%s'", path, SHOW(s));
		else
			cfg_err_node(c, n,
				     "%s: bad address '%s' (expected an IP address or CIDR)",
				     path, SHOW(s));
		return rc;
	}
	return 0;
}

int
cfg_prefix(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	   struct vfw_prefix *out)
{
	const char *s = cfg_scalar(c, n, path);

	if (s == NULL)
		return -EINVAL;
	return prefix_text(c, n, path, s, out);
}

static bool
is_any(const char *s)
{
	return strcasecmp(s, "any") == 0 || strcmp(s, "*") == 0;
}

/*
 * Iterate a "list or single value" node: a scalar is a list of one.
 * Returns the number of elements and the element ids (or the node itself).
 */
struct elems {
	yaml_node_t *one;           /* scalar form */
	yaml_node_item_t *start;    /* list form */
	unsigned int n;
	bool list;
};

static int
elems_of(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	 struct elems *e)
{
	memset(e, 0, sizeof(*e));
	if (n == NULL)
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		e->one = n;
		e->n = 1;
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		e->list = true;
		e->start = n->data.sequence.items.start;
		e->n = (unsigned int)(n->data.sequence.items.top -
				      n->data.sequence.items.start);
		return 0;
	}
	cfg_err_node(c, n, "%s: expected a list or a single value, got %s",
		     path, cfg_kind(n));
	return -EINVAL;
}

static yaml_node_t *
elem(struct cfg_ctx *c, const struct elems *e, unsigned int i, const char *path,
     char *buf, size_t len, const char **epath)
{
	if (!e->list) {
		*epath = path;
		return e->one;
	}
	*epath = idx(buf, len, path, i);
	return cfg_node(c, e->start[i]);
}

int
cfg_prefix_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		bool allow_any, bool allow_empty, struct vfw_prefix **out,
		unsigned int *nout)
{
	unsigned int e0 = c->nerr, i, k = 0;
	struct vfw_prefix *arr = NULL;
	bool any = false;
	struct elems e;

	*out = NULL;
	*nout = 0;
	if (elems_of(c, n, path, &e) < 0)
		return -EINVAL;
	if (e.n == 0) {
		if (!allow_empty) {
			cfg_err_node(c, n, "%s: empty list%s", path,
				     allow_any ? " (use any)" : "");
			return -EINVAL;
		}
		return 0;
	}
	arr = calloc(e.n, sizeof(*arr));
	if (arr == NULL) {
		cfg_err_node(c, n, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < e.n; i++) {
		char pb[PATH_MAX_];
		const char *ep;
		yaml_node_t *en = elem(c, &e, i, path, pb, sizeof(pb), &ep);
		const char *s = cfg_scalar(c, en, ep);

		if (s == NULL)
			continue;
		if (is_any(s)) {
			if (!allow_any)
				cfg_err_node(c, en,
					     "%s: 'any' is not allowed here (use 0.0.0.0/0 or ::/0)",
					     ep);
			else if (e.n > 1)
				cfg_err_node(c, en,
					     "%s: 'any' cannot be combined with other entries",
					     ep);
			any = true;
			continue;
		}
		if (prefix_text(c, en, ep, s, &arr[k]) == 0)
			k++;
	}
	if (c->nerr != e0 || any || k == 0) {
		free(arr);
		return c->nerr != e0 ? -EINVAL : 0;
	}
	*out = arr;
	*nout = k;
	return 0;
}

/* A token that should be read as an address rather than a set name. */
static bool
looks_like_address(const char *s)
{
	return (s[0] >= '0' && s[0] <= '9') || strchr(s, ':') != NULL ||
	       strchr(s, '/') != NULL;
}

static int
addr_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	  struct vfw_cfg_addr **out, unsigned int *nout)
{
	unsigned int e0 = c->nerr, i;
	struct vfw_cfg_addr *arr;
	struct elems e;

	*out = NULL;
	*nout = 0;
	if (elems_of(c, n, path, &e) < 0)
		return -EINVAL;
	/* Missing means any; the list form always has at least one item. */
	arr = calloc(e.n ? e.n : 1, sizeof(*arr));
	if (arr == NULL) {
		cfg_err_node(c, n, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (n == NULL) {
		arr[0].kind = VFW_ADDR_ANY;
		*out = arr;
		*nout = 1;
		return 0;
	}
	if (e.n == 0) {
		cfg_err_node(c, n, "%s: empty list (use any)", path);
		free(arr);
		return -EINVAL;
	}
	for (i = 0; i < e.n; i++) {
		char pb[PATH_MAX_];
		const char *ep;
		yaml_node_t *en = elem(c, &e, i, path, pb, sizeof(pb), &ep);
		const char *s = cfg_scalar(c, en, ep);
		struct vfw_cfg_addr *a = &arr[i];

		if (s == NULL)
			continue;
		if (is_any(s)) {
			a->kind = VFW_ADDR_ANY;
			if (e.n > 1)
				cfg_err_node(c, en,
					     "%s: 'any' cannot be combined with other entries",
					     ep);
		} else if (strcasecmp(s, CFG_SET_VNET) == 0) {
			a->kind = VFW_ADDR_SET;
			strcpy(a->set, CFG_SET_VNET);
		} else if (strcasecmp(s, CFG_SET_INTERNET) == 0) {
			a->kind = VFW_ADDR_SET;
			strcpy(a->set, CFG_SET_INTERNET);
		} else if (looks_like_address(s)) {
			a->kind = VFW_ADDR_PREFIX;
			prefix_text(c, en, ep, s, &a->prefix);
		} else if (cfg_name_valid(s)) {
			a->kind = VFW_ADDR_SET;
			strcpy(a->set, s);
		} else {
			cfg_err_node(c, en,
				     "%s: '%s' is not an address, a CIDR, an address set name or any",
				     ep, SHOW(s));
		}
	}
	if (c->nerr != e0) {
		free(arr);
		return -EINVAL;
	}
	*out = arr;
	*nout = e.n;
	return 0;
}

/* "N" or "A-B"; 0 ok, -EINVAL syntax, -ERANGE value, -EDOM reversed. */
static int
parse_range(const char *s, struct vfw_port_range *r, uint32_t min)
{
	char lo[24];
	const char *dash = strchr(s, '-');
	uint64_t a, b;

	if (dash == NULL) {
		if (parse_u64(s, &a) < 0)
			return -EINVAL;
		b = a;
	} else {
		if ((size_t)(dash - s) >= sizeof(lo))
			return -EINVAL;
		memcpy(lo, s, (size_t)(dash - s));
		lo[dash - s] = '\0';
		if (parse_u64(lo, &a) < 0 || parse_u64(dash + 1, &b) < 0)
			return -EINVAL;
	}
	if (a > 65535 || b > 65535 || a < min || b < min)
		return -ERANGE;
	r->lo = (uint16_t)a;
	r->hi = (uint16_t)b;
	return a > b ? -EDOM : 0;
}

static void
range_err(struct cfg_ctx *c, yaml_node_t *n, const char *path, const char *s,
	  int rc, const struct vfw_port_range *r, uint32_t min)
{
	if (rc == -EINVAL)
		cfg_err_node(c, n,
			     "%s: '%s' is not a port or port range (expected N or A-B%s)",
			     path, SHOW(s), min == 0 ? " or any" : "");
	else if (rc == -ERANGE)
		cfg_err_node(c, n, "%s: port %s is out of range (%u-65535)",
			     path, SHOW(s), min);
	else
		cfg_err_node(c, n, "%s: port range %u-%u is reversed", path,
			     r->lo, r->hi);
}

static int
port_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	  struct vfw_port_range **out, unsigned int *nout)
{
	unsigned int e0 = c->nerr, i, k = 0;
	struct vfw_port_range *arr;
	bool any = false;
	struct elems e;

	*out = NULL;
	*nout = 0;
	if (n == NULL)
		return 0;
	if (elems_of(c, n, path, &e) < 0)
		return -EINVAL;
	if (e.n == 0) {
		cfg_err_node(c, n, "%s: empty list (use any)", path);
		return -EINVAL;
	}
	arr = calloc(e.n, sizeof(*arr));
	if (arr == NULL) {
		cfg_err_node(c, n, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < e.n; i++) {
		char pb[PATH_MAX_];
		const char *ep;
		yaml_node_t *en = elem(c, &e, i, path, pb, sizeof(pb), &ep);
		const char *s = cfg_scalar(c, en, ep);
		int rc;

		if (s == NULL)
			continue;
		if (is_any(s)) {
			if (e.n > 1)
				cfg_err_node(c, en,
					     "%s: 'any' cannot be combined with other entries",
					     ep);
			any = true;
			continue;
		}
		rc = parse_range(s, &arr[k], 0);
		if (rc < 0)
			range_err(c, en, ep, s, rc, &arr[k], 0);
		else
			k++;
	}
	/* "any" is stored as the empty list. */
	if (c->nerr != e0 || any) {
		free(arr);
		return c->nerr != e0 ? -EINVAL : 0;
	}
	*out = arr;
	*nout = k;
	return 0;
}

static int
enum_of(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	const char *const *names, unsigned int nnames, int *out)
{
	const char *s = cfg_scalar(c, n, path);
	char expected[256];
	size_t o = 0;
	unsigned int i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < nnames; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	expected[0] = '\0';
	for (i = 0; i < nnames && o < sizeof(expected); i++) {
		int w = snprintf(expected + o, sizeof(expected) - o, "%s%s",
				 i == 0 ? "" : (i + 1 == nnames ? " or " : ", "),
				 names[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	cfg_err_node(c, n, "%s: '%s' is not valid (expected %s)", path, SHOW(s),
		     expected);
	return -EINVAL;
}

/* --- security rules --------------------------------------------------- */

enum {
	RK_NAME, RK_PRIORITY, RK_DIRECTION, RK_ACCESS, RK_PROTOCOL, RK_SOURCE,
	RK_DESTINATION, RK_SPORTS, RK_DPORTS, RK_DESCRIPTION, RK_MAX
};
static const char *const rule_keys[RK_MAX] = {
	"name", "priority", "direction", "access", "protocol", "source",
	"destination", "source_ports", "destination_ports", "description",
};

int
cfg_parse_rule(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       struct vfw_cfg_rule *out)
{
	static const char *const dirs[] = { "inbound", "outbound" };
	static const char *const acc[] = { "deny", "allow" };
	static const char *const protos[] = { "tcp", "udp", "icmp", "any" };
	static const uint8_t proto_val[] = { IPPROTO_TCP, IPPROTO_UDP,
					     IPPROTO_ICMP, VFW_PROTO_ANY };
	unsigned int e0 = c->nerr;
	yaml_node_t *v[RK_MAX];
	char pb[PATH_MAX_];
	int x;

	memset(out, 0, sizeof(*out));
	out->loc = cfg_node_loc(n);
	if (!cfg_fields(c, n, path, "security rule", rule_keys, RK_MAX, v))
		return (int)(c->nerr - e0);
	need(c, n, path, v[RK_NAME], "name");
	need(c, n, path, v[RK_PRIORITY], "priority");
	need(c, n, path, v[RK_DIRECTION], "direction");
	need(c, n, path, v[RK_ACCESS], "access");

	if (v[RK_NAME])
		cfg_name(c, v[RK_NAME], sub(pb, sizeof(pb), path, "name"),
			 out->name);
	if (v[RK_PRIORITY])
		cfg_u32(c, v[RK_PRIORITY], sub(pb, sizeof(pb), path, "priority"),
			1, 64999, &out->priority);
	if (v[RK_DIRECTION] &&
	    enum_of(c, v[RK_DIRECTION], sub(pb, sizeof(pb), path, "direction"),
		    dirs, RTE_DIM(dirs), &x) == 0)
		out->direction = x == 0 ? VFW_DIR_IN : VFW_DIR_OUT;
	if (v[RK_ACCESS] &&
	    enum_of(c, v[RK_ACCESS], sub(pb, sizeof(pb), path, "access"), acc,
		    RTE_DIM(acc), &x) == 0)
		out->access = x == 0 ? VFW_ACCESS_DENY : VFW_ACCESS_ALLOW;
	out->protocol = VFW_PROTO_ANY;
	/* "*" is Azure's spelling of any; not listed in the hint. */
	if (v[RK_PROTOCOL] && !(v[RK_PROTOCOL]->type == YAML_SCALAR_NODE &&
				strcmp((const char *)v[RK_PROTOCOL]->data.scalar.value,
				       "*") == 0) &&
	    enum_of(c, v[RK_PROTOCOL], sub(pb, sizeof(pb), path, "protocol"),
		    protos, RTE_DIM(protos), &x) == 0)
		out->protocol = proto_val[x];
	addr_list(c, v[RK_SOURCE], sub(pb, sizeof(pb), path, "source"),
		  &out->source, &out->n_source);
	addr_list(c, v[RK_DESTINATION],
		  sub(pb, sizeof(pb), path, "destination"), &out->destination,
		  &out->n_destination);
	port_list(c, v[RK_SPORTS], sub(pb, sizeof(pb), path, "source_ports"),
		  &out->source_ports, &out->n_source_ports);
	port_list(c, v[RK_DPORTS],
		  sub(pb, sizeof(pb), path, "destination_ports"),
		  &out->destination_ports, &out->n_destination_ports);
	/* Ports mean nothing to ICMP; "any" still lets them through (NSG). */
	if (out->protocol == IPPROTO_ICMP) {
		if (out->n_source_ports)
			cfg_err_node(c, v[RK_SPORTS],
				     "%s.source_ports: ports are not allowed with protocol icmp",
				     path);
		if (out->n_destination_ports)
			cfg_err_node(c, v[RK_DPORTS],
				     "%s.destination_ports: ports are not allowed with protocol icmp",
				     path);
	}
	if (v[RK_DESCRIPTION] && !cfg_is_null(v[RK_DESCRIPTION])) {
		const char *s = cfg_scalar(c, v[RK_DESCRIPTION],
					   sub(pb, sizeof(pb), path,
					       "description"));

		if (s != NULL && strlen(s) >= sizeof(out->description))
			cfg_err_node(c, v[RK_DESCRIPTION],
				     "%s: too long (%zu bytes, at most %zu)", pb,
				     strlen(s), sizeof(out->description) - 1);
		else if (s != NULL)
			strcpy(out->description, s);
	}
	if (c->nerr != e0) {
		struct vfw_loc loc = out->loc;

		vfw_cfg_rule_clear(out);
		memset(out, 0, sizeof(*out));
		out->loc = loc;
	}
	return (int)(c->nerr - e0);
}

/* --- routes ----------------------------------------------------------- */

enum { TK_NAME, TK_PREFIX, TK_TYPE, TK_NEXT_HOP, TK_MAX };
static const char *const route_keys[TK_MAX] = {
	"name", "prefix", "next_hop_type", "next_hop",
};

int
cfg_parse_route(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		struct vfw_cfg_route *out)
{
	static const char *const types[VFW_NH_TYPE_MAX] = {
		"VnetLocal", "VirtualAppliance", "Internet", "None",
	};
	unsigned int e0 = c->nerr;
	yaml_node_t *v[TK_MAX];
	char pb[PATH_MAX_];
	bool type_ok = false, prefix_ok = false;
	int x;

	memset(out, 0, sizeof(*out));
	out->loc = cfg_node_loc(n);
	if (!cfg_fields(c, n, path, "route", route_keys, TK_MAX, v))
		return (int)(c->nerr - e0);
	need(c, n, path, v[TK_NAME], "name");
	need(c, n, path, v[TK_PREFIX], "prefix");
	need(c, n, path, v[TK_TYPE], "next_hop_type");
	if (v[TK_NAME])
		cfg_name(c, v[TK_NAME], sub(pb, sizeof(pb), path, "name"),
			 out->name);
	if (v[TK_PREFIX])
		prefix_ok = cfg_prefix(c, v[TK_PREFIX],
				       sub(pb, sizeof(pb), path, "prefix"),
				       &out->prefix) == 0;
	if (v[TK_TYPE] &&
	    enum_of(c, v[TK_TYPE], sub(pb, sizeof(pb), path, "next_hop_type"),
		    types, RTE_DIM(types), &x) == 0) {
		out->type = (enum vfw_nh_type)x;
		type_ok = true;
	}
	if (v[TK_NEXT_HOP] &&
	    cfg_ip(c, v[TK_NEXT_HOP], sub(pb, sizeof(pb), path, "next_hop"),
		   &out->next_hop) == 0)
		out->has_next_hop = true;
	if (type_ok && out->type == VFW_NH_APPLIANCE && v[TK_NEXT_HOP] == NULL)
		cfg_err_node(c, n,
			     "%s: next_hop is required with next_hop_type VirtualAppliance",
			     path);
	if (type_ok && out->type != VFW_NH_APPLIANCE && v[TK_NEXT_HOP] != NULL)
		cfg_err_node(c, v[TK_NEXT_HOP],
			     "%s.next_hop: only allowed with next_hop_type VirtualAppliance (not %s)",
			     path, types[out->type]);
	/* The route table is IPv4 (route.c): say so here, where --check
	 * and validate see it, not only when vnetfw builds the table. */
	if (prefix_ok && out->prefix.ip.af != VFW_AF_INET) {
		cfg_err_node(c, v[TK_PREFIX],
			     "%s.prefix: only IPv4 prefixes are supported (IPv6 is not forwarded yet)",
			     path);
		prefix_ok = false;
	}
	if (prefix_ok && out->has_next_hop &&
	    out->prefix.ip.af != out->next_hop.af)
		cfg_err_node(c, v[TK_NEXT_HOP],
			     "%s.next_hop: address family differs from the prefix's",
			     path);
	if (c->nerr != e0) {
		struct vfw_loc loc = out->loc;

		memset(out, 0, sizeof(*out));
		out->loc = loc;
	}
	return (int)(c->nerr - e0);
}

/* --- DNAT ------------------------------------------------------------- */

enum { DK_NAME, DK_PROTO, DK_DST, DK_DPORT, DK_TADDR, DK_TPORT, DK_MAX };
static const char *const dnat_keys[DK_MAX] = {
	"name", "protocol", "destination", "destination_port",
	"translated_address", "translated_port",
};

int
cfg_parse_dnat(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       struct vfw_cfg_dnat *out)
{
	static const char *const protos[] = { "tcp", "udp" };
	unsigned int e0 = c->nerr;
	yaml_node_t *v[DK_MAX];
	char pb[PATH_MAX_];
	uint32_t port;
	bool dst_ok = false, ta_ok = false;
	int x;

	memset(out, 0, sizeof(*out));
	out->loc = cfg_node_loc(n);
	if (!cfg_fields(c, n, path, "dnat rule", dnat_keys, DK_MAX, v))
		return (int)(c->nerr - e0);
	need(c, n, path, v[DK_NAME], "name");
	need(c, n, path, v[DK_PROTO], "protocol");
	need(c, n, path, v[DK_DST], "destination");
	need(c, n, path, v[DK_DPORT], "destination_port");
	need(c, n, path, v[DK_TADDR], "translated_address");
	if (v[DK_NAME])
		cfg_name(c, v[DK_NAME], sub(pb, sizeof(pb), path, "name"),
			 out->name);
	if (v[DK_PROTO] &&
	    enum_of(c, v[DK_PROTO], sub(pb, sizeof(pb), path, "protocol"),
		    protos, RTE_DIM(protos), &x) == 0)
		out->protocol = x == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	if (v[DK_DST])
		dst_ok = cfg_ip(c, v[DK_DST],
				sub(pb, sizeof(pb), path, "destination"),
				&out->destination) == 0;
	if (v[DK_DPORT] &&
	    cfg_u32(c, v[DK_DPORT], sub(pb, sizeof(pb), path, "destination_port"),
		    1, 65535, &port) == 0)
		out->destination_port = (uint16_t)port;
	if (v[DK_TADDR])
		ta_ok = cfg_ip(c, v[DK_TADDR],
			       sub(pb, sizeof(pb), path, "translated_address"),
			       &out->translated_address) == 0;
	out->translated_port = out->destination_port;
	if (v[DK_TPORT] &&
	    cfg_u32(c, v[DK_TPORT], sub(pb, sizeof(pb), path, "translated_port"),
		    1, 65535, &port) == 0)
		out->translated_port = (uint16_t)port;
	/* NAT rewrites IPv4 only (lib/nat); as for routes, refuse here. */
	if (dst_ok && out->destination.af != VFW_AF_INET) {
		cfg_err_node(c, v[DK_DST],
			     "%s.destination: only IPv4 addresses are supported (IPv6 is not forwarded yet)",
			     path);
		dst_ok = false;
	}
	if (dst_ok && ta_ok &&
	    out->destination.af != out->translated_address.af)
		cfg_err_node(c, v[DK_TADDR],
			     "%s.translated_address: address family differs from destination's",
			     path);
	if (c->nerr != e0) {
		struct vfw_loc loc = out->loc;

		memset(out, 0, sizeof(*out));
		out->loc = loc;
	}
	return (int)(c->nerr - e0);
}

/* --- SNAT ------------------------------------------------------------- */

enum { SK_NAME, SK_SRC, SK_DST, SK_EXCL, SK_TADDRS, SK_PORTS, SK_MAX };
static const char *const snat_keys[SK_MAX] = {
	"name", "source", "destination", "exclude", "translated_addresses",
	"ports",
};

static int
ip_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	struct vfw_ip **out, unsigned int *nout)
{
	unsigned int e0 = c->nerr, i;
	struct vfw_ip *arr;
	struct elems e;

	*out = NULL;
	*nout = 0;
	if (elems_of(c, n, path, &e) < 0)
		return -EINVAL;
	if (e.n == 0) {
		cfg_err_node(c, n, "%s: empty list", path);
		return -EINVAL;
	}
	arr = calloc(e.n, sizeof(*arr));
	if (arr == NULL) {
		cfg_err_node(c, n, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < e.n; i++) {
		char pb[PATH_MAX_];
		const char *ep;
		yaml_node_t *en = elem(c, &e, i, path, pb, sizeof(pb), &ep);

		cfg_ip(c, en, ep, &arr[i]);
	}
	if (c->nerr != e0) {
		free(arr);
		return -EINVAL;
	}
	*out = arr;
	*nout = e.n;
	return 0;
}

/*
 * What lib/nat can build: IPv4 translated addresses, at most
 * VFW_CFG_SNAT_MAX_ADDRS of them per rule. Refused here so that --check and
 * validate say so, not only vnetfw at start or apply.
 */
static void
snat_addrs_check(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		 const struct vfw_cfg_snat *out)
{
	char pb[PATH_MAX_];
	const char *ep;
	struct elems e;
	unsigned int i;

	if (out->n_translated > VFW_CFG_SNAT_MAX_ADDRS) {
		cfg_err_node(c, n, "%s: %u addresses, at most %u are supported",
			     path, out->n_translated, VFW_CFG_SNAT_MAX_ADDRS);
		return;
	}
	if (elems_of(c, n, path, &e) < 0 || e.n != out->n_translated)
		return;
	for (i = 0; i < e.n; i++) {
		yaml_node_t *en = elem(c, &e, i, path, pb, sizeof(pb), &ep);

		if (out->translated_addresses[i].af != VFW_AF_INET)
			cfg_err_node(c, en,
				     "%s: only IPv4 addresses are supported (IPv6 is not forwarded yet)",
				     ep);
	}
}

int
cfg_parse_snat(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       struct vfw_cfg_snat *out)
{
	unsigned int e0 = c->nerr;
	yaml_node_t *v[SK_MAX];
	char pb[PATH_MAX_];

	memset(out, 0, sizeof(*out));
	out->loc = cfg_node_loc(n);
	out->ports.lo = 1024;
	out->ports.hi = 65535;
	if (!cfg_fields(c, n, path, "snat rule", snat_keys, SK_MAX, v))
		return (int)(c->nerr - e0);
	need(c, n, path, v[SK_NAME], "name");
	need(c, n, path, v[SK_SRC], "source");
	need(c, n, path, v[SK_TADDRS], "translated_addresses");
	if (v[SK_NAME])
		cfg_name(c, v[SK_NAME], sub(pb, sizeof(pb), path, "name"),
			 out->name);
	if (v[SK_SRC])
		cfg_prefix_list(c, v[SK_SRC], sub(pb, sizeof(pb), path, "source"),
				false, false, &out->source, &out->n_source);
	if (v[SK_DST])
		cfg_prefix_list(c, v[SK_DST],
				sub(pb, sizeof(pb), path, "destination"), true,
				false, &out->destination, &out->n_destination);
	if (v[SK_EXCL] && !cfg_is_null(v[SK_EXCL]))
		cfg_prefix_list(c, v[SK_EXCL],
				sub(pb, sizeof(pb), path, "exclude"), false,
				true, &out->exclude, &out->n_exclude);
	if (v[SK_TADDRS] &&
	    ip_list(c, v[SK_TADDRS],
		    sub(pb, sizeof(pb), path, "translated_addresses"),
		    &out->translated_addresses, &out->n_translated) == 0)
		snat_addrs_check(c, v[SK_TADDRS], pb, out);
	if (v[SK_PORTS]) {
		const char *s = cfg_scalar(c, v[SK_PORTS],
					   sub(pb, sizeof(pb), path, "ports"));
		struct vfw_port_range r;
		int rc;

		if (s != NULL) {
			rc = parse_range(s, &r, 1);
			if (rc < 0)
				range_err(c, v[SK_PORTS], pb, s, rc, &r, 1);
			else
				out->ports = r;
		}
	}
	if (c->nerr != e0) {
		struct vfw_loc loc = out->loc;

		vfw_cfg_snat_clear(out);
		memset(out, 0, sizeof(*out));
		out->loc = loc;
	}
	return (int)(c->nerr - e0);
}

/* --- neighbors -------------------------------------------------------- */

enum { NK_ADDR, NK_MAC, NK_MAX };
static const char *const neigh_keys[NK_MAX] = { "address", "mac" };

int
cfg_parse_neighbor(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		   struct vfw_cfg_neighbor *out)
{
	unsigned int e0 = c->nerr;
	yaml_node_t *v[NK_MAX];
	char pb[PATH_MAX_];

	memset(out, 0, sizeof(*out));
	out->loc = cfg_node_loc(n);
	if (!cfg_fields(c, n, path, "neighbor", neigh_keys, NK_MAX, v))
		return (int)(c->nerr - e0);
	need(c, n, path, v[NK_ADDR], "address");
	need(c, n, path, v[NK_MAC], "mac");
	if (v[NK_ADDR])
		cfg_ip(c, v[NK_ADDR], sub(pb, sizeof(pb), path, "address"),
		       &out->address);
	if (v[NK_MAC])
		cfg_mac(c, v[NK_MAC], sub(pb, sizeof(pb), path, "mac"),
			&out->mac);
	if (c->nerr != e0) {
		struct vfw_loc loc = out->loc;

		memset(out, 0, sizeof(*out));
		out->loc = loc;
	}
	return (int)(c->nerr - e0);
}

/* --- public single-item entry points (control protocol) --------------- */

#define ITEM_ENTRY(fn, type, what, clear)                                  \
int                                                                        \
vfw_config_parse_##fn(yaml_document_t *doc, yaml_node_t *node,             \
		      const char *file, struct type *out,                  \
		      struct vfw_errors *errs)                             \
{                                                                          \
	struct cfg_ctx c = { .doc = doc, .file = file, .errs = errs };     \
	int rc = cfg_parse_##fn(&c, node, what, out);                      \
									   \
	if (rc != 0) {                                                     \
		clear;                                                     \
		memset(out, 0, sizeof(*out));                              \
	}                                                                  \
	return rc;                                                         \
}

ITEM_ENTRY(rule, vfw_cfg_rule, "rule", vfw_cfg_rule_clear(out))
ITEM_ENTRY(route, vfw_cfg_route, "route", (void)0)
ITEM_ENTRY(dnat, vfw_cfg_dnat, "dnat", (void)0)
ITEM_ENTRY(snat, vfw_cfg_snat, "snat", vfw_cfg_snat_clear(out))
ITEM_ENTRY(neighbor, vfw_cfg_neighbor, "neighbor", (void)0)
