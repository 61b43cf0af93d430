#include "agent/dataport.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/port.h"
#include "proto/frame.h"

int dataport_uevent_open(void)
{
	struct sockaddr_nl a = { 0 };
	int fd = socket(AF_NETLINK,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	a.nl_family = AF_NETLINK;
	a.nl_groups = 1; /* the kernel's own uevents (no udev here) */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

void dataport_uevent_drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

int dataport_open(uint32_t n)
{
	char name[32], path[64];
	int fd;

	if (n >= BH_DATAPORT_N_MAX)
		return -EINVAL;
	snprintf(name, sizeof(name), "bulkhead.data.%u", n);
	if (port_lookup(name, path, sizeof(path)) < 0)
		return -ENOENT;
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
