/* /etc/passwd lookups for the agent (see passwd.h). */
#include "agent/passwd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* A decimal id below 2^31 of exactly len bytes. */
static int parse_id(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 0x7fffffffUL)
		return -EINVAL;
	*out = v;
	return 0;
}

/* name:passwd:uid:gid:gecos:home:shell */
static int parse_line(const char *line, size_t len, const char *name,
		      struct pw_user *out)
{
	const char *f[7];
	size_t fl[7], n = 0, i, start = 0;
	unsigned long uid, gid;

	for (i = 0; i <= len && n < 7; i++) {
		if (i == len || line[i] == ':') {
			f[n] = line + start;
			fl[n++] = i - start;
			start = i + 1;
		}
	}
	if (n < 1 || fl[0] != strlen(name) || memcmp(f[0], name, fl[0]))
		return -ENOENT;
	if (n != 7 || i != len + 1 || parse_id(f[2], fl[2], &uid) < 0 ||
	    parse_id(f[3], fl[3], &gid) < 0 || fl[5] == 0 ||
	    fl[5] >= PASSWD_HOME_MAX || f[5][0] != '/' ||
	    memchr(f[5], '\0', fl[5]))
		return -EINVAL;
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	memcpy(out->home, f[5], fl[5]);
	out->home[fl[5]] = '\0';
	return 0;
}

int passwd_find(const char *text, size_t len, const char *name,
		struct pw_user *out)
{
	size_t off = 0;

	if (!name[0])
		return -ENOENT;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (text + off)) : len - off;
		int r = parse_line(text + off, l, name, out);

		if (r != -ENOENT)
			return r;
		off += l + 1;
	}
	return -ENOENT;
}

int passwd_lookup(const char *name, struct pw_user *out)
{
	char *text;
	size_t len;
	int r = bh_read_file(PASSWD_FILE, 1 << 20, &text, &len);

	if (r < 0)
		return r;
	r = passwd_find(text, len, name, out);
	free(text);
	return r;
}
