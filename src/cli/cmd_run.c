/* bh run: a command in a fresh disposable qube or in a qube (started or
 * unpaused when needed, as qvm-run), or an RPC service in a qube, with
 * our stdin, stdout and stderr attached; returns its status. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_relay.h"
#include "lib/util.h"
#include "proto/chan.h"
#include "proto/credit.h"
#include "proto/exec_req.h"
#include "proto/exitcodes.h"
#include "proto/frame.h"
#include "proto/rpc_req.h"

void cmd_run_help(FILE *f)
{
	fprintf(f,
		"usage: bh run --dispvm[=DVM] [OPTION]... [--] COMMAND "
		"[ARG]...\n"
		"       bh run [OPTION]... QUBE [--] COMMAND [ARG]...\n"
		"       bh run [OPTION]... --service SERVICE[+ARG] QUBE\n"
		"\n"
		"Runs COMMAND in a fresh disposable qube with this terminal's "
		"stdin, stdout\nand stderr attached, then destroys the qube "
		"and every file it had. The\ndisposable is made from the "
		"disposable template DVM (an AppVM with\n"
		"template_for_dispvms=True): it boots DVM's template's root "
		"read-only and\na copy of DVM's private volume, so it sees "
		"DVM's /home and writes\nnothing back. Without =DVM it is "
		"made from the global default_dispvm, and\nwhen that is "
		"unset from the minimal template, with no private volume.\n"
		"\nWith QUBE instead of --dispvm, runs it in that qube, which "
		"is started first\nwhen it is halted and unpaused when it is "
		"paused, as qvm-run does (see\nbh start); several may run at "
		"once. With --service, calls the RPC service\nSERVICE in QUBE "
		"(starting it when it is not running), as a qube's bh-call\n"
		"would but without the policy: the host is the admin domain.\n"
		"\nCOMMAND runs as the qube's default_user (`user` unless set; "
		"a disposable's\nis its disposable template's; see bh prefs), "
		"or as USER with --user;\n-u root runs it as root.\n"
		"\n"
		"  --dispvm[=DVM]         run in a new disposable qube (of "
		"DVM)\n"
		"  --service SVC[+ARG]    call an RPC service instead of "
		"running COMMAND\n"
		"  -u, --user USER        run as USER of the qube (default: "
		"its default_user\n"
		"                         for commands; for services, `user` "
		"when it exists,\n"
		"                         else root)\n"
		"  -n, --no-autostart     refuse a halted or paused QUBE "
		"instead of starting\n"
		"                         or unpausing it (also --no-auto)\n"
		"  -a, --autostart        start or unpause QUBE when needed: "
		"the default\n"
		"                         (also --auto)\n"
		"  -e, --env NAME=VALUE   set a variable for COMMAND (repeat "
		"for more); it\n"
		"                         adds to or replaces the defaults "
		"PATH, HOME, TERM\n"
		"                         and LANG\n"
		"  -p, --pass-io          accepted for qvm-run's users: "
		"input and output\n"
		"                         are always passed\n"
		"      --no-filter-escape-chars\n"
		"                         write the qube's output to a "
		"terminal as it is\n"
		"                         (by default control characters "
		"other than tab,\n"
		"                         newline and carriage return "
		"become '_' there)\n"
		"  -h, --help             show this help\n"
		"\n"
		"Exit status: COMMAND's (or the service's) own, 128+N when a "
		"signal N ended\nit, 126 when it cannot be executed, 127 when "
		"it is not found; bh's own\nfailures are 120 usage, 121 daemon "
		"unreachable, 122 QEMU or guest images\nmissing or corrupt, "
		"123 no space, 124 the qube never became ready, 125\nthe qube "
		"or its channel failed, QUBE is halted or paused with\n"
		"--no-autostart, or the account to run as does not exist in "
		"it. See\nbh-run(1).\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dispvm", optional_argument, NULL, 'D' },
		{ "env", required_argument, NULL, 'e' },
		{ "service", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-autostart", no_argument, NULL, 'n' },
		{ "no-auto", no_argument, NULL, 'n' },
		{ "autostart", no_argument, NULL, 'a' },
		{ "auto", no_argument, NULL, 'a' },
		{ "pass-io", no_argument, NULL, 'p' },
		{ "no-filter-escape-chars", no_argument, NULL, 'F' },
		{ "filter-escape-chars", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t req[BH_FRAME_MAX_PAYLOAD];
	static char user_env[64], nouser[512];
	struct bh_call_req svc_check;
	struct run_fds fds = { 0, 1, 2, 0, 0, NULL };
	const char *qube = NULL, *service = NULL, *user = NULL, *dvm = NULL;
	int dispvm = 0, envc = 0, o, len, filter = 1, autostart = 1;
	size_t qlen = 0;
	char **envv;

	envv = calloc((size_t)argc + 2, sizeof(*envv));
	if (!envv)
		return BH_EXIT_FAILURE;
	/* '+': options end at the first non-option, the command. */
	while ((o = getopt_long(argc, argv, "+e:u:pnah", opts, NULL)) != -1) {
		switch (o) {
		case 'D':
			dispvm = 1;
			dvm = optarg;
			break;
		case 'S':
			service = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'p':
			break;
		case 'n':
			autostart = 0;
			break;
		case 'a':
			autostart = 1;
			break;
		case 'F':
			filter = 0;
			break;
		case 'f':
			filter = 1;
			break;
		case 'e':
			if (!bh_env_entry_valid(optarg, strlen(optarg))) {
				cli_err("run: --env takes NAME=VALUE with a "
					"NAME of letters, digits and _ "
					"that does not start with a digit, "
					"not '%s'",
					optarg);
				free(envv);
				return BH_EXIT_USAGE;
			}
			envv[envc++] = optarg;
			break;
		case 'h':
			cmd_run_help(stdout);
			free(envv);
			return 0;
		default:
			fprintf(stderr, "Try 'bh run --help'.\n");
			free(envv);
			return BH_EXIT_USAGE;
		}
	}
	if (user && !bh_rpc_user_ok(user, strlen(user))) {
		cli_err("run: '%s' is not a user name ([a-z_][a-z0-9_-]*, at "
			"most 32)",
			user);
		free(envv);
		return BH_EXIT_USAGE;
	}
	if (isatty(1))
		fds.filter_out = filter;
	if (isatty(2))
		fds.filter_err = filter;
	/* A disposable is always new; a service starts its qube (the
	 * path of a call from another qube). */
	if (!autostart && (dispvm || service)) {
		cli_err("run: --no-autostart applies to a command in QUBE, not "
			"to %s",
			dispvm ? "--dispvm (a new disposable always starts)"
			       : "--service (which starts QUBE as a call "
				 "would)");
		free(envv);
		return BH_EXIT_USAGE;
	}
	/* What to say if the account to run as is not in the qube. */
	if (user)
		snprintf(nouser, sizeof(nouser),
			 "the qube has no user '%s' (none in its /etc/passwd); "
			 "name one it has with --user",
			 user);
	fds.nouser_msg = user ? nouser : NULL;
	if (service) {
		free(envv);
		if (dispvm || optind + 1 != argc) {
			cli_err("run: --service takes one QUBE and no "
				"COMMAND; for example: bh run --service "
				"bulkhead.Filecopy work");
			return BH_EXIT_USAGE;
		}
		qube = argv[optind];
		if (!bh_rpc_qube_ok(qube, strlen(qube)) ||
		    bh_rpc_split_service(service, &svc_check) < 0) {
			cli_err("run: '%s' is not a qube name or '%s' not "
				"SERVICE[+ARG] (a service is "
				"[A-Za-z0-9._-]+, its argument "
				"[A-Za-z0-9+._-]* not starting with -)",
				qube, service);
			return BH_EXIT_USAGE;
		}
		len = snprintf((char *)req, sizeof(req), "%s%c%s%c%s", qube,
			       0, service, 0, user ? user : "");
		return run_relay(BH_MSG_RUN_SERVICE, req, (uint32_t)len + 1,
				 &fds);
	}
	/* Without --dispvm the first word names the qube. */
	if (!dispvm) {
		if (optind >= argc) {
			cli_err("run: say where to run: a qube's name or "
				"--dispvm");
			free(envv);
			return BH_EXIT_USAGE;
		}
		qube = argv[optind++];
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
	}
	if (optind >= argc) {
		cli_err("run: missing COMMAND; for example: bh run --dispvm "
			"-- uname -a");
		free(envv);
		return BH_EXIT_USAGE;
	}
	/* The agent takes the user from this entry (not passed on); without
	 * it the daemon adds the qube's default_user. */
	if (user) {
		snprintf(user_env, sizeof(user_env), "%s%s", BH_RUN_USER_ENV,
			 user);
		envv[envc++] = user_env;
	} else if (qube) {
		fds.nouser_msg = nouser;
		snprintf(nouser, sizeof(nouser),
			 "qube %s has no account named by its default_user "
			 "(`bh prefs %s default_user` shows it); set one it "
			 "has (`bh prefs %s default_user USER`), or name one "
			 "with --user",
			 qube, qube, qube);
	} else {
		fds.nouser_msg = nouser;
		snprintf(nouser, sizeof(nouser),
			 "the disposable has no account named by the "
			 "default_user of its disposable template (%s%s%s); "
			 "set one it has with `bh prefs`, or name one with "
			 "--user",
			 dvm ? "`bh prefs " : "the global default_dispvm, "
					      "else minimal",
			 dvm ? dvm : "", dvm ? " default_user`" : "");
	}
	/* A run in a named qube, or a disposable of a named DVM: NAME NUL
	 * before the request. */
	if (dvm && !bh_rpc_qube_ok(dvm, strlen(dvm))) {
		cli_err("run: --dispvm=DVM takes the name of a disposable "
			"template, not '%s'",
			dvm);
		free(envv);
		return BH_EXIT_USAGE;
	}
	if (qube || dvm) {
		const char *name = qube ? qube : dvm;

		qlen = strlen(name) + 1;
		if (qlen > 64) {
			cli_err("run: '%s' is not a qube name", name);
			free(envv);
			return BH_EXIT_USAGE;
		}
		memcpy(req, name, qlen);
	}
	len = bh_exec_req_encode(req + qlen, sizeof(req) - qlen, argv + optind,
				 envv);
	free(envv);
	if (len < 0) {
		cli_err("run: %s", len == -E2BIG
					   ? "the command, its arguments and "
					     "environment must fit in 64 KiB, "
					     "with at most 4096 arguments and "
					     "1024 variables"
					   : "COMMAND must not be empty");
		return BH_EXIT_USAGE;
	}
	return run_relay(qube	     ? autostart ? BH_MSG_RUN_QUBE
						 : BH_MSG_RUN_QUBE_NOSTART
			 : dvm ? BH_MSG_RUN_DISPVM_FROM
			       : BH_MSG_RUN_DISPVM,
			 req, (uint32_t)(len + qlen), &fds);
}
