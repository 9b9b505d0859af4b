/* expect: device(3) is not a device: use DAG_DEVICE_ANY (0), DAG_DEVICE_CPU (1) or DAG_DEVICE_CUDA (2) */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) device(1 + 2)
    x = 1;
    return x;
}
