/* test_ckpt_api.c: the checkpoint API in one process: dag_checkpoint_register's checks
 * (bad ranges, partial overlaps, calls from a task body, checkpointing off), the
 * checkpoint(list) attribute, and that a task writing data nothing checkpoints stops
 * later checkpoints (no file appears) while an all-covered flow writes them. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dag.h>

static char dir[64];

static int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strstr(de->d_name, ".dag") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void clear(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
}

static void start(void)
{
    clear();
    setenv("DAG_CHECKPOINT_DIR", dir, 1);
    setenv("DAG_CHECKPOINT_EVERY", "0", 1);
    setenv("DAG_CHECKPOINT_TASKS", "8", 1);
    dag_config_t cfg = {.nthreads = 2, .bind = DAG_BIND_NONE};
    ck_assert_int_eq(dag_init(&cfg), DAG_OK);
}

static int from_body(void *p)
{
    return dag_checkpoint_register(*(void **)p, 8) == DAG_ERR_STATE ? 0 : 1;
}

START_TEST(test_register_checks)
{
    static char buf[4096];
    start();
    ck_assert_int_eq(dag_checkpoint_register(NULL, 8), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_checkpoint_register((void *)(uintptr_t)-8, 64), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_checkpoint_register(buf, 1024), DAG_OK);
    ck_assert_int_eq(dag_checkpoint_register(buf, 1024), DAG_OK);        /* identical */
    ck_assert_int_eq(dag_checkpoint_register(buf + 1024, 1024), DAG_OK); /* adjacent */
    ck_assert_int_eq(dag_checkpoint_register(buf + 512, 1024), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_checkpoint_register(buf + 2000, 100), DAG_ERR_INVALID);
    void *p = buf + 3000;
    dag_submit(from_body, &p, sizeof p, NULL, 0, NULL);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    dag_dep_t bad = {buf + 100, 10, DAG_OUT};
    dag_task_attr_t at = {.checkpoint = &bad, .ncheckpoint = 1};
    ck_assert_int_eq(dag_submit(from_body, &p, sizeof p, NULL, 0, &at), DAG_ERR_INVALID);
    at.checkpoint = NULL;
    ck_assert_int_eq(dag_submit(from_body, &p, sizeof p, NULL, 0, &at), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    unsetenv("DAG_CHECKPOINT_DIR");
    /* checkpointing off: accepted, nothing done */
    ck_assert_int_eq(dag_init(NULL), DAG_OK);
    ck_assert_int_eq(dag_checkpoint_register(buf + 512, 1024), DAG_OK);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

static int inc(void *p)
{
    long *x = *(long **)p;
    for (int i = 0; i < 64; i++)
        x[i]++;
    return 0;
}

static void flow(long *data, long *scratch, int uncovered_at)
{
    for (int i = 0; i < 64; i++) {
        long *x = data + 64 * (i % 4);
        dag_dep_t d[2] = {{x, 64 * sizeof(long), DAG_INOUT}, {scratch, 64 * sizeof(long), DAG_OUT}};
        dag_task_attr_t at = {.label = "inc", .checkpoint = d, .ncheckpoint = 1};
        ck_assert_int_eq(dag_submit(inc, &x, sizeof x, d, i == uncovered_at ? 2 : 1, &at), DAG_OK);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
}

START_TEST(test_coverage)
{
    static long data[256], scratch[64];
    start();
    flow(data, scratch, -1); /* every output named in checkpoint(list) */
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    int written = count_files();
    ck_assert_int_ge(written, 1);
    start();
    flow(data, scratch, 0); /* the first task also writes scratch: nothing can be cut */
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    ck_assert_int_eq(count_files(), 0);
    for (int i = 0; i < 256; i++)
        ck_assert_int_eq(data[i], 32);
    unsetenv("DAG_CHECKPOINT_DIR");
}
END_TEST

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dag_ckpt_api.XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    Suite *s = suite_create("ckpt_api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_register_checks);
    tcase_add_test(tc, test_coverage);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    clear();
    rmdir(dir);
    return failed ? 1 : 0;
}
