/* state.c: the bottom of runtime/core: the process-wide runtime state (`rt`, see
 * runtime.h), the calling thread's context pointer, and the reader of integer DAG_*
 * variables. Every other file of the runtime may use these; this file uses nothing of
 * the runtime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime.h"

struct runtime rt;
RT_TLS struct tctx *tls_ctx;

long env_long(const char *name, long dflt, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "dagrt: warning: ignoring %s=%s (expected an integer in [%ld, %ld])\n",
                name, s, lo, hi);
        return dflt;
    }
    return v;
}
