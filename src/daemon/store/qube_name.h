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

/* 1 when name has the form disposables are given, "disp" and digits
 * (compared without case, as the reserved words are), else 0. */
int qube_name_is_disposable(const char *name);

/* qube_name_check, plus the rule for a name a user gives a new qube (at
 * create, clone or import): disp followed by digits is kept for the
 * disposables bulkheadd names itself, as Qubes keeps it for DispVMs, so
 * that policy, tags, BH_REMOTE_QUBE and asks never take one qube for
 * another. Names that only refer to a qube (policy, calls) use
 * qube_name_check: a disposable is one of them. */
int qube_name_check_new(const char *untrusted_name, char *err, size_t cap);

#endif
