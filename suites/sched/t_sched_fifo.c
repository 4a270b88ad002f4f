/*
 * SCHED_FIFO against SCHED_OTHER (Linux sched(7)): a real-time spinner
 * pinned to a CPU takes it from a fair-class spinner pinned there, which
 * then gets no more than what real-time throttling leaves to the fair class
 * (/proc/sys/kernel/sched_rt_runtime_us of sched_rt_period_us, by default
 * 950000 of 1000000, so 5%; from Linux 6.12 the fair server grants the
 * same 5% by default).
 *
 * Safety: the FIFO spinner is pinned to one CPU, stops itself 2 s after the
 * window should have ended, and runs under RLIMIT_RTTIME, so it can never
 * hold a CPU for long; the case body moves to another CPU and skips when
 * there is none.  The program is exclusive in the Kyuafile so the other
 * share cases do not measure on a CPU this one is starving.
 */
#define _GNU_SOURCE /* SCHED_FIFO with sched_param */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "ipch.h"

/* A /proc/sys value; `def` when it cannot be read. */
static long
proc_long(const char *path, long def)
{
	FILE *f = fopen(path, "r");
	long v = def;
	if (f == NULL)
		return def;
	if (fscanf(f, "%ld", &v) != 1)
		v = def;
	fclose(f);
	return v;
}

IPCH_CASE(sched_fifo_spinner_takes_the_cpu_from_a_sched_other_spinner, "stress",
    "Linux sched(7): SCHED_FIFO; real-time throttling",
    "a SCHED_FIFO spinner pinned to the CPU of a SCHED_OTHER spinner "
    "leaves it no more than the fair class's throttling reserve");
ATF_TC_BODY(sched_fifo_spinner_takes_the_cpu_from_a_sched_other_spinner, tc)
{
	struct rlimit rl;
	IPCH_SYS(getrlimit(RLIMIT_RTPRIO, &rl));
	if (ipch_has_cap(IPCH_CAP_SYS_NICE) != 1 && rl.rlim_cur < 1)
		atf_tc_skip("needs CAP_SYS_NICE or RLIMIT_RTPRIO of at least 1 "
		            "for SCHED_FIFO; neither is held (RLIMIT_RTPRIO "
		            "%ld)",
		    (long)rl.rlim_cur);
	int cpus[1024];
	int n = ipch_cpu_allowed(cpus, 1024);
	if (n < 2)
		atf_tc_skip("needs two CPUs, so the case keeps one while the "
		            "FIFO spinner holds the other; %d allowed",
		    n);
	int cpu = cpus[(n < 1024 ? n : 1024) - 1];
	bool longrun = ipch_stress_long(tc);
	/* Longer windows give the fair server or throttling a full period
	 * to act in, which is the worst case for the bound. */
	int window = (int)ipch_config_long(
	    tc, "sched_window_ms", longrun ? 3000 : 500, 100, 10000);

	long runtime = proc_long("/proc/sys/kernel/sched_rt_runtime_us", -1);
	long period = proc_long("/proc/sys/kernel/sched_rt_period_us", 1000000);
	/* The fair class's reserve: what throttling leaves, and at least the
	 * fair server's default 50 ms per second. */
	double reserve = 0.05;
	if (runtime >= 0 && period > 0 &&
	    1.0 - (double)runtime / (double)period > reserve)
		reserve = 1.0 - (double)runtime / (double)period;
	ipch_metric("sched.rt_reserve", reserve, "fraction");

	struct ipch_spinner s[2] = {
	    {.name = "spinner-other", .policy = SCHED_OTHER, .prio = 0},
	    {.name = "spinner-fifo", .policy = SCHED_FIFO, .prio = 1},
	};
	uint64_t w = ipch_cpu_compete(cpu, s, 2, 100, 0, window);
	double other = (double)s[0].cpu_ns / (double)w;
	double fifo = (double)s[1].cpu_ns / (double)w;
	ipch_metric("sched.fifo_cpu_fraction", fifo, "fraction");
	ipch_metric("sched.other_cpu_fraction_beside_fifo", other, "fraction");
	/*
	 * The reserve comes in slices of reserve * period (50 ms per 1 s),
	 * at the end of a throttled period or, with the fair server, at its
	 * start: a window of W ms can hold floor(W / period) + 2 of them.
	 * That is the bound, plus 0.02 for reading the clocks; a FIFO
	 * spinner treated as a fair one would leave the other about 0.5.
	 * Measured on Linux 6.18 (500 ms window, 30 kyua runs idle and 30
	 * beside stress-ng --cpu 2): the SCHED_OTHER spinner got 0 every
	 * time (the fair server defers until the fair class has starved
	 * for most of a period), FIFO 0.994 to 1.008.  With 3000 ms
	 * windows it got 0.022 to 0.042, and 500 ms windows run directly
	 * got up to 0.034, under this 0.22 (500 ms) or 0.10 (3000 ms).
	 */
	double pms = (double)period / 1000.0;
	double slices = (double)(int)(window / pms) + 2;
	double bound = reserve * pms * slices / window + 0.02;
	ATF_REQUIRE_MSG(other <= bound,
	    "SCHED_OTHER spinner beside a SCHED_FIFO one on CPU %d over %.0f "
	    "ms: expected at most %.3f of the CPU (reserve %.3f), got %.3f "
	    "(%.1f ms; FIFO %.1f ms)",
	    cpu, w / 1e6, bound, reserve, other, s[0].cpu_ns / 1e6,
	    s[1].cpu_ns / 1e6);
	ATF_REQUIRE_MSG(fifo >= 0.5,
	    "SCHED_FIFO spinner on CPU %d over %.0f ms: expected most of the "
	    "CPU, got %.3f (%.1f ms)",
	    cpu, w / 1e6, fifo, s[1].cpu_ns / 1e6);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(
	    tp, sched_fifo_spinner_takes_the_cpu_from_a_sched_other_spinner);
	return 0;
}
