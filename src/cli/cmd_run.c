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

/* What the command line asked for. */
struct run_opts {
	const char *qube, *service, *user, *dvm;
	int dispvm, filter, autostart, envc;
	char **envv; /* the --env entries, room for one more (the user) */
};

static const struct option run_longopts[] = {
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

/* Reads the options into *ro; returns -1 to go on, else the exit status
 * (after --help or a usage error). */
static int parse_run_options(int argc, char **argv, struct run_opts *ro)
{
	int o;

	/* '+': options end at the first non-option, the command. */
	while ((o = getopt_long(argc, argv, "+e:u:pnah", run_longopts,
				NULL)) != -1) {
		switch (o) {
		case 'D':
			ro->dispvm = 1;
			ro->dvm = optarg;
			break;
		case 'S':
			ro->service = optarg;
			break;
		case 'u':
			ro->user = optarg;
			break;
		case 'p':
			break;
		case 'n':
			ro->autostart = 0;
			break;
		case 'a':
			ro->autostart = 1;
			break;
		case 'F':
			ro->filter = 0;
			break;
		case 'f':
			ro->filter = 1;
			break;
		case 'e':
			if (!bh_env_entry_valid(optarg, strlen(optarg))) {
				cli_err("run: --env takes NAME=VALUE with a "
					"NAME of letters, digits and _ "
					"that does not start with a digit, "
					"not '%s'",
					optarg);
				return BH_EXIT_USAGE;
			}
			ro->envv[ro->envc++] = optarg;
			break;
		case 'h':
			cmd_run_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh run --help'.\n");
			return BH_EXIT_USAGE;
		}
	}
	return -1;
}

/* Checks the --user name; returns -1 when it is one,
 * else the exit status. */
static int check_user_name(const struct run_opts *ro)
{
	if (ro->user && !bh_rpc_user_ok(ro->user, strlen(ro->user))) {
		cli_err("run: '%s' is not a user name ([a-z_][a-z0-9_-]*, at "
			"most 32)",
			ro->user);
		return BH_EXIT_USAGE;
	}
	return -1;
}

/* A disposable is always new; a service starts its qube (the path of a
 * call from another qube). */
static int check_autostart(const struct run_opts *ro)
{
	if (!ro->autostart && (ro->dispvm || ro->service)) {
		cli_err("run: --no-autostart applies to a command in QUBE, not "
			"to %s",
			ro->dispvm ? "--dispvm (a new disposable always starts)"
				   : "--service (which starts QUBE as a call "
				     "would)");
		return BH_EXIT_USAGE;
	}
	return -1;
}

/* --service SVC QUBE: QUBE NUL SERVICE NUL USER NUL to the daemon. */
static int run_service(int argc, char **argv, const struct run_opts *ro,
		       struct run_fds *fds)
{
	static uint8_t req[BH_FRAME_MAX_PAYLOAD];
	struct bh_call_req svc_check;
	const char *qube;
	int len;

	if (ro->dispvm || optind + 1 != argc) {
		cli_err("run: --service takes one QUBE and no "
			"COMMAND; for example: bh run --service "
			"bulkhead.Filecopy work");
		return BH_EXIT_USAGE;
	}
	qube = argv[optind];
	if (!bh_rpc_qube_ok(qube, strlen(qube)) ||
	    bh_rpc_split_service(ro->service, &svc_check) < 0) {
		cli_err("run: '%s' is not a qube name or '%s' not "
			"SERVICE[+ARG] (a service is "
			"[A-Za-z0-9._-]+, its argument "
			"[A-Za-z0-9+._-]* not starting with -)",
			qube, ro->service);
		return BH_EXIT_USAGE;
	}
	len = snprintf((char *)req, sizeof(req), "%s%c%s%c%s", qube, 0,
		       ro->service, 0, ro->user ? ro->user : "");
	return run_relay(BH_MSG_RUN_SERVICE, req, (uint32_t)len + 1, fds);
}

/* Without --dispvm the first word names the qube; then the command must
 * follow. Returns -1 to go on, else the exit status. */
static int take_target_and_command(int argc, char **argv,
				   struct run_opts *ro)
{
	if (!ro->dispvm) {
		if (optind >= argc) {
			cli_err("run: say where to run: a qube's name or "
				"--dispvm");
			return BH_EXIT_USAGE;
		}
		ro->qube = argv[optind++];
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
	}
	if (optind >= argc) {
		cli_err("run: missing COMMAND; for example: bh run --dispvm "
			"-- uname -a");
		return BH_EXIT_USAGE;
	}
	return -1;
}

/* The agent takes the user from an environment entry (not passed on);
 * without one the daemon adds the qube's default_user, and the message
 * for a missing account names where that default comes from. */
static void add_user_and_message(struct run_opts *ro, struct run_fds *fds,
				 char *nouser, size_t nouser_size)
{
	static char user_env[64];

	if (ro->user) {
		snprintf(user_env, sizeof(user_env), "%s%s", BH_RUN_USER_ENV,
			 ro->user);
		ro->envv[ro->envc++] = user_env;
	} else if (ro->qube) {
		fds->nouser_msg = nouser;
		snprintf(nouser, nouser_size,
			 "qube %s has no account named by its default_user "
			 "(`bh prefs %s default_user` shows it); set one it "
			 "has (`bh prefs %s default_user USER`), or name one "
			 "with --user",
			 ro->qube, ro->qube, ro->qube);
	} else {
		fds->nouser_msg = nouser;
		snprintf(nouser, nouser_size,
			 "the disposable has no account named by the "
			 "default_user of its disposable template (%s%s%s); "
			 "set one it has with `bh prefs`, or name one with "
			 "--user",
			 ro->dvm ? "`bh prefs "
				 : "the global default_dispvm, "
				   "else minimal",
			 ro->dvm ? ro->dvm : "",
			 ro->dvm ? " default_user`" : "");
	}
}

/* A run in a named qube, or a disposable of a named DVM: NAME NUL before
 * the exec request. Returns the request's length, or -1 after a usage
 * error was said. */
static long encode_run_request(char **argv, const struct run_opts *ro,
			       uint8_t *req, size_t req_size)
{
	size_t qlen = 0;
	int len;

	if (ro->dvm && !bh_rpc_qube_ok(ro->dvm, strlen(ro->dvm))) {
		cli_err("run: --dispvm=DVM takes the name of a disposable "
			"template, not '%s'",
			ro->dvm);
		return -1;
	}
	if (ro->qube || ro->dvm) {
		const char *name = ro->qube ? ro->qube : ro->dvm;

		qlen = strlen(name) + 1;
		if (qlen > 64) {
			cli_err("run: '%s' is not a qube name", name);
			return -1;
		}
		memcpy(req, name, qlen);
	}
	len = bh_exec_req_encode(req + qlen, req_size - qlen, argv + optind,
				 ro->envv);
	if (len < 0) {
		cli_err("run: %s", len == -E2BIG
					   ? "the command, its arguments and "
					     "environment must fit in 64 KiB, "
					     "with at most 4096 arguments and "
					     "1024 variables"
					   : "COMMAND must not be empty");
		return -1;
	}
	return (long)(len + qlen);
}

/* The steps up to the relay; envv is the caller's to free. */
static int run_steps(int argc, char **argv, struct run_opts *ro)
{
	static uint8_t req[BH_FRAME_MAX_PAYLOAD];
	static char nouser[512];
	struct run_fds fds = { 0, 1, 2, 0, 0, NULL };
	long len;
	int rc;

	if ((rc = parse_run_options(argc, argv, ro)) >= 0 ||
	    (rc = check_user_name(ro)) >= 0)
		return rc;
	if (isatty(1))
		fds.filter_out = ro->filter;
	if (isatty(2))
		fds.filter_err = ro->filter;
	if ((rc = check_autostart(ro)) >= 0)
		return rc;
	/* What to say if the account to run as is not in the qube. */
	if (ro->user)
		snprintf(nouser, sizeof(nouser),
			 "the qube has no user '%s' (none in its /etc/passwd); "
			 "name one it has with --user",
			 ro->user);
	fds.nouser_msg = ro->user ? nouser : NULL;
	if (ro->service)
		return run_service(argc, argv, ro, &fds);
	if ((rc = take_target_and_command(argc, argv, ro)) >= 0)
		return rc;
	add_user_and_message(ro, &fds, nouser, sizeof(nouser));
	len = encode_run_request(argv, ro, req, sizeof(req));
	if (len < 0)
		return BH_EXIT_USAGE;
	return run_relay(ro->qube     ? ro->autostart ? BH_MSG_RUN_QUBE
						      : BH_MSG_RUN_QUBE_NOSTART
			 : ro->dvm ? BH_MSG_RUN_DISPVM_FROM
				   : BH_MSG_RUN_DISPVM,
			 req, (uint32_t)len, &fds);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts ro = { .filter = 1, .autostart = 1 };
	int rc;

	ro.envv = calloc((size_t)argc + 2, sizeof(*ro.envv));
	if (!ro.envv)
		return BH_EXIT_FAILURE;
	rc = run_steps(argc, argv, &ro);
	free(ro.envv);
	return rc;
}
