#pragma once
// The route table: each route is a method set, a path template and a handler.
// A template's "{name}" segment matches exactly one path segment (never a
// '/'; an encoded %2F stays inside the segment) and hands it, percent-decoded,
// to the handler. A trailing slash is ignored (/api/v1/nodes/ is /api/v1/nodes).
// HEAD is served by the GET handler (the server drops the body).
#include "aggregator/api/http_types.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hale::aggregator::api {

struct ApiContext;

/// Methods a route answers, as a bit set.
using Methods = uint8_t;
inline constexpr Methods kGet = 1;  ///< and HEAD
inline constexpr Methods kPost = 2;

/// Who may call a route.
enum class Access {
  Public,  ///< anyone (health, the page) or a caller the handler authenticates itself (webhook signatures)
  Read,    ///< the read token, when one is configured
  Write,   ///< the write token (writes are off without one), then the write rate limit
};

/// The {name} values of a matched path.
class PathParams {
 public:
  void add(std::string_view name, std::string value) { values_.emplace_back(name, std::move(value)); }
  /// The value of {name}; empty when the template has no such parameter.
  const std::string& operator[](std::string_view name) const;

 private:
  std::vector<std::pair<std::string_view, std::string>> values_;
};

/// What a handler gets besides the context.
struct Call {
  const Request& request;
  const Query& query;
  const PathParams& path;
};

using Handler = Response (*)(ApiContext& ctx, const Call& call);

struct Route {
  Methods methods;
  std::string_view path;  ///< template such as "/api/v1/nodes/{id}/remediate"
  Handler handler;
  Access access = Access::Read;
};

class Router {
 public:
  /// Adds a resource's routes; they must outlive the router (static tables).
  void add(std::span<const Route> routes);

  struct Match {
    const Route* route = nullptr;  ///< null: no route for this method (see allowed)
    PathParams params;
    Methods allowed = 0;       ///< methods the path answers; 0: an unknown path
    bool public_path = false;  ///< some route of the path is Access::Public
  };
  /// The first route, in the order added, whose template and method match.
  Match match(std::string_view method, const std::vector<std::string>& segments) const;

 private:
  struct Entry {
    const Route* route;
    std::vector<std::string_view> segments;  ///< of the template
  };
  static bool matches(const Entry& e, const std::vector<std::string>& segments, size_t count, PathParams* params);

  std::vector<Entry> entries_;
};

/// The Allow header value of a method set, e.g. "GET, HEAD, POST".
std::string allowHeader(Methods methods);

}  // namespace hale::aggregator::api
