/*
 * bcryptprimitives.dll for wine 8, which has none.
 *
 * Go 1.24 and later take their randomness (the runtime's hash seeds,
 * crypto/rand) from ProcessPrng, loaded from system32 at start; without it
 * every Go .exe dies with "bcryptprimitives.dll not found". This DLL is put
 * into the system32 of the wine prefix that `make test-windows` makes for
 * itself, never shipped: real Windows 10 and later have the real one.
 *
 * RtlGenRandom (advapi32's SystemFunction036) is wine's own CSPRNG, so the
 * randomness is as good as wine's.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
	/* RtlGenRandom takes a ULONG length; SIZE_T is 64 bits here. */
	while (size > 0) {
		ULONG n = size > 0x40000000 ? 0x40000000 : (ULONG)size;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		size -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance;
	(void)reason;
	(void)reserved;
	return TRUE;
}
