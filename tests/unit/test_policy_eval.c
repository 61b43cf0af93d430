/* Unit tests of the policy engine's decisions (src/daemon/policy/policy_eval.c,
 * policy_ask.c), row by row. Each row writes its policy files into a
 * fresh temporary folder, loads the folder as the daemon does, decides
 * one call against the system below, and compares the decision, written
 * as one line (see show()), with what the row expects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_rule.h"
#include "daemon/state/store_boot.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the system every row runs against ---- */

static const char *const corp[] = { "corp" };
static const char *const home[] = { "home" };
static const char *const dvmtags[] = { "dvmtag" };

/* work and personal make disposables from dvm; vault has no
 * default_dispvm; dvm and dvm2 are templates for disposables; disp1 is a
 * running disposable made from dvm, and so is disp7, one the store does
 * not record. The global default_dispvm is dvm2. work, vault, dvm and
 * disp7 have uuids (UUID_*); UUID_NONE is no qube's. */
#define UUID_WORK "d7542906-2570-46b4-b243-cf358d23eacf"
#define UUID_VAULT "48d37f94-97aa-450a-8569-5f640c08638d"
#define UUID_DVM "005c3b85-a85a-4b40-a854-bda2da951d4f"
#define UUID_NONE "5cbbb7db-706e-47d2-8261-02a9e6a2cab3"
#define UUID_DISP7 "9b0cb0f4-3c3e-4f43-9a51-2d6f63b1e0a7"
#define UUID_DOM0 "00000000-0000-0000-0000-000000000000"
static const struct policy_qube qubes[] = {
	{ .name = "work", .cls = "AppVM", .tags = corp, .ntags = 1,
	  .default_dispvm = "dvm", .running = 1, .uuid = UUID_WORK },
	{ .name = "personal", .cls = "AppVM", .tags = home, .ntags = 1,
	  .default_dispvm = "dvm" },
	{ .name = "vault", .cls = "AppVM", .default_dispvm = "",
	  .uuid = UUID_VAULT },
	{ .name = "dvm", .cls = "AppVM", .tags = dvmtags, .ntags = 1,
	  .default_dispvm = "dvm", .template_for_dispvms = 1,
	  .uuid = UUID_DVM },
	{ .name = "dvm2", .cls = "AppVM", .template_for_dispvms = 1 },
	{ .name = "fedora", .cls = "TemplateVM", .default_dispvm = "dvm" },
	{ .name = "sa", .cls = "StandaloneVM" },
	{ .name = "disp1", .cls = "DispVM", .dispvm_base = "dvm",
	  .default_dispvm = "dvm", .running = 1 },
	/* A running disposable of the daemon's (dispvm_policy_add): a
	 * source, but no target. */
	{ .name = "disp7", .cls = "DispVM", .dispvm_base = "dvm",
	  .running = 1, .uuid = UUID_DISP7, .no_target = 1 },
};

static const struct policy_system sys = { qubes, ARRAY_LEN(qubes), "dvm2",
					  NULL };

/* ---- rows ---- */

#define F "50-t.policy"
#define SVC "bulkhead.Test"
/* The targets an @anyvm ask offers work: every qube but itself, then the
 * two templates for disposables (@dispvm is @dispvm:dvm again). */
#define ALL_BUT_WORK                                                     \
	"personal,vault,dvm,dvm2,fedora,sa,disp1,@dispvm:dvm,@dispvm:dvm2"

struct file {
	const char *name, *text;
};

struct row {
	const char *policy; /* one file, F; or files[] when NULL */
	const char *src, *tgt, *call;
	const char *expect; /* show()'s line; a trailing * matches a prefix */
	/* More files, besides F or instead; a name may hold a '/' (the
	 * folder is made); a text of NULL makes a folder. */
	struct file files[5];
};

/* Rows of one file leave files[] out. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct row rows[] = {
	/* SOURCE tokens */
	{ SVC " * work vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * work vault allow", "personal", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm vault allow", "dom0", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @adminvm vault allow", "dom0", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * dom0 vault allow", "dom0", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @adminvm vault allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * * vault allow", "dom0", "vault", SVC, "allow vault " F ":1" },
	{ SVC " * * vault allow", "sa", "vault", SVC, "allow vault " F ":1" },
	{ "* * * vault allow", "work", "vault", "other.Service+x",
	  "allow vault " F ":1" },
	{ SVC " * @tag:corp vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @tag:corp vault allow", "personal", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @type:AppVM vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @type:TemplateVM vault allow", "fedora", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @type:TemplateVM vault allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @type:StandaloneVM vault allow", "sa", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @type:DispVM vault allow", "disp1", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @type:AdminVM vault allow", "dom0", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @type:AdminVM vault allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @dispvm:dvm vault allow", "disp1", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @dispvm:dvm vault allow", "dvm", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @dispvm:@tag:dvmtag vault allow", "disp1", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @dispvm:@tag:home vault allow", "disp1", "vault", SVC,
	  "deny: no rule matched" },

	/* TARGET tokens */
	{ SVC " * @anyvm @anyvm allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow", "work", "dom0", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @adminvm allow", "work", "dom0", SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm dom0 allow", "work", "@adminvm", SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm * allow", "work", "dom0", SVC, "allow dom0 " F ":1" },
	{ SVC " * @anyvm @tag:home allow", "work", "personal", SVC,
	  "allow personal " F ":1" },
	{ SVC " * @anyvm @tag:home allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @type:TemplateVM allow", "work", "fedora", SVC,
	  "allow fedora " F ":1" },
	{ SVC " * @anyvm @type:StandaloneVM allow", "work", "sa", SVC,
	  "allow sa " F ":1" },
	{ SVC " * @anyvm @type:DispVM allow", "work", "disp1", SVC,
	  "allow disp1 " F ":1" },
	{ SVC " * @anyvm @type:AppVM allow", "work", "fedora", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @type:AdminVM allow", "work", "dom0", SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm @dispvm allow", "work", "@dispvm", SVC,
	  "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm allow", "work", "@dispvm:dvm", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @dispvm:dvm allow", "work", "@dispvm:dvm", SVC,
	  "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:dvm allow", "work", "@dispvm", SVC,
	  "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:dvm allow", "vault", "@dispvm", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @dispvm:@tag:dvmtag allow", "work", "@dispvm:dvm",
	  SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:@tag:dvmtag allow", "work", "@dispvm",
	  SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:@tag:dvmtag allow", "work", "@dispvm:dvm2",
	  SVC, "deny: no rule matched" },
	{ SVC " * @anyvm @default allow target=vault", "work", "@default",
	  SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @default allow target=vault", "work", "", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @default allow target=vault", "work", "vault", SVC,
	  "deny: no rule matched" },
	/* A qube that does not exist is @default, as in Qubes. */
	{ SVC " * @anyvm @default allow target=vault", "work", "ghost", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow", "work", "@default", SVC,
	  "deny " F ":1: neither the caller nor the policy names a target" },
	{ SVC " * @anyvm @anyvm allow", "work", "bad name!", SVC,
	  "deny: the target is not a valid name" },
	{ SVC " * @anyvm @anyvm allow", "work", "@dispvm:vault", SVC,
	  "deny: the target is not a template for disposables" },
	{ SVC " * @anyvm @anyvm allow", "work", "@bogus", SVC,
	  "deny: the target is not a valid name" },
	{ SVC " * @adminvm @dispvm allow", "dom0", "@dispvm", SVC,
	  "allow @dispvm:dvm2 " F ":1" },
	{ SVC " * @anyvm @dispvm allow", "vault", "@dispvm", SVC,
	  "deny " F ":1: the caller has no default_dispvm for @dispvm" },
	{ SVC " * @anyvm @anyvm allow", "work", "work", SVC,
	  "deny " F ":1: a qube cannot call itself" },

	/* actions and parameters */
	{ SVC " * @anyvm @anyvm deny", "work", "vault", SVC,
	  "deny " F ":1" },
	{ SVC " * @anyvm @anyvm deny notify=no", "work", "vault", SVC,
	  "deny " F ":1 quiet" },
	{ SVC " * @anyvm @anyvm allow user=root", "work", "vault", SVC,
	  "allow vault user=root " F ":1" },
	{ SVC " * @anyvm @anyvm allow notify=yes", "work", "vault", SVC,
	  "allow vault notify " F ":1" },
	{ SVC " * @anyvm @anyvm allow notify=no autostart=yes", "work",
	  "vault", SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow autostart=no", "work", "disp1", SVC,
	  "allow disp1 noautostart " F ":1" },
	{ SVC " * @anyvm @anyvm allow autostart=no", "work", "vault", SVC,
	  "deny " F ":1: autostart=no and vault is not running" },
	{ SVC " * @anyvm @dispvm allow autostart=no", "work", "@dispvm", SVC,
	  "deny " F ":1: autostart=no and @dispvm:dvm is not running" },
	{ SVC " * @anyvm @anyvm allow target=vault", "work", "personal", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=@dispvm", "work", "personal",
	  SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=@dispvm:dvm2", "work", "vault",
	  SVC, "allow @dispvm:dvm2 " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=dom0", "work", "vault", SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=ghost", "work", "vault", SVC,
	  "deny " F ":1: no qube ghost" },
	{ SVC " * @anyvm @anyvm ask", "work", "@default", SVC,
	  "ask [" ALL_BUT_WORK "] " F ":1" },
	{ SVC " * @anyvm @anyvm ask target=vault", "work", "personal", SVC,
	  "ask [vault] " F ":1" },
	{ SVC " * @anyvm @anyvm ask default_target=vault", "work", "@default",
	  SVC, "ask [" ALL_BUT_WORK "] default=vault " F ":1" },
	{ SVC " * @anyvm @anyvm ask default_target=dom0", "work", "@default",
	  SVC, "ask [" ALL_BUT_WORK "] " F ":1" },
	{ SVC " * @anyvm @anyvm ask default_target=@dispvm", "work", "sa",
	  SVC, "ask [" ALL_BUT_WORK "] default=@dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @anyvm ask user=alice notify=yes", "work", "vault",
	  SVC, "ask [" ALL_BUT_WORK "] user=alice notify " F ":1" },
	{ SVC " * @anyvm @anyvm ask autostart=no", "work", "@default", SVC,
	  "ask [disp1] noautostart " F ":1" },
	{ SVC " * @anyvm @type:AppVM ask", "work", "vault", SVC,
	  "ask [personal,vault,dvm,dvm2] " F ":1" },
	{ SVC " * @anyvm @default ask", "work", "@default", SVC,
	  "deny " F ":1: ask, but no target to offer" },
	/* The ask list: what the same call to each target would get. */
	{ SVC " * @anyvm vault deny\n" SVC " * @anyvm @dispvm allow\n" SVC
	      " * @anyvm @tag:home ask\n" SVC " * @anyvm @default ask\n",
	  "work", "@default", SVC,
	  "ask [personal,@dispvm:dvm] " F ":4" },
	/* As in Qubes: a rule adds its target= (sa), and personal, which
	 * the ask rule names, stays (the user may pick it). */
	{ SVC " * @anyvm personal allow target=sa\n" SVC
	      " * @anyvm @type:AppVM ask\n" SVC " * @anyvm @anyvm deny\n",
	  "work", "dvm", SVC, "ask [personal,vault,dvm,dvm2,sa] " F ":2" },
	{ SVC " * @anyvm @adminvm allow\n" SVC " * @anyvm @default ask\n",
	  "work", "", SVC, "ask [dom0] " F ":2" },

	/* ARGUMENT forms */
	{ SVC " + @anyvm vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " + @anyvm vault allow", "work", "vault", SVC "+x",
	  "deny: no rule matched" },
	{ SVC " +x @anyvm vault allow", "work", "vault", SVC "+x",
	  "allow vault " F ":1" },
	{ SVC " +x @anyvm vault allow", "work", "vault", SVC "+y",
	  "deny: no rule matched" },
	{ SVC " +x @anyvm vault allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " +a+b.c-d_e @anyvm vault allow", "work", "vault",
	  SVC "+a+b.c-d_e", "allow vault " F ":1" },
	{ SVC " * @anyvm vault allow", "work", "vault", SVC "+anything",
	  "allow vault " F ":1" },
	{ SVC " * @anyvm vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ "other.Svc * @anyvm vault allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm vault allow", "work", "vault", "bad/svc",
	  "deny: the service name is not valid" },
	{ SVC " * @anyvm vault allow", "work", "vault", SVC "+a/b",
	  "deny: the service argument is not valid" },

	/* order: first match, across lines and files */
	{ SVC " * @anyvm vault deny\n" SVC " * @anyvm vault allow", "work",
	  "vault", SVC, "deny " F ":1" },
	{ SVC " * @anyvm vault allow\n" SVC " * @anyvm vault deny", "work",
	  "vault", SVC, "allow vault " F ":1" },
	{ "# comment\n\n   \t\n  # indented comment\n" SVC
	  " * @anyvm vault allow",
	  "work", "vault", SVC, "allow vault " F ":5" },
	{ "other.Svc * @anyvm @anyvm deny\n" SVC " +x @anyvm @anyvm deny\n" SVC
	  " * @anyvm vault allow",
	  "work", "vault", SVC, "allow vault " F ":3" },
	/* C-locale order is byte order: "10-" before "9-". */
	{ NULL, "work", "vault", SVC, "deny 10-a.policy:1",
	  { { "9-b.policy", SVC " * @anyvm vault allow" },
	    { "10-a.policy", SVC " * @anyvm vault deny" } } },
	{ NULL, "work", "vault", SVC, "allow vault 30-user.policy:2",
	  { { "90-default.policy", SVC " * @anyvm @anyvm deny" },
	    { "30-user.policy", "# mine\n" SVC " * @anyvm vault allow" } } },
	{ NULL, "work", "vault", SVC, "allow vault 90-default.policy:1",
	  { { "90-default.policy", SVC " * @anyvm vault allow" },
	    { "30-user.policy", "# only comments\n" } } },
	/* ignored names: hidden, or not *.policy */
	{ NULL, "work", "vault", SVC, "allow vault 50-a.policy:1",
	  { { "50-a.policy", SVC " * @anyvm vault allow" },
	    { ".00-hidden.policy", "garbage" },
	    { "00-first.policy~", "garbage" } } },
	{ NULL, "work", "vault", SVC, "allow vault 50-a.policy:1",
	  { { "50-a.policy", SVC " * @anyvm vault allow" },
	    { "README", "garbage" },
	    { "00-X.policy.rpmnew", "garbage" } } },

	/* fail closed */
	{ NULL, "work", "vault", SVC,
	  "deny: policy invalid: Bad.policy: file name not allowed*",
	  { { "50-a.policy", SVC " * @anyvm vault allow" },
	    { "Bad.policy", SVC " * @anyvm vault allow" } } },
	{ NULL, "work", "vault", SVC,
	  "deny: policy invalid: 50 a.policy: file name not allowed*",
	  { { "50-a.policy", SVC " * @anyvm vault allow" },
	    { "50 a.policy", "" } } },
	{ NULL, "work", "vault", SVC,
	  "deny: policy invalid: 90-b.policy:3: too few fields*",
	  { { "10-a.policy", SVC " * @anyvm vault allow" },
	    { "90-b.policy", "# ok\n" SVC " * @anyvm vault deny\ngarbage\n" } } },
	{ SVC " * @anyvm vault allow\n" SVC " * @anyvm vault allow bogus=1",
	  "work", "vault", SVC,
	  "deny: policy invalid: " F ":2: unknown parameter 'bogus'" },
	{ "!compat-4.0\n" SVC " * @anyvm vault allow", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: !compat-4.0 is not supported*" },
	{ NULL, "work", "vault", SVC, "deny: no rule matched",
	  { { "README", SVC " * @anyvm vault allow" } } },

	/* ---- point 9: Qubes' meaning for what was refused or wrong ---- */

	/* !include PATH: the file's rules in place of the line; PATH is
	 * relative to the policy folder, from any file. */
	{ "!include inc/a\n", "work", "vault", SVC, "allow vault inc/a:1",
	  { { "inc/a", SVC " * @anyvm vault allow\n" } } },
	{ SVC " * work personal deny\n!include inc/a\n" SVC
	      " * @anyvm @anyvm deny notify=no\n",
	  "work", "vault", SVC, "allow vault inc/a:2",
	  { { "inc/a", SVC " * @anyvm personal allow\n" SVC
			    " * @anyvm vault allow\n" } } },
	{ SVC " * work personal deny\n!include inc/a\n" SVC
	      " * @anyvm @anyvm deny notify=no\n",
	  "work", "personal", SVC, "deny " F ":1",
	  { { "inc/a", SVC " * @anyvm personal allow\n" SVC
			    " * @anyvm vault allow\n" } } },
	{ SVC " * work personal deny\n!include inc/a\n" SVC
	      " * @anyvm @anyvm deny notify=no\n",
	  "personal", "sa", SVC, "deny " F ":3 quiet",
	  { { "inc/a", SVC " * @anyvm personal allow\n" SVC
			    " * @anyvm vault allow\n" } } },
	/* An include within an include: still from the policy folder. */
	{ "!include inc/a\n", "work", "vault", SVC, "allow vault inc/b:2",
	  { { "inc/a", "# a\n!include inc/b\n" },
	    { "inc/b", "# b\n" SVC " * @anyvm vault allow\n" } } },
	{ "!include inc/a\n", "work", "vault", SVC,
	  "deny: policy invalid: inc/a:1: cannot include b: cannot read: "
	  "No such file or directory",
	  { { "inc/a", "!include b\n" }, { "inc/b", "" } } },
	/* The same file twice is fine (Qubes' admin-policy-ro includes
	 * admin-policy-rwx, and both are included): first match. */
	{ "!include inc/a\n!include inc/a\n", "work", "vault", SVC,
	  "allow vault inc/a:1",
	  { { "inc/a", SVC " * @anyvm vault allow\n" } } },
	/* Missing, a folder, a loop: the policy is invalid. */
	{ SVC " * @anyvm vault allow\n!include nope\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":2: cannot include nope: cannot read: "
	  "No such file or directory" },
	{ "!include inc\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: cannot include inc: not a regular "
	  "file",
	  { { "inc", NULL } } },
	{ "!include " F "\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: cannot include " F ": it is being "
	  "read already (an include loop)" },
	{ "!include inc/a\n", "work", "vault", SVC,
	  "deny: policy invalid: inc/b:1: cannot include inc/a: it is being "
	  "read already (an include loop)",
	  { { "inc/a", "!include inc/b\n" },
	    { "inc/b", "!include inc/a\n" } } },
	{ "!include\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: !include takes one PATH" },
	{ "!include inc/a inc/b\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: !include takes one PATH" },
	/* An error in an included file names that file and line. */
	{ "!include inc/a\n", "work", "vault", SVC,
	  "deny: policy invalid: inc/a:2: too few fields*",
	  { { "inc/a", SVC " * @anyvm vault allow\ngarbage\n" } } },

	/* !include-dir PATH: its NAME.policy files in C-locale order,
	 * hidden and other names ignored, bad names an error. */
	{ "!include-dir inc.d\n", "work", "vault", SVC,
	  "deny inc.d/10-b.policy:1",
	  { { "inc.d/9-a.policy", SVC " * @anyvm vault allow\n" },
	    { "inc.d/10-b.policy", SVC " * @anyvm vault deny\n" },
	    { "inc.d/.0-hidden.policy", "garbage" },
	    { "inc.d/0-README", "garbage" } } },
	{ "!include-dir inc.d/\n", "work", "vault", SVC,
	  "allow vault inc.d/9-a.policy:1",
	  { { "inc.d/9-a.policy", SVC " * @anyvm vault allow\n" },
	    { "inc.d/0-a.policy~", "garbage" } } },
	{ "!include-dir inc.d\n", "work", "vault", SVC,
	  "deny: policy invalid: inc.d/Bad.policy: file name not allowed*",
	  { { "inc.d/9-a.policy", SVC " * @anyvm vault allow\n" },
	    { "inc.d/Bad.policy", "" } } },
	{ "!include-dir nope\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: cannot include the folder nope: No "
	  "such file or directory" },
	{ "!include-dir inc/a\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: cannot include the folder inc/a: "
	  "not a folder",
	  { { "inc/a", "" } } },
	/* The policy folder itself holds the file that includes it. */
	{ "!include-dir .\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: cannot include ./" F ": it is "
	  "being read already (an include loop)" },
	/* Files of !include-dir include from the policy folder too. */
	{ "!include-dir inc.d\n", "work", "vault", SVC,
	  "allow vault inc/b:1",
	  { { "inc.d/50-a.policy", "!include inc/b\n" },
	    { "inc/b", SVC " * @anyvm vault allow\n" } } },

	/* !include-service SERVICE ARGUMENT PATH: lines SOURCE TARGET
	 * ACTION [PARAMS], for that service and argument only. */
	{ "!include-service " SVC " * inc/s\n", "work", "vault", SVC "+x",
	  "allow vault inc/s:1", { { "inc/s", "work vault allow\n" } } },
	{ "!include-service " SVC " * inc/s\n", "work", "vault",
	  "other.Service", "deny: no rule matched",
	  { { "inc/s", "work vault allow\n" } } },
	{ "!include-service " SVC " +x inc/s\n", "work", "vault", SVC "+x",
	  "allow vault user=root inc/s:2",
	  { { "inc/s", "# x only\nwork vault allow user=root\n" } } },
	{ "!include-service " SVC " +x inc/s\n", "work", "vault", SVC "+y",
	  "deny: no rule matched",
	  { { "inc/s", "work vault allow\n" } } },
	{ "!include-service * * inc/s\n", "work", "vault", "any.Thing+z",
	  "deny inc/s:1 quiet",
	  { { "inc/s", "@anyvm @anyvm deny notify=no\n" } } },
	/* Qubes 4.0 syntax in such files: $ for @, commas, $include:. */
	{ "!include-service " SVC " * inc/s\n", "work", "@default", SVC,
	  "allow vault inc/s:1",
	  { { "inc/s", "$anyvm $default allow,target=vault\n" } } },
	{ "!include-service " SVC " * inc/s\n", "work", "vault", SVC,
	  "allow vault user=root inc/t:1",
	  { { "inc/s", "$include:inc/t\n" },
	    { "inc/t", "$anyvm vault allow,user=root\n" } } },
	{ "!include-service " SVC " * inc/s\n", "work", "vault", SVC,
	  "allow vault inc/t:1",
	  { { "inc/s", "!include inc/t\n" },
	    { "inc/t", "@anyvm vault allow\n" } } },
	{ "!include-service " SVC " * inc/s\n", "work", "vault", SVC,
	  "deny: policy invalid: inc/s:1: '!include-dir': a file read by "
	  "!include-service takes no directive but !include",
	  { { "inc/s", "!include-dir inc\n" } } },
	{ "!include-service " SVC " * inc/s\n", "work", "vault", SVC,
	  "deny: policy invalid: inc/s:1: too few fields: a line of a file "
	  "read by !include-service*",
	  { { "inc/s", "work vault\n" } } },
	{ "!include-service * +x inc/s\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: when SERVICE is *, ARGUMENT must "
	  "be * too",
	  { { "inc/s", "work vault allow\n" } } },
	{ "!include-service " SVC " inc/s\n", "work", "vault", SVC,
	  "deny: policy invalid: " F ":1: !include-service takes SERVICE "
	  "ARGUMENT PATH" },

	/* uuid:UUID names the qube with that uuid; dom0's is dom0. */
	{ SVC " * uuid:" UUID_WORK " vault allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * uuid:" UUID_WORK " vault allow", "personal", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm uuid:" UUID_VAULT " allow", "work", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm uuid:" UUID_VAULT " allow", "work", "personal", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm uuid:" UUID_VAULT " allow", "work",
	  "uuid:" UUID_VAULT, SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm vault allow", "work", "uuid:" UUID_VAULT, SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @type:AppVM allow", "work", "uuid:" UUID_VAULT, SVC,
	  "allow vault " F ":1" },
	/* A uuid that is no qube's is @default, as an unknown name is. */
	{ SVC " * @anyvm @default allow target=vault", "work",
	  "uuid:" UUID_NONE, SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow", "work", "uuid:XYZ", SVC,
	  "deny: the target is not a valid name" },
	{ SVC " * @anyvm uuid:" UUID_NONE " allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @anyvm allow target=uuid:" UUID_VAULT, "work",
	  "personal", SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=uuid:" UUID_NONE, "work",
	  "personal", SVC, "deny " F ":1: no qube has uuid " UUID_NONE },
	{ SVC " * @anyvm @anyvm allow target=uuid:" UUID_DOM0, "work",
	  "personal", SVC, "allow dom0 " F ":1" },
	{ SVC " * uuid:" UUID_DOM0 " vault allow", "dom0", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm uuid:" UUID_DOM0 " allow", "work", "@adminvm", SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm @adminvm allow", "work", "uuid:" UUID_DOM0, SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm uuid:" UUID_DOM0 " allow", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm vault allow", "work", "uuid:" UUID_DOM0, SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @dispvm:uuid:" UUID_DVM " allow", "work",
	  "@dispvm:dvm", SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:uuid:" UUID_DVM " allow", "work", "@dispvm",
	  SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @dispvm:dvm allow", "work", "@dispvm:uuid:" UUID_DVM,
	  SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @anyvm @anyvm allow", "work", "@dispvm:uuid:" UUID_VAULT,
	  SVC, "deny: the target is not a template for disposables" },
	{ SVC " * @anyvm @anyvm allow target=@dispvm:uuid:" UUID_DVM, "work",
	  "vault", SVC, "allow @dispvm:dvm " F ":1" },
	{ SVC " * @dispvm:uuid:" UUID_DVM " vault allow", "disp1", "vault",
	  SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm ask target=uuid:" UUID_VAULT, "work",
	  "personal", SVC, "ask [vault] " F ":1" },
	{ SVC " * @anyvm uuid:" UUID_VAULT " allow\n" SVC
	      " * @anyvm @default ask default_target=uuid:" UUID_VAULT,
	  "work", "@default", SVC, "ask [vault] default=vault " F ":2" },
	{ SVC " * @anyvm @anyvm allow", "work", "uuid:" UUID_WORK, SVC,
	  "deny " F ":1: a qube cannot call itself" },
	{ SVC " * @anyvm @anyvm allow target=uuid:" UUID_DVM, "work",
	  "@default", SVC, "allow dvm " F ":1" },
	{ SVC " * @anyvm @anyvm ask default_target=uuid:" UUID_VAULT, "work",
	  "@default", SVC, "ask [" ALL_BUT_WORK "] default=vault " F ":1" },
	{ SVC " * @anyvm @anyvm ask default_target=uuid:" UUID_NONE, "work",
	  "@default", SVC, "ask [" ALL_BUT_WORK "] " F ":1" },
	/* A running disposable the store does not record has a uuid too:
	 * as SOURCE, by uuid or as made from dvm; as a target it is no
	 * qube (the daemon routes no call to it), by name or uuid. */
	{ SVC " * uuid:" UUID_DISP7 " vault allow", "disp7", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * uuid:" UUID_DISP7 " vault allow", "disp1", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @dispvm:dvm vault allow", "disp7", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @dispvm:uuid:" UUID_DVM " vault allow", "disp7", "vault",
	  SVC, "allow vault " F ":1" },
	{ SVC " * @type:DispVM vault allow", "disp7", "vault", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm uuid:" UUID_DISP7 " allow", "work",
	  "uuid:" UUID_DISP7, SVC, "deny: no rule matched" },
	{ SVC " * @anyvm @default allow target=vault", "work",
	  "uuid:" UUID_DISP7, SVC, "allow vault " F ":1" },
	{ SVC " * @anyvm @default allow target=vault", "work", "disp7", SVC,
	  "allow vault " F ":1" },
	{ SVC " * @anyvm @anyvm allow target=uuid:" UUID_DISP7, "work",
	  "vault", SVC, "deny " F ":1: no qube disp7" },
	{ SVC " * @anyvm @anyvm allow target=disp7", "work", "vault", SVC,
	  "deny " F ":1: no qube disp7" },
	{ SVC " * @anyvm @type:DispVM ask", "work", "vault", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @anyvm ask", "work", "vault", SVC,
	  "ask [" ALL_BUT_WORK "] " F ":1" },

	/* ask offers the target= of the rules it matches, @default ones
	 * included, as Qubes' collect_targets_for_ask does. */
	{ SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @default allow target=vault\n",
	  "work", "@default", SVC, "ask [vault] " F ":1" },
	{ SVC " * work @default allow target=vault\n" SVC
	      " * work personal ask\n",
	  "work", "personal", SVC, "ask [personal,vault] " F ":2" },
	{ SVC " * @anyvm @default ask default_target=vault\n" SVC
	      " * @anyvm @default allow target=vault\n",
	  "work", "", SVC, "ask [vault] default=vault " F ":1" },
	{ SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @default ask target=@dispvm\n" SVC
	      " * @anyvm @default allow target=dom0\n",
	  "work", "@default", SVC, "ask [dom0,@dispvm:dvm] " F ":1" },
	/* An earlier deny removes the target (walking backwards). */
	{ SVC " * @anyvm vault deny\n" SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @default allow target=vault\n",
	  "work", "@default", SVC,
	  "deny " F ":2: ask, but no target to offer" },
	/* A later deny does not: the @default call goes to vault first. */
	{ SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @default allow target=vault\n" SVC
	      " * @anyvm vault deny\n",
	  "work", "@default", SVC, "ask [vault] " F ":1" },
	/* Another source's redirect is not offered. */
	{ SVC " * @anyvm @default ask\n" SVC
	      " * personal @default allow target=vault\n" SVC
	      " * work @default allow target=sa\n",
	  "work", "@default", SVC, "ask [sa] " F ":1" },
	/* Nor another service's. */
	{ SVC " * @anyvm @default ask\n"
	  "other.Svc * @anyvm @default allow target=vault\n",
	  "work", "@default", SVC,
	  "deny " F ":1: ask, but no target to offer" },
	/* A deny for @dispvm:dvm removes @dispvm where it means dvm
	 * (work's default), as evaluation denies work's call for @dispvm;
	 * @dispvm:dvm2 stays. */
	{ SVC " * @anyvm @dispvm:dvm deny\n" SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @dispvm allow\n" SVC " * @anyvm vault allow\n",
	  "work", "@default", SVC, "ask [vault] " F ":2" },
	{ SVC " * @anyvm @dispvm:@tag:dvmtag deny\n" SVC
	      " * @anyvm @default ask\n" SVC " * @anyvm @dispvm allow\n" SVC
	      " * @anyvm vault allow\n",
	  "work", "@default", SVC, "ask [vault] " F ":2" },
	{ SVC " * @anyvm @dispvm:dvm deny\n" SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm @dispvm:dvm2 allow\n",
	  "personal", "@default", SVC, "ask [@dispvm:dvm2] " F ":2" },
	/* A deny for @dispvm leaves @dispvm:dvm that @anyvm adds: a call
	 * for @dispvm:dvm would be asked (Qubes' meaning). */
	{ SVC " * @anyvm @dispvm deny\n" SVC " * @anyvm @anyvm ask\n", "work",
	  "@default", SVC, "ask [" ALL_BUT_WORK "] " F ":2" },
	/* A deny for @adminvm removes dom0 however it was added. */
	{ SVC " * @anyvm @adminvm deny\n" SVC " * @anyvm @default ask\n" SVC
	      " * @anyvm dom0 allow\n" SVC " * @anyvm vault allow\n",
	  "work", "@default", SVC, "ask [vault] " F ":2" },

	/* @type:AdminVM is dom0 by name (dom0, or its uuid), not a call
	 * for the keyword @adminvm: Qubes looks it up among the qubes. */
	{ SVC " * @anyvm @type:AdminVM allow", "work", "@adminvm", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @type:AdminVM allow", "work", "uuid:" UUID_DOM0, SVC,
	  "allow dom0 " F ":1" },
	{ SVC " * @anyvm @type:AdminVM allow\n" SVC
	      " * @anyvm @adminvm allow user=root",
	  "work", "@adminvm", SVC, "allow dom0 user=root " F ":2" },
	{ SVC " * @anyvm @type:AdminVM ask", "work", "@adminvm", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm @type:AdminVM ask", "work", "dom0", SVC,
	  "ask [dom0] " F ":1" },
	{ SVC " * @anyvm @type:AdminVM allow\n" SVC
	      " * @anyvm @default ask\n",
	  "work", "@default", SVC, "ask [dom0] " F ":2" },
	/* dom0, @adminvm and uuid:0 are the same otherwise (Qubes'
	 * test_064 .. test_074). */
	{ SVC " * @anyvm dom0 ask default_target=@adminvm", "work", "dom0",
	  SVC, "ask [dom0] default=dom0 " F ":1" },
	{ SVC " * @anyvm @adminvm ask default_target=uuid:" UUID_DOM0, "work",
	  "dom0", SVC, "ask [dom0] default=dom0 " F ":1" },
	{ SVC " * @anyvm @default ask target=uuid:" UUID_DOM0
	      " default_target=dom0",
	  "work", "@default", SVC, "ask [dom0] default=dom0 " F ":1" },
	{ SVC " * @anyvm vault allow", "work", "@adminvm", SVC,
	  "deny: no rule matched" },
	{ SVC " * @anyvm dom0 allow", "work", "vault", SVC,
	  "deny: no rule matched" },
};
#pragma GCC diagnostic pop

/* ---- running a row ---- */

static void write_file(const char *dir, const struct file *f)
{
	char path[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(bh_mkdir_p(path, 0755), 0);
	*slash = '/';
	if (!f->text) {
		assert_int_equal(bh_mkdir_p(path, 0755), 0);
		return;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(f->text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

/* One line per decision:
 *   allow TARGET [user=U] [notify] [noautostart] FILE:LINE
 *   ask [T1,T2,...] [default=T] [user=U] [notify] [noautostart] FILE:LINE
 *   deny FILE:LINE [quiet] | deny FILE:LINE: why | deny: why */
static void show(const struct policy_decision *d, char *out, size_t cap)
{
	size_t n = 0, i;

#define ADD(...) n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__)
	if (d->action == POLICY_DENY) {
		if (!d->line)
			ADD("deny: %s", d->reason);
		else if (strcmp(d->reason, "denied by policy"))
			ADD("deny %s:%u: %s", d->file, d->line, d->reason);
		else
			ADD("deny %s:%u%s", d->file, d->line,
			    d->notify ? "" : " quiet");
		return;
	}
	if (d->action == POLICY_ALLOW) {
		ADD("allow %s ", d->target);
	} else {
		ADD("ask [");
		for (i = 0; i < d->targets.n; i++)
			ADD("%s%s", i ? "," : "", d->targets.name[i]);
		ADD("] ");
		if (d->default_target[0])
			ADD("default=%s ", d->default_target);
	}
	if (d->user[0])
		ADD("user=%s ", d->user);
	if (d->notify)
		ADD("notify ");
	if (!d->autostart)
		ADD("noautostart ");
	ADD("%s:%u", d->file, d->line);
#undef ADD
}

static int matches(const char *expect, const char *got)
{
	size_t n = strlen(expect);

	if (n && expect[n - 1] == '*')
		return !strncmp(expect, got, n - 1);
	return !strcmp(expect, got);
}

/* Decides src → tgt for call ("SERVICE" or "SERVICE+ARG", split at the
 * first '+' without checks: the engine must check) under pol. */
static void decide(const struct policy *pol, const char *src,
		   const char *tgt, const char *call, char *out, size_t cap)
{
	char svc[512];
	const char *plus = strchr(call, '+');
	struct policy_request req;
	struct policy_decision d;

	snprintf(svc, sizeof(svc), "%.*s",
		 (int)(plus ? (size_t)(plus - call) : strlen(call)), call);
	req = (struct policy_request){ src, tgt, svc, plus ? plus + 1 : NULL };
	assert_int_equal(policy_evaluate(pol, &sys, &req, &d), 0);
	show(&d, out, cap);
	policy_decision_free(&d);
	assert_null(d.targets.name);
}

/* Returns 1 (and says why) when the row fails. */
static int run_row(size_t i, const struct row *r)
{
	char dir[] = "/tmp/bh-policy-test.XXXXXX", got[1024];
	struct policy *pol = NULL;
	size_t k;

	assert_non_null(mkdtemp(dir));
	if (r->policy)
		write_file(dir, &(struct file){ F, r->policy });
	for (k = 0; k < ARRAY_LEN(r->files) && r->files[k].name; k++)
		write_file(dir, &r->files[k]);
	(void)policy_load_dir(dir, &pol, NULL);
	assert_non_null(pol);
	decide(pol, r->src, r->tgt, r->call, got, sizeof(got));
	policy_free(pol);
	assert_int_equal(bh_rm_rf(dir), 0);
	if (matches(r->expect, got))
		return 0;
	print_error("row %zu (%s -> %s %s):\n  expected: %s\n  got:      %s\n",
		    i, r->src, r->tgt, r->call, r->expect, got);
	return 1;
}

/* Every row runs, so that a change shows every row it breaks. */
static void test_table(void **state)
{
	size_t i, failed = 0;

	(void)state;
	assert_true(ARRAY_LEN(rows) >= 60);
	for (i = 0; i < ARRAY_LEN(rows); i++)
		failed += (size_t)run_row(i, &rows[i]);
	if (failed)
		fail_msg("%zu of %zu rows failed", failed, ARRAY_LEN(rows));
}

/* ---- beyond the table ---- */

static void test_no_policy(void **state)
{
	char got[512];
	struct policy *pol = NULL;
	struct policy_errs errs;

	(void)state;
	decide(NULL, "work", "vault", SVC, got, sizeof(got));
	assert_string_equal(got, "deny: policy invalid: not loaded");
	assert_int_equal(policy_load_dir("/nonexistent/bh-policy.d", &pol,
					 &errs),
			 -EINVAL);
	assert_non_null(pol);
	assert_false(policy_valid(pol));
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.msg[0], "cannot open the policy folder"));
	decide(pol, "work", "vault", SVC, got, sizeof(got));
	assert_true(matches("deny: policy invalid: /nonexistent/bh-policy.d: "
			    "cannot open*",
			    got));
	policy_free(pol);
}

/* policy_ask_targets on its own, and on a request it must refuse. */
static void test_ask_targets(void **state)
{
	static const char text[] = SVC " * @anyvm @tag:home ask\n" SVC
				       " * @anyvm dom0 allow\n";
	struct policy_request req = { "work", "@default", SVC, NULL };
	struct policy_targets t;
	struct policy *pol;

	(void)state;
	assert_int_equal(policy_parse_buf(F, text, strlen(text), &pol, NULL), 0);
	assert_int_equal(policy_ask_targets(pol, &sys, &req, &t), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.name[0], "dom0");
	assert_string_equal(t.name[1], "personal");
	policy_targets_free(&t);
	assert_null(t.name);
	req.untrusted_service = "bad service";
	assert_int_equal(policy_ask_targets(pol, &sys, &req, &t), -EINVAL);
	assert_null(t.name);
	assert_int_equal(t.n, 0);
	policy_free(pol);
}

/* Qubes' test_020_collect_targets_for_ask (qrexec/tests/policy/
 * parser.py), its rules put on this file's system: which targets an ask
 * from each source would offer. */
static void test_collect_like_qubes(void **state)
{
	static const char text[] =
		"* * work personal allow\n"
		"* * work @anyvm ask\n"
		"* * personal @tag:corp deny\n"
		"* * personal @tag:home allow\n"
		"* * vault @type:AppVM deny\n"
		"* * @type:AppVM @default allow target=fedora\n"
		"* * @tag:corp @type:AppVM allow\n"
		"* * vault @dispvm allow\n"
		"* * sa @dispvm allow\n"
		"* * sa @adminvm allow\n"
		"* * uuid:" UUID_WORK " bogus2 deny\n"
		"* * uuid:" UUID_VAULT " uuid:" UUID_DVM " ask\n"
		"* * fedora @dispvm:uuid:" UUID_DVM " ask\n";
	static const struct {
		const char *source, *expect;
	} cases[] = {
		{ "work", "personal,vault,dvm,dvm2,fedora,sa,disp1,@dispvm:dvm,"
			  "@dispvm:dvm2" },
		/* Only the @default rule's target=: the deny for @tag:corp
		 * removes work, and the source is never offered. */
		{ "personal", "fedora" },
		/* The deny for @type:AppVM removes dvm that uuid:UUID_DVM
		 * added; @dispvm has no default_dispvm to go to. */
		{ "vault", "fedora" },
		{ "sa", "dom0" },
		{ "fedora", "@dispvm:dvm" },
		{ "dvm", "fedora" },
		{ "disp1", "" },
	};
	struct policy_request req = { NULL, "@default", "test.Service", "arg" };
	struct policy_targets t;
	struct policy *pol;
	char got[512];
	size_t i, j, n;

	(void)state;
	assert_int_equal(policy_parse_buf(F, text, strlen(text), &pol, NULL), 0);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		req.source = cases[i].source;
		assert_int_equal(policy_ask_targets(pol, &sys, &req, &t), 0);
		for (j = 0, n = 0; j < t.n; j++)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
					      j ? "," : "", t.name[j]);
		got[n] = '\0';
		policy_targets_free(&t);
		if (strcmp(got, cases[i].expect))
			fail_msg("%s: expected [%s], got [%s]", cases[i].source,
				 cases[i].expect, got);
	}
	policy_free(pol);
}

static void test_split_call(void **state)
{
	char svc[POLICY_SERVICE_MAX + 1], arg[POLICY_ARG_MAX + 1];
	char longarg[POLICY_ARG_MAX + 64];

	(void)state;
	assert_int_equal(policy_split_call("bulkhead.Filecopy", svc,
					   sizeof(svc), arg, sizeof(arg)),
			 0);
	assert_string_equal(svc, "bulkhead.Filecopy");
	assert_string_equal(arg, "");
	assert_int_equal(policy_split_call("a.B+x+y", svc, sizeof(svc), arg,
					   sizeof(arg)),
			 0);
	assert_string_equal(svc, "a.B");
	assert_string_equal(arg, "x+y");
	assert_int_equal(policy_split_call("a.B+", svc, sizeof(svc), arg,
					   sizeof(arg)),
			 0);
	assert_string_equal(arg, "");
	assert_int_equal(policy_split_call("+x", svc, sizeof(svc), arg,
					   sizeof(arg)),
			 -EINVAL);
	assert_int_equal(policy_split_call("a b", svc, sizeof(svc), arg,
					   sizeof(arg)),
			 -EINVAL);
	assert_int_equal(policy_split_call("a+\x1b[31m", svc, sizeof(svc),
					   arg, sizeof(arg)),
			 -EINVAL);
	/* An argument the service would take for an option. */
	assert_int_equal(policy_split_call("a.B+--help", svc, sizeof(svc),
					   arg, sizeof(arg)),
			 -EINVAL);
	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	longarg[1] = '+';
	assert_int_equal(policy_split_call(longarg, svc, sizeof(svc), arg,
					   sizeof(arg)),
			 -EINVAL);
	/* A cap too small for the part is refused, never overrun. */
	assert_int_equal(policy_split_call("abcdef+x", svc, 4, arg,
					   sizeof(arg)),
			 -EINVAL);
}

/* The shipped files (etc/policy.d; tests run from the top folder). */
static void test_default_policy(void **state)
{
	struct policy_errs errs;
	struct policy *pol = NULL;
	char got[1024];

	(void)state;
	assert_int_equal(policy_load_dir("etc/policy.d", &pol, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_true(policy_rule_count(pol) >= 8);
	decide(pol, "work", "@default", "bulkhead.Filecopy", got, sizeof(got));
	assert_true(matches("ask [" ALL_BUT_WORK "] 90-default.policy:*", got));
	decide(pol, "work", "@dispvm", "bulkhead.VMShell", got, sizeof(got));
	assert_true(matches("allow @dispvm:dvm 90-default.policy:*", got));
	decide(pol, "work", "vault", "bulkhead.VMShell", got, sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@dispvm", "bulkhead.VMExec+ls", got, sizeof(got));
	assert_true(matches("allow @dispvm:dvm 90-default.policy:*", got));
	decide(pol, "work", "vault", "bulkhead.VMExec+ls", got, sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@dispvm", "bulkhead.VMRootShell", got,
	       sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@dispvm", "bulkhead.OpenInVM", got, sizeof(got));
	assert_true(matches("allow @dispvm:dvm 90-default.policy:*", got));
	decide(pol, "work", "vault", "bulkhead.OpenInVM", got, sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@default", "bulkhead.OpenInVM", got, sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@dispvm:dvm", "bulkhead.OpenInVM", got,
	       sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "@dispvm", "bulkhead.OpenInVM+x", got,
	       sizeof(got));
	assert_true(matches("allow @dispvm:dvm 90-default.policy:*", got));
	/* A disposable opening a file in a new one of its own. */
	decide(pol, "disp1", "@dispvm", "bulkhead.OpenInVM", got, sizeof(got));
	assert_true(matches("allow @dispvm:dvm 90-default.policy:*", got));
	decide(pol, "vault", "@dispvm", "bulkhead.OpenInVM", got, sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	assert_non_null(strstr(got, "no default_dispvm"));
	decide(pol, "fedora", "@default", "bulkhead.UpdatesProxy", got,
	       sizeof(got));
	assert_true(matches("deny 90-default.policy:*", got));
	decide(pol, "work", "dom0", "bulkhead.Anything", got, sizeof(got));
	assert_string_equal(got, "deny: no rule matched");
	policy_free(pol);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* "A policy change takes effect on the next call": the daemon may reload
 * for every call because loading the shipped files is cheap. The bound is
 * loose (sanitizers, busy machines); the figure goes to stdout. */
static void test_load_time(void **state)
{
	struct policy *pol;
	double t0, per;
	int i, n = 200;

	(void)state;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		assert_int_equal(policy_load_dir("etc/policy.d", &pol, NULL), 0);
		policy_free(pol);
	}
	per = (now_us() - t0) / n;
	printf("policy: loading etc/policy.d takes %.1f us\n", per);
	assert_true(per < 5000.0);
}

/* ---- admin.policy.Lint and admin.policy.Check on a real store ---- */

struct afx {
	char root[64], state[128], pdir[128];
	struct store *s;
	struct admin_reply r;
};

static unsigned acall(struct afx *f, const char *method, const char *dest,
		      const char *arg, const char *body)
{
	static uint8_t buf[BH_FRAME_MAX_PAYLOAD];
	int n = bh_admin_call_encode(buf, sizeof(buf), method, dest, arg, body,
				     body ? strlen(body) : 0);

	assert_true(n > 0);
	return admin_call(f->s, f->state, buf, (uint32_t)n, &f->r);
}

/* The uuid bh prefs shows for qube. */
static void uuid_of(struct afx *f, const char *qube,
		    char out[QUBE_UUID_LEN + 1])
{
	static const char head[] = "default=False type=str ";

	assert_int_equal(acall(f, "admin.vm.property.Get", qube, "uuid",
			       NULL), 0);
	assert_int_equal(strncmp(f->r.text, head, strlen(head)), 0);
	snprintf(out, QUBE_UUID_LEN + 1, "%s", f->r.text + strlen(head));
	assert_true(qube_uuid_ok(out));
}

/* policy_system_load gives the store's uuids; policy_system_add adds a
 * running disposable (a source only), and never a second qube of a
 * name the store has. */
static void system_add(struct afx *f, const char *uuid_work)
{
	static const struct policy_qube more[] = {
		{ .name = "disp3", .cls = "DispVM", .dispvm_base = "dvm",
		  .running = 1, .uuid = UUID_DISP7, .no_target = 1 },
		{ .name = "work", .cls = "DispVM", .uuid = UUID_NONE },
	};
	struct policy_system ps;
	struct policy_decision d;
	struct policy *pol = NULL;
	char err[1024];

	assert_int_equal(policy_system_load(f->s, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.nqubes, 4); /* minimal, work, vault, dvm */
	assert_int_equal(policy_system_add(&ps, more, ARRAY_LEN(more)), 0);
	assert_int_equal(ps.nqubes, 5);
	assert_string_equal(ps.qubes[4].name, "disp3");
	static const char text[] = SVC " * @anyvm uuid:" UUID_DISP7
				       " allow\n" SVC " * uuid:" UUID_DISP7
				       " @anyvm allow\n";
	const struct policy_qube *q;

	assert_int_equal(policy_parse_buf(F, text, strlen(text), &pol, NULL),
			 0);
	assert_int_equal(policy_evaluate(pol, &ps,
					 &(struct policy_request){
						 "disp3", "work", SVC, NULL },
					 &d),
			 0);
	assert_int_equal(d.action, POLICY_ALLOW);
	assert_string_equal(d.target, "work");
	assert_int_equal(d.line, 2);
	policy_decision_free(&d);
	assert_int_equal(policy_evaluate(pol, &ps,
					 &(struct policy_request){
						 "work", "uuid:" UUID_DISP7,
						 SVC, NULL },
					 &d),
			 0);
	assert_int_equal(d.action, POLICY_DENY);
	policy_decision_free(&d);
	/* work is the store's, uuid and all. */
	q = policy_find_uuid(&ps, uuid_work);
	assert_non_null(q);
	assert_string_equal(q->name, "work");
	assert_string_equal(q->cls, "AppVM");
	assert_null(policy_find_uuid(&ps, UUID_NONE));
	policy_free(pol);
	policy_system_free(&ps);
}

static void test_admin_calls(void **state)
{
	static struct afx fx;
	struct afx *f = &fx;
	char err[1024], path[256];
	char uw[QUBE_UUID_LEN + 1], uv[QUBE_UUID_LEN + 1];

	(void)state;
	strcpy(f->root, "/tmp/bh-policy-admin.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->state, sizeof(f->state), "%s/var/lib/bulkhead", f->root);
	snprintf(f->pdir, sizeof(f->pdir), "%s/etc/bulkhead/policy.d",
		 f->root);
	assert_int_equal(bh_mkdir_p(f->state, 0700), 0);
	assert_int_equal(store_boot(f->state, &f->s, err, sizeof(err)), 0);
	assert_int_equal(acall(f, "admin.vm.Create.AppVM", "work", "minimal",
			       "label=red"), 0);
	assert_int_equal(acall(f, "admin.vm.Create.AppVM", "vault", "minimal",
			       "label=black"), 0);
	assert_int_equal(acall(f, "admin.vm.Create.AppVM", "dvm", "minimal",
			       "label=red template_for_dispvms=True"), 0);
	assert_int_equal(acall(f, "admin.property.Set", "", "default_dispvm",
			       "dvm"), 0);
	assert_int_equal(acall(f, "admin.vm.tag.Set", "work", "corp", NULL),
			 0);

	/* No policy folder: invalid, and says why. */
	assert_int_equal(acall(f, "admin.policy.Lint", "", "", NULL),
			 BH_ADMIN_INVALID);
	assert_non_null(strstr(f->r.text, "cannot open the policy folder"));

	assert_int_equal(bh_mkdir_p(f->pdir, 0755), 0);
	write_file(f->pdir,
		   &(struct file){ "90-t.policy",
				   "bulkhead.Filecopy * @anyvm @anyvm ask "
				   "default_target=vault\n"
				   "bulkhead.VMShell * @tag:corp @dispvm "
				   "allow\n"
				   "* * @anyvm @anyvm deny notify=no\n" });
	assert_int_equal(acall(f, "admin.policy.Lint", "", "", NULL), 0);
	assert_string_equal(f->r.text, "OK\n");
	assert_int_equal(acall(f, "admin.policy.Lint", "work", "", NULL),
			 BH_ADMIN_INVALID);

	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work @dispvm bulkhead.VMShell"), 0);
	assert_string_equal(f->r.text,
			    "allow target=@dispvm:dvm user=DEFAULT notify=no "
			    "autostart=yes (90-t.policy:2)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work @default bulkhead.Filecopy+x"), 0);
	assert_string_equal(f->r.text,
			    "ask targets=dvm,minimal,vault,@dispvm:dvm "
			    "default_target=vault user=DEFAULT notify=no "
			    "autostart=yes (90-t.policy:1)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "vault @dispvm bulkhead.VMShell"), 0);
	assert_string_equal(f->r.text, "deny (90-t.policy:3)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "dom0 work bulkhead.VMShell"), 0);
	assert_string_equal(f->r.text, "deny (no rule matched)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "nosuch work x"), BH_ADMIN_NOSUCH);
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work vault bad/svc"), BH_ADMIN_INVALID);
	assert_int_equal(acall(f, "admin.policy.Check", "", "", "work vault"),
			 BH_ADMIN_INVALID);
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work vault a b"), BH_ADMIN_INVALID);

	/* Each qube's uuid, from the store, names it (uuid:UUID). */
	uuid_of(f, "work", uw);
	uuid_of(f, "vault", uv);
	assert_string_not_equal(uw, uv);
	snprintf(path, sizeof(path),
		 "bulkhead.Uuid * uuid:%s uuid:%s allow\n"
		 "bulkhead.Uuid2 * @anyvm @anyvm allow target=uuid:%s\n",
		 uw, uv, uv);
	write_file(f->pdir, &(struct file){ "50-uuid.policy", path });
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work vault bulkhead.Uuid"), 0);
	assert_string_equal(f->r.text,
			    "allow target=vault user=DEFAULT notify=no "
			    "autostart=yes (50-uuid.policy:1)\n");
	snprintf(path, sizeof(path), "work uuid:%s bulkhead.Uuid", uv);
	assert_int_equal(acall(f, "admin.policy.Check", "", "", path), 0);
	assert_string_equal(f->r.text,
			    "allow target=vault user=DEFAULT notify=no "
			    "autostart=yes (50-uuid.policy:1)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "dvm vault bulkhead.Uuid"), 0);
	assert_string_equal(f->r.text, "deny (90-t.policy:3)\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "dvm work bulkhead.Uuid2"), 0);
	assert_string_equal(f->r.text,
			    "allow target=vault user=DEFAULT notify=no "
			    "autostart=yes (50-uuid.policy:2)\n");
	system_add(f, uw);
	snprintf(path, sizeof(path), "%.128s/50-uuid.policy", f->pdir);
	assert_int_equal(unlink(path), 0);

	/* One bad file: lint lists every error, Check denies everything. */
	write_file(f->pdir, &(struct file){ "99-bad.policy",
					    "x\n# ok\ny * @anyvm @foo deny\n" });
	assert_int_equal(acall(f, "admin.policy.Lint", "", "", NULL),
			 BH_ADMIN_INVALID);
	assert_string_equal(f->r.text,
			    "99-bad.policy:1: too few fields: a rule is SERVICE "
			    "ARGUMENT SOURCE TARGET ACTION [PARAM=VALUE]...\n"
			    "99-bad.policy:3: unknown token '@foo' in TARGET\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work @dispvm bulkhead.VMShell"), 0);
	assert_true(matches("deny (policy invalid: 99-bad.policy:1: too few "
			    "fields*",
			    f->r.text));

	/* Includes: Check names the included file's line; lint names the
	 * included file's errors, and a missing include at its line. */
	snprintf(path, sizeof(path), "%.128s/99-bad.policy", f->pdir);
	assert_int_equal(unlink(path), 0);
	write_file(f->pdir, &(struct file){ "10-inc.policy",
					    "!include include/svc\n"
					    "!include-service bulkhead.Test * "
					    "include/short\n" });
	write_file(f->pdir, &(struct file){ "include/svc",
					    "bulkhead.VMExec * @anyvm "
					    "@dispvm allow\n" });
	write_file(f->pdir, &(struct file){ "include/short",
					    "# old syntax\n"
					    "$anyvm $default allow,target=vault\n" });
	assert_int_equal(acall(f, "admin.policy.Lint", "", "", NULL), 0);
	assert_string_equal(f->r.text, "OK\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work @default bulkhead.Test+x"), 0);
	assert_string_equal(f->r.text,
			    "allow target=vault user=DEFAULT notify=no "
			    "autostart=yes (include/short:2)\n");
	write_file(f->pdir, &(struct file){ "include/svc",
					    "# ok\nbulkhead.VMExec * @anyvm\n"
					    "!include include/gone\n" });
	assert_int_equal(acall(f, "admin.policy.Lint", "", "", NULL),
			 BH_ADMIN_INVALID);
	assert_string_equal(f->r.text,
			    "include/svc:2: too few fields: a rule is SERVICE "
			    "ARGUMENT SOURCE TARGET ACTION [PARAM=VALUE]...\n"
			    "include/svc:3: cannot include include/gone: "
			    "cannot read: No such file or directory\n");
	assert_int_equal(acall(f, "admin.policy.Check", "", "",
			       "work @default bulkhead.Test"), 0);
	assert_true(matches("deny (policy invalid: include/svc:2: too few "
			    "fields*",
			    f->r.text));
	store_close(f->s);
	assert_int_equal(bh_rm_rf(f->root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_policy),
		cmocka_unit_test(test_ask_targets),
		cmocka_unit_test(test_collect_like_qubes),
		cmocka_unit_test(test_split_call),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_load_time),
		cmocka_unit_test(test_admin_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
