#include "aggregator/api/api.h"

#include "aggregator/api/auth.h"
#include "aggregator/api/routes.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// Split before decoding: an encoded "%2F" stays inside its segment.
bool splitPath(std::string_view raw, std::vector<std::string>& segments) {
  raw.remove_prefix(1);
  for (;;) {
    const size_t slash = raw.find('/');
    auto segment = percentDecode(raw.substr(0, slash), false);
    if (!segment) return false;
    segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) return true;
    raw.remove_prefix(slash + 1);
  }
}

bool splitQuery(std::string_view rest, std::map<std::string, std::string>& params) {
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    if (!key->empty()) params[*key] = *value;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return true;
}

Response unauthorized(std::string_view message) {
  Response r = errorResponse(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hale\"");
  return r;
}

Response methodNotAllowed(Methods allowed) {
  const std::string allow = allowHeader(allowed);
  Response r = errorResponse(405, allowed == kGet    ? std::string("use GET")
                                  : allowed == kPost ? std::string("use POST")
                                                     : "use one of " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}
}  // namespace

Response jsonResponse(int status, const json& body) {
  return Response{status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

Response errorResponse(int status, std::string_view message) {
  return jsonResponse(status, json{{"error", message}, {"status", status}});
}

std::optional<Query> parseTarget(std::string_view target) {
  if (target.empty() || target[0] != '/' || target.size() > 8192) return std::nullopt;
  Query q;
  const size_t qmark = target.find('?');
  const std::string_view raw_path = target.substr(0, qmark);
  auto path = percentDecode(raw_path, false);
  if (!path || !splitPath(raw_path, q.segments)) return std::nullopt;
  q.path = std::move(*path);
  if (qmark != std::string_view::npos && !splitQuery(target.substr(qmark + 1), q.params)) return std::nullopt;
  return q;
}

Api::Api(storage::Store& store, const ingest::Counters& counters, ReadyFn ready, ApiOptions options)
    : ctx_(store, counters, std::move(ready), std::move(options)) {
  for (const auto& table : resourceRoutes()) router_.add(table);
}

Response Api::handle(const Request& request) {
  const auto q = parseTarget(request.target);
  if (!q) return errorResponse(400, "malformed request target");
  const auto m = router_.match(request.method, q->segments);
  if (!m.route) {
    // With a read token, unknown paths answer only those who may read:
    // a stranger does not learn which paths exist.
    if (!m.public_path)
      if (auto refused = refuseRead(request)) return std::move(*refused);
    if (!m.allowed) return errorResponse(404, fmt::format("no such resource: {}", q->path.substr(0, 200)));
    return methodNotAllowed(m.allowed);
  }
  if (auto refused = refuse(m.route->access, request)) return std::move(*refused);
  try {
    return m.route->handler(ctx_, Call{request, *q, m.params});
  } catch (const std::exception& e) {
    return errorResponse(500, e.what());
  }
}

std::optional<Response> Api::refuse(Access access, const Request& request) {
  switch (access) {
    case Access::Public:
      return std::nullopt;
    case Access::Read:
      return refuseRead(request);
    case Access::Write:
      return refuseWrite(request);
  }
  return std::nullopt;
}

std::optional<Response> Api::refuseRead(const Request& request) const {
  const auto& token = ctx_.options.read_token;
  if (!token || bearerMatches(request.authorization, *token)) return std::nullopt;
  return unauthorized(request.authorization.empty() ? "this resource needs a bearer token" : "invalid bearer token");
}

// The write token authorizes writes on its own: an operator holding it needs no read token too.
std::optional<Response> Api::refuseWrite(const Request& request) {
  const auto& token = ctx_.options.write_token;
  if (!token) return errorResponse(403, "writes are off: set [http] write_token_file or write_token_env");
  if (!bearerMatches(request.authorization, *token))
    return unauthorized(request.authorization.empty() ? "writes need a bearer token" : "invalid bearer token");
  if (ctx_.write_limit.take(1) == 0) {
    Response r = errorResponse(429, "too many writes; retry in a second");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  return std::nullopt;
}

}  // namespace hale::aggregator::api
