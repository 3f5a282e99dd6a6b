#pragma once
#include <string>
#include <vector>

namespace hale::agent::cli {

/// Exit codes, documented in `hale-agent --help` and the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitWarn = 1;
inline constexpr int kExitCrit = 2;  ///< also: invalid configuration (check-config)
inline constexpr int kExitUnknown = 3;
inline constexpr int kExitUsage = 64;  ///< EX_USAGE: bad command line

int cmdDiagnose(const std::vector<std::string>& args);
int cmdExec(const std::vector<std::string>& args);
int cmdPatterns(const std::vector<std::string>& args);
int cmdBaseline(const std::vector<std::string>& args);
int cmdDrill(const std::vector<std::string>& args);

/// This program's manual page (roff), from the command and kind tables.
std::string manPage();
/// Entry point of `hale-agent`; args excludes argv[0].
int main(const std::vector<std::string>& args);

}  // namespace hale::agent::cli
