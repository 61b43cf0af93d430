/* libFuzzer target: what a hostile QEMU sends on QMP (QEMU parses guest
 * data, so it is less trusted than the daemon), through the whole path:
 * the channel process's filter (src/chan/qmp_filter.c) parses it into
 * records, the daemon's side (src/daemon/engine/qmp.c) applies them.
 *
 * Input: byte 0 picks the starting state and the way in, the rest is what
 * QEMU sends.
 *   bits 0-1  state: 0 GREETING, 1 NEGOTIATING, 2 READY, 3 GREETING (the
 *             filter's; the daemon's is READY for 2, else GREETING)
 *   bit 2     0: split the text at '\n' and hand each line (a heap copy of
 *                exactly its length) to qmp_filter_line, stopping at the
 *                first error as the filter does; each record goes through
 *                bh_qmp_rec_encode, bh_qmp_rec_parse and qmp_handle_record;
 *             1: write the text into QEMU's end of a stream socket pair and
 *                run the filter on its other end (its 64 KiB line buffer,
 *                its back-pressure), with its records going over a
 *                seqpacket link, through this target (which checks each),
 *                on to a struct qmp reading with qmp_handle_input.
 *   bits 3-6  socket writes of 1 << n bytes (bit 2 set)
 *   bit 7     (bit 2 set) the text is preceded by 65530 spaces, so that
 *             short inputs reach the 64 KiB line limit (leading spaces
 *             are valid JSON)
 *
 * Invariants: every record the filter makes parses with bh_qmp_rec_parse;
 * nothing follows a BROKEN record; at most one READY, never from a filter
 * that started READY; the only thing written back to QEMU is one
 * qmp_capabilities line, on the greeting; both sides' states only move
 * forward; the daemon's strings stay printable and terminated; a filter
 * that broke QMP leaves the daemon's side closed.
 *
 * The data-port callbacks (on_reply, on_device_deleted) are set: a tag
 * that reaches them is 1..UINT32_MAX and comes only in READY, a device id
 * is one that qmp_name_ok accepts (what the daemon could have sent), and
 * that id goes through the daemon's own parser of it
 * (dataport_qmp_deleted) on a qube with no ports, which must find none. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/qmp_filter.h"
#include "daemon/core/daemon.h"
#include "daemon/relay/dataport.h"
#include "daemon/engine/qmp.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/msg_qmp.h"

#include "fuzz_common.h"
#include "fuzz_qmp_daemon.h"

#define CAPABILITIES "{\"execute\":\"qmp_capabilities\"}\n"

/* qemu[0]: QEMU's end (we write and drain it); qemu[1]: the filter's.
 * link: the filter's records, [0] its end, [1] ours; relay: on to the
 * daemon's side, [0] ours, [1] the struct qmp's. Made once a process. */
static int qemu[2] = { -1, -1 };
static int lnk[2] = { -1, -1 };
static int relay[2] = { -1, -1 };
/* struct qmp_filter holds a 64 KiB line buffer: keep it off the stack. */
static struct qmp_filter qf;
static uint8_t spaces[QMP_FILTER_LINE_MAX - 6];

/* What the records of this input were. */
static int n_ready, broken_seen, early;

static void seqpacket_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    bh_set_nonblock(sv[0], 1) < 0 || bh_set_nonblock(sv[1], 1) < 0) {
		perror("fuzz_qmp_line: socketpair");
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	memset(spaces, ' ', sizeof(spaces));
	fuzz_socketpair(qemu, "fuzz_qmp_line: socketpair");
	seqpacket_pair(lnk);
	seqpacket_pair(relay);
	return 0;
}

NO_COVERAGE
static void check_states(enum qmp_filter_state fbefore,
			 enum qmp_state qbefore)
{
	/* Only forward: GREETING, NEGOTIATING, READY, CLOSED. */
	CHECK(qf.state >= fbefore);
	CHECK(q.state >= qbefore);
	/* A full buffer without a newline closes QMP. */
	CHECK(qf.in_len < sizeof(qf.in) || qf.state == QF_CLOSED);
	/* Strings kept for the log: terminated, printable ASCII only. */
	fuzz_check_printable(q.last_event, sizeof(q.last_event));
	fuzz_check_printable(q.shutdown_reason, sizeof(q.shutdown_reason));
	fuzz_check_printable(q.migration, sizeof(q.migration));
}

/* One record from the filter, as bytes on the link: it must parse, and
 * follow the order the filter keeps. */
NO_COVERAGE
static void check_record(const uint8_t *buf, size_t len,
			 struct bh_qmp_rec *r)
{
	CHECK(bh_qmp_rec_parse(buf, len, r) == 0);
	CHECK(!broken_seen);
	if (r->kind == BH_QMP_READY)
		CHECK(++n_ready == 1);
	if (r->kind == BH_QMP_BROKEN) {
		broken_seen = 1;
		CHECK(qf.state == QF_CLOSED);
		CHECK(r->text[0] != '\0');
	}
	if (r->kind == BH_QMP_REPLY && r->ok)
		CHECK(r->tag != 0); /* untagged returns are not sent */
	if ((r->kind == BH_QMP_EVENT || r->kind == BH_QMP_REPLY) &&
	    q.state == QMP_GREETING)
		early = 1;
}

/* Lines straight into qmp_filter_line. */
static void feed_lines(const uint8_t *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const uint8_t *nl = memchr(text + off, '\n', len - off);
		size_t line = nl ? (size_t)(nl - (text + off)) + 1 : len - off;
		enum qmp_filter_state fbefore = qf.state;
		enum qmp_state qbefore = q.state;
		uint8_t buf[BH_QMP_REC_LEN];
		struct bh_qmp_rec rec, back;
		char *copy = malloc(line);
		int r, caps = -1;

		if (!copy)
			return;
		memcpy(copy, text + off, line);
		r = qmp_filter_line(&qf, copy, line, &rec, &caps);
		free(copy);
		CHECK(caps == 0 || caps == 1);
		CHECK(!caps || (fbefore == QF_GREETING &&
				qf.state == QF_NEGOTIATING));
		/* One line moves one step at most. */
		CHECK(qf.state == fbefore || qf.state == QF_CLOSED ||
		      (fbefore == QF_GREETING && qf.state == QF_NEGOTIATING) ||
		      (fbefore == QF_NEGOTIATING && qf.state == QF_READY));
		CHECK(r == 0 || r == -EPROTO);
		CHECK((r < 0) == (rec.kind == BH_QMP_BROKEN));
		CHECK((r < 0) == (qf.state == QF_CLOSED));
		if (rec.kind) {
			bh_qmp_rec_encode(buf, &rec);
			check_record(buf, sizeof(buf), &back);
			CHECK(memcmp(&rec, &back, sizeof(rec)) == 0);
			if (q.state != QMP_CLOSED &&
			    qmp_handle_record(&q, &back, "fuzz") < 0)
				q.state = QMP_CLOSED; /* as qmp_handle_input */
		}
		check_states(fbefore, qbefore);
		if (r < 0)
			return;
		off += line;
	}
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	/* libFuzzer's timers interrupt it: EINTR is not "nothing". */
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Passes the filter's records on to the daemon's side, checking each. */
static int relay_records(void)
{
	uint8_t buf[BH_QMP_REC_LEN + 1];
	struct bh_qmp_rec rec;
	int moved = 0;
	ssize_t n;

	while ((n = recv(lnk[1], buf, sizeof(buf), 0)) > 0) {
		enum qmp_state qbefore = q.state;

		moved = 1;
		check_record(buf, (size_t)n, &rec);
		if (q.state == QMP_CLOSED)
			continue;
		CHECK(send(relay[0], buf, (size_t)n, 0) == n);
		CHECK(qmp_handle_input(&q, "fuzz") <= 0);
		CHECK(!readable(relay[1]));
		check_states(qf.state, qbefore);
	}
	CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	return moved;
}

/* Runs the filter and the daemon's side until nothing moves. */
static void pump(void)
{
	for (;;) {
		enum qmp_filter_state fbefore = qf.state;
		enum qmp_state qbefore = q.state;
		int moved = 0;

		if (qmp_filter_qemu_readable(&qf) && readable(qemu[1])) {
			qmp_filter_qemu_input(&qf);
			moved = 1;
		}
		moved |= relay_records();
		if (qf.have_pending) {
			qmp_filter_link_output(&qf);
			moved |= !qf.have_pending;
		}
		CHECK(!qf.link_eof);
		check_states(fbefore, qbefore);
		if (!moved)
			return;
	}
}

/* The text through the sockets. */
static void feed_socket(const uint8_t *text, size_t len, size_t chunk)
{
	size_t off = 0;

	while (off < len && qf.state != QF_CLOSED) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(qemu[0], text + off, n);

		/* The filter reads while its link has room; the relay
		 * drains the link at each pump. */
		CHECK(w > 0);
		off += (size_t)w;
		pump();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum qmp_filter_state states[4] = {
		QF_GREETING, QF_NEGOTIATING, QF_READY, QF_GREETING
	};
	enum qmp_filter_state start;
	char sent[128];
	size_t got;

	if (size < 1)
		return 0;
	qmp_filter_init(&qf, qemu[1], lnk[0]);
	fuzz_qmp_daemon_init(relay[1]);
	start = states[data[0] & 3];
	qf.state = start;
	q.state = start == QF_READY ? QMP_READY : QMP_GREETING;
	n_ready = broken_seen = early = 0;
	if (data[0] & 4) {
		size_t chunk = (size_t)1 << ((data[0] >> 3) & 15);

		if (data[0] & 0x80)
			feed_socket(spaces, sizeof(spaces), 4096);
		feed_socket(data + 1, size - 1, chunk);
		pump();
		/* Nothing waits: all the filter made reached the daemon,
		 * and no whole line is left unparsed. */
		CHECK(!qf.have_pending);
		CHECK(qf.state == QF_CLOSED ||
		      !memchr(qf.in, '\n', qf.in_len));
		/* A filter that broke QMP said so, and the daemon's side
		 * closed; the daemon's side closes for nothing else but a
		 * record before READY. */
		CHECK((qf.state == QF_CLOSED) == broken_seen);
		if (broken_seen)
			CHECK(q.state == QMP_CLOSED);
		if (q.state == QMP_CLOSED)
			CHECK(broken_seen || early);
		CHECK((q.state == QMP_READY) ==
		      (!broken_seen && !early &&
		       (start == QF_READY || n_ready == 1)));
		/* What the filter did not read. */
		fuzz_drain(qemu[1], NULL, 0);
	} else {
		feed_lines(data + 1, size - 1);
	}
	CHECK(n_ready == 0 || start != QF_READY);

	/* QEMU gets one command, and only when its greeting is taken. */
	got = fuzz_drain(qemu[0], sent, sizeof(sent));
	if (data[0] & 4) {
		if (start != QF_GREETING || (qf.state == QF_CLOSED && got == 0))
			CHECK(got == 0);
		else if (qf.state != QF_GREETING)
			CHECK(got == strlen(CAPABILITIES) &&
			      memcmp(sent, CAPABILITIES, got) == 0);
		else
			CHECK(got == 0);
	} else {
		CHECK(got == 0); /* qmp_filter_line writes nothing */
	}
	if (got)
		CHECK(got == strlen(CAPABILITIES) &&
		      memcmp(sent, CAPABILITIES, got) == 0);
	/* Nothing left on the link or the relay. */
	CHECK(!readable(lnk[1]) && !readable(relay[1]) &&
	      !readable(lnk[0]) && !readable(relay[0]));
	return 0;
}
