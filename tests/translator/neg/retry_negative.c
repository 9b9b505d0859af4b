/* expect: the count of 'retry' must not be negative (it is -2) */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) retry(1 - 3)
    x = 1;
    return x;
}
