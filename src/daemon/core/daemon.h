/* The daemon's one context struct and the objects it owns, declared at
 * the lowest layer that needs them (core, src/daemon/LAYERS), and the
 * hooks through which the lower layers tell the higher ones things. */
#ifndef BH_DAEMON_DAEMON_H
#define BH_DAEMON_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/engine/cgroup.h"
#include "daemon/engine/console_log.h"
#include "daemon/engine/engine.h"
#include "daemon/disk/guest_files.h"
#include "daemon/engine/qmp.h"
#include "daemon/engine/qube_log.h"
#include "daemon/priv/priv_link.h"
#include "daemon/store/store.h"
#include "lib/paths.h"
#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/rpc_req.h"

/* Disposables are dispN, N in 1..DISPVM_MAX_NO (as in Qubes); their jail
 * ids are DISPVM_JAIL_ID_BASE + N, above any persistent qube's id. */
#define DISPVM_MAX_NO 9999
#define DISPVM_JAIL_ID_BASE 50000
_Static_assert(DISPVM_JAIL_ID_BASE == STORE_QUBE_ID_LIMIT,
	       "persistent qubes' ids (store.h) end where disposables' "
	       "jail ids begin");
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
/* How long a re-attached qube's channel process has to send
 * BH_MSG_CHAN_ATTACH (qube/qube_attach.h). It queues that frame the
 * moment it takes the new links, before anything else (src/chan/main.c),
 * so one that has not sent it by then is stopped, wedged, still held by
 * another daemon, or not behaving: the qube is ended (Halted, with why)
 * rather than left Transient for the boot timeout, which is the time a
 * guest may take to boot and has nothing to wait for here. */
#define CHAN_ATTACH_REPLY_MS 10000
/* Back-pressure (docs/rpc-data-path.md, "Flow control"). Credit bounds
 * every byte of every relayed data frame, headers included
 * (bh_credit_cost), so the frames the daemon queues toward a qube for one
 * stream never pass one window; credit the other end grants is held as a
 * number (qstream.credit_owed) and sent as one frame while the qube's
 * queue is below QUBE_PAUSE_BYTES. No qube's channel is ever paused for
 * another's sake: only a qube whose own queue is over QUBE_PAUSE_BYTES is
 * not read (what it sends makes replies it does not take), until it
 * reads. */
#define QUBE_PAUSE_BYTES BH_STREAM_WINDOW
/* bh clients: their stdin is not read while the qube's queue is over
 * this (credit bounds it anyway; this keeps bh from racing ahead). */
#define RELAY_PAUSE_BYTES BH_STREAM_WINDOW
/* The queue toward a qube refuses to grow past this; a relayed frame
 * that does not fit ends its call (relay_broken), never more. It holds
 * 64 streams' full windows at once, far more than a qube that reads its
 * port ever has waiting. */
#define DISPVM_CHAN_OUT_MAX (64u * BH_STREAM_WINDOW + \
			     4u * (BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD))
/* Per-source limits (issue 11 point 4), so that one caller cannot take
 * what every qube shares: disposables it has made through @dispvm calls
 * still running; streams one caller holds in one target (half of the
 * target's table: bench/rpc runs 100 calls at once); questions it has
 * waiting for the user (the daemon holds RPC_ASKS_MAX in all). */
#define RPC_DISPVMS_PER_SOURCE 8u
#define RPC_STREAMS_PER_PAIR (BH_MAX_STREAMS / 2u)
#define RPC_ASKS_PER_SOURCE 8u
#define RPC_ASKS_MAX 64u
/* The global cap on disposables: host memory (MemTotal) less a reserve
 * for the host, over what one disposable costs it (its RAM and QEMU's own
 * share, measured ~60 MiB under TCG); at least DISPVM_CAP_MIN. */
#define DISPVM_HOST_RESERVE_MB 2048u
#define DISPVM_QEMU_OVERHEAD_MB 64u
#define DISPVM_CAP_MIN 4u
/* Lines of console log shown when a qube fails to boot. */
#define CONSOLE_TAIL_LINES 15
/* After QEMU's end, how long its channel process may take to hand on
 * what it still has (and close the link) before it is killed. */
#define CHAN_DRAIN_MS 3000

struct admin_task;
struct daemon;
struct policy_decision;
struct client;
struct launch_wait;
struct dataport;
struct job;
struct rpc_ask;
struct store;

/* One stream on a qube's channel and what it is joined with (streams.h). */
enum qstream_role {
	QS_FREE = 0,
	QS_RUN,     /* a command the host started for bh (bh run) */
	QS_SERVICE, /* an RPC service the host started for a call */
	QS_CALL,    /* a call a process of the qube made (bh-call) */
	/* A stream an earlier daemon opened (a command, a service) whose
	 * other end went with it: found open at a re-attach
	 * (proto/chan_attach.h), drained until the guest's EXIT. */
	QS_ORPHAN,
};

struct qstream {
	uint32_t id; /* on the qube's channel; 0: a free slot */
	enum qstream_role role;
	/* The other end: a bh client (its stream 1), or another qube's
	 * stream (peer, peer_id). A call waiting for its target to boot
	 * has peer set and peer_id 0. Neither: the other end is gone. */
	struct client *client;
	struct qube_vm *peer;
	uint32_t peer_id;
	/* Data the guest may still send on this stream (its output, or a
	 * caller's bytes), and what bh may still send (client ends). */
	struct bh_credit guest_may_send;
	struct bh_credit client_may_send;
	int guest_eof, err_eof; /* the guest ended its data / stderr */
	int input_eof;		/* EOF of the input went to the guest */
	/* A call: the service it asked for, kept until the target runs. */
	struct bh_service_req *svc;
	/* Which call this slot holds: a number never reused (daemon's
	 * next_gen), so that an answer or event meant for an earlier call
	 * of the same id finds nothing. */
	uint64_t gen;
	/* A call waiting for the user (rpc_ask.h): its question. */
	uint32_t ask_id;
	/* Credit the other end granted this stream's guest, not sent yet
	 * (see QUBE_PAUSE_BYTES). */
	uint32_t credit_owed;
	/* Direct data port (dataport.h): bytes of the call relayed so far
	 * (counted on the QS_CALL end), the port's number once one is being
	 * plugged (port_tried: never again for this call), port_ready once
	 * PORT_OPEN went to the guest, out_switched once the guest's data
	 * continues on the port. */
	uint64_t relayed;
	uint32_t port_n;
	int port_tried, port_ready, out_switched;
};

/* The state of a qube's VM, from QEMU's start to its end. */
enum qube_vm_state {
	DV_BOOTING,  /* QEMU started, waiting for HELLO */
	DV_RUNNING,  /* command running */
	DV_STOPPING, /* waiting for QEMU to exit */
};

/* A running qube: its QEMU, control channel, QMP, logs and streams, for
 * a persistent qube and a disposable alike (disposable-only fields say
 * so). One per qube from the start of its QEMU to its reaping; the
 * daemon's list of them is d->qubes. */
struct qube_vm {
	struct qube_vm *next;
	struct daemon *d;
	char name[32];
	char run_dir[4096];
	enum qube_vm_state state;
	struct engine_vm vm;
	int vm_alive; /* QEMU not yet reaped */
	/* Its channel process (engine/chan_proc.h), which holds the qube's
	 * control channel, console and QEMU's output: chan below is the
	 * link to it (vm.chan_fd), not the qube's channel itself. 0 once
	 * reaped. */
	pid_t chan_pid;
	/* The link's end: the channel process has handed on all it had. A
	 * qube's end waits for it after QEMU's (qemu_ended, with QEMU's
	 * wait status), until link_deadline_ms at most. */
	int link_eof;
	int qemu_ended, qemu_wstatus;
	int64_t link_deadline_ms;
	struct bh_chan chan;
	struct qmp qmp;
	/* A disposable's bh (bh run --dispvm), which gets its end; NULL
	 * once bh has gone. Persistent qubes keep clients per stream. */
	struct client *client;
	uint8_t *exec_req; /* a disposable's command, sent at HELLO */
	uint32_t exec_len;
	struct qstream streams[BH_MAX_STREAMS];
	uint32_t next_stream_id;
	/* A disposable: the stream whose end is its end (0: none yet). */
	uint32_t job_stream;
	int64_t started_ms;
	int64_t deadline_ms; /* 0 = none */
	int quit_sent, kill_sent;
	int have_exit;
	uint32_t exit_kind, exit_value;
	/* First failure, reported to bh instead of an exit status. */
	int err_code;
	char err_msg[2048];

	/* A persistent qube (AppVM, TemplateVM, StandaloneVM): it stays up
	 * between commands, runs any number of them and of RPC services,
	 * and its end is recorded in the store. */
	int persistent;
	int paused;
	int was_ready; /* its agent said HELLO (qube_ready) */
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
	/* A disposable made from a disposable template (unnamed, or a
	 * named DispVM): that DVM, and its private volume, which
	 * qube_vm_launch copies into the runtime folder as this qube's. */
	char dvm[32];
	char private_src[4096];
	/* Its start waits for a job before QEMU (qube_vm_wait_prep): the
	 * checksum of a guest file, a template's new root version, or
	 * that copy; prep is what QEMU starts with once the copy has ended
	 * (qube_vm_launch.c). */
	struct job *prep_job;
	struct launch_wait *prep;
	/* How an unnamed disposable starts (dispvm_snapshot.h): cold, cold
	 * then snapshotted after HELLO, or restored from the snapshot. */
	enum { DVS_COLD, DVS_TAKE, DVS_RESTORE } snap;
	int snap_step;	  /* how far the take or the restore has got */
	int snap_fd;	  /* TAKE: the state file being written, else -1 */
	int64_t snap_t0;  /* when the take or the restore began */
	char snap_key[48]; /* the folder under STATE/snapshots */
	char snap_build[4200]; /* TAKE: the folder being filled */
	char *snap_manifest;   /* TAKE: the inputs the manifest records */
	/* TAKE: the copy of its private volume kept with the snapshot (a
	 * job, while the guest stays stopped). */
	struct job *snap_job;
	unsigned jail_no;      /* N of dispN: its jail id, for a relaunch */
	/* Killed on purpose (bh gone, daemon stopping): never relaunched
	 * cold after a failed restore. */
	int no_fallback;
	/* Preloaded (pool.h): restored ahead of any request, warmed and
	 * paused. 1 while it warms up, 2 when paused and ready; 0 once
	 * handed out (or never pooled). */
	int pooled;
	int linked; /* in the daemon's list of qubes */
	/* Some stream has credit_owed (qs_flush_credit sends it). */
	int credit_dirty;
	/* Not read this round: its queue is over QUBE_PAUSE_BYTES; when
	 * that was last logged. */
	int read_paused;
	int64_t pause_logged_ms;
	/* A disposable an @dispvm call made: the caller, for the limit of
	 * disposables per source ("" otherwise). */
	char made_for[32];
	/* Re-attached: its QEMU and channel process were started by an
	 * earlier daemon (qube/qube_attach.h), so they are not our
	 * children: their ends come as pidfds (-1 once seen), and the first
	 * frame on the link is BH_MSG_CHAN_ATTACH (attach_seen once had). */
	int adopted;
	int qemu_pidfd, chan_pidfd;
	int attach_seen;
	/* The rate limit on log lines this qube can cause (qube_log.h). */
	struct qube_log log_limit;
	/* A disposable's uuid, made at its launch (qube_uuid.h): what the
	 * policy knows it by besides its name; "" for persistent qubes,
	 * whose uuid the store keeps. */
	char uuid[QUBE_UUID_LEN + 1];
};

/* A log line that a qube can cause at will (a call it makes, a frame it
 * sends): written within the qube's rate limit (qube_log.h). */
#define DV_LOG(dv, level, ...)                                               \
	qube_log(&(dv)->log_limit, (dv)->name, BH_LOG_##level, __VA_ARGS__)

struct client {
	struct client *next;
	struct daemon *d;
	struct bh_chan chan;
	struct qube_vm *dv;
	uint32_t sid; /* dv's stream of this client's run; 0: not yet */
	int closing; /* close once the output queue is empty */
	int subscriber; /* admin.Events: gets events, makes no more calls */
	int ask_agent;  /* admin.policy.AskAgent: answers policy asks */
	/* bh run --service: the service to start once the qube is ready. */
	struct bh_service_req *svc;
	/* Credit the qube granted bh's stdin, not sent yet. */
	uint32_t credit_owed;
	/* bh run QUBE while QUBE boots (started for it, or by someone
	 * else): the qube, and the command (its user added) to start once
	 * it is ready. Its stdin waits in the socket meanwhile. */
	struct qube_vm *run_wait;
	uint8_t *run_req;
	uint32_t run_len;
	/* An admin call waiting for a job (admin_job.c): its reply comes
	 * when the job ends; no more frames are read from this client
	 * meanwhile, and its going away cancels the job. */
	struct admin_task *task;
};

/* Calls the daemon's lower layers make into its higher ones: they may
 * include nothing above themselves (src/daemon/LAYERS), so each higher
 * layer's function is reached through this table, filled by the one
 * file that sees every layer (admin/wire.c) and set by main. */
struct daemon_hooks {
	/* core/events.c drops a subscriber that does not read its events;
	 * dropping a client is admin/client.c's (it ends the client's run,
	 * call, question and job). */
	void (*client_drop)(struct client *c);

	/* qube/qube_vm*.c (any running qube: its start, channel, QMP and
	 * end) are the lowest modules of qube/; what they tell the modules
	 * above them comes through these, each named as the function
	 * wire.c puts there. */
	/* The agent of a persistent qube said HELLO; its QEMU is gone:
	 * qube/qube_power.c records it and answers who waits. */
	void (*qube_ready)(struct qube_vm *dv);
	void (*qube_stopped)(struct qube_vm *dv);
	/* A disposable is ready: its command starts; its job ended: it
	 * powers off (qube/disposable.c). <0: protocol error. */
	int (*disposable_start_job)(struct qube_vm *dv);
	int (*disposable_job_done)(struct qube_vm *dv, uint32_t kind,
				   uint32_t value);
	/* A restore failed before the agent answered: the same qube boots
	 * cold (qube/dispvm_new.c). */
	int (*disposable_relaunch_cold)(struct qube_vm *dv);
	/* The agent said HELLO: 1 when a preloaded qube finished warming
	 * up (qube/dispvm_pool.c), or when a snapshot is being taken
	 * (qube/dispvm_snapshot.c); qube_vm_chan.c then does not start its
	 * job. */
	int (*pool_on_hello)(struct qube_vm *dv);
	int (*snapshot_on_hello)(struct qube_vm *dv);
	/* After QMP input, a restore or snapshot moves along; after QEMU's
	 * end, 1 when a restore never reached the agent; at start-up, the
	 * snapshot folders a killed daemon left go (qube/dispvm_snapshot.c). */
	void (*snapshot_qmp_event)(struct qube_vm *dv);
	int (*snapshot_fallback)(struct qube_vm *dv);
	void (*snapshot_cleanup_stale)(const struct daemon *d);
	/* RPC (rpc/rpc.c, above qube/): a qube opened a call stream; a target
	 * is ready, the calls waiting for it are joined; a qube that
	 * called is gone, its questions to the user go too
	 * (rpc/rpc_ask.c). */
	int (*rpc_call_opened)(struct qube_vm *dv, uint32_t id,
			       const uint8_t *untrusted_payload, uint32_t len);
	void (*rpc_target_ready)(struct qube_vm *dv);
	void (*rpc_ask_caller_gone)(struct daemon *d, struct qube_vm *dv);

	/* qube/dispvm_snapshot.c, once a snapshot is taken, has the pool
	 * (qube/dispvm_pool.c, above it: the pool restores from snapshots)
	 * preload the disposable template's qubes. */
	void (*pool_refill)(struct daemon *d, const char *dvm);

	/* rpc/rpc.c routes a call whose policy says ask to rpc/rpc_ask.c
	 * (above it: an answer routes the call), which asks the user. */
	void (*rpc_ask)(struct qube_vm *dv, struct qstream *s,
			const struct bh_call_req *call,
			const struct policy_decision *dec);

	/* qube/qube_power.c tells qube/qube_run.c (above it: a command run
	 * starts the qube) that a persistent qube became ready, stopped
	 * before it was (reason), or that a client that waited went. */
	void (*qube_run_ready)(struct qube_vm *dv);
	void (*qube_run_failed)(struct qube_vm *dv, const char *reason);
	void (*qube_run_client_gone)(struct client *c);
};

struct daemon {
	const struct daemon_hooks *hooks;
	struct bh_paths paths;
	struct engine_accel_choice accel;
	unsigned tsc_khz;
	/* Each QEMU's memory and pids limits (cgroup.h); .on = 0: none. */
	struct cgroups cgroups;
	struct guest_files guest;
	struct store *store; /* qube records: STATE/bulkhead.db */
	int listen_fd;
	int sig_fd;
	int boot_timeout_ms;
	int stopping;
	/* Stopping, but leaving the running qubes to the next daemon
	 * (`bh daemon restart`, `bh daemon stop --keep-qubes`): their
	 * channel processes wait to be re-attached (proto/chan_attach.h). */
	int keep_qubes;
	/* bulkheadd's root parent (priv/supervise.h), and how many controls
	 * it started before this one. */
	pid_t priv_pid;
	unsigned control_restarts;
	/* The link to it: qubes' QEMUs and channel processes are started
	 * and signalled through it (priv/priv_link.h). */
	struct priv_link priv;
	struct client *clients;
	struct qube_vm *qubes; /* every running qube (struct qube_vm) */
	struct rpc_ask *asks; /* calls waiting for the user (rpc_ask.h) */
	struct dataport *dataports; /* dataport.h */
	struct job *jobs;	    /* running jobs (job.h) */
	uint32_t next_job_id;
	uint32_t next_dataport;
	/* BULKHEAD_DATAPORTS=0: every call stays on the relay. */
	int dataports_off;
	uint32_t next_ask_id;
	uint64_t next_gen;   /* qstream.gen */
	unsigned dispvm_cap; /* disposables at once (DISPVM_HOST_RESERVE_MB) */
};

#endif
