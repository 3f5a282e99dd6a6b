#pragma once
// Damaging a database file the way a power loss or a failing disk does:
// pages in the middle overwritten with garbage, the header left intact.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace hale::test {

/// Overwrites `pages` pages (of 4096 bytes) in the middle of the file at `path`.
inline void corruptMiddlePages(const std::string& path, int pages = 4) {
  constexpr std::uintmax_t kPage = 4096;
  const std::uintmax_t size = std::filesystem::file_size(path);
  REQUIRE(size >= kPage * (static_cast<std::uintmax_t>(pages) + 2));  // room besides the header page
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(static_cast<std::streamoff>((size / kPage / 2) * kPage));
  const std::string garbage(kPage * static_cast<size_t>(pages), '\xa5');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  REQUIRE(f.good());
}

}  // namespace hale::test
