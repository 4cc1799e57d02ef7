#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317 # helpers run indirectly, through nt_check
#
# reload: SIGHUP makes vnetfw read its config file again and apply it
# atomically, as `vnetfwctl apply` would (what `systemctl reload` sends).
# A rule added to the file denies new pings once reloaded; a file with a
# syntax error is refused (generation unchanged, the earlier policy stays,
# the error logged); traffic flows throughout and vnetfw exits cleanly.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=common-traffic.inc.sh
. "$HERE/common-traffic.inc.sh"

nt_begin reload
nt_traffic_setup
nt_start_fw configs/basic.yaml 1
CFG=$NT_DIR/config.yaml

gen() { vfw_stat generation; }
has_rule() { # NAME
	local r
	r=$(vfw_ctl_json "$VFW_FW_SOCK" '{"cmd":"show","what":"rules"}') || return 1
	[[ $r == *"\"name\":\"$1\""* ]]
}
reload() { # wait until the generation moves past $1 (or 10 s)
	local before=$1 i
	kill -HUP "$VFW_FW_PID"
	for ((i = 0; i < 100; i++)); do
		[[ $(gen) != "$before" ]] && return 0
		sleep 0.1
	done
	return 1
}

nt_check "ping client -> server before" vfw_ping "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
g0=$(gen)
cat >>"$CFG" <<'EOF2'
security_rules:
  - {name: no-icmp-in, priority: 100, direction: inbound, access: deny,
     protocol: icmp, source: [any], destination: [any]}
EOF2
nt_check "SIGHUP: a new generation is in force" reload "$g0"
g1=$(gen)
nt_check "the rule added to the file is in force" has_rule no-icmp-in
nt_check "new pings client -> server are denied" vfw_ping_fails "$VFW_NS_VNET" "$VFW_TOPO_SERVER"
nt_check "TCP client -> server still works" nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"

echo "broken: [" >>"$CFG"
kill -HUP "$VFW_FW_PID"
nt_check "a broken file: the failure is logged" \
	vfw_wait_for 10 grep -q "reload failed, configuration unchanged" "$NT_FW_LOG"
nt_check "a broken file: the generation stays $g1" test "$(gen)" = "$g1"
nt_check "a broken file: the earlier policy stays" has_rule no-icmp-in
nt_check "TCP client -> server after the failed reload" \
	nt_http_ok "$VFW_NS_VNET" "http://$VFW_TOPO_SERVER/"
nt_end
