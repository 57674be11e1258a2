#pragma once
// Elementwise ops with NumPy broadcasting. Both operands of a binary op must have the same dtype
// and device (no implicit promotion or transfer). Differentiable unless noted.
#include "engine/tensor/tensor.h"

namespace mtmap {

// binary (tensor, tensor)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  // a > 0 where b's gradient is wanted
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to the larger (a on ties)
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add_relu(const Tensor& a, const Tensor& b);  // relu(a + b) in one pass (residual blocks)
// The gradient g through a ReLU whose output was y: y > 0 ? g : 0, in one pass. For backward
// functions; not itself differentiable (records nothing).
Tensor relu_backward(const Tensor& g, const Tensor& y);

// scalar forms
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor pow(const Tensor& a, double exponent);

// unary
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor abs(const Tensor& a);   // gradient sign(a) (0 at 0)
Tensor sign(const Tensor& a);  // not differentiable (zero gradient)
Tensor clamp(const Tensor& a, double lo, double hi);  // gradient passes where lo <= a <= hi

// comparisons: u8 tensors of 0/1, never differentiable
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);

// where(cond, a, b): cond u8 (non-zero picks a), all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }

}  // namespace mtmap
