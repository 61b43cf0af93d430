/* Unit tests of src/proto/msg_priv.c, the priv link's codec: each type
 * encoded to the exact bytes of its layout and parsed back; the exact
 * length enforced per type (header and datagram); every field's rule
 * refused byte by byte from a valid message; encode refusing what parse
 * would; bh_priv_field_set. Offsets are written again here from the
 * layout msg_priv.h documents, not taken from msg_priv.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/msg_priv.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The wire values both ends agree on. */
_Static_assert(BH_PRIV_LAUNCH == 1 && BH_PRIV_LAUNCHED == 2 &&
		       BH_PRIV_FAILED == 3 && BH_PRIV_KILL == 4 &&
		       BH_PRIV_EXITED == 5 && BH_PRIV_DONE == 6 &&
		       BH_PRIV_JOB == 7 && BH_PRIV_JOB_STARTED == 8 &&
		       BH_PRIV_CANCEL == 9 && BH_PRIV_ROOT == 10 &&
		       BH_PRIV_ROOT_NEXT == 11 && BH_PRIV_ATTACH == 12 &&
		       BH_PRIV_ATTACHED == 13 && BH_PRIV_LET_GO == 14 &&
		       BH_PRIV_LEFTOVERS == 15,
	       "type numbers");
_Static_assert(BH_PRIV_LET_GO_QEMU == 1 && BH_PRIV_LEFTOVERS_MS_MAX == 60000,
	       "LET_GO's flag, LEFTOVERS' longest wait");
_Static_assert(BH_PRIV_ROOT_OP_NEXT == 1 && BH_PRIV_ROOT_OP_COMMIT == 2 &&
		       BH_PRIV_ROOT_OP_ABORT == 3,
	       "root ops");
_Static_assert(BH_PRIV_QEMU == 1 && BH_PRIV_CHAN == 2 &&
		       BH_PRIV_JOBPROC == 3,
	       "which");
_Static_assert(BH_PRIV_JOB_COPY == 1 && BH_PRIV_JOB_MKE2FS == 2 &&
		       BH_PRIV_JOB_RESIZE == 3 && BH_PRIV_JOB_HASH == 4,
	       "job ops");
_Static_assert(BH_PRIV_AREA_NONE == 0 && BH_PRIV_AREA_QUBES == 1 &&
		       BH_PRIV_AREA_TEMPLATES == 2 &&
		       BH_PRIV_AREA_KERNELS == 3 &&
		       BH_PRIV_AREA_SNAPSHOTS == 4 && BH_PRIV_AREA_RUN == 5,
	       "areas");
_Static_assert(BH_PRIV_HDR_LEN == 12, "header");
_Static_assert(BH_PRIV_LAUNCH_LEN == 1532 && BH_PRIV_LAUNCHED_LEN == 8 &&
		       BH_PRIV_FAILED_LEN == 516 && BH_PRIV_KILL_LEN == 40 &&
		       BH_PRIV_EXITED_LEN == 44 && BH_PRIV_DONE_LEN == 4 &&
		       BH_PRIV_JOB_LEN == 340 &&
		       BH_PRIV_JOB_STARTED_LEN == 4 && BH_PRIV_CANCEL_LEN == 4 &&
		       BH_PRIV_ROOT_LEN == 100 && BH_PRIV_ROOT_NEXT_LEN == 128 &&
		       BH_PRIV_ATTACH_LEN == 32 && BH_PRIV_ATTACHED_LEN == 8 &&
		       BH_PRIV_LET_GO_LEN == 36 && BH_PRIV_LEFTOVERS_LEN == 4,
	       "body lengths");
/* MKE2FS's and RESIZE's size: 1 MiB to 16 TiB. */
_Static_assert(BH_PRIV_SIZE_MIN == 0x100000ull &&
		       BH_PRIV_SIZE_MAX == 0x100000000000ull,
	       "job sizes");
_Static_assert(BH_PRIV_MSG_MAX == 1544, "largest datagram");
/* kernelopts: the property's 1024 bytes and the daemon's bh.init=. */
_Static_assert(BH_PRIV_OPTS_MAX == 1280, "kernelopts' field");

/* LAUNCH's body offsets (msg_priv.h's field order). */
enum {
	O_NAME = 0,
	O_KVER = 32,
	O_ROOT_KIND = 96,
	O_ROOT_OWNER = 100,
	O_ROOT_FILE = 132,
	O_PRIVATE_KIND = 196,
	O_FLAGS = 200,
	O_MEMORY = 204,
	O_VCPUS = 208,
	O_JAIL = 212,
	O_TSC = 216,
	O_OPTS = 220,
	O_CMDLINE = 1500,
};

/* JOB's body offsets, and a place's (src at J_SRC, dst at J_DST). */
enum {
	J_OP = 0,
	J_QUBE = 4,
	J_OTHER = 36,
	J_SRC = 68,
	J_DST = 200,
	J_SIZE = 332, /* u64: the low u32 at 332, the high one at 336 */
	P_AREA = 0,
	P_OWNER = 4,
	P_FILE = 68,
	P_LEN = 132,
};

/* ROOT's body offsets, and ROOT_NEXT's. */
enum {
	R_OP = 0,
	R_TMPL = 4,
	R_WORK = 36,
	N_CUR = 0,
	N_WORK = 64,
};

/* A type number no message has: the first after LEFTOVERS. */
#define UNKNOWN_TYPE 16u

#define H BH_PRIV_HDR_LEN

/* ---- valid messages of each type ---- */

static void good_launch(struct bh_priv_msg *m)
{
	struct bh_priv_launch *l = &m->u.launch;

	memset(m, 0, sizeof(*m));
	m->type = BH_PRIV_LAUNCH;
	m->id = 0x01020304;
	strcpy(l->name, "work");
	strcpy(l->kver, "6.12.0+deb13-amd64");
	l->root_kind = BH_PRIV_ROOT_TEMPLATE;
	strcpy(l->root_owner, "debian-12");
	strcpy(l->root_file, "root.img");
	l->private_kind = BH_PRIV_PRIVATE_STATE;
	l->flags = BH_PRIV_ROOT_WRITABLE;
	l->memory_mb = 400;
	l->vcpus = 2;
	l->jail_id = 7;
	l->tsc_khz = 2995200;
	strcpy(l->kernelopts, "console=hvc0 quiet");
	strcpy(l->cmdline_name, "work");
}

/* A valid JOB of op: COPY reads another qube's file into this one's,
 * MKE2FS and RESIZE a size for dst, HASH src only. */
static void good_job(struct bh_priv_msg *m, uint32_t op)
{
	struct bh_priv_job *j = &m->u.job;

	memset(m, 0, sizeof(*m));
	m->type = BH_PRIV_JOB;
	m->id = 78;
	j->op = op;
	strcpy(j->qube, "work");
	switch (op) {
	case BH_PRIV_JOB_COPY:
		strcpy(j->other, "debian-12");
		j->src.area = BH_PRIV_AREA_TEMPLATES;
		strcpy(j->src.owner, "debian-12");
		strcpy(j->src.file, "root.img");
		j->dst.area = BH_PRIV_AREA_QUBES;
		strcpy(j->dst.owner, "work");
		strcpy(j->dst.file, "root.img");
		break;
	case BH_PRIV_JOB_MKE2FS:
		j->dst.area = BH_PRIV_AREA_QUBES;
		strcpy(j->dst.owner, "work");
		strcpy(j->dst.file, "private.img");
		j->size = 2ull << 30;
		break;
	case BH_PRIV_JOB_RESIZE:
		j->dst.area = BH_PRIV_AREA_RUN;
		strcpy(j->dst.owner, "work");
		strcpy(j->dst.file, "private.img");
		j->size = 0x123456789ull; /* both halves non-zero */
		break;
	case BH_PRIV_JOB_HASH:
		j->src.area = BH_PRIV_AREA_SNAPSHOTS;
		strcpy(j->src.owner, ".build-k1.AbC123");
		strcpy(j->src.file, "state.bin");
		break;
	default:
		fail();
	}
}

/* A valid ROOT of op: NEXT names no version, COMMIT and ABORT the one
 * NEXT's answer named. */
static void good_root(struct bh_priv_msg *m, uint32_t op)
{
	memset(m, 0, sizeof(*m));
	m->type = BH_PRIV_ROOT;
	m->id = 79;
	m->u.root.op = op;
	strcpy(m->u.root.tmpl, "debian-12");
	switch (op) {
	case BH_PRIV_ROOT_OP_NEXT:
		break;
	case BH_PRIV_ROOT_OP_COMMIT:
	case BH_PRIV_ROOT_OP_ABORT:
		strcpy(m->u.root.work, "root-3.img");
		break;
	default:
		fail();
	}
}

static const uint32_t root_ops[] = { BH_PRIV_ROOT_OP_NEXT,
				     BH_PRIV_ROOT_OP_COMMIT,
				     BH_PRIV_ROOT_OP_ABORT };

static const uint32_t job_ops[] = { BH_PRIV_JOB_COPY, BH_PRIV_JOB_MKE2FS,
				    BH_PRIV_JOB_RESIZE, BH_PRIV_JOB_HASH };

static void good(uint32_t type, struct bh_priv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case BH_PRIV_LAUNCH:
		good_launch(m);
		break;
	case BH_PRIV_LAUNCHED:
		m->u.launched.qemu_pid = 4242;
		m->u.launched.chan_pid = 4243;
		break;
	case BH_PRIV_FAILED:
		m->u.failed.code = 122;
		strcpy(m->u.failed.text, "no kernel 6.1: STATE/kernels/6.1");
		break;
	case BH_PRIV_KILL:
		strcpy(m->u.kill.name, "disp12");
		m->u.kill.which = BH_PRIV_QEMU;
		m->u.kill.signo = SIGKILL;
		break;
	case BH_PRIV_EXITED:
		strcpy(m->u.exited.name, "disp12");
		m->u.exited.which = BH_PRIV_CHAN;
		m->u.exited.wait_status = 0x8b; /* SIGSEGV, core */
		m->u.exited.pid = 4243;
		break;
	case BH_PRIV_DONE:
		m->u.done.result = -ESRCH;
		break;
	case BH_PRIV_JOB:
		good_job(m, BH_PRIV_JOB_COPY);
		break;
	case BH_PRIV_JOB_STARTED:
		m->u.job_started.pid = 4244;
		break;
	case BH_PRIV_CANCEL:
		m->u.cancel.pid = 4245;
		break;
	case BH_PRIV_ROOT:
		good_root(m, BH_PRIV_ROOT_OP_COMMIT);
		break;
	case BH_PRIV_ROOT_NEXT:
		strcpy(m->u.root_next.cur, "root-2.img");
		strcpy(m->u.root_next.work, "root-3.img");
		break;
	case BH_PRIV_ATTACH:
		strcpy(m->u.attach.name, "work");
		break;
	case BH_PRIV_ATTACHED:
		m->u.attached.qemu_pid = 4246;
		m->u.attached.chan_pid = 4247;
		break;
	case BH_PRIV_LET_GO:
		strcpy(m->u.let_go.name, "disp12");
		m->u.let_go.flags = BH_PRIV_LET_GO_QEMU;
		break;
	case BH_PRIV_LEFTOVERS:
		m->u.leftovers.timeout_ms = 30000;
		break;
	default:
		fail();
	}
	m->id = 77;
}

static const uint32_t types[] = { BH_PRIV_LAUNCH, BH_PRIV_LAUNCHED,
				  BH_PRIV_FAILED, BH_PRIV_KILL,
				  BH_PRIV_EXITED, BH_PRIV_DONE,
				  BH_PRIV_JOB, BH_PRIV_JOB_STARTED,
				  BH_PRIV_CANCEL, BH_PRIV_ROOT,
				  BH_PRIV_ROOT_NEXT, BH_PRIV_ATTACH,
				  BH_PRIV_ATTACHED, BH_PRIV_LET_GO,
				  BH_PRIV_LEFTOVERS };
static const size_t body_lens[] = { 1532, 8, 516, 40, 44, 4, 340, 4, 4,
				    100, 128, 32, 8, 36, 4 };

/* Encodes a valid message of type into b; returns the length. */
static size_t enc_good(uint32_t type, uint8_t b[BH_PRIV_MSG_MAX + 8])
{
	struct bh_priv_msg m;
	int n;

	good(type, &m);
	memset(b, 0xee, BH_PRIV_MSG_MAX + 8);
	n = bh_priv_encode(b, &m);
	assert_true(n > 0);
	return (size_t)n;
}

static int parse(const uint8_t *b, size_t len)
{
	struct bh_priv_msg m;

	return bh_priv_parse(b, len, &m);
}

/* ---- layout and round trips ---- */

static void test_layout(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(types); i++) {
		assert_int_equal(bh_priv_body_len(types[i]), body_lens[i]);
		assert_int_equal(enc_good(types[i], b), H + body_lens[i]);
		assert_int_equal(bh_get_u32(b), types[i]);
		assert_int_equal(bh_get_u32(b + 4), 77);
		assert_int_equal(bh_get_u32(b + 8), body_lens[i]);
	}
	assert_int_equal(bh_priv_body_len(0), 0);
	assert_int_equal(bh_priv_body_len(UNKNOWN_TYPE), 0);
	assert_int_equal(bh_priv_body_len(UNKNOWN_TYPE + 1), 0);
	assert_int_equal(bh_priv_body_len(0xffffffffu), 0);

	/* LAUNCH, byte by byte where it matters. */
	good_launch(&m);
	assert_int_equal(bh_priv_encode(b, &m), H + 1532);
	assert_memory_equal(b, "\1\0\0\0\4\3\2\1\xfc\5\0\0", 12);
	assert_memory_equal(b + H + O_NAME, "work\0\0\0\0", 8);
	assert_memory_equal(b + H + O_KVER, "6.12.0+deb13-amd64\0", 19);
	assert_int_equal(bh_get_u32(b + H + O_ROOT_KIND), 1);
	assert_memory_equal(b + H + O_ROOT_OWNER, "debian-12\0", 10);
	assert_memory_equal(b + H + O_ROOT_FILE, "root.img\0", 9);
	assert_int_equal(bh_get_u32(b + H + O_PRIVATE_KIND), 1);
	assert_int_equal(bh_get_u32(b + H + O_FLAGS), 1);
	assert_int_equal(bh_get_u32(b + H + O_MEMORY), 400);
	assert_int_equal(bh_get_u32(b + H + O_VCPUS), 2);
	assert_int_equal(bh_get_u32(b + H + O_JAIL), 7);
	assert_int_equal(bh_get_u32(b + H + O_TSC), 2995200);
	assert_memory_equal(b + H + O_OPTS, "console=hvc0 quiet\0", 19);
	assert_memory_equal(b + H + O_CMDLINE, "work\0", 5);
	/* Zeros after each string, to the end of its field. */
	for (i = 4; i < 32; i++)
		assert_int_equal(b[H + O_NAME + i], 0);
	for (i = 18; i < 1280; i++)
		assert_int_equal(b[H + O_OPTS + i], 0);
	for (i = 4; i < 32; i++)
		assert_int_equal(b[H + O_CMDLINE + i], 0);
	/* Nothing written past the datagram. */
	assert_int_equal(b[BH_PRIV_MSG_MAX], 0xee);

	/* The small ones whole. */
	good(BH_PRIV_DONE, &m);
	m.id = 0xfffffffe;
	assert_int_equal(bh_priv_encode(b, &m), 16);
	assert_memory_equal(b, "\6\0\0\0\xfe\xff\xff\xff\4\0\0\0\xfd\xff\xff\xff",
			    16);
	good(BH_PRIV_LAUNCHED, &m);
	assert_int_equal(bh_priv_encode(b, &m), 20);
	assert_memory_equal(b, "\2\0\0\0\x4d\0\0\0\x8\0\0\0\x92\x10\0\0\x93\x10\0\0",
			    20);
	good(BH_PRIV_KILL, &m);
	assert_int_equal(bh_priv_encode(b, &m), 52);
	assert_memory_equal(b + H, "disp12\0", 7);
	assert_int_equal(bh_get_u32(b + H + 32), 1);
	assert_int_equal(bh_get_u32(b + H + 36), 9);
	good(BH_PRIV_EXITED, &m);
	assert_int_equal(bh_priv_encode(b, &m), 56);
	assert_memory_equal(b, "\5\0\0\0\x4d\0\0\0\x2c\0\0\0", 12);
	assert_memory_equal(b + H, "disp12\0", 7);
	assert_int_equal(bh_get_u32(b + H + 32), 2);
	assert_int_equal(bh_get_u32(b + H + 36), 0x8b);
	assert_int_equal(bh_get_u32(b + H + 40), 4243);
	good(BH_PRIV_FAILED, &m);
	assert_int_equal(bh_priv_encode(b, &m), 528);
	assert_int_equal(bh_get_u32(b + H), 122);
	assert_memory_equal(b + H + 4, "no kernel 6.1: STATE/kernels/6.1\0",
			    33);
	good(BH_PRIV_JOB_STARTED, &m);
	assert_int_equal(bh_priv_encode(b, &m), 16);
	assert_memory_equal(b, "\x8\0\0\0\x4d\0\0\0\4\0\0\0\x94\x10\0\0", 16);
	good(BH_PRIV_CANCEL, &m);
	assert_int_equal(bh_priv_encode(b, &m), 16);
	assert_memory_equal(b, "\x9\0\0\0\x4d\0\0\0\4\0\0\0\x95\x10\0\0", 16);
}

/* A JOB on the wire, field by field, for each op. */
static void test_job_layout(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m;
	size_t i;

	(void)state;
	good_job(&m, BH_PRIV_JOB_COPY);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	assert_memory_equal(b, "\7\0\0\0\x4e\0\0\0\x54\1\0\0", 12);
	assert_int_equal(bh_get_u32(b + H + J_OP), 1);
	assert_memory_equal(b + H + J_QUBE, "work\0", 5);
	assert_memory_equal(b + H + J_OTHER, "debian-12\0", 10);
	assert_int_equal(bh_get_u32(b + H + J_SRC + P_AREA), 2);
	assert_memory_equal(b + H + J_SRC + P_OWNER, "debian-12\0", 10);
	assert_memory_equal(b + H + J_SRC + P_FILE, "root.img\0", 9);
	assert_int_equal(bh_get_u32(b + H + J_DST + P_AREA), 1);
	assert_memory_equal(b + H + J_DST + P_OWNER, "work\0", 5);
	assert_memory_equal(b + H + J_DST + P_FILE, "root.img\0", 9);
	assert_int_equal(bh_get_u32(b + H + J_SIZE), 0);
	assert_int_equal(bh_get_u32(b + H + J_SIZE + 4), 0);
	/* Zeros after each string, to the end of its field. */
	for (i = 4; i < 32; i++)
		assert_int_equal(b[H + J_QUBE + i], 0);
	for (i = 9; i < 32; i++)
		assert_int_equal(b[H + J_OTHER + i], 0);
	for (i = 9; i < 64; i++)
		assert_int_equal(b[H + J_SRC + P_OWNER + i], 0);
	for (i = 8; i < 64; i++)
		assert_int_equal(b[H + J_SRC + P_FILE + i], 0);
	for (i = 4; i < 64; i++)
		assert_int_equal(b[H + J_DST + P_OWNER + i], 0);
	for (i = 8; i < 64; i++)
		assert_int_equal(b[H + J_DST + P_FILE + i], 0);
	assert_int_equal(b[H + 340], 0xee);

	/* RESIZE: the size little-endian, low u32 then high; src all
	 * zeros; other "" all zeros. */
	good_job(&m, BH_PRIV_JOB_RESIZE);
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	assert_int_equal(bh_get_u32(b + H + J_OP), 3);
	assert_memory_equal(b + H + J_SIZE, "\x89\x67\x45\x23\1\0\0\0", 8);
	assert_int_equal(bh_get_u32(b + H + J_DST + P_AREA), 5);
	assert_memory_equal(b + H + J_DST + P_FILE, "private.img\0", 12);
	for (i = 0; i < 32; i++)
		assert_int_equal(b[H + J_OTHER + i], 0);
	for (i = 0; i < P_LEN; i++)
		assert_int_equal(b[H + J_SRC + i], 0);

	/* HASH: src only, dst all zeros. */
	good_job(&m, BH_PRIV_JOB_HASH);
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	assert_int_equal(bh_get_u32(b + H + J_OP), 4);
	assert_int_equal(bh_get_u32(b + H + J_SRC + P_AREA), 4);
	assert_memory_equal(b + H + J_SRC + P_OWNER, ".build-k1.AbC123\0",
			    17);
	assert_memory_equal(b + H + J_SRC + P_FILE, "state.bin\0", 10);
	for (i = 0; i < P_LEN; i++)
		assert_int_equal(b[H + J_DST + i], 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(b[H + J_SIZE + i], 0);

	/* MKE2FS: 2 GiB, the high u32 0. */
	good_job(&m, BH_PRIV_JOB_MKE2FS);
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	assert_int_equal(bh_get_u32(b + H + J_SIZE), 0x80000000u);
	assert_int_equal(bh_get_u32(b + H + J_SIZE + 4), 0);
}

static void test_roundtrip(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8], again[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m, got;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(types); i++) {
		good(types[i], &m);
		n = enc_good(types[i], b);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_int_equal(got.type, types[i]);
		assert_int_equal(got.id, 77);
		/* good() zeroed m whole, and parse fills got whole. */
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}
	/* Every value the rules allow at their edges. */
	good_launch(&m);
	m.id = 0;
	/* field_set: zeros after the NUL, as parse gives them back. */
	bh_priv_field_set(m.u.launch.name, BH_PRIV_NAME_MAX, "Z");
	bh_priv_field_set(m.u.launch.kver, BH_PRIV_KVER_MAX, "a");
	m.u.launch.root_kind = BH_PRIV_ROOT_QUBE;
	bh_priv_field_set(m.u.launch.root_owner, BH_PRIV_NAME_MAX, "a.b_c-D9");
	bh_priv_field_set(m.u.launch.root_file, BH_PRIV_FILE_MAX, "x");
	m.u.launch.private_kind = BH_PRIV_PRIVATE_RUN;
	m.u.launch.flags = BH_PRIV_LAUNCH_FLAGS;
	m.u.launch.memory_mb = BH_PRIV_MEMORY_MAX;
	m.u.launch.vcpus = BH_PRIV_VCPUS_MAX;
	m.u.launch.jail_id = 0xffffffffu;
	m.u.launch.tsc_khz = 0;
	bh_priv_field_set(m.u.launch.kernelopts, BH_PRIV_OPTS_MAX, "");
	bh_priv_field_set(m.u.launch.cmdline_name, BH_PRIV_NAME_MAX, "");
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 1532);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));

	/* The longest kernel options (1279 bytes: a 1024-byte property
	 * and the daemon's bh.init= fit), cmdline_name whole after them. */
	good_launch(&m);
	memset(m.u.launch.kernelopts, 'o', BH_PRIV_OPTS_MAX - 1);
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 1532);
	assert_int_equal(b[H + O_OPTS + 1278], 'o');
	assert_int_equal(b[H + O_OPTS + 1279], 0);
	assert_memory_equal(b + H + O_CMDLINE, "work\0", 5);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));

	good(BH_PRIV_EXITED, &m);
	m.u.exited.wait_status = INT32_MIN;
	m.u.exited.pid = INT32_MAX;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_int_equal(got.u.exited.wait_status, INT32_MIN);
	assert_int_equal(got.u.exited.pid, INT32_MAX);
	m.u.exited.pid = 2;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_int_equal(got.u.exited.pid, 2);

	good(BH_PRIV_LAUNCHED, &m);
	m.u.launched.qemu_pid = INT32_MAX;
	m.u.launched.chan_pid = 2;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));

	/* A JOB of each op, and back to the same bytes. */
	for (i = 0; i < ARRAY_LEN(job_ops); i++) {
		good_job(&m, job_ops[i]);
		n = (size_t)bh_priv_encode(b, &m);
		assert_int_equal(n, H + 340);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}
	/* The edges: sizes, areas, the longest names. */
	good_job(&m, BH_PRIV_JOB_MKE2FS);
	m.u.job.size = BH_PRIV_SIZE_MIN;
	m.u.job.dst.area = BH_PRIV_AREA_KERNELS;
	memset(m.u.job.dst.owner, '+', BH_PRIV_OWNER_MAX - 1);
	memset(m.u.job.dst.file, 'f', BH_PRIV_FILE_MAX - 1);
	memset(m.u.job.qube, 'q', BH_PRIV_NAME_MAX - 1);
	memset(m.u.job.other, 'o', BH_PRIV_NAME_MAX - 1);
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 340);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	good_job(&m, BH_PRIV_JOB_RESIZE);
	m.u.job.size = BH_PRIV_SIZE_MAX;
	m.u.job.dst.area = BH_PRIV_AREA_SNAPSHOTS;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	assert_memory_equal(b + H + J_SIZE, "\0\0\0\0\0\x10\0\0", 8);

	good(BH_PRIV_JOB_STARTED, &m);
	m.u.job_started.pid = INT32_MAX;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	good(BH_PRIV_CANCEL, &m);
	m.u.cancel.pid = 2;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	good(BH_PRIV_EXITED, &m);
	m.u.exited.which = BH_PRIV_JOBPROC;
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
}

/* ---- lengths ---- */

static void test_lengths(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t i, n, cut;

	(void)state;
	for (i = 0; i < ARRAY_LEN(types); i++) {
		n = enc_good(types[i], b);
		b[n] = 0;
		assert_int_equal(parse(b, n), 0);
		/* A byte short, a byte long (a zero: harmless but extra). */
		assert_int_equal(parse(b, n - 1), -EPROTO);
		assert_int_equal(parse(b, n + 1), -EPROTO);
		/* Any shorter datagram, down to none. */
		for (cut = 0; cut < n; cut++)
			assert_int_equal(parse(b, cut), -EPROTO);
		/* The header's length one off, the datagram as it is... */
		bh_put_u32(b + 8, (uint32_t)body_lens[i] - 1);
		assert_int_equal(parse(b, n), -EPROTO);
		assert_int_equal(parse(b, n - 1), -EPROTO);
		bh_put_u32(b + 8, (uint32_t)body_lens[i] + 1);
		assert_int_equal(parse(b, n), -EPROTO);
		assert_int_equal(parse(b, n + 1), -EPROTO);
		bh_put_u32(b + 8, 0);
		assert_int_equal(parse(b, H), -EPROTO);
		bh_put_u32(b + 8, 0xffffffffu);
		assert_int_equal(parse(b, n), -EPROTO);
		bh_put_u32(b + 8, (uint32_t)body_lens[i]);
		assert_int_equal(parse(b, n), 0);
	}
	/* Another type's length: a KILL read as EXITED is not (40 bytes,
	 * EXITED's are 44); given EXITED's length and a pid after it, the
	 * fields decide. A DONE as LAUNCHED is not either. */
	n = enc_good(BH_PRIV_KILL, b);
	bh_put_u32(b, BH_PRIV_EXITED);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 44);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + n, 4242);
	assert_int_equal(parse(b, n + 4), 0);
	bh_put_u32(b + n, 1);
	assert_int_equal(parse(b, n + 4), -EPROTO);
	n = enc_good(BH_PRIV_DONE, b);
	bh_put_u32(b, BH_PRIV_LAUNCHED);
	assert_int_equal(parse(b, n), -EPROTO);
	/* The 4-byte bodies: DONE's -ESRCH is no wait for LEFTOVERS,
	 * LEFTOVERS' 30000 ms no result for DONE; a pid within 60000 is a
	 * wait. LAUNCHED and ATTACHED have one shape. An ATTACH is not a
	 * LET_GO (32 bytes, LET_GO's are 36), nor a KILL (40). */
	n = enc_good(BH_PRIV_DONE, b);
	bh_put_u32(b, BH_PRIV_LEFTOVERS);
	assert_int_equal(parse(b, n), -EPROTO);
	n = enc_good(BH_PRIV_LEFTOVERS, b);
	bh_put_u32(b, BH_PRIV_DONE);
	assert_int_equal(parse(b, n), -EPROTO);
	n = enc_good(BH_PRIV_CANCEL, b);
	bh_put_u32(b, BH_PRIV_LEFTOVERS);
	assert_int_equal(parse(b, n), 0);
	n = enc_good(BH_PRIV_LAUNCHED, b);
	bh_put_u32(b, BH_PRIV_ATTACHED);
	assert_int_equal(parse(b, n), 0);
	n = enc_good(BH_PRIV_ATTACH, b);
	bh_put_u32(b, BH_PRIV_LET_GO);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 36);
	bh_put_u32(b + n, 0);
	assert_int_equal(parse(b, n), -EPROTO);
	assert_int_equal(parse(b, n + 4), 0);
	bh_put_u32(b + n, 2);
	assert_int_equal(parse(b, n + 4), -EPROTO);
	bh_put_u32(b, BH_PRIV_KILL);
	assert_int_equal(parse(b, n + 4), -EPROTO);
	/* Unknown types, whatever their length. */
	n = enc_good(BH_PRIV_DONE, b);
	bh_put_u32(b, 0);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b, UNKNOWN_TYPE);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 100); /* ROOT's length: still unknown */
	assert_int_equal(parse(b, H + 100), -EPROTO);
	bh_put_u32(b + 8, 4); /* LEFTOVERS' and DONE's length */
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b, UNKNOWN_TYPE + 1);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b, 0x1000000fu); /* LEFTOVERS in the low byte only */
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 4);
	bh_put_u32(b + 8, 340); /* JOB's, from the DONE's 4 bytes */
	bh_put_u32(b, BH_PRIV_JOB);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 4);
	bh_put_u32(b, 0x10000006u);
	assert_int_equal(parse(b, n), -EPROTO);
	bh_put_u32(b + 8, 0);
	assert_int_equal(parse(b, H), -EPROTO);
	bh_put_u32(b, 0);
	assert_int_equal(parse(b, H), -EPROTO);
}

/* ---- fields ---- */

/* A valid message of type with the field at body offset off (cap bytes)
 * replaced by the n bytes of raw, zeros after them; parsed. */
static int with_field(uint32_t type, size_t off, size_t cap, const char *raw,
		      size_t n)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_good(type, b);

	assert_true(n <= cap);
	memset(b + H + off, 0, cap);
	memcpy(b + H + off, raw, n);
	return parse(b, len);
}

/* The same with a u32 at off. */
static int with_u32(uint32_t type, size_t off, uint32_t v)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_good(type, b);

	bh_put_u32(b + H + off, v);
	return parse(b, len);
}

struct str_case {
	const char *raw;
	size_t n;
	int ok;
};

#define OK(s) { s, sizeof(s) - 1, 1 }
#define BAD(s) { s, sizeof(s) - 1, 0 }

/* A name (qube, template): first a letter, then [A-Za-z0-9_.-]. */
static const struct str_case name_cases[] = {
	OK("work"),
	OK("a"),
	OK("Z"),
	OK("a.b_c-D9"),
	OK("disp12"),
	OK("debian-12"),
	BAD(""),
	BAD("1work"),
	BAD("9"),
	BAD("-x"),
	BAD("_x"),
	BAD(".x"),
	BAD(".."),
	BAD("."),
	BAD("a/b"),
	BAD("../etc"),
	BAD("a b"),
	BAD("a+b"),
	BAD("a:b"),
	BAD("a\x7f"),
	BAD("a\x80"),
	BAD("\xc3\xa9t\xc3\xa9"),
	BAD("a\xff"),
	BAD("a\n"),
	BAD("a\t"),
	BAD("wo\0rk"),    /* something after the NUL */
	BAD("\0x"),       /* "" with something after it */
	BAD("work\0\0\1"),
};

/* A kernel version: [A-Za-z0-9._+-], not starting with '.'. */
static const struct str_case kver_cases[] = {
	OK("6.12.0+deb13-amd64"),
	OK("a"),
	OK("6"),
	OK("_x"),
	OK("-x"),
	OK("+x"),
	OK("6.1-rc1_test"),
	BAD(""),
	BAD("."),
	BAD(".."),
	BAD(".6.1"),
	BAD("6/1"),
	BAD("../6.1"),
	BAD("6 1"),
	BAD("6:1"),
	BAD("6.1\x7f"),
	BAD("6.1\x80"),
	BAD("6.1\0x"),
	BAD("\0x"),
};

/* A plain file name: [A-Za-z0-9._-], not starting with '.'. */
static const struct str_case file_cases[] = {
	OK("root.img"),
	OK("root-v2_x.img"),
	OK("x"),
	OK("1.img"),
	OK("-x"),
	OK("root.img.."),
	BAD(""),
	BAD("."),
	BAD(".."),
	BAD(".hidden"),
	BAD("a/b"),
	BAD("/root.img"),
	BAD("a+b"),
	BAD("a b"),
	BAD("a\x7f"),
	BAD("a\xfe"),
	BAD("root.img\0x"),
};

/* Printable text (kernel options, FAILED's text). */
static const struct str_case text_cases[] = {
	OK(""),
	OK("console=hvc0 quiet"),
	OK(" ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"),
	BAD("a\tb"),
	BAD("a\nb"),
	BAD("\x1f"),
	BAD("a\x7f"),
	BAD("\x80"),
	BAD("\xff"),
	BAD("quiet\0x"),
	BAD("\0 "),
};

static void check_cases(uint32_t type, size_t off, size_t cap,
			const struct str_case *c, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int rc = with_field(type, off, cap, c[i].raw, c[i].n);

		if (rc != (c[i].ok ? 0 : -EPROTO))
			fail_msg("type %u field at %zu: case %zu (\"%s\") gave %d",
				 type, off, i, c[i].raw, rc);
	}
}

/* A field filled to n bytes of ch (n <= cap; n == cap leaves no NUL). */
static int filled(uint32_t type, size_t off, size_t cap, size_t n, char ch)
{
	char raw[BH_PRIV_OPTS_MAX];

	memset(raw, ch, sizeof(raw));
	return with_field(type, off, cap, raw, n);
}

/* The full-length rule of a field: cap - 1 bytes fit, cap do not. */
static void check_full(uint32_t type, size_t off, size_t cap, char ch)
{
	assert_int_equal(filled(type, off, cap, cap - 1, ch), 0);
	assert_int_equal(filled(type, off, cap, cap, ch), -EPROTO);
}

static void test_names(void **state)
{
	(void)state;
	check_cases(BH_PRIV_LAUNCH, O_NAME, 32, name_cases,
		    ARRAY_LEN(name_cases));
	check_full(BH_PRIV_LAUNCH, O_NAME, 32, 'q');
	check_cases(BH_PRIV_LAUNCH, O_ROOT_OWNER, 32, name_cases,
		    ARRAY_LEN(name_cases));
	check_full(BH_PRIV_LAUNCH, O_ROOT_OWNER, 32, 't');
	check_cases(BH_PRIV_KILL, 0, 32, name_cases, ARRAY_LEN(name_cases));
	check_full(BH_PRIV_KILL, 0, 32, 'k');
	check_cases(BH_PRIV_EXITED, 0, 32, name_cases, ARRAY_LEN(name_cases));
	check_full(BH_PRIV_EXITED, 0, 32, 'e');

	/* cmdline_name: the same rule, and "" too (all zeros only). */
	assert_int_equal(with_field(BH_PRIV_LAUNCH, O_CMDLINE, 32, "", 0), 0);
	assert_true(name_cases[6].n == 0);
	check_cases(BH_PRIV_LAUNCH, O_CMDLINE, 32, name_cases + 7,
		    ARRAY_LEN(name_cases) - 7);
	check_cases(BH_PRIV_LAUNCH, O_CMDLINE, 32, name_cases, 6);
	check_full(BH_PRIV_LAUNCH, O_CMDLINE, 32, 'c');
	assert_int_equal(filled(BH_PRIV_LAUNCH, O_CMDLINE, 32, 32, 0), 0);
}

static void test_strings(void **state)
{
	(void)state;
	check_cases(BH_PRIV_LAUNCH, O_KVER, 64, kver_cases,
		    ARRAY_LEN(kver_cases));
	check_full(BH_PRIV_LAUNCH, O_KVER, 64, '6');
	check_cases(BH_PRIV_LAUNCH, O_ROOT_FILE, 64, file_cases,
		    ARRAY_LEN(file_cases));
	check_full(BH_PRIV_LAUNCH, O_ROOT_FILE, 64, 'f');
	check_cases(BH_PRIV_LAUNCH, O_OPTS, 1280, text_cases,
		    ARRAY_LEN(text_cases));
	/* 1279 bytes of options pass, a full 1280 with no NUL does not. */
	check_full(BH_PRIV_LAUNCH, O_OPTS, 1280, ' ');
	check_full(BH_PRIV_LAUNCH, O_OPTS, 1280, '~');
	/* The old field's size is no edge now. */
	assert_int_equal(filled(BH_PRIV_LAUNCH, O_OPTS, 1280, 512, 'o'), 0);
	assert_int_equal(filled(BH_PRIV_LAUNCH, O_OPTS, 1280, 1024, 'o'), 0);
	check_cases(BH_PRIV_FAILED, 4, 512, text_cases, ARRAY_LEN(text_cases));
	check_full(BH_PRIV_FAILED, 4, 512, 'x');
	/* A byte past the NUL in the last byte of a field. */
	{
		char raw[1280];

		memset(raw, 0, sizeof(raw));
		raw[0] = 'a';
		raw[1279] = 'b';
		assert_int_equal(with_field(BH_PRIV_LAUNCH, O_OPTS, 1280, raw,
					    1280),
				 -EPROTO);
		raw[1279] = 0;
		assert_int_equal(with_field(BH_PRIV_LAUNCH, O_OPTS, 1280, raw,
					    1280),
				 0);
		raw[31] = 'b';
		assert_int_equal(with_field(BH_PRIV_LAUNCH, O_NAME, 32, raw,
					    32),
				 -EPROTO);
		raw[31] = 0;
		assert_int_equal(with_field(BH_PRIV_LAUNCH, O_NAME, 32, raw,
					    32),
				 0);
	}
}

struct u32_case {
	uint32_t v;
	int ok;
};

static void check_u32(uint32_t type, size_t off, const struct u32_case *c,
		      size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int rc = with_u32(type, off, c[i].v);

		if (rc != (c[i].ok ? 0 : -EPROTO))
			fail_msg("type %u u32 at %zu = %u (%d): gave %d", type,
				 off, c[i].v, (int32_t)c[i].v, rc);
	}
}

#define U(v, ok) { (uint32_t)(v), ok }

static void test_launch_numbers(void **state)
{
	static const struct u32_case root_kind[] = {
		U(0, 0), U(1, 1), U(2, 1), U(3, 0), U(0x80000001u, 0),
	};
	static const struct u32_case private_kind[] = {
		U(0, 1), U(1, 1), U(2, 1), U(3, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case flags[] = {
		U(0, 1), U(1, 1), U(2, 1), U(4, 1), U(7, 1), U(8, 0),
		U(9, 0), U(0x10, 0), U(0x80000000u, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case memory[] = {
		U(0, 0), U(31, 0), U(32, 1), U(400, 1), U(1048576, 1),
		U(1048577, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case vcpus[] = {
		U(0, 0), U(1, 1), U(64, 1), U(65, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case jail[] = {
		U(0, 0), U(1, 1), U(0xffffffffu, 1),
	};
	static const struct u32_case tsc[] = {
		U(0, 1), U(1, 1), U(0xffffffffu, 1),
	};

	(void)state;
	check_u32(BH_PRIV_LAUNCH, O_ROOT_KIND, root_kind, ARRAY_LEN(root_kind));
	check_u32(BH_PRIV_LAUNCH, O_PRIVATE_KIND, private_kind,
		  ARRAY_LEN(private_kind));
	check_u32(BH_PRIV_LAUNCH, O_FLAGS, flags, ARRAY_LEN(flags));
	check_u32(BH_PRIV_LAUNCH, O_MEMORY, memory, ARRAY_LEN(memory));
	check_u32(BH_PRIV_LAUNCH, O_VCPUS, vcpus, ARRAY_LEN(vcpus));
	check_u32(BH_PRIV_LAUNCH, O_JAIL, jail, ARRAY_LEN(jail));
	check_u32(BH_PRIV_LAUNCH, O_TSC, tsc, ARRAY_LEN(tsc));
}

static void test_answer_numbers(void **state)
{
	/* A pid: 2..INT32_MAX, what pid_t holds; one cast to a negative
	 * pid_t would name a process group. */
	static const struct u32_case pid[] = {
		U(0, 0), U(1, 0), U(2, 1), U(4242, 1), U(INT32_MAX, 1),
		U(0x80000000u, 0), U(0x80000001u, 0), U(0xfffffffeu, 0),
		U(0xffffffffu, 0),
	};
	static const struct u32_case code[] = {
		U(0, 0), U(1, 1), U(120, 1), U(125, 1), U(126, 0),
		U(127, 0), U(255, 0), U(-1, 0), U(INT32_MIN, 0),
	};
	/* KILL: QEMU or chan; EXITED: a job's process too. */
	static const struct u32_case which[] = {
		U(0, 0), U(1, 1), U(2, 1), U(3, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case exited_which[] = {
		U(0, 0), U(1, 1), U(2, 1), U(3, 1), U(4, 0),
		U(0x80000003u, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case signo[] = {
		U(SIGKILL, 1), U(SIGTERM, 1), U(0, 0), U(SIGHUP, 0),
		U(SIGINT, 0), U(SIGSTOP, 0), U(SIGCONT, 0), U(SIGUSR1, 0),
		U(9 + 256, 0), U(0xffffffffu, 0),
	};
	static const struct u32_case status[] = {
		U(0, 1), U(0x8b, 1), U(-1, 1), U(INT32_MIN, 1),
		U(INT32_MAX, 1),
	};
	static const struct u32_case result[] = {
		U(0, 1), U(-1, 1), U(-ESRCH, 1), U(-4095, 1), U(-4096, 0),
		U(1, 0), U(INT32_MAX, 0), U(INT32_MIN, 0),
	};

	(void)state;
	_Static_assert(SIGKILL == 9 && SIGTERM == 15, "Linux's numbers");
	check_u32(BH_PRIV_LAUNCHED, 0, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_LAUNCHED, 4, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_FAILED, 0, code, ARRAY_LEN(code));
	check_u32(BH_PRIV_KILL, 32, which, ARRAY_LEN(which));
	check_u32(BH_PRIV_KILL, 36, signo, ARRAY_LEN(signo));
	check_u32(BH_PRIV_EXITED, 32, exited_which, ARRAY_LEN(exited_which));
	check_u32(BH_PRIV_EXITED, 36, status, ARRAY_LEN(status));
	check_u32(BH_PRIV_EXITED, 40, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_DONE, 0, result, ARRAY_LEN(result));
	check_u32(BH_PRIV_JOB_STARTED, 0, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_CANCEL, 0, pid, ARRAY_LEN(pid));
}

/* ---- JOB ---- */

/* A valid JOB of op, encoded into b (0xee past it); the length. */
static size_t enc_job(uint32_t op, uint8_t b[BH_PRIV_MSG_MAX + 8])
{
	struct bh_priv_msg m;

	good_job(&m, op);
	memset(b, 0xee, BH_PRIV_MSG_MAX + 8);
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	return H + 340;
}

/* A valid JOB of op with the field at body offset off (cap bytes)
 * replaced by the n bytes of raw, zeros after them; parsed. */
static int job_field(uint32_t op, size_t off, size_t cap, const char *raw,
		     size_t n)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_job(op, b);

	assert_true(n <= cap);
	memset(b + H + off, 0, cap);
	memcpy(b + H + off, raw, n);
	return parse(b, len);
}

static int job_u32(uint32_t op, size_t off, uint32_t v)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_job(op, b);

	bh_put_u32(b + H + off, v);
	return parse(b, len);
}

static int job_size(uint32_t op, uint64_t size)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_job(op, b);

	bh_put_u32(b + H + J_SIZE, (uint32_t)size);
	bh_put_u32(b + H + J_SIZE + 4, (uint32_t)(size >> 32));
	return parse(b, len);
}

static void check_job_cases(uint32_t op, size_t off, size_t cap,
			    const struct str_case *c, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int rc = job_field(op, off, cap, c[i].raw, c[i].n);

		if (rc != (c[i].ok ? 0 : -EPROTO))
			fail_msg("job op %u field at %zu: case %zu (\"%s\") gave %d",
				 op, off, i, c[i].raw, rc);
	}
}

/* cap - 1 bytes of ch fit, cap (no NUL) do not. */
static void check_job_full(uint32_t op, size_t off, size_t cap, char ch)
{
	char raw[BH_PRIV_OWNER_MAX];

	assert_true(cap <= sizeof(raw));
	memset(raw, ch, sizeof(raw));
	assert_int_equal(job_field(op, off, cap, raw, cap - 1), 0);
	assert_int_equal(job_field(op, off, cap, raw, cap), -EPROTO);
}

static int uses_src(uint32_t op)
{
	return op == BH_PRIV_JOB_COPY || op == BH_PRIV_JOB_HASH;
}

static int uses_dst(uint32_t op)
{
	return op != BH_PRIV_JOB_HASH;
}

/* An area's folder name: [A-Za-z0-9._+-], not "." nor "..", non-empty;
 * a leading '.' is fine (a snapshot being built). */
static const struct str_case owner_cases[] = {
	OK("debian-12"),
	OK("work"),
	OK("a"),
	OK("1"),
	OK("+x"),
	OK("-x"),
	OK("_x"),
	OK(".x"),
	OK(".build-k1.AbC123"),
	OK("6.12.0+deb13-amd64"),
	OK("..."),
	OK("a..b"),
	OK(".a."),
	BAD(""),
	BAD("."),
	BAD(".."),
	BAD("/"),
	BAD("a/b"),
	BAD("a/"),
	BAD("/a"),
	BAD("../x"),
	BAD("./"),
	BAD("a\\b"),
	BAD("a b"),
	BAD("a:b"),
	BAD("a\x7f"),
	BAD("a\x80"),
	BAD("a\xff"),
	BAD("a\n"),
	BAD("a\0x"),  /* something after the NUL */
	BAD("\0x"),   /* "" with something after it */
	BAD(".\0."),  /* "." hiding ".." */
};

static void test_job_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(job_ops); i++) {
		uint32_t op = job_ops[i];

		check_job_cases(op, J_QUBE, 32, name_cases,
				ARRAY_LEN(name_cases));
		check_job_full(op, J_QUBE, 32, 'q');
		/* other: "" (all zeros only) or a name. */
		assert_int_equal(job_field(op, J_OTHER, 32, "", 0), 0);
		assert_true(name_cases[6].n == 0);
		check_job_cases(op, J_OTHER, 32, name_cases,
				6);
		check_job_cases(op, J_OTHER, 32, name_cases + 7,
				ARRAY_LEN(name_cases) - 7);
		check_job_full(op, J_OTHER, 32, 'o');
	}
}

/* Each place an op uses: its area, owner and file refused as the rules
 * say. */
static void test_job_places(void **state)
{
	static const struct u32_case area[] = {
		U(0, 0), U(1, 1), U(2, 1), U(3, 1), U(4, 1), U(5, 1),
		U(6, 0), U(0x100, 0), U(0x80000001u, 0), U(0xffffffffu, 0),
	};
	size_t i, k, p;

	(void)state;
	for (i = 0; i < ARRAY_LEN(job_ops); i++) {
		uint32_t op = job_ops[i];

		for (p = 0; p < 2; p++) {
			size_t at = p ? J_DST : J_SRC;

			if (!(p ? uses_dst(op) : uses_src(op)))
				continue;
			for (k = 0; k < ARRAY_LEN(area); k++) {
				int rc = job_u32(op, at + P_AREA, area[k].v);

				if (rc != (area[k].ok ? 0 : -EPROTO))
					fail_msg("job op %u place at %zu: area %u gave %d",
						 op, at, area[k].v, rc);
			}
			check_job_cases(op, at + P_OWNER, 64, owner_cases,
					ARRAY_LEN(owner_cases));
			check_job_full(op, at + P_OWNER, 64, 'a');
			check_job_full(op, at + P_OWNER, 64, '.');
			check_job_full(op, at + P_OWNER, 64, '+');
			check_job_cases(op, at + P_FILE, 64, file_cases,
					ARRAY_LEN(file_cases));
			check_job_full(op, at + P_FILE, 64, 'f');
			/* A place the op needs, missing: all zeros. */
			assert_int_equal(job_field(op, at, P_LEN, "", 0),
					 -EPROTO);
		}
	}
}

/* A place the op does not use is all zeros: a byte anywhere in it is
 * refused, a valid place there too. */
static void test_job_unused_places(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8], place[P_LEN];
	size_t i, k, p;

	(void)state;
	/* A valid place, as COPY's src. */
	enc_job(BH_PRIV_JOB_COPY, b);
	memcpy(place, b + H + J_SRC, P_LEN);
	for (i = 0; i < ARRAY_LEN(job_ops); i++) {
		uint32_t op = job_ops[i];

		for (p = 0; p < 2; p++) {
			size_t at = p ? J_DST : J_SRC;
			size_t len;

			if (p ? uses_dst(op) : uses_src(op))
				continue;
			len = enc_job(op, b);
			for (k = 0; k < P_LEN; k++)
				assert_int_equal(b[H + at + k], 0);
			assert_int_equal(parse(b, len), 0);
			for (k = 0; k < P_LEN; k++) {
				b[H + at + k] = 1;
				if (parse(b, len) != -EPROTO)
					fail_msg("job op %u: byte %zu of the unused place at %zu passed",
						 op, k, at);
				b[H + at + k] = 0x80;
				assert_int_equal(parse(b, len), -EPROTO);
				b[H + at + k] = 0;
			}
			assert_int_equal(parse(b, len), 0);
			assert_int_equal(job_field(op, at, P_LEN,
						   (const char *)place, P_LEN),
					 -EPROTO);
			/* Only the area, only a file. */
			assert_int_equal(job_u32(op, at + P_AREA, 1), -EPROTO);
			assert_int_equal(job_field(op, at + P_FILE, 64, "x", 1),
					 -EPROTO);
		}
	}
	/* Each op's body under another op: a place too many or one
	 * missing, or the size wrong. MKE2FS and RESIZE have the same
	 * shape (dst and a size), so each passes as the other. */
	for (i = 0; i < ARRAY_LEN(job_ops); i++)
		for (k = 0; k < ARRAY_LEN(job_ops); k++) {
			int same = i == k ||
				   (job_ops[i] != BH_PRIV_JOB_COPY &&
				    job_ops[i] != BH_PRIV_JOB_HASH &&
				    job_ops[k] != BH_PRIV_JOB_COPY &&
				    job_ops[k] != BH_PRIV_JOB_HASH);

			assert_int_equal(job_u32(job_ops[i], J_OP, job_ops[k]),
					 same ? 0 : -EPROTO);
		}
}

static void test_job_numbers(void **state)
{
	static const uint32_t bad_ops[] = { 0, 5, 6, 0x100, 0x80000001u,
					    0xffffffffu };
	/* MKE2FS and RESIZE: 1 MiB..16 TiB. */
	static const struct {
		uint64_t v;
		int ok;
	} sized[] = {
		{ 0, 0 },
		{ 1, 0 },
		{ BH_PRIV_SIZE_MIN - 1, 0 },
		{ BH_PRIV_SIZE_MIN, 1 },
		{ BH_PRIV_SIZE_MIN + 1, 1 },
		{ 0xffffffffull, 1 },
		{ 0x100000000ull, 1 },
		{ BH_PRIV_SIZE_MAX - 1, 1 },
		{ BH_PRIV_SIZE_MAX, 1 },
		{ BH_PRIV_SIZE_MAX + 1, 0 },
		{ BH_PRIV_SIZE_MAX << 1, 0 },
		{ 0x8000000000000000ull, 0 },
		{ 0xffffffff00100000ull, 0 }, /* MIN in the low u32 */
		{ 0xffffffffffffffffull, 0 },
	};
	/* COPY and HASH: exactly 0. */
	static const uint64_t unsized_bad[] = {
		1, BH_PRIV_SIZE_MIN, 0x100000000ull, BH_PRIV_SIZE_MAX,
		0xffffffffffffffffull,
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_LEN(job_ops); i++) {
		uint32_t op = job_ops[i];

		assert_int_equal(job_u32(op, J_OP, op), 0);
		for (k = 0; k < ARRAY_LEN(bad_ops); k++)
			assert_int_equal(job_u32(op, J_OP, bad_ops[k]),
					 -EPROTO);
		if (op == BH_PRIV_JOB_MKE2FS || op == BH_PRIV_JOB_RESIZE) {
			for (k = 0; k < ARRAY_LEN(sized); k++) {
				int rc = job_size(op, sized[k].v);

				if (rc != (sized[k].ok ? 0 : -EPROTO))
					fail_msg("job op %u size %#llx gave %d",
						 op,
						 (unsigned long long)sized[k].v,
						 rc);
			}
		} else {
			assert_int_equal(job_size(op, 0), 0);
			for (k = 0; k < ARRAY_LEN(unsized_bad); k++)
				assert_int_equal(job_size(op, unsized_bad[k]),
						 -EPROTO);
		}
	}
}


/* ---- ROOT and ROOT_NEXT ---- */

/* A ROOT of each op and a ROOT_NEXT on the wire, field by field. */
static void test_root_layout(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m;
	size_t i;

	(void)state;
	good_root(&m, BH_PRIV_ROOT_OP_NEXT);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), H + 100);
	assert_memory_equal(b, "\x0a\0\0\0\x4f\0\0\0\x64\0\0\0", 12);
	assert_int_equal(bh_get_u32(b + H + R_OP), 1);
	assert_memory_equal(b + H + R_TMPL, "debian-12\0", 10);
	for (i = 9; i < 32; i++)
		assert_int_equal(b[H + R_TMPL + i], 0);
	/* NEXT: work is "", all zeros. */
	for (i = 0; i < 64; i++)
		assert_int_equal(b[H + R_WORK + i], 0);
	assert_int_equal(b[H + 100], 0xee);

	good_root(&m, BH_PRIV_ROOT_OP_COMMIT);
	assert_int_equal(bh_priv_encode(b, &m), H + 100);
	assert_int_equal(bh_get_u32(b + H + R_OP), 2);
	assert_memory_equal(b + H + R_TMPL, "debian-12\0", 10);
	assert_memory_equal(b + H + R_WORK, "root-3.img\0", 11);
	for (i = 10; i < 64; i++)
		assert_int_equal(b[H + R_WORK + i], 0);

	good_root(&m, BH_PRIV_ROOT_OP_ABORT);
	assert_int_equal(bh_priv_encode(b, &m), H + 100);
	assert_int_equal(bh_get_u32(b + H + R_OP), 3);
	assert_memory_equal(b + H + R_WORK, "root-3.img\0", 11);

	good(BH_PRIV_ROOT_NEXT, &m);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), H + 128);
	assert_memory_equal(b, "\x0b\0\0\0\x4d\0\0\0\x80\0\0\0", 12);
	assert_memory_equal(b + H + N_CUR, "root-2.img\0", 11);
	assert_memory_equal(b + H + N_WORK, "root-3.img\0", 11);
	for (i = 10; i < 64; i++) {
		assert_int_equal(b[H + N_CUR + i], 0);
		assert_int_equal(b[H + N_WORK + i], 0);
	}
	assert_int_equal(b[H + 128], 0xee);
}

static void test_root_roundtrip(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8], again[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m, got;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(root_ops); i++) {
		good_root(&m, root_ops[i]);
		n = (size_t)bh_priv_encode(b, &m);
		assert_int_equal(n, H + 100);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}
	/* The longest names: a 31-byte template, a 63-byte version. */
	good_root(&m, BH_PRIV_ROOT_OP_ABORT);
	memset(m.u.root.tmpl, 't', BH_PRIV_NAME_MAX - 1);
	memset(m.u.root.work, 'w', BH_PRIV_FILE_MAX - 1);
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 100);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	good(BH_PRIV_ROOT_NEXT, &m);
	memset(m.u.root_next.cur, 'c', BH_PRIV_FILE_MAX - 1);
	memset(m.u.root_next.work, '-', BH_PRIV_FILE_MAX - 1);
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 128);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	assert_int_equal(bh_priv_encode(again, &got), (int)n);
	assert_memory_equal(again, b, n);
}

/* A valid ROOT of op, encoded into b (0xee past it); the length. */
static size_t enc_root(uint32_t op, uint8_t b[BH_PRIV_MSG_MAX + 8])
{
	struct bh_priv_msg m;

	good_root(&m, op);
	memset(b, 0xee, BH_PRIV_MSG_MAX + 8);
	assert_int_equal(bh_priv_encode(b, &m), H + 100);
	return H + 100;
}

/* A valid ROOT of op with the field at body offset off (cap bytes)
 * replaced by the n bytes of raw, zeros after them; parsed. */
static int root_field(uint32_t op, size_t off, size_t cap, const char *raw,
		      size_t n)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_root(op, b);

	assert_true(n <= cap);
	memset(b + H + off, 0, cap);
	memcpy(b + H + off, raw, n);
	return parse(b, len);
}

static int root_u32(uint32_t op, size_t off, uint32_t v)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t len = enc_root(op, b);

	bh_put_u32(b + H + off, v);
	return parse(b, len);
}

static void check_root_cases(uint32_t op, size_t off, size_t cap,
			     const struct str_case *c, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int rc = root_field(op, off, cap, c[i].raw, c[i].n);

		if (rc != (c[i].ok ? 0 : -EPROTO))
			fail_msg("root op %u field at %zu: case %zu (\"%s\") gave %d",
				 op, off, i, c[i].raw, rc);
	}
}

/* cap - 1 bytes of ch fit, cap (no NUL) do not. */
static void check_root_full(uint32_t op, size_t off, size_t cap, char ch)
{
	char raw[BH_PRIV_FILE_MAX];

	assert_true(cap <= sizeof(raw));
	memset(raw, ch, sizeof(raw));
	assert_int_equal(root_field(op, off, cap, raw, cap - 1), 0);
	assert_int_equal(root_field(op, off, cap, raw, cap), -EPROTO);
}

/* The op: NEXT with no version, COMMIT and ABORT with one; nothing
 * else. */
static void test_root_ops(void **state)
{
	static const uint32_t bad_ops[] = { 0, 4, 5, 0x100, 0x80000001u,
					    0x80000002u, 0xffffffffu };
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_LEN(root_ops); i++) {
		uint32_t op = root_ops[i];

		for (k = 0; k < ARRAY_LEN(bad_ops); k++)
			if (root_u32(op, R_OP, bad_ops[k]) != -EPROTO)
				fail_msg("root op %u as %#x passed", op,
					 bad_ops[k]);
		/* Each op's body under another op: NEXT's empty work is
		 * no version for COMMIT and ABORT, their version is one
		 * too many for NEXT; COMMIT and ABORT share a shape. */
		for (k = 0; k < ARRAY_LEN(root_ops); k++) {
			int same = (op == BH_PRIV_ROOT_OP_NEXT) ==
				   (root_ops[k] == BH_PRIV_ROOT_OP_NEXT);

			assert_int_equal(root_u32(op, R_OP, root_ops[k]),
					 same ? 0 : -EPROTO);
		}
	}
}

static void test_root_fields(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	size_t i, k, len;

	(void)state;
	/* tmpl: a name, whatever the op. */
	for (i = 0; i < ARRAY_LEN(root_ops); i++) {
		check_root_cases(root_ops[i], R_TMPL, 32, name_cases,
				 ARRAY_LEN(name_cases));
		check_root_full(root_ops[i], R_TMPL, 32, 't');
	}
	/* COMMIT's and ABORT's work: a plain file name ("" refused). */
	for (i = 1; i < ARRAY_LEN(root_ops); i++) {
		check_root_cases(root_ops[i], R_WORK, 64, file_cases,
				 ARRAY_LEN(file_cases));
		check_root_full(root_ops[i], R_WORK, 64, 'w');
		check_root_full(root_ops[i], R_WORK, 64, '-');
		assert_int_equal(root_field(root_ops[i], R_WORK, 64, "", 0),
				 -EPROTO);
	}
	/* NEXT's work: "" and all zeros; any version, valid or not, and
	 * any byte anywhere in the field, refused. */
	assert_int_equal(root_field(BH_PRIV_ROOT_OP_NEXT, R_WORK, 64, "", 0),
			 0);
	for (k = 0; k < ARRAY_LEN(file_cases); k++)
		if (file_cases[k].n &&
		    root_field(BH_PRIV_ROOT_OP_NEXT, R_WORK, 64,
			       file_cases[k].raw, file_cases[k].n) != -EPROTO)
			fail_msg("root NEXT with work case %zu (\"%s\") passed",
				 k, file_cases[k].raw);
	len = enc_root(BH_PRIV_ROOT_OP_NEXT, b);
	for (k = 0; k < 64; k++) {
		b[H + R_WORK + k] = 'x';
		if (parse(b, len) != -EPROTO)
			fail_msg("root NEXT: byte %zu of work passed", k);
		b[H + R_WORK + k] = 0x80;
		assert_int_equal(parse(b, len), -EPROTO);
		b[H + R_WORK + k] = 0;
	}
	assert_int_equal(parse(b, len), 0);

	/* ROOT_NEXT: cur and work, each a plain file name. */
	check_cases(BH_PRIV_ROOT_NEXT, N_CUR, 64, file_cases,
		    ARRAY_LEN(file_cases));
	check_full(BH_PRIV_ROOT_NEXT, N_CUR, 64, 'c');
	check_cases(BH_PRIV_ROOT_NEXT, N_WORK, 64, file_cases,
		    ARRAY_LEN(file_cases));
	check_full(BH_PRIV_ROOT_NEXT, N_WORK, 64, 'w');
	assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_CUR, 64, "", 0),
			 -EPROTO);
	assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_WORK, 64, "", 0),
			 -EPROTO);
	/* A byte past a NUL in the last byte of each field. */
	{
		char raw[BH_PRIV_FILE_MAX];

		memset(raw, 0, sizeof(raw));
		raw[0] = 'a';
		raw[63] = 'b';
		assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_CUR, 64, raw,
					    64),
				 -EPROTO);
		assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_WORK, 64, raw,
					    64),
				 -EPROTO);
		assert_int_equal(root_field(BH_PRIV_ROOT_OP_COMMIT, R_WORK, 64,
					    raw, 64),
				 -EPROTO);
		raw[31] = 'b';
		assert_int_equal(root_field(BH_PRIV_ROOT_OP_ABORT, R_TMPL, 32,
					    raw, 32),
				 -EPROTO);
		raw[63] = 0;
		assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_WORK, 64, raw,
					    64),
				 -EPROTO);
		raw[31] = 0;
		assert_int_equal(with_field(BH_PRIV_ROOT_NEXT, N_WORK, 64, raw,
					    64),
				 0);
	}
}

/* ---- ATTACH, ATTACHED, LET_GO and LEFTOVERS ---- */

/* Each on the wire, byte by byte. */
static void test_attach_layout(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m;
	size_t i;

	(void)state;
	/* ATTACH: the name, zeros to 32. */
	good(BH_PRIV_ATTACH, &m);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), H + 32);
	assert_memory_equal(b, "\x0c\0\0\0\x4d\0\0\0\x20\0\0\0", 12);
	assert_memory_equal(b + H, "work\0", 5);
	for (i = 4; i < 32; i++)
		assert_int_equal(b[H + i], 0);
	assert_int_equal(b[H + 32], 0xee);

	/* ATTACHED: QEMU's pid, then the channel process's. */
	good(BH_PRIV_ATTACHED, &m);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), 20);
	assert_memory_equal(b, "\x0d\0\0\0\x4d\0\0\0\x8\0\0\0\x96\x10\0\0\x97\x10\0\0",
			    20);
	assert_int_equal(b[20], 0xee);

	/* LET_GO: the name, zeros to 32, then the flags. */
	good(BH_PRIV_LET_GO, &m);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), H + 36);
	assert_memory_equal(b, "\x0e\0\0\0\x4d\0\0\0\x24\0\0\0", 12);
	assert_memory_equal(b + H, "disp12\0", 7);
	for (i = 6; i < 32; i++)
		assert_int_equal(b[H + i], 0);
	assert_memory_equal(b + H + 32, "\1\0\0\0", 4);
	assert_int_equal(b[H + 36], 0xee);
	m.u.let_go.flags = 0;
	assert_int_equal(bh_priv_encode(b, &m), H + 36);
	assert_memory_equal(b + H + 32, "\0\0\0\0", 4);

	/* LEFTOVERS: the wait in ms. */
	good(BH_PRIV_LEFTOVERS, &m);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(bh_priv_encode(b, &m), 16);
	assert_memory_equal(b, "\x0f\0\0\0\x4d\0\0\0\4\0\0\0\x30\x75\0\0", 16);
	assert_int_equal(b[16], 0xee);
	m.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX;
	assert_int_equal(bh_priv_encode(b, &m), 16);
	assert_memory_equal(b + H, "\x60\xea\0\0", 4);
}

/* Every value the rules allow at their edges goes there and back. */
static void test_attach_roundtrip(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8], again[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m, got;
	size_t n, i;
	static const uint32_t pids[][2] = {
		{ 2, 2 }, { 2, INT32_MAX }, { INT32_MAX, 2 },
		{ INT32_MAX, INT32_MAX },
	};
	static const uint32_t waits[] = { 0, 1, 59999,
					  BH_PRIV_LEFTOVERS_MS_MAX };

	(void)state;
	/* The longest name, and the shortest. */
	good(BH_PRIV_ATTACH, &m);
	memset(m.u.attach.name, 'a', BH_PRIV_NAME_MAX - 1);
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(n, H + 32);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));
	assert_int_equal(bh_priv_encode(again, &got), (int)n);
	assert_memory_equal(again, b, n);
	good(BH_PRIV_ATTACH, &m);
	bh_priv_field_set(m.u.attach.name, BH_PRIV_NAME_MAX, "Z");
	n = (size_t)bh_priv_encode(b, &m);
	assert_int_equal(bh_priv_parse(b, n, &got), 0);
	assert_memory_equal(&got, &m, sizeof(m));

	for (i = 0; i < ARRAY_LEN(pids); i++) {
		good(BH_PRIV_ATTACHED, &m);
		m.u.attached.qemu_pid = pids[i][0];
		m.u.attached.chan_pid = pids[i][1];
		n = (size_t)bh_priv_encode(b, &m);
		assert_int_equal(n, H + 8);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}

	for (i = 0; i < 2; i++) {
		good(BH_PRIV_LET_GO, &m);
		m.u.let_go.flags = i ? BH_PRIV_LET_GO_QEMU : 0;
		memset(m.u.let_go.name, 'q', BH_PRIV_NAME_MAX - 1);
		n = (size_t)bh_priv_encode(b, &m);
		assert_int_equal(n, H + 36);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(got.u.let_go.flags, i);
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}

	for (i = 0; i < ARRAY_LEN(waits); i++) {
		good(BH_PRIV_LEFTOVERS, &m);
		m.u.leftovers.timeout_ms = waits[i];
		n = (size_t)bh_priv_encode(b, &m);
		assert_int_equal(n, H + 4);
		memset(&got, 0x55, sizeof(got));
		assert_int_equal(bh_priv_parse(b, n, &got), 0);
		assert_memory_equal(&got, &m, sizeof(m));
		assert_int_equal(bh_priv_encode(again, &got), (int)n);
		assert_memory_equal(again, b, n);
	}
}

/* Each field's rule, refused byte by byte from a valid message. */
static void test_attach_fields(void **state)
{
	static const struct u32_case pid[] = {
		U(0, 0), U(1, 0), U(2, 1), U(4242, 1), U(INT32_MAX, 1),
		U(0x80000000u, 0), U(0x80000001u, 0), U(0xfffffffeu, 0),
		U(0xffffffffu, 0),
	};
	/* Only BH_PRIV_LET_GO_QEMU. */
	static const struct u32_case flags[] = {
		U(0, 1), U(1, 1), U(2, 0), U(3, 0), U(4, 0), U(0x100, 0),
		U(0x80000000u, 0), U(0x80000001u, 0), U(0xfffffffeu, 0),
		U(0xffffffffu, 0),
	};
	/* 0..60000 ms. */
	static const struct u32_case wait[] = {
		U(0, 1), U(1, 1), U(30000, 1), U(59999, 1), U(60000, 1),
		U(60001, 0), U(65536, 0), U(0x7fffffffu, 0),
		U(0x80000000u, 0), U(0xffffffffu, 0),
	};
	char raw[BH_PRIV_NAME_MAX];

	(void)state;
	check_cases(BH_PRIV_ATTACH, 0, 32, name_cases, ARRAY_LEN(name_cases));
	check_full(BH_PRIV_ATTACH, 0, 32, 'a');
	check_cases(BH_PRIV_LET_GO, 0, 32, name_cases, ARRAY_LEN(name_cases));
	check_full(BH_PRIV_LET_GO, 0, 32, 'l');
	/* A byte past a NUL in the last byte of the name. */
	memset(raw, 0, sizeof(raw));
	raw[0] = 'a';
	raw[31] = 'b';
	assert_int_equal(with_field(BH_PRIV_ATTACH, 0, 32, raw, 32), -EPROTO);
	assert_int_equal(with_field(BH_PRIV_LET_GO, 0, 32, raw, 32), -EPROTO);
	raw[31] = 0;
	assert_int_equal(with_field(BH_PRIV_ATTACH, 0, 32, raw, 32), 0);
	assert_int_equal(with_field(BH_PRIV_LET_GO, 0, 32, raw, 32), 0);

	check_u32(BH_PRIV_ATTACHED, 0, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_ATTACHED, 4, pid, ARRAY_LEN(pid));
	check_u32(BH_PRIV_LET_GO, 32, flags, ARRAY_LEN(flags));
	check_u32(BH_PRIV_LEFTOVERS, 0, wait, ARRAY_LEN(wait));
}

/* Any id, unchecked and repeated; a refused datagram leaves *out as it
 * was. */
static void test_id_and_untouched(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m, before;
	size_t n;

	(void)state;
	n = enc_good(BH_PRIV_KILL, b);
	bh_put_u32(b + 4, 0);
	assert_int_equal(bh_priv_parse(b, n, &m), 0);
	assert_int_equal(m.id, 0);
	bh_put_u32(b + 4, 0xffffffffu);
	assert_int_equal(bh_priv_parse(b, n, &m), 0);
	assert_int_equal(m.id, 0xffffffffu);

	memset(&m, 0xa5, sizeof(m));
	before = m;
	bh_put_u32(b + H + 36, 1); /* SIGHUP */
	assert_int_equal(bh_priv_parse(b, n, &m), -EPROTO);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(bh_priv_parse(b, n - 1, &m), -EPROTO);
	assert_memory_equal(&m, &before, sizeof(m));
}

/* ---- encoding ---- */

static void test_encode_refuses(void **state)
{
	uint8_t b[BH_PRIV_MSG_MAX + 8];
	struct bh_priv_msg m;

	(void)state;
	good(BH_PRIV_LAUNCH, &m);
	m.type = 0;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.type = UNKNOWN_TYPE;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);

	good(BH_PRIV_LAUNCH, &m);
	strcpy(m.u.launch.name, "1bad");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCH, &m);
	strcpy(m.u.launch.root_file, "..");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCH, &m);
	m.u.launch.flags = 8;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCH, &m);
	memset(m.u.launch.kver, 'a', sizeof(m.u.launch.kver)); /* no NUL */
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_KILL, &m);
	m.u.kill.signo = SIGHUP;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_DONE, &m);
	m.u.done.result = 1;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_FAILED, &m);
	m.u.failed.code = 0;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCH, &m);
	memset(m.u.launch.kernelopts, 'o', sizeof(m.u.launch.kernelopts));
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL); /* no NUL */
	good(BH_PRIV_EXITED, &m);
	m.u.exited.pid = 0;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.exited.pid = 1;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.exited.pid = 0x80000000u;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCHED, &m);
	m.u.launched.qemu_pid = 0xffffffffu;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_LAUNCHED, &m);
	m.u.launched.chan_pid = 0x80000000u;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_JOB_STARTED, &m);
	m.u.job_started.pid = 1;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_CANCEL, &m);
	m.u.cancel.pid = 0x80000000u;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_KILL, &m);
	m.u.kill.which = BH_PRIV_JOBPROC;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_COPY);
	m.u.job.op = 0;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.job.op = 5;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_COPY);
	m.u.job.size = BH_PRIV_SIZE_MIN;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_MKE2FS);
	m.u.job.size = BH_PRIV_SIZE_MAX + 1;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_MKE2FS);
	m.u.job.src.area = BH_PRIV_AREA_NONE;
	strcpy(m.u.job.src.file, "x"); /* an unused place, not all zeros */
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_HASH);
	strcpy(m.u.job.dst.owner, "..");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_HASH);
	strcpy(m.u.job.src.owner, "..");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_COPY);
	m.u.job.dst.area = 6;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_job(&m, BH_PRIV_JOB_COPY);
	memset(m.u.job.src.owner, 'a', sizeof(m.u.job.src.owner));
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL); /* no NUL */
	/* Bytes after a NUL in an unused place's strings are not sent. */
	good_job(&m, BH_PRIV_JOB_MKE2FS);
	memcpy(m.u.job.src.owner, "\0junk", 6);
	memcpy(m.u.job.dst.file, "private.img\0\xff", 13);
	assert_int_equal(bh_priv_encode(b, &m), H + 340);
	assert_int_equal(b[H + J_SRC + P_OWNER + 1], 0);
	assert_int_equal(b[H + J_DST + P_FILE + 12], 0);
	assert_int_equal(parse(b, H + 340), 0);

	/* ROOT: op out of range, NEXT naming a version, COMMIT or ABORT
	 * naming none or a bad one, the template not a name. */
	good_root(&m, BH_PRIV_ROOT_OP_NEXT);
	m.u.root.op = 0;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.root.op = 4;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_NEXT);
	strcpy(m.u.root.work, "root-3.img");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_COMMIT);
	memset(m.u.root.work, 0, sizeof(m.u.root.work));
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_ABORT);
	strcpy(m.u.root.work, ".root-3.img");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_ABORT);
	strcpy(m.u.root.work, "../root.img");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_COMMIT);
	memset(m.u.root.work, 'w', sizeof(m.u.root.work)); /* no NUL */
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good_root(&m, BH_PRIV_ROOT_OP_COMMIT);
	strcpy(m.u.root.tmpl, "1bad");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_ROOT_NEXT, &m);
	memset(m.u.root_next.cur, 0, sizeof(m.u.root_next.cur));
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_ROOT_NEXT, &m);
	strcpy(m.u.root_next.work, "..");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	good(BH_PRIV_ROOT_NEXT, &m);
	strcpy(m.u.root_next.cur, "a/b");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	/* NEXT: bytes after work's NUL in the struct are not sent, so its
	 * work is "" on the wire and the message passes. */
	good_root(&m, BH_PRIV_ROOT_OP_NEXT);
	memcpy(m.u.root.work, "\0junk", 6);
	assert_int_equal(bh_priv_encode(b, &m), H + 100);
	assert_int_equal(b[H + R_WORK + 1], 0);
	assert_int_equal(parse(b, H + 100), 0);

	/* ATTACH: the name's rules. */
	{
		static const char *const bad_names[] = {
			"", "1bad", "-x", ".x", "..", "a/b", "../etc", "a b",
			"a+b", "a\x7f", "a\n",
		};
		static const uint32_t bad_pids[] = { 0, 1, 0x80000000u,
						     0xffffffffu };
		static const uint32_t good_pids[] = { 2, INT32_MAX };
		size_t i;

		for (i = 0; i < ARRAY_LEN(bad_names); i++) {
			good(BH_PRIV_ATTACH, &m);
			strcpy(m.u.attach.name, bad_names[i]);
			if (bh_priv_encode(b, &m) != -EINVAL)
				fail_msg("ATTACH of \"%s\" encoded",
					 bad_names[i]);
			good(BH_PRIV_LET_GO, &m);
			strcpy(m.u.let_go.name, bad_names[i]);
			if (bh_priv_encode(b, &m) != -EINVAL)
				fail_msg("LET_GO of \"%s\" encoded",
					 bad_names[i]);
		}
		/* ATTACHED: each pid 2..INT32_MAX. */
		for (i = 0; i < ARRAY_LEN(bad_pids); i++) {
			good(BH_PRIV_ATTACHED, &m);
			m.u.attached.qemu_pid = bad_pids[i];
			assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
			good(BH_PRIV_ATTACHED, &m);
			m.u.attached.chan_pid = bad_pids[i];
			assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
		}
		for (i = 0; i < ARRAY_LEN(good_pids); i++) {
			good(BH_PRIV_ATTACHED, &m);
			m.u.attached.qemu_pid = good_pids[i];
			assert_int_equal(bh_priv_encode(b, &m), H + 8);
			good(BH_PRIV_ATTACHED, &m);
			m.u.attached.chan_pid = good_pids[i];
			assert_int_equal(bh_priv_encode(b, &m), H + 8);
		}
	}
	good(BH_PRIV_ATTACH, &m);
	memset(m.u.attach.name, 'a', sizeof(m.u.attach.name)); /* no NUL */
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	/* LET_GO: only BH_PRIV_LET_GO_QEMU. */
	good(BH_PRIV_LET_GO, &m);
	m.u.let_go.flags = 0x2;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.let_go.flags = 0x80000000u;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.let_go.flags = BH_PRIV_LET_GO_QEMU | 0x2;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.let_go.flags = 0;
	assert_int_equal(bh_priv_encode(b, &m), H + 36);
	m.u.let_go.flags = BH_PRIV_LET_GO_QEMU;
	assert_int_equal(bh_priv_encode(b, &m), H + 36);
	memset(m.u.let_go.name, 'l', sizeof(m.u.let_go.name)); /* no NUL */
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	/* LEFTOVERS: at most a minute. */
	good(BH_PRIV_LEFTOVERS, &m);
	m.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX + 1;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.leftovers.timeout_ms = 0xffffffffu;
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	m.u.leftovers.timeout_ms = 0;
	assert_int_equal(bh_priv_encode(b, &m), H + 4);
	m.u.leftovers.timeout_ms = BH_PRIV_LEFTOVERS_MS_MAX;
	assert_int_equal(bh_priv_encode(b, &m), H + 4);
	/* Bytes after the name's NUL in the struct are not sent. */
	good(BH_PRIV_ATTACH, &m);
	memcpy(m.u.attach.name, "work\0junk", 10);
	assert_int_equal(bh_priv_encode(b, &m), H + 32);
	assert_memory_equal(b + H, "work\0\0\0\0\0\0", 10);
	assert_int_equal(parse(b, H + 32), 0);
	good(BH_PRIV_LET_GO, &m);
	memcpy(m.u.let_go.name, "disp12\0\xff", 8);
	assert_int_equal(bh_priv_encode(b, &m), H + 36);
	assert_int_equal(b[H + 7], 0);
	assert_int_equal(parse(b, H + 36), 0);

	/* Bytes after a string's NUL in the struct are not sent: zeros go
	 * instead, and the message passes. */
	good(BH_PRIV_LAUNCH, &m);
	memcpy(m.u.launch.name, "work\0junk", 10);
	memcpy(m.u.launch.kernelopts, "quiet\0\xff\x01", 8);
	assert_int_equal(bh_priv_encode(b, &m), H + 1532);
	assert_memory_equal(b + H + O_NAME, "work\0\0\0\0\0\0", 10);
	assert_memory_equal(b + H + O_OPTS, "quiet\0\0\0", 8);
	assert_int_equal(parse(b, H + 1532), 0);
}

static void test_field_set(void **state)
{
	char f[8], big[BH_PRIV_NAME_MAX];
	struct bh_priv_msg m;
	uint8_t b[BH_PRIV_MSG_MAX + 8];

	(void)state;
	memset(f, 'x', sizeof(f));
	bh_priv_field_set(f, sizeof(f), "ab");
	assert_memory_equal(f, "ab\0\0\0\0\0\0", 8);
	bh_priv_field_set(f, sizeof(f), "abcdefghij");
	assert_memory_equal(f, "abcdefg\0", 8);
	bh_priv_field_set(f, sizeof(f), "a\tb\x7f\xc3");
	assert_memory_equal(f, "a?b??\0\0\0", 8);
	bh_priv_field_set(f, sizeof(f), "");
	assert_memory_equal(f, "\0\0\0\0\0\0\0\0", 8);

	/* A name too long is cut to 31 and passes; one with a bad byte
	 * gets a '?' and is refused by encode, not sent as another name. */
	good(BH_PRIV_KILL, &m);
	memset(big, 'n', sizeof(big));
	big[sizeof(big) - 1] = 0;
	bh_priv_field_set(m.u.kill.name, sizeof(m.u.kill.name),
			  "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	assert_string_equal(m.u.kill.name, big);
	assert_int_equal(bh_priv_encode(b, &m), H + 40);
	bh_priv_field_set(m.u.kill.name, sizeof(m.u.kill.name), "wo\nrk");
	assert_string_equal(m.u.kill.name, "wo?rk");
	assert_int_equal(bh_priv_encode(b, &m), -EINVAL);
	/* FAILED's text: a newline in an error becomes '?' and passes. */
	good(BH_PRIV_FAILED, &m);
	bh_priv_field_set(m.u.failed.text, sizeof(m.u.failed.text),
			  "mke2fs: failed\n");
	assert_int_equal(bh_priv_encode(b, &m), H + 516);
	assert_memory_equal(b + H + 4, "mke2fs: failed?\0", 16);
}

static void test_sent_by_control(void **state)
{
	(void)state;
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_LAUNCH), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_KILL), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_LAUNCHED), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_FAILED), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_EXITED), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_DONE), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_JOB), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_CANCEL), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_JOB_STARTED), 0);
	assert_int_equal(bh_priv_sent_by_control(0), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_ROOT), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_ROOT_NEXT), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_ATTACH), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_ATTACHED), 0);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_LET_GO), 1);
	assert_int_equal(bh_priv_sent_by_control(BH_PRIV_LEFTOVERS), 1);
	assert_int_equal(bh_priv_sent_by_control(UNKNOWN_TYPE + 1), 0);
	assert_int_equal(bh_priv_sent_by_control(UNKNOWN_TYPE), 0);
	assert_int_equal(bh_priv_sent_by_control(0xffffffffu), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_job_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_launch_numbers),
		cmocka_unit_test(test_answer_numbers),
		cmocka_unit_test(test_job_names),
		cmocka_unit_test(test_job_places),
		cmocka_unit_test(test_job_unused_places),
		cmocka_unit_test(test_job_numbers),
		cmocka_unit_test(test_root_layout),
		cmocka_unit_test(test_root_roundtrip),
		cmocka_unit_test(test_root_ops),
		cmocka_unit_test(test_root_fields),
		cmocka_unit_test(test_attach_layout),
		cmocka_unit_test(test_attach_roundtrip),
		cmocka_unit_test(test_attach_fields),
		cmocka_unit_test(test_id_and_untouched),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_field_set),
		cmocka_unit_test(test_sent_by_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
