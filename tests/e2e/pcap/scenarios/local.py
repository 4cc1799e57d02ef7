# SPDX-License-Identifier: BSD-3-Clause
"""Traffic addressed to the appliance itself: ICMP echo is answered,
everything else is dropped (local_unhandled)."""

from vfwpcap import (CL_IP, CL_MAC, CLIENT_MAC, Ether, ICMP, IP, SERVER_MAC, TCP, UDP,
                     VNET_IP, VNET_MAC, from_client, from_server, ip_csum_ok,
                     l4_csum_ok, scenario)


def _check_echo_reply(s, port, sent, marker, our_ip, dst_mac, what):
    reps = [p for p in port.with_marker(marker)
            if ICMP in p and p[ICMP].type == 0]
    if not s.check(len(reps) == 1, "%s: one echo reply on %s" % (what, port.name),
                   "%d seen; out: %s" % (len(reps), [p.summary() for p in port.out])):
        return
    r = reps[0]
    s.eq(r[Ether].src, s_port_mac(port.name), "%s: Ethernet src = port MAC" % what)
    s.eq(r[Ether].dst, dst_mac, "%s: Ethernet dst = requester's MAC" % what)
    s.eq((r[IP].src, r[IP].dst), (our_ip, sent[IP].src),
         "%s: IP src = our address, dst = requester" % what)
    s.check(r[IP].ttl > 1, "%s: reply TTL > 1" % what, "ttl %d" % r[IP].ttl)
    s.check(ip_csum_ok(r), "%s: IPv4 header checksum valid" % what)
    s.eq((r[ICMP].type, r[ICMP].code), (0, 0), "%s: echo reply type/code" % what)
    s.eq((r[ICMP].id, r[ICMP].seq), (sent[ICMP].id, sent[ICMP].seq),
         "%s: id/seq echoed" % what)
    s.eq(bytes(r[ICMP].payload), bytes(sent[ICMP].payload),
         "%s: payload echoed" % what)
    s.check(l4_csum_ok(r), "%s: ICMP checksum valid" % what)


def s_port_mac(name):
    return VNET_MAC if name == "vnet" else CL_MAC


@scenario("icmp-echo-vnet")
def icmp_echo_vnet(s):
    """Echo requests to the vnet address are answered out the vnet port."""
    m = s.marker("echo")
    sent = s.vnet.send(from_client(VNET_IP, ICMP(type=8, id=0x1234, seq=7), m))
    yield
    _check_echo_reply(s, s.vnet, sent, m, VNET_IP, CLIENT_MAC, "echo to 10.0.1.4")
    s.eq(len(s.cluster.out), 0, "nothing out on cluster")
    s.eq(s.counter("local.icmp_echo_answered"), 1, "counter local.icmp_echo_answered")


@scenario("icmp-echo-cluster")
def icmp_echo_cluster(s):
    """Echo requests to the cluster address are answered out the cluster
    port, several in a row."""
    sent = []
    for i in range(3):
        m = s.marker("echo")
        sent.append((m, s.cluster.send(from_server(CL_IP, ICMP(type=8, id=77, seq=i),
                                                   m, ip_id=100 + i))))
    yield
    for m, p in sent:
        _check_echo_reply(s, s.cluster, p, m, CL_IP, SERVER_MAC,
                          "echo seq %d to 10.240.0.4" % p[ICMP].seq)
    s.eq(s.counter("local.icmp_echo_answered"), 3, "counter local.icmp_echo_answered")


@scenario("icmp-echo-other-port-address")
def icmp_echo_other_port_address(s):
    """The cluster address is ours too: pinged from the vnet side, the reply
    is routed back out the vnet port."""
    m = s.marker("echo")
    sent = s.vnet.send(from_client(CL_IP, ICMP(type=8, id=9, seq=1), m))
    yield
    _check_echo_reply(s, s.vnet, sent, m, CL_IP, CLIENT_MAC, "echo to 10.240.0.4 via vnet")


@scenario("local-unhandled")
def local_unhandled(s):
    """TCP/UDP to our addresses and ICMP other than echo are dropped and
    counted local_unhandled (no DNAT or exception port configured)."""
    ms = [s.marker("tcp"), s.marker("udp"), s.marker("ts")]
    s.vnet.send(from_client(VNET_IP, TCP(sport=40000, dport=22, flags="S"), ms[0]))
    s.cluster.send(from_server(CL_IP, UDP(sport=40000, dport=53), ms[1]))
    s.vnet.send(from_client(VNET_IP, ICMP(type=13), ms[2]))
    yield
    for m in ms:
        s.expect_not_out(m, m.rsplit(":", 2)[1])
    s.expect_drop("local_unhandled", 3)
