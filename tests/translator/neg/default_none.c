/* expect: variable 'y' must be listed in a data-sharing clause because of 'default(none)' */
int main(void)
{
    int x = 0, y = 1;
    #pragma dag task default(none) shared(x)
    x = y;
    #pragma dag taskwait
    return x;
}
