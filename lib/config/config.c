/* SPDX-License-Identifier: BSD-3-Clause */
/* Lifetime of a config: defaults, deep copy, free. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ether.h>

#include "config_private.h"

static const char *const nh_names[VFW_NH_TYPE_MAX] = {
	[VFW_NH_VNETLOCAL] = "VnetLocal",
	[VFW_NH_APPLIANCE] = "VirtualAppliance",
	[VFW_NH_INTERNET] = "Internet",
	[VFW_NH_NONE] = "None",
};

const char *
vfw_nh_type_name(enum vfw_nh_type t)
{
	if ((unsigned int)t >= VFW_NH_TYPE_MAX)
		return "?";
	return nh_names[t];
}

void
cfg_set_defaults(struct vfw_config *cfg)
{
	cfg->conntrack.max_sessions = 1048576;
	cfg->conntrack.tcp_loose = false;
	cfg->conntrack.timeouts.tcp_syn = 30;
	cfg->conntrack.timeouts.tcp_established = 14400;
	cfg->conntrack.timeouts.tcp_closing = 120;
	cfg->conntrack.timeouts.udp = 300;
	cfg->conntrack.timeouts.icmp = 60;
	strcpy(cfg->control.socket, "/run/vnetfw/control.sock");
	cfg->control.mode = 0660;
}

void
vfw_cfg_rule_clear(struct vfw_cfg_rule *r)
{
	if (r == NULL)
		return;
	free(r->source);
	free(r->destination);
	free(r->source_ports);
	free(r->destination_ports);
	r->source = NULL;
	r->destination = NULL;
	r->source_ports = NULL;
	r->destination_ports = NULL;
	r->n_source = 0;
	r->n_destination = 0;
	r->n_source_ports = 0;
	r->n_destination_ports = 0;
}

void
vfw_cfg_snat_clear(struct vfw_cfg_snat *s)
{
	if (s == NULL)
		return;
	free(s->source);
	free(s->destination);
	free(s->exclude);
	free(s->translated_addresses);
	s->source = NULL;
	s->destination = NULL;
	s->exclude = NULL;
	s->translated_addresses = NULL;
	s->n_source = 0;
	s->n_destination = 0;
	s->n_exclude = 0;
	s->n_translated = 0;
}

/*
 * Copy an array of n elements; *ok is cleared on allocation failure. A NULL
 * source with n > 0 (a hand-built config gone wrong) becomes zeroed
 * elements rather than a crash.
 */
static void *
dup_array(const void *src, size_t n, size_t size, bool *ok)
{
	void *d;

	if (n == 0)
		return NULL;
	d = calloc(n, size);
	if (d == NULL) {
		*ok = false;
		return NULL;
	}
	if (src != NULL)
		memcpy(d, src, n * size);
	return d;
}

#define DUP(dst, src, n, ok) ((dst) = dup_array((src), (n), sizeof(*(src)), (ok)))

int
vfw_cfg_rule_copy(struct vfw_cfg_rule *dst, const struct vfw_cfg_rule *src)
{
	bool ok = true;

	*dst = *src;
	DUP(dst->source, src->source, src->n_source, &ok);
	DUP(dst->destination, src->destination, src->n_destination, &ok);
	DUP(dst->source_ports, src->source_ports, src->n_source_ports, &ok);
	DUP(dst->destination_ports, src->destination_ports,
	    src->n_destination_ports, &ok);
	if (!ok) {
		vfw_cfg_rule_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

int
vfw_cfg_snat_copy(struct vfw_cfg_snat *dst, const struct vfw_cfg_snat *src)
{
	bool ok = true;

	*dst = *src;
	DUP(dst->source, src->source, src->n_source, &ok);
	DUP(dst->destination, src->destination, src->n_destination, &ok);
	DUP(dst->exclude, src->exclude, src->n_exclude, &ok);
	DUP(dst->translated_addresses, src->translated_addresses,
	    src->n_translated, &ok);
	if (!ok) {
		vfw_cfg_snat_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

void
vfw_config_free(struct vfw_config *cfg)
{
	unsigned int i;

	if (cfg == NULL)
		return;
	free(cfg->file);
	free(cfg->vnet_prefixes);
	free(cfg->neighbors);
	if (cfg->address_sets != NULL)
		for (i = 0; i < cfg->n_address_sets; i++)
			free(cfg->address_sets[i].prefixes);
	free(cfg->address_sets);
	if (cfg->rules != NULL)
		for (i = 0; i < cfg->n_rules; i++)
			vfw_cfg_rule_clear(&cfg->rules[i]);
	free(cfg->rules);
	free(cfg->dnat);
	if (cfg->snat != NULL)
		for (i = 0; i < cfg->n_snat; i++)
			vfw_cfg_snat_clear(&cfg->snat[i]);
	free(cfg->snat);
	free(cfg->routes);
	free(cfg);
}

struct vfw_config *
vfw_config_dup(const struct vfw_config *src)
{
	struct vfw_config *d;
	unsigned int i;
	bool ok = true;

	if (src == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	d = malloc(sizeof(*d));
	if (d == NULL)
		goto oom;
	*d = *src;
	/* Own nothing yet, so that a failure half-way frees cleanly. */
	d->file = NULL;
	d->vnet_prefixes = NULL;
	d->n_vnet_prefixes = 0;
	d->neighbors = NULL;
	d->n_neighbors = 0;
	d->address_sets = NULL;
	d->n_address_sets = 0;
	d->rules = NULL;
	d->n_rules = 0;
	d->dnat = NULL;
	d->n_dnat = 0;
	d->snat = NULL;
	d->n_snat = 0;
	d->routes = NULL;
	d->n_routes = 0;

	if (src->file != NULL && (d->file = strdup(src->file)) == NULL)
		goto fail;
	DUP(d->vnet_prefixes, src->vnet_prefixes, src->n_vnet_prefixes, &ok);
	d->n_vnet_prefixes = d->vnet_prefixes ? src->n_vnet_prefixes : 0;
	DUP(d->neighbors, src->neighbors, src->n_neighbors, &ok);
	d->n_neighbors = d->neighbors ? src->n_neighbors : 0;
	DUP(d->dnat, src->dnat, src->n_dnat, &ok);
	d->n_dnat = d->dnat ? src->n_dnat : 0;
	DUP(d->routes, src->routes, src->n_routes, &ok);
	d->n_routes = d->routes ? src->n_routes : 0;
	if (!ok)
		goto fail;

	if (src->n_address_sets != 0) {
		d->address_sets = calloc(src->n_address_sets,
					 sizeof(*d->address_sets));
		if (d->address_sets == NULL)
			goto fail;
		d->n_address_sets = src->n_address_sets;
		for (i = 0; src->address_sets != NULL &&
			    i < src->n_address_sets; i++) {
			const struct vfw_cfg_addrset *s = &src->address_sets[i];
			struct vfw_cfg_addrset *t = &d->address_sets[i];

			*t = *s;
			DUP(t->prefixes, s->prefixes, s->n_prefixes, &ok);
			if (!ok)
				goto fail;
		}
	}
	if (src->n_rules != 0) {
		d->rules = calloc(src->n_rules, sizeof(*d->rules));
		if (d->rules == NULL)
			goto fail;
		d->n_rules = src->n_rules;
		for (i = 0; src->rules != NULL && i < src->n_rules; i++)
			if (vfw_cfg_rule_copy(&d->rules[i], &src->rules[i]) < 0)
				goto fail;
	}
	if (src->n_snat != 0) {
		d->snat = calloc(src->n_snat, sizeof(*d->snat));
		if (d->snat == NULL)
			goto fail;
		d->n_snat = src->n_snat;
		for (i = 0; src->snat != NULL && i < src->n_snat; i++)
			if (vfw_cfg_snat_copy(&d->snat[i], &src->snat[i]) < 0)
				goto fail;
	}
	return d;
fail:
	vfw_config_free(d);
oom:
	rte_errno = ENOMEM;
	return NULL;
}

static const char *
mtu_str(uint16_t mtu, const uint16_t *dev_mtu, unsigned int r, char *b,
	size_t len)
{
	if (mtu != 0)
		snprintf(b, len, "%u", mtu);
	else if (dev_mtu != NULL)
		snprintf(b, len, "unset (the device's %u)", dev_mtu[r]);
	else
		snprintf(b, len, "unset");
	return b;
}

unsigned int
vfw_config_check_restart(const struct vfw_config *running,
			 const struct vfw_config *cand,
			 const uint16_t *dev_mtu, struct vfw_errors *errs)
{
	static const char *const role[VFW_PORT_MAX] = { "vnet", "cluster" };
	static const char *const tail =
		"cannot change while running (restart vnetfw to change it)";
	unsigned int r, n = 0;
	char a[64], b[64];

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *o = &running->ports[r];
		const struct vfw_cfg_port *p = &cand->ports[r];

		if (strcmp(o->device, p->device) != 0) {
			vfw_errors_add(errs, cand->file, &p->loc,
				       "ports.%s.device: %s -> %s %s", role[r],
				       o->device, p->device, tail);
			n++;
		}
		if (o->address.len != p->address.len ||
		    !vfw_ip_equal(&o->address.ip, &p->address.ip)) {
			vfw_errors_add(errs, cand->file, &p->loc,
				       "ports.%s.address: %s -> %s %s", role[r],
				       vfw_prefix_str(&o->address, a, sizeof(a)),
				       vfw_prefix_str(&p->address, b, sizeof(b)),
				       tail);
			n++;
		}
		if (o->has_mac != p->has_mac ||
		    (o->has_mac && !rte_is_same_ether_addr(&o->mac, &p->mac))) {
			if (o->has_mac)
				rte_ether_format_addr(a, sizeof(a), &o->mac);
			else
				snprintf(a, sizeof(a), "unset");
			if (p->has_mac)
				rte_ether_format_addr(b, sizeof(b), &p->mac);
			else
				snprintf(b, sizeof(b), "unset");
			vfw_errors_add(errs, cand->file, &p->loc,
				       "ports.%s.mac: %s -> %s %s", role[r], a,
				       b, tail);
			n++;
		}
		if (o->mtu != p->mtu) {
			vfw_errors_add(errs, cand->file, &p->loc,
				       "ports.%s.mtu: %s -> %s %s", role[r],
				       mtu_str(o->mtu, dev_mtu, r, a, sizeof(a)),
				       mtu_str(p->mtu, NULL, r, b, sizeof(b)),
				       tail);
			n++;
		}
	}
	if (running->conntrack.max_sessions != cand->conntrack.max_sessions) {
		vfw_errors_add(errs, cand->file,
			       &cand->conntrack.max_sessions_loc,
			       "conntrack.max_sessions: %u -> %u %s (it sizes memory at start)",
			       running->conntrack.max_sessions,
			       cand->conntrack.max_sessions, tail);
		n++;
	}
	return n;
}
