# SPDX-License-Identifier: BSD-3-Clause
"""ARP: answering for our addresses, resolving next hops, learning only
replies we asked for, static neighbors never overridden."""

from vfwpcap import (ARP, CL_IP, CL_MAC, CLIENT_IP, CLIENT_MAC, Dot1Q, Ether, IP, Raw,
                     SERVER_IP, SERVER_MAC, UDP, VNET_IP, VNET_MAC, arp_reply,
                     arp_request, arp_requests_for, check_arp_request, from_client,
                     frozen, scenario)


def _check_arp_reply(s, port, mac, ip, req_mac, req_ip):
    reps = port.find(lambda p: ARP in p and p[ARP].op == 2 and p[ARP].psrc == ip)
    if not s.check(len(reps) == 1, "one ARP reply for %s on %s" % (ip, port.name),
                   "%d seen; out: %s" % (len(reps), [p.summary() for p in port.out])):
        return
    r = reps[0]
    s.eq(r[Ether].src, mac, "reply Ethernet src = port MAC")
    s.eq(r[Ether].dst, req_mac, "reply Ethernet dst = requester MAC")
    a = r[ARP]
    s.eq((a.hwtype, a.ptype, a.hwlen, a.plen), (1, 0x0800, 6, 4),
         "reply is Ethernet/IPv4 ARP")
    s.eq((a.hwsrc, a.psrc), (mac, ip), "reply sender = our MAC/IP")
    s.eq((a.hwdst, a.pdst), (req_mac, req_ip), "reply target = requester")


@scenario("arp-reply-vnet")
def arp_reply_vnet(s):
    """An ARP request for the vnet address is answered on the vnet port."""
    s.vnet.send(arp_request(CLIENT_MAC, CLIENT_IP, VNET_IP))
    yield
    _check_arp_reply(s, s.vnet, VNET_MAC, VNET_IP, CLIENT_MAC, CLIENT_IP)
    s.eq(len(s.cluster.out), 0, "nothing out on cluster")
    s.eq(s.counter("local.arp_requests_answered"), 1,
         "counter local.arp_requests_answered")


@scenario("arp-reply-cluster")
def arp_reply_cluster(s):
    """An ARP request for the cluster address is answered on the cluster port
    (also from a requester that is not a static neighbor)."""
    s.cluster.send(arp_request(SERVER_MAC, SERVER_IP, CL_IP))
    s.cluster.send(arp_request("02:00:00:00:02:33", "10.240.3.3", CL_IP))
    yield
    reps = s.cluster.find(lambda p: ARP in p and p[ARP].op == 2)
    s.eq(len(reps), 2, "two ARP replies on cluster")
    for r in reps:
        req_mac = r[Ether].dst
        req_ip = SERVER_IP if req_mac == SERVER_MAC else "10.240.3.3"
        s.eq(r[Ether].src, CL_MAC, "reply to %s: Ethernet src = port MAC" % req_ip)
        s.eq((r[ARP].hwsrc, r[ARP].psrc), (CL_MAC, CL_IP),
             "reply to %s: sender = our MAC/IP" % req_ip)
        s.eq((r[ARP].hwdst, r[ARP].pdst), (req_mac, req_ip),
             "reply to %s: target = requester" % req_ip)
    s.eq(len(s.vnet.out), 0, "nothing out on vnet")


@scenario("arp-not-ours")
def arp_not_ours(s):
    """ARP requests for other addresses get no answer."""
    s.vnet.send(arp_request(CLIENT_MAC, CLIENT_IP, "10.0.1.99"))
    s.vnet.send(arp_request(CLIENT_MAC, CLIENT_IP, SERVER_IP))
    s.cluster.send(arp_request(SERVER_MAC, SERVER_IP, "10.240.9.9"))
    yield
    reps = [p for p in s.all_out() if ARP in p and p[ARP].op == 2]
    s.check(not reps, "no ARP reply for addresses that are not ours",
            "; ".join(p.summary() for p in reps))


@scenario("arp-request-unresolved")
def arp_request_unresolved(s):
    """Traffic to an unresolved on-link next hop makes the appliance ARP for
    it on the right port; excess packets are dropped as arp_pending."""
    n = 40
    for i in range(n):
        s.vnet.send(from_client("10.240.7.7", UDP(sport=5000, dport=6000),
                                s.marker("c"), ip_id=i + 1))
    yield
    reqs = arp_requests_for(s.cluster, "10.240.7.7")
    if s.check(reqs, "ARP request for 10.240.7.7 out on cluster",
               "cluster out: %s" % [p.summary() for p in s.cluster.out[:5]]):
        check_arp_request(s, "cluster", reqs[0], "10.240.7.7", "request")
        s.check(len(reqs) <= 5, "ARP requests are rate limited (%d for %d packets)"
                % (len(reqs), n))
    s.check(not arp_requests_for(s.vnet, "10.240.7.7"),
            "no ARP request for 10.240.7.7 on vnet")
    fwd = [p for p in s.cluster.out if IP in p]
    s.eq(len(fwd), 0, "nothing forwarded to the unresolved host")
    s.expect_drop("arp_pending", 1, at_least=True)


@scenario("arp-learn-solicited")
def arp_learn_solicited(s):
    """A reply to our own request is learned and the queued packet leaves
    with the learned MAC. (Same port, so input order is kept: trigger,
    filler, reply.)"""
    m = s.marker("queued")
    s.vnet.send(from_client("10.0.1.50", UDP(sport=5000, dport=6000), m))
    # Filler frames (to another host's MAC, dropped) so the reply arrives
    # in a later burst than the trigger.
    for i in range(200):
        s.vnet.send(Ether(src=CLIENT_MAC, dst="02:00:00:00:0f:0f") /
                    IP(src=CLIENT_IP, dst=SERVER_IP, id=i) / UDP())
    s.vnet.send(arp_reply("02:00:00:00:01:32", "10.0.1.50", VNET_MAC, VNET_IP))
    m2 = s.marker("after")
    s.vnet.send(from_client("10.0.1.50", UDP(sport=5000, dport=6000), m2))
    yield
    reqs = arp_requests_for(s.vnet, "10.0.1.50")
    if s.check(reqs, "ARP request for 10.0.1.50 out on vnet"):
        check_arp_request(s, "vnet", reqs[0], "10.0.1.50", "request")
    for mk, what in ((m, "queued packet"), (m2, "packet after the reply")):
        got = s.vnet.with_marker(mk)
        if s.check(len(got) == 1, "%s forwarded once on vnet" % what,
                   "%d seen" % len(got)):
            s.eq(got[0][Ether].dst, "02:00:00:00:01:32",
                 "%s: dst MAC = learned MAC" % what)
    s.eq(s.counter("local.arp_replies_learned"), 1,
         "counter local.arp_replies_learned")


# One worker: with two, the trigger may cross to its owner and reach the
# slow path after the reply, which is then unsolicited (arp_ignored).
@scenario("arp-vlan-next-hop", workers=1)
def arp_vlan_next_hop(s):
    """A tagged packet (VID 100) to an unresolved next hop: the neighbor
    table knows no VLANs, so the ARP request goes out untagged and an
    untagged reply resolves the next hop; the queued packet then leaves
    with its own tag, VID 100 (docs/architecture.md, VLAN)."""
    m = s.marker("tagged")
    s.vnet.send(frozen(Ether(src=CLIENT_MAC, dst=VNET_MAC, type=0x8100) /
                       Dot1Q(vlan=100) / IP(src=CLIENT_IP, dst="10.0.1.51") /
                       UDP(sport=5000, dport=6000) / Raw(m)))
    for i in range(200):  # the reply must come in a later burst
        s.vnet.send(Ether(src=CLIENT_MAC, dst="02:00:00:00:0f:0f") /
                    IP(src=CLIENT_IP, dst=SERVER_IP, id=i) / UDP())
    s.vnet.send(arp_reply("02:00:00:00:01:33", "10.0.1.51", VNET_MAC, VNET_IP))
    yield
    reqs = arp_requests_for(s.vnet, "10.0.1.51")
    if s.check(len(reqs) >= 1, "ARP request for 10.0.1.51 out on vnet"):
        check_arp_request(s, "vnet", reqs[0], "10.0.1.51", "request")
        s.check(Dot1Q not in reqs[0], "the ARP request is untagged")
    got = s.vnet.with_marker(m)
    if s.check(len(got) == 1, "the queued packet forwarded once", "%d seen" % len(got)):
        s.eq(got[0][Ether].dst, "02:00:00:00:01:33", "dst MAC = learned MAC")
        s.eq(got[0][Dot1Q].vlan if Dot1Q in got[0] else None, 100,
             "the packet keeps its tag, VID 100")


@scenario("arp-unsolicited-ignored")
def arp_unsolicited_ignored(s):
    """Unsolicited replies are not learned and never replace a static
    neighbor."""
    # Claims for a static neighbor and for an unknown host, before traffic.
    s.cluster.send(arp_reply("02:00:00:00:66:66", SERVER_IP, CL_MAC, CL_IP))
    s.vnet.send(arp_reply("02:00:00:00:66:60", "10.0.1.60", VNET_MAC, VNET_IP))
    m1 = s.marker("static")
    s.vnet.send(from_client(SERVER_IP, UDP(sport=5000, dport=6000), m1))
    m2 = s.marker("unknown")
    s.vnet.send(from_client("10.0.1.60", UDP(sport=5000, dport=6000), m2))
    yield
    got = s.cluster.with_marker(m1)
    if s.check(len(got) == 1, "packet to the static neighbor forwarded"):
        s.eq(got[0][Ether].dst, SERVER_MAC, "static neighbor MAC kept")
    s.check(not s.vnet.with_marker(m2),
            "packet to 10.0.1.60 not sent with the unsolicited MAC",
            "; ".join(p.summary() for p in s.vnet.with_marker(m2)))
    s.check(arp_requests_for(s.vnet, "10.0.1.60"),
            "10.0.1.60 still unresolved: ARP request sent")
    s.eq(s.counter("local.arp_replies_learned"), 0,
         "counter local.arp_replies_learned")
