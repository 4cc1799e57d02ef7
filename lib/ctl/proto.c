/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request protocol: one JSON object per line, parsed with libyaml so
 * that an item inside a request is read by the same parser as the same
 * item in the config file. Every request is checked against a table of
 * commands and their keys before anything runs: unknown commands, unknown,
 * duplicate, missing or wrong-typed keys are answered with an error naming
 * the key and its position ("line 1, column 23: ...").
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_private.h"
#include "vnetfw/json_utf16.h"

#define MAX_ARGS 6

enum arg_type {
	ARG_STR,   /* any scalar but a plain null */
	ARG_INT,   /* a scalar that is an integer in [0, 65535] */
	ARG_MAP,   /* a JSON object */
};

struct arg_spec {
	const char *key;
	enum arg_type type;
	bool required;
};

struct req;
typedef void (*cmd_fn)(struct req *rq);

#define CMD_CHANGE 0x1  /* accepts "existing" */
#define CMD_TXN_END 0x2 /* commit/abort: a failure does not mark the txn */

struct cmd_spec {
	const char *name;
	cmd_fn fn;
	unsigned int flags;
	enum ctl_edit_op op;    /* edit commands */
	struct arg_spec args[MAX_ARGS];
};

struct req {
	struct vfw_ctl *c;
	struct ctl_client *cl;
	yaml_document_t *doc;
	yaml_node_t *root;
	const struct cmd_spec *cmd;
	yaml_node_t *arg[MAX_ARGS];
	bool has_existing;
	enum vfw_existing existing;
};

/* Printable, bounded copy of a value for messages. */
static const char *
show_value(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 4 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

static void __attribute__((format(printf, 3, 4)))
err_at(struct req *rq, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[CTL_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		ctl_send_error(rq->c, rq->cl, "line %zu, column %zu: %s",
			       n->start_mark.line + 1, n->start_mark.column + 1,
			       msg);
	else
		ctl_send_error(rq->c, rq->cl, "%s", msg);
}

static yaml_node_t *
node(yaml_document_t *doc, int id)
{
	return yaml_document_get_node(doc, id);
}

static bool
is_plain_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (strcmp(v, "null") == 0 || strcmp(v, "~") == 0 ||
		strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0 ||
		v[0] == '\0');
}

static const char *
str_arg(struct req *rq, int i)
{
	yaml_node_t *n = rq->arg[i];

	return n != NULL ? (const char *)n->data.scalar.value : NULL;
}

static int
parse_u16(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 5)
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static const char *
type_name(enum arg_type t)
{
	switch (t) {
	case ARG_STR: return "a string";
	case ARG_INT: return "an integer 0-65535";
	default: return "an object";
	}
}

static const char *
kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE: return "an array";
	case YAML_MAPPING_NODE: return "an object";
	default: return is_plain_null(n) ? "null" : "a scalar";
	}
}

/* Checks the value of one key against its spec; 0 or -1 (answered). */
static int
check_type(struct req *rq, const char *key, enum arg_type t, yaml_node_t *v)
{
	char b[80];
	uint16_t u;

	switch (t) {
	case ARG_STR:
		if (v->type == YAML_SCALAR_NODE &&
		    strlen((const char *)v->data.scalar.value) !=
			    v->data.scalar.length) {
			/* "\u0000" would silently cut the C string short */
			err_at(rq, v, "key '%s': value contains a NUL character",
			       key);
			return -1;
		}
		if (v->type == YAML_SCALAR_NODE && !is_plain_null(v))
			return 0;
		break;
	case ARG_INT:
		if (v->type == YAML_SCALAR_NODE &&
		    parse_u16((const char *)v->data.scalar.value, &u) == 0)
			return 0;
		if (v->type == YAML_SCALAR_NODE) {
			err_at(rq, v, "key '%s': expected %s, got '%s'", key,
			       type_name(t),
			       show_value((const char *)v->data.scalar.value,
					  b, sizeof(b)));
			return -1;
		}
		break;
	case ARG_MAP:
		if (v->type == YAML_MAPPING_NODE)
			return 0;
		break;
	}
	err_at(rq, v, "key '%s': expected %s, got %s", key, type_name(t),
	       kind_name(v));
	return -1;
}

static void
expected_keys(const struct cmd_spec *cmd, char *buf, size_t len)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < MAX_ARGS && cmd->args[i].key != NULL; i++)
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
				      i ? ", " : "", cmd->args[i].key);
	if (cmd->flags & CMD_CHANGE)
		snprintf(buf + o, o < len ? len - o : 0, "%sexisting",
			 i ? ", " : "");
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

/* Fills rq->arg[] from the request mapping; 0 or -1 (answered). */
static int
check_args(struct req *rq)
{
	const struct cmd_spec *cmd = rq->cmd;
	yaml_node_pair_t *p;
	bool seen_cmd = false;
	char b[80], keys[160];
	int i;

	for (p = rq->root->data.mapping.pairs.start;
	     p < rq->root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(rq->doc, p->key);
		yaml_node_t *v = node(rq->doc, p->value);
		const char *key;

		if (k->type != YAML_SCALAR_NODE) {
			err_at(rq, k, "keys must be strings");
			return -1;
		}
		key = (const char *)k->data.scalar.value;
		if (strcmp(key, "cmd") == 0) {
			if (seen_cmd) {
				err_at(rq, k, "duplicate key 'cmd'");
				return -1;
			}
			seen_cmd = true;
			continue;
		}
		if (strcmp(key, "existing") == 0 && (cmd->flags & CMD_CHANGE)) {
			const char *s;

			if (rq->has_existing) {
				err_at(rq, k, "duplicate key 'existing'");
				return -1;
			}
			if (check_type(rq, key, ARG_STR, v) < 0)
				return -1;
			s = (const char *)v->data.scalar.value;
			if (strcmp(s, "keep") == 0) {
				rq->existing = VFW_EXISTING_KEEP;
			} else if (strcmp(s, "reevaluate") == 0) {
				rq->existing = VFW_EXISTING_REEVALUATE;
			} else {
				err_at(rq, v, "key 'existing': expected 'keep' or 'reevaluate', got '%s'",
				       show_value(s, b, sizeof(b)));
				return -1;
			}
			rq->has_existing = true;
			continue;
		}
		for (i = 0; i < MAX_ARGS && cmd->args[i].key != NULL; i++)
			if (strcmp(cmd->args[i].key, key) == 0)
				break;
		if (i == MAX_ARGS || cmd->args[i].key == NULL) {
			expected_keys(cmd, keys, sizeof(keys));
			err_at(rq, k, "unknown key '%s' for '%s' (keys: %s)",
			       show_value(key, b, sizeof(b)), cmd->name, keys);
			return -1;
		}
		if (rq->arg[i] != NULL) {
			err_at(rq, k, "duplicate key '%s'", key);
			return -1;
		}
		if (check_type(rq, key, cmd->args[i].type, v) < 0)
			return -1;
		rq->arg[i] = v;
	}
	for (i = 0; i < MAX_ARGS && cmd->args[i].key != NULL; i++)
		if (cmd->args[i].required && rq->arg[i] == NULL) {
			err_at(rq, rq->root, "missing key '%s' for '%s'",
			       cmd->args[i].key, cmd->name);
			return -1;
		}
	return 0;
}

/*
 * Closes the memstream f (over *buf, *len) and sends what it holds as a
 * successful reply.
 */
static void
send_stream(struct req *rq, FILE *f, char **buf, size_t *len)
{
	if (fclose(f) != 0 || *buf == NULL) {
		free(*buf);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	ctl_send(rq->c, rq->cl, *buf, *len, true);
	free(*buf);
}

/* ------------------------------------------------------------------ */

static void
cmd_show(struct req *rq)
{
	struct vfw_ctl *c = rq->c;
	const char *what = str_arg(rq, 0);
	char *out = NULL, *text, *buf = NULL;
	size_t olen = 0, tlen, len = 0;
	FILE *f, *o;
	int rc;

	if (strcmp(what, "config") == 0) {
		/* The server owns the acknowledged config: no op needed. */
		text = vfw_config_to_string(c->running, &tlen);
		f = open_memstream(&buf, &len);
		if (text == NULL || f == NULL) {
			free(text);
			if (f != NULL)
				fclose(f);
			free(buf);
			ctl_send_error(c, rq->cl, "show config: out of memory");
			return;
		}
		fprintf(f, "{\"ok\":true,\"generation\":%" PRIu64 ",\"config\":",
			ctl_generation(c));
		ctl_json_strn(f, text, tlen);
		putc('}', f);
		free(text);
		send_stream(rq, f, &buf, &len);
		return;
	}
	if (c->ops.show == NULL) {
		err_at(rq, rq->arg[0], "show %s: not available in this server",
		       what);
		return;
	}
	o = open_memstream(&out, &olen);
	if (o == NULL) {
		ctl_send_error(c, rq->cl, "out of memory");
		return;
	}
	rc = c->ops.show(c->ops.ctx, what, o);
	if (fclose(o) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == -ENOENT) {
		char b[80];

		err_at(rq, rq->arg[0], "unknown show target '%s' (rules, routes, nat, sessions, stats, ports, neighbors, config)",
		       show_value(what, b, sizeof(b)));
	} else if (rc < 0) {
		ctl_send_error(c, rq->cl, "show %s: %s", what, strerror(-rc));
	} else {
		f = open_memstream(&buf, &len);
		if (f == NULL) {
			ctl_send_error(c, rq->cl, "out of memory");
		} else {
			fputs("{\"ok\":true,", f);
			ctl_json_str(f, what);
			putc(':', f);
			if (olen > 0)
				fwrite(out, 1, olen, f);
			else
				fputs("null", f);
			putc('}', f);
			send_stream(rq, f, &buf, &len);
		}
	}
	free(out);
}

/* Parses the item or name of an edit command; 0 or -1 (answered). */
static int
parse_edit(struct req *rq, struct ctl_edit *e)
{
	enum ctl_edit_op op = rq->cmd->op;
	struct vfw_errors errs;
	const char *s;
	char b[80];
	int n = 0;

	memset(e, 0, sizeof(*e));
	e->op = op;
	vfw_errors_init(&errs);
	switch (op) {
	case CTL_RULE_ADD:
	case CTL_RULE_REPLACE:
		n = vfw_config_parse_rule(rq->doc, rq->arg[0], NULL, &e->rule,
					  &errs);
		break;
	case CTL_ROUTE_ADD:
		n = vfw_config_parse_route(rq->doc, rq->arg[0], NULL, &e->route,
					   &errs);
		break;
	case CTL_DNAT_ADD: /* nat.add: dnat or snat */
		if ((rq->arg[0] != NULL) == (rq->arg[1] != NULL)) {
			err_at(rq, rq->root, "nat.add takes exactly one of 'dnat' or 'snat'");
			return -1;
		}
		if (rq->arg[0] != NULL) {
			n = vfw_config_parse_dnat(rq->doc, rq->arg[0], NULL,
						  &e->dnat, &errs);
		} else {
			e->op = CTL_SNAT_ADD;
			n = vfw_config_parse_snat(rq->doc, rq->arg[1], NULL,
						  &e->snat, &errs);
		}
		break;
	case CTL_NEIGH_ADD:
		n = vfw_config_parse_neighbor(rq->doc, rq->arg[0], NULL,
					      &e->neigh, &errs);
		break;
	case CTL_NEIGH_DEL:
		s = str_arg(rq, 0);
		if (vfw_ip_parse(s, &e->addr) < 0) {
			err_at(rq, rq->arg[0], "key 'address': '%s' is not an IP address",
			       show_value(s, b, sizeof(b)));
			return -1;
		}
		return 0;
	default: /* deletes by name */
		s = str_arg(rq, 0);
		if (strlen(s) >= VFW_NAME_MAX) {
			err_at(rq, rq->arg[0], "key 'name': longer than %d characters",
			       VFW_NAME_MAX - 1);
			return -1;
		}
		strcpy(e->name, s);
		return 0;
	}
	if (n != 0) {
		/* The item parser's messages already carry line and column. */
		if (errs.n == 0)
			vfw_errors_add(&errs, NULL, NULL, "invalid %s", rq->cmd->name);
		ctl_send_errors(rq->c, rq->cl, NULL, NULL, &errs);
		vfw_errors_free(&errs);
		/* Parsers leave *out zeroed on error, clear() is a no-op. */
		ctl_edit_clear(e);
		return -1;
	}
	vfw_errors_free(&errs);
	return 0;
}

static void
txn_step(struct req *rq, struct ctl_edit *e)
{
	struct ctl_txn *t = rq->cl->txn;
	char err[CTL_ERR_MAX], extra[64];
	struct ctl_edit *p;

	if (ctl_edit_apply(t->cand, e, err, sizeof(err)) < 0) {
		ctl_edit_clear(e);
		ctl_send_error(rq->c, rq->cl, "%s", err);
		return;
	}
	if (t->n_edits == t->cap_edits) {
		unsigned int cap = t->cap_edits ? t->cap_edits * 2 : 16;

		p = realloc(t->edits, cap * sizeof(*p));
		if (p == NULL) {
			ctl_edit_clear(e);
			/* The candidate has the step but the log does not. */
			ctl_send_error(rq->c, rq->cl, "out of memory");
			return;
		}
		t->edits = p;
		t->cap_edits = cap;
	}
	t->edits[t->n_edits++] = *e;
	if (rq->existing == VFW_EXISTING_REEVALUATE)
		t->existing = VFW_EXISTING_REEVALUATE;
	snprintf(extra, sizeof(extra), ",\"transaction\":true,\"step\":%u",
		 t->n_edits);
	ctl_send_ok(rq->c, rq->cl, extra);
}

static void
cmd_edit(struct req *rq)
{
	struct ctl_edit e;
	struct ctl_job *job;

	if (parse_edit(rq, &e) < 0)
		return;
	if (rq->cl->txn != NULL) {
		txn_step(rq, &e);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job != NULL)
		job->edits = malloc(sizeof(e));
	if (job == NULL || job->edits == NULL) {
		free(job);
		ctl_edit_clear(&e);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	job->kind = CTL_JOB_EDITS;
	job->edits[0] = e;
	job->n_edits = 1;
	job->existing = rq->existing;
	ctl_submit(rq->c, rq->cl, job);
}

static void
cmd_begin(struct req *rq)
{
	struct ctl_txn *t;

	if (rq->cl->txn != NULL) {
		ctl_send_error(rq->c, rq->cl, "a transaction is already open (commit or abort it first)");
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t != NULL)
		t->cand = vfw_config_dup(rq->c->running);
	if (t == NULL || t->cand == NULL) {
		free(t);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	t->base_version = rq->c->version;
	t->existing = rq->existing;
	rq->cl->txn = t;
	ctl_send_ok(rq->c, rq->cl, ",\"transaction\":true");
}

static void
cmd_abort(struct req *rq)
{
	char extra[64];
	struct ctl_txn *t = rq->cl->txn;

	if (t == NULL) {
		ctl_send_error(rq->c, rq->cl, "no transaction open");
		return;
	}
	snprintf(extra, sizeof(extra), ",\"discarded\":%u", t->n_edits);
	ctl_txn_free(t);
	rq->cl->txn = NULL;
	ctl_send_ok(rq->c, rq->cl, extra);
}

static void
cmd_commit(struct req *rq)
{
	struct ctl_txn *t = rq->cl->txn;
	struct ctl_job *job;
	char extra[80];

	if (t == NULL) {
		ctl_send_error(rq->c, rq->cl, "no transaction open (begin starts one)");
		return;
	}
	/* Commit always ends the transaction, whatever its outcome. */
	rq->cl->txn = NULL;
	if (t->failed) {
		ctl_send_error(rq->c, rq->cl, "transaction failed, nothing applied: %s",
			       t->fail_msg);
		ctl_txn_free(t);
		return;
	}
	if (t->n_edits == 0) {
		snprintf(extra, sizeof(extra), ",\"generation\":%" PRIu64 ",\"steps\":0",
			 ctl_generation(rq->c));
		ctl_txn_free(t);
		ctl_send_ok(rq->c, rq->cl, extra);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		ctl_txn_free(t);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	job->kind = CTL_JOB_EDITS;
	job->edits = t->edits;
	job->n_edits = t->n_edits;
	job->cfg = t->cand;
	job->base_version = t->base_version;
	job->existing = (t->existing == VFW_EXISTING_REEVALUATE ||
			 rq->existing == VFW_EXISTING_REEVALUATE) ?
			VFW_EXISTING_REEVALUATE : VFW_EXISTING_KEEP;
	job->commit = true;
	t->edits = NULL;
	t->n_edits = 0;
	t->cand = NULL;
	ctl_txn_free(t);
	ctl_submit(rq->c, rq->cl, job);
}

/* Loads the "config" argument; NULL when answered with the errors. */
static struct vfw_config *
load_arg(struct req *rq, const char *extra)
{
	yaml_node_t *n = rq->arg[0];
	struct vfw_errors errs;
	struct vfw_config *cfg;

	vfw_errors_init(&errs);
	/* "config" in messages: line numbers count inside the document. */
	cfg = vfw_config_load_string((const char *)n->data.scalar.value,
				     n->data.scalar.length, "config", &errs);
	if (cfg == NULL)
		ctl_send_errors(rq->c, rq->cl, extra,
				errs.n ? NULL : "invalid config", &errs);
	vfw_errors_free(&errs);
	return cfg;
}

static bool
control_differs(const struct vfw_config *a, const struct vfw_config *b)
{
	return strcmp(a->control.socket, b->control.socket) != 0 ||
	       a->control.mode != b->control.mode;
}

static void
cmd_apply(struct req *rq)
{
	struct vfw_config *cfg;
	struct ctl_job *job;

	if (rq->cl->txn != NULL) {
		ctl_send_error(rq->c, rq->cl, "apply replaces the whole config and cannot be part of a transaction");
		return;
	}
	cfg = load_arg(rq, NULL);
	if (cfg == NULL)
		return;
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		vfw_config_free(cfg);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	job->kind = CTL_JOB_REPLACE;
	job->control_kept = control_differs(cfg, rq->c->running);
	job->cfg = cfg;
	job->existing = rq->existing;
	ctl_submit(rq->c, rq->cl, job);
}

static void
cmd_validate(struct req *rq)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	char *buf = NULL;
	size_t len = 0;
	bool kept;
	FILE *f;
	unsigned int n;

	cfg = load_arg(rq, ",\"valid\":false");
	if (cfg == NULL)
		return;
	/* A dry run of apply: what apply refuses is not valid either. */
	vfw_errors_init(&errs);
	if (vfw_config_check_restart(rq->c->running, cfg, NULL, &errs) > 0) {
		ctl_send_errors(rq->c, rq->cl, ",\"valid\":false", NULL, &errs);
		vfw_errors_free(&errs);
		vfw_config_free(cfg);
		return;
	}
	vfw_errors_free(&errs);
	/* Show exactly what apply would do, which keeps the control section. */
	kept = control_differs(cfg, rq->c->running);
	cfg->control = rq->c->running->control;
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		vfw_config_free(cfg);
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	fputs("{\"ok\":true,\"valid\":true,\"diff\":", f);
	n = ctl_diff_write(f, rq->c->running, cfg);
	fprintf(f, ",\"changes\":%u", n);
	if (kept)
		fputs(",\"note\":\"control.socket and control.mode are not changed by apply; they take effect at restart\"",
		      f);
	putc('}', f);
	vfw_config_free(cfg);
	send_stream(rq, f, &buf, &len);
}

static void
cmd_save(struct req *rq)
{
	char file[PATH_MAX], backup[PATH_MAX + 8], err[CTL_ERR_MAX];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (ctl_save(rq->c->running, file, sizeof(file), backup,
		     sizeof(backup), err, sizeof(err)) < 0) {
		ctl_send_error(rq->c, rq->cl, "save: %s", err);
		return;
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		ctl_send_error(rq->c, rq->cl, "out of memory");
		return;
	}
	fputs("{\"ok\":true,\"file\":", f);
	ctl_json_str(f, file);
	if (backup[0] != '\0') {
		fputs(",\"backup\":", f);
		ctl_json_str(f, backup);
	}
	putc('}', f);
	send_stream(rq, f, &buf, &len);
}

static int
parse_proto(const char *s, uint8_t *out)
{
	static const struct { const char *name; uint8_t proto; } names[] = {
		{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
		{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 },
		{ "ipv6-icmp", IPPROTO_ICMPV6 },
	};
	unsigned long v;
	unsigned int i;
	char *end;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].proto;
			return 0;
		}
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 255)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

enum { EX_DIR, EX_PROTO, EX_SRC, EX_SPORT, EX_DST, EX_DPORT };

static void
cmd_explain(struct req *rq)
{
	struct vfw_ctl *c = rq->c;
	struct vfw_ip src, dst;
	uint16_t sport = 0, dport = 0;
	const char *s;
	char *out = NULL, *buf = NULL, b[80];
	size_t olen = 0, len = 0;
	uint8_t proto;
	int dir, rc;
	FILE *o, *f;

	s = str_arg(rq, EX_DIR);
	if (strcmp(s, "inbound") == 0) {
		dir = VFW_DIR_IN;
	} else if (strcmp(s, "outbound") == 0) {
		dir = VFW_DIR_OUT;
	} else {
		err_at(rq, rq->arg[EX_DIR], "key 'direction': expected 'inbound' or 'outbound', got '%s'",
		       show_value(s, b, sizeof(b)));
		return;
	}
	s = str_arg(rq, EX_PROTO);
	if (parse_proto(s, &proto) < 0) {
		err_at(rq, rq->arg[EX_PROTO], "key 'protocol': expected tcp, udp, icmp, icmpv6 or a number, got '%s'",
		       show_value(s, b, sizeof(b)));
		return;
	}
	if (vfw_ip_parse(str_arg(rq, EX_SRC), &src) < 0) {
		err_at(rq, rq->arg[EX_SRC], "key 'source': '%s' is not an IP address",
		       show_value(str_arg(rq, EX_SRC), b, sizeof(b)));
		return;
	}
	if (vfw_ip_parse(str_arg(rq, EX_DST), &dst) < 0) {
		err_at(rq, rq->arg[EX_DST], "key 'destination': '%s' is not an IP address",
		       show_value(str_arg(rq, EX_DST), b, sizeof(b)));
		return;
	}
	if (src.af != dst.af) {
		err_at(rq, rq->arg[EX_DST], "source and destination are of different address families");
		return;
	}
	if (src.af != VFW_AF_INET) {
		/* Not forwarded yet (configuration.md, address6): no answer
		 * to give, and an "ok" reply would hide that. */
		err_at(rq, rq->arg[EX_SRC], "explain supports IPv4 only (IPv6 is not forwarded yet)");
		return;
	}
	if (rq->arg[EX_SPORT] != NULL)
		parse_u16(str_arg(rq, EX_SPORT), &sport);
	if (rq->arg[EX_DPORT] != NULL)
		parse_u16(str_arg(rq, EX_DPORT), &dport);
	else if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		err_at(rq, rq->root, "missing key 'destination_port' (required for tcp and udp)");
		return;
	}
	if (c->ops.explain == NULL) {
		ctl_send_error(c, rq->cl, "explain: not available in this server");
		return;
	}
	o = open_memstream(&out, &olen);
	if (o == NULL) {
		ctl_send_error(c, rq->cl, "out of memory");
		return;
	}
	rc = c->ops.explain(c->ops.ctx, c->running, dir, proto, &src, sport,
			    &dst, dport, o);
	if (fclose(o) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		ctl_send_error(c, rq->cl, "explain: %s", strerror(-rc));
	} else if ((f = open_memstream(&buf, &len)) == NULL) {
		ctl_send_error(c, rq->cl, "out of memory");
	} else {
		fputs("{\"ok\":true,\"explain\":", f);
		if (olen > 0)
			fwrite(out, 1, olen, f);
		else
			fputs("null", f);
		putc('}', f);
		send_stream(rq, f, &buf, &len);
	}
	free(out);
}

#define STR(k) { k, ARG_STR, true }
#define MAP(k) { k, ARG_MAP, true }

static const struct cmd_spec commands[] = {
	{ "show", cmd_show, 0, 0, { STR("what") } },
	{ "rule.add", cmd_edit, CMD_CHANGE, CTL_RULE_ADD, { MAP("rule") } },
	{ "rule.replace", cmd_edit, CMD_CHANGE, CTL_RULE_REPLACE,
	  { MAP("rule") } },
	{ "rule.del", cmd_edit, CMD_CHANGE, CTL_RULE_DEL, { STR("name") } },
	{ "route.add", cmd_edit, CMD_CHANGE, CTL_ROUTE_ADD, { MAP("route") } },
	{ "route.del", cmd_edit, CMD_CHANGE, CTL_ROUTE_DEL, { STR("name") } },
	{ "nat.add", cmd_edit, CMD_CHANGE, CTL_DNAT_ADD,
	  { { "dnat", ARG_MAP, false }, { "snat", ARG_MAP, false } } },
	{ "nat.del", cmd_edit, CMD_CHANGE, CTL_NAT_DEL, { STR("name") } },
	{ "neighbor.add", cmd_edit, CMD_CHANGE, CTL_NEIGH_ADD,
	  { MAP("neighbor") } },
	{ "neighbor.del", cmd_edit, CMD_CHANGE, CTL_NEIGH_DEL,
	  { STR("address") } },
	{ "begin", cmd_begin, CMD_CHANGE, 0, { { NULL, 0, false } } },
	{ "commit", cmd_commit, CMD_CHANGE | CMD_TXN_END, 0,
	  { { NULL, 0, false } } },
	{ "abort", cmd_abort, CMD_TXN_END, 0, { { NULL, 0, false } } },
	{ "apply", cmd_apply, CMD_CHANGE, 0, { STR("config") } },
	{ "validate", cmd_validate, 0, 0, { STR("config") } },
	{ "save", cmd_save, 0, 0, { { NULL, 0, false } } },
	{ "explain", cmd_explain, 0, 0,
	  { STR("direction"), STR("protocol"), STR("source"),
	    { "source_port", ARG_INT, false }, STR("destination"),
	    { "destination_port", ARG_INT, false } } },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/*
 * JSON has no aliases; YAML does, and an alias can make a node its own
 * child. Refusing any node referenced twice keeps every walk over the
 * request (ours and the item parsers') linear and finite.
 */
static bool
has_shared_nodes(yaml_document_t *doc)
{
	size_t n = (size_t)(doc->nodes.top - doc->nodes.start), i;
	unsigned char *ref = calloc(n ? n : 1, 1);
	bool shared = false;

#define REF(id) do { size_t j_ = (size_t)(id) - 1;                       \
		     if (j_ >= n || ref[j_]++) shared = true; } while (0)
	if (ref == NULL)
		return true;
	for (i = 0; i < n && !shared; i++) {
		yaml_node_t *nd = &doc->nodes.start[i];
		yaml_node_item_t *it;
		yaml_node_pair_t *p;

		if (nd->type == YAML_SEQUENCE_NODE) {
			for (it = nd->data.sequence.items.start;
			     it < nd->data.sequence.items.top; it++)
				REF(*it);
		} else if (nd->type == YAML_MAPPING_NODE) {
			for (p = nd->data.mapping.pairs.start;
			     p < nd->data.mapping.pairs.top; p++) {
				REF(p->key);
				REF(p->value);
			}
		}
	}
#undef REF
	/* The root (node 1) is nobody's child. */
	if (n > 0 && ref[0] != 0)
		shared = true;
	free(ref);
	return shared;
}

static void
parse_error(struct vfw_ctl *c, struct ctl_client *cl, yaml_parser_t *p,
	    size_t len)
{
	/* libyaml puts "end of input" on the line after a one-line request. */
	if (p->error != YAML_MEMORY_ERROR && p->error != YAML_READER_ERROR &&
	    p->problem_mark.index >= len)
		ctl_send_error(c, cl, "end of request: %s%s%s%s",
			       p->problem ? p->problem : "syntax error",
			       p->context ? " (" : "",
			       p->context ? p->context : "",
			       p->context ? ")" : "");
	else if (p->error == YAML_MEMORY_ERROR)
		ctl_send_error(c, cl, "out of memory");
	else if (p->error == YAML_READER_ERROR)
		ctl_send_error(c, cl, "byte %zu: %s", p->problem_offset + 1,
			       p->problem ? p->problem : "invalid input");
	else if (p->context != NULL)
		ctl_send_error(c, cl, "line %zu, column %zu: %s (%s)",
			       p->problem_mark.line + 1,
			       p->problem_mark.column + 1,
			       p->problem ? p->problem : "syntax error",
			       p->context);
	else
		ctl_send_error(c, cl, "line %zu, column %zu: %s",
			       p->problem_mark.line + 1,
			       p->problem_mark.column + 1,
			       p->problem ? p->problem : "syntax error");
}

/* Finds and checks "cmd"; NULL when answered. */
static const struct cmd_spec *
find_cmd(struct req *rq)
{
	yaml_node_pair_t *p;
	yaml_node_t *v = NULL;
	char b[80];
	size_t i;

	for (p = rq->root->data.mapping.pairs.start;
	     p < rq->root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(rq->doc, p->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "cmd") == 0) {
			v = node(rq->doc, p->value);
			break;
		}
	}
	if (v == NULL) {
		err_at(rq, rq->root, "missing key 'cmd'");
		return NULL;
	}
	if (v->type != YAML_SCALAR_NODE || is_plain_null(v)) {
		err_at(rq, v, "key 'cmd': expected a string, got %s",
		       kind_name(v));
		return NULL;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name,
			   (const char *)v->data.scalar.value) == 0)
			return &commands[i];
	err_at(rq, v, "unknown command '%s' (commands: show, rule.add, rule.replace, rule.del, route.add, route.del, nat.add, nat.del, neighbor.add, neighbor.del, begin, commit, abort, apply, validate, save, explain)",
	       show_value((const char *)v->data.scalar.value, b, sizeof(b)));
	return NULL;
}

/*
 * A request nested deeper than this is refused before it is loaded.
 * Requests need 4 levels (a rule's lists inside the rule inside the
 * request; a whole config travels as a string). libyaml's scanner costs
 * time quadratic in the nesting depth: 30,000 levels kept the control
 * thread (the slow path, every other client, SIGTERM) waiting for
 * seconds, 160 KB of them for half a minute.
 */
#define CTL_MAX_DEPTH 32

/*
 * Nesting depth by libyaml's events, stopping at CTL_MAX_DEPTH + 1: the
 * scanner's work before that is bounded (it looks at most 1024 characters
 * ahead for a key), so this costs linear time whatever the request. 0:
 * within the limit, or a syntax error that the load reports; -1 (error
 * sent): too deep.
 */
static int
depth_check(struct vfw_ctl *c, struct ctl_client *cl, const char *line,
	    size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned int depth = 0;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return 0;  /* the load fails the same way and says so */
	yaml_parser_set_input_string(&p, (const unsigned char *)line, len);
	while (yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t t = ev.type;
		size_t col = ev.start_mark.column + 1;

		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
		if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
			if (++depth > CTL_MAX_DEPTH) {
				ctl_send_error(c, cl, "line 1, column %zu: request nested "
					       "deeper than %u levels", col, CTL_MAX_DEPTH);
				rc = -1;
				break;
			}
		} else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
			depth--;
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

static void
run_yaml(struct vfw_ctl *c, struct ctl_client *cl, const char *line, size_t len,
	 const struct cmd_spec **cmdp)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct req rq;
	yaml_node_t *root;

	if (depth_check(c, cl, line, len) < 0)
		return;
	if (!yaml_parser_initialize(&parser)) {
		ctl_send_error(c, cl, "out of memory");
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)line, len);
	if (!yaml_parser_load(&parser, &doc)) {
		parse_error(c, cl, &parser, len);
		yaml_parser_delete(&parser);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.c = c;
	rq.cl = cl;
	rq.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		ctl_send_error(c, cl, "empty request");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		/*
		 * The object itself parsed: what fails is text after it on
		 * the same line (a second object, a stray brace). Say so
		 * rather than libyaml's "did not find expected <document
		 * start>".
		 */
		if (parser.error == YAML_PARSER_ERROR ||
		    parser.error == YAML_SCANNER_ERROR)
			ctl_send_error(c, cl,
				       "line %zu, column %zu: one JSON object per line (text after the object)",
				       parser.problem_mark.line + 1,
				       parser.problem_mark.column + 1);
		else
			parse_error(c, cl, &parser, len);
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);

		err_at(&rq, r2, "one JSON object per line");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	if (root->type != YAML_MAPPING_NODE) {
		err_at(&rq, root, "a request is a JSON object with a \"cmd\" key");
		goto out;
	}
	if (has_shared_nodes(&doc)) {
		err_at(&rq, root, "aliases are not allowed in requests");
		goto out;
	}
	rq.root = root;
	rq.cmd = find_cmd(&rq);
	if (rq.cmd == NULL)
		goto out;
	*cmdp = rq.cmd;
	if (check_args(&rq) < 0)
		goto out;
	rq.cmd->fn(&rq);
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

static void
run(struct vfw_ctl *c, struct ctl_client *cl, const char *line, size_t len,
    const struct cmd_spec **cmdp)
{
	size_t clen = 0;
	char *copy = vfw_json_surrogates_to_yaml(line, len, &clen);

	if (copy == NULL) {
		run_yaml(c, cl, line, len, cmdp);
		return;
	}
	run_yaml(c, cl, copy, clen, cmdp);
	free(copy);
}

void
ctl_handle_request(struct vfw_ctl *c, struct ctl_client *cl, const char *line,
		   size_t len)
{
	const struct cmd_spec *cmd = NULL;
	struct ctl_txn *t = cl->txn;
	uint64_t before = cl->n_replies;
	size_t i;

	/* Blank lines (and a CR of CRLF) are not requests: no reply. */
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			   line[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len)
		return;
	if (t != NULL)
		t->n_requests++;
	run(c, cl, line, len, &cmd);
	/*
	 * Inside a transaction every failed request poisons it (commit will
	 * refuse and apply nothing): a script that goes on after an error
	 * must not get half of what it meant.
	 */
	if (t != NULL && cl->txn == t && !t->failed &&
	    cl->n_replies > before && !cl->last_ok &&
	    (cmd == NULL || !(cmd->flags & CMD_TXN_END))) {
		t->failed = true;
		snprintf(t->fail_msg, sizeof(t->fail_msg),
			 "request %u (%s): %s", t->n_requests,
			 cmd != NULL ? cmd->name : "?", cl->last_error);
	}
}
