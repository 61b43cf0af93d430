#include "daemon/store/qube_name.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

/* Words that mean something else where a qube name goes: the admin
 * domain (under both its names) and the keywords of `qvm-prefs` and
 * policy files. Compared without case, unlike Qubes, so that no qube can
 * pass for the admin domain in a window title ("[DOM0] ..."). */
static const char *const reserved[] = { "dom0", "Domain-0", "none",
					"default" };

/* Plain ASCII tests: isalpha() and friends follow the locale. */
static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(char c)
{
	return is_letter(c) || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '-';
}

static int fail(char *err, size_t cap, const char *msg)
{
	if (cap)
		snprintf(err, cap, "%s", msg);
	return -EINVAL;
}

int qube_name_check(const char *untrusted_name, char *err, size_t cap)
{
	size_t i, len = 0;

	if (!untrusted_name)
		return fail(err, cap, "qube names are 1 to 31 characters");
	/* Bounded: never run far past the limit on hostile input. */
	while (len <= QUBE_NAME_MAX && untrusted_name[len])
		len++;
	if (len == 0 || len > QUBE_NAME_MAX)
		return fail(err, cap, "qube names are 1 to 31 characters");
	if (!is_letter(untrusted_name[0]))
		return fail(err, cap, "qube names must start with a letter");
	for (i = 1; i < len; i++)
		if (!is_name_char(untrusted_name[i]))
			return fail(err, cap,
				    "qube names may contain only letters, "
				    "digits, _ . -");
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcasecmp(untrusted_name, reserved[i]))
			continue;
		if (cap)
			snprintf(err, cap, "'%s' is reserved", reserved[i]);
		return -EINVAL;
	}
	/* Qubes names a qube's device-model stub domain NAME-dm; the suffix
	 * stays reserved so that names move between the two systems. */
	if (len >= 3 && !strcasecmp(untrusted_name + len - 3, "-dm"))
		return fail(err, cap, "names ending in -dm are reserved");
	return 0;
}

int qube_name_is_disposable(const char *name)
{
	size_t i;

	if (!name || strncasecmp(name, "disp", 4) || !name[4])
		return 0;
	for (i = 4; name[i]; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	return 1;
}

int qube_name_check_new(const char *untrusted_name, char *err, size_t cap)
{
	int r = qube_name_check(untrusted_name, err, cap);

	if (r < 0)
		return r;
	if (qube_name_is_disposable(untrusted_name))
		return fail(err, cap,
			    "names of the form dispN (disp and digits) are "
			    "kept for disposables; choose another name");
	return 0;
}
