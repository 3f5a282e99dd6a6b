// Fuzz target: HTTP requests as the API router sees them (method, target, body).
#include "aggregator/api/api.h"
#include "aggregator/storage/store.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hale::aggregator::storage::Store store(":memory:");
  static hale::aggregator::ingest::Counters counters;
  static hale::aggregator::api::Api api(store, counters, [] { return true; });
  // Layout: method line, target line, body (split at the first two newlines).
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t a = input.find('\n');
  const size_t b = a == std::string::npos ? std::string::npos : input.find('\n', a + 1);
  hale::aggregator::api::Request request;
  request.method = input.substr(0, a);
  request.target = a == std::string::npos ? "/" : input.substr(a + 1, b == std::string::npos ? b : b - a - 1);
  request.body = b == std::string::npos ? "" : input.substr(b + 1);
  const auto response = api.handle(request);
  if (response.status < 200 || response.status > 599) std::abort();
  return 0;
}
