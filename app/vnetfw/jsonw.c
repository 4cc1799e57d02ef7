/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal JSON output helpers for replies and telemetry. */
#include <arpa/inet.h>

#include "vnetfw.h"

void
vfw_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void
vfw_json_ip(FILE *out, uint32_t ip_be)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip_be, buf, sizeof(buf));
	fprintf(out, "\"%s\"", buf);
}

void
vfw_json_mac(FILE *out, const struct rte_ether_addr *mac)
{
	char buf[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(buf, sizeof(buf), mac);
	fprintf(out, "\"%s\"", buf);
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: return NULL;
	}
}

void
vfw_json_key(FILE *out, const struct vfw_flow_key *k)
{
	struct vfw_ip a = { .af = k->af }, b = { .af = k->af };
	char sa[64], sb[64];
	const char *pn = proto_name(k->proto);

	memcpy(a.w, k->src, sizeof(a.w));
	memcpy(b.w, k->dst, sizeof(b.w));
	fputs("{\"protocol\":", out);
	if (pn != NULL)
		fprintf(out, "\"%s\"", pn);
	else
		fprintf(out, "%u", k->proto);
	fprintf(out, ",\"source\":\"%s\",\"source_port\":%u,"
		"\"destination\":\"%s\",\"destination_port\":%u}",
		vfw_ip_str(&a, sa, sizeof(sa)), rte_be_to_cpu_16(k->sport),
		vfw_ip_str(&b, sb, sizeof(sb)), rte_be_to_cpu_16(k->dport));
}
