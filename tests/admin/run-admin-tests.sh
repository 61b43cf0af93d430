#!/usr/bin/env bash
# Admin API tests: qube records through bh and bulkheadd, no VM booted.
# One daemon in a private BULKHEAD_ROOT (guest images linked from
# $BH_IMAGES); prints "admin: NAME ok|FAILED|SKIPPED" per test and ends
# with "admin: N passed, N failed, N skipped".
#
# Usage: tests/admin/run-admin-tests.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"

suite_init admin "${1:-}"
work=$(mktemp -d /tmp/bh-admintests.XXXXXX)
root=""

cleanup() {
	[ -n "$root" ] && stop_root "$root"
	rm -rf "$work"
}
trap cleanup EXIT

bha() { BULKHEAD_ROOT=$root "$BH" "$@" </dev/null; }
json() { bha ls --format json; }

# expect_fail WANT_STATUS NEEDLE CMD...: CMD fails with WANT_STATUS, says
# NEEDLE on stderr, and the qube list is unchanged.
expect_fail() {
	local want=$1 needle=$2 rc before after
	shift 2
	before=$(json)
	bha "$@" >"$work/out" 2>"$work/err"; rc=$?
	after=$(json)
	expect_eq "status of bh $*" "$rc" "$want" || { cat "$work/err"; return 1; }
	expect_contains "message of bh $*" "$(cat "$work/err")" "$needle" || return 1
	expect_eq "qubes after bh $*" "$after" "$before"
}

test_minimal_registered() {
	local got
	got=$(bha ls --raw) || return 1
	expect_eq "qubes of a fresh root" "$got" "minimal" || return 1
	got=$(bha ls minimal | tail -n 1 | tr -s ' ')
	expect_eq "minimal's row" "$got" "minimal Halted TemplateVM black -"
}

test_create_ls_prefs_remove() {
	bha create --template minimal --label red -P memory=512 \
		-P 'kernelopts=quiet loglevel=3' work || return 1
	expect_eq "ls row" "$(bha ls work | tail -n 1 | tr -s ' ')" \
		"work Halted AppVM red minimal" || return 1
	expect_eq "memory" "$(bha prefs work memory)" 512 || return 1
	expect_eq "kernelopts (escaped on the wire)" \
		"$(bha prefs work kernelopts)" "quiet loglevel=3" || return 1
	expect_contains "prefs list" "$(bha prefs work | tr -s ' ')" "vcpus D 2" || return 1
	expect_contains "prefs list" "$(bha prefs work | tr -s ' ')" "memory - 512" || return 1
	bha prefs work memory 600 || return 1
	expect_eq "memory after set" "$(bha prefs work memory)" 600 || return 1
	bha prefs work memory --default || return 1
	expect_eq "memory after reset" "$(bha prefs work memory)" 400 || return 1
	bha prefs work label blue || return 1
	expect_eq "label" "$(bha prefs work label)" blue || return 1
	bha remove --yes work || return 1
	expect_eq "qubes after remove" "$(bha ls --raw)" "minimal"
}

test_global_prefs() {
	bha prefs --global default_template minimal || return 1
	expect_eq "default_template" "$(bha prefs --global default_template)" minimal || return 1
	bha create -l green deftmpl || return 1
	expect_eq "template from default_template" "$(bha prefs deftmpl template)" minimal || return 1
	expect_fail 3 "built-in" remove -y minimal || return 1
	bha remove -y deftmpl || return 1
	bha prefs --global default_template --default || return 1
	expect_contains "global list" "$(bha prefs --global | tr -s ' ')" "default_template D" || return 1
	expect_fail 2 "needs a template" create -l green notemplate
}

test_features_and_tags() {
	local got
	bha create -t minimal -l yellow ft || return 1
	bha features ft gui 1 || return 1
	bha features ft note 'two words' || return 1
	expect_eq "feature get" "$(bha features ft note)" "two words" || return 1
	got=$(bha features ft | tr -s ' ')
	expect_eq "feature list" "$got" "gui 1
note two words" || return 1
	bha features ft --unset gui || return 1
	expect_fail 4 "no feature" features ft gui || return 1
	bha tags ft add b a || return 1
	expect_eq "tags" "$(bha tags ft)" "a
b" || return 1
	bha tags ft del a || return 1
	expect_eq "tags after del" "$(bha tags ft list)" "b" || return 1
	bha remove -y ft
}

test_ls_json() {
	bha create -t minimal -l purple js || return 1
	json | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert isinstance(a, list), a
for o in a:
    assert set(o) == {"name", "state", "class", "label", "template"}, o
m = [o for o in a if o["name"] == "minimal"][0]
assert m["template"] is None and m["class"] == "TemplateVM", m
j = [o for o in a if o["name"] == "js"][0]
assert j == {"name": "js", "state": "Halted", "class": "AppVM",
             "label": "purple", "template": "minimal"}, j
' || return 1
	bha remove -y js
}

test_bad_inputs_change_nothing() {
	local mem
	bha create -t minimal -l red keep || return 1
	mem=$(($(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) + 1024))
	expect_fail 2 "not valid" create -t minimal -l red 'bad name!' || return 1
	expect_fail 2 "" create -t minimal -l red 'dom0' || return 1
	expect_fail 2 "no property" create -t minimal -l red -P nosuch=1 x1 || return 1
	expect_fail 2 "memory must be" create -t minimal -l red -P memory=lots x2 || return 1
	expect_fail 2 "memory must be" create -t minimal -l red -P memory=$mem x3 || return 1
	expect_fail 2 "no qube named" create -t nosuch -l red x4 || return 1
	expect_fail 2 "needs a label" create -t minimal x5 || return 1
	expect_fail 2 "label" create -t minimal -l pink x6 || return 1
	expect_fail 3 "exists" create -t minimal -l red keep || return 1
	expect_fail 2 "not a TemplateVM" create --class TemplateVM -t keep -l red x7 || return 1
	expect_fail 2 "no property" prefs keep nosuch || return 1
	expect_fail 2 "no property" prefs keep nosuch 1 || return 1
	expect_fail 2 "memory must be" prefs keep memory abc || return 1
	expect_fail 2 "memory must be" prefs keep memory $mem || return 1
	expect_fail 2 "" prefs keep autostart maybe || return 1
	expect_fail 2 "" prefs keep template nosuch || return 1
	expect_fail 4 "no qube named" prefs nosuch memory || return 1
	expect_fail 4 "no qube named" remove -y nosuch || return 1
	expect_fail 2 "--yes" remove keep || return 1
	expect_fail 2 "" features keep 'bad key!' 1 || return 1
	expect_fail 2 "" tags keep add 'bad tag!' || return 1
	expect_fail 4 "" tags nosuch || return 1
	expect_fail 2 "--format is table, json or raw" ls --format yaml || return 1
	expect_eq "keep's memory" "$(bha prefs keep memory)" 400 || return 1
	bha remove -y keep
}

test_remove_minimal_refused() {
	expect_fail 3 "built-in" remove --yes minimal
}

test_concurrent_calls() {
	local i pids=() bad=0
	for i in $(seq 1 20); do
		bha create -t minimal -l blue -P memory=$((100 + i)) "c$i" \
			>"$work/c$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=1; done
	[ "$bad" = 0 ] || { cat "$work"/c*.out; return 1; }
	pids=()
	for i in $(seq 1 20); do
		bha prefs "c$i" memory >"$work/m$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=1; done
	for i in $(seq 1 20); do
		expect_eq "memory of c$i" "$(cat "$work/m$i.out")" $((100 + i)) || bad=1
	done
	[ "$bad" = 0 ] || return 1
	expect_eq "qubes" "$(bha ls --raw | grep -c '^c[0-9]')" 20
}

test_state_survives_restart() {
	local pid before after
	bha create -t minimal -l orange survivor || return 1
	bha features survivor k v || return 1
	before=$(json)
	stop_daemon || return 1
	after=$(json 2>/dev/null) || return 1
	expect_eq "qubes after a restart" "$after" "$before" || return 1
	expect_eq "feature after a restart" "$(bha features survivor k)" v
}

test_doctor() {
	local out engine
	out=$(bha doctor) || return 1
	engine=KVM
	{ [ -e /sys/module/kvm_intel ] || [ -e /sys/module/kvm_amd ]; } &&
		[ -c /dev/kvm ] || engine=TCG
	expect_contains "doctor's engine line" "$out" "Engine:" || return 1
	echo "$out" | grep -Eq "^Engine: +$engine\$" || { echo "engine is not $engine:"; echo "$out"; return 1; }
	expect_contains "doctor's templates" "$out" "minimal" || return 1
	case $engine in
	KVM) expect_contains "doctor's verdict" "$out" "KVM is usable" ;;
	TCG) expect_contains "doctor's verdict" "$out" "TCG emulation" ;;
	esac || return 1
	bha doctor --format json | python3 -c '
import json, sys
o = json.load(sys.stdin)
keys = {"cpu_model", "cpu_virt", "kvm_modules", "dev_kvm", "engine",
        "engine_why", "qemu_path", "qemu_version", "guest_kernel",
        "host_kernel", "mem_total_mib", "mem_available_mib", "cpus",
        "state_free_mib", "templates", "kvm_usable", "verdict"}
assert keys <= set(o), keys - set(o)
assert o["engine"] in ("KVM", "TCG"), o["engine"]
assert o["kvm_usable"] == (o["engine"] == "KVM"), o
assert o["engine"] == sys.argv[1], o["engine"]
assert isinstance(o["cpus"], int) and o["cpus"] >= 1, o["cpus"]
assert isinstance(o["kvm_modules"], list), o["kvm_modules"]
assert "minimal" in o["templates"], o["templates"]
assert o["guest_kernel"] != "none", o["guest_kernel"]
' "$engine" || return 1
	expect_fail 2 "--format is text or json" doctor --format yaml || return 1
	expect_fail 2 "takes no arguments" doctor extra
}

test_help_and_man() {
	local v
	for v in run create remove ls prefs features tags doctor clone volume template console log events daemon; do
		bha "$v" --help | grep -q "^usage: bh $v" || { echo "$v --help"; return 1; }
		bha "$v" --help | grep -q "Exit status" || { echo "$v --help: exit status"; return 1; }
		bha --help | grep -q "^  $v " || { echo "$v not in bh --help"; return 1; }
	done
}

# The state folder of the test root, where qubes keep their volumes.
state() { echo "$root/var/lib/bulkhead"; }

test_create_makes_private_volume() {
	local img kib
	bha create -t minimal -l red vol1 || return 1
	img=$(state)/qubes/vol1/private.img
	[ -f "$img" ] || { echo "no $img"; return 1; }
	expect_eq "folder mode" "$(stat -c %a "$(state)/qubes/vol1")" 700 || return 1
	expect_eq "apparent size" "$(stat -c %s "$img")" 2147483648 || return 1
	kib=$(du -k "$img" | cut -f1)
	[ "$kib" -lt 102400 ] || { echo "not sparse: $kib KiB used"; return 1; }
	bha remove -y vol1 || return 1
	[ ! -e "$(state)/qubes/vol1" ] || { echo "folder left after remove"; return 1; }
}

test_clone_copies_volume() {
	local src dst
	bha create -t minimal -l orange -P memory=500 orig || return 1
	bha features orig k v || return 1
	bha tags orig add t1 || return 1
	src=$(state)/qubes/orig/private.img
	debugfs -w -R 'write /etc/hostname marker' "$src" >/dev/null 2>&1 || return 1
	bha clone orig copy1 || return 1
	dst=$(state)/qubes/copy1/private.img
	[ -f "$dst" ] || { echo "no $dst"; return 1; }
	expect_eq "marker in the clone" "$(debugfs -R 'cat marker' "$dst" 2>/dev/null)" \
		"$(cat /etc/hostname)" || return 1
	expect_eq "clone's row" "$(bha ls copy1 | tail -n 1 | tr -s ' ')" \
		"copy1 Halted AppVM orange minimal" || return 1
	expect_eq "clone's memory" "$(bha prefs copy1 memory)" 500 || return 1
	expect_eq "clone's feature" "$(bha features copy1 k)" v || return 1
	expect_eq "clone's tags" "$(bha tags copy1)" t1 || return 1
	expect_fail 3 "exists" clone orig copy1 || return 1
	expect_fail 4 "no qube named" clone nosuch copy2 || return 1
	expect_fail 2 "not valid" clone orig 'bad name!' || return 1
	[ ! -e "$(state)/qubes/copy2" ] || { echo "refused clone left a folder"; return 1; }
	bha remove -y orig copy1
}

test_volume_list_resize() {
	local out img
	bha create -t minimal -l blue vr || return 1
	img=$(state)/qubes/vr/private.img
	out=$(bha volume list vr) || return 1
	expect_contains "private line" "$out" "private size=2147483648 used=" || return 1
	expect_contains "private path" "$out" "path=$img rw=True" || return 1
	expect_contains "root of the template, read-only" "$out" "path=$(state)/templates/minimal/root.img rw=False" || return 1
	bha volume resize vr private 3G || return 1
	expect_contains "after resize" "$(bha volume list vr)" "private size=3221225472" || return 1
	expect_fail 3 "only grow" volume resize vr private 2G || return 1
	expect_fail 2 "only the private" volume resize vr root 4G || return 1
	expect_fail 2 "SIZE is" volume resize vr private lots || return 1
	expect_fail 4 "no qube named" volume list nosuch || return 1
	expect_eq "size after refusals" "$(stat -c %s "$img")" 3221225472 || return 1
	bha remove -y vr
}

test_template_and_standalone() {
	local t out
	bha create --class TemplateVM -t minimal -l black tcopy || return 1
	t=$(state)/templates/tcopy/root.img
	cmp -s "$t" "$(state)/templates/minimal/root.img" || { echo "root not copied"; return 1; }
	[ -f "$(state)/qubes/tcopy/private.img" ] || { echo "template without private"; return 1; }
	out=$(bha template list) || return 1
	echo "$out" | grep -Eq '^tcopy +64\.0M ' || { echo "template list:"; echo "$out"; return 1; }
	echo "$out" | grep -Eq '^minimal ' || { echo "no minimal in:"; echo "$out"; return 1; }
	expect_contains "template's root is its own" "$(bha volume list tcopy)" "path=$t rw=True" || return 1
	bha create -t tcopy -l red tuser || return 1
	expect_fail 3 "tuser" template remove -y tcopy || return 1
	expect_fail 2 "not a TemplateVM" template remove -y tuser || return 1
	bha remove -y tuser || return 1
	bha template remove -y tcopy || return 1
	if [ -e "$(state)/templates/tcopy" ] || [ -e "$(state)/qubes/tcopy" ]; then
		echo "template folders left"
		return 1
	fi
	bha create --class StandaloneVM -l green solo || return 1
	cmp -s "$(state)/qubes/solo/root.img" "$(state)/templates/minimal/root.img" ||
		{ echo "standalone root not copied"; return 1; }
	expect_contains "standalone root" "$(bha volume list solo)" \
		"path=$(state)/qubes/solo/root.img rw=True" || return 1
	bha clone solo solo2 || return 1
	[ -f "$(state)/qubes/solo2/root.img" ] || { echo "clone without root"; return 1; }
	bha remove -y solo solo2
}

test_crash_reconcile() {
	local lf=()
	bha create -t minimal -l red crashed || return 1
	rm "$(state)/qubes/crashed/private.img"
	touch "$(state)/qubes/crashed/private.img.tmp-AbC123"
	mkdir -p "$(state)/qubes/ghost"
	echo precious >"$(state)/qubes/ghost/private.img"
	restart_daemon || return 1
	[ -f "$(state)/qubes/crashed/private.img" ] || { echo "private not made again"; return 1; }
	[ ! -e "$(state)/qubes/crashed/private.img.tmp-AbC123" ] || { echo "temporary left"; return 1; }
	[ ! -e "$(state)/qubes/ghost" ] || { echo "ghost folder still there"; return 1; }
	lf=("$(state)"/lost+found/ghost-*)
	[ -d "${lf[0]}" ] || { echo "ghost not in lost+found"; return 1; }
	expect_eq "ghost's volume kept" "$(cat "${lf[0]}/private.img")" precious || return 1
	bha remove -y crashed
}

test_man_pages() {
	local m
	command -v groff >/dev/null || { echo "no groff"; return 77; }
	for m in clone volume template create console log events run prefs start daemon; do
		m=$here/../../man/bh-$m.1
		[ -z "$(groff -man -ww -z "$m" 2>&1)" ] || { groff -man -ww -z "$m"; return 1; }
		if command -v man >/dev/null; then
			[ -z "$(man --warnings -l "$m" 2>&1 >/dev/null)" ] ||
				{ man --warnings -l "$m" >/dev/null; return 1; }
		fi
	done
}

test_log_shows_daemon_start() {
	expect_contains "bh log" "$(bha log -n 1000)" "listening on" || return 1
	expect_eq "bh log -n 1 lines" "$(bha log -n 1 | wc -l)" 1 || return 1
	bha create -t minimal -l red logq || return 1
	bha remove -y logq || return 1
	expect_fail 2 "line count" log -n 0 || return 1
	expect_fail 2 "line count" log -n 1001
}

test_events_add_delete() {
	local pid out=$work/events.out
	bha events >"$out" 2>&1 &
	pid=$!
	# bh events subscribes asynchronously: wait until a probe qube's
	# removal reaches it, then watch the real one.
	wait_until 10 sh -c "BULKHEAD_ROOT=$root $BH create -t minimal -l red evprobe
		BULKHEAD_ROOT=$root $BH remove -y evprobe
		grep -q '^domain-delete evprobe' $out" || { kill "$pid"; echo "no events"; return 1; }
	bha create -t minimal -l red evq || { kill "$pid"; return 1; }
	bha clone evq evq2 || { kill "$pid"; return 1; }
	bha remove -y evq evq2 || { kill "$pid"; return 1; }
	wait_until 10 grep -q "^domain-delete evq2" "$out"
	kill "$pid"; wait "$pid" 2>/dev/null
	expect_contains "events" "$(cat "$out")" "domain-add evq" || return 1
	expect_contains "events" "$(cat "$out")" "domain-add evq2" || return 1
	expect_contains "events" "$(cat "$out")" "domain-delete evq"
}

# bh run's refusals that boot nothing (issue 11, point 10), and the
# default_user property: --no-autostart leaves a halted qube halted, a
# qube that does not exist is a usage error, default_user is checked.
test_run_refusals_and_default_user() {
	bha create -t minimal -l red runq || return 1
	expect_fail 125 "qube runq is not running; start it with" run --no-autostart runq -- true || return 1
	expect_eq "state" "$(bha ls runq | tail -n 1 | awk '{ print $2 }')" Halted || return 1
	expect_fail 120 "no qube named 'nosuchq'" run nosuchq -- true || return 1
	expect_fail 120 "--no-autostart applies to a command in QUBE" run -n --dispvm -- true || return 1
	expect_fail 120 "--no-autostart applies to a command in QUBE" run -n --service a.B runq || return 1
	expect_eq "default_user" "$(bha prefs runq default_user)" user || return 1
	expect_contains "prefs list" "$(bha prefs runq | tr -s ' ')" "default_user D user" || return 1
	expect_fail 2 "default_user must be a user name" prefs runq default_user 'Bad Name' || return 1
	bha prefs minimal default_user tpluser || return 1
	expect_eq "from the template" "$(bha prefs runq default_user)" tpluser || return 1
	bha prefs runq default_user own || return 1
	expect_eq "set" "$(bha prefs runq default_user)" own || return 1
	bha prefs runq default_user --default || return 1
	bha prefs minimal default_user --default || return 1
	expect_eq "reset" "$(bha prefs runq default_user)" user || return 1
	bha remove -y runq
}

# Attack: a user-made qube named like a disposable (dispN) is taken for
# the disposable of that name by policy, tags, BH_REMOTE_QUBE and asks.
# dispN is kept for disposables: create and clone refuse it, and say
# what to do (issue 11, point 6).
test_disposable_names_collide() {
	local msg="kept for disposables; choose another name"
	expect_fail 2 "$msg" create -t minimal -l red disp42 || return 1
	expect_fail 2 "$msg" create --class StandaloneVM -l red DISP7 || return 1
	bha create -t minimal -l red dvmsrc || return 1
	bha prefs dvmsrc template_for_dispvms True || return 1
	expect_fail 2 "$msg" create --class DispVM -t dvmsrc -l red disp9 || return 1
	expect_fail 2 "$msg" clone dvmsrc disp42 || return 1
	[ ! -e "$(state)/qubes/disp42" ] || { echo "disp42 folder made"; return 1; }
	bha clone dvmsrc disp42x || return 1
	bha remove -y dvmsrc disp42x
}

# Attack: a connection subscribed to admin.Events still had admin.vm.Start,
# Kill and Pause served. Every call after the subscription is refused,
# with an error, and nothing starts (issue 11, point 7d).
test_events_subscriber_makes_calls() {
	local sock=$root/run/bulkhead/admin.sock out m
	bha create -t minimal -l red evsub || return 1
	for m in admin.vm.Start admin.vm.Kill admin.vm.Pause admin.vm.List; do
		out=$(python3 "$here/events-then-call.py" "$sock" "$m" evsub) || { echo "$out"; return 1; }
		expect_contains "$m after admin.Events" "$out" \
			"error 2 this connection receives events (admin.Events) and takes no more calls" ||
			{ bha kill evsub >/dev/null 2>&1; return 1; }
	done
	expect_eq "state" "$(bha ls evsub | tail -n 1 | awk '{ print $2 }')" Halted || return 1
	pgrep -f "[q]emu.*evsub" >/dev/null && { echo "a QEMU runs for evsub"; return 1; }
	bha remove -y evsub
}

# Every qube has a uuid, as in Qubes: well formed, its own, kept across
# daemon restarts, read-only; a clone gets a new one; a policy rule that
# names qubes by uuid decides for them (bh policy check).
test_uuid_property() {
	local re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	local u1 u2 u3 pdir=$root/etc/bulkhead/policy.d out
	bha create -t minimal -l red uuida || return 1
	bha create -t minimal -l red uuidb || return 1
	u1=$(bha prefs uuida uuid) && u2=$(bha prefs uuidb uuid) || return 1
	[[ $u1 =~ $re ]] || { echo "uuida's uuid: '$u1'"; return 1; }
	[[ $u2 =~ $re ]] || { echo "uuidb's uuid: '$u2'"; return 1; }
	[ "$u1" != "$u2" ] || { echo "two qubes, one uuid $u1"; return 1; }
	expect_contains "prefs list" "$(bha prefs uuida | tr -s ' ')" "uuid - $u1" || return 1
	expect_fail 2 "uuid is read-only" prefs uuida uuid "$u2" || return 1
	expect_fail 2 "uuid is read-only" prefs uuida uuid --default || return 1
	expect_fail 2 "uuid is read-only" create -t minimal -l red -P "uuid=$u1" uuidc || return 1
	expect_eq "uuid after refusals" "$(bha prefs uuida uuid)" "$u1" || return 1
	bha clone uuida uuidc || return 1
	u3=$(bha prefs uuidc uuid) || return 1
	[[ $u3 =~ $re ]] && [ "$u3" != "$u1" ] || { echo "clone's uuid: '$u3' (source $u1)"; return 1; }
	restart_daemon || return 1
	expect_eq "uuid after a restart" "$(bha prefs uuida uuid)" "$u1" || return 1
	expect_eq "clone's uuid after a restart" "$(bha prefs uuidc uuid)" "$u3" || return 1
	mkdir -p "$pdir"
	printf 'test.Uuid * uuid:%s uuid:%s allow\n' "$u1" "$u2" >"$pdir/50-uuid.policy"
	out=$(bha policy check uuida uuidb test.Uuid) || { echo "$out"; return 1; }
	expect_contains "check by name" "$out" "allow target=uuidb " || return 1
	out=$(bha policy check uuida "uuid:$u2" test.Uuid) || { echo "$out"; return 1; }
	expect_contains "check by uuid" "$out" "allow target=uuidb " || return 1
	out=$(bha policy check uuidc uuidb test.Uuid)
	expect_contains "the clone's check" "$out" "deny" || return 1
	rm -f "$pdir/50-uuid.policy"
	bha remove -y uuida uuidb uuidc
}

test_console_of_halted_qube() {
	bha create -t minimal -l red conq || return 1
	expect_fail 3 "qube conq is not running" console conq || return 1
	expect_fail 4 "" console nosuchqube || return 1
	expect_fail 2 "line count" console -n x conq || return 1
	bha remove -y conq
}

# ---- systemd (issue 12, point 4) ----
src=$(cd "$here/../.." && pwd)

# bulkheadd.service as make install-systemd makes it, checked by
# systemd-analyze verify (which runs without systemd as PID 1): any line
# it prints (an unknown or misspelt option, a bad value, a program or man
# page that is not there) fails the test.
test_systemd_unit_verifies() {
	local pre=$work/sd-prefix out unit
	command -v systemd-analyze >/dev/null ||
		{ echo "systemd-analyze missing (apt-get install systemd; ./setup does)"; return 77; }
	make -s -C "$src" B="$work/sd-build" PREFIX="$pre" install-systemd >/dev/null || return 1
	install -D -m 755 "$(command -v "$BULKHEADD")" "$pre/sbin/bulkheadd" || return 1
	install -D -m 755 "$(command -v "$BH")" "$pre/bin/bh" || return 1
	install -D -m 644 "$src/man/bulkheadd.8" "$pre/share/man/man8/bulkheadd.8" || return 1
	install -D -m 644 "$src/man/bh.1" "$pre/share/man/man1/bh.1" || return 1
	unit=$(cat "$pre/lib/systemd/system/bulkheadd.service")
	expect_contains "ExecStart" "$unit" "ExecStart=$pre/sbin/bulkheadd" || return 1
	# A stop or restart leaves the qubes running (issue 12, point 2):
	# the installed bh stops the daemon, and systemd signals it alone.
	expect_contains "ExecStop" "$unit" \
		"ExecStop=$pre/lib/bulkhead/bulkheadd-stop $pre/bin/bh" || return 1
	echo "$unit" | grep -qx "KillMode=process" || { echo "no KillMode=process line"; return 1; }
	expect_contains "ExecStop's helper" "$(cat "$pre/lib/bulkhead/bulkheadd-stop")" \
		'exec "$bh" daemon stop --keep-qubes' || return 1
	out=$(MANPATH=$pre/share/man systemd-analyze verify \
		"$pre/lib/systemd/system/bulkheadd.service" 2>&1) ||
		{ echo "systemd-analyze verify failed: $out"; return 1; }
	expect_eq "systemd-analyze verify's output" "$out" ""
}

# ./setup --users makes the bulkhead user and group once: a second run
# succeeds and adds nothing. (It makes them for real, as ./setup would.)
test_setup_users_idempotent() {
	local i
	for i in 1 2; do
		"$src/setup" --users --quiet || { echo "run $i of setup --users failed"; return 1; }
		expect_eq "passwd lines (run $i)" "$(grep -c '^bulkhead:' /etc/passwd)" 1 || return 1
		expect_eq "group lines (run $i)" "$(grep -c '^bulkhead:' /etc/group)" 1 || return 1
	done
	expect_eq "the user's group" "$(id -gn bulkhead)" bulkhead || return 1
	expect_eq "the user's home and shell" \
		"$(getent passwd bulkhead | cut -d: -f6,7)" "/var/lib/bulkhead:/usr/sbin/nologin"
}

# bh says how it started the daemon; here, where systemd is not PID 1
# (sd_booted's test), directly.
test_bh_says_directly() {
	local r err want="systemd is not running"
	[ -d /run/systemd/system ] && want="BULKHEAD_ROOT is set"
	r=$(new_root direct empty) || return 1
	err=$(BULKHEAD_ROOT=$r "$BH" ls 2>&1 >/dev/null)
	stop_root "$r"
	expect_contains "bh's notice" "$err" \
		"bh: no daemon was running; started bulkheadd directly ($want; log: $r/var/log/bulkhead/bulkheadd.log)"
}

# Type=notify: bulkheadd sends READY=1 (with the engine) to NOTIFY_SOCKET
# once its socket listens, and STOPPING=1 on SIGTERM.
test_daemon_notifies_systemd() {
	local r sock=$work/notify.sock pid rpid
	r=$(new_root notify empty) || return 1
	rm -f "$sock" "$sock.bound"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(30)
open(sys.argv[1] + ".bound", "w").close()
for _ in range(2):
    print(s.recv(4096).decode().replace("\n", "|"), flush=True)
' "$sock" >"$work/notify.out" 2>&1 &
	rpid=$!
	wait_until 10 test -e "$sock.bound" || { kill "$rpid"; echo "no listener"; return 1; }
	BULKHEAD_ROOT=$r NOTIFY_SOCKET=$sock "$BULKHEADD" 2>"$work/notify.err" &
	pid=$!
	wait_until 30 grep -q READY "$work/notify.out"
	wait_until 10 test -S "$r/run/bulkhead/admin.sock"
	kill "$pid"
	wait "$pid"
	wait "$rpid"
	rm -rf "$r"
	expect_contains "notifications" "$(cat "$work/notify.out")" \
		"READY=1|STATUS=engine=" || return 1
	expect_contains "notifications" "$(cat "$work/notify.out")" "STOPPING=1"
}

# The systemd path of bh, in a mount namespace of its own where
# /run/systemd/system exists, /run/bulkhead and /var/log/bulkhead are a
# test root's, and a stand-in systemctl starts the daemon there: bh asks
# whether the unit is loaded, starts it, says so and connects; when the
# start fails it says so and exits 121. systemd itself never runs here.
test_bh_starts_unit_with_systemctl() {
	local sim=$work/sim out rc sim_bh
	command -v unshare >/dev/null || { echo "no unshare"; return 77; }
	rm -rf "$sim"
	mkdir -p "$sim/r/run/bulkhead" "$sim/r/var/log/bulkhead" "$sim/bin" \
		"$sim/sd/system" /run/systemd /run/bulkhead /var/log/bulkhead || return 1
	cat >"$sim/bin/systemctl" <<'SH'
#!/bin/sh
echo "$*" >>"$SIM/calls"
case "$*" in
*show*LoadState*) echo loaded ;;
*start*)
	[ -e "$SIM/fail" ] && { echo "Job for bulkheadd.service failed." >&2; exit 1; }
	BULKHEAD_ROOT=$SIM/r setsid "$BULKHEADD" --ready-fd=3 3>"$SIM/ready" \
		>>"$SIM/r/var/log/bulkhead/bulkheadd.log" 2>&1 </dev/null &
	i=0
	while [ ! -s "$SIM/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	;;
esac
SH
	chmod 755 "$sim/bin/systemctl"
	# shellcheck disable=SC2016 # expanded by the inner shell
	sim_bh='mount --bind "$SIM/sd" /run/systemd &&
		mount --bind "$SIM/r/run/bulkhead" /run/bulkhead &&
		mount --bind "$SIM/r/var/log/bulkhead" /var/log/bulkhead &&
		PATH=$SIM/bin:$PATH BULKHEAD_ROOT= BULKHEAD_DAEMON= "$BH" ls --raw'
	out=$(SIM=$sim BULKHEADD=$(command -v "$BULKHEADD") BH=$(command -v "$BH") \
		unshare -m --propagation private sh -c "$sim_bh" 2>&1); rc=$?
	[ -s "$sim/r/run/bulkhead/bulkheadd.pid" ] && kill "$(cat "$sim/r/run/bulkhead/bulkheadd.pid")"
	expect_eq "status of bh ls" "$rc" 0 || { echo "$out"; return 1; }
	expect_contains "bh's notice" "$out" \
		"bh: no daemon was running; started bulkheadd via systemd (bulkheadd.service; log: /var/log/bulkhead/bulkheadd.log)" || return 1
	expect_contains "bh ls" "$out" minimal || return 1
	expect_eq "systemctl calls" "$(cat "$sim/calls")" \
		"show --property LoadState --value bulkheadd.service
--no-ask-password start bulkheadd.service" || return 1
	wait_until 10 test ! -S "$sim/r/run/bulkhead/admin.sock" || return 1
	touch "$sim/fail"
	out=$(SIM=$sim BULKHEADD=$(command -v "$BULKHEADD") BH=$(command -v "$BH") \
		unshare -m --propagation private sh -c "$sim_bh" 2>&1); rc=$?
	expect_eq "status of bh ls when the unit fails" "$rc" 121 || { echo "$out"; return 1; }
	expect_contains "bh's message" "$out" \
		"bh: systemctl start bulkheadd.service failed; see systemctl status bulkheadd.service"
}

# ---- bh daemon: status, stop, restart (issue 12, point 2) ----

# Each on a root of its own (no images needed: nothing boots), so the
# suite's daemon is left alone. dbh ROOT ARGS...: bh on ROOT.
dbh() { local r=$1; shift; BULKHEAD_ROOT=$r "$BH" "$@" </dev/null; }
dpid() { cat "$1/run/bulkhead/bulkheadd.pid" 2>/dev/null; }
# lock_free ROOT: no process holds the daemon's instance lock.
lock_free() { flock -n -s "$1/run/bulkhead/bulkheadd.pid" true; }

test_daemon_status_and_stop() {
	local r out rc pid cpid
	command -v flock >/dev/null || { echo "no flock(1)"; return 77; }
	r=$(new_root dstop empty) || return 1
	out=$(dbh "$r" daemon status 2>&1); rc=$?
	expect_eq "status without a daemon" "$rc" 3 || { rm -rf "$r"; return 1; }
	expect_contains "status without a daemon" "$out" "bulkheadd is not running" || { rm -rf "$r"; return 1; }
	[ ! -e "$r/run/bulkhead/admin.sock" ] || { echo "status started a daemon"; stop_root "$r"; return 1; }
	dbh "$r" ls >/dev/null 2>&1 || { stop_root "$r"; return 1; }
	pid=$(dpid "$r")
	out=$(dbh "$r" daemon status 2>&1); rc=$?
	expect_eq "status with a daemon" "$rc" 0 || { stop_root "$r"; return 1; }
	expect_contains "status's pid" "$out" "bulkheadd is running (BULKHEAD_ROOT $r), pid $pid" || { stop_root "$r"; return 1; }
	expect_contains "status's start" "$out" "started directly" || { stop_root "$r"; return 1; }
	# Two processes: the root parent (pid) and its child, control.
	cpid=$(control_pid "$r")
	[ -n "$cpid" ] && [ "$cpid" != "$pid" ] || { echo "no control.pid of its own: '$cpid'"; stop_root "$r"; return 1; }
	expect_eq "control's parent" "$(awk '{ print $4 }' "/proc/$cpid/stat")" "$pid" || { stop_root "$r"; return 1; }
	# Control, still root, is hardened already: no_new_privs and its
	# seccomp filter (sandbox.h, bh_sandbox_harden_root).
	expect_eq "control's NoNewPrivs" "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$cpid/status")" 1 || { stop_root "$r"; return 1; }
	expect_eq "control's Seccomp" "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$cpid/status")" 2 || { stop_root "$r"; return 1; }
	expect_contains "status's control" "$out" "control process: pid $cpid
" || { stop_root "$r"; return 1; }
	expect_contains "status's qubes" "$out" "qubes running: 0" || { stop_root "$r"; return 1; }
	out=$(dbh "$r" daemon stop 2>&1); rc=$?
	expect_eq "status of stop" "$rc" 0 || { echo "$out"; stop_root "$r"; return 1; }
	expect_contains "stop's notice" "$out" "bh: bulkheadd (pid $pid) has stopped" || { stop_root "$r"; return 1; }
	gone "$pid" || { echo "daemon $pid still runs after stop"; stop_root "$r"; return 1; }
	gone "$cpid" || { echo "control $cpid still runs after stop"; stop_root "$r"; return 1; }
	[ ! -e "$r/run/bulkhead/control.pid" ] || { echo "control.pid left"; stop_root "$r"; return 1; }
	lock_free "$r" || { echo "the instance lock is still held"; stop_root "$r"; return 1; }
	[ ! -e "$r/run/bulkhead/admin.sock" ] || { echo "admin socket left"; stop_root "$r"; return 1; }
	expect_contains "the daemon's log" "$(cat "$r/var/log/bulkhead/bulkheadd.log")" \
		"stopping: admin.daemon.Stop from pid" || { stop_root "$r"; return 1; }
	out=$(dbh "$r" daemon status 2>&1); rc=$?
	expect_eq "status after stop" "$rc" 3 || { stop_root "$r"; return 1; }
	out=$(dbh "$r" daemon stop 2>&1); rc=$?
	expect_eq "stop without a daemon" "$rc" 0 || { stop_root "$r"; return 1; }
	expect_contains "stop without a daemon" "$out" "nothing to stop" || { stop_root "$r"; return 1; }
	[ ! -e "$r/run/bulkhead/admin.sock" ] || { echo "stop started a daemon"; stop_root "$r"; return 1; }
	stop_root "$r"
}

test_daemon_stop_keep_qubes() {
	local r out rc pid
	command -v flock >/dev/null || { echo "no flock(1)"; return 77; }
	r=$(new_root dkeep empty) || return 1
	dbh "$r" ls >/dev/null 2>&1 || { stop_root "$r"; return 1; }
	pid=$(dpid "$r")
	out=$(dbh "$r" daemon stop --keep-qubes 2>&1); rc=$?
	expect_eq "status of stop --keep-qubes" "$rc" 0 || { echo "$out"; stop_root "$r"; return 1; }
	gone "$pid" || { echo "daemon $pid still runs"; stop_root "$r"; return 1; }
	lock_free "$r" || { echo "the instance lock is still held"; stop_root "$r"; return 1; }
	expect_contains "the daemon's log" "$(cat "$r/var/log/bulkhead/bulkheadd.log")" \
		"stopping: admin.daemon.Stop keep-qubes from pid" || { stop_root "$r"; return 1; }
	stop_root "$r"
}

test_daemon_restart() {
	local r out rc old new
	r=$(new_root drestart empty) || return 1
	dbh "$r" ls >/dev/null 2>&1 || { stop_root "$r"; return 1; }
	old=$(dpid "$r")
	out=$(dbh "$r" daemon restart 2>&1); rc=$?
	new=$(dpid "$r")
	expect_eq "status of restart" "$rc" 0 || { echo "$out"; stop_root "$r"; return 1; }
	[ -n "$new" ] && [ "$new" != "$old" ] || { echo "pid $old before, '$new' after"; stop_root "$r"; return 1; }
	gone "$old" || { echo "old daemon $old still runs"; stop_root "$r"; return 1; }
	alive "$new" || { echo "new daemon $new does not run"; stop_root "$r"; return 1; }
	expect_contains "restart's way" "$out" "bh: started bulkheadd directly (" || { stop_root "$r"; return 1; }
	expect_contains "restart's pids" "$out" "bh: bulkheadd now runs as pid $new (was $old)" || { stop_root "$r"; return 1; }
	expect_contains "the old daemon's stop" "$(cat "$r/var/log/bulkhead/bulkheadd.log")" \
		"stopping: admin.daemon.Stop keep-qubes from pid" || { stop_root "$r"; return 1; }
	expect_eq "bh ls after restart" "$(dbh "$r" ls --raw 2>&1)" "minimal" || { stop_root "$r"; return 1; }
	expect_eq "the daemon after ls" "$(dpid "$r")" "$new" || { stop_root "$r"; return 1; }
	stop_root "$r"
}

test_daemon_bad_arguments() {
	local r out rc a
	r=$(new_root dargs empty) || return 1
	for a in "" "bogus" "stop --bogus" "status --keep-qubes" "restart --keep-qubes" "stop extra" "status x"; do
		# shellcheck disable=SC2086 # split on purpose
		out=$(dbh "$r" daemon $a 2>&1); rc=$?
		expect_eq "status of bh daemon $a" "$rc" 2 || { echo "$out"; rm -rf "$r"; return 1; }
		expect_contains "usage hint of bh daemon $a" "$out" "Try 'bh daemon --help'." || { rm -rf "$r"; return 1; }
	done
	expect_contains "unknown command" "$(dbh "$r" daemon bogus 2>&1)" \
		"bh: daemon: unknown command 'bogus' (status, stop or restart)" || { rm -rf "$r"; return 1; }
	expect_contains "misplaced --keep-qubes" "$(dbh "$r" daemon status --keep-qubes 2>&1)" \
		"bh: daemon: --keep-qubes is for stop, not status" || { rm -rf "$r"; return 1; }
	[ ! -e "$r/run/bulkhead/admin.sock" ] || { echo "a bad call started a daemon"; stop_root "$r"; return 1; }
	dbh "$r" daemon --help | grep -q "^usage: bh daemon status" || { rm -rf "$r"; return 1; }
	rm -rf "$r"
}

# admin.daemon.Stop refuses an ARG other than "" and keep-qubes, and a
# DEST, and the daemon goes on; Info answers with its pid.
test_daemon_stop_call_refused() {
	local r out pid
	r=$(new_root dcall empty) || return 1
	dbh "$r" ls >/dev/null 2>&1 || { stop_root "$r"; return 1; }
	pid=$(dpid "$r")
	out=$(python3 "$here/admin-call.py" "$r/run/bulkhead/admin.sock" admin.daemon.Stop "" now)
	expect_contains "Stop with ARG now" "$out" \
		'2 admin.daemon.Stop takes ARG "" (stop and shut the qubes down) or "keep-qubes" (leave them running), not "now"' ||
		{ stop_root "$r"; return 1; }
	out=$(python3 "$here/admin-call.py" "$r/run/bulkhead/admin.sock" admin.daemon.Stop work)
	expect_contains "Stop with a DEST" "$out" "2 admin.daemon.Stop takes no DEST" || { stop_root "$r"; return 1; }
	out=$(python3 "$here/admin-call.py" "$r/run/bulkhead/admin.sock" admin.daemon.Info)
	expect_contains "Info's pid" "$out" "pid=$pid" || { stop_root "$r"; return 1; }
	expect_contains "Info's stopping" "$out" "stopping=no" || { stop_root "$r"; return 1; }
	alive "$pid" || { echo "the daemon stopped"; stop_root "$r"; return 1; }
	expect_eq "bh ls after the refusals" "$(dbh "$r" ls --raw 2>&1)" "minimal" || { stop_root "$r"; return 1; }
	stop_root "$r"
}

if ! command -v "$BH" >/dev/null || ! command -v "$BULKHEADD" >/dev/null; then
	echo "admin: bh or bulkheadd not found (make, or run ./setup)"
	echo "admin: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "admin: bulkheadd runs as root only"
	echo "admin: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

# new_root gives the root a templates folder of its own (holding only a
# link to the built one), so new templates are never written into
# $BH_IMAGES.
root=$(new_root admin)
export BULKHEAD_DAEMON=$BULKHEADD
bha ls >/dev/null 2>&1 # starts the daemon
# ---- jobs: long volume work in child processes (issue 12, point 3) ----

# restart_daemon [VAR=VALUE...]: ends this root's daemon; the next one,
# started here by bh (with the given environment), reconciles the folders
# at start-up.
restart_daemon() {
	local pid
	pid=$(cat "$root/run/bulkhead/bulkheadd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		wait_until 20 sh -c "! kill -0 $pid" || { echo "daemon $pid did not stop"; return 1; }
	fi
	env "$@" BULKHEAD_ROOT="$root" "$BH" ls >/dev/null </dev/null
}

# events_start FILE: bh events into FILE, subscribed (a probe qube's
# creation reached it); its pid in evpid.
events_start() {
	bha events >"$1" 2>&1 &
	evpid=$!
	wait_until 20 sh -c "BULKHEAD_ROOT=$root $BH create -t minimal -l red jprobe
		BULKHEAD_ROOT=$root $BH remove -y jprobe
		grep -q '^domain-delete jprobe' $1" || { echo "no events"; kill "$evpid"; return 1; }
}

# No file of the state folder is a job's leftover temporary.
no_temporaries() {
	local t
	t=$(find "$root/var/lib/bulkhead" -name '*.tmp-*')
	[ -z "$t" ] || { echo "temporaries left: $t"; return 1; }
}

# A throttled copy (BULKHEAD_TEST_JOB_THROTTLE: 2 GiB at 128 MiB/s, about
# 16 s) runs in a job while bh ls is answered. No timing is asserted: the
# events show the job unfinished before ls (a progress line with done <
# total) and after it (a progress line after a marker qube's domain-add,
# a call made once ls had returned). The reply to clone waits for the job.
test_jobs_ls_during_clone() {
	local ev=$work/jobs1.ev cpid out mark_line late
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=128 || return 1
	bha create -t minimal -l red jsrc || return 1
	events_start "$ev" || return 1
	bha clone jsrc jdst >"$work/clone1.out" 2>&1 &
	cpid=$!
	wait_until 60 grep -q '^job-progress jdst job=[0-9]* op=copy step=copy done=[1-9]' "$ev" ||
		{ echo "no progress event: $(cat "$ev")"; kill "$evpid"; return 1; }
	out=$(bha ls --raw) || { kill "$evpid"; return 1; }
	bha create -t minimal -l red jmark || { kill "$evpid"; return 1; }
	expect_contains "ls during the copy" "$out" jsrc || { kill "$evpid"; return 1; }
	# No record before the copy is whole.
	[[ $out != *jdst* ]] || { echo "jdst listed before its copy ended"; kill "$evpid"; return 1; }
	wait "$cpid" || { cat "$work/clone1.out"; kill "$evpid"; return 1; }
	wait_until 20 grep -q '^domain-add jdst' "$ev"
	kill "$evpid"; wait "$evpid" 2>/dev/null
	mark_line=$(grep -n '^domain-add jmark' "$ev" | cut -d: -f1)
	late=$(tail -n "+${mark_line:-999999}" "$ev" |
		awk '$1 == "job-progress" && $2 == "jdst" {
			split($6, d, "="); split($7, t, "=")
			if (d[2] + 0 < t[2] + 0) n++ } END { print n + 0 }')
	[ "$late" -gt 0 ] || { echo "the copy was over before ls returned: $(cat "$ev")"; return 1; }
	expect_contains "events" "$(cat "$ev")" "job-start jdst" || return 1
	expect_contains "events" "$(cat "$ev")" "result=ok" || return 1
	bha volume list jdst >/dev/null || return 1
	no_temporaries || return 1
	bha remove -y jsrc jdst jmark >/dev/null && restart_daemon
}

# A clone's copy cancelled mid-way, by bh going away (a signal, as ^C)
# and by admin.job.Cancel: no record, no folder, no temporary; the
# source is unchanged.
test_jobs_cancel() {
	local ev=$work/jobs2.ev cpid rc id out sum
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=64 || return 1
	bha create -t minimal -l red ksrc || return 1
	sum=$(sha256sum <"$root/var/lib/bulkhead/qubes/ksrc/private.img")
	events_start "$ev" || return 1
	BULKHEAD_ROOT=$root "$BH" clone ksrc kgone </dev/null >/dev/null 2>&1 &
	cpid=$!
	wait_until 60 grep -q '^job-progress kgone .* done=[1-9]' "$ev" ||
		{ echo "no progress: $(cat "$ev")"; kill "$evpid"; return 1; }
	kill -TERM "$cpid"; wait "$cpid" 2>/dev/null
	wait_until 20 grep -q '^job-done kgone .*result=cancelled' "$ev" ||
		{ echo "not cancelled: $(cat "$ev")"; kill "$evpid"; return 1; }
	bha clone ksrc kcan >"$work/clone2.out" 2>&1 &
	cpid=$!
	wait_until 60 grep -q '^job-progress kcan .* done=[1-9]' "$ev" ||
		{ echo "no progress: $(cat "$ev")"; kill "$evpid"; return 1; }
	id=$(sed -n 's/^job-start kcan job=\([0-9]*\) .*/\1/p' "$ev" | head -n 1)
	out=$(python3 "$here/admin-call.py" "$root/run/bulkhead/admin.sock" admin.job.List)
	expect_contains "admin.job.List" "$out" "$id qube=kcan op=copy step=copy" || { kill "$evpid"; return 1; }
	out=$(python3 "$here/admin-call.py" "$root/run/bulkhead/admin.sock" admin.job.Cancel "" "$id")
	expect_eq "admin.job.Cancel" "$out" "0 " || { kill "$evpid"; return 1; }
	wait "$cpid"; rc=$?
	expect_eq "bh clone's status" "$rc" 1 || { kill "$evpid"; return 1; }
	expect_contains "bh clone's message" "$(cat "$work/clone2.out")" \
		"the clone of 'ksrc' as 'kcan' was stopped: cancelled (admin.job.Cancel); nothing of it is left" ||
		{ kill "$evpid"; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	out=$(python3 "$here/admin-call.py" "$root/run/bulkhead/admin.sock" admin.job.Cancel "" "$id")
	expect_eq "admin.job.Cancel of an ended job" "$out" "4 no job $id runs" || return 1
	expect_eq "qubes" "$(bha ls --raw | grep '^k')" "ksrc" || return 1
	[ ! -e "$root/var/lib/bulkhead/qubes/kgone" ] && [ ! -e "$root/var/lib/bulkhead/qubes/kcan" ] ||
		{ echo "a cancelled clone left its folder"; return 1; }
	no_temporaries || return 1
	expect_eq "source volume" "$(sha256sum <"$root/var/lib/bulkhead/qubes/ksrc/private.img")" "$sum" || return 1
	bha remove -y ksrc >/dev/null && restart_daemon
}

# While a job copies a qube, the qube is busy: no start, remove, resize
# or second clone of it; the refusal names the job.
test_jobs_busy() {
	local ev=$work/jobs3.ev cpid
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=64 || return 1
	bha create -t minimal -l red bsrc || return 1
	events_start "$ev" || return 1
	BULKHEAD_ROOT=$root "$BH" clone bsrc bdst </dev/null >/dev/null 2>&1 &
	cpid=$!
	wait_until 60 grep -q '^job-progress bdst ' "$ev" || { kill "$evpid" "$cpid"; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	expect_fail 3 "qube 'bsrc' is busy: job" remove -y bsrc || { kill "$cpid"; return 1; }
	expect_fail 3 "qube 'bsrc' is busy: job" volume resize bsrc private 4G || { kill "$cpid"; return 1; }
	expect_fail 3 "qube 'bsrc' is busy: job" clone bsrc bother || { kill "$cpid"; return 1; }
	expect_fail 3 "qube bsrc is busy: job" start bsrc || { kill "$cpid"; return 1; }
	kill -TERM "$cpid"; wait "$cpid" 2>/dev/null
	# bh gone cancels the job, which ends once its process is reaped:
	# until then bsrc is still busy.
	wait_until 20 bha remove -y bsrc || { echo "bsrc still busy: $(bha remove -y bsrc 2>&1)"; return 1; }
	restart_daemon
}

# A disposable's start copies its disposable template's private volume in
# a job, before QEMU starts: the daemon answers meanwhile, the DVM is
# busy, and bh going away cancels the copy; nothing is left in the
# runtime folder and no QEMU ever ran.
test_jobs_dispvm_copy_cancel() {
	local ev=$work/jobs4.ev rpid left
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=64 || return 1
	bha create -t minimal -l red jdvm || return 1
	bha prefs jdvm template_for_dispvms True || return 1
	events_start "$ev" || return 1
	BULKHEAD_ROOT=$root "$BH" run --dispvm=jdvm -- true </dev/null >"$work/run4.out" 2>&1 &
	rpid=$!
	wait_until 60 grep -q '^job-progress disp[0-9]* job=[0-9]* op=copy step=copy done=[1-9]' "$ev" ||
		{ echo "no copy: $(cat "$ev") $(cat "$work/run4.out")"; kill "$evpid" "$rpid"; return 1; }
	expect_fail 3 "qube jdvm is busy: job" start jdvm || { kill "$evpid" "$rpid"; return 1; }
	kill -TERM "$rpid"; wait "$rpid" 2>/dev/null
	wait_until 20 grep -q '^job-done disp[0-9]* .*result=cancelled' "$ev" ||
		{ echo "not cancelled: $(cat "$ev")"; kill "$evpid"; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	wait_until 10 sh -c "[ -z \"\$(ls -A $root/run/bulkhead/qubes 2>/dev/null)\" ]" ||
		{ echo "runtime files left: $(ls -R "$root/run/bulkhead/qubes")"; return 1; }
	grep -q 'started (QEMU pid' "$root/var/log/bulkhead/bulkheadd.log" &&
		{ echo "a QEMU was started"; return 1; }
	no_temporaries || return 1
	bha remove -y jdvm >/dev/null && restart_daemon
}

# A stand-in for QEMU (tests/hostile/fake_qemu.c, built by make hostile):
# qubes whose start these tests let through become "ready" at once, and
# no VM boots.
FAKE_QEMU=${FAKE_QEMU:-$(cd "$here/../.." && pwd)/build/tests/fake-qemu}
need_fake() {
	[ -x "$FAKE_QEMU" ] || { echo "no $FAKE_QEMU (make hostile)"; return 77; }
}

# kill_waiting_start QUBE OP EVENTS OUT: QUBE, whose start (start_in_job:
# spid, output in OUT) waits for its OP job, shows Transient; bh kill
# ends the start (status 1, "was killed"), the job is cancelled, and
# QUBE is Halted.
kill_waiting_start() {
	local rc
	expect_contains "ls while $1 waits" "$(bha ls "$1")" Transient || return 1
	bha kill "$1" || return 1
	wait "$spid"; rc=$?
	expect_eq "bh start's status" "$rc" 1 || return 1
	expect_contains "bh start's message" "$(cat "$4")" "qube $1 was killed" || return 1
	wait_until 20 grep -q "^job-done $1 job=[0-9]* op=$2 result=cancelled" "$3" ||
		{ echo "not cancelled: $(cat "$3")"; return 1; }
	expect_eq "$1's state" "$(bha ls "$1" | awk 'NR == 2 { print $2 }')" Halted
}

# late_progress EVENTS MARKER SUBJECT OP: how many job-progress events of
# SUBJECT's OP job, not finished (done < total), came after MARKER's
# domain-add: the job still ran after a call made later than MARKER.
late_progress() {
	local line
	line=$(grep -n "^domain-add $2\$" "$1" | cut -d: -f1)
	tail -n "+${line:-999999}" "$1" |
		awk -v s="$3" -v op="op=$4" '$1 == "job-progress" && $2 == s && $4 == op {
			split($6, d, "="); split($7, t, "=")
			if (d[2] + 0 < t[2] + 0) n++ } END { print n + 0 }'
}

# The first start after the guest files changed (here: a fresh daemon,
# which has checked none) computes their checksums in jobs, throttled so
# that they take a few seconds: kernel, initramfs and template root, one
# job each, shared by two qubes starting at once, while bh ls is answered
# (a progress event after a call made once ls had returned). Both starts
# then go on (QEMU: the fake) and succeed; the next start computes
# nothing (once per change).
test_jobs_start_hash() {
	local ev=$work/hash1.ev p1 p2 out n
	need_fake || return
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=16 BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create -t minimal -l red hq1 && bha create -t minimal -l red hq2 || return 1
	events_start "$ev" || return 1
	bha start hq1 >"$work/hash1.out" 2>&1 &
	p1=$!
	bha start hq2 >"$work/hash2.out" 2>&1 &
	p2=$!
	wait_until 60 grep -q '^job-progress hq[12] job=[0-9]* op=hash step=hash done=[1-9]' "$ev" ||
		{ echo "no hash job: $(cat "$ev")"; kill "$evpid" "$p1" "$p2"; return 1; }
	out=$(bha ls --raw) || { kill "$evpid"; return 1; }
	expect_contains "ls during the checksums" "$out" hq1 || { kill "$evpid"; return 1; }
	bha create -t minimal -l red hmark || { kill "$evpid"; return 1; }
	wait "$p1" || { echo "start hq1: $(cat "$work/hash1.out")"; kill "$evpid"; return 1; }
	wait "$p2" || { echo "start hq2: $(cat "$work/hash2.out")"; kill "$evpid"; return 1; }
	expect_eq "hq1 after its start" "$(bha ls hq1 | awk 'NR == 2 { print $2 }')" Running || { kill "$evpid"; return 1; }
	bha kill hq1 hq2 >/dev/null || { kill "$evpid"; return 1; }
	bha start hq1 || { kill "$evpid"; return 1; }
	bha kill hq1 >/dev/null
	bha remove -y hmark >/dev/null
	wait_until 20 grep -q '^domain-delete hmark' "$ev"
	kill "$evpid"; wait "$evpid" 2>/dev/null
	[ "$(late_progress "$ev" hmark hq1 hash)$(late_progress "$ev" hmark hq2 hash)" != 00 ] ||
		{ echo "the checksums were over before ls returned: $(cat "$ev")"; return 1; }
	n=$(grep -c '^job-start hq[12] job=[0-9]* op=hash' "$ev")
	expect_eq "hash jobs (one per file, for both starts, once)" "$n" 3 || { cat "$ev"; return 1; }
	n=$(grep -c '^job-done hq[12] job=[0-9]* op=hash result=ok' "$ev")
	expect_eq "hash jobs that ended well" "$n" 3 || return 1
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"template root image $root/var/lib/bulkhead/templates/minimal/root.img is new or changed; its checksum is computed in job" || return 1
	bha remove -y hq1 hq2 >/dev/null && restart_daemon
}

# A start waiting for a checksum, stopped: by bh kill (the job is
# cancelled, the start fails saying so, the qube is Halted and no QEMU
# ever ran) and by the daemon stopping.
test_jobs_start_hash_cancel() {
	local ev=$work/hash2.ev p1 spid
	need_fake || return
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=1 BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create -t minimal -l red hc || return 1
	events_start "$ev" || return 1
	start_in_job hc hash "$ev" "$work/hashc.out" || return 1
	kill_waiting_start hc hash "$ev" "$work/hashc.out" || { kill "$evpid" "$spid" 2>/dev/null; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	grep -q 'hc: started (QEMU pid' "$root/var/log/bulkhead/bulkheadd.log" &&
		{ echo "a QEMU was started"; return 1; }
	# The daemon stopping while the start waits.
	bha start hc >"$work/hashc.out" 2>&1 &
	p1=$!
	wait_until 20 grep -q 'hc: guest kernel .* is new or changed' "$root/var/log/bulkhead/bulkheadd.log" ||
		{ echo "no hash job: $(cat "$work/hashc.out")"; kill "$p1"; return 1; }
	restart_daemon || { kill "$p1"; return 1; }
	wait "$p1"
	grep -q 'job [0-9]* (hash for hc) cancelled: bulkheadd is stopping' "$root/var/log/bulkhead/bulkheadd.log" ||
		{ echo "the job was not cancelled: $(daemon_log_tail "$root")"; return 1; }
	expect_eq "hc's state" "$(bha ls hc | awk 'NR == 2 { print $2 }')" Halted || return 1
	grep -q 'hc: started (QEMU pid' "$root/var/log/bulkhead/bulkheadd.log" &&
		{ echo "a QEMU was started"; return 1; }
	bha remove -y hc >/dev/null && restart_daemon
}

# A disposable whose QEMU cannot start once its private volume is copied
# (here: no channel process to run beside it) fails with why, not with
# an empty message (the failure's code, 125, was once taken for a cancel).
test_jobs_dispvm_launch_fails_after_copy() {
	local rc out
	need_fake || return
	restart_daemon BULKHEAD_CHAN=/nonexistent/bulkhead-chan BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create -t minimal -l red fdvm || return 1
	bha prefs fdvm template_for_dispvms True || return 1
	out=$(BULKHEAD_ROOT=$root "$BH" run --dispvm=fdvm -- true 2>&1 </dev/null); rc=$?
	expect_eq "bh run's status" "$rc" 125 || return 1
	expect_contains "bh run's message" "$out" "bulkhead-chan not found" || return 1
	wait_until 10 sh -c "[ -z \"\$(ls -A $root/run/bulkhead/qubes 2>/dev/null)\" ]" ||
		{ echo "runtime files left: $(ls -R "$root/run/bulkhead/qubes")"; return 1; }
	bha remove -y fdvm >/dev/null && restart_daemon
}

# versions TEMPLATE: the files of its folder, one line.
versions() { ls "$root/var/lib/bulkhead/templates/$1" | tr '\n' ' '; }

# start_in_job QUBE OP EVENTS OUT: bh start QUBE in the background (its
# output in OUT, its pid in spid), until its OP job (copy, hash) has
# made progress (EVENTS, from events_start).
start_in_job() {
	bha start "$1" >"$4" 2>&1 &
	spid=$!
	wait_until 60 grep -q "^job-progress $1 job=[0-9]* op=$2 step=$2 done=[1-9]" "$3" ||
		{ echo "no $2 job: $(cat "$3")"; kill "$evpid" "$spid"; return 1; }
}

# A TemplateVM's start copies its root to the new version it writes in a
# job (throttled: a sparse copy of 64 MiB, holes included, at 32 MiB/s),
# while bh ls is answered (a progress event after a later call); the
# start then goes on (QEMU: the fake). The new version is dropped when the
# template is killed.
test_jobs_template_root_copy() {
	local ev=$work/troot1.ev spid
	need_fake || return
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=32 BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create --class TemplateVM -t minimal -l black tq || return 1
	events_start "$ev" || return 1
	start_in_job tq copy "$ev" "$work/troot1.out" || return 1
	expect_contains "ls during the copy" "$(bha ls --raw)" tq || { kill "$evpid"; return 1; }
	bha create -t minimal -l red tmark || { kill "$evpid"; return 1; }
	wait "$spid" || { echo "start tq: $(cat "$work/troot1.out")"; kill "$evpid"; return 1; }
	expect_eq "tq after its start" "$(bha ls tq | awk 'NR == 2 { print $2 }')" Running || { kill "$evpid"; return 1; }
	expect_eq "tq's root versions while it runs" "$(versions tq)" "root-0.img root-1.img root.img " || { kill "$evpid"; return 1; }
	bha remove -y tmark >/dev/null
	wait_until 20 grep -q '^domain-delete tmark' "$ev"
	kill "$evpid"; wait "$evpid" 2>/dev/null
	[ "$(late_progress "$ev" tmark tq copy)" -gt 0 ] ||
		{ echo "the copy was over before ls returned: $(cat "$ev")"; return 1; }
	grep -q '^job-done tq job=[0-9]* op=copy result=ok' "$ev" || { cat "$ev"; return 1; }
	expect_contains "log" "$(cat "$root/var/log/bulkhead/bulkheadd.log")" \
		"tq: new root version root-1.img made in" || return 1
	bha kill tq || return 1
	expect_eq "tq's root versions after a kill" "$(versions tq)" "root-0.img root.img " || return 1
	no_temporaries || return 1
	bha remove -y tq >/dev/null && restart_daemon
}

# A TemplateVM's start stopped during that copy, by bh kill and by the
# daemon stopping: the job is cancelled, its temporary goes, no new
# version is left, and no QEMU ever ran.
test_jobs_template_root_copy_cancel() {
	local ev=$work/troot2.ev p1 spid
	need_fake || return
	restart_daemon BULKHEAD_TEST_JOB_THROTTLE=4 BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create --class TemplateVM -t minimal -l black tc || return 1
	events_start "$ev" || return 1
	start_in_job tc copy "$ev" "$work/troot2.out" || return 1
	ls "$root"/var/lib/bulkhead/templates/tc/root-1.img.tmp-* >/dev/null 2>&1 ||
		{ echo "no temporary being written: $(versions tc)"; kill "$evpid" "$spid"; return 1; }
	kill_waiting_start tc copy "$ev" "$work/troot2.out" || { kill "$evpid" "$spid" 2>/dev/null; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	expect_eq "tc's root versions" "$(versions tc)" "root-0.img root.img " || return 1
	no_temporaries || return 1
	# The daemon stopping during the copy.
	bha start tc >"$work/troot2.out" 2>&1 &
	p1=$!
	wait_until 60 sh -c "ls $root/var/lib/bulkhead/templates/tc/root-1.img.tmp-* >/dev/null 2>&1" ||
		{ echo "no copy: $(cat "$work/troot2.out")"; kill "$p1"; return 1; }
	restart_daemon || { kill "$p1"; return 1; }
	wait "$p1"
	grep -q 'job [0-9]* (copy for tc) cancelled: bulkheadd is stopping' "$root/var/log/bulkhead/bulkheadd.log" ||
		{ echo "the copy was not cancelled: $(daemon_log_tail "$root")"; return 1; }
	expect_eq "tc's root versions" "$(versions tc)" "root-0.img root.img " || return 1
	no_temporaries || return 1
	grep -q 'tc: started (QEMU pid' "$root/var/log/bulkhead/bulkheadd.log" &&
		{ echo "a QEMU was started"; return 1; }
	bha remove -y tc >/dev/null && restart_daemon
}

# A qube whose private volume went missing while the daemon ran (the
# daemon remakes one at its own start) gets an empty one at its start,
# made by mke2fs in a job, not in the daemon's loop; then it starts.
test_jobs_start_makes_missing_private() {
	local ev=$work/pmk.ev img=$root/var/lib/bulkhead/qubes/pmk/private.img
	need_fake || return
	restart_daemon BULKHEAD_QEMU="$FAKE_QEMU" || return 1
	bha create -t minimal -l red pmk || return 1
	rm "$img"
	events_start "$ev" || return 1
	bha start pmk || { kill "$evpid"; return 1; }
	kill "$evpid"; wait "$evpid" 2>/dev/null
	grep -q '^job-done pmk job=[0-9]* op=mke2fs result=ok' "$ev" ||
		{ echo "no mke2fs job: $(cat "$ev")"; return 1; }
	dumpe2fs -h "$img" >/dev/null 2>&1 || { echo "no valid private volume"; return 1; }
	expect_eq "its owner and mode" "$(stat -c '%a' "$img")" 600 || return 1
	bha kill pmk >/dev/null && bha remove -y pmk >/dev/null && restart_daemon
}

run_test test_minimal_registered
run_test test_create_ls_prefs_remove
run_test test_global_prefs
run_test test_features_and_tags
run_test test_ls_json
run_test test_bad_inputs_change_nothing
run_test test_remove_minimal_refused
run_test test_concurrent_calls
run_test test_state_survives_restart
run_test test_doctor
run_test test_help_and_man
run_test test_create_makes_private_volume
run_test test_clone_copies_volume
run_test test_volume_list_resize
run_test test_template_and_standalone
run_test test_crash_reconcile
run_test test_man_pages
run_test test_log_shows_daemon_start
run_test test_events_add_delete
run_test test_console_of_halted_qube
run_test test_disposable_names_collide
run_test test_events_subscriber_makes_calls
run_test test_run_refusals_and_default_user
run_test test_systemd_unit_verifies
run_test test_setup_users_idempotent
run_test test_bh_says_directly
run_test test_daemon_notifies_systemd
run_test test_bh_starts_unit_with_systemctl
run_test test_uuid_property
run_test test_daemon_status_and_stop
run_test test_daemon_stop_keep_qubes
run_test test_daemon_restart
run_test test_daemon_bad_arguments
run_test test_daemon_stop_call_refused
run_test test_jobs_ls_during_clone
run_test test_jobs_cancel
run_test test_jobs_busy
run_test test_jobs_dispvm_copy_cancel
run_test test_jobs_start_hash
run_test test_jobs_start_hash_cancel
run_test test_jobs_dispvm_launch_fails_after_copy
run_test test_jobs_template_root_copy
run_test test_jobs_template_root_copy_cancel
run_test test_jobs_start_makes_missing_private

summary
