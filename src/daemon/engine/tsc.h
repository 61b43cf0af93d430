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

#endif
