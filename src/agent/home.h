/* The `user` account's home on the private volume: it starts empty, so
 * the agent makes /home/user at boot when it is missing, owned by the
 * uid and gid that the template's /etc/passwd gives `user`, with the
 * regular files of /etc/skel (.bashrc, .profile...) copied in. */
#ifndef BH_AGENT_HOME_H
#define BH_AGENT_HOME_H

/* Runs in the new root. 0 when the home exists or was made (or the
 * template has no `user`), else -errno (logged; the boot goes on). */
int home_ensure_user(void);

#endif
