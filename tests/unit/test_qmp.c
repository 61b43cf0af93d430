/* Unit tests of the QMP path as it runs: the test plays QEMU on one end of
 * a stream socket pair; a struct qmp_filter (src/chan/qmp_filter.c, the
 * channel process's side) holds the other end and a seqpacket link to the
 * daemon; a struct qmp (src/daemon/engine/qmp.c, the daemon's side) holds
 * the link's other end. pump() runs both sides until nothing moves. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan/qmp_filter.h"
#include "daemon/engine/qmp.h"
#include "lib/util.h"
#include "proto/frame.h"
#include "proto/msg_qmp.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char greeting[] =
	"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n";
/* What QEMU 7.2 really sends. */
static const char real_greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
	"\"major\": 7}, \"package\": \"Debian 1:7.2\"}, "
	"\"capabilities\": [\"oob\"]}}\r\n";

struct seen {
	uint32_t tags[8];
	int oks[8];
	size_t n;
	char deleted[8][64];
	size_t ndel;
	int ready; /* on_ready calls */
};

struct fx {
	int qemu[2]; /* [0] the test as QEMU, [1] the filter's */
	int link[2]; /* [0] the filter's, [1] the daemon's */
	/* struct qmp_filter holds a 64 KiB line buffer: off the stack. */
	struct qmp_filter *qf;
	struct qmp *q;
	struct seen seen;
};

static void fx_open(struct fx *f)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    f->qemu),
			 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    f->link),
			 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(bh_set_nonblock(f->qemu[i], 1), 0);
		assert_int_equal(bh_set_nonblock(f->link[i], 1), 0);
	}
	memset(f->qf, 0xa5, sizeof(*f->qf));
	qmp_filter_init(f->qf, f->qemu[1], f->link[0]);
	memset(f->q, 0xa5, sizeof(*f->q));
	qmp_init(f->q, f->link[1]);
	memset(&f->seen, 0, sizeof(f->seen));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fx_close(struct fx *f)
{
	close_fd(&f->qemu[0]);
	close_fd(&f->qemu[1]);
	close_fd(&f->link[0]);
	close_fd(&f->link[1]);
}

/* A fresh QEMU, filter and daemon side. */
static void fx_reset(struct fx *f)
{
	fx_close(f);
	fx_open(f);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->qf = malloc(sizeof(*f->qf));
	f->q = malloc(sizeof(*f->q));
	if (!f->qf || !f->q)
		return -1;
	f->qemu[0] = f->qemu[1] = f->link[0] = f->link[1] = -1;
	fx_open(f);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	free(f->qf);
	free(f->q);
	free(f);
	return 0;
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Runs the filter and the daemon's side as the channel process's and the
 * daemon's poll loops would, until nothing moves; with daemon 0 the
 * daemon does not read. Returns the first non-zero result of
 * qmp_handle_input, or 0. */
static int pump_opt(struct fx *f, int daemon)
{
	int rc = 0, rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		int moved = 0;

		if (qmp_filter_qemu_readable(f->qf) && readable(f->qemu[1])) {
			qmp_filter_qemu_input(f->qf);
			moved = 1;
		}
		if (!f->qf->link_eof && readable(f->link[0])) {
			qmp_filter_link_input(f->qf);
			moved = 1;
		}
		if (f->qf->have_pending) {
			int before = f->qf->have_pending;

			qmp_filter_link_output(f->qf);
			moved |= before != f->qf->have_pending;
		}
		if (daemon && f->q->state != QMP_CLOSED &&
		    readable(f->link[1])) {
			int r = qmp_handle_input(f->q, "t");

			if (r && !rc)
				rc = r;
			moved = 1;
		}
		if (!moved)
			return rc;
	}
	fail_msg("pump never went quiet");
	return rc;
}

static int pump(struct fx *f)
{
	return pump_opt(f, 1);
}

static void qemu_says(struct fx *f, const char *text)
{
	assert_int_equal(bh_write_all(f->qemu[0], text, strlen(text)), 0);
}

/* Everything QEMU was sent so far (the socket is non-blocking). */
static size_t qemu_reads(struct fx *f, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(f->qemu[0], buf + n, cap - 1 - n);

		if (r <= 0) {
			assert_true(r < 0 && errno == EAGAIN);
			break;
		}
		n += (size_t)r;
		assert_true(n < cap - 1);
	}
	buf[n] = '\0';
	return n;
}

/* QEMU was sent exactly one line, a JSON object {"execute": name}. */
static void expect_command(struct fx *f, const char *name)
{
	char buf[4096];
	size_t n = qemu_reads(f, buf, sizeof(buf));
	json_error_t err;
	json_t *msg, *v;

	assert_true(n > 1);
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(memchr(buf, '\n', n), buf + n - 1);
	msg = json_loadb(buf, n - 1, 0, &err);
	assert_non_null(msg);
	assert_true(json_is_object(msg));
	v = json_object_get(msg, "execute");
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), name);
	assert_int_equal(json_object_size(msg), 1);
	json_decref(msg);
}

static void expect_silence(struct fx *f)
{
	char buf[16];

	assert_int_equal(qemu_reads(f, buf, sizeof(buf)), 0);
}

/* Greeting and capabilities: both sides end READY. */
static void negotiate(struct fx *f)
{
	assert_int_equal(f->q->state, QMP_GREETING);
	assert_int_equal(f->qf->state, QF_GREETING);
	qemu_says(f, greeting);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_NEGOTIATING);
	assert_int_equal(f->q->state, QMP_GREETING);
	expect_command(f, "qmp_capabilities");
	qemu_says(f, "{\"return\": {}}\n");
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_READY);
	assert_int_equal(f->q->state, QMP_READY);
	expect_silence(f);
}

/* QMP broken on both sides, nothing more goes to QEMU. */
static void expect_closed(struct fx *f)
{
	assert_int_equal(f->qf->state, QF_CLOSED);
	assert_false(qmp_filter_qemu_readable(f->qf));
	assert_int_equal(f->q->state, QMP_CLOSED);
	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
	expect_silence(f);
}

static void test_negotiation(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pump(f), 0); /* nothing yet */
	assert_int_equal(f->q->state, QMP_GREETING);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	expect_silence(f);
	negotiate(f);
	assert_string_equal(f->q->last_event, "");
	assert_string_equal(f->q->shutdown_reason, "");
	assert_string_equal(f->q->migration, "");
}

static void test_command_before_ready(void **state)
{
	struct fx *f = *state;
	static const char line[] = "{\"execute\":\"quit\"}\n";

	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	assert_int_equal(qmp_command_str(f->q, "migrate", "uri", "fd:x"),
			 -ENOTCONN);
	assert_int_equal(qmp_getfd(f->q, "x", 0), -ENOTCONN);
	/* A line on the link before READY (a daemon bug) is dropped. */
	assert_int_equal(send(f->link[1], line, strlen(line), 0),
			 (ssize_t)strlen(line));
	assert_int_equal(pump(f), 0);
	expect_silence(f);
	qemu_says(f, greeting);
	assert_int_equal(pump(f), 0);
	expect_command(f, "qmp_capabilities");
	assert_int_equal(f->qf->state, QF_NEGOTIATING);
	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	assert_int_equal(send(f->link[1], line, strlen(line), 0),
			 (ssize_t)strlen(line));
	assert_int_equal(pump(f), 0);
	expect_silence(f);
}

static void test_command(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	assert_int_equal(qmp_command(f->q, "quit"), 0);
	assert_int_equal(pump(f), 0);
	expect_command(f, "quit");
	assert_int_equal(qmp_command(f->q, "system_powerdown"), 0);
	assert_int_equal(pump(f), 0);
	expect_command(f, "system_powerdown");
	/* A reply keeps it ready. */
	qemu_says(f, "{\"return\": {}}\n");
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->q->state, QMP_READY);
	assert_int_equal(f->qf->state, QF_READY);
}

/* Two commands before the filter runs: two whole lines, in order. */
static void test_commands_in_order(void **state)
{
	struct fx *f = *state;
	char buf[256];

	negotiate(f);
	assert_int_equal(qmp_command(f->q, "stop"), 0);
	assert_int_equal(qmp_command(f->q, "cont"), 0);
	assert_int_equal(pump(f), 0);
	qemu_reads(f, buf, sizeof(buf));
	assert_string_equal(buf, "{\"execute\":\"stop\"}\n"
				 "{\"execute\":\"cont\"}\n");
	/* Malformed datagrams on the link (a daemon bug) are dropped: two
	 * lines in one, no newline, a newline inside. */
	static const char *const odd[] = {
		"{\"execute\":\"stop\"}\n{\"execute\":\"cont\"}\n",
		"{\"execute\":\"stop\"}",
		"{\"execute\":\n\"stop\"}",
	};
	for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
		assert_int_equal(send(f->link[1], odd[i], strlen(odd[i]), 0),
				 (ssize_t)strlen(odd[i]));
		assert_int_equal(pump(f), 0);
		expect_silence(f);
	}
	assert_int_equal(f->qf->state, QF_READY);
}

static void test_shutdown_event(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"timestamp\": {\"seconds\": 1700000000, "
		     "\"microseconds\": 123456}, \"event\": \"SHUTDOWN\", "
		     "\"data\": {\"guest\": true, \"reason\": "
		     "\"guest-shutdown\"}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "guest-shutdown");
	assert_int_equal(f->q->state, QMP_READY);
	/* Another event changes the name, not the reason. */
	qemu_says(f, "{\"event\": \"STOP\", \"timestamp\": {}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->last_event, "STOP");
	assert_string_equal(f->q->shutdown_reason, "guest-shutdown");
	expect_silence(f);
}

static void test_event_odd_data(void **state)
{
	struct fx *f = *state;
	char line[512];

	negotiate(f);
	/* A reason of another type, data not an object, no data: kept
	 * safe and ignored. */
	qemu_says(f, "{\"event\": \"SHUTDOWN\", \"data\": {\"reason\": 5}}\n"
		     "{\"event\": \"SHUTDOWN\", \"data\": [1]}\n"
		     "{\"event\": \"SHUTDOWN\", \"data\": \"x\"}\n"
		     "{\"event\": \"SHUTDOWN\"}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "");
	assert_int_equal(f->q->state, QMP_READY);

	/* Over-long names are cut, and stay terminated. */
	snprintf(line, sizeof(line),
		 "{\"event\": \"%0200d\", \"data\": {\"reason\": \"r\"}}\n", 7);
	qemu_says(f, line);
	assert_int_equal(pump(f), 0);
	assert_int_equal(strlen(f->q->last_event),
			 sizeof(f->q->last_event) - 1);
	snprintf(line, sizeof(line),
		 "{\"event\": \"SHUTDOWN\", \"data\": {\"reason\": "
		 "\"%0300d\"}}\n",
		 7);
	qemu_says(f, line);
	assert_int_equal(pump(f), 0);
	assert_int_equal(strlen(f->q->shutdown_reason),
			 sizeof(f->q->shutdown_reason) - 1);
	/* Control bytes and non-ASCII never reach the daemon as they are. */
	qemu_says(f, "{\"event\": \"A\\u001b[2J\\u00e9B\", \"data\": {}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->last_event, "A?[2J??B");
	assert_int_equal(f->q->state, QMP_READY);
}

static void test_error_reply(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		     "\"\\u001b[2Jnope\"}}\n"
		     "{\"error\": 5}\n"
		     "{\"error\": {\"desc\": 7}}\n");
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->q->state, QMP_READY);
	assert_int_equal(f->qf->state, QF_READY);
}

static void test_split_line(void **state)
{
	struct fx *f = *state;
	static const char ev[] = "{\"event\": \"SHUTDOWN\", \"data\": "
				 "{\"reason\": \"host-qmp-quit\"}}\n";
	size_t cut;

	/* The greeting in two pieces. */
	assert_int_equal(bh_write_all(f->qemu[0], real_greeting, 10), 0);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_GREETING);
	expect_silence(f);
	qemu_says(f, real_greeting + 10);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_NEGOTIATING);
	expect_command(f, "qmp_capabilities");
	/* The reply and half an event in one write, the rest in another. */
	qemu_says(f, "{\"return\": {}}\n{\"event\": \"SHUT");
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->q->state, QMP_READY);
	assert_string_equal(f->q->last_event, "");
	qemu_says(f, "DOWN\", \"data\": {\"reason\": \"guest-reset\"}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "guest-reset");

	/* Every cut point of one line. */
	for (cut = 1; cut < sizeof(ev) - 1; cut++) {
		f->q->shutdown_reason[0] = '\0';
		assert_int_equal(bh_write_all(f->qemu[0], ev, cut), 0);
		assert_int_equal(pump(f), 0);
		assert_string_equal(f->q->shutdown_reason, "");
		qemu_says(f, ev + cut);
		assert_int_equal(pump(f), 0);
		assert_string_equal(f->q->shutdown_reason, "host-qmp-quit");
	}
}

/* Bad in any state after the greeting. */
static const char *const bad_lines[] = {
	"[1,2]\n",
	"\"a string\"\n",
	"42\n",
	"null\n",
	"{\"event\": \n",
	"not json at all\n",
	"{\"event\": \"A\"} trailing\n",
	"{\"event\": \"A\"}{\"event\": \"B\"}\n",
	"\n",
	"{\"event\": 5}\n",
	"{\"event\": null}\n",
	"{\"event\": {\"name\": \"SHUTDOWN\"}}\n",
	"{\"event\": [\"SHUTDOWN\"]}\n",
	"{}\n",
	"{\"something\": \"else\"}\n",
	"{\"event\": \"A\\u0000B\"}\n",
};

static const char *const bad_greetings[] = {
	"{\"return\": {}}\n",
	"{\"QMP\": 1}\n",
	"{\"QMP\": \"hi\"}\n",
	"[\"QMP\"]\n",
	"{\"event\": \"SHUTDOWN\"}\n",
	"{\"greeting\": 1}\n",
};

/* qmp_filter_line itself: each bad line is a BROKEN record saying why. */
static void test_bad_lines(void **state)
{
	struct fx *f = *state;
	struct bh_qmp_rec rec;
	size_t i;
	int caps;

	for (i = 0; i < ARRAY_LEN(bad_lines); i++) {
		print_message("line %zu: %s", i, bad_lines[i]);
		f->qf->state = i % 2 ? QF_READY : QF_NEGOTIATING;
		caps = -1;
		assert_int_equal(qmp_filter_line(f->qf, bad_lines[i],
						 strlen(bad_lines[i]), &rec,
						 &caps),
				 -EPROTO);
		assert_int_equal(caps, 0);
		assert_int_equal(rec.kind, BH_QMP_BROKEN);
		assert_true(strlen(rec.text) > 0);
		assert_int_equal(f->qf->state, QF_CLOSED);
	}
	for (i = 0; i < ARRAY_LEN(bad_greetings); i++) {
		print_message("greeting %zu: %s", i, bad_greetings[i]);
		f->qf->state = QF_GREETING;
		caps = -1;
		assert_int_equal(qmp_filter_line(f->qf, bad_greetings[i],
						 strlen(bad_greetings[i]),
						 &rec, &caps),
				 -EPROTO);
		assert_int_equal(caps, 0);
		assert_int_equal(rec.kind, BH_QMP_BROKEN);
		assert_int_equal(f->qf->state, QF_CLOSED);
	}
	/* Once closed, even a good line is refused. */
	assert_int_equal(qmp_filter_line(f->qf, "{\"return\": {}}\n", 15, &rec,
					 &caps),
			 -EPROTO);
	assert_int_equal(rec.kind, BH_QMP_BROKEN);
	/* Nothing went to QEMU or the daemon. */
	assert_int_equal(pump(f), 0);
	expect_silence(f);
	assert_int_equal(f->q->state, QMP_GREETING);
}

/* Through the sockets, a bad line closes QMP for good on both sides. */
static void test_bad_line_closes(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad_lines); i++) {
		print_message("line %zu: %s", i, bad_lines[i]);
		fx_reset(f);
		negotiate(f);
		qemu_says(f, bad_lines[i]);
		assert_int_equal(pump(f), -EPROTO);
		expect_closed(f);
		/* Good input after it changes nothing. */
		qemu_says(f, "{\"event\": \"STOP\"}\n");
		assert_int_equal(pump(f), 0);
		expect_closed(f);
		assert_string_equal(f->q->last_event, "");
	}
	for (i = 0; i < ARRAY_LEN(bad_greetings); i++) {
		print_message("greeting %zu: %s", i, bad_greetings[i]);
		fx_reset(f);
		qemu_says(f, bad_greetings[i]);
		assert_int_equal(pump(f), -EPROTO);
		expect_closed(f); /* no qmp_capabilities either */
	}
}

/* Writes len bytes of `fill` (a newline at the end when nl) as QEMU while
 * both sides run, until all is written or the filter stops reading. */
static void feed_long(struct fx *f, const char *buf, size_t len)
{
	size_t off = 0;
	int rounds;

	for (rounds = 0; rounds < 100000 && off < len; rounds++) {
		ssize_t n = write(f->qemu[0], buf + off, len - off);

		assert_true(n > 0 || errno == EAGAIN);
		if (n > 0)
			off += (size_t)n;
		pump(f);
		if (f->qf->state == QF_CLOSED)
			break;
	}
	pump(f);
}

static void test_line_too_long(void **state)
{
	struct fx *f = *state;
	char *buf = malloc(QMP_FILTER_LINE_MAX);

	assert_non_null(buf);
	memset(buf, ' ', QMP_FILTER_LINE_MAX);
	negotiate(f);
	feed_long(f, buf, QMP_FILTER_LINE_MAX);
	expect_closed(f);
	free(buf);
}

static void test_line_at_limit(void **state)
{
	struct fx *f = *state;
	char *line = malloc(QMP_FILTER_LINE_MAX);
	static const char head[] = "{\"event\": \"BIG\", \"pad\": \"";

	/* Exactly QMP_FILTER_LINE_MAX bytes with its newline: accepted. */
	assert_non_null(line);
	memset(line, 'x', QMP_FILTER_LINE_MAX);
	memcpy(line, head, sizeof(head) - 1);
	memcpy(line + QMP_FILTER_LINE_MAX - 3, "\"}\n", 3);
	negotiate(f);
	feed_long(f, line, QMP_FILTER_LINE_MAX);
	assert_string_equal(f->q->last_event, "BIG");
	assert_int_equal(f->q->state, QMP_READY);
	assert_int_equal(f->qf->state, QF_READY);
	assert_int_equal(f->qf->in_len, 0);
	free(line);
}

/* QEMU ending closes the filter's QMP; the daemon learns it by reaping
 * QEMU, and its commands go nowhere. */
static void test_peer_close(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close_fd(&f->qemu[0]);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_CLOSED);
	assert_false(qmp_filter_qemu_readable(f->qf));
	assert_int_equal(qmp_command(f->q, "quit"), 0);
	assert_int_equal(pump(f), 0);
}

static void test_peer_close_mid_line(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"event\": \"SHUTDOWN\"");
	close_fd(&f->qemu[0]);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->qf->state, QF_CLOSED);
	/* The half line was never taken as an event. */
	assert_string_equal(f->q->last_event, "");
}

/* QEMU gone before the filter saw it: a command it cannot take breaks
 * QMP (SIGPIPE is ignored, the write fails). */
static void test_command_peer_gone(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close_fd(&f->qemu[0]);
	assert_int_equal(qmp_command(f->q, "quit"), 0);
	/* The link first, as if its POLLIN came before QEMU's POLLHUP. */
	qmp_filter_link_input(f->qf);
	assert_int_equal(f->qf->state, QF_CLOSED);
	assert_int_equal(pump(f), -EPROTO);
	assert_int_equal(f->q->state, QMP_CLOSED);
}

/* The channel process gone: the daemon's commands fail, its reads close. */
static void test_chan_gone(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close_fd(&f->link[0]);
	assert_true(qmp_command(f->q, "quit") < 0);
	assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
	assert_int_equal(f->q->state, QMP_CLOSED);
}

/* The daemon gone: the filter stops reading QEMU. */
static void test_daemon_gone(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close_fd(&f->link[1]);
	qmp_filter_link_input(f->qf);
	assert_true(f->qf->link_eof);
	assert_false(qmp_filter_qemu_readable(f->qf));
}

/* MIGRATION events: each status is kept, with a flag for the snapshot
 * code; odd data changes nothing. */
static void test_migration_event(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	assert_string_equal(f->q->migration, "");
	assert_int_equal(f->q->migration_changed, 0);
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		     "\"active\"}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->migration, "active");
	assert_int_equal(f->q->migration_changed, 1);
	f->q->migration_changed = 0;
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		     "\"completed\"}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->migration, "completed");
	assert_int_equal(f->q->migration_changed, 1);
	expect_silence(f);
}

/* Odd MIGRATION data. The old parser kept the last status when data had
 * none; a record cannot tell "no status" from "", so now the status
 * becomes "" and the flag is set: no status the snapshot code acts on. */
static void test_migration_odd(void **state)
{
	struct fx *f = *state;
	char line[256];

	negotiate(f);
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		     "\"active\"}}\n");
	assert_int_equal(pump(f), 0);
	f->q->migration_changed = 0;
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": 7}}\n");
	assert_int_equal(pump(f), 0);
	assert_string_equal(f->q->migration, "");
	snprintf(line, sizeof(line),
		 "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		 "\"%0100d\"}}\n",
		 7);
	qemu_says(f, line);
	assert_int_equal(pump(f), 0);
	assert_int_equal(strlen(f->q->migration), sizeof(f->q->migration) - 1);
	assert_int_equal(f->q->state, QMP_READY);
}

/* Open fds of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own */
}

/* Reads one line as QEMU, with the fd passed alongside (or -1). */
static json_t *read_command(struct fx *f, int *fd, char *text, size_t cap)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	json_error_t err;
	ssize_t n;

	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	n = recvmsg(f->qemu[0], &m, MSG_CMSG_CLOEXEC);
	assert_true(n > 1);
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(memchr(buf, '\n', (size_t)n), buf + n - 1);
	assert_int_equal(m.msg_flags & MSG_CTRUNC, 0);
	buf[n] = '\0';
	if (text) {
		assert_true((size_t)n < cap);
		memcpy(text, buf, (size_t)n + 1);
	}
	*fd = -1;
	c = CMSG_FIRSTHDR(&m);
	if (c) {
		assert_int_equal(c->cmsg_level, SOL_SOCKET);
		assert_int_equal(c->cmsg_type, SCM_RIGHTS);
		assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(int)));
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	return json_loadb(buf, (size_t)n - 1, 0, &err);
}

static void expect_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_true(sa.st_dev == sb.st_dev);
	assert_true(sa.st_ino == sb.st_ino);
}

/* A command with one argument, and getfd: the fd arrives at QEMU with
 * its line, and the filter keeps no copy. */
static void test_command_str_and_getfd(void **state)
{
	struct fx *f = *state;
	char text[512];
	int p[2], got = -1, fds;
	json_t *msg;

	negotiate(f);
	assert_int_equal(qmp_command_str(f->q, "migrate-incoming", "uri",
					 "fd:6"),
			 0);
	assert_int_equal(pump(f), 0);
	msg = read_command(f, &got, text, sizeof(text));
	json_decref(msg);
	assert_int_equal(got, -1);
	assert_string_equal(text, "{\"execute\":\"migrate-incoming\","
				  "\"arguments\":{\"uri\":\"fd:6\"}}\n");
	assert_int_equal(pipe(p), 0);
	fds = count_fds();
	assert_int_equal(qmp_getfd(f->q, "bhsnap", p[1]), 0);
	assert_int_equal(pump(f), 0);
	/* The filter closed the copy it received. */
	assert_int_equal(count_fds(), fds);
	msg = read_command(f, &got, text, sizeof(text));
	json_decref(msg);
	assert_string_equal(text, "{\"execute\":\"getfd\",\"arguments\":"
				  "{\"fdname\":\"bhsnap\"}}\n");
	assert_true(got >= 0);
	expect_same_file(got, p[1]);
	/* The fd passed is the pipe's write end: bytes reach p[0]. */
	assert_int_equal(write(got, "k", 1), 1);
	assert_int_equal(read(p[0], text, 1), 1);
	assert_int_equal(text[0], 'k');
	close(got);
	close(p[0]);
	close(p[1]);
	expect_silence(f);
}

/* ---- tagged commands for data ports ---- */

static void on_reply(void *ctx, uint32_t tag, int ok)
{
	struct seen *s = ctx;

	assert_true(s->n < ARRAY_LEN(s->tags));
	s->tags[s->n] = tag;
	s->oks[s->n++] = ok;
}

static void on_deleted(void *ctx, const char *id)
{
	struct seen *s = ctx;

	assert_true(s->ndel < ARRAY_LEN(s->deleted));
	snprintf(s->deleted[s->ndel++], sizeof(s->deleted[0]), "%s", id);
}

static void on_ready(void *ctx)
{
	struct seen *s = ctx;

	/* Commands go from here on (a re-attached qube's first ones). */
	s->ready++;
}

static void test_name_ok(void **state)
{
	(void)state;
	assert_true(qmp_name_ok("bulkhead.data.3"));
	assert_true(qmp_name_ok("dp12"));
	assert_false(qmp_name_ok(""));
	assert_false(qmp_name_ok(NULL));
	assert_false(qmp_name_ok("a,b"));
	assert_false(qmp_name_ok("a\"b"));
	assert_false(qmp_name_ok("A"));
	assert_false(qmp_name_ok("a b"));
	assert_false(qmp_name_ok("a?b"));
	assert_true(qmp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(qmp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_getfd_passes_fd(void **state)
{
	struct fx *f = *state;
	int p[2], got = -1, fds;
	json_t *msg;
	char c = 'x';

	negotiate(f);
	assert_int_equal(pipe(p), 0);
	fds = count_fds();
	assert_int_equal(qmp_getfd_tagged(f->q, 7, "dp1", p[1]), 0);
	assert_int_equal(pump(f), 0);
	assert_int_equal(count_fds(), fds);
	msg = read_command(f, &got, NULL, 0);
	assert_non_null(msg);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")),
			    "getfd");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(msg, "arguments"),
				    "fdname")),
			    "dp1");
	assert_int_equal(json_integer_value(json_object_get(msg, "id")), 7);
	json_decref(msg);
	/* The fd that arrived is the pipe's write end. */
	assert_true(got >= 0);
	expect_same_file(got, p[1]);
	assert_int_equal(write(got, &c, 1), 1);
	c = 0;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(got);
	close(p[0]);
	close(p[1]);
	/* Refused without writing anything: bad name, tag 0, no fd. */
	assert_int_equal(qmp_getfd_tagged(f->q, 8, "a,b", 0), -EINVAL);
	assert_int_equal(qmp_getfd_tagged(f->q, 0, "dp1", 0), -EINVAL);
	assert_int_equal(qmp_getfd_tagged(f->q, 8, "dp1", -1), -EINVAL);
	assert_int_equal(pump(f), 0);
	expect_silence(f);
}

/* A datagram with more than one fd (a daemon bug): dropped, fds closed. */
static void test_two_fds_dropped(void **state)
{
	struct fx *f = *state;
	static const char line[] = "{\"execute\":\"getfd\"}\n";
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} c;
	struct iovec iov = { (void *)line, sizeof(line) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int p[2], fds;

	negotiate(f);
	assert_int_equal(pipe(p), 0);
	fds = count_fds();
	memset(&c, 0, sizeof(c));
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(&c.h), p, sizeof(p));
	assert_int_equal(sendmsg(f->link[1], &m, 0), (ssize_t)sizeof(line) - 1);
	assert_int_equal(pump(f), 0);
	expect_silence(f);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(f->qf->state, QF_READY);
	close(p[0]);
	close(p[1]);
}

static void test_getfd_before_ready(void **state)
{
	struct fx *f = *state;

	assert_int_equal(qmp_getfd_tagged(f->q, 1, "dp1", 0), -ENOTCONN);
	assert_int_equal(pump(f), 0);
	expect_silence(f);
}

static void test_port_commands(void **state)
{
	struct fx *f = *state;
	json_t *msg, *a;
	int fd;

	negotiate(f);
	assert_int_equal(qmp_chardev_add_fd_tagged(f->q, 1, "dp1", "dp1"), 0);
	assert_int_equal(pump(f), 0);
	msg = read_command(f, &fd, NULL, 0);
	assert_int_equal(fd, -1);
	a = json_object_get(msg, "arguments");
	assert_string_equal(json_string_value(json_object_get(a, "id")), "dp1");
	a = json_object_get(json_object_get(a, "backend"), "data");
	/* QMP's socket chardev is a server unless told otherwise. */
	assert_true(json_is_false(json_object_get(a, "server")));
	a = json_object_get(a, "addr");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "fd");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(a, "data"), "str")),
			    "dp1");
	json_decref(msg);

	assert_int_equal(qmp_port_add_tagged(f->q, 2, "dpp1", "dp1",
					     "bulkhead.data.1"),
			 0);
	assert_int_equal(pump(f), 0);
	msg = read_command(f, &fd, NULL, 0);
	a = json_object_get(msg, "arguments");
	assert_string_equal(json_string_value(json_object_get(a, "driver")),
			    "virtserialport");
	assert_string_equal(json_string_value(json_object_get(a, "name")),
			    "bulkhead.data.1");
	assert_int_equal(json_integer_value(json_object_get(msg, "id")), 2);
	json_decref(msg);

	assert_int_equal(qmp_device_del_tagged(f->q, 3, "dpp1"), 0);
	assert_int_equal(pump(f), 0);
	msg = read_command(f, &fd, NULL, 0);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")),
			    "device_del");
	json_decref(msg);
	assert_int_equal(qmp_chardev_remove_tagged(f->q, 4, "dp1"), 0);
	assert_int_equal(pump(f), 0);
	msg = read_command(f, &fd, NULL, 0);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")),
			    "chardev-remove");
	json_decref(msg);
	assert_int_equal(qmp_port_add_tagged(f->q, 5, "dpp1", "dp1", "x y"),
			 -EINVAL);
	assert_int_equal(pump(f), 0);
	expect_silence(f);
}

static void test_tagged_replies(void **state)
{
	struct fx *f = *state;
	struct seen *s = &f->seen;

	f->q->on_reply = on_reply;
	f->q->on_device_deleted = on_deleted;
	f->q->on_ready = on_ready;
	f->q->ctx = s;
	negotiate(f);
	/* The capabilities reply carried no tag and reached nobody; READY
	 * was told once. */
	assert_int_equal(s->n, 0);
	assert_int_equal(s->ready, 1);
	qemu_says(f, "{\"return\": {}, \"id\": 5}\n"
		     "{\"error\": {\"class\": \"GenericError\", "
		     "\"desc\": \"Chardev 'dp1' is busy\"}, \"id\": 6}\n"
		     "{\"return\": {}}\n"
		     "{\"return\": {}, \"id\": 0}\n"
		     "{\"return\": {}, \"id\": -1}\n"
		     "{\"return\": {}, \"id\": 4294967296}\n"
		     "{\"return\": {}, \"id\": \"5\"}\n"
		     "{\"return\": {}, \"id\": 1.0}\n"
		     "{\"error\": {}, \"id\": 0}\n"
		     "{\"return\": {}, \"id\": 4294967295}\n");
	assert_int_equal(pump(f), 0);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->tags[0], 5);
	assert_int_equal(s->oks[0], 1);
	assert_int_equal(s->tags[1], 6);
	assert_int_equal(s->oks[1], 0);
	assert_int_equal(s->tags[2], 4294967295u);
	assert_int_equal(s->oks[2], 1);
	qemu_says(f, "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": \"dpp1\", \"path\": \"/machine/x\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"path\": \"/machine/y\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": \"Evil,id\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": \"a\\nb\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": 3}}\n");
	assert_int_equal(pump(f), 0);
	assert_int_equal(s->ndel, 1);
	assert_string_equal(s->deleted[0], "dpp1");
	assert_int_equal(f->q->state, QMP_READY);
	assert_int_equal(s->ready, 1);
}

/* ---- the records themselves (a channel process may be compromised) ---- */

static void rec_bytes(uint8_t out[BH_QMP_REC_LEN], uint32_t kind,
		      const char *name, const char *arg, const char *text)
{
	struct bh_qmp_rec r = { .kind = kind };

	bh_qmp_field_set(r.name, sizeof(r.name), name);
	bh_qmp_field_set(r.arg, sizeof(r.arg), arg);
	bh_qmp_field_set(r.text, sizeof(r.text), text);
	bh_qmp_rec_encode(out, &r);
}

static void expect_refused(const uint8_t *buf, size_t len)
{
	struct bh_qmp_rec r;

	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(bh_qmp_rec_parse(buf, len, &r), -EPROTO);
}

static void test_rec_parse(void **state)
{
	static const size_t field_off[3] = {
		12, 12 + BH_QMP_NAME_MAX, 12 + BH_QMP_NAME_MAX + BH_QMP_ARG_MAX
	};
	static const size_t field_len[3] = { BH_QMP_NAME_MAX, BH_QMP_ARG_MAX,
					     BH_QMP_TEXT_MAX };
	uint8_t good[BH_QMP_REC_LEN + 1], b[BH_QMP_REC_LEN + 1];
	struct bh_qmp_rec r;
	size_t i;

	(void)state;
	assert_int_equal(BH_QMP_REC_LEN, 268);
	rec_bytes(good, BH_QMP_EVENT, "SHUTDOWN", "guest-shutdown", "");
	good[BH_QMP_REC_LEN] = 0;
	assert_int_equal(bh_qmp_rec_parse(good, BH_QMP_REC_LEN, &r), 0);
	assert_int_equal(r.kind, BH_QMP_EVENT);
	assert_string_equal(r.name, "SHUTDOWN");
	assert_string_equal(r.arg, "guest-shutdown");
	assert_string_equal(r.text, "");
	/* Every kind, ok 0 and 1, any tag. */
	for (i = BH_QMP_READY; i <= BH_QMP_BROKEN; i++) {
		memcpy(b, good, sizeof(good));
		bh_put_u32(b, (uint32_t)i);
		bh_put_u32(b + 4, 0xffffffffu);
		bh_put_u32(b + 8, i & 1);
		assert_int_equal(bh_qmp_rec_parse(b, BH_QMP_REC_LEN, &r), 0);
		assert_int_equal(r.tag, 0xffffffffu);
		assert_int_equal(r.ok, i & 1);
	}
	/* Wrong length. */
	expect_refused(good, 0);
	expect_refused(good, 12);
	expect_refused(good, BH_QMP_REC_LEN - 1);
	expect_refused(good, BH_QMP_REC_LEN + 1);
	/* Unknown kind. */
	static const uint32_t kinds[] = { 0, 5, 0x100, 0x80000001u,
					  0xffffffffu };
	for (i = 0; i < ARRAY_LEN(kinds); i++) {
		memcpy(b, good, sizeof(good));
		bh_put_u32(b, kinds[i]);
		expect_refused(b, BH_QMP_REC_LEN);
	}
	/* ok > 1. */
	static const uint32_t oks[] = { 2, 0x100, 0xffffffffu };
	for (i = 0; i < ARRAY_LEN(oks); i++) {
		memcpy(b, good, sizeof(good));
		bh_put_u32(b + 8, oks[i]);
		expect_refused(b, BH_QMP_REC_LEN);
	}
	for (i = 0; i < 3; i++) {
		size_t o = field_off[i], n = field_len[i];

		print_message("field %zu\n", i);
		/* No NUL: all printable. */
		memcpy(b, good, sizeof(good));
		memset(b + o, 'a', n);
		expect_refused(b, BH_QMP_REC_LEN);
		/* NUL only in the next field's first byte does not count. */
		memcpy(b, good, sizeof(good));
		memset(b + o, 'a', n);
		b[o + n] = 0;
		expect_refused(b, BH_QMP_REC_LEN);
		/* The longest that fits: n - 1 bytes and its NUL. */
		memcpy(b, good, sizeof(good));
		memset(b + o, 'a', n - 1);
		b[o + n - 1] = 0;
		assert_int_equal(bh_qmp_rec_parse(b, BH_QMP_REC_LEN, &r), 0);
		/* A byte that is not printable ASCII, first or later. */
		static const uint8_t odd[] = { 0x01, 0x0a, 0x1b, 0x1f,
					       0x7f, 0x80, 0xc3, 0xff };
		for (size_t k = 0; k < ARRAY_LEN(odd); k++) {
			memcpy(b, good, sizeof(good));
			b[o] = odd[k];
			expect_refused(b, BH_QMP_REC_LEN);
			memcpy(b, good, sizeof(good));
			memcpy(b + o, "ab", 2);
			b[o + 2] = odd[k];
			b[o + 3] = 0;
			expect_refused(b, BH_QMP_REC_LEN);
		}
		/* Bytes after the NUL: next to it, and at the field's end. */
		memcpy(b, good, sizeof(good));
		memcpy(b + o, "ab\0c", 4);
		expect_refused(b, BH_QMP_REC_LEN);
		memcpy(b, good, sizeof(good));
		b[o + n - 1] = 'z';
		expect_refused(b, BH_QMP_REC_LEN);
		memcpy(b, good, sizeof(good));
		b[o + n - 1] = 0x80;
		expect_refused(b, BH_QMP_REC_LEN);
	}
}

/* bh_qmp_field_set: printable only, cut, NUL-padded; what it makes
 * always parses. */
static void test_field_set(void **state)
{
	char buf[8], big[300];
	uint8_t b[BH_QMP_REC_LEN];
	struct bh_qmp_rec r;
	int i;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	bh_qmp_field_set(buf, sizeof(buf), "a\x01\x7f\xff" "bcdefgh");
	assert_memory_equal(buf, "a???bcd", 8);
	bh_qmp_field_set(buf, sizeof(buf), "ab");
	assert_memory_equal(buf, "ab\0\0\0\0\0\0", 8);
	for (i = 0; i < (int)sizeof(big) - 1; i++)
		big[i] = (char)(i % 255 + 1);
	big[sizeof(big) - 1] = 0;
	rec_bytes(b, BH_QMP_REPLY, big, big, big);
	assert_int_equal(bh_qmp_rec_parse(b, sizeof(b), &r), 0);
	assert_int_equal(strlen(r.text), BH_QMP_TEXT_MAX - 1);
}

/* Sends raw bytes on the link as the channel process. */
static void chan_sends(struct fx *f, const void *buf, size_t len)
{
	assert_int_equal(send(f->link[0], buf, len, 0), (ssize_t)len);
}

static void chan_sends_rec(struct fx *f, uint32_t kind, uint32_t tag,
			   uint32_t ok, const char *name, const char *arg)
{
	uint8_t b[BH_QMP_REC_LEN];

	rec_bytes(b, kind, name, arg, "t");
	bh_put_u32(b + 4, tag);
	bh_put_u32(b + 8, ok);
	chan_sends(f, b, sizeof(b));
}

static void test_record_before_ready(void **state)
{
	struct fx *f = *state;
	struct seen *s = &f->seen;
	uint32_t kind;

	for (kind = BH_QMP_EVENT; kind <= BH_QMP_REPLY; kind++) {
		print_message("kind %u\n", kind);
		fx_reset(f);
		f->q->on_reply = on_reply;
		f->q->on_device_deleted = on_deleted;
		f->q->ctx = s;
		chan_sends_rec(f, kind, 5, 1, "DEVICE_DELETED", "dpp1");
		assert_int_equal(qmp_handle_input(f->q, "t"), -EPROTO);
		assert_int_equal(f->q->state, QMP_CLOSED);
		assert_int_equal(s->n, 0);
		assert_int_equal(s->ndel, 0);
		assert_string_equal(f->q->last_event, "");
		/* READY after it changes nothing. */
		chan_sends_rec(f, BH_QMP_READY, 0, 0, "", "");
		assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
		assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	}
	/* READY twice. */
	fx_reset(f);
	chan_sends_rec(f, BH_QMP_READY, 0, 0, "", "");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_READY);
	chan_sends_rec(f, BH_QMP_READY, 0, 0, "", "");
	assert_int_equal(qmp_handle_input(f->q, "t"), -EPROTO);
	assert_int_equal(f->q->state, QMP_CLOSED);
	/* BROKEN in any state closes. */
	fx_reset(f);
	chan_sends_rec(f, BH_QMP_BROKEN, 0, 0, "", "");
	assert_int_equal(qmp_handle_input(f->q, "t"), -EPROTO);
	assert_int_equal(f->q->state, QMP_CLOSED);
	/* A malformed datagram closes: short, long, empty kind. */
	static const size_t lens[] = { 1, BH_QMP_REC_LEN - 1,
				       BH_QMP_REC_LEN + 1 };
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		uint8_t b[BH_QMP_REC_LEN + 1];

		fx_reset(f);
		chan_sends_rec(f, BH_QMP_READY, 0, 0, "", "");
		rec_bytes(b, BH_QMP_EVENT, "STOP", "", "");
		b[BH_QMP_REC_LEN] = 0;
		chan_sends(f, b, lens[i]);
		assert_int_equal(qmp_handle_input(f->q, "t"), -EPROTO);
		assert_int_equal(f->q->state, QMP_CLOSED);
		assert_string_equal(f->q->last_event, "");
	}
	/* Through the filter: QEMU's event during negotiation (QEMU sends
	 * none then) ends QMP at the daemon. */
	fx_reset(f);
	qemu_says(f, greeting);
	qemu_says(f, "{\"event\": \"STOP\"}\n");
	assert_int_equal(pump(f), -EPROTO);
	assert_int_equal(f->q->state, QMP_CLOSED);
	expect_command(f, "qmp_capabilities");
}

/* Counts DEVICE_DELETED ids d0, d1, ... as they come. */
static size_t seq_next;
static int seq_in_order;

static void on_seq(void *ctx, const char *id)
{
	char want[32];

	(void)ctx;
	snprintf(want, sizeof(want), "d%zu", seq_next++);
	if (strcmp(id, want))
		seq_in_order = 0;
}

/* QEMU's side of a flood: lines d0, d1, ... written as far as its
 * socket takes them. */
struct flood {
	char *text;
	size_t len, off;
	size_t lines;
};

static void flood_make(struct flood *fl, size_t lines)
{
	size_t cap = lines * 80, i;

	fl->text = malloc(cap);
	assert_non_null(fl->text);
	fl->len = fl->off = 0;
	fl->lines = lines;
	for (i = 0; i < lines; i++)
		fl->len += (size_t)snprintf(fl->text + fl->len, cap - fl->len,
					    "{\"event\": \"DEVICE_DELETED\", "
					    "\"data\": {\"device\": \"d%zu\"}}\n",
					    i);
	assert_true(fl->len < cap);
}

/* Writes what the socket takes; 1 when it took all, 0 when it is full. */
static int flood_write(struct fx *f, struct flood *fl)
{
	while (fl->off < fl->len) {
		ssize_t w = write(f->qemu[0], fl->text + fl->off,
				  fl->len - fl->off);

		if (w < 0) {
			assert_int_equal(errno, EAGAIN);
			return 0;
		}
		fl->off += (size_t)w;
	}
	return 1;
}

/* A QEMU that floods events while the daemon does not read: the filter
 * stops reading QEMU once the link is full (have_pending), so its memory
 * stays its one line buffer and QEMU's writes block; once the daemon
 * reads again, every event arrives, in order, and QMP stays up. */
static void test_flood_back_pressure(void **state)
{
	struct fx *f = *state;
	struct flood fl;
	int rounds;

	/* Far more than the filter's line buffer and QEMU's socket. */
	flood_make(&fl, 40000);
	negotiate(f);
	f->q->on_device_deleted = on_seq;
	seq_next = 0;
	seq_in_order = 1;
	/* QEMU writes until its socket is full; the filter runs, the
	 * daemon does not. */
	for (rounds = 0; rounds < 1000; rounds++) {
		assert_int_equal(flood_write(f, &fl), 0);
		pump_opt(f, 0);
		if (f->qf->have_pending && readable(f->qemu[1]) &&
		    flood_write(f, &fl) == 0)
			break;
	}
	print_message("%zu bytes written before QEMU blocked\n", fl.off);
	assert_true(f->qf->have_pending);
	assert_false(qmp_filter_qemu_readable(f->qf));
	assert_int_equal(f->qf->state, QF_READY);
	assert_int_equal(seq_next, 0);
	assert_true(fl.off > QMP_FILTER_LINE_MAX);
	/* The daemon reads again, QEMU writes the rest. */
	for (rounds = 0; rounds < 100000 && !flood_write(f, &fl); rounds++)
		assert_int_equal(pump(f), 0);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->q->state, QMP_READY);
	assert_int_equal(f->qf->state, QF_READY);
	assert_true(seq_in_order);
	assert_int_equal(seq_next, fl.lines);
	assert_int_equal(f->qf->in_len, 0);
	free(fl.text);
}

/* A burst the link cannot take at once, then QEMU falls silent: the
 * lines left in the filter's buffer still reach the daemon. */
static void test_burst_then_silence(void **state)
{
	struct fx *f = *state;
	struct flood fl;

	flood_make(&fl, 600);
	negotiate(f);
	f->q->on_device_deleted = on_seq;
	seq_next = 0;
	seq_in_order = 1;
	assert_int_equal(flood_write(f, &fl), 1);
	pump_opt(f, 0);
	assert_true(f->qf->have_pending);
	assert_int_equal(pump(f), 0);
	assert_true(seq_in_order);
	assert_int_equal(seq_next, fl.lines);
	assert_int_equal(f->qf->in_len, 0);
	free(fl.text);
}

/* The daemon takes one record at a time while QEMU floods: each time the
 * filter's pending record goes, it reads QEMU again and fills its buffer
 * with whole lines while the link is full again at once. A full buffer
 * of lines waiting for the daemon is no line over 64 KiB: QMP stays up. */
static void test_flood_one_by_one(void **state)
{
	struct fx *f = *state;
	uint8_t rec[BH_QMP_REC_LEN];
	struct flood fl;
	int i;

	flood_make(&fl, 40000);
	negotiate(f);
	f->q->on_device_deleted = on_seq;
	seq_next = 0;
	seq_in_order = 1;
	flood_write(f, &fl);
	pump_opt(f, 0);
	assert_true(f->qf->have_pending);
	for (i = 0; i < 20; i++) {
		flood_write(f, &fl);
		/* The daemon's side takes one record. */
		assert_int_equal(recv(f->link[1], rec, sizeof(rec), 0),
				 (ssize_t)sizeof(rec));
		qmp_filter_link_output(f->qf);
		if (qmp_filter_qemu_readable(f->qf) && readable(f->qemu[1]))
			qmp_filter_qemu_input(f->qf);
		assert_int_equal(f->qf->state, QF_READY);
		assert_true(f->qf->have_pending);
	}
	free(fl.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_negotiation),
		T(test_command_before_ready),
		T(test_command),
		T(test_commands_in_order),
		T(test_shutdown_event),
		T(test_event_odd_data),
		T(test_error_reply),
		T(test_split_line),
		T(test_bad_lines),
		T(test_bad_line_closes),
		T(test_line_too_long),
		T(test_line_at_limit),
		T(test_peer_close),
		T(test_peer_close_mid_line),
		T(test_command_peer_gone),
		T(test_chan_gone),
		T(test_daemon_gone),
		T(test_migration_event),
		T(test_migration_odd),
		T(test_command_str_and_getfd),
		T(test_name_ok),
		T(test_getfd_passes_fd),
		T(test_two_fds_dropped),
		T(test_getfd_before_ready),
		T(test_port_commands),
		T(test_tagged_replies),
		T(test_rec_parse),
		T(test_field_set),
		T(test_record_before_ready),
		T(test_flood_back_pressure),
		T(test_burst_then_silence),
		T(test_flood_one_by_one),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
