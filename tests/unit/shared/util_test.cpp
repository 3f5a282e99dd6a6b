#include "shared/util/backoff.h"
#include "shared/util/log.h"
#include "shared/util/text.h"
#include "shared/wire/topics.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>

using namespace hale;
using namespace std::chrono_literals;

TEST_CASE("backoff: doubles to the cap with jitter in [base/2, base]") {
  double r = 0.0;
  Backoff b(100ms, 1000ms, [&] { return r; });
  CHECK(b.next() == 50ms);  // base 100, lowest jitter
  r = 0.999999;
  CHECK(b.next() == 199ms);  // base 200, highest jitter
  r = 0.0;
  CHECK(b.next() == 200ms);  // base 400
  CHECK(b.next() == 400ms);  // base 800
  CHECK(b.next() == 500ms);  // base capped at 1000
  CHECK(b.next() == 500ms);
  b.reset();
  CHECK(b.next() == 50ms);
}

TEST_CASE("topics: build and parse") {
  CHECK(wire::telemetryTopic("eu", "n1") == "hale/v1/eu/n1/telemetry");
  auto t = wire::parseNodeTopic("hale/v1/eu-west/node.1/status");
  REQUIRE(t.has_value());
  CHECK(t->region == "eu-west");
  CHECK(t->node == "node.1");
  CHECK(t->kind == "status");
  CHECK_FALSE(wire::parseNodeTopic("hale/v1/eu/n1").has_value());
  CHECK_FALSE(wire::parseNodeTopic("hale/v1/eu/n1/telemetry/x").has_value());
  CHECK_FALSE(wire::parseNodeTopic("hale/v2/eu/n1/telemetry").has_value());
  CHECK_FALSE(wire::parseNodeTopic("hale/v1/+/n1/telemetry").has_value());
  CHECK_FALSE(wire::isValidId(""));
  CHECK_FALSE(wire::isValidId(".hidden"));
  CHECK_FALSE(wire::isValidId(std::string(65, 'a')));
  CHECK(wire::isValidId(std::string(64, 'a')));
}

TEST_CASE("text: UTF-8 validation and repair") {
  CHECK(isValidUtf8("plain"));
  CHECK(isValidUtf8("h\xC3\xA9llo"));
  CHECK_FALSE(isValidUtf8("\xC3"));
  CHECK_FALSE(isValidUtf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  CHECK(sanitizeUtf8("a\xFF"
                     "b") ==
        "a\xEF\xBF\xBD"
        "b");
}

TEST_CASE("log: the rate limiter lets one line per key per period and counts the rest") {
  log::RateLimiter limiter(std::chrono::seconds(60));
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  CHECK(limiter.allow("a", t0) == 0);
  CHECK(limiter.allow("a", t0 + 1s) == -1);
  CHECK(limiter.allow("a", t0 + 2s) == -1);
  CHECK(limiter.allow("b", t0 + 2s) == 0);
  CHECK(limiter.allow("a", t0 + 61s) == 2);
}

namespace {
/// What `fn` writes to stderr (the log's destination).
template <class F>
std::string stderrOf(F&& fn) {
  std::fflush(stderr);
  FILE* capture = std::tmpfile();
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(capture), STDERR_FILENO);
  fn();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(capture);
  for (int c; (c = std::fgetc(capture)) != EOF;) out += static_cast<char>(c);
  std::fclose(capture);
  return out;
}
}  // namespace

TEST_CASE("log: an error repeated on every run is written once, then once per period with how many were held back") {
  log::RateLimiter limiter(std::chrono::minutes(5));
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  const log::Fields full{{"error", "database or disk is full"}};
  std::vector<bool> written;
  const std::string out = stderrOf([&] {
    for (int run = 0; run < 4; ++run)
      written.push_back(log::limited(limiter, t0 + run * 10s, log::Level::Error, "agent", "cannot track issue", full));
    // A different error is news: written at once.
    written.push_back(log::limited(limiter, t0 + 50s, log::Level::Error, "agent", "cannot track issue",
                                   {{"error", "disk I/O error"}}));
    written.push_back(log::limited(limiter, t0 + 6min, log::Level::Error, "agent", "cannot track issue", full));
  });
  CHECK(written == std::vector<bool>{true, false, false, false, true, true});
  CHECK(out.find("repeated=3") != std::string::npos);
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  CHECK(lines == 3);
}

#include "shared/util/pacer.h"
#include "tests/fakes/fake_clock.h"

TEST_CASE("pacer: grants a burst, then the rate, never more") {
  test::FakeClock clock;
  Pacer pacer(100.0, 50.0, clock);
  CHECK(pacer.take(80) == 50);  // the burst
  CHECK(pacer.take(10) == 0);
  CHECK(pacer.untilNext() == std::chrono::milliseconds(11));
  clock.advance(std::chrono::milliseconds(100));  // 10 tokens
  CHECK(pacer.take(80) == 10);
  size_t total = 0;
  for (int i = 0; i < 600; ++i) {  // 60 s of steady demand
    clock.advance(std::chrono::milliseconds(100));
    total += pacer.take(1000);
  }
  CHECK(total == 6000);  // exactly the rate over a long run
  clock.advance(std::chrono::hours(1));
  CHECK(pacer.take(1000) == 50);  // idle time never buys more than the burst
}
