// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/pin_owner.hpp"

#include <bpf/bpf.h>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace xdpgate {

namespace {

constexpr const char *kOwnerPin = "owner";

// The value of the array pinned at <pin_dir>/owner. A later xdpgated (an
// upgrade on the same pins) reads it, so its layout is fixed; a map of
// another size is not taken for one.
struct OwnerRecord {
  std::uint64_t state_dev;
  std::uint64_t state_ino;
  char state_dir[4096]; // as its daemon named it, for messages; NUL-ended
};
static_assert(sizeof(OwnerRecord) == 4112);

struct StateDirId {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  bool operator==(const StateDirId &) const = default;
};

Result<StateDirId> identify(const std::string &state_dir) {
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0)
    return system_error(ErrorCode::StateDirUnusable,
                        "reading the state directory " + state_dir + " failed");
  return StateDirId{st.st_dev, st.st_ino};
}

std::string describe(const std::string &path, StateDirId id) {
  return path + " (device " + std::to_string(major(id.dev)) + ":" +
         std::to_string(minor(id.dev)) + ", inode " + std::to_string(id.ino) +
         ")";
}

StateDirId owner_id(const OwnerRecord &record) {
  return {record.state_dev, record.state_ino};
}

std::string describe(const OwnerRecord &record) {
  return describe(record.state_dir, owner_id(record));
}

std::string pin_dir_flag(const std::filesystem::path &pin_dir) {
  return "--bpf-pin-dir " + pin_dir.string();
}

// The directory's flock: held by a running daemon, and by --uninstall while
// it removes. `busy` says what to do when another process holds it.
Result<Fd> lock(const std::filesystem::path &pin_dir, const std::string &busy) {
  Fd fd(::open(pin_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    return system_error(ErrorCode::PinDirUnusable,
                        "opening " + pin_dir_flag(pin_dir) + " failed");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
    return errno == EWOULDBLOCK
               ? Error{ErrorCode::PinDirBusy, busy, "", EWOULDBLOCK}
               : system_error(ErrorCode::PinDirUnusable,
                              "locking " + pin_dir_flag(pin_dir) + " failed");
  return fd;
}

Error unusable(const std::filesystem::path &pin, const std::string &why) {
  return Error{ErrorCode::PinDirUnusable,
               pin.string() + " is not an xdpgate owner record (" + why +
                   "); nothing was changed. If no xdpgated uses " +
                   pin.parent_path().string() +
                   ", remove that directory; else give this xdpgated a "
                   "--bpf-pin-dir of its own"};
}

// The owner record, or nullopt when none is pinned.
Result<std::optional<OwnerRecord>>
read_record(const std::filesystem::path &pin_dir) {
  const std::filesystem::path pin = pin_dir / kOwnerPin;
  Fd fd(bpf_obj_get(pin.c_str()));
  if (!fd.valid()) {
    if (errno == ENOENT)
      return std::optional<OwnerRecord>{};
    return unusable(pin,
                    std::string("opening it failed: ") + std::strerror(errno));
  }
  bpf_map_info info{};
  __u32 length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0 ||
      info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
      info.value_size != sizeof(OwnerRecord) || info.max_entries != 1)
    return unusable(pin, "another kind of object");
  OwnerRecord record{};
  const __u32 zero = 0;
  if (bpf_map_lookup_elem(fd.get(), &zero, &record) != 0)
    return unusable(pin,
                    std::string("reading it failed: ") + std::strerror(errno));
  record.state_dir[sizeof(record.state_dir) - 1] = '\0';
  return std::optional<OwnerRecord>{record};
}

Status write_record(const std::filesystem::path &pin_dir,
                    const std::string &state_dir, StateDirId id) {
  OwnerRecord record{};
  record.state_dev = id.dev;
  record.state_ino = id.ino;
  state_dir.copy(record.state_dir, sizeof(record.state_dir) - 1);
  const std::filesystem::path pin = pin_dir / kOwnerPin;
  auto failed = [&](const std::string &what) {
    return system_error(ErrorCode::PinDirUnusable,
                        what + " " + pin.string() +
                            " failed (xdpgated needs root or CAP_BPF)");
  };
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_RDONLY_PROG);
  Fd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdpgate_owner", sizeof(__u32),
                        sizeof(record), 1, &opts));
  if (!map.valid())
    return failed("creating the owner record");
  const __u32 zero = 0;
  // Frozen once written: an owner is never rewritten, only removed with the
  // pins. Pinned last, so no reader ever sees it half-written.
  if (bpf_map_update_elem(map.get(), &zero, &record, BPF_ANY) != 0 ||
      bpf_map_freeze(map.get()) != 0)
    return failed("writing the owner record");
  if (bpf_obj_pin(map.get(), pin.c_str()) != 0)
    return failed("pinning the owner record at");
  return {};
}

bool has_pins(const std::filesystem::path &pin_dir) {
  std::error_code ec;
  return !std::filesystem::is_empty(pin_dir, ec) && !ec;
}

} // namespace

Result<PinOwner> PinOwner::claim(const std::filesystem::path &pin_dir,
                                 const std::filesystem::path &state_dir) {
  const std::string state_path = std::filesystem::absolute(state_dir).string();
  const Result<StateDirId> ours = identify(state_path);
  if (!ours)
    return ours.error();
  std::error_code ec;
  std::filesystem::create_directories(pin_dir, ec);
  if (ec)
    return Error{ErrorCode::PinDirUnusable,
                 "creating " + pin_dir_flag(pin_dir) + " failed: " +
                     ec.message() + " (is bpffs mounted at /sys/fs/bpf?)",
                 "", ec.value()};
  auto held =
      lock(pin_dir, "another xdpgated is running on " + pin_dir_flag(pin_dir) +
                        "; stop it first, or give this one a pin "
                        "directory (--bpf-pin-dir) and a state "
                        "directory (--state-dir) of its own");
  // Another owner is named even while it runs: that says more than "busy".
  auto record = read_record(pin_dir);
  if (!record)
    return record.error();
  if (*record && owner_id(**record) != *ours)
    return Error{ErrorCode::PinDirOwned,
                 pin_dir_flag(pin_dir) +
                     " belongs to another xdpgated, the one whose state "
                     "directory is " +
                     describe(**record) + "; this one's is " +
                     describe(state_path, *ours) +
                     ". Nothing was loaded or pinned, and that daemon's list "
                     "and programs are untouched. Give this xdpgated a pin "
                     "directory of its own (one per network namespace or "
                     "container), e.g. --bpf-pin-dir " +
                     pin_dir.string() + "-NAME"};
  if (!held)
    return held.error();
  if (*record)
    return PinOwner(std::move(held.value()), false);
  const bool adopted = has_pins(pin_dir);
  if (Status s = write_record(pin_dir, state_path, *ours); !s)
    return s.error();
  return PinOwner(std::move(held.value()), adopted);
}

Result<PinOwner> PinOwner::for_removal(const std::filesystem::path &pin_dir,
                                       const std::filesystem::path &state_dir) {
  const std::string state_path = std::filesystem::absolute(state_dir).string();
  const Result<StateDirId> ours = identify(state_path);
  auto held = lock(pin_dir, "xdpgated is running on " + pin_dir_flag(pin_dir) +
                                "; nothing was removed. Stop it first "
                                "(systemctl stop xdpgated); to stop "
                                "protecting one interface, remove it from "
                                "`interfaces` and reload instead");
  auto record = read_record(pin_dir);
  if (!record)
    return record.error();
  // No record: an older xdpgated's pins, which any state directory removes.
  if (*record && !(ours && owner_id(**record) == *ours))
    return Error{ErrorCode::PinDirOwned,
                 pin_dir_flag(pin_dir) +
                     " belongs to the xdpgated whose state directory is " +
                     describe(**record) + ", not to this one's, --state-dir " +
                     (ours ? describe(state_path, *ours)
                           : state_path + " (" +
                                 std::strerror(ours.error().sys_errno) + ")") +
                     "; nothing was removed. Run xdpgated --uninstall with "
                     "that daemon's --state-dir (or its --config), in its "
                     "network namespace"};
  if (!held)
    return held.error();
  return PinOwner(std::move(held.value()), false);
}

} // namespace xdpgate
