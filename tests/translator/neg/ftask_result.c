/* expect: the result of task function 'work' cannot be used */
#pragma dag task
int work(int n);
int work(int n) { return n; }
int main(void)
{
    int r = work(3);
    return r;
}
