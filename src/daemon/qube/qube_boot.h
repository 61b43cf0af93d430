/* What a qube boots from: the root image (its own, or its template's
 * current version), the private volume (made at first start), the kernel
 * options with init=systemd's, memory and vCPUs; and what a disposable of
 * a disposable template boots (struct dvm_boot). Read from the store and
 * the state folder; nothing here starts anything (qube_power.c does). */
#ifndef BH_DAEMON_QUBE_BOOT_H
#define BH_DAEMON_QUBE_BOOT_H

#include <stddef.h>
#include <sys/types.h>

#include "daemon/core/daemon.h"

/* The root image q boots from into out, and whether QEMU may write it
 * (a StandaloneVM's, or a template's work copy in dv). */
int qube_boot_root(struct daemon *d, const struct qube_info *q,
		   struct qube_vm *dv, char *out, size_t cap, int *writable,
		   char *err, size_t ecap);
/* A whole-number property of name, or fallback when unset or unreadable. */
unsigned qube_boot_prop_uint(struct daemon *d, const char *name,
			     const char *prop, unsigned fallback);
/* The private volume of name, made if missing, handed to uid. */
int qube_boot_private(struct daemon *d, const char *name, uid_t uid,
		      char *out, size_t cap, char *err, size_t ecap);
/* kopts with bh.init=systemd after them when q (or what it is made
 * from) has the feature init=systemd. */
int qube_boot_init_opts(struct daemon *d, const struct qube_info *q,
			const char *kopts, char *out, size_t cap, char *err,
			size_t ecap);

/* What a disposable made from the disposable template dvm boots: the
 * root of dvm's template (current version, read-only), dvm's private
 * volume to copy (never opened by the disposable itself), and dvm's
 * kernel (checked into d->guest), kernelopts, memory and vcpus. */
struct dvm_boot {
	char root[4096];
	char private_src[4096];
	char kopts[1200];
	unsigned memory_mb, vcpus;
};

/* Fills b for dvm, or refuses with a message that says what to do:
 * -ESRCH no such qube, -EINVAL not a disposable template, -EBUSY dvm
 * running (its volume would change under the copy), -ENODATA an image
 * missing, -EIO the store failed, or guest_files_check's error. */
int qube_dvm_boot(struct daemon *d, const char *dvm, struct dvm_boot *b,
		  char *err, size_t cap);

#endif
