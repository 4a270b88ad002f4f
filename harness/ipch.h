/*
 * libipch: the harness every ipcsuite test program links.
 *
 * One header for the whole library so that a test program needs a single
 * include; each module keeps its own header for readers who want one part.
 */
#ifndef IPCH_H
#define IPCH_H

#include <atf-c.h>

#include "ipch_case.h"
#include "ipch_check.h"
#include "ipch_config.h"
#include "ipch_cpu.h"
#include "ipch_fd.h"
#include "ipch_names.h"
#include "ipch_proc.h"
#include "ipch_records.h"
#include "ipch_run.h"
#include "ipch_sandbox.h"
#include "ipch_spawn.h"
#include "ipch_sync.h"
#include "ipch_timing.h"
#include "ipch_watchdog.h"

#endif
