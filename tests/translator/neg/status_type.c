/* expect: 'status' needs an lvalue of type dag_status_t or an integer type (this one is 'double') */
int main(void)
{
    double st = 0;
    int x = 0;
    #pragma dag task shared(x) status(st)
    x = 1;
    return x + (int)st;
}
