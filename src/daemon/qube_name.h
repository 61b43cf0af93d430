/* The rule for qube names, Qubes' own (core-admin validate_name): they
 * appear in policy files, window titles, paths under the state folder and
 * QEMU's command line, so they are short, plain ASCII, and cannot be
 * mistaken for the admin domain or a keyword. */
#ifndef BH_DAEMON_QUBE_NAME_H
#define BH_DAEMON_QUBE_NAME_H

#include <stddef.h>

/* Qubes' limit, kept so names move between the two systems; a name and
 * its NUL fit the 32-byte name fields the daemon uses. */
#define QUBE_NAME_MAX 31

/* Returns 0 when untrusted_name is a valid qube name, or -EINVAL with a
 * message naming the rule it breaks in err. The message never repeats the
 * name: it may hold bytes that act on a terminal. */
int qube_name_check(const char *untrusted_name, char *err, size_t cap);

#endif
