#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# exhaust-neigh: a vnet host sends one datagram to each of 5000 on-link
# addresses of the cluster subnet that nobody answers for (IP protocol
# 253: no session, so the session limit does not stop it before the
# neighbor stage). 256 of them get a resolution slot; the others are
# counted arp_pending and leave no neighbor entry behind, so the table
# (4096 entries) does not fill; unanswered resolutions end as arp_failed.
# Forwarding to the neighbors already known (an established connection,
# ping) is not affected. Then the scan ages out, a new host can be
# resolved, and also one that appears during a second scan: a resolution
# unanswered for 200 ms gives its slot to a new next hop.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

SPRAY=5000
NEW_HOST=10.240.1.11
NEW_HOST2=10.240.1.12

nt_begin exhaust-neigh
nt_traffic_setup
hd_echo_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 7 "$NT_DIR/echo-server.log"
nt_start_fw configs/exhaust.yaml 1

nt_check "before: ping client -> server (the server becomes a known neighbor)" \
	vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
hd_echo_client_bg "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 7 15 0.1 "$NT_DIR/echo-client.log"
sleep 0.5
pend0=$(vfw_stat drops.arp_pending)
rss0=$(hd_rss_kb)

vfw_info "spray: $SPRAY on-link destinations 10.240.2.1 and up, protocol 253"
hd_proto_spray "$VFW_NS_VNET" 10.240 "$SPRAY" 253
sleep 1
n=$(hd_neighbors)
vfw_info "neighbor table: $n entries ($(hd_neighbors incomplete) incomplete, $(hd_neighbors failed) failed)"
nt_check "only the resolutions in flight hold entries ($n <= 256 + 8)" hd_le "$n" 264
nt_expect_increase "destinations beyond the resolution slots counted arp_pending" \
	drops.arp_pending "$pend0"
nt_check "during: ping to the known server still works" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_check "during: curl to the known server still works" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
rc=0
hd_wait_pid "$HD_ECHO_PID" 30 || rc=$?
vfw_info "established connection: $(cat "$NT_DIR/echo-client.log" 2>/dev/null)"
nt_check "the established connection kept flowing (every echo back)" test "$rc" -eq 0
rss1=$(hd_rss_kb)
if hd_asan; then
	# ASan's quarantine keeps freed memory: growth there says nothing
	vfw_info "ASan build: RSS growth not checked (+$((rss1 - rss0)) KiB)"
else
	nt_check "RSS flat (+$((rss1 - rss0)) KiB <= 4 MiB)" hd_le $((rss1 - rss0)) 4096
fi

# Unanswered resolutions fail after 3 probes and are removed 20 s later.
vfw_info "waiting 26 s for unanswered resolutions to fail and age out"
sleep 26
nt_expect_at_least "unanswered resolutions counted arp_failed" drops.arp_failed 1
left=$(hd_neighbors)
vfw_info "neighbor table after the scan aged: $left entries ($(hd_neighbors incomplete) incomplete)"
scan_aged() { hd_le "$(hd_neighbors)" 64; }
nt_check "the scan's neighbor entries age out ($left left)" scan_aged
ip -n "$VFW_NS_CL" addr add "$NEW_HOST/16" dev eth0
ip -n "$VFW_NS_CL" addr add "$NEW_HOST2/16" dev eth0
nt_check "a host that appears after the scan can be resolved (ping $NEW_HOST)" \
	vfw_ping "$VFW_NS_VNET" "$NEW_HOST"
# A second scan takes every resolution slot again; a host that appears
# meanwhile gets one from a resolution unanswered for 200 ms.
hd_proto_spray "$VFW_NS_VNET" 10.240 300 253 $((513 + SPRAY))
nt_check "a host that appears during a second scan of 300 addresses can be resolved (ping $NEW_HOST2)" \
	vfw_ping "$VFW_NS_VNET" "$NEW_HOST2"
nt_check "after: the known server still reachable" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"

nt_end
