/* bh clone SOURCE NEW: copies a halted qube, record and volumes
 * (admin.vm.Clone). */
#include <getopt.h>
#include <stdio.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_clone_help(FILE *f)
{
	fprintf(f,
		"usage: bh clone SOURCE NEW\n"
		"\n"
		"Makes qube NEW a copy of the halted qube SOURCE: the same "
		"class, template,\nlabel, properties, features and tags, and "
		"a copy of its private volume\n(and of its root, for a "
		"TemplateVM or StandaloneVM). The copy is a reflink\nwhere "
		"the file system has them, else a sparse copy.\n"
		"\n"
		"  -h, --help  show this help\n"
		"\n");
	cli_record_exit_help(f);
}

int cmd_clone(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			cmd_clone_help(stdout);
			return 0;
		}
		fprintf(stderr, "Try 'bh clone --help'.\n");
		return BH_ADMIN_INVALID;
	}
	if (argc - optind != 2) {
		cli_err("clone: give the SOURCE qube and the NEW name");
		return BH_ADMIN_INVALID;
	}
	return admin_once_progress("clone", "admin.vm.Clone", argv[optind],
				   argv[optind + 1], "", 0, argv[optind + 1]);
}
