/* The channel process's side of QMP (docs/architecture.md, "chan"):
 * it holds the qube's QMP socket, answers QEMU's greeting, parses every
 * line QEMU sends (JSON, with jansson: QEMU may be in a broken guest's
 * hands) and hands the daemon fixed-size records (proto/msg_qmp.h) on a
 * SOCK_SEQPACKET link of their own; the daemon's commands (lines it
 * built, with an fd for getfd) go on to QEMU as they are.
 *
 * Back-pressure: QEMU is not read while a record waits for the daemon,
 * and a QEMU that does not read its commands breaks QMP (BROKEN): one
 * command is far below a socket's buffer.
 *
 * Detached (no daemon, proto/chan_attach.h): QEMU is still read and
 * parsed, so that the state follows it (the greeting is answered), but
 * the records are dropped. */
#ifndef BH_CHAN_QMP_FILTER_H
#define BH_CHAN_QMP_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg_qmp.h"

/* QMP's lines we expect are small; a longer one breaks QMP. */
#define QMP_FILTER_LINE_MAX (64u * 1024u)

enum qmp_filter_state {
	QF_GREETING,
	QF_NEGOTIATING,
	QF_READY,
	QF_CLOSED, /* broken or at its end: QEMU is not read any more */
};

struct qmp_filter {
	int qemu_fd; /* QEMU's QMP (stream) */
	int link_fd; /* to the daemon (seqpacket); -1 while detached */
	enum qmp_filter_state state;
	int link_eof;
	char in[QMP_FILTER_LINE_MAX];
	size_t in_len;
	/* A record the daemon's end had no room for yet. */
	uint8_t pending[BH_QMP_REC_LEN];
	int have_pending;
};

void qmp_filter_init(struct qmp_filter *f, int qemu_fd, int link_fd);

/* What one line from QEMU makes: 0 with *out (kind 0: nothing to tell)
 * and *send_caps (answer the greeting with qmp_capabilities), or
 * -EPROTO with out a BROKEN record saying why. Updates f->state. */
int qmp_filter_line(struct qmp_filter *f, const char *untrusted_line,
		    size_t len, struct bh_qmp_rec *out, int *send_caps);

/* The link is gone: closes it and drops the record waiting for it. */
void qmp_filter_detach(struct qmp_filter *f);
/* A new link (non-blocking): it gets READY when QEMU's greeting is done
 * (else READY comes when it is), or BROKEN when QMP was closed. */
void qmp_filter_attach(struct qmp_filter *f, int link_fd);

/* Whether QEMU's QMP is read this round. */
int qmp_filter_qemu_readable(const struct qmp_filter *f);
/* QEMU's QMP is readable: reads, parses, sends records. */
void qmp_filter_qemu_input(struct qmp_filter *f);
/* The daemon's link is readable: passes its commands on to QEMU. */
void qmp_filter_link_input(struct qmp_filter *f);
/* The daemon's link is writable: sends the pending record, then handles
 * the lines already read behind it (QEMU may write nothing more). */
void qmp_filter_link_output(struct qmp_filter *f);

#endif
