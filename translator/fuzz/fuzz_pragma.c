/* fuzz_pragma.c: libFuzzer target for the pragma parser (pragma.c). Any input must be
 * parsed or rejected without crashes, leaks or undefined behaviour, and every span the
 * parser returns must lie inside the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pragma.h"

static void check_span(pr_span s, size_t len)
{
    if (s.b > s.e || s.e > len)
        abort(); /* invariant of pr_parse: spans index the input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (int omp = 0; omp < 2; omp++) {
        pr_directive d;
        pr_error err;
        int rc = pr_parse(text, size, omp, &d, &err);
        if (rc < 0) {
            check_span(err.where, size + 1);
            continue;
        }
        if (rc > 0)
            continue;
        check_span(d.name, size);
        for (unsigned i = 0; i < d.nclauses; i++) {
            const pr_clause *c = &d.clauses[i];
            check_span(c->whole, size);
            check_span(c->expr, size);
            for (unsigned j = 0; j < c->nitems; j++) {
                check_span(c->items[j].text, size);
                check_span(c->items[j].base, size);
                for (unsigned k = 0; k < c->items[j].ndims; k++) {
                    check_span(c->items[j].dims[k].lo, size);
                    check_span(c->items[j].dims[k].len, size);
                }
            }
        }
        pr_free(&d);
    }
    free(text);
    return 0;
}
