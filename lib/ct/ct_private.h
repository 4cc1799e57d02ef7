/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of lib/ct shared by ct.c (table), ct_state.c (per-packet state
 * machine) and ct_frag.c (fragment tracking). Not installed; nothing outside
 * lib/ct and its unit test may include it.
 */
#ifndef VNETFW_CT_PRIVATE_H
#define VNETFW_CT_PRIVATE_H

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_memzone.h>
#ifdef RTE_ARCH_X86
#include <emmintrin.h>
#if defined(__SSE4_1__) || defined(__SSE4_2__)
#include <nmmintrin.h>
#endif
#endif

#include "vnetfw/ct.h"

/*
 * Longest params.name accepted (it labels the table's allocations). The
 * limit dates from the rte_hash-based table, whose ring names it bounded;
 * it is kept so that a name valid once stays valid and vice versa.
 */
#define CT_NAME_MAX 21

/* The hit word is session index << 1 | dir, and must stay a positive
 * int32_t. */
#define CT_MAX_SESSIONS (1u << 29)

/* expire of a free slot: lets the aging sweep skip free slots by reading
 * the expiry alone. */
#define CT_EXPIRE_NEVER UINT64_MAX

/*
 * A RST closes at once; the session stays only so that packets still in
 * flight (the peer's own RST, a retransmitted FIN) find it. Linux conntrack
 * uses 10 s for its CLOSE state; tcp_closing applies when it is shorter.
 */
#define CT_TCP_CLOSED_TIMEOUT_S 10

/* How long a first fragment's ports are remembered (RFC 791 suggests a
 * reassembly timer of 15 s; real fragment trains arrive within
 * milliseconds, and a short life keeps the small table from filling). */
#define CT_FRAG_TIMEOUT_S 5
#define CT_FRAG_DEFAULT 4096u
#define CT_FRAG_MAX (1u << 24)
/* Slots per bucket; a datagram may live in either of two buckets. */
#define CT_FRAG_BUCKET 8u

/* What identifies a fragmented datagram; compared and hashed as one block. */
struct ct_frag_key {
	uint32_t src[4];
	uint32_t dst[4];
	uint32_t id;
	uint8_t proto;
	uint8_t af;
	uint16_t zero;
};

/* One remembered first fragment. */
struct ct_frag_slot {
	struct ct_frag_key k;
	uint16_t sport;        /**< network order, as in the flow key */
	uint16_t dport;
};

/*
 * Tags and expiry times are kept apart from the slots so that choosing a
 * slot reads two short runs of memory, and a slot is touched only on a
 * likely match.
 */
struct ct_frag_table {
	uint32_t *tag;         /**< hash | 1 per slot; 0 = never used */
	uint64_t *expire;      /**< live while now < expire; 0 = never used */
	struct ct_frag_slot *slot;
	uint32_t bucket_mask;  /**< buckets - 1 (a power of two) */
	uint64_t timeout;      /**< ticks */
};

/*
 * The session index (ct_table.c): a bucketized hash table of one cache line
 * per bucket, each holding CT_BUCKET_SLOTS entries of (16-bit signature,
 * hit word = session index << 1 | dir). There is no key store: a candidate
 * whose signature matches is checked against the key in the session itself
 * (orig on its first cache line, reply on its second), which the caller
 * reads next anyway. A key lives in its home bucket (hash & mask) or, when
 * that is full, in a chain of overflow buckets hanging off it. Chains are
 * kept dense: a chain exists only while its home bucket is full, every
 * overflow bucket but the last is full, and the last fills from slot 0.
 */
#define CT_BUCKET_SLOTS 8
/* Keys per home bucket at most, on average, when every session is in use:
 * half the slots, so that few buckets ever overflow. */
#define CT_BUCKET_LOAD 4
/* Lookups per pipeline pass of vfw_ct_lookup_bulk(). */
#define CT_LOOKUP_CHUNK 32

struct ct_bucket {
	uint16_t sig[CT_BUCKET_SLOTS];   /**< 0: slot free */
	uint32_t data[CT_BUCKET_SLOTS];  /**< session index << 1 | dir */
	uint32_t next;                   /**< 1 + overflow bucket; 0: none */
	uint32_t pad[3];
} __rte_cache_aligned;

struct ct_table {
	struct ct_bucket *bkt;     /**< home buckets, mask + 1 of them */
	struct ct_bucket *ovf;     /**< overflow buckets */
	uint32_t *ovf_free;        /**< stack of free overflow bucket indices */
	uint32_t n_ovf_free;
	uint32_t n_ovf;
	uint32_t mask;
};

/*
 * Hash of a flow key. IPv4 keys (the only ones forwarded) hash 16 bytes:
 * the first word (proto, af, zone), src[0], dst[0] and the ports; the other
 * address words of an IPv4 key are zero by construction, and the equality
 * test is over all 40 bytes anyway. Other keys hash all 40 bytes.
 */
#define CT_HASH_SEED 0x5bd1e995u

/*
 * CRC32-C of 8 bytes: rte_hash_crc_8byte(), which picks its method at run
 * time; a build for a CPU with SSE4.2 (the -march of every x86 build) may
 * use the instruction directly. The same function either way.
 */
static inline uint32_t
crc8(uint64_t data, uint32_t init)
{
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
	return (uint32_t)_mm_crc32_u64(init, data);
#else
	return rte_hash_crc_8byte(data, init);
#endif
}

static inline uint32_t
ct_hash(const struct vfw_flow_key *k)
{
	uint64_t a, b;
	uint32_t d, p;

	if (likely(k->af == VFW_AF_INET)) {
		memcpy(&a, k, sizeof(a));            /* proto..zone, src[0] */
		d = k->dst[0];
		memcpy(&p, &k->sport, sizeof(p));    /* sport, dport */
		b = (uint64_t)d | (uint64_t)p << 32;
		return crc8(b, crc8(a, CT_HASH_SEED));
	}
	return rte_hash_crc(k, sizeof(*k), CT_HASH_SEED);
}

/* Signature kept in the bucket: the hash's high half, never 0 (free). */
static inline uint16_t
ct_sig(uint32_t h)
{
	return (uint16_t)((h >> 16) | 1);
}

/* Bit i set when slot i of b holds signature sig (sig 0: free slots). */
static inline uint32_t
ct_sig_match(const struct ct_bucket *b, uint16_t sig)
{
#ifdef RTE_ARCH_X86
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig));

	return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(eq,
							   _mm_setzero_si128()));
#else
	uint32_t m = 0;
	unsigned int i;

	for (i = 0; i < CT_BUCKET_SLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << i;
	return m;
#endif
}

/* The key a hit word points at: orig (dir 0) or reply (dir 1). */
static inline const struct vfw_flow_key *
ct_hit_key(const struct vfw_session *sess, uint32_t data)
{
	const struct vfw_session *s = &sess[data >> 1];

	return (data & 1) ? &s->reply : &s->orig;
}

/* 40-byte equality: two 16-byte compares and an 8-byte one (SSE4.1), or
 * five 8-byte words. */
static inline bool
ct_key_eq(const struct vfw_flow_key *a, const struct vfw_flow_key *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
	uint64_t u, v;
#if defined(RTE_ARCH_X86) && defined(__SSE4_1__)
	__m128i d = _mm_or_si128(
		_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)x),
			      _mm_loadu_si128((const __m128i *)(const void *)y)),
		_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(x + 16)),
			      _mm_loadu_si128((const __m128i *)(const void *)(y + 16))));

	memcpy(&u, x + 32, 8);
	memcpy(&v, y + 32, 8);
	return _mm_testz_si128(d, d) && u == v;
#else
	uint64_t d = 0;
	unsigned int i;

	for (i = 0; i < sizeof(*a); i += 8) {
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	return d == 0;
#endif
}

struct vfw_ct {
	/* Must stay first, as struct vfw_ct_hot in ct.h lays them out: the
	 * inline functions there read them blindly. tmo[] is the per-state
	 * expiry in ticks, indexed by enum vfw_ct_state. */
	struct vfw_session *sessions;
	uint64_t tmo[VFW_CT_STATE_MAX];
	struct ct_table tbl;
	bool tcp_loose;
	uint32_t max_sessions;
	uint32_t n_free;       /**< entries on free_stack */
	uint32_t *free_stack;  /**< free session indices; top is [n_free-1] */
	uint32_t age_cursor;   /**< next slot vfw_ct_age() examines */
	uint32_t by_state[VFW_CT_STATE_MAX];
	uint64_t replaced;     /**< closing sessions retired by a new SYN */
	uint64_t early_dropped; /**< unproven sessions removed for a new one */
	uint32_t drop_cursor;  /**< next slot ct_early_drop() looks at */
	uint64_t removed;      /**< sessions removed, any path */
	uint64_t hz;
	vfw_ct_release_cb release_cb;
	void *release_arg;
	struct ct_frag_table frag;
	const struct rte_memzone *mz;  /**< holds this struct, named "CT_<name>" */
	char name[CT_NAME_MAX + 1];
} __rte_cache_aligned;

/* Move a session to a new state, keeping the per-state counters exact. */
static inline void
ct_set_state(struct vfw_ct *ct, struct vfw_session *s, enum vfw_ct_state st)
{
	ct->by_state[s->state]--;
	ct->by_state[st]++;
	s->state = (uint8_t)st;
}

/* ct_table.c */
int ct_table_init(struct ct_table *t, uint32_t max_sessions, int socket);
void ct_table_fini(struct ct_table *t);
/* Enter key (hash h) with hit word data: 0, -EEXIST when the key is there
 * already (*held: the hit word that holds it), -ENOSPC when no overflow
 * bucket is left (cannot happen while at most max_sessions sessions hold
 * two keys each). */
int ct_table_insert(struct ct_table *t, const struct vfw_session *sess,
		    const struct vfw_flow_key *key, uint32_t h, uint32_t data,
		    uint32_t *held);
/* Remove the entry data from hash h's chain (no-op when absent). */
void ct_table_del(struct ct_table *t, uint32_t h, uint32_t data);

/* ct_state.c */
void ct_timeouts_to_ticks(struct vfw_ct *ct, const struct vfw_cfg_timeouts *t);
/* Initial state for a first packet; -EINVAL when it may not open. */
int ct_initial_state(const struct vfw_ct *ct, uint8_t proto, uint8_t tcp_flags,
		     uint8_t *fin_seen);

/* ct_frag.c */
int ct_frag_init(struct ct_frag_table *f, uint32_t max_frags, uint64_t hz,
		 int socket);
void ct_frag_fini(struct ct_frag_table *f);

#endif
