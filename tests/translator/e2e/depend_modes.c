/* depend: in/out/inout ordering, array sections a[lo:len], A[i][lo:len], *p, struct
 * members, mutexinoutset and inoutset. */
#include "check.h"

struct pair { int a, b; };

int main(void)
{
    int v[64];
    double M[8][16];
    int *p = &v[10];
    struct pair s = {0, 0};
    for (int i = 0; i < 64; i++) {
        #pragma dag task depend(out: v[i])
        v[i] = i;
    }
    for (int k = 0; k < 4; k++) {
        #pragma dag task depend(inout: v[k * 16:16])
        for (int i = k * 16; i < (k + 1) * 16; i++)
            v[i] *= 2;
    }
    #pragma dag task depend(inout: *p)
    *p += 1000;
    for (int r = 0; r < 8; r++) {
        #pragma dag task depend(out: M[r][0:16])
        for (int c = 0; c < 16; c++)
            M[r][c] = r + c;
        #pragma dag task depend(inout: M[r][4:8])
        for (int c = 4; c < 12; c++)
            M[r][c] = -M[r][c];
    }
    #pragma dag task depend(out: s.a)
    s.a = 7;
    #pragma dag task depend(inout: s.a) depend(out: s.b)
    s.b = s.a * 3;
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        #pragma dag task depend(mutexinoutset: sum)
        sum += i;
    }
    int acc[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        #pragma dag task depend(inoutset: acc) depend(in: v[0:64])
        acc[i] = v[i * 16];
    }
    int total = -1;
    #pragma dag task depend(in: acc) depend(out: total)
    total = acc[0] + acc[1] + acc[2] + acc[3];
    #pragma dag taskwait
    for (int i = 0; i < 64; i++)
        CHECK(v[i] == 2 * i + (i == 10 ? 1000 : 0));
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 16; c++)
            CHECK(M[r][c] == ((c >= 4 && c < 12) ? -(r + c) : (r + c)));
    CHECK(s.a == 7 && s.b == 21);
    CHECK(sum == 45);
    CHECK(total == 0 + 32 + 64 + 96);
    puts("OK");
    return 0;
}
