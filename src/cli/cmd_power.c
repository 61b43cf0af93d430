/* bh start | shutdown [--wait] | kill | pause | unpause NAME...: one admin
 * call per qube (admin.vm.Start, ...). The five verbs differ only in the
 * call and its help, so they share this file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

struct power_verb {
	const char *name;
	const char *method;
	const char *what;
};

static const struct power_verb power_verbs[] = {
	{ "start", "admin.vm.Start",
	  "Starts each qube and returns once its agent is ready. Its private\n"
	  "volume (2 GiB, sparse) is made at the first start. An AppVM boots "
	  "its\ntemplate's current root read-only; a TemplateVM writes a new "
	  "root version\nthat its AppVMs see from their next start after a "
	  "clean shutdown. The\nbuilt-in template minimal cannot be "
	  "started." },
	{ "shutdown", "admin.vm.Shutdown",
	  "Asks each qube to power off (its agent syncs and powers off); "
	  "after 30 s\nQEMU is told to quit, then killed. With --wait, "
	  "returns once it has stopped." },
	{ "kill", "admin.vm.Kill",
	  "Ends each qube's QEMU at once (a TemplateVM's changes since its "
	  "start are\ndropped) and returns once it is gone." },
	{ "pause", "admin.vm.Pause",
	  "Stops each qube's virtual CPUs (QMP stop); memory stays." },
	{ "unpause", "admin.vm.Unpause",
	  "Lets each paused qube run again (QMP cont)." },
	/* Two calls per qube: admin.vm.Shutdown (wait), admin.vm.Start. */
	{ "restart", NULL,
	  "Shuts each running qube down, waits for it to stop, and starts it "
	  "again;\na halted qube is just started." },
};

static const struct power_verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(power_verbs) / sizeof(*power_verbs); i++)
		if (!strcmp(power_verbs[i].name, name))
			return &power_verbs[i];
	return NULL;
}

static void power_help(FILE *f, const struct power_verb *v)
{
	fprintf(f, "usage: bh %s%s NAME...\n\n%s\n\n", v->name,
		strcmp(v->name, "shutdown") ? "" : " [--wait]", v->what);
	if (!strcmp(v->name, "shutdown"))
		fprintf(f, "  -w, --wait  return once the qube has stopped\n");
	fprintf(f, "  -h, --help  show this help\n\n");
	cli_record_exit_help(f);
}

static int power_run(const char *verb, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct power_verb *v = find_verb(verb);
	int wait = 0, o, i, st = 0, worst = 0;
	struct admin_conn *c;
	const char *text;

	while ((o = getopt_long(argc, argv, "+wh", opts, NULL)) != -1) {
		switch (o) {
		case 'w':
			if (strcmp(verb, "shutdown"))
				goto usage;
			wait = 1;
			break;
		case 'h':
			power_help(stdout, v);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind >= argc) {
		cli_err("%s: missing NAME; `bh %s --help` explains", verb,
			verb);
		return BH_ADMIN_INVALID;
	}
	c = admin_open(&st);
	if (!c)
		return st;
	for (i = optind; i < argc; i++) {
		if (!v->method) {
			/* restart: a halted qube refuses the shutdown (3),
			 * which is fine; anything else stops here. */
			st = admin_request(c, "admin.vm.Shutdown", argv[i],
					   "wait", "", &text);
			if (st && st != BH_ADMIN_REFUSED) {
				cli_err("%s: %s", verb, text);
			} else {
				st = admin_do(c, verb, "admin.vm.Start",
					      argv[i], "", "", &text);
			}
		} else {
			st = admin_do(c, verb, v->method, argv[i],
				      wait ? "wait" : "", "", &text);
		}
		if (st > worst)
			worst = st;
	}
	admin_close(c);
	return worst;
usage:
	fprintf(stderr, "Try 'bh %s --help'.\n", verb);
	return BH_ADMIN_INVALID;
}

int cmd_start(int argc, char **argv) { return power_run("start", argc, argv); }
int cmd_shutdown(int argc, char **argv) { return power_run("shutdown", argc, argv); }
int cmd_kill(int argc, char **argv) { return power_run("kill", argc, argv); }
int cmd_pause(int argc, char **argv) { return power_run("pause", argc, argv); }
int cmd_unpause(int argc, char **argv) { return power_run("unpause", argc, argv); }
int cmd_restart(int argc, char **argv) { return power_run("restart", argc, argv); }

void cmd_start_help(FILE *f) { power_help(f, &power_verbs[0]); }
void cmd_shutdown_help(FILE *f) { power_help(f, &power_verbs[1]); }
void cmd_kill_help(FILE *f) { power_help(f, &power_verbs[2]); }
void cmd_pause_help(FILE *f) { power_help(f, &power_verbs[3]); }
void cmd_unpause_help(FILE *f) { power_help(f, &power_verbs[4]); }
void cmd_restart_help(FILE *f) { power_help(f, &power_verbs[5]); }
