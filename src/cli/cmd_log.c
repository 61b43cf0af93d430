/* bh log [-n LINES] [NAME]: the end of bulkheadd's log, or its lines about
 * one qube (admin.Log). */
#include <getopt.h>
#include <stdio.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_log_help(FILE *f)
{
	fprintf(f,
		"usage: bh log [-n LINES] [NAME]\n"
		"\n"
		"Shows the last lines of bulkheadd's log "
		"(BULKHEAD_ROOT/var/log/bulkhead/\nbulkheadd.log); with "
		"NAME, the last lines that mention NAME (the qube need\nnot "
		"exist any more). Control characters are shown escaped "
		"(\\xNN).\nThe daemon rotates its log past 8 MiB; older "
		"lines are in bulkheadd.log.1\nand .2, which this does not "
		"read.\n"
		"\n"
		"  -n, --lines LINES  how many lines, 1..1000 (default 50)\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 success, 1 failure (no log to read), 2 "
		"usage; 120 bad\nBULKHEAD_ROOT, 121 daemon unreachable. See "
		"bh(1).\n");
}

int cmd_log(int argc, char **argv)
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
				cli_err("log: -n takes a line count 1..1000");
				return BH_ADMIN_INVALID;
			}
			break;
		case 'h':
			cmd_log_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh log --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (argc - optind > 1) {
		cli_err("log: takes at most one qube NAME");
		return BH_ADMIN_INVALID;
	}
	return admin_once("log", "admin.Log",
			  optind < argc ? argv[optind] : "", lines, NULL, 1);
}
