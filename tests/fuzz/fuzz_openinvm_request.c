/* libFuzzer target: the request of bh-open-in-dvm as the service in the
 * disposable parses it (oiv_dec, OIV_REQUEST), from arbitrary bytes cut
 * into arbitrary feeds. Input layout and checks: fuzz_openinvm_common.h. */
#include "fuzz_openinvm_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_oiv_run(OIV_REQUEST, data, size);
	return 0;
}
