# SPDX-License-Identifier: BSD-3-Clause
"""Routing with UDR semantics and the L3 rewrite: system routes (port
subnets VnetLocal, 0/0 Internet via the vnet gateway), user routes
(None, VirtualAppliance, Internet, VnetLocal), longest prefix match, TTL."""

from vfwpcap import (APPL_MAC, CLIENT_IP, CLIENT_MAC, GW_MAC, ICMP, IP, SERVER_IP,
                     SERVER_MAC, TCP, UDP, VNET_IP, arp_requests_for, check_arp_request,
                     from_client, from_server, ip_csum_ok, is_icmp_error, l4_csum_ok,
                     scenario)


@scenario("forward-vnet-to-cluster")
def forward_vnet_to_cluster(s):
    """TCP, UDP and ICMP from the vnet client to the cluster server leave on
    the cluster port with the server's MAC (system route VnetLocal)."""
    flows = [
        ("tcp", TCP(sport=40000, dport=80, flags="S", seq=1000)),
        ("udp", UDP(sport=40001, dport=53)),
        ("icmp", ICMP(type=8, id=1, seq=1)),
        ("tcp-ack", TCP(sport=40002, dport=443, flags="PA", seq=5, ack=9)),
    ]
    sent = []
    for i, (what, l4) in enumerate(flows):
        m = s.marker(what)
        sent.append((what, m, s.vnet.send(from_client(SERVER_IP, l4, m, ttl=64 - i,
                                                      ip_id=10 + i))))
    yield
    for what, m, p in sent:
        s.expect_forwarded(p, m, "cluster", SERVER_MAC, what)
    s.eq(s.counter("ports.vnet.rx"), len(sent), "counter ports.vnet.rx")
    s.eq(s.counter("ports.cluster.tx"), len(sent), "counter ports.cluster.tx")
    s.eq(s.counter("forwarded"), len(sent), "counter forwarded")


@scenario("forward-cluster-to-vnet")
def forward_cluster_to_vnet(s):
    """Replies from the cluster server reach the vnet client (VnetLocal on
    the vnet subnet)."""
    m1, m2 = s.marker("tcp"), s.marker("udp")
    p1 = s.cluster.send(from_server(CLIENT_IP, TCP(sport=80, dport=40000, flags="SA"), m1))
    p2 = s.cluster.send(from_server(CLIENT_IP, UDP(sport=53, dport=40001), m2, ttl=2))
    yield
    s.expect_forwarded(p1, m1, "vnet", CLIENT_MAC, "tcp")
    s.expect_forwarded(p2, m2, "vnet", CLIENT_MAC, "udp ttl 2")


@scenario("route-none")
def route_none(s):
    """A user route of type None blackholes its prefix: no output, counted
    route_none."""
    ms = []
    for i in range(3):
        m = s.marker("hole")
        ms.append(m)
        s.vnet.send(from_client("10.66.%d.1" % i, UDP(sport=1000, dport=2000), m))
    m = s.marker("hole-from-cluster")
    ms.append(m)
    s.cluster.send(from_server("10.66.200.200", TCP(flags="S"), m))
    yield
    for m in ms:
        s.expect_not_out(m, "to 10.66.0.0/16")
    s.check(not [p for p in s.all_out() if IP in p], "no IP output at all",
            "; ".join(p.summary() for p in s.all_out()))
    s.expect_drop("route_none", len(ms))


@scenario("route-appliance")
def route_appliance(s):
    """VirtualAppliance: 10.2.0.0/16 goes to next hop 10.0.1.20's MAC, from
    the cluster (out vnet) and from the vnet itself (hairpin, same port)."""
    m1, m2 = s.marker("from-cluster"), s.marker("hairpin")
    p1 = s.cluster.send(from_server("10.2.3.4", TCP(sport=1234, dport=443, flags="S"), m1))
    p2 = s.vnet.send(from_client("10.2.9.9", UDP(sport=1234, dport=4789), m2))
    yield
    s.expect_forwarded(p1, m1, "vnet", APPL_MAC, "cluster -> 10.2.3.4")
    s.expect_forwarded(p2, m2, "vnet", APPL_MAC, "vnet -> 10.2.9.9 (hairpin)")


@scenario("route-internet")
def route_internet(s):
    """Internet: the system default route and a user Internet route (which
    beats the vnet subnet's VnetLocal for 10.0.1.200/32) use the vnet
    gateway's MAC."""
    m1, m2 = s.marker("default"), s.marker("user-internet")
    p1 = s.cluster.send(from_server("203.0.113.5", TCP(sport=33000, dport=443, flags="S"), m1))
    p2 = s.cluster.send(from_server("10.0.1.200", UDP(sport=33001, dport=53), m2))
    yield
    s.expect_forwarded(p1, m1, "vnet", GW_MAC, "to 203.0.113.5 via 0/0")
    s.expect_forwarded(p2, m2, "vnet", GW_MAC, "to 10.0.1.200 via user Internet route")
    s.check(not arp_requests_for(s.vnet, "10.0.1.200"), "no ARP for 10.0.1.200")


@scenario("route-longest-prefix")
def route_longest_prefix(s):
    """Longest prefix wins: 10.240.5.0/24 None inside the cluster subnet
    blackholes, 10.240.5.128/25 VnetLocal inside it is on-link again."""
    m1, m2 = s.marker("hole"), s.marker("local")
    s.vnet.send(from_client("10.240.5.10", UDP(sport=1, dport=2), m1))
    s.vnet.send(from_client("10.240.5.200", UDP(sport=1, dport=2), m2))
    yield
    s.expect_not_out(m1, "to 10.240.5.10 (/24 None)")
    s.expect_drop("route_none", 1)
    reqs = arp_requests_for(s.cluster, "10.240.5.200")
    if s.check(reqs, "to 10.240.5.200 (/25 VnetLocal): ARP request on cluster",
               "out: %s" % [p.summary() for p in s.all_out()]):
        check_arp_request(s, "cluster", reqs[0], "10.240.5.200", "request")


@scenario("ttl")
def ttl(s):
    """TTL 1 and 0 are dropped (ttl_expired) and each sender gets an ICMP
    time exceeded from the appliance's vnet address (scenarios/pmtu.py has
    the details); TTL 2 is forwarded with TTL 1."""
    m1, m0, m2 = s.marker("ttl1"), s.marker("ttl0"), s.marker("ttl2")
    # Distinct flows: this is about TTL, not about sessions.
    s.vnet.send(from_client(SERVER_IP, UDP(sport=7001, dport=7), m1, ttl=1))
    s.vnet.send(from_client(SERVER_IP, UDP(sport=7000, dport=7), m0, ttl=0))
    p2 = s.vnet.send(from_client(SERVER_IP, UDP(sport=7002, dport=7), m2, ttl=2))
    yield
    for m, what in ((m1, "TTL 1"), (m0, "TTL 0")):
        s.check(not s.cluster.with_marker(m), "%s: not forwarded" % what)
    s.expect_drop("ttl_expired", 2)
    s.expect_forwarded(p2, m2, "cluster", SERVER_MAC, "TTL 2")
    errs = [p for p in s.vnet.out if is_icmp_error(p)]
    s.eq(len(errs), 2, "a time exceeded for each")
    for e in errs:
        s.eq((e[ICMP].type, e[ICMP].code), (11, 0), "time-exceeded type/code")
        s.eq((e[IP].src, e[IP].dst), (VNET_IP, CLIENT_IP),
             "time-exceeded from our vnet address to the sender")
        s.check(ip_csum_ok(e) and l4_csum_ok(e), "time-exceeded checksums valid")
    others = [p for p in s.vnet.out if not is_icmp_error(p)]
    s.check(not others, "nothing else out on vnet",
            "; ".join(p.summary() for p in others))


@scenario("same-flow-burst")
def same_flow_burst(s):
    """Several packets of one new flow arriving together (one rx burst) are
    all forwarded: UDP datagrams, and a TCP SYN with its retransmissions
    (data before the handshake completes is invalid for conntrack)."""
    sent = []
    for i in range(3):
        m = s.marker("udp%d" % i)
        sent.append((m, s.vnet.send(from_client(SERVER_IP, UDP(sport=7100, dport=53), m,
                                                ip_id=200 + i))))
    for i, flags in enumerate(("S", "S", "S")):
        m = s.marker("tcp%d" % i)
        sent.append((m, s.vnet.send(from_client(SERVER_IP,
                                                TCP(sport=7101, dport=80, flags=flags,
                                                    seq=1000 + i), m, ip_id=300 + i))))
    yield
    for m, p in sent:
        s.expect_forwarded(p, m, "cluster", SERVER_MAC, m.split(":")[2])
    s.expect_drop("ct_full", 0)
