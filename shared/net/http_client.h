#pragma once
// A minimal HTTP/1.1 client for probes and webhooks: one request per connection
// (Connection: close), plain or over TlsSession, bounded by a deadline and a
// response size cap. Parsing of the response head is a pure function.
#include "shared/net/net.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hale::net {

struct Url {
  bool https = false;
  std::string host;
  uint16_t port = 0;
  std::string target;  ///< path and query, at least "/"
};

/// "http://host[:port][/path]" or "https://..."; no user info, no fragment.
Result<Url> parseUrl(std::string_view text);

struct ResponseHead {
  int status = 0;
  size_t header_bytes = 0;  ///< up to and including the blank line
  std::optional<size_t> content_length;
  bool chunked = false;
};

/// Parses the status line and headers once "\r\n\r\n" has arrived; nullopt
/// while incomplete; an Error when the bytes are not an HTTP/1.x response.
Result<std::optional<ResponseHead>> parseResponseHead(std::string_view raw);

struct HttpResponse {
  int status = 0;
  std::string body;  ///< possibly truncated at the cap; chunk framing is not removed
  bool truncated = false;
};

/// GETs `url` before `deadline`. `tls` applies to https URLs.
Result<HttpResponse> httpGet(const Url& url, const TlsOptions& tls, Deadline deadline, size_t max_bytes = 256 * 1024);

struct HttpRequest {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  ///< beyond Host, User-Agent, Connection
  std::string body;  ///< sent with Content-Length when the method is not GET/HEAD
};

/// Sends one request to `url` before `deadline` and reads the response.
Result<HttpResponse> httpRequest(const Url& url, const HttpRequest& request, const TlsOptions& tls, Deadline deadline,
                                 size_t max_bytes = 256 * 1024);

}  // namespace hale::net
