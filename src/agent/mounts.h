/* The guest's file systems: the template root read-only with a tmpfs
 * overlay (changes vanish at power-off), the private volume on /rw, and
 * the switch from the initramfs into that root. */
#ifndef BH_AGENT_MOUNTS_H
#define BH_AGENT_MOUNTS_H

/* /dev (devtmpfs), /proc, /sys in the initramfs. */
int mounts_early(void);
/* Waits until a device node exists, at most timeout_ms. */
int wait_for_path(const char *path, int timeout_ms);
/* Builds /newroot from root_dev (+ private_dev on /rw when not "") and
 * makes it the root of the agent and its children. The root is read-only
 * under a tmpfs overlay, or, with root_rw, mounted read-write as it is. */
int mounts_switch_root(const char *root_dev, const char *private_dev,
		       int root_rw);

#endif
