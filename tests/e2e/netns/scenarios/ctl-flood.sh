#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# ctl-flood: the control socket under abuse while traffic flows: 100
# concurrent connections (64 are served, the rest told "too many
# clients" until one that has been idle for a second gives way to an
# operator), half lines of 15 MiB held open, a request beyond the 16 MiB
# limit, junk and 1000 pipelined requests on one connection, a deeply
# nested request, and a client without permission. Traffic keeps
# flowing, the policy in force never changes, the server answers again
# once the abusers are gone, and its memory comes back.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

nt_begin ctl-flood
nt_traffic_setup
hd_echo_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 7 "$NT_DIR/echo-server.log"
nt_start_fw configs/exhaust.yaml 1

nt_check "before: traffic flows" nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
fp0=$(hd_policy_fingerprint)
rss0=$(hd_rss_kb)
# traffic through the whole scenario: one connection, an echo every 0.1 s
hd_echo_client_bg "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 7 40 0.1 "$NT_DIR/echo-client.log"
ctl_ok() { [[ $(vfw_json_get "$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"stats"}')" ok) == True ]]; }

# 1. 100 concurrent connections
hd_ctl_abuse hold 100 20 "$NT_DIR/stop-hold" >"$NT_DIR/hold.log" 2>&1 &
hold_pid=$!
VFW_PIDS+=("$hold_pid")
vfw_wait_for 20 grep -q '^accepted' "$NT_DIR/hold.log" || true
vfw_info "100 concurrent clients: $(cat "$NT_DIR/hold.log")"
nt_check "64 clients served, 36 told 'too many clients'" \
	grep -q '^accepted 64 refused 36$' "$NT_DIR/hold.log"
nt_check "an operator still gets an answer while 64 idle clients hold every slot (the one idle longest gives way)" ctl_ok
touch "$NT_DIR/stop-hold"
hd_wait_pid "$hold_pid" 30 || true
nt_check "once they are gone, the control socket answers again" vfw_wait_for 10 ctl_ok

# 2. half lines: 8 clients x 15 MiB without a newline, held open
rm -f "$NT_DIR/stop-half"
hd_ctl_abuse halfline 8 15 "$NT_DIR/stop-half" >"$NT_DIR/half.log" 2>&1 &
half_pid=$!
VFW_PIDS+=("$half_pid")
vfw_wait_for 60 grep -q '^sent' "$NT_DIR/half.log" || true
sleep 1
rss_half=$(hd_rss_kb)
vfw_info "8 half lines of 15 MiB: vnetfw RSS $rss0 -> $rss_half KiB (+$(((rss_half - rss0) / 1024)) MiB; 64 such clients would hold about 1 GiB)"
nt_check "half lines held: $(cat "$NT_DIR/half.log")" grep -q '^sent 8$' "$NT_DIR/half.log"
nt_check "meanwhile other clients are answered" ctl_ok
nt_check "meanwhile traffic flows" nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
touch "$NT_DIR/stop-half"
hd_wait_pid "$half_pid" 30 || true
sleep 1
rss_after=$(hd_rss_kb)
vfw_info "after the half lines closed: RSS $rss_after KiB"
if hd_asan; then
	vfw_info "ASan build: freed buffers stay in its quarantine; RSS return not checked"
else
	nt_check "their buffers are freed (RSS within 16 MiB of the start: +$(((rss_after - rss0) / 1024)) MiB)" \
		hd_le $((rss_after - rss0)) 16384
fi

# 3. a request beyond the 16 MiB limit
huge=$(hd_ctl_abuse huge 17 2>&1 || true)
vfw_info "17 MiB request: reply ${huge:0:120}"
nt_check "a request over 16 MiB is refused as too large" grep -q 'request too large' <<<"$huge"

# 4. junk and pipelining on one connection
garbage=$(hd_ctl_abuse garbage 2>&1 || true)
vfw_info "junk + 1000 pipelined requests: $garbage"
nt_check "every junk line and pipelined request answered with JSON" \
	grep -Eq '^answered ([0-9]+) of \1$' <<<"$garbage"

# 5. a deeply nested request (30000 levels, 60 KB, seconds on an idle
# machine): libyaml's scanner is quadratic in the nesting depth, and the
# control thread also runs the ARP slow path
deep=$("$VFW_PYTHON" -c 'print("{\"cmd\":\"show\",\"what\":" + "[" * 30000 + "]" * 30000 + "}")')
hd_ctl_abuse timed "$deep" "$NT_DIR/deep.sent" >"$NT_DIR/deep.log" 2>&1 &
deep_pid=$!
VFW_PIDS+=("$deep_pid")
vfw_wait_for 30 test -e "$NT_DIR/deep.sent" || true
sleep 0.2
t=$(hd_ctl_abuse timed '{"cmd":"show","what":"stats"}' 2>/dev/null || echo 999)
vfw_info "show stats while a 30000-deep request is parsed: $t s"
quick_answer() { awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; }
nt_check "the control thread stays responsive during a deeply nested request (took $t s)" quick_answer
hd_wait_pid "$deep_pid" 300 || true
vfw_info "the nested request itself took $(cat "$NT_DIR/deep.log") s"

# 6. permissions: the socket is 0600 and root's; nobody may not connect
mode=$(stat -c %a "$VFW_FW_SOCK")
nt_check "socket mode is 600 as configured (seen $mode)" test "$mode" = 600
nobody_refused() {
	! setpriv --reuid=65534 --regid=65534 --clear-groups "$VFW_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
' "$VFW_FW_SOCK" 2>/dev/null
}
nt_check "an unprivileged user cannot connect" nobody_refused

# what must not have changed
rc=0
hd_wait_pid "$HD_ECHO_PID" 60 || rc=$?
vfw_info "established connection: $(cat "$NT_DIR/echo-client.log" 2>/dev/null)"
nt_check "traffic flowed through all of it (every echo back)" test "$rc" -eq 0
fp1=$(hd_policy_fingerprint)
nt_check "the policy in force is unchanged (generation, rules, routes, NAT)" test "$fp0" = "$fp1"
nt_traffic_checks

nt_end
