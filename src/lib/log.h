/* Logging for every Bulkhead program: one line per event on stderr,
 * prefixed with the program name. The daemon's stderr is its log file. */
#ifndef BH_LIB_LOG_H
#define BH_LIB_LOG_H

#include <stdarg.h>

enum bh_log_level { BH_LOG_ERR, BH_LOG_WARN, BH_LOG_INFO, BH_LOG_DEBUG };

void bh_log_init(const char *progname, int with_time);
void bh_log_set_level(enum bh_log_level max);
void bh_log(enum bh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bh_vlog(enum bh_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* 1 when a line of this level would be written. */
int bh_log_wants(enum bh_log_level level);

/* Rotation of a log file that is our standard error (the daemon's, when
 * bh started it with its output appended to PATH). Only when fd 2 is that
 * very file (same st_dev and st_ino; also fd 1 when it is the same file),
 * never a terminal or a pipe: once it passes max_bytes, PATH.1 becomes
 * PATH.2, PATH becomes PATH.1, and a new PATH, of the old one's mode, is
 * put in place of fd 2 (and 1) with dup2. Checked as lines are written:
 * an fstat per BH_LOG_CHECK_BYTES written, nothing more. Only the process
 * that called this rotates (not a child it forks). Returns 1 when on, 0
 * when stderr is not PATH, or -errno. */
#define BH_LOG_CHECK_BYTES (64 * 1024)
int bh_log_rotate_setup(const char *path, long long max_bytes);
/* For a process whose log another one rotates (bulkheadd's parent and
 * its control child share the file): when fd 2 is a regular file that
 * PATH no longer names, PATH is opened for appending and put in place of
 * fd 2, so that this process's next line goes where the log is read.
 * Nothing happens when fd 2 is a terminal or a pipe, or still PATH. */
void bh_log_follow(const char *path);

#define LOG_ERR(...) bh_log(BH_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) bh_log(BH_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) bh_log(BH_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) bh_log(BH_LOG_DEBUG, __VA_ARGS__)

#endif
