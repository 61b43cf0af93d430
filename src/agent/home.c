#include "agent/home.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/passwd.h"
#include "lib/log.h"
#include "lib/util.h"

#define HOME_USER "user"
/* A skeleton file (.bashrc, .profile) is a few KiB. */
#define SKEL_FILE_MAX (64 << 10)

static void copy_skel(const char *home, const struct pw_user *pw)
{
	DIR *d = opendir("/etc/skel");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char src[300], dst[600], *data;
		size_t len;
		int fd;

		if (e->d_type != DT_REG ||
		    bh_path_fmt(src, sizeof(src), "/etc/skel/%s", e->d_name) ||
		    bh_path_fmt(dst, sizeof(dst), "%s/%s", home, e->d_name) ||
		    bh_read_file(src, SKEL_FILE_MAX, &data, &len) < 0)
			continue;
		fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				       O_CLOEXEC,
			  0644);
		if (fd >= 0) {
			if (write(fd, data, len) != (ssize_t)len)
				LOG_WARN("writing %s: short write", dst);
			if (fchown(fd, pw->uid, pw->gid) < 0)
				LOG_WARN("chown %s: %s", dst, strerror(errno));
			close(fd);
		}
		free(data);
	}
	closedir(d);
}

int home_ensure_user(void)
{
	struct pw_user pw;
	int r = passwd_lookup(HOME_USER, &pw);

	if (r == -ENOENT)
		return 0; /* no passwd, or no `user`: nothing to make */
	/* Only a home on the private volume, one level under /home. */
	if (r < 0 || strncmp(pw.home, "/home/", 6) || strchr(pw.home + 6, '/') ||
	    !pw.home[6] || pw.home[6] == '.') {
		LOG_WARN("user's home in /etc/passwd is not /home/NAME; not "
			 "making it");
		return -EINVAL;
	}
	if (mkdir(pw.home, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		r = -errno;
		LOG_WARN("mkdir %s: %s", pw.home, strerror(-r));
		return r;
	}
	if (chown(pw.home, pw.uid, pw.gid) < 0) {
		r = -errno;
		LOG_WARN("chown %s: %s", pw.home, strerror(-r));
		return r;
	}
	copy_skel(pw.home, &pw);
	return 0;
}
