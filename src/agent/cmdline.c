#include "agent/cmdline.h"

#include <errno.h>
#include <string.h>

static int value_ok(const char *v, size_t n, size_t cap)
{
	size_t i;

	if (n == 0 || n >= cap)
		return 0;
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '/' || c == '-'))
			return 0;
	}
	return 1;
}

static int set_str(char *dst, size_t cap, const char *v, size_t n)
{
	if (!value_ok(v, n, cap))
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int agent_cmdline_parse(const char *line, size_t len, struct agent_config *cfg)
{
	size_t i = 0;

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, "bulkhead");
	strcpy(cfg->port, "bulkhead.control");
	while (i < len) {
		size_t start, klen, vlen;
		const char *word, *eq;
		int r = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\n' ||
				   line[i] == '\t' || line[i] == '\0'))
			i++;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\n' &&
		       line[i] != '\t' && line[i] != '\0')
			i++;
		if (i == start)
			break;
		word = line + start;
		if (i - start < 3 || memcmp(word, "bh.", 3) != 0)
			continue;
		eq = memchr(word, '=', i - start);
		if (!eq)
			return -EINVAL;
		klen = (size_t)(eq - word);
		vlen = i - start - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(word, k, klen) == 0)
		if (KEY("bh.name"))
			r = set_str(cfg->name, sizeof(cfg->name), eq + 1, vlen);
		else if (KEY("bh.root"))
			r = set_str(cfg->root_dev, sizeof(cfg->root_dev),
				    eq + 1, vlen);
		else if (KEY("bh.private"))
			r = set_str(cfg->private_dev, sizeof(cfg->private_dev),
				    eq + 1, vlen);
		else if (KEY("bh.port"))
			r = set_str(cfg->port, sizeof(cfg->port), eq + 1, vlen);
		else if (KEY("bh.disposable"))
			cfg->disposable = vlen == 1 && eq[1] == '1';
		else if (KEY("bh.rootrw"))
			cfg->root_rw = vlen == 1 && eq[1] == '1';
		else if (KEY("bh.trace"))
			cfg->trace = vlen == 1 && eq[1] == '1';
		else if (KEY("bh.init")) {
			/* Only systemd is known; a typo must not boot a
			 * qube without the init its user asked for. */
			if (vlen != 7 || memcmp(eq + 1, "systemd", 7) != 0)
				return -EINVAL;
			cfg->init_systemd = 1;
		} else if (KEY("bh.bench"))
			cfg->bench_poweroff =
				vlen == 8 && memcmp(eq + 1, "poweroff", 8) == 0;
		else
			return -EINVAL; /* a bh.* key we do not know */
#undef KEY
		if (r < 0)
			return r;
	}
	return 0;
}
