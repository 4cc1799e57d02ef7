#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# basic: one worker on af_packet. The appliance answers ARP and ping for its
# addresses, learns its neighbors by ARP, forwards ping/TCP/UDP both ways,
# blackholes a None route (route_none, and the route's hits) and drops
# TTL 1 (ttl_expired); dpdk-telemetry.py answers the /vnetfw/* commands.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

nt_begin basic
nt_traffic_setup
nt_start_fw configs/basic.yaml 1

nt_check "ping client -> appliance 10.0.1.4" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_FW_VNET"
nt_check "ping server -> appliance 10.240.0.4" vfw_ping "$VFW_NS_CL" "$VFW_TOPO_FW_CL"
nt_traffic_checks

# route_hits NAME: the hits of a route in "show routes"
route_hits() {
	vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"routes"}' |
		"$VFW_PYTHON" -c '
import json, sys
print(sum(r["hits"] for r in json.load(sys.stdin)["routes"] if r["name"] == sys.argv[1]))
' "$1"
}
before=$(vfw_stat drops.route_none)
hole=$(route_hits blackhole)
nt_check "ping 10.66.0.1 (None route) fails" vfw_ping_fails "$VFW_NS_VNET" 10.66.0.1
nt_expect_increase "blackholed pings counted" drops.route_none "$before"
hole_now=$(route_hits blackhole)
nt_check "  ... and on the route: show routes blackhole hits $hole -> $hole_now" \
	test "$((hole_now - hole))" -eq "$(($(vfw_stat drops.route_none) - before))"

before=$(vfw_stat drops.ttl_expired)
nt_check "ping with TTL 1 through the appliance fails" \
	vfw_ping_fails "$VFW_NS_VNET" "$VFW_TOPO_SERVER" -t 1
nt_expect_increase "TTL 1 counted" drops.ttl_expired "$before"

nt_expect_at_least "vnet port received" ports.vnet.rx 10
nt_expect_at_least "vnet port sent" ports.vnet.tx 10
nt_expect_at_least "cluster port received" ports.cluster.rx 10
nt_expect_at_least "cluster port sent" ports.cluster.tx 10
nt_expect_at_least "packets forwarded" forwarded 20
nt_expect_at_least "ARP requests answered" local.arp_requests_answered 2
nt_expect_at_least "ARP replies learned (client, server, gateway)" local.arp_replies_learned 3
nt_expect_at_least "echo requests answered" local.icmp_echo_answered 2

ctl=$(vfw_ctl_bin)
ctl_shows() { # WHAT PATTERN [--json]
	"$ctl" --socket "$VFW_FW_SOCK" "${@:3}" show "$1" | grep -q -- "$2"
}
if [[ -x $ctl ]]; then
	ctl_stats() { "$ctl" --socket "$VFW_FW_SOCK" show stats >"$NT_DIR/ctl-stats.txt"; }
	nt_check "vnetfwctl show stats" ctl_stats
	nt_check "vnetfwctl show routes lists the None route" ctl_shows routes blackhole
	nt_check "vnetfwctl --json show neighbors knows the server" \
		ctl_shows neighbors "$VFW_TOPO_SERVER" --json
else
	vfw_fail "  vnetfwctl missing at $ctl"
fi

# DPDK telemetry: dpdk-telemetry.py reaches vnetfw's /vnetfw/* commands
# (the same numbers as show stats) next to DPDK's own.
TELEMETRY=$(command -v dpdk-telemetry.py || true)
telemetry_ok() {
	local out
	out=$(printf '/vnetfw/stats\n/vnetfw/drops\n/vnetfw/sessions\n/vnetfw/rules\n/vnetfw/routes\n/vnetfw/nat\n/ethdev/list\n' |
		"$VFW_PYTHON" "$TELEMETRY" -f "vfw-$VFW_TOPO_ID" 2>&1) || return 1
	"$VFW_PYTHON" - "$out" <<'PY'
import json, sys
got = {}
for line in sys.argv[1].splitlines():
    line = line.strip()
    if line.startswith("{"):
        got.update(json.loads(line))
need = ["/vnetfw/stats", "/vnetfw/drops", "/vnetfw/sessions", "/vnetfw/rules",
        "/vnetfw/routes", "/vnetfw/nat", "/ethdev/list"]
missing = [k for k in need if k not in got or got[k] is None]
if missing:
    print("missing:", missing, file=sys.stderr)
    sys.exit(1)
st, dr = got["/vnetfw/stats"], got["/vnetfw/drops"]
sys.exit(0 if st.get("forwarded", 0) >= 20 and dr.get("route_none", 0) >= 1 else 1)
PY
}
if [[ -n $TELEMETRY ]]; then
	nt_check "dpdk-telemetry.py: /vnetfw/* answered (forwarded, route_none moved)" telemetry_ok
fi

nt_end
