/* Unit tests of src/daemon/store/props.c: the property tables, each type's
 * parsing and its edges, qube references against a fake set of qubes,
 * and defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/store/props.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The qubes that lookups see. */
static const struct {
	const char *name;
	unsigned cls;
} fake_qubes[] = {
	{ "debian-12", QC_TEMPLATE },
	{ "work", QC_APP },
	{ "default-dvm", QC_APP },
	{ "vault", QC_STANDALONE },
	{ "sys-net", QC_APP },
	{ "disp42", QC_DISP },
};

static int fake_lookup(void *arg, const char *name, unsigned *cls)
{
	size_t i;

	if (arg)
		return *(int *)arg; /* forced error */
	for (i = 0; i < ARRAY_LEN(fake_qubes); i++) {
		if (!strcmp(name, fake_qubes[i].name)) {
			*cls = fake_qubes[i].cls;
			return 0;
		}
	}
	return -ENOENT;
}

/* default-dvm is the one disposable template (template_for_dispvms). */
static int fake_is_dvm(void *arg, const char *name)
{
	if (arg)
		return *(int *)arg;
	return !strcmp(name, "default-dvm");
}

static struct prop_ctx ctx(const char *self, unsigned cls)
{
	struct prop_ctx c = {
		.self_name = self,
		.self_class = cls,
		.limits = { .mem_mib = 23964, .cpus = 4 },
		.lookup = fake_lookup,
		.is_dvm = fake_is_dvm,
	};

	return c;
}

static char out[PROP_VALUE_MAX + 1], err[512];

/* Parses `in` for property `name` of the AppVM "work" (or of class cls). */
static int parse_as(const char *name, unsigned cls, const char *in)
{
	const struct prop_def *p = qube_prop_find(name);
	struct prop_ctx c = ctx("work", cls);

	assert_non_null(p);
	strcpy(out, "untouched");
	err[0] = '\0';
	return prop_parse(p, &c, in, out, sizeof(out), err, sizeof(err));
}

static int parse(const char *name, const char *in)
{
	return parse_as(name, QC_APP, in);
}

static void expect_ok(const char *name, const char *in, const char *canon)
{
	int r = parse(name, in);

	if (r != 0 || strcmp(out, canon))
		fail_msg("%s='%s': r=%d out='%s' err='%s', expected '%s'",
			 name, in, r, out, err, canon);
}

static void expect_bad(const char *name, const char *in, const char *msg)
{
	int r = parse(name, in);

	if (r != -EINVAL || (msg && strcmp(err, msg)))
		fail_msg("%s='%s': r=%d err='%s', expected -EINVAL '%s'", name,
			 in ? in : "(null)", r, err, msg ? msg : "");
}

/* ---- tables ---- */

static void test_tables_consistent(void **state)
{
	size_t i;

	for (i = 0; i < qube_prop_count; i++) {
		const struct prop_def *p = &qube_prop_defs[i];

		assert_ptr_equal(qube_prop_find(p->name), p);
		assert_true(p->classes != 0);
		assert_int_equal(p->classes & ~QC_ALL, 0);
		if (p->def_kind == DEF_GLOBAL)
			assert_non_null(global_pref_find(p->def));
		if (p->def_kind == DEF_CONST || p->def_kind == DEF_TEMPLATE)
			assert_non_null(p->def);
		if (p->type == PROP_QUBE)
			assert_true(p->ref_classes != 0);
		if (p->type == PROP_STRING)
			assert_true(p->max_len <= PROP_VALUE_MAX);
	}
	for (i = 0; i < global_pref_count; i++) {
		const struct prop_def *g = &global_pref_defs[i];

		assert_ptr_equal(global_pref_find(g->name), g);
		assert_int_equal(g->classes, 0);
		assert_int_equal(g->def_kind, DEF_CONST);
	}
	assert_null(qube_prop_find("nope"));
	assert_null(qube_prop_find(NULL));
	assert_null(global_pref_find("memory"));
	assert_non_null(global_pref_find("default_template"));
	assert_non_null(global_pref_find("default_dispvm"));
	assert_non_null(global_pref_find("default_netvm"));
	assert_non_null(global_pref_find("default_kernel"));
}

/* The list, and who has what. */
static void test_table_contents(void **state)
{
	static const char *const names[] = {
		"label",      "template", "memory",		"vcpus",
		"kernel",     "kernelopts", "default_dispvm", "autostart",
		"include_in_backups", "netvm", "template_for_dispvms",
		"default_user",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++)
		assert_non_null(qube_prop_find(names[i]));
	assert_int_equal(qube_prop_find("template")->classes,
			 QC_APP | QC_DISP);
	assert_int_equal(qube_prop_find("template_for_dispvms")->classes,
			 QC_APP);
	assert_string_equal(qube_prop_find("template_for_dispvms")->def,
			    "False");
	assert_int_equal(qube_prop_find("template")->ref_classes, QC_TEMPLATE);
	assert_int_equal(qube_prop_find("default_dispvm")->def_kind,
			 DEF_GLOBAL);
	assert_string_equal(qube_prop_find("default_dispvm")->def,
			    "default_dispvm");
	assert_string_equal(qube_prop_find("netvm")->def, "default_netvm");
	assert_string_equal(qube_prop_find("kernel")->def, "default_kernel");
}

static void test_classes(void **state)
{
	static const char *const names[] = { "TemplateVM", "AppVM",
					     "StandaloneVM", "DispVM" };
	unsigned cls;
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		assert_int_equal(qube_class_parse(names[i], &cls), 0);
		assert_string_equal(qube_class_name(cls), names[i]);
	}
	assert_int_equal(qube_class_parse("appvm", &cls), -EINVAL);
	assert_int_equal(qube_class_parse("AdminVM", &cls), -EINVAL);
	assert_int_equal(qube_class_parse("", &cls), -EINVAL);
	assert_int_equal(qube_class_parse(NULL, &cls), -EINVAL);
	assert_string_equal(qube_class_name(0), "?");
	assert_string_equal(qube_class_name(QC_APP | QC_DISP), "?");
}

static void test_labels(void **state)
{
	static const char *const order[] = { "red",  "orange", "yellow",
					     "green", "gray",   "blue",
					     "purple", "black" };
	size_t i;

	for (i = 0; i < LABEL_COUNT; i++) {
		assert_string_equal(labels[i].name, order[i]);
		assert_ptr_equal(label_find(order[i]), &labels[i]);
	}
	assert_int_equal(label_find("red")->rgb, 0xcc0000);
	assert_int_equal(label_find("black")->rgb, 0x000000);
	assert_null(label_find("Red"));
	assert_null(label_find("white"));
	assert_null(label_find(NULL));
}

/* ---- types ---- */

static void test_bool(void **state)
{
	static const char *const yes[] = { "True", "true", "on", "1" };
	static const char *const no[] = { "False", "false", "off", "0" };
	static const char *const bad[] = { "TRUE", "yes", "no", "",
					   " true", "true ", "2", "01",
					   "On", "FALSE" };
	const char *msg = "autostart must be True or False (also "
			  "true/on/1, false/off/0)";
	size_t i;
	int b;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		expect_ok("autostart", yes[i], "True");
		expect_ok("include_in_backups", no[i], "False");
		assert_int_equal(prop_parse_bool(yes[i], &b), 0);
		assert_int_equal(b, 1);
		assert_int_equal(prop_parse_bool(no[i], &b), 0);
		assert_int_equal(b, 0);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++)
		expect_bad("autostart", bad[i], msg);
	expect_bad("autostart", NULL, msg);
	assert_int_equal(prop_parse_bool(NULL, &b), -EINVAL);
}

static void test_memory(void **state)
{
	const char *msg = "memory must be an integer number of MiB between "
			  "64 and 23964";
	static const char *const bad[] = {
		"63",	  "0",	   "23965", "-1",  "+64",	"1e3",
		" 100",	  "100 ",  "",	    "0x100", "100MiB", "4.5",
		"999999999999999999", "99999999999999999999999",
		"9223372036854775808",
	};
	size_t i;

	expect_ok("memory", "64", "64");
	expect_ok("memory", "400", "400");
	expect_ok("memory", "23964", "23964");
	expect_ok("memory", "0400", "400");
	expect_ok("memory", "000000000000000064", "64"); /* 18 digits */
	for (i = 0; i < ARRAY_LEN(bad); i++)
		expect_bad("memory", bad[i], msg);
	expect_bad("memory", "0000000000000000064", msg); /* 19 digits */
	expect_bad("memory", NULL, msg);
}

static void test_vcpus(void **state)
{
	const char *msg = "vcpus must be an integer between 1 and 4";

	expect_ok("vcpus", "1", "1");
	expect_ok("vcpus", "4", "4");
	expect_bad("vcpus", "0", msg);
	expect_bad("vcpus", "5", msg);
	expect_bad("vcpus", "-1", msg);
	expect_bad("vcpus", "two", msg);
}

/* The host's limits come from the context, not the machine. */
static void test_limits_from_ctx(void **state)
{
	const struct prop_def *p = qube_prop_find("memory");
	struct prop_ctx c = ctx("work", QC_APP);
	struct prop_limits host;

	c.limits.mem_mib = 100;
	assert_int_equal(prop_parse(p, &c, "100", out, sizeof(out), err,
				    sizeof(err)),
			 0);
	assert_int_equal(prop_parse(p, &c, "101", out, sizeof(out), err,
				    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "memory must be an integer number of MiB "
				 "between 64 and 100");
	prop_limits_host(&host);
	assert_true(host.mem_mib >= 64);
	assert_true(host.cpus >= 1);
}

static void test_kernel(void **state)
{
	const char *msg = "kernel must be a kernel version of letters, digits "
			  "and . _ + - (not starting with .), at most 127 "
			  "characters, or empty";
	char v[KERNEL_NAME_MAX + 2];

	expect_ok("kernel", "6.1.0-28-cloud-amd64", "6.1.0-28-cloud-amd64");
	expect_ok("kernel", "", "");
	expect_ok("kernel", "6.12.9+bpo-cloud", "6.12.9+bpo-cloud");
	expect_ok("kernel", "current", "current");
	expect_bad("kernel", ".", msg);
	expect_bad("kernel", "..", msg);
	expect_bad("kernel", ".hidden", msg);
	expect_bad("kernel", "../../etc", msg);
	expect_bad("kernel", "a/b", msg);
	expect_bad("kernel", "6.1 x", msg);
	expect_bad("kernel", "6.1\n", msg);
	expect_bad("kernel", "6.1\xc3\xa9", msg);
	memset(v, 'k', sizeof(v));
	v[KERNEL_NAME_MAX] = '\0';
	expect_ok("kernel", v, v);
	v[KERNEL_NAME_MAX] = 'k';
	v[KERNEL_NAME_MAX + 1] = '\0';
	expect_bad("kernel", v, msg);
	/* The global preference follows the same rule. */
	assert_int_equal(global_pref_find("default_kernel")->syntax,
			 SYN_KERNEL);
}

static void test_kernelopts(void **state)
{
	const char *msg = "kernelopts must be printable ASCII without "
			  "control characters, at most 1024 bytes";
	static char v[KERNELOPTS_MAX + 2];

	expect_ok("kernelopts", "console=ttyS0 quiet", "console=ttyS0 quiet");
	expect_ok("kernelopts", "", "");
	expect_ok("kernelopts", " ~!\"#$%&'()*+,", " ~!\"#$%&'()*+,");
	expect_bad("kernelopts", "a\tb", msg);
	expect_bad("kernelopts", "a\nb", msg);
	expect_bad("kernelopts", "a\rb", msg);
	expect_bad("kernelopts", "\x1b[2J", msg);
	expect_bad("kernelopts", "a\x7f", msg);
	expect_bad("kernelopts", "caf\xc3\xa9", msg);
	memset(v, 'o', sizeof(v));
	v[KERNELOPTS_MAX] = '\0';
	expect_ok("kernelopts", v, v);
	v[KERNELOPTS_MAX] = 'o';
	v[KERNELOPTS_MAX + 1] = '\0';
	expect_bad("kernelopts", v, msg);
}

/* Qubes' default_user: every class has it, "user" without a template
 * (the store follows the template for the others), and only names the
 * agent accepts as an account (bh_rpc_user_ok). */
static void test_default_user(void **state)
{
	const char *msg = "default_user must be a user name: a lower-case "
			  "letter or _, then lower-case letters, digits, _ "
			  "and -, at most 32 characters";
	const struct prop_def *p = qube_prop_find("default_user");
	struct prop_limits big = { 23964, 4 };
	char v[40];

	assert_non_null(p);
	assert_int_equal(p->classes, QC_ALL);
	assert_int_equal(p->def_kind, DEF_TEMPLATE);
	assert_int_equal(prop_default_value(p, QC_TEMPLATE, "t", "", &big, v,
					    sizeof(v)),
			 0);
	assert_string_equal(v, "user");
	expect_ok("default_user", "user", "user");
	expect_ok("default_user", "root", "root");
	expect_ok("default_user", "_svc-2", "_svc-2");
	expect_ok("default_user", "abcdefghijklmnopqrstuvwxyz012345",
		  "abcdefghijklmnopqrstuvwxyz012345");
	expect_bad("default_user", "abcdefghijklmnopqrstuvwxyz0123456", msg);
	expect_bad("default_user", "", msg);
	expect_bad("default_user", "User", msg);
	expect_bad("default_user", "9lives", msg);
	expect_bad("default_user", "-rf", msg);
	expect_bad("default_user", "a b", msg);
	expect_bad("default_user", "a:b", msg);
	expect_bad("default_user", "a\nb", msg);
	expect_bad("default_user", "caf\xc3\xa9", msg);
	expect_bad("default_user", NULL, msg);
}

static void test_label(void **state)
{
	const char *msg = "label must be one of: red orange yellow green gray "
			  "blue purple black";
	size_t i;

	for (i = 0; i < LABEL_COUNT; i++)
		expect_ok("label", labels[i].name, labels[i].name);
	expect_bad("label", "Red", msg);
	expect_bad("label", "white", msg);
	expect_bad("label", "", msg);
	expect_bad("label", "red ", msg);
	expect_bad("label", "1", msg);
}

static void test_template(void **state)
{
	expect_ok("template", "debian-12", "debian-12");
	expect_bad("template", "default-dvm",
		   "template must name a TemplateVM, not the AppVM "
		   "'default-dvm'");
	expect_bad("template", "vault",
		   "template must name a TemplateVM, not the StandaloneVM "
		   "'vault'");
	expect_bad("template", "nope", "template: there is no qube named "
				       "'nope'");
	expect_bad("template", "", "template must name a TemplateVM");
	expect_bad("template", "0bad",
		   "template must name a TemplateVM (qube names must start "
		   "with a letter)");
	/* Only AppVMs have one. */
	assert_int_equal(parse_as("template", QC_TEMPLATE, "debian-12"),
			 -ENOENT);
	assert_string_equal(err, "TemplateVM qubes have no property template "
				 "(only AppVM or DispVM qubes do)");
	assert_int_equal(parse_as("template", QC_STANDALONE, "debian-12"),
			 -ENOENT);
	assert_string_equal(out, "untouched");
}

static void test_template_halted_only(void **state)
{
	const struct prop_def *p = qube_prop_find("template");
	struct prop_ctx c = ctx("work", QC_APP);

	c.is_running = 1;
	assert_int_equal(prop_parse(p, &c, "debian-12", out, sizeof(out), err,
				    sizeof(err)),
			 -EBUSY);
	assert_string_equal(err, "template can be changed only while the "
				 "qube is halted");
	/* Other properties may change while it runs (next start). */
	assert_int_equal(prop_parse(qube_prop_find("memory"), &c, "800", out,
				    sizeof(out), err, sizeof(err)),
			 0);
}

static void test_netvm(void **state)
{
	expect_ok("netvm", "", "");
	expect_ok("netvm", "sys-net", "sys-net");
	expect_ok("netvm", "debian-12", "debian-12");
	expect_ok("netvm", "vault", "vault");
	expect_bad("netvm", "work",
		   "netvm cannot name the qube itself ('work')");
	expect_bad("netvm", "nope", "netvm: there is no qube named 'nope'");
	expect_bad("netvm", "a b",
		   "netvm must name a qube, or be empty for none (qube names "
		   "may contain only letters, digits, _ . -)");
	expect_bad("netvm", "none", "netvm must name a qube, or be empty for "
				    "none ('none' is reserved)");
}

static void test_default_dispvm(void **state)
{
	expect_ok("default_dispvm", "", "");
	expect_ok("default_dispvm", "default-dvm", "default-dvm");
	expect_bad("default_dispvm", "debian-12",
		   "default_dispvm must name a disposable template (an AppVM "
		   "with template_for_dispvms=True), not the TemplateVM "
		   "'debian-12'");
	expect_bad("default_dispvm", "disp42",
		   "default_dispvm must name a disposable template (an AppVM "
		   "with template_for_dispvms=True), not the DispVM "
		   "'disp42'");
	expect_bad("default_dispvm", "work",
		   "default_dispvm cannot name the qube itself ('work')");
	/* An AppVM, but not a disposable template. */
	expect_bad("default_dispvm", "sys-net",
		   "default_dispvm must name a disposable template (an AppVM "
		   "with template_for_dispvms=True); 'sys-net' is not one: "
		   "make it one with `bh prefs sys-net template_for_dispvms "
		   "True`");
}

static void test_template_for_dispvms(void **state)
{
	expect_ok("template_for_dispvms", "true", "True");
	expect_ok("template_for_dispvms", "0", "False");
	expect_bad("template_for_dispvms", "maybe",
		   "template_for_dispvms must be True or False (also "
		   "true/on/1, false/off/0)");
	assert_int_equal(parse_as("template_for_dispvms", QC_TEMPLATE, "True"),
			 -ENOENT);
	assert_int_equal(parse_as("template_for_dispvms", QC_DISP, "True"),
			 -ENOENT);
}

/* A DispVM's template is the disposable template it is made from. */
static void test_dispvm_template(void **state)
{
	assert_int_equal(parse_as("template", QC_DISP, "default-dvm"), 0);
	assert_string_equal(out, "default-dvm");
	assert_int_equal(parse_as("template", QC_DISP, "debian-12"), -EINVAL);
	assert_string_equal(err, "template must name a disposable template "
				 "(an AppVM with template_for_dispvms=True), "
				 "not the TemplateVM 'debian-12'");
	assert_int_equal(parse_as("template", QC_DISP, "sys-net"), -EINVAL);
	assert_string_equal(err, "template must name a disposable template "
				 "(an AppVM with template_for_dispvms=True); "
				 "'sys-net' is not one: make it one with `bh "
				 "prefs sys-net template_for_dispvms True`");
	/* An AppVM's template is still a TemplateVM. */
	assert_int_equal(parse_as("template", QC_APP, "default-dvm"),
			 -EINVAL);
}

/* Without is_dvm no qube is a disposable template. */
static void test_is_dvm_missing(void **state)
{
	const struct prop_def *p = qube_prop_find("default_dispvm");
	struct prop_ctx c = ctx("work", QC_APP);

	c.is_dvm = NULL;
	assert_int_equal(prop_parse(p, &c, "default-dvm", out, sizeof(out),
				    err, sizeof(err)),
			 -EINVAL);
}

/* A lookup that fails for another reason passes its error through. */
static void test_lookup_error(void **state)
{
	const struct prop_def *p = qube_prop_find("netvm");
	struct prop_ctx c = ctx("work", QC_APP);
	int e = -EIO;

	c.lookup_arg = &e;
	assert_int_equal(prop_parse(p, &c, "sys-net", out, sizeof(out), err,
				    sizeof(err)),
			 -EIO);
	c.lookup = NULL;
	c.lookup_arg = NULL;
	assert_int_equal(prop_parse(p, &c, "sys-net", out, sizeof(out), err,
				    sizeof(err)),
			 -EINVAL);
}

static void test_global_prefs_parse(void **state)
{
	struct prop_ctx c = ctx(NULL, 0);
	const struct prop_def *g;

	g = global_pref_find("default_template");
	assert_int_equal(prop_parse(g, &c, "debian-12", out, sizeof(out), err,
				    sizeof(err)),
			 0);
	assert_int_equal(prop_parse(g, &c, "work", out, sizeof(out), err,
				    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "default_template must name a TemplateVM, "
				 "not the AppVM 'work'");
	assert_int_equal(prop_parse(g, &c, "", out, sizeof(out), err,
				    sizeof(err)),
			 0);
	g = global_pref_find("default_dispvm");
	assert_int_equal(prop_parse(g, &c, "vault", out, sizeof(out), err,
				    sizeof(err)),
			 -EINVAL);
	g = global_pref_find("default_netvm");
	assert_int_equal(prop_parse(g, &c, "work", out, sizeof(out), err,
				    sizeof(err)),
			 0);
	g = global_pref_find("default_kernel");
	assert_int_equal(prop_parse(g, &c, "..", out, sizeof(out), err,
				    sizeof(err)),
			 -EINVAL);
}

static void test_out_too_small(void **state)
{
	const struct prop_def *p = qube_prop_find("kernelopts");
	struct prop_ctx c = ctx("work", QC_APP);
	char small[4];

	assert_int_equal(prop_parse(p, &c, "abcd", small, sizeof(small), err,
				    sizeof(err)),
			 -ERANGE);
	assert_int_equal(prop_parse(p, &c, "abc", small, sizeof(small), err,
				    sizeof(err)),
			 0);
	assert_int_equal(prop_parse(qube_prop_find("memory"), &c, "1000",
				    small, sizeof(small), err, sizeof(err)),
			 -ERANGE);
}

/* ---- defaults ---- */

static const char *dflt(const char *name, unsigned cls, const char *self,
			const char *gvalue, const struct prop_limits *l)
{
	static char v[PROP_VALUE_MAX + 1];
	int r = prop_default_value(qube_prop_find(name), cls, self, gvalue, l,
				   v, sizeof(v));

	assert_int_equal(r, 0);
	return v;
}

static void test_defaults(void **state)
{
	struct prop_limits big = { 23964, 4 }, tiny = { 300, 1 };
	char v[8];

	assert_string_equal(dflt("memory", QC_APP, "w", "", &big), "400");
	assert_string_equal(dflt("vcpus", QC_APP, "w", "", &big), "2");
	/* Clamped to a small host, not refused at start. */
	assert_string_equal(dflt("memory", QC_APP, "w", "", &tiny), "300");
	assert_string_equal(dflt("vcpus", QC_APP, "w", "", &tiny), "1");
	assert_string_equal(dflt("kernelopts", QC_APP, "w", "", &big), "");
	assert_string_equal(dflt("autostart", QC_APP, "w", "", &big), "False");
	assert_string_equal(dflt("include_in_backups", QC_APP, "w", "", &big),
			    "True");
	/* From the global preferences. */
	assert_string_equal(dflt("netvm", QC_APP, "w", "sys-net", &big),
			    "sys-net");
	assert_string_equal(dflt("netvm", QC_STANDALONE, "w", "sys-net",
				 &big),
			    "sys-net");
	assert_string_equal(dflt("netvm", QC_APP, "w", NULL, &big), "");
	assert_string_equal(dflt("kernel", QC_APP, "w", "6.1.0", &big),
			    "6.1.0");
	assert_string_equal(dflt("default_dispvm", QC_APP, "w", "dvm", &big),
			    "dvm");
	/* Templates have no netvm by default. */
	assert_string_equal(dflt("netvm", QC_TEMPLATE, "t", "sys-net", &big),
			    "");
	/* The default never names the qube itself. */
	assert_string_equal(dflt("netvm", QC_APP, "sys-net", "sys-net", &big),
			    "");
	assert_string_equal(dflt("default_dispvm", QC_APP, "dvm", "dvm",
				 &big),
			    "");
	/* No default for these. */
	assert_int_equal(prop_default_value(qube_prop_find("label"), QC_APP,
					    "w", "", &big, v, sizeof(v)),
			 -ENOENT);
	assert_int_equal(prop_default_value(qube_prop_find("template"), QC_APP,
					    "w", "", &big, v, sizeof(v)),
			 -ENOENT);
	assert_int_equal(prop_default_value(qube_prop_find("netvm"), QC_APP,
					    "w", "a-long-netvm-name", &big, v,
					    sizeof(v)),
			 -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_consistent),
		cmocka_unit_test(test_table_contents),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_vcpus),
		cmocka_unit_test(test_limits_from_ctx),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_kernelopts),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_template_halted_only),
		cmocka_unit_test(test_netvm),
		cmocka_unit_test(test_default_dispvm),
		cmocka_unit_test(test_template_for_dispvms),
		cmocka_unit_test(test_dispvm_template),
		cmocka_unit_test(test_is_dvm_missing),
		cmocka_unit_test(test_lookup_error),
		cmocka_unit_test(test_global_prefs_parse),
		cmocka_unit_test(test_out_too_small),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests_name("props", tests, NULL, NULL);
}
