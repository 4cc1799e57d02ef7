/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnetfw: EAL and ports, the policy and data plane objects, worker launch,
 * and the control thread (control socket + ARP slow path) on the main lcore.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "vnetfw.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define NEIGH_CAPACITY 4096
/* Static neighbors, old and new during a change, leave room to learn. */
_Static_assert(NEIGH_CAPACITY >= 4 * VFW_CFG_MAX_NEIGHBORS,
	       "the neighbor table must hold twice the static neighbors twice");

static volatile sig_atomic_t quit;
static volatile sig_atomic_t reload;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload = 1;
}

/*
 * SIGHUP: read the config file again and apply it as a control client's
 * "apply" would: validated, published atomically, acknowledged once every
 * worker runs it; nothing changes on any error. The outcome is logged.
 */
static void
reload_config(struct vfw_app *app)
{
	char *doc = NULL, *line = NULL, *reply = NULL;
	size_t dlen = 0, llen = 0, rlen = 0;
	FILE *in, *f, *out;
	char buf[65536];
	size_t n;
	int rc;

	in = fopen(app->config_path, "r");
	if (in == NULL) {
		RTE_LOG(ERR, USER1, "reload: %s: %s; configuration unchanged\n",
			app->config_path, strerror(errno));
		return;
	}
	f = open_memstream(&doc, &dlen);
	if (f == NULL) {
		fclose(in);
		return;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, f);
	fclose(in);
	fclose(f);
	f = open_memstream(&line, &llen);
	out = open_memstream(&reply, &rlen);
	if (f != NULL && out != NULL) {
		fputs("{\"cmd\":\"apply\",\"config\":", f);
		vfw_ctl_json_string(f, doc, dlen);
		fputc('}', f);
		fflush(f);
		RTE_LOG(NOTICE, USER1, "reload: applying %s (SIGHUP)\n",
			app->config_path);
		rc = vfw_ctl_handle_line(app->ctl, line, llen, out);
		fflush(out);
		while (rlen > 0 && reply[rlen - 1] == '\n')
			reply[--rlen] = '\0';
		if (rc == 0)
			RTE_LOG(NOTICE, USER1, "reload: %s\n", reply);
		else
			/* the document is the file as read, so the
			 * positions ("config:LINE:COL") are the file's */
			RTE_LOG(ERR, USER1, "reload failed, configuration unchanged: "
				"%s (positions config:LINE:COL are in %s)\n",
				reply, app->config_path);
	}
	if (f != NULL)
		fclose(f);
	if (out != NULL)
		fclose(out);
	free(line);
	free(reply);
	free(doc);
}

static void
usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [EAL options] -- -c CONFIG.yaml [--check] [--workers N]\n"
		"\n"
		"vnetfw: stateful firewall, NAT and UDR router on DPDK.\n"
		"\n"
		"  -c, --config FILE   YAML configuration (see docs/configuration.md)\n"
		"      --check         validate the configuration, print every error as\n"
		"                      FILE:LINE:COLUMN: message, and exit (0 valid, 1 not);\n"
		"                      no EAL options are needed and nothing starts\n"
		"  -w, --workers N     worker lcores to use (default: every worker lcore\n"
		"                      the EAL was given); each port needs N tx queues\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n"
		"\n"
		"Ports are DPDK devices named in the config (ports.vnet.device,\n"
		"ports.cluster.device), e.g. --vdev=net_af_packet0,iface=eth1.\n"
		"Stop with SIGINT or SIGTERM: ports are stopped and counters printed.\n"
		"SIGHUP reads CONFIG again and applies it atomically (as vnetfwctl apply).\n"
		"Control: vnetfwctl --socket PATH (control.socket in the config).\n",
		prog);
}

struct opts {
	const char *config;
	bool check;
	unsigned int workers;
};

static int
parse_app_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:w:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'k':
			o->check = true;
			break;
		case 'w':
			errno = 0;
			o->workers = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || o->workers == 0 ||
			    o->workers > VFW_MAX_WORKERS) {
				fprintf(stderr, "vnetfw: --workers must be 1..%u\n",
					VFW_MAX_WORKERS);
				return -1;
			}
			break;
		case 'h':
			usage(stdout, "vnetfw");
			exit(0);
		case 'V':
			printf("vnetfw %s\n", VNETFW_VERSION);
			exit(0);
		default:
			usage(stderr, "vnetfw");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vnetfw: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		fprintf(stderr, "vnetfw: -c CONFIG.yaml is required (see --help)\n");
		return -1;
	}
	return 0;
}

static struct vfw_config *
load_config(const char *path)
{
	struct vfw_errors errs;
	struct vfw_config *cfg;
	unsigned int i;

	vfw_errors_init(&errs);
	cfg = vfw_config_load_file(path, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (cfg == NULL && errs.n == 0)
		fprintf(stderr, "%s: cannot load configuration\n", path);
	vfw_errors_free(&errs);
	return cfg;
}

static void
print_summary(const struct vfw_config *cfg)
{
	printf("%s: configuration is valid: ports vnet=%s cluster=%s, %u security "
	       "rules, %u address sets, %u DNAT, %u SNAT, %u routes, %u neighbors, "
	       "max %u sessions\n",
	       cfg->file ? cfg->file : "config", cfg->ports[VFW_PORT_VNET].device,
	       cfg->ports[VFW_PORT_CLUSTER].device, cfg->n_rules,
	       cfg->n_address_sets, cfg->n_dnat, cfg->n_snat, cfg->n_routes,
	       cfg->n_neighbors, cfg->conntrack.max_sessions);
}

static void
list_ports(void)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	unsigned int n = 0;
	uint16_t pid;

	RTE_ETH_FOREACH_DEV(pid) {
		rte_eth_dev_get_name_by_port(pid, name);
		fprintf(stderr, "  port %u: %s\n", pid, name);
		n++;
	}
	if (n == 0)
		fprintf(stderr, "  none (a --vdev that fails to probe, e.g. a memif socket "
			"already in use, is reported in the EAL lines above)\n");
}

static const char *const role_names[VFW_PORT_MAX] = { "vnet", "cluster" };

/* Ethernet header and one VLAN tag: the L2 part of a frame of MTU bytes. */
#define PORT_L2_OVERHEAD (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
/* net_af_packet's ring frame size without a framesz devarg (DFLT_FRAME_SIZE) */
#define AFP_DEFAULT_FRAMESZ 2048u
/*
 * Where the kernel puts the network header in a TPACKET_V2 ring frame
 * (net/packet/af_packet.c, tpacket_rcv: the frame header, room for a MAC
 * header of at least 16 bytes, aligned): a frame holds an IP packet of up
 * to framesz - AFP_NET_OFFSET bytes (80: 1968 for the default 2048);
 * longer ones arrive cut short.
 */
#define AFP_NET_OFFSET ((uint32_t)TPACKET_ALIGN(TPACKET2_HDRLEN + 16))

static bool
is_af_packet(const struct rte_eth_dev_info *info)
{
	return info->driver_name != NULL &&
	       strcmp(info->driver_name, "net_af_packet") == 0;
}

/*
 * An af_packet port's ring geometry from its devargs: frame size (framesz,
 * default 2048) and block size (blocksz, default the page size). False
 * for other ports.
 */
static bool
af_packet_ring(const struct rte_eth_dev_info *info, uint32_t *framesz,
	       uint32_t *blocksz)
{
	static const char *const keys[2] = { "framesz", "blocksz" };
	const struct rte_devargs *da;
	struct rte_kvargs *kv;
	uint32_t *out[2] = { framesz, blocksz };
	unsigned int i;

	if (!is_af_packet(info))
		return false;
	*framesz = AFP_DEFAULT_FRAMESZ;
	*blocksz = (uint32_t)getpagesize();
	da = info->device != NULL ? rte_dev_devargs(info->device) : NULL;
	if (da == NULL || da->args == NULL)
		return true;
	kv = rte_kvargs_parse(da->args, NULL);
	for (i = 0; kv != NULL && i < RTE_DIM(keys); i++) {
		const char *v = rte_kvargs_get(kv, keys[i]);
		unsigned long x;

		if (v == NULL)
			continue;
		x = strtoul(v, NULL, 0);    /* the PMD takes atoi() */
		*out[i] = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
	}
	rte_kvargs_free(kv);
	return true;
}

/*
 * Data room (headroom included) an mbuf needs to hold the largest frame
 * port can hand over in one buffer. net_af_packet copies each frame of
 * its kernel ring into one mbuf and refuses a pool whose buffers are
 * smaller than a ring frame (rx queue setup fails, ENOMEM); its framesz
 * devarg is what makes large frames possible (the kernel reassembles IPv4
 * fragments for it, see docs/architecture.md), so the pool follows it.
 * Other ports get the default (2048 bytes of data), or a frame of their
 * configured MTU (ports.*.mtu) if that is more.
 */
static uint32_t
port_data_room(const struct rte_eth_dev_info *info, const struct vfw_cfg_port *cp)
{
	uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE, fs, bs;

	if (af_packet_ring(info, &fs, &bs)) {
		/* the PMD's check: frame minus the ring header fits the data */
		if (fs > TPACKET2_HDRLEN && fs < UINT16_MAX)
			room = RTE_MAX(room, (uint32_t)(fs - (TPACKET2_HDRLEN -
						sizeof(struct sockaddr_ll)) +
						RTE_PKTMBUF_HEADROOM));
	} else if (cp->mtu != 0) {
		room = RTE_MAX(room, (uint32_t)cp->mtu + PORT_L2_OVERHEAD +
					     RTE_PKTMBUF_HEADROOM);
	}
	return room;
}

static uint32_t
gcd32(uint32_t a, uint32_t b)
{
	while (b != 0) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * An af_packet port's ring: DPDK's PMD reads frame i at i * framesz, so
 * the kernel must lay frames out back to back: blocksz a multiple of
 * framesz (else receiving stops after the first block). With ports.*.mtu,
 * an IP packet of that size must fit a frame, or every full-size packet
 * would arrive cut short. The error says which framesz and blocksz work
 * (blocksz a multiple of the page size too: the kernel's rule).
 */
static int
af_packet_ring_check(unsigned int r, const struct vfw_cfg_port *cp,
		     const struct rte_eth_dev_info *info)
{
	uint32_t fs, bs, need, fs_ok, bs_ok, page = (uint32_t)getpagesize();

	if (!af_packet_ring(info, &fs, &bs))
		return 0;
	if (fs != 0 && bs >= fs && bs % fs != 0) {
		fprintf(stderr, "vnetfw: ports.%s (%s): blocksz %u is not a multiple "
			"of framesz %u; DPDK's net_af_packet needs frames back to back "
			"(e.g. framesz=%u,blocksz=%u)\n", role_names[r], cp->device,
			bs, fs, fs, (uint32_t)((uint64_t)fs / gcd32(fs, page) * page));
		return -1;
	}
	if (cp->mtu == 0 || fs >= (uint32_t)cp->mtu + AFP_NET_OFFSET)
		return 0;
	need = RTE_ALIGN_CEIL((uint32_t)cp->mtu + AFP_NET_OFFSET, TPACKET_ALIGNMENT);
	/* a suggestion: whole KiB, so that a block of a few frames is a
	 * whole number of pages */
	fs_ok = RTE_ALIGN_CEIL(need, 1024u);
	bs_ok = (uint32_t)((uint64_t)fs_ok / gcd32(fs_ok, page) * page);
	fprintf(stderr, "vnetfw: ports.%s.mtu %u does not fit the ring frames of %s "
		"(net_af_packet): framesz %u holds IP packets of up to %u bytes; "
		"an MTU of %u needs framesz %u or more (a multiple of %u; blocksz "
		"a multiple of framesz and of the page size), e.g. "
		"--vdev=%s,iface=...,framesz=%u,blocksz=%u\n",
		role_names[r], cp->mtu, cp->device, fs,
		fs > AFP_NET_OFFSET ? fs - AFP_NET_OFFSET : 0, cp->mtu, need,
		TPACKET_ALIGNMENT, cp->device, fs_ok, bs_ok);
	return -1;
}

static int
port_lookup(struct vfw_app *app, const struct vfw_config *cfg)
{
	unsigned int r;

	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *cp = &cfg->ports[r];
		struct rte_eth_dev_info info;
		uint16_t pid;
		int rc;

		if (rte_eth_dev_get_port_by_name(cp->device, &pid) != 0) {
			fprintf(stderr, "vnetfw: ports.%s.device '%s' is not a DPDK port. "
				"Ports the EAL found:\n", role_names[r], cp->device);
			list_ports();
			fprintf(stderr, "  (add e.g. --vdev=%s,... to the EAL options, or "
				"bind the NIC to a DPDK driver)\n", cp->device);
			return -1;
		}
		if (r == VFW_PORT_CLUSTER && pid == app->ports[VFW_PORT_VNET].port_id) {
			fprintf(stderr, "vnetfw: vnet and cluster must be different ports\n");
			return -1;
		}
		rc = rte_eth_dev_info_get(pid, &info);
		if (rc != 0) {
			fprintf(stderr, "vnetfw: %s: cannot get device info: %s\n",
				cp->device, strerror(-rc));
			return -1;
		}
		if (info.max_tx_queues < app->n_workers) {
			fprintf(stderr, "vnetfw: ports.%s (%s) has %u tx queues; %u workers "
				"need one each (use fewer --workers, or a device with more "
				"queues, e.g. af_packet qpairs=N, vhost queues=N)\n", role_names[r],
				cp->device, info.max_tx_queues, app->n_workers);
			return -1;
		}
		if (af_packet_ring_check(r, cp, &info) < 0)
			return -1;
		app->data_room = (uint16_t)RTE_MIN(RTE_MAX((uint32_t)app->data_room,
							   port_data_room(&info, cp)),
						   (uint32_t)UINT16_MAX);
		app->ports[r].port_id = pid;
		app->ports[r].n_rxq = (uint16_t)RTE_MIN(app->n_workers, info.max_rx_queues);
		app->ports[r].n_txq = (uint16_t)app->n_workers;
		app->ports[r].ip = cp->address.ip.v4;
	}
	/* One pool for both ports: each configured MTU's frame must fit. */
	for (r = 0; r < VFW_PORT_MAX; r++) {
		const struct vfw_cfg_port *cp = &cfg->ports[r];
		uint32_t data = (uint32_t)app->data_room - RTE_PKTMBUF_HEADROOM;

		if (cp->mtu != 0 && data < (uint32_t)cp->mtu + PORT_L2_OVERHEAD) {
			fprintf(stderr, "vnetfw: ports.%s.mtu %u needs mbufs with %u bytes "
				"of data (a frame of the MTU, an Ethernet header and a "
				"VLAN tag); the pool's hold %u\n", role_names[r],
				cp->mtu, cp->mtu + PORT_L2_OVERHEAD, data);
			return -1;
		}
	}
	return 0;
}

/* The largest MTU ethdev lets rte_eth_dev_set_mtu() give the port: its
 * max_mtu, and its max_rx_pktlen less the overhead ethdev assumes. */
static uint32_t
dev_max_mtu(const struct rte_eth_dev_info *info)
{
	uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;

	if (info->max_mtu != UINT16_MAX && info->max_rx_pktlen > info->max_mtu)
		overhead = info->max_rx_pktlen - info->max_mtu;
	return RTE_MIN((uint32_t)info->max_mtu,
		       info->max_rx_pktlen > overhead ? info->max_rx_pktlen - overhead : 0);
}

/*
 * What net_af_packet's mtu_set does (SIOCSIFMTU on its interface), for an
 * MTU that ethdev does not pass on to it: DPDK 22.11's PMD reports
 * max_rx_pktlen 1518 whatever its ring frames hold, so ethdev refuses
 * anything above 1500. The frames were checked to hold the MTU
 * (af_packet_ring_check). why: for the log.
 */
static int
af_packet_set_kernel_mtu(unsigned int r, const struct vfw_cfg_port *cp,
			 const struct rte_eth_dev_info *info, const char *why)
{
	char ifname[IF_NAMESIZE] = "";
	struct ifreq ifr;
	int s, rc = 0;

	if (info->if_index == 0 || if_indextoname(info->if_index, ifname) == NULL) {
		fprintf(stderr, "vnetfw: ports.%s.mtu %u: cannot find the interface of "
			"%s (net_af_packet, ifindex %u): %s\n", role_names[r],
			cp->mtu, cp->device, info->if_index,
			info->if_index == 0 ? "none given" : strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name)); /* both IFNAMSIZ */
	ifr.ifr_mtu = cp->mtu;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) < 0)
		rc = -errno;
	if (s >= 0)
		close(s);
	if (rc != 0) {
		fprintf(stderr, "vnetfw: ports.%s.mtu %u: cannot set the MTU of "
			"interface %s (%s, net_af_packet): %s (`ip -d link show "
			"%s` shows its maxmtu; setting it needs CAP_NET_ADMIN)\n",
			role_names[r], cp->mtu, ifname, cp->device, strerror(-rc),
			ifname);
		return -1;
	}
	RTE_LOG(INFO, USER1, "port %s: MTU %u set on interface %s directly (%s)\n",
		role_names[r], cp->mtu, ifname, why);
	return 0;
}

/*
 * ports.*.mtu: give it to the device (configured, not started). A driver
 * that cannot set an MTU, or not this one, stops the start-up: running
 * with a different MTU than the link's would fragment needlessly or send
 * frames the link drops.
 */
static int
port_set_mtu(unsigned int r, uint16_t port_id, const struct vfw_cfg_port *cp,
	     const struct rte_eth_dev_info *info)
{
	char why[64];
	int rc;

	if (is_af_packet(info) && cp->mtu > dev_max_mtu(info)) {
		snprintf(why, sizeof(why), "DPDK's net_af_packet takes at most %u "
			 "through ethdev", dev_max_mtu(info));
		return af_packet_set_kernel_mtu(r, cp, info, why);
	}
	rc = rte_eth_dev_set_mtu(port_id, cp->mtu);
	if (rc == 0)
		return 0;
	if (is_af_packet(info)) {
		/* the PMD's ioctl failed: again, to say why */
		snprintf(why, sizeof(why), "ethdev: %s", strerror(-rc));
		return af_packet_set_kernel_mtu(r, cp, info, why);
	}
	if (rc == -ENOTSUP) {
		uint16_t cur = 0;

		rte_eth_dev_get_mtu(port_id, &cur);
		fprintf(stderr, "vnetfw: ports.%s.mtu %u: %s (%s) cannot set an "
			"MTU (the driver does not support it); its MTU stays %u: "
			"remove ports.%s.mtu to run at that\n", role_names[r],
			cp->mtu, cp->device, info->driver_name, cur, role_names[r]);
	} else {
		fprintf(stderr, "vnetfw: ports.%s.mtu %u: %s (%s) refused it (%s); "
			"the driver takes an MTU of %u to %u (max_mtu %u, "
			"max_rx_pktlen %u)\n", role_names[r], cp->mtu, cp->device,
			info->driver_name, strerror(-rc), info->min_mtu,
			dev_max_mtu(info), info->max_mtu, info->max_rx_pktlen);
	}
	return -1;
}

/*
 * Fill the RSS redirection table of a port that spreads over several rx
 * queues round robin (entry i -> queue i mod n_rxq), the table the
 * workers' flow ownership follows (dataplane.h): then a flow whose
 * addresses no NAT touches arrives on its owner's queue. Returns the
 * table's size, or 0 when the owner function cannot follow it (no table,
 * or a size that is not a power of two), which only costs hand-offs.
 * A PMD that cannot set the table is assumed to fill it round robin, as
 * PMDs do by default.
 */
static uint16_t
rss_fill_reta(unsigned int r, const struct vfw_cfg_port *cp,
	      const struct vfw_dp_port *port, const struct rte_eth_dev_info *info)
{
	struct rte_eth_rss_reta_entry64 *conf;
	uint16_t size = info->reta_size, i;
	int rc;

	if (size == 0)
		return 0;
	if (!rte_is_power_of_2(size)) {
		RTE_LOG(WARNING, USER1, "port %s (%s): RSS redirection table of %u "
			"entries, not a power of two: more packets are handed "
			"between workers\n", role_names[r], cp->device, size);
		return 0;
	}
	conf = calloc((size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE,
		      sizeof(*conf));
	if (conf == NULL)
		return size;
	for (i = 0; i < size; i++) {
		conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
			(uint16_t)(i % port->n_rxq);
	}
	rc = rte_eth_dev_rss_reta_update(port->port_id, conf, size);
	free(conf);
	if (rc != 0)
		RTE_LOG(NOTICE, USER1, "port %s (%s): RSS over %u rx queues; "
			"redirection table of %u entries not set (%s): assuming "
			"the driver's round-robin default\n", role_names[r],
			cp->device, port->n_rxq, size, strerror(-rc));
	else
		RTE_LOG(NOTICE, USER1, "port %s (%s): RSS over %u rx queues, "
			"redirection table of %u entries set round robin\n",
			role_names[r], cp->device, port->n_rxq, size);
	return size;
}

static int
port_start(struct vfw_app *app, unsigned int r, const struct vfw_cfg_port *cp)
{
	struct vfw_dp_port *port = &app->ports[r];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	uint16_t nrx = RX_DESC, ntx = TX_DESC, q;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	const char *hint = "";
	int rc, socket = rte_eth_dev_socket_id(port->port_id);

	if (socket < 0)
		socket = (int)rte_socket_id();
	memset(&conf, 0, sizeof(conf));
	rte_eth_dev_info_get(port->port_id, &info);
	if (port->n_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		/* vnetfw's symmetric key, which the workers' flow
		 * ownership also uses (dataplane.h) */
		conf.rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)vfw_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = VFW_RSS_KEY_LEN;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	/* Checksums the port verifies (the parser trusts its GOOD/BAD flags)
	 * and computes (for the packets vnetfw builds: fragments, ICMP
	 * errors; NAT keeps updating checksums incrementally, which costs
	 * less than setting up an offload per packet). */
	conf.rxmode.offloads |= info.rx_offload_capa & VFW_RX_CSUM_OFFLOADS;
	conf.txmode.offloads |= info.tx_offload_capa & VFW_TX_CSUM_OFFLOADS;
	rc = rte_eth_dev_configure(port->port_id, port->n_rxq, port->n_txq, &conf);
	if (rc < 0)
		goto fail;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &nrx, &ntx);
	if (rc < 0)
		goto fail;
	for (q = 0; q < port->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port->port_id, q, nrx, (unsigned int)socket,
					    NULL, app->pool);
		if (rc < 0)
			goto fail;
	}
	for (q = 0; q < port->n_txq; q++) {
		rc = rte_eth_tx_queue_setup(port->port_id, q, ntx, (unsigned int)socket,
					    NULL);
		if (rc < 0)
			goto fail;
	}
	if (cp->mtu != 0 && port_set_mtu(r, port->port_id, cp, &info) < 0)
		return -1;
	if (cp->has_mac) {
		rc = rte_eth_dev_default_mac_addr_set(port->port_id,
						      (struct rte_ether_addr *)&cp->mac);
		if (rc < 0)
			RTE_LOG(INFO, USER1, "%s: device keeps its MAC (%s); using %s "
				"from the config in promiscuous mode\n", cp->device,
				strerror(-rc), "ports.*.mac");
		port->mac = cp->mac;
	} else {
		rte_eth_macaddr_get(port->port_id, &port->mac);
	}
	/* frames for a configured MAC, or for DNAT addresses, must reach us */
	rte_eth_promiscuous_enable(port->port_id);
	rc = rte_eth_dev_start(port->port_id);
	/* DPDK 22.11's memif client connects once, here, and fails
	 * with -EPERM when nothing listens on its socket yet */
	if (rc < 0 && info.driver_name != NULL &&
	    strcmp(info.driver_name, "net_memif") == 0)
		hint = " (a memif client connects only when its port starts: "
		       "start its server first, or run vnetfw's port as the "
		       "server, role=server; docs/configuration.md)";
	if (rc < 0)
		goto fail;
	/* the egress MTU: the configured one, else what DPDK says (1500
	 * for net_af_packet, whatever its interface's MTU) */
	if (cp->mtu != 0)
		port->mtu = cp->mtu;
	else if (rte_eth_dev_get_mtu(port->port_id, &port->mtu) != 0)
		port->mtu = RTE_ETHER_MTU;
	port->rx_offloads = conf.rxmode.offloads;
	port->tx_offloads = conf.txmode.offloads;
	port->rss_reta_size = conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ?
			      rss_fill_reta(r, cp, port, &info) : 0;
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(port->port_id, &link);
	app->link_up[r] = link.link_status;
	rte_ether_format_addr(mac, sizeof(mac), &port->mac);
	RTE_LOG(NOTICE, USER1, "port %s (%s, id %u): mac %s, mtu %u, %u rx / %u tx "
		"queues, link %s %u Mbps\n", role_names[r], cp->device, port->port_id,
		mac, port->mtu, port->n_rxq, port->n_txq,
		link.link_status ? "up" : "down", link.link_speed);
	/* A memif or vhost peer with fewer queue pairs than ours still
	 * connects. DPDK 22.11's memif server leaves the queues the peer
	 * brought no ring for pointing at the peer's first ring, so an
	 * extra worker receives every packet a second time; vhost leaves
	 * them disabled, so what an extra worker sends is lost. Nothing in
	 * ethdev tells how many queues the peer brought: say it here. */
	if (port->n_rxq > 1 && info.driver_name != NULL) {
		const char *fewer = NULL;

		if (strcmp(info.driver_name, "net_memif") == 0)
			fewer = "every packet is received twice";
		else if (strcmp(info.driver_name, "net_vhost") == 0)
			fewer = "what the workers without a peer queue send is lost (tx_queue_full)";
		if (fewer != NULL)
			RTE_LOG(WARNING, USER1, "port %s: %s with %u queue pairs: "
				"the peer must use %u too (testpmd --rxq=%u --txq=%u); "
				"with fewer, %s (docs/configuration.md, \"memif and "
				"vhost with several workers\")\n", role_names[r],
				info.driver_name, port->n_rxq, port->n_rxq, port->n_rxq,
				port->n_rxq, fewer);
	}
	{
		char rx[128], tx[128];

		vfw_app_offload_names(port->rx_offloads & VFW_RX_CSUM_OFFLOADS,
				      true, rx, sizeof(rx));
		vfw_app_offload_names(port->tx_offloads & VFW_TX_CSUM_OFFLOADS,
				      false, tx, sizeof(tx));
		RTE_LOG(NOTICE, USER1, "port %s: checksum offload rx %s, tx %s\n",
			role_names[r], rx, tx);
	}
	return 0;
fail:
	fprintf(stderr, "vnetfw: ports.%s (%s): setup failed: %s%s\n", role_names[r],
		cp->device, strerror(-rc), hint);
	return -1;
}

static unsigned int
pool_size(const struct vfw_app *app)
{
	unsigned int n = 0, r;

	for (r = 0; r < VFW_PORT_MAX; r++)
		n += app->ports[r].n_rxq * RX_DESC + app->ports[r].n_txq * TX_DESC;
	/* rings that can hold packets: to/from slow path, hand-off, tx
	 * buffers, packets waiting for ARP, and per-lcore mempool caches */
	n += app->n_workers * (2 * 1024 + (app->n_workers - 1) * 1024 + 4 * VFW_BURST);
	n += 256 * 4 + (app->n_workers + 1) * 256 + 2048;
	/* headroom for what a PMD keeps (net_pcap's infinite_rx holds the
	 * whole capture in mbufs): 32k mbufs are ~75 MB */
	return RTE_MAX(n, 32767u);
}

/*
 * Once a second: log every port whose link went up or down since the last
 * look (a memif or vhost peer connecting or leaving, a cable). Polled, not
 * an LSC interrupt, so that it works alike on every PMD.
 */
static void
link_watch(struct vfw_app *app, uint64_t now)
{
	struct rte_eth_link link;
	unsigned int r;

	if (now - app->link_checked < app->hz)
		return;
	app->link_checked = now;
	for (r = 0; r < VFW_PORT_MAX; r++) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(app->ports[r].port_id, &link) != 0 ||
		    (bool)link.link_status == app->link_up[r])
			continue;
		app->link_up[r] = link.link_status;
		if (link.link_status)
			RTE_LOG(NOTICE, USER1, "port %s (%s): link up, %u Mbps\n",
				role_names[r], app->cfg->ports[r].device, link.link_speed);
		else
			RTE_LOG(NOTICE, USER1, "port %s (%s): link down\n",
				role_names[r], app->cfg->ports[r].device);
	}
}

static void
control_loop(struct vfw_app *app)
{
	while (!quit) {
		uint64_t now = rte_rdtsc();

		link_watch(app, now);

		if (unlikely(reload)) {
			reload = 0;
			reload_config(app);
		}
		int busy = vfw_dp_slowpath_poll(app->dp, now);

		vfw_policy_poll(app->pm);
		/* sleep in epoll when there is nothing for the slow path */
		vfw_ctl_poll(app->ctl, busy ? 0 : 1);
	}
}

int
main(int argc, char **argv)
{
	struct vfw_app app;
	struct vfw_dp_params dpp;
	struct vfw_ctl_ops ops;
	struct vfw_errors errs;
	struct vfw_policy *p;
	struct opts o = { 0 };
	int eal_argc = argc, app_argc = 0, i, ret;
	char **app_argv = NULL;
	unsigned int lcore, w, r;
	size_t qsz;

	/* split at "--" ourselves so --check and --help work without EAL */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			app_argc = argc - i;
			app_argv = argv + i;
			app_argv[0] = argv[0];
			break;
		}
	for (i = 1; i < eal_argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return 0;
		}
	if (app_argv == NULL) {
		fprintf(stderr, "vnetfw: no '--' on the command line: the application's "
			"options (-c CONFIG.yaml, --check, --workers) go after it\n");
		usage(stderr, argv[0]);
		return 2;
	}
	if (parse_app_args(app_argc, app_argv, &o) < 0)
		return 2;

	memset(&app, 0, sizeof(app));
	app.config_path = o.config;
	app.cfg = load_config(o.config);
	if (app.cfg == NULL)
		return 1;
	if (o.check) {
		print_summary(app.cfg);
		vfw_config_free(app.cfg);
		return 0;
	}

	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		/* some EAL failures (a --file-prefix in use by a running
		 * process) leave rte_errno 0: its own lines say why */
		fprintf(stderr, "vnetfw: EAL init failed: %s\n", rte_errno != 0 ?
			rte_strerror(rte_errno) : "see the EAL lines above");
		vfw_config_free(app.cfg);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_hup);
	signal(SIGPIPE, SIG_IGN);
	/* Packet capture by dpdk-dumpcap / dpdk-pdump (secondary processes
	 * with this --file-prefix): its rx/tx callbacks exist only while a
	 * capture runs. Needs the multi-process channel (not --no-shconf or
	 * --in-memory). */
	app.pdump = rte_pdump_init() == 0;
	if (!app.pdump)
		RTE_LOG(INFO, USER1, "packet capture (dpdk-dumpcap) unavailable: %s\n",
			rte_strerror(rte_errno));

	app.hz = rte_get_tsc_hz();
	app.started = rte_rdtsc();
	app.n_workers = o.workers ? o.workers : rte_lcore_count() - 1;
	if (app.n_workers == 0 || app.n_workers > rte_lcore_count() - 1) {
		unsigned int want = app.n_workers ? app.n_workers : 1;

		/* name an -l that gives that many: -l 0,1 only gives one */
		fprintf(stderr, "vnetfw: %u worker(s) need %u worker lcores besides the "
			"main lcore; the EAL has %u (use e.g. -l 0-%u, or --lcores "
			"to put several on one core)\n", want, want,
			rte_lcore_count() - 1, want);
		goto fail_eal;
	}
	if (app.n_workers > VFW_MAX_WORKERS)
		app.n_workers = VFW_MAX_WORKERS;
	if (port_lookup(&app, app.cfg) < 0)
		goto fail_eal;

	app.pool = rte_pktmbuf_pool_create("vfw_mbuf", pool_size(&app), 256,
					   VFW_MBUF_PRIV_SIZE, app.data_room,
					   (int)rte_socket_id());
	if (app.pool == NULL) {
		fprintf(stderr, "vnetfw: cannot create the mbuf pool (%u mbufs): %s "
			"(hugepages reserved? try --no-huge -m 1024 for small tests)\n",
			pool_size(&app), rte_strerror(rte_errno));
		goto fail_eal;
	}

	RTE_LOG(NOTICE, USER1, "mbuf pool: %u mbufs of %u bytes (%u of data)\n",
		app.pool->size, app.data_room,
		app.data_room - RTE_PKTMBUF_HEADROOM);

	/* RCU readers: the workers, plus telemetry */
	qsz = rte_rcu_qsbr_get_memsize(app.n_workers + 1);
	app.qsv = rte_zmalloc("vfw_qsv", qsz, RTE_CACHE_LINE_SIZE);
	if (app.qsv == NULL || rte_rcu_qsbr_init(app.qsv, app.n_workers + 1) != 0) {
		fprintf(stderr, "vnetfw: cannot set up RCU\n");
		goto fail_eal;
	}
	app.neigh = vfw_neigh_create("vfw_neigh", NEIGH_CAPACITY, (int)rte_socket_id(),
				     app.qsv);
	app.pools = vfw_nat_pools_create(app.n_workers, (int)rte_socket_id());
	app.pm = vfw_policy_mgr_create(app.n_workers, app.qsv, app.neigh, app.pools);
	if (app.neigh == NULL || app.pools == NULL || app.pm == NULL) {
		fprintf(stderr, "vnetfw: out of memory: %s\n", rte_strerror(rte_errno));
		goto fail_eal;
	}
	vfw_errors_init(&errs);
	if (vfw_app_sync_neighbors(&app, NULL, app.cfg, &errs) < 0)
		goto fail_errs;
	p = vfw_policy_build(app.pm, app.cfg, &errs);
	if (p == NULL)
		goto fail_errs;
	vfw_policy_publish(app.pm, p);
	vfw_policy_sync(app.pm);

	for (r = 0; r < VFW_PORT_MAX; r++)
		if (port_start(&app, r, &app.cfg->ports[r]) < 0)
			goto fail_eal;
	if (app.ports[VFW_PORT_VNET].rss_reta_size != 0 &&
	    app.ports[VFW_PORT_CLUSTER].rss_reta_size != 0 &&
	    app.ports[VFW_PORT_VNET].rss_reta_size !=
	    app.ports[VFW_PORT_CLUSTER].rss_reta_size)
		RTE_LOG(WARNING, USER1, "RSS redirection tables of %u (vnet) and %u "
			"(cluster) entries: flow ownership follows the vnet "
			"port's, so more packets from the cluster port are handed "
			"between workers\n", app.ports[VFW_PORT_VNET].rss_reta_size,
			app.ports[VFW_PORT_CLUSTER].rss_reta_size);

	memset(&dpp, 0, sizeof(dpp));
	dpp.n_workers = app.n_workers;
	memcpy(dpp.ports, app.ports, sizeof(dpp.ports));
	dpp.pm = app.pm;
	dpp.neigh = app.neigh;
	dpp.pools = app.pools;
	dpp.pool = app.pool;
	dpp.cfg = app.cfg;
	dpp.socket = (int)rte_socket_id();
	dpp.hz = app.hz;
	dpp.ports_started = true;
	app.dp = vfw_dp_create(&dpp);
	if (app.dp == NULL) {
		fprintf(stderr, "vnetfw: cannot create the data plane (%s); "
			"conntrack.max_sessions = %u may not fit in memory\n",
			rte_strerror(rte_errno), app.cfg->conntrack.max_sessions);
		goto fail_ports;
	}

	vfw_app_ctl_ops(&app, &ops);
	app.ctl = vfw_ctl_create(app.cfg, &ops);
	if (app.ctl == NULL) {
		fprintf(stderr, "vnetfw: control socket %s: %s\n", app.cfg->control.socket,
			rte_strerror(rte_errno));
		goto fail_dp;
	}
	if (vfw_app_telemetry_init(&app) < 0)
		RTE_LOG(WARNING, USER1, "telemetry commands not registered\n");

	w = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (w == app.n_workers)
			break;
		rte_eal_remote_launch(vfw_dp_worker_main, vfw_dp_worker(app.dp, w), lcore);
		RTE_LOG(NOTICE, USER1, "worker %u on lcore %u\n", w, lcore);
		w++;
	}
	RTE_LOG(NOTICE, USER1, "vnetfw running: generation %" PRIu64 ", control %s\n",
		vfw_policy_applied_generation(app.pm), app.cfg->control.socket);
	printf("vnetfw: running with %u worker(s); control socket %s\n", app.n_workers,
	       app.cfg->control.socket);
	fflush(stdout);

	control_loop(&app);

	printf("vnetfw: stopping\n");
	vfw_dp_stop(app.dp);
	rte_eal_mp_wait_lcore();
	vfw_app_print_stats(&app, stdout);
	fflush(stdout);
	vfw_ctl_free(app.ctl);
	for (r = 0; r < VFW_PORT_MAX; r++) {
		rte_eth_dev_stop(app.ports[r].port_id);
		rte_eth_dev_close(app.ports[r].port_id);
	}
	vfw_dp_free(app.dp);
	vfw_policy_mgr_free(app.pm);
	vfw_nat_pools_free(app.pools);
	vfw_neigh_free(app.neigh);
	rte_free(app.qsv);
	vfw_config_free(app.cfg);
	rte_mempool_free(app.pool);
	if (app.pdump)
		rte_pdump_uninit();
	rte_eal_cleanup();
	return 0;

fail_errs:
	for (r = 0; r < errs.n; r++)
		fprintf(stderr, "%s\n", errs.msg[r]);
	vfw_errors_free(&errs);
	goto fail_eal;
fail_dp:
	vfw_dp_free(app.dp);
fail_ports:
	for (r = 0; r < VFW_PORT_MAX; r++)
		rte_eth_dev_stop(app.ports[r].port_id);
fail_eal:
	/* what start-up made so far (no worker runs yet); the mbuf pool
	 * goes with the EAL, after the ports that may hold its mbufs */
	vfw_policy_mgr_free(app.pm);
	vfw_nat_pools_free(app.pools);
	vfw_neigh_free(app.neigh);
	vfw_config_free(app.cfg);
	if (app.pdump)
		rte_pdump_uninit();
	rte_eal_cleanup();
	return 1;
}
