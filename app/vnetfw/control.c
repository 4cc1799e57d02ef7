/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The application's side of the control socket: turning a validated config
 * into a published generation, and the runtime data behind "show".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "vnetfw/acl.h"
#include "vnetfw.h"

static const char *const dir_names[VFW_DIR_MAX] = { "inbound", "outbound" };
static const char *const role_names[VFW_PORT_MAX] = { "vnet", "cluster" };

static const struct vfw_cfg_neighbor *
find_neighbor(const struct vfw_config *cfg, const struct vfw_ip *ip)
{
	unsigned int i;

	for (i = 0; cfg != NULL && i < cfg->n_neighbors; i++)
		if (vfw_ip_equal(&cfg->neighbors[i].address, ip))
			return &cfg->neighbors[i];
	return NULL;
}

static int
neighbor_put(struct vfw_app *app, const struct vfw_config *cfg,
	     const struct vfw_cfg_neighbor *n)
{
	int port = vfw_route_port_of(cfg, n->address.v4);

	return vfw_neigh_add_static(app->neigh,
				    (uint8_t)(port < 0 ? VFW_PORT_VNET : port),
				    n->address.v4, &n->mac);
}

/*
 * Undoes neighbors_add() for cfg's first n neighbors: an address that old
 * has gets old's entry back (an update in place, which cannot fail); any
 * other is deleted (it was not in the table, or was learned, and ARP
 * learns it again).
 */
static void
neighbors_undo(struct vfw_app *app, const struct vfw_config *old,
	       const struct vfw_config *cfg, unsigned int n)
{
	const struct vfw_cfg_neighbor *o;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (cfg->neighbors[i].address.af != VFW_AF_INET)
			continue;
		o = find_neighbor(old, &cfg->neighbors[i].address);
		if (o == NULL || neighbor_put(app, old, o) < 0)
			vfw_neigh_del(app->neigh, cfg->neighbors[i].address.v4);
	}
}

/*
 * Adds or updates cfg's static neighbors, all or nothing: when one cannot
 * be added (the table is full), those done so far are undone, so a
 * refused change leaves the table as the running config has it.
 */
static int
neighbors_add(struct vfw_app *app, const struct vfw_config *old,
	      const struct vfw_config *cfg, struct vfw_errors *errs)
{
	unsigned int i;
	int rc;

	for (i = 0; i < cfg->n_neighbors; i++) {
		const struct vfw_cfg_neighbor *n = &cfg->neighbors[i];

		if (n->address.af != VFW_AF_INET)
			continue;
		rc = neighbor_put(app, cfg, n);
		if (rc < 0) {
			char b[64];

			vfw_errors_add(errs, NULL, &n->loc,
				       "neighbor %s: cannot add (%s)",
				       vfw_ip_str(&n->address, b, sizeof(b)),
				       strerror(-rc));
			neighbors_undo(app, old, cfg, i);
			return rc;
		}
	}
	return 0;
}

/* Deletes the static neighbors of old that cfg no longer has. */
static void
neighbors_drop(struct vfw_app *app, const struct vfw_config *old,
	       const struct vfw_config *cfg)
{
	unsigned int i;

	for (i = 0; old != NULL && i < old->n_neighbors; i++)
		if (old->neighbors[i].address.af == VFW_AF_INET &&
		    find_neighbor(cfg, &old->neighbors[i].address) == NULL)
			vfw_neigh_del(app->neigh, old->neighbors[i].address.v4);
}

/* Static neighbors: bring the table in line with cfg (control thread). */
int
vfw_app_sync_neighbors(struct vfw_app *app, const struct vfw_config *old,
		       const struct vfw_config *cfg, struct vfw_errors *errs)
{
	int rc = neighbors_add(app, old, cfg, errs);

	if (rc == 0)
		neighbors_drop(app, old, cfg);
	return rc;
}

static int
op_apply(void *ctx, const struct vfw_config *cfg, enum vfw_existing existing,
	 uint64_t *ticket, struct vfw_errors *errs)
{
	struct vfw_app *app = ctx;
	struct vfw_policy *p;
	struct vfw_config *copy;
	uint16_t dev_mtu[VFW_PORT_MAX];
	unsigned int r;
	int rc;

	/*
	 * The control server refuses these before it gets here; the ports
	 * were set up for them at start (device MTU, mbufs and af_packet
	 * ring frames sized for it; the session table for max_sessions).
	 */
	for (r = 0; r < VFW_PORT_MAX; r++)
		dev_mtu[r] = app->ports[r].mtu;
	if (vfw_config_check_restart(app->cfg, cfg, dev_mtu, errs) > 0)
		return -EINVAL;
	copy = vfw_config_dup(cfg);
	if (copy == NULL) {
		vfw_errors_add(errs, NULL, NULL, "out of memory");
		return -ENOMEM;
	}
	/*
	 * Nothing may change when the change is refused: neighbors are added
	 * all or nothing (and undone if the policy cannot be built), dropped
	 * only once it is published. They go first because a built policy
	 * has taken its generation number: one refused afterwards would
	 * leave a gap in the generations.
	 */
	rc = neighbors_add(app, app->cfg, cfg, errs);
	if (rc < 0) {
		vfw_config_free(copy);
		return rc;
	}
	p = vfw_policy_build(app->pm, cfg, errs);
	if (p == NULL) {
		neighbors_undo(app, app->cfg, cfg, cfg->n_neighbors);
		vfw_config_free(copy);
		return -EINVAL;
	}
	/* one change in flight: the control server serialises changes */
	vfw_policy_sync(app->pm);
	rc = vfw_policy_publish(app->pm, p);
	if (rc < 0) {
		neighbors_undo(app, app->cfg, cfg, cfg->n_neighbors);
		vfw_policy_free(p);
		vfw_config_free(copy);
		vfw_errors_add(errs, NULL, NULL, "publish failed: %s", strerror(-rc));
		return rc;
	}
	neighbors_drop(app, app->cfg, cfg);
	vfw_config_free(app->cfg);
	app->cfg = copy;
	app->pending_ticket = p->generation;
	app->pending_reevaluate = existing == VFW_EXISTING_REEVALUATE;
	*ticket = p->generation;
	return 0;
}

static int
op_applied(void *ctx, uint64_t ticket, uint64_t *generation)
{
	struct vfw_app *app = ctx;

	if (vfw_policy_poll(app->pm) != 1 ||
	    vfw_policy_applied_generation(app->pm) < ticket)
		return 0;
	if (app->pending_reevaluate && app->pending_ticket == ticket) {
		vfw_dp_reevaluate(app->dp, ticket);
		app->pending_reevaluate = false;
	}
	*generation = vfw_policy_applied_generation(app->pm);
	return 1;
}

static uint64_t
op_generation(void *ctx)
{
	struct vfw_app *app = ctx;

	return vfw_policy_applied_generation(app->pm);
}

/* ---------------- show ---------------- */

static const char *
proto_str(uint8_t p)
{
	switch (p) {
	case VFW_PROTO_ANY: return "any";
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	default: return "?";
	}
}

static void
show_rules(struct vfw_app *app, FILE *out)
{
	struct vfw_policy *p = vfw_policy_current(app->pm);
	unsigned int i, n = vfw_acl_rule_count(p->acl);

	fputc('[', out);
	for (i = 0; i < n; i++) {
		const struct vfw_acl_rule_info *r = vfw_acl_rule(p->acl, i);

		fprintf(out, "%s{\"name\":", i ? "," : "");
		vfw_json_str(out, r->name);
		fprintf(out, ",\"priority\":%u,\"direction\":\"%s\",\"access\":\"%s\","
			"\"protocol\":\"%s\",\"default\":%s,\"hits\":%" PRIu64,
			r->priority, dir_names[r->direction],
			r->access == VFW_ACCESS_ALLOW ? "allow" : "deny",
			proto_str(r->protocol), r->is_default ? "true" : "false",
			vfw_policy_rule_hits(p, i));
		if (r->cfg_index >= 0) {
			fputs(",\"rule\":", out);
			vfw_cfg_rule_write_json(&p->cfg->rules[r->cfg_index], out);
		} else {
			/* what a default rule covers, in a user rule's shape */
			fputs(",\"rule\":{\"name\":", out);
			vfw_json_str(out, r->name);
			fprintf(out, ",\"priority\":%u,\"direction\":\"%s\",\"access\":\"%s\","
				"\"protocol\":\"any\",\"source\":[\"%s\"],\"destination\":[\"%s\"],"
				"\"source_ports\":[\"any\"],\"destination_ports\":[\"any\"]}",
				r->priority, dir_names[r->direction],
				r->access == VFW_ACCESS_ALLOW ? "allow" : "deny",
				r->default_src != NULL ? r->default_src : "any",
				r->default_dst != NULL ? r->default_dst : "any");
		}
		fputc('}', out);
	}
	fputc(']', out);
}

static void
show_routes(struct vfw_app *app, FILE *out)
{
	struct vfw_policy *p = vfw_policy_current(app->pm);
	unsigned int i, n = vfw_route_count(p->rt);
	char b[64];

	fputc('[', out);
	for (i = 0; i < n; i++) {
		const struct vfw_route_entry *e = vfw_route_get(p->rt, i);

		fprintf(out, "%s{\"name\":", i ? "," : "");
		vfw_json_str(out, e->name);
		fprintf(out, ",\"prefix\":\"%s\",\"next_hop_type\":\"%s\",\"next_hop\":",
			vfw_prefix_str(&e->prefix, b, sizeof(b)),
			vfw_nh_type_name((enum vfw_nh_type)e->nh.type));
		if (e->nh.gw != 0)
			vfw_json_ip(out, e->nh.gw);
		else
			fputs("null", out);
		fprintf(out, ",\"port\":\"%s\",\"source\":\"%s\",\"state\":\"%s\","
			"\"hits\":%" PRIu64 "}",
			e->nh.port < VFW_PORT_MAX ? role_names[e->nh.port] : "-",
			e->system ? "system" : "user",
			e->overridden ? "overridden" : "active",
			vfw_policy_route_hits(p, i));
	}
	fputc(']', out);
}

static void
show_nat(struct vfw_app *app, FILE *out)
{
	struct vfw_policy *p = vfw_policy_current(app->pm);
	unsigned int i, j, n;

	fputs("{\"dnat\":[", out);
	n = vfw_nat_dnat_count(p->nat);
	for (i = 0; i < n; i++) {
		const struct vfw_dnat_rule *d = vfw_nat_dnat(p->nat, i);

		fprintf(out, "%s{\"name\":", i ? "," : "");
		vfw_json_str(out, d->name);
		fprintf(out, ",\"protocol\":\"%s\",\"destination\":", proto_str(d->protocol));
		vfw_json_ip(out, d->dst);
		fprintf(out, ",\"destination_port\":%u,\"translated_address\":",
			rte_be_to_cpu_16(d->dport));
		vfw_json_ip(out, d->to_addr);
		fprintf(out, ",\"translated_port\":%u,\"hits\":%" PRIu64 "}",
			rte_be_to_cpu_16(d->to_port), vfw_policy_dnat_hits(p, i));
	}
	fputs("],\"snat\":[", out);
	n = vfw_nat_snat_count(p->nat);
	for (i = 0; i < n; i++) {
		const struct vfw_snat_rule *s = vfw_nat_snat(p->nat, i);

		fprintf(out, "%s{\"name\":", i ? "," : "");
		vfw_json_str(out, s->name);
		fprintf(out, ",\"ports\":\"%u-%u\",\"hits\":%" PRIu64
			",\"port_exhausted\":%" PRIu64 ",\"pools\":[",
			s->lo, s->hi, vfw_policy_snat_hits(p, i),
			vfw_policy_snat_fail(p, i));
		for (j = 0; j < s->n_pools; j++) {
			uint32_t addr;
			uint16_t lo, hi;

			vfw_nat_pool_info(app->pools, s->pool[j], &addr, &lo, &hi);
			fprintf(out, "%s{\"address\":", j ? "," : "");
			vfw_json_ip(out, addr);
			fprintf(out, ",\"in_use\":%u}",
				vfw_nat_pool_in_use(app->pools, s->pool[j]));
		}
		fputs("]}", out);
	}
	fputs("]}", out);
}

#define VFW_SHOW_SESSIONS_MAX 1000

static int
show_sessions(struct vfw_app *app, FILE *out)
{
	struct vfw_session_snapshot *snap;
	uint32_t by_state[VFW_CT_STATE_MAX];
	uint64_t now = rte_rdtsc();
	int n, i;
	unsigned int k;

	snap = rte_malloc("vfw_snap", sizeof(*snap) * VFW_SHOW_SESSIONS_MAX, 0);
	if (snap == NULL)
		return -ENOMEM;
	n = vfw_dp_request(app->dp, VFW_REQ_SESSIONS, 0, snap,
			   VFW_SHOW_SESSIONS_MAX, 1000);
	if (n < 0) {
		rte_free(snap);
		return n;
	}
	fprintf(out, "{\"total\":%u,\"shown\":%d,\"by_state\":{",
		vfw_dp_sessions(app->dp, by_state), n);
	for (k = 1; k < VFW_CT_STATE_MAX; k++)
		fprintf(out, "%s\"%s\":%u", k > 1 ? "," : "",
			vfw_ct_state_name((enum vfw_ct_state)k), by_state[k]);
	fputs("},\"sessions\":[", out);
	for (i = 0; i < n; i++) {
		const struct vfw_session *s = &snap[i].s;
		struct vfw_flow_key xl;

		fprintf(out, "%s{\"worker\":%u,\"direction\":\"%s\",\"state\":\"%s\","
			"\"original\":", i ? "," : "", snap[i].worker,
			dir_names[s->dir & 1], vfw_ct_state_name((enum vfw_ct_state)s->state));
		vfw_json_key(out, &s->orig);
		vfw_flow_key_reverse(&xl, &s->reply);
		fputs(",\"translated\":", out);
		vfw_json_key(out, &xl);
		fprintf(out, ",\"snat\":%s,\"dnat\":%s,\"packets\":[%" PRIu64 ",%" PRIu64
			"],\"expires_in_s\":%" PRIu64 "}",
			(s->flags & VFW_SF_SNAT) ? "true" : "false",
			(s->flags & VFW_SF_DNAT) ? "true" : "false",
			s->packets[0], s->packets[1],
			s->expire > now ? (s->expire - now) / app->hz : 0);
	}
	fputs("]}", out);
	rte_free(snap);
	return 0;
}

static void
show_stats(struct vfw_app *app, FILE *out)
{
	const struct vfw_sp_stats *sp = vfw_dp_sp_stats(app->dp);
	struct vfw_dp_stats st;
	uint32_t by_state[VFW_CT_STATE_MAX];
	unsigned int k, r, first = 1;

	vfw_dp_stats_sum(app->dp, &st);
	fprintf(out, "{\"generation\":%" PRIu64 ",\"workers\":%u,\"uptime_s\":%" PRIu64
		",\"ports\":{", vfw_policy_applied_generation(app->pm), app->n_workers,
		(rte_rdtsc() - app->started) / app->hz);
	for (r = 0; r < VFW_PORT_MAX; r++) {
		struct rte_eth_stats es;

		memset(&es, 0, sizeof(es));
		rte_eth_stats_get(app->ports[r].port_id, &es);
		fprintf(out, "%s\"%s\":{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
			",\"nic_rx_missed\":%" PRIu64 ",\"nic_rx_errors\":%" PRIu64
			",\"nic_tx_errors\":%" PRIu64 "}",
			r ? "," : "", role_names[r], st.rx[r], st.tx[r], es.imissed,
			es.ierrors, es.oerrors);
	}
	fprintf(out, "},\"forwarded\":%" PRIu64 ",\"events\":{", st.ev[VFW_EV_FORWARDED]);
	for (k = 0; k < VFW_EV_MAX; k++)
		fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "",
			vfw_event_name((enum vfw_event)k), st.ev[k]);
	fputs("},\"drops\":{", out);
	for (k = 1; k < VFW_DROP_MAX; k++) {
		fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",",
			vfw_drop_name((enum vfw_drop)k), st.drops[k]);
		first = 0;
	}
	fprintf(out, "},\"local\":{\"arp_requests_answered\":%" PRIu64
		",\"arp_replies_learned\":%" PRIu64 ",\"arp_ignored\":%" PRIu64
		",\"arp_requests_sent\":%" PRIu64 ",\"resolved_sent\":%" PRIu64
		",\"icmp_echo_answered\":%" PRIu64 "}",
		sp->arp_requests_answered + st.ev[VFW_EV_ARP_REPLY],
		sp->arp_replies_learned, sp->arp_ignored,
		sp->arp_requests_sent, sp->resolved_sent, st.ev[VFW_EV_ECHO_REPLY]);
	/* in use includes the rx rings' posted buffers and per-lcore caches:
	 * it returns to its idle value when traffic stops (no leak) */
	fprintf(out, ",\"mbufs\":{\"pool_size\":%u,\"data_room\":%u,\"in_use\":%u,"
		"\"available\":%u}", app->pool->size, app->data_room,
		rte_mempool_in_use_count(app->pool), rte_mempool_avail_count(app->pool));
	fprintf(out, ",\"sessions\":{\"total\":%u", vfw_dp_sessions(app->dp, by_state));
	for (k = 1; k < VFW_CT_STATE_MAX; k++)
		fprintf(out, ",\"%s\":%u", vfw_ct_state_name((enum vfw_ct_state)k),
			by_state[k]);
	fputs("}}", out);
}

static const char *
offload_name(uint64_t bit, bool rx)
{
	return rx ? rte_eth_dev_rx_offload_name(bit) : rte_eth_dev_tx_offload_name(bit);
}

const char *
vfw_app_offload_names(uint64_t bits, bool rx, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < 64 && len > 0; b++)
		if (bits & (UINT64_C(1) << b)) {
			int k = snprintf(buf + n, len - n, "%s%s", n ? "," : "",
					 offload_name(UINT64_C(1) << b, rx));

			if (k < 0 || (size_t)k >= len - n)
				break;
			n += (size_t)k;
		}
	if (n == 0)
		snprintf(buf, len, "none");
	return buf;
}

/* A JSON array of DPDK's names of the offload bits. */
static void
json_offloads(FILE *out, uint64_t bits, bool rx)
{
	unsigned int b, first = 1;

	fputc('[', out);
	for (b = 0; b < 64; b++)
		if (bits & (UINT64_C(1) << b)) {
			fputs(first ? "" : ",", out);
			vfw_json_str(out, offload_name(UINT64_C(1) << b, rx));
			first = 0;
		}
	fputc(']', out);
}

static void
show_ports(struct vfw_app *app, FILE *out)
{
	unsigned int r;

	fputc('[', out);
	for (r = 0; r < VFW_PORT_MAX; r++) {
		struct rte_eth_link link;
		char name[RTE_ETH_NAME_MAX_LEN] = "";

		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(app->ports[r].port_id, &link);
		rte_eth_dev_get_name_by_port(app->ports[r].port_id, name);
		fprintf(out, "%s{\"role\":\"%s\",\"device\":", r ? "," : "", role_names[r]);
		vfw_json_str(out, name);
		fprintf(out, ",\"port_id\":%u,\"mac\":", app->ports[r].port_id);
		vfw_json_mac(out, &app->ports[r].mac);
		fputs(",\"address\":", out);
		vfw_json_ip(out, app->ports[r].ip);
		fprintf(out, ",\"rx_queues\":%u,\"tx_queues\":%u,\"link\":\"%s\",\"speed_mbps\":%u",
			app->ports[r].n_rxq, app->ports[r].n_txq,
			link.link_status ? "up" : "down", link.link_speed);
		fprintf(out, ",\"mtu\":%u,\"checksum_offload\":{\"rx\":", app->ports[r].mtu);
		json_offloads(out, app->ports[r].rx_offloads & VFW_RX_CSUM_OFFLOADS, true);
		fputs(",\"tx\":", out);
		json_offloads(out, app->ports[r].tx_offloads & VFW_TX_CSUM_OFFLOADS, false);
		fputs("}}", out);
	}
	fputc(']', out);
}

static void
show_neighbors(struct vfw_app *app, FILE *out)
{
	static const char *const st[] = { "free", "incomplete", "reachable",
					  "static", "failed" };
	uint64_t now = rte_rdtsc();
	int32_t slot;
	int first = 1;

	fputc('[', out);
	for (slot = vfw_neigh_next(app->neigh, 0); slot >= 0;
	     slot = vfw_neigh_next(app->neigh, slot + 1)) {
		struct vfw_neigh_info in;

		if (vfw_neigh_get(app->neigh, slot, &in) < 0)
			continue;
		fprintf(out, "%s{\"address\":", first ? "" : ",");
		vfw_json_ip(out, in.ip);
		fputs(",\"mac\":", out);
		if (in.state == VFW_NEIGH_REACHABLE || in.state == VFW_NEIGH_STATIC)
			vfw_json_mac(out, &in.mac);
		else
			fputs("null", out);
		fprintf(out, ",\"port\":\"%s\",\"state\":\"%s\",\"age_s\":%" PRIu64 "}",
			in.port < VFW_PORT_MAX ? role_names[in.port] : "-",
			in.state <= VFW_NEIGH_FAILED ? st[in.state] : "?",
			(now - in.updated) / app->hz);
		first = 0;
	}
	fputc(']', out);
}

int
vfw_app_show(struct vfw_app *app, const char *what, FILE *out)
{
	if (strcmp(what, "rules") == 0)
		show_rules(app, out);
	else if (strcmp(what, "routes") == 0)
		show_routes(app, out);
	else if (strcmp(what, "nat") == 0)
		show_nat(app, out);
	else if (strcmp(what, "sessions") == 0)
		return show_sessions(app, out);
	else if (strcmp(what, "stats") == 0)
		show_stats(app, out);
	else if (strcmp(what, "ports") == 0)
		show_ports(app, out);
	else if (strcmp(what, "neighbors") == 0)
		show_neighbors(app, out);
	else
		return -ENOENT;
	return 0;
}

static int
op_show(void *ctx, const char *what, FILE *out)
{
	return vfw_app_show(ctx, what, out);
}

/* ---------------- explain ---------------- */

/*
 * The checks of lib/pkt (a bad source) and of the worker's new-flow stage
 * (the strict reverse-path check) that come before DNAT and the rules:
 * NULL when the flow passes them, else the verdict and reason members.
 */
static const char *
explain_source(const struct vfw_policy *p, int direction, uint32_t src_be)
{
	uint32_t h = rte_be_to_cpu_32(src_be);
	uint8_t role = direction == VFW_DIR_IN ? VFW_PORT_VNET : VFW_PORT_CLUSTER;
	const struct vfw_nexthop *nh = NULL;

	if ((h >> 24) == 127 || (h & 0xf0000000u) == 0xe0000000u ||
	    h == UINT32_MAX)
		return "\"verdict\":\"drop (ipv4_bad_source)\",\"reason\":"
		       "\"a source in 127/8, 224/4 or 255.255.255.255\"";
	vfw_route_lookup_bulk(p->rt, &h, &nh, 1);
	if (vfw_policy_owned(p, src_be) != 0)
		return "\"verdict\":\"drop (source_not_via_ingress_port)\",\"reason\":"
		       "\"the source is one of the appliance's addresses\"";
	if (nh == NULL || nh->type == VFW_NH_NONE)
		return "\"verdict\":\"drop (source_not_via_ingress_port)\",\"reason\":"
		       "\"no route back to the source (strict reverse-path check)\"";
	if (nh->port != role)
		return role == VFW_PORT_VNET ?
		       "\"verdict\":\"drop (source_not_via_ingress_port)\",\"reason\":"
		       "\"the route back to the source leaves by the cluster port, not the vnet port it came in on (strict reverse-path check)\"" :
		       "\"verdict\":\"drop (source_not_via_ingress_port)\",\"reason\":"
		       "\"the route back to the source leaves by the vnet port, not the cluster port it came in on (strict reverse-path check)\"";
	return NULL;
}

/* The worker's test for destinations that are never routed. */
static bool
explain_bcast(const struct vfw_policy *p, uint32_t dst_be)
{
	uint32_t h = rte_be_to_cpu_32(dst_be);

	return (h & 0xf0000000u) == 0xe0000000u || h == UINT32_MAX ||
	       dst_be == p->bcast[VFW_PORT_VNET] ||
	       dst_be == p->bcast[VFW_PORT_CLUSTER];
}

static int
op_explain(void *ctx, const struct vfw_config *cfg, int direction, uint8_t proto,
	   const struct vfw_ip *src, uint16_t sport, const struct vfw_ip *dst,
	   uint16_t dport, FILE *out)
{
	struct vfw_app *app = ctx;
	struct vfw_policy *p = vfw_policy_current(app->pm);
	struct vfw_flow_key k = { 0 }, post;
	const struct vfw_flow_key *kp = &post;
	const struct vfw_nexthop *nh = NULL;
	const char *drop;
	uint32_t res, dsth;
	unsigned int own;
	int di, si;

	(void)cfg;
	if (src->af != VFW_AF_INET || dst->af != VFW_AF_INET) {
		/* The protocol layer refuses IPv6 first; never answer ok. */
		return -EAFNOSUPPORT;
	}
	k.proto = proto;
	k.af = VFW_AF_INET;
	k.src[0] = src->v4;
	k.dst[0] = dst->v4;
	k.sport = rte_cpu_to_be_16(sport);
	k.dport = rte_cpu_to_be_16(proto == IPPROTO_ICMP ? sport : dport);
	post = k;
	fputs("{\"input\":", out);
	vfw_json_key(out, &k);
	fprintf(out, ",\"direction\":\"%s\"", dir_names[direction & 1]);
	/* What a new flow meets before DNAT and the rules, in the order
	 * the parser and the worker check it. */
	drop = explain_source(p, direction & 1, k.src[0]);
	if (drop != NULL) {
		fprintf(out, ",%s}", drop);
		return 0;
	}
	di = (proto == IPPROTO_TCP || proto == IPPROTO_UDP) ?
		vfw_nat_dnat_lookup(p->nat, &k) : -1;
	fputs(",\"dnat\":", out);
	if (di >= 0) {
		const struct vfw_dnat_rule *d = vfw_nat_dnat(p->nat, (unsigned int)di);

		post.dst[0] = d->to_addr;
		post.dport = d->to_port;
		fputs("{\"rule\":", out);
		vfw_json_str(out, d->name);
		fputs(",\"to\":", out);
		vfw_json_key(out, &post);
		fputc('}', out);
	} else {
		fputs("null", out);
		own = vfw_policy_owned(p, k.dst[0]);
		if (own != 0) {
			/* echo requests are answered on interface addresses
			 * only; the rest is local_unhandled */
			fprintf(out, ",\"local\":true,\"verdict\":\"%s\",\"reason\":"
				"\"addressed to the appliance\"}",
				(own & VFW_OWN_IFACE) && proto == IPPROTO_ICMP ?
				"answered (echo)" : "dropped");
			return 0;
		}
		if (explain_bcast(p, k.dst[0])) {
			fputs(",\"verdict\":\"drop (multicast_or_broadcast)\",\"reason\":"
			      "\"a multicast or broadcast destination is never routed\"}",
			      out);
			return 0;
		}
	}
	vfw_acl_classify(p->acl, (enum vfw_dir)(direction & 1), &kp, &res, 1);
	{
		const struct vfw_acl_rule_info *r =
			vfw_acl_rule(p->acl, res & VFW_ACL_INDEX_MASK);

		fputs(",\"rule\":{\"name\":", out);
		vfw_json_str(out, r->name);
		fprintf(out, ",\"priority\":%u,\"access\":\"%s\",\"default\":%s}",
			r->priority, (res & VFW_ACL_ALLOW) ? "allow" : "deny",
			r->is_default ? "true" : "false");
	}
	if (!(res & VFW_ACL_ALLOW)) {
		fputs(",\"verdict\":\"deny\"}", out);
		return 0;
	}
	si = (di >= 0 && direction == VFW_DIR_OUT) ? -2 : vfw_nat_snat_match(p->nat, &post);
	fputs(",\"snat\":", out);
	if (si == -2) {
		fputs("{\"rule\":\"hairpin\"}", out);
	} else if (si >= 0) {
		fputs("{\"rule\":", out);
		vfw_json_str(out, vfw_nat_snat(p->nat, (unsigned int)si)->name);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	dsth = rte_be_to_cpu_32(post.dst[0]);
	vfw_route_lookup_bulk(p->rt, &dsth, &nh, 1);
	fputs(",\"route\":", out);
	if (nh == NULL) {
		fputs("null,\"verdict\":\"drop (no route)\"}", out);
		return 0;
	}
	{
		const struct vfw_route_entry *e = vfw_route_get(p->rt, nh->route);
		char b[64];

		fputs("{\"name\":", out);
		vfw_json_str(out, e->name);
		fprintf(out, ",\"prefix\":\"%s\",\"next_hop_type\":\"%s\",\"port\":\"%s\"",
			vfw_prefix_str(&e->prefix, b, sizeof(b)),
			vfw_nh_type_name((enum vfw_nh_type)nh->type),
			nh->port < VFW_PORT_MAX ? role_names[nh->port] : "-");
		if (nh->gw != 0) {
			fputs(",\"next_hop\":", out);
			vfw_json_ip(out, nh->gw);
		}
		fputc('}', out);
	}
	fprintf(out, ",\"verdict\":\"%s\"}",
		nh->type == VFW_NH_NONE ? "drop (route None)" : "allow");
	return 0;
}

void
vfw_app_ctl_ops(struct vfw_app *app, struct vfw_ctl_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->ctx = app;
	ops->apply = op_apply;
	ops->applied = op_applied;
	ops->generation = op_generation;
	ops->show = op_show;
	ops->explain = op_explain;
}

void
vfw_app_print_stats(struct vfw_app *app, FILE *out)
{
	const struct vfw_sp_stats *sp = vfw_dp_sp_stats(app->dp);
	struct vfw_dp_stats st;
	unsigned int k, r;

	vfw_dp_stats_sum(app->dp, &st);
	fprintf(out, "vnetfw counters (generation %" PRIu64 ", %u worker%s)\n",
		vfw_policy_applied_generation(app->pm), app->n_workers,
		app->n_workers == 1 ? "" : "s");
	for (r = 0; r < VFW_PORT_MAX; r++)
		fprintf(out, "  port %-8s rx %12" PRIu64 "  tx %12" PRIu64 "\n",
			role_names[r], st.rx[r], st.tx[r]);
	for (k = 0; k < VFW_EV_MAX; k++)
		if (st.ev[k] != 0)
			fprintf(out, "  %-28s %12" PRIu64 "\n",
				vfw_event_name((enum vfw_event)k), st.ev[k]);
	fprintf(out, "  arp: answered %" PRIu64 ", learned %" PRIu64 ", sent %" PRIu64
		", ignored %" PRIu64 "\n", sp->arp_requests_answered + st.ev[VFW_EV_ARP_REPLY],
		sp->arp_replies_learned, sp->arp_requests_sent, sp->arp_ignored);
	fprintf(out, "  drops:\n");
	for (k = 1; k < VFW_DROP_MAX; k++)
		if (st.drops[k] != 0)
			fprintf(out, "    %-28s %12" PRIu64 "\n",
				vfw_drop_name((enum vfw_drop)k), st.drops[k]);
}
