# SPDX-License-Identifier: BSD-3-Clause
"""The control socket against a running vnetfw, where what the config
format accepts meets what the data plane can build: a change that cannot
be built is refused as a whole (validate says so too) and leaves nothing
behind; what vnetfw can never build is refused by the loader, so that
--check and validate catch it, not only a failed start; and explain
tells what the data plane does with a flow it drops before the rules."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from vfwpcap import SANITIZER_RE, ctl_request_raw, scenario

PORTS = """ports:
  vnet:    {device: net_ring0, address: 10.0.1.4/24, gateway: 10.0.1.1}
  cluster: {device: net_ring1, address: 10.240.0.4/16}
"""


def base_config(sock, extra=""):
    return (PORTS +
            "neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}]\n" +
            extra +
            "control: {socket: %s, mode: \"0600\"}\n" % sock)


def request(sock, req, timeout=30.0):
    """One request on its own connection; the reply must be one JSON line."""
    buf = ctl_request_raw(sock, req, timeout)
    assert buf.count(b"\n") == 1, "one reply line, got %r" % buf[:200]
    return json.loads(buf.decode())


def start(env, d, tag, cfg_text):
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    log = open(os.path.join(d, "vnetfw.log"), "w+")
    cmd = [env.binary, "-l", "0,1", "--no-pci", "--no-huge", "-m", "512",
           "--file-prefix=vfwlim-%d-%s" % (os.getpid(), tag),
           "--vdev=net_ring0", "--vdev=net_ring1", "--", "-c", cfg]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=d)
    return proc, log


def stop(s, proc, log, tag):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    log.close()
    shutil.rmtree("/var/run/dpdk/vfwlim-%d-%s" % (os.getpid(), tag),
                  ignore_errors=True)
    s.eq(proc.returncode, 0, "vnetfw exits 0 after SIGTERM")
    m = SANITIZER_RE.search(text)
    s.check(m is None, "no sanitizer report in the log",
            text[max(0, m.start() - 200):m.start() + 800] if m else "")
    return text


def wait_socket(proc, sock, seconds=30):
    end = time.time() + seconds
    while time.time() < end and proc.poll() is None:
        if os.path.exists(sock):
            try:
                if request(sock, {"cmd": "show", "what": "stats"}).get("ok"):
                    return True
            except (OSError, ValueError, AssertionError):
                pass
        time.sleep(0.2)
    return False


def static_neighbors(sock):
    r = request(sock, {"cmd": "show", "what": "neighbors"})
    return sorted(n["address"] for n in r["neighbors"] if n["state"] == "static")


def telemetry_names(s, sock, tag):
    """dpdk-telemetry.py lists every rule and route, names with '-' too
    (DPDK 22.11 refuses such keys: they used to be missing)."""
    tool = shutil.which("dpdk-telemetry.py")
    if tool is None:
        return
    r = request(sock, {"cmd": "rule.add", "rule": {
        "name": "https-in.v2", "priority": 100, "direction": "inbound",
        "access": "allow", "protocol": "tcp", "destination_ports": [443]}})
    s.check(r["ok"], "rule.add https-in.v2", str(r)[:200])
    p = subprocess.run(["/usr/bin/python3", tool, "-f", "vfwlim-%d-%s" % (os.getpid(), tag)],
                       input="/vnetfw/rules\n/vnetfw/routes\n", capture_output=True,
                       text=True, timeout=30)
    got = {}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            got.update(json.loads(line))
    rules = got.get("/vnetfw/rules") or {}
    routes = got.get("/vnetfw/routes") or {}
    s.check("inbound/https_in_v2" in rules and "inbound/DenyAllInBound" in rules,
            "telemetry /vnetfw/rules: https-in.v2 as inbound/https_in_v2", str(rules)[:300])
    s.check({"system_vnet", "system_cluster", "system_default"} <= set(routes),
            "telemetry /vnetfw/routes: the system routes", str(routes)[:300])
    r = request(sock, {"cmd": "rule.del", "name": "https-in.v2"})
    s.check(r["ok"], "rule.del https-in.v2", str(r)[:200])


@scenario("ctl-limits", workers=1)
def ctl_limits(s, env):
    """Changes past the neighbor table, the SNAT pools or what is forwarded
    (IPv6) are refused as a whole, by validate too; the SNAT order is a
    change."""
    d = tempfile.mkdtemp(prefix="ctl-limits-", dir=env.workdir)
    sock = os.path.join(d, "ctl.sock")
    tag = "a"
    proc, log = start(env, d, tag, base_config(sock))
    try:
        if not wait_socket(proc, sock):
            s.check(False, "vnetfw answers on its control socket")
            return
        gen0 = request(sock, {"cmd": "show", "what": "stats"})["stats"]["generation"]
        telemetry_names(s, sock, tag)
        before = static_neighbors(sock)
        s.eq(before, ["10.0.1.1"], "one static neighbor to begin with")

        # 5000 static neighbors: more than the table holds. Refused whole,
        # the table left as it was (it used to keep the first ~4000).
        many = "".join("  - {address: 10.240.%d.%d, mac: \"02:00:00:%02x:%02x:%02x\"}\n"
                       % (1 + i // 250, 1 + i % 250, i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff)
                       for i in range(5000))
        doc = base_config(sock).replace(
            "neighbors: [{address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}]\n",
            "neighbors:\n  - {address: 10.0.1.1, mac: \"02:00:00:00:01:01\"}\n" + many)
        r = request(sock, {"cmd": "validate", "config": doc})
        s.check(not r["ok"] and "more than 1024 static neighbors" in r.get("error", ""),
                "validate: 5000 static neighbors are too many", str(r)[:300])
        r = request(sock, {"cmd": "apply", "config": doc})
        s.check(not r["ok"], "apply of 5000 static neighbors is refused", str(r)[:300])
        after = static_neighbors(sock)
        s.check(after == before, "and the neighbor table is unchanged",
                "%d static neighbors before, %d after (%s ...)" %
                (len(before), len(after), ", ".join(after[:5])))

        # IPv6 routes and NAT are not forwarded: refused by validate and
        # apply alike, with their place in the document.
        v6 = base_config(sock, "routes:\n  - {name: r6, prefix: \"2001:db8::/32\", next_hop_type: None}\n")
        r = request(sock, {"cmd": "validate", "config": v6})
        s.check(not r["ok"] and "config:6:" in r.get("error", "") and
                "routes[0].prefix: only IPv4" in r.get("error", ""),
                "validate: an IPv6 route is refused at its line", str(r)[:300])
        r = request(sock, {"cmd": "route.add", "route": {"name": "r6", "prefix": "2001:db8::/32",
                                                         "next_hop_type": "None"}})
        s.check(not r["ok"] and "only IPv4 prefixes" in r.get("error", "") and
                "apply failed" not in r.get("error", ""),
                "route.add of an IPv6 prefix: refused as invalid", str(r)[:300])

        # SNAT pools live as long as vnetfw: each new range is one more.
        # The change that needs one too many says so; nothing is left.
        refused = None
        for i in range(300):
            r = request(sock, {"cmd": "nat.add", "snat": {
                "name": "p", "source": ["10.240.0.0/16"],
                "translated_addresses": ["10.0.1.4"], "ports": "2000-%d" % (3000 + i)}})
            if not r["ok"]:
                refused = (i, r)
                break
            r = request(sock, {"cmd": "nat.del", "name": "p"})
            if not r["ok"]:
                s.check(False, "nat.del p", str(r)[:200])
                break
        s.check(refused is not None and
                "no room for another SNAT pool" in refused[1].get("error", ""),
                "a change needing a 257th SNAT pool is refused, saying why",
                str(refused)[:400])
        r = request(sock, {"cmd": "show", "what": "nat"})
        s.eq([x["name"] for x in r["nat"]["snat"]], [], "and no SNAT rule is left behind")
        r = request(sock, {"cmd": "nat.add", "snat": {
            "name": "p", "source": ["10.240.0.0/16"],
            "translated_addresses": ["10.0.1.4"], "ports": "2000-3000"}})
        s.check(r["ok"], "a range that has its pool still works", str(r)[:300])

        # The order of SNAT rules is what they do: a swap is a change.
        rule_a = "    - {name: a, source: [10.240.0.0/16], translated_addresses: [10.0.1.4], ports: 2000-3000}\n"
        rule_b = "    - {name: b, source: [10.240.1.0/24], translated_addresses: [10.0.1.4], ports: 2000-3000}\n"
        two = base_config(sock, "nat:\n  snat:\n" + rule_a + rule_b)
        r = request(sock, {"cmd": "apply", "config": two})
        s.check(r["ok"], "apply two SNAT rules", str(r)[:300])
        swapped = base_config(sock, "nat:\n  snat:\n" + rule_b + rule_a)
        r = request(sock, {"cmd": "validate", "config": swapped})
        s.check(r.get("ok") and r.get("changes") == 2 and
                sorted(r["diff"]["nat"]["changed"]) == ["a", "b"],
                "validate: swapping two SNAT rules changes both", str(r)[:400])

        # JSON escapes characters beyond U+FFFF as surrogate pairs, as
        # Python's json.dumps does: the server and vnetfwctl take them.
        ctl = os.path.join(os.path.dirname(os.path.dirname(env.binary)),
                           "vnetfwctl", "vnetfwctl")
        item = json.dumps({"name": "emoji", "priority": 700, "direction": "inbound",
                           "access": "deny", "description": "a\U0001F600"})
        s.check("\\ud83d\\ude00" in item, "the request has a surrogate pair", item)
        r = subprocess.run([ctl, "-s", sock, "rule", "add", item], capture_output=True,
                           text=True, timeout=30)
        s.eq(r.returncode, 0, "vnetfwctl rule add with a surrogate pair: " + r.stderr.strip())
        with open(os.path.join(d, "batch.txt"), "w") as f:
            f.write(json.dumps({"cmd": "rule.replace", "rule": dict(
                json.loads(item), description="b\U0001F601")}) + "\n")
        r = subprocess.run([ctl, "-s", sock, "batch", os.path.join(d, "batch.txt")],
                           capture_output=True, text=True, timeout=30)
        s.eq(r.returncode, 0, "vnetfwctl batch with a surrogate pair: " + r.stderr.strip())
        rules = request(sock, {"cmd": "show", "what": "rules"})["rules"]
        desc = [x["rule"].get("description") for x in rules if x["name"] == "emoji"]
        s.eq(desc, ["b\U0001F601"], "the description is U+1F601")
        # the default rules say what they cover, in a user rule's shape
        covers = {x["name"]: (x["rule"]["source"], x["rule"]["destination"])
                  for x in rules if x["default"]}
        s.eq(covers, {
            "AllowVnetInBound": (["VirtualNetwork"], ["VirtualNetwork"]),
            "DenyAllInBound": (["any"], ["any"]),
            "AllowVnetOutBound": (["VirtualNetwork"], ["VirtualNetwork"]),
            "AllowInternetOutBound": (["any"], ["Internet"]),
            "DenyAllOutBound": (["any"], ["any"])}, "show rules: the defaults' sources and destinations")

        gen = request(sock, {"cmd": "show", "what": "stats"})["stats"]["generation"]
        s.check(gen > gen0, "generation moved with the changes that were taken",
                "%s -> %s" % (gen0, gen))
    finally:
        stop(s, proc, log, tag)
        if not env.keep:
            shutil.rmtree(d, ignore_errors=True)


def drops(sock):
    return request(sock, {"cmd": "show", "what": "stats"})["stats"]["drops"]


def explain(sock, direction, proto, src, dst, dport=None):
    req = {"cmd": "explain", "direction": direction, "protocol": proto,
           "source": src, "destination": dst}
    if dport is not None:
        req["destination_port"] = dport
    r = request(sock, req)
    return r.get("explain", {}).get("verdict"), r


@scenario("explain-agrees", workers=1)
def explain_agrees(s, env):
    """explain tells what the data plane does with a new flow, also when it
    is dropped before the rules: a source the strict reverse-path check
    refuses, a broadcast destination, a ping to an address that is ours
    but no interface's (an SNAT address)."""
    from scapy.all import ICMP, TCP, UDP
    from vfwpcap import SERVER_IP, from_client, load_config, write_pcap

    d = tempfile.mkdtemp(prefix="explain-", dir=env.workdir)
    sock = os.path.join(d, "ctl.sock")
    tag = "e"
    frames = [
        from_client(SERVER_IP, TCP(sport=40000, dport=80, flags="S"), "spoofed",
                    src="10.240.1.5"),
        from_client("10.240.255.255", UDP(sport=40001, dport=53), "bcast"),
        from_client("10.0.1.5", ICMP(type=8, id=7, seq=1), "snat-ping"),
        from_client(SERVER_IP, TCP(sport=40002, dport=80, flags="S"), "fine"),
    ]
    write_pcap(os.path.join(d, "in-vnet.pcap"), frames)
    write_pcap(os.path.join(d, "in-cluster.pcap"), [])
    cfg = load_config("base.yaml", sock) + (
        "nat:\n  snat: [{name: egress, source: [10.240.0.0/16], "
        "translated_addresses: [10.0.1.5]}]\n")
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write(cfg)
    log = open(os.path.join(d, "vnetfw.log"), "w+")
    cmd = [env.binary, "-l", "0,1", "--no-pci", "--no-huge", "-m", "512",
           "--file-prefix=vfwlim-%d-%s" % (os.getpid(), tag)]
    for i, port in enumerate(("vnet", "cluster")):
        cmd.append("--vdev=net_pcap%d,rx_pcap=%s,tx_pcap=%s" % (
            i, os.path.join(d, "in-%s.pcap" % port), os.path.join(d, "out-%s.pcap" % port)))
    cmd += ["--", "-c", os.path.join(d, "config.yaml")]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=d)
    try:
        if not wait_socket(proc, sock):
            s.check(False, "vnetfw answers on its control socket")
            return
        end = time.time() + 10
        while time.time() < end:
            st = request(sock, {"cmd": "show", "what": "stats"})["stats"]
            if st["ports"]["vnet"]["rx"] >= len(frames):
                break
            time.sleep(0.2)
        time.sleep(0.5)
        dr = drops(sock)
        cases = [
            ("source_not_via_ingress_port", ("inbound", "tcp", "10.240.1.5", SERVER_IP, 80),
             "drop (source_not_via_ingress_port)"),
            ("multicast_or_broadcast", ("inbound", "udp", "10.0.1.10", "10.240.255.255", 53),
             "drop (multicast_or_broadcast)"),
            ("local_unhandled", ("inbound", "icmp", "10.0.1.10", "10.0.1.5"), "dropped"),
        ]
        for counter, args, want in cases:
            s.eq(dr.get(counter), 1, "data plane: the %s frame counts in %s" %
                 (args[3], counter))
            verdict, r = explain(sock, *args)
            s.eq(verdict, want, "explain %s %s %s -> %s says so" % args[:4])
        verdict, r = explain(sock, "inbound", "tcp", "10.0.1.10", SERVER_IP, 80)
        s.eq(verdict, "allow", "explain of the flow that passes: allow")
    finally:
        stop(s, proc, log, tag)
        if not env.keep:
            shutil.rmtree(d, ignore_errors=True)
