/* cursor.c: libclang cursor helpers every pass uses: extents as file offsets (expansion
 * locations), direct and last children, a cursor without implicit casts and
 * parentheses, the end of a statement including its semicolon, and spellings as copies. */
#include <string.h>

#include "tr.h"

char *spelling(CXString s)
{
    char *r = xstrdup(clang_getCString(s));
    clang_disposeString(s);
    return r;
}

unsigned cursor_b(CXCursor cur)
{
    unsigned off = 0;
    clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(cur)), NULL, NULL,
                               NULL, &off);
    return off;
}

unsigned cursor_e(CXCursor cur)
{
    unsigned off = 0;
    clang_getExpansionLocation(clang_getRangeEnd(clang_getCursorExtent(cur)), NULL, NULL,
                               NULL, &off);
    return off;
}

static enum CXChildVisitResult kids_cb(CXCursor cur, CXCursor parent, CXClientData d)
{
    (void)parent;
    tr_kids *k = d;
    if (k->n < TR_MAXKIDS)
        k->v[k->n++] = cur;
    return CXChildVisit_Continue;
}

tr_kids tr_children(CXCursor cur)
{
    tr_kids k;
    k.n = 0;
    clang_visitChildren(cur, kids_cb, &k);
    return k;
}

CXCursor tr_strip(CXCursor cur)
{
    for (;;) {
        enum CXCursorKind k = clang_getCursorKind(cur);
        if (k != CXCursor_UnexposedExpr && k != CXCursor_ParenExpr)
            return cur;
        tr_kids ch = tr_children(cur);
        if (ch.n != 1)
            return cur;
        cur = ch.v[0];
    }
}

static enum CXChildVisitResult last_child_cb(CXCursor cur, CXCursor parent, CXClientData d)
{
    (void)parent;
    *(CXCursor *)d = cur;
    return CXChildVisit_Continue;
}

CXCursor tr_last_child(CXCursor cur)
{
    CXCursor last = clang_getNullCursor();
    clang_visitChildren(cur, last_child_cb, &last);
    return last;
}

static unsigned skip_blank(const tr_ctx *c, unsigned i)
{
    const char *s = c->p2.s;
    unsigned n = (unsigned)c->p2.n;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (i + 1 < n && s[i] == '\\' && (s[i + 1] == '\n' || s[i + 1] == '\r'))
            i += 2;
        else if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            const char *end = strstr(s + i + 2, "*/");
            i = end ? (unsigned)(end - s) + 2 : n;
        } else if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
            while (i < n && s[i] != '\n')
                i++;
        } else {
            return i;
        }
    }
}

unsigned stmt_end_with_semi(tr_ctx *c, CXCursor stmt)
{
    switch (clang_getCursorKind(stmt)) {
    case CXCursor_CompoundStmt:
    case CXCursor_NullStmt:
    case CXCursor_DeclStmt:
        return cursor_e(stmt);
    case CXCursor_IfStmt:
    case CXCursor_ForStmt:
    case CXCursor_WhileStmt:
    case CXCursor_SwitchStmt:
    case CXCursor_LabelStmt:
    case CXCursor_CaseStmt:
    case CXCursor_DefaultStmt: {
        CXCursor last = tr_last_child(stmt);
        if (!clang_Cursor_isNull(last))
            return stmt_end_with_semi(c, last);
        return cursor_e(stmt);
    }
    default: {
        unsigned e = cursor_e(stmt);
        unsigned j = skip_blank(c, e);
        return j < c->p2.n && c->p2.s[j] == ';' ? j + 1 : e;
    }
    }
}
