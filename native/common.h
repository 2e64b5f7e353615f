#pragma once
// Shared error types and small helpers for the swapnas addon (no N-API here: worker threads include it).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace swapnas {

// A failure that becomes a rejected promise / thrown Error whose `.code` is `code`.
struct Failure : std::runtime_error {
  std::string code;
  Failure(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

// Thrown between layers when the job's cancel flag is set; caught at the work-item boundary.
struct Cancelled {};

[[noreturn]] inline void fail(const std::string& msg) { throw Failure("E_BACKEND", msg); }

// Cache-line aligned array that is reused, never shrunk: worker scratch lives as long as its thread.
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  AlignedArray(AlignedArray&& o) noexcept : p_(o.p_), cap_(o.cap_) { o.p_ = nullptr; o.cap_ = 0; }
  AlignedArray& operator=(AlignedArray&& o) noexcept {
    if (this != &o) {
      std::free(p_);
      p_ = o.p_;
      cap_ = o.cap_;
      o.p_ = nullptr;
      o.cap_ = 0;
    }
    return *this;
  }
  ~AlignedArray() { std::free(p_); }

  // Ensures room for n elements; contents are not preserved when it grows.
  T* reserve(size_t n) {
    if (n > cap_) {
      std::free(p_);
      p_ = nullptr;
      cap_ = 0;
      size_t bytes = ((n * sizeof(T)) + 63) / 64 * 64;
      p_ = static_cast<T*>(std::aligned_alloc(64, bytes ? bytes : 64));
      if (!p_) throw std::bad_alloc();
      cap_ = n;
    }
    return p_;
  }
  T* data() const { return p_; }
  size_t capacity() const { return cap_; }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace swapnas

namespace swapnas {

// Cancellation flags polled between work items and layers: the job's JS Int32Array and an internal one.
struct CancelToken {
  const int32_t* flags[2] = {nullptr, nullptr};
  bool requested() const {
    for (const int32_t* f : flags)
      if (f && __atomic_load_n(f, __ATOMIC_RELAXED) != 0) return true;
    return false;
  }
};

}  // namespace swapnas
