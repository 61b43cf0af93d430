#include "daemon/qube/qube_vm.h"
#include "daemon/jobs/job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "proto/exitcodes.h"

/* The end of a file is all we show: read at most this much of it. */
#define TAIL_READ_MAX (64 * 1024)

void tail_escaped(const char *path, int lines, char *out, size_t cap)
{
	char *text = malloc(TAIL_READ_MAX);
	size_t len = 0, start, o = 0;
	struct stat st;
	int seen = 0, fd;
	ssize_t n;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!text || fd < 0 || fstat(fd, &st) < 0)
		goto out;
	n = pread(fd, text, TAIL_READ_MAX,
		  st.st_size > TAIL_READ_MAX ? st.st_size - TAIL_READ_MAX : 0);
	if (n <= 0)
		goto out;
	len = (size_t)n;
	start = len;
	while (start > 0) {
		if (text[start - 1] == '\n' && start != len && ++seen >= lines)
			break;
		start--;
	}
	for (; start < len && o + 5 < cap; start++) {
		unsigned char ch = (unsigned char)text[start];

		if (ch == '\n' || (ch >= 0x20 && ch < 0x7f)) {
			out[o++] = (char)ch;
		} else if (ch != '\r') {
			snprintf(out + o, cap - o, "\\x%02x", ch);
			o += 4;
		}
	}
	out[o] = '\0';
out:
	if (fd >= 0)
		close(fd);
	free(text);
}

/* Records the first failure of a run; later ones are consequences. */
void qube_vm_error(struct qube_vm *dv, int code, const char *fmt, ...)
{
	va_list ap;

	if (dv->err_code)
		return;
	dv->err_code = code;
	va_start(ap, fmt);
	vsnprintf(dv->err_msg, sizeof(dv->err_msg), fmt, ap);
	va_end(ap);
	LOG_WARN("%s: %s", dv->name, dv->err_msg);
}

/* Signals a qube's QEMU or channel process. Both run as uids of their
 * own; bulkheadd's root parent sends the signal on control's request
 * (priv/priv_link.h): it knows them by name (its children, or a
 * re-attached qube's by pidfd), so a pid reused since is never
 * signalled. */
static void signal_proc(struct qube_vm *dv, uint32_t which, int pidfd,
			pid_t pid, int sig)
{
	int r;

	/* Without a parent (unit tests), a re-attached qube's by its
	 * pidfd; the parent keeps re-attached ones too (ATTACH). */
	if (dv->adopted && dv->d->priv.fd < 0) {
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
		return;
	}
	if (pid <= 0)
		return;
	r = priv_link_kill(&dv->d->priv, dv->name, which, sig);
	if (r < 0)
		LOG_WARN("%s: cannot ask bulkheadd's parent to signal its %s: "
			 "%s",
			 dv->name, which == BH_PRIV_QEMU ? "QEMU"
							 : "channel process",
			 strerror(-r));
}

void qube_vm_signal_qemu(struct qube_vm *dv, int sig)
{
	signal_proc(dv, BH_PRIV_QEMU, dv->qemu_pidfd, dv->vm.pid, sig);
}

void qube_vm_signal_chan(struct qube_vm *dv, int sig)
{
	signal_proc(dv, BH_PRIV_CHAN, dv->chan_pidfd, dv->chan_pid, sig);
}

void qube_vm_kill(struct qube_vm *dv)
{
	/* Still waiting for a job (qube_vm_wait_prep): no QEMU yet. It
	 * lets go of the job, once, which ends it unless other starts wait
	 * for it too (a checksum: qube_boot.h); its own start ends when
	 * the job does. */
	if (dv->prep_job && dv->state != DV_STOPPING)
		job_release(dv->prep_job, "the qube was stopped before QEMU "
					  "started");
	/* The copy for its snapshot (dispvm_snapshot.c) is of no use now. */
	if (dv->snap_job)
		job_cancel(dv->snap_job, "the qube was stopped");
	if (dv->vm_alive && !dv->kill_sent) {
		qube_vm_signal_qemu(dv, SIGKILL);
		dv->kill_sent = 1;
	}
	dv->state = DV_STOPPING;
}

void qube_vm_abort(struct qube_vm *dv, const char *why)
{
	dv->no_fallback = 1;
	if (dv->persistent && !dv->stop_reason)
		dv->stop_reason = why;
	if (qube_vm_live(dv) && !dv->have_exit)
		qube_vm_error(dv, BH_EXIT_FAILURE, "%s; qube %s was destroyed", why,
			 dv->name);
	qube_vm_kill(dv);
}

/* Asks QEMU to go: the guest already powers off on its own after its job,
 * so this is for failures. */
void qube_vm_destroy(struct qube_vm *dv)
{
	qube_vm_kill(dv);
}

struct qube_vm *qube_find_running(struct daemon *d, const char *name)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (dv->persistent && !strcmp(dv->name, name))
			return dv;
	return NULL;
}

void qube_vm_unlink_free(struct qube_vm *dv)
{
	struct qube_vm **pp;

	for (pp = &dv->d->qubes; *pp; pp = &(*pp)->next)
		if (*pp == dv) {
			*pp = dv->next;
			break;
		}
	if (dv->adopted) {
		if (dv->qemu_pidfd >= 0)
			close(dv->qemu_pidfd);
		if (dv->chan_pidfd >= 0)
			close(dv->chan_pidfd);
	}
	bh_chan_free(&dv->chan);
	free(dv->exec_req);
	free(dv->snap_manifest);
	/* Only a take holds it; a persistent qube's is never set (0). */
	if (dv->snap == DVS_TAKE && dv->snap_fd >= 0)
		close(dv->snap_fd);
	free(dv);
}
