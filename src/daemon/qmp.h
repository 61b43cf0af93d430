/* A QMP client for one QEMU: newline-delimited JSON over a socket, parsed
 * with jansson. QEMU is less trusted than the daemon (it parses guest
 * data), so lines are bounded and every field is type-checked. */
#ifndef BH_DAEMON_QMP_H
#define BH_DAEMON_QMP_H

#include <stddef.h>

/* QMP replies we expect are small; a longer line is an error. */
#define QMP_LINE_MAX (64u * 1024u)

enum qmp_state { QMP_GREETING, QMP_NEGOTIATING, QMP_READY, QMP_CLOSED };

struct qmp {
	int fd;
	enum qmp_state state;
	char in[QMP_LINE_MAX];
	size_t in_len;
	/* Last event name and shutdown reason, for the log. */
	char last_event[64];
	char shutdown_reason[64];
	/* The status of the last MIGRATION event ("completed", "failed",
	 * ...; "" before any), and a flag set when it changes, for the
	 * snapshot code to act on (dispvm_snapshot.h). */
	char migration[32];
	int migration_changed;
};

void qmp_init(struct qmp *q, int fd);
/* Reads and handles what QEMU sent: greeting → qmp_capabilities, events,
 * replies. Returns 0, or -errno / -EPROTO when the connection is unusable
 * (QMP_CLOSED). */
int qmp_handle_input(struct qmp *q, const char *qube);
/* Sends one command without arguments ("quit", "system_powerdown"). */
int qmp_command(struct qmp *q, const char *name);
/* Sends a command with one string argument, {"execute": name,
 * "arguments": {key: value}}. */
int qmp_command_str(struct qmp *q, const char *name, const char *key,
		    const char *value);
/* `getfd`: passes fd to QEMU under fdname (SCM_RIGHTS), for a later
 * command that names it ("fd:NAME"). */
int qmp_getfd(struct qmp *q, const char *fdname, int fd);

/* Parses one QMP line into the state machine; exposed for unit tests. */
int qmp_handle_line(struct qmp *q, const char *untrusted_line, size_t len,
		    const char *qube);

#endif
