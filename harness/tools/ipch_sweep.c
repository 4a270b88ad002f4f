/*
 * ipch-sweep: remove what killed ipcsuite runs left behind.  Acts only on
 * registries and POSIX names of the suite whose owning process is gone, so
 * it is safe to run beside a live run.
 *
 *   ipch-sweep        remove and list what was removed, including the work
 *                     directories a killed kyua left in $TMPDIR holding
 *                     finished ipcsuite cases
 *   ipch-sweep -q     remove quietly, one summary line if anything was found
 *   ipch-sweep -c     (check, after a run) exit 1 when the run left
 *                     anything: an object the sweep had to remove, or a
 *                     registry whose owner is still alive.  Give the run a
 *                     state directory of its own (IPCH_STATE_DIR) so that
 *                     other runs on the machine do not count.
 */
#define _DEFAULT_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipch_names.h"

static int
count_ours(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* True when some process has its cwd at or below dir. */
static bool
in_use(const char *dir)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool used = false;
	size_t len = strlen(dir);
	while (d != NULL && !used && (e = readdir(d)) != NULL) {
		char link[16 + NAME_MAX], target[PATH_MAX];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%s/cwd", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		used = strncmp(target, dir, len) == 0 &&
		       (target[len] == '/' || target[len] == '\0');
	}
	if (d != NULL)
		closedir(d);
	return used;
}

/* True when dir/<case>/work/ipch-registry is a link whose registry is
 * gone: the directory held an ipcsuite case that has ended. */
static bool
held_finished_case(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char link[2 * PATH_MAX], target[PATH_MAX];
		struct stat st;
		snprintf(link, sizeof(link), "%s/%s/work/ipch-registry", dir,
		    e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = stat(target, &st) == -1;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0; /* best effort: go on with the rest */
}

/*
 * A kyua killed with SIGKILL leaves its work directories, which hold our
 * cases' FIFOs and files.  Remove those of ours: owned by us, untouched for
 * 5 s (a live kyua removes a case's directory as soon as the case ends),
 * holding a finished ipcsuite case, and with no process working there.
 */
static int
sweep_kyua_dirs(FILE *log)
{
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	DIR *d = opendir(tmp);
	struct dirent *e;
	int removed = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char dir[PATH_MAX + NAME_MAX + 2];
		struct stat st;
		if (strncmp(e->d_name, "kyua.", 5) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", tmp, e->d_name);
		if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid() || time(NULL) - st.st_mtime < 5 ||
		    !held_finished_case(dir) || in_use(dir))
			continue;
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (log != NULL)
			fprintf(log, "removed kyua work directory %s\n", dir);
		removed++;
	}
	if (d != NULL)
		closedir(d);
	return removed;
}

int
main(int argc, char **argv)
{
	int quiet = 0, check = 0, opt;
	while ((opt = getopt(argc, argv, "qc")) != -1) {
		switch (opt) {
		case 'q':
			quiet = 1;
			break;
		case 'c':
			check = 1;
			break;
		default:
			fprintf(stderr, "usage: ipch-sweep [-q] [-c]\n");
			return 2;
		}
	}
	int n = ipch_sweep(quiet ? NULL : stdout);
	/* Not counted against a run being checked: these are a killed
	 * kyua's, from before it. */
	int k = sweep_kyua_dirs(quiet ? NULL : stdout);
	if (k > 0)
		fprintf(quiet ? stderr : stdout,
		    "ipch-sweep: removed %d work director%s of a killed kyua\n",
		    k, k == 1 ? "y" : "ies");
	if (n > 0 && !check)
		fprintf(quiet ? stderr : stdout,
		    "ipch-sweep: removed %d object(s) left by earlier runs\n",
		    n);
	if (!check)
		return 0;
	int live = count_ours(ipch_state_dir(), "owner.");
	if (n > 0 || live > 0) {
		fprintf(stderr,
		    "ipch-sweep: the run left %d object(s) behind (removed "
		    "now) "
		    "and %d registr%s of cases still alive in %s: a case does "
		    "not clean up; run ipch-sweep without -q to list them\n",
		    n, live, live == 1 ? "y" : "ies", ipch_state_dir());
		return 1;
	}
	return 0;
}
