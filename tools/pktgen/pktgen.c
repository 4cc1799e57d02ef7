/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfw-pktgen: writes a pcap of IPv4 test traffic for the vnetfw rigs.
 *
 * N distinct flows (unique 5-tuples) drawn from a source and a destination
 * prefix, a TCP/UDP/ICMP mix, fixed or IMIX frame sizes, one direction per
 * file ("vnet": internet -> cluster, "cluster": cluster -> internet). The
 * packets of the file visit the flows round robin, so a file of P packets
 * replayed forever (net_pcap infinite_rx=1) offers every flow P/N times
 * per lap. Headers and checksums are valid, the output is a pure function
 * of the options (fixed timestamps, seeded generator), so two runs with the
 * same options write the same bytes.
 *
 * It needs libpcap only, no DPDK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define MAX_FRAME 9018          /* jumbo frame with FCS */
#define MIN_FRAME 64            /* Ethernet minimum, with FCS */
#define FCS_LEN 4
#define ETH_HLEN 14
#define IP_HLEN 20
#define TCP_HLEN 20
#define MAX_PORT_RANGES 64
#define MAX_FLOWS (16u << 20)

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Simple IMIX (7:4:1 of 64, 570 and 1518 byte frames), by packet index. */
static const uint16_t imix[] = {
	64, 570, 64, 64, 1518, 64, 570, 64, 64, 570, 64, 570,
};

static const char *prog = "vfw-pktgen";

struct prefix {
	uint32_t net;           /* host order */
	unsigned int len;
};

struct port_range {
	uint16_t lo, hi;
};

struct port_list {
	struct port_range r[MAX_PORT_RANGES];
	unsigned int n;
};

struct flow {
	uint32_t src, dst;      /* host order */
	uint16_t sport, dport;  /* ICMP: sport is the echo identifier */
	uint8_t proto;
};

struct opts {
	const char *out;
	uint32_t flows;
	uint64_t packets;
	unsigned int size;      /* 0 = IMIX */
	const char *dir;
	unsigned int w_tcp, w_udp, w_icmp;
	struct prefix src_net, dst_net;
	struct port_list sports, dports;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t tcp_flags;
	uint8_t ttl;
	uint64_t seed;
	bool quiet;
};

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: vfw-pktgen --out FILE [OPTIONS]\n"
"\n"
"Writes a pcap of IPv4 test traffic: N distinct flows, visited round robin.\n"
"\n"
"  -o, --out FILE        pcap to write (required)\n"
"  -f, --flows N         distinct flows (default 4000)\n"
"  -n, --packets N       packets in the file (default: one per flow)\n"
"  -s, --size BYTES|imix Ethernet frame size including the 4-byte FCS, as\n"
"                        in RFC 2544 (64 writes 60-byte records); imix is\n"
"                        7:4:1 of 64/570/1518 (default 64)\n"
"  -d, --dir vnet|cluster\n"
"                        direction; sets the defaults below (default vnet)\n"
"                          vnet:    100.64.0.0/10 -> 10.244.0.0/16,\n"
"                                   02:00:00:00:01:01 -> 02:00:00:00:00:01\n"
"                          cluster: 10.244.0.0/16 -> 100.64.0.0/10,\n"
"                                   02:00:00:00:02:10 -> 02:00:00:00:00:02\n"
"  -p, --proto udp|tcp|icmp|mix|T:U:I\n"
"                        protocol of the flows; mix is 6:3:1 TCP:UDP:ICMP,\n"
"                        T:U:I gives other weights (default udp)\n"
"      --src-net CIDR    source prefix of the flows\n"
"      --dst-net CIDR    destination prefix of the flows\n"
"      --sports LIST     source ports, e.g. 32768-60999 (the default)\n"
"      --dports LIST     destination ports, e.g. 80,443,8000-8999\n"
"                        (default 80,443,8080,30000-32767)\n"
"      --src-mac MAC     Ethernet source\n"
"      --dst-mac MAC     Ethernet destination (the receiving port's MAC)\n"
"      --tcp-flags ack|syn|psh-ack\n"
"                        flags of every TCP packet (default ack: mid-stream,\n"
"                        which a firewall must allow to pick up, e.g. vnetfw\n"
"                        conntrack.tcp_loose)\n"
"      --ttl N           IPv4 TTL (default 64)\n"
"      --seed N          generator seed (default 1)\n"
"  -q, --quiet           no summary on stderr\n"
"  -h, --help            this text\n");
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* splitmix64: small, fast and good enough to spread test flows. */
static uint64_t
rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max)
		die("%s: '%s' is not a number in %" PRIu64 "-%" PRIu64, opt, s,
		    min, max);
	return v;
}

static void
parse_prefix(const char *opt, const char *s, struct prefix *p)
{
	char buf[64], *slash;
	struct in_addr a;
	unsigned long len = 32;

	if (strlen(s) >= sizeof(buf))
		die("%s: '%s' is not an IPv4 prefix", opt, s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		len = parse_u64(opt, slash + 1, 0, 32);
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		die("%s: '%s' is not an IPv4 prefix (A.B.C.D/LEN)", opt, s);
	p->len = (unsigned int)len;
	p->net = ntohl(a.s_addr) & (len == 0 ? 0 : ~0u << (32 - len));
}

static void
parse_mac(const char *opt, const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6)
		die("%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", opt, s);
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			die("%s: '%s' is not a MAC address", opt, s);
		mac[i] = (uint8_t)b[i];
	}
}

static void
parse_ports(const char *opt, const char *s, struct port_list *pl)
{
	char buf[1024], *tok, *save = NULL, *dash;
	struct port_range *r;

	if (strlen(s) >= sizeof(buf))
		die("%s: list too long", opt);
	strcpy(buf, s);
	pl->n = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (pl->n == MAX_PORT_RANGES)
			die("%s: more than %d entries", opt, MAX_PORT_RANGES);
		r = &pl->r[pl->n++];
		dash = strchr(tok, '-');
		if (dash != NULL) {
			*dash = '\0';
			r->lo = (uint16_t)parse_u64(opt, tok, 1, 65535);
			r->hi = (uint16_t)parse_u64(opt, dash + 1, 1, 65535);
			if (r->hi < r->lo)
				die("%s: range %u-%u is out of order", opt,
				    r->lo, r->hi);
		} else {
			r->lo = r->hi = (uint16_t)parse_u64(opt, tok, 1, 65535);
		}
	}
	if (pl->n == 0)
		die("%s: empty port list", opt);
}

/* An entry of the list uniformly, then a port of that entry: "80,443,
 * 30000-32767" gives 80 and 443 a third of the flows each. */
static uint16_t
pick_port(const struct port_list *pl, uint64_t r)
{
	const struct port_range *e = &pl->r[r % pl->n];
	uint32_t span = (uint32_t)(e->hi - e->lo) + 1;

	return (uint16_t)(e->lo + (uint32_t)((r / pl->n) % span));
}

static uint64_t
port_count(const struct port_list *pl)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < pl->n; i++)
		n += (uint64_t)(pl->r[i].hi - pl->r[i].lo) + 1;
	return n;
}

/* A host address of the prefix; avoids the network and broadcast
 * addresses when the prefix has more than two. */
static uint32_t
pick_addr(const struct prefix *p, uint64_t r)
{
	uint64_t span = 1ull << (32 - p->len);

	if (span > 2)
		return p->net + 1 + (uint32_t)(r % (span - 2));
	return p->net + (uint32_t)(r % span);
}

static void
parse_proto(const char *s, struct opts *o)
{
	unsigned int t, u, i;
	char tail;

	o->w_tcp = o->w_udp = o->w_icmp = 0;
	if (strcmp(s, "udp") == 0)
		o->w_udp = 1;
	else if (strcmp(s, "tcp") == 0)
		o->w_tcp = 1;
	else if (strcmp(s, "icmp") == 0)
		o->w_icmp = 1;
	else if (strcmp(s, "mix") == 0) {
		o->w_tcp = 6;
		o->w_udp = 3;
		o->w_icmp = 1;
	} else if (sscanf(s, "%u:%u:%u%c", &t, &u, &i, &tail) == 3 &&
		   t + u + i > 0 && t <= 1000 && u <= 1000 && i <= 1000) {
		o->w_tcp = t;
		o->w_udp = u;
		o->w_icmp = i;
	} else {
		die("--proto: '%s' is not udp, tcp, icmp, mix or T:U:I", s);
	}
}

/* Open addressing set of flow tuples, to keep the flows distinct. */
struct tuple_set {
	uint64_t *slot;         /* 0 = empty; keys are never 0 (see flow_key()) */
	uint64_t mask;
};

static uint64_t
flow_key(const struct flow *f)
{
	uint64_t k = ((uint64_t)f->src << 32) ^ f->dst;

	k ^= ((uint64_t)f->sport << 40) ^ ((uint64_t)f->dport << 16) ^
	     ((uint64_t)f->proto << 56);
	k *= 0x9e3779b97f4a7c15ull;
	return k | 1;
}

/* True if the key was new; flow_key() is not injective, so a rare false
 * "duplicate" only costs another draw. */
static bool
set_insert(struct tuple_set *s, uint64_t k)
{
	uint64_t i = (k >> 7) & s->mask;

	while (s->slot[i] != 0) {
		if (s->slot[i] == k)
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = k;
	return true;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Writes one frame of frame_len bytes (no FCS) into buf. */
static void
build_frame(uint8_t *buf, unsigned int frame_len, const struct flow *f,
	    uint16_t ip_id, const struct opts *o)
{
	uint8_t *ip = buf + ETH_HLEN, *l4 = ip + IP_HLEN;
	unsigned int ip_len = frame_len - ETH_HLEN;
	unsigned int l4_len = ip_len - IP_HLEN;
	uint32_t sum;

	memset(buf, 0, frame_len);
	memcpy(buf, o->dst_mac, 6);
	memcpy(buf + 6, o->src_mac, 6);
	put16(buf + 12, 0x0800);

	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 4, ip_id);
	put16(ip + 6, 0x4000);  /* DF */
	ip[8] = o->ttl;
	ip[9] = f->proto;
	put32(ip + 12, f->src);
	put32(ip + 16, f->dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));

	switch (f->proto) {
	case PROTO_TCP:
		put16(l4, f->sport);
		put16(l4 + 2, f->dport);
		put32(l4 + 4, f->src ^ f->dst ^ 0x5eed0000u);   /* seq */
		if (o->tcp_flags & TCP_ACK)
			put32(l4 + 8, f->dst ^ 0x0badcafeu);
		l4[12] = 5 << 4;
		l4[13] = o->tcp_flags;
		put16(l4 + 14, 65535);
		break;
	case PROTO_UDP:
		put16(l4, f->sport);
		put16(l4 + 2, f->dport);
		put16(l4 + 4, (uint16_t)l4_len);
		break;
	default:
		l4[0] = 8;      /* echo request */
		put16(l4 + 4, f->sport);
		put16(l4 + 6, 1);
		break;
	}
	if (f->proto == PROTO_ICMP) {
		sum = 0;
	} else {
		/* pseudo header */
		sum = csum_add(0, ip + 12, 8);
		sum += f->proto;
		sum += l4_len;
	}
	sum = csum_add(sum, l4, l4_len);
	put16(l4 + (f->proto == PROTO_TCP ? 16 : f->proto == PROTO_UDP ? 6 : 2),
	      f->proto == PROTO_UDP && csum_fold(sum) == 0 ? 0xffff :
							       csum_fold(sum));
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_SRC_NET = 256, O_DST_NET, O_SPORTS, O_DPORTS, O_SRC_MAC,
		O_DST_MAC, O_TCP_FLAGS, O_TTL, O_SEED,
	};
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "flows", required_argument, NULL, 'f' },
		{ "packets", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "proto", required_argument, NULL, 'p' },
		{ "src-net", required_argument, NULL, O_SRC_NET },
		{ "dst-net", required_argument, NULL, O_DST_NET },
		{ "sports", required_argument, NULL, O_SPORTS },
		{ "dports", required_argument, NULL, O_DPORTS },
		{ "src-mac", required_argument, NULL, O_SRC_MAC },
		{ "dst-mac", required_argument, NULL, O_DST_MAC },
		{ "tcp-flags", required_argument, NULL, O_TCP_FLAGS },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "seed", required_argument, NULL, O_SEED },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *src_net = NULL, *dst_net = NULL, *src_mac = NULL;
	const char *dst_mac = NULL, *sports = "32768-60999";
	const char *dports = "80,443,8080,30000-32767";
	int c;

	memset(o, 0, sizeof(*o));
	o->flows = 4000;
	o->size = MIN_FRAME;
	o->dir = "vnet";
	o->w_udp = 1;
	o->tcp_flags = TCP_ACK;
	o->ttl = 64;
	o->seed = 1;
	while ((c = getopt_long(argc, argv, "o:f:n:s:d:p:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'f':
			o->flows = (uint32_t)parse_u64("--flows", optarg, 1,
						       MAX_FLOWS);
			break;
		case 'n':
			o->packets = parse_u64("--packets", optarg, 1,
					       UINT64_C(1) << 32);
			break;
		case 's':
			if (strcmp(optarg, "imix") == 0)
				o->size = 0;
			else
				o->size = (unsigned int)parse_u64("--size",
						optarg, MIN_FRAME, MAX_FRAME);
			break;
		case 'd':
			if (strcmp(optarg, "vnet") != 0 &&
			    strcmp(optarg, "cluster") != 0)
				die("--dir: '%s' is not vnet or cluster",
				    optarg);
			o->dir = optarg;
			break;
		case 'p':
			parse_proto(optarg, o);
			break;
		case O_SRC_NET:
			src_net = optarg;
			break;
		case O_DST_NET:
			dst_net = optarg;
			break;
		case O_SPORTS:
			sports = optarg;
			break;
		case O_DPORTS:
			dports = optarg;
			break;
		case O_SRC_MAC:
			src_mac = optarg;
			break;
		case O_DST_MAC:
			dst_mac = optarg;
			break;
		case O_TCP_FLAGS:
			if (strcmp(optarg, "ack") == 0)
				o->tcp_flags = TCP_ACK;
			else if (strcmp(optarg, "syn") == 0)
				o->tcp_flags = TCP_SYN;
			else if (strcmp(optarg, "psh-ack") == 0)
				o->tcp_flags = TCP_PSH | TCP_ACK;
			else
				die("--tcp-flags: '%s' is not ack, syn or psh-ack",
				    optarg);
			break;
		case O_TTL:
			o->ttl = (uint8_t)parse_u64("--ttl", optarg, 1, 255);
			break;
		case O_SEED:
			o->seed = parse_u64("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->out == NULL)
		die("--out FILE is required (see --help)");

	if (strcmp(o->dir, "vnet") == 0) {
		parse_prefix("--src-net", src_net ? src_net : "100.64.0.0/10",
			     &o->src_net);
		parse_prefix("--dst-net", dst_net ? dst_net : "10.244.0.0/16",
			     &o->dst_net);
		parse_mac("--src-mac", src_mac ? src_mac : "02:00:00:00:01:01",
			  o->src_mac);
		parse_mac("--dst-mac", dst_mac ? dst_mac : "02:00:00:00:00:01",
			  o->dst_mac);
	} else {
		parse_prefix("--src-net", src_net ? src_net : "10.244.0.0/16",
			     &o->src_net);
		parse_prefix("--dst-net", dst_net ? dst_net : "100.64.0.0/10",
			     &o->dst_net);
		parse_mac("--src-mac", src_mac ? src_mac : "02:00:00:00:02:10",
			  o->src_mac);
		parse_mac("--dst-mac", dst_mac ? dst_mac : "02:00:00:00:00:02",
			  o->dst_mac);
	}
	parse_ports("--sports", sports, &o->sports);
	parse_ports("--dports", dports, &o->dports);
	if (o->packets == 0)
		o->packets = o->flows;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct tuple_set set;
	struct flow *flows;
	uint64_t state, i, space, cap, tries = 0;
	uint64_t n_proto[3] = { 0 }, bytes = 0;
	unsigned int w_total, min_len;
	pcap_t *pd;
	pcap_dumper_t *dump;
	uint8_t *buf;

	parse_args(argc, argv, &o);

	/* Distinct tuples must exist: an upper bound of the tuple space. */
	space = (1ull << (32 - o.src_net.len)) * (1ull << (32 - o.dst_net.len)) *
		port_count(&o.sports) * port_count(&o.dports) *
		(unsigned int)(!!o.w_tcp + !!o.w_udp + !!o.w_icmp);
	if (space < o.flows)
		die("%u flows do not fit in these prefixes, ports and protocols "
		    "(at most %" PRIu64 " distinct tuples); widen a prefix or a "
		    "port list", o.flows, space);

	flows = calloc(o.flows, sizeof(*flows));
	for (cap = 1024; cap < 2ull * o.flows; cap <<= 1)
		;
	set.slot = calloc(cap, sizeof(*set.slot));
	set.mask = cap - 1;
	buf = malloc(MAX_FRAME);
	if (flows == NULL || set.slot == NULL || buf == NULL)
		die("out of memory for %u flows", o.flows);

	/* one stream per direction, so vnet and cluster files differ */
	state = o.seed * 0x2545f4914f6cdd1dull + (o.dir[0] == 'c');
	w_total = o.w_tcp + o.w_udp + o.w_icmp;
	for (i = 0; i < o.flows; i++) {
		struct flow *f = &flows[i];
		unsigned int w;

		do {
			if (++tries > 64ull * o.flows + 1024)
				die("cannot draw %u distinct flows from these "
				    "prefixes and ports; widen them", o.flows);
			w = (unsigned int)(rnd(&state) % w_total);
			f->proto = w < o.w_tcp ? PROTO_TCP :
				   w < o.w_tcp + o.w_udp ? PROTO_UDP :
							   PROTO_ICMP;
			f->src = pick_addr(&o.src_net, rnd(&state));
			f->dst = pick_addr(&o.dst_net, rnd(&state));
			f->sport = pick_port(&o.sports, rnd(&state));
			f->dport = f->proto == PROTO_ICMP ? 0 :
				   pick_port(&o.dports, rnd(&state));
		} while (!set_insert(&set, flow_key(f)));
		n_proto[f->proto == PROTO_TCP ? 0 :
			f->proto == PROTO_UDP ? 1 : 2]++;
	}

	pd = pcap_open_dead(DLT_EN10MB, MAX_FRAME);
	if (pd == NULL)
		die("pcap_open_dead failed");
	dump = pcap_dump_open(pd, o.out);
	if (dump == NULL)
		die("%s: %s", o.out, pcap_geterr(pd));

	min_len = ETH_HLEN + IP_HLEN + TCP_HLEN;
	for (i = 0; i < o.packets; i++) {
		const struct flow *f = &flows[i % o.flows];
		unsigned int frame = o.size ? o.size :
				     imix[i % (sizeof(imix) / sizeof(imix[0]))];
		unsigned int len = frame - FCS_LEN;
		struct pcap_pkthdr h;

		if (len < min_len)      /* not below 64: TCP fits */
			len = min_len;
		build_frame(buf, len, f, (uint16_t)(i / o.flows), &o);
		/* fixed clock: 1 us apart from 2024-01-01, reproducible */
		h.ts.tv_sec = (time_t)(1704067200 + i / 1000000);
		h.ts.tv_usec = (suseconds_t)(i % 1000000);
		h.caplen = h.len = len;
		pcap_dump((u_char *)dump, &h, buf);
		bytes += len;
	}
	if (pcap_dump_flush(dump) != 0)
		die("%s: write failed", o.out);
	pcap_dump_close(dump);
	pcap_close(pd);

	if (!o.quiet)
		fprintf(stderr, "%s: %s: %" PRIu64 " packets, %" PRIu64
			" bytes; %u flows (%" PRIu64 " tcp, %" PRIu64 " udp, %"
			PRIu64 " icmp), dir %s, frames %s\n", prog, o.out,
			o.packets, bytes, o.flows, n_proto[0], n_proto[1],
			n_proto[2], o.dir, o.size ? "fixed" : "imix");
	free(buf);
	free(set.slot);
	free(flows);
	return 0;
}
