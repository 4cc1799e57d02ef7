/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Types shared by every vnetfw library: addresses, prefixes, port ranges,
 * directions, and the one list of drop reasons.
 *
 * Byte order: addresses and ports inside struct vfw_ip / vfw_flow_key are in
 * network byte order (they are compared against packet bytes and fed to
 * rte_acl as is); rte_fib callers convert with rte_be_to_cpu_32().
 */
#ifndef VNETFW_COMMON_H
#define VNETFW_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFW_NAME_MAX 64 /**< names of rules, routes, sets, NAT rules (incl. NUL) */

/** Address family tags, deliberately equal to the IP version number. */
#define VFW_AF_INET  4
#define VFW_AF_INET6 6

/** An IPv4 or IPv6 address, network byte order. */
struct vfw_ip {
	uint8_t af; /**< VFW_AF_INET or VFW_AF_INET6 */
	uint8_t pad[3];
	union {
		uint32_t v4;     /**< network order */
		uint8_t v6[16];
		uint32_t w[4];   /**< v6 as words, network order */
	};
};

/** A CIDR prefix; host bits are always zero once validated. */
struct vfw_prefix {
	struct vfw_ip ip;
	uint8_t len; /**< 0..32 or 0..128 */
};

/** Inclusive port range, host order. Empty lists mean 0-65535. */
struct vfw_port_range {
	uint16_t lo;
	uint16_t hi;
};

/** Packet direction relative to the appliance (NSG direction). */
enum vfw_dir {
	VFW_DIR_IN = 0,  /**< arrived on the vnet port */
	VFW_DIR_OUT = 1, /**< arrived on the cluster port */
	VFW_DIR_MAX
};

/** Port roles. The role index is also the port's index in every table. */
enum vfw_port_role {
	VFW_PORT_VNET = 0,
	VFW_PORT_CLUSTER = 1,
	VFW_PORT_MAX
};

/** Protocol selector of rules: 0 means any, else IPPROTO_*. */
#define VFW_PROTO_ANY 0

/**
 * Every reason a packet can be dropped. Each has a counter per worker,
 * summed on read and shown by name. X(enum suffix, "name shown").
 */
#define VFW_DROP_REASONS(X)                                    \
	X(ETH_TRUNC, "eth_truncated")                          \
	X(VLAN_TRUNC, "vlan_truncated")                        \
	X(VLAN_STACKED, "vlan_stacked")                        \
	X(ETHERTYPE, "ethertype_unsupported")                  \
	X(ARP_MALFORMED, "arp_malformed")                      \
	X(IP4_TRUNC, "ipv4_truncated")                         \
	X(IP4_VERSION, "ipv4_bad_version")                     \
	X(IP4_IHL, "ipv4_bad_ihl")                             \
	X(IP4_TOTLEN, "ipv4_bad_total_length")                 \
	X(IP4_CSUM, "ipv4_bad_checksum")                       \
	X(IP4_SRC, "ipv4_bad_source")                          \
	X(IP4_OPTS, "ipv4_bad_options")                        \
	X(IP4_SRCRT, "ipv4_source_route")                      \
	X(IP6_TRUNC, "ipv6_truncated")                         \
	X(IP6_VERSION, "ipv6_bad_version")                     \
	X(IP6_PAYLEN, "ipv6_bad_payload_length")               \
	X(IP6_EXTHDR, "ipv6_bad_ext_header")                   \
	X(IP6_EXT_LIMIT, "ipv6_too_many_ext_headers")          \
	X(IP6_UNSUPPORTED, "ipv6_not_forwarded")               \
	X(FRAG_BAD, "fragment_malformed")                      \
	X(FRAG_NO_FIRST, "fragment_without_first")             \
	X(FRAG_TABLE_FULL, "fragment_table_full")              \
	X(TCP_TRUNC, "tcp_truncated")                          \
	X(TCP_FLAGS, "tcp_bad_flags")                          \
	X(UDP_TRUNC, "udp_truncated")                          \
	X(UDP_LEN, "udp_bad_length")                           \
	X(L4_CSUM, "l4_bad_checksum")                          \
	X(ICMP_TRUNC, "icmp_truncated")                        \
	X(ICMP_INNER, "icmp_error_bad_inner")                  \
	X(L2_NOT_FOR_US, "l2_not_for_us")                      \
	X(MULTICAST, "multicast_or_broadcast")                 \
	X(SPOOFED, "source_not_via_ingress_port")              \
	X(LOCAL_UNHANDLED, "local_unhandled")                  \
	X(TTL_EXPIRED, "ttl_expired")                          \
	X(NO_ROUTE, "no_route")                                \
	X(ROUTE_NONE, "route_none")                            \
	X(ARP_PENDING, "arp_pending")                          \
	X(ARP_FAILED, "arp_failed")                            \
	X(NEIGH_FULL, "neighbor_table_full")                   \
	X(ACL_DENY, "acl_deny")                                \
	X(CT_FULL, "ct_full")                                  \
	X(CT_INVALID, "ct_invalid")                            \
	X(SNAT_EXHAUSTED, "snat_ports_exhausted")              \
	X(HANDOFF_FULL, "handoff_ring_full")                   \
	X(SLOWPATH_FULL, "slowpath_ring_full")                 \
	X(TX_FULL, "tx_queue_full")                            \
	X(MTU, "exceeds_mtu")                                  \
	X(NO_MBUF, "mbuf_alloc_failed")

#define VFW_DROP_ENUM_(e, s) VFW_DROP_##e,
/** Drop reason codes. VFW_DROP_NONE (0) means "not dropped". */
enum vfw_drop {
	VFW_DROP_NONE = 0,
	VFW_DROP_REASONS(VFW_DROP_ENUM_)
	VFW_DROP_MAX
};
#undef VFW_DROP_ENUM_

/** Name of a drop reason as shown in counters ("?" when out of range). */
const char *vfw_drop_name(enum vfw_drop d);

/** Text form of an address into buf (INET6_ADDRSTRLEN is enough). */
const char *vfw_ip_str(const struct vfw_ip *ip, char *buf, size_t len);
/** Text form "addr/len". */
const char *vfw_prefix_str(const struct vfw_prefix *p, char *buf, size_t len);
/** Parse "a.b.c.d" or an IPv6 address. 0 on success, -EINVAL otherwise. */
int vfw_ip_parse(const char *s, struct vfw_ip *ip);
/**
 * Parse "addr/len" (or a bare address as a host prefix).
 * Returns -EINVAL on syntax errors and -EDOM when host bits are set
 * (the parsed prefix is still filled, host bits kept, for messages).
 */
int vfw_prefix_parse(const char *s, struct vfw_prefix *p);
/** True if ip lies in prefix (same family). */
bool vfw_prefix_contains(const struct vfw_prefix *p, const struct vfw_ip *ip);
/** True if a and b are the same address. */
bool vfw_ip_equal(const struct vfw_ip *a, const struct vfw_ip *b);

/** IPv4 helper: host-order value of a v4 vfw_ip. */
static inline uint32_t
vfw_ip4_host(const struct vfw_ip *ip)
{
	return __builtin_bswap32(ip->v4);
}

#ifdef __cplusplus
}
#endif
#endif
