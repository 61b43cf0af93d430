/* bh ls [--format table|json|raw] [--running|--halted] [NAME...]: lists
 * qubes (admin.vm.List), like qvm-ls. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

/* From one admin.vm.List line; fields point into the (modified) line. */
struct ls_row {
	const char *name, *state, *cls, *label, *tmpl; /* tmpl NULL: none */
};

enum ls_format { LS_TABLE, LS_JSON, LS_RAW };

void cmd_ls_help(FILE *f)
{
	fprintf(f,
		"usage: bh ls [--format table|json|raw] [--running|--halted] "
		"[NAME...]\n"
		"\n"
		"Lists the qubes (only those named, when NAMEs are given).\n"
		"\n"
		"  -f, --format FORMAT  table (the default): NAME STATE CLASS "
		"LABEL TEMPLATE;\n"
		"                       json: an array of objects with "
		"name, state, class,\n"
		"                       label, template (null when none); "
		"raw: names only,\n"
		"                       one a line\n"
		"      --raw            the same as --format raw\n"
		"      --running        only qubes that are not halted\n"
		"      --halted         only halted qubes\n"
		"  -h, --help           show this help\n"
		"\n");
	cli_record_exit_help(f);
}

/* "NAME class=C state=S label=L template=T" */
static int parse_row(char *line, struct ls_row *r)
{
	char *save = NULL, *tok = strtok_r(line, " ", &save);

	memset(r, 0, sizeof(*r));
	r->name = tok;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *v = strchr(tok, '=');

		if (!v)
			return -1;
		*v++ = '\0';
		if (!strcmp(tok, "class"))
			r->cls = v;
		else if (!strcmp(tok, "state"))
			r->state = v;
		else if (!strcmp(tok, "label"))
			r->label = v;
		else if (!strcmp(tok, "template"))
			r->tmpl = strcmp(v, "-") ? v : NULL;
	}
	return r->name && r->cls && r->state && r->label ? 0 : -1;
}

static int wanted(const struct ls_row *r, int running, int halted,
		  char **names, int n)
{
	int i, halt = !strcmp(r->state, "Halted");

	if ((running && halt) || (halted && !halt))
		return 0;
	for (i = 0; i < n; i++)
		if (!strcmp(names[i], r->name))
			return 1;
	return n == 0;
}

static void print_table(const struct ls_row *rows, size_t n)
{
	int w[4] = { 4, 5, 5, 5 };
	size_t i;

	for (i = 0; i < n; i++) {
		const char *f[4] = { rows[i].name, rows[i].state, rows[i].cls,
				     rows[i].label };
		int j;

		for (j = 0; j < 4; j++)
			if ((int)strlen(f[j]) > w[j])
				w[j] = (int)strlen(f[j]);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "STATE",
	       w[2], "CLASS", w[3], "LABEL", "TEMPLATE");
	for (i = 0; i < n; i++)
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], rows[i].name,
		       w[1], rows[i].state, w[2], rows[i].cls, w[3],
		       rows[i].label, rows[i].tmpl ? rows[i].tmpl : "-");
}

static int print_json(const struct ls_row *rows, size_t n)
{
	json_t *a = json_array();
	size_t i;
	int r = 0;

	for (i = 0; a && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name",
				      rows[i].name, "state", rows[i].state,
				      "class", rows[i].cls, "label",
				      rows[i].label, "template",
				      rows[i].tmpl ? json_string(rows[i].tmpl)
						   : json_null());

		if (!o || json_array_append_new(a, o) < 0)
			r = -1;
	}
	if (!a || r < 0 || json_dumpf(a, stdout, JSON_INDENT(2)) < 0) {
		json_decref(a);
		cli_err("ls: cannot build the JSON output");
		return BH_ADMIN_FAILED;
	}
	putchar('\n');
	json_decref(a);
	return 0;
}

static int show(char *text, enum ls_format fmt, int running, int halted,
		char **names, int nnames)
{
	struct ls_row *rows;
	char *save = NULL, *line;
	size_t n = 0, cap = 1;
	int i, st = 0;

	for (line = text; *line; line++)
		cap += *line == '\n';
	rows = calloc(cap, sizeof(*rows));
	if (!rows) {
		cli_err("out of memory");
		return BH_ADMIN_FAILED;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (parse_row(line, &rows[n]) < 0) {
			cli_err("ls: bad line from bulkheadd");
			free(rows);
			return BH_ADMIN_FAILED;
		}
		if (wanted(&rows[n], running, halted, names, nnames))
			n++;
	}
	for (i = 0; i < nnames; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(rows[j].name, names[i]); j++)
			;
		if (j == n && !running && !halted) {
			cli_err("ls: no qube named '%s'", names[i]);
			st = BH_ADMIN_NOSUCH;
		}
	}
	if (fmt == LS_JSON) {
		int r = print_json(rows, n);

		st = st ? st : r;
	} else if (fmt == LS_RAW) {
		size_t j;

		for (j = 0; j < n; j++)
			puts(rows[j].name);
	} else {
		print_table(rows, n);
	}
	free(rows);
	return st;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "raw", no_argument, NULL, 'r' },
		{ "running", no_argument, NULL, 'R' },
		{ "halted", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum ls_format fmt = LS_TABLE;
	int running = 0, halted = 0, o, st;
	char *copy;

	while ((o = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (!strcmp(optarg, "table"))
				fmt = LS_TABLE;
			else if (!strcmp(optarg, "json"))
				fmt = LS_JSON;
			else if (!strcmp(optarg, "raw"))
				fmt = LS_RAW;
			else {
				cli_err("ls: --format is table, json or raw");
				return BH_ADMIN_INVALID;
			}
			break;
		case 'r':
			fmt = LS_RAW;
			break;
		case 'R':
			running = 1;
			break;
		case 'H':
			halted = 1;
			break;
		case 'h':
			cmd_ls_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh ls --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (running && halted) {
		cli_err("ls: --running and --halted exclude each other");
		return BH_ADMIN_INVALID;
	}
	st = admin_fetch("ls", "admin.vm.List", "", "", &copy);
	if (st)
		return st;
	st = show(copy, fmt, running, halted, argv + optind, argc - optind);
	free(copy);
	return st;
}
