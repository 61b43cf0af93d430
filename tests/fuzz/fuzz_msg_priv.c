/* libFuzzer target: the priv link's codec (proto/msg_priv.h). priv, as
 * root, will parse whatever control sends, and control may be
 * compromised; control parses priv's answers with the same checks.
 *
 * Input: byte 0 is the mode, the rest one datagram.
 *   bit 0  shape the header: type = byte 1 % 17 (0 and 16 unknown), the
 *          length field and the datagram's length those of the type (the
 *          body zero-padded or cut); an unknown type keeps the input's
 *   bit 1  each string field of the (shaped) type cut at its first NUL
 *          and zero-padded after it
 *   bit 2  each number of the type moved near the edges of its range
 *          (a JOB's place: its area, and an area of 0 zeroes it whole;
 *          a ROOT NEXT's work zeroed whole when its first byte is odd)
 *   bit 3  each string field's bytes mapped into its charset
 * The datagram is parsed from a heap copy of exactly its length (ASan
 * sees any read past it).
 *
 * Invariants:
 *   - bh_priv_parse accepts exactly what ref_valid, msg_priv.h's rules
 *     written again here from a table of fields, accepts; a refused
 *     datagram leaves *out untouched;
 *   - a parsed message has known type, every string field NUL-terminated
 *     in its field with printable bytes before and zeros after, every
 *     pid above 1 as a pid_t, and encodes back to the same bytes;
 *   - the input's bytes taken as a struct bh_priv_msg: bh_priv_encode
 *     succeeds exactly when ref_encode's bytes pass ref_valid, and then
 *     gives those bytes;
 *   - bh_priv_field_set leaves a NUL-terminated, zero-padded printable
 *     field. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "proto/frame.h"
#include "proto/msg_priv.h"

#include "fuzz_common.h"

#define HDR 12u
#define MODE_HEADER 1u
#define MODE_STRINGS 2u
#define MODE_NUMBERS 4u
#define MODE_CHARSET 8u

/* ---- msg_priv.h's rules, written again ---- */

enum fkind {
	F_NAME,     /* a letter, then [A-Za-z0-9_.-] */
	F_OPT_NAME, /* "" or F_NAME */
	F_KVER,     /* [A-Za-z0-9._+-]+, not starting with '.' */
	F_FILE,     /* [A-Za-z0-9._-]+, not starting with '.' */
	F_OWNER,    /* [A-Za-z0-9._+-]+, not "." nor ".." */
	F_TEXT,     /* printable, may be empty */
	F_U32,      /* lo..hi, unsigned */
	F_I32,      /* lo..hi, signed */
	F_MASK,     /* no bit outside hi */
	F_SIGNO,    /* SIGKILL or SIGTERM */
	F_OP,       /* an op at offset 0 (JOB's, ROOT's): lo..hi */
	F_PLACE,    /* JOB's src or dst: lo is the mask of the ops (bit op)
		     * that use it; all zeros when the op does not */
	F_SIZE,     /* JOB's u64 size: MKE2FS, RESIZE lo..hi; others 0 */
	F_ROOT_WORK, /* ROOT's work: NEXT all zeros, the others F_FILE */
};

/* JOB's ops and which place each uses. */
#define OP_COPY 1u
#define OP_MKE2FS 2u
#define OP_RESIZE 3u
#define OP_HASH 4u
#define PLACE_LEN 132u
#define P_OWNER 4u
#define P_FILE 68u
#define SIZE_MIN (1ll << 20)
#define SIZE_MAX_ (16ll << 40)
/* ROOT's ops. */
#define ROOT_NEXT 1u
/* Types: the first that is none, for the shaping's modulus. */
#define TYPE_UNKNOWN 16u

struct field {
	enum fkind kind;
	uint32_t off, size;
	int64_t lo, hi;
};

struct layout {
	uint32_t type, len;
	unsigned nfields;
	struct field f[13];
};

static const struct layout layouts[] = {
	{ 1, 1532, 13, {
		  { F_NAME, 0, 32, 0, 0 },
		  { F_KVER, 32, 64, 0, 0 },
		  { F_U32, 96, 4, 1, 2 },
		  { F_NAME, 100, 32, 0, 0 },
		  { F_FILE, 132, 64, 0, 0 },
		  { F_U32, 196, 4, 0, 2 },
		  { F_MASK, 200, 4, 0, 7 },
		  { F_U32, 204, 4, 32, 1048576 },
		  { F_U32, 208, 4, 1, 64 },
		  { F_U32, 212, 4, 1, 0xffffffff },
		  { F_U32, 216, 4, 0, 0xffffffff },
		  { F_TEXT, 220, 1280, 0, 0 },
		  { F_OPT_NAME, 1500, 32, 0, 0 },
	  } },
	{ 2, 8, 2, {
		  { F_U32, 0, 4, 2, INT32_MAX },
		  { F_U32, 4, 4, 2, INT32_MAX },
	  } },
	{ 3, 516, 2, {
		  { F_I32, 0, 4, 1, 125 },
		  { F_TEXT, 4, 512, 0, 0 },
	  } },
	{ 4, 40, 3, {
		  { F_NAME, 0, 32, 0, 0 },
		  { F_U32, 32, 4, 1, 2 },
		  { F_SIGNO, 36, 4, 0, 0 },
	  } },
	{ 5, 44, 4, {
		  { F_NAME, 0, 32, 0, 0 },
		  { F_U32, 32, 4, 1, 3 },
		  { F_I32, 36, 4, INT32_MIN, INT32_MAX },
		  { F_U32, 40, 4, 2, INT32_MAX },
	  } },
	{ 6, 4, 1, {
		  { F_I32, 0, 4, -4095, 0 },
	  } },
	{ 7, 340, 6, {
		  { F_OP, 0, 4, 1, 4 },
		  { F_NAME, 4, 32, 0, 0 },
		  { F_OPT_NAME, 36, 32, 0, 0 },
		  { F_PLACE, 68, PLACE_LEN, 1 << OP_COPY | 1 << OP_HASH, 0 },
		  { F_PLACE, 200, PLACE_LEN,
		    1 << OP_COPY | 1 << OP_MKE2FS | 1 << OP_RESIZE, 0 },
		  { F_SIZE, 332, 8, SIZE_MIN, SIZE_MAX_ },
	  } },
	{ 8, 4, 1, {
		  { F_U32, 0, 4, 2, INT32_MAX },
	  } },
	{ 9, 4, 1, {
		  { F_U32, 0, 4, 2, INT32_MAX },
	  } },
	{ 10, 100, 3, {
		  { F_OP, 0, 4, 1, 3 },
		  { F_NAME, 4, 32, 0, 0 },
		  { F_ROOT_WORK, 36, 64, 0, 0 },
	  } },
	{ 11, 128, 2, {
		  { F_FILE, 0, 64, 0, 0 },
		  { F_FILE, 64, 64, 0, 0 },
	  } },
	/* ATTACH: a name. */
	{ 12, 32, 1, {
		  { F_NAME, 0, 32, 0, 0 },
	  } },
	/* ATTACHED: two pids (four fds beside it). */
	{ 13, 8, 2, {
		  { F_U32, 0, 4, 2, INT32_MAX },
		  { F_U32, 4, 4, 2, INT32_MAX },
	  } },
	/* LET_GO: a name, and no flag but QEMU's (1). */
	{ 14, 36, 2, {
		  { F_NAME, 0, 32, 0, 0 },
		  { F_MASK, 32, 4, 0, 1 },
	  } },
	/* LEFTOVERS: a wait of at most a minute. */
	{ 15, 4, 1, {
		  { F_U32, 0, 4, 0, 60000 },
	  } },
};

static const struct layout *layout_of(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int in_set(uint8_t c, const char *extra)
{
	return is_alpha(c) || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr(extra, c) != NULL);
}

/* A string field: its bytes up to the first NUL each pass the kind's
 * charset, a NUL comes before the end, only NULs after it. */
NO_COVERAGE
static int ref_string(const struct field *f, const uint8_t *p)
{
	uint32_t n = 0, i;

	while (n < f->size && p[n])
		n++;
	if (n == f->size)
		return 0;
	for (i = n; i < f->size; i++)
		if (p[i])
			return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		switch (f->kind) {
		case F_NAME:
		case F_OPT_NAME:
		case F_FILE:
			if (!in_set(c, "_.-"))
				return 0;
			break;
		case F_KVER:
		case F_OWNER:
			if (!in_set(c, "_.-+"))
				return 0;
			break;
		default:
			if (c < 0x20 || c > 0x7e)
				return 0;
		}
	}
	switch (f->kind) {
	case F_NAME:
		return n >= 1 && is_alpha(p[0]);
	case F_OPT_NAME:
		return n == 0 || is_alpha(p[0]);
	case F_KVER:
	case F_FILE:
		return n >= 1 && p[0] != '.';
	case F_OWNER:
		return n >= 1 && !(n == 1 && p[0] == '.') &&
		       !(n == 2 && p[0] == '.' && p[1] == '.');
	default:
		return 1;
	}
}

/* A JOB's place: used, a known area, an owner and a plain file name;
 * not used, all zeros. */
NO_COVERAGE
static int ref_place(const uint8_t *p, int used)
{
	static const struct field owner = { F_OWNER, P_OWNER, 64, 0, 0 };
	static const struct field file = { F_FILE, P_FILE, 64, 0, 0 };
	uint32_t i;

	if (!used) {
		for (i = 0; i < PLACE_LEN; i++)
			if (p[i])
				return 0;
		return 1;
	}
	return le32(p) >= 1 && le32(p) <= 5 &&
	       ref_string(&owner, p + P_OWNER) && ref_string(&file, p + P_FILE);
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A field of the body b (JOB's places and size depend on its op, at
 * offset 0). */
NO_COVERAGE
static int ref_field(const struct field *f, const uint8_t *b)
{
	const uint8_t *p = b + f->off;
	static const struct field work = { F_FILE, 36, 64, 0, 0 };
	uint32_t u, i, op = le32(b);

	switch (f->kind) {
	case F_ROOT_WORK:
		if (op != ROOT_NEXT)
			return ref_string(&work, p);
		for (i = 0; i < f->size; i++)
			if (p[i])
				return 0;
		return 1;
	case F_OP:
		return le32(p) >= f->lo && le32(p) <= f->hi;
	case F_PLACE:
		return ref_place(p, op < 32 && (f->lo >> op & 1));
	case F_SIZE:
		if (op == OP_MKE2FS || op == OP_RESIZE)
			return le64(p) >= (uint64_t)f->lo &&
			       le64(p) <= (uint64_t)f->hi;
		return le64(p) == 0;
	case F_U32:
		u = le32(p);
		return u >= f->lo && u <= f->hi;
	case F_I32:
		return (int32_t)le32(p) >= f->lo && (int32_t)le32(p) <= f->hi;
	case F_MASK:
		return (le32(p) & ~(uint32_t)f->hi) == 0;
	case F_SIGNO:
		return le32(p) == 9 || le32(p) == 15;
	default:
		return ref_string(f, p);
	}
}

NO_COVERAGE
static int ref_valid(const uint8_t *b, size_t len)
{
	const struct layout *l;
	unsigned i;

	if (len < HDR || !(l = layout_of(le32(b))) || le32(b + 8) != l->len ||
	    len != HDR + l->len)
		return 0;
	for (i = 0; i < l->nfields; i++)
		if (!ref_field(&l->f[i], b + HDR))
			return 0;
	return 1;
}

/* A string field as sent: s up to its first NUL, then zeros. */
static void ref_str(uint8_t *out, const char *s, size_t cap)
{
	size_t n = 0;

	while (n < cap && s[n])
		n++;
	memset(out, 0, cap);
	memcpy(out, s, n);
}

/* What the struct's fields are on the wire, by hand: -1 for an unknown
 * type, else the length. */
NO_COVERAGE
static long ref_encode(uint8_t *out, const struct bh_priv_msg *m)
{
	const struct layout *l = layout_of(m->type);
	uint8_t *b = out + HDR;

	if (!l)
		return -1;
	le32_put(out, m->type);
	le32_put(out + 4, m->id);
	le32_put(out + 8, l->len);
	switch (m->type) {
	case 1: {
		const struct bh_priv_launch *x = &m->u.launch;

		ref_str(b, x->name, 32);
		ref_str(b + 32, x->kver, 64);
		le32_put(b + 96, x->root_kind);
		ref_str(b + 100, x->root_owner, 32);
		ref_str(b + 132, x->root_file, 64);
		le32_put(b + 196, x->private_kind);
		le32_put(b + 200, x->flags);
		le32_put(b + 204, x->memory_mb);
		le32_put(b + 208, x->vcpus);
		le32_put(b + 212, x->jail_id);
		le32_put(b + 216, x->tsc_khz);
		ref_str(b + 220, x->kernelopts, 1280);
		ref_str(b + 1500, x->cmdline_name, 32);
		break;
	}
	case 2:
		le32_put(b, m->u.launched.qemu_pid);
		le32_put(b + 4, m->u.launched.chan_pid);
		break;
	case 3:
		le32_put(b, (uint32_t)m->u.failed.code);
		ref_str(b + 4, m->u.failed.text, 512);
		break;
	case 4:
		ref_str(b, m->u.kill.name, 32);
		le32_put(b + 32, m->u.kill.which);
		le32_put(b + 36, m->u.kill.signo);
		break;
	case 5:
		ref_str(b, m->u.exited.name, 32);
		le32_put(b + 32, m->u.exited.which);
		le32_put(b + 36, (uint32_t)m->u.exited.wait_status);
		le32_put(b + 40, m->u.exited.pid);
		break;
	case 6:
		le32_put(b, (uint32_t)m->u.done.result);
		break;
	case 7: {
		const struct bh_priv_job *j = &m->u.job;
		const struct bh_priv_place *pl[2] = { &j->src, &j->dst };
		unsigned i;

		le32_put(b, j->op);
		ref_str(b + 4, j->qube, 32);
		ref_str(b + 36, j->other, 32);
		for (i = 0; i < 2; i++) {
			uint8_t *at = b + 68 + i * PLACE_LEN;

			le32_put(at, pl[i]->area);
			ref_str(at + P_OWNER, pl[i]->owner, 64);
			ref_str(at + P_FILE, pl[i]->file, 64);
		}
		le32_put(b + 332, (uint32_t)j->size);
		le32_put(b + 336, (uint32_t)(j->size >> 32));
		break;
	}
	case 8:
		le32_put(b, m->u.job_started.pid);
		break;
	case 9:
		le32_put(b, m->u.cancel.pid);
		break;
	case 10:
		le32_put(b, m->u.root.op);
		ref_str(b + 4, m->u.root.tmpl, 32);
		ref_str(b + 36, m->u.root.work, 64);
		break;
	case 11:
		ref_str(b, m->u.root_next.cur, 64);
		ref_str(b + 64, m->u.root_next.work, 64);
		break;
	case 12:
		ref_str(b, m->u.attach.name, 32);
		break;
	case 13:
		le32_put(b, m->u.attached.qemu_pid);
		le32_put(b + 4, m->u.attached.chan_pid);
		break;
	case 14:
		ref_str(b, m->u.let_go.name, 32);
		le32_put(b + 32, m->u.let_go.flags);
		break;
	case 15:
		le32_put(b, m->u.leftovers.timeout_ms);
		break;
	}
	return (long)(HDR + l->len);
}

/* ---- checks of what the codec gave ---- */

NO_COVERAGE
static void check_str(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	fuzz_check_printable(s, cap);
	for (i = n; i < cap; i++)
		CHECK(s[i] == 0);
}

/* A plain file name priv joins to a folder: one path component, never
 * empty, ".", ".." nor hidden. */
NO_COVERAGE
static void check_file(const char *s, size_t cap)
{
	check_str(s, cap);
	CHECK(s[0] && s[0] != '.' && !strchr(s, '/'));
}

NO_COVERAGE
static void check_parsed(const uint8_t *buf, size_t len,
			 const struct bh_priv_msg *m)
{
	uint8_t again[BH_PRIV_MSG_MAX];
	const struct bh_priv_launch *l = &m->u.launch;

	CHECK(layout_of(m->type) != NULL);
	CHECK(len == HDR + bh_priv_body_len(m->type));
	CHECK(m->id == le32(buf + 4));
	switch (m->type) {
	case BH_PRIV_LAUNCH:
		check_str(l->name, sizeof(l->name));
		check_str(l->kver, sizeof(l->kver));
		check_str(l->root_owner, sizeof(l->root_owner));
		check_str(l->root_file, sizeof(l->root_file));
		check_str(l->kernelopts, sizeof(l->kernelopts));
		check_str(l->cmdline_name, sizeof(l->cmdline_name));
		CHECK(strcmp(l->root_file, "..") && strcmp(l->root_file, "."));
		CHECK(!strchr(l->root_file, '/') && !strchr(l->kver, '/'));
		break;
	case BH_PRIV_LAUNCHED:
		/* pids that stay pids as pid_t: never 0, -1 nor a group */
		CHECK((pid_t)m->u.launched.qemu_pid > 1);
		CHECK((pid_t)m->u.launched.chan_pid > 1);
		break;
	case BH_PRIV_FAILED:
		check_str(m->u.failed.text, sizeof(m->u.failed.text));
		break;
	case BH_PRIV_KILL:
		check_str(m->u.kill.name, sizeof(m->u.kill.name));
		CHECK(m->u.kill.signo == SIGKILL || m->u.kill.signo == SIGTERM);
		break;
	case BH_PRIV_EXITED:
		check_str(m->u.exited.name, sizeof(m->u.exited.name));
		CHECK((pid_t)m->u.exited.pid > 1);
		CHECK(m->u.exited.which >= BH_PRIV_QEMU &&
		      m->u.exited.which <= BH_PRIV_JOBPROC);
		break;
	case BH_PRIV_JOB: {
		const struct bh_priv_job *j = &m->u.job;
		const struct bh_priv_place *pl[2] = { &j->src, &j->dst };
		unsigned i;

		check_str(j->qube, sizeof(j->qube));
		check_str(j->other, sizeof(j->other));
		CHECK(j->op >= BH_PRIV_JOB_COPY && j->op <= BH_PRIV_JOB_HASH);
		for (i = 0; i < 2; i++) {
			check_str(pl[i]->owner, sizeof(pl[i]->owner));
			check_str(pl[i]->file, sizeof(pl[i]->file));
			if (pl[i]->area == BH_PRIV_AREA_NONE) {
				CHECK(!pl[i]->owner[0] && !pl[i]->file[0]);
				continue;
			}
			/* Each is one path component, never "." nor "..". */
			CHECK(pl[i]->area <= BH_PRIV_AREA_MAX);
			CHECK(pl[i]->owner[0] && pl[i]->file[0] &&
			      pl[i]->file[0] != '.');
			CHECK(strcmp(pl[i]->owner, ".") &&
			      strcmp(pl[i]->owner, ".."));
			CHECK(!strchr(pl[i]->owner, '/') &&
			      !strchr(pl[i]->file, '/'));
		}
		CHECK((j->src.area != 0) == (j->op == BH_PRIV_JOB_COPY ||
					     j->op == BH_PRIV_JOB_HASH));
		CHECK((j->dst.area != 0) == (j->op != BH_PRIV_JOB_HASH));
		if (j->op == BH_PRIV_JOB_MKE2FS || j->op == BH_PRIV_JOB_RESIZE)
			CHECK(j->size >= BH_PRIV_SIZE_MIN &&
			      j->size <= BH_PRIV_SIZE_MAX);
		else
			CHECK(j->size == 0);
		break;
	}
	case BH_PRIV_JOB_STARTED:
		CHECK((pid_t)m->u.job_started.pid > 1);
		break;
	case BH_PRIV_CANCEL:
		CHECK((pid_t)m->u.cancel.pid > 1);
		break;
	case BH_PRIV_ROOT: {
		const struct bh_priv_root *r = &m->u.root;
		size_t i;

		check_str(r->tmpl, sizeof(r->tmpl));
		CHECK(is_alpha((uint8_t)r->tmpl[0]) && !strchr(r->tmpl, '/'));
		CHECK(r->op >= BH_PRIV_ROOT_OP_NEXT &&
		      r->op <= BH_PRIV_ROOT_OP_ABORT);
		if (r->op == BH_PRIV_ROOT_OP_NEXT) {
			/* NEXT names no version: nothing in the field. */
			for (i = 0; i < sizeof(r->work); i++)
				CHECK(r->work[i] == 0);
		} else {
			check_file(r->work, sizeof(r->work));
		}
		break;
	}
	case BH_PRIV_ROOT_NEXT:
		check_file(m->u.root_next.cur, sizeof(m->u.root_next.cur));
		check_file(m->u.root_next.work, sizeof(m->u.root_next.work));
		break;
	case BH_PRIV_ATTACH:
		/* priv joins it to RUN/qubes: one path component, a name. */
		check_str(m->u.attach.name, sizeof(m->u.attach.name));
		CHECK(is_alpha((uint8_t)m->u.attach.name[0]));
		CHECK(!strchr(m->u.attach.name, '/'));
		break;
	case BH_PRIV_ATTACHED:
		CHECK((pid_t)m->u.attached.qemu_pid > 1);
		CHECK((pid_t)m->u.attached.chan_pid > 1);
		break;
	case BH_PRIV_LET_GO:
		check_str(m->u.let_go.name, sizeof(m->u.let_go.name));
		CHECK(is_alpha((uint8_t)m->u.let_go.name[0]));
		CHECK(!strchr(m->u.let_go.name, '/'));
		CHECK((m->u.let_go.flags & ~BH_PRIV_LET_GO_QEMU) == 0);
		break;
	case BH_PRIV_LEFTOVERS:
		/* An int in priv's wait, never negative. */
		CHECK(m->u.leftovers.timeout_ms <= BH_PRIV_LEFTOVERS_MS_MAX);
		CHECK((int)m->u.leftovers.timeout_ms >= 0);
		break;
	}
	CHECK(bh_priv_encode(again, m) == (int)len);
	CHECK(memcmp(again, buf, len) == 0);
}

/* ---- shaping: nearly valid datagrams ---- */

static const char *charset_of(enum fkind k)
{
	switch (k) {
	case F_NAME:
	case F_OPT_NAME:
		return "abcXYZ09_.-";
	case F_KVER:
		return "6.12+deb-amd64_x";
	case F_FILE:
	case F_ROOT_WORK:
		return "root.img_-v2";
	case F_OWNER:
		return "..debian-12+w";
	default:
		return " ~=az09\"\\";
	}
}

/* A value near an edge of lo..hi, or v itself. */
static uint32_t near(uint32_t v, int64_t lo, int64_t hi)
{
	switch (v % 8u) {
	case 0:
		return (uint32_t)(lo - 1);
	case 1:
		return (uint32_t)lo;
	case 2:
		return (uint32_t)(lo + 1);
	case 3:
		return (uint32_t)(hi - 1);
	case 4:
		return (uint32_t)hi;
	case 5:
		return (uint32_t)(hi + 1);
	default:
		return v >> 3;
	}
}

/* A size near an edge of a JOB's range, 0, or v itself. */
static uint64_t near64(uint64_t v, int64_t lo, int64_t hi)
{
	switch (v % 10u) {
	case 0:
		return 0;
	case 1:
		return (uint64_t)lo - 1;
	case 2:
		return (uint64_t)lo;
	case 3:
		return (uint64_t)lo + 1;
	case 4:
		return (uint64_t)hi - 1;
	case 5:
		return (uint64_t)hi;
	case 6:
		return (uint64_t)hi + 1;
	default:
		return v >> 4;
	}
}

static void shape_string(uint8_t *p, enum fkind kind, uint32_t size,
			 unsigned mode)
{
	uint32_t j;

	if (mode & MODE_CHARSET) {
		const char *cs = charset_of(kind);
		size_t n = strlen(cs);

		for (j = 0; j < size; j++)
			if (p[j])
				p[j] = (uint8_t)cs[p[j] % n];
	}
	if (mode & MODE_STRINGS) {
		j = 0;
		while (j < size - 1 && p[j])
			j++;
		memset(p + j, 0, size - j);
	}
}

static void shape_fields(uint8_t *b, const struct layout *l, unsigned mode)
{
	unsigned i;

	for (i = 0; i < l->nfields; i++) {
		const struct field *f = &l->f[i];
		uint8_t *p = b + HDR + f->off;
		uint32_t v;
		uint64_t s;

		switch (f->kind) {
		case F_U32:
		case F_I32:
		case F_OP:
			if (mode & MODE_NUMBERS)
				le32_put(p, near(le32(p), f->lo, f->hi));
			break;
		case F_MASK:
			if (mode & MODE_NUMBERS)
				le32_put(p, le32(p) & 0x8000000fu);
			break;
		case F_SIGNO:
			if (mode & MODE_NUMBERS) {
				v = le32(p);
				le32_put(p, v % 3u == 0 ? 9u
					 : v % 3u == 1 ? 15u : v >> 2);
			}
			break;
		case F_SIZE:
			if (mode & MODE_NUMBERS) {
				s = near64(le64(p), f->lo, f->hi);
				le32_put(p, (uint32_t)s);
				le32_put(p + 4, (uint32_t)(s >> 32));
			}
			break;
		case F_ROOT_WORK:
			/* The op (offset 0) is shaped already. */
			if ((mode & MODE_NUMBERS) &&
			    le32(b + HDR) == ROOT_NEXT && (p[0] & 1)) {
				memset(p, 0, f->size);
				break;
			}
			shape_string(p, F_FILE, f->size, mode);
			break;
		case F_PLACE:
			if (mode & MODE_NUMBERS) {
				/* 0..6 around the areas 1..5; 0 is an
				 * unused place, all zeros. */
				v = le32(p) % 8u;
				if (v == 0) {
					memset(p, 0, PLACE_LEN);
					break;
				}
				le32_put(p, v - 1);
			}
			shape_string(p + P_OWNER, F_OWNER, 64, mode);
			shape_string(p + P_FILE, F_FILE, 64, mode);
			break;
		default:
			shape_string(p, f->kind, f->size, mode);
		}
	}
}

/* ---- the target ---- */

NO_COVERAGE
static void check_field_set(const uint8_t *data, size_t size)
{
	char src[80], dst[32];
	size_t n = size < sizeof(src) - 1 ? size : sizeof(src) - 1, i;

	memcpy(src, data, n);
	src[n] = 0;
	memset(dst, 0x5a, sizeof(dst));
	bh_priv_field_set(dst, sizeof(dst), src);
	check_str(dst, sizeof(dst));
	for (i = 0; i < sizeof(dst) - 1 && src[i]; i++)
		CHECK(dst[i] == (src[i] >= 0x20 && src[i] < 0x7f ? src[i]
								 : '?'));
	CHECK(i == strlen(dst));
}

/* The input's bytes as a struct: encode agrees with ref_encode and
 * ref_valid. */
NO_COVERAGE
static void check_encode(const uint8_t *data, size_t size, int shaped_type)
{
	struct bh_priv_msg m;
	uint8_t out[BH_PRIV_MSG_MAX], ref[BH_PRIV_MSG_MAX];
	long rlen;
	int rc;

	memset(&m, 0, sizeof(m));
	memcpy(&m, data, size < sizeof(m) ? size : sizeof(m));
	if (shaped_type)
		m.type = data[0] % (TYPE_UNKNOWN + 1u);
	rc = bh_priv_encode(out, &m);
	rlen = ref_encode(ref, &m);
	if (rlen < 0) {
		CHECK(rc == -EINVAL);
		return;
	}
	if (!ref_valid(ref, (size_t)rlen)) {
		CHECK(rc == -EINVAL);
		return;
	}
	CHECK(rc == rlen);
	CHECK(memcmp(out, ref, (size_t)rlen) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bh_priv_msg m, before;
	unsigned mode;
	uint8_t *buf;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	len = size;
	if (mode & MODE_HEADER) {
		uint8_t type = size ? data[0] % (TYPE_UNKNOWN + 1u) : 0;
		const struct layout *l = layout_of(type);

		if (l)
			len = HDR + l->len;
		else if (len < HDR)
			len = HDR;
		buf = calloc(1, len);
		CHECK(buf != NULL);
		memcpy(buf, data, size < len ? size : len);
		le32_put(buf, type);
		if (l) {
			le32_put(buf + 8, l->len);
			shape_fields(buf, l, mode);
		}
	} else {
		buf = malloc(len ? len : 1);
		CHECK(buf != NULL);
		memcpy(buf, data, len);
	}

	memset(&m, 0xa5, sizeof(m));
	before = m;
	rc = bh_priv_parse(buf, len, &m);
	CHECK(rc == 0 || rc == -EPROTO);
	CHECK((rc == 0) == ref_valid(buf, len));
	if (rc == 0)
		check_parsed(buf, len, &m);
	else
		CHECK(memcmp(&m, &before, sizeof(m)) == 0);
	free(buf);

	check_encode(data, size, (mode & MODE_HEADER) && size);
	check_field_set(data, size);
	return 0;
}
