#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Run the netns scenarios (scenarios/*.sh), each in its own namespaces.
# Usage: tests/e2e/netns/run.sh [-k SUBSTR]... [--skip NAME]... [--list]
# The binary comes from $VNETFW_BUILD (default build/). Closes with
# "netns: N passed, M failed, K skipped"; exits 1 when a scenario failed.
# A scenario exits 0 (pass), 77 (skip: feature not in this binary) or else.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../../scripts/lib/common.sh
. "$HERE/../../../scripts/lib/common.sh"

select=()
skip=()
list=0
label=netns
while (($#)); do
	case $1 in
	-k) select+=("$2"); shift ;;
	--skip) skip+=("$2"); shift ;;
	--list) list=1 ;;
	--label) label=$2; shift ;;
	-h | --help) sed -n '4,7s/^# //p' "$0"; exit 0 ;;
	*) vfw_die "unknown option: $1" ;;
	esac
	shift
done

scenarios=()
for f in "$HERE"/scenarios/*.sh; do
	[[ $f == *.inc.sh ]] && continue
	name=$(basename "$f" .sh)
	for k in "${skip[@]}"; do [[ $name == "$k" ]] && continue 2; done
	if ((${#select[@]})); then
		keep=0
		for k in "${select[@]}"; do [[ $name == *"$k"* ]] && keep=1; done
		((keep)) || continue
	fi
	scenarios+=("$f")
done

if ((list)); then
	for f in "${scenarios[@]}"; do
		n=$(basename "$f" .sh); printf "%-12s %s\n" "$n" "$(sed -n "s/^# $n: //p" "$f" | head -n 1)"
	done
	exit 0
fi

vfw_need_root
if [[ ! -x $(vfw_bin) ]]; then
	vfw_fail "netns: no vnetfw binary at $(vfw_bin) (build first)"
	echo "$label: 0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
skipped=0
# Forward INT/TERM to the running scenario so that its trap cleans up.
current=''
stop() {
	if [[ -n $current ]]; then
		kill -TERM "$current" 2>/dev/null || true
		wait "$current" 2>/dev/null || true
	fi
	echo "$label: interrupted"
	exit 130
}
trap stop INT TERM
for f in "${scenarios[@]}"; do
	name=$(basename "$f" .sh)
	vfw_info "netns/$name"
	# A scenario that hangs must not stall the suite: 5 minutes at most.
	rc=0
	t0=$SECONDS
	timeout -k 10 300 bash "$f" &
	current=$!
	wait "$current" || rc=$?
	current=''
	vfw_info "netns/$name: $((SECONDS - t0)) s"
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*)
		failed=$((failed + 1))
		((rc != 124)) || echo "netns/$name timed out"
		echo "FAIL netns/$name"
		;;
	esac
done
echo "$label: $passed passed, $failed failed, $skipped skipped"
((failed == 0 && passed > 0))
