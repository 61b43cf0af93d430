#!/usr/bin/env bash
# Crash tests: the daemon is killed (SIGKILL, as by kill -9) at each step
# of create, clone, remove and start (in the daemon, or in the job child
# that copies or makes a volume: it kills its daemon first), by starting
# it with
# BULKHEAD_CRASH_AT=POINT (src/lib/crashpoint.h). After a restart the
# records and the folders must agree: every qube has its folder and a
# valid private volume, no temporary is left, a folder without a record
# is only in lost+found, every QEMU still running is a qube the new
# daemon re-attached and shows running (no orphan), and a private volume
# is never lost. A qube's channel process is killed at each of its steps
# too (chan_case). Each case has its own BULKHEAD_ROOT; prints
# "crash: NAME ok|FAILED|SKIPPED" and ends with
# "crash: N passed, N failed, N skipped".
#
# Usage: tests/crash/run-crash-tests.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"

suite_init crash "${1:-}"
root=""
dpid=""
unset BULKHEAD_CRASH_AT
# daemon: a crash point kills the whole daemon (its root parent and
# control), as kill -9 of bulkheadd; control: control alone, which the
# root parent starts again (BULKHEAD_CRASH_SCOPE, src/daemon/main.c).
CRASH_SCOPE=daemon

cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	[ -n "$root" ] && stop_root "$root"
}
trap cleanup EXIT

run_test() { # NAME [CMD...]: CMD defaults to NAME
	local name=$1 out rc
	[ $# -gt 1 ] && shift
	selected "$name" || return 0
	root=$(new_root crash) || exit 1
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	dpid=""
	tally crash "$name" "$rc" "$out"
	case $rc in
	0 | 77) ;;
	*) tail -n 8 "$root/var/log/bulkhead/bulkheadd.log" 2>/dev/null | sed 's/^/    log: /' ;;
	esac
	stop_root "$root"
	root=""
}

# bh against the test root; a daemon it needs is a normal one (no crash
# point), started by bh itself.
bha() { BULKHEAD_ROOT=$root BULKHEAD_DAEMON=$BULKHEADD "$BH" "$@" </dev/null; }
state() { echo "$root/var/lib/bulkhead"; }
priv() { echo "$(state)/qubes/$1/private.img"; }

# crash_daemon POINT: starts a daemon of our own that dies at POINT; its
# pid in dpid. bh calls made now cannot start another one.
crash_daemon() {
	local line=""
	# Ours from an earlier crash of control alone: it still runs.
	if [ -n "$dpid" ]; then
		kill "$dpid" 2>/dev/null
		wait "$dpid"
		dpid=""
	fi
	stop_daemon || return 1
	mkfifo "$root/ready" || return 1
	BULKHEAD_ROOT=$root BULKHEAD_CRASH_AT=$1 BULKHEAD_CRASH_SCOPE=$CRASH_SCOPE \
		setsid "$BULKHEADD" --ready-fd 3 \
		3>"$root/ready" </dev/null >>"$root/crashd.log" 2>&1 &
	dpid=$!
	read -r -t 20 line <"$root/ready"
	rm -f "$root/ready"
	case $line in
	ready*) return 0 ;;
	esac
	echo "crash daemon did not start: $(cat "$root/crashd.log")"
	return 1
}

root_qemus() { pgrep -af qemu-system | grep -F -- "$(state)/qubes/"; }
no_qemu() { ! root_qemus >/dev/null; }

# new_control OLD: a control process other than OLD runs.
new_control() {
	local c
	c=$(control_pid "$root")
	[ -n "$c" ] && [ "$c" != "$1" ] && alive "$c"
}

# crash POINT CMD...: runs bh CMD against a daemon armed at POINT, which
# must then die by SIGKILL (in the control scope: control alone, and its
# root parent starts a new one).
crash() {
	local point=$1 rc cpid
	shift
	crash_daemon "$point" || return 1
	cpid=$(control_pid "$root")
	BULKHEAD_ROOT=$root BULKHEAD_DAEMON=/bin/false "$BH" "$@" </dev/null \
		>"$root/op.out" 2>&1
	if [ "$CRASH_SCOPE" = control ]; then
		if ! wait_until 20 gone "$cpid"; then
			echo "control did not die at $point; bh said: $(cat "$root/op.out")"
			return 1
		fi
		alive "$dpid" || { echo "the root parent died with control"; return 1; }
		wait_until 30 new_control "$cpid" ||
			{ echo "no new control after $cpid died"; return 1; }
		expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log" "$root/crashd.log" 2>/dev/null)" \
			"control (pid $cpid) killed by signal 9 (Killed): starting a new one (restart 1)"
		return
	fi
	# Our child: a zombie until waited for, so look at its state.
	if ! wait_until 20 gone "$dpid"; then
		echo "daemon did not die at $point; bh said: $(cat "$root/op.out")"
		return 1
	fi
	wait "$dpid"; rc=$?
	dpid=""
	expect_eq "daemon's end at $point" "$rc" 137 || return 1
	# Its control dies with it, a moment later.
	wait_until 10 gone "$cpid" || { echo "control $cpid outlived its parent"; return 1; }
	# A qube it had started goes on (its channel process waits for the
	# next daemon): consistent checks that the restart re-attached it
	# or ended it.
}

# consistent: after the restart (which this starts), the records and the
# folders agree. Prints the qube names.
consistent() {
	local names n cls tmps
	bha ls --format json >"$root/ls.json" || { echo "bh ls failed"; return 1; }
	python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])): print(o["name"], o["class"], o["state"])' \
		"$root/ls.json" >"$root/qubes.txt" || { echo "bh ls: bad JSON"; return 1; }
	while read -r n cls _; do
		[ "$n" = minimal ] && continue
		[ -d "$(state)/qubes/$n" ] || { echo "$n: no folder"; return 1; }
		# A DispVM's private volume is a copy in its runtime folder.
		if [ "$cls" = DispVM ]; then
			[ ! -e "$(priv "$n")" ] ||
				{ echo "DispVM $n: a private volume in STATE"; return 1; }
			continue
		fi
		dumpe2fs -h "$(priv "$n")" >/dev/null 2>&1 ||
			{ echo "$n: no valid private volume"; return 1; }
		case $cls in
		TemplateVM) [ -e "$(state)/templates/$n/root.img" ] ||
			{ echo "template $n: no root"; return 1; } ;;
		StandaloneVM) [ -f "$(state)/qubes/$n/root.img" ] ||
			{ echo "standalone $n: no root"; return 1; } ;;
		esac
	done <"$root/qubes.txt"
	no_orphan_qemu || return 1
	tmps=$(find "$(state)" -name '*.tmp-*')
	[ -z "$tmps" ] || { echo "temporaries left: $tmps"; return 1; }
	for n in $(ls -A "$(state)/qubes") $(ls -A "$(state)/templates"); do
		[ "$n" = lost+found ] && continue
		grep -q "^$n " "$root/qubes.txt" ||
			{ echo "folder $n without a record"; return 1; }
	done
}

# no_orphan_qemu: every QEMU of this root is a qube bh ls shows running
# (re-attached, or started since), with its runtime folder; a QEMU the
# restarted daemon ended may take a moment to go.
qemu_unowned() {
	local p n
	for p in $(pgrep -f 'qemu-system' || true); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$root/" || continue
		n=$(tr '\0' '\n' <"/proc/$p/cmdline" | sed -n 's/.*bh\.name=\([^ ]*\).*/\1/p' | head -n 1)
		if ! awk -v n="$n" '$1 == n && $3 != "Halted" { f = 1 } END { exit !f }' "$root/qubes.txt" ||
			[ ! -d "$root/run/bulkhead/qubes/$n" ]; then
			echo "$p ($n)"
		fi
	done
}
all_owned() { [ -z "$(qemu_unowned)" ]; }
no_orphan_qemu() {
	wait_until 30 all_owned || { echo "orphan QEMU: $(qemu_unowned)"; return 1; }
}

has_qube() { grep -q "^$1 " "$root/qubes.txt"; }
no_qube() { ! has_qube "$1" || { echo "qube $1 exists"; return 1; }; }
state_of() { awk -v n="$1" '$1 == n { print $3 }' "$root/qubes.txt"; }

# mark FILE: writes a marker into the ext4 image FILE; has_mark FILE.
mark() { debugfs -w -R "write /etc/hostname marker" "$1" >/dev/null 2>&1; }
has_mark() {
	expect_eq "marker in $1" "$(debugfs -R 'cat marker' "$1" 2>/dev/null)" \
		"$(cat /etc/hostname)"
}
# lost NAME: the private volume of NAME moved to lost+found.
lost() { ls -d "$(state)"/lost+found/"$1"-*/private.img 2>/dev/null | head -n 1; }

# ---- create ----

create_case() { # POINT CLASS WANT(present|absent)
	local point=$1 cls=$2 want=$3
	bha ls >/dev/null || return 1
	crash "$point" create --class "$cls" -t minimal -l red c1 || return 1
	consistent || return 1
	if [ "$want" = absent ]; then
		no_qube c1
	else
		has_qube c1 || { echo "c1 missing"; return 1; }
		bha volume list c1 >/dev/null || return 1
		# Usable: removable like any qube.
		bha remove -y c1
	fi
}

# ---- clone ----

clone_case() { # POINT CLASS WANT
	local point=$1 cls=$2 want=$3
	bha create --class "$cls" -t minimal -l red src || return 1
	mark "$(priv src)" || return 1
	crash "$point" clone src c2 || return 1
	consistent || return 1
	has_qube src || { echo "source gone"; return 1; }
	has_mark "$(priv src)" || return 1
	if [ "$want" = absent ]; then
		no_qube c2
	else
		has_qube c2 || { echo "c2 missing"; return 1; }
		has_mark "$(priv c2)" || return 1
		bha volume list c2 >/dev/null
	fi
}

# ---- remove ----

test_remove_after_record() {
	bha create -t minimal -l red r1 || return 1
	mark "$(priv r1)" || return 1
	crash remove.after-record remove -y r1 || return 1
	consistent || return 1
	no_qube r1 || return 1
	[ -n "$(lost r1)" ] || { echo "r1's private volume is lost"; return 1; }
	has_mark "$(lost r1)"
}

test_remove_between_folders() {
	bha create --class TemplateVM -t minimal -l black t1 || return 1
	crash remove.between-folders remove -y t1 || return 1
	consistent || return 1
	no_qube t1 || return 1
	ls -d "$(state)"/lost+found/t1.root-* >/dev/null 2>&1 ||
		{ echo "t1's template folder not in lost+found"; return 1; }
}

# ---- start (each boots a VM: ~2 s under TCG) ----

# WANT: halted (no QEMU was started yet), reattached (QEMU runs: the
# restarted daemon re-attaches to it and its boot ends Running), or either
# (the daemon died as QEMU's jail was being set up: the jail starts QEMU
# only while its daemon lives, so which one comes depends on who is
# first, and a control restarted at once may re-attach to a jail that
# then ends; both leave nothing behind).
s1_running() { bha ls | grep -q '^s1 .*Running'; }
s1_settled() { bha ls | grep -qE '^s1 +(Running|Halted) '; }
start_case() { # POINT WANT
	local want=$2
	bha create -t minimal -l red s1 || return 1
	crash "$1" start s1 || return 1
	consistent || return 1
	if [ "$want" = either ]; then
		# A re-attach may still end Halted: the jail's child, adopted
		# before it saw its daemon gone, then exits without QEMU.
		wait_until 60 s1_settled || { echo "s1 never settled: $(bha ls)"; return 1; }
		want=halted
		s1_running && want=reattached
		echo "    measured: $want"
	fi
	if [ "$want" = halted ]; then
		expect_eq "s1's state" "$(state_of s1)" Halted || return 1
		bha start s1 || return 1
	else
		wait_until 60 s1_running || {
			echo "s1 not Running after the restart: $(bha ls)"
			grep -h -e "s1: not re-attached" -e "jail" "$root/crashd.log" "$root/var/log/bulkhead/bulkheadd.log"
			return 1
		}
		grep -q "s1: re-attaching" "$root/var/log/bulkhead/bulkheadd.log" ||
			{ echo "s1 was not re-attached"; return 1; }
	fi
	expect_eq "s1 runs" "$(bha run s1 -- echo ran)" ran || return 1
	bha kill s1
}

# A disposable's private volume is a copy of its DVM's made in its
# runtime folder: a crash in the middle of the copy (an unnamed
# disposable's, then a named DispVM's at its start) leaves nothing in
# STATE, the next start clears the runtime folder, and the DVM's own
# image is the same bytes.
test_dispvm_copy_crash() {
	local sum left
	bha create -t minimal -l red dv1 || return 1
	bha prefs dv1 template_for_dispvms True || return 1
	bha create --class DispVM -t dv1 -l red nd1 || return 1
	sum=$(sha256sum <"$(priv dv1)")
	crash volume.before-rename run --dispvm=dv1 -- true || return 1
	consistent || return 1
	left=$(ls -A "$root/run/bulkhead/qubes" 2>/dev/null)
	[ -z "$left" ] || { echo "runtime files left: $left"; return 1; }
	crash volume.before-rename start nd1 || return 1
	consistent || return 1
	left=$(ls -A "$root/run/bulkhead/qubes" 2>/dev/null)
	[ -z "$left" ] || { echo "runtime files left: $left"; return 1; }
	expect_eq "nd1's state" "$(state_of nd1)" Halted || return 1
	expect_eq "dv1's private volume" "$(sha256sum <"$(priv dv1)")" "$sum" || return 1
	bha run --dispvm=dv1 -- true || return 1
	bha remove --yes nd1 >/dev/null && bha remove --yes dv1 >/dev/null
}

# The daemon killed while it keeps a disposable's first snapshot (state
# and manifest written, not yet renamed into place): the next start
# removes the half-made folder, no snapshot is ever used from it, and the
# next disposable boots cold, runs, and makes a whole one.
test_snapshot_crash() {
	local snaps="$(state)/snapshots" left
	bha create -t minimal -l red dv2 || return 1
	bha prefs dv2 template_for_dispvms True || return 1
	crash snapshot.before-publish run --dispvm=dv2 -- true || return 1
	ls -A "$snaps" | grep -q '^\.build-dvm-dv2\.' ||
		{ echo "the crash left no half-made folder: $(ls -A "$snaps")"; return 1; }
	consistent >/dev/null || return 1
	left=$(ls -A "$snaps" | grep -e '^\.build-' -e '^\.old-' -e '^dvm-dv2$')
	[ -z "$left" ] || { echo "left in snapshots after the restart: $left"; return 1; }
	bha run --dispvm=dv2 -- true || return 1
	[ -s "$snaps/dvm-dv2/manifest" ] || { echo "no snapshot made after the restart"; return 1; }
	bha remove --yes dv2 >/dev/null || return 1
	[ ! -e "$snaps/dvm-dv2" ] || { echo "the snapshot outlived its DVM"; return 1; }
}

# command_going QUBE: a command of QUBE runs (5 s) with its bh in the
# background, pid in rcv, output in $root/run.out; a bh that can start
# no daemon, so that it sees its own daemon go.
command_going() {
	BULKHEAD_ROOT=$root BULKHEAD_DAEMON=/bin/false "$BH" run "$1" -- sh -c 'echo started; exec sleep 5' \
		</dev/null >"$root/run.out" 2>&1 &
	rcv=$!
	wait_until 60 grep -q started "$root/run.out" || { echo "the command never started"; return 1; }
}

# kill -9 of the daemon with a qube running and a command of it going:
# the qube outlives its daemon (its channel process holds its channel and
# waits), the next daemon re-attaches to it, with the same QEMU and the
# same boot, shows it Running, ends the command's stream the earlier
# daemon left (its bh was told the daemon went), and runs commands in it.
test_kill9_running() {
	local q boot out rcv
	bha create -t minimal -l red k1 || return 1
	bha start k1 || return 1
	boot=$(bha run k1 -- cat /proc/sys/kernel/random/boot_id) || return 1
	bha run -u root k1 -- sh -c 'echo kept >/home/unsynced' || return 1
	command_going k1 || return 1
	q=$(qemu_pids "$root")
	[ -n "$q" ] || { echo "no QEMU for k1"; return 1; }
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	wait "$rcv" && { echo "bh run ended well though its daemon was killed"; return 1; }
	alive "$q" || { echo "k1's QEMU died with the daemon"; return 1; }
	consistent || return 1
	expect_eq "k1's state" "$(state_of k1)" Running || return 1
	expect_eq "k1's QEMU" "$(qemu_pids "$root")" "$q" || return 1
	expect_eq "k1's boot" "$(bha run k1 -- cat /proc/sys/kernel/random/boot_id)" "$boot" || return 1
	out=$(bha run k1 -- cat /home/unsynced)
	expect_eq "file written before kill -9" "$out" kept || return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"k1: re-attached (1 stream(s) of the earlier daemon ended, agent ready)" || return 1
	# The command's stream is drained until the guest says it ended.
	wait_until 30 grep -q "k1: a command of the earlier daemon ended" \
		"$root/var/log/bulkhead/bulkheadd.log" ||
		{ echo "the earlier daemon's command never ended"; return 1; }
	bha shutdown --wait k1 || return 1
	expect_eq "k1's state after shutdown" "$(bha ls --format json | python3 -c 'import json,sys; print([q["state"] for q in json.load(sys.stdin) if q["name"]=="k1"][0])')" Halted || return 1
	gone "$q" || { echo "k1's QEMU still runs after its shutdown"; return 1; }
	[ -z "$(chan_pids "$root")" ] || { echo "a channel process is left: $(chan_pids "$root")"; return 1; }
	[ ! -e "$root/run/bulkhead/qubes/k1" ] || { echo "k1's runtime folder left"; return 1; }
}

# kill -9 of the daemon's control process alone, with a qube running and
# a command of it going: the root parent lives on and starts a new
# control at once (no bh needed), which re-attaches the qube with the
# same QEMU and boot and runs commands in it; bh daemon status says so.
test_kill9_control() {
	local pid cpid q c boot rcv sock out
	bha create -t minimal -l red m1 || return 1
	bha start m1 || return 1
	boot=$(bha run m1 -- cat /proc/sys/kernel/random/boot_id) || return 1
	command_going m1 || return 1
	pid=$(cat "$root/run/bulkhead/bulkheadd.pid")
	cpid=$(control_pid "$root")
	q=$(qemu_pids "$root")
	c=$(chan_pids "$root")
	[ -n "$cpid" ] && [ -n "$q" ] && [ -n "$c" ] ||
		{ echo "control ($cpid), QEMU ($q) or channel process ($c) not found"; return 1; }
	sock=$(stat -c %i "$root/run/bulkhead/admin.sock")
	kill -9 "$cpid"
	# At once, with no way to start a daemon: it waits in the socket's
	# backlog (the root parent bound it, for every control) and is
	# answered by the next control, which shows m1 re-attached.
	out=$(BULKHEAD_ROOT=$root BULKHEAD_DAEMON=/bin/false "$BH" ls --raw --running </dev/null 2>&1) ||
		{ echo "bh ls right after the kill failed: $out"; return 1; }
	expect_contains "bh ls right after the kill" "$out" m1 || return 1
	wait_until 30 new_control "$cpid" || { echo "no new control after $cpid"; return 1; }
	expect_eq "the admin socket" "$(stat -c %i "$root/run/bulkhead/admin.sock")" "$sock" || return 1
	wait "$rcv" && { echo "bh run ended well though control was killed"; return 1; }
	alive "$pid" || { echo "the root parent died with control"; return 1; }
	expect_eq "the daemon's pid" "$(cat "$root/run/bulkhead/bulkheadd.pid")" "$pid" || return 1
	alive "$q" || { echo "m1's QEMU died with control"; return 1; }
	expect_eq "m1's channel process" "$(chan_pids "$root")" "$c" || return 1
	consistent || return 1
	expect_eq "m1's state" "$(state_of m1)" Running || return 1
	expect_eq "m1's QEMU" "$(qemu_pids "$root")" "$q" || return 1
	expect_eq "m1's boot" "$(bha run m1 -- cat /proc/sys/kernel/random/boot_id)" "$boot" || return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"control (pid $cpid) killed by signal 9 (Killed): starting a new one (restart 1)" || return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"m1: re-attached (1 stream(s) of the earlier daemon ended, agent ready)" || return 1
	expect_contains "bh daemon status" "$(bha daemon status)" \
		"control process: pid $(control_pid "$root") (started again 1 times after it died)" || return 1
	# The QEMU is the root parent's now (its subreaper): its end is
	# still seen, and the qube recorded Halted.
	bha shutdown --wait m1 || return 1
	expect_eq "m1's state after shutdown" "$(bha ls --raw --halted m1)" m1 || return 1
	gone "$q" || { echo "m1's QEMU still runs after its shutdown"; return 1; }
	[ -z "$(chan_pids "$root")" ] || { echo "a channel process is left: $(chan_pids "$root")"; return 1; }
	[ ! -e "$root/run/bulkhead/qubes/m1" ] || { echo "m1's runtime folder left"; return 1; }
}

# kill -9 of the daemon with a TemplateVM running: the next daemon
# re-attaches to it knowing which root version it writes (qube.attach),
# so what is written before and after the restart is committed at its
# clean shutdown, and an AppVM of it sees both.
t1_running() { bha ls | grep -q '^t1 .*Running'; }
test_kill9_template() {
	bha create --class TemplateVM -t minimal -l black t1 || return 1
	bha start t1 || return 1
	bha run -u root t1 -- sh -c 'echo before >/etc/bh-mark; sync' || return 1
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	consistent || return 1
	wait_until 30 t1_running || { echo "t1 after the restart: $(bha ls)"; return 1; }
	bha run -u root t1 -- sh -c 'echo after >>/etc/bh-mark; sync' || return 1
	bha shutdown --wait t1 || return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"t1: new root version committed" || return 1
	bha create -t t1 -l red ap1 || return 1
	expect_eq "an AppVM of t1 reads" "$(bha run ap1 -- cat /etc/bh-mark | tr '\n' ' ')" "before after " || return 1
	bha kill ap1
}

# A re-attached qube's channel process killed: only that qube stops, as
# when the daemon started it (the daemon watches it by pidfd, not as its
# child).
test_kill9_chan_reattached() {
	local c q
	bha create -t minimal -l red a1 || return 1
	bha start a1 || return 1
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	consistent || return 1
	expect_eq "a1's state" "$(state_of a1)" Running || return 1
	q=$(qemu_pids "$root")
	c=$(chan_pids "$root")
	[ -n "$q" ] && [ -n "$c" ] || { echo "a1's QEMU ($q) or channel process ($c) not found"; return 1; }
	kill -9 "$c"
	wait_until 30 gone "$q" || { echo "a1's QEMU $q survived its channel process"; return 1; }
	wait_until 30 sh -c "BULKHEAD_ROOT=$root $BH ls | grep -q '^a1 .*Halted'" ||
		{ echo "a1 not recorded Halted: $(bha ls)"; return 1; }
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"a1: halted (the channel process of qube a1 ended while the qube ran" || return 1
	[ ! -e "$root/run/bulkhead/qubes/a1" ] || { echo "a1's runtime folder left"; return 1; }
	bha start a1 || return 1
	expect_eq "a1 runs again" "$(bha run a1 -- echo again)" again || return 1
	bha kill a1
}

# kill -9 of a qube's channel process (bulkhead-chan), with the qube
# running and a command of it going: only that qube stops (its QEMU
# killed, recorded Halted with the reason, its runtime folder removed,
# the command's bh told), no process of it is left, and the daemon and
# the other qube go on.
test_kill9_chan() {
	local pid c q out rcv bad=0
	bha create -t minimal -l red v1 || return 1
	bha create -t minimal -l blue v2 || return 1
	bha start v1 v2 || return 1
	pid=$(control_pid "$root")
	bha run v1 -- sh -c 'echo started; exec sleep 600' >"$root/run.out" 2>&1 &
	rcv=$!
	wait_until 60 grep -q started "$root/run.out" || { echo "the command never started"; return 1; }
	# QEMU is the root parent's child (it starts qubes for control).
	q=$(pgrep -P "$(cat "$root/run/bulkhead/bulkheadd.pid")" -f 'qemu-system.*bh\.name=v1' || true)
	c=$(for x in $(chan_pids "$root"); do grep -qa '^v1$' <(tr '\0' '\n' <"/proc/$x/cmdline") && echo "$x"; done)
	[ -n "$q" ] && [ -n "$c" ] || { echo "v1's QEMU ($q) or channel process ($c) not found"; return 1; }
	kill -9 "$c"
	wait_until 30 gone "$q" || { echo "v1's QEMU $q survived its channel process"; bad=1; }
	wait "$rcv" && { echo "v1's command ended well"; bad=1; }
	expect_contains "v1's command" "$(cat "$root/run.out")" "channel process of qube v1 ended" || bad=1
	expect_eq "the daemon's control" "$(control_pid "$root")" "$pid" || return 1
	alive "$pid" || { echo "the daemon's control died"; return 1; }
	consistent || return 1
	expect_eq "v1's state" "$(state_of v1)" Halted || bad=1
	expect_eq "v2's state" "$(state_of v2)" Running || bad=1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"v1: halted (the channel process of qube v1 ended while the qube ran" || bad=1
	[ ! -e "$root/run/bulkhead/qubes/v1" ] || { echo "v1's runtime folder left"; bad=1; }
	expect_eq "v2 runs" "$(bha run v2 -- echo alive)" alive || bad=1
	bha start v1 || bad=1
	expect_eq "v1 runs again" "$(bha run v1 -- echo again)" again || bad=1
	bha kill v1 v2
	return $bad
}

# A qube's channel process killed (SIGKILL) at each of its steps: once
# confined, as QMP becomes ready, as the qube says HELLO (each a start
# that must fail), and as a command's EXIT passes (a run that must fail).
# Each time only that qube stops: recorded Halted, no QEMU and no
# channel process of it left, its runtime folder gone; the daemon goes
# on (it is not restarted) and the qube starts again once the crash
# point is gone.
chan_case() { # POINT start|run
	local out pid bad=0
	bha create -t minimal -l red h1 || return 1
	crash_daemon "$1" || return 1
	pid=$dpid
	if [ "$2" = start ]; then
		out=$(bha start h1 2>&1) && { echo "bh start h1 succeeded"; return 1; }
	else
		out=$(bha start h1 2>&1) || { echo "bh start h1: $out"; return 1; }
		out=$(bha run h1 -- echo ran 2>&1) && { echo "bh run h1 succeeded: $out"; return 1; }
	fi
	expect_contains "bh $2 h1" "$out" "channel process of qube h1 ended" || bad=1
	kill -0 "$pid" 2>/dev/null || { echo "the daemon died"; return 1; }
	wait_until 30 no_qemu || { echo "QEMU left: $(root_qemus)"; bad=1; }
	[ -z "$(chan_pids "$root")" ] || { echo "channel process left"; bad=1; }
	consistent || return 1
	expect_eq "h1's state" "$(state_of h1)" Halted || bad=1
	[ ! -e "$root/run/bulkhead/qubes/h1" ] || { echo "h1's runtime folder left"; bad=1; }
	cat "$root/crashd.log" "$root/var/log/bulkhead/bulkheadd.log" 2>/dev/null | grep -q "h1: its channel process was killed by signal 9" ||
		{ echo "the log does not say the channel process was killed by SIGKILL: $(grep -h "h1:" "$root/crashd.log" 2>/dev/null)"; bad=1; }
	stop_daemon || return 1
	dpid=""
	bha start h1 || return 1
	expect_eq "h1 runs" "$(bha run h1 -- echo again)" again || bad=1
	bha kill h1
	return $bad
}

# A qube's channel process killed (SIGKILL) at the steps of a re-attach:
# once it has detached from a daemon killed with -9 (chan.detached), and
# once it has attached to the next daemon (chan.attached). Either way only
# that qube stops: recorded Halted, no QEMU and no channel process of it
# left, its runtime folder gone; the next daemon goes on and the qube
# starts again.
reattach_chan_case() { # POINT
	local pid out bad=0
	bha create -t minimal -l red r1 || return 1
	crash_daemon "$1" || return 1
	bha start r1 || return 1
	pid=$dpid
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	wait "$pid"
	dpid=""
	consistent || return 1
	wait_until 60 sh -c "BULKHEAD_ROOT=$root $BH ls </dev/null | grep -q '^r1 .*Halted'" ||
		{ echo "r1 not Halted: $(bha ls)"; bad=1; }
	wait_until 30 no_qemu || { echo "QEMU left: $(root_qemus)"; bad=1; }
	[ -z "$(chan_pids "$root")" ] || { echo "channel process left"; bad=1; }
	[ ! -e "$root/run/bulkhead/qubes/r1" ] || { echo "r1's runtime folder left"; bad=1; }
	out=$(cat "$root/crashd.log" "$root/var/log/bulkhead/bulkheadd.log" 2>/dev/null)
	if [ "$1" = chan.attached ]; then
		# Its guest powers off as its channel hangs up: when QEMU has
		# ended too before the daemon's loop looks, QEMU's end is the
		# one recorded (qube_attach_proc_ended looks at it first).
		case $out in
		*"r1: its channel process ended while the qube ran"* | *"r1: qube r1 stopped before it was ready"*) ;;
		*) echo "log: r1's end not recorded"; bad=1 ;;
		esac
	else
		expect_contains "log" "$out" "r1: not re-attached (its channel process" || bad=1
	fi
	bha start r1 || return 1
	expect_eq "r1 runs" "$(bha run r1 -- echo again)" again || bad=1
	bha kill r1
	return $bad
}

# A re-attached qube's channel process that takes the next daemon's
# links but never says what it has (BH_MSG_CHAN_ATTACH, the first frame
# it owes): the crash point chan.attached:stop stops it right after it
# took them (the frame queued, not sent). The daemon shows the qube
# Transient while it waits, and ends it after 10 s (CHAN_ATTACH_REPLY_MS),
# not after the boot timeout (60 s), which is for a guest's boot: Halted
# with the reason, no QEMU and no channel process of it left, its
# runtime folder gone; the daemon goes on and the qube starts again.
test_chan_attach_silent() {
	local pid bad=0
	bha create -t minimal -l red r2 || return 1
	crash_daemon chan.attached:stop || return 1
	bha start r2 || return 1
	pid=$dpid
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	wait "$pid"
	dpid=""
	expect_contains "bh ls while the daemon waits" "$(bha ls)" "r2 " || return 1
	expect_eq "r2's state while the daemon waits" \
		"$(bha ls --format json | python3 -c 'import json,sys; print([q["state"] for q in json.load(sys.stdin) if q["name"]=="r2"][0])')" \
		Transient || bad=1
	wait_until 30 sh -c "BULKHEAD_ROOT=$root $BH ls </dev/null | grep -q '^r2 .*Halted'" ||
		{ echo "r2 not Halted 30 s after the restart: $(bha ls)"; return 1; }
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"r2: halted (the channel process of qube r2 did not answer the re-attach within 10 s" || bad=1
	wait_until 30 no_qemu || { echo "QEMU left: $(root_qemus)"; bad=1; }
	[ -z "$(chan_pids "$root")" ] || { echo "channel process left: $(chan_pids "$root")"; bad=1; }
	[ ! -e "$root/run/bulkhead/qubes/r2" ] || { echo "r2's runtime folder left"; bad=1; }
	consistent || return 1
	bha start r2 || return 1
	expect_eq "r2 runs" "$(bha run r2 -- echo again)" again || bad=1
	bha kill r2
	return $bad
}

# kill -9 of the daemon with a paused qube: the next daemon re-attaches
# to it and shows it Paused; unpaused, it runs commands in the same boot.
test_kill9_paused() {
	local q boot
	bha create -t minimal -l red p1 || return 1
	bha start p1 || return 1
	boot=$(bha run p1 -- cat /proc/sys/kernel/random/boot_id) || return 1
	bha pause p1 || return 1
	q=$(qemu_pids "$root")
	[ -n "$q" ] || { echo "no QEMU for p1"; return 1; }
	kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	consistent || return 1
	expect_eq "p1's state" "$(state_of p1)" Paused || return 1
	alive "$q" || { echo "the paused QEMU died"; return 1; }
	bha unpause p1 || return 1
	expect_eq "p1's boot" "$(bha run p1 -- cat /proc/sys/kernel/random/boot_id)" "$boot" || return 1
	bha kill p1
}

# kill9_mid_copy daemon|control TMP FINAL: kill -9 of the daemon (its
# root parent, and control with it) or of its control alone while a job's
# child writes TMP: it dies, the child with control (PR_SET_PDEATHSIG),
# and FINAL, what TMP was to become, does not exist.
kill9_mid_copy() {
	local pid
	if [ "$1" = control ]; then
		pid=$(control_pid "$root")
		kill -9 "$pid"
		wait_until 10 sh -c "! kill -0 $pid" || { echo "control survived"; return 1; }
	else
		kill9_daemon "$root" || { echo "daemon survived"; return 1; }
	fi
	wait_until 10 sh -c "! { ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -qF -- '$2'; }" ||
		{ echo "the job's child outlived its daemon"; return 1; }
	[ ! -e "$3" ] || { echo "a half-copied image under its final name: $3"; return 1; }
}

# kill -9 of the daemon (or of its control alone) in the middle of a job
# (a clone's copy, throttled by BULKHEAD_TEST_JOB_THROTTLE so that it is
# caught mid-way): the job's child dies with control, the restart (bh's,
# or the root parent's) waits for it and removes the
# temporary it was writing, no half-copied volume looks whole, no record
# of the clone exists and the source is intact.
kill9_mid_job_case() { # daemon|control: whom kill -9 strikes
	local cpid tmp
	bha create -t minimal -l red j1 || return 1
	mark "$(priv j1)" || return 1
	stop_daemon || return 1
	BULKHEAD_TEST_JOB_THROTTLE=64 bha ls >/dev/null || return 1
	BULKHEAD_ROOT=$root BULKHEAD_DAEMON=$BULKHEADD "$BH" clone j1 j2 \
		</dev/null >"$root/op.out" 2>&1 &
	cpid=$!
	wait_until 30 sh -c "ls $(state)/qubes/j2/private.img.tmp-* >/dev/null 2>&1" ||
		{ echo "no copy under way: $(cat "$root/op.out")"; return 1; }
	tmp=$(ls "$(state)"/qubes/j2/private.img.tmp-*)
	holders() { ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -qF -- "$tmp"; }
	holders || { echo "nothing writes $tmp"; return 1; }
	kill9_mid_copy "$1" "$tmp" "$(state)/qubes/j2/private.img" || return 1
	wait "$cpid"
	consistent || return 1
	no_qube j2 || return 1
	has_mark "$(priv j1)" || return 1
	# The next clone, unthrottled, works.
	stop_daemon || return 1
	bha clone j1 j3 || return 1
	has_mark "$(priv j3)"
}

# kill -9 of the daemon while a TemplateVM's start copies its root to
# the new version it would write (a job, throttled so that it is caught
# mid-way): the job's child dies with its daemon, no half-copied version
# looks whole, the restart removes the temporary, and the template is
# halted with its one version. No QEMU was started.
test_kill9_mid_template_copy() {
	local spid tmp
	bha create --class TemplateVM -t minimal -l black t2 || return 1
	stop_daemon || return 1
	BULKHEAD_TEST_JOB_THROTTLE=4 bha ls >/dev/null || return 1
	BULKHEAD_ROOT=$root BULKHEAD_DAEMON=$BULKHEADD "$BH" start t2 \
		</dev/null >"$root/op.out" 2>&1 &
	spid=$!
	wait_until 30 sh -c "ls $(state)/templates/t2/root-1.img.tmp-* >/dev/null 2>&1" ||
		{ echo "no copy under way: $(cat "$root/op.out")"; kill "$spid"; return 1; }
	tmp=$(ls "$(state)"/templates/t2/root-1.img.tmp-*)
	kill9_mid_copy daemon "$tmp" "$(state)/templates/t2/root-1.img" || return 1
	wait "$spid"
	consistent || return 1
	expect_eq "t2's state" "$(state_of t2)" Halted || return 1
	expect_eq "t2's root versions" "$(ls "$(state)/templates/t2" | tr '\n' ' ')" \
		"root-0.img root.img " || return 1
	no_qemu || { echo "a QEMU runs: $(root_qemus)"; return 1; }
}

if ! command -v "$BH" >/dev/null || ! command -v "$BULKHEADD" >/dev/null; then
	echo "crash: bh or bulkheadd not found (make, or run ./setup)"
	echo "crash: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "crash: bulkheadd runs as root only"
	echo "crash: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

tc() { run_test "$@"; }

# The steps of create, clone, remove and start; PFX names the scope.
crash_point_cases() {
	local p=$1
	tc ${p}create.after-validation create_case create.after-validation AppVM absent
	tc ${p}create.volume.before-rename create_case volume.before-rename AppVM present
	tc ${p}create.after-record create_case create.after-record AppVM present
	tc ${p}create.after-private create_case create.after-private AppVM present
	tc ${p}create.template.before-rename create_case volume.before-rename TemplateVM absent
	tc ${p}create.after-root-copy create_case create.after-root-copy StandaloneVM absent
	tc ${p}create.template.after-record create_case create.after-record TemplateVM present
	tc ${p}clone.after-private-copy clone_case clone.after-private-copy AppVM absent
	tc ${p}clone.volume.before-rename clone_case volume.before-rename AppVM absent
	tc ${p}clone.after-root-copy clone_case clone.after-root-copy StandaloneVM absent
	tc ${p}clone.before-record clone_case clone.before-record AppVM absent
	tc ${p}clone.after-record clone_case clone.after-record TemplateVM present
	tc ${p}test_remove_after_record test_remove_after_record
	tc ${p}test_remove_between_folders test_remove_between_folders
	tc ${p}start.after-private start_case start.after-private halted
	tc ${p}start.after-launch start_case start.after-launch either
	tc ${p}start.before-running start_case start.before-running reattached
	tc ${p}test_dispvm_copy_crash test_dispvm_copy_crash
	tc ${p}test_snapshot_crash test_snapshot_crash
}

crash_point_cases ""
run_test test_kill9_running
run_test test_kill9_control
run_test test_kill9_chan
run_test test_kill9_chan_reattached
run_test test_kill9_template
tc chan.confined                 chan_case chan.confined start
tc chan.qmp-ready                chan_case chan.qmp-ready start
tc chan.hello                    chan_case chan.hello start
tc chan.exit-frame               chan_case chan.exit-frame run
tc chan.detached                 reattach_chan_case chan.detached
tc chan.attached                 reattach_chan_case chan.attached
run_test test_chan_attach_silent
run_test test_kill9_paused
tc test_kill9_mid_job kill9_mid_job_case daemon
tc test_kill9_control_mid_job kill9_mid_job_case control
run_test test_kill9_mid_template_copy
# The same steps with control alone killed at each: the root parent
# starts a new one, which must make the same sense of them.
CRASH_SCOPE=control
crash_point_cases control.

summary
