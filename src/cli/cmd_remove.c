/* bh remove [--yes] NAME...: removes qube records (admin.vm.Remove). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_remove_help(FILE *f)
{
	fprintf(f,
		"usage: bh remove [-y|--yes] NAME...\n"
		"\n"
		"Removes each qube NAME with its properties, features and "
		"tags. A qube that\nis running, or that another qube or a "
		"global preference uses, is refused;\nso is the built-in "
		"template minimal. On a terminal bh asks first.\n"
		"\n"
		"  -y, --yes   do not ask (needed when stdin is not a "
		"terminal)\n"
		"  -h, --help  show this help\n"
		"\n");
	cli_record_exit_help(f);
}

static int confirmed(int n, char **names)
{
	char line[64];
	int i;

	fprintf(stderr, "Remove %s", n > 1 ? "these qubes: " : "qube ");
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", names[i]);
	fprintf(stderr, "? [y/N] ");
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin_conn *c;
	const char *text;
	int yes = 0, o, i, st, first = 0;

	while ((o = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
		switch (o) {
		case 'y':
			yes = 1;
			break;
		case 'h':
			cmd_remove_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh remove --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind == argc) {
		cli_err("remove: missing NAME of the qube to remove");
		return BH_ADMIN_INVALID;
	}
	if (!yes) {
		if (!isatty(0)) {
			cli_err("remove: not on a terminal, so nobody can "
				"confirm: pass --yes to remove without "
				"asking");
			return BH_ADMIN_INVALID;
		}
		if (!confirmed(argc - optind, argv + optind)) {
			cli_err("remove: nothing removed");
			return BH_ADMIN_REFUSED;
		}
	}
	c = admin_open(&st);
	if (!c)
		return st;
	/* Every name is tried; the status is the first failure's. */
	for (i = optind; i < argc; i++) {
		st = admin_do(c, "remove", "admin.vm.Remove", argv[i], "",
			      NULL, &text);
		if (st && !first)
			first = st;
	}
	admin_close(c);
	return first;
}
