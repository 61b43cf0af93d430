/* bh's side of a command or service running in a qube: the request goes
 * to bulkheadd, then input is sent under the qube's credit and output is
 * written out, until the exit status comes back. Shared by bh run and
 * bh copy. */
#ifndef BH_CLI_RUN_RELAY_H
#define BH_CLI_RUN_RELAY_H

#include <stdint.h>

struct run_fds {
	int in;  /* read and sent as the command's stdin */
	int out; /* the command's stdout is written here */
	int err; /* and its stderr here */
	/* Replace control characters (but tab, newline, carriage return)
	 * in output written to a terminal, so that a qube cannot drive the
	 * user's terminal with escape sequences. */
	int filter_out, filter_err;
	/* What to say when the account the command was to run as does not
	 * exist in the qube (NULL: a general message). */
	const char *nouser_msg;
};

/* Sends the request frame (type, payload) on a new daemon connection and
 * relays until the end. Returns the status for bh (the command's, or one
 * of bh's 120..125). */
int run_relay(uint32_t type, const uint8_t *req, uint32_t len,
	      const struct run_fds *fds);

/* The same on fd, a connection to the daemon already made (tests use a
 * socket pair); fd stays open. */
int run_relay_fd(int fd, uint32_t type, const uint8_t *req, uint32_t len,
		 const struct run_fds *fds);

/* The escaping run_relay applies: copies len bytes of a qube's output
 * into out (capacity len), each control character replaced by '_'. */
void run_filter_controls(const uint8_t *untrusted_p, uint32_t len,
			 uint8_t *out);

#endif
