/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/config shared between the loader, the item parsers,
 * the validator and the writer. Nothing here is exported.
 */
#ifndef VFW_CONFIG_PRIVATE_H
#define VFW_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "vnetfw/config.h"

/*
 * Error flood guard: a hostile or badly broken document can produce one
 * error per few bytes; past this many we stop collecting (and say so).
 */
#define CFG_MAX_ERRORS 1000

/* Nesting deeper than any valid document needs is refused before loading. */
#define CFG_MAX_DEPTH 32

/* Longest value we echo back in a message. */
#define CFG_SHOW_MAX 64

/* Parse state of one document (or of one item from the control socket). */
struct cfg_ctx {
	yaml_document_t *doc;
	const char *file;          /* name used in messages, may be NULL */
	struct vfw_errors *errs;   /* may be NULL: errors are only counted */
	unsigned int nerr;         /* errors seen, even if not stored */
	/*
	 * Loader only: where each stored message points, so that parse and
	 * validation errors can be put into document order at the end.
	 */
	bool sort;
	bool sort_failed;
	unsigned int first;        /* errs->n when the load started */
	struct vfw_loc *locs;      /* one per message since first */
	unsigned int nlocs, caplocs;
};

/*
 * Items that already failed to parse. The loader keeps them in the config
 * so that cross-item validation can still run on the rest, but validation
 * must skip them (their fields are zero) so one mistake is reported once.
 * NULL arrays mean "nothing broken".
 */
struct cfg_broken {
	bool ports;        /* any error in the ports section */
	bool *sets;
	bool *neighbors;
	bool *rules;
	bool *dnat;
	bool *snat;
	bool *routes;
	/*
	 * Where each vnet_prefixes entry is in the document (vfw_prefix has
	 * no location of its own), so that a duplicate is reported at its
	 * line. NULL outside the loader.
	 */
	struct vfw_loc *vnet_prefix_locs;
};

/* Built-in address set names (canonical spelling). */
#define CFG_SET_VNET     "VirtualNetwork"
#define CFG_SET_INTERNET "Internet"

/* Error helpers (errors.c). loc may be NULL or zero. */
void cfg_err(struct cfg_ctx *c, const struct vfw_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cfg_err_node(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct vfw_loc cfg_node_loc(const yaml_node_t *n);
/* Loader: order the messages it added by line/column; frees the locs. */
void cfg_errors_sort(struct cfg_ctx *c);
/* Printable, truncated copy of s for messages; returns buf. */
const char *cfg_show(const char *s, char *buf, size_t len);

/* Item parsers (items.c); return the number of errors added. */
int cfg_parse_rule(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		   struct vfw_cfg_rule *out);
int cfg_parse_route(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		    struct vfw_cfg_route *out);
int cfg_parse_dnat(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		   struct vfw_cfg_dnat *out);
int cfg_parse_snat(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		   struct vfw_cfg_snat *out);
int cfg_parse_neighbor(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		       struct vfw_cfg_neighbor *out);

/* Scalar helpers shared by items.c and load.c (items.c). */
const char *cfg_scalar(struct cfg_ctx *c, yaml_node_t *n, const char *path);
bool cfg_is_null(const yaml_node_t *n);
const char *cfg_kind(const yaml_node_t *n);
yaml_node_t *cfg_node(struct cfg_ctx *c, int id);
int cfg_fields(struct cfg_ctx *c, yaml_node_t *map, const char *path,
	       const char *what, const char *const *keys, unsigned int nkeys,
	       yaml_node_t **vals);
int cfg_u32(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	    uint32_t min, uint32_t max, uint32_t *out);
int cfg_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out);
int cfg_mac(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	    struct rte_ether_addr *out);
int cfg_name(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out);
int cfg_prefix(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	       struct vfw_prefix *out);
int cfg_prefix_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		    bool allow_any, bool allow_empty,
		    struct vfw_prefix **out, unsigned int *nout);
int cfg_ip(struct cfg_ctx *c, yaml_node_t *n, const char *path,
	   struct vfw_ip *out);

/* Shared checks (validate.c). */
bool cfg_name_valid(const char *s);
bool cfg_set_reserved(const char *s);
bool cfg_prefix_has_host_bits(const struct vfw_prefix *p);
void cfg_prefix_mask(struct vfw_prefix *p);
unsigned int cfg_validate(struct cfg_ctx *c, const struct vfw_config *cfg,
			  const struct cfg_broken *broken);

/* Config defaults (config.c). */
void cfg_set_defaults(struct vfw_config *cfg);

#endif
