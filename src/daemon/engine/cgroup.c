/* cgroup v2 (or v1) limits on each QEMU (see cgroup.h). */
#include "daemon/engine/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/jail.h"
#include "lib/log.h"
#include "lib/util.h"

_Static_assert(CGROUP_DIRS_MAX == JAIL_CGROUP_FDS,
	       "jail_spec carries one fd per group");

#define CGROUP_DEFAULT_FS "/sys/fs/cgroup"
/* How long a killed leftover group may take to empty. */
#define CGROUP_KILL_WAIT_MS 5000

uint64_t cgroup_memory_max(unsigned memory_mb)
{
	return ((uint64_t)memory_mb + CGROUP_QEMU_OVERHEAD_MB) << 20;
}

unsigned cgroup_pids_max(unsigned vcpus)
{
	return CGROUP_PIDS_BASE + vcpus;
}

void cgroup_group_name(const char *root, char *out, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	const char *c;

	if (!root || !root[0] || !strcmp(root, "/")) {
		snprintf(out, cap, "bulkhead");
		return;
	}
	for (c = root; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 0x100000001b3ull;
	}
	snprintf(out, cap, "bulkhead-%016llx", (unsigned long long)h);
}

/* Mount points in mountinfo escape space, tab, newline and backslash as
 * \ooo (octal); undoes that in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int cgroup2_from_mountinfo(FILE *f, char *out, size_t cap)
{
	char line[4096];

	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
	 * SOURCE SUPEROPTIONS" */
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *mnt = NULL, *tok, *dash;
		int i = 0;

		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		*dash = '\0';
		for (tok = strtok_r(line, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save))
			if (i++ == 4) {
				mnt = tok;
				break;
			}
		if (!mnt || mnt[0] != '/')
			continue;
		unescape_octal(mnt);
		if (strlen(mnt) >= cap)
			continue;
		memcpy(out, mnt, strlen(mnt) + 1);
		return 0;
	}
	return -ENOENT;
}

static int is_cgroup2(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Where cgroup2 is, mounting it when nothing is there. Returns 0 or -1
 * with cg->why set. */
static int find_cgroup2(struct cgroups *cg, char *out, size_t cap)
{
	FILE *f;
	int r;

	if (is_cgroup2(CGROUP_DEFAULT_FS))
		return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
	f = fopen("/proc/self/mountinfo", "re");
	if (f) {
		r = cgroup2_from_mountinfo(f, out, cap);
		fclose(f);
		if (r == 0 && is_cgroup2(out))
			return 0;
	}
	/* No cgroup2 anywhere. An empty /sys/fs/cgroup (no init mounted
	 * anything there) is where it belongs; anything else there is
	 * someone's, and is left alone. */
	if (!dir_is_empty(CGROUP_DEFAULT_FS)) {
		if (is_cgroup2(CGROUP_DEFAULT_FS)) /* mounted meanwhile */
			return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
		snprintf(cg->why, sizeof(cg->why),
			 "no cgroup2 file system is mounted and %s is not an "
			 "empty folder to mount one on",
			 CGROUP_DEFAULT_FS);
		return -1;
	}
	if (mount("cgroup2", CGROUP_DEFAULT_FS, "cgroup2",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		/* Someone mounted it meanwhile (another bulkheadd, for
		 * another state root): that serves. */
		if (errno == EBUSY && is_cgroup2(CGROUP_DEFAULT_FS))
			return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
		snprintf(cg->why, sizeof(cg->why),
			 "cannot mount cgroup2 on %s: %s", CGROUP_DEFAULT_FS,
			 strerror(errno));
		return -1;
	}
	LOG_INFO("cgroups: mounted cgroup2 on %s", CGROUP_DEFAULT_FS);
	return bh_path_fmt(out, cap, "%s", CGROUP_DEFAULT_FS);
}

/* Writes s into dir/file (an existing cgroup file; O_TRUNC, as a shell's
 * redirection, is a no-op on cgroup files and keeps the unit tests'
 * plain files exact). */
static int write_file(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX];
	int fd, r;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Whether the word w is in dir/file (controller lists; a leading '+'
 * is ignored). */
static int has_word(const char *dir, const char *file, const char *w)
{
	char path[PATH_MAX], *buf = NULL, *tok, *save = NULL;
	size_t len;
	int found = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0 ||
	    bh_read_file(path, 65536, &buf, &len) < 0)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok && !found;
	     tok = strtok_r(NULL, " \n", &save))
		found = !strcmp(tok[0] == '+' ? tok + 1 : tok, w);
	free(buf);
	return found;
}

/* Whether dir/cgroup.procs lists a process. */
static int has_procs(const char *dir)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    bh_read_file(path, 65536, &buf, &len) < 0)
		return 0;
	free(buf);
	return len > 0;
}

/* Enables memory and pids for dir's children. */
static int enable_controllers(struct cgroups *cg, const char *dir)
{
	int r;

	if (has_word(dir, "cgroup.subtree_control", "memory") &&
	    has_word(dir, "cgroup.subtree_control", "pids"))
		return 0;
	r = write_file(dir, "cgroup.subtree_control", "+memory +pids");
	if (r < 0) {
		snprintf(cg->why, sizeof(cg->why),
			 "cannot enable the memory and pids controllers in "
			 "%.400s/cgroup.subtree_control: %s%s",
			 dir, strerror(-r),
			 r == -EBUSY ? " (a cgroup holding processes cannot "
				       "pass controllers down)"
				     : "");
		return -1;
	}
	return 0;
}

/* cgroup v2 at mnt: enables memory and pids down to the daemon's group,
 * which it makes. Returns 0, or -1 with cg->why set. */
static int init_v2(struct cgroups *cg, const char *root, const char *mnt)
{
	char name[64], path[PATH_MAX];

	if (!has_word(mnt, "cgroup.controllers", "memory") ||
	    !has_word(mnt, "cgroup.controllers", "pids")) {
		snprintf(cg->why, sizeof(cg->why),
			 "cgroup2 at %.400s offers no memory or no pids "
			 "controller (cgroup.controllers; a cgroup v1 "
			 "hierarchy may hold them)",
			 mnt);
		return -1;
	}
	cgroup_group_name(root, name, sizeof(name));
	if (bh_path_fmt(cg->dir[0], sizeof(cg->dir[0]), "%s/%s", mnt,
			name) < 0) {
		snprintf(cg->why, sizeof(cg->why), "cgroup path too long");
		return -1;
	}
	if (enable_controllers(cg, mnt) < 0)
		return -1;
	if (mkdir(cg->dir[0], 0755) < 0 && errno != EEXIST) {
		snprintf(cg->why, sizeof(cg->why), "cannot create %.400s: %s",
			 cg->dir[0], strerror(errno));
		return -1;
	}
	if (enable_controllers(cg, cg->dir[0]) < 0)
		return -1;
	cg->swap = bh_path_fmt(path, sizeof(path), "%s/memory.swap.max",
			       cg->dir[0]) == 0 &&
		   access(path, F_OK) == 0;
	cg->ndirs = 1;
	cg->mode = CGROUP_V2;
	cg->on = 1;
	return 0;
}

/* ---- cgroup v1 ---- */

/* Whether word is one of the comma-separated items of list. */
static int has_item(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *c = list;

	while (c && *c) {
		if (!strncmp(c, word, n) && (c[n] == ',' || c[n] == '\0'))
			return 1;
		c = strchr(c, ',');
		if (c)
			c++;
	}
	return 0;
}

/* The daemon's path in the v1 hierarchy holding controller, from a
 * /proc/self/cgroup text. */
static int own_v1_path(FILE *f, const char *controller, char *out,
		       size_t cap)
{
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path;

		if (!ctl || !(path = strchr(ctl + 1, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!has_item(ctl + 1, controller) || path[0] != '/')
			continue;
		if (strlen(path) >= cap)
			return -ENAMETOOLONG;
		memcpy(out, path, strlen(path) + 1);
		return 0;
	}
	return -ENOENT;
}

int cgroup1_own_dir(FILE *mountinfo, FILE *self_cgroup,
		    const char *controller, char *out, size_t cap)
{
	char own[PATH_MAX], line[4096];
	int r = own_v1_path(self_cgroup, controller, own, sizeof(own));

	if (r < 0)
		return r;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
	 * SOURCE SUPEROPTIONS"; ROOT is the group the mount shows at its
	 * top (not "/" when it was bound from a subgroup). */
	while (fgets(line, sizeof(line), mountinfo)) {
		char *save = NULL, *tok, *dash, *f[5] = { 0 }, *opts, *rel;
		size_t rl;
		int i = 0;

		line[strcspn(line, "\n")] = '\0';
		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup ", 7) != 0)
			continue;
		opts = strchr(dash + 10, ' '); /* after SOURCE */
		if (!opts || !has_item(opts + 1, controller))
			continue;
		*dash = '\0';
		for (tok = strtok_r(line, " ", &save); tok && i < 5;
		     tok = strtok_r(NULL, " ", &save))
			f[i++] = tok;
		if (i < 5 || f[3][0] != '/' || f[4][0] != '/')
			continue;
		unescape_octal(f[3]);
		unescape_octal(f[4]);
		rl = strlen(f[3]);
		if (!strcmp(f[3], "/"))
			rel = own;
		else if (!strncmp(own, f[3], rl) &&
			 (own[rl] == '/' || own[rl] == '\0'))
			rel = own + rl;
		else
			continue; /* our group is not under this mount */
		if (!strcmp(rel, "/"))
			rel = "";
		return bh_path_fmt(out, cap, "%s%s", f[4], rel) < 0
			       ? -ENAMETOOLONG
			       : 0;
	}
	return -ENOENT;
}

size_t cgroup1_memory_writes(uint64_t bytes, int swap,
			     struct cgroup_write w[3])
{
	size_t n = 0;

	if (swap) {
		w[n].file = "memory.memsw.limit_in_bytes";
		snprintf(w[n++].value, sizeof(w->value), "-1");
	}
	w[n].file = "memory.limit_in_bytes";
	snprintf(w[n++].value, sizeof(w->value), "%llu",
		 (unsigned long long)bytes);
	if (swap) {
		w[n].file = "memory.memsw.limit_in_bytes";
		snprintf(w[n++].value, sizeof(w->value), "%llu",
			 (unsigned long long)bytes);
	}
	return n;
}

/* Whether dir/file exists. */
static int has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	return bh_path_fmt(path, sizeof(path), "%s/%s", dir, file) == 0 &&
	       access(path, F_OK) == 0;
}

/* The daemon's group folder under the v1 hierarchy of controller, into
 * out. Returns 0, or -1 with cg->why set. */
static int v1_dir(struct cgroups *cg, const char *mountinfo,
		  const char *self_cgroup, const char *controller,
		  const char *name, char *out, size_t cap)
{
	char own[PATH_MAX];
	FILE *m = fopen(mountinfo, "re"), *c = fopen(self_cgroup, "re");
	int r = -ENOENT;

	if (m && c)
		r = cgroup1_own_dir(m, c, controller, own, sizeof(own));
	else
		r = -errno;
	if (m)
		fclose(m);
	if (c)
		fclose(c);
	if (r == 0 && bh_path_fmt(out, cap, "%s/%s", own, name) < 0)
		r = -ENAMETOOLONG;
	if (r == -ENOENT) {
		snprintf(cg->why, sizeof(cg->why),
			 "no cgroup v1 %s hierarchy mounted that shows this "
			 "daemon's group",
			 controller);
		return -1;
	}
	if (r < 0) {
		snprintf(cg->why, sizeof(cg->why), "cgroup v1 %s: %s",
			 controller, strerror(-r));
		return -1;
	}
	return 0;
}

int cgroups_init_v1(struct cgroups *cg, const char *root,
		    const char *mountinfo, const char *self_cgroup)
{
	static const char *const ctl[2] = { "memory", "pids" };
	static const char *const probe[2] = { "memory.limit_in_bytes",
					      "pids.max" };
	char name[64];
	int made[2] = { 0, 0 };
	unsigned i;

	cgroup_group_name(root, name, sizeof(name));
	if (v1_dir(cg, mountinfo, self_cgroup, "memory", name, cg->dir[0],
		   sizeof(cg->dir[0])) < 0 ||
	    v1_dir(cg, mountinfo, self_cgroup, "pids", name, cg->dir[1],
		   sizeof(cg->dir[1])) < 0)
		return -1;
	/* Mounted together: one group holds both. */
	cg->ndirs = strcmp(cg->dir[0], cg->dir[1]) ? 2 : 1;
	for (i = 0; i < cg->ndirs; i++) {
		if (mkdir(cg->dir[i], 0755) == 0) {
			made[i] = 1;
		} else if (errno != EEXIST) {
			snprintf(cg->why, sizeof(cg->why),
				 "cannot create %.400s: %s", cg->dir[i],
				 strerror(errno));
			goto fail;
		}
	}
	for (i = 0; i < 2; i++)
		if (!has_file(cg->dir[i ? cg->ndirs - 1 : 0], probe[i])) {
			snprintf(cg->why, sizeof(cg->why),
				 "%.400s has no %s: not a cgroup v1 %s group",
				 cg->dir[i ? cg->ndirs - 1 : 0], probe[i],
				 ctl[i]);
			goto fail;
		}
	cg->swap = has_file(cg->dir[0], "memory.memsw.limit_in_bytes");
	cg->mode = CGROUP_V1;
	cg->on = 1;
	return 0;
fail:
	for (i = 0; i < 2; i++)
		if (made[i])
			rmdir(cg->dir[i]);
	cg->ndirs = 0;
	return -1;
}

void cgroups_init(struct cgroups *cg, const char *root, const char *fs)
{
	char mnt[PATH_MAX], v2why[sizeof(cg->why)];

	memset(cg, 0, sizeof(*cg));
	if (fs) {
		if (bh_path_fmt(mnt, sizeof(mnt), "%s", fs) == 0)
			init_v2(cg, root, mnt);
		return;
	}
	if (find_cgroup2(cg, mnt, sizeof(mnt)) == 0 &&
	    init_v2(cg, root, mnt) == 0)
		return;
	memcpy(v2why, cg->why, sizeof(v2why));
	memset(cg, 0, sizeof(*cg));
	if (cgroups_init_v1(cg, root, "/proc/self/mountinfo",
			    "/proc/self/cgroup") == 0)
		return;
	{
		char v1why[sizeof(cg->why)];

		memcpy(v1why, cg->why, sizeof(v1why));
		snprintf(cg->why, sizeof(cg->why), "v2: %.550s; v1: %.550s",
			 v2why, v1why);
	}
}

static int qube_dir(const char *base, const char *name, char *out,
		    size_t cap)
{
	/* "qube-": no cgroup interface file starts so, and a qube name may
	 * hold dots ("memory.max" is a valid one). */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return bh_path_fmt(out, cap, "%s/qube-%s", base, name) < 0
		       ? -ENAMETOOLONG
		       : 0;
}

/* Writes the limits into the qube's groups dirs (cg->ndirs of them). */
static int write_limits(const struct cgroups *cg,
			char dirs[CGROUP_DIRS_MAX][PATH_MAX],
			unsigned memory_mb, unsigned vcpus, const char **file)
{
	uint64_t bytes = cgroup_memory_max(memory_mb);
	struct cgroup_write w[3];
	char v[32];
	size_t n, i;
	int r = 0;

	if (cg->mode == CGROUP_V2) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)bytes);
		*file = "memory.max";
		r = write_file(dirs[0], *file, v);
		if (r == 0 && cg->swap) {
			*file = "memory.swap.max";
			r = write_file(dirs[0], *file, "0");
		}
	} else {
		n = cgroup1_memory_writes(bytes, cg->swap, w);
		for (i = 0; i < n && r == 0; i++) {
			*file = w[i].file;
			r = write_file(dirs[0], w[i].file, w[i].value);
		}
	}
	if (r == 0) {
		snprintf(v, sizeof(v), "%u", cgroup_pids_max(vcpus));
		*file = "pids.max";
		r = write_file(dirs[cg->ndirs - 1], *file, v);
	}
	return r;
}

int cgroup_qube_create(const struct cgroups *cg, const char *name,
		       unsigned memory_mb, unsigned vcpus,
		       int fds[CGROUP_DIRS_MAX], char *err, size_t cap)
{
	char dirs[CGROUP_DIRS_MAX][PATH_MAX], path[PATH_MAX];
	const char *file = "";
	unsigned i, made = 0;
	int r = 0;

	for (i = 0; i < CGROUP_DIRS_MAX; i++)
		fds[i] = -1;
	if (!cg->on)
		return -ENOTSUP;
	for (i = 0; i < cg->ndirs; i++) {
		r = qube_dir(cg->dir[i], name, dirs[i], sizeof(dirs[i]));
		if (r < 0) {
			snprintf(err, cap, "no cgroup for qube name '%s'",
				 name);
			return r;
		}
	}
	for (; made < cg->ndirs; made++) {
		if (mkdir(dirs[made], 0755) == 0)
			continue;
		r = -errno;
		/* Left empty by a killed daemon (or a removal that failed):
		 * it serves again. One with processes is someone's QEMU. */
		if (r != -EEXIST || has_procs(dirs[made])) {
			snprintf(err, cap, "cannot create cgroup %.1500s: %s",
				 dirs[made],
				 r == -EEXIST ? "it holds processes"
					      : strerror(-r));
			r = r == -EEXIST ? -EBUSY : r;
			goto fail;
		}
		r = 0;
	}
	r = write_limits(cg, dirs, memory_mb, vcpus, &file);
	if (r < 0) {
		snprintf(err, cap,
			 "cannot set the limits of cgroup %.1500s (%s): %s",
			 dirs[0], file, strerror(-r));
		goto fail;
	}
	for (i = 0; i < cg->ndirs; i++) {
		if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs",
				dirs[i]) < 0 ||
		    (fds[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			r = -errno;
			snprintf(err, cap, "cannot open %.1500s/cgroup.procs: %s",
				 dirs[i], strerror(-r));
			goto fail;
		}
	}
	return (int)cg->ndirs;
fail:
	for (i = 0; i < CGROUP_DIRS_MAX; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	for (i = 0; i < made; i++)
		rmdir(dirs[i]);
	return r;
}

int cgroup_qube_remove(const struct cgroups *cg, const char *name)
{
	char dir[PATH_MAX];
	unsigned i;
	int r, first = 0;

	if (!cg->on)
		return 0;
	for (i = 0; i < cg->ndirs; i++) {
		r = qube_dir(cg->dir[i], name, dir, sizeof(dir));
		if (r == 0 && rmdir(dir) < 0)
			r = -errno;
		if (r < 0 && first == 0)
			first = r;
	}
	return first;
}

/* Ends whatever runs in dir (cgroup.kill, Linux 5.14) and waits, bounded,
 * for it to empty. */
static void kill_group(const char *dir)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };
	int waited;

	if (write_file(dir, "cgroup.kill", "1") < 0)
		return;
	for (waited = 0; has_procs(dir) && waited < CGROUP_KILL_WAIT_MS;
	     waited += 50)
		nanosleep(&t, NULL);
}

/* The real uid of pid, from /proc/PID/status; (uid_t)-1 when unknown. */
static uid_t proc_uid(pid_t pid)
{
	char path[64], *text, *u;
	size_t len;
	uid_t uid = (uid_t)-1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (bh_read_file(path, 16384, &text, &len) < 0)
		return uid;
	u = strstr(text, "\nUid:\t");
	if (u)
		uid = (uid_t)strtoul(u + 6, NULL, 10);
	free(text);
	return uid;
}

/* Whether pid is listed in dir/cgroup.procs. */
static int listed(const char *dir, pid_t pid)
{
	char path[PATH_MAX], *buf, *tok, *save = NULL;
	size_t len;
	int found = 0;

	if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    bh_read_file(path, 1 << 20, &buf, &len) < 0)
		return 0;
	for (tok = strtok_r(buf, "\n", &save); tok && !found;
	     tok = strtok_r(NULL, "\n", &save))
		found = atol(tok) == (long)pid;
	free(buf);
	return found;
}

/* v1 has no cgroup.kill: kills, by pidfd, each process listed in
 * dir/cgroup.procs that runs as a jail uid (a QEMU of a daemon of ours:
 * only this state root's daemon, as root, puts processes in this group,
 * and a jailed QEMU can neither move nor fork), and waits, bounded, for
 * them to end. The pidfd is taken before the checks, and the pid must
 * still be listed after them, so a reused pid is never signalled. What
 * else is listed is left (logged). */
static void kill_ours_v1(const char *dir)
{
	struct pollfd p[64];
	char path[PATH_MAX], *buf, *tok, *save = NULL;
	size_t len, n = 0, i, done;
	int64_t deadline;

	if (bh_path_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    bh_read_file(path, 1 << 20, &buf, &len) < 0)
		return;
	for (tok = strtok_r(buf, "\n", &save); tok && n < 64;
	     tok = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atol(tok);
		uid_t uid;
		int fd;

		if (pid <= 1)
			continue;
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd < 0)
			continue; /* gone */
		uid = proc_uid(pid);
		if (uid < JAIL_UID_BASE ||
		    uid >= JAIL_UID_BASE + JAIL_UID_COUNT ||
		    !listed(dir, pid)) {
			if (uid != (uid_t)-1 && listed(dir, pid))
				LOG_WARN("cgroups: %s holds pid %d (uid %u), "
					 "no QEMU of ours; left alone",
					 dir, (int)pid, (unsigned)uid);
			close(fd);
			continue;
		}
		LOG_WARN("cgroups: killing pid %d (uid %u) of an earlier "
			 "daemon, left in %s",
			 (int)pid, (unsigned)uid, dir);
		if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0) {
			close(fd);
			continue;
		}
		p[n++] = (struct pollfd){ fd, POLLIN, 0 };
	}
	free(buf);
	deadline = bh_now_ms() + CGROUP_KILL_WAIT_MS;
	do {
		for (i = done = 0; i < n; i++)
			done += p[i].revents != 0;
		if (done == n || bh_now_ms() >= deadline)
			break;
	} while (poll(p, n, 50) >= 0 || errno == EINTR);
	for (i = 0; i < n; i++)
		close(p[i].fd);
}

int cgroups_cleanup_stale(const struct cgroups *cg, cgroup_keep_fn keep,
			  void *ctx)
{
	char dir[PATH_MAX];
	struct dirent *e;
	unsigned i;
	DIR *d;
	int n = 0;

	for (i = 0; cg->on && i < cg->ndirs; i++) {
		if (!(d = opendir(cg->dir[i])))
			continue;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR ||
			    strncmp(e->d_name, "qube-", 5) ||
			    (keep && keep(e->d_name + 5, ctx)) ||
			    bh_path_fmt(dir, sizeof(dir), "%s/%s", cg->dir[i],
					e->d_name) < 0)
				continue;
			if (has_procs(dir)) {
				/* Only our QEMUs are ever put there; one
				 * whose pid file was lost escaped
				 * leftover_qemus_end. */
				LOG_WARN("cgroups: %s still holds processes "
					 "of an earlier daemon; killing them",
					 dir);
				if (cg->mode == CGROUP_V2)
					kill_group(dir);
				else
					kill_ours_v1(dir);
			}
			if (rmdir(dir) == 0)
				n++;
			else
				LOG_WARN("cgroups: cannot remove %s: %s", dir,
					 strerror(errno));
		}
		closedir(d);
	}
	if (n)
		LOG_INFO("cgroups: removed %d group%s left by an earlier "
			 "daemon",
			 n, n == 1 ? "" : "s");
	return n;
}

void cgroups_fini(const struct cgroups *cg)
{
	unsigned i;

	for (i = 0; cg->on && i < cg->ndirs; i++)
		rmdir(cg->dir[i]);
}
