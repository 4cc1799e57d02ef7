#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# workers2: two workers (af_packet qpairs=2, --lcores=0@0,1@1,2@1 so both
# share core 1 on 2-core machines). Ping, TCP and UDP work whichever worker
# gets each direction of a flow; several connections spread over both.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

nt_begin workers2
nt_traffic_setup
nt_start_fw configs/basic.yaml 2

workers_are() { [[ $(vfw_stat workers) == "$1" ]]; }
nt_check "stats report 2 workers" workers_are 2
nt_traffic_checks

many_http() {
	local ok=0
	for _ in $(seq 1 12); do
		nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/" && ok=$((ok + 1))
	done
	((ok == 12))
}
many_udp() {
	local ok=0
	for _ in $(seq 1 12); do
		nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353 && ok=$((ok + 1))
	done
	((ok == 12))
}
nt_check "12 TCP connections in a row all succeed" many_http
nt_check "12 UDP exchanges from fresh source ports all succeed" many_udp
nt_expect_at_least "packets forwarded" forwarded 50

nt_end
