/* SPDX-License-Identifier: BSD-3-Clause */
/* Data plane construction, counters and the worker mailbox. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <rte_thash.h>

#include "dp_private.h"

#define VFW_EV_NAME_(e, s) [VFW_EV_##e] = s,
static const char *const ev_names[VFW_EV_MAX] = { VFW_EVENTS(VFW_EV_NAME_) };
#undef VFW_EV_NAME_

const char *
vfw_event_name(enum vfw_event e)
{
	return (unsigned int)e < VFW_EV_MAX ? ev_names[e] : "?";
}

static void
tx_unsent(struct rte_mbuf **pkts, uint16_t unsent, void *arg)
{
	struct vfw_worker *w = arg;
	uint16_t i;

	w->stats.drops[VFW_DROP_TX_FULL] += unsent;
	for (i = 0; i < unsent; i++)
		rte_pktmbuf_free(pkts[i]);
}

/* Session ends: give its translated port back to the pool. */
static void
session_released(void *arg, const struct vfw_session *s)
{
	struct vfw_worker *w = arg;

	if (s->flags & VFW_SF_SNAT)
		vfw_snat_free(w->snat, s->snat_pool, vfw_nat_pclass_of(s->orig.proto),
			      rte_be_to_cpu_16(s->reply.dport));
}

static struct rte_ring *
ring(const char *what, unsigned int a, unsigned int b, int socket, unsigned int flags)
{
	char name[RTE_RING_NAMESIZE + 16];
	static unsigned int seq;

	/* ring names are process-global: a sequence keeps them unique */
	snprintf(name, RTE_RING_NAMESIZE, "vfw_%.2s%u_%u_%u", what, a % 100,
		 b % 100, seq++ % 100000);
	return rte_ring_create(name, VFW_RING_SIZE, socket, flags);
}

static void
worker_free(struct vfw_worker *w)
{
	unsigned int r;

	if (w == NULL)
		return;
	for (r = 0; r < VFW_PORT_MAX; r++)
		rte_free(w->txb[r]);
	for (r = 0; r < VFW_MAX_WORKERS; r++)
		rte_ring_free(w->handoff_in[r]);
	rte_ring_free(w->to_slow);
	rte_ring_free(w->from_slow);
	vfw_ct_free(w->ct);
	rte_free(w);
}

/* The redirection table the owner function follows (dataplane.h). */
static uint32_t
reta_size(const struct vfw_dp_params *p)
{
	uint32_t r = p->ports[VFW_PORT_VNET].rss_reta_size;

	if (r == 0)
		r = p->ports[VFW_PORT_CLUSTER].rss_reta_size;
	return r != 0 && rte_is_power_of_2(r) ? r : VFW_RSS_RETA_SIZE;
}

static struct vfw_worker *
worker_create(struct vfw_dp *dp, const struct vfw_dp_params *p, unsigned int id)
{
	const struct vfw_cfg_conntrack *ctc = &p->cfg->conntrack;
	struct vfw_ct_params cp = { 0 };
	struct vfw_worker *w;
	char name[32];
	unsigned int r;

	w = rte_zmalloc_socket("vfw_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, p->socket);
	if (w == NULL)
		return NULL;
	w->id = id;
	w->n_workers = p->n_workers;
	w->dp = dp;
	w->pm = p->pm;
	w->neigh = p->neigh;
	w->hz = p->hz;
	w->handoff_pause_max = p->hz * VFW_HANDOFF_PAUSE_US / 1000000;
	w->rss_reta_mask = reta_size(p) - 1;
	w->io = p->ports_started;
	w->snat = vfw_nat_pools_worker(p->pools, id);
	memset(w->role_of_port, 0xff, sizeof(w->role_of_port));
	for (r = 0; r < VFW_PORT_MAX; r++) {
		w->ports[r] = p->ports[r];
		if (p->ports[r].port_id < RTE_MAX_ETHPORTS)
			w->role_of_port[p->ports[r].port_id] = (uint8_t)r;
		w->txb[r] = rte_zmalloc_socket("vfw_txb", RTE_ETH_TX_BUFFER_SIZE(VFW_BURST),
					       0, p->socket);
		if (w->txb[r] == NULL)
			goto fail;
		rte_eth_tx_buffer_init(w->txb[r], VFW_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[r], tx_unsent, w);
	}
	snprintf(name, sizeof(name), "vfw_ct%u", id);
	cp.name = name;
	/* the session budget is shared: each worker owns its slice */
	cp.max_sessions = RTE_MAX(ctc->max_sessions / p->n_workers, 1024u);
	cp.socket = p->socket;
	cp.hz = p->hz;
	cp.tcp_loose = ctc->tcp_loose;
	cp.timeouts = ctc->timeouts;
	w->ct = vfw_ct_create(&cp);
	if (w->ct == NULL)
		goto fail;
	vfw_ct_set_release_cb(w->ct, session_released, w);
	vfw_tb_init(&w->icmp_tb, p->hz, VFW_ICMP_ERR_RATE, VFW_ICMP_ERR_BURST,
		    rte_rdtsc());
	w->to_slow = ring("ts", id, 0, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	/* the slow path is one thread, but vfw_dp_sp_send may also be used
	 * by the thread that answers telemetry: keep it multi-producer */
	w->from_slow = ring("fs", id, 0, p->socket, RING_F_SC_DEQ);
	if (w->to_slow == NULL || w->from_slow == NULL)
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

/* A symmetric Toeplitz key: the 16-bit period makes the windows of the
 * source and destination words equal, so both directions hash alike. */
const uint8_t vfw_rss_key[VFW_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/*
 * The Toeplitz hash is linear over GF(2) in its input, so the hash of the
 * 8 bytes (src, dst) is the XOR of the hashes of each byte in its place:
 * eight 256-entry tables, built once with rte_softrss(), replace its loop
 * over 64 bits.
 */
uint32_t vfw_rss_tbl[8][256];

RTE_INIT(vfw_rss_tbl_init)
{
	unsigned int k, v;

	for (k = 0; k < 8; k++)
		for (v = 0; v < 256; v++) {
			uint32_t t[2] = { 0, 0 };

			t[k / 4] = v << (24 - 8 * (k % 4));
			vfw_rss_tbl[k][v] = rte_softrss(t, 2, vfw_rss_key);
		}
}

uint32_t
vfw_dp_rss_hash(uint32_t src_be, uint32_t dst_be)
{
	return vfw_rss_hash(src_be, dst_be);
}

struct vfw_dp *
vfw_dp_create(const struct vfw_dp_params *p)
{
	struct vfw_dp *dp;
	unsigned int i, j;

	if (p->n_workers == 0 || p->n_workers > VFW_MAX_WORKERS) {
		rte_errno = EINVAL;
		return NULL;
	}
	dp = rte_zmalloc_socket("vfw_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE, p->socket);
	if (dp == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	dp->n_workers = p->n_workers;
	dp->pm = p->pm;
	dp->neigh = p->neigh;
	dp->pool = p->pool;
	dp->hz = p->hz;
	memcpy(dp->ports, p->ports, sizeof(dp->ports));
	for (i = 0; i < VFW_PENDING_MAX; i++)
		dp->pending[i].slot = -1;
	dp->refresh_sent = rte_zmalloc("vfw_nref", sizeof(uint64_t) *
				       (vfw_neigh_capacity(p->neigh) + 1), 0);
	if (dp->refresh_sent == NULL)
		goto fail;
	for (i = 0; i < p->n_workers; i++) {
		dp->workers[i] = worker_create(dp, p, i);
		if (dp->workers[i] == NULL)
			goto fail;
	}
	/* one single-producer/single-consumer ring per ordered worker pair */
	for (i = 0; i < p->n_workers && p->n_workers > 1; i++)
		for (j = 0; j < p->n_workers; j++) {
			struct rte_ring *r;

			if (i == j)
				continue;
			r = ring("ho", i, j, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL)
				goto fail;
			dp->workers[i]->handoff_out[j] = r;
			dp->workers[j]->handoff_in[i] = r;
		}
	return dp;
fail:
	vfw_dp_free(dp);
	rte_errno = ENOMEM;
	return NULL;
}

void
vfw_dp_free(struct vfw_dp *dp)
{
	struct rte_mbuf *m;
	unsigned int i, k;

	if (dp == NULL)
		return;
	for (i = 0; i < VFW_PENDING_MAX; i++)
		for (k = 0; k < dp->pending[i].n; k++)
			rte_pktmbuf_free(dp->pending[i].pkts[k]);
	for (i = 0; i < dp->n_workers; i++) {
		struct vfw_worker *w = dp->workers[i];

		if (w == NULL)
			continue;
		while (w->to_slow && rte_ring_dequeue(w->to_slow, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (w->from_slow && rte_ring_dequeue(w->from_slow, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		for (k = 0; k < VFW_MAX_WORKERS; k++)
			while (w->handoff_in[k] &&
			       rte_ring_dequeue(w->handoff_in[k], (void **)&m) == 0)
				rte_pktmbuf_free(m);
		worker_free(w);
	}
	rte_free(dp->refresh_sent);
	rte_free(dp);
}

struct vfw_worker *
vfw_dp_worker(struct vfw_dp *dp, unsigned int i)
{
	return i < dp->n_workers ? dp->workers[i] : NULL;
}

unsigned int
vfw_dp_n_workers(const struct vfw_dp *dp)
{
	return dp->n_workers;
}

void
vfw_dp_stop(struct vfw_dp *dp)
{
	atomic_store(&dp->stop, true);
}

void
vfw_dp_set_tx_hook(struct vfw_worker *w, vfw_dp_tx_fn fn, void *arg)
{
	w->tx_hook = fn;
	w->tx_hook_arg = arg;
}

void
vfw_dp_stats_sum(const struct vfw_dp *dp, struct vfw_dp_stats *out)
{
	unsigned int w, k;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < dp->n_workers; w++) {
		const struct vfw_dp_stats *s = &dp->workers[w]->stats;

		for (k = 0; k < VFW_PORT_MAX; k++) {
			out->rx[k] += s->rx[k];
			out->tx[k] += s->tx[k];
		}
		for (k = 0; k < VFW_EV_MAX; k++)
			out->ev[k] += s->ev[k];
		/* counted by lib/ct, inside session creation */
		out->ev[VFW_EV_CT_REPLACED] += vfw_ct_replaced(dp->workers[w]->ct);
		out->ev[VFW_EV_CT_EARLY_DROP] += vfw_ct_early_dropped(dp->workers[w]->ct);
		for (k = 0; k < VFW_DROP_MAX; k++)
			out->drops[k] += s->drops[k];
	}
	for (k = 0; k < VFW_DROP_MAX; k++)
		out->drops[k] += dp->sp.drops[k];
}

const struct vfw_sp_stats *
vfw_dp_sp_stats(const struct vfw_dp *dp)
{
	return &dp->sp;
}

uint32_t
vfw_dp_sessions(const struct vfw_dp *dp, uint32_t *by_state)
{
	uint32_t tmp[VFW_CT_STATE_MAX], total = 0;
	unsigned int w, k;

	if (by_state != NULL)
		memset(by_state, 0, sizeof(uint32_t) * VFW_CT_STATE_MAX);
	for (w = 0; w < dp->n_workers; w++) {
		total += vfw_ct_count(dp->workers[w]->ct);
		if (by_state == NULL)
			continue;
		vfw_ct_count_by_state(dp->workers[w]->ct, tmp);
		for (k = 0; k < VFW_CT_STATE_MAX; k++)
			by_state[k] += tmp[k];
	}
	return total;
}

/*
 * Wait (bounded) until worker w's mailbox slot is idle. The slot holds one
 * request: posting over one the worker has not taken yet would lose it.
 * vfw_dp_reevaluate() returns without waiting for its request to be
 * carried out, so the next request, typically a "show sessions" right
 * after the change's acknowledgement, may find it still there while the
 * worker is descheduled (workers sharing a core).
 */
static bool
mailbox_wait(const struct vfw_worker *w, uint64_t deadline)
{
	while (atomic_load_explicit(&w->req, memory_order_acquire) != VFW_REQ_NONE) {
		if (rte_get_tsc_cycles() > deadline)
			return false;
		rte_pause();
	}
	return true;
}

/*
 * A request posted to w timed out. Withdraw it if the worker has not
 * claimed it (true: the worker will never look at it). If it has, it is
 * carrying it out, into buffers the caller owns: wait for the end, which
 * is bounded work (a copy of at most max sessions), however long the
 * worker stays descheduled, and report it done (false).
 */
static bool
mailbox_withdraw(struct vfw_worker *w, int req)
{
	int expect = req;

	if (atomic_compare_exchange_strong_explicit(&w->req, &expect, VFW_REQ_NONE,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return true;
	while (atomic_load_explicit(&w->req, memory_order_acquire) != VFW_REQ_NONE)
		rte_pause();
	return false;
}

int
vfw_dp_request(struct vfw_dp *dp, enum vfw_dp_req_type req, uint64_t gen,
	       struct vfw_session_snapshot *out, unsigned int max,
	       unsigned int timeout_ms)
{
	uint64_t deadline = rte_get_tsc_cycles() + dp->hz * timeout_ms / 1000;
	unsigned int i, total = 0;

	for (i = 0; i < dp->n_workers; i++) {
		struct vfw_worker *w = dp->workers[i];

		/* a re-evaluation not taken yet stays: time out instead */
		if (!mailbox_wait(w, deadline))
			return -ETIMEDOUT;
		w->req_gen = gen;
		w->req_out = out != NULL ? out + total : NULL;
		w->req_max = out != NULL ? max - total : 0;
		w->req_count = 0;
		atomic_store_explicit(&w->req, req, memory_order_release);
		/* Workers poll the mailbox every loop; without running
		 * workers (bench, tests) do it here. */
		while (atomic_load_explicit(&w->req, memory_order_acquire) != VFW_REQ_NONE) {
			if (rte_get_tsc_cycles() > deadline) {
				if (mailbox_withdraw(w, (int)req))
					return -ETIMEDOUT;
				break;	/* it was being carried out: done now */
			}
			rte_pause();
		}
		total += w->req_count;
	}
	return (int)total;
}

/* A worker takes a request within one loop; this bounds a stuck one. */
#define VFW_REEVAL_POST_MS 1000

void
vfw_dp_reevaluate(struct vfw_dp *dp, uint64_t gen)
{
	uint64_t deadline = rte_get_tsc_cycles() + dp->hz * VFW_REEVAL_POST_MS / 1000;
	unsigned int i;

	for (i = 0; i < dp->n_workers; i++) {
		struct vfw_worker *w = dp->workers[i];
		int cur;

		/* An earlier re-evaluation the worker has not taken yet is
		 * withdrawn (this one covers it); anything else, waited for.
		 * Never written over a request the worker carries out: it
		 * frees the slot when done, and would erase this one. */
		for (;;) {
			cur = atomic_load_explicit(&w->req, memory_order_acquire);
			if (cur == VFW_REQ_REEVALUATE &&
			    atomic_compare_exchange_strong_explicit(&w->req, &cur,
								    VFW_REQ_NONE,
								    memory_order_acq_rel,
								    memory_order_acquire))
				cur = VFW_REQ_NONE;
			if (cur == VFW_REQ_NONE || rte_get_tsc_cycles() > deadline)
				break;
			rte_pause();
		}
		if (cur != VFW_REQ_NONE) {
			RTE_LOG(WARNING, USER1, "worker %u: mailbox busy for %u ms, "
				"existing sessions not re-evaluated\n", w->id,
				VFW_REEVAL_POST_MS);
			continue;
		}
		w->req_gen = gen;
		atomic_store_explicit(&w->req, VFW_REQ_REEVALUATE, memory_order_release);
	}
}
