/*
 * ipch-sweep: remove what killed ipcsuite runs left behind.  Acts only on
 * registries and POSIX names of the suite whose owning process is gone, so
 * it is safe to run beside a live run.
 *
 *   ipch-sweep        remove and list what was removed
 *   ipch-sweep -q     remove quietly, one summary line if anything was found
 *   ipch-sweep -c     (check, after a run) exit 1 when the run left
 *                     anything: an object the sweep had to remove, or a
 *                     registry whose owner is still alive.  Give the run a
 *                     state directory of its own (IPCH_STATE_DIR) so that
 *                     other runs on the machine do not count.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
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

int
main(int argc, char **argv)
{
	int quiet = 0, check = 0, opt;
	while ((opt = getopt(argc, argv, "qc")) != -1) {
		switch (opt) {
		case 'q': quiet = 1; break;
		case 'c': check = 1; break;
		default:
			fprintf(stderr, "usage: ipch-sweep [-q] [-c]\n");
			return 2;
		}
	}
	int n = ipch_sweep(quiet ? NULL : stdout);
	if (n > 0 && !check)
		fprintf(quiet ? stderr : stdout,
		    "ipch-sweep: removed %d object(s) left by earlier runs\n", n);
	if (!check)
		return 0;
	int live = count_ours(ipch_state_dir(), "owner.");
	if (n > 0 || live > 0) {
		fprintf(stderr,
		    "ipch-sweep: the run left %d object(s) behind (removed now) "
		    "and %d registr%s of cases still alive in %s: a case does "
		    "not clean up; run ipch-sweep without -q to list them\n",
		    n, live, live == 1 ? "y" : "ies", ipch_state_dir());
		return 1;
	}
	return 0;
}
