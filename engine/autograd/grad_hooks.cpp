#include "engine/autograd/grad_hooks.h"

namespace mtmap::autograd {
namespace {
thread_local GradReadyFn current_hook;
}

GradReadyScope::GradReadyScope(GradReadyFn fn) : previous_(std::move(current_hook)) { current_hook = std::move(fn); }

GradReadyScope::~GradReadyScope() { current_hook = std::move(previous_); }

void notify_grad_ready(const TensorImpl& leaf) {
  if (current_hook) current_hook(leaf);
}

}  // namespace mtmap::autograd
