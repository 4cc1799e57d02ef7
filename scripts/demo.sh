#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# vnetfw demo: the appliance between a "vnet" and a "cluster" network
# namespace, with real ping, TCP (curl) and UDP through it. Run as root.
#
#   ns vfw-demo-vnet: client 10.0.1.10, gateway 10.0.1.1, internet host
#                     198.51.100.7 (on lo)
#   ns vfw-demo-fw:   vnetfw on af_packet (config/demo.yaml)
#   ns vfw-demo-cl:   server 10.240.1.10 (HTTP :80 and :22, UDP echo :5353)
#
# Each step prints PASS/FAIL (or SKIP for features the binary lacks); the
# demo exits non-zero when a step that must work fails. Everything it
# creates (namespaces, veths, processes) is removed on exit or interrupt.
#
# Usage: scripts/demo.sh [--no-setup] [--config FILE] [--keep-logs]
set -euo pipefail

# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/proc.sh
. "$VFW_ROOT/scripts/lib/proc.sh"
# shellcheck source=lib/hugepages.sh
. "$VFW_ROOT/scripts/lib/hugepages.sh"
# shellcheck source=lib/netns.sh
. "$VFW_ROOT/scripts/lib/netns.sh"
# shellcheck source=lib/traffic.sh
. "$VFW_ROOT/scripts/lib/traffic.sh"

do_setup=1
keep_logs=0
config=$VFW_ROOT/config/demo.yaml
while (($#)); do
	case $1 in
	--no-setup) do_setup=0 ;;
	--config) config=$2; shift ;;
	--keep-logs) keep_logs=1 ;;
	-h | --help)
		sed -n '4,16s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) vfw_die "unknown option: $1 (try --help)" ;;
	esac
	shift
done
vfw_need_root "${VFW_ARGV[@]}"

WORK=''
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	vfw_fw_stop >/dev/null 2>&1 || true
	vfw_stop_all
	vfw_topo_destroy
	if [[ -n $WORK ]]; then
		if ((keep_logs || rc != 0)); then
			echo "logs kept in $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; vfw_warn "interrupted"; exit 130' INT
trap 'exit 143' TERM

step_pass() { vfw_pass "$*"; }
step_fail() { vfw_fail "$*"; }
step_skip() { vfw_skip "$* (feature not built yet)"; }

# step WHAT CMD...: a step that must work.
step() {
	local what=$1
	shift
	if "$@"; then step_pass "$what"; else step_fail "$what"; fi
}

ctl() { "$(vfw_ctl_bin)" --socket "$VFW_FW_SOCK" "$@"; }

has_feature() { vfw_ctl_has "$VFW_FW_SOCK" "$1"; }
rule_hits() { vfw_rule_hits "$VFW_FW_SOCK" "$1"; }

# log_has_since FILE N ADDR: an access-log line after line N from ADDR.
log_has_since() {
	tail -n +"$(($2 + 1))" "$1" | grep -q "^$3 "
}

http_body_ok() { # NS URL [curl args]
	local body
	body=$(vfw_http_get "$@") || return 1
	[[ $body == "$DEMO_BODY" ]]
}

udp_ok() { # NS HOST PORT [SRC]
	local msg="demo-$RANDOM" reply
	reply=$(vfw_udp_query "$1" "$2" "$3" "$msg" "${4:-}") || return 1
	[[ $reply == "echo:$msg" ]]
}

# ---------------------------------------------------------------------------
# Demo steps for features of later issues. Each one skips itself when the
# running binary does not have the feature.

# ACL: allowed vs denied connections, with the rule that decided.
demo_acl() {
	if ! has_feature rules; then
		step_skip "ACL: allowed vs denied connections"
		return 0
	fi
	local b a
	b=$(rule_hits web-in)
	if http_body_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"; then
		a=$(rule_hits web-in)
		step "ACL allowed: client -> 10.240.1.10:80/tcp, rule web-in (hits $b -> $a)" \
			test "$a" -gt "$b"
	else
		step_fail "ACL allowed: client -> 10.240.1.10:80/tcp (connection failed)"
	fi
	b=$(rule_hits no-ssh-in)
	if vfw_tcp_blocked "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 22; then
		a=$(rule_hits no-ssh-in)
		step "ACL denied: client -> 10.240.1.10:22/tcp, rule no-ssh-in (hits $b -> $a)" \
			test "$a" -gt "$b"
	else
		step_fail "ACL denied: client -> 10.240.1.10:22/tcp (connection went through)"
	fi
	b=$(rule_hits DenyAllInBound)
	if ! udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353 "$VFW_TOPO_INET_HOST"; then
		a=$(rule_hits DenyAllInBound)
		step "ACL denied: internet 198.51.100.7 -> 10.240.1.10:5353/udp, rule DenyAllInBound (hits $b -> $a)" \
			test "$a" -gt "$b"
	else
		step_fail "ACL denied: internet 198.51.100.7 -> 10.240.1.10:5353/udp (answer came back)"
	fi
}

# DNAT 10.0.1.4:8080 -> 10.240.1.10:80; the server sees the real client.
demo_dnat() {
	if ! has_feature nat; then
		step_skip "DNAT 10.0.1.4:8080 -> 10.240.1.10:80"
		return 0
	fi
	local n
	n=$(wc -l <"$WORK/http-cluster.log")
	if http_body_ok "$VFW_NS_VNET" "http://$VFW_TOPO_FW_VNET:8080/"; then
		step "DNAT: client -> 10.0.1.4:8080 reaches 10.240.1.10:80, seen from 10.0.1.10" \
			log_has_since "$WORK/http-cluster.log" "$n" "$VFW_TOPO_CLIENT"
	else
		step_fail "DNAT: client -> 10.0.1.4:8080 (connection failed)"
	fi
}

# SNAT of cluster egress: the internet host sees 10.0.1.4.
demo_snat() {
	if ! has_feature nat; then
		step_skip "SNAT cluster -> 198.51.100.7 as 10.0.1.4"
		return 0
	fi
	local n
	n=$(wc -l <"$WORK/http-inet.log")
	if http_body_ok "$VFW_NS_CL" "http://$VFW_TOPO_INET_HOST:8000/"; then
		step "SNAT: server -> 198.51.100.7:8000 arrives from 10.0.1.4" \
			log_has_since "$WORK/http-inet.log" "$n" "$VFW_TOPO_FW_VNET"
	else
		step_fail "SNAT: server -> 198.51.100.7:8000 (connection failed)"
	fi
}

# ---------------------------------------------------------------------------

if ((do_setup)); then
	vfw_info "setup (packages, hugepages, build)"
	"$VFW_ROOT/scripts/setup.sh"
fi
[[ -x $(vfw_bin) ]] || vfw_die "no vnetfw binary at $(vfw_bin); run scripts/setup.sh"
[[ -f $config ]] || vfw_die "no config $config"

WORK=$(mktemp -d /tmp/vnetfw-demo.XXXXXX)
DEMO_BODY="hello from the cluster ($(date +%s))"

vfw_info "namespaces: vnet client/gateway/internet host | fw | cluster server"
vfw_topo_create demo
mkdir -p "$WORK/www"
echo "$DEMO_BODY" >"$WORK/www/index.html"
vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 80 "$WORK/www" "$WORK/http-cluster.log"
vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 22 "$WORK/www" "$WORK/http-cluster-22.log"
vfw_http_server "$VFW_NS_VNET" "$VFW_TOPO_INET_HOST" 8000 "$WORK/www" "$WORK/http-inet.log"
vfw_udp_echo "$VFW_NS_CL" "$VFW_TOPO_SERVER" 5353 "$WORK/udp-cluster.log"

vfw_info "starting vnetfw with $config"
vfw_fw_start "$config" 1 "$WORK/vnetfw.log" || vfw_die "vnetfw did not start"
step "vnetfw is up, control socket $VFW_FW_SOCK" true

step "ping: client 10.0.1.10 -> server 10.240.1.10" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
step "TCP: curl http://10.240.1.10/ from the client" \
	http_body_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
step "UDP: echo via 10.240.1.10:5353 from the client" udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353

before=$(vfw_stat drops.route_none)
step "None route: ping 10.66.0.1 is blackholed" vfw_ping_fails "$VFW_NS_VNET" "$VFW_TOPO_BLACKHOLE"
after=$(vfw_stat drops.route_none)
step "None route: counter route_none moved ($before -> $after)" test "$after" -gt "$before"

demo_acl
demo_dnat
demo_snat

echo
vfw_info "vnetfwctl show stats (zero counters hidden)"
if ctl show stats >"$WORK/stats.txt"; then
	grep -v ':[[:space:]]*0$' "$WORK/stats.txt" || true
else
	step_fail "vnetfwctl show stats"
fi
echo
vfw_info "vnetfwctl show routes"
ctl show routes || step_fail "vnetfwctl show routes"
echo

if vfw_fw_stop; then
	step_pass "vnetfw stopped cleanly on SIGTERM"
else
	step_fail "vnetfw stopped cleanly on SIGTERM (status $VFW_STOP_RC; log $WORK/vnetfw.log)"
fi
echo "demo: $VFW_PASSED passed, $VFW_FAILED failed, $VFW_SKIPPED skipped"
((VFW_FAILED == 0))
