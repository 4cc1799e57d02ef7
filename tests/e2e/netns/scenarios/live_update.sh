#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# live_update: 1,000 rule changes over one control connection while
# established flows stream through the appliance. A long-lived TCP
# connection (client -> server:9000, a checked byte pattern) and a UDP
# stream with sequence numbers (client -> server:9001) run throughout;
# rule.add / rule.replace / rule.del of unrelated rules are committed one
# at a time, each waiting for its ack. Checks: no datagram lost, reordered
# or duplicated; every byte of the TCP stream arrived intact and the stream
# never stalled; each ack carries a strictly higher generation; no packet
# was dropped during the churn; and the last change (which moves a deny
# from port 9200 to port 9100) is in force for new flows.
#
# Every change is its own generation unless the machine is too slow for
# that within NT_LIVE_BUDGET_S (default 60 s): then, after 30 single
# changes, the rest are committed in begin/commit groups just large enough
# to fit (the run says how many per commit). NT_LIVE_BUDGET_S=0 never
# groups. NT_LIVE_CHANGES (default 1000), NT_LIVE_UDP_PPS (200) and
# NT_LIVE_TCP_BPS (131072) tune the rest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

CHANGES=${NT_LIVE_CHANGES:-1000}
UDP_PPS=${NT_LIVE_UDP_PPS:-200}
TCP_BPS=${NT_LIVE_TCP_BPS:-131072}
BUDGET=${NT_LIVE_BUDGET_S:-60}
TOOL=$HERE/../livetool.py

nt_begin live_update
nt_traffic_setup
for p in 9100 9200; do
	vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" "$p" "$NT_DIR/www" "$NT_DIR/http-$p.log"
done
nt_start_fw configs/basic.yaml 1
if ! nt_has_show rules; then
	nt_skip "binary has no ACL yet (show rules not answered)"
fi

ctl_ok() { # REQUEST_JSON: the reply says ok
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" "$1") || return 1
	[[ $(vfw_json_get "$r" ok) == True ]]
}
jget() { # FILE KEY: a value from a JSON result file
	vfw_json_get "$(cat "$1")" "$2"
}
is() { # WHAT ACTUAL EXPECTED
	if [[ $2 == "$3" ]]; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (got $2, want $3)"
	fi
}
drops_total() {
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"stats"}') || return 1
	"$VFW_PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1])["stats"]["drops"]; print(sum(d.values()))' "$r"
}
drops_nonzero() {
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"stats"}') || return 1
	"$VFW_PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1])["stats"]["drops"]; print(" ".join("%s=%d" % kv for kv in d.items() if kv[1]))' "$r"
}

# Neighbors learned both ways before the streams start.
nt_check "ping client -> server" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_check "ping server -> client" vfw_ping "$VFW_NS_CL" "$VFW_TOPO_CLIENT"

gate() { # PORT: the rule "gate" denies new TCP from the client to PORT
	printf '{"name":"gate","priority":300,"direction":"inbound","access":"deny","protocol":"tcp","source":["%s/32"],"destination":["%s/32"],"destination_ports":[%s]}' \
		"$VFW_TOPO_CLIENT" "$VFW_TOPO_SERVER" "$1"
}
nt_check "rule.add gate (deny tcp to :9200)" ctl_ok "{\"cmd\":\"rule.add\",\"rule\":$(gate 9200)}"
nt_check "before: a new flow to :9100 passes" nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER:9100/"
nt_check "before: a new flow to :9200 is refused" vfw_tcp_blocked "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9200

# The established flows.
stop=$NT_DIR/stop-streams
vfw_spawn "$NT_DIR/udp-recv.log" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u "$TOOL" \
	udp-recv "$VFW_TOPO_SERVER" 9001 "$NT_DIR/udp-recv.json" --max-seconds 280
udp_recv_pid=$VFW_LAST_PID
vfw_spawn "$NT_DIR/tcp-recv.log" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u "$TOOL" \
	tcp-recv "$VFW_TOPO_SERVER" 9000 "$NT_DIR/tcp-recv.json" --max-seconds 280
tcp_recv_pid=$VFW_LAST_PID
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" udp 9001 || vfw_fail "  UDP receiver did not start"
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" tcp 9000 || vfw_fail "  TCP receiver did not start"
vfw_spawn "$NT_DIR/udp-send.log" ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -u "$TOOL" \
	udp-send "$VFW_TOPO_SERVER" 9001 "$NT_DIR/udp-send.json" --stop "$stop" \
	--rate "$UDP_PPS" --max-seconds 270
udp_send_pid=$VFW_LAST_PID
vfw_spawn "$NT_DIR/tcp-send.log" ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -u "$TOOL" \
	tcp-send "$VFW_TOPO_SERVER" 9000 "$NT_DIR/tcp-send.json" --stop "$stop" \
	--rate "$TCP_BPS" --max-seconds 270
tcp_send_pid=$VFW_LAST_PID
sleep 2
sessions=$(vfw_json_get "$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"sessions"}')" sessions.total)
nt_check "both streams are established flows (sessions: $sessions)" test "${sessions:-0}" -ge 2

# The changes: CHANGES-1 of unrelated rules (20 names cycling through
# add, replace, del), then the gate moves from :9200 to :9100.
reqs=$NT_DIR/requests.jsonl
"$VFW_PYTHON" - "$((CHANGES - 1))" "$(gate 9100)" >"$reqs" <<'PY'
import json, sys
n, gate = int(sys.argv[1]), json.loads(sys.argv[2])
for i in range(n):
    k, rnd = i % 20, i // 20
    rule = {"name": "churn-%d" % k, "priority": 1000 + k,
            "direction": "inbound" if k % 2 == 0 else "outbound",
            "access": "deny" if (rnd // 3) % 2 == 0 else "allow",
            "protocol": ["tcp", "udp", "any"][k % 3],
            "source": ["192.0.2.%d/32" % k], "destination": ["any"]}
    if rule["protocol"] != "any":
        rule["destination_ports"] = [20000 + 100 * k + rnd % 97]
    op = rnd % 3
    if op == 0:
        print(json.dumps({"cmd": "rule.add", "rule": rule}))
    elif op == 1:
        rule["source"] = ["198.18.%d.0/24" % k, "192.0.2.%d/32" % k]
        print(json.dumps({"cmd": "rule.replace", "rule": rule}))
    else:
        print(json.dumps({"cmd": "rule.del", "name": rule["name"]}))
print(json.dumps({"cmd": "rule.replace", "rule": gate}))
PY
drops_before=$(drops_total)
fwd_before=$(vfw_stat forwarded)
vfw_info "netns/live_update: $CHANGES changes over one connection"
t0=$SECONDS
if "$VFW_PYTHON" "$TOOL" ctl-seq "$VFW_FW_SOCK" "$reqs" "$NT_DIR/ctl.json" \
	--budget "$BUDGET" >"$NT_DIR/ctl-summary.json"; then
	vfw_pass "  $CHANGES changes committed in $((SECONDS - t0)) s"
else
	vfw_fail "  the control client reported errors (see $NT_DIR/ctl-summary.json)"
fi
sleep 2
drops_after=$(drops_total)
fwd_after=$(vfw_stat forwarded)
touch "$stop"
for pid in "$udp_send_pid" "$tcp_send_pid" "$udp_recv_pid" "$tcp_recv_pid"; do
	deadline=$((SECONDS + 30))
	while vfw_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
	vfw_stop "$pid" 5 || vfw_warn "stream process $pid had to be killed"
done

cat "$NT_DIR/ctl-summary.json"
ctl=$NT_DIR/ctl.json
acks=$(jget "$ctl" acks)
group=$(jget "$ctl" grouped_per_commit)
((group == 1)) || vfw_warn "this machine is slow: after 30 single changes, $group changes per commit to fit ${BUDGET}s"
is "every change committed" "$(jget "$ctl" changes_committed)" "$CHANGES"
is "every ack ok" "$(jget "$ctl" ok_acks)" "$acks"
is "request errors" "$(jget "$ctl" n_errors)" 0
is "acks with a generation that did not increase" \
	"$(jget "$ctl" generation_not_increasing)" "[]"
first=$(jget "$ctl" first_generation)
last=$(jget "$ctl" last_generation)
is "one generation per ack ($first..$last)" "$((last - first + 1))" "$acks"
vfw_info "ack latency (ms): $(jget "$ctl" latency_ms); single changes: $(jget "$ctl" single_change_latency_ms)"

for f in udp-send udp-recv tcp-send tcp-recv; do
	[[ -s $NT_DIR/$f.json ]] || echo '{}' >"$NT_DIR/$f.json"
	echo "  $f: $(cat "$NT_DIR/$f.json")"
done
usent=$(jget "$NT_DIR/udp-send.json" sent)
nt_check "UDP stream ran through the churn ($usent datagrams)" test "${usent:-0}" -gt "$UDP_PPS"
is "UDP: the receiver saw the sender's end marker" "$(jget "$NT_DIR/udp-recv.json" end_seen)" True
is "UDP: datagrams received == sent" "$(jget "$NT_DIR/udp-recv.json" received)" "$usent"
is "UDP: datagrams lost" "$(jget "$NT_DIR/udp-recv.json" lost)" 0
is "UDP: datagrams out of order" "$(jget "$NT_DIR/udp-recv.json" reordered)" 0
is "UDP: duplicates" "$(jget "$NT_DIR/udp-recv.json" duplicates)" 0
tsent=$(jget "$NT_DIR/tcp-send.json" sent)
nt_check "TCP stream ran through the churn ($tsent bytes)" test "${tsent:-0}" -gt "$TCP_BPS"
is "TCP: bytes received == bytes sent" "$(jget "$NT_DIR/tcp-recv.json" received)" "$tsent"
is "TCP: the sender got the receiver's count" "$(jget "$NT_DIR/tcp-send.json" peer_received)" "$tsent"
is "TCP: stream content intact (first bad offset)" "$(jget "$NT_DIR/tcp-recv.json" corrupt_at)" None
gap=$(jget "$NT_DIR/tcp-recv.json" max_gap_s)
nt_check "TCP: never stalled (longest gap between reads ${gap}s < 1s)" \
	"$VFW_PYTHON" -c "import sys; sys.exit(0 if float('$gap') < 1.0 else 1)"
# Not asserted: tail loss probes of an application-limited stream count
# as retransmissions even when nothing was lost.
vfw_info "TCP retransmissions by the sender: $(jget "$NT_DIR/tcp-send.json" retransmits)"
ports=$(vfw_json_get "$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"stats"}')" stats.ports)
vfw_info "ports: $ports"
missed=$("$VFW_PYTHON" -c 'import json,sys; p=json.loads(sys.argv[1]); print(sum(v.get(k, 0) for v in p.values() for k in ("nic_rx_missed", "nic_rx_errors", "nic_tx_errors")))' "$ports")
is "packets the ports missed or failed to send" "$missed" 0
if [[ $drops_after == "$drops_before" ]]; then
	vfw_pass "  no packet dropped during the churn (forwarded $fwd_before -> $fwd_after)"
else
	vfw_fail "  packets dropped during the churn: $drops_before -> $drops_after ($(drops_nonzero))"
fi

# The last change is in force for new flows.
nt_check "after: a new flow to :9100 (denied by the last change) is refused" \
	vfw_tcp_blocked "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 9100
nt_check "after: a new flow to :9200 (allowed by it) passes" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER:9200/"
rules=$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"rules"}')
n_churn=$("$VFW_PYTHON" -c 'import json,sys; print(sum(1 for r in json.loads(sys.argv[1])["rules"] if r["name"].startswith("churn-")))' "$rules")
want_churn=$("$VFW_PYTHON" - "$reqs" <<'PY'
import json, sys
names = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["cmd"] == "rule.add":
        names.add(r["rule"]["name"])
    elif r["cmd"] == "rule.del":
        names.discard(r["name"])
print(sum(1 for n in names if n.startswith("churn-")))
PY
)
is "rules left by the churn" "$n_churn" "$want_churn"
gen_now=$(vfw_stat generation)
is "generation in force is the last ack's" "$gen_now" "$last"

nt_end
