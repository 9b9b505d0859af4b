/* expect: a built-in reduction operator needs an arithmetic type */
struct s {
    int a;
};
int main(void)
{
    struct s v = {0};
    #pragma dag taskloop reduction(+: v)
    for (int i = 0; i < 10; i++)
        v.a += i;
    return v.a;
}
