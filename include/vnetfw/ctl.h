/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Control socket server: line-delimited JSON requests over a Unix stream
 * socket, parsed with libyaml so that an item in a request has the shape of
 * the same item in the config file.
 *
 * The server owns the protocol, per-client buffering, transactions and the
 * candidate-config editing (rule/route/nat/neighbor add/del/replace, apply,
 * validate with a diff, save). It does not know how a config becomes a
 * running policy: the application supplies struct vfw_ctl_ops. A change is
 * handed to ops->apply(), which returns a ticket; the reply is sent only
 * when ops->applied() says every worker runs the new generation, so clients
 * see an ack only for policy that is in force.
 *
 * The server never blocks: sockets are non-blocking, vfw_ctl_poll() does a
 * bounded amount of work and returns, requests and client buffers have size
 * limits, a client that misbehaves is answered with an error and/or closed.
 *
 * Thread safety: one thread (the control thread) calls every function here
 * and every op.
 */
#ifndef VNETFW_CTL_H
#define VNETFW_CTL_H

#include <stdio.h>

#include "vnetfw/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFW_CTL_MAX_REQUEST (16u << 20)  /**< bytes per request line */
#define VFW_CTL_MAX_CLIENTS 64

/** How a change treats existing sessions. */
enum vfw_existing {
	VFW_EXISTING_KEEP = 0,
	VFW_EXISTING_REEVALUATE,
};

struct vfw_ctl_ops {
	void *ctx;
	/**
	 * Compile cfg into a new generation and publish it. On success return
	 * 0 and set *ticket; the server then polls applied(). On failure add
	 * messages to errs and return a negative errno; nothing changed.
	 * The server keeps ownership of cfg; apply must copy what it keeps.
	 */
	int (*apply)(void *ctx, const struct vfw_config *cfg,
		     enum vfw_existing existing, uint64_t *ticket,
		     struct vfw_errors *errs);
	/** 1 when ticket's generation runs on every worker (sets *generation),
	 * 0 while pending, a negative errno if it will never run (the
	 * previous generation stays; the change is reported as failed). */
	int (*applied)(void *ctx, uint64_t ticket, uint64_t *generation);
	/** Generation number now running. */
	uint64_t (*generation)(void *ctx);
	/**
	 * Write the JSON value (no newline) for "show <what>" that needs
	 * runtime data: rules (with hit counters), routes (with counters),
	 * nat (with counters), sessions, stats, ports, neighbors. Return 0,
	 * or -ENOENT for an unknown what ("config" is answered by the server
	 * and never reaches this op).
	 */
	int (*show)(void *ctx, const char *what, FILE *out);
	/** explain: write a JSON object describing how the tuple is handled. */
	int (*explain)(void *ctx, const struct vfw_config *cfg, int direction,
		       uint8_t proto, const struct vfw_ip *src, uint16_t sport,
		       const struct vfw_ip *dst, uint16_t dport, FILE *out);
};

struct vfw_ctl;

/**
 * Create the server listening on cfg->control.socket with cfg->control.mode.
 * running is the config in force (copied). A path held by a live listener
 * is refused (EADDRINUSE), a path that is not a socket too (EEXIST); a
 * stale socket file is removed. An empty control.socket creates no
 * listener (vfw_ctl_handle_line() only). NULL + rte_errno and errno (and a
 * log line saying why) on failure.
 */
struct vfw_ctl *vfw_ctl_create(const struct vfw_config *running,
			       const struct vfw_ctl_ops *ops);
void vfw_ctl_free(struct vfw_ctl *c);   /**< closes clients, unlinks path */
/** File descriptor to wait on (epoll), for a caller that sleeps. */
int vfw_ctl_fd(const struct vfw_ctl *c);
/**
 * Accept, read, execute, write what is ready (at most a few dozen requests
 * per client per call), waiting at most wait_ms for activity (-1: until
 * there is some). Returns the number of requests answered.
 */
int vfw_ctl_poll(struct vfw_ctl *c, int wait_ms);
/** The config in force (as acknowledged), owned by the server. */
const struct vfw_config *vfw_ctl_running(const struct vfw_ctl *c);

/**
 * Execute one request line without a socket (tests, fuzzing): the reply is
 * written to out. Changes go through ops like socket requests, and the call
 * waits (polling ops->applied) until the change is acknowledged. Successive
 * calls are one client (a begin ... commit spans calls). Returns 0 for an
 * {"ok":true} reply or a blank line (no reply), -EINVAL for {"ok":false}.
 */
int vfw_ctl_handle_line(struct vfw_ctl *c, const char *line, size_t len,
			FILE *out);

/**
 * Write s (len bytes) as a JSON string, quotes included, the way replies
 * are written (invalid UTF-8 becomes U+FFFD): for callers that build a
 * request line for vfw_ctl_handle_line().
 */
void vfw_ctl_json_string(FILE *f, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
