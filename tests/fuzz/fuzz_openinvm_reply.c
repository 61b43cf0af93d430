/* libFuzzer target: the disposable's reply as bh-open-in-dvm parses it
 * (oiv_dec, OIV_REPLY, with a content bound), from arbitrary bytes cut
 * into arbitrary feeds. Input layout and checks: fuzz_openinvm_common.h. */
#include "fuzz_openinvm_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_oiv_run(OIV_REPLY, data, size);
	return 0;
}
