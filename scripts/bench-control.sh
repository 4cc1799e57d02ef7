#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Control-plane figures of a running vnetfw with a large rule set (printed,
# not asserted): the time from request to ack of
#   - one rule change (rule.replace) with 10,000 rules in force, and
#   - an atomic `apply` replacing all 10,000 rules by 10,000 others,
# and the packets of a steady UDP stream through the appliance lost during
# each. Then both again, but with the client forgetting the appliance's MAC
# 0.2 s into each request (as an ARP cache entry expiring would): the
# appliance answers ARP on its control thread, the thread that compiles
# the policy, so this shows what a neighbor that re-resolves it during a
# long compile loses (--arp-runs 0 skips it). Runs on the netns topology of
# scripts/lib/netns.sh (af_packet on veths, traffic only inside the
# namespaces it creates); the rule sets are generated at run time into a
# temporary directory.
#
# Usage: scripts/bench-control.sh [--rules N] [--changes N] [--applies N]
#                                 [--arp-runs N] [--rate PPS] [--json FILE] [--keep]
# The binary comes from $VNETFW_BUILD (default build/); the results also
# go to FILE (default <build>/bench-control.json). Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/proc.sh
. "$HERE/lib/proc.sh"
# shellcheck source=lib/hugepages.sh
. "$HERE/lib/hugepages.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=lib/traffic.sh
. "$HERE/lib/traffic.sh"

RULES=10000
CHANGES=10
APPLIES=3
ARP_RUNS=2
RATE=1000
JSON=''
KEEP=0
while (($#)); do
	case $1 in
	--rules) RULES=$2; shift ;;
	--changes) CHANGES=$2; shift ;;
	--applies) APPLIES=$2; shift ;;
	--arp-runs) ARP_RUNS=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--json) JSON=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '3,23s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vfw_die "unknown option: $1 (see --help)" ;;
	esac
	shift
done
[[ $RULES =~ ^[0-9]+$ && $RULES -ge 2 && $RULES -le 60000 ]] || vfw_die "--rules: 2..60000"
[[ $CHANGES =~ ^[0-9]+$ && $CHANGES -ge 1 && $CHANGES -le 1000 ]] || vfw_die "--changes: 1..1000"
[[ $APPLIES =~ ^[0-9]+$ && $APPLIES -ge 1 && $APPLIES -le 100 ]] || vfw_die "--applies: 1..100"
[[ $ARP_RUNS =~ ^[0-9]+$ && $ARP_RUNS -le 20 ]] || vfw_die "--arp-runs: 0..20"
[[ $RATE =~ ^[0-9]+$ && $RATE -ge 10 && $RATE -le 20000 ]] || vfw_die "--rate: 10..20000"
JSON=${JSON:-$(vfw_build_dir)/bench-control.json}
TOOL=$VFW_ROOT/tests/e2e/netns/livetool.py

vfw_need_root "${VFW_ARGV[@]}"
BIN=$(vfw_bin)
[[ -x $BIN ]] || vfw_die "no vnetfw binary at $BIN (build first, or set VNETFW_BUILD)"

WORK=$(mktemp -d /tmp/vnetfw-bench-control.XXXXXX)
FW_PID=''
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $FW_PID ]]; then
		vfw_stop "$FW_PID" 20 >/dev/null 2>&1 || true
	fi
	vfw_stop_all
	vfw_topo_destroy
	if ((KEEP)) || ((rc != 0)); then
		echo "work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- rule sets: A (in force at start) and B (what apply puts instead)
gen_config() { # SET(a|b) N OUT
	"$VFW_PYTHON" - "$1" "$2" "$WORK/ctl.sock" >"$3" <<'PY'
import sys
tag, n, sock = sys.argv[1], int(sys.argv[2]), sys.argv[3]
off = 0 if tag == "a" else 7
print("""# bench-control rule set %s: %d rules that never match the stream
ports:
  vnet:    {device: net_af_packet0, address: 10.0.1.4/24, gateway: 10.0.1.1}
  cluster: {device: net_af_packet1, address: 10.240.0.4/16}
vnet_prefixes: [10.0.0.0/8]
address_sets:
  Services: [10.240.1.0/24, 10.240.2.0/24]
routes:
  - {name: blackhole, prefix: 10.66.0.0/16, next_hop_type: None}
control: {socket: "%s", mode: "0600"}
security_rules:""" % (tag, n, sock))
for i in range(n):
    d = "inbound" if i % 2 == 0 else "outbound"
    prio = 100 + i // 2
    j = i + off
    if d == "inbound":    # from "the internet", never the stream's client
        src = "172.%d.%d.%d/32" % (16 + (j >> 16) % 16, (j >> 8) & 255, j & 255)
    else:                 # from cluster hosts the stream does not use
        src = "10.240.%d.%d/32" % (100 + (j >> 8) % 100, j & 255)
    proto = ("tcp", "udp")[j % 2]
    dst = ("any", "Services", "10.240.%d.0/24" % (j % 256))[j % 3]
    lo = 1024 + (j * 37) % 60000
    ports = "[%d]" % lo if j % 4 else "[%d-%d]" % (lo, min(65535, lo + j % 200))
    print("  - {name: %s%d, priority: %d, direction: %s, access: %s, protocol: %s, "
          "source: [%s], destination: [%s], destination_ports: %s}"
          % (tag, i, prio, d, "deny" if j % 3 else "allow", proto, src, dst, ports))
PY
}
vfw_info "bench-control: generating two rule sets of $RULES rules in $WORK"
gen_config a "$RULES" "$WORK/a.yaml"
gen_config b "$RULES" "$WORK/b.yaml"

# ---- topology and appliance
vfw_topo_create "$(vfw_run_id)"
mkdir -p "$WORK/www"
echo "bench-control" >"$WORK/www/index.html"
vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 80 "$WORK/www" "$WORK/http.log"

mapfile -t eal < <(vfw_fw_eal_args 1 "vfw-bc-$VFW_TOPO_ID" 2>/dev/null)
if [[ " ${eal[*]} " == *" --no-huge "* ]]; then
	# 10k-rule generations (two alive during a change) need room
	eal=("${eal[@]/#512/${BENCH_MEM_MB:-2048}}")
fi
vfw_info "bench-control: starting vnetfw with $RULES rules (compiling them takes a while)"
t0=$SECONDS
vfw_spawn "$WORK/vnetfw.log" ip netns exec "$VFW_NS_FW" "$BIN" "${eal[@]}" -- -c "$WORK/a.yaml"
FW_PID=$VFW_LAST_PID
if ! vfw_wait_socket "$WORK/ctl.sock" "$FW_PID" 600; then
	tail -n 20 "$WORK/vnetfw.log" >&2
	vfw_die "vnetfw did not open its control socket"
fi
startup_s=$((SECONDS - t0))
n_rules=$(vfw_ctl_json "$WORK/ctl.sock" '{"cmd":"show","what":"rules"}' |
	"$VFW_PYTHON" -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["rules"] if not r.get("default")))')
[[ $n_rules == "$RULES" ]] || vfw_die "vnetfw runs $n_rules user rules, expected $RULES"
vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER" || vfw_die "no traffic through the appliance"
vfw_ping "$VFW_NS_CL" "$VFW_TOPO_CLIENT" || vfw_die "no traffic through the appliance"

# ---- the steady stream
stop=$WORK/stop
vfw_spawn "$WORK/udp-recv.out" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u "$TOOL" \
	udp-recv "$VFW_TOPO_SERVER" 9001 "$WORK/udp-recv.json" --log "$WORK/recv.log" \
	--max-seconds 3000
recv_pid=$VFW_LAST_PID
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" udp 9001 || vfw_die "UDP receiver did not start"
vfw_spawn "$WORK/udp-send.out" ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -u "$TOOL" \
	udp-send "$VFW_TOPO_SERVER" 9001 "$WORK/udp-send.json" --stop "$stop" \
	--rate "$RATE" --log "$WORK/send.log" --max-seconds 2900
send_pid=$VFW_LAST_PID
sleep 2

# ---- requests
changes() { # N RULE: N replacements of RULE (inbound, priority 100)
	"$VFW_PYTHON" - "$1" "$2" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"cmd": "rule.replace", "rule": {
        "name": sys.argv[2], "priority": 100, "direction": "inbound",
        "access": "deny", "protocol": "tcp", "source": ["172.16.0.0/32"],
        "destination": ["any"], "destination_ports": [1024 + 2 * i + 1]}}))
PY
}
changes "$CHANGES" a0 >"$WORK/changes.jsonl"
"$VFW_PYTHON" - "$APPLIES" "$WORK/a.yaml" "$WORK/b.yaml" >"$WORK/applies.jsonl" <<'PY'
import json, sys
n, a, b = int(sys.argv[1]), open(sys.argv[2]).read(), open(sys.argv[3]).read()
for i in range(n):
    print(json.dumps({"cmd": "apply", "config": b if i % 2 == 0 else a}))
PY

# one change first, not measured: the first generation built after start
# touches memory the process never used yet
"$VFW_PYTHON" "$TOOL" ctl-seq "$WORK/ctl.sock" <(tail -n 1 "$WORK/changes.jsonl") \
	"$WORK/warmup.json" --timeout 600 >/dev/null || vfw_die "warm-up change failed"
vfw_info "bench-control: $CHANGES single rule changes at $RULES rules"
"$VFW_PYTHON" "$TOOL" ctl-seq "$WORK/ctl.sock" "$WORK/changes.jsonl" "$WORK/changes.json" \
	--timeout 600 >/dev/null || vfw_die "rule changes failed: $(head -c 600 "$WORK/changes.json")"
sleep 1
vfw_info "bench-control: $APPLIES atomic applies replacing $RULES rules"
"$VFW_PYTHON" "$TOOL" ctl-seq "$WORK/ctl.sock" "$WORK/applies.jsonl" "$WORK/applies.json" \
	--timeout 600 >/dev/null || vfw_die "applies failed: $(head -c 600 "$WORK/applies.json")"
sleep 1
flush="ip -n $VFW_NS_VNET neigh flush dev eth0"
if ((ARP_RUNS > 0)); then
	vfw_info "bench-control: again, the client re-resolving the appliance meanwhile ($ARP_RUNS each)"
	# after an odd number of applies rule set b is in force
	changes "$ARP_RUNS" "$( ((APPLIES % 2)) && echo b0 || echo a0)" >"$WORK/changes-arp.jsonl"
	"$VFW_PYTHON" - "$ARP_RUNS" "$WORK/a.yaml" "$WORK/b.yaml" $((APPLIES % 2)) \
		>"$WORK/applies-arp.jsonl" <<'PY'
import json, sys
n, a, b, first_b = int(sys.argv[1]), open(sys.argv[2]).read(), open(sys.argv[3]).read(), sys.argv[4] == "0"
for i in range(n):
    print(json.dumps({"cmd": "apply", "config": b if (i % 2 == 0) == first_b else a}))
PY
	"$VFW_PYTHON" "$TOOL" ctl-seq "$WORK/ctl.sock" "$WORK/changes-arp.jsonl" \
		"$WORK/changes-arp.json" --timeout 600 --during "$flush" >/dev/null ||
		vfw_die "rule changes failed: $(head -c 600 "$WORK/changes-arp.json")"
	sleep 2
	"$VFW_PYTHON" "$TOOL" ctl-seq "$WORK/ctl.sock" "$WORK/applies-arp.jsonl" \
		"$WORK/applies-arp.json" --timeout 600 --during "$flush" >/dev/null ||
		vfw_die "applies failed: $(head -c 600 "$WORK/applies-arp.json")"
	sleep 2
fi
touch "$stop"
for pid in "$send_pid" "$recv_pid"; do
	deadline=$((SECONDS + 30))
	while vfw_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
	vfw_stop "$pid" 5 || true
done
stats=$(vfw_ctl_json "$WORK/ctl.sock" '{"cmd":"show","what":"stats"}')
vfw_stop "$FW_PID" 20 || vfw_warn "vnetfw did not stop cleanly"
FW_PID=''

# ---- figures
"$VFW_PYTHON" "$TOOL" loss-windows "$WORK/send.log" "$WORK/recv.log" "$WORK/changes.json" \
	>"$WORK/changes-loss.json"
"$VFW_PYTHON" "$TOOL" loss-windows "$WORK/send.log" "$WORK/recv.log" "$WORK/applies.json" \
	>"$WORK/applies-loss.json"
for f in changes-arp applies-arp; do
	if [[ -s $WORK/$f.json ]]; then
		"$VFW_PYTHON" "$TOOL" loss-windows "$WORK/send.log" "$WORK/recv.log" \
			"$WORK/$f.json" >"$WORK/$f-loss.json"
	else
		echo '[]' >"$WORK/$f-loss.json"
	fi
done
mkdir -p "$(dirname "$JSON")"
"$VFW_PYTHON" - "$WORK" "$JSON" "$RULES" "$RATE" "$startup_s" "$stats" <<'PY'
import json, os, statistics, sys
work, out, rules, rate, startup, stats = sys.argv[1:7]
stats = json.loads(stats).get("stats", {})
load = lambda n: json.load(open(os.path.join(work, n)))
ch, ap = load("changes-loss.json"), load("applies-loss.json")
send, recv = load("udp-send.json"), load("udp-recv.json")

def summ(rows):
    if not rows:
        return None
    lat = [r["latency_ms"] for r in rows]
    return {"n": len(rows), "ok": all(r["ok"] for r in rows),
            "ack_ms": {"min": min(lat), "median": statistics.median(lat),
                       "max": max(lat)},
            "lost_packets": sum(r["lost_in_window"] for r in rows),
            "packets_in_windows": sum(r["sent_in_window"] for r in rows),
            "lost_max_per_op": max(r["lost_in_window"] for r in rows),
            "runs": rows}

res = {
    "rules": int(rules), "stream_pps": int(rate),
    "startup_with_rules_s": int(startup),
    "rule_change": summ(ch), "apply_replace_all": summ(ap),
    "rule_change_client_rearps": summ(load("changes-arp-loss.json")),
    "apply_replace_all_client_rearps": summ(load("applies-arp-loss.json")),
    "stream": {"sent": send.get("sent"), "received": recv.get("received"),
               "lost": recv.get("lost"), "reordered": recv.get("reordered"),
               "max_gap_ms": round(1000 * recv.get("max_gap_s", 0), 1)},
    "drops": {k: v for k, v in stats.get("drops", {}).items() if v},
    "ports": stats.get("ports"), "local": stats.get("local"),
    "warmup_change_ms": round(1000 * (lambda r: r[1] - r[0])(load("warmup.json")["per_request"][0]), 1),
    "final_generation": stats.get("generation"),
    "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")

print()
print("vnetfw control plane with %d rules, UDP stream at %d pps" % (res["rules"], res["stream_pps"]))
print("%-44s %5s %10s %10s %10s %12s" % ("operation", "runs", "min ms", "median ms", "max ms", "lost pkts"))
for name, key in (("one rule change (rule.replace)", "rule_change"),
                  ("apply replacing all %d rules" % res["rules"], "apply_replace_all"),
                  ("  same, client re-ARPs meanwhile", "rule_change_client_rearps"),
                  ("  same, client re-ARPs meanwhile", "apply_replace_all_client_rearps")):
    s = res[key]
    if s is None:
        continue
    if key == "rule_change_client_rearps":
        name = "one rule change, client re-ARPs meanwhile"
    elif key == "apply_replace_all_client_rearps":
        name = "apply, client re-ARPs meanwhile"
    print("%-44s %5d %10.1f %10.1f %10.1f %12d" % (name, s["n"], s["ack_ms"]["min"],
          s["ack_ms"]["median"], s["ack_ms"]["max"], s["lost_packets"]))
st = res["stream"]
print("stream: %s sent, %s received, %s lost over the whole run (longest gap %.1f ms)"
      % (st["sent"], st["received"], st["lost"], st["max_gap_ms"]))
print("startup with %d rules: %d s; first change after start (not in the table): %.0f ms; "
      "machine: %d CPUs, load %.1f" % (res["rules"], res["startup_with_rules_s"],
      res["warmup_change_ms"], res["cpus"], res["loadavg"][0]))
print("written to %s" % out)
PY
