/* Templates built outside the daemon (bh template build runs
 * bh-build-template as root into a staging folder) and adopted by it.
 *
 * Staging folders are STATE/templates/.build-NAME.XXXXXX, made by bh and
 * locked (flock) by it for as long as the build runs. The daemon adopts
 * a finished one with admin.vm.Create.TemplateVM and the body
 * "[label=L ]import=.build-NAME.XXXXXX" (docs/admin-api.md, docs/
 * templates.md): checked, renamed to STATE/templates/NAME, and only then
 * recorded, so `bh template list`, which shows records, never shows a
 * half-built template. */
#ifndef BH_DAEMON_ADMIN_TEMPLATE_H
#define BH_DAEMON_ADMIN_TEMPLATE_H

/* The prefix of staging folders in STATE/templates. */
#define TEMPLATE_BUILD_PREFIX ".build-"

/* Removes the staging folders of builds that no longer run (not locked);
 * at start-up, from volumes_boot. Returns how many it removed. */
int template_build_sweep(const char *state_dir);

#endif
