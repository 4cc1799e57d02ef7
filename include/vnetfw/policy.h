/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Policy generations: the one place where control plane and data plane meet.
 *
 * A generation is everything a worker needs to judge and forward a packet
 * that depends on configuration: compiled security rules, NAT tables, the
 * route table, the addresses the appliance owns, and the per-rule counters.
 * It is built completely off the data path, never modified afterwards, and
 * published with a single atomic pointer store (release). Workers load the
 * pointer (acquire) once per burst and report a quiescent state to
 * rte_rcu_qsbr after every burst; the replaced generation is freed once
 * every worker has passed one, i.e. when no burst can still be using it.
 *
 * Counters survive a replacement for rules/routes/NAT rules that keep their
 * name: once the old generation is retired its totals are folded into the
 * new generation's base values.
 *
 * Thread safety: vfw_policy_build/publish/poll/current are for the single
 * control thread. vfw_policy_acquire is for workers (and any thread
 * registered with the qsbr variable). Readers registered with the qsbr
 * variable (workers, telemetry) may read a generation between their
 * online/quiescent calls; nothing else may keep a pointer to one.
 */
#ifndef VNETFW_POLICY_H
#define VNETFW_POLICY_H

#include <stdatomic.h>

#include <rte_rcu_qsbr.h>

#include "vnetfw/acl.h"
#include "vnetfw/config.h"
#include "vnetfw/nat.h"
#include "vnetfw/route.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFW_MAX_WORKERS 16
/** "Inside" prefixes of flow ownership (read per packet with several
 * workers): at most this many, once deduplicated. */
#define VFW_MAX_INSIDE 64u

/** Per-worker counters of one generation (indexes as in acl/route/nat). */
struct vfw_policy_counters {
	uint64_t *rule_hits;      /**< [vfw_acl_rule_count] */
	uint64_t *route_hits;     /**< [vfw_route_count] */
	uint64_t *dnat_hits;      /**< [vfw_nat_dnat_count] */
	uint64_t *snat_hits;      /**< [vfw_nat_snat_count] */
	uint64_t *snat_fail;      /**< [vfw_nat_snat_count] port exhaustion */
} __rte_cache_aligned;

/** An address the appliance owns (answers ARP for, terminates or NATs). */
struct vfw_owned_addr {
	uint32_t ip;     /**< network order */
	uint8_t port;    /**< role whose subnet holds it */
	uint8_t kind;    /**< VFW_OWN_* */
};
#define VFW_OWN_IFACE 1
#define VFW_OWN_DNAT  2
#define VFW_OWN_SNAT  4

struct vfw_policy {
	uint64_t generation;
	struct vfw_config *cfg;          /**< owned copy it was built from */
	struct vfw_acl *acl;
	struct vfw_nat *nat;
	struct vfw_route_table *rt;
	unsigned int n_workers;
	struct vfw_policy_counters *ctr; /**< [n_workers] */
	struct vfw_policy_counters base; /**< carried over, control thread */
	/** Addresses we own, for ARP and local delivery (small, linear). */
	struct vfw_owned_addr owned[VFW_MAX_OWNED];
	unsigned int n_owned;
	/** "Inside" prefixes for worker dispatch (cluster side). */
	struct vfw_prefix inside[VFW_MAX_INSIDE];
	unsigned int n_inside;
	uint32_t iface_ip[VFW_PORT_MAX]; /**< interface addresses, network order */
	uint32_t bcast[VFW_PORT_MAX];    /**< port subnets' broadcast addresses */
};

struct vfw_policy_mgr;

struct vfw_policy_mgr *vfw_policy_mgr_create(unsigned int n_workers,
					     struct rte_rcu_qsbr *qsv,
					     struct vfw_neigh_table *neigh,
					     struct vfw_nat_pools *pools);
void vfw_policy_mgr_free(struct vfw_policy_mgr *pm);

/** Compile cfg (copied) into an unpublished generation. NULL + errs. */
struct vfw_policy *vfw_policy_build(struct vfw_policy_mgr *pm,
				    const struct vfw_config *cfg,
				    struct vfw_errors *errs);
/** Free an unpublished (or retired) generation. */
void vfw_policy_free(struct vfw_policy *p);

/**
 * Publish p. Returns -EBUSY if the previous publication has not completed
 * (vfw_policy_poll() has not returned 1 for it yet).
 */
int vfw_policy_publish(struct vfw_policy_mgr *pm, struct vfw_policy *p);
/**
 * Progress the publication in flight without blocking. Returns 1 when every
 * worker runs the latest published generation (old one retired, counters
 * carried over), 0 while waiting.
 */
int vfw_policy_poll(struct vfw_policy_mgr *pm);
/** Same, blocking until done (startup, tests). */
void vfw_policy_sync(struct vfw_policy_mgr *pm);

/** Generation in force (control thread). */
struct vfw_policy *vfw_policy_current(struct vfw_policy_mgr *pm);
/** Generation number of the latest fully applied publication. */
uint64_t vfw_policy_applied_generation(const struct vfw_policy_mgr *pm);

/** Worker side: the generation to use for this burst. */
struct vfw_policy *vfw_policy_acquire(struct vfw_policy_mgr *pm);
struct rte_rcu_qsbr *vfw_policy_qsv(struct vfw_policy_mgr *pm);

/** Sum of a counter over workers plus the carried-over base. */
uint64_t vfw_policy_rule_hits(const struct vfw_policy *p, unsigned int rule);
uint64_t vfw_policy_route_hits(const struct vfw_policy *p, unsigned int route);
uint64_t vfw_policy_dnat_hits(const struct vfw_policy *p, unsigned int i);
uint64_t vfw_policy_snat_hits(const struct vfw_policy *p, unsigned int i);
uint64_t vfw_policy_snat_fail(const struct vfw_policy *p, unsigned int i);

/** Owned-address lookup: kind bits (0 if not owned). */
static inline unsigned int
vfw_policy_owned(const struct vfw_policy *p, uint32_t ip_be)
{
	unsigned int i, kind = 0;

	for (i = 0; i < p->n_owned; i++)
		if (p->owned[i].ip == ip_be)
			kind |= p->owned[i].kind;
	return kind;
}

#ifdef __cplusplus
}
#endif
#endif
