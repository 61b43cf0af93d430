#!/usr/bin/env bash
# VM tests: boot real qubes (TCG on our machines) through the installed
# bh and bulkheadd. The happy-path tests share one daemon and its root; the
# error tests each get a root of their own, since each breaks something
# (QEMU, kernel, space, daemon). Prints "vm: NAME ok|FAILED|SKIPPED: why"
# per test and ends with "vm: N passed, N failed, N skipped".
#
# Usage: tests/vm/run-vm-tests.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"

suite_init vm "${1:-}"
work=$(mktemp -d /tmp/bh-vmtests.XXXXXX)
main_root=""

cleanup() {
	[ -n "$main_root" ] && stop_root "$main_root"
	rm -rf "$work"
}
trap cleanup EXIT

# main_after NAME: runs a test, then checks that its runs left no qube
# folder and no QEMU behind: bh returns only after the qube is destroyed.
main_after() {
	"$1" || return $?
	[ -z "$main_root" ] || no_leftovers "$main_root"
}

run_test() {
	local name=$1 out
	selected "$name" || return 0
	out=$(main_after "$name" 2>&1)
	tally vm "$name" $? "$out"
}

# ---------------------------------------------------------------- happy path

test_autostart_and_kernel_version() {
	local err want got
	got=$(bhm run --dispvm -- uname -r </dev/null 2>"$work/err") || {
		cat "$work/err"; return 1; }
	err=$(cat "$work/err")
	want=$(readlink "$BH_IMAGES/kernels/current")
	expect_eq "uname -r" "$got" "$want" &&
		expect_contains "bh's notice" "$err" "started bulkheadd" &&
		expect_contains "engine notice" "$err" "engine="
}

test_exit_codes() {
	local rc
	bhm run --dispvm -- true </dev/null; rc=$?
	expect_eq "true" "$rc" 0 || return 1
	bhm run --dispvm -- sh -c 'exit 7' </dev/null; rc=$?
	expect_eq "exit 7" "$rc" 7 || return 1
	bhm run --dispvm -- sh -c 'kill -9 $$' </dev/null; rc=$?
	expect_eq "kill -9" "$rc" $((128 + 9))
}

test_stdin_flows() {
	local got
	got=$(echo hi | bhm run --dispvm -- cat)
	expect_eq "echo hi | cat" "$got" "hi"
}

test_binary_stdout_1mib() {
	# The guest makes 1 MiB of random bytes, prints their sha256 on
	# stderr and the bytes on stdout; the host hashes what arrived.
	local inside outside size
	bhm run --dispvm -- sh -c \
		'head -c 1048576 /dev/urandom >/tmp/r; sha256sum </tmp/r >&2; cat /tmp/r' \
		</dev/null >"$work/out" 2>"$work/err" || { cat "$work/err"; return 1; }
	size=$(stat -c %s "$work/out")
	inside=$(cut -d' ' -f1 <"$work/err")
	outside=$(sha256sum <"$work/out" | cut -d' ' -f1)
	expect_eq "size" "$size" 1048576 && expect_eq "sha256" "$outside" "$inside"
}

test_binary_roundtrip_1mib() {
	local a b
	head -c 1048576 /dev/urandom >"$work/in"
	bhm run --dispvm -- cat <"$work/in" >"$work/back" || return 1
	a=$(sha256sum <"$work/in") b=$(sha256sum <"$work/back")
	expect_eq "sha256 after a round trip" "$b" "$a"
}

test_env_and_hostname() {
	local got
	got=$(bhm run --dispvm -e GREETING=hello -- sh -c 'echo "$GREETING $(hostname)"' </dev/null)
	case $got in
	"hello disp"[0-9]*) return 0 ;;
	esac
	echo "got '$got', want 'hello dispN'"
	return 1
}

test_env_adds_to_defaults() {
	# -e adds to the default environment: PATH stays, so commands in
	# /usr/sbin are still found.
	local got
	got=$(bhm run --dispvm -e FOO=1 -- sh -c 'echo "$FOO $PATH"' </dev/null)
	expect_eq "env" "$got" "1 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

test_guest_tsc_rate() {
	# Under TCG the daemon tells the guest the host's TSC rate; a wrong
	# unit makes every guest timer crawl. The guest's figure must match
	# the host's within 1%.
	local host guest line
	host=$(awk -F: '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	line=$(bhm run --dispvm -u root -- sh -c 'dmesg | grep "tsc: Detected"' </dev/null | tail -n 1)
	guest=$(sed -E 's/.*Detected ([0-9.]+) MHz.*/\1/' <<<"$line")
	awk -v h="$host" -v g="$guest" 'BEGIN { exit !(g > h * 0.99 && g < h * 1.01) }' ||
		{ echo "guest TSC '$line' vs host $host MHz"; return 1; }
}

test_broken_stdout_ends_run() {
	# bh run ... | head -1: once nobody reads, bh ends with SIGPIPE's
	# status and the qube is destroyed, as a pipeline's writer would.
	local rc
	bhm run --dispvm -- yes </dev/null | head -n 1 >/dev/null
	rc=${PIPESTATUS[0]}
	expect_eq "status" "$rc" $((128 + 13)) &&
		wait_until 30 no_leftovers "$main_root"
}

test_not_found_and_not_executable() {
	local rc err
	err=$(bhm run --dispvm -- no-such-command </dev/null 2>&1); rc=$?
	expect_eq "missing command" "$rc" 127 &&
		expect_contains "message" "$err" "not found" || return 1
	bhm run --dispvm -- /etc/passwd </dev/null 2>/dev/null; rc=$?
	expect_eq "not executable" "$rc" 126
}

test_template_root_untouched() {
	# Writes under / land in the tmpfs overlay; the template image that
	# every qube shares stays as it was.
	local img before after got
	img=$(readlink -f "$BH_IMAGES/templates/minimal/root.img")
	before=$(sha256sum <"$img")
	got=$(bhm run --dispvm -u root -- sh -c 'echo x >/etc/scribble && cat /etc/scribble' </dev/null)
	after=$(sha256sum <"$img")
	expect_eq "write in the qube" "$got" "x" &&
		expect_eq "template image" "$after" "$before"
}

test_parallel_disposables_isolated() {
	# Two disposables run at once. Each writes a marker, says so, and
	# waits on its stdin; once both have written, both list the places
	# the other wrote to. A fifo per qube is the barrier: no sleeps.
	local q fa fb la lb
	mkfifo "$work/ina" "$work/inb"
	for q in a b; do
		bhm run --dispvm -u root -- sh -c \
			"echo $q >/root/marker-$q; echo $q >/tmp/marker-$q; echo written; read go; ls /root /tmp" \
			<"$work/in$q" >"$work/out$q" 2>&1 &
	done
	exec {fa}>"$work/ina" {fb}>"$work/inb"
	wait_until 120 grep -q written "$work/outa" || { echo "a never wrote"; cat "$work/outa"; }
	wait_until 120 grep -q written "$work/outb" || { echo "b never wrote"; cat "$work/outb"; }
	echo go >&"$fa"; echo go >&"$fb"
	exec {fa}>&- {fb}>&-
	wait
	la=$(cat "$work/outa") lb=$(cat "$work/outb")
	expect_contains "a sees its own" "$la" "marker-a" &&
		expect_contains "b sees its own" "$lb" "marker-b" || return 1
	case "$la" in
	*marker-b*) echo "a saw b's file: $la"; return 1 ;;
	esac
	case "$lb" in
	*marker-a*) echo "b saw a's file: $lb"; return 1 ;;
	esac
	return 0
}

test_bh_killed_destroys_qube() {
	# bh dies while its command runs: the daemon destroys the qube.
	local pid
	mkfifo "$work/hold"
	bhm run --dispvm -- sh -c 'echo command-started; exec cat' <"$work/hold" >"$work/kout" 2>&1 &
	pid=$!
	exec {h}>"$work/hold"
	wait_until 120 grep -q command-started "$work/kout" || { echo "never ran"; cat "$work/kout"; exec {h}>&-; return 1; }
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	exec {h}>&-
	wait_until 30 no_leftovers "$main_root" || { no_leftovers "$main_root"; return 1; }
}

# ls_state NAME: the qube's power state from `bh ls --format json`.
ls_state() {
	bhm ls --format json </dev/null |
		python3 -c 'import json,sys; n=sys.argv[1]; print([q["state"] for q in json.load(sys.stdin) if q["name"]==n][0])' "$1"
}

# is_state NAME STATE
is_state() { [ "$(ls_state "$1")" = "$2" ]; }

test_appvm_home_persists() {
	# An AppVM: what is written under /home (its private volume) survives
	# a shutdown and a start; what is written elsewhere does not.
	local got
	bhm create -l red -t minimal vmt-work </dev/null >/dev/null || return 1
	bhm start vmt-work </dev/null || return 1
	expect_eq "state" "$(ls_state vmt-work)" Running || return 1
	bhm run -u root vmt-work -- sh -c 'echo kept >/home/note; echo gone >/etc/note' </dev/null || return 1
	bhm shutdown --wait vmt-work </dev/null || return 1
	expect_eq "state after shutdown" "$(ls_state vmt-work)" Halted || return 1
	bhm start vmt-work </dev/null || return 1
	got=$(bhm run vmt-work -- sh -c 'cat /home/note; test -e /etc/note && echo etc-kept' </dev/null)
	expect_eq "after a restart" "$got" "kept" || return 1
	bhm shutdown --wait vmt-work </dev/null
}

test_appvm_lifecycle() {
	# kernelopts reach the kernel; pause/unpause, kill, and a QEMU that
	# dies is noticed and recorded.
	local q
	bhm prefs vmt-work kernelopts bh_test_opt=1 </dev/null || return 1
	bhm start vmt-work </dev/null || return 1
	expect_contains "kernel command line" \
		"$(bhm run vmt-work -- cat /proc/cmdline </dev/null)" "bh_test_opt=1" || return 1
	bhm pause vmt-work </dev/null || return 1
	expect_eq "paused" "$(ls_state vmt-work)" Paused || return 1
	bhm unpause vmt-work </dev/null || return 1
	expect_eq "unpaused" "$(ls_state vmt-work)" Running || return 1
	bhm run vmt-work -- true </dev/null || { echo "run after unpause failed"; return 1; }
	bhm kill vmt-work </dev/null || return 1
	expect_eq "killed" "$(ls_state vmt-work)" Halted || return 1
	bhm start vmt-work </dev/null || return 1
	q=$(qemu_pids "$main_root")
	[ -n "$q" ] || { echo "no QEMU for vmt-work"; return 1; }
	kill -9 $q
	wait_until 30 is_state vmt-work Halted ||
		{ echo "a dead QEMU was not noticed: $(ls_state vmt-work)"; return 1; }
	no_leftovers "$main_root"
}

test_template_change_at_next_start() {
	# A change made in a running template reaches its AppVMs at their
	# next start only: a running AppVM keeps the root it started with.
	local got
	bhm create --class TemplateVM -l black -t minimal vmt-tpl </dev/null >/dev/null || return 1
	bhm create -l red -t vmt-tpl vmt-app </dev/null >/dev/null || return 1
	bhm start vmt-app </dev/null || return 1
	bhm start vmt-tpl </dev/null || return 1
	bhm run -u root vmt-tpl -- sh -c 'echo v2 >/etc/tpl-version' </dev/null || return 1
	got=$(bhm run vmt-app -- sh -c 'cat /etc/tpl-version 2>/dev/null || echo none' </dev/null)
	expect_eq "app while the template runs" "$got" none || return 1
	bhm shutdown --wait vmt-tpl </dev/null || return 1
	got=$(bhm run vmt-app -- sh -c 'cat /etc/tpl-version 2>/dev/null || echo none' </dev/null)
	expect_eq "running app after the template's shutdown" "$got" none || return 1
	bhm shutdown --wait vmt-app </dev/null || return 1
	bhm start vmt-app </dev/null || return 1
	got=$(bhm run vmt-app -- cat /etc/tpl-version </dev/null)
	expect_eq "app at its next start" "$got" v2 || return 1
	bhm shutdown --wait vmt-app </dev/null &&
		bhm remove --yes vmt-app </dev/null >/dev/null &&
		bhm remove --yes vmt-tpl </dev/null >/dev/null
}

# ------------------------------------------- bh run QUBE, as qvm-run (issue 11, point 10)

test_readme_first_command() {
	# The README's first command, as the disposable's default_user now:
	# its kernel, its name and the template's os-release all show.
	local got
	got=$(bhm run --dispvm -- sh -c 'uname -r; hostname; cat /etc/os-release' </dev/null) || return 1
	expect_eq "uname -r" "$(sed -n 1p <<<"$got")" "$(readlink "$BH_IMAGES/kernels/current")" &&
		expect_contains "hostname" "$(sed -n 2p <<<"$got")" disp &&
		expect_contains "os-release" "$got" "NAME=" &&
		expect_eq "user" "$(bhm run --dispvm -- id -un </dev/null)" user
}

test_daemon_restart_keeps_qubes() {
	# bh daemon restart leaves running qubes running (issue 12, point
	# 2): the new daemon re-attaches to them, with the same QEMU and the
	# same boot, bh ls shows them Running, and bh run works in them.
	local boot q pid newpid rcv
	is_running() { is_state vmt-keep Running; }
	bhm create -l red -t minimal vmt-keep </dev/null >/dev/null || return 1
	bhm start vmt-keep </dev/null || return 1
	boot=$(bhm run vmt-keep -- cat /proc/sys/kernel/random/boot_id </dev/null) || return 1
	q=$(qemu_pids "$main_root")
	[ -n "$q" ] || { echo "no QEMU for vmt-keep"; return 1; }
	# A command running across the restart: its bh is told it goes on.
	bhm run vmt-keep -- sh -c 'echo started; exec sleep 30' </dev/null >"$work/keep.out" 2>&1 &
	rcv=$!
	wait_until 60 grep -q started "$work/keep.out" || { echo "the command never started"; return 1; }
	pid=$(cat "$main_root/run/bulkhead/bulkheadd.pid")
	bhm daemon restart </dev/null || return 1
	wait "$rcv" && { echo "bh run ended well across the restart"; return 1; }
	expect_contains "bh run across the restart" "$(cat "$work/keep.out")" \
		"bulkheadd restarted; the command goes on in qube vmt-keep" || return 1
	newpid=$(cat "$main_root/run/bulkhead/bulkheadd.pid")
	[ "$newpid" != "$pid" ] || { echo "the daemon was not restarted (pid $pid)"; return 1; }
	gone "$pid" || { echo "the earlier daemon $pid still runs"; return 1; }
	wait_until 30 is_running || { echo "vmt-keep after the restart: $(ls_state vmt-keep)"; return 1; }
	expect_eq "vmt-keep's QEMU" "$(qemu_pids "$main_root")" "$q" || return 1
	expect_eq "vmt-keep's boot" \
		"$(bhm run vmt-keep -- cat /proc/sys/kernel/random/boot_id </dev/null)" "$boot" || return 1
	bhm shutdown --wait vmt-keep </dev/null || return 1
	expect_eq "after shutdown" "$(ls_state vmt-keep)" Halted || return 1
	gone "$q" || { echo "vmt-keep's QEMU outlived its shutdown"; return 1; }
	bhm remove -y vmt-keep </dev/null >/dev/null
}

test_run_starts_halted_qube() {
	# --no-autostart refuses a halted qube and leaves it halted; without
	# it bh run starts the qube (as bh start would), holds the command's
	# stdin until it is up, and runs the command.
	local err rc got
	bhm create -l red -t minimal vmt-run </dev/null >/dev/null || return 1
	err=$(bhm run --no-autostart vmt-run -- true </dev/null 2>&1); rc=$?
	expect_eq "--no-autostart: status" "$rc" 125 || return 1
	expect_contains "--no-autostart: message" "$err" "qube vmt-run is not running; start it with \`bh start vmt-run\`" || return 1
	expect_eq "--no-autostart: state" "$(ls_state vmt-run)" Halted || return 1
	got=$(echo hi | bhm run vmt-run -- cat) || return 1
	expect_eq "stdin through a start" "$got" hi || return 1
	expect_eq "started" "$(ls_state vmt-run)" Running || return 1
	expect_eq "-n on a running qube" "$(bhm run -n vmt-run -- echo up </dev/null)" up || return 1
	bhm shutdown --wait vmt-run </dev/null || return 1
	# Two at once on a halted qube: one starts it, the other waits for
	# it; both run.
	bhm run vmt-run -- echo one </dev/null >"$work/run1" 2>&1 &
	bhm run vmt-run -- echo two </dev/null >"$work/run2" 2>&1 &
	wait
	expect_eq "first of two" "$(cat "$work/run1")" one &&
		expect_eq "second of two" "$(cat "$work/run2")" two || return 1
	err=$(bhm run vmt-nosuch -- true </dev/null 2>&1); rc=$?
	expect_eq "no such qube: status" "$rc" 120 &&
		expect_contains "no such qube: message" "$err" "no qube named 'vmt-nosuch'" || return 1
	bhm shutdown --wait vmt-run </dev/null
}

test_run_unpauses_paused_qube() {
	# As qvm-run: a paused qube is unpaused for the command, unless
	# --no-autostart, which refuses and leaves it paused.
	local err rc
	bhm start vmt-run </dev/null || return 1
	bhm pause vmt-run </dev/null || return 1
	err=$(bhm run --no-autostart vmt-run -- true </dev/null 2>&1); rc=$?
	expect_eq "--no-autostart: status" "$rc" 125 &&
		expect_contains "--no-autostart: message" "$err" "qube vmt-run is paused; unpause it with" &&
		expect_eq "--no-autostart: state" "$(ls_state vmt-run)" Paused || return 1
	expect_eq "run" "$(bhm run vmt-run -- echo up </dev/null)" up &&
		expect_eq "unpaused" "$(ls_state vmt-run)" Running || return 1
	bhm shutdown --wait vmt-run </dev/null
}

test_run_as_default_user() {
	# Commands run as the qube's default_user ("user" by default), -u
	# root as root; a changed default_user takes effect at the next run;
	# an account the qube lacks is refused with what to do.
	local err rc
	expect_eq "default" "$(bhm run vmt-run -- id -un </dev/null)" user &&
		expect_eq "HOME" "$(bhm run vmt-run -- sh -c 'echo $HOME; pwd' </dev/null | tr '\n' ' ')" "/home/user /home/user " &&
		expect_eq "-u root" "$(bhm run -u root vmt-run -- id -un </dev/null)" root &&
		expect_eq "--user root" "$(bhm run --user root vmt-run -- id -u </dev/null)" 0 || return 1
	expect_eq "prefs" "$(bhm prefs vmt-run default_user </dev/null)" user || return 1
	bhm prefs vmt-run default_user root </dev/null || return 1
	expect_eq "default_user root" "$(bhm run vmt-run -- id -un </dev/null)" root &&
		expect_eq "-u over default_user" "$(bhm run -u user vmt-run -- id -un </dev/null)" user || return 1
	bhm prefs vmt-run default_user nobody-here </dev/null || return 1
	err=$(bhm run vmt-run -- true </dev/null 2>&1); rc=$?
	expect_eq "missing default_user: status" "$rc" 125 &&
		expect_contains "missing default_user: message" "$err" "bh prefs vmt-run default_user USER" || return 1
	err=$(bhm run -u nobody2 vmt-run -- true </dev/null 2>&1); rc=$?
	expect_eq "missing -u user: status" "$rc" 125 &&
		expect_contains "missing -u user: message" "$err" "the qube has no user 'nobody2'" || return 1
	err=$(bhm prefs vmt-run default_user 'Bad:Name' </dev/null 2>&1); rc=$?
	expect_eq "bad name: status" "$rc" 2 &&
		expect_contains "bad name: message" "$err" "default_user must be a user name" || return 1
	bhm prefs vmt-run default_user --default </dev/null || return 1
	expect_eq "reset" "$(bhm run vmt-run -- id -un </dev/null)" user || return 1
	bhm shutdown --wait vmt-run </dev/null &&
		bhm remove --yes vmt-run </dev/null >/dev/null
}

test_dispvm_runs_as_dvm_default_user() {
	# A disposable runs as its disposable template's default_user, which
	# follows the DVM's own template until set (Qubes' inheritance).
	local got
	bhm create -l red -t minimal vmt-udvm </dev/null >/dev/null || return 1
	bhm prefs vmt-udvm template_for_dispvms True </dev/null || return 1
	expect_eq "inherited" "$(bhm run --dispvm=vmt-udvm -- id -un </dev/null)" user || return 1
	bhm prefs vmt-udvm default_user root </dev/null || return 1
	expect_eq "DVM's default_user" "$(bhm run --dispvm=vmt-udvm -- id -un </dev/null)" root &&
		expect_eq "-u over it" "$(bhm run --dispvm=vmt-udvm -u user -- id -un </dev/null)" user || return 1
	bhm prefs vmt-udvm default_user --default </dev/null || return 1
	bhm prefs minimal default_user root </dev/null || return 1
	got=$(bhm run --dispvm=vmt-udvm -- id -un </dev/null)
	bhm prefs minimal default_user --default </dev/null || return 1
	expect_eq "from the DVM's template" "$got" root || return 1
	bhm remove --yes vmt-udvm </dev/null >/dev/null
}

test_agent_private_volume() {
	# The agent's /rw and /home, booted without the daemon (which gives
	# disposables no private volume yet).
	python3 "$here/agent_private_volume.py" "$BH_IMAGES"
}

test_qemu_jailed() {
	# While a disposable runs, its QEMU is jailed: a uid of its own (not
	# root), no_new_privs, QEMU's seccomp filter, no capabilities.
	local pid q st bad=0
	mkfifo "$work/jhold"
	bhm run --dispvm -- sh -c 'echo command-started; exec cat' <"$work/jhold" >"$work/jout" 2>&1 &
	pid=$!
	exec {h}>"$work/jhold"
	wait_until 120 grep -q command-started "$work/jout" || { echo "never ran"; cat "$work/jout"; exec {h}>&-; return 1; }
	for q in $(qemu_pids "$main_root"); do
		st=$(cat "/proc/$q/status")
		grep -qE '^Uid:\s+0\s' <<<"$st" && { echo "QEMU $q runs as root"; bad=1; }
		grep -qE '^NoNewPrivs:\s+1$' <<<"$st" || { echo "QEMU $q: no NoNewPrivs"; bad=1; }
		grep -qE '^Seccomp:\s+2$' <<<"$st" || { echo "QEMU $q: no seccomp filter"; bad=1; }
		grep -qE '^CapEff:\s+0+$' <<<"$st" || { echo "QEMU $q: has capabilities"; bad=1; }
		grep -qE '^CapBnd:\s+0+$' <<<"$st" || { echo "QEMU $q: bounding set not empty"; bad=1; }
	done
	[ -n "$(qemu_pids "$main_root")" ] || { echo "no QEMU found"; bad=1; }
	exec {h}>&-
	wait "$pid"
	return $bad
}

test_chan_confined() {
	# While a disposable runs, its channel process (bulkhead-chan: it
	# parses every byte of the qube's channel) is confined: a uid of its
	# own (not root, not its QEMU's), no capabilities at all, no_new_privs,
	# a seccomp filter, an empty root; it holds only sockets and pipes and
	# the qube's two logs. The daemon holds none of the qube's channel,
	# console or QEMU output (only its link to the process, and QMP).
	local pid c q st bad=0 quid cuid fds dpid
	mkfifo "$work/chold"
	bhm run --dispvm -- sh -c 'echo command-started; exec cat' <"$work/chold" >"$work/cout" 2>&1 &
	pid=$!
	exec {h}>"$work/chold"
	wait_until 120 grep -q command-started "$work/cout" || { echo "never ran"; cat "$work/cout"; exec {h}>&-; return 1; }
	c=$(chan_pids "$main_root")
	q=$(qemu_pids "$main_root")
	[ "$(wc -w <<<"$c")" = 1 ] && [ "$(wc -w <<<"$q")" = 1 ] ||
		{ echo "expected one channel process and one QEMU: '$c' '$q'"; exec {h}>&-; wait "$pid"; return 1; }
	st=$(cat "/proc/$c/status")
	cuid=$(awk '/^Uid:/ { print $2 }' <<<"$st")
	quid=$(awk '/^Uid:/ { print $2 }' "/proc/$q/status")
	echo "measured: channel process $c uid $cuid, QEMU $q uid $quid"
	[ "$cuid" != 0 ] || { echo "channel process runs as root"; bad=1; }
	[ "$cuid" != "$quid" ] || { echo "channel process shares QEMU's uid"; bad=1; }
	grep -qE '^Uid:\s+([0-9]+)\s+\1\s+\1\s+\1$' <<<"$st" || { echo "uids not all the same"; bad=1; }
	grep -qE '^Groups:\s*$' <<<"$st" || { echo "supplementary groups left"; bad=1; }
	for k in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -qE "^$k:\\s+0+\$" <<<"$st" || { echo "channel process: $k not empty"; bad=1; }
	done
	grep -qE '^NoNewPrivs:\s+1$' <<<"$st" || { echo "channel process: no NoNewPrivs"; bad=1; }
	grep -qE '^Seccomp:\s+2$' <<<"$st" || { echo "channel process: no seccomp filter"; bad=1; }
	[ -z "$(ls -A "/proc/$c/root/")" ] || { echo "channel process's root is not empty: $(ls -A "/proc/$c/root/")"; bad=1; }
	# Its fds: sockets, pipes, /dev/null-like stdio, and the logs.
	fds=$(for f in /proc/$c/fd/*; do readlink "$f"; done | grep -v -e '^socket:' -e '^pipe:' -e '^/dev/null$' -e '/console\.log' -e '/qemu\.log' -e 'bulkheadd\.log$' || true)
	[ -z "$fds" ] || { echo "channel process holds other files: $fds"; bad=1; }
	# The daemon (control, nor its root parent) keeps no log of the
	# qube open: the channel process writes them.
	[ "$(daemon_pids "$main_root" | wc -l)" = 2 ] || { echo "the daemon's two processes not found"; bad=1; }
	for dpid in $(daemon_pids "$main_root"); do
		if for f in /proc/$dpid/fd/*; do readlink "$f"; done | grep -q -e '/console\.log' -e '/qemu\.log'; then
			echo "the daemon ($dpid) still holds a qube's log"; bad=1
		fi
	done
	exec {h}>&-
	wait "$pid" || { echo "the run failed"; bad=1; }
	[ -z "$(chan_pids "$main_root")" ] || { echo "channel process left after the run"; bad=1; }
	return $bad
}

# host_cgroup_mode: the limits this host can give (src/daemon/engine/cgroup.h):
# v2 when its cgroup2 offers memory and pids, else v1 when cgroup v1
# hierarchies hold memory and pids, else off.
host_cgroup_mode() {
	local mnt
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	if [ -n "$mnt" ] && grep -qw memory "$mnt/cgroup.controllers" &&
		grep -qw pids "$mnt/cgroup.controllers"; then
		echo v2
	elif [ -n "$(v1_mnt memory)" ] && [ -n "$(v1_mnt pids)" ]; then
		echo v1
	else
		echo off
	fi
}
# v1_mnt CONTROLLER: where the cgroup v1 hierarchy holding it is mounted
# (whole, root "/").
v1_mnt() {
	awk -v c="$1" '{ for (i = 7; i < NF; i++) if ($i == "-") break
		if ($(i + 1) != "cgroup" || $4 != "/") next
		n = split($(i + 3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) { print $5; exit } }' /proc/self/mountinfo
}
# v1_cgroup_of PID CONTROLLER: PID's path in that hierarchy.
v1_cgroup_of() {
	awk -F: -v c="$2" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' "/proc/$1/cgroup"
}

test_qemu_cgroup() {
	# Each QEMU of the daemon runs in a cgroup of its own whose limits
	# follow the qube's memory and vCPUs (cgroup.h): under cgroup v2,
	# or v1 where v2 lacks memory and pids (our hosts), one group per
	# hierarchy under the daemon's own; the daemon said which once at
	# start, and the groups go with the qube. With neither, it said so
	# and runs QEMU all the same.
	local pid q n=0 g want cpus mode dpid own gone=() d
	mode=$(host_cgroup_mode)
	if [ "$mode" = off ]; then
		bhm run --dispvm -- true </dev/null 2>"$work/cgerr" || { cat "$work/cgerr"; return 1; }
		n=$(daemon_log | grep -c 'cgroups: off, QEMU runs without memory and pids limits: ')
		expect_eq "lines saying cgroups are off" "$n" 1 || return 1
		echo "no memory/pids in this host's cgroup2 or cgroup v1 (v2 checked in a guest by test_cgroup_module_in_guest)"
		return 77
	fi
	mkfifo "$work/cghold"
	bhm run --dispvm -- sh -c 'echo command-started; exec cat' <"$work/cghold" >"$work/cgout" 2>&1 &
	pid=$!
	exec {h}>"$work/cghold"
	wait_until 120 grep -q command-started "$work/cgout" || { echo "never ran"; exec {h}>&-; return 1; }
	case $mode in
	v2) n=$(daemon_log | grep -c 'cgroups: v2, each QEMU in a group of its own under ') ;;
	v1) n=$(daemon_log | grep -c 'cgroups: v1 (memory, pids), each QEMU in a group of its own under ') ;;
	esac
	expect_eq "lines saying cgroups are $mode" "$n" 1 || { daemon_log | grep cgroups; exec {h}>&-; return 1; }
	n=0
	dpid=$(cat "$main_root/run/bulkhead/bulkheadd.pid")
	for q in $(qemu_pids "$main_root"); do
		want=$(tr '\0' '\n' <"/proc/$q/cmdline" | sed -n 's/^\([0-9]*\)M$/\1/p')
		cpus=$(tr '\0' '\n' <"/proc/$q/cmdline" | sed -n '/^-smp$/{n;p}')
		if [ "$mode" = v2 ]; then
			mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
			g=$(sed -n 's/^0:://p' "/proc/$q/cgroup")
			expect_contains "QEMU $q's group" "$g" "/qube-" &&
				expect_eq "QEMU $q's memory.max" "$(cat "$mnt$g/memory.max")" \
					$(((want + 256) * 1024 * 1024)) || { n=1; break; }
			gone+=("$mnt$g")
			continue
		fi
		# Under the daemon's own group in each hierarchy: OWN/bulkhead-HASH/qube-NAME.
		for c in memory pids; do
			g=$(v1_cgroup_of "$q" $c)
			own=$(v1_cgroup_of "$dpid" $c)
			[[ $g =~ ^${own%/}/bulkhead-[0-9a-f]{16}/qube-[a-z0-9-]+$ ]] ||
				{ echo "QEMU $q's $c group $g is not under the daemon's $own"; n=1; break 2; }
			gone+=("$(v1_mnt $c)$g")
		done
		g=$(v1_mnt memory)$(v1_cgroup_of "$q" memory)
		expect_eq "QEMU $q's memory.limit_in_bytes" "$(cat "$g/memory.limit_in_bytes")" \
			$(((want + 256) * 1024 * 1024)) || { n=1; break; }
		if [ -e "$g/memory.memsw.limit_in_bytes" ]; then
			expect_eq "QEMU $q's memory.memsw.limit_in_bytes" \
				"$(cat "$g/memory.memsw.limit_in_bytes")" \
				$(((want + 256) * 1024 * 1024)) || { n=1; break; }
		fi
		echo "QEMU $q ($want MiB): memory.max_usage_in_bytes $(cat "$g/memory.max_usage_in_bytes") of $(cat "$g/memory.limit_in_bytes")"
		g=$(v1_mnt pids)$(v1_cgroup_of "$q" pids)
		expect_eq "QEMU $q's pids.max" "$(cat "$g/pids.max")" $((80 + cpus)) &&
			expect_eq "QEMU $q's threads counted" "$(cat "$g/pids.current")" \
				"$(ls "/proc/$q/task" | wc -l)" || { n=1; break; }
	done
	[ ${#gone[@]} -gt 0 ] || { echo "no QEMU found"; n=1; }
	exec {h}>&-
	wait "$pid"
	# The qube is gone, and its groups with it.
	for d in "${gone[@]}"; do
		wait_until 20 test ! -e "$d" || { echo "$d left after the qube ended"; n=1; }
	done
	return $n
}

# The cgroup code on a real cgroup2 with memory and pids (a guest's
# kernel: our hosts bind those controllers to cgroup v1): jail_run,
# static, runs busybox jailed as root of a disposable, the way the
# daemon runs QEMU. /sys/fs/cgroup is empty there, so it mounts cgroup2.
test_cgroup_module_in_guest() {
	local jr=$work/jail_run.static out top
	top=$(cd "$here/../.." && pwd)
	gcc -std=c17 -D_GNU_SOURCE -O2 "-I$top/src" -static -o "$jr" \
		"$top/tests/jail/jail_run.c" "$top/src/daemon/engine/jail.c" \
		"$top/src/daemon/engine/cgroup.c" "$top/src/lib/util.c" \
		"$top/src/lib/log.c" || return 1
	# shellcheck disable=SC2016 # expanded in the guest
	out=$(bhm run -u root --dispvm -- sh -c '
		cat >/run/jr && chmod 755 /run/jr && mkdir -m 755 /run/jroot || exit 1
		/run/jr -i 7 -r /run/jroot -o /bin/busybox -t 30 -G a -m 300 -n 2 \
			-- /bin/busybox sleep 1000 >/run/jr.a 2>&1 &
		/run/jr -i 8 -r /run/jroot -o /bin/busybox -t 30 -G b -m 600 -n 1 \
			-- /bin/busybox sleep 1000 >/run/jr.b 2>&1 &
		for i in $(seq 1 100); do
			grep -q "^pid: " /run/jr.a && grep -q "^pid: " /run/jr.b && break
			sleep 0.1
		done
		for name in a b; do
			pid=$(sed -n "s/^pid: //p" /run/jr.$name)
			dir=$(sed -n "s|^cgroup: \(/.*\)|\1|p" /run/jr.$name)
			cat /run/jr.$name
			echo "$name proc-cgroup: $(sed -n "s/^0:://p" /proc/$pid/cgroup)"
			echo "$name memory.max: $(cat $dir/memory.max)"
			echo "$name memory.swap.max: $(cat $dir/memory.swap.max)"
			echo "$name pids.max: $(cat $dir/pids.max)"
			kill -9 $pid
		done
		wait
		grep -h "^cgroup removed" /run/jr.a /run/jr.b
		echo "groups left: $(ls -d /sys/fs/cgroup/bulkhead-*/qube-* 2>/dev/null | wc -l)"' <"$jr" 2>&1)
	echo "$out" | grep -q "^a proc-cgroup: /bulkhead-[0-9a-f]*/qube-a$" &&
		echo "$out" | grep -q "^b proc-cgroup: /bulkhead-[0-9a-f]*/qube-b$" &&
		expect_contains "A's memory.max" "$out" "a memory.max: $(((300 + 256) << 20))" &&
		expect_contains "B's memory.max" "$out" "b memory.max: $(((600 + 256) << 20))" &&
		expect_contains "A's swap" "$out" "a memory.swap.max: 0" &&
		expect_contains "A's pids.max" "$out" "a pids.max: 82" &&
		expect_contains "B's pids.max" "$out" "b pids.max: 81" &&
		expect_contains "groups removed" "$out" "groups left: 0" &&
		[ "$(echo "$out" | grep -c '^cgroup removed: yes$')" = 2 ] ||
		{ echo "$out"; return 1; }
}

test_nothing_left_after_runs() {
	# After every run above: no qube folder, no QEMU, and the state
	# root holds exactly what it held before the first run.
	no_leftovers "$main_root" || return 1
	state_listing "$main_root" >"$work/after"
	diff -u "$work/before" "$work/after"
}

test_console_and_events() {
	# bh console shows the running qube's boot; bh events its power.
	local pid out con rc=0
	out=$(mktemp /tmp/bh-vm-events.XXXXXX)
	bhm ls >/dev/null 2>&1 </dev/null # the daemon runs
	bhm events >"$out" 2>&1 </dev/null &
	pid=$!
	# The subscription is live once a probe qube's removal reaches it.
	wait_until 10 sh -c "BULKHEAD_ROOT=$main_root $BH create -t minimal -l red vmt-evprobe
		BULKHEAD_ROOT=$main_root $BH remove -y vmt-evprobe
		grep -q '^domain-delete vmt-evprobe' $out" </dev/null || { echo "no events"; rc=1; }
	[ $rc = 0 ] && { bhm create -t minimal -l green vmt-con </dev/null || rc=1; }
	[ $rc = 0 ] && { wait_until 10 grep -q "^domain-add vmt-con" "$out" ||
		{ echo "no domain-add: $(cat "$out")"; rc=1; }; }
	[ $rc = 0 ] && { bhm start vmt-con </dev/null || rc=1; }
	if [ $rc = 0 ]; then
		con=$(bhm console -n 1000 vmt-con </dev/null) || rc=1
		# A kernel line ("[    0.48] ...": the guest boots quiet).
		grep -Eq '^\[ *[0-9]+\.[0-9]+\] ' <<<"$con" ||
			{ echo "no kernel line in the console: $con"; rc=1; }
	fi
	[ $rc = 0 ] && { bhm shutdown --wait vmt-con </dev/null || rc=1; }
	[ $rc = 0 ] && { wait_until 10 grep -q "^domain-shutdown vmt-con" "$out" ||
		{ echo "no domain-shutdown: $(cat "$out")"; rc=1; }; }
	[ $rc = 0 ] && { grep -q "^domain-start vmt-con state=Running" "$out" ||
		{ echo "no domain-start: $(cat "$out")"; rc=1; }; }
	[ $rc = 0 ] || bhm kill vmt-con </dev/null >/dev/null 2>&1
	bhm remove -y vmt-con </dev/null || rc=1
	kill "$pid"; wait "$pid" 2>/dev/null
	rm -f "$out"
	return $rc
}

# ---------------------------------------------------- disposable templates

dvm_private() { echo "$main_root/var/lib/bulkhead/qubes/vmt-dvm/private.img"; }

test_dispvm_from_dvm() {
	# bh run --dispvm=DVM: the disposable sees DVM's /home; what it
	# writes there does not reach DVM.
	local got
	bhm create -l red -t minimal vmt-dvm </dev/null >/dev/null || return 1
	bhm prefs vmt-dvm template_for_dispvms True </dev/null || return 1
	bhm start vmt-dvm </dev/null || return 1
	bhm run -u root vmt-dvm -- sh -c 'echo from-dvm >/home/dvm-note' </dev/null || return 1
	bhm shutdown --wait vmt-dvm </dev/null || return 1
	got=$(bhm run --dispvm=vmt-dvm -u root -- sh -c 'cat /home/dvm-note; echo from-disp >/home/disp-note' </dev/null) || return 1
	expect_eq "DVM's /home in the disposable" "$got" from-dvm || return 1
	bhm start vmt-dvm </dev/null || return 1
	got=$(bhm run vmt-dvm -- sh -c 'cat /home/dvm-note; test -e /home/disp-note && echo leaked' </dev/null)
	bhm shutdown --wait vmt-dvm </dev/null || return 1
	expect_eq "DVM after the disposable" "$got" from-dvm
}

test_dispvm_gone_without_trace() {
	# 20 disposables of a DVM, and one that writes in /home: the state
	# root and the run folder hold the same files after as before, and
	# the DVM's private volume is the same bytes.
	local i sum
	state_listing "$main_root" >"$work/dvm-before"
	ls -A "$main_root/run/bulkhead" | sort >"$work/dvm-run-before"
	sum=$(sha256sum <"$(dvm_private)")
	for i in $(seq 1 20); do
		bhm run --dispvm=vmt-dvm -- true </dev/null || { echo "run $i failed"; return 1; }
	done
	bhm run --dispvm=vmt-dvm -u root -- sh -c 'echo scribble >/home/scribble; sync' </dev/null || return 1
	no_leftovers "$main_root" || return 1
	state_listing "$main_root" >"$work/dvm-after"
	ls -A "$main_root/run/bulkhead" | sort >"$work/dvm-run-after"
	diff -u "$work/dvm-before" "$work/dvm-after" || return 1
	diff -u "$work/dvm-run-before" "$work/dvm-run-after" || return 1
	expect_eq "DVM's private volume" "$(sha256sum <"$(dvm_private)")" "$sum"
}

test_named_dispvm() {
	# A DispVM keeps its record, but its /home starts as a fresh copy of
	# its DVM's at each start.
	local got
	bhm create --class DispVM -l red -t vmt-dvm vmt-ndisp </dev/null >/dev/null || return 1
	bhm start vmt-ndisp </dev/null || return 1
	got=$(bhm run -u root vmt-ndisp -- sh -c 'cat /home/dvm-note; echo mine >/home/ndisp-note' </dev/null)
	expect_eq "DVM's /home" "$got" from-dvm || return 1
	bhm shutdown --wait vmt-ndisp </dev/null || return 1
	expect_eq "kept as a record" "$(ls_state vmt-ndisp)" Halted || return 1
	[ ! -e "$main_root/var/lib/bulkhead/qubes/vmt-ndisp/private.img" ] ||
		{ echo "a DispVM got a private volume in the state folder"; return 1; }
	got=$(bhm volume list vmt-ndisp </dev/null | cut -d' ' -f1,5 | tr '\n' ' ')
	expect_eq "volumes" "$got" "root rw=False " || return 1
	got=$(bhm volume resize vmt-ndisp private 4G </dev/null 2>&1) &&
		{ echo "a DispVM's private volume was resized"; return 1; }
	expect_contains "resize" "$got" "resize that one (vmt-dvm)" || return 1
	bhm start vmt-ndisp </dev/null || return 1
	got=$(bhm run vmt-ndisp -- sh -c 'cat /home/ndisp-note 2>/dev/null || echo reset' </dev/null)
	bhm shutdown --wait vmt-ndisp </dev/null || return 1
	expect_eq "after a restart" "$got" reset
}

test_dispvm_refusals() {
	# What cannot be made from what, each refusal saying what to do.
	local err rc
	bhm create -l red -t minimal vmt-plain </dev/null >/dev/null || return 1
	err=$(bhm run --dispvm=vmt-plain -- true </dev/null 2>&1); rc=$?
	expect_eq "not a DVM: status" "$rc" 120 || return 1
	expect_contains "not a DVM" "$err" "bh prefs vmt-plain template_for_dispvms True" || return 1
	err=$(bhm run --dispvm=vmt-nope -- true </dev/null 2>&1); rc=$?
	expect_eq "no such DVM: status" "$rc" 120 || return 1
	expect_contains "no such DVM" "$err" "template_for_dispvms=True" || return 1
	err=$(bhm prefs --global default_dispvm vmt-plain </dev/null 2>&1) &&
		{ echo "default_dispvm accepted a non-DVM"; return 1; }
	expect_contains "default_dispvm" "$err" "template_for_dispvms" || return 1
	err=$(bhm create --class DispVM -l red -t vmt-plain vmt-bad </dev/null 2>&1) &&
		{ echo "a DispVM of a non-DVM was created"; return 1; }
	expect_contains "DispVM of a non-DVM" "$err" "template_for_dispvms True" || return 1
	err=$(bhm remove --yes vmt-dvm </dev/null 2>&1) &&
		{ echo "a DVM in use was removed"; return 1; }
	expect_contains "remove a DVM in use" "$err" "vmt-ndisp" || return 1
	err=$(bhm prefs vmt-dvm template_for_dispvms False </dev/null 2>&1) &&
		{ echo "a DVM in use stopped being one"; return 1; }
	expect_contains "unset a DVM in use" "$err" "vmt-ndisp" || return 1
	# A running DVM: its volume would change under the copy.
	bhm start vmt-dvm </dev/null || return 1
	err=$(bhm run --dispvm=vmt-dvm -- true </dev/null 2>&1); rc=$?
	bhm shutdown --wait vmt-dvm </dev/null || return 1
	[ "$rc" -ne 0 ] || { echo "a running DVM was copied"; return 1; }
	expect_contains "running DVM" "$err" "bh shutdown --wait vmt-dvm" || return 1
	# A DispVM whose DVM lost its private volume.
	mv "$(dvm_private)" "$work/dvm-private.img" || return 1
	err=$(bhm start vmt-ndisp </dev/null 2>&1); rc=$?
	mv "$work/dvm-private.img" "$(dvm_private)" || return 1
	[ "$rc" -ne 0 ] || { echo "started without its DVM's volume"; return 1; }
	expect_contains "DVM's volume gone" "$err" "has no private volume" || return 1
	expect_eq "state" "$(ls_state vmt-ndisp)" Halted || return 1
	# Once nothing uses it, the DVM goes.
	bhm remove --yes vmt-ndisp </dev/null >/dev/null || return 1
	bhm remove --yes vmt-dvm </dev/null >/dev/null &&
		bhm remove --yes vmt-plain </dev/null >/dev/null
}

# --------------------------------------------------------------- bad input

test_usage_errors() {
	local rc err
	err=$(bhm run --bogus -- true 2>&1 </dev/null); rc=$?
	expect_eq "unknown option" "$rc" 120 &&
		expect_contains "message" "$err" "bogus" || return 1
	err=$(bhm run --dispvm 2>&1 </dev/null); rc=$?
	expect_eq "missing command" "$rc" 120 &&
		expect_contains "message" "$err" "missing COMMAND" || return 1
	err=$(bhm run -- true 2>&1 </dev/null); rc=$?
	expect_eq "no --dispvm" "$rc" 120 || return 1
	err=$(bhm run --dispvm --no-autostart -- true 2>&1 </dev/null); rc=$?
	expect_eq "--no-autostart with --dispvm" "$rc" 120 &&
		expect_contains "message" "$err" "--no-autostart applies to a command in QUBE" || return 1
	err=$(bhm frobnicate 2>&1 </dev/null); rc=$?
	expect_eq "unknown verb" "$rc" 120 &&
		expect_contains "message" "$err" "unknown verb"
}

test_qemu_missing() {
	local r rc err
	r=$(new_root qemu)
	err=$(BULKHEAD_ROOT=$r BULKHEAD_QEMU=/nonexistent/qemu "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 122 &&
		expect_contains "message" "$err" "QEMU not found" &&
		expect_contains "fix" "$err" "apt-get install qemu-system-x86" &&
		no_leftovers "$r"
	rc=$?
	stop_root "$r"
	return $rc
}

test_kernel_missing() {
	local r rc err
	r=$(new_root nokernel empty)
	err=$(BULKHEAD_ROOT=$r "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 122 &&
		expect_contains "message" "$err" "bh-build-guest" &&
		no_leftovers "$r"
	rc=$?
	stop_root "$r"
	return $rc
}

test_kernel_corrupt() {
	local r rc err kv
	r=$(new_root corrupt empty)
	kv=$(readlink "$BH_IMAGES/kernels/current")
	mkdir -p "$r/var/lib/bulkhead/kernels"
	cp -a "$BH_IMAGES/kernels/$kv" "$r/var/lib/bulkhead/kernels/"
	ln -s "$kv" "$r/var/lib/bulkhead/kernels/current"
	ln -s "$BH_IMAGES/templates" "$r/var/lib/bulkhead/templates"
	# Flip one byte in the middle of the kernel.
	printf '\xff' | dd of="$r/var/lib/bulkhead/kernels/$kv/vmlinuz" bs=1 \
		seek=4000000 conv=notrunc status=none
	err=$(BULKHEAD_ROOT=$r "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 122 &&
		expect_contains "message" "$err" "corrupt" &&
		expect_contains "fix" "$err" "bh-build-guest --force" &&
		no_leftovers "$r"
	rc=$?
	stop_root "$r"
	return $rc
}

# The kernel property picks a folder of STATE/kernels: a qube set to a
# copy named "alt" boots alt's vmlinuz (QEMU's command line names it); an
# unknown kernel or a corrupt one is refused with what to do.
test_kernel_property() {
	local r rc=1 kv k q
	r=$(new_root kprop empty)
	kv=$(readlink "$BH_IMAGES/kernels/current")
	k=$r/var/lib/bulkhead/kernels
	mkdir -p "$k" "$r/var/lib/bulkhead/templates"
	ln -s "$BH_IMAGES/kernels/$kv" "$k/$kv"
	ln -s "$kv" "$k/current"
	cp -a "$BH_IMAGES/kernels/$kv" "$k/alt"
	ln -s "$BH_IMAGES/templates/minimal" "$r/var/lib/bulkhead/templates/minimal"
	bhr() { BULKHEAD_ROOT=$r "$BH" "$@" </dev/null; }
	(
		set -e
		bhr create -t minimal -l blue kq >/dev/null 2>&1
		bhr prefs kq kernel nope
		err=$(bhr start kq 2>&1) && { echo "started with kernel nope"; exit 1; }
		expect_contains "unknown kernel" "$err" "kernel nope is not installed"
		bhr prefs kq kernel alt
		bhr start kq
		q=$(qemu_pids "$r")
		expect_contains "QEMU's kernel" "$(tr '\0' ' ' <"/proc/$q/cmdline")" "/kernels/alt/vmlinuz"
		expect_eq "alt runs" "$(bhr run kq -- echo up)" up
		bhr kill kq
		printf '\xff' | dd of="$k/alt/vmlinuz" bs=1 seek=4000000 conv=notrunc status=none
		err=$(bhr start kq 2>&1) && { echo "started a corrupt kernel"; exit 1; }
		expect_contains "corrupt kernel" "$err" "corrupt"
		# bh run starts it as bh start would, with bh run's code.
		rc=0; err=$(bhr run kq -- true 2>&1) || rc=$?
		expect_eq "bh run, corrupt kernel: status" "$rc" 122
		expect_contains "bh run, corrupt kernel" "$err" "corrupt"
		bhr prefs kq kernel --default
		bhr start kq
		q=$(qemu_pids "$r")
		expect_contains "default kernel" "$(tr '\0' ' ' <"/proc/$q/cmdline")" "/kernels/$kv/vmlinuz"
		bhr kill kq
	)
	rc=$?
	stop_root "$r"
	return $rc
}

test_no_space() {
	local r rc err
	r=$(new_root nospace)
	mkdir -p "$r/run/bulkhead"
	mount -t tmpfs -o size=8m bh-test-nospace "$r/run/bulkhead" ||
		{ echo "cannot mount a tmpfs (needs root)"; stop_root "$r"; return 77; }
	err=$(BULKHEAD_ROOT=$r "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 123 &&
		expect_contains "message" "$err" "not enough space" &&
		no_leftovers "$r"
	rc=$?
	stop_root "$r"
	return $rc
}

test_daemon_unreachable() {
	local r rc err
	r=$(new_root nodaemon)
	err=$(BULKHEAD_ROOT=$r BULKHEAD_DAEMON=/nonexistent/bulkheadd "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 121 &&
		expect_contains "message" "$err" "did not start"
	rc=$?
	stop_root "$r"
	return $rc
}

test_guest_never_ready() {
	# A kernel whose /init never says HELLO: the daemon's boot timeout
	# fires, the error shows the console's last lines, nothing is left.
	local r rc err kv kd tree
	r=$(new_root neverready empty)
	kv=$(readlink "$BH_IMAGES/kernels/current")
	kd=$r/var/lib/bulkhead/kernels/$kv
	mkdir -p "$kd" "$work/tree/dev"
	cp "$BH_IMAGES/kernels/$kv/vmlinuz" "$kd/"
	gcc -static -O2 -o "$work/tree/init" "$here/hang-init.c" || return 1
	tree=$work/tree
	(cd "$tree" && find . | cpio -o -H newc --quiet) >"$kd/initramfs.img"
	(cd "$kd" && sha256sum vmlinuz initramfs.img >SHA256SUMS)
	ln -s "$kv" "$r/var/lib/bulkhead/kernels/current"
	ln -s "$BH_IMAGES/templates" "$r/var/lib/bulkhead/templates"
	mkdir -p "$r/run/bulkhead" "$r/var/log/bulkhead"
	BULKHEAD_ROOT=$r setsid "$BULKHEADD" --boot-timeout 6 \
		>>"$r/var/log/bulkhead/bulkheadd.log" 2>&1 </dev/null &
	wait_until 30 test -S "$r/run/bulkhead/admin.sock" || { echo "daemon did not listen"; stop_root "$r"; return 1; }
	err=$(BULKHEAD_ROOT=$r "$BH" run --dispvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "exit code" "$rc" 124 &&
		expect_contains "message" "$err" "not ready after 6 s" &&
		expect_contains "console lines" "$err" "hang-init: this guest never becomes ready" &&
		wait_until 30 no_leftovers "$r"
	rc=$?
	stop_root "$r"
	return $rc
}

# ------------------------------------------------ snapshots and preloading

daemon_log() { cat "$main_root/var/log/bulkhead/bulkheadd.log"; }
snap_dir() { echo "$main_root/var/lib/bulkhead/snapshots/$1"; }
# restored NAME: the daemon's log says qube NAME was restored.
restored() { daemon_log | grep -q " $1: ready after [0-9]* ms (restored from its snapshot)"; }

# A disposable's identity as four lines: name, kernel uuid, 16 bytes of
# /dev/urandom (the CRNG getrandom() reads), and its clock.
identity() {
	bhm run --dispvm${1:+=$1} -- sh -c 'hostname; cat /proc/sys/kernel/random/uuid
		head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; date +%s' </dev/null
}

test_snapshot_made_then_restored() {
	# The first disposable of the minimal template (the suite's first
	# test) booted cold and left a snapshot; the next one restores it.
	local name
	[ -s "$(snap_dir minimal)/state" ] && [ -s "$(snap_dir minimal)/manifest" ] ||
		{ echo "no snapshot of minimal: $(ls -la "$(snap_dir minimal)" 2>&1)"; return 1; }
	daemon_log | grep -q "snapshot minimal made" || { echo "the log never says it made one"; return 1; }
	name=$(bhm run --dispvm -- hostname </dev/null) || return 1
	restored "$name" || { echo "$name was not restored: $(daemon_log | grep "$name")"; return 1; }
}

test_snapshot_clones_distinct() {
	# Two disposables restored from one snapshot: their own names, and
	# a fresh random state (kernel uuid, urandom bytes), and the clock
	# of now, not of the snapshot.
	local a b now
	a=$(identity) || return 1
	b=$(identity) || return 1
	now=$(date +%s)
	restored "$(sed -n 1p <<<"$a")" && restored "$(sed -n 1p <<<"$b")" ||
		{ echo "not both restored: $a / $b"; return 1; }
	[ "$(sed -n 1p <<<"$a")" != "$(sed -n 1p <<<"$b")" ] || { echo "same name: $a"; return 1; }
	[ "$(sed -n 2p <<<"$a")" != "$(sed -n 2p <<<"$b")" ] || { echo "same uuid: $a / $b"; return 1; }
	[ "$(sed -n 3p <<<"$a")" != "$(sed -n 3p <<<"$b")" ] || { echo "same random bytes: $a / $b"; return 1; }
	local t=$(sed -n 4p <<<"$b")
	[ $((now - t)) -le 10 ] && [ $((t - now)) -le 10 ] ||
		{ echo "guest clock $t, host $now"; return 1; }
}

test_snapshot_boot_id_fresh() {
	# The kernel's boot_id is the snapshot's in every clone once
	# anything read it before the snapshot (the kernel makes it at the
	# first read; journald and udev read it at boot); the agent binds a
	# fresh one over it at RESUME. Two restored disposables: different
	# boot_ids, each a version 4 UUID, each bound over the kernel's own
	# (umount shows that one, and it differs).
	local a b f='/proc/sys/kernel/random/boot_id' uuid='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	bhm run --dispvm -- true </dev/null || return 1 # a snapshot, if none yet
	a=$(bhm run -u root --dispvm -- sh -c "hostname; cat $f; umount $f && cat $f" </dev/null) || { echo "$a"; return 1; }
	b=$(bhm run -u root --dispvm -- sh -c "hostname; cat $f; umount $f && cat $f" </dev/null) || { echo "$b"; return 1; }
	restored "$(sed -n 1p <<<"$a")" && restored "$(sed -n 1p <<<"$b")" ||
		{ echo "not both restored: $a / $b"; return 1; }
	sed -n 2p <<<"$a" | grep -qE "$uuid" && sed -n 2p <<<"$b" | grep -qE "$uuid" ||
		{ echo "not UUIDs: $a / $b"; return 1; }
	[ "$(sed -n 2p <<<"$a")" != "$(sed -n 2p <<<"$b")" ] || { echo "same boot_id: $a / $b"; return 1; }
	[ -n "$(sed -n 3p <<<"$a")" ] && [ "$(sed -n 2p <<<"$a")" != "$(sed -n 3p <<<"$a")" ] ||
		{ echo "the kernel's boot_id: $a"; return 1; }
	[ -n "$(sed -n 3p <<<"$b")" ] && [ "$(sed -n 2p <<<"$b")" != "$(sed -n 3p <<<"$b")" ] ||
		{ echo "the kernel's boot_id: $b"; return 1; }
}

test_snapshot_stale_after_template_change() {
	# A snapshot of a disposable template whose template changed is
	# never restored: the next disposable boots cold (and sees the
	# change), takes a new snapshot, and the one after restores that.
	local got name
	bhm create --class TemplateVM -l black -t minimal vmt-stpl </dev/null >/dev/null || return 1
	bhm create -l red -t vmt-stpl vmt-sdvm </dev/null >/dev/null || return 1
	bhm prefs vmt-sdvm template_for_dispvms True </dev/null || return 1
	bhm run --dispvm=vmt-sdvm -- true </dev/null || return 1
	[ -s "$(snap_dir dvm-vmt-sdvm)/state" ] || { echo "no snapshot of vmt-sdvm"; return 1; }
	bhm start vmt-stpl </dev/null || return 1
	bhm run -u root vmt-stpl -- sh -c 'echo v2 >/etc/tpl-version' </dev/null || return 1
	bhm shutdown --wait vmt-stpl </dev/null || return 1
	got=$(identity vmt-sdvm) || return 1
	name=$(sed -n 1p <<<"$got")
	restored "$name" && { echo "$name was restored from the stale snapshot"; return 1; }
	daemon_log | grep -q "$name: snapshot dvm-vmt-sdvm is stale (root changed)" ||
		{ echo "no stale notice: $(daemon_log | grep "$name")"; return 1; }
	got=$(bhm run --dispvm=vmt-sdvm -- sh -c 'hostname; cat /etc/tpl-version' </dev/null) || return 1
	restored "$(sed -n 1p <<<"$got")" || { echo "the new snapshot was not used: $got"; return 1; }
	expect_eq "template change in the restored disposable" "$(sed -n 2p <<<"$got")" v2 || return 1
	bhm remove --yes vmt-sdvm </dev/null >/dev/null || return 1
	[ ! -e "$(snap_dir dvm-vmt-sdvm)" ] || { echo "the snapshot outlived its DVM"; return 1; }
	bhm remove --yes vmt-stpl </dev/null >/dev/null
}

test_snapshot_failed_restore_falls_back() {
	# A snapshot QEMU cannot load (its stream's header overwritten, same
	# size): the command still runs, in a cold boot of the same qube, the
	# log says so, and a new snapshot replaces the broken one.
	local got name
	printf 'XXXX' | dd of="$(snap_dir minimal)/state" conv=notrunc status=none || return 1
	got=$(bhm run --dispvm -- sh -c 'hostname; echo ran' </dev/null) || return 1
	name=$(sed -n 1p <<<"$got")
	expect_eq "command" "$(sed -n 2p <<<"$got")" ran || return 1
	daemon_log | grep -q "$name: restoring snapshot minimal failed; cold boot instead" ||
		{ echo "no fallback notice: $(daemon_log | grep "$name")"; return 1; }
	restored "$name" && { echo "$name claims a restore"; return 1; }
	[ "$(head -c 4 "$(snap_dir minimal)/state")" != XXXX ] || { echo "the broken snapshot was kept"; return 1; }
	name=$(bhm run --dispvm -- hostname </dev/null) || return 1
	restored "$name" || { echo "the new snapshot was not used"; return 1; }
}

test_preloaded_disposable() {
	# preload-dispvm-max=1 on a DVM: after a request a restored, warmed,
	# paused disposable waits; the next request gets it (its own name,
	# fresh clock); with the feature at 0 the pool empties.
	local got name
	bhm create -l red -t minimal vmt-pdvm </dev/null >/dev/null || return 1
	bhm prefs vmt-pdvm template_for_dispvms True </dev/null || return 1
	bhm run --dispvm=vmt-pdvm -- true </dev/null || return 1 # its snapshot
	bhm features vmt-pdvm preload-dispvm-max 1 </dev/null || return 1
	bhm run --dispvm=vmt-pdvm -- true </dev/null || return 1
	wait_until 60 sh -c "grep -q 'preloaded for vmt-pdvm' $main_root/var/log/bulkhead/bulkheadd.log" ||
		{ echo "nothing preloaded: $(daemon_log | tail -n 20)"; return 1; }
	got=$(identity vmt-pdvm) || return 1
	name=$(sed -n 1p <<<"$got")
	daemon_log | grep -q "$name: handed out from vmt-pdvm's preloaded disposables" ||
		{ echo "$name did not come from the pool: $(daemon_log | grep "$name")"; return 1; }
	local t=$(sed -n 4p <<<"$got") now=$(date +%s)
	[ $((now - t)) -le 10 ] && [ $((t - now)) -le 10 ] || { echo "guest clock $t, host $now"; return 1; }
	bhm features vmt-pdvm preload-dispvm-max 0 </dev/null || return 1
	bhm run --dispvm=vmt-pdvm -- true </dev/null || return 1
	wait_until 30 sh -c "[ -z \"\$(ls -A $main_root/run/bulkhead/qubes 2>/dev/null)\" ]" ||
		{ echo "the pool did not empty: $(ls "$main_root/run/bulkhead/qubes")"; return 1; }
	bhm remove --yes vmt-pdvm </dev/null >/dev/null
}

# The first disposable of a DVM keeps a copy of its private volume with
# its snapshot. That copy is a job (throttled: the DVM's 2 GiB sparse
# volume, holes included, at 512 MiB/s), during which the disposable
# stays stopped and bh ls is answered (a progress event of that job after
# a later call); then the snapshot is made and the command runs. Two more
# takes, one whose bh goes away during the copy and one during which the
# daemon stops: the copy is cancelled, and no snapshot, half-made folder,
# temporary or runtime file is left. Its own root and daemon.
test_snapshot_copy_in_job() {
	local r rc
	r=$(new_root snapjob)
	(
		bhr() { BULKHEAD_ROOT=$r "$BH" "$@" </dev/null; }
		log() { cat "$r/var/log/bulkhead/bulkheadd.log"; }
		snaps=$r/var/lib/bulkhead/snapshots
		ev=$r/events
		# copy_job: the id of the newest snapshot copy's job.
		copy_job() { log | sed -n 's/.*its private volume is copied for snapshot dvm-sj in job \([0-9]*\)$/\1/p' | tail -n 1; }
		new_copy_job() { [ -n "$(copy_job)" ] && [ "$(copy_job)" != "$1" ]; }
		progress() { grep -q "^job-progress disp[0-9]* job=$1 op=copy step=copy done=[1-9]" "$ev"; }
		nothing_left() {
			[ -z "$(ls -A "$r/run/bulkhead/qubes" 2>/dev/null)" ] &&
				[ -z "$(ls -A "$snaps" 2>/dev/null)" ] &&
				[ -z "$(find "$r/var/lib/bulkhead" -name '*.tmp-*')" ]
		}
		BULKHEAD_TEST_JOB_THROTTLE=512 bhr ls >/dev/null || exit 1
		bhr create -t minimal -l red sj >/dev/null && bhr prefs sj template_for_dispvms True || exit 1
		bhr events >"$ev" 2>&1 &
		evpid=$!
		trap 'kill $evpid 2>/dev/null' EXIT
		wait_until 20 sh -c "BULKHEAD_ROOT=$r $BH create -t minimal -l red sjprobe </dev/null
			BULKHEAD_ROOT=$r $BH remove -y sjprobe </dev/null
			grep -q '^domain-delete sjprobe' $ev" || { echo "no events"; exit 1; }

		BULKHEAD_ROOT=$r "$BH" run --dispvm=sj -- echo ran </dev/null >"$r/run1.out" 2>&1 &
		p=$!
		wait_until 180 new_copy_job "" || { echo "no snapshot copy: $(log | tail -n 20)"; exit 1; }
		id=$(copy_job)
		wait_until 60 progress "$id" || { echo "no progress of job $id: $(cat "$ev")"; exit 1; }
		expect_contains "ls during the copy" "$(bhr ls --raw)" sj || exit 1
		bhr create -t minimal -l red sjmark >/dev/null || exit 1
		wait "$p" || { echo "the run: $(cat "$r/run1.out")"; exit 1; }
		expect_eq "the command" "$(cat "$r/run1.out")" ran || exit 1
		wait_until 20 grep -q "^job-done disp[0-9]* job=$id op=copy result=ok" "$ev" || { cat "$ev"; exit 1; }
		late=$(sed -n '/^domain-add sjmark$/,$p' "$ev" |
			awk -v j="job=$id" '$1 == "job-progress" && $3 == j {
				split($6, d, "="); split($7, t, "=")
				if (d[2] + 0 < t[2] + 0) n++ } END { print n + 0 }')
		[ "$late" -gt 0 ] || { echo "the copy was over before ls returned: $(cat "$ev")"; exit 1; }
		[ -s "$snaps/dvm-sj/manifest" ] && [ -s "$snaps/dvm-sj/private.img" ] ||
			{ echo "no snapshot made: $(ls -la "$snaps/dvm-sj" 2>&1)"; exit 1; }
		log | grep -q "snapshot dvm-sj made" || { echo "the log never says it was made"; exit 1; }

		# bh going away during the copy.
		rm -rf "$snaps/dvm-sj"
		BULKHEAD_ROOT=$r "$BH" run --dispvm=sj -- true </dev/null >/dev/null 2>&1 &
		p=$!
		wait_until 180 new_copy_job "$id" || { echo "no second copy: $(log | tail -n 20)"; exit 1; }
		id=$(copy_job)
		wait_until 60 progress "$id" || { echo "no progress of job $id"; exit 1; }
		kill -TERM "$p"; wait "$p" 2>/dev/null
		wait_until 30 grep -q "^job-done disp[0-9]* job=$id op=copy result=cancelled" "$ev" ||
			{ echo "not cancelled: $(grep -v job-progress "$ev")"; log | tail -n 25; exit 1; }
		wait_until 30 nothing_left || { echo "left: $(ls -A "$r/run/bulkhead/qubes" "$snaps"; find "$r" -name '*.tmp-*')"; exit 1; }

		# The daemon stopping during the copy.
		BULKHEAD_ROOT=$r "$BH" run --dispvm=sj -- true </dev/null >/dev/null 2>&1 &
		p=$!
		wait_until 180 new_copy_job "$id" || { echo "no third copy: $(log | tail -n 20)"; exit 1; }
		id=$(copy_job)
		wait_until 60 progress "$id" || { echo "no progress of job $id"; exit 1; }
		root=$r stop_daemon || exit 1
		wait "$p" 2>/dev/null
		log | grep -qE "job $id \(copy for disp[0-9]*\) cancelled" || { echo "job $id not cancelled: $(log | tail)"; exit 1; }
		nothing_left || { echo "left: $(ls -A "$r/run/bulkhead/qubes" "$snaps"; find "$r" -name '*.tmp-*')"; exit 1; }
		# A daemon without the throttle takes it whole.
		bhr run --dispvm=sj -- true || exit 1
		[ -s "$snaps/dvm-sj/manifest" ] || { echo "no snapshot after the restart"; exit 1; }
	)
	rc=$?
	stop_root "$r"
	return $rc
}

# ---------------------------------------------------------------- main

if ! command -v "$BH" >/dev/null || ! command -v "$BULKHEADD" >/dev/null; then
	echo "vm: bh or bulkheadd not installed (run ./setup)"
	echo "vm: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if [ ! -e "$BH_IMAGES/kernels/current" ]; then
	echo "vm: no guest images in $BH_IMAGES (run ./setup)"
	echo "vm: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

main_root=$(new_root main)
run_test test_autostart_and_kernel_version
state_listing "$main_root" >"$work/before"
run_test test_exit_codes
run_test test_stdin_flows
run_test test_binary_stdout_1mib
run_test test_binary_roundtrip_1mib
run_test test_env_and_hostname
run_test test_env_adds_to_defaults
run_test test_guest_tsc_rate
run_test test_broken_stdout_ends_run
run_test test_not_found_and_not_executable
run_test test_template_root_untouched
run_test test_parallel_disposables_isolated
run_test test_bh_killed_destroys_qube
run_test test_qemu_jailed
run_test test_chan_confined
run_test test_qemu_cgroup
run_test test_cgroup_module_in_guest
run_test test_nothing_left_after_runs
run_test test_agent_private_volume
run_test test_appvm_home_persists
run_test test_appvm_lifecycle
run_test test_template_change_at_next_start
run_test test_readme_first_command
run_test test_daemon_restart_keeps_qubes
run_test test_run_starts_halted_qube
run_test test_run_unpauses_paused_qube
run_test test_run_as_default_user
run_test test_dispvm_runs_as_dvm_default_user
run_test test_dispvm_from_dvm
run_test test_dispvm_gone_without_trace
run_test test_named_dispvm
run_test test_dispvm_refusals
run_test test_snapshot_made_then_restored
run_test test_snapshot_clones_distinct
run_test test_snapshot_boot_id_fresh
run_test test_snapshot_stale_after_template_change
run_test test_snapshot_failed_restore_falls_back
run_test test_preloaded_disposable
run_test test_snapshot_copy_in_job
run_test test_console_and_events
run_test test_usage_errors
run_test test_qemu_missing
run_test test_kernel_missing
run_test test_kernel_corrupt
run_test test_kernel_property
run_test test_no_space
run_test test_daemon_unreachable
run_test test_guest_never_ready

summary
