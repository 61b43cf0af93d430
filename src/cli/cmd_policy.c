/* bh policy lint | check SOURCE TARGET SERVICE[+ARG]: the RPC policy as
 * bulkheadd reads it (admin.policy.Lint, admin.policy.Check), like Qubes'
 * qubes-policy-lint and a dry run of qrexec-policy-exec. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_policy_help(FILE *f)
{
	fprintf(f,
		"usage: bh policy lint\n"
		"       bh policy check SOURCE TARGET SERVICE[+ARG]\n"
		"\n"
		"lint reads every file of /etc/bulkhead/policy.d (under "
		"BULKHEAD_ROOT) and\nwhat their !include lines include, as "
		"the daemon does, and prints OK, or\neach error as FILE:LINE: "
		"why. While any error remains, every RPC call is\ndenied.\n"
		"\n"
		"check prints what the policy decides for a call from the "
		"qube SOURCE\n(dom0 for the host) to TARGET (a qube or "
		"uuid:UUID, @default, @dispvm,\n@dispvm:NAME, @adminvm or "
		"dom0): allow target=..., deny (FILE:LINE or why),\nor ask "
		"targets=... with the targets a prompt would offer. Nothing "
		"is\nstarted.\n"
		"\n"
		"  -h, --help  show this help\n"
		"\n"
		"Exit status: 0 OK, or the call is allowed or asked; 1 "
		"failure; 2 usage,\nor the policy is invalid (lint); 3 the "
		"call is denied (check); 4 no such\nSOURCE qube; 120 bad "
		"BULKHEAD_ROOT, 121 daemon unreachable. See\n"
		"bh-policy(1).\n");
}

static int lint(void)
{
	const char *text;
	struct admin_conn *c;
	int st;

	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_request(c, "admin.policy.Lint", "", "", NULL, &text);
	if (st == 0 || st == BH_ADMIN_INVALID)
		fputs(text, stdout);
	else if (text[0])
		cli_err("policy: %s", text);
	if (st == BH_ADMIN_INVALID)
		cli_err("policy: the policy is invalid, so every RPC call is "
			"denied until it is fixed");
	admin_close(c);
	return st;
}

static int check(char **w)
{
	const char *text;
	struct admin_conn *c;
	char body[1024];
	int i, st;

	for (i = 0; i < 3; i++)
		if (!w[i][0] || strpbrk(w[i], " \t\n")) {
			cli_err("policy: check takes SOURCE TARGET "
				"SERVICE[+ARG], each one word");
			return BH_ADMIN_INVALID;
		}
	if ((size_t)snprintf(body, sizeof(body), "%s %s %s", w[0], w[1],
			     w[2]) >= sizeof(body)) {
		cli_err("policy: the call is too long");
		return BH_ADMIN_INVALID;
	}
	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_do(c, "policy", "admin.policy.Check", "", "", body, &text);
	if (st == 0) {
		fputs(text, stdout);
		if (!strncmp(text, "deny", 4))
			st = BH_ADMIN_REFUSED;
	}
	admin_close(c);
	return st;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *action;
	int o;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'h') {
			cmd_policy_help(stdout);
			return 0;
		}
		fprintf(stderr, "Try 'bh policy --help'.\n");
		return BH_ADMIN_INVALID;
	}
	if (optind == argc) {
		cli_err("policy: the action is lint or check");
		return BH_ADMIN_INVALID;
	}
	action = argv[optind++];
	if (!strcmp(action, "lint")) {
		if (optind != argc) {
			cli_err("policy: lint takes no argument");
			return BH_ADMIN_INVALID;
		}
		return lint();
	}
	if (!strcmp(action, "check")) {
		if (argc - optind != 3) {
			cli_err("policy: check takes SOURCE TARGET "
				"SERVICE[+ARG]");
			return BH_ADMIN_INVALID;
		}
		return check(argv + optind);
	}
	cli_err("policy: the action is lint or check");
	return BH_ADMIN_INVALID;
}
