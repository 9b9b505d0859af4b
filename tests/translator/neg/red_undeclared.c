/* expect: no '#pragma dag declare reduction(merge : ...)' for the type 'long' of 'x' */
int main(void)
{
    long x = 0;
    #pragma dag taskloop reduction(merge: x)
    for (int i = 0; i < 10; i++)
        x += i;
    return (int)x;
}
