/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * save: write the running config back to the file it was loaded from,
 * crash-safely. The new text goes to a temporary file in the same
 * directory, is flushed to disk and read back by the loader (a config the
 * daemon could not start from must never replace a good one); the previous
 * file stays as FILE.bak (a hard link, so it is never missing); rename()
 * then swaps the new file in atomically and the directory is synced.
 * Comments and layout of the original are not preserved: the file is
 * rewritten from the typed config.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_private.h"

/* rc is read before snprintf() can touch errno. */
#define FAIL(rc, ...) do { int rc_ = (rc); snprintf(err, errlen, __VA_ARGS__); \
			   ret = rc_; goto out; } while (0)

/* Fallback when the file system refuses hard links: copy the bytes. */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, ret = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			ret = errno ? -errno : -EIO;
			break;
		}
	}
	if (ret == 0 && fsync(out) < 0)
		ret = -errno;
	close(in);
	close(out);
	return ret;
}

static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		/* Best effort: the data is safe, only the rename may be lost. */
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int
ctl_save(const struct vfw_config *cfg, char *file, size_t file_len,
	 char *backup, size_t backup_len, char *err, size_t errlen)
{
	char target[PATH_MAX], tmp[PATH_MAX + 16], bak[PATH_MAX + 8];
	struct vfw_errors errs;
	struct vfw_config *back;
	bool have_old = false;
	struct stat st;
	mode_t mode = 0644;
	FILE *f = NULL;
	int fd = -1, ret = 0;

	tmp[0] = '\0';
	backup[0] = '\0';
	vfw_errors_init(&errs);
	if (cfg->file == NULL || cfg->file[0] == '\0')
		FAIL(-ENOENT, "the running config was not loaded from a file, so there is nowhere to save it");
	/* Write through a symlink to its target rather than replace it. */
	if (realpath(cfg->file, target) == NULL) {
		if (errno != ENOENT || strlen(cfg->file) >= sizeof(target))
			FAIL(-errno, "%s: %s", cfg->file, strerror(errno));
		strcpy(target, cfg->file);
	}
	if (stat(target, &st) == 0) {
		have_old = true;
		mode = st.st_mode & 07777;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", target);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		tmp[0] = '\0';
		FAIL(ret, "cannot create a temporary file next to %s: %s",
		     target, strerror(-ret));
	}
	if (fchmod(fd, mode) < 0)
		FAIL(-errno, "%s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (f == NULL)
		FAIL(-errno, "%s: %s", tmp, strerror(errno));
	fd = -1;
	ret = vfw_config_write(cfg, f);
	if (ret < 0)
		FAIL(ret, "cannot write the config: %s", strerror(-ret));
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		FAIL(-errno, "%s: %s", tmp, strerror(errno));
	ret = fclose(f);
	f = NULL;
	if (ret != 0)
		FAIL(-errno, "%s: %s", tmp, strerror(errno));

	back = vfw_config_load_file(tmp, &errs);
	if (back == NULL)
		FAIL(-EINVAL, "the written config does not load back (%s), %s left unchanged",
		     errs.n > 0 ? errs.msg[0] : "unknown error", target);
	vfw_config_free(back);

	if (have_old) {
		snprintf(bak, sizeof(bak), "%s.bak", target);
		if (unlink(bak) < 0 && errno != ENOENT)
			FAIL(-errno, "%s: %s", bak, strerror(errno));
		if (link(target, bak) < 0) {
			ret = copy_file(target, bak, mode);
			if (ret < 0)
				FAIL(ret, "cannot keep a backup in %s: %s", bak,
				     strerror(-ret));
		}
		snprintf(backup, backup_len, "%s", bak);
	}
	if (rename(tmp, target) < 0)
		FAIL(-errno, "cannot rename %s to %s: %s", tmp, target,
		     strerror(errno));
	tmp[0] = '\0';
	sync_dir(target);
	snprintf(file, file_len, "%s", target);
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	vfw_errors_free(&errs);
	return ret;
}
