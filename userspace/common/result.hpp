// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Errors as values. An Error carries a stable machine code (its wire name
// and HTTP status are in common/error_code.hpp), a message that tells the
// operator what to do, the input field it concerns if any, and the errno of
// a failed system call.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include "common/error_code.hpp"

namespace xdpgate {

struct Error {
  ErrorCode code;
  std::string message;
  std::string field = {};
  int sys_errno = 0;
};

// Builds an Error for a failed system call, with strerror appended.
Error system_error(ErrorCode code, const std::string &what, int err = errno);

// The error is an Error unless a caller needs to carry more with it (the
// CLI keeps the API's error object).
template <typename T, typename E = Error> class [[nodiscard]] Result {
public:
  Result(T value) : state_(std::move(value)) {}
  Result(E error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T &value() & { return std::get<0>(state_); }
  const T &value() const & { return std::get<0>(state_); }
  T &&value() && { return std::get<0>(std::move(state_)); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }

  const E &error() const { return std::get<1>(state_); }

private:
  std::variant<T, E> state_;
};

template <typename E> class [[nodiscard]] Result<void, E> {
public:
  Result() = default;
  Result(E error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const E &error() const { return error_; }

private:
  E error_;
  bool failed_ = false;
};

using Status = Result<void>;

} // namespace xdpgate
