/* bh: the Bulkhead command line. Thin: each verb is one call to the
 * daemon, which bh starts when none runs. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

static const struct bh_verb verbs[] = {
	{ "run", "run a command or service in a qube or a fresh disposable", cmd_run,
	  cmd_run_help },
	{ "copy", "copy files from the host into a qube's ~/Incoming/dom0",
	  cmd_copy, cmd_copy_help },
	{ "create", "create a qube", cmd_create,
	  cmd_create_help },
	{ "remove", "remove qubes", cmd_remove, cmd_remove_help },
	{ "ls", "list qubes", cmd_ls, cmd_ls_help },
	{ "prefs", "show or change a qube's properties or the global "
		   "preferences",
	  cmd_prefs, cmd_prefs_help },
	{ "features", "show or change a qube's features", cmd_features,
	  cmd_features_help },
	{ "tags", "show or change a qube's tags", cmd_tags, cmd_tags_help },
	{ "start", "start qubes", cmd_start, cmd_start_help },
	{ "shutdown", "shut qubes down", cmd_shutdown, cmd_shutdown_help },
	{ "kill", "end qubes at once", cmd_kill, cmd_kill_help },
	{ "pause", "pause qubes", cmd_pause, cmd_pause_help },
	{ "unpause", "let paused qubes run again", cmd_unpause,
	  cmd_unpause_help },
	{ "restart", "shut qubes down and start them again", cmd_restart,
	  cmd_restart_help },
	{ "doctor", "report what this host offers: KVM or TCG, QEMU, "
		    "kernel, memory",
	  cmd_doctor, cmd_doctor_help },
	/* Volumes */
	{ "clone", "copy a halted qube with its volumes", cmd_clone,
	  cmd_clone_help },
	{ "volume", "list a qube's volumes or grow its private volume",
	  cmd_volume, cmd_volume_help },
	{ "template", "list, build, inspect or remove TemplateVMs", cmd_template,
	  cmd_template_help },
	/* Runtime */
	{ "console", "show the end of a running qube's console", cmd_console,
	  cmd_console_help },
	{ "log", "show the end of bulkheadd's log", cmd_log, cmd_log_help },
	{ "events", "print qube events as they happen", cmd_events,
	  cmd_events_help },
	{ "daemon", "status, stop or restart bulkheadd (restart leaves the "
		    "qubes running)",
	  cmd_daemon, cmd_daemon_help },
	/* RPC policy */
	{ "policy-agent", "answer the daemon's questions about calls the "
	  "policy asks about", cmd_policy_agent, cmd_policy_agent_help },
	{ "policy", "check the RPC policy, or what it decides for a call",
	  cmd_policy, cmd_policy_help },
};

#define NVERBS (sizeof(verbs) / sizeof(*verbs))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: bh [--help] [--version] VERB [ARGS]\n\n"
		   "Bulkhead: every activity in its own virtual machine.\n\n"
		   "Verbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\n`bh VERB --help` explains a verb; bh(1) has the "
		   "rest.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	bh_sanitize_std_fds();
	if (argc < 2) {
		usage(stderr);
		return BH_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2)
			for (i = 0; i < NVERBS; i++)
				if (!strcmp(argv[2], verbs[i].name)) {
					verbs[i].help(stdout);
					return 0;
				}
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bh %s\n", BH_VERSION);
		return 0;
	}
	for (i = 0; i < NVERBS; i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	cli_err("unknown verb '%s'; `bh --help` lists them", argv[1]);
	return BH_EXIT_USAGE;
}
