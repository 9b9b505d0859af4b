/* watch.c: the observability thread (progress line, watchdog), the SIGUSR1 hang dump,
 * and the registry of live tasks the dumps print.
 *
 * The registry exists only while DAG_WATCHDOG is set: it costs a striped lock and an
 * allocation per task, which is acceptable when diagnosing a hang and not otherwise.
 * The signal handler only writes a byte to a pipe; the thread does the printing, so
 * nothing unsafe runs in signal context. A dump reads tasks' labels through entries that
 * copied them, never through task descriptors, which may be recycled meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs.h"

/* ---- registry ------------------------------------------------------------------------ */

#define NSTRIPE 64
#define STRIPE_BUCKETS 1024

struct live {
    struct live *next;
    uint64_t id;
    const char *label, *file;
    int line, lane, running;
    uint64_t since;      /* submission or start time */
    uint32_t npred, cappred;
    uint64_t *pred;      /* ids of the producers it waited for at submission */
    uint32_t ndeps;
    dag_dep_t *deps;
};

static struct stripe {
    pthread_mutex_t lock;
    struct live *b[STRIPE_BUCKETS];
} stripes[NSTRIPE];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
    for (int i = 0; i < NSTRIPE; i++)
        pthread_mutex_init(&stripes[i].lock, NULL);
}

static inline size_t hid(uint64_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32);
}

/* The entry for id in its (locked) stripe, created when `make` is set. */
static struct live *find(struct stripe *s, uint64_t id, int make)
{
    struct live **pp = &s->b[hid(id) / NSTRIPE % STRIPE_BUCKETS];
    for (struct live *e = *pp; e; e = e->next)
        if (e->id == id)
            return e;
    if (!make)
        return NULL;
    struct live *e = calloc(1, sizeof *e);
    if (e) {
        e->id = id;
        e->next = *pp;
        *pp = e;
    }
    return e;
}

static inline struct stripe *stripe_of(uint64_t id)
{
    return &stripes[hid(id) % NSTRIPE];
}

static void fill(struct live *e, const struct task *t)
{
    e->label = t->label;
    e->file = t->file;
    e->line = t->line;
}

static void reg_submit(struct task *t, int lane)
{
    struct stripe *s = stripe_of(t->id);
    pthread_mutex_lock(&s->lock);
    struct live *e = find(s, t->id, 1);
    if (e) {
        fill(e, t);
        e->lane = lane;
        e->since = clock_now_ns();
    }
    pthread_mutex_unlock(&s->lock);
}

/* Runs on the submitting thread before reg_submit(s): creates s's entry. */
static void reg_edge(struct task *p, struct task *t)
{
    struct stripe *s = stripe_of(t->id);
    pthread_mutex_lock(&s->lock);
    struct live *e = find(s, t->id, 1);
    if (e && e->npred == e->cappred) {
        uint32_t cap = e->cappred ? e->cappred * 2 : 4;
        uint64_t *v = realloc(e->pred, sizeof *v * cap);
        if (v) {
            e->pred = v;
            e->cappred = cap;
        }
    }
    if (e && e->npred < e->cappred)
        e->pred[e->npred++] = p->id;
    pthread_mutex_unlock(&s->lock);
}

static void reg_deps(struct task *t, const dag_dep_t *deps, size_t ndeps)
{
    struct stripe *s = stripe_of(t->id);
    pthread_mutex_lock(&s->lock);
    struct live *e = find(s, t->id, 1);
    if (e && ndeps && !e->deps && (e->deps = malloc(sizeof *deps * ndeps))) {
        memcpy(e->deps, deps, sizeof *deps * ndeps);
        e->ndeps = (uint32_t)ndeps;
    }
    pthread_mutex_unlock(&s->lock);
}

static void reg_start(struct task *t, int lane)
{
    struct stripe *s = stripe_of(t->id);
    pthread_mutex_lock(&s->lock);
    struct live *e = find(s, t->id, 1); /* inline tasks were never submitted */
    if (e) {
        fill(e, t);
        e->running = 1;
        e->lane = lane;
        e->since = clock_now_ns();
    }
    pthread_mutex_unlock(&s->lock);
}

static void reg_end(struct task *t)
{
    struct stripe *s = stripe_of(t->id);
    pthread_mutex_lock(&s->lock);
    struct live **pp = &s->b[hid(t->id) / NSTRIPE % STRIPE_BUCKETS];
    for (struct live *e; (e = *pp); pp = &e->next)
        if (e->id == t->id) {
            *pp = e->next;
            free(e->pred);
            free(e->deps);
            free(e);
            break;
        }
    pthread_mutex_unlock(&s->lock);
}

const struct obs_registry watch_registry = {
    .submit = reg_submit,
    .edge = reg_edge,
    .deps = reg_deps,
    .start = reg_start,
    .end = reg_end,
};

void reg_clear(void)
{
    pthread_once(&stripes_once, stripes_init);
    for (int i = 0; i < NSTRIPE; i++) {
        pthread_mutex_lock(&stripes[i].lock);
        for (int b = 0; b < STRIPE_BUCKETS; b++) {
            for (struct live *e = stripes[i].b[b], *n; e; e = n) {
                n = e->next;
                free(e->pred);
                free(e->deps);
                free(e);
            }
            stripes[i].b[b] = NULL;
        }
        pthread_mutex_unlock(&stripes[i].lock);
    }
}

static void print_task(FILE *out, const struct live *e)
{
    const char *base = e->file ? strrchr(e->file, '/') : NULL;
    base = base ? base + 1 : e->file;
    fprintf(out, "'%s'", e->label ? e->label : "task");
    if (base)
        fprintf(out, " at %s:%d", base, e->line);
    fprintf(out, " [id 0x%llx]", (unsigned long long)e->id);
}

static const char *mode_name(unsigned m)
{
    switch (m & DAG_MODE_MASK) {
    case DAG_IN: return "in";
    case DAG_OUT: return "out";
    case DAG_INOUT: return "inout";
    case DAG_MUTEXINOUTSET: return "mutexinoutset";
    case DAG_INOUTSET: return "inoutset";
    default: return "?";
    }
}

#define DUMP_MAX 40

/* Every stripe is locked while printing: the runtime pauses at its next task boundary. */
void reg_dump(FILE *out, const char *why)
{
    pthread_once(&stripes_once, stripes_init);
    for (int i = 0; i < NSTRIPE; i++)
        pthread_mutex_lock(&stripes[i].lock);
    uint64_t now = clock_now_ns(), sub, done;
    obs_counts(&sub, &done);
    size_t nrun = 0, nwait = 0, nready = 0;
    fprintf(out, "\ndagrt: hang diagnosis (%s): %llu tasks submitted, %llu finished\n", why,
            (unsigned long long)sub, (unsigned long long)done);
    for (int pass = 0; pass < 2; pass++) {
        size_t shown = 0;
        for (int i = 0; i < NSTRIPE; i++)
            for (int b = 0; b < STRIPE_BUCKETS; b++)
                for (struct live *e = stripes[i].b[b]; e; e = e->next) {
                    if (e->running != (pass == 0))
                        continue;
                    /* pending producers: those still in the registry */
                    uint32_t npend = 0;
                    for (uint32_t k = 0; k < e->npred; k++) {
                        struct stripe *s = stripe_of(e->pred[k]);
                        npend += find(s, e->pred[k], 0) != NULL;
                    }
                    if (pass == 0)
                        nrun++;
                    else if (npend)
                        nwait++;
                    else
                        nready++;
                    if (pass == 1 && !npend)
                        continue; /* ready, queued: not informative one by one */
                    if (++shown > DUMP_MAX)
                        continue;
                    fprintf(out, pass == 0 ? "  running on lane %d for %.3f s: "
                                           : "  waiting (submitted by lane %d, %.3f s ago): ",
                            e->lane, (double)(now - e->since) / 1e9);
                    print_task(out, e);
                    fputc('\n', out);
                    for (uint32_t d = 0; d < e->ndeps; d++)
                        fprintf(out, "      depends %s [%p, +%zu)\n", mode_name(e->deps[d].mode),
                                e->deps[d].addr, e->deps[d].len);
                    for (uint32_t k = 0; k < e->npred; k++) {
                        struct live *p = find(stripe_of(e->pred[k]), e->pred[k], 0);
                        if (!p)
                            continue;
                        fprintf(out, "      waits for %s ", p->running ? "running" : "pending");
                        print_task(out, p);
                        fputc('\n', out);
                    }
                }
        if (shown > DUMP_MAX)
            fprintf(out, "  ... and %zu more\n", shown - DUMP_MAX);
    }
    fprintf(out, "dagrt: %zu running, %zu waiting for producers, %zu ready and queued\n",
            nrun, nwait, nready);
    fflush(out);
    for (int i = NSTRIPE - 1; i >= 0; i--)
        pthread_mutex_unlock(&stripes[i].lock);
}

/* ---- the thread ----------------------------------------------------------------------- */

static int wake_pipe[2] = {-1, -1};
static pthread_t watch_thread;
static int watch_running;
static struct sigaction old_usr1;
static int usr1_installed;

static void on_usr1(int sig)
{
    (void)sig;
    int e = errno;
    char ch = 'd';
    if (write(wake_pipe[1], &ch, 1) < 0) {
        /* the pipe is full: a dump is already pending */
    }
    errno = e;
}

static void *watch_main(void *arg)
{
    (void)arg;
    uint64_t t0 = clock_now_ns(), last_change = t0, last_done = 0, last_sub = 0;
    uint64_t rate_t = t0, rate_done = 0;
    double rate = 0;
    int shown = 0, dumped = 0;
    for (;;) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        int ms = obs.progress ? 500 : 250;
        if (poll(&p, 1, ms) > 0) {
            char buf[16];
            ssize_t n = read(wake_pipe[0], buf, sizeof buf);
            int quit = 0, dump = 0;
            for (ssize_t i = 0; i < n; i++) {
                quit |= buf[i] == 'q';
                dump |= buf[i] == 'd';
            }
            if (dump && obs.registry) {
                if (shown)
                    fputs("\r\033[K", stderr);
                reg_dump(stderr, "SIGUSR1");
            }
            if (quit)
                break;
        }
        uint64_t now = clock_now_ns(), sub, done;
        obs_counts(&sub, &done);
        if (done != last_done || sub != last_sub) {
            last_change = now;
            dumped = 0;
        }
        last_done = done;
        last_sub = sub;
        if (obs.watchdog_s > 0 && !dumped && sub > done &&
            (double)(now - last_change) / 1e9 >= obs.watchdog_s) {
            char why[96];
            snprintf(why, sizeof why, "DAG_WATCHDOG: no task finished for %.1f s",
                     (double)(now - last_change) / 1e9);
            if (shown)
                fputs("\r\033[K", stderr);
            reg_dump(stderr, why);
            dumped = 1;
        }
        if (obs.progress && now - t0 >= 1000000000u) {
            if (now - rate_t >= 500000000u) {
                double r = (double)(done - rate_done) * 1e9 / (double)(now - rate_t);
                rate = rate ? 0.5 * rate + 0.5 * r : r;
                rate_t = now;
                rate_done = done;
            }
            char eta[32] = "";
            if (rate > 0 && sub > done)
                snprintf(eta, sizeof eta, ", ~%.1f s left", (double)(sub - done) / rate);
            fprintf(stderr, "\r\033[K[dagcc] %llu/%llu tasks done, %.3g tasks/s%s",
                    (unsigned long long)done, (unsigned long long)sub, rate, eta);
            fflush(stderr);
            shown = 1;
        }
    }
    if (shown)
        fputs("\r\033[K", stderr);
    return NULL;
}

int watch_start(void)
{
    pthread_once(&stripes_once, stripes_init);
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK))
        return -1;
    if (pthread_create(&watch_thread, NULL, watch_main, NULL)) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
        return -1;
    }
    watch_running = 1;
    if (obs.registry) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        usr1_installed = sigaction(SIGUSR1, &sa, &old_usr1) == 0;
    }
    return 0;
}

void watch_stop(void)
{
    if (!watch_running)
        return;
    if (usr1_installed) {
        sigaction(SIGUSR1, &old_usr1, NULL);
        usr1_installed = 0;
    }
    char ch = 'q';
    while (write(wake_pipe[1], &ch, 1) < 0 && errno == EINTR)
        ;
    pthread_join(watch_thread, NULL);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
    watch_running = 0;
}
