#pragma once
// Helpers shared by the build-diagnosis tests: the shipped knowledge base,
// fixture paths, temporary directories and stdout capture.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "agent/ci/classifier.h"

namespace hale::agent::ci::testing {

inline std::string sourcePath(const std::string& relative) { return std::string(HALE_SOURCE_DIR) + "/" + relative; }
inline std::string fixture(const std::string& name) { return sourcePath("tests/fixtures/build/" + name); }

/// The shipped config/patterns, loaded once.
inline const KnowledgeBase& shippedKb() {
  static const KnowledgeBase kb = loadKnowledgeBase({sourcePath("config/patterns")});
  return kb;
}

inline Diagnosis diagnoseText(std::string_view text, const KnowledgeBase& kb = shippedKb()) {
  Classifier c(kb);
  c.feed(text);
  return c.diagnose();
}

inline std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void writeFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// A fresh directory removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "hale-build-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Runs `body` with fd 1 redirected to a file; returns what it printed.
inline std::string captureStdout(const std::function<void()>& body) {
  TempDir dir;
  const std::string path = dir.file("stdout");
  std::fflush(stdout);
  const int saved = ::dup(1);
  std::FILE* f = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(f), 1);
  body();
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  std::fclose(f);
  return readAll(path);
}

}  // namespace hale::agent::ci::testing
