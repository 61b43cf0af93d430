/* Unit tests of src/agent/spawn.c with real processes: a command runs
 * with its three pipes, its status and errors come back exactly as
 * execvpe's rules say (PATH of the command's own environment, 127 not
 * found, 126 not executable, a script without "#!" under /bin/sh), and
 * an unknown user is refused before anything runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/spawn.h"
#include "lib/util.h"
#include "proto/frame.h"

struct fx {
	char dir[PATH_MAX];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bh-spawn.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	bh_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Runs argv (with env, may be NULL) and returns spawn_command's result;
 * on success collects stdout into out and the exit status into *st. */
static int run(char **argv, char **env, const char *user, char *out,
	       size_t cap, int *st)
{
	struct bh_exec_req req = { 0 };
	struct spawned sp;
	size_t n = 0;
	int r;

	while (argv[req.argc])
		req.argc++;
	while (env && env[req.envc])
		req.envc++;
	req.argv = argv;
	req.envp = env ? env : (char *[]){ NULL };
	r = spawn_command(&req, user, &sp);
	if (r < 0)
		return r;
	close(sp.in_fd);
	bh_set_nonblock(sp.out_fd, 0);
	for (;;) {
		ssize_t k = read(sp.out_fd, out + n, cap - 1 - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(sp.out_fd);
	close(sp.err_fd);
	assert_int_equal(waitpid(sp.pid, st, 0), sp.pid);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_runs_with_pipes(void **state)
{
	char out[256];
	int st = -1;

	(void)state;
	assert_int_equal(run((char *[]){ "sh", "-c", "echo hi; exit 7", NULL },
			     NULL, NULL, out, sizeof(out), &st),
			 0);
	assert_string_equal(out, "hi\n");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
}

static void test_not_found(void **state)
{
	char out[16];
	int st;

	(void)state;
	assert_int_equal(run((char *[]){ "bh-no-such-command", NULL }, NULL,
			     NULL, out, sizeof(out), &st),
			 -BH_NOSTART_NOTFOUND);
	assert_int_equal(run((char *[]){ "/nonexistent/x", NULL }, NULL, NULL,
			     out, sizeof(out), &st),
			 -BH_NOSTART_NOTFOUND);
}

static void test_not_executable(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16], out[16];
	int st;

	snprintf(path, sizeof(path), "%s/plain", f->dir);
	write_file(path, "data\n", 0644);
	assert_int_equal(run((char *[]){ path, NULL }, NULL, NULL, out,
			     sizeof(out), &st),
			 -BH_NOSTART_NOEXEC);
}

static void test_path_of_the_command(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16], env[PATH_MAX + 8], out[64];
	int st = -1;

	snprintf(path, sizeof(path), "%s/bh-test-tool", f->dir);
	write_file(path, "#!/bin/sh\necho from-path\n", 0755);
	snprintf(env, sizeof(env), "PATH=%s", f->dir);
	assert_int_equal(run((char *[]){ "bh-test-tool", NULL },
			     (char *[]){ env, NULL }, NULL, out, sizeof(out),
			     &st),
			 0);
	assert_string_equal(out, "from-path\n");
	/* Not on the default PATH. */
	assert_int_equal(run((char *[]){ "bh-test-tool", NULL }, NULL, NULL,
			     out, sizeof(out), &st),
			 -BH_NOSTART_NOTFOUND);
}

static void test_script_without_shebang(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16], out[64];
	int st = -1;

	snprintf(path, sizeof(path), "%s/noshebang", f->dir);
	write_file(path, "echo ran-by-sh \"$1\"\n", 0755);
	assert_int_equal(run((char *[]){ path, "arg", NULL }, NULL, NULL, out,
			     sizeof(out), &st),
			 0);
	assert_string_equal(out, "ran-by-sh arg\n");
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_unknown_user_refused(void **state)
{
	char out[16];
	int st;

	(void)state;
	assert_int_equal(run((char *[]){ "true", NULL }, NULL,
			     "bh-no-such-user", out, sizeof(out), &st),
			 -BH_NOSTART_NOUSER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_with_pipes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test_setup_teardown(test_not_executable, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_path_of_the_command,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_script_without_shebang,
						fx_setup, fx_teardown),
		cmocka_unit_test(test_unknown_user_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
