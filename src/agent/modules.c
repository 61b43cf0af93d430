#include "agent/modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"

/* One line of modules.dep: "kernel/x/y.ko: kernel/a.ko kernel/b.ko". */
struct dep_line {
	const char *path;
	size_t path_len;
	const char *deps;
	size_t deps_len;
};

/* Compares a module path's basename, less ".ko", with a module name,
 * treating '-' and '_' alike as the kernel does. */
static int path_is_module(const char *path, size_t len, const char *name)
{
	const char *base = path, *p;
	size_t blen, nlen = strlen(name), i;

	for (p = path; p < path + len; p++)
		if (*p == '/')
			base = p + 1;
	blen = (size_t)(path + len - base);
	if (blen < 3 || memcmp(base + blen - 3, ".ko", 3) != 0)
		return 0;
	blen -= 3;
	if (blen != nlen)
		return 0;
	for (i = 0; i < nlen; i++) {
		char a = base[i] == '-' ? '_' : base[i];
		char b = name[i] == '-' ? '_' : name[i];

		if (a != b)
			return 0;
	}
	return 1;
}

/* Finds the line whose module path matches; by name or by exact path. */
static int find_line(const char *text, size_t len, const char *name,
		     size_t name_len, int by_path, struct dep_line *out)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, colon;

		while (end < len && text[end] != '\n')
			end++;
		for (colon = i; colon < end && text[colon] != ':'; colon++)
			;
		if (colon < end) {
			const char *path = text + i;
			size_t plen = colon - i;
			int hit = by_path ? (plen == name_len &&
					     memcmp(path, name, plen) == 0)
					  : path_is_module(path, plen, name);

			if (hit) {
				out->path = path;
				out->path_len = plen;
				out->deps = text + colon + 1;
				out->deps_len = end - colon - 1;
				return 0;
			}
		}
		i = end + 1;
	}
	return -ENOENT;
}

static int plan_has(const struct module_plan *plan, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < plan->count; i++)
		if (strlen(plan->paths[i]) == n && !memcmp(plan->paths[i], p, n))
			return 1;
	return 0;
}

static int visit(const char *text, size_t len, const struct dep_line *line,
		 struct module_plan *plan, int depth)
{
	size_t i = 0;
	char *copy;

	if (plan_has(plan, line->path, line->path_len))
		return 0;
	/* A chain deeper than the number of modules we may load has a
	 * cycle in it. */
	if (depth > AGENT_MAX_MODULES)
		return -ELOOP;
	while (i < line->deps_len) {
		struct dep_line dep;
		size_t start;
		int r;

		while (i < line->deps_len && line->deps[i] == ' ')
			i++;
		start = i;
		while (i < line->deps_len && line->deps[i] != ' ')
			i++;
		if (i == start)
			break;
		if (find_line(text, len, line->deps + start, i - start, 1,
			      &dep) < 0)
			return -ENOENT;
		r = visit(text, len, &dep, plan, depth + 1);
		if (r < 0)
			return r;
	}
	if (plan->count == AGENT_MAX_MODULES)
		return -E2BIG;
	copy = strndup(line->path, line->path_len);
	if (!copy)
		return -ENOMEM;
	plan->paths[plan->count++] = copy;
	return 0;
}

int module_plan_build(const char *dep_text, size_t len,
		      const char *const *wanted, size_t nwanted,
		      struct module_plan *plan, const char **missing)
{
	size_t i;

	memset(plan, 0, sizeof(*plan));
	*missing = NULL;
	for (i = 0; i < nwanted; i++) {
		struct dep_line line;
		int r;

		if (find_line(dep_text, len, wanted[i], 0, 0, &line) < 0) {
			*missing = wanted[i];
			module_plan_free(plan);
			return -ENOENT;
		}
		r = visit(dep_text, len, &line, plan, 0);
		if (r < 0) {
			if (r == -ENOENT)
				*missing = wanted[i];
			module_plan_free(plan);
			return r;
		}
	}
	return 0;
}

void module_plan_free(struct module_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->count; i++)
		free(plan->paths[i]);
	plan->count = 0;
}

int module_plan_load(const struct module_plan *plan, const char *dir)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		char path[512];
		int fd;
		long r;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     plan->paths[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			LOG_ERR("cannot open module %s: %s", path, strerror(e));
			return -e;
		}
		r = syscall(SYS_finit_module, fd, "", 0);
		if (r < 0) {
			int e = errno;

			close(fd);
			if (e == EEXIST)
				continue;
			LOG_ERR("cannot load module %s: %s", path, strerror(e));
			return -e;
		}
		close(fd);
	}
	return 0;
}
