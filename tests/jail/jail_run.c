/* Test driver for the jail: runs one program the way the daemon runs
 * QEMU (jail_spawn, then jail_enter and execv in the child) and reports
 * what the daemon would see. Prints "pid: N" (the pid the daemon would
 * signal and wait for), with -q "qmp: ready" once the program answered
 * QMP on the fd it inherited, and at the end "status: exit N",
 * "status: signal N" or "status: timeout"; exits with the program's code,
 * 128+signal, or 124 on timeout.
 *
 * Usage: jail_run [-i QUBE_ID | -u UID -g GID] -r ROOT_DIR [-H HOSTNAME]
 *                 [-o RO_FILE]... [-w RW_FILE]... [-d DEVICE]... [-q]
 *                 [-t SECONDS] [-G NAME -m MEMORY_MB -n VCPUS]
 *                 -- PROGRAM [ARG]...
 *        jail_run -p QUBE_ID   print jail_uid_for(QUBE_ID)
 *        jail_run -s           print jail_qemu_sandbox_arg()
 *        jail_run -C           as a daemon with root /jail-test starting
 *                              and stopping: cgroups_cleanup_stale (prints
 *                              "cgroup: MODE" and "cleaned: N", the groups
 *                              removed), then cgroups_fini
 *   -q  hand the program a QMP socket as fd 4 (as engine_qemu.c does)
 *   -t  kill the program (by pid) after SECONDS (default 60)
 *   -G  run it in the cgroup of qube NAME with the limits MEMORY_MB and
 *       VCPUS imply, as the daemon does (cgroup.h), under the group of
 *       a daemon whose root were /jail-test (never the real daemon's);
 *       prints "cgroup: v2" or "cgroup: v1" then "cgroup: DIR" for each
 *       of the qube's groups (one under v2; under v1 the memory
 *       hierarchy's, then the pids one's), or "cgroup: off: WHY", and
 *       removes the groups after the program ended */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/cgroup.h"
#include "daemon/engine/jail.h"

#define QMP_FD 4
#define MAX_FILES 16

struct run {
	struct jail_spec spec;
	char **argv;
	int qmp_child; /* -1 without -q */
};

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int child(void *p)
{
	const struct run *r = p;
	char err[512];
	sigset_t none;
	int m;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (r->qmp_child >= 0) {
		/* Above the fixed number first, so the dup2 clears
		 * FD_CLOEXEC even when the socket already sits on it. */
		m = fcntl(r->qmp_child, F_DUPFD, 10);
		if (m < 0 || dup2(m, QMP_FD) < 0)
			return 126;
		close(m);
	}
	if (jail_enter(&r->spec, err, sizeof(err)) < 0) {
		dprintf(2, "jail_run: %s\n", err);
		return 126;
	}
	close_range(r->qmp_child >= 0 ? QMP_FD + 1 : 3, ~0u, 0);
	execv(r->argv[0], r->argv);
	dprintf(2, "jail_run: cannot execute %s: %s\n", r->argv[0],
		strerror(errno));
	return 127;
}

/* Reads one line of QMP (bounded by deadline) into buf. */
static int qmp_line(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t n = 0;
	struct pollfd p = { fd, POLLIN, 0 };

	while (n + 1 < cap) {
		int left = (int)(deadline - now_ms());
		ssize_t k;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		k = read(fd, buf + n, 1);
		if (k <= 0)
			return k == 0 ? -EPIPE : -errno;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

/* Greeting, qmp_capabilities, its answer: QEMU is up and talking. */
static int qmp_handshake(int fd, int64_t deadline)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	char line[4096];
	int r = qmp_line(fd, line, sizeof(line), deadline);

	if (r < 0 || !strstr(line, "\"QMP\""))
		return r < 0 ? r : -EPROTO;
	if (write(fd, caps, sizeof(caps) - 1) != (ssize_t)sizeof(caps) - 1)
		return -EIO;
	r = qmp_line(fd, line, sizeof(line), deadline);
	if (r < 0 || !strstr(line, "\"return\""))
		return r < 0 ? r : -EPROTO;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: jail_run [-i ID | -u UID -g GID] -r ROOT "
			"[-H HOST] [-o RO]... [-w RW]... [-d DEV]... [-q] "
			"[-t SECONDS] [-G NAME -m MB -n VCPUS] -- PROGRAM "
			"[ARG]...\n"
			"       jail_run -p ID | -s | -C\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const char *ro[MAX_FILES + 1], *rw[MAX_FILES + 1],
		*dev[MAX_FILES + 1];
	struct run r = { .spec = { .ro_files = ro, .rw_files = rw,
				   .devices = dev },
			 .qmp_child = -1 };
	size_t nro = 0, nrw = 0, ndev = 0;
	int qmp[2] = { -1, -1 }, use_qmp = 0, opt, st, ncg = 0;
	int cgfds[CGROUP_DIRS_MAX];
	const char *cg_name = NULL;
	unsigned cg_mb = 0, cg_vcpus = 0;
	struct cgroups cg = { 0 };
	long timeout_s = 60;
	int64_t deadline;
	char err[512];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "i:u:g:r:H:o:w:d:qt:p:sCG:m:n:")) != -1) {
		switch (opt) {
		case 'i':
			r.spec.uid = jail_uid_for((unsigned)atoi(optarg));
			r.spec.gid = (gid_t)r.spec.uid;
			break;
		case 'u': r.spec.uid = (uid_t)strtoul(optarg, NULL, 10); break;
		case 'g': r.spec.gid = (gid_t)strtoul(optarg, NULL, 10); break;
		case 'r': r.spec.root_dir = optarg; break;
		case 'H': r.spec.hostname = optarg; break;
		case 'o':
			if (nro == MAX_FILES)
				return usage();
			ro[nro++] = optarg;
			break;
		case 'w':
			if (nrw == MAX_FILES)
				return usage();
			rw[nrw++] = optarg;
			break;
		case 'd':
			if (ndev == MAX_FILES)
				return usage();
			dev[ndev++] = optarg;
			break;
		case 'q': use_qmp = 1; break;
		case 'G': cg_name = optarg; break;
		case 'm': cg_mb = (unsigned)atoi(optarg); break;
		case 'n': cg_vcpus = (unsigned)atoi(optarg); break;
		case 't': timeout_s = atol(optarg); break;
		case 'p':
			printf("%u\n", jail_uid_for((unsigned)atoi(optarg)));
			return 0;
		case 's':
			printf("%s\n", jail_qemu_sandbox_arg());
			return 0;
		case 'C':
			cgroups_init(&cg, "/jail-test", NULL);
			if (!cg.on) {
				printf("cgroup: off: %s\n", cg.why);
				return 1;
			}
			printf("cgroup: %s\n",
			       cg.mode == CGROUP_V1 ? "v1" : "v2");
			printf("cleaned: %d\n", cgroups_cleanup_stale(&cg, NULL, NULL));
			cgroups_fini(&cg);
			return 0;
		default:
			return usage();
		}
	}
	if (optind >= argc || timeout_s <= 0)
		return usage();
	r.argv = argv + optind;
	if (jail_check_spec(&r.spec, err, sizeof(err)) < 0) {
		fprintf(stderr, "jail_run: %s\n", err);
		return 2;
	}
	if (use_qmp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0) {
			perror("jail_run: socketpair");
			return 1;
		}
		r.qmp_child = qmp[1];
	}
	if (cg_name) {
		cgroups_init(&cg, "/jail-test", NULL);
		if (!cg.on) {
			printf("cgroup: off: %s\n", cg.why);
		} else {
			ncg = cgroup_qube_create(&cg, cg_name, cg_mb, cg_vcpus,
						 cgfds, err, sizeof(err));
			if (ncg < 0) {
				fprintf(stderr, "jail_run: %s\n", err);
				return 1;
			}
			printf("cgroup: %s\n",
			       cg.mode == CGROUP_V1 ? "v1" : "v2");
			for (int i = 0; i < ncg; i++) {
				printf("cgroup: %s/qube-%s\n", cg.dir[i],
				       cg_name);
				r.spec.cgroup_fds[i] = cgfds[i];
			}
		}
	}
	deadline = now_ms() + timeout_s * 1000;
	pid = jail_spawn(&r.spec, child, &r);
	for (int i = 0; i < ncg; i++)
		close(cgfds[i]);
	if (pid < 0) {
		fprintf(stderr, "jail_run: jail_spawn: %s\n", strerror(-pid));
		return 1;
	}
	if (use_qmp)
		close(qmp[1]);
	printf("pid: %d\n", (int)pid);
	if (use_qmp) {
		int e = qmp_handshake(qmp[0], deadline);

		if (e < 0)
			printf("qmp: %s\n", strerror(-e));
		else
			printf("qmp: ready\n");
	}
	/* Bounded wait: poll the child every 20 ms until the deadline. */
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror("jail_run: waitpid");
			return 1;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			if (ncg > 0) {
				cgroup_qube_remove(&cg, cg_name);
				cgroups_fini(&cg);
			}
			printf("status: timeout\n");
			return 124;
		}
		usleep(20000);
	}
	if (ncg > 0) {
		int e = cgroup_qube_remove(&cg, cg_name);

		printf("cgroup removed: %s\n", e < 0 ? strerror(-e) : "yes");
		cgroups_fini(&cg);
	}
	if (WIFSIGNALED(st)) {
		printf("status: signal %d\n", WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	printf("status: exit %d\n", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}
