/* bh create [--class C] [--template T] --label L [--property K=V]... NAME:
 * creates a new qube, its record and volumes (admin.vm.Create.CLASS). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

void cmd_create_help(FILE *f)
{
	fprintf(f,
		"usage: bh create [--class CLASS] [-t TEMPLATE] -l LABEL "
		"[-P NAME=VALUE]... NAME\n"
		"\n"
		"Creates a new qube called NAME with an empty 2 GiB private "
		"volume. A\nTemplateVM or StandaloneVM gets its own copy of "
		"TEMPLATE's root image.\n"
		"\n"
		"  -C, --class CLASS        AppVM (the default), TemplateVM "
		"or StandaloneVM\n"
		"  -t, --template TEMPLATE  an AppVM's template, or the "
		"template whose root a\n"
		"                           TemplateVM or StandaloneVM copies "
		"(default: the\n"
		"                           global preference "
		"default_template); a\n"
		"                           DispVM's disposable template "
		"(default:\n"
		"                           default_dispvm)\n"
		"  -l, --label LABEL        required: red orange yellow "
		"green gray blue\n"
		"                           purple black\n"
		"  -P, --property NAME=VALUE  an initial property (repeat "
		"for more); see\n"
		"                           `bh prefs` for the names\n"
		"  -h, --help               show this help\n"
		"\n");
	cli_record_exit_help(f);
}

/* URL-style escaping of a value: the body separates properties with
 * spaces and keeps values free of them. */
static int add_escaped(char *out, size_t cap, size_t *off, const char *v)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		int plain = (ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || strchr("._-:/,+", ch);

		if (*off + 4 > cap)
			return -1;
		if (plain) {
			out[(*off)++] = (char)ch;
		} else {
			out[(*off)++] = '%';
			out[(*off)++] = hexd[ch >> 4];
			out[(*off)++] = hexd[ch & 15];
		}
	}
	out[*off] = '\0';
	return 0;
}

static int add_n(char *out, size_t cap, size_t *off, const char *t,
		 size_t n)
{
	if (*off + n + 1 > cap)
		return -1;
	memcpy(out + *off, t, n);
	*off += n;
	out[*off] = '\0';
	return 0;
}

static int add_text(char *out, size_t cap, size_t *off, const char *t)
{
	return add_n(out, cap, off, t, strlen(t));
}

static int prop_name_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return n > 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'C' },
		{ "template", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'l' },
		{ "property", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char body[60 * 1024];
	const char *cls = "AppVM", *tmpl = "", *label = NULL;
	char method[64];
	size_t off = 0;
	int o, bad = 0;

	body[0] = '\0';
	while ((o = getopt_long(argc, argv, "C:t:l:P:h", opts, NULL)) != -1) {
		switch (o) {
		case 'C':
			cls = optarg;
			break;
		case 't':
			tmpl = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'P': {
			const char *eq = strchr(optarg, '=');

			if (!eq || !prop_name_ok(optarg, (size_t)(eq - optarg))) {
				cli_err("create: --property takes NAME=VALUE "
					"with a property NAME (see `bh prefs "
					"QUBE`)");
				return BH_ADMIN_INVALID;
			}
			/* " NAME=" then the escaped value */
			bad |= add_text(body, sizeof(body), &off, " ");
			bad |= add_n(body, sizeof(body), &off, optarg,
				     (size_t)(eq - optarg) + 1);
			bad |= add_escaped(body, sizeof(body), &off, eq + 1);
			break;
		}
		case 'h':
			cmd_create_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh create --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind + 1 != argc) {
		cli_err("create: %s", optind == argc
					      ? "missing NAME of the new qube"
					      : "give one NAME");
		return BH_ADMIN_INVALID;
	}
	if (!label) {
		cli_err("create: a new qube needs a label (--label): red "
			"orange yellow green gray blue purple black");
		return BH_ADMIN_INVALID;
	}
	if (strcmp(cls, "AppVM") && strcmp(cls, "TemplateVM") &&
	    strcmp(cls, "StandaloneVM") && strcmp(cls, "DispVM")) {
		cli_err("create: --class is AppVM, TemplateVM, StandaloneVM "
			"or DispVM");
		return BH_ADMIN_INVALID;
	}
	{
		/* label first, then the properties already in body */
		static char full[sizeof(body) + 256];
		size_t foff = 0;

		bad |= add_text(full, sizeof(full), &foff, "label=");
		bad |= add_escaped(full, sizeof(full), &foff, label);
		bad |= add_text(full, sizeof(full), &foff, body);
		if (bad) {
			cli_err("create: the properties must fit in 60 KiB");
			return BH_ADMIN_INVALID;
		}
		snprintf(method, sizeof(method), "admin.vm.Create.%s", cls);
		return admin_once_progress("create", method, argv[optind],
					   tmpl, full, 0, argv[optind]);
	}
}
