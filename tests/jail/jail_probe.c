/* Runs inside the jail in QEMU's place and reports what it is and what it
 * can reach: its ids and privileges (the /proc/self/status lines, taken
 * from the system calls behind them, since the jail has no /proc), its
 * pid, hostname and network interfaces, the jail's /, /etc and /dev, and
 * for each PATH argument whether it opens read-write, read-only or not at
 * all (with the errno's name). test-jail.sh reads these lines.
 *
 * Usage: jail_probe [--hold] PATH...
 *        jail_probe --alloc MIB
 *        jail_probe --threads N
 *   --hold     after the report, print "holding" and wait (at most 60 s),
 *              so that the test can read /proc/PID/status from the host.
 *   --alloc    only allocate and touch MIB MiB, printing "allocated N"
 *              every 32 MiB and "alloc done" at the end (a cgroup memory
 *              limit below MIB ends it first).
 *   --threads  only try to start N threads (each sleeps), then print
 *              "threads: STARTED" and the error that stopped them, if
 *              any (a cgroup pids limit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* The capability lines, in /proc/PID/status's hex format. */
static void print_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	uint64_t bnd = 0, amb = 0;
	int i, r;

	if (syscall(SYS_capget, &h, d) < 0) {
		printf("capget: %s\n", errname(errno));
		return;
	}
	printf("CapInh:\t%016llx\n", (unsigned long long)d[0].inheritable |
	       (unsigned long long)d[1].inheritable << 32);
	printf("CapPrm:\t%016llx\n", (unsigned long long)d[0].permitted |
	       (unsigned long long)d[1].permitted << 32);
	printf("CapEff:\t%016llx\n", (unsigned long long)d[0].effective |
	       (unsigned long long)d[1].effective << 32);
	for (i = 0; i < 64; i++) {
		r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
		if (r < 0)
			break;
		if (r > 0)
			bnd |= 1ull << i;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) > 0)
			amb |= 1ull << i;
	}
	printf("CapBnd:\t%016llx\n", (unsigned long long)bnd);
	printf("CapAmb:\t%016llx\n", (unsigned long long)amb);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "ls DIR: a b c", sorted, without . and .. */
static void list_dir(const char *dir)
{
	char *names[256];
	size_t n = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d) {
		printf("ls %s: %s\n", dir, errname(errno));
		return;
	}
	while ((e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	printf("ls %s:", dir);
	for (i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

/* Interfaces through netlink (if_nameindex): the jail has no /proc or
 * /sys to read them from. */
static void list_net(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	if (!ifs) {
		printf("net: %s\n", errname(errno));
		return;
	}
	printf("net:");
	for (i = ifs; i->if_index; i++)
		printf(" %s", i->if_name);
	printf("\n");
	if_freenameindex(ifs);
}

static void try_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), rw_err;

	if (fd >= 0) {
		printf("open %s: ok\n", path);
		close(fd);
		return;
	}
	rw_err = errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		printf("open %s: read-only (%s)\n", path, errname(rw_err));
		close(fd);
		return;
	}
	printf("open %s: %s\n", path, errname(errno));
}

static int alloc(long mib)
{
	long i;

	for (i = 1; i <= mib; i++) {
		char *p = malloc(1 << 20);

		if (!p) {
			printf("malloc: %s\n", errname(errno));
			return 1;
		}
		memset(p, (int)i, 1 << 20); /* touched: charged */
		if (i % 32 == 0) {
			printf("allocated %ld\n", i);
			fflush(stdout);
		}
	}
	printf("alloc done\n");
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sleep(60);
	return NULL;
}

static int threads(long n)
{
	pthread_t t;
	long i;
	int e = 0;

	for (i = 0; i < n; i++) {
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 * 1024);
		e = pthread_create(&t, &a, sleeper, NULL);
		pthread_attr_destroy(&a);
		if (e)
			break;
	}
	printf("threads: %ld%s%s\n", i, e ? " " : "", e ? errname(e) : "");
	return 0;
}

int main(int argc, char **argv)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	char host[256] = "";
	int i = 1, hold = 0, fd;

	if (argc == 3 && !strcmp(argv[1], "--alloc"))
		return alloc(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--threads"))
		return threads(atol(argv[2]));
	if (argc > 1 && !strcmp(argv[1], "--hold")) {
		hold = 1;
		i++;
	}
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("Uid:\t%u\t%u\t%u\n", ru, eu, su);
	printf("Gid:\t%u\t%u\t%u\n", rg, eg, sg);
	printf("Groups:\t%d\n", getgroups(0, NULL));
	printf("NoNewPrivs:\t%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("Seccomp:\t%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	{
		int sig = -1;

		prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
		printf("PdeathSig:\t%d\n", sig);
	}
	print_caps();
	printf("getpid: %d\n", (int)getpid());
	gethostname(host, sizeof(host) - 1);
	printf("hostname: %s\n", host);
	list_net();
	list_dir("/");
	list_dir("/etc");
	list_dir("/dev");
	/* The root is read-only: nothing can be added next to the jail's
	 * files. */
	fd = open("/probe-was-here", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  0600);
	printf("create /probe-was-here: %s\n", fd >= 0 ? "ok" : errname(errno));
	for (; i < argc; i++)
		try_open(argv[i]);
	if (hold) {
		printf("holding\n");
		fflush(stdout);
		/* Bounded: a test that forgets us still ends. */
		sleep(60);
	}
	return 0;
}
