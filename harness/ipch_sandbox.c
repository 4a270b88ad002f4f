/*
 * The process sandbox (ipch_sandbox.h).  Each mechanism is set up by a
 * keeper process so that nothing of it touches the case body: a PID
 * namespace made with unshare() would capture every later child of the
 * caller, and a cgroup or uid switch would confine the caller itself.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEW*, setresuid, prctl */
#include "ipch_sandbox.h"

#include <atf-c.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipch_check.h"
#include "ipch_names.h"
#include "ipch_proc.h"

/* Capability numbers not in ipch_proc.h (linux/capability.h). */
#define CAP_SETGID_ 6
#define CAP_SETUID_ 7

/* Smallest pid_max the kernel accepts (RESERVED_PIDS + 1). */
#define PID_MAX_MIN 301

/* Throwaway uids are picked from here up; far above any real account. */
#define THROWAWAY_UID_BASE 0x7e000000u

static const char *const kind_names[] = {
    [IPCH_SANDBOX_AUTO] = "auto",
    [IPCH_SANDBOX_PIDNS] = "pidns",
    [IPCH_SANDBOX_CGROUP2] = "cgroup2",
    [IPCH_SANDBOX_CGROUP1] = "cgroup1",
    [IPCH_SANDBOX_NPROC] = "nproc",
};

const char *
ipch_sandbox_name(enum ipch_sandbox_kind kind)
{
	if ((unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[kind];
	return "?";
}

int
ipch_sandbox_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(kind_names[i], name) == 0)
			return (int)i;
	return -1;
}

long
ipch_sandbox_min_limit(enum ipch_sandbox_kind kind)
{
	/* pid_max N leaves pids 1 .. N-1 to the namespace. */
	return kind == IPCH_SANDBOX_PIDNS ? PID_MAX_MIN - 1 : 1;
}

/* ------------------------------------------------------------------ */
/* Probing */

static bool
kernel_at_least(int major, int minor, char *release, size_t len)
{
	struct utsname u;
	if (uname(&u) == -1)
		return false;
	snprintf(release, len, "%s", u.release);
	int ma = 0, mi = 0;
	if (sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * The directory of this process's cgroup in the hierarchy that holds the
 * pids controller: v2 (the unified mount) or v1 (a "cgroup" mount with the
 * pids option).  0, or -1 with a reason.
 */
static int
own_cgroup_dir(int version, char *dir, size_t len, char *why, size_t wlen)
{
	char line[4096], mnt[PATH_MAX] = "", root[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL) {
		snprintf(why, wlen, "no /proc/self/mountinfo");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		/* id parent maj:min root mountpoint opts... - fstype src super
		 */
		char r[PATH_MAX], m[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
			continue;
		char *sep = strstr(line, " - ");
		if (sep == NULL)
			continue;
		char fstype[64], super[1024] = "";
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, super) < 1)
			continue;
		bool match = false;
		if (version == 2)
			match = strcmp(fstype, "cgroup2") == 0;
		else if (strcmp(fstype, "cgroup") == 0) {
			char *save = NULL;
			for (char *t = strtok_r(super, ",", &save); t != NULL;
			     t = strtok_r(NULL, ",", &save))
				if (strcmp(t, "pids") == 0)
					match = true;
		}
		if (match) {
			snprintf(mnt, sizeof(mnt), "%s", m);
			snprintf(root, sizeof(root), "%s", r);
			break;
		}
	}
	fclose(f);
	if (mnt[0] == '\0') {
		snprintf(why, wlen,
		    version == 2 ? "no cgroup2 mount"
		                 : "no cgroup v1 pids mount");
		return -1;
	}
	/* Our path in that hierarchy, from /proc/self/cgroup. */
	char path[PATH_MAX] = "";
	bool found = false;
	f = fopen("/proc/self/cgroup", "re");
	if (f == NULL) {
		snprintf(why, wlen, "no /proc/self/cgroup");
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = *c2 = '\0';
		const char *ctrls = c1 + 1;
		if (version == 2)
			found = strcmp(line, "0") == 0 && *ctrls == '\0';
		else {
			char cs[256];
			snprintf(cs, sizeof(cs), "%s", ctrls);
			char *save = NULL;
			for (char *t = strtok_r(cs, ",", &save); t != NULL;
			     t = strtok_r(NULL, ",", &save))
				if (strcmp(t, "pids") == 0)
					found = true;
		}
		if (found)
			snprintf(path, sizeof(path), "%s", c2 + 1);
	}
	fclose(f);
	if (!found) {
		snprintf(why, wlen, "this process is in no %s",
		    version == 2 ? "cgroup2 group" : "v1 pids cgroup");
		return -1;
	}
	/* A mount of a subtree (containers) shows paths below its root. */
	const char *rel = path;
	size_t rl = strlen(root);
	if (strcmp(root, "/") != 0 && strncmp(path, root, rl) == 0)
		rel = path + rl;
	snprintf(dir, len, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
	return 0;
}

static bool
file_has_word(const char *path, const char *word)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *save = NULL;
	for (char *t = strtok_r(buf, " \n", &save); t != NULL;
	     t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, word) == 0)
			return true;
	return false;
}

static const char *
probe(
    enum ipch_sandbox_kind kind, char *dir, size_t dlen, char *why, size_t wlen)
{
	char rel[128], sub[PATH_MAX + 32];

	switch (kind) {
	case IPCH_SANDBOX_PIDNS:
		if (ipch_has_cap(IPCH_CAP_SYS_ADMIN) != 1)
			snprintf(why, wlen,
			    "needs CAP_SYS_ADMIN for a PID namespace");
		else if (!kernel_at_least(6, 14, rel, sizeof(rel)))
			snprintf(why, wlen,
			    "needs Linux 6.14 or later for a PID namespace "
			    "with "
			    "its own pid_max (this is %s)",
			    rel);
		else
			return NULL;
		return why;
	case IPCH_SANDBOX_CGROUP2:
	case IPCH_SANDBOX_CGROUP1: {
		int v = kind == IPCH_SANDBOX_CGROUP2 ? 2 : 1;
		char reason[400];
		if (own_cgroup_dir(v, dir, dlen, reason, sizeof(reason)) ==
		    -1) {
			snprintf(why, wlen, "needs a writable pids cgroup (%s)",
			    reason);
			return why;
		}
		if (v == 2) {
			snprintf(
			    sub, sizeof(sub), "%s/cgroup.subtree_control", dir);
			if (!file_has_word(sub, "pids")) {
				snprintf(why, wlen,
				    "needs a writable pids cgroup (pids is not "
				    "enabled in %.400s)",
				    sub);
				return why;
			}
		}
		if (access(dir, W_OK) == -1) {
			snprintf(why, wlen,
			    "needs a writable pids cgroup (%.400s: %s)", dir,
			    ipch_errname(errno));
			return why;
		}
		return NULL;
	}
	case IPCH_SANDBOX_NPROC:
		/* Root without CAP_SETUID cannot switch; and a uid that keeps
		 * CAP_SYS_RESOURCE/CAP_SYS_ADMIN would ignore RLIMIT_NPROC,
		 * which setresuid() to a non-zero uid clears. */
		if (ipch_has_cap(CAP_SETUID_) != 1 ||
		    ipch_has_cap(CAP_SETGID_) != 1) {
			snprintf(why, wlen,
			    "needs root (CAP_SETUID and CAP_SETGID) to switch "
			    "to a throwaway uid");
			return why;
		}
		return NULL;
	default:
		snprintf(why, wlen, "unknown sandbox kind %d", (int)kind);
		return why;
	}
}

const char *
ipch_sandbox_unavailable(enum ipch_sandbox_kind kind)
{
	static char why[1024];
	char dir[PATH_MAX], one[512];

	if (kind != IPCH_SANDBOX_AUTO)
		return probe(kind, dir, sizeof(dir), why, sizeof(why));
	size_t off = (size_t)snprintf(why, sizeof(why),
	    "needs CAP_SYS_ADMIN for a PID namespace, a writable pids cgroup, "
	    "or root to switch to a throwaway uid (");
	for (int k = IPCH_SANDBOX_PIDNS; k <= IPCH_SANDBOX_NPROC; k++) {
		if (probe((enum ipch_sandbox_kind)k, dir, sizeof(dir), one,
		        sizeof(one)) == NULL)
			return NULL;
		if (off < sizeof(why))
			off += (size_t)snprintf(why + off, sizeof(why) - off,
			    "%s%s: %s", k == IPCH_SANDBOX_PIDNS ? "" : "; ",
			    kind_names[k], one);
	}
	if (off < sizeof(why))
		snprintf(why + off, sizeof(why) - off, ")");
	return why;
}

/* ------------------------------------------------------------------ */
/* The keeper and what it starts */

struct shared {
	int ran;
	int status;
};

struct ctx {
	enum ipch_sandbox_kind kind;
	long limit;
	ipch_child_fn fn;
	void *arg;
	struct shared *sh;
	char dir[PATH_MAX]; /* the cgroup made (cgroup kinds) */
	uid_t uid;          /* the throwaway uid (nproc) */
	int ready[2];       /* confined child -> keeper: "ok" or a reason */
	int go[2];          /* keeper -> confined child: one byte to start */
	int guard[2];       /* keeper holds [1]; the guard waits for EOF */
};

static void
tick(void)
{
	const struct timespec t = {0, 1000000};
	nanosleep(&t, NULL);
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In the confined child, before fn: report a setup failure and die. */
static _Noreturn void
confined_fail(struct ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)!write(c->ready[1], msg, strlen(msg));
	_exit(IPCH_CHILD_FAILED);
}

/* SIGKILL every process listed in the cgroup until none is left (zombies
 * are not listed); true when it emptied within the deadline. */
static bool
empty_cgroup(const char *dir, bool reap)
{
	char path[PATH_MAX + 16], buf[8192];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 5000; round++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			return errno == ENOENT;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return true;
		buf[n] = '\0';
		for (char *p = buf; *p != '\0';) {
			long pid = strtol(p, &p, 10);
			while (*p == '\n')
				p++;
			if (pid > 1)
				kill((pid_t)pid, SIGKILL);
			else
				break;
		}
		if (reap)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		tick();
	}
	return false;
}

/* Remove the cgroup, waiting out EBUSY while its last tasks exit. */
static int
remove_cgroup(const char *dir)
{
	for (int i = 0; i < 5000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		tick();
	}
	return -1;
}

/* Processes whose real uid is `uid`, from /proc; up to max into out. */
static size_t
procs_of_uid(uid_t uid, pid_t *out, size_t max)
{
	size_t n = 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], buf[2048];
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		char *u = strstr(buf, "\nUid:");
		if (u == NULL)
			continue;
		/* Real, effective, saved, fs: any of them counts as in use. */
		unsigned long ids[4];
		if (sscanf(u + 5, "%lu %lu %lu %lu", &ids[0], &ids[1], &ids[2],
		        &ids[3]) != 4)
			continue;
		bool match = false;
		for (int i = 0; i < 4; i++)
			match |= ids[i] == (unsigned long)uid;
		if (match && n < max)
			out[n++] = (pid_t)strtol(e->d_name, NULL, 10);
		else if (match)
			n++;
	}
	closedir(d);
	return n;
}

static bool
kill_uid(uid_t uid, bool reap)
{
	static pid_t pids[4096];
	for (int round = 0; round < 5000; round++) {
		size_t n = procs_of_uid(uid, pids, 4096);
		size_t live = 0;
		for (size_t i = 0; i < n && i < 4096; i++)
			if (ipch_proc_state(pids[i]) != 'Z') {
				kill(pids[i], SIGKILL);
				live++;
			}
		if (reap)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		if (live == 0 && (!reap || n == 0))
			return true;
		tick();
	}
	return false;
}

/*
 * The guard: outside the sandbox, in its own session (a timeout's kill of
 * the case's process group must not take it), waiting for the keeper to
 * go.  When the keeper dies before tearing down (SIGKILL), the guard does
 * it: the sandbox's processes are no longer anyone's responsibility.
 */
static _Noreturn void
guard(struct ctx *c)
{
	char b;
	close(c->guard[1]);
	(void)setsid();
	while (read(c->guard[0], &b, 1) == -1 && errno == EINTR)
		;
	if (c->kind == IPCH_SANDBOX_NPROC)
		(void)kill_uid(c->uid, false);
	else {
		(void)empty_cgroup(c->dir, false);
		(void)remove_cgroup(c->dir);
	}
	_exit(0);
}

static pid_t
start_guard(struct ctx *c)
{
	if (pipe2(c->guard, O_CLOEXEC) == -1)
		ipch_child_fail("sandbox %s: pipe for the guard: %s",
		    kind_names[c->kind], ipch_errname(errno));
	pid_t pid = fork();
	if (pid == -1)
		ipch_child_fail("sandbox %s: fork of the guard: %s",
		    kind_names[c->kind], ipch_errname(errno));
	if (pid == 0)
		guard(c);
	close(c->guard[0]);
	return pid;
}

static void
stop_guard(struct ctx *c, pid_t g)
{
	if (g <= 0)
		return;
	close(c->guard[1]);
	while (waitpid(g, NULL, 0) == -1 && errno == EINTR)
		;
}

/* Set up the calling (confined) child for its kind. */
static void
confine(struct ctx *c, pid_t keeper)
{
	char buf[64], path[PATH_MAX + 32];

	switch (c->kind) {
	case IPCH_SANDBOX_PIDNS:
		/* pid 1 of the namespace: when it exits the kernel kills the
		 * rest, so the keeper's death reaches every process inside. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNS) == -1)
			confined_fail(
			    c, "unshare(CLONE_NEWNS): %s", ipch_errname(errno));
		/* Private, so our /proc mount never propagates to the host;
		 * it goes away with the mount namespace. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
			confined_fail(
			    c, "mount / private: %s", ipch_errname(errno));
		if (mount("proc", "/proc", "proc",
		        MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
			confined_fail(
			    c, "mount /proc: %s", ipch_errname(errno));
		snprintf(buf, sizeof(buf), "%ld\n", c->limit + 1);
		if (write_file("/proc/sys/kernel/pid_max", buf) == -1)
			confined_fail(c,
			    "write %ld to the namespace's pid_max: "
			    "%s",
			    c->limit + 1, ipch_errname(errno));
		break;
	case IPCH_SANDBOX_CGROUP1:
	case IPCH_SANDBOX_CGROUP2:
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(path, sizeof(path), "%s/cgroup.procs", c->dir);
		snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (write_file(path, buf) == -1)
			confined_fail(
			    c, "join %s: %s", c->dir, ipch_errname(errno));
		break;
	case IPCH_SANDBOX_NPROC: {
		struct rlimit rl = {(rlim_t)c->limit, (rlim_t)c->limit};
		if (setrlimit(RLIMIT_NPROC, &rl) == -1)
			confined_fail(c, "setrlimit(RLIMIT_NPROC, %ld): %s",
			    c->limit, ipch_errname(errno));
		if (setgroups(0, NULL) == -1 ||
		    setresgid(c->uid, c->uid, c->uid) == -1 ||
		    setresuid(c->uid, c->uid, c->uid) == -1)
			confined_fail(c, "switch to uid %lu: %s",
			    (unsigned long)c->uid, ipch_errname(errno));
		/* A uid change clears both; ask again, so the keeper's death
		 * still kills us and /proc/<pid> stays readable to us. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)prctl(PR_SET_DUMPABLE, 1);
		break;
	}
	default:
		confined_fail(c, "unknown kind");
	}
	if (getppid() != keeper && c->kind != IPCH_SANDBOX_PIDNS)
		_exit(IPCH_CHILD_FAILED); /* the keeper is already gone */
}

static _Noreturn void
confined(struct ctx *c, pid_t keeper)
{
	char b;
	close(c->ready[0]);
	close(c->go[1]);
	if (c->guard[1] > 0)
		close(c->guard[1]);
	confine(c, keeper);
	(void)!write(c->ready[1], "ok", 2);
	close(c->ready[1]);
	if (read(c->go[0], &b, 1) != 1)
		_exit(IPCH_CHILD_FAILED); /* the keeper gave up */
	close(c->go[0]);
	_exit(c->fn(c->arg));
}

/* Pick a uid no process uses now.  Derived from the keeper's pid, which is
 * unique among live keepers, so parallel cases do not share one. */
static uid_t
throwaway_uid(void)
{
	pid_t none[1];
	uid_t uid = THROWAWAY_UID_BASE + (uid_t)getpid() % 0x00ffffffu;
	for (int i = 0; i < 64; i++, uid += 0x01000000u / 64)
		if (procs_of_uid(uid, none, 1) == 0)
			return uid;
	ipch_child_fail(
	    "sandbox nproc: no unused uid near %lu", (unsigned long)uid);
}

static int
keeper(void *arg)
{
	struct ctx *c = arg;
	const char *name = kind_names[c->kind];
	pid_t self = getpid(), g = -1;
	int host_fd = -1;
	char host_before[32] = "", host_after[32] = "";

	/* Orphans of the confined child (its zombies, once it exits) come
	 * here, so the teardown can reap them and empty the cgroup. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	c->guard[0] = c->guard[1] = -1;
	switch (c->kind) {
	case IPCH_SANDBOX_PIDNS:
		host_fd =
		    open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
		if (host_fd == -1 || pread(host_fd, host_before,
		                         sizeof(host_before) - 1, 0) <= 0)
			ipch_child_fail(
			    "sandbox pidns: read the host's pid_max: "
			    "%s",
			    ipch_errname(errno));
		if (unshare(CLONE_NEWPID) == -1)
			ipch_child_fail("sandbox pidns: unshare(CLONE_NEWPID): "
			                "%s",
			    ipch_errname(errno));
		break;
	case IPCH_SANDBOX_CGROUP1:
	case IPCH_SANDBOX_CGROUP2: {
		char parent[PATH_MAX - 64], why[512], val[32];
		char path[PATH_MAX + 32];
		if (probe(c->kind, parent, sizeof(parent), why, sizeof(why)))
			ipch_child_fail("sandbox %s: %s", name, why);
		snprintf(c->dir, sizeof(c->dir), "%s/ipcsuite.%ld.%ld", parent,
		    (long)getppid(), (long)self);
		if (mkdir(c->dir, 0755) == -1)
			ipch_child_fail("sandbox %s: mkdir %s: %s", name,
			    c->dir, ipch_errname(errno));
		ipch_register(IPCH_OBJ_PATH, c->dir);
		g = start_guard(c);
		snprintf(path, sizeof(path), "%s/pids.max", c->dir);
		snprintf(val, sizeof(val), "%ld\n", c->limit);
		if (write_file(path, val) == -1) {
			int err = errno;
			stop_guard(c, g);
			ipch_child_fail("sandbox %s: write %ld to %s: %s", name,
			    c->limit, path, ipch_errname(err));
		}
		break;
	}
	case IPCH_SANDBOX_NPROC:
		c->uid = throwaway_uid();
		g = start_guard(c);
		break;
	default:
		ipch_child_fail("sandbox: unknown kind %d", (int)c->kind);
	}

	if (pipe2(c->ready, O_CLOEXEC) == -1 || pipe2(c->go, O_CLOEXEC) == -1)
		ipch_child_fail(
		    "sandbox %s: pipe: %s", name, ipch_errname(errno));
	pid_t pid = fork();
	if (pid == -1) {
		int err = errno;
		stop_guard(c, g);
		ipch_child_fail("sandbox %s: fork of the confined child: %s",
		    name, ipch_errname(err));
	}
	if (pid == 0)
		confined(c, self);
	close(c->ready[1]);
	close(c->go[0]);

	char msg[257] = "";
	ssize_t n;
	while ((n = read(c->ready[0], msg, sizeof(msg) - 1)) == -1 &&
	       errno == EINTR)
		;
	msg[n > 0 ? n : 0] = '\0';
	char err[512] = "";
	if (strcmp(msg, "ok") != 0)
		snprintf(err, sizeof(err), "sandbox %s: setting up: %s", name,
		    msg[0] ? msg : "the confined child died");
	if (host_fd != -1 && err[0] == '\0') {
		/* Guard against a kernel where pid_max is global after all:
		 * put the host's value back at once, and stop. */
		if (pread(host_fd, host_after, sizeof(host_after) - 1, 0) <=
		        0 ||
		    strcmp(host_before, host_after) != 0) {
			int fd = open(
			    "/proc/sys/kernel/pid_max", O_WRONLY | O_CLOEXEC);
			if (fd != -1) {
				(void)!write(
				    fd, host_before, strlen(host_before));
				close(fd);
			}
			snprintf(err, sizeof(err),
			    "sandbox pidns: the namespace's pid_max changed "
			    "the host's (from %.20s): restored, not run",
			    host_before);
		}
	}
	if (err[0] == '\0')
		(void)!write(c->go[1], "g", 1);
	close(c->go[1]);

	int status;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (err[0] == '\0') {
		c->sh->status = status;
		c->sh->ran = 1;
	}

	/* Teardown.  pidns: init's exit took the namespace's processes with
	 * it.  Others: kill what the function left, reap it, remove. */
	bool clean = true;
	if (c->kind == IPCH_SANDBOX_CGROUP1 ||
	    c->kind == IPCH_SANDBOX_CGROUP2) {
		clean = empty_cgroup(c->dir, true);
		if (clean && remove_cgroup(c->dir) == -1) {
			clean = false;
			snprintf(msg, sizeof(msg), "rmdir %.200s: %s", c->dir,
			    ipch_errname(errno));
		} else if (!clean)
			snprintf(msg, sizeof(msg), "%.200s still has processes",
			    c->dir);
	} else if (c->kind == IPCH_SANDBOX_NPROC) {
		clean = kill_uid(c->uid, true);
		if (!clean)
			snprintf(msg, sizeof(msg),
			    "processes of uid %lu survive SIGKILL",
			    (unsigned long)c->uid);
	}
	stop_guard(c, g);
	if (err[0] != '\0')
		ipch_child_fail("%s", err);
	if (!clean)
		ipch_child_fail("sandbox %s: teardown: %s", name, msg);
	return 0;
}

bool
ipch_sandbox_run(struct ipch_sandbox *sb, ipch_child_fn fn, void *arg)
{
	enum ipch_sandbox_kind kind = sb->kind;
	const char *why;

	sb->why[0] = '\0';
	sb->used = IPCH_SANDBOX_AUTO;
	if (kind == IPCH_SANDBOX_AUTO) {
		why = ipch_sandbox_unavailable(IPCH_SANDBOX_AUTO);
		if (why != NULL) {
			snprintf(sb->why, sizeof(sb->why), "%s", why);
			return false;
		}
		for (int k = IPCH_SANDBOX_PIDNS; k <= IPCH_SANDBOX_NPROC; k++)
			if (ipch_sandbox_unavailable(
			        (enum ipch_sandbox_kind)k) == NULL) {
				kind = (enum ipch_sandbox_kind)k;
				break;
			}
	} else if ((why = ipch_sandbox_unavailable(kind)) != NULL) {
		snprintf(sb->why, sizeof(sb->why), "sandbox %s: %s",
		    ipch_sandbox_name(kind), why);
		return false;
	}

	struct ctx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		atf_tc_fail("sandbox: out of memory");
	c->kind = kind;
	c->limit = sb->limit < ipch_sandbox_min_limit(kind)
	               ? ipch_sandbox_min_limit(kind)
	               : sb->limit;
	c->fn = fn;
	c->arg = arg;
	c->sh = IPCH_SYS_PTR(
	    mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
	        MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	char name[48];
	snprintf(name, sizeof(name), "sandbox %s", kind_names[kind]);
	/* The keeper's failure reason reaches the verdict through spawn's
	 * report pipe. */
	ipch_reap_ok(ipch_spawn(name, keeper, c));
	sb->used = kind;
	sb->limit_used = c->limit;
	sb->status = c->sh->status;
	bool ran = c->sh->ran;
	munmap(c->sh, sizeof(struct shared));
	free(c);
	if (!ran)
		atf_tc_fail("sandbox %s: the keeper exited 0 without running "
		            "the function",
		    kind_names[kind]);
	return true;
}

void
ipch_sandbox_expect_ok(const struct ipch_sandbox *sb)
{
	char seen[64];
	if (WIFEXITED(sb->status) && WEXITSTATUS(sb->status) == 0)
		return;
	atf_tc_fail("sandbox %s: confined child expected exit 0, got %s",
	    ipch_sandbox_name(sb->used),
	    ipch_status_str(sb->status, seen, sizeof(seen)));
}
