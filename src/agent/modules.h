/* Kernel module loading in dependency order, read from modules.dep (made by
 * depmod when the guest image was built) rather than hard-coded. */
#ifndef BH_AGENT_MODULES_H
#define BH_AGENT_MODULES_H

#include <stddef.h>

/* Bounds what one boot may load; the guest needs a handful. */
#define AGENT_MAX_MODULES 64

struct module_plan {
	size_t count;
	/* Paths relative to /lib/modules/VERSION, in load order. */
	char *paths[AGENT_MAX_MODULES];
};

/* Computes the load order of `wanted` (names such as "virtio_blk"; '-' and
 * '_' are the same) and their dependencies from the text of modules.dep.
 * Returns 0; -ENOENT when a wanted module, or one of its dependencies, has
 * no line (*missing names the wanted module whose plan failed); -ELOOP on
 * a dependency cycle; -E2BIG past AGENT_MAX_MODULES; -ENOMEM. */
int module_plan_build(const char *dep_text, size_t len,
		      const char *const *wanted, size_t nwanted,
		      struct module_plan *plan, const char **missing);
void module_plan_free(struct module_plan *plan);

/* Loads every module of the plan from dir; one already loaded (EEXIST) is
 * fine. A module built into the kernel has no modules.dep line, so
 * module_plan_build fails for it: list only modules the kernel builds as
 * modules. Returns 0 or the first -errno. */
int module_plan_load(const struct module_plan *plan, const char *dir);

#endif
