/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Security rules (Azure NSG semantics) compiled into rte_acl contexts.
 *
 * One struct vfw_acl holds, for each direction, an IPv4 and an IPv6 rte_acl
 * context built from the user rules plus the default rules (65000
 * AllowVnetInBound / AllowVnetOutBound, 65001 AllowInternetOutBound, 65500
 * DenyAllInBound / DenyAllOutBound). A rule with lists of sources,
 * destinations and port ranges expands into the cross product of rte_acl
 * rules, all with the same priority and userdata. Lowest NSG priority wins;
 * the DenyAll default guarantees that every key matches some rule.
 *
 * Rule indexes: 0..n-1 in the order of vfw_acl_rule(); they are stable for
 * the life of the struct and index the per-rule hit counters of a policy
 * generation.
 *
 * Thread safety: built by the control plane; immutable afterwards and
 * classified concurrently by any number of workers (rte_acl_classify is
 * read-only on the context).
 */
#ifndef VNETFW_ACL_H
#define VNETFW_ACL_H

#include "vnetfw/common.h"
#include "vnetfw/config.h"
#include "vnetfw/pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled rule as shown by "show rules" (user and default rules). */
struct vfw_acl_rule_info {
	char name[VFW_NAME_MAX];
	uint32_t priority;
	enum vfw_dir direction;
	enum vfw_access access;
	uint8_t protocol;
	bool is_default;
	int32_t cfg_index;   /**< index in cfg->rules, -1 for defaults */
	const char *default_src; /**< a default rule's source address set
				  *   ("VirtualNetwork", "Internet"), NULL = any */
	const char *default_dst; /**< its destination, the same way */
	uint32_t n_acl_rules;/**< rte_acl rules it expanded into */
};

struct vfw_acl;

/** Result bit: set in a classify result when the matching rule allows. */
#define VFW_ACL_ALLOW 0x80000000u
/** Mask of the rule index in a classify result. */
#define VFW_ACL_INDEX_MASK 0x7fffffffu

/**
 * Compile cfg->rules (+ defaults, address sets, VirtualNetwork/Internet) into
 * contexts. name must be unique among live ACLs (it names rte_acl contexts).
 * NULL + rte_errno on failure, with a message in errs if errs != NULL.
 */
struct vfw_acl *vfw_acl_build(const struct vfw_config *cfg, const char *name,
			      struct vfw_errors *errs);
void vfw_acl_free(struct vfw_acl *acl);

/**
 * Classify n keys of one direction (any mix of address families).
 * results[i] = rule index | VFW_ACL_ALLOW if that rule allows.
 */
void vfw_acl_classify(const struct vfw_acl *acl, enum vfw_dir dir,
		      const struct vfw_flow_key *const *keys,
		      uint32_t *results, unsigned int n);

unsigned int vfw_acl_rule_count(const struct vfw_acl *acl);
const struct vfw_acl_rule_info *vfw_acl_rule(const struct vfw_acl *acl,
					     unsigned int idx);
/** Total rte_acl rules after expansion, and memory used (bytes). */
uint64_t vfw_acl_expanded_count(const struct vfw_acl *acl);
size_t vfw_acl_memory(const struct vfw_acl *acl);

/**
 * The prefixes of a built-in or user address set, expanded for family af
 * (VirtualNetwork = port subnets + vnet_prefixes; Internet = complement of
 * VirtualNetwork). Returns a malloc'd array (caller frees) and its count in
 * *n, or NULL with *n = 0 for an empty set / unknown name (rte_errno).
 */
struct vfw_prefix *vfw_acl_expand_set(const struct vfw_config *cfg,
				      const char *set, uint8_t af,
				      unsigned int *n);

#ifdef __cplusplus
}
#endif
#endif
