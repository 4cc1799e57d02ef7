#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# exhaust-mbuf: mbuf pool pressure. Forwarded UDP, packets held for next
# hops that never answer (4 per next hop, 256 next hops at once), an ARP
# request flood into the slow path and a SYN flood beyond the session
# limit, all at once. When the traffic stops and the held packets have
# timed out, the number of mbufs in use is back where it started: nothing
# leaked. The count comes from "show stats" (mbufs.in_use); at rest it is
# checked once against DPDK's dpdk-proc-info, attached as a secondary
# process, so the appliance's own counter is not the only witness.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"
# shellcheck source=hardening.inc.sh
. "$HERE/hardening.inc.sh"

nt_begin exhaust-mbuf
nt_traffic_setup
nt_start_fw configs/exhaust.yaml 1

nt_traffic_checks
has_in_use() { hd_mbufs_in_use >/dev/null; }
nt_check "show stats reports mbufs in use" has_in_use
sleep 1
use0=$(hd_mbufs_in_use)
vfw_info "mbufs in use at rest: $use0"
if pi=$(hd_proc_info_in_use); then
	agree() { [[ $(hd_mbufs_in_use) == "$(hd_proc_info_in_use)" ]]; }
	nt_check "at rest, show stats and dpdk-proc-info agree on mbufs in use ($use0, $pi)" \
		vfw_wait_for 5 agree
else
	vfw_info "dpdk-proc-info did not attach in 5 tries: show stats' count not cross-checked"
fi

udp_flood() { # COUNT datagrams to the UDP echo server (forwarded both ways)
	ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"u" * 200, (sys.argv[1], 5353))
    if i % 64 == 63:
        time.sleep(0.0005)
' "$VFW_TOPO_SERVER" "$1"
}
arp_flood() { # COUNT ARP requests for an address that is not ours
	ip netns exec "$VFW_NS_VNET" "$VFW_PYTHON" -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = open("/sys/class/net/eth0/address").read().strip()
sm = bytes(int(x, 16) for x in mac.split(":"))
for i in range(int(sys.argv[1])):
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sm, socket.inet_aton("10.0.1.10"),
                      b"\0" * 6, socket.inet_aton("10.0.1.%d" % (100 + i % 100)))
    s.send(b"\xff" * 6 + sm + b"\x08\x06" + arp)
    if i % 64 == 63:
        time.sleep(0.0005)
' "$1"
}

vfw_info "pressure: UDP, unresolved next hops, ARP flood, SYN flood"
# one after the other: run at once they mostly overflow the kernel's
# af_packet ring on a two-core machine, which tests nothing of ours
peak=0
sample() {
	local u
	u=$(hd_mbufs_in_use 2>/dev/null || echo 0)
	((u > peak)) && peak=$u
	return 0
}
udp_flood 20000
sample
hd_proto_spray "$VFW_NS_VNET" 10.240 2000 253 30000
sample
arp_flood 5000
sample
hd_syn_flood "$VFW_NS_VNET" "$VFW_TOPO_SERVER" 80 3000
sample
vfw_info "mbufs in use: peak seen $peak"
nt_expect_at_least "packets were held for unresolved next hops (arp_pending)" drops.arp_pending 1
nt_expect_at_least "SYNs beyond the session limit took half-open sessions' places (sessions_early_dropped)" \
	events.sessions_early_dropped 1
nt_expect_at_least "ARP requests ignored" local.arp_ignored 100

# held packets are released (dropped arp_failed) after 3 probes, 1 s apart
back_to_rest() { [[ $(hd_mbufs_in_use) -le $use0 ]]; }
nt_check "after the traffic and ARP timeouts, mbufs in use back to $use0" \
	vfw_wait_for 20 back_to_rest
vfw_info "mbufs in use now: $(hd_mbufs_in_use) (at rest before: $use0, peak $peak)"
nt_check "the mbuf pool was never exhausted (no mbuf_alloc_failed)" \
	test "$(vfw_stat drops.mbuf_alloc_failed)" = 0
# the SYN flood's half-open sessions fill the table for tcp_syn (6 s)
nt_check "the flood's sessions time out" hd_wait_sessions_at_most 16 30
nt_traffic_checks

nt_end
