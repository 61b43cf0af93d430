/* bh console NAME [-n LINES]: the end of a running qube's console log
 * (admin.vm.Console). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_console_help(FILE *f)
{
	fprintf(f,
		"usage: bh console [-n LINES] NAME\n"
		"\n"
		"Shows the last lines of the console of the running qube "
		"NAME: its kernel's\nmessages and what its init wrote. "
		"Control characters are shown escaped (\\xNN).\n"
		"\n"
		"  -n, --lines LINES  how many lines, 1..1000 (default 50)\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage (bad LINES or "
		"name), 3 the qube\nis not running, 4 no such qube; 120 bad "
		"BULKHEAD_ROOT, 121 daemon\nunreachable. See bh(1).\n");
}

/* 1 when s is a line count 1..1000 (-n of console and log), else 0. */
int cli_lines_arg(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 4)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	n = (size_t)atoi(s);
	return n >= 1 && n <= 1000;
}

int cmd_console(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lines = "";
	int o;

	while ((o = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			lines = optarg;
			if (!cli_lines_arg(lines)) {
				cli_err("console: -n takes a line count "
					"1..1000");
				return BH_ADMIN_INVALID;
			}
			break;
		case 'h':
			cmd_console_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh console --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (argc - optind != 1) {
		cli_err("console: %s", optind == argc
					       ? "missing NAME of the qube"
					       : "takes one qube NAME");
		return BH_ADMIN_INVALID;
	}
	return admin_once("console", "admin.vm.Console", argv[optind], lines,
			  NULL, 1);
}
