/* The daemon's one context struct and the objects it owns. */
#ifndef BH_DAEMON_DAEMON_H
#define BH_DAEMON_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/console_log.h"
#include "daemon/engine.h"
#include "daemon/guest_files.h"
#include "daemon/qmp.h"
#include "lib/paths.h"
#include "proto/chan.h"
#include "proto/credit.h"

/* Disposables are dispN, N in 1..DISPVM_MAX_NO (as in Qubes); their jail
 * ids are DISPVM_JAIL_ID_BASE + N, above any persistent qube's id. */
#define DISPVM_MAX_NO 9999
#define DISPVM_JAIL_ID_BASE 50000
/* A disposable's memory; enough for busybox and small tools. */
#define DISPVM_MEMORY_MB 256
#define DISPVM_VCPUS 1
/* Free space a qube's runtime files need (console and QEMU logs). */
#define DISPVM_MIN_FREE_MB 64
/* After the command's exit, how long the guest may take to power off
 * before QMP `quit`, and after that before SIGKILL. */
#define DISPVM_POWEROFF_MS 10000
#define DISPVM_QUIT_MS 3000
/* Default time from QEMU's start to the agent's HELLO. Under TCG a qube
 * is ready in ~2 s; a loaded CI machine can be several times slower. */
#define DEFAULT_BOOT_TIMEOUT_MS 60000
/* A relay stops reading one side while the other side's queue holds this
 * much. Credit bounds payload but not frame headers (a guest may send
 * 1-byte frames); one read adds at most one input buffer, so queues stay
 * below RELAY_PAUSE_BYTES + sizeof(bh_chan.in) + a frame. */
#define RELAY_PAUSE_BYTES BH_STREAM_WINDOW
/* Queue bounds that follow from it: refusing past them is a safety net. */
#define DISPVM_CHAN_OUT_MAX (2u * BH_STREAM_WINDOW + 4u * BH_FRAME_MAX_PAYLOAD)
/* Lines of console log shown when a qube fails to boot. */
#define CONSOLE_TAIL_LINES 15

struct client;
struct store;

enum dispvm_state {
	DV_BOOTING,  /* QEMU started, waiting for HELLO */
	DV_RUNNING,  /* command running */
	DV_STOPPING, /* waiting for QEMU to exit */
};

struct dispvm {
	struct dispvm *next;
	struct daemon *d;
	char name[32];
	char run_dir[4096];
	enum dispvm_state state;
	struct engine_vm vm;
	int vm_alive; /* QEMU not yet reaped */
	struct bh_chan chan;
	struct qmp qmp;
	struct console_log console;
	struct client *client; /* NULL once bh has gone */
	uint8_t *exec_req;
	uint32_t exec_len;
	int64_t started_ms;
	int64_t deadline_ms; /* 0 = none */
	int quit_sent, kill_sent;
	int console_eof;
	struct bh_credit agent_may_send;  /* stdout+stderr credit */
	struct bh_credit client_may_send; /* stdin credit */
	int out_eof, err_eof;
	int have_exit;
	uint32_t exit_kind, exit_value;
	/* First failure, reported to bh instead of an exit status. */
	int err_code;
	char err_msg[2048];

	/* A persistent qube (AppVM, TemplateVM, StandaloneVM): it stays up
	 * between commands, runs one `bh run` command at a time (stream 1,
	 * `run_active` while it runs), and its end is recorded in the store. */
	int persistent;
	int run_active;
	int stdin_eof; /* the run's stdin EOF has gone to the guest */
	int paused;
	/* The admin client waiting for the start to finish (reply when the
	 * agent is ready) or for the qube to stop (shutdown --wait). */
	struct client *waiter;
	/* What the store records when QEMU is gone; set by shutdown and kill,
	 * anything else is an unexpected end. */
	const char *stop_reason;
	/* TemplateVM: the root version written while it runs, committed at a
	 * clean shutdown (volume_root_commit), dropped otherwise. */
	char tmpl_dir[4096];
	char tmpl_work[4096];
};

struct client {
	struct client *next;
	struct daemon *d;
	struct bh_chan chan;
	struct dispvm *dv;
	int closing; /* close once the output queue is empty */
	int subscriber; /* admin.Events: gets events, makes no more calls */
};

struct daemon {
	struct bh_paths paths;
	struct engine_accel_choice accel;
	unsigned tsc_khz;
	struct guest_files guest;
	struct store *store; /* qube records: STATE/bulkhead.db */
	int listen_fd;
	int sig_fd;
	int boot_timeout_ms;
	int stopping;
	struct client *clients;
	struct dispvm *dispvms;
};

#endif
