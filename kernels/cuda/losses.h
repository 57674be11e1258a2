#pragma once
// CUDA launchers of the training losses: InfoNCE (info_nce.h) and the spatial loss (spatial_loss.h).
#include "kernels/cuda/info_nce.h"
#include "kernels/cuda/spatial_loss.h"
