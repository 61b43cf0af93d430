/* Snapshots of booted disposables (issue 5; docs/disposable-snapshots.md).
 *
 * The first disposable of each disposable template (or of the minimal
 * template, for disposables without one) boots cold. Right after its
 * agent's HELLO, before its job, the daemon stops it, migrates its state
 * into STATE/snapshots/KEY/state over an fd (QMP getfd + migrate fd:),
 * keeps a copy of its private volume beside it, writes a manifest of
 * everything the snapshot depends on, lets it go on and runs its job.
 *
 * Each later disposable starts QEMU paused with `-incoming defer`, the
 * state file inherited read-only; the daemon sends migrate-incoming,
 * waits for the MIGRATION event "completed", queues the agent's RESUME
 * (clock, entropy, name: proto/frame.h) and sends cont. The agent
 * answers HELLO and the usual ready path runs.
 *
 * The manifest names QEMU, the accelerator, memory, vCPUs, kernel
 * options, and the identity (device, inode, size, mtime, ctime) of the
 * kernel, initramfs, root image and the disposable template's private
 * volume. A snapshot whose manifest differs from the qube about to start
 * is stale and never used: that qube boots cold and replaces it. A
 * restore that fails (QEMU exits, or the load fails) falls back to a cold
 * boot of the same qube, and the log says so.
 *
 * The RAM is in the state file, not in a shared memory-backend-file:
 * QEMU 7.2 opens a mem-path read-write even when it maps it private, so
 * every restored QEMU could write the RAM image all later disposables
 * start from (docs/disposable-snapshots.md, "Why not the RAM file"). */
#ifndef BH_DAEMON_DISPVM_SNAPSHOT_H
#define BH_DAEMON_DISPVM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* The most a manifest (and its inputs) may take. */
#define SNAPSHOT_MANIFEST_MAX 16384u

struct daemon;
struct qube_vm;
struct qube_spec;

/* Decides how the disposable dv, about to launch with spec, starts: from
 * a valid snapshot (sets spec->restore_fd, spec->cmdline_name and
 * dv->private_src to the snapshot's), or cold, taking a snapshot after
 * boot when none is valid. Never fails the start: any problem means a
 * cold boot, logged. cmdline_name is storage for spec->cmdline_name. */
void snapshot_prepare(struct daemon *d, struct qube_vm *dv,
		      struct qube_spec *spec, char *cmdline_name,
		      size_t cmdline_cap);

/* The agent of dv said HELLO. Returns 1 when a snapshot is being taken
 * (the ready path runs later, from snapshot_qmp_event), else 0. */
int snapshot_on_hello(struct qube_vm *dv);

/* After QMP input: moves a restore or a snapshot along (migrate-incoming
 * once QMP is up, RESUME and cont once loaded, finishing a snapshot). */
void snapshot_qmp_event(struct qube_vm *dv);

/* Lets dv run: queues the agent's RESUME (the time now, 64 bytes of
 * fresh entropy, dv's name; flags: BH_RESUME_WARM for a preloaded qube's
 * warm-up), then QMP cont. */
int snapshot_resume(struct qube_vm *dv, uint32_t flags);

/* dv's QEMU is gone. Returns 1 when dv was restoring and never got to
 * its agent: the caller boots the same qube cold (the log says why). */
int snapshot_fallback(struct qube_vm *dv);

/* At start-up: removes half-built and replaced snapshot folders a killed
 * daemon left. */
void snapshot_cleanup_stale(const struct daemon *d);

/* The manifest's inputs for tests: fills out with the lines snapshot
 * validity is decided on. Returns 0 or -errno (a file cannot be
 * stat'ed). */
int snapshot_manifest_inputs(const char *qemu, const struct qube_spec *spec,
			     int kvm, const char *private_src, char *out,
			     size_t cap);

#endif
