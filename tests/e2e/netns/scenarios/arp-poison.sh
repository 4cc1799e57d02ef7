#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# arp-poison: neighbors learned by ARP (configs/basic.yaml has no static
# ones) against an attacker on the vnet segment. Unsolicited replies and
# gratuitous ARP for an address nobody asked about create nothing; claims
# for the appliance's own address are answered with its own MAC. Claims
# that would change an already learned neighbor's MAC (the client, the
# gateway) are held while vnetfw asks for the address: the real host
# answers with its MAC, which keeps the entry. A MAC change whose old
# MAC stays silent is followed: the client's address moves to another
# interface (a host replaced), and traffic follows it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

EVIL=02:de:ad:be:ef:01
BCAST=ff:ff:ff:ff:ff:ff

nt_begin arp-poison
nt_traffic_setup
nt_start_fw configs/basic.yaml 1
nt_traffic_checks

client_mac=$(ip netns exec "$VFW_NS_VNET" cat /sys/class/net/eth0/address)
fw_mac=$(ip netns exec "$VFW_NS_FW" cat "/sys/class/net/$VFW_IF_VNET/address")
mac_of() { hd_neighbor_mac "$1"; }
mac_is() { [[ $(mac_of "$1") == "$2" ]]; }
nt_check "the client is a learned neighbor with its real MAC $client_mac" \
	mac_is "$VFW_TOPO_CLIENT" "$client_mac"
nt_check "the gateway is a learned neighbor with its real MAC" \
	mac_is "$VFW_TOPO_GATEWAY" "$client_mac"
learned0=$(vfw_stat local.arp_replies_learned)
ign0=$(vfw_stat local.arp_ignored)

# Claims that must change nothing: an unknown address, our own address.
hd_arp_send "$VFW_NS_VNET" eth0 2 "$EVIL" 10.0.1.77 "$VFW_TOPO_FW_VNET" "$fw_mac"
hd_arp_send "$VFW_NS_VNET" eth0 1 "$EVIL" 10.0.1.78 10.0.1.78 "$BCAST"
hd_arp_send "$VFW_NS_VNET" eth0 2 "$EVIL" "$VFW_TOPO_FW_VNET" "$VFW_TOPO_FW_VNET" "$BCAST"
sleep 0.5
no_entry() { [[ -z $(mac_of "$1") ]]; }
nt_check "an unsolicited reply for an unknown address creates no entry" no_entry 10.0.1.77
nt_check "gratuitous ARP for an unknown address creates no entry" no_entry 10.0.1.78
nt_check "a claim of the appliance's own address creates no entry" no_entry "$VFW_TOPO_FW_VNET"
nt_expect_at_least "the claims counted local.arp_ignored" local.arp_ignored $((ign0 + 3))
nt_check "ping to the appliance still answered" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_FW_VNET"

# Claims that overwrite learned entries.
hd_arp_send "$VFW_NS_VNET" eth0 2 "$EVIL" "$VFW_TOPO_CLIENT" "$VFW_TOPO_FW_VNET" "$fw_mac"
hd_arp_send "$VFW_NS_VNET" eth0 1 "$EVIL" "$VFW_TOPO_GATEWAY" "$VFW_TOPO_GATEWAY" "$BCAST"
sleep 0.5
learned1=$(vfw_stat local.arp_replies_learned)
vfw_info "after the claims: client at $(mac_of "$VFW_TOPO_CLIENT"), gateway at $(mac_of "$VFW_TOPO_GATEWAY"); replies learned $learned0 -> $learned1"
# held claims are decided 1.5 s after they came
sleep 1.5
nt_check "an unsolicited reply does not replace the learned client MAC" \
	mac_is "$VFW_TOPO_CLIENT" "$client_mac"
nt_check "a gratuitous request does not replace the learned gateway MAC" \
	mac_is "$VFW_TOPO_GATEWAY" "$client_mac"
nt_check "the server still reaches the client (ping)" \
	vfw_ping "$VFW_NS_CL" "$VFW_TOPO_CLIENT"
nt_traffic_checks

# A real change: the client's interface takes a new MAC and announces it;
# the old MAC is gone, so vnetfw's request is answered with the new one.
NEW_MAC=02:00:00:00:77:01
ip -n "$VFW_NS_VNET" link set dev eth0 address "$NEW_MAC"
hd_arp_send "$VFW_NS_VNET" eth0 1 "$NEW_MAC" "$VFW_TOPO_CLIENT" "$VFW_TOPO_CLIENT" "$BCAST"
sleep 2
nt_check "a new MAC whose old one is silent is followed ($NEW_MAC)" \
	mac_is "$VFW_TOPO_CLIENT" "$NEW_MAC"
nt_check "the server reaches the client at its new MAC (ping)" \
	vfw_ping "$VFW_NS_CL" "$VFW_TOPO_CLIENT"

nt_end
