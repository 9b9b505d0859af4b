/* nodlclose.c: preloaded into the MPI tests of the ASan step (.ci/test.sh): dlclose does
 * nothing, so that Open MPI's components stay mapped until LeakSanitizer's report at exit
 * and their frames name their library (mca_*.so), which lsan.supp then suppresses; an
 * unloaded component's frames read "<unknown module>" and match no suppression. */
#include <dlfcn.h>

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
