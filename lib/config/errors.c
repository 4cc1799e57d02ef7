/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error collection. Messages are plain strings so the CLI can print them
 * and the control socket can put them into a JSON reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"

void
vfw_errors_init(struct vfw_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void
vfw_errors_free(struct vfw_errors *e)
{
	unsigned int i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

/*
 * Append one message. Out of memory loses the message but never the fact
 * that there was an error: callers count errors themselves.
 */
static void
errors_addv(struct vfw_errors *e, const char *file, const struct vfw_loc *loc,
	    const char *fmt, va_list ap)
{
	char body[512];
	char *msg = NULL;
	int rc;

	if (e == NULL)
		return;
	vsnprintf(body, sizeof(body), fmt, ap);
	if (loc != NULL && loc->line != 0) {
		if (file != NULL)
			rc = asprintf(&msg, "%s:%u:%u: %s", file, loc->line,
				      loc->col, body);
		else
			rc = asprintf(&msg, "line %u, column %u: %s",
				      loc->line, loc->col, body);
	} else if (file != NULL) {
		rc = asprintf(&msg, "%s: %s", file, body);
	} else {
		rc = asprintf(&msg, "%s", body);
	}
	if (rc < 0)
		return;
	if (e->n == e->cap) {
		unsigned int cap = e->cap ? e->cap * 2 : 8;
		char **m = realloc(e->msg, cap * sizeof(*m));

		if (m == NULL) {
			free(msg);
			return;
		}
		e->msg = m;
		e->cap = cap;
	}
	e->msg[e->n++] = msg;
}

void
vfw_errors_add(struct vfw_errors *e, const char *file,
	       const struct vfw_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_addv(e, file, loc, fmt, ap);
	va_end(ap);
}

static void
remember_loc(struct cfg_ctx *c, unsigned int n_before,
	     const struct vfw_loc *loc)
{
	static const struct vfw_loc none = { UINT32_MAX, 0 };

	if (!c->sort || c->sort_failed || c->errs == NULL ||
	    c->errs->n != n_before + 1)
		return;
	if (c->nlocs == c->caplocs) {
		unsigned int cap = c->caplocs ? c->caplocs * 2 : 16;
		struct vfw_loc *l = realloc(c->locs, cap * sizeof(*l));

		if (l == NULL) {
			c->sort_failed = true;
			return;
		}
		c->locs = l;
		c->caplocs = cap;
	}
	/* Messages without a place go last, in the order they came. */
	c->locs[c->nlocs++] = loc != NULL && loc->line != 0 ? *loc : none;
}

static void
cfg_errv(struct cfg_ctx *c, const struct vfw_loc *loc, const char *fmt,
	 va_list ap)
{
	unsigned int n0 = c->errs != NULL ? c->errs->n : 0;

	c->nerr++;
	if (c->nerr < CFG_MAX_ERRORS) {
		errors_addv(c->errs, c->file, loc, fmt, ap);
		remember_loc(c, n0, loc);
	} else if (c->nerr == CFG_MAX_ERRORS) {
		vfw_errors_add(c->errs, c->file, NULL,
			       "too many errors (%u), giving up on the rest",
			       CFG_MAX_ERRORS);
		remember_loc(c, n0, NULL);
	}
}

struct sort_ent {
	struct vfw_loc loc;
	unsigned int seq;
	char *msg;
};

static int
sort_ent_cmp(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;

	if (x->loc.line != y->loc.line)
		return x->loc.line < y->loc.line ? -1 : 1;
	if (x->loc.col != y->loc.col)
		return x->loc.col < y->loc.col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

void
cfg_errors_sort(struct cfg_ctx *c)
{
	struct sort_ent *e;
	unsigned int i, n;

	if (c->errs == NULL || c->sort_failed ||
	    c->errs->n < c->first || c->errs->n - c->first != c->nlocs)
		goto out;
	n = c->nlocs;
	e = n > 1 ? malloc(n * sizeof(*e)) : NULL;
	if (e == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		e[i].loc = c->locs[i];
		e[i].seq = i;
		e[i].msg = c->errs->msg[c->first + i];
	}
	qsort(e, n, sizeof(*e), sort_ent_cmp);
	for (i = 0; i < n; i++)
		c->errs->msg[c->first + i] = e[i].msg;
	free(e);
out:
	free(c->locs);
	c->locs = NULL;
	c->nlocs = c->caplocs = 0;
}

void
cfg_err(struct cfg_ctx *c, const struct vfw_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_errv(c, loc, fmt, ap);
	va_end(ap);
}

struct vfw_loc
cfg_node_loc(const yaml_node_t *n)
{
	struct vfw_loc l = { 0, 0 };

	/* libyaml marks are 0-based; people count from 1. */
	if (n != NULL) {
		l.line = (uint32_t)n->start_mark.line + 1;
		l.col = (uint32_t)n->start_mark.column + 1;
	}
	return l;
}

void
cfg_err_node(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	struct vfw_loc l = cfg_node_loc(n);
	va_list ap;

	va_start(ap, fmt);
	cfg_errv(c, n != NULL ? &l : NULL, fmt, ap);
	va_end(ap);
}

/*
 * Values are echoed into messages that end up on terminals and in JSON
 * replies: keep them short and free of control characters.
 */
const char *
cfg_show(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len == 0)
		return "";
	for (i = 0; s[i] != '\0' && o + 1 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= CFG_SHOW_MAX || o + 4 >= len) {
			if (o + 4 < len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		/* ASCII only: a cut UTF-8 sequence would poison JSON. */
		buf[o++] = (ch < 0x20 || ch >= 0x7f || ch == '\'' ||
			    ch == '"' || ch == '\\') ? '?' : (char)ch;
	}
	buf[o] = '\0';
	return buf;
}
