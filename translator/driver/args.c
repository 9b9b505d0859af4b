/* args.c: sorts a gcc-style command line into what dagcc needs: the mode (-c, -S, -E
 * or link), inputs by kind, options for compiling, for linking and for libclang. Every
 * option dagcc does not know is passed to the underlying compiler unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "util.h"

/* Options whose value is the next argument (when not attached). */
static const char *const with_arg[] = {
    "-o", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-iquote", "-idirafter",
    "-isysroot", "-x", "-MF", "-MT", "-MQ", "-L", "-l", "-Xlinker", "-Xassembler",
    "-Xpreprocessor", "-T", "-u", "-z", "-aux-info", "--param", "-iprefix",
    "-iwithprefix", "-iwithprefixbefore", "-e", "-Xnvcc", NULL};

static int needs_arg(const char *a)
{
    for (int i = 0; with_arg[i]; i++)
        if (!strcmp(a, with_arg[i]))
            return 1;
    return 0;
}

static int starts(const char *a, const char *p)
{
    return strncmp(a, p, strlen(p)) == 0;
}

static int ends(const char *a, const char *s)
{
    size_t n = strlen(a), m = strlen(s);
    return n >= m && strcmp(a + n - m, s) == 0;
}

/* Preprocessor options: libclang needs them, the link step must not get them. */
static int is_cpp_opt(const char *a)
{
    static const char *const p[] = {"-I", "-D", "-U", "-include", "-imacros", "-isystem",
                                    "-iquote", "-idirafter", "-isysroot", "-iprefix",
                                    "-iwithprefix", "-nostdinc", NULL};
    for (int i = 0; p[i]; i++)
        if (starts(a, p[i]))
            return 1;
    return 0;
}

static int is_link_opt(const char *a)
{
    static const char *const exact[] = {"-L", "-l", "-Xlinker", "-T", "-u", "-z",
                                        "-static", "-shared", "-rdynamic", "-s",
                                        "-nostdlib", "-nodefaultlibs", "-nostartfiles",
                                        "-static-libgcc", "-pie", "-no-pie", "-e", NULL};
    for (int i = 0; exact[i]; i++)
        if (!strcmp(a, exact[i]))
            return 1;
    return starts(a, "-Wl,") || (starts(a, "-l") && a[2]) || (starts(a, "-L") && a[2]);
}

static void add_input(cmdline *cl, const char *path, const char *lang)
{
    input in = {path, IN_LINK, lang};
    if (lang) {
        if (!strcmp(lang, "c"))
            in.kind = IN_C;
        else if (!strcmp(lang, "cu") || !strcmp(lang, "cuda"))
            in.kind = IN_CUDA;
        else if (strcmp(lang, "none"))
            in.kind = IN_SOURCE;
    }
    if (!lang || !strcmp(lang, "none")) {
        in.lang = NULL;
        if (ends(path, ".c"))
            in.kind = IN_C;
        else if (ends(path, ".cu"))
            in.kind = IN_CUDA;
        else if (ends(path, ".i") || ends(path, ".s") || ends(path, ".S") ||
                 ends(path, ".cc") || ends(path, ".cpp") || ends(path, ".cxx") ||
                 ends(path, ".C") || ends(path, ".m") || !strcmp(path, "-"))
            in.kind = IN_SOURCE;
    }
    if (in.kind == IN_CUDA) {
        in.lang = NULL; /* nvcc knows .cu */
        cl->cuda = 1;
    }
    VEC_PUSH(cl->inputs, cl->ninputs, cl->cinputs, in);
    if (in.kind == IN_LINK)
        sv_push(&cl->link_order, path);
    else
        sv_pushf(&cl->link_order, "\x01%zu", cl->ninputs - 1); /* placeholder: its object */
}

int parse_cmdline(int argc, char **argv, cmdline *cl)
{
    memset(cl, 0, sizeof *cl);
    const char *lang = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !strcmp(a, "-")) {
            add_input(cl, a, lang);
            continue;
        }
        const char *val = NULL;
        if (needs_arg(a)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dagcc: error: missing argument to '%s'\n", a);
                return 1;
            }
            val = argv[++i];
        }
        if (!strcmp(a, "-c")) {
            cl->mode = cl->mode > MODE_COMPILE ? cl->mode : MODE_COMPILE;
        } else if (!strcmp(a, "-S")) {
            cl->mode = cl->mode > MODE_ASM ? cl->mode : MODE_ASM;
        } else if (!strcmp(a, "-E")) {
            cl->mode = MODE_PREPROCESS;
        } else if (!strcmp(a, "-o")) {
            cl->output = val;
        } else if (starts(a, "-o")) {
            cl->output = a + 2;
        } else if (!strcmp(a, "-x")) {
            lang = val; /* inputs carry their language; dagcc.c passes it per input */
        } else if (!strcmp(a, "--keep-translated")) {
            cl->keep = 1;
        } else if (starts(a, "--keep-translated=")) {
            cl->keep = 1;
            cl->keep_dir = a + 18;
        } else if (!strcmp(a, "--dagcc-dry-run")) {
            cl->dry_run = 1;
        } else if (!strcmp(a, "-Xnvcc")) {
            sv_push(&cl->nvcc, val);
        } else if (starts(a, "-Xnvcc=")) {
            if (!a[7]) {
                fprintf(stderr, "dagcc: error: missing argument to '-Xnvcc='\n");
                return 1;
            }
            sv_push(&cl->nvcc, a + 7);
        } else if (!strcmp(a, "--help")) {
            cl->info_only = 1;
            printf("usage: dagcc [options] file...\n\n"
                   "dagcc is a C compiler driver for task-parallel programs: it translates\n"
                   "`#pragma dag` directives (and, with -fopenmp, OpenMP task directives)\n"
                   "into calls to the dagcc runtime, compiles with the underlying compiler\n"
                   "and links libdagrt. All gcc options are accepted and passed on.\n\n"
                   "dagcc options:\n"
                   "  -fopenmp                OpenMP compatibility: parallel+single/master task\n"
                   "                          programs run on the dagcc runtime\n"
                   "  --keep-translated[=DIR] keep the translated C (NAME.dagcc.c) next to the\n"
                   "                          output, or in DIR\n"
                   "  -Xnvcc OPT, -Xnvcc=OPT  pass OPT to nvcc when compiling .cu inputs\n"
                   "                          (e.g. -Xnvcc=-arch=sm_90 -Xnvcc=-fmad=false); .cu\n"
                   "                          inputs are built for the GPUs nvidia-smi reports\n"
                   "                          unless OPT chooses an architecture\n"
                   "  --dagcc-dry-run         print the commands instead of running them\n"
                   "                          (C inputs are still translated)\n"
                   "  --version               print versions and exit\n"
                   "  -v                      print the commands run\n\n"
                   "environment:\n"
                   "  DAGCC_CC       the underlying compiler (default: cc; e.g. mpicc)\n"
                   "  DAGCC_NVCC     nvcc for .cu inputs (default: the CUDA toolkit's); its\n"
                   "                 toolkit's include directory is searched last (-idirafter)\n"
                   "                 so that C files can include <dag/cuda.h>\n"
                   "  DAGCC_INCDIR, DAGCC_LIBDIR  override where dag.h and libdagrt are\n"
                   "  DAGCC_VERBOSE  print the commands run\n\n"
                   "The directives are described in docs/pragmas.md.\n");
        } else if (!strcmp(a, "--version")) {
            cl->info_only = 2;
        } else if (!strcmp(a, "-v")) {
            cl->verbose = 1;
            sv_push(&cl->compile, a);
        } else {
            if (!strcmp(a, "-fopenmp"))
                cl->omp = 1;
            if (!strcmp(a, "-Werror"))
                cl->werror = 1;
            if (!strcmp(a, "-w"))
                cl->no_warnings = 1;
            if (!strcmp(a, "-MD") || !strcmp(a, "-MMD"))
                cl->md = 1;
            if (!strcmp(a, "-MF"))
                cl->mf = val;
            if (!strcmp(a, "-shared"))
                cl->shared = 1;
            if (is_link_opt(a)) {
                if (starts(a, "-l") || starts(a, "-Wl,") || !strcmp(a, "-Xlinker") ||
                    starts(a, "-L")) {
                    sv_push(&cl->link_order, a);
                    if (val)
                        sv_push(&cl->link_order, val);
                } else {
                    sv_push(&cl->link, a);
                    if (val)
                        sv_push(&cl->link, val);
                }
                continue;
            }
            sv_push(&cl->compile, a);
            if (val)
                sv_push(&cl->compile, val);
            if (is_cpp_opt(a) || starts(a, "-std=") || !strcmp(a, "-ansi")) {
                sv_push(&cl->clang, a);
                if (val)
                    sv_push(&cl->clang, val);
            } else if (!is_cpp_opt(a) && !starts(a, "-M") && !starts(a, "-Wp,")) {
                sv_push(&cl->link, a); /* -O2, -g, -fopenmp, -pthread, -fsanitize=... */
                if (val)
                    sv_push(&cl->link, val);
            }
        }
    }
    if (!cl->ninputs && !cl->info_only)
        cl->passthrough = 1;
    return 0;
}

void free_cmdline(cmdline *cl)
{
    sv_free(&cl->compile);
    sv_free(&cl->link);
    sv_free(&cl->clang);
    sv_free(&cl->nvcc);
    sv_free(&cl->link_order);
    free(cl->inputs);
}
