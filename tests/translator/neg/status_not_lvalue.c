/* expect: 'status' needs a modifiable lvalue (expression is not assignable) */
int main(void)
{
    int st = 0, x = 0;
    #pragma dag task shared(x) status(st + 1)
    x = 1;
    return x + st;
}
