/* tool.c: `dagcc-translate`, the translator alone: reads one C file and writes the
 * translated C (to stdout or -o). Used by the golden tests and the translation-speed
 * benchmark; the dagcc driver calls the same library in-process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate.h"

static void usage(FILE *f)
{
    fputs("usage: dagcc-translate [-fopenmp] [-Werror] [-w] [-o OUT] INPUT.c "
          "[-I DIR] [-D NAME[=V]] [-std=...] ...\n"
          "Translates `#pragma dag` (and with -fopenmp, `#pragma omp` task) directives into\n"
          "C that calls the dagcc runtime. Other options are passed to libclang.\n", f);
}

int main(int argc, char **argv)
{
    tr_options opt;
    memset(&opt, 0, sizeof opt);
    const char *out = NULL;
    const char **cargs = calloc((size_t)argc + 1, sizeof *cargs);
    if (!cargs)
        return 2;
    int ncargs = 0, time_it = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(cargs);
            return 0;
        } else if (!strcmp(a, "-fopenmp")) {
            opt.omp = 1;
        } else if (!strcmp(a, "-Werror")) {
            opt.werror = 1;
        } else if (!strcmp(a, "-w")) {
            opt.no_warnings = 1;
        } else if (!strcmp(a, "--time")) {
            time_it = 1;
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if ((!strcmp(a, "-I") || !strcmp(a, "-D") || !strcmp(a, "-U") ||
                    !strcmp(a, "-include") || !strcmp(a, "-isystem")) && i + 1 < argc) {
            cargs[ncargs++] = a;
            cargs[ncargs++] = argv[++i];
        } else if (a[0] == '-') {
            cargs[ncargs++] = a;
        } else if (!opt.input) {
            opt.input = a;
        } else {
            fprintf(stderr, "dagcc-translate: error: more than one input file\n");
            free(cargs);
            return 2;
        }
    }
    if (!opt.input) {
        usage(stderr);
        free(cargs);
        return 2;
    }
    if (opt.omp)
        cargs[ncargs++] = "-D_OPENMP=201511";
    opt.clang_args = cargs;
    opt.nclang_args = ncargs;
    tr_result res;
    int rc = tr_translate(&opt, &res);
    (void)time_it;
    if (rc == 0) {
        FILE *f = out ? fopen(out, "wb") : stdout;
        if (!f) {
            perror(out);
            rc = 2;
        } else {
            if (fwrite(res.output, 1, res.len, f) != res.len)
                rc = 2;
            if (out && fclose(f) != 0)
                rc = 2;
            if (rc && out)
                remove(out);
        }
    }
    tr_result_free(&res);
    free(cargs);
    return rc;
}
