#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# exhaust-snat: cluster egress through an SNAT pool of four ports
# (40000-40003). Four concurrent TCP connections take the four ports; the
# fifth is dropped as snat_ports_exhausted and counted on its rule in
# "show nat"; the same for UDP (a port space of its own). When the
# connections close and their sessions end, the ports come back and new
# connections work.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

INET=$VFW_TOPO_INET_HOST

nt_begin exhaust-snat
nt_traffic_setup
nt_start_fw configs/exhaust.yaml 1

ex0=$(vfw_stat drops.snat_ports_exhausted)
hd_hold_bg "$VFW_NS_CL" "$INET" 8000 4 60 "$NT_DIR/stop-hold" "$NT_DIR/hold.log"
vfw_wait_for 20 grep -q '^connected' "$NT_DIR/hold.log" || true
nt_check "four concurrent connections through the 4-port pool ($(cat "$NT_DIR/hold.log"))" \
	grep -q '^connected 4$' "$NT_DIR/hold.log"
in_use() { [[ $(hd_nat_rule in_use tiny-pool) == "$1" ]]; }
nt_check "show nat: 4 ports of tiny-pool in use" in_use 4
nt_check "a fifth concurrent connection gets no port" \
	vfw_tcp_blocked "$VFW_NS_CL" "$INET" 8000
nt_expect_increase "dropped as snat_ports_exhausted" drops.snat_ports_exhausted "$ex0"
exh=$(hd_nat_rule port_exhausted tiny-pool)
nt_check "counted on the rule in show nat (tiny-pool port_exhausted = $exh)" hd_le 1 "$exh"

# UDP has its own four ports: five flows from five source ports
ex1=$(vfw_stat drops.snat_ports_exhausted)
udp5() {
	ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -c '
import socket, sys
for i in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 45000 + i))
    s.sendto(b"x", (sys.argv[1], 5353))
' "$INET"
}
nt_check "five UDP flows sent" udp5
sleep 0.5
udp_exh() { hd_le $((ex1 + 1)) "$(vfw_stat drops.snat_ports_exhausted)"; }
nt_check "the fifth UDP flow dropped as snat_ports_exhausted" udp_exh

touch "$NT_DIR/stop-hold"
hd_wait_pid "$HD_HOLD_PID" 15 || true
# closed sessions live min(10 s, tcp_closing 2 s); UDP sessions 4 s
ports_back() { in_use 0; }
nt_check "after close and timeouts, the pool's ports are all free again" \
	vfw_wait_for 30 ports_back
nt_check "a new connection gets a port again" nt_http_ok "$VFW_NS_CL" "http://$INET:8000/"
nt_check "the internet host saw the pool address" \
	grep -q "^$VFW_TOPO_FW_VNET " "$NT_DIR/http-inet.log"

nt_end
