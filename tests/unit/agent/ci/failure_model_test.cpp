// The learned fallback: tokenizer, model file (round trip, errors with
// file:line:col), predictions and their explanation, deterministic training,
// and the shipped model.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "agent/ci/failure_model.h"
#include "agent/ci/model_trainer.h"
#include "build_test_support.h"
#include "shared/config/config.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;
using hale::config::ConfigError;

namespace {

std::vector<std::string> tokens(std::string_view line) {
  std::vector<std::string> out;
  tokenizeLine(line, out);
  return out;
}

FailureModel smallModel() {
  FailureModel m;
  m.addDocument("network", tokens("npm ERR! network read ECONNRESET registry"));
  m.addDocument("network", tokens("curl: (6) Could not resolve host: registry.example.org"));
  m.addDocument("test", tokens("--- FAIL: TestParse assertion failed expected 3 got 4"));
  m.addDocument("test", tokens("FAILED tests/test_api.py::test_login - assert 401 == 200"));
  m.setTrainingSet(4, std::string(64, 'a'));
  return m;
}

std::string errorOf(std::string_view text) {
  try {
    (void)FailureModel::parse(text, "model.tsv");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("failure_model: tokens are lower-cased words with the variable parts replaced") {
  CHECK(tokens("npm ERR! code ECONNRESET") == std::vector<std::string>{"npm", "err", "code", "econnreset"});
  CHECK(tokens("error TS2345: Argument") == std::vector<std::string>{"error", "ts#", "argument"});
  CHECK(tokens("HTTP 403 after 12345 ms") == std::vector<std::string>{"http", "403", "after", "@num", "ms"});
  CHECK(tokens("see https://example.org/x?y=1 now") == std::vector<std::string>{"see", "@url", "now"});
  CHECK(tokens("at /home/runner/work/app/src/widget.test.ts:12:3") == std::vector<std::string>{"at", "@path", ".ts"});
  CHECK(tokens("commit 4f1c2a9e0b7d done") == std::vector<std::string>{"commit", "@hex", "done"});
  CHECK(tokens("NoMatchingViewException") == std::vector<std::string>{"no", "matching", "view", "exception"});
  CHECK(tokens("").empty());
}

TEST_CASE("failure_model: the file round-trips byte for byte") {
  const FailureModel m = smallModel();
  const std::string text = m.serialize();
  CHECK(text.starts_with("# "));
  CHECK(text.find("hale-failure-model\t1\n") != std::string::npos);
  CHECK(text.find("training_set\t4\tsha256:" + std::string(64, 'a')) != std::string::npos);
  const FailureModel again = FailureModel::parse(text, "model.tsv");
  CHECK(again.serialize() == text);
  CHECK(again.classes() == std::vector<std::string>{"network", "test"});
  CHECK(again.vocabulary() == m.vocabulary());
}

TEST_CASE("failure_model: bad files are errors with file, line and column") {
  CHECK(errorOf("") == "model.tsv:1:1: failure model: expected 'hale-failure-model'");
  CHECK(errorOf("hale-failure-model\t2\n") ==
        "model.tsv:1:20: failure model: format version 2 is not supported (this build reads 1)");
  CHECK(errorOf("hale-failure-model\t1\nclasses\ta\tb\ndocs\t1\tx\n") ==
        "model.tsv:3:8: failure model: expected a non-negative integer, got 'x'");
  CHECK(errorOf("hale-failure-model\t1\nclasses\ta\tb\ndocs\t1\t1\ntoken\tz\t1\t1\ntoken\ty\t1\t1\n") ==
        "model.tsv:5:7: failure model: tokens must be sorted and unique");
  CHECK(errorOf("hale-failure-model\t1\nclasses\ta\tb\ndocs\t1\t1\ntoken\tz\t1\n") ==
        "model.tsv:4:9: failure model: 'token' takes 3 fields, found 2");
  CHECK(errorOf("hale-failure-model\t1\nthreshold\t1.5\n") ==
        "model.tsv:2:11: failure model: expected a number within 0..1, got '1.5'");
  CHECK(errorOf("hale-failure-model\t1\nclasses\ta\ndocs\t1\ndocs\t2\n") ==
        "model.tsv:4:1: failure model: 'docs' given twice");
  CHECK(errorOf("hale-failure-model\t1\nbogus\t1\n") == "model.tsv:2:1: failure model: unknown key 'bogus'");
  CHECK(errorOf("hale-failure-model\t1\ntoken\tx\t1\n") ==
        "model.tsv:2:1: failure model: 'token' before 'classes' and 'docs'");
  CHECK(errorOf("hale-failure-model\t1\nclasses\ta\ndocs\t0\n") ==
        "model.tsv:1:1: failure model: trained on no documents");
}

TEST_CASE("failure_model: predicts the class whose tokens the log shares, and says which tokens") {
  const FailureModel m = smallModel();
  const ModelPrediction p = m.predict(tokens("npm ERR! network read ECONNRESET while fetching"));
  CHECK(p.label == "network");
  CHECK(p.posterior > 0.5);
  CHECK(p.posterior <= 1.0);
  REQUIRE_FALSE(p.weights.empty());
  const auto has = [&](const std::string& t) {
    return std::any_of(p.weights.begin(), p.weights.end(), [&](const auto& w) { return w.first == t; });
  };
  CHECK(has("econnreset"));
  CHECK_FALSE(has("while"));  // unseen in training: no weight
  for (size_t i = 1; i < p.weights.size(); ++i) CHECK(p.weights[i - 1].second >= p.weights[i].second);
  SUBCASE("restricted to some classes") {
    const ModelPrediction t = m.predict(tokens("npm ERR! network read ECONNRESET"), {"test"});
    CHECK(t.label == "test");
    CHECK(t.posterior == doctest::Approx(1.0));
  }
  SUBCASE("nothing known: the prior, far from certain") {
    const ModelPrediction none = m.predict(tokens("lorem ipsum"));
    CHECK(none.posterior == doctest::Approx(0.5));
    CHECK(none.weights.empty());
  }
}

// The synthetic signatures (tests/fixtures/build/signatures.txt) as a small
// labelled corpus in `dir`: one log per line.
std::vector<LabelledLog> signatureCorpus(const TempDir& dir) {
  std::vector<LabelledLog> logs;
  std::istringstream rows(readAll(fixture("signatures.txt")));
  std::string row;
  while (std::getline(rows, row)) {
    const size_t bar = row.find('|');
    if (row.empty() || row[0] == '#' || bar == std::string::npos) continue;
    std::string label = row.substr(0, bar);
    if (label.starts_with("resource-")) label = "resource";
    const std::string path = dir.file(std::to_string(logs.size()) + ".log");
    writeFile(path, row.substr(bar + 1) + "\n");
    logs.push_back({path, label, "https://github.com/acme/p" + std::to_string(logs.size() % 7)});
  }
  return logs;
}

TEST_CASE("failure_model: training twice gives the same bytes, whatever the order of the logs") {
  TempDir dir;
  auto logs = signatureCorpus(dir);
  REQUIRE(logs.size() >= 50);
  const TrainOptions options;
  const std::string first = trainModel(shippedKb(), logs, options).serialize();
  CHECK(trainModel(shippedKb(), logs, options).serialize() == first);
  std::mt19937 rng(7);
  std::shuffle(logs.begin(), logs.end(), rng);
  CHECK(trainModel(shippedKb(), logs, options).serialize() == first);
  const FailureModel model = FailureModel::parse(first, "trained.tsv");
  CHECK(model.trainingLogs() == logs.size());
  CHECK(model.trainingHash().size() == 64);
  CHECK(model.before() == options.before);
  CHECK(model.after() == options.after);
  SUBCASE("another label changes the training-set hash") {
    logs[0].label = logs[0].label == "network" ? "test" : "network";
    CHECK(trainModel(shippedKb(), logs, options).trainingHash() != model.trainingHash());
  }
}

TEST_CASE("failure_model: labels files are read in both forms, with errors that point at the label") {
  TempDir dir;
  writeFile(dir.file("a.log"), "npm ERR! code ECONNRESET\n");
  writeFile(dir.file("labels.tsv"),
            "file\tcategory\tsource_url\na.log\tnetwork\thttps://github.com/acme/app/issues/1\n");
  const auto corpus = readLabels(dir.file("labels.tsv"));
  REQUIRE(corpus.size() == 1);
  CHECK(corpus[0].path == dir.file("a.log"));
  CHECK(corpus[0].label == "network");
  CHECK(corpus[0].source == "https://github.com/acme/app/issues/1");
  writeFile(dir.file("list.tsv"), dir.file("a.log") + "\tbogus\n");
  try {
    (void)readLabels(dir.file("list.tsv"));
    FAIL("an unknown category must be an error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          dir.file("list.tsv") + ":1:" + std::to_string(dir.file("a.log").size() + 2) + ": unknown category 'bogus'");
  }
}

TEST_CASE("failure_model: the shipped model loads with the patterns and matches their window") {
  const FailureModel* model = shippedKb().model();
  REQUIRE(model != nullptr);
  CHECK_FALSE(model->empty());
  CHECK(model->trainingLogs() >= 150);
  CHECK(model->threshold() >= 0.5);
  for (const char* label : {"none", "unknown", "network", "test", "flaky"})
    CHECK(std::find(model->classes().begin(), model->classes().end(), label) != model->classes().end());
}
