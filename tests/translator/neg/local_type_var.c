/* expect: a type or constant declared inside the function refers to the local variable 'x' */
int main(void)
{
    long x = 1;
    enum { WORDS = sizeof x / sizeof(int) };
    int out = 0;
    #pragma dag task shared(out)
    out = WORDS;
    #pragma dag taskwait
    return out == (int)(sizeof x / sizeof(int)) ? (int)x - 1 : 1;
}
