#pragma once
// A check watches one thing and reports a status with metrics. Each kind lives
// in its own file (<kind>_check.cpp) with a FieldSpec table and a factory, and
// is registered by one line in registry.cpp.
#include "shared/config/config.h"
#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"

#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::checks {

using wire::CheckStatus;
using wire::Component;

/// What one run of a check observed.
struct Outcome {
  CheckStatus status = CheckStatus::Ok;
  std::string message;
  std::vector<wire::MetricValue> metrics;

  Outcome& metric(std::string name, double value) {
    metrics.push_back({std::move(name), value});
    return *this;
  }
};

/// An EWMA anomaly rule over some of a check's metrics (anomaly.h).
struct AnomalyRule {
  std::vector<std::string> metrics;  ///< empty: no rule
  double sigma = 3.0;
  int warmup = 20;
  double alpha = 0.1;
};

/// Settings every check has, whatever its kind.
struct CommonSettings {
  std::string name;
  std::string kind;
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds timeout{5'000};
  Component component = Component::Compute;
  CheckStatus severity = CheckStatus::Crit;  ///< weight of an issue this check opens
  int fail_after = 3;                        ///< consecutive bad results that open an issue
  int pass_after = 2;                        ///< consecutive good results that close it
  AnomalyRule anomaly;
};

/// What a check may use from its surroundings.
struct CheckEnv {
  const Clock& clock;
  std::string state_dir;
};

class Check {
 public:
  explicit Check(CommonSettings common) : common_(std::move(common)) {}
  virtual ~Check() = default;
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  const CommonSettings& common() const { return common_; }
  const std::string& name() const { return common_.name; }

  /// Runs the check once. Kinds that may block (statvfs on a hung mount, a
  /// remote TLS handshake) return true from blocking(); the scheduler then runs
  /// them on a worker thread with the check's timeout as deadline.
  virtual Outcome run() = 0;
  virtual bool blocking() const { return false; }

  /// Event-driven kinds (a pidfd that becomes readable) call `trigger` to ask
  /// for an immediate run instead of waiting for the next interval.
  virtual void watch(asio::io_context& /*io*/, std::function<void()> /*trigger*/) {}

  /// Called by the scheduler on the io thread after each of its runs, with
  /// what the run reported: event-driven kinds re-arm their watches here
  /// (a process found again under a new pid).
  virtual void afterRun(const wire::ResultRecord& /*record*/) {}

 private:
  CommonSettings common_;
};

/// Shared: a run in progress keeps its check alive after a reload dropped it
/// (the run may be stuck in a system call for as long as the mount is dead).
using CheckPtr = std::shared_ptr<Check>;
using CheckFactory = CheckPtr (*)(CommonSettings common, const config::Fields& fields, const CheckEnv& env);

struct CheckKind {
  std::string_view name;
  std::string_view summary;
  std::span<const config::FieldSpec> fields;
  Component default_component;
  CheckFactory make;
};

/// Every kind, in the order `hale-agent help` lists them (registry.cpp).
std::span<const CheckKind> allKinds();
const CheckKind* findKind(std::string_view name);

/// Keys every check table accepts besides its kind's own.
std::span<const config::FieldSpec> commonFields();

/// Builds a check from one [[check]] table; throws config::ConfigError.
CheckPtr makeCheck(const toml::table& table, const std::string& file, const CheckEnv& env);

/// CheckStatus from a value against warn/crit thresholds (higher is worse).
CheckStatus grade(double value, std::optional<double> warn, std::optional<double> crit);

}  // namespace hale::agent::checks
