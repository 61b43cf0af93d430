/* The agent's settings, read from the kernel command line that the daemon
 * wrote: bh.name=NAME bh.root=DEV bh.private=DEV bh.disposable=1
 * bh.port=PORTNAME bh.rootrw=1 bh.bench=poweroff bh.trace=1
 * bh.init=systemd. Unknown words are the kernel's and are ignored. */
#ifndef BH_AGENT_CMDLINE_H
#define BH_AGENT_CMDLINE_H

#include <stddef.h>

/* Host names are at most 63 bytes (HOST_NAME_MAX on Linux is 64 with NUL);
 * qube names are at most 31 anyway. */
#define AGENT_NAME_MAX 64
#define AGENT_DEV_MAX 64

struct agent_config {
	char name[AGENT_NAME_MAX];
	char root_dev[AGENT_DEV_MAX];    /* "" = stay in the initramfs */
	char private_dev[AGENT_DEV_MAX]; /* "" = no private volume */
	char port[AGENT_NAME_MAX];       /* virtio-serial port name */
	int disposable;
	int root_rw; /* bh.rootrw=1: the root is the qube's own, written
		      * in place (TemplateVM, StandaloneVM), no overlay */
	int bench_poweroff; /* power off as soon as init runs (benchmark) */
	int trace;          /* bh.trace=1: log each boot step with its time */
	int init_systemd;   /* bh.init=systemd: hand PID 1 over to systemd
			     * once the root is mounted (handover.h) */
};

/* Parses a command line; values too long or with characters outside
 * [A-Za-z0-9_./-] are refused with -EINVAL. */
int agent_cmdline_parse(const char *line, size_t len,
			struct agent_config *cfg);

#endif
