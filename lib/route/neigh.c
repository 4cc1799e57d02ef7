/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbor (ARP) table: one writer thread, lock-free readers.
 *
 * An rte_hash (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) maps an IPv4 address
 * to its key position, and that position is the entry's slot. Readers see an
 * entry's MAC and state in one 64-bit word that the writer stores atomically.
 * A slot is reused only when the hash hands its key position out again,
 * which with an RCU variable happens after a grace period (the hash's defer
 * queue), so a reader inside its critical section never sees its slot
 * change owner. See README.md, "Thread safety".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "vnetfw/route.h"

/* rte_hash refuses fewer entries than one bucket holds. */
#define NEIGH_MIN_CAPACITY 8
/*
 * rte_hash names its defer queue "HASH_RCU_<name>" and that queue's ring
 * "RCU_RING_HASH_RCU_<name>", which must fit RTE_RING_NAMESIZE (30 with the
 * NUL): a longer name is truncated into a collision, so keep it to 11.
 */
#define NEIGH_HASH_NAME_MAX 12

/* The entry layout and its reader-visible word are in vnetfw/route.h
 * (struct vfw_neigh_entry_), which workers read inline. */

struct vfw_neigh_table {
	struct vfw_neigh_hot_ hot;  /* first: read inline by workers */
	struct rte_hash *h;
	bool deferred;            /* the hash reclaims through RCU */
};

/* Makes hash names unique within the process. */
static uint32_t neigh_seq;

static inline uint64_t
make_word(const struct rte_ether_addr *mac, enum vfw_neigh_state st)
{
	uint64_t w = (uint64_t)st << VFW_NEIGH_STATE_SHIFT_;
	unsigned int i;

	if (mac != NULL)
		for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
			w |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	return w;
}

static inline enum vfw_neigh_state
word_state(uint64_t w)
{
	return (enum vfw_neigh_state)((w >> VFW_NEIGH_STATE_SHIFT_) & 0xff);
}

static inline void
word_mac(uint64_t w, struct rte_ether_addr *mac)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	/* byte i at bits 8i..8i+7 is the word's memory order: one copy */
	memcpy(mac->addr_bytes, &w, RTE_ETHER_ADDR_LEN);
#else
	unsigned int i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(w >> (8 * i));
#endif
}

/* Writer-side read of the word: the writer is the only one storing it. */
static inline enum vfw_neigh_state
entry_state(const struct vfw_neigh_entry_ *e)
{
	return word_state(__atomic_load_n(&e->word, __ATOMIC_RELAXED));
}

static inline void
entry_publish(struct vfw_neigh_entry_ *e, uint64_t w)
{
	__atomic_store_n(&e->word, w, __ATOMIC_RELEASE);
}

static inline bool
slot_ok(const struct vfw_neigh_table *t, int32_t slot)
{
	return (uint32_t)slot < t->hot.capacity;
}

struct vfw_neigh_table *
vfw_neigh_create(const char *name, unsigned int capacity, int socket,
		 struct rte_rcu_qsbr *qsv)
{
	struct rte_hash_parameters hp;
	struct vfw_neigh_table *t;
	char hname[NEIGH_HASH_NAME_MAX];
	int attempt, err;

	if (name == NULL || capacity == 0 || capacity > (1u << 30)) {
		rte_errno = EINVAL;
		return NULL;
	}
	capacity = RTE_MAX(capacity, (unsigned int)NEIGH_MIN_CAPACITY);

	t = rte_zmalloc_socket("vfw_neigh", sizeof(*t), RTE_CACHE_LINE_SIZE,
			       socket);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->hot.capacity = capacity;
	t->hot.ent = rte_zmalloc_socket("vfw_neigh_ent",
				    (size_t)capacity * sizeof(*t->hot.ent),
				    RTE_CACHE_LINE_SIZE, socket);
	if (t->hot.ent == NULL) {
		err = ENOMEM;
		goto fail;
	}

	memset(&hp, 0, sizeof(hp));
	hp.name = hname;
	hp.entries = capacity;
	hp.key_len = sizeof(uint32_t);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = socket;
	/*
	 * EXT_TABLE: every one of capacity keys fits, so "full" means full
	 * and not "unlucky cuckoo path". Key positions stay < capacity since
	 * there is a single writer (no per-lcore slot caches).
	 */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	for (attempt = 0; attempt < 16; attempt++) {
		uint32_t seq = __atomic_fetch_add(&neigh_seq, 1,
						  __ATOMIC_RELAXED);

		snprintf(hname, sizeof(hname), "vn%x_%s", seq, name);
		t->h = rte_hash_create(&hp);
		if (t->h != NULL || rte_errno != EEXIST)
			break;
	}
	if (t->h == NULL) {
		err = rte_errno;
		goto fail;
	}

	if (qsv != NULL) {
		/* Defaults: the defer queue holds every entry and reclaims
		 * whatever is past its grace period on each delete, and the
		 * add path reclaims before it reports -ENOSPC. */
		struct rte_hash_rcu_config rc = {
			.v = qsv,
			.mode = RTE_HASH_QSBR_MODE_DQ,
		};

		if (rte_hash_rcu_qsbr_add(t->h, &rc) != 0) {
			err = rte_errno;
			goto fail;
		}
		t->deferred = true;
	}
	return t;

fail:
	vfw_neigh_free(t);
	rte_errno = err;
	return NULL;
}

void
vfw_neigh_free(struct vfw_neigh_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->h);
	rte_free(t->hot.ent);
	rte_free(t);
}

int
vfw_neigh_find(const struct vfw_neigh_table *t, uint32_t ip_be)
{
	int32_t pos = rte_hash_lookup(t->h, &ip_be);

	return pos >= 0 ? pos : -ENOENT;
}

void
vfw_neigh_find_bulk(const struct vfw_neigh_table *t, const uint32_t *ip_be,
		    int32_t *slots, unsigned int n)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned int i, k;

	while (n > 0) {
		k = RTE_MIN(n, (unsigned int)RTE_HASH_LOOKUP_BULK_MAX);
		for (i = 0; i < k; i++)
			keys[i] = &ip_be[i];
		if (rte_hash_lookup_bulk(t->h, keys, k, slots) != 0) {
			for (i = 0; i < k; i++)
				slots[i] = -1;
		} else {
			for (i = 0; i < k; i++)
				slots[i] = slots[i] < 0 ? -1 : slots[i];
		}
		ip_be += k;
		slots += k;
		n -= k;
	}
}

int
vfw_neigh_mac(const struct vfw_neigh_table *t, int32_t slot, uint32_t ip_be,
	      struct rte_ether_addr *mac)
{
	uint64_t w;

	if (!vfw_neigh_mac_word(t, slot, ip_be, &w))
		return 0;
	word_mac(w, mac);
	return 1;
}

/* Create the entry of a new key. The hash publishes the key before the
 * entry is filled in; a reader finding it meanwhile sees a FREE word. */
static int
entry_insert(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
	     uint64_t w, uint64_t now)
{
	struct vfw_neigh_entry_ *e;
	int32_t pos;

	pos = rte_hash_add_key(t->h, &ip_be);
	if (pos < 0)
		return pos;
	if (unlikely(!slot_ok(t, pos))) {
		/* Cannot happen with one writer; refuse rather than
		 * write out of bounds. */
		rte_hash_del_key(t->h, &ip_be);
		if (!t->deferred)
			rte_hash_free_key_with_position(t->h, pos);
		return -ENOSPC;
	}
	e = &t->hot.ent[pos];
	e->port = port;
	e->updated = now;
	e->probes = 0;
	__atomic_store_n(&e->ip, ip_be, __ATOMIC_RELAXED);
	entry_publish(e, w);
	return pos;
}

static bool
mac_ok(const struct rte_ether_addr *mac)
{
	return mac != NULL && rte_is_valid_assigned_ether_addr(mac);
}

int
vfw_neigh_add_static(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
		     const struct rte_ether_addr *mac)
{
	uint64_t now = rte_get_tsc_cycles();
	struct vfw_neigh_entry_ *e;
	int32_t pos;

	if (ip_be == 0 || !mac_ok(mac))
		return -EINVAL;
	pos = rte_hash_lookup(t->h, &ip_be);
	if (pos >= 0) {
		/* The operator's word beats whatever we learned. */
		e = &t->hot.ent[pos];
		e->port = port;
		e->updated = now;
		e->probes = 0;
		entry_publish(e, make_word(mac, VFW_NEIGH_STATIC));
		return 0;
	}
	pos = entry_insert(t, port, ip_be, make_word(mac, VFW_NEIGH_STATIC),
			   now);
	return pos < 0 ? pos : 0;
}

int
vfw_neigh_del(struct vfw_neigh_table *t, uint32_t ip_be)
{
	struct vfw_neigh_entry_ *e;
	int32_t pos;

	pos = rte_hash_del_key(t->h, &ip_be);
	if (pos < 0)
		return -ENOENT;
	e = &t->hot.ent[pos];
	/* Unusable at once; the slot itself is handed out again only when
	 * the hash frees key position pos: after the grace period with RCU,
	 * or right below without. */
	entry_publish(e, make_word(NULL, VFW_NEIGH_FREE));
	__atomic_store_n(&e->ip, 0, __ATOMIC_RELAXED);
	e->port = 0;
	e->updated = 0;
	e->probes = 0;
	if (!t->deferred)
		rte_hash_free_key_with_position(t->h, pos);
	return 0;
}

int
vfw_neigh_resolve(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
		  uint64_t now)
{
	int32_t pos;

	if (ip_be == 0)
		return -EINVAL;
	pos = rte_hash_lookup(t->h, &ip_be);
	if (pos >= 0)
		return pos;
	return entry_insert(t, port, ip_be,
			    make_word(NULL, VFW_NEIGH_INCOMPLETE), now);
}

int
vfw_neigh_learn(struct vfw_neigh_table *t, uint8_t port, uint32_t ip_be,
		const struct rte_ether_addr *mac, uint64_t now)
{
	struct vfw_neigh_entry_ *e;
	int32_t pos;

	if (!mac_ok(mac))
		return 0;
	/* Only addresses we asked for: an unsolicited reply creates
	 * nothing, so it cannot poison the table or fill it. */
	pos = rte_hash_lookup(t->h, &ip_be);
	if (pos < 0)
		return 0;
	e = &t->hot.ent[pos];
	switch (entry_state(e)) {
	case VFW_NEIGH_INCOMPLETE:
	case VFW_NEIGH_FAILED:
	case VFW_NEIGH_REACHABLE:
		break;
	default:
		return 0;
	}
	/* A reply on the other port than the one we resolve on is not the
	 * answer to our request. */
	if (e->port != port)
		return 0;
	e->updated = now;
	e->probes = 0;
	entry_publish(e, make_word(mac, VFW_NEIGH_REACHABLE));
	return 1;
}

void
vfw_neigh_probe_sent(struct vfw_neigh_table *t, int32_t slot, uint64_t now)
{
	struct vfw_neigh_entry_ *e;
	enum vfw_neigh_state st;

	if (!slot_ok(t, slot))
		return;
	e = &t->hot.ent[slot];
	st = entry_state(e);
	if (st == VFW_NEIGH_FREE || st == VFW_NEIGH_STATIC)
		return;
	e->probes++;
	e->updated = now;
}

void
vfw_neigh_set_failed(struct vfw_neigh_table *t, int32_t slot, uint64_t now)
{
	struct vfw_neigh_entry_ *e;
	enum vfw_neigh_state st;

	if (!slot_ok(t, slot))
		return;
	e = &t->hot.ent[slot];
	st = entry_state(e);
	if (st == VFW_NEIGH_FREE || st == VFW_NEIGH_STATIC)
		return;
	e->updated = now;
	entry_publish(e, make_word(NULL, VFW_NEIGH_FAILED));
}

int
vfw_neigh_get(const struct vfw_neigh_table *t, int32_t slot,
	      struct vfw_neigh_info *info)
{
	const struct vfw_neigh_entry_ *e;
	uint64_t w;

	if (!slot_ok(t, slot))
		return -EINVAL;
	e = &t->hot.ent[slot];
	w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
	if (word_state(w) == VFW_NEIGH_FREE)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->ip = __atomic_load_n(&e->ip, __ATOMIC_RELAXED);
	info->port = e->port;
	info->state = word_state(w);
	word_mac(w, &info->mac);
	info->updated = e->updated;
	info->probes = e->probes;
	return 0;
}

int32_t
vfw_neigh_next(const struct vfw_neigh_table *t, int32_t from)
{
	uint32_t s;

	for (s = from < 0 ? 0 : (uint32_t)from; s < t->hot.capacity; s++)
		if (entry_state(&t->hot.ent[s]) != VFW_NEIGH_FREE)
			return (int32_t)s;
	return -1;
}

unsigned int
vfw_neigh_capacity(const struct vfw_neigh_table *t)
{
	return t == NULL ? 0 : t->hot.capacity;
}
