/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session index: finds a session from either of its keys. A bucketized
 * hash table without a key store (see ct_private.h for the layout and
 * README.md for the reasoning): one cache line per bucket, signatures
 * compared eight at a time, the full key compared in the session, which the
 * caller reads next anyway. A hit costs one bucket line and the session's
 * lines; rte_hash, which this replaces, read two bucket lines and a key
 * line on top.
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "ct_private.h"

_Static_assert(sizeof(struct ct_bucket) == RTE_CACHE_LINE_SIZE,
	       "a bucket is one cache line");
_Static_assert(offsetof(struct vfw_session, reply) == RTE_CACHE_LINE_SIZE,
	       "the reply key starts the session's second cache line");

static inline struct ct_bucket *
ovf_bucket(const struct ct_table *t, uint32_t next)
{
	return &t->ovf[next - 1];
}

int
ct_table_init(struct ct_table *t, uint32_t max_sessions, int socket)
{
	uint64_t keys = 2 * (uint64_t)max_sessions;
	uint32_t n_home, i;

	memset(t, 0, sizeof(*t));
	n_home = rte_align32pow2((uint32_t)RTE_MAX((keys + CT_BUCKET_LOAD - 1) /
						   CT_BUCKET_LOAD, (uint64_t)1));
	/*
	 * Overflow buckets for the worst case: chains are dense and exist
	 * only behind full home buckets, so a chain of c keys hangs off a
	 * bucket holding 8 + c and uses ceil(c / 8) < (8 + c) / 8 overflow
	 * buckets; keys / 8 of them can never run out, however the keys
	 * hash. Random keys use a few hundredths of them.
	 */
	t->n_ovf = (uint32_t)((keys + CT_BUCKET_SLOTS - 1) / CT_BUCKET_SLOTS);
	t->mask = n_home - 1;
	t->bkt = rte_zmalloc_socket("vfw_ct_bkt",
				    (size_t)n_home * sizeof(struct ct_bucket),
				    RTE_CACHE_LINE_SIZE, socket);
	t->ovf = rte_zmalloc_socket("vfw_ct_ovf",
				    (size_t)t->n_ovf * sizeof(struct ct_bucket),
				    RTE_CACHE_LINE_SIZE, socket);
	t->ovf_free = rte_malloc_socket("vfw_ct_ovf_free",
					(size_t)t->n_ovf * sizeof(uint32_t),
					RTE_CACHE_LINE_SIZE, socket);
	if (t->bkt == NULL || t->ovf == NULL || t->ovf_free == NULL) {
		ct_table_fini(t);
		return ENOMEM;
	}
	for (i = 0; i < t->n_ovf; i++)
		t->ovf_free[i] = t->n_ovf - 1 - i;
	t->n_ovf_free = t->n_ovf;
	return 0;
}

void
ct_table_fini(struct ct_table *t)
{
	rte_free(t->bkt);
	rte_free(t->ovf);
	rte_free(t->ovf_free);
	memset(t, 0, sizeof(*t));
}

/* Candidates of b (signature matches in m) and, past them, b's chain. */
static int32_t
chain_find(const struct ct_table *t, const struct vfw_session *sess,
	   const struct ct_bucket *b, uint32_t m, uint16_t sig,
	   const struct vfw_flow_key *key)
{
	for (;;) {
		for (; m != 0; m &= m - 1) {
			uint32_t d = b->data[__builtin_ctz(m)];

			if (ct_key_eq(ct_hit_key(sess, d), key))
				return (int32_t)d;
		}
		if (b->next == 0)
			return -1;
		b = ovf_bucket(t, b->next);
		m = ct_sig_match(b, sig);
	}
}

int
ct_table_insert(struct ct_table *t, const struct vfw_session *sess,
		const struct vfw_flow_key *key, uint32_t h, uint32_t data,
		uint32_t *held)
{
	struct ct_bucket *b = &t->bkt[h & t->mask], *nb;
	uint16_t sig = ct_sig(h);
	uint32_t m, free_m, i;

	/* One walk: refuse a key that is there, and find the free slot,
	 * which (dense chains) can only be in the last bucket. */
	for (;;) {
		for (m = ct_sig_match(b, sig); m != 0; m &= m - 1) {
			uint32_t d = b->data[__builtin_ctz(m)];

			if (ct_key_eq(ct_hit_key(sess, d), key)) {
				*held = d;
				return -EEXIST;
			}
		}
		if (b->next == 0)
			break;
		b = ovf_bucket(t, b->next);
	}
	free_m = ct_sig_match(b, 0);
	if (unlikely(free_m == 0)) {
		if (unlikely(t->n_ovf_free == 0))
			return -ENOSPC;
		i = t->ovf_free[--t->n_ovf_free];
		nb = &t->ovf[i];
		memset(nb, 0, sizeof(*nb));
		b->next = i + 1;
		b = nb;
		free_m = 1;
	}
	i = (uint32_t)__builtin_ctz(free_m);
	b->data[i] = data;
	b->sig[i] = sig;
	return 0;
}

void
ct_table_del(struct ct_table *t, uint32_t h, uint32_t data)
{
	struct ct_bucket *home = &t->bkt[h & t->mask], *b = home, *prev, *tail;
	uint16_t sig = ct_sig(h);
	uint32_t m, slot, last;

	for (;;) {
		for (m = ct_sig_match(b, sig); m != 0; m &= m - 1) {
			slot = (uint32_t)__builtin_ctz(m);
			if (b->data[slot] == data)
				goto found;
		}
		if (b->next == 0)
			return;
		b = ovf_bucket(t, b->next);
	}
found:
	if (likely(home->next == 0)) {
		b->sig[slot] = 0;
		return;
	}
	/* Keep the chain dense: the chain's last entry fills the hole. */
	prev = home;
	tail = ovf_bucket(t, home->next);
	while (tail->next != 0) {
		prev = tail;
		tail = ovf_bucket(t, tail->next);
	}
	last = 31 - (uint32_t)__builtin_clz(~ct_sig_match(tail, 0) &
					    ((1u << CT_BUCKET_SLOTS) - 1));
	b->data[slot] = tail->data[last];
	b->sig[slot] = tail->sig[last];
	tail->sig[last] = 0;
	if (last == 0) {
		t->ovf_free[t->n_ovf_free++] = prev->next - 1;
		prev->next = 0;
	}
}

void
vfw_ct_lookup_bulk(struct vfw_ct *ct, const struct vfw_flow_key *const *keys,
		   int32_t *hits, unsigned int n)
{
	const struct ct_table *t = &ct->tbl;
	const struct vfw_session *sess = ct->sessions;
	const struct ct_bucket *b[CT_LOOKUP_CHUNK];
	uint32_t match[CT_LOOKUP_CHUNK];
	uint16_t sig[CT_LOOKUP_CHUNK];

	while (n > 0) {
		unsigned int k = RTE_MIN(n, (unsigned int)CT_LOOKUP_CHUNK);
		unsigned int i;

		/* 1: hash, start every bucket's miss */
		for (i = 0; i < k; i++) {
			uint32_t h = ct_hash(keys[i]);

			b[i] = &t->bkt[h & t->mask];
			sig[i] = ct_sig(h);
			rte_prefetch0(b[i]);
		}
		/*
		 * 2: signatures; start the misses of the first candidate's
		 * session, both lines: one holds the key compared below, and
		 * the caller reads the state and writes the expiry next.
		 */
		for (i = 0; i < k; i++) {
			uint32_t m = ct_sig_match(b[i], sig[i]);

			match[i] = m;
			if (m != 0) {
				const struct vfw_session *s =
					&sess[b[i]->data[__builtin_ctz(m)] >> 1];

				rte_prefetch0(s);
				rte_prefetch0((const char *)s + RTE_CACHE_LINE_SIZE);
			}
		}
		/* 3: full keys */
		for (i = 0; i < k; i++) {
			uint32_t m = match[i];
			int32_t hit = -1;

			if (likely(m != 0)) {
				uint32_t d = b[i]->data[__builtin_ctz(m)];

				if (likely(ct_key_eq(ct_hit_key(sess, d), keys[i]))) {
					hits[i] = (int32_t)d;
					continue;
				}
				m &= m - 1;
			}
			if (unlikely(m != 0 || b[i]->next != 0))
				hit = chain_find(t, sess, b[i], m, sig[i], keys[i]);
			hits[i] = hit;
		}
		keys += k;
		hits += k;
		n -= k;
	}
}

void
vfw_ct_prefetch_keys(struct vfw_ct *ct, const struct vfw_flow_key *const *keys,
		     unsigned int n)
{
	const struct ct_table *t = &ct->tbl;
	unsigned int i;

	for (i = 0; i < n; i++)
		rte_prefetch0(&t->bkt[ct_hash(keys[i]) & t->mask]);
}
