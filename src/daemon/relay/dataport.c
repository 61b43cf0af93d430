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
#include "daemon/state/attach_record.h"
#include "lib/log.h"

/* QMP tags: (n << 4) | (end << 3) | step. A port an earlier daemon left
 * is unplugged with steps of its own (LEFT_*): a reply to a command that
 * daemon sent, late, is never taken for one of ours. */
enum {
	STEP_GETFD = 1,
	STEP_CHARDEV,
	STEP_DEVICE,
	STEP_DEL,
	STEP_REMOVE,
	STEP_LEFT_DEL,
	STEP_LEFT_REMOVE
};

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

/* Port n with an end on dv: the ports an earlier daemon left in two
 * re-attached qubes are two entries of the same number. */
static struct dataport *find_on(struct qube_vm *dv, uint32_t n)
{
	struct dataport *p;

	for (p = dv->d->dataports; p; p = p->next)
		if (p->n == n && (p->end[0].dv == dv || p->end[1].dv == dv))
			return p;
	return NULL;
}

/* The ports dv's QEMU has (or may have), into its runtime folder for a
 * daemon after this one (state/attach_record.h). A record that cannot be
 * written costs only the clean-up after a restart. */
static void record_ports(struct qube_vm *dv)
{
	uint32_t n[ATTACH_PORTS_MAX];
	const struct dataport *p;
	size_t k = 0;
	int e, r;

	for (p = dv->d->dataports; p; p = p->next)
		for (e = 0; e < 2; e++)
			if (p->end[e].dv == dv && !p->end[e].done &&
			    k < ATTACH_PORTS_MAX)
				n[k++] = p->n;
	r = attach_record_write_ports(dv->run_dir, n, k);
	if (r < 0)
		DV_LOG(dv, WARN,
		       "%s: cannot record its data ports for a daemon "
		       "restart: %s",
		       dv->name, strerror(-r));
}

/* Nothing of the port is left in end e's QEMU. */
static void end_done(struct dataport *p, int e)
{
	struct dataport_end *end = &p->end[e];

	end->done = 1;
	if (!end->dv || !end->dv->vm_alive)
		return;
	record_ports(end->dv);
	if (p->leftover)
		DV_LOG(end->dv, INFO,
		       "%s: data port %u of the earlier daemon unplugged",
		       end->dv->name, p->n);
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

static void unlink_free(struct daemon *d, struct dataport *p)
{
	struct dataport **pp;

	for (pp = &d->dataports; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

static void free_if_done(struct daemon *d, struct dataport *p)
{
	if (!p->end[0].done || !p->end[1].done)
		return;
	if (!p->leftover)
		port_log(p, "data port %u: unplugged from both qubes", p->n);
	unlink_free(d, p);
}

/* chardev-remove of the port's chardev in end e's QEMU. */
static void remove_chardev(struct dataport *p, int e)
{
	struct dataport_end *end = &p->end[e];
	char chardev[24], dev[24], port[32];

	names(p->n, chardev, dev, port);
	if (qmp_chardev_remove_tagged(
		    &end->dv->qmp,
		    tag_of(p->n, e,
			   p->leftover ? STEP_LEFT_REMOVE : STEP_REMOVE),
		    chardev) < 0)
		end_done(p, e);
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
		end_done(p, e);
		return;
	}
	names(p->n, chardev, dev, port);
	end->unplugging = 1;
	if (end->device) {
		if (qmp_device_del_tagged(
			    &end->dv->qmp,
			    tag_of(p->n, e,
				   p->leftover ? STEP_LEFT_DEL : STEP_DEL),
			    dev) < 0)
			end_done(p, e); /* QMP is gone: so is QEMU soon */
	} else if (end->chardev) {
		remove_chardev(p, e);
	} else {
		end_done(p, e);
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
	/* Recorded before QEMU hears of it: a daemon that dies from here
	 * on leaves the next one the port to unplug. */
	record_ports(caller);
	record_ports(target);
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
	struct dataport *p = dv->d ? find_on(dv, tag >> 4) : NULL;
	int e = (tag >> 3) & 1, step = tag & 7;
	struct dataport_end *end;
	char chardev[24], dev[24], port[32];

	/* Not ours (QEMU picks what it echoes), or an earlier daemon's. */
	if (!p || p->end[e].dv != dv ||
	    p->leftover != (step == STEP_LEFT_DEL || step == STEP_LEFT_REMOVE))
		return;
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
	case STEP_LEFT_DEL:
		/* (Not after DEVICE_DELETED: the device went after all.) */
		if (!ok && end->unplugging && end->device && !end->done) {
			/* No device after all: the chardev may remain. */
			end->device = 0;
			end->unplugging = 0;
			unplug_end(p, e);
			free_if_done(dv->d, p);
		}
		return;
	case STEP_REMOVE:
	case STEP_LEFT_REMOVE:
		if (!end->unplugging || end->done)
			return;
		names(p->n, chardev, dev, port);
		if (!ok)
			DV_LOG(dv, WARN, "%s: chardev %s could not be removed",
			       dv->name, chardev);
		end_done(p, e);
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
	p = find_on(dv, (uint32_t)n);
	if (!p)
		return;
	for (e = 0; e < 2; e++) {
		struct dataport_end *end = &p->end[e];

		if (end->dv != dv || !end->unplugging || !end->device)
			continue;
		end->device = 0;
		remove_chardev(p, e);
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

void dataport_adopt(struct qube_vm *dv, const uint32_t *n, size_t count)
{
	struct dataport *p;
	size_t i;

	for (i = 0; i < count; i++) {
		if (find_on(dv, n[i]))
			continue; /* the record names each once */
		p = calloc(1, sizeof(*p));
		if (!p) {
			DV_LOG(dv, WARN,
			       "%s: out of memory: data port %u of the "
			       "earlier daemon stays plugged",
			       dv->name, n[i]);
			continue;
		}
		p->n = n[i];
		p->leftover = 1;
		p->open_sent = 1;
		/* All it may have: unplugging what is not there only
		 * fails, and the next step follows. */
		p->end[0] = (struct dataport_end){
			.dv = dv, .chardev = 1, .device = 1, .closed = 1
		};
		p->end[1] = (struct dataport_end){ .closed = 1, .done = 1 };
		p->next = dv->d->dataports;
		dv->d->dataports = p;
	}
}

void dataport_qmp_ready(void *ctx)
{
	struct qube_vm *dv = ctx;
	struct dataport *p, *next;

	for (p = dv->d ? dv->d->dataports : NULL; p; p = next) {
		next = p->next;
		if (!p->leftover || p->end[0].dv != dv || p->end[0].unplugging ||
		    p->end[0].done)
			continue;
		DV_LOG(dv, INFO,
		       "%s: data port %u was plugged by the earlier daemon: "
		       "unplugging it",
		       dv->name, p->n);
		unplug_end(p, 0);
		free_if_done(dv->d, p);
	}
}

void dataport_qube_left(struct qube_vm *dv)
{
	struct dataport *p, *next;
	int e;

	for (p = dv->d ? dv->d->dataports : NULL; p; p = next) {
		next = p->next;
		for (e = 0; e < 2; e++)
			if (p->end[e].dv == dv)
				p->end[e] = (struct dataport_end){ .closed = 1,
								   .done = 1 };
		if (p->end[0].done && p->end[1].done)
			unlink_free(dv->d, p);
	}
}
