/* Finds a virtio-serial port by the name the host gave it. */
#ifndef BH_AGENT_PORT_H
#define BH_AGENT_PORT_H

#include <stddef.h>

/* Waits up to timeout_ms for a port named `name` and writes its device
 * path (/dev/vportNpM) to out. */
int port_find(const char *name, char *out, size_t cap, int timeout_ms);
/* One look, no waiting: 0 and the path in out, or -ENOENT. */
int port_lookup(const char *name, char *out, size_t cap);

#endif
