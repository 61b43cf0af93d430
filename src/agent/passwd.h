/* Looking a user up in the qube's /etc/passwd. The agent is a static
 * binary without NSS, and a qube's accounts are plain files. */
#ifndef BH_AGENT_PASSWD_H
#define BH_AGENT_PASSWD_H

#include <stddef.h>
#include <sys/types.h>

#define PASSWD_FILE "/etc/passwd"
#define PASSWD_HOME_MAX 256

struct pw_user {
	uid_t uid;
	gid_t gid;
	char home[PASSWD_HOME_MAX];
};

/* Finds name in text (the contents of a passwd file, len bytes). Returns
 * 0, -ENOENT when there is no such user, or -EINVAL for an entry of that
 * name that is malformed (bad uid, gid or home). */
int passwd_find(const char *text, size_t len, const char *name,
		struct pw_user *out);

/* passwd_find in PASSWD_FILE (at most 1 MiB read). */
int passwd_lookup(const char *name, struct pw_user *out);

#endif
