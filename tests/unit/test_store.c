/* Unit tests of src/daemon/store/store.c against real SQLite databases: each
 * test gets a fresh database file in its own temporary folder, removed
 * afterwards. Row counts are read straight from SQLite, so "nothing was
 * written" is checked, not assumed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/store/store.h"
#include "daemon/store/store_clone.h"
#include "lib/util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Well-formed uuids for rows written with SQL, and one for the i of a
 * recursive SELECT. */
#define UUID_1 "'00000000-0000-4000-8000-000000000001'"
#define UUID_2 "'00000000-0000-4000-8000-000000000002'"
#define UUID_OF_I "printf('%08x-0000-4000-8000-000000000000', i)"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct store *s;
	char err[STORE_ERR_MAX];
};

static const struct prop_limits limits = { .mem_mib = 23964, .cpus = 4 };

static int fx_open(struct fx *f)
{
	int r = store_open(f->path, &f->s, f->err, sizeof(f->err));

	if (r == 0)
		store_set_limits(f->s, &limits);
	return r;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/bh-test-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	assert_int_equal(fx_open(f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	assert_int_equal(bh_rm_rf(f->dir), 0);
	free(f);
	return 0;
}

/* One integer from SQL run on the store's own connection. */
static long long q_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->s), sql, -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *q_text(struct fx *f, const char *sql)
{
	static char buf[256];
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->s), sql, -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, sizeof(buf), "%s",
		 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* Rows in every table: a fingerprint of "nothing changed". */
static long long rows(struct fx *f)
{
	return q_int(f, "SELECT (SELECT count(*) FROM qubes) * 1000000 + "
			"(SELECT count(*) FROM qube_props) * 10000 + "
			"(SELECT count(*) FROM features) * 100 + "
			"(SELECT count(*) FROM tags) + "
			"(SELECT count(*) FROM global_prefs) * 10");
}

static void create_ok(struct fx *f, const char *name, const char *cls,
		      const char *tmpl, const char *label)
{
	int r = store_qube_create(f->s, name, cls, tmpl, label, NULL, 0,
				  f->err, sizeof(f->err));

	if (r != 0)
		fail_msg("create %s: %d %s", name, r, f->err);
}

static void set_ok(struct fx *f, const char *q, const char *p,
		   const char *v)
{
	int r = store_prop_set(f->s, q, p, v, f->err, sizeof(f->err));

	if (r != 0)
		fail_msg("set %s %s=%s: %d %s", q, p, v, r, f->err);
}

static void global_ok(struct fx *f, const char *p, const char *v)
{
	int r = store_global_set(f->s, p, v, f->err, sizeof(f->err));

	if (r != 0)
		fail_msg("global %s=%s: %d %s", p, v, r, f->err);
}

/* Value of a property, and "(default)" after it when it is one. */
static const char *prop(struct fx *f, const char *q, const char *p)
{
	static char buf[PROP_VALUE_MAX + 16];
	char v[PROP_VALUE_MAX + 1];
	int d = -1, r;

	r = store_prop_get(f->s, q, p, v, sizeof(v), &d, f->err,
			   sizeof(f->err));
	if (r != 0)
		fail_msg("get %s %s: %d %s", q, p, r, f->err);
	snprintf(buf, sizeof(buf), "%s%s", v, d ? " (default)" : "");
	return buf;
}

/* A template, two AppVMs on it and a standalone. */
static void populate(struct fx *f)
{
	create_ok(f, "debian-12", "TemplateVM", NULL, "black");
	create_ok(f, "work", "AppVM", "debian-12", "blue");
	create_ok(f, "personal", "AppVM", "debian-12", "yellow");
	create_ok(f, "vault", "StandaloneVM", NULL, "black");
}

/* ---- opening ---- */

static void test_migrates_from_empty(void **state)
{
	struct fx *f = *state;

	assert_int_equal(q_int(f, "SELECT version FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(q_int(f, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE "
				  "type = 'table' AND name IN ('qubes', "
				  "'qube_props', 'features', 'tags', "
				  "'global_prefs')"),
			 5);
	assert_int_equal(rows(f), 0);
}

static void test_pragmas(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_string_equal(q_text(f, "PRAGMA journal_mode"), "wal");
	assert_int_equal(q_int(f, "PRAGMA foreign_keys"), 1);
	assert_int_equal(q_int(f, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(q_int(f, "PRAGMA busy_timeout"),
			 STORE_BUSY_TIMEOUT_MS);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Foreign keys really act: SQLite itself refuses to drop a template in
 * use, and refuses a template_id that names no qube. */
static void test_foreign_keys_enforced(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;

	populate(f);
	db = store_db(f->s);
	/* RESTRICT reports itself as a trigger's constraint. */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM qubes WHERE name = "
					  "'debian-12'",
				      NULL, NULL, NULL) & 0xff,
			 SQLITE_CONSTRAINT);
	assert_string_equal(sqlite3_errmsg(db), "FOREIGN KEY constraint failed");
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes"), 4);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO qubes (name, class, "
					  "template_id, uuid) VALUES ('x', "
					  "'AppVM', 999, " UUID_1 ")",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_FOREIGNKEY);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO qubes (name, class, "
					  "uuid) VALUES ('x', 'AdminVM', "
					  UUID_1 ")",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_CHECK);
}

static void test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	char v[64];

	populate(f);
	set_ok(f, "work", "memory", "800");
	global_ok(f, "default_template", "debian-12");
	assert_int_equal(store_feature_set(f->s, "work", "gui", "1", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_add(f->s, "work", "audio", f->err,
				       sizeof(f->err)),
			 0);
	long long before = rows(f);

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(rows(f), before);
	assert_int_equal(q_int(f, "SELECT version FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	assert_string_equal(prop(f, "work", "memory"), "800");
	assert_string_equal(prop(f, "work", "template"), "debian-12");
	assert_int_equal(store_feature_get(f->s, "work", "gui", v, sizeof(v),
					   f->err, sizeof(f->err)),
			 0);
	assert_string_equal(v, "1");
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	char expect[64];
	sqlite3 *db;

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version "
					  "= version + 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	f->s = (struct store *)0x1;
	assert_int_equal(store_open(f->path, &f->s, f->err, sizeof(f->err)),
			 -EPROTO);
	assert_null(f->s);
	snprintf(expect, sizeof(expect), "has schema version %d",
		 STORE_SCHEMA_VERSION + 1);
	assert_non_null(strstr(f->err, expect));
	assert_non_null(strstr(f->err, "newer Bulkhead"));
}

static void test_not_a_database(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	struct store *s = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 512; i++)
		fputs("not sqlite ", fp);
	fclose(fp);
	assert_int_equal(store_open(path, &s, f->err, sizeof(f->err)), -EIO);
	assert_null(s);
	assert_non_null(strstr(f->err, "not a database"));
}

static void test_symlink_refused(void **state)
{
	struct fx *f = *state;
	char link[PATH_MAX + 16];
	struct store *s = NULL;

	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(store_open(link, &s, f->err, sizeof(f->err)), -ELOOP);
	assert_null(s);
}

/* ---- qubes ---- */

struct seen {
	char text[1024];
	int n, stop_at;
};

static int on_qube(void *arg, const struct qube_info *q)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s:%s:%s:%s:%s",
		 s->n ? " " : "", q->name, qube_class_name(q->cls),
		 q->template_name, q->label, q->power_state);
	return ++s->n == s->stop_at ? 42 : 0;
}

static int on_name(void *arg, const char *name)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s",
		 s->n ? " " : "", name);
	return ++s->n == s->stop_at ? 42 : 0;
}

static int on_kv(void *arg, const char *k, const char *v)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%s",
		 s->n ? " " : "", k, v);
	s->n++;
	return 0;
}

static int on_prop(void *arg, const char *k, const char *v, int d)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%s%s",
		 s->n ? " " : "", k, v, d ? "*" : "");
	s->n++;
	return 0;
}

static void test_create_list_remove(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct qube_info q;

	populate(f);
	assert_int_equal(store_qube_list(f->s, on_qube, &s, f->err,
					 sizeof(f->err)),
			 0);
	assert_string_equal(s.text,
			    "debian-12:TemplateVM::black:Halted "
			    "personal:AppVM:debian-12:yellow:Halted "
			    "vault:StandaloneVM::black:Halted "
			    "work:AppVM:debian-12:blue:Halted");
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(q.name, "work");
	assert_int_equal(q.cls, QC_APP);
	assert_string_equal(q.template_name, "debian-12");
	assert_int_equal(strlen(q.created), 20); /* 2025-01-31T12:00:00Z */
	assert_int_equal(q.created[19], 'Z');

	assert_int_equal(store_qube_remove(f->s, "work", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "no qube named 'work'");
	assert_int_equal(store_qube_remove(f->s, "work", f->err,
					   sizeof(f->err)),
			 -ENOENT);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes"), 3);

	/* A callback's non-zero return stops the list and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(store_qube_list(f->s, on_qube, &s, f->err,
					 sizeof(f->err)),
			 42);
	assert_int_equal(s.n, 2);
}

static void test_get_invalid_name(void **state)
{
	struct fx *f = *state;
	struct qube_info q;

	assert_int_equal(store_qube_get(f->s, "bad name\x1b[2J", &q, f->err,
					sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "no such qube: qube names may contain "
				    "only letters, digits, _ . -");
	assert_int_equal(store_qube_get(f->s, NULL, &q, f->err,
					sizeof(f->err)),
			 -ENOENT);
}

static void test_duplicate_name(void **state)
{
	struct fx *f = *state;
	struct qube_info q;
	long long before;

	populate(f);
	before = rows(f);
	assert_int_equal(store_qube_create(f->s, "work", "StandaloneVM", NULL,
					   "red", NULL, 0, f->err,
					   sizeof(f->err)),
			 -EEXIST);
	assert_string_equal(f->err, "a qube named 'work' exists");
	assert_int_equal(rows(f), before);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(q.cls, QC_APP);
	assert_string_equal(q.label, "blue");
}

/* Attack: a halted qube named like a disposable (disp42) is confused
 * with the disposable of that name by policy, tags and asks. Creating or
 * cloning to such a name is refused and writes nothing. */
static void test_disposable_names_collide(void **state)
{
	struct fx *f = *state;
	long long before;

	populate(f);
	before = rows(f);
	assert_int_equal(store_qube_create(f->s, "disp42", "AppVM",
					   "debian-12", "red", NULL, 0,
					   f->err, sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "kept for disposables"));
	assert_int_equal(store_qube_create(f->s, "disp7", "StandaloneVM",
					   NULL, "red", NULL, 0, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_qube_clone(f->s, "work", "disp42", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "kept for disposables"));
	assert_int_equal(rows(f), before);
	/* Names that merely start with disp are a user's to take. */
	create_ok(f, "display", "AppVM", "debian-12", "red");
	assert_int_equal(store_qube_clone(f->s, "work", "disp42b", f->err,
					  sizeof(f->err)),
			 0);
}

/* ---- qube ids: jail ids below the disposables' ---- */

static void exec_ok(struct fx *f, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(store_db(f->s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* Makes the database what an older bulkheadd left: the schema of
 * version v (1 or 2; they differ in rows only), with the qubes it has. */
static void schema_back_to(struct fx *f, int v)
{
	char sql[64];

	exec_ok(f, "DROP TRIGGER qubes_uuid_new;"
		   "DROP TRIGGER qubes_uuid_fixed;"
		   "DROP INDEX qubes_uuid;"
		   "ALTER TABLE qubes DROP COLUMN uuid;");
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
		 v);
	exec_ok(f, sql);
}

static int64_t id_of(struct fx *f, const char *name)
{
	struct qube_info q;

	if (store_qube_get(f->s, name, &q, f->err, sizeof(f->err)))
		fail_msg("get %s: %s", name, f->err);
	return q.id;
}

/* Attack: ids were SQLite rowids (the highest + 1), so a database whose
 * highest id reached the disposables' base gave the next qube the jail
 * id (and uid) of disposable disp1. Ids stay below the base, whatever
 * the highest is and however many creates, removes and clones ran. */
static void test_ids_grow_into_disposables_range(void **state)
{
	struct fx *f = *state;
	char name[32];
	int i;

	populate(f);
	/* The highest possible id is taken (an old rowid, say). */
	exec_ok(f, "INSERT INTO qubes (id, name, class, uuid) VALUES "
		   "(49999, 'high', 'StandaloneVM', " UUID_1 ")");
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "cycle%d", i % 7);
		create_ok(f, name, "AppVM", "debian-12", "red");
		assert_in_range(id_of(f, name), 1, STORE_QUBE_ID_LIMIT - 1);
		if (i % 7 == 6)
			for (int j = 0; j < 7; j++) {
				snprintf(name, sizeof(name), "cycle%d", j);
				assert_int_equal(store_qube_remove(f->s, name,
								   f->err,
								   sizeof(f->err)),
						 0);
			}
	}
	assert_int_equal(store_qube_clone(f->s, "work", "work2", f->err,
					  sizeof(f->err)),
			 0);
	assert_in_range(id_of(f, "work2"), 1, STORE_QUBE_ID_LIMIT - 1);
	/* Below the highest, the smallest free: 5 follows the four of
	 * populate() (ids 1 to 4). */
	assert_int_equal(id_of(f, "cycle0"), 5);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes WHERE id >= "
				  "50000 OR id < 1"),
			 0);
}

/* Every id taken: create and clone are refused with what to do, and
 * write nothing. */
static void test_ids_exhausted(void **state)
{
	struct fx *f = *state;
	long long before;

	exec_ok(f, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		   "FROM n WHERE i < 49999) INSERT INTO qubes (id, name, "
		   "class, uuid) SELECT i, 'q' || i, 'StandaloneVM', "
		   UUID_OF_I " FROM n");
	before = rows(f);
	assert_int_equal(store_qube_create(f->s, "more", "StandaloneVM", NULL,
					   "red", NULL, 0, f->err,
					   sizeof(f->err)),
			 -ENOSPC);
	assert_non_null(strstr(f->err, "no qube id is free"));
	assert_non_null(strstr(f->err, "remove qubes"));
	assert_int_equal(store_qube_clone(f->s, "q7", "more", f->err,
					  sizeof(f->err)),
			 -ENOSPC);
	assert_int_equal(rows(f), before);
	/* One removed, one made: it takes that id. */
	assert_int_equal(store_qube_remove(f->s, "q1234", f->err,
					   sizeof(f->err)),
			 0);
	create_ok(f, "more", "StandaloneVM", NULL, "red");
	assert_int_equal(id_of(f, "more"), 1234);
}

/* A database from schema 1 whose ids reached the disposables' range:
 * the migration gives those qubes free ids below it, and their
 * properties, features, tags and the qubes based on them follow. */
static void test_migration_renumbers_high_ids(void **state)
{
	struct fx *f = *state;
	struct qube_info q;

	populate(f);
	schema_back_to(f, 1);
	exec_ok(f, "INSERT INTO qubes (id, name, class) VALUES (60001, "
		   "'hightmpl', 'TemplateVM');"
		   "INSERT INTO qubes (id, name, class, template_id) VALUES "
		   "(50000, 'child', 'AppVM', 60001);"
		   "INSERT INTO qube_props VALUES (60001, 'label', 'green');"
		   "INSERT INTO qube_props VALUES (50000, 'label', 'red');"
		   "INSERT INTO qube_props VALUES (50000, 'memory', '512');"
		   "INSERT INTO features VALUES (50000, 'k', 'v');"
		   "INSERT INTO tags VALUES (60001, 't1');");
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(q_int(f, "SELECT version FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes WHERE id >= "
				  "50000 OR id < 1"),
			 0);
	/* The free ids after populate's 1..4, in order of the old ids. */
	assert_int_equal(id_of(f, "child"), 5);
	assert_int_equal(id_of(f, "hightmpl"), 6);
	assert_int_equal(store_qube_get(f->s, "child", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(q.template_name, "hightmpl");
	assert_string_equal(q.label, "red");
	assert_string_equal(prop(f, "child", "memory"), "512");
	assert_int_equal(q_int(f, "SELECT count(*) FROM features WHERE "
				  "qube_id = 5 AND key = 'k'"),
			 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM tags WHERE "
				  "qube_id = 6 AND tag = 't1'"),
			 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qube_props WHERE "
				  "qube_id >= 50000"),
			 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM "
				  "pragma_foreign_key_check"),
			 0);
	/* The next qube is below the range too. */
	create_ok(f, "after", "AppVM", "debian-12", "red");
	assert_int_equal(id_of(f, "after"), 7);
}

/* Every qube has a uuid as in Qubes: a random version-4 one made at
 * creation, its own, shown as the property uuid and never changed. */
static void test_uuid_created(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "debian-12", "work", "personal",
					     "vault", "dvm", "named-disp" };
	char u[ARRAY_LEN(names)][QUBE_UUID_LEN + 1];
	struct store_prop p = { "uuid", UUID_1 };
	struct qube_info q;
	size_t i, j;
	long long before;

	populate(f);
	create_ok(f, "dvm", "AppVM", "debian-12", "red");
	set_ok(f, "dvm", "template_for_dispvms", "True");
	create_ok(f, "named-disp", "DispVM", "dvm", "red");
	for (i = 0; i < ARRAY_LEN(names); i++) {
		assert_int_equal(store_qube_get(f->s, names[i], &q, f->err,
						sizeof(f->err)),
				 0);
		if (!qube_uuid_ok(q.uuid))
			fail_msg("%s: uuid '%s'", names[i], q.uuid);
		snprintf(u[i], sizeof(u[i]), "%s", q.uuid);
		for (j = 0; j < i; j++)
			assert_string_not_equal(u[i], u[j]);
		/* The property, read-only: never a default. */
		assert_string_equal(prop(f, names[i], "uuid"), u[i]);
	}
	before = rows(f);
	assert_int_equal(store_prop_set(f->s, "work", "uuid", u[0], f->err,
					sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "uuid is read-only: each qube gets its "
				    "own when it is made, and keeps it");
	assert_int_equal(store_prop_reset(f->s, "work", "uuid", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "read-only"));
	p.value = u[0];
	assert_int_equal(store_qube_create(f->s, "x", "StandaloneVM", NULL,
					   "red", &p, 1, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "uuid is read-only: each qube gets its "
				    "own when it is made");
	assert_int_equal(rows(f), before);
	assert_string_equal(prop(f, "work", "uuid"), u[1]);
	/* SQLite itself keeps the rules: no change, no twin, no row
	 * without one, nothing but a version-4 uuid. */
	assert_int_equal(sqlite3_exec(store_db(f->s),
				      "UPDATE qubes SET uuid = " UUID_1
				      " WHERE name = 'work'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sqlite3_exec(store_db(f->s),
				      "INSERT INTO qubes (name, class, uuid) "
				      "SELECT 'x', 'StandaloneVM', uuid FROM "
				      "qubes WHERE name = 'work'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_UNIQUE);
	assert_int_equal(sqlite3_exec(store_db(f->s),
				      "INSERT INTO qubes (name, class) VALUES "
				      "('x', 'StandaloneVM')",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sqlite3_exec(store_db(f->s),
				      "INSERT INTO qubes (name, class, uuid) "
				      "VALUES ('x', 'StandaloneVM', "
				      "'00000000-0000-1000-8000-000000000001')",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(rows(f), before);
	/* They survive a reopen. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(fx_open(f), 0);
	for (i = 0; i < ARRAY_LEN(names); i++)
		assert_string_equal(prop(f, names[i], "uuid"), u[i]);
}

/* A clone is a new qube: a uuid of its own, as in Qubes. */
static void test_uuid_clone(void **state)
{
	struct fx *f = *state;
	struct qube_info a, b;

	populate(f);
	assert_int_equal(store_qube_clone(f->s, "work", "work2", f->err,
					  sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &a, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work2", &b, f->err,
					sizeof(f->err)),
			 0);
	assert_true(qube_uuid_ok(b.uuid));
	assert_string_not_equal(a.uuid, b.uuid);
	assert_string_equal(prop(f, "work2", "uuid"), b.uuid);
}

/* A database of schema 2 (no uuids): the migration gives every qube a
 * fresh one, all different, and they are kept from then on. */
static void test_uuid_migration(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "debian-12", "work", "personal",
					     "vault" };
	char u[ARRAY_LEN(names)][QUBE_UUID_LEN + 1];
	struct qube_info q;
	size_t i, j;

	populate(f);
	schema_back_to(f, 2);
	assert_int_equal(q_int(f, "SELECT count(*) FROM pragma_table_info("
				  "'qubes') WHERE name = 'uuid'"),
			 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(q_int(f, "SELECT version FROM schema_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(q_int(f, "SELECT count(DISTINCT uuid) FROM qubes"),
			 4);
	for (i = 0; i < ARRAY_LEN(names); i++) {
		assert_int_equal(store_qube_get(f->s, names[i], &q, f->err,
						sizeof(f->err)),
				 0);
		if (!qube_uuid_ok(q.uuid))
			fail_msg("%s: uuid '%s'", names[i], q.uuid);
		snprintf(u[i], sizeof(u[i]), "%s", q.uuid);
		for (j = 0; j < i; j++)
			assert_string_not_equal(u[i], u[j]);
	}
	/* Made once: a reopen keeps them; new qubes get their own. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(fx_open(f), 0);
	for (i = 0; i < ARRAY_LEN(names); i++)
		assert_string_equal(prop(f, names[i], "uuid"), u[i]);
	create_ok(f, "new", "StandaloneVM", NULL, "red");
	assert_int_equal(q_int(f, "SELECT count(DISTINCT uuid) FROM qubes"),
			 5);
}

static void test_missing_template(void **state)
{
	struct fx *f = *state;
	long long before;

	populate(f);
	before = rows(f);
	assert_int_equal(store_qube_create(f->s, "new", "AppVM", "nope",
					   "red", NULL, 0, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "template: there is no qube named 'nope'");
	assert_int_equal(rows(f), before);
	/* A template must be a TemplateVM. */
	assert_int_equal(store_qube_create(f->s, "new", "AppVM", "work",
					   "red", NULL, 0, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "template must name a TemplateVM, not "
				    "the AppVM 'work'");
	/* No template and no default_template. */
	assert_int_equal(store_qube_create(f->s, "new", "AppVM", NULL, "red",
					   NULL, 0, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "an AppVM needs a template: name one, or "
				    "set default_template");
	assert_int_equal(rows(f), before);
	/* With default_template, it is used and recorded. */
	global_ok(f, "default_template", "debian-12");
	create_ok(f, "new", "AppVM", NULL, "red");
	assert_string_equal(prop(f, "new", "template"), "debian-12");
}

static void test_bad_create_writes_nothing(void **state)
{
	static const struct {
		const char *name, *cls, *tmpl, *label;
		struct store_prop props[3];
		size_t n;
		int r;
		const char *msg;
	} cases[] = {
		{ "new", "AppVM", "debian-12", "red",
		  { { "memory", "10" } }, 1, -EINVAL,
		  "memory must be an integer number of MiB between 64 and "
		  "23964" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "memory", "800" }, { "vcpus", "99" } }, 2, -EINVAL,
		  "vcpus must be an integer between 1 and 4" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "memory", "800" }, { "nope", "1" } }, 2, -ENOENT,
		  "there is no property nope" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "no\x1b[2Jpe", "1" } }, 1, -ENOENT,
		  "there is no property of that name" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "memory", "800" }, { "memory", "900" } }, 2, -EINVAL,
		  "memory is given twice" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "label", "blue" } }, 1, -EINVAL,
		  "label is given on its own, not as a property" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "netvm", "new" } }, 1, -EINVAL,
		  "netvm cannot name the qube itself ('new')" },
		{ "new", "AppVM", "debian-12", "red",
		  { { "autostart", "yes" } }, 1, -EINVAL,
		  "autostart must be True or False (also true/on/1, "
		  "false/off/0)" },
		{ "new", "AppVM", "debian-12", "pink", { { 0 } }, 0, -EINVAL,
		  "label must be one of: red orange yellow green gray blue "
		  "purple black" },
		{ "new", "AppVM", "debian-12", NULL, { { 0 } }, 0, -EINVAL,
		  "a new qube needs a label: red orange yellow green gray "
		  "blue purple black" },
		{ "new", "TemplateVM", "debian-12", "red", { { 0 } }, 0,
		  -EINVAL,
		  "only AppVM and DispVM qubes have a template; a TemplateVM "
		  "has its own root" },
		{ "new", "DispVM", NULL, "red", { { 0 } }, 0, -EINVAL,
		  "a DispVM needs a disposable template: name one (an AppVM "
		  "with template_for_dispvms=True), or set default_dispvm" },
		{ "new", "DispVM", "work", "red", { { 0 } }, 0, -EINVAL,
		  "template must name a disposable template (an AppVM with "
		  "template_for_dispvms=True); 'work' is not one: make it one "
		  "with `bh prefs work template_for_dispvms True`" },
		{ "new", "appvm", NULL, "red", { { 0 } }, 0, -EINVAL,
		  "class must be TemplateVM, AppVM, StandaloneVM or DispVM" },
		{ "new-dm", "StandaloneVM", NULL, "red", { { 0 } }, 0, -EINVAL,
		  "names ending in -dm are reserved" },
		{ "abcdefghijklmnopqrstuvwxyz012345", "StandaloneVM", NULL,
		  "red", { { 0 } }, 0, -EINVAL,
		  "qube names are 1 to 31 characters" },
		{ NULL, "StandaloneVM", NULL, "red", { { 0 } }, 0, -EINVAL,
		  "qube names are 1 to 31 characters" },
	};
	struct fx *f = *state;
	long long before;
	size_t i;

	populate(f);
	before = rows(f);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		int r = store_qube_create(f->s, cases[i].name, cases[i].cls,
					  cases[i].tmpl, cases[i].label,
					  cases[i].props, cases[i].n, f->err,
					  sizeof(f->err));

		if (r != cases[i].r || strcmp(f->err, cases[i].msg))
			fail_msg("case %zu: r=%d err='%s', expected %d '%s'",
				 i, r, f->err, cases[i].r, cases[i].msg);
		assert_int_equal(rows(f), before);
	}
}

static void test_create_with_props(void **state)
{
	static const struct store_prop props[] = {
		{ "memory", "0800" },
		{ "autostart", "on" },
		{ "kernelopts", "quiet" },
	};
	struct fx *f = *state;

	populate(f);
	assert_int_equal(store_qube_create(f->s, "new", "AppVM", "debian-12",
					   "green", props, ARRAY_LEN(props),
					   f->err, sizeof(f->err)),
			 0);
	/* Stored in canonical form. */
	assert_string_equal(prop(f, "new", "memory"), "800");
	assert_string_equal(prop(f, "new", "autostart"), "True");
	assert_string_equal(prop(f, "new", "kernelopts"), "quiet");
	assert_string_equal(prop(f, "new", "label"), "green");
	assert_string_equal(prop(f, "new", "vcpus"), "2 (default)");
}

/* A write that fails half way (here a trigger aborts the second insert)
 * leaves nothing: the qubes row is rolled back with it. */
static void test_failed_write_rolls_back(void **state)
{
	static const struct store_prop props[] = { { "memory", "800" } };
	struct fx *f = *state;
	long long before;

	populate(f);
	assert_int_equal(
		sqlite3_exec(store_db(f->s),
			     "CREATE TEMP TRIGGER no_memory BEFORE INSERT ON "
			     "qube_props WHEN new.name = 'memory' BEGIN "
			     "SELECT RAISE(ABORT, 'injected failure'); END",
			     NULL, NULL, NULL),
		SQLITE_OK);
	before = rows(f);
	assert_int_equal(store_qube_create(f->s, "new", "AppVM", "debian-12",
					   "red", props, 1, f->err,
					   sizeof(f->err)),
			 -EIO);
	assert_non_null(strstr(f->err, "injected failure"));
	assert_int_equal(rows(f), before);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes WHERE name = "
				  "'new'"),
			 0);
	/* The connection is usable afterwards. */
	create_ok(f, "new", "AppVM", "debian-12", "red");
}

static void test_remove_template_in_use(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	long long before;

	populate(f);
	before = rows(f);
	assert_int_equal(store_qube_remove(f->s, "debian-12", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'debian-12' is in use: template of "
				    "personal, work");
	assert_int_equal(rows(f), before);
	assert_int_equal(store_template_users(f->s, "debian-12", on_name, &s,
					      f->err, sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "personal work");
	assert_int_equal(store_template_users(f->s, "nope", on_name, &s,
					      f->err, sizeof(f->err)),
			 -ENOENT);

	assert_int_equal(store_qube_remove(f->s, "work", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_remove(f->s, "personal", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_remove(f->s, "debian-12", f->err,
					   sizeof(f->err)),
			 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_qube_list(f->s, on_qube, &s, f->err,
					 sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "vault:StandaloneVM::black:Halted");
}

/* Every kind of reference blocks a removal and is named. */
/* Named disposables: made from a disposable template, which cannot stop
 * being one (nor be removed) while they or a default_dispvm use it. */
static void test_dispvm_records(void **state)
{
	struct fx *f = *state;
	struct qube_info q;

	populate(f);
	create_ok(f, "dvm", "AppVM", "debian-12", "red");
	set_ok(f, "dvm", "template_for_dispvms", "True");
	create_ok(f, "d1", "DispVM", "dvm", "red");
	assert_int_equal(store_qube_get(f->s, "d1", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(q.cls, QC_DISP);
	assert_string_equal(q.template_name, "dvm");
	/* Without a template: default_dispvm. */
	global_ok(f, "default_dispvm", "dvm");
	create_ok(f, "d2", "DispVM", NULL, "red");
	set_ok(f, "work", "default_dispvm", "dvm");
	assert_int_equal(store_prop_set(f->s, "dvm", "template_for_dispvms",
					"False", f->err, sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err,
			    "qube 'dvm' is in use as a disposable template: "
			    "disposable template of d1, d2; default_dispvm of "
			    "work; global default_dispvm; remove those DispVMs "
			    "or change those preferences first");
	assert_int_equal(store_prop_reset(f->s, "dvm", "template_for_dispvms",
					  f->err, sizeof(f->err)),
			 -EBUSY);
	assert_int_equal(store_qube_remove(f->s, "dvm", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'dvm' is in use: template of d1, "
				    "d2; default_dispvm of work; global "
				    "default_dispvm");
	/* A DispVM's template is a disposable template, not a TemplateVM. */
	assert_int_equal(store_prop_set(f->s, "d1", "template", "debian-12",
					f->err, sizeof(f->err)),
			 -EINVAL);
	/* Once nobody uses it, it may stop being one. */
	assert_int_equal(store_qube_remove(f->s, "d1", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_remove(f->s, "d2", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_prop_reset(f->s, "work", "default_dispvm",
					  f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_global_reset(f->s, "default_dispvm", f->err,
					    sizeof(f->err)),
			 0);
	set_ok(f, "dvm", "template_for_dispvms", "False");
}

static void test_remove_referenced(void **state)
{
	struct fx *f = *state;

	populate(f);
	create_ok(f, "sys-net", "AppVM", "debian-12", "red");
	create_ok(f, "dvm", "AppVM", "debian-12", "red");
	set_ok(f, "dvm", "template_for_dispvms", "True");
	set_ok(f, "work", "netvm", "sys-net");
	set_ok(f, "vault", "netvm", "sys-net");
	set_ok(f, "work", "default_dispvm", "dvm");
	global_ok(f, "default_netvm", "sys-net");
	global_ok(f, "default_dispvm", "dvm");
	assert_int_equal(store_qube_remove(f->s, "sys-net", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'sys-net' is in use: netvm of "
				    "vault, work; global default_netvm");
	assert_int_equal(store_qube_remove(f->s, "dvm", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'dvm' is in use: default_dispvm of "
				    "work; global default_dispvm");
	global_ok(f, "default_template", "debian-12");
	assert_int_equal(store_qube_remove(f->s, "debian-12", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'debian-12' is in use: template of "
				    "dvm, personal, sys-net, work; global "
				    "default_template");
}

/* A long list of users is cut with "..." rather than overflowing. */
static void test_remove_many_users(void **state)
{
	struct fx *f = *state;
	char name[32], err[128];
	int i;

	create_ok(f, "debian-12", "TemplateVM", NULL, "black");
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "app-with-long-name-%02d", i);
		create_ok(f, name, "AppVM", "debian-12", "red");
	}
	assert_int_equal(store_qube_remove(f->s, "debian-12", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_true(strlen(f->err) < STORE_ERR_MAX);
	assert_string_equal(f->err + strlen(f->err) - 3, "...");
	assert_int_equal(store_qube_remove(f->s, "debian-12", err,
					   sizeof(err)),
			 -EBUSY);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_remove_running(void **state)
{
	struct fx *f = *state;

	populate(f);
	assert_int_equal(store_power_set(f->s, "vault", "Running", NULL,
					 f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_remove(f->s, "vault", f->err,
					   sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "qube 'vault' is Running; stop it before "
				    "removing it");
}

static void test_power_state(void **state)
{
	struct fx *f = *state;
	char reason[STORE_REASON_MAX + 2];
	struct qube_info q;

	populate(f);
	assert_int_equal(store_power_set(f->s, "work", "Transient",
					 "starting", f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(q.power_state, "Transient");
	assert_string_equal(q.power_reason, "starting");
	assert_int_equal(store_power_set(f->s, "work", "Halted", NULL, f->err,
					 sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(q.power_state, "Halted");
	assert_string_equal(q.power_reason, "");
	assert_int_equal(store_power_set(f->s, "work", "running", NULL,
					 f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_power_set(f->s, "work", NULL, NULL, f->err,
					 sizeof(f->err)),
			 -EINVAL);
	memset(reason, 'r', sizeof(reason));
	reason[STORE_REASON_MAX] = '\0';
	assert_int_equal(store_power_set(f->s, "work", "Crashed", reason,
					 f->err, sizeof(f->err)),
			 0);
	reason[STORE_REASON_MAX] = 'r';
	reason[STORE_REASON_MAX + 1] = '\0';
	assert_int_equal(store_power_set(f->s, "work", "Crashed", reason,
					 f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_power_set(f->s, "nope", "Halted", NULL, f->err,
					 sizeof(f->err)),
			 -ENOENT);
}

/* ---- properties ---- */

static void test_prop_set_get_reset(void **state)
{
	struct fx *f = *state;

	populate(f);
	assert_string_equal(prop(f, "work", "memory"), "400 (default)");
	set_ok(f, "work", "memory", "1024");
	assert_string_equal(prop(f, "work", "memory"), "1024");
	/* Set to the default's value: still explicit. */
	set_ok(f, "work", "vcpus", "2");
	assert_string_equal(prop(f, "work", "vcpus"), "2");
	assert_int_equal(store_prop_reset(f->s, "work", "memory", f->err,
					  sizeof(f->err)),
			 0);
	assert_string_equal(prop(f, "work", "memory"), "400 (default)");
	/* Resetting what is already the default is fine. */
	assert_int_equal(store_prop_reset(f->s, "work", "memory", f->err,
					  sizeof(f->err)),
			 0);
	assert_int_equal(store_prop_reset(f->s, "work", "label", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "label has no default to reset to; set "
				    "it instead");
	set_ok(f, "work", "label", "purple");
	assert_string_equal(prop(f, "work", "label"), "purple");
	set_ok(f, "work", "include_in_backups", "off");
	assert_string_equal(prop(f, "work", "include_in_backups"), "False");
	set_ok(f, "work", "kernel", "6.1.0-28-cloud-amd64");
	assert_string_equal(prop(f, "work", "kernel"), "6.1.0-28-cloud-amd64");
}

static void test_prop_errors(void **state)
{
	struct fx *f = *state;
	char v[8];
	long long before;
	int d;

	populate(f);
	before = rows(f);
	assert_int_equal(store_prop_set(f->s, "work", "memory", "big", f->err,
					sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_prop_set(f->s, "work", "nope", "1", f->err,
					sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "AppVM qubes have no property nope");
	assert_int_equal(store_prop_set(f->s, "nope", "memory", "800", f->err,
					sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "no qube named 'nope'");
	assert_int_equal(store_prop_set(f->s, "debian-12", "template",
					"debian-12", f->err, sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "TemplateVM qubes have no property "
				    "template");
	assert_int_equal(store_prop_get(f->s, "vault", "template", v,
					sizeof(v), &d, f->err,
					sizeof(f->err)),
			 -ENOENT);
	assert_int_equal(store_prop_set(f->s, "work", "memory", NULL, f->err,
					sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(rows(f), before);
	/* A buffer too small for the value. */
	set_ok(f, "work", "kernelopts", "console=ttyS0");
	assert_int_equal(store_prop_get(f->s, "work", "kernelopts", v,
					sizeof(v), &d, f->err,
					sizeof(f->err)),
			 -ERANGE);
}

static void test_template_change(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };

	populate(f);
	create_ok(f, "fedora-42", "TemplateVM", NULL, "black");
	set_ok(f, "work", "template", "fedora-42");
	assert_string_equal(prop(f, "work", "template"), "fedora-42");
	assert_int_equal(store_template_users(f->s, "fedora-42", on_name, &s,
					      f->err, sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "work");
	/* Not while the qube runs. */
	assert_int_equal(store_power_set(f->s, "work", "Running", NULL,
					 f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_prop_set(f->s, "work", "template", "debian-12",
					f->err, sizeof(f->err)),
			 -EBUSY);
	assert_string_equal(f->err, "template can be changed only while the "
				    "qube is halted");
	assert_string_equal(prop(f, "work", "template"), "fedora-42");
	/* Not to a non-template, nor reset. */
	assert_int_equal(store_power_set(f->s, "work", "Halted", NULL, f->err,
					 sizeof(f->err)),
			 0);
	assert_int_equal(store_prop_set(f->s, "work", "template", "vault",
					f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_prop_reset(f->s, "work", "template", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(prop(f, "work", "template"), "fedora-42");
}

static void test_defaults_from_globals(void **state)
{
	struct fx *f = *state;

	populate(f);
	create_ok(f, "sys-net", "StandaloneVM", NULL, "red");
	create_ok(f, "dvm", "AppVM", "debian-12", "red");
	set_ok(f, "dvm", "template_for_dispvms", "True");
	assert_string_equal(prop(f, "work", "netvm"), " (default)");
	assert_string_equal(prop(f, "work", "kernel"), " (default)");
	assert_string_equal(prop(f, "work", "default_dispvm"), " (default)");
	global_ok(f, "default_netvm", "sys-net");
	global_ok(f, "default_kernel", "6.1.0-28-cloud-amd64");
	global_ok(f, "default_dispvm", "dvm");
	assert_string_equal(prop(f, "work", "netvm"), "sys-net (default)");
	assert_string_equal(prop(f, "vault", "netvm"), "sys-net (default)");
	assert_string_equal(prop(f, "work", "kernel"),
			    "6.1.0-28-cloud-amd64 (default)");
	assert_string_equal(prop(f, "work", "default_dispvm"),
			    "dvm (default)");
	/* Templates have no netvm by default; no qube is its own. */
	assert_string_equal(prop(f, "debian-12", "netvm"), " (default)");
	assert_string_equal(prop(f, "sys-net", "netvm"), " (default)");
	assert_string_equal(prop(f, "dvm", "default_dispvm"), " (default)");
	/* An explicit value wins, "" included, until reset. */
	set_ok(f, "work", "netvm", "");
	assert_string_equal(prop(f, "work", "netvm"), "");
	assert_int_equal(store_prop_reset(f->s, "work", "netvm", f->err,
					  sizeof(f->err)),
			 0);
	assert_string_equal(prop(f, "work", "netvm"), "sys-net (default)");
	/* The global default follows its preference. */
	assert_int_equal(store_global_reset(f->s, "default_netvm", f->err,
					    sizeof(f->err)),
			 0);
	assert_string_equal(prop(f, "work", "netvm"), " (default)");
}

static void test_memory_limit_from_host(void **state)
{
	struct fx *f = *state;
	struct prop_limits small = { .mem_mib = 512, .cpus = 1 };

	populate(f);
	store_set_limits(f->s, &small);
	assert_int_equal(store_prop_set(f->s, "work", "memory", "600", f->err,
					sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "memory must be an integer number of MiB "
				    "between 64 and 512");
	assert_string_equal(prop(f, "work", "vcpus"), "1 (default)");
	assert_string_equal(prop(f, "work", "memory"), "400 (default)");
}

static void test_netvm_loops(void **state)
{
	struct fx *f = *state;

	populate(f);
	create_ok(f, "sys-net", "StandaloneVM", NULL, "red");
	create_ok(f, "sys-firewall", "AppVM", "debian-12", "green");
	set_ok(f, "sys-firewall", "netvm", "sys-net");
	set_ok(f, "work", "netvm", "sys-firewall");
	assert_int_equal(store_prop_set(f->s, "sys-net", "netvm", "work",
					f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "netvm 'work' would make a network loop: "
				    "'work' reaches the network through "
				    "'sys-net'");
	assert_string_equal(prop(f, "sys-net", "netvm"), " (default)");
	/* Through the default: sys-net would default to sys-firewall. */
	assert_int_equal(store_global_set(f->s, "default_netvm",
					  "sys-firewall", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "default_netvm 'sys-firewall' would make "
				    "a network loop: 'sys-firewall' would "
				    "reach the network through itself");
	set_ok(f, "sys-net", "netvm", "");
	global_ok(f, "default_netvm", "sys-firewall");
	assert_string_equal(prop(f, "personal", "netvm"),
			    "sys-firewall (default)");
	/* Resetting sys-net's netvm would now loop through the default. */
	assert_int_equal(store_prop_reset(f->s, "sys-net", "netvm", f->err,
					  sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(prop(f, "sys-net", "netvm"), "");
	/* A chain without a loop is fine. */
	set_ok(f, "vault", "netvm", "work");
}

/* The listing has what the class has, defaults marked. */
static void test_prop_list(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct qube_info q;
	char expect[512];

	populate(f);
	set_ok(f, "work", "memory", "800");
	assert_int_equal(store_prop_list(f->s, "work", on_prop, &s, f->err,
					 sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	snprintf(expect, sizeof(expect),
		 "label=blue template=debian-12 memory=800 "
		 "vcpus=2* kernel=* kernelopts=* netvm=* "
		 "default_dispvm=* template_for_dispvms=False* "
		 "autostart=False* "
		 "include_in_backups=True* default_user=user* uuid=%s",
		 q.uuid);
	assert_string_equal(s.text, expect);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_prop_list(f->s, "debian-12", on_prop, &s,
					 f->err, sizeof(f->err)),
			 0);
	assert_null(strstr(s.text, "template="));
	assert_int_equal(s.n, 11);
}

/* default_user as in Qubes: "user" for a qube without a template; a
 * qube made from one takes its template's (a DispVM its disposable
 * template's, and so on up) until it is set; a reset follows the
 * template again; only account names are accepted. */
static void test_default_user(void **state)
{
	static const char *const bad[] = {
		"", "Alice", "1user", "us er", "a:b", "user\n", "-x",
		"abcdefghijklmnopqrstuvwxyz0123456",
	};
	struct fx *f = *state;
	size_t i;

	populate(f);
	create_ok(f, "dvm", "AppVM", "debian-12", "red");
	set_ok(f, "dvm", "template_for_dispvms", "True");
	create_ok(f, "d1", "DispVM", "dvm", "red");
	assert_string_equal(prop(f, "debian-12", "default_user"),
			    "user (default)");
	assert_string_equal(prop(f, "vault", "default_user"), "user (default)");
	assert_string_equal(prop(f, "d1", "default_user"), "user (default)");
	set_ok(f, "debian-12", "default_user", "alice");
	assert_string_equal(prop(f, "debian-12", "default_user"), "alice");
	assert_string_equal(prop(f, "work", "default_user"), "alice (default)");
	assert_string_equal(prop(f, "d1", "default_user"), "alice (default)");
	set_ok(f, "dvm", "default_user", "root");
	assert_string_equal(prop(f, "d1", "default_user"), "root (default)");
	assert_string_equal(prop(f, "work", "default_user"), "alice (default)");
	set_ok(f, "d1", "default_user", "bob_2-x");
	assert_string_equal(prop(f, "d1", "default_user"), "bob_2-x");
	assert_int_equal(store_prop_reset(f->s, "dvm", "default_user", f->err,
					  sizeof(f->err)),
			 0);
	assert_string_equal(prop(f, "dvm", "default_user"), "alice (default)");
	assert_int_equal(store_prop_reset(f->s, "debian-12", "default_user",
					  f->err, sizeof(f->err)),
			 0);
	assert_string_equal(prop(f, "work", "default_user"), "user (default)");
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(store_prop_set(f->s, "work", "default_user",
						bad[i], f->err,
						sizeof(f->err)),
				 -EINVAL);
		assert_non_null(strstr(f->err, "default_user must be a user "
						"name"));
	}
	assert_string_equal(prop(f, "work", "default_user"), "user (default)");
	set_ok(f, "work", "default_user", "abcdefghijklmnopqrstuvwxyz012345");
}

/* ---- features and tags ---- */

static void test_features(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	char v[STORE_FEATURE_VALUE_MAX + 2];
	const char *sqlish = "x'); DROP TABLE qubes; --";

	populate(f);
	assert_int_equal(store_feature_set(f->s, "work", "gui", "1", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_set(f->s, "work", "os", "Linux",
					   f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_set(f->s, "work", "vm-config.x",
					   sqlish, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_set(f->s, "work", "gui", "", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_get(f->s, "work", "vm-config.x", v,
					   sizeof(v), f->err, sizeof(f->err)),
			 0);
	assert_string_equal(v, sqlish);
	assert_int_equal(store_feature_list(f->s, "work", on_kv, &s, f->err,
					    sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "gui= os=Linux vm-config.x=x'); DROP "
				    "TABLE qubes; --");
	assert_int_equal(store_feature_unset(f->s, "work", "os", f->err,
					     sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_get(f->s, "work", "os", v, sizeof(v),
					   f->err, sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "qube 'work' has no feature os");
	assert_int_equal(store_feature_unset(f->s, "work", "os", f->err,
					     sizeof(f->err)),
			 -ENOENT);
	/* Features are per qube. */
	assert_int_equal(store_feature_get(f->s, "personal", "gui", v,
					   sizeof(v), f->err, sizeof(f->err)),
			 -ENOENT);
	/* Bad keys and values. */
	assert_int_equal(store_feature_set(f->s, "work", "", "1", f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "feature names are 1 to 64 characters of "
				    "letters, digits, _ . -");
	assert_int_equal(store_feature_set(f->s, "work", "a b", "1", f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_feature_set(f->s, "work", "gui", "a\nb",
					   f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_feature_set(f->s, "work", "gui", NULL, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	memset(v, 'v', sizeof(v));
	v[STORE_FEATURE_VALUE_MAX] = '\0';
	assert_int_equal(store_feature_set(f->s, "work", "big", v, f->err,
					   sizeof(f->err)),
			 0);
	v[STORE_FEATURE_VALUE_MAX] = 'v';
	v[STORE_FEATURE_VALUE_MAX + 1] = '\0';
	assert_int_equal(store_feature_set(f->s, "work", "big", v, f->err,
					   sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_feature_set(f->s, "nope", "gui", "1", f->err,
					   sizeof(f->err)),
			 -ENOENT);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qubes"), 4);
}

static void test_tags(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };

	populate(f);
	assert_int_equal(store_tag_add(f->s, "work", "zeta", f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_add(f->s, "work", "audio-vm", f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_add(f->s, "work", "zeta", f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_list(f->s, "work", on_name, &s, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "audio-vm zeta");
	assert_int_equal(store_tag_remove(f->s, "work", "zeta", f->err,
					  sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_remove(f->s, "work", "zeta", f->err,
					  sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "qube 'work' has no tag zeta");
	assert_int_equal(store_tag_add(f->s, "work", "@tag", f->err,
				       sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "tags are 1 to 64 characters of letters, "
				    "digits, _ . -");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_tag_list(f->s, "personal", on_name, &s, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(s.n, 0);
}

/* Removing a qube takes its properties, features and tags with it. */
static void test_cascade(void **state)
{
	struct fx *f = *state;
	char sql[128];
	struct qube_info q;
	long long others;

	populate(f);
	set_ok(f, "work", "memory", "800");
	set_ok(f, "work", "autostart", "True");
	assert_int_equal(store_feature_set(f->s, "work", "gui", "1", f->err,
					   sizeof(f->err)),
			 0);
	assert_int_equal(store_tag_add(f->s, "work", "t1", f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(store_feature_set(f->s, "personal", "gui", "1",
					   f->err, sizeof(f->err)),
			 0);
	assert_int_equal(store_qube_get(f->s, "work", &q, f->err,
					sizeof(f->err)),
			 0);
	others = q_int(f, "SELECT count(*) FROM qube_props WHERE qube_id IN "
			  "(SELECT id FROM qubes WHERE name != 'work')");
	assert_int_equal(store_qube_remove(f->s, "work", f->err,
					   sizeof(f->err)),
			 0);
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM qube_props WHERE qube_id = "
		 "%lld) + (SELECT count(*) FROM features WHERE qube_id = "
		 "%lld)",
		 (long long)q.id, (long long)q.id);
	assert_int_equal(q_int(f, sql), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM tags WHERE qube_id = %lld",
		 (long long)q.id);
	assert_int_equal(q_int(f, sql), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM qube_props"), others);
	assert_int_equal(q_int(f, "SELECT count(*) FROM features"), 1);
}

/* ---- global preferences ---- */

static void test_globals(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	char v[64];
	int d = -1;

	populate(f);
	assert_int_equal(store_global_get(f->s, "default_template", v,
					  sizeof(v), &d, f->err,
					  sizeof(f->err)),
			 0);
	assert_string_equal(v, "");
	assert_int_equal(d, 1);
	global_ok(f, "default_template", "debian-12");
	assert_int_equal(store_global_get(f->s, "default_template", v,
					  sizeof(v), &d, f->err,
					  sizeof(f->err)),
			 0);
	assert_string_equal(v, "debian-12");
	assert_int_equal(d, 0);
	assert_int_equal(store_global_set(f->s, "default_template", "work",
					  f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "default_template must name a TemplateVM, "
				    "not the AppVM 'work'");
	assert_int_equal(store_global_set(f->s, "default_template", "nope",
					  f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_global_set(f->s, "default_dispvm", "vault",
					  f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_global_set(f->s, "default_kernel", "../x",
					  f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(store_global_set(f->s, "memory", "800", f->err,
					  sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "there is no global preference memory");
	assert_int_equal(store_global_get(f->s, "x\ny", v, sizeof(v), &d,
					  f->err, sizeof(f->err)),
			 -ENOENT);
	assert_string_equal(f->err, "there is no global preference of that "
				    "name");
	assert_string_equal(q_text(f, "SELECT value FROM global_prefs WHERE "
				      "name = 'default_template'"),
			    "debian-12");
	global_ok(f, "default_kernel", "6.1.0");
	assert_int_equal(store_global_list(f->s, on_prop, &s, f->err,
					   sizeof(f->err)),
			 0);
	assert_string_equal(s.text, "default_template=debian-12 "
				    "default_dispvm=* default_netvm=* "
				    "default_kernel=6.1.0");
	assert_int_equal(store_global_reset(f->s, "default_template", f->err,
					    sizeof(f->err)),
			 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM global_prefs"), 1);
}

/* ---- misuse ---- */

static int reenter(void *arg, const struct qube_info *q)
{
	struct fx *f = arg;
	char err[128];

	assert_int_equal(store_prop_set(f->s, q->name, "memory", "800", err,
					sizeof(err)),
			 -EDEADLK);
	assert_int_equal(store_qube_get(f->s, q->name, (struct qube_info *)q,
					err, sizeof(err)),
			 -EDEADLK);
	return 0;
}

static void test_reentry_refused(void **state)
{
	struct fx *f = *state;

	populate(f);
	assert_int_equal(store_qube_list(f->s, reenter, f, f->err,
					 sizeof(f->err)),
			 0);
	/* And the store works again afterwards. */
	set_ok(f, "work", "memory", "800");
	assert_string_equal(prop(f, "work", "memory"), "800");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrates_from_empty),
		T(test_pragmas),
		T(test_foreign_keys_enforced),
		T(test_reopen_keeps_data),
		T(test_newer_schema_refused),
		T(test_not_a_database),
		T(test_symlink_refused),
		T(test_create_list_remove),
		T(test_get_invalid_name),
		T(test_duplicate_name),
		T(test_disposable_names_collide),
		T(test_ids_grow_into_disposables_range),
		T(test_ids_exhausted),
		T(test_migration_renumbers_high_ids),
		T(test_uuid_created),
		T(test_uuid_clone),
		T(test_uuid_migration),
		T(test_missing_template),
		T(test_bad_create_writes_nothing),
		T(test_create_with_props),
		T(test_failed_write_rolls_back),
		T(test_remove_template_in_use),
		T(test_dispvm_records),
		T(test_remove_referenced),
		T(test_remove_many_users),
		T(test_remove_running),
		T(test_power_state),
		T(test_prop_set_get_reset),
		T(test_prop_errors),
		T(test_template_change),
		T(test_defaults_from_globals),
		T(test_memory_limit_from_host),
		T(test_netvm_loops),
		T(test_prop_list),
		T(test_default_user),
		T(test_features),
		T(test_tags),
		T(test_cascade),
		T(test_globals),
		T(test_reentry_refused),
	};
#undef T

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
