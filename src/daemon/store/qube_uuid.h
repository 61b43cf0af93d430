/* A qube's uuid, as Qubes gives every qube one: a random (version 4)
 * UUID in its text form, 8-4-4-4-12 lowercase hex digits, which policy
 * files name as uuid:UUID (docs/policy.md). The store makes one for each
 * qube it records; the daemon makes one for each disposable it runs. */
#ifndef BH_DAEMON_QUBE_UUID_H
#define BH_DAEMON_QUBE_UUID_H

#include <stddef.h>

#define QUBE_UUID_LEN 36 /* without the NUL */

/* A fresh version-4 uuid from getrandom(2) into out (QUBE_UUID_LEN + 1
 * bytes). Returns 0, or -errno when the kernel gave no random bytes (out
 * is then ""). */
int qube_uuid_new(char out[QUBE_UUID_LEN + 1]);

/* 1 when s is exactly what qube_uuid_new makes: lowercase 8-4-4-4-12,
 * version 4, variant 10xx; 0 otherwise. */
int qube_uuid_ok(const char *s);

#endif
