/* systemd's readiness protocol (sd_notify(3)), without libsystemd: under
 * bulkheadd.service (Type=notify) the daemon says READY=1 once its admin
 * socket listens and STOPPING=1 when it starts to stop, so that
 * `systemctl start bulkheadd` returns only once bh can connect. Outside
 * systemd NOTIFY_SOCKET is unset and these do nothing. */
#ifndef BH_DAEMON_SD_NOTIFY_H
#define BH_DAEMON_SD_NOTIFY_H

/* Takes NOTIFY_SOCKET out of the environment (QEMU and the volume tools
 * must not inherit it) and keeps it for sd_notify_send. Call once, first. */
void sd_notify_init(void);

/* Sends state ("READY=1\nSTATUS=...") as one datagram to the socket
 * sd_notify_init kept. Returns 0, 0 when there is none, or -errno. */
int sd_notify_send(const char *state);

#endif
