// The list of remedy actions. Adding one: write <action>.cpp with its FieldSpec
// table and factory, then add one line here.
#include "agent/remedies/remedy.h"

#include <fmt/format.h>

#include <charconv>
#include <csignal>

namespace hale::agent::remedies {

extern const ActionKind kRestartAction;
extern const ActionKind kKillAction;
extern const ActionKind kRunAction;
extern const ActionKind kHookAction;
extern const ActionKind kCleanAction;
extern const ActionKind kRotateLogsAction;
extern const ActionKind kClearCacheAction;
extern const ActionKind kNotifyAction;
extern const ActionKind kRestoreAction;
extern const ActionKind kRenewCertAction;

namespace {
const ActionKind* const kActions[] = {
    &kRestartAction,    &kKillAction,       &kRunAction,    &kHookAction,    &kCleanAction,
    &kRotateLogsAction, &kClearCacheAction, &kNotifyAction, &kRestoreAction, &kRenewCertAction,
};

std::vector<ActionKind> materialize() {
  std::vector<ActionKind> out;
  for (const auto* a : kActions) out.push_back(*a);
  return out;
}

constexpr config::FieldSpec kStepFields[] = {
    {"action", config::FieldType::String, "", "which action (see docs/remediation.md)", true},
    {"settle", config::FieldType::Duration, "5s", "wait after acting before re-running the check"},
    {"cooldown", config::FieldType::Duration, "",
     "minimum time between two runs of this step ([remediation] cooldown)"},
    {"approval", config::FieldType::Bool, "false", "queue for approval (hale-agent approve ID) before acting"},
    {"alternative", config::FieldType::Bool, "false", "adjacent alternatives are ordered by learned success"},
};
}  // namespace

std::span<const ActionKind> allActions() {
  static const std::vector<ActionKind> kinds = materialize();
  return kinds;
}

const ActionKind* findAction(std::string_view name) {
  for (const auto& a : allActions())
    if (a.name == name) return &a;
  return nullptr;
}

std::span<const config::FieldSpec> stepFields() { return kStepFields; }

std::string tail(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t from = text.size() - max;
  while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
  return text.substr(from);
}

int signalByName(std::string_view name) {
  if (name.rfind("SIG", 0) == 0) name.remove_prefix(3);
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"HUP", SIGHUP},   {"INT", SIGINT},  {"QUIT", SIGQUIT},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}};
  for (const auto& [n, s] : kSignals)
    if (n == name) return s;
  int v = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  return ec == std::errc() && end == name.data() + name.size() && v > 0 && v < 65 ? v : 0;
}

}  // namespace hale::agent::remedies
