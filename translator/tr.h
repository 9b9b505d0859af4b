/* tr.h: internal data model shared by the translator passes (scan, probe, facts,
 * analyze, emit). Offsets named p2* are into the pass-2 buffer (the source with pragma
 * probes); offsets without prefix are into the original file. */
#ifndef DAGCC_TR_H
#define DAGCC_TR_H

#include <clang-c/Index.h>

#include "diag.h"
#include "pragma.h"
#include "translate.h"
#include "util.h"

/* The direct children of a cursor (the first TR_MAXKIDS), its last child, and a cursor
 * with implicit casts and parentheses removed (cursor.c). */
#define TR_MAXKIDS 8
typedef struct tr_kids {
    CXCursor v[TR_MAXKIDS];
    int n;
} tr_kids;
tr_kids tr_children(CXCursor cur);
CXCursor tr_strip(CXCursor cur);
CXCursor tr_last_child(CXCursor cur);

#define NONE (-1)

/* A piece of a pragma's text copied into the pass-2 buffer (an expression to probe). */
typedef struct tr_piece {
    pr_span src;      /* in the pragma text */
    unsigned p2b, p2e;
    CXCursor cur;     /* outermost cursor with exactly this extent (pass 2), if any */
    int has_cur;
} tr_piece;

typedef struct tr_param {
    char *name, *type; /* adjusted type spelling */
    int vm;            /* variably modified: stored as void * */
} tr_param;

typedef struct tr_pragma {
    unsigned b, e;          /* whole directive in its file */
    char *text;             /* text after `pragma` / destringized _Pragma contents */
    unsigned len;
    unsigned *map;          /* map[i]: file offset of text[i]; len + 1 entries */
    int in_header;
    char *header_path;
    pr_directive dir;
    int status;             /* 0 parsed, -1 syntax error (reported) */
    int translate;          /* we probe and (unless restored) translate it */
    int file_scope;         /* from pass 1 */
    /* function task (file-scope `dag task` before a function) */
    char *fname;
    char *fret;             /* return type spelling */
    int fret_kind;          /* 0 void, 1 int, 2 other */
    tr_param *params;
    unsigned nparams;
    int fvariadic, funnamed, fstatic;
    unsigned fdecl_b;       /* the declaration's offset (for notes) */
    /* pass 2 */
    unsigned p2b, p2e;      /* the probe (replacement) range, padding newlines included */
    tr_piece *pieces;
    unsigned npieces;
    int probe_fn;           /* probe lives in an appended function */
    int cons;               /* index of its construct, or NONE */
} tr_pragma;

/* Segment of the pass-2 buffer and where it came from. */
typedef struct tr_seg {
    unsigned p2b, p2e;
    int kind;        /* 0: copy of original text, 1: pragma piece, 2: generated glue */
    unsigned orig;   /* kind 0: original offset of p2b; kind 2: offset to blame */
    int pragma;      /* kind 1 */
    unsigned src;    /* kind 1: pragma text offset of p2b */
} tr_seg;

/* ---- pass-2 facts ------------------------------------------------------------------ */
enum { ST_AUTO, ST_PARAM, ST_STATIC_LOCAL, ST_GLOBAL };

typedef struct f_var {
    unsigned key;        /* p2 offset of the declarator name */
    char *name;
    CXCursor cur;
    CXType type;
    int storage;         /* ST_* */
    int func;
    unsigned decl_b, decl_e;
    unsigned scope_e;    /* end of the enclosing block */
    int vm, array, aggregate;
    int decay;           /* parameter declared as an array: really a pointer */
    int *vm_deps;        /* vars referenced by its type */
    unsigned nvm_deps;
} f_var;

typedef struct f_ref {
    unsigned b, e;
    int var;             /* index into vars */
    int literal;         /* the identifier is spelled right there (not from a macro) */
    int addr_of;         /* operand of unary & */
} f_ref;

typedef struct f_func {
    char *name;
    unsigned b, e, body_b, body_e;
    unsigned insert_at;  /* where hoisted code goes */
    int is_main;
    CXCursor cur;
} f_func;

typedef struct f_call {
    unsigned b, e;
    char *callee;
    unsigned callee_b, callee_e;
    unsigned nargs;
    unsigned (*args)[2];
    int stmt_ctx, void_ctx;
    int func;
} f_call;

enum { J_BREAK, J_CONTINUE, J_RETURN, J_GOTO };
typedef struct f_jump {
    int kind;
    unsigned b, e, semi_e;   /* semi_e: after the terminating ';' */
    unsigned target_b;       /* break/continue: the loop/switch; goto: the label */
    int func;
    int has_value;
} f_jump;

/* A `for (probe; 0; )` wrapper found in pass 2, or a standalone probe statement. */
typedef struct f_probe {
    unsigned p2b;
    CXCursor stmt;           /* the wrapped statement (for) or the probe itself */
    unsigned stmt_b, stmt_e; /* stmt_e includes a trailing ';' */
    int parent_compound;     /* standalone probes: the parent is a block */
    int found;
} f_probe;

/* ---- constructs ------------------------------------------------------------------ */
enum { CAP_FIRSTPRIVATE = 1, CAP_SHARED, CAP_PRIVATE };

typedef struct tr_cap {
    int var;
    int mode;     /* CAP_* */
    int byptr;    /* body refers to it through a pointer: (*name) */
    int implicit; /* captured only because of a variably modified type */
    int vmsize;   /* shared, and gives the size of a captured variably modified type: its
                     value at creation is also passed, as __dagcc_vm_<name> */
    int reduce;   /* reduction / in_reduction item: the field is the private copy */
    int localty;  /* its type is declared in the function: the field is a void * (shared)
                     or bytes of its size and alignment (firstprivate, used in place) */
} tr_cap;

typedef struct tr_loop {
    int var;                 /* loop variable (index into vars) */
    unsigned lb_b, lb_e, ub_b, ub_e, st_b, st_e; /* p2 ranges; st_b == st_e: step 1 */
    int step_sign;           /* +1 / -1 from ++ / -- / += / -= */
    char rel[3];             /* "<", "<=", ">", ">=", "!=" */
    int ub_on_left;          /* `ub > i` form */
    CXCursor body;
} tr_loop;

typedef struct tr_cons {
    int pragma;
    pr_kind kind;
    unsigned p2b, p2e;
    unsigned stmt_b, stmt_e;   /* associated statement, ';' included */
    unsigned body_b, body_e;   /* outlined part */
    int parent, task_ctx, func, region;
    int translate;             /* 0: restore the original pragma (left to OpenMP) */
    int idiom_child;           /* parallel: its single/master construct */
    tr_cap *caps;
    unsigned ncaps;
    tr_loop loop;
    int id;
    char *hoist;
    unsigned (*ltypes)[2];     /* function-local type declarations the body uses (p2) */
    unsigned nltypes;
    char **ltd;                /* the typedef names they declare */
    unsigned nltd;
    int detach;                /* detach(ev): 1 + index of ev in vars; 0 without */
} tr_cons;

/* A text edit of the pass-2 buffer. */
enum { E_REF, E_CONS, E_TEXT, E_CALL, E_HOIST };
typedef struct tr_edit {
    unsigned b, e;
    int kind;
    int idx;     /* E_REF: ref; E_CONS: construct; E_CALL: call */
    char *text;  /* E_TEXT */
    int order;   /* tie-break for insertions at one offset */
} tr_edit;

typedef struct tr_ctx {
    const tr_options *opt;
    diag_state diag;
    const char *path;
    char *src;
    size_t srclen;
    CXIndex index;
    CXTranslationUnit tu1, tu2;
    CXFile file1, file2;
    /* pragmas of the main file and of user headers */
    tr_pragma *pragmas;
    size_t npragmas, cpragmas;
    unsigned (*skipped)[2];
    size_t nskipped;
    unsigned (*conds)[2];  /* (offset, is_open) of #if.. / #endif in the main file */
    size_t nconds, cconds;
    /* pass 2 */
    strbuf p2;
    tr_seg *segs;
    size_t nsegs, csegs;
    /* facts */
    f_var *vars; size_t nvars, cvars;
    f_ref *refs; size_t nrefs, crefs;
    f_func *funcs; size_t nfuncs, cfuncs;
    f_call *calls; size_t ncalls, ccalls;
    f_jump *jumps; size_t njumps, cjumps;
    f_probe *probes; size_t nprobes; /* parallel to pragmas */
    /* analysis */
    tr_cons *cons; size_t ncons, ccons;
    tr_edit *edits; size_t nedits, cedits;
    int next_id;
    unsigned p2_main_end;  /* the probe functions appended after the user's text start here */
    const char *subst;     /* rendering function-task clauses: parameters become subst.name */
    char **names;          /* interned presumed file names */
    size_t nnames, cnames;
    const struct tr_gen_hooks *gen; /* set by emit_output */
    int omp_events;        /* -fopenmp: the omp_event_handle_t helpers are needed */
    /* -fopenmp: omp_fulfill_event references (b, e, func, and where the file-scope
     * declaration holding one outside any function starts: the prelude goes before it) */
    unsigned (*fulfills)[4];
    size_t nfulfills, cfulfills;
    /* main-file offsets of #include directives that bring in `#pragma dag` lines: the
     * output silences -Wunknown-pragmas around them (the compiler sees the header as is) */
    unsigned *incs;
    size_t nincs, cincs;
} tr_ctx;

/* The generators render() asks for construct and call code (emit.c sets them to gen.c's
 * and gen_call.c's functions): the renderer stays below the generators that use it. */
typedef struct writer writer;
typedef struct tr_gen_hooks {
    void (*open)(tr_ctx *c, writer *w, int ci, int ctx);
    void (*close)(tr_ctx *c, writer *w, int ci);
    void (*call)(tr_ctx *c, writer *w, int call, int ctx);
} tr_gen_hooks;

/* Output with #line bookkeeping: `line`/`file` are what the compiler will assume for the
 * next character appended (valid when `known`). */
struct writer {
    strbuf b;
    int known;
    unsigned line;
    const char *file;
};

/* translate.c: the end of the line at offset off: after its '\n', comments and
 * continuations included (for the #include wrappers, c->incs). */
unsigned line_after(const char *s, size_t n, unsigned off);
/* context.c */
void context_pass1(tr_ctx *c);
int ftask_of(const tr_ctx *c, const char *name);
/* localtypes.c: the local types and enumerators the body of task ci uses (copied to the
 * top of its outlined function by gen_local_types) */
void local_types(tr_ctx *c, int ci);
void gen_local_types(tr_ctx *c, writer *w, int ci);
void gen_local_type_uses(tr_ctx *c, writer *w, int ci, const char *ind);
/* sharing.c */
void compute_sharing(tr_ctx *c, int ci);
/* The variable a clause list item names (a global one is added to c->vars), or NONE. */
int list_var(tr_ctx *c, tr_pragma *p, const pr_item *it);
void check_lifetimes(tr_ctx *c);
/* scan.c */
/* The pragma text s (len bytes, after `#pragma`) starts with the word `word`. */
int pragma_word_is(const char *s, unsigned len, const char *word);
void scan_pragmas(tr_ctx *c, CXTranslationUnit tu, CXFile file, const char *text,
                  size_t len, int in_header, const char *header_path);
/* report.c: diagnostics at original offsets (or pragma text offsets) */
void tr_diag(tr_ctx *c, diag_level lv, unsigned off, unsigned len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tr_diag_pragma(tr_ctx *c, diag_level lv, const tr_pragma *p, pr_span s,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
unsigned p2_to_orig(const tr_ctx *c, unsigned p2off);
/* Prints libclang's errors of tu (pass 2: mapped back to the user's text); returns how
 * many there were (report.c). */
unsigned tr_report_clang(tr_ctx *c, CXTranslationUnit tu, int pass2);
void tr_diag_p2(tr_ctx *c, diag_level lv, unsigned p2off, unsigned len, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
/* probe.c */
void build_pass2(tr_ctx *c);
tr_piece *piece_of(tr_pragma *p, pr_span s);
/* cursor.c */
unsigned stmt_end_with_semi(tr_ctx *c, CXCursor stmt);
unsigned cursor_b(CXCursor cur);
unsigned cursor_e(CXCursor cur);
char *spelling(CXString s); /* a copy of s (freed by the caller); s is disposed */
/* facts.c */
void collect_facts(tr_ctx *c);
/* The first reference at or after offset b; the reference starting at b, or NONE. */
size_t ref_first(const tr_ctx *c, unsigned b);
int ref_at(const tr_ctx *c, unsigned b);
/* analyze.c */
void analyze(tr_ctx *c);
void sort_edits(tr_ctx *c);
/* emit.c */
char *emit_output(tr_ctx *c, size_t *len);
/* render.c */
void w_gen(writer *w, const char *s);
/* The capture of variable var in task context ctx (< 0: none), or NULL. */
const tr_cap *cap_of(const tr_ctx *c, int ctx, int var);
void w_end_line(writer *w); /* a newline unless the output ends with one */
void w_genf(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void w_line(writer *w, const char *file, unsigned line);
/* Appends the pass-2 text [b, e) with edits applied. ctx: the innermost task whose body
 * this is (NONE at function level). sync: user statements (#line kept exact); otherwise
 * an expression copied inline. */
void render(tr_ctx *c, writer *w, unsigned b, unsigned e, int ctx, int sync);
void render_piece(tr_ctx *c, writer *w, const tr_piece *pc, int ctx);
/* The clause expression at span s of pragma p, in parentheses. */
void render_expr(tr_ctx *c, writer *w, tr_pragma *p, pr_span s, int ctx);
void presumed(tr_ctx *c, unsigned p2off, const char **file, unsigned *line, unsigned *col);
/* gen.c: statement constructs */
void gen_hoist(tr_ctx *c, int ci);
void gen_open(tr_ctx *c, writer *w, int ci, int ctx);
void gen_close(tr_ctx *c, writer *w, int ci);
void gen_type_decl(strbuf *b, CXType t, const char *name, int ptr);
/* The type of v as C text usable inside __typeof__(...); caller frees. */
char *var_type_text(const f_var *v);
void var_decl(strbuf *b, const f_var *v, const char *name, int ptr);
void gen_loc(tr_ctx *c, strbuf *b, unsigned p2off, const char **file, unsigned *line);
/* gen_deps.c: *ndeps: the number of dependences, or -1 when it is computed at run time into
 * __dagcc_nd (per-row multi-dimensional sections); dep_count() spells it. */
void gen_deps(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent, int *ndeps);
/* affinity's hint: the first item's address, at the iterators' first values if any */
void gen_affinity(tr_ctx *c, writer *w, tr_pragma *p, const pr_clause *cl, int ctx);
const char *dep_count(int nd, char *buf, size_t size);
/* The checkpoint(list) array __dagcc_ck (every item DAG_OUT); *nck as *ndeps, the
 * run-time count in __dagcc_ck_nd. */
void gen_checkpoints(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent,
                     int *nck);
/* The task attributes __dagcc_t (after the checkpoint array they name, if any). */
void gen_attr(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *indent,
              const char *label, unsigned p2off);
/* The submission `call` (a dag_status_t expression) of pragma p: without status(lv),
 * checked (__dagcc_fail exits on an error); with it, a status other than DAG_OK is
 * stored into lv and execution goes on. declared: __dagcc_s exists already (a status
 * kept from earlier steps; call runs only while it is DAG_OK). Returns 1 if p has
 * status(). */
int gen_submit(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *ind,
               const char *call, const char *what, int declared);
/* clauses.c: type checks of clause expressions (status, device) after pass 2 */
void check_clause_types(tr_ctx *c);
/* gen_red.c: task reductions and dependence objects. gen_reductions writes the array
 * __dagcc_r of the clauses of `kind` (args_id: the argument struct holding the private
 * copy pointers, or -1) and returns its length. */
int gen_reductions(tr_ctx *c, writer *w, tr_pragma *p, pr_clause_kind kind, int ctx,
                   const char *ind, int args_id);
/* status: the task has status(lv): a failure is kept in __dagcc_s (declared before). */
void gen_in_reductions(tr_ctx *c, writer *w, tr_pragma *p, int ctx, const char *ind,
                       unsigned p2off, int status);
char *gen_declare_reduction(tr_ctx *c, int pi);
void gen_depobj(tr_ctx *c, writer *w, int ci, int ctx, const char *ind);
/* gen_call.c: function tasks, prototypes, prelude */
void gen_call(tr_ctx *c, writer *w, int call, int ctx);
char *gen_wrapper(tr_ctx *c, int pragma);
char *gen_prototype(tr_ctx *c, CXCursor fn);
char *gen_prelude(tr_ctx *c);

#endif
