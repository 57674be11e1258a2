#pragma once
// What this build and this machine offer. Callable in every build: without the CUDA backend,
// cuda_device_count() is 0 and require() explains that the build has no CUDA.
#include <string>

#include "engine/core/device.h"

namespace mtmap {

bool cuda_built();
// Devices the CUDA runtime sees. 0 when CUDA is not built, there is no driver (the runtime's
// insufficient-driver answer) or there is no GPU: never an error.
int cuda_device_count();
// Throws, naming `what` and the device, unless `device` can be used here.
void require_device(const Device& device, const char* what);
std::string cuda_device_name(int index);

}  // namespace mtmap
