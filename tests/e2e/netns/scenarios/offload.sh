#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# offload: checksum offload on a port that offers it. The cluster port is
# a net_tap (which offers IPv4/UDP/TCP checksum offload both ways) bridged
# to the cluster veth in the fw namespace; the vnet port stays af_packet,
# which offers none. vnetfw enables what is offered and says so (startup
# log, show ports); on the tap it trusts the port's GOOD/BAD flags, so a
# frame with a bad IPv4 header or UDP checksum is dropped with the named
# reasons, and the packets it builds itself (fragments of a 3000-byte
# datagram, a time exceeded) leave their IPv4 checksum to the port: the
# Linux peers accept them. NAT traffic crosses both kinds of port.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

TAP=fwtapcl
FAR=203.0.113.9     # beyond the vnet gateway, nothing there

# Python side (Debian python3, standard library):
#   echo ADDR PORT            byte-exact UDP echo, logs "PEER LEN"
#   big HOST PORT SIZE        SIZE bytes there and back, compared
#   frame IFACE DSTMAC SRC DST SPORT DPORT [badip|badudp]
#                             one UDP/IPv4 frame sent raw on IFACE
OFF_PY='
import hashlib, os, socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def cmd_echo(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        d, a = s.recvfrom(65535)
        print("%s:%d %d" % (a[0], a[1], len(d)), flush=True)
        s.sendto(d, a)

def cmd_big(host, port, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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

def cmd_frame(iface, dmac, src, dst, sport, dport, bad=""):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    smac = s.getsockname()[4]
    pl = b"offload-" + bad.encode()
    ulen = 8 + len(pl)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    u = struct.pack("!HHHH", int(sport), int(dport), ulen, 0) + pl
    uc = csum(ph + u) or 0xffff
    if bad == "badudp":
        uc ^= 0x1234
    u = u[:6] + struct.pack("!H", uc) + u[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x4242, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ic = csum(ip)
    if bad == "badip":
        ic ^= 0x1234
    ip = ip[:10] + struct.pack("!H", ic) + ip[12:]
    mac = bytes.fromhex(dmac.replace(":", ""))
    s.send(mac + smac + b"\x08\x00" + ip + u)

if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
'
off_py() { # NS ARGS...
	local ns=$1
	shift
	ip netns exec "$ns" "$VFW_PYTHON" -c "$OFF_PY" "$@"
}
big_ok() { # NS HOST PORT SIZE
	local out
	out=$(off_py "$@") || { echo "    $out"; return 1; }
	echo "    $out"
}
ctl() { "$(vfw_ctl_bin)" --socket "$VFW_FW_SOCK" "$@"; }
# port_field ROLE PATH: from show ports (e.g. checksum_offload.tx)
port_field() {
	local r
	r=$(ctl --json show ports 2>/dev/null) || { echo "?"; return 0; }
	"$VFW_PYTHON" - "$r" "$1" "$2" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
for p in v.get("ports", v if isinstance(v, list) else []):
    if p.get("role") == sys.argv[2]:
        x = p
        for k in sys.argv[3].split("."):
            x = x.get(k, "?") if isinstance(x, dict) else "?"
        print(",".join(x) if isinstance(x, list) else x)
        break
else:
    print("?")
PY
}
lines() { wc -l <"$1"; }
new_line_has() { tail -n +"$(($2 + 1))" "$1" | grep -qE -- "$3"; }
expect_rel() { # WHAT SEEN OP WANT
	if [[ $2 =~ ^[0-9]+$ ]] && test "$2" "$3" "$4"; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (seen $2, want $3 $4)"
	fi
}

# =====================================================================
nt_begin offload
FW=$VFW_TOPO_FW_VNET
FWCL=$VFW_TOPO_FW_CL
SRV=$VFW_TOPO_SERVER
CLI=$VFW_TOPO_CLIENT
INET=$VFW_TOPO_INET_HOST
mkdir -p "$NT_DIR/www"
echo "vnetfw-e2e-ok $VFW_TOPO_ID" >"$NT_DIR/www/index.html"
vfw_http_server "$VFW_NS_CL" "$SRV" 80 "$NT_DIR/www" "$NT_DIR/http-server.log"
vfw_spawn "$NT_DIR/udp-server.log" ip netns exec "$VFW_NS_CL" "$VFW_PYTHON" -u -c "$OFF_PY" echo "$SRV" 5353
vfw_spawn "$NT_DIR/udp-inet.log" ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -u -c "$OFF_PY" echo "$INET" 7007
vfw_wait_for 10 vfw_listening "$VFW_NS_CL" udp 5353 || vfw_die "UDP echo on the server did not start"
vfw_wait_for 10 vfw_listening "$VFW_NS_VNET" udp 7007 || vfw_die "UDP echo on the internet host did not start"

# the NAT config, with a net_tap as the cluster port
sed 's/net_af_packet1/net_tap0/' "$NT_HERE/configs/nat.yaml" >"$NT_DIR/nat-tap.yaml"
VFW_FW_CLUSTER_VDEV="net_tap0,iface=$TAP" nt_start_fw "$NT_DIR/nat-tap.yaml" 1
# the tap's kernel side and the cluster veth, bridged in the fw namespace.
# The kernel side needs a MAC of its own: the bridge keeps frames for its
# ports' MACs for itself, and the PMD's MAC (vnetfw's) starts equal to it.
# Bridged IPv4 stays out of iptables (which could reassemble fragments).
vfw_nsx "$VFW_NS_FW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
	net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1 || true
ip -n "$VFW_NS_FW" link set "$TAP" address 02:00:00:00:fe:fe
ip -n "$VFW_NS_FW" link add brcl type bridge
ip -n "$VFW_NS_FW" link set "$VFW_IF_CL" master brcl
ip -n "$VFW_NS_FW" link set "$TAP" master brcl
ip -n "$VFW_NS_FW" link set "$TAP" up
ip -n "$VFW_NS_FW" link set brcl up

vfw_info "1. offloads enabled where offered, and shown"
log_has() { grep -qF -- "$1" "$NT_FW_LOG"; }
nt_check "log: cluster (net_tap) gets rx and tx IPv4/UDP/TCP checksum offload" \
	log_has "port cluster: checksum offload rx IPV4_CKSUM,UDP_CKSUM,TCP_CKSUM, tx IPV4_CKSUM,UDP_CKSUM,TCP_CKSUM"
nt_check "log: vnet (net_af_packet) has none" \
	log_has "port vnet: checksum offload rx none, tx none"
tx=$(port_field cluster checksum_offload.tx)
nt_check "show ports: cluster tx checksum offload ($tx)" test "$tx" = "IPV4_CKSUM,UDP_CKSUM,TCP_CKSUM"
tx=$(port_field vnet checksum_offload.tx)
nt_check "show ports: vnet tx checksum offload ($tx)" test "$tx" = ""

vfw_info "2. NAT traffic across both kinds of port"
udp_ok() { # NS HOST PORT
	local out
	out=$(off_py "$1" big "$2" "$3" 64) || return 1
	[[ $out == *identical* ]]
}
http_ok() {
	local body
	body=$(vfw_http_get "$@") || return 1
	[[ $body == "vnetfw-e2e-ok $VFW_TOPO_ID" ]]
}
nt_check "SNAT udp: server -> 198.51.100.7:7007" vfw_wait_for 10 udp_ok "$VFW_NS_CL" "$INET" 7007
nt_check "DNAT tcp: client -> http://10.0.1.4:8080/" \
	http_ok "$VFW_NS_VNET" "http://$FW:8080/"
n=$(lines "$NT_DIR/udp-server.log")
frag_before=$(vfw_stat events.fragments)
fragd_before=$(vfw_stat events.packets_fragmented)
nt_check "DNAT udp: 3000 bytes client -> 10.0.1.4:5300 and back, identical" \
	big_ok "$VFW_NS_VNET" big "$FW" 5300 3000
nt_check "  ... the server got 3000 bytes from 10.0.1.10 (fragments vnetfw cut, IPv4 checksums by the tap)" \
	new_line_has "$NT_DIR/udp-server.log" "$n" "^$CLI:[0-9]+ 3000$"
nt_expect_increase "  ... vnetfw fragmented the request for the tap" events.packets_fragmented "$fragd_before"
nt_expect_increase "  ... the answer's fragments came in by the tap as fragments" events.fragments "$frag_before"
n=$(lines "$NT_DIR/udp-inet.log")
nt_check "SNAT udp: 3000 bytes server -> 198.51.100.7:7007 and back, identical" \
	big_ok "$VFW_NS_CL" big "$INET" 7007 3000
nt_check "  ... the internet host got 3000 bytes from 10.0.1.4" \
	new_line_has "$NT_DIR/udp-inet.log" "$n" "^$FW:[0-9]+ 3000$"

vfw_info "3. an error vnetfw builds leaves by the tap: the port computes its IPv4 checksum"
sent_before=$(vfw_stat events.icmp_errors_sent)
ttl1_ping() {
	local out
	out=$(ip netns exec "$VFW_NS_CL" ping -n -c 1 -t 1 -W 2 "$FAR" 2>&1) || true
	grep -E "From|transmitted" <<<"$out" | sed 's/^/    /' || true
	[[ $out == *"From $FWCL icmp_seq=1 Time to live exceeded"* ]]
}
nt_check "ping -t 1 from the cluster: time exceeded from 10.240.0.4 accepted by Linux" ttl1_ping
nt_expect_increase "  ... counted" events.icmp_errors_sent "$sent_before"

vfw_info "4. the tap's verdict on checksums is the parser's"
mac=$(port_field cluster mac)
n=$(lines "$NT_DIR/udp-inet.log")
l4_before=$(vfw_stat drops.l4_bad_checksum)
ip_before=$(vfw_stat drops.ipv4_bad_checksum)
off_py "$VFW_NS_CL" frame eth0 "$mac" "$SRV" "$INET" 41000 7007 badudp
off_py "$VFW_NS_CL" frame eth0 "$mac" "$SRV" "$INET" 41001 7007 badip
off_py "$VFW_NS_CL" frame eth0 "$mac" "$SRV" "$INET" 41002 7007
sleep 1
expect_rel "bad UDP checksum: dropped as l4_bad_checksum" "$(vfw_stat drops.l4_bad_checksum)" -eq $((l4_before + 1))
expect_rel "bad IPv4 header checksum: dropped as ipv4_bad_checksum" \
	"$(vfw_stat drops.ipv4_bad_checksum)" -eq $((ip_before + 1))
seen() { tail -n +"$((n + 1))" "$NT_DIR/udp-inet.log" | grep -c . || true; }
nt_check "only the good frame of the three reached the internet host ($(seen) datagram)" test "$(seen)" = 1
nt_end
