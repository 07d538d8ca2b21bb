// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The fleet's audit log in etcd (etcd_store.hpp, docs/FLEET.md): each
// change's records under audit-body/<token>/, named by one index key under
// audit/ that the change's own transaction writes, so a record is listed
// exactly when its change happened. Records are numbered by the
// list/audit-last counter, which every writer moves in the same transaction.
// Kept: audit_changes_kept() (etcd_layout.hpp); each host's SQLite keeps
// the records of the changes made through it besides.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "store/etcd_store.hpp"

namespace xdpgate {
namespace {

// A writer trims the log after this many of its own changes, or after a
// change whose records are larger than kTrimAfterBytes.
constexpr std::size_t kTrimEvery = 32;
constexpr std::uint64_t kTrimAfterBytes = 1 << 20;

} // namespace

EtcdStore::AuditWrite
EtcdStore::plan_audit(const std::vector<AuditRecord> &records,
                      std::int64_t last) const {
  AuditWrite write;
  if (records.empty()) {
    write.last = last;
    return write;
  }
  write.index = {last + 1, static_cast<std::int64_t>(records.size()),
                 options_.host_name, new_token(), 0};
  write.last = last + static_cast<std::int64_t>(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string value = audit_record_value(records[i]);
    write.index.bytes += value.size();
    // Parts of kChunkBytes, each well under etcd's request limit.
    for (std::size_t at = 0, part = 0; at < value.size() || part == 0;
         at += kChunkBytes, ++part)
      write.parts.push_back(
          etcd::Put{layout_.audit_part(write.index.body, i, part),
                    value.substr(at, kChunkBytes)});
  }
  return write;
}

Status EtcdStore::write_audit_first(const AuditWrite &write) {
  std::size_t next = 0;
  return put_all(
      [&]() -> std::optional<etcd::Put> {
        if (next == write.parts.size())
          return std::nullopt;
        return write.parts[next++];
      },
      write.parts.size());
}

void EtcdStore::delete_unlisted_audit(const AuditIndex &index) {
  // Only while no index names the records: the commit whose answer was
  // lost may have listed them after all. The index's key is absent (the
  // change was not made), or holds another writer's (it won the race).
  const std::string key = layout_.audit_index(index.first);
  const std::string body = layout_.audit_body(index.body);
  for (const etcd::Compare &unlisted :
       {etcd::Compare{key, etcd::Compare::Target::Create,
                      etcd::Compare::Result::Equal, 0},
        etcd::Compare{key, etcd::Compare::Target::Value,
                      etcd::Compare::Result::NotEqual, 0,
                      audit_index_value(index)}}) {
    Result<etcd::TxnResult> deleted = client_->txn(
        {{unlisted}, {etcd::DeleteRange{body, etcd::prefix_end(body)}}});
    if (!deleted) {
      spdlog::warn("audit records under {} stay in etcd: {}", body,
                   deleted.error().message);
      return;
    }
    if (deleted->succeeded)
      return;
  }
}

Result<std::vector<AuditIndex>> EtcdStore::read_audit_indexes() const {
  std::vector<AuditIndex> indexes;
  const std::string prefix = layout_.audit();
  Status read = each_key(prefix, 0, kAuditChanges * 2, [&](etcd::KeyValue &kv) {
    Result<AuditIndex> index = parse_audit_index(kv.value);
    if (!index)
      ignore(kv.key, index.error().message);
    else if (kv.key != layout_.audit_index(index->first))
      ignore(kv.key, "an audit index under another's key");
    else
      indexes.push_back(std::move(*index));
  });
  if (!read)
    return read.error();
  std::reverse(indexes.begin(), indexes.end()); // newest first
  return indexes;
}

void EtcdStore::trim_audit(std::uint64_t written_bytes) {
  if (++changes_since_trim_ < kTrimEvery && written_bytes <= kTrimAfterBytes)
    return;
  changes_since_trim_ = 0;
  Result<std::vector<AuditIndex>> indexes = read_audit_indexes();
  if (!indexes) {
    spdlog::warn("could not trim the audit log in etcd: {}",
                 indexes.error().message);
    return;
  }
  const std::size_t kept = audit_changes_kept(*indexes);
  for (const AuditIndex &index : std::span(*indexes).subspan(kept)) {
    const std::string body = layout_.audit_body(index.body);
    const std::string key = layout_.audit_index(index.first);
    Result<etcd::TxnResult> deleted =
        client_->txn({{},
                      {etcd::DeleteRange{key},
                       etcd::DeleteRange{body, etcd::prefix_end(body)}}});
    if (!deleted) {
      spdlog::warn("could not trim the audit log in etcd: {}",
                   deleted.error().message);
      return;
    }
  }
}

Result<AuditRecord> EtcdStore::read_audit_record(const AuditIndex &index,
                                                 std::size_t record) const {
  std::string value;
  Status read = each_key(layout_.audit_record(index.body, record), 0, 4,
                         [&](etcd::KeyValue &kv) { value += kv.value; });
  if (!read)
    return read.error();
  Result<AuditRecord> parsed = parse_audit_record(value);
  if (!parsed)
    return parsed.error();
  parsed->sequence = index.first + static_cast<std::int64_t>(record);
  parsed->host = index.host;
  return parsed;
}

Result<AuditPage> EtcdStore::audit(std::int64_t offset,
                                   std::int64_t limit) const {
  if (Status bounds = check_audit_page(offset, limit); !bounds)
    return bounds.error();
  Result<std::vector<AuditIndex>> indexes = read_audit_indexes();
  if (!indexes)
    return indexes.error();
  AuditPage page;
  for (const AuditIndex &index : *indexes)
    page.total += index.records;
  std::int64_t skip = offset;
  for (const AuditIndex &index : *indexes) {
    if (static_cast<std::int64_t>(page.records.size()) >= limit)
      break;
    if (skip >= index.records) {
      skip -= index.records;
      continue;
    }
    // Newest first: a change's last record first.
    for (std::int64_t i = index.records - 1 - skip;
         i >= 0 && static_cast<std::int64_t>(page.records.size()) < limit;
         --i) {
      Result<AuditRecord> record =
          read_audit_record(index, static_cast<std::size_t>(i));
      if (record)
        page.records.push_back(std::move(*record));
      else if (record.error().code == ErrorCode::StoreCorrupt)
        ignore(layout_.audit_record(index.body, static_cast<std::size_t>(i)),
               record.error().message);
      else
        return record.error();
    }
    skip = 0;
  }
  return page;
}

} // namespace xdpgate
