/* Unit tests of src/agent/cmdline.c: the agent's bh.* settings from the
 * kernel command line. Lines are passed with an explicit length and are
 * not always NUL-terminated at that length. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmdline.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *line, struct agent_config *cfg)
{
	/* Garbage in cfg must not matter: the parser sets every field. */
	memset(cfg, 0x5a, sizeof(*cfg));
	return agent_cmdline_parse(line, strlen(line), cfg);
}

static void assert_defaults(const struct agent_config *cfg)
{
	assert_string_equal(cfg->name, "bulkhead");
	assert_string_equal(cfg->port, "bulkhead.control");
	assert_string_equal(cfg->root_dev, "");
	assert_string_equal(cfg->private_dev, "");
	assert_int_equal(cfg->disposable, 0);
	assert_int_equal(cfg->bench_poweroff, 0);
}

static void test_defaults(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("", &cfg), 0);
	assert_defaults(&cfg);
	assert_int_equal(parse("   \n", &cfg), 0);
	assert_defaults(&cfg);
	/* A kernel-only command line, as the daemon's minus our words. */
	assert_int_equal(parse("console=ttyS0 quiet panic=-1 root=/dev/sda1 "
			       "init=/init rw\n",
			       &cfg),
			 0);
	assert_defaults(&cfg);
	/* Zero length: nothing is read, even with text behind it. */
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse("bh.name=x bh.bogus=1", 0, &cfg),
			 0);
	assert_defaults(&cfg);
}

static void test_all_keys(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("console=ttyS0 quiet panic=-1 bh.name=disp42 "
			       "bh.root=/dev/vda bh.private=/dev/vdb "
			       "bh.disposable=1 bh.port=org.bulkhead-ctl_2 "
			       "bh.bench=poweroff bh.trace=1\n",
			       &cfg),
			 0);
	assert_string_equal(cfg.name, "disp42");
	assert_string_equal(cfg.root_dev, "/dev/vda");
	assert_string_equal(cfg.private_dev, "/dev/vdb");
	assert_string_equal(cfg.port, "org.bulkhead-ctl_2");
	assert_int_equal(cfg.disposable, 1);
	assert_int_equal(cfg.bench_poweroff, 1);
	assert_int_equal(cfg.trace, 1);
}

static void test_daemon_line(void **state)
{
	struct agent_config cfg;

	/* Exactly what engine_qemu_argv writes for a disposable. */
	assert_int_equal(parse("console=ttyS0 quiet panic=-1 bh.name=disp7 "
			       "bh.root=/dev/vda bh.disposable=1",
			       &cfg),
			 0);
	assert_string_equal(cfg.name, "disp7");
	assert_string_equal(cfg.root_dev, "/dev/vda");
	assert_string_equal(cfg.private_dev, "");
	assert_string_equal(cfg.port, "bulkhead.control");
	assert_int_equal(cfg.disposable, 1);
	assert_int_equal(cfg.bench_poweroff, 0);
	assert_int_equal(cfg.trace, 0);
}

static void test_unknown_kernel_words(void **state)
{
	struct agent_config cfg;

	/* Words that merely look like ours are the kernel's. */
	assert_int_equal(parse("bh xbh.name=a;b BH.name=$x bhname=1 b.h=2 "
			       "bh.name=ok =bh.x bh",
			       &cfg),
			 0);
	assert_string_equal(cfg.name, "ok");
	assert_string_equal(cfg.port, "bulkhead.control");
}

static void test_unknown_bh_key(void **state)
{
	static const char *const lines[] = {
		"bh.nam=x",
		"bh.names=x",
		"bh.=x",
		"bh.NAME=x",
		"quiet bh.name=ok bh.foo=bar",
		"bh.rootdev=/dev/vda",
		"bh.disposable1=1",
		"bh.name.x=y",
	};
	struct agent_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_LEN(lines); i++) {
		print_message("line: %s\n", lines[i]);
		assert_int_equal(parse(lines[i], &cfg), -EINVAL);
	}
}

static void test_bad_values(void **state)
{
	static const char *const lines[] = {
		"bh.name=a;b",    "bh.name=$x",      "bh.name=a$(id)",
		"bh.name=a`b`",   "bh.name=a|b",     "bh.name=a&b",
		"bh.name=a=b",    "bh.name=a:b",     "bh.name=a\\b",
		"bh.name=a\"b",   "bh.name=a'b",     "bh.name=a*",
		"bh.name=\x1b[2J", "bh.name=a\x7f",  "bh.name=caf\xc3\xa9",
		"bh.root=/dev/vda;reboot",           "bh.private=/dev/vdb>x",
		"bh.port=a,b",    "bh.root=/dev/v~",
	};
	struct agent_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_LEN(lines); i++) {
		print_message("line %zu\n", i);
		assert_int_equal(parse(lines[i], &cfg), -EINVAL);
	}
}

static void test_value_lengths(void **state)
{
	struct agent_config cfg;
	char line[1024], v[200];

	/* 63 characters fit (with the NUL, 64 bytes); 64 do not. */
	memset(v, 'n', 63);
	v[63] = '\0';
	snprintf(line, sizeof(line), "bh.name=%s", v);
	assert_int_equal(parse(line, &cfg), 0);
	assert_int_equal(strlen(cfg.name), 63);
	assert_string_equal(cfg.name, v);

	memset(v, 'n', 64);
	v[64] = '\0';
	snprintf(line, sizeof(line), "bh.name=%s", v);
	assert_int_equal(parse(line, &cfg), -EINVAL);

	memset(v, 'd', 150);
	v[150] = '\0';
	snprintf(line, sizeof(line), "bh.root=%s", v);
	assert_int_equal(parse(line, &cfg), -EINVAL);
	snprintf(line, sizeof(line), "bh.private=%s", v);
	assert_int_equal(parse(line, &cfg), -EINVAL);
	snprintf(line, sizeof(line), "bh.port=%s", v);
	assert_int_equal(parse(line, &cfg), -EINVAL);

	memset(v, 'd', 63);
	v[63] = '\0';
	snprintf(line, sizeof(line), "bh.root=%s bh.private=%s bh.port=%s", v,
		 v, v);
	assert_int_equal(parse(line, &cfg), 0);
	assert_string_equal(cfg.root_dev, v);
	assert_string_equal(cfg.private_dev, v);
	assert_string_equal(cfg.port, v);
}

static void test_empty_value(void **state)
{
	static const char *const lines[] = {
		"bh.name=", "bh.root=", "bh.private=", "bh.port=",
		"quiet bh.name= bh.root=/dev/vda",
	};
	struct agent_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_LEN(lines); i++) {
		print_message("line: %s\n", lines[i]);
		assert_int_equal(parse(lines[i], &cfg), -EINVAL);
	}
}

static void test_key_without_equals(void **state)
{
	static const char *const lines[] = {
		"bh.name", "bh.root", "bh.disposable", "bh.bench",
		"bh.unknown", "quiet bh.name splash",
	};
	struct agent_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_LEN(lines); i++) {
		print_message("line: %s\n", lines[i]);
		assert_int_equal(parse(lines[i], &cfg), -EINVAL);
	}
}

static void test_separators(void **state)
{
	/* /proc/cmdline ends in a newline; some writers use NULs (as in
	 * /proc/PID/cmdline) or tabs. */
	static const char line[] = "quiet\0bh.name=n1\nbh.root=/dev/vda\t"
				   "bh.disposable=1\0\0bh.port=p\n";
	struct agent_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse(line, sizeof(line) - 1, &cfg), 0);
	assert_string_equal(cfg.name, "n1");
	assert_string_equal(cfg.root_dev, "/dev/vda");
	assert_int_equal(cfg.disposable, 1);
	assert_string_equal(cfg.port, "p");
	assert_string_equal(cfg.private_dev, "");
}

static void test_length_is_honoured(void **state)
{
	/* A buffer not NUL-terminated at len: nothing past len is read,
	 * so the bad word after it is never seen and a value is cut. */
	static const char line[] = "bh.name=abcdef bh.bogus=1";
	struct agent_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse(line, 10, &cfg), 0);
	assert_string_equal(cfg.name, "ab");
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse(line, 14, &cfg), 0);
	assert_string_equal(cfg.name, "abcdef");
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse(line, sizeof(line) - 1, &cfg),
			 -EINVAL);
	/* Cut right after '=': an empty value. */
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse(line, 8, &cfg), -EINVAL);
}

static void test_disposable(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("bh.disposable=0", &cfg), 0);
	assert_int_equal(cfg.disposable, 0);
	assert_int_equal(parse("bh.disposable=1", &cfg), 0);
	assert_int_equal(cfg.disposable, 1);
	/* Only exactly "1" makes a disposable. */
	assert_int_equal(parse("bh.disposable=11", &cfg), 0);
	assert_int_equal(cfg.disposable, 0);
	assert_int_equal(parse("bh.disposable=yes", &cfg), 0);
	assert_int_equal(cfg.disposable, 0);
	/* The last word wins. */
	assert_int_equal(parse("bh.disposable=1 bh.disposable=0", &cfg), 0);
	assert_int_equal(cfg.disposable, 0);
	assert_int_equal(parse("bh.disposable=0 bh.disposable=1", &cfg), 0);
	assert_int_equal(cfg.disposable, 1);
}

static void test_bench(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("bh.bench=poweroff", &cfg), 0);
	assert_int_equal(cfg.bench_poweroff, 1);
	assert_int_equal(parse("quiet bh.bench=poweroff\n", &cfg), 0);
	assert_int_equal(cfg.bench_poweroff, 1);
	assert_int_equal(parse("bh.bench=poweroffx", &cfg), 0);
	assert_int_equal(cfg.bench_poweroff, 0);
	assert_int_equal(parse("bh.bench=power", &cfg), 0);
	assert_int_equal(cfg.bench_poweroff, 0);
	assert_int_equal(parse("bh.bench=POWEROFF", &cfg), 0);
	assert_int_equal(cfg.bench_poweroff, 0);
	/* Cut by the length in the middle of "poweroff". */
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(agent_cmdline_parse("bh.bench=poweroff", 12, &cfg),
			 0);
	assert_int_equal(cfg.bench_poweroff, 0);
}

/* bh.init=systemd hands PID 1 over; anything else must stop the boot
 * rather than boot without the init that was asked for. */
static void test_init(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("bh.name=q", &cfg), 0);
	assert_int_equal(cfg.init_systemd, 0);
	assert_int_equal(parse("quiet bh.init=systemd bh.name=q\n", &cfg), 0);
	assert_int_equal(cfg.init_systemd, 1);
	assert_int_equal(parse("bh.init=systemdx", &cfg), -EINVAL);
	assert_int_equal(parse("bh.init=system", &cfg), -EINVAL);
	assert_int_equal(parse("bh.init=SYSTEMD", &cfg), -EINVAL);
	assert_int_equal(parse("bh.init=", &cfg), -EINVAL);
	assert_int_equal(parse("bh.init", &cfg), -EINVAL);
	/* Cut by the length in the middle of "systemd". */
	assert_int_equal(agent_cmdline_parse("bh.init=systemd", 12, &cfg),
			 -EINVAL);
}

static void test_last_wins(void **state)
{
	struct agent_config cfg;

	assert_int_equal(parse("bh.name=first bh.name=second", &cfg), 0);
	assert_string_equal(cfg.name, "second");
	/* A shorter later value leaves nothing of the earlier one. */
	assert_int_equal(parse("bh.port=longportname bh.port=p", &cfg), 0);
	assert_string_equal(cfg.port, "p");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_daemon_line),
		cmocka_unit_test(test_unknown_kernel_words),
		cmocka_unit_test(test_unknown_bh_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_value_lengths),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_key_without_equals),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_length_is_honoured),
		cmocka_unit_test(test_disposable),
		cmocka_unit_test(test_bench),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_last_wins),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("agent_cmdline", tests, NULL, NULL);
}
