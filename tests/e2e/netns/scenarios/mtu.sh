#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# mtu: port MTUs from the config (ports.*.mtu), on af_packet, for which
# DPDK reports 1500 whatever the interface. The vnet link runs at 1400,
# the cluster link at 9000 (configs/mtu.yaml); vnetfw's side of both veths
# starts at 1500 and vnetfw sets them (1400 through ethdev, 9000 on the
# interface itself: DPDK 22.11's af_packet takes at most 1500 through
# ethdev). With ring frames too small for 9000, vnetfw refuses to start and
# says which framesz it needs; with that framesz it runs, and uses the
# configured MTUs: a 3000-byte datagram without DF crosses to the cluster
# whole (the server reassembles nothing, packets_fragmented does not move),
# its 3000-byte echo is cut for the 1400 vnet link, a 2028-byte DF ping
# from the cluster gets fragmentation needed with MTU 1400. A live change
# of an MTU (apply, SIGHUP) is refused and changes nothing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

VNET_MTU=1400
CL_MTU=9000
SIZE=3000
# 32767 mbufs of 9 KiB for the jumbo port: ~300 MB whether or not the
# machine's hugepages are free; plain memory, enough of it
export VNETFW_NO_HUGE=1 VNETFW_EAL_EXTRA="-m 1024"

# Python side (Debian python3, standard library). Path MTU discovery off
# (IP_PMTUDISC_DONT) on both ends: no DF, so that what vnetfw does with a
# long datagram is fragmenting it or not, never fragmentation needed.
#   echo ADDR PORT          byte-exact UDP echo, logs "PEER LEN"
#   big HOST PORT SIZE      SIZE random bytes there and back, compared
MTU_PY='
import os, socket, sys
IP_MTU_DISCOVER, IP_PMTUDISC_DONT = 10, 0   # not in the socket module

def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    return s

def cmd_echo(addr, port):
    s = sock()
    s.bind((addr, int(port)))
    while True:
        d, a = s.recvfrom(65535)
        print("%s:%d %d" % (a[0], a[1], len(d)), flush=True)
        s.sendto(d, a)

def cmd_big(host, port, size):
    s = sock()
    s.settimeout(2.0)
    data = os.urandom(int(size))
    for _ in range(3):
        s.sendto(data, (host, int(port)))
        try:
            d, a = s.recvfrom(65535)
        except socket.timeout:
            continue
        print("sent %d bytes, got %d bytes from %s:%d, %s" % (
            len(data), len(d), a[0], a[1], "identical" if d == data else "DIFFERENT"))
        sys.exit(0 if d == data else 1)
    print("no reply")
    sys.exit(1)

if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
'
ctl() { "$(vfw_ctl_bin)" --socket "$VFW_FW_SOCK" "$@"; }
# kernel counters of a namespace (/proc/net/snmp is per namespace)
# shellcheck disable=SC2016 # the awk program's $i are awk's
ip_stat() { # NS FIELD
	ip netns exec "$1" awk -v f="$2" '/^Ip:/ { if (!n++) { for (i = 2; i <= NF; i++) h[i] = $i }
		else for (i = 2; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp
}
if_mtu() { # NS IFACE
	ip -n "$1" -o link show dev "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'
}
port_mtu() { # ROLE: from show ports
	local r
	r=$(ctl --json show ports 2>/dev/null) || { echo "?"; return 0; }
	"$VFW_PYTHON" - "$r" "$1" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
for p in v.get("ports", v if isinstance(v, list) else []):
    if p.get("role") == sys.argv[2]:
        print(p.get("mtu", "?"))
        break
else:
    print("?")
PY
}
expect_eq() { # WHAT SEEN WANT
	if [[ $2 == "$3" ]]; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (seen '$2', want '$3')"
	fi
}
log_has() { grep -qE -- "$1" "$NT_FW_LOG"; }
lines() { wc -l <"$1"; }

# =====================================================================
nt_begin mtu
CLI=$VFW_TOPO_CLIENT
SRV=$VFW_TOPO_SERVER
FWCL=$VFW_TOPO_FW_CL

# The far ends of the links run at the links' MTUs; vnetfw's ends (fw-vnet,
# fw-cl) stay at 1500 until vnetfw sets them.
ip -n "$VFW_NS_VNET" link set eth0 mtu "$VNET_MTU"
ip -n "$VFW_NS_CL" link set eth0 mtu "$CL_MTU"
vfw_spawn "$NT_DIR/udp-server.log" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u -c "$MTU_PY" echo "$SRV" 5353
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" udp 5353 || vfw_die "UDP echo on the server did not start"

vfw_info "1. ring frames too small for the cluster MTU: no start, the framesz it takes"
sed "s|@SOCKET@|$NT_DIR/ctl.sock|" "$NT_HERE/configs/mtu.yaml" >"$NT_DIR/config.yaml"
mapfile -t eal < <(vfw_fw_eal_args 1 "vfw-$VFW_TOPO_ID-small" 2>/dev/null)
eal+=(-m 1024)
rc=0
timeout -k 5 60 ip netns exec "$VFW_NS_FW" "$(vfw_bin)" "${eal[@]}" -- -c "$NT_DIR/config.yaml" \
	>"$NT_DIR/small-frames.log" 2>&1 || rc=$?
expect_eq "framesz=4096 with mtu 9000: vnetfw exits 1" "$rc" 1
sed -n 's/^vnetfw: /    /p' "$NT_DIR/small-frames.log"
nt_check "  ... the error names ports.cluster.mtu 9000 and the frames' limit (4016)" \
	grep -q "ports.cluster.mtu 9000 does not fit the ring frames of net_af_packet1 (net_af_packet): framesz 4096 holds IP packets of up to 4016 bytes" \
	"$NT_DIR/small-frames.log"
want=$(grep -o 'framesz=[0-9]*,blocksz=[0-9]*' "$NT_DIR/small-frames.log" | head -n 1 || true)
expect_eq "  ... and says which framesz (and blocksz) 9000 needs" "$want" "framesz=9216,blocksz=36864"
expect_eq "  ... fw-cl untouched" "$(if_mtu "$VFW_NS_FW" "$VFW_IF_CL")" 1500

vfw_info "2. with the framesz it asked for: running, at the configured MTUs"
VFW_FW_CLUSTER_VDEV="net_af_packet1,iface=$VFW_IF_CL,${want:-framesz=9216,blocksz=36864}" \
	nt_start_fw configs/mtu.yaml 1
nt_check "log: port vnet at mtu $VNET_MTU" log_has "port vnet \(net_af_packet0, id [0-9]+\): mac [0-9A-Fa-f:]+, mtu $VNET_MTU,"
nt_check "log: port cluster at mtu $CL_MTU" log_has "port cluster \(net_af_packet1, id [0-9]+\): mac [0-9A-Fa-f:]+, mtu $CL_MTU,"
nt_check "log: 9000 set on fw-cl directly (ethdev takes at most 1500)" \
	log_has "port cluster: MTU $CL_MTU set on interface $VFW_IF_CL directly \(DPDK.s net_af_packet takes at most 1500 through ethdev\)"
expect_eq "show ports: vnet mtu" "$(port_mtu vnet)" "$VNET_MTU"
expect_eq "show ports: cluster mtu" "$(port_mtu cluster)" "$CL_MTU"
expect_eq "kernel: fw-vnet mtu (set through ethdev)" "$(if_mtu "$VFW_NS_FW" "$VFW_IF_VNET")" "$VNET_MTU"
expect_eq "kernel: fw-cl mtu (set on the interface)" "$(if_mtu "$VFW_NS_FW" "$VFW_IF_CL")" "$CL_MTU"

vfw_info "3. $SIZE bytes without DF: whole on the 9000 link, cut for the 1400 one"
nt_check "ping client -> server (neighbors learned)" vfw_ping "$VFW_NS_VNET" "$SRV"
n=$(lines "$NT_DIR/udp-server.log")
fragd=$(vfw_stat events.packets_fragmented)
srv_reasm=$(ip_stat "$VFW_NS_CL" ReasmReqds)
cli_reasm=$(ip_stat "$VFW_NS_VNET" ReasmReqds)
big() {
	local out
	out=$(ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -c "$MTU_PY" big "$SRV" 5353 "$SIZE") ||
		{ echo "    $out"; return 1; }
	echo "    $out"
}
nt_check "UDP $SIZE bytes client -> server:5353 and back, identical" big
got=$(tail -n +"$((n + 1))" "$NT_DIR/udp-server.log" | grep -c "^$CLI:[0-9]* $SIZE\$" || true)
nt_check "  ... the server got $SIZE bytes from the client ($got time(s))" test "$got" -ge 1
expect_eq "  ... in one piece: the server reassembled nothing (IpReasmReqds)" \
	"$(ip_stat "$VFW_NS_CL" ReasmReqds)" "$srv_reasm"
expect_eq "  ... vnetfw fragmented only the echoes, for the $VNET_MTU link (packets_fragmented +$got)" \
	"$(vfw_stat events.packets_fragmented)" "$((fragd + got))"
nt_check "  ... which the client reassembled (IpReasmReqds moved)" \
	test "$(ip_stat "$VFW_NS_VNET" ReasmReqds)" -gt "$cli_reasm"

vfw_info "4. DF, longer than the vnet MTU: fragmentation needed with $VNET_MTU"
mtu_drops=$(vfw_stat drops.exceeds_mtu)
df_ping() {
	local out
	out=$(ip netns exec "$VFW_NS_CL" ping -n -c 1 -W 2 -M 'do' -s 2000 "$CLI" 2>&1) || true
	grep -E "From|transmitted" <<<"$out" | sed 's/^/    /' || true
	[[ $out == *"From $FWCL icmp_seq=1 Frag needed and DF set (mtu = $VNET_MTU)"* ]]
}
nt_check "ping -M do -s 2000 server -> client: frag needed (mtu = $VNET_MTU) from 10.240.0.4" df_ping
nt_expect_increase "  ... dropped as exceeds_mtu" drops.exceeds_mtu "$mtu_drops"
pmtu() { [[ $(ip -n "$VFW_NS_CL" route get "$CLI") == *"mtu $VNET_MTU"* ]]; }
nt_check "  ... the server's kernel learned PMTU $VNET_MTU for the client" pmtu
exact() { ip netns exec "$VFW_NS_VNET" ping -n -q -c 1 -W 2 -M 'do' -s $((VNET_MTU - 28)) "$SRV" >/dev/null 2>&1; }
nt_check "ping -M do of exactly $VNET_MTU bytes client -> server and back" exact

vfw_info "5. an MTU cannot change while running"
gen0=$(vfw_stat generation)
sed 's/mtu: 9000}/mtu: 1500}/' "$NT_DIR/config.yaml" >"$NT_DIR/other-mtu.yaml"
out=$(ctl apply "$NT_DIR/other-mtu.yaml" 2>&1) && rc=0 || rc=$?
echo "    $out" | head -n 3
nt_check "apply with ports.cluster.mtu 1500: refused" test "$rc" -ne 0
nt_check "  ... saying which MTU and why" \
	grep -q "ports.cluster.mtu: 9000 -> 1500 cannot change while running (restart vnetfw to change it)" <<<"$out"
cp "$NT_DIR/other-mtu.yaml" "$NT_DIR/config.yaml"
kill -HUP "$VFW_FW_PID"
nt_check "SIGHUP with the file changed so: refused and logged" \
	vfw_wait_for 10 log_has "reload failed, configuration unchanged: .*ports.cluster.mtu: 9000 -> 1500"
expect_eq "  ... generation unchanged" "$(vfw_stat generation)" "$gen0"
expect_eq "  ... show ports: cluster mtu" "$(port_mtu cluster)" "$CL_MTU"
expect_eq "  ... kernel: fw-cl mtu" "$(if_mtu "$VFW_NS_FW" "$VFW_IF_CL")" "$CL_MTU"
nt_end
