#include "daemon/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store/qube_uuid.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x) #x
#define STR(x) STR_(x)
#define ID_LIMIT STR(STORE_QUBE_ID_LIMIT)
/* A GLOB for what qube_uuid_new makes: version 4, variant 10xx. */
#define HX "[0-9a-f]"
#define HX4 HX HX HX HX
#define UUID4_GLOB                                                         \
	"'" HX4 HX4 "-" HX4 "-4" HX HX HX "-[89ab]" HX HX HX "-" HX4 HX4    \
	HX4 "'"

struct store {
	sqlite3 *db;
	struct prop_limits limits;
	/* Set while a caller's callback runs: the transaction is open and a
	 * statement is stepping, so the store must not be entered again. */
	int in_cb;
};

/* Each entry moves the schema one version up and runs in its own
 * transaction with the version bump. Append only: never edit one that
 * has shipped. PRAGMA foreign_keys cannot change inside a transaction, so
 * a future migration that rebuilds a table must not rely on turning it
 * off. */
static const char *const migrations[] = {
	/* 1: qubes, their properties, features and tags; global prefs. */
	"CREATE TABLE qubes ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL,"
	" class TEXT NOT NULL CHECK (class IN"
	"  ('TemplateVM', 'AppVM', 'StandaloneVM', 'DispVM')),"
	" template_id INTEGER REFERENCES qubes(id) ON DELETE RESTRICT,"
	" created TEXT,"
	" power_state TEXT NOT NULL DEFAULT 'Halted',"
	" power_reason TEXT);"
	/* SQLite scans the child table on each parent delete without it. */
	"CREATE INDEX qubes_template_id ON qubes(template_id);"
	"CREATE TABLE qube_props ("
	" qube_id INTEGER NOT NULL REFERENCES qubes(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (qube_id, name));"
	"CREATE TABLE features ("
	" qube_id INTEGER NOT NULL REFERENCES qubes(id) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (qube_id, key));"
	"CREATE TABLE tags ("
	" qube_id INTEGER NOT NULL REFERENCES qubes(id) ON DELETE CASCADE,"
	" tag TEXT NOT NULL,"
	" PRIMARY KEY (qube_id, tag));"
	"CREATE TABLE global_prefs ("
	" name TEXT PRIMARY KEY,"
	" value TEXT NOT NULL);",
	/* 2: ids were SQLite rowids, which grow past STORE_QUBE_ID_LIMIT
	 * into the disposables' jail ids; they are now chosen below it.
	 * Qubes with an id out of range get the smallest free ones, and
	 * every reference follows (foreign keys checked at the commit).
	 * With no id left the migration fails, naming the check. */
	"PRAGMA defer_foreign_keys = ON;"
	"CREATE TEMP TABLE renumber AS"
	" WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	"  WHERE i < " ID_LIMIT " - 1),"
	" free_ids(i, k) AS (SELECT i, row_number() OVER (ORDER BY i) FROM n"
	"  WHERE i NOT IN (SELECT id FROM qubes)),"
	" out_of_range(id, k) AS (SELECT id, row_number() OVER (ORDER BY id)"
	"  FROM qubes WHERE id < 1 OR id >= " ID_LIMIT ")"
	" SELECT out_of_range.id AS old, free_ids.i AS new"
	" FROM out_of_range JOIN free_ids USING (k);"
	"CREATE TEMP TABLE renumber_check (qubes_left_without_a_free_id"
	" INTEGER CHECK (qubes_left_without_a_free_id = 0));"
	"INSERT INTO renumber_check SELECT count(*) FROM qubes"
	" WHERE (id < 1 OR id >= " ID_LIMIT ")"
	" AND id NOT IN (SELECT old FROM renumber);"
	"UPDATE qube_props SET qube_id = (SELECT new FROM renumber"
	" WHERE old = qube_id) WHERE qube_id IN (SELECT old FROM renumber);"
	"UPDATE features SET qube_id = (SELECT new FROM renumber"
	" WHERE old = qube_id) WHERE qube_id IN (SELECT old FROM renumber);"
	"UPDATE tags SET qube_id = (SELECT new FROM renumber"
	" WHERE old = qube_id) WHERE qube_id IN (SELECT old FROM renumber);"
	"UPDATE qubes SET template_id = (SELECT new FROM renumber"
	" WHERE old = template_id)"
	" WHERE template_id IN (SELECT old FROM renumber);"
	"UPDATE qubes SET id = (SELECT new FROM renumber WHERE old = id)"
	" WHERE id IN (SELECT old FROM renumber);"
	"DROP TABLE temp.renumber;"
	"DROP TABLE temp.renumber_check;",
	/* 3: every qube has a uuid, as in Qubes (uuid:UUID in policy
	 * files). Each qube recorded gets a fresh random one (bh_uuid4,
	 * this connection's function over getrandom). SQLite cannot add a
	 * UNIQUE or NOT NULL column to a table, so a unique index and
	 * triggers hold the rules: a new row needs a well-formed uuid of
	 * its own, and a uuid never changes. */
	"ALTER TABLE qubes ADD COLUMN uuid TEXT;"
	"UPDATE qubes SET uuid = bh_uuid4();"
	"CREATE UNIQUE INDEX qubes_uuid ON qubes(uuid);"
	"CREATE TRIGGER qubes_uuid_new BEFORE INSERT ON qubes"
	" WHEN NEW.uuid IS NULL OR NEW.uuid NOT GLOB " UUID4_GLOB
	" BEGIN SELECT RAISE(ABORT, 'a qube needs a version-4 uuid'); END;"
	"CREATE TRIGGER qubes_uuid_fixed BEFORE UPDATE OF uuid ON qubes"
	" WHEN NEW.uuid IS NOT OLD.uuid"
	" BEGIN SELECT RAISE(ABORT, 'a qube''s uuid never changes'); END;",
};
_Static_assert(ARRAY_LEN(migrations) == STORE_SCHEMA_VERSION,
	       "STORE_SCHEMA_VERSION must count the migrations");

/* Qubes' power states (core-admin qubes/vm/qubesvm.py get_power_state). */
static const char *const power_states[] = {
	"Halted", "Transient", "Running", "Paused",
	"Suspended", "Halting", "Dying", "Crashed",
};

/* The columns of struct qube_info, in row_to_info's order. */
#define QUBE_COLS                                                          \
	"q.id, q.name, q.class, t.name, q.power_state, q.power_reason, "   \
	"q.created, (SELECT value FROM qube_props WHERE qube_id = q.id "   \
	"AND name = 'label'), q.uuid FROM qubes q LEFT JOIN qubes t "      \
	"ON t.id = q.template_id "

/* ---- small helpers ---- */

static int fail(char *err, size_t cap, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int code, const char *fmt, ...)
{
	va_list ap;

	if (cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int db_err(struct store *s, char *err, size_t cap, const char *what)
{
	return fail(err, cap, -EIO, "state database: %s: %s", what,
		    sqlite3_errmsg(s->db));
}

static int reentered(char *err, size_t cap)
{
	return fail(err, cap, -EDEADLK,
		    "the state store was called from one of its callbacks");
}

#define ENTER(s, err, cap)                                \
	do {                                              \
		if ((s)->in_cb)                           \
			return reentered((err), (cap));   \
	} while (0)

/* s itself when it is short and plain enough to show on a terminal,
 * alt otherwise. */
static const char *shown(const char *s, const char *alt)
{
	size_t i;

	for (i = 0; s && s[i]; i++) {
		char c = s[i];

		if (i >= STORE_KEY_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-' || c == '+'))
			return alt;
	}
	return s && s[0] ? s : alt;
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static int put(char *out, size_t cap, const char *v, char *err, size_t ecap)
{
	size_t n = strlen(v);

	if (n >= cap)
		return fail(err, ecap, -ERANGE,
			    "the value is longer than the caller's buffer");
	memcpy(out, v, n + 1);
	return 0;
}

static int prep(struct store *s, sqlite3_stmt **st, const char *sql,
		char *err, size_t cap)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_err(s, err, cap, "prepare");
	}
	return 0;
}

/* Binds text (NULL as SQL NULL); 0 or -1. */
static int bind_t(sqlite3_stmt *st, int i, const char *v)
{
	int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) :
		     sqlite3_bind_null(st, i);

	return rc == SQLITE_OK ? 0 : -1;
}

static int bind_i(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

/* 1 for a row, 0 when done, -EIO with a message otherwise. */
static int step(struct store *s, sqlite3_stmt *st, char *err, size_t cap)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_err(s, err, cap, "step");
}

static int exec(struct store *s, const char *sql, char *err, size_t cap)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, err, cap, sql);
	return 0;
}

/* IMMEDIATE takes the write lock at once, so a change never fails half
 * way for want of it. */
static int tx_begin(struct store *s, int write, char *err, size_t cap)
{
	return exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN", err, cap);
}

/* Commits when r >= 0, rolls back otherwise; returns r or the commit's
 * error. */
static int tx_end(struct store *s, int r, char *err, size_t cap)
{
	if (r >= 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) ==
			      SQLITE_OK)
		return r;
	if (r >= 0)
		r = db_err(s, err, cap, "commit");
	/* Fails only when there is nothing to roll back. */
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Bounded text a message is built in; "..." marks a cut. */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		b->len = b->cap - 1;
		if (b->cap > 4)
			memcpy(b->p + b->cap - 4, "...", 4);
		return;
	}
	b->len += (size_t)n;
}

/* ---- opening and migrations ---- */

static int read_version(struct store *s, int *v, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = prep(s, &st, "SELECT version FROM schema_version WHERE id = 1",
		     err, cap);

	if (r < 0)
		return r;
	r = step(s, st, err, cap);
	if (r == 1) {
		*v = sqlite3_column_int(st, 0);
		r = 0;
	} else if (r == 0) {
		r = fail(err, cap, -EIO, "state database has no schema version");
	}
	sqlite3_finalize(st);
	return r;
}

static int migrate_one(struct store *s, int to, char *err, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int r = tx_begin(s, 1, err, cap);

	if (r < 0)
		return r;
	if (sqlite3_exec(s->db, migrations[to - 1], NULL, NULL, NULL) !=
	    SQLITE_OK) {
		r = fail(err, cap, -EIO,
			 "state database: migration to schema version %d "
			 "failed: %s",
			 to, sqlite3_errmsg(s->db));
		return tx_end(s, r, err, cap);
	}
	r = prep(s, &st, "UPDATE schema_version SET version = ?1 WHERE id = 1",
		 err, cap);
	if (r == 0 && bind_i(st, 1, to))
		r = db_err(s, err, cap, "bind");
	if (r == 0)
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	return tx_end(s, r, err, cap);
}

static int migrate(struct store *s, const char *path, char *err, size_t cap)
{
	int r, v = 0;

	/* Version 0 is an empty database. */
	r = tx_begin(s, 1, err, cap);
	if (r < 0)
		return r;
	r = tx_end(s,
		   exec(s,
			"CREATE TABLE IF NOT EXISTS schema_version ("
			" id INTEGER PRIMARY KEY CHECK (id = 1),"
			" version INTEGER NOT NULL);"
			"INSERT OR IGNORE INTO schema_version VALUES (1, 0);",
			err, cap),
		   err, cap);
	if (r < 0)
		return r;
	r = read_version(s, &v, err, cap);
	if (r < 0)
		return r;
	if (v > STORE_SCHEMA_VERSION || v < 0)
		return fail(err, cap, -EPROTO,
			    "state database %s has schema version %d but this "
			    "bulkheadd knows versions up to %d: it was written "
			    "by a newer Bulkhead; run that one, or restore a "
			    "backup",
			    path, v, STORE_SCHEMA_VERSION);
	for (; v < STORE_SCHEMA_VERSION; v++) {
		r = migrate_one(s, v + 1, err, cap);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One-row PRAGMA's answer, as text. */
static int pragma(struct store *s, const char *sql, char *out, size_t cap,
		  char *err, size_t ecap)
{
	sqlite3_stmt *st;
	int r = prep(s, &st, sql, err, ecap);

	if (r < 0)
		return r;
	r = step(s, st, err, ecap);
	if (r == 1)
		snprintf(out, cap, "%s", col(st, 0));
	else if (r == 0)
		out[0] = '\0';
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

/* bh_uuid4(): a fresh uuid (qube_uuid_new) for SQL; an error if the
 * kernel gives no random bytes, which fails the statement. */
static void sql_uuid4(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char u[QUBE_UUID_LEN + 1];

	(void)argc;
	(void)argv;
	if (qube_uuid_new(u) < 0) {
		sqlite3_result_error(ctx, "getrandom failed", -1);
		return;
	}
	sqlite3_result_text(ctx, u, -1, SQLITE_TRANSIENT);
}

static int setup_connection(struct store *s, char *err, size_t cap)
{
	char v[32];
	int r;

	sqlite3_extended_result_codes(s->db, 1);
	/* No writes to the schema or raw pages through SQL, and no SQL
	 * functions run from inside the schema. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* For migration 3 only: never from the schema (DIRECTONLY). */
	if (sqlite3_create_function_v2(s->db, "bh_uuid4", 0,
				       SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
				       sql_uuid4, NULL, NULL,
				       NULL) != SQLITE_OK)
		return db_err(s, err, cap, "bh_uuid4");
	r = exec(s, "PRAGMA foreign_keys = ON", err, cap);
	if (r == 0)
		r = exec(s, "PRAGMA synchronous = FULL", err, cap);
	if (r == 0)
		r = pragma(s, "PRAGMA journal_mode = WAL", v, sizeof(v), err,
			   cap);
	if (r < 0)
		return r;
	/* WAL needs shared memory: it is refused on some file systems. */
	if (strcmp(v, "wal"))
		return fail(err, cap, -EIO,
			    "state database: cannot use WAL journal mode (got "
			    "'%s'); put it on a local file system",
			    shown(v, "?"));
	/* A SQLite built without foreign keys ignores the pragma. */
	r = pragma(s, "PRAGMA foreign_keys", v, sizeof(v), err, cap);
	if (r == 0 && strcmp(v, "1"))
		r = fail(err, cap, -EIO,
			 "state database: this SQLite does not enforce "
			 "foreign keys");
	return r;
}

int store_open(const char *path, struct store **out, char *err, size_t cap)
{
	struct store *s;
	int fd, r;

	*out = NULL;
	/* Created here so that it is private from the first byte whatever
	 * the umask; SQLite gives its -wal and -shm files the same mode. */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		return fail(err, cap, r, "cannot open state database %s: %s",
			    path, strerror(-r));
	}
	close(fd);
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(err, cap, -ENOMEM, "out of memory");
	prop_limits_host(&s->limits);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		r = s->db ? fail(err, cap, -EIO,
				 "cannot open state database %s: %s", path,
				 sqlite3_errmsg(s->db)) :
			    fail(err, cap, -ENOMEM, "out of memory");
		store_close(s);
		return r;
	}
	r = setup_connection(s, err, cap);
	if (r == 0)
		r = migrate(s, path, err, cap);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	/* v2: closes even with statements left open, when they finish. */
	sqlite3_close_v2(s->db);
	free(s);
}

void store_set_limits(struct store *s, const struct prop_limits *l)
{
	s->limits = *l;
}

int store_new_qube_id(struct sqlite3 *db, int64_t *id, char *err,
		      size_t cap)
{
	/* The smallest free id is 1 or one after a taken id. */
	static const char sql[] =
		"SELECT CASE"
		" WHEN coalesce(max(id), 0) + 1 < " ID_LIMIT
		"  AND coalesce(max(id), 0) >= 0 THEN coalesce(max(id), 0) + 1"
		" WHEN NOT EXISTS (SELECT 1 FROM qubes WHERE id = 1) THEN 1"
		" ELSE (SELECT min(q.id) + 1 FROM qubes q WHERE q.id >= 1 AND"
		"  NOT EXISTS (SELECT 1 FROM qubes r WHERE r.id = q.id + 1))"
		" END FROM qubes";
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(err, cap, -EIO, "state database: prepare: %s",
			    sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(err, cap, -EIO, "state database: step: %s",
			    sqlite3_errmsg(db));
	if (*id < 1 || *id >= STORE_QUBE_ID_LIMIT)
		return fail(err, cap, -ENOSPC,
			    "no qube id is free: every id from 1 to %d, the "
			    "most bulkheadd can jail below the disposables' "
			    "ids, is taken; remove qubes you no longer need",
			    STORE_QUBE_ID_LIMIT - 1);
	return 0;
}

struct sqlite3 *store_db(struct store *s)
{
	return s->db;
}

/* ---- qubes: lookups ---- */

static void row_to_info(sqlite3_stmt *st, struct qube_info *q)
{
	memset(q, 0, sizeof(*q));
	q->id = sqlite3_column_int64(st, 0);
	snprintf(q->name, sizeof(q->name), "%s", col(st, 1));
	if (qube_class_parse(col(st, 2), &q->cls))
		q->cls = 0;
	snprintf(q->template_name, sizeof(q->template_name), "%s",
		 col(st, 3));
	snprintf(q->power_state, sizeof(q->power_state), "%s", col(st, 4));
	snprintf(q->power_reason, sizeof(q->power_reason), "%s", col(st, 5));
	snprintf(q->created, sizeof(q->created), "%s", col(st, 6));
	snprintf(q->label, sizeof(q->label), "%s", col(st, 7));
	snprintf(q->uuid, sizeof(q->uuid), "%s", col(st, 8));
}

/* The qube called name: 0, -ENOENT or -EIO, each with its message. */
static int find_qube(struct store *s, const char *name, struct qube_info *q,
		     char *err, size_t cap)
{
	char why[128];
	sqlite3_stmt *st;
	int r;

	if (qube_name_check(name, why, sizeof(why)))
		return fail(err, cap, -ENOENT, "no such qube: %s", why);
	r = prep(s, &st, "SELECT " QUBE_COLS "WHERE q.name = ?1", err, cap);
	if (r < 0)
		return r;
	if (bind_t(st, 1, name))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	if (r == 1) {
		row_to_info(st, q);
		r = 0;
	} else if (r == 0) {
		r = fail(err, cap, -ENOENT, "no qube named '%s'", name);
	}
	sqlite3_finalize(st);
	return r;
}

static int is_halted(const struct qube_info *q)
{
	return !strcmp(q->power_state, "Halted");
}

/* prop_parse's window on the qubes table. */
struct lookup {
	struct store *s;
	char *err;
	size_t cap;
};

static int lookup_class(void *arg, const char *name, unsigned *cls)
{
	struct lookup *l = arg;
	struct qube_info q;
	int r = find_qube(l->s, name, &q, l->err, l->cap);

	if (r == 0)
		*cls = q.cls;
	return r;
}

static int prop_value(struct store *s, const struct qube_info *q,
		      const struct prop_def *p, char *out, size_t out_cap,
		      int *is_default, char *err, size_t cap);

/* Whether qube name is a disposable template (template_for_dispvms). */
static int lookup_is_dvm(void *arg, const char *name)
{
	struct lookup *l = arg;
	struct qube_info q;
	char v[16];
	int d, r = find_qube(l->s, name, &q, l->err, l->cap);

	if (r == 0 && q.cls != QC_APP)
		return 0;
	if (r == 0)
		r = prop_value(l->s, &q, qube_prop_find("template_for_dispvms"),
			       v, sizeof(v), &d, l->err, l->cap);
	return r < 0 ? r : !strcmp(v, "True");
}

/* Value of a global preference, or its default when unset. */
static int global_value(struct store *s, const struct prop_def *g, char *out,
			size_t out_cap, int *is_default, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = prep(s, &st, "SELECT value FROM global_prefs WHERE name = ?1",
		     err, cap);

	if (r < 0)
		return r;
	if (bind_t(st, 1, g->name))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	if (r == 1) {
		r = put(out, out_cap, col(st, 0), err, cap);
		if (is_default)
			*is_default = 0;
	} else if (r == 0) {
		r = put(out, out_cap, g->def ? g->def : "", err, cap);
		if (is_default)
			*is_default = 1;
	}
	sqlite3_finalize(st);
	return r;
}

/* Stored value of a qube's property: 1 and out, 0 when unset. */
static int stored_prop(struct store *s, int64_t id, const char *name,
		       char *out, size_t out_cap, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = prep(s, &st,
		     "SELECT value FROM qube_props WHERE qube_id = ?1 AND "
		     "name = ?2",
		     err, cap);

	if (r < 0)
		return r;
	if (bind_i(st, 1, id) || bind_t(st, 2, name))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	if (r == 1) {
		int p = put(out, out_cap, col(st, 0), err, cap);

		r = p < 0 ? p : 1;
	}
	sqlite3_finalize(st);
	return r;
}

/* A chain of templates is a DispVM, its disposable template (an AppVM),
 * and that one's TemplateVM: anything longer is a broken record. */
#define TEMPLATE_CHAIN_MAX 4

/* Effective value of property p of qube q: stored, or the default. */
static int prop_value(struct store *s, const struct qube_info *q,
		      const struct prop_def *p, char *out, size_t out_cap,
		      int *is_default, char *err, size_t cap)
{
	char gv[PROP_VALUE_MAX + 1] = "";
	int r;

	if (p->in_qubes_row) {
		*is_default = 0;
		return put(out, out_cap, q->template_name, err, cap);
	}
	if (p->read_only) { /* uuid, the only one */
		*is_default = 0;
		return put(out, out_cap, q->uuid, err, cap);
	}
	r = stored_prop(s, q->id, p->name, out, out_cap, err, cap);
	if (r != 0) {
		*is_default = 0;
		return r < 0 ? r : 0;
	}
	*is_default = 1;
	/* The template's value, set or its own default, as Qubes'
	 * _default_with_template: the first qube up the chain that has it
	 * set, else def. */
	if (p->def_kind == DEF_TEMPLATE && q->template_name[0]) {
		char up[QUBE_NAME_MAX + 1];
		struct qube_info t;
		int depth;

		snprintf(up, sizeof(up), "%s", q->template_name);
		for (depth = 0; up[0]; depth++) {
			if (depth == TEMPLATE_CHAIN_MAX)
				return fail(err, cap, -EIO,
					    "the templates of '%s' go round "
					    "in a circle",
					    q->name);
			r = find_qube(s, up, &t, err, cap);
			if (r < 0)
				return r;
			r = stored_prop(s, t.id, p->name, out, out_cap, err,
					cap);
			if (r != 0)
				return r < 0 ? r : 0;
			snprintf(up, sizeof(up), "%s", t.template_name);
		}
	}
	if (p->def_kind == DEF_GLOBAL) {
		r = global_value(s, global_pref_find(p->def), gv, sizeof(gv),
				 NULL, err, cap);
		if (r < 0)
			return r;
	}
	r = prop_default_value(p, q->cls, q->name, gv, &s->limits, out,
			       out_cap);
	if (r == -ERANGE)
		return fail(err, cap, r,
			    "the value is longer than the caller's buffer");
	if (r < 0)
		return fail(err, cap, -ENOENT, "%s of '%s' has no value",
			    p->name, q->name);
	return 0;
}

/* ---- netvm loops ---- */

/* The netvm that qube name uses when default_netvm is gnet. */
static int netvm_of(struct store *s, const char *name, const char *gnet,
		    char *out, size_t out_cap, char *err, size_t cap)
{
	const struct prop_def *p = qube_prop_find("netvm");
	struct qube_info q;
	int r = find_qube(s, name, &q, err, cap);

	if (r < 0)
		return r;
	r = stored_prop(s, q.id, p->name, out, out_cap, err, cap);
	if (r != 0)
		return r < 0 ? r : 0;
	r = prop_default_value(p, q.cls, q.name, gnet, &s->limits, out,
			       out_cap);
	return r < 0 ? fail(err, cap, r, "netvm of '%s' too long", name) : 0;
}

/* Follows the chain of netvms from `first` (a valid qube name or "");
 * -EINVAL if it reaches `target`, whose traffic would then go round in a
 * circle. what=value is the setting being made, for the message. */
static int netvm_loop_check(struct store *s, const char *what,
			    const char *value, const char *first,
			    const char *target, const char *gnet, char *err,
			    size_t cap)
{
	char cur[QUBE_NAME_MAX + 1], next[QUBE_NAME_MAX + 1];
	int steps, r;

	snprintf(cur, sizeof(cur), "%s", first);
	/* A chain longer than this already loops somewhere else. */
	for (steps = 0; steps < 4096; steps++) {
		if (!cur[0])
			return 0;
		if (!strcmp(cur, target) && !strcmp(value, target))
			return fail(err, cap, -EINVAL,
				    "%s '%s' would make a network loop: '%s' "
				    "would reach the network through itself",
				    what, value, value);
		if (!strcmp(cur, target))
			return fail(err, cap, -EINVAL,
				    "%s '%s' would make a network loop: '%s' "
				    "reaches the network through '%s'",
				    what, value, value, target);
		r = netvm_of(s, cur, gnet, next, sizeof(next), err, cap);
		if (r < 0)
			return r;
		memcpy(cur, next, sizeof(cur));
	}
	return fail(err, cap, -EINVAL, "%s '%s': its chain of netvms loops",
		    what, value);
}

/* ---- qubes: create, remove, list ---- */

static int parse_for(struct store *s, const struct prop_def *p,
		     const struct qube_info *self, const char *value,
		     char *out, size_t out_cap, char *err, size_t cap)
{
	struct lookup l = { s, err, cap };
	struct prop_ctx c = {
		.self_name = self ? self->name : NULL,
		.self_class = self ? self->cls : 0,
		.is_running = self ? !is_halted(self) : 0,
		.limits = s->limits,
		.lookup = lookup_class,
		.is_dvm = lookup_is_dvm,
		.lookup_arg = &l,
	};

	return prop_parse(p, &c, value, out, out_cap, err, cap);
}

static int insert_prop(struct store *s, int64_t id, const char *name,
		       const char *value, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = prep(s, &st,
		     "INSERT INTO qube_props (qube_id, name, value) "
		     "VALUES (?1, ?2, ?3) ON CONFLICT (qube_id, name) "
		     "DO UPDATE SET value = excluded.value",
		     err, cap);

	if (r < 0)
		return r;
	if (bind_i(st, 1, id) || bind_t(st, 2, name) || bind_t(st, 3, value))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	return r;
}

/* Canonical initial properties, checked before any write. */
struct initial {
	const struct prop_def *def;
	char value[PROP_VALUE_MAX + 1];
};

static int check_create(struct store *s, struct qube_info *q,
			const char *cls, const char *tmpl, const char *label,
			const struct store_prop *props, size_t n,
			struct initial *init, char *tmpl_out, char *label_out,
			char *err, size_t cap)
{
	const struct prop_def *tp = qube_prop_find("template");
	char why[128], gtmpl[PROP_VALUE_MAX + 1];
	struct qube_info other;
	size_t i, j;
	int r;

	if (qube_name_check_new(q->name, why, sizeof(why)))
		return fail(err, cap, -EINVAL, "%s", why);
	if (qube_class_parse(cls, &q->cls))
		return fail(err, cap, -EINVAL,
			    "class must be TemplateVM, AppVM, StandaloneVM or "
			    "DispVM");
	r = find_qube(s, q->name, &other, err, cap);
	if (r == 0)
		return fail(err, cap, -EEXIST, "a qube named '%s' exists",
			    q->name);
	if (r != -ENOENT)
		return r;
	if (!label)
		return fail(err, cap, -EINVAL,
			    "a new qube needs a label: red orange yellow "
			    "green gray blue purple black");
	r = parse_for(s, qube_prop_find("label"), q, label, label_out,
		      PROP_VALUE_MAX + 1, err, cap);
	if (r < 0)
		return r;
	tmpl_out[0] = '\0';
	if (q->cls == QC_APP || q->cls == QC_DISP) {
		int disp = q->cls == QC_DISP;

		if (!tmpl) {
			/* A DispVM's template is its disposable template,
			 * by default default_dispvm as in Qubes. */
			r = global_value(s, global_pref_find(disp ?
					 "default_dispvm" : "default_template"),
					 gtmpl, sizeof(gtmpl), NULL, err, cap);
			if (r < 0)
				return r;
			if (!gtmpl[0] && disp)
				return fail(err, cap, -EINVAL,
					    "a DispVM needs a disposable "
					    "template: name one (an AppVM with "
					    "template_for_dispvms=True), or "
					    "set default_dispvm");
			if (!gtmpl[0])
				return fail(err, cap, -EINVAL,
					    "an AppVM needs a template: name "
					    "one, or set default_template");
			tmpl = gtmpl;
		}
		r = parse_for(s, tp, q, tmpl, tmpl_out, QUBE_NAME_MAX + 1, err,
			      cap);
		if (r < 0)
			return r;
	} else if (tmpl) {
		return fail(err, cap, -EINVAL,
			    "only AppVM and DispVM qubes have a template; a %s "
			    "has its own root",
			    qube_class_name(q->cls));
	}
	if (n > qube_prop_count)
		return fail(err, cap, -EINVAL, "too many properties");
	for (i = 0; i < n; i++) {
		const char *name = props[i].name;

		init[i].def = qube_prop_find(name);
		if (!init[i].def)
			return fail(err, cap, -ENOENT,
				    "there is no property %s",
				    shown(name, "of that name"));
		if (init[i].def->read_only)
			return fail(err, cap, -EINVAL,
				    "%s is read-only: each qube gets its own "
				    "when it is made",
				    init[i].def->name);
		if (init[i].def->def_kind == DEF_NONE)
			return fail(err, cap, -EINVAL,
				    "%s is given on its own, not as a "
				    "property",
				    init[i].def->name);
		for (j = 0; j < i; j++)
			if (init[j].def == init[i].def)
				return fail(err, cap, -EINVAL,
					    "%s is given twice",
					    init[i].def->name);
		r = parse_for(s, init[i].def, q, props[i].value,
			      init[i].value, sizeof(init[i].value), err, cap);
		if (r < 0)
			return r;
	}
	return 0;
}

static int do_create(struct store *s, const char *name, const char *cls,
		     const char *tmpl, const char *label,
		     const struct store_prop *props, size_t n,
		     struct initial *init, char *err, size_t cap)
{
	char tmpl_c[QUBE_NAME_MAX + 1], label_c[PROP_VALUE_MAX + 1];
	struct qube_info q, t;
	sqlite3_stmt *st;
	int64_t id;
	size_t i;
	int r;

	memset(&q, 0, sizeof(q));
	/* Held in q only once checked; too long simply fails the check. */
	if (!name || strlen(name) > QUBE_NAME_MAX)
		return fail(err, cap, -EINVAL,
			    "qube names are 1 to 31 characters");
	snprintf(q.name, sizeof(q.name), "%s", name);
	snprintf(q.power_state, sizeof(q.power_state), "Halted");
	r = check_create(s, &q, cls, tmpl, label, props, n, init, tmpl_c,
			 label_c, err, cap);
	if (r < 0)
		return r;
	if (tmpl_c[0]) {
		r = find_qube(s, tmpl_c, &t, err, cap);
		if (r < 0)
			return r;
	}
	r = store_new_qube_id(s->db, &id, err, cap);
	if (r < 0)
		return r;
	r = qube_uuid_new(q.uuid);
	if (r < 0)
		return fail(err, cap, -EIO, "cannot make a uuid: %s",
			    strerror(-r));
	r = prep(s, &st,
		 "INSERT INTO qubes (id, name, class, template_id, created, "
		 "uuid) VALUES (?4, ?1, ?2, ?3, "
		 "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?5)",
		 err, cap);
	if (r < 0)
		return r;
	if (bind_t(st, 1, q.name) || bind_t(st, 2, qube_class_name(q.cls)) ||
	    (tmpl_c[0] ? bind_i(st, 3, t.id) : bind_t(st, 3, NULL)) ||
	    bind_i(st, 4, id) || bind_t(st, 5, q.uuid))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = insert_prop(s, id, "label", label_c, err, cap);
	for (i = 0; r >= 0 && i < n; i++)
		r = insert_prop(s, id, init[i].def->name, init[i].value, err,
				cap);
	return r < 0 ? r : 0;
}

int store_qube_create(struct store *s, const char *name, const char *cls,
		      const char *tmpl, const char *label,
		      const struct store_prop *props, size_t n, char *err,
		      size_t cap)
{
	struct initial *init;
	int r;

	ENTER(s, err, cap);
	if (n > qube_prop_count)
		return fail(err, cap, -EINVAL, "too many properties");
	init = calloc(n ? n : 1, sizeof(*init));
	if (!init)
		return fail(err, cap, -ENOMEM, "out of memory");
	r = tx_begin(s, 1, err, cap);
	if (r == 0)
		r = tx_end(s,
			   do_create(s, name, cls, tmpl, label, props, n, init,
				     err, cap),
			   err, cap);
	free(init);
	return r;
}

/* Names, one per row of st, into b after a heading; the count. */
static int list_names(struct store *s, sqlite3_stmt *st, struct sbuf *b,
		      const char *heading, int *count, char *err, size_t cap)
{
	int r, n = 0;

	while ((r = step(s, st, err, cap)) == 1) {
		if (n++)
			sb_add(b, ", %s", col(st, 0));
		else
			sb_add(b, "%s%s%s", (*count)++ ? "; " : "", heading,
			       col(st, 0));
	}
	return r;
}

/* Who refers to qube q: -EBUSY with their names, 0 if nobody. */
static int check_unused(struct store *s, const struct qube_info *q,
			char *err, size_t cap)
{
	char msg[STORE_ERR_MAX];
	struct sbuf b = { msg, sizeof(msg), 0 };
	sqlite3_stmt *st;
	char heading[64];
	int r, count = 0;
	size_t i;

	sb_add(&b, "qube '%s' is in use: ", q->name);
	r = prep(s, &st, "SELECT name FROM qubes WHERE template_id = ?1 "
			 "ORDER BY name",
		 err, cap);
	if (r < 0)
		return r;
	if (bind_i(st, 1, q->id))
		r = db_err(s, err, cap, "bind");
	else
		r = list_names(s, st, &b, "template of ", &count, err, cap);
	sqlite3_finalize(st);
	/* Qube references other than the template, one property at a time
	 * so that the SQL stays constant. */
	for (i = 0; r == 0 && i < qube_prop_count; i++) {
		const struct prop_def *p = &qube_prop_defs[i];

		if (p->type != PROP_QUBE || p->in_qubes_row)
			continue;
		r = prep(s, &st,
			 "SELECT q.name FROM qube_props p JOIN qubes q ON "
			 "q.id = p.qube_id WHERE p.name = ?1 AND p.value = ?2 "
			 "ORDER BY q.name",
			 err, cap);
		if (r < 0)
			return r;
		snprintf(heading, sizeof(heading), "%s of ", p->name);
		if (bind_t(st, 1, p->name) || bind_t(st, 2, q->name))
			r = db_err(s, err, cap, "bind");
		else
			r = list_names(s, st, &b, heading, &count, err, cap);
		sqlite3_finalize(st);
	}
	for (i = 0; r == 0 && i < global_pref_count; i++) {
		const struct prop_def *g = &global_pref_defs[i];
		char v[PROP_VALUE_MAX + 1];

		if (g->type != PROP_QUBE)
			continue;
		r = global_value(s, g, v, sizeof(v), NULL, err, cap);
		if (r == 0 && !strcmp(v, q->name))
			sb_add(&b, "%sglobal %s", count++ ? "; " : "",
			       g->name);
	}
	if (r < 0)
		return r;
	return count ? fail(err, cap, -EBUSY, "%s", msg) : 0;
}

static int do_remove(struct store *s, const char *name, char *err,
		     size_t cap)
{
	struct qube_info q;
	sqlite3_stmt *st;
	int r = find_qube(s, name, &q, err, cap);

	if (r < 0)
		return r;
	if (!is_halted(&q))
		return fail(err, cap, -EBUSY,
			    "qube '%s' is %s; stop it before removing it",
			    q.name, q.power_state);
	r = check_unused(s, &q, err, cap);
	if (r < 0)
		return r;
	r = prep(s, &st, "DELETE FROM qubes WHERE id = ?1", err, cap);
	if (r < 0)
		return r;
	if (bind_i(st, 1, q.id))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	/* check_unused saw no user; SQLite's own refusal is the backstop
	 * (RESTRICT reports SQLITE_CONSTRAINT_TRIGGER, not _FOREIGNKEY). */
	if (r < 0 && (sqlite3_extended_errcode(s->db) & 0xff) ==
			     SQLITE_CONSTRAINT)
		r = fail(err, cap, -EBUSY, "qube '%s' is a template in use",
			 q.name);
	sqlite3_finalize(st);
	return r;
}

int store_qube_remove(struct store *s, const char *name, char *err,
		      size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 1, err, cap);
	return r < 0 ? r : tx_end(s, do_remove(s, name, err, cap), err, cap);
}

int store_qube_get(struct store *s, const char *name, struct qube_info *q,
		   char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r : tx_end(s, find_qube(s, name, q, err, cap), err, cap);
}

static int do_list(struct store *s, store_qube_cb cb, void *arg, char *err,
		   size_t cap)
{
	struct qube_info q;
	sqlite3_stmt *st;
	int r = prep(s, &st, "SELECT " QUBE_COLS "ORDER BY q.name", err, cap);

	while (r == 0 && (r = step(s, st, err, cap)) == 1) {
		row_to_info(st, &q);
		s->in_cb = 1;
		r = cb(arg, &q);
		s->in_cb = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int store_qube_list(struct store *s, store_qube_cb cb, void *arg, char *err,
		    size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r : tx_end(s, do_list(s, cb, arg, err, cap), err, cap);
}

static int read_rows(struct store *s, const char *qube, const char *sql,
		     store_kv_cb kv, store_name_cb name, void *arg, char *err,
		     size_t cap);

int store_template_users(struct store *s, const char *tmpl, store_name_cb cb,
			 void *arg, char *err, size_t cap)
{
	return read_rows(s, tmpl,
			 "SELECT name FROM qubes WHERE template_id = ?1 "
			 "ORDER BY name",
			 NULL, cb, arg, err, cap);
}

static int do_power_set(struct store *s, const char *name, const char *state,
			const char *reason, char *err, size_t cap)
{
	struct qube_info q;
	sqlite3_stmt *st;
	size_t i;
	int r = find_qube(s, name, &q, err, cap);

	if (r < 0)
		return r;
	for (i = 0; i < ARRAY_LEN(power_states); i++)
		if (state && !strcmp(state, power_states[i]))
			break;
	if (i == ARRAY_LEN(power_states))
		return fail(err, cap, -EINVAL,
			    "power state must be one of Halted Transient "
			    "Running Paused Suspended Halting Dying Crashed");
	if (reason && strnlen(reason, STORE_REASON_MAX + 1) > STORE_REASON_MAX)
		return fail(err, cap, -EINVAL,
			    "power state reasons are at most %d bytes",
			    STORE_REASON_MAX);
	r = prep(s, &st,
		 "UPDATE qubes SET power_state = ?1, power_reason = ?2 "
		 "WHERE id = ?3",
		 err, cap);
	if (r < 0)
		return r;
	if (bind_t(st, 1, power_states[i]) || bind_t(st, 2, reason) ||
	    bind_i(st, 3, q.id))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	return r;
}

int store_power_set(struct store *s, const char *name, const char *state,
		    const char *reason, char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 1, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_power_set(s, name, state, reason, err, cap),
			      err, cap);
}

/* ---- properties ---- */

/* Qube and the definition of its property prop, or -ENOENT. */
static int find_prop(struct store *s, const char *qube, const char *prop,
		     struct qube_info *q, const struct prop_def **p,
		     char *err, size_t cap)
{
	int r = find_qube(s, qube, q, err, cap);

	if (r < 0)
		return r;
	*p = qube_prop_find(prop);
	if (!*p || !((*p)->classes & q->cls))
		return fail(err, cap, -ENOENT, "%s qubes have no property %s",
			    qube_class_name(q->cls),
			    shown(prop, "of that name"));
	return 0;
}

static int do_prop_get(struct store *s, const char *qube, const char *prop,
		       char *out, size_t out_cap, int *is_default, char *err,
		       size_t cap)
{
	const struct prop_def *p;
	struct qube_info q;
	int r = find_prop(s, qube, prop, &q, &p, err, cap);

	return r < 0 ? r :
		       prop_value(s, &q, p, out, out_cap, is_default, err, cap);
}

int store_prop_get(struct store *s, const char *qube, const char *prop,
		   char *out, size_t out_cap, int *is_default, char *err,
		   size_t cap)
{
	int r, d;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	if (r < 0)
		return r;
	r = tx_end(s,
		   do_prop_get(s, qube, prop, out, out_cap, &d, err, cap),
		   err, cap);
	if (r == 0 && is_default)
		*is_default = d;
	return r;
}

/* Who relies on q being a disposable template: -EBUSY naming the DispVMs
 * made from it and the qubes (or the global preference) whose
 * default_dispvm it is; 0 if nobody. */
static int check_dvm_unused(struct store *s, const struct qube_info *q,
			    char *err, size_t cap)
{
	static const char *const sql[] = {
		"SELECT name FROM qubes WHERE template_id = ?1 AND class = "
		"'DispVM' ORDER BY name",
		"SELECT q.name FROM qube_props p JOIN qubes q ON q.id = "
		"p.qube_id WHERE p.name = 'default_dispvm' AND p.value = ?1 "
		"ORDER BY q.name",
	};
	static const char *const heading[] = { "disposable template of ",
					       "default_dispvm of " };
	char msg[STORE_ERR_MAX], v[PROP_VALUE_MAX + 1];
	struct sbuf b = { msg, sizeof(msg), 0 };
	sqlite3_stmt *st;
	int r = 0, count = 0;
	size_t i;

	sb_add(&b, "qube '%s' is in use as a disposable template: ", q->name);
	for (i = 0; r == 0 && i < ARRAY_LEN(sql); i++) {
		r = prep(s, &st, sql[i], err, cap);
		if (r < 0)
			return r;
		if (i == 0 ? bind_i(st, 1, q->id) : bind_t(st, 1, q->name))
			r = db_err(s, err, cap, "bind");
		else
			r = list_names(s, st, &b, heading[i], &count, err,
				       cap);
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = global_value(s, global_pref_find("default_dispvm"), v,
				 sizeof(v), NULL, err, cap);
	if (r == 0 && !strcmp(v, q->name))
		sb_add(&b, "%sglobal default_dispvm", count++ ? "; " : "");
	if (r < 0)
		return r;
	if (count)
		sb_add(&b, "; remove those DispVMs or change those "
			   "preferences first");
	return count ? fail(err, cap, -EBUSY, "%s", msg) : 0;
}

/* Sets (value) or resets (NULL) property prop of qube. */
static int do_prop_change(struct store *s, const char *qube, const char *prop,
			  const char *value, char *err, size_t cap)
{
	char v[PROP_VALUE_MAX + 1], gnet[PROP_VALUE_MAX + 1];
	const struct prop_def *p;
	struct qube_info q;
	sqlite3_stmt *st;
	int r = find_prop(s, qube, prop, &q, &p, err, cap);

	if (r < 0)
		return r;
	if (p->read_only)
		return fail(err, cap, -EINVAL,
			    "%s is read-only: each qube gets its own when it "
			    "is made, and keeps it",
			    p->name);
	if (!value && p->def_kind == DEF_NONE)
		return fail(err, cap, -EINVAL,
			    "%s has no default to reset to; set it instead",
			    p->name);
	if (value) {
		r = parse_for(s, p, &q, value, v, sizeof(v), err, cap);
		if (r < 0)
			return r;
	}
	/* The default is False: a reset turns it off too. */
	if (!strcmp(p->name, "template_for_dispvms") &&
	    (!value || !strcmp(v, "False"))) {
		r = check_dvm_unused(s, &q, err, cap);
		if (r < 0)
			return r;
	}
	if (!strcmp(p->name, "netvm")) {
		r = global_value(s, global_pref_find("default_netvm"), gnet,
				 sizeof(gnet), NULL, err, cap);
		if (r == 0 && !value)
			r = prop_default_value(p, q.cls, q.name, gnet,
					       &s->limits, v, sizeof(v));
		if (r == 0)
			r = netvm_loop_check(s, "netvm", v, v, q.name, gnet,
					     err, cap);
		if (r < 0)
			return r;
	}
	if (value && p->in_qubes_row) {
		r = prep(s, &st,
			 "UPDATE qubes SET template_id = (SELECT id FROM "
			 "qubes WHERE name = ?1) WHERE id = ?2",
			 err, cap);
		if (r < 0)
			return r;
		if (bind_t(st, 1, v) || bind_i(st, 2, q.id))
			r = db_err(s, err, cap, "bind");
		else
			r = step(s, st, err, cap);
		sqlite3_finalize(st);
		return r;
	}
	if (value)
		return insert_prop(s, q.id, p->name, v, err, cap);
	r = prep(s, &st,
		 "DELETE FROM qube_props WHERE qube_id = ?1 AND name = ?2", err,
		 cap);
	if (r < 0)
		return r;
	if (bind_i(st, 1, q.id) || bind_t(st, 2, p->name))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	return r;
}

int store_prop_set(struct store *s, const char *qube, const char *prop,
		   const char *value, char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	if (!value)
		return fail(err, cap, -EINVAL, "no value given");
	r = tx_begin(s, 1, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_prop_change(s, qube, prop, value, err, cap),
			      err, cap);
}

int store_prop_reset(struct store *s, const char *qube, const char *prop,
		     char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 1, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_prop_change(s, qube, prop, NULL, err, cap),
			      err, cap);
}

static int do_prop_list(struct store *s, const char *qube, store_prop_cb cb,
			void *arg, char *err, size_t cap)
{
	char v[PROP_VALUE_MAX + 1];
	struct qube_info q;
	size_t i;
	int r = find_qube(s, qube, &q, err, cap), d;

	for (i = 0; r == 0 && i < qube_prop_count; i++) {
		const struct prop_def *p = &qube_prop_defs[i];

		if (!(p->classes & q.cls))
			continue;
		r = prop_value(s, &q, p, v, sizeof(v), &d, err, cap);
		if (r < 0)
			break;
		s->in_cb = 1;
		r = cb(arg, p->name, v, d);
		s->in_cb = 0;
	}
	return r;
}

int store_prop_list(struct store *s, const char *qube, store_prop_cb cb,
		    void *arg, char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_prop_list(s, qube, cb, arg, err, cap), err,
			      cap);
}

/* ---- features and tags ---- */

/* Feature keys and tags: Qubes' charset, so they fit policy lines. */
static int check_key(const char *what, const char *key, char *err,
		     size_t cap)
{
	size_t i;

	for (i = 0; key && key[i] && i <= STORE_KEY_MAX; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			break;
	}
	if (key && i > 0 && i <= STORE_KEY_MAX && !key[i])
		return 0;
	return fail(err, cap, -EINVAL,
		    "%s are 1 to %d characters of letters, digits, _ . -",
		    what, STORE_KEY_MAX);
}

/* A read or write on one (qube, key) row of features or tags. */
static int key_stmt(struct store *s, const char *qube, const char *what,
		    const char *key, const char *sql, sqlite3_stmt **st,
		    char *err, size_t cap)
{
	struct qube_info q;
	int r = find_qube(s, qube, &q, err, cap);

	if (r == 0)
		r = check_key(what, key, err, cap);
	if (r == 0)
		r = prep(s, st, sql, err, cap);
	if (r < 0)
		return r;
	if (bind_i(*st, 1, q.id) || bind_t(*st, 2, key)) {
		sqlite3_finalize(*st);
		return db_err(s, err, cap, "bind");
	}
	return 0;
}

static int do_feature_get(struct store *s, const char *qube, const char *key,
			  char *out, size_t out_cap, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = key_stmt(s, qube, "feature names", key,
			 "SELECT value FROM features WHERE qube_id = ?1 AND "
			 "key = ?2",
			 &st, err, cap);

	if (r < 0)
		return r;
	r = step(s, st, err, cap);
	if (r == 1)
		r = put(out, out_cap, col(st, 0), err, cap);
	else if (r == 0)
		r = fail(err, cap, -ENOENT, "qube '%s' has no feature %s",
			 qube, key);
	sqlite3_finalize(st);
	return r;
}

int store_feature_get(struct store *s, const char *qube, const char *key,
		      char *out, size_t out_cap, char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r :
		       tx_end(s,
			      do_feature_get(s, qube, key, out, out_cap, err,
					     cap),
			      err, cap);
}

static int check_feature_value(const char *v, char *err, size_t cap)
{
	size_t i, len = v ? strnlen(v, STORE_FEATURE_VALUE_MAX + 1) : 0;

	for (i = 0; v && i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			break;
	if (v && len <= STORE_FEATURE_VALUE_MAX && i == len)
		return 0;
	return fail(err, cap, -EINVAL,
		    "feature values are printable ASCII without control "
		    "characters, at most %d bytes",
		    STORE_FEATURE_VALUE_MAX);
}

/* A change of one row; -ENOENT with `missing` when none was there. */
static int key_change(struct store *s, const char *qube, const char *what,
		      const char *key, const char *value, const char *sql,
		      const char *missing, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int r = key_stmt(s, qube, what, key, sql, &st, err, cap);

	if (r < 0)
		return r;
	if (value && bind_t(st, 3, value))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	if (r == 0 && missing && sqlite3_changes(s->db) == 0)
		r = fail(err, cap, -ENOENT, "qube '%s' has no %s %s", qube,
			 missing, key);
	return r;
}

static int write_tx(struct store *s, const char *qube, const char *what,
		    const char *key, const char *value, const char *sql,
		    const char *missing, char *err, size_t cap)
{
	int r = tx_begin(s, 1, err, cap);

	return r < 0 ? r :
		       tx_end(s,
			      key_change(s, qube, what, key, value, sql,
					 missing, err, cap),
			      err, cap);
}

int store_feature_set(struct store *s, const char *qube, const char *key,
		      const char *value, char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = check_feature_value(value, err, cap);
	return r < 0 ? r :
		       write_tx(s, qube, "feature names", key, value,
				"INSERT INTO features (qube_id, key, value) "
				"VALUES (?1, ?2, ?3) ON CONFLICT (qube_id, "
				"key) DO UPDATE SET value = excluded.value",
				NULL, err, cap);
}

int store_feature_unset(struct store *s, const char *qube, const char *key,
			char *err, size_t cap)
{
	ENTER(s, err, cap);
	return write_tx(s, qube, "feature names", key, NULL,
			"DELETE FROM features WHERE qube_id = ?1 AND key = ?2",
			"feature", err, cap);
}

int store_tag_add(struct store *s, const char *qube, const char *tag,
		  char *err, size_t cap)
{
	ENTER(s, err, cap);
	return write_tx(s, qube, "tags", tag, NULL,
			"INSERT OR IGNORE INTO tags (qube_id, tag) "
			"VALUES (?1, ?2)",
			NULL, err, cap);
}

int store_tag_remove(struct store *s, const char *qube, const char *tag,
		     char *err, size_t cap)
{
	ENTER(s, err, cap);
	return write_tx(s, qube, "tags", tag, NULL,
			"DELETE FROM tags WHERE qube_id = ?1 AND tag = ?2",
			"tag", err, cap);
}

/* Runs sql (one qube id parameter) and hands each row's two columns to
 * kv, or its first to name. */
static int do_rows(struct store *s, const char *qube, const char *sql,
		   store_kv_cb kv, store_name_cb name, void *arg, char *err,
		   size_t cap)
{
	struct qube_info q;
	sqlite3_stmt *st;
	int r = find_qube(s, qube, &q, err, cap);

	if (r == 0)
		r = prep(s, &st, sql, err, cap);
	if (r < 0)
		return r;
	if (bind_i(st, 1, q.id))
		r = db_err(s, err, cap, "bind");
	while (r == 0 && (r = step(s, st, err, cap)) == 1) {
		s->in_cb = 1;
		r = kv ? kv(arg, col(st, 0), col(st, 1)) :
			 name(arg, col(st, 0));
		s->in_cb = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* do_rows in a read transaction of its own. */
static int read_rows(struct store *s, const char *qube, const char *sql,
		     store_kv_cb kv, store_name_cb name, void *arg, char *err,
		     size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r :
		       tx_end(s,
			      do_rows(s, qube, sql, kv, name, arg, err, cap),
			      err, cap);
}

int store_feature_list(struct store *s, const char *qube, store_kv_cb cb,
		       void *arg, char *err, size_t cap)
{
	return read_rows(s, qube,
			 "SELECT key, value FROM features WHERE qube_id = ?1 "
			 "ORDER BY key",
			 cb, NULL, arg, err, cap);
}

int store_tag_list(struct store *s, const char *qube, store_name_cb cb,
		   void *arg, char *err, size_t cap)
{
	return read_rows(s, qube,
			 "SELECT tag FROM tags WHERE qube_id = ?1 ORDER BY tag",
			 NULL, cb, arg, err, cap);
}

/* ---- global preferences ---- */

static int find_global(const char *name, const struct prop_def **g,
		       char *err, size_t cap)
{
	*g = global_pref_find(name);
	if (*g)
		return 0;
	return fail(err, cap, -ENOENT, "there is no global preference %s",
		    shown(name, "of that name"));
}

int store_global_get(struct store *s, const char *name, char *out,
		     size_t out_cap, int *is_default, char *err, size_t cap)
{
	const struct prop_def *g;
	int r, d;

	ENTER(s, err, cap);
	r = find_global(name, &g, err, cap);
	if (r == 0)
		r = tx_begin(s, 0, err, cap);
	if (r < 0)
		return r;
	r = tx_end(s, global_value(s, g, out, out_cap, &d, err, cap), err,
		   cap);
	if (r == 0 && is_default)
		*is_default = d;
	return r;
}

static int do_global_change(struct store *s, const struct prop_def *g,
			    const char *value, char *err, size_t cap)
{
	char v[PROP_VALUE_MAX + 1], first[PROP_VALUE_MAX + 1];
	sqlite3_stmt *st;
	int r;

	if (value) {
		r = parse_for(s, g, NULL, value, v, sizeof(v), err, cap);
		if (r < 0)
			return r;
		/* Every qube left on its default netvm now uses v: the
		 * loop, if any, runs from v back to v. v's own default is
		 * never v itself. */
		if (!strcmp(g->name, "default_netvm") && v[0]) {
			r = netvm_of(s, v, v, first, sizeof(first), err, cap);
			if (r == 0)
				r = netvm_loop_check(s, "default_netvm", v,
						     first, v, v, err, cap);
			if (r < 0)
				return r;
		}
		r = prep(s, &st,
			 "INSERT INTO global_prefs (name, value) VALUES "
			 "(?1, ?2) ON CONFLICT (name) DO UPDATE SET value = "
			 "excluded.value",
			 err, cap);
	} else {
		r = prep(s, &st, "DELETE FROM global_prefs WHERE name = ?1",
			 err, cap);
	}
	if (r < 0)
		return r;
	if (bind_t(st, 1, g->name) || (value && bind_t(st, 2, v)))
		r = db_err(s, err, cap, "bind");
	else
		r = step(s, st, err, cap);
	sqlite3_finalize(st);
	return r;
}

static int global_change(struct store *s, const char *name, const char *value,
			 char *err, size_t cap)
{
	const struct prop_def *g;
	int r;

	ENTER(s, err, cap);
	r = find_global(name, &g, err, cap);
	if (r == 0)
		r = tx_begin(s, 1, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_global_change(s, g, value, err, cap), err,
			      cap);
}

int store_global_set(struct store *s, const char *name, const char *value,
		     char *err, size_t cap)
{
	if (!value)
		return fail(err, cap, -EINVAL, "no value given");
	return global_change(s, name, value, err, cap);
}

int store_global_reset(struct store *s, const char *name, char *err,
		       size_t cap)
{
	return global_change(s, name, NULL, err, cap);
}

static int do_global_list(struct store *s, store_prop_cb cb, void *arg,
			  char *err, size_t cap)
{
	char v[PROP_VALUE_MAX + 1];
	size_t i;
	int r = 0, d;

	for (i = 0; r == 0 && i < global_pref_count; i++) {
		r = global_value(s, &global_pref_defs[i], v, sizeof(v), &d, err,
				 cap);
		if (r < 0)
			break;
		s->in_cb = 1;
		r = cb(arg, global_pref_defs[i].name, v, d);
		s->in_cb = 0;
	}
	return r;
}

int store_global_list(struct store *s, store_prop_cb cb, void *arg,
		      char *err, size_t cap)
{
	int r;

	ENTER(s, err, cap);
	r = tx_begin(s, 0, err, cap);
	return r < 0 ? r :
		       tx_end(s, do_global_list(s, cb, arg, err, cap), err, cap);
}
