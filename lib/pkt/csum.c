/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Full (non-incremental) checksums, for tests and for packets the appliance
 * builds itself (ICMP errors, echo replies). The data
 * path updates checksums incrementally with vfw_csum_update16/32 (pkt.h).
 *
 * Both functions treat the checksum field itself as zero, so a caller can
 * compute over a header whose field still holds the old value, and compare
 * or store the result directly.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "vnetfw/pkt.h"

#define IP4_CSUM_OFF 10u

/* Sum of [buf, buf+len) leaving out the 16-bit field at field_off, if the
 * field lies inside. field_off is even, so word alignment is preserved. */
static uint32_t
sum_skip_field(const uint8_t *buf, unsigned int len, unsigned int field_off,
	       uint32_t sum)
{
	if (len < field_off + 2)
		return __rte_raw_cksum(buf, len, sum);
	sum = __rte_raw_cksum(buf, field_off, sum);
	return __rte_raw_cksum(buf + field_off + 2, len - field_off - 2, sum);
}

uint16_t
vfw_ip4_csum(const void *hdr, unsigned int hdr_len)
{
	uint32_t sum = sum_skip_field(hdr, hdr_len, IP4_CSUM_OFF, 0);

	return (uint16_t)~__rte_raw_cksum_reduce(sum);
}

uint16_t
vfw_l4_csum4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
	     const void *l4, unsigned int l4_len)
{
	unsigned int field_off;
	uint32_t sum = 0;
	uint16_t csum;

	switch (proto) {
	case IPPROTO_TCP:
		field_off = 16;
		break;
	case IPPROTO_UDP:
		field_off = 6;
		break;
	case IPPROTO_ICMP:
		field_off = 2;
		break;
	default:
		/* No known field: sum everything (caller zeroes its field). */
		field_off = UINT16_MAX;
		break;
	}
	/* ICMPv4 has no pseudo-header (RFC 792); TCP and UDP do (RFC 793/768). */
	if (proto != IPPROTO_ICMP) {
		sum += (src_be >> 16) + (src_be & 0xffff);
		sum += (dst_be >> 16) + (dst_be & 0xffff);
		sum += rte_cpu_to_be_16(proto);
		sum += rte_cpu_to_be_16((uint16_t)l4_len);
	}
	sum = sum_skip_field(l4, l4_len, field_off, sum);
	csum = (uint16_t)~__rte_raw_cksum_reduce(sum);
	/* In UDP a zero checksum means "none"; a computed 0 is sent as -0. */
	if (proto == IPPROTO_UDP && csum == 0)
		csum = 0xffff;
	return csum;
}

/*
 * One's-complement sum of a short buffer in memory order (the sum is
 * byte-order independent, RFC 1071), 32 bits at a time into 64. DPDK's
 * __rte_raw_cksum() takes 16 bits a step and is vectorised with a set-up
 * that costs more than the whole sum of a 20 to 60-byte L4 header.
 */
static inline uint64_t
sum32(const uint8_t *p, uint32_t len, uint64_t s)
{
	uint32_t v32;
	uint16_t v16;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&v32, p, 4);
		s += v32;
	}
	if (len >= 2) {
		memcpy(&v16, p, 2);
		s += v16;
		p += 2;
		len -= 2;
	}
	if (len)	/* a last odd byte, padded with a zero byte */
		s += rte_cpu_to_be_16((uint16_t)(*p << 8));
	return s;
}

static inline uint16_t
fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return __rte_raw_cksum_reduce((uint32_t)s);
}

/*
 * The sum of len bytes from off across the segments of m. Not DPDK's
 * rte_raw_cksum_mbuf(): 22.11's truncates its partial sum to 16 bits
 * before swapping the bytes of a piece that starts at an odd offset, and
 * gets a wrong sum for a segment boundary there. Here each piece is
 * folded first; a piece at an odd offset contributes its bytes swapped
 * (RFC 1071, byte-order independence).
 */
static int
sum_segments(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint64_t *out)
{
	uint64_t s = 0;
	uint32_t done = 0;

	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	for (; m != NULL && done < len; m = m->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len - off, len - done);
		uint16_t piece = fold64(sum32(rte_pktmbuf_mtod_offset(m, const uint8_t *,
								      off), n, 0));

		s += (done & 1) ? rte_bswap16(piece) : piece;
		done += n;
	}
	if (done < len)
		return -1;
	*out = s;
	return 0;
}

bool
vfw_pkt_l4_csum_ok(const struct rte_mbuf *m, const struct vfw_pkt_meta *meta)
{
	const uint8_t *ip;
	uint32_t l4_len, src, dst;
	uint64_t sum;
	uint8_t proto = meta->key.proto;

	/* The port checked it (GOOD), or the data is known good (NONE). */
	if (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return true;
	/* A fragment's checksum covers the whole datagram; UDP may have none. */
	if (meta->key.af != VFW_AF_INET || meta->cls != VFW_PC_IP ||
	    (meta->flags & (VFW_PF_FRAG | VFW_PF_L4_CSUM_0)) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP))
		return true;
	ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l2_len);
	/* the parser bounded total_length by the frame */
	l4_len = (uint32_t)((ip[2] << 8) | ip[3]) - meta->l3_len;
	if (likely(l4_len <= meta->l4_len))
		/* all in the first segment, as it nearly always is */
		sum = sum32(ip + meta->l3_len, l4_len, 0);
	else if (sum_segments(m, (uint32_t)meta->l2_len + meta->l3_len, l4_len,
			      &sum) < 0)
		return false;
	/* ICMPv4 has no pseudo-header (RFC 792); TCP and UDP do: both
	 * addresses (memory order, as the data), protocol and length. */
	if (proto != IPPROTO_ICMP) {
		memcpy(&src, ip + 12, 4);
		memcpy(&dst, ip + 16, 4);
		sum += (uint64_t)src + dst + rte_cpu_to_be_16(proto) +
		       rte_cpu_to_be_16((uint16_t)l4_len);
	}
	/* the sum over the data and its checksum is -0 when they agree */
	return fold64(sum) == 0xffff;
}
