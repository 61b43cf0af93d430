/* bh volume list NAME | bh volume resize NAME private SIZE: a qube's
 * volumes (admin.vm.volume.List, .Resize). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "daemon/disk/volume.h"
#include "proto/exitcodes.h"

void cmd_volume_help(FILE *f)
{
	fprintf(f,
		"usage: bh volume list NAME\n"
		"       bh volume resize NAME private SIZE\n"
		"\n"
		"list shows qube NAME's volumes, one a line: NAME size=BYTES "
		"used=BYTES\npath=PATH rw=True|False. An AppVM's root is its "
		"template's, read-only.\n"
		"resize grows the private volume of the halted qube NAME to "
		"SIZE: bytes,\nor a whole number with K, M, G or T (powers "
		"of 1024), such as 4G.\nVolumes never shrink.\n"
		"\n"
		"  -h, --help  show this help\n"
		"\n");
	cli_record_exit_help(f);
}

static int resize(const char *name, const char *vol, const char *text)
{
	char err[256], bytes[32];
	uint64_t size;
	int r = volume_parse_size(text, &size);

	if (r < 0) {
		cli_err("volume: SIZE is bytes or a whole number with K, M, "
			"G or T, such as 4G");
		return BH_ADMIN_INVALID;
	}
	/* The daemon checks again; checking here names the bound before a
	 * round trip. */
	if (volume_private_size_check(size, err, sizeof(err)) < 0) {
		cli_err("volume: %s", err);
		return BH_ADMIN_INVALID;
	}
	snprintf(bytes, sizeof(bytes), "%" PRIu64, size);
	return admin_once_progress("volume", "admin.vm.volume.Resize", name,
				   vol, bytes, 0, name);
}

int cmd_volume(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o, n;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'h') {
			cmd_volume_help(stdout);
			return 0;
		}
		fprintf(stderr, "Try 'bh volume --help'.\n");
		return BH_ADMIN_INVALID;
	}
	n = argc - optind;
	if (n == 2 && !strcmp(argv[optind], "list"))
		return admin_once("volume", "admin.vm.volume.List",
				  argv[optind + 1], "", "", 1);
	if (n == 4 && !strcmp(argv[optind], "resize"))
		return resize(argv[optind + 1], argv[optind + 2],
			      argv[optind + 3]);
	cli_err("volume: use `bh volume list NAME` or `bh volume resize "
		"NAME private SIZE`");
	return BH_ADMIN_INVALID;
}
