/* expect: unknown clause 'nosuch' on '#pragma dag task' */
#define SPAWN _Pragma("dag task nosuch")
int main(void)
{
    int x = 0;
    _Pragma("dag task nosuch") x = 1;
    return x;
}
