/* expect: needs a canonical loop */
int main(void)
{
    int i = 0;
    #pragma dag taskloop
    while (i < 10)
        i++;
    return 0;
}
