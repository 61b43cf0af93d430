#include "agent/handover.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"

static int handed_over;

int handover_active(void)
{
	return handed_over;
}

/* systemd starts with the signal state a fresh init would have. */
static void reset_signals(void)
{
	sigset_t none;
	int s;

	for (s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* PID 1 after a failed exec: an init that only reaps, until the agent
 * (its child) ends; then the qube powers off. */
static void reap_until(pid_t agent) __attribute__((noreturn));
static void reap_until(pid_t agent)
{
	pid_t p;
	int st;

	for (;;) {
		p = wait(&st);
		if (p == agent || (p < 0 && errno == ECHILD))
			break;
	}
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int handover_start(void)
{
	char *const argv[] = { (char *)"/sbin/init", NULL };
	pid_t pid;
	int e;

	if (access(HANDOVER_SYSTEMD, X_OK) < 0) {
		LOG_WARN("bh.init=systemd, but this template has no %s "
			 "(build it with systemd-sysv); staying on the "
			 "agent's own init",
			 HANDOVER_SYSTEMD);
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		LOG_ERR("fork for the systemd hand-over: %s; staying on "
			"the agent's own init",
			strerror(errno));
		return 0;
	}
	if (pid == 0) {
		handed_over = 1;
		return 0;
	}
	reset_signals();
	execv(HANDOVER_SYSTEMD, argv);
	e = errno;
	LOG_ERR("exec %s: %s; the agent runs without systemd",
		HANDOVER_SYSTEMD, strerror(e));
	reap_until(pid);
}

void handover_power_off(void)
{
	sigset_t term;
	unsigned i;

	if (kill(1, SIGRTMIN + 4) < 0)
		LOG_ERR("asking systemd to power off: %s", strerror(errno));
	/* The agent blocked SIGTERM for its signalfd; systemd's shutdown
	 * ends remaining processes with it. */
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
	for (i = 0; i < HANDOVER_POWEROFF_WAIT_S; i++)
		sleep(1);
	LOG_WARN("systemd did not power off in %d s; forcing it",
		 HANDOVER_POWEROFF_WAIT_S);
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}
