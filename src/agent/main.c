/* bh-agent: PID 1 of every qube, and its only service on the host channel.
 *
 * As PID 1 (in the initramfs) it mounts /dev, /proc and /sys, reads its
 * settings from the kernel command line, loads the virtio modules in
 * modules.dep order, mounts the template root read-only under a tmpfs
 * overlay with the private volume on /rw, switches into it, sets the host
 * name, says HELLO on the control port and serves command streams until it
 * is told to power off (or, in a disposable, its job is done). A qube
 * restored from a snapshot learns its clock, entropy and name from a
 * RESUME frame (resume.h) and says HELLO again.
 *
 * Outside a VM, `bh-agent --serve-fd=N` serves a channel already open on fd
 * N, with none of the init work: tests drive it over a socket pair. It
 * refuses RESUME: it must not set the clock or the host name of the
 * machine it runs on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent/cmdline.h"
#include "agent/handover.h"
#include "agent/home.h"
#include "agent/modules.h"
#include "agent/mounts.h"
#include "agent/port.h"
#include "agent/poweroff.h"
#include "agent/resume.h"
#include "agent/serve.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/call_sock.h"

/* The modules a qube needs; their dependencies come from modules.dep. */
static const char *const wanted_modules[] = {
	"virtio_mmio", "virtio_console", "virtio_blk", "virtio_rng", "overlay",
};

#define PORT_WAIT_MS 20000

static void usage(FILE *f)
{
	fprintf(f, "usage: bh-agent            (as PID 1 inside a qube)\n"
		   "       bh-agent --serve-fd=N  (serve a channel on fd N; "
		   "for tests)\n");
}

static int serve_fd(int fd)
{
	struct agent a;
	int sfd = bh_make_sigfd(), r;

	if (sfd < 0 || bh_set_nonblock(fd, 1) < 0)
		return 1;
	agent_init(&a, fd, 0);
	agent_send_hello(&a);
	r = agent_serve(&a, sfd);
	agent_free(&a);
	return r < 0 ? 1 : 0;
}

static void console_fds(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int load_modules(void)
{
	struct module_plan plan;
	struct utsname u;
	char dir[300], dep[340], *text;
	const char *missing;
	size_t len;
	int r;

	uname(&u);
	if (bh_path_fmt(dir, sizeof(dir), "/lib/modules/%s", u.release) ||
	    bh_path_fmt(dep, sizeof(dep), "%s/modules.dep", dir))
		return -ENAMETOOLONG;
	r = bh_read_file(dep, 4 << 20, &text, &len);
	if (r < 0) {
		LOG_ERR("cannot read %s: %s", dep, strerror(-r));
		return r;
	}
	r = module_plan_build(text, len, wanted_modules,
			      sizeof(wanted_modules) / sizeof(*wanted_modules),
			      &plan, &missing);
	free(text);
	if (r < 0) {
		LOG_ERR("module plan: %s (%s)", strerror(-r),
			missing ? missing : "-");
		return r;
	}
	r = module_plan_load(&plan, dir);
	module_plan_free(&plan);
	return r;
}

/* With bh.trace=1, one console line per boot step with the time since
 * the kernel started (CLOCK_BOOTTIME), to see where a boot spends it. */
static int trace_on;

static void trace(const char *step)
{
	struct timespec ts;

	if (!trace_on)
		return;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	LOG_INFO("trace %ld.%03ld %s", (long)ts.tv_sec,
		 ts.tv_nsec / 1000000, step);
}

static int run_init(void)
{
	struct agent_config cfg;
	struct agent a;
	char *cmdline, port[64];
	size_t len;
	int sfd, fd, r;

	if (mounts_early() < 0)
		return -1;
	console_fds();
	bh_log_init("bh-agent", 0);
	if (bh_read_file("/proc/cmdline", 4096, &cmdline, &len) < 0)
		return -1;
	r = agent_cmdline_parse(cmdline, len, &cfg);
	free(cmdline);
	if (r < 0) {
		LOG_ERR("bad bh.* setting on the kernel command line");
		return -1;
	}
	if (cfg.bench_poweroff)
		agent_power_off();
	trace_on = cfg.trace;
	trace("init");
	if (load_modules() < 0)
		return -1;
	trace("modules loaded");
	if (cfg.root_dev[0] &&
	    mounts_switch_root(cfg.root_dev, cfg.private_dev, cfg.root_rw) < 0)
		return -1;
	trace("root mounted");
	if (sethostname(cfg.name, strlen(cfg.name)) < 0)
		LOG_WARN("sethostname: %s", strerror(errno));
	if (cfg.root_dev[0])
		home_ensure_user();
	/* From here on the agent may be PID 1's child (handover.h). */
	if (cfg.init_systemd && cfg.root_dev[0])
		handover_start();
	if (port_find(cfg.port, port, sizeof(port), PORT_WAIT_MS) < 0) {
		LOG_ERR("no virtio-serial port named %s", cfg.port);
		return -1;
	}
	fd = open(port, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	sfd = bh_make_sigfd();
	if (fd < 0 || sfd < 0) {
		LOG_ERR("opening %s: %s", port, strerror(errno));
		return -1;
	}
	agent_init(&a, fd, cfg.disposable);
	a.resume_ops = &agent_resume_system_ops;
	/* Processes of the qube call services of other qubes here
	 * (bh-call); a qube without it still runs commands. */
	if (mkdir(CALL_SOCKET_DIR, 0755) < 0 && errno != EEXIST)
		LOG_WARN("mkdir %s: %s", CALL_SOCKET_DIR, strerror(errno));
	r = agent_listen_calls(&a, CALL_SOCKET_PATH);
	if (r < 0)
		LOG_WARN("no RPC calls from this qube: %s: %s",
			 CALL_SOCKET_PATH, strerror(-r));
	agent_send_hello(&a);
	trace("hello");
	r = agent_serve(&a, sfd);
	if (r < 0)
		LOG_ERR("channel: %s", strerror(-r));
	return 0;
}

int main(int argc, char **argv)
{
	if (getpid() == 1) {
		if (run_init() < 0)
			LOG_ERR("init failed; powering off");
		agent_power_off();
	}
	bh_log_init("bh-agent", 0);
	if (argc == 2 && !strncmp(argv[1], "--serve-fd=", 11)) {
		char *end;
		long fd = strtol(argv[1] + 11, &end, 10);

		if (*end || fd < 0 || fd > 1 << 20) {
			usage(stderr);
			return 2;
		}
		return serve_fd((int)fd);
	}
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	fprintf(stderr, "bh-agent: not PID 1; it runs inside a qube\n");
	return 2;
}
