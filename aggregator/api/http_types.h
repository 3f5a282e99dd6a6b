#pragma once
// Requests and responses as the API sees them, without RESTinio.
#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hale::aggregator::api {

struct Request {
  std::string method;
  std::string target;  ///< path and query, as received
  std::string body;
  std::string authorization = {};  ///< the Authorization header, if any
  /// The few other headers routes read (webhook signatures and event names), names in lower case.
  std::vector<std::pair<std::string, std::string>> headers = {};

  std::string_view header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
      if (name == lower_name) return value;
    return {};
  }
};

/// Headers http_server.cpp copies into Request::headers.
inline constexpr std::string_view kForwardedHeaders[] = {"x-github-event", "x-hub-signature-256", "x-github-delivery",
                                                         "x-gitlab-event", "x-gitlab-token"};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< extra headers (WWW-Authenticate, Allow)
};

/// A parsed request target.
struct Query {
  std::string path;                           ///< percent-decoded, for messages
  std::vector<std::string> segments;          ///< the path split at '/', then each percent-decoded
  std::map<std::string, std::string> params;  ///< the query string, decoded ('+' is a space)
};

Response errorResponse(int status, std::string_view message);
Response jsonResponse(int status, const nlohmann::json& body);

}  // namespace hale::aggregator::api
