#!/usr/bin/env bash
# Builds the libFuzzer targets (make fuzz), replays each target's corpus
# (tests/fuzz/corpus/NAME: seeds and reproducers of bugs found), then fuzzes
# each for a short, bounded time over a writable copy of that corpus in a
# temporary folder; the repository is never written to, apart from make's
# build/.
#
#   tests/fuzz/run-fuzzers.sh [NAME...]     (default: every build/fuzz/fuzz_*)
#
#   FUZZ_SECONDS   seconds per target (default 20: about 2 minutes in all)
#
# Prints `fuzz: NAME ok (N runs)` or `fuzz: NAME FAILED` per target, then
# `fuzz: N passed, N failed`, and exits non-zero if any failed. A failed
# target's log and crash input are kept in the temporary folder, whose path
# is printed; replay with: build/fuzz/NAME CRASH-FILE
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
cd "$root" || exit 2

seconds=${FUZZ_SECONDS:-20}
case $seconds in
'' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac

if ! make fuzz >/dev/null; then
	echo "fuzz: make fuzz failed" >&2
	exit 2
fi

# The Makefile builds with -fsanitize=undefined without
# -fno-sanitize-recover: make UBSan stop at its first report so that
# libFuzzer counts it as a crash.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for bin in build/fuzz/fuzz_*; do
		[ -x "$bin" ] && names+=("$(basename "$bin")")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "fuzz: no targets in build/fuzz" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-fuzz.XXXXXX") || exit 2
keep=0
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "fuzz: logs and crash inputs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
for name in "${names[@]}"; do
	bin=$root/build/fuzz/$name
	work=$tmp/$name
	mkdir -p "$work/corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$work/corpus/"
	fi
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name FAILED (no binary $bin)"
		failed=$((failed + 1))
		continue
	fi
	# 1. Replay the corpus as it is: reproducers of known bugs may be
	#    larger than what the fuzzer generates and must run whole.
	# 2. Fuzz from it with small inputs (larger corpus files are cut to
	#    -max_len there), which keeps mutation fast.
	(
		cd "$work" &&
			"$bin" -runs=0 -timeout=5 -rss_limit_mb=2048 \
				-artifact_prefix="$work/replay-" corpus \
				</dev/null >"$work/replay.log" 2>&1
	)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "fuzz: $name FAILED (replaying its corpus)"
		grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written' \
			"$work/replay.log" | head -n 20 | sed 's/^/    /'
		failed=$((failed + 1))
		keep=1
		continue
	fi
	(
		cd "$work" &&
			"$bin" -max_total_time="$seconds" -timeout=5 \
				-rss_limit_mb=2048 -max_len=4096 \
				-print_final_stats=1 -artifact_prefix="$work/" \
				corpus </dev/null >"$work/log" 2>&1
	)
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$work/log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		echo "fuzz: $name ok ($runs runs)"
		passed=$((passed + 1))
	else
		echo "fuzz: $name FAILED"
		grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written' \
			"$work/log" | head -n 20 | sed 's/^/    /'
		failed=$((failed + 1))
		keep=1
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
