#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# pdump: DPDK's packet capture works on a running appliance. dpdk-dumpcap
# (a secondary process on vnetfw's --file-prefix) captures the vnet and
# the cluster port while a client pings the server through vnetfw; both
# captures hold the echo requests, the cluster one with the MACs vnetfw
# rewrote. Forwarding is unaffected, and vnetfw still exits cleanly after
# the capture. Needs hugepages (a secondary process cannot attach to a
# --no-huge primary); skipped without them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

DUMPCAP=$(command -v dpdk-dumpcap || true)
nt_begin pdump
if [[ -z $DUMPCAP ]]; then
	nt_skip "dpdk-dumpcap is not installed (Debian package dpdk)"
fi
if [[ ${VNETFW_NO_HUGE:-0} == 1 ]] || ! vfw_hugepages_usable; then
	nt_skip "no usable hugepages: dpdk-dumpcap cannot attach to a --no-huge process"
fi
nt_traffic_setup
nt_start_fw configs/basic.yaml 1
# The prefix nt_start_fw gave the EAL (see vfw_fw_eal_args).
PREFIX=vfw-$VFW_TOPO_ID

# capture IFACE FILE: dumpcap on one vnetfw port for 8 s, in the background.
capture() {
	vfw_spawn "$2.log" "$DUMPCAP" --file-prefix="$PREFIX" -i "$1" -w "$2" \
		-a duration:8 -q
}
# One at a time: two dumpcaps attaching at once can deadlock DPDK 22.11's
# multi-process memory handling (seen once in a full run: both secondaries
# and vnetfw's multi-process thread waited on the shared heap for good;
# operations.md says so). The second starts once the first has written
# its file header, i.e. is capturing.
capture net_af_packet0 "$NT_DIR/vnet.pcapng"
cap_v=$VFW_LAST_PID
vfw_wait_for 15 test -s "$NT_DIR/vnet.pcapng" || vfw_warn "  the vnet capture has not started"
capture net_af_packet1 "$NT_DIR/cluster.pcapng"
cap_c=$VFW_LAST_PID
vfw_wait_for 15 test -s "$NT_DIR/cluster.pcapng" || vfw_warn "  the cluster capture has not started"
sleep 1
nt_check "ping client -> server while capturing" \
	vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
waited() { # PID: dumpcap stopped by itself, status 0
	local pid=$1 i
	for ((i = 0; i < 150; i++)); do
		vfw_pid_alive "$pid" || break
		sleep 0.1
	done
	vfw_stop "$pid" 5 && ((VFW_STOP_RC == 0))
}
nt_check "dumpcap on the vnet port ends after its 8 s" waited "$cap_v"
nt_check "dumpcap on the cluster port ends after its 8 s" waited "$cap_c"

# echo_requests FILE SRC_MAC: echo requests client -> server in a capture,
# printed as a count (only frames from SRC_MAC, "" for any).
echo_requests() {
	"$VFW_PYTHON" - "$1" "$VFW_TOPO_CLIENT" "$VFW_TOPO_SERVER" "${2:-}" <<'PY'
import sys
from scapy.all import rdpcap, Ether, IP, ICMP
n = 0
for p in rdpcap(sys.argv[1]):
    if (IP in p and ICMP in p and p[ICMP].type == 8 and
            p[IP].src == sys.argv[2] and p[IP].dst == sys.argv[3] and
            (not sys.argv[4] or p[Ether].src.lower() == sys.argv[4].lower())):
        n += 1
print(n)
PY
}
at_least() { # WHAT N MIN
	if [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3)); then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 ($2, want >= $3)"
	fi
}
CL_MAC=$("$VFW_PYTHON" -c '
import json, sys
print(next(p["mac"] for p in json.loads(sys.argv[1])["ports"] if p["role"] == "cluster"))
' "$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"ports"}')")
at_least "the vnet capture holds the echo requests" \
	"$(echo_requests "$NT_DIR/vnet.pcapng")" 3
at_least "the cluster capture holds them, sent from vnetfw's MAC $CL_MAC" \
	"$(echo_requests "$NT_DIR/cluster.pcapng" "$CL_MAC")" 3
nt_check "forwarding goes on after the capture" \
	vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_end
