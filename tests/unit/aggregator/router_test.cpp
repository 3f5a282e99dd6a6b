// The API's route table: templates with {name} parameters, 404 for unknown
// paths, 405 with Allow for a known path and another method, HEAD served by
// GET, percent-decoding per segment, trailing slashes; and the table itself:
// every resource's routes are reachable, none shadows another.
#include "aggregator/api/api.h"
#include "aggregator/api/routes.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace hale;
using namespace hale::aggregator;
using namespace hale::aggregator::api;
using nlohmann::json;

namespace {
Response echo(ApiContext&, const Call& call) {
  return jsonResponse(200, json{{"id", call.path["id"]}, {"name", call.path["name"]}, {"method", call.request.method}});
}
Response post(ApiContext&, const Call&) { return jsonResponse(202, json{{"posted", true}}); }

constexpr Route kTestRoutes[] = {
    {kGet, "/things", echo},       {kGet, "/things/{id}", echo},     {kPost, "/things/{id}/poke", post, Access::Write},
    {kGet | kPost, "/both", echo}, {kGet, "/a/{id}/b/{name}", echo},
};

std::vector<std::string> segments(const std::string& target) {
  auto q = parseTarget(target);
  REQUIRE(q.has_value());
  return q->segments;
}

Router testRouter() {
  Router r;
  r.add(kTestRoutes);
  return r;
}
}  // namespace

TEST_CASE("router: a template's {name} matches one segment and hands it over decoded") {
  const Router r = testRouter();
  auto m = r.match("GET", segments("/things/n1"));
  REQUIRE(m.route);
  CHECK(m.route->path == "/things/{id}");
  CHECK(m.params["id"] == "n1");
  CHECK(m.params["nope"].empty());

  m = r.match("GET", segments("/a/x%20y/b/a%2Fb"));
  REQUIRE(m.route);
  CHECK(m.params["id"] == "x y");
  CHECK(m.params["name"] == "a/b");  // an encoded slash stays inside its segment

  // A raw slash is a segment boundary: {id} never spans two.
  CHECK_FALSE(r.match("GET", segments("/things/a/b")).allowed);
  CHECK_FALSE(r.match("GET", segments("/things//poke")).allowed);  // {id} is never empty
  CHECK_FALSE(r.match("GET", segments("/thingsx")).allowed);
  CHECK_FALSE(r.match("GET", segments("/")).allowed);
}

TEST_CASE("router: 405 lists the allowed methods, HEAD is GET and a trailing slash is ignored") {
  const Router r = testRouter();
  auto m = r.match("POST", segments("/things"));
  CHECK(m.route == nullptr);
  CHECK(m.allowed == kGet);
  CHECK(allowHeader(m.allowed) == "GET, HEAD");
  m = r.match("GET", segments("/things/n1/poke"));
  CHECK(m.route == nullptr);
  CHECK(allowHeader(m.allowed) == "POST");
  CHECK(allowHeader(r.match("DELETE", segments("/both")).allowed) == "GET, HEAD, POST");
  CHECK(r.match("HEAD", segments("/things/n1")).route->path == "/things/{id}");
  CHECK(r.match("POST", segments("/both")).route);

  CHECK(r.match("GET", segments("/things/")).route->path == "/things");
  m = r.match("GET", segments("/things/n1/"));
  REQUIRE(m.route);
  CHECK(m.params["id"] == "n1");
  CHECK_FALSE(r.match("GET", segments("/things//")).allowed);  // one trailing slash only
}

TEST_CASE("router: the API answers 404, 405 with Allow, HEAD and a bad target as JSON") {
  test::FakeClock clock;
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  ingest::Counters counters;
  ApiOptions options;
  options.clock = &clock;
  Api api(
      store, counters, [] { return true; }, options);

  const auto missing = api.handle({"GET", "/api/v1/nope", ""});
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body)["error"] == "no such resource: /api/v1/nope");

  const auto wrong = api.handle({"DELETE", "/api/v1/nodes", ""});
  CHECK(wrong.status == 405);
  REQUIRE(wrong.headers.size() == 1);
  CHECK(wrong.headers[0] == std::pair<std::string, std::string>{"Allow", "GET, HEAD"});
  CHECK(json::parse(wrong.body)["error"] == "use GET");
  const auto get_on_write = api.handle({"GET", "/api/v1/nodes/n1/remediate", ""});
  CHECK(get_on_write.status == 405);
  CHECK(get_on_write.headers.at(0).second == "POST");

  const auto head = api.handle({"HEAD", "/api/v1/nodes", ""});
  CHECK(head.status == 200);
  CHECK(json::parse(head.body)["total"] == 0);  // the server drops the body of a HEAD

  CHECK(api.handle({"GET", "/api/v1/nodes/", ""}).status == 200);
  CHECK(api.handle({"GET", "/api/v1/nodes/a%2Fb", ""}).status == 400);  // one segment, not an id
  CHECK(api.handle({"GET", "/api/v1/nodes/ghost/", ""}).status == 404);
  CHECK(api.handle({"GET", "/api/v1/nodes/%zz", ""}).status == 400);
}

TEST_CASE("router: with a read token, unknown paths and wrong methods answer 401 to strangers") {
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  ingest::Counters counters;
  ApiOptions options;
  options.read_token = "read-token-0123456789";
  Api api(
      store, counters, [] { return true; }, options);
  CHECK(api.handle({"GET", "/api/v1/nope", ""}).status == 401);
  CHECK(api.handle({"DELETE", "/api/v1/nodes", ""}).status == 401);
  CHECK(api.handle({"GET", "/api/v1/nope", "", "Bearer read-token-0123456789"}).status == 404);
  CHECK(api.handle({"DELETE", "/api/v1/nodes", "", "Bearer read-token-0123456789"}).status == 405);
  CHECK(api.handle({"POST", "/health", ""}).status == 405);  // a public path needs no token
}

TEST_CASE("router: every template of the table is unique, absolute and reachable") {
  Router router;
  std::set<std::pair<std::string_view, Methods>> seen;
  size_t routes = 0;
  for (const auto& table : resourceRoutes()) {
    router.add(table);
    for (const auto& r : table) {
      INFO(r.path);
      CHECK(r.path.starts_with("/"));
      CHECK(static_cast<bool>(r.handler));
      CHECK(seen.insert({r.path, r.methods}).second);
      ++routes;
    }
  }
  CHECK(routes >= 20);
  for (const auto& table : resourceRoutes())
    for (const auto& r : table) {
      // Fill each {name} with "x": the route itself must be what matches (nothing shadows it).
      std::string path(r.path);
      for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{'))
        path.replace(open, path.find('}', open) - open + 1, "x");
      const auto m = router.match(r.methods & kGet ? "GET" : "POST", segments(path));
      INFO(r.path);
      CHECK(m.route == &r);
    }
}
