/* What a qube's channel process tells the daemon of its QEMU's QMP
 * (docs/architecture.md, "chan -> control": QMP_EVENT and replies).
 *
 * QEMU parses the guest's devices, so a broken guest may own it and
 * write any bytes on QMP. The channel process reads them and parses the
 * JSON (src/chan/qmp_filter.c); the daemon gets only these fixed-size
 * records, one per datagram of a SOCK_SEQPACKET pair, each checked for
 * its exact size, a known kind and NUL-terminated printable fields
 * before it is used. Commands go the other way as QMP lines the daemon
 * built itself (with an fd for getfd), passed on as they are. */
#ifndef BH_PROTO_MSG_QMP_H
#define BH_PROTO_MSG_QMP_H

#include <stddef.h>
#include <stdint.h>

enum bh_qmp_rec_kind {
	BH_QMP_READY = 1,  /* greeting and qmp_capabilities done */
	BH_QMP_EVENT = 2,  /* name, arg */
	BH_QMP_REPLY = 3,  /* tag, ok, text (an error's description) */
	BH_QMP_BROKEN = 4, /* QMP is unusable: text says why; no more */
};

#define BH_QMP_NAME_MAX 64u
#define BH_QMP_ARG_MAX 64u
#define BH_QMP_TEXT_MAX 128u

struct bh_qmp_rec {
	uint32_t kind;
	/* REPLY: the command's "id" when it is one we could have sent
	 * (1..UINT32_MAX), else 0 (nothing of ours: only logged). */
	uint32_t tag;
	uint32_t ok; /* REPLY: 1 "return", 0 "error" */
	/* EVENT: its name. */
	char name[BH_QMP_NAME_MAX];
	/* EVENT: SHUTDOWN's reason, MIGRATION's status, DEVICE_DELETED's
	 * device; "" otherwise. */
	char arg[BH_QMP_ARG_MAX];
	/* REPLY of an error: QEMU's description; BROKEN: why. */
	char text[BH_QMP_TEXT_MAX];
};

#define BH_QMP_REC_LEN \
	(12u + BH_QMP_NAME_MAX + BH_QMP_ARG_MAX + BH_QMP_TEXT_MAX)

/* Copies src into a field of cap bytes: printable ASCII only (others
 * become '?'), cut to cap - 1 bytes, NUL-padded. */
void bh_qmp_field_set(char *dst, size_t cap, const char *src);

void bh_qmp_rec_encode(uint8_t out[BH_QMP_REC_LEN], const struct bh_qmp_rec *r);
/* Exactly BH_QMP_REC_LEN bytes, a known kind, ok 0 or 1, every field
 * NUL-terminated within its size with printable ASCII before the NUL
 * and zeros after it. 0 with *out filled, or -EPROTO. */
int bh_qmp_rec_parse(const uint8_t *untrusted_buf, size_t len,
		     struct bh_qmp_rec *out);

#endif
