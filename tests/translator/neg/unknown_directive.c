/* expect: unknown directive '#pragma dag tsk' */
int main(void)
{
    #pragma dag tsk
    return 0;
}
