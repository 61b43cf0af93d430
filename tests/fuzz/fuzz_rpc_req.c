/* libFuzzer target: bh_call_req_parse and bh_service_req_parse on raw
 * bytes, as the daemon receives a call request (BH_MSG_CALL, and the agent
 * on its call socket) and the agent a service request (BH_MSG_SERVICE).
 *
 * The input is the whole payload, given to both parsers, each time as a
 * heap copy of exactly that length so that ASan catches any read past its
 * end. On success every field must be NUL-terminated inside its array and
 * pass its own syntax check, encoding the result must give back exactly
 * the input bytes, and parsing that encoding must give an identical
 * struct. On failure the parser must say -EPROTO. The input, cut at its
 * first NUL, also goes to bh_rpc_split_service, whose result must agree
 * with the field checks. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "proto/rpc_req.h"

#include "fuzz_common.h"

/* The longest encodings: service request (4 fields) and call request. */
#define SVC_REQ_MAX (BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + BH_RPC_QUBE_MAX + \
		     BH_RPC_USER_MAX + 4)
#define CALL_REQ_MAX (BH_RPC_TARGET_MAX + BH_RPC_SERVICE_MAX + \
		      BH_RPC_ARG_MAX + 3)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	return 0;
}

static uint8_t *copy_of(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	if (p && size)
		memcpy(p, data, size);
	return p;
}

/* A field's length, checking that its NUL is inside its array. */
NO_COVERAGE
static size_t field_len(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	CHECK(n < cap);
	return n;
}

/* "SERVICE[+ARG]" of a call request, NUL-terminated. */
NO_COVERAGE
static void svc_arg_of(const struct bh_call_req *r, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s%s", r->service, r->has_arg ? "+" : "",
			 r->arg);

	CHECK(n >= 0 && (size_t)n < cap);
}

NO_COVERAGE
static void check_call(const struct bh_call_req *r, const uint8_t *data,
		       size_t size)
{
	char svc_arg[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2];
	struct bh_call_req again;
	uint8_t *enc, *copy;
	size_t tl = field_len(r->target, sizeof(r->target)),
	       sl = field_len(r->service, sizeof(r->service)),
	       al = field_len(r->arg, sizeof(r->arg));
	int n;

	CHECK(bh_rpc_target_ok(r->target, tl));
	CHECK(bh_rpc_service_ok(r->service, sl));
	CHECK(bh_rpc_arg_ok(r->arg, al));
	CHECK(r->has_arg == 0 || r->has_arg == 1);
	CHECK(r->has_arg || al == 0);
	CHECK(size <= CALL_REQ_MAX);

	/* Encoding gives back the input, in a buffer of exactly its size
	 * (and refuses one byte less). */
	svc_arg_of(r, svc_arg, sizeof(svc_arg));
	enc = malloc(size);
	if (!enc)
		return;
	n = bh_call_req_encode(enc, size, r->target, svc_arg);
	CHECK(n >= 0 && (size_t)n == size);
	CHECK(memcmp(enc, data, size) == 0);
	CHECK(bh_call_req_encode(enc, size - 1, r->target, svc_arg) == -E2BIG);
	n = bh_call_req_encode(enc, size, r->target, svc_arg);
	CHECK(n >= 0 && (size_t)n == size);

	/* ... and parses to an identical struct (both parses cleared it
	 * whole, padding included). */
	copy = copy_of(enc, size);
	if (copy) {
		memset(&again, 0x5a, sizeof(again));
		CHECK(bh_call_req_parse(copy, size, &again) == 0);
		CHECK(memcmp(&again, r, sizeof(again)) == 0);
		free(copy);
	}
	free(enc);
}

NO_COVERAGE
static void check_service(const struct bh_service_req *r, const uint8_t *data,
			  size_t size)
{
	struct bh_service_req again;
	uint8_t *enc, *copy;
	size_t sl = field_len(r->service, sizeof(r->service)),
	       al = field_len(r->arg, sizeof(r->arg)),
	       ol = field_len(r->source, sizeof(r->source)),
	       ul = field_len(r->user, sizeof(r->user));
	int n;

	CHECK(bh_rpc_service_ok(r->service, sl));
	CHECK(bh_rpc_arg_ok(r->arg, al));
	CHECK(bh_rpc_qube_ok(r->source, ol));
	CHECK(ul == 0 || bh_rpc_user_ok(r->user, ul));
	CHECK(size == sl + al + ol + ul + 4);
	CHECK(size <= SVC_REQ_MAX);

	enc = malloc(size);
	if (!enc)
		return;
	n = bh_service_req_encode(enc, size, r);
	CHECK(n >= 0 && (size_t)n == size);
	CHECK(memcmp(enc, data, size) == 0);
	CHECK(bh_service_req_encode(enc, size - 1, r) == -E2BIG);
	n = bh_service_req_encode(enc, size, r);
	CHECK(n >= 0 && (size_t)n == size);

	copy = copy_of(enc, size);
	if (copy) {
		memset(&again, 0x5a, sizeof(again));
		CHECK(bh_service_req_parse(copy, size, &again) == 0);
		CHECK(memcmp(&again, r, sizeof(again)) == 0);
		free(copy);
	}
	free(enc);
}

/* The input up to its first NUL (at most a little over the longest valid
 * SERVICE+ARG) as a string for bh_rpc_split_service. */
NO_COVERAGE
static void check_split(const uint8_t *data, size_t size)
{
	enum { CAP = BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 8 };
	const uint8_t *nul = memchr(data, '\0', size);
	size_t len = nul ? (size_t)(nul - data) : size;
	const char *plus;
	struct bh_call_req r;
	char *s;
	int ret, want;

	if (len > CAP)
		len = CAP;
	s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, data, len);
	s[len] = '\0';
	/* What split must answer, from the field checks alone. */
	plus = memchr(s, '+', len);
	if (plus)
		want = bh_rpc_service_ok(s, (size_t)(plus - s)) &&
		       bh_rpc_arg_ok(plus + 1, len - (size_t)(plus - s) - 1);
	else
		want = bh_rpc_service_ok(s, len);
	memset(&r, 0xa5, sizeof(r));
	ret = bh_rpc_split_service(s, &r);
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK((ret == 0) == want);
	if (ret == 0) {
		size_t sl = field_len(r.service, sizeof(r.service));
		size_t al = field_len(r.arg, sizeof(r.arg));

		CHECK(r.has_arg == (plus != NULL));
		CHECK(sl == (plus ? (size_t)(plus - s) : len));
		CHECK(memcmp(r.service, s, sl) == 0);
		CHECK(plus ? al == len - sl - 1 && memcmp(r.arg, plus + 1, al) == 0
			   : al == 0);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bh_call_req call;
	struct bh_service_req svc;
	uint8_t *copy = copy_of(data, size);
	int r;

	if (!copy)
		return 0;
	memset(&call, 0xa5, sizeof(call));
	r = bh_call_req_parse(copy, size, &call);
	CHECK(r == 0 || r == -EPROTO);
	if (r == 0)
		check_call(&call, data, size);

	memcpy(copy, data, size);
	memset(&svc, 0xa5, sizeof(svc));
	r = bh_service_req_parse(copy, size, &svc);
	CHECK(r == 0 || r == -EPROTO);
	if (r == 0)
		check_service(&svc, data, size);
	free(copy);

	check_split(data, size);
	return 0;
}
