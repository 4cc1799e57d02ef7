# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Harness for netns scenarios. A scenario script:
#
#   . "$(dirname "$0")/../lib.sh"
#   nt_begin NAME                     # topology with a unique id, cleanup trap
#   nt_start_fw configs/basic.yaml 1  # vnetfw on af_packet in the fw namespace
#   nt_check "what" CMD...            # PASS/FAIL line per check
#   nt_end                            # stop vnetfw (must exit 0), verdict, exit
#
# Configs are relative to tests/e2e/netns/ (or absolute, e.g. the repo's
# config/demo.yaml); their control.socket is replaced by a per-run path.
# Set NT_KEEP=1 to keep the work directory.

NT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../scripts/lib/common.sh
. "$NT_HERE/../../../scripts/lib/common.sh"
# shellcheck source=../../../scripts/lib/proc.sh
. "$VFW_ROOT/scripts/lib/proc.sh"
# shellcheck source=../../../scripts/lib/hugepages.sh
. "$VFW_ROOT/scripts/lib/hugepages.sh"
# shellcheck source=../../../scripts/lib/netns.sh
. "$VFW_ROOT/scripts/lib/netns.sh"
# shellcheck source=../../../scripts/lib/traffic.sh
. "$VFW_ROOT/scripts/lib/traffic.sh"

NT_NAME=''
NT_DIR=''
NT_FW_LOG=''
NT_DONE=0

nt_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	vfw_fw_stop >/dev/null 2>&1 || true
	vfw_stop_all
	vfw_topo_destroy
	# what the DPDK processes of this topology left: the appliance's
	# (with the -small/-jumbo variants some scenarios start) and the
	# testpmd peers'
	if [[ -n $VFW_TOPO_ID ]]; then
		vfw_dpdk_release "vfw-$VFW_TOPO_ID" "vfw-$VFW_TOPO_ID-small" \
			"vfw-$VFW_TOPO_ID-jumbo" "gen-$VFW_TOPO_ID" "sink-$VFW_TOPO_ID"
	fi
	if ((NT_DONE == 0)); then
		vfw_fail "netns/$NT_NAME: aborted (exit status $rc); logs in $NT_DIR"
		rc=1
	elif ((VFW_FAILED == 0 || rc == 77)) && [[ -z ${NT_KEEP:-} ]]; then
		rm -rf "$NT_DIR"
	fi
	exit "$rc"
}

nt_begin() {
	NT_NAME=$1
	vfw_need_root
	NT_DIR=$(mktemp -d "/tmp/vnetfw-netns-$NT_NAME.XXXXXX")
	NT_FW_LOG=$NT_DIR/vnetfw.log
	trap nt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	vfw_topo_create "$(vfw_run_id)"
	vfw_info "netns/$NT_NAME: namespaces $VFW_NS_VNET $VFW_NS_FW $VFW_NS_CL, work dir $NT_DIR"
}

# nt_start_fw CONFIG WORKERS [app args...]
nt_start_fw() {
	local src=$1 workers=$2
	shift 2
	[[ $src == /* ]] || src=$NT_HERE/$src
	sed -e "s|@SOCKET@|$NT_DIR/ctl.sock|g" \
		-e "s|\(socket:[[:space:]]*\)\"\{0,1\}/[^\",}[:space:]]*\"\{0,1\}|\1\"$NT_DIR/ctl.sock\"|" \
		"$src" >"$NT_DIR/config.yaml"
	vfw_fw_start "$NT_DIR/config.yaml" "$workers" "$NT_FW_LOG" "$@"
}

nt_check() {
	local what=$1
	shift
	if "$@"; then
		vfw_pass "  $what"
	else
		vfw_fail "  $what"
	fi
	return 0
}

# nt_expect_increase WHAT STAT_PATH BEFORE: the counter moved past BEFORE.
nt_expect_increase() {
	local what=$1 path=$2 before=$3 now
	now=$(vfw_stat "$path" || echo "?")
	if [[ $now =~ ^[0-9]+$ ]] && ((now > before)); then
		vfw_pass "  $what ($path $before -> $now)"
	else
		vfw_fail "  $what ($path $before -> $now)"
	fi
}

# nt_expect_at_least WHAT STAT_PATH N
nt_expect_at_least() {
	local what=$1 path=$2 n=$3 now
	now=$(vfw_stat "$path" || echo "?")
	if [[ $now =~ ^[0-9]+$ ]] && ((now >= n)); then
		vfw_pass "  $what ($path = $now)"
	else
		vfw_fail "  $what ($path = $now, want >= $n)"
	fi
}

# Does the running binary support a control "show" topic (feature probe)?
nt_has_show() { vfw_ctl_has "$VFW_FW_SOCK" "$1"; }
nt_rule_hits() { vfw_rule_hits "$VFW_FW_SOCK" "$1"; }

# nt_skip WHY: the scenario does not apply to this binary (exit 77).
nt_skip() {
	vfw_skip "netns/$NT_NAME: $*"
	vfw_fw_stop >/dev/null 2>&1 || true
	NT_DONE=1
	exit 77
}

nt_end() {
	if vfw_fw_stop; then
		vfw_pass "  vnetfw exits 0 on SIGTERM"
	else
		vfw_fail "  vnetfw exits 0 on SIGTERM (status $VFW_STOP_RC)"
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$NT_FW_LOG" 2>/dev/null; then
		vfw_fail "  no sanitizer report in the vnetfw log"
	fi
	NT_DONE=1
	if ((VFW_FAILED == 0)); then
		vfw_pass "netns/$NT_NAME ($VFW_PASSED checks)"
		exit 0
	fi
	vfw_err "vnetfw log: $NT_FW_LOG; last lines:"
	tail -n 30 "$NT_FW_LOG" >&2 || true
	vfw_fail "netns/$NT_NAME ($VFW_FAILED of $((VFW_PASSED + VFW_FAILED)) checks failed)"
	exit 1
}
