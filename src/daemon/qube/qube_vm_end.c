#include "daemon/qube/qube_vm_end.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/client_send.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_chan.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* The qube's end, however it came: its runtime folder removed, the end
 * logged ("stopped" or "destroyed", then when, then "after N ms"), its
 * bh and the others told, dv freed. */
static void report_and_free(struct qube_vm *dv, const char *when)
{
	struct daemon *d = dv->d;
	struct client *c = dv->client;
	int r = bh_rm_rf(dv->run_dir);

	if (r < 0)
		LOG_ERR("%s: cannot remove %s: %s", dv->name, dv->run_dir,
			strerror(-r));
	LOG_INFO("%s: %s%s after %lld ms", dv->name,
		 dv->persistent ? "stopped" : "destroyed", when,
		 (long long)(bh_now_ms() - dv->started_ms));
	if (c) {
		c->dv = NULL;
		if (dv->have_exit && !dv->err_code) {
			uint8_t p[8];

			bh_put_u32(p, dv->exit_kind);
			bh_put_u32(p + 4, dv->exit_value);
			bh_chan_send(&c->chan, BH_MSG_EXIT, 1, p, sizeof(p));
			c->closing = 1;
		} else {
			client_error(c, dv->err_code ? dv->err_code
						     : BH_EXIT_FAILURE,
				     "%s", dv->err_msg);
		}
	}
	d->hooks->rpc_ask_caller_gone(d, dv);
	qs_qube_gone(dv, dv->err_code ? dv->err_msg : "it stopped");
	qube_log_flush(&dv->log_limit, dv->name, 1);
	if (dv->persistent)
		dv->d->hooks->qube_stopped(dv);
	qube_vm_unlink_free(dv);
}

/* A start that failed after qube_vm_launch had returned: reported as if
 * QEMU had ended before it was ready, to the qube's bh and waiters. */
void qube_vm_prep_failed(struct qube_vm *dv)
{
	report_and_free(dv, " before QEMU started,");
}

static void qube_vm_ended(struct qube_vm *dv, int wstatus);

void qube_vm_reaped(struct qube_vm *dv, int wstatus)
{
	int r;

	dv->vm_alive = 0;
	/* QEMU is reaped, so its group is empty (a relaunch makes it
	 * again). bulkheadd's parent keeps the groups (it reaps its QEMUs,
	 * and sees a re-attached one's end by its pidfd); without it (unit
	 * tests) a re-attached qube's goes here. */
	r = dv->adopted && dv->d->priv.fd < 0
		    ? cgroup_qube_remove(&dv->d->cgroups, dv->name)
		    : 0;
	if (r < 0)
		LOG_WARN("%s: cannot remove its cgroup: %s", dv->name,
			 strerror(-r));
	/* What the guest sent before it went (EXIT may be in it) and the
	 * logs' last lines (for an error message) are with the channel
	 * process until it has handed them on and closed the link. */
	if (!dv->err_code)
		qube_vm_agent_input(dv);
	if (dv->link_eof) {
		qube_vm_ended(dv, wstatus);
		return;
	}
	dv->qemu_ended = 1;
	dv->qemu_wstatus = wstatus;
	dv->link_deadline_ms = bh_now_ms() + CHAN_DRAIN_MS;
}

/* The channel process is gone while QEMU runs: the qube cannot be
 * reached any more, and ends. */
static void chan_gone(struct qube_vm *dv)
{
	qube_vm_error(dv, BH_EXIT_FAILURE,
		      "the channel process of qube %s ended while the qube "
		      "ran; the qube was destroyed",
		      dv->name);
	dv->link_deadline_ms = 0;
	qube_vm_destroy(dv);
}

void qube_vm_chan_reaped(struct qube_vm *dv, int wstatus)
{
	dv->chan_pid = 0;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		return;
	if (WIFSIGNALED(wstatus))
		LOG_WARN("%s: its channel process was killed by signal %d%s",
			 dv->name, WTERMSIG(wstatus),
			 WTERMSIG(wstatus) == SIGSYS
				 ? " (a system call outside its seccomp list)"
				 : "");
	else
		LOG_WARN("%s: its channel process exited with status %d",
			 dv->name, WEXITSTATUS(wstatus));
	if (dv->vm_alive)
		chan_gone(dv);
}

void qube_vm_chan_lost(struct qube_vm *dv)
{
	dv->chan_pid = 0;
	if (!dv->vm_alive)
		return;
	LOG_WARN("%s: its channel process ended while the qube ran", dv->name);
	chan_gone(dv);
}

int64_t qube_vm_finish_ended(struct daemon *d, int64_t now_ms)
{
	struct qube_vm *dv, *next;
	int64_t due = -1;

	for (dv = d->qubes; dv; dv = next) {
		next = dv->next;
		if (!dv->qemu_ended)
			continue;
		if (!dv->link_eof && now_ms < dv->link_deadline_ms) {
			if (due < 0 || dv->link_deadline_ms < due)
				due = dv->link_deadline_ms;
			continue;
		}
		if (!dv->link_eof) {
			LOG_WARN("%s: its channel process did not end %d ms "
				 "after QEMU; killing it",
				 dv->name, CHAN_DRAIN_MS);
			if (dv->chan_pid > 0)
				qube_vm_signal_chan(dv, SIGKILL);
			dv->link_eof = 1;
		}
		dv->qemu_ended = 0;
		qube_vm_ended(dv, dv->qemu_wstatus);
	}
	return due;
}

/* QEMU is reaped and the channel process has handed on all it had. */
static void qube_vm_ended(struct qube_vm *dv, int wstatus)
{
	char console[4200], qemu_log[4200], tail[3000], qtail[1500];

	if (dv->d->hooks->snapshot_fallback(dv)) {
		close(dv->vm.chan_fd);
		close(dv->vm.qmp_fd);
		close(dv->vm.console_fd);
		close(dv->vm.log_fd);
		if (dv->d->hooks->disposable_relaunch_cold(dv) == 0)
			return;
		/* Reported below, as any failure to start. */
		dv->vm.chan_fd = dv->vm.qmp_fd = dv->vm.console_fd = -1;
		dv->vm.log_fd = -1;
	}
	/* A persistent qube that stops between commands is no failure. */
	if (!dv->have_exit && !dv->err_code &&
	    (!dv->persistent || dv->client || dv->state == DV_BOOTING)) {
		snprintf(console, sizeof(console), "%s/console.log",
			 dv->run_dir);
		snprintf(qemu_log, sizeof(qemu_log), "%s/qemu.log",
			 dv->run_dir);
		tail_escaped(console, CONSOLE_TAIL_LINES, tail, sizeof(tail));
		tail_escaped(qemu_log, 5, qtail, sizeof(qtail));
		if (dv->state == DV_BOOTING)
			qube_vm_error(dv, BH_EXIT_NOTREADY,
				 "qube %s stopped before it was ready (QEMU "
				 "%s %d).\nQEMU said:\n%s\nLast console "
				 "lines:\n%s",
				 dv->name,
				 WIFSIGNALED(wstatus) ? "killed by signal"
						      : "exit status",
				 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus)
						      : WEXITSTATUS(wstatus),
				 qtail, tail);
		else
			qube_vm_error(dv, BH_EXIT_FAILURE,
				 "qube %s stopped before its command "
				 "finished.\nLast console lines:\n%s",
				 dv->name, tail);
	}
	if (dv->vm.chan_fd >= 0) {
		close(dv->vm.chan_fd);
		close(dv->vm.qmp_fd);
		close(dv->vm.console_fd);
		close(dv->vm.log_fd);
	}
	report_and_free(dv, "");
}

void qube_vm_tick(struct qube_vm *dv, int64_t now_ms)
{
	char console[4200], tail[3000];

	qube_log_flush(&dv->log_limit, dv->name, 0);
	if (dv->vm_alive && dv->link_eof && dv->link_deadline_ms &&
	    now_ms >= dv->link_deadline_ms && !dv->kill_sent)
		chan_gone(dv);
	if (!dv->deadline_ms || now_ms < dv->deadline_ms || !dv->vm_alive)
		return;
	if (dv->state == DV_BOOTING && dv->adopted && !dv->attach_seen) {
		qube_vm_error(dv, BH_EXIT_FAILURE,
			      "the channel process of qube %s did not answer "
			      "the re-attach within %d s; the qube was "
			      "destroyed",
			      dv->name, CHAN_ATTACH_REPLY_MS / 1000);
		qube_vm_kill(dv);
		dv->deadline_ms = 0;
		return;
	}
	if (dv->state == DV_BOOTING) {
		snprintf(console, sizeof(console), "%s/console.log",
			 dv->run_dir);
		tail_escaped(console, CONSOLE_TAIL_LINES, tail, sizeof(tail));
		qube_vm_error(dv, BH_EXIT_NOTREADY,
			 "qube %s was not ready after %d s; it was destroyed. "
			 "Last console lines:\n%s",
			 dv->name, dv->d->boot_timeout_ms / 1000, tail);
		qube_vm_kill(dv);
		dv->deadline_ms = 0;
		return;
	}
	if (!dv->quit_sent) {
		LOG_WARN("%s: did not power off; asking QEMU to quit",
			 dv->name);
		dv->quit_sent = 1;
		if (qmp_command(&dv->qmp, "quit") == 0) {
			dv->deadline_ms = now_ms + DISPVM_QUIT_MS;
			return;
		}
	}
	LOG_WARN("%s: QEMU did not quit; killing it", dv->name);
	qube_vm_kill(dv);
	dv->deadline_ms = 0;
}
