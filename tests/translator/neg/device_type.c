/* expect: 'device' takes 'any', 'cpu', 'cuda' or an integer expression (a DAG_DEVICE_* value); this one is 'const char *' */
int main(void)
{
    const char *where = "gpu";
    int x = 0;
    #pragma dag task shared(x) device(where)
    x = 1;
    return x;
}
