# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Common helpers for vnetfw scripts: messages, result bookkeeping, paths.
# Source it; it sets nothing but variables prefixed VFW_ and functions vfw_*.

# Repository root (the directory holding meson.build and scripts/).
VFW_ROOT=${VFW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# The sourcing script's arguments (bash passes them on to a sourced file),
# kept for vfw_need_root to run the script again through sudo.
VFW_ARGV=("$@")

# ip, ethtool and sysctl live in sbin, which a non-login root PATH may lack.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac

# Debian's interpreter: python3-scapy lives in its dist-packages, and a
# python3 found earlier on PATH (pyenv, venv) would not see it.
VFW_PYTHON=${VFW_PYTHON:-/usr/bin/python3}

# Build directory holding app/vnetfw/vnetfw; VNETFW_BUILD overrides.
vfw_build_dir() {
	local b=${VNETFW_BUILD:-$VFW_ROOT/build}
	case $b in
	/*) printf '%s\n' "$b" ;;
	*) printf '%s\n' "$VFW_ROOT/$b" ;;
	esac
}

vfw_bin() { printf '%s\n' "$(vfw_build_dir)/app/vnetfw/vnetfw"; }
vfw_ctl_bin() { printf '%s\n' "$(vfw_build_dir)/app/vnetfwctl/vnetfwctl"; }

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	VFW_C_RED=$'\e[31m' VFW_C_GREEN=$'\e[32m' VFW_C_YELLOW=$'\e[33m'
	VFW_C_BOLD=$'\e[1m' VFW_C_OFF=$'\e[0m'
else
	VFW_C_RED='' VFW_C_GREEN='' VFW_C_YELLOW='' VFW_C_BOLD='' VFW_C_OFF=''
fi

vfw_info() { printf '%s==>%s %s\n' "$VFW_C_BOLD" "$VFW_C_OFF" "$*"; }
vfw_warn() { printf '%sWARN:%s %s\n' "$VFW_C_YELLOW" "$VFW_C_OFF" "$*" >&2; }
vfw_err() { printf '%sERROR:%s %s\n' "$VFW_C_RED" "$VFW_C_OFF" "$*" >&2; }
vfw_die() {
	vfw_err "$*"
	exit 1
}

# vfw_need_root "$@": the entry scripts need root (namespaces, hugepages,
# packages). Not root: run again through sudo when it is installed, else
# say how.
vfw_need_root() {
	[[ $(id -u) -eq 0 ]] && return 0
	if command -v sudo >/dev/null 2>&1; then
		vfw_info "$(basename "$0") needs root: running it again with sudo"
		exec sudo -E "$0" "$@"
	fi
	vfw_die "$(basename "$0") must run as root (namespaces, hugepages, packages): run it from a root shell"
}

# Result bookkeeping: PASS/FAIL/SKIP lines with counters.
VFW_PASSED=0
VFW_FAILED=0
VFW_SKIPPED=0
VFW_FAILED_NAMES=()

vfw_pass() {
	VFW_PASSED=$((VFW_PASSED + 1))
	printf '%sPASS%s %s\n' "$VFW_C_GREEN" "$VFW_C_OFF" "$*"
}
vfw_fail() {
	VFW_FAILED=$((VFW_FAILED + 1))
	VFW_FAILED_NAMES+=("$1")
	printf '%sFAIL%s %s\n' "$VFW_C_RED" "$VFW_C_OFF" "$*"
}
vfw_skip() {
	VFW_SKIPPED=$((VFW_SKIPPED + 1))
	printf '%sSKIP%s %s\n' "$VFW_C_YELLOW" "$VFW_C_OFF" "$*"
}

# vfw_check NAME CMD...: run CMD, PASS if it exits 0, FAIL otherwise.
vfw_check() {
	local name=$1
	shift
	if "$@"; then
		vfw_pass "$name"
	else
		vfw_fail "$name"
		return 1
	fi
}

# Wait until a command succeeds: vfw_wait_for TIMEOUT_S CMD...
vfw_wait_for() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	while ! "$@" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# A short id, unique among concurrent runs on this machine.
vfw_run_id() {
	printf '%x%x\n' "$$" "$((RANDOM % 256))"
}

# vfw_meson_build DIR [meson setup options...]: configure DIR when missing,
# reconfigure when a meson.build appeared or changed since (the tree builds
# what exists, checked with fs.is_file at configure time, which ninja alone
# would not notice), then build.
vfw_meson_build() {
	local b=$1
	shift
	if [[ ! -f $b/build.ninja ]]; then
		vfw_info "meson setup $b $*"
		meson setup "$b" "$VFW_ROOT" "$@" || return 1
	elif [[ -n $(find "$VFW_ROOT" -path "$b" -prune -o -name meson.build \
		-newer "$b/build.ninja" -print -quit) ]]; then
		vfw_info "meson setup --reconfigure $b (meson.build files changed)"
		meson setup --reconfigure "$b" "$VFW_ROOT" || return 1
	fi
	vfw_info "ninja -C $b"
	ninja -C "$b"
}
