#pragma once
// Small statistics used across the analysis: NaN-aware median and mean, a t-based 95 % interval,
// and angle wrapping.
#include <span>

namespace mtmap::analysis {

double median(std::span<const double> v);  // ignores NaN; NaN when nothing is left
double mean(std::span<const double> v);    // ignores NaN
// Half-width of the two-sided 95 % confidence interval of the mean (Student t, n − 1 degrees of
// freedom); NaN for fewer than two finite values.
double ci95_half_width(std::span<const double> v);
double student_t975(int dof);  // the 0.975 quantile of Student's t
double wrap_deg_180(double d);  // into (−180, 180]

}  // namespace mtmap::analysis
