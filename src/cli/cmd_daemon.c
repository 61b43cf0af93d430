/* bh daemon status | stop [--keep-qubes] | restart: bulkheadd itself, over
 * admin.daemon.Info and admin.daemon.Stop. Whether a daemon runs is its
 * instance lock (daemon_running), never a connection: a connection to a
 * root without a daemon would start one, and a stopping daemon no longer
 * accepts. A restart stops the daemon leaving its qubes running, then
 * starts one as any bh does when none runs (daemon_conn.c); under
 * systemd it is `systemctl restart bulkheadd`, whose ExecStop does the
 * same stop. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/chan.h"
#include "proto/exitcodes.h"

/* How long bh waits for the daemon to exit: the qubes' shutdown is 10 s
 * of guest power-off, then QEMU quits or is killed (DISPVM_POWEROFF_MS and
 * DISPVM_QUIT_MS in the daemon), all qubes at once. */
#define STOP_WAIT_MS 60000
/* An answer to Info or Stop: a daemon that is already stopping accepts no
 * connection, so the call would wait for ever. */
#define CALL_TIMEOUT_MS 5000
/* `bh daemon status` when none runs, as LSB's "program is not running". */
#define EXIT_NOT_RUNNING 3

void cmd_daemon_help(FILE *f)
{
	fprintf(f,
		"usage: bh daemon status\n"
		"       bh daemon stop [--keep-qubes]\n"
		"       bh daemon restart\n"
		"\n"
		"status says whether bulkheadd runs for this BULKHEAD_ROOT, "
		"its pid, how it\nwas started (by systemd or directly), "
		"the pid of its control process (and\nhow many times it was "
		"started again after it died) and the qubes it runs.\n"
		"stop asks bulkheadd to stop and waits (at most 60 s) until "
		"it has exited.\nWithout --keep-qubes it shuts every running "
		"qube down first, as SIGTERM\ndoes; with --keep-qubes it "
		"leaves the persistent ones running for the next\ndaemon to "
		"re-attach to (disposables are destroyed).\n"
		"restart is stop --keep-qubes, then a new daemon started the "
		"way bh starts\none when none runs; where systemd runs "
		"bulkheadd.service, it is\n`systemctl restart bulkheadd` "
		"(the unit's ExecStop leaves the qubes running).\n"
		"None of them starts a daemon that is not running, but "
		"restart.\n"
		"\n"
		"  --keep-qubes  (stop) leave the running qubes running\n"
		"  -h, --help    show this help\n"
		"\n"
		"Exit status: 0 success (stop: also when no daemon ran), 1 "
		"failure (the\ndaemon refused or did not exit in time), 2 "
		"usage, 3 (status) no daemon\nruns; 120 bad BULKHEAD_ROOT, "
		"121 daemon unreachable or not started.\nSee bh-daemon(1).\n");
}

static int usage_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* "bh: daemon: " + message, the pointer to --help; usage status. */
static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("bh: daemon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'bh daemon --help'.\n", stderr);
	return BH_ADMIN_INVALID;
}

/* One admin call on a connection of its own, answered within timeout_ms.
 * Returns the status (text in out), or -1 when there was no answer (the
 * daemon stops, or is gone). */
static int call_timed(int fd, const char *method, const char *arg, char *out,
		      size_t cap, int timeout_ms)
{
	static uint8_t call[512];
	struct bh_frame_hdr h;
	const uint8_t *p;
	struct bh_chan ch;
	int64_t end = bh_now_ms() + timeout_ms;
	int n, r, st = -1;

	out[0] = '\0';
	bh_chan_init(&ch, fd, 2 * BH_FRAME_MAX_PAYLOAD);
	n = bh_admin_call_encode(call, sizeof(call), method, "", arg, NULL, 0);
	if (n < 0 ||
	    bh_chan_send(&ch, BH_MSG_ADMIN_CALL, 0, call, (uint32_t)n) < 0 ||
	    bh_chan_flush_all(&ch) < 0)
		goto out;
	while ((r = bh_chan_next(&ch, &h, &p)) == 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = end - bh_now_ms();
		long got;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			goto out;
		got = bh_chan_read(&ch);
		if (got <= 0 && got != -EAGAIN && got != -EINTR)
			goto out;
	}
	if (r < 0 || h.len < 4 ||
	    (h.type != BH_MSG_ADMIN_REPLY && h.type != BH_MSG_ERROR))
		goto out;
	st = (int)bh_get_u32(p);
	snprintf(out, cap, "%.*s", (int)(h.len - 4), (const char *)p + 4);
out:
	bh_chan_free(&ch);
	return st;
}

/* Info's value of key (the rest of its line) into v[cap]; "" when none. */
static void info_value(const char *info, const char *key, char *v,
		       size_t cap)
{
	size_t klen = strlen(key);
	const char *line;

	v[0] = '\0';
	for (line = info; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			line += klen + 1;
			snprintf(v, cap, "%.*s", (int)strcspn(line, "\n"),
				 line);
			return;
		}
}

/* admin.daemon.Info from the running daemon, into info[cap]: 0, or -1
 * when it does not answer (said by the caller), or a negative bh exit
 * code after saying why. */
static int fetch_info(char *info, size_t cap)
{
	int fd = daemon_connect_running(), st;

	info[0] = '\0';
	if (fd == DAEMON_NOT_LISTENING)
		return -1;
	if (fd < 0)
		return fd;
	st = call_timed(fd, "admin.daemon.Info", "", info, cap,
			CALL_TIMEOUT_MS);
	close(fd);
	if (st > 0) {
		cli_err("daemon: %s", info);
		info[0] = '\0';
		return -BH_ADMIN_FAILED;
	}
	return st < 0 ? -1 : 0;
}

static const char *root_name(void)
{
	const char *r = getenv("BULKHEAD_ROOT");

	return r && r[0] ? r : "/ (the default)";
}

static int daemon_status(void)
{
	char info[4096], v[2048];
	pid_t pid;
	int r = daemon_running(&pid);

	if (r < 0)
		return -r;
	if (r == 0) {
		printf("bulkheadd is not running (BULKHEAD_ROOT %s)\n",
		       root_name());
		return EXIT_NOT_RUNNING;
	}
	printf("bulkheadd is running (BULKHEAD_ROOT %s), pid %d\n",
	       root_name(), (int)pid);
	r = fetch_info(info, sizeof(info));
	if (r < -1)
		return -r;
	if (r < 0) {
		printf("it does not answer: it is starting or stopping\n");
		return 0;
	}
	info_value(info, "started_by", v, sizeof(v));
	printf("started %s\n", !strcmp(v, "systemd")
				       ? "by systemd (bulkheadd.service)"
				       : "directly (by bh or by hand), not "
					 "by systemd");
	info_value(info, "control_pid", v, sizeof(v));
	if (v[0]) {
		char n[32];

		info_value(info, "control_restarts", n, sizeof(n));
		printf("control process: pid %s%s%s%s\n", v,
		       strcmp(n, "0") ? " (started again " : "",
		       strcmp(n, "0") ? n : "",
		       strcmp(n, "0") ? " times after it died)" : "");
	}
	info_value(info, "stopping", v, sizeof(v));
	if (strcmp(v, "no"))
		printf("stopping%s\n", !strcmp(v, "keep-qubes")
					       ? ", leaving its qubes running"
					       : ", shutting its qubes down");
	info_value(info, "qubes_running", v, sizeof(v));
	printf("qubes running: %s", v[0] ? v : "0");
	info_value(info, "running", v, sizeof(v));
	printf("%s%s%s\n", v[0] ? " (" : "", v, v[0] ? ")" : "");
	return 0;
}

/* Waits until no daemon holds the lock, at most STOP_WAIT_MS. Returns 0,
 * 1 when it still runs, or a negative bh exit code. */
static int wait_stopped(void)
{
	int64_t end = bh_now_ms() + STOP_WAIT_MS;
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	pid_t pid;
	int r;

	while ((r = daemon_running(&pid)) == 1 && bh_now_ms() < end)
		nanosleep(&step, NULL);
	return r;
}

/* Stops the running daemon (keep: leaving its qubes running) and waits
 * for its exit; *old is its pid, 0 when none ran. Returns bh's exit
 * status. */
static int do_stop(int keep, pid_t *old)
{
	char info[4096], qubes[2048] = "", n[16] = "0", text[1024];
	int r = daemon_running(old), fd, st;

	if (r < 0)
		return -r;
	if (r == 0) {
		fprintf(stderr, "bh: daemon: no bulkheadd runs for "
				"BULKHEAD_ROOT %s: nothing to stop\n",
			root_name());
		*old = 0;
		return 0;
	}
	r = fetch_info(info, sizeof(info));
	if (r < -1)
		return -r;
	info_value(info, "qubes_running", n, sizeof(n));
	info_value(info, "running", qubes, sizeof(qubes));
	fd = r == 0 ? daemon_connect_running() : DAEMON_NOT_LISTENING;
	if (fd < DAEMON_NOT_LISTENING)
		return -fd;
	st = fd < 0 ? -1
		    : call_timed(fd, "admin.daemon.Stop",
				 keep ? "keep-qubes" : "", text, sizeof(text),
				 CALL_TIMEOUT_MS);
	if (fd >= 0)
		close(fd);
	if (st > 0) {
		cli_err("daemon: stop: %s", text);
		return st;
	}
	if (st < 0)
		fprintf(stderr,
			"bh: bulkheadd (pid %d) does not answer: it is "
			"starting or already stopping; waiting for it to "
			"exit (at most %d s)\n",
			(int)*old, STOP_WAIT_MS / 1000);
	else if (!qubes[0])
		fprintf(stderr, "bh: stopping bulkheadd (pid %d); no qube "
				"runs\n",
			(int)*old);
	else if (keep)
		fprintf(stderr,
			"bh: stopping bulkheadd (pid %d), leaving its %s "
			"running qubes running: %s\n",
			(int)*old, n, qubes);
	else
		fprintf(stderr,
			"bh: stopping bulkheadd (pid %d) and shutting down its "
			"%s running qubes first (at most %d s): %s\n",
			(int)*old, n, STOP_WAIT_MS / 1000, qubes);
	r = wait_stopped();
	if (r < 0)
		return -r;
	if (r == 1) {
		cli_err("daemon: bulkheadd (pid %d) has not exited after %d "
			"s; see `bh log`",
			(int)*old, STOP_WAIT_MS / 1000);
		return BH_ADMIN_FAILED;
	}
	fprintf(stderr, "bh: bulkheadd (pid %d) has stopped\n", (int)*old);
	return 0;
}

/* Under systemd, the unit's daemon is restarted by systemd: its ExecStop
 * runs `bh daemon stop --keep-qubes`. Returns bh's exit status. */
static int restart_with_systemd(pid_t old)
{
	pid_t now;
	int r;

	fprintf(stderr,
		"bh: restarting bulkheadd (pid %d) via systemd: systemctl "
		"restart bulkheadd.service (its ExecStop leaves the qubes "
		"running)\n",
		(int)old);
	if (daemon_systemctl("restart") != 0) {
		cli_err("daemon: systemctl restart bulkheadd.service failed; "
			"see systemctl status bulkheadd.service");
		return BH_EXIT_NODAEMON;
	}
	r = daemon_running(&now);
	if (r < 0)
		return -r;
	if (r == 0) {
		cli_err("daemon: no bulkheadd runs after the restart; see "
			"systemctl status bulkheadd.service");
		return BH_EXIT_NODAEMON;
	}
	fprintf(stderr, "bh: bulkheadd now runs as pid %d (was %d)\n",
		(int)now, (int)old);
	return 0;
}

static int daemon_restart(void)
{
	char info[4096], by[32];
	pid_t old, now;
	int r, fd;

	r = daemon_running(&old);
	if (r < 0)
		return -r;
	/* systemctl restart only for the unit's own daemon: for one started
	 * by hand, the unit's start would find the lock taken. */
	if (r == 1 && !daemon_direct_reason() &&
	    fetch_info(info, sizeof(info)) == 0) {
		info_value(info, "started_by", by, sizeof(by));
		if (!strcmp(by, "systemd"))
			return restart_with_systemd(old);
	}
	r = do_stop(1, &old);
	if (r)
		return r;
	fd = daemon_start_new();
	if (fd < 0)
		return -fd;
	close(fd);
	r = daemon_running(&now);
	if (r < 0)
		return -r;
	if (old)
		fprintf(stderr, "bh: bulkheadd now runs as pid %d (was %d)\n",
			(int)now, (int)old);
	else
		fprintf(stderr, "bh: bulkheadd now runs as pid %d\n",
			(int)now);
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-qubes", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub;
	pid_t old;
	int o, keep = 0;

	if (argc < 2)
		return usage_err("needs status, stop or restart");
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		cmd_daemon_help(stdout);
		return 0;
	}
	if (strcmp(sub, "status") && strcmp(sub, "stop") &&
	    strcmp(sub, "restart"))
		return usage_err("unknown command '%s' (status, stop or "
				 "restart)",
				 sub);
	optind = 1;
	while ((o = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			if (strcmp(sub, "stop"))
				return usage_err("--keep-qubes is for stop, "
						 "not %s",
						 sub);
			keep = 1;
			break;
		case 'h':
			cmd_daemon_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh daemon --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind + 1 < argc)
		return usage_err("unexpected argument '%s'", argv[optind + 1]);
	if (!strcmp(sub, "status"))
		return daemon_status();
	if (!strcmp(sub, "stop"))
		return do_stop(keep, &old);
	return daemon_restart();
}
