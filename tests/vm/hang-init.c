/* A stand-in /init that never becomes ready: it says so on the console and
 * waits. The "guest never ready" test boots it to check the daemon's boot
 * timeout and the console lines in its error. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "hang-init: this guest never becomes ready\n";
	int fd;

	mount("dev", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_WRONLY);
	if (fd >= 0 && write(fd, msg, strlen(msg)) < 0)
		return 1;
	for (;;)
		pause();
}
