#include "agent/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/poweroff.h"
#include "agent/serve.h"
#include "lib/log.h"
#include "proto/resume.h"

/* ---- the real operations ---- */

static int sys_set_clock(uint64_t realtime_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(realtime_ns / 1000000000u),
		.tv_nsec = (long)(realtime_ns % 1000000000u),
	};

	return clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
}

/* struct rand_pool_info with room for the buffer: the kernel's ends in a
 * flexible array. */
struct pool_add {
	int entropy_count; /* bits credited */
	int buf_size;      /* bytes */
	uint32_t buf[BH_RESUME_ENTROPY / 4];
};
_Static_assert(offsetof(struct pool_add, buf) ==
		       offsetof(struct rand_pool_info, buf),
	       "struct pool_add must match struct rand_pool_info");

static int sys_add_entropy(const uint8_t *buf, size_t len)
{
	struct pool_add add;
	int fd, r = 0;

	if (len > sizeof(add.buf))
		return -EINVAL;
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Credited in full: the host's bytes come from its own CRNG, and the
	 * clone's pool state is known to every other clone. */
	add.entropy_count = (int)len * 8;
	add.buf_size = (int)len;
	memcpy(add.buf, buf, len);
	/* RNDADDENTROPY alone mixes the bytes into the input pool; only the
	 * reseed makes the CRNG that /dev/urandom and getrandom() read from
	 * stop being the snapshot's. */
	if (ioctl(fd, RNDADDENTROPY, &add) < 0 ||
	    ioctl(fd, RNDRESEEDCRNG) < 0)
		r = -errno;
	explicit_bzero(&add, sizeof(add));
	close(fd);
	return r;
}

void agent_uuid_format(const uint8_t b[16], char out[38])
{
	uint8_t u[16];

	memcpy(u, b, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 38,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x\n",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

int agent_boot_id_replace(const char *file, const char *proc)
{
	char tmp[4096], id[38];
	uint8_t b[16];
	ssize_t n;
	int fd, r = 0;

	/* After RNDRESEEDCRNG: these bytes are this clone's own. */
	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	agent_uuid_format(b, id);
	if (snprintf(tmp, sizeof(tmp), "%s.new", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A new inode each time: a mount made by an earlier call keeps
	 * showing its own file until the new mount covers it. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0444);
	if (fd < 0)
		return -errno;
	if (write(fd, id, 37) != 37 || fchmod(fd, 0444) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r == 0 && rename(tmp, file) < 0)
		r = -errno;
	/* Read-only, so no reader can rewrite what others see. */
	if (r == 0 && (mount(file, proc, NULL, MS_BIND, NULL) < 0 ||
		       mount(NULL, proc, NULL,
			     MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
				     MS_NODEV | MS_NOEXEC,
			     NULL) < 0))
		r = -errno;
	if (r < 0)
		unlink(tmp);
	explicit_bzero(b, sizeof(b));
	return r;
}

static int sys_new_boot_id(void)
{
	return agent_boot_id_replace(AGENT_BOOT_ID_FILE, AGENT_BOOT_ID_PROC);
}

static int sys_set_hostname(const char *name)
{
	return sethostname(name, strlen(name)) < 0 ? -errno : 0;
}

static int sys_wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

const struct agent_resume_ops agent_resume_system_ops = {
	.set_clock = sys_set_clock,
	.add_entropy = sys_add_entropy,
	.new_boot_id = sys_new_boot_id,
	.set_hostname = sys_set_hostname,
	.wait_child = sys_wait_child,
	.power_off = agent_power_off,
};

/* ---- RESUME ---- */

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Runs `true` as root through the agent's spawn, as a command would run,
 * so that a TCG guest translates that code now rather than during the
 * first real command. Not a stream, so not a job: a disposable's linger
 * (serve.c) does not start because of it. Its stdin sees EOF and its
 * output goes nowhere, as with /dev/null: our pipe ends close at once. */
static void warm_up(struct agent *a)
{
	char prog[] = "true";
	char *argv[] = { prog, NULL };
	char *envp[] = { NULL };
	struct bh_exec_req req = { .argc = 1, .envc = 0, .argv = argv,
				   .envp = envp, .storage = NULL };
	struct spawned sp;
	int r = a->spawn(&req, "", &sp);

	if (r < 0) {
		/* Not fatal: the first command is only slower. A failed
		 * start leaves its child to the SIGCHLD reaper. */
		LOG_WARN("resume: warm-up `true` did not start (%d)", -r);
		return;
	}
	close_if_open(sp.in_fd);
	close_if_open(sp.out_fd);
	close_if_open(sp.err_fd);
	if (sp.pid > 0) {
		r = a->resume_ops->wait_child(sp.pid);
		if (r < 0)
			LOG_WARN("resume: reaping the warm-up: %s",
				 strerror(-r));
	}
}

int agent_resume(struct agent *a, const uint8_t *untrusted_payload,
		 uint32_t len)
{
	const struct agent_resume_ops *ops = a->resume_ops;
	struct bh_resume res;
	int r;

	if (!ops) {
		LOG_ERR("RESUME, but this agent does not apply one (not a "
			"qube's init)");
		return -EPROTO;
	}
	if (bh_parse_resume(untrusted_payload, len, &res) < 0)
		return -EPROTO;
	/* A wrong clock is a nuisance (TLS, make), not a danger: go on. */
	r = ops->set_clock(res.realtime_ns);
	if (r < 0)
		LOG_WARN("resume: setting the clock: %s", strerror(-r));
	r = ops->add_entropy(res.entropy, sizeof(res.entropy));
	explicit_bzero(res.entropy, sizeof(res.entropy));
	if (r < 0) {
		/* Every clone of the snapshot would draw the same keys,
		 * UUIDs and nonces: run nothing at all. */
		LOG_ERR("resume: cannot reseed the RNG: %s; powering off",
			strerror(-r));
		ops->power_off();
		return -EIO;
	}
	/* Software that tells boots apart by boot_id (journals, caches,
	 * session keys) must not see every clone as the same boot. Not
	 * worth stopping for: the RNG, which matters, is fresh. */
	r = ops->new_boot_id ? ops->new_boot_id() : 0;
	if (r < 0)
		LOG_WARN("resume: a new boot_id: %s", strerror(-r));
	r = ops->set_hostname(res.name);
	if (r < 0)
		LOG_WARN("resume: sethostname %s: %s", res.name, strerror(-r));
	if (res.flags & BH_RESUME_WARM)
		warm_up(a);
	return agent_send_hello(a);
}
