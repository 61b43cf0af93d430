/* bh tags NAME [list | add TAG... | del TAG...]: a qube's tags, like
 * qvm-tags. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_tags_help(FILE *f)
{
	fprintf(f,
		"usage: bh tags NAME [list]\n"
		"       bh tags NAME add|del TAG...\n"
		"\n"
		"Lists a qube's tags, one a line, or adds or removes TAGs. "
		"Tags are 1 to 64\nof letters, digits and _ . -; adding a "
		"tag the qube has is not an error.\n"
		"\n"
		"  -h, --help  show this help\n"
		"\n");
	cli_record_exit_help(f);
}

int cmd_tags(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *action = "list", *method, *name, *text;
	struct admin_conn *c;
	int o, st, i, first = 0;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'h') {
			cmd_tags_help(stdout);
			return 0;
		}
		fprintf(stderr, "Try 'bh tags --help'.\n");
		return BH_ADMIN_INVALID;
	}
	if (optind == argc) {
		cli_err("tags: missing NAME of a qube");
		return BH_ADMIN_INVALID;
	}
	name = argv[optind++];
	if (optind < argc)
		action = argv[optind++];
	if (!strcmp(action, "list")) {
		if (optind != argc) {
			cli_err("tags: list takes no TAG");
			return BH_ADMIN_INVALID;
		}
		return admin_once("tags", "admin.vm.tag.List", name, "", NULL,
				  1);
	}
	if (strcmp(action, "add") && strcmp(action, "del")) {
		cli_err("tags: the action is list, add or del");
		return BH_ADMIN_INVALID;
	}
	if (optind == argc) {
		cli_err("tags: %s needs at least one TAG", action);
		return BH_ADMIN_INVALID;
	}
	method = !strcmp(action, "add") ? "admin.vm.tag.Set"
					: "admin.vm.tag.Remove";
	c = admin_open(&st);
	if (!c)
		return st;
	for (i = optind; i < argc; i++) {
		st = admin_do(c, "tags", method, name, argv[i], NULL, &text);
		if (st && !first)
			first = st;
	}
	admin_close(c);
	return first;
}
