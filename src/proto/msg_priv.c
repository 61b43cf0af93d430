/* The priv link's messages: encoded, and parsed with every field checked
 * (see msg_priv.h). */
#include "proto/msg_priv.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "proto/frame.h"

/* LAUNCH's body. */
#define L_NAME 0u
#define L_KVER (L_NAME + BH_PRIV_NAME_MAX)
#define L_ROOT_KIND (L_KVER + BH_PRIV_KVER_MAX)
#define L_ROOT_OWNER (L_ROOT_KIND + 4u)
#define L_ROOT_FILE (L_ROOT_OWNER + BH_PRIV_NAME_MAX)
#define L_PRIVATE_KIND (L_ROOT_FILE + BH_PRIV_FILE_MAX)
#define L_FLAGS (L_PRIVATE_KIND + 4u)
#define L_MEMORY (L_FLAGS + 4u)
#define L_VCPUS (L_MEMORY + 4u)
#define L_JAIL_ID (L_VCPUS + 4u)
#define L_TSC (L_JAIL_ID + 4u)
#define L_OPTS (L_TSC + 4u)
#define L_CMDLINE_NAME (L_OPTS + BH_PRIV_OPTS_MAX)
_Static_assert(L_CMDLINE_NAME + BH_PRIV_NAME_MAX == BH_PRIV_LAUNCH_LEN,
	       "LAUNCH's layout");
_Static_assert(BH_PRIV_LAUNCH_LEN == 1532u, "LAUNCH's body on the wire");

/* KILL's and EXITED's body: the name, then two u32 (EXITED: and the
 * pid). */
#define K_WHICH BH_PRIV_NAME_MAX
#define K_VALUE (K_WHICH + 4u)
#define K_PID (K_VALUE + 4u)
_Static_assert(K_VALUE + 4u == BH_PRIV_KILL_LEN, "KILL's layout");
_Static_assert(K_PID + 4u == BH_PRIV_EXITED_LEN, "EXITED's layout");

/* JOB's body. */
#define J_OP 0u
#define J_QUBE 4u
#define J_OTHER (J_QUBE + BH_PRIV_NAME_MAX)
#define J_SRC (J_OTHER + BH_PRIV_NAME_MAX)
#define J_DST (J_SRC + BH_PRIV_PLACE_LEN)
#define J_SIZE (J_DST + BH_PRIV_PLACE_LEN)
#define P_OWNER 4u
#define P_FILE (P_OWNER + BH_PRIV_OWNER_MAX)
_Static_assert(J_SIZE + 8u == BH_PRIV_JOB_LEN, "JOB's layout");
_Static_assert(BH_PRIV_JOB_LEN == 340u, "JOB's body on the wire");

/* The FAILED code's range: bh's exit codes that mean a failure of its
 * own or of the qube (proto/exitcodes.h), not 126/127 (a command's). */
#define FAILED_CODE_MAX 125

size_t bh_priv_body_len(uint32_t type)
{
	switch (type) {
	case BH_PRIV_LAUNCH:
		return BH_PRIV_LAUNCH_LEN;
	case BH_PRIV_LAUNCHED:
		return BH_PRIV_LAUNCHED_LEN;
	case BH_PRIV_FAILED:
		return BH_PRIV_FAILED_LEN;
	case BH_PRIV_KILL:
		return BH_PRIV_KILL_LEN;
	case BH_PRIV_EXITED:
		return BH_PRIV_EXITED_LEN;
	case BH_PRIV_DONE:
		return BH_PRIV_DONE_LEN;
	case BH_PRIV_JOB:
		return BH_PRIV_JOB_LEN;
	case BH_PRIV_JOB_STARTED:
		return BH_PRIV_JOB_STARTED_LEN;
	case BH_PRIV_CANCEL:
		return BH_PRIV_CANCEL_LEN;
	case BH_PRIV_ROOT:
		return BH_PRIV_ROOT_LEN;
	case BH_PRIV_ROOT_NEXT:
		return BH_PRIV_ROOT_NEXT_LEN;
	case BH_PRIV_ATTACH:
		return BH_PRIV_ATTACH_LEN;
	case BH_PRIV_ATTACHED:
		return BH_PRIV_ATTACHED_LEN;
	case BH_PRIV_LET_GO:
		return BH_PRIV_LET_GO_LEN;
	case BH_PRIV_LEFTOVERS:
		return BH_PRIV_LEFTOVERS_LEN;
	default:
		return 0;
	}
}

int bh_priv_sent_by_control(uint32_t type)
{
	return type == BH_PRIV_LAUNCH || type == BH_PRIV_KILL ||
	       type == BH_PRIV_JOB || type == BH_PRIV_CANCEL ||
	       type == BH_PRIV_ROOT || type == BH_PRIV_ATTACH ||
	       type == BH_PRIV_LET_GO || type == BH_PRIV_LEFTOVERS;
}

void bh_priv_field_set(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1), i;

	memset(dst, 0, cap);
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
}

/* ---- encoding ---- */

/* A string field: src up to its first NUL (at most cap bytes), zeros
 * after it. */
static void put_str(uint8_t *out, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);

	memcpy(out, src, n);
	memset(out + n, 0, cap - n);
}

static void put_place(uint8_t *out, const struct bh_priv_place *p)
{
	bh_put_u32(out, p->area);
	put_str(out + P_OWNER, p->owner, BH_PRIV_OWNER_MAX);
	put_str(out + P_FILE, p->file, BH_PRIV_FILE_MAX);
}

int bh_priv_encode(uint8_t out[BH_PRIV_MSG_MAX], const struct bh_priv_msg *m)
{
	size_t body = bh_priv_body_len(m->type);
	uint8_t *b = out + BH_PRIV_HDR_LEN;
	struct bh_priv_msg check;

	if (!body)
		return -EINVAL;
	bh_put_u32(out, m->type);
	bh_put_u32(out + 4, m->id);
	bh_put_u32(out + 8, (uint32_t)body);
	switch (m->type) {
	case BH_PRIV_LAUNCH: {
		const struct bh_priv_launch *l = &m->u.launch;

		put_str(b + L_NAME, l->name, BH_PRIV_NAME_MAX);
		put_str(b + L_KVER, l->kver, BH_PRIV_KVER_MAX);
		bh_put_u32(b + L_ROOT_KIND, l->root_kind);
		put_str(b + L_ROOT_OWNER, l->root_owner, BH_PRIV_NAME_MAX);
		put_str(b + L_ROOT_FILE, l->root_file, BH_PRIV_FILE_MAX);
		bh_put_u32(b + L_PRIVATE_KIND, l->private_kind);
		bh_put_u32(b + L_FLAGS, l->flags);
		bh_put_u32(b + L_MEMORY, l->memory_mb);
		bh_put_u32(b + L_VCPUS, l->vcpus);
		bh_put_u32(b + L_JAIL_ID, l->jail_id);
		bh_put_u32(b + L_TSC, l->tsc_khz);
		put_str(b + L_OPTS, l->kernelopts, BH_PRIV_OPTS_MAX);
		put_str(b + L_CMDLINE_NAME, l->cmdline_name, BH_PRIV_NAME_MAX);
		break;
	}
	case BH_PRIV_LAUNCHED:
		bh_put_u32(b, m->u.launched.qemu_pid);
		bh_put_u32(b + 4, m->u.launched.chan_pid);
		break;
	case BH_PRIV_FAILED:
		bh_put_u32(b, (uint32_t)m->u.failed.code);
		put_str(b + 4, m->u.failed.text, BH_PRIV_TEXT_MAX);
		break;
	case BH_PRIV_KILL:
		put_str(b, m->u.kill.name, BH_PRIV_NAME_MAX);
		bh_put_u32(b + K_WHICH, m->u.kill.which);
		bh_put_u32(b + K_VALUE, m->u.kill.signo);
		break;
	case BH_PRIV_JOB: {
		const struct bh_priv_job *j = &m->u.job;

		bh_put_u32(b + J_OP, j->op);
		put_str(b + J_QUBE, j->qube, BH_PRIV_NAME_MAX);
		put_str(b + J_OTHER, j->other, BH_PRIV_NAME_MAX);
		put_place(b + J_SRC, &j->src);
		put_place(b + J_DST, &j->dst);
		bh_put_u32(b + J_SIZE, (uint32_t)j->size);
		bh_put_u32(b + J_SIZE + 4, (uint32_t)(j->size >> 32));
		break;
	}
	case BH_PRIV_JOB_STARTED:
		bh_put_u32(b, m->u.job_started.pid);
		break;
	case BH_PRIV_CANCEL:
		bh_put_u32(b, m->u.cancel.pid);
		break;
	case BH_PRIV_ROOT:
		bh_put_u32(b, m->u.root.op);
		put_str(b + 4, m->u.root.tmpl, BH_PRIV_NAME_MAX);
		put_str(b + 4 + BH_PRIV_NAME_MAX, m->u.root.work,
			BH_PRIV_FILE_MAX);
		break;
	case BH_PRIV_ATTACH:
		put_str(b, m->u.attach.name, BH_PRIV_NAME_MAX);
		break;
	case BH_PRIV_ATTACHED:
		bh_put_u32(b, m->u.attached.qemu_pid);
		bh_put_u32(b + 4, m->u.attached.chan_pid);
		break;
	case BH_PRIV_LET_GO:
		put_str(b, m->u.let_go.name, BH_PRIV_NAME_MAX);
		bh_put_u32(b + BH_PRIV_NAME_MAX, m->u.let_go.flags);
		break;
	case BH_PRIV_LEFTOVERS:
		bh_put_u32(b, m->u.leftovers.timeout_ms);
		break;
	case BH_PRIV_ROOT_NEXT:
		put_str(b, m->u.root_next.cur, BH_PRIV_FILE_MAX);
		put_str(b + BH_PRIV_FILE_MAX, m->u.root_next.work,
			BH_PRIV_FILE_MAX);
		break;
	case BH_PRIV_EXITED:
		put_str(b, m->u.exited.name, BH_PRIV_NAME_MAX);
		bh_put_u32(b + K_WHICH, m->u.exited.which);
		bh_put_u32(b + K_VALUE, (uint32_t)m->u.exited.wait_status);
		bh_put_u32(b + K_PID, m->u.exited.pid);
		break;
	case BH_PRIV_DONE:
		bh_put_u32(b, (uint32_t)m->u.done.result);
		break;
	}
	/* What the peer would refuse is refused here, by the same code. */
	if (bh_priv_parse(out, BH_PRIV_HDR_LEN + body, &check) < 0)
		return -EINVAL;
	return (int)(BH_PRIV_HDR_LEN + body);
}

/* ---- parsing: everything below reads untrusted bytes ---- */

/* Plain ASCII tests: isalpha() and friends follow the locale. */
static int letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* [A-Za-z0-9_.-]: qube names and plain file names. */
static int name_char(uint8_t c)
{
	return letter(c) || digit(c) || c == '_' || c == '.' || c == '-';
}

/* [A-Za-z0-9._+-]: kernel versions ("6.12.0+deb13-amd64"). */
static int kver_char(uint8_t c)
{
	return name_char(c) || c == '+';
}

static int printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* The length of the string in a field of cap bytes: a NUL inside the
 * field and only zeros after it. -1 otherwise. Bounded: never reads
 * past cap. */
static long field_len(const uint8_t *untrusted_p, size_t cap)
{
	size_t n = 0, i;

	while (n < cap && untrusted_p[n] != 0)
		n++;
	if (n == cap)
		return -1;
	for (i = n + 1; i < cap; i++)
		if (untrusted_p[i] != 0)
			return -1;
	return (long)n;
}

/* A field whose n bytes are each of ok(), n at least min_len, and not
 * starting with '.' when no_dot (the field's string is one path
 * component: no ".", "..", nor hidden file). */
static int field_ok(const uint8_t *untrusted_p, size_t cap, int (*ok)(uint8_t),
		    size_t min_len, int no_dot)
{
	long n = field_len(untrusted_p, cap);
	long i;

	if (n < 0 || (size_t)n < min_len || (no_dot && untrusted_p[0] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (!ok(untrusted_p[i]))
			return 0;
	return 1;
}

/* A qube or template name: a letter, then [A-Za-z0-9_.-]; 1..31 bytes
 * (the field's size bounds it). A leading letter keeps it from reading
 * as an option ("-x") or a path component ("..") wherever priv uses
 * it. */
static int name_ok(const uint8_t *untrusted_p)
{
	return field_ok(untrusted_p, BH_PRIV_NAME_MAX, name_char, 1, 0) &&
	       letter(untrusted_p[0]);
}

static int optional_name_ok(const uint8_t *untrusted_p)
{
	return untrusted_p[0] == 0 ? field_len(untrusted_p, BH_PRIV_NAME_MAX) == 0
				   : name_ok(untrusted_p);
}

static int text_ok(const uint8_t *untrusted_p, size_t cap)
{
	return field_ok(untrusted_p, cap, printable, 0, 0);
}

static int launch_ok(const uint8_t *untrusted_b)
{
	uint32_t root_kind = bh_get_u32(untrusted_b + L_ROOT_KIND);
	uint32_t private_kind = bh_get_u32(untrusted_b + L_PRIVATE_KIND);
	uint32_t flags = bh_get_u32(untrusted_b + L_FLAGS);
	uint32_t memory = bh_get_u32(untrusted_b + L_MEMORY);
	uint32_t vcpus = bh_get_u32(untrusted_b + L_VCPUS);

	return name_ok(untrusted_b + L_NAME) &&
	       field_ok(untrusted_b + L_KVER, BH_PRIV_KVER_MAX, kver_char, 1,
			1) &&
	       (root_kind == BH_PRIV_ROOT_TEMPLATE ||
		root_kind == BH_PRIV_ROOT_QUBE) &&
	       name_ok(untrusted_b + L_ROOT_OWNER) &&
	       field_ok(untrusted_b + L_ROOT_FILE, BH_PRIV_FILE_MAX, name_char,
			1, 1) &&
	       private_kind <= BH_PRIV_PRIVATE_RUN &&
	       !(flags & ~BH_PRIV_LAUNCH_FLAGS) &&
	       memory >= BH_PRIV_MEMORY_MIN && memory <= BH_PRIV_MEMORY_MAX &&
	       vcpus >= 1 && vcpus <= BH_PRIV_VCPUS_MAX &&
	       bh_get_u32(untrusted_b + L_JAIL_ID) != 0 &&
	       text_ok(untrusted_b + L_OPTS, BH_PRIV_OPTS_MAX) &&
	       optional_name_ok(untrusted_b + L_CMDLINE_NAME);
}

static int which_ok(uint32_t which)
{
	return which == BH_PRIV_QEMU || which == BH_PRIV_CHAN;
}

/* A pid that pid_t holds as one process: one cast to a negative pid
 * would name a process group. */
static int pid_ok(uint32_t pid)
{
	return pid > 1 && pid <= INT32_MAX;
}

/* [A-Za-z0-9._+-] */
static int owner_char(uint8_t c)
{
	return kver_char(c);
}

/* A place: NONE and all zeros, or a known area, an owner that is one
 * path component other than "." and "..", and a plain file name. */
static int place_ok(const uint8_t *untrusted_p, int used)
{
	uint32_t area = bh_get_u32(untrusted_p);
	const uint8_t *o = untrusted_p + P_OWNER;
	long n;
	size_t i;

	if (!used) {
		for (i = 0; i < BH_PRIV_PLACE_LEN; i++)
			if (untrusted_p[i])
				return 0;
		return 1;
	}
	n = field_len(o, BH_PRIV_OWNER_MAX);
	return area >= 1 && area <= BH_PRIV_AREA_MAX &&
	       field_ok(o, BH_PRIV_OWNER_MAX, owner_char, 1, 0) &&
	       !(n == 1 && o[0] == '.') &&
	       !(n == 2 && o[0] == '.' && o[1] == '.') &&
	       field_ok(untrusted_p + P_FILE, BH_PRIV_FILE_MAX, name_char, 1,
			1);
}

static int job_ok(const uint8_t *untrusted_b)
{
	uint32_t op = bh_get_u32(untrusted_b + J_OP);
	uint64_t size = (uint64_t)bh_get_u32(untrusted_b + J_SIZE) |
			(uint64_t)bh_get_u32(untrusted_b + J_SIZE + 4) << 32;
	int sized = op == BH_PRIV_JOB_MKE2FS || op == BH_PRIV_JOB_RESIZE;

	if (op < BH_PRIV_JOB_COPY || op > BH_PRIV_JOB_HASH)
		return 0;
	return name_ok(untrusted_b + J_QUBE) &&
	       optional_name_ok(untrusted_b + J_OTHER) &&
	       place_ok(untrusted_b + J_SRC,
			op == BH_PRIV_JOB_COPY || op == BH_PRIV_JOB_HASH) &&
	       place_ok(untrusted_b + J_DST, op != BH_PRIV_JOB_HASH) &&
	       (sized ? size >= BH_PRIV_SIZE_MIN && size <= BH_PRIV_SIZE_MAX
		      : size == 0);
}

/* The body of a known type, checked field by field. */
static int body_ok(uint32_t type, const uint8_t *untrusted_b)
{
	int32_t v;
	uint32_t signo;

	switch (type) {
	case BH_PRIV_LAUNCH:
		return launch_ok(untrusted_b);
	case BH_PRIV_LAUNCHED:
		/* Pids that pid_t holds: one cast to a negative pid would
		 * name a process group. */
		return bh_get_u32(untrusted_b) > 1 &&
		       bh_get_u32(untrusted_b) <= INT32_MAX &&
		       bh_get_u32(untrusted_b + 4) > 1 &&
		       bh_get_u32(untrusted_b + 4) <= INT32_MAX;
	case BH_PRIV_FAILED:
		v = (int32_t)bh_get_u32(untrusted_b);
		return v >= 1 && v <= FAILED_CODE_MAX &&
		       text_ok(untrusted_b + 4, BH_PRIV_TEXT_MAX);
	case BH_PRIV_KILL:
		signo = bh_get_u32(untrusted_b + K_VALUE);
		return name_ok(untrusted_b) &&
		       which_ok(bh_get_u32(untrusted_b + K_WHICH)) &&
		       (signo == SIGKILL || signo == SIGTERM);
	case BH_PRIV_EXITED:
		return name_ok(untrusted_b) &&
		       (which_ok(bh_get_u32(untrusted_b + K_WHICH)) ||
			bh_get_u32(untrusted_b + K_WHICH) == BH_PRIV_JOBPROC) &&
		       bh_get_u32(untrusted_b + K_PID) > 1 &&
		       bh_get_u32(untrusted_b + K_PID) <= INT32_MAX;
	case BH_PRIV_DONE:
		v = (int32_t)bh_get_u32(untrusted_b);
		return v <= 0 && v >= -BH_PRIV_ERRNO_MAX;
	case BH_PRIV_JOB:
		return job_ok(untrusted_b);
	case BH_PRIV_JOB_STARTED:
	case BH_PRIV_CANCEL:
		return pid_ok(bh_get_u32(untrusted_b));
	case BH_PRIV_ROOT: {
		uint32_t op = bh_get_u32(untrusted_b);
		const uint8_t *w = untrusted_b + 4 + BH_PRIV_NAME_MAX;

		/* NEXT names no version; the others name one. */
		return op >= BH_PRIV_ROOT_OP_NEXT &&
		       op <= BH_PRIV_ROOT_OP_ABORT &&
		       name_ok(untrusted_b + 4) &&
		       (op == BH_PRIV_ROOT_OP_NEXT
				? field_len(w, BH_PRIV_FILE_MAX) == 0
				: field_ok(w, BH_PRIV_FILE_MAX, name_char, 1,
					   1));
	}
	case BH_PRIV_ATTACH:
		return name_ok(untrusted_b);
	case BH_PRIV_ATTACHED:
		return pid_ok(bh_get_u32(untrusted_b)) &&
		       pid_ok(bh_get_u32(untrusted_b + 4));
	case BH_PRIV_LET_GO:
		return name_ok(untrusted_b) &&
		       !(bh_get_u32(untrusted_b + BH_PRIV_NAME_MAX) &
			 ~BH_PRIV_LET_GO_QEMU);
	case BH_PRIV_LEFTOVERS:
		return bh_get_u32(untrusted_b) <= BH_PRIV_LEFTOVERS_MS_MAX;
	case BH_PRIV_ROOT_NEXT:
		return field_ok(untrusted_b, BH_PRIV_FILE_MAX, name_char, 1,
				1) &&
		       field_ok(untrusted_b + BH_PRIV_FILE_MAX,
				BH_PRIV_FILE_MAX, name_char, 1, 1);
	default:
		return 0;
	}
}

static void take_place(struct bh_priv_place *p, const uint8_t *b)
{
	p->area = bh_get_u32(b);
	memcpy(p->owner, b + P_OWNER, BH_PRIV_OWNER_MAX);
	memcpy(p->file, b + P_FILE, BH_PRIV_FILE_MAX);
}

/* Copies a checked body into m (string fields whole: NUL-padded). */
static void body_take(struct bh_priv_msg *m, const uint8_t *b)
{
	switch (m->type) {
	case BH_PRIV_LAUNCH: {
		struct bh_priv_launch *l = &m->u.launch;

		memcpy(l->name, b + L_NAME, BH_PRIV_NAME_MAX);
		memcpy(l->kver, b + L_KVER, BH_PRIV_KVER_MAX);
		l->root_kind = bh_get_u32(b + L_ROOT_KIND);
		memcpy(l->root_owner, b + L_ROOT_OWNER, BH_PRIV_NAME_MAX);
		memcpy(l->root_file, b + L_ROOT_FILE, BH_PRIV_FILE_MAX);
		l->private_kind = bh_get_u32(b + L_PRIVATE_KIND);
		l->flags = bh_get_u32(b + L_FLAGS);
		l->memory_mb = bh_get_u32(b + L_MEMORY);
		l->vcpus = bh_get_u32(b + L_VCPUS);
		l->jail_id = bh_get_u32(b + L_JAIL_ID);
		l->tsc_khz = bh_get_u32(b + L_TSC);
		memcpy(l->kernelopts, b + L_OPTS, BH_PRIV_OPTS_MAX);
		memcpy(l->cmdline_name, b + L_CMDLINE_NAME, BH_PRIV_NAME_MAX);
		break;
	}
	case BH_PRIV_LAUNCHED:
		m->u.launched.qemu_pid = bh_get_u32(b);
		m->u.launched.chan_pid = bh_get_u32(b + 4);
		break;
	case BH_PRIV_FAILED:
		m->u.failed.code = (int32_t)bh_get_u32(b);
		memcpy(m->u.failed.text, b + 4, BH_PRIV_TEXT_MAX);
		break;
	case BH_PRIV_KILL:
		memcpy(m->u.kill.name, b, BH_PRIV_NAME_MAX);
		m->u.kill.which = bh_get_u32(b + K_WHICH);
		m->u.kill.signo = bh_get_u32(b + K_VALUE);
		break;
	case BH_PRIV_EXITED:
		memcpy(m->u.exited.name, b, BH_PRIV_NAME_MAX);
		m->u.exited.which = bh_get_u32(b + K_WHICH);
		m->u.exited.wait_status = (int32_t)bh_get_u32(b + K_VALUE);
		m->u.exited.pid = bh_get_u32(b + K_PID);
		break;
	case BH_PRIV_DONE:
		m->u.done.result = (int32_t)bh_get_u32(b);
		break;
	case BH_PRIV_JOB: {
		struct bh_priv_job *j = &m->u.job;

		j->op = bh_get_u32(b + J_OP);
		memcpy(j->qube, b + J_QUBE, BH_PRIV_NAME_MAX);
		memcpy(j->other, b + J_OTHER, BH_PRIV_NAME_MAX);
		take_place(&j->src, b + J_SRC);
		take_place(&j->dst, b + J_DST);
		j->size = (uint64_t)bh_get_u32(b + J_SIZE) |
			  (uint64_t)bh_get_u32(b + J_SIZE + 4) << 32;
		break;
	}
	case BH_PRIV_JOB_STARTED:
		m->u.job_started.pid = bh_get_u32(b);
		break;
	case BH_PRIV_CANCEL:
		m->u.cancel.pid = bh_get_u32(b);
		break;
	case BH_PRIV_ROOT:
		m->u.root.op = bh_get_u32(b);
		memcpy(m->u.root.tmpl, b + 4, BH_PRIV_NAME_MAX);
		memcpy(m->u.root.work, b + 4 + BH_PRIV_NAME_MAX,
		       BH_PRIV_FILE_MAX);
		break;
	case BH_PRIV_ATTACH:
		memcpy(m->u.attach.name, b, BH_PRIV_NAME_MAX);
		break;
	case BH_PRIV_ATTACHED:
		m->u.attached.qemu_pid = bh_get_u32(b);
		m->u.attached.chan_pid = bh_get_u32(b + 4);
		break;
	case BH_PRIV_LET_GO:
		memcpy(m->u.let_go.name, b, BH_PRIV_NAME_MAX);
		m->u.let_go.flags = bh_get_u32(b + BH_PRIV_NAME_MAX);
		break;
	case BH_PRIV_LEFTOVERS:
		m->u.leftovers.timeout_ms = bh_get_u32(b);
		break;
	case BH_PRIV_ROOT_NEXT:
		memcpy(m->u.root_next.cur, b, BH_PRIV_FILE_MAX);
		memcpy(m->u.root_next.work, b + BH_PRIV_FILE_MAX,
		       BH_PRIV_FILE_MAX);
		break;
	}
}

int bh_priv_parse(const uint8_t *untrusted_buf, size_t len,
		  struct bh_priv_msg *out)
{
	uint32_t untrusted_type, untrusted_len;
	size_t body;

	if (len < BH_PRIV_HDR_LEN)
		return -EPROTO;
	untrusted_type = bh_get_u32(untrusted_buf);
	untrusted_len = bh_get_u32(untrusted_buf + 8);
	body = bh_priv_body_len(untrusted_type);
	/* The body's length is its type's, and the datagram holds exactly
	 * it: nothing is read that was not received, and nothing more was
	 * sent than is read. */
	if (!body || untrusted_len != body || len != BH_PRIV_HDR_LEN + body ||
	    !body_ok(untrusted_type, untrusted_buf + BH_PRIV_HDR_LEN))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->type = untrusted_type;
	out->id = bh_get_u32(untrusted_buf + 4);
	body_take(out, untrusted_buf + BH_PRIV_HDR_LEN);
	return 0;
}
