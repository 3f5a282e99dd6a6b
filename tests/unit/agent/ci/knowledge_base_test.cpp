// Knowledge base: loading, overriding by id, errors that name file and line,
// export/import round trip, and the shipped pattern files.
#include <doctest/doctest.h>

#include <cstdlib>

#include "agent/ci/exec_command.h"
#include "build_test_support.h"
#include "shared/config/config.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;
using hale::config::ConfigError;

namespace {
constexpr std::string_view kValid = R"([[pattern]]
id = "disk"
category = "resource-disk"
priority = 90
patterns = ['No space left', 'ENOSPC']
explanation = "Disk full."
remedy = "free-disk"
)";

std::string errorOf(std::string_view text, const std::string& name = "user.toml") {
  try {
    KnowledgeBase kb;
    kb.loadText(text, name);
    kb.compile();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("knowledge_base: loads entries and matches with one set") {
  KnowledgeBase kb;
  kb.loadText(kValid, "a.toml");
  kb.compile();
  REQUIRE(kb.entries().size() == 1);
  CHECK(kb.entries()[0].category == Category::ResourceDisk);
  CHECK(kb.entries()[0].remedy == Remedy::FreeDisk);
  CHECK(kb.entries()[0].source_line == 1);
  std::vector<int> hits;
  kb.matchLine("write: ENOSPC", &hits);
  CHECK(hits == std::vector<int>{1});
  kb.matchLine("all fine", &hits);
  CHECK(hits.empty());
  CHECK(kb.findFirst("a\nb\nNo space left\n", 0) == 4);
  CHECK(kb.findFirst("a\nb\n", 0) == std::string_view::npos);
}

TEST_CASE("knowledge_base: a later entry with the same id overrides") {
  KnowledgeBase kb;
  kb.loadText(kValid, "base.toml");
  kb.loadText(R"([[pattern]]
id = "disk"
category = "infrastructure"
patterns = ['disk gone']
explanation = "Overridden."
)",
              "user.toml");
  kb.compile();
  REQUIRE(kb.entries().size() == 1);
  CHECK(kb.entries()[0].category == Category::Infrastructure);
  CHECK(kb.entries()[0].priority == 50);
  CHECK(kb.entries()[0].source_file == "user.toml");
}

TEST_CASE("knowledge_base: errors name file, line and the problem") {
  SUBCASE("invalid RE2 pattern points at the pattern's line") {
    const std::string e = errorOf(
        "[[pattern]]\nid = \"x\"\ncategory = \"network\"\nexplanation = \"e\"\npatterns = [\n  'ok',\n  'bad(('\n]\n");
    CHECK(e.find("user.toml:7:") == 0);
    CHECK(e.find("invalid RE2 pattern 'bad(('") != std::string::npos);
  }
  SUBCASE("a pattern that matches every line") {
    const std::string e =
        errorOf("[[pattern]]\nid = \"x\"\ncategory = \"network\"\nexplanation = \"e\"\npatterns = ['(oops)?']\n");
    CHECK(e.find("user.toml:5:") == 0);
    CHECK(e.find("matches an empty line") != std::string::npos);
  }
  SUBCASE("unknown key") {
    const std::string e = errorOf(std::string(kValid) + "colour = \"red\"\n");
    CHECK(e.find("user.toml:8:") == 0);
    CHECK(e.find("colour") != std::string::npos);
  }
  SUBCASE("wrong type") {
    const std::string e =
        errorOf("[[pattern]]\nid = \"x\"\ncategory = \"network\"\nexplanation = \"e\"\npatterns = 'one'\n");
    CHECK(e.find("user.toml:5:") == 0);
    CHECK(e.find("array of strings") != std::string::npos);
  }
  SUBCASE("unknown category and remedy") {
    CHECK(errorOf("[[pattern]]\nid = \"x\"\ncategory = \"cosmic-rays\"\nexplanation = \"e\"\npatterns = ['a']\n")
              .find("user.toml:3:") == 0);
    CHECK(errorOf(std::string(kValid).replace(std::string(kValid).find("free-disk"), 9, "reboot"))
              .find("unknown remedy \"reboot\"") != std::string::npos);
  }
  SUBCASE("missing required key and priority out of range") {
    CHECK(errorOf("[[pattern]]\nid = \"x\"\ncategory = \"network\"\npatterns = ['a']\n").find("explanation") !=
          std::string::npos);
    CHECK(errorOf(std::string(kValid).replace(std::string(kValid).find("90"), 2, "900")).find("1..100") !=
          std::string::npos);
  }
  SUBCASE("a missing path") {
    CHECK_THROWS_WITH_AS(loadKnowledgeBase({"/nonexistent/patterns"}),
                         "/nonexistent/patterns: pattern file or directory not found", ConfigError);
  }
}

TEST_CASE("knowledge_base: the shipped patterns load and cover every category") {
  const KnowledgeBase& kb = shippedKb();
  bool seen[kCategoryCount] = {};
  for (const auto& e : kb.entries()) seen[static_cast<int>(e.category)] = true;
  for (int c = 0; c < kCategoryCount; ++c) CHECK_MESSAGE(seen[c], categoryName(static_cast<Category>(c)));
  CHECK(kb.patterns().size() > 100);
}

TEST_CASE("knowledge_base: export and import round trip") {
  TempDir dir;
  exportKnowledgeBaseFile(shippedKb(), dir.file("all.toml"));
  importKnowledgeBaseFile(dir.file("all.toml"), dir.file("copy.toml"));
  const KnowledgeBase copy = loadKnowledgeBase({dir.file("copy.toml")});
  REQUIRE(copy.entries().size() == shippedKb().entries().size());
  for (size_t i = 0; i < copy.entries().size(); ++i) {
    CHECK(copy.entries()[i].id == shippedKb().entries()[i].id);
    CHECK(copy.entries()[i].patterns == shippedKb().entries()[i].patterns);
    CHECK(copy.entries()[i].secondary == shippedKb().entries()[i].secondary);
    CHECK(copy.entries()[i].cache == shippedKb().entries()[i].cache);
    CHECK(copy.entries()[i].suppress == shippedKb().entries()[i].suppress);
  }
  writeFile(dir.file("broken.toml"), "[[pattern]]\nid = 1\n");
  CHECK_THROWS_AS(importKnowledgeBaseFile(dir.file("broken.toml"), dir.file("out.toml")), ConfigError);
  CHECK_FALSE(std::filesystem::exists(dir.file("out.toml")));
}

TEST_CASE("knowledge_base: defaultPatternDirs honours HALE_PATTERNS_DIR") {
  ::setenv("HALE_PATTERNS_DIR", "/opt/custom/patterns", 1);
  CHECK(defaultPatternDirs("/src/config/patterns") == std::vector<std::string>{"/opt/custom/patterns"});
  ::unsetenv("HALE_PATTERNS_DIR");
  if (!std::filesystem::exists("/etc/hale/patterns"))
    CHECK(defaultPatternDirs("/src/config/patterns") == std::vector<std::string>{"/src/config/patterns"});
}

TEST_CASE("knowledge_base: a background compile matches like a plain one, exec still refuses bad patterns first") {
  KnowledgeBase kb;
  kb.load(sourcePath("config/patterns"));
  kb.compileInBackground();
  CHECK(kb.entries().size() == shippedKb().entries().size());
  const std::string log = readAll(fixture("network_npm.log"));
  Classifier c(kb);
  c.feed(log);
  const Diagnosis d = c.diagnose();
  const Diagnosis plain = diagnoseText(log);
  CHECK(d.category == plain.category);
  CHECK(d.entry_id == plain.entry_id);
  CHECK(d.evidence.size() == plain.evidence.size());
  KnowledgeBase moved = std::move(kb);  // after the build finished: safe to move
  CHECK(moved.compiled());

  // exec still refuses an invalid knowledge base before the step runs.
  TempDir dir;
  writeFile(dir.file("bad.toml"),
            "[[pattern]]\nid = \"x\"\ncategory = \"network\"\npatterns = ['bad((']\nexplanation = \"e\"\n");
  CHECK(runExecCommand({"--patterns", dir.file("bad.toml"), "--", "/bin/sh", "-c", "touch " + dir.file("ran")},
                       nullptr) == 2);
  CHECK_FALSE(std::filesystem::exists(dir.file("ran")));
}
