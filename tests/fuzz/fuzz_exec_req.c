/* libFuzzer target: bh_exec_req_parse on raw bytes, as the agent receives
 * them in BH_MSG_EXEC (and the daemon in BH_MSG_RUN_DISPVM).
 *
 * The input is the whole payload. The parser gets a heap copy of exactly
 * that length so that ASan catches any read past its end. On success the
 * request must be well formed (argc >= 1, NULL-terminated vectors, every
 * string inside the parser's storage, valid environment entries) and
 * re-encoding it must give back exactly the input bytes. On failure the
 * request must hold nothing. bh_exec_req_add_user, run on each valid
 * request, must give one that parses. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "proto/exec_req.h"
#include "proto/frame.h"

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	return 0;
}

/* A string of the request must start and end (NUL included) inside the
 * storage the parser allocated for len - 8 string bytes. */
NO_COVERAGE
static size_t check_string(const char *s, const char *storage,
			   size_t strings_len)
{
	size_t n;

	CHECK(s != NULL);
	CHECK(s >= storage && s < storage + strings_len);
	n = strnlen(s, (size_t)(storage + strings_len - s));
	CHECK(s + n < storage + strings_len); /* its NUL is inside */
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bh_exec_req req;
	uint8_t *copy, *enc;
	size_t strings_len, total = 0, n;
	const char *expect;
	uint32_t i;
	int r;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	memset(&req, 0xa5, sizeof(req)); /* parse must set every field */
	r = bh_exec_req_parse(copy, size, &req);
	if (r < 0) {
		CHECK(r == -EPROTO || r == -ENOMEM);
		CHECK(req.argv == NULL && req.envp == NULL &&
		      req.storage == NULL && req.argc == 0 && req.envc == 0);
		bh_exec_req_free(&req); /* must be harmless */
		free(copy);
		return 0;
	}
	CHECK(r == 0);
	CHECK(size >= 8 && size <= BH_FRAME_MAX_PAYLOAD);
	strings_len = size - 8;
	CHECK(req.argc >= 1 && req.argc <= BH_EXEC_MAX_ARGS);
	CHECK(req.envc <= BH_EXEC_MAX_ENV);
	CHECK(req.argc == bh_get_u32(data) && req.envc == bh_get_u32(data + 4));
	CHECK(req.argv != NULL && req.envp != NULL && req.storage != NULL);
	CHECK(req.argv[req.argc] == NULL);
	CHECK(req.envp[req.envc] == NULL);
	CHECK(req.argv[0][0] != '\0');

	/* Strings are laid end to end in storage, argv then envp, and their
	 * bytes are the input's. */
	expect = req.storage;
	for (i = 0; i < req.argc + req.envc; i++) {
		const char *s = i < req.argc ? req.argv[i]
					     : req.envp[i - req.argc];

		n = check_string(s, req.storage, strings_len);
		CHECK(s == expect);
		CHECK(memchr(s, '\0', n) == NULL);
		CHECK(memcmp(s, data + 8 + (size_t)(s - req.storage), n + 1) ==
		      0);
		if (i >= req.argc)
			CHECK(bh_env_entry_valid(s, n));
		total += n + 1;
		expect = s + n + 1;
	}
	CHECK(total == strings_len);

	/* Round trip: the encoder, given what the parser found, produces the
	 * input again. The buffer is exactly the input's size. */
	enc = malloc(size);
	if (enc) {
		r = bh_exec_req_encode(enc, size, req.argv, req.envp);
		CHECK(r >= 0 && (size_t)r == size);
		CHECK(memcmp(enc, data, size) == 0);
		free(enc);
	}
	/* The daemon adds the qube's default_user to a valid request
	 * (bh_exec_req_add_user): the result parses, with that entry
	 * unless one was there, and stays within a frame. */
	enc = malloc(BH_FRAME_MAX_PAYLOAD);
	if (enc) {
		struct bh_exec_req with;

		r = bh_exec_req_add_user(copy, size, "user", enc,
					 BH_FRAME_MAX_PAYLOAD);
		CHECK(r == -E2BIG || r == -ENOMEM || r > 0);
		if (r > 0 && bh_exec_req_parse(enc, (size_t)r, &with) == 0) {
			CHECK(with.argc == req.argc);
			CHECK(with.envc == req.envc ||
			      (with.envc == req.envc + 1 &&
			       !strcmp(with.envp[req.envc],
				       BH_RUN_USER_ENV "user")));
			bh_exec_req_free(&with);
		} else {
			CHECK(r <= 0);
		}
		free(enc);
	}
	bh_exec_req_free(&req);
	CHECK(req.argv == NULL && req.storage == NULL);
	free(copy);
	return 0;
}
