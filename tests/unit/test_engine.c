/* Unit tests of src/daemon/engine/engine_qemu.c without QEMU: the argument vector
 * engine_qemu_argv builds, and engine_choose_accel against a fake
 * /sys/module folder and a fake /dev/kvm. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/engine/engine.h"
#include "lib/util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ARGV_CAP 128
#define STORE_CAP 16384

struct built {
	char *argv[ARGV_CAP];
	char store[STORE_CAP];
	size_t argc;
};

static struct qube_spec base_spec(void)
{
	struct qube_spec s;

	memset(&s, 0, sizeof(s));
	s.name = "disp42";
	s.kernel = "/var/lib/bulkhead/kernels/current/vmlinuz";
	s.initramfs = "/var/lib/bulkhead/kernels/current/initramfs.img";
	s.root_img = "/var/lib/bulkhead/templates/minimal/root.img";
	s.memory_mb = 256;
	s.vcpus = 1;
	s.disposable = 1;
	return s;
}

static int build(struct built *b, const struct qube_spec *s,
		 enum engine_accel accel, int chan_fd, int qmp_fd)
{
	const struct engine_fds fds = { chan_fd, qmp_fd, 5 };
	int r;
	size_t i;

	/* Poison: whatever the builder did not write must not be read. */
	for (i = 0; i < ARGV_CAP; i++)
		b->argv[i] = (char *)(uintptr_t)0x1;
	memset(b->store, 'Z', sizeof(b->store));
	r = engine_qemu_argv("/usr/bin/qemu-system-x86_64", s, accel, &fds,
			     b->argv, ARGV_CAP, b->store,
			     sizeof(b->store));
	if (r == 0) {
		for (b->argc = 0; b->argc < ARGV_CAP; b->argc++)
			if (!b->argv[b->argc])
				break;
		/* NULL-terminated within the array. */
		assert_true(b->argc < ARGV_CAP);
		for (i = 0; i < b->argc; i++) {
			assert_true(b->argv[i] >= b->store &&
				    b->argv[i] < b->store + sizeof(b->store));
			assert_non_null(memchr(b->argv[i], '\0',
					       (size_t)(b->store +
							sizeof(b->store) -
							b->argv[i])));
		}
	}
	return r;
}

/* Index of the first `opt` followed by `val` (val NULL: opt alone), or -1. */
static int find_pair(const struct built *b, const char *opt, const char *val)
{
	size_t i;

	for (i = 0; i < b->argc; i++) {
		if (strcmp(b->argv[i], opt))
			continue;
		if (!val)
			return (int)i;
		if (i + 1 < b->argc && !strcmp(b->argv[i + 1], val))
			return (int)i;
	}
	return -1;
}

static void assert_pair(const struct built *b, const char *opt,
			const char *val)
{
	if (find_pair(b, opt, val) < 0)
		fail_msg("argv lacks \"%s\" \"%s\"", opt, val ? val : "");
}

/* How many times opt is followed by a value containing `sub`. */
static int count_opt_containing(const struct built *b, const char *opt,
				const char *sub)
{
	size_t i;
	int n = 0;

	for (i = 0; i + 1 < b->argc; i++)
		if (!strcmp(b->argv[i], opt) && strstr(b->argv[i + 1], sub))
			n++;
	return n;
}

static const char *value_of(const struct built *b, const char *opt)
{
	int i = find_pair(b, opt, NULL);

	assert_true(i >= 0);
	assert_true((size_t)i + 1 < b->argc);
	return b->argv[i + 1];
}

/* Whole words of the kernel command line. */
static int has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p = line;

	while ((p = strstr(p, word))) {
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
		p++;
	}
	return 0;
}

static void test_argv_tcg(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();
	const char *append;

	assert_non_null(b);
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_string_equal(b->argv[0], "/usr/bin/qemu-system-x86_64");
	assert_pair(b, "-M", "microvm,acpi=on");
	assert_pair(b, "-accel", "tcg,tb-size=128");
	assert_pair(b, "-cpu", "max");
	assert_pair(b, "-m", "256M");
	assert_pair(b, "-smp", "1");
	assert_pair(b, "-nodefaults", NULL);
	assert_pair(b, "-no-user-config", NULL);
	assert_pair(b, "-no-reboot", NULL);
	assert_pair(b, "-display", "none");
	assert_pair(b, "-kernel", s.kernel);
	assert_pair(b, "-initrd", s.initramfs);
	assert_int_equal(find_pair(b, "-accel", "kvm"), -1);
	assert_int_equal(find_pair(b, "-cpu", "host"), -1);

	append = value_of(b, "-append");
	assert_true(has_word(append, "bh.name=disp42"));
	assert_true(has_word(append, "bh.root=/dev/vda"));
	assert_true(has_word(append, "bh.disposable=1"));
	assert_null(strstr(append, "bh.private"));
	assert_true(has_word(append, "console=ttyS0"));

	/* The root drive, read-only, and exactly one drive. */
	assert_int_equal(count_opt_containing(b, "-drive", "readonly=on"), 1);
	assert_int_equal(count_opt_containing(b, "-drive", s.root_img), 1);
	assert_int_equal(count_opt_containing(b, "-drive", "file="), 1);
	assert_int_equal(count_opt_containing(b, "-drive",
					      "id=root,file=/var/lib/bulkhead/"
					      "templates/minimal/root.img,"),
			 1);
	assert_pair(b, "-device", "virtio-blk-device,drive=root");

	assert_pair(b, "-device",
		    "virtserialport,chardev=control,name=bulkhead.control");
	assert_pair(b, "-chardev", "socket,id=control,fd=3");
	assert_pair(b, "-chardev", "socket,id=qmp,fd=4");
	assert_pair(b, "-mon", "chardev=qmp,mode=control");
	/* QEMU's own seccomp filter, as the jail expects. */
	assert_pair(b, "-sandbox",
		    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
		    "resourcecontrol=deny");
	assert_pair(b, "-device", "virtio-serial-device,max_ports=6");
	assert_int_equal(count_opt_containing(b, "-device", "virtio-rng-device"),
			 1);
	/* The console goes to the daemon, which bounds its log. */
	assert_pair(b, "-chardev", "socket,id=console,fd=5");
	assert_pair(b, "-serial", "chardev:console");
	free(b);
}

static void test_argv_fds_and_size(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();

	assert_non_null(b);
	s.memory_mb = 1024;
	s.vcpus = 4;
	s.disposable = 0;
	assert_int_equal(build(b, &s, ACCEL_TCG, 17, 23), 0);
	assert_pair(b, "-chardev", "socket,id=control,fd=17");
	assert_pair(b, "-chardev", "socket,id=qmp,fd=23");
	assert_pair(b, "-m", "1024M");
	assert_pair(b, "-smp", "4");
	assert_null(strstr(value_of(b, "-append"), "bh.disposable"));
	free(b);
}

static void test_argv_private(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();
	const char *append;

	assert_non_null(b);
	s.private_img = "/var/lib/bulkhead/qubes/work/private.img";
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_int_equal(count_opt_containing(b, "-drive", "file="), 2);
	assert_int_equal(count_opt_containing(b, "-drive", "readonly=on"), 1);
	assert_int_equal(count_opt_containing(b, "-drive", s.private_img), 1);
	/* The private drive is the one that is writable. */
	for (size_t i = 0; i + 1 < b->argc; i++)
		if (!strcmp(b->argv[i], "-drive") &&
		    strstr(b->argv[i + 1], s.private_img))
			assert_null(strstr(b->argv[i + 1], "readonly"));
	assert_pair(b, "-device", "virtio-blk-device,drive=private");
	/* The root drive comes first, so that it is /dev/vda. */
	assert_true(find_pair(b, "-device", "virtio-blk-device,drive=root") <
		    find_pair(b, "-device", "virtio-blk-device,drive=private"));
	append = value_of(b, "-append");
	assert_true(has_word(append, "bh.private=/dev/vdb"));
	assert_true(has_word(append, "bh.root=/dev/vda"));
	free(b);
}

/* A persistent qube's own root, and its kernelopts before our settings
 * (the agent takes the last value of a key, so bh.* win). */
static void test_argv_rootrw_kernelopts(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();
	const char *append, *opt, *ours;

	assert_non_null(b);
	s.disposable = 0;
	s.root_writable = 1;
	s.kernelopts = "bh.name=spoof mitigations=off";
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_int_equal(count_opt_containing(b, "-drive", "readonly=on"), 0);
	append = value_of(b, "-append");
	assert_true(has_word(append, "bh.rootrw=1"));
	assert_true(has_word(append, "mitigations=off"));
	assert_null(strstr(append, "bh.disposable"));
	opt = strstr(append, "bh.name=spoof");
	ours = strstr(append, "bh.name=disp42");
	assert_non_null(opt);
	assert_non_null(ours);
	assert_true(opt < ours);
	free(b);
}

static void test_argv_kvm(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();

	assert_non_null(b);
	assert_int_equal(build(b, &s, ACCEL_KVM, 3, 4), 0);
	assert_pair(b, "-accel", "kvm");
	assert_pair(b, "-cpu", "host");
	assert_int_equal(find_pair(b, "-accel", "tcg,tb-size=128"), -1);
	assert_int_equal(find_pair(b, "-cpu", "max"), -1);
	free(b);
}

static void test_argv_bad_paths(void **state)
{
	struct built *b = malloc(sizeof(*b));
	static const char *const bad[] = {
		"/var/lib/a,b/vmlinuz",
		"/x,readonly=off",
		"relative/path",
		"vmlinuz",
		"./vmlinuz",
		"",
	};
	size_t i, field;

	assert_non_null(b);
	for (field = 0; field < 4; field++) {
		for (i = 0; i < ARRAY_LEN(bad); i++) {
			struct qube_spec s = base_spec();

			switch (field) {
			case 0: s.kernel = bad[i]; break;
			case 1: s.initramfs = bad[i]; break;
			case 2: s.root_img = bad[i]; break;
			case 3: s.private_img = bad[i]; break;
			}
			print_message("field %zu path \"%s\"\n", field, bad[i]);
			assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4),
					 -EINVAL);
		}
	}
	{
		struct qube_spec s = base_spec();

		s.kernel = NULL;
		assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), -EINVAL);
	}
	free(b);
}

/* A restore: paused (-S), the stream loaded later over QMP (-incoming
 * defer), MIGRATION events on, and the snapshot's name on the kernel
 * command line while -name keeps the new qube's. */
static void test_argv_restore(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();
	const char *append;

	(void)state;
	assert_non_null(b);
	s.restore_fd = 9;
	s.cmdline_name = "disp7";
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_pair(b, "-S", NULL);
	assert_pair(b, "-incoming", "defer");
	assert_pair(b, "-global", "migration.x-events=on");
	assert_pair(b, "-name", "disp42,debug-threads=on");
	append = value_of(b, "-append");
	assert_true(has_word(append, "bh.name=disp7"));
	assert_false(has_word(append, "bh.name=disp42"));
	assert_string_equal(ENGINE_RESTORE_URI, "fd:6");
	free(b);
}

/* A cold boot has none of it; a persistent qube no migration events. */
static void test_argv_cold_no_incoming(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();

	(void)state;
	assert_non_null(b);
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_int_equal(find_pair(b, "-S", NULL), -1);
	assert_int_equal(find_pair(b, "-incoming", NULL), -1);
	assert_true(has_word(value_of(b, "-append"), "bh.name=disp42"));
	s.disposable = 0;
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), 0);
	assert_int_equal(find_pair(b, "-global", "migration.x-events=on"),
			 -1);
	free(b);
}

/* The snapshot's name goes into the kernel command line: the same rule
 * as the qube's own name. */
static void test_argv_restore_bad_cmdline_name(void **state)
{
	struct built *b = malloc(sizeof(*b));
	struct qube_spec s = base_spec();

	(void)state;
	assert_non_null(b);
	s.restore_fd = 9;
	s.cmdline_name = "disp7 init=/bin/sh";
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), -EINVAL);
	s.cmdline_name = "";
	assert_int_equal(build(b, &s, ACCEL_TCG, 3, 4), -EINVAL);
	free(b);
}

static const struct engine_fds fds345 = { 3, 4, 5 };

static void test_argv_small_buffers(void **state)
{
	struct qube_spec s = base_spec();
	char *argv[ARGV_CAP], store[STORE_CAP], tiny[16];
	size_t need_argc, need_store, cap;
	int r;

	/* The sizes it really needs. */
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  ARGV_CAP, store, sizeof(store)),
			 0);
	for (need_argc = 0; argv[need_argc]; need_argc++)
		;
	need_store = (size_t)(argv[need_argc - 1] - store) +
		     strlen(argv[need_argc - 1]) + 1;

	memset(tiny, 'Z', sizeof(tiny));
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  ARGV_CAP, tiny, sizeof(tiny)),
			 -E2BIG);
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  ARGV_CAP, store, need_store - 1),
			 -E2BIG);
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  ARGV_CAP, store, need_store),
			 0);
	/* argv needs room for the NULL. */
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  need_argc, store, sizeof(store)),
			 -E2BIG);
	assert_int_equal(engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv,
					  need_argc + 1, store, sizeof(store)),
			 0);
	assert_null(argv[need_argc]);
	/* Every smaller capacity fails cleanly (ASan checks the writes). */
	for (cap = 1; cap < need_argc; cap++) {
		char **v = calloc(cap, sizeof(*v));

		assert_non_null(v);
		r = engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, v, cap, store,
				     sizeof(store));
		assert_int_equal(r, -E2BIG);
		free(v);
	}
	for (cap = 1; cap < need_store; cap += 37) {
		char *st = malloc(cap);

		assert_non_null(st);
		r = engine_qemu_argv("/q", &s, ACCEL_TCG, &fds345, argv, ARGV_CAP,
				     st, cap);
		assert_int_equal(r, -E2BIG);
		free(st);
	}
}

/* ---- engine_choose_accel ---- */

struct accel_fx {
	char dir[64];     /* fake /sys/module */
	char kvm[96];     /* fake /dev/kvm, a plain file */
	char missing[96]; /* a path that does not exist */
};

static int accel_setup(void **state)
{
	struct accel_fx *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/bh-test-sysmod-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->kvm, sizeof(f->kvm), "%s-kvm", f->dir);
	fd = open(f->kvm, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(f->missing, sizeof(f->missing), "%s/no-such-kvm", f->dir);
	unsetenv("BULKHEAD_ACCEL");
	*state = f;
	return 0;
}

static int accel_teardown(void **state)
{
	struct accel_fx *f = *state;

	unsetenv("BULKHEAD_ACCEL");
	bh_rm_rf(f->dir);
	unlink(f->kvm);
	free(f);
	return 0;
}

static void add_module(struct accel_fx *f, const char *name)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void choose(struct accel_fx *f, const char *dev,
		   struct engine_accel_choice *c)
{
	memset(c, 0x5a, sizeof(*c));
	engine_choose_accel(f->dir, dev, c);
	/* why is always a terminated, non-empty string. */
	assert_non_null(memchr(c->why, '\0', sizeof(c->why)));
	assert_true(c->why[0] != '\0');
}

static void test_accel_empty_dir(void **state)
{
	struct accel_fx *f = *state;
	struct engine_accel_choice c;

	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_TCG);
	assert_non_null(strstr(c.why, "kvm_intel"));
	/* A kvm module that is not hardware virtualization is no reason. */
	add_module(f, "kvm");
	add_module(f, "kvm_pvm");
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_TCG);
}

static void test_accel_intel(void **state)
{
	struct accel_fx *f = *state;
	struct engine_accel_choice c;

	add_module(f, "kvm");
	add_module(f, "kvm_intel");
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_KVM);
}

static void test_accel_amd(void **state)
{
	struct accel_fx *f = *state;
	struct engine_accel_choice c;

	add_module(f, "kvm_amd");
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_KVM);
}

static void test_accel_no_dev_kvm(void **state)
{
	struct accel_fx *f = *state;
	struct engine_accel_choice c;

	add_module(f, "kvm_intel");
	choose(f, f->missing, &c);
	assert_int_equal(c.accel, ACCEL_TCG);
	assert_non_null(strstr(c.why, f->missing));
}

static void test_accel_forced(void **state)
{
	struct accel_fx *f = *state;
	struct engine_accel_choice c;
	char intel[160];

	add_module(f, "kvm_intel");
	snprintf(intel, sizeof(intel), "%s/kvm_intel", f->dir);
	assert_int_equal(setenv("BULKHEAD_ACCEL", "tcg", 1), 0);
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_TCG);
	assert_non_null(strstr(c.why, "BULKHEAD_ACCEL"));

	/* kvm forces KVM without the modules, but still needs /dev/kvm. */
	assert_int_equal(setenv("BULKHEAD_ACCEL", "kvm", 1), 0);
	assert_int_equal(rmdir(intel), 0);
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_KVM);
	choose(f, f->missing, &c);
	assert_int_equal(c.accel, ACCEL_TCG);

	unsetenv("BULKHEAD_ACCEL");
	choose(f, f->kvm, &c);
	assert_int_equal(c.accel, ACCEL_TCG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_tcg),
		cmocka_unit_test(test_argv_fds_and_size),
		cmocka_unit_test(test_argv_private),
		cmocka_unit_test(test_argv_rootrw_kernelopts),
		cmocka_unit_test(test_argv_kvm),
		cmocka_unit_test(test_argv_bad_paths),
		cmocka_unit_test(test_argv_small_buffers),
		cmocka_unit_test(test_argv_restore),
		cmocka_unit_test(test_argv_cold_no_incoming),
		cmocka_unit_test(test_argv_restore_bad_cmdline_name),
#define T(fn) cmocka_unit_test_setup_teardown(fn, accel_setup, accel_teardown)
		T(test_accel_empty_dir),
		T(test_accel_intel),
		T(test_accel_amd),
		T(test_accel_no_dev_kvm),
		T(test_accel_forced),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
