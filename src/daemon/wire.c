#include "daemon/wire.h"

#include "daemon/client.h"

const struct daemon_hooks daemon_hooks = {
	.client_drop = client_drop,
};
