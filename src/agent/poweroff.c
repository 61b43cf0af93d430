#include "agent/poweroff.h"

#include <sys/reboot.h>
#include <unistd.h>

#include "agent/handover.h"

void agent_power_off(void)
{
	if (handover_active())
		handover_power_off();
	sync();
	reboot(RB_POWER_OFF);
	/* Not reached; PID 1 must never return. */
	for (;;)
		pause();
}
