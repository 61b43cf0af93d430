/* bh features NAME [FEATURE [VALUE]] [--unset FEATURE]: a qube's free
 * key/value features, like qvm-features. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_features_help(FILE *f)
{
	fprintf(f,
		"usage: bh features NAME [FEATURE [VALUE]]\n"
		"       bh features NAME --unset FEATURE\n"
		"\n"
		"Without FEATURE, lists the qube's features and their "
		"values. With FEATURE,\nprints its value; with VALUE, sets "
		"it. Names are 1 to 64 of letters,\ndigits and _ . -; values "
		"printable ASCII, at most 4096 bytes.\n"
		"\n"
		"  -u, --unset FEATURE  remove FEATURE\n"
		"  -h, --help           show this help\n"
		"\n");
	cli_record_exit_help(f);
}

static void print_list(const char *text)
{
	const char *p, *sp;
	int w = 0;

	for (p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if ((sp = strchr(p, ' ')) && (int)(sp - p) > w)
			w = (int)(sp - p);
	for (p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		sp = memchr(p, ' ', (size_t)len);
		if (sp)
			printf("%-*.*s  %.*s\n", w, (int)(sp - p), p,
			       len - (int)(sp - p) - 1, sp + 1);
		p += len + (nl != NULL);
	}
}

int cmd_features(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unset", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *unset = NULL, *text, *method;
	struct admin_conn *c;
	int o, st, nargs;

	while ((o = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			unset = optarg;
			break;
		case 'h':
			cmd_features_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh features --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind == argc) {
		cli_err("features: missing NAME of a qube");
		return BH_ADMIN_INVALID;
	}
	nargs = argc - optind - 1;
	if (nargs > 2 || (unset && nargs)) {
		cli_err("features: too many arguments");
		return BH_ADMIN_INVALID;
	}
	method = unset	      ? "admin.vm.feature.Remove"
		 : nargs == 0 ? "admin.vm.feature.List"
		 : nargs == 1 ? "admin.vm.feature.Get"
			      : "admin.vm.feature.Set";
	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_do(c, "features", method, argv[optind],
		      unset ? unset : nargs ? argv[optind + 1] : "",
		      nargs == 2 ? argv[optind + 2] : NULL, &text);
	if (st == 0 && !unset && nargs == 0)
		print_list(text);
	else if (st == 0 && !unset && nargs == 1)
		printf("%s\n", text);
	admin_close(c);
	return st;
}
