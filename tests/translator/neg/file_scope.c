/* expect: at file scope must be followed by a function declaration or definition */
#pragma dag task
int global;
int main(void) { return global; }
