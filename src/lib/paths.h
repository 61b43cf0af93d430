/* Where Bulkhead keeps its files. Everything hangs off one prefix,
 * BULKHEAD_ROOT (empty by default), so that tests run side by side in
 * temporary folders:
 *   ROOT/var/lib/bulkhead   state: kernels/, templates/
 *   ROOT/run/bulkhead       admin socket, one folder per running qube
 *   ROOT/var/log/bulkhead   daemon log */
#ifndef BH_LIB_PATHS_H
#define BH_LIB_PATHS_H

#include <limits.h>

struct bh_paths {
	char root[PATH_MAX];
	char state[PATH_MAX];
	char run[PATH_MAX];
	char log[PATH_MAX];
	char admin_sock[PATH_MAX];
};

/* Fills p from BULKHEAD_ROOT. Returns -EINVAL for a relative root and
 * -ENAMETOOLONG for one too long for a socket path. */
int bh_paths_init(struct bh_paths *p);

#endif
