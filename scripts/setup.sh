#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a Debian 12 machine for vnetfw and build it. Idempotent; run as
# root. Installs only missing packages, reserves hugepages (warns when it
# cannot) and builds into build/ (or $VNETFW_BUILD).
#
# Usage: scripts/setup.sh [--no-build] [--no-hugepages]
set -euo pipefail

# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/hugepages.sh
. "$VFW_ROOT/scripts/lib/hugepages.sh"

PACKAGES=(
	dpdk dpdk-dev libdpdk-dev libnuma-dev libyaml-dev libcmocka-dev
	meson ninja-build pkg-config libpcap-dev python3-scapy
	iproute2 ethtool iputils-ping netcat-openbsd curl tcpdump procps
)

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p' | grep -v '^SPDX'
	exit "${1:-0}"
}

do_build=1
do_huge=1
while (($#)); do
	case $1 in
	--no-build) do_build=0 ;;
	--no-hugepages) do_huge=0 ;;
	-h | --help) usage 0 ;;
	*)
		vfw_err "unknown option: $1"
		usage 2
		;;
	esac
	shift
done

vfw_need_root "${VFW_ARGV[@]}"

install_packages() {
	local missing=() p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ $status == installed ]] || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		vfw_info "packages: all ${#PACKAGES[@]} present"
		return 0
	fi
	vfw_info "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
	vfw_meson_build "$(vfw_build_dir)" -Dwerror=true
}

install_packages
if ((do_huge)); then
	if vfw_hugepages_setup; then
		vfw_info "hugepages: $(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo) x 2 MiB reserved, hugetlbfs mounted"
	else
		vfw_warn "continuing without hugepages: af_packet tests fall back to --no-huge"
	fi
fi
if ((do_build)); then
	build
fi
vfw_info "setup done"
