/* The parsed form of policy rules, shared by policy_parse.c,
 * policy_eval.c and policy_ask.c only. Every string here passed the
 * parser's checks: printable ASCII of a known charset and length. */
#ifndef BH_DAEMON_POLICY_RULE_H
#define BH_DAEMON_POLICY_RULE_H

#include <stddef.h>

#include "daemon/policy/policy.h"
#include "daemon/store/qube_name.h"

/* What a SOURCE, TARGET, target= or default_target= token names. */
enum policy_tok_kind {
	TOK_NAME,	/* a literal qube name, or uuid:UUID (value) */
	TOK_ADMINVM,	/* @adminvm, dom0, or dom0's uuid */
	TOK_ANYVM,	/* @anyvm: anything but dom0 */
	TOK_ANY,	/* *: anything */
	TOK_TAG,	/* @tag:value */
	TOK_TYPE,	/* @type:value */
	TOK_DISPVM_NAME, /* @dispvm:value (a name or uuid:UUID) */
	TOK_DISPVM_TAG, /* @dispvm:@tag:value */
	TOK_DEFAULT,	/* @default (TARGET only) */
	TOK_DISPVM,	/* @dispvm (TARGET and redirects) */
};

/* The longest value: a tag. */
#define POLICY_VALUE_MAX POLICY_TAG_MAX

struct policy_tok {
	enum policy_tok_kind kind;
	char value[POLICY_VALUE_MAX + 1]; /* "" when the kind has none */
	/* TOK_NAME, TOK_DISPVM_NAME: value is a qube's uuid, not its
	 * name (the token was uuid:UUID or @dispvm:uuid:UUID). */
	int by_uuid;
};

struct policy_rule {
	char service[POLICY_SERVICE_MAX + 1]; /* "" for * */
	int any_arg;			       /* ARGUMENT was * */
	char arg[POLICY_ARG_MAX + 1];	       /* after the '+'; "" for + */
	struct policy_tok source;
	struct policy_tok target;
	enum policy_action action;
	int has_redirect; /* target= */
	struct policy_tok redirect;
	int has_default_target;
	struct policy_tok default_target;
	char user[POLICY_USER_MAX + 1]; /* "" when not given */
	int notify;			/* with the action's default */
	int autostart;
	unsigned file; /* index into policy.files */
	unsigned line;
};

struct policy {
	struct policy_rule *rules;
	size_t nrules, cap;
	/* Every file read, in order, each name malloc'd on its own: a
	 * file being parsed keeps pointing at its name while includes add
	 * more. */
	char **files;
	size_t nfiles;
	int invalid;
	char why[POLICY_ERR_MAX]; /* the first error, when invalid */
};

/* An intended or resolved target: the kinds a call can name. */
struct policy_dest {
	enum policy_tok_kind kind; /* NAME, ADMINVM, DEFAULT, DISPVM,
				    * DISPVM_NAME */
	char name[QUBE_NAME_MAX + 1];
	/* ADMINVM: 1 when the caller named dom0 (dom0, or its uuid), 0 for
	 * the keyword @adminvm. In Qubes only the first is a qube of the
	 * system, which @type:AdminVM and @tag:T look up. */
	int named;
};

/* ---- policy_parse.c, for policy_dir.c ---- */

struct policy_loader; /* policy_dir.c: the folder and open includes */

/* Where errors go while one file or folder is parsed. */
struct parse_ctx {
	struct policy *p;
	struct policy_errs *errs; /* may be NULL */
	const char *fname;	  /* for messages */
	unsigned file;		  /* index into p->files */
	unsigned line;		  /* 0: an error about the file as a whole */
	/* Includes are read through ld; NULL: a lone buffer, with no
	 * folder to include from. */
	struct policy_loader *ld;
	/* A file of !include-service: its lines are SOURCE TARGET ACTION
	 * [PARAMS], for this service and argument. NULL: full lines. */
	const struct policy_rule *svc;
};

/* Records "FILE:LINE: why" (or "FILE: why" when c->line is 0) and makes
 * the policy invalid. */
void policy_perr(struct parse_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parses one file's bytes into c->p; -ENOMEM is the only error returned,
 * the others are recorded. */
int policy_parse_bytes(struct parse_ctx *c, const char *buf, size_t len);
/* 1 when s is a uuid as Qubes writes one (8-4-4-4-12 lowercase hex
 * digits); s is read only up to its first unfit byte. */
int policy_uuid_ok(const char *s);
/* Checks SERVICE and ARGUMENT fields into r->service, r->any_arg and
 * r->arg, as a rule's first two fields; 0, or -1 with the error
 * recorded. */
int policy_parse_call_fields(struct parse_ctx *c, const char *service,
			     const char *arg, struct policy_rule *r);

/* ---- policy_dir.c, for policy_parse.c ---- */

/* !include PATH (svc NULL) or !include-service (svc: the service and
 * argument, checked) at c's current line: reads the file at PATH,
 * relative to the policy folder, in place. 0 or -ENOMEM; the other
 * errors are recorded at c's line. */
int policy_include_file(struct parse_ctx *c, const char *path,
			const struct policy_rule *svc);
/* !include-dir PATH: every NAME.policy of that folder, as the policy
 * folder's own files are read. 0 or -ENOMEM, as above. */
int policy_include_dir(struct parse_ctx *c, const char *path);
/* An empty policy; NULL when memory runs out. */
struct policy *policy_new(void);
/* Adds a file name to p; its index in *idx. 0 or -ENOMEM. */
int policy_add_file(struct policy *p, const char *name, unsigned *idx);
/* Hands p out as policy_load_dir does, after the loading error e. */
int policy_finish(struct policy *p, struct policy **out, int e);

/* ---- policy_eval.c, for policy_ask.c ---- */

/* The qube called name in sys, or NULL (dom0 is never in sys). */
const struct policy_qube *policy_find_qube(const struct policy_system *sys,
					   const char *name);
/* The qube whose uuid is uuid, or NULL. */
const struct policy_qube *policy_find_uuid(const struct policy_system *sys,
					   const char *uuid);
/* The name of the qube a TOK_NAME or TOK_DISPVM_NAME token names (its
 * value, or the qube with that uuid), or NULL when no qube has it. */
const char *policy_tok_name(const struct policy_system *sys,
			    const struct policy_tok *t);
/* The checked service and argument of a request, and its source. */
struct policy_call {
	const char *source;
	const char *service;
	const char *arg; /* "" when none */
};
/* Checks req's service, argument and target and fills call (pointing
 * into req) and t, the intended target. A valid name of a qube that does
 * not exist becomes @default, as in Qubes, so that a qube cannot learn
 * which qubes exist by asking. Returns 0 or -EINVAL with why in err. */
int policy_prepare(const struct policy_system *sys,
		   const struct policy_request *req, struct policy_call *call,
		   struct policy_dest *t, char *err, size_t err_cap);
/* 1 when r's service, argument and source match call. */
int policy_match_but_target(const struct policy_rule *r,
			    const struct policy_system *sys,
			    const struct policy_call *call);
/* The first rule matching call with intended target t, or NULL. */
const struct policy_rule *policy_match(const struct policy *p,
				       const struct policy_system *sys,
				       const struct policy_call *call,
				       const struct policy_dest *t);
/* Turns what a rule sends the call to (t, after redirection) into the
 * qube or disposable that gets it, as text in out ("dom0", a name,
 * "@dispvm:NAME"). Returns 0, or -EINVAL with why in err for @default,
 * a missing qube, no default disposable, or the source itself. */
int policy_resolve(const struct policy_system *sys, const char *source,
		   const struct policy_dest *t, char *out, size_t cap,
		   char *err, size_t err_cap);
/* The destination a redirect token names. Returns 0, or -EINVAL with
 * why in err for uuid:UUID when no qube has that uuid. */
int policy_tok_dest(const struct policy_system *sys,
		    const struct policy_tok *tok, struct policy_dest *d,
		    char *err, size_t err_cap);

#endif
