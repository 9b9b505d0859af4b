/* expect: 'variant' is allowed only on a function task */
struct dag_cuda_ctx;
int g(struct dag_cuda_ctx *ctx);
int main(void)
{
    int x = 0;
    #pragma dag task variant(cuda: g) shared(x)
    x = 1;
    return x;
}
