/* expect: '#pragma dag task' must be followed by a statement */
int main(void)
{
    int x = 0;
    if (x) {
        x = 2;
        #pragma dag task
    }
    return x;
}
