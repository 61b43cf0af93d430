/* The daemon's state: qubes, their properties, features and tags, and the
 * global preferences, in one SQLite database (WAL, foreign keys on, full
 * sync). It is the only store of truth: every change is one transaction
 * that is either all written or not at all, and every value is checked
 * (props.h) before anything is written.
 *
 * Every call that can fail takes err/cap and returns 0 or a negative
 * errno with a message in err for the user:
 *   -ENOENT  no such qube, property, feature or tag
 *   -EEXIST  a qube of that name exists
 *   -EINVAL  a value or name is not allowed (the message says what is)
 *   -EBUSY   a qube is in use (the message names its users), or running
 *            when the change needs it halted
 *   -EPROTO  the database is from a newer Bulkhead
 *   -EIO     SQLite failed (the message has sqlite3_errmsg)
 *   -ERANGE  the caller's output buffer is too small for the value
 * and store_open also returns open(2)'s errno (-ELOOP for a symlink).
 * Messages repeat a user's text only once it is known to be harmless on
 * a terminal (a valid qube or property name).
 *
 * Callbacks run inside the call's transaction and must not call back into
 * the store: such calls fail with -EDEADLK. A callback returning non-zero
 * stops the iteration, and the call returns that value. */
#ifndef BH_DAEMON_STORE_H
#define BH_DAEMON_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/props.h"
#include "daemon/store/qube_name.h"
#include "daemon/store/qube_uuid.h"

/* Migrations this code knows; a database at a higher version is refused. */
#define STORE_SCHEMA_VERSION 3
/* A qube's id is its jail id (jail.h): 1 .. STORE_QUBE_ID_LIMIT - 1, so
 * that it stays below the disposables' jail ids (DISPVM_JAIL_ID_BASE,
 * daemon.h, checked equal there). Chosen by the store, never SQLite's
 * rowid, which would grow into that range. */
#define STORE_QUBE_ID_LIMIT 50000
/* How long a statement waits for a lock held by another process (say, the
 * sqlite3 shell) before failing; the daemon is single-threaded, so keep it
 * short. */
#define STORE_BUSY_TIMEOUT_MS 2000
/* Power-state reasons are short lines ("boot timed out"). */
#define STORE_REASON_MAX 1024
/* Feature keys and tags: Qubes' charset, a length that fits a policy line. */
#define STORE_KEY_MAX 64
/* Feature values: free text, bounded. */
#define STORE_FEATURE_VALUE_MAX 4096
/* Room for any message the store writes. */
#define STORE_ERR_MAX 1024

struct store;
struct sqlite3;

struct qube_info {
	int64_t id;
	char name[QUBE_NAME_MAX + 1];
	unsigned cls; /* enum qube_class */
	char template_name[QUBE_NAME_MAX + 1]; /* "" when none */
	char label[16];
	char power_state[16]; /* Halted, Transient, Running, ... */
	char power_reason[STORE_REASON_MAX + 1];
	char created[32]; /* UTC, 2025-01-31T12:00:00Z */
	/* Made by the store at create, clone and template import, never
	 * changed (qube_uuid.h); what policy files name as uuid:UUID. */
	char uuid[QUBE_UUID_LEN + 1];
};

/* An initial property at creation: name=value as the user typed them. */
struct store_prop {
	const char *name;
	const char *value;
};

typedef int (*store_qube_cb)(void *arg, const struct qube_info *q);
typedef int (*store_name_cb)(void *arg, const char *name);
typedef int (*store_prop_cb)(void *arg, const char *name, const char *value,
			     int is_default);
typedef int (*store_kv_cb)(void *arg, const char *key, const char *value);

/* Creates or opens the database at path (mode 0600, never through a
 * symlink), sets its pragmas and applies the migrations it lacks, each in
 * its own transaction. Limits for memory and vcpus are the host's. */
int store_open(const char *path, struct store **out, char *err, size_t cap);
void store_close(struct store *s);
/* Replaces the host limits that memory and vcpus are checked against. */
void store_set_limits(struct store *s, const struct prop_limits *l);
/* The connection, for tests and diagnostics only. */
struct sqlite3 *store_db(struct store *s);
/* The id for a new qube, on db inside the caller's write transaction:
 * the one after the highest while that is below STORE_QUBE_ID_LIMIT,
 * else the smallest free one. -ENOSPC when every id is taken, -EIO on a
 * SQLite error; each with a message. */
int store_new_qube_id(struct sqlite3 *db, int64_t *id, char *err,
		      size_t cap);

/* ---- qubes ---- */

/* Creates qube name of class cls ("TemplateVM", "AppVM", "StandaloneVM")
 * with label and the n initial properties. An AppVM's template is tmpl,
 * or default_template when tmpl is NULL; other classes take none. The
 * qube gets a fresh uuid (qube_uuid_new). All is checked before anything
 * is written: on any error nothing is created. */
int store_qube_create(struct store *s, const char *name, const char *cls,
		      const char *tmpl, const char *label,
		      const struct store_prop *props, size_t n, char *err,
		      size_t cap);
/* Removes a halted qube with its properties, features and tags. -EBUSY
 * when it is running, or when a qube or global preference refers to it
 * (as template, netvm, default_dispvm): the message names them. */
int store_qube_remove(struct store *s, const char *name, char *err,
		      size_t cap);
int store_qube_get(struct store *s, const char *name, struct qube_info *q,
		   char *err, size_t cap);
/* Every qube, by name. */
int store_qube_list(struct store *s, store_qube_cb cb, void *arg, char *err,
		    size_t cap);
/* The qubes whose template is tmpl, by name. -ENOENT if there is no tmpl. */
int store_template_users(struct store *s, const char *tmpl, store_name_cb cb,
			 void *arg, char *err, size_t cap);
/* state: Halted, Transient, Running, Paused, Suspended, Halting, Dying or
 * Crashed; reason: NULL or a line of at most STORE_REASON_MAX bytes. */
int store_power_set(struct store *s, const char *name, const char *state,
		    const char *reason, char *err, size_t cap);

/* ---- properties ---- */

/* The value of property prop of qube, and whether it is the default (then
 * resolved through the global preferences). */
int store_prop_get(struct store *s, const char *qube, const char *prop,
		   char *out, size_t out_cap, int *is_default, char *err,
		   size_t cap);
int store_prop_set(struct store *s, const char *qube, const char *prop,
		   const char *value, char *err, size_t cap);
/* Back to the default; -EINVAL for a property without one (label,
 * template). */
int store_prop_reset(struct store *s, const char *qube, const char *prop,
		     char *err, size_t cap);
/* Every property the qube's class has, in table order. */
int store_prop_list(struct store *s, const char *qube, store_prop_cb cb,
		    void *arg, char *err, size_t cap);

/* ---- features: free key/value pairs ---- */

int store_feature_get(struct store *s, const char *qube, const char *key,
		      char *out, size_t out_cap, char *err, size_t cap);
/* key: 1 to STORE_KEY_MAX of [A-Za-z0-9_.-]; value: printable ASCII, at
 * most STORE_FEATURE_VALUE_MAX bytes. */
int store_feature_set(struct store *s, const char *qube, const char *key,
		      const char *value, char *err, size_t cap);
int store_feature_unset(struct store *s, const char *qube, const char *key,
			char *err, size_t cap);
int store_feature_list(struct store *s, const char *qube, store_kv_cb cb,
		       void *arg, char *err, size_t cap);

/* ---- tags ---- */

/* tag: as a feature key. Adding a tag the qube has is not an error. */
int store_tag_add(struct store *s, const char *qube, const char *tag,
		  char *err, size_t cap);
int store_tag_remove(struct store *s, const char *qube, const char *tag,
		     char *err, size_t cap);
int store_tag_list(struct store *s, const char *qube, store_name_cb cb,
		   void *arg, char *err, size_t cap);

/* ---- global preferences ---- */

int store_global_get(struct store *s, const char *name, char *out,
		     size_t out_cap, int *is_default, char *err, size_t cap);
/* Checked as a property: default_template must name a TemplateVM, ... */
int store_global_set(struct store *s, const char *name, const char *value,
		     char *err, size_t cap);
int store_global_reset(struct store *s, const char *name, char *err,
		       size_t cap);
/* Every global preference, in table order. */
int store_global_list(struct store *s, store_prop_cb cb, void *arg,
		      char *err, size_t cap);

#endif
