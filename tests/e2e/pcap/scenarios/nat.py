# SPDX-License-Identifier: BSD-3-Clause
"""NAT on crafted frames (configs/nat-icmp.yaml): ICMP errors about SNAT, DNAT
and hairpinned flows come back translated outer and inner with every
checksum right (fragmentation needed, port unreachable, time exceeded;
whole and RFC 792-short quotes); errors that are not about a flow of ours
are dropped; fragmented UDP datagrams cross DNAT, SNAT and hairpin both
ways and reassemble with a valid UDP checksum.

Frames that answer a flow are queued behind filler frames (an unknown
ethertype, dropped by the worker that receives them) so that the flow's
first packet is processed bursts earlier: vnetfw judges a burst stage by
stage, so an answer in the same burst as its request would be looked up
before the request made the session (which cannot happen on a wire). With
--workers 2 every frame arrives on worker 0; the outside addresses used
here make worker 0 own every flow too (asserted below), so no hand-off
ring can merge the separated bursts again."""

import socket

from vfwpcap import (CL_IP, CL_MAC, CLIENT_IP, CLIENT_MAC, Ether, GW_MAC,  # noqa: F401
                     ICMP, IP, Raw, SERVER_IP, SERVER_MAC, TCP, UDP, VNET_IP,
                     VNET_MAC, checksum, frozen, ip_csum_ok, scenario)
from scapy.layers.inet import fragment

CONFIG = "nat-icmp.yaml"
POD_IP, POD_MAC = "10.240.3.30", "02:00:00:00:02:1e"
ROUTER_IP = "198.51.100.1"   # a router beyond the vnet gateway
FAR_IP = "203.0.113.7"       # an internet destination behind it
INET_IP = "198.51.100.7"     # an internet host
SNAT_PORT = 50000            # first port of the egress pool (ascending)
N_FILLER = 96                # three bursts of 32


def _crc32c(data, crc=0):
    """rte_hash_crc_4byte(): CRC-32C without pre/post inversion."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def owner(outside_ip, n_workers=2):
    """The worker that owns a flow whose only outside address is
    outside_ip (lib/dataplane: crc32(outside(src) ^ outside(dst)) mod N)."""
    return _crc32c(socket.inet_aton(outside_ip)) % n_workers


# Worker 0 receives every frame (queue 0): it must own the flows, see above.
# (Hairpinned flows have no outside address: owner(0.0.0.0) = 0.)
assert all(owner(a) == 0 for a in (CLIENT_IP, FAR_IP, INET_IP, "0.0.0.0")), \
    "pick outside addresses owned by worker 0"


def filler(s, port, n=N_FILLER):
    """Frames the worker that receives them drops (ethertype_unsupported):
    they delay what follows on this port by n / 32 bursts."""
    mac = VNET_MAC if port is s.vnet else CL_MAC
    for i in range(n):
        port.send(Ether(src="02:00:00:00:0f:0f", dst=mac, type=0x88b5) /
                  Raw(b"filler %d" % i))


def wire(pkt):
    """The IPv4 packet of a scapy packet as bytes (checksums computed)."""
    return bytes(IP(bytes(pkt[IP])))


def out_ip(pkt):
    """The IPv4 packet of an output frame, cut at its total length."""
    raw = bytes(pkt[IP])
    return raw[:int.from_bytes(raw[2:4], "big")]


def norm(ipb):
    """IPv4 packet bytes (possibly a cut quote) with the IPv4, TCP and ICMP
    checksum fields in one form: 0xffff and 0x0000 are the two
    one's-complement zeros, equally valid there (an incremental update may
    give either; UDP is left alone: 0 means "no checksum" there)."""
    b = bytearray(ipb)
    hl = (b[0] & 15) * 4
    offs = [10]
    if len(b) > hl and b[9] == 6:
        offs.append(hl + 16)
    elif len(b) > hl and b[9] == 1:
        offs.append(hl + 2)
    for o in offs:
        if len(b) >= o + 2 and b[o:o + 2] == b"\xff\xff":
            b[o:o + 2] = b"\0\0"
    return bytes(b)


def l4_csum_valid(ipb):
    """TCP/UDP checksum over the pseudo header of IPv4 packet bytes ipb
    (a whole, unfragmented datagram)."""
    hl = (ipb[0] & 15) * 4
    seg = ipb[hl:int.from_bytes(ipb[2:4], "big")]
    ph = ipb[12:20] + bytes([0, ipb[9]]) + len(seg).to_bytes(2, "big")
    return checksum(ph + seg) == 0


def icmp_errors_on(port):
    return [p for p in port.out if IP in p and p[IP].proto == 1 and
            out_ip(p)[(out_ip(p)[0] & 15) * 4] in (3, 11, 12)]


def icmp_error(src, dst, eth_src, eth_dst, itype, code, quote, rest=0, ttl=60):
    """An ICMP error frame quoting `quote` (bytes of the offending IPv4
    packet as it was on the wire). rest: the 32-bit word after the ICMP
    checksum (the next-hop MTU in its low half for frag needed)."""
    return frozen(Ether(src=eth_src, dst=eth_dst) /
                  IP(src=src, dst=dst, ttl=ttl, id=0x7777) /
                  ICMP(type=itype, code=code, reserved=(rest >> 16) & 0xffff,
                       nexthopmtu=rest & 0xffff) / Raw(quote))


def check_error_out(s, port, sent, what, src, dst, dst_mac, inner, quote_len=None):
    """One ICMP error out on `port`, translated: outer addresses, L2, TTL-1,
    ICMP type/code/rest-of-header kept, the quote equal byte for byte to
    `inner` (the offending packet as its sender sent it, with the TTL it
    had when the error was made), every checksum valid."""
    errs = icmp_errors_on(port)
    if not s.check(len(errs) == 1, "%s: one ICMP error out on %s" % (what, port.name),
                   "%d seen; out: %s" % (len(errs), [p.summary() for p in port.out])):
        return
    o = errs[0]
    ob = out_ip(o)
    sb = wire(sent)
    ohl = (ob[0] & 15) * 4
    s.eq((o[Ether].src, o[Ether].dst), (VNET_MAC if port.name == "vnet" else CL_MAC, dst_mac),
         "%s: L2 rewritten to the next hop" % what)
    s.eq((o[IP].src, o[IP].dst), (src, dst), "%s: outer source, destination" % what)
    s.eq(o[IP].ttl, sent[IP].ttl - 1, "%s: outer TTL decremented" % what)
    s.check(ip_csum_ok(o), "%s: outer IPv4 checksum valid" % what)
    icmp = ob[ohl:]
    s.eq(icmp[0:2], sb[20:22], "%s: ICMP type/code kept" % what)
    s.eq(icmp[4:8], sb[24:28], "%s: ICMP rest of header kept (MTU)" % what)
    s.check(checksum(icmp) == 0, "%s: ICMP checksum valid" % what,
            "field 0x%s" % icmp[2:4].hex())
    q = icmp[8:]
    want = inner if quote_len is None else inner[:quote_len]
    s.eq(len(q), len(want), "%s: quote length kept" % what)
    s.check(norm(q) == norm(want), "%s: quoted packet is what the sender sent (addresses, ports,"
            " all checksums)" % what, "\n      seen %s\n      want %s" % (q.hex(), want.hex()))
    ihl = (q[0] & 15) * 4
    s.check(checksum(q[:ihl]) == 0, "%s: quoted IPv4 checksum valid" % what)
    if quote_len is None and q[9] in (6, 17):
        s.check(l4_csum_valid(q), "%s: quoted TCP/UDP checksum valid" % what)


def as_forwarded(pkt, **ip_changes):
    """pkt's IPv4 packet as the appliance forwards it: TTL - 1 and the
    changes given (addresses, ports through the L4 layer), checksums
    recomputed."""
    ip = IP(wire(pkt))
    ip.ttl -= 1
    for k, v in ip_changes.items():
        if k in ("src", "dst"):
            setattr(ip, k, v)
        else:
            setattr(ip.payload, k, v)
    del ip.chksum
    if hasattr(ip.payload, "chksum"):
        del ip.payload.chksum
    return IP(bytes(ip))


def check_forwarded(s, port, marker, want, what):
    errs = icmp_errors_on(port)     # they quote the marker too
    got = [p for p in port.with_marker(marker) if not any(p is e for e in errs)]
    if not s.check(len(got) == 1, "%s: forwarded once on %s" % (what, port.name),
                   "%d seen" % len(got)):
        return None
    b = out_ip(got[0])
    s.check(norm(b) == norm(bytes(want)), "%s: translated as expected, checksums included" % what,
            "\n      seen %s\n      want %s" % (b.hex(), bytes(want).hex()))
    return got[0]


@scenario("nat-snat-frag-needed", config=CONFIG)
def snat_frag_needed(s):
    """A router beyond the gateway sends fragmentation needed about SNATed
    flows (TCP quoted whole, UDP and TCP quoted to 8 bytes): the cluster
    client gets it with outer destination, quoted source and ports back to
    its own, the router's address and the MTU kept, all checksums valid."""
    # (what, L4, quoted bytes, translated port: ascending per protocol)
    flows = [
        ("tcp whole quote", TCP(sport=40000, dport=443, flags="S", seq=1000), None, SNAT_PORT),
        ("udp 8-byte quote", UDP(sport=40001, dport=53), 28, SNAT_PORT),
        ("tcp 8-byte quote", TCP(sport=40002, dport=443, flags="S", seq=7), 28, SNAT_PORT + 1),
    ]
    sent = []
    for i, (what, l4, qlen, xport) in enumerate(flows):
        m = s.marker("flow%d" % i)
        p = s.cluster.send(Ether(src=SERVER_MAC, dst=CL_MAC) /
                           IP(src=SERVER_IP, dst=FAR_IP, ttl=64, id=0x1100 + i, flags="DF") /
                           l4 / Raw(m * 8))
        sent.append((what, m, p, qlen, xport))
    filler(s, s.vnet)
    errs = []
    for what, m, p, qlen, xport in sent:
        fwd = as_forwarded(p, src=VNET_IP, sport=xport)
        quote = bytes(fwd) if qlen is None else bytes(fwd)[:qlen]
        e = s.vnet.send(icmp_error(ROUTER_IP, VNET_IP, GW_MAC, VNET_MAC, 3, 4, quote,
                                   rest=1400))
        errs.append(e)
    yield
    for (what, m, p, qlen, xport), e in zip(sent, errs):
        check_forwarded(s, s.vnet, m, as_forwarded(p, src=VNET_IP, sport=xport),
                        "%s: flow SNATed to 10.0.1.4:%d" % (what, xport))
    outs = icmp_errors_on(s.cluster)
    s.eq(len(outs), len(sent), "one translated error per flow out on cluster")
    for (what, m, p, qlen, xport), e in zip(sent, errs):
        inner = bytes(as_forwarded(p))      # addresses and ports as sent
        sport = p[IP].payload.sport
        mine = [o for o in outs if int.from_bytes(out_ip(o)[48:50], "big") == sport]
        port_view = type("P", (), {"out": mine, "name": "cluster"})
        check_error_out(s, port_view, e, "frag needed, " + what, ROUTER_IP, SERVER_IP,
                        SERVER_MAC, inner, qlen)
    s.eq(s.counter("events.icmp_errors_related"), len(sent),
         "counter events.icmp_errors_related")
    s.expect_drop("icmp_error_bad_inner", 0)


@scenario("nat-dnat-port-unreachable", config=CONFIG)
def dnat_port_unreachable(s):
    """The server behind DNAT answers port unreachable: the client gets it
    from the address it talked to (10.0.1.4), quoting its own datagram to
    10.0.1.4:5300."""
    m = s.marker("udp")
    p = s.vnet.send(Ether(src=CLIENT_MAC, dst=VNET_MAC) /
                    IP(src=CLIENT_IP, dst=VNET_IP, ttl=64, id=0x2200) /
                    UDP(sport=40100, dport=5300) / Raw(m))
    filler(s, s.cluster)
    fwd = as_forwarded(p, dst=SERVER_IP, dport=5353)
    e = s.cluster.send(icmp_error(SERVER_IP, CLIENT_IP, SERVER_MAC, CL_MAC, 3, 3,
                                  bytes(fwd), ttl=64))
    yield
    check_forwarded(s, s.cluster, m, fwd, "datagram DNATed to 10.240.1.10:5353")
    check_error_out(s, s.vnet, e, "port unreachable", VNET_IP, CLIENT_IP, CLIENT_MAC,
                    bytes(as_forwarded(p)))


@scenario("nat-hairpin-port-unreachable", config=CONFIG)
def hairpin_port_unreachable(s):
    """A pod reaches the DNAT address (hairpin: DNAT and SNAT to the
    cluster address); the server's port unreachable goes back to the pod
    from 10.0.1.4, quoting the pod's own datagram."""
    m = s.marker("udp")
    p = s.cluster.send(Ether(src=POD_MAC, dst=CL_MAC) /
                       IP(src=POD_IP, dst=VNET_IP, ttl=64, id=0x3300) /
                       UDP(sport=40200, dport=5300) / Raw(m))
    # hairpin pool: 10.240.0.4 with 1024-65535, the source port is kept
    fwd = as_forwarded(p, src=CL_IP, dst=SERVER_IP, dport=5353)
    filler(s, s.cluster)
    e = s.cluster.send(icmp_error(SERVER_IP, CL_IP, SERVER_MAC, CL_MAC, 3, 3,
                                  bytes(fwd), ttl=64))
    yield
    check_forwarded(s, s.cluster, m, fwd, "datagram hairpinned 10.240.0.4 -> 10.240.1.10:5353")
    port_view = type("P", (), {"out": [o for o in s.cluster.out if o[Ether].dst == POD_MAC],
                               "name": "cluster"})
    check_error_out(s, port_view, e, "port unreachable to the pod", VNET_IP, POD_IP,
                    POD_MAC, bytes(as_forwarded(p)))


@scenario("nat-snat-time-exceeded-echo", config=CONFIG)
def snat_time_exceeded_echo(s):
    """ping -t 2 through SNAT: the router's time exceeded quotes the echo
    request with the translated identifier; the client gets its own
    identifier back, quoted ICMP checksum included."""
    m = s.marker("echo")
    p = s.cluster.send(Ether(src=SERVER_MAC, dst=CL_MAC) /
                       IP(src=SERVER_IP, dst=FAR_IP, ttl=2, id=0x4400) /
                       ICMP(type=8, id=0x4242, seq=1) / Raw(m))
    filler(s, s.vnet)
    fwd = as_forwarded(p, src=VNET_IP, id=SNAT_PORT)
    e = s.vnet.send(icmp_error(ROUTER_IP, VNET_IP, GW_MAC, VNET_MAC, 11, 0, bytes(fwd)))
    yield
    check_forwarded(s, s.vnet, m, fwd, "echo request SNATed, identifier %d" % SNAT_PORT)
    check_error_out(s, s.cluster, e, "time exceeded", ROUTER_IP, SERVER_IP, SERVER_MAC,
                    bytes(as_forwarded(p)))
    q = out_ip(icmp_errors_on(s.cluster)[0])[28:] if icmp_errors_on(s.cluster) else b""
    if q:
        s.check(checksum(q[20:]) == 0, "time exceeded: quoted echo request checksum valid")


@scenario("nat-icmp-error-not-ours", config=CONFIG)
def icmp_error_not_ours(s):
    """ICMP errors that are not about a flow of ours are dropped: one
    quoting a flow that does not exist (ct_invalid), one quoting a real
    SNATed flow but sent to another address than its translated source
    (icmp_error_bad_inner)."""
    m = s.marker("tcp")
    p = s.cluster.send(Ether(src=SERVER_MAC, dst=CL_MAC) /
                       IP(src=SERVER_IP, dst=FAR_IP, ttl=64, id=0x5500) /
                       TCP(sport=40300, dport=443, flags="S") / Raw(m))
    filler(s, s.vnet)
    ghost = IP(src=VNET_IP, dst=FAR_IP, ttl=63) / TCP(sport=50099, dport=443, flags="S")
    s.vnet.send(icmp_error(ROUTER_IP, VNET_IP, GW_MAC, VNET_MAC, 3, 4, wire(ghost), rest=1400))
    fwd = as_forwarded(p, src=VNET_IP, sport=SNAT_PORT)
    # to the client's inside address rather than the translated one
    s.vnet.send(icmp_error(ROUTER_IP, SERVER_IP, GW_MAC, VNET_MAC, 3, 4, bytes(fwd), rest=1400))
    yield
    check_forwarded(s, s.vnet, m, fwd, "flow SNATed")
    s.eq(len(icmp_errors_on(s.cluster)) + len(icmp_errors_on(s.vnet)), 0,
         "no ICMP error forwarded")
    s.expect_drop("ct_invalid", 1, at_least=True)
    s.expect_drop("icmp_error_bad_inner", 1, at_least=True)
    s.eq(s.counter("events.icmp_errors_related"), 0, "counter events.icmp_errors_related")


# ---------------------------------------------------------------------------
# Fragments

def frags_of(pkt_ip, size=1480):
    return fragment(pkt_ip, fragsize=size)


def send_frags(s, port, eth_src, ip_pkt, split=True):
    """ip_pkt in 1480-byte fragments, in order. split: filler frames
    between the first fragment and the others (see nat-fragments-same-burst
    for why)."""
    mac = VNET_MAC if port is s.vnet else CL_MAC
    frs = frags_of(ip_pkt)
    for i, f in enumerate(frs):
        if i == 1 and split:
            filler(s, port, 32)
        port.send(Ether(src=eth_src, dst=mac) / f)
    return frs


def reassemble(frames, ident):
    """IPv4 datagram (header of the first fragment + payload) from output
    frames with IP id `ident`; None when a piece is missing."""
    parts = sorted(((p[IP].frag * 8, out_ip(p)) for p in frames
                    if IP in p and p[IP].id == ident), key=lambda x: x[0])
    if not parts or parts[0][0] != 0:
        return None, len(parts)
    first = parts[0][1]
    hl = (first[0] & 15) * 4
    data, off = b"", 0
    for o, b in parts:
        if o != off:
            return None, len(parts)
        data += b[(b[0] & 15) * 4:]
        off = len(data)
    if int.from_bytes(parts[-1][1][6:8], "big") & 0x2000:
        return None, len(parts)     # last fragment still says more
    total = hl + len(data)
    hdr = bytearray(first[:hl])
    hdr[2:4] = total.to_bytes(2, "big")
    hdr[6:8] = b"\0\0"
    return bytes(hdr) + data, len(parts)


def check_frags(s, port, frames_in, ident, what, src, dst, sport, dport, payload):
    outs = [p for p in port.out if IP in p and p[IP].id == ident]
    s.eq(len(outs), len(frames_in), "%s: every fragment out on %s" % (what, port.name))
    s.check(all(ip_csum_ok(o) for o in outs), "%s: every fragment's IPv4 checksum valid" % what)
    s.check(all((o[IP].src, o[IP].dst) == (src, dst) for o in outs),
            "%s: every fragment's addresses translated (%s -> %s)" % (what, src, dst),
            "; ".join("%s->%s off %d" % (o[IP].src, o[IP].dst, o[IP].frag) for o in outs))
    later_in = {f.frag: bytes(f.payload) for f in frames_in if f.frag}
    later_out = {o[IP].frag: out_ip(o)[20:] for o in outs if o[IP].frag}
    s.check(later_in == later_out, "%s: later fragments' payload untouched" % what)
    dg, n = reassemble(port.out, ident)
    if not s.check(dg is not None, "%s: reassembles" % what, "%d pieces" % n):
        return
    u = UDP(dg[20:])
    s.eq((u.sport, u.dport), (sport, dport), "%s: reassembled ports" % what)
    s.check(l4_csum_valid(dg), "%s: reassembled UDP checksum valid" % what)
    s.check(bytes(u.payload) == payload, "%s: payload intact" % what)


def big_payload(tag, n=3000):
    b = (tag.encode() + b":") * (n // (len(tag) + 1) + 1)
    return b[:n]


@scenario("nat-fragments-dnat", config=CONFIG)
def fragments_dnat(s):
    """A 3000-byte UDP datagram in 3 fragments to the DNAT address and the
    server's 3000-byte answer in 3 fragments: both reassemble behind the
    appliance with the translated addresses/ports and a valid checksum."""
    data = big_payload(s.marker("dnat"))
    q = IP(src=CLIENT_IP, dst=VNET_IP, id=0x6601) / UDP(sport=40400, dport=5300) / Raw(data)
    fq = send_frags(s, s.vnet, CLIENT_MAC, q)
    filler(s, s.cluster)
    r = IP(src=SERVER_IP, dst=CLIENT_IP, id=0x6602) / UDP(sport=5353, dport=40400) / Raw(data[::-1])
    fr = send_frags(s, s.cluster, SERVER_MAC, r)
    yield
    s.eq(len(fq), 3, "the request is 3 fragments")
    check_frags(s, s.cluster, fq, 0x6601, "request", CLIENT_IP, SERVER_IP, 40400, 5353, data)
    check_frags(s, s.vnet, fr, 0x6602, "answer", VNET_IP, CLIENT_IP, 5300, 40400, data[::-1])
    s.expect_drop("fragment_without_first", 0)
    s.eq(s.counter("events.fragments"), 6, "counter events.fragments")


@scenario("nat-fragments-snat", config=CONFIG)
def fragments_snat(s):
    """A 3000-byte UDP datagram in 3 fragments from the cluster to an
    internet host (SNAT, port translated) and its 3000-byte answer."""
    data = big_payload(s.marker("snat"))
    q = IP(src=SERVER_IP, dst=INET_IP, id=0x7701) / UDP(sport=40500, dport=7007) / Raw(data)
    fq = send_frags(s, s.cluster, SERVER_MAC, q)
    filler(s, s.vnet)
    r = IP(src=INET_IP, dst=VNET_IP, id=0x7702) / UDP(sport=7007, dport=SNAT_PORT) / Raw(data[::-1])
    fr = send_frags(s, s.vnet, GW_MAC, r)
    yield
    check_frags(s, s.vnet, fq, 0x7701, "request", VNET_IP, INET_IP, SNAT_PORT, 7007, data)
    check_frags(s, s.cluster, fr, 0x7702, "answer", INET_IP, SERVER_IP, 7007, 40500, data[::-1])
    s.expect_drop("fragment_without_first", 0)


@scenario("nat-fragments-hairpin", config=CONFIG)
def fragments_hairpin(s):
    """A pod's 3000-byte datagram to the DNAT address (hairpin) and the
    server's answer, both in fragments, on the cluster port."""
    data = big_payload(s.marker("hairpin"))
    q = IP(src=POD_IP, dst=VNET_IP, id=0x7801) / UDP(sport=40600, dport=5300) / Raw(data)
    fq = send_frags(s, s.cluster, POD_MAC, q)
    filler(s, s.cluster)
    r = IP(src=SERVER_IP, dst=CL_IP, id=0x7802) / UDP(sport=5353, dport=40600) / Raw(data[::-1])
    fr = send_frags(s, s.cluster, SERVER_MAC, r)
    yield
    srv = type("P", (), {"out": [o for o in s.cluster.out if o[Ether].dst == SERVER_MAC],
                         "name": "cluster (to the server)"})
    pod = type("P", (), {"out": [o for o in s.cluster.out if o[Ether].dst == POD_MAC],
                         "name": "cluster (to the pod)"})
    check_frags(s, srv, fq, 0x7801, "request", CL_IP, SERVER_IP, 40600, 5353, data)
    check_frags(s, pod, fr, 0x7802, "answer", VNET_IP, POD_IP, 5300, 40600, data[::-1])
    s.expect_drop("fragment_without_first", 0)


@scenario("nat-fragments-same-burst", config=CONFIG)
def fragments_same_burst(s):
    """Fragments as any sender sends them, back to back (so in one rx
    burst): a new DNAT flow whose first datagram is fragmented, and a
    fragmented answer on the existing session. Both reassemble."""
    data = big_payload(s.marker("burst"))
    q = IP(src=CLIENT_IP, dst=VNET_IP, id=0x7901) / UDP(sport=40700, dport=5300) / Raw(data)
    fq = send_frags(s, s.vnet, CLIENT_MAC, q, split=False)
    filler(s, s.cluster)
    r = IP(src=SERVER_IP, dst=CLIENT_IP, id=0x7902) / UDP(sport=5353, dport=40700) / Raw(data[::-1])
    fr = send_frags(s, s.cluster, SERVER_MAC, r, split=False)
    yield
    check_frags(s, s.cluster, fq, 0x7901, "new flow", CLIENT_IP, SERVER_IP, 40700, 5353, data)
    check_frags(s, s.vnet, fr, 0x7902, "existing session", VNET_IP, CLIENT_IP, 5300, 40700,
                data[::-1])
    s.expect_drop("fragment_without_first", 0)


@scenario("nat-snat-reply-port-unreachable", config=CONFIG)
def snat_reply_port_unreachable(s):
    """The SNATed client answers an internet host's late datagram with
    port unreachable: the host gets it from 10.0.1.4, quoting the datagram
    it sent to 10.0.1.4:50000."""
    m = s.marker("req")
    p = s.cluster.send(Ether(src=SERVER_MAC, dst=CL_MAC) /
                       IP(src=SERVER_IP, dst=INET_IP, ttl=64, id=0x5a00) /
                       UDP(sport=40800, dport=7007) / Raw(m))
    filler(s, s.cluster, 2 * N_FILLER)   # the answer goes first (vnet)
    filler(s, s.vnet)
    m2 = s.marker("late")
    late = s.vnet.send(Ether(src=GW_MAC, dst=VNET_MAC) /
                       IP(src=INET_IP, dst=VNET_IP, ttl=60, id=0x5a01) /
                       UDP(sport=7007, dport=SNAT_PORT) / Raw(m2))
    to_client = as_forwarded(late, dst=SERVER_IP, dport=40800)
    e = s.cluster.send(icmp_error(SERVER_IP, INET_IP, SERVER_MAC, CL_MAC, 3, 3,
                                  bytes(to_client), ttl=64))
    yield
    check_forwarded(s, s.vnet, m, as_forwarded(p, src=VNET_IP, sport=SNAT_PORT),
                    "request SNATed to 10.0.1.4:%d" % SNAT_PORT)
    check_forwarded(s, s.cluster, m2, to_client, "late answer translated to the client")
    check_error_out(s, s.vnet, e, "port unreachable to the internet host", VNET_IP, INET_IP,
                    GW_MAC, bytes(as_forwarded(late)))
