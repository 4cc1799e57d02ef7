#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# nat: DNAT, SNAT, hairpin, ICMP errors and SNAT port exhaustion with real
# Linux peers (configs/nat.yaml), then DNAT/SNAT again with 2 workers.
# DNAT 10.0.1.4:8080 -> 10.240.1.10:80 is seen from the real client; the
# cluster egress is seen as 10.0.1.4 except towards 10.0.0.0/8 (exclude);
# a pod reaching 10.0.1.4:8080 is hairpinned (seen as 10.240.0.4); port
# unreachable, time exceeded (UDP and ping) and fragmentation needed come
# back translated (socket error queue + raw socket: addresses, ports, every
# checksum); the tiny pool (4 ports) drops and counts the 5th flow and
# gives its ports back when the sessions age out; show nat counts. With 2
# workers, flows owned by each worker meet their sessions (hand-off).
# The appliance's own ICMP errors: ping -t 1 and a UDP probe with TTL 1
# (what traceroute sends) through SNAT get time exceeded from 10.240.0.4
# quoting the client's own packet; ping -M do -s 1600 gets fragmentation
# needed with MTU 1500. 3000-byte datagrams cross DNAT, SNAT and hairpin
# both ways (reassembled by the fw namespace's kernel for af_packet, and
# fragmented again by vnetfw). Skips itself (exit 77) when the binary has
# no NAT.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

# Test hosts the scenario adds to the topology of scripts/lib/netns.sh.
NAT_TINY_CLIENT=10.240.2.20   # the only source of SNAT rule "tiny"
NAT_POD=10.240.3.30           # a cluster pod that hairpins
NAT_FAR=203.0.113.9           # one hop beyond the vnet router
NAT_FAR_MTU=1280              # MTU of that last hop
# With 2 workers a flow belongs to crc32(outside addresses) mod 2: the
# client 10.0.1.10 and the host 198.51.100.7 map to worker 0, these two
# to worker 1, so that both workers own sessions.
NAT_CLIENT2=10.0.1.11         # a second vnet client
NAT_INET2=198.51.100.9        # a second internet host

# Python side of the checks (Debian python3, standard library only):
#   echo ADDR PORT                 byte-exact UDP echo, logs "PEER LEN SHA1"
#   big HOST PORT SIZE [SRC]       SIZE bytes there and back, compared
#   flows SRC HOST PORT N          N concurrent new UDP flows, "ok|fail" each
#   err HOST PORT [k=v...]         one datagram; the ICMP error about it as
#                                  the socket error queue and a raw socket
#                                  see it, as JSON
NAT_PY='
import errno, hashlib, json, os, select, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s  # 0xffff when the data carries a valid checksum

def pattern(n, seed):
    out, h = b"", seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return out[:n]

def udp_sock(src, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src or sport:
        s.bind((src or "0.0.0.0", sport))
    return s

def cmd_echo(addr, port):
    """Byte-exact UDP echo; logs PEER_IP:PEER_PORT LEN SHA1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        d, a = s.recvfrom(65535)
        print("%s:%d %d %s" % (a[0], a[1], len(d), hashlib.sha1(d).hexdigest()[:12]), flush=True)
        s.sendto(d, a)

def cmd_big(host, port, size, src=""):
    """Send SIZE bytes, expect the same bytes back (3 tries of 2 s)."""
    s = udp_sock(src)
    data = pattern(int(size), "%s-%d" % (host, os.getpid()))
    s.settimeout(2.0)
    for _ in range(3):
        s.sendto(data, (host, int(port)))
        try:
            d, a = s.recvfrom(65535)
        except socket.timeout:
            continue
        print("sent %d bytes sha1 %s, got %d bytes sha1 %s from %s:%d" % (
            len(data), hashlib.sha1(data).hexdigest()[:12], len(d),
            hashlib.sha1(d).hexdigest()[:12], a[0], a[1]))
        sys.exit(0 if d == data else 1)
    print("no reply from %s:%s" % (host, port))
    sys.exit(1)

def cmd_flows(src, host, port, n, wait="1.0"):
    """N new UDP flows from SRC (fresh source ports), one datagram each, all
    sockets open at once; prints ok/fail per flow."""
    socks, res = [], []
    for i in range(int(n)):
        s = udp_sock(src)
        s.settimeout(float(wait))
        socks.append(s)
        s.sendto(b"flow-%d" % i, (host, int(port)))
        try:
            s.recvfrom(65535)
            res.append("ok")
        except socket.timeout:
            res.append("fail")
    print(" ".join(res))

IP_RECVERR = 11
IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # not in the socket module
SO_EE_ORIGIN_ICMP = 2

def udp_csum(src, dst, sport, dport, payload):
    ulen = 8 + len(payload)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    c = 0xffff - csum(ph + struct.pack("!HHHH", sport, dport, ulen, 0) + payload)
    return c or 0xffff

def parse_icmp_error(pkt, lsrc, lport, sent):
    """Our view of an ICMP error received by a raw socket (IP header
    included); None unless it quotes a UDP datagram from lsrc:lport.
    sent: (dst, dport, payload) of the datagram we sent."""
    ohl = (pkt[0] & 15) * 4
    icmp = pkt[ohl:struct.unpack("!H", pkt[2:4])[0]]
    if len(icmp) < 8 + 20 + 8 or icmp[0] not in (3, 11, 12):
        return None
    inner = icmp[8:]
    ihl = (inner[0] & 15) * 4
    if inner[9] != 17:
        return None
    isrc, idst = socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20])
    udp = inner[ihl:]
    sport, dport, ulen, _ = struct.unpack("!HHHH", udp[:8])
    if isrc != lsrc or sport != lport:
        return None
    r = {"outer_src": socket.inet_ntoa(pkt[12:16]),
         "outer_dst": socket.inet_ntoa(pkt[16:20]),
         "outer_ip_csum_ok": csum(pkt[:ohl]) == 0xffff,
         "type": icmp[0], "code": icmp[1],
         "mtu": struct.unpack("!H", icmp[6:8])[0],
         "icmp_csum_ok": csum(icmp) == 0xffff,
         "inner_src": isrc, "inner_dst": idst, "inner_sport": sport,
         "inner_dport": dport,
         "inner_ip_csum_ok": csum(inner[:ihl]) == 0xffff}
    # the quoted UDP checksum is the one we sent (whether or not the
    # quote holds the whole datagram)
    want = udp_csum(lsrc, sent[0], lport, sent[1], sent[2])
    r["inner_udp_csum_ok"] = struct.unpack("!H", udp[6:8])[0] == want
    itot = struct.unpack("!H", inner[2:4])[0]
    if len(inner) >= itot:
        ph = inner[12:20] + struct.pack("!BBH", 0, 17, ulen)
        r["inner_udp_csum_ok"] &= csum(ph + udp[:ulen]) == 0xffff
    return r

def cmd_err(host, port, *opts):
    """Send one UDP datagram and report the ICMP error about it: what the
    socket error queue says (IP_RECVERR) and what the packet looked like
    (raw ICMP socket): JSON on stdout. Options: src=A sport=P ttl=N
    size=N df=1 timeout=S."""
    o = dict(x.split("=", 1) for x in opts)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s = udp_sock(o.get("src", ""), int(o.get("sport", 0)))
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    if "ttl" in o:
        s.setsockopt(socket.SOL_IP, socket.IP_TTL, int(o["ttl"]))
    if o.get("df") == "1":
        s.setsockopt(socket.SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    payload = b"x" * int(o.get("size", 32))
    # connected: the kernel matches the quoted header against the whole
    # 4-tuple, and getsockname() knows the local address
    s.connect((host, int(port)))
    s.send(payload)
    lsrc, lport = s.getsockname()
    out = {"local": "%s:%d" % (lsrc, lport)}
    deadline = time.time() + float(o.get("timeout", 3))
    got_q = got_raw = False
    recv_tries = 0
    while time.time() < deadline and not (got_q and got_raw):
        r, _, x = select.select([raw] + ([] if got_q else [s]), [], [s], 0.2)
        if raw in r:
            pkt = raw.recv(65535)
            e = parse_icmp_error(pkt, lsrc, lport, (host, int(port), payload))
            if e is not None and not got_raw:
                out.update(e)
                got_raw = True
        if not got_q and (s in x or s in r):
            if "recv" not in out:
                # what a connected socket next call sees first (nc -u
                # says "Connection refused"); the error queue keeps the
                # details
                s.setblocking(False)
                try:
                    s.recv(100)
                    out["recv"] = "data"
                except BlockingIOError:
                    # the kernel queues the error (and wakes us) a moment
                    # before it sets the socket error that recv reports:
                    # look again before the error queue is read, which
                    # would clear it (soft errors never set it: give up
                    # after a few looks)
                    recv_tries += 1
                    if recv_tries < 5:
                        time.sleep(0.01)
                        continue
                except OSError as e:
                    out["recv"] = errno.errorcode.get(e.errno, str(e.errno))
            try:
                d, anc, fl, a = s.recvmsg(65535, 512, socket.MSG_ERRQUEUE)
            except BlockingIOError:
                continue
            for lvl, typ, data in anc:
                if lvl == socket.SOL_IP and typ == IP_RECVERR:
                    ee_errno, origin, etype, ecode, _, info, _ = struct.unpack("=IBBBBII", data[:16])
                    off = socket.inet_ntoa(data[16 + 4:16 + 8])
                    out.update(q_errno=os.strerror(ee_errno), q_origin=origin,
                               q_type=etype, q_code=ecode, q_info=info,
                               q_offender=off, q_payload_ok=(d == payload[:len(d)] and len(d) > 0))
                    got_q = True
    print(json.dumps(out))
    sys.exit(0 if got_q or got_raw else 1)

if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
'

nat_py() { # NS ARGS...
	local ns=$1
	shift
	ip netns exec "$ns" "$VFW_PYTHON" -c "$NAT_PY" "$@"
}

nat_echo_server() { # NS ADDR PORT LOG
	vfw_spawn "$4" ip netns exec "$1" "$VFW_PYTHON" -u -c "$NAT_PY" echo "$2" "$3"
	vfw_wait_for 10 vfw_listening "$1" udp "$3" ||
		{ vfw_err "UDP echo on $1 $2:$3 did not start"; cat "$4" >&2; return 1; }
}

nat_setup() {
	local www=$NT_DIR/www
	mkdir -p "$www"
	echo "vnetfw-e2e-ok $VFW_TOPO_ID" >"$www/index.html"
	# cluster: two more clients on the server's link
	ip -n "$VFW_NS_CL" addr add "$NAT_TINY_CLIENT/16" dev eth0
	ip -n "$VFW_NS_CL" addr add "$NAT_POD/16" dev eth0
	# vnet: the gateway routes 203.0.113.0/24 one hop further, onto a
	# link with a small MTU (a veth pair inside the namespace: nothing
	# answers there, the packets only have to be forwarded), and sends
	# ICMP errors without rate limit
	vfw_nsx "$VFW_NS_VNET" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
	vfw_nsx "$VFW_NS_CL" sysctl -qw net.ipv4.icmp_ratelimit=0
	ip -n "$VFW_NS_VNET" link add far0 type veth peer name far1
	ip -n "$VFW_NS_VNET" link set far0 mtu "$NAT_FAR_MTU" up
	ip -n "$VFW_NS_VNET" link set far1 up
	ip -n "$VFW_NS_VNET" route add 203.0.113.0/24 dev far0
	ip -n "$VFW_NS_VNET" addr add "$NAT_CLIENT2/24" dev eth0
	ip -n "$VFW_NS_VNET" addr add "$NAT_INET2/32" dev lo

	vfw_http_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 80 "$www" "$NT_DIR/http-server.log"
	nat_echo_server "$VFW_NS_CL" "$VFW_TOPO_SERVER" 5353 "$NT_DIR/udp-server.log"
	vfw_http_server "$VFW_NS_VNET" "$VFW_TOPO_INET_HOST" 8000 "$www" "$NT_DIR/http-inet.log"
	vfw_http_server "$VFW_NS_VNET" "$VFW_TOPO_CLIENT" 8001 "$www" "$NT_DIR/http-client.log"
	vfw_http_server "$VFW_NS_VNET" "$NAT_INET2" 8000 "$www" "$NT_DIR/http-inet2.log"
	nat_echo_server "$VFW_NS_VNET" "$VFW_TOPO_INET_HOST" 7007 "$NT_DIR/udp-inet.log"
}

# ---- small predicates ----
http_ok() { # NS URL [curl args]
	local body
	body=$(vfw_http_get "$@") || return 1
	[[ $body == "vnetfw-e2e-ok $VFW_TOPO_ID" ]]
}
udp_ok() { # NS HOST PORT [SRC]
	local msg="udp-$RANDOM" reply
	reply=$(vfw_udp_query "$1" "$2" "$3" "$msg" "${4:-}" 2>/dev/null) || return 1
	[[ $reply == "echo:$msg" ]] || [[ $reply == "$msg" ]]
}
big_ok() { # NS HOST PORT SIZE [SRC]
	local out
	out=$(nat_py "$1" big "$2" "$3" "$4" "${5:-}") || { echo "    $out"; return 1; }
	echo "    $out"
}
lines() { wc -l <"$1"; }
# new_line_has LOG N REGEX: a line after the first N of LOG matches REGEX
new_line_has() { tail -n +"$(($2 + 1))" "$1" | grep -qE -- "$3"; }
many() { # N CMD...: CMD succeeds N times out of N
	local n=$1 ok=0 i
	shift
	for ((i = 0; i < n; i++)); do "$@" && ok=$((ok + 1)); done
	echo "    $ok of $n"
	((ok == n))
}

# ---- the control socket, through vnetfwctl as an operator would ----
ctl() { "$(vfw_ctl_bin)" --socket "$VFW_FW_SOCK" "$@"; }
# nat_rule KIND NAME FIELD: a field of a DNAT/SNAT rule in show nat
# ("pools.0.in_use" style paths allowed)
nat_rule() {
	local r
	r=$(ctl --json show nat 2>/dev/null) || { echo "?"; return 0; }
	"$VFW_PYTHON" - "$r" "$1" "$2" "$3" <<'PY'
import json, sys
try:
    v = json.loads(sys.argv[1])
except ValueError:
    print("?"); sys.exit(0)
v = v.get("nat", v)
for rule in v.get(sys.argv[2]) or []:
    if rule.get("name") == sys.argv[3]:
        x = rule
        for k in sys.argv[4].split("."):
            x = x[int(k)] if isinstance(x, list) else x.get(k, "?")
        print(x); break
else:
    print("?")
PY
}
ctl_stat() { # PATH: from vnetfwctl --json show stats
	local r
	r=$(ctl --json show stats 2>/dev/null) || { echo "?"; return 0; }
	r=$(vfw_json_get "$r" "stats.$1")
	echo "${r:-?}"
}
is_num() { [[ $1 =~ ^[0-9]+$ ]]; }
expect_rel() { # WHAT SEEN OP WANT
	if is_num "$2" && test "$2" "$3" "$4"; then
		vfw_pass "  $1 ($2)"
	else
		vfw_fail "  $1 (seen $2, want $3 $4)"
	fi
}
tiny_in_use_is() { [[ $(nat_rule snat tiny pools.0.in_use) == "$1" ]]; }

# ---- ICMP errors: JSON from "nat_py err" ----
ERR_JSON='{}'
err_probe() { # NS HOST PORT [k=v...]: sets ERR_JSON
	ERR_JSON=$(nat_py "$@") || { echo "    no ICMP error seen: $ERR_JSON"; ERR_JSON='{}'; return 1; }
	echo "    $ERR_JSON"
}
# expect_err WHAT KEY=VALUE...: every field of ERR_JSON as given
expect_err() {
	local what=$1 kv k want seen bad=''
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		want=${kv#*=}
		seen=$(vfw_json_get "$ERR_JSON" "$k" 2>/dev/null || echo '?')
		[[ $seen == "$want" ]] || bad+=" $k=$seen (want $want)"
	done
	if [[ -z $bad ]]; then
		vfw_pass "  $what"
	else
		vfw_fail "  $what:$bad"
	fi
}
CSUMS_OK=(outer_ip_csum_ok=True icmp_csum_ok=True inner_ip_csum_ok=True inner_udp_csum_ok=True)

# =====================================================================
nt_begin nat
nat_setup
nt_start_fw configs/nat.yaml 1
if ! nt_has_show nat; then
	nt_skip "binary has no NAT yet (show nat not answered)"
fi
FW=$VFW_TOPO_FW_VNET     # 10.0.1.4: DNAT address and SNAT address
FWCL=$VFW_TOPO_FW_CL     # 10.240.0.4: hairpin source
SRV=$VFW_TOPO_SERVER
CLI=$VFW_TOPO_CLIENT
INET=$VFW_TOPO_INET_HOST

vfw_info "1. DNAT: 10.0.1.4:8080/tcp -> 10.240.1.10:80, 10.0.1.4:5300/udp -> :5353"
n=$(lines "$NT_DIR/http-server.log")
nt_check "DNAT tcp: client -> http://10.0.1.4:8080/ answered by the server" \
	http_ok "$VFW_NS_VNET" "http://$FW:8080/"
nt_check "DNAT tcp: the server logged the real client 10.0.1.10" \
	new_line_has "$NT_DIR/http-server.log" "$n" "^$CLI "
n=$(lines "$NT_DIR/udp-server.log")
nt_check "DNAT udp: client -> 10.0.1.4:5300 echoed by 10.240.1.10:5353" \
	udp_ok "$VFW_NS_VNET" "$FW" 5300
nt_check "DNAT udp: the server saw the real client 10.0.1.10" \
	new_line_has "$NT_DIR/udp-server.log" "$n" "^$CLI:"

vfw_info "2. SNAT to 10.0.1.4, exclude 10.0.0.0/8"
n=$(lines "$NT_DIR/http-inet.log")
nt_check "SNAT tcp: server -> http://198.51.100.7:8000/ via the gateway" \
	http_ok "$VFW_NS_CL" "http://$INET:8000/"
nt_check "SNAT tcp: the internet host saw 10.0.1.4" \
	new_line_has "$NT_DIR/http-inet.log" "$n" "^$FW "
n=$(lines "$NT_DIR/udp-inet.log")
nt_check "SNAT udp: server -> 198.51.100.7:7007 echoed" udp_ok "$VFW_NS_CL" "$INET" 7007
nt_check "SNAT udp: the internet host saw 10.0.1.4" \
	new_line_has "$NT_DIR/udp-inet.log" "$n" "^$FW:"
n=$(lines "$NT_DIR/http-client.log")
nt_check "exclude: server -> http://10.0.1.10:8001/ (in 10.0.0.0/8)" \
	http_ok "$VFW_NS_CL" "http://$CLI:8001/"
nt_check "exclude: 10.0.1.10 saw the pod address 10.240.1.10, not 10.0.1.4" \
	new_line_has "$NT_DIR/http-client.log" "$n" "^$SRV "

vfw_info "3. ICMP errors come back translated"
before=$(vfw_stat events.icmp_errors_related)
if err_probe "$VFW_NS_VNET" err "$FW" 5301; then
	expect_err "port unreachable behind DNAT: connected socket gets ECONNREFUSED" \
		recv=ECONNREFUSED q_type=3 q_code=3
	expect_err "port unreachable behind DNAT: from 10.0.1.4 (the address the client used) to 10.0.1.10" \
		q_offender="$FW" outer_src="$FW" outer_dst="$CLI"
	expect_err "port unreachable behind DNAT: quoted datagram is the client's (10.0.1.10 -> 10.0.1.4:5301)" \
		inner_src="$CLI" inner_dst="$FW" inner_dport=5301 q_payload_ok=True
	expect_err "port unreachable behind DNAT: outer IP, ICMP, quoted IP and UDP checksums valid" "${CSUMS_OK[@]}"
else
	vfw_fail "  port unreachable behind DNAT reaches the client"
fi
if err_probe "$VFW_NS_CL" err "$INET" 9999; then
	expect_err "port unreachable through SNAT: ECONNREFUSED, from 198.51.100.7 to 10.240.1.10" \
		recv=ECONNREFUSED q_type=3 q_code=3 q_offender="$INET" outer_dst="$SRV"
	expect_err "port unreachable through SNAT: quoted source is the pod's own 10.240.1.10" \
		inner_src="$SRV" inner_dst="$INET" inner_dport=9999 q_payload_ok=True "${CSUMS_OK[@]}"
else
	vfw_fail "  port unreachable through SNAT reaches the client"
fi
if err_probe "$VFW_NS_CL" err "$NAT_FAR" 33434 ttl=2; then
	# the vnet router answers from its primary address, 10.0.1.10: a
	# router on the way keeps its own address
	expect_err "time exceeded beyond the appliance (UDP TTL 2): type 11, from the router 10.0.1.10 to 10.240.1.10" \
		q_type=11 q_code=0 q_offender="$CLI" outer_src="$CLI" outer_dst="$SRV"
	expect_err "time exceeded: quoted datagram back to 10.240.1.10 -> 203.0.113.9:33434, checksums valid" \
		inner_src="$SRV" inner_dst="$NAT_FAR" inner_dport=33434 "${CSUMS_OK[@]}"
else
	vfw_fail "  time exceeded (UDP TTL 2 through SNAT) reaches the client"
fi
ttl_ping() { # ping exits 1 (no echo reply): look at what it printed
	local out
	out=$(ip netns exec "$VFW_NS_CL" ping -n -c 1 -t 2 -W 2 "$NAT_FAR" 2>&1) || true
	grep -E "From|transmitted" <<<"$out" | sed 's/^/    /' || true
	[[ $out == *"From $CLI icmp_seq=1 Time to live exceeded"* ]]
}
nt_check "time exceeded for ping -t 2 through SNAT reaches ping (echo id translated back)" ttl_ping
if err_probe "$VFW_NS_CL" err "$NAT_FAR" 33435 size=1400 df=1; then
	expect_err "frag needed through SNAT: EMSGSIZE, type 3 code 4, MTU $NAT_FAR_MTU, to 10.240.1.10" \
		q_errno="Message too long" q_type=3 q_code=4 q_info="$NAT_FAR_MTU" mtu="$NAT_FAR_MTU" outer_dst="$SRV"
	expect_err "frag needed: quoted datagram back to 10.240.1.10, checksums valid" \
		inner_src="$SRV" inner_dst="$NAT_FAR" inner_dport=33435 "${CSUMS_OK[@]}"
else
	vfw_fail "  frag needed (DF 1428 bytes through SNAT) reaches the client"
fi
pmtu_learned() { [[ $(ip -n "$VFW_NS_CL" route get "$NAT_FAR") == *"mtu $NAT_FAR_MTU"* ]]; }
nt_check "frag needed: the client kernel learned PMTU $NAT_FAR_MTU for 203.0.113.9" pmtu_learned
nt_expect_increase "ICMP errors counted" events.icmp_errors_related "$before"

vfw_info "3b. the appliance's own errors: time exceeded, fragmentation needed"
sent_before=$(vfw_stat events.icmp_errors_sent)
ttl1_ping() { # ping -t 1: the appliance is the first hop
	local out
	out=$(ip netns exec "$VFW_NS_CL" ping -n -c 1 -t 1 -W 2 "$NAT_FAR" 2>&1) || true
	grep -E "From|transmitted" <<<"$out" | sed 's/^/    /' || true
	[[ $out == *"From $FWCL icmp_seq=1 Time to live exceeded"* ]]
}
nt_check "ping -t 1 through SNAT: time exceeded from the appliance 10.240.0.4 (identifier back to the client's)" ttl1_ping
if err_probe "$VFW_NS_CL" err "$NAT_FAR" 33437 ttl=1; then
	expect_err "traceroute probe (UDP TTL 1) through SNAT: type 11 from the appliance 10.240.0.4 to 10.240.1.10" \
		q_type=11 q_code=0 q_offender="$FWCL" outer_src="$FWCL" outer_dst="$SRV"
	expect_err "traceroute probe: quoted datagram is the client's own (10.240.1.10 -> 203.0.113.9:33437), checksums valid" \
		inner_src="$SRV" inner_dst="$NAT_FAR" inner_dport=33437 q_payload_ok=True "${CSUMS_OK[@]}"
else
	vfw_fail "  time exceeded (UDP TTL 1 through SNAT) from the appliance reaches the client"
fi
if err_probe "$VFW_NS_VNET" err "$FW" 5300 ttl=1; then
	expect_err "TTL 1 to the DNAT address: time exceeded from 10.0.1.4 quoting the client's datagram to 10.0.1.4:5300" \
		q_type=11 outer_src="$FW" outer_dst="$CLI" inner_src="$CLI" inner_dst="$FW" inner_dport=5300 "${CSUMS_OK[@]}"
else
	vfw_fail "  time exceeded (UDP TTL 1 to the DNAT address) reaches the client"
fi
# PMTU: the cluster link carries 9000 bytes, the vnet link 1500 (vnetfw's
# port MTU): a DF ping of 1628 bytes is refused with the MTU
ip -n "$VFW_NS_CL" link set eth0 mtu 9000
ip -n "$VFW_NS_FW" link set "$VFW_IF_CL" mtu 9000
df_ping() {
	local out
	out=$(ip netns exec "$VFW_NS_CL" ping -n -c 1 -M do -s 1600 -W 2 "$INET" 2>&1) || true
	grep -E "From|transmitted|error" <<<"$out" | sed 's/^/    /' || true
	[[ $out == *"From $FWCL icmp_seq=1 Frag needed and DF set (mtu = 1500)"* ]]
}
nt_check "ping -M do -s 1600 through SNAT: fragmentation needed, mtu 1500, from the appliance" df_ping
pmtu_1500() { [[ $(ip -n "$VFW_NS_CL" route get "$INET") == *"mtu 1500"* ]]; }
nt_check "the client kernel learned PMTU 1500 for 198.51.100.7" pmtu_1500
ip -n "$VFW_NS_FW" link set "$VFW_IF_CL" mtu 1500
ip -n "$VFW_NS_CL" link set eth0 mtu 1500
ip -n "$VFW_NS_CL" route flush cache
nt_expect_at_least "errors of the appliance counted (events.icmp_errors_sent)" \
	events.icmp_errors_sent $((sent_before + 4))
expect_rel "none rate limited" "$(vfw_stat events.icmp_errors_rate_limited)" -eq 0

vfw_info "4. hairpin: pod 10.240.3.30 -> 10.0.1.4:8080 -> 10.240.1.10:80"
before=$(vfw_stat events.hairpin)
n=$(lines "$NT_DIR/http-server.log")
nt_check "hairpin tcp: pod -> http://10.0.1.4:8080/ completes" \
	http_ok "$VFW_NS_CL" "http://$FW:8080/" --interface "$NAT_POD"
nt_check "hairpin tcp: the server saw the appliance 10.240.0.4" \
	new_line_has "$NT_DIR/http-server.log" "$n" "^$FWCL "
n=$(lines "$NT_DIR/udp-server.log")
nt_check "hairpin udp: pod -> 10.0.1.4:5300 echoed" udp_ok "$VFW_NS_CL" "$FW" 5300 "$NAT_POD"
nt_check "hairpin udp: the server saw 10.240.0.4" \
	new_line_has "$NT_DIR/udp-server.log" "$n" "^$FWCL:"
nt_expect_increase "hairpin counted" events.hairpin "$before"

vfw_info "5. 3000-byte UDP datagrams through DNAT, SNAT and hairpin"
# Each sender fragments its 3028-byte datagram for its 1500-byte link.
# DPDK 22.11's af_packet PMD puts its sockets in a PACKET_FANOUT group
# with PACKET_FANOUT_FLAG_DEFRAG, so the fw namespace's kernel reassembles
# the fragments and vnetfw receives whole datagrams: the rig's
# framesz=4096 ring frames hold them (vnetfw sizes its mbufs to match),
# and vnetfw fragments each again for the 1500-byte egress link. (Real
# fragments reaching vnetfw: pcap/nat-fragments-*.)
fragd_before=$(vfw_stat events.packets_fragmented)
trunc_before=$(vfw_stat drops.ipv4_bad_total_length)
mtu_before=$(vfw_stat drops.exceeds_mtu)
n=$(lines "$NT_DIR/udp-server.log")
nt_check "DNAT: 3000 bytes client -> 10.0.1.4:5300 and back, identical" \
	big_ok "$VFW_NS_VNET" "$FW" 5300 3000
nt_check "DNAT: the server got 3000 bytes from 10.0.1.10" \
	new_line_has "$NT_DIR/udp-server.log" "$n" "^$CLI:[0-9]+ 3000 "
n=$(lines "$NT_DIR/udp-inet.log")
nt_check "SNAT: 3000 bytes server -> 198.51.100.7:7007 and back, identical" \
	big_ok "$VFW_NS_CL" "$INET" 7007 3000
nt_check "SNAT: the internet host got 3000 bytes from 10.0.1.4" \
	new_line_has "$NT_DIR/udp-inet.log" "$n" "^$FW:[0-9]+ 3000 "
n=$(lines "$NT_DIR/udp-server.log")
nt_check "hairpin: 3000 bytes pod -> 10.0.1.4:5300 and back, identical" \
	big_ok "$VFW_NS_CL" "$FW" 5300 3000 "$NAT_POD"
nt_check "hairpin: the server got 3000 bytes from the appliance 10.240.0.4" \
	new_line_has "$NT_DIR/udp-server.log" "$n" "^$FWCL:[0-9]+ 3000 "
nt_expect_at_least "fragmented again by vnetfw (3 exchanges x 2 directions)" \
	events.packets_fragmented $((fragd_before + 6))
expect_rel "no datagram cut short by the ring (ipv4_bad_total_length)" \
	"$(vfw_stat drops.ipv4_bad_total_length)" -eq "$trunc_before"
expect_rel "none dropped as too long (exceeds_mtu)" "$(vfw_stat drops.exceeds_mtu)" -eq "$mtu_before"
expect_rel "no fragment dropped as without first" "$(vfw_stat drops.fragment_without_first)" -eq 0

vfw_info "6. port exhaustion: rule tiny, ports 40000-40003"
before=$(ctl_stat drops.snat_ports_exhausted)
n=$(lines "$NT_DIR/udp-inet.log")
flows=$(nat_py "$VFW_NS_CL" flows "$NAT_TINY_CLIENT" "$INET" 7007 5 1.0 || echo error)
echo "    flows: $flows"
nt_check "4 concurrent flows from 10.240.2.20 get through" \
	test "${flows% *}" = "ok ok ok ok"
nt_check "the 5th concurrent flow is dropped" test "${flows##* }" = fail
seen_ports() { tail -n +"$((n + 1))" "$NT_DIR/udp-inet.log" | sed -n "s/^$FW:\([0-9]*\) .*/\1/p" | sort -u | tr '\n' ' '; }
nt_check "the internet host saw 10.0.1.4:40000-40003 ($(seen_ports))" \
	test "$(seen_ports)" = "40000 40001 40002 40003 "
expect_rel "snat_ports_exhausted counted (vnetfwctl --json show stats)" \
	"$(ctl_stat drops.snat_ports_exhausted)" -gt "$before"
expect_rel "show nat: tiny port_exhausted" "$(nat_rule snat tiny port_exhausted)" -ge 1
expect_rel "show nat: tiny hits" "$(nat_rule snat tiny hits)" -eq 4
expect_rel "show nat: tiny pool 10.0.1.4 bindings in use" "$(nat_rule snat tiny pools.0.in_use)" -eq 4
nt_check "the tiny pool's ports come back when the sessions age out (udp 5 s)" \
	vfw_wait_for 15 tiny_in_use_is 0
n=$(lines "$NT_DIR/udp-inet.log")
nt_check "then a new flow from 10.240.2.20 works" udp_ok "$VFW_NS_CL" "$INET" 7007 "$NAT_TINY_CLIENT"
nt_check "  ... translated into the tiny pool" \
	new_line_has "$NT_DIR/udp-inet.log" "$n" "^$FW:4000[0-3] "

vfw_info "8. show nat: hits per rule, bindings per pool"
expect_rel "show nat: DNAT web hits (client, hairpin)" "$(nat_rule dnat web hits)" -ge 2
expect_rel "show nat: DNAT echo hits (client, pod)" "$(nat_rule dnat echo hits)" -ge 2
expect_rel "show nat: DNAT closed hits" "$(nat_rule dnat closed hits)" -ge 1
expect_rel "show nat: SNAT egress hits" "$(nat_rule snat egress hits)" -ge 6
expect_rel "show nat: SNAT egress port_exhausted" "$(nat_rule snat egress port_exhausted)" -eq 0
udp_ok "$VFW_NS_CL" "$INET" 7007 || true   # a live binding (udp 5 s)
expect_rel "show nat: egress pool 10.0.1.4 bindings in use" \
	"$(nat_rule snat egress pools.0.in_use)" -ge 1
human_nat() { ctl show nat >"$NT_DIR/show-nat.txt" && grep -q tiny "$NT_DIR/show-nat.txt" && grep -q web "$NT_DIR/show-nat.txt"; }
nt_check "vnetfwctl show nat (table) lists the rules" human_nat
sed 's/^/    | /' "$NT_DIR/show-nat.txt" 2>/dev/null || true
nt_expect_at_least "DNAT translations counted" events.dnat_translated 5
nt_expect_at_least "SNAT translations counted" events.snat_translated 6
if vfw_fw_stop; then
	vfw_pass "  vnetfw (1 worker) exits 0 on SIGTERM"
else
	vfw_fail "  vnetfw (1 worker) exits 0 on SIGTERM (status $VFW_STOP_RC)"
fi

# =====================================================================
vfw_info "7. two workers: DNAT and SNAT flows meet their session's worker"
mv "$NT_FW_LOG" "$NT_DIR/vnetfw-1worker.log"
nt_start_fw configs/nat.yaml 2
workers_are() { [[ $(vfw_stat workers) == "$1" ]]; }
nt_check "stats report 2 workers" workers_are 2
ho=$(vfw_stat events.handoff_out)
hi=$(vfw_stat events.handoff_in)
nt_check "12 DNAT TCP connections client -> 10.0.1.4:8080" \
	many 12 http_ok "$VFW_NS_VNET" "http://$FW:8080/"
nt_check "12 DNAT UDP exchanges client -> 10.0.1.4:5300" \
	many 12 udp_ok "$VFW_NS_VNET" "$FW" 5300
nt_check "12 SNAT TCP connections server -> 198.51.100.7:8000" \
	many 12 http_ok "$VFW_NS_CL" "http://$INET:8000/"
nt_check "12 SNAT UDP exchanges server -> 198.51.100.7:7007" \
	many 12 udp_ok "$VFW_NS_CL" "$INET" 7007
nt_check "6 hairpin TCP connections pod -> 10.0.1.4:8080" \
	many 6 http_ok "$VFW_NS_CL" "http://$FW:8080/" --interface "$NAT_POD"
n=$(lines "$NT_DIR/http-server.log")
nt_check "6 DNAT TCP connections from a second client 10.0.1.11" \
	many 6 http_ok "$VFW_NS_VNET" "http://$FW:8080/" --interface "$NAT_CLIENT2"
nt_check "  ... the server saw 10.0.1.11" \
	new_line_has "$NT_DIR/http-server.log" "$n" "^$NAT_CLIENT2 "
n=$(lines "$NT_DIR/http-inet2.log")
nt_check "6 SNAT TCP connections to a second host 198.51.100.9:8000" \
	many 6 http_ok "$VFW_NS_CL" "http://$NAT_INET2:8000/"
nt_check "  ... seen from 10.0.1.4" new_line_has "$NT_DIR/http-inet2.log" "$n" "^$FW "
# sessions_by_worker: "ADDR:w,w ..." for each outside address above, from
# show sessions
sessions_by_worker() {
	local r
	r=$(ctl --json show sessions 2>/dev/null) || return 1
	"$VFW_PYTHON" - "$r" "$CLI" "$NAT_CLIENT2" "$INET" "$NAT_INET2" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
def find(v):
    if isinstance(v, dict):
        if isinstance(v.get("sessions"), list):
            return v["sessions"]
        for x in v.values():
            f = find(x)
            if f is not None:
                return f
    return None
out = []
for a in sys.argv[2:]:
    ws = sorted({s["worker"] for s in find(r) or []
                 if a in (s["original"]["source"], s["original"]["destination"])})
    out.append("%s:%s" % (a, ",".join(map(str, ws)) or "-"))
print(" ".join(out))
PY
}
owners_ok() { # every address on exactly one worker; both workers used
	local line=$1 a ws all=''
	for a in $line; do
		ws=${a#*:}
		[[ $ws =~ ^[0-9]+$ ]] || return 1
		all+=" $ws"
	done
	[[ $(tr ' ' '\n' <<<"$all" | sort -u | grep -c .) == 2 ]]
}
# one fresh connection per outside address (closed TCP sessions are
# kept only a few seconds), then the sessions
http_ok "$VFW_NS_VNET" "http://$FW:8080/" || true
http_ok "$VFW_NS_VNET" "http://$FW:8080/" --interface "$NAT_CLIENT2" || true
http_ok "$VFW_NS_CL" "http://$INET:8000/" || true
http_ok "$VFW_NS_CL" "http://$NAT_INET2:8000/" || true
owners=$(sessions_by_worker || echo "?")
nt_check "show sessions: each outside address's sessions on one worker, both workers own some ($owners)" \
	owners_ok "$owners"
if err_probe "$VFW_NS_VNET" err "$FW" 5301; then
	expect_err "2 workers: port unreachable behind DNAT translated" \
		recv=ECONNREFUSED outer_src="$FW" inner_dst="$FW" inner_dport=5301 "${CSUMS_OK[@]}"
else
	vfw_fail "  2 workers: port unreachable behind DNAT reaches the client"
fi
# 203.0.113.9 maps to worker 1: the datagram and the router's error about
# it are both steered there, by the error's quoted header
if err_probe "$VFW_NS_CL" err "$NAT_FAR" 33436 ttl=2; then
	expect_err "2 workers: time exceeded through SNAT translated" \
		q_type=11 q_offender="$CLI" outer_dst="$SRV" inner_src="$SRV" inner_dport=33436 "${CSUMS_OK[@]}"
else
	vfw_fail "  2 workers: time exceeded through SNAT reaches the client"
fi
nt_expect_increase "packets handed to the owning worker" events.handoff_out "$ho"
nt_expect_increase "packets taken from the other worker" events.handoff_in "$hi"
expect_rel "no hand-off ring overflow" "$(vfw_stat drops.handoff_ring_full)" -eq 0
nt_end
