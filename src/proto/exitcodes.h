/* Exit codes of bh, shared with the daemon which picks them for its errors.
 * A command run in a qube returns its own status (0..255, 128+N for a
 * signal); bh's own failures use 120..125 so that scripts can tell them
 * apart from the common small codes. Documented in bh(1). */
#ifndef BH_PROTO_EXITCODES_H
#define BH_PROTO_EXITCODES_H

enum bh_exitcode {
	BH_EXIT_USAGE = 120,      /* bad option, missing command */
	BH_EXIT_NODAEMON = 121,   /* daemon unreachable or failed to start */
	BH_EXIT_SETUP = 122,      /* QEMU, kernel or images missing/corrupt */
	BH_EXIT_NOSPACE = 123,    /* no space for the qube's files */
	BH_EXIT_NOTREADY = 124,   /* the qube never became ready */
	BH_EXIT_FAILURE = 125,    /* the qube or its channel failed */
	BH_EXIT_CANNOTEXEC = 126, /* command found but not executable */
	BH_EXIT_NOTFOUND = 127,   /* no such command in the qube */
};

/* Statuses of admin calls on qube records (ADMIN_REPLY), which the record
 * verbs (bh create, remove, ls, prefs, features, tags) return as their exit
 * code. They run no command, so the small codes are free for them; bh's
 * own 120 (bad BULKHEAD_ROOT) and 121 (daemon unreachable) still apply. */
enum bh_admin_status {
	BH_ADMIN_OK = 0,
	BH_ADMIN_FAILED = 1,  /* the store or the daemon failed */
	BH_ADMIN_INVALID = 2, /* usage or validation: bad name, unknown
			       * property, wrong type, missing template,
			       * memory over the host's ... */
	BH_ADMIN_REFUSED = 3, /* duplicate name, template in use, qube
			       * running, built-in qube, not available yet */
	BH_ADMIN_NOSUCH = 4,  /* no such qube, feature or tag */
};

#endif
