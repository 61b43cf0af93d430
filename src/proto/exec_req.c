/* Encoding and bounds-checked parsing of exec requests. */
#include "proto/exec_req.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bh_env_entry_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '=')
			return i > 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 0; /* no '=' */
}

static size_t count_strings(char *const v[])
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int bh_exec_req_encode(uint8_t *out, size_t cap, char *const argv[],
		       char *const envp[])
{
	size_t argc = count_strings(argv), envc = count_strings(envp);
	size_t off = 8, i;

	if (argc == 0 || argv[0][0] == '\0')
		return -EINVAL;
	if (argc > BH_EXEC_MAX_ARGS || envc > BH_EXEC_MAX_ENV)
		return -E2BIG;
	if (cap > BH_FRAME_MAX_PAYLOAD)
		cap = BH_FRAME_MAX_PAYLOAD;
	if (cap < off)
		return -E2BIG;
	bh_put_u32(out, (uint32_t)argc);
	bh_put_u32(out + 4, (uint32_t)envc);
	for (i = 0; i < argc + envc; i++) {
		const char *s = i < argc ? argv[i] : envp[i - argc];
		size_t n = strlen(s) + 1;

		if (i >= argc && !bh_env_entry_valid(s, n - 1))
			return -EINVAL;
		if (n > cap - off)
			return -E2BIG;
		memcpy(out + off, s, n);
		off += n;
	}
	return (int)off;
}

int bh_exec_req_parse(const uint8_t *untrusted_buf, size_t len,
		      struct bh_exec_req *req)
{
	uint32_t untrusted_argc, untrusted_envc, argc, envc, i;
	size_t off, strings_len;
	char *storage, **vec;

	memset(req, 0, sizeof(*req));
	/* sanitize start */
	if (len < 8 || len > BH_FRAME_MAX_PAYLOAD)
		return -EPROTO;
	untrusted_argc = bh_get_u32(untrusted_buf);
	untrusted_envc = bh_get_u32(untrusted_buf + 4);
	if (untrusted_argc < 1 || untrusted_argc > BH_EXEC_MAX_ARGS ||
	    untrusted_envc > BH_EXEC_MAX_ENV)
		return -EPROTO;
	argc = untrusted_argc;
	envc = untrusted_envc;
	strings_len = len - 8;
	/* Each string needs at least its NUL; the last byte must be a NUL so
	 * that no string runs past the end. */
	if (strings_len < (size_t)argc + envc ||
	    untrusted_buf[len - 1] != '\0')
		return -EPROTO;
	/* sanitize end for the counts; strings are checked while copying. */

	storage = malloc(strings_len);
	vec = calloc((size_t)argc + envc + 2, sizeof(*vec));
	if (!storage || !vec) {
		free(storage);
		free(vec);
		return -ENOMEM;
	}
	memcpy(storage, untrusted_buf + 8, strings_len);
	off = 0;
	for (i = 0; i < argc + envc; i++) {
		char *s = storage + off;
		size_t n;

		if (off >= strings_len)
			goto bad;
		n = strnlen(s, strings_len - off);
		if (n == strings_len - off) /* no NUL before the end */
			goto bad;
		if (i == 0 && n == 0)
			goto bad;
		if (i >= argc && !bh_env_entry_valid(s, n))
			goto bad;
		/* argv and envp share one array: argv[0..argc-1], NULL,
		 * envp[0..envc-1], NULL. */
		vec[i < argc ? i : i + 1] = s;
		off += n + 1;
	}
	if (off != strings_len) /* bytes after the last string */
		goto bad;
	req->argc = argc;
	req->envc = envc;
	req->argv = vec;
	req->envp = vec + argc + 1;
	req->storage = storage;
	return 0;
bad:
	free(storage);
	free(vec);
	return -EPROTO;
}

void bh_exec_req_free(struct bh_exec_req *req)
{
	free(req->argv);
	free(req->storage);
	memset(req, 0, sizeof(*req));
}

int bh_exec_req_add_user(const uint8_t *req, size_t len, const char *user,
			 uint8_t *out, size_t cap)
{
	char entry[sizeof(BH_RUN_USER_ENV) + 64];
	struct bh_exec_req r;
	char **envp;
	uint32_t i;
	int n;

	if (!user[0] || strchr(user, '=') ||
	    strlen(user) + sizeof(BH_RUN_USER_ENV) > sizeof(entry))
		return -EINVAL;
	if (bh_exec_req_parse(req, len, &r) < 0)
		return -EPROTO;
	for (i = 0; i < r.envc; i++) {
		if (strncmp(r.envp[i], BH_RUN_USER_ENV,
			    strlen(BH_RUN_USER_ENV)))
			continue;
		bh_exec_req_free(&r);
		if (len > cap)
			return -E2BIG;
		memcpy(out, req, len);
		return (int)len;
	}
	envp = calloc((size_t)r.envc + 2, sizeof(*envp));
	if (!envp) {
		bh_exec_req_free(&r);
		return -ENOMEM;
	}
	memcpy(envp, r.envp, r.envc * sizeof(*envp));
	snprintf(entry, sizeof(entry), "%s%s", BH_RUN_USER_ENV, user);
	envp[r.envc] = entry;
	n = bh_exec_req_encode(out, cap, r.argv, envp);
	free(envp);
	bh_exec_req_free(&r);
	return n;
}
