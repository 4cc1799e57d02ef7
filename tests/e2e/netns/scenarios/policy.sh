#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# policy: config/demo.yaml (NSG rules, DNAT, SNAT) with real traffic.
# Allowed and denied connections move the deciding rule's hit counter;
# DNAT 10.0.1.4:8080 reaches 10.240.1.10:80 seen from the real client;
# cluster egress to the internet host is SNATed to 10.0.1.4; a rule added
# over the control socket takes effect for new connections and is removed
# again. Skips itself (exit 77) when the binary has no ACL/NAT.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

nt_begin policy
nt_traffic_setup
vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 22 "$NT_DIR/www" "$NT_DIR/http-cluster-22.log"
nt_start_fw "$VFW_ROOT/config/demo.yaml" 1

if ! nt_has_show rules || ! nt_has_show nat; then
	nt_skip "binary has no ACL/NAT yet (show rules / show nat not answered)"
fi

# expect_hit RULE WHAT CMD...: CMD succeeds and RULE's hits move.
expect_hit() {
	local rule=$1 what=$2 b a
	shift 2
	b=$(nt_rule_hits "$rule")
	if "$@"; then
		a=$(nt_rule_hits "$rule")
		if ((a > b)); then
			vfw_pass "  $what: rule $rule ($b -> $a hits)"
		else
			vfw_fail "  $what: rule $rule did not count it ($b -> $a hits)"
		fi
	else
		vfw_fail "  $what"
	fi
}
log_has_since() { tail -n +"$(($2 + 1))" "$1" | grep -q "^$3 "; }
udp_fails_from() { ! nt_udp_ok_from "$@"; }
nt_udp_ok_from() { # NS HOST PORT SRC
	local msg="udp-$RANDOM" reply
	reply=$(vfw_udp_query "$1" "$2" "$3" "$msg" "$4") || return 1
	[[ $reply == "echo:$msg" ]]
}
ctl_ok() { # REQUEST_JSON: the reply says ok and carries a generation
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" "$1") || return 1
	echo "    reply: $r"
	[[ $(vfw_json_get "$r" ok) == True && -n $(vfw_json_get "$r" generation) ]]
}

# Neighbors resolved first (ICMP is allowed by rule ping-in), so that the
# ACL checks below are not about ARP timing. On a loaded machine the
# three ARP exchanges can outlast one ping run (it waits 2 s): retried
# for up to 15 s.
nt_check "ping client -> server 10.240.1.10 (rule ping-in)" \
	vfw_wait_for 15 vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"

expect_hit web-in "allowed: client -> 10.240.1.10:80/tcp" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
expect_hit no-ssh-in "denied: client -> 10.240.1.10:22/tcp" \
	vfw_tcp_blocked "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 22
expect_hit dns-in "allowed: client -> 10.240.1.10:5353/udp" \
	nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353
expect_hit DenyAllInBound "denied: internet 198.51.100.7 -> 10.240.1.10:5353/udp" \
	udp_fails_from "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353 "$VFW_TOPO_INET_HOST"
expect_hit web-in "allowed: internet 198.51.100.7 -> 10.240.1.10:80/tcp" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/" --interface "$VFW_TOPO_INET_HOST"

n=$(wc -l <"$NT_DIR/http-cluster.log")
nt_check "DNAT: client -> 10.0.1.4:8080 answered by 10.240.1.10:80" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_FW_VNET:8080/"
nt_check "DNAT: the server saw the real client 10.0.1.10" \
	log_has_since "$NT_DIR/http-cluster.log" "$n" "$VFW_TOPO_CLIENT"

n=$(wc -l <"$NT_DIR/http-inet.log")
nt_check "SNAT: server -> 198.51.100.7:8000 works" \
	nt_http_ok "$VFW_NS_CL" "http://$VFW_TOPO_INET_HOST:8000/"
nt_check "SNAT: the internet host saw 10.0.1.4" \
	log_has_since "$NT_DIR/http-inet.log" "$n" "$VFW_TOPO_FW_VNET"
nt_expect_at_least "sessions were created" events.sessions_created 4
nt_expect_at_least "DNAT counted" events.dnat_translated 1
nt_expect_at_least "SNAT counted" events.snat_translated 1
nt_expect_at_least "ACL drops counted" drops.acl_deny 2

# Live update: deny web traffic from the client, then take the rule away.
nt_check "rule.add block-web (priority 50, deny tcp 80 from 10.0.1.10)" ctl_ok \
	'{"cmd":"rule.add","rule":{"name":"block-web","priority":50,"direction":"inbound","access":"deny","protocol":"tcp","source":["10.0.1.10/32"],"destination":["any"],"destination_ports":[80]}}'
expect_hit block-web "new connection refused by the added rule" \
	vfw_tcp_blocked "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 80
nt_check "rule.del block-web" ctl_ok '{"cmd":"rule.del","name":"block-web"}'
nt_check "connections work again after rule.del" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"

nt_end
