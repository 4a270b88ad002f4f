/*
 * A confined child for exhaustion cases: run a function in a process whose
 * tree may hold at most `limit` processes, so a case can drive fork() into
 * its limit while the rest of the machine keeps forking.
 *
 * Mechanisms, strongest first (the first one available is used unless the
 * caller asks for one):
 *   pidns    a PID namespace with its own pid_max (Linux 6.14 and later)
 *            and a private /proc; the function runs as the namespace's
 *            init, so everything it starts dies with it.
 *   cgroup2  a new pids cgroup (v2) under the caller's, with pids.max set.
 *   cgroup1  the same in the v1 pids hierarchy.
 *   nproc    RLIMIT_NPROC under a throwaway uid that no process uses.
 *
 * Layout of a run (all of it owned by the case and reaped by it):
 *   case body ── keeper (ipch_spawn'd; a subreaper that reaps and tears
 *                 │       down when the function returns)
 *                 ├─ guard   (cgroup, nproc: outside the sandbox, in its own
 *                 │           session; when the keeper dies for any reason,
 *                 │           SIGKILL included, it kills what is left inside
 *                 │           and removes the cgroup)
 *                 └─ confined child: runs fn(arg); its exit status is the
 *                               run's result
 * The cgroup directory is also registered (IPCH_OBJ_PATH) so the case's
 * cleanup removes it once its processes are dead.
 *
 * Inside the function: no ATF, and no ipch_spawn or ipch_register.  In the
 * pidns mechanism pids are the namespace's, which the case's registry would
 * take for host pids; use fork() and report through the exit status or
 * shared memory.  /proc (ipch_proc_state and friends) shows the sandbox's
 * own processes in every mechanism.  In the nproc mechanism the function
 * runs as an unprivileged uid: it can use what it inherited (descriptors,
 * shared mappings) but may not be able to open the case's files.
 */
#ifndef IPCH_SANDBOX_H
#define IPCH_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "ipch_spawn.h"

enum ipch_sandbox_kind {
	IPCH_SANDBOX_AUTO = 0, /* the strongest one available */
	IPCH_SANDBOX_PIDNS,
	IPCH_SANDBOX_CGROUP2,
	IPCH_SANDBOX_CGROUP1,
	IPCH_SANDBOX_NPROC,
};

/* "pidns", "cgroup2", "cgroup1", "nproc" ("auto" for AUTO). */
const char *ipch_sandbox_name(enum ipch_sandbox_kind kind);

/* The kind named by `name` (as above); -1 when unknown. */
int ipch_sandbox_parse(const char *name);

/*
 * NULL when `kind` can be used here; otherwise why not, in words that name
 * what is missing ("needs CAP_SYS_ADMIN for a PID namespace", "needs Linux
 * 6.14 or later for a per-namespace pid_max (this is 6.8.0)").  For AUTO:
 * NULL when any kind can be used, else
 *   "needs CAP_SYS_ADMIN for a PID namespace, a writable pids cgroup, or
 *    root to switch to a throwaway uid (<each kind's reason>)".
 * The string is static, valid until the next call.
 */
const char *ipch_sandbox_unavailable(enum ipch_sandbox_kind kind);

/* The smallest limit a kind can enforce (pidns: 300, as pid_max may not
 * go below 301 and pid 0 is never used; others 1). */
long ipch_sandbox_min_limit(enum ipch_sandbox_kind kind);

struct ipch_sandbox {
	/* in */
	enum ipch_sandbox_kind kind; /* AUTO, or the one to use */
	long limit;                  /* processes allowed in the sandbox, the
	                                confined child itself included; raised
	                                to the kind's minimum */
	/* out */
	enum ipch_sandbox_kind used; /* the mechanism that ran */
	long limit_used;             /* the limit in force */
	int status;                  /* wait status of the confined child */
	char why[512];               /* when it could not run: the reason */
};

/*
 * Run fn(arg) in a confined child and wait for it.  Returns true when fn
 * ran (status holds its wait status: exit code fn's return value); false
 * when no mechanism (or not the one asked for) is available here, with the
 * reason in `why` for atf_tc_skip.  Fails the case when the mechanism was
 * available but could not be set up, or when something it made could not
 * be removed.
 */
bool ipch_sandbox_run(struct ipch_sandbox *sb, ipch_child_fn fn, void *arg);

/* Fail the case unless the confined child exited 0:
 *   sandbox pidns: confined child expected exit 0, got exit 3 */
void ipch_sandbox_expect_ok(const struct ipch_sandbox *sb);

#endif
