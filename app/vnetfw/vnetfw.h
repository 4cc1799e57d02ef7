/* SPDX-License-Identifier: BSD-3-Clause */
/* The vnetfw application: shared state of main, control ops and telemetry. */
#ifndef VNETFW_APP_H
#define VNETFW_APP_H

#include <pthread.h>
#include <stdio.h>

#include "vnetfw/config.h"
#include "vnetfw/ctl.h"
#include "vnetfw/dataplane.h"
#include "vnetfw/nat.h"
#include "vnetfw/policy.h"
#include "vnetfw/route.h"

struct vfw_app {
	const char *config_path;           /* -c FILE, read again on SIGHUP */
	struct vfw_config *cfg;          /* config in force (control thread) */
	unsigned int n_workers;
	struct vfw_dp_port ports[VFW_PORT_MAX];
	struct rte_mempool *pool;
	uint16_t data_room;              /* of the pool's mbufs, headroom included */
	struct rte_rcu_qsbr *qsv;
	struct vfw_neigh_table *neigh;
	struct vfw_nat_pools *pools;
	struct vfw_policy_mgr *pm;
	struct vfw_dp *dp;
	bool pdump;                      /* rte_pdump_init() succeeded */
	struct vfw_ctl *ctl;
	uint64_t hz;
	uint64_t started;
	/* link state last seen by the control loop (logged when it changes) */
	uint64_t link_checked;
	bool link_up[VFW_PORT_MAX];
	/* change in flight */
	uint64_t pending_ticket;
	bool pending_reevaluate;
	/* telemetry reads policy through RCU as reader number n_workers */
	pthread_mutex_t tel_lock;
};

/* Checksum offloads vnetfw enables where a port offers them. */
#define VFW_RX_CSUM_OFFLOADS (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | \
			      RTE_ETH_RX_OFFLOAD_UDP_CKSUM | \
			      RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
#define VFW_TX_CSUM_OFFLOADS (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
			      RTE_ETH_TX_OFFLOAD_UDP_CKSUM | \
			      RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
/* "ipv4_cksum,udp_cksum" (DPDK's names) or "none" into buf. */
const char *vfw_app_offload_names(uint64_t bits, bool rx, char *buf, size_t len);

/* JSON writing helpers (jsonw.c) */
void vfw_json_str(FILE *out, const char *s);
void vfw_json_ip(FILE *out, uint32_t ip_be);
void vfw_json_mac(FILE *out, const struct rte_ether_addr *mac);
void vfw_json_key(FILE *out, const struct vfw_flow_key *k);

/* control.c */
void vfw_app_ctl_ops(struct vfw_app *app, struct vfw_ctl_ops *ops);
int vfw_app_show(struct vfw_app *app, const char *what, FILE *out);
int vfw_app_sync_neighbors(struct vfw_app *app, const struct vfw_config *old,
			   const struct vfw_config *cfg, struct vfw_errors *errs);
void vfw_app_print_stats(struct vfw_app *app, FILE *out);

/* telemetry.c */
int vfw_app_telemetry_init(struct vfw_app *app);

#endif
