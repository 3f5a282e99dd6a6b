// The file follower against real files in a temporary directory: rotation by
// rename, truncation, copytruncate, restarts, unfinished and over-long lines.
#include "agent/platform/file_follower.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace hale;
using hale::agent::platform::FileFollower;
using hale::agent::platform::LineSplitter;

namespace {

struct Collected {
  std::vector<std::string> lines;
  int truncated = 0;
  LineSplitter::LineFn fn() {
    return [this](std::string_view line, bool cut) {
      lines.emplace_back(line);
      truncated += cut ? 1 : 0;
    };
  }
};

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

std::vector<std::string> poll(FileFollower& f, size_t max_bytes = 1 << 20) {
  Collected c;
  auto stats = f.poll(max_bytes, c.fn());
  REQUIRE(stats);
  return c.lines;
}

using Lines = std::vector<std::string>;

/// An empty log file in a temporary directory, and followers of it.
struct LogFile {
  test::TempDir dir;
  std::string path = dir.file("app.log");
  LogFile() { test::writeFile(path, ""); }

  /// A follower that has opened the file at its end, like an agent's first run.
  std::unique_ptr<FileFollower> follower(size_t max_line = 1024) {
    auto f = std::make_unique<FileFollower>(path, max_line, false);
    CHECK(poll(*f).empty());
    return f;
  }
  /// A follower restored at `at`, as after an agent restart.
  std::unique_ptr<FileFollower> restarted(const agent::platform::FollowPosition& at, size_t max_line = 1024) {
    auto f = std::make_unique<FileFollower>(path, max_line, false);
    f->restore(at);
    return f;
  }
};

}  // namespace

TEST_CASE("file_follower: starts at the end like tail -F -n0, or at the start when asked") {
  test::TempDir dir;
  const auto path = dir.file("app.log");
  test::writeFile(path, "old 1\nold 2\n");
  FileFollower tail(path, 1024, false);
  CHECK(poll(tail).empty());
  append(path, "new 1\n");
  CHECK(poll(tail) == Lines{"new 1"});
  FileFollower whole(path, 1024, true);
  CHECK(poll(whole) == Lines{"old 1", "old 2", "new 1"});
}

TEST_CASE("file_follower: rotation by rename drains the old file, then reads the new one from its start") {
  LogFile log;
  auto f = log.follower();
  append(log.path, "a\nb\nunfinished");
  REQUIRE(std::rename(log.path.c_str(), log.dir.file("app.log.1").c_str()) == 0);
  append(log.dir.file("app.log.1"), " tail\n");  // the writer still had the old file open
  SUBCASE("new file already there") {
    test::writeFile(log.path, "c\n");
    CHECK(poll(*f) == Lines{"a", "b", "unfinished tail", "c"});
  }
  SUBCASE("new file created after a poll") {
    CHECK(poll(*f) == Lines{"a", "b", "unfinished tail"});
    test::writeFile(log.path, "c\nd\n");
    CHECK(poll(*f) == Lines{"c", "d"});
  }
  CHECK(poll(*f).empty());  // never read twice
}

TEST_CASE("file_follower: a file cut short (truncate, copytruncate) is read again from 0") {
  LogFile log;
  auto f = log.follower();
  append(log.path, "one\ntwo\nthree\n");
  CHECK(poll(*f).size() == 3);
  SUBCASE("truncation by > file, then new lines") {
    test::writeFile(log.path, "");
    append(log.path, "four\n");
    CHECK(poll(*f) == Lines{"four"});
  }
  SUBCASE("copytruncate: copied away, truncated in place, the writer goes on") {
    test::writeFile(log.dir.file("app.log.1"), test::readFile(log.path));
    test::writeFile(log.path, "");
    CHECK(poll(*f).empty());
    append(log.path, "after copy\n");
    CHECK(poll(*f) == Lines{"after copy"});
  }
  CHECK(poll(*f).empty());
}

TEST_CASE("file_follower: a restart resumes at the kept position: nothing read twice, nothing lost") {
  LogFile log;
  std::optional<agent::platform::FollowPosition> kept;
  {
    auto first = log.follower();
    append(log.path, "seen 1\nseen 2\nhalf");
    CHECK(poll(*first) == Lines{"seen 1", "seen 2"});
    kept = first->position();
  }
  REQUIRE(kept);
  CHECK(kept->offset == 14);  // before the unfinished "half"
  append(log.path, " done\nwhile down\n");
  auto second = log.restarted(*kept);
  CHECK(poll(*second) == Lines{"half done", "while down"});
  CHECK(poll(*second).empty());
  const auto at = second->position();
  REQUIRE(at);

  SUBCASE("rotated while down: the new file is read whole") {
    REQUIRE(std::rename(log.path.c_str(), log.dir.file("app.log.1").c_str()) == 0);
    test::writeFile(log.path, "fresh\n");
    CHECK(poll(*log.restarted(*at)) == Lines{"fresh"});
  }
  SUBCASE("truncated while down: read from 0") {
    test::writeFile(log.path, "short\n");
    CHECK(poll(*log.restarted(*at)) == Lines{"short"});
  }
}

TEST_CASE("file_follower: an unfinished last line is handed out once it is completed") {
  LogFile log;
  auto f = log.follower();
  append(log.path, "par");
  CHECK(poll(*f).empty());
  append(log.path, "tial\r\nnext");
  CHECK(poll(*f) == Lines{"partial"});  // CRLF loses its CR
  append(log.path, "\n");
  CHECK(poll(*f) == Lines{"next"});
}

TEST_CASE("file_follower: a 10 MB line without newline costs max_line_bytes, is cut once and skipped") {
  LogFile log;
  auto f = log.follower(4096);
  append(log.path, std::string(10 << 20, 'x'));
  Collected c;
  size_t reads = 0;
  uint64_t left = 1;
  while (left > 0 && reads < 100) {  // 1 MiB per poll: the backlog is carried over
    auto stats = f->poll(1 << 20, c.fn());
    REQUIRE(stats);
    left = stats->backlog;
    ++reads;
  }
  CHECK(reads == 10);
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].size() == 4096);
  CHECK(c.truncated == 1);
  append(log.path, "rest of it\nnormal\n");
  CHECK(poll(*f) == Lines{"normal"});

  SUBCASE("a restart while skipping keeps skipping") {
    append(log.path, std::string(8000, 'y'));
    CHECK(poll(*f).size() == 1);
    const auto at = f->position();
    REQUIRE(at);
    CHECK(at->skipping);
    append(log.path, "yyy\nafter\n");
    CHECK(poll(*log.restarted(*at, 4096)) == Lines{"after"});
  }
}

TEST_CASE("file_follower: binary garbage is split on newlines like anything else") {
  LogFile log;
  auto f = log.follower(64);
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  append(log.path, garbage + "\nok\n");
  const auto lines = poll(*f);
  REQUIRE(!lines.empty());
  CHECK(lines.back() == "ok");
  for (const auto& l : lines) CHECK(l.size() <= 64);
}

TEST_CASE("file_follower: a missing file is reported, and read whole once it appears") {
  test::TempDir dir;
  const auto path = dir.file("later.log");
  FileFollower f(path, 1024, false);
  Collected c;
  auto stats = f.poll(1024, c.fn());
  REQUIRE(stats);
  CHECK(stats->missing);
  CHECK_FALSE(f.position());
  test::writeFile(path, "first\n");
  CHECK(poll(f) == Lines{"first"});
}

TEST_CASE("line_splitter: lines of exactly the limit are whole, one byte more is cut") {
  LineSplitter s(4);
  Collected c;
  s.feed("abcd\nabcde\nab", c.fn());
  CHECK(c.lines == Lines{"abcd", "abcd"});
  CHECK(c.truncated == 1);
  CHECK(s.pending() == 2);
  s.flush(c.fn());
  CHECK(c.lines.back() == "ab");
}

TEST_CASE("line_splitter: runs of lines handed out as blocks are the same lines, in the same order") {
  // Lines of every kind (empty, CRLF, exactly at the limit, too long), fed in chunks of odd sizes.
  std::string text;
  uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffff; };
  for (int i = 0; i < 3000; ++i) {
    const uint32_t kind = next() % 10;
    const size_t len = kind == 0 ? 0 : kind == 1 ? 32 : kind == 2 ? 33 + next() % 100 : next() % 32;
    for (size_t k = 0; k < len; ++k) text += static_cast<char>('a' + next() % 26);
    text += kind == 3 ? "\r\n" : "\n";
  }
  text += "unfinished";
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, size_t{4096}, text.size()}) {
    CAPTURE(chunk);
    LineSplitter one(32), blocks(32);
    Collected a, b;
    size_t block_calls = 0;
    const LineSplitter::BlockFn split = [&](std::string_view lines, size_t count) {
      ++block_calls;
      CHECK(std::count(lines.begin(), lines.end(), '\n') == static_cast<std::ptrdiff_t>(count));
      CHECK(lines.back() == '\n');
      for (size_t start = 0; start < lines.size();) {
        const size_t nl = lines.find('\n', start);
        b.lines.emplace_back(lines.substr(start, nl - start));
        start = nl + 1;
      }
    };
    for (size_t at = 0; at < text.size(); at += chunk) {
      const auto piece = std::string_view(text).substr(at, chunk);
      one.feed(piece, a.fn());
      blocks.feed(piece, b.fn(), split);
    }
    CHECK(a.lines == b.lines);
    CHECK(a.truncated == b.truncated);
    CHECK(one.pending() == blocks.pending());
    if (chunk >= 64) CHECK(block_calls > 0);
  }
}
