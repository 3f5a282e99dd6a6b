#include "shared/net/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hale::net {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Plain socket or TLS session behind one read/write pair.
struct Connection {
  std::optional<Socket> plain;
  std::unique_ptr<TlsSession> tls;

  Result<void> write(std::string_view data, Deadline d) { return tls ? tls->write(data, d) : sendAll(*plain, data, d); }
  Result<size_t> read(char* buf, size_t cap, Deadline d) {
    return tls ? tls->read(buf, cap, d) : recvSome(*plain, buf, cap, d);
  }
};

bool complete(const std::string& raw, const ResponseHead& head) {
  const size_t body = raw.size() - head.header_bytes;
  if (head.content_length) return body >= *head.content_length;
  if (head.chunked) return raw.ends_with("\r\n0\r\n\r\n") || (body == 5 && raw.ends_with("0\r\n\r\n"));
  return false;  // delimited by the close
}

}  // namespace

Result<Url> parseUrl(std::string_view text) {
  Url url;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.https = true;
    rest = text.substr(8);
  } else {
    return makeError(fmt::format("'{}': expected a URL starting with http:// or https://", text));
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target = std::string("/").append(url.target);
  if (url.target.find('#') != std::string::npos) url.target.resize(url.target.find('#'));
  if (authority.find('@') != std::string_view::npos)
    return makeError(fmt::format("'{}': user info is not supported", text));
  for (char c : url.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return makeError(fmt::format("'{}': the path has spaces or control characters", text));
  const bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string_view::npos
                                                   : authority.find(':') != std::string_view::npos;
  if (has_port) {
    auto hp = splitHostPort(authority);
    if (!hp) return makeError(fmt::format("'{}': {}", text, hp.error().message));
    url.host = hp->first;
    url.port = hp->second;
  } else {
    if (authority.starts_with('[') && authority.ends_with(']')) authority = authority.substr(1, authority.size() - 2);
    url.host = std::string(authority);
    url.port = url.https ? 443 : 80;
  }
  if (url.host.empty()) return makeError(fmt::format("'{}': no host", text));
  return url;
}

Result<std::optional<ResponseHead>> parseResponseHead(std::string_view raw) {
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (raw.size() >= 5 && !raw.starts_with("HTTP/")) return makeError("not an HTTP response");
    if (raw.size() > 64 * 1024) return makeError("response headers larger than 64 KiB");
    return std::optional<ResponseHead>{};
  }
  ResponseHead head;
  head.header_bytes = end + 4;
  std::string_view lines = raw.substr(0, end);
  const auto eol = lines.find("\r\n");
  const std::string_view status_line = lines.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
    return makeError(fmt::format("malformed status line '{}'", status_line.substr(0, 80)));
  const auto code = status_line.substr(9, 3);
  const auto [p, ec] = std::from_chars(code.data(), code.data() + 3, head.status);
  if (ec != std::errc{} || p != code.data() + 3 || head.status < 100 || head.status > 999)
    return makeError(fmt::format("malformed status code in '{}'", status_line.substr(0, 80)));
  lines = eol == std::string_view::npos ? std::string_view{} : lines.substr(eol + 2);
  while (!lines.empty()) {
    const auto nl = lines.find("\r\n");
    const std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      size_t len = 0;
      const auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), len);
      if (e != std::errc{} || q != value.data() + value.size()) return makeError("malformed Content-Length");
      head.content_length = len;
    } else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      head.chunked = true;
    }
  }
  if (head.chunked) head.content_length.reset();  // RFC 9112: chunked wins
  return std::optional<ResponseHead>{head};
}

Result<HttpResponse> httpGet(const Url& url, const TlsOptions& tls, Deadline deadline, size_t max_bytes) {
  return httpRequest(url, HttpRequest{}, tls, deadline, max_bytes);
}

Result<HttpResponse> httpRequest(const Url& url, const HttpRequest& req, const TlsOptions& tls, Deadline deadline,
                                 size_t max_bytes) {
  for (const auto& [name, value] : req.headers)
    for (char c : name + value)
      if (c == '\r' || c == '\n') return makeError("header names and values must not contain line breaks");
  Connection conn;
  if (url.https) {
    auto s = TlsSession::connect(url.host, url.port, tls, deadline);
    if (!s) return s.error();
    conn.tls = std::move(s).value();
  } else {
    auto s = connectTcp(url.host, url.port, deadline);
    if (!s) return s.error();
    conn.plain = std::move(s).value();
  }
  const bool default_port = url.port == (url.https ? 443 : 80);
  const std::string host_header = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}{}\r\nUser-Agent: hale\r\nAccept: */*\r\nConnection: close\r\n",
                  req.method, url.target, host_header, default_port ? "" : fmt::format(":{}", url.port));
  for (const auto& [name, value] : req.headers) request += fmt::format("{}: {}\r\n", name, value);
  if (req.method != "GET" && req.method != "HEAD") request += fmt::format("Content-Length: {}\r\n", req.body.size());
  request += "\r\n";
  request += req.body;
  if (auto w = conn.write(request, deadline); !w) return w.error();

  std::string raw;
  std::optional<ResponseHead> head;
  char buf[16 * 1024];
  HttpResponse response;
  for (;;) {
    auto n = conn.read(buf, sizeof buf, deadline);
    if (!n) return makeError(fmt::format("{} after {} bytes", n.error().message, raw.size()), n.error().code);
    if (*n == 0) break;
    raw.append(buf, std::min(*n, max_bytes + 1 - std::min(raw.size(), max_bytes + 1)));
    if (!head) {
      auto parsed = parseResponseHead(raw);
      if (!parsed) return parsed.error();
      head = *parsed;
    }
    if (head && complete(raw, *head)) break;
    if (raw.size() > max_bytes) {
      response.truncated = true;
      break;
    }
  }
  if (!head) {
    auto parsed = parseResponseHead(raw);
    if (!parsed) return parsed.error();
    if (!*parsed)
      return makeError(raw.empty() ? "connection closed before any response" : "connection closed mid-headers");
    head = *parsed;
  }
  if (head->content_length && !response.truncated && raw.size() - head->header_bytes < *head->content_length)
    return makeError("connection closed before the whole body arrived");
  response.status = head->status;
  response.body = raw.substr(std::min(head->header_bytes, raw.size()));
  return response;
}

}  // namespace hale::net
