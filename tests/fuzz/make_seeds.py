#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpora of the fuzz targets (run once; the output is
checked in). Frames are built with scapy."""
import os
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, IPv6ExtHdrFragment, raw  # noqa

HERE = os.path.dirname(os.path.abspath(__file__))
FW0 = "02:00:00:00:aa:01"
FW1 = "02:00:00:00:aa:02"
PEER = "02:00:00:00:bb:01"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames():
    e0 = Ether(dst=FW0, src=PEER)
    e1 = Ether(dst=FW1, src=PEER)
    yield "tcp_syn_in", 0, e0 / IP(src="198.51.100.7", dst="10.240.1.10") / TCP(sport=40000, dport=443, flags="S")
    yield "tcp_dnat", 0, e0 / IP(src="198.51.100.7", dst="10.0.1.4") / TCP(sport=40001, dport=8080, flags="S")
    yield "udp_dns", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10") / UDP(sport=5000, dport=53) / b"q"
    yield "udp_snat", 1, e1 / IP(src="10.240.1.10", dst="198.51.100.7") / UDP(sport=5353, dport=53) / b"q"
    yield "ping_fw", 0, e0 / IP(src="10.0.1.10", dst="10.0.1.4") / ICMP(id=7, seq=1)
    yield "ping_through", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10") / ICMP(id=8, seq=1)
    yield "arp_req", 0, Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER) / ARP(op=1, hwsrc=PEER, psrc="10.0.1.10", pdst="10.0.1.4")
    yield "arp_reply", 0, e0 / ARP(op=2, hwsrc=PEER, psrc="10.0.1.1", pdst="10.0.1.4", hwdst=FW0)
    yield "vlan", 0, Ether(dst=FW0, src=PEER) / Dot1Q(vlan=5) / IP(src="10.0.1.10", dst="10.240.1.10") / UDP(sport=1, dport=53)
    yield "frag_first", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", flags="MF", id=77) / UDP(sport=9, dport=53) / (b"x" * 64)
    yield "frag_later", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", frag=9, id=77, proto=17) / (b"y" * 32)
    yield "icmp_err", 0, e0 / IP(src="10.0.1.1", dst="10.0.1.4") / ICMP(type=3, code=3) / IP(src="10.0.1.4", dst="198.51.100.7") / UDP(sport=1024, dport=53)
    yield "ttl1", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", ttl=1) / UDP(sport=1, dport=53)
    yield "blackhole", 0, e0 / IP(src="10.0.1.10", dst="10.66.0.1") / UDP(sport=1, dport=53)
    yield "ipv6", 0, e0 / IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment() / UDP(sport=1, dport=2)
    yield "ip_opts", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", options=b"\x01\x01\x01\x00") / UDP(sport=1, dport=53)
    yield "ip_lsrr", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", options=b"\x01\x83\x07\x04\x0a\x42\x00\x01") / UDP(sport=1, dport=53)
    yield "ip_bad_opts", 0, e0 / IP(src="10.0.1.10", dst="10.240.1.10", options=b"\x44\x0c\x05\x00\x07\x09\x04\x00") / UDP(sport=1, dport=53)


def bursts():
    """Seeds of the pipeline target's burst mode (first byte 0x80, then
    [port][length, 2 bytes][frame] records, one rx burst): what depends on
    other packets of the same burst."""
    e0 = Ether(dst=FW0, src=PEER)
    e1 = Ether(dst=FW1, src="02:00:00:00:bb:02")
    cl, srv, inet = "10.0.1.10", "10.240.1.10", "198.51.100.7"
    udp = raw(UDP(sport=9, dport=53, len=8 + 40) / (b"z" * 40))
    yield "burst_frags", [
        (0, e0 / IP(src=cl, dst=srv, flags="MF", id=88, frag=0, proto=17) / udp[:24]),
        (0, e0 / IP(src=cl, dst=srv, flags="MF", id=88, frag=3, proto=17) / udp[24:40]),
        (0, e0 / IP(src=cl, dst=srv, id=88, frag=5, proto=17) / udp[40:])]
    yield "burst_tcp_flow", [
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=41000, dport=80, flags="S", seq=1)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=41000, dport=80, flags="S", seq=1)),
        (1, e1 / IP(src=srv, dst=inet) / TCP(sport=80, dport=41000, flags="SA", seq=9, ack=2)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=41000, dport=80, flags="A", seq=2, ack=10)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=41000, dport=80, flags="PA", seq=2, ack=10) / b"GET /"),
        (1, e1 / IP(src=srv, dst=inet) / TCP(sport=80, dport=41000, flags="FA", seq=10, ack=7)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=41000, dport=80, flags="R", seq=7))]
    yield "burst_snat_icmp", [
        (1, e1 / IP(src=srv, dst=inet) / UDP(sport=5353, dport=53) / b"q"),
        (0, e0 / IP(src=inet, dst="10.0.1.4") / UDP(sport=53, dport=5353) / b"a"),
        (0, e0 / IP(src="10.0.1.1", dst="10.0.1.4") / ICMP(type=3, code=3) /
         IP(src="10.0.1.4", dst=inet) / UDP(sport=5353, dport=53))]
    yield "burst_dnat_hairpin", [
        (0, e0 / IP(src=cl, dst="10.0.1.4") / TCP(sport=42000, dport=8080, flags="S")),
        (1, e1 / IP(src="10.240.2.2", dst="10.0.1.4") / TCP(sport=42001, dport=8080, flags="S")),
        (1, e1 / IP(src=srv, dst=cl) / TCP(sport=80, dport=42000, flags="SA"))]
    # port reuse: through DNAT, reset in the same burst, then straight to
    # the server (the closed session's reply key); the server's challenge
    # ACK, the client's RST and its retried SYN
    yield "burst_tcp_reuse", [
        (0, e0 / IP(src=inet, dst="10.0.1.4") / TCP(sport=43000, dport=8080, flags="S", seq=1)),
        (0, e0 / IP(src=inet, dst="10.0.1.4") / TCP(sport=43000, dport=8080, flags="R", seq=2)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=43000, dport=80, flags="S", seq=100)),
        (1, e1 / IP(src=srv, dst=inet) / TCP(sport=80, dport=43000, flags="A", seq=7, ack=3)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=43000, dport=80, flags="R", seq=3)),
        (0, e0 / IP(src=inet, dst=srv) / TCP(sport=43000, dport=80, flags="S", seq=200))]
    yield "burst_arp_resolve", [
        (0, e0 / IP(src=cl, dst="10.0.1.50") / UDP(sport=1, dport=53)),
        (0, e0 / ARP(op=2, hwsrc="02:00:00:00:bb:50", psrc="10.0.1.50", pdst="10.0.1.4", hwdst=FW0)),
        (0, e0 / IP(src=cl, dst="10.0.1.50") / UDP(sport=1, dport=53)),
        (0, Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER) / ARP(op=1, hwsrc=PEER, psrc=cl, pdst="10.0.1.4"))]


def burst_bytes(records):
    out = bytes([0x80])
    for port, f in records:
        b = raw(f)
        out += bytes([port]) + len(b).to_bytes(2, "big") + b
    return out


def main():
    for name, recs in bursts():
        write("pipeline", name, burst_bytes(recs))
    for name, port, f in frames():
        b = raw(f)
        write("parse", name, b)
        write("pipeline", name, bytes([port]) + b)
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(root, "config", "demo.yaml"), "rb") as f:
        write("config", "demo.yaml", f.read())
    write("config", "minimal.yaml", b"ports:\n  vnet: {device: a, address: 10.0.0.1/24}\n"
          b"  cluster: {device: b, address: 10.1.0.1/24}\n")
    write("config", "bad.yaml", b"ports: [1, 2\n")
    write("config", "mtu.yaml", b"ports:\n  vnet: {device: a, address: 10.0.0.1/24, mtu: 1400}\n"
          b"  cluster: {device: b, address: 10.1.0.1/24, mtu: 9000}\n")
    reqs = {
        "show": b'{"cmd":"show","what":"rules"}',
        "rule_add": b'{"cmd":"rule.add","rule":{"name":"x","priority":300,"direction":"inbound",'
                    b'"access":"deny","protocol":"udp","source":["any"],"destination":["10.240.0.0/16"],'
                    b'"destination_ports":["53"]}}',
        "rule_del": b'{"cmd":"rule.del","name":"web"}',
        "route_add": b'{"cmd":"route.add","route":{"name":"r","prefix":"10.9.0.0/16","next_hop_type":"None"}}',
        "begin": b'{"cmd":"begin"}',
        "commit": b'{"cmd":"commit"}',
        "validate": b'{"cmd":"validate","config":"ports: {}"}',
        "explain": b'{"cmd":"explain","direction":"inbound","protocol":"tcp","source":"198.51.100.7",'
                   b'"source_port":40000,"destination":"10.0.1.4","destination_port":443}',
        "garbage": b'{"cmd":',
        "nat_add": b'{"cmd":"nat.add","dnat":{"name":"d","protocol":"tcp","destination":"10.0.1.4",'
                   b'"destination_port":81,"translated_address":"10.240.1.1","translated_port":80}}',
    }
    for k, v in reqs.items():
        write("ctl", k, v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
