/*
 * ktstr: a test harness for Linux schedulers.  Include this one header to
 * write tests (KTSTR_TEST), custom scenarios (the guide's helpers) and
 * scheduler declarations (KTSTR_SCHEDULER); link with `pkg-config --libs ktstr`.
 */
#ifndef KTSTR_KTSTR_H
#define KTSTR_KTSTR_H

#include <ktstr/cgroup.h>
#include <ktstr/check.h>
#include <ktstr/common.h>
#include <ktstr/cpuset.h>
#include <ktstr/scenario.h>
#include <ktstr/sched.h>
#include <ktstr/test.h>
#include <ktstr/topology.h>
#include <ktstr/workload.h>

#endif
