/* bh template list | bh template remove [-y] NAME: TemplateVMs, over
 * admin.vm.List, admin.vm.volume.List, admin.vm.property.Get and
 * admin.vm.Remove. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_template_help(FILE *f)
{
	fprintf(f,
		"usage: bh template list\n"
		"       bh template info NAME\n"
		"       bh template build DISTRO [OPTIONS]   (see bh template "
		"build --help)\n"
		"       bh template remove [-y|--yes] NAME\n"
		"\n"
		"list shows the TemplateVMs: NAME, the size of the root "
		"image, and the\nkernel property (\"current\" when it "
		"follows the host's current guest kernel).\n"
		"remove removes TemplateVM NAME with its root and private "
		"volumes, as bh\nremove does; a template that a qube uses is "
		"refused, naming the qubes.\n"
		"\n"
		"  -y, --yes   do not ask (needed when stdin is not a "
		"terminal)\n"
		"  -h, --help  show this help\n"
		"\n");
	cli_record_exit_help(f);
}

/* "1.5G" style, as ls -h: volumes are large and round. */
static void human(unsigned long long b, char *out, size_t cap)
{
	static const char units[] = "BKMGT";
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%lluB", b);
	else
		snprintf(out, cap, "%.1f%c", v, units[u]);
}

/* One template's row: its root's size and its kernel. */
static int row(struct admin_conn *c, const char *name)
{
	char size[32] = "-", kernel[128] = "?";
	const char *text, *p;
	int st;

	st = admin_do(c, "template", "admin.vm.volume.List", name, "", NULL,
		      &text);
	if (st)
		return st;
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1
						    : NULL)
		if (!strncmp(p, "root size=", 10))
			human(strtoull(p + 10, NULL, 10), size, sizeof(size));
	st = admin_do(c, "template", "admin.vm.property.Get", name, "kernel",
		      NULL, &text);
	if (st)
		return st;
	/* "default=D type=T VALUE": the value is after the second space. */
	p = strchr(text, ' ');
	p = p ? strchr(p + 1, ' ') : NULL;
	snprintf(kernel, sizeof(kernel), "%s", p && p[1] ? p + 1 : "current");
	printf("%-31s %-8s %s\n", name, size, kernel);
	return 0;
}

static int list(void)
{
	struct admin_conn *c;
	const char *text;
	char *all, *line, *save = NULL;
	int st, first = 0;

	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_do(c, "template", "admin.vm.List", "", "", NULL, &text);
	all = st ? NULL : strdup(text);
	if (!st && !all) {
		cli_err("out of memory");
		st = BH_ADMIN_FAILED;
	}
	if (!st)
		printf("%-31s %-8s %s\n", "NAME", "ROOT", "KERNEL");
	for (line = all ? strtok_r(all, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (!sp || !strstr(sp, " class=TemplateVM "))
			continue;
		*sp = '\0';
		st = row(c, line);
		if (st && !first)
			first = st;
	}
	free(all);
	admin_close(c);
	return first ? first : st;
}

static int remove_template(const char *name, int yes)
{
	struct admin_conn *c;
	const char *text;
	char line[64];
	int st;

	if (!yes && !isatty(0)) {
		cli_err("template: not on a terminal, so nobody can confirm: "
			"pass --yes to remove without asking");
		return BH_ADMIN_INVALID;
	}
	c = admin_open(&st);
	if (!c)
		return st;
	st = admin_do(c, "template", "admin.vm.List", name, "", NULL, &text);
	if (!st && !strstr(text, " class=TemplateVM ")) {
		cli_err("template: '%s' is not a TemplateVM; bh remove "
			"removes other qubes",
			name);
		st = BH_ADMIN_INVALID;
	}
	if (!st && !yes) {
		fprintf(stderr, "Remove template %s and its root image? "
				"[y/N] ",
			name);
		if (!fgets(line, sizeof(line), stdin) ||
		    (line[0] != 'y' && line[0] != 'Y')) {
			cli_err("template: nothing removed");
			st = BH_ADMIN_REFUSED;
		}
	}
	if (!st)
		st = admin_do(c, "template", "admin.vm.Remove", name, "", NULL,
			      &text);
	admin_close(c);
	return st;
}

int cmd_template(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o, yes = 0, n;

	/* build and info have options of their own (cmd_template_build.c). */
	if (argc >= 2 && !strcmp(argv[1], "build"))
		return cmd_template_build(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return cmd_template_info(argc - 1, argv + 1);
	while ((o = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
		switch (o) {
		case 'y':
			yes = 1;
			break;
		case 'h':
			cmd_template_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh template --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	n = argc - optind;
	if (n == 1 && !strcmp(argv[optind], "list"))
		return list();
	if (n == 2 && !strcmp(argv[optind], "remove"))
		return remove_template(argv[optind + 1], yes);
	cli_err("template: use `bh template list`, `info NAME`, `build "
		"DISTRO` or `remove NAME`");
	return BH_ADMIN_INVALID;
}
