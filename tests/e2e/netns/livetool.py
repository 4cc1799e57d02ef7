#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Traffic and control-socket tools for the live-update scenarios
(scenarios/live_update.sh, scenarios/ctl_bad_input.sh) and
scripts/bench-control.sh.

Streams run in namespaces (`ip netns exec NS livetool.py ...`); each writes a
JSON summary. Timestamps are CLOCK_MONOTONIC, which namespaces share, so a
sender's log and a control client's log line up.

  udp-recv ADDR PORT OUT [--log F]        count datagrams: lost, reordered, dup
  udp-send ADDR PORT OUT --stop F [--rate PPS] [--log F]
  tcp-recv ADDR PORT OUT                  count a stream's bytes, check them
  tcp-send ADDR PORT OUT --stop F [--rate BYTES_PER_S]
  ctl-seq SOCKET REQUESTS OUT             one connection, one request at a time
  bad-input SOCKET                        malformed requests (PASS/FAIL lines)
  loss-windows SEND_LOG RECV_LOG CTL_OUT  datagrams lost during each request

Every loop is bounded (--max-seconds, default 600).
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

now = time.monotonic


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


class Stop(Exception):
    pass


def on_term(*_):
    raise Stop()


# ---------------------------------------------------------------- UDP

UDP_PAYLOAD = 200


def cmd_udp_recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((a.addr, a.port))
    s.settimeout(0.2)
    seen = bytearray()
    received = dup = reordered = 0
    highest = -1
    total = None
    first_t = last_t = None
    max_gap = 0.0
    end_at = None
    log = []
    deadline = now() + a.max_seconds
    signal.signal(signal.SIGTERM, on_term)
    try:
        while now() < deadline:
            if end_at is not None and now() > end_at:
                break
            try:
                d, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            t = now()
            if d.startswith(b"END "):
                total = int(d.split()[1])
                if end_at is None:
                    end_at = t + 0.5
                continue
            if not d.startswith(b"S"):
                continue
            seq = int(d[1:d.index(b" ")])
            if seq >= len(seen):
                seen.extend(b"\0" * (seq + 1 - len(seen) + 4096))
            if seen[seq]:
                dup += 1
                continue
            seen[seq] = 1
            received += 1
            if seq < highest:
                reordered += 1
            highest = max(highest, seq)
            if last_t is not None:
                max_gap = max(max_gap, t - last_t)
            if first_t is None:
                first_t = t
            last_t = t
            if a.log:
                log.append((seq, t))
    except Stop:
        pass
    sent = total if total is not None else highest + 1
    missing = [i for i in range(min(sent, len(seen))) if not seen[i]]
    missing += list(range(len(seen), sent))
    if a.log:
        with open(a.log, "w") as f:
            for seq, t in log:
                f.write("%d %.6f\n" % (seq, t))
    write_json(a.out, {
        "received": received, "sent": sent, "end_seen": total is not None,
        "lost": len(missing), "missing_first": missing[:50],
        "reordered": reordered, "duplicates": dup,
        "max_gap_s": round(max_gap, 4),
        "duration_s": round((last_t or 0) - (first_t or 0), 3),
    })


def cmd_udp_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.bind:
        s.bind((a.bind, 0))
    dst = (a.addr, a.port)
    interval = 1.0 / a.rate
    t0 = now()
    deadline = t0 + a.max_seconds
    seq = 0
    late = 0.0
    log = []
    errors = 0
    signal.signal(signal.SIGTERM, on_term)
    try:
        while now() < deadline:
            if seq % 50 == 0 and os.path.exists(a.stop):
                break
            due = t0 + seq * interval
            d = due - now()
            if d > 0:
                time.sleep(d)
            else:
                late = max(late, -d)
            msg = b"S%d " % seq
            t = now()
            try:
                s.sendto(msg + b"x" * (UDP_PAYLOAD - len(msg)), dst)
            except OSError:
                errors += 1
            if a.log:
                log.append((seq, t))
            seq += 1
    except Stop:
        pass
    for _ in range(10):
        s.sendto(b"END %d" % seq, dst)
        time.sleep(0.05)
    if a.log:
        with open(a.log, "w") as f:
            for q, t in log:
                f.write("%d %.6f\n" % (q, t))
    write_json(a.out, {"sent": seq, "duration_s": round(now() - t0, 3),
                       "max_late_s": round(late, 4), "send_errors": errors,
                       "rate": a.rate})


# ---------------------------------------------------------------- TCP

def pattern(off, n):
    """Bytes off..off+n of the stream: byte i is i mod 251."""
    base = bytes(range(251)) * ((n // 251) + 2)
    k = off % 251
    return base[k:k + n]


def cmd_tcp_recv(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(1)
    ls.settimeout(a.max_seconds)
    c, peer = ls.accept()
    c.settimeout(1.0)
    total = 0
    corrupt_at = None
    last_t = None
    max_gap = 0.0
    deadline = now() + a.max_seconds
    while now() < deadline:
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        t = now()
        if last_t is not None:
            max_gap = max(max_gap, t - last_t)
        last_t = t
        if corrupt_at is None and d != pattern(total, len(d)):
            corrupt_at = total
        total += len(d)
    try:
        c.sendall(b"%d\n" % total)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    c.close()
    write_json(a.out, {"received": total, "peer": peer[0],
                       "corrupt_at": corrupt_at,
                       "max_gap_s": round(max_gap, 4)})


def tcp_total_retrans(s):
    try:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return struct.unpack_from("I", info, 100)[0]
    except OSError:
        return -1


def cmd_tcp_send(a):
    s = socket.create_connection((a.addr, a.port), timeout=10)
    s.settimeout(30)
    chunk = 4096
    interval = chunk / float(a.rate)
    t0 = now()
    deadline = t0 + a.max_seconds
    sent = 0
    n = 0
    signal.signal(signal.SIGTERM, on_term)
    try:
        while now() < deadline:
            if n % 16 == 0 and os.path.exists(a.stop):
                break
            due = t0 + n * interval
            d = due - now()
            if d > 0:
                time.sleep(d)
            s.sendall(pattern(sent, chunk))
            sent += chunk
            n += 1
    except Stop:
        pass
    retrans = tcp_total_retrans(s)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while not reply.endswith(b"\n"):
        d = s.recv(64)
        if not d:
            break
        reply += d
    s.close()
    peer = int(reply) if reply.strip().isdigit() else -1
    write_json(a.out, {"sent": sent, "peer_received": peer,
                       "retransmits": retrans,
                       "duration_s": round(now() - t0, 3)})


# ---------------------------------------------------------------- control

class Ctl:
    """One control connection: send a line, read one reply line."""

    connect_retries = 0   # EAGAIN: the listen backlog was full

    def __init__(self, path, timeout=60):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.setblocking(False)
        deadline = now() + timeout
        while True:
            try:
                self.s.connect(path)
                break
            except BlockingIOError:
                Ctl.connect_retries += 1
                if now() > deadline:
                    raise
                time.sleep(0.01)
        self.s.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def req(self, obj_or_line):
        line = obj_or_line if isinstance(obj_or_line, (bytes, str)) else \
            json.dumps(obj_or_line)
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\n")
        return json.loads(self.readline())

    def close(self):
        self.s.close()


def cmd_ctl_seq(a):
    """Send the requests one at a time on one connection, each waiting for
    its reply. With --budget S, the first --calibrate requests go alone;
    if the rest would then take longer than S seconds at their median ack
    latency, the rest are grouped into begin ... commit transactions of
    as many changes as needed to fit (every change still committed, with
    fewer generations). With --group N they are grouped from the start."""
    c = Ctl(a.socket, a.timeout)
    results = []   # per acknowledged request or commit
    last_gen = None
    not_increasing = []
    errors = []
    with open(a.requests) as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#")]
    t_all = now()
    group = max(1, a.group)
    i = 0
    steps = 0

    def record(t0, t1, r, what):
        nonlocal last_gen
        ok = r.get("ok") is True
        gen = r.get("generation")
        results.append([round(t0, 6), round(t1, 6), ok, gen, what])
        if not ok:
            errors.append({"request": what, "error": r.get("error")})
            return
        if gen is None:
            return
        if last_gen is not None and gen <= last_gen:
            not_increasing.append({"request": what, "generation": gen,
                                   "previous": last_gen})
        last_gen = gen

    while i < len(lines):
        if a.budget and group == 1 and i == a.calibrate and i < len(lines):
            lat = sorted(r[1] - r[0] for r in results)
            med = lat[len(lat) // 2] if lat else 0
            left = a.budget - (now() - t_all)
            need = (len(lines) - i) * med
            if left > 0 and need > left:
                group = int(need / left) + 1
        if group == 1:
            t0 = now()
            side = None
            if a.during:
                side = threading.Timer(a.during_delay, subprocess.run,
                                       args=(a.during,), kwargs={"shell": True})
                side.start()
            r = c.req(lines[i])
            record(t0, now(), r, i)
            if side is not None:
                side.join()
            i += 1
            steps += 1 if r.get("ok") is True else 0
            continue
        chunk = lines[i:i + group]
        t0 = now()
        r = c.req('{"cmd":"begin"}')
        if r.get("ok") is not True:
            errors.append({"request": i, "error": "begin: %s" % r.get("error")})
        for k, ln in enumerate(chunk):
            r = c.req(ln)
            if r.get("ok") is not True:
                errors.append({"request": i + k, "error": r.get("error")})
        r = c.req('{"cmd":"commit"}')
        record(t0, now(), r, "commit %d-%d" % (i, i + len(chunk) - 1))
        if r.get("ok") is True and r.get("steps") != len(chunk):
            errors.append({"request": i, "error": "commit reports %s steps, sent %d"
                           % (r.get("steps"), len(chunk))})
        i += len(chunk)
        steps += len(chunk) if r.get("ok") is True else 0
    total = now() - t_all
    c.close()
    lat = sorted(r[1] - r[0] for r in results)
    single = sorted(r[1] - r[0] for r in results if not str(r[4]).startswith("commit"))

    def pct(v, p):
        return round(v[min(len(v) - 1, int(p * len(v)))] * 1000, 3) if v else None
    summary = {
        "requests": len(lines), "changes_committed": steps,
        "acks": len(results), "ok_acks": sum(1 for r in results if r[2]),
        "grouped_per_commit": group,
        "errors": errors[:20], "n_errors": len(errors),
        "generation_not_increasing": not_increasing[:20],
        "first_generation": next((r[3] for r in results if r[3] is not None), None),
        "last_generation": last_gen,
        "total_s": round(total, 3),
        "latency_ms": {"min": pct(lat, 0), "median": pct(lat, 0.5),
                       "p99": pct(lat, 0.99), "max": pct(lat, 1.0)},
        "single_change_latency_ms": {"min": pct(single, 0), "median": pct(single, 0.5),
                                     "max": pct(single, 1.0), "n": len(single)},
        "per_request": results,
    }
    write_json(a.out, summary)
    brief = dict(summary)
    del brief["per_request"]
    print(json.dumps(brief))
    sys.exit(1 if errors or not_increasing else 0)


def read_log(path):
    out = {}
    with open(path) as f:
        for ln in f:
            q, t = ln.split()
            out[int(q)] = float(t)
    return out


def cmd_loss_windows(a):
    """Per request of a ctl-seq output: datagrams sent between the request
    and its ack (plus --margin seconds each side) that never arrived."""
    sent = read_log(a.send_log)
    got = read_log(a.recv_log)
    with open(a.ctl_out) as f:
        ctl = json.load(f)
    by_time = sorted((t, q) for q, t in sent.items())
    res = []
    import bisect
    times = [t for t, _ in by_time]
    for t0, t1, ok, gen, _ in ctl["per_request"]:
        lo = bisect.bisect_left(times, t0 - a.margin)
        hi = bisect.bisect_right(times, t1 + a.margin)
        seqs = [by_time[i][1] for i in range(lo, hi)]
        lost = sum(1 for q in seqs if q not in got)
        res.append({"latency_ms": round((t1 - t0) * 1000, 3), "ok": ok,
                    "generation": gen, "sent_in_window": len(seqs),
                    "lost_in_window": lost})
    print(json.dumps(res))


# ---------------------------------------------------------------- bad input

class Checker:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("PASS   %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL   %s%s" % (what, (": " + detail) if detail else ""),
                  flush=True)


def strip_hits(rules):
    out = []
    for r in rules:
        r = dict(r)
        r.pop("hits", None)
        out.append(r)
    return out


def snapshot(path):
    c = Ctl(path)
    cfg = c.req({"cmd": "show", "what": "config"})
    rules = c.req({"cmd": "show", "what": "rules"})
    routes = c.req({"cmd": "show", "what": "routes"})
    nat = c.req({"cmd": "show", "what": "nat"})
    stats = c.req({"cmd": "show", "what": "stats"})
    c.close()
    for r in routes.get("routes", []):
        r.pop("hits", None)
    for k in ("dnat", "snat"):
        for r in nat.get("nat", {}).get(k, []):
            for f in ("hits", "port_exhausted", "pools"):
                r.pop(f, None)
    return {"config": cfg.get("config"),
            "config_generation": cfg.get("generation"),
            "rules": strip_hits(rules.get("rules", [])),
            "routes": routes.get("routes"), "nat": nat.get("nat"),
            "generation": stats.get("stats", {}).get("generation")}


def expect_error(ck, c, line, what, contains=None):
    """Send one line on connection c; the reply must be ok:false with an
    error string (containing `contains` if given)."""
    try:
        if isinstance(line, str):
            line = line.encode()
        c.send(line + b"\n")
        raw = c.readline()
        r = json.loads(raw)
    except (OSError, EOFError, ValueError) as e:
        ck.check(False, what, "no reply: %r" % (e,))
        return None
    err = r.get("error")
    good = r.get("ok") is False and isinstance(err, str) and err != ""
    if good and contains is not None:
        good = contains in err
    if good:
        what += "  -> %s" % err[:100]
    ck.check(good, what, raw.decode(errors="replace")[:300])
    return r


def expect_ok(ck, c, obj, what):
    try:
        r = c.req(obj)
    except (OSError, EOFError, ValueError) as e:
        ck.check(False, what, repr(e))
        return None
    ck.check(r.get("ok") is True, what, json.dumps(r)[:300])
    return r


def closed_by_server(s, timeout=10):
    """True when the server closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


RULE = {"name": "bad-input-ok", "priority": 4000, "direction": "inbound",
        "access": "deny", "protocol": "tcp", "source": ["192.0.2.0/24"],
        "destination": ["any"], "destination_ports": [9]}


def cmd_bad_input(a):
    ck = Checker()
    path = a.socket
    before = snapshot(path)
    ck.check(before["generation"] is not None and before["config"],
             "snapshot before: generation %s" % before["generation"])

    c = Ctl(path)
    # ---- malformed JSON
    bad_json = [
        ('{"cmd":"show","what":"rules"', "unterminated object"),
        ('{"cmd":"show","what":"rul', "unterminated string"),
        ("not json at all", "a bare word"),
        ("{cmd:}", "an object without a value"),
        ('{"cmd":"show","what":"rules"}}', "a stray closing brace"),
        ('{"cmd":"show","what":"rules"} {"cmd":"show","what":"stats"}',
         "two objects on one line"),
        ("[1,2,3]", "an array"),
        ('"show"', "a string"),
        ("42", "a number"),
        ("null", "null"),
        ("{}", "an empty object"),
        ('{"what":"rules"}', "no cmd"),
        ('{"cmd":"show","cmd":"show","what":"rules"}', "duplicate key"),
        ('&a {"cmd":"show","what":*a}', "YAML alias"),
        ("{" * 20000 + "}" * 20000, "20000 nested objects"),
        ("[" * 20000 + "]" * 20000, "20000 nested arrays"),
        ('{"cmd":"show","what":"' + "\\u0000" + '"}', "escaped NUL"),
        ("# just a comment", "only a comment"),
    ]
    for line, what in bad_json:
        expect_error(ck, c, line, "malformed: %s" % what)
    expect_error(ck, c, b'{"cmd":"show","what":"\xff\xfe"}', "malformed: invalid UTF-8")
    expect_error(ck, c, b'{"cmd":"sh\x00ow","what":"rules"}', "malformed: raw NUL byte")
    expect_error(ck, c, b"\x00\x01\x02\x03\xff" * 100, "malformed: binary garbage")
    expect_ok(ck, c, {"cmd": "show", "what": "stats"},
              "the same connection still works after malformed input")

    # ---- unknown commands
    for line in ('{"cmd":"rule.frobnicate"}', '{"cmd":""}',
                 '{"cmd":"SHOW","what":"rules"}', '{"cmd":"shutdown"}',
                 '{"cmd":"rule.add.extra","rule":{}}', '{"cmd":"' + "x" * 5000 + '"}'):
        expect_error(ck, c, line, "unknown command: %s" % line[:40])
    expect_error(ck, c, '{"cmd":"show","what":"everything"}', "show of an unknown target")
    expect_error(ck, c, '{"cmd":"show","what":"rules","colour":1}', "unknown key",
                 "unknown key")

    # ---- wrong types
    wrong = [
        '{"cmd":123}',
        '{"cmd":["show"]}',
        '{"cmd":{"x":1}}',
        '{"cmd":"show","what":5}',
        '{"cmd":"show","what":["rules"]}',
        '{"cmd":"rule.del","name":["x"]}',
        '{"cmd":"rule.del","name":{"a":1}}',
        '{"cmd":"rule.add","rule":"string"}',
        '{"cmd":"rule.add","rule":[1,2]}',
        '{"cmd":"rule.add","rule":{"name":"t1","priority":"high","direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t2","priority":-5,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t3","priority":1e309,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t4","priority":99999999999999999999999,'
        '"direction":"inbound","access":"allow","protocol":"tcp","source":["any"],'
        '"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t5","priority":150,"direction":"sideways",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t6","priority":150,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":"any","destination":["any"],'
        '"destination_ports":[70000]}}',
        '{"cmd":"rule.add","rule":{"name":"t7","priority":150,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["300.1.2.3/8"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t8","priority":150,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["NoSuchSet"],"destination":["any"]}}',
        '{"cmd":"rule.add","rule":{"name":"t9","priority":150,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"],'
        '"destination_ports":["9-1"]}}',
        '{"cmd":"rule.replace","rule":{"name":"no-such-rule","priority":150,'
        '"direction":"inbound","access":"allow","protocol":"tcp","source":["any"],'
        '"destination":["any"]}}',
        '{"cmd":"rule.del","name":"no-such-rule"}',
        '{"cmd":"route.add","route":{"name":"r","prefix":"10.9.0.0/16",'
        '"next_hop_type":"VirtualAppliance","next_hop":"192.0.2.1"}}',
        '{"cmd":"route.add","route":{"name":"r","prefix":"banana",'
        '"next_hop_type":"None"}}',
        '{"cmd":"nat.add","dnat":{"name":"d","protocol":"icmp","destination":"10.0.1.4",'
        '"destination_port":1,"translated_address":"10.240.1.10","translated_port":1}}',
        '{"cmd":"nat.add"}',
        '{"cmd":"nat.add","dnat":{},"snat":{}}',
        '{"cmd":"neighbor.add","neighbor":{"address":"10.0.1.77","mac":"zz:zz"}}',
        '{"cmd":"neighbor.del","address":"not-an-ip"}',
        '{"cmd":"explain","direction":"inbound","protocol":"tcp","source":"1.2.3.4",'
        '"destination":"10.0.1.4","destination_port":70000}',
        '{"cmd":"explain","direction":"upward","protocol":"tcp","source":"1.2.3.4",'
        '"destination":"10.0.1.4","destination_port":80}',
        '{"cmd":"explain","direction":"inbound","protocol":"tcp","source":"1.2.3.4",'
        '"destination":"10.0.1.4"}',
        '{"cmd":"apply","config":123}',
        '{"cmd":"apply","config":["a"]}',
        '{"cmd":"apply","config":"ports: [unclosed"}',
        '{"cmd":"apply","config":""}',
        '{"cmd":"validate","config":"security_rules: 5"}',
        '{"cmd":"rule.add","rule":{"name":"t10","priority":150,"direction":"inbound",'
        '"access":"allow","protocol":"tcp","source":["any"],"destination":["any"]},'
        '"existing":"sometimes"}',
        '{"cmd":"begin","existing":5}',
    ]
    for line in wrong:
        expect_error(ck, c, line, "wrong type/value: %s" % line[:70])
    # an apply that would change what cannot change while running
    cfgtext = before["config"] or ""
    moved = cfgtext.replace("10.0.1.4/24", "10.0.1.5/24", 1)
    if moved != cfgtext:
        expect_error(ck, c, json.dumps({"cmd": "apply", "config": moved}),
                     "apply changing a port address is refused", "ports.vnet")
    expect_ok(ck, c, {"cmd": "show", "what": "rules"}, "connection still usable")

    # ---- invalid rules inside transactions
    expect_ok(ck, c, {"cmd": "begin"}, "txn 1: begin")
    expect_ok(ck, c, {"cmd": "rule.add", "rule": RULE}, "txn 1: a valid step")
    expect_error(ck, c, '{"cmd":"rule.add","rule":{"name":"x","prio":1}}',
                 "txn 1: an invalid rule is refused at once")
    expect_error(ck, c, '{"cmd":"begin"}', "txn 1: nested begin")
    expect_error(ck, c, '{"cmd":"commit"}', "txn 1: commit applies nothing",
                 "nothing applied")
    dup = dict(RULE, name="bad-input-dup")
    expect_ok(ck, c, {"cmd": "begin"}, "txn 2: begin")
    expect_ok(ck, c, {"cmd": "rule.add", "rule": RULE}, "txn 2: step 1")
    expect_ok(ck, c, {"cmd": "rule.add", "rule": dup},
              "txn 2: step 2 (same priority: only whole-result validation sees it)")
    expect_error(ck, c, '{"cmd":"commit"}', "txn 2: commit fails validation",
                 "priority")
    expect_ok(ck, c, {"cmd": "begin"}, "txn 3: begin")
    expect_error(ck, c, '{"cmd":"rule.del","name":"no-such-rule"}',
                 "txn 3: deleting a missing rule")
    c.req({"cmd": "rule.add", "rule": RULE})   # a valid step after it
    expect_error(ck, c, '{"cmd":"apply","config":"x: 1"}', "txn 3: apply inside")
    expect_error(ck, c, '{"cmd":"commit"}', "txn 3: commit refused")
    expect_ok(ck, c, {"cmd": "begin"}, "txn 4: begin")
    expect_ok(ck, c, {"cmd": "rule.add", "rule": RULE}, "txn 4: step")
    r = expect_ok(ck, c, {"cmd": "abort"}, "txn 4: abort")
    ck.check(r is not None and r.get("discarded") == 1, "txn 4: one step discarded")
    expect_error(ck, c, '{"cmd":"commit"}', "commit without begin")
    expect_error(ck, c, '{"cmd":"abort"}', "abort without begin")
    c.close()

    # a transaction left open by a client that goes away
    c = Ctl(path)
    expect_ok(ck, c, {"cmd": "begin"}, "txn 5: begin, then the client leaves")
    expect_ok(ck, c, {"cmd": "rule.add", "rule": RULE}, "txn 5: step")
    c.close()

    # ---- disconnects in the middle of a request
    for cut in (1, 20, 60):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        line = json.dumps({"cmd": "rule.add", "rule": RULE}).encode()
        s.sendall(line[:cut])
        s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"cmd":"apply","config":"' + b"x" * (4 << 20))
    s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.close()
    # gone with replies unread and a partial line pending
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"cmd":"show","what":"config"}\n' * 50 + b'{"cmd":"rule.del","na')
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    # half-close: the reply still arrives
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"cmd":"show","what":"stats"}\n{"cmd":"show","what":')
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    s.close()
    lines = data.split(b"\n")
    ck.check(len(lines) >= 1 and lines[0].startswith(b'{"ok":true'),
             "half-closed client gets the reply of its complete line")
    ck.check(data.count(b"\n") == 1,
             "the partial line after it is discarded (%d replies)" % data.count(b"\n"))

    # ---- oversized requests
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(60)
    big = b'{"cmd":"show","what":"rules","pad":"' + b"a" * ((16 << 20) + 16) + b'"}\n'
    try:
        s.sendall(big)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    ck.check(b"request too large" in data,
             "a line over 16 MiB is answered 'request too large'", data[:200].decode(errors="replace"))
    # a line just under the limit is an ordinary (bad) request
    c = Ctl(path, timeout=120)
    pad = (16 << 20) - 200
    line = b'{"cmd":"show","what":"rules","pad":"' + b"a" * pad + b'"}'
    expect_error(ck, c, line, "a 16 MiB line under the limit gets an ordinary error",
                 "unknown key")
    expect_ok(ck, c, {"cmd": "show", "what": "stats"}, "and the connection stays usable")
    c.close()
    # a client that sends without reading: back-pressure, nobody else stalls
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(path)
    slow.setblocking(False)
    req = b'{"cmd":"show","what":"config"}\n' * 200
    pushed = 0
    t_end = now() + 5
    while now() < t_end and pushed < 20000:
        try:
            slow.send(req)
            pushed += 200
        except BlockingIOError:
            break
    c = Ctl(path, timeout=10)
    t0 = now()
    expect_ok(ck, c, {"cmd": "show", "what": "stats"},
              "others are answered while a client does not read its replies")
    ck.check(now() - t0 < 5, "... promptly (%.2f s)" % (now() - t0))
    c.close()
    slow.close()

    # ---- 50 concurrent clients
    n_clients = 50
    results = [None] * n_clients
    barrier = threading.Barrier(n_clients)

    def client(i):
        try:
            cc = Ctl(path, timeout=60)
            barrier.wait(timeout=30)
            ok = True
            for line in ('{"cmd":"show","what":"rules"',
                         '{"cmd":"no.such"}',
                         '{"cmd":"rule.del","name":"no-such-rule-%d"}' % i,
                         '{"cmd":"rule.add","rule":{"name":"c%d","priority":"x"}}' % i):
                cc.send(line.encode() + b"\n")
            replies = [json.loads(cc.readline()) for _ in range(4)]
            ok = all(r.get("ok") is False and r.get("error") for r in replies)
            r = cc.req({"cmd": "show", "what": "stats"})
            ok = ok and r.get("ok") is True
            # a transaction that must fail at commit
            cc.req({"cmd": "begin"})
            cc.req({"cmd": "rule.add", "rule": dict(RULE, name="conc-%d" % i)})
            cc.req({"cmd": "rule.add", "rule": dict(RULE, name="conc2-%d" % i)})
            r = cc.req({"cmd": "commit"})
            ok = ok and r.get("ok") is False
            cc.close()
            results[i] = ok
        except threading.BrokenBarrierError:
            results[i] = "gave up waiting for the others"
        except Exception as e:  # noqa: BLE001 - reported as a failure
            results[i] = "exception: %r" % (e,)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    bad = [(i, r) for i, r in enumerate(results) if r is not True]
    bad.sort(key=lambda x: str(x[1]).startswith("gave up"))
    ck.check(not bad, "50 concurrent clients: each got its errors and answers",
             "%d failed, e.g. %r" % (len(bad), bad[:5]))
    if Ctl.connect_retries:
        print("NOTE   non-blocking connects found the listen backlog full %d times "
              "(retried)" % Ctl.connect_retries)

    # ---- more than 64 clients: the extra ones are told and closed
    socks = []
    refused = 0
    try:
        for _ in range(70):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socks.append(s)
        time.sleep(0.5)
        for s in socks:
            s.setblocking(False)
            try:
                d = s.recv(4096)
                if b"too many clients" in d:
                    refused += 1
            except BlockingIOError:
                pass
    finally:
        for s in socks:
            s.close()
    ck.check(refused >= 6, "clients beyond 64 are refused ('too many clients': %d)" % refused)

    # ---- nothing changed
    time.sleep(0.5)
    after = snapshot(path)
    ck.check(after["generation"] == before["generation"],
             "generation unchanged (%s -> %s)" % (before["generation"], after["generation"]))
    ck.check(after["config"] == before["config"], "show config identical")
    ck.check(after["rules"] == before["rules"], "show rules identical (hit counters aside)")
    ck.check(after["routes"] == before["routes"], "show routes identical (counters aside)")
    ck.check(after["nat"] == before["nat"], "show nat identical (counters aside)")
    c = Ctl(path)
    expect_ok(ck, c, {"cmd": "show", "what": "stats"}, "the server still answers")
    c.close()
    print("bad-input: %d passed, %d failed" % (ck.passed, ck.failed))
    sys.exit(1 if ck.failed else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--max-seconds", type=float, default=600)

    sp = sub.add_parser("udp-recv")
    sp.add_argument("addr")
    sp.add_argument("port", type=int)
    sp.add_argument("out")
    sp.add_argument("--log")
    common(sp)
    sp = sub.add_parser("udp-send")
    sp.add_argument("addr")
    sp.add_argument("port", type=int)
    sp.add_argument("out")
    sp.add_argument("--stop", required=True)
    sp.add_argument("--rate", type=float, default=200)
    sp.add_argument("--bind")
    sp.add_argument("--log")
    common(sp)
    sp = sub.add_parser("tcp-recv")
    sp.add_argument("addr")
    sp.add_argument("port", type=int)
    sp.add_argument("out")
    common(sp)
    sp = sub.add_parser("tcp-send")
    sp.add_argument("addr")
    sp.add_argument("port", type=int)
    sp.add_argument("out")
    sp.add_argument("--stop", required=True)
    sp.add_argument("--rate", type=float, default=128 * 1024)
    common(sp)
    sp = sub.add_parser("ctl-seq")
    sp.add_argument("socket")
    sp.add_argument("requests")
    sp.add_argument("out")
    sp.add_argument("--timeout", type=float, default=120)
    sp.add_argument("--group", type=int, default=1)
    sp.add_argument("--budget", type=float, default=0)
    sp.add_argument("--calibrate", type=int, default=30)
    sp.add_argument("--during", help="shell command run while each request is in flight")
    sp.add_argument("--during-delay", type=float, default=0.2,
                    help="seconds after sending the request")
    sp = sub.add_parser("bad-input")
    sp.add_argument("socket")
    sp = sub.add_parser("loss-windows")
    sp.add_argument("send_log")
    sp.add_argument("recv_log")
    sp.add_argument("ctl_out")
    sp.add_argument("--margin", type=float, default=0.05)
    a = p.parse_args()
    {"udp-recv": cmd_udp_recv, "udp-send": cmd_udp_send,
     "tcp-recv": cmd_tcp_recv, "tcp-send": cmd_tcp_send,
     "ctl-seq": cmd_ctl_seq, "bad-input": cmd_bad_input,
     "loss-windows": cmd_loss_windows}[a.cmd](a)


if __name__ == "__main__":
    main()
