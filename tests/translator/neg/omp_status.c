/* expect: 'status' is a dagcc clause, not OpenMP: use '#pragma dag task ... status(...)' */
int main(void)
{
    int st = 0, x = 0;
    #pragma omp task shared(x) status(st)
    x = 1;
    return x + st;
}
