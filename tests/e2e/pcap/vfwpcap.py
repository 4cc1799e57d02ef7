# SPDX-License-Identifier: BSD-3-Clause
"""pcap-in/pcap-out end-to-end scenarios for vnetfw.

A scenario is a generator function decorated with @scenario(name, config):
the code before its ``yield`` writes input frames (``s.vnet.send(...)``,
``s.cluster.send(...)``); the harness then runs vnetfw on net_pcap ports
fed by those frames, queries its counters over the control socket, stops it
with SIGTERM and reads the output pcaps; the code after ``yield`` checks
the output (``s.vnet.out``, ``s.cluster.out``) and the counters
(``s.drop("route_none")``) with ``s.check(...)`` and the helpers below.

Scenarios live in scenarios/*.py, configs in configs/*.yaml. In a config,
``@SOCKET@`` is replaced by a per-run control socket path.
"""

import glob
import importlib.util
import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("SCAPY_USE_LIBPCAP", "no")
import logging  # noqa: E402

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (  # noqa: E402,F401
    ARP, Dot1Q, Ether, ICMP, IP, Raw, TCP, UDP, rdpcap, wrpcap)
from scapy.utils import checksum  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_DIR = os.path.join(HERE, "configs")

# The addressing plan every pcap config shares (see configs/base.yaml).
VNET_MAC = "02:00:00:00:00:01"
CL_MAC = "02:00:00:00:00:02"
VNET_IP = "10.0.1.4"
CL_IP = "10.240.0.4"
GW_IP, GW_MAC = "10.0.1.1", "02:00:00:00:01:01"
CLIENT_IP, CLIENT_MAC = "10.0.1.10", "02:00:00:00:01:0a"
APPL_IP, APPL_MAC = "10.0.1.20", "02:00:00:00:01:14"
SERVER_IP, SERVER_MAC = "10.240.1.10", "02:00:00:00:02:0a"
BCAST = "ff:ff:ff:ff:ff:ff"
PORT_MAC = {"vnet": VNET_MAC, "cluster": CL_MAC}
PORT_IP = {"vnet": VNET_IP, "cluster": CL_IP}

SCENARIOS = []


def scenario(name, config="base.yaml", workers=None, tags=(), xfail=None):
    """Register a scenario. workers: run only with this worker count.
    xfail: a known bug of the binary, described; the scenario still runs
    and reports XFAIL (not counted as a failure) or XPASS when it passes,
    so the marker can be removed."""
    def deco(fn):
        SCENARIOS.append({"name": name, "fn": fn, "config": config,
                          "workers": workers, "tags": set(tags),
                          "xfail": xfail,
                          "doc": (fn.__doc__ or "").strip()})
        return fn
    return deco


def frozen(pkt):
    """Build a packet once (checksums and lengths computed) and re-parse."""
    return Ether(bytes(pkt))


class Port:
    def __init__(self, name):
        self.name = name
        self.inputs = []   # raw bytes
        self.out = []      # scapy packets read back from tx pcaps

    def send(self, pkt):
        """Queue a frame (scapy packet or bytes) as input; return the bytes
        as a scapy packet (what the checks compare against)."""
        raw = bytes(pkt if isinstance(pkt, (bytes, bytearray)) else bytes(pkt))
        self.inputs.append(raw)
        return parse_frame(raw)

    def find(self, pred):
        return [p for p in self.out if _safe(pred, p)]

    def with_marker(self, marker):
        m = marker.encode() if isinstance(marker, str) else marker
        return [p for p in self.out if m in bytes(p)]


def parse_frame(raw):
    """Ether(raw), or Raw(raw) for frames scapy cannot dissect."""
    try:
        return Ether(raw)
    except Exception:  # scapy raises struct.error on truncated headers
        return Raw(raw)


def write_pcap(path, frames):
    wrpcap(path, [Raw(f) for f in frames], linktype=1)


def _safe(pred, p):
    try:
        return bool(pred(p))
    except (AttributeError, IndexError, TypeError):
        return False


class Failed(Exception):
    pass


class Run:
    """State of one scenario: inputs, outputs, counters and check results."""

    def __init__(self, name, verbose=False):
        self.name = name
        self.vnet = Port("vnet")
        self.cluster = Port("cluster")
        self.ports = {"vnet": self.vnet, "cluster": self.cluster}
        self.stats = None
        self.stats_source = None
        self.log = ""
        self.rc = None
        self.passed = 0
        self.failed = 0
        self.verbose = verbose
        self._marker_n = 0

    # -- inputs ------------------------------------------------------------
    def marker(self, tag=""):
        """A unique payload string to find a frame again in the output."""
        self._marker_n += 1
        return "vfw-e2e:%s:%s:%d" % (self.name, tag, self._marker_n)

    # -- checks ------------------------------------------------------------
    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            if self.verbose:
                print("    ok   %s" % what)
        else:
            self.failed += 1
            print("    FAIL %s%s" % (what, (": " + detail) if detail else ""))
        return bool(cond)

    def eq(self, seen, expected, what):
        return self.check(seen == expected, what,
                          "expected %r, seen %r" % (expected, seen))

    def drop(self, reason):
        """Drop counter by name (0 when absent); None when no counters."""
        if self.stats is None:
            return None
        return int(self.stats.get("drops", {}).get(reason, 0))

    def counter(self, path, default=0):
        """A stats value by dotted path, e.g. "local.icmp_echo_answered"."""
        v = self.stats
        if v is None:
            return None
        for k in path.split("."):
            if not isinstance(v, dict) or k not in v:
                return default
            v = v[k]
        return v

    def expect_drop(self, reason, n=1, at_least=False):
        seen = self.drop(reason)
        if seen is None:
            return self.check(False, "drop counter %s" % reason,
                              "no counters available from the binary")
        if at_least:
            return self.check(seen >= n, "drop counter %s >= %d" % (reason, n),
                              "seen %d" % seen)
        return self.eq(seen, n, "drop counter %s" % reason)

    def expect_not_out(self, marker, what):
        hits = self.vnet.with_marker(marker) + self.cluster.with_marker(marker)
        return self.check(not hits, "%s: not transmitted" % what,
                          "%d copies seen: %s" % (len(hits),
                                                  _summary(hits[:2])))

    def expect_forwarded(self, sent, marker, port, dst_mac, what,
                         ttl_dec=1):
        """One copy of sent (found by marker) left on port with L2 rewritten
        (src = port MAC, dst = dst_mac), TTL decremented, a valid IPv4
        checksum, addresses unchanged and the L4 bytes untouched."""
        other = "cluster" if port == "vnet" else "vnet"
        got = self.ports[port].with_marker(marker)
        stray = self.ports[other].with_marker(marker)
        ok = self.check(len(got) == 1, "%s: one copy out on %s" % (what, port),
                        "%d on %s, %d on %s" % (len(got), port, len(stray),
                                                other))
        self.check(not stray, "%s: nothing out on %s" % (what, other),
                   _summary(stray[:2]))
        if not ok:
            return None
        o = got[0]
        self.eq(o[Ether].src, PORT_MAC[port], "%s: src MAC = %s port MAC" %
                (what, port))
        self.eq(o[Ether].dst, dst_mac, "%s: dst MAC = next hop" % what)
        si, oi = sent[IP], o[IP]
        self.eq(oi.ttl, si.ttl - ttl_dec, "%s: TTL decremented" % what)
        self.check(ip_csum_ok(o), "%s: IPv4 header checksum valid" % what,
                   "checksum field 0x%04x" % oi.chksum)
        self.eq((oi.src, oi.dst), (si.src, si.dst), "%s: addresses kept" % what)
        self.eq(ip_l4_bytes(o), ip_l4_bytes(sent),
                "%s: L4 header+payload untouched" % what)
        return o

    # -- outputs -----------------------------------------------------------
    def all_out(self):
        return self.vnet.out + self.cluster.out


def _summary(pkts):
    return "; ".join(p.summary() for p in pkts)


def ip_csum_ok(p):
    ip = p[IP]
    hdr = bytes(ip)[:ip.ihl * 4]
    return checksum(hdr) == 0


def ip_l4_bytes(p):
    """The IPv4 payload as the IP total length says (padding excluded)."""
    ip = p[IP]
    raw = bytes(ip)
    return raw[ip.ihl * 4:ip.len]


def l4_csum_ok(p):
    """Checksum over the ICMP message (ICMP only)."""
    return checksum(ip_l4_bytes(p)) == 0


# ---------------------------------------------------------------------------
# Running the binary

class Env:
    def __init__(self, binary, workdir, workers=1, eal_extra=(),
                 run_time=3.0, keep=False, verbose=False):
        self.binary = binary
        self.workdir = workdir
        self.workers = workers
        self.eal_extra = list(eal_extra)
        self.run_time = run_time
        self.keep = keep
        self.verbose = verbose


def load_config(name, sock):
    path = name if os.path.isabs(name) else os.path.join(CONFIG_DIR, name)
    with open(path) as f:
        return f.read().replace("@SOCKET@", sock)


def ctl_request_raw(sock, req, timeout=5.0):
    """One request on its own connection; the reply's bytes, up to and
    including its newline (or whatever came before the server closed)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return buf


def ctl_request(sock, req, timeout=5.0):
    return json.loads(ctl_request_raw(sock, req, timeout).decode())


def get_stats(sock):
    try:
        r = ctl_request(sock, {"cmd": "show", "what": "stats"})
    except (OSError, ValueError):
        return None
    if not isinstance(r, dict) or not r.get("ok"):
        return None
    st = r.get("stats", r)
    return st if isinstance(st, dict) else None


def rx_total(stats):
    try:
        return sum(int(stats["ports"][p]["rx"]) for p in ("vnet", "cluster"))
    except (KeyError, TypeError, ValueError):
        return None


def parse_exit_stats(text):
    """Counters from what the binary prints at exit, in the shape of the
    control socket's stats: either a JSON object holding "drops" (possibly
    wrapped as {"stats": ...}) or the human table:
        vnetfw counters (generation G, W workers)
          port vnet     rx N  tx N
          <event>       N
          arp: answered A, learned L, sent S, ignored I
          drops:
            <reason>    N
    """
    best = None
    for m in re.finditer(r"^\s*(\{.*\})\s*$", text, re.M):
        try:
            v = json.loads(m.group(1))
        except ValueError:
            continue
        if isinstance(v, dict) and isinstance(v.get("stats"), dict):
            v = v["stats"]
        if isinstance(v, dict) and "drops" in v:
            best = v
    if best is not None:
        return best
    start = text.rfind("vnetfw counters")
    if start < 0:
        return None
    st = {"ports": {}, "drops": {}, "events": {}, "local": {}}
    in_drops = False
    for line in text[start:].splitlines()[1:]:
        m = re.match(r"^\s+port\s+(\S+)\s+rx\s+(\d+)\s+tx\s+(\d+)", line)
        if m:
            st["ports"][m.group(1)] = {"rx": int(m.group(2)), "tx": int(m.group(3))}
            continue
        m = re.match(r"^\s+arp: answered (\d+), learned (\d+), sent (\d+), "
                     r"ignored (\d+)", line)
        if m:
            st["local"].update(arp_requests_answered=int(m.group(1)),
                               arp_replies_learned=int(m.group(2)),
                               arp_requests_sent=int(m.group(3)),
                               arp_ignored=int(m.group(4)))
            continue
        if re.match(r"^\s+drops:\s*$", line):
            in_drops = True
            continue
        m = re.match(r"^\s+([a-z0-9_]+)\s+(\d+)\s*$", line)
        if m:
            (st["drops"] if in_drops else st["events"])[m.group(1)] = int(m.group(2))
            continue
        if line.strip() and not line.startswith(" "):
            break
    st["forwarded"] = st["events"].get("forwarded", 0)
    st["local"].setdefault("icmp_echo_answered", st["events"].get("icmp_echo_answered", 0))
    return st


def dpdk_prefix(tag):
    return "vfwpcap-%d-%s" % (os.getpid(), tag)


def dpdk_runtime_dir(prefix):
    """Where the EAL keeps a process's runtime files (config, fbarrays,
    telemetry and mp sockets): /var/run/dpdk/PREFIX as root. The EAL
    leaves them at exit; with a prefix per run they pile up (6 MB each
    under --no-huge), so the harness removes its own."""
    base = "/var/run" if os.geteuid() == 0 else \
        os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix)


def eal_args(env, tag, d, n_in):
    args = ["-l", ",".join(str(i) for i in range(env.workers + 1))] \
        if env.workers <= 1 else \
        ["--lcores=0@0," + ",".join("%d@1" % i
                                    for i in range(1, env.workers + 1))]
    args += ["--no-pci", "--no-huge", "-m", "512",
             "--file-prefix=" + dpdk_prefix(tag)]
    for idx, port in enumerate(("vnet", "cluster")):
        spec = "net_pcap%d" % idx
        for q in range(env.workers):
            spec += ",rx_pcap=%s" % os.path.join(d, "in-%s-%d.pcap" % (port, q))
        for q in range(env.workers):
            spec += ",tx_pcap=%s" % os.path.join(d, "out-%s-%d.pcap" % (port, q))
        args.append("--vdev=" + spec)
    return args + env.eal_extra


def run_binary(env, run, sc, d):
    sock = os.path.join(d, "ctl.sock")
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write(load_config(sc["config"], sock))
    n_in = 0
    for port, p in run.ports.items():
        # Queue 0 gets the frames; other queues (workers > 1) stay empty.
        for q in range(env.workers):
            frames = p.inputs if q == 0 else []
            write_pcap(os.path.join(d, "in-%s-%d.pcap" % (port, q)), frames)
        n_in += len(p.inputs)
    cmd = [env.binary] + eal_args(env, sc["name"], d, n_in) + \
        ["--", "-c", cfg]
    if env.workers > 1:
        cmd += ["--workers", str(env.workers)]
    with open(os.path.join(d, "cmd"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    logf = open(os.path.join(d, "vnetfw.log"), "w+")
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=d)
    stats = None
    try:
        # Wait for the control socket, then until every input frame has been
        # received (or the counters stop moving), then a little longer for
        # transmit and ARP timers.
        t0 = time.time()
        last, still_since = None, None
        while time.time() < t0 + 20.0 and proc.poll() is None:
            st = get_stats(sock) if os.path.exists(sock) else None
            if st is not None:
                stats = st
                rx = rx_total(st)
                if rx is None:
                    break       # no rx counters: fall back to a fixed wait
                if rx >= n_in:
                    time.sleep(0.5)
                    stats = get_stats(sock) or stats
                    break
                if rx != last:
                    last, still_since = rx, time.time()
                elif time.time() - still_since > 2.0:
                    break
            elif time.time() - t0 > 10.0:
                break           # no control socket: fixed wait, exit counters
            time.sleep(0.1)
        if stats is None or rx_total(stats) is None:
            time.sleep(max(0.0, env.run_time - (time.time() - t0)))
            if os.path.exists(sock):
                stats = get_stats(sock) or stats
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                where = diagnose_hang(proc.pid, os.path.join(d, "hang.txt"))
                proc.kill()
                proc.wait()
                run.check(False, "vnetfw stops within 15 s of SIGTERM",
                          "threads: %s; details in %s" %
                          (where, os.path.join(d, "hang.txt")))
        run.rc = proc.returncode
        shutil.rmtree(dpdk_runtime_dir(dpdk_prefix(sc["name"])), ignore_errors=True)
        logf.seek(0)
        run.log = logf.read()
        logf.close()
    run.stats_source = "control socket" if stats is not None else None
    if stats is None:
        stats = parse_exit_stats(run.log)
        if stats is not None:
            run.stats_source = "exit output"
    run.stats = stats
    for port, p in run.ports.items():
        for q in range(env.workers):
            fn = os.path.join(d, "out-%s-%d.pcap" % (port, q))
            try:
                p.out += list(rdpcap(fn)) if os.path.getsize(fn) > 0 else []
            except (OSError, EOFError) as e:
                run.check(False, "read %s" % os.path.basename(fn), str(e))
            except Exception as e:  # scapy raises Scapy_Exception
                run.check(False, "read %s" % os.path.basename(fn), repr(e))


def diagnose_hang(pid, path):
    """Before killing a hung vnetfw: record each thread's state and kernel
    wait channel, and a backtrace of every thread when gdb is installed.
    Returns a one-line summary (name:state per thread)."""
    lines, summary = [], []
    for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int) \
            if os.path.isdir("/proc/%d/task" % pid) else []:
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            comm = open(base + "comm").read().strip()
            state = open(base + "stat").read().rsplit(")", 1)[1].split()[0]
            wchan = open(base + "wchan").read().strip() or "-"
        except OSError:
            continue
        lines.append("%s %-16s %s %s" % (tid, comm, state, wchan))
        summary.append("%s:%s" % (comm, state))
    gdb = shutil.which("gdb")
    if gdb:
        try:
            r = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx",
                                "-ex", "thread apply all bt"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=30)
            lines += ["", r.stdout.decode(errors="replace")]
        except (OSError, subprocess.TimeoutExpired) as e:
            lines.append("gdb: %r" % e)
    try:
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    except OSError:
        pass
    return " ".join(summary)


SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (Address|Undefined|Leak)")


def run_scenario(env, sc):
    run = Run(sc["name"], verbose=env.verbose)
    d = os.path.join(env.workdir, sc["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    run.dir = d
    fn = sc["fn"]
    try:
        if inspect.isgeneratorfunction(fn):
            gen = fn(run)
            next(gen)               # build the inputs
            run_binary(env, run, sc, d)
            run.check(run.rc == 0, "vnetfw exits 0 after SIGTERM",
                      "exit status %s; log %s" % (run.rc,
                                                  os.path.join(d, "vnetfw.log")))
            run.check(not SANITIZER_RE.search(run.log),
                      "no sanitizer report in the log",
                      _first_match(SANITIZER_RE, run.log))
            run.check(run.stats is not None,
                      "counters readable (control socket or exit output)")
            try:
                next(gen)           # checks
            except StopIteration:
                pass
        else:
            fn(run, env)
    except Failed as e:
        run.check(False, str(e))
    except Exception as e:  # a broken scenario is a failure, not a crash
        import traceback
        traceback.print_exc()
        run.check(False, "scenario raised %r" % e)
    ok = run.failed == 0 and run.passed > 0
    if not ok and not sc.get("xfail") and run.log:
        tail = "\n".join(run.log.splitlines()[-15:])
        print("    --- last lines of %s/vnetfw.log ---\n%s" % (d, _indent(tail)))
    verdict = "PASS" if ok else "FAIL"
    if sc.get("xfail"):
        verdict = "XPASS" if ok else "XFAIL"
    print("%s pcap/%s (%d checks, %d failed)%s" % (
        verdict, sc["name"], run.passed + run.failed, run.failed,
        (" known bug: " + sc["xfail"]) if sc.get("xfail") else ""))
    sys.stdout.flush()
    if (ok or sc.get("xfail")) and not env.keep:
        shutil.rmtree(d, ignore_errors=True)
    return verdict


def _first_match(rx, text):
    m = rx.search(text)
    if not m:
        return ""
    s = text.rfind("\n", 0, m.start()) + 1
    e = text.find("\n", m.end())
    return text[s:e if e >= 0 else None]


def _indent(t):
    return "\n".join("    | " + line for line in t.splitlines())


def run_check_mode(env, cfg_text, name, tag):
    """Run `vnetfw ... -- -c FILE --check`; return (rc, output, path)."""
    d = tempfile.mkdtemp(prefix="check-", dir=env.workdir)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(cfg_text)
    cmd = [env.binary, "--no-pci", "--no-huge", "-m", "128",
           "--file-prefix=vfwchk-%d-%s" % (os.getpid(), tag), "-l", "0",
           "--", "-c", path, "--check"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=60)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired:
        out, rc = "timeout", None
    if not env.keep:
        shutil.rmtree(d, ignore_errors=True)
    return rc, out, path


def load_scenarios(paths=None):
    files = paths or sorted(glob.glob(os.path.join(HERE, "scenarios", "*.py")))
    for f in files:
        spec = importlib.util.spec_from_file_location(
            "vfw_scn_" + os.path.splitext(os.path.basename(f))[0], f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return SCENARIOS


# ---------------------------------------------------------------------------
# Frame builders used by the scenarios

def from_client(dst, l4, marker, ttl=64, src=CLIENT_IP, ip_id=1):
    """A frame from the vnet client to the appliance's vnet MAC."""
    return frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                  IP(src=src, dst=dst, ttl=ttl, id=ip_id) / l4 / Raw(marker))


def from_server(dst, l4, marker, ttl=64, src=SERVER_IP, ip_id=1):
    """A frame from the cluster server to the appliance's cluster MAC."""
    return frozen(Ether(src=SERVER_MAC, dst=CL_MAC) /
                  IP(src=src, dst=dst, ttl=ttl, id=ip_id) / l4 / Raw(marker))


def arp_request(src_mac, src_ip, target_ip):
    return frozen(Ether(src=src_mac, dst=BCAST) /
                  ARP(op=1, hwsrc=src_mac, psrc=src_ip,
                      hwdst="00:00:00:00:00:00", pdst=target_ip))


def arp_reply(src_mac, src_ip, dst_mac, dst_ip):
    return frozen(Ether(src=src_mac, dst=dst_mac) /
                  ARP(op=2, hwsrc=src_mac, psrc=src_ip,
                      hwdst=dst_mac, pdst=dst_ip))


def is_icmp_error(p):
    return IP in p and ICMP in p and p[ICMP].type in (3, 11, 12)


def arp_requests_for(port, ip):
    return port.find(lambda p: ARP in p and p[ARP].op == 1 and
                     p[ARP].pdst == ip)


def check_arp_request(run, port_name, p, target, what):
    """An ARP request the appliance sent on port_name for target."""
    mac, ip = PORT_MAC[port_name], PORT_IP[port_name]
    run.eq(p[Ether].dst, BCAST, "%s: broadcast" % what)
    run.eq(p[Ether].src, mac, "%s: Ethernet src = port MAC" % what)
    a = p[ARP]
    run.eq((a.hwtype, a.ptype, a.hwlen, a.plen), (1, 0x0800, 6, 4),
           "%s: Ethernet/IPv4 ARP" % what)
    run.eq((a.hwsrc, a.psrc), (mac, ip), "%s: sender = port MAC/IP" % what)
    run.eq(a.pdst, target, "%s: target = next hop" % what)


def l4_csum_valid(p):
    """TCP/UDP checksum (with the pseudo-header) is valid; UDP 0 = none."""
    from scapy.layers.inet import in4_chksum
    ip = p[IP]
    seg = ip_l4_bytes(p)
    if ip.proto == 17 and len(seg) >= 8 and seg[6:8] == b"\x00\x00":
        return True
    return in4_chksum(ip.proto, ip, seg) == 0
