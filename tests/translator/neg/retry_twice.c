/* expect: 'retry' appears more than once */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) retry(1) retry(2)
    x = 1;
    return x;
}
