# SPDX-License-Identifier: BSD-3-Clause
"""vnetfwctl as a user sees it: errors it can find itself come before it
connects (exit 2); server errors about a request line vnetfwctl wrote
itself leave out the line's "line 1, column N:", which would point into a
line the user never saw (exit 1); raw shows the reply as it is; table
heads name a key's unit."""

import json
import os
import socket
import subprocess
import tempfile
import threading

from vfwpcap import scenario

ERR = "line 1, column 22: unknown show target 'bogus' (rules, routes, nat)"


def fake_server(path, reply):
    """Answer every request line of one connection with reply."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)

    def serve():
        try:
            conn, _ = srv.accept()
            with conn:
                f = conn.makefile("rb")
                for _ in f:
                    conn.sendall((json.dumps(reply) + "\n").encode())
        except OSError:
            pass
        finally:
            srv.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


@scenario("vnetfwctl-errors")
def vnetfwctl_errors(s, env):
    """vnetfwctl checks explain's arguments itself and prints server errors
    without positions in a line it wrote."""
    ctl = os.path.join(os.path.dirname(os.path.dirname(env.binary)),
                       "vnetfwctl", "vnetfwctl")
    d = tempfile.mkdtemp(prefix="vfwctl-")
    sock = os.path.join(d, "ctl.sock")

    def run(*args):
        return subprocess.run([ctl, "--socket", sock] + list(args),
                              capture_output=True, text=True, timeout=30)

    # No server: a tcp explain without a destination port is a usage
    # error found before connecting.
    r = run("explain", "inbound", "tcp", "198.51.100.7", "10.0.1.4")
    s.eq(r.returncode, 2, "explain tcp without DST:PORT exits 2")
    s.check("destination port" in r.stderr and "connect" not in r.stderr,
            "and says to give the destination port, without connecting",
            "stderr: %r" % r.stderr[:300])

    t = fake_server(sock, {"ok": False, "error": ERR})
    r = run("show", "bogus")
    t.join(5)
    s.eq(r.returncode, 1, "a refused show exits 1")
    s.check("error: unknown show target 'bogus'" in r.stderr and
            "column" not in r.stderr,
            "the error is printed without the position in vnetfwctl's line",
            "stderr: %r" % r.stderr[:300])
    os.unlink(sock)

    t = fake_server(sock, {"ok": False, "error": ERR})
    r = run("raw", '{"cmd":"show","what":"bogus"}')
    t.join(5)
    s.eq(r.returncode, 1, "a refused raw request exits 1")
    s.check("line 1, column 22" in r.stdout,
            "raw prints the reply as it is, position included",
            "stdout: %r" % r.stdout[:300])
    os.unlink(sock)

    # Tables: an object that repeats the row's keys (a rule's details)
    # spreads into plain columns; one that does not (a port's
    # checksum_offload) keeps its name, so its rx/tx are not read as
    # packet counters.
    ports = {"ok": True, "ports": [
        {"role": "vnet", "device": "net_pcap0", "mtu": 1500,
         "checksum_offload": {"rx": ["ipv4_cksum"], "tx": []}}]}
    t = fake_server(sock, ports)
    r = run("show", "ports")
    t.join(5)
    head = r.stdout.splitlines()[0] if r.stdout else ""
    s.eq(r.returncode, 0, "show ports exits 0")
    s.check("CHECKSUM OFFLOAD.RX" in head and "CHECKSUM OFFLOAD.TX" in head,
            "the offload columns are named after checksum_offload",
            "header: %r" % head)
    os.unlink(sock)
    rules = {"ok": True, "rules": [
        {"name": "web", "priority": 100, "hits": 3,
         "rule": {"name": "web", "priority": 100, "source": ["any"]}}]}
    t = fake_server(sock, rules)
    r = run("show", "rules")
    t.join(5)
    head = r.stdout.splitlines()[0] if r.stdout else ""
    s.check(head.split() == ["NAME", "PRIORITY", "HITS", "SOURCE"],
            "a rule's details are plain columns of the rule's row",
            "header: %r" % head)
    os.unlink(sock)
    # A key in seconds ("age_s") is headed with its unit: "AGE(s)".
    neigh = {"ok": True, "neighbors": [
        {"address": "10.0.1.1", "mac": "02:00:00:00:01:01", "port": "vnet",
         "state": "static", "age_s": 12}]}
    t = fake_server(sock, neigh)
    r = run("show", "neighbors")
    t.join(5)
    head = r.stdout.splitlines()[0] if r.stdout else ""
    s.check(head.split() == ["ADDRESS", "MAC", "PORT", "STATE", "AGE(s)"],
            "show neighbors heads its age column AGE(s)",
            "header: %r" % head)
    os.unlink(sock)
    os.rmdir(d)
