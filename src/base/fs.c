#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/err.h"

/* Temporary files open right now, for the signal handler. A fixed table of
 * atomically swapped pointers keeps the handler async-signal-safe. */
#define MR_AFILE_SLOTS 256
static char *volatile afile_tmp[MR_AFILE_SLOTS];

static int slot_take(char *tmp)
{
    for (int i = 0; i < MR_AFILE_SLOTS; i++)
        if (__sync_bool_compare_and_swap(&afile_tmp[i], NULL, tmp)) return i;
    return -1;
}

static void slot_release(int slot)
{
    if (slot >= 0) __sync_lock_release(&afile_tmp[slot]);
}

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < MR_AFILE_SLOTS; i++) {
        char *t = afile_tmp[i];
        if (t) unlink(t);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void mr_fs_install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int mr_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0) return 0;
    if (n >= sizeof buf) return mr_err(MR_EINVAL, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return mr_err(MR_EIO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return mr_err(MR_EIO, "cannot create directory %s: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return mr_err(MR_EIO, "%s exists and is not a directory", buf);
    return 0;
}

int mr_ensure_writable_dir(const char *path)
{
    int rc = mr_mkdirs(path);
    if (rc) return rc;
    if (access(path, W_OK | X_OK) != 0)
        return mr_err(MR_EIO, "directory %s is not writable: %s", path, strerror(errno));
    return 0;
}

static char *dir_of(const char *path)
{
    char *d = mr_strdup(path);
    if (!d) return NULL;
    char *slash = strrchr(d, '/');
    if (!slash) strcpy(d, ".");
    else if (slash == d) d[1] = 0;
    else *slash = 0;
    return d;
}

int mr_afile_open(mr_afile *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->slot = -1;
    char *dir = dir_of(path);
    if (!dir) return MR_ENOMEM;
    int rc = mr_mkdirs(dir);
    free(dir);
    if (rc) return rc;
    size_t n = strlen(path);
    a->path = mr_strdup(path);
    a->tmp = mr_malloc(n + 16);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return MR_ENOMEM;
    }
    snprintf(a->tmp, n + 16, "%s.tmp-XXXXXX", path);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        rc = mr_err(MR_EIO, "cannot create %s: %s", path, strerror(errno));
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return rc;
    }
    fchmod(a->fd, 0644);
    a->slot = slot_take(a->tmp);
    a->f = fdopen(a->fd, "wb");
    if (!a->f) {
        rc = mr_err(MR_EIO, "cannot open %s for writing: %s", a->tmp, strerror(errno));
        close(a->fd);
        a->fd = -1;
        mr_afile_abort(a);
        return rc;
    }
    setvbuf(a->f, NULL, _IOFBF, 1 << 20);
    return 0;
}

void mr_afile_abort(mr_afile *a)
{
    if (a->f) fclose(a->f);
    else if (a->fd >= 0) close(a->fd);
    a->f = NULL;
    a->fd = -1;
    if (a->tmp) {
        unlink(a->tmp);
        slot_release(a->slot);
    }
    a->slot = -1;
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
}

int mr_afile_commit(mr_afile *a)
{
    int rc = 0;
    if (!a->f) return mr_err(MR_EINVAL, "commit of a file that is not open");
    if (fflush(a->f) != 0 || ferror(a->f))
        rc = mr_err(MR_EIO, "cannot write %s: %s", a->path, strerror(errno));
    else if (fsync(a->fd) != 0)
        rc = mr_err(MR_EIO, "cannot sync %s: %s", a->path, strerror(errno));
    if (fclose(a->f) != 0 && !rc)
        rc = mr_err(MR_EIO, "cannot close %s: %s", a->path, strerror(errno));
    a->f = NULL;
    a->fd = -1;
    if (!rc && rename(a->tmp, a->path) != 0)
        rc = mr_err(MR_EIO, "cannot rename into %s: %s", a->path, strerror(errno));
    if (rc) {
        mr_afile_abort(a);
        return rc;
    }
    /* fsync the directory so the rename itself survives a crash */
    char *dir = dir_of(a->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    slot_release(a->slot);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    a->slot = -1;
    return 0;
}

int mr_write_file_atomic(const char *path, const void *data, size_t len)
{
    mr_afile a;
    int rc = mr_afile_open(&a, path);
    if (rc) return rc;
    if (len && fwrite(data, 1, len, a.f) != len) {
        rc = mr_err(MR_EIO, "cannot write %s: %s", path, strerror(errno));
        mr_afile_abort(&a);
        return rc;
    }
    return mr_afile_commit(&a);
}

int mr_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int64_t mr_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        mr_err(MR_ENOTFOUND, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    return (int64_t)st.st_size;
}

int64_t mr_file_mtime_ns(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

int64_t mr_disk_free(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0) return -1;
    return (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

int mr_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mr_err(errno == ENOENT ? MR_ENOTFOUND : MR_EIO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = mr_malloc(cap);
    if (!buf) {
        fclose(f);
        return MR_ENOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = mr_realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return MR_ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mr_err(MR_EIO, "cannot read %s", path);
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return 0;
}

char *mr_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = mr_malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    size_t k = na;
    if (na && a[na - 1] != '/') p[k++] = '/';
    memcpy(p + k, b, nb + 1);
    return p;
}
