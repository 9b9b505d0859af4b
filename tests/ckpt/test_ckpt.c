/* test_ckpt.c: checkpoint/restart from the outside, by running ckpt_app as a user would.
 *   test_ckpt kill N [launcher]   N times: run with checkpoints, kill -9 (one rank) at a
 *                                 random point, restart (killed again half of the time,
 *                                 then restarted again) until it completes; the digest
 *                                 must equal the one of a run without checkpoints, and
 *                                 most restarts must actually have skipped tasks.
 *   test_ckpt damaged             the newest checkpoint flipped, truncated, its header
 *                                 zeroed, a torn temporary file: reported, not loaded, the
 *                                 previous good one used; all damaged: a full run.
 *   test_ckpt mismatch            restarting a different program is refused clearly.
 *   test_ckpt ranks launcher      restarting on another number of ranks is refused clearly.
 * The launcher (e.g. "mpirun -np 2") is one argument, split at spaces. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
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

static const char *launcher; /* NULL: run the program directly */
static int nranks = 1;
static char dir[256];
static const char *app_args[4] = {"6", "16", "20", "64"};

struct result {
    int status;   /* waitpid status */
    int killed;   /* we killed it */
    char out[256];
    char err[16384];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void slurp(const char *path, char *buf, size_t size)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
}

static int read_pid(int rank)
{
    char path[512], buf[32];
    snprintf(path, sizeof path, "%s/pid.%d", dir, rank);
    slurp(path, buf, sizeof buf);
    return atoi(buf);
}

/* Runs ckpt_app; with kill_after > 0 kills it (one random rank) after that many seconds. */
static void run_app(struct result *r, const char *ckdir, int restart, double kill_after,
                    const char *const *args, const char *launch)
{
    char out[512], err[512], pidfile[480];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
    for (int k = 0; k < 8; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s.%d", pidfile, k);
        unlink(p);
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (ckdir)
            setenv("DAG_CHECKPOINT_DIR", ckdir, 1);
        else
            unsetenv("DAG_CHECKPOINT_DIR");
        setenv("DAG_CHECKPOINT_EVERY", "0", 1);
        setenv("DAG_RESTART", restart ? "1" : "0", 1);
        setenv("DAG_TEST_PIDFILE", pidfile, 1);
        if (!getenv("DAG_NUM_THREADS"))
            setenv("DAG_NUM_THREADS", "2", 1);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        char *argv[64];
        int n = 0;
        char *l = launch ? strdup(launch) : NULL;
        for (char *s = l ? strtok(l, " ") : NULL; s && n < 50; s = strtok(NULL, " "))
            argv[n++] = s;
        argv[n++] = (char *)CKPT_APP;
        for (int i = 0; i < 4; i++)
            argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    double t0 = now();
    r->killed = 0;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        double t = now() - t0;
        if (kill_after > 0 && !r->killed && t >= kill_after) {
            int victim = pid;
            if (launch) { /* kill -9 one rank; the launcher ends the job */
                int rk = rand() % nranks, p = read_pid(rk);
                if (p > 0)
                    victim = p;
            }
            kill(victim, SIGKILL);
            r->killed = 1;
        }
        if (t > 300) {
            kill(-pid, SIGKILL);
            ck_abort_msg("ckpt_app did not end in 300 s");
        }
        usleep(2000);
    }
    kill(-pid, SIGKILL); /* leftovers of a killed job */
    r->status = status;
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

static void clear_dir(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd)
        return;
    struct dirent *de;
    while ((de = readdir(dd))) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        unlink(p);
    }
    closedir(dd);
}

static int ok_exit(const struct result *r)
{
    return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

static char ref_digest[256];
static double ref_time;
static char ckdir[512];

static void reference(void)
{
    if (ref_digest[0])
        return;
    struct result r;
    double t0 = now();
    run_app(&r, NULL, 0, 0, app_args, launcher);
    ref_time = now() - t0;
    ck_assert_msg(ok_exit(&r), "reference run failed: %s", r.err);
    ck_assert_msg(!strncmp(r.out, "digest ", 7), "no digest: %s", r.out);
    snprintf(ref_digest, sizeof ref_digest, "%s", r.out);
    snprintf(ckdir, sizeof ckdir, "%s/ck", dir);
    mkdir(ckdir, 0755);
}

START_TEST(test_kill_restart)
{
    reference();
    int n = atoi(getenv("CKPT_ITERS") ? getenv("CKPT_ITERS") : "50");
    int skipped_runs = 0, kills = 0;
    for (int it = 0; it < n; it++) {
        clear_dir(ckdir);
        struct result r;
        double k1 = ref_time * (0.1 + 1.2 * (double)rand() / RAND_MAX);
        run_app(&r, ckdir, 0, k1, app_args, launcher);
        kills += r.killed;
        int restarts = 0;
        for (;;) {
            double k2 = rand() % 2 && restarts == 0 ? ref_time * (0.05 + 0.8 * (double)rand() / RAND_MAX) : 0;
            run_app(&r, ckdir, 1, k2, app_args, launcher);
            restarts++;
            if (!r.killed)
                break;
            kills++;
        }
        ck_assert_msg(ok_exit(&r), "iteration %d: restart failed (status %d): %s", it,
                      r.status, r.err);
        ck_assert_msg(!strcmp(r.out, ref_digest), "iteration %d: %s differs from %s (%s)", it,
                      r.out, ref_digest, r.err);
        ck_assert_msg(!strstr(r.err, "not loaded"), "iteration %d: %s", it, r.err);
        skipped_runs += strstr(r.err, "tasks skipped") != NULL;
    }
    fprintf(stderr, "test_ckpt: %d iterations, %d kills, %d final runs restarted from a "
                    "checkpoint (reference %.2f s)\n", n, kills, skipped_runs, ref_time);
    ck_assert_msg(skipped_runs >= n / 3, "only %d of %d restarts skipped tasks", skipped_runs, n);
}
END_TEST

/* The checkpoint files of rank 0, newest first. */
static int list_ckpts(char names[][256], int max)
{
    DIR *dd = opendir(ckdir);
    int n = 0;
    struct dirent *de;
    while (dd && (de = readdir(dd)) && n < max)
        if (!strncmp(de->d_name, "ckpt.r0.", 8) && strstr(de->d_name, ".dag"))
            snprintf(names[n++], 256, "%s", de->d_name);
    if (dd)
        closedir(dd);
    for (int i = 0; i < n; i++) /* names sort by cut (zero-padded): descending */
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) > 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
    return n;
}

static void damage(const char *name, int how)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", ckdir, name);
    int fd = open(p, O_RDWR);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    fstat(fd, &st);
    if (how == 0) { /* one flipped byte in the data */
        off_t off = st.st_size - 100;
        unsigned char b;
        ck_assert_int_eq(pread(fd, &b, 1, off), 1);
        b ^= 0x10;
        ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
    } else if (how == 1) { /* truncated */
        ck_assert_int_eq(ftruncate(fd, st.st_size - 4096 - 7), 0);
    } else if (how == 2) { /* header gone */
        char z[64] = {0};
        ck_assert_int_eq(pwrite(fd, z, sizeof z, 0), (ssize_t)sizeof z);
    } else { /* flipped byte in the metadata */
        unsigned char b;
        ck_assert_int_eq(pread(fd, &b, 1, 80), 1);
        b ^= 1;
        ck_assert_int_eq(pwrite(fd, &b, 1, 80), 1);
    }
    close(fd);
}

START_TEST(test_damaged)
{
    reference();
    for (int how = 0; how < 4; how++) {
        clear_dir(ckdir);
        struct result r;
        run_app(&r, ckdir, 0, ref_time * 0.8, app_args, launcher);
        char names[16][256];
        int n = list_ckpts(names, 16);
        if (n < 2) { /* the run was too fast to leave two: kill earlier next time */
            how--;
            ref_time *= 1.5;
            continue;
        }
        damage(names[0], how);
        /* a torn temporary file (as a kill during a write leaves) is never loaded */
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s/ckpt.r0.999999999999.tmp", ckdir);
        FILE *f = fopen(tmp, "w");
        fputs("torn", f);
        fclose(f);
        run_app(&r, ckdir, 1, 0, app_args, launcher);
        ck_assert_msg(ok_exit(&r), "how %d: %s", how, r.err);
        ck_assert_str_eq(r.out, ref_digest);
        ck_assert_msg(strstr(r.err, names[0]) && strstr(r.err, "not loaded"),
                      "how %d: the damaged file is not reported: %s", how, r.err);
        ck_assert_msg(strstr(r.err, names[1]) && strstr(r.err, "tasks skipped"),
                      "how %d: the previous checkpoint was not used: %s", how, r.err);
        static const char *why[] = {"corrupted data", "truncated", "not a dagcc checkpoint",
                                    "corrupted"};
        ck_assert_msg(strstr(r.err, why[how]), "how %d: %s", how, r.err);
    }
    /* every checkpoint damaged: reported, and the run starts from the beginning */
    char names[16][256];
    int n = list_ckpts(names, 16);
    for (int i = 0; i < n; i++)
        damage(names[i], 0);
    struct result r;
    run_app(&r, ckdir, 1, 0, app_args, launcher);
    ck_assert_msg(ok_exit(&r), "%s", r.err);
    ck_assert_str_eq(r.out, ref_digest);
    ck_assert_msg(strstr(r.err, "no usable checkpoint"), "%s", r.err);
}
END_TEST

START_TEST(test_mismatch)
{
    reference();
    clear_dir(ckdir);
    struct result r;
    run_app(&r, ckdir, 0, 0, app_args, launcher);
    ck_assert(ok_exit(&r));
    const char *other[4] = {app_args[0], app_args[1], app_args[2], "32"}; /* other tiles */
    run_app(&r, ckdir, 1, 0, other, launcher);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3, "%s", r.err);
    ck_assert_msg(strstr(r.err, "differs from the task the checkpoint"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "ckpt_app: submit"), "%s", r.err);
}
END_TEST

START_TEST(test_ranks_differ)
{
    reference();
    clear_dir(ckdir);
    struct result r;
    run_app(&r, ckdir, 0, 0, app_args, launcher); /* checkpoints of nranks ranks */
    ck_assert(ok_exit(&r));
    run_app(&r, ckdir, 1, 0, app_args, NULL); /* restart on one */
    ck_assert_msg(!ok_exit(&r), "%s", r.err);
    ck_assert_msg(strstr(r.err, "restart needs the same number of ranks"), "%s", r.err);
    /* on twice as many: the ranks without files refuse too (no rank runs alone) */
    char more[512];
    const char *np = strstr(launcher, "-np ");
    snprintf(more, sizeof more, "%.*s-np %d%s", (int)(np - launcher), launcher, 2 * nranks,
             np + 4 + strspn(np + 4, "0123456789"));
    run_app(&r, ckdir, 1, 0, app_args, more);
    ck_assert_msg(!ok_exit(&r), "%s", r.err);
    ck_assert_msg(strstr(r.err, "restart needs the same number of ranks") &&
                  strstr(r.err, "restart refused"), "%s", r.err);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ckpt kill N [launcher] | damaged | mismatch | ranks launcher\n");
        return 2;
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(dir, sizeof dir, "/tmp/dag_test_ckpt.XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "kill")) {
        if (argc > 2)
            setenv("CKPT_ITERS", argv[2], 0);
        launcher = argc > 3 ? argv[3] : NULL;
    } else if (!strcmp(mode, "ranks")) {
        launcher = argc > 2 ? argv[2] : NULL;
    }
    if (launcher) {
        const char *np = strstr(launcher, "-np ");
        nranks = np ? atoi(np + 4) : 1;
    }
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create(mode);
    tcase_set_timeout(tc, 1100);
    if (!strcmp(mode, "kill"))
        tcase_add_test(tc, test_kill_restart);
    else if (!strcmp(mode, "damaged"))
        tcase_add_test(tc, test_damaged);
    else if (!strcmp(mode, "mismatch"))
        tcase_add_test(tc, test_mismatch);
    else if (!strcmp(mode, "ranks"))
        tcase_add_test(tc, test_ranks_differ);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    clear_dir(ckdir);
    rmdir(ckdir);
    clear_dir(dir);
    rmdir(dir);
    return failed ? 1 : 0;
}
