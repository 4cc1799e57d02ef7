/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session table: a preallocated session array with a free-index stack,
 * the index holding two keys per session (ct_table.c), amortised aging and
 * the state counters. See README.md.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>

#include "ct_private.h"

_Static_assert(sizeof(struct vfw_session) == 2 * RTE_CACHE_LINE_SIZE,
	       "a session is two cache lines");
_Static_assert(offsetof(struct vfw_ct, sessions) ==
	       offsetof(struct vfw_ct_hot, sessions) &&
	       offsetof(struct vfw_ct, tmo) == offsetof(struct vfw_ct_hot, tmo),
	       "struct vfw_ct starts as struct vfw_ct_hot (ct.h)");

static inline uint32_t
hit_data(uint32_t idx, unsigned int dir)
{
	return (idx << 1) | dir;
}

struct vfw_ct *
vfw_ct_create(const struct vfw_ct_params *p)
{
	char mzname[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	struct vfw_ct *ct;
	uint32_t i;
	int err;

	if (p == NULL || p->name == NULL || p->max_sessions == 0 ||
	    p->max_sessions > CT_MAX_SESSIONS || p->hz == 0 ||
	    p->max_frags > CT_FRAG_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(p->name) > CT_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}

	/* The table's own memzone makes its name unique in the process
	 * (EEXIST otherwise), as the contract in ct.h says. */
	snprintf(mzname, sizeof(mzname), "CT_%s", p->name);
	mz = rte_memzone_reserve_aligned(mzname, sizeof(*ct), p->socket, 0,
					 RTE_CACHE_LINE_SIZE);
	if (mz == NULL) {
		rte_errno = rte_errno == EEXIST ? EEXIST : ENOMEM;
		return NULL;
	}
	ct = mz->addr;
	memset(ct, 0, sizeof(*ct));
	ct->mz = mz;
	strcpy(ct->name, p->name);
	ct->max_sessions = p->max_sessions;
	ct->hz = p->hz;
	ct->by_state[VFW_CT_FREE] = p->max_sessions;

	/* Each session's two lines form one 128-byte aligned pair, the unit
	 * the L2's adjacent-line prefetcher fetches: a miss on one line
	 * brings the other (an array aligned to 64 only would pair every
	 * session with half of its neighbour instead). */
	ct->sessions = rte_zmalloc_socket("vfw_ct_sessions",
			(size_t)p->max_sessions * sizeof(struct vfw_session),
			2 * RTE_CACHE_LINE_SIZE, p->socket);
	ct->free_stack = rte_malloc_socket("vfw_ct_free",
			(size_t)p->max_sessions * sizeof(uint32_t),
			RTE_CACHE_LINE_SIZE, p->socket);
	if (ct->sessions == NULL || ct->free_stack == NULL) {
		err = ENOMEM;
		goto fail;
	}
	/* Pop order 0, 1, 2...: a fresh table fills from the front, which
	 * keeps a small table's sessions in few pages. */
	for (i = 0; i < p->max_sessions; i++) {
		ct->free_stack[i] = p->max_sessions - 1 - i;
		ct->sessions[i].expire = CT_EXPIRE_NEVER;
	}
	ct->n_free = p->max_sessions;

	/* Two keys per session; sized so that it never fills before the
	 * session array does. */
	err = ct_table_init(&ct->tbl, p->max_sessions, p->socket);
	if (err != 0)
		goto fail;

	err = ct_frag_init(&ct->frag, p->max_frags, p->hz, p->socket);
	if (err != 0)
		goto fail;

	vfw_ct_set_params(ct, p->tcp_loose, &p->timeouts);
	return ct;

fail:
	vfw_ct_free(ct);
	rte_errno = err;
	return NULL;
}

void
vfw_ct_free(struct vfw_ct *ct)
{
	if (ct == NULL)
		return;
	/* No release callbacks: whoever frees the table frees the NAT pools
	 * and everything else the sessions referred to. */
	ct_table_fini(&ct->tbl);
	ct_frag_fini(&ct->frag);
	rte_free(ct->free_stack);
	rte_free(ct->sessions);
	rte_memzone_free(ct->mz);
}

void
vfw_ct_set_params(struct vfw_ct *ct, bool tcp_loose,
		  const struct vfw_cfg_timeouts *t)
{
	ct->tcp_loose = tcp_loose;
	ct_timeouts_to_ticks(ct, t);
}

void
vfw_ct_set_release_cb(struct vfw_ct *ct, vfw_ct_release_cb cb, void *arg)
{
	ct->release_cb = cb;
	ct->release_arg = arg;
}

/* Release callback first (it may read the whole session), then keys. */
static void
ct_remove(struct vfw_ct *ct, uint32_t idx)
{
	struct vfw_session *s = &ct->sessions[idx];

	if (ct->release_cb != NULL)
		ct->release_cb(ct->release_arg, s);
	ct_table_del(&ct->tbl, ct_hash(&s->orig), hit_data(idx, 0));
	ct_table_del(&ct->tbl, ct_hash(&s->reply), hit_data(idx, 1));
	ct_set_state(ct, s, VFW_CT_FREE);
	s->expire = CT_EXPIRE_NEVER;
	ct->free_stack[ct->n_free++] = idx;
	ct->removed++;
}

/*
 * May a new session in state st take a key that session holder holds? A
 * SYN (st SYN_SENT) may, from a TCP session that is over or on its way
 * out: a FIN seen (CLOSING, TIME_WAIT included) or closed (RST, or both
 * FINs acknowledged). Netfilter does the same for a SYN on such a session
 * ("reopen a closed/aborted connection"). Any new session may take the
 * keys of a session that has expired and that aging has not reached yet.
 * A live session keeps its keys.
 */
static inline bool
ct_may_replace(const struct vfw_ct *ct, int st, uint32_t holder,
	       uint64_t now)
{
	const struct vfw_session *h = &ct->sessions[holder];

	return (st == VFW_CT_TCP_SYN_SENT &&
		(h->state == VFW_CT_TCP_CLOSING ||
		 h->state == VFW_CT_TCP_CLOSED)) ||
	       now >= h->expire;
}

/*
 * A key of a new session (state st) is taken: remove the sessions holding
 * either key if every one of them may be replaced, and return how many
 * were removed; otherwise change nothing and return 0.
 */
static unsigned int
ct_replace_holders(struct vfw_ct *ct, const struct vfw_flow_key *orig,
		   const struct vfw_flow_key *reply, int st, uint64_t now)
{
	const struct vfw_flow_key *keys[2] = { orig, reply };
	int32_t hit[2];
	unsigned int i, n = 0;

	vfw_ct_lookup_bulk(ct, keys, hit, 2);
	for (i = 0; i < 2; i++)
		if (hit[i] >= 0 &&
		    !ct_may_replace(ct, st, VFW_CT_HIT_IDX(hit[i]), now))
			return 0;
	for (i = 0; i < 2; i++) {
		if (hit[i] < 0 ||
		    (i == 1 && hit[0] >= 0 &&
		     VFW_CT_HIT_IDX(hit[0]) == VFW_CT_HIT_IDX(hit[1])))
			continue;
		ct_remove(ct, VFW_CT_HIT_IDX(hit[i]));
		n++;
	}
	ct->replaced += n;
	return n;
}

/*
 * The table is full: remove one session that has not proven itself, among
 * the next CT_EARLY_DROP_SCAN slots of a rotating cursor, as netfilter's
 * early_drop does for unassured connections. Unproven: a TCP handshake not
 * completed (SYN_SENT, SYN_RECV), a closed TCP session waiting out its
 * last seconds, a UDP flow never answered. Without this, a flood of
 * half-open sessions refuses every new flow until it times out; with it,
 * established sessions are never touched, and a new flow is refused
 * (-ENOSPC) only when the slots looked at hold none to spare.
 */
#define CT_EARLY_DROP_SCAN 16
#define CT_UNPROVEN ((1u << VFW_CT_TCP_SYN_SENT) | (1u << VFW_CT_TCP_SYN_RECV) | \
		     (1u << VFW_CT_TCP_CLOSED) | (1u << VFW_CT_UDP))

static bool
ct_early_drop(struct vfw_ct *ct)
{
	uint32_t cur = ct->drop_cursor, i;

	for (i = 0; i < CT_EARLY_DROP_SCAN; i++) {
		uint32_t idx = cur;

		if (++cur == ct->max_sessions)
			cur = 0;
		if ((CT_UNPROVEN >> ct->sessions[idx].state) & 1) {
			ct_remove(ct, idx);
			ct->early_dropped++;
			ct->drop_cursor = cur;
			return true;
		}
	}
	ct->drop_cursor = cur;
	return false;
}

uint64_t
vfw_ct_early_dropped(const struct vfw_ct *ct)
{
	return ct->early_dropped;
}

int
vfw_ct_create_session(struct vfw_ct *ct, const struct vfw_flow_key *orig,
		      const struct vfw_flow_key *reply, enum vfw_dir dir,
		      uint8_t tcp_flags, uint64_t now)
{
	struct vfw_session *s;
	uint32_t h_o, h_r, held = 0;
	bool retried = false;
	uint8_t fin_seen;
	uint32_t idx;
	int st, ret;

	st = ct_initial_state(ct, orig->proto, tcp_flags, &fin_seen);
	if (st < 0)
		return st;
	/* A flow that is its own reply (same address and port both ways)
	 * cannot hold two keys. */
	if (unlikely(memcmp(orig, reply, sizeof(*orig)) == 0))
		return -EEXIST;
	h_o = ct_hash(orig);
	h_r = ct_hash(reply);

	/*
	 * Each key maps to one session: a key in use is refused, and a
	 * failure leaves nothing behind. Except that the sessions holding
	 * the keys are removed (release callback included) when all of them
	 * may be replaced (ct_may_replace()), and creation starts again,
	 * once: both keys are free then.
	 */
	for (;;) {
		if (unlikely(ct->n_free == 0) && !ct_early_drop(ct))
			return -ENOSPC;
		idx = ct->free_stack[ct->n_free - 1];
		ret = ct_table_insert(&ct->tbl, ct->sessions, orig, h_o,
				      hit_data(idx, 0), &held);
		if (likely(ret == 0)) {
			ret = ct_table_insert(&ct->tbl, ct->sessions, reply, h_r,
					      hit_data(idx, 1), &held);
			if (likely(ret == 0))
				break;
			ct_table_del(&ct->tbl, h_o, hit_data(idx, 0));
		}
		if (ret != -EEXIST || retried ||
		    !ct_may_replace(ct, st, held >> 1, now) ||
		    ct_replace_holders(ct, orig, reply, st, now) == 0)
			return ret;
		retried = true;
	}
	ct->n_free--;
	/* The next session to be created: its lines are written then. */
	if (likely(ct->n_free != 0)) {
		const struct vfw_session *nx =
			&ct->sessions[ct->free_stack[ct->n_free - 1]];

		rte_prefetch0_write(nx);
		rte_prefetch0_write((const char *)nx + RTE_CACHE_LINE_SIZE);
	}

	s = &ct->sessions[idx];
	s->orig = *orig;
	s->reply = *reply;
	s->flags = 0;
	s->dir = (uint8_t)dir;
	s->fin_seen = fin_seen;
	s->rule = 0;
	s->generation = 0;
	s->snat_pool = 0;
	s->nat_rule = 0;
	s->expire = now + ct->tmo[st];
	s->packets[0] = 1;
	s->packets[1] = 0;
	s->nh_hint[0] = 0;
	s->nh_hint[1] = 0;
	ct_set_state(ct, s, (enum vfw_ct_state)st);
	return (int)idx;
}

void
vfw_ct_delete(struct vfw_ct *ct, uint32_t idx)
{
	/* Tolerate stale handles: deleting twice must not free twice. */
	if (idx >= ct->max_sessions ||
	    ct->sessions[idx].state == VFW_CT_FREE)
		return;
	ct_remove(ct, idx);
}

unsigned int
vfw_ct_age(struct vfw_ct *ct, uint64_t now, unsigned int budget)
{
	struct vfw_session *sess = ct->sessions;
	uint32_t cur = ct->age_cursor;
	unsigned int removed = 0;
	unsigned int i;

	/* More than one lap per call would only examine slots twice. */
	budget = RTE_MIN(budget, ct->max_sessions);
	for (i = 0; i < budget; i++) {
		/*
		 * Free slots never expire (CT_EXPIRE_NEVER), so the sweep
		 * reads one cache line per slot, not two; the state is read
		 * only for the few that are due.
		 */
		if (unlikely(now >= sess[cur].expire) &&
		    sess[cur].state != VFW_CT_FREE) {
			ct_remove(ct, cur);
			removed++;
		}
		if (++cur == ct->max_sessions)
			cur = 0;
	}
	ct->age_cursor = cur;
	/* Fragment entries need no sweep: they expire in place (ct_frag.c). */
	return removed;
}

uint64_t
vfw_ct_replaced(const struct vfw_ct *ct)
{
	return ct->replaced;
}

uint64_t
vfw_ct_removed(const struct vfw_ct *ct)
{
	return ct->removed;
}

uint32_t
vfw_ct_count(const struct vfw_ct *ct)
{
	return ct->max_sessions - ct->n_free;
}

void
vfw_ct_count_by_state(const struct vfw_ct *ct, uint32_t *counts)
{
	memcpy(counts, ct->by_state, sizeof(ct->by_state));
}

uint32_t
vfw_ct_capacity(const struct vfw_ct *ct)
{
	return ct->max_sessions;
}

int64_t
vfw_ct_next(const struct vfw_ct *ct, uint32_t from)
{
	uint32_t i;

	for (i = from; i < ct->max_sessions; i++)
		if (ct->sessions[i].state != VFW_CT_FREE)
			return i;
	return -1;
}
