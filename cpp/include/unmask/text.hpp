// Text output of tables (the schedule exports): numbers formatted exactly as Python prints them.
#pragma once

#include <cstdint>
#include <string>

namespace unmask {

/// Append `x` as Python's repr(float) writes it (shortest round-trip digits; fixed notation for
/// decimal exponents -4 <= e < 16, else d.ddde+XX; "1.0" keeps its ".0"; "inf", "nan").
void append_py_float(std::string& out, double x);

/// CSV rows, one per row r: `ints[r, 0..ni)` then `floats[r, 0..nf)`, comma-separated, each
/// row ended by '\n'. Row-major inputs; floats as append_py_float.
std::string csv_rows(const std::int64_t* ints, int ni, const double* floats, int nf,
                     std::int64_t rows);

}  // namespace unmask
