/* The RPC policy engine: Qubes' qrexec policy in its R5.0 format
 * (docs/policy.md). The files NAME.policy of ROOT/etc/bulkhead/policy.d are read in
 * C-locale order; each line is
 *     SERVICE  ARGUMENT  SOURCE  TARGET  ACTION  [PARAM=VALUE ...]
 * or a directive (!include PATH, !include-dir PATH, !include-service
 * SERVICE ARGUMENT PATH) that reads more files in its place, and the
 * first line that matches a call decides it; no match is deny.
 *
 * Fail closed: a file name that is not allowed, a file that cannot be read
 * or a single invalid line anywhere makes the whole policy invalid, and an
 * invalid policy denies every call. Loading collects every error (for
 * `bh policy lint`), not only the first.
 *
 * The engine needs no database: the caller describes the qubes it knows
 * (struct policy_system) and the call (struct policy_request). Loading is
 * cheap (a few tens of microseconds for the default files), so the caller
 * may load the policy again for every call: a change takes effect on the
 * next call, with no restart. */
#ifndef BH_DAEMON_POLICY_H
#define BH_DAEMON_POLICY_H

#include <stddef.h>

/* Where the policy lives under the root prefix (BULKHEAD_ROOT). */
#define POLICY_DIR_SUFFIX "/etc/bulkhead/policy.d"

/* Limits on policy files. They are written by the administrator, but a
 * limit keeps a mistake (a binary file, a runaway generator) from eating
 * the daemon's memory, and each is reported as an error, never cut. */
#define POLICY_FILES_MAX 256		/* files read in all, each include
					 * counted */
#define POLICY_FILE_MAX (1024 * 1024)	/* bytes in one file */
#define POLICY_BYTES_MAX (8 * POLICY_FILE_MAX) /* bytes read in all */
#define POLICY_LINE_MAX 4096		/* bytes in one line, newline excluded */
#define POLICY_RULES_MAX 16384		/* rules in all files */
#define POLICY_FILENAME_MAX 64		/* a file's name in a folder */
#define POLICY_PATH_MAX 160		/* the PATH of an !include* */
#define POLICY_INCLUDE_DEPTH 16		/* includes within includes */
/* A file as messages and decisions name it: its name in the policy
 * folder, an include's PATH, or PATH/NAME for a file of !include-dir. */
#define POLICY_SHOWN_MAX (POLICY_PATH_MAX + 1 + POLICY_FILENAME_MAX)
/* Call names: Qubes' charset; lengths that fit the channel's headers. */
#define POLICY_SERVICE_MAX 64 /* [A-Za-z0-9._-] */
#define POLICY_ARG_MAX 255    /* [A-Za-z0-9+._-], without the leading + */
#define POLICY_USER_MAX 32    /* a Linux user name */
/* Tags as the store keeps them (STORE_KEY_MAX). */
#define POLICY_TAG_MAX 64
/* "@dispvm:" and a qube name (QUBE_NAME_MAX), with the NUL. */
#define POLICY_TARGET_MAX 48
/* A qube's uuid as Qubes writes it: 8-4-4-4-12 lowercase hex digits. */
#define POLICY_UUID_LEN 36
/* dom0's uuid in Qubes: uuid:00000000-0000-0000-0000-000000000000 names
 * the admin domain, like @adminvm and dom0. */
#define POLICY_DOM0_UUID "00000000-0000-0000-0000-000000000000"
/* Errors kept for lint (all are counted), and the size of each. */
#define POLICY_ERRS_MAX 64
#define POLICY_ERR_MAX 512

enum policy_action {
	POLICY_DENY = 0,
	POLICY_ALLOW,
	POLICY_ASK,
};

/* What loading found wrong: "FILE:LINE: why" or "FILE: why" each. */
struct policy_errs {
	size_t count; /* every error found */
	size_t kept;  /* how many are in msg (at most POLICY_ERRS_MAX) */
	char msg[POLICY_ERRS_MAX][POLICY_ERR_MAX];
};

struct policy; /* the rules of every file, in order; opaque */

/* One qube as the policy sees it. The caller owns every string. The
 * admin domain (dom0, class AdminVM) is implicit: never list it. */
struct policy_qube {
	const char *name;
	const char *cls;	   /* "AppVM", "TemplateVM", "StandaloneVM",
				    * "DispVM" */
	const char *const *tags;   /* ntags of them */
	size_t ntags;
	const char *default_dispvm; /* "" or NULL: none */
	/* For a DispVM: the AppVM it was made from ("" or NULL: none);
	 * what a SOURCE of @dispvm:NAME or @dispvm:@tag:T matches. */
	const char *dispvm_base;
	int template_for_dispvms; /* disposables may be made from it */
	int running;		  /* for autostart=no */
	/* What uuid:UUID names: POLICY_UUID_LEN lowercase characters;
	 * NULL or "": the qube has none, and no uuid: token names it. */
	const char *uuid;
	/* A running disposable (dispN): a source the policy knows (class,
	 * dispvm_base, uuid), but never a call's target, as the daemon
	 * routes calls only to recorded qubes and new disposables. Named
	 * as a target (by name or uuid) it is a qube that does not exist. */
	int no_target;
};

struct policy_system {
	const struct policy_qube *qubes;
	size_t nqubes;
	/* The admin domain's default_dispvm (the global preference), for
	 * calls from dom0; "" or NULL: none. */
	const char *default_dispvm;
	void *owned; /* policy_system_load's storage; NULL otherwise */
};

/* One call. The source is trusted (the daemon knows who calls); the rest
 * comes from the calling qube and is checked here before use. */
struct policy_request {
	const char *source;	      /* a qube name, or "dom0" */
	const char *untrusted_target;  /* "" or "@default", a qube name,
					* "@dispvm", "@dispvm:NAME",
					* "@adminvm" or "dom0"; as in
					* Qubes, a qube may also be named
					* uuid:UUID (also @dispvm:uuid:UUID) */
	const char *untrusted_service; /* [A-Za-z0-9._-]{1,64} */
	const char *untrusted_arg;     /* without the '+'; NULL or "": none */
};

/* The targets an ask may offer. */
struct policy_targets {
	char (*name)[POLICY_TARGET_MAX]; /* malloc'd; n of them */
	size_t n;
};

struct policy_decision {
	enum policy_action action;
	/* allow: the resolved target: a qube name, "dom0" or
	 * "@dispvm:NAME" (a new disposable from NAME). ask: "". */
	char target[POLICY_TARGET_MAX];
	char user[POLICY_USER_MAX + 1]; /* "" for the qube's default */
	int notify;
	int autostart;
	/* The rule that decided: file (as messages name it) and line;
	 * line 0 when no rule matched or the policy is invalid. */
	char file[POLICY_SHOWN_MAX + 1];
	unsigned line;
	/* deny: why, for the log and `bh policy check` ("denied by
	 * policy", "no rule matched", "policy invalid: ..."). */
	char reason[POLICY_ERR_MAX];
	/* ask: what the prompt offers, and its preselected entry ("" for
	 * none; always one of targets when set). */
	struct policy_targets targets;
	char default_target[POLICY_TARGET_MAX];
};

/* ---- loading (policy_dir.c: the folder; policy_parse.c: lines) ---- */

/* ROOT/etc/bulkhead/policy.d into out; -ENAMETOOLONG if it does not fit. */
int policy_dir_path(const char *root, char *out, size_t cap);

/* Loads every *.policy file of dir, and the files their directives
 * include (relative PATHs start from dir). Returns 0 with a valid
 * policy; or -EINVAL with *out a policy that denies every call and errs
 * saying why (every error found); or -ENOMEM with *out NULL. errs may be
 * NULL. */
int policy_load_dir(const char *dir, struct policy **out,
		    struct policy_errs *errs);
/* policy_load_dir of ROOT/etc/bulkhead/policy.d. */
int policy_load(const char *root, struct policy **out,
		struct policy_errs *errs);
/* Parses one file's bytes (any bytes: not NUL-terminated, may hold NULs)
 * as if it were the only file, named fname in messages. There is no
 * folder to include from: an !include* directive is an error. Returns as
 * policy_load_dir. */
int policy_parse_buf(const char *fname, const char *buf, size_t len,
		     struct policy **out, struct policy_errs *errs);
void policy_free(struct policy *p);
/* 1 when p is loaded and valid; a NULL or invalid policy denies all. */
int policy_valid(const struct policy *p);
/* Number of rules; for tests and the log. */
size_t policy_rule_count(const struct policy *p);

/* ---- deciding (policy_eval.c) ---- */

/* Decides req under policy p (NULL: deny) and system sys into d, which
 * the caller releases with policy_decision_free. Every failure is a deny
 * with a reason; returns 0, or -ENOMEM (d is then a deny too). */
int policy_evaluate(const struct policy *p, const struct policy_system *sys,
		    const struct policy_request *req,
		    struct policy_decision *d);
void policy_decision_free(struct policy_decision *d);

/* policy_request.c. Splits "SERVICE+ARG" (or "SERVICE") as a qube sends
 * it into service and arg ("" when none), checking charsets and lengths.
 * Returns 0 or -EINVAL; never copies more than the caps. */
int policy_split_call(const char *untrusted_call, char *service,
		      size_t service_cap, char *arg, size_t arg_cap);

/* ---- ask (policy_ask.c) ---- */

/* The targets an ask for req may offer: every target T (dom0, each qube,
 * each @dispvm:NAME a disposable may be made from, and the source's
 * default disposable) such that req with T as its target would be allowed
 * or asked by p, after redirection, without the source itself. Fills out
 * (the caller frees out->name); returns 0, -EINVAL when the request is
 * not valid, or -ENOMEM. */
int policy_ask_targets(const struct policy *p,
		       const struct policy_system *sys,
		       const struct policy_request *req,
		       struct policy_targets *out);
void policy_targets_free(struct policy_targets *t);

/* ---- system information from the store (policy_system.c) ---- */

struct store;
/* Fills sys with every qube of store s (tags, default_dispvm, running,
 * uuid) and the global default_dispvm; sys->owned holds the storage, released
 * by policy_system_free. An AppVM counts as a template for disposables
 * while it is some qube's or the global default_dispvm (the store has no
 * template_for_dispvms property yet). Returns 0 or a store error. */
int policy_system_load(struct store *s, struct policy_system *sys,
		       char *err, size_t cap);
/* Appends n qubes the store does not record (running disposables) to a
 * sys from policy_system_load; the caller owns their strings, which must
 * outlive sys. One whose name sys has already is left out. Returns 0,
 * -EINVAL for a sys not loaded, or -ENOMEM (sys unchanged). */
int policy_system_add(struct policy_system *sys,
		      const struct policy_qube *more, size_t n);
void policy_system_free(struct policy_system *sys);

#endif
