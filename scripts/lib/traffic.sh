# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Real traffic inside namespaces: tiny servers (HTTP, UDP echo) started by
# PID through vfw_spawn, and clients (ping, curl, UDP query) with bounded
# timeouts. Every function takes the namespace first.

# HTTP server for a directory. Not `python3 -m http.server`: its bind does a
# reverse DNS lookup (getfqdn) that hangs in a namespace whose resolver is
# unreachable. Access log lines ("ADDR - - [date] "GET / ..." 200 -") go to
# stderr, so the log shows which client address the server saw.
VFW_HTTP_PY='
import functools, http.server, socketserver, sys
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=sys.argv[3])
Server((sys.argv[1], int(sys.argv[2])), handler).serve_forever()
'

# UDP echo server: answers every datagram with "echo:" + the datagram.
VFW_UDP_ECHO_PY='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    print("%s:%d %r" % (a[0], a[1], d[:64]), flush=True)
    s.sendto(b"echo:" + d, a)
'

# UDP client: send MSG to HOST:PORT (from SRC when given), up to 5 tries of
# 1 s each; print the reply; exit 1 when nothing came back.
VFW_UDP_QUERY_PY='
import socket, sys
host, port, msg, src = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if src:
    s.bind((src, 0))
s.settimeout(1.0)
for _ in range(5):
    s.sendto(msg, (host, port))
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    print(d.decode(errors="replace"))
    sys.exit(0)
sys.exit(1)
'

# vfw_listening NS tcp|udp PORT: true when something listens there.
vfw_listening() {
	local ns=$1 proto=$2 port=$3 flag=-Hltn
	[[ $proto == udp ]] && flag=-Hlun
	[[ -n $(ip netns exec "$ns" ss "$flag" "sport = :$port" 2>/dev/null) ]]
}

# vfw_http_server NS ADDR PORT DIR LOG: serve DIR over HTTP; the access log
# (client addresses) goes to LOG. Waits until it listens.
vfw_http_server() {
	local ns=$1 addr=$2 port=$3 dir=$4 log=$5
	vfw_spawn "$log" ip netns exec "$ns" "$VFW_PYTHON" -u -c "$VFW_HTTP_PY" "$addr" "$port" "$dir"
	vfw_wait_for 10 vfw_listening "$ns" tcp "$port" ||
		{ vfw_err "HTTP server on $ns $addr:$port did not start"; cat "$log" >&2; return 1; }
}

# vfw_udp_echo NS ADDR PORT LOG
vfw_udp_echo() {
	local ns=$1 addr=$2 port=$3 log=$4
	vfw_spawn "$log" ip netns exec "$ns" "$VFW_PYTHON" -u -c "$VFW_UDP_ECHO_PY" "$addr" "$port"
	vfw_wait_for 10 vfw_listening "$ns" udp "$port" ||
		{ vfw_err "UDP echo on $ns $addr:$port did not start"; cat "$log" >&2; return 1; }
}

# vfw_ping NS DST [ping args...]: 3 echoes, 0.2 s apart; success when at
# least one came back (the first may wait for ARP on the way).
vfw_ping() {
	local ns=$1 dst=$2
	shift 2
	ip netns exec "$ns" ping -n -q -c 3 -i 0.2 -W 2 "$@" "$dst" >/dev/null 2>&1
}

# vfw_ping_fails NS DST [ping args...]: true when no echo came back.
vfw_ping_fails() {
	local ns=$1 dst=$2
	shift 2
	! ip netns exec "$ns" ping -n -q -c 2 -i 0.2 -W 1 "$@" "$dst" >/dev/null 2>&1
}

# vfw_http_get NS URL [curl args...]: print the body; fail on error.
vfw_http_get() {
	local ns=$1 url=$2
	shift 2
	ip netns exec "$ns" curl -sS --noproxy '*' --connect-timeout 8 --max-time 15 "$@" "$url"
}

# vfw_udp_query NS HOST PORT MSG [SRC]: print the echo; fail when none.
vfw_udp_query() {
	ip netns exec "$1" "$VFW_PYTHON" -c "$VFW_UDP_QUERY_PY" "$2" "$3" "$4" "${5:-}"
}

# vfw_tcp_refused_or_dropped NS HOST PORT: true when a TCP connection
# cannot be made within 3 s.
vfw_tcp_blocked() {
	! ip netns exec "$1" curl -s --noproxy '*' --connect-timeout 3 --max-time 4 \
		"http://$2:$3/" >/dev/null 2>&1
}
