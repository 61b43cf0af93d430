/* The admin method table (src/daemon/admin/admin.c) is the only router of admin
 * calls: every method in it once, and it is exactly the list of methods
 * docs/admin-api.md documents (its method table), so that no call can be
 * dispatched in two places, or served undocumented, again. Run from the
 * source tree's top (as tests/run does), where docs/ is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/admin/admin_handlers.h"
#include "daemon/state/store_boot.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

#define DOC "docs/admin-api.md"
#define DOC_MAX 128

struct doc_methods {
	char name[DOC_MAX][64];
	size_t n;
};

static void add(struct doc_methods *m, const char *name)
{
	size_t i;

	assert_true(strlen(name) < sizeof(m->name[0]));
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->name[i], name))
			return; /* a row may repeat a method (import=) */
	assert_true(m->n < DOC_MAX);
	strcpy(m->name[m->n++], name);
}

/* One row's first cell: "admin.vm.Create.AppVM / .TemplateVM", "admin.
 * property.List / Get / Set", "admin.vm.Create.TemplateVM with import=":
 * each alternative replaces the first name's last part. */
static void add_cell(struct doc_methods *m, char *cell)
{
	char first[64], name[128], *alt, *save = NULL, *w;
	size_t base;

	w = strstr(cell, " with ");
	if (w)
		*w = '\0';
	alt = strtok_r(cell, "/", &save);
	assert_non_null(alt);
	while (*alt == ' ')
		alt++;
	assert_true(sscanf(alt, "%63s", first) == 1);
	assert_int_equal(strncmp(first, "admin.", 6), 0);
	add(m, first);
	base = (size_t)(strrchr(first, '.') - first) + 1;
	while ((alt = strtok_r(NULL, "/", &save))) {
		char part[64];

		assert_true(sscanf(alt, " %63s", part) == 1);
		snprintf(name, sizeof(name), "%.*s%s", (int)base, first,
			 part[0] == '.' ? part + 1 : part);
		add(m, name);
	}
}

static void read_doc(struct doc_methods *m)
{
	FILE *f = fopen(DOC, "r");
	char line[8192];
	int in_table = 0;

	if (!f)
		fail_msg("cannot open %s: run from the source tree's top", DOC);
	m->n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *end;

		if (!strncmp(line, "| method |", 10)) {
			in_table = 1;
			continue;
		}
		if (!in_table)
			continue;
		if (line[0] != '|')
			break;
		if (!strncmp(line, "|---", 4))
			continue;
		end = strchr(line + 1, '|');
		assert_non_null(end);
		*end = '\0';
		add_cell(m, line + 1);
	}
	fclose(f);
	assert_true(m->n > 0);
}

static void test_unique(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < admin_methods_count; i++) {
		assert_non_null(admin_methods[i].fn);
		assert_true(admin_methods[i].kind <= ADMIN_KIND_SUBSCRIBE);
		assert_ptr_equal(admin_method_find(admin_methods[i].name),
				 &admin_methods[i]);
		for (j = i + 1; j < admin_methods_count; j++)
			if (!strcmp(admin_methods[i].name,
				    admin_methods[j].name))
				fail_msg("%s is in the table twice",
					 admin_methods[i].name);
	}
	assert_null(admin_method_find("admin.vm.Frobnicate"));
	assert_null(admin_method_find(""));
}

static void test_table_is_the_doc(void **state)
{
	struct doc_methods *m = calloc(1, sizeof(*m));
	size_t i, j;

	(void)state;
	assert_non_null(m);
	read_doc(m);
	for (i = 0; i < m->n; i++)
		if (!admin_method_find(m->name[i]))
			fail_msg("%s documents %s, which the table lacks", DOC,
				 m->name[i]);
	for (i = 0; i < admin_methods_count; i++) {
		for (j = 0; j < m->n; j++)
			if (!strcmp(m->name[j], admin_methods[i].name))
				break;
		if (j == m->n)
			fail_msg("%s is in the table but not in %s",
				 admin_methods[i].name, DOC);
	}
	free(m);
}

/* Without a daemon (admin_call: unit tests, fuzzers) the calls on the
 * running daemon are refused, never run with no daemon or client. */
static void test_runtime_needs_daemon(void **state)
{
	char dir[] = "/tmp/bh-test-admin-table.XXXXXX";
	char err[STORE_ERR_MAX];
	uint8_t buf[512];
	struct admin_reply *r = malloc(sizeof(*r));
	struct store *s;
	size_t i, runtime = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_boot(dir, &s, err, sizeof(err)), 0);
	for (i = 0; i < admin_methods_count; i++) {
		const struct admin_method *am = &admin_methods[i];
		int n;

		if (am->kind != ADMIN_KIND_RUNTIME &&
		    am->kind != ADMIN_KIND_SUBSCRIBE)
			continue;
		runtime++;
		n = bh_admin_call_encode(buf, sizeof(buf), am->name, "work",
					 "", "", 0);
		assert_true(n > 0);
		assert_int_equal(admin_call(s, dir, buf, (uint32_t)n, r),
				 BH_ADMIN_INVALID);
		assert_non_null(strstr(r->text, "needs the running daemon"));
	}
	/* Start, Shutdown, Kill, Pause, Unpause, Console, Log, Events,
	 * daemon.Stop, daemon.Info, AskAgent, Answer. */
	assert_int_equal(runtime, 12);
	store_close(s);
	bh_rm_rf(dir);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_table_is_the_doc),
		cmocka_unit_test(test_runtime_needs_daemon),
	};

	return cmocka_run_group_tests_name("admin_table", tests, NULL, NULL);
}
