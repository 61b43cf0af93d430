/* Unit tests of src/daemon/engine/qmp.c over a socket pair: `q` works on sv[0] as
 * the daemon does, the test plays QEMU on sv[1]. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/engine/qmp.h"
#include "lib/util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char greeting[] =
	"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n";
/* What QEMU 7.2 really sends. */
static const char real_greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
	"\"major\": 7}, \"package\": \"Debian 1:7.2\"}, "
	"\"capabilities\": [\"oob\"]}}\r\n";

struct fx {
	int sv[2];
	/* struct qmp holds a 64 KiB line buffer: keep it off the stack. */
	struct qmp *q;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv) < 0)
		return -1;
	if (bh_set_nonblock(f->sv[0], 1) < 0 ||
	    bh_set_nonblock(f->sv[1], 1) < 0)
		return -1;
	f->q = malloc(sizeof(*f->q));
	if (!f->q)
		return -1;
	memset(f->q, 0xa5, sizeof(*f->q));
	qmp_init(f->q, f->sv[0]);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->sv[0] >= 0)
		close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	free(f->q);
	free(f);
	return 0;
}

static void qemu_says(struct fx *f, const char *text)
{
	assert_int_equal(bh_write_all(f->sv[1], text, strlen(text)), 0);
}

/* Everything the client wrote so far (the socket is non-blocking). */
static size_t qemu_reads(struct fx *f, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(f->sv[1], buf + n, cap - 1 - n);

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

/* The client wrote exactly one line, a JSON object {"execute": name}. */
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

/* Greeting and capabilities: the client ends READY. */
static void negotiate(struct fx *f)
{
	assert_int_equal(f->q->state, QMP_GREETING);
	qemu_says(f, greeting);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_NEGOTIATING);
	expect_command(f, "qmp_capabilities");
	qemu_says(f, "{\"return\": {}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_READY);
	expect_silence(f);
}

static void test_negotiation(void **state)
{
	struct fx *f = *state;

	assert_int_equal(qmp_handle_input(f->q, "t"), 0); /* nothing yet */
	assert_int_equal(f->q->state, QMP_GREETING);
	expect_silence(f);
	negotiate(f);
	assert_string_equal(f->q->last_event, "");
	assert_string_equal(f->q->shutdown_reason, "");
}

static void test_command_before_ready(void **state)
{
	struct fx *f = *state;

	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	expect_silence(f);
	qemu_says(f, greeting);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	expect_command(f, "qmp_capabilities");
	assert_int_equal(f->q->state, QMP_NEGOTIATING);
	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	expect_silence(f);
}

static void test_command(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	assert_int_equal(qmp_command(f->q, "quit"), 0);
	expect_command(f, "quit");
	assert_int_equal(qmp_command(f->q, "system_powerdown"), 0);
	expect_command(f, "system_powerdown");
	/* A reply keeps it ready. */
	qemu_says(f, "{\"return\": {}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_READY);
}

static void test_shutdown_event(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"timestamp\": {\"seconds\": 1700000000, "
		     "\"microseconds\": 123456}, \"event\": \"SHUTDOWN\", "
		     "\"data\": {\"guest\": true, \"reason\": "
		     "\"guest-shutdown\"}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "guest-shutdown");
	assert_int_equal(f->q->state, QMP_READY);
	/* Another event changes the name, not the reason. */
	qemu_says(f, "{\"event\": \"STOP\", \"timestamp\": {}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
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
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "");
	assert_int_equal(f->q->state, QMP_READY);

	/* Over-long names are cut, and stay terminated. */
	snprintf(line, sizeof(line),
		 "{\"event\": \"%0200d\", \"data\": {\"reason\": \"r\"}}\n", 7);
	qemu_says(f, line);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(strlen(f->q->last_event),
			 sizeof(f->q->last_event) - 1);
	snprintf(line, sizeof(line),
		 "{\"event\": \"SHUTDOWN\", \"data\": {\"reason\": "
		 "\"%0300d\"}}\n",
		 7);
	qemu_says(f, line);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(strlen(f->q->shutdown_reason),
			 sizeof(f->q->shutdown_reason) - 1);
}

static void test_error_reply(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		     "\"\\u001b[2Jnope\"}}\n"
		     "{\"error\": 5}\n"
		     "{\"error\": {\"desc\": 7}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_READY);
}

static void test_split_line(void **state)
{
	struct fx *f = *state;
	static const char ev[] = "{\"event\": \"SHUTDOWN\", \"data\": "
				 "{\"reason\": \"host-qmp-quit\"}}\n";
	size_t cut;

	/* The greeting in two pieces. */
	assert_int_equal(bh_write_all(f->sv[1], real_greeting, 10), 0);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_GREETING);
	expect_silence(f);
	qemu_says(f, real_greeting + 10);
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_NEGOTIATING);
	expect_command(f, "qmp_capabilities");
	/* The reply and half an event in one write, the rest in another. */
	qemu_says(f, "{\"return\": {}}\n{\"event\": \"SHUT");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(f->q->state, QMP_READY);
	assert_string_equal(f->q->last_event, "");
	qemu_says(f, "DOWN\", \"data\": {\"reason\": \"guest-reset\"}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->last_event, "SHUTDOWN");
	assert_string_equal(f->q->shutdown_reason, "guest-reset");

	/* Every cut point of one line. */
	for (cut = 1; cut < sizeof(ev) - 1; cut++) {
		f->q->shutdown_reason[0] = '\0';
		assert_int_equal(bh_write_all(f->sv[1], ev, cut), 0);
		assert_int_equal(qmp_handle_input(f->q, "t"), 0);
		assert_string_equal(f->q->shutdown_reason, "");
		qemu_says(f, ev + cut);
		assert_int_equal(qmp_handle_input(f->q, "t"), 0);
		assert_string_equal(f->q->shutdown_reason, "host-qmp-quit");
	}
}

static void test_bad_lines(void **state)
{
	struct fx *f = *state;
	/* Bad in any state. */
	static const char *const bad[] = {
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
	size_t i;

	negotiate(f);
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		print_message("line %zu: %s", i, bad[i]);
		f->q->state = QMP_READY;
		assert_true(qmp_handle_line(f->q, bad[i], strlen(bad[i]),
					    "t") < 0);
		/* Nothing was sent back to QEMU. */
		expect_silence(f);
	}
	/* A bad greeting. */
	static const char *const bad_greeting[] = {
		"{\"return\": {}}\n",
		"{\"QMP\": 1}\n",
		"{\"QMP\": \"hi\"}\n",
		"[\"QMP\"]\n",
		"{\"event\": \"SHUTDOWN\"}\n",
	};
	for (i = 0; i < ARRAY_LEN(bad_greeting); i++) {
		print_message("greeting %zu: %s", i, bad_greeting[i]);
		f->q->state = QMP_GREETING;
		assert_true(qmp_handle_line(f->q, bad_greeting[i],
					    strlen(bad_greeting[i]), "t") < 0);
		expect_silence(f);
		assert_int_equal(f->q->state, QMP_GREETING);
	}
}

/* Through qmp_handle_input, a bad line closes the connection for good. */
static void test_bad_line_closes(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"[1,2]\n",
		"{\"event\": \n",
		"{\"event\": 5}\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		print_message("line %zu: %s", i, bad[i]);
		qmp_init(f->q, f->sv[0]);
		negotiate(f);
		qemu_says(f, bad[i]);
		assert_true(qmp_handle_input(f->q, "t") < 0);
		assert_int_equal(f->q->state, QMP_CLOSED);
		assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
		expect_silence(f);
		/* Good input after it changes nothing. */
		qemu_says(f, "{\"return\": {}}\n");
		assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
		assert_int_equal(f->q->state, QMP_CLOSED);
		/* Drain what the closed client left unread. */
		char junk[256];

		while (read(f->sv[0], junk, sizeof(junk)) > 0)
			;
	}
	/* A bad greeting too. */
	qmp_init(f->q, f->sv[0]);
	qemu_says(f, "{\"greeting\": 1}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), -EPROTO);
	assert_int_equal(f->q->state, QMP_CLOSED);
	expect_silence(f);
}

/* Writes len bytes of `fill` (newline at the end when nl) while the client
 * reads; returns the first non-zero qmp_handle_input result, or 0. */
static int feed_long(struct fx *f, size_t len, int nl, char fill)
{
	char *buf = malloc(len);
	size_t off = 0;
	int r = 0, rounds;

	assert_non_null(buf);
	memset(buf, fill, len);
	if (nl)
		buf[len - 1] = '\n';
	for (rounds = 0; rounds < 100000 && r == 0; rounds++) {
		if (off < len) {
			ssize_t n = write(f->sv[1], buf + off, len - off);

			assert_true(n > 0 || errno == EAGAIN);
			if (n > 0)
				off += (size_t)n;
		}
		r = qmp_handle_input(f->q, "t");
		if (off == len && r == 0) {
			/* All written; one more read takes the rest. */
			struct pollfd p = { .fd = f->sv[0], .events = POLLIN };

			if (poll(&p, 1, 0) == 0)
				break;
		}
	}
	free(buf);
	return r;
}

static void test_line_too_long(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	assert_int_equal(feed_long(f, QMP_LINE_MAX, 0, ' '), -EMSGSIZE);
	assert_int_equal(f->q->state, QMP_CLOSED);
	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
}

static void test_line_at_limit(void **state)
{
	struct fx *f = *state;
	char *line = malloc(QMP_LINE_MAX);
	static const char head[] = "{\"event\": \"BIG\", \"pad\": \"";
	size_t off = 0;
	int r = 0, rounds;

	/* Exactly QMP_LINE_MAX bytes with its newline: still accepted. */
	assert_non_null(line);
	memset(line, 'x', QMP_LINE_MAX);
	memcpy(line, head, sizeof(head) - 1);
	memcpy(line + QMP_LINE_MAX - 3, "\"}\n", 3);
	negotiate(f);
	for (rounds = 0; rounds < 100000; rounds++) {
		if (off < QMP_LINE_MAX) {
			ssize_t n = write(f->sv[1], line + off,
					  QMP_LINE_MAX - off);

			assert_true(n > 0 || errno == EAGAIN);
			if (n > 0)
				off += (size_t)n;
		}
		r = qmp_handle_input(f->q, "t");
		assert_int_equal(r, 0);
		if (!strcmp(f->q->last_event, "BIG"))
			break;
	}
	assert_string_equal(f->q->last_event, "BIG");
	assert_int_equal(f->q->state, QMP_READY);
	free(line);
}

static void test_peer_close(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
	assert_int_equal(f->q->state, QMP_CLOSED);
	assert_int_equal(qmp_command(f->q, "quit"), -ENOTCONN);
	assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
}

static void test_peer_close_mid_line(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	qemu_says(f, "{\"event\": \"SHUTDOWN\"");
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(qmp_handle_input(f->q, "t"), -ENOTCONN);
	assert_int_equal(f->q->state, QMP_CLOSED);
	/* The half line was never taken as an event. */
	assert_string_equal(f->q->last_event, "");
}

static void test_command_peer_gone(void **state)
{
	struct fx *f = *state;

	negotiate(f);
	close(f->sv[1]);
	f->sv[1] = -1;
	/* SIGPIPE is ignored: the write fails instead of killing us. */
	assert_true(qmp_command(f->q, "quit") < 0);
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
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->migration, "active");
	assert_int_equal(f->q->migration_changed, 1);
	f->q->migration_changed = 0;
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": 7}}\n"
		     "{\"event\": \"MIGRATION\"}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->migration, "active");
	assert_int_equal(f->q->migration_changed, 0);
	qemu_says(f, "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		     "\"completed\"}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_string_equal(f->q->migration, "completed");
	assert_int_equal(f->q->migration_changed, 1);
	expect_silence(f);
}

/* A command with one argument, and getfd: the fd arrives with the line. */
static void test_command_str_and_getfd(void **state)
{
	struct fx *f = *state;
	char buf[512], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	int p[2], got = -1;
	ssize_t n;

	assert_int_equal(qmp_command_str(f->q, "migrate", "uri", "fd:x"),
			 -ENOTCONN);
	negotiate(f);
	assert_int_equal(qmp_command_str(f->q, "migrate-incoming", "uri",
					 "fd:6"),
			 0);
	n = read(f->sv[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"execute\":\"migrate-incoming\","
				 "\"arguments\":{\"uri\":\"fd:6\"}}\n");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(qmp_getfd(f->q, "bhsnap", p[1]), 0);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	n = recvmsg(f->sv[1], &m, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"execute\":\"getfd\",\"arguments\":"
				 "{\"fdname\":\"bhsnap\"}}\n");
	c = CMSG_FIRSTHDR(&m);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(c), sizeof(int));
	/* The fd passed is the pipe's write end: bytes reach p[0]. */
	assert_int_equal(write(got, "k", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(buf[0], 'k');
	close(got);
	close(p[0]);
	close(p[1]);
}

/* ---- tagged commands for data ports ---- */

struct seen {
	uint32_t tags[8];
	int oks[8];
	size_t n;
	char deleted[8][64];
	size_t ndel;
};

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

/* Reads one line from QEMU's end, with the fd passed alongside (or -1). */
static json_t *read_command(struct fx *f, int *fd)
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
	n = recvmsg(f->sv[1], &m, 0);
	assert_true(n > 1);
	assert_int_equal(buf[n - 1], '\n');
	*fd = -1;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return json_loadb(buf, (size_t)n - 1, 0, &err);
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
	assert_true(qmp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(qmp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_getfd_passes_fd(void **state)
{
	struct fx *f = *state;
	int p[2], got = -1;
	json_t *msg;
	char c = 'x';

	negotiate(f);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(qmp_getfd_tagged(f->q, 7, "dp1", p[1]), 0);
	msg = read_command(f, &got);
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
	expect_silence(f);
}

static void test_getfd_before_ready(void **state)
{
	struct fx *f = *state;

	assert_int_equal(qmp_getfd_tagged(f->q, 1, "dp1", 0), -ENOTCONN);
	expect_silence(f);
}

static void test_port_commands(void **state)
{
	struct fx *f = *state;
	json_t *msg, *a;
	int fd;

	negotiate(f);
	assert_int_equal(qmp_chardev_add_fd_tagged(f->q, 1, "dp1", "dp1"), 0);
	msg = read_command(f, &fd);
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
	msg = read_command(f, &fd);
	a = json_object_get(msg, "arguments");
	assert_string_equal(json_string_value(json_object_get(a, "driver")),
			    "virtserialport");
	assert_string_equal(json_string_value(json_object_get(a, "name")),
			    "bulkhead.data.1");
	assert_int_equal(json_integer_value(json_object_get(msg, "id")), 2);
	json_decref(msg);

	assert_int_equal(qmp_device_del_tagged(f->q, 3, "dpp1"), 0);
	msg = read_command(f, &fd);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")),
			    "device_del");
	json_decref(msg);
	assert_int_equal(qmp_chardev_remove_tagged(f->q, 4, "dp1"), 0);
	msg = read_command(f, &fd);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")),
			    "chardev-remove");
	json_decref(msg);
	assert_int_equal(qmp_port_add_tagged(f->q, 5, "dpp1", "dp1", "x y"),
			 -EINVAL);
	expect_silence(f);
}

static void test_tagged_replies(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };

	f->q->on_reply = on_reply;
	f->q->on_device_deleted = on_deleted;
	f->q->ctx = &s;
	negotiate(f);
	/* The capabilities reply carried no tag and reached nobody. */
	assert_int_equal(s.n, 0);
	qemu_says(f, "{\"return\": {}, \"id\": 5}\n"
		     "{\"error\": {\"class\": \"GenericError\", "
		     "\"desc\": \"Chardev 'dp1' is busy\"}, \"id\": 6}\n"
		     "{\"return\": {}}\n"
		     "{\"return\": {}, \"id\": 0}\n"
		     "{\"return\": {}, \"id\": -1}\n"
		     "{\"return\": {}, \"id\": 4294967296}\n"
		     "{\"return\": {}, \"id\": \"5\"}\n"
		     "{\"return\": {}, \"id\": 4294967295}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.tags[0], 5);
	assert_int_equal(s.oks[0], 1);
	assert_int_equal(s.tags[1], 6);
	assert_int_equal(s.oks[1], 0);
	assert_int_equal(s.tags[2], 4294967295u);
	qemu_says(f, "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": \"dpp1\", \"path\": \"/machine/x\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"path\": \"/machine/y\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": \"Evil,id\"}}\n"
		     "{\"event\": \"DEVICE_DELETED\", \"data\": "
		     "{\"device\": 3}}\n");
	assert_int_equal(qmp_handle_input(f->q, "t"), 0);
	assert_int_equal(s.ndel, 1);
	assert_string_equal(s.deleted[0], "dpp1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_negotiation),
		T(test_command_before_ready),
		T(test_command),
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
		T(test_migration_event),
		T(test_command_str_and_getfd),
		T(test_name_ok),
		T(test_getfd_passes_fd),
		T(test_getfd_before_ready),
		T(test_port_commands),
		T(test_tagged_replies),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
