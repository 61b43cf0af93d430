/* Shared pieces of the bh command line: one file per verb, a table in
 * main.c, and the connection to the daemon. */
#ifndef BH_CLI_CLI_H
#define BH_CLI_CLI_H

#include <stdio.h>
#include <sys/types.h>

#define BH_VERSION "0.1.0"

struct bh_verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *f);
};

int cmd_run(int argc, char **argv);
void cmd_run_help(FILE *f);
int cmd_copy(int argc, char **argv);
void cmd_copy_help(FILE *f);
int cmd_policy_agent(int argc, char **argv);
void cmd_policy_agent_help(FILE *f);
int cmd_create(int argc, char **argv);
void cmd_create_help(FILE *f);
int cmd_remove(int argc, char **argv);
void cmd_remove_help(FILE *f);
int cmd_ls(int argc, char **argv);
void cmd_ls_help(FILE *f);
int cmd_prefs(int argc, char **argv);
void cmd_prefs_help(FILE *f);
int cmd_features(int argc, char **argv);
void cmd_features_help(FILE *f);
int cmd_tags(int argc, char **argv);
void cmd_tags_help(FILE *f);
int cmd_doctor(int argc, char **argv);
void cmd_doctor_help(FILE *f);
/* cmd_power.c */
int cmd_start(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
void cmd_start_help(FILE *f);
void cmd_shutdown_help(FILE *f);
void cmd_kill_help(FILE *f);
void cmd_pause_help(FILE *f);
void cmd_unpause_help(FILE *f);
int cmd_restart(int argc, char **argv);
void cmd_restart_help(FILE *f);
/* Volumes: cmd_clone.c, cmd_volume.c, cmd_template.c */
int cmd_clone(int argc, char **argv);
void cmd_clone_help(FILE *f);
int cmd_volume(int argc, char **argv);
void cmd_volume_help(FILE *f);
int cmd_template(int argc, char **argv);
void cmd_template_help(FILE *f);
/* cmd_template_build.c: bh template build and bh template info */
int cmd_template_build(int argc, char **argv);
int cmd_template_info(int argc, char **argv);
void cmd_template_build_help(FILE *f);
/* Runtime: cmd_console.c, cmd_log.c, cmd_events.c */
int cmd_console(int argc, char **argv);
void cmd_console_help(FILE *f);
int cmd_log(int argc, char **argv);
void cmd_log_help(FILE *f);
int cmd_events(int argc, char **argv);
void cmd_events_help(FILE *f);
/* bulkheadd itself: cmd_daemon.c */
int cmd_daemon(int argc, char **argv);
void cmd_daemon_help(FILE *f);
/* RPC policy: cmd_policy.c */
int cmd_policy(int argc, char **argv);
void cmd_policy_help(FILE *f);
/* 1 when s is a line count 1..1000 (-n of console and log), else 0. */
int cli_lines_arg(const char *s);

/* The exit status paragraph shared by the record verbs' --help. */
void cli_record_exit_help(FILE *f);

/* Connects to the admin socket, starting bulkheadd when none answers
 * (and saying so on stderr). Returns the fd, or a negative bh exit code
 * after printing why. */
int daemon_connect(void);

/* The rest serve `bh daemon` (cmd_daemon.c). */

/* Whether a bulkheadd runs for this BULKHEAD_ROOT: 1 when one holds its
 * instance lock (RUN/bulkheadd.pid; *pid its pid, 0 when unknown), 0 when
 * none does, or a negative bh exit code after saying why. */
int daemon_running(pid_t *pid);

/* Connects to the admin socket without ever starting a daemon: the fd,
 * DAEMON_NOT_LISTENING when nothing listens there, or a negative bh exit
 * code after saying why. */
#define DAEMON_NOT_LISTENING (-1)
int daemon_connect_running(void);

/* Starts a new bulkheadd as daemon_connect does when none answers (via
 * systemd, or directly), saying which way, and connects to it. Returns
 * the fd, or a negative bh exit code after saying why. */
int daemon_start_new(void);

/* NULL when bh starts bulkheadd through systemd (bulkheadd.service is
 * installed, systemd is PID 1, the default root), else why it starts it
 * directly. */
const char *daemon_direct_reason(void);

/* Runs `systemctl --no-ask-password VERB bulkheadd.service`, its output on
 * stderr. Returns its exit status, or -1 when it could not be run. */
int daemon_systemctl(const char *verb);

/* Prints "bh: " + message to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
