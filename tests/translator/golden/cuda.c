/* golden: placement. variant(cuda: g) on a function task gives the submission a CUDA
 * implementation (.cuda, a wrapper calling g with the parameters and the context);
 * device(cuda|cpu|any) sets .device. */
struct dag_cuda_ctx;
int axpy_cuda(int n, double a, const double *x, double *y, struct dag_cuda_ctx *ctx);

#pragma dag task depend(in: x[0:n]) depend(inout: y[0:n]) variant(cuda: axpy_cuda)
void axpy(int n, double a, const double *x, double *y);

void run(int n, double *x, double *y)
{
    axpy(n, 2.0, x, y);
    #pragma dag task depend(inout: y[0:n]) device(cuda)
    y[0] = 0;
    #pragma dag taskwait
}
