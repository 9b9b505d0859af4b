/* expect: '#pragma dag declare reduction' must appear at file scope (dagcc) */
int main(void)
{
    #pragma dag declare reduction(mx : int : omp_out = omp_out > omp_in ? omp_out : omp_in)
    int x = 0;
    return x;
}
