#!/usr/bin/env bash
# Hostile-qube tests: every qube here is build/tests/fake-qemu (see its
# header), which bulkheadd starts jailed in place of QEMU. It plays a qube
# whose agent is fully compromised: it writes any bytes on its channel,
# floods, stops reading, reuses ids. The daemon sees exactly the bytes a
# compromised guest would write on its virtio-serial port, without a TCG
# boot, so each attack runs in milliseconds and does exactly what it
# means. Each test is named after what it attacks and asserts what must
# hold: the daemon stays up and serves others, the policy holds, no qube
# freezes another, limits hold.
#
# Prints "hostile: NAME ok|FAILED|SKIPPED: why" per test and ends with
# "hostile: N passed, N failed, N skipped".
#
# Usage: tests/hostile/run-hostile-tests.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"

suite_init hostile "${1:-}"
root=""
agent_pid=""
work=$(mktemp -d /tmp/bh-hostile.XXXXXX)
FAKE=${FAKE_QEMU:-$top/build/tests/fake-qemu}

cleanup() {
	stop_asker
	keep_log "$root"
	[ -n "$root" ] && stop_root "$root"
	rm -rf "$work"
}
trap cleanup EXIT

# The daemon's log since the current test began (run_test sets log0).
newlog() { tail -c "+$((log0 + 1))" "$root/var/log/bulkhead/bulkheadd.log" 2>/dev/null; }
# in_newlog PATTERN: the daemon logged PATTERN (grep -E) in this test.
in_newlog() { newlog | grep -qE "$1"; }
export -f newlog in_newlog

run_test() {
	local name=$1 out rc
	selected "$name" || return 0
	log0=$(stat -c %s "$root/var/log/bulkhead/bulkheadd.log" 2>/dev/null || echo 0)
	export log0
	out=$("$name" 2>&1); rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || out+=$'\n'"$(daemon_log_tail "$root" 300)"
	tally hostile "$name" "$rc" "$out"
	# Figures a passing test measured.
	[ "$rc" != 0 ] || grep '^measured: ' <<<"$out" | sed 's/^/    /'
	reset_qubes
}

# After each test: a and b fresh and running, c halted, no asker, so that
# a test that failed half-way (a deaf qube, say) cannot spoil the next.
reset_qubes() {
	stop_asker
	bhh kill a b c >/dev/null 2>&1
	bhh start a b >/dev/null 2>&1
}

# Every qube is a fake-qemu; snapshots and data ports need a real QEMU.
bhh() {
	BULKHEAD_ROOT=$root BULKHEAD_DAEMON=$BULKHEADD BULKHEAD_QEMU=$FAKE \
		BULKHEAD_DISPVM_SNAPSHOTS=0 BULKHEAD_DATAPORTS=0 "$BH" "$@"
}
daemon_pid() { cat "$root/run/bulkhead/bulkheadd.pid" 2>/dev/null; }
# The daemon's control process: the one that reads what qubes send.
ctl_pid() { control_pid "$root"; }
# fq QUBE CMD...: a fake qube's command (tests/hostile/fake_qemu.c), bounded.
fq() { local q=$1; shift; timeout 30 env -u TERM bash -c 'bhh "$@" </dev/null' _ run "$q" -- "$@"; }
export -f bhh
export root BH BULKHEADD FAKE

# The daemon that started the suite must still be the one that answers:
# bh would start a new one if it had died, and its root parent a new
# control if control had.
daemon_alive() {
	local pid cpid
	pid=$(daemon_pid)
	cpid=$(ctl_pid)
	[ -n "$pid" ] && [ "$pid" = "$daemon0" ] && kill -0 "$pid" 2>/dev/null &&
		[ -n "$cpid" ] && [ "$cpid" = "$control0" ] && kill -0 "$cpid" 2>/dev/null
}

# restart QUBE: kill and start it again (fresh fake, empty state).
restart() { bhh kill "$1" >/dev/null 2>&1; bhh start "$1" >/dev/null; }

# A prompt agent the test answers through (tests/hostile/ask-agent.py).
start_asker() {
	: >"$work/questions"
	rm -f "$work/answers.fifo"
	mkfifo "$work/answers.fifo"
	python3 "$here/ask-agent.py" "$root/run/bulkhead/admin.sock" \
		"$work/questions" "$work/answers.fifo" &
	agent_pid=$!
	wait_until 10 grep -q '^answer register 0' "$work/questions" ||
		{ echo "ask agent did not register"; return 1; }
}
stop_asker() {
	[ -n "$agent_pid" ] || return 0
	kill "$agent_pid" 2>/dev/null
	wait "$agent_pid" 2>/dev/null
	agent_pid=""
}
# question_id SOURCE SERVICE: the id of the newest question from SOURCE.
question_id() {
	awk -v s="$1" -v v="$2" '$2 == s && $3 == v { id = $1 } END { print id }' \
		"$work/questions"
}
answer() { echo "$*" >"$work/answers.fifo"; }
# answer_status ID: the daemon's status for our answer to question ID.
answer_status() {
	wait_until 10 grep -q "^answer $1 " "$work/questions" || return 1
	awk -v id="$1" '$1 == "answer" && $2 == id { print $3 }' "$work/questions"
}

# ---------------------------------------------------------------- issue 11, points 6 and 7a

# A caller's service argument that starts with '-' would reach the
# service as its argv[1], an option of the caller's choosing. The daemon
# refuses the call before the policy; a '-' further in still passes.
test_dash_argument_becomes_option() {
	local out
	policy 'test.Echo * a b allow'
	out=$(fq a call 21 b test.Echo+--help hi) || return 1
	expect_contains "the call (refused)" "$out" "exit 3 0" || return 1
	out=$(fq a call 22 b test.Echo+x--help hi) || return 1
	expect_contains "the call with a later dash" "$out" "exit 0 0" || return 1
	out=$(fq b ran)
	case "$out" in
	*"test.Echo+--help"*) echo "b ran test.Echo with --help: $out"; return 1 ;;
	esac
	expect_contains "b ran" "$out" "test.Echo+x--help from a" || return 1
	in_newlog "a: malformed call request refused" ||
		{ echo "no refusal in the log"; return 1; }
}

# Disposables are dispN. A record named dispN (a database from before the
# name was kept for them) must never share its name with a new
# disposable, or policy, tags and asks take one for the other: with every
# dispN recorded, no disposable can be named, and none starts.
test_disposable_names_collide() {
	local db=$root/var/lib/bulkhead/bulkhead.db out rc
	sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1
		FROM n WHERE i < 9999) INSERT INTO qubes (name, class, uuid)
		SELECT 'disp' || i, 'StandaloneVM',
		printf('%08x-0000-4000-8000-000000000000', i) FROM n" || return 1
	out=$(timeout 60 bash -c 'bhh run --dispvm -- echo ran </dev/null' 2>&1); rc=$?
	sqlite3 "$db" "DELETE FROM qubes WHERE name GLOB 'disp[0-9]*'" || return 1
	[ "$rc" != 0 ] || { echo "a disposable ran under a recorded name: $out"; return 1; }
	expect_contains "bh run --dispvm" "$out" "cannot name a new qube" || return 1
	[ "$(fq b echo alive)" = alive ] || { echo "b does not answer"; return 1; }
	# The names free again, a disposable runs.
	expect_eq "after" "$(timeout 60 bash -c 'bhh run --dispvm -- echo ran </dev/null')" ran
}

# Policy files name qubes by uuid, as in Qubes: a call allowed only by a
# uuid: rule goes through, to the qube by that uuid, whether the caller
# names its target by name or by uuid; another qube's uuid does not
# match. A running disposable is a source the policy knows (uuid,
# @type:DispVM, @dispvm:NAME), which the store does not record.
test_uuid_rules_route_calls() {
	local ua ub uc out
	ua=$(bhh prefs a uuid) ub=$(bhh prefs b uuid) uc=$(bhh prefs c uuid)
	[[ $ua =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
		{ echo "a's uuid: '$ua'"; return 1; }
	policy "test.Echo * uuid:$ua uuid:$ub allow" \
		"test.Echo * uuid:$uc @anyvm allow" \
		"test.Disp * @dispvm:dvm b allow" \
		"test.Disp * @type:DispVM a allow"
	out=$(fq a call 31 b test.Echo+u1 hi) || return 1
	expect_contains "a -> b" "$out" "exit 0 0" || return 1
	out=$(fq a call 32 "uuid:$ub" test.Echo+u2 hi) || return 1
	expect_contains "a -> uuid:b" "$out" "exit 0 0" || return 1
	in_newlog "a -> uuid:$ub: test.Echo\+u2 allowed .* to b\$" ||
		{ echo "not routed to b by name"; return 1; }
	out=$(fq b ran)
	expect_contains "b ran" "$out" "test.Echo+u2" || return 1
	out=$(fq b call 33 a test.Echo+u3 hi) || return 1
	expect_contains "b -> a (c's rule)" "$out" "exit 3 0" || return 1
	out=$(timeout 60 bash -c 'bhh run --dispvm=dvm -- call 34 b test.Disp+u4 hi </dev/null' 2>&1)
	expect_contains "a disposable of dvm -> b" "$out" "exit 0 0" || return 1
	in_newlog "disp[0-9]+ -> b: test.Disp\+u4 allowed" ||
		{ echo "no allowed call from a disposable in the log"; return 1; }
}

# ---------------------------------------------------------------- point 1

# A caller that stops reading fills its own queue with the refusals of a
# flood of malformed calls; then its calls to new disposables are joined:
# the CREDIT that opens a call does not fit, the relay breaks and used to
# free the call under join(), which then read it (bulkheadd crashed). Now
# the daemon stops reading a qube whose own queue it leaves unread, so the
# flood stalls there; either way the daemon must live and serve others.
test_join_with_full_caller_queue_crashes_daemon() {
	policy 'test.Echo * a @dispvm allow'
	fq a deaf-flood-call 1200000 @dispvm test.Echo || return 1
	wait_until 60 in_newlog 'disp[0-9]+: ready after|a: not read while' ||
		{ echo "neither the calls nor the pause came"; return 1; }
	bhh ls >/dev/null 2>&1
	daemon_alive || { echo "bulkheadd died"; return 1; }
	expect_eq "b still runs commands" "$(fq b echo alive)" alive
}

# ---------------------------------------------------------------- point 2

# The caller asks (the policy says ask), is restarted, and reuses the
# call id for a call the policy would never send to the first target.
# The user's late "allow" of the first question must not send the
# second call there.
test_stale_ask_allow_reroutes_other_call() {
	local q1 q2 st
	policy 'test.S1 * a b ask' 'test.S2 * a c ask'
	start_asker || return 1
	fq a open 5 b test.S1 >/dev/null || return 1
	wait_until 10 grep -q ' a test.S1 ' "$work/questions" ||
		{ echo "no question for S1"; return 1; }
	q1=$(question_id a test.S1)
	restart a || return 1
	fq a open 5 c test.S2 >/dev/null || return 1
	wait_until 10 grep -q ' a test.S2 ' "$work/questions" ||
		{ echo "no question for S2"; return 1; }
	q2=$(question_id a test.S2)
	answer allow "$q1" b
	st=$(answer_status "$q1")
	answer deny "$q2"
	answer_status "$q2" >/dev/null
	stop_asker
	case "$(fq b ran)" in
	*test.S2*) echo "test.S2 ran in b, where the policy denies it"; return 1 ;;
	esac
	[ "$st" != 0 ] || { echo "the stale answer was taken (status 0)"; return 1; }
}

# A late "deny" of a question whose call is gone must not end the call
# that reuses its id and is already joined.
test_stale_ask_deny_ends_joined_call() {
	local q1 out
	policy 'test.S1 * a b ask' 'test.Echo * a b allow'
	start_asker || return 1
	fq a open 6 b test.S1 >/dev/null || return 1
	wait_until 10 grep -q ' a test.S1 ' "$work/questions" ||
		{ echo "no question for S1"; return 1; }
	q1=$(question_id a test.S1)
	restart a || return 1
	expect_eq "new call joined" "$(fq a open 6 b test.Echo ';' joined 6)" joined ||
		return 1
	answer deny "$q1"
	answer_status "$q1" >/dev/null
	stop_asker
	expect_eq "joined call after the late deny" "$(fq a joined 6)" joined ||
		return 1
	out=$(fq a close 6 ';' wait 6)
	expect_eq "joined call ends well" "$out" "exit 0 0" 
}

# A caller that goes away cancels its questions: the agent's answer then
# finds none.
test_caller_gone_cancels_its_asks() {
	local q1 st
	policy 'test.S1 * a b ask'
	start_asker || return 1
	fq a open 11 b test.S1 >/dev/null || return 1
	wait_until 10 grep -q ' a test.S1 ' "$work/questions" ||
		{ echo "no question for S1"; return 1; }
	q1=$(question_id a test.S1)
	restart a || return 1
	answer allow "$q1" b
	st=$(answer_status "$q1")
	stop_asker
	[ "$st" != 0 ] || { echo "an answer for a gone caller was taken"; return 1; }
	case "$(fq b ran)" in
	*test.S1*) echo "test.S1 ran for a caller that was gone"; return 1 ;;
	esac
}

# ---------------------------------------------------------------- point 3

# A caller with one open call into b that stops reading must not stop
# every other stream of b: b still runs the host's commands.
test_deaf_caller_freezes_target() {
	local out
	policy 'test.Source * a b allow'
	# Four windows: more than the socket and QEMU buffers can hold.
	fq a open 8 b test.Source+4096 ';' open 9 b test.Source+4096 ';' \
		open 10 b test.Source+4096 ';' open 11 b test.Source+4096 ';' \
		deaf >/dev/null || return 1
	out=$(fq b echo alive)
	expect_eq "b answers while a is deaf" "$out" alive 
}

# A service that stops reading (a disposable that opened a hostile file)
# must not freeze its caller: the caller still runs commands and can
# hang up.
test_deaf_service_freezes_caller() {
	local out
	policy 'test.Deaf * a b allow' 'test.Hold * a b allow'
	fq a open 9 b test.Deaf ';' open 10 b test.Hold ';' \
		open 11 b test.Hold ';' open 12 b test.Hold ';' \
		open 13 b test.Hold >/dev/null || return 1
	wait_until 10 sh -c "grep -q 'service test.Deaf' \
		'$root/run/bulkhead/qubes/b/console.log'" ||
		{ echo "test.Deaf never started"; return 1; }
	fq a push 10 1024 ';' push 11 1024 ';' push 12 1024 ';' \
		push 13 1024 >/dev/null || return 1
	out=$(fq a echo alive)
	expect_eq "a answers while b is deaf" "$out" alive 
}

# ---------------------------------------------------------------- point 4

# One caller may not hold every disposable the host can run.
test_dispvm_flood_from_one_caller() {
	local out n
	policy 'test.Hold * a @dispvm allow'
	out=$(fq a open-many 40 100 @dispvm test.Hold ';' tally 100 40) ||
		return 1
	n=$(pgrep -c -f "[f]ake-qemu.*bh.name=disp" || true)
	echo "tally: $out, disposables: $n"
	case "$out" in
	"joined "[0-9]" ended"*) ;;
	*) echo "one caller got more than 9 disposables at once"; return 1 ;;
	esac
	expect_contains "log" "$(newlog)" "too many disposables" || return 1
	bhh kill a >/dev/null 2>&1
	wait_until 20 sh -c '! pgrep -f "[f]ake-qemu.*bh.name=disp" >/dev/null' ||
		{ echo "disposables left after their caller went"; return 1; }
}

# One caller may not take every stream slot of a target: another caller
# still gets through. (A qube holds at most 256 streams of its own, so a
# takes all it can, 255; c then needs more than the one slot left.)
test_stream_slots_of_target_from_one_caller() {
	local out
	policy 'test.Hold * a b allow' 'test.Hold * c b allow'
	bhh start c >/dev/null 2>&1
	out=$(fq a open-many 255 1000 b test.Hold ';' tally 1000 255) || return 1
	echo "a's 255 calls: $out"
	out=$(fq c open-many 8 1 b test.Hold ';' tally 1 8)
	expect_eq "c's 8 calls to b" "$out" "joined 8 ended 0 refused 0" ||
		return 1
}

# One caller may not fill the daemon's questions: another caller's ask
# still reaches the agent.
test_ask_slots_from_one_caller() {
	policy 'test.Ask * a b ask' 'test.Ask * c b ask'
	bhh start c >/dev/null 2>&1
	start_asker || return 1
	fq a open-many 64 2000 b test.Ask >/dev/null || return 1
	fq c open 3 b test.Ask >/dev/null || return 1
	wait_until 10 grep -q ' c test.Ask ' "$work/questions" ||
		{ stop_asker; echo "c's question never reached the agent"; return 1; }
	stop_asker
}

# ---------------------------------------------------------------- point 5

# A flood of malformed frames from a qube that does not read: the daemon's
# memory stays bounded, and it still serves others.
test_flood_keeps_daemon_memory_bounded() {
	local pid rss0 peak
	pid=$(ctl_pid)
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	fq a flood-mib 1024 >/dev/null || return 1
	# Sample the daemon's RSS until the flood is sent (bounded: 3000
	# samples); the largest is the figure.
	peak=$(for _ in $(seq 3000); do
		awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"
		grep -q 'garbage flood sent' \
			"$root/run/bulkhead/qubes/a/console.log" && break
		sleep 0.1
	done | sort -n | tail -n 1)
	grep -q 'garbage flood sent' "$root/run/bulkhead/qubes/a/console.log" ||
		{ echo "the flood was not sent in 300 s"; return 1; }
	expect_eq "b still runs commands" "$(fq b echo alive)" alive || return 1
	echo "measured: bulkheadd's control RSS ${rss0} KiB before, ${peak} KiB at most during a 1 GiB flood"
	[ $((peak - rss0)) -lt 16384 ] ||
		{ echo "RSS grew by $(((peak - rss0) / 1024)) MiB (bound 16)"; return 1; }
}

# The same flood from a qube that does not read what the daemon answers:
# the daemon stops reading it (it says so), and serves the others.
test_deaf_flood_is_not_read() {
	fq a deaf-flood-mib 1024 >/dev/null || return 1
	wait_until 60 in_newlog 'a: not read while' ||
		{ echo "the daemon never stopped reading a"; return 1; }
	expect_eq "b still runs commands" "$(fq b echo alive)" alive || return 1
	daemon_alive || { echo "bulkheadd died"; return 1; }
}

# ------------------------------------------------------ point 5: the logs

# A QEMU that prints without end (a guest can make QEMU log a line per
# malformed virtio-serial message): qemu.log stays within its cap (1 MiB,
# and the MiB before in qemu.log.old), QEMU is not stopped by it, and the daemon
# and the other qubes still answer.
test_qemu_stderr_flood_capped() {
	local d=$root/run/bulkhead/qubes/a size old
	fq a stderr-flood 64 >/dev/null || return 1
	wait_until 120 grep -q 'stderr flood sent' "$d/console.log" ||
		{ echo "the flood was not sent: qemu.log is $(stat -c %s "$d/qemu.log") bytes"; return 1; }
	size=$(stat -c %s "$d/qemu.log")
	old=$(stat -c %s "$d/qemu.log.old" 2>/dev/null || echo 0)
	echo "measured: after 64 MiB on QEMU's stderr: qemu.log $size bytes, qemu.log.old $old"
	[ "$size" -le $((1 << 20)) ] && [ "$old" -le $((1 << 20)) ] ||
		{ echo "qemu.log passed its 1 MiB cap"; return 1; }
	# Rotated (by the channel process, through its open files): the
	# previous MiB is kept in qemu.log.old.
	[ "$old" -eq $((1 << 20)) ] ||
		{ echo "qemu.log.old does not hold the previous MiB"; return 1; }
	grep -q 'Unexpected port id' "$d/qemu.log" ||
		{ echo "qemu.log does not hold QEMU's lines"; return 1; }
	expect_eq "a still runs commands" "$(fq a echo alive)" alive || return 1
	expect_eq "b still runs commands" "$(fq b echo alive)" alive || return 1
	daemon_alive || { echo "bulkheadd died"; return 1; }
}

# A QEMU that fails at once: its message reaches qemu.log and the start's
# error, though its stderr is a pipe the daemon reads.
test_qemu_early_death_message_kept() {
	local out
	bhh prefs c kernelopts fake.die >/dev/null || return 1
	out=$(bhh start c 2>&1)
	bhh prefs c kernelopts '' >/dev/null
	expect_contains "bh start c" "$out" "fake-qemu: dying at start, as asked"
}

# called_off: how many of a's malformed calls this test's log accounts
# for: each refusal is one line, or counted in a "suppressed" line.
called_off() {
	local n s
	n=$(newlog | grep -c ' a: malformed call request refused')
	s=$(newlog | sed -n 's/.* a: \([0-9]*\) log lines suppressed.*/\1/p' |
		awk '{ t += $1 } END { print t + 0 }')
	echo $((n + s))
}
export -f called_off

# 100000 malformed calls from one qube: its lines are rate-limited (a
# burst, then 10 a second), so bulkheadd.log grows by a bounded amount,
# and says how many lines it dropped.
test_malformed_call_flood_log_bounded() {
	local t0 secs lines grown
	t0=$(date +%s)
	fq a flood-calls 100000 >/dev/null || return 1
	wait_until 120 bash -c '[ "$(called_off)" -ge 100000 ]' ||
		{ echo "the log accounts for $(called_off) of 100000 calls"; return 1; }
	secs=$(($(date +%s) - t0 + 1))
	lines=$(newlog | grep -c ' a: malformed call request refused')
	grown=$(newlog | wc -c)
	echo "measured: 100000 malformed calls in ${secs} s: $lines lines written, log +$grown bytes"
	expect_contains "log" "$(newlog)" "a: " || return 1
	newlog | grep -q ' a: [0-9]* log lines suppressed' ||
		{ echo "no suppressed-lines summary"; return 1; }
	# 100 at once, then 10 a second (and a slack of 10 a second).
	[ "$lines" -le $((100 + 20 * secs)) ] ||
		{ echo "$lines lines written in $secs s (bound $((100 + 20 * secs)))"; return 1; }
	[ "$grown" -lt $((256 * 1024)) ] ||
		{ echo "the log grew by $grown bytes"; return 1; }
	expect_eq "b still runs commands" "$(fq b echo alive)" alive || return 1
	daemon_alive || { echo "bulkheadd died"; return 1; }
}

# bulkheadd.log is rotated: a daemon (of its own root) told to rotate past
# 4 KiB keeps bulkheadd.log small, the older lines in .1 and .2, no .3,
# and writes on into the new file. A daemon whose stderr is another file
# (run in the foreground) never renames bulkheadd.log.
test_log_rotation() {
	local saved=$root pid logd r=0 fg
	root=$(new_root rotate)
	export root
	logd=$root/var/log/bulkhead
	{
		BULKHEAD_LOG_ROTATE_BYTES=4096 bhh create -l red a &&
			BULKHEAD_LOG_ROTATE_BYTES=4096 bhh start a &&
			fq a flood-calls 2000 >/dev/null &&
			wait_until 30 test -e "$logd/bulkheadd.log.2" &&
			bhh kill a
	} >/dev/null 2>&1 || { echo "rotation never reached .2"; r=1; }
	pid=$(ctl_pid)
	if [ "$r" = 0 ]; then
		ls -l "$logd" | sed 's/^/    /'
		[ ! -e "$logd/bulkheadd.log.3" ] || { echo "a .3 was made"; r=1; }
		[ "$(stat -c %s "$logd/bulkheadd.log")" -lt $((3 * 4096)) ] ||
			{ echo "the live log passed 12 KiB"; r=1; }
		expect_eq "the daemon's stderr" "$(readlink "/proc/$pid/fd/2")" \
			"$logd/bulkheadd.log" || r=1
		wait_until 10 grep -q 'a: halted' "$logd/bulkheadd.log" \
			"$logd/bulkheadd.log.1" ||
			{ echo "the new log is not written"; r=1; }
		grep -q 'log continued from' "$logd/bulkheadd.log" \
			"$logd/bulkheadd.log.1" ||
			{ echo "no line says where the log continues from"; r=1; }
	fi
	stop_root "$root"
	# In the foreground, stderr elsewhere: no rotation.
	root=$(new_root rotate-fg)
	export root
	logd=$root/var/log/bulkhead
	mkdir -p "$logd"
	: >"$logd/bulkheadd.log"
	fg=$root/fg.log
	BULKHEAD_ROOT=$root BULKHEAD_LOG_ROTATE_BYTES=4096 BULKHEAD_QEMU=$FAKE \
		BULKHEAD_DISPVM_SNAPSHOTS=0 BULKHEAD_DATAPORTS=0 \
		"$BULKHEADD" -v </dev/null >"$fg" 2>&1 &
	if wait_until 20 test -S "$root/run/bulkhead/admin.sock"; then
		bhh create -l red a >/dev/null 2>&1 && bhh start a >/dev/null 2>&1 &&
			fq a flood-calls 500 >/dev/null
		wait_until 10 bash -c "[ \$(stat -c %s '$fg') -gt 8192 ]" ||
			{ echo "the foreground daemon wrote little: $(wc -c <"$fg")"; r=1; }
		[ ! -e "$logd/bulkheadd.log.1" ] && [ ! -e "$fg.1" ] ||
			{ echo "a foreground daemon rotated"; r=1; }
	else
		echo "the foreground daemon did not start: $(tail -n 3 "$fg")"; r=1
	fi
	stop_root "$root"
	root=$saved
	export root
	return "$r"
}

# A qube that breaks the protocol before it is ready (a HELLO of a
# version we do not speak): its channel process stops reading it, the
# qube is destroyed, and `bh start` fails saying why (it said OK before:
# the kill had left the qube "stopping", which read as a stop on purpose).
test_bad_hello_fails_start() {
	local out rc
	bhh prefs c kernelopts fake.badhello >/dev/null || return 1
	out=$(bhh start c 2>&1); rc=$?
	bhh prefs c kernelopts '' >/dev/null
	[ "$rc" != 0 ] || { echo "bh start c succeeded: $out"; return 1; }
	expect_contains "bh start c" "$out" "qube c broke the channel protocol (frame type 1" || return 1
	expect_eq "halted qubes" "$(bhh ls --raw --halted c 2>/dev/null)" c
}

# ------------------------------------- the channel process, by trying

# A qube's channel process (bulkhead-chan) parses every byte its qube
# sends; whoever breaks that parser holds the process. Shown here by
# making it try, once confined, what such an attacker would: open
# another qube's private image, open the state database, connect to the
# admin socket (the suite's main root holds all three; other qubes'
# channels have no path at all: socket pairs). The try comes from
# BULKHEAD_TEST_CHAN_TRY in the environment of a daemon of its own
# (src/chan/main.c). Each try must end in the process's death by its
# seccomp filter (SIGSYS), its qube destroyed, and nothing reached.
test_chan_cannot_reach_others() {
	local r2 what out bad=0 pid
	r2=$(new_root hostile-try)
	mkdir -p "$r2/etc/bulkhead/policy.d"
	[ -e "$root/var/lib/bulkhead/qubes/a/private.img" ] ||
		{ echo "qube a has no private image to try"; stop_root "$r2"; return 1; }
	for what in "open:$root/var/lib/bulkhead/qubes/a/private.img" \
		"open:$root/var/lib/bulkhead/bulkhead.db" \
		"connect:$root/run/bulkhead/admin.sock"; do
		out=$(BULKHEAD_TEST_CHAN_TRY=$what BULKHEAD_ROOT=$r2 \
			BULKHEAD_DAEMON=$BULKHEADD BULKHEAD_QEMU=$FAKE \
			BULKHEAD_DISPVM_SNAPSHOTS=0 BULKHEAD_DATAPORTS=0 \
			sh -c '[ -e "$BULKHEAD_ROOT/var/lib/bulkhead/bulkhead.db" ] || "$BH" create -l red x >/dev/null; timeout 60 "$BH" start x' 2>&1) &&
			{ echo "$what: qube x started: $out"; bad=1; }
		grep -q "channel process of qube x ended" <<<"$out" ||
			{ echo "$what: bh start x said: $out"; bad=1; }
		grep -q "x: its channel process was killed by signal 31" "$r2/var/log/bulkhead/bulkheadd.log" ||
			{ echo "$what: the channel process was not killed by its filter"; bad=1; }
		if grep -q "test try .*it worked" "$r2/var/log/bulkhead/bulkheadd.log"; then
			echo "$what: the channel process reached it"; bad=1
		fi
		[ "$bad" = 1 ] || echo "measured: $what: the channel process was killed by SIGSYS"
		# The next try needs a daemon started with it.
		pid=$(cat "$r2/run/bulkhead/bulkheadd.pid" 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" && wait_until 10 sh -c "! kill -0 $pid"
		: >"$r2/var/log/bulkhead/bulkheadd.log"
	done
	stop_root "$r2"
	expect_eq "a still runs commands" "$(fq a echo alive)" alive || bad=1
	return $bad
}

# `bh daemon stop` (without --keep-qubes) stops the daemon as SIGTERM
# does: it says which qubes it waits for, the running fake qube is shut
# down and recorded halted, and no process the daemon started is left.
# On a root of its own, so the suite's daemon stays.
test_daemon_stop_shuts_qubes_down() {
	local saved=$root pid cpid kids out rc r=0 k
	root=$(new_root dstop)
	export root
	if bhh create -l red q >/dev/null 2>&1 && bhh start q >/dev/null 2>&1; then
		pid=$(daemon_pid)
		cpid=$(ctl_pid)
		# The qube's QEMU and channel process are the root parent's
		# children (it starts them for control), beside control.
		kids=$(pgrep -P "$pid" | grep -vx "$cpid")
		[ -n "$kids" ] || { echo "the daemon's parent started no process beside control"; r=1; }
		out=$(bhh daemon stop 2>&1 </dev/null); rc=$?
		expect_eq "status of bh daemon stop" "$rc" 0 || { echo "$out"; r=1; }
		expect_contains "bh daemon stop" "$out" \
			"bh: stopping bulkheadd (pid $pid) and shutting down its 1 running qubes first (at most 60 s): q" || r=1
		expect_contains "bh daemon stop" "$out" "bh: bulkheadd (pid $pid) has stopped" || r=1
		gone "$pid" || { echo "the daemon still runs"; r=1; }
		gone "$cpid" || { echo "its control still runs"; r=1; }
		for k in $kids; do
			gone "$k" || { echo "process $k of the daemon is left: $(tr '\0' ' ' <"/proc/$k/cmdline")"; r=1; }
		done
		grep -q 'q: halted' "$root/var/log/bulkhead/bulkheadd.log" ||
			{ echo "q was not recorded halted"; r=1; }
		expect_eq "q after the stop" "$(bhh ls --raw --halted q 2>/dev/null)" q || r=1
	else
		echo "q did not start"; r=1
	fi
	stop_root "$root"
	root=$saved
	export root
	return "$r"
}

# bh daemon restart while a qube floods its channel and reads nothing
# back (issue 12, point 2): the restart does not wait on it, the next
# daemon re-attaches to both qubes, stops reading the deaf one as it
# should, keeps its memory bounded and serves the other. On a root of
# its own, so the suite's daemon stays.
test_restart_while_qube_floods() {
	local saved=$root pid new r=0 rss
	root=$(new_root rflood)
	export root
	if bhh create -l red q1 >/dev/null 2>&1 && bhh create -l blue q2 >/dev/null 2>&1 &&
		bhh start q1 q2 >/dev/null 2>&1; then
		pid=$(daemon_pid)
		fq q1 deaf-flood-mib 256 >/dev/null || { echo "q1's flood did not start"; r=1; }
		bhh daemon restart </dev/null >/dev/null 2>&1 || { echo "bh daemon restart failed"; r=1; }
		new=$(daemon_pid)
		[ -n "$new" ] && [ "$new" != "$pid" ] || { echo "no new daemon"; r=1; }
		grep -q "q1: re-attached" "$root/var/log/bulkhead/bulkheadd.log" ||
			{ echo "q1 was not re-attached"; r=1; }
		# Said by the new daemon: after its re-attach.
		wait_until 60 sh -c "sed -n '/q1: re-attaching/,\$p' '$root/var/log/bulkhead/bulkheadd.log' |
			grep -q 'q1: not read while'" ||
			{ echo "the new daemon never stopped reading q1"; r=1; }
		expect_eq "q2 still runs commands" "$(fq q2 echo alive)" alive || r=1
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(ctl_pid)/status")
		echo "measured: the new bulkheadd's control RSS with q1 flooding: $rss KiB"
		[ "${rss:-99999}" -lt 16384 ] || { echo "RSS $rss KiB (bound 16 MiB)"; r=1; }
	else
		echo "q1 or q2 did not start"; r=1
	fi
	stop_root "$root"
	root=$saved
	export root
	return "$r"
}

# ---------------------------------------------------------------- setup

if [ ! -x "$FAKE" ]; then
	echo "hostile: $FAKE not built (make hostile)"
	echo "hostile: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "hostile: 0 passed, 0 failed, 1 skipped (bulkheadd runs as root only)"
	exit 0
fi
root=$(new_root hostile)
mkdir -p "$root/etc/bulkhead/policy.d"
setup_out=$(
	set -e
	bhh create -l red a
	bhh create -l blue b
	bhh create -l green c
	bhh create -l gray dvm
	bhh prefs dvm template_for_dispvms True
	bhh prefs a default_dispvm dvm
	bhh start a b
	fq a echo ready
) 2>&1 || {
	echo "hostile: setup FAILED:"
	echo "$setup_out" | sed 's/^/    /'
	echo "hostile: 0 passed, 1 failed, 0 skipped"
	exit 1
}
daemon0=$(daemon_pid)
control0=$(ctl_pid)

run_test test_dash_argument_becomes_option
run_test test_disposable_names_collide
run_test test_uuid_rules_route_calls
run_test test_stale_ask_allow_reroutes_other_call
run_test test_stale_ask_deny_ends_joined_call
run_test test_caller_gone_cancels_its_asks
run_test test_deaf_caller_freezes_target
run_test test_deaf_service_freezes_caller
run_test test_dispvm_flood_from_one_caller
run_test test_stream_slots_of_target_from_one_caller
run_test test_ask_slots_from_one_caller
run_test test_flood_keeps_daemon_memory_bounded
run_test test_deaf_flood_is_not_read
run_test test_qemu_stderr_flood_capped
run_test test_qemu_early_death_message_kept
run_test test_malformed_call_flood_log_bounded
run_test test_log_rotation
run_test test_bad_hello_fails_start
run_test test_chan_cannot_reach_others
run_test test_daemon_stop_shuts_qubes_down
run_test test_restart_while_qube_floods
# Last: before its fix it kills the daemon.
run_test test_join_with_full_caller_queue_crashes_daemon

summary
