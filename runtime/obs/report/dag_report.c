/* dag_report.c: dag-report, the command-line companion of DAG_TRACE.
 *
 *   dag-report trace.json [more.json ...] -o report.html   self-contained HTML report
 *   dag-report --merge rank0.json rank1.json -o all.json    one trace from per-rank files
 *
 * Merging relies on the writer's line-oriented layout (runtime/obs/trace.c): a header
 * line with t0_ns and clock_offset_ns, one event per line, "]}" last. Each file's "ts"
 * values are shifted by (t0_ns + clock_offset_ns) - min over files, so every rank lands
 * on rank 0's clock. A single file in any other Chrome-trace layout is embedded as is.
 * The page (report.js, report.css, compiled in) draws the Gantt chart, the utilisation
 * over time and the statistics table in the browser, with no network access.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_css.h"
#include "report_js.h"

struct input {
    const char *path;
    char *text;
    size_t len;
    int ours;          /* written by trace.c: line-oriented, with a header */
    long long t0, off; /* t0_ns, clock_offset_ns */
};

static void usage(FILE *f)
{
    fputs("usage: dag-report [--merge] [-o OUT] TRACE.json [TRACE.json ...]\n"
          "Writes a self-contained HTML report (Gantt chart, utilisation, statistics) of\n"
          "DAG_TRACE files; several per-rank files are merged onto one clock first.\n"
          "  -o OUT    output file (default: report.html, or merged.json with --merge)\n"
          "  --merge   write the merged trace as JSON instead of a report\n",
          f);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += k;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static long long header_num(const char *hdr, size_t hlen, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = memmem(hdr, hlen, pat, strlen(pat));
    return p ? strtoll(p + strlen(pat), NULL, 10) : 0;
}

static int parse_input(struct input *in)
{
    in->text = slurp(in->path, &in->len);
    if (!in->text) {
        fprintf(stderr, "dag-report: cannot read %s\n", in->path);
        return -1;
    }
    const char *nl = memchr(in->text, '\n', in->len);
    size_t hlen = nl ? (size_t)(nl - in->text) : in->len;
    in->ours = memmem(in->text, hlen, "\"format\":\"dagcc-trace-1\"", 24) != NULL;
    if (in->ours) {
        in->t0 = header_num(in->text, hlen, "t0_ns");
        in->off = header_num(in->text, hlen, "clock_offset_ns");
    }
    return 0;
}

/* Copies s (len bytes) to out, escaping "</" so that the text cannot close <script>. */
static void put_safe(FILE *out, const char *s, size_t len, int html)
{
    if (!html) {
        fwrite(s, 1, len, out);
        return;
    }
    size_t from = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '<' && s[i + 1] == '/') {
            fwrite(s + from, 1, i + 1 - from, out);
            fputc('\\', out);
            from = i + 1;
        }
    fwrite(s + from, 1, len - from, out);
}

/* Writes one event line shifted by delta_us, without its trailing comma. */
static void put_event(FILE *out, const char *line, size_t len, double delta_us, int html)
{
    while (len && (line[len - 1] == ',' || line[len - 1] == ' ' || line[len - 1] == '\r'))
        len--;
    const char *ts = delta_us != 0 ? memmem(line, len, "\"ts\":", 5) : NULL;
    if (!ts) {
        put_safe(out, line, len, html);
        return;
    }
    char *end;
    double v = strtod(ts + 5, &end);
    put_safe(out, line, (size_t)(ts + 5 - line), html);
    fprintf(out, "%.3f", v + delta_us);
    put_safe(out, end, len - (size_t)(end - line), html);
}

/* The merged trace: every input's events on the clock of the earliest. */
static int write_merged(FILE *out, struct input *in, int n, int html)
{
    long long base = 0;
    for (int i = 0; i < n; i++) {
        long long t = in[i].t0 + in[i].off;
        if (i == 0 || t < base)
            base = t;
    }
    fprintf(out, "{\"otherData\":{\"generator\":\"dag-report\",\"format\":\"dagcc-trace-1\","
                 "\"merged\":%d,\"rank\":0,\"nranks\":%d,\"clock\":\"CLOCK_MONOTONIC\","
                 "\"t0_ns\":%lld,\"clock_offset_ns\":0},\"displayTimeUnit\":\"ns\","
                 "\"traceEvents\":[\n",
            n, n, base);
    int first = 1;
    for (int i = 0; i < n; i++) {
        double delta = (double)(in[i].t0 + in[i].off - base) / 1000.0;
        const char *p = memchr(in[i].text, '\n', in[i].len);
        const char *end = in[i].text + in[i].len;
        for (p = p ? p + 1 : end; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len && p[0] == '{' && !memmem(p, len, "\"trace_end\"", 11)) {
                if (!first)
                    fputs(",\n", out);
                put_event(out, p, len, delta, html);
                first = 0;
            }
            p += len + 1;
        }
    }
    fputs("\n]}\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *outpath = NULL;
    int merge = 0, n = 0;
    struct input *in = calloc((size_t)argc, sizeof *in);
    if (!in)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            outpath = argv[++i];
        } else if (!strcmp(argv[i], "--merge")) {
            merge = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            usage(stderr);
            return 2;
        } else {
            in[n++].path = argv[i];
        }
    }
    if (!n) {
        usage(stderr);
        return 2;
    }
    if (!outpath)
        outpath = merge ? "merged.json" : "report.html";
    for (int i = 0; i < n; i++)
        if (parse_input(&in[i]))
            return 1;
    for (int i = 0; n > 1 && i < n; i++)
        if (!in[i].ours) {
            fprintf(stderr, "dag-report: %s was not written by DAG_TRACE: cannot merge it\n",
                    in[i].path);
            return 1;
        }
    FILE *out = strcmp(outpath, "-") ? fopen(outpath, "w") : stdout;
    if (!out) {
        fprintf(stderr, "dag-report: cannot write %s\n", outpath);
        return 1;
    }
    int html = !merge;
    if (html) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
              "<title>dagcc report</title>\n<style>\n", out);
        fputs(report_css, out);
        fputs("</style></head>\n<body>\n<h1>dagcc report</h1>\n<p id=\"sources\">", out);
        for (int i = 0; i < n; i++) {
            fputs(i ? ", " : "", out);
            for (const char *s = in[i].path; *s; s++) {
                if (*s == '<')
                    fputs("&lt;", out);
                else if (*s == '&')
                    fputs("&amp;", out);
                else
                    fputc(*s, out);
            }
        }
        fputs("</p>\n<div id=\"summary\"></div>\n"
              "<h2>Gantt chart</h2><div id=\"gantt\"></div>\n"
              "<h2>Utilisation over time</h2><div id=\"util\"></div>\n"
              "<h2>Lanes</h2><div id=\"lanes\"></div>\n"
              "<h2>Tasks by name</h2><div id=\"stats\"></div>\n"
              "<script id=\"trace-data\" type=\"application/json\">\n", out);
    }
    if (n == 1 && !in[0].ours)
        put_safe(out, in[0].text, in[0].len, html);
    else
        write_merged(out, in, n, html);
    if (html) {
        fputs("</script>\n<script>\n", out);
        fputs(report_js, out);
        fputs("</script>\n</body></html>\n", out);
    }
    int bad = ferror(out);
    if (out != stdout && fclose(out))
        bad = 1;
    for (int i = 0; i < n; i++)
        free(in[i].text);
    free(in);
    if (bad) {
        fprintf(stderr, "dag-report: error writing %s\n", outpath);
        return 1;
    }
    return 0;
}
