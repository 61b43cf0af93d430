/* bh template build DISTRO [...] and bh template info NAME.
 *
 * build runs bh-build-template (guest/build-template) as root into a
 * staging folder STATE/templates/.build-NAME.XXXXXX that it locks for as
 * long as the build runs, then asks the daemon to adopt the finished
 * folder (admin.vm.Create.TemplateVM with import=, admin_template.c). On
 * a failure or a signal the folder is removed and nothing is registered;
 * bulkheadd removes unlocked leftovers at its start. info shows the
 * manifest the import recorded as template-* features. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "lib/paths.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

#define BUILDER_ENV "BH_BUILD_TEMPLATE"
#define STAGING_PREFIX ".build-"
#define EXIT_INTERRUPTED 130
/* Builder exit statuses (guest/build-template). */
#define BUILDER_USAGE 2

void cmd_template_build_help(FILE *f)
{
	fprintf(f,
		"usage: bh template build DISTRO [--include PKG,...] "
		"[--mirror URL] [--name NAME]\n"
		"                         [-l LABEL] [--cache DIR | "
		"--no-cache]\n"
		"       bh template info NAME\n"
		"\n"
		"build makes TemplateVM NAME (default DISTRO; known: "
		"debian-12) from Debian's\nmirror with mmdebstrap, signatures "
		"checked against apt's keyring, and\nregisters it once it is "
		"complete. Run it as root.\n"
		"\n"
		"  --include PKG,...  extra packages (templates have no "
		"network)\n"
		"  --mirror URL       Debian mirror; a snapshot.debian.org "
		"URL repeats a build\n"
		"  --name NAME        the template's name\n"
		"  -l, --label LABEL  its label (default black)\n"
		"  --cache DIR        reuse an image of the same packages "
		"and mirror state\n"
		"                     (default STATE/cache/templates)\n"
		"  --no-cache         always build afresh\n"
		"\n"
		"info prints what the build recorded: distribution, "
		"packages, mirror and its\nstate, build time, kernel, "
		"root size.\n"
		"\n"
		"Exit status: 0 ok, 1 the build or registration failed, 2 "
		"bad usage or\nunknown DISTRO, 3 refused (not root, name "
		"taken), 4 no such template,\n130 interrupted; nothing is "
		"registered unless it is 0.\n");
}

/* The signal that stopped us, forwarded to the builder's group. */
static volatile sig_atomic_t got_signal;
static volatile pid_t builder_pgid;

static void on_signal(int sig)
{
	if (!got_signal)
		got_signal = sig;
	if (builder_pgid > 0)
		kill(-builder_pgid, sig);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* BH_BUILD_TEMPLATE, else next to bh: ../sbin/bh-build-template when
 * installed, ../guest/build-template in a source tree. */
static int find_builder(char *out, size_t cap)
{
	static const char *const rel[] = { "../sbin/bh-build-template",
					   "../guest/build-template" };
	char exe[PATH_MAX], *slash;
	const char *env = getenv(BUILDER_ENV);
	ssize_t n;
	size_t i;

	if (env && env[0]) {
		snprintf(out, cap, "%s", env);
		return access(out, X_OK);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(*rel); i++)
		if (bh_path_fmt(out, cap, "%s/%s", exe, rel[i]) == 0 &&
		    access(out, X_OK) == 0)
			return 0;
	return -1;
}

struct build_opts {
	const char *distro, *name, *mirror, *label, *cache;
	char include[2048];
	int no_cache;
};

static int parse_build(int argc, char **argv, struct build_opts *o)
{
	static const struct option opts[] = {
		{ "include", required_argument, NULL, 'i' },
		{ "mirror", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "label", required_argument, NULL, 'l' },
		{ "cache", required_argument, NULL, 'c' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->label = "black";
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		size_t used = strlen(o->include);

		switch (c) {
		case 'i':
			if (used + strlen(optarg) + 2 > sizeof(o->include)) {
				cli_err("template build: --include list too "
					"long");
				return BH_ADMIN_INVALID;
			}
			snprintf(o->include + used,
				 sizeof(o->include) - used, "%s%s",
				 used ? "," : "", optarg);
			break;
		case 'm': o->mirror = optarg; break;
		case 'n': o->name = optarg; break;
		case 'l': o->label = optarg; break;
		case 'c': o->cache = optarg; break;
		case 'C': o->no_cache = 1; break;
		case 'h':
			cmd_template_build_help(stdout);
			return -1;
		default:
			fprintf(stderr, "Try 'bh template build --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (argc - optind != 1) {
		cli_err("template build: name one distribution (known: "
			"debian-12)");
		return BH_ADMIN_INVALID;
	}
	o->distro = argv[optind];
	if (!o->name)
		o->name = o->distro;
	return 0;
}

/* After a signal, mmdebstrap's children (apt, dpkg) may outlive the
 * builder by a moment; none may still write into the staging folder when
 * it is removed. Waits for the group to empty, SIGKILLs what is left
 * after GROUP_WAIT_MS. */
#define GROUP_WAIT_MS 10000
#define GROUP_POLL_MS 50

static void wait_group(pid_t pgid)
{
	const struct timespec step = { 0, GROUP_POLL_MS * 1000000L };
	int waited;

	for (waited = 0; kill(-pgid, 0) == 0; waited += GROUP_POLL_MS) {
		if (waited == GROUP_WAIT_MS)
			kill(-pgid, SIGKILL);
		if (waited > GROUP_WAIT_MS + 2000)
			break;
		nanosleep(&step, NULL);
	}
}

/* Runs the builder in a process group of its own (so that our signal
 * handler reaches mmdebstrap too) and returns its wait status. */
static int run_builder(const char *builder, const struct build_opts *o,
		       const char *out, const char *cache, const char *state)
{
	const char *argv[24];
	int n = 0, st;
	pid_t pid, w;

	argv[n++] = builder;
	argv[n++] = o->distro;
	argv[n++] = "--out";
	argv[n++] = out;
	argv[n++] = "--name";
	argv[n++] = o->name;
	argv[n++] = "--state";
	argv[n++] = state;
	if (o->include[0]) {
		argv[n++] = "--include";
		argv[n++] = o->include;
	}
	if (o->mirror) {
		argv[n++] = "--mirror";
		argv[n++] = o->mirror;
	}
	if (cache) {
		argv[n++] = "--cache";
		argv[n++] = cache;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execv(builder, (char *const *)argv);
		fprintf(stderr, "bh: template build: cannot run %s: %s\n",
			builder, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	builder_pgid = pid;
	/* A signal that came before the group existed. */
	if (got_signal)
		kill(-pid, got_signal);
	do {
		w = waitpid(pid, &st, 0);
	} while (w < 0 && errno == EINTR);
	wait_group(pid);
	builder_pgid = 0;
	return w < 0 ? -1 : st;
}

/* Removes the staging folder (still locked by us, so no one else does). */
static void drop_staging(const char *path)
{
	if (access(path, F_OK) == 0 && bh_rm_rf(path) < 0)
		cli_err("template build: cannot remove %s: %s; bulkheadd "
			"removes it at its next start",
			path, strerror(errno));
}

static int build(int argc, char **argv)
{
	struct build_opts o;
	struct bh_paths p;
	struct admin_conn *c = NULL;
	char builder[PATH_MAX], tdir[PATH_MAX], stage[PATH_MAX],
		cache[PATH_MAX], body[PATH_MAX + 64];
	const char *text, *leaf;
	int st, wst, lock = -1;

	st = parse_build(argc, argv, &o);
	if (st)
		return st < 0 ? 0 : st;
	if (geteuid() != 0) {
		cli_err("template build: must run as root: mmdebstrap builds "
			"the template's files as root; run `sudo bh template "
			"build %s`",
			o.distro);
		return BH_ADMIN_REFUSED;
	}
	if (find_builder(builder, sizeof(builder)) < 0) {
		cli_err("template build: bh-build-template not found (set "
			"%s, or reinstall Bulkhead with make install)",
			BUILDER_ENV);
		return BH_ADMIN_FAILED;
	}
	if (bh_paths_init(&p) < 0) {
		cli_err("template build: BULKHEAD_ROOT is not usable");
		return BH_EXIT_USAGE;
	}
	c = admin_open(&st);
	if (!c)
		return st;
	/* A taken name is refused before minutes of building. */
	st = admin_request(c, "admin.vm.List", o.name, "", "", &text);
	if (st == 0) {
		cli_err("template build: a qube named '%s' exists; remove it "
			"or pass --name",
			o.name);
		admin_close(c);
		return BH_ADMIN_REFUSED;
	}
	if (st != BH_ADMIN_NOSUCH) {
		cli_err("template build: %s", text);
		admin_close(c);
		return st;
	}
	if (bh_path_fmt(tdir, sizeof(tdir), "%s/templates", p.state) ||
	    bh_path_fmt(stage, sizeof(stage), "%s/%s%s.XXXXXX", tdir,
			STAGING_PREFIX, o.name) ||
	    bh_path_fmt(cache, sizeof(cache), "%s/cache/templates",
			p.state)) {
		cli_err("template build: state folder path too long");
		admin_close(c);
		return BH_ADMIN_FAILED;
	}
	catch_signals();
	if (bh_mkdir_p(tdir, 0755) < 0 || !mkdtemp(stage)) {
		cli_err("template build: cannot make a build folder in %s: "
			"%s",
			tdir, strerror(errno));
		admin_close(c);
		return BH_ADMIN_FAILED;
	}
	/* Held until the daemon has the folder: its start-up sweep leaves
	 * a locked build folder alone. */
	lock = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		cli_err("template build: cannot lock %s: %s", stage,
			strerror(errno));
		drop_staging(stage);
		admin_close(c);
		return BH_ADMIN_FAILED;
	}
	wst = run_builder(builder, &o, stage,
			  o.no_cache ? NULL : o.cache ? o.cache : cache,
			  p.state);
	st = 0;
	if (got_signal || (wst != -1 && WIFSIGNALED(wst)) ||
	    (wst != -1 && WIFEXITED(wst) &&
	     WEXITSTATUS(wst) == EXIT_INTERRUPTED)) {
		cli_err("template build: interrupted; nothing was registered "
			"and the build folder is removed");
		st = EXIT_INTERRUPTED;
	} else if (wst == -1 || !WIFEXITED(wst) || WEXITSTATUS(wst)) {
		cli_err("template build: building %s failed (see above); "
			"nothing was registered",
			o.name);
		st = wst != -1 && WIFEXITED(wst) &&
				     WEXITSTATUS(wst) == BUILDER_USAGE
			     ? BH_ADMIN_INVALID
			     : BH_ADMIN_FAILED;
	}
	if (st == 0) {
		leaf = strrchr(stage, '/') + 1;
		snprintf(body, sizeof(body), "label=%s import=%s", o.label,
			 leaf);
		st = admin_do(c, "template build",
			      "admin.vm.Create.TemplateVM", o.name, "", body,
			      &text);
		if (st == 0 && got_signal)
			got_signal = 0; /* it is registered: say so */
	}
	drop_staging(stage);
	close(lock);
	admin_close(c);
	if (st == 0)
		printf("template %s registered; `bh template info %s` shows "
		       "its manifest\n",
		       o.name, o.name);
	return st;
}

/* `bh template info NAME`: the template-* features, in a fixed order. */
static int info(int argc, char **argv)
{
	static const char *const order[][2] = {
		{ "distro", "distribution" }, { "suite", "suite" },
		{ "variant", "variant" },     { "include", "included" },
		{ "packages", "packages" },   { "mirror", "mirror" },
		{ "snapshot", "mirror state" }, { "release", "releases" },
		{ "built", "built" },         { "kernel", "kernel" },
		{ "root_mib", "root (MiB)" },
	};
	char *feats = NULL, *vols = NULL;
	const char *line;
	size_t i;
	int st;

	if (argc != 2) {
		cli_err("template info: name one template");
		return BH_ADMIN_INVALID;
	}
	st = admin_fetch("template info", "admin.vm.List", argv[1], "",
			 &feats);
	if (st)
		return st;
	if (!strstr(feats, " class=TemplateVM ")) {
		cli_err("template info: '%s' is not a TemplateVM", argv[1]);
		free(feats);
		return BH_ADMIN_INVALID;
	}
	free(feats);
	st = admin_fetch("template info", "admin.vm.feature.List", argv[1],
			 "", &feats);
	if (st == 0)
		st = admin_fetch("template info", "admin.vm.volume.List",
				 argv[1], "", &vols);
	if (st) {
		free(feats);
		return st;
	}
	printf("%-14s %s\n", "name", argv[1]);
	for (i = 0; i < sizeof(order) / sizeof(*order); i++) {
		char key[64];
		size_t kl;

		kl = (size_t)snprintf(key, sizeof(key), "template-%s ",
				      order[i][0]);
		for (line = feats; line && *line;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1
					       : NULL)
			if (!strncmp(line, key, kl))
				printf("%-14s %.*s\n", order[i][1],
				       (int)strcspn(line + kl, "\n"),
				       line + kl);
	}
	for (line = vols; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, "root ", 5))
			printf("%-14s %.*s\n", "root volume",
			       (int)strcspn(line + 5, "\n"), line + 5);
	if (!strstr(feats, "template-distro "))
		printf("%-14s %s\n", "note",
		       "no build manifest (made by bh-build-guest or "
		       "copied with bh create)");
	free(feats);
	free(vols);
	return 0;
}

int cmd_template_build(int argc, char **argv)
{
	return build(argc, argv);
}

int cmd_template_info(int argc, char **argv)
{
	return info(argc, argv);
}
