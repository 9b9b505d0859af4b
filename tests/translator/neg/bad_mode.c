/* expect: expected a dependence type */
int main(void)
{
    int x = 0;
    #pragma dag task depend(readwrite: x)
    x = 1;
    return 0;
}
