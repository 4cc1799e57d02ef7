#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# tap: both ports are net_tap, no af_packet and no veth. vnetfw creates
# the two tap interfaces in its own namespace; the scenario then moves
# each into the namespace of its Linux peer, which uses it as its link
# (addresses, routes) - the wiring of a lab that hands a DPDK app a tap.
# ARP both ways, ping, TCP (a 1 MB download compared byte for byte: the
# checksums vnetfw leaves to the tap's tx offload), UDP, a 3000-byte
# datagram in fragments both ways, cluster -> internet via the gateway. An
# `mtu` above 1504 is refused at start with the range DPDK 22.11's
# net_tap takes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

TAPV=tapvnet
TAPC=tapcl

nt_begin tap
# the peers' links become the taps: drop the topology's veths
ip -n "$VFW_NS_VNET" link del eth0
ip -n "$VFW_NS_CL" link del eth0
sed -e 's/net_af_packet0/net_tap0/' -e 's/net_af_packet1/net_tap1/' \
	"$NT_HERE/configs/basic.yaml" >"$NT_DIR/tap.yaml"
VFW_FW_VNET_VDEV="net_tap0,iface=$TAPV" VFW_FW_CLUSTER_VDEV="net_tap1,iface=$TAPC" \
	nt_start_fw "$NT_DIR/tap.yaml" 1

log_has() { grep -qF -- "$1" "$NT_FW_LOG"; }
for role in vnet cluster; do
	nt_check "log: $role (net_tap) gets rx and tx IPv4/UDP/TCP checksum offload" \
		log_has "port $role: checksum offload rx IPV4_CKSUM,UDP_CKSUM,TCP_CKSUM, tx IPV4_CKSUM,UDP_CKSUM,TCP_CKSUM"
done

# Move the taps to the peers and give them the topology's addresses.
ip -n "$VFW_NS_FW" link set "$TAPV" netns "$VFW_NS_VNET"
ip -n "$VFW_NS_FW" link set "$TAPC" netns "$VFW_NS_CL"
ip -n "$VFW_NS_VNET" addr add "$VFW_TOPO_CLIENT/24" dev "$TAPV"
ip -n "$VFW_NS_VNET" addr add "$VFW_TOPO_GATEWAY/24" dev "$TAPV"
ip -n "$VFW_NS_VNET" link set "$TAPV" up
ip -n "$VFW_NS_VNET" route add 10.240.0.0/16 via "$VFW_TOPO_FW_VNET"
ip -n "$VFW_NS_CL" addr add "$VFW_TOPO_SERVER/16" dev "$TAPC"
ip -n "$VFW_NS_CL" link set "$TAPC" up
ip -n "$VFW_NS_CL" route add default via "$VFW_TOPO_FW_CL"
nt_traffic_setup
head -c 1000000 /dev/urandom >"$NT_DIR/www/big"

nt_check "ping client -> appliance 10.0.1.4" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_FW_VNET"
nt_check "ping server -> appliance 10.240.0.4" vfw_ping "$VFW_NS_CL" "$VFW_TOPO_FW_CL"
nt_traffic_checks

big_ok() {
	vfw_http_get "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/big" -o "$NT_DIR/big.out" &&
		cmp -s "$NT_DIR/www/big" "$NT_DIR/big.out"
}
nt_check "TCP: 1 MB client <- server, identical" big_ok
frag_before=$(vfw_stat events.fragments)
big_udp_ok() { # NS HOST: a 3000-byte datagram echoed back whole
	local msg reply
	msg=$(head -c 3000 /dev/zero | tr '\0' t)
	reply=$(vfw_udp_query "$1" "$2" 5353 "$msg") || return 1
	[[ $reply == "echo:$msg" ]]
}
nt_check "UDP: 3000 bytes client -> 10.240.1.10:5353 and back, in fragments" \
	big_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_expect_increase "  ... the fragments came in by the taps as fragments" events.fragments "$frag_before"
nt_expect_at_least "ARP replies learned (client, server, gateway)" local.arp_replies_learned 3
nt_expect_at_least "ARP requests answered" local.arp_requests_answered 2

# DPDK 22.11's net_tap takes frames of at most 1522 bytes: a jumbo mtu is
# refused at start, with the range the driver takes.
sed 's|address: 10.240.0.4/16}|address: 10.240.0.4/16, mtu: 9000}|' "$NT_DIR/config.yaml" >"$NT_DIR/jumbo.yaml"
jumbo_refused() { # the 9000-byte pool (about 300 MB) is made first: 1 GB
	local out rc=0
	out=$(ip netns exec "$VFW_NS_FW" timeout 60 "$(vfw_bin)" -l 0,1 --no-pci \
		--file-prefix="vfw-$VFW_TOPO_ID-jumbo" --no-huge -m 1024 \
		--vdev=net_tap0,iface=tapjv --vdev=net_tap1,iface=tapjc \
		-- -c "$NT_DIR/jumbo.yaml" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$NT_DIR/jumbo.log"
	((rc == 1)) && [[ $out == *"ports.cluster.mtu 9000: net_tap1 (net_tap) refused it"*"MTU of 46 to 1504"* ]]
}
nt_check "mtu: 9000 on a net_tap: vnetfw exits 1 naming the range 46-1504" jumbo_refused

nt_end
