/* Unit tests of the admin handlers (src/daemon/admin*.c): calls encoded as
 * bh sends them, run by admin_call on a fresh store in a temporary folder
 * opened as the daemon opens it (store_boot). Statuses and reply texts are
 * what bh shows, so they are pinned here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/admin.h"
#include "daemon/store_boot.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

struct fx {
	char dir[PATH_MAX];
	struct store *s;
	struct admin_reply r;
};

static const struct prop_limits limits = { .mem_mib = 4096, .cpus = 4 };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[STORE_ERR_MAX];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/bh-test-admin.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_boot(f->dir, &f->s, err, sizeof(err)), 0);
	store_set_limits(f->s, &limits);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	bh_rm_rf(f->dir);
	free(f);
	return 0;
}

/* One call; the reply text is in f->r. */
static unsigned call(struct fx *f, const char *method, const char *dest,
		     const char *arg, const char *body)
{
	uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	int n = bh_admin_call_encode(buf, sizeof(buf), method, dest, arg, body,
				     body ? strlen(body) : 0);

	assert_true(n > 0);
	return admin_call(f->s, f->dir, buf, (uint32_t)n, &f->r);
}

static void test_minimal_registered(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.vm.List", "", "", NULL), 0);
	assert_string_equal(f->r.text, "minimal class=TemplateVM state=Halted "
				       "label=black template=-\n");
}

static void test_create_list_remove(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "work", "minimal",
			      "label=red memory=512 kernelopts=a%20b"),
			 0);
	assert_int_equal(call(f, "admin.vm.List", "work", "", NULL), 0);
	assert_string_equal(f->r.text, "work class=AppVM state=Halted "
				       "label=red template=minimal\n");
	assert_int_equal(call(f, "admin.vm.property.Get", "work", "kernelopts",
			      NULL),
			 0);
	assert_string_equal(f->r.text, "default=False type=str a b");
	assert_int_equal(call(f, "admin.vm.Remove", "work", "", NULL), 0);
	assert_int_equal(call(f, "admin.vm.List", "work", "", NULL),
			 BH_ADMIN_NOSUCH);
}

/* Each refusal leaves the list as it was. */
static void test_create_refusals(void **state)
{
	struct fx *f = *state;
	static char before[sizeof(f->r.text)];

	assert_int_equal(call(f, "admin.vm.List", "", "", NULL), 0);
	memcpy(before, f->r.text, sizeof(before));
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "minimal", ""),
			 BH_ADMIN_INVALID); /* no label */
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "nosuch",
			      "label=red"),
			 BH_ADMIN_INVALID);
	/* A new install defaults to the built-in template... */
	assert_int_equal(call(f, "admin.property.Get", "", "default_template",
			      NULL),
			 0);
	assert_non_null(strstr(f->r.text, "minimal"));
	/* ...and without one, a template must be named. */
	assert_int_equal(call(f, "admin.property.Reset", "",
			      "default_template", NULL),
			 0);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "",
			      "label=red"),
			 BH_ADMIN_INVALID); /* no default_template */
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "minimal",
			      "label=red memory=8192"),
			 BH_ADMIN_INVALID); /* over the host's 4096 */
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "minimal",
			      "label=red nosuch=1"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "minimal",
			      "label=red memory=%zz"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "x", "minimal",
			      "label=red memory=%00"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "minimal", "minimal",
			      "label=red"),
			 BH_ADMIN_REFUSED);
	assert_int_equal(call(f, "admin.vm.Create.TemplateVM", "t", "",
			      "label=red"),
			 BH_ADMIN_REFUSED);
	assert_non_null(strstr(f->r.text, "needs volume support"));
	assert_int_equal(call(f, "admin.vm.Create.StandaloneVM", "t", "",
			      "label=red"),
			 BH_ADMIN_REFUSED);
	assert_int_equal(call(f, "admin.vm.List", "", "", NULL), 0);
	assert_string_equal(f->r.text, before);
}

static void test_remove_refusals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.vm.Remove", "minimal", "", NULL),
			 BH_ADMIN_REFUSED);
	assert_non_null(strstr(f->r.text, "built-in"));
	assert_int_equal(call(f, "admin.vm.Remove", "nosuch", "", NULL),
			 BH_ADMIN_NOSUCH);
	assert_int_equal(call(f, "admin.vm.Remove", "", "", NULL),
			 BH_ADMIN_INVALID);
}

static void test_properties(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "w", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(call(f, "admin.vm.property.Get", "w", "memory",
			      NULL),
			 0);
	assert_string_equal(f->r.text, "default=True type=int 400");
	assert_int_equal(call(f, "admin.vm.property.Set", "w", "memory",
			      "600"),
			 0);
	assert_int_equal(call(f, "admin.vm.property.Get", "w", "memory",
			      NULL),
			 0);
	assert_string_equal(f->r.text, "default=False type=int 600");
	assert_int_equal(call(f, "admin.vm.property.Set", "w", "memory",
			      "lots"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.property.Set", "w", "nosuch", "1"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.property.Get", "nosuch", "memory",
			      NULL),
			 BH_ADMIN_NOSUCH);
	assert_int_equal(call(f, "admin.vm.property.Reset", "w", "memory",
			      NULL),
			 0);
	assert_int_equal(call(f, "admin.vm.property.Reset", "w", "label",
			      NULL),
			 BH_ADMIN_INVALID); /* no default */
	assert_int_equal(call(f, "admin.vm.property.List", "w", "", NULL), 0);
	assert_non_null(strstr(f->r.text, "memory default=True type=int 400\n"));
	assert_non_null(strstr(f->r.text, "label default=False type=label red\n"));
	assert_non_null(strstr(f->r.text, "autostart default=True type=bool False\n"));
	/* A value with a NUL would be cut silently: refused. */
	{
		uint8_t buf[128];
		int n = bh_admin_call_encode(buf, sizeof(buf),
					     "admin.vm.property.Set", "w",
					     "kernelopts", "a\0b", 3);

		assert_int_equal(admin_call(f->s, f->dir, buf, (uint32_t)n,
					    &f->r),
				 BH_ADMIN_INVALID);
	}
}

static void test_globals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.property.Set", "", "default_template",
			      "minimal"),
			 0);
	assert_int_equal(call(f, "admin.property.Get", "", "default_template",
			      NULL),
			 0);
	assert_string_equal(f->r.text, "default=False type=vm minimal");
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "d", "", "label=red"),
			 0);
	assert_int_equal(call(f, "admin.property.Set", "", "default_template",
			      "d"),
			 BH_ADMIN_INVALID); /* not a TemplateVM */
	assert_int_equal(call(f, "admin.property.Set", "", "nosuch", "1"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.property.Get", "d", "default_template",
			      NULL),
			 BH_ADMIN_INVALID); /* a global call names no qube */
	assert_int_equal(call(f, "admin.property.Reset", "", "default_template",
			      NULL),
			 0);
	assert_int_equal(call(f, "admin.property.List", "", "", NULL), 0);
	assert_non_null(strstr(f->r.text, "default_template default=True "
					  "type=vm \n"));
}

static void test_features_tags(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "admin.vm.feature.Set", "minimal", "a",
			      "one two"),
			 0);
	assert_int_equal(call(f, "admin.vm.feature.Get", "minimal", "a", NULL),
			 0);
	assert_string_equal(f->r.text, "one two");
	assert_int_equal(call(f, "admin.vm.feature.List", "minimal", "", NULL),
			 0);
	assert_string_equal(f->r.text, "a one two\n");
	assert_int_equal(call(f, "admin.vm.feature.Remove", "minimal", "a",
			      NULL),
			 0);
	assert_int_equal(call(f, "admin.vm.feature.Get", "minimal", "a", NULL),
			 BH_ADMIN_NOSUCH);
	assert_int_equal(call(f, "admin.vm.feature.Get", "nosuch", "a", NULL),
			 BH_ADMIN_NOSUCH);
	assert_int_equal(call(f, "admin.vm.tag.Set", "minimal", "t1", NULL), 0);
	assert_int_equal(call(f, "admin.vm.tag.Set", "minimal", "t1", NULL), 0);
	assert_int_equal(call(f, "admin.vm.tag.List", "minimal", "", NULL), 0);
	assert_string_equal(f->r.text, "t1\n");
	assert_int_equal(call(f, "admin.vm.tag.Remove", "minimal", "t1", NULL),
			 0);
	assert_int_equal(call(f, "admin.vm.tag.List", "minimal", "", NULL), 0);
	assert_string_equal(f->r.text, "");
}

static void test_bad_calls(void **state)
{
	struct fx *f = *state;
	static const uint8_t junk[] = "no nuls here";

	assert_int_equal(admin_call(f->s, f->dir, junk, sizeof(junk) - 1,
				    &f->r),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Frobnicate", "", "", NULL),
			 BH_ADMIN_INVALID);
	assert_non_null(strstr(f->r.text, "unknown admin call"));
}

/* A list that would pass the frame limit is an error, not a cut list. */
static void test_list_too_long(void **state)
{
	struct fx *f = *state;
	char v[STORE_FEATURE_VALUE_MAX + 1], key[16];
	int i;

	memset(v, 'x', STORE_FEATURE_VALUE_MAX);
	v[STORE_FEATURE_VALUE_MAX] = '\0';
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		assert_int_equal(call(f, "admin.vm.feature.Set", "minimal", key,
				      v),
				 0);
	}
	assert_int_equal(call(f, "admin.vm.feature.List", "minimal", "", NULL),
			 BH_ADMIN_FAILED);
	assert_non_null(strstr(f->r.text, "does not fit in one reply"));
}

/* A restart marks every qube Halted and keeps the records. */
static void test_boot_halts_and_keeps(void **state)
{
	struct fx *f = *state;
	char err[STORE_ERR_MAX];
	struct qube_info q;

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "r", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(store_power_set(f->s, "r", "Running", NULL, err,
					 sizeof(err)),
			 0);
	store_close(f->s);
	assert_int_equal(store_boot(f->dir, &f->s, err, sizeof(err)), 0);
	assert_int_equal(store_qube_get(f->s, "r", &q, err, sizeof(err)), 0);
	assert_string_equal(q.power_state, "Halted");
	assert_string_equal(q.power_reason, RESTART_REASON);
	assert_int_equal(call(f, "admin.vm.List", "", "", NULL), 0);
	assert_string_equal(f->r.text,
			    "minimal class=TemplateVM state=Halted "
			    "label=black template=-\n"
			    "r class=AppVM state=Halted label=red "
			    "template=minimal\n");
}

/* The value of key in a host.Info reply ("key=value" lines), copied into
 * out; NULL when the key is missing. */
static const char *host_value(const char *text, const char *key, char *out,
			      size_t cap)
{
	size_t n = strlen(key);
	const char *p = text;

	for (; *p; p = strchr(p, '\n') + 1) {
		const char *end = strchr(p, '\n');

		assert_non_null(end); /* every line ends with a newline */
		if (!strncmp(p, key, n) && p[n] == '=') {
			snprintf(out, cap, "%.*s", (int)(end - p - n - 1),
				 p + n + 1);
			return out;
		}
	}
	return NULL;
}

static int module_loaded(const char *name)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/module/%s", name);
	return access(p, F_OK) == 0;
}

/* Whether qemu-system-x86_64 is on PATH, as engine_find_qemu looks. */
static int qemu_on_path(void)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : ""), *dir, *save = NULL, f[PATH_MAX];
	int found = 0;

	assert_non_null(copy);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(f, sizeof(f), "%s/qemu-system-x86_64", dir);
		found = access(f, X_OK) == 0;
	}
	free(copy);
	return found;
}

static void test_host_info(void **state)
{
	static const char *const keys[] = {
		"cpu_model",	 "cpu_virt",	"kvm_modules",	"dev_kvm",
		"engine",	 "engine_why",	"qemu_path",	"qemu_version",
		"guest_kernel",	 "host_kernel", "mem_total_mib",
		"mem_available_mib", "cpus",	"state_free_mib", "templates",
	};
	struct fx *f = *state;
	char v[1024], link[PATH_MAX + 32];
	int hw, opens, fd;
	size_t i;

	unsetenv("BULKHEAD_ACCEL");
	unsetenv("BULKHEAD_QEMU");
	assert_int_equal(call(f, "admin.host.Info", "", "", NULL), 0);
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (!host_value(f->r.text, keys[i], v, sizeof(v)))
			fail_msg("admin.host.Info has no %s:\n%s", keys[i],
				 f->r.text);
	/* The engine follows the modules and /dev/kvm (engine.h). */
	hw = module_loaded("kvm_intel") || module_loaded("kvm_amd");
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	opens = fd >= 0;
	if (fd >= 0)
		close(fd);
	assert_string_equal(host_value(f->r.text, "engine", v, sizeof(v)),
			    hw && opens ? "KVM" : "TCG");
	host_value(f->r.text, "kvm_modules", v, sizeof(v));
	assert_int_equal(strstr(v, "kvm_pvm") != NULL,
			 module_loaded("kvm_pvm"));
	assert_int_equal(strstr(v, "kvm_intel") != NULL,
			 module_loaded("kvm_intel"));
	host_value(f->r.text, "cpu_virt", v, sizeof(v));
	assert_true(!strcmp(v, "vmx") || !strcmp(v, "svm") ||
		    !strcmp(v, "none"));
	host_value(f->r.text, "qemu_version", v, sizeof(v));
	if (qemu_on_path()) {
		assert_true(v[0] != '\0');
		assert_string_not_equal(v, "missing");
		assert_null(strstr(v, "unknown"));
	}
	assert_string_equal(host_value(f->r.text, "guest_kernel", v,
				       sizeof(v)),
			    "none");
	assert_string_equal(host_value(f->r.text, "templates", v, sizeof(v)),
			    "minimal");
	host_value(f->r.text, "cpus", v, sizeof(v));
	assert_true(atoi(v) >= 1);
	/* A recorded kernel version and another template's user. */
	snprintf(link, sizeof(link), "%s/kernels", f->dir);
	assert_int_equal(mkdir(link, 0755), 0);
	snprintf(link, sizeof(link), "%s/kernels/current", f->dir);
	assert_int_equal(symlink("6.1.0-test", link), 0);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "work", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(call(f, "admin.host.Info", "", "", NULL), 0);
	assert_string_equal(host_value(f->r.text, "guest_kernel", v,
				       sizeof(v)),
			    "6.1.0-test");
	assert_string_equal(host_value(f->r.text, "templates", v, sizeof(v)),
			    "minimal");
	/* It is about the host: no qube, no argument. */
	assert_int_equal(call(f, "admin.host.Info", "work", "", NULL),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.host.Info", "", "x", NULL),
			 BH_ADMIN_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_minimal_registered),
		T(test_create_list_remove),
		T(test_create_refusals),
		T(test_remove_refusals),
		T(test_properties),
		T(test_globals),
		T(test_features_tags),
		T(test_bad_calls),
		T(test_list_too_long),
		T(test_boot_halts_and_keeps),
		T(test_host_info),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
