#pragma once
// Small dense linear algebra in double for the proxy reductions (matrices of at most a few hundred rows), the C++
// twin of src/proxies/linalg.ts (the definition; test/proxies-native.test.ts checks the two agree).

#include <cstddef>
#include <vector>

namespace swapnas {

// Eigenvalues of the symmetric n x n row-major matrix `a` (overwritten), ascending: Householder reduction to
// tridiagonal form, then implicit QR steps with Wilkinson shifts. All NaN when `a` holds a non-finite value.
std::vector<double> symmetricEigenvalues(std::vector<double>& a, size_t n);

// Pearson correlation of the rows of the rows x cols float matrix `m` (numpy.corrcoef), entries clipped to [-1, 1];
// a constant row gives NaN in its row and column.
std::vector<double> corrcoefRows(const float* m, size_t rows, size_t cols);

}  // namespace swapnas
