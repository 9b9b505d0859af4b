/* dagcc.c: the dagcc compiler driver, a drop-in for cc. Translates each C input with
 * the in-process translator (translate.h), compiles the result with the underlying
 * compiler (DAGCC_CC, default cc) and links libdagrt and its dependencies. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "translate.h"
#include "util.h"

typedef struct paths {
    char inc[4096], lib[4096];
} paths;

static void set_path(char *dst, const char *prefix, const char *rel)
{
    if (rel[0] == '/')
        snprintf(dst, 4096, "%s", rel);
    else
        snprintf(dst, 4096, "%s/%s", prefix, rel);
}

/* Where dag.h and libdagrt are: the environment, the build tree when dagcc runs from
 * it, else relative to the installed binary (PREFIX/bin/dagcc). */
static void find_runtime(paths *p)
{
    char dir[4096] = "";
    exe_dir(dir, sizeof dir);
    char *build = realpath(DAGCC_BUILD_BINDIR, NULL);
    if (build && !strcmp(build, dir)) {
        snprintf(p->inc, sizeof p->inc, "%s", DAGCC_BUILD_INCDIR);
        snprintf(p->lib, sizeof p->lib, "%s", DAGCC_BUILD_LIBDIR);
    } else {
        char prefix[4096];
        snprintf(prefix, sizeof prefix, "%s", dir);
        size_t n = strlen(prefix), m = strlen(DAGCC_REL_BINDIR);
        if (n > m && !strcmp(prefix + n - m, DAGCC_REL_BINDIR) && prefix[n - m - 1] == '/')
            prefix[n - m - 1] = '\0';
        set_path(p->inc, prefix, DAGCC_REL_INCDIR);
        set_path(p->lib, prefix, DAGCC_REL_LIBDIR);
    }
    free(build);
    const char *e;
    if ((e = getenv("DAGCC_INCDIR")) && *e)
        snprintf(p->inc, sizeof p->inc, "%s", e);
    if ((e = getenv("DAGCC_LIBDIR")) && *e)
        snprintf(p->lib, sizeof p->lib, "%s", e);
}

static const char *underlying_cc(void)
{
    const char *cc = getenv("DAGCC_CC");
    return cc && *cc ? cc : "cc";
}

/* Words of DAGCC_CC ("ccache gcc", "mpicc -cc=clang") start every command. */
static void push_cc(strvec *a)
{
    char *s = xstrdup(underlying_cc());
    for (char *t = strtok(s, " \t"); t; t = strtok(NULL, " \t"))
        sv_push(a, t);
    free(s);
}

/* Does the file itself mention a dag (or omp) pragma? Then translation errors are the
 * user's; otherwise a file libclang cannot handle is compiled as it is. */
static int mentions_pragmas(const char *path, int omp)
{
    size_t len;
    char *s = read_file(path, &len);
    if (!s)
        return 1;
    int found = 0;
    for (char *p = s; !found && (p = memmem(p, len - (size_t)(p - s), "ragma", 5)); p += 5) {
        const char *q = p + 5;
        if (*q == '(')
            q++;
        while (*q == ' ' || *q == '\t' || *q == '"' || *q == '\\' || *q == '\n')
            q++;
        found = !strncmp(q, "dag", 3) || (omp && !strncmp(q, "omp", 3));
    }
    free(s);
    return found;
}

typedef struct job {
    const cmdline *cl;
    paths rt;
    char *tmpdir;
    int verbose;
    char *cuda_inc; /* the CUDA toolkit's headers, or NULL */
} job;

static const char *tmp_dir(job *j)
{
    if (!j->tmpdir)
        j->tmpdir = make_temp_dir();
    return j->tmpdir;
}

/* Translates `in`; *out gets the file to compile (the input itself when nothing
 * changed). Returns 0 or an exit status. */
static int translate_input(job *j, const input *in, const char *obj, char **out)
{
    const cmdline *cl = j->cl;
    tr_options opt;
    memset(&opt, 0, sizeof opt);
    opt.input = in->path;
    strvec args = {0};
    sv_append(&args, &cl->clang);
    sv_pushf(&args, "-I%s", j->rt.inc);
    if (j->cuda_inc) {
        sv_push(&args, "-idirafter");
        sv_push(&args, j->cuda_inc);
    }
    if (cl->omp)
        sv_push(&args, "-D_OPENMP=201511");
    opt.clang_args = (const char *const *)args.v;
    opt.nclang_args = (int)args.n;
    opt.omp = cl->omp;
    opt.werror = cl->werror;
    opt.no_warnings = cl->no_warnings;
    int strict = mentions_pragmas(in->path, cl->omp);
    FILE *quiet = NULL;
    if (!strict)
        quiet = fopen("/dev/null", "w");
    opt.diag_out = quiet;
    tr_result res;
    int rc = tr_translate(&opt, &res);
    if (quiet)
        fclose(quiet);
    sv_free(&args);
    if (rc != 0 || !res.changed) {
        tr_result_free(&res);
        if (rc != 0 && strict)
            return 1;
        *out = xstrdup(in->path);
        return 0;
    }
    char *name = replace_ext(in->path, ".dagcc.c");
    char *dst;
    if (cl->keep) {
        char *dir = cl->keep_dir ? xstrdup(cl->keep_dir)
                    : obj ? path_dirname(obj) : xstrdup(".");
        dst = path_join(dir, name);
        free(dir);
    } else {
        const char *t = tmp_dir(j);
        if (!t) {
            free(name);
            tr_result_free(&res);
            return 1;
        }
        dst = path_join(t, name);
    }
    free(name);
    rc = write_all(dst, res.output, res.len);
    tr_result_free(&res);
    if (rc) {
        free(dst);
        return 1;
    }
    *out = dst;
    return 0;
}

/* nvcc for .cu inputs: DAGCC_NVCC, else the configured CUDA toolkit's, else PATH. */
static const char *nvcc_path(void)
{
    const char *e = getenv("DAGCC_NVCC");
    if (e && *e)
        return e;
    return access(DAGCC_NVCC_DEFAULT, X_OK) == 0 ? DAGCC_NVCC_DEFAULT : "nvcc";
}

static int exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

/* The CUDA toolkit's root (ROOT/bin/nvcc), or NULL when there is no nvcc. */
static char *cuda_root(void)
{
    const char *nvcc = nvcc_path();
    char *found = NULL;
    if (strchr(nvcc, '/')) {
        found = access(nvcc, X_OK) == 0 ? realpath(nvcc, NULL) : NULL;
    } else { /* look it up on PATH */
        const char *path = getenv("PATH");
        char *dirs = xstrdup(path ? path : "");
        for (char *d = strtok(dirs, ":"); d && !found; d = strtok(NULL, ":")) {
            char *p = path_join(d, nvcc);
            if (access(p, X_OK) == 0)
                found = realpath(p, NULL);
            free(p);
        }
        free(dirs);
    }
    if (!found)
        return NULL;
    char *bin = path_dirname(found);
    char *root = path_dirname(bin);
    free(bin);
    free(found);
    return root;
}

/* The toolkit's headers (for C files that include <dag/cuda.h>), or NULL. */
static char *cuda_incdir(void)
{
    char *root = cuda_root();
    char *inc = root ? path_join(root, "include") : NULL;
    free(root);
    if (inc && !exists(inc, "cuda_runtime_api.h")) {
        free(inc);
        inc = NULL;
    }
    return inc;
}

/* The toolkit's library directory, where libcudart.so is (NULL if it is not found). */
static char *cuda_libdir(void)
{
    static const char *const sub[] = {"lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu",
                                      "lib", "targets/x86_64-linux/lib", NULL};
    char *root = cuda_root();
    char *lib = NULL;
    for (int i = 0; root && sub[i] && !lib; i++) {
        lib = path_join(root, sub[i]);
        if (!exists(lib, "libcudart.so")) {
            free(lib);
            lib = NULL;
        }
    }
    free(root);
    return lib;
}

/* Did the user choose the GPU architecture (-Xnvcc=-arch=..., -gencode, -code)? */
static int arch_chosen(const strvec *nvcc)
{
    static const char *const p[] = {"-arch", "--gpu-architecture", "-gencode",
                                    "--generate-code", "-code", "--gpu-code", NULL};
    for (size_t i = 0; i < nvcc->n; i++)
        for (int k = 0; p[k]; k++)
            if (!strncmp(nvcc->v[i], p[k], strlen(p[k])))
                return 1;
    return 0;
}

/* Code for the GPUs of this machine, as nvidia-smi reports their compute capability:
 * -arch=sm_XY for one kind, one -gencode per kind otherwise; nothing (nvcc's default)
 * without nvidia-smi or a GPU. Asked once per dagcc run. */
static void push_gpu_arch(strvec *a)
{
    static int asked, n;
    static int cap[8];
    if (!asked) {
        asked = 1;
        FILE *f = popen("nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null", "r");
        char line[64];
        while (f && fgets(line, sizeof line, f)) {
            int major = 0, minor = 0, dup = 0;
            if (sscanf(line, "%d.%d", &major, &minor) != 2 || major <= 0 || minor < 0 || minor > 9)
                continue;
            int c = major * 10 + minor;
            for (int i = 0; i < n; i++)
                dup |= cap[i] == c;
            if (!dup && n < 8)
                cap[n++] = c;
        }
        if (f && pclose(f) != 0)
            n = 0; /* nvidia-smi failed: whatever it printed is not a list of GPUs */
    }
    if (n == 1)
        sv_pushf(a, "-arch=sm_%d", cap[0]);
    for (int i = 0; n > 1 && i < n; i++)
        sv_pushf(a, "-gencode=arch=compute_%d,code=sm_%d", cap[i], cap[i]);
}

static int run(const job *j, const strvec *a)
{
    if (j->cl->dry_run) {
        print_cmd(a);
        return 0;
    }
    return run_cmd(a, j->verbose);
}

/* A .cu input goes to nvcc: preprocessor and optimisation flags as they are, other
 * gcc options (warnings, -f, -m) through -Xcompiler, C-only ones (-std=c*) dropped. */
static int compile_cuda(job *j, const input *in, const char *obj)
{
    const cmdline *cl = j->cl;
    strvec a = {0};
    sv_push(&a, nvcc_path());
    sv_push(&a, cl->mode == MODE_PREPROCESS ? "-E" : "-c");
    for (size_t i = 0; i < cl->compile.n; i++) {
        const char *o = cl->compile.v[i];
        if (!strncmp(o, "-std=", 5) || !strncmp(o, "-x", 2))
            continue;
        if (!strncmp(o, "-I", 2) || !strncmp(o, "-D", 2) || !strncmp(o, "-U", 2) ||
            !strncmp(o, "-O", 2) || !strcmp(o, "-g") || o[0] != '-')
            sv_push(&a, o);
        else
            sv_pushf(&a, "-Xcompiler=%s", o);
    }
    sv_pushf(&a, "-I%s", j->rt.inc);
    if (!arch_chosen(&cl->nvcc))
        push_gpu_arch(&a);
    sv_append(&a, &cl->nvcc);
    sv_push(&a, in->path);
    if (obj) {
        sv_push(&a, "-o");
        sv_push(&a, obj);
    }
    int rc = run(j, &a);
    sv_free(&a);
    if (rc == 127)
        fprintf(stderr, "dagcc: error: %s: cannot run nvcc ('%s'); set DAGCC_NVCC\n", in->path,
                nvcc_path());
    return rc;
}

/* Compiles one input into `obj` (or, for -E without -o, to stdout). */
static int compile_input(job *j, const input *in, const char *obj)
{
    const cmdline *cl = j->cl;
    char *src = NULL;
    if (in->kind == IN_CUDA) {
        if (cl->mode == MODE_ASM) {
            fprintf(stderr, "dagcc: error: %s: -S is not supported for CUDA inputs\n", in->path);
            return 1;
        }
        return compile_cuda(j, in, obj);
    }
    if (in->kind == IN_C) {
        int rc = translate_input(j, in, obj, &src);
        if (rc) {
            if (obj && cl->mode != MODE_PREPROCESS)
                unlink(obj); /* leave no stale output behind */
            return rc;
        }
    } else {
        src = xstrdup(in->path);
    }
    int translated = strcmp(src, in->path) != 0;
    strvec a = {0};
    push_cc(&a);
    sv_push(&a, cl->mode == MODE_PREPROCESS ? "-E" : cl->mode == MODE_ASM ? "-S" : "-c");
    sv_append(&a, &cl->compile);
    if (translated) {
        char *dir = path_dirname(in->path);
        sv_pushf(&a, "-iquote%s", dir); /* "x.h" next to the user's file */
        free(dir);
    }
    sv_pushf(&a, "-I%s", j->rt.inc);
    if (j->cuda_inc) { /* <dag/cuda.h> needs <cuda_runtime_api.h>; searched last */
        sv_push(&a, "-idirafter");
        sv_push(&a, j->cuda_inc);
    }
    if (in->lang)
        sv_pushf(&a, "-x%s", in->lang);
    else if (translated)
        sv_push(&a, "-xc");
    sv_push(&a, src);
    if (obj) {
        sv_push(&a, "-o");
        sv_push(&a, obj);
    }
    int rc = run(j, &a);
    sv_free(&a);
    if (rc == 0 && translated && cl->md && obj && !cl->dry_run) {
        char *def = NULL;
        if (!cl->mf) {
            const char *dot = strrchr(path_base(obj), '.');
            size_t n = dot ? (size_t)(dot - obj) : strlen(obj);
            strbuf b = {0};
            sb_putn(&b, obj, n);
            sb_puts(&b, ".d");
            def = sb_take(&b);
        }
        fix_depfile(cl->mf ? cl->mf : def, src, in->path);
        free(def);
    }
    if (translated && !cl->keep)
        unlink(src);
    free(src);
    return rc;
}

static int do_link(job *j, char **objs)
{
    const cmdline *cl = j->cl;
    strvec a = {0};
    push_cc(&a);
    sv_append(&a, &cl->link);
    for (size_t i = 0; i < cl->link_order.n; i++) {
        const char *s = cl->link_order.v[i];
        if (s[0] == '\x01')
            sv_push(&a, objs[strtoul(s + 1, NULL, 10)]);
        else
            sv_push(&a, s);
    }
    if (cl->output) {
        sv_push(&a, "-o");
        sv_push(&a, cl->output);
    }
    sv_pushf(&a, "-L%s", j->rt.lib);
    sv_pushf(&a, "-Wl,-rpath,%s", j->rt.lib);
    char *lib = cuda_libdir();
    if (lib) { /* -lcublas... from the toolkit */
        sv_pushf(&a, "-L%s", lib);
        sv_pushf(&a, "-Wl,-rpath,%s", lib);
    }
    if (cl->cuda) { /* .cu objects: the CUDA runtime */
        sv_push(&a, "-lcudart");
        sv_push(&a, "-lstdc++");
    } else if (lib) { /* C files may call the CUDA runtime (dag/cuda.h): if they do */
        sv_push(&a, "-Wl,--push-state,--as-needed");
        sv_push(&a, "-lcudart");
        sv_push(&a, "-Wl,--pop-state");
    }
    free(lib);
    sv_push(&a, "-Wl,--push-state,--as-needed");
    sv_push(&a, "-ldagrt");
    char *deps = xstrdup(DAGCC_DEP_LIBS);
    for (char *t = strtok(deps, " "); t; t = strtok(NULL, " "))
        sv_push(&a, t);
    free(deps);
    sv_push(&a, "-Wl,--pop-state");
    int rc = run(j, &a);
    sv_free(&a);
    return rc;
}

static int version(void)
{
    char *cv = tr_clang_version();
    printf("dagcc %s (translator: %s; compiler: %s)\n", DAGCC_VERSION, cv, underlying_cc());
    free(cv);
    fflush(stdout);
    strvec a = {0};
    push_cc(&a);
    sv_push(&a, "--version");
    int rc = run_cmd(&a, 0);
    sv_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    cmdline cl;
    if (parse_cmdline(argc, argv, &cl)) {
        free_cmdline(&cl);
        return 1;
    }
    job j;
    memset(&j, 0, sizeof j);
    j.cl = &cl;
    const char *ev = getenv("DAGCC_VERBOSE");
    j.verbose = cl.verbose || (ev && *ev && strcmp(ev, "0"));
    find_runtime(&j.rt);
    int rc = 0;
    if (cl.info_only) {
        rc = cl.info_only == 2 ? version() : 0;
        free_cmdline(&cl);
        return rc;
    }
    if (cl.passthrough) { /* -dumpversion, -print-file-name=..., -v alone */
        strvec a = {0};
        push_cc(&a);
        for (int i = 1; i < argc; i++)
            sv_push(&a, argv[i]);
        rc = run_cmd(&a, 0);
        sv_free(&a);
        free_cmdline(&cl);
        return rc;
    }
    size_t nsrc = 0;
    for (size_t i = 0; i < cl.ninputs; i++)
        nsrc += cl.inputs[i].kind != IN_LINK;
    if (cl.mode != MODE_LINK && cl.output && nsrc > 1) {
        fprintf(stderr, "dagcc: fatal error: cannot specify '-o' with '-c', '-S' or '-E' "
                        "with multiple files\n");
        free_cmdline(&cl);
        return 1;
    }
    j.cuda_inc = cuda_incdir();
    char **objs = xcalloc(cl.ninputs + 1, sizeof *objs);
    for (size_t i = 0; i < cl.ninputs && rc == 0; i++) {
        const input *in = &cl.inputs[i];
        if (in->kind == IN_LINK)
            continue;
        char *obj = NULL;
        if (cl.mode == MODE_LINK) {
            const char *t = tmp_dir(&j);
            if (!t) {
                rc = 1;
                break;
            }
            char *name = replace_ext(in->path, ".o");
            strbuf b = {0};
            sb_printf(&b, "%s/%zu-%s", t, i, name);
            free(name);
            obj = sb_take(&b);
        } else if (cl.output) {
            obj = xstrdup(cl.output);
        } else if (cl.mode != MODE_PREPROCESS) {
            obj = replace_ext(in->path, cl.mode == MODE_ASM ? ".s" : ".o");
        }
        rc = compile_input(&j, in, obj);
        objs[i] = obj;
    }
    if (rc == 0 && cl.mode == MODE_LINK)
        rc = do_link(&j, objs);
    for (size_t i = 0; i < cl.ninputs; i++)
        free(objs[i]);
    free(objs);
    if (j.tmpdir) {
        remove_temp_dir(j.tmpdir);
        free(j.tmpdir);
    }
    free(j.cuda_inc);
    free_cmdline(&cl);
    return rc;
}
