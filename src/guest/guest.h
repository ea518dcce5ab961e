/*
 * The guest side: PID 1 duties inside the VM (mounts, controllers,
 * channels, power-off) and the guest end of the request/result protocol.
 * Modes other than the built-in "cmd" and "shell" are supplied by the
 * caller (the test runner, the CLI's scenario runner).
 */
#ifndef KTSTR_GUEST_H
#define KTSTR_GUEST_H

#include <jansson.h>
#include <stdbool.h>

#define KT_PROTO_VERSION 1
/* The host's request, in every guest's initramfs (also the guest marker). */
#define KT_GUEST_REQUEST_PATH "/ktstr/request.json"

/*
 * A mode handler: reads the request, fills `result` (an object), writes
 * human output to out_fd.  Returns 0, or -errno for a harness failure
 * (the result then carries "error").
 */
struct kt_guest_mode {
	const char *name;
	int (*run)(json_t *request, json_t *result, int out_fd);
};

/* True when running as a ktstr VM's init (PID 1 with the request file). */
bool kt_guest_is_init(void);
/* Never returns: runs the request, sends the result, powers off. */
int kt_guest_main(const struct kt_guest_mode *modes) __attribute__((noreturn));
/* Guest uptime in ms (for timelines). */
double kt_guest_uptime_ms(void);

#endif
