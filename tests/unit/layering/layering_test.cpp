// The structure the code must keep, checked on every test run: agent/ and
// aggregator/ depend on shared/ only (never on each other), shared/ on
// neither, and no two folders include each other, directly or through a
// chain (a cycle between folders is found as a strongly connected component
// of the folder include graph). A folder is the first two path levels
// (agent/checks, aggregator/api, shared/util); files directly under agent/
// or aggregator/ (main.cpp) belong to the top folder. Each folder is a CMake
// library linked to the folders cmake/folders.cmake lists for it, and that
// list must hold every include between folders.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kRoots = {"agent", "aggregator", "shared"};

std::string folderOf(const std::string& relative) {
  const auto first = relative.find('/');
  const auto second = relative.find('/', first + 1);
  if (second == std::string::npos) return relative.substr(0, first);
  return relative.substr(0, second);
}

struct Graph {
  std::map<std::string, std::set<std::string>> edges;              // folder -> folders it includes
  std::map<std::pair<std::string, std::string>, std::string> why;  // an include that makes the edge
};

Graph includeGraph() {
  Graph g;
  const std::regex include(R"re(^\s*#\s*include\s+"((agent|aggregator|shared)/[^"]+)")re");
  for (const auto& root : kRoots) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(HALE_SOURCE_DIR) / root)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
      const std::string file = fs::relative(entry.path(), HALE_SOURCE_DIR).string();
      const std::string from = folderOf(file);
      g.edges[from];
      std::ifstream in(entry.path());
      std::smatch m;
      for (std::string line; std::getline(in, line);) {
        if (!std::regex_search(line, m, include)) continue;
        const std::string to = folderOf(m[1].str());
        if (to == from) continue;
        g.edges[from].insert(to);
        g.why.emplace(std::pair{from, to}, file + " includes " + m[1].str());
      }
    }
  }
  return g;
}

/// Tarjan's strongly connected components with more than one folder.
std::vector<std::vector<std::string>> cycles(const Graph& g) {
  std::map<std::string, int> index, low;
  std::set<std::string> on_stack;
  std::vector<std::string> stack;
  std::vector<std::vector<std::string>> out;
  int next = 0;
  std::function<void(const std::string&)> visit = [&](const std::string& v) {
    index[v] = low[v] = next++;
    stack.push_back(v);
    on_stack.insert(v);
    for (const auto& w : g.edges.at(v)) {
      if (!g.edges.count(w)) continue;
      if (!index.count(w)) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack.count(w)) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] != index[v]) return;
    std::vector<std::string> component;
    std::string w;
    do {
      w = stack.back();
      stack.pop_back();
      on_stack.erase(w);
      component.push_back(w);
    } while (w != v);
    if (component.size() > 1) out.push_back(component);
  };
  for (const auto& [v, _] : g.edges)
    if (!index.count(v)) visit(v);
  return out;
}

std::string topOf(const std::string& folder) { return folder.substr(0, folder.find('/')); }
}  // namespace

TEST_CASE("layering: agent and aggregator depend on shared only, shared on neither") {
  const Graph g = includeGraph();
  REQUIRE(g.edges.size() > 10);
  for (const auto& [from, tos] : g.edges)
    for (const auto& to : tos) {
      const std::string a = topOf(from), b = topOf(to);
      const bool allowed = a == b || b == "shared";
      CHECK_MESSAGE(allowed, g.why.at({from, to}));
    }
}

TEST_CASE("layering: no include cycle between folders") {
  const Graph g = includeGraph();
  for (const auto& component : cycles(g)) {
    std::string report = "folders include each other:";
    for (const auto& from : component)
      for (const auto& to : component)
        if (g.edges.at(from).count(to)) report += "\n  " + g.why.at({from, to});
    CHECK_MESSAGE(false, report);
  }
}

namespace {
/// cmake/folders.cmake: `hale_folder(<folder> <folders it may include>...)`, possibly over several lines.
std::map<std::string, std::set<std::string>> declaredFolders() {
  std::ifstream in(fs::path(HALE_SOURCE_DIR) / "cmake" / "folders.cmake");
  std::string text;
  for (std::string line; std::getline(in, line);) text += line.substr(0, line.find('#')) + ' ';
  std::map<std::string, std::set<std::string>> declared;
  const std::regex call(R"re(hale_folder\(([^)]*)\))re");
  for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
    std::istringstream words((*it)[1].str());
    std::string folder, dep;
    words >> folder;
    auto& deps = declared[folder];
    while (words >> dep) deps.insert(dep);
  }
  return declared;
}
}  // namespace

TEST_CASE("layering: every folder is a library in cmake/folders.cmake that lists each folder it includes") {
  const Graph g = includeGraph();
  const auto declared = declaredFolders();
  REQUIRE(declared.size() > 10);
  for (const auto& [from, tos] : g.edges) {
    if (from == "agent" || from == "aggregator") continue;  // main.cpp: the executables link everything
    CAPTURE(from);
    REQUIRE_MESSAGE(declared.count(from), from, " has no hale_folder() line in cmake/folders.cmake");
    for (const auto& to : tos)
      CHECK_MESSAGE(declared.at(from).count(to), g.why.at({from, to}), ", but cmake/folders.cmake does not list ", to,
                    " for ", from);
  }
}
