/* expect: a bitwise reduction operator needs an integer type ('d') */
int main(void)
{
    double d = 0;
    #pragma dag taskloop reduction(^: d)
    for (int i = 0; i < 10; i++)
        d += i;
    return (int)d;
}
