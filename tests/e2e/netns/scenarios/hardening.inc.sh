# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Helpers of the hardening scenarios (exhaust-*.sh, ctl-flood.sh,
# arp-poison.sh) and of scripts/soak.sh: the appliance's memory, floods
# sent from a namespace with raw sockets (bounded in count, addressed only
# to the topology's own addresses or documentation prefixes routed into
# the appliance), DPDK telemetry, and known-bug reporting.

# hd_rss_kb: resident set of the running vnetfw, in KiB (VmRSS).
hd_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$VFW_FW_PID/status" 2>/dev/null || echo 0
}

# hd_asan: the vnetfw binary is built with AddressSanitizer. Its
# quarantine keeps freed memory resident for a while, so RSS checks of
# freed buffers say nothing there.
hd_asan() { LC_ALL=C grep -q -a -m 1 __asan_init "$(vfw_bin)" 2>/dev/null; }

# hd_xfail WHAT CMD...: a check of a known binary bug. Prints XFAIL (not a
# failure) while CMD fails, XPASS once it passes (remove the marker then).
HD_XFAILED=0
hd_xfail() {
	local what=$1
	shift
	if "$@"; then
		printf 'XPASS %s (known bug fixed? turn this into a check)\n' "$what"
	else
		HD_XFAILED=$((HD_XFAILED + 1))
		printf 'XFAIL %s\n' "$what"
	fi
}

# hd_telemetry CMD: one DPDK telemetry request to the running vnetfw (its
# --file-prefix is vfw-$VFW_TOPO_ID); prints the JSON reply.
hd_telemetry() {
	"$VFW_PYTHON" - "/var/run/dpdk/vfw-$VFW_TOPO_ID/dpdk_telemetry.v2" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(1 << 16)                      # the greeting
s.send(sys.argv[2].encode())
sys.stdout.write(s.recv(1 << 20).decode())
PY
}

# hd_mbufs_in_use: mbufs of the pool vfw_mbuf that are neither in the pool
# nor in a per-lcore cache, from "show stats" (mbufs.in_use). It counts the
# rx rings' posted buffers too, so it returns to its idle value, not to 0.
hd_mbufs_in_use() {
	local n
	n=$(vfw_stat mbufs.in_use) || return 1
	[[ $n =~ ^[0-9]+$ ]] || return 1
	printf '%s\n' "$n"
}

# hd_proc_info_in_use: the same count as DPDK's own dpdk-proc-info reports
# it, attached as a secondary process (needs hugepages). A secondary process
# must map the primary's memory at the same addresses, which a randomized
# address space sometimes has taken (more often beside an ASan primary):
# up to 5 tries. Fails when it never attaches.
hd_proc_info_in_use() {
	local out n
	command -v dpdk-proc-info >/dev/null 2>&1 || return 1
	for _ in 1 2 3 4 5; do
		out=$(timeout 30 dpdk-proc-info --file-prefix="vfw-$VFW_TOPO_ID" --proc-type=secondary \
			--no-pci --log-level='*:error' -- --show-mempool=vfw_mbuf 2>/dev/null) || out=''
		n=$(sed -n 's/.*Count: avail ([0-9]*), in use (\([0-9]*\)).*/\1/p' <<<"$out" | head -n 1)
		if [[ -n $n ]]; then
			printf '%s\n' "$n"
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# hd_syn_flood NS DST DPORT COUNT [SRC_PREFIX]: COUNT TCP SYNs to DST:DPORT
# from spoofed sources SRC_PREFIX.1-250 (default 203.0.113, TEST-NET-3),
# distinct source ports, through the namespace's routes (raw IP socket, so
# the kernel neither answers nor resets). Paced: 1 ms pause every 64
# packets, so the veth and af_packet rings are not what drops them.
hd_syn_flood() {
	ip netns exec "$1" "$VFW_PYTHON" - "$2" "$3" "$4" "${5:-203.0.113}" <<'PY'
import socket, struct, sys, time
dst, dport, count, pfx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
d = socket.inet_aton(dst)
for i in range(count):
    src = socket.inet_aton("%s.%d" % (pfx, 1 + i % 250))
    sport = 1024 + i // 250 * 7 + i % 250 * 13 % 60000
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000 + i, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.sendto(ip + tcp, (dst, 0))
    if i % 64 == 63:
        time.sleep(0.001)
PY
}

# hd_udp_spray NS PREFIX16 COUNT PORT: one UDP datagram to each of COUNT
# distinct addresses PREFIX16.x.y (x.y from 2.1 up), e.g. on-link
# destinations behind the appliance that nobody answers for. Paced.
hd_udp_spray() {
	ip netns exec "$1" "$VFW_PYTHON" - "$2" "$3" "$4" <<'PY'
import socket, sys, time
pfx, count, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    a = 2 * 256 + 1 + i
    s.sendto(b"spray", ("%s.%d.%d" % (pfx, a >> 8, a & 255), port))
    if i % 64 == 63:
        time.sleep(0.001)
PY
}

# TCP echo server (one thread per connection) and a client that keeps one
# connection open and exchanges a line every INTERVAL seconds for
# DURATION seconds; the client prints "ok N fail M" at the end and exits
# 0 when every exchange came back.
HD_ECHO_SERVER_PY='
import socket, sys, threading
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(64)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
HD_ECHO_CLIENT_PY='
import socket, sys, time
host, port, dur, iv = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ok = fail = 0
s = socket.create_connection((host, port), timeout=5)
s.settimeout(2)
end = time.time() + dur
while time.time() < end:
    msg = b"line %d\n" % (ok + fail)
    try:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d:
                raise OSError("closed")
            got += d
        ok += got == msg
        fail += got != msg
    except OSError:
        fail += 1
    time.sleep(iv)
print("ok %d fail %d" % (ok, fail), flush=True)
sys.exit(0 if fail == 0 and ok > 0 else 1)
'

# hd_echo_server NS ADDR PORT LOG
hd_echo_server() {
	vfw_spawn "$4" ip netns exec "$1" "$VFW_PYTHON" -u -c "$HD_ECHO_SERVER_PY" "$2" "$3"
	vfw_wait_for 10 vfw_listening "$1" tcp "$3"
}

# hd_echo_client_bg NS HOST PORT DURATION INTERVAL LOG: start the
# long-lived client in the background; its PID is HD_ECHO_PID.
hd_echo_client_bg() {
	vfw_spawn "$6" ip netns exec "$1" "$VFW_PYTHON" -u -c "$HD_ECHO_CLIENT_PY" "$2" "$3" "$4" "$5"
	HD_ECHO_PID=$VFW_LAST_PID
}

# hd_wait_pid PID TIMEOUT_S: wait for a process we started; its status.
hd_wait_pid() {
	local pid=$1 deadline=$((SECONDS + $2)) rc=0
	while vfw_pid_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.2
	done
	if vfw_pid_alive "$pid"; then
		vfw_stop "$pid" 2 || true
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	vfw_forget_pid "$pid"
	return "$rc"
}

# hd_tcp_refused NS HOST PORT: a TCP connect gets no answer within 0.9 s
# (one SYN, before the kernel's first retransmission).
hd_tcp_refused() {
	! ip netns exec "$1" "$VFW_PYTHON" -c '
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.9).close()
' "$2" "$3" 2>/dev/null
}

# hd_sessions: sessions.total from show stats.
hd_sessions() { vfw_stat sessions.total; }

# hd_wait_sessions_at_most N TIMEOUT_S
hd_wait_sessions_at_most() {
	local n=$1 deadline=$((SECONDS + $2)) cur
	while ((SECONDS < deadline)); do
		cur=$(hd_sessions 2>/dev/null || echo 999999)
		[[ $cur =~ ^[0-9]+$ ]] && ((cur <= n)) && return 0
		sleep 0.5
	done
	return 1
}

# hd_le A B: A <= B (both integers).
hd_le() { [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]] && (($1 <= $2)); }

# TCP connection holder: open N connections to HOST:PORT one after the
# other (3 s connect timeout each), print "connected K" and flush, keep
# them open HOLD seconds (or until FILE exists), then close them all.
HD_HOLD_PY='
import os, socket, sys, time
host, port, n, hold, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = []
for _ in range(n):
    try:
        socks.append(socket.create_connection((host, port), timeout=3))
    except OSError:
        pass
print("connected %d" % len(socks), flush=True)
end = time.time() + hold
while time.time() < end and not os.path.exists(stop):
    time.sleep(0.1)
for s in socks:
    s.close()
'

# hd_hold_bg NS HOST PORT N HOLD_S STOPFILE LOG: start a holder; HD_HOLD_PID.
hd_hold_bg() {
	vfw_spawn "$7" ip netns exec "$1" "$VFW_PYTHON" -u -c "$HD_HOLD_PY" "$2" "$3" "$4" "$5" "$6"
	HD_HOLD_PID=$VFW_LAST_PID
}

# hd_nat_rule FIELD RULE: a field of SNAT rule RULE in "show nat"
# (hits, port_exhausted, or in_use summed over its pools).
hd_nat_rule() {
	vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"nat"}' |
		"$VFW_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
nat = r.get("nat", r)
for s in nat.get("snat", []):
    if s.get("name") == sys.argv[2]:
        if sys.argv[1] == "in_use":
            print(sum(int(p.get("in_use", 0)) for p in s.get("pools", [])))
        else:
            print(int(s.get(sys.argv[1], 0)))
        break
else:
    print("")
' "$1" "$2"
}

# hd_proto_spray NS PREFIX16 COUNT PROTO [FIRST]: one datagram of IP
# protocol PROTO (e.g. 253, experimental: never a session) to each of
# COUNT distinct addresses PREFIX16.x.y, the FIRST-th one (default 513,
# i.e. .2.1) and up. Paced.
hd_proto_spray() {
	ip netns exec "$1" "$VFW_PYTHON" - "$2" "$3" "$4" "${5:-513}" <<'PY'
import socket, sys, time
pfx, count, proto, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
for i in range(count):
    a = first + i
    s.sendto(b"spray", ("%s.%d.%d" % (pfx, a >> 8, a & 255), 0))
    if i % 64 == 63:
        time.sleep(0.001)
PY
}

# hd_neighbors [STATE]: entries in "show neighbors" (in STATE if given).
# (Replies go through stdin: a full table is larger than an argument.)
hd_neighbors() {
	vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"neighbors"}' |
		"$VFW_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
n = r.get("neighbors") or []
print(sum(1 for e in n if not sys.argv[1] or e.get("state") == sys.argv[1]))
' "${1:-}"
}

# hd_neighbor_mac IP: the MAC "show neighbors" gives for IP ("" if none).
hd_neighbor_mac() {
	vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"neighbors"}' |
		"$VFW_PYTHON" -c '
import json, sys
for e in json.load(sys.stdin).get("neighbors") or []:
    if e.get("address") == sys.argv[1]:
        print((e.get("mac") or "").lower())
        break
else:
    print("")
' "$1"
}

# Control-socket abuse, one mode per call (python: SOCKET MODE ARGS...):
#   hold N SECONDS STOPFILE  open N connections at once, report
#                            "accepted A refused R" (refused: the server's
#                            "too many clients" then EOF), hold until
#                            SECONDS pass or STOPFILE exists
#   halfline N MIB STOPFILE  N clients each send MIB MiB with no newline,
#                            report "sent N", hold until STOPFILE exists
#   huge MIB                 one request line of MIB MiB; print the reply
#   garbage                  junk lines on one connection; print
#                            "answered K of N" (every line gets a reply)
#   timed REQUEST [SENTFILE] print the seconds one request takes (and
#                            create SENTFILE once it is sent)
HD_CTL_ABUSE_PY='
import json, os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]

def conn(timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s

def wait_stop(stop, secs):
    end = time.time() + secs
    while time.time() < end and not os.path.exists(stop):
        time.sleep(0.1)

if mode == "hold":
    n, secs, stop = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    socks = []
    for _ in range(n):
        try:
            socks.append(conn())
        except OSError:
            pass
    time.sleep(1.0)
    acc = ref = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            d = s.recv(4096)
            ref += 1 if (d == b"" or b"too many clients" in d) else 0
            acc += 0 if (d == b"" or b"too many clients" in d) else 1
        except socket.timeout:
            acc += 1
        except OSError:
            ref += 1
    print("accepted %d refused %d" % (acc, ref + n - len(socks)), flush=True)
    wait_stop(stop, secs)
elif mode == "halfline":
    n, mib, stop = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    socks = []
    chunk = b"{\"cmd\":\"show\",\"what\":\"" + b"a" * (1 << 20)
    for _ in range(n):
        s = conn(30)
        for _ in range(mib):
            s.sendall(chunk[: 1 << 20])
        socks.append(s)
    print("sent %d" % len(socks), flush=True)
    wait_stop(stop, 120)
elif mode == "huge":
    mib = int(sys.argv[3])
    s = conn(30)
    try:
        s.sendall(b"{\"cmd\":\"show\",\"what\":\"" + b"b" * (mib << 20) + b"\"}\n")
    except OSError as e:
        pass
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except OSError:
        pass
    print(buf.decode(errors="replace").strip())
elif mode == "garbage":
    lines = [b"\x00\x01\x02\xff\xfe", b"\xc3\x28 not utf-8", b"   ", b"{", b"}",
             b"[1,2,3]", b"null", b"{\"cmd\":null}", b"{\"cmd\":\"show\"}",
             b"{\"cmd\":\"show\",\"what\":{\"a\":[1,{\"b\":2}]}}",
             b"{\"cmd\":\"rule.add\",\"rule\":\"x\"}", b"{\"cmd\":\"nope\"}",
             b"{\"cmd\":\"show\",\"what\":\"stats\",\"cmd\":\"save\"}",
             b"&a [*a]", b"{\"cmd\":\"show\",\"what\":\"rules\"}" * 3,
             b"\t\t{\"cmd\" : \"show\" , \"what\" : \"routes\" }"]
    lines += [b"{\"cmd\":\"show\",\"what\":\"stats\"}"] * 1000
    s = conn(30)
    s.sendall(b"\n".join(lines) + b"\n")
    want = sum(1 for l in lines if l.strip())
    buf = b""
    t0 = time.time()
    while buf.count(b"\n") < want and time.time() < t0 + 60:
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
    got = [l for l in buf.split(b"\n") if l]
    ok = all(isinstance(json.loads(l), dict) for l in got)
    print("answered %d of %d%s" % (len(got), want, "" if ok else " (bad JSON)"))
elif mode == "timed":
    t0 = time.time()
    s = conn(600)
    s.sendall(sys.argv[3].encode() + b"\n")
    if len(sys.argv) > 4:
        open(sys.argv[4], "w").close()      # tell the caller: all sent
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
    print("%.2f" % (time.time() - t0))
'

# hd_ctl_abuse MODE ARGS...: run one mode against the appliance's socket.
hd_ctl_abuse() {
	"$VFW_PYTHON" -c "$HD_CTL_ABUSE_PY" "$VFW_FW_SOCK" "$@"
}

# hd_policy_fingerprint: generation and the rule/route/NAT names in force.
hd_policy_fingerprint() {
	local g r
	g=$(vfw_stat generation) || return 1
	r=$(for w in rules routes nat; do vfw_ctl_json "$VFW_FW_SOCK" "{\"cmd\":\"show\",\"what\":\"$w\"}"; done |
		"$VFW_PYTHON" -c '
import json, sys
out = []
for line in sys.stdin:
    r = json.loads(line)
    for k in ("rules", "routes"):
        out += ["%s:%s:%s" % (k, x.get("name"), x.get("priority", x.get("prefix")))
                for x in r.get(k) or []]
    nat = r.get("nat") or {}
    out += ["nat:%s" % x.get("name") for x in nat.get("dnat", []) + nat.get("snat", [])]
print(" ".join(sorted(out)))
') || return 1
	echo "gen=$g $r"
}

# hd_arp_send NS IFACE OP SENDER_MAC SENDER_IP TARGET_IP DST_MAC: one ARP
# frame (OP 1 request, 2 reply) from NS's IFACE with the given sender.
hd_arp_send() {
	ip netns exec "$1" "$VFW_PYTHON" -c '
import socket, struct, sys
ifc, op, smac, sip, tip, dmac = sys.argv[1:7]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifc, 0))
tha = mac(dmac) if op == "2" else b"\0" * 6
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, int(op), mac(smac),
                  socket.inet_aton(sip), tha, socket.inet_aton(tip))
s.send(mac(dmac) + mac(smac) + b"\x08\x06" + arp + b"\0" * 18)
' "$2" "$3" "$4" "$5" "$6" "$7"
}
