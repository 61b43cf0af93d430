/* What a qube boots from: the guest's kernel, initramfs and template root
 * checked against their checksums (in jobs when they changed), the root
 * image (its own, or its template's current version), the private volume
 * (made at first start), the kernel options with init=systemd's, memory
 * and vCPUs; and what a disposable of a disposable template boots
 * (struct dvm_boot). Read from the store and the state folder; nothing
 * here starts QEMU (qube_power.c and dispvm_new.c do). */
#ifndef BH_DAEMON_QUBE_BOOT_H
#define BH_DAEMON_QUBE_BOOT_H

#include <stddef.h>
#include <sys/types.h>

#include "daemon/core/daemon.h"

/* How the check of a start's guest files ended: r 0 (d->guest holds
 * them, verified), -ECANCELED (the start was stopped: err says why) or
 * another error with the message for the user in err. */
typedef void (*qube_boot_files_fn)(void *ctx, int r, const char *err);

/* Checks the guest files the start of dv boots (guest_files.h): kernel
 * version kernel (NULL or "" for the current one), its initramfs, and
 * template tmpl's root. Returns 0 when each is as it was when last
 * verified (d->guest holds them); -ENOENT, -EBADMSG or -EINVAL with err;
 * or 1 when a checksum must be computed first: that is a job (JOB_HASH),
 * one per file, shared by every start that needs the same file, and dv
 * waits for it (qube_vm_wait_prep) until fn(ctx, r, err) says how the
 * whole check ended. Killing dv meanwhile ends its wait once the job is
 * over (or the job itself, when no other start waits for it). */
int qube_boot_check_files(struct daemon *d, struct qube_vm *dv,
			  const char *kernel, const char *tmpl,
			  qube_boot_files_fn fn, void *ctx, char *err,
			  size_t cap);

/* The root image q boots from into out, and whether QEMU may write it
 * (a StandaloneVM's, or a template's new version in dv). For a
 * TemplateVM, out (dv->tmpl_work) does not exist yet: copy_src is the
 * current version to copy there before it starts (a job, the caller's);
 * "" for every other class. */
int qube_boot_root(struct daemon *d, const struct qube_info *q,
		   struct qube_vm *dv, char *out, size_t cap, int *writable,
		   char *copy_src, size_t scap, char *err, size_t ecap);
/* A whole-number property of name, or fallback when unset or unreadable. */
unsigned qube_boot_prop_uint(struct daemon *d, const char *name,
			     const char *prop, unsigned fallback);
/* The private volume of name into out, its folder made. *missing when
 * it does not exist: the caller makes it (an empty one of
 * VOLUME_PRIVATE_DEFAULT bytes: a JOB_MKE2FS job) before the start
 * (bulkheadd's parent hands it to the qube's uid). */
int qube_boot_private(struct daemon *d, const char *name, char *out,
		      size_t cap, int *missing, char *err, size_t ecap);
/* kopts with bh.init=systemd after them when q (or what it is made
 * from) has the feature init=systemd. */
int qube_boot_init_opts(struct daemon *d, const struct qube_info *q,
			const char *kopts, char *out, size_t cap, char *err,
			size_t ecap);

/* What a disposable made from the disposable template dvm boots: the
 * root of dvm's template (current version, read-only), dvm's private
 * volume to copy (never opened by the disposable itself), and dvm's
 * kernel version (for qube_boot_check_files; "" for the current one),
 * kernelopts, memory and vcpus. */
struct dvm_boot {
	char root[4096];
	char private_src[4096];
	char kver[128];
	char kopts[1200];
	unsigned memory_mb, vcpus;
};

/* Fills b for dvm, or refuses with a message that says what to do:
 * -ESRCH no such qube, -EINVAL not a disposable template, -EBUSY dvm
 * running (its volume would change under the copy), -ENODATA an image
 * missing, -EIO the store failed. The kernel is not checked here. */
int qube_dvm_boot(struct daemon *d, const char *dvm, struct dvm_boot *b,
		  char *err, size_t cap);

#endif
