#include "daemon/state/store_boot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/volumes_boot.h"
#include "lib/util.h"

struct names {
	char (*v)[QUBE_NAME_MAX + 1];
	size_t n, cap;
};

static int collect(void *arg, const struct qube_info *q)
{
	struct names *ns = arg;

	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 16;
		void *v = realloc(ns->v, cap * sizeof(*ns->v));

		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	snprintf(ns->v[ns->n++], sizeof(*ns->v), "%s", q->name);
	return 0;
}

/* Names first, then the updates: a list callback must not write. */
static int halt_all(struct store *s, char *err, size_t cap)
{
	struct names ns = { NULL, 0, 0 };
	size_t i;
	int r = store_qube_list(s, collect, &ns, err, cap);

	if (r == -ENOMEM)
		snprintf(err, cap, "out of memory");
	for (i = 0; r == 0 && i < ns.n; i++)
		r = store_power_set(s, ns.v[i], "Halted", RESTART_REASON, err,
				    cap);
	free(ns.v);
	return r;
}

/* The guest build's template, as a TemplateVM; and, while the user has
 * chosen none, the default template, so that `bh create -l red work`
 * works on a new install as it does in Qubes. */
static int register_builtin(struct store *s, char *err, size_t cap)
{
	struct qube_info q;
	char cur[QUBE_NAME_MAX + 1];
	int is_default = 0;
	int r = store_qube_get(s, BUILTIN_TEMPLATE, &q, err, cap);

	if (r == -ENOENT)
		r = store_qube_create(s, BUILTIN_TEMPLATE, "TemplateVM", NULL,
				      BUILTIN_TEMPLATE_LABEL, NULL, 0, err,
				      cap);
	if (r < 0)
		return r;
	r = store_global_get(s, "default_template", cur, sizeof(cur),
			     &is_default, err, cap);
	if (r < 0)
		return r;
	if (cur[0] == '\0')
		r = store_global_set(s, "default_template", BUILTIN_TEMPLATE,
				     err, cap);
	return r;
}

int store_boot(const char *state_dir, struct store **out, char *err,
	       size_t cap)
{
	struct prop_limits l;
	char path[4200];
	int r;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", state_dir, STORE_FILE)) {
		snprintf(err, cap, "state folder path too long");
		return -ENAMETOOLONG;
	}
	r = store_open(path, out, err, cap);
	if (r < 0)
		return r;
	prop_limits_host(&l);
	store_set_limits(*out, &l);
	r = halt_all(*out, err, cap);
	if (r == 0)
		r = register_builtin(*out, err, cap);
	if (r < 0) {
		store_close(*out);
		*out = NULL;
		return r;
	}
	/* The records are now what the daemon serves: make the folders
	 * agree with them (volumes_boot.h) before any call can see either.
	 * Its problems are logged; they do not stop the daemon. */
	volumes_boot(*out, state_dir);
	return 0;
}
