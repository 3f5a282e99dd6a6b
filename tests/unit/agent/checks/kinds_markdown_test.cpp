#include "agent/checks/kinds_markdown.h"
#include "agent/platform/file_read.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

using namespace hale::agent::checks;

namespace {
constexpr std::string_view kBegin =
    "<!-- BEGIN GENERATED: kinds (HALE_WRITE_DOCS=1 hale_unit_tests -tc='kinds_markdown*') -->\n";
constexpr std::string_view kEnd = "<!-- END GENERATED: kinds -->\n";
const std::string kDocs = std::string(HALE_SOURCE_DIR) + "/docs/checks.md";
}  // namespace

TEST_CASE("kinds_markdown: renders every key of a kind") {
  const auto* kind = findKind("certificate");
  REQUIRE(kind);
  const auto md = kindMarkdown(*kind);
  CHECK(md.find("### `certificate`") == 0);
  CHECK(md.find("Default component: security.") != std::string::npos);
  CHECK(md.find("| `warn_days` | number | `30` |") != std::string::npos);
  CHECK(md.find("| `file` | string |  |") != std::string::npos);
  CHECK(commonFieldsMarkdown().find("| `name` | string | *required* |") != std::string::npos);
}

// docs/checks.md holds the generated reference between two markers; this test
// fails when a FieldSpec table changed and the docs were not regenerated.
TEST_CASE("kinds_markdown: docs/checks.md is up to date") {
  auto text = hale::agent::platform::readFileCapped(kDocs);
  REQUIRE_MESSAGE(text, "cannot read " << kDocs);
  const auto begin = text->find(kBegin);
  const auto end = text->find(kEnd);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string expected = allKindsMarkdown();
  const std::string current = text->substr(begin + kBegin.size(), end - begin - kBegin.size());
  if (current != expected && std::getenv("HALE_WRITE_DOCS")) {
    std::ofstream(kDocs) << text->substr(0, begin + kBegin.size()) << expected << text->substr(end);
    MESSAGE("rewrote " << kDocs);
    return;
  }
  CHECK_MESSAGE(current == expected,
                "docs/checks.md is stale: run HALE_WRITE_DOCS=1 ./build/tests/hale_unit_tests -tc='kinds_markdown*'");
}
