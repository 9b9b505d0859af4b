/* run.c: process and file helpers for the dagcc driver: running the underlying
 * compiler, temporary directories, path manipulation and depfile repair. Nothing here
 * knows about options; args.c and dagcc.c decide what to run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "util.h"

extern char **environ;

void sv_push(strvec *s, const char *a)
{
    grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v);
    s->v[s->n++] = xstrdup(a);
    s->v[s->n] = NULL;
}

void sv_pushf(strvec *s, const char *fmt, ...)
{
    strbuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    sv_push(s, sb_str(&b));
    sb_free(&b);
}

void sv_append(strvec *s, const strvec *t)
{
    for (size_t i = 0; i < t->n; i++)
        sv_push(s, t->v[i]);
}

void sv_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

void print_cmd(const strvec *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const char *s = a->v[i];
        int quote = !*s || strpbrk(s, " \t\"'$\\") != NULL;
        fprintf(stderr, "%s%s%s%s", i ? " " : "", quote ? "'" : "", s, quote ? "'" : "");
    }
    fputc('\n', stderr);
}

int run_cmd(const strvec *a, int verbose)
{
    if (verbose)
        print_cmd(a);
    pid_t pid;
    int rc = posix_spawnp(&pid, a->v[0], NULL, NULL, a->v, environ);
    if (rc != 0) {
        fprintf(stderr, "dagcc: error: cannot run '%s': %s\n", a->v[0], strerror(rc));
        return 127;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

char *make_temp_dir(void)
{
    const char *t = getenv("TMPDIR");
    strbuf b = {0};
    sb_printf(&b, "%s/dagcc-XXXXXX", t && *t ? t : "/tmp");
    char *d = sb_take(&b);
    if (!mkdtemp(d)) {
        fprintf(stderr, "dagcc: error: cannot create a temporary directory: %s\n",
                strerror(errno));
        free(d);
        return NULL;
    }
    return d;
}

void remove_temp_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = path_join(dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

char *path_join(const char *dir, const char *name)
{
    strbuf b = {0};
    sb_printf(&b, "%s/%s", dir, name);
    return sb_take(&b);
}

char *path_dirname(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s)
        return xstrdup(".");
    if (s == p)
        return xstrdup("/");
    return xstrndup(p, (size_t)(s - p));
}

const char *path_base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

char *replace_ext(const char *path, const char *ext)
{
    const char *b = path_base(path);
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    strbuf s = {0};
    sb_putn(&s, b, n);
    sb_puts(&s, ext);
    return sb_take(&s);
}

int write_all(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "dagcc: error: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    if (!ok) {
        fprintf(stderr, "dagcc: error: cannot write '%s'\n", path);
        unlink(path);
        return -1;
    }
    return 0;
}

/* The compiler saw the translated copy; make the depfile name the user's source. */
int fix_depfile(const char *depfile, const char *from, const char *to)
{
    size_t len;
    char *text = read_file(depfile, &len);
    if (!text)
        return 0; /* no depfile was requested after all */
    strbuf out = {0};
    size_t fl = strlen(from);
    for (size_t i = 0; i < len;) {
        if (fl && i + fl <= len && memcmp(text + i, from, fl) == 0) {
            sb_puts(&out, to);
            i += fl;
        } else {
            sb_putc(&out, text[i++]);
        }
    }
    int rc = write_all(depfile, sb_str(&out), out.n);
    sb_free(&out);
    free(text);
    return rc;
}

int exe_dir(char *buf, size_t size)
{
    char *p = realpath("/proc/self/exe", NULL);
    if (!p)
        return -1;
    char *d = path_dirname(p);
    free(p);
    if (strlen(d) + 1 > size) {
        free(d);
        return -1;
    }
    strcpy(buf, d);
    free(d);
    return 0;
}
