/* driver.h: the dagcc driver's model of one command line (what gcc would do with it)
 * and the process/file helpers it runs on. The driver never interprets C: it sorts
 * options, translates C inputs through translate.h and runs the underlying compiler. */
#ifndef DAGCC_DRIVER_H
#define DAGCC_DRIVER_H

#include <stddef.h>

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

void sv_push(strvec *s, const char *a);
void sv_pushf(strvec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_append(strvec *s, const strvec *t);
void sv_free(strvec *s);

enum { MODE_LINK, MODE_COMPILE, MODE_ASM, MODE_PREPROCESS };
enum { IN_C, IN_SOURCE, IN_LINK, IN_CUDA }; /* translate+compile, compile as is, give to
                                              linker, compile with nvcc */

typedef struct input {
    const char *path;
    int kind;
    const char *lang; /* -x language in force, or NULL */
} input;

typedef struct cmdline {
    int mode;
    const char *output;
    int omp, verbose, werror, no_warnings, dry_run, shared;
    int keep;              /* --keep-translated */
    const char *keep_dir;  /* --keep-translated=DIR */
    int md;                /* -MD / -MMD given */
    const char *mf;        /* -MF file */
    strvec compile;        /* options for compiling (preprocessor flags included) */
    strvec link;           /* options for linking, in order (objects are inputs) */
    strvec clang;          /* options for libclang: -I -D -U -std -include ... */
    strvec nvcc;           /* -Xnvcc OPT / -Xnvcc=OPT: options for nvcc (.cu inputs) */
    input *inputs;         /* in command-line order; link-only items included */
    size_t ninputs, cinputs;
    strvec link_order;     /* IN_LINK inputs and -l/-L/-Wl items interleaved, in order */
    int info_only;         /* --help / --version answered */
    int passthrough;       /* no inputs: run the compiler with the user's arguments */
    int cuda;              /* a .cu input: link the CUDA runtime */
} cmdline;

/* args.c: returns 0, or prints an error and returns 1. */
int parse_cmdline(int argc, char **argv, cmdline *cl);
void free_cmdline(cmdline *cl);

/* run.c */
int run_cmd(const strvec *argv, int verbose); /* exit status, or 127 if not started */
void print_cmd(const strvec *argv);           /* on stderr, quoted like a shell */
char *make_temp_dir(void);                     /* caller frees; NULL on failure */
void remove_temp_dir(const char *dir);
char *path_join(const char *dir, const char *name);
char *path_dirname(const char *p);
const char *path_base(const char *p);
char *replace_ext(const char *base, const char *ext); /* "dir/x.c" + ".o" -> "x.o" */
int write_all(const char *path, const char *data, size_t len);
int fix_depfile(const char *depfile, const char *from, const char *to);
int exe_dir(char *buf, size_t size);

#endif
