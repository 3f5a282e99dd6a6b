#pragma once
// Result<T>: the error channel for hot paths and per-message work, where an
// exception would be too costly or would let network input unwind the process.
// Modelled on osquery's Expected: a value or an Error, checked before use.
#include <string>
#include <utility>
#include <variant>

namespace hale {

struct Error {
  std::string message;
  int code = 0;  ///< errno or a library's code where one exists; 0 otherwise
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Error makeError(std::string message, int code = 0) { return Error{std::move(message), code}; }

}  // namespace hale
