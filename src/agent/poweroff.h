/* Powering the qube off: the end of every path out of the agent. */
#ifndef BH_AGENT_POWEROFF_H
#define BH_AGENT_POWEROFF_H

/* Syncs and powers off (through systemd after a hand-over, handover.h).
 * Never returns. */
void agent_power_off(void) __attribute__((noreturn));

#endif
