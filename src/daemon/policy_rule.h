/* The parsed form of policy rules, shared by policy_parse.c,
 * policy_eval.c and policy_ask.c only. Every string here passed the
 * parser's checks: printable ASCII of a known charset and length. */
#ifndef BH_DAEMON_POLICY_RULE_H
#define BH_DAEMON_POLICY_RULE_H

#include <stddef.h>

#include "daemon/policy.h"
#include "daemon/qube_name.h"

/* What a SOURCE, TARGET, target= or default_target= token names. */
enum policy_tok_kind {
	TOK_NAME,	/* a literal qube name (value) */
	TOK_ADMINVM,	/* @adminvm, or dom0 */
	TOK_ANYVM,	/* @anyvm: anything but dom0 */
	TOK_ANY,	/* *: anything */
	TOK_TAG,	/* @tag:value */
	TOK_TYPE,	/* @type:value */
	TOK_DISPVM_NAME, /* @dispvm:value */
	TOK_DISPVM_TAG, /* @dispvm:@tag:value */
	TOK_DEFAULT,	/* @default (TARGET only) */
	TOK_DISPVM,	/* @dispvm (TARGET and redirects) */
};

/* The longest value: a tag. */
#define POLICY_VALUE_MAX POLICY_TAG_MAX

struct policy_tok {
	enum policy_tok_kind kind;
	char value[POLICY_VALUE_MAX + 1]; /* "" when the kind has none */
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
	char (*files)[POLICY_FILENAME_MAX + 1];
	size_t nfiles;
	int invalid;
	char why[POLICY_ERR_MAX]; /* the first error, when invalid */
};

/* An intended or resolved target: the kinds a call can name. */
struct policy_dest {
	enum policy_tok_kind kind; /* NAME, ADMINVM, DEFAULT, DISPVM,
				    * DISPVM_NAME */
	char name[QUBE_NAME_MAX + 1];
};

/* ---- policy_parse.c, for policy_dir.c ---- */

/* Where errors go while one file or folder is parsed. */
struct parse_ctx {
	struct policy *p;
	struct policy_errs *errs; /* may be NULL */
	const char *fname;	  /* for messages */
	unsigned file;		  /* index into p->files */
	unsigned line;		  /* 0: an error about the file as a whole */
};

/* Records "FILE:LINE: why" (or "FILE: why" when c->line is 0) and makes
 * the policy invalid. */
void policy_perr(struct parse_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parses one file's bytes into c->p; -ENOMEM is the only error returned,
 * the others are recorded. */
int policy_parse_bytes(struct parse_ctx *c, const char *buf, size_t len);
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
/* The destination a redirect token names. */
void policy_tok_dest(const struct policy_tok *tok, struct policy_dest *d);

#endif
