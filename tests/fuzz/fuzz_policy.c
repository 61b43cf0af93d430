/* libFuzzer target: the policy parser (src/daemon/policy/policy_parse.c) and
 * loader (policy_dir.c: folders and includes), then, if the policy is
 * valid, the evaluator (policy_eval.c, policy_ask.c) on a fixed set of
 * calls.
 *
 * Each input is used twice:
 *  1. whole, as one lone file (policy_parse_buf), from a heap copy of
 *     exactly its length, so that ASan catches a read past its end;
 *  2. cut at each "\n===\n" into up to FILES_MAX parts, written to fixed
 *     names in a private folder (a policy folder with its own files, an
 *     include folder, an !include-dir folder), which policy_load_dir
 *     reads, so that !include, !include-dir and !include-service, loops
 *     and nesting are exercised on real files.
 *
 * Invariants: a policy is valid exactly when no error was recorded; every
 * error message is NUL-terminated printable ASCII (lint output is safe on
 * a terminal), and a lone file's start with "fuzz.policy:"; every
 * decision is well formed (an allow names a target and its rule, an ask
 * offers at least one target and never the caller, a deny says why); an
 * invalid policy denies everything. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/policy/policy.h"

#include "fuzz_common.h"

static const char *const tags_a[] = { "t", "dev" };
static const char *const tags_b[] = { "t" };

#define UUID_WORK "6b0f3c51-2a7e-4f43-9a55-0c6e0d1f2a11"
#define UUID_DVM "0e9d7a62-5b8c-4d1e-8f70-3a2b1c0d9e22"

static const struct policy_qube qubes[] = {
	{ .name = "work", .cls = "AppVM", .tags = tags_a, .ntags = 2,
	  .default_dispvm = "dvm", .running = 1, .uuid = UUID_WORK },
	{ .name = "vault", .cls = "AppVM", .default_dispvm = "" },
	{ .name = "dvm", .cls = "AppVM", .tags = tags_b, .ntags = 1,
	  .default_dispvm = "dvm", .template_for_dispvms = 1,
	  .uuid = UUID_DVM },
	{ .name = "fedora", .cls = "TemplateVM", .default_dispvm = "dvm" },
	{ .name = "sa", .cls = "StandaloneVM" },
	{ .name = "disp1", .cls = "DispVM", .dispvm_base = "dvm",
	  .running = 1 },
};

static const struct policy_system sys = {
	qubes, sizeof(qubes) / sizeof(qubes[0]), "dvm", NULL
};

static const struct policy_request reqs[] = {
	{ "work", "vault", "bulkhead.Filecopy", NULL },
	{ "work", "@default", "bulkhead.Filecopy", "" },
	{ "work", "@dispvm", "bulkhead.VMShell", NULL },
	{ "work", "@dispvm:dvm", "bulkhead.VMExec", "ls+-la" },
	{ "disp1", "dom0", "a", "b" },
	{ "dom0", "@adminvm", "a.B", NULL },
	{ "vault", "ghost", "x", "+" },
	{ "fedora", "@dispvm", "bulkhead.UpdatesProxy", NULL },
	{ "sa", "work", "bad service", NULL },
	{ "vault", "uuid:" UUID_WORK, "a", NULL },
	{ "vault", "@dispvm:uuid:" UUID_DVM, "a", NULL },
	{ "work", "uuid:00000000-0000-0000-0000-000000000000", "a", NULL },
	{ "work", "uuid:0", "a", NULL },
};

/* Where the parts of an input go, in the private folder. */
#define FILES_MAX 5
static const char *const names[FILES_MAX] = {
	"50-a.policy", "inc/a", "inc/b", "inc.d/10-c.policy", "60-z.policy",
};
static const char sep[] = "\n===\n";
static char dir[] = "/tmp/bh-fuzz-policy.XXXXXX";

/* Leaves no folder behind when the fuzzer exits normally. */
static void remove_dir(void)
{
	char path[sizeof(dir) + 32];
	size_t k;

	for (k = 0; k < FILES_MAX; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/inc", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/inc.d", dir);
	rmdir(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[sizeof(dir) + 16];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	snprintf(path, sizeof(path), "%s/inc", dir);
	if (mkdir(path, 0700) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/inc.d", dir);
	if (mkdir(path, 0700) < 0)
		abort();
	return 0;
}

NO_COVERAGE
static void check_msg(const char *m, int lone)
{
	size_t n = strnlen(m, POLICY_ERR_MAX), i;

	CHECK(n < POLICY_ERR_MAX);
	CHECK(!lone || !strncmp(m, "fuzz.policy:", 12));
	for (i = 0; i < n; i++)
		CHECK(m[i] >= 0x20 && m[i] <= 0x7e);
}

NO_COVERAGE
static void check_decision(const struct policy_request *q,
			   const struct policy_decision *d)
{
	size_t i;

	CHECK(strnlen(d->target, POLICY_TARGET_MAX) < POLICY_TARGET_MAX);
	CHECK(strnlen(d->reason, POLICY_ERR_MAX) < POLICY_ERR_MAX);
	CHECK(strnlen(d->file, sizeof(d->file)) < sizeof(d->file));
	switch (d->action) {
	case POLICY_ALLOW:
		CHECK(d->target[0] && d->line > 0);
		CHECK(strcmp(d->target, q->source));
		CHECK(!d->targets.n && !d->targets.name);
		break;
	case POLICY_ASK:
		CHECK(d->targets.n >= 1 && d->line > 0);
		CHECK(d->targets.n <= 2 * sys.nqubes + 1);
		for (i = 0; i < d->targets.n; i++) {
			CHECK(d->targets.name[i][0]);
			CHECK(strcmp(d->targets.name[i], q->source));
		}
		if (d->default_target[0]) {
			for (i = 0; i < d->targets.n; i++)
				if (!strcmp(d->targets.name[i],
					    d->default_target))
					break;
			CHECK(i < d->targets.n);
		}
		break;
	case POLICY_DENY:
		CHECK(d->reason[0]);
		CHECK(!d->target[0] && !d->targets.n);
		break;
	default:
		CHECK(0);
	}
}

/* Checks what loading gave (r, p, errs) and decides every call. */
static void check_policy(int r, struct policy *p,
			 const struct policy_errs *errs, int lone)
{
	struct policy_decision d;
	size_t i;

	CHECK(p != NULL);
	CHECK(r == 0 || r == -EINVAL);
	CHECK((r == 0) == policy_valid(p));
	CHECK((r == 0) == (errs->count == 0));
	CHECK(errs->kept == (errs->count < POLICY_ERRS_MAX ? errs->count
							   : POLICY_ERRS_MAX));
	for (i = 0; i < errs->kept; i++)
		check_msg(errs->msg[i], lone);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		CHECK(policy_evaluate(p, &sys, &reqs[i], &d) == 0);
		check_decision(&reqs[i], &d);
		/* An invalid policy denies everything. */
		CHECK(r == 0 || d.action == POLICY_DENY);
		policy_decision_free(&d);
	}
}

/* Writes part k (data, n bytes) to its file; NULL removes the file. */
static void put_part(size_t k, const uint8_t *data, size_t n)
{
	char path[sizeof(dir) + 32];
	size_t off = 0;
	ssize_t w;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
	if (!data) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (off < n && (w = write(fd, data + off, n - off)) > 0)
		off += (size_t)w;
	if (off < n || close(fd) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_errs errs;
	const uint8_t *at = data, *end = data + size;
	struct policy *p;
	char *copy;
	size_t k;
	int r;

	/* 1. The whole input as a lone file. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	r = policy_parse_buf("fuzz.policy", copy, size, &p, &errs);
	free(copy);
	if (r == -ENOMEM)
		return 0;
	check_policy(r, p, &errs, 1);
	policy_free(p);

	/* 2. Its parts as the files of a policy folder. */
	for (k = 0; k < FILES_MAX; k++) {
		const uint8_t *cut = at ? memmem(at, (size_t)(end - at), sep,
						 sizeof(sep) - 1)
					: NULL;

		if (!at) {
			put_part(k, NULL, 0);
			continue;
		}
		put_part(k, at, (size_t)((cut ? cut : end) - at));
		at = cut ? cut + sizeof(sep) - 1 : NULL;
	}
	r = policy_load_dir(dir, &p, &errs);
	if (r == -ENOMEM)
		return 0;
	check_policy(r, p, &errs, 0);
	policy_free(p);
	return 0;
}
