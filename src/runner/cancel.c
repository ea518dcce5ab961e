/*
 * Interruption: SIGINT, SIGTERM and SIGHUP become a readable pipe that VM
 * waits poll, so an interrupted run kills its QEMU processes, removes its
 * run directories and reports, instead of dying with things left behind.
 */
#include "runner/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static int cancel_pipe[2] = { -1, -1 };
static volatile sig_atomic_t cancel_sig;

static void on_signal(int sig)
{
	int saved = errno;

	cancel_sig = sig;
	if (write(cancel_pipe[1], "x", 1) < 0) {
		/* already readable: nothing more to do */
	}
	errno = saved;
}

int kt_cancel_fd(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (cancel_pipe[0] >= 0)
		return cancel_pipe[0];
	if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return cancel_pipe[0];
}

int kt_cancel_signal(void)
{
	return cancel_sig;
}

bool kt_cancelled(void)
{
	return cancel_sig != 0;
}

int kt_cancel_exit_code(void)
{
	/* the shell's convention for death by a signal: 130 ^C, 143 SIGTERM */
	return cancel_sig ? 128 + cancel_sig : 0;
}
