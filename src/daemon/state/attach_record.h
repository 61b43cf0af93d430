/* What a daemon leaves in each running qube's runtime folder for the
 * daemon after it (issue 12, point 2: a restarted daemon re-attaches to
 * the qubes still running; qube/qube_attach.h).
 *
 * RUN_DIR/qemu.pid and RUN_DIR/chan.pid name QEMU and the channel
 * process (engine/leftover_qemu.h: pid and start time, so a reused pid is
 * never taken for them); RUN_DIR/chan.sock is where the channel process
 * waits for a new daemon (proto/chan_attach.h); RUN_DIR/qube.attach says
 * what the daemon cannot learn from the store or the channel process:
 *
 *   bulkhead-attach 1
 *   persistent 0|1
 *   tmpl PATH-OF-TEMPLATE-FOLDER PATH-OF-ROOT-VERSION-BEING-WRITTEN
 *
 * (the tmpl line only for a running TemplateVM), and RUN_DIR/paused is
 * there while the qube is paused. RUN_DIR/dataports names the direct data
 * ports (relay/dataport.h) plugged into its QEMU, so that the next daemon
 * unplugs them (the call each was for went with this daemon):
 *
 *   bulkhead-dataports 1
 *   N
 *   ...
 *
 * one line a port (1 <= N < BH_DATAPORT_N_MAX, decimal, each once), at
 * most ATTACH_PORTS_MAX; no file when there is none. The runtime folder
 * is root's (0700): these files are the daemon's own, yet read back with
 * every field checked. */
#ifndef BH_DAEMON_ATTACH_RECORD_H
#define BH_DAEMON_ATTACH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/chan_proc.h"
#include "daemon/engine/engine.h"

#define ATTACH_RECORD_FILE "qube.attach"
#define PAUSED_FILE "paused"
#define DATAPORTS_FILE "dataports"
/* Ports one qube has at once: one a virtio-serial port the engine gives
 * it for them. */
#define ATTACH_PORTS_MAX ENGINE_DATA_PORTS_MAX

struct attach_record {
	int persistent;
	/* A running TemplateVM's folder and the root version it writes
	 * (qube_vm.tmpl_dir, tmpl_work); "" otherwise. */
	char tmpl_dir[4096];
	char tmpl_work[4096];
};

/* Writes RUN_DIR/qube.attach (a temporary, then renamed). 0 or a
 * negative errno. */
int attach_record_write(const char *run_dir, const struct attach_record *r);

/* Reads it back. 0, -ENOENT (no record: a daemon from before records),
 * -EPROTO (malformed: a line or field off, a path not absolute or with a
 * newline), or another negative errno. */
int attach_record_read(const char *run_dir, struct attach_record *r);

/* Writes RUN_DIR/dataports with the count numbers of n (a temporary,
 * then renamed), or removes it when count is 0. 0, -EINVAL (more than
 * ATTACH_PORTS_MAX, or a number out of range), or a negative errno. */
int attach_record_write_ports(const char *run_dir, const uint32_t *n,
			      size_t count);
/* Reads it back into n[ATTACH_PORTS_MAX], *count set. 0 (*count 0 when
 * there is no file), -EPROTO (malformed: the magic, a number, a
 * duplicate, too many lines) with *count 0, or another negative errno. */
int attach_record_read_ports(const char *run_dir,
			     uint32_t n[ATTACH_PORTS_MAX], size_t *count);

/* Creates or removes RUN_DIR/paused. 0 or a negative errno. */
int attach_record_set_paused(const char *run_dir, int paused);
/* 1 when RUN_DIR/paused is there, else 0. */
int attach_record_paused(const char *run_dir);

#endif
