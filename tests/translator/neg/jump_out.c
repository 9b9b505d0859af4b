/* expect: 'return' cannot leave the structured block of '#pragma dag task' */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x)
    {
        x = 1;
        return 2;
    }
    return x;
}
