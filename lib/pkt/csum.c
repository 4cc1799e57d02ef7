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
