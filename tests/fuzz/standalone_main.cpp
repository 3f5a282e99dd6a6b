// Runs a fuzz target without libFuzzer: over every seed file given (files or
// directories), then over deterministic mutations of them (bit flips,
// truncations, splices), so CI exercises each target in the normal build.
//   <target> [--mutations N] SEED...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t mutations = 2000;
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
      mutations = std::strtoul(argv[++i], nullptr, 10);
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  for (const auto& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(42);
  for (size_t n = 0; n < mutations; ++n) {
    std::vector<uint8_t> input = seeds[rng() % seeds.size()];
    switch (rng() % 4) {
      case 0:
        if (!input.empty()) input[rng() % input.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!input.empty()) input.resize(rng() % input.size());
        break;
      case 2: {
        const auto& other = seeds[rng() % seeds.size()];
        if (!other.empty())
          input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : rng() % input.size()), other.begin(),
                       other.begin() + static_cast<long>(rng() % other.size()));
        break;
      }
      default:
        for (int k = 0; k < 8 && !input.empty(); ++k) input[rng() % input.size()] = static_cast<uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%zu seeds, %zu mutations: no crash\n", seeds.size(), mutations);
  return 0;
}
