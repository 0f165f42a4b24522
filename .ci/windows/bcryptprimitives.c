/* ProcessPrng for Wine 8, which lacks it: Rust's std (1.78 and later) takes every random
 * byte from bcryptprimitives.dll's ProcessPrng. Placed next to the test executables, this
 * DLL answers from advapi32's RtlGenRandom (SystemFunction036), which Wine has. Test
 * infrastructure only: never shipped, never used on a real Windows. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
