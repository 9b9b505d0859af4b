/* test_obs_report.c: dag-report's HTML page, loaded in headless Chromium: obs_demo runs
 * with DAG_TRACE, dag-report turns the trace into a page, Chromium runs its script and
 * dumps the DOM, and every task must be a drawn rectangle (<rect class="task">), with
 * the lanes and statistics tables filled in. The page must not reference anything
 * outside itself. Exits 77 (skipped) when chromium is not installed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "obs_util.h"

static char *run_chromium(const char *html, const char *dom)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--disable-dev-shm-usage --no-first-run --user-data-dir=%s "
             "--dump-dom file://%s > %s 2>%s",
             obs_tmp("chromium-profile"), html, dom, obs_tmp("chromium.log"));
    if (system(cmd) != 0)
        return NULL;
    size_t len;
    return slurp_file(dom, &len);
}

START_TEST(report_draws_tasks)
{
    char cmd[2048];
    const char *trace = obs_tmp("demo.json"), *html = obs_tmp("report.html");
    /* a 6x6 wavefront: 36 init + 36 stencil + 1 sum = 73 tasks */
    snprintf(cmd, sizeof cmd, "DAG_PROGRESS=0 DAG_NUM_THREADS=2 DAG_TRACE=%s %s 6 50 >/dev/null",
             trace, OBS_DEMO);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s %s -o %s", DAG_REPORT, trace, html);
    ck_assert_int_eq(system(cmd), 0);

    size_t len;
    char *page = slurp_file(html, &len);
    ck_assert_ptr_nonnull(page);
    ck_assert_ptr_null(strstr(page, "<script src"));
    ck_assert_ptr_null(strstr(page, "<link"));
    ck_assert_ptr_null(strstr(page, "https:"));
    free(page);

    char *dom = run_chromium(html, obs_tmp("dom.html"));
    ck_assert_msg(dom != NULL, "chromium failed: see %s", obs_tmp("chromium.log"));
    ck_assert_uint_eq(count_str(dom, "<rect class=\"task\""), 73);
    ck_assert_ptr_nonnull(strstr(dom, "worker 0 (main)"));
    ck_assert_ptr_nonnull(strstr(dom, "<td>stencil (obs_demo.c:"));
    ck_assert_ptr_nonnull(strstr(dom, "<td>init (obs_demo.c:"));
    ck_assert_ptr_nonnull(strstr(dom, "class=\"util\""));
    free(dom);
}
END_TEST

int main(void)
{
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        printf("chromium is not installed: skipped\n");
        return 77;
    }
    Suite *s = suite_create("obs_report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 170);
    tcase_add_test(tc, report_draws_tasks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
