/* expect: the count of 'retry' must not be negative */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) retry(-1)
    x = 1;
    return x;
}
