#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# ctl_bad_input: the control socket under hostile and broken clients, with
# traffic flowing. livetool.py bad-input sends malformed JSON, unknown
# commands, wrong types and values, invalid rules inside transactions, a
# line over 16 MiB, requests cut off by a disconnect, a client that never
# reads, 50 concurrent clients and more than 64 at once; every request
# gets an error (or the connection a clean close). Afterwards the running
# policy is unchanged (show config / rules / routes / nat identical,
# generation unchanged), a UDP stream through the appliance lost nothing,
# new connections still work, and vnetfw exits cleanly.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

TOOL=$HERE/../livetool.py

nt_begin ctl_bad_input
nt_traffic_setup
nt_start_fw "$VFW_ROOT/config/demo.yaml" 1
if ! nt_has_show rules || ! nt_has_show config; then
	nt_skip "binary has no ACL or show config yet"
fi

jget() { vfw_json_get "$(cat "$1")" "$2"; }
ctl_ok() { # REQUEST_JSON: the reply says ok
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" "$1") || return 1
	[[ $(vfw_json_get "$r" ok) == True ]]
}
is() { # WHAT ACTUAL EXPECTED
	if [[ $2 == "$3" ]]; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (got $2, want $3)"
	fi
}

nt_check "ping client -> server" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_check "TCP before: curl client -> http://10.240.1.10/" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"

stop=$NT_DIR/stop-streams
vfw_spawn "$NT_DIR/udp-recv.log" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u "$TOOL" \
	udp-recv "$VFW_TOPO_SERVER" 9001 "$NT_DIR/udp-recv.json" --max-seconds 280
udp_recv_pid=$VFW_LAST_PID
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" udp 9001 || vfw_fail "  UDP receiver did not start"
vfw_spawn "$NT_DIR/udp-send.log" ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -u "$TOOL" \
	udp-send "$VFW_TOPO_SERVER" 9001 "$NT_DIR/udp-send.json" --stop "$stop" \
	--rate 200 --max-seconds 270
udp_send_pid=$VFW_LAST_PID
sleep 1

gen_before=$(vfw_stat generation)
vfw_info "netns/ctl_bad_input: bad clients (generation $gen_before)"
if "$VFW_PYTHON" "$TOOL" bad-input "$VFW_FW_SOCK" >"$NT_DIR/bad-input.txt" 2>&1; then
	vfw_pass "  $(tail -n 1 "$NT_DIR/bad-input.txt")"
else
	grep -E '^FAIL' "$NT_DIR/bad-input.txt" | sed 's/^/    /' || true
	tail -n 5 "$NT_DIR/bad-input.txt" | sed 's/^/    /'
	vfw_fail "  bad-input checks failed (all of them in $NT_DIR/bad-input.txt)"
fi
nt_check "vnetfw is still running" vfw_pid_alive "$VFW_FW_PID"
is "generation unchanged" "$(vfw_stat generation)" "$gen_before"

sleep 1
touch "$stop"
for pid in "$udp_send_pid" "$udp_recv_pid"; do
	deadline=$((SECONDS + 30))
	while vfw_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
	vfw_stop "$pid" 5 || vfw_warn "stream process $pid had to be killed"
done
for f in udp-send udp-recv; do
	[[ -s $NT_DIR/$f.json ]] || echo '{}' >"$NT_DIR/$f.json"
	echo "  $f: $(cat "$NT_DIR/$f.json")"
done
usent=$(jget "$NT_DIR/udp-send.json" sent)
nt_check "UDP stream ran meanwhile ($usent datagrams)" test "${usent:-0}" -gt 200
is "UDP: datagrams received == sent" "$(jget "$NT_DIR/udp-recv.json" received)" "$usent"
is "UDP: datagrams lost" "$(jget "$NT_DIR/udp-recv.json" lost)" 0

nt_check "TCP after: curl client -> http://10.240.1.10/" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
nt_check "UDP after: echo client -> 10.240.1.10:5353" \
	nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353
nt_check "a valid change still works: rule.add" ctl_ok \
	'{"cmd":"rule.add","rule":{"name":"after-bad-input","priority":4000,"direction":"inbound","access":"deny","protocol":"tcp","source":["192.0.2.0/24"],"destination":["any"],"destination_ports":[9]}}'
is "and it is the next generation" "$(vfw_stat generation)" "$((gen_before + 1))"

nt_end
