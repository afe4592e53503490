/* Files: atomic output, directories, small helpers.
 *
 * Every output of musrec is written through mr_afile: the bytes go to a
 * temporary file next to the final path (same directory, so rename(2) is
 * atomic), which is fsynced and renamed over the final path on commit. On
 * failure or abort the temporary file is removed; a reader of the final path
 * sees the old file or the complete new one, never a half-written one.
 * Temporary files still open when SIGINT/SIGTERM arrives are unlinked by
 * mr_fs_install_signal_cleanup(); after kill -9 only a stray
 * "<name>.tmp-XXXXXX" can remain, never a partial file at the final path.
 */
#ifndef MR_FS_H
#define MR_FS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;     /* write here (buffered) */
    int fd;
    char *path;  /* final path */
    char *tmp;   /* temporary path */
    int slot;    /* registry slot for signal cleanup, -1 if none */
} mr_afile;

/* Creates the temporary file for path (and missing parent directories). */
int mr_afile_open(mr_afile *a, const char *path);
/* Flushes, fsyncs and renames into place; on failure removes the temp file. */
int mr_afile_commit(mr_afile *a);
/* Removes the temporary file; the final path is untouched. Safe to call twice. */
void mr_afile_abort(mr_afile *a);

/* Writes a whole buffer atomically to path. */
int mr_write_file_atomic(const char *path, const void *data, size_t len);

/* On SIGINT/SIGTERM: unlink open temporary files, then die by the signal. */
void mr_fs_install_signal_cleanup(void);

/* mkdir -p; an existing directory is fine. Errors name the path. */
int mr_mkdirs(const char *path);
/* Creates dir if needed and checks that we can write into it. */
int mr_ensure_writable_dir(const char *path);

int mr_file_exists(const char *path);
/* Size in bytes, or -1 (and an error) if it cannot be stat'ed. */
int64_t mr_file_size(const char *path);
/* Modification time in nanoseconds, 0 if missing. */
int64_t mr_file_mtime_ns(const char *path);
/* Bytes free for an unprivileged user on the filesystem holding path. */
int64_t mr_disk_free(const char *path);

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int mr_read_file(const char *path, char **data, size_t *len);

/* Joins a and b with '/' into a malloc'd string (NULL + error on OOM). */
char *mr_path_join(const char *a, const char *b);

#endif
