/* /proc readers.  Field numbers are those of proc(5). */
#include "ipch_proc.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t
ipch_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	errno = err;
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Read /proc/<pid>/<what> into buf. */
static ssize_t
read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	return ipch_read_file(path, buf, len);
}

/*
 * The fields of /proc/<pid>/stat after the command name, which may itself
 * hold spaces and parentheses: everything after the last ')'.
 * fields[0] is field 3 (state).
 */
static int
stat_fields(pid_t pid, char *buf, size_t len, char **fields, int nfields)
{
	if (read_proc(pid, "stat", buf, len) <= 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	p++;
	int n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(p, " \n", &save); tok != NULL && n < nfields;
	     tok = strtok_r(NULL, " \n", &save))
		fields[n++] = tok;
	return n;
}

unsigned long long
ipch_proc_starttime(pid_t pid)
{
	char buf[1024];
	char *f[20];
	if (stat_fields(pid, buf, sizeof(buf), f, 20) < 20)
		return 0;
	return strtoull(f[19], NULL, 10); /* field 22 */
}

bool
ipch_proc_alive(pid_t pid, unsigned long long starttime)
{
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return false;
	unsigned long long now = ipch_proc_starttime(pid);
	/* A zombie still has its start time but is no longer a creator. */
	if (ipch_proc_state(pid) == 'Z')
		return false;
	if (now == 0 || starttime == 0)
		return now != 0 || !ipch_have_proc();
	return now == starttime;
}

char
ipch_proc_state(pid_t pid)
{
	char buf[1024];
	char *f[1];
	if (stat_fields(pid, buf, sizeof(buf), f, 1) < 1)
		return 0;
	return f[0][0];
}

pid_t
ipch_proc_ppid(pid_t pid)
{
	char buf[1024];
	char *f[2];
	if (stat_fields(pid, buf, sizeof(buf), f, 2) < 2)
		return -1;
	return (pid_t)strtol(f[1], NULL, 10);
}

bool
ipch_have_proc(void)
{
	return ipch_proc_state(getpid()) != 0;
}

/* /proc/<pid>/syscall starts with the number of the call it sleeps in. */
static bool
sleeping_in(pid_t pid, long sysno)
{
	char st = ipch_proc_state(pid);
	if (st != 'S' && st != 'D')
		return false;
	if (sysno == IPCH_ANY_SYSCALL)
		return true;
	char buf[256];
	if (read_proc(pid, "syscall", buf, sizeof(buf)) <= 0)
		return true; /* no syscall file: the state is the best we have
		              */
	return strtol(buf, NULL, 10) == sysno;
}

int
ipch_wait_blocked(pid_t pid, long sysno, int timeout_ms)
{
	if (!ipch_have_proc())
		return ENOSYS;
	const struct timespec tick = {0, 1000000};
	for (int waited = 0; waited <= timeout_ms; waited++) {
		char st = ipch_proc_state(pid);
		if (st == 0 || st == 'Z')
			return ESRCH;
		/* Seen twice in a row, so a passing page fault does not count.
		 */
		if (sleeping_in(pid, sysno)) {
			nanosleep(&tick, NULL);
			if (sleeping_in(pid, sysno))
				return 0;
		}
		nanosleep(&tick, NULL);
	}
	return ETIMEDOUT;
}

int
ipch_has_cap(int cap)
{
	char buf[4096];
	if (read_proc(getpid(), "status", buf, sizeof(buf)) <= 0)
		return -1;
	char *p = strstr(buf, "CapEff:");
	if (p == NULL)
		return -1;
	uint64_t eff = strtoull(p + 7, NULL, 16);
	return (eff >> cap) & 1;
}

size_t
ipch_proc_descendants(pid_t root, pid_t *out, size_t max)
{
	enum { CAP = 16384 };
	static pid_t pids[CAP], ppids[CAP], frontier[CAP];
	size_t np = 0, n = 0, nf = 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && np < CAP) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		pid_t pp = ipch_proc_ppid((pid_t)pid);
		if (pp <= 0)
			continue;
		pids[np] = (pid_t)pid;
		ppids[np] = pp;
		np++;
	}
	closedir(d);
	frontier[nf++] = root;
	for (size_t f = 0; f < nf; f++)
		for (size_t i = 0; i < np; i++)
			if (ppids[i] == frontier[f] && nf < CAP) {
				frontier[nf++] = pids[i];
				if (n < max)
					out[n++] = pids[i];
			}
	return n;
}
