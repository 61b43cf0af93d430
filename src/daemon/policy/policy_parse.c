/* Policy files into rules: each file's lines, each line's fields, and
 * the directives that include more files (read by policy_dir.c). Every
 * error is recorded as "FILE:LINE: why" and parsing goes on, so that lint
 * shows them all; any error leaves the policy invalid, which denies every
 * call. */
#include "daemon/policy/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy/policy_rule.h"

/* A rule has five fields; an action takes at most five parameters, one
 * more lets "given twice" be reported rather than "too many fields". A
 * line of an !include-service file lacks the first two fields. */
#define FIELDS_MAX 11
#define SHORT_FIELDS_MAX (FIELDS_MAX - 2)
/* How much of a field a message repeats. */
#define QUOTE_MAX 48

void policy_perr(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[POLICY_ERR_MAX];
	va_list ap;
	int n;

	if (c->line)
		n = snprintf(msg, sizeof(msg), "%.*s:%u: ", POLICY_SHOWN_MAX,
			     c->fname, c->line);
	else
		n = snprintf(msg, sizeof(msg), "%.*s: ", POLICY_SHOWN_MAX,
			     c->fname);
	/* The prefix is at most about half of msg; the rest is the why. */
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (!c->p->invalid) {
		c->p->invalid = 1;
		memcpy(c->p->why, msg, sizeof(msg));
	}
	if (!c->errs)
		return;
	if (c->errs->kept < POLICY_ERRS_MAX)
		memcpy(c->errs->msg[c->errs->kept++], msg, sizeof(msg));
	c->errs->count++;
}

/* A field, cut for a message. Fields of rule lines are printable ASCII
 * (checked first), so they are safe on a terminal. */
static const char *quote(const char *s, char buf[QUOTE_MAX + 4])
{
	size_t n = strnlen(s, QUOTE_MAX + 1);

	if (n <= QUOTE_MAX)
		return s;
	memcpy(buf, s, QUOTE_MAX);
	memcpy(buf + QUOTE_MAX, "...", 4);
	return buf;
}

/* Plain ASCII tests: ctype follows the locale. */
static int is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' ||
	       ch == '\f';
}

/* Service names: Qubes' RPC name charset without '+'. */
static int service_char(char ch)
{
	return is_alnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

/* Arguments: the RPC name charset. */
static int arg_char(char ch)
{
	return service_char(ch) || ch == '+';
}

static int all_of(const char *s, int (*ok)(char))
{
	for (; *s; s++)
		if (!ok(*s))
			return 0;
	return 1;
}

static int user_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

/* ---- fields ---- */

static int parse_service(struct parse_ctx *c, const char *f,
			 struct policy_rule *r)
{
	char qb[QUOTE_MAX + 4];
	size_t n = strlen(f);

	if (!strcmp(f, "*")) {
		r->service[0] = '\0';
		return 0;
	}
	if (n > POLICY_SERVICE_MAX) {
		policy_perr(c, "service name longer than %d characters",
		     POLICY_SERVICE_MAX);
		return -1;
	}
	if (!all_of(f, service_char)) {
		policy_perr(c, "service '%s' may contain only letters, digits and "
			"_ . - (the argument goes in the second field)",
		     quote(f, qb));
		return -1;
	}
	memcpy(r->service, f, n + 1);
	return 0;
}

static int parse_arg(struct parse_ctx *c, const char *f,
		     struct policy_rule *r)
{
	char qb[QUOTE_MAX + 4];
	size_t n = strlen(f);

	if (!strcmp(f, "*")) {
		r->any_arg = 1;
		return 0;
	}
	if (!r->service[0]) {
		policy_perr(c, "when SERVICE is *, ARGUMENT must be * too");
		return -1;
	}
	if (f[0] != '+') {
		policy_perr(c, "argument '%s' must be *, + or +ARG", quote(f, qb));
		return -1;
	}
	if (n - 1 > POLICY_ARG_MAX) {
		policy_perr(c, "argument longer than %d characters", POLICY_ARG_MAX);
		return -1;
	}
	if (!all_of(f + 1, arg_char)) {
		policy_perr(c, "argument '%s' may contain only letters, digits and "
			"+ _ . -",
		     quote(f, qb));
		return -1;
	}
	memcpy(r->arg, f + 1, n);
	return 0;
}

int policy_parse_call_fields(struct parse_ctx *c, const char *service,
			     const char *arg, struct policy_rule *r)
{
	return parse_service(c, service, r) < 0 || parse_arg(c, arg, r) < 0
		       ? -1
		       : 0;
}

/* Where a qube token stands, which decides the tokens allowed. */
enum tok_place { AS_SOURCE, AS_TARGET, AS_REDIRECT, AS_DEFAULT_TARGET };

static const char *const place_names[] = { "SOURCE", "TARGET", "target=",
					   "default_target=" };

static const char *const type_names[] = { "AppVM", "TemplateVM",
					  "StandaloneVM", "DispVM",
					  "AdminVM" };

static int tag_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= POLICY_TAG_MAX && all_of(v, service_char);
}

/* A uuid as Qubes prints one: 8-4-4-4-12 lowercase hex digits. Qubes
 * takes any text after uuid: and compares it with the qubes' uuids, so
 * anything else would never match there: here it is an error. */
int policy_uuid_ok(const char *v)
{
	size_t i;

	for (i = 0; i < POLICY_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (v[i] != '-')
				return 0;
		} else if (!((v[i] >= '0' && v[i] <= '9') ||
			     (v[i] >= 'a' && v[i] <= 'f'))) {
			return 0;
		}
	}
	return v[i] == '\0';
}

/* Checks a token's value (after its prefix) for its kind. */
static int tok_value(struct parse_ctx *c, const char *f, const char *v,
		     struct policy_tok *t)
{
	char qb[QUOTE_MAX + 4], err[128];
	size_t i;

	switch (t->kind) {
	case TOK_TAG:
	case TOK_DISPVM_TAG:
		if (tag_ok(v))
			break;
		policy_perr(c, "'%s': a tag is 1 to %d of letters, digits and "
			"_ . -",
		     quote(f, qb), POLICY_TAG_MAX);
		return -1;
	case TOK_TYPE:
		for (i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
			if (!strcmp(v, type_names[i]))
				break;
		if (i < sizeof(type_names) / sizeof(*type_names))
			break;
		policy_perr(c, "'%s': the type is AppVM, TemplateVM, StandaloneVM, "
			"DispVM or AdminVM",
		     quote(f, qb));
		return -1;
	case TOK_NAME:
	case TOK_DISPVM_NAME:
		if (!strncmp(v, "uuid:", 5)) {
			if (!policy_uuid_ok(v + 5)) {
				policy_perr(c, "'%s': a uuid is uuid: and 8-4-4-4-12 "
					"lowercase hex digits",
				     quote(f, qb));
				return -1;
			}
			v += 5;
			/* dom0's uuid is dom0, as in Qubes (is_dom0). */
			if (t->kind == TOK_NAME && !strcmp(v, POLICY_DOM0_UUID)) {
				t->kind = TOK_ADMINVM;
				return 0;
			}
			t->by_uuid = 1;
			break;
		}
		if (qube_name_check(v, err, sizeof(err)) == 0)
			break;
		policy_perr(c, "'%s': %s", quote(f, qb), err);
		return -1;
	default:
		return 0;
	}
	/* Every value checked above is at most POLICY_VALUE_MAX long. */
	snprintf(t->value, sizeof(t->value), "%s", v);
	return 0;
}

static const struct {
	const char *text; /* exact token, or prefix when it ends in ':' */
	enum policy_tok_kind kind;
	unsigned places; /* 1 << enum tok_place */
} tok_table[] = {
#define S (1u << AS_SOURCE)
#define T (1u << AS_TARGET)
#define R ((1u << AS_REDIRECT) | (1u << AS_DEFAULT_TARGET))
	{ "@adminvm", TOK_ADMINVM, S | T | R },
	{ "dom0", TOK_ADMINVM, S | T | R },
	{ "@anyvm", TOK_ANYVM, S | T },
	{ "*", TOK_ANY, S | T },
	{ "@default", TOK_DEFAULT, T },
	{ "@dispvm", TOK_DISPVM, T | R },
	/* Longest prefix first: @dispvm:@tag: before @dispvm:. */
	{ "@dispvm:@tag:", TOK_DISPVM_TAG, S | T },
	{ "@dispvm:", TOK_DISPVM_NAME, S | T | R },
	{ "@tag:", TOK_TAG, S | T },
	{ "@type:", TOK_TYPE, S | T },
#undef S
#undef T
#undef R
};

static int parse_tok(struct parse_ctx *c, const char *f, enum tok_place at,
		     struct policy_tok *t)
{
	char qb[QUOTE_MAX + 4];
	const char *v = NULL;
	size_t i, n;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(tok_table) / sizeof(*tok_table); i++) {
		n = strlen(tok_table[i].text);
		if (tok_table[i].text[n - 1] == ':' ? !strncmp(f, tok_table[i].text, n)
						     : !strcmp(f, tok_table[i].text)) {
			v = f + n;
			break;
		}
	}
	if (!v) {
		if (f[0] == '@') {
			policy_perr(c, "unknown token '%s' in %s", quote(f, qb),
			     place_names[at]);
			return -1;
		}
		/* A qube name, or uuid:UUID; both go wherever a name may. */
		t->kind = TOK_NAME;
		return tok_value(c, f, f, t);
	}
	if (!(tok_table[i].places & (1u << at))) {
		policy_perr(c, "'%s' is not allowed in %s", quote(f, qb),
		     place_names[at]);
		return -1;
	}
	t->kind = tok_table[i].kind;
	return tok_value(c, f, v, t);
}

/* ---- actions and their parameters ---- */

enum param { P_TARGET, P_DEFAULT_TARGET, P_USER, P_NOTIFY, P_AUTOSTART };

static const struct {
	const char *key;
	unsigned actions; /* 1 << enum policy_action */
} params[] = {
	[P_TARGET] = { "target", 1u << POLICY_ALLOW | 1u << POLICY_ASK },
	[P_DEFAULT_TARGET] = { "default_target", 1u << POLICY_ASK },
	[P_USER] = { "user", 1u << POLICY_ALLOW | 1u << POLICY_ASK },
	[P_NOTIFY] = { "notify", 1u << POLICY_ALLOW | 1u << POLICY_ASK |
					 1u << POLICY_DENY },
	[P_AUTOSTART] = { "autostart", 1u << POLICY_ALLOW | 1u << POLICY_ASK },
};

static const char *const action_names[] = { "deny", "allow", "ask" };

static int yes_no(struct parse_ctx *c, const char *key, const char *v,
		  int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "no")) {
		*out = !strcmp(v, "yes");
		return 0;
	}
	policy_perr(c, "%s= is yes or no", key);
	return -1;
}

static int param_value(struct parse_ctx *c, enum param k, const char *v,
		       struct policy_rule *r)
{
	size_t n;

	switch (k) {
	case P_TARGET:
		r->has_redirect = 1;
		return parse_tok(c, v, AS_REDIRECT, &r->redirect);
	case P_DEFAULT_TARGET:
		r->has_default_target = 1;
		return parse_tok(c, v, AS_DEFAULT_TARGET, &r->default_target);
	case P_USER:
		n = strlen(v);
		if (n < 1 || n > POLICY_USER_MAX || !all_of(v, user_char) ||
		    v[0] == '-') {
			policy_perr(c, "user= is 1 to %d of a-z 0-9 _ -, not "
				"starting with -",
			     POLICY_USER_MAX);
			return -1;
		}
		memcpy(r->user, v, n + 1);
		return 0;
	case P_NOTIFY:
		return yes_no(c, "notify", v, &r->notify);
	case P_AUTOSTART:
		return yes_no(c, "autostart", v, &r->autostart);
	}
	return -1;
}

static int parse_param(struct parse_ctx *c, char *f, unsigned *seen,
		       struct policy_rule *r)
{
	char qb[QUOTE_MAX + 4];
	char *eq = strchr(f, '=');
	size_t k;

	if (!eq) {
		policy_perr(c, "parameter '%s' is not KEY=VALUE", quote(f, qb));
		return -1;
	}
	*eq = '\0';
	for (k = 0; k < sizeof(params) / sizeof(*params); k++)
		if (!strcmp(f, params[k].key))
			break;
	if (k == sizeof(params) / sizeof(*params)) {
		policy_perr(c, "unknown parameter '%s'", quote(f, qb));
		return -1;
	}
	if (!(params[k].actions & (1u << r->action))) {
		policy_perr(c, "%s takes no %s= parameter", action_names[r->action],
		     params[k].key);
		return -1;
	}
	if (*seen & (1u << k)) {
		policy_perr(c, "parameter %s= given twice", params[k].key);
		return -1;
	}
	*seen |= 1u << k;
	return param_value(c, (enum param)k, eq + 1, r);
}

/* ACTION and its n parameters (param[0..n-1]). */
static int parse_action(struct parse_ctx *c, const char *action,
			char **param, size_t n, struct policy_rule *r)
{
	char qb[QUOTE_MAX + 4];
	unsigned seen = 0;
	size_t i;

	for (i = 0; i < 3; i++)
		if (!strcmp(action, action_names[i]))
			break;
	if (i == 3) {
		policy_perr(c, "action '%s' is allow, deny or ask", quote(action, qb));
		return -1;
	}
	r->action = (enum policy_action)i;
	/* Qubes' defaults: a deny is shown, an allow or ask is not. */
	r->notify = r->action == POLICY_DENY;
	r->autostart = 1;
	for (i = 0; i < n; i++)
		if (parse_param(c, param[i], &seen, r) < 0)
			return -1;
	if (r->target.kind == TOK_DEFAULT && r->action == POLICY_ALLOW &&
	    !r->has_redirect) {
		policy_perr(c, "allow for TARGET @default needs target=");
		return -1;
	}
	return 0;
}

/* ---- lines ---- */

static int add_rule(struct parse_ctx *c, const struct policy_rule *r)
{
	struct policy *p = c->p;

	if (p->nrules == POLICY_RULES_MAX) {
		policy_perr(c, "more than %d rules in all", POLICY_RULES_MAX);
		return -1;
	}
	if (p->nrules == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 32;
		struct policy_rule *nr = realloc(p->rules, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		p->rules = nr;
		p->cap = cap;
	}
	p->rules[p->nrules++] = *r;
	return 0;
}

/* A directive line of n fields (fld[0] starts with '!'), as Qubes reads
 * it (qrexec/policy/parser.py, load_policy_file). Returns 0 or -ENOMEM. */
static int directive(struct parse_ctx *c, char **fld, size_t n)
{
	char qb[QUOTE_MAX + 4];
	const char *d = fld[0];
	struct policy_rule svc;

	if (c->svc) {
		/* A file of !include-service may only include more of the
		 * same kind, for the same service. */
		if (strcmp(d, "!include")) {
			policy_perr(c, "'%s': a file read by !include-service "
				"takes no directive but !include",
			     quote(d, qb));
			return 0;
		}
	}
	if (!strcmp(d, "!include") || !strcmp(d, "!include-dir")) {
		if (n != 2) {
			policy_perr(c, "%s takes one PATH", d);
			return 0;
		}
		return d[8] ? policy_include_dir(c, fld[1])
			    : policy_include_file(c, fld[1], c->svc);
	}
	if (!strcmp(d, "!include-service")) {
		if (n != 4) {
			policy_perr(c, "!include-service takes SERVICE ARGUMENT PATH");
			return 0;
		}
		memset(&svc, 0, sizeof(svc));
		if (policy_parse_call_fields(c, fld[1], fld[2], &svc) < 0)
			return 0;
		return policy_include_file(c, fld[3], &svc);
	}
	if (!strcmp(d, "!compat-4.0")) {
		/* It reads Qubes 4.0's /etc/qubes-rpc/policy, which has no
		 * counterpart here. */
		policy_perr(c, "!compat-4.0 is not supported (Qubes 4.0 policy "
			"files have no place here)");
		return 0;
	}
	policy_perr(c, "unknown directive '%s'", quote(d, qb));
	return 0;
}

/* The old syntax that files of !include-service may use, as Qubes reads
 * it (load_policy_file_service): $include:PATH is !include PATH, $ is @
 * and a comma separates like a space. Each keeps the line's length. */
static void old_syntax(char *s)
{
	char *p;

	while ((p = strstr(s, "$include:")))
		memcpy(p, "!include ", 9);
	for (p = s; *p; p++)
		if (*p == '$')
			*p = '@';
		else if (*p == ',')
			*p = ' ';
}

/* Splits a NUL-terminated line at whitespace; returns the field count, or
 * FIELDS_MAX + 1 when there are more. */
static size_t split(char *s, char **fld)
{
	size_t n = 0;

	for (;;) {
		while (is_space(*s))
			s++;
		if (!*s)
			return n;
		if (n == FIELDS_MAX)
			return n + 1;
		fld[n++] = s;
		while (*s && !is_space(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* One line, len bytes (at most POLICY_LINE_MAX, no newline). */
static int parse_line(struct parse_ctx *c, const char *s, size_t len)
{
	char line[POLICY_LINE_MAX + 1], *fld[FIELDS_MAX];
	struct policy_rule r;
	size_t i = 0, n;

	while (i < len && is_space(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0; /* blank, or a comment: any bytes but NUL */
	if (memchr(s, '\0', len)) {
		policy_perr(c, "a NUL byte in a rule");
		return 0;
	}
	for (; i < len; i++)
		if ((s[i] < 0x20 || s[i] > 0x7e) && !is_space(s[i])) {
			policy_perr(c, "a control or non-ASCII byte in a rule "
				"(comments start with #, at the start of the "
				"line)");
			return 0;
		}
	memcpy(line, s, len);
	line[len] = '\0';
	if (c->svc)
		old_syntax(line);
	n = split(line, fld);
	if (fld[0][0] == '!')
		return directive(c, fld, n);
	memset(&r, 0, sizeof(r));
	if (c->svc) {
		if (n < 3 || n > SHORT_FIELDS_MAX) {
			policy_perr(c, "%s fields: a line of a file read by "
				"!include-service is SOURCE TARGET ACTION "
				"[PARAM=VALUE]...",
			     n < 3 ? "too few" : "too many");
			return 0;
		}
		memcpy(r.service, c->svc->service, sizeof(r.service));
		r.any_arg = c->svc->any_arg;
		memcpy(r.arg, c->svc->arg, sizeof(r.arg));
		i = 0;
	} else {
		if (n < 5 || n > FIELDS_MAX) {
			policy_perr(c, "%s fields: a rule is SERVICE ARGUMENT SOURCE "
				"TARGET ACTION [PARAM=VALUE]...",
			     n < 5 ? "too few" : "too many");
			return 0;
		}
		if (policy_parse_call_fields(c, fld[0], fld[1], &r) < 0)
			return 0;
		i = 2;
	}
	r.file = c->file;
	r.line = c->line;
	if (parse_tok(c, fld[i], AS_SOURCE, &r.source) < 0 ||
	    parse_tok(c, fld[i + 1], AS_TARGET, &r.target) < 0 ||
	    parse_action(c, fld[i + 2], fld + i + 3, n - i - 3, &r) < 0)
		return 0;
	return add_rule(c, &r);
}

int policy_parse_bytes(struct parse_ctx *c, const char *buf, size_t len)
{
	size_t off = 0;
	int e;

	c->line = 0;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

		c->line++;
		if (n > POLICY_LINE_MAX)
			policy_perr(c, "line longer than %d bytes", POLICY_LINE_MAX);
		else if ((e = parse_line(c, buf + off, n)) < 0)
			return e;
		off += n + (nl != NULL);
	}
	c->line = 0;
	return 0;
}

/* ---- a policy ---- */

struct policy *policy_new(void)
{
	return calloc(1, sizeof(struct policy));
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	free(p->rules);
	for (i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
}

int policy_valid(const struct policy *p)
{
	return p && !p->invalid;
}

size_t policy_rule_count(const struct policy *p)
{
	return p ? p->nrules : 0;
}

int policy_add_file(struct policy *p, const char *name, unsigned *idx)
{
	char **nf = realloc(p->files, (p->nfiles + 1) * sizeof(*p->files));

	if (!nf)
		return -ENOMEM;
	p->files = nf;
	/* Names are at most POLICY_SHOWN_MAX: what a decision can hold. */
	p->files[p->nfiles] = strndup(name, POLICY_SHOWN_MAX);
	if (!p->files[p->nfiles])
		return -ENOMEM;
	*idx = (unsigned)p->nfiles++;
	return 0;
}

int policy_finish(struct policy *p, struct policy **out, int e)
{
	if (e == -ENOMEM) {
		policy_free(p);
		*out = NULL;
		return -ENOMEM;
	}
	*out = p;
	return p->invalid ? -EINVAL : 0;
}

int policy_parse_buf(const char *fname, const char *buf, size_t len,
		     struct policy **out, struct policy_errs *errs)
{
	struct policy *p = policy_new();
	struct parse_ctx c = { p, errs, NULL, 0, 0, NULL, NULL };
	int e;

	if (errs)
		errs->count = errs->kept = 0;
	if (!p) {
		*out = NULL;
		return -ENOMEM;
	}
	e = policy_add_file(p, fname, &c.file);
	c.fname = e ? fname : p->files[0];
	if (!e && len > POLICY_FILE_MAX)
		policy_perr(&c, "larger than %d bytes", POLICY_FILE_MAX);
	else if (!e)
		e = policy_parse_bytes(&c, buf, len);
	return policy_finish(p, out, e);
}

