# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# The three-namespace topology used by the demo and the netns e2e tests:
#
#   ns vnet:    eth0 = 10.0.1.10/24 (client) + 10.0.1.1/24 (the "internet"
#               gateway), lo = 198.51.100.7/32 (an internet host);
#               routes 10.240.0.0/16 and 10.66.0.0/16 via 10.0.1.4
#   ns fw:      fw-vnet, fw-cl: the appliance's af_packet ports, no addresses
#   ns cluster: eth0 = 10.240.1.10/16 (server), default via 10.240.0.4
#
#   vnet:eth0 <-veth-> fw:fw-vnet  [vnetfw]  fw:fw-cl <-veth-> cluster:eth0
#
# Interface names are fixed but live in namespaces named after a run id,
# so concurrent runs do not clash. vfw_topo_create ID sets:
#   VFW_NS_VNET VFW_NS_FW VFW_NS_CL   namespace names
#   VFW_IF_VNET VFW_IF_CL             the appliance-side interfaces (in fw)

VFW_TOPO_CLIENT=10.0.1.10
VFW_TOPO_GATEWAY=10.0.1.1
VFW_TOPO_INET_HOST=198.51.100.7
VFW_TOPO_FW_VNET=10.0.1.4
VFW_TOPO_FW_CL=10.240.0.4
VFW_TOPO_SERVER=10.240.1.10
VFW_TOPO_BLACKHOLE=10.66.0.1

VFW_TOPO_ID=''
VFW_NS_VNET='' VFW_NS_FW='' VFW_NS_CL=''
VFW_IF_VNET=fw-vnet
VFW_IF_CL=fw-cl

vfw_nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Configure a fresh namespace: loopback up, IPv6 off (the kernel's router
# solicitations and MLD reports would only add noise to drop counters).
_vfw_ns_init() {
	local ns=$1
	ip netns add "$ns"
	vfw_nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$ns" link set lo up
}

# Checksums must be complete on the wire: the kernel would otherwise hand
# af_packet TCP/UDP with partial checksums that the far side drops.
_vfw_if_tune() {
	local ns=$1 ifname=$2
	vfw_nsx "$ns" ethtool -K "$ifname" tx off >/dev/null 2>&1 ||
		vfw_warn "ethtool -K $ifname tx off failed in $ns"
}

vfw_topo_create() {
	VFW_TOPO_ID=$1
	VFW_NS_VNET="vfw-$1-vnet"
	VFW_NS_FW="vfw-$1-fw"
	VFW_NS_CL="vfw-$1-cl"

	# A previous run with the same id that was killed hard leaves these.
	vfw_topo_destroy

	_vfw_ns_init "$VFW_NS_VNET" || return 1
	_vfw_ns_init "$VFW_NS_FW" || return 1
	_vfw_ns_init "$VFW_NS_CL" || return 1

	ip -n "$VFW_NS_FW" link add "$VFW_IF_VNET" type veth peer name eth0 netns "$VFW_NS_VNET" || return 1
	ip -n "$VFW_NS_FW" link add "$VFW_IF_CL" type veth peer name eth0 netns "$VFW_NS_CL" || return 1

	_vfw_if_tune "$VFW_NS_FW" "$VFW_IF_VNET"
	_vfw_if_tune "$VFW_NS_FW" "$VFW_IF_CL"
	_vfw_if_tune "$VFW_NS_VNET" eth0
	_vfw_if_tune "$VFW_NS_CL" eth0
	ip -n "$VFW_NS_FW" link set "$VFW_IF_VNET" up
	ip -n "$VFW_NS_FW" link set "$VFW_IF_CL" up

	# vnet side: client, gateway and an internet host.
	ip -n "$VFW_NS_VNET" addr add "$VFW_TOPO_CLIENT/24" dev eth0
	ip -n "$VFW_NS_VNET" addr add "$VFW_TOPO_GATEWAY/24" dev eth0
	ip -n "$VFW_NS_VNET" addr add "$VFW_TOPO_INET_HOST/32" dev lo
	ip -n "$VFW_NS_VNET" link set eth0 up
	ip -n "$VFW_NS_VNET" route add 10.240.0.0/16 via "$VFW_TOPO_FW_VNET"
	ip -n "$VFW_NS_VNET" route add 10.66.0.0/16 via "$VFW_TOPO_FW_VNET"

	# cluster side: one server behind the appliance.
	ip -n "$VFW_NS_CL" addr add "$VFW_TOPO_SERVER/16" dev eth0
	ip -n "$VFW_NS_CL" link set eth0 up
	ip -n "$VFW_NS_CL" route add default via "$VFW_TOPO_FW_CL"
}

# Kill what still runs inside our namespaces (processes we started there),
# by PID, then delete the namespaces; their veths go with them.
vfw_topo_destroy() {
	local ns pid left i
	[[ -n $VFW_TOPO_ID ]] || return 0
	for ((i = 0; i < 30; i++)); do
		left=0
		for ns in "$VFW_NS_VNET" "$VFW_NS_FW" "$VFW_NS_CL"; do
			[[ -e /run/netns/$ns ]] || continue
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				left=1
				if ((i == 0)); then
					kill -TERM "$pid" 2>/dev/null || true
				elif ((i == 29)); then
					kill -KILL "$pid" 2>/dev/null || true
				fi
			done
		done
		((left)) || break
		sleep 0.1
	done
	for ns in "$VFW_NS_VNET" "$VFW_NS_FW" "$VFW_NS_CL"; do
		[[ -e /run/netns/$ns ]] || continue
		ip netns del "$ns" 2>/dev/null || vfw_warn "could not delete namespace $ns"
	done
}

# vfw_fw_eal_args WORKERS FILE_PREFIX: EAL arguments for the appliance on
# the topology's af_packet ports, one per line. With 2 workers the ports get
# two queue pairs and the two worker lcores share core 1 (2-core machines).
# VFW_FW_CLUSTER_VDEV replaces the cluster port's vdev (e.g. a net_tap
# that the scenario bridges to the cluster veth), VFW_FW_VNET_VDEV the
# vnet port's.
vfw_fw_eal_args() {
	local workers=${1:-1} prefix=$2 q=''
	if ((workers > 1)); then
		q=",qpairs=$workers"
		local lc="0@0" i
		for ((i = 1; i <= workers; i++)); do lc+=",$i@1"; done
		printf '%s\n' "--lcores=$lc"
	else
		printf '%s\n' "-l" "0,1"
	fi
	# framesz=4096: the kernel reassembles IPv4 fragments before
	# af_packet hands them over (DPDK 22.11 sets PACKET_FANOUT_FLAG_DEFRAG);
	# a datagram of up to 4016 bytes (4096 - 80) fits a ring frame, and vnetfw
	# fragments it again for the 1500-byte links (docs/architecture.md)
	printf '%s\n' "--file-prefix=$prefix" "--no-pci" \
		"--vdev=${VFW_FW_VNET_VDEV:-net_af_packet0,iface=$VFW_IF_VNET$q,framesz=4096}" \
		"--vdev=${VFW_FW_CLUSTER_VDEV:-net_af_packet1,iface=$VFW_IF_CL$q,framesz=4096}"
	vfw_eal_mem_args
}

# The control socket path a config file names (control.socket).
vfw_config_socket() {
	sed -n 's/.*socket:[[:space:]]*"\{0,1\}\([^",}[:space:]]*\).*/\1/p' "$1" | head -n 1
}

# vfw_fw_start CONFIG WORKERS LOG [app args...]: run vnetfw in the fw
# namespace on the topology's ports and wait for its control socket.
# Sets VFW_FW_PID and VFW_FW_SOCK. Extra EAL arguments: $VNETFW_EAL_EXTRA.
vfw_fw_start() {
	local cfg=$1 workers=$2 log=$3 bin sock
	shift 3
	bin=$(vfw_bin)
	[[ -x $bin ]] || { vfw_err "no vnetfw binary at $bin (build first)"; return 1; }
	sock=$(vfw_config_socket "$cfg")
	[[ -n $sock ]] || { vfw_err "$cfg names no control.socket"; return 1; }
	mkdir -p "$(dirname "$sock")"
	local -a eal app=(-c "$cfg")
	mapfile -t eal < <(vfw_fw_eal_args "$workers" "vfw-$VFW_TOPO_ID")
	# shellcheck disable=SC2206 # word splitting of the extra args is wanted
	eal+=(${VNETFW_EAL_EXTRA:-})
	((workers > 1)) && app+=(--workers "$workers")
	echo "ip netns exec $VFW_NS_FW $bin ${eal[*]} -- ${app[*]} $*" >"$log.cmd"
	vfw_spawn "$log" ip netns exec "$VFW_NS_FW" "$bin" "${eal[@]}" -- "${app[@]}" "$@"
	VFW_FW_PID=$VFW_LAST_PID
	VFW_FW_PREFIX=vfw-$VFW_TOPO_ID
	VFW_FW_SOCK=$sock
	VFW_FW_LOG=$log
	if ! vfw_wait_socket "$sock" "$VFW_FW_PID" 30; then
		vfw_err "vnetfw did not open $sock (log: $log); last lines:"
		tail -n 25 "$log" >&2
		return 1
	fi
}

# vfw_fw_stop: SIGTERM the appliance; true when it exited 0 by itself.
# Its output (with the counters printed at exit) ends up in its log.
vfw_fw_stop() {
	local rc=0
	[[ -n ${VFW_FW_PID:-} ]] || return 0
	VFW_STOP_DUMP=${VFW_FW_LOG:+$VFW_FW_LOG.hang} vfw_stop "$VFW_FW_PID" 15 || rc=1
	((VFW_STOP_RC == 0)) || rc=1
	VFW_FW_PID=''
	vfw_dpdk_release "${VFW_FW_PREFIX:-}"
	return "$rc"
}

# vfw_stat PATH: a number from "show stats" (e.g. drops.route_none).
vfw_stat() {
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"stats"}') || return 1
	r=$(vfw_json_get "$r" "stats.$1") || return 1
	printf '%s\n' "${r:-0}"
}
