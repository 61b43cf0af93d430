/* bh prefs NAME [PROP [VALUE | --default]] and bh prefs --global [...]:
 * a qube's properties or the global preferences, like qvm-prefs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_prefs_help(FILE *f)
{
	fprintf(f,
		"usage: bh prefs NAME [PROPERTY [VALUE | --default]]\n"
		"       bh prefs --global [PREFERENCE [VALUE | --default]]\n"
		"\n"
		"Without PROPERTY, lists the qube's properties: name, D when "
		"the value is\nthe default (else -), value. With PROPERTY, "
		"prints its value; with VALUE,\nsets it; with --default, "
		"resets it to its default.\n"
		"\n"
		"  -g, --global   the global preferences instead of a "
		"qube's\n"
		"  -D, --default  reset PROPERTY to its default\n"
		"  -h, --help     show this help\n"
		"\n");
	cli_record_exit_help(f);
}

/* "NAME default=True|False type=T VALUE" → name, default, value. */
static int split_line(char *line, char **name, int *is_default,
		      char **value)
{
	char *def = strchr(line, ' '), *type, *v;

	if (!def)
		return -1;
	*def++ = '\0';
	type = strchr(def, ' ');
	if (!type)
		return -1;
	v = strchr(type + 1, ' ');
	*name = line;
	*is_default = !strncmp(def, "default=True", 12);
	*value = v ? v + 1 : type + strlen(type);
	return 0;
}

static int print_list(char *text)
{
	char *save = NULL, *line, *copy = strdup(text), *name, *value;
	int w = 0, d;

	if (!copy) {
		cli_err("out of memory");
		return BH_ADMIN_FAILED;
	}
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (split_line(line, &name, &d, &value) == 0 &&
		    (int)strlen(name) > w)
			w = (int)strlen(name);
	free(copy);
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (split_line(line, &name, &d, &value) < 0) {
			cli_err("prefs: bad line from bulkheadd");
			return BH_ADMIN_FAILED;
		}
		printf("%-*s  %s  %s\n", w, name, d ? "D" : "-", value);
	}
	return 0;
}

/* "default=X type=T VALUE" → VALUE */
static const char *get_value(const char *text)
{
	const char *sp = strchr(text, ' ');

	sp = sp ? strchr(sp + 1, ' ') : NULL;
	return sp ? sp + 1 : "";
}

int cmd_prefs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "global", no_argument, NULL, 'g' },
		{ "default", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dest = "", *prop, *text, *scope;
	int global = 0, reset = 0, o, st, nargs;
	struct admin_conn *c;
	char method[64], *copy;

	while ((o = getopt_long(argc, argv, "gDh", opts, NULL)) != -1) {
		switch (o) {
		case 'g':
			global = 1;
			break;
		case 'D':
			reset = 1;
			break;
		case 'h':
			cmd_prefs_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh prefs --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (!global) {
		if (optind == argc) {
			cli_err("prefs: missing NAME of a qube (or "
				"--global)");
			return BH_ADMIN_INVALID;
		}
		dest = argv[optind++];
	}
	nargs = argc - optind;
	prop = nargs > 0 ? argv[optind] : NULL;
	if (nargs > 2 || (reset && nargs != 1)) {
		cli_err("prefs: %s", reset ? "--default takes one PROPERTY"
					   : "too many arguments");
		return BH_ADMIN_INVALID;
	}
	scope = global ? "admin.property" : "admin.vm.property";
	snprintf(method, sizeof(method), "%s.%s", scope,
		 !prop	      ? "List"
		 : reset      ? "Reset"
		 : nargs == 2 ? "Set"
			      : "Get");
	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_do(c, "prefs", method, dest, prop ? prop : "",
		      nargs == 2 ? argv[optind + 1] : NULL, &text);
	if (st == 0 && !prop) {
		copy = strdup(text);
		st = copy ? print_list(copy) : BH_ADMIN_FAILED;
		free(copy);
	} else if (st == 0 && nargs == 1 && !reset) {
		printf("%s\n", get_value(text));
	}
	admin_close(c);
	return st;
}
