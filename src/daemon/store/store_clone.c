/* Written against store.h and plain SQLite (store_db) rather than the
 * store's private helpers: the copy is four INSERT ... SELECT statements
 * that need none of the property checks, as every value copied was
 * checked when it was first written. */
#include "daemon/store/store_clone.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t cap, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return e;
}

static int db_fail(sqlite3 *db, char *err, size_t cap, const char *what)
{
	return fail(err, cap, -EIO, "cloning: %s: %s", what,
		    sqlite3_errmsg(db));
}

/* Runs sql with ?1 = a, ?2 = b (text or integer); 0 or -EIO. */
static int run(sqlite3 *db, const char *sql, int64_t a, int64_t b,
	       const char *text, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, cap, "prepare");
	sqlite3_bind_int64(st, 1, a);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, cap, "copy");
}

static int copy(sqlite3 *db, int64_t src_id, const char *dst, char *err,
		size_t cap)
{
	static const char *const children[] = {
		"INSERT INTO qube_props (qube_id, name, value) "
		"SELECT ?2, name, value FROM qube_props WHERE qube_id = ?1",
		"INSERT INTO features (qube_id, key, value) "
		"SELECT ?2, key, value FROM features WHERE qube_id = ?1",
		"INSERT INTO tags (qube_id, tag) "
		"SELECT ?2, tag FROM tags WHERE qube_id = ?1",
	};
	char uuid[QUBE_UUID_LEN + 1];
	sqlite3_stmt *st;
	int64_t dst_id;
	size_t i;
	int r;

	r = store_new_qube_id(db, &dst_id, err, cap);
	if (r < 0)
		return r;
	/* A clone is a new qube: a uuid of its own, as in Qubes. */
	r = qube_uuid_new(uuid);
	if (r < 0) {
		return fail(err, cap, -EIO, "cloning: cannot make a uuid: %s",
			    strerror(-r));
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO qubes (id, name, class, "
			       "template_id, created, uuid) "
			       "SELECT ?3, ?2, class, template_id, "
			       "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?4 "
			       "FROM qubes WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, cap, "prepare");
	sqlite3_bind_int64(st, 1, src_id);
	sqlite3_bind_text(st, 2, dst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, dst_id);
	sqlite3_bind_text(st, 4, uuid, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, err, cap, "copy");
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	for (i = 0; r == 0 && i < sizeof(children) / sizeof(*children); i++)
		r = run(db, children[i], src_id, dst_id, NULL, err, cap);
	return r;
}

/* src's id, class and power state, read inside the transaction (store.h's
 * calls open their own and cannot nest in it). 1 found, 0 not, or -EIO. */
static int find(sqlite3 *db, const char *name, int64_t *id, char *cls,
		char *power, size_t n, char *err, size_t cap)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT id, class, power_state FROM qubes "
			       "WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, cap, "prepare");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(cls, n, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(power, n, "%s",
			 (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, cap, "lookup");
}

int store_qube_clone(struct store *s, const char *src, const char *dst,
		     char *err, size_t cap)
{
	sqlite3 *db = store_db(s);
	char cls[32], power[32];
	int64_t id, other;
	int r;

	r = qube_name_check_new(dst, err, cap);
	if (r < 0)
		return r;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, cap, "begin");
	/* Checked inside the write transaction: nothing can start src or
	 * take dst between the checks and the copy. */
	r = find(db, src, &id, cls, power, sizeof(cls), err, cap);
	if (r == 0)
		r = fail(err, cap, -ENOENT, "no qube named '%s'", src);
	else if (r == 1 && !strcmp(cls, "DispVM"))
		r = fail(err, cap, -EINVAL,
			 "a disposable qube cannot be cloned");
	else if (r == 1 && strcmp(power, "Halted"))
		r = fail(err, cap, -EBUSY,
			 "qube '%s' is %s; stop it before cloning it", src,
			 power);
	if (r == 1) {
		r = find(db, dst, &other, cls, power, sizeof(cls), err, cap);
		if (r == 1)
			r = fail(err, cap, -EEXIST, "a qube named '%s' exists",
				 dst);
	}
	if (r == 0)
		r = copy(db, id, dst, err, cap);
	if (r == 0 &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = db_fail(db, err, cap, "commit");
	if (r < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}
