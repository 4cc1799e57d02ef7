# SPDX-License-Identifier: BSD-3-Clause
"""NAT and ACL on the wire: DNAT rewrites the destination (and the reply's
source back), SNAT rewrites cluster egress into its pool, checksums stay
valid; a deny rule drops and counts (acl_deny). Config: configs/nat.yaml."""

from vfwpcap import (CL_MAC, CLIENT_IP, CLIENT_MAC, Ether, GW_MAC, IP,  # noqa: F401
                     SERVER_IP, SERVER_MAC, TCP, UDP, VNET_IP, VNET_MAC,
                     from_client, from_server, ip_csum_ok, l4_csum_valid,
                     scenario)


def _filler(port, n=64):
    """Frames for another host's MAC (dropped at once, l2_not_for_us): they
    hold a reply back a few bursts so that the request on the other port
    has created its session first."""
    for i in range(n):
        port.send(Ether(src="02:00:00:00:0e:0e", dst="02:00:00:00:0f:0f") /
                  IP(src="10.9.9.9", dst="10.9.9.8", id=i) / UDP())


def _check_rewritten(s, o, what, src, dst, sport, dport, dst_mac, src_mac):
    s.eq(o[Ether].src, src_mac, "%s: src MAC = port MAC" % what)
    s.eq(o[Ether].dst, dst_mac, "%s: dst MAC = next hop" % what)
    s.eq((o[IP].src, o[IP].dst), (src, dst), "%s: addresses" % what)
    l4 = o[TCP] if TCP in o else o[UDP]
    s.eq((l4.sport, l4.dport), (sport, dport), "%s: ports" % what)
    s.check(ip_csum_ok(o), "%s: IPv4 checksum valid" % what)
    s.check(l4_csum_valid(o), "%s: L4 checksum valid" % what)


@scenario("dnat-tcp", config="nat.yaml")
def dnat_tcp(s):
    """Client -> 10.0.1.4:8080 leaves to 10.240.1.10:80 from the real
    client; the server's SYN-ACK leaves as 10.0.1.4:8080."""
    m1, m2 = s.marker("syn"), s.marker("synack")
    s.vnet.send(from_client(VNET_IP, TCP(sport=40000, dport=8080, flags="S", seq=1), m1))
    _filler(s.cluster)
    s.cluster.send(from_server(CLIENT_IP, TCP(sport=80, dport=40000, flags="SA",
                                              seq=500, ack=2), m2))
    yield
    got = s.cluster.with_marker(m1)
    if s.check(len(got) == 1, "SYN translated and out on cluster", "%d seen" % len(got)):
        _check_rewritten(s, got[0], "SYN", CLIENT_IP, SERVER_IP, 40000, 80, SERVER_MAC, CL_MAC)
    got = s.vnet.with_marker(m2)
    if s.check(len(got) == 1, "SYN-ACK translated back and out on vnet", "%d seen" % len(got)):
        _check_rewritten(s, got[0], "SYN-ACK", VNET_IP, CLIENT_IP, 8080, 40000,
                         CLIENT_MAC, VNET_MAC)
    s.check((s.counter("events.dnat_translated") or 0) >= 1, "counter dnat_translated")


@scenario("dnat-udp", config="nat.yaml")
def dnat_udp(s):
    """UDP 10.0.1.4:5353 goes to 10.240.1.10:53, checksum updated."""
    m = s.marker("dns")
    s.vnet.send(from_client(VNET_IP, UDP(sport=40001, dport=5353), m))
    yield
    got = s.cluster.with_marker(m)
    if s.check(len(got) == 1, "datagram translated and out on cluster"):
        _check_rewritten(s, got[0], "UDP", CLIENT_IP, SERVER_IP, 40001, 53, SERVER_MAC, CL_MAC)


@scenario("snat-egress", config="nat.yaml")
def snat_egress(s):
    """Cluster -> internet leaves from 10.0.1.4 with a port of the pool
    (20000-20099); cluster -> 10.0.1.10 (excluded 10.0.0.0/8) is not
    translated."""
    m1, m2 = s.marker("egress"), s.marker("excluded")
    s.cluster.send(from_server("203.0.113.5", UDP(sport=5000, dport=53), m1))
    s.cluster.send(from_server(CLIENT_IP, UDP(sport=5001, dport=53), m2))
    yield
    got = s.vnet.with_marker(m1)
    if s.check(len(got) == 1, "egress translated and out on vnet"):
        o = got[0]
        s.eq((o[IP].src, o[IP].dst), (VNET_IP, "203.0.113.5"), "egress: addresses")
        s.check(20000 <= o[UDP].sport <= 20099, "egress: source port from the pool",
                "port %d" % o[UDP].sport)
        s.eq(o[Ether].dst, GW_MAC, "egress: via the gateway")
        s.check(ip_csum_ok(o) and l4_csum_valid(o), "egress: checksums valid")
    got = s.vnet.with_marker(m2)
    if s.check(len(got) == 1, "excluded destination forwarded"):
        s.eq((got[0][IP].src, got[0][UDP].sport), (SERVER_IP, 5001),
             "excluded destination: source not translated")
    s.check((s.counter("events.snat_translated") or 0) >= 1, "counter snat_translated")


@scenario("acl-deny", config="nat.yaml")
def acl_deny(s):
    """A deny rule (priority 50) beats the allow-all rule: dropped, counted
    acl_deny; other ports of the same hosts still pass."""
    m1, m2 = s.marker("telnet"), s.marker("http")
    s.vnet.send(from_client(SERVER_IP, TCP(sport=40010, dport=23, flags="S"), m1))
    p = s.vnet.send(from_client(SERVER_IP, TCP(sport=40011, dport=80, flags="S"), m2))
    yield
    s.expect_not_out(m1, "tcp/23")
    s.expect_drop("acl_deny", 1)
    s.expect_forwarded(p, m2, "cluster", SERVER_MAC, "tcp/80")
