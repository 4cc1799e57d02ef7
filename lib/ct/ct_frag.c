/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IP fragment tracking: non-first fragments carry no L4 header, so the ports
 * of the first fragment are remembered under (src, dst, proto, af, frag id)
 * for CT_FRAG_TIMEOUT_S and lent to the later fragments.
 *
 * A two-choice bucketed table: a datagram may sit in either of two buckets
 * of CT_FRAG_BUCKET slots and goes to the one with more room, which keeps
 * buckets evenly loaded (a single bucket or a linear probe window starts
 * refusing at about half the load). Entries expire in place: a lookup
 * ignores an expired entry and a record reuses it, so nothing is ever
 * deleted, nothing needs a sweep, and "full" means both buckets hold live
 * entries only.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "ct_private.h"

int
ct_frag_init(struct ct_frag_table *f, uint32_t max_frags, uint64_t hz,
	     int socket)
{
	/*
	 * Twice the slots asked for, so that max_frags live datagrams load
	 * the table to at most one half, where two-choice buckets in
	 * practice never refuse; and at least two buckets.
	 */
	uint32_t n = 2 * rte_align32pow2(max_frags ? max_frags :
					  CT_FRAG_DEFAULT);

	n = RTE_MAX(n, 2 * CT_FRAG_BUCKET);
	f->tag = rte_zmalloc_socket("vfw_ct_frag_tag",
				    (size_t)n * sizeof(*f->tag),
				    RTE_CACHE_LINE_SIZE, socket);
	f->expire = rte_zmalloc_socket("vfw_ct_frag_exp",
				       (size_t)n * sizeof(*f->expire),
				       RTE_CACHE_LINE_SIZE, socket);
	f->slot = rte_zmalloc_socket("vfw_ct_frag",
				     (size_t)n * sizeof(*f->slot),
				     RTE_CACHE_LINE_SIZE, socket);
	if (f->tag == NULL || f->expire == NULL || f->slot == NULL) {
		ct_frag_fini(f);
		return ENOMEM;
	}
	f->bucket_mask = n / CT_FRAG_BUCKET - 1;
	f->timeout = CT_FRAG_TIMEOUT_S * hz;
	return 0;
}

void
ct_frag_fini(struct ct_frag_table *f)
{
	rte_free(f->tag);
	rte_free(f->expire);
	rte_free(f->slot);
	f->tag = NULL;
	f->expire = NULL;
	f->slot = NULL;
}

/* Build the key; return its tag and its two buckets' first slots. */
static inline uint32_t
frag_key_make(const struct ct_frag_table *f, struct ct_frag_key *k,
	      const struct vfw_flow_key *key, uint32_t frag_id,
	      uint32_t first[2])
{
	uint32_t h, alt;

	memcpy(k->src, key->src, sizeof(k->src));
	memcpy(k->dst, key->dst, sizeof(k->dst));
	k->id = frag_id;
	k->proto = key->proto;
	k->af = key->af;
	k->zero = 0;
	h = rte_hash_crc(k, sizeof(*k), 0);
	/* The second bucket from the high half, never equal to the first. */
	alt = (h >> 16) & f->bucket_mask;
	if (alt == 0)
		alt = 1;
	first[0] = (h & f->bucket_mask) * CT_FRAG_BUCKET;
	first[1] = ((h & f->bucket_mask) ^ alt) * CT_FRAG_BUCKET;
	/* Never 0: a zero tag marks a slot that was never used. */
	return h | 1;
}

int
vfw_ct_frag_record(struct vfw_ct *ct, const struct vfw_flow_key *key,
		   uint32_t frag_id, uint64_t now)
{
	struct ct_frag_table *f = &ct->frag;
	struct ct_frag_slot *slot;
	struct ct_frag_key k;
	uint32_t first[2];
	uint32_t tag = frag_key_make(f, &k, key, frag_id, first);
	uint32_t b, i, j, use = UINT32_MAX;
	unsigned int best_room = 0;

	for (b = 0; b < 2; b++) {
		unsigned int room = 0;
		uint32_t cand = UINT32_MAX;

		for (i = 0; i < CT_FRAG_BUCKET; i++) {
			j = first[b] + i;
			/* The same datagram again (a retransmitted first
			 * fragment) or a stale entry of a reused id:
			 * overwrite, never hold two entries for one key. */
			if (f->tag[j] == tag &&
			    memcmp(&f->slot[j].k, &k, sizeof(k)) == 0) {
				use = j;
				goto store;
			}
			if (now >= f->expire[j]) {
				room++;
				if (cand == UINT32_MAX)
					cand = j;
			}
		}
		if (room > best_room) {
			best_room = room;
			use = cand;
		}
	}
	if (use == UINT32_MAX)
		return -ENOSPC;
store:
	slot = &f->slot[use];
	slot->k = k;
	slot->sport = key->sport;
	slot->dport = key->dport;
	f->expire[use] = now + f->timeout;
	f->tag[use] = tag;
	return 0;
}

int
vfw_ct_frag_lookup(struct vfw_ct *ct, struct vfw_flow_key *key,
		   uint32_t frag_id, uint64_t now)
{
	const struct ct_frag_table *f = &ct->frag;
	struct ct_frag_key k;
	uint32_t first[2];
	uint32_t tag = frag_key_make(f, &k, key, frag_id, first);
	uint32_t b, i, j;

	for (b = 0; b < 2; b++) {
		for (i = 0; i < CT_FRAG_BUCKET; i++) {
			j = first[b] + i;
			if (f->tag[j] == tag && now < f->expire[j] &&
			    memcmp(&f->slot[j].k, &k, sizeof(k)) == 0) {
				key->sport = f->slot[j].sport;
				key->dport = f->slot[j].dport;
				return 0;
			}
		}
	}
	return -ENOENT;
}
