/* The daemon's hooks (core/daemon.h): each lower layer's calls into the
 * higher ones, wired here, in the one place that sees every layer. */
#ifndef BH_DAEMON_WIRE_H
#define BH_DAEMON_WIRE_H

#include "daemon/core/daemon.h"

/* What d->hooks points to, in the daemon and in the tests that run its
 * code on a struct daemon of their own. */
extern const struct daemon_hooks daemon_hooks;

#endif
