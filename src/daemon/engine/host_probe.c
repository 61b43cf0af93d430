/* Host probes for admin.host.Info: /proc/cpuinfo, /proc/meminfo and
 * `QEMU --version`. */
#include "daemon/engine/host_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

/* "key<tabs>: value" -> value when the line's key is key, else NULL. */
static const char *field(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n))
		return NULL;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != ':')
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* Copies s into out without its trailing newline, control characters
 * replaced by '?', so that it fits on one key=value line. */
static void one_line(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; *s && *s != '\n' && i + 1 < cap; s++)
		out[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[i] = '\0';
}

/* Whether the space-separated list has word w. */
static int has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w))) {
		if ((p == list || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return 1;
		p += n;
	}
	return 0;
}

int host_cpu_read(const char *cpuinfo, struct host_cpu *c)
{
	FILE *f = fopen(cpuinfo, "re");
	char *line = NULL;
	size_t cap = 0;
	int model = 0, flags = 0;

	snprintf(c->model, sizeof(c->model), "unknown");
	c->virt = "none";
	if (!f)
		return -errno;
	/* The first CPU's block has both; every CPU repeats them. */
	while ((!model || !flags) && getline(&line, &cap, f) > 0) {
		const char *v;

		if (!model && (v = field(line, "model name")) && *v != '\n') {
			one_line(c->model, sizeof(c->model), v);
			model = 1;
		} else if (!flags && (v = field(line, "flags"))) {
			c->virt = has_word(v, "vmx")   ? "vmx"
				  : has_word(v, "svm") ? "svm"
						       : "none";
			flags = 1;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

int host_meminfo_read(const char *meminfo, long *total_mib,
		      long *available_mib)
{
	FILE *f = fopen(meminfo, "re");
	char *line = NULL;
	size_t cap = 0;

	*total_mib = *available_mib = -1;
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		const char *v;

		/* Values are in kB. */
		if ((v = field(line, "MemTotal")))
			*total_mib = strtol(v, NULL, 10) / 1024;
		else if ((v = field(line, "MemAvailable")))
			*available_mib = strtol(v, NULL, 10) / 1024;
	}
	free(line);
	fclose(f);
	return 0;
}

/* Starts qemu --version with its stdout on out_fd. */
static int spawn_version(const char *qemu, int out_fd, pid_t *pid)
{
	static char *const env[] = { "PATH=/usr/local/bin:/usr/bin:/bin",
				     "LC_ALL=C", NULL };
	char *const argv[] = { (char *)qemu, "--version", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, deflt;
	int r;

	/* The daemon blocks signals for its signalfd and ignores SIGPIPE;
	 * the child must not inherit either. */
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	if ((r = posix_spawn_file_actions_init(&fa)))
		return -r;
	if ((r = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	if (!(r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
							POSIX_SPAWN_SETSIGDEF)) &&
	    !(r = posix_spawnattr_setsigmask(&at, &none)) &&
	    !(r = posix_spawnattr_setsigdefault(&at, &deflt)) &&
	    !(r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						   O_RDONLY, 0)) &&
	    !(r = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) &&
	    !(r = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
						   O_WRONLY, 0)))
		r = posix_spawn(pid, qemu, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/* Reads the child's output until EOF, the deadline, or an error. Keeps
 * the first cap - 1 bytes and drains the rest. Returns 0 at EOF,
 * -ETIMEDOUT, or -errno. */
static int read_until_eof(int fd, int64_t deadline, char *buf, size_t cap,
			  size_t *used)
{
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - bh_now_ms();
		char sink[256];
		int keep = *used + 1 < cap;
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = keep ? read(fd, buf + *used, cap - 1 - *used)
			 : read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (keep)
			*used += (size_t)n;
	}
}

/* Reaps pid, waiting until the deadline; then kills it and reaps it.
 * Returns its wait status, or -ETIMEDOUT when it had to be killed. */
static int reap_by(pid_t pid, int64_t deadline)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -errno; /* should not happen: it is our child */
		if (r == 0 && bh_now_ms() >= deadline)
			break;
		if (r == 0)
			nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

int host_qemu_version(const char *qemu, int timeout_ms, char *out,
		      size_t cap)
{
	int64_t deadline = bh_now_ms() + timeout_ms;
	char buf[512];
	size_t used = 0;
	pid_t pid;
	int p[2], r, st;

	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(out, cap, "cannot run it: %s", strerror(-r));
		return r;
	}
	r = spawn_version(qemu, p[1], &pid);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		snprintf(out, cap, "cannot run it: %s", strerror(-r));
		return r;
	}
	r = read_until_eof(p[0], deadline, buf, sizeof(buf), &used);
	close(p[0]);
	buf[used] = '\0';
	/* After a timeout or a read error, kill at once. */
	st = reap_by(pid, r < 0 ? 0 : deadline);
	if (r == -ETIMEDOUT || (r == 0 && st == -ETIMEDOUT)) {
		if (timeout_ms % 1000)
			snprintf(out, cap, "no answer within %d ms; killed",
				 timeout_ms);
		else
			snprintf(out, cap, "no answer within %d s; killed",
				 timeout_ms / 1000);
		return -ETIMEDOUT;
	}
	if (r < 0 || st < 0) {
		snprintf(out, cap, "cannot read its output: %s",
			 strerror(r < 0 ? -r : -st));
		return r < 0 ? r : st;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !buf[0] ||
	    buf[0] == '\n') {
		if (WIFSIGNALED(st))
			snprintf(out, cap, "it died of signal %d",
				 WTERMSIG(st));
		else
			snprintf(out, cap, "it exited %d without a version",
				 WEXITSTATUS(st));
		return -EIO;
	}
	one_line(out, cap, buf);
	return 0;
}
