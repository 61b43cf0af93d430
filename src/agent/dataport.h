/* The agent's view of direct data ports (docs/rpc-data-path.md): finding
 * the port bulkhead.data.N the host plugged, event-driven (kernel uevents,
 * no sleeping), and opening it. The pumps live in serve.c. */
#ifndef BH_AGENT_DATAPORT_H
#define BH_AGENT_DATAPORT_H

#include <stddef.h>
#include <stdint.h>

/* A NETLINK_KOBJECT_UEVENT socket (non-blocking): readable whenever a
 * device changes, among them a virtio port appearing or getting its name
 * (the name comes after the node, with a change event). Returns the fd or
 * -errno. */
int dataport_uevent_open(void);
/* Drops whatever the uevent socket holds (a wake-up is all we use). */
void dataport_uevent_drain(int fd);
/* Opens port bulkhead.data.N read-write and non-blocking when it is
 * there. Returns the fd, -ENOENT when not (yet), or -errno. */
int dataport_open(uint32_t n);

#endif
