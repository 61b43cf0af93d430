/* BH_MSG_RESUME in the agent (proto/resume.h): after a snapshot restore,
 * or a `cont` of a preloaded qube, the clock, the RNG state and the host
 * name are those of the snapshot instant. Before anything else runs, the
 * agent sets the clock, mixes in the host's entropy and forces a reseed,
 * gives the machine a fresh boot_id, takes the new name, optionally warms
 * up the command path, and answers HELLO as at boot.
 *
 * Every side effect on the machine goes through struct agent_resume_ops,
 * so that tests and fuzzers never set the clock, host name or RNG of the
 * machine they run on. An agent without ops (agent_init's default, and
 * bh-agent --serve-fd) refuses RESUME. */
#ifndef BH_AGENT_RESUME_H
#define BH_AGENT_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct agent;

struct agent_resume_ops {
	/* Each returns 0 or -errno. */
	int (*set_clock)(uint64_t realtime_ns);
	/* Mixes buf into the kernel's pool, credited, and forces the CRNG
	 * to reseed from it. */
	int (*add_entropy)(const uint8_t *buf, size_t len);
	int (*set_hostname)(const char *name);
	/* Gives the machine a boot_id of its own, drawn from the reseeded
	 * RNG (every clone of a snapshot would show the snapshot's). */
	int (*new_boot_id)(void);
	/* Reaps the warm-up command. */
	int (*wait_child)(pid_t pid);
	/* Does not return on a qube; a test's may. */
	void (*power_off)(void);
};

/* The real ones: clock_settime, RNDADDENTROPY + RNDRESEEDCRNG on
 * /dev/urandom, a random UUID bound over /proc/sys/kernel/random/boot_id
 * (agent_boot_id_replace), sethostname, waitpid, agent_power_off. For
 * PID 1 only. */
extern const struct agent_resume_ops agent_resume_system_ops;

/* Handles a RESUME frame's payload (the header was checked). Returns 0
 * with HELLO queued; -EPROTO for a payload the host should never send, or
 * when a->resume_ops is NULL (nothing was changed then); -EIO when the RNG
 * could not be reseeded (after ops->power_off, which on a qube does not
 * return). */
int agent_resume(struct agent *a, const uint8_t *untrusted_payload,
		 uint32_t len);

/* Where the replacement boot_id lives (/run is the agent's tmpfs). */
#define AGENT_BOOT_ID_FILE "/run/bulkhead-boot_id"
#define AGENT_BOOT_ID_PROC "/proc/sys/kernel/random/boot_id"

/* Formats 16 random bytes as the kernel does a boot_id: a version 4 UUID,
 * lower-case, with a newline (37 bytes and a NUL in out). */
void agent_uuid_format(const uint8_t b[16], char out[38]);

/* The kernel's boot_id cannot be written, so a file holding a new one
 * (from getrandom, read after the reseed) is bind-mounted over it: file
 * is written (mode 0444, via a temporary name) and bound onto proc. A
 * second call (a preloaded qube's second RESUME) stacks a new mount on
 * the first. Returns 0 or -errno. */
int agent_boot_id_replace(const char *file, const char *proc);

#endif
