#pragma once
// RESTinio on the aggregator's own io_context. Kept to one translation unit:
// RESTinio is the slowest header in the build.
#include "aggregator/api/api.h"

#include <asio/io_context.hpp>

#include <memory>
#include <string>

namespace hale::aggregator::api {

class HttpServer {
 public:
  /// Binds address:port now (throws if it cannot) and serves `api` on `io`.
  HttpServer(asio::io_context& io, const std::string& address, uint16_t port, Api& api);
  ~HttpServer();
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hale::aggregator::api
