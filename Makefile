# Bulkhead build. Plain GNU Make: the project is a handful of C programs,
# every machine we target has make, and a flat Makefile (as kvmtool and
# qrexec use) shows every flag in one place.
#
#   make               build bh, bulkheadd, bh-agent into build/
#   make unit          build the cmocka unit tests, plain and ASan+UBSan
#   make fuzz          build the libFuzzer targets (clang)
#   make install       install under $(DESTDIR)$(PREFIX)
#   make install-systemd  only bulkheadd.service (in SYSTEMD_UNIT_DIR) and
#                      its ExecStop helper; part of install

CC      ?= gcc
CLANG   ?= clang
PREFIX  ?= /usr/local
# The RPC policy (docs/policy.md): 90-default.policy is ours and replaced
# on every install; 30-user.policy is the administrator's, made once.
POLICY_DIR ?= /etc/bulkhead/policy.d
# bulkheadd.service (etc/systemd/bulkheadd.service.in, its paths filled
# in from PREFIX). systemd reads /usr/local/lib/systemd/system; with
# another PREFIX, set this to a folder on its unit path.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
B       := build

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wvla -Wstrict-prototypes \
           -Wmissing-prototypes -Wshadow -Wno-unused-parameter
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(HARDEN) -Isrc $(CFLAGS)
LDHARDEN := -pie -Wl,-z,relro,-z,now
# libseccomp and libcap-ng confine the daemon's own processes (sandbox.c).
# The channel process: QMP's JSON, its seccomp filter, its ids.
CHAN_LIBS := $(shell pkg-config --libs jansson libseccomp libcap-ng 2>/dev/null || echo -ljansson -lseccomp -lcap-ng)
DAEMON_LIBS := $(shell pkg-config --libs jansson libsodium sqlite3 libseccomp libcap-ng 2>/dev/null || echo -ljansson -lsodium -lsqlite3 -lseccomp -lcap-ng)

# bh needs jansson (bh ls --format json) and libsodium (bh copy's
# checksum).
BH_LIBS := $(shell pkg-config --libs jansson libsodium 2>/dev/null || echo -ljansson -lsodium)

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer

LIB_SRC    := $(wildcard src/lib/*.c)
PROTO_SRC  := $(wildcard src/proto/*.c)
AGENT_SRC  := $(wildcard src/agent/*.c)
# The daemon's subfolders are layers (src/daemon/LAYERS); main.c, alone
# in the top folder, is above them all.
DAEMON_SRC := $(wildcard src/daemon/*.c src/daemon/*/*.c)
CLI_SRC    := $(wildcard src/cli/*.c)
# A qube's channel process: the relay, and of the daemon's files only the
# sandbox and the capped logs.
CHAN_SRC   := $(wildcard src/chan/*.c) src/daemon/engine/sandbox.c \
              src/daemon/engine/console_log.c
GUEST_SRC  := $(wildcard src/guest/*.c)

# Objects of each program minus its main(), so unit tests can link them.
AGENT_LIB_SRC  := $(filter-out src/agent/main.c,$(AGENT_SRC))
DAEMON_LIB_SRC := $(filter-out src/daemon/main.c,$(DAEMON_SRC))
CLI_LIB_SRC    := $(filter-out src/cli/main.c,$(CLI_SRC))
CHAN_LIB_SRC   := $(filter-out src/chan/main.c,$(wildcard src/chan/*.c))
GUEST_MAINS    := src/guest/bh_copy.c src/guest/bh_filecopy_recv.c \
                  src/guest/bh_call.c src/guest/bh_open_in_dvm.c \
                  src/guest/bh_openinvm_serve.c
# The calling side of the call socket, only for the guest tools that call
# (bh-call, bh-open-in-dvm): the others link no proto code.
GUEST_CALL_SRC := src/guest/call_client.c
GUEST_LIB_SRC  := $(filter-out $(GUEST_MAINS) $(GUEST_CALL_SRC),$(GUEST_SRC))
# Guest tools are static-pie like the agent, libsodium included.
GUEST_LIBS := $(shell pkg-config --static --libs libsodium 2>/dev/null || echo -l:libsodium.a -pthread)

obj = $(patsubst src/%.c,$(B)/obj/%.o,$(1))
san = $(patsubst src/%.c,$(B)/san/%.o,$(1))

PROGS := $(B)/bh $(B)/bulkheadd $(B)/bulkhead-chan $(B)/bh-agent
GUEST_PROGS := $(B)/bh-copy $(B)/bh-filecopy-recv $(B)/bh-call \
               $(B)/bh-open-in-dvm $(B)/bh-openinvm-serve

.PHONY: all unit fuzz hostile install install-systemd clean
all: $(B)/daemon-layers.ok $(PROGS) $(GUEST_PROGS)

# The build fails on an include that goes up the daemon's layers or round
# in a circle (src/daemon/LAYERS).
$(B)/daemon-layers.ok: tools/check-daemon-layers.py src/daemon/LAYERS \
		       $(wildcard src/daemon/*.[ch] src/daemon/*/*.[ch])
	@mkdir -p $(dir $@)
	python3 tools/check-daemon-layers.py --self-test
	python3 tools/check-daemon-layers.py src
	@touch $@

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# bh checks volume sizes before asking the daemon (volume_parse_size)
# and packs files for bh copy as a qube's bh-copy does.
$(B)/bh: $(call obj,$(CLI_SRC) $(LIB_SRC) $(PROTO_SRC) src/daemon/disk/volume.c \
		    $(GUEST_LIB_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ $(BH_LIBS)

$(B)/bulkheadd: $(call obj,$(DAEMON_SRC) $(LIB_SRC) $(PROTO_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ $(DAEMON_LIBS)

$(B)/bulkhead-chan: $(call obj,$(CHAN_SRC) $(LIB_SRC) $(PROTO_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ $(CHAN_LIBS)

# The agent is PID 1 in an initramfs with no libc of its own: static-pie.
$(B)/bh-agent: $(call obj,$(AGENT_SRC) $(LIB_SRC) $(PROTO_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^

$(B)/bh-copy: $(call obj,src/guest/bh_copy.c $(GUEST_LIB_SRC) $(LIB_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^ $(GUEST_LIBS)

$(B)/bh-filecopy-recv: $(call obj,src/guest/bh_filecopy_recv.c $(GUEST_LIB_SRC) $(LIB_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^ $(GUEST_LIBS)

# bh-call needs only the call socket and request code.
$(B)/bh-call: $(call obj,src/guest/bh_call.c $(GUEST_CALL_SRC) \
		$(PROTO_SRC) $(LIB_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^

$(B)/bh-open-in-dvm: $(call obj,src/guest/bh_open_in_dvm.c $(GUEST_CALL_SRC) \
		$(GUEST_LIB_SRC) $(PROTO_SRC) $(LIB_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^ $(GUEST_LIBS)

$(B)/bh-openinvm-serve: $(call obj,src/guest/bh_openinvm_serve.c \
		$(GUEST_LIB_SRC) $(LIB_SRC))
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^ $(GUEST_LIBS)

# ---- unit tests (cmocka), each built twice: plain and ASan+UBSan ----
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
UNIT_BINS := $(addprefix $(B)/unit/,$(UNIT_NAMES)) \
             $(addprefix $(B)/unit-san/,$(UNIT_NAMES))
UNIT_DEPS_SRC := $(LIB_SRC) $(PROTO_SRC) $(AGENT_LIB_SRC) $(DAEMON_LIB_SRC) \
                 $(CLI_LIB_SRC) $(GUEST_LIB_SRC) $(CHAN_LIB_SRC)

unit: $(UNIT_BINS)

# test_chan_reattach runs the real channel process (build/bulkhead-chan).
$(B)/unit/test_chan_reattach $(B)/unit-san/test_chan_reattach: | $(B)/bulkhead-chan

# The helpers the tests share (tests/unit/*.h): a test is built again
# when one changes.
UNIT_HDRS := $(wildcard tests/unit/*.h)

$(B)/unit/%: tests/unit/%.c $(call obj,$(UNIT_DEPS_SRC)) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDHARDEN) -o $@ \
		$(filter-out %.h,$^) -lcmocka $(DAEMON_LIBS)

$(B)/unit-san/%: tests/unit/%.c $(call san,$(UNIT_DEPS_SRC)) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ \
		$(filter-out %.h,$^) -lcmocka $(DAEMON_LIBS)

# ---- libFuzzer targets (clang) ----
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -g -O1 \
               -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz: $(FUZZ_BINS)

$(B)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(UNIT_DEPS_SRC) \
	      $(wildcard src/*/*.h src/daemon/*/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(DAEMON_LIBS)

# ---- test programs ----
# fake-qemu stands in for QEMU and a hostile guest in tests/hostile: the
# daemon starts it jailed, so it is static like the agent.
HOSTILE_BINS := $(B)/tests/fake-qemu
hostile: $(HOSTILE_BINS)

$(B)/tests/fake-qemu: $(B)/obj/tests/hostile/fake_qemu.o \
		      $(call obj,$(PROTO_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $^

$(B)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# ---- install ----
# The unit names the installed programs, so it is made for PREFIX: made
# again at every install (FORCE), replaced only when PREFIX changed it.
$(B)/systemd/bulkheadd.service: etc/systemd/bulkheadd.service.in FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' \
	     -e 's|@BINDIR@|$(PREFIX)/bin|g' \
	     -e 's|@PKGLIBDIR@|$(PREFIX)/lib/bulkhead|g' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# Only files: nothing is enabled or started (./setup reloads systemd
# where it is PID 1).
install-systemd: $(B)/systemd/bulkheadd.service
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(PREFIX)/lib/bulkhead
	install -m 644 $(B)/systemd/bulkheadd.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/
	install -m 755 etc/systemd/bulkheadd-stop $(DESTDIR)$(PREFIX)/lib/bulkhead/

install: all install-systemd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/lib/bulkhead \
		$(DESTDIR)$(PREFIX)/share/bulkhead/guest \
		$(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(B)/bh $(DESTDIR)$(PREFIX)/bin/bh
	install -m 755 $(B)/bulkheadd $(DESTDIR)$(PREFIX)/sbin/bulkheadd
	install -m 755 $(B)/bh-agent $(DESTDIR)$(PREFIX)/lib/bulkhead/bh-agent
	install -m 755 $(B)/bulkhead-chan $(DESTDIR)$(PREFIX)/lib/bulkhead/bulkhead-chan
	install -d $(DESTDIR)$(PREFIX)/lib/bulkhead/guest-tools
	install -m 755 $(GUEST_PROGS) $(DESTDIR)$(PREFIX)/lib/bulkhead/guest-tools/
	install -m 755 guest/build-guest $(DESTDIR)$(PREFIX)/sbin/bh-build-guest
	install -m 755 guest/build-template $(DESTDIR)$(PREFIX)/sbin/bh-build-template
	install -m 644 guest/template-lib.sh $(DESTDIR)$(PREFIX)/share/bulkhead/guest/template-lib.sh
	install -d $(DESTDIR)$(POLICY_DIR)
	install -m 644 etc/policy.d/90-default.policy $(DESTDIR)$(POLICY_DIR)/
	test -e $(DESTDIR)$(POLICY_DIR)/30-user.policy || \
		install -m 644 etc/policy.d/30-user.policy $(DESTDIR)$(POLICY_DIR)/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 completion/bh.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/bh

clean:
	rm -rf $(B)

FORCE:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
