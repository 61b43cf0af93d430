/* fake-qemu: a stand-in for QEMU and the guest behind it, for the tests of
 * hostile qubes (tests/hostile). bulkheadd starts it exactly as it starts
 * QEMU (BULKHEAD_QEMU), jailed, with the control channel on fd 3, QMP on
 * fd 4 and the serial console on fd 5. It plays a qube whose agent is
 * fully compromised: it writes whatever bytes it likes on the channel, at
 * whatever rate, and stops reading when it likes. Everything the daemon
 * sees of a real qube is bytes on those fds, so the daemon cannot tell it
 * from a compromised guest, and a test can make it do exactly the attack
 * it means, in milliseconds instead of a TCG boot.
 *
 * By default it is a well-behaved agent: HELLO at once, the commands
 * below, and services that keep to credit. The host's commands
 * (`bh run QUBE -- CMD ARGS [; CMD ARGS]...`) are its script:
 *
 *   echo ARGS...         prints ARGS
 *   cat                  copies stdin to stdout
 *   ran                  prints one line per service it ran:
 *                        SERVICE+ARG from SOURCE
 *   call ID TARGET SVC [DATA]
 *                        calls SVC in TARGET on stream GUEST_BIT|ID (the
 *                        request as given, unchecked), sends
 *                        DATA then EOF, waits for the end and prints
 *                        "exit KIND VALUE" and what the service wrote
 *   open ID TARGET SVC   opens the call and returns at once; the call
 *                        stays open (no EOF)
 *   wait ID              waits until call ID ends (or is joined: see
 *                        below), prints as `call` does
 *   joined ID            prints "joined" once the daemon has granted the
 *                        call credit (it is joined with its service), or
 *                        "ended KIND VALUE" when it ended first
 *   close ID             sends EOF on call ID
 *   push ID KIB          sends KIB KiB on call ID as credit allows
 *   open-many N FIRST TARGET SVC
 *                        opens N calls, ids FIRST.., returns at once
 *   tally FIRST N        waits until each of those calls is joined or
 *                        ended, prints "joined J ended E refused R"
 *                        (refused: status 126 or 125)
 *   flood-calls N        sends N malformed CALL frames (each refused)
 *   deaf                 stops reading the channel (after this
 *                        command's exit has gone out)
 *   deaf-flood-call N TARGET SVC
 *                        exits 0, stops reading, sends N malformed CALLs,
 *                        then three valid calls of SVC to TARGET
 *   flood-mib M          exits 0, then sends M MiB of frames the daemon
 *                        must refuse or ignore without keeping anything
 *                        (malformed CALLs, CREDIT and STDIN for streams
 *                        that do not exist), reading what comes back
 *   deaf-flood-mib M     the same without reading
 *   stderr-flood M       writes M MiB of lines to its stderr (as a QEMU
 *                        that logs each malformed virtio message would),
 *                        as fast as stderr takes them, then says
 *                        "fake: stderr flood sent" on the console
 *
 * With "fake.die" on its kernel command line (the qube's kernelopts) it
 * writes "fake-qemu: dying at start, as asked" to stderr and exits 1 at
 * once, as a QEMU that cannot start does. With "fake.badhello" its HELLO
 * names protocol version 999.
 *
 * Services it runs (BH_MSG_SERVICE):
 *   test.Echo            copies its input to its output
 *   test.Hold            holds until its input ends
 *   test.Source+KIB      writes KIB KiB (default 1024) as credit allows
 *   test.Deaf            stops reading the whole channel
 *   anything else        exits 0 at once
 *
 * QMP: the greeting, then {"return": {}} to every command; "quit" ends
 * the process. POWEROFF on the channel ends it too. Progress lines go to
 * the console (console.log of the qube), for the tests' story. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/exec_req.h"
#include "proto/frame.h"
#include "proto/rpc_req.h"

#define CHAN_FD 3
#define QMP_FD 4
#define CONSOLE_FD 5

#define MAX_STREAMS 512
#define MAX_RAN 256
/* Queue up to this much of a flood before waiting for the socket. */
#define FLOOD_CHUNK (1u << 20)

enum kind { K_FREE, K_EXEC, K_SERVICE, K_CALL };

struct stream {
	uint32_t id;
	enum kind kind;
	char cmd[BH_RPC_SERVICE_MAX + 1];	     /* K_EXEC: the command; K_SERVICE: service */
	char arg[BH_RPC_ARG_MAX + 1];
	uint32_t send_avail; /* credit for what we send */
	uint64_t to_send;    /* bytes still to write (Source, push) */
	int input_eof;
	int out_eof_sent;
	/* Echo: bytes received and not yet sent back. */
	uint8_t *buf;
	size_t buf_len;
	/* A call: how it ended, what came back, who waits for it. */
	int ended, joined;
	uint32_t end_kind, end_value;
	uint8_t *got;
	size_t got_len;
	uint32_t waiter;   /* an exec stream waiting for this call */
	int waiter_what;   /* 1 wait, 2 joined */
	uint32_t tally_first, tally_n; /* K_EXEC: a tally in progress */
};

static struct bh_chan chan;
static struct stream streams[MAX_STREAMS];
static char ran[MAX_RAN][BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX +
			  BH_RPC_QUBE_MAX + 16];
static int n_ran;
static int deaf;
static uint64_t flood_left;  /* bytes of garbage flood still to send */
static uint32_t flood_calls; /* malformed calls still to send */
static uint32_t flood_seq;
static char after_flood_target[64], after_flood_svc[320];
static char name[64] = "?";
static uint64_t err_flood_left; /* bytes of stderr flood still to write */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(CONSOLE_FD, line, (size_t)n) < 0) {
		/* the console is only for the story */
	}
}

static struct stream *find(uint32_t id)
{
	for (int i = 0; i < MAX_STREAMS; i++)
		if (streams[i].kind != K_FREE && streams[i].id == id)
			return &streams[i];
	return NULL;
}

static struct stream *new_stream(uint32_t id, enum kind k)
{
	for (int i = 0; i < MAX_STREAMS; i++)
		if (streams[i].kind == K_FREE) {
			memset(&streams[i], 0, sizeof(streams[i]));
			streams[i].id = id;
			streams[i].kind = k;
			return &streams[i];
		}
	return NULL;
}

static void free_stream(struct stream *s)
{
	free(s->buf);
	free(s->got);
	memset(s, 0, sizeof(*s));
}

static void send_frame(uint32_t type, uint32_t id, const void *p, uint32_t n)
{
	if (bh_chan_send(&chan, type, id, p, n) < 0) {
		say("fake: cannot queue a frame (type %u)", type);
		exit(3);
	}
}

static void send_exit(struct stream *s, uint32_t code)
{
	uint8_t p[8];

	if (!s->out_eof_sent) {
		send_frame(BH_MSG_STDOUT, s->id, NULL, 0);
		send_frame(BH_MSG_STDERR, s->id, NULL, 0);
		s->out_eof_sent = 1;
	}
	bh_put_u32(p, BH_EXIT_CODE);
	bh_put_u32(p + 4, code);
	send_frame(BH_MSG_EXIT, s->id, p, sizeof(p));
	free_stream(s);
}

/* Output within credit: as much of data as fits; returns bytes sent. */
static size_t send_out(struct stream *s, const void *data, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		uint32_t n = len - sent > BH_FRAME_MAX_PAYLOAD
				     ? BH_FRAME_MAX_PAYLOAD
				     : (uint32_t)(len - sent);

		while (n && bh_credit_cost(n) > s->send_avail)
			n = n > 4096 ? n / 2 : n - 1;
		if (!n)
			break;
		send_frame(BH_MSG_STDOUT, s->id, (const uint8_t *)data + sent,
			   n);
		s->send_avail -= bh_credit_cost(n);
		sent += n;
	}
	return sent;
}

static void printf_out(struct stream *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void printf_out(struct stream *s, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n > 0)
		send_out(s, text, (size_t)n < sizeof(text) ? (size_t)n
							  : sizeof(text) - 1);
}

/* The request is written as given, unchecked (TARGET NUL SVC NUL): a
 * compromised agent sends what bh_call_req_encode would refuse. */
static void open_call(uint32_t id, const char *target, const char *svc)
{
	uint8_t p[512];
	size_t tl = strlen(target), sl = strlen(svc);
	int n = tl + sl + 2 <= sizeof(p) ? (int)(tl + sl + 2) : -1;
	struct stream *c;

	if (n > 0) {
		memcpy(p, target, tl + 1);
		memcpy(p + tl + 1, svc, sl + 1);
	}
	if (n < 0 || !(c = new_stream(BH_STREAM_GUEST_BIT | id, K_CALL))) {
		say("fake: cannot open call %u", id);
		return;
	}
	send_frame(BH_MSG_CALL, c->id, p, (uint32_t)n);
}

static void report_call(struct stream *exec, struct stream *c)
{
	printf_out(exec, "exit %u %u\n", c->end_kind, c->end_value);
	if (c->got_len)
		send_out(exec, c->got, c->got_len);
}

/* A call's state changed: the command waiting for it may go on. */
static void call_event(struct stream *c)
{
	struct stream *w;

	if (!c->waiter || !(w = find(c->waiter)))
		return;
	if (c->waiter_what == 2 && (c->joined || c->ended)) {
		if (c->joined && !c->ended)
			printf_out(w, "joined\n");
		else
			printf_out(w, "ended %u %u\n", c->end_kind,
				   c->end_value);
		c->waiter = 0;
		send_exit(w, 0);
	} else if (c->waiter_what == 1 && c->ended) {
		report_call(w, c);
		c->waiter = 0;
		send_exit(w, 0);
		free_stream(c);
	}
}

static void check_tallies(void)
{
	for (int i = 0; i < MAX_STREAMS; i++) {
		struct stream *t = &streams[i];
		unsigned joined = 0, ended = 0, refused = 0;

		if (t->kind != K_EXEC || !t->tally_n)
			continue;
		for (uint32_t k = 0; k < t->tally_n; k++) {
			struct stream *c = find(BH_STREAM_GUEST_BIT |
						(t->tally_first + k));

			if (!c)
				continue; /* unknown: never opened */
			if (c->ended) {
				ended++;
				if (c->end_kind == BH_EXIT_REFUSED ||
				    c->end_kind == BH_EXIT_NOSTART)
					refused++;
			} else if (c->joined) {
				joined++;
			} else {
				goto not_yet;
			}
		}
		printf_out(t, "joined %u ended %u refused %u\n", joined, ended,
			   refused);
		t->tally_n = 0;
		send_exit(t, 0);
	not_yet:;
	}
}

static void pump_flood(void)
{
	uint8_t junk[64];

	memset(junk, 'x', sizeof(junk));
	while (bh_chan_pending(&chan) < FLOOD_CHUNK &&
	       (flood_calls || flood_left)) {
		uint32_t id = BH_STREAM_GUEST_BIT | (0x100000u + flood_seq++);

		if (flood_calls) {
			/* Malformed request: one byte, no NULs. */
			send_frame(BH_MSG_CALL, id, junk, 1);
			flood_calls--;
			if (!flood_calls && after_flood_target[0]) {
				/* Three calls: whatever room the refusals
				 * left in our queue (under one EXIT frame),
				 * at most one CREDIT of a join fits. */
				say("fake: flood sent; calling %s %s",
				    after_flood_target, after_flood_svc);
				for (uint32_t k = 7; k < 10; k++)
					open_call(k, after_flood_target,
						  after_flood_svc);
				after_flood_target[0] = '\0';
			}
			continue;
		}
		/* Garbage the daemon must drop: malformed calls, credit
		 * and data for streams that do not exist. */
		switch (flood_seq % 3) {
		case 0:
			send_frame(BH_MSG_CALL, id, junk, sizeof(junk));
			break;
		case 1: {
			uint8_t v[4];

			bh_put_u32(v, 4096);
			send_frame(BH_MSG_CREDIT, id | 0x40000000u, v, 4);
			break;
		}
		default:
			send_frame(BH_MSG_STDIN, id | 0x40000000u, junk,
				   sizeof(junk));
			break;
		}
		flood_left = flood_left > 12 + sizeof(junk)
				     ? flood_left - 12 - sizeof(junk)
				     : 0;
		if (!flood_left)
			say("fake: garbage flood sent");
	}
}

static uint32_t num(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 10);
}

/* Runs one command (n words at a) on stream s. Returns 1 when it
 * finished, 0 when it goes on (it then ends with send_exit). */
static int run_one(struct stream *s, char **a, uint32_t n)
{
	struct stream *c;

	snprintf(s->cmd, sizeof(s->cmd), "%s", a[0]);
	if (!strcmp(a[0], "echo")) {
		for (uint32_t i = 1; i < n; i++)
			printf_out(s, "%s%s", a[i], i + 1 < n ? " " : "\n");
		return 1;
	}
	if (!strcmp(a[0], "cat"))
		return 0; /* echoes until EOF */
	if (!strcmp(a[0], "ran")) {
		for (int i = 0; i < n_ran; i++)
			printf_out(s, "%s\n", ran[i]);
		return 1;
	}
	if ((!strcmp(a[0], "call") && n >= 4) ||
	    (!strcmp(a[0], "open") && n == 4)) {
		open_call(num(a[1]), a[2], a[3]);
		c = find(BH_STREAM_GUEST_BIT | num(a[1]));
		if (!c)
			return 1;
		if (!strcmp(a[0], "open"))
			return 1;
		if (n >= 5) {
			c->buf_len = strlen(a[4]);
			c->buf = malloc(c->buf_len ? c->buf_len : 1);
			if (c->buf)
				memcpy(c->buf, a[4], c->buf_len);
		}
		c->input_eof = 1; /* EOF once the data went */
		c->waiter = s->id;
		c->waiter_what = 1;
		return 0;
	}
	if ((!strcmp(a[0], "wait") || !strcmp(a[0], "joined")) && n == 2) {
		c = find(BH_STREAM_GUEST_BIT | num(a[1]));
		if (!c) {
			printf_out(s, "no such call\n");
			return 1;
		}
		c->waiter = s->id;
		c->waiter_what = a[0][0] == 'w' ? 1 : 2;
		call_event(c); /* it may have happened already */
		return 0;      /* call_event finishes the command */
	}
	if (!strcmp(a[0], "close") && n == 2) {
		c = find(BH_STREAM_GUEST_BIT | num(a[1]));
		if (c && c->joined && !c->ended)
			send_frame(BH_MSG_STDIN, c->id, NULL, 0);
		return 1;
	}
	if (!strcmp(a[0], "push") && n == 3) {
		c = find(BH_STREAM_GUEST_BIT | num(a[1]));
		if (c)
			c->to_send += (uint64_t)num(a[2]) * 1024;
		return 1;
	}
	if (!strcmp(a[0], "open-many") && n == 5) {
		for (uint32_t i = 0; i < num(a[1]); i++)
			open_call(num(a[2]) + i, a[3], a[4]);
		return 1;
	}
	if (!strcmp(a[0], "tally") && n == 3) {
		s->tally_first = num(a[1]);
		s->tally_n = num(a[2]);
		return 0;
	}
	if (!strcmp(a[0], "flood-calls") && n == 2) {
		flood_calls += num(a[1]);
		return 1;
	}
	if (!strcmp(a[0], "deaf") && n == 1) {
		deaf = 1;
		return 1;
	}
	if (!strcmp(a[0], "deaf-flood-call") && n == 4) {
		deaf = 1;
		flood_calls = num(a[1]);
		snprintf(after_flood_target, sizeof(after_flood_target), "%s",
			 a[2]);
		snprintf(after_flood_svc, sizeof(after_flood_svc), "%s", a[3]);
		return 1;
	}
	if (!strcmp(a[0], "stderr-flood") && n == 2) {
		err_flood_left = (uint64_t)num(a[1]) << 20;
		return 1;
	}
	if ((!strcmp(a[0], "flood-mib") || !strcmp(a[0], "deaf-flood-mib")) &&
	    n == 2) {
		deaf = a[0][0] == 'd';
		flood_left = (uint64_t)num(a[1]) << 20;
		return 1;
	}
	printf_out(s, "fake: unknown command %s\n", a[0]);
	return 1;
}

/* The host's command: commands separated by ";" words run in order;
 * only the last may go on after it returns. */
static int run_command(struct stream *s, struct bh_exec_req *r)
{
	uint32_t start = 0;

	for (uint32_t i = 0; i <= r->argc; i++) {
		if (i < r->argc && strcmp(r->argv[i], ";"))
			continue;
		if (i > start) {
			int done = run_one(s, r->argv + start, i - start);

			if (!done)
				return 0;
		}
		start = i + 1;
	}
	return 1;
}

static void start_service(struct stream *s, const struct bh_service_req *r)
{
	snprintf(s->cmd, sizeof(s->cmd), "%s", r->service);
	snprintf(s->arg, sizeof(s->arg), "%s", r->arg);
	if (n_ran < MAX_RAN)
		snprintf(ran[n_ran++], sizeof(ran[0]), "%s+%s from %s",
			 r->service, r->arg, r->source);
	say("fake: service %s+%s from %s", r->service, r->arg, r->source);
	if (!strcmp(r->service, "test.Source"))
		s->to_send = (uint64_t)(r->arg[0] ? num(r->arg) : 1024) * 1024;
	else if (!strcmp(r->service, "test.Deaf"))
		deaf = 1;
	else if (strcmp(r->service, "test.Echo") &&
		 strcmp(r->service, "test.Hold"))
		send_exit(s, 0);
}

/* Gives the daemon back v bytes of credit on stream id. */
static void grant(uint32_t id, uint32_t v)
{
	if (v)
		bh_chan_send_u32(&chan, BH_MSG_CREDIT, id, v);
}

/* Sends what credit allows of s's pending data: echoed input, Source
 * bytes, a call's data (as STDIN). */
static void pump_stream(struct stream *s)
{
	static const uint8_t zeros[BH_FRAME_MAX_PAYLOAD];
	uint32_t type = s->kind == K_CALL ? BH_MSG_STDIN : BH_MSG_STDOUT;

	if (s->kind == K_FREE ||
	    (s->kind == K_CALL && (!s->joined || s->ended)))
		return;
	while (s->buf_len || s->to_send) {
		const uint8_t *p = s->buf_len ? s->buf : zeros;
		uint64_t left = s->buf_len ? s->buf_len : s->to_send;
		uint32_t n = left > BH_FRAME_MAX_PAYLOAD ? BH_FRAME_MAX_PAYLOAD
							 : (uint32_t)left;

		while (n && bh_credit_cost(n) > s->send_avail)
			n = n > 4096 ? n / 2 : n - 1;
		if (!n)
			return;
		send_frame(type, s->id, p, n);
		s->send_avail -= bh_credit_cost(n);
		if (s->buf_len) {
			memmove(s->buf, s->buf + n, s->buf_len - n);
			s->buf_len -= n;
			/* Echoed input is consumed input: credit it. */
			if (s->kind != K_CALL)
				grant(s->id, n);
		} else {
			s->to_send -= n;
		}
	}
	if (s->kind == K_CALL) {
		if (s->input_eof == 1) {
			send_frame(BH_MSG_STDIN, s->id, NULL, 0);
			s->input_eof = 2;
		}
		return;
	}
	if (!strcmp(s->cmd, "test.Source") ||
	    (s->input_eof && (!strcmp(s->cmd, "cat") ||
			      !strcmp(s->cmd, "test.Echo") ||
			      !strcmp(s->cmd, "test.Hold"))))
		send_exit(s, 0);
}

/* Data the host sent on stream s (STDIN of a command or service, STDOUT
 * of a call's service). */
static void host_data(struct stream *s, const uint8_t *p, uint32_t len)
{
	uint8_t *nb;

	if (len == 0) {
		if (s->kind != K_CALL)
			s->input_eof = 1;
		return;
	}
	/* The frame itself is consumed now; its bytes when used. */
	grant(s->id, bh_credit_cost(len) - len);
	if (s->kind == K_CALL) {
		nb = realloc(s->got, s->got_len + len);
		if (nb) {
			memcpy(nb + s->got_len, p, len);
			s->got = nb;
			s->got_len += len;
		}
		grant(s->id, len);
		return;
	}
	if (strcmp(s->cmd, "cat") && strcmp(s->cmd, "test.Echo")) {
		grant(s->id, len); /* dropped */
		return;
	}
	nb = realloc(s->buf, s->buf_len + len);
	if (!nb)
		exit(4);
	memcpy(nb + s->buf_len, p, len);
	s->buf = nb;
	s->buf_len += len;
}

static void host_frame(const struct bh_frame_hdr *h, const uint8_t *p)
{
	struct stream *s;
	uint32_t v, k;

	switch (h->type) {
	case BH_MSG_POWEROFF:
		say("fake: power off");
		bh_chan_flush_all(&chan);
		exit(0);
	case BH_MSG_RESUME: {
		uint8_t hello[8];

		bh_put_u32(hello, BH_PROTO_VERSION);
		bh_put_u32(hello + 4, 0);
		send_frame(BH_MSG_HELLO, 0, hello, sizeof(hello));
		return;
	}
	case BH_MSG_EXEC: {
		struct bh_exec_req r;

		if (bh_exec_req_parse(p, h->len, &r) < 0 ||
		    !(s = new_stream(h->stream, K_EXEC)))
			exit(5);
		s->send_avail = BH_STREAM_WINDOW;
		if (run_command(s, &r))
			send_exit(s, 0);
		bh_exec_req_free(&r);
		return;
	}
	case BH_MSG_SERVICE: {
		struct bh_service_req r;

		if (bh_service_req_parse(p, h->len, &r) < 0 ||
		    !(s = new_stream(h->stream, K_SERVICE)))
			exit(6);
		s->send_avail = BH_STREAM_WINDOW;
		start_service(s, &r);
		return;
	}
	}
	s = find(h->stream);
	if (!s)
		return; /* a stream we already forgot, or a refused flood call */
	switch (h->type) {
	case BH_MSG_STDIN:
	case BH_MSG_STDOUT:
		host_data(s, p, h->len);
		break;
	case BH_MSG_CREDIT:
		if (bh_parse_u32_payload(p, h->len, &v) == 0)
			s->send_avail += v;
		if (s->kind == K_CALL && !s->joined) {
			s->joined = 1;
			call_event(s);
		}
		break;
	case BH_MSG_EXIT:
		if (s->kind != K_CALL || bh_parse_exit(p, h->len, &k, &v) < 0)
			break;
		s->ended = 1;
		s->end_kind = k;
		s->end_value = v;
		call_event(s);
		break;
	default:
		break;
	}
}

/* Writes what fd 2 takes now of the stderr flood: lines as QEMU prints
 * them. A full pipe (EAGAIN) is waited for with poll; any other error
 * (nobody reads) counts the lines as written. */
static void pump_err_flood(void)
{
	static char buf[65536];
	static size_t len;
	ssize_t n;

	if (!len) {
		static const char line[] =
			"qemu-system-x86_64: virtio-serial-bus: Unexpected "
			"port id 4294967295 for device virtio-serial0.0\n";

		while (len + sizeof(line) - 1 <= sizeof(buf)) {
			memcpy(buf + len, line, sizeof(line) - 1);
			len += sizeof(line) - 1;
		}
	}
	n = write(2, buf, err_flood_left < len ? err_flood_left : len);
	if (n < 0 && errno != EAGAIN)
		n = (ssize_t)(err_flood_left < len ? err_flood_left : len);
	if (n > 0)
		err_flood_left -= (uint64_t)n;
	if (!err_flood_left)
		say("fake: stderr flood sent");
}

/* QMP: greeting, then an empty success for every command; quit ends. */
static void qmp_input(void)
{
	static char line[65536];
	static size_t len;
	ssize_t n = read(QMP_FD, line + len, sizeof(line) - len - 1);
	char *nl;

	if (n <= 0)
		exit(0); /* the daemon is gone */
	len += (size_t)n;
	while ((nl = memchr(line, '\n', len))) {
		*nl = '\0';
		if (strstr(line, "\"quit\"")) {
			say("fake: QMP quit");
			exit(0);
		}
		if (write(QMP_FD, "{\"return\": {}}\r\n", 16) < 0)
			exit(0);
		len -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, len);
	}
	if (len == sizeof(line) - 1)
		len = 0;
}

int main(int argc, char **argv)
{
	static const char greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": "
		"2, \"major\": 7}, \"package\": \"fake\"}, \"capabilities\": "
		"[]}}\r\n";
	uint8_t hello[8];
	uint32_t version = BH_PROTO_VERSION;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-append")) {
			const char *n = strstr(argv[i + 1], "bh.name=");

			if (n)
				sscanf(n + 8, "%63[^ ]", name);
			if (strstr(argv[i + 1], "fake.die")) {
				dprintf(2, "fake-qemu: dying at start, as "
					   "asked\n");
				return 1;
			}
			if (strstr(argv[i + 1], "fake.badhello"))
				version = 999;
		}
	bh_chan_init(&chan, CHAN_FD, 1u << 30);
	fcntl(CHAN_FD, F_SETFL, fcntl(CHAN_FD, F_GETFL) | O_NONBLOCK);
	if (write(QMP_FD, greeting, sizeof(greeting) - 1) < 0)
		return 1;
	say("fake: %s up", name);
	bh_put_u32(hello, version);
	bh_put_u32(hello + 4, 0);
	send_frame(BH_MSG_HELLO, 0, hello, sizeof(hello));
	for (;;) {
		struct pollfd p[3] = {
			{ CHAN_FD, 0, 0 },
			{ QMP_FD, POLLIN, 0 },
			{ 2, 0, 0 },
		};
		struct bh_frame_hdr h;
		const uint8_t *payload;
		int r;

		pump_flood();
		for (int i = 0; i < MAX_STREAMS; i++)
			pump_stream(&streams[i]);
		check_tallies();
		if (!deaf)
			p[0].events |= POLLIN;
		if (bh_chan_pending(&chan))
			p[0].events |= POLLOUT;
		if (err_flood_left)
			p[2].events = POLLOUT;
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[2].revents & POLLOUT)
			pump_err_flood();
		else if (p[2].revents & (POLLERR | POLLHUP))
			err_flood_left = 0; /* nobody reads: stop */
		if (p[1].revents)
			qmp_input();
		if (p[0].revents & POLLOUT && bh_chan_flush(&chan) < 0)
			return 0; /* the daemon closed the channel */
		if (!deaf && p[0].revents & (POLLIN | POLLHUP)) {
			long n = bh_chan_read(&chan);

			if (n == 0 || (n < 0 && n != -EAGAIN))
				return 0;
			while ((r = bh_chan_next(&chan, &h, &payload)) > 0)
				host_frame(&h, payload);
			if (r < 0)
				return 7;
		}
	}
}
