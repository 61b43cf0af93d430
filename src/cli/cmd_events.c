/* bh events: subscribes to bulkheadd's events (admin.Events) and prints
 * one line per event until interrupted. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/admin.h"
#include "proto/chan.h"
#include "proto/exitcodes.h"

void cmd_events_help(FILE *f)
{
	fprintf(f,
		"usage: bh events\n"
		"\n"
		"Prints one line per event of bulkheadd until interrupted:\n"
		"  EVENT SUBJECT [key=value ...]\n"
		"EVENT is domain-add or domain-delete (a qube created or "
		"removed),\ndomain-pre-start, domain-start, "
		"domain-pre-shutdown, domain-shutdown,\ndomain-paused or "
		"domain-unpaused (its power state changed; state= and\n"
		"reason= follow), or job-start, job-progress, job-done (long "
		"work on a\nvolume: job=ID op=copy|mke2fs|resize|hash, then "
		"step=S done=N total=N,\nor result=ok|failed|cancelled "
		"[reason=...]); SUBJECT is the qube. Each\nline is flushed at "
		"once, for scripts.\n"
		"\n"
		"  -h, --help  show this help\n"
		"\n"
		"Exit status: 1 when bulkheadd closes the connection (it "
		"stopped, or this\nreader fell too far behind), 2 usage; 120 "
		"bad BULKHEAD_ROOT, 121 daemon\nunreachable. See bh(1).\n");
}

/* Waits for the next frame; 0, or -1 when the connection is gone. */

/* Prints s with control characters escaped. */
static void put_escaped(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
}

/* EVENT NUL SUBJECT NUL key=value NUL ...: the fields, space-separated. */
static void print_event(const uint8_t *p, uint32_t len)
{
	const char *s = (const char *)p, *end = s + len;
	int first = 1;

	while (s < end) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));
		size_t n = nul ? (size_t)(nul - s) : (size_t)(end - s);

		if (!first)
			putchar(' ');
		put_escaped(s, n);
		first = 0;
		s += n + 1;
	}
	putchar('\n');
	fflush(stdout);
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t call[BH_FRAME_MAX_PAYLOAD];
	struct bh_frame_hdr h = { 0 };
	const uint8_t *p;
	struct bh_chan ch;
	int o, fd, n;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			cmd_events_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh events --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind != argc) {
		cli_err("events: takes no arguments");
		return BH_ADMIN_INVALID;
	}
	signal(SIGPIPE, SIG_IGN);
	fd = daemon_connect();
	if (fd < 0)
		return -fd;
	bh_chan_init(&ch, fd, 2 * BH_FRAME_MAX_PAYLOAD);
	n = bh_admin_call_encode(call, sizeof(call), "admin.Events", "", "",
				 NULL, 0);
	if (n < 0 ||
	    bh_chan_send(&ch, BH_MSG_ADMIN_CALL, 0, call, (uint32_t)n) < 0 ||
	    bh_chan_flush_all(&ch) < 0 || bh_chan_wait_next(&ch, &h, &p) < 0 ||
	    h.type != BH_MSG_ADMIN_REPLY || h.len < 4 || bh_get_u32(p) != 0) {
		if (h.type == BH_MSG_ADMIN_REPLY && h.len >= 4)
			cli_err("events: %.*s", (int)(h.len - 4),
				(const char *)p + 4);
		else
			cli_err("events: bulkheadd refused the subscription");
		close(fd);
		bh_chan_free(&ch);
		return BH_ADMIN_FAILED;
	}
	while (bh_chan_wait_next(&ch, &h, &p) == 1)
		if (h.type == BH_MSG_ADMIN_EVENT)
			print_event(p, h.len);
	cli_err("events: bulkheadd closed the connection");
	close(fd);
	bh_chan_free(&ch);
	return BH_ADMIN_FAILED;
}
