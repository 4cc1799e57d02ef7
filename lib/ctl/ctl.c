/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server: listener, clients, buffers, and the one
 * change slot.
 *
 * Every client is a small state machine (idle / waiting for the change
 * slot / waiting for the ack of its change). Its requests run strictly in
 * order: while one of its changes is pending, its later requests stay in
 * its read buffer. Across clients there is at most one change handed to
 * ops->apply() and not yet acknowledged (the "in flight" change); other
 * changes wait in FIFO order, while read-only requests of every client are
 * answered at once. The candidate of a change is built only when it gets
 * the slot, from the config acknowledged last, so changes never overwrite
 * each other.
 *
 * Nothing blocks: sockets are non-blocking, reads stop at one complete line
 * (the kernel buffers the rest, which is the back-pressure on a client that
 * sends faster than it is served) and a client's replies wait in its output
 * buffer for EPOLLOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_log.h>

#include "ctl_private.h"

RTE_LOG_REGISTER(vfw_ctl_logtype, vnetfw.ctl, INFO);
#define CTL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, vfw_ctl_logtype, "ctl: " fmt "\n", ##__VA_ARGS__)

#define LISTENER_TAG UINT64_MAX
#define RBUF_INIT 4096
#define RBUF_MAX ((size_t)VFW_CTL_MAX_REQUEST + 1) /* the line and its '\n' */
#define MAX_EVENTS 32

static const char too_many[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
tag_of(const struct vfw_ctl *c, const struct ctl_client *cl)
{
	return ((uint64_t)cl->serial << 32) | (uint64_t)(cl - c->clients);
}

uint64_t
ctl_generation(const struct vfw_ctl *c)
{
	return c->ops.generation != NULL ? c->ops.generation(c->ops.ctx) : 0;
}

/* ------------------------------------------------------------------ */
/* Replies */

void
ctl_send(struct vfw_ctl *c, struct ctl_client *cl, const char *reply,
	 size_t len, bool ok)
{
	char big[128];
	size_t need;
	char *p;

	c->completed++;
	cl->n_replies++;
	cl->last_ok = ok;
	if (cl == &c->line_client) {
		if (cl->out != NULL) {
			fwrite(reply, 1, len, cl->out);
			putc('\n', cl->out);
		}
		return;
	}
	if (cl->gone)
		return;
	if (len > CTL_MAX_REPLY) {
		len = (size_t)snprintf(big, sizeof(big),
				       "{\"ok\":false,\"error\":\"reply too large (%zu bytes, limit %u)\"}",
				       len, CTL_MAX_REPLY);
		reply = big;
		cl->last_ok = false;
	}
	need = cl->olen + len + 1;
	if (need > cl->ocap) {
		size_t cap = cl->ocap ? cl->ocap : 4096;

		while (cap < need)
			cap *= 2;
		p = realloc(cl->obuf, cap);
		if (p == NULL) {
			/* Losing a reply would desynchronise the client. */
			CTL_LOG(WARNING, "client %d: out of memory for a reply, closing",
				cl->fd);
			cl->gone = true;
			return;
		}
		cl->obuf = p;
		cl->ocap = cap;
	}
	memcpy(cl->obuf + cl->olen, reply, len);
	cl->olen += len;
	cl->obuf[cl->olen++] = '\n';
}

static void
send_error_text(struct vfw_ctl *c, struct ctl_client *cl, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(cl->last_error, sizeof(cl->last_error), "%s", msg);
	f = open_memstream(&buf, &len);
	if (f != NULL) {
		fputs("{\"ok\":false,\"error\":", f);
		ctl_json_str(f, msg);
		putc('}', f);
	}
	if (f == NULL || fclose(f) != 0 || buf == NULL) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";

		ctl_send(c, cl, oom, sizeof(oom) - 1, false);
	} else {
		ctl_send(c, cl, buf, len, false);
	}
	free(buf);
}

void
ctl_send_error(struct vfw_ctl *c, struct ctl_client *cl, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	send_error_text(c, cl, rc >= 0 ? msg : "out of memory");
	if (rc >= 0)
		free(msg);
}

void
ctl_send_errors(struct vfw_ctl *c, struct ctl_client *cl, const char *extra,
		const char *prefix, const struct vfw_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (errs->n > 0)
		snprintf(cl->last_error, sizeof(cl->last_error), "%s%s%s",
			 prefix ? prefix : "", prefix ? ": " : "",
			 errs->msg[0]);
	else
		snprintf(cl->last_error, sizeof(cl->last_error), "%s",
			 prefix ? prefix : "failed");
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		send_error_text(c, cl, cl->last_error);
		return;
	}
	ctl_json_errors(f, extra, prefix, errs);
	if (fclose(f) != 0 || buf == NULL)
		send_error_text(c, cl, "out of memory");
	else
		ctl_send(c, cl, buf, len, false);
	free(buf);
}

void
ctl_send_ok(struct vfw_ctl *c, struct ctl_client *cl, const char *extra)
{
	char *buf = NULL;
	int n;

	n = asprintf(&buf, "{\"ok\":true%s}", extra != NULL ? extra : "");
	if (n < 0) {
		send_error_text(c, cl, "out of memory");
		return;
	}
	ctl_send(c, cl, buf, (size_t)n, true);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* The change slot */

static bool
client_live(const struct vfw_ctl *c, const struct ctl_client *cl)
{
	return cl == &c->line_client || cl->used;
}

static struct ctl_client *
next_waiting(struct vfw_ctl *c)
{
	struct ctl_client *best = NULL;
	unsigned int i;

	if (c->line_client.state == CTL_CLIENT_WAITING)
		best = &c->line_client;
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];

		if (cl->used && cl->state == CTL_CLIENT_WAITING &&
		    (best == NULL || cl->wait_seq < best->wait_seq))
			best = cl;
	}
	return best;
}

/* Reply members of a successful change beyond "generation". */
static char *
change_extra(const struct ctl_job *job, const struct vfw_config *running,
	     const struct vfw_config *cand)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (job->commit)
		fprintf(f, ",\"steps\":%u", job->n_edits);
	if (job->kind == CTL_JOB_REPLACE) {
		unsigned int n;

		fputs(",\"diff\":", f);
		n = ctl_diff_write(f, running, cand);
		fprintf(f, ",\"changes\":%u", n);
	}
	if (job->control_kept)
		fputs(",\"note\":\"control.socket and control.mode are not changed by apply; they take effect at restart\"",
		      f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* What a change is, for the log line that records it. */
static void
describe(const struct ctl_job *job, char *buf, size_t len)
{
	const struct ctl_edit *e = job->edits;
	char a[64];

	if (job->kind == CTL_JOB_REPLACE) {
		snprintf(buf, len, "apply");
	} else if (job->commit) {
		snprintf(buf, len, "commit of %u step%s", job->n_edits,
			 job->n_edits == 1 ? "" : "s");
	} else {
		switch (e->op) {
		case CTL_RULE_ADD:
		case CTL_RULE_REPLACE:
			snprintf(buf, len, "%s %s", ctl_edit_name(e), e->rule.name);
			break;
		case CTL_ROUTE_ADD:
			snprintf(buf, len, "%s %s", ctl_edit_name(e), e->route.name);
			break;
		case CTL_DNAT_ADD:
			snprintf(buf, len, "%s dnat %s", ctl_edit_name(e), e->dnat.name);
			break;
		case CTL_SNAT_ADD:
			snprintf(buf, len, "%s snat %s", ctl_edit_name(e), e->snat.name);
			break;
		case CTL_NEIGH_ADD:
			snprintf(buf, len, "%s %s", ctl_edit_name(e),
				 vfw_ip_str(&e->neigh.address, a, sizeof(a)));
			break;
		case CTL_NEIGH_DEL:
			snprintf(buf, len, "%s %s", ctl_edit_name(e),
				 vfw_ip_str(&e->addr, a, sizeof(a)));
			break;
		default:
			snprintf(buf, len, "%s %s", ctl_edit_name(e), e->name);
			break;
		}
	}
	if (job->existing == VFW_EXISTING_REEVALUATE)
		snprintf(buf + strlen(buf), len - strlen(buf), ", reevaluate");
}

/* Gives the slot to cl's job: build, validate, hand to ops->apply. */
static void
start(struct vfw_ctl *c, struct ctl_client *cl)
{
	struct ctl_job *job = cl->job;
	struct vfw_config *cand;
	struct vfw_errors errs;
	uint64_t ticket = 0;
	char *extra;
	int rc;

	cl->job = NULL;
	cl->state = CTL_CLIENT_IDLE;
	vfw_errors_init(&errs);
	if (c->ops.apply == NULL || c->ops.applied == NULL) {
		ctl_send_error(c, cl, "changes are not supported by this server");
		goto out;
	}
	cand = ctl_job_build(job, c->running, c->version, &errs);
	if (cand == NULL) {
		ctl_send_errors(c, cl, NULL, NULL, &errs);
		goto out;
	}
	extra = change_extra(job, c->running, cand);
	if (extra == NULL) {
		vfw_config_free(cand);
		ctl_send_error(c, cl, "out of memory");
		goto out;
	}
	rc = c->ops.apply(c->ops.ctx, cand, job->existing, &ticket, &errs);
	if (rc < 0) {
		char prefix[96];

		snprintf(prefix, sizeof(prefix), "apply failed (%s)",
			 strerror(-rc));
		vfw_config_free(cand);
		free(extra);
		ctl_send_errors(c, cl, NULL, prefix, &errs);
		goto out;
	}
	c->inflight.active = true;
	c->inflight.cl = cl;
	c->inflight.serial = cl->serial;
	c->inflight.cand = cand;
	c->inflight.ticket = ticket;
	c->inflight.extra = extra;
	describe(job, c->inflight.what, sizeof(c->inflight.what));
	cl->state = CTL_CLIENT_INFLIGHT;
out:
	vfw_errors_free(&errs);
	ctl_job_free(job);
}

/*
 * Moves the in-flight change forward (ack or failure) and starts the next
 * waiting one, as long as changes complete without waiting.
 */
static void
progress(struct vfw_ctl *c)
{
	struct ctl_inflight *in = &c->inflight;
	struct ctl_client *cl;
	uint64_t gen = 0;
	char *extra;
	int r;

	for (;;) {
		if (!in->active) {
			cl = next_waiting(c);
			if (cl == NULL)
				return;
			start(c, cl);
			continue;
		}
		r = c->ops.applied(c->ops.ctx, in->ticket, &gen);
		if (r == 0)
			return;
		cl = in->cl;
		if (cl != NULL && (!client_live(c, cl) || cl->serial != in->serial))
			cl = NULL;
		in->active = false;
		in->cl = NULL;
		if (r > 0) {
			vfw_config_free(c->running);
			c->running = in->cand;
			c->version++;
			in->cand = NULL;
			if (cl != NULL) {
				cl->state = CTL_CLIENT_IDLE;
				extra = NULL;
				if (asprintf(&extra, ",\"generation\":%" PRIu64 "%s",
					     gen, in->extra) < 0)
					extra = NULL;
				ctl_send_ok(c, cl, extra != NULL ? extra :
					    ",\"generation\":0");
				free(extra);
			}
			/* The audit trail of policy changes. */
			CTL_LOG(INFO, "generation %" PRIu64 " in force (%s)",
				gen, in->what);
		} else {
			vfw_config_free(in->cand);
			in->cand = NULL;
			CTL_LOG(WARNING, "change not taken by the workers (%s): %s",
				in->what, strerror(-r));
			if (cl != NULL) {
				cl->state = CTL_CLIENT_IDLE;
				ctl_send_error(c, cl, "the workers did not take the change (%s); the previous policy still runs",
					       strerror(-r));
			}
		}
		free(in->extra);
		in->extra = NULL;
		/* An unblocked client may have requests queued. */
		c->more = true;
	}
}

void
ctl_submit(struct vfw_ctl *c, struct ctl_client *cl, struct ctl_job *job)
{
	cl->job = job;
	cl->state = CTL_CLIENT_WAITING;
	cl->wait_seq = c->next_wait_seq++;
	progress(c);
}

/* ------------------------------------------------------------------ */
/* Clients */

static size_t
out_pending(const struct ctl_client *cl)
{
	return cl->olen - cl->opos;
}

/* Finds the next complete line without consuming it. */
static bool
has_line(struct ctl_client *cl)
{
	char *nl;

	if (cl->rscan >= cl->rlen)
		return false;
	nl = memchr(cl->rbuf + cl->rscan, '\n', cl->rlen - cl->rscan);
	if (nl == NULL) {
		cl->rscan = cl->rlen;
		return false;
	}
	cl->rscan = (size_t)(nl - cl->rbuf);
	return true;
}

static void
client_reset(struct ctl_client *cl)
{
	free(cl->rbuf);
	free(cl->obuf);
	ctl_txn_free(cl->txn);
	ctl_job_free(cl->job);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

static void
client_close_fd(struct vfw_ctl *c, struct ctl_client *cl)
{
	if (cl->fd < 0)
		return;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	cl->fd = -1;
}

static void
client_free(struct vfw_ctl *c, struct ctl_client *cl)
{
	client_close_fd(c, cl);
	/* An in-flight change still completes; nobody hears about it. */
	if (c->inflight.cl == cl)
		c->inflight.cl = NULL;
	client_reset(cl);
}

static int
rbuf_reserve(struct ctl_client *cl)
{
	size_t cap;
	char *p;

	if (cl->rpos > 0 && cl->rpos == cl->rlen) {
		cl->rpos = cl->rlen = cl->rscan = 0;
	} else if (cl->rpos > 0 && cl->rlen == cl->rcap) {
		memmove(cl->rbuf, cl->rbuf + cl->rpos, cl->rlen - cl->rpos);
		cl->rlen -= cl->rpos;
		cl->rscan -= cl->rpos;
		cl->rpos = 0;
	}
	if (cl->rlen < cl->rcap)
		return 0;
	if (cl->rcap >= RBUF_MAX)
		return -EMSGSIZE;
	cap = cl->rcap ? cl->rcap * 2 : RBUF_INIT;
	if (cap > RBUF_MAX)
		cap = RBUF_MAX;
	p = realloc(cl->rbuf, cap);
	if (p == NULL)
		return -ENOMEM;
	cl->rbuf = p;
	cl->rcap = cap;
	return 0;
}

/*
 * The peer closed its end: keep what it sent (complete lines are still
 * executed, as with a pipe), drop what we would answer.
 */
static void
client_gone(struct vfw_ctl *c, struct ctl_client *cl)
{
	ssize_t n;

	while (!cl->eof && rbuf_reserve(cl) == 0) {
		n = recv(cl->fd, cl->rbuf + cl->rlen, cl->rcap - cl->rlen,
			 MSG_DONTWAIT);
		if (n > 0)
			cl->rlen += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	cl->eof = true;
	cl->gone = true;
	cl->opos = cl->olen = 0;
	client_close_fd(c, cl);
}

/* Reads until a complete line is buffered, EOF, or the socket is empty. */
static void
client_read(struct vfw_ctl *c, struct ctl_client *cl)
{
	ssize_t n;
	int rc;

	while (!cl->eof && !has_line(cl)) {
		rc = rbuf_reserve(cl);
		if (rc == -EMSGSIZE) {
			ctl_send_error(c, cl, "request too large (limit %u bytes)",
				       VFW_CTL_MAX_REQUEST);
			CTL_LOG(NOTICE, "client %d: request too large, closing",
				cl->fd);
			/* Best effort: the reply is small and fits. */
			if (send(cl->fd, cl->obuf + cl->opos, out_pending(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			client_close_fd(c, cl);
			cl->eof = cl->gone = true;
			cl->rpos = cl->rlen = cl->rscan = 0;
			return;
		}
		if (rc < 0) {
			CTL_LOG(WARNING, "client %d: out of memory, closing",
				cl->fd);
			client_gone(c, cl);
			return;
		}
		n = recv(cl->fd, cl->rbuf + cl->rlen, cl->rcap - cl->rlen,
			 MSG_DONTWAIT);
		if (n > 0) {
			cl->rlen += (size_t)n;
			cl->active_ms = mono_ms();
		} else if (n == 0) {
			cl->eof = true;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else {
			client_gone(c, cl);
			return;
		}
	}
}

static void
client_flush(struct vfw_ctl *c, struct ctl_client *cl)
{
	ssize_t n;

	while (cl->fd >= 0 && out_pending(cl) > 0) {
		n = send(cl->fd, cl->obuf + cl->opos, out_pending(cl),
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			cl->opos += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		else {
			client_gone(c, cl);
			return;
		}
	}
	cl->opos = cl->olen = 0;
	/* A large reply should not pin its buffer for the client's life. */
	if (cl->ocap > CTL_OUT_BACKPRESSURE) {
		free(cl->obuf);
		cl->obuf = NULL;
		cl->ocap = 0;
	}
}

/* Executes the client's complete lines, in order, within the budget. */
static void
client_run(struct vfw_ctl *c, struct ctl_client *cl)
{
	unsigned int budget = CTL_POLL_BUDGET;
	char *line;
	size_t len;

	while (budget > 0) {
		if (cl->state != CTL_CLIENT_IDLE)
			progress(c);
		if (cl->state != CTL_CLIENT_IDLE || !client_live(c, cl))
			return;
		if (out_pending(cl) >= CTL_OUT_BACKPRESSURE || !has_line(cl))
			break;
		line = cl->rbuf + cl->rpos;
		len = cl->rscan - cl->rpos;
		cl->rpos = cl->rscan = cl->rscan + 1;
		ctl_handle_request(c, cl, line, len);
		budget--;
	}
	if (budget == 0 && has_line(cl))
		c->more = true;
	if (cl->rpos == cl->rlen)
		cl->rpos = cl->rlen = cl->rscan = 0;
}

/* Done with a client that has nothing more to say or to hear. */
static bool
client_finished(struct ctl_client *cl)
{
	return cl->eof && cl->state == CTL_CLIENT_IDLE && !has_line(cl) &&
	       (cl->gone || out_pending(cl) == 0);
}

static void
client_update(struct vfw_ctl *c, struct ctl_client *cl)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (cl->fd < 0)
		return;
	if (!cl->eof && !has_line(cl) && out_pending(cl) < CTL_OUT_BACKPRESSURE)
		want |= EPOLLIN;
	if (out_pending(cl) > 0)
		want |= EPOLLOUT;
	if (want == cl->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = tag_of(c, cl);
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) == 0)
		cl->events = want;
}

/*
 * Every slot is taken and a client knocks: make room by closing the
 * client that has sent nothing for longest, if it has been quiet for at
 * least CTL_EVICT_IDLE_MS (CTL_EVICT_TXN_MS while it holds a transaction
 * open) and has nothing under way (no change waiting or in flight, no
 * request read and not yet run, no reply unsent). Otherwise 64 idle connections, which any process allowed
 * on the socket can open, lock everyone out, the operator included.
 */
#define CTL_EVICT_IDLE_MS 1000
#define CTL_EVICT_TXN_MS 60000
static const char evicted[] = "{\"ok\":false,\"error\":\"connection closed: "
	"idle while every client slot was taken\"}\n";

static struct ctl_client *
evict_idle(struct vfw_ctl *c)
{
	struct ctl_client *old = NULL;
	uint64_t now = mono_ms();
	unsigned int i;

	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];

		if (!cl->used || cl->fd < 0 || cl->state != CTL_CLIENT_IDLE ||
		    c->inflight.cl == cl || out_pending(cl) > 0 || has_line(cl) ||
		    now - cl->active_ms < (cl->txn != NULL ? CTL_EVICT_TXN_MS :
						     CTL_EVICT_IDLE_MS))
			continue;
		if (old == NULL || cl->active_ms < old->active_ms)
			old = cl;
	}
	if (old == NULL)
		return NULL;
	if (send(old->fd, evicted, sizeof(evicted) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;
	CTL_LOG(NOTICE, "closed client %d, idle for %" PRIu64 " ms, to make room",
		old->fd, now - old->active_ms);
	client_free(c, old);
	return old;
}

static void
accept_clients(struct vfw_ctl *c)
{
	struct epoll_event ev;
	struct ctl_client *cl;
	unsigned int i;
	int fd;

	for (;;) {
		fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				CTL_LOG(WARNING, "accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++)
			if (!c->clients[i].used)
				break;
		if (i == VFW_CTL_MAX_CLIENTS && (cl = evict_idle(c)) != NULL)
			i = (unsigned int)(cl - c->clients);
		if (i == VFW_CTL_MAX_CLIENTS) {
			if (send(fd, too_many, sizeof(too_many) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(fd);
			CTL_LOG(NOTICE, "refused a client: %d already connected",
				VFW_CTL_MAX_CLIENTS);
			continue;
		}
		cl = &c->clients[i];
		client_reset(cl);
		cl->used = true;
		cl->fd = fd;
		cl->serial = ++c->next_serial;
		cl->active_ms = mono_ms();
		cl->events = EPOLLIN;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = tag_of(c, cl);
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			CTL_LOG(WARNING, "epoll_ctl: %s", strerror(errno));
			close(fd);
			cl->fd = -1;
			cl->used = false;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Listener */

static int
mkdir_parents(const char *path)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Removes a stale socket file; refuses a path a live server answers on. */
static int
claim_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		CTL_LOG(ERR, "%s exists and is not a socket; not touching it",
			path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	err = errno;
	close(fd);
	/* EAGAIN: a live listener with a full backlog. */
	if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
		CTL_LOG(ERR, "another vnetfw holds %s (a server answers there)",
			path);
		return -EADDRINUSE;
	}
	if (err != ECONNREFUSED) {
		CTL_LOG(ERR, "cannot check %s: %s", path, strerror(err));
		return -err;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	CTL_LOG(NOTICE, "removed stale socket %s", path);
	return 0;
}

static int
listen_on(struct vfw_ctl *c, const struct vfw_cfg_control *ctl)
{
	struct sockaddr_un sa;
	struct epoll_event ev;
	struct stat st;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(ctl->socket) >= sizeof(sa.sun_path)) {
		CTL_LOG(ERR, "socket path too long: %s", ctl->socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, ctl->socket);
	rc = mkdir_parents(ctl->socket);
	if (rc < 0) {
		CTL_LOG(ERR, "cannot create the directory of %s: %s",
			ctl->socket, strerror(-rc));
		return rc;
	}
	rc = claim_path(ctl->socket, &sa);
	if (rc < 0)
		return rc;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		return -errno;
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		CTL_LOG(ERR, "bind %s: %s", ctl->socket, strerror(-rc));
		return rc;
	}
	snprintf(c->path, sizeof(c->path), "%s", ctl->socket);
	if (stat(c->path, &st) == 0) {
		c->path_dev = st.st_dev;
		c->path_ino = st.st_ino;
	}
	if (chmod(c->path, (mode_t)ctl->mode) < 0) {
		rc = -errno;
		CTL_LOG(ERR, "chmod %s: %s", c->path, strerror(-rc));
		return rc;
	}
	if (listen(c->lfd, VFW_CTL_MAX_CLIENTS) < 0)
		return -errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = LISTENER_TAG;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->lfd, &ev) < 0)
		return -errno;
	CTL_LOG(INFO, "listening on %s (mode %04o)", c->path, ctl->mode);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public API */

struct vfw_ctl *
vfw_ctl_create(const struct vfw_config *running, const struct vfw_ctl_ops *ops)
{
	struct vfw_ctl *c;
	unsigned int i;
	int rc;

	if (running == NULL || ops == NULL) {
		rte_errno = errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rte_errno = errno = ENOMEM;
		return NULL;
	}
	c->ops = *ops;
	c->lfd = -1;
	c->line_client.fd = -1;
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->running = vfw_config_dup(running);
	if (c->epfd < 0 || c->running == NULL) {
		rc = c->epfd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	/* An empty path: no listener (tests, fuzzers, embedded use). */
	if (running->control.socket[0] != '\0') {
		rc = listen_on(c, &running->control);
		if (rc < 0)
			goto fail;
	}
	return c;
fail:
	vfw_ctl_free(c);
	rte_errno = errno = -rc;
	return NULL;
}

void
vfw_ctl_free(struct vfw_ctl *c)
{
	struct stat st;
	unsigned int i;

	if (c == NULL)
		return;
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++)
		if (c->clients[i].used)
			client_free(c, &c->clients[i]);
	client_reset(&c->line_client);
	/* Abandoned: its generation may still be published by ops. */
	vfw_config_free(c->inflight.cand);
	free(c->inflight.extra);
	if (c->lfd >= 0) {
		close(c->lfd);
		/* Only our own socket: a successor may already own the path. */
		if (c->path[0] != '\0' && stat(c->path, &st) == 0 &&
		    st.st_dev == c->path_dev && st.st_ino == c->path_ino)
			unlink(c->path);
	}
	if (c->epfd >= 0)
		close(c->epfd);
	vfw_config_free(c->running);
	free(c);
}

int
vfw_ctl_fd(const struct vfw_ctl *c)
{
	return c->epfd;
}

const struct vfw_config *
vfw_ctl_running(const struct vfw_ctl *c)
{
	return c->running;
}

int
vfw_ctl_poll(struct vfw_ctl *c, int wait_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	unsigned int i;
	int n, k;

	c->completed = 0;
	progress(c);
	/* Work that needs no new input must not sleep; an ack is polled. */
	if (c->more)
		wait_ms = 0;
	else if (c->inflight.active && (wait_ms < 0 || wait_ms > 1))
		wait_ms = 1;
	c->more = false;
	n = epoll_wait(c->epfd, ev, MAX_EVENTS, wait_ms);
	for (k = 0; k < n; k++) {
		uint64_t tag = ev[k].data.u64;
		struct ctl_client *cl;

		if (tag == LISTENER_TAG) {
			accept_clients(c);
			continue;
		}
		i = (unsigned int)(tag & 0xffffffffu);
		if (i >= VFW_CTL_MAX_CLIENTS)
			continue;
		cl = &c->clients[i];
		if (!cl->used || cl->serial != (uint32_t)(tag >> 32) ||
		    cl->fd < 0)
			continue; /* closed earlier in this batch */
		if (ev[k].events & EPOLLOUT)
			client_flush(c, cl);
		if (cl->fd >= 0 && (ev[k].events & EPOLLIN))
			client_read(c, cl);
		if (cl->fd >= 0 && (ev[k].events & (EPOLLHUP | EPOLLERR)))
			client_gone(c, cl);
	}
	progress(c);
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];

		if (!cl->used)
			continue;
		client_run(c, cl);
		if (has_line(cl) && cl->state == CTL_CLIENT_IDLE &&
		    out_pending(cl) < CTL_OUT_BACKPRESSURE)
			c->more = true;
	}
	for (i = 0; i < VFW_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];

		if (!cl->used)
			continue;
		client_flush(c, cl);
		if (client_finished(cl))
			client_free(c, cl);
		else
			client_update(c, cl);
	}
	return (int)c->completed;
}

int
vfw_ctl_handle_line(struct vfw_ctl *c, const char *line, size_t len, FILE *out)
{
	struct ctl_client *cl = &c->line_client;
	struct timespec ts = { 0, 100000 };
	uint64_t before = cl->n_replies;
	unsigned int spins = 0;

	cl->out = out;
	ctl_handle_request(c, cl, line, len);
	while (cl->state != CTL_CLIENT_IDLE) {
		progress(c);
		/* Spin briefly for a fast ack, then stop burning the CPU. */
		if (cl->state != CTL_CLIENT_IDLE && ++spins > 64)
			nanosleep(&ts, NULL);
	}
	cl->out = NULL;
	if (cl->n_replies == before)
		return 0;
	return cl->last_ok ? 0 : -EINVAL;
}
