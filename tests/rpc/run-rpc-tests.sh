#!/usr/bin/env bash
# RPC tests: calls between real qubes (TCG on our machines) through bh,
# bulkheadd and the guests' bh-call, with the policy in a test root. Two
# AppVMs, a (the caller) and b (the target), run for the whole suite; a
# third, c, stays halted until a call starts it. Services of b live in its
# /usr/local/etc/bulkhead/rpc (its private volume). Prints
# "rpc: NAME ok|FAILED|SKIPPED: why" per test and ends with
# "rpc: N passed, N failed, N skipped".
#
# Usage: tests/rpc/run-rpc-tests.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"

suite_init rpc "${1:-}"
root=""
agent_pid=""
work=$(mktemp -d /tmp/bh-rpctests.XXXXXX)

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
	# KEEP_LOG=FILE keeps the daemon's log, for a failure's story.
	keep_log "$root"
	[ -n "$root" ] && stop_root "$root"
	rm -rf "$work"
}
trap cleanup EXIT

run_test() {
	local name=$1 out rc
	selected "$name" || return 0
	out=$("$name" 2>&1); rc=$?
	# A failure's story: what the daemon logged last.
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || out+=$'\n'"$(daemon_log_tail "$root")"
	tally rpc "$name" "$rc" "$out"
}

bhr() { BULKHEAD_ROOT=$root BULKHEAD_DAEMON=$BULKHEADD "$BH" "$@"; }
# in QUBE CMD...: runs a shell command line in the qube, no stdin.
in_q() { local q=$1; shift; bhr run "$q" -- sh -c "$*" </dev/null; }

# A service script SVC with BODY into QUBE's /usr/local/etc/bulkhead/rpc
# (root's: commands run as the qube's default_user otherwise).
service() {
	printf '#!/bin/sh\n%s\n' "$2" |
		bhr run -u root "$3" -- sh -c "mkdir -p /usr/local/etc/bulkhead/rpc &&
			cat >/usr/local/etc/bulkhead/rpc/$1 &&
			chmod 755 /usr/local/etc/bulkhead/rpc/$1"
}

# The prompt agent answering with ANSWER, started and registered.
start_agent() {
	bhr policy-agent --answer "$1" >"$work/agent.out" 2>&1 &
	agent_pid=$!
	wait_until 20 grep -q "answering" "$work/agent.out" ||
		{ echo "agent did not register: $(cat "$work/agent.out")"; return 1; }
}
stop_agent() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
	wait "$agent_pid" 2>/dev/null
	agent_pid=""
}

# ---------------------------------------------------------------- calls

test_allowed_call() {
	local out
	policy 'test.Echo * a b allow'
	out=$(printf 'data\n' | bhr run a -- bh-call b test.Echo+arg1)
	expect_eq "exit" "$?" 0 &&
		expect_eq "output" "$out" "$(printf 'from a arg arg1\ndata')"
}

test_denied_call_never_runs() {
	local rc
	policy '# nothing allowed'
	in_q b 'rm -f /tmp/ran' || return 1
	in_q a 'bh-call b test.Mark' >/dev/null 2>&1; rc=$?
	expect_eq "exit" "$rc" 126 || return 1
	expect_eq "service ran" "$(in_q b 'test -e /tmp/ran && echo yes || echo no')" no ||
		return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"a -> b: test.Mark+ denied: no rule matched"
}

test_no_such_service() {
	local rc
	policy 'test.Missing * a b allow'
	in_q a 'bh-call b test.Missing' >/dev/null 2>&1; rc=$?
	expect_eq "exit" "$rc" 127
}

test_service_exit_status() {
	local rc
	policy 'test.Exit3 * a b allow'
	in_q a 'bh-call b test.Exit3' >/dev/null 2>&1; rc=$?
	expect_eq "exit" "$rc" 3
}

test_source_cannot_be_forged() {
	# The caller's environment and request name nothing the target
	# trusts: BH_REMOTE_QUBE comes from the daemon, which knows who
	# calls.
	local out
	policy 'test.Echo * a b allow'
	out=$(in_q a 'BH_REMOTE_QUBE=b BH_SERVICE_ARGUMENT=zz bh-call b test.Echo+q')
	expect_eq "source seen by b" "$out" "from a arg q"
}

test_call_with_local_command() {
	local out
	policy 'test.Echo * a b allow'
	out=$(in_q a "bh-call b test.Echo -- sh -c 'echo piped; exec cat >&2'" 2>&1)
	expect_eq "exit" "$?" 0 &&
		expect_contains "service output reached CMD" "$out" "from a arg"
}

test_service_closing_output_reads_input() {
	# A service that closes its output at once still gets all its input
	# (bh-call pumps both ways until each ends).
	local out
	policy 'test.Sink * a b allow'
	out=$(in_q a 'head -c 3000000 /dev/zero | bh-call b test.Sink; echo rc=$?')
	expect_eq "caller" "$out" rc=0 &&
		expect_eq "bytes the service read" "$(in_q b 'cat /tmp/sink.count')" 3000000
}

test_call_ends_while_input_stays_open() {
	# The service ends without reading; the caller's stdin never ends:
	# bh-call returns the status anyway.
	local out
	policy 'test.Exit3 * a b allow'
	out=$(BULKHEAD_ROOT=$root timeout 120 "$BH" run a -- sh -c 'rm -f /tmp/ff; mkfifo /tmp/ff; exec 3<>/tmp/ff
		bh-call b test.Exit3 <&3; echo rc=$?' </dev/null 2>/dev/null)
	expect_eq "caller" "$out" rc=3
}

test_policy_change_next_call() {
	local rc
	policy '# deny'
	in_q a 'bh-call b test.Echo' >/dev/null 2>&1; rc=$?
	expect_eq "before" "$rc" 126 || return 1
	policy 'test.Echo * a b allow'
	in_q a 'bh-call b test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "after, no restart" "$rc" 0
}

test_invalid_policy_fails_closed() {
	local rc out
	policy 'test.Echo * a b allow' 'test.Echo * a b maybe'
	in_q a 'bh-call b test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "call under an invalid policy" "$rc" 126 || return 1
	out=$(bhr policy lint 2>&1); rc=$?
	expect_eq "lint exit" "$rc" 2 &&
		expect_contains "lint names file:line" "$out" "10-test.policy:2"
}

# Qubes' !include: the included file's rules decide, a missing include
# denies everything and lint names the directive's line.
test_policy_include() {
	local rc out
	mkdir -p "$root/etc/bulkhead/policy.d/include" || return 1
	printf '%s\n' 'test.Echo * a b allow' \
		>"$root/etc/bulkhead/policy.d/include/echo"
	policy '# the rules are in include/echo' '!include include/echo'
	out=$(bhr policy check a b test.Echo)
	expect_contains "check" "$out" "(include/echo:1)" || return 1
	in_q a 'bh-call b test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "call through the include" "$rc" 0 || return 1
	rm -f "$root/etc/bulkhead/policy.d/include/echo"
	in_q a 'bh-call b test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "call with the include missing" "$rc" 126 || return 1
	out=$(bhr policy lint 2>&1)
	expect_contains "lint" "$out" "10-test.policy:2: cannot include include/echo"
}

test_ask_without_agent_denies() {
	local rc
	policy 'test.Echo * a @anyvm ask default_target=b'
	in_q a 'bh-call @default test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "exit" "$rc" 126
}

test_ask_allowed_by_agent() {
	local rc out
	policy 'test.Echo * a @anyvm ask default_target=b'
	start_agent allow || return 1
	out=$(in_q a 'bh-call @default test.Echo+asked </dev/null'); rc=$?
	stop_agent
	expect_eq "exit" "$rc" 0 &&
		expect_eq "output" "$out" "from a arg asked" &&
		expect_contains "agent" "$(cat "$work/agent.out")" "a test.Echo+asked -> allow b"
}

test_ask_denied_by_agent() {
	local rc
	policy 'test.Echo * a @anyvm ask default_target=b'
	start_agent deny || return 1
	in_q a 'bh-call @default test.Echo </dev/null' >/dev/null 2>&1; rc=$?
	stop_agent
	expect_eq "exit" "$rc" 126
}

test_ask_offers_only_allowed_targets() {
	local out
	policy 'test.Echo * a c deny' 'test.Echo * a @anyvm ask'
	out=$(bhr policy check a @default test.Echo)
	expect_contains "check" "$out" "ask targets=" || return 1
	case $out in
	*targets=*c[,\ ]* | *targets=c[,\ ]*) echo "c offered: $out"; return 1 ;;
	esac
	expect_contains "b offered" "$out" "b"
}

# An ask offers the target= of a @default rule, as Qubes' ask list does.
test_ask_offers_default_redirect() {
	local rc out
	policy 'test.Echo * a @default ask' 'test.Echo * a @default allow target=b'
	out=$(bhr policy check a @default test.Echo)
	expect_contains "check" "$out" "ask targets=b " || return 1
	start_agent allow:b || return 1
	out=$(in_q a 'bh-call @default test.Echo+redirect </dev/null'); rc=$?
	stop_agent
	expect_eq "exit" "$rc" 0 &&
		expect_eq "output" "$out" "from a arg redirect"
}

test_autostart_halted_target() {
	local out
	policy 'test.Hello * a c allow'
	expect_eq "c before" "$(bhr ls --format json | python3 -c 'import json,sys
print([q["state"] for q in json.load(sys.stdin) if q["name"] == "c"][0])')" Halted ||
		return 1
	out=$(in_q a 'bh-call c test.Hello </dev/null' 2>&1)
	# c has no such service yet: 127 proves the call reached a started c.
	expect_eq "exit" "$?" 127 || { echo "$out"; return 1; }
	expect_eq "c after" "$(bhr ls --format json | python3 -c 'import json,sys
print([q["state"] for q in json.load(sys.stdin) if q["name"] == "c"][0])')" Running
}

test_autostart_no_leaves_target_halted() {
	local rc
	bhr kill c >/dev/null 2>&1
	policy 'test.Hello * a c allow autostart=no'
	in_q a 'bh-call c test.Hello </dev/null' >/dev/null 2>&1; rc=$?
	expect_eq "exit" "$rc" 126
}

test_dispvm_target() {
	# @dispvm: a fresh disposable of the caller's default_dispvm takes the
	# call, and @dispvm:dvm names it: both are made from dvm, so they
	# have the service installed on dvm's private volume
	# (/usr/local/etc/bulkhead/rpc), and are gone after the call.
	local out before log=$root/var/log/bulkhead/bulkheadd.log
	bhr create -l red dvm >/dev/null || return 1
	bhr prefs dvm template_for_dispvms True </dev/null || return 1
	bhr start dvm </dev/null || return 1
	service test.FromDvm 'echo "made from dvm"' dvm || return 1
	bhr shutdown --wait dvm </dev/null || return 1
	bhr prefs a default_dispvm dvm </dev/null || return 1
	policy 'test.FromDvm * a @dispvm allow' 'test.FromDvm * a @dispvm:dvm allow'
	before=$(grep -c "a new disposable" "$log")
	out=$(in_q a 'bh-call @dispvm test.FromDvm' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "@dispvm output" "$out" "made from dvm" || return 1
	out=$(in_q a 'bh-call @dispvm:dvm test.FromDvm' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "@dispvm:dvm output" "$out" "made from dvm" || return 1
	expect_eq "disposables made" "$(grep -c "a new disposable" "$log")" \
		$((before + 2)) || return 1
	expect_contains "log" "$(grep "private volume copied from dvm" "$log")" \
		"private volume copied from dvm's" || return 1
	# Gone: no runtime folder of a disposable remains.
	wait_until 30 sh -c "! ls '$root/run/bulkhead/qubes' | grep -q '^disp'"
}

test_twenty_concurrent_calls() {
	local out
	policy 'test.Echo * a b allow'
	out=$(in_q a 'i=0; while [ $i -lt 20 ]; do
			(echo "n$i" | bh-call b test.Echo | tail -n1 > /tmp/out.$i) &
			i=$((i+1)); done; wait
		i=0; ok=0; while [ $i -lt 20 ]; do
			[ "$(cat /tmp/out.$i)" = "n$i" ] && ok=$((ok+1)); i=$((i+1)); done
		echo $ok')
	expect_eq "calls answered correctly" "$out" 20
}

test_two_runs_at_once() {
	# One command waits on stdin while another runs and ends.
	local out rc
	mkfifo "$work/hold"
	bhr run a -- sh -c 'read x; echo first:$x' <"$work/hold" >"$work/first" 2>&1 &
	local pid=$!
	exec {h}>"$work/hold"
	out=$(in_q a 'echo second'); rc=$?
	echo go >&"$h"
	exec {h}>&-
	wait "$pid"
	expect_eq "second" "$out" second && expect_eq "second exit" "$rc" 0 &&
		expect_eq "first" "$(cat "$work/first")" "first:go"
}

# ---------------------------------------------------------------- bh run

test_run_service_from_host() {
	local out
	out=$(bhr run --service test.Echo+h b </dev/null)
	expect_eq "exit" "$?" 0 && expect_eq "output" "$out" "from dom0 arg h"
}

test_run_as_user() {
	# As qvm-run: the qube's default_user unless --user says otherwise.
	expect_eq "default" "$(in_q a 'id -un')" user &&
		expect_eq "--user root" "$(bhr run --user root a -- id -un </dev/null)" root &&
		expect_eq "-u user" "$(bhr run -u user a -- id -un </dev/null)" user
}

test_escape_filter_on_terminal() {
	local raw filtered
	command -v script >/dev/null || return 77
	filtered=$(BULKHEAD_ROOT=$root script -qfec "$BH run a -- printf 'A\\033]0;evil\\007B\\n'" /dev/null | od -An -c | tr -s ' ')
	raw=$(BULKHEAD_ROOT=$root script -qfec "$BH run --no-filter-escape-chars a -- printf 'A\\033]0;evil\\007B\\n'" /dev/null | od -An -c | tr -s ' ')
	expect_contains "filtered" "$filtered" "A _ ] 0 ; e v i l _ B" &&
		expect_contains "unfiltered" "$raw" "033"
}

# ---------------------------------------------------------------- file copy

test_filecopy_nested_tree() {
	local out want
	policy 'bulkhead.Filecopy * a @default allow target=b'
	want=$(in_q a 'cd /home/user && rm -rf tree && mkdir -p tree/d1/d2 &&
		echo one > tree/f1 && echo two > tree/d1/d2/f2 && ln -s ../f1 tree/d1/l &&
		chmod 4640 tree/f1 && touch -d "2020-01-02 03:04:05" tree/f1 &&
		stat -c "%Y" tree/f1') || return 1
	out=$(in_q a 'cd /home/user && bh-copy tree' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	# Contents, the link as a link, the mode without setuid, the mtime.
	out=$(in_q b 'cd /home/user/Incoming/a/tree && cat d1/d2/f2 && readlink d1/l &&
		stat -c "%a %Y %U" f1')
	expect_eq "received" "$out" "$(printf 'two\n../f1\n640 %s user' "$want")"
}

test_filecopy_200mib() {
	local out want
	policy 'bulkhead.Filecopy * a @default allow target=b'
	want=$(in_q a 'cd /home/user && rm -f big && head -c 209715200 /dev/urandom > big &&
		sha256sum big | cut -d" " -f1')
	out=$(in_q a 'cd /home/user && bh-copy --move big && test ! -e big && echo moved' 2>&1)
	expect_eq "copy" "$out" moved || return 1
	out=$(in_q b 'sha256sum /home/user/Incoming/a/big | cut -d" " -f1; rm -f /home/user/Incoming/a/big')
	expect_eq "checksum" "$out" "$want"
}

test_filecopy_never_overwrites() {
	local rc
	policy 'bulkhead.Filecopy * a @default allow target=b'
	in_q a 'cd /home/user && echo v1 > same && bh-copy same && echo v2 > same' >/dev/null 2>&1 || return 1
	in_q a 'cd /home/user && bh-copy same' >/dev/null 2>&1; rc=$?
	expect_eq "second copy" "$rc" 1 &&
		expect_eq "kept" "$(in_q b 'cat /home/user/Incoming/a/same')" v1
}

# The status code (an errno value, 0 for success) in a status message
# read on stdin, or "none" when there is no status.
status_code() {
	python3 -c 'import struct, sys
d = sys.stdin.buffer.read()
print(struct.unpack("<I", d[4:8])[0] if d[:4] == b"BHFR" and len(d) >= 8 else "none")'
}

test_filecopy_hostile_streams() {
	# Each stream is refused with the code for what it attacks, nothing
	# appears outside ~/Incoming/a in b, and nothing of it is kept inside
	# (not even the entries before the bad one, nor the whole file of a
	# stream with a bad checksum or with data after its checksum).
	local k code want out bad=0
	policy 'bulkhead.Filecopy * a b allow'
	in_q b 'rm -rf /home/user/Incoming /tmp/pwned /home/user/escaped /tmp/escaped' || return 1
	for k in dotdot:22 absolute:22 slash:22 escape-link:67 through-link:67 device:95 \
		fifo:95 control:84 bad-digest:74 truncated:71 trailing:71; do
		want=${k#*:} k=${k%%:*}
		python3 "$here/hostile-stream.py" "$k" >"$work/$k.bin" || return 1
		code=$(bhr run a -- sh -c "cat > /tmp/s.bin && bh-call b bulkhead.Filecopy < /tmp/s.bin" \
			<"$work/$k.bin" 2>/dev/null | status_code)
		[ "$code" = "$want" ] || { echo "$k: status $code, not $want"; bad=1; }
	done
	out=$(in_q b 'ls -a /tmp /home/user /home; find /home/user/Incoming -type c -o -type p -o -name "*evil*"')
	case $out in
	*pwned* | *escaped* | *sda* | *pipe* | *evil*) echo "written outside or hostile entry kept: $out"; bad=1 ;;
	esac
	out=$(in_q b 'ls -A /home/user/Incoming/a')
	[ -z "$out" ] || { echo "kept in Incoming/a: $out"; bad=1; }
	return $bad
}

test_filecopy_fsize_limit_is_efbig() {
	# The receiver (the real binary in b) under `ulimit -f`, sent a file
	# beyond it: an EFBIG status and exit 1, not a death by SIGXFSZ
	# (exit 153, no status), and nothing kept.
	local out
	python3 "$here/hostile-stream.py" big >"$work/big.bin" || return 1
	bhr run b -- sh -c 'cat > /tmp/big.bin' <"$work/big.bin" || return 1
	out=$(in_q b 'rm -rf /tmp/fsz && mkdir /tmp/fsz && cd /tmp/fsz &&
		(ulimit -f 64; HOME=/tmp/fsz BH_REMOTE_QUBE=a bh-filecopy-recv \
			</tmp/big.bin >/tmp/fsz.st 2>/dev/null; echo "exit $?") &&
		ls -A /tmp/fsz/Incoming/a')
	expect_eq "receiver" "$out" "exit 1" || return 1
	out=$(bhr run b -- cat /tmp/fsz.st </dev/null | status_code)
	expect_eq "status" "$out" 27
}

test_filecopy_readonly_folder() {
	# A read-only folder, received by the qube's user (not root): it is
	# moved into place from the receiver's hidden folder, with its mode,
	# and that hidden folder is gone afterwards.
	local out
	policy 'bulkhead.Filecopy * a @default allow target=b'
	in_q a 'cd /home/user && rm -rf ro && mkdir -p ro/sub && echo x > ro/sub/f &&
		chmod 500 ro/sub && chmod 555 ro' >/dev/null || return 1
	out=$(in_q a 'cd /home/user && bh-copy ro' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	out=$(in_q b 'cd /home/user/Incoming/a && stat -c "%a %U" ro ro/sub && cat ro/sub/f &&
		ls -A | grep -c "^\.bh-partial-"')
	expect_eq "received" "$out" "$(printf '555 user\n500 user\nx\n0')"
}

test_bh_copy_from_host() {
	local out
	mkdir -p "$work/hostdir" && echo fromhost >"$work/hostdir/h.txt"
	bhr copy b "$work/hostdir" </dev/null || return 1
	out=$(in_q b 'cat /home/user/Incoming/dom0/hostdir/h.txt')
	expect_eq "received" "$out" fromhost || return 1
	bhr copy b /nonexistent/x </dev/null >/dev/null 2>&1
	expect_eq "missing source" "$?" 3
}

# ---------------------------------------------------------------- open in a disposable

# The DVM odvm, a's default_dispvm for these tests, made once. Its opener
# (/usr/local/etc/bulkhead/open-in-vm, on its private volume) acts by the
# file's name: edit* appends a line (after making the file writable, so
# that a view-only open is changed too), replace* saves a new file by
# rename as editors do, fail* fails, bg* returns at once while a child it
# left behind edits the file (as xdg-open does with the application it
# starts), wait* edits once its call of a's test.Wait returned, anything
# else only reads it. Each test runs in a subshell: the
# checksum of odvm's private image, taken once it is ready, marks it made.
oiv_setup() {
	policy '# bulkhead.OpenInVM: the default policy decides'
	if [ ! -e "$work/odvm.sha" ]; then
		bhr create -l red odvm >/dev/null || return 1
		bhr prefs odvm template_for_dispvms True </dev/null || return 1
		bhr start odvm </dev/null || return 1
		printf '%s\n' '#!/bin/sh' 'f=$1' \
			'case ${f##*/} in' \
			'edit*) chmod u+w "$f" && echo edited >>"$f" ;;' \
			'replace*) echo replaced >"$f.new" && mv "$f.new" "$f" ;;' \
			'fail*) echo "viewer failed on purpose" >&2; exit 3 ;;' \
			'bg*) (sleep 1; echo "edited later" >>"$f") & ;;' \
			'wait*) bh-call a test.Wait </dev/null >/dev/null; echo edited >>"$f" ;;' \
			'*) cat "$f" >/dev/null ;;' \
			'esac' |
			bhr run -u root odvm -- sh -c 'mkdir -p /usr/local/etc/bulkhead &&
				cat >/usr/local/etc/bulkhead/open-in-vm &&
				chmod 755 /usr/local/etc/bulkhead/open-in-vm' || return 1
		bhr shutdown --wait odvm </dev/null || return 1
		sha256sum <"$root/var/lib/bulkhead/qubes/odvm/private.img" \
			>"$work/odvm.sha.new" || return 1
		mv "$work/odvm.sha.new" "$work/odvm.sha"
	fi
	bhr prefs a default_dispvm odvm </dev/null
}

# no_disposable_left: every disposable is gone once the call ended.
no_disposable_left() {
	wait_until 30 sh -c "! ls '$root/run/bulkhead/qubes' | grep -q '^disp'" ||
		{ echo "disposables left: $(ls "$root/run/bulkhead/qubes")"; return 1; }
	case $(bhr ls) in
	*disp*) echo "bh ls shows a disposable: $(bhr ls)"; return 1 ;;
	esac
}

test_open_in_dvm_changed_comes_back() {
	local out
	oiv_setup || return 1
	in_q a 'cd /home/user && printf "orig\n" >edit-me.txt && chmod 640 edit-me.txt' ||
		return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/edit-me.txt' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "content and mode" \
		"$(in_q a 'cd /home/user && cat edit-me.txt && stat -c %a edit-me.txt &&
			ls -a | grep -c bh-open')" \
		"$(printf 'orig\nedited\n640\n0')" || return 1
	no_disposable_left
}

test_open_in_dvm_saved_by_rename() {
	local out
	oiv_setup || return 1
	in_q a 'cd /home/user && echo orig >replace.txt && chmod 600 replace.txt' || return 1
	out=$(in_q a 'cd /home/user && bh-open-in-dvm replace.txt' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "content and mode" \
		"$(in_q a 'cat /home/user/replace.txt && stat -c %a /home/user/replace.txt')" \
		"$(printf 'replaced\n600')"
}

test_open_in_dvm_waits_for_what_viewer_started() {
	local out
	oiv_setup || return 1
	in_q a 'echo orig >/home/user/bg.txt' || return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/bg.txt' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "content" "$(in_q a 'cat /home/user/bg.txt')" \
		"$(printf 'orig\nedited later')"
}

test_open_in_dvm_unchanged_untouched() {
	local before out
	oiv_setup || return 1
	before=$(in_q a 'echo same >/home/user/keep.txt && touch -d "2020-01-02 03:04:05" /home/user/keep.txt &&
		stat -c "%i %Y %a" /home/user/keep.txt') || return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/keep.txt' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "inode, mtime, mode" "$(in_q a 'stat -c "%i %Y %a" /home/user/keep.txt')" "$before" &&
		expect_eq "content" "$(in_q a 'cat /home/user/keep.txt')" same
}

test_open_in_dvm_view_only_never_writes() {
	local before out
	oiv_setup || return 1
	before=$(in_q a 'echo orig >/home/user/edit-view.txt && stat -c "%i %Y" /home/user/edit-view.txt') ||
		return 1
	out=$(in_q a 'bh-open-in-dvm --view-only /home/user/edit-view.txt' 2>&1)
	expect_eq "exit" "$?" 0 || { echo "$out"; return 1; }
	expect_eq "inode, mtime" "$(in_q a 'stat -c "%i %Y" /home/user/edit-view.txt')" "$before" &&
		expect_eq "content" "$(in_q a 'cat /home/user/edit-view.txt')" orig
}

test_open_in_dvm_viewer_fails() {
	local out rc
	oiv_setup || return 1
	in_q a 'echo orig >/home/user/fail.txt' || return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/fail.txt' 2>&1); rc=$?
	expect_eq "exit" "$rc" 1 || { echo "$out"; return 1; }
	expect_contains "message" "$out" "could not open it: /usr/local/etc/bulkhead/open-in-vm failed (exit status 3)" &&
		expect_eq "content" "$(in_q a 'cat /home/user/fail.txt; ls -a /home/user | grep -c bh-open')" \
			"$(printf 'orig\n0')" &&
		no_disposable_left
}

test_open_in_dvm_changed_here_meanwhile_kept() {
	# The file is changed in a while the disposable has it open: the
	# opener calls a's test.Wait, which marks that the opener runs (so the
	# file was sent) and returns once a changed the file. It is not
	# replaced; the disposable's version is kept beside it, named.
	local out pid
	oiv_setup || return 1
	policy 'test.Wait * @anyvm a allow'
	service test.Wait 'touch /tmp/opened; while [ ! -e /tmp/gate ]; do sleep 0.1; done' a ||
		return 1
	in_q a 'cd /home/user && rm -f .wait.txt.bh-open.* /tmp/opened /tmp/gate && echo orig >wait.txt' ||
		return 1
	bhr run a -- sh -c 'bh-open-in-dvm /home/user/wait.txt; echo rc=$?' \
		</dev/null >"$work/wait.out" 2>&1 &
	pid=$!
	wait_until 120 env BULKHEAD_ROOT="$root" "$BH" run a -- test -e /tmp/opened </dev/null ||
		{ kill "$pid"; wait "$pid"; echo "opener never called: $(cat "$work/wait.out")"; return 1; }
	in_q a 'echo "changed here" >>/home/user/wait.txt && touch /tmp/gate' || return 1
	wait "$pid"
	out=$(cat "$work/wait.out")
	expect_contains "exit" "$out" "rc=5" || { echo "$out"; return 1; }
	expect_contains "message" "$out" "was changed here while it was open in the disposable" ||
		return 1
	expect_eq "file, and the disposable's version beside it" \
		"$(in_q a 'cd /home/user && cat wait.txt .wait.txt.bh-open.*')" \
		"$(printf 'orig\nchanged here\norig\nedited')"
}

test_open_in_dvm_refused_by_policy() {
	local out rc
	oiv_setup || return 1
	policy 'bulkhead.OpenInVM * a @anyvm deny'
	in_q a 'echo orig >/home/user/edit-denied.txt' || return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/edit-denied.txt' 2>&1); rc=$?
	expect_eq "exit" "$rc" 126 || { echo "$out"; return 1; }
	expect_eq "content" "$(in_q a 'cat /home/user/edit-denied.txt')" orig
}

test_open_in_dvm_hostile_reply_refused() {
	# A disposable that turned hostile: hdvm's own bulkhead.OpenInVM (on
	# its private volume, before the template's) reads the request and
	# answers "changed" with 100 MiB declared (over the 64 MiB cap), or,
	# for a name with "trunc", 10 bytes declared and 5 sent. Both are
	# refused; the file and its folder are as they were.
	local out rc
	oiv_setup || return 1
	if [ ! -e "$work/hdvm.made" ]; then
		bhr create -l red hdvm >/dev/null || return 1
		bhr prefs hdvm template_for_dispvms True </dev/null || return 1
		bhr start hdvm </dev/null || return 1
		printf '%s\n' '#!/bin/sh' 'cat >/tmp/req' \
			'if grep -q trunc /tmp/req; then' \
			"  printf 'BHOA\\001\\000\\000\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\012\\000\\000\\000\\000\\000\\000\\00012345'" \
			'else' \
			"  printf 'BHOA\\001\\000\\000\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\100\\006\\000\\000\\000\\000'" \
			'  head -c 100000 /dev/zero' \
			'fi' |
			bhr run -u root hdvm -- sh -c 'mkdir -p /usr/local/etc/bulkhead/rpc &&
				cat >/usr/local/etc/bulkhead/rpc/bulkhead.OpenInVM &&
				chmod 755 /usr/local/etc/bulkhead/rpc/bulkhead.OpenInVM' || return 1
		bhr shutdown --wait hdvm </dev/null || return 1
		touch "$work/hdvm.made"
	fi
	bhr prefs a default_dispvm hdvm </dev/null || return 1
	in_q a 'mkdir -p /home/user/h && echo orig >/home/user/h/big.txt && echo orig >/home/user/h/trunc.txt' ||
		return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/h/big.txt' 2>&1); rc=$?
	expect_eq "oversized: exit" "$rc" 4 || { echo "$out"; return 1; }
	expect_contains "oversized: message" "$out" "changed file too large" || return 1
	out=$(in_q a 'bh-open-in-dvm /home/user/h/trunc.txt' 2>&1); rc=$?
	expect_eq "truncated: exit" "$rc" 4 || { echo "$out"; return 1; }
	expect_contains "truncated: message" "$out" "truncated" || return 1
	expect_eq "files" "$(in_q a 'cd /home/user/h && ls -A && cat big.txt trunc.txt')" \
		"$(printf 'big.txt\ntrunc.txt\norig\norig')"
}

test_open_in_dvm_leaves_dvm_intact() {
	# Run last: every open above started from odvm's private image, and
	# none may have changed it; no disposable is left.
	oiv_setup || return 1
	no_disposable_left || return 1
	expect_eq "odvm private.img" \
		"$(sha256sum <"$root/var/lib/bulkhead/qubes/odvm/private.img")" \
		"$(cat "$work/odvm.sha")" &&
		expect_eq "odvm state" "$(bhr ls --format json | python3 -c 'import json,sys
print([q["state"] for q in json.load(sys.stdin) if q["name"] == "odvm"][0])')" Halted
}

# ------------------------------------------------- direct data ports

dlog() { cat "$root/var/log/bulkhead/bulkheadd.log"; }
# How many times the daemon's log has a line with TEXT.
nlog() { dlog | grep -c -- "$1"; }

test_bulk_call_over_direct_port() {
	# 64 MiB each way in one call: past one window both directions
	# continue on a data port plugged into a and b, and the bytes arrive
	# intact; the port is unplugged from both once the call is over.
	local plugged0 unplugged0 out want port
	policy 'test.Cat * a b allow'
	plugged0=$(nlog 'plugged into a and b')
	unplugged0=$(nlog 'unplugged from both qubes')
	out=$(in_q a 'cd /home/user && head -c 67108864 /dev/urandom > big &&
		sha256sum < big | cut -d" " -f1 &&
		bh-call b test.Cat < big | sha256sum | cut -d" " -f1; rm -f big')
	want=$(echo "$out" | sed -n 1p)
	expect_eq "sha256 back from b" "$(echo "$out" | sed -n 2p)" "$want" ||
		return 1
	expect_eq "ports plugged" "$(nlog 'plugged into a and b')" \
		$((plugged0 + 1)) || return 1
	# Both directions went over the port, all but the first window.
	# Port numbers start anywhere (a daemon's first is random): the
	# port is the one last plugged.
	port=$(dlog | sed -n 's/.*data port \([0-9]*\): plugged into a and b.*/\1/p' | tail -n 1)
	expect_eq "directions with > 60 MB on the port" "$(dlog | grep "data port $port:" |
		sed -n 's/.* says it sent \([0-9]*\) bytes on it/\1/p' |
		awk '$1 > 60000000' | wc -l)" 2 || return 1
	wait_until 20 sh -c "[ \$(grep -c 'unplugged from both qubes' \
		'$root/var/log/bulkhead/bulkheadd.log') -gt $unplugged0 ]" ||
		{ echo "port not unplugged: $(dlog | grep 'data port' | tail -5)"; return 1; }
}

test_small_call_stays_on_relay() {
	local plugged0
	policy 'test.Echo * a b allow'
	plugged0=$(nlog 'plugging for the call')
	printf 'x\n' | bhr run a -- bh-call b test.Echo >/dev/null || return 1
	expect_eq "ports plugged" "$(nlog 'plugging for the call')" "$plugged0"
}

test_bulk_calls_beyond_port_limit() {
	# Six bulk calls at once, four ports a qube: two stay on the relay
	# and every call's bytes arrive intact either way.
	local out
	policy 'test.Cat * a b allow'
	out=$(in_q a 'cd /home/user && head -c 8388608 /dev/urandom > mid &&
		w=$(sha256sum < mid | cut -d" " -f1); i=0
		while [ $i -lt 6 ]; do
			(bh-call b test.Cat < mid | sha256sum | cut -d" " -f1 > /tmp/h.$i) &
			i=$((i+1)); done; wait; ok=0; i=0
		while [ $i -lt 6 ]; do [ "$(cat /tmp/h.$i)" = "$w" ] && ok=$((ok+1)); i=$((i+1)); done
		rm -f mid; echo $ok')
	expect_eq "calls intact" "$out" 6 || return 1
	expect_contains "log" "$(dlog)" "no free data port, it stays on the relay"
}

test_caller_killed_mid_transfer() {
	# a is killed while its call streams to b over a port: b's port is
	# unplugged (nothing left in its QEMU), b stays healthy, a starts
	# again and calls.
	local unplugged0 out
	policy 'test.Sink * a b allow'
	unplugged0=$(nlog 'unplugged from both qubes')
	bhr run a -- sh -c 'head -c 2000000000 /dev/zero | bh-call b test.Sink' \
		</dev/null >/dev/null 2>&1 &
	wait_until 60 sh -c "grep -q 'data port .*: plugged into a and b' \
		'$root/var/log/bulkhead/bulkheadd.log' &&
		[ \$(grep -c 'plugged into a and b' '$root/var/log/bulkhead/bulkheadd.log') \
		  -gt \$(grep -c 'unplugged from both qubes' '$root/var/log/bulkhead/bulkheadd.log') ]" ||
		{ echo "no port plugged: $(dlog | tail -5)"; return 1; }
	bhr kill a || return 1
	wait
	wait_until 30 sh -c "[ \$(grep -c 'unplugged from both qubes' \
		'$root/var/log/bulkhead/bulkheadd.log') -gt $unplugged0 ]" ||
		{ echo "port left plugged: $(dlog | grep 'data port' | tail -5)"; return 1; }
	expect_eq "b healthy" "$(in_q b 'echo alive')" alive || return 1
	bhr start a || return 1
	policy 'test.Echo * a b allow'
	out=$(printf 'again\n' | bhr run a -- bh-call b test.Echo | tail -n1)
	expect_eq "a calls again" "$out" again
}

test_daemon_restart_mid_call() {
	# bh daemon restart while a calls b (issue 12, point 2): both qubes
	# stay up and are re-attached; the call, whose daemon end went, gets
	# status 125 in a; b's service gets EOF and ends; the command bh ran
	# in a goes on and is drained until it exits; new calls and runs work.
	local pid rcv ended0
	policy 'test.Cat * a b allow'
	ended0=$(nlog 'a command of the earlier daemon ended')
	bhr run a -- sh -c 'rm -f /tmp/f /tmp/callrc; mkfifo /tmp/f
		(bh-call b test.Cat </tmp/f >/dev/null; echo "rc=$?" >/tmp/callrc) &
		exec 3>/tmp/f; echo $$ >/tmp/runpid; echo started; exec sleep 600' </dev/null >"$work/run.out" 2>&1 &
	rcv=$!
	wait_until 60 grep -q started "$work/run.out" || { echo "the command never started"; return 1; }
	pid=$(cat "$root/run/bulkhead/bulkheadd.pid")
	bhr daemon restart </dev/null >/dev/null || return 1
	wait "$rcv" && { echo "bh run ended well across the restart"; return 1; }
	gone "$pid" || { echo "the earlier daemon still runs"; return 1; }
	expect_eq "a's call" "$(in_q a 'for i in $(seq 100); do [ -s /tmp/callrc ] && break; sleep 0.1; done; cat /tmp/callrc')" rc=125 || return 1
	# b's service (cat, its input ended) and a's command both end.
	in_q a 'kill $(cat /tmp/runpid)' || return 1
	wait_until 30 sh -c "[ \$(grep -c 'a command of the earlier daemon ended' \
		'$root/var/log/bulkhead/bulkheadd.log') -ge $((ended0 + 2)) ]" ||
		{ echo "the earlier daemon's streams did not end: $(dlog | grep -e re-attach -e 'earlier daemon' | tail -5)"; return 1; }
	expect_eq "a calls b again" "$(printf 'again\n' | bhr run a -- bh-call b test.Cat)" again
}

# qpid QUBE: the pid of QUBE's QEMU, from its runtime folder.
qpid() { read -r p _ <"$root/run/bulkhead/qubes/$1/qemu.pid" && echo "$p"; }
# qemu_links A B: how many sockets join the QEMUs of qubes A and B: a
# data port is a socket pair, one end in each QEMU (its chardev).
qemu_links() {
	python3 - "$(qpid "$1")" "$(qpid "$2")" <<'PY'
import os, re, subprocess, sys
def socks(pid):
    out = set()
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink("/proc/%s/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            out.add(m.group(1))
    return out
a, b = socks(sys.argv[1]), socks(sys.argv[2])
# ss -x: NETID STATE RECV-Q SEND-Q LOCAL INODE PEER PEER-INODE
print(sum(1 for l in subprocess.run(["ss", "-xaH"], capture_output=True, text=True,
                                    check=True).stdout.splitlines()
          if len(l.split()) >= 8 and l.split()[5] in a and l.split()[7] in b))
PY
}
ab_unlinked() { [ "$(qemu_links a b)" = 0 ]; }
# ports_seen QUBE: the data ports QUBE's guest has (their names).
ports_seen() { in_q "$1" 'cat /sys/class/virtio-ports/*/name' | grep '^bulkhead\.data\.' | sort; }

# restart_mid_port restart|kill9: the daemon restarted (bh daemon
# restart, or kill -9 and a new one) while a bulk call of a to b runs
# over a data port. The port is plugged into both QEMUs (a chardev and a
# device each) and its call goes with the earlier daemon; the next daemon
# finds it in both runtime folders and unplugs it from both: no socket
# joins the two QEMUs any more, neither guest sees the port, no record of
# it is left, and calls work again, a bulk one on a new port too.
restart_mid_port() {
	local pid rcv port plugged0 out
	policy 'test.Sink * a b allow' 'test.Cat * a b allow'
	plugged0=$(nlog 'plugged into a and b')
	bhr run a -- sh -c 'head -c 100000000000 /dev/zero | bh-call b test.Sink' \
		</dev/null >/dev/null 2>&1 &
	rcv=$!
	wait_until 60 sh -c "[ \$(grep -c 'plugged into a and b' \
		'$root/var/log/bulkhead/bulkheadd.log') -gt $plugged0 ]" ||
		{ echo "no port plugged: $(dlog | tail -5)"; return 1; }
	port=$(dlog | sed -n 's/.*data port \([0-9]*\): plugged into a and b.*/\1/p' | tail -n 1)
	expect_eq "sockets joining a's and b's QEMUs" "$(qemu_links a b)" 1 || return 1
	expect_eq "a's guest sees" "$(ports_seen a)" "bulkhead.data.$port" || return 1
	pid=$(cat "$root/run/bulkhead/bulkheadd.pid")
	if [ "$1" = kill9 ]; then
		kill9_daemon "$root" || { echo "the daemon survived kill -9"; return 1; }
		bhr ls >/dev/null || return 1
	else
		bhr daemon restart </dev/null >/dev/null || return 1
	fi
	wait "$rcv"
	gone "$pid" || { echo "the earlier daemon still runs"; return 1; }
	wait_until 30 ab_unlinked ||
		{ echo "port $port left plugged: $(qemu_links a b) socket(s) join a's and b's QEMUs"; return 1; }
	expect_eq "a's guest sees" "$(ports_seen a)" "" || return 1
	expect_eq "b's guest sees" "$(ports_seen b)" "" || return 1
	expect_contains "log" "$(dlog)" "a: data port $port of the earlier daemon unplugged" &&
		expect_contains "log" "$(dlog)" "b: data port $port of the earlier daemon unplugged" ||
		return 1
	[ ! -e "$root/run/bulkhead/qubes/a/dataports" ] &&
		[ ! -e "$root/run/bulkhead/qubes/b/dataports" ] ||
		{ echo "a port record left: $(cat "$root"/run/bulkhead/qubes/[ab]/dataports 2>&1)"; return 1; }
	expect_eq "a calls b again" "$(printf 'again\n' | bhr run a -- bh-call b test.Cat)" again ||
		return 1
	plugged0=$(nlog 'plugged into a and b')
	out=$(in_q a 'head -c 8388608 /dev/urandom > /tmp/mid && sha256sum < /tmp/mid | cut -d" " -f1 &&
		bh-call b test.Cat < /tmp/mid | sha256sum | cut -d" " -f1; rm -f /tmp/mid')
	expect_eq "bulk call after the restart" "$(echo "$out" | sed -n 2p)" "$(echo "$out" | sed -n 1p)" ||
		return 1
	expect_eq "ports plugged after the restart" "$(nlog 'plugged into a and b')" $((plugged0 + 1))
}
test_daemon_restart_unplugs_data_ports() { restart_mid_port restart; }
test_kill9_unplugs_data_ports() { restart_mid_port kill9; }

# ---------------------------------------------------------------- setup

if ! command -v "$BH" >/dev/null || ! command -v "$BULKHEADD" >/dev/null; then
	echo "rpc: bh or bulkheadd not found (make, or run ./setup)"
	echo "rpc: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "rpc: 0 passed, 0 failed, 1 skipped (bulkheadd runs as root only)"
	exit 0
fi
root=$(new_root rpc)
mkdir -p "$root/etc/bulkhead/policy.d"
cp "$top"/etc/policy.d/*.policy "$root/etc/bulkhead/policy.d/"
setup_out=$(
	set -e
	bhr create -l red a
	bhr create -l blue b
	bhr create -l green c
	bhr start a b
	in_q a 'command -v bh-call && command -v bh-copy && command -v bh-open-in-dvm'
	service test.Echo 'echo "from $BH_REMOTE_QUBE arg $BH_SERVICE_ARGUMENT"; exec cat' b
	service test.Mark 'touch /tmp/ran' b
	service test.Exit3 'exit 3' b
	service test.Sink 'exec wc -c >/tmp/sink.count' b
	service test.Cat 'exec cat' b
) 2>&1 || {
	echo "rpc: setup FAILED (the guest images need bh-call: ./setup):"
	echo "$setup_out" | sed 's/^/    /'
	echo "rpc: 0 passed, 1 failed, 0 skipped"
	exit 1
}

run_test test_allowed_call
run_test test_denied_call_never_runs
run_test test_no_such_service
run_test test_service_exit_status
run_test test_source_cannot_be_forged
run_test test_call_with_local_command
run_test test_service_closing_output_reads_input
run_test test_call_ends_while_input_stays_open
run_test test_policy_change_next_call
run_test test_invalid_policy_fails_closed
run_test test_policy_include
run_test test_ask_without_agent_denies
run_test test_ask_allowed_by_agent
run_test test_ask_denied_by_agent
run_test test_ask_offers_only_allowed_targets
run_test test_ask_offers_default_redirect
run_test test_autostart_halted_target
run_test test_autostart_no_leaves_target_halted
run_test test_dispvm_target
run_test test_twenty_concurrent_calls
run_test test_two_runs_at_once
run_test test_run_service_from_host
run_test test_run_as_user
run_test test_escape_filter_on_terminal
run_test test_filecopy_nested_tree
run_test test_filecopy_200mib
run_test test_filecopy_never_overwrites
run_test test_filecopy_hostile_streams
run_test test_filecopy_fsize_limit_is_efbig
run_test test_filecopy_readonly_folder
run_test test_bh_copy_from_host
run_test test_open_in_dvm_changed_comes_back
run_test test_open_in_dvm_saved_by_rename
run_test test_open_in_dvm_waits_for_what_viewer_started
run_test test_open_in_dvm_unchanged_untouched
run_test test_open_in_dvm_view_only_never_writes
run_test test_open_in_dvm_viewer_fails
run_test test_open_in_dvm_changed_here_meanwhile_kept
run_test test_open_in_dvm_refused_by_policy
run_test test_open_in_dvm_hostile_reply_refused
run_test test_open_in_dvm_leaves_dvm_intact
run_test test_bulk_call_over_direct_port
run_test test_small_call_stays_on_relay
run_test test_bulk_calls_beyond_port_limit
run_test test_caller_killed_mid_transfer
run_test test_daemon_restart_mid_call
run_test test_daemon_restart_unplugs_data_ports
run_test test_kill9_unplugs_data_ports
summary
