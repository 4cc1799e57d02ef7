# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Traffic checks shared by the forwarding scenarios (1 and 2 workers):
# ping, TCP (HTTP with curl) and UDP (echo) between the vnet client and the
# cluster server, and from the cluster to the internet host via the gateway.

nt_traffic_setup() {
	mkdir -p "$NT_DIR/www"
	echo "vnetfw-e2e-ok $VFW_TOPO_ID" >"$NT_DIR/www/index.html"
	vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 80 "$NT_DIR/www" "$NT_DIR/http-cluster.log"
	vfw_http_server "$VFW_NS_VNET" "$VFW_TOPO_INET_HOST" 8000 "$NT_DIR/www" "$NT_DIR/http-inet.log"
	vfw_udp_echo "$VFW_NS_CL" "$VFW_TOPO_SERVER" 5353 "$NT_DIR/udp-cluster.log"
}

nt_http_ok() { # NS URL [curl args]
	local body
	body=$(vfw_http_get "$@") || return 1
	[[ $body == "vnetfw-e2e-ok $VFW_TOPO_ID" ]]
}

nt_udp_ok() { # NS HOST PORT
	local msg="udp-$VFW_TOPO_ID-$RANDOM" reply
	reply=$(vfw_udp_query "$1" "$2" "$3" "$msg") || return 1
	[[ $reply == "echo:$msg" ]]
}

nt_traffic_checks() {
	nt_check "ping client -> server 10.240.1.10" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
	nt_check "ping server -> client 10.0.1.10" vfw_ping "$VFW_NS_CL" "$VFW_TOPO_CLIENT"
	nt_check "TCP: curl client -> http://10.240.1.10/" \
		nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
	nt_check "TCP: server saw the client's own address 10.0.1.10" \
		grep -q "^$VFW_TOPO_CLIENT " "$NT_DIR/http-cluster.log"
	nt_check "UDP: echo client -> 10.240.1.10:5353" nt_udp_ok "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 5353
	nt_check "TCP: cluster -> internet host 198.51.100.7:8000 via the gateway" \
		nt_http_ok "$VFW_NS_CL" "http://$VFW_TOPO_INET_HOST:8000/"
}
