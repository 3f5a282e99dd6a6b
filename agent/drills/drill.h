#pragma once
// Drills: `hale-agent drill CHECK` injects, safely, the failure a check
// watches for, then lets the check's remedy plan heal it. Each check kind that
// can be drilled has an injector in its own file (<kind>_drill.cpp) registered
// by one line in registry.cpp, like the checks and the remedy actions. An
// injection returns a Fault whose destructor undoes whatever it left behind
// (a fill file, a listener, a test certificate), on every path.
#include "agent/checks/check.h"
#include "shared/config/config.h"
#include "shared/util/result.h"

#include <asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hale::agent::drills {

/// A check's optional [check.drill] table: what a drill may do to it.
struct DrillSettings {
  bool allow = false;               ///< a pidfile process may be killed
  std::string dir;                  ///< disk: sandbox directory for the fill file
  uint64_t max_bytes = 1ull << 30;  ///< disk: refuse to write more than this
  std::optional<Millis> delay;      ///< http_probe: how long the slow listener waits
  std::string line;                 ///< log: the line appended (default: a known error line the patterns match)
};

std::span<const config::FieldSpec> drillFields();
/// Reads [check.drill]; throws config::ConfigError (file:line:col).
DrillSettings parseDrillSettings(const toml::node& node, const std::string& file, const std::string& check);

/// A check's own table (without its remedy and drill sub-tables) and its drill settings, from the
/// parsed configuration; nullopt when no check has that name.
struct CheckTable {
  toml::table table;
  DrillSettings settings;
};
std::optional<CheckTable> findCheckTable(const toml::table& root, const std::string& file, const std::string& name);

/// What an injector may look at and act on.
struct Target {
  const toml::table& table;  ///< the check's own keys (no remedy, no drill)
  const std::string& file;   ///< the configuration file, for errors of rebuilt checks
  checks::Check& check;      ///< the check as configured
  const DrillSettings& settings;
  const checks::CheckEnv& env;
};

/// An injected failure, undone by its destructor.
class Fault {
 public:
  virtual ~Fault() = default;
  /// The check to watch while the fault lasts (pointed at a test target); null: the configured one.
  virtual checks::CheckPtr replacement() { return nullptr; }
  /// One line: what was done.
  virtual std::string describe() const = 0;
};

using FaultPtr = std::unique_ptr<Fault>;

class Injector {
 public:
  virtual ~Injector() = default;
  /// True when the fault acts on the live target, which must be healthy first
  /// (process, disk); false when the check is pointed at a broken test target.
  virtual bool needsHealthyBaseline() const { return true; }
  /// Injects, or says why it refuses (not drillable as configured, unsafe).
  virtual Result<FaultPtr> inject(const Target& target, asio::io_context& io) = 0;
};

using InjectorPtr = std::unique_ptr<Injector>;

struct DrillKind {
  std::string_view check_kind;
  std::string_view summary;  ///< the failure injected
  InjectorPtr (*make)();
};

std::span<const DrillKind> allDrills();
/// The injector for a check kind, or null: that kind is not drillable.
const DrillKind* findDrill(std::string_view check_kind);

}  // namespace hale::agent::drills
