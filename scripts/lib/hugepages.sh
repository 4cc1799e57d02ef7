# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Hugepage helpers. DPDK's af_packet ports and large mempools want 2 MiB
# hugepages; pcap tests run with --no-huge and do not need any.

VFW_HUGEPAGES=${VFW_HUGEPAGES:-1024}
VFW_HUGE_MNT=${VFW_HUGE_MNT:-/dev/hugepages}

# Reserve VFW_HUGEPAGES 2 MiB pages (never lowers an existing larger
# reservation) and make sure hugetlbfs is mounted. Warns and returns 1
# when impossible (containers, no permission); callers carry on without.
vfw_hugepages_setup() {
	local cur
	cur=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	if ((cur < VFW_HUGEPAGES)); then
		if ! echo "$VFW_HUGEPAGES" >/proc/sys/vm/nr_hugepages 2>/dev/null; then
			vfw_warn "cannot reserve hugepages (/proc/sys/vm/nr_hugepages not writable)"
			return 1
		fi
		cur=$(cat /proc/sys/vm/nr_hugepages)
		if ((cur < VFW_HUGEPAGES)); then
			vfw_warn "only $cur of $VFW_HUGEPAGES hugepages could be reserved"
		fi
	fi
	if ! awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; then
		mkdir -p "$VFW_HUGE_MNT"
		if ! mount -t hugetlbfs -o pagesize=2M nodev "$VFW_HUGE_MNT" 2>/dev/null; then
			vfw_warn "cannot mount hugetlbfs on $VFW_HUGE_MNT"
			return 1
		fi
	fi
	return 0
}

# True when free hugepages exist and hugetlbfs is mounted somewhere.
vfw_hugepages_usable() {
	local free
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo 2>/dev/null)
	[[ -n $free ]] && ((free > 0)) &&
		awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}

# vfw_dpdk_release PREFIX...: remove what DPDK processes with these
# --file-prefix values left behind after they exited.
#  - Hugepage files: the EAL keeps a file for every page still allocated
#    at exit (without --huge-unlink, which would shut out secondary
#    processes such as dpdk-dumpcap), so the last process leaves its first
#    page file. A file some process still holds (its shared lock) is kept:
#    `flock -n -x` only gets the lock when nobody has.
#  - The runtime directory (/var/run/dpdk/PREFIX as root): config,
#    memory maps (6 MB under --no-huge), sockets. The EAL never removes
#    it; test runs that use a prefix per process would pile them up.
#    Call this only once no process of the prefix runs.
vfw_dpdk_release() {
	local prefix mnt f base=/var/run
	((EUID == 0)) || base=${XDG_RUNTIME_DIR:-/tmp}
	for prefix in "$@"; do
		[[ -n $prefix && $prefix != */* ]] || continue
		while read -r mnt; do
			for f in "$mnt/${prefix}map_"*; do
				[[ -e $f ]] || continue
				flock -n -x "$f" rm -f "$f" 2>/dev/null || true
			done
		done < <(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts 2>/dev/null)
		rm -rf "${base:?}/dpdk/$prefix"
	done
	return 0
}

# EAL memory arguments for a process that prefers hugepages (af_packet):
# hugepages when usable, else --no-huge with a warning. VNETFW_NO_HUGE=1
# forces --no-huge.
vfw_eal_mem_args() {
	if [[ ${VNETFW_NO_HUGE:-0} != 1 ]] && vfw_hugepages_usable; then
		# Dynamic memory: EAL takes hugepages as the mempools need them.
		:
	else
		vfw_warn "no usable hugepages; running DPDK with --no-huge"
		printf '%s\n' "--no-huge" "-m" "512"
	fi
}
