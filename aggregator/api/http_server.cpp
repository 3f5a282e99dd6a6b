#include "aggregator/api/http_server.h"

#include <restinio/all.hpp>

namespace hale::aggregator::api {
namespace {
// Requests are small GETs and JSON bodies; anything bigger is refused by the parser.
constexpr std::size_t kMaxBodyBytes = 1 << 20;

using Traits = restinio::default_single_thread_traits_t;
using Server = restinio::http_server_t<Traits>;
}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<Server> server;
};

HttpServer::HttpServer(asio::io_context& io, const std::string& address, uint16_t port, Api& api)
    : impl_(std::make_unique<Impl>()) {
  impl_->server = std::make_unique<Server>(restinio::external_io_context(io), [&](auto& settings) {
    settings.address(address)
        .port(port)
        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}.max_body_size(kMaxBodyBytes))
        .read_next_http_message_timelimit(std::chrono::seconds(30))
        .handle_request_timeout(std::chrono::seconds(10))
        .request_handler([&api](restinio::request_handle_t req) {
          Request r{std::string(req->header().method().c_str()), std::string(req->header().request_target()),
                    req->body(), req->header().get_field_or(restinio::http_field::authorization, "")};
          for (std::string_view name : kForwardedHeaders)
            if (req->header().has_field(name)) r.headers.emplace_back(name, req->header().get_field(name));
          Response out = api.handle(r);
          auto response = req->create_response(
              restinio::http_status_line_t{restinio::http_status_code_t{static_cast<std::uint16_t>(out.status)}, ""});
          response.append_header(restinio::http_field::content_type, out.content_type)
              .append_header(restinio::http_field::cache_control, "no-store");
          for (auto& [name, value] : out.headers) response.append_header(name, value);
          return response.set_body(r.method == "HEAD" ? std::string() : std::move(out.body)).done();
        });
  });
  impl_->server->open_sync();
}

HttpServer::~HttpServer() { close(); }

void HttpServer::close() {
  if (impl_->server) {
    impl_->server->close_sync();
    impl_->server.reset();
  }
}

}  // namespace hale::aggregator::api
