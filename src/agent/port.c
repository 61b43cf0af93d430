#include "agent/port.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

static int scan(const char *name, char *out, size_t cap)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int found = -ENOENT;

	if (!d)
		return -ENOENT;
	while (found < 0 && (e = readdir(d))) {
		char path[300], *txt;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		if (bh_path_fmt(path, sizeof(path),
				"/sys/class/virtio-ports/%s/name", e->d_name))
			continue;
		if (bh_read_file(path, 256, &txt, &len) < 0)
			continue;
		while (len && txt[len - 1] == '\n')
			txt[--len] = '\0';
		if (!strcmp(txt, name) &&
		    bh_path_fmt(out, cap, "/dev/%s", e->d_name) == 0 &&
		    access(out, F_OK) == 0)
			found = 0;
		free(txt);
	}
	closedir(d);
	return found;
}

int port_lookup(const char *name, char *out, size_t cap)
{
	return scan(name, out, cap);
}

int port_find(const char *name, char *out, size_t cap, int timeout_ms)
{
	const struct timespec step = { 0, 2 * 1000 * 1000 };
	int64_t end = bh_now_ms() + timeout_ms;

	while (scan(name, out, cap) < 0) {
		if (bh_now_ms() > end)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}
