/* The priv link: the messages between bulkheadd's root parent (priv) and
 * control (docs/architecture.md, "Messages": control -> priv and
 * priv -> control). NOT YET USED by the daemon: this is the codec the
 * privilege split will use once control runs as the user `bulkhead`.
 *
 * The link is a SOCK_SEQPACKET pair; every message is one datagram:
 *
 *   offset 0   u32 type   enum bh_priv_type
 *   offset 4   u32 id     the request's id; an answer repeats it
 *   offset 8   u32 len    the body's length: exactly bh_priv_body_len(type)
 *   offset 12  the body, a fixed layout per type (below)
 *
 * little-endian (bh_put_u32, proto/frame.h), so the datagram is exactly
 * 12 + len bytes. Who sends what:
 *
 *   control -> priv  LAUNCH    start a qube's QEMU in its jail and its
 *                              channel process; answered by LAUNCHED or
 *                              FAILED with the same id
 *                    KILL      signal a qube's QEMU or channel process;
 *                              answered by DONE with the same id (the
 *                              signal was sent, or why not); its end comes
 *                              as EXITED
 *                    JOB       a volume operation (copy, mke2fs, resize,
 *                              hash) in a process of priv's; answered by
 *                              JOB_STARTED (its pid; the read end of its
 *                              records' pipe beside it) or FAILED
 *                    CANCEL    kill a job's process; answered by DONE
 *                    ROOT      a template's root versions: the next one
 *                              named (answered by ROOT_NEXT or FAILED),
 *                              one committed or dropped (DONE)
 *                    ATTACH    a qube left running by an earlier control:
 *                              answered by ATTACHED (pids; four fds
 *                              beside it) or FAILED
 *                    LET_GO    a qube left running that control does
 *                              not take over: its channel process (and
 *                              a disposable's QEMU) killed; DONE
 *                    LEFTOVERS the QEMUs nobody took over: waited for,
 *                              then killed; DONE
 *   priv -> control  LAUNCHED  the pids; the two link fds travel beside
 *                              it (SCM_RIGHTS: control's end of the ctl
 *                              link and of the QMP link)
 *                    FAILED    a bh exit code and a text for the user
 *                    EXITED    a qube's QEMU or channel process was
 *                              reaped (not an answer: any id, 0 by
 *                              convention)
 *                    DONE      the result of a request that has no other
 *                              answer
 *
 * Why every field is checked: control will be unprivileged and talks to
 * every qube's channel process, so it may be compromised; priv is root
 * and turns LAUNCH's fields into paths, a jail and QEMU's command line,
 * so it takes nothing it has not checked: every name is one plain path
 * component of a known charset, every number within its range, every
 * flag known, every string NUL-terminated inside its field with only
 * zeros after it (nothing stale, nothing hidden past the NUL). Paths are
 * never sent: priv computes them from the names (root_kind and
 * private_kind say which of a few fixed places). Control parses priv's
 * answers with the same function and the same checks: a bug in priv
 * must not become a confused control. The id is not checked here: the
 * receiver matches answers to the requests it has outstanding. A
 * message that fails a check ends the link (-EPROTO). */
#ifndef BH_PROTO_MSG_PRIV_H
#define BH_PROTO_MSG_PRIV_H

#include <stddef.h>
#include <stdint.h>

enum bh_priv_type {
	BH_PRIV_LAUNCH = 1,   /* control -> priv */
	BH_PRIV_LAUNCHED = 2, /* priv -> control */
	BH_PRIV_FAILED = 3,   /* priv -> control */
	BH_PRIV_KILL = 4,     /* control -> priv */
	BH_PRIV_EXITED = 5,   /* priv -> control */
	BH_PRIV_DONE = 6,     /* priv -> control */
	BH_PRIV_JOB = 7,      /* control -> priv */
	BH_PRIV_JOB_STARTED = 8, /* priv -> control */
	BH_PRIV_CANCEL = 9,   /* control -> priv */
	BH_PRIV_ROOT = 10,    /* control -> priv */
	BH_PRIV_ROOT_NEXT = 11, /* priv -> control */
	BH_PRIV_ATTACH = 12,  /* control -> priv */
	BH_PRIV_ATTACHED = 13, /* priv -> control */
	BH_PRIV_LET_GO = 14,  /* control -> priv */
	BH_PRIV_LEFTOVERS = 15, /* control -> priv */
};

/* LET_GO's flags: the qube's QEMU is killed too (a disposable's,
 * whose contents go anyway); else only its channel process, so that
 * its guest powers off by itself. */
#define BH_PRIV_LET_GO_QEMU 0x1u
/* LEFTOVERS' wait at most: a minute. */
#define BH_PRIV_LEFTOVERS_MS_MAX 60000u

/* ROOT: a template's root versions (daemon/disk/volume.h): NEXT names
 * the version a TemplateVM about to run writes (answered by ROOT_NEXT),
 * COMMIT makes it current once the template has shut down cleanly (it
 * goes back to root, readable by every AppVM's uid), ABORT removes it
 * (both answered by DONE). */
enum bh_priv_root_op {
	BH_PRIV_ROOT_OP_NEXT = 1,
	BH_PRIV_ROOT_OP_COMMIT = 2,
	BH_PRIV_ROOT_OP_ABORT = 3,
};

#define BH_PRIV_HDR_LEN 12u

/* Field sizes, NUL included: a qube or template name is 1..31 bytes
 * (daemon/store/qube_name.h). */
#define BH_PRIV_NAME_MAX 32u
#define BH_PRIV_KVER_MAX 64u
#define BH_PRIV_FILE_MAX 64u
/* Room for the kernelopts property (KERNELOPTS_MAX, 1024) and the
 * bh.init= the daemon adds to it. */
#define BH_PRIV_OPTS_MAX 1280u
#define BH_PRIV_TEXT_MAX 512u

/* LAUNCH: where the root image is (the owner is root_owner). */
enum bh_priv_root_kind {
	BH_PRIV_ROOT_TEMPLATE = 1, /* STATE/templates/OWNER/FILE */
	BH_PRIV_ROOT_QUBE = 2,     /* STATE/qubes/OWNER/FILE */
};

/* LAUNCH: the private volume. */
enum bh_priv_private_kind {
	BH_PRIV_PRIVATE_NONE = 0,
	BH_PRIV_PRIVATE_STATE = 1, /* STATE/qubes/NAME/private.img */
	BH_PRIV_PRIVATE_RUN = 2,   /* RUN/qubes/NAME/private.img, the
				    * runtime copy */
};

/* LAUNCH's flags; any other bit is refused. */
#define BH_PRIV_ROOT_WRITABLE 0x1u
#define BH_PRIV_DISPOSABLE 0x2u
/* A snapshot's state fd travels beside the message (SCM_RIGHTS): QEMU
 * starts with -incoming and reads it. */
#define BH_PRIV_RESTORE 0x4u
#define BH_PRIV_LAUNCH_FLAGS \
	(BH_PRIV_ROOT_WRITABLE | BH_PRIV_DISPOSABLE | BH_PRIV_RESTORE)

#define BH_PRIV_MEMORY_MIN 32u      /* MiB */
#define BH_PRIV_MEMORY_MAX 1048576u /* MiB: 1 TiB */
#define BH_PRIV_VCPUS_MAX 64u

/* KILL and EXITED: which process of the qube (KILL: QEMU or CHAN). */
enum bh_priv_which {
	BH_PRIV_QEMU = 1,
	BH_PRIV_CHAN = 2,
	BH_PRIV_JOBPROC = 3, /* EXITED: a job's process (name: its qube) */
};

/* JOB: the volume operation (daemon/disk/job_child.h's enum job_op). */
enum bh_priv_job_op {
	BH_PRIV_JOB_COPY = 1,   /* src to dst */
	BH_PRIV_JOB_MKE2FS = 2, /* dst made, size bytes */
	BH_PRIV_JOB_RESIZE = 3, /* dst grown to size bytes */
	BH_PRIV_JOB_HASH = 4,   /* src's SHA-256 */
};

/* JOB: where a file is, an area and two names; priv builds the path. */
enum bh_priv_area {
	BH_PRIV_AREA_NONE = 0,      /* no file (all zeros) */
	BH_PRIV_AREA_QUBES = 1,     /* STATE/qubes/OWNER/FILE */
	BH_PRIV_AREA_TEMPLATES = 2, /* STATE/templates/OWNER/FILE */
	BH_PRIV_AREA_KERNELS = 3,   /* STATE/kernels/OWNER/FILE */
	BH_PRIV_AREA_SNAPSHOTS = 4, /* STATE/snapshots/OWNER/FILE */
	BH_PRIV_AREA_RUN = 5,       /* RUN/qubes/OWNER/FILE */
};
#define BH_PRIV_AREA_MAX BH_PRIV_AREA_RUN
/* An area's folder name: [A-Za-z0-9._+-], not "." nor "..", no '/'
 * (a snapshot being built is ".build-KEY.XXXXXX"). */
#define BH_PRIV_OWNER_MAX 64u
/* MKE2FS's and RESIZE's size: 1 MiB to 16 TiB (ext4's limit with 4 KiB
 * blocks); 0 for the others. */
#define BH_PRIV_SIZE_MIN (1ull << 20)
#define BH_PRIV_SIZE_MAX (16ull << 40)

/* DONE's result: 0 or a negative errno, no lower than this. */
#define BH_PRIV_ERRNO_MAX 4095

/* Body of LAUNCH (BH_PRIV_LAUNCH_LEN bytes, in this order; u32s
 * little-endian, strings their full field size). */
struct bh_priv_launch {
	/* The qube: a name, a letter then [A-Za-z0-9_.-], 1..31 bytes. */
	char name[BH_PRIV_NAME_MAX];
	/* STATE/kernels/KVER: [A-Za-z0-9._+-], not starting with '.'. */
	char kver[BH_PRIV_KVER_MAX];
	uint32_t root_kind; /* enum bh_priv_root_kind */
	char root_owner[BH_PRIV_NAME_MAX]; /* a name, as name */
	/* A plain file name: [A-Za-z0-9._-], not starting with '.'. */
	char root_file[BH_PRIV_FILE_MAX];
	uint32_t private_kind; /* enum bh_priv_private_kind */
	uint32_t flags;        /* BH_PRIV_LAUNCH_FLAGS */
	uint32_t memory_mb;    /* BH_PRIV_MEMORY_MIN..BH_PRIV_MEMORY_MAX */
	uint32_t vcpus;        /* 1..BH_PRIV_VCPUS_MAX */
	uint32_t jail_id;      /* not 0 */
	uint32_t tsc_khz;      /* any; 0: none given to QEMU */
	/* The kernel's command line added to ours: printable ASCII
	 * (0x20..0x7e), may be empty. */
	char kernelopts[BH_PRIV_OPTS_MAX];
	/* The name the guest is told on its command line: "" or a name. */
	char cmdline_name[BH_PRIV_NAME_MAX];
};

/* Body of LAUNCHED. The two link fds travel beside it. A pid is
 * 2..INT32_MAX: one that pid_t holds as a process, not a group. */
struct bh_priv_launched {
	uint32_t qemu_pid; /* 2..INT32_MAX */
	uint32_t chan_pid; /* 2..INT32_MAX */
};

/* Body of FAILED. */
struct bh_priv_failed {
	int32_t code; /* a bh exit code, 1..125 (proto/exitcodes.h) */
	char text[BH_PRIV_TEXT_MAX]; /* printable ASCII, may be empty */
};

/* Body of KILL. */
struct bh_priv_kill {
	char name[BH_PRIV_NAME_MAX]; /* a name */
	uint32_t which;              /* enum bh_priv_which */
	uint32_t signo;              /* SIGKILL or SIGTERM only */
};

/* Body of EXITED. */
struct bh_priv_exited {
	char name[BH_PRIV_NAME_MAX]; /* a name */
	uint32_t which;              /* enum bh_priv_which */
	int32_t wait_status;         /* waitpid()'s, any value */
	/* The process's pid (2..INT32_MAX): a qube started again under
	 * the same name (a snapshot's cold relaunch) has new pids, and
	 * the end of the old channel process must not end the new one. */
	uint32_t pid;
};

/* A file of JOB. */
struct bh_priv_place {
	uint32_t area;			/* enum bh_priv_area */
	char owner[BH_PRIV_OWNER_MAX];	/* as BH_PRIV_OWNER_MAX says */
	char file[BH_PRIV_FILE_MAX];	/* a plain file name, as root_file */
};

/* Body of JOB: a volume operation in a process of priv's, whose records
 * (job_child.h) control reads on a pipe. COPY has src and dst, MKE2FS
 * and RESIZE dst and a size, HASH src; an unused place is all zeros. */
struct bh_priv_job {
	uint32_t op;		     /* enum bh_priv_job_op */
	char qube[BH_PRIV_NAME_MAX];  /* whose work it is: a name */
	char other[BH_PRIV_NAME_MAX]; /* a qube it reads, "" or a name */
	struct bh_priv_place src, dst;
	uint64_t size;
};

/* Body of JOB_STARTED. The read end of the job's pipe travels beside
 * it. */
struct bh_priv_job_started {
	uint32_t pid; /* 2..INT32_MAX */
};

/* Body of CANCEL: kills the job whose process is pid (and the tool it
 * runs); answered by DONE, its end comes as EXITED. */
struct bh_priv_cancel {
	uint32_t pid; /* 2..INT32_MAX */
};

/* Body of ROOT. */
struct bh_priv_root {
	uint32_t op;			  /* enum bh_priv_root_op */
	char tmpl[BH_PRIV_NAME_MAX];	  /* the template: a name */
	/* COMMIT and ABORT: the version, a plain file name (NEXT's
	 * answer); NEXT: "" */
	char work[BH_PRIV_FILE_MAX];
};

/* Body of ROOT_NEXT: plain file names in the template's folder. */
struct bh_priv_root_next {
	char cur[BH_PRIV_FILE_MAX];  /* the current version, to copy */
	char work[BH_PRIV_FILE_MAX]; /* the version to write */
};

/* Body of ATTACH: a qube an earlier control (or daemon) left running,
 * by its runtime folder's name. priv checks its recorded pids (with
 * their start times), connects to its channel process as the uid that
 * started it, and keeps it in its table (KILL reaches it). */
struct bh_priv_attach {
	char name[BH_PRIV_NAME_MAX]; /* a name */
};

/* Body of ATTACHED. Four fds travel beside it: control's ends of the
 * frame link and the QMP link to the channel process, and pidfds of
 * QEMU and of the channel process (their ends: they may not be
 * control's nor priv's children). */
struct bh_priv_attached {
	uint32_t qemu_pid; /* 2..INT32_MAX */
	uint32_t chan_pid; /* 2..INT32_MAX */
};

/* Body of LET_GO: a qube left running that control does not take
 * over (answered by DONE). */
struct bh_priv_let_go {
	char name[BH_PRIV_NAME_MAX]; /* a name */
	uint32_t flags;		     /* BH_PRIV_LET_GO_QEMU or 0 */
};

/* Body of LEFTOVERS: every QEMU of run/bulkhead/qubes that neither
 * priv started nor re-attached for this control gets timeout_ms to
 * power off, then is killed (answered by DONE: 0, or -EBUSY when one
 * could not be ended). */
struct bh_priv_leftovers {
	uint32_t timeout_ms; /* 0..BH_PRIV_LEFTOVERS_MS_MAX */
};

/* Body of DONE. */
struct bh_priv_done {
	int32_t result; /* 0 or -errno: -BH_PRIV_ERRNO_MAX..0 */
};

/* Body lengths on the wire. */
#define BH_PRIV_LAUNCH_LEN                                              \
	(BH_PRIV_NAME_MAX + BH_PRIV_KVER_MAX + 4u + BH_PRIV_NAME_MAX +   \
	 BH_PRIV_FILE_MAX + 6u * 4u + BH_PRIV_OPTS_MAX + BH_PRIV_NAME_MAX)
#define BH_PRIV_LAUNCHED_LEN 8u
#define BH_PRIV_FAILED_LEN (4u + BH_PRIV_TEXT_MAX)
#define BH_PRIV_KILL_LEN (BH_PRIV_NAME_MAX + 8u)
#define BH_PRIV_EXITED_LEN (BH_PRIV_NAME_MAX + 12u)
#define BH_PRIV_DONE_LEN 4u
#define BH_PRIV_PLACE_LEN (4u + BH_PRIV_OWNER_MAX + BH_PRIV_FILE_MAX)
#define BH_PRIV_JOB_LEN \
	(4u + 2u * BH_PRIV_NAME_MAX + 2u * BH_PRIV_PLACE_LEN + 8u)
#define BH_PRIV_JOB_STARTED_LEN 4u
#define BH_PRIV_CANCEL_LEN 4u
#define BH_PRIV_ROOT_LEN (4u + BH_PRIV_NAME_MAX + BH_PRIV_FILE_MAX)
#define BH_PRIV_ROOT_NEXT_LEN (2u * BH_PRIV_FILE_MAX)
#define BH_PRIV_ATTACH_LEN BH_PRIV_NAME_MAX
#define BH_PRIV_ATTACHED_LEN 8u
#define BH_PRIV_LET_GO_LEN (BH_PRIV_NAME_MAX + 4u)
#define BH_PRIV_LEFTOVERS_LEN 4u
/* The largest datagram: a receive buffer of this size, plus one byte to
 * see one that is too long. */
#define BH_PRIV_MSG_MAX (BH_PRIV_HDR_LEN + BH_PRIV_LAUNCH_LEN)

struct bh_priv_msg {
	uint32_t type; /* enum bh_priv_type */
	uint32_t id;
	union {
		struct bh_priv_launch launch;
		struct bh_priv_launched launched;
		struct bh_priv_failed failed;
		struct bh_priv_kill kill;
		struct bh_priv_exited exited;
		struct bh_priv_done done;
		struct bh_priv_job job;
		struct bh_priv_job_started job_started;
		struct bh_priv_cancel cancel;
		struct bh_priv_root root;
		struct bh_priv_root_next root_next;
		struct bh_priv_attach attach;
		struct bh_priv_attached attached;
		struct bh_priv_let_go let_go;
		struct bh_priv_leftovers leftovers;
	} u;
};

/* The body length of a known type, or 0 for an unknown one. */
size_t bh_priv_body_len(uint32_t type);

/* 1 for the types control sends (LAUNCH, KILL, JOB, CANCEL, ROOT,
 * ATTACH, LET_GO, LEFTOVERS), 0 for priv's and
 * unknown ones: each end refuses the other's types on its side. */
int bh_priv_sent_by_control(uint32_t type);

/* Copies src into a string field of cap bytes: cut to cap - 1 bytes,
 * bytes outside printable ASCII replaced by '?', zeros to the end. A
 * name that needed either fails bh_priv_encode's check rather than
 * becoming another name by accident. */
void bh_priv_field_set(char *dst, size_t cap, const char *src);

/* Writes m as one datagram into out: each string field up to its first
 * NUL, zeros after it. Returns the datagram's length (BH_PRIV_HDR_LEN +
 * bh_priv_body_len(m->type)), or -EINVAL when the result would not pass
 * bh_priv_parse (an unknown type, a field out of its rule): the sender
 * finds its own mistake rather than its peer ending the link. */
int bh_priv_encode(uint8_t out[BH_PRIV_MSG_MAX], const struct bh_priv_msg *m);

/* Checks and decodes one datagram of len bytes: a whole header, a known
 * type, the body length its type has and no byte more or less, and each
 * field as its struct above says. Returns 0 with *out filled (string
 * fields NUL-padded as on the wire), or -EPROTO with *out untouched. */
int bh_priv_parse(const uint8_t *untrusted_buf, size_t len,
		  struct bh_priv_msg *out);

#endif
