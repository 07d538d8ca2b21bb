// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/preview.hpp"

#include "api/request.hpp"
#include "api/responses.hpp"

namespace xdpgate::api {

namespace {

using nlohmann::json;

json to_json(const std::vector<SeenSource> &sources) {
  json out = json::array();
  for (const SeenSource &s : sources)
    out.push_back({{"address", s.address.to_string()},
                   {"packets", s.packets},
                   {"last_seen_at",
                    s.last_seen_at ? json(*s.last_seen_at) : json(nullptr)}});
  return out;
}

json to_json(const Impact &impact) {
  return {{"start_dropping", to_json(impact.start_dropping)},
          {"start_dropping_total", impact.start_dropping_total},
          {"stop_dropping", to_json(impact.stop_dropping)},
          {"stop_dropping_total", impact.stop_dropping_total},
          {"caller_address",
           impact.caller ? json(impact.caller->to_string()) : json(nullptr)},
          {"caller_cut_off", impact.caller_cut_off}};
}

Result<std::optional<IpPrefix>> client_address(const Request &req) {
  std::optional<std::string_view> header =
      req.headers.get(kClientAddressHeader);
  if (!header)
    return std::optional<IpPrefix>();
  Result<IpPrefix> address =
      IpPrefix::parse_address(*header, kClientAddressHeader);
  if (!address)
    return address.error();
  return std::optional<IpPrefix>(address->unmapped());
}

// The text a streamed answer would send: a preview holds the answer in its
// own.
std::string whole_text(const ChunkProducer &stream) {
  class Text : public ChunkSink {
  public:
    bool write(std::string_view piece) override {
      text += piece;
      return true;
    }
    bool open() override { return true; }
    std::string text;
  } sink;
  stream(sink);
  return std::move(sink.text);
}

} // namespace

RouteHandler previewed(const ApiBackend &backend, RouteHandler handler) {
  return [&backend, handler = std::move(handler)](const Call &call,
                                                  Response &res) {
    Result<bool> dry_run = query_flag(call.http, "dry_run");
    if (!dry_run)
      return send_error(res, dry_run.error());
    if (!*dry_run)
      return handler(call, res);
    Result<std::optional<IpPrefix>> caller = client_address(call.http);
    if (!caller)
      return send_error(res, caller.error());
    DryRunInput input;
    if (backend.recently_denied)
      input.denied = backend.recently_denied();
    input.caller = *caller;
    Impact impact = backend.list.dry_run(input, [&] { handler(call, res); });
    // A refusal is the real call's, status and error alike.
    if (res.status < 200 || res.status > 299)
      return;
    json result = json::parse(res.stream ? whole_text(res.stream) : res.body);
    res.stream = nullptr;
    send_json(res, res.status,
              {{"dry_run", true},
               {"result", std::move(result)},
               {"impact", to_json(impact)}});
  };
}

} // namespace xdpgate::api
