/* The host's TSC frequency, handed to TCG guests.
 *
 * Under TCG a guest's TSC runs at the host's TSC rate, and the guest
 * kernel calibrates it against the emulated PIT with busy loops. On a busy
 * host those loops are too slow and calibration fails ("Unable to
 * calibrate against PIT"; microvm has no HPET or PM timer to fall back
 * on): the TSC is marked unstable and boot stalls for good. Measured on
 * our machines: 6 of 60 boots under load. Telling the kernel the
 * frequency (tsc_early_khz=) skips the calibration. */
#ifndef BH_DAEMON_TSC_H
#define BH_DAEMON_TSC_H

/* Measures the host TSC in kHz over a few milliseconds; 0 when the host's
 * TSC is not constant (then guests calibrate as usual). */
unsigned tsc_khz_measure(void);

/* The host TSC rate for this boot of the host: the one cache_path holds
 * ("BOOT-ID KHZ"), when its boot id is boot_id_path's; else measure()'s,
 * then kept there (0 is never kept). A daemon restarted while the host
 * runs gives its guests the same rate as the one before: a measure
 * differs by a few kHz, and a disposable's snapshot records the rate it
 * was made with (a new one would make every snapshot stale), and a
 * re-attached qube keeps the rate it booted with. */
unsigned tsc_khz_cached(const char *cache_path, const char *boot_id_path,
			unsigned (*measure)(void));

#endif
