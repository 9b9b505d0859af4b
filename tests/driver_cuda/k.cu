// k.cu: a CUDA source for the driver test (only its command line is checked).
extern "C" int k(void) { return 1; }
