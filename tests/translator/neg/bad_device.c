/* expect: use of undeclared identifier 'gpu' */
/* device() takes any, cpu, cuda or an expression: another word is an expression */
int main(void)
{
    int x = 0;
    #pragma dag task device(gpu)
    x = 1;
    return x;
}
