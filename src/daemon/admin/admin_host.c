/* admin.host.Info: what `bh doctor` reports, in the spirit of Qubes'
 * qubes-hcl-report: the CPU and its virtualization, which engine qubes
 * get and why, QEMU, the guest kernel, memory, CPUs, free space and the
 * templates. One `key=value` line each, always in this order; a value is
 * the rest of its line and may hold spaces. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/host_probe.h"
#include "daemon/store/props.h"
#include "lib/util.h"

#define SYS_MODULE "/sys/module"
#define DEV_KVM "/dev/kvm"

/* One line; the value goes on one line whatever it holds. */
static void kv(struct admin_reply *r, const char *key, const char *value)
{
	char v[512];
	size_t i;

	snprintf(v, sizeof(v), "%s", value);
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			v[i] = '?';
	reply_add(r, "%s=%s\n", key, v);
}

static void kv_long(struct admin_reply *r, const char *key, long value)
{
	if (value < 0)
		kv(r, key, "unknown");
	else
		reply_add(r, "%s=%ld\n", key, value);
}

/* The KVM modules loaded, space-separated, or "none". kvm_pvm is listed
 * because its /dev/kvm is not hardware virtualization (engine.h). */
static void kvm_modules(struct admin_reply *r)
{
	static const char *const mods[] = { "kvm", "kvm_intel", "kvm_amd",
					    "kvm_pvm" };
	char path[64], list[64] = "";
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(*mods); i++) {
		snprintf(path, sizeof(path), SYS_MODULE "/%s", mods[i]);
		if (access(path, F_OK) == 0)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", list[0] ? " " : "", mods[i]);
	}
	kv(r, "kvm_modules", list[0] ? list : "none");
}

static void qemu(struct admin_reply *r)
{
	char path[PATH_MAX], version[256], why[sizeof(version) + 16];

	if (engine_find_qemu(path, sizeof(path)) < 0) {
		kv(r, "qemu_path", "missing");
		kv(r, "qemu_version", "missing");
		return;
	}
	kv(r, "qemu_path", path);
	/* Blocks the daemon for at most the timeout; QEMU answers in a few
	 * milliseconds. */
	if (host_qemu_version(path, HOST_QEMU_VERSION_TIMEOUT_MS, version,
			      sizeof(version)) < 0) {
		snprintf(why, sizeof(why), "unknown: %s", version);
		kv(r, "qemu_version", why);
		return;
	}
	kv(r, "qemu_version", version);
}

/* STATE/kernels/current names the guest kernel version in use. */
static void guest_kernel(struct admin_reply *r, const char *state_dir)
{
	char link[PATH_MAX], target[256];
	ssize_t n = -1;

	if (bh_path_fmt(link, sizeof(link), "%s/kernels/current",
			state_dir) == 0)
		n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0) {
		kv(r, "guest_kernel", "none");
		return;
	}
	target[n] = '\0';
	kv(r, "guest_kernel", target);
}

static void memory(struct admin_reply *r)
{
	long total, avail;

	host_meminfo_read("/proc/meminfo", &total, &avail);
	kv_long(r, "mem_total_mib", total);
	kv_long(r, "mem_available_mib", avail);
}

static void state_free(struct admin_reply *r, const char *state_dir)
{
	struct statvfs v;

	if (statvfs(state_dir, &v) < 0)
		kv(r, "state_free_mib", "unknown");
	else
		kv_long(r, "state_free_mib",
			(long)((unsigned long long)v.f_bavail * v.f_frsize >>
			       20));
}

static int template_name(void *arg, const struct qube_info *qi)
{
	struct admin_reply *r = arg;

	if (qi->cls == QC_TEMPLATE)
		reply_add(r, "%s%s", r->text[r->len - 1] == '=' ? "" : " ",
			  qi->name);
	return r->overflow;
}

/* The TemplateVMs, space-separated (names have no spaces); empty when
 * there are none. */
static unsigned templates(const struct admin_req *q, struct admin_reply *r)
{
	char err[STORE_ERR_MAX] = "";
	int e;

	reply_add(r, "templates=");
	e = store_qube_list(q->s, template_name, r, err, sizeof(err));
	reply_add(r, "\n");
	if (r->overflow)
		return reply_too_long(r, "host report");
	return e ? reply_store_err(r, e, err, BH_ADMIN_FAILED) : 0;
}

unsigned admin_host_info(const struct admin_req *q, struct admin_reply *r)
{
	struct engine_accel_choice accel;
	struct host_cpu cpu;
	struct utsname u;
	struct stat st;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (q->dest[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.host.Info is about the host: it "
				  "takes no qube name");
	if (q->arg[0])
		return reply_fail(r, BH_ADMIN_INVALID,
				  "admin.host.Info takes no argument");
	host_cpu_read("/proc/cpuinfo", &cpu);
	kv(r, "cpu_model", cpu.model);
	kv(r, "cpu_virt", cpu.virt);
	kvm_modules(r);
	kv(r, "dev_kvm", stat(DEV_KVM, &st) == 0 ? "present" : "absent");
	/* The same choice the daemon makes at start-up, made again now. */
	engine_choose_accel(SYS_MODULE, DEV_KVM, &accel);
	kv(r, "engine", accel.accel == ACCEL_KVM ? "KVM" : "TCG");
	kv(r, "engine_why", accel.why);
	qemu(r);
	guest_kernel(r, q->state_dir);
	kv(r, "host_kernel", uname(&u) == 0 ? u.release : "unknown");
	memory(r);
	kv_long(r, "cpus", cpus);
	state_free(r, q->state_dir);
	return templates(q, r);
}
