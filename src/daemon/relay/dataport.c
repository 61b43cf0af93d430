/* Direct data ports: plugging and unplugging (see dataport.h). */
#include "daemon/relay/dataport.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/core/qstream.h"
#include "lib/log.h"

/* QMP tags: (n << 4) | (end << 3) | step. */
enum { STEP_GETFD = 1, STEP_CHARDEV, STEP_DEVICE, STEP_DEL, STEP_REMOVE };

static uint32_t tag_of(uint32_t n, int e, int step)
{
	return n << 4 | (uint32_t)e << 3 | (uint32_t)step;
}

unsigned dataport_count(const struct qube_vm *dv)
{
	const struct dataport *p;
	unsigned c = 0;

	for (p = dv->d ? dv->d->dataports : NULL; p; p = p->next)
		c += (p->end[0].dv == dv && !p->end[0].done) +
		     (p->end[1].dv == dv && !p->end[1].done);
	return c;
}

static struct dataport *find(struct daemon *d, uint32_t n)
{
	struct dataport *p;

	for (p = d->dataports; p; p = p->next)
		if (p->n == n)
			return p;
	return NULL;
}

/* A number not in use, below BH_DATAPORT_N_MAX (the agent refuses
 * others), never 0. */
static uint32_t new_number(struct daemon *d)
{
	do
		d->next_dataport = d->next_dataport % (BH_DATAPORT_N_MAX - 1) + 1;
	while (find(d, d->next_dataport));
	return d->next_dataport;
}

static void names(uint32_t n, char *chardev, char *dev, char *port)
{
	snprintf(chardev, 24, "bhdc.%u", n);
	snprintf(dev, 24, "bhdp.%u", n);
	snprintf(port, 32, "bulkhead.data.%u", n);
}

static struct qstream *end_stream(struct dataport_end *e)
{
	return e->dv ? qs_find(e->dv, e->sid) : NULL;
}

static void port_log(const struct dataport *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A line about a port, within the rate limit of the qube whose call
 * made it (qube_log.h): a qube gets ports by making large calls, at
 * will. */
static void port_log(const struct dataport *p, const char *fmt, ...)
{
	struct qube_vm *caller = p->end[0].dv;
	va_list ap;

	va_start(ap, fmt);
	qube_vlog(caller ? &caller->log_limit : NULL,
		  caller ? caller->name : "", BH_LOG_INFO, fmt, ap);
	va_end(ap);
}

static void free_if_done(struct daemon *d, struct dataport *p)
{
	struct dataport **pp;

	if (!p->end[0].done || !p->end[1].done)
		return;
	port_log(p, "data port %u: unplugged from both qubes", p->n);
	for (pp = &d->dataports; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

/* Takes the port out of one QEMU: device_del, then (at DEVICE_DELETED)
 * chardev-remove, which QEMU refuses as busy before. */
static void unplug_end(struct dataport *p, int e)
{
	struct dataport_end *end = &p->end[e];
	char chardev[24], dev[24], port[32];

	if (end->done || end->unplugging || end->pending)
		return;
	if (!end->dv || !end->dv->vm_alive) {
		end->done = 1;
		return;
	}
	names(p->n, chardev, dev, port);
	end->unplugging = 1;
	if (end->device) {
		if (qmp_device_del_tagged(&end->dv->qmp,
					  tag_of(p->n, e, STEP_DEL), dev) < 0)
			end->done = 1; /* QMP is gone: so is QEMU soon */
	} else if (end->chardev) {
		if (qmp_chardev_remove_tagged(&end->dv->qmp,
					      tag_of(p->n, e, STEP_REMOVE),
					      chardev) < 0)
			end->done = 1;
	} else {
		end->done = 1;
	}
}

static void unplug(struct daemon *d, struct dataport *p, const char *why)
{
	port_log(p, "data port %u: unplugging (%s)", p->n, why);
	unplug_end(p, 0);
	unplug_end(p, 1);
	free_if_done(d, p);
}

/* Gives one QEMU its end of the pair and plugs the port on it. The three
 * commands go at once; QMP runs them in order. */
static int plug_end(struct dataport *p, int e, int fd)
{
	struct dataport_end *end = &p->end[e];
	struct qmp *q = &end->dv->qmp;
	char chardev[24], dev[24], port[32], fdname[24];
	int r;

	names(p->n, chardev, dev, port);
	snprintf(fdname, sizeof(fdname), "bhdf.%u", p->n);
	r = qmp_getfd_tagged(q, tag_of(p->n, e, STEP_GETFD), fdname, fd);
	if (r < 0)
		return r;
	end->pending = 3;
	if (qmp_chardev_add_fd_tagged(q, tag_of(p->n, e, STEP_CHARDEV),
				      chardev, fdname) < 0)
		end->pending--, end->failed = 1;
	if (qmp_port_add_tagged(q, tag_of(p->n, e, STEP_DEVICE), dev, chardev,
				port) < 0)
		end->pending--, end->failed = 1;
	return 0;
}

void dataport_maybe_plug(struct qube_vm *caller, struct qstream *s)
{
	struct daemon *d = caller->d;
	struct qube_vm *target = s->peer;
	struct qstream *svc;
	struct dataport *p;
	int sv[2], e;

	if (s->role != QS_CALL || s->port_tried ||
	    s->relayed < DATAPORT_THRESHOLD || !target || !s->peer_id ||
	    !d || d->dataports_off)
		return;
	svc = qs_find(target, s->peer_id);
	if (!svc || svc->role != QS_SERVICE || svc->port_tried)
		return;
	s->port_tried = svc->port_tried = 1;
	if (!caller->vm_alive || !target->vm_alive ||
	    caller->qmp.state != QMP_READY || target->qmp.state != QMP_READY)
		return;
	if (dataport_count(caller) >= DATAPORT_MAX_PER_QUBE ||
	    dataport_count(target) >= DATAPORT_MAX_PER_QUBE) {
		DV_LOG(caller, INFO,
		       "call %s -> %s: no free data port, it stays on the "
		       "relay",
		       caller->name, target->name);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(p);
		return;
	}
	p->n = new_number(d);
	p->end[0] = (struct dataport_end){ .dv = caller, .sid = s->id };
	p->end[1] = (struct dataport_end){ .dv = target, .sid = svc->id };
	p->next = d->dataports;
	d->dataports = p;
	s->port_n = svc->port_n = p->n;
	for (e = 0; e < 2; e++)
		if (plug_end(p, e, sv[e]) < 0)
			p->end[e].failed = 1;
	/* Each QEMU holds its own copy now. */
	close(sv[0]);
	close(sv[1]);
	port_log(p, "data port %u: plugging for the call %s:%#x -> %s:%#x",
		 p->n, caller->name, s->id, target->name, svc->id);
	if (p->end[0].failed && !p->end[0].pending && p->end[1].failed &&
	    !p->end[1].pending)
		unplug(d, p, "QMP refused it");
}

/* Both QEMUs answered the plug: tell both agents, or undo. */
static void plug_answered(struct daemon *d, struct dataport *p)
{
	struct qstream *a = end_stream(&p->end[0]);
	struct qstream *b = end_stream(&p->end[1]);
	uint8_t buf[4];
	int e;

	if (p->end[0].pending || p->end[1].pending || p->open_sent)
		return;
	if (p->end[0].failed || p->end[1].failed || !a || !b ||
	    a->port_n != p->n || b->port_n != p->n) {
		unplug(d, p, p->end[0].failed || p->end[1].failed
				     ? "QEMU refused a step"
				     : "the call ended meanwhile");
		return;
	}
	p->open_sent = 1;
	bh_put_u32(buf, p->n);
	for (e = 0; e < 2; e++) {
		struct qstream *s = e ? b : a;

		s->port_ready = 1;
		bh_chan_send(&p->end[e].dv->chan, BH_MSG_PORT_OPEN, s->id, buf,
			     sizeof(buf));
	}
	port_log(p, "data port %u: plugged into %s and %s", p->n,
		 p->end[0].dv->name, p->end[1].dv->name);
}

void dataport_qmp_reply(void *ctx, uint32_t tag, int ok)
{
	struct qube_vm *dv = ctx;
	struct dataport *p = dv->d ? find(dv->d, tag >> 4) : NULL;
	int e = (tag >> 3) & 1, step = tag & 7;
	struct dataport_end *end;
	char chardev[24], dev[24], port[32];

	if (!p || p->end[e].dv != dv)
		return; /* not ours (QEMU picks what it echoes) */
	end = &p->end[e];
	switch (step) {
	case STEP_GETFD:
	case STEP_CHARDEV:
	case STEP_DEVICE:
		if (!end->pending)
			return;
		end->pending--;
		if (!ok)
			end->failed = 1;
		else if (step == STEP_CHARDEV)
			end->chardev = 1;
		else if (step == STEP_DEVICE)
			end->device = 1;
		if (!end->pending)
			plug_answered(dv->d, p);
		return;
	case STEP_DEL:
		if (!ok && end->unplugging && !end->done) {
			/* No device after all: the chardev may remain. */
			end->device = 0;
			end->unplugging = 0;
			unplug_end(p, e);
			free_if_done(dv->d, p);
		}
		return;
	case STEP_REMOVE:
		if (!end->unplugging)
			return;
		names(p->n, chardev, dev, port);
		if (!ok)
			DV_LOG(dv, WARN, "%s: chardev %s could not be removed",
			       dv->name, chardev);
		end->done = 1;
		free_if_done(dv->d, p);
		return;
	}
}

void dataport_qmp_deleted(void *ctx, const char *untrusted_id)
{
	struct qube_vm *dv = ctx;
	struct dataport *p;
	unsigned long n;
	char *endp;
	int e;

	if (strncmp(untrusted_id, "bhdp.", 5) || !dv->d)
		return;
	n = strtoul(untrusted_id + 5, &endp, 10);
	if (*endp || n == 0 || n >= BH_DATAPORT_N_MAX)
		return;
	p = find(dv->d, (uint32_t)n);
	if (!p)
		return;
	for (e = 0; e < 2; e++) {
		struct dataport_end *end = &p->end[e];
		char chardev[24], dev[24], port[32];

		if (end->dv != dv || !end->unplugging || !end->device)
			continue;
		end->device = 0;
		names(p->n, chardev, dev, port);
		if (qmp_chardev_remove_tagged(&dv->qmp,
					      tag_of(p->n, e, STEP_REMOVE),
					      chardev) < 0)
			end->done = 1;
	}
	free_if_done(dv->d, p);
}

void dataport_guest_closed(struct qube_vm *dv, uint32_t sid)
{
	struct dataport *p;
	int e;

	for (p = dv->d ? dv->d->dataports : NULL; p; p = p->next) {
		for (e = 0; e < 2; e++) {
			if (p->end[e].dv != dv || p->end[e].sid != sid ||
			    p->end[e].closed || !p->open_sent)
				continue;
			p->end[e].closed = 1;
			/* Both agents are done: every byte that was to
			 * arrive has arrived, nothing is lost by unplugging. */
			if (p->end[!e].closed)
				unplug(dv->d, p, "the call is over");
			return;
		}
	}
}

void dataport_qube_gone(struct qube_vm *dv)
{
	struct dataport *p, *next;
	int e;

	for (p = dv->d ? dv->d->dataports : NULL; p; p = next) {
		next = p->next;
		for (e = 0; e < 2; e++) {
			if (p->end[e].dv != dv)
				continue;
			p->end[e].dv = NULL;
			p->end[e].pending = 0;
			p->end[e].closed = 1;
			p->end[e].done = 1;
			/* The other end learns it from its port (EOF); one
			 * still being plugged is undone when QEMU answered
			 * (plug_answered). */
			unplug(dv->d, p, "a qube stopped");
			break;
		}
	}
}
