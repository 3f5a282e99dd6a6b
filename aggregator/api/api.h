#pragma once
// The HTTP API as a plain function of a request, so routing and rendering are
// unit-tested and fuzzed without a socket; http_server.cpp only moves bytes
// between RESTinio and this. Routes come from one table (routes.cpp lists the
// resources; each resource file holds its lines): method, path template with
// {name} parameters, handler, and who may call it.
#include "aggregator/api/context.h"
#include "aggregator/api/http_types.h"
#include "aggregator/api/router.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hale::aggregator::api {

/// Splits and percent-decodes a request target; nullopt for a malformed one.
std::optional<Query> parseTarget(std::string_view target);

class Api {
 public:
  using ReadyFn = std::function<bool()>;
  Api(storage::Store& store, const ingest::Counters& counters, ReadyFn ready, ApiOptions options = {});

  /// Never throws: a failing handler answers 500.
  Response handle(const Request& request);

 private:
  /// The bearer check of a route (and the rate limit of a write); nullopt: go ahead.
  std::optional<Response> refuse(Access access, const Request& request);
  std::optional<Response> refuseRead(const Request& request) const;
  std::optional<Response> refuseWrite(const Request& request);

  ApiContext ctx_;
  Router router_;
};

}  // namespace hale::aggregator::api
