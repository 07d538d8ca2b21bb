// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/connection.hpp"

namespace xdpgate::api {

namespace {
thread_local Connection *current = nullptr;
} // namespace

Connection *current_connection() { return current; }

ConnectionScope::ConnectionScope(Connection &connection) {
  current = &connection;
}

ConnectionScope::~ConnectionScope() { current = nullptr; }

} // namespace xdpgate::api
