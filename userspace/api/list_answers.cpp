// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/list_answers.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "api/entry_text.hpp"
#include "api/responses.hpp"

namespace xdpgate::api {

namespace {

// Up to this many entries an answer is sent whole, with its length.
constexpr std::size_t kSendWholeUpTo = 1000;
// A streamed answer's pieces: large enough that the per-piece cost
// vanishes, small enough to leave within one write's wait.
constexpr std::size_t kPieceBytes = 64 * 1024;

// Where the pieces of an answer go; false: stop making it (the client has
// gone).
using Put = std::function<bool(std::string_view)>;
// Makes an answer's text, handing it to `put` a piece at a time.
using Maker = std::function<void(const Put &)>;

// Runs `make` once now (small answers) or once the answer streams (large).
void send_made(Response &res, std::size_t entries, std::string type,
               Maker make) {
  res.status = 200;
  if (entries <= kSendWholeUpTo) {
    std::string whole;
    make([&whole](std::string_view piece) {
      whole += piece;
      return true;
    });
    return res.set_content(std::move(whole), std::move(type));
  }
  res.content_type = std::move(type);
  res.stream = [make = std::move(make)](ChunkSink &sink) {
    make([&sink](std::string_view piece) { return sink.write(piece); });
  };
}

// Collects text and hands it on in pieces of about kPieceBytes.
class Pieces {
public:
  explicit Pieces(const Put &put) : put_(put) { text_.reserve(kPieceBytes); }
  // False once the client has gone.
  bool add(std::string_view text) {
    text_ += text;
    return text_.size() < kPieceBytes || flush();
  }
  bool flush() {
    const bool sent = text_.empty() || put_(text_);
    text_.clear();
    return sent;
  }

private:
  const Put &put_;
  std::string text_;
};

} // namespace

void send_entries(Response &res, std::size_t count, EntryAt entry_at,
                  const nlohmann::json &rest) {
  // The members after "items": the object's text, its opening brace made a
  // comma.
  std::string tail = json_text(rest);
  tail.front() = ',';
  send_made(res, count, "application/json",
            [count, entry_at = std::move(entry_at), tail](const Put &put) {
              Pieces out(put);
              if (!out.add(R"({"items":[)"))
                return;
              std::string item;
              for (std::size_t i = 0; i < count; ++i) {
                item.clear();
                if (i > 0)
                  item += ',';
                append_entry_text(item, entry_at(i));
                if (!out.add(item))
                  return;
              }
              if (out.add("]") && out.add(tail))
                out.flush();
            });
}

void send_csv_export(Response &res,
                     std::shared_ptr<const ListSnapshot> snapshot) {
  const std::size_t entries = snapshot->size();
  send_made(res, entries, "text/csv; charset=utf-8",
            [snapshot = std::move(snapshot)](const Put &put) {
              Pieces out(put);
              if (!out.add(csv_export_header()))
                return;
              std::string line;
              for (std::size_t i = 0; i < snapshot->size(); ++i) {
                line.clear();
                append_csv_row(line, snapshot->csv_row(i));
                if (!out.add(line))
                  return;
              }
              out.flush();
            });
}

} // namespace xdpgate::api
