/* Unit tests of src/daemon/state/attach_record.c: what a daemon leaves in
 * a qube's runtime folder for the next one reads back as written, and
 * every malformed record is refused rather than half-used (the next
 * daemon then ends the qube instead of re-attaching it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/state/attach_record.h"
#include "lib/util.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bh-attach-rec.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	bh_rm_rf(dir);
	return 0;
}

/* Writes text into the folder's file (ATTACH_RECORD_FILE,
 * DATAPORTS_FILE). */
static void put(const char *file, const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	struct attach_record w = { .persistent = 1 }, r;

	(void)state;
	assert_int_equal(attach_record_write(dir, &w), 0);
	assert_int_equal(attach_record_read(dir, &r), 0);
	assert_int_equal(r.persistent, 1);
	assert_string_equal(r.tmpl_dir, "");
	snprintf(w.tmpl_dir, sizeof(w.tmpl_dir), "/var/lib/bulkhead/templates/t");
	snprintf(w.tmpl_work, sizeof(w.tmpl_work),
		 "/var/lib/bulkhead/templates/t/root-4.img");
	w.persistent = 0;
	assert_int_equal(attach_record_write(dir, &w), 0);
	assert_int_equal(attach_record_read(dir, &r), 0);
	assert_int_equal(r.persistent, 0);
	assert_string_equal(r.tmpl_dir, w.tmpl_dir);
	assert_string_equal(r.tmpl_work, w.tmpl_work);
}

static void test_missing(void **state)
{
	struct attach_record r;

	(void)state;
	assert_int_equal(attach_record_read(dir, &r), -ENOENT);
}

/* A path the record could not read back the same is not written. */
static void test_write_refuses(void **state)
{
	struct attach_record w = { .persistent = 1 };

	(void)state;
	snprintf(w.tmpl_dir, sizeof(w.tmpl_dir), "/a b");
	snprintf(w.tmpl_work, sizeof(w.tmpl_work), "/a b/root-1.img");
	assert_int_equal(attach_record_write(dir, &w), -EINVAL);
	snprintf(w.tmpl_dir, sizeof(w.tmpl_dir), "/a");
	w.tmpl_work[0] = '\0';
	assert_int_equal(attach_record_write(dir, &w), -EINVAL);
	snprintf(w.tmpl_work, sizeof(w.tmpl_work), "/a/x\n");
	assert_int_equal(attach_record_write(dir, &w), -EINVAL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"bulkhead-attach 2\npersistent 1\n",
		"bulkhead-attach 1\n",
		"bulkhead-attach 1\npersistent 2\n",
		"bulkhead-attach 1\npersistent 1",
		"bulkhead-attach 1\npersistent 1\nextra\n",
		"bulkhead-attach 1\npersistent 1\ntmpl /a\n",
		"bulkhead-attach 1\npersistent 1\ntmpl a /a/root-1.img\n",
		"bulkhead-attach 1\npersistent 1\ntmpl /a a/root-1.img\n",
		"bulkhead-attach 1\npersistent 1\ntmpl /a /a/root-1.img",
		"bulkhead-attach 1\npersistent 1\ntmpl  /a/root-1.img\n",
		"bulkhead-attach 1\npersistent 1\ntmpl /a /b /c\n",
		"bulkhead-attach 1\npersistent 1\n\n",
	};
	struct attach_record r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(ATTACH_RECORD_FILE, bad[i]);
		r.persistent = 7;
		if (attach_record_read(dir, &r) != -EPROTO)
			fail_msg("accepted record %zu: %s", i, bad[i]);
		assert_int_equal(r.persistent, 0);
	}
	put(ATTACH_RECORD_FILE,
	    "bulkhead-attach 1\npersistent 1\ntmpl /a /a/root-1.img\n");
	assert_int_equal(attach_record_read(dir, &r), 0);
	assert_string_equal(r.tmpl_work, "/a/root-1.img");
}

static void test_paused(void **state)
{
	(void)state;
	assert_int_equal(attach_record_paused(dir), 0);
	assert_int_equal(attach_record_set_paused(dir, 1), 0);
	assert_int_equal(attach_record_paused(dir), 1);
	assert_int_equal(attach_record_set_paused(dir, 1), 0);
	assert_int_equal(attach_record_set_paused(dir, 0), 0);
	assert_int_equal(attach_record_paused(dir), 0);
	assert_int_equal(attach_record_set_paused(dir, 0), 0);
}

/* The data ports plugged into a qube's QEMU: written, read back, and no
 * file once there is none. */
static void test_ports_round_trip(void **state)
{
	static const uint32_t w[ATTACH_PORTS_MAX] = { 1, 999999, 42, 7 };
	uint32_t r[ATTACH_PORTS_MAX];
	char path[PATH_MAX + 32];
	size_t k;

	(void)state;
	assert_int_equal(attach_record_read_ports(dir, r, &k), 0);
	assert_int_equal(k, 0);
	assert_int_equal(attach_record_write_ports(dir, w, ATTACH_PORTS_MAX), 0);
	assert_int_equal(attach_record_read_ports(dir, r, &k), 0);
	assert_int_equal(k, ATTACH_PORTS_MAX);
	assert_memory_equal(r, w, sizeof(w));
	assert_int_equal(attach_record_write_ports(dir, w + 2, 1), 0);
	assert_int_equal(attach_record_read_ports(dir, r, &k), 0);
	assert_int_equal(k, 1);
	assert_int_equal(r[0], 42);
	assert_int_equal(attach_record_write_ports(dir, w, 0), 0);
	snprintf(path, sizeof(path), "%s/" DATAPORTS_FILE, dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(attach_record_write_ports(dir, w, 0), 0);
}

static void test_ports_write_refuses(void **state)
{
	static const uint32_t zero[] = { 0 }, big[] = { 1000000 },
			      five[] = { 1, 2, 3, 4, 5 };

	(void)state;
	assert_int_equal(attach_record_write_ports(dir, zero, 1), -EINVAL);
	assert_int_equal(attach_record_write_ports(dir, big, 1), -EINVAL);
	assert_int_equal(attach_record_write_ports(dir, five, 5), -EINVAL);
}

static void test_ports_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"bulkhead-dataports 2\n1\n",
		"bulkhead-dataports 1\n\n",
		"bulkhead-dataports 1\n0\n",
		"bulkhead-dataports 1\n01\n",
		"bulkhead-dataports 1\n-1\n",
		"bulkhead-dataports 1\n+1\n",
		"bulkhead-dataports 1\n 1\n",
		"bulkhead-dataports 1\n1 \n",
		"bulkhead-dataports 1\n1",
		"bulkhead-dataports 1\n1000000\n",
		"bulkhead-dataports 1\n99999999999\n",
		"bulkhead-dataports 1\n4294967297\n",
		"bulkhead-dataports 1\nx\n",
		"bulkhead-dataports 1\n3\n3\n",
		"bulkhead-dataports 1\n1\n2\n3\n4\n5\n",
	};
	uint32_t r[ATTACH_PORTS_MAX];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(DATAPORTS_FILE, bad[i]);
		k = 9;
		if (attach_record_read_ports(dir, r, &k) != -EPROTO)
			fail_msg("accepted port record %zu: %s", i, bad[i]);
		assert_int_equal(k, 0);
	}
	put(DATAPORTS_FILE, "bulkhead-dataports 1\n999999\n1\n");
	assert_int_equal(attach_record_read_ports(dir, r, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(r[0], 999999);
	assert_int_equal(r[1], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_refuses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ports_write_refuses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ports_malformed, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
