/* Start-up's check of the qubes' folders against their records, after a
 * daemon that may have been killed in the middle of a call (qube_files.h
 * says which order makes this enough):
 *  - temporaries (*.tmp-XXXXXX) are removed from every qube's folder and
 *    every template's;
 *  - a record without its private volume gets an empty one (logged);
 *  - a TemplateVM or StandaloneVM whose root is missing is logged: it
 *    cannot be made again, and starting it will say so;
 *  - a folder in STATE/qubes or STATE/templates without a record is moved
 *    to STATE/lost+found/NAME-YYYYMMDDTHHMMSSZ (templates: NAME.root-...),
 *    never deleted, so no private volume is ever lost to a bug here.
 * Runs before the admin socket opens, so no call races it. */
#ifndef BH_DAEMON_VOLUMES_BOOT_H
#define BH_DAEMON_VOLUMES_BOOT_H

#include "daemon/store/store.h"

/* Problems are logged, not returned: a broken qube must not keep the
 * others from starting. Returns how many problems it logged. */
int volumes_boot(struct store *s, const char *state_dir);

#endif
