// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Every error code xdpgated gives, in one table: its name on the wire (the
// API's error.code, docs/API.md) and the HTTP status it is answered with.
// A code is an enum, so a code with no row does not compile, and none can
// fall through to a default status. X(Name, wire_name, http_status).
#pragma once

#include <optional>
#include <ostream>
#include <string_view>

namespace xdpgate {

// clang-format off
#define XDPGATE_ERROR_CODES(X)                                                 \
  /* The request itself */                                                     \
  X(BadRequest,           bad_request,            400)                         \
  X(InvalidJson,          invalid_json,           400)                         \
  X(InvalidField,         invalid_field,          400)                         \
  X(InvalidParameter,     invalid_parameter,      400)                         \
  X(Forbidden,            forbidden,              403)                         \
  X(NotFound,             not_found,              404)                         \
  X(NoRoute,              no_route,               404)                         \
  X(MethodNotAllowed,     method_not_allowed,     405)                         \
  X(BodyTooLarge,         body_too_large,         413)                         \
  X(UriTooLong,           uri_too_long,           414)                         \
  X(UnsupportedMediaType, unsupported_media_type, 415)                         \
  X(InvalidIpRange,       invalid_ip_range,       422)                         \
  X(InvalidIpAddress,     invalid_ip_address,     422)                         \
  X(InvalidDescription,   invalid_description,    422)                         \
  X(InvalidCsv,           invalid_csv,            422)                         \
  X(InvalidValue,         invalid_value,          422)                         \
  /* The list's rules */                                                       \
  X(LastEnabledEntry,     last_enabled_entry,     409)                         \
  X(EmptyList,            empty_list,             409)                         \
  X(NotPending,           not_pending,            409)                         \
  X(CapacityExceeded,     capacity_exceeded,      409)                         \
  X(RangeExists,          range_exists,           409)                         \
  /* The store */                                                              \
  X(StoreConflict,        store_conflict,         409)                         \
  X(StoreBusy,            store_busy,             503)                         \
  X(StoreWriteFailed,     store_write_failed,     503)                         \
  X(StoreCorrupt,         store_corrupt,          500)                         \
  X(StoreTooNew,          store_too_new,          500)                         \
  X(StoreFailed,          store_failed,           500)                         \
  /* A shared store (etcd, SPEC §7) */                                         \
  X(StoreUnavailable,     store_unavailable,      503)                         \
  X(StoreCompacted,       store_compacted,        503)                         \
  /* The kernel and the host: an API call meets them only as a failure */      \
  X(KernelUpdateFailed,   kernel_update_failed,   500)                         \
  X(KernelReadFailed,     kernel_read_failed,     500)                         \
  X(BpfLoadFailed,        bpf_load_failed,        500)                         \
  X(AttachFailed,         attach_failed,          500)                         \
  X(InterfaceNotFound,    interface_not_found,    500)                         \
  X(LinkWatchFailed,      link_watch_failed,      500)                         \
  X(ApiSocketFailed,      api_socket_failed,      500)                         \
  X(InvalidConfig,        invalid_config,         500)                         \
  X(PinDirUnusable,       pin_dir_unusable,       500)                         \
  X(PinDirOwned,          pin_dir_owned,          500)                         \
  X(PinDirBusy,           pin_dir_busy,           500)                         \
  X(StateDirUnusable,     state_dir_unusable,     500)                         \
  X(WrongNamespace,       wrong_namespace,        500)                         \
  X(NotPinned,            not_pinned,             500)                         \
  X(UninstallFailed,      uninstall_failed,       500)                         \
  X(Io,                   io,                     500)                         \
  X(Internal,             internal,               500)
// clang-format on

#define XDPGATE_ERROR_ENUMERATOR(name, wire, status) name,
enum class ErrorCode { XDPGATE_ERROR_CODES(XDPGATE_ERROR_ENUMERATOR) };
#undef XDPGATE_ERROR_ENUMERATOR

constexpr std::string_view wire_name(ErrorCode code) {
#define XDPGATE_ERROR_WIRE(name, wire, status)                                 \
  case ErrorCode::name:                                                        \
    return #wire;
  switch (code) { XDPGATE_ERROR_CODES(XDPGATE_ERROR_WIRE) }
#undef XDPGATE_ERROR_WIRE
  return "internal";
}

constexpr int http_status(ErrorCode code) {
#define XDPGATE_ERROR_STATUS(name, wire, status)                               \
  case ErrorCode::name:                                                        \
    return status;
  switch (code) { XDPGATE_ERROR_CODES(XDPGATE_ERROR_STATUS) }
#undef XDPGATE_ERROR_STATUS
  return 500;
}

// For test output and logs: the wire name.
inline std::ostream &operator<<(std::ostream &out, ErrorCode code) {
  return out << wire_name(code);
}

} // namespace xdpgate
