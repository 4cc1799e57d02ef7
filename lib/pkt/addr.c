/* SPDX-License-Identifier: BSD-3-Clause */
/* Address and prefix helpers shared by every library, and drop names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vnetfw/common.h"

#define VFW_DROP_NAME_(e, s) [VFW_DROP_##e] = s,
static const char *const drop_names[VFW_DROP_MAX] = {
	[VFW_DROP_NONE] = "none",
	VFW_DROP_REASONS(VFW_DROP_NAME_)
};
#undef VFW_DROP_NAME_

const char *
vfw_drop_name(enum vfw_drop d)
{
	if ((unsigned int)d >= VFW_DROP_MAX || drop_names[d] == NULL)
		return "?";
	return drop_names[d];
}

const char *
vfw_ip_str(const struct vfw_ip *ip, char *buf, size_t len)
{
	if (ip->af == VFW_AF_INET6)
		return inet_ntop(AF_INET6, ip->v6, buf, len) ? buf : "?";
	return inet_ntop(AF_INET, &ip->v4, buf, len) ? buf : "?";
}

const char *
vfw_prefix_str(const struct vfw_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", vfw_ip_str(&p->ip, a, sizeof(a)), p->len);
	return buf;
}

int
vfw_ip_parse(const char *s, struct vfw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (s == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		ip->af = VFW_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->v6) == 1) {
		ip->af = VFW_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* Mask of the first len bits of 32-bit word i of an address (network order). */
static uint32_t
word_mask(unsigned int len, unsigned int i)
{
	unsigned int bits;

	if (len <= i * 32)
		return 0;
	bits = len - i * 32;
	if (bits >= 32)
		return 0xffffffffu;
	return htonl(~0u << (32 - bits));
}

int
vfw_prefix_parse(const char *s, struct vfw_prefix *p)
{
	char buf[64];
	const char *slash;
	char *end;
	unsigned long len;
	unsigned int i, words, max;
	int host_bits = 0;

	memset(p, 0, sizeof(*p));
	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL) {
		if (vfw_ip_parse(s, &p->ip) < 0)
			return -EINVAL;
		p->len = p->ip.af == VFW_AF_INET ? 32 : 128;
		return 0;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (vfw_ip_parse(buf, &p->ip) < 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	max = p->ip.af == VFW_AF_INET ? 32 : 128;
	if (errno != 0 || *end != '\0' || len > max || end - (slash + 1) > 3)
		return -EINVAL;
	p->len = (uint8_t)len;
	words = p->ip.af == VFW_AF_INET ? 1 : 4;
	for (i = 0; i < words; i++)
		if (p->ip.w[i] & ~word_mask(p->len, i))
			host_bits = 1;
	return host_bits ? -EDOM : 0;
}

bool
vfw_prefix_contains(const struct vfw_prefix *p, const struct vfw_ip *ip)
{
	unsigned int i, words;

	if (p->ip.af != ip->af)
		return false;
	words = ip->af == VFW_AF_INET ? 1 : 4;
	for (i = 0; i < words; i++) {
		uint32_t m = word_mask(p->len, i);

		if ((p->ip.w[i] & m) != (ip->w[i] & m))
			return false;
	}
	return true;
}

bool
vfw_ip_equal(const struct vfw_ip *a, const struct vfw_ip *b)
{
	if (a->af != b->af)
		return false;
	if (a->af == VFW_AF_INET)
		return a->v4 == b->v4;
	return memcmp(a->v6, b->v6, 16) == 0;
}
