#!/usr/bin/env bash
# The QEMU jail (src/daemon/engine/jail.c), checked for real, as root. Two fake
# qubes A and B, each with its own uid and a private image (chowned to it,
# mode 0600), run tests/jail/jail_probe in QEMU's place through
# tests/jail/jail_run, which spawns and jails a program the way the daemon
# does; then real QEMU runs jailed and /proc/PID/status of every running
# QEMU is audited. Nothing is mounted in the host's namespace: each jail's
# mounts live and die with its process.
# Prints "jail: NAME ok|FAILED|SKIPPED: why" per test and ends with
# "jail: N passed, N failed" (and ", N skipped" when some were).
#
# Usage: tests/jail/test-jail.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$top/tests/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "jail: needs root (namespaces, mounts, uid changes)"
	exit 77
fi

suite_init jail "${1:-}"
QEMU=${BULKHEAD_QEMU:-/usr/bin/qemu-system-x86_64}
IMAGES=${BH_IMAGES:-/var/lib/bulkhead}
work=$(mktemp -d /tmp/bh-jail.XXXXXX)
# Every process a test starts in the background (drivers, and the jailed
# programs they report) is listed here, since tests run in subshells;
# after each test, and at exit, each is killed by pid.
started=$work/started

stop_started() {
	local p _
	[ -f "$started" ] || return 0
	while read -r p; do
		kill -9 "$p" 2>/dev/null
	done <"$started"
	while read -r p; do
		for _ in $(seq 1 50); do
			alive "$p" || break
			sleep 0.1
		done
	done <"$started"
	: >"$started"
}

cleanup() {
	stop_started
	# The groups of the test "daemon" (root /jail-test) a failed test
	# left, and its own (tests/jail/jail_run.c -C).
	[ ! -x "$JR" ] || "$JR" -C >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- set-up

JR=$work/bin/jail_run
PROBE=$work/bin/jail_probe
root=$work/root        # every jail's mount point; stays empty on the host
A_IMG=$work/qubes/a/private.img
B_IMG=$work/qubes/b/private.img
RUN_DIR=$work/run/bulkhead # stands for the daemon's run folder

cflags=(-std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wvla
	-Wstrict-prototypes -Wmissing-prototypes -Wshadow
	-Wno-unused-parameter -O2 -g "-I$top/src")
mkdir -p "$work/bin" "$root" "$work/qubes/a" "$work/qubes/b" "$RUN_DIR" \
	"$work/out"
chmod 755 "$root"
if ! gcc "${cflags[@]}" -o "$JR" "$here/jail_run.c" \
	"$top/src/daemon/engine/jail.c" "$top/src/daemon/engine/cgroup.c" \
	"$top/src/lib/util.c" "$top/src/lib/log.c" ||
	! gcc "${cflags[@]}" -o "$PROBE" "$here/jail_probe.c"; then
	echo "jail: build FAILED"
	echo "jail: 0 passed, 1 failed"
	exit 1
fi
UA=$("$JR" -p 1)
UB=$("$JR" -p 2)
SANDBOX=$("$JR" -s)
truncate -s 16M "$A_IMG" "$B_IMG"
chown "$UA:$UA" "$A_IMG"
chown "$UB:$UB" "$B_IMG"
chmod 600 "$A_IMG" "$B_IMG"
echo 4242 >"$RUN_DIR/bulkheadd.pid"

qube_a=(-i 1 -H qube-a -w "$A_IMG")
qube_b=(-i 2 -H qube-b -w "$B_IMG")

# ---------------------------------------------------------------- helpers

# run_probe OUT [JAIL_RUN-OPTION]... -- [PROBE-ARG]...: runs the probe in
# a jail and waits (jail_run's -t bounds it).
run_probe() {
	local out=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	"$JR" -r "$root" -o "$PROBE" -t 20 "${opts[@]}" -- "$PROBE" "$@" \
		>"$out" 2>&1
}

# start_bg OUT ARG...: runs "$JR" ARG... in the background; its pid goes
# to $last_bg.
start_bg() {
	local out=$1
	shift
	"$JR" "$@" >"$out" 2>&1 &
	last_bg=$!
	echo "$last_bg" >>"$started"
}

# wait_line FILE REGEX SECONDS: waits (bounded) for a line of FILE, and
# gives up early once the driver wrote its last line.
wait_line() {
	local _
	for _ in $(seq 1 $(($3 * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		grep -q '^status: ' "$1" 2>/dev/null && break
		sleep 0.1
	done
	echo "no line matching '$2' (waited up to $3 s); $1 holds:"
	cat "$1"
	return 1
}

# jailed_pid FILE: the pid jail_run reported (the daemon's view).
jailed_pid() { sed -n 's/^pid: \([0-9][0-9]*\)$/\1/p' "$1" | head -n1; }

# field KEY FILE: the value of the first "KEY:" line (tabs squeezed).
field() {
	sed -n "s|^$1:[[:space:]]*||p" "$2" | head -n1 | tr -s '\t ' ' ' |
		sed 's/ $//'
}

# opened PATH FILE: what the probe said about opening PATH.
opened() { sed -n "s|^open $1: ||p" "$2" | head -n1; }

# end_bg DRIVER OUT: after its program was killed, the driver must end
# (bounded) reporting SIGKILL, as the daemon's waitpid would see it.
end_bg() {
	wait_dead "$1" 10 || return 1
	wait "$1" 2>/dev/null
	expect_eq "status seen by the parent" "$(field status "$2")" "signal 9"
}

# audit PID UID [SECCOMP]: the privilege-drop audit of a jailed process,
# from the host's /proc/PID/status.
audit() {
	local pid=$1 uid=$2 seccomp=${3:-} s=/proc/$1/status k t
	local zero=0000000000000000
	[ -r "$s" ] || { echo "no $s"; return 1; }
	expect_eq "Uid of $pid" "$(field Uid "$s")" "$uid $uid $uid $uid" &&
		expect_eq "Gid of $pid" "$(field Gid "$s")" "$uid $uid $uid $uid" &&
		expect_eq "Groups of $pid" "$(field Groups "$s")" "" &&
		expect_eq "NoNewPrivs of $pid" "$(field NoNewPrivs "$s")" 1 ||
		return 1
	[ "$uid" != 0 ] || { echo "uid 0"; return 1; }
	for k in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_eq "$k of $pid" "$(field "$k" "$s")" "$zero" || return 1
	done
	[ -z "$seccomp" ] && return 0
	# QEMU's filter covers every thread (it installs it with TSYNC).
	for t in /proc/"$pid"/task/*; do
		expect_eq "Seccomp of thread ${t##*/}" \
			"$(field Seccomp "$t/status")" "$seccomp" || return 1
	done
}

# Host paths that no jail may reach.
secrets=(/etc/shadow /root /var/lib/bulkhead /run "$RUN_DIR"
	"$RUN_DIR/bulkheadd.pid" /proc/1/environ /sys/class/net "$JR")

run_test() {
	local name=$1 out rc
	selected "$name" || return 0
	out=$("$name" 2>&1)
	rc=$?
	# A test that failed half-way leaves its processes: they would hold
	# locks on the images the next test uses.
	stop_started
	tally jail "$name" "$rc" "$out"
}

# ---------------------------------------------------------------- probe

test_privileges_inside() {
	local o=$work/out/priv.txt k
	run_probe "$o" "${qube_a[@]}" -- || { cat "$o"; return 1; }
	expect_eq "uid" "$(field Uid "$o")" "$UA $UA $UA" &&
		expect_eq "gid" "$(field Gid "$o")" "$UA $UA $UA" &&
		expect_eq "supplementary groups" "$(field Groups "$o")" 0 &&
		expect_eq "NoNewPrivs" "$(field NoNewPrivs "$o")" 1 &&
		expect_eq "pid inside" "$(field getpid "$o")" 1 &&
		expect_eq "hostname" "$(field hostname "$o")" qube-a || return 1
	[ "$UA" != 0 ] || { echo "uid 0"; return 1; }
	for k in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_eq "$k" "$(field "$k" "$o")" 0000000000000000 || return 1
	done
}

test_privileges_from_host() {
	local o=$work/out/host.txt drv pid ns
	start_bg "$o" -r "$root" -o "$PROBE" -t 30 "${qube_a[@]}" -- \
		"$PROBE" --hold
	drv=$last_bg
	wait_line "$o" '^holding$' 10 || return 1
	pid=$(jailed_pid "$o")
	echo "$pid" >>"$started"
	audit "$pid" "$UA" || return 1
	expect_eq "NSpid (host, inside)" "$(field NSpid "/proc/$pid/status")" \
		"$pid 1" || return 1
	for ns in mnt pid net ipc uts; do
		if [ "$(readlink "/proc/$pid/ns/$ns")" = \
			"$(readlink "/proc/self/ns/$ns")" ]; then
			echo "$ns namespace shared with the host"
			return 1
		fi
	done
	kill -9 "$pid"
	end_bg "$drv" "$o"
}

test_own_private_image_rw() {
	local o=$work/out/own.txt
	run_probe "$o" "${qube_a[@]}" -- "$A_IMG" &&
		expect_eq "A opens its image" "$(opened "$A_IMG" "$o")" ok &&
		run_probe "$o" "${qube_b[@]}" -- "$B_IMG" &&
		expect_eq "B opens its image" "$(opened "$B_IMG" "$o")" ok
}

test_other_qube_image() {
	local o=$work/out/other.txt
	run_probe "$o" "${qube_a[@]}" -- "$B_IMG" "${B_IMG%/*}" &&
		expect_eq "A opens B's image" "$(opened "$B_IMG" "$o")" ENOENT &&
		expect_eq "A opens B's folder" \
			"$(opened "${B_IMG%/*}" "$o")" ENOENT &&
		run_probe "$o" "${qube_b[@]}" -- "$A_IMG" &&
		expect_eq "B opens A's image" "$(opened "$A_IMG" "$o")" ENOENT
}

test_host_files_unreachable() {
	local o=$work/out/secrets.txt p
	run_probe "$o" "${qube_a[@]}" -- "${secrets[@]}" || { cat "$o"; return 1; }
	for p in "${secrets[@]}"; do
		expect_eq "open $p" "$(opened "$p" "$o")" ENOENT || return 1
	done
	# The probe itself is there, read-only.
	run_probe "$o" "${qube_a[@]}" -- "$PROBE" &&
		expect_contains "open the probe" "$(opened "$PROBE" "$o")" \
			"read-only"
}

test_root_holds_only_jail_files() {
	local o=$work/out/root.txt want d top_dir
	run_probe "$o" "${qube_a[@]}" -- || { cat "$o"; return 1; }
	# /usr, the loader's /lib and /lib64 when the host has them, /etc
	# with ld.so.cache, /dev, and the first folder of the jail's files.
	top_dir=${work#/}
	top_dir=${top_dir%%/*}
	want=$(for d in dev etc lib lib64 usr "$top_dir"; do
		case $d in lib | lib64) [ -e "/$d" ] || continue ;; esac
		echo "$d"
	done | sort -u | tr '\n' ' ')
	expect_eq "ls /" "$(field 'ls /' "$o")" "${want% }" &&
		expect_eq "ls /etc" "$(field 'ls /etc' "$o")" ld.so.cache &&
		expect_eq "ls /dev" "$(field 'ls /dev' "$o")" "null urandom zero" &&
		expect_eq "create a file in /" \
			"$(field 'create /probe-was-here' "$o")" EROFS
}

test_network_only_lo() {
	local o=$work/out/net.txt
	run_probe "$o" "${qube_a[@]}" -- &&
		expect_eq "interfaces" "$(field net "$o")" lo
}

test_kvm_device_own_node() {
	local o=$work/out/kvm.txt before after
	[ -c /dev/kvm ] || { echo "no /dev/kvm here"; return 77; }
	before=$(stat -c '%a %u %g' /dev/kvm)
	run_probe "$o" "${qube_a[@]}" -d /dev/kvm -- /dev/kvm &&
		expect_eq "A opens /dev/kvm" "$(opened /dev/kvm "$o")" ok &&
		expect_eq "ls /dev" "$(field 'ls /dev' "$o")" \
			"kvm null urandom zero" &&
		run_probe "$o" "${qube_a[@]}" -- /dev/kvm &&
		expect_eq "without -d" "$(opened /dev/kvm "$o")" ENOENT ||
		return 1
	after=$(stat -c '%a %u %g' /dev/kvm)
	expect_eq "host /dev/kvm untouched" "$after" "$before"
}

# The jailed program outlives its parent: when bulkheadd dies, QEMU keeps
# running so its guest can see the channel hang up and power off cleanly
# (the next daemon ends what does not: leftover_qemu.h). No death signal
# is left armed after the uid change.
test_outlives_parent() {
	local o=$work/out/pdeath.txt drv pid
	start_bg "$o" -r "$root" -o "$PROBE" -t 30 "${qube_a[@]}" -- \
		"$PROBE" --hold
	drv=$last_bg
	wait_line "$o" '^holding$' 10 || return 1
	pid=$(jailed_pid "$o")
	echo "$pid" >>"$started"
	expect_eq "death signal" "$(field PdeathSig "$o")" 0 || return 1
	kill -9 "$drv"
	wait "$drv" 2>/dev/null
	kill -0 "$pid" 2>/dev/null || { echo "jailed pid $pid died with its parent"; return 1; }
	kill -9 "$pid"
	wait_dead "$pid" 5
}

test_refusals() {
	local o=$work/out/refuse.txt img=$work/qubes/a/bad.img rc
	truncate -s 1M "$img"
	chmod 600 "$img" # owned by root, not by A
	"$JR" -r "$root" -o "$PROBE" "${qube_a[@]}" -w "$img" -- "$PROBE" \
		>"$o" 2>&1
	rc=$?
	expect_eq "rw file of another uid: exit" "$rc" 126 &&
		expect_contains "rw file of another uid" "$(cat "$o")" \
			"owned by the qube's uid with mode 0600" || return 1
	chown "$UA:$UA" "$img"
	chmod 640 "$img"
	"$JR" -r "$root" -o "$PROBE" "${qube_a[@]}" -w "$img" -- "$PROBE" \
		>"$o" 2>&1
	expect_eq "rw file readable by its group: exit" "$?" 126 || return 1
	chmod 600 "$img"
	ln -sf "$img" "$img.link"
	"$JR" -r "$root" -o "$PROBE" "${qube_a[@]}" -w "$img.link" -- \
		"$PROBE" >"$o" 2>&1
	expect_eq "rw symlink: exit" "$?" 126 || return 1
	"$JR" -r "$root" -o "$PROBE" -u 0 -g 0 -- "$PROBE" >"$o" 2>&1
	rc=$?
	expect_eq "uid 0: exit" "$rc" 2 &&
		expect_contains "uid 0" "$(cat "$o")" "jail ids 0:0" || return 1
	"$JR" -r "$root" -o "$PROBE/../jail_probe" "${qube_a[@]}" -- \
		"$PROBE" >"$o" 2>&1
	expect_eq "path with ..: exit" "$?" 2
}

test_no_mount_leaks_to_host() {
	local o=$work/out/leak.txt before after
	before=$(awk '{print $5, $9}' /proc/self/mountinfo | sort)
	run_probe "$o" "${qube_a[@]}" -- || { cat "$o"; return 1; }
	after=$(awk '{print $5, $9}' /proc/self/mountinfo | sort)
	expect_eq "host mounts" "$after" "$before" &&
		expect_eq "jail root on the host" "$(ls -A "$root")" ""
}

# ---------------------------------------------------------------- QEMU

# shellcheck disable=SC2054 # commas are QEMU's, inside one argument
qemu_args=(-M microvm -nodefaults -no-user-config -display none -S
	-sandbox "$SANDBOX" -chardev socket,id=qmp,fd=4
	-mon chardev=qmp,mode=control)

# start_qemu OUT IMAGE QUBE-OPTION...: QEMU jailed with IMAGE as a
# virtio disk; $last_bg is the driver.
start_qemu() {
	local out=$1 img=$2
	shift 2
	start_bg "$out" -r "$root" -o "$QEMU" -q -t 60 "$@" -- "$QEMU" \
		"${qemu_args[@]}" -drive "id=p,file=$img,format=raw,if=none" \
		-device virtio-blk-device,drive=p
}

test_qemu_audit() {
	local oa=$work/out/qemu-a.txt ob=$work/out/qemu-b.txt da db pa pb
	[ -x "$QEMU" ] || { echo "no $QEMU"; return 77; }
	start_qemu "$oa" "$A_IMG" "${qube_a[@]}"
	da=$last_bg
	start_qemu "$ob" "$B_IMG" "${qube_b[@]}"
	db=$last_bg
	wait_line "$oa" '^qmp: ' 30 && wait_line "$ob" '^qmp: ' 30 || return 1
	pa=$(jailed_pid "$oa")
	pb=$(jailed_pid "$ob")
	echo "$pa" >>"$started"
	echo "$pb" >>"$started"
	expect_eq "A's QMP" "$(field qmp "$oa")" ready &&
		expect_eq "B's QMP" "$(field qmp "$ob")" ready || {
		cat "$oa" "$ob"; return 1; }
	# The audit, over every running QEMU: the two just started.
	audit "$pa" "$UA" 2 && audit "$pb" "$UB" 2 || return 1
	if [ "$(readlink "/proc/$pa/ns/mnt")" = "$(readlink "/proc/$pb/ns/mnt")" ]
	then
		echo "A's and B's QEMU share a mount namespace"
		return 1
	fi
	# Killed by pid, as the daemon does: QEMU itself dies, and its parent
	# sees the signal.
	kill -9 "$pa" "$pb"
	end_bg "$da" "$oa" && end_bg "$db" "$ob"
}

# cgroup_of PID: the path of PID's cgroup v2 group ("0::PATH").
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
# v1_cgroup_of PID CONTROLLER: PID's path in the cgroup v1 hierarchy
# holding CONTROLLER ("N:CONTROLLERS:PATH").
v1_cgroup_of() {
	awk -F: -v c="$2" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' "/proc/$1/cgroup"
}
# v1_mnt CONTROLLER: where that hierarchy is mounted (whole, root "/").
v1_mnt() {
	awk -v c="$1" '{ for (i = 7; i < NF; i++) if ($i == "-") break
		if ($(i + 1) != "cgroup" || $4 != "/") next
		n = split($(i + 3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) { print $5; exit } }' /proc/self/mountinfo
}
# cg_mode OUT: v1 or v2, the mode jail_run reported; cg_dirs OUT: its
# qube's groups, one a line (v2: one; v1: memory's, then pids').
cg_mode() { sed -n 's/^cgroup: \(v[12]\)$/\1/p' "$1"; }
cg_dirs() { sed -n 's|^cgroup: \(/.*\)|\1|p' "$1"; }

# check_qemu_cgroup OUT MEMORY_MB VCPUS: the QEMU jail_run reported in
# OUT runs in the group(s) it made, whose limits are what the qube's
# memory and vCPUs imply (src/daemon/engine/cgroup.h: memory + 256 MiB, 80 +
# vCPUs), under cgroup v2 or, where v2 lacks memory and pids, v1.
check_qemu_cgroup() {
	local out=$1 mb=$2 vcpus=$3 pid dir mnt mem pids dirs
	pid=$(jailed_pid "$out")
	mapfile -t dirs < <(cg_dirs "$out")
	for dir in "${dirs[@]}"; do
		[ -d "$dir" ] || { echo "no group $dir"; cat "$out"; return 1; }
	done
	if [ "$(cg_mode "$out")" = v1 ]; then
		mem=${dirs[0]} pids=${dirs[${#dirs[@]} - 1]}
		expect_eq "memory cgroup of QEMU $pid" \
			"$(v1_mnt memory)$(v1_cgroup_of "$pid" memory)" "$mem" &&
			expect_eq "pids cgroup of QEMU $pid" \
				"$(v1_mnt pids)$(v1_cgroup_of "$pid" pids)" "$pids" &&
			expect_eq "memory.limit_in_bytes" \
				"$(cat "$mem/memory.limit_in_bytes")" \
				$(((mb + 256) * 1024 * 1024)) &&
			expect_eq "pids.max" "$(cat "$pids/pids.max")" $((80 + vcpus)) ||
			return 1
		if [ -e "$mem/memory.memsw.limit_in_bytes" ]; then
			expect_eq "memory.memsw.limit_in_bytes" \
				"$(cat "$mem/memory.memsw.limit_in_bytes")" \
				$(((mb + 256) * 1024 * 1024)) || return 1
		fi
		expect_eq "QEMU's threads counted" "$(cat "$pids/pids.current")" \
			"$(ls "/proc/$pid/task" | wc -l)"
		return
	fi
	dir=${dirs[0]}
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	expect_eq "cgroup of QEMU $pid" "$(cgroup_of "$pid")" "${dir#"$mnt"}" &&
		expect_eq "memory.max" "$(cat "$dir/memory.max")" \
			$(((mb + 256) * 1024 * 1024)) &&
		expect_eq "pids.max" "$(cat "$dir/pids.max")" $((80 + vcpus)) ||
		return 1
	if [ -e "$dir/memory.swap.max" ]; then
		expect_eq "memory.swap.max" "$(cat "$dir/memory.swap.max")" 0 ||
			return 1
	fi
	# Every thread of QEMU is in it (they follow the process).
	expect_eq "QEMU's threads counted" "$(cat "$dir/pids.current")" \
		"$(ls "/proc/$pid/task" | wc -l)"
}

# Each QEMU in a cgroup of its own, with memory and pids limits from its
# qube's memory and vCPUs: two qubes with different memory get different
# limits, and each group goes when its QEMU has ended. B's groups are
# left over by a "killed daemon" first, with smaller limits, so that
# taking them over must raise them (under v1 with swap accounting, memsw
# before the limit, or the kernel refuses).
test_qemu_cgroup() {
	local oa=$work/out/cg-a.txt ob=$work/out/cg-b.txt da db pa pb d
	local dirs_a dirs_b
	[ -x "$QEMU" ] || { echo "no $QEMU"; return 77; }
	start_qemu "$oa" "$A_IMG" "${qube_a[@]}" -G qube-a -m 256 -n 2
	da=$last_bg
	wait_line "$oa" '^pid: ' 10 || return 1
	pa=$(jailed_pid "$oa")
	# Outlives its driver: killed by pid after the test.
	echo "$pa" >>"$started"
	if grep -q '^cgroup: off: ' "$oa"; then
		# Without memory and pids in v2 or v1, QEMU runs all the same.
		sed -n 's/^cgroup: off: /no cgroup limits here: /p' "$oa"
		return 77
	fi
	mapfile -t dirs_a < <(cg_dirs "$oa")
	for d in "${dirs_a[@]}"; do
		d=$(dirname "$d")/qube-qube-b
		mkdir "$d" || return 1
		if [ -e "$d/memory.limit_in_bytes" ]; then
			echo 64M >"$d/memory.limit_in_bytes"
			[ ! -e "$d/memory.memsw.limit_in_bytes" ] ||
				echo 64M >"$d/memory.memsw.limit_in_bytes"
		elif [ -e "$d/memory.max" ]; then
			echo 64M >"$d/memory.max"
		fi
		[ ! -e "$d/pids.max" ] || echo 5 >"$d/pids.max"
	done
	start_qemu "$ob" "$B_IMG" "${qube_b[@]}" -G qube-b -m 1000 -n 1
	db=$last_bg
	wait_line "$ob" '^pid: ' 10 || return 1
	pb=$(jailed_pid "$ob")
	echo "$pb" >>"$started"
	wait_line "$oa" '^qmp: ' 30 && wait_line "$ob" '^qmp: ' 30 || return 1
	expect_eq "A's QMP" "$(field qmp "$oa")" ready &&
		expect_eq "B's QMP" "$(field qmp "$ob")" ready || return 1
	mapfile -t dirs_b < <(cg_dirs "$ob")
	check_qemu_cgroup "$oa" 256 2 && check_qemu_cgroup "$ob" 1000 1 || return 1
	[ "${dirs_a[0]}" != "${dirs_b[0]}" ] || { echo "A and B share ${dirs_a[0]}"; return 1; }
	# The jail's checks still hold inside a group.
	audit "$pa" "$UA" 2 || return 1
	kill -9 "$pa" "$pb"
	end_bg "$da" "$oa" && end_bg "$db" "$ob" || return 1
	expect_eq "A's group removed" "$(field 'cgroup removed' "$oa")" yes &&
		expect_eq "B's group removed" "$(field 'cgroup removed' "$ob")" yes || return 1
	for d in "${dirs_a[@]}" "${dirs_b[@]}"; do
		[ ! -e "$d" ] || { echo "$d left"; return 1; }
	done
}

# The limits bite (a jailed probe in QEMU's place, no VM): with a qube
# memory of 1 MiB its group's limit is 257 MiB, and allocating 400 MiB
# gets it killed by the OOM killer; with 1 vCPU its pids.max is 81, so
# it gets 80 threads beside its own and the next fails with EAGAIN.
test_cgroup_limits_bite() {
	local o=$work/out/cg-oom.txt t=$work/out/cg-threads.txt
	run_probe "$o" "${qube_a[@]}" -G bite -m 1 -n 1 -- --alloc 400
	if grep -q '^cgroup: off: ' "$o"; then
		sed -n 's/^cgroup: off: /no cgroup limits here: /p' "$o"
		return 77
	fi
	expect_eq "allocating past the limit" "$(field status "$o")" "signal 9" &&
		expect_contains "allocated before" "$(cat "$o")" "allocated 128" &&
		expect_eq "group removed" "$(field 'cgroup removed' "$o")" yes ||
		{ cat "$o"; return 1; }
	if grep -q 'alloc done' "$o"; then
		echo "the probe allocated all 400 MiB"
		return 1
	fi
	run_probe "$t" "${qube_a[@]}" -G bite -m 1 -n 1 -- --threads 200
	expect_eq "threads" "$(field threads "$t")" "80 EAGAIN" &&
		expect_eq "status" "$(field status "$t")" "exit 0" ||
		{ cat "$t"; return 1; }
}

# What a killed daemon left: a group still holding its jailed program
# (the driver killed, the program alive), and one holding a process of
# someone else's (root's sleep). The next daemon's clean-up kills the
# former and removes its groups; under v1 (no cgroup.kill; only jail uids
# are ours) it leaves the latter, process and group, alone; under v2
# cgroup.kill ends it too.
test_cgroup_leftovers() {
	local o=$work/out/cg-left.txt c=$work/out/cg-clean.txt drv pid sl d
	local dirs fdirs=() mode
	start_bg "$o" -r "$root" -o "$PROBE" -t 60 "${qube_a[@]}" \
		-G left -m 100 -n 1 -- "$PROBE" --hold
	drv=$last_bg
	wait_line "$o" '^holding' 20 || return 1
	if grep -q '^cgroup: off: ' "$o"; then
		sed -n 's/^cgroup: off: /no cgroup limits here: /p' "$o"
		return 77
	fi
	pid=$(jailed_pid "$o")
	echo "$pid" >>"$started"
	kill -9 "$drv"
	wait "$drv" 2>/dev/null
	alive "$pid" || { echo "the jailed program died with its driver"; return 1; }
	mode=$(cg_mode "$o")
	mapfile -t dirs < <(cg_dirs "$o")
	sleep 60 &
	sl=$!
	echo "$sl" >>"$started"
	for d in "${dirs[@]}"; do
		d=$(dirname "$d")/qube-foreign
		{ [ -d "$d" ] || mkdir "$d"; } && echo "$sl" >"$d/cgroup.procs" || return 1
		fdirs+=("$d")
	done
	"$JR" -C >"$c" 2>&1
	wait_dead "$pid" 5 || { echo "our leftover still runs"; cat "$c"; return 1; }
	for d in "${dirs[@]}"; do
		[ ! -e "$d" ] || { echo "$d left"; cat "$c"; return 1; }
	done
	if [ "$mode" = v1 ]; then
		alive "$sl" || { echo "someone else's process was killed"; cat "$c"; return 1; }
		for d in "${fdirs[@]}"; do
			[ -d "$d" ] || { echo "$d removed under its process"; return 1; }
		done
		expect_eq "cleaned" "$(field cleaned "$c")" "${#dirs[@]}" &&
			expect_contains "log" "$(cat "$c")" "no QEMU of ours; left alone" || return 1
		kill -9 "$sl"
		wait "$sl" 2>/dev/null
		for d in "${fdirs[@]}"; do
			rmdir "$d" || return 1
		done
	else
		wait_dead "$sl" 5 || return 1
		expect_eq "cleaned" "$(field cleaned "$c")" 2
	fi
}

test_qemu_cannot_open_other_image() {
	local o=$work/out/qemu-other.txt drv
	[ -x "$QEMU" ] || { echo "no $QEMU"; return 77; }
	# B's QEMU, jailed with B's image, asked for A's.
	start_qemu "$o" "$A_IMG" "${qube_b[@]}"
	drv=$last_bg
	wait_dead "$drv" 30 || return 1
	wait "$drv" 2>/dev/null
	expect_eq "exit" "$(field status "$o")" "exit 1" &&
		expect_contains "QEMU's error" "$(cat "$o")" \
			"$A_IMG': No such file or directory"
}

test_qemu_kvm() {
	local o=$work/out/qemu-kvm.txt drv pid
	[ -x "$QEMU" ] || { echo "no $QEMU"; return 77; }
	[ -c /dev/kvm ] || { echo "no /dev/kvm here"; return 77; }
	# Only where KVM works for an unjailed QEMU (bounded).
	printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' |
		timeout 20 "$QEMU" -M microvm -accel kvm -nodefaults \
			-display none -S -qmp stdio >/dev/null 2>&1 || {
		echo "KVM does not work here even without the jail"
		return 77
	}
	start_bg "$o" -r "$root" -o "$QEMU" -q -t 60 "${qube_a[@]}" \
		-d /dev/kvm -- "$QEMU" "${qemu_args[@]}" -accel kvm
	drv=$last_bg
	wait_line "$o" '^qmp: ' 30 || return 1
	pid=$(jailed_pid "$o")
	echo "$pid" >>"$started"
	expect_eq "QMP" "$(field qmp "$o")" ready || { cat "$o"; return 1; }
	audit "$pid" "$UA" 2 || return 1
	kill -9 "$pid"
	end_bg "$drv" "$o"
}

test_qemu_boots_guest() {
	local o=$work/out/boot.txt k t drv pid khz
	[ -x "$QEMU" ] || { echo "no $QEMU"; return 77; }
	k=$(readlink -f "$IMAGES/kernels/current")
	for t in "$IMAGES"/templates/*/root.img; do break; done
	if [ ! -f "$k/vmlinuz" ] || [ ! -f "$t" ]; then
		echo "no guest images under $IMAGES (./setup builds them)"
		return 77
	fi
	mkfs.ext4 -q -F "$A_IMG" || return 1
	# As the daemon does under TCG: the guest skips TSC calibration.
	khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
	start_bg "$o" -r "$root" -o "$QEMU" -o "$k/vmlinuz" \
		-o "$k/initramfs.img" -o "$t" -q -t 120 "${qube_a[@]}" -- \
		"$QEMU" -M microvm,acpi=on -accel tcg -cpu max -m 256M \
		-nodefaults -no-user-config -display none -no-reboot \
		-sandbox "$SANDBOX" -kernel "$k/vmlinuz" \
		-initrd "$k/initramfs.img" \
		-append "console=ttyS0 panic=-1 tsc_early_khz=$khz bh.name=a bh.root=/dev/vda bh.private=/dev/vdb" \
		-chardev stdio,id=con -serial chardev:con \
		-drive "id=root,file=$t,format=raw,if=none,readonly=on" \
		-device virtio-blk-device,drive=root \
		-drive "id=p,file=$A_IMG,format=raw,if=none" \
		-device virtio-blk-device,drive=p \
		-object rng-random,id=rng,filename=/dev/urandom \
		-device virtio-rng-device,rng=rng \
		-chardev socket,id=qmp,fd=4 -mon chardev=qmp,mode=control \
		</dev/null
	drv=$last_bg
	wait_line "$o" '^pid: ' 10 || return 1
	pid=$(jailed_pid "$o")
	echo "$pid" >>"$started"
	# The guest read its template (vda) and mounted its private image
	# (vdb) read-write: QEMU served both from inside the jail.
	wait_line "$o" 'EXT4-fs \(vda\): mounted' 90 &&
		wait_line "$o" 'EXT4-fs \(vdb\): mounted' 30 || return 1
	audit "$pid" "$UA" 2 || return 1
	kill -9 "$pid"
	end_bg "$drv" "$o"
}

run_test test_privileges_inside
run_test test_privileges_from_host
run_test test_own_private_image_rw
run_test test_other_qube_image
run_test test_host_files_unreachable
run_test test_root_holds_only_jail_files
run_test test_network_only_lo
run_test test_kvm_device_own_node
run_test test_outlives_parent
run_test test_refusals
run_test test_no_mount_leaks_to_host
run_test test_qemu_audit
run_test test_qemu_cannot_open_other_image
run_test test_qemu_cgroup
run_test test_cgroup_limits_bite
run_test test_cgroup_leftovers
run_test test_qemu_kvm
run_test test_qemu_boots_guest

summary --skipped-if-any
