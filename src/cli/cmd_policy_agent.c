/* bh policy-agent: the prompt through which bulkheadd asks the user about
 * calls whose policy says `ask` (src/daemon/rpc/rpc_ask.h). It registers
 * with admin.policy.AskAgent, then for each question shows who calls what
 * and the targets the policy allows, and answers with
 * admin.policy.Answer. On a terminal it asks there; with --x11 it shows a
 * dialog (zenity) on $DISPLAY; with --answer it answers by itself, for
 * scripts and tests. While no agent runs, every ask is a deny. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/admin.h"
#include "proto/chan.h"
#include "proto/exitcodes.h"

#define FIELDS 7
#define TARGET_MAX 48

void cmd_policy_agent_help(FILE *f)
{
	fprintf(f,
		"usage: bh policy-agent [--x11 | --answer allow[:TARGET]|deny] "
		"[--once]\n"
		"\n"
		"Answers bulkheadd's questions about RPC calls whose policy "
		"says `ask`\n(for example bulkhead.Filecopy, which bh-copy "
		"uses): for each call it\nshows the calling qube, the service "
		"and the targets the policy allows, and\nlets you pick one or "
		"refuse. Without a running agent, `ask` means deny.\n"
		"\n"
		"  --x11                  ask with a dialog on $DISPLAY "
		"(zenity)\n"
		"  --answer allow[:TARGET]|deny\n"
		"                         answer every question this way, "
		"without asking\n"
		"                         (allow picks TARGET, else the "
		"policy's default\n"
		"                         target, else the first one offered)\n"
		"  --once                 stop after one question\n"
		"  -h, --help             show this help\n"
		"\n"
		"Without --x11 or --answer it asks on the terminal (/dev/tty).\n"
		"\n"
		"Exit status: 0 after --once, 1 when bulkheadd closed the "
		"connection, 2\nusage (or no terminal to ask on), 121 daemon "
		"unreachable. See\nbh-policy(1).\n");
}

struct question {
	const char *f[FIELDS]; /* ask ID SOURCE SERVICE TARGET default= targets= */
	char targets[64][TARGET_MAX];
	size_t n;
	const char *def;
};


/* Splits an ask event; 0, or -1 when it is not one. */
static int parse_question(const uint8_t *p, uint32_t len, struct question *q)
{
	const char *s = (const char *)p, *end = s + len, *t;
	size_t i;

	if (len == 0 || p[len - 1] != '\0')
		return -1;
	for (i = 0; i < FIELDS; i++) {
		if (s >= end)
			return -1;
		q->f[i] = s;
		s += strlen(s) + 1;
	}
	if (strcmp(q->f[0], "ask") || strncmp(q->f[5], "default=", 8) ||
	    strncmp(q->f[6], "targets=", 8))
		return -1;
	q->def = q->f[5] + 8;
	q->n = 0;
	for (t = q->f[6] + 8; *t && q->n < 64;) {
		size_t n = strcspn(t, ",");

		if (n && n < TARGET_MAX) {
			memcpy(q->targets[q->n], t, n);
			q->targets[q->n++][n] = '\0';
		}
		t += n;
		if (*t == ',')
			t++;
	}
	return 0;
}

static int offered(const struct question *q, const char *t)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->targets[i], t))
			return 1;
	return 0;
}

/* The answer of --answer: "allow T" / "deny" into out. */
static void scripted(const struct question *q, const char *how, char *out,
		     size_t cap)
{
	const char *t = NULL;

	if (!strncmp(how, "allow", 5)) {
		if (how[5] == ':')
			t = how + 6;
		else if (q->def[0])
			t = q->def;
		else if (q->n)
			t = q->targets[0];
	}
	if (t && offered(q, t))
		snprintf(out, cap, "allow %s", t);
	else
		snprintf(out, cap, "deny");
}

static void on_terminal(const struct question *q, char *out, size_t cap)
{
	char line[128];
	FILE *tty = fopen("/dev/tty", "r+");
	size_t i;

	snprintf(out, cap, "deny");
	if (!tty)
		return;
	fprintf(tty,
		"\nbulkhead: qube %s calls %s (it asked for %s).\n"
		"Targets the policy allows:",
		q->f[2], q->f[3], q->f[4]);
	for (i = 0; i < q->n; i++)
		fprintf(tty, " %s", q->targets[i]);
	fprintf(tty, "\nAllow it? Type a target%s%s%s, or n to refuse: ",
		q->def[0] ? " (Enter for " : "", q->def,
		q->def[0] ? ")" : "");
	fflush(tty);
	if (fgets(line, sizeof(line), tty)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] && q->def[0])
			snprintf(out, cap, "allow %s", q->def);
		else if (offered(q, line))
			snprintf(out, cap, "allow %.47s", line);
		else if (line[0] && strcmp(line, "n"))
			fprintf(tty, "bulkhead: %s was not offered; "
				     "refused.\n",
				line);
	}
	fclose(tty);
}

/* zenity --list: the chosen row on its stdout, status 0 when chosen. */
static void in_dialog(const struct question *q, char *out, size_t cap)
{
	char text[512], pick[TARGET_MAX + 2] = "";
	const char *argv[80];
	int p[2], st = 1, k = 0;
	size_t i;
	pid_t pid;

	snprintf(out, cap, "deny");
	snprintf(text, sizeof(text),
		 "Qube %s calls %s (it asked for %s). Pick the target, or "
		 "Cancel to refuse.",
		 q->f[2], q->f[3], q->f[4]);
	argv[k++] = "zenity";
	argv[k++] = "--list";
	argv[k++] = "--title=Bulkhead: allow this call?";
	argv[k++] = "--text";
	argv[k++] = text;
	argv[k++] = "--column=Target";
	for (i = 0; i < q->n && k < 78; i++)
		argv[k++] = q->targets[i];
	argv[k] = NULL;
	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp("zenity", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if (pid > 0) {
		ssize_t n = read(p[0], pick, sizeof(pick) - 1);

		pick[n > 0 ? n : 0] = '\0';
		pick[strcspn(pick, "\n")] = '\0';
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    offered(q, pick))
		snprintf(out, cap, "allow %s", pick);
}

int cmd_policy_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "x11", no_argument, NULL, 'x' },
		{ "answer", required_argument, NULL, 'a' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t call[BH_FRAME_MAX_PAYLOAD];
	const char *answer = NULL;
	struct bh_frame_hdr h = { 0 };
	struct question q;
	const uint8_t *p;
	struct bh_chan ch;
	int o, fd, n, x11 = 0, once = 0, tty;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'x':
			x11 = 1;
			break;
		case 'a':
			answer = optarg;
			break;
		case '1':
			once = 1;
			break;
		case 'h':
			cmd_policy_agent_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh policy-agent --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind != argc ||
	    (answer && strcmp(answer, "deny") && strcmp(answer, "allow") &&
	     strncmp(answer, "allow:", 6)) ||
	    (answer && x11)) {
		cli_err("policy-agent: takes --x11, or --answer "
			"allow[:TARGET]|deny, and --once");
		return BH_ADMIN_INVALID;
	}
	if (x11 && !getenv("DISPLAY")) {
		cli_err("policy-agent: --x11 needs $DISPLAY");
		return BH_ADMIN_INVALID;
	}
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (!answer && !x11 && tty < 0) {
		cli_err("policy-agent: no terminal to ask on; use --x11 or "
			"--answer");
		return BH_ADMIN_INVALID;
	}
	if (tty >= 0)
		close(tty);
	signal(SIGPIPE, SIG_IGN);
	fd = daemon_connect();
	if (fd < 0)
		return -fd;
	bh_chan_init(&ch, fd, 2 * BH_FRAME_MAX_PAYLOAD);
	n = bh_admin_call_encode(call, sizeof(call), "admin.policy.AskAgent",
				 "", "", NULL, 0);
	if (n < 0 ||
	    bh_chan_send(&ch, BH_MSG_ADMIN_CALL, 0, call, (uint32_t)n) < 0 ||
	    bh_chan_flush_all(&ch) < 0 || bh_chan_wait_next(&ch, &h, &p) < 0 ||
	    h.type != BH_MSG_ADMIN_REPLY || h.len < 4 || bh_get_u32(p) != 0) {
		cli_err("policy-agent: bulkheadd refused the agent");
		return BH_ADMIN_FAILED;
	}
	fprintf(stderr, "bh policy-agent: answering bulkheadd's questions\n");
	for (;;) {
		char ans[TARGET_MAX + 16];

		if (bh_chan_wait_next(&ch, &h, &p) < 0) {
			cli_err("policy-agent: bulkheadd closed the "
				"connection");
			return BH_ADMIN_FAILED;
		}
		if (h.type == BH_MSG_ADMIN_REPLY) {
			if (h.len >= 4 && bh_get_u32(p) != 0)
				cli_err("policy-agent: answer not taken: "
					"%.*s",
					(int)(h.len - 4), (const char *)p + 4);
			if (once)
				return 0;
			continue;
		}
		if (h.type != BH_MSG_ADMIN_EVENT ||
		    parse_question(p, h.len, &q) < 0)
			continue;
		if (answer)
			scripted(&q, answer, ans, sizeof(ans));
		else if (x11)
			in_dialog(&q, ans, sizeof(ans));
		else
			on_terminal(&q, ans, sizeof(ans));
		printf("ask %s: %s %s -> %s\n", q.f[1], q.f[2], q.f[3], ans);
		fflush(stdout);
		n = bh_admin_call_encode(call, sizeof(call),
					 "admin.policy.Answer", "", q.f[1],
					 (const uint8_t *)ans, strlen(ans));
		if (n < 0 || bh_chan_send(&ch, BH_MSG_ADMIN_CALL, 0, call,
					  (uint32_t)n) < 0 ||
		    bh_chan_flush_all(&ch) < 0) {
			cli_err("policy-agent: lost the connection");
			return BH_ADMIN_FAILED;
		}
	}
}
