/* golden: a function task (every call is a task) and _Pragma. */
#pragma dag task depend(in: src[0:n]) depend(out: dst[0:n])
static void copy(double *dst, const double *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i];
}

int main(void)
{
    double a[16] = {1}, b[16];
    copy(b, a, 16);
    _Pragma("dag taskwait")
    return b[0] == 1 ? 0 : 1;
}
