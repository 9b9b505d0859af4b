/* test_pragma.c: unit tests (Check) for the pragma parser: directives, every clause,
 * list items and array sections, OpenMP combined constructs and the syntax errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pragma.h"

static pr_directive d;
static pr_error err;
static const char *txt;

static int parse(const char *s, int omp)
{
    txt = s;
    return pr_parse(s, strlen(s), omp, &d, &err);
}

static int span_is(pr_span s, const char *want)
{
    return s.e - s.b == strlen(want) && memcmp(txt + s.b, want, strlen(want)) == 0;
}

START_TEST(task_depend_items)
{
    ck_assert_int_eq(parse(" dag task depend(in: a[0:n], A[i][j:4], *p, s.m, q->f)", 0), 0);
    ck_assert_int_eq(d.family, PR_DAG);
    ck_assert_int_eq(d.kind, PK_TASK);
    ck_assert_uint_eq(d.nclauses, 1);
    const pr_clause *c = &d.clauses[0];
    ck_assert_int_eq(c->kind, PC_DEPEND);
    ck_assert_int_eq(c->value, DM_IN);
    ck_assert_uint_eq(c->nitems, 5);
    ck_assert(span_is(c->items[0].base, "a"));
    ck_assert_uint_eq(c->items[0].ndims, 1);
    ck_assert(span_is(c->items[0].dims[0].lo, "0"));
    ck_assert(span_is(c->items[0].dims[0].len, "n"));
    ck_assert_uint_eq(c->items[1].ndims, 1); /* base is A[i]: the part before [lo:len] */
    ck_assert(span_is(c->items[1].base, "A[i]"));
    ck_assert(c->items[1].dims[0].is_section);
    ck_assert(span_is(c->items[1].dims[0].lo, "j"));
    ck_assert_uint_eq(c->items[2].ndims, 0);
    ck_assert(span_is(c->items[2].text, "*p"));
    ck_assert(span_is(c->items[3].text, "s.m"));
    ck_assert(span_is(c->items[4].text, "q->f"));
    pr_free(&d);
}
END_TEST

START_TEST(all_modes)
{
    static const char *const m[] = {"in", "out", "inout", "mutexinoutset", "inoutset"};
    for (int i = 0; i < 5; i++) {
        char buf[80];
        snprintf(buf, sizeof buf, "dag task depend(%s: x)", m[i]);
        ck_assert_int_eq(parse(buf, 0), 0);
        ck_assert_int_eq(d.clauses[0].value, i + 1);
        pr_free(&d);
    }
}
END_TEST

START_TEST(fault_clauses)
{
    ck_assert_int_eq(parse("dag task retry(n + 1) checkpoint(A[0:n], B[i][0:m], x)", 0), 0);
    ck_assert(span_is(pr_find(&d, PC_RETRY)->expr, "n + 1"));
    const pr_clause *ck = pr_find(&d, PC_CHECKPOINT);
    ck_assert_uint_eq(ck->nitems, 3);
    ck_assert(span_is(ck->items[1].base, "B[i]"));
    ck_assert(span_is(ck->items[1].dims[0].len, "m"));
    pr_free(&d);
    ck_assert_int_eq(parse("dag task retry(-3)", 0), -1);
    ck_assert_int_eq(parse("dag task retry()", 0), -1);
    ck_assert_int_eq(parse("dag task checkpoint()", 0), -1);
    ck_assert_int_eq(parse("dag task retry(1) retry(2)", 0), -1);
    ck_assert_int_eq(parse("dag taskloop retry(1)", 0), -1);
    ck_assert_int_eq(parse("dag taskwait checkpoint(x)", 0), -1);
    ck_assert_int_eq(parse("omp task retry(1)", 1), -1);
}
END_TEST

START_TEST(scalar_clauses)
{
    ck_assert_int_eq(parse("dag task if(n > 1) final(d > 3) priority(p + 1) label(\"x\") "
                           "device(cuda) node(r) shared(a) firstprivate(b, c) private(e) "
                           "default(none)", 0), 0);
    ck_assert(span_is(pr_find(&d, PC_IF)->expr, "n > 1"));
    ck_assert(span_is(pr_find(&d, PC_FINAL)->expr, "d > 3"));
    ck_assert(span_is(pr_find(&d, PC_PRIORITY)->expr, "p + 1"));
    ck_assert(span_is(pr_find(&d, PC_LABEL)->expr, "\"x\""));
    ck_assert_int_eq(pr_find(&d, PC_DEVICE)->value, DV_CUDA);
    ck_assert(span_is(pr_find(&d, PC_NODE)->expr, "r"));
    ck_assert_uint_eq(pr_find(&d, PC_FIRSTPRIVATE)->nitems, 2);
    ck_assert_int_eq(pr_find(&d, PC_DEFAULT)->value, DF_NONE);
    pr_free(&d);
}
END_TEST

START_TEST(taskloop_and_waits)
{
    ck_assert_int_eq(parse("dag taskloop grainsize(strict: 8)", 0), 0);
    ck_assert_int_eq(d.kind, PK_TASKLOOP);
    ck_assert_int_eq(pr_find(&d, PC_GRAINSIZE)->value, 1);
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskloop num_tasks(4)", 0), 0);
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskwait depend(in: x)", 0), 0);
    ck_assert_int_eq(d.kind, PK_TASKWAIT);
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskgroup", 0), 0);
    ck_assert_int_eq(d.kind, PK_TASKGROUP);
    pr_free(&d);
}
END_TEST

START_TEST(line_splices)
{
    ck_assert_int_eq(parse(" dag task \\\n  depend(out: a[0:\\\n n])", 0), 0);
    ck_assert_uint_eq(d.clauses[0].nitems, 1);
    pr_free(&d);
}
END_TEST

START_TEST(omp_family)
{
    ck_assert_int_eq(parse("omp task depend(in: x)", 0), 1); /* not ours without -fopenmp */
    ck_assert_int_eq(parse("omp task depend(in: x) untied", 1), 0);
    ck_assert_int_eq(d.family, PR_OMP);
    ck_assert_uint_eq(d.nclauses, 1); /* untied is accepted and dropped */
    pr_free(&d);
    ck_assert_int_eq(parse("omp parallel master taskloop simd grainsize(4)", 1), 0);
    ck_assert_int_eq(d.kind, PK_TASKLOOP);
    ck_assert(d.combined & PF_PARALLEL);
    ck_assert(d.combined & PF_MASTER);
    pr_free(&d);
    ck_assert_int_eq(parse("omp parallel for schedule(static)", 1), 0);
    ck_assert_int_eq(d.kind, PK_OTHER);
    pr_free(&d);
    ck_assert_int_eq(parse("omp single nowait", 1), 0);
    ck_assert_int_eq(d.kind, PK_SINGLE);
    pr_free(&d);
    ck_assert_int_eq(parse("GCC ivdep", 1), 1);
}
END_TEST

START_TEST(detach_variant)
{
    ck_assert_int_eq(parse("dag task detach(ev) depend(out: x)", 0), 0);
    const pr_clause *c = pr_find(&d, PC_DETACH);
    ck_assert_ptr_nonnull(c);
    ck_assert(span_is(c->expr, "ev"));
    pr_free(&d);
    ck_assert_int_eq(parse("omp task detach(e)", 1), 0);
    ck_assert_ptr_nonnull(pr_find(&d, PC_DETACH));
    pr_free(&d);
    ck_assert_int_eq(parse("dag task variant(cuda: axpy_gpu) device(any)", 0), 0);
    c = pr_find(&d, PC_VARIANT);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->value, DV_CUDA);
    ck_assert(span_is(c->expr, "axpy_gpu"));
    pr_free(&d);
    /* status(lvalue); device(keyword) or device(expression) */
    ck_assert_int_eq(parse("dag task status(*st) device(d + 1) depend(in: x)", 0), 0);
    c = pr_find(&d, PC_STATUS);
    ck_assert_ptr_nonnull(c);
    ck_assert(span_is(c->expr, "*st"));
    c = pr_find(&d, PC_DEVICE);
    ck_assert_int_eq(c->value, 0);
    ck_assert(span_is(c->expr, "d + 1"));
    pr_free(&d);
    ck_assert_int_eq(parse("dag task device(cpu)", 0), 0);
    ck_assert_int_eq(pr_find(&d, PC_DEVICE)->value, DV_CPU);
    ck_assert_uint_eq(pr_find(&d, PC_DEVICE)->expr.e, pr_find(&d, PC_DEVICE)->expr.b);
    pr_free(&d);
    ck_assert_int_eq(parse("dag task device(cpu + 0)", 0), 0);
    ck_assert_int_eq(pr_find(&d, PC_DEVICE)->value, 0);
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskloop status(s[i]) grainsize(4)", 0), 0);
    ck_assert(span_is(pr_find(&d, PC_STATUS)->expr, "s[i]"));
    pr_free(&d);
}
END_TEST

START_TEST(omp5_forms)
{
    ck_assert_int_eq(parse("omp task depend(iterator(int i = 0:n, j=1:m:2), inout: a[i][j]) "
                           "in_reduction(max: m1, m2)", 1), 0);
    const pr_clause *dp = pr_find(&d, PC_DEPEND);
    ck_assert_uint_eq(dp->niters, 2);
    ck_assert(span_is(dp->iters[0].type, "int"));
    ck_assert(span_is(dp->iters[0].end, "n"));
    ck_assert(span_is(dp->iters[1].name, "j"));
    ck_assert(span_is(dp->iters[1].step, "2"));
    ck_assert_int_eq(dp->value, DM_INOUT);
    ck_assert_int_eq(pr_find(&d, PC_IN_REDUCTION)->value, RO_MAX);
    ck_assert_uint_eq(pr_find(&d, PC_IN_REDUCTION)->nitems, 2);
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskloop reduction(merge: s) grainsize(4)", 0), 0);
    ck_assert_int_eq(pr_find(&d, PC_REDUCTION)->value, RO_USER);
    ck_assert(span_is(pr_find(&d, PC_REDUCTION)->expr, "merge"));
    pr_free(&d);
    ck_assert_int_eq(parse("omp taskgroup task_reduction(&&: ok) task_reduction(-: s)", 1), 0);
    ck_assert_int_eq(d.clauses[0].value, RO_LAND);
    ck_assert_int_eq(d.clauses[1].value, RO_SUM);
    pr_free(&d);
    ck_assert_int_eq(parse("omp depobj(obj[2]) depend(inout: x)", 1), 0);
    ck_assert_int_eq(d.kind, PK_DEPOBJ);
    ck_assert(span_is(d.arg, "obj[2]"));
    pr_free(&d);
    ck_assert_int_eq(parse("dag depobj(o) update(mutexinoutset)", 0), 0);
    ck_assert_int_eq(pr_find(&d, PC_UPDATE)->value, DM_MUTEXINOUTSET);
    pr_free(&d);
    ck_assert_int_eq(parse("omp task depend(depobj: o) depend(in: omp_all_memory)", 1), 0);
    ck_assert_int_eq(d.clauses[0].value, DM_DEPOBJ);
    pr_free(&d);
    ck_assert_int_eq(parse("omp declare reduction(merge : struct acc, long : "
                           "omp_out = add(omp_out, omp_in)) initializer(omp_priv = zero())",
                           1), 0);
    ck_assert_int_eq(d.kind, PK_DECLARE_REDUCTION);
    ck_assert(span_is(d.arg, "merge"));
    ck_assert_uint_eq(d.ntypes, 2);
    ck_assert(span_is(d.types[0], "struct acc"));
    ck_assert(span_is(d.combiner, "omp_out = add(omp_out, omp_in)"));
    ck_assert(span_is(pr_find(&d, PC_INITIALIZER)->expr, "omp_priv = zero()"));
    pr_free(&d);
    ck_assert_int_eq(parse("dag taskyield", 0), 0);
    ck_assert_int_eq(d.kind, PK_TASKYIELD);
    pr_free(&d);
    ck_assert_int_eq(parse("dag task untied mergeable affinity(a[0:n])", 0), 0);
    ck_assert_uint_eq(d.nclauses, 1); /* untied, mergeable: accepted, nothing to do */
    ck_assert_int_eq(d.clauses[0].kind, PC_AFFINITY); /* affinity: a placement hint */
    ck_assert_uint_eq(d.clauses[0].nitems, 1);
    ck_assert(span_is(d.clauses[0].items[0].base, "a"));
    pr_free(&d);
    ck_assert_int_eq(parse("omp task affinity(iterator(i=0:n): a[i])", 1), 0);
    ck_assert_uint_eq(d.nclauses, 1);
    ck_assert_uint_eq(d.clauses[0].niters, 1); /* the hint: a[i] at i's first value */
    ck_assert_uint_eq(d.clauses[0].nitems, 1);
    pr_free(&d);
}
END_TEST

START_TEST(errors)
{
    static const char *const bad[] = {
        "dag", "dag tsk", "dag task bogus(x)", "dag task depend(x)", "dag task depend(in x)",
        "dag task depend(in: x", "dag task if()", "dag task if(1) if(0)",
        "dag task device()", "dag task label(x)", "dag task status()", "dag task affinity()",
        "dag task affinity(iterator(i=0:n), a[i])",
        "dag task status(a) status(b)", "omp task status(s)", "omp taskloop status(s)",
        "dag taskwait status(s)", "dag taskgroup status(s)", "dag task status", "dag taskwait shared(x)",
        "dag taskloop grainsize(2) num_tasks(3)", "dag task default(some)",
        "dag task depend(iterator(i=0:n) in: a[i])", "dag task shared()", "dag task 42",
        "dag task depend(iterator(i=0), in: a[i])", "dag task depend(iterator(), in: x)",
        "dag task depend(iterator(i=0:n), depobj: o)", "omp task in_reduction(+ x)",
        "omp task in_reduction(%: x)", "omp taskloop reduction(task, +: x)",
        "omp taskwait in_reduction(+: x)", "dag depobj depend(in: x)", "dag depobj(o) update(up)",
        "dag declare reduction(f : int)", "dag declare reduction(+ : int : omp_out += omp_in)",
        "dag declare red(f : int : x)", "omp depobj(o) destroy(o)",
        "dag task detach()", "dag task detach(a) detach(b)",
        "dag task variant(gpu: f)", "dag task variant(cuda f)", "dag task variant(cuda: f, g)",
        "dag taskloop detach(e)", "dag taskwait variant(cuda: f)", NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = parse(bad[i], 1);
        if (rc != -1)
            ck_abort_msg("accepted: %s", bad[i]);
        ck_assert(err.msg[0]);
        ck_assert_uint_le(err.where.b, strlen(bad[i]) + 1);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pragma");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, task_depend_items);
    tcase_add_test(tc, all_modes);
    tcase_add_test(tc, scalar_clauses);
    tcase_add_test(tc, fault_clauses);
    tcase_add_test(tc, omp5_forms);
    tcase_add_test(tc, taskloop_and_waits);
    tcase_add_test(tc, line_splices);
    tcase_add_test(tc, omp_family);
    tcase_add_test(tc, detach_variant);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
