/*
 * The guest modes the runner adds to the built-in ones.  Filled in as the
 * scenario layer grows; the table is what the guest init dispatches on.
 */
#include "runner/runner.h"

#include <stddef.h>

static const struct kt_guest_mode modes[] = {
	{ NULL, NULL },
};

const struct kt_guest_mode *kt_runner_guest_modes(void)
{
	return modes;
}
