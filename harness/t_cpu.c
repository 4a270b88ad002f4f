/* Self-tests of ipch_cpu: pinning, CPU time and competing spinners. */
#define _GNU_SOURCE /* sched_getcpu */
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: cpu", descr)

/* The highest CPU this process may use, or a skip. */
static int
last_cpu(void)
{
	int cpus[1024];
	int n = ipch_cpu_allowed(cpus, 1024);
	if (n < 1)
		atf_tc_skip("sched_getaffinity: %s", ipch_errname(errno));
	return cpus[n < 1024 ? n - 1 : 1023];
}

SELFTEST(cpu_allowed_matches_the_affinity_mask,
    "ipch_cpu_allowed lists as many CPUs as sched_getaffinity's mask holds");
ATF_TC_BODY(cpu_allowed_matches_the_affinity_mask, tc)
{
	cpu_set_t set;
	IPCH_SYS(sched_getaffinity(0, sizeof(set), &set));
	int cpus[1024];
	IPCH_EXPECT_EQ(
	    "CPUs allowed", CPU_COUNT(&set), ipch_cpu_allowed(cpus, 1024));
	ATF_REQUIRE_MSG(CPU_ISSET(cpus[0], &set),
	    "first CPU listed, %d, is not in the mask", cpus[0]);
}

static int
pinned_child(void *arg)
{
	int cpu = *(int *)arg;
	int err = ipch_cpu_pin(0, cpu);
	if (err != 0)
		ipch_child_fail("ipch_cpu_pin(%d): %s", cpu, ipch_errname(err));
	/* Run long enough to be migrated if the pin did not hold. */
	for (int i = 0; i < 100; i++) {
		ipch_cpu_spin(NULL, ipch_now_ns() + 100000);
		if (sched_getcpu() != cpu)
			ipch_child_fail("pinned to CPU %d, running on %d", cpu,
			    sched_getcpu());
	}
	return 0;
}

SELFTEST(cpu_pin_keeps_a_process_on_its_cpu,
    "a process pinned with ipch_cpu_pin runs only on that CPU");
ATF_TC_BODY(cpu_pin_keeps_a_process_on_its_cpu, tc)
{
	int cpu = last_cpu();
	ipch_reap_ok(ipch_spawn("pinned", pinned_child, &cpu));
	IPCH_EXPECT_EQ("ipch_cpu_pin(0, -1)", EINVAL, ipch_cpu_pin(0, -1));
}

SELFTEST(cpu_time_counts_spinning_and_not_sleeping,
    "ipch_cpu_time_ns grows by about the time spent spinning, and not "
    "while the process sleeps");
ATF_TC_BODY(cpu_time_counts_spinning_and_not_sleeping, tc)
{
	uint64_t a, b, c;
	IPCH_EXPECT_EQ("ipch_cpu_time_ns(self)", 0, ipch_cpu_time_ns(0, &a));
	uint64_t t0 = ipch_now_ns();
	ipch_cpu_spin(NULL, t0 + 200000000u);
	uint64_t spun = ipch_now_ns() - t0;
	IPCH_EXPECT_EQ("ipch_cpu_time_ns(self)", 0, ipch_cpu_time_ns(0, &b));
	/* Other load may take the CPU from us, so only an upper bound is
	 * exact; the lower bound is loose (a tick-based fallback counts in
	 * 10 ms steps). */
	ATF_REQUIRE_MSG(b - a <= spun + 20000000u && b - a >= 20000000u,
	    "CPU time over a %.0f ms spin: expected 20 ms to %.0f ms, got "
	    "%.1f ms",
	    spun / 1e6, spun / 1e6 + 20, (b - a) / 1e6);
	struct timespec ts = {0, 100000000};
	nanosleep(&ts, NULL);
	IPCH_EXPECT_EQ("ipch_cpu_time_ns(self)", 0, ipch_cpu_time_ns(0, &c));
	ATF_REQUIRE_MSG(c - b < 20000000u,
	    "CPU time over a 100 ms sleep: expected under 20 ms, got %.1f ms",
	    (c - b) / 1e6);
	IPCH_EXPECT_EQ("ipch_cpu_time_ns(INT_MAX)", ESRCH,
	    ipch_cpu_time_ns(0x7fffffff, &c));
}

SELFTEST(cpu_spin_stops_on_the_flag_or_the_deadline,
    "ipch_cpu_spin returns at once when the flag is set and at the "
    "deadline otherwise");
ATF_TC_BODY(cpu_spin_stops_on_the_flag_or_the_deadline, tc)
{
	atomic_int stop;
	atomic_init(&stop, 1);
	uint64_t t0 = ipch_now_ns();
	IPCH_EXPECT_EQ("iterations with the flag set", 0,
	    ipch_cpu_spin(&stop, t0 + 5000000000u));
	atomic_store(&stop, 0);
	t0 = ipch_now_ns();
	ATF_REQUIRE(ipch_cpu_spin(&stop, t0 + 50000000u) > 0);
	uint64_t took = ipch_now_ns() - t0;
	ATF_REQUIRE_MSG(took >= 50000000u && took < 1000000000u,
	    "spin to a 50 ms deadline: took %.1f ms", took / 1e6);
}

SELFTEST(cpu_compete_splits_a_cpu_between_equal_spinners,
    "two equal spinners on one CPU each get about half of the window");
ATF_TC_BODY(cpu_compete_splits_a_cpu_between_equal_spinners, tc)
{
	struct ipch_spinner s[2] = {
	    {.name = "spinner-a", .policy = SCHED_OTHER, .prio = 0},
	    {.name = "spinner-b", .policy = SCHED_OTHER, .prio = 0},
	};
	uint64_t w = ipch_cpu_compete(last_cpu(), s, 2, 50, 0, 300);
	ATF_REQUIRE_MSG(w >= 300000000u, "window %.1f ms, asked 300", w / 1e6);
	uint64_t sum = s[0].cpu_ns + s[1].cpu_ns;
	/* Not more than the window (one CPU), and some of it: other load
	 * may take most of the CPU, so the split is what is checked. */
	ATF_REQUIRE_MSG(sum <= w + w / 50 && sum > 0,
	    "two spinners on one CPU used %.1f ms in a %.1f ms window",
	    sum / 1e6, w / 1e6);
	double share = (double)s[0].cpu_ns / (double)sum;
	ATF_REQUIRE_MSG(share > 0.3 && share < 0.7,
	    "equal spinners: expected about 0.5 of the CPU each, spinner-a "
	    "got %.3f",
	    share);
}

SELFTEST(cpu_compete_restores_the_callers_affinity,
    "after ipch_cpu_compete the caller has its affinity mask back");
ATF_TC_BODY(cpu_compete_restores_the_callers_affinity, tc)
{
	cpu_set_t before, after;
	IPCH_SYS(sched_getaffinity(0, sizeof(before), &before));
	int cpu = last_cpu();
	struct ipch_spinner s = {.name = "spinner", .policy = SCHED_OTHER};
	ipch_cpu_compete(cpu, &s, 1, 0, 0, 20);
	IPCH_SYS(sched_getaffinity(0, sizeof(after), &after));
	ATF_REQUIRE_MSG(CPU_EQUAL(&before, &after),
	    "affinity mask changed: %d CPUs before, %d after",
	    CPU_COUNT(&before), CPU_COUNT(&after));
}

SELFTEST(cpu_compete_ends_the_window_on_the_cpu_target,
    "with a CPU-time target, the window ends once the spinners used it, "
    "long before the wall-time limit");
ATF_TC_BODY(cpu_compete_ends_the_window_on_the_cpu_target, tc)
{
	struct ipch_spinner s = {.name = "spinner", .policy = SCHED_OTHER};
	uint64_t w = ipch_cpu_compete(last_cpu(), &s, 1, 0, 100, 20000);
	ATF_REQUIRE_MSG(s.cpu_ns >= 100000000u && w < 15000000000u,
	    "target 100 ms of CPU within 20 s: got %.1f ms of CPU in %.1f ms",
	    s.cpu_ns / 1e6, w / 1e6);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, cpu_allowed_matches_the_affinity_mask);
	ATF_TP_ADD_TC(tp, cpu_pin_keeps_a_process_on_its_cpu);
	ATF_TP_ADD_TC(tp, cpu_time_counts_spinning_and_not_sleeping);
	ATF_TP_ADD_TC(tp, cpu_spin_stops_on_the_flag_or_the_deadline);
	ATF_TP_ADD_TC(tp, cpu_compete_splits_a_cpu_between_equal_spinners);
	ATF_TP_ADD_TC(tp, cpu_compete_restores_the_callers_affinity);
	ATF_TP_ADD_TC(tp, cpu_compete_ends_the_window_on_the_cpu_target);
	return 0;
}
