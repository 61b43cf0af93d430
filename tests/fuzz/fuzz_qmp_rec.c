/* libFuzzer target: QMP records from a qube's channel process into the
 * daemon (proto/msg_qmp.h, src/daemon/engine/qmp.c). The channel process
 * reads a QEMU a broken guest may own and may be compromised itself, so
 * any datagram may come: bh_qmp_rec_parse checks it, qmp_handle_record
 * applies it.
 *
 * Input: byte 0 picks the way in, the rest is cut into datagrams of
 * BH_QMP_REC_LEN bytes (the last may be shorter).
 *   bit 0  0: each datagram to bh_qmp_rec_parse and, when it parses,
 *             qmp_handle_record, stopping where qmp_handle_input would;
 *          1: each datagram sent on a seqpacket pair and read by
 *             qmp_handle_input, as the daemon does
 *   bit 1  make each full datagram nearly valid first: kind byte % 6,
 *          ok byte % 3, fields through bh_qmp_field_set (so the state
 *          machine is reached, not only the parser's refusals)
 *   bit 2  the daemon's side starts READY (else GREETING)
 *
 * Invariants: a datagram parses only if it is exactly BH_QMP_REC_LEN
 * bytes and encodes back to the same bytes, with a known kind, ok 0 or 1
 * and printable NUL-terminated fields; the state only moves forward
 * (GREETING, READY, CLOSED), to READY only by a READY record, and any
 * failure leaves it CLOSED; EVENT and REPLY are taken only in READY; the
 * daemon's strings stay printable; commands go out only in READY.
 * The data-port callbacks are set as in fuzz_qmp_line: a tag that reaches
 * them is non-zero and comes in READY, a device id passes qmp_name_ok and
 * goes through dataport_qmp_deleted on a qube with no ports. */
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
#include "proto/frame.h"
#include "proto/msg_qmp.h"

#include "fuzz_common.h"
#include "fuzz_qmp_daemon.h"

/* [0]: the channel process's end (we send); [1]: the daemon's. */
static int sv[2] = { -1, -1 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    bh_set_nonblock(sv[0], 1) < 0 || bh_set_nonblock(sv[1], 1) < 0) {
		perror("fuzz_qmp_rec: socketpair");
		abort();
	}
	return 0;
}

NO_COVERAGE
static void check_daemon(enum qmp_state before)
{
	CHECK(q.state >= before);
	fuzz_check_printable(q.last_event, sizeof(q.last_event));
	fuzz_check_printable(q.shutdown_reason, sizeof(q.shutdown_reason));
	fuzz_check_printable(q.migration, sizeof(q.migration));
}

/* What bh_qmp_rec_parse made of buf: a record as msg_qmp.h says. */
NO_COVERAGE
static void check_parsed(const uint8_t *buf, size_t len,
			 const struct bh_qmp_rec *r)
{
	uint8_t again[BH_QMP_REC_LEN];

	CHECK(len == BH_QMP_REC_LEN);
	CHECK(r->kind >= BH_QMP_READY && r->kind <= BH_QMP_BROKEN);
	CHECK(r->ok <= 1);
	fuzz_check_printable(r->name, sizeof(r->name));
	fuzz_check_printable(r->arg, sizeof(r->arg));
	fuzz_check_printable(r->text, sizeof(r->text));
	bh_qmp_rec_encode(again, r);
	CHECK(memcmp(again, buf, len) == 0);
}

/* msg_qmp.h's rule, written again: exactly BH_QMP_REC_LEN bytes, kind
 * 1..4, ok 0 or 1, each field printable bytes, a NUL, then only NULs. */
NO_COVERAGE
static int ref_field(const uint8_t *p, size_t cap)
{
	size_t n = 0, i;

	while (n < cap && p[n] != 0) {
		if (p[n] < 0x20 || p[n] > 0x7e)
			return 0;
		n++;
	}
	if (n == cap)
		return 0;
	for (i = n; i < cap; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

NO_COVERAGE
static int ref_valid(const uint8_t *b, size_t len)
{
	uint32_t kind, ok;

	if (len != BH_QMP_REC_LEN)
		return 0;
	kind = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	ok = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
	     (uint32_t)b[11] << 24;
	return kind >= 1 && kind <= 4 && ok <= 1 &&
	       ref_field(b + 12, BH_QMP_NAME_MAX) &&
	       ref_field(b + 12 + BH_QMP_NAME_MAX, BH_QMP_ARG_MAX) &&
	       ref_field(b + 12 + BH_QMP_NAME_MAX + BH_QMP_ARG_MAX,
			 BH_QMP_TEXT_MAX);
}

/* Nearly valid: a kind of 0..5, ok 0..2, fields cleaned. */
static void shape(uint8_t *b)
{
	struct bh_qmp_rec r;
	char raw[BH_QMP_TEXT_MAX + 1];

	memset(&r, 0, sizeof(r));
	r.kind = b[0] % 6u;
	r.tag = bh_get_u32(b + 4);
	r.ok = b[8] % 3u;
	memcpy(raw, b + 12, BH_QMP_NAME_MAX);
	raw[BH_QMP_NAME_MAX] = 0;
	bh_qmp_field_set(r.name, sizeof(r.name), raw);
	memcpy(raw, b + 12 + BH_QMP_NAME_MAX, BH_QMP_ARG_MAX);
	raw[BH_QMP_ARG_MAX] = 0;
	bh_qmp_field_set(r.arg, sizeof(r.arg), raw);
	memcpy(raw, b + 12 + BH_QMP_NAME_MAX + BH_QMP_ARG_MAX,
	       BH_QMP_TEXT_MAX);
	raw[BH_QMP_TEXT_MAX] = 0;
	bh_qmp_field_set(r.text, sizeof(r.text), raw);
	bh_qmp_rec_encode(b, &r);
}

/* One datagram the direct way; 0 to go on, -1 where qmp_handle_input
 * would have closed QMP. */
static int direct(const uint8_t *buf, size_t len)
{
	enum qmp_state before = q.state;
	struct bh_qmp_rec r;
	int rc;

	if (bh_qmp_rec_parse(buf, len, &r) < 0) {
		CHECK(!ref_valid(buf, len));
		return -1;
	}
	CHECK(ref_valid(buf, len));
	check_parsed(buf, len, &r);
	rc = qmp_handle_record(&q, &r, "fuzz");
	check_daemon(before);
	CHECK(rc == 0 || rc == -EPROTO);
	if (rc == 0) {
		/* Taken: READY only from GREETING, the rest only in READY. */
		CHECK(r.kind != BH_QMP_BROKEN);
		CHECK(r.kind == BH_QMP_READY ? before == QMP_GREETING
					     : before == QMP_READY);
		CHECK(q.state == QMP_READY);
	} else {
		CHECK(r.kind == BH_QMP_BROKEN || r.kind == BH_QMP_READY ||
		      before != QMP_READY);
	}
	return rc;
}

/* One datagram through the socket and qmp_handle_input. */
static int via_socket(const uint8_t *buf, size_t len)
{
	enum qmp_state before = q.state;
	uint8_t junk[BH_QMP_REC_LEN + 2];
	struct bh_qmp_rec r;
	int parses = bh_qmp_rec_parse(buf, len, &r) == 0, rc;

	CHECK(parses == ref_valid(buf, len));
	CHECK(send(sv[0], buf, len, 0) == (ssize_t)len);
	if (len == 0 && before != QMP_CLOSED) {
		/* An empty datagram reads as the end of the link. */
		CHECK(qmp_handle_input(&q, "fuzz") == -ENOTCONN);
		CHECK(q.state == QMP_CLOSED);
		return -1;
	}
	rc = qmp_handle_input(&q, "fuzz");
	check_daemon(before);
	if (before == QMP_CLOSED) {
		CHECK(rc == -ENOTCONN);
		/* Not read: take it away. */
		CHECK(recv(sv[1], junk, sizeof(junk), 0) == (ssize_t)len);
		return -1;
	}
	CHECK(rc == 0 || rc == -EPROTO);
	CHECK((rc < 0) == (q.state == QMP_CLOSED));
	if (!parses)
		CHECK(rc == -EPROTO);
	if (rc == 0)
		CHECK(q.state == QMP_READY);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[BH_QMP_REC_LEN];
	size_t off;
	int sock;

	if (size < 1)
		return 0;
	sock = data[0] & 1;
	fuzz_qmp_daemon_init(sv[1]);
	if (data[0] & 4)
		q.state = QMP_READY;
	for (off = 1; off < size;) {
		size_t len = size - off < BH_QMP_REC_LEN ? size - off
							 : BH_QMP_REC_LEN;

		memcpy(buf, data + off, len);
		off += len;
		if ((data[0] & 2) && len == BH_QMP_REC_LEN)
			shape(buf);
		if (sock ? via_socket(buf, len) < 0 : direct(buf, len) < 0)
			break;
	}
	/* Commands go out only in READY. */
	if (q.state == QMP_READY) {
		CHECK(qmp_command(&q, "cont") == 0);
		CHECK(fuzz_drain(sv[0], NULL, 0) ==
		      strlen("{\"execute\":\"cont\"}\n"));
	} else {
		CHECK(qmp_command(&q, "cont") == -ENOTCONN);
		CHECK(qmp_getfd_tagged(&q, 1, "dp1", 0) == -ENOTCONN);
	}
	fuzz_drain(sv[0], NULL, 0);
	fuzz_drain(sv[1], NULL, 0);
	return 0;
}
