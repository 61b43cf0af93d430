/* Unit tests of module_plan_build (src/agent/modules.c): load order from
 * synthetic modules.dep texts. Nothing is loaded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/modules.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Index of path in the plan, or -1; fails when it is there twice. */
static int plan_index(const struct module_plan *p, const char *path)
{
	int found = -1;
	size_t i;

	for (i = 0; i < p->count; i++) {
		if (strcmp(p->paths[i], path) == 0) {
			assert_int_equal(found, -1);
			found = (int)i;
		}
	}
	return found;
}

static void assert_before(const struct module_plan *p, const char *a,
			  const char *b)
{
	int ia = plan_index(p, a), ib = plan_index(p, b);

	assert_true(ia >= 0);
	assert_true(ib >= 0);
	if (ia >= ib)
		fail_msg("%s (at %d) must load before %s (at %d)", a, ia, b,
			 ib);
}

/* Every path of the plan at most once. */
static void assert_unique(const struct module_plan *p)
{
	size_t i, j;

	for (i = 0; i < p->count; i++)
		for (j = i + 1; j < p->count; j++)
			assert_string_not_equal(p->paths[i], p->paths[j]);
}

static int build(const char *text, const char *const *wanted, size_t n,
		 struct module_plan *p, const char **missing)
{
	*missing = "sentinel";
	return module_plan_build(text, strlen(text), wanted, n, p, missing);
}

static const char virtio_dep[] =
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko "
	"kernel/drivers/virtio/virtio.ko\n";

static void test_deps_first(void **state)
{
	static const char *const wanted[] = { "virtio_mmio", "virtio_blk" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(virtio_dep, wanted, 2, &p, &missing), 0);
	assert_null(missing);
	/* Shared dependencies appear once. */
	assert_int_equal(p.count, 4);
	assert_unique(&p);
	assert_before(&p, "kernel/drivers/virtio/virtio_ring.ko",
		      "kernel/drivers/virtio/virtio.ko");
	assert_before(&p, "kernel/drivers/virtio/virtio.ko",
		      "kernel/drivers/virtio/virtio_mmio.ko");
	assert_before(&p, "kernel/drivers/virtio/virtio_ring.ko",
		      "kernel/drivers/virtio/virtio_mmio.ko");
	assert_before(&p, "kernel/drivers/virtio/virtio.ko",
		      "kernel/drivers/block/virtio_blk.ko");
	assert_before(&p, "kernel/drivers/virtio/virtio_ring.ko",
		      "kernel/drivers/block/virtio_blk.ko");
	module_plan_free(&p);
	assert_int_equal(p.count, 0);
}

static void test_order_of_dep_list_irrelevant(void **state)
{
	/* The same graph with every dependency list reversed. */
	static const char text[] =
		"kernel/c.ko: kernel/a.ko kernel/b.ko\n"
		"kernel/b.ko: kernel/a.ko\n"
		"kernel/a.ko:\n";
	static const char text2[] =
		"kernel/a.ko:\n"
		"kernel/c.ko: kernel/b.ko kernel/a.ko\n"
		"kernel/b.ko: kernel/a.ko\n";
	static const char *const wanted[] = { "c" };
	const char *const texts[] = { text, text2 };
	struct module_plan p;
	const char *missing;
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(build(texts[i], wanted, 1, &p, &missing), 0);
		assert_int_equal(p.count, 3);
		assert_string_equal(p.paths[0], "kernel/a.ko");
		assert_string_equal(p.paths[1], "kernel/b.ko");
		assert_string_equal(p.paths[2], "kernel/c.ko");
		module_plan_free(&p);
	}
}

static void test_wanted_twice_and_wanted_dep(void **state)
{
	static const char *const wanted[] = { "virtio_blk", "virtio",
					      "virtio_blk", "virtio_ring" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(virtio_dep, wanted, ARRAY_LEN(wanted), &p,
			       &missing),
			 0);
	assert_int_equal(p.count, 3);
	assert_unique(&p);
	assert_before(&p, "kernel/drivers/virtio/virtio.ko",
		      "kernel/drivers/block/virtio_blk.ko");
	assert_int_equal(plan_index(&p, "kernel/drivers/virtio/virtio_mmio.ko"),
			 -1);
	module_plan_free(&p);
}

static void test_dash_underscore(void **state)
{
	static const char text[] =
		"kernel/drivers/char/hw_random/rng-core.ko:\n"
		"kernel/drivers/char/hw_random/virtio-rng.ko: "
		"kernel/drivers/char/hw_random/rng-core.ko\n"
		"kernel/fs/over_lay-fs.ko:\n";
	static const char *const w1[] = { "virtio_rng" };
	static const char *const w2[] = { "virtio-rng" };
	static const char *const w3[] = { "over-lay_fs" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(text, w1, 1, &p, &missing), 0);
	assert_int_equal(p.count, 2);
	assert_string_equal(p.paths[0],
			    "kernel/drivers/char/hw_random/rng-core.ko");
	assert_string_equal(p.paths[1],
			    "kernel/drivers/char/hw_random/virtio-rng.ko");
	module_plan_free(&p);

	assert_int_equal(build(text, w2, 1, &p, &missing), 0);
	assert_int_equal(p.count, 2);
	module_plan_free(&p);

	assert_int_equal(build(text, w3, 1, &p, &missing), 0);
	assert_int_equal(p.count, 1);
	assert_string_equal(p.paths[0], "kernel/fs/over_lay-fs.ko");
	module_plan_free(&p);
}

static void test_name_matches_whole_basename(void **state)
{
	static const char text[] =
		"kernel/drivers/virtio/virtio_ring.ko:\n"
		"kernel/virtio/x.ko:\n"
		"kernel/drivers/virtio.kox:\n"
		"kernel/drivers/virtio/virtio.ko:\n";
	static const char *const w1[] = { "virtio" };
	static const char *const w2[] = { "virt" };
	static const char *const w3[] = { "ring" };
	struct module_plan p;
	const char *missing;

	/* "virtio" is neither virtio_ring.ko nor the virtio/ folder. */
	assert_int_equal(build(text, w1, 1, &p, &missing), 0);
	assert_int_equal(p.count, 1);
	assert_string_equal(p.paths[0], "kernel/drivers/virtio/virtio.ko");
	module_plan_free(&p);

	assert_int_equal(build(text, w2, 1, &p, &missing), -ENOENT);
	assert_string_equal(missing, "virt");
	assert_int_equal(p.count, 0);
	assert_int_equal(build(text, w3, 1, &p, &missing), -ENOENT);
	assert_string_equal(missing, "ring");
}

static void test_missing_wanted(void **state)
{
	static const char *const wanted[] = { "virtio_mmio", "virtio_console",
					      "virtio_blk" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(virtio_dep, wanted, 3, &p, &missing), -ENOENT);
	assert_non_null(missing);
	assert_string_equal(missing, "virtio_console");
	/* Nothing is left to free. */
	assert_int_equal(p.count, 0);
}

static void test_missing_dep_line(void **state)
{
	/* virtio_blk names virtio.ko, which has no line of its own. */
	static const char text[] =
		"kernel/drivers/virtio/virtio_ring.ko:\n"
		"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko "
		"kernel/drivers/virtio/virtio_ring.ko\n";
	static const char *const wanted[] = { "virtio_ring", "virtio_blk" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(text, wanted, 2, &p, &missing), -ENOENT);
	assert_non_null(missing);
	assert_string_not_equal(missing, "sentinel");
	assert_int_equal(p.count, 0);
}

static void test_dep_matched_by_exact_path(void **state)
{
	/* A dependency is its path, not its name: a line for another
	 * virtio.ko does not stand in for it. */
	static const char text[] =
		"kernel/other/virtio.ko:\n"
		"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\n";
	static const char *const wanted[] = { "virtio_blk" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(text, wanted, 1, &p, &missing), -ENOENT);
	assert_int_equal(p.count, 0);
}

static void test_cycle(void **state)
{
	static const char two[] = "kernel/a.ko: kernel/b.ko\n"
				  "kernel/b.ko: kernel/a.ko\n";
	static const char self[] = "kernel/a.ko: kernel/a.ko\n";
	static const char three[] = "kernel/x.ko:\n"
				    "kernel/a.ko: kernel/x.ko kernel/b.ko\n"
				    "kernel/b.ko: kernel/c.ko\n"
				    "kernel/c.ko: kernel/a.ko\n";
	static const char *const wanted[] = { "a" };
	const char *const texts[] = { two, self, three };
	struct module_plan p;
	const char *missing;
	size_t i;

	for (i = 0; i < ARRAY_LEN(texts); i++) {
		print_message("cycle text %zu\n", i);
		assert_int_equal(build(texts[i], wanted, 1, &p, &missing),
				 -ELOOP);
		assert_int_equal(p.count, 0);
	}
}

/* A long chain m0 <- m1 <- ... : m(i) depends on m(i-1). */
static char *chain_text(int n)
{
	size_t cap = (size_t)n * 64 + 1;
	char *t = malloc(cap);
	size_t off = 0;
	int i;

	assert_non_null(t);
	for (i = 0; i < n; i++) {
		if (i == 0)
			off += (size_t)snprintf(t + off, cap - off,
						"kernel/m0.ko:\n");
		else
			off += (size_t)snprintf(t + off, cap - off,
						"kernel/m%d.ko: kernel/m%d.ko\n",
						i, i - 1);
	}
	return t;
}

static void test_deep_chain(void **state)
{
	char *t = chain_text(AGENT_MAX_MODULES);
	char top[16];
	const char *wanted[1] = { top };
	struct module_plan p;
	const char *missing;
	char want[32];
	size_t i;

	/* A chain of exactly the limit is no cycle and fits. */
	snprintf(top, sizeof(top), "m%d", AGENT_MAX_MODULES - 1);
	assert_int_equal(build(t, wanted, 1, &p, &missing), 0);
	assert_int_equal(p.count, AGENT_MAX_MODULES);
	for (i = 0; i < p.count; i++) {
		snprintf(want, sizeof(want), "kernel/m%zu.ko", i);
		assert_string_equal(p.paths[i], want);
	}
	module_plan_free(&p);
	free(t);
}

static void test_too_many(void **state)
{
	enum { N = AGENT_MAX_MODULES + 1 };
	char *t = malloc(N * 64), names[N][16];
	const char *wanted[N];
	struct module_plan p;
	const char *missing;
	size_t off = 0;
	int i;

	assert_non_null(t);
	for (i = 0; i < N; i++) {
		off += (size_t)sprintf(t + off, "kernel/w%d.ko:\n", i);
		snprintf(names[i], sizeof(names[i]), "w%d", i);
		wanted[i] = names[i];
	}
	/* The limit itself is fine... */
	assert_int_equal(build(t, wanted, N - 1, &p, &missing), 0);
	assert_int_equal(p.count, AGENT_MAX_MODULES);
	module_plan_free(&p);
	/* ...one more is refused and nothing leaks (ASan run). */
	assert_int_equal(build(t, wanted, N, &p, &missing), -E2BIG);
	assert_int_equal(p.count, 0);

	/* Through dependencies too: one module needing 64 others. */
	off = 0;
	off += (size_t)sprintf(t + off, "kernel/top.ko:");
	for (i = 0; i < N - 1; i++)
		off += (size_t)sprintf(t + off, " kernel/w%d.ko", i);
	off += (size_t)sprintf(t + off, "\n");
	for (i = 0; i < N - 1; i++)
		off += (size_t)sprintf(t + off, "kernel/w%d.ko:\n", i);
	(void)off;
	wanted[0] = "top";
	assert_int_equal(build(t, wanted, 1, &p, &missing), -E2BIG);
	assert_int_equal(p.count, 0);
	free(t);
}

static void test_lines_without_colon(void **state)
{
	static const char text[] =
		"# a comment line\n"
		"kernel/drivers/virtio/virtio_blk.ko\n"
		"\n"
		"garbage without colon kernel/x.ko\n"
		"kernel/drivers/virtio/virtio_ring.ko:\n"
		"kernel/drivers/block/virtio_blk.ko: "
		"kernel/drivers/virtio/virtio_ring.ko\n"
		"trailing line without newline or colon";
	static const char *const wanted[] = { "virtio_blk" };
	static const char *const w2[] = { "x" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build(text, wanted, 1, &p, &missing), 0);
	assert_int_equal(p.count, 2);
	assert_string_equal(p.paths[0], "kernel/drivers/virtio/virtio_ring.ko");
	assert_string_equal(p.paths[1], "kernel/drivers/block/virtio_blk.ko");
	module_plan_free(&p);
	assert_int_equal(build(text, w2, 1, &p, &missing), -ENOENT);
}

static void test_empty_text(void **state)
{
	static const char *const wanted[] = { "virtio_blk" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(build("", wanted, 0, &p, &missing), 0);
	assert_int_equal(p.count, 0);
	assert_null(missing);
	assert_int_equal(build("", wanted, 1, &p, &missing), -ENOENT);
	assert_string_equal(missing, "virtio_blk");
	assert_int_equal(build("\n\n\n", wanted, 1, &p, &missing), -ENOENT);
	assert_int_equal(build(":\n: :\n", wanted, 1, &p, &missing), -ENOENT);
	/* A NULL text of length 0 is empty too. */
	missing = "sentinel";
	assert_int_equal(module_plan_build(NULL, 0, wanted, 1, &p, &missing),
			 -ENOENT);
}

static void test_length_is_honoured(void **state)
{
	/* The text is not NUL-terminated at len: the line after it must not
	 * be found. */
	static const char text[] = "kernel/a.ko:\nkernel/b.ko:\n";
	static const char *const wanted[] = { "b" };
	struct module_plan p;
	const char *missing;

	assert_int_equal(module_plan_build(text, 13, wanted, 1, &p, &missing),
			 -ENOENT);
	assert_int_equal(module_plan_build(text, sizeof(text) - 1, wanted, 1,
					   &p, &missing),
			 0);
	assert_int_equal(p.count, 1);
	module_plan_free(&p);
}

/* Lines of the modules.dep of Debian's 6.1.0-cloud-amd64 kernel (the guest
 * kernel today), in their order; virtio_net's own dependencies have no line
 * here, which is fine as long as nobody wants it. */
static const char real_dep[] =
	"kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko\n"
	"kernel/fs/overlayfs/overlay.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/char/hw_random/virtio-rng.ko: "
	"kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
	"kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n";

static void test_real_world_shape(void **state)
{
	/* The list in src/agent/main.c. */
	static const char *const wanted[] = {
		"virtio_mmio", "virtio_console", "virtio_blk", "virtio_rng",
		"overlay",
	};
	static const char *const all[] = {
		"kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/virtio/virtio_mmio.ko",
		"kernel/drivers/char/virtio_console.ko",
		"kernel/drivers/block/virtio_blk.ko",
		"kernel/drivers/char/hw_random/virtio-rng.ko",
		"kernel/fs/overlayfs/overlay.ko",
	};
	static const char *const net[] = { "virtio_net" };
	struct module_plan p;
	const char *missing;
	size_t i;

	assert_int_equal(build(real_dep, wanted, ARRAY_LEN(wanted), &p,
			       &missing),
			 0);
	assert_null(missing);
	assert_int_equal(p.count, ARRAY_LEN(all));
	assert_unique(&p);
	/* The wanted ones in their order, each after its dependencies. */
	for (i = 0; i < ARRAY_LEN(all); i++)
		assert_string_equal(p.paths[i], all[i]);
	assert_int_equal(plan_index(&p, "kernel/fs/fuse/virtiofs.ko"), -1);
	module_plan_free(&p);

	/* virtio_net needs lines this text lacks. */
	assert_int_equal(build(real_dep, net, 1, &p, &missing), -ENOENT);
	assert_string_equal(missing, "virtio_net");
	assert_int_equal(p.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deps_first),
		cmocka_unit_test(test_order_of_dep_list_irrelevant),
		cmocka_unit_test(test_wanted_twice_and_wanted_dep),
		cmocka_unit_test(test_dash_underscore),
		cmocka_unit_test(test_name_matches_whole_basename),
		cmocka_unit_test(test_missing_wanted),
		cmocka_unit_test(test_missing_dep_line),
		cmocka_unit_test(test_dep_matched_by_exact_path),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_lines_without_colon),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_length_is_honoured),
		cmocka_unit_test(test_real_world_shape),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("modules_plan", tests, NULL, NULL);
}
