# SPDX-License-Identifier: BSD-3-Clause
"""Parsing: malformed frames are dropped and counted by reason, L2
filtering, and odd-but-valid frames (802.1Q tag, IP options, Ethernet
padding) are forwarded."""


from vfwpcap import (ARP, BCAST, CLIENT_IP, CLIENT_MAC, Dot1Q, Ether, IP,  # noqa: F401
                     Raw, SERVER_IP, SERVER_MAC, TCP, UDP, VNET_IP, VNET_MAC,
                     from_client, frozen, ip_csum_ok, scenario)
from scapy.layers.inet import IPOption


def _eth(t=0x0800):
    return Ether(src=CLIENT_MAC, dst=VNET_MAC, type=t)


def _pad60(b):
    return b + b"\x00" * max(0, 60 - len(b))


def _ip(**kw):
    return IP(src=CLIENT_IP, dst=SERVER_IP, **kw)


def _malformed(s):
    """(reason, frame bytes, what) for every malformed case."""
    mk = s.marker
    good = bytes(_eth() / _ip() / UDP(sport=1, dport=2) / Raw(mk("good")))
    return [
        ("eth_truncated", good[:10], "10-byte frame"),
        ("vlan_truncated", bytes(_eth(0x8100))[:14] + b"\x00\x64", "802.1Q without inner type"),
        ("ipv4_truncated", bytes(_eth())[:14] + bytes(_ip() / UDP())[:12],
         "12 bytes of IPv4 header"),
        ("ipv4_bad_version", bytes(_eth() / _ip(version=5) / UDP() / Raw(mk("v5"))),
         "version 5 under ethertype IPv4"),
        ("ipv4_bad_ihl", bytes(_eth() / _ip(ihl=4) / UDP() / Raw(mk("ihl4"))), "IHL 4"),
        ("ipv4_bad_total_length",
         bytes(_eth() / _ip(len=1000) / UDP() / Raw(mk("len1000"))),
         "total length beyond the frame"),
        ("ipv4_bad_total_length",
         bytes(_eth() / _ip(len=19) / UDP() / Raw(mk("len19"))),
         "total length below the header length"),
        ("ipv4_bad_checksum",
         _bad_csum(bytes(_eth() / _ip() / UDP() / Raw(mk("csum")))),
         "wrong header checksum"),
        ("tcp_truncated",
         _pad60(bytes(_eth() / _ip(proto=6, len=30) / Raw(b"\x01" * 10))),
         "10 bytes of TCP header (padded frame)"),
        ("udp_truncated",
         _pad60(bytes(_eth() / _ip(proto=17, len=24) / Raw(b"\x01" * 4))),
         "4 bytes of UDP header (padded frame)"),
        ("udp_bad_length",
         bytes(_eth() / _ip() / UDP(sport=1, dport=2, len=100) / Raw(mk("udplen"))),
         "UDP length beyond the IP payload"),
        ("icmp_truncated",
         _pad60(bytes(_eth() / _ip(proto=1, len=22) / Raw(b"\x08\x00"))),
         "2 bytes of ICMP header (padded frame)"),
        ("vlan_stacked",
         bytes(_eth(0x8100) / Dot1Q(vlan=100) / Dot1Q(vlan=200) / _ip() / UDP() /
               Raw(mk("qinq"))),
         "two 802.1Q tags"),
        ("ipv4_bad_source",
         bytes(_eth() / IP(src="224.1.1.1", dst=SERVER_IP) / UDP() / Raw(mk("mcsrc"))),
         "multicast source"),
        ("ipv4_bad_source",
         bytes(_eth() / IP(src="127.0.0.1", dst=SERVER_IP) / UDP() / Raw(mk("lo-src"))),
         "loopback source"),
        ("arp_malformed",
         bytes(Ether(src=CLIENT_MAC, dst=BCAST) /
               ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=VNET_IP))[:34],
         "truncated ARP"),
        ("arp_malformed",
         _arp_plen16(),
         "ARP with protocol address length 16"),
        ("ethertype_unsupported",
         bytes(Ether(src=CLIENT_MAC, dst=VNET_MAC, type=0x88b5) / Raw(mk("ethertype"))),
         "ethertype 0x88b5"),
    ]


def _bad_csum(frame):
    b = bytearray(frame)
    b[24] ^= 0x5a  # IPv4 checksum field at 14 + 10
    return bytes(b)


def _arp_plen16():
    b = bytearray(bytes(Ether(src=CLIENT_MAC, dst=BCAST) /
                        ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=VNET_IP)))
    b[14 + 5] = 16  # plen
    return _pad60(bytes(b))


@scenario("malformed")
def malformed(s):
    """Every malformed case is dropped with its own reason; nothing leaves."""
    cases = _malformed(s)
    for _, frame, _ in cases:
        s.vnet.send(frame)
    yield
    s.check(not s.all_out(), "no output at all",
            "; ".join(p.summary() for p in s.all_out()[:5]))
    want = {}
    for reason, _, what in cases:
        want.setdefault(reason, []).append(what)
    for reason, whats in sorted(want.items()):
        seen = s.drop(reason)
        s.check(seen == len(whats), "drop counter %s = %d (%s)" %
                (reason, len(whats), ", ".join(whats)),
                "seen %s" % seen)
    total = sum(v for v in (s.counter("drops") or {}).values())
    s.eq(total, len(cases), "total drops = number of malformed frames")


@scenario("tcp-bad-flags")
def tcp_bad_flags(s):
    """TCP with impossible flag combinations (SYN+FIN, SYN+RST, none) is
    dropped as tcp_bad_flags."""
    ms = []
    for flags in ("SF", "SR", ""):
        m = s.marker("flags-" + (flags or "none"))
        ms.append(m)
        s.vnet.send(from_client(SERVER_IP, TCP(sport=4000, dport=80, flags=flags), m))
    yield
    for m in ms:
        s.expect_not_out(m, m.split(":")[2])
    s.expect_drop("tcp_bad_flags", 3)


@scenario("l2-filter")
def l2_filter(s):
    """Frames not addressed to the port MAC, and IPv4 multicast/broadcast,
    are not routed."""
    m1, m2, m3 = s.marker("other-mac"), s.marker("eth-bcast"), s.marker("ip-mcast")
    s.vnet.send(Ether(src=CLIENT_MAC, dst="02:00:00:00:0f:0f") /
                _ip() / UDP(sport=1, dport=2) / Raw(m1))
    s.vnet.send(Ether(src=CLIENT_MAC, dst=BCAST) / _ip() / UDP(sport=1, dport=2) / Raw(m2))
    s.vnet.send(_eth() / IP(src=CLIENT_IP, dst="224.0.0.5") / UDP(sport=1, dport=2) / Raw(m3))
    yield
    for m in (m1, m2, m3):
        s.expect_not_out(m, m.split(":")[2])
    s.expect_drop("l2_not_for_us", 1)
    s.expect_drop("multicast_or_broadcast", 2)


@scenario("vlan-tagged")
def vlan_tagged(s):
    """A frame with one 802.1Q tag is parsed and routed."""
    m = s.marker("vlan100")
    p = s.vnet.send(frozen(_eth(0x8100) / Dot1Q(vlan=100) / _ip(ttl=30) /
                           UDP(sport=5, dport=6) / Raw(m)))
    yield
    o = s.expect_forwarded(p, m, "cluster", SERVER_MAC, "802.1Q vid 100")
    if o is not None:
        tag = o[Dot1Q].vlan if Dot1Q in o else None
        s.check(tag in (None, 100), "tag stripped or kept as vid 100 (seen %s)" % tag)


@scenario("ip-options")
def ip_options(s):
    """An IPv4 header with options (IHL 6) is forwarded, options intact."""
    m = s.marker("opts")
    p = s.vnet.send(frozen(_eth() / _ip(options=[IPOption(b"\x01\x01\x01\x00")]) /
                           UDP(sport=5, dport=6) / Raw(m)))
    yield
    o = s.expect_forwarded(p, m, "cluster", SERVER_MAC, "IHL 6")
    if o is not None:
        s.eq(bytes(o[IP])[20:24], bytes(p[IP])[20:24], "options bytes kept")


@scenario("ethernet-padding")
def ethernet_padding(s):
    """A short datagram in a frame padded to 60 bytes is forwarded; the IP
    total length, not the frame length, decides."""
    m = b"pad%d" % 1
    raw = bytes(_eth() / _ip(id=77) / UDP(sport=5, dport=6) / Raw(m))
    p = s.vnet.send(_pad60(raw))
    yield
    got = [o for o in s.cluster.out if IP in o and o[IP].id == 77]
    if s.check(len(got) == 1, "padded frame forwarded once"):
        o = got[0]
        s.eq(o[IP].len, p[IP].len, "IP total length unchanged")
        s.check(ip_csum_ok(o), "IPv4 header checksum valid")
        s.eq(bytes(o[IP])[20:o[IP].len], bytes(p[IP])[20:p[IP].len],
             "UDP header+payload untouched")
