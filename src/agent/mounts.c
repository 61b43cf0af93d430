#include "agent/mounts.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

static int do_mount(const char *src, const char *dst, const char *type,
		    unsigned long flags, const char *data)
{
	int e;

	if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
		e = errno;
		LOG_ERR("mkdir %s: %s", dst, strerror(e));
		return -e;
	}
	if (mount(src, dst, type, flags, data) < 0) {
		e = errno;
		LOG_ERR("mount %s on %s (%s): %s", src, dst,
			type ? type : "move/bind", strerror(e));
		return -e;
	}
	return 0;
}

int mounts_early(void)
{
	int r;

	if ((r = do_mount("dev", "/dev", "devtmpfs", MS_NOSUID, NULL)) < 0 ||
	    (r = do_mount("proc", "/proc", "proc",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0 ||
	    (r = do_mount("sys", "/sys", "sysfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0)
		return r;
	return 0;
}

int wait_for_path(const char *path, int timeout_ms)
{
	/* Device nodes appear from the kernel's devtmpfs thread a few
	 * milliseconds after the driver binds; no udev to tell us. */
	const struct timespec step = { 0, 2 * 1000 * 1000 };
	int64_t end = bh_now_ms() + timeout_ms;

	while (access(path, F_OK) < 0) {
		if (bh_now_ms() > end)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}

/* The template's root read-only, with the qube's changes on tmpfs. */
static int mount_overlay_root(const char *root_dev)
{
	int r;

	if ((r = do_mount(root_dev, "/mnt/root", "ext4", MS_RDONLY, NULL)) <
		    0 ||
	    (r = do_mount("volatile", "/mnt/volatile", "tmpfs", 0,
			  "mode=0755")) < 0)
		return r;
	if (mkdir("/mnt/volatile/upper", 0755) < 0 ||
	    mkdir("/mnt/volatile/work", 0755) < 0)
		return -errno;
	return do_mount("root", "/newroot", "overlay", 0,
			"lowerdir=/mnt/root,upperdir=/mnt/volatile/upper,"
			"workdir=/mnt/volatile/work");
}

/* Device waits are generous: under TCG a busy host can be slow. */
#define DEVICE_WAIT_MS 20000

int mounts_switch_root(const char *root_dev, const char *private_dev,
		       int root_rw)
{
	int r;

	if ((r = wait_for_path(root_dev, DEVICE_WAIT_MS)) < 0) {
		LOG_ERR("root device %s never appeared", root_dev);
		return r;
	}
	if (root_rw) {
		if ((r = do_mount(root_dev, "/newroot", "ext4", 0, NULL)) < 0)
			return r;
	} else if ((r = mount_overlay_root(root_dev)) < 0) {
		return r;
	}
	if (private_dev[0]) {
		if ((r = wait_for_path(private_dev, DEVICE_WAIT_MS)) < 0) {
			LOG_ERR("private device %s never appeared",
				private_dev);
			return r;
		}
		if ((r = do_mount(private_dev, "/newroot/rw", "ext4",
				  MS_NOSUID | MS_NODEV, NULL)) < 0)
			return r;
		/* Home lives on the private volume, as in Qubes. */
		if (mkdir("/newroot/rw/home", 0755) < 0 && errno != EEXIST)
			return -errno;
		if ((r = do_mount("/newroot/rw/home", "/newroot/home", NULL,
				  MS_BIND, NULL)) < 0)
			return r;
	}
	/* Over a template's volatile root, /usr/local lives on the private
	 * volume too (as in Qubes): this qube's own programs and RPC
	 * services (/usr/local/etc/bulkhead/rpc) outlive it. A writable
	 * root keeps its own. */
	if (private_dev[0] && !root_rw) {
		if ((mkdir("/newroot/rw/usrlocal", 0755) < 0 &&
		     errno != EEXIST) ||
		    (mkdir("/newroot/usr/local", 0755) < 0 && errno != EEXIST))
			return -errno;
		if ((r = do_mount("/newroot/rw/usrlocal", "/newroot/usr/local",
				  NULL, MS_BIND, NULL)) < 0)
			return r;
	}
	if ((r = do_mount("/dev", "/newroot/dev", NULL, MS_MOVE, NULL)) < 0 ||
	    (r = do_mount("/proc", "/newroot/proc", NULL, MS_MOVE, NULL)) < 0 ||
	    (r = do_mount("/sys", "/newroot/sys", NULL, MS_MOVE, NULL)) < 0 ||
	    (r = do_mount("run", "/newroot/run", "tmpfs", MS_NOSUID | MS_NODEV,
			  "mode=0755")) < 0)
		return r;
	/* The initramfs cannot be pivoted away from: move the new root over
	 * it and chroot, as switch_root does. Its few megabytes stay. */
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0) {
		int e = errno;

		LOG_ERR("switching root: %s", strerror(e));
		return -e;
	}
	return 0;
}
