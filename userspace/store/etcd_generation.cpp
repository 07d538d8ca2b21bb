// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A generation of the fleet's list in etcd (etcd_layout.hpp): written as
// chunks over several connections, read back whole at one revision with
// its changed entries, deleted once no head names it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "model/clock.hpp"
#include "store/etcd_store.hpp"

namespace xdpgate {
namespace {

using etcd::Compare;
using etcd::DeleteRange;
using etcd::Put;

// Connections that write a generation's chunks (or an audit's records) at
// once.
constexpr std::size_t kWriters = 8;
// Keys read per request: changed entries, and chunks (up to kChunkBytes
// each).
constexpr std::int64_t kPage = 10000;
constexpr std::int64_t kChunkPage = 8;

// Keeps the first entry of each id and of each range: only a value
// written by hand repeats one, and a list holds each once. Returns how
// many it dropped.
std::size_t drop_repeated(std::vector<Entry> &entries) {
  std::unordered_set<std::string_view> ids(entries.size());
  std::unordered_set<IpPrefix> ranges(entries.size());
  std::vector<bool> drop(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry &entry = entries[i];
    const char *why = !ids.insert(entry.id).second         ? "its id"
                      : !ranges.insert(entry.range).second ? "its range"
                                                           : nullptr;
    if (why) {
      spdlog::error("ignoring entry {} ({}) from etcd: another entry has {}",
                    entry.id, entry.range.to_string(), why);
      drop[i] = true;
    }
  }
  std::size_t i = 0;
  return std::erase_if(entries, [&](const Entry &) { return drop[i++]; });
}

// Whether `key` is one of the chunks/<G>/000000 ... N-1 `head` names.
bool names_chunk(const EtcdLayout &layout, const Head &head,
                 std::string_view key) {
  const std::string prefix = layout.chunks(head.generation);
  std::size_t k = 0;
  const char *digits = key.data() + prefix.size();
  const char *end = key.data() + key.size();
  return key.starts_with(prefix) &&
         std::from_chars(digits, end, k).ptr == end && k < head.chunks &&
         key == layout.chunk(head.generation, k);
}

} // namespace

Status
EtcdStore::each_key(const std::string &prefix, std::int64_t revision,
                    std::int64_t page,
                    const std::function<void(etcd::KeyValue &)> &visit) const {
  const std::string end = etcd::prefix_end(prefix);
  std::string from = prefix;
  for (;;) {
    Result<etcd::RangeResult> read =
        client_->range({from, end, revision, page});
    if (!read)
      return read.error();
    for (etcd::KeyValue &kv : read->kvs)
      visit(kv);
    if (!read->more || read->kvs.empty())
      return {};
    from = read->kvs.back().key + '\0';
  }
}

Result<EtcdStore::Generation>
EtcdStore::read_generation(const Head &head, std::int64_t revision,
                           std::int64_t head_revision) {
  const auto start = std::chrono::steady_clock::now();
  const auto after_head = [&](const etcd::KeyValue &kv) {
    if (kv.mod_revision <= head_revision)
      return false;
    ignore(kv.key, "written after the head, so not by xdpgated");
    return true;
  };
  // The entries changed since the chunks were written, or deleted (nullopt).
  std::unordered_map<std::string, std::optional<Entry>> changed;
  const std::string changed_prefix = layout_.changed(head.generation);
  Status read = each_key(changed_prefix, revision, kPage, [&](auto &kv) {
    if (after_head(kv))
      return;
    std::string id = kv.key.substr(changed_prefix.size());
    Result<std::optional<Entry>> value = parse_changed(id, kv.value);
    if (!value)
      ignore(kv.key, value.error().message); // and the id is gone
    changed[std::move(id)] = value ? std::move(*value) : std::nullopt;
  });
  if (!read)
    return read.error();

  Generation generation;
  std::vector<std::uint64_t> chunked;
  std::size_t chunks = 0;
  read = each_key(
      layout_.chunks(head.generation), revision, kChunkPage, [&](auto &kv) {
        if (after_head(kv))
          return;
        if (!names_chunk(layout_, head, kv.key))
          return ignore(kv.key, "the head names " +
                                    std::to_string(head.chunks) +
                                    " chunks, not this one");
        ++chunks;
        Result<Chunk> chunk = parse_chunk(kv.value);
        if (!chunk)
          return ignore(kv.key, chunk.error().message);
        for (const std::string &why : chunk->refused)
          ignore(kv.key, why);
        // One allocation for the whole list, from the first
        // chunk's size (the head's count is a value like any
        // other: bounded).
        if (generation.entries.empty())
          generation.entries.reserve(chunk->entries.size() *
                                     std::min<std::size_t>(head.chunks, 4096));
        for (Entry &entry : chunk->entries) {
          chunked.push_back(ChunkedIds::hash(entry.id));
          auto it = changed.find(entry.id);
          if (it == changed.end())
            generation.entries.push_back(std::move(entry));
          else if (it->second)
            generation.entries.push_back(std::move(*it->second));
          if (it != changed.end())
            changed.erase(it);
        }
      });
  if (!read)
    return read.error();
  if (chunks != head.chunks)
    ignore(layout_.chunks(head.generation),
           "the head names " + std::to_string(head.chunks) +
               " chunks, etcd holds " + std::to_string(chunks));
  for (auto &[id, entry] : changed)
    if (entry)
      generation.entries.push_back(std::move(*entry));
  invalid_values_ += drop_repeated(generation.entries);
  generation.chunked = ChunkedIds(std::move(chunked));
  spdlog::info("read generation {}: {} entries from {} chunks in {:.1f} s",
               head.generation, generation.entries.size(), chunks,
               seconds_since(start));
  // The list's order is creation order (the index sorts by it).
  return generation;
}

Status EtcdStore::put_all(const std::function<std::optional<Put>()> &next,
                          std::size_t writers) {
  // etcd makes a put durable with a write to its log; puts that arrive
  // together share one. So the puts go over several connections at once,
  // each made by the writer that sends it (next() runs under a lock).
  std::mutex mutex; // guards what follows
  std::optional<Error> failed;
  const auto write = [&](etcd::Client &client) {
    for (;;) {
      std::optional<Put> put;
      {
        std::lock_guard lock(mutex);
        if (failed || !(put = next()))
          return;
      }
      Result<etcd::TxnResult> done = client.txn({{}, {std::move(*put)}});
      if (!done) {
        std::lock_guard lock(mutex);
        failed = done.error();
      }
    }
  };
  std::vector<std::unique_ptr<etcd::Client>> clients;
  for (std::size_t w = 1; w < std::min(writers, kWriters); ++w) {
    auto client = etcd::Client::open(options_.etcd);
    if (!client)
      return client.error();
    clients.push_back(std::move(*client));
  }
  std::vector<std::thread> threads;
  for (auto &client : clients)
    threads.emplace_back(write, std::ref(*client));
  write(*client_); // this thread is a writer too
  for (std::thread &thread : threads)
    thread.join();
  return failed ? Status(*failed) : Status();
}

Result<std::size_t>
EtcdStore::write_generation(const std::string &generation,
                            const std::vector<Entry> &entries) {
  const auto start = std::chrono::steady_clock::now();
  std::span<const Entry> rest(entries);
  std::size_t chunks = 0;
  const auto next_chunk = [&]() -> std::optional<Put> {
    if (rest.empty())
      return std::nullopt;
    std::size_t taken = 0;
    std::string value = chunk_value(rest, taken);
    rest = rest.subspan(taken);
    return Put{layout_.chunk(generation, chunks++), std::move(value)};
  };
  // A chunk holds thousands of entries: no more writers than chunks.
  if (Status s = put_all(next_chunk, entries.size() / 4000 + 1); !s)
    return s.error();
  spdlog::info("wrote generation {}: {} entries in {} chunks in {:.1f} s",
               generation, entries.size(), chunks, seconds_since(start));
  return chunks;
}

void EtcdStore::delete_generation(const Head &gone) {
  const Compare unnamed{layout_.head(), Compare::Target::Value,
                        Compare::Result::NotEqual, 0, head_value(gone)};
  const auto failed = [&](const Result<etcd::TxnResult> &deleted) {
    if (deleted && deleted->succeeded)
      return false;
    spdlog::warn("generation {} stays in etcd: {}", gone.generation,
                 deleted ? "the head names it" : deleted.error().message);
    return true;
  };
  const std::string chunks = layout_.chunks(gone.generation);
  if (failed(client_->txn(
          {{unnamed}, {DeleteRange{chunks, etcd::prefix_end(chunks)}}})))
    return;
  // Changed entries a page at a time: each key deleted is a watch event
  // for every host.
  const std::string first = layout_.changed(gone.generation);
  const std::string end = etcd::prefix_end(first);
  for (;;) {
    Result<etcd::RangeResult> page =
        client_->range({first, end, 0, 1000, true});
    if (!page || page->kvs.empty()) {
      if (!page)
        spdlog::warn("generation {} stays in etcd: {}", gone.generation,
                     page.error().message);
      return;
    }
    if (failed(client_->txn(
            {{unnamed}, {DeleteRange{first, page->kvs.back().key + '\0'}}})))
      return;
  }
}

} // namespace xdpgate
