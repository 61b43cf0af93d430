/* Qube classes, labels, and the typed properties of qubes and global
 * preferences, as tables of data: each property's type, the classes that
 * have it, its default and its bounds. prop_parse turns what a user typed
 * into the canonical text the store keeps, or says what is allowed. It
 * needs no database: the caller passes a function that looks qubes up. */
#ifndef BH_DAEMON_PROPS_H
#define BH_DAEMON_PROPS_H

#include <stddef.h>
#include <stdint.h>

/* Classes, as bits so a property can name the set that has it. */
enum qube_class {
	QC_TEMPLATE = 1u << 0,	 /* TemplateVM: holds a root filesystem */
	QC_APP = 1u << 1,	 /* AppVM: root from its template, read-only */
	QC_STANDALONE = 1u << 2, /* StandaloneVM: its own root */
	QC_DISP = 1u << 3,	 /* DispVM: a named disposable of a DVM */
};
#define QC_ALL (QC_TEMPLATE | QC_APP | QC_STANDALONE | QC_DISP)

/* "TemplateVM", "AppVM", "StandaloneVM", "DispVM"; "?" for anything else. */
const char *qube_class_name(unsigned cls);
/* Exact class name to its bit; -EINVAL otherwise. */
int qube_class_parse(const char *untrusted, unsigned *cls);

/* Qubes' eight labels, black the most trusted and red the least. */
#define LABEL_COUNT 8
struct label {
	const char *name;
	uint32_t rgb; /* 0xRRGGBB, for window frames */
};
extern const struct label labels[LABEL_COUNT];
/* The label called name (exactly), or NULL. */
const struct label *label_find(const char *name);

/* Longest canonical value the store keeps for a property (kernelopts). */
#define PROP_VALUE_MAX 1024
/* kernelopts: the guest kernel's command line takes 2048 bytes on x86 and
 * the daemon adds its own options. */
#define KERNELOPTS_MAX 1024
/* A kernel version is a folder name under STATE/kernels/. */
#define KERNEL_NAME_MAX 127

enum prop_type {
	PROP_BOOL,   /* "True" / "False" */
	PROP_INT,    /* decimal, within [min, max] */
	PROP_STRING, /* text of a given syntax */
	PROP_LABEL,  /* one of labels[] */
	PROP_QUBE,   /* name of another qube of a suitable class */
};

enum prop_syntax {
	SYN_NONE,
	SYN_PRINTABLE, /* printable ASCII and space */
	SYN_KERNEL,    /* [A-Za-z0-9._+-], not starting with '.', or "" */
	SYN_USER,      /* an account name the agent accepts (bh_rpc_user_ok) */
};

enum prop_default {
	DEF_NONE,   /* no default: set at creation, cannot be reset */
	DEF_CONST,  /* the text in def */
	DEF_GLOBAL, /* the global preference named in def */
	/* The value of the qube's template (an AppVM's TemplateVM, a
	 * DispVM's disposable template, and so on up), as Qubes'
	 * _default_with_template; the text in def for a qube without one. */
	DEF_TEMPLATE,
};

/* Where an integer property's upper bound comes from. */
enum prop_bound {
	BOUND_CONST,	 /* max */
	BOUND_HOST_MEM,	 /* prop_limits.mem_mib */
	BOUND_HOST_CPUS, /* prop_limits.cpus */
};

/* The host's limits, a parameter so tests can set their own. */
struct prop_limits {
	long long mem_mib;
	long long cpus;
};

struct prop_def {
	const char *name;
	enum prop_type type;
	unsigned classes; /* QC_* that have it; 0 for global preferences */
	enum prop_default def_kind;
	const char *def;
	/* Classes whose default is "" (none) whatever def says: a template
	 * has no netvm, as in Qubes. */
	unsigned def_none_for;
	/* PROP_INT */
	long long min, max;
	enum prop_bound max_from;
	const char *unit; /* "MiB" or NULL, for messages */
	/* PROP_STRING */
	enum prop_syntax syntax;
	size_t max_len;
	/* PROP_QUBE: classes the named qube may have; "" allowed for none */
	unsigned ref_classes;
	int allow_none;
	/* The named qube must be a disposable template: an AppVM with
	 * template_for_dispvms=True (prop_ctx.is_dvm says). */
	int ref_dvm;
	/* For a DispVM the reference is a disposable template instead of
	 * ref_classes (its template is the DVM it is made from). */
	int ref_dvm_for_disp;
	/* Only while the qube is halted (template). */
	int halted_only;
	/* Kept in qubes.template_id rather than qube_props. */
	int in_qubes_row;
	/* Made by the store and never set or reset (uuid, in qubes.uuid). */
	int read_only;
};

extern const struct prop_def qube_prop_defs[];
extern const size_t qube_prop_count;
extern const struct prop_def global_pref_defs[];
extern const size_t global_pref_count;

/* Exact-name lookups; NULL when there is no such property. */
const struct prop_def *qube_prop_find(const char *name);
const struct prop_def *global_pref_find(const char *name);

/* Finds the class of the qube called name: 0 and *cls, or -ENOENT. */
typedef int (*prop_lookup_fn)(void *arg, const char *name, unsigned *cls);

/* Whether the qube called name (which lookup found) has
 * template_for_dispvms=True: 1, 0, or a negative errno. */
typedef int (*prop_is_dvm_fn)(void *arg, const char *name);

/* What prop_parse checks a value against. */
struct prop_ctx {
	const char *self_name; /* the qube being changed; NULL for globals */
	unsigned self_class;   /* its class; 0 for globals */
	int is_running;	       /* the qube is not halted */
	struct prop_limits limits;
	prop_lookup_fn lookup;
	/* NULL: no qube is a disposable template. */
	prop_is_dvm_fn is_dvm;
	void *lookup_arg;
};

/* Parses and checks untrusted_value for property p in context c, and
 * writes its canonical text to out. Returns 0; -EINVAL with a message
 * naming the property and what it allows; -ENOENT when the qube's class
 * has no such property; -ERANGE when out is too small; or what lookup
 * returned other than -ENOENT. Messages never echo the value except a
 * qube name that passed qube_name_check. */
int prop_parse(const struct prop_def *p, const struct prop_ctx *c,
	       const char *untrusted_value, char *out, size_t out_cap,
	       char *err, size_t err_cap);

/* The default of p for a qube of class cls called self, given gvalue,
 * the value of the global preference p->def names ("" when unset or for
 * DEF_CONST). For DEF_TEMPLATE it is def, what a qube without a template
 * gets (the store follows the template for the others). A default never names the qube itself: it is "" then.
 * Integer defaults are clamped to the host's limits. Returns 0, -ENOENT
 * for DEF_NONE, -ERANGE when out is too small. */
int prop_default_value(const struct prop_def *p, unsigned cls,
		       const char *self, const char *gvalue,
		       const struct prop_limits *l, char *out, size_t cap);

/* True/true/on/1 → 1, False/false/off/0 → 0, anything else -EINVAL. */
int prop_parse_bool(const char *untrusted, int *out);

/* This machine's RAM in MiB and online CPUs. */
void prop_limits_host(struct prop_limits *l);

#endif
