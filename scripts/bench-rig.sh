#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The rig benchmark: vnetfw against DPDK's own forwarders, on the same
# pcaps, in the same run, one worker core each (EAL -l 0,1: main lcore 0,
# worker lcore 1; l3fwd -l 1, see --l3fwd-lcores):
#   testpmd  io     dpdk-testpmd --forward-mode=io (no packet processing)
#   l3fwd    acl    DPDK's examples/l3fwd --lookup=acl, built from dpdk-doc's
#                   sources, with the same 10k rules as vnetfw "full"
#   l3fwd    lpm    the same l3fwd with --lookup=lpm and vnetfw's route
#                   table (256 pod routes, subnets, default): the stateless
#                   routing peer of vnetfw "route" (app name l3fwd-lpm)
#   vnetfw   route  config/bench-route.yaml: permissive policy, 256 routes
#   vnetfw   full   config/bench.yaml: 10k rules, SNAT/DNAT, 256 routes
# Every app gets two net_pcap ports replaying vfw-pktgen pcaps forever
# (infinite_rx=1; no tx_pcap, so transmitted packets are dropped by the
# PMD). Throughput is what the app transmits over a window after a
# warm-up, read from DPDK telemetry (/ethdev/stats) - the same counters for
# every app - and per CPU-second of the worker thread, since on a shared
# machine the worker does not get its core to itself. Prints a table
# (Mpps per worker core, forwarded %, ratios: vnetfw route / testpmd io,
# vnetfw route / l3fwd lpm, vnetfw full / l3fwd acl, full / route) and
# writes build/bench-rig.json. A figure printer, not a pass/fail test:
# exits 0 when every app forwarded packets, 1 when one failed to start or
# forwarded nothing, 2 on usage errors. Method: docs/PERFORMANCE.md.
#
# Usage: scripts/bench-rig.sh [OPTIONS]        (as root)
#   --quick          smoke run: 1 repetition, 1 s warm-up, 3 s window
#   --seconds N      measurement window per run (default 10)
#   --warmup N       seconds of traffic before the window (default 2)
#   --reps N         repetitions, median reported (default 3)
#   --flows N        flows per direction (default 4000)
#   --size B|imix    frame size with FCS (default 64)
#   --proto P        udp|tcp|icmp|mix|T:U:I (default mix)
#   --rules N        security rules of the full profile (default 10000)
#   --apps LIST      comma list of testpmd,l3fwd,l3fwd-lpm,route,full
#                    (default all; l3fwd is the ACL mode)
#   --workers N      vnetfw (route, full) with N workers (default 1): EAL
#                    --lcores 0@0,1@1,2@0,...: the main lcore on CPU 0,
#                    worker lcore K on CPU K mod nproc; N rx queues per
#                    port, queue Q replaying the flows a symmetric-key RSS
#                    would put on it; adds the hand-off counters. testpmd
#                    and l3fwd (both modes) keep one worker
#   --steer S        with --workers > 1: rss (default, as above) or owner
#                    (every packet on its flow owner's queue: no hand-off;
#                    an emulated bound, no NIC setup of vnetfw's does it)
#   --l3fwd-lcores L l3fwd's EAL -l: 1 (default; its forwarding lcore is
#                    the main lcore, on CPU 1) or 0,1 (an idle main lcore
#                    on CPU 0 that busy-waits, see docs/PERFORMANCE.md)
#   --no-huge        run DPDK with --no-huge -m 2048 even if hugepages exist
#   --json FILE      results file (default build/bench-rig.json)
#   --keep           keep the work directory (pcaps, rules, logs)
set -euo pipefail

# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/hugepages.sh
. "$VFW_ROOT/scripts/lib/hugepages.sh"
# shellcheck source=lib/proc.sh
. "$VFW_ROOT/scripts/lib/proc.sh"

PACKAGES=(dpdk dpdk-dev libdpdk-dev dpdk-doc libpcap-dev libyaml-dev
	libnuma-dev meson ninja-build pkg-config python3 python3-yaml gcc)
L3FWD_SRC=/usr/share/dpdk/examples

usage() {
	sed -n '4,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'
	exit "${1:-0}"
}

quick=0 seconds=10 warmup=2 reps=3 flows=4000 size=64 proto=mix rules=10000
apps=testpmd,l3fwd,l3fwd-lpm,route,full no_huge=0 keep=0 json='' l3fwd_lcores=1 workers=1 steer=rss
seconds_set=0 warmup_set=0 reps_set=0
need_arg() { [[ $# -ge 2 && -n $2 ]] || { vfw_err "$1 needs a value"; usage 2; }; }
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { vfw_err "$1: '$2' is not a positive integer"; exit 2; }; }
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--seconds) need_arg "$@"; posint "$1" "$2"; seconds=$2; seconds_set=1; shift ;;
	--warmup) need_arg "$@"; posint "$1" "$2"; warmup=$2; warmup_set=1; shift ;;
	--reps) need_arg "$@"; posint "$1" "$2"; reps=$2; reps_set=1; shift ;;
	--flows) need_arg "$@"; posint "$1" "$2"; flows=$2; shift ;;
	--size) need_arg "$@"; size=$2; shift ;;
	--proto) need_arg "$@"; proto=$2; shift ;;
	--rules) need_arg "$@"; posint "$1" "$2"; rules=$2; shift ;;
	--apps) need_arg "$@"; apps=$2; shift ;;
	--workers) need_arg "$@"; posint "$1" "$2"; workers=$2; shift ;;
	--steer)
		need_arg "$@"
		[[ $2 == rss || $2 == owner ]] || { vfw_err "--steer takes rss or owner"; exit 2; }
		steer=$2
		shift
		;;
	--l3fwd-lcores)
		need_arg "$@"
		[[ $2 == 1 || $2 == 0,1 ]] || { vfw_err "--l3fwd-lcores takes 1 or 0,1"; exit 2; }
		l3fwd_lcores=$2
		shift
		;;
	--no-huge) no_huge=1 ;;
	--json) need_arg "$@"; json=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage 0 ;;
	*) vfw_err "unknown option: $1"; usage 2 ;;
	esac
	shift
done
if ((quick)); then
	((seconds_set)) || seconds=3
	((warmup_set)) || warmup=1
	((reps_set)) || reps=1
fi
IFS=, read -r -a APPS <<<"$apps"
NCPU=$(nproc)
for a in "${APPS[@]}"; do
	[[ $a =~ ^(testpmd|l3fwd|l3fwd-lpm|route|full)$ ]] ||
		{ vfw_err "--apps: '$a' is not testpmd, l3fwd, l3fwd-lpm, route or full"; exit 2; }
done

vfw_need_root "${VFW_ARGV[@]}"
cd "$VFW_ROOT"
BUILD=$(vfw_build_dir)
json=${json:-$BUILD/bench-rig.json}
RUN_ID=$(vfw_run_id)
WORK=$(mktemp -d /tmp/vfw-bench-rig.XXXXXX)
PREFIXES=()

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	vfw_stop_all 2>/dev/null || true
	if [[ -n ${L3FWD_BUILD_PID:-} ]]; then
		kill "$L3FWD_BUILD_PID" 2>/dev/null || true
		wait "$L3FWD_BUILD_PID" 2>/dev/null || true
	fi
	for p in "${PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
		rm -f "$VFW_HUGE_MNT/${p}map_"* 2>/dev/null || true
	done
	if ((keep)); then
		vfw_info "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. packages, project build, tools ------------------------------------

install_packages() {
	local missing=() p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ $status == installed ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	vfw_info "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}
install_packages

VNETFW=$(vfw_bin)
VNETFWCTL=$(vfw_ctl_bin)
PKTGEN=$BUILD/tools/pktgen/vfw-pktgen
RULEGEN=$VFW_ROOT/tools/pktgen/vfw-rulegen
need_vnetfw=0
for a in "${APPS[@]}"; do [[ $a == route || $a == full ]] && need_vnetfw=1; done
if ((workers > 1 && !need_vnetfw)); then
	vfw_warn "--workers $workers applies to vnetfw (route, full) only; testpmd and l3fwd keep one worker"
	workers=1
fi

if [[ ! -f $BUILD/build.ninja ]]; then
	vfw_info "no build in $BUILD: running scripts/setup.sh"
	"$VFW_ROOT/scripts/setup.sh"
elif ((!quick)) || [[ ! -x $VNETFW || ! -x $VNETFWCTL ]]; then
	# benchmark the current sources; a --quick run with binaries present
	# skips this to stay short
	vfw_info "ninja -C $BUILD"
	if ! ninja -C "$BUILD" >"$WORK/ninja.log" 2>&1; then
		tail -20 "$WORK/ninja.log" >&2
		[[ -x $VNETFW && -x $VNETFWCTL ]] ||
			vfw_die "build failed (log above)"
		vfw_warn "build failed (log above); benchmarking the binaries already in $BUILD"
	fi
fi
if ((need_vnetfw)) && [[ ! -x $VNETFW || ! -x $VNETFWCTL ]]; then
	vfw_die "$VNETFW or $VNETFWCTL is missing after the build"
fi
# vfw-pktgen is built by meson (tools/); until then, or in an older build
# directory, compile the one file here.
if [[ ! -x $PKTGEN ]]; then
	PKTGEN=$WORK/vfw-pktgen
	# shellcheck disable=SC2046
	gcc -O2 -std=gnu11 -Wall -Wextra -o "$PKTGEN" "$VFW_ROOT/tools/pktgen/pktgen.c" \
		$(pkg-config --cflags --libs libpcap) ||
		vfw_die "cannot build tools/pktgen/pktgen.c (libpcap-dev?)"
fi
TESTPMD=$(command -v dpdk-testpmd || true)
[[ -n $TESTPMD ]] || vfw_die "dpdk-testpmd not found (Debian package dpdk)"
DPDK_VERSION=$(pkg-config --modversion libdpdk)

# l3fwd: a copy of dpdk-doc's example sources in a temporary directory,
# compiled exactly like the example's Makefile does (-O3 plus libdpdk's
# pkg-config flags; vnetfw gets the same -march from that pkg-config), and
# cached in the build directory so a --quick run need not compile it.
# One change to the copy: l3fwd asks every port for Rx checksum offload
# unconditionally and net_pcap offers none, so rte_eth_dev_configure()
# fails; the copy masks the request with the device's capabilities (as
# l3fwd already does for RSS). No lookup path (ACL, LPM) reads the
# checksum flags.
L3FWD_PATCH_ID=rxoffload-mask-1
L3FWD=$BUILD/bench-rig/l3fwd-$DPDK_VERSION-$L3FWD_PATCH_ID/l3fwd
L3FWD_BUILD_PID=
build_l3fwd() {
	local cache src=$WORK/l3fwd-src cflags libs
	cache=$(dirname "$L3FWD")
	[[ -f $L3FWD_SRC/l3fwd/main.c ]] ||
		vfw_die "$L3FWD_SRC/l3fwd not found (Debian package dpdk-doc)"
	vfw_info "building l3fwd from $L3FWD_SRC/l3fwd (once; cached in $cache)"
	mkdir -p "$src"
	cp -r "$L3FWD_SRC/l3fwd" "$L3FWD_SRC/common" "$src/"
	sed -i \
		-e 's/local_port_conf\.rx_adv_conf\.rss_conf\.rss_hf &=/local_port_conf.rxmode.offloads \&= dev_info.rx_offload_capa; &/' \
		-e 's/rxq_conf\.offloads = port_conf\.rxmode\.offloads;/rxq_conf.offloads = port_conf.rxmode.offloads \& dev_info.rx_offload_capa;/' \
		"$src/l3fwd/main.c"
	[[ $(grep -c 'rx_offload_capa' "$src/l3fwd/main.c") -eq 2 ]] ||
		vfw_die "l3fwd main.c changed shape; cannot mask its Rx offload request (see $0)"
	cflags="-O3 $(pkg-config --cflags libdpdk) -DALLOW_EXPERIMENTAL_API -I../common"
	libs=$(pkg-config --libs libdpdk)
	(
		cd "$src/l3fwd"
		for f in main.c l3fwd_acl.c l3fwd_lpm.c l3fwd_fib.c l3fwd_em.c \
			l3fwd_event.c l3fwd_event_generic.c l3fwd_event_internal_port.c; do
			echo "$f"
		done | xargs -P "$(nproc)" -I{} sh -c "cc $cflags -c {} -o {}.o"
		# shellcheck disable=SC2086
		cc -o l3fwd ./*.o $libs
	) >"$WORK/l3fwd-build.log" 2>&1 || {
		tail -20 "$WORK/l3fwd-build.log" >&2
		vfw_die "l3fwd build failed (log above)"
	}
	mkdir -p "$cache"
	cp "$src/l3fwd/l3fwd" "$L3FWD.tmp" && mv "$L3FWD.tmp" "$L3FWD"
}
# wait_l3fwd: the binary is there (the background build, if any, is done).
wait_l3fwd() {
	if [[ -n $L3FWD_BUILD_PID ]]; then
		wait "$L3FWD_BUILD_PID" || vfw_die "l3fwd build failed"
		L3FWD_BUILD_PID=
	fi
	[[ -x $L3FWD ]] || vfw_die "l3fwd build failed"
}
RUN_ORDER=("${APPS[@]}")
for a in "${APPS[@]}"; do
	[[ $a == l3fwd || $a == l3fwd-lpm ]] || continue
	[[ -x $L3FWD && $L3FWD -nt $L3FWD_SRC/l3fwd/main.c ]] && break
	if ((quick)); then
		# A smoke run must stay short: compile on CPU 0 (the workers run
		# on CPU 1) while the other apps run, and run l3fwd (both modes)
		# last.
		(
			taskset -pc 0 "$BASHPID" >/dev/null
			build_l3fwd
		) &
		L3FWD_BUILD_PID=$!
		RUN_ORDER=()
		for b in "${APPS[@]}"; do [[ $b == l3fwd* ]] || RUN_ORDER+=("$b"); done
		for b in "${APPS[@]}"; do [[ $b == l3fwd* ]] && RUN_ORDER+=("$b"); done
	else
		build_l3fwd
	fi
	break
done

# --- 2. traffic and rules --------------------------------------------------

VNET_PCAP=$WORK/vnet.pcap
CLUSTER_PCAP=$WORK/cluster.pcap
"$PKTGEN" --out "$VNET_PCAP" --dir vnet --flows "$flows" --size "$size" --proto "$proto"
"$PKTGEN" --out "$CLUSTER_PCAP" --dir cluster --flows "$flows" --size "$size" --proto "$proto"
"$VFW_PYTHON" "$RULEGEN" --profile full --rules "$rules" --base config/bench.yaml \
	--yaml "$WORK/full.yaml" --control-socket "$WORK/full.sock" \
	--l3fwd-ipv4 "$WORK/l3fwd-v4.rules" --l3fwd-ipv6 "$WORK/l3fwd-v6.rules"
# l3fwd-lpm gets the route table of the route profile (the same 256
# routes as full's, the same ports and default route)
"$VFW_PYTHON" "$RULEGEN" --profile route --base config/bench-route.yaml \
	--yaml "$WORK/route.yaml" --control-socket "$WORK/route.sock" \
	--l3fwd-lpm-ipv4 "$WORK/l3fwd-lpm-v4.routes" --l3fwd-lpm-ipv6 "$WORK/l3fwd-lpm-v6.routes"
# With several workers each port has one rx queue per worker, and
# net_pcap one rx queue per rx_pcap devarg: vfw-split writes one pcap per
# queue. --steer rss (default): what a NIC's RSS would do with vnetfw's
# port setup (the symmetric key 0x6d5a..., hash over the IPv4 addresses:
# RTE_ETH_RSS_IP): the Toeplitz hash of (source, destination), queue =
# RETA[hash % 128] with the table filled round robin, as PMDs do by
# default. --steer owner: every packet on the queue of the worker that
# owns its flow (vnetfw's dispatch: the same hash and table over the
# outside addresses, an inside address counting as the vnet port's, the
# "inside" derived from each profile's config as lib/policy does): the
# no-hand-off bound. The two differ only for flows
# with an inside address (NAT domain, cluster subnet). Either way every
# flow is on one queue and the queues together replay each pcap once, so
# the packets are the ones a one-worker run sees. (The same pcap on every
# queue would be another traffic mix: each flow on every queue.)
cat >"$WORK/split.py" <<'PY'
# split.py rss|owner N CONFIG|- TAG PCAP...: PCAP -> PCAP-less-.pcap + TAG-qQ.pcap
import ipaddress, struct, sys

mode, n, cfg_path, tag, pcaps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]

KEY = int.from_bytes(bytes([0x6d, 0x5a] * 20), "big")  # lib/dataplane/dp.c vfw_rss_key
KEY_BITS, RETA = 320, 128

def toeplitz(data):
    h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (KEY >> (KEY_BITS - 32 - i)) & 0xffffffff
    return h

inside = []
if mode == "owner":
    # lib/policy/policy.c derive_addresses(): the "inside" of NAT
    import yaml
    cfg = yaml.safe_load(open(cfg_path))
    net = lambda a, strict=False: ipaddress.ip_network(
        "0.0.0.0/0" if a == "any" else a, strict=strict)
    host = lambda a: net(str(a).split("/")[0] + "/32")
    for role in ("vnet", "cluster"):
        inside.append(host(cfg["ports"][role]["address"]))
    inside.append(net(cfg["ports"]["cluster"]["address"]))
    nat = cfg.get("nat") or {}
    for d in nat.get("dnat") or []:
        inside += [host(d["destination"]), host(d["translated_address"])]
    for sn in nat.get("snat") or []:
        inside += [host(a) for a in sn.get("translated_addresses") or []]
        inside += [net(a) for a in sn.get("source") or []]
    inside = [x for x in inside if x.version == 4]
    vnet_ip = ipaddress.ip_address(str(cfg["ports"]["vnet"]["address"]).split("/")[0]).packed

def outside(a):
    ip = ipaddress.ip_address(a)
    # lib/dataplane worker.c outside(): an inside address counts as the vnet port's
    return vnet_ip if any(ip in x for x in inside) else a

for path in pcaps:
    with open(path, "rb") as f:
        data = f.read()
    end = ">" if data[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") else "<"
    out = [bytearray(data[:24]) for _ in range(n)]
    counts, off = [0] * n, 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, off + 8)[0]
        rec = data[off:off + 16 + incl]
        frame = rec[16:]
        q = 0
        if len(frame) >= 34 and frame[12:14] == b"\x08\x00":
            src, dst = frame[26:30], frame[30:34]
            if mode == "rss":
                q = toeplitz(src + dst) % RETA % n
            else:
                q = toeplitz(outside(src) + outside(dst)) % RETA % n
        out[q] += rec
        counts[q] += 1
        off += 16 + incl
    if min(counts) == 0:
        sys.exit("split of %s: a queue gets no packets (%s)" % (path, counts))
    base = path[:-len(".pcap")] + tag
    for q in range(n):
        with open("%s-q%d.pcap" % (base, q), "wb") as f:
            f.write(out[q])
    print("steer %s: %s -> %d queues of %s packets" % (
        mode, base.rsplit("/", 1)[-1], n, "/".join(map(str, counts))))
PY
if ((need_vnetfw)); then
	for p in full route; do
		"$VNETFW" -- -c "$WORK/$p.yaml" --check >"$WORK/check-$p.log" 2>&1 || {
			cat "$WORK/check-$p.log" >&2
			vfw_die "generated $p config does not validate"
		}
	done
fi
if ((workers > 1 && need_vnetfw)); then
	if [[ $steer == rss ]]; then
		"$VFW_PYTHON" "$WORK/split.py" rss "$workers" - "" "$VNET_PCAP" "$CLUSTER_PCAP"
	else
		for p in route full; do
			"$VFW_PYTHON" "$WORK/split.py" owner "$workers" "$WORK/$p.yaml" "-$p" \
				"$VNET_PCAP" "$CLUSTER_PCAP"
		done
	fi
fi
# net_pcap infinite_rx keeps the whole pcap in mbufs of the app's pool.
# vnetfw's pool has at least 32767 mbufs; the queues, rings and caches
# take about 10k of them with one worker.
if ((2 * flows > 20000)); then
	vfw_warn "2 x $flows packets may not fit vnetfw's mbuf pool (32767, ~10k of them for its queues)"
fi

# --- 3. memory -------------------------------------------------------------

if ((!no_huge)) && vfw_hugepages_usable &&
	(($(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo) >= 512)); then
	MEM_MODE=hugepages
	MEM_ARGS=(--huge-unlink)
else
	MEM_MODE=no-huge
	MEM_ARGS=(--no-huge -m 2048)
	((no_huge)) || vfw_warn "fewer than 512 free hugepages: running with --no-huge -m 2048"
fi

# --- 4. the telemetry sampler ----------------------------------------------

cat >"$WORK/sample.py" <<'PY'
# Reads /ethdev/stats of ports 0 and 1 from a DPDK process's telemetry
# socket: waits until both ports receive, sleeps the warm-up, then takes
# two snapshots SECONDS apart. Beside the packet counters it reads how
# long the worker threads (the EAL threads of lcores 1..WORKERS) were on
# the CPU in the window (/proc/PID/task/TID/schedstat, ns): on a shared
# machine a worker gets less than a whole core, and packets per
# CPU-second of the workers (summed) is the figure that other load
# disturbs least. For vnetfw ("vnetfw" as the last argument) it also
# takes the hand-off counters of /vnetfw/stats and /vnetfw/drops in the
# same window. Prints one JSON object.
import glob, json, os, re, socket, sys, time

path, pid, t_launch, warmup, seconds, timeout = sys.argv[1:7]
nworkers = int(sys.argv[7]) if len(sys.argv) > 7 else 1
is_vnetfw = len(sys.argv) > 8 and sys.argv[8] == "vnetfw"
pid, t_launch = int(pid), float(t_launch)
warmup, seconds, timeout = float(warmup), float(seconds), float(timeout)

def alive():
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False

def fail(msg):
    print(json.dumps({"error": msg}))
    sys.exit(1)

def worker_tids(n):
    """EAL names lcore K's thread rte-worker-K (lcore-worker-K in newer
    DPDK); the workers are lcores 1..n. With one worker and no such
    thread (l3fwd -l 1), the thread pinned to CPU 1 alone. [] unless all
    n are found."""
    named, pinned = {}, None
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            comm = open(t + "/comm").read().strip()
            m = re.fullmatch(r"(?:rte|lcore)-worker-(\d+)", comm)
            if m and 1 <= int(m.group(1)) <= n:
                named[int(m.group(1))] = t
                continue
            st = open(t + "/status").read()
            if re.search(r"^Cpus_allowed_list:\s*1\s*$", st, re.M):
                pinned = t
        except OSError:
            pass
    if len(named) == n:
        return [named[k] for k in sorted(named)]
    if n == 1 and pinned:
        return [pinned]
    return []

def run_ns(task):
    try:
        run, wait = open(task + "/schedstat").read().split()[:2]
        return int(run), int(wait)
    except (OSError, TypeError, ValueError):
        return None

def steal_cpu1():
    for line in open("/proc/stat"):
        if line.startswith("cpu1 "):
            f = line.split()
            return int(f[8]) if len(f) > 8 else 0
    return 0

deadline = time.monotonic() + timeout
sock = None
while sock is None:
    if not alive():
        fail("the process exited during start-up")
    if time.monotonic() > deadline:
        fail(f"no telemetry socket {path} after {timeout:.0f} s")
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        s.recv(1024)
        sock = s
    except OSError:
        time.sleep(0.05)

def query(cmd):
    sock.send(cmd.encode())
    return json.loads(sock.recv(1 << 16).decode())

def snap():
    out = []
    for p in (0, 1):
        st = query(f"/ethdev/stats,{p}").get("/ethdev/stats")
        if not isinstance(st, dict):
            fail(f"port {p}: no /ethdev/stats")
        out.append(st)
    return out

# started = both ports have received (the app started them and polls)
while True:
    if not alive():
        fail("the process exited during start-up")
    if time.monotonic() > deadline:
        fail(f"ports not receiving after {timeout:.0f} s")
    try:
        if all(s["ipackets"] > 0 for s in snap()):
            break
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.05)
def vsnap():
    """vnetfw's hand-off counters (0 with one worker) and its port rx."""
    if not is_vnetfw:
        return {}
    st = query("/vnetfw/stats").get("/vnetfw/stats") or {}
    dr = query("/vnetfw/drops").get("/vnetfw/drops") or {}
    return {"out": st.get("handoff_out", 0), "in": st.get("handoff_in", 0),
            "ring_full": dr.get("handoff_ring_full", 0),
            "paused": st.get("handoff_rx_paused", 0),
            "rx": st.get("vnet_rx", 0) + st.get("cluster_rx", 0)}

startup = time.time() - t_launch
tasks = worker_tids(nworkers)
time.sleep(warmup)
c0, st0, t0 = [run_ns(t) for t in tasks], steal_cpu1(), time.monotonic()
a, va = snap(), vsnap()
time.sleep(seconds)
b, vb = snap(), vsnap()
t1, c1, st1 = time.monotonic(), [run_ns(t) for t in tasks], steal_cpu1()
if not alive():
    fail("the process exited during the measurement")
dt = t1 - t0
d = lambda k, p: b[p][k] - a[p][k]
rx = [d("ipackets", p) for p in (0, 1)]
tx = [d("opackets", p) for p in (0, 1)]
r = {
    "startup_s": round(startup, 2), "window_s": round(dt, 3),
    "rx": rx, "tx": tx,
    "rx_nombuf": [d("rx_nombuf", p) for p in (0, 1)],
    "oerrors": [d("oerrors", p) for p in (0, 1)],
    "mpps": sum(tx) / dt / 1e6, "rx_mpps": sum(rx) / dt / 1e6,
    "fwd_pct": 100.0 * sum(tx) / sum(rx) if sum(rx) else 0.0,
    "cpu1_steal_s": (st1 - st0) / os.sysconf("SC_CLK_TCK"),
}
if tasks and all(c0) and all(c1) and all(y[0] > x[0] for x, y in zip(c0, c1)):
    each = [(y[0] - x[0]) / 1e9 for x, y in zip(c0, c1)]
    cpu = sum(each)
    # worker_cpu_share: of one CPU, summed over the workers (up to N)
    r.update(worker_cpu_s=round(cpu, 3), worker_cpu_share=cpu / dt,
             worker_runq_wait_s=round(sum((y[1] - x[1]) for x, y in zip(c0, c1)) / 1e9, 3),
             mpps_core=sum(tx) / cpu / 1e6)
    if nworkers > 1:
        r["worker_cpu_share_each"] = [c / dt for c in each]
        # worker K-1 (lcore K) polls rx queue K-1 and sends on tx queue
        # K-1 of each port: per-queue counters are per worker
        try:
            qd = lambda k, i: sum(b[p][k][i] - a[p][k][i] for p in (0, 1))
            r["rx_each"] = [qd("q_ipackets", i) for i in range(nworkers)]
            r["tx_each"] = [qd("q_opackets", i) for i in range(nworkers)]
            r["mpps_core_each"] = [t / c / 1e6 for t, c in zip(r["tx_each"], each)]
        except (KeyError, IndexError, TypeError):
            pass
elif nworkers > 1:
    r["worker_threads_found"] = len(tasks)
if va and vb:
    h = {k: vb[k] - va[k] for k in va}
    # of the packets the workers received: for another worker (cross),
    # passed on (pct), dropped because that worker's ring was full
    pct = lambda k: 100.0 * h[k] / h["rx"] if h["rx"] else 0.0
    h["pct"], h["ring_full_pct"] = pct("out"), pct("ring_full")
    h["cross_pct"] = h["pct"] + h["ring_full_pct"]
    r["handoff"] = h
print(json.dumps(r))
PY

# --- 5. runs ---------------------------------------------------------------

# The EAL line every app shares.
# eal_args PREFIX [RX_COPIES [LCORES]]
eal_args() {
	local prefix=$1 copies=${2:-1} lcores=${3:-0,1} v c i
	v=rx_pcap=$VNET_PCAP c=rx_pcap=$CLUSTER_PCAP
	for ((i = 1; i < copies; i++)); do
		v+=,rx_pcap=$VNET_PCAP c+=,rx_pcap=$CLUSTER_PCAP
	done
	EAL=(-l "$lcores" --file-prefix "$prefix" --no-pci "${MEM_ARGS[@]}"
		--vdev "net_pcap0,$v,infinite_rx=1" --vdev "net_pcap1,$c,infinite_rx=1")
}

# eal_args_workers PREFIX N APP: vnetfw with N > 1 workers. The main
# lcore 0 shares CPU 0 (it sleeps when idle), worker lcore K runs on CPU K
# mod nproc (2 CPUs: lcore 1 on CPU 1, lcore 2 on CPU 0), and rx queue Q
# of each port replays its share (vnet[-APP]-qQ.pcap, cluster...). A
# net_pcap port without tx_pcap has one (dropping) tx queue per rx_pcap,
# so also the N tx queues vnetfw needs.
VNETFW_LCORES=0@0
for ((q = 1; q <= workers; q++)); do VNETFW_LCORES+=,$q@$((q % NCPU)); done
eal_args_workers() {
	local prefix=$1 n=$2 tag='' v='' c='' q
	[[ $steer == owner ]] && tag=-$3
	for ((q = 0; q < n; q++)); do
		v+=rx_pcap=${VNET_PCAP%.pcap}$tag-q$q.pcap,
		c+=rx_pcap=${CLUSTER_PCAP%.pcap}$tag-q$q.pcap,
	done
	EAL=(--lcores "$VNETFW_LCORES" --file-prefix "$prefix" --no-pci "${MEM_ARGS[@]}"
		--vdev "net_pcap0,${v}infinite_rx=1" --vdev "net_pcap1,${c}infinite_rx=1")
}

# app_cmd APP PREFIX: sets CMD for one run.
app_cmd() {
	local app=$1 prefix=$2 mbufs qsize lookup
	case $app in
	testpmd)
		eal_args "$prefix"
		# the pool holds both pcaps (infinite_rx) plus the working set
		mbufs=$((2 * flows + 16384))
		# --stats-period keeps it running without stdin until SIGTERM
		CMD=("$TESTPMD" "${EAL[@]}" -- --forward-mode=io --nb-cores=1
			--rxq=1 --txq=1 --total-num-mbufs="$mbufs" --stats-period 3600)
		;;
	l3fwd | l3fwd-lpm)
		if [[ $l3fwd_lcores == 0,1 ]]; then
			# l3fwd opens one tx queue per lcore (2 here); a net_pcap
			# port without tx_pcap has as many (dropping) tx queues as
			# rx pcaps, so each port names its pcap twice; l3fwd polls
			# rx queue 0 only (--config), the second is never set up.
			eal_args "$prefix" 2 0,1
		else
			# -l 1: the main lcore is the forwarding lcore (l3fwd runs
			# its loop on every lcore), nothing of l3fwd on CPU 0
			eal_args "$prefix" 1 1
		fi
		# l3fwd sizes its pool from the queue sizes; make it hold both
		# pcaps (pool >= 4 * qsize with one or two lcores)
		qsize=$(((2 * flows + 4096 + 3) / 4))
		# the same options in both modes but the lookup and its files;
		# --eth-dest: the next hops' MACs (vnet gateway, first node), since
		# l3fwd has one destination MAC per port
		if [[ $app == l3fwd ]]; then
			lookup=(--lookup=acl --rule_ipv4="$WORK/l3fwd-v4.rules"
				--rule_ipv6="$WORK/l3fwd-v6.rules")
		else
			lookup=(--lookup=lpm --rule_ipv4="$WORK/l3fwd-lpm-v4.routes"
				--rule_ipv6="$WORK/l3fwd-lpm-v6.routes")
		fi
		CMD=("$L3FWD" "${EAL[@]}" -- -p 0x3 --config="(0,0,1),(1,0,1)"
			"${lookup[@]}" --parse-ptype
			--rx-queue-size "$qsize" --tx-queue-size "$qsize"
			"--eth-dest=0,02:00:00:00:01:01" "--eth-dest=1,02:00:00:00:02:10")
		;;
	route | full)
		if ((workers > 1)); then
			eal_args_workers "$prefix" "$workers" "$app"
		else
			eal_args "$prefix"
		fi
		CMD=("$VNETFW" "${EAL[@]}" -- -c "$WORK/$app.yaml" --workers "$workers")
		;;
	esac
}

declare -A LABEL=([testpmd]="testpmd io" [l3fwd]="l3fwd acl" [l3fwd-lpm]="l3fwd lpm"
	[route]="vnetfw route" [full]="vnetfw full")
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
failed=0

# run_one APP REP: one process, one measurement, one JSON line in RESULTS.
run_one() {
	local app=$1 rep=$2 prefix log out t_launch pid extra='{}' sock nw=1 kind=peer
	prefix=vfwrig-$RUN_ID-$app-$rep
	log=$WORK/$app-$rep.log
	PREFIXES+=("$prefix")
	app_cmd "$app" "$prefix"
	t_launch=$(date +%s.%N)
	vfw_spawn "$log" "${CMD[@]}"
	pid=$VFW_LAST_PID
	[[ $app == route || $app == full ]] && nw=$workers kind=vnetfw
	# the sampler (and this shell) stay off the (first) worker's CPU
	out=$(taskset -c 0 "$VFW_PYTHON" "$WORK/sample.py" \
		"/var/run/dpdk/$prefix/dpdk_telemetry.v2" "$pid" "$t_launch" \
		"$warmup" "$seconds" 30 "$nw" "$kind") || true
	if [[ $app == route || $app == full ]]; then
		sock=$WORK/$app.sock
		extra=$(timeout 10 "$VNETFWCTL" --socket "$sock" --json show stats 2>/dev/null ||
			echo '{}')
	fi
	vfw_stop "$pid" 10 || true
	rm -rf "/var/run/dpdk/$prefix"
	[[ -n $out ]] || out='{"error":"no output from the sampler"}'
	if [[ $app == l3fwd-lpm ]]; then
		# l3fwd skips, silently, a route to a port it does not use, and
		# sends a packet without a route back out of its input port: a
		# wrong route file would still "forward" 100 %. Every IPv4
		# route must be in its LPM table ("LPM: Adding route A / D (P)").
		local want got
		want=$(grep -c '^R' "$WORK/l3fwd-lpm-v4.routes")
		got=$(grep -cE '^LPM: Adding route [0-9.]+ / ' "$log" || true)
		[[ $got == "$want" ]] ||
			out="{\"error\":\"l3fwd loaded $got of the $want IPv4 routes\"}"
	fi
	"$VFW_PYTHON" - "$app" "$rep" "$out" "$extra" "$log" >>"$RESULTS" <<'PY'
import json, sys
app, rep, out, extra, log = sys.argv[1:6]
r = json.loads(out)
r.update(app=app, rep=int(rep))
try:
    st = json.loads(extra.splitlines()[0]).get("stats", {}) if extra.strip() else {}
except (ValueError, IndexError):
    st = {}
if st:
    ev = st.get("events", {})
    r["vnetfw"] = {
        "forwarded": st.get("forwarded"),
        "sessions": st.get("sessions", {}).get("total"),
        "sessions_created": ev.get("sessions_created"),
        "session_hits": ev.get("session_hits"),
        "acl_allowed": ev.get("acl_allowed"),
        "snat_translated": ev.get("snat_translated"),
        "drops": {k: v for k, v in st.get("drops", {}).items() if v},
    }
if "error" in r:
    with open(log, errors="replace") as f:
        r["log_tail"] = f.read().splitlines()[-15:]
print(json.dumps(r))
PY
	if ! "$VFW_PYTHON" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if "error" not in r and sum(r["tx"]) > 0 else 1)' "$(tail -1 "$RESULTS")"; then
		vfw_err "${LABEL[$app]} (run $rep): $(tail -1 "$RESULTS" | "$VFW_PYTHON" -c 'import json,sys; r=json.load(sys.stdin); print(r.get("error") or "forwarded nothing")')"
		sed 's/^/    /' "$log" | tail -15 >&2
		failed=1
		return 1
	fi
	"$VFW_PYTHON" -c '
import json, sys
r, nw = json.loads(sys.argv[1]), int(sys.argv[3])
line = "    %-13s run %d: %6.2f Mpps/core (%6.2f Mpps, worker on CPU %3.0f%%), %5.1f%% forwarded, start-up %.1f s" % (
    sys.argv[2], r["rep"], r.get("mpps_core", float("nan")), r["mpps"],
    100 * r.get("worker_cpu_share", float("nan")), r["fwd_pct"], r["startup_s"])
if nw > 1:
    # "worker" is then the sum over the workers; say how it splits
    line = line.replace("worker on CPU", "%d workers on CPU" % nw)
    each = r.get("worker_cpu_share_each")
    h = r.get("handoff", {})
    j = lambda v, f: " + ".join(f % x for x in v) if v else "?"
    line += "\n%20s workers on CPU %s, %s Mpps/core each; of rx %.1f%% for another worker: %.1f%% handed off, %.1f%% ring full; rx paused in %d loops" % ("",
        j([100 * x for x in each or []], "%.0f%%") if each else
        "?? (%d of %d threads found)" % (r.get("worker_threads_found", 0), nw),
        j(r.get("mpps_core_each"), "%.2f"),
        h.get("cross_pct", 0), h.get("pct", 0), h.get("ring_full_pct", 0), h.get("paused", 0))
print(line)' "$(tail -1 "$RESULTS")" "${LABEL[$app]}" "$nw"
}

CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
# what was measured: the commit of the tree the build directory was
# configured from (-dirty: with uncommitted changes)
VFW_SRC=$VFW_ROOT
if [[ -f $BUILD/meson-info/meson-info.json ]]; then
	VFW_SRC=$("$VFW_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
		"$BUILD/meson-info/meson-info.json" 2>/dev/null || echo "$VFW_ROOT")
fi
VFW_COMMIT=$(git -C "$VFW_SRC" describe --always --dirty 2>/dev/null || echo "unknown")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
vfw_info "rig: $CPU_MODEL, DPDK $DPDK_VERSION, vnetfw $VFW_COMMIT, $MEM_MODE; $flows flows/direction, size $size, proto $proto"
vfw_info "runs: ${#APPS[@]} apps x $reps rep(s), ${warmup} s warm-up + ${seconds} s window each; load average $LOAD_BEFORE"
((workers == 1 || !need_vnetfw)) ||
	vfw_info "vnetfw: $workers workers, EAL --lcores $VNETFW_LCORES ($NCPU CPUs), $workers rx/tx queues per port, steered by $steer"
# Apps interleaved within each repetition: slow drifts of a shared
# machine's load hit every app alike, which keeps the ratios honest.
for ((rep = 1; rep <= reps; rep++)); do
	for app in "${RUN_ORDER[@]}"; do
		[[ $app == l3fwd* ]] && wait_l3fwd
		run_one "$app" "$rep" || true
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 6. report -------------------------------------------------------------

mkdir -p "$(dirname "$json")"
"$VFW_PYTHON" - "$RESULTS" "$json" <<PY
import datetime, json, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = "${APPS[*]}".split()
workers = $workers
label = {"testpmd": ("testpmd", "io"), "l3fwd": ("l3fwd", "acl"),
         "l3fwd-lpm": ("l3fwd", "lpm"),
         "route": ("vnetfw", "route"), "full": ("vnetfw", "full")}
med = lambda rs, k: statistics.median(r[k] for r in rs) if rs and all(k in r for r in rs) else None
res = {}
for app in order:
    ok = [r for r in rows if r["app"] == app and "error" not in r and sum(r["tx"]) > 0]
    bad = [r for r in rows if r["app"] == app and r not in ok]
    e = {"app": label[app][0], "profile": label[app][1], "runs": len(ok),
         "failed_runs": len(bad)}
    if ok:
        e.update({
            "mpps_per_core": med(ok, "mpps_core"),
            "mpps_per_core_runs": [round(r.get("mpps_core", 0), 3) for r in ok],
            "mpps_wall": med(ok, "mpps"),
            "mpps_wall_runs": [round(r["mpps"], 3) for r in ok],
            "worker_cpu_share": med(ok, "worker_cpu_share"),
            "fwd_pct": med(ok, "fwd_pct"),
            "forwarded": sum(sum(r["tx"]) for r in ok),
            "received": sum(sum(r["rx"]) for r in ok),
            "rx_nombuf": sum(sum(r["rx_nombuf"]) for r in ok),
            "startup_s": med(ok, "startup_s"),
        })
        # rx and tx are read while packets move: +-1 burst (32) per read
        e["dropped"] = max(0, e["received"] - e["forwarded"])
        e["fwd_pct"] = min(100.0, e["fwd_pct"])
        if "vnetfw" in ok[-1]:
            e["vnetfw_last_run"] = ok[-1]["vnetfw"]
        if workers > 1 and app in ("route", "full"):
            # worker_cpu_share and mpps_per_core are then over all workers
            hs = [r["handoff"] for r in ok if "handoff" in r]
            e["workers"] = workers
            each = [r["worker_cpu_share_each"] for r in ok if "worker_cpu_share_each" in r]
            if each:
                e["worker_cpu_share_each"] = [statistics.median(x[i] for x in each)
                                              for i in range(workers)]
            # per worker (rx/tx queue K-1 of both ports = lcore K)
            pe = [r["mpps_core_each"] for r in ok if "mpps_core_each" in r]
            if pe:
                e["mpps_per_core_each"] = [statistics.median(x[i] for x in pe)
                                           for i in range(workers)]
                e["mpps_per_core_each_runs"] = [[round(v, 3) for v in x] for x in pe]
                e["forwarded_each"] = [sum(r["tx_each"][i] for r in ok if "tx_each" in r)
                                       for i in range(workers)]
                e["received_each"] = [sum(r["rx_each"][i] for r in ok if "rx_each" in r)
                                      for i in range(workers)]
            if hs:
                e["handoff"] = {
                    "cross_pct_of_rx": statistics.median(h["cross_pct"] for h in hs),
                    "pct_of_rx": statistics.median(h["pct"] for h in hs),
                    "ring_full_pct_of_rx": statistics.median(h["ring_full_pct"] for h in hs),
                    "pct_of_rx_runs": [round(h["pct"], 2) for h in hs],
                    "ring_full_pct_of_rx_runs": [round(h["ring_full_pct"], 2) for h in hs],
                    "out": sum(h["out"] for h in hs), "in": sum(h["in"] for h in hs),
                    "ring_full": sum(h["ring_full"] for h in hs),
                    "rx_paused_loops": sum(h.get("paused", 0) for h in hs),
                    "rx": sum(h["rx"] for h in hs)}
    if bad:
        e["errors"] = [{"error": r.get("error", "forwarded nothing"),
                        "log_tail": r.get("log_tail", [])} for r in bad]
    res[app] = e
def ratio(a, b, k):
    x, y = res.get(a, {}).get(k), res.get(b, {}).get(k)
    return x / y if x and y else None
ratios = {}
for k, tag in (("mpps_per_core", ""), ("mpps_wall", "_wall")):
    ratios["vnetfw_full/l3fwd_acl" + tag] = ratio("full", "l3fwd", k)
    ratios["vnetfw_route/testpmd_io" + tag] = ratio("route", "testpmd", k)
    ratios["vnetfw_route/l3fwd_lpm" + tag] = ratio("route", "l3fwd-lpm", k)
    ratios["vnetfw_full/vnetfw_route" + tag] = ratio("full", "route", k)
doc = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": platform.node(), "cpu": """$CPU_MODEL""", "cpus": $(nproc),
    "kernel": platform.release(), "dpdk": "$DPDK_VERSION", "memory": "$MEM_MODE",
    "vnetfw_commit": "$VFW_COMMIT", "vnetfw_source": "$VFW_SRC", "vnetfw_binary": "$VNETFW", "l3fwd_lcores": "$l3fwd_lcores",
    "load_average_before": "$LOAD_BEFORE", "load_average_after": "$LOAD_AFTER",
    "vnetfw_workers": workers,
    "method": {
        "lcores": "-l 0,1: main lcore 0, one worker (lcore 1)" if workers == 1 else
                  "testpmd, l3fwd: one worker as with --workers 1; vnetfw: --lcores $VNETFW_LCORES "
                  "(lcore@CPU: main lcore 0, workers 1..%d), %d rx/tx queues per port, "
                  "rx queue Q replays the flows that " % (workers, workers) +
                  ("symmetric-key RSS (Toeplitz over the IPv4 addresses, RETA round robin) "
                   "would put on Q" if "$steer" == "rss" else
                   "worker Q owns (vnetfw's dispatch hash; an emulated bound)"),
        "steer": "$steer" if workers > 1 else None,
        "ports": "net_pcap rx_pcap=...,infinite_rx=1 on both ports, no tx_pcap (the PMD drops tx)",
        "packets": "telemetry /ethdev/stats: opackets (forwarded) and ipackets of ports 0+1 over the window",
        "mpps_per_core": "forwarded packets / on-CPU time of the worker thread (schedstat)" if workers == 1 else
                         "forwarded packets / on-CPU time of the worker threads, summed (schedstat)",
        "mpps_wall": "forwarded packets / wall-clock window",
        "note": "rx and tx counters are read while traffic flows: +-32 packets (one burst) per snapshot",
        "warmup_s": $warmup, "window_s": $seconds, "reps": $reps, "statistic": "median"},
    "traffic": {"flows_per_direction": $flows, "size": "$size", "proto": "$proto",
                "generator": "vfw-pktgen --dir vnet|cluster"},
    "rules": {"full": $rules, "routes": 256},
    "quick": bool($quick), "results": list(res.values()), "ratios": ratios,
}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
fmt = lambda v, f: (f % v) if v is not None else "-"
print()
print("%-8s %-8s %10s %10s %8s %10s   %s" % ("app", "profile", "Mpps/core", "Mpps", "worker", "forwarded", "ratio (per core)"))
for app in order:
    e = res[app]
    rt = ""
    if app == "route":
        rt = ", ".join("%.2f x %s" % (ratios["vnetfw_route/" + k], n)
                       for k, n in (("testpmd_io", "testpmd io"), ("l3fwd_lpm", "l3fwd lpm"))
                       if ratios["vnetfw_route/" + k] is not None)
    if app == "full" and ratios["vnetfw_full/l3fwd_acl"] is not None:
        rt = "%.2f x l3fwd acl" % ratios["vnetfw_full/l3fwd_acl"]
    prof = e["profile"] + ("/%dw" % e["workers"] if e.get("workers") else "")
    if e["runs"]:
        share = e["worker_cpu_share"]
        print("%-8s %-8s %10s %10.2f %7s %9.1f%%   %s" % (e["app"], prof,
              fmt(e["mpps_per_core"], "%.2f"), e["mpps_wall"],
              fmt(share and 100 * share, "%.0f%%"), e["fwd_pct"], rt))
    else:
        print("%-8s %-8s %10s" % (e["app"], prof, "FAILED"))
for app in ("route", "full"):
    v = res.get(app, {}).get("vnetfw_last_run")
    if v:
        print("  vnetfw %-5s: %s sessions, %s session hits, %s SNAT; drops: %s" % (
            app, v["sessions"], v["session_hits"], v["snat_translated"],
            ", ".join("%s %d" % kv for kv in v["drops"].items()) or "none"))
    e = res.get(app, {})
    if e.get("workers"):
        h, each = e.get("handoff"), e.get("worker_cpu_share_each")
        pe = e.get("mpps_per_core_each")
        print("  vnetfw %-5s: %d workers on CPU %s, %s Mpps/core each; of rx %s for another worker: %s handed off, %s ring full; rx paused in %s loops" % (
            app, e["workers"],
            " + ".join("%.0f%%" % (100 * x) for x in each) if each else "?",
            " + ".join("%.2f" % x for x in pe) if pe else "?",
            fmt(h and h["cross_pct_of_rx"], "%.1f%%"), fmt(h and h["pct_of_rx"], "%.1f%%"),
            fmt(h and h["ring_full_pct_of_rx"], "%.1f%%"), fmt(h and h["rx_paused_loops"], "%d")))
print()
if workers == 1:
    print("One worker core each. Mpps/core: forwarded packets per second of the worker")
    print("thread's CPU time (the figure to compare); Mpps: per wall-clock second; worker:")
    print("its CPU share in the window (less than 100% when other load shares the core).")
else:
    print("testpmd and l3fwd: one worker core; vnetfw: %d workers (EAL --lcores $VNETFW_LCORES)," % workers)
    print("rx queues fed as %s." % ("RSS with vnetfw's symmetric key would" if "$steer" == "rss" else
          "vnetfw's dispatch would (--steer owner: no hand-off, not what a NIC does)"))
    print("Mpps/core: forwarded packets per second of CPU time of the worker threads,")
    print("summed (the figure to compare); Mpps: per wall-clock second; worker: the")
    print("workers' CPU shares in the window, summed (up to %d00%%). Of rx for another" % workers)
    print("worker: received packets whose flow another worker owns, handed off on its ring")
    print("(handoff_out) or dropped because the ring was full (handoff_ring_full); medians.")
    print("Rx paused: worker loops that left the rx queues alone because a ring to the")
    print("other worker lacked room (handoff_rx_paused), summed over the windows.")
print("Load average before/after: $LOAD_BEFORE / $LOAD_AFTER. Results: %s" % sys.argv[2])
PY

if ((failed)); then
	vfw_err "at least one app failed to start or forwarded nothing (see above)"
	exit 1
fi
