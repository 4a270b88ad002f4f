/*
 * Making FIFOs: mkfifo(), mkfifoat() and mknod() with S_IFIFO, the mode
 * they give the new file, and the errors of each path.  Every FIFO lives in
 * the case's work directory, which kyua removes.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipch.h"

/* Fail unless `path` is a FIFO whose permission bits are `want`. */
static void
expect_fifo_mode(const char *path, mode_t want, const char *why)
{
	struct stat st;
	IPCH_SYS(stat(path, &st));
	if (!S_ISFIFO(st.st_mode))
		atf_tc_fail("stat(%s): expected a FIFO, got file type 0%o",
		    path, (unsigned)(st.st_mode & S_IFMT));
	if ((st.st_mode & 07777) != want)
		atf_tc_fail("permission bits of the new FIFO (%s): expected "
		            "0%03o, got 0%03o",
		    why, (unsigned)want, (unsigned)(st.st_mode & 07777));
}

IPCH_CASE(mkfifo_mode_is_masked_by_umask, "conformance",
    "POSIX.1-2017 mkfifo(): permission bits modified by the file mode "
    "creation mask",
    "mkfifo(path, 0777) under umask 027 makes a FIFO with mode 0750");
ATF_TC_BODY(mkfifo_mode_is_masked_by_umask, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	umask(027);
	IPCH_SYS(mkfifo(path, 0777));
	expect_fifo_mode(path, 0750, "mode 0777, umask 027");
}

IPCH_CASE(mkfifo_with_umask_zero_keeps_requested_mode, "conformance",
    "POSIX.1-2017 mkfifo(): permission bits initialized from mode",
    "mkfifo(path, 0641) under umask 0 makes a FIFO with exactly mode 0641");
ATF_TC_BODY(mkfifo_with_umask_zero_keeps_requested_mode, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	umask(0);
	IPCH_SYS(mkfifo(path, 0641));
	expect_fifo_mode(path, 0641, "mode 0641, umask 0");
}

IPCH_CASE(mkfifo_owner_is_effective_uid, "conformance",
    "POSIX.1-2017 mkfifo(): user ID set to the process' effective user ID",
    "the new FIFO belongs to the effective user ID of its creator");
ATF_TC_BODY(mkfifo_owner_is_effective_uid, tc)
{
	char path[PATH_MAX];
	struct stat st;
	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	IPCH_SYS(stat(path, &st));
	IPCH_EXPECT_EQ("st_uid of the new FIFO", geteuid(), st.st_uid);
}

IPCH_CASE(mkfifo_fails_eexist_on_existing_fifo, "conformance",
    "POSIX.1-2017 mkfifo(): EEXIST",
    "mkfifo() on the path of an existing FIFO fails with EEXIST");
ATF_TC_BODY(mkfifo_fails_eexist_on_existing_fifo, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	IPCH_EXPECT_ERRNO(EEXIST, mkfifo(path, 0600));
}

IPCH_CASE(mkfifo_fails_eexist_on_regular_file, "conformance",
    "POSIX.1-2017 mkfifo(): EEXIST",
    "mkfifo() on the path of a regular file fails with EEXIST and leaves "
    "the file a regular file");
ATF_TC_BODY(mkfifo_fails_eexist_on_regular_file, tc)
{
	char path[PATH_MAX];
	struct stat st;
	ipch_work_path("file", path, sizeof(path));
	IPCH_SYS(
	    close(IPCH_SYS(open(path, O_WRONLY | O_CREAT | O_EXCL, 0600))));
	IPCH_EXPECT_ERRNO(EEXIST, mkfifo(path, 0600));
	IPCH_SYS(stat(path, &st));
	if (!S_ISREG(st.st_mode))
		atf_tc_fail("after the failed mkfifo: expected a regular file, "
		            "got file type 0%o",
		    (unsigned)(st.st_mode & S_IFMT));
}

IPCH_CASE(mkfifo_fails_enoent_when_directory_is_missing, "conformance",
    "POSIX.1-2017 mkfifo(): ENOENT",
    "mkfifo() under a directory that does not exist fails with ENOENT");
ATF_TC_BODY(mkfifo_fails_enoent_when_directory_is_missing, tc)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	ipch_work_path("nodir", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	IPCH_EXPECT_ERRNO(ENOENT, mkfifo(path, 0600));
}

IPCH_CASE(mkfifo_fails_enoent_on_empty_path, "conformance",
    "POSIX.1-2017 mkfifo(): ENOENT (path is an empty string)",
    "mkfifo(\"\") fails with ENOENT");
ATF_TC_BODY(mkfifo_fails_enoent_on_empty_path, tc)
{
	IPCH_EXPECT_ERRNO(ENOENT, mkfifo("", 0600));
}

IPCH_CASE(mkfifo_fails_enotdir_when_prefix_is_a_file, "conformance",
    "POSIX.1-2017 mkfifo(): ENOTDIR",
    "mkfifo() under a path prefix that is a regular file fails with "
    "ENOTDIR");
ATF_TC_BODY(mkfifo_fails_enotdir_when_prefix_is_a_file, tc)
{
	char file[PATH_MAX], path[PATH_MAX + 16];
	ipch_work_path("file", file, sizeof(file));
	IPCH_SYS(
	    close(IPCH_SYS(open(file, O_WRONLY | O_CREAT | O_EXCL, 0600))));
	snprintf(path, sizeof(path), "%s/fifo", file);
	IPCH_EXPECT_ERRNO(ENOTDIR, mkfifo(path, 0600));
}

IPCH_CASE(mkfifo_fails_enametoolong_for_long_component, "conformance",
    "POSIX.1-2017 mkfifo(): ENAMETOOLONG",
    "mkfifo() with a last component longer than NAME_MAX fails with "
    "ENAMETOOLONG");
ATF_TC_BODY(mkfifo_fails_enametoolong_for_long_component, tc)
{
	long name_max = pathconf(".", _PC_NAME_MAX);
	if (name_max == -1)
		atf_tc_skip("pathconf(\".\", _PC_NAME_MAX): no limit for this "
		            "file system");
	if (name_max > 1000)
		atf_tc_skip("NAME_MAX of this file system is %ld, too large "
		            "for the case's buffer",
		    name_max);
	char name[1024];
	memset(name, 'n', (size_t)name_max + 1);
	name[name_max + 1] = '\0';
	IPCH_EXPECT_ERRNO(ENAMETOOLONG, mkfifo(name, 0600));
}

IPCH_CASE(mkfifoat_creates_fifo_relative_to_dirfd, "conformance",
    "POSIX.1-2017 mkfifoat(): relative path resolved from fd",
    "mkfifoat(dirfd, name) makes the FIFO in the directory dirfd refers "
    "to, not in the current directory");
ATF_TC_BODY(mkfifoat_creates_fifo_relative_to_dirfd, tc)
{
	char dir[PATH_MAX], name[64];
	struct stat st;
	ipch_work_path("dir", dir, sizeof(dir));
	IPCH_SYS(mkdir(dir, 0700));
	int dfd = (int)IPCH_SYS(open(dir, O_RDONLY | O_DIRECTORY));
	snprintf(name, sizeof(name), "fifo.%ld", (long)getpid());
	IPCH_SYS(mkfifoat(dfd, name, 0600));
	IPCH_SYS(fstatat(dfd, name, &st, 0));
	if (!S_ISFIFO(st.st_mode))
		atf_tc_fail("fstatat(dirfd, %s): expected a FIFO, got file "
		            "type 0%o",
		    name, (unsigned)(st.st_mode & S_IFMT));
	IPCH_EXPECT_ERRNO(ENOENT, lstat(name, &st));
	IPCH_SYS(close(dfd));
}

IPCH_CASE(mkfifoat_with_at_fdcwd_uses_current_directory, "conformance",
    "POSIX.1-2017 mkfifoat(): AT_FDCWD",
    "mkfifoat(AT_FDCWD, name) makes the FIFO in the current directory");
ATF_TC_BODY(mkfifoat_with_at_fdcwd_uses_current_directory, tc)
{
	char name[64];
	struct stat st;
	snprintf(name, sizeof(name), "fifo.%ld", (long)getpid());
	IPCH_SYS(mkfifoat(AT_FDCWD, name, 0600));
	IPCH_SYS(lstat(name, &st));
	if (!S_ISFIFO(st.st_mode))
		atf_tc_fail("lstat(%s): expected a FIFO, got file type 0%o",
		    name, (unsigned)(st.st_mode & S_IFMT));
}

IPCH_CASE(mkfifoat_fails_enotdir_when_dirfd_is_a_file, "conformance",
    "POSIX.1-2017 mkfifoat(): ENOTDIR (fd not a directory)",
    "mkfifoat() with a relative path and a dirfd open on a regular file "
    "fails with ENOTDIR");
ATF_TC_BODY(mkfifoat_fails_enotdir_when_dirfd_is_a_file, tc)
{
	char file[PATH_MAX];
	ipch_work_path("file", file, sizeof(file));
	int fd = (int)IPCH_SYS(open(file, O_RDWR | O_CREAT | O_EXCL, 0600));
	IPCH_EXPECT_ERRNO(ENOTDIR, mkfifoat(fd, "fifo", 0600));
	IPCH_SYS(close(fd));
}

IPCH_CASE(mkfifoat_fails_ebadf_on_closed_dirfd, "conformance",
    "POSIX.1-2017 mkfifoat(): EBADF",
    "mkfifoat() with a relative path and a closed dirfd fails with EBADF");
ATF_TC_BODY(mkfifoat_fails_ebadf_on_closed_dirfd, tc)
{
	/* A descriptor number that was open a moment ago and is not now. */
	int fd = (int)IPCH_SYS(open(".", O_RDONLY | O_DIRECTORY));
	IPCH_SYS(close(fd));
	IPCH_EXPECT_ERRNO(EBADF, mkfifoat(fd, "fifo", 0600));
}

IPCH_CASE(mknod_with_s_ififo_creates_fifo, "conformance",
    "POSIX.1-2017 mknod(): S_IFIFO",
    "mknod(path, S_IFIFO | 0660, 0) under umask 022 makes a FIFO with "
    "mode 0640, as mkfifo does, also without privilege");
ATF_TC_BODY(mknod_with_s_ififo_creates_fifo, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	umask(022);
	IPCH_SYS(mknod(path, S_IFIFO | 0660, 0));
	expect_fifo_mode(path, 0640, "mknod mode S_IFIFO | 0660, umask 022");
}

IPCH_CASE(mknod_fifo_fails_eexist_on_existing_fifo, "conformance",
    "POSIX.1-2017 mknod(): EEXIST",
    "mknod(S_IFIFO) on the path of an existing FIFO fails with EEXIST");
ATF_TC_BODY(mknod_fifo_fails_eexist_on_existing_fifo, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	IPCH_EXPECT_ERRNO(EEXIST, mknod(path, S_IFIFO | 0600, 0));
}

IPCH_CASE(fstat_reports_fifo_type_on_open_descriptor, "conformance",
    "POSIX.1-2017 <sys/stat.h>: S_ISFIFO",
    "fstat() on a descriptor open on a FIFO reports a type S_ISFIFO "
    "accepts");
ATF_TC_BODY(fstat_reports_fifo_type_on_open_descriptor, tc)
{
	char path[PATH_MAX];
	struct stat st;
	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	int fd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	IPCH_SYS(fstat(fd, &st));
	if (!S_ISFIFO(st.st_mode))
		atf_tc_fail("fstat on the FIFO's descriptor: expected "
		            "S_ISFIFO, got file type 0%o",
		    (unsigned)(st.st_mode & S_IFMT));
	IPCH_SYS(close(fd));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, mkfifo_mode_is_masked_by_umask);
	ATF_TP_ADD_TC(tp, mkfifo_with_umask_zero_keeps_requested_mode);
	ATF_TP_ADD_TC(tp, mkfifo_owner_is_effective_uid);
	ATF_TP_ADD_TC(tp, mkfifo_fails_eexist_on_existing_fifo);
	ATF_TP_ADD_TC(tp, mkfifo_fails_eexist_on_regular_file);
	ATF_TP_ADD_TC(tp, mkfifo_fails_enoent_when_directory_is_missing);
	ATF_TP_ADD_TC(tp, mkfifo_fails_enoent_on_empty_path);
	ATF_TP_ADD_TC(tp, mkfifo_fails_enotdir_when_prefix_is_a_file);
	ATF_TP_ADD_TC(tp, mkfifo_fails_enametoolong_for_long_component);
	ATF_TP_ADD_TC(tp, mkfifoat_creates_fifo_relative_to_dirfd);
	ATF_TP_ADD_TC(tp, mkfifoat_with_at_fdcwd_uses_current_directory);
	ATF_TP_ADD_TC(tp, mkfifoat_fails_enotdir_when_dirfd_is_a_file);
	ATF_TP_ADD_TC(tp, mkfifoat_fails_ebadf_on_closed_dirfd);
	ATF_TP_ADD_TC(tp, mknod_with_s_ififo_creates_fifo);
	ATF_TP_ADD_TC(tp, mknod_fifo_fails_eexist_on_existing_fifo);
	ATF_TP_ADD_TC(tp, fstat_reports_fifo_type_on_open_descriptor);
	return atf_no_error();
}
