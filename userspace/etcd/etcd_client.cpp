// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "etcd/etcd_client.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <deque>
#include <mutex>

#include "etcd/etcd_json.hpp"

namespace xdpgate::etcd {
namespace {

std::size_t append_to_string(char *data, std::size_t size, std::size_t count,
                             void *out) {
  static_cast<std::string *>(out)->append(data, size * count);
  return size * count;
}

bool is_tls(const std::string &endpoint) {
  return endpoint.rfind("https://", 0) == 0;
}

// What an operator checks when an endpoint cannot be reached.
std::string unreachable(const Options &options, const std::string &endpoint,
                        CURLcode code, const char *detail) {
  std::string message = endpoint + ": " + (*detail ? detail : "") +
                        (*detail ? " (" : "(") + curl_easy_strerror(code) + ")";
  if (is_tls(endpoint) &&
      (code == CURLE_RECV_ERROR || code == CURLE_SSL_CONNECT_ERROR ||
       code == CURLE_SEND_ERROR))
    message += options.cert.empty()
                   ? "; etcd may require a client certificate: set [etcd] "
                     "cert and key"
                   : "; check that etcd trusts the CA of [etcd] cert";
  if (code == CURLE_PEER_FAILED_VERIFICATION ||
      code == CURLE_SSL_CACERT_BADFILE)
    message += "; check [etcd] cacert: it must be the CA that signed etcd's "
               "certificate, for the address in the endpoint";
  return message;
}

} // namespace

struct Client::Connection {
  explicit Connection(const Options &options) : handle(curl_easy_init()) {
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPINTVL, 1L);
    if (!options.cacert.empty())
      curl_easy_setopt(handle, CURLOPT_CAINFO, options.cacert.c_str());
    if (!options.cert.empty())
      curl_easy_setopt(handle, CURLOPT_SSLCERT, options.cert.c_str());
    if (!options.key.empty())
      curl_easy_setopt(handle, CURLOPT_SSLKEY, options.key.c_str());
    headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  }
  ~Connection() {
    curl_easy_cleanup(handle);
    curl_slist_free_all(headers);
  }
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  // Points the handle at `url` with `body`; the caller performs it.
  void prepare(const std::string &url, const std::string &request) {
    body = request; // libcurl reads the body while it sends
    error[0] = '\0';
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body.size()));
  }
  long status() const {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  CURL *handle;
  curl_slist *headers = nullptr;
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
};

Result<std::unique_ptr<Client>> Client::open(Options options) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options.endpoints.empty())
    return Error{ErrorCode::InvalidConfig,
                 "[etcd] endpoints is empty: list at least one, such as "
                 "\"https://198.18.0.1:2379\"",
                 "etcd.endpoints"};
  for (std::string &endpoint : options.endpoints) {
    if (endpoint.rfind("http://", 0) != 0 && !is_tls(endpoint))
      return Error{ErrorCode::InvalidConfig,
                   "[etcd] endpoints: \"" + endpoint +
                       "\" must start with http:// or https://",
                   "etcd.endpoints"};
    while (endpoint.size() > 1 && endpoint.back() == '/')
      endpoint.pop_back();
  }
  for (auto [file, name] : {std::pair{&options.cacert, "cacert"},
                            {&options.cert, "cert"},
                            {&options.key, "key"}})
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0)
      return system_error(ErrorCode::InvalidConfig,
                          std::string("[etcd] ") + name + ": cannot read " +
                              *file);
  if (options.cert.empty() != options.key.empty())
    return Error{ErrorCode::InvalidConfig,
                 "[etcd] cert and key go together: set both or neither",
                 options.cert.empty() ? "etcd.cert" : "etcd.key"};
  return std::unique_ptr<Client>(new Client(std::move(options)));
}

Client::Client(Options options)
    : options_(std::move(options)),
      connection_(std::make_unique<Connection>(options_)) {
  curl_easy_setopt(connection_->handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(options_.request_timeout.count()));
}

Client::~Client() = default;

std::string Client::endpoint() const {
  return options_.endpoints[current_ % options_.endpoints.size()];
}

Result<Client::Answer> Client::post(const char *path, const std::string &body) {
  std::lock_guard lock(mutex_);
  const std::size_t count = options_.endpoints.size();
  std::string failures;
  for (std::size_t tried = 0; tried < count; ++tried) {
    const std::size_t index = (current_ + tried) % count;
    const std::string &endpoint = options_.endpoints[index];
    Answer answer;
    connection_->prepare(endpoint + path, body);
    curl_easy_setopt(connection_->handle, CURLOPT_WRITEFUNCTION,
                     append_to_string);
    curl_easy_setopt(connection_->handle, CURLOPT_WRITEDATA, &answer.body);
    const CURLcode code = curl_easy_perform(connection_->handle);
    if (code == CURLE_OK) {
      current_ = index;
      answer.status = static_cast<int>(connection_->status());
      return answer;
    }
    failures += (failures.empty() ? "" : "; ") +
                unreachable(options_, endpoint, code, connection_->error);
  }
  return Error{ErrorCode::StoreUnavailable,
               "etcd cannot be reached at any endpoint: " + failures};
}

Result<RangeResult> Client::range(const Range &range) {
  Result<Answer> answer = post("/v3/kv/range", range_request(range));
  if (!answer)
    return answer.error();
  return parse_range(answer->status, answer->body);
}

Result<TxnResult> Client::txn(const Txn &txn) {
  Result<Answer> answer = post("/v3/kv/txn", txn_request(txn));
  if (!answer)
    return answer.error();
  return parse_txn(answer->status, answer->body);
}

Result<std::int64_t> Client::lease_grant(std::chrono::seconds ttl) {
  Result<Answer> answer =
      post("/v3/lease/grant", lease_grant_request(ttl.count()));
  if (!answer)
    return answer.error();
  Result<LeaseGrant> grant = parse_lease_grant(answer->status, answer->body);
  if (!grant)
    return grant.error();
  return grant->id;
}

Result<std::int64_t> Client::lease_keep_alive(std::int64_t lease) {
  Result<Answer> answer = post("/v3/lease/keepalive", lease_id_request(lease));
  if (!answer)
    return answer.error();
  return parse_lease_keep_alive(answer->status, answer->body);
}

Status Client::lease_revoke(std::int64_t lease) {
  Result<Answer> answer = post("/v3/lease/revoke", lease_id_request(lease));
  if (!answer)
    return answer.error();
  Result<std::int64_t> revoked =
      parse_header_revision(answer->status, answer->body);
  return revoked ? Status() : Status(revoked.error());
}

Status Client::compact(std::int64_t revision) {
  Result<Answer> answer =
      post("/v3/kv/compaction", compaction_request(revision));
  if (!answer)
    return answer.error();
  Result<std::int64_t> compacted =
      parse_header_revision(answer->status, answer->body);
  return compacted ? Status() : Status(compacted.error());
}

// A watch's connection, driven through a multi handle so that stop() can
// wake a wait at once (curl_multi_wakeup).
struct Client::Watch::Stream {
  Stream(const Options &options, const std::string &endpoint,
         const std::string &request)
      : options(options), connection(options), endpoint(endpoint),
        multi(curl_multi_init()) {
    connection.prepare(endpoint + "/v3/watch", request);
    curl_easy_setopt(connection.handle, CURLOPT_WRITEFUNCTION, received);
    curl_easy_setopt(connection.handle, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(multi, connection.handle);
  }
  ~Stream() {
    curl_multi_remove_handle(multi, connection.handle);
    curl_multi_cleanup(multi);
  }
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  static std::size_t received(char *data, std::size_t size, std::size_t count,
                              void *self) {
    auto *stream = static_cast<Stream *>(self);
    stream->framing.feed({data, size * count}, [&](std::string_view line) {
      Result<WatchMessage> message = parse_watch_line(line);
      if (stream->ended)
        return;
      if (!message)
        stream->ended = message.error();
      else if (message->canceled)
        stream->ended = canceled(*message);
      else
        stream->ready.push_back(std::move(*message));
    });
    return size * count;
  }

  Result<std::optional<WatchMessage>> next(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      if (!ready.empty()) {
        WatchMessage message = std::move(ready.front());
        ready.pop_front();
        return std::optional<WatchMessage>(std::move(message));
      }
      if (ended)
        return *ended;
      if (stopped)
        return Error{ErrorCode::StoreUnavailable, "the watch was stopped"};
      int running = 0;
      curl_multi_perform(multi, &running);
      if (!running && ready.empty() && !ended)
        ended = finished();
      if (!ready.empty() || ended)
        continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::optional<WatchMessage>();
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(left.count()),
                      nullptr);
    }
  }

  // etcd ended the watch: its start revision is compacted (the watcher
  // lists again), or for a reason of etcd's.
  static Error canceled(const WatchMessage &message) {
    if (message.compact_revision)
      return Error{ErrorCode::StoreCompacted,
                   "etcd no longer holds the watch's start revision "
                   "(compacted up to " +
                       std::to_string(message.compact_revision) + ")"};
    return Error{ErrorCode::StoreFailed,
                 "etcd ended the watch: " + (message.cancel_reason.empty()
                                                 ? "no reason given"
                                                 : message.cancel_reason)};
  }

  // Why the transfer ended: etcd closed the stream, or the connection
  // failed.
  Error finished() {
    CURLcode code = CURLE_OK;
    int queued = 0;
    while (CURLMsg *message = curl_multi_info_read(multi, &queued))
      if (message->msg == CURLMSG_DONE)
        code = message->data.result;
    if (code != CURLE_OK)
      return Error{ErrorCode::StoreUnavailable,
                   "the watch on etcd ended: " +
                       unreachable(options, endpoint, code, connection.error)};
    return Error{ErrorCode::StoreUnavailable,
                 "etcd at " + endpoint + " closed the watch stream"};
  }

  Options options;
  Connection connection;
  std::string endpoint;
  CURLM *multi;
  LineFraming framing;
  std::deque<WatchMessage> ready;
  std::optional<Error> ended;
  std::atomic<bool> stopped{false};
};

Client::Watch::Watch(std::unique_ptr<Stream> stream)
    : stream_(std::move(stream)) {}
Client::Watch::~Watch() = default;

Result<std::optional<WatchMessage>>
Client::Watch::next(std::chrono::milliseconds wait) {
  return stream_->next(wait);
}

void Client::Watch::stop() {
  stream_->stopped = true;
  curl_multi_wakeup(stream_->multi);
}

Result<std::unique_ptr<Client::Watch>>
Client::watch(const std::string &key, const std::string &range_end,
              std::int64_t start_revision) {
  const std::string request = watch_request(key, range_end, start_revision);
  const std::size_t count = options_.endpoints.size();
  std::string failures;
  for (std::size_t tried = 0; tried < count; ++tried) {
    const std::size_t index = (current_ + tried) % count;
    const std::string &endpoint = options_.endpoints[index];
    auto stream = std::make_unique<Watch::Stream>(options_, endpoint, request);
    // In place once etcd says so: its first message (an error if it
    // cancels the watch at once).
    Result<std::optional<WatchMessage>> first =
        stream->next(options_.connect_timeout + options_.request_timeout);
    if (!first) {
      if (first.error().code != ErrorCode::StoreUnavailable)
        return first.error(); // etcd answered, and refused
      failures += (failures.empty() ? "" : "; ") + first.error().message;
      continue;
    }
    if (!*first) {
      failures +=
          (failures.empty() ? "" : "; ") + endpoint + ": no answer in time";
      continue;
    }
    if (!(*first)->created) // not etcd's way, but no event is lost
      stream->ready.push_front(std::move(**first));
    current_ = index;
    return std::unique_ptr<Watch>(new Watch(std::move(stream)));
  }
  return Error{ErrorCode::StoreUnavailable,
               "etcd cannot be reached at any endpoint to watch: " + failures};
}

} // namespace xdpgate::etcd
