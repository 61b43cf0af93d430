# Helpers for the VM tests: a private BULKHEAD_ROOT per group of tests that
# shares the installed guest images read-only, and checks that a run left
# nothing behind.

# The installed guest images (built by ./setup) that test roots link to.
BH_IMAGES=${BH_IMAGES:-/var/lib/bulkhead}
BH=${BH:-bh}
BULKHEADD=${BULKHEADD:-bulkheadd}

# new_root NAME [images|empty]: makes a fresh root; prints its path.
new_root() {
	local r
	r=$(mktemp -d "/tmp/bh-vm-$1.XXXXXX") || return 1
	mkdir -p "$r/var/lib/bulkhead"
	if [ "${2:-images}" = images ]; then
		ln -s "$BH_IMAGES/kernels" "$r/var/lib/bulkhead/kernels"
		# A folder of our own, so templates the tests create stay in
		# the test root; the built-in one is shared read-only.
		mkdir "$r/var/lib/bulkhead/templates"
		ln -s "$BH_IMAGES/templates/minimal" \
			"$r/var/lib/bulkhead/templates/minimal"
	fi
	echo "$r"
}

# stop_root ROOT: ends the daemon of ROOT (by its pid file) and removes ROOT.
stop_root() {
	local r=$1 pid i
	pid=$(cat "$r/run/bulkhead/bulkheadd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			# Bounded wait for the daemon's clean stop (no timing
			# is asserted).
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null
	fi
	if mountpoint -q "$r/run/bulkhead" 2>/dev/null; then
		umount "$r/run/bulkhead"
	fi
	rm -rf "$r"
}

# qemu_pids ROOT: QEMU processes started by ROOT's daemon (its children;
# their command lines name the canonical image paths, not ROOT).
qemu_pids() {
	local dpid
	dpid=$(cat "$1/run/bulkhead/bulkheadd.pid" 2>/dev/null)
	[ -n "$dpid" ] || return 0
	pgrep -P "$dpid" -f qemu-system-x86_64 || true
}

# state_listing ROOT: every file under the root except the daemon's own
# (its log, pid file and socket), for before/after comparisons.
state_listing() {
	(cd "$1" && find . -path ./var/log -prune -o -print | sort |
		grep -v -e '^./run/bulkhead/admin.sock$' \
			-e '^./run/bulkhead/bulkheadd.pid$' -e '^./var/log$')
}

# no_leftovers ROOT: no qube folder, no QEMU of ROOT.
no_leftovers() {
	local r=$1 left
	left=$(ls -A "$r/run/bulkhead/qubes" 2>/dev/null)
	if [ -n "$left" ]; then
		echo "left in $r/run/bulkhead/qubes: $left"
		return 1
	fi
	if [ -n "$(qemu_pids "$r")" ]; then
		echo "QEMU still running for $r: $(qemu_pids "$r")"
		return 1
	fi
	return 0
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds;
# fails after SECONDS. A bound for waiting on a state, not a timing check.
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# tally SUITE NAME STATUS OUTPUT: counts one test's outcome in the
# caller's passed/failed/skipped (0 ok, 77 skipped, else failed) and
# prints its line, with the output indented under a failure.
tally() {
	case $3 in
	0) passed=$((passed + 1)); echo "$1: $2 ok" ;;
	77) skipped=$((skipped + 1)); echo "$1: $2 SKIPPED: $4" ;;
	*) failed=$((failed + 1)); echo "$1: $2 FAILED:"; echo "$4" | sed 's/^/    /' ;;
	esac
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" != "$3" ]; then
		echo "$1: got '$2', want '$3'"
		return 1
	fi
}

# expect_contains WHAT TEXT NEEDLE
expect_contains() {
	case "$2" in
	*"$3"*) return 0 ;;
	esac
	echo "$1: '$3' not found in: $2"
	return 1
}
