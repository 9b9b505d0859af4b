/* local_type_captures.c: tasks capturing variables whose types are declared inside the
 * function: a firstprivate struct, enum and pointer (bytes of the type's size in the
 * argument block, used in place), shared struct and typedef'd unnamed struct (void *),
 * a shared static const struct, a private struct, and a taskloop over an array of a
 * local struct; results compared with the same computation done sequentially. */
#include <stdio.h>
#include <stdlib.h>

static int check(double got, double want, const char *what)
{
    if (got != want) {
        printf("%s: %g, expected %g\n", what, got, want);
        return 1;
    }
    return 0;
}

int main(void)
{
    enum color { RED = 1, GREEN = 2 };
    typedef enum color color_t;
    struct pt { int x, y; double w[3]; };
    typedef struct { struct pt a, b; } seg_t;
    static const struct pt origin = {1, 2, {0.5, 0, 0}};
    struct pt p = {3, 4, {1, 2, 3}};
    seg_t s = {{5, 6, {0}}, {7, 8, {0}}};
    color_t col = GREEN;
    struct pt *pp = &p;
    struct pt priv = {9, 9, {9}};
    double r = 0;
    int fails = 0;
    #pragma dag task shared(r, s) firstprivate(p, col, pp) private(priv)
    {
        priv = p;
        priv.x += origin.x + s.a.x + pp->y;
        p.y = 100; /* the task's copy */
        s.b.y = 80;
        r = priv.x + p.y + col + origin.w[0] + s.b.x;
    }
    p.x = -1; /* after creation: the task's copy keeps 3 */
    #pragma dag taskwait
    fails += check(r, 3 + 1 + 5 + 4 + 100 + 2 + 0.5 + 7, "r");
    fails += check(p.y, 4, "p.y");
    fails += check(s.b.y, 80, "s.b.y");
    fails += check(priv.x, 9, "priv.x");

    /* 1 Mi particles of a local struct type moved by a taskloop */
    struct particle { double x, v; color_t c; };
    enum { NP = 1 << 20 };
    struct particle *ps = malloc(NP * sizeof *ps);
    if (!ps)
        return 1;
    for (int i = 0; i < NP; i++)
        ps[i] = (struct particle){i * 0.5, (i % 7) - 3.0, i % 2 ? RED : GREEN};
    const struct particle kick = {0, 0.25, RED};
    #pragma dag taskloop grainsize(4096) shared(ps) firstprivate(kick)
    for (int i = 0; i < NP; i++) {
        struct particle q = ps[i];
        q.v += q.c == kick.c ? kick.v : 0;
        q.x += q.v;
        ps[i] = q;
    }
    for (int i = 0; i < NP; i++) {
        double v = (i % 7) - 3.0 + (i % 2 ? 0.25 : 0);
        if (ps[i].x != i * 0.5 + v) {
            fails += check(ps[i].x, i * 0.5 + v, "particle");
            break;
        }
    }
    free(ps);
    if (fails)
        return 1;
    printf("OK\n");
    return 0;
}
