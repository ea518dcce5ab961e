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

#include "proto/proto.h"

struct kt_topology;

/* The host's request, in every guest's initramfs (also the guest marker). */
#define KT_GUEST_REQUEST_PATH "/ktstr/request.json"

/*
 * A mode handler: runs the (parsed, checked) request, fills `result` (an
 * object), writes human output to out_fd.  Returns 0, or -errno for a
 * harness failure (the result then carries "error").
 */
struct kt_guest_mode {
	enum kt_proto_mode mode;
	int (*run)(const struct kt_request *request, json_t *result, int out_fd);
};

/* True when running as a ktstr VM's init (PID 1 with the request file). */
bool kt_guest_is_init(void);
/* Never returns: runs the request, sends the result, powers off.  `modes`
 * ends with a zero mode. */
int kt_guest_main(const struct kt_guest_mode *modes) __attribute__((noreturn));
/*
 * Read and parse the request at `path` into *req.  0, or -errno with
 * `result` saying why ("error"; "protocol_error" for another version).
 */
int kt_guest_load_request(const char *path, struct kt_request *req, json_t *result);
/* Guest uptime in ms (for timelines). */
double kt_guest_uptime_ms(void);
/* The topology init read from sysfs and matched with the declared one
 * before the request ran (the caller owns it), or NULL: none was kept, or
 * it was taken already. */
struct kt_topology *kt_guest_take_topology(void);

#endif
