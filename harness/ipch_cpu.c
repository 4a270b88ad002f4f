/* CPU placement, CPU time and competing spinners (Linux). */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET, SCHED_IDLE, SCHED_BATCH */
#include "ipch_cpu.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ipch_check.h"
#include "ipch_proc.h"
#include "ipch_spawn.h"
#include "ipch_sync.h"
#include "ipch_timing.h"

int
ipch_cpu_allowed(int *cpus, int max)
{
#ifdef CPU_SETSIZE
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return -1;
	int n = 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (n < max)
			cpus[n] = c;
		n++;
	}
	return n;
#else
	(void)cpus, (void)max;
	errno = ENOSYS;
	return -1;
#endif
}

int
ipch_cpu_pin(pid_t pid, int cpu)
{
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return EINVAL;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) == -1 ? errno : 0;
}

int
ipch_cpu_time_ns(pid_t pid, uint64_t *ns)
{
	char path[64], buf[1024];
	/* schedstat's first field is the time spent on the CPU, in ns, kept
	 * by the scheduler itself (CONFIG_SCHED_INFO). */
	char who[24] = "self";
	if (pid != 0)
		snprintf(who, sizeof(who), "%ld", (long)pid);
	snprintf(path, sizeof(path), "/proc/%s/schedstat", who);
	if (ipch_read_file(path, buf, sizeof(buf)) > 0) {
		unsigned long long v;
		if (sscanf(buf, "%llu", &v) == 1) {
			*ns = v;
			return 0;
		}
	}
	/* Without schedstat: utime + stime (fields 14, 15), in ticks. */
	snprintf(path, sizeof(path), "/proc/%s/stat", who);
	if (ipch_read_file(path, buf, sizeof(buf)) <= 0)
		return errno == ENOENT ? ESRCH : ENOSYS;
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	/* After ')': field 3 (state) ... field 15 (stime). */
	if (p == NULL || sscanf(p + 1,
	                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	                     "%llu %llu",
	                     &ut, &st) != 2)
		return ENOSYS;
	long hz = sysconf(_SC_CLK_TCK);
	*ns = (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	return 0;
}

unsigned long long
ipch_cpu_spin(const atomic_int *stop, uint64_t deadline_ns)
{
	unsigned long long n = 0;
	for (;;) {
		/* The clock is read through the vDSO: no system call, so a
		 * real-time spinner never blocks and never yields. */
		for (int i = 0; i < 4096; i++) {
			if (stop != NULL &&
			    atomic_load_explicit(stop, memory_order_relaxed))
				return n;
			n++;
		}
		if (ipch_now_ns() >= deadline_ns)
			return n;
	}
}

/* What the spinners of one ipch_cpu_compete share, in shared memory. */
struct compete {
	atomic_int stop;
};

static struct compete *cur;
static struct ipch_latch ready;
static struct ipch_gate go;
static int spin_cpu;
static int spin_limit_ms; /* from the gate to the self-stop */

static bool
is_rt(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

static int
spinner(void *arg)
{
	const struct ipch_spinner *s = arg;
	int err = ipch_cpu_pin(0, spin_cpu);
	if (err != 0)
		ipch_child_fail("%s: sched_setaffinity(CPU %d): failed with %s",
		    s->name, spin_cpu, ipch_errname(err));
	struct sched_param sp = {.sched_priority = 0};
	if (is_rt(s->policy)) {
		/* A second guard beside the deadline: the kernel kills a
		 * real-time task that runs this long without blocking. */
		rlim_t us = (rlim_t)spin_limit_ms * 1000 + 1000000;
		struct rlimit rl = {us, us};
		IPCH_CHILD_SYS(setrlimit(RLIMIT_RTTIME, &rl));
		sp.sched_priority = s->prio;
	} else if (s->policy != SCHED_IDLE) {
		errno = 0;
		if (setpriority(PRIO_PROCESS, 0, s->prio) == -1)
			ipch_child_fail("%s: setpriority(PRIO_PROCESS, 0, %d): "
			                "failed with %s",
			    s->name, s->prio, ipch_errname(errno));
	}
	if (s->policy != SCHED_OTHER &&
	    sched_setscheduler(0, s->policy, &sp) == -1)
		ipch_child_fail("%s: sched_setscheduler(policy %d, prio %d): "
		                "failed with %s",
		    s->name, s->policy, sp.sched_priority, ipch_errname(errno));
	ipch_latch_arrive(&ready);
	if (ipch_gate_wait(&go) != 0)
		ipch_child_fail("%s: start gate broken", s->name);
	ipch_cpu_spin(
	    &cur->stop, ipch_now_ns() + (uint64_t)spin_limit_ms * 1000000u);
	return 0;
}

/* Sleep until CLOCK_MONOTONIC reaches t_ns: the fixed wall length of a
 * measurement, not a synchronisation. */
static void
sleep_until(uint64_t t_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000u),
	    .tv_nsec = (long)(t_ns % 1000000000u)};
	while (
	    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void
read_times(pid_t *pids, uint64_t *ns, int n)
{
	for (int i = 0; i < n; i++) {
		int err = ipch_cpu_time_ns(pids[i], &ns[i]);
		if (err != 0)
			atf_tc_fail("CPU time of spinner pid %ld: %s",
			    (long)pids[i], ipch_errname(err));
	}
}

uint64_t
ipch_cpu_compete(int cpu, struct ipch_spinner *s, int n, int warmup_ms,
    int cpu_ms, int window_ms)
{
	enum { MAXS = 16 };
	if (n < 1 || n > MAXS)
		atf_tc_fail("ipch_cpu_compete: %d spinners (1 to %d)", n, MAXS);

	/* Leave the measured CPU to the spinners. */
	cpu_set_t saved;
	IPCH_SYS(sched_getaffinity(0, sizeof(saved), &saved));
	cpu_set_t others = saved;
	CPU_CLR(cpu, &others);
	bool any_rt = false;
	for (int i = 0; i < n; i++)
		any_rt |= is_rt(s[i].policy);
	if (CPU_COUNT(&others) > 0)
		IPCH_SYS(sched_setaffinity(0, sizeof(others), &others));
	else if (any_rt)
		atf_tc_fail("ipch_cpu_compete: a real-time spinner on CPU %d "
		            "needs another CPU for the caller, and none is "
		            "allowed",
		    cpu);

	cur = IPCH_SYS_PTR(mmap(NULL, sizeof(*cur), PROT_READ | PROT_WRITE,
	                       MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	atomic_init(&cur->stop, 0);
	spin_cpu = cpu;
	spin_limit_ms = warmup_ms + window_ms + 2000;
	ipch_latch_init(&ready);
	ipch_gate_init(&go);
	pid_t pids[MAXS];
	for (int i = 0; i < n; i++)
		pids[i] = ipch_spawn(s[i].name, spinner, &s[i]);
	int err = ipch_latch_wait(&ready, n, 10000);
	if (err != 0) {
		/* A spinner that failed its setup says why when reaped. */
		atomic_store(&cur->stop, 1);
		ipch_gate_open(&go);
		for (int i = 0; i < n; i++)
			ipch_reap_ok(pids[i]);
		atf_tc_fail("ipch_cpu_compete: spinners not ready: %s",
		    ipch_errname(err));
	}
	ipch_gate_open(&go);
	uint64_t t0 = ipch_now_ns() + (uint64_t)warmup_ms * 1000000u;
	sleep_until(t0);
	uint64_t a[MAXS], b[MAXS];
	read_times(pids, a, n);
	uint64_t w0 = ipch_now_ns();
	uint64_t end = w0 + (uint64_t)window_ms * 1000000u;
	uint64_t w1;
	for (;;) {
		/* Polled every 10 ms: the overshoot of the CPU target is at
		 * most 10 ms of CPU, which the shares do not mind. */
		uint64_t next = ipch_now_ns() + 10000000u;
		sleep_until(cpu_ms == 0 || next > end ? end : next);
		read_times(pids, b, n);
		w1 = ipch_now_ns();
		uint64_t used = 0;
		for (int i = 0; i < n; i++)
			used += b[i] - a[i];
		if (w1 >= end ||
		    (cpu_ms != 0 && used >= (uint64_t)cpu_ms * 1000000u))
			break;
	}
	atomic_store(&cur->stop, 1);
	for (int i = 0; i < n; i++) {
		ipch_reap_ok(pids[i]);
		s[i].cpu_ns = b[i] - a[i];
	}
	munmap(cur, sizeof(*cur));
	cur = NULL;
	IPCH_SYS(sched_setaffinity(0, sizeof(saved), &saved));
	return w1 - w0;
}
