/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Editing a candidate config: the add/replace/del steps of the protocol,
 * and building the candidate of a change from the running config.
 *
 * Edits check only what they need to be well defined (the name to replace
 * or delete exists, the name or address to add does not); everything that
 * relates items to each other (unique priorities, set references, NAT
 * conflicts, reachable next hops) is vfw_config_validate()'s job on the
 * finished candidate. That is what lets a transaction pass through states
 * that would be invalid on their own, such as swapping two priorities.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_private.h"

static const char *const edit_names[] = {
	[CTL_RULE_ADD] = "rule.add",
	[CTL_RULE_REPLACE] = "rule.replace",
	[CTL_RULE_DEL] = "rule.del",
	[CTL_ROUTE_ADD] = "route.add",
	[CTL_ROUTE_DEL] = "route.del",
	[CTL_DNAT_ADD] = "nat.add",
	[CTL_SNAT_ADD] = "nat.add",
	[CTL_NAT_DEL] = "nat.del",
	[CTL_NEIGH_ADD] = "neighbor.add",
	[CTL_NEIGH_DEL] = "neighbor.del",
};

const char *
ctl_edit_name(const struct ctl_edit *e)
{
	return edit_names[e->op];
}

void
ctl_edit_clear(struct ctl_edit *e)
{
	switch (e->op) {
	case CTL_RULE_ADD:
	case CTL_RULE_REPLACE:
		vfw_cfg_rule_clear(&e->rule);
		break;
	case CTL_SNAT_ADD:
		vfw_cfg_snat_clear(&e->snat);
		break;
	default:
		break;
	}
}

void
ctl_job_free(struct ctl_job *job)
{
	unsigned int i;

	if (job == NULL)
		return;
	for (i = 0; i < job->n_edits; i++)
		ctl_edit_clear(&job->edits[i]);
	free(job->edits);
	vfw_config_free(job->cfg);
	free(job);
}

void
ctl_txn_free(struct ctl_txn *t)
{
	unsigned int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_edits; i++)
		ctl_edit_clear(&t->edits[i]);
	free(t->edits);
	vfw_config_free(t->cand);
	free(t);
}

/*
 * Arrays in struct vfw_config carry no capacity, so each add grows by one;
 * glibc's realloc makes that cheap enough for the largest rule sets.
 */
static void *
grow(void *arr, unsigned int n, size_t size)
{
	void *p = realloc(arr, ((size_t)n + 1) * size);

	if (p != NULL)
		memset((char *)p + (size_t)n * size, 0, size);
	return p;
}

static void
cut(void *arr, unsigned int *n, unsigned int i, size_t size)
{
	char *a = arr;

	memmove(a + (size_t)i * size, a + ((size_t)i + 1) * size,
		((size_t)*n - i - 1) * size);
	(*n)--;
}

static int
find_rule(const struct vfw_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_rules; i++)
		if (strcmp(cfg->rules[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_route(const struct vfw_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_routes; i++)
		if (strcmp(cfg->routes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_dnat(const struct vfw_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_dnat; i++)
		if (strcmp(cfg->dnat[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_snat(const struct vfw_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_snat; i++)
		if (strcmp(cfg->snat[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_neigh(const struct vfw_config *cfg, const struct vfw_ip *ip)
{
	unsigned int i;

	for (i = 0; i < cfg->n_neighbors; i++)
		if (vfw_ip_equal(&cfg->neighbors[i].address, ip))
			return (int)i;
	return -1;
}

/*
 * Items from requests lose their location: it points into a request line,
 * and validation messages would otherwise show it as a place in the
 * config file. Messages name the item instead.
 */
static const struct vfw_loc no_loc;

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)
#define NOMEM() FAIL("out of memory")

static int
rule_edit(struct vfw_config *cfg, const struct ctl_edit *e, char *err,
	  size_t errlen)
{
	struct vfw_cfg_rule tmp;
	struct vfw_cfg_rule *p;
	int i;

	switch (e->op) {
	case CTL_RULE_ADD:
		if (find_rule(cfg, e->rule.name) >= 0)
			FAIL("rule '%s' already exists (rule.replace changes it)",
			     e->rule.name);
		p = grow(cfg->rules, cfg->n_rules, sizeof(*p));
		if (p == NULL)
			NOMEM();
		cfg->rules = p;
		if (vfw_cfg_rule_copy(&p[cfg->n_rules], &e->rule) < 0)
			NOMEM();
		p[cfg->n_rules++].loc = no_loc;
		return 0;
	case CTL_RULE_REPLACE:
		i = find_rule(cfg, e->rule.name);
		if (i < 0)
			FAIL("no rule named '%s' (rule.add creates it)",
			     e->rule.name);
		memset(&tmp, 0, sizeof(tmp));
		if (vfw_cfg_rule_copy(&tmp, &e->rule) < 0)
			NOMEM();
		/* Same place in the list, so save keeps the file's order. */
		vfw_cfg_rule_clear(&cfg->rules[i]);
		cfg->rules[i] = tmp;
		cfg->rules[i].loc = no_loc;
		return 0;
	default: /* CTL_RULE_DEL */
		i = find_rule(cfg, e->name);
		if (i < 0)
			FAIL("no rule named '%s'", e->name);
		vfw_cfg_rule_clear(&cfg->rules[i]);
		cut(cfg->rules, &cfg->n_rules, (unsigned int)i,
		    sizeof(cfg->rules[0]));
		return 0;
	}
}

static int
nat_edit(struct vfw_config *cfg, const struct ctl_edit *e, char *err,
	 size_t errlen)
{
	const char *name = e->op == CTL_DNAT_ADD ? e->dnat.name :
			   e->op == CTL_SNAT_ADD ? e->snat.name : e->name;
	int d = find_dnat(cfg, name), s = find_snat(cfg, name);
	void *p;

	if (e->op != CTL_NAT_DEL && (d >= 0 || s >= 0))
		FAIL("NAT rule '%s' already exists (as %s)", name,
		     d >= 0 ? "dnat" : "snat");
	switch (e->op) {
	case CTL_DNAT_ADD:
		p = grow(cfg->dnat, cfg->n_dnat, sizeof(cfg->dnat[0]));
		if (p == NULL)
			NOMEM();
		cfg->dnat = p;
		cfg->dnat[cfg->n_dnat] = e->dnat;
		cfg->dnat[cfg->n_dnat++].loc = no_loc;
		return 0;
	case CTL_SNAT_ADD:
		p = grow(cfg->snat, cfg->n_snat, sizeof(cfg->snat[0]));
		if (p == NULL)
			NOMEM();
		cfg->snat = p;
		if (vfw_cfg_snat_copy(&cfg->snat[cfg->n_snat], &e->snat) < 0)
			NOMEM();
		cfg->snat[cfg->n_snat++].loc = no_loc;
		return 0;
	default: /* CTL_NAT_DEL */
		if (d < 0 && s < 0)
			FAIL("no NAT rule named '%s'", name);
		/* Names are one namespace for nat.del: refuse to guess. */
		if (d >= 0 && s >= 0)
			FAIL("'%s' names both a dnat and an snat rule", name);
		if (d >= 0) {
			cut(cfg->dnat, &cfg->n_dnat, (unsigned int)d,
			    sizeof(cfg->dnat[0]));
		} else {
			vfw_cfg_snat_clear(&cfg->snat[s]);
			cut(cfg->snat, &cfg->n_snat, (unsigned int)s,
			    sizeof(cfg->snat[0]));
		}
		return 0;
	}
}

int
ctl_edit_apply(struct vfw_config *cfg, const struct ctl_edit *e, char *err,
	       size_t errlen)
{
	char a[64];
	void *p;
	int i;

	switch (e->op) {
	case CTL_RULE_ADD:
	case CTL_RULE_REPLACE:
	case CTL_RULE_DEL:
		return rule_edit(cfg, e, err, errlen);
	case CTL_ROUTE_ADD:
		if (find_route(cfg, e->route.name) >= 0)
			FAIL("route '%s' already exists", e->route.name);
		p = grow(cfg->routes, cfg->n_routes, sizeof(cfg->routes[0]));
		if (p == NULL)
			NOMEM();
		cfg->routes = p;
		cfg->routes[cfg->n_routes] = e->route;
		cfg->routes[cfg->n_routes++].loc = no_loc;
		return 0;
	case CTL_ROUTE_DEL:
		i = find_route(cfg, e->name);
		if (i < 0)
			FAIL("no route named '%s'", e->name);
		cut(cfg->routes, &cfg->n_routes, (unsigned int)i,
		    sizeof(cfg->routes[0]));
		return 0;
	case CTL_DNAT_ADD:
	case CTL_SNAT_ADD:
	case CTL_NAT_DEL:
		return nat_edit(cfg, e, err, errlen);
	case CTL_NEIGH_ADD:
		if (find_neigh(cfg, &e->neigh.address) >= 0)
			FAIL("neighbor %s already exists (delete it first)",
			     vfw_ip_str(&e->neigh.address, a, sizeof(a)));
		p = grow(cfg->neighbors, cfg->n_neighbors,
			 sizeof(cfg->neighbors[0]));
		if (p == NULL)
			NOMEM();
		cfg->neighbors = p;
		cfg->neighbors[cfg->n_neighbors] = e->neigh;
		cfg->neighbors[cfg->n_neighbors++].loc = no_loc;
		return 0;
	case CTL_NEIGH_DEL:
		i = find_neigh(cfg, &e->addr);
		if (i < 0)
			FAIL("no neighbor %s", vfw_ip_str(&e->addr, a, sizeof(a)));
		cut(cfg->neighbors, &cfg->n_neighbors, (unsigned int)i,
		    sizeof(cfg->neighbors[0]));
		return 0;
	}
	FAIL("unknown edit");
}

static int
set_file(struct vfw_config *cand, const struct vfw_config *running)
{
	free(cand->file);
	cand->file = NULL;
	if (running->file == NULL)
		return 0;
	cand->file = strdup(running->file);
	return cand->file != NULL ? 0 : -ENOMEM;
}

/*
 * A server without a listener (tests, fuzzers, embedding) runs with an
 * empty control.socket, which the file format rightly refuses. The control
 * section is not what a change is about, so validate as if it were set.
 */
static unsigned int
validate(struct vfw_config *cand, struct vfw_errors *errs)
{
	bool blank = cand->control.socket[0] == '\0';
	unsigned int n;

	if (blank)
		snprintf(cand->control.socket, sizeof(cand->control.socket),
			 "%s", "/run/vnetfw/control.sock");
	n = vfw_config_validate(cand, errs);
	if (blank)
		cand->control.socket[0] = '\0';
	return n;
}

struct vfw_config *
ctl_job_build(struct ctl_job *job, const struct vfw_config *running,
	      uint64_t version, struct vfw_errors *errs)
{
	struct vfw_config *cand;
	char err[CTL_ERR_MAX];
	unsigned int i;

	if (job->kind == CTL_JOB_REPLACE) {
		cand = job->cfg;
		job->cfg = NULL;
		/*
		 * The listener cannot move while clients are connected to
		 * it, so the candidate keeps the running control section
		 * (the reply says so when the document asked otherwise).
		 */
		cand->control = running->control;
		/*
		 * Its locations point into the request's document, whose name
		 * it keeps until validated; then it takes the running file.
		 */
	} else if (job->cfg != NULL && job->base_version == version) {
		/* Nothing changed since begin: the steps' result is exact. */
		cand = job->cfg;
		job->cfg = NULL;
	} else {
		cand = vfw_config_dup(running);
		if (cand == NULL)
			goto nomem;
		for (i = 0; i < job->n_edits; i++) {
			if (ctl_edit_apply(cand, &job->edits[i], err,
					   sizeof(err)) < 0) {
				if (job->commit)
					vfw_errors_add(errs, NULL, NULL,
						       "step %u (%s) conflicts with a change committed since begin: %s",
						       i + 1,
						       ctl_edit_name(&job->edits[i]),
						       err);
				else
					vfw_errors_add(errs, NULL, NULL, "%s",
						       err);
				vfw_config_free(cand);
				return NULL;
			}
		}
	}
	if (validate(cand, errs) > 0 ||
	    vfw_config_check_restart(running, cand, NULL, errs) > 0) {
		vfw_config_free(cand);
		return NULL;
	}
	if (job->kind == CTL_JOB_REPLACE && set_file(cand, running) < 0)
		goto nomem;
	return cand;
nomem:
	vfw_config_free(cand);
	vfw_errors_add(errs, NULL, NULL, "out of memory");
	return NULL;
}
