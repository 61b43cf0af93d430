#include "daemon/core/qstream.h"

#include <string.h>

struct qstream *qs_find(struct qube_vm *dv, uint32_t id)
{
	size_t i;

	if (id == 0)
		return NULL;
	for (i = 0; i < BH_MAX_STREAMS; i++)
		if (dv->streams[i].id == id)
			return &dv->streams[i];
	return NULL;
}

uint32_t qs_next_host_id(struct qube_vm *dv)
{
	uint32_t id;

	do {
		dv->next_stream_id =
			(dv->next_stream_id + 1) & ~BH_STREAM_GUEST_BIT;
		id = dv->next_stream_id;
	} while (id == 0 || qs_find(dv, id));
	return id;
}

struct qstream *qs_new(struct qube_vm *dv, uint32_t id, enum qstream_role role)
{
	size_t i;

	if (id == 0 || qs_find(dv, id))
		return NULL;
	for (i = 0; i < BH_MAX_STREAMS; i++) {
		struct qstream *s = &dv->streams[i];

		if (s->id)
			continue;
		memset(s, 0, sizeof(*s));
		s->id = id;
		s->role = role;
		if (dv->d)
			s->gen = ++dv->d->next_gen;
		return s;
	}
	return NULL;
}
