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

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define SWAPNAS_MAP_LARGE 1
#else
#define SWAPNAS_MAP_LARGE 0
#endif

// Memory for an AlignedArray: blocks of kMapBytes and more are mapped from the system directly (page aligned), so
// that freeing one returns its pages at once. From malloc, a freed large block stays in glibc's arenas (its mmap
// threshold rises after the first large free), and pass executors regrowing their buffers for networks of other
// shapes fragmented them: the RSS of a long `score --proxies` run crept up with the list (bench/RESULTS.md, issue 13).
struct ArrayMemory {
  static constexpr size_t kMapBytes = size_t{1} << 20;

  // `bytes` (a multiple of 64) of 64-byte aligned memory.
  static void* take(size_t bytes) {
#if SWAPNAS_MAP_LARGE
    if (bytes >= kMapBytes) {
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      return p;
    }
#endif
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }

  // Frees what take(bytes) returned (nullptr: nothing).
  static void give(void* p, size_t bytes) noexcept {
    if (!p) return;
#if SWAPNAS_MAP_LARGE
    if (bytes >= kMapBytes) {
      munmap(p, bytes);
      return;
    }
#endif
    std::free(p);
  }
};

// Cache-line aligned array that is reused, never shrunk: worker scratch lives as long as its thread.
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  AlignedArray(AlignedArray&& o) noexcept : p_(o.p_), cap_(o.cap_), bytes_(o.bytes_) {
    o.p_ = nullptr;
    o.cap_ = 0;
    o.bytes_ = 0;
  }
  AlignedArray& operator=(AlignedArray&& o) noexcept {
    if (this != &o) {
      ArrayMemory::give(p_, bytes_);
      p_ = o.p_;
      cap_ = o.cap_;
      bytes_ = o.bytes_;
      o.p_ = nullptr;
      o.cap_ = 0;
      o.bytes_ = 0;
    }
    return *this;
  }
  ~AlignedArray() { ArrayMemory::give(p_, bytes_); }

  // Ensures room for n elements; contents are not preserved when it grows.
  T* reserve(size_t n) {
    if (n > cap_) {
      ArrayMemory::give(p_, bytes_);
      p_ = nullptr;
      cap_ = 0;
      bytes_ = 0;
      const size_t bytes = ((n * sizeof(T)) + 63) / 64 * 64;
      p_ = static_cast<T*>(ArrayMemory::take(bytes ? bytes : 64));
      bytes_ = bytes ? bytes : 64;
      cap_ = n;
    }
    return p_;
  }
  T* data() const { return p_; }
  size_t capacity() const { return cap_; }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
  size_t bytes_ = 0;
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
