/* Admin calls from bh: one ADMIN_CALL frame, one ADMIN_REPLY back, on a
 * connection from daemon_connect() that may carry several calls. */
#ifndef BH_CLI_ADMIN_CLIENT_H
#define BH_CLI_ADMIN_CLIENT_H

#include <stddef.h>

struct admin_conn;

/* Connects (starting the daemon if needed). NULL after printing why, with
 * *status set to bh's exit code. */
struct admin_conn *admin_open(int *status);
void admin_close(struct admin_conn *c);

/* Sends one call and waits for its reply. Returns the status (0 or an
 * enum bh_admin_status; 1 when the connection failed, after saying so) and
 * *text, the reply's text NUL-terminated, owned by c until the next call.
 * On a non-zero status the text is the daemon's message. */
int admin_request(struct admin_conn *c, const char *method, const char *dest,
		  const char *arg, const char *body, const char **text);

/* admin_request, printing "bh: VERB: message" on failure. */
int admin_do(struct admin_conn *c, const char *verb, const char *method,
	     const char *dest, const char *arg, const char *body,
	     const char **text);

/* Opens, calls once with admin_do, and closes; on success *copy is the
 * reply's text, malloc'd for the caller to free. Returns the status
 * (BH_ADMIN_FAILED, said, when memory runs out). */
int admin_fetch(const char *verb, const char *method, const char *dest,
		const char *arg, char **copy);

/* Opens, calls once with admin_do, and closes; prints a successful reply's
 * text on stdout when show is set. Returns the status. */
int admin_once(const char *verb, const char *method, const char *dest,
	       const char *arg, const char *body, int show);

/* admin_once for a call that may wait for a job (a copy, mke2fs, a
 * resize): on a terminal, a progress line for the jobs of qube subject,
 * from admin.Events on a second connection, on stderr until the reply. */
int admin_once_progress(const char *verb, const char *method,
			const char *dest, const char *arg, const char *body,
			int show, const char *subject);

#endif
