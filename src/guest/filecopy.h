/* The file-copy stream between qubes (service bulkhead.Filecopy, the role
 * of Qubes' qubes.Filecopy): format constants, the sender (packer) and the
 * receiver (unpacker). docs/filecopy.md is the specification; in short:
 *
 *   stream  = "BHFC" u32 version, entry*, END header, SHA-256[32]
 *   entry   = header[32], name[name_len], data[data_len]
 *   header  = u32 type, u32 mode, s64 mtime_sec, u32 mtime_nsec,
 *             u32 name_len, u64 data_len            (little-endian)
 *
 * Names are single path components. A DIR entry opens a directory: the
 * entries after it are inside it until its DIR_END, which carries nothing.
 * The digest covers every byte before it (from the magic to the END
 * header). The receiver answers with one status message:
 *
 *   status  = "BHFR" u32 code, digest[32], u32 text_len, text[text_len]
 *
 * code 0 is success, else a Linux errno value (FC_E_* below say which).
 * Both directions are parsed as untrusted: the receiver distrusts the
 * sender's stream, the sender the receiver's status. */
#ifndef BH_GUEST_FILECOPY_H
#define BH_GUEST_FILECOPY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sodium.h>

#define FC_MAGIC "BHFC"
#define FC_STATUS_MAGIC "BHFR"
#define FC_VERSION 1u
#define FC_START_LEN 8u  /* magic + version */
#define FC_HDR_LEN 32u
#define FC_DIGEST_LEN crypto_hash_sha256_BYTES /* 32 */

/* Entry types: the numbers of <dirent.h>'s DT_* (stable on Linux) for
 * the three kinds we copy, and two markers above any DT_ value. */
#define FC_T_FILE 8u       /* DT_REG: data = the contents */
#define FC_T_DIR 4u        /* DT_DIR: no data; children follow */
#define FC_T_SYMLINK 10u   /* DT_LNK: data = the target, no NUL */
#define FC_T_DIR_END 256u  /* closes the innermost open DIR */
#define FC_T_END 257u      /* end of entries; the digest follows */
/* Refused on sight: the receiver never makes these. */
#define FC_T_FIFO 1u       /* DT_FIFO */
#define FC_T_CHR 2u        /* DT_CHR */
#define FC_T_BLK 6u        /* DT_BLK */
#define FC_T_SOCK 12u      /* DT_SOCK */

/* NAME_MAX of Linux file systems: a longer component cannot be created. */
#define FC_MAX_NAME 255u
/* PATH_MAX: the longest relative path (components and '/') below the
 * receiving folder, so that every copied file can be opened by path. */
#define FC_MAX_PATH 4096u
/* A symlink target must fit readlink into PATH_MAX with its NUL. */
#define FC_MAX_LINK 4095u
/* Directories open at once: the receiver keeps one fd per level, so this
 * bounds its fds (far below RLIMIT_NOFILE's usual 1024). */
#define FC_MAX_DEPTH 256u
/* Files larger than off_t can describe cannot be written. */
#define FC_MAX_FILE ((uint64_t)INT64_MAX)
/* The status text is one short line for the sender's terminal. */
#define FC_MAX_STATUS_TEXT 1024u
#define FC_STATUS_HDR_LEN (4u + 4u + FC_DIGEST_LEN + 4u) /* 44 */
/* Permission bits the receiver keeps: never setuid, setgid or sticky. */
#define FC_MODE_KEEP 0777u
/* Permission bits a header may carry at all (the sender sends st_mode's
 * 07777; the receiver drops 07000). */
#define FC_MODE_WIRE 07777u

/* Status codes (Linux errno values) the receiver reports, and what for:
 *   EPROTO        malformed stream (bad magic or version, unknown field
 *                 values, DIR_END without DIR, truncated, trailing data)
 *   EBADMSG       checksum mismatch
 *   EINVAL        bad name: empty, ".", "..", or containing '/'
 *   EILSEQ        a control character (< 0x20, 0x7f) in a name or target
 *   ENAMETOOLONG  component > 255, path > 4096, target > 4095, too deep
 *   ENOLINK       unsafe symlink: absolute, or leaving the copied tree
 *   EEXIST        the name exists already (nothing is ever overwritten)
 *   EOPNOTSUPP    device node, fifo or socket entry
 *   EFBIG         declared file size beyond FC_MAX_FILE, or a file beyond
 *                 the receiver's RLIMIT_FSIZE
 *   others        from the receiving file system (ENOSPC, EDQUOT, EIO...) */

/* A decoded entry header. */
struct fc_hdr {
	uint32_t type;
	uint32_t mode;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t name_len;
	uint64_t data_len;
};

void fc_put_u32(uint8_t *p, uint32_t v);
void fc_put_u64(uint8_t *p, uint64_t v);
uint32_t fc_get_u32(const uint8_t *p);
uint64_t fc_get_u64(const uint8_t *p);

/* Writes the stream's first FC_START_LEN bytes. */
void fc_start_encode(uint8_t out[FC_START_LEN]);
void fc_hdr_encode(uint8_t out[FC_HDR_LEN], const struct fc_hdr *h);
/* Decodes and checks a header's fields against each other and the limits
 * (not the name or data, which come later). Returns 0, or a negative
 * FC_E_* code with a reason in *why (a static string). */
int fc_hdr_decode(const uint8_t *untrusted_buf, struct fc_hdr *out,
		  const char **why);

/* One path component as the receiver accepts it: 1..FC_MAX_NAME bytes,
 * not "." or "..", no '/', NUL or control character. Returns 0 or a
 * negative errno (-EINVAL, -EILSEQ, -ENAMETOOLONG) with *why set. */
int fc_name_check(const uint8_t *untrusted_name, size_t len,
		  const char **why);
/* A symlink target for a link `depth` directories below the receiving
 * folder: relative, 1..FC_MAX_LINK bytes, no NUL or control character, no
 * empty component, every ".." before the first other component (so no
 * other symlink can be climbed out of), and never above the receiving
 * folder. Returns 0 or -ENOLINK, -EILSEQ, -ENAMETOOLONG with *why set. */
int fc_link_check(const uint8_t *untrusted_target, size_t len, size_t depth,
		  const char **why);
/* Qubes' rule for qube names: ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$. */
int fc_qube_name_valid(const char *name);

/* Copies src (len bytes) into out as printable text: bytes < 0x20, 0x7f
 * and >= 0x80 become \xNN. Always NUL-terminates (cap >= 1). */
void fc_escape(char *out, size_t cap, const uint8_t *src, size_t len);

/* ---- status message ---- */

struct fc_status {
	uint32_t code;                 /* 0: success, else an errno value */
	uint8_t digest[FC_DIGEST_LEN]; /* what the receiver read; zeros
					* when it did not get that far */
	char text[FC_MAX_STATUS_TEXT + 1]; /* escaped, NUL-terminated */
};

/* Encodes a status into out (cap >= FC_STATUS_HDR_LEN +
 * FC_MAX_STATUS_TEXT suffices; text is cut to fit). digest may be NULL
 * (zeros). Returns the length. */
size_t fc_status_encode(uint8_t *out, size_t cap, uint32_t code,
			const uint8_t *digest, const char *text);
/* Parses a status from the first len bytes received. Returns the
 * message's length (> 0) when complete, 0 when more bytes are needed,
 * -EPROTO when it cannot be a status. */
long fc_status_parse(const uint8_t *untrusted_buf, size_t len,
		     struct fc_status *out);

/* ---- receiver ---- */

enum fc_unpack_state {
	FC_U_START,  /* reading magic and version */
	FC_U_HDR,    /* reading an entry header */
	FC_U_NAME,   /* reading a name */
	FC_U_DATA,   /* reading a file's contents */
	FC_U_LINK,   /* reading a symlink target */
	FC_U_DIGEST, /* reading the final digest */
	FC_U_DONE,   /* complete and verified */
	FC_U_FAILED, /* stopped at the first error */
};

struct fc_dir {
	int fd;           /* the directory, opened O_NOFOLLOW after mkdirat */
	uint32_t mode;    /* applied at its DIR_END */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	size_t path_len;  /* u->path_len before this directory's name */
};

/* The receiver builds the copy in a hidden folder of the receiving
 * folder, FC_STAGE_PREFIX and 16 random hex digits, and moves each
 * top-level entry into place (never over an existing name) only once the
 * stream is complete, verified, ended and on disk. A receiver that is
 * killed leaves only that folder behind; one that fails removes it. */
#define FC_STAGE_PREFIX ".bh-partial-"
#define FC_STAGE_NAME_LEN (sizeof(FC_STAGE_PREFIX) - 1 + 16)

struct fc_unpack {
	int root_fd;               /* the receiving folder; not ours */
	int stage_fd;              /* the hidden folder we fill, or -1 */
	char stage_name[FC_STAGE_NAME_LEN + 1];
	enum fc_unpack_state state;
	/* The sender's bytes as they arrive, before their checks. */
	uint8_t untrusted_fixed[FC_HDR_LEN]; /* start, header or digest */
	uint8_t untrusted_name[FC_MAX_NAME];
	uint8_t untrusted_link[FC_MAX_LINK + 1]; /* + NUL once checked */
	size_t have;               /* bytes of one of them so far */
	struct fc_hdr cur;         /* the entry being read (decoded) */
	char name[FC_MAX_NAME + 1]; /* its name once checked, with NUL */
	uint64_t data_left;        /* file bytes still to come */
	int file_fd;               /* the file being written, or -1 */
	int file_sparse;           /* last data went by lseek: truncate */
	struct fc_dir dirs[FC_MAX_DEPTH];
	size_t depth;
	char path[FC_MAX_PATH + 1]; /* where we are, for messages */
	size_t path_len;
	crypto_hash_sha256_state sha;
	uint8_t digest[FC_DIGEST_LEN]; /* computed, once at FC_T_END */
	int have_digest;
	uint64_t files, bytes;     /* counters for the log */
	int err;                   /* first error: negative errno, or 0 */
	char msg[FC_MAX_STATUS_TEXT + 1];
};

/* Makes what was written below fd durable: the receiver calls it before
 * the received entries get their names (fd: the hidden folder) and after
 * (fd: the receiving folder), and reports success only when both
 * returned 0. fc_sync_fs_default is syncfs(2); tests put their own here
 * to watch the order of events. Returns 0 or a negative errno. */
extern int (*fc_sync_fs)(int fd);
int fc_sync_fs_default(int fd);

/* Starts receiving into the directory dirfd (kept open by the caller
 * until fc_unpack_finish): makes the hidden folder there. Returns 0, or
 * a negative errno (also in u->err, with a message) when libsodium
 * cannot start or the folder cannot be made. */
int fc_unpack_init(struct fc_unpack *u, int dirfd);
/* Feeds the next len bytes of the stream, in any split. Returns 0 when
 * more is expected, 1 when the stream is complete and verified (any
 * byte after it is an error: keep feeding until the input ends), or the
 * first error (negative errno, also kept in u->err with a message in
 * u->msg); after an error every call returns it again. An error removes
 * everything received so far. */
int fc_unpack_feed(struct fc_unpack *u, const uint8_t *untrusted_buf,
		   size_t len);
/* The input has ended. If the stream was complete and verified, syncs
 * (fc_sync_fs), moves the received entries into the receiving folder
 * (an existing name is EEXIST), syncs again, and returns 0. Else, or when
 * a step fails, returns the first error (-EPROTO "truncated" if none
 * before) and removes what was received (entries already moved into
 * place when a later one fails stay). Releases every fd; may be called
 * more than once. */
int fc_unpack_finish(struct fc_unpack *u);
/* The message of the first error, or "" . */
const char *fc_unpack_message(const struct fc_unpack *u);

/* Creates (mode 0700, as needed) and opens HOME/Incoming/SOURCE without
 * following symlinks. Returns the directory fd, or a negative errno with
 * a message in msg. */
int fc_open_incoming(const char *home, const char *source, char *msg,
		     size_t cap);
/* The service: reads the stream from in_fd into dirfd until the input
 * ends or the stream is bad (bytes after the digest are an error too),
 * finishes (fc_unpack_finish), then writes one status to out_fd. Ignores
 * SIGXFSZ for good, so that a file beyond RLIMIT_FSIZE is an EFBIG status
 * rather than a silent death. Returns 0 on success, else the first error
 * (negative errno), message in msg. */
int fc_receive(int in_fd, int out_fd, int dirfd, char *msg, size_t cap);

/* ---- sender ---- */

struct fc_pack_opts {
	int progress_fd;  /* progress lines here (a tty), or -1 for none */
	const char *prog; /* prefix of progress lines, e.g. "bh-copy" */
};

/* Checks that every path can be sent (exists, readable, a regular file,
 * directory or symlink whose target stays inside what is copied, names
 * and depth within the limits, no two top-level names alike) without
 * sending anything. Fills *total_bytes (may be NULL) with the file bytes
 * to send. Returns 0, or a negative errno with a message (naming the
 * path) in msg. */
int fc_pack_check(char *const paths[], size_t n, uint64_t *total_bytes,
		  char *msg, size_t cap);
/* Checks the paths (fc_pack_check), then sends them as one stream on
 * out_fd and waits for the receiver's status on status_fd (may be the
 * same fd, e.g. a socket). Once the whole stream is out, ends it, since
 * the receiver reads to the end before it answers: a socket is shut
 * down for writing; any other out_fd is pointed at /dev/null (dup2), so
 * that the fd stays the caller's to close but the reader sees the end.
 * Symlinks are sent as symlinks, the top-level ones too (after stripping
 * trailing '/'), never followed. SIGPIPE must be ignored by the caller.
 * Returns 0 only when the receiver confirmed success for the digest we
 * sent; else a negative errno with a message in msg: the receiver's code
 * (as -code) with its escaped text, or a local error. */
int fc_pack_paths(int out_fd, int status_fd, char *const paths[], size_t n,
		  const struct fc_pack_opts *opts, char *msg, size_t cap);
/* For --move after a confirmed copy: removes each path (a symlink
 * itself, a directory with its contents), never following symlinks.
 * Returns 0 or the first error with msg. */
int fc_remove_sources(char *const paths[], size_t n, char *msg, size_t cap);

#endif
