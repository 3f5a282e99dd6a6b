#include "aggregator/api/router.h"

namespace hale::aggregator::api {
namespace {
std::vector<std::string_view> splitTemplate(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);  // templates start with '/'
  for (;;) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

bool isParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

Methods methodBit(std::string_view method) {
  if (method == "GET" || method == "HEAD") return kGet;
  if (method == "POST") return kPost;
  return 0;
}
}  // namespace

const std::string& PathParams::operator[](std::string_view name) const {
  static const std::string kNone;
  for (const auto& [key, value] : values_)
    if (key == name) return value;
  return kNone;
}

void Router::add(std::span<const Route> routes) {
  for (const auto& r : routes) entries_.push_back({&r, splitTemplate(r.path)});
}

bool Router::matches(const Entry& e, const std::vector<std::string>& segments, size_t count, PathParams* params) {
  if (e.segments.size() != count) return false;
  for (size_t i = 0; i < count; ++i) {
    const std::string_view want = e.segments[i];
    if (isParameter(want)) {
      if (segments[i].empty()) return false;
      if (params) params->add(want.substr(1, want.size() - 2), segments[i]);
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

Router::Match Router::match(std::string_view method, const std::vector<std::string>& segments) const {
  // "/a/b/" is "/a/b"; "/" itself stays one empty segment.
  const size_t count = segments.size() > 1 && segments.back().empty() ? segments.size() - 1 : segments.size();
  const Methods wanted = methodBit(method);
  Match m;
  for (const auto& e : entries_) {
    if (!matches(e, segments, count, nullptr)) continue;
    m.allowed |= e.route->methods;
    m.public_path = m.public_path || e.route->access == Access::Public;
    if (m.route || !(e.route->methods & wanted)) continue;
    m.route = e.route;
    matches(e, segments, count, &m.params);
  }
  return m;
}

std::string allowHeader(Methods methods) {
  std::string out;
  auto add = [&](const char* name) { out += out.empty() ? name : std::string(", ") + name; };
  if (methods & kGet) {
    add("GET");
    add("HEAD");
  }
  if (methods & kPost) add("POST");
  return out;
}

}  // namespace hale::aggregator::api
