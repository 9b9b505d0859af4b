/* expect: '#pragma dag taskwait' must appear inside a function body */
#pragma dag taskwait
int main(void) { return 0; }
