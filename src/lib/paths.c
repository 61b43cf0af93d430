#include "lib/paths.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

int bh_paths_init(struct bh_paths *p)
{
	const char *root = getenv("BULKHEAD_ROOT");
	struct sockaddr_un sun;
	size_t len;

	if (!root)
		root = "";
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len == 1 && root[0] == '/')
		len = 0;
	if (len && root[0] != '/')
		return -EINVAL;
	if (len >= sizeof(p->root))
		return -ENAMETOOLONG;
	memcpy(p->root, root, len);
	p->root[len] = '\0';
	if (bh_path_fmt(p->state, sizeof(p->state), "%s/var/lib/bulkhead",
			p->root) ||
	    bh_path_fmt(p->run, sizeof(p->run), "%s/run/bulkhead", p->root) ||
	    bh_path_fmt(p->log, sizeof(p->log), "%s/var/log/bulkhead",
			p->root) ||
	    bh_path_fmt(p->admin_sock, sizeof(sun.sun_path), "%s/admin.sock",
			p->run))
		return -ENAMETOOLONG;
	return 0;
}
