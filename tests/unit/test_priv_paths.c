/* Unit tests of src/daemon/priv/priv_paths.c: control names a qube's
 * files (kernel version, root image's kind, owner and file), priv turns
 * the names back into paths under its own folders, and refuses to hand
 * a qube's uid anything but a plain file in a real folder: a symbolic
 * link or a hard link planted where an image belongs would otherwise
 * turn priv's chown onto another file of the host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/priv/priv_paths.h"
#include "lib/util.h"

static char top[PATH_MAX], state[PATH_MAX], run[PATH_MAX], images[PATH_MAX];

/* base/rest into p (PATH_MAX bytes). */
static void at(char *p, const char *base, const char *rest)
{
	assert_int_equal(bh_path_fmt(p, PATH_MAX, "%s/%s", base, rest), 0);
}

static void touch(const char *base, const char *rest)
{
	char p[PATH_MAX];
	int fd;

	at(p, base, rest);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void dir(const char *base, const char *rest)
{
	char p[PATH_MAX];

	at(p, base, rest);
	assert_int_equal(bh_mkdir_p(p, 0755), 0);
}

/* STATE with the kernels and the template "minimal" linked in from
 * elsewhere (as the tests' roots are), a template "tpl" of its own, a
 * qube "work" with a private volume and a runtime folder for it. */
static int setup(void **st)
{
	char p[PATH_MAX], q[PATH_MAX];

	(void)st;
	snprintf(top, sizeof(top), "/tmp/bh-priv-paths.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	at(state, top, "state");
	at(run, top, "run");
	at(images, top, "images");
	dir(images, "kernels/6.1.0-1");
	touch(images, "kernels/6.1.0-1/vmlinuz");
	touch(images, "kernels/6.1.0-1/initramfs.img");
	dir(images, "templates/minimal");
	touch(images, "templates/minimal/root-2.img");
	dir(state, "templates/tpl");
	touch(state, "templates/tpl/root-3.img");
	dir(state, "qubes/work");
	touch(state, "qubes/work/private.img");
	touch(state, "qubes/work/root.img");
	dir(run, "qubes/work");
	touch(run, "qubes/work/private.img");
	at(p, images, "kernels");
	at(q, state, "kernels");
	assert_int_equal(symlink(p, q), 0);
	at(p, images, "templates/minimal");
	at(q, state, "templates/minimal");
	assert_int_equal(symlink(p, q), 0);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	return bh_rm_rf(top) < 0 ? -1 : 0;
}

static void test_kver_of(void **st)
{
	char p[PATH_MAX], k[BH_PRIV_KVER_MAX];

	(void)st;
	at(p, state, "kernels/6.12.0+deb13-amd64/vmlinuz");
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), 0);
	assert_string_equal(k, "6.12.0+deb13-amd64");
	at(p, state, "kernels/6.1/initramfs.img");
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
	at(p, state, "kernels/../x/vmlinuz");
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
	at(p, state, "kernels/a/b/vmlinuz");
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
	at(p, state, "kernels//vmlinuz");
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
	assert_int_equal(bh_path_fmt(p, sizeof(p), "%sX/kernels/6.1/vmlinuz", state), 0);
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
	assert_int_equal(priv_kver_of(state, "/boot/vmlinuz", k, sizeof(k)),
			 -EINVAL);
	/* Longer than LAUNCH's field. */
	assert_int_equal(bh_path_fmt(p, sizeof(p), "%s/kernels/%064d/vmlinuz", state, 1), 0);
	assert_int_equal(priv_kver_of(state, p, k, sizeof(k)), -EINVAL);
}

static void test_root_of(void **st)
{
	char p[PATH_MAX], o[BH_PRIV_NAME_MAX], f[BH_PRIV_FILE_MAX];
	uint32_t kind;

	(void)st;
	at(p, state, "templates/debian-12/root-4.img");
	assert_int_equal(priv_root_of(state, p, &kind, o, sizeof(o), f,
				      sizeof(f)),
			 0);
	assert_int_equal(kind, BH_PRIV_ROOT_TEMPLATE);
	assert_string_equal(o, "debian-12");
	assert_string_equal(f, "root-4.img");
	at(p, state, "qubes/work/root.img");
	assert_int_equal(priv_root_of(state, p, &kind, o, sizeof(o), f,
				      sizeof(f)),
			 0);
	assert_int_equal(kind, BH_PRIV_ROOT_QUBE);
	assert_string_equal(o, "work");
	assert_string_equal(f, "root.img");
	/* Not one owner and one plain file under templates or qubes. */
	const char *bad[] = { "templates/a/b/root.img",
			      "templates/root.img",
			      "templates/../root.img",
			      "templates/a/.hidden",
			      "templates/-x/root.img",
			      "templates/1a/root.img",
			      "kernels/a/root.img",
			      "qubes/work/",
			      "qubes/w k/root.img" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		at(p, state, bad[i]);
		assert_int_equal(priv_root_of(state, p, &kind, o, sizeof(o), f,
					      sizeof(f)),
				 -EINVAL);
	}
}

static void launch_of(struct bh_priv_launch *l, const char *owner,
		      const char *file, uint32_t kind, uint32_t flags,
		      uint32_t private_kind)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->name, "work");
	strcpy(l->kver, "6.1.0-1");
	l->root_kind = kind;
	strcpy(l->root_owner, owner);
	strcpy(l->root_file, file);
	l->flags = flags;
	l->private_kind = private_kind;
}

static void test_files_for_resolves(void **st)
{
	struct bh_priv_launch l;
	struct priv_files f;
	char err[512], want[PATH_MAX];

	(void)st;
	/* An AppVM of the linked template: read-only files resolved. */
	launch_of(&l, "minimal", "root-2.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_STATE);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 0);
	at(want, images, "kernels/6.1.0-1/vmlinuz");
	assert_string_equal(f.kernel, want);
	at(want, images, "templates/minimal/root-2.img");
	assert_string_equal(f.root, want);
	at(want, state, "qubes/work/private.img");
	assert_string_equal(f.private_img, want);
	at(want, run, "qubes/work");
	assert_string_equal(f.run_dir, want);
	/* A StandaloneVM: its own root, written. */
	launch_of(&l, "work", "root.img", BH_PRIV_ROOT_QUBE,
		  BH_PRIV_ROOT_WRITABLE, BH_PRIV_PRIVATE_NONE);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 0);
	at(want, state, "qubes/work/root.img");
	assert_string_equal(f.root, want);
	assert_string_equal(f.private_img, "");
	/* A disposable's copy in its runtime folder. */
	launch_of(&l, "minimal", "root-2.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_RUN);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 0);
	at(want, run, "qubes/work/private.img");
	assert_string_equal(f.private_img, want);
}

static void test_files_for_missing(void **st)
{
	struct bh_priv_launch l;
	struct priv_files f;
	char err[512];

	(void)st;
	launch_of(&l, "minimal", "root-9.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_NONE);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "root-9.img"));
	launch_of(&l, "minimal", "root-2.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_NONE);
	strcpy(l.kver, "9.9");
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "guest kernel"));
}

/* A file a qube writes that is a link (symbolic or hard) or sits in a
 * folder that is a link is refused: priv would chown its target. */
static void test_files_for_refuses_links(void **st)
{
	struct bh_priv_launch l;
	struct priv_files f;
	char err[512], p[PATH_MAX], q[PATH_MAX];

	(void)st;
	launch_of(&l, "minimal", "root-2.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_STATE);
	at(p, state, "qubes/work/private.img");
	at(q, top, "secret");
	touch(top, "secret");
	/* A symbolic link. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "not a plain file"));
	/* A hard link. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(q, p), 0);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -EPERM);
	/* The qube's folder a link to another folder. */
	assert_int_equal(unlink(p), 0);
	at(p, state, "qubes/work");
	assert_int_equal(bh_rm_rf(p), 0);
	dir(top, "elsewhere");
	touch(top, "elsewhere/private.img");
	at(q, top, "elsewhere");
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -ENOTDIR);
	/* A writable root that is a link. */
	launch_of(&l, "tpl", "root-3.img", BH_PRIV_ROOT_TEMPLATE,
		  BH_PRIV_ROOT_WRITABLE, BH_PRIV_PRIVATE_NONE);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 0);
	at(p, state, "templates/tpl/root-3.img");
	assert_int_equal(unlink(p), 0);
	at(q, top, "secret");
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 -EPERM);
	/* Read-only, the same link is followed: the kernels and
	 * templates folders are root's. */
	launch_of(&l, "tpl", "root-3.img", BH_PRIV_ROOT_TEMPLATE, 0,
		  BH_PRIV_PRIVATE_NONE);
	assert_int_equal(priv_files_for(state, run, &l, &f, err, sizeof(err)),
			 0);
	assert_string_equal(f.root, q);
}

static void test_hand_file(void **st)
{
	char p[PATH_MAX], q[PATH_MAX], err[512];
	struct stat s;

	(void)st;
	at(p, state, "qubes/work/private.img");
	if (geteuid() != 0) {
		fprintf(stderr, "skip: test_hand_file needs root (chown)\n");
		skip();
	}
	assert_int_equal(priv_hand_file(p, 12345, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &s), 0);
	assert_int_equal(s.st_uid, 12345);
	assert_int_equal(s.st_gid, 12345);
	assert_int_equal(s.st_mode & 07777, 0600);
	/* Swapped for a link after the check: still not followed. */
	at(q, top, "secret");
	touch(top, "secret");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_true(priv_hand_file(p, 12345, err, sizeof(err)) < 0);
	assert_int_equal(stat(q, &s), 0);
	assert_int_equal(s.st_uid, 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(q, p), 0);
	assert_int_equal(priv_hand_file(p, 12345, err, sizeof(err)), -EPERM);
	assert_int_equal(stat(q, &s), 0);
	assert_int_equal(s.st_uid, 0);
}

/* A template's root version its TemplateVM wrote goes back to root,
 * readable by all; never through a link. */
static void test_hand_file_back(void **st)
{
	char p[PATH_MAX], q[PATH_MAX], err[512];
	struct stat s;

	(void)st;
	if (geteuid() != 0) {
		fprintf(stderr, "skip: test_hand_file_back needs root (chown)\n");
		skip();
	}
	at(p, state, "templates/tpl/root-3.img");
	assert_int_equal(priv_hand_file(p, 12345, err, sizeof(err)), 0);
	assert_int_equal(priv_hand_file_back(p, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &s), 0);
	assert_int_equal(s.st_uid, 0);
	assert_int_equal(s.st_gid, 0);
	assert_int_equal(s.st_mode & 07777, 0644);
	/* A link planted in its place: its target keeps its owner. */
	touch(top, "secret");
	at(q, top, "secret");
	assert_int_equal(chown(q, 12345, 12345), 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_true(priv_hand_file_back(p, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "back to root"));
	assert_int_equal(stat(q, &s), 0);
	assert_int_equal(s.st_uid, 12345);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kver_of),
		cmocka_unit_test_setup_teardown(test_root_of, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_for_resolves, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_files_for_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_files_for_refuses_links,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hand_file_back, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
