/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * vnetfw configuration: the typed form of the YAML document, its loader,
 * validator and writer.
 *
 * The config is plain heap memory owned by the control plane; it is never
 * read by workers. A running policy generation is compiled from it
 * (lib/policy). Every item remembers where it came from (line/column) so
 * that validation errors point at the text.
 *
 * Thread safety: none; a struct vfw_config is owned by one thread at a time.
 */
#ifndef VNETFW_CONFIG_H
#define VNETFW_CONFIG_H

#include <stdio.h>
#include <yaml.h>
#include <rte_ether.h>

#include "vnetfw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where an item was written: 1-based line and column; 0 when unknown. */
struct vfw_loc {
	uint32_t line;
	uint32_t col;
};

/** Collected errors ("file:line:col: message"). */
struct vfw_errors {
	char **msg;
	unsigned int n;
	unsigned int cap;
};

void vfw_errors_init(struct vfw_errors *e);
void vfw_errors_free(struct vfw_errors *e);
/** Append a formatted error; file may be NULL, loc may be NULL. */
void vfw_errors_add(struct vfw_errors *e, const char *file,
		    const struct vfw_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * ports.*.mtu bounds. 68 is the smallest MTU an IPv4 link may have (RFC 791,
 * DPDK's RTE_ETHER_MIN_MTU). The largest is what one mbuf can hold: a frame
 * of MTU + Ethernet header + one VLAN tag after the headroom, in a data
 * room that is 16 bits wide (65389 with DPDK's default 128-byte headroom).
 * The device and, for net_af_packet, the ring frame size (framesz) bound
 * it further; vnetfw checks those when it starts.
 */
#define VFW_PORT_MTU_MIN 68u
#define VFW_PORT_MTU_MAX ((unsigned int)(UINT16_MAX - RTE_PKTMBUF_HEADROOM - \
					 RTE_ETHER_HDR_LEN - RTE_VLAN_HLEN))
/**
 * Distinct IPv4 addresses the appliance answers for (interface addresses,
 * DNAT destinations, SNAT translated addresses): lib/policy keeps them in
 * a table of this size (room for every SNAT pool's address and as many
 * DNAT addresses again).
 */
#define VFW_MAX_OWNED 512u

/**
 * Static neighbors a config may have: a quarter of the neighbor table
 * vnetfw creates (4096 entries, app/vnetfw), so that a change replacing
 * all of them (old and new are in the table together until it is
 * published) still leaves learned neighbors room.
 */
#define VFW_CFG_MAX_NEIGHBORS 1024u

/** Translated addresses one SNAT rule may have (lib/nat's VFW_NAT_MAX_ADDRS). */
#define VFW_CFG_SNAT_MAX_ADDRS 16
/**
 * SNAT port pools (translated address and ports range pairs, the hairpin
 * pool included) that can exist (lib/nat's VFW_NAT_MAX_POOLS).
 */
#define VFW_CFG_SNAT_MAX_POOLS 256

struct vfw_cfg_port {
	char device[128];           /**< DPDK port name (vdev name or PCI) */
	struct vfw_prefix address;  /**< interface address + subnet length */
	bool has_address6;
	struct vfw_prefix address6;
	bool has_gateway;           /**< vnet only */
	struct vfw_ip gateway;
	bool has_mac;
	struct rte_ether_addr mac;
	uint16_t mtu;               /**< 0: the device's (DPDK's view) */
	struct vfw_loc loc;
};

struct vfw_cfg_neighbor {
	struct vfw_ip address;
	struct rte_ether_addr mac;
	struct vfw_loc loc;
};

struct vfw_cfg_addrset {
	char name[VFW_NAME_MAX];
	struct vfw_prefix *prefixes;
	unsigned int n_prefixes;
	struct vfw_loc loc;
};

/** One element of a rule's source/destination list. */
enum vfw_addr_kind {
	VFW_ADDR_ANY = 0,
	VFW_ADDR_PREFIX,
	VFW_ADDR_SET,      /**< user address set, or VirtualNetwork / Internet */
};

struct vfw_cfg_addr {
	enum vfw_addr_kind kind;
	struct vfw_prefix prefix;  /**< VFW_ADDR_PREFIX */
	char set[VFW_NAME_MAX];    /**< VFW_ADDR_SET */
};

enum vfw_access {
	VFW_ACCESS_DENY = 0,
	VFW_ACCESS_ALLOW = 1,
};

struct vfw_cfg_rule {
	char name[VFW_NAME_MAX];
	uint32_t priority;          /**< 1..64999 for user rules */
	enum vfw_dir direction;
	enum vfw_access access;
	uint8_t protocol;           /**< VFW_PROTO_ANY, IPPROTO_TCP/UDP/ICMP */
	struct vfw_cfg_addr *source;
	unsigned int n_source;      /**< >= 1 after parsing ("any" is one item) */
	struct vfw_cfg_addr *destination;
	unsigned int n_destination;
	struct vfw_port_range *source_ports;
	unsigned int n_source_ports;      /**< 0 = any */
	struct vfw_port_range *destination_ports;
	unsigned int n_destination_ports; /**< 0 = any */
	char description[256];
	struct vfw_loc loc;
};

struct vfw_cfg_dnat {
	char name[VFW_NAME_MAX];
	uint8_t protocol;           /**< IPPROTO_TCP or IPPROTO_UDP */
	struct vfw_ip destination;
	uint16_t destination_port;
	struct vfw_ip translated_address;
	uint16_t translated_port;
	struct vfw_loc loc;
};

struct vfw_cfg_snat {
	char name[VFW_NAME_MAX];
	struct vfw_prefix *source;
	unsigned int n_source;
	struct vfw_prefix *destination;   /**< n = 0 means any */
	unsigned int n_destination;
	struct vfw_prefix *exclude;
	unsigned int n_exclude;
	struct vfw_ip *translated_addresses;
	unsigned int n_translated;
	struct vfw_port_range ports;      /**< default 1024-65535 */
	struct vfw_loc loc;
};

enum vfw_nh_type {
	VFW_NH_VNETLOCAL = 0,
	VFW_NH_APPLIANCE,   /**< VirtualAppliance */
	VFW_NH_INTERNET,
	VFW_NH_NONE,
	VFW_NH_TYPE_MAX
};

/** "VnetLocal", "VirtualAppliance", "Internet", "None". */
const char *vfw_nh_type_name(enum vfw_nh_type t);

struct vfw_cfg_route {
	char name[VFW_NAME_MAX];
	struct vfw_prefix prefix;
	enum vfw_nh_type type;
	bool has_next_hop;
	struct vfw_ip next_hop;     /**< VirtualAppliance only */
	struct vfw_loc loc;
};

/** Session timeouts in seconds. */
struct vfw_cfg_timeouts {
	uint32_t tcp_syn;          /**< default 30 */
	uint32_t tcp_established;  /**< default 14400 */
	uint32_t tcp_closing;      /**< default 120 */
	uint32_t udp;              /**< default 300 */
	uint32_t icmp;             /**< default 60 */
};

struct vfw_cfg_conntrack {
	uint32_t max_sessions;     /**< default 1048576 */
	bool tcp_loose;            /**< default false */
	struct vfw_cfg_timeouts timeouts;
	struct vfw_loc max_sessions_loc; /**< where max_sessions is set; 0 if not */
};

struct vfw_cfg_control {
	char socket[108];          /**< default /run/vnetfw/control.sock */
	uint32_t mode;             /**< default 0660 */
};

struct vfw_config {
	char *file;                /**< path it was loaded from, or NULL */
	struct vfw_cfg_port ports[VFW_PORT_MAX];
	struct vfw_prefix *vnet_prefixes;
	unsigned int n_vnet_prefixes;
	struct vfw_cfg_neighbor *neighbors;
	unsigned int n_neighbors;
	struct vfw_cfg_addrset *address_sets;
	unsigned int n_address_sets;
	struct vfw_cfg_rule *rules;
	unsigned int n_rules;
	struct vfw_cfg_dnat *dnat;
	unsigned int n_dnat;
	struct vfw_cfg_snat *snat;
	unsigned int n_snat;
	struct vfw_cfg_route *routes;
	unsigned int n_routes;
	struct vfw_cfg_conntrack conntrack;
	struct vfw_cfg_control control;
};

/**
 * Load and validate a YAML file. On any error returns NULL and fills errs
 * with every error found ("file:line:col: message").
 */
struct vfw_config *vfw_config_load_file(const char *path,
					struct vfw_errors *errs);
/** Same, from memory; name is used in messages (e.g. "<request>"). */
struct vfw_config *vfw_config_load_string(const char *buf, size_t len,
					  const char *name,
					  struct vfw_errors *errs);
void vfw_config_free(struct vfw_config *cfg);
/** Deep copy (NULL + rte_errno=ENOMEM on failure). */
struct vfw_config *vfw_config_dup(const struct vfw_config *cfg);

/**
 * Cross-item validation of a whole config (unique names and priorities,
 * set references, NAT conflicts, next hops reachable, ...). The loader calls
 * it; the control plane calls it after editing a candidate copy.
 * Returns the number of errors added.
 */
unsigned int vfw_config_validate(const struct vfw_config *cfg,
				 struct vfw_errors *errs);

/**
 * What a running vnetfw cannot change (ports' device, address, mac and
 * mtu; conntrack.max_sessions): one error per field of cand that differs
 * from running, "ports.cluster.device: a -> b cannot change while running
 * (restart vnetfw to change it)", at cand's location in cand->file.
 * dev_mtu (VFW_PORT_MAX entries, or NULL) is each port's device MTU, shown
 * for an unset mtu. apply, validate and SIGHUP all use it. Returns the
 * number of errors added.
 */
unsigned int vfw_config_check_restart(const struct vfw_config *running,
				      const struct vfw_config *cand,
				      const uint16_t *dev_mtu,
				      struct vfw_errors *errs);

/**
 * Parsers for single items, used by the control protocol so that a rule in
 * a request has exactly the shape of an item in the file. node must be a
 * mapping node of doc. Return 0 or the number of errors added (>0); on
 * error *out is left freed/zeroed.
 */
int vfw_config_parse_rule(yaml_document_t *doc, yaml_node_t *node,
			  const char *file, struct vfw_cfg_rule *out,
			  struct vfw_errors *errs);
int vfw_config_parse_route(yaml_document_t *doc, yaml_node_t *node,
			   const char *file, struct vfw_cfg_route *out,
			   struct vfw_errors *errs);
int vfw_config_parse_dnat(yaml_document_t *doc, yaml_node_t *node,
			  const char *file, struct vfw_cfg_dnat *out,
			  struct vfw_errors *errs);
int vfw_config_parse_snat(yaml_document_t *doc, yaml_node_t *node,
			  const char *file, struct vfw_cfg_snat *out,
			  struct vfw_errors *errs);
int vfw_config_parse_neighbor(yaml_document_t *doc, yaml_node_t *node,
			      const char *file, struct vfw_cfg_neighbor *out,
			      struct vfw_errors *errs);

/** Free the heap members of single items (not the item itself). */
void vfw_cfg_rule_clear(struct vfw_cfg_rule *r);
void vfw_cfg_snat_clear(struct vfw_cfg_snat *s);
/** Deep-copy single items. 0 or -ENOMEM. */
int vfw_cfg_rule_copy(struct vfw_cfg_rule *dst, const struct vfw_cfg_rule *src);
int vfw_cfg_snat_copy(struct vfw_cfg_snat *dst, const struct vfw_cfg_snat *src);

/**
 * Write cfg as a YAML document that vfw_config_load_* reads back to an equal
 * config. Returns 0 or a negative errno.
 */
int vfw_config_write(const struct vfw_config *cfg, FILE *out);
/** Same, into a malloc'd NUL-terminated string (*len without the NUL). */
char *vfw_config_to_string(const struct vfw_config *cfg, size_t *len);

/** Write one item as a single-line flow-style YAML/JSON object. */
int vfw_cfg_rule_write_json(const struct vfw_cfg_rule *r, FILE *out);
int vfw_cfg_route_write_json(const struct vfw_cfg_route *r, FILE *out);
int vfw_cfg_dnat_write_json(const struct vfw_cfg_dnat *d, FILE *out);
int vfw_cfg_snat_write_json(const struct vfw_cfg_snat *s, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
