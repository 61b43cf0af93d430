/* Unit tests of the admin handlers (src/daemon/admin/admin*.c): calls encoded as
 * bh sends them, run by admin_call on a fresh store in a temporary folder
 * opened as the daemon opens it (store_boot). Statuses and reply texts are
 * what bh shows, so they are pinned here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/state/store_boot.h"
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
	/* default_template is unset here: a source must be named... */
	assert_int_equal(call(f, "admin.vm.Create.TemplateVM", "t", "",
			      "label=red"),
			 BH_ADMIN_INVALID);
	assert_non_null(strstr(f->r.text, "default_template"));
	assert_int_equal(call(f, "admin.vm.Create.TemplateVM", "t", "nosuch",
			      "label=red"),
			 BH_ADMIN_INVALID);
	/* ...and have a root image to copy (this folder has none). */
	assert_int_equal(call(f, "admin.vm.Create.StandaloneVM", "t",
			      "minimal", "label=red"),
			 BH_ADMIN_FAILED);
	assert_non_null(strstr(f->r.text, "no root image"));
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

/* ---- volumes (qube_paths.h, qube_files.h, volumes_boot.h) ---- */

static void path_of(struct fx *f, char *out, size_t cap, const char *rel)
{
	assert_int_equal(bh_path_fmt(out, cap, "%s/%s", f->dir, rel), 0);
}

static int exists(struct fx *f, const char *rel)
{
	char p[PATH_MAX];

	path_of(f, p, sizeof(p), rel);
	return access(p, F_OK) == 0;
}

/* A stand-in for the guest build's root image: a small sparse file. */
static void fake_minimal_root(struct fx *f)
{
	char p[PATH_MAX];
	int fd;

	path_of(f, p, sizeof(p), "templates/minimal");
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
	path_of(f, p, sizeof(p), "templates/minimal/root.img");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "root", 4, 1 << 20), 4);
	close(fd);
}

static void test_create_makes_private(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	struct stat st;

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "v", "minimal",
			      "label=red"),
			 0);
	path_of(f, p, sizeof(p), "qubes/v");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	path_of(f, p, sizeof(p), "qubes/v/private.img");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal((uint64_t)st.st_size, 2ull << 30);
	assert_true((uint64_t)st.st_blocks * 512 < 100ull << 20); /* sparse */
	/* A failed create leaves no folder behind. */
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "w", "nosuch",
			      "label=red"),
			 BH_ADMIN_INVALID);
	assert_false(exists(f, "qubes/w"));
	assert_int_equal(call(f, "admin.vm.Remove", "v", "", NULL), 0);
	assert_false(exists(f, "qubes/v"));
}

/* A folder left by a crash is never written into nor deleted. */
static void test_create_refuses_leftover(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	path_of(f, p, sizeof(p), "qubes/left");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "left", "minimal",
			      "label=red"),
			 BH_ADMIN_REFUSED);
	assert_true(exists(f, "qubes/left"));
	assert_int_equal(call(f, "admin.vm.List", "left", "", NULL),
			 BH_ADMIN_NOSUCH);
}

static void test_template_standalone_clone(void **state)
{
	struct fx *f = *state;

	/* Without the source's root there is nothing to copy. */
	assert_int_equal(call(f, "admin.vm.Create.TemplateVM", "t", "",
			      "label=black"),
			 BH_ADMIN_FAILED);
	assert_false(exists(f, "templates/t"));
	assert_false(exists(f, "qubes/t"));
	fake_minimal_root(f);
	assert_int_equal(call(f, "admin.vm.Create.TemplateVM", "t", "",
			      "label=black"),
			 0);
	assert_true(exists(f, "templates/t/root.img"));
	assert_true(exists(f, "qubes/t/private.img"));
	assert_int_equal(call(f, "admin.vm.Create.StandaloneVM", "s",
			      "minimal", "label=green"),
			 0);
	assert_true(exists(f, "qubes/s/root.img"));
	assert_int_equal(call(f, "admin.vm.Create.StandaloneVM", "s2", "s",
			      "label=green"),
			 BH_ADMIN_INVALID); /* s is no TemplateVM */
	assert_int_equal(call(f, "admin.vm.Clone", "t", "t2", NULL), 0);
	assert_true(exists(f, "templates/t2/root.img"));
	assert_true(exists(f, "qubes/t2/private.img"));
	assert_int_equal(call(f, "admin.vm.List", "t2", "", NULL), 0);
	assert_string_equal(f->r.text, "t2 class=TemplateVM state=Halted "
				       "label=black template=-\n");
	assert_int_equal(call(f, "admin.vm.Clone", "t", "t2", NULL),
			 BH_ADMIN_REFUSED);
	assert_int_equal(call(f, "admin.vm.Clone", "t", "", NULL),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Clone", "nosuch", "x", NULL),
			 BH_ADMIN_NOSUCH);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "app", "t2",
			      "label=red"),
			 0);
	assert_int_equal(call(f, "admin.vm.Remove", "t2", "", NULL),
			 BH_ADMIN_REFUSED);
	assert_non_null(strstr(f->r.text, "app"));
	assert_int_equal(call(f, "admin.vm.Remove", "app", "", NULL), 0);
	assert_int_equal(call(f, "admin.vm.Remove", "t2", "", NULL), 0);
	assert_false(exists(f, "templates/t2"));
	assert_false(exists(f, "qubes/t2"));
	assert_true(exists(f, "templates/minimal/root.img"));
}

static void test_clone_refuses_running(void **state)
{
	struct fx *f = *state;
	char err[STORE_ERR_MAX];

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "run", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(store_power_set(f->s, "run", "Running", NULL, err,
					 sizeof(err)),
			 0);
	assert_int_equal(call(f, "admin.vm.Clone", "run", "c", NULL),
			 BH_ADMIN_REFUSED);
	assert_false(exists(f, "qubes/c"));
	assert_int_equal(call(f, "admin.vm.volume.Resize", "run", "private",
			      "4294967296"),
			 BH_ADMIN_REFUSED);
	assert_int_equal(store_power_set(f->s, "run", "Halted", NULL, err,
					 sizeof(err)),
			 0);
	assert_int_equal(call(f, "admin.vm.Clone", "run", "c", NULL), 0);
	assert_true(exists(f, "qubes/c/private.img"));
}

static void test_volume_list_resize(void **state)
{
	struct fx *f = *state;
	char want[2 * PATH_MAX];

	fake_minimal_root(f);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "v", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(call(f, "admin.vm.volume.List", "v", "", NULL), 0);
	assert_true(!strncmp(f->r.text, "private size=2147483648 used=", 29));
	snprintf(want, sizeof(want),
		 "path=%s/qubes/v/private.img rw=True\nroot size=1048580 "
		 "used=",
		 f->dir);
	assert_non_null(strstr(f->r.text, want));
	snprintf(want, sizeof(want),
		 "path=%s/templates/minimal/root.img rw=False\n", f->dir);
	assert_non_null(strstr(f->r.text, want));
	assert_int_equal(call(f, "admin.vm.volume.Resize", "v", "private",
			      "3221225472"),
			 0);
	assert_int_equal(call(f, "admin.vm.volume.List", "v", "", NULL), 0);
	assert_true(!strncmp(f->r.text, "private size=3221225472 ", 24));
	assert_int_equal(call(f, "admin.vm.volume.Resize", "v", "private",
			      "2147483648"),
			 BH_ADMIN_REFUSED);
	assert_int_equal(call(f, "admin.vm.volume.Resize", "v", "root",
			      "4294967296"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.volume.Resize", "v", "private",
			      "4G"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.volume.Resize", "v", "private",
			      "99999999999999999999999"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.volume.List", "nosuch", "", NULL),
			 BH_ADMIN_NOSUCH);
	/* The built-in template has a root and no private volume. */
	assert_int_equal(call(f, "admin.vm.volume.List", "minimal", "", NULL),
			 0);
	assert_true(!strncmp(f->r.text, "root size=", 10));
	assert_non_null(strstr(f->r.text, " rw=True\n"));
}

/* A DispVM: made from a disposable template only, with no private volume
 * of its own (a copy is made at each start), its root its DVM's
 * template's; the DVM stays while it is used. */
static void test_create_dispvm(void **state)
{
	struct fx *f = *state;
	char want[2 * PATH_MAX];

	fake_minimal_root(f);
	assert_int_equal(call(f, "admin.vm.Create.AppVM", "dvm", "minimal",
			      "label=red"),
			 0);
	assert_int_equal(call(f, "admin.vm.Create.DispVM", "d", "dvm",
			      "label=red"),
			 BH_ADMIN_INVALID);
	assert_non_null(strstr(f->r.text, "template_for_dispvms True"));
	assert_false(exists(f, "qubes/d"));
	assert_int_equal(call(f, "admin.vm.property.Set", "dvm",
			      "template_for_dispvms", "True"),
			 0);
	assert_int_equal(call(f, "admin.vm.Create.DispVM", "d", "dvm",
			      "label=red"),
			 0);
	assert_true(exists(f, "qubes/d"));
	assert_false(exists(f, "qubes/d/private.img"));
	assert_int_equal(call(f, "admin.vm.volume.List", "d", "", NULL), 0);
	snprintf(want, sizeof(want),
		 "path=%s/templates/minimal/root.img rw=False\n", f->dir);
	assert_true(!strncmp(f->r.text, "root size=", 10));
	assert_non_null(strstr(f->r.text, want));
	assert_int_equal(call(f, "admin.vm.volume.Resize", "d", "private",
			      "4294967296"),
			 BH_ADMIN_INVALID);
	assert_int_equal(call(f, "admin.vm.Remove", "dvm", "", NULL),
			 BH_ADMIN_REFUSED);
	assert_non_null(strstr(f->r.text, "template of d"));
	assert_int_equal(call(f, "admin.vm.Remove", "d", "", NULL), 0);
	assert_false(exists(f, "qubes/d"));
	assert_int_equal(call(f, "admin.vm.Remove", "dvm", "", NULL), 0);
}

/* Start-up makes a missing private volume, removes temporaries and moves
 * a folder without a record to lost+found. */
static void test_boot_reconciles(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX], err[STORE_ERR_MAX];
	FILE *fp;

	assert_int_equal(call(f, "admin.vm.Create.AppVM", "k", "minimal",
			      "label=red"),
			 0);
	path_of(f, p, sizeof(p), "qubes/k/private.img");
	assert_int_equal(unlink(p), 0);
	path_of(f, p, sizeof(p), "qubes/k/private.img.tmp-AbC123");
	fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	path_of(f, p, sizeof(p), "qubes/ghost");
	assert_int_equal(mkdir(p, 0700), 0);
	store_close(f->s);
	assert_int_equal(store_boot(f->dir, &f->s, err, sizeof(err)), 0);
	assert_true(exists(f, "qubes/k/private.img"));
	assert_false(exists(f, "qubes/k/private.img.tmp-AbC123"));
	assert_false(exists(f, "qubes/ghost"));
	{
		char lf[PATH_MAX];
		DIR *d;
		struct dirent *e;
		int found = 0;

		path_of(f, lf, sizeof(lf), "lost+found");
		d = opendir(lf);
		assert_non_null(d);
		while ((e = readdir(d)))
			found |= !strncmp(e->d_name, "ghost-", 6);
		closedir(d);
		assert_true(found);
	}
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
		T(test_create_makes_private),
		T(test_create_refuses_leftover),
		T(test_template_standalone_clone),
		T(test_clone_refuses_running),
		T(test_volume_list_resize),
		T(test_create_dispvm),
		T(test_boot_reconciles),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
