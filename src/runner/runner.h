/*
 * The runner: test registry walking, selection, VM fan-out and outputs,
 * and the guest modes ("test", "scenario") that run inside the VM.
 */
#ifndef KTSTR_RUNNER_H
#define KTSTR_RUNNER_H

#include "guest/guest.h"

/* NULL-name-terminated table of the guest modes the runner provides. */
const struct kt_guest_mode *kt_runner_guest_modes(void);

#endif
