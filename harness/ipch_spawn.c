/*
 * Spawning and reaping.  One report pipe per spawning process carries the
 * children's failure reasons as "<pid> <text>\n" lines, each one write of
 * less than PIPE_BUF bytes so they never interleave; the write end is
 * non-blocking so a child can never hang on reporting.
 */
#ifdef __linux__
#define _GNU_SOURCE /* pipe2, PR_SET_CHILD_SUBREAPER */
#endif
#include "ipch_spawn.h"

#include <atf-c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "ipch_check.h"
#include "ipch_names.h"
#include "ipch_proc.h"
#include "ipch_watchdog.h"

struct child {
	pid_t pid;
	char name[48];
};

struct report {
	pid_t pid;
	char text[256];
};

static struct child *children;
static size_t n_children, cap_children;
static struct report *reports;
static size_t n_reports, cap_reports;
/* The pipe this process's own children report on, and, in a child, the
 * write end of the pipe it reports on to its parent: two pipes, so that a
 * child that spawns children of its own still reports to its parent. */
static int report_rd = -1, report_wr = -1;
static int to_parent = -1;
static pid_t table_owner;

static void *
grow(void *p, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *q = realloc(p, ncap * elem);
	if (q == NULL)
		atf_tc_fail("ipch_spawn: out of memory");
	*cap = ncap;
	return q;
}

static void
setup_once(void)
{
	if (table_owner == getpid())
		return;
	/* First spawn in this process (the body, or a child that spawns):
	 * the table inherited from a parent is not ours. */
	table_owner = getpid();
	n_children = 0;
	n_reports = 0;
	/* Drop the parent's read end; keep its write end (to_parent). */
	if (report_rd != -1)
		close(report_rd);
	int p[2];
	IPCH_SYS(pipe(p));
	for (int i = 0; i < 2; i++)
		IPCH_SYS(fcntl(p[i], F_SETFD, FD_CLOEXEC));
	IPCH_SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
	IPCH_SYS(fcntl(p[1], F_SETFL, O_NONBLOCK));
	report_rd = p[0];
	report_wr = p[1];
	ipch_registry_init();
	/* Orphans of the case come back to us, so the end-of-case kill can
	 * find and reap them instead of leaving them to init. */
	ipch_become_subreaper();
	ipch_at_owner_exit(ipch_kill_descendants);
	/* A case with children can deadlock: watch it (body only; the
	 * body's watchdog sees grandchildren too). */
	if (ipch_is_case_owner())
		ipch_watchdog_start();
}

pid_t
ipch_try_spawn(const char *name, ipch_child_fn fn, void *arg)
{
	setup_once();
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		to_parent = report_wr;
#ifdef PR_SET_PDEATHSIG
		/* Die with the parent, even when it is SIGKILLed. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(IPCH_CHILD_FAILED);
#else
		(void)parent;
#endif
		_exit(fn(arg));
	}
	if (n_children == cap_children)
		children = grow(children, &cap_children, sizeof(*children));
	children[n_children].pid = pid;
	snprintf(
	    children[n_children].name, sizeof(children[0].name), "%s", name);
	n_children++;
	char proc[64];
	snprintf(proc, sizeof(proc), "%ld %llu", (long)pid,
	    ipch_proc_starttime(pid));
	ipch_register(IPCH_OBJ_PROC, proc);
	return pid;
}

pid_t
ipch_spawn(const char *name, ipch_child_fn fn, void *arg)
{
	pid_t pid = ipch_try_spawn(name, fn, arg);
	if (pid == -1)
		atf_tc_fail("fork for child '%s': failed with %s", name,
		    ipch_errname(errno));
	return pid;
}

void
ipch_child_fail(const char *fmt, ...)
{
	char msg[256];
	int off = snprintf(msg, sizeof(msg), "%ld ", (long)getpid());
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - (size_t)off - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(msg);
	msg[len++] = '\n';
	/* The reason also goes to stderr, which kyua keeps with the case. */
	(void)!write(STDERR_FILENO, msg, len);
	/* writev, not write: one system call all the same (atomic below
	 * PIPE_BUF), and out of reach of a fault shim that breaks write(2)
	 * for the cases under test. */
	struct iovec iov = {.iov_base = msg, .iov_len = len};
	if (to_parent != -1)
		(void)!writev(to_parent, &iov, 1);
	_exit(IPCH_CHILD_FAILED);
}

long
ipch_child_sys_(long rv, const char *expr, const char *file, int line)
{
	int err = errno;
	if (rv == -1)
		ipch_child_fail("%s:%d: %s: failed with %s", file, line, expr,
		    ipch_errname(err));
	return rv;
}

void
ipch_child_expect_eq_(const char *what, long long expected, long long seen,
    const char *file, int line)
{
	if (expected != seen)
		ipch_child_fail("%s:%d: %s: expected %lld, got %lld", file,
		    line, what, expected, seen);
}

void
ipch_child_expect_errno_(
    int experr, long rv, const char *expr, const char *file, int line)
{
	int err = errno;
	char want[32];
	snprintf(want, sizeof(want), "%s", ipch_errname(experr));
	if (rv != -1)
		ipch_child_fail("%s:%d: %s: expected %s, got %ld (success)",
		    file, line, expr, want, rv);
	if (err != experr)
		ipch_child_fail("%s:%d: %s: expected %s, got -1 with %s", file,
		    line, expr, want, ipch_errname(err));
}

void
ipch_child_expect_rc_(
    int want, int got, const char *expr, const char *file, int line)
{
	if (got != want) {
		char w[32];
		snprintf(w, sizeof(w), "%s", ipch_rcname(want));
		ipch_child_fail("%s:%d: %s: expected %s, got %s", file, line,
		    expr, w, ipch_rcname(got));
	}
}

static void
drain_reports(void)
{
	char buf[4096];
	static char partial[512];
	static size_t npartial;
	ssize_t n;

	if (report_rd == -1 || table_owner != getpid())
		return;
	while ((n = read(report_rd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (npartial < sizeof(partial) - 1)
					partial[npartial++] = buf[i];
				continue;
			}
			partial[npartial] = '\0';
			npartial = 0;
			if (n_reports == cap_reports)
				reports = grow(
				    reports, &cap_reports, sizeof(*reports));
			char *text;
			reports[n_reports].pid =
			    (pid_t)strtol(partial, &text, 10);
			snprintf(reports[n_reports].text,
			    sizeof(reports[0].text), "%s",
			    *text == ' ' ? text + 1 : text);
			n_reports++;
		}
	}
}

static const char *
report_of(pid_t pid)
{
	drain_reports();
	for (size_t i = 0; i < n_reports; i++)
		if (reports[i].pid == pid)
			return reports[i].text;
	return NULL;
}

const char *
ipch_child_reason(pid_t pid)
{
	return report_of(pid);
}

static const char *
name_of(pid_t pid)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid == pid)
			return children[i].name;
	return "?";
}

const char *
ipch_child_name(pid_t pid)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid == pid)
			return children[i].name;
	return NULL;
}

static void
forget(pid_t pid)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i].pid == pid) {
			children[i] = children[--n_children];
			return;
		}
}

/* waitpid for pid, failing the case on error; leaves the table alone. */
static int
wait_for(pid_t pid)
{
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (r == -1)
		atf_tc_fail("waitpid for child '%s' (pid %ld): failed with %s",
		    name_of(pid), (long)pid, ipch_errname(errno));
	return status;
}

int
ipch_reap(pid_t pid)
{
	int status = wait_for(pid);
	/* Forgotten, so the end-of-case kill can never hit a reused pid. */
	forget(pid);
	return status;
}

const char *
ipch_signame(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
	    {SIGHUP, "SIGHUP"},
	    {SIGINT, "SIGINT"},
	    {SIGQUIT, "SIGQUIT"},
	    {SIGILL, "SIGILL"},
	    {SIGTRAP, "SIGTRAP"},
	    {SIGABRT, "SIGABRT"},
	    {SIGBUS, "SIGBUS"},
	    {SIGFPE, "SIGFPE"},
	    {SIGKILL, "SIGKILL"},
	    {SIGUSR1, "SIGUSR1"},
	    {SIGSEGV, "SIGSEGV"},
	    {SIGUSR2, "SIGUSR2"},
	    {SIGPIPE, "SIGPIPE"},
	    {SIGALRM, "SIGALRM"},
	    {SIGTERM, "SIGTERM"},
	    {SIGCHLD, "SIGCHLD"},
	    {SIGCONT, "SIGCONT"},
	    {SIGSTOP, "SIGSTOP"},
	    {SIGTSTP, "SIGTSTP"},
	    {SIGTTIN, "SIGTTIN"},
	    {SIGTTOU, "SIGTTOU"},
	    {SIGURG, "SIGURG"},
	    {SIGXCPU, "SIGXCPU"},
	    {SIGXFSZ, "SIGXFSZ"},
	    {SIGVTALRM, "SIGVTALRM"},
	    {SIGPROF, "SIGPROF"},
	    {SIGSYS, "SIGSYS"},
	};
	static _Thread_local char buf[32];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
#ifdef SIGRTMIN
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
		return buf;
	}
#endif
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

const char *
ipch_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %s%s",
		    ipch_signame(WTERMSIG(status)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "wait status 0x%x", status);
	return buf;
}

static void
judge(pid_t pid, int status, int want_exit, int want_sig)
{
	char name[48], seen[64], want[64];
	snprintf(name, sizeof(name), "%s", name_of(pid));
	forget(pid);
	bool ok = want_sig
	              ? (WIFSIGNALED(status) && WTERMSIG(status) == want_sig)
	              : (WIFEXITED(status) && WEXITSTATUS(status) == want_exit);
	if (ok)
		return;
	if (want_sig)
		snprintf(
		    want, sizeof(want), "signal %s", ipch_signame(want_sig));
	else
		snprintf(want, sizeof(want), "exit %d", want_exit);
	const char *why = report_of(pid);
	atf_tc_fail("child '%s' (pid %ld): expected %s, got %s%s%s", name,
	    (long)pid, want, ipch_status_str(status, seen, sizeof(seen)),
	    why ? ": " : "", why ? why : "");
}

void
ipch_reap_expect_exit(pid_t pid, int code)
{
	judge(pid, wait_for(pid), code, 0);
}

void
ipch_reap_expect_signal(pid_t pid, int sig)
{
	judge(pid, wait_for(pid), 0, sig);
}

void
ipch_reap_all_ok(void)
{
	while (n_children > 0 && table_owner == getpid())
		ipch_reap_ok(children[n_children - 1].pid);
}

int
ipch_live_children(void)
{
	return table_owner == getpid() ? (int)n_children : 0;
}

void
ipch_kill_descendants(void)
{
	static pid_t found[8192];
	int status;
	const struct timespec tick = {0, 1000000};

	for (int round = 0; round < 5000; round++) {
		size_t n = 0;
#ifdef __linux__
		n = ipch_proc_descendants(getpid(), found, 8192);
		/* Stop first, so nobody forks or gets reparented away while
		 * the rest are killed. */
		for (size_t i = 0; i < n; i++)
			kill(found[i], SIGSTOP);
		for (size_t i = 0; i < n; i++)
			kill(found[i], SIGKILL);
#endif
		for (size_t i = 0; i < n_children && table_owner == getpid();
		     i++)
			kill(children[i].pid, SIGKILL);
		pid_t r;
		while ((r = waitpid(-1, &status, WNOHANG)) > 0)
			forget(r);
		if (r == -1 && errno == ECHILD && n == 0)
			break;
		nanosleep(&tick, NULL);
	}
	n_children = 0;
}

void
ipch_become_subreaper(void)
{
#ifdef PR_SET_CHILD_SUBREAPER
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
}

int
ipch_reap_exited(void)
{
	int n = 0, status;
	pid_t r;
	while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
		forget(r);
		n++;
	}
	return n;
}

void
ipch_expect_blocked(pid_t pid, long sysno, const char *what)
{
	int rc = ipch_wait_blocked(pid, sysno, IPCH_BLOCK_TIMEOUT_MS);
	if (rc == 0)
		return;
	if (rc == ENOSYS)
		atf_tc_skip("cannot observe a process blocked in %s: needs "
		            "/proc/<pid>/stat (Linux procfs)",
		    what);
	char name[48], st[64];
	snprintf(name, sizeof(name), "%s", name_of(pid));
	if (rc == ESRCH) {
		int status = ipch_reap(pid);
		const char *why = report_of(pid);
		atf_tc_fail("child '%s' (pid %ld): expected it to block in %s, "
		            "got its end first (%s%s%s)",
		    name, (long)pid, what,
		    ipch_status_str(status, st, sizeof(st)), why ? ": " : "",
		    why ? why : "");
	}
	atf_tc_fail(
	    "child '%s' (pid %ld): expected it to block in %s, not seen "
	    "there within %d ms (state %c)",
	    name, (long)pid, what, IPCH_BLOCK_TIMEOUT_MS,
	    ipch_proc_state(pid) ? ipch_proc_state(pid) : '?');
}
