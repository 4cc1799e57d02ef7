# SPDX-License-Identifier: BSD-3-Clause
"""ICMP errors the appliance sends itself, and egress fragmentation
(configs/nat-icmp.yaml): time exceeded when a TTL expires at the appliance
(also through SNAT and DNAT, quoting the packet as its sender sent it), no
error where RFC 1812 forbids one, fragmentation needed with the egress MTU
for DF packets too big for it, fragments that reassemble to the original
for packets without DF, and the per-worker rate limit. Port MTUs from the
config (ports.*.mtu): --check takes and refuses them; net_pcap cannot set
an MTU, so vnetfw refuses to start with one (the MTU's effect on the
egress checks is the netns scenario mtu.sh, on af_packet)."""

import os
import re
import shutil
import subprocess
import tempfile

from vfwpcap import (CL_IP, CL_MAC, CLIENT_IP, CLIENT_MAC, Ether, GW_MAC, ICMP,  # noqa: F401
                     IP, Raw, SERVER_IP, SERVER_MAC, SANITIZER_RE, TCP, UDP, VNET_IP,
                     VNET_MAC, checksum, dpdk_prefix, dpdk_runtime_dir, eal_args,
                     frozen, ip_csum_ok, load_config, run_check_mode, scenario,
                     write_pcap)

CONFIG = "nat-icmp.yaml"
FAR_IP = "203.0.113.7"       # an internet destination (SNAT, via the gateway)
INET_IP = "198.51.100.7"     # an internet host
SNAT_PORT = 50000            # first port of the egress pool (ascending)
MTU = 1500                   # net_pcap ports' MTU
QUOTE_MAX = 576 - 28         # RFC 1812: the whole error fits 576 bytes


def out_ip(pkt):
    """The IPv4 packet of an output frame, cut at its total length."""
    raw = bytes(pkt[IP])
    return raw[:int.from_bytes(raw[2:4], "big")]


def wire_ip(pkt):
    """The IPv4 packet of an input frame as bytes."""
    return out_ip(pkt)


def errors_on(port, itype=None):
    return [p for p in port.out if IP in p and p[IP].proto == 1 and
            out_ip(p)[(out_ip(p)[0] & 15) * 4] in (3, 11, 12) and
            (itype is None or out_ip(p)[(out_ip(p)[0] & 15) * 4] == itype)]


def quoting(errs, sent):
    """The errors whose quote starts like the IPv4 packet of sent (the
    quoted IPv4 header: addresses, id, TTL as sent)."""
    want = wire_ip(sent)[:20]
    return [e for e in errs if out_ip(e)[28:48] == want]


def check_error(s, port, sent, what, itype, code, src, dst_mac, mtu=0):
    """One ICMP error about sent out on port: from src to sent's source,
    L2 to dst_mac, TTL 64, precedence internetwork control, type/code, the
    MTU word, the quote = sent's IPv4 packet (cut at 548 bytes), every
    checksum valid."""
    errs = quoting(errors_on(port), sent)
    if not s.check(len(errs) == 1, "%s: one ICMP error about it out on %s" % (what, port.name),
                   "%d seen; all out: %s" % (len(errs), [p.summary() for p in port.out])):
        return None
    e = errs[0]
    b = out_ip(e)
    s.eq((e[Ether].src, e[Ether].dst), (VNET_MAC if port.name == "vnet" else CL_MAC, dst_mac),
         "%s: L2 from our port to the sender's next hop" % what)
    s.eq((e[IP].src, e[IP].dst), (src, sent[IP].src),
         "%s: from our address on the ingress port to the sender" % what)
    s.eq(e[IP].ttl, 64, "%s: TTL 64" % what)
    s.eq(e[IP].tos, 0xc0, "%s: precedence internetwork control" % what)
    s.eq(e[IP].flags.value & 3, 0, "%s: no DF, not a fragment" % what)
    s.check(ip_csum_ok(e), "%s: IPv4 checksum valid" % what)
    icmp = b[20:]
    s.eq((icmp[0], icmp[1]), (itype, code), "%s: type %d code %d" % (what, itype, code))
    s.eq(int.from_bytes(icmp[4:8], "big"), mtu, "%s: rest of header = next-hop MTU %d" %
         (what, mtu))
    s.check(checksum(icmp) == 0, "%s: ICMP checksum valid" % what)
    want = wire_ip(sent)[:QUOTE_MAX]
    q = icmp[8:]
    s.eq(len(q), len(want), "%s: quote length" % what)
    s.check(q == want, "%s: quoted packet byte for byte as the sender sent it" % what,
            "\n      seen %s\n      want %s" % (q[:64].hex(), want[:64].hex()))
    s.check(len(b) <= 576, "%s: error datagram within 576 bytes" % what, "%d" % len(b))
    return e


@scenario("icmp-time-exceeded", config=CONFIG)
def time_exceeded(s):
    """A TTL that expires at the appliance gets a time exceeded back, from
    the appliance's address on the port the packet came in by (traceroute
    shows the appliance as a hop): plain routing, through SNAT (TCP, UDP,
    and ping whose identifier SNAT changed: the client finds its own packet
    in the quote), through DNAT (the quote names the public address), and a
    long datagram quoted to 548 bytes."""
    cases = [
        ("udp client -> server", s.vnet, VNET_IP, CLIENT_MAC,
         Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x101) /
         UDP(sport=33434, dport=33435)),
        ("tcp through SNAT", s.cluster, CL_IP, SERVER_MAC,
         Ether(src=SERVER_MAC, dst=CL_MAC) / IP(src=SERVER_IP, dst=FAR_IP, ttl=1, id=0x102) /
         TCP(sport=41000, dport=443, flags="S", seq=77)),
        ("udp through SNAT", s.cluster, CL_IP, SERVER_MAC,
         Ether(src=SERVER_MAC, dst=CL_MAC) / IP(src=SERVER_IP, dst=FAR_IP, ttl=1, id=0x103) /
         UDP(sport=41001, dport=33434)),
        ("ping through SNAT", s.cluster, CL_IP, SERVER_MAC,
         Ether(src=SERVER_MAC, dst=CL_MAC) / IP(src=SERVER_IP, dst=FAR_IP, ttl=1, id=0x104) /
         ICMP(type=8, id=0x4242, seq=1)),
        ("udp through DNAT", s.vnet, VNET_IP, CLIENT_MAC,
         Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(src=CLIENT_IP, dst=VNET_IP, ttl=1, id=0x105) /
         UDP(sport=41002, dport=5300)),
        ("ttl 0", s.vnet, VNET_IP, CLIENT_MAC,
         Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(src=CLIENT_IP, dst=SERVER_IP, ttl=0, id=0x106) /
         UDP(sport=41003, dport=7)),
        ("1000-byte datagram", s.vnet, VNET_IP, CLIENT_MAC,
         Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x107) /
         UDP(sport=41004, dport=7)),
    ]
    sent = []
    for what, port, src, mac, pkt in cases:
        m = s.marker(what.replace(" ", "-"))
        pl = m.encode() * (1000 // len(m) + 1) if "1000" in what else m.encode()
        sent.append((what, port, src, mac, m, port.send(frozen(pkt / Raw(pl[:1000])))))
    yield
    for what, port, src, mac, m, p in sent:
        check_error(s, port, p, what, 11, 0, src, mac)
        other = s.cluster if port is s.vnet else s.vnet
        s.check(not other.with_marker(m), "%s: not forwarded" % what)
    s.expect_drop("ttl_expired", len(cases))
    s.eq(s.counter("events.icmp_errors_sent"), len(cases), "counter events.icmp_errors_sent")
    s.eq(s.counter("events.icmp_errors_rate_limited"), 0,
         "counter events.icmp_errors_rate_limited")


@scenario("icmp-no-error", config=CONFIG)
def no_error(s):
    """No error where RFC 1812 4.3.2.7 forbids one, though each TTL
    expires here: an ICMP error (redirect) and an unknown ICMP type, a
    non-first fragment (its first fragment, TTL 1 too, gets one), a subnet
    broadcast source, the source 0.0.0.0."""
    frames = [
        IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x201) / ICMP(type=5, code=1, gw="10.0.1.1") /
        Raw(bytes(IP(src=SERVER_IP, dst=CLIENT_IP) / UDP(sport=1, dport=2))),
        IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x202) / ICMP(type=42) / Raw(b"x" * 16),
        IP(src="10.0.1.255", dst=SERVER_IP, ttl=1, id=0x203) / UDP(sport=1, dport=2) / Raw(b"b"),
        IP(src="0.0.0.0", dst=SERVER_IP, ttl=1, id=0x204) / UDP(sport=68, dport=67) / Raw(b"z"),
    ]
    for f in frames:
        s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) / f))
    # a datagram in two fragments, both with TTL 1
    dg = bytes(IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x205) / UDP(sport=41100, dport=9) /
               Raw(b"F" * 64))
    first = bytearray(dg[:20 + 32])
    first[2:4] = (20 + 32).to_bytes(2, "big")
    first[6:8] = (0x2000).to_bytes(2, "big")
    later = bytearray(dg[:20] + dg[20 + 32:])
    later[2:4] = (len(later)).to_bytes(2, "big")
    later[6:8] = (32 // 8).to_bytes(2, "big")
    for f in (first, later):
        f[10:12] = b"\0\0"
        f[10:12] = checksum(bytes(f[:20])).to_bytes(2, "big")
    pf = s.vnet.send(Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(bytes(first)))
    s.vnet.send(Ether(src=CLIENT_MAC, dst=VNET_MAC) / IP(bytes(later)))
    yield
    errs = errors_on(s.vnet) + errors_on(s.cluster)
    s.eq(len(errs), 1, "one ICMP error in all (about the first fragment)")
    check_error(s, s.vnet, pf, "first fragment", 11, 0, VNET_IP, CLIENT_MAC)
    s.expect_drop("ttl_expired", len(frames) + 2)
    s.eq(s.counter("events.icmp_errors_sent"), 1, "counter events.icmp_errors_sent")
    others = [p for p in s.all_out() if IP in p and not any(p is e for e in errs)]
    s.check(not others, "nothing else out", "; ".join(p.summary() for p in others))


@scenario("icmp-frag-needed", config=CONFIG)
def frag_needed(s):
    """DF set and longer than the egress MTU (1500): dropped (exceeds_mtu)
    and the sender gets fragmentation needed with MTU 1500 from the
    appliance's address on its side; through SNAT the quote is the
    client's own packet."""
    p1 = s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                            IP(src=CLIENT_IP, dst=SERVER_IP, ttl=64, id=0x301, flags="DF") /
                            UDP(sport=41200, dport=9) / Raw(b"D" * (1600 - 28))))
    p2 = s.cluster.send(frozen(Ether(src=SERVER_MAC, dst=CL_MAC) /
                               IP(src=SERVER_IP, dst=FAR_IP, ttl=64, id=0x302, flags="DF") /
                               TCP(sport=41201, dport=443, flags="S", seq=5) /
                               Raw(b"T" * (1501 - 40))))
    # exactly the MTU: forwarded
    p3 = s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                            IP(src=CLIENT_IP, dst=SERVER_IP, ttl=64, id=0x303, flags="DF") /
                            UDP(sport=41202, dport=9) / Raw(b"E" * (MTU - 28))))
    yield
    check_error(s, s.vnet, p1, "udp 1600 bytes", 3, 4, VNET_IP, CLIENT_MAC, mtu=MTU)
    check_error(s, s.cluster, p2, "tcp 1501 bytes through SNAT", 3, 4, CL_IP, SERVER_MAC,
                mtu=MTU)
    big = [p for p in s.all_out() if IP in p and p[IP].id in (0x301, 0x302)]
    s.check(not big, "the too-long packets are not forwarded")
    fwd = [p for p in s.cluster.out if IP in p and p[IP].id == 0x303]
    s.check(len(fwd) == 1 and len(out_ip(fwd[0])) == MTU and fwd[0][IP].frag == 0 and
            fwd[0][IP].flags.value == 2, "a DF packet of exactly the MTU is forwarded whole")
    s.expect_drop("exceeds_mtu", 2)
    s.eq(s.counter("events.icmp_errors_sent"), 2, "counter events.icmp_errors_sent")


def reassemble(frames, ident):
    """(datagram, fragments) from output frames with IP id ident; the
    datagram is None when a piece is missing or overlaps."""
    parts = sorted(((p[IP].frag * 8, out_ip(p)) for p in frames
                    if IP in p and p[IP].id == ident), key=lambda x: x[0])
    if not parts or parts[0][0] != 0:
        return None, parts
    first = parts[0][1]
    hl = (first[0] & 15) * 4
    data = b""
    for off, b in parts:
        if off != len(data):
            return None, parts
        data += b[(b[0] & 15) * 4:]
    if int.from_bytes(parts[-1][1][6:8], "big") & 0x2000:
        return None, parts
    hdr = bytearray(first[:hl])
    hdr[2:4] = (hl + len(data)).to_bytes(2, "big")
    hdr[6:8] = b"\0\0"
    hdr[10:12] = b"\0\0"
    hdr[10:12] = checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + data, parts


def l4_csum_valid(ipb):
    hl = (ipb[0] & 15) * 4
    seg = ipb[hl:int.from_bytes(ipb[2:4], "big")]
    ph = ipb[12:20] + bytes([0, ipb[9]]) + len(seg).to_bytes(2, "big")
    return checksum(ph + seg) == 0


def forwarded_ip(sent, **changes):
    """sent's IPv4 packet as forwarded: TTL - 1, and the changes given
    (src/dst, or L4 fields), checksums recomputed."""
    ip = IP(wire_ip(sent))
    ip.ttl -= 1
    for k, v in changes.items():
        setattr(ip if k in ("src", "dst") else ip.payload, k, v)
    del ip.chksum
    if hasattr(ip.payload, "chksum"):
        del ip.payload.chksum
    return bytes(IP(bytes(ip)))


def check_fragments(s, port, ident, want, what, n_expected):
    dg, parts = reassemble(port.out, ident)
    s.eq(len(parts), n_expected, "%s: %d fragments out on %s" % (what, n_expected, port.name))
    s.check(all(len(b) <= MTU for _, b in parts), "%s: each fits the MTU" % what,
            str([len(b) for _, b in parts]))
    s.check(all(off % 8 == 0 for off, _ in parts), "%s: offsets multiples of 8" % what)
    s.check(all(checksum(b[:(b[0] & 15) * 4]) == 0 for _, b in parts),
            "%s: every fragment's IPv4 checksum valid" % what)
    s.check(all(b[8] == want[8] for _, b in parts), "%s: every fragment has TTL - 1" % what)
    frames = [p for p in port.out if IP in p and p[IP].id == ident]
    s.check(all(p[Ether].src == (VNET_MAC if port.name == "vnet" else CL_MAC) for p in frames),
            "%s: every fragment from our port MAC" % what)
    if not s.check(dg is not None, "%s: the fragments reassemble" % what):
        return
    s.eq(len(dg), len(want), "%s: reassembled length" % what)
    s.check(dg == want, "%s: reassembled datagram = the original as forwarded" % what,
            "\n      seen %s...\n      want %s..." % (dg[:48].hex(), want[:48].hex()))
    if want[9] in (6, 17):
        s.check(l4_csum_valid(dg), "%s: reassembled L4 checksum valid" % what)


@scenario("fragment-egress", config=CONFIG)
def fragment_egress(s):
    """Without DF, a packet longer than the egress MTU leaves in fragments
    that reassemble to the packet as it would have been forwarded (TTL - 1,
    NAT applied): a 1928-byte datagram in 2, a 3028-byte one through SNAT
    (a multi-segment mbuf on net_pcap) in 3, one with IP options (only
    the first fragment keeps a non-copied option), and an already
    fragmented piece that is cut again."""
    p1 = s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                            IP(src=CLIENT_IP, dst=SERVER_IP, ttl=64, id=0x401) /
                            UDP(sport=41300, dport=9) / Raw(bytes(range(256)) * 7 + b"x" * 108)))
    p2 = s.cluster.send(frozen(Ether(src=SERVER_MAC, dst=CL_MAC) /
                               IP(src=SERVER_IP, dst=INET_IP, ttl=64, id=0x402) /
                               UDP(sport=41301, dport=7007) / Raw(b"S" * 3000)))
    # record route (not copied into later fragments) + a copied option
    # (type 0x94, router alert): 12 bytes of options
    opts = bytes([7, 7, 4, 0, 0, 0, 0]) + bytes([0x94, 4, 0, 0]) + b"\0"
    p3 = s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                            IP(src=CLIENT_IP, dst=SERVER_IP, ttl=64, id=0x403,
                               options=[]) / UDP(sport=41302, dport=9) / Raw(b"O" * 2000)))
    raw3 = bytearray(wire_ip(p3))
    raw3 = bytearray(raw3[:20] + opts + raw3[20:])
    raw3[0] = 0x45 + len(opts) // 4
    raw3[2:4] = len(raw3).to_bytes(2, "big")
    raw3[10:12] = b"\0\0"
    raw3[10:12] = checksum(bytes(raw3[:20 + len(opts)])).to_bytes(2, "big")
    s.vnet.inputs[-1] = bytes(Ether(src=CLIENT_MAC, dst=VNET_MAC, type=0x0800)) + bytes(raw3)
    # the first 1800 bytes of a datagram: a fragment (MF) itself too long
    whole = bytes(IP(src=CLIENT_IP, dst=SERVER_IP, ttl=64, id=0x404) /
                  UDP(sport=41303, dport=9) / Raw(b"P" * 3000))
    piece = bytearray(whole[:20 + 1800])
    piece[2:4] = len(piece).to_bytes(2, "big")
    piece[6:8] = (0x2000).to_bytes(2, "big")
    piece[10:12] = b"\0\0"
    piece[10:12] = checksum(bytes(piece[:20])).to_bytes(2, "big")
    s.vnet.send(Ether(src=CLIENT_MAC, dst=VNET_MAC, type=0x0800) / Raw(bytes(piece)))
    yield
    check_fragments(s, s.cluster, 0x401, forwarded_ip(p1), "1928 bytes", 2)
    check_fragments(s, s.vnet, 0x402,
                    forwarded_ip(p2, src=VNET_IP, sport=SNAT_PORT), "3028 bytes through SNAT", 3)
    # with options: the first fragment's header is the original's
    want3 = bytearray(raw3)
    want3[8] -= 1
    want3[10:12] = b"\0\0"
    want3[10:12] = checksum(bytes(want3[:32])).to_bytes(2, "big")
    dg, parts = reassemble(s.cluster.out, 0x403)
    s.check(len(parts) == 2 and dg == bytes(want3), "with IP options: 2 fragments reassemble to "
            "the original", "%d parts" % len(parts))
    if len(parts) == 2:
        later = parts[1][1]
        s.eq(later[0] & 15, 6, "with IP options: the later fragment keeps only the copied option")
        s.eq(later[20:24], bytes([0x94, 4, 0, 0]), "with IP options: copied option intact")
    # the too-long fragment: pieces at offsets 0 and 1480, the last with MF
    outs = sorted([p for p in s.cluster.out if IP in p and p[IP].id == 0x404],
                  key=lambda p: p[IP].frag)
    s.eq([(p[IP].frag * 8, p[IP].flags.value & 1, len(out_ip(p))) for p in outs],
         [(0, 1, 1500), (1480, 1, 20 + 320)], "a fragment cut again keeps MF on its last piece")
    s.check(b"".join(out_ip(p)[20:] for p in outs) == bytes(piece[20:]),
            "a fragment cut again: payload intact")
    s.eq(s.counter("events.packets_fragmented"), 4, "counter events.packets_fragmented")
    s.eq(s.counter("events.fragments_created"), 2 + 3 + 2 + 2,
         "counter events.fragments_created")
    s.expect_drop("exceeds_mtu", 0)


@scenario("icmp-rate-limit", config=CONFIG)
def rate_limit(s):
    """150 expiring TTLs at once: the worker's token bucket (burst 50,
    1000/s) lets about 50 errors out and counts the rest as rate
    limited."""
    n = 150
    for i in range(n):
        s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                           IP(src=CLIENT_IP, dst=SERVER_IP, ttl=1, id=0x500 + i) /
                           UDP(sport=42000 + i, dport=33434) / Raw(b"r")))
    yield
    sent = s.counter("events.icmp_errors_sent")
    limited = s.counter("events.icmp_errors_rate_limited")
    s.eq(sent + limited, n, "errors sent + rate limited = expired TTLs")
    # 50 at once, plus one per millisecond the replay takes (a loaded
    # machine or the hand-off of a 2-worker run stretches it): well
    # short of the 150 an unlimited worker would send
    s.check(50 <= sent <= 100, "a burst of 50 errors sent, plus the refill",
            "%d" % sent)
    s.eq(len(errors_on(s.vnet, 11)), sent, "errors out on vnet = counter")
    s.expect_drop("ttl_expired", n)


def with_mtu(text, role, mtu):
    """A config text with ports.ROLE.mtu set (the port is a one-line flow
    mapping ending with its mac)."""
    mac = VNET_MAC if role == "vnet" else CL_MAC
    old = 'mac: "%s"}' % mac
    assert old in text, "no %s port line to add mtu to" % role
    return text.replace(old, 'mac: "%s", mtu: %s}' % (mac, mtu))


@scenario("port-mtu-check", config=CONFIG)
def port_mtu_check(s, env):
    """--check takes ports.*.mtu within 68-65389 and refuses one outside,
    or one that is no integer, each at its line and column."""
    base = load_config(CONFIG, "/tmp/unused.sock")
    good = with_mtu(with_mtu(base, "vnet", 1400), "cluster", 9000)
    rc, out, _ = run_check_mode(env, good, "mtu-good.yaml", "mtu-good")
    s.eq(rc, 0, "--check: vnet mtu 1400, cluster mtu 9000 are valid")
    line = next(i for i, t in enumerate(good.splitlines(), 1) if "net_pcap1" in t)
    for bad, msg in (("67", "67 is out of range (68-65389)"),
                     ("65390", "65390 is out of range (68-65389)"),
                     ("9k", "'9k' is not a number (expected 68-65389)")):
        text = with_mtu(base, "cluster", bad)
        col = next(t for t in text.splitlines() if "net_pcap1" in t).index("mtu: ") + 6
        rc, out, _ = run_check_mode(env, text, "mtu-bad.yaml", "mtu-bad")
        s.eq(rc, 1, "--check: cluster mtu %s refused (exit 1)" % bad)
        want = "mtu-bad.yaml:%d:%d: ports.cluster.mtu: %s" % (line, col, msg)
        s.check(want in out, "located error: ...%s" % want[want.index(":"):],
                "output: %r" % out[-400:])


@scenario("port-mtu-unsupported", config=CONFIG)
def port_mtu_unsupported(s, env):
    """ports.cluster.mtu on net_pcap, whose driver cannot set an MTU:
    vnetfw does not start (exit 1) and says which port, which driver, the
    MTU it has and what to do; it does not run at an MTU the link may not
    have."""
    d = tempfile.mkdtemp(prefix="mtu-unsupported-", dir=env.workdir)
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write(with_mtu(load_config(CONFIG, os.path.join(d, "ctl.sock")), "cluster", 9000))
    for port in ("vnet", "cluster"):
        for q in range(env.workers):
            write_pcap(os.path.join(d, "in-%s-%d.pcap" % (port, q)), [])
    cmd = [env.binary] + eal_args(env, "mtu-unsupported", d, 0) + ["--", "-c", cfg]
    if env.workers > 1:
        cmd += ["--workers", str(env.workers)]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, cwd=d, timeout=60)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired:
        out, rc = "timeout", None
    shutil.rmtree(dpdk_runtime_dir(dpdk_prefix("mtu-unsupported")), ignore_errors=True)
    s.log = out
    s.eq(rc, 1, "vnetfw exits 1")
    want = ("vnetfw: ports.cluster.mtu 9000: net_pcap1 (net_pcap) cannot set an MTU "
            "(the driver does not support it); its MTU stays 1500: remove "
            "ports.cluster.mtu to run at that")
    s.check(want in out, "the error names the port, the driver, its MTU and the fix",
            "output: %r" % out[-600:])
    s.check(not re.search(r"vnetfw running|port cluster \(", out),
            "the cluster port is not started, vnetfw does not run")
    s.check(not SANITIZER_RE.search(out), "no sanitizer report")
    if not env.keep:
        shutil.rmtree(d, ignore_errors=True)
