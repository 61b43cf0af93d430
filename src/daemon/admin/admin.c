#include "daemon/admin/admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin/admin_handlers.h"
#include "daemon/core/client_send.h"
#include "daemon/core/daemon.h"
#include "lib/log.h"
#include "proto/admin.h"

#define S ADMIN_KIND_STORE
#define J ADMIN_KIND_JOB
#define R ADMIN_KIND_RUNTIME
#define L ADMIN_KIND_SUBSCRIBE

/* Every admin method, once (tests/unit/test_admin.c checks that it is
 * the list of docs/admin-api.md). The handlers live in their subject's
 * file; only the routing is here. */
const struct admin_method admin_methods[] = {
	/* Qube records (admin_vm.c, admin_prop.c, admin_feature.c). */
	{ "admin.vm.List", admin_vm_list, S },
	{ "admin.vm.Remove", admin_vm_remove, S },
	{ "admin.vm.property.List", admin_vm_prop_list, S },
	{ "admin.vm.property.Get", admin_vm_prop_get, S },
	{ "admin.vm.property.Set", admin_vm_prop_set, S },
	{ "admin.vm.property.Reset", admin_vm_prop_reset, S },
	{ "admin.property.List", admin_global_list, S },
	{ "admin.property.Get", admin_global_get, S },
	{ "admin.property.Set", admin_global_set, S },
	{ "admin.property.Reset", admin_global_reset, S },
	{ "admin.vm.feature.List", admin_feature_list, S },
	{ "admin.vm.feature.Get", admin_feature_get, S },
	{ "admin.vm.feature.Set", admin_feature_set, S },
	{ "admin.vm.feature.Remove", admin_feature_remove, S },
	{ "admin.vm.tag.List", admin_tag_list, S },
	{ "admin.vm.tag.Set", admin_tag_set, S },
	{ "admin.vm.tag.Remove", admin_tag_remove, S },
	{ "admin.host.Info", admin_host_info, S },
	/* Volumes: qube folders and images, made in jobs (admin_vm.c,
	 * admin_clone.c, admin_volume.c; import= adopts a built template:
	 * admin_template.c). */
	{ "admin.vm.Create.AppVM", admin_vm_create_app, J },
	{ "admin.vm.Create.TemplateVM", admin_template_create, J },
	{ "admin.vm.Create.StandaloneVM", admin_vm_create_standalone, J },
	{ "admin.vm.Create.DispVM", admin_vm_create_disp, J },
	{ "admin.vm.Clone", admin_vm_clone, J },
	{ "admin.vm.volume.List", admin_vm_volume_list, S },
	{ "admin.vm.volume.Resize", admin_vm_volume_resize, J },
	/* RPC policy (admin_policy.c). */
	{ "admin.policy.Lint", admin_policy_lint, S },
	{ "admin.policy.Check", admin_policy_check, S },
	/* Long work in child processes (admin_job.c, job.h). */
	{ "admin.job.List", admin_job_list, S },
	{ "admin.job.Cancel", admin_job_cancel, S },
	/* Power (admin_power.c). */
	{ "admin.vm.Start", admin_vm_start, R },
	{ "admin.vm.Shutdown", admin_vm_shutdown, R },
	{ "admin.vm.Kill", admin_vm_kill, R },
	{ "admin.vm.Pause", admin_vm_pause, R },
	{ "admin.vm.Unpause", admin_vm_unpause, R },
	/* Console, log, events (admin_runtime.c). */
	{ "admin.vm.Console", admin_vm_console, R },
	{ "admin.Log", admin_log, R },
	{ "admin.Events", admin_events, L },
	/* The daemon itself: its stop and its state (admin_daemon.c). */
	{ "admin.daemon.Stop", admin_daemon_stop, R },
	{ "admin.daemon.Info", admin_daemon_info, R },
	/* The prompt agent (admin_policy.c). */
	{ "admin.policy.AskAgent", admin_policy_ask_agent, L },
	{ "admin.policy.Answer", admin_policy_answer, R },
};

#undef S
#undef J
#undef R
#undef L

const size_t admin_methods_count =
	sizeof(admin_methods) / sizeof(*admin_methods);

const struct admin_method *admin_method_find(const char *name)
{
	size_t i;

	for (i = 0; i < admin_methods_count; i++)
		if (!strcmp(name, admin_methods[i].name))
			return &admin_methods[i];
	return NULL;
}

static unsigned call_with(struct daemon *d, struct client *c,
			  struct store *s, const char *state_dir,
			  const uint8_t *payload, uint32_t len,
			  struct admin_reply *r)
{
	struct bh_admin_call call;
	const struct admin_method *m;
	struct admin_req q;
	char *body;
	unsigned st;

	r->len = 0;
	r->overflow = 0;
	r->text[0] = '\0';
	if (bh_admin_call_parse(payload, len, &call) < 0)
		return reply_fail(r, BH_ADMIN_INVALID, "malformed admin call");
	m = admin_method_find(call.method);
	/* The method passed the parser's charset, so it is safe to show. */
	if (!m)
		return reply_fail(r, BH_ADMIN_INVALID,
				  "unknown admin call %s", call.method);
	/* Values are text: a NUL inside would silently cut them. */
	if (memchr(call.body, '\0', call.body_len))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "a value must not contain a NUL byte");
	/* Without a daemon (unit tests, fuzzers) there are no qubes running,
	 * no log and no connection to turn into a listener. */
	if ((m->kind == ADMIN_KIND_RUNTIME ||
	     m->kind == ADMIN_KIND_SUBSCRIBE) && (!d || !c))
		return reply_fail(r, BH_ADMIN_INVALID,
				  "%s needs the running daemon", m->name);
	body = malloc(call.body_len + 1);
	if (!body)
		return reply_fail(r, BH_ADMIN_FAILED, "out of memory");
	memcpy(body, call.body, call.body_len);
	body[call.body_len] = '\0';
	q = (struct admin_req){ s, state_dir, call.dest, call.arg, body, d,
				c, NULL };
	st = m->fn(&q, r);
	free(body);
	return st;
}

unsigned admin_call(struct store *s, const char *state_dir,
		    const uint8_t *payload, uint32_t len,
		    struct admin_reply *r)
{
	return call_with(NULL, NULL, s, state_dir, payload, len, r);
}

void admin_dispatch(struct daemon *d, struct client *c,
		    const uint8_t *payload, uint32_t len)
{
	struct admin_reply *r = malloc(sizeof(*r));
	unsigned st;

	if (!r) {
		client_error(c, BH_ADMIN_FAILED, "bulkheadd is out of memory");
		return;
	}
	st = call_with(d, c, d->store, d->paths.state, payload, len,
		       r);
	/* A job runs for it: the reply comes at its end (admin_job.c). */
	if (st != ADMIN_PENDING)
		admin_send_reply(c, st, r);
	free(r);
}
