/* A running qube's start (qube_vm.h): its runtime folder, the copy of
 * a disposable's private volume (a job), QEMU and its channel process
 * (started by bulkheadd's root parent: priv/priv_link.h), and the
 * record a next daemon re-attaches by. */
#ifndef BH_DAEMON_QUBE_VM_LAUNCH_H
#define BH_DAEMON_QUBE_VM_LAUNCH_H

#include "daemon/core/daemon.h"

/* Starts QEMU for dv (its name set) from spec: runtime folder, bounded
 * console log, jailed engine. On success dv is in the daemon's list,
 * booting: QEMU runs, or, when dv has a private volume to copy
 * (private_src), starts once that copy (a job, job.h) has ended; a
 * failure then is reported as a failed boot. On failure returns a
 * negative bh exit code, err says why, and nothing is left behind. */
int qube_vm_launch(struct daemon *d, struct qube_vm *dv, struct qube_spec *spec,
		   char *err, size_t cap);

/* Names spec's files for the start through bulkheadd's parent
 * (spec->kver, root_kind, root_owner, root_file): kernel_path and
 * root_path are the paths as built under the state folder, not
 * resolved. Returns 0, or -EINVAL with err said when one is not where
 * the parent looks (priv/priv_paths.h). */
int qube_spec_where(struct daemon *d, struct qube_spec *spec,
		    const char *kernel_path, const char *root_path, char *err,
		    size_t cap);

/* dv's start waits for job j before QEMU can start (a checksum of a
 * guest file, a template's new root version, a disposable's private
 * volume): dv goes into the daemon's list, booting, with j as its
 * prep_job, so that it counts as starting and killing it lets go of j.
 * j's callback goes on with the start, or ends it with
 * qube_vm_prep_failed. */
void qube_vm_wait_prep(struct daemon *d, struct qube_vm *dv, struct job *j);

/* dv's QEMU and channel process run and dv->vm.chan_fd, qmp_fd are the
 * links to the latter: dv goes into the daemon's list, booting (a
 * launch, or a re-attach: qube_attach.h). */
void qube_vm_go_live(struct daemon *d, struct qube_vm *dv);

#endif
