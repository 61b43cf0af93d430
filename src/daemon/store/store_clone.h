/* admin.vm.Clone's record half: a copy of a qube's row in the store. */
#ifndef BH_DAEMON_STORE_CLONE_H
#define BH_DAEMON_STORE_CLONE_H

#include <stddef.h>

#include "daemon/store/store.h"

/* Records qube dst as a copy of the halted qube src: same class and
 * template, its properties (label included), features and tags; a new
 * creation time and a new uuid (as in Qubes), Halted. One transaction: on any error nothing is
 * written. Errors as store.h: -ENOENT no src, -EEXIST dst exists, -EINVAL
 * a bad dst name or a DispVM src, -EBUSY src not halted, -EIO SQLite. */
int store_qube_clone(struct store *s, const char *src, const char *dst,
		     char *err, size_t cap);

#endif
