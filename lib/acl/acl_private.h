/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/acl shared by the rule compiler (acl.c) and the prefix
 * set arithmetic (prefix_set.c). Nothing here is exported.
 */
#ifndef VFW_ACL_PRIVATE_H
#define VFW_ACL_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vnetfw/acl.h"

/* Names of the built-in address sets (NSG service tags). */
#define ACL_SET_VNET "VirtualNetwork"
#define ACL_SET_INTERNET "Internet"

/* A growable list of prefixes, all of one family once normalized. */
struct acl_pfx_list {
	struct vfw_prefix *p;
	unsigned int n;
	unsigned int cap;
};

/* Append one prefix. 0 or -ENOMEM. */
int acl_pfx_push(struct acl_pfx_list *l, const struct vfw_prefix *p);

/* Append every prefix of src. 0 or -ENOMEM. */
int acl_pfx_append(struct acl_pfx_list *l, const struct acl_pfx_list *src);

void acl_pfx_list_free(struct acl_pfx_list *l);

/*
 * Keep only the prefixes of family af and rewrite the list as the smallest
 * set of CIDR prefixes whose union is the same address set, sorted by
 * address. Overlapping, duplicate and adjacent prefixes are merged, which
 * is what keeps the rte_acl cross product small. 0 or -ENOMEM.
 */
int acl_pfx_normalize(struct acl_pfx_list *l, uint8_t af);

/*
 * out = the smallest CIDR prefix set covering exactly the addresses of
 * family af that no prefix of in covers (in need not be normalized;
 * prefixes of the other family are ignored). 0 or -ENOMEM.
 */
int acl_pfx_complement(const struct acl_pfx_list *in, uint8_t af,
		       struct acl_pfx_list *out);

/*
 * The built-in VirtualNetwork set for family af, normalized: both ports'
 * subnets (interface address with the host bits cleared; address6 for
 * IPv6) and cfg->vnet_prefixes of that family. 0 or -ENOMEM.
 */
int acl_vnet_prefixes(const struct vfw_config *cfg, uint8_t af,
		      struct acl_pfx_list *out);

/* 32 for IPv4, 128 for IPv6. */
static inline unsigned int
acl_af_bits(uint8_t af)
{
	return af == VFW_AF_INET6 ? 128 : 32;
}

#endif
