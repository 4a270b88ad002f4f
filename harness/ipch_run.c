#include "ipch_run.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipch_case.h"
#include "ipch_check.h"
#include "ipch_names.h"
#include "ipch_proc.h"
#include "ipch_spawn.h"
#include "ipch_timing.h"

static unsigned run_seq;

/* exec prog with args in dir, stdout/stderr to files; wait up to timeout. */
static int
run_in(struct ipch_run *r, const char *what, const char *resfile, int timeout_s)
{
	const char *argv[64];
	int n = 0;
	char rflag[PATH_MAX + 8], tc[512], outp[PATH_MAX + 16],
	    errp[PATH_MAX + 16];
	snprintf(rflag, sizeof(rflag), "-r%s/%s", r->dir, resfile);
	snprintf(tc, sizeof(tc), "%s", what);
	snprintf(outp, sizeof(outp), "%s/stdout", r->dir);
	snprintf(errp, sizeof(errp), "%s/stderr", r->dir);
	argv[n++] = r->prog;
	argv[n++] = rflag;
	for (const char *const *v = r->vars; v != NULL && *v != NULL && n < 60;
	     v++) {
		argv[n++] = "-v";
		argv[n++] = *v;
	}
	argv[n++] = tc;
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == -1)
		atf_tc_fail("fork to run %s: %s", r->prog, ipch_errname(errno));
	if (pid == 0) {
		/* Own process group, so a timeout can kill what it forked. */
		setpgid(0, 0);
		if (chdir(r->dir) == -1)
			_exit(125);
		int o = open(outp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (o == -1 || e == -1)
			_exit(125);
		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		for (const char *const *v = r->env; v != NULL && *v != NULL;
		     v++)
			putenv((char *)*v);
		execv(r->prog, (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	uint64_t deadline = ipch_now_ns() + (uint64_t)timeout_s * 1000000000u;
	const struct timespec tick = {0, 2000000};
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		if (ipch_now_ns() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
}

static void
first_line(const char *path, char *buf, size_t len, const char *dflt)
{
	FILE *f = fopen(path, "r");
	snprintf(buf, len, "%s", dflt);
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void
ipch_run_case(struct ipch_run *r)
{
	char cwd[PATH_MAX - 64]; /* room for the run.<pid>.<n> suffix */
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		atf_tc_fail("getcwd: %s", ipch_errname(errno));
	snprintf(r->dir, sizeof(r->dir), "%s/run.%ld.%u", cwd, (long)getpid(),
	    ++run_seq);
	if (mkdir(r->dir, 0755) == -1)
		atf_tc_fail("mkdir %s: %s", r->dir, ipch_errname(errno));
	if (access(r->prog, X_OK) == -1)
		atf_tc_fail(
		    "test program %s: %s", r->prog, ipch_errname(errno));

	/* What the case leaves orphaned comes back here, not to init, so a
	 * self-test can see it die and reap it. */
	ipch_become_subreaper();
	char path[PATH_MAX + 16];
	int st = run_in(
	    r, r->tcname, "result", r->timeout_s > 0 ? r->timeout_s : 30);
	snprintf(path, sizeof(path), "%s/result", r->dir);
	first_line(path, r->result, sizeof(r->result),
	    st == -1 ? "timed out" : "no result");
	if (st == -1)
		snprintf(r->result, sizeof(r->result), "timed out");

	r->cleanup_result[0] = '\0';
	if (!r->skip_cleanup) {
		char what[512];
		snprintf(what, sizeof(what), "%s:cleanup", r->tcname);
		(void)run_in(r, what, "cleanup-result", 30);
		snprintf(path, sizeof(path), "%s/cleanup-result", r->dir);
		first_line(path, r->cleanup_result, sizeof(r->cleanup_result),
		    "no result");
	}
}

bool
ipch_run_verdict_is(const struct ipch_run *r, const char *verdict)
{
	return strncmp(r->result, verdict, strlen(verdict)) == 0;
}

long
ipch_run_read(const struct ipch_run *r, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", r->dir, file);
	return (long)ipch_read_file(path, buf, len);
}

void
ipch_run_tree_case(const atf_tc_t *tc, const char *relprog, const char *tcname,
    struct ipch_run *r)
{
	static char prog[PATH_MAX];
	r->prog = ipch_tree_file(tc, relprog, prog, sizeof(prog));
	r->tcname = tcname;
	ipch_run_case(r);
}

void
ipch_run_expect(const struct ipch_run *r, const char *verdict, const char *text)
{
	if (!ipch_run_verdict_is(r, verdict) ||
	    (text != NULL && strstr(r->result, text) == NULL))
		atf_tc_fail("%s:%s: expected '%s%s%s', got '%s'", r->prog,
		    r->tcname, verdict, text ? "...: ..." : "",
		    text ? text : "", r->result);
}
