# shellcheck shell=bash
# shellcheck disable=SC2154 # root, main_root: the sourcing suite's
# Shell helpers shared by the test suites (tests/admin, crash, hostile,
# jail, rpc, template, vm) and bench/rpc, which source this file. It only
# defines functions and the variables below; it runs nothing.
#
# Counting and printing results (the lines tests/run parses):
#   suite_init SUITE [PATTERN]  names the suite, keeps the test filter
#                               and zeroes passed, failed, skipped
#   selected NAME               true when NAME passes the filter
#   run_test NAME               runs a test (a function) in a subshell and
#                               tallies it; suites whose tests need more
#                               around them define their own after
#                               sourcing this file, with selected and tally
#   tally SUITE NAME STATUS OUTPUT  counts and prints "SUITE: NAME ok",
#                               "... SKIPPED: why" (status 77) or
#                               "... FAILED:" with the output indented
#   summary [--skipped-if-any]  "SUITE: N passed, N failed, N skipped"
#                               (the last part only when some were, with
#                               the option); fails when a test failed
# Roots and daemons:
#   new_root, stop_root, stop_daemon, qemu_pids, state_listing,
#   no_leftovers, daemon_log_tail, keep_log
# bh: bhm (in $main_root), policy (the test policy of $root)
# Waiting and checking: wait_until, alive, gone, wait_dead, expect_eq,
#   expect_contains

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

# A private BULKHEAD_ROOT per suite or test shares the installed guest
# images read-only; no_leftovers checks that a run left nothing behind.

# stop_root ROOT: ends the daemon of ROOT (by its pid file), then any
# QEMU or channel process its qubes' folders still record (a qube left
# running by a daemon that was killed), and removes ROOT.
stop_root() {
	local r=$1 pid i left
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
	left=$(recorded_pids "$r" qemu.pid qemu-system-x86; recorded_pids "$r" chan.pid bulkhead-chan)
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$left" ] || kill -9 $left 2>/dev/null
	if mountpoint -q "$r/run/bulkhead" 2>/dev/null; then
		umount "$r/run/bulkhead"
	fi
	rm -rf "$r"
}

# stop_daemon: ends the daemon of $root cleanly (by its pid file), if one
# runs; fails when it does not stop within 10 s.
stop_daemon() {
	local pid
	pid=$(cat "$root/run/bulkhead/bulkheadd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	wait_until 10 sh -c "! kill -0 $pid" || { echo "daemon $pid did not stop"; return 1; }
}

# daemon_log_tail ROOT [WIDTH]: a failure's story, what ROOT's daemon
# logged last (12 lines but debug ones, cut at WIDTH characters if given).
daemon_log_tail() {
	echo "daemon log, last lines:"
	grep -v ' debug: ' "$1/var/log/bulkhead/bulkheadd.log" 2>/dev/null |
		if [ -n "${2:-}" ]; then cut -c1-"$2"; else cat; fi | tail -n 12
}

# keep_log ROOT: with KEEP_LOG=FILE, keeps ROOT's daemon log there (for
# cleanup, before stop_root).
keep_log() {
	[ -n "${KEEP_LOG:-}" ] && [ -n "$1" ] &&
		cp "$1/var/log/bulkhead/bulkheadd.log" "$KEEP_LOG"
}

# bhm ARG...: bh in the suite's main root ($main_root), no stdin unless
# redirected by the caller.
bhm() { BULKHEAD_ROOT=$main_root "$BH" "$@"; }

# policy LINE...: the test policy of $root, replaced as a whole.
policy() { printf '%s\n' "$@" >"$root/etc/bulkhead/policy.d/10-test.policy"; }

# recorded_pids ROOT FILE COMM: the live processes named COMM whose pids
# ROOT's qubes' runtime folders record in FILE (qemu.pid, chan.pid): a
# re-attached qube's are not its daemon's children.
recorded_pids() {
	local f pid
	for f in "$1"/run/bulkhead/qubes/*/"$2"; do
		[ -f "$f" ] || continue
		read -r pid _ <"$f" || continue
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$3" ] && echo "$pid"
	done
	return 0
}

# control_pid ROOT: the pid of ROOT's daemon's control process (the one
# that serves the admin socket and runs the qubes; bulkheadd.pid names
# its root parent, priv/supervise.h).
control_pid() { cat "$1/run/bulkhead/control.pid" 2>/dev/null; }

# daemon_pids ROOT: the root parent and control, those that run.
daemon_pids() {
	local p
	for p in $(cat "$1/run/bulkhead/bulkheadd.pid" 2>/dev/null) $(control_pid "$1"); do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done
	return 0
}

# kill9_daemon ROOT: kill -9 of ROOT's daemon (its root parent), then a
# bounded wait until control too is gone: it dies with its parent
# (PR_SET_PDEATHSIG), but a moment later, and holds the instance lock and
# the admin socket until then. 0 once both are gone.
kill9_daemon() {
	local pid cpid
	pid=$(cat "$1/run/bulkhead/bulkheadd.pid" 2>/dev/null)
	cpid=$(control_pid "$1")
	[ -n "$pid" ] || return 1
	kill -9 "$pid" 2>/dev/null
	wait_until 10 gone "$pid" || return 1
	[ -z "$cpid" ] || wait_until 10 gone "$cpid"
}

# qemu_pids ROOT: QEMU processes of ROOT's qubes: children of its control
# or of its root parent (theirs once the control that started them died;
# their command lines name the canonical image paths, not ROOT), and the
# ones its runtime folders record.
qemu_pids() {
	local p
	{
		for p in $(daemon_pids "$1"); do
			pgrep -P "$p" -f qemu-system-x86_64
		done
		recorded_pids "$1" qemu.pid qemu-system-x86
	} | sort -u
	return 0
}

# chan_pids ROOT: the channel processes (bulkhead-chan) of ROOT's qubes,
# found the same way.
chan_pids() {
	local p
	{
		for p in $(daemon_pids "$1"); do
			pgrep -P "$p" -x bulkhead-chan
		done
		recorded_pids "$1" chan.pid bulkhead-chan
	} | sort -u
	return 0
}

# state_listing ROOT: every file under the root except the daemon's own
# (its log, pid file and socket), for before/after comparisons.
state_listing() {
	(cd "$1" && find . -path ./var/log -prune -o -print | sort |
		grep -v -e '^./run/bulkhead/admin.sock$' \
			-e '^./run/bulkhead/bulkheadd.pid$' \
			-e '^./run/bulkhead/control.pid$' -e '^./var/log$')
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

# alive PID: true while PID runs (a zombie is dead: a child of ours stays
# one until waited for). gone PID: the opposite.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
gone() { ! alive "$1"; }

# wait_dead PID SECONDS: waits (bounded) for PID to end; says so if not.
wait_dead() {
	local _
	for _ in $(seq 1 $(($2 * 10))); do
		alive "$1" || return 0
		sleep 0.1
	done
	echo "process $1 still alive after $2 s"
	return 1
}

# suite_init SUITE [PATTERN]: see the top of this file.
suite_init() {
	suite=$1
	pattern=${2:-}
	passed=0 failed=0 skipped=0
}

# selected NAME: no filter, or NAME contains it.
selected() {
	[ -z "$pattern" ] || [[ $1 == *$pattern* ]]
}

# run_test NAME: the plain runner (see the top of this file).
run_test() {
	local name=$1 out
	selected "$name" || return 0
	out=$("$name" 2>&1)
	tally "$suite" "$name" $? "$out"
}

# summary [--skipped-if-any]: the suite's last line; its status is the
# suite's (so a suite ends with it).
summary() {
	if [ "${1:-}" = --skipped-if-any ] && [ "$skipped" -eq 0 ]; then
		echo "$suite: $passed passed, $failed failed"
	else
		echo "$suite: $passed passed, $failed failed, $skipped skipped"
	fi
	[ "$failed" -eq 0 ]
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
