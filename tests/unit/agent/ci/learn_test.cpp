// Learning: generalised patterns match their source line and its variants;
// confirmed proposals land in the local knowledge base and load again.
#include <doctest/doctest.h>
#include <re2/re2.h>

#include "agent/ci/learn.h"
#include "build_test_support.h"
#include "shared/config/config.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;

namespace {
bool matches(const std::string& pattern, const std::string& line) {
  RE2 re(pattern);
  REQUIRE(re.ok());
  return RE2::PartialMatch(line, re);
}
}  // namespace

TEST_CASE("learn: generalised line matches itself and variants") {
  const std::string line =
      "ERROR 2024-05-01 artifact store /var/cache/store/ab12 refused upload 0xdeadbeef1 after 3 tries";
  const std::string p = generaliseLine(line);
  CHECK(matches(p, line));
  CHECK(matches(p, "ERROR 2025-11-23 artifact store /srv/other/zz refused upload 0xcafebabe2 after 12 tries"));
  CHECK_FALSE(
      matches(p, "ERROR 2024-05-01 artifact store /var/cache/store/ab12 accepted upload 0xdeadbeef1 after 3 tries"));
  CHECK(p.find("\\d+") != std::string::npos);
  CHECK(p.find("\\S+") != std::string::npos);
}

TEST_CASE("learn: regex metacharacters are escaped") {
  const std::string line = "fatal: (x+y)*[z] ? {a} | b ^ $ .";
  CHECK(matches(generaliseLine(line), line));
  CHECK_FALSE(matches(generaliseLine(line), "fatal: xxy z ? a | b ^ $ ."));
}

TEST_CASE("learn: proposes a pattern from the unexplained failure line") {
  TempDir dir;
  writeFile(dir.file("job.log"),
            "step 1 ok\nwarning: deprecated flag\nquantum flux capacitor failed to align (code 17)\nstep 3 ok\n");
  const auto p = proposePattern(Category::Infrastructure, dir.file("job.log"), shippedKb());
  REQUIRE(p.has_value());
  CHECK(p->source_line == 3);
  CHECK(p->entry.category == Category::Infrastructure);
  CHECK(p->entry.remedy == Remedy::Retry);
  CHECK(matches(p->entry.patterns[0], p->source_text));
  CHECK(matches(p->entry.patterns[0], "quantum flux capacitor failed to align (code 204)"));

  appendToLocalKnowledgeBase(p->entry, dir.file("local.toml"));
  const KnowledgeBase kb = loadKnowledgeBase({sourcePath("config/patterns"), dir.file("local.toml")});
  const Diagnosis d = diagnoseText("quantum flux capacitor failed to align (code 3)\n", kb);
  CHECK(d.category == Category::Infrastructure);
  CHECK(d.entry_id == p->entry.id);
}

TEST_CASE("learn: no proposal when every failure line is already known") {
  TempDir dir;
  writeFile(dir.file("job.log"), "all good\nnpm ERR! code ECONNRESET\n");
  CHECK_FALSE(proposePattern(Category::Network, dir.file("job.log"), shippedKb()).has_value());
  CHECK_THROWS_AS(proposePattern(Category::Network, dir.file("missing.log"), shippedKb()), hale::config::ConfigError);
}
