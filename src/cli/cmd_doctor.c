/* bh doctor [--format text|json]: what this host offers Bulkhead (one
 * admin.host.Info call), in the spirit of Qubes' qubes-hcl-report: the
 * facts as aligned `Key: value` lines, then a verdict saying which engine
 * qubes get, why, and what is missing. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "proto/exitcodes.h"

/* Below these the daemon refuses a disposable (DISPVM_MIN_FREE_MB and
 * DISPVM_MEMORY_MB in src/daemon/core/daemon.h). */
#define DOCTOR_MIN_FREE_MIB 64
#define DOCTOR_MIN_MEM_MIB 256
#define VERDICT_MAX 2048
#define WRAP_COLUMNS 72

/* The keys of admin.host.Info in the daemon's order, with their labels;
 * unit: appended to a number; list: a space-separated list ("none" or
 * empty for none), an array in JSON; num: an integer in JSON. */
static const struct doctor_key {
	const char *key, *label, *unit;
	int list, num;
} keys[] = {
	{ "cpu_model", "CPU", NULL, 0, 0 },
	{ "cpu_virt", "CPU virtualization", NULL, 0, 0 },
	{ "kvm_modules", "KVM modules", NULL, 1, 0 },
	{ "dev_kvm", "/dev/kvm", NULL, 0, 0 },
	{ "engine", "Engine", NULL, 0, 0 },
	{ "engine_why", "Engine reason", NULL, 0, 0 },
	{ "qemu_path", "QEMU", NULL, 0, 0 },
	{ "qemu_version", "QEMU version", NULL, 0, 0 },
	{ "guest_kernel", "Guest kernel", NULL, 0, 0 },
	{ "host_kernel", "Host kernel", NULL, 0, 0 },
	{ "mem_total_mib", "Memory", "MiB", 0, 1 },
	{ "mem_available_mib", "Memory available", "MiB", 0, 1 },
	{ "cpus", "CPUs online", NULL, 0, 1 },
	{ "state_free_mib", "State free space", "MiB", 0, 1 },
	{ "templates", "Templates", NULL, 1, 0 },
};

#define NKEYS (sizeof(keys) / sizeof(*keys))

/* The reply's lines, split in place; a newer daemon may send more keys
 * than we know: they are shown as they come. */
struct report {
	char *key[64], *value[64];
	size_t n;
};

enum doctor_format { DOCTOR_TEXT, DOCTOR_JSON };

void cmd_doctor_help(FILE *f)
{
	fprintf(f,
		"usage: bh doctor [--format text|json]\n"
		"\n"
		"Reports what this host offers Bulkhead: the CPU and its "
		"virtualization,\n"
		"the KVM modules and /dev/kvm, the engine qubes get (KVM or "
		"TCG) and why,\n"
		"QEMU, the guest kernel, memory, CPUs, free space and the "
		"templates; then\n"
		"a verdict saying what works and what is missing.\n"
		"\n"
		"  -f, --format FORMAT  text (the default), or json: one "
		"object with the\n"
		"                       same keys as admin.host.Info, plus "
		"kvm_usable and\n"
		"                       verdict\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: 0 the report was printed (whatever it says), 1 "
		"failure,\n"
		"2 usage; 120 bad BULKHEAD_ROOT, 121 daemon unreachable. See "
		"bh(1).\n");
}

/* "key=value" lines; the value is the rest of the line. */
static int parse(char *text, struct report *rep)
{
	char *save = NULL, *line;

	rep->n = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq || eq == line ||
		    rep->n == sizeof(rep->key) / sizeof(*rep->key))
			return -1;
		*eq = '\0';
		rep->key[rep->n] = line;
		rep->value[rep->n++] = eq + 1;
	}
	return 0;
}

/* The value of key, or NULL when the daemon did not send it. */
static const char *get(const struct report *rep, const char *key)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (!strcmp(rep->key[i], key))
			return rep->value[i];
	return NULL;
}

/* Whether the space-separated list has word w. */
static int has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while (p && (p = strstr(p, w))) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static int is_number(const char *v)
{
	if (!v || !*v)
		return 0;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return 0;
	return 1;
}

static const struct doctor_key *known(const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static void say(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a sentence to the verdict (VERDICT_MAX bytes). */
static void say(char *out, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	if (used && used + 1 < VERDICT_MAX) {
		out[used++] = ' ';
		out[used] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(out + used, VERDICT_MAX - used, fmt, ap);
	va_end(ap);
}

/* Which engine, why in plain words, then what is missing. */
static void verdict(const struct report *rep, char *out)
{
	const char *engine = get(rep, "engine"), *why = get(rep, "engine_why");
	const char *virt = get(rep, "cpu_virt"), *mods = get(rep, "kvm_modules");
	const char *dev = get(rep, "dev_kvm"), *qemu = get(rep, "qemu_path");
	const char *qver = get(rep, "qemu_version");
	const char *kernel = get(rep, "guest_kernel");
	const char *free_mib = get(rep, "state_free_mib");
	const char *avail = get(rep, "mem_available_mib");
	int hw = has_word(mods, "kvm_intel") || has_word(mods, "kvm_amd");
	int pvm = has_word(mods, "kvm_pvm") && dev && !strcmp(dev, "present");
	int tcg = !engine || strcmp(engine, "KVM");
	int ready = 1;

	out[0] = '\0';
	if (!tcg)
		say(out, "KVM is usable: qubes run with hardware "
			 "virtualization.");
	else if (why && strstr(why, "BULKHEAD_ACCEL=tcg"))
		say(out, "TCG was asked for (BULKHEAD_ACCEL=tcg in bulkheadd's "
			 "environment): qubes run under QEMU's TCG emulation, "
			 "which is slower than KVM.");
	else if (hw)
		say(out, "Hardware virtualization is loaded but /dev/kvm "
			 "cannot be used (see the engine reason): qubes run "
			 "under QEMU's TCG emulation, which is slower than "
			 "KVM.");
	else if (virt && strcmp(virt, "none"))
		say(out, "The CPU offers hardware virtualization (%s) but %s "
			 "is not loaded: qubes run under QEMU's TCG emulation, "
			 "which is slower than KVM. Load it (modprobe %s) and "
			 "restart bulkheadd to use KVM.",
		    virt, strcmp(virt, "svm") ? "kvm_intel" : "kvm_amd",
		    strcmp(virt, "svm") ? "kvm_intel" : "kvm_amd");
	else
		say(out, "No hardware virtualization (vmx/svm not offered, or "
			 "kvm_intel/kvm_amd not loaded): qubes run under "
			 "QEMU's TCG emulation, which is slower than KVM%s",
		    pvm ? ";" : ".");
	if (tcg && pvm)
		say(out, "/dev/kvm here is from kvm_pvm, which emulates guests "
			 "instruction by instruction and is slower still.");
	if (!qemu || !strcmp(qemu, "missing")) {
		say(out, "QEMU is missing: install qemu-system-x86 (or set "
			 "BULKHEAD_QEMU for bulkheadd); no qube can start.");
		ready = 0;
	} else if (!qver || !strncmp(qver, "unknown", 7)) {
		say(out, "QEMU did not tell its version: check that %s runs.",
		    qemu);
		ready = 0;
	}
	if (!kernel || !strcmp(kernel, "none")) {
		say(out, "No guest kernel is installed (STATE/kernels/current "
			 "is missing): run bh-build-guest; no qube can "
			 "start.");
		ready = 0;
	}
	if (is_number(free_mib) && atol(free_mib) < DOCTOR_MIN_FREE_MIB) {
		say(out, "Less than %d MiB free for the state folder: a qube "
			 "needs room for its logs.",
		    DOCTOR_MIN_FREE_MIB);
		ready = 0;
	}
	if (is_number(avail) && atol(avail) < DOCTOR_MIN_MEM_MIB) {
		say(out, "Less than %d MiB of memory available: a disposable "
			 "qube needs %d MiB.",
		    DOCTOR_MIN_MEM_MIB, DOCTOR_MIN_MEM_MIB);
		ready = 0;
	}
	if (ready)
		say(out, "QEMU and a guest kernel are there: disposable qubes "
			 "can start.");
}

/* Prints text wrapped at WRAP_COLUMNS, breaking at spaces. */
static void print_wrapped(const char *text)
{
	size_t col = 0;

	while (*text) {
		size_t n = strcspn(text, " ");

		if (col && col + 1 + n > WRAP_COLUMNS) {
			putchar('\n');
			col = 0;
		} else if (col) {
			putchar(' ');
			col++;
		}
		fwrite(text, 1, n, stdout);
		col += n;
		text += n;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static void print_text(const struct report *rep, const char *v)
{
	int w = 0;
	size_t i;

	for (i = 0; i < rep->n; i++) {
		const struct doctor_key *k = known(rep->key[i]);
		int len = (int)strlen(k ? k->label : rep->key[i]);

		w = len > w ? len : w;
	}
	for (i = 0; i < rep->n; i++) {
		const struct doctor_key *k = known(rep->key[i]);
		const char *val = rep->value[i];

		printf("%s:%*s %s", k ? k->label : rep->key[i],
		       w - (int)strlen(k ? k->label : rep->key[i]), "",
		       k && k->list && !val[0] ? "none" : val);
		if (k && k->unit && is_number(val))
			printf(" %s", k->unit);
		putchar('\n');
	}
	putchar('\n');
	print_wrapped(v);
}

/* A list value as an array; "none" and "" are empty. */
static json_t *list_json(const char *v)
{
	json_t *a = json_array();
	const char *p = v;

	if (!a || !strcmp(v, "none"))
		return a;
	while (*p) {
		size_t n = strcspn(p, " ");

		if (n && json_array_append_new(a, json_stringn(p, n)) < 0) {
			json_decref(a);
			return NULL;
		}
		p += n;
		p += strspn(p, " ");
	}
	return a;
}

static int print_json(const struct report *rep, const char *v)
{
	json_t *o = json_object();
	const char *engine = get(rep, "engine");
	size_t i;
	int bad = !o;

	for (i = 0; !bad && i < rep->n; i++) {
		const struct doctor_key *k = known(rep->key[i]);
		const char *val = rep->value[i];
		json_t *j = !k		? json_string(val)
			    : k->list	? list_json(val)
			    : k->num	? (is_number(val)
						   ? json_integer(atoll(val))
						   : json_null())
					: json_string(val);

		bad = !j || json_object_set_new(o, rep->key[i], j) < 0;
	}
	if (!bad)
		bad = json_object_set_new(o, "kvm_usable",
					  json_boolean(engine &&
						       !strcmp(engine, "KVM"))) <
			      0 ||
		      json_object_set_new(o, "verdict", json_string(v)) < 0;
	if (bad || json_dumpf(o, stdout, JSON_INDENT(2)) < 0) {
		json_decref(o);
		cli_err("doctor: cannot build the JSON output");
		return BH_ADMIN_FAILED;
	}
	putchar('\n');
	json_decref(o);
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum doctor_format fmt = DOCTOR_TEXT;
	static struct report rep;
	char v[VERDICT_MAX];
	char *copy;
	int o, st;

	while ((o = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (!strcmp(optarg, "text"))
				fmt = DOCTOR_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = DOCTOR_JSON;
			else {
				cli_err("doctor: --format is text or json");
				return BH_ADMIN_INVALID;
			}
			break;
		case 'h':
			cmd_doctor_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bh doctor --help'.\n");
			return BH_ADMIN_INVALID;
		}
	}
	if (optind < argc) {
		cli_err("doctor: takes no arguments");
		return BH_ADMIN_INVALID;
	}
	st = admin_fetch("doctor", "admin.host.Info", "", "", &copy);
	if (st)
		return st;
	if (parse(copy, &rep) < 0 || !get(&rep, "engine")) {
		cli_err("doctor: bad reply from bulkheadd");
		free(copy);
		return BH_ADMIN_FAILED;
	}
	verdict(&rep, v);
	st = fmt == DOCTOR_JSON ? print_json(&rep, v) : (print_text(&rep, v), 0);
	free(copy);
	return st;
}
