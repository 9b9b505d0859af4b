/* expect: the type 'row' is variably modified and declared inside the function */
int main(int argc, char **argv)
{
    (void)argv;
    int n = argc + 3;
    typedef double row[n];
    double sum = 0;
    #pragma dag task shared(sum)
    {
        row r;
        for (int i = 0; i < n; i++)
            r[i] = i;
        sum = r[n - 1];
    }
    #pragma dag taskwait
    return sum > 0 ? 0 : 1;
}
