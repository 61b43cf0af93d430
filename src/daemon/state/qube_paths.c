#include "daemon/state/qube_paths.h"

#include <errno.h>
#include <string.h>

#include "daemon/store/props.h"
#include "daemon/disk/volume.h"
#include "lib/util.h"

static int fmt_err(int r)
{
	return r ? -ENAMETOOLONG : 0;
}

int qube_dir(const char *state, const char *name, char *out, size_t cap)
{
	return fmt_err(bh_path_fmt(out, cap, "%s/qubes/%s", state, name));
}

int qube_template_dir(const char *state, const char *name, char *out,
		      size_t cap)
{
	return fmt_err(bh_path_fmt(out, cap, "%s/templates/%s", state, name));
}

int qube_private_path(const char *state, const char *name, char *out,
		      size_t cap)
{
	return fmt_err(bh_path_fmt(out, cap, "%s/qubes/%s/%s", state, name,
				   QUBE_PRIVATE_IMG));
}

int qube_root_path(const char *state, const struct qube_info *qi, char *out,
		   size_t cap)
{
	char dir[4096];
	const char *tmpl = qi->name;
	int r;

	if (qi->cls == QC_STANDALONE)
		return fmt_err(bh_path_fmt(out, cap, "%s/qubes/%s/%s", state,
					   qi->name, QUBE_ROOT_IMG));
	if (qi->cls != QC_TEMPLATE) {
		if (!qi->template_name[0])
			return -ENOENT;
		tmpl = qi->template_name;
	}
	r = qube_template_dir(state, tmpl, dir, sizeof(dir));
	return r ? r : volume_root_current(dir, out, cap);
}

int qube_has_private(const struct qube_info *qi)
{
	/* A DispVM's is a copy of its DVM's in its runtime folder. */
	return qi->cls != QC_DISP && strcmp(qi->name, BUILTIN_TEMPLATE) != 0;
}

int snapshot_dir_for(const char *state, const char *dvm, char *out,
		     size_t cap)
{
	/* A DVM's folder always starts "dvm-", so no qube name can make
	 * "minimal". */
	return dvm && dvm[0] ? bh_path_fmt(out, cap, "%s/snapshots/dvm-%s",
					   state, dvm)
			     : bh_path_fmt(out, cap, "%s/snapshots/minimal",
					   state);
}
