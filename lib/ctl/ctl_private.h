/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/ctl shared between the server (ctl.c), the protocol
 * (proto.c), candidate editing (edit.c), the diff (diff.c), save (save.c)
 * and the JSON helpers (json.c). Nothing here is exported.
 */
#ifndef VFW_CTL_PRIVATE_H
#define VFW_CTL_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <yaml.h>

#include "vnetfw/ctl.h"

/*
 * Replies waiting in a client's output buffer beyond this many bytes stop
 * the server from reading and executing that client's further requests
 * (back-pressure instead of unbounded buffering): a client that does not
 * read its replies stalls itself, nobody else.
 */
#define CTL_OUT_BACKPRESSURE (1u << 20)
/* One reply larger than this is replaced by an error reply. */
#define CTL_MAX_REPLY (64u << 20)
/* Requests executed per client per vfw_ctl_poll(), for fairness. */
#define CTL_POLL_BUDGET 64
/* Longest error text kept to explain a failed transaction at commit. */
#define CTL_ERR_MAX 512

/* One edit of a candidate config; owns its item. */
enum ctl_edit_op {
	CTL_RULE_ADD,
	CTL_RULE_REPLACE,
	CTL_RULE_DEL,
	CTL_ROUTE_ADD,
	CTL_ROUTE_DEL,
	CTL_DNAT_ADD,
	CTL_SNAT_ADD,
	CTL_NAT_DEL,
	CTL_NEIGH_ADD,
	CTL_NEIGH_DEL,
};

struct ctl_edit {
	enum ctl_edit_op op;
	union {
		struct vfw_cfg_rule rule;
		struct vfw_cfg_route route;
		struct vfw_cfg_dnat dnat;
		struct vfw_cfg_snat snat;
		struct vfw_cfg_neighbor neigh;
		char name[VFW_NAME_MAX];  /* *_DEL by name */
		struct vfw_ip addr;       /* CTL_NEIGH_DEL */
	};
};

/* What a change does once it holds the change slot. */
enum ctl_job_kind {
	CTL_JOB_EDITS,    /* single change or commit: edits on the running */
	CTL_JOB_REPLACE,  /* apply: a whole new config */
};

struct ctl_job {
	enum ctl_job_kind kind;
	struct ctl_edit *edits;
	unsigned int n_edits;
	/*
	 * REPLACE: the loaded config. EDITS from a commit: the transaction's
	 * private candidate, usable as is when the running config has not
	 * changed since begin (base_version); otherwise edits are replayed.
	 */
	struct vfw_config *cfg;
	uint64_t base_version;
	enum vfw_existing existing;
	bool commit;        /* reply carries "steps" */
	bool control_kept;  /* apply asked for another control section */
};

/* A begin ... commit/abort in progress on one client. */
struct ctl_txn {
	struct vfw_config *cand;  /* running + the steps so far */
	uint64_t base_version;
	struct ctl_edit *edits;
	unsigned int n_edits;
	unsigned int cap_edits;
	unsigned int n_requests;  /* requests since begin, for messages */
	enum vfw_existing existing;
	bool failed;
	char fail_msg[CTL_ERR_MAX + 96];
};

enum ctl_client_state {
	CTL_CLIENT_IDLE,      /* executes its next request when it has one */
	CTL_CLIENT_WAITING,   /* a change waits for the change slot */
	CTL_CLIENT_INFLIGHT,  /* its change is applied, waiting for the ack */
};

struct ctl_client {
	bool used;
	int fd;                 /* -1: the vfw_ctl_handle_line client */
	uint32_t serial;        /* tells a reused slot from its past self */
	uint32_t events;        /* epoll interest currently registered */
	FILE *out;              /* replies of the handle_line client */

	char *rbuf;             /* received bytes, rbuf[rpos..rlen) unused */
	size_t rpos, rlen, rcap;
	size_t rscan;           /* no '\n' in rbuf[rpos..rscan) */
	char *obuf;             /* replies not yet sent, obuf[opos..olen) */
	size_t opos, olen, ocap;
	uint64_t active_ms;     /* accepted, or last sent us bytes (monotonic) */
	bool eof;               /* peer will send nothing more */
	bool gone;              /* peer closed: replies are dropped */

	enum ctl_client_state state;
	struct ctl_job *job;    /* WAITING */
	uint64_t wait_seq;      /* FIFO order of waiting changes */
	struct ctl_txn *txn;

	uint64_t n_replies;
	bool last_ok;           /* outcome of the last reply */
	char last_error[CTL_ERR_MAX];
};

/* The one change handed to ops->apply and not yet acknowledged. */
struct ctl_inflight {
	bool active;
	struct ctl_client *cl;  /* NULL when the client went away */
	uint32_t serial;
	struct vfw_config *cand;
	uint64_t ticket;
	char *extra;            /* JSON members appended to the ok reply */
	char what[96];          /* for the log: "rule.add web-in", "apply" */
};

struct vfw_ctl {
	struct vfw_ctl_ops ops;
	struct vfw_config *running;
	uint64_t version;       /* bumped whenever running is replaced */
	char path[sizeof(((struct vfw_cfg_control *)0)->socket)];
	dev_t path_dev;         /* what we bound, so free() unlinks only it */
	ino_t path_ino;
	int lfd;                /* listener, -1 without one */
	int epfd;
	uint32_t next_serial;
	uint64_t next_wait_seq;
	unsigned int completed; /* requests answered, for vfw_ctl_poll() */
	bool more;              /* some client has work without new input */
	struct ctl_inflight inflight;
	struct ctl_client line_client;
	struct ctl_client clients[VFW_CTL_MAX_CLIENTS];
};

/* json.c */
void ctl_json_strn(FILE *f, const char *s, size_t len);
void ctl_json_str(FILE *f, const char *s);
/*
 * Reply {"ok":false<extra>,"error":"...","errors":[...]} made of all
 * messages of errs ("prefix: m1; m2"); extra is "" or ',"key":value'.
 */
void ctl_json_errors(FILE *f, const char *extra, const char *prefix,
		     const struct vfw_errors *errs);

/* ctl.c: replies and change scheduling */
void ctl_send(struct vfw_ctl *c, struct ctl_client *cl, const char *reply,
	      size_t len, bool ok);
void ctl_send_error(struct vfw_ctl *c, struct ctl_client *cl,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ctl_send_errors(struct vfw_ctl *c, struct ctl_client *cl,
		     const char *extra, const char *prefix,
		     const struct vfw_errors *errs);
/* Reply {"ok":true<extra>}; extra is "" or ',"key":value...'. */
void ctl_send_ok(struct vfw_ctl *c, struct ctl_client *cl, const char *extra);
/* Generation now running, 0 when ops cannot tell. */
uint64_t ctl_generation(const struct vfw_ctl *c);
/* Queue a change; the client's later requests wait for its reply. */
void ctl_submit(struct vfw_ctl *c, struct ctl_client *cl, struct ctl_job *job);

/* proto.c */
void ctl_handle_request(struct vfw_ctl *c, struct ctl_client *cl,
			const char *line, size_t len);

/* edit.c */
int ctl_edit_apply(struct vfw_config *cfg, const struct ctl_edit *e,
		   char *err, size_t errlen);
void ctl_edit_clear(struct ctl_edit *e);
const char *ctl_edit_name(const struct ctl_edit *e);
void ctl_job_free(struct ctl_job *job);
void ctl_txn_free(struct ctl_txn *t);
/* Build the candidate of a job against running; NULL + errs on failure. */
struct vfw_config *ctl_job_build(struct ctl_job *job,
				 const struct vfw_config *running,
				 uint64_t version, struct vfw_errors *errs);

/* diff.c: writes a JSON object, returns the number of differences. */
unsigned int ctl_diff_write(FILE *f, const struct vfw_config *old,
			    const struct vfw_config *new_cfg);

/* save.c: 0, or -errno with a message in err. */
int ctl_save(const struct vfw_config *cfg, char *file, size_t file_len,
	     char *backup, size_t backup_len, char *err, size_t errlen);

#endif
