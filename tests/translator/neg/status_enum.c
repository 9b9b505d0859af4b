/* expect: 'status' needs an lvalue of type dag_status_t or an integer type (this one is 'enum color') */
enum color { RED, GREEN };
int main(void)
{
    enum color c = RED;
    int x = 0;
    #pragma dag taskloop shared(x) status(c)
    for (int i = 0; i < 4; i++)
        x = i;
    return x + (int)c;
}
