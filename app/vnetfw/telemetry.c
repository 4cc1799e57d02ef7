/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands under /vnetfw/, for dpdk-telemetry.py and any
 * client of the telemetry socket. Callbacks run on telemetry threads: they
 * read worker counters (monotonic 64-bit values, read without locks) and,
 * for rule/route/NAT counters, the policy generation under RCU as reader
 * number n_workers, serialised by a mutex because the reader id is shared.
 */
#include <inttypes.h>

#include <rte_telemetry.h>

#include "vnetfw/acl.h"
#include "vnetfw.h"

static struct vfw_app *tel_app;

static struct vfw_policy *
tel_enter(void)
{
	pthread_mutex_lock(&tel_app->tel_lock);
	rte_rcu_qsbr_thread_online(tel_app->qsv, tel_app->n_workers);
	return vfw_policy_acquire(tel_app->pm);
}

static void
tel_leave(void)
{
	rte_rcu_qsbr_thread_offline(tel_app->qsv, tel_app->n_workers);
	pthread_mutex_unlock(&tel_app->tel_lock);
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const role[VFW_PORT_MAX] = { "vnet", "cluster" };
	struct vfw_dp_stats st;
	char key[64];
	unsigned int k;

	(void)cmd;
	(void)params;
	vfw_dp_stats_sum(tel_app->dp, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "generation",
				  vfw_policy_applied_generation(tel_app->pm));
	for (k = 0; k < VFW_PORT_MAX; k++) {
		snprintf(key, sizeof(key), "%s_rx", role[k]);
		rte_tel_data_add_dict_u64(d, key, st.rx[k]);
		snprintf(key, sizeof(key), "%s_tx", role[k]);
		rte_tel_data_add_dict_u64(d, key, st.tx[k]);
	}
	for (k = 0; k < VFW_EV_MAX; k++)
		rte_tel_data_add_dict_u64(d, vfw_event_name((enum vfw_event)k), st.ev[k]);
	rte_tel_data_add_dict_u64(d, "sessions", vfw_dp_sessions(tel_app->dp, NULL));
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", rte_mempool_in_use_count(tel_app->pool));
	return 0;
}

static int
tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vfw_dp_stats st;
	unsigned int k;

	(void)cmd;
	(void)params;
	vfw_dp_stats_sum(tel_app->dp, &st);
	rte_tel_data_start_dict(d);
	for (k = 1; k < VFW_DROP_MAX; k++)
		rte_tel_data_add_dict_u64(d, vfw_drop_name((enum vfw_drop)k), st.drops[k]);
	return 0;
}

static int
tel_sessions(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint32_t by_state[VFW_CT_STATE_MAX];
	unsigned int k;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", vfw_dp_sessions(tel_app->dp, by_state));
	for (k = 1; k < VFW_CT_STATE_MAX; k++)
		rte_tel_data_add_dict_u64(d, vfw_ct_state_name((enum vfw_ct_state)k),
					  by_state[k]);
	return 0;
}

/*
 * DPDK 22.11 refuses, silently, a dict key with a character outside
 * A-Z a-z 0-9 _ / (rte_tel_data_add_dict_*: -EINVAL), and a dict of more
 * than RTE_TEL_MAX_DICT_ENTRIES keys. Rule, route and NAT names may hold
 * '-' and '.' (https-in, system-default): tel_key() makes them '_'. A
 * dict that would be longer keeps its first entries and says how many it
 * left out under "_omitted" (tel_room(), tel_end()).
 */
static void
tel_key(char *key)
{
	for (; *key != '\0'; key++)
		if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') ||
		      (*key >= '0' && *key <= '9') || *key == '/'))
			*key = '_';
}

/* One more key fits (one is kept for "_omitted"); else it is counted. */
static bool
tel_room(unsigned int *n, unsigned int *omitted)
{
	if (*n + 1 >= RTE_TEL_MAX_DICT_ENTRIES) {
		(*omitted)++;
		return false;
	}
	(*n)++;
	return true;
}

static void
tel_end(struct rte_tel_data *d, unsigned int omitted)
{
	if (omitted > 0)
		rte_tel_data_add_dict_u64(d, "_omitted", omitted);
}

/* name -> hit counter, for rules ("inbound/NAME"), routes and NAT rules */
static int
tel_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vfw_policy *p;
	char key[RTE_TEL_MAX_STRING_LEN];
	unsigned int i, n, used = 0, omitted = 0;

	(void)cmd;
	(void)params;
	p = tel_enter();
	rte_tel_data_start_dict(d);
	n = vfw_acl_rule_count(p->acl);
	for (i = 0; i < n; i++) {
		const struct vfw_acl_rule_info *r = vfw_acl_rule(p->acl, i);

		if (!tel_room(&used, &omitted))
			continue;
		snprintf(key, sizeof(key), "%s/%s",
			 r->direction == VFW_DIR_IN ? "inbound" : "outbound", r->name);
		tel_key(key);
		rte_tel_data_add_dict_u64(d, key, vfw_policy_rule_hits(p, i));
	}
	tel_end(d, omitted);
	tel_leave();
	return 0;
}

static int
tel_routes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vfw_policy *p;
	char key[RTE_TEL_MAX_STRING_LEN];
	unsigned int i, n, used = 0, omitted = 0;

	(void)cmd;
	(void)params;
	p = tel_enter();
	rte_tel_data_start_dict(d);
	n = vfw_route_count(p->rt);
	for (i = 0; i < n; i++) {
		if (!tel_room(&used, &omitted))
			continue;
		snprintf(key, sizeof(key), "%s", vfw_route_get(p->rt, i)->name);
		tel_key(key);
		rte_tel_data_add_dict_u64(d, key, vfw_policy_route_hits(p, i));
	}
	tel_end(d, omitted);
	tel_leave();
	return 0;
}

static int
tel_nat(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vfw_policy *p;
	char key[RTE_TEL_MAX_STRING_LEN];
	unsigned int i, n, used = 0, omitted = 0;

	(void)cmd;
	(void)params;
	p = tel_enter();
	rte_tel_data_start_dict(d);
	n = vfw_nat_dnat_count(p->nat);
	for (i = 0; i < n; i++) {
		if (!tel_room(&used, &omitted))
			continue;
		snprintf(key, sizeof(key), "dnat/%s", vfw_nat_dnat(p->nat, i)->name);
		tel_key(key);
		rte_tel_data_add_dict_u64(d, key, vfw_policy_dnat_hits(p, i));
	}
	n = vfw_nat_snat_count(p->nat);
	for (i = 0; i < n; i++) {
		if (tel_room(&used, &omitted)) {
			snprintf(key, sizeof(key), "snat/%s", vfw_nat_snat(p->nat, i)->name);
			tel_key(key);
			rte_tel_data_add_dict_u64(d, key, vfw_policy_snat_hits(p, i));
		}
		if (tel_room(&used, &omitted)) {
			snprintf(key, sizeof(key), "snat/%s/exhausted",
				 vfw_nat_snat(p->nat, i)->name);
			tel_key(key);
			rte_tel_data_add_dict_u64(d, key, vfw_policy_snat_fail(p, i));
		}
	}
	tel_end(d, omitted);
	tel_leave();
	return 0;
}

int
vfw_app_telemetry_init(struct vfw_app *app)
{
	tel_app = app;
	pthread_mutex_init(&app->tel_lock, NULL);
	rte_rcu_qsbr_thread_register(app->qsv, app->n_workers);
	if (rte_telemetry_register_cmd("/vnetfw/stats", tel_stats,
				       "Packet and event counters, summed over workers") ||
	    rte_telemetry_register_cmd("/vnetfw/drops", tel_drops,
				       "Drop counters by reason") ||
	    rte_telemetry_register_cmd("/vnetfw/sessions", tel_sessions,
				       "Sessions by state") ||
	    rte_telemetry_register_cmd("/vnetfw/rules", tel_rules,
				       "Security rule hit counters (direction/name)") ||
	    rte_telemetry_register_cmd("/vnetfw/routes", tel_routes,
				       "Route hit counters by name") ||
	    rte_telemetry_register_cmd("/vnetfw/nat", tel_nat,
				       "DNAT/SNAT rule counters"))
		return -1;
	return 0;
}
