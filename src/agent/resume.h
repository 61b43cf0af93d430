/* BH_MSG_RESUME in the agent (proto/resume.h): after a snapshot restore,
 * or a `cont` of a preloaded qube, the clock, the RNG state and the host
 * name are those of the snapshot instant. Before anything else runs, the
 * agent sets the clock, mixes in the host's entropy and forces a reseed,
 * takes the new name, optionally warms up the command path, and answers
 * HELLO as at boot.
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
	/* Reaps the warm-up command. */
	int (*wait_child)(pid_t pid);
	/* Does not return on a qube; a test's may. */
	void (*power_off)(void);
};

/* The real ones: clock_settime, RNDADDENTROPY + RNDRESEEDCRNG on
 * /dev/urandom, sethostname, waitpid, agent_power_off. For PID 1 only. */
extern const struct agent_resume_ops agent_resume_system_ops;

/* Handles a RESUME frame's payload (the header was checked). Returns 0
 * with HELLO queued; -EPROTO for a payload the host should never send, or
 * when a->resume_ops is NULL (nothing was changed then); -EIO when the RNG
 * could not be reseeded (after ops->power_off, which on a qube does not
 * return). */
int agent_resume(struct agent *a, const uint8_t *untrusted_payload,
		 uint32_t len);

#endif
