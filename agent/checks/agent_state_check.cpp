// agent_state: the agent's own state. When agent.db is found damaged at start
// (power loss, a full disk mid-write) the agent sets it aside and starts with
// fresh state so the node stays watched; this check makes that visible in the
// fleet view as an issue that stays open while a damaged copy is kept, and
// closes when someone has looked at it and removed it.
//
// The agent adds one, named "agent-state", while a damaged copy is kept
// (watchDamagedState), unless its configuration has a check of this kind:
//
//   [[check]]
//   name = "agent-state"
//   kind = "agent_state"
//   interval = "30s"
#include "agent/checks/check.h"
#include "agent/state/state_open.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

class AgentStateCheck final : public Check {
 public:
  AgentStateCheck(CommonSettings common, std::string state_dir)
      : Check(std::move(common)), state_dir_(std::move(state_dir)) {}

  Outcome run() override {
    const auto damaged = state::damagedStateFiles(state_dir_);
    Outcome out;
    out.metric("damaged_state_files", static_cast<double>(damaged.size()));
    if (damaged.empty()) {
      out.message = "state intact";
      return out;
    }
    out.status = CheckStatus::Warn;
    out.message = fmt::format(
        "agent.db was damaged and set aside as {}{}; the agent runs on fresh state (its earlier issues, limits and "
        "audit chain are in the damaged copy). Inspect it, then delete it to close this issue",
        damaged.back(), damaged.size() > 1 ? fmt::format(" (and {} older copies)", damaged.size() - 1) : "");
    return out;
  }

 private:
  std::string state_dir_;
};

CheckPtr make(CommonSettings common, const config::Fields&, const CheckEnv& env) {
  return std::make_unique<AgentStateCheck>(std::move(common), env.state_dir);
}

}  // namespace

extern const CheckKind kAgentStateCheck;
const CheckKind kAgentStateCheck{"agent_state",
                                 "the agent's own state: a damaged agent.db set aside at start (added by the agent "
                                 "while a damaged copy is kept)",
                                 {},
                                 Component::Storage,
                                 &make};

}  // namespace hale::agent::checks
