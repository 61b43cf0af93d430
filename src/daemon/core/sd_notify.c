/* sd_notify(3) in a few lines; see sd_notify.h. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/core/sd_notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;

void sd_notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n = s ? strlen(s) : 0;

	/* A path, or '@' for the abstract namespace; anything else (or too
	 * long) is not systemd's and is ignored. */
	if (n >= 2 && n < sizeof(notify_addr.sun_path) &&
	    (s[0] == '/' || s[0] == '@')) {
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, s, n);
		if (s[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_len = (socklen_t)(offsetof(struct sockaddr_un,
						  sun_path) + n);
	}
	unsetenv("NOTIFY_SOCKET");
}

int sd_notify_send(const char *state)
{
	int fd, r = 0;

	if (!notify_len)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&notify_addr, notify_len) < 0)
		r = -errno;
	close(fd);
	return r;
}
