/* expect: expected 'cpu', 'cuda' or 'any' in 'device' clause */
int main(void)
{
    int x = 0;
    #pragma dag task device(gpu)
    x = 1;
    return x;
}
