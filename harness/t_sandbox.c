/* Self-tests of ipch_sandbox: for each mechanism this machine has, the
 * limit holds inside and not outside, and nothing the sandbox made is left. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: sandbox", descr)

struct probe {
	atomic_int full; /* the confined child hit its limit */
	atomic_int outside_done;
	long forked;        /* children it had when fork failed */
	int err;            /* fork's errno then */
	long outside_forks; /* the case body's forks while it was full */
	char cgroup[512];   /* a line of /proc/self/cgroup, for cleanup */
	unsigned long uid;
};

static void
ms_sleep(long ms)
{
	const struct timespec t = {0, ms * 1000000};
	nanosleep(&t, NULL);
}

/* Confined: fork sleepers until fork fails, then hold still until the body
 * has forked outside; kill and reap them. */
static int
fill(void *arg)
{
	struct probe *p = arg;
	pid_t kids[4096];
	long n = 0;
	p->uid = (unsigned long)getuid();
	for (;;) {
		pid_t pid = fork();
		if (pid == -1) {
			p->err = errno;
			break;
		}
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (n == 4096)
			return 2;
		kids[n++] = pid;
	}
	p->forked = n;
	atomic_store(&p->full, 1);
	uint64_t deadline = ipch_now_ns() + 10000000000u;
	while (!atomic_load(&p->outside_done) && ipch_now_ns() < deadline)
		ms_sleep(1);
	for (long i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
}

static int
exit0(void *arg)
{
	(void)arg;
	return 0;
}

/* Forks outside while the sandbox is full, from the body. */
static int
outside(void *arg)
{
	struct probe *p = arg;
	uint64_t deadline = ipch_now_ns() + 10000000000u;
	while (!atomic_load(&p->full) && ipch_now_ns() < deadline)
		ms_sleep(1);
	for (int i = 0; i < 50; i++) {
		pid_t pid = ipch_try_spawn("outside", exit0, NULL);
		if (pid == -1) {
			atomic_store(&p->outside_done, 1);
			return 1;
		}
		ipch_reap_ok(pid);
		p->outside_forks++;
	}
	atomic_store(&p->outside_done, 1);
	return 0;
}

static void
limit_holds(enum ipch_sandbox_kind kind, long limit)
{
	const char *why = ipch_sandbox_unavailable(kind);
	if (why != NULL)
		atf_tc_skip("%s", why);
	struct probe *p =
	    IPCH_SYS_PTR(mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
	                     MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	        MAP_FAILED);
	memset(p, 0, sizeof(*p));
	/* The outside forks run in a thread-free helper: the body waits in
	 * ipch_sandbox_run, so a spawned child does them. */
	pid_t o = ipch_spawn("outside-forker", outside, p);
	struct ipch_sandbox sb = {.kind = kind, .limit = limit};
	ATF_REQUIRE(ipch_sandbox_run(&sb, fill, p));
	ipch_reap_ok(o);
	ipch_sandbox_expect_ok(&sb);
	IPCH_EXPECT_EQ("mechanism used", kind, sb.used);
	IPCH_EXPECT_EQ("limit in force",
	    limit < ipch_sandbox_min_limit(kind) ? ipch_sandbox_min_limit(kind)
	                                         : limit,
	    sb.limit_used);
	IPCH_EXPECT_EQ("children forked inside before fork failed (limit - 1)",
	    sb.limit_used - 1, p->forked);
	if (p->err != EAGAIN)
		atf_tc_fail("fork inside at the limit: expected EAGAIN, got %s",
		    ipch_errname(p->err));
	IPCH_EXPECT_EQ(
	    "forks outside while the sandbox was full", 50, p->outside_forks);
	if (kind == IPCH_SANDBOX_NPROC && p->uid == (unsigned long)getuid())
		atf_tc_fail("nproc: the confined child kept uid %lu", p->uid);
	ipch_metric("sandbox_limit", (double)sb.limit_used, "processes");
}

/* No cgroup directory of ours is left under the v1 pids mount. */
static void
expect_no_cgroup_left(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
	    "ls -d /sys/fs/cgroup/pids/ipcsuite.%ld.* "
	    "/sys/fs/cgroup/unified/ipcsuite.%ld.* 2>/dev/null | grep -q .",
	    (long)getpid(), (long)getpid());
	if (system(cmd) == 0)
		atf_tc_fail("a cgroup directory of this case outlived its "
		            "sandbox run");
}

SELFTEST(pidns_limit_holds_inside_not_outside,
    "in a PID namespace with pid_max 301, the 301st process fails with "
    "EAGAIN while the host forks freely");
ATF_TC_BODY(pidns_limit_holds_inside_not_outside, tc)
{
	(void)tc;
	limit_holds(IPCH_SANDBOX_PIDNS, 300);
}

SELFTEST(cgroup1_limit_holds_inside_not_outside,
    "in a v1 pids cgroup with pids.max 16, the 17th process fails with "
    "EAGAIN while the host forks freely; the cgroup is removed");
ATF_TC_BODY(cgroup1_limit_holds_inside_not_outside, tc)
{
	(void)tc;
	limit_holds(IPCH_SANDBOX_CGROUP1, 16);
	expect_no_cgroup_left();
}

SELFTEST(cgroup2_limit_holds_inside_not_outside,
    "in a v2 pids cgroup with pids.max 16, the 17th process fails with "
    "EAGAIN while the host forks freely; the cgroup is removed");
ATF_TC_BODY(cgroup2_limit_holds_inside_not_outside, tc)
{
	(void)tc;
	limit_holds(IPCH_SANDBOX_CGROUP2, 16);
	expect_no_cgroup_left();
}

SELFTEST(nproc_limit_holds_inside_not_outside,
    "under a throwaway uid with RLIMIT_NPROC 16, the 17th process fails "
    "with EAGAIN while the host forks freely");
ATF_TC_BODY(nproc_limit_holds_inside_not_outside, tc)
{
	(void)tc;
	limit_holds(IPCH_SANDBOX_NPROC, 16);
}

SELFTEST(unavailable_reason_names_what_is_missing,
    "the AUTO reason, when there is one, names each mechanism's need");
ATF_TC_BODY(unavailable_reason_names_what_is_missing, tc)
{
	(void)tc;
	const char *why = ipch_sandbox_unavailable(IPCH_SANDBOX_AUTO);
	printf("auto: %s\n", why ? why : "available");
	for (int k = IPCH_SANDBOX_PIDNS; k <= IPCH_SANDBOX_NPROC; k++) {
		const char *w =
		    ipch_sandbox_unavailable((enum ipch_sandbox_kind)k);
		printf("%s: %s\n", ipch_sandbox_name((enum ipch_sandbox_kind)k),
		    w ? w : "available");
	}
	why = ipch_sandbox_unavailable(IPCH_SANDBOX_AUTO);
	if (why != NULL &&
	    strstr(why, "needs CAP_SYS_ADMIN for a PID "
	                "namespace, a writable pids cgroup, or "
	                "root to switch to a throwaway uid") == NULL)
		atf_tc_fail(
		    "AUTO reason: expected the three needs, got '%s'", why);
	IPCH_EXPECT_EQ("parse(name(cgroup1))", IPCH_SANDBOX_CGROUP1,
	    ipch_sandbox_parse(ipch_sandbox_name(IPCH_SANDBOX_CGROUP1)));
	IPCH_EXPECT_EQ("parse(\"bogus\")", -1, ipch_sandbox_parse("bogus"));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, pidns_limit_holds_inside_not_outside);
	ATF_TP_ADD_TC(tp, cgroup1_limit_holds_inside_not_outside);
	ATF_TP_ADD_TC(tp, cgroup2_limit_holds_inside_not_outside);
	ATF_TP_ADD_TC(tp, nproc_limit_holds_inside_not_outside);
	ATF_TP_ADD_TC(tp, unavailable_reason_names_what_is_missing);
	return atf_no_error();
}
