// command_probe: runs a command (argv, never a shell) that must exit with the
// expected code, and optionally print some text, within the timeout; a command
// still running at the timeout is killed with its process group. Run time
// feeds the same p50/p95/p99 window and SLO as the network probes.
//
//   [[check]]
//   name = "dns-resolves"
//   kind = "command_probe"
//   argv = ["getent", "hosts", "registry.example.com"]
//   expect_exit = 0
//   output_contains = "registry"
//   timeout = "5s"
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/checks/probe_window.h"
#include "agent/platform/command_capture.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr auto kFields = withProbeWindowFields(std::array<config::FieldSpec, 3>{{
    {"argv", config::FieldType::StringArray, "", "program and arguments, run without a shell (PATH is searched)", true},
    {"expect_exit", config::FieldType::Integer, "0", "exit code that means healthy"},
    {"output_contains", config::FieldType::String, "", "text stdout or stderr must contain"},
}});

// Last line of the output, for the message: usually the reason a command failed.
std::string lastLine(std::string_view out) {
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.remove_suffix(1);
  const auto nl = out.rfind('\n');
  if (nl != std::string_view::npos) out.remove_prefix(nl + 1);
  return std::string(out.substr(0, 200));
}

class CommandProbeCheck final : public Check {
 public:
  CommandProbeCheck(CommonSettings common, const config::Fields& f, const Clock& clock)
      : Check(std::move(common)), clock_(clock), argv_(f.strings("argv")), expect_exit_(f.integer("expect_exit")),
        output_contains_(f.optStr("output_contains")), slo_(SloRule::read(f)), window_(f.duration("window")) {
    if (argv_.empty() || argv_.front().empty()) f.fail("argv", "must name a program");
    if (expect_exit_ < 0 || expect_exit_ > 255) f.fail("expect_exit", "expected 0..255");
  }

  bool blocking() const override { return true; }  // waits for the child

  Outcome run() override {
    const auto t0 = std::chrono::steady_clock::now();
    auto result = platform::runCaptured(argv_, ownDeadline(common(), t0));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Outcome out;
    bool ok = false;
    if (!result) {
      out.status = CheckStatus::Crit;
      out.message = result.error().message;
    } else if (result->timed_out) {
      out.status = CheckStatus::Crit;
      out.message =
          fmt::format("{}: timed out after {}, killed", argv_.front(), config::formatDuration(common().timeout));
    } else if (result->term_signal != 0) {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("{}: killed by signal {}", argv_.front(), result->term_signal);
    } else {
      out.metric("exit_code", result->exit_code);
      ok = result->exit_code == expect_exit_;
      out.message = fmt::format("{}: exit {} in {:.1f} ms", argv_.front(), result->exit_code, ms);
      if (!ok) out.message += fmt::format(" (expected {}): {}", expect_exit_, lastLine(result->output));
      if (ok && output_contains_ && result->output.find(*output_contains_) == std::string::npos) {
        ok = false;
        out.message += fmt::format(", output lacks \"{}\"", *output_contains_);
      }
      if (!ok) out.status = CheckStatus::Crit;
    }
    recordProbe(out, window_, slo_, clock_.monoNow(), ms, ok);
    return out;
  }

 private:
  const Clock& clock_;
  std::vector<std::string> argv_;
  int64_t expect_exit_;
  std::optional<std::string> output_contains_;
  SloRule slo_;
  LatencyWindow window_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<CommandProbeCheck>(std::move(common), fields, env.clock);
}

}  // namespace

extern const CheckKind kCommandProbeCheck;
const CheckKind kCommandProbeCheck{"command_probe", "a command's exit code, output and run time (argv, no shell)",
                                   kFields, Component::Network, &make};

}  // namespace hale::agent::checks
