#pragma once
// The HTTP API as plain functions of (method, target) -> response, so routing
// and rendering are unit-tested and fuzzed without a socket; http_server.cpp
// only moves bytes between RESTinio and this.
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace hale::aggregator::api {

struct Request {
  std::string method;
  std::string target;  ///< path and query, as received
  std::string body;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

struct Query {
  std::string path;
  std::map<std::string, std::string> params;
};

/// Splits and percent-decodes a request target; nullopt for a malformed one.
std::optional<Query> parseTarget(std::string_view target);

class Api {
 public:
  using ReadyFn = std::function<bool()>;
  Api(storage::Store& store, const ingest::Counters& counters, ReadyFn ready);

  Response handle(const Request& request);

 private:
  Response nodes(const Query& q);
  Response node(const std::string& id);
  Response issues(const Query& q);
  Response metrics();

  storage::Store& store_;
  const ingest::Counters& counters_;
  ReadyFn ready_;
};

Response errorResponse(int status, std::string_view message);

}  // namespace hale::aggregator::api
