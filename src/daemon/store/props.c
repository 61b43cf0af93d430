#include "daemon/store/props.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store/qube_name.h"
#include "daemon/store/qube_uuid.h"
#include "proto/rpc_req.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Digits an integer value may have: enough for any RAM size in MiB and
 * few enough that the sum below cannot overflow a long long. */
#define INT_DIGITS_MAX 18

static const struct {
	unsigned bit;
	const char *name;
} class_names[] = {
	{ QC_TEMPLATE, "TemplateVM" },
	{ QC_APP, "AppVM" },
	{ QC_STANDALONE, "StandaloneVM" },
	{ QC_DISP, "DispVM" },
};

/* Qubes' numbering and colours (core-admin qubes/app.py). */
const struct label labels[LABEL_COUNT] = {
	{ "red", 0xcc0000 },   { "orange", 0xf57900 }, { "yellow", 0xedd400 },
	{ "green", 0x73d216 }, { "gray", 0x555555 },   { "blue", 0x3465a4 },
	{ "purple", 0x75507b }, { "black", 0x000000 },
};

/* Qubes' defaults (core-admin qubes/vm/qubesvm.py) where they carry over:
 * memory 400 MiB and 2 vCPUs. kernelopts is empty rather than Qubes'
 * Xen-specific "swiotlb=2048". netvm and default_dispvm follow the
 * global preferences; kernel follows default_kernel. */
const struct prop_def qube_prop_defs[] = {
	{
		.name = "label",
		.type = PROP_LABEL,
		.classes = QC_ALL,
		.def_kind = DEF_NONE,
	},
	{
		.name = "template",
		.type = PROP_QUBE,
		.classes = QC_APP | QC_DISP,
		.def_kind = DEF_NONE,
		.ref_classes = QC_TEMPLATE,
		.ref_dvm_for_disp = 1,
		/* The running qube's root is a snapshot of the old one. */
		.halted_only = 1,
		/* So that SQLite itself refuses removing a template in use. */
		.in_qubes_row = 1,
	},
	{
		.name = "memory",
		.type = PROP_INT,
		.classes = QC_ALL,
		.def_kind = DEF_CONST,
		.def = "400",
		/* Below this Debian's kernel and initramfs do not boot. */
		.min = 64,
		.max_from = BOUND_HOST_MEM,
		.unit = "MiB",
	},
	{
		.name = "vcpus",
		.type = PROP_INT,
		.classes = QC_ALL,
		.def_kind = DEF_CONST,
		.def = "2",
		.min = 1,
		.max_from = BOUND_HOST_CPUS,
	},
	{
		.name = "kernel",
		.type = PROP_STRING,
		.classes = QC_ALL,
		.def_kind = DEF_GLOBAL,
		.def = "default_kernel",
		.syntax = SYN_KERNEL,
		.max_len = KERNEL_NAME_MAX,
	},
	{
		.name = "kernelopts",
		.type = PROP_STRING,
		.classes = QC_ALL,
		.def_kind = DEF_CONST,
		.def = "",
		.syntax = SYN_PRINTABLE,
		.max_len = KERNELOPTS_MAX,
	},
	{
		.name = "netvm",
		.type = PROP_QUBE,
		.classes = QC_ALL,
		.def_kind = DEF_GLOBAL,
		.def = "default_netvm",
		/* Templates update through a proxy, not a network. */
		.def_none_for = QC_TEMPLATE,
		.ref_classes = QC_ALL,
		.allow_none = 1,
	},
	{
		.name = "default_dispvm",
		.type = PROP_QUBE,
		.classes = QC_ALL,
		.def_kind = DEF_GLOBAL,
		.def = "default_dispvm",
		.ref_classes = QC_APP,
		.ref_dvm = 1,
		.allow_none = 1,
	},
	{
		/* Qubes' name: this AppVM may be the base of disposables. */
		.name = "template_for_dispvms",
		.type = PROP_BOOL,
		.classes = QC_APP,
		.def_kind = DEF_CONST,
		.def = "False",
	},
	{
		.name = "autostart",
		.type = PROP_BOOL,
		.classes = QC_ALL,
		.def_kind = DEF_CONST,
		.def = "False",
	},
	{
		.name = "include_in_backups",
		.type = PROP_BOOL,
		.classes = QC_ALL,
		.def_kind = DEF_CONST,
		.def = "True",
	},
	{
		/* Qubes' name and default: the account `bh run` commands
		 * run as without --user. A qube made from a template (an
		 * AppVM, a DispVM) takes its template's, as in Qubes, so a
		 * disposable runs as its disposable template's. */
		.name = "default_user",
		.type = PROP_STRING,
		.classes = QC_ALL,
		.def_kind = DEF_TEMPLATE,
		.def = "user",
		.syntax = SYN_USER,
		.max_len = BH_RPC_USER_MAX,
	},
	{
		/* Qubes' uuid (write-once there, made at creation): what
		 * policy files name as uuid:UUID. A clone gets its own. */
		.name = "uuid",
		.type = PROP_STRING,
		.classes = QC_ALL,
		.def_kind = DEF_NONE,
		.max_len = QUBE_UUID_LEN,
		.read_only = 1,
	},
};
const size_t qube_prop_count = ARRAY_LEN(qube_prop_defs);

/* Unset global preferences are "" (none), as a fresh install has no
 * template or net qube yet. */
const struct prop_def global_pref_defs[] = {
	{
		.name = "default_template",
		.type = PROP_QUBE,
		.def_kind = DEF_CONST,
		.def = "",
		.ref_classes = QC_TEMPLATE,
		.allow_none = 1,
	},
	{
		.name = "default_dispvm",
		.type = PROP_QUBE,
		.def_kind = DEF_CONST,
		.def = "",
		.ref_classes = QC_APP,
		.ref_dvm = 1,
		.allow_none = 1,
	},
	{
		.name = "default_netvm",
		.type = PROP_QUBE,
		.def_kind = DEF_CONST,
		.def = "",
		.ref_classes = QC_ALL,
		.allow_none = 1,
	},
	{
		.name = "default_kernel",
		.type = PROP_STRING,
		.def_kind = DEF_CONST,
		.def = "",
		.syntax = SYN_KERNEL,
		.max_len = KERNEL_NAME_MAX,
	},
};
const size_t global_pref_count = ARRAY_LEN(global_pref_defs);

const char *qube_class_name(unsigned cls)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(class_names); i++)
		if (class_names[i].bit == cls)
			return class_names[i].name;
	return "?";
}

int qube_class_parse(const char *untrusted, unsigned *cls)
{
	size_t i;

	for (i = 0; untrusted && i < ARRAY_LEN(class_names); i++) {
		if (!strcmp(untrusted, class_names[i].name)) {
			*cls = class_names[i].bit;
			return 0;
		}
	}
	return -EINVAL;
}

const struct label *label_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < LABEL_COUNT; i++)
		if (!strcmp(name, labels[i].name))
			return &labels[i];
	return NULL;
}

static const struct prop_def *find(const struct prop_def *t, size_t n,
				   const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

const struct prop_def *qube_prop_find(const char *name)
{
	return find(qube_prop_defs, qube_prop_count, name);
}

const struct prop_def *global_pref_find(const char *name)
{
	return find(global_pref_defs, global_pref_count, name);
}

int prop_parse_bool(const char *untrusted, int *out)
{
	static const char *const yes[] = { "True", "true", "on", "1" };
	static const char *const no[] = { "False", "false", "off", "0" };
	size_t i;

	for (i = 0; untrusted && i < ARRAY_LEN(yes); i++) {
		if (!strcmp(untrusted, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(untrusted, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

void prop_limits_host(struct prop_limits *l)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	l->mem_mib = pages > 0 && psize > 0 ?
			     (long long)pages * psize / (1024 * 1024) :
			     0;
	l->cpus = cpus > 0 ? cpus : 1;
}

static long long int_max(const struct prop_def *p, const struct prop_limits *l)
{
	switch (p->max_from) {
	case BOUND_HOST_MEM:
		return l->mem_mib;
	case BOUND_HOST_CPUS:
		return l->cpus;
	case BOUND_CONST:
		break;
	}
	return p->max;
}

/* "AppVM", "TemplateVM or AppVM", ... for messages. */
static void class_list(unsigned mask, char *out, size_t cap)
{
	size_t i, n = 0, len = 0;

	out[0] = '\0';
	for (i = 0; i < ARRAY_LEN(class_names); i++)
		n += !!(mask & class_names[i].bit);
	for (i = 0; i < ARRAY_LEN(class_names); i++) {
		if (!(mask & class_names[i].bit))
			continue;
		n--;
		int w = snprintf(out + len, cap - len, "%s%s",
				 class_names[i].name,
				 n == 0 ? "" : n == 1 ? " or " : ", ");
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

/* "a TemplateVM", "an AppVM", "a qube": what a reference may name. */
static void ref_text(unsigned mask, char *out, size_t cap)
{
	char list[64];

	if (mask == QC_ALL) {
		snprintf(out, cap, "a qube");
		return;
	}
	class_list(mask, list, sizeof(list));
	snprintf(out, cap, "%s %s", list[0] == 'A' ? "an" : "a", list);
}

static int put(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ERANGE;
	memcpy(out, s, n + 1);
	return 0;
}

static int parse_int(const struct prop_def *p, const struct prop_ctx *c,
		     const char *v, char *out, size_t cap, char *err,
		     size_t ecap)
{
	long long max = int_max(p, &c->limits), n = 0;
	size_t i;

	for (i = 0; v[i] && i < INT_DIGITS_MAX; i++) {
		if (v[i] < '0' || v[i] > '9')
			break;
		n = n * 10 + (v[i] - '0');
	}
	if (i == 0 || v[i] || n < p->min || n > max) {
		if (p->unit)
			snprintf(err, ecap,
				 "%s must be an integer number of %s between "
				 "%lld and %lld",
				 p->name, p->unit, p->min, max);
		else
			snprintf(err, ecap,
				 "%s must be an integer between %lld and %lld",
				 p->name, p->min, max);
		return -EINVAL;
	}
	return snprintf(out, cap, "%lld", n) >= (int)cap ? -ERANGE : 0;
}

static int kernel_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
	       ch == '+' || ch == '-';
}

static int parse_string(const struct prop_def *p, const char *v, char *out,
			size_t cap, char *err, size_t ecap)
{
	size_t i, len = strnlen(v, p->max_len + 1);
	int ok = len <= p->max_len;

	if (ok && p->syntax == SYN_USER)
		ok = bh_rpc_user_ok(v, len);
	for (i = 0; ok && i < len; i++) {
		if (p->syntax == SYN_PRINTABLE)
			ok = v[i] >= 0x20 && v[i] <= 0x7e;
		else if (p->syntax == SYN_KERNEL)
			/* A leading '.' would let "." or ".." escape
			 * STATE/kernels/. */
			ok = kernel_char(v[i]) && !(i == 0 && v[i] == '.');
	}
	if (ok)
		return put(out, cap, v);
	if (p->syntax == SYN_USER)
		snprintf(err, ecap,
			 "%s must be a user name: a lower-case letter or _, "
			 "then lower-case letters, digits, _ and -, at most "
			 "%zu characters",
			 p->name, p->max_len);
	else if (p->syntax == SYN_KERNEL)
		snprintf(err, ecap,
			 "%s must be a kernel version of letters, digits and "
			 ". _ + - (not starting with .), at most %zu "
			 "characters, or empty",
			 p->name, p->max_len);
	else
		snprintf(err, ecap,
			 "%s must be printable ASCII without control "
			 "characters, at most %zu bytes",
			 p->name, p->max_len);
	return -EINVAL;
}

static int parse_qube(const struct prop_def *p, const struct prop_ctx *c,
		      const char *v, char *out, size_t cap, char *err,
		      size_t ecap)
{
	char why[128], classes[80];
	unsigned cls, want = p->ref_classes;
	int r, dvm = p->ref_dvm;

	if (p->ref_dvm_for_disp && c->self_class == QC_DISP) {
		want = QC_APP;
		dvm = 1;
	}
	if (dvm)
		snprintf(classes, sizeof(classes),
			 "a disposable template (an AppVM with "
			 "template_for_dispvms=True)");
	else
		ref_text(want, classes, sizeof(classes));
	if (!v[0] && p->allow_none)
		return put(out, cap, "");
	if (!v[0]) {
		snprintf(err, ecap, "%s must name %s", p->name, classes);
		return -EINVAL;
	}
	if (qube_name_check(v, why, sizeof(why))) {
		snprintf(err, ecap, "%s must name %s%s (%s)", p->name,
			 classes, p->allow_none ? ", or be empty for none" : "",
			 why);
		return -EINVAL;
	}
	/* v is a valid name from here on: safe to show. */
	if (c->self_name && !strcmp(v, c->self_name)) {
		snprintf(err, ecap, "%s cannot name the qube itself ('%s')",
			 p->name, v);
		return -EINVAL;
	}
	r = c->lookup ? c->lookup(c->lookup_arg, v, &cls) : -ENOENT;
	if (r == -ENOENT) {
		snprintf(err, ecap, "%s: there is no qube named '%s'", p->name,
			 v);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (!(cls & want)) {
		snprintf(err, ecap, "%s must name %s, not the %s '%s'",
			 p->name, classes, qube_class_name(cls), v);
		return -EINVAL;
	}
	if (dvm) {
		r = c->is_dvm ? c->is_dvm(c->lookup_arg, v) : 0;
		if (r < 0)
			return r;
		if (!r) {
			snprintf(err, ecap,
				 "%s must name %s; '%s' is not one: make it one "
				 "with `bh prefs %s template_for_dispvms True`",
				 p->name, classes, v, v);
			return -EINVAL;
		}
	}
	return put(out, cap, v);
}

int prop_parse(const struct prop_def *p, const struct prop_ctx *c,
	       const char *untrusted_value, char *out, size_t out_cap,
	       char *err, size_t err_cap)
{
	const char *v = untrusted_value;
	char classes[64];
	int b;

	if (p->classes && !(p->classes & c->self_class)) {
		class_list(p->classes, classes, sizeof(classes));
		snprintf(err, err_cap,
			 "%s qubes have no property %s (only %s qubes do)",
			 qube_class_name(c->self_class), p->name, classes);
		return -ENOENT;
	}
	if (p->halted_only && c->is_running) {
		snprintf(err, err_cap,
			 "%s can be changed only while the qube is halted",
			 p->name);
		return -EBUSY;
	}
	if (!v)
		v = "\x01"; /* refused by every type below, with its message */
	switch (p->type) {
	case PROP_BOOL:
		if (prop_parse_bool(v, &b) == 0)
			return put(out, out_cap, b ? "True" : "False");
		snprintf(err, err_cap,
			 "%s must be True or False (also true/on/1, "
			 "false/off/0)",
			 p->name);
		return -EINVAL;
	case PROP_INT:
		return parse_int(p, c, v, out, out_cap, err, err_cap);
	case PROP_STRING:
		return parse_string(p, v, out, out_cap, err, err_cap);
	case PROP_LABEL:
		if (label_find(v))
			return put(out, out_cap, v);
		snprintf(err, err_cap,
			 "%s must be one of: red orange yellow green gray "
			 "blue purple black",
			 p->name);
		return -EINVAL;
	case PROP_QUBE:
		return parse_qube(p, c, v, out, out_cap, err, err_cap);
	}
	snprintf(err, err_cap, "%s has an unknown type", p->name);
	return -EINVAL;
}

int prop_default_value(const struct prop_def *p, unsigned cls,
		       const char *self, const char *gvalue,
		       const struct prop_limits *l, char *out, size_t cap)
{
	const char *v;

	if (p->def_kind == DEF_NONE)
		return -ENOENT;
	if (cls & p->def_none_for)
		return put(out, cap, "");
	v = p->def_kind == DEF_GLOBAL ? (gvalue ? gvalue : "") : p->def;
	if (p->type == PROP_QUBE && self && !strcmp(v, self))
		v = "";
	if (p->type == PROP_INT) {
		long long n = strtoll(v, NULL, 10), max = int_max(p, l);

		/* A 1-CPU host gets 1 vCPU by default, not a refusal. */
		if (n > max)
			n = max;
		if (n < p->min)
			n = p->min;
		return snprintf(out, cap, "%lld", n) >= (int)cap ? -ERANGE : 0;
	}
	return put(out, cap, v);
}
