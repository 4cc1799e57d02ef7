#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# testpmd-memif: vnetfw wired to DPDK's testpmd over memif, as an NFV lab
# does (vnetfw is the memif server of both ports, each testpmd a client).
# No namespaces: the peers are DPDK processes. Three phases, each with a
# txonly generator on one port and an rxonly sink on the other:
#   1. vnet -> cluster, UDP to 10.240.1.10:9: allowed by udp-9-in; every
#      packet vnetfw transmits on the cluster port reaches the sink;
#   2. the same from an internet source: udp-9-in only takes VirtualNetwork
#      sources, so DenyAllInBound drops it and nothing reaches the sink;
#   3. cluster -> internet (192.0.2.1 via the vnet gateway): SNAT.
# The machine has 2 cores and three busy-polling DPDK processes share
# them, so rates are low; the checks are about counts, not speed.
# MEMIF_WORKERS=N (testpmd-memif2 sets 2): vnetfw runs N workers and the
# testpmd peers connect with N queue pairs, as they must (a peer with
# fewer makes DPDK 22.11's memif server hand every packet to two workers,
# which the "received each packet the generator sent once" checks catch).
# MEMIF_PMD=vhost (testpmd-vhost): the same over vhost-user, vnetfw's
# ports net_vhost (the socket servers), testpmd's net_virtio_user, which
# needs hugepages.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../../../scripts/lib/common.sh
. "$HERE/../../../../scripts/lib/common.sh"
# shellcheck source=../../../scripts/lib/proc.sh
. "$VFW_ROOT/scripts/lib/proc.sh"
# shellcheck source=../../../scripts/lib/hugepages.sh
. "$VFW_ROOT/scripts/lib/hugepages.sh"

NAME=${MEMIF_NAME:-testpmd-memif}
W=${MEMIF_WORKERS:-1}
PMD=${MEMIF_PMD:-memif}
vfw_need_root
TESTPMD=$(command -v dpdk-testpmd || true)
if [[ -z $TESTPMD ]]; then
	vfw_skip "netns/$NAME: dpdk-testpmd is not installed (Debian package dpdk)"
	exit 77
fi
if [[ $PMD == vhost ]] && { [[ ${VNETFW_NO_HUGE:-0} == 1 ]] || ! vfw_hugepages_usable; }; then
	vfw_skip "netns/$NAME: virtio-user needs hugepages"
	exit 77
fi
DIR=$(mktemp -d "/tmp/vnetfw-$NAME.XXXXXX")
ID=$(vfw_run_id)
FW_PID=''
done_ok=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	vfw_stop_all
	vfw_dpdk_release "vfw-$ID" "gen-$ID" "sink-$ID"
	if ((done_ok)) && ((VFW_FAILED == 0)) && [[ -z ${NT_KEEP:-} ]]; then
		rm -rf "$DIR"
	elif ((!done_ok)); then
		vfw_fail "netns/$NAME: aborted (exit status $rc); logs in $DIR"
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sed -e "s|/run/vnetfw/memif.sock|$DIR/ctl.sock|" -e "s/net_memif\([01]\)/net_$PMD\1/" \
	"$HERE/../configs/memif.yaml" >"$DIR/config.yaml"
SOCK=$DIR/ctl.sock
mapfile -t mem < <(vfw_eal_mem_args)
# shellcheck disable=SC2206 # word splitting of the extra args is wanted
extra=(${VNETFW_EAL_EXTRA:-})
lcores=(-l "0,1")
app=(-c "$DIR/config.yaml")
if ((W > 1)); then # the workers share core 1, as in workers2
	lc=0@0
	for ((i = 1; i <= W; i++)); do lc+=",$i@1"; done
	lcores=("--lcores=$lc")
	app+=(--workers "$W")
fi
if [[ $PMD == vhost ]]; then
	vdevs=("--vdev=net_vhost0,iface=$DIR/vnet.sock,queues=$W"
		"--vdev=net_vhost1,iface=$DIR/cluster.sock,queues=$W")
	VNET=$DIR/vnet.sock
	CL=$DIR/cluster.sock
else
	vdevs=("--vdev=net_memif0,role=server,id=0,socket=$DIR/vnet.memif"
		"--vdev=net_memif1,role=server,id=0,socket=$DIR/cluster.memif")
	VNET=$DIR/vnet.memif
	CL=$DIR/cluster.memif
fi
vfw_spawn "$DIR/vnetfw.log" "$(vfw_bin)" "${lcores[@]}" --no-pci --file-prefix="vfw-$ID" \
	"${vdevs[@]}" "${mem[@]}" "${extra[@]}" -- "${app[@]}"
FW_PID=$VFW_LAST_PID
if ! vfw_wait_socket "$SOCK" "$FW_PID" 30; then
	vfw_err "vnetfw did not open $SOCK; last lines of its log:"
	tail -n 25 "$DIR/vnetfw.log" >&2
	exit 1
fi
vfw_info "netns/$NAME: vnetfw $FW_PID, work dir $DIR"

stat() { # PATH: a number from show stats
	local r
	r=$(vfw_ctl_json "$SOCK" '{"cmd":"show","what":"stats"}') || return 1
	r=$(vfw_json_get "$r" "stats.$1") || return 1
	printf '%s\n' "${r:-0}"
}
link_up() { # ROLE
	local r
	r=$(vfw_ctl_json "$SOCK" '{"cmd":"show","what":"ports"}') || return 1
	"$VFW_PYTHON" - "$r" "$1" <<'PY'
import json, sys
ports = json.loads(sys.argv[1]).get("ports") or []
sys.exit(0 if any(p.get("role") == sys.argv[2] and p.get("link") == "up"
                  for p in ports) else 1)
PY
}
# testpmd PREFIX SOCKETFILE LOG ARGS...: a testpmd client on one memif port.
# Non-interactive testpmd stops forwarding at the end of its input, so its
# stdin is a FIFO that this script holds open (fd 7). SIGTERM makes it
# stop, print its statistics and exit.
mkfifo "$DIR/stdin"
exec 7<>"$DIR/stdin"
testpmd() {
	local prefix=$1 sock=$2 log=$3
	shift 3
	local -a dev=(--no-huge -m 512 --log-level=pmd.net.memif:warning
		"--vdev=net_memif0,role=client,id=0,socket=$sock")
	# virtio-user shares its memory with the vhost side: hugepage files
	[[ $PMD == vhost ]] && dev=(--single-file-segments -m 256
		"--vdev=net_virtio_user0,path=$sock,queues=$W")
	"$TESTPMD" --no-pci -l 0,1 --file-prefix="$prefix-$ID" "${dev[@]}" -- \
		--total-num-mbufs=8192 --rxq="$W" --txq="$W" --auto-start "$@" <&7 >"$log" 2>&1 &
	VFW_LAST_PID=$!
	VFW_PIDS+=("$VFW_LAST_PID")
}
# The RX-packets/TX-packets of port 0 in testpmd's closing statistics
# (the port's line, with RX-total/TX-total: with several queues, testpmd
# prints a line per stream before it).
pmd_count() { # LOG RX|TX
	sed -n "s/.*$2-packets: *\([0-9]*\).*$2-total.*/\1/p" "$1" | head -n 1
}
# run_phase NAME GEN_SOCK SINK_SOCK SINK_ROLE SECONDS GEN_ARGS...:
# sink first (until its link is up), then the generator for SECONDS.
run_phase() {
	local name=$1 gsock=$2 ssock=$3 srole=$4 secs=$5 gpid spid grole
	shift 5
	grole=vnet
	[[ $srole == vnet ]] && grole=cluster
	testpmd sink "$ssock" "$DIR/$name-sink.log" --forward-mode=rxonly
	spid=$VFW_LAST_PID
	vfw_wait_for 30 link_up "$srole" || vfw_warn "  $srole memif link not up"
	testpmd gen "$gsock" "$DIR/$name-gen.log" --forward-mode=txonly "$@"
	gpid=$VFW_LAST_PID
	vfw_wait_for 30 link_up "$grole" || vfw_warn "  $grole memif link not up"
	sleep "$secs"
	vfw_stop "$gpid" 15 || true
	sleep 1 # what vnetfw still holds reaches the sink
	vfw_stop "$spid" 15 || true
}
ge() { # WHAT ACTUAL MIN
	if [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3)); then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 ($2, want >= $3)"
	fi
}
# once() WHAT RECEIVED SENT: every packet received at most once; what
# still sits in the generator's rings when it leaves (1024 slots each,
# memif's default) is lost with them.
once() {
	if [[ $2 =~ ^[0-9]+$ && $3 =~ ^[0-9]+$ ]] && (($2 <= $3 && $2 + 1024 * W >= $3)); then
		vfw_pass "  $1 ($2 of $3)"
	else
		vfw_fail "  $1 ($2, want $3 less at most $((1024 * W)))"
	fi
}
eq() { # WHAT ACTUAL EXPECTED
	if [[ $2 == "$3" ]]; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (got $2, want $3)"
	fi
}


# With two workers the client is 10.0.1.11, whose flow to 10.240.1.10 is
# owned by worker 1 (not the first worker, which every port has): a
# peer without a second queue pair then shows (memif: packets twice;
# vhost: nothing reaches the sink).
CLIENT=10.0.1.10
((W == 2)) && CLIENT=10.0.1.11
vfw_info "1. vnet -> cluster, UDP $CLIENT -> 10.240.1.10:9 (allowed)"
c0=$(stat ports.cluster.tx)
r0=$(stat ports.vnet.rx)
run_phase allow "$VNET" "$CL" cluster 5 \
	--tx-ip="$CLIENT,10.240.1.10" --tx-udp=1024,9 --eth-peer=0,02:00:00:00:00:01
c1=$(stat ports.cluster.tx)
r1=$(stat ports.vnet.rx)
ge "generator sent" "$(pmd_count "$DIR/allow-gen.log" TX)" 1000
once "vnetfw received each packet the generator sent once" "$((r1 - r0))" \
	"$(pmd_count "$DIR/allow-gen.log" TX)"
ge "vnetfw transmitted on the cluster port" "$((c1 - c0))" 1000
eq "the sink received what vnetfw transmitted" \
	"$(pmd_count "$DIR/allow-sink.log" RX)" "$((c1 - c0))"
ge "udp-9-in hits" "$(vfw_rule_hits "$SOCK" udp-9-in)" 1

vfw_info "2. internet -> cluster, UDP to 10.240.1.10:9 (not VirtualNetwork: DenyAllInBound)"
d0=$(stat drops.acl_deny)
run_phase deny "$VNET" "$CL" cluster 3 \
	--tx-ip=198.51.100.7,10.240.1.10 --tx-udp=1024,9 --eth-peer=0,02:00:00:00:00:01
d1=$(stat drops.acl_deny)
ge "generator sent" "$(pmd_count "$DIR/deny-gen.log" TX)" 1000
ge "denied and counted (acl_deny)" "$((d1 - d0))" 1000
eq "the sink received nothing" "$(pmd_count "$DIR/deny-sink.log" RX)" 0

vfw_info "3. cluster -> internet (192.0.2.1 via the vnet gateway), SNAT"
v0=$(stat ports.vnet.tx)
s0=$(stat events.snat_translated)
r0=$(stat ports.cluster.rx)
run_phase snat "$CL" "$VNET" vnet 5 \
	--tx-ip=10.240.1.10,192.0.2.1 --tx-udp=5000,53 --eth-peer=0,02:00:00:00:00:02
v1=$(stat ports.vnet.tx)
s1=$(stat events.snat_translated)
r1=$(stat ports.cluster.rx)
once "vnetfw received each packet the generator sent once" "$((r1 - r0))" \
	"$(pmd_count "$DIR/snat-gen.log" TX)"
ge "vnetfw transmitted on the vnet port" "$((v1 - v0))" 1000
ge "SNAT sessions" "$((s1 - s0))" 1
snat_session() { # the flow left with the SNAT address, >= 1000 packets
	local r
	r=$(vfw_ctl_json "$SOCK" '{"cmd":"show","what":"sessions"}') || return 1
	"$VFW_PYTHON" - "$r" <<'PY'
import json, sys
ss = json.loads(sys.argv[1])["sessions"]["sessions"]
sys.exit(0 if any(s["original"]["source"] == "10.240.1.10" and
                  s["translated"]["source"] == "10.0.1.4" and
                  s["packets"][0] >= 1000 for s in ss) else 1)
PY
}
nt_check() { if "${@:2}"; then vfw_pass "  $1"; else vfw_fail "  $1"; fi; }
nt_check "show sessions: 10.240.1.10 -> 192.0.2.1 left as 10.0.1.4" snat_session
eq "the sink received what vnetfw transmitted" \
	"$(pmd_count "$DIR/snat-sink.log" RX)" "$((v1 - v0))"

mb=$(stat mbufs.in_use)
eq "no mbufs held once the traffic stopped" "$mb" 0

# the peers came and went: vnetfw logs each link change of its ports
for change in up down; do
	if grep -qE "port cluster \(net_${PMD}1\): link $change" "$DIR/vnetfw.log"; then
		vfw_pass "  the log says when the cluster link went $change"
	else
		vfw_fail "  the log says when the cluster link went $change"
	fi
done

if vfw_stop "$FW_PID" 15 && ((VFW_STOP_RC == 0)); then
	vfw_pass "  vnetfw exits 0 on SIGTERM"
else
	vfw_fail "  vnetfw exits 0 on SIGTERM (status $VFW_STOP_RC)"
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DIR/vnetfw.log"; then
	vfw_fail "  no sanitizer report in the vnetfw log"
fi
done_ok=1
if ((VFW_FAILED == 0)); then
	vfw_pass "netns/$NAME ($VFW_PASSED checks)"
	exit 0
fi
vfw_err "vnetfw log: $DIR/vnetfw.log"
exit 1
