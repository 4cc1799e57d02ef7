#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# stateful: NSG semantics of sessions. Inbound flows that a rule allows get
# their replies through although every outbound flow is denied; a flow the
# cluster side starts is dropped by the outbound rule (counted on it); a
# TCP packet that starts nothing (no SYN) is dropped as ct_invalid; a rule
# change that denies an established TCP connection leaves it alone with
# "existing: keep" (new connections are refused) and cuts it with
# "existing: reevaluate"; UDP and ping sessions exist while they are used
# and age out after their (shortened) timeout, and a TCP connection idle
# for longer than tcp_established (2 s) is cut.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

nt_begin stateful
nt_traffic_setup
vfw_http_server "$VFW_NS_VNET" "$VFW_TOPO_CLIENT" 8081 "$NT_DIR/www" "$NT_DIR/http-client.log"
nt_start_fw configs/stateful.yaml 1

if ! nt_has_show rules || ! nt_has_show sessions; then
	nt_skip "binary has no ACL/conntrack yet"
fi

# hits RULE -> its counter now
hits() { nt_rule_hits "$1"; }
# expect_more RULE BEFORE WHAT
expect_more() {
	local now
	now=$(hits "$1")
	if ((now > $2)); then
		vfw_pass "  $3: rule $1 counted it ($2 -> $now)"
	else
		vfw_fail "  $3: rule $1 did not count it ($2 -> $now)"
	fi
}
sessions() { vfw_stat sessions.total; }
session_state() { # STATE -> count
	vfw_stat "sessions.$1"
}

b_out=$(hits deny-all-out)
nt_check "TCP: client -> 10.240.1.10:80 completes (replies pass on the session)" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
nt_check "UDP: client -> 10.240.1.10:5353 gets its echo back" \
	nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353
nt_check "ping: client -> 10.240.1.10 gets its replies" \
	vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
now=$(hits deny-all-out)
if ((now == b_out)); then
	vfw_pass "  no reply was judged by the outbound rules (deny-all-out stayed at $now)"
else
	vfw_fail "  replies were judged by outbound rules (deny-all-out $b_out -> $now)"
fi

b_out=$(hits deny-all-out)
before=$(vfw_stat drops.acl_deny)
nt_check "TCP: server -> client:8081 (a new outbound flow) is refused" \
	vfw_tcp_blocked "$VFW_NS_CL" "$VFW_TOPO_CLIENT" 8081
expect_more deny-all-out "$b_out" "new outbound TCP"
nt_expect_increase "the refused SYNs are counted as acl_deny" drops.acl_deny "$before"
b_out=$(hits deny-all-out)
nt_check "ping: server -> client (a new outbound flow) fails" \
	vfw_ping_fails "$VFW_NS_CL" "$VFW_TOPO_CLIENT"
expect_more deny-all-out "$b_out" "new outbound ping"

# A TCP segment without SYN opens nothing (tcp_loose is off).
before=$(vfw_stat drops.ct_invalid)
ack_only() {
	ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" - "$VFW_TOPO_SERVER" <<'PY'
import sys
from scapy.all import IP, TCP, send, conf
conf.verb = 0
send(IP(dst=sys.argv[1]) / TCP(sport=40999, dport=80, flags="A", seq=1, ack=1), count=3)
PY
}
nt_check "a bare ACK with no session is sent" ack_only
sleep 0.5
nt_expect_increase "it is dropped as ct_invalid" drops.ct_invalid "$before"

# A rule change that denies an established connection (a line echoed
# every 0.2 s on client -> server:9000, opened by rule tcp9000-in). NSG
# keeps it by default; "existing": "reevaluate" cuts it (its session goes,
# and its next segments open nothing).
hd_echo_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 9000 "$NT_DIR/echo9000.log"
rule9000() { # ACCESS [EXISTING]
	local r ex=''
	[[ -n ${2:-} ]] && ex=",\"existing\":\"$2\""
	r=$(vfw_ctl_json "$VFW_FW_SOCK" "{\"cmd\":\"rule.replace\"$ex,\"rule\":{\"name\":\"tcp9000-in\",\"priority\":130,\"direction\":\"inbound\",\"access\":\"$1\",\"protocol\":\"tcp\",\"source\":[\"10.0.1.0/24\"],\"destination\":[\"10.240.1.10\"],\"destination_ports\":[9000]}}")
	[[ $(vfw_json_get "$r" ok) == True ]]
}
hd_echo_client_bg "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9000 3 0.2 "$NT_DIR/keep9000.log"
sleep 1
nt_check "rule.replace tcp9000-in to deny (existing: keep, the default)" rule9000 deny
nt_check "  ... a new connection to :9000 is refused" \
	hd_tcp_refused "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9000
nt_check "  ... the established one goes on, every line echoed" \
	hd_wait_pid "$HD_ECHO_PID" 10
nt_check "rule.replace tcp9000-in back to allow" rule9000 allow
hd_echo_client_bg "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9000 3 0.2 "$NT_DIR/reeval9000.log"
sleep 1
before=$(vfw_stat events.sessions_reevaluated_out)
nt_check "rule.replace tcp9000-in to deny, existing: reevaluate" rule9000 deny reevaluate
cut() { ! hd_wait_pid "$HD_ECHO_PID" 10; }
nt_check "  ... the established connection is cut" cut
nt_expect_increase "  ... its session counted (sessions_reevaluated_out)" \
	events.sessions_reevaluated_out "$before"

# An established connection idle for longer than tcp_established (2 s):
# its session is gone, so its next segment opens nothing (ct_invalid)
# and the exchange fails (the 0.2 s exchanges above kept theirs alive).
nt_check "rule.replace tcp9000-in back to allow" rule9000 allow
before=$(vfw_stat drops.ct_invalid)
hd_echo_client_bg "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9000 3.5 3 "$NT_DIR/idle9000.log"
idle_cut() { # the first line echoed, the one after the pause not
	! hd_wait_pid "$HD_ECHO_PID" 10 &&
		grep -q '^ok 1 fail [1-9]' "$NT_DIR/idle9000.log"
}
nt_check "TCP idle 3 s (> tcp_established 2 s): the next line gets no echo" idle_cut
nt_expect_increase "  ... its segments dropped as ct_invalid" drops.ct_invalid "$before"

# Sessions: the UDP and ICMP ones exist now and age out within their 3 s.
nt_check "UDP: another exchange" nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353
n=$(session_state UDP_REPLIED)
if ((n >= 1)); then
	vfw_pass "  a replied UDP session is tracked (UDP_REPLIED = $n)"
else
	vfw_fail "  no UDP_REPLIED session after an echo (UDP_REPLIED = $n)"
fi
before=$(vfw_stat events.sessions_expired)
aged() { (($(session_state UDP_REPLIED) == 0 && $(session_state ICMP) == 0)); }
nt_check "UDP and ICMP sessions age out after their 3 s timeout" vfw_wait_for 15 aged
nt_expect_increase "expired sessions counted" events.sessions_expired "$before"

nt_end
