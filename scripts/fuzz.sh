#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, and
# coverage instrumentation of every library, not only the harness) and run
# each one for a bounded time, seeded with its checked-in corpus.
#
# New interesting inputs go to a temporary corpus (or --corpus-dir), never
# into the repository. A crash, leak, timeout or out-of-memory input is
# copied to tests/fuzz/corpus/<target>/crash-<sha1>, where the plain-C
# replay test (meson test, suite fuzz) runs it forever after, and the
# script exits 1.
#
# Usage: scripts/fuzz.sh [--seconds N | --quick] [--target NAME]...
#                        [--corpus-dir DIR] [--no-build] [--no-install]
#   --seconds N       time per target (default 60)
#   --quick           10 s per target (what scripts/test.sh runs)
#   --target NAME     parse, config, pipeline or ctl (repeatable; default all)
#   --corpus-dir DIR  keep the grown corpora in DIR/<target> (default: a
#                     temporary directory, removed at the end)
#   --no-build        use the existing build (VNETFW_FUZZ_BUILD) as is
#   --no-install      do not apt-get install clang when it is missing
# Environment: VNETFW_FUZZ_BUILD (default build-fuzz), FUZZ_ARGS (extra
# libFuzzer flags, e.g. "-jobs=2 -workers=2").
# Closes with "fuzz: N passed, M failed". Exit 0 when nothing was found,
# 1 when a target found something or failed, 77 when clang or its libFuzzer
# runtime is not available (nothing ran).
set -euo pipefail

# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ALL_TARGETS=(parse config pipeline ctl)
seconds=60
targets=()
corpus_dir=''
do_build=1
do_install=1
while (($#)); do
	case $1 in
	--seconds)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || vfw_die "--seconds takes a positive number"
		seconds=$2
		shift
		;;
	--quick) seconds=10 ;;
	--target)
		[[ " ${ALL_TARGETS[*]} " == *" ${2:-} "* ]] ||
			vfw_die "--target takes one of: ${ALL_TARGETS[*]}"
		targets+=("$2")
		shift
		;;
	--corpus-dir)
		[[ -n ${2:-} ]] || vfw_die "--corpus-dir takes a directory"
		corpus_dir=$2
		shift
		;;
	--no-build) do_build=0 ;;
	--no-install) do_install=0 ;;
	-h | --help)
		sed -n '4,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'
		exit 0
		;;
	*) vfw_die "unknown option: $1 (try --help)" ;;
	esac
	shift
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

BUILD=${VNETFW_FUZZ_BUILD:-$VFW_ROOT/build-fuzz}
[[ $BUILD == /* ]] || BUILD=$VFW_ROOT/$BUILD
LSAN_SUPP=$VFW_ROOT/tests/e2e/sanitizers/lsan.supp

# True when clang can link a libFuzzer binary (clang plus compiler-rt's
# libclang_rt.fuzzer, which Debian ships in libclang-rt-14-dev).
clang_fuzzer_ok() {
	local d rc=0
	command -v clang >/dev/null 2>&1 || return 1
	d=$(mktemp -d /tmp/vnetfw-fuzzprobe.XXXXXX)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$d/t.c"
	clang -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" >/dev/null 2>&1 || rc=1
	rm -rf "$d"
	return "$rc"
}

ensure_clang() {
	clang_fuzzer_ok && return 0
	if ((do_install)) && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		vfw_info "fuzz: installing clang and its libFuzzer runtime (Debian packages)"
		export DEBIAN_FRONTEND=noninteractive
		if apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev \
			>/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 &&
			apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev \
				>/dev/null 2>&1; }; then
			clang_fuzzer_ok && return 0
		fi
	fi
	return 1
}

# The libraries get -fsanitize=fuzzer-no-link so that libFuzzer sees their
# coverage (tests/fuzz/meson.build adds -fsanitize=fuzzer to the harnesses
# only). UBSan must abort, or libFuzzer would not notice its reports.
FUZZ_C_ARGS='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g'

# An existing build dir set up by hand (the fuzz option without the
# coverage flags, or gcc) would fuzz almost blind: set the options again.
build_configured_ok() {
	"$VFW_PYTHON" - "$BUILD" <<'PY'
import json, os, sys
info = os.path.join(sys.argv[1], "meson-info")
try:
    with open(os.path.join(info, "intro-buildoptions.json")) as f:
        o = {x["name"]: x["value"] for x in json.load(f)}
    with open(os.path.join(info, "intro-targets.json")) as f:
        targets = json.load(f)
except (OSError, ValueError, KeyError):
    sys.exit(1)
compilers = {os.path.basename(s["compiler"][0]) for t in targets
             for s in t.get("target_sources", []) if s.get("compiler")}
ok = (o.get("fuzz") is True
      and "-fsanitize=fuzzer-no-link" in (o.get("c_args") or [])
      and "address" in str(o.get("b_sanitize"))
      and compilers and all(c.startswith("clang") for c in compilers))
sys.exit(0 if ok else 1)
PY
}

build() {
	if [[ -f $BUILD/build.ninja ]] && ! build_configured_ok; then
		[[ -d $BUILD/meson-private ]] || { vfw_err "$BUILD is not a meson build dir"; return 1; }
		vfw_warn "fuzz: $BUILD is not a clang -Dfuzz=true build with coverage; setting it up again"
		rm -rf "$BUILD"
	fi
	CC=clang vfw_meson_build "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false "-Dc_args=$FUZZ_C_ARGS"
}

if ! ensure_clang; then
	vfw_skip "fuzz: clang with libFuzzer (clang, libclang-rt-14-dev) is not available"
	echo "fuzz: 0 passed, 0 failed (skipped)"
	exit 77
fi
if ((do_build)); then
	if ! build; then
		vfw_fail "fuzz: build of $BUILD failed"
		echo "fuzz: 0 passed, 1 failed"
		exit 1
	fi
fi

WORK=$(mktemp -d /tmp/vnetfw-fuzz.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# run_target NAME: fuzz one target; 0 when nothing was found.
run_target() {
	local name=$1 bin=$BUILD/tests/fuzz/fuzz_$1 seeds=$VFW_ROOT/tests/fuzz/corpus/$1
	local corpus art log rc=0 f sha dest found=0 stats
	if [[ ! -x $bin ]]; then
		vfw_fail "fuzz/$name: no $bin (configured with -Dfuzz=true under clang?)"
		return 1
	fi
	if [[ -n $corpus_dir ]]; then
		corpus=$corpus_dir/$name
	else
		corpus=$WORK/corpus-$name
	fi
	art=$WORK/artifacts-$name/
	log=$WORK/$name.log
	mkdir -p "$corpus" "$art"
	vfw_info "fuzz/$name: ${seconds}s, seeds $seeds, new inputs in $corpus"
	# -timeout: one input taking this long is a bug (the data plane must
	# never stall); -rss_limit_mb leaves room for DPDK's --no-huge memory.
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:print_summary=1 \
		LSAN_OPTIONS="suppressions=$LSAN_SUPP:print_suppressions=0" \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1 \
		timeout -k 10 $((seconds + 120)) \
		"$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 \
		-print_final_stats=1 -artifact_prefix="$art" ${FUZZ_ARGS:-} \
		"$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	for f in "$art"*; do
		[[ -f $f ]] || continue
		found=1
		sha=$(sha1sum "$f" | cut -c1-40)
		dest=$VFW_ROOT/tests/fuzz/corpus/$name/crash-$sha
		cp "$f" "$dest"
		vfw_err "fuzz/$name: $(basename "$f" | cut -d- -f1) input kept as ${dest#"$VFW_ROOT"/}"
	done
	stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 |
		sed -n 's/^#\([0-9]*\).*cov: \([0-9]*\).*corp: \([0-9]*\).*/\1 runs, cov \2, corpus \3/p')
	if ((found)) || ((rc != 0)); then
		grep -E 'ERROR: |runtime error:|SUMMARY: |==[0-9]+==|^    #[0-9]+ ' "$log" | head -n 40 >&2 || true
		((rc != 124)) || vfw_err "fuzz/$name: the fuzzer did not stop in time"
		cp "$log" "/tmp/vnetfw-fuzz-$name.log"
		vfw_fail "fuzz/$name (exit $rc; log /tmp/vnetfw-fuzz-$name.log)"
		return 1
	fi
	vfw_pass "fuzz/$name (${seconds}s, ${stats:-no stats}, $(find "$corpus" -type f | wc -l) new inputs)"
	return 0
}

passed=0
failed=0
for t in "${targets[@]}"; do
	if run_target "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
if ((failed)); then
	echo "reproduce: $BUILD/tests/fuzz/fuzz_<target> tests/fuzz/corpus/<target>/crash-<sha1>"
	echo "replay test: meson test -C build --suite fuzz"
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
