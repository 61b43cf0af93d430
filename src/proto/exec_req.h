/* The payload of BH_MSG_EXEC and BH_MSG_RUN_DISPVM: one command to run.
 *
 *   u32 argc   1..BH_EXEC_MAX_ARGS
 *   u32 envc   0..BH_EXEC_MAX_ENV
 *   argc + envc strings, each NUL-terminated, nothing after the last NUL
 *
 * Every argument is a string without NUL; argv[0] is not empty; each
 * environment entry is NAME=VALUE with a non-empty NAME of [A-Za-z0-9_].
 * The whole request fits in one frame (BH_FRAME_MAX_PAYLOAD). */
#ifndef BH_PROTO_EXEC_REQ_H
#define BH_PROTO_EXEC_REQ_H

#include <stddef.h>
#include <stdint.h>

/* Bounds the pointer arrays a receiver allocates for one request. */
#define BH_EXEC_MAX_ARGS 4096u
#define BH_EXEC_MAX_ENV 1024u

struct bh_exec_req {
	uint32_t argc;
	uint32_t envc;
	/* NULL-terminated arrays pointing into `storage`. */
	char **argv;
	char **envp;
	char *storage;
};

/* Serializes argv/envp into out (capacity cap). Returns the length, or
 * -E2BIG when it does not fit or has too many entries, -EINVAL when an entry
 * breaks the rules above. */
int bh_exec_req_encode(uint8_t *out, size_t cap, char *const argv[],
		       char *const envp[]);

/* Parses and validates a request. On success fills req (free with
 * bh_exec_req_free) and returns 0; else returns -EPROTO or -ENOMEM and req
 * holds nothing to free. */
int bh_exec_req_parse(const uint8_t *untrusted_buf, size_t len,
		      struct bh_exec_req *req);
void bh_exec_req_free(struct bh_exec_req *req);

/* NAME=VALUE with a name of [A-Za-z0-9_], not starting with a digit. */
int bh_env_entry_valid(const char *s, size_t len);

/* The environment entry that names the account a command runs as (bh run
 * --user): the agent takes it out of the environment; without it the
 * command runs as root. bh sets it only when told (--user); the daemon
 * adds the qube's default_user otherwise. */
#define BH_RUN_USER_ENV "BH_RUN_USER="

/* Copies the exec request req (len bytes) into out (capacity cap) with
 * BH_RUN_USER=user added to its environment, unless an entry names a user
 * already (then the copy is unchanged). Returns the new length; -EPROTO
 * when req is not a valid request; -EINVAL for a user that is not
 * NAME=VALUE material (empty, '=' or NUL in it); -E2BIG when the result
 * does not fit or would hold too many variables. */
int bh_exec_req_add_user(const uint8_t *req, size_t len, const char *user,
			 uint8_t *out, size_t cap);

#endif
