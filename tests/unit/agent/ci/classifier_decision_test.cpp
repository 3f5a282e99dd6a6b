// Who decides a diagnosis: the patterns, or the learned model when no
// pattern names a cause or causes disagree; `unknown` for a failed step the
// model is unsure of; `none` for a log without error text. A hand-made model
// keeps these tests independent of the shipped one's statistics.
#include <doctest/doctest.h>

#include <filesystem>

#include "agent/ci/failure_model.h"
#include "build_test_support.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;

namespace {

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  tokenizeLine(text, out);
  return out;
}

// The shipped patterns with `model` (or none) behind them.
KnowledgeBase kbWith(const FailureModel* model) {
  KnowledgeBase kb;
  for (const auto& entry : std::filesystem::directory_iterator(sourcePath("config/patterns")))
    if (entry.path().extension() == ".toml") kb.load(entry.path().string());
  kb.compile();
  if (model) kb.setModel(*model);
  return kb;
}

// "frobnicator" means network, "gizmo" means compile. As in real logs, the
// runner's step-failure marker closes failures of every kind, so its words
// alone point nowhere.
FailureModel toyModel(double threshold) {
  FailureModel m;
  for (int i = 0; i < 6; ++i)
    m.addDocument("network", tokens("frobnicator lost its uplink\nprocess completed with exit code"));
  for (int i = 0; i < 6; ++i) m.addDocument("compile", tokens("gizmo refused the syntax"));
  m.addDocument("unknown", tokens("process completed with exit code"));
  m.addDocument("none", tokens("all green"));
  m.setWindow(1, 4);
  m.setThreshold(threshold);
  return m;
}

Diagnosis run(const KnowledgeBase& kb, std::string_view log, bool failed = false) {
  Classifier c(kb);
  c.feed(log);
  if (failed) c.markStepFailed();
  return c.diagnose();
}

}  // namespace

TEST_CASE("classifier_decision: a step-failure marker alone is unknown, a log without error text none") {
  const KnowledgeBase kb = kbWith(nullptr);
  const Diagnosis marker = run(kb, "Run ./deploy.sh\nUploading...\n##[error]Process completed with exit code 1.\n");
  CHECK(marker.category == Category::Unknown);
  CHECK(marker.decided_by == DecidedBy::Pattern);
  CHECK(marker.entry_id == "step-failed");
  REQUIRE_FALSE(marker.evidence.empty());
  CHECK(marker.evidence.back().line == 3);
  CHECK(run(kb, "Run ./deploy.sh\nUploading...\nDone.\n").category == Category::None);
  SUBCASE("the caller knows the step failed: unknown, never none") {
    CHECK(run(kb, "Run ./deploy.sh\nUploading...\n", true).category == Category::Unknown);
  }
  SUBCASE("warnings and cache notices do not make a failure") {
    CHECK(run(kb, "WARNING: the frobnicator failed to warm up\nWarning: Failed to save: Unable to reserve cache\n")
              .category == Category::None);
  }
  SUBCASE("GitLab's allowed failure prints the verdict as a warning: still a failed step") {
    CHECK(run(kb, "WARNING: Job failed: exit code 1\n").category == Category::Unknown);
  }
}

TEST_CASE("classifier_decision: the model decides a failed step no pattern explains, and says why") {
  const FailureModel model = toyModel(0.6);
  const KnowledgeBase kb = kbWith(&model);
  const Diagnosis d = run(kb, "setup ok\nthe frobnicator lost its uplink\nProcess completed with exit code 1\n");
  CHECK(d.category == Category::Network);
  CHECK(d.decided_by == DecidedBy::Model);
  CHECK(d.model_label == "network");
  CHECK(d.confidence == doctest::Approx(d.model_posterior));
  CHECK(d.confidence >= 0.6);
  CHECK(d.remedy == Remedy::Retry);  // the category's remedy
  REQUIRE_FALSE(d.model_tokens.empty());
  CHECK(d.model_tokens.front().first == "frobnicator");
  CHECK(d.explanation.find("frobnicator") != std::string::npos);
  REQUIRE_FALSE(d.evidence.empty());
  CHECK(d.evidence.front().line == 2);  // the line holding the tokens that weighed most
}

TEST_CASE("classifier_decision: below the model's threshold a failed step is unknown, not a guess") {
  const FailureModel model = toyModel(0.999);
  const KnowledgeBase kb = kbWith(&model);
  const Diagnosis d = run(kb, "the frobnicator and the gizmo\nProcess completed with exit code 1\n");
  CHECK(d.category == Category::Unknown);
  CHECK(d.decided_by == DecidedBy::Model);
  CHECK_FALSE(d.model_label.empty());
  CHECK(d.model_posterior < 0.999);
}

TEST_CASE("classifier_decision: error lines without a verdict stay none unless the model is sure") {
  const FailureModel sure = toyModel(0.6), unsure = toyModel(0.9999);
  CHECK(run(kbWith(&sure), "error: the gizmo refused the syntax\n").category == Category::Compile);
  CHECK(run(kbWith(&unsure), "error: the gizmo refused the syntax\n").category == Category::None);
  // No error line at all: the model is not asked.
  CHECK(run(kbWith(&sure), "the gizmo is shiny\n").category == Category::None);
}

TEST_CASE("classifier_decision: a clear pattern verdict is not overruled by the model") {
  const FailureModel model = toyModel(0.6);
  const Diagnosis d = run(kbWith(&model), "frobnicator frobnicator\nsrc/a.c:1:2: error: unknown type name 'foo'\n");
  CHECK(d.category == Category::Compile);
  CHECK(d.decided_by == DecidedBy::Pattern);
}

TEST_CASE("classifier_decision: a cause close behind its consequence is the diagnosis") {
  const KnowledgeBase kb = kbWith(nullptr);
  // The resolver reports the reset connection it ran into.
  const Diagnosis d = run(kb,
                          "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project "
                          "com.acme:api:jar:1.0: Connection reset\n");
  CHECK(d.category == Category::Network);
  CHECK(d.secondary == Category::Dependency);
}

TEST_CASE("classifier_decision: a deadline counts as a timeout only inside a failing test") {
  const KnowledgeBase kb = kbWith(nullptr);
  CHECK(run(kb, "--- FAIL: TestSync (10.00s)\n    sync_test.go:41: context deadline exceeded\n").category ==
        Category::Timeout);
  CHECK(run(kb, "Error: pulling manifest: context deadline exceeded\n").category == Category::Network);
}

TEST_CASE("classifier_decision: the window the model reads") {
  const KnowledgeBase kb = kbWith(nullptr);
  Classifier c(kb);
  c.feed("one\ntwo\nthree\nerror: four\nfive\nsix\n");
  c.feed("seven\neight\nnine\n");
  c.finish();
  const auto window = c.modelWindow();
  REQUIRE(window.size() == 6);  // one line before the first error line, four after (the shipped window)
  CHECK(window.front() == std::make_pair(uint64_t{3}, std::string("three")));
  CHECK(window[1] == std::make_pair(uint64_t{4}, std::string("error: four")));
  CHECK(window.back() == std::make_pair(uint64_t{8}, std::string("eight")));
  SUBCASE("no error line: the last lines stand for it") {
    Classifier quiet(kb);
    quiet.feed("a\nb\nc\nd\ne\nf\ng\n");
    quiet.finish();
    const auto tail = quiet.modelWindow();
    REQUIRE(tail.size() == 6);
    CHECK(tail.front().first == 2);
    CHECK(tail.back() == std::make_pair(uint64_t{7}, std::string("g")));
  }
}
