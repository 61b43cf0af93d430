/* libFuzzer target: the policy parser (src/daemon/policy_parse.c) on
 * arbitrary bytes as one policy file, then, if they parsed, the evaluator
 * (policy_eval.c, policy_ask.c) on a fixed set of calls.
 *
 * The parser gets a heap copy of exactly the input's length, so that ASan
 * catches a read past its end. Invariants: a policy is valid exactly when
 * no error was recorded; every error message is "fuzz.policy:LINE: why"
 * (or "fuzz.policy: why"), NUL-terminated and printable ASCII, so that lint
 * output is safe on a terminal; every decision is well formed (an allow
 * names a target and its rule, an ask offers at least one target and
 * never the caller, a deny says why). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy.h"

#include "fuzz_common.h"

static const char *const tags_a[] = { "t", "dev" };
static const char *const tags_b[] = { "t" };

static const struct policy_qube qubes[] = {
	{ .name = "work", .cls = "AppVM", .tags = tags_a, .ntags = 2,
	  .default_dispvm = "dvm", .running = 1 },
	{ .name = "vault", .cls = "AppVM", .default_dispvm = "" },
	{ .name = "dvm", .cls = "AppVM", .tags = tags_b, .ntags = 1,
	  .default_dispvm = "dvm", .template_for_dispvms = 1 },
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
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

NO_COVERAGE
static void check_msg(const char *m)
{
	size_t n = strnlen(m, POLICY_ERR_MAX), i;

	CHECK(n < POLICY_ERR_MAX);
	CHECK(!strncmp(m, "fuzz.policy:", 12));
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
	switch (d->action) {
	case POLICY_ALLOW:
		CHECK(d->target[0] && d->line > 0);
		CHECK(strcmp(d->target, q->source));
		CHECK(!d->targets.n && !d->targets.name);
		break;
	case POLICY_ASK:
		CHECK(d->targets.n >= 1 && d->line > 0);
		CHECK(d->targets.n <= 2 * sys.nqubes + 2);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_errs errs;
	struct policy_decision d;
	struct policy *p;
	char *copy;
	size_t i;
	int r;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	r = policy_parse_buf("fuzz.policy", copy, size, &p, &errs);
	free(copy);
	if (r == -ENOMEM)
		return 0;
	CHECK(p != NULL);
	CHECK(r == 0 || r == -EINVAL);
	CHECK((r == 0) == policy_valid(p));
	CHECK((r == 0) == (errs.count == 0));
	CHECK(errs.kept == (errs.count < POLICY_ERRS_MAX ? errs.count
							 : POLICY_ERRS_MAX));
	for (i = 0; i < errs.kept; i++)
		check_msg(errs.msg[i]);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		CHECK(policy_evaluate(p, &sys, &reqs[i], &d) == 0);
		check_decision(&reqs[i], &d);
		/* An invalid policy denies everything. */
		CHECK(r == 0 || d.action == POLICY_DENY);
		policy_decision_free(&d);
	}
	policy_free(p);
	return 0;
}
