/* diag.c: formats diagnostics like gcc 12 (location, message, numbered source line, caret
 * and underline). Tabs in the source line are reproduced in the caret line so the caret
 * stays aligned in any terminal. */
#include "diag.h"

#include <stdarg.h>

void diag_init(diag_state *d, FILE *out)
{
    d->out = out ? out : stderr;
    d->werror = 0;
    d->no_warnings = 0;
    d->errors = d->warnings = 0;
}

int diag_emit(diag_state *d, diag_level level, const diag_loc *loc, const char *fmt, ...)
{
    if (level == DIAG_WARNING && d->no_warnings)
        return 0;
    int is_error = level == DIAG_ERROR || (level == DIAG_WARNING && d->werror);
    const char *tag = level == DIAG_NOTE ? "note" : is_error ? "error" : "warning";
    if (loc && loc->file && loc->line)
        fprintf(d->out, "%s:%u:%u: %s: ", loc->file, loc->line, loc->col, tag);
    else if (loc && loc->file)
        fprintf(d->out, "%s: %s: ", loc->file, tag);
    else
        fprintf(d->out, "dagcc: %s: ", tag);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    if (level == DIAG_WARNING && d->werror)
        fputs(" [-Werror]", d->out);
    fputc('\n', d->out);

    if (loc && loc->line_text && loc->line) {
        unsigned n = loc->line_len;
        while (n && (loc->line_text[n - 1] == '\n' || loc->line_text[n - 1] == '\r'))
            n--;
        fprintf(d->out, "%5u | %.*s\n      | ", loc->line, (int)n, loc->line_text);
        unsigned caret = loc->caret_col ? loc->caret_col : 1;
        for (unsigned i = 1; i < caret; i++)
            fputc(i - 1 < n && loc->line_text[i - 1] == '\t' ? '\t' : ' ', d->out);
        fputc('^', d->out);
        unsigned len = loc->caret_len ? loc->caret_len : 1;
        for (unsigned i = 1; i < len && caret + i - 1 < n; i++)
            fputc('~', d->out);
        fputc('\n', d->out);
    }
    if (is_error)
        d->errors++;
    else if (level == DIAG_WARNING)
        d->warnings++;
    return is_error;
}
