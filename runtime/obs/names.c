/* names.c: the bottom of runtime/obs, used by the recorder, the writers and obs.c alike:
 * the shared state (`obs`), output paths (%r, %p), lane names, JSON escaping and a
 * record's display name. Calls nothing else in obs. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs.h"

struct obs_state obs;

#define MAX_NAMED_LANES 256
static pthread_mutex_t lane_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int lane;
    char *name;
} lane_names[MAX_NAMED_LANES];
static int nlane_names;

char *obs_path(const char *pattern)
{
    size_t cap = strlen(pattern) + 64;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        char num[32];
        const char *add = NULL;
        if (p[0] == '%' && p[1] == 'r') {
            snprintf(num, sizeof num, "%d", obs.rank);
            add = num;
        } else if (p[0] == '%' && p[1] == 'p') {
            snprintf(num, sizeof num, "%ld", (long)getpid());
            add = num;
        }
        if (add) {
            size_t k = strlen(add);
            if (n + k + 1 >= cap) {
                char *o = realloc(out, cap = cap * 2 + k);
                if (!o) {
                    free(out);
                    return NULL;
                }
                out = o;
            }
            memcpy(out + n, add, k);
            n += k;
            p++;
            continue;
        }
        if (n + 2 >= cap) {
            char *o = realloc(out, cap *= 2);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        out[n++] = *p;
    }
    out[n] = 0;
    return out;
}

void obs_lane_name(int lane, const char *name)
{
    pthread_mutex_lock(&lane_lock);
    int i = 0;
    while (i < nlane_names && lane_names[i].lane != lane)
        i++;
    if (i < MAX_NAMED_LANES) {
        char *s = strdup(name);
        if (s) {
            if (i == nlane_names)
                nlane_names++;
            else
                free(lane_names[i].name);
            lane_names[i].lane = lane;
            lane_names[i].name = s;
        }
    }
    pthread_mutex_unlock(&lane_lock);
}

const char *obs_lane_name_get(int lane)
{
    const char *s = NULL;
    pthread_mutex_lock(&lane_lock);
    for (int i = 0; i < nlane_names; i++)
        if (lane_names[i].lane == lane)
            s = lane_names[i].name;
    pthread_mutex_unlock(&lane_lock);
    return s;
}

void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else if (ch == '<')
            fputs("\\u003c", f); /* keeps the text safe to embed in HTML */
        else
            fputc(ch, f);
    }
}

const char *rec_name(const struct orec *r, char *buf, size_t size)
{
    if (r->label)
        return r->label;
    if (r->file) {
        const char *base = strrchr(r->file, '/');
        snprintf(buf, size, "%s:%d", base ? base + 1 : r->file, r->line);
        return buf;
    }
    return "task";
}

void obs_lane_names_clear(void)
{
    pthread_mutex_lock(&lane_lock);
    for (int i = 0; i < nlane_names; i++)
        free(lane_names[i].name);
    nlane_names = 0;
    pthread_mutex_unlock(&lane_lock);
}
