/* libFuzzer target: the daemon's QMP client fed with lines from a hostile
 * QEMU (QEMU parses guest data, so it is less trusted than the daemon).
 *
 * Input: byte 0 picks the starting state and the way in, the rest is what
 * QEMU sends.
 *   bits 0-1  state: 0 GREETING, 1 NEGOTIATING, 2 READY, 3 GREETING
 *   bit 2     0: split the text at '\n' and hand each line (a heap copy of
 *                exactly its length) to qmp_handle_line, stopping at the
 *                first error like qmp_handle_input does;
 *             1: write the text into the socket and let qmp_handle_input
 *                read it, split it and keep its 64 KiB line buffer.
 *   bits 3-6  socket writes of 1 << n bytes (bit 2 set)
 *   bit 7     (bit 2 set) the text is preceded by 65530 spaces, so that
 *             short inputs reach the 64 KiB line limit (leading spaces
 *             are valid JSON)
 *
 * The struct qmp's fd is one end of a non-blocking socket pair created once
 * per process, as the daemon's is; the target drains the other end after
 * each input and checks that the only thing the client ever writes is one
 * qmp_capabilities command, on the greeting.
 *
 * The data-port callbacks (on_reply, on_device_deleted) are set: a tag
 * that reaches them is 1..UINT32_MAX and comes only in READY, a device id
 * is one that qmp_name_ok accepts (what the daemon could have sent), and
 * that id goes through the daemon's own parser of it
 * (dataport_qmp_deleted) on a qube with no ports, which must find none. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/relay/dataport.h"
#include "daemon/engine/qmp.h"
#include "lib/log.h"
#include "lib/util.h"

#include "fuzz_common.h"

#define CAPABILITIES "{\"execute\":\"qmp_capabilities\"}\n"

/* sv[0]: QEMU's end (we write and drain it); sv[1]: the daemon's. */
static int sv[2] = { -1, -1 };
/* struct qmp holds a 64 KiB line buffer: keep it off the stack. */
static struct qmp q;
static uint8_t spaces[QMP_LINE_MAX - 6];
static struct daemon dmn;
static struct qube_vm dv;

NO_COVERAGE
static void on_reply(void *ctx, uint32_t tag, int ok)
{
	CHECK(ctx == &dv);
	CHECK(tag != 0);
	CHECK(ok == 0 || ok == 1);
	CHECK(q.state == QMP_READY);
	dataport_qmp_reply(ctx, tag, ok);
}

NO_COVERAGE
static void on_deleted(void *ctx, const char *id)
{
	CHECK(ctx == &dv);
	CHECK(qmp_name_ok(id));
	dataport_qmp_deleted(ctx, id);
	CHECK(dmn.dataports == NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	memset(spaces, ' ', sizeof(spaces));
	fuzz_socketpair(sv, "fuzz_qmp_line: socketpair");
	return 0;
}

/* QEMU's strings kept for the log: terminated, printable ASCII only. */
NO_COVERAGE
static void check_logged(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	CHECK(n < cap);
	for (i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

NO_COVERAGE
static void check_state(enum qmp_state before, enum qmp_state after)
{
	/* Only forward: GREETING, NEGOTIATING, READY, CLOSED. One line
	 * moves one step at most; one read may carry several lines. */
	CHECK(after >= before);
	/* A full buffer without a newline closes the connection. */
	CHECK(q.in_len < sizeof(q.in) ||
	      (q.in_len == sizeof(q.in) && q.state == QMP_CLOSED));
	check_logged(q.last_event, sizeof(q.last_event));
	check_logged(q.shutdown_reason, sizeof(q.shutdown_reason));
}

/* Lines straight into qmp_handle_line. */
static void feed_lines(const uint8_t *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const uint8_t *nl = memchr(text + off, '\n', len - off);
		size_t line = nl ? (size_t)(nl - (text + off)) + 1 : len - off;
		enum qmp_state before = q.state;
		char *copy = malloc(line);
		int r;

		if (!copy)
			return;
		memcpy(copy, text + off, line);
		r = qmp_handle_line(&q, copy, line, "fuzz");
		free(copy);
		check_state(before, q.state);
		CHECK(q.state != QMP_CLOSED); /* only qmp_handle_input closes */
		CHECK(q.state == before ||
		      (before == QMP_GREETING && q.state == QMP_NEGOTIATING) ||
		      (before == QMP_NEGOTIATING && q.state == QMP_READY));
		CHECK(r == 0 || (r < 0 && q.state == before));
		if (r < 0)
			return;
		off += line;
	}
}

/* The text through the socket and qmp_handle_input. */
static void feed_socket(const uint8_t *text, size_t len, size_t chunk)
{
	size_t off = 0;

	while (off < len && q.state != QMP_CLOSED) {
		size_t n = len - off < chunk ? len - off : chunk;
		enum qmp_state before = q.state;
		ssize_t w = write(sv[0], text + off, n);
		int r;

		CHECK(w > 0);
		off += (size_t)w;
		r = qmp_handle_input(&q, "fuzz");
		check_state(before, q.state);
		if (r < 0) {
			CHECK(q.state == QMP_CLOSED);
			break;
		}
	}
	fuzz_drain(sv[1], NULL, 0); /* what it did not read */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum qmp_state states[4] = {
		QMP_GREETING, QMP_NEGOTIATING, QMP_READY, QMP_GREETING
	};
	enum qmp_state start;
	char sent[128];
	size_t got;

	if (size < 1)
		return 0;
	qmp_init(&q, sv[1]);
	q.on_reply = on_reply;
	q.on_device_deleted = on_deleted;
	q.ctx = &dv;
	dv.d = &dmn;
	start = states[data[0] & 3];
	q.state = start;
	if (data[0] & 4) {
		size_t chunk = (size_t)1 << ((data[0] >> 3) & 15);

		if (data[0] & 0x80)
			feed_socket(spaces, sizeof(spaces), 4096);
		feed_socket(data + 1, size - 1, chunk);
	} else
		feed_lines(data + 1, size - 1);

	/* The client writes one command, and only when it leaves the
	 * greeting state. */
	got = fuzz_drain(sv[0], sent, sizeof(sent));
	if (start != QMP_GREETING || q.state == QMP_GREETING ||
	    (q.state == QMP_CLOSED && got == 0)) {
		CHECK(got == 0);
	} else {
		CHECK(got == strlen(CAPABILITIES));
		CHECK(memcmp(sent, CAPABILITIES, got) == 0);
	}
	return 0;
}
