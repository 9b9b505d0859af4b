/* expect: expected 'variant(cuda: function)' */
#pragma dag task variant(gpu: g)
void f(int n);
