/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writers: the whole config as block-style YAML (what "save" writes back
 * to disk) and single items as one-line JSON (what "show" replies with).
 * Both must read back through the loader to the same values, so strings
 * are quoted whenever a plain scalar could be misread, and escaped so the
 * output is valid YAML and valid JSON whatever bytes a field holds.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_private.h"

/* Decode one UTF-8 sequence; returns its length, or 0 if invalid. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		v = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		v = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and out-of-range values are invalid. */
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/*
 * Characters written as \u escapes: JSON needs the C0 controls escaped;
 * YAML additionally refuses DEL, C1 controls and BOM/non-characters, and
 * folds NEL/LS/PS as line breaks inside quotes.
 */
static bool
needs_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

static void
put_quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s != '\0') {
		uint32_t cp;
		size_t n = utf8_decode(s, &cp);

		if (n == 0) {
			/* Not UTF-8: keep the output valid, mark the spot. */
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (needs_escape(cp))
			fprintf(f, "\\u%04x", (unsigned int)cp);
		else
			fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

/*
 * Plain YAML scalars only for the boring cases (names, CIDRs, numbers-ish
 * tokens); anything another YAML reader could take for a bool or null, or
 * that holds ':' (IPv6, MACs, PCI addresses) is quoted.
 */
static bool
plain_ok(const char *s)
{
	static const char *const special[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	unsigned int i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-' || ch == '/'))
			return false;
	}
	for (i = 0; i < RTE_DIM(special); i++)
		if (strcasecmp(s, special[i]) == 0)
			return false;
	return true;
}

static void
put_str(FILE *f, const char *s, bool json)
{
	if (!json && plain_ok(s))
		fputs(s, f);
	else
		put_quoted(f, s);
}

/* Bounded copy of a fixed-size field that might lack its NUL. */
#define MAC_FMT "\"%02x:%02x:%02x:%02x:%02x:%02x\""

#define FIELD(buf, field)                                                  \
	(memcpy((buf), (field), sizeof(field)), (buf)[sizeof(field) - 1] = 0, \
	 (const char *)(buf))

static void
put_ip(FILE *f, const struct vfw_ip *ip, bool json)
{
	char b[64];

	put_str(f, vfw_ip_str(ip, b, sizeof(b)), json);
}

static void
put_prefix(FILE *f, const struct vfw_prefix *p, bool json)
{
	char b[80];

	put_str(f, vfw_prefix_str(p, b, sizeof(b)), json);
}

static void
put_prefixes(FILE *f, const struct vfw_prefix *p, unsigned int n, bool json,
	     bool any_if_empty)
{
	unsigned int i;

	fputc('[', f);
	if (n == 0 && any_if_empty)
		put_str(f, "any", json);
	for (i = 0; p != NULL && i < n; i++) {
		if (i)
			fputs(json ? "," : ", ", f);
		put_prefix(f, &p[i], json);
	}
	fputc(']', f);
}

static void
put_ips(FILE *f, const struct vfw_ip *ip, unsigned int n, bool json)
{
	unsigned int i;

	fputc('[', f);
	for (i = 0; ip != NULL && i < n; i++) {
		if (i)
			fputs(json ? "," : ", ", f);
		put_ip(f, &ip[i], json);
	}
	fputc(']', f);
}

static void
put_addrs(FILE *f, const struct vfw_cfg_addr *a, unsigned int n, bool json)
{
	char b[VFW_NAME_MAX];
	unsigned int i;

	fputc('[', f);
	if (n == 0 || a == NULL)
		put_str(f, "any", json);
	for (i = 0; a != NULL && i < n; i++) {
		if (i)
			fputs(json ? "," : ", ", f);
		switch (a[i].kind) {
		case VFW_ADDR_PREFIX:
			put_prefix(f, &a[i].prefix, json);
			break;
		case VFW_ADDR_SET:
			put_str(f, FIELD(b, a[i].set), json);
			break;
		default:
			put_str(f, "any", json);
		}
	}
	fputc(']', f);
}

static void
put_range(FILE *f, const struct vfw_port_range *r, bool json)
{
	const char *q = json ? "\"" : "";

	if (r->lo == r->hi)
		fprintf(f, "%s%u%s", q, r->lo, q);
	else
		fprintf(f, "%s%u-%u%s", q, r->lo, r->hi, q);
}

static void
put_ranges(FILE *f, const struct vfw_port_range *r, unsigned int n, bool json)
{
	unsigned int i;

	fputc('[', f);
	if (n == 0 || r == NULL)
		put_str(f, "any", json);
	for (i = 0; r != NULL && i < n; i++) {
		if (i)
			fputs(json ? "," : ", ", f);
		put_range(f, &r[i], json);
	}
	fputc(']', f);
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "any";
	}
}

static const char *
dir_name(enum vfw_dir d)
{
	return d == VFW_DIR_OUT ? "outbound" : "inbound";
}

static const char *
access_name(enum vfw_access a)
{
	return a == VFW_ACCESS_ALLOW ? "allow" : "deny";
}

/* --- one-line JSON items ---------------------------------------------- */

static int
done(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}

int
vfw_cfg_rule_write_json(const struct vfw_cfg_rule *r, FILE *f)
{
	char b[sizeof(r->description)];

	fputs("{\"name\":", f);
	put_quoted(f, FIELD(b, r->name));
	fprintf(f, ",\"priority\":%u,\"direction\":\"%s\",\"access\":\"%s\","
		   "\"protocol\":\"%s\",\"source\":",
		r->priority, dir_name(r->direction), access_name(r->access),
		proto_name(r->protocol));
	put_addrs(f, r->source, r->n_source, true);
	fputs(",\"destination\":", f);
	put_addrs(f, r->destination, r->n_destination, true);
	fputs(",\"source_ports\":", f);
	put_ranges(f, r->source_ports, r->n_source_ports, true);
	fputs(",\"destination_ports\":", f);
	put_ranges(f, r->destination_ports, r->n_destination_ports, true);
	if (r->description[0] != '\0') {
		fputs(",\"description\":", f);
		put_quoted(f, FIELD(b, r->description));
	}
	fputc('}', f);
	return done(f);
}

int
vfw_cfg_route_write_json(const struct vfw_cfg_route *r, FILE *f)
{
	char b[VFW_NAME_MAX];

	fputs("{\"name\":", f);
	put_quoted(f, FIELD(b, r->name));
	fputs(",\"prefix\":", f);
	put_prefix(f, &r->prefix, true);
	fprintf(f, ",\"next_hop_type\":\"%s\"", vfw_nh_type_name(r->type));
	if (r->has_next_hop) {
		fputs(",\"next_hop\":", f);
		put_ip(f, &r->next_hop, true);
	}
	fputc('}', f);
	return done(f);
}

int
vfw_cfg_dnat_write_json(const struct vfw_cfg_dnat *d, FILE *f)
{
	char b[VFW_NAME_MAX];

	fputs("{\"name\":", f);
	put_quoted(f, FIELD(b, d->name));
	fprintf(f, ",\"protocol\":\"%s\",\"destination\":",
		d->protocol == IPPROTO_UDP ? "udp" : "tcp");
	put_ip(f, &d->destination, true);
	fprintf(f, ",\"destination_port\":%u,\"translated_address\":",
		d->destination_port);
	put_ip(f, &d->translated_address, true);
	fprintf(f, ",\"translated_port\":%u}", d->translated_port);
	return done(f);
}

int
vfw_cfg_snat_write_json(const struct vfw_cfg_snat *s, FILE *f)
{
	char b[VFW_NAME_MAX];

	fputs("{\"name\":", f);
	put_quoted(f, FIELD(b, s->name));
	fputs(",\"source\":", f);
	put_prefixes(f, s->source, s->n_source, true, false);
	fputs(",\"destination\":", f);
	put_prefixes(f, s->destination, s->n_destination, true, true);
	fputs(",\"exclude\":", f);
	put_prefixes(f, s->exclude, s->n_exclude, true, false);
	fputs(",\"translated_addresses\":", f);
	put_ips(f, s->translated_addresses, s->n_translated, true);
	fputs(",\"ports\":", f);
	fprintf(f, "\"%u-%u\"}", s->ports.lo, s->ports.hi);
	return done(f);
}

/* --- the whole document ----------------------------------------------- */

static void
write_port(FILE *f, const char *role, const struct vfw_cfg_port *p)
{
	char b[sizeof(p->device)];

	fprintf(f, "  %s:\n    device: ", role);
	put_str(f, FIELD(b, p->device), false);
	/* The interface address keeps its host bits: it is an address. */
	fputs("\n    address: ", f);
	put_prefix(f, &p->address, false);
	if (p->has_gateway) {
		fputs("\n    gateway: ", f);
		put_ip(f, &p->gateway, false);
	}
	if (p->has_mac)
		fprintf(f, "\n    mac: " MAC_FMT, RTE_ETHER_ADDR_BYTES(&p->mac));
	if (p->has_address6) {
		fputs("\n    address6: ", f);
		put_prefix(f, &p->address6, false);
	}
	if (p->mtu != 0)
		fprintf(f, "\n    mtu: %u", p->mtu);
	fputc('\n', f);
}

static void
write_rule(FILE *f, const struct vfw_cfg_rule *r)
{
	char b[sizeof(r->description)];

	fputs("  - name: ", f);
	put_str(f, FIELD(b, r->name), false);
	fprintf(f, "\n    priority: %u\n    direction: %s\n    access: %s\n"
		   "    protocol: %s\n    source: ",
		r->priority, dir_name(r->direction), access_name(r->access),
		proto_name(r->protocol));
	put_addrs(f, r->source, r->n_source, false);
	fputs("\n    destination: ", f);
	put_addrs(f, r->destination, r->n_destination, false);
	if (r->n_source_ports) {
		fputs("\n    source_ports: ", f);
		put_ranges(f, r->source_ports, r->n_source_ports, false);
	}
	if (r->n_destination_ports) {
		fputs("\n    destination_ports: ", f);
		put_ranges(f, r->destination_ports, r->n_destination_ports,
			   false);
	}
	if (r->description[0] != '\0') {
		fputs("\n    description: ", f);
		put_quoted(f, FIELD(b, r->description));
	}
	fputc('\n', f);
}

static void
write_nat(FILE *f, const struct vfw_config *cfg)
{
	char b[VFW_NAME_MAX];
	unsigned int i;

	fputs("nat:\n  dnat:", f);
	if (cfg->n_dnat == 0 || cfg->dnat == NULL)
		fputs(" []", f);
	fputc('\n', f);
	for (i = 0; cfg->dnat != NULL && i < cfg->n_dnat; i++) {
		const struct vfw_cfg_dnat *d = &cfg->dnat[i];

		fputs("    - name: ", f);
		put_str(f, FIELD(b, d->name), false);
		fprintf(f, "\n      protocol: %s\n      destination: ",
			d->protocol == IPPROTO_UDP ? "udp" : "tcp");
		put_ip(f, &d->destination, false);
		fprintf(f, "\n      destination_port: %u\n"
			   "      translated_address: ", d->destination_port);
		put_ip(f, &d->translated_address, false);
		fprintf(f, "\n      translated_port: %u\n", d->translated_port);
	}
	fputs("  snat:", f);
	if (cfg->n_snat == 0 || cfg->snat == NULL)
		fputs(" []", f);
	fputc('\n', f);
	for (i = 0; cfg->snat != NULL && i < cfg->n_snat; i++) {
		const struct vfw_cfg_snat *s = &cfg->snat[i];

		fputs("    - name: ", f);
		put_str(f, FIELD(b, s->name), false);
		fputs("\n      source: ", f);
		put_prefixes(f, s->source, s->n_source, false, false);
		fputs("\n      destination: ", f);
		put_prefixes(f, s->destination, s->n_destination, false, true);
		fputs("\n      exclude: ", f);
		put_prefixes(f, s->exclude, s->n_exclude, false, false);
		fputs("\n      translated_addresses: ", f);
		put_ips(f, s->translated_addresses, s->n_translated, false);
		fprintf(f, "\n      ports: %u-%u\n", s->ports.lo, s->ports.hi);
	}
}

int
vfw_config_write(const struct vfw_config *cfg, FILE *f)
{
	const struct vfw_cfg_timeouts *t;
	char b[sizeof(cfg->control.socket)];
	unsigned int i;

	if (cfg == NULL || f == NULL)
		return -EINVAL;
	t = &cfg->conntrack.timeouts;
	fputs("# vnetfw configuration (written by vnetfw; comments are not kept)\n",
	      f);
	fputs("ports:\n", f);
	write_port(f, "vnet", &cfg->ports[VFW_PORT_VNET]);
	write_port(f, "cluster", &cfg->ports[VFW_PORT_CLUSTER]);

	fputs("vnet_prefixes: ", f);
	put_prefixes(f, cfg->vnet_prefixes, cfg->n_vnet_prefixes, false, false);
	fputs("\nneighbors:", f);
	if (cfg->n_neighbors == 0 || cfg->neighbors == NULL)
		fputs(" []", f);
	fputc('\n', f);
	for (i = 0; cfg->neighbors != NULL && i < cfg->n_neighbors; i++) {
		const struct vfw_cfg_neighbor *n = &cfg->neighbors[i];

		fputs("  - {address: ", f);
		put_ip(f, &n->address, false);
		fprintf(f, ", mac: " MAC_FMT "}\n", RTE_ETHER_ADDR_BYTES(&n->mac));
	}

	fputs("address_sets:", f);
	if (cfg->n_address_sets == 0 || cfg->address_sets == NULL)
		fputs(" {}", f);
	fputc('\n', f);
	for (i = 0; cfg->address_sets != NULL && i < cfg->n_address_sets; i++) {
		const struct vfw_cfg_addrset *s = &cfg->address_sets[i];
		char nb[VFW_NAME_MAX];

		fputs("  ", f);
		put_str(f, FIELD(nb, s->name), false);
		fputs(": ", f);
		put_prefixes(f, s->prefixes, s->n_prefixes, false, false);
		fputc('\n', f);
	}

	fputs("security_rules:", f);
	if (cfg->n_rules == 0 || cfg->rules == NULL)
		fputs(" []", f);
	fputc('\n', f);
	for (i = 0; cfg->rules != NULL && i < cfg->n_rules; i++)
		write_rule(f, &cfg->rules[i]);

	write_nat(f, cfg);

	fputs("routes:", f);
	if (cfg->n_routes == 0 || cfg->routes == NULL)
		fputs(" []", f);
	fputc('\n', f);
	for (i = 0; cfg->routes != NULL && i < cfg->n_routes; i++) {
		const struct vfw_cfg_route *r = &cfg->routes[i];
		char nb[VFW_NAME_MAX];

		fputs("  - name: ", f);
		put_str(f, FIELD(nb, r->name), false);
		fputs("\n    prefix: ", f);
		put_prefix(f, &r->prefix, false);
		fprintf(f, "\n    next_hop_type: %s\n", vfw_nh_type_name(r->type));
		if (r->has_next_hop) {
			fputs("    next_hop: ", f);
			put_ip(f, &r->next_hop, false);
			fputc('\n', f);
		}
	}

	fprintf(f, "conntrack:\n  max_sessions: %u\n  tcp_loose: %s\n"
		   "  timeouts:\n    tcp_syn: %u\n    tcp_established: %u\n"
		   "    tcp_closing: %u\n    udp: %u\n    icmp: %u\n",
		cfg->conntrack.max_sessions,
		cfg->conntrack.tcp_loose ? "true" : "false", t->tcp_syn,
		t->tcp_established, t->tcp_closing, t->udp, t->icmp);
	fputs("control:\n  socket: ", f);
	put_str(f, FIELD(b, cfg->control.socket), false);
	fprintf(f, "\n  mode: \"%04o\"\n", cfg->control.mode);
	return done(f);
}

char *
vfw_config_to_string(const struct vfw_config *cfg, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int rc;

	f = open_memstream(&buf, &size);
	if (f == NULL)
		return NULL;
	rc = vfw_config_write(cfg, f);
	if (fclose(f) != 0 || rc < 0) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = size;
	return buf;
}
