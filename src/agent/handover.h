/* Handing PID 1 over to systemd (bh.init=systemd; the daemon sets it from
 * the qube's feature init=systemd). By default the agent stays PID 1 and
 * no init system runs: the fast path. With the hand-over, once the root
 * is mounted the agent forks: PID 1 execs /lib/systemd/systemd, and the
 * child goes on as the agent (host channel, commands, reaping its own
 * children; orphans go to systemd). Powering off is then systemd's job:
 * the agent asks it with SIGRTMIN+4, as `systemctl poweroff --force` does
 * not need a bus. */
#ifndef BH_AGENT_HANDOVER_H
#define BH_AGENT_HANDOVER_H

/* The init that PID 1 execs. */
#define HANDOVER_SYSTEMD "/lib/systemd/systemd"
/* How long the agent waits for systemd to power off before it forces it
 * (systemd's own stop timeouts are longer than a qube should take). */
#define HANDOVER_POWEROFF_WAIT_S 20

/* Called by PID 1 with the new root in place. Returns 0 in the agent's
 * process (the child, or PID 1 itself when there is no systemd in the
 * template: logged, and the qube boots on the fast path). PID 1 never
 * returns when the exec works; if it fails, PID 1 reaps children until
 * the agent ends, then powers off. */
int handover_start(void);

/* 1 once handover_start forked: the agent is no longer PID 1. */
int handover_active(void);

/* The agent's power-off under systemd: SIGRTMIN+4 to PID 1, then (with
 * SIGTERM deliverable again, so systemd's final kill ends us) a forced
 * power-off after HANDOVER_POWEROFF_WAIT_S. Never returns. */
void handover_power_off(void) __attribute__((noreturn));

#endif
