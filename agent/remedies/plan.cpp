// Reads a check's remedy plan:
//
//   [[check.remedy]]
//   action = "restart"
//   settle = "2s"
//   rollback = { action = "run", argv = ["/usr/local/bin/undo"] }
#include "agent/remedies/remedy.h"

#include <fmt/format.h>

namespace hale::agent::remedies {
namespace {

Step parseStep(const toml::table& in, const std::string& file, const std::string& context, const ActionEnv& env,
               bool nested, const toml::table* check) {
  toml::table table = in;  // a copy: `rollback` is a sub-table the FieldSpec reader does not know
  const toml::node* rollback_node = in.get("rollback");
  table.erase("rollback");
  const auto* action_node = in.get("action");
  if (!action_node || !action_node->is_string())
    throw config::ConfigError(config::positionOf(action_node ? *action_node : static_cast<const toml::node&>(in), file),
                              fmt::format("{}: missing required key 'action' (string)", context));
  const std::string name = action_node->as_string()->get();
  const ActionKind* kind = findAction(name);
  if (!kind) {
    std::string known;
    for (const auto& a : allActions()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    throw config::ConfigError(config::positionOf(*action_node, file),
                              fmt::format("{}: unknown action '{}' (known actions: {})", context, name, known));
  }
  // restore acts on its file check's path and baseline unless the step says otherwise.
  if (check && name == "restore")
    for (const char* key : {"path", "baseline"})
      if (!table.contains(key) && check->contains(key)) table.insert(key, *check->get(key));
  std::vector<config::FieldSpec> spec(stepFields().begin(), stepFields().end());
  spec.insert(spec.end(), kind->fields.begin(), kind->fields.end());
  const auto fields = config::readFields(table, spec, file, context);

  Step step;
  step.action = name;
  step.pos = config::positionOf(in, file);
  step.settle = fields.duration("settle");
  if (step.settle.count() < 0) fields.fail("settle", "must not be negative");
  step.cooldown = fields.optDuration("cooldown");
  step.approval = fields.boolean("approval");
  step.alternative = fields.boolean("alternative");
  step.impl = kind->make(fields, env);
  if (rollback_node) {
    if (nested) fields.fail("action", "a rollback step cannot have a rollback of its own");
    const auto* t = rollback_node->as_table();
    if (!t)
      throw config::ConfigError(
          config::positionOf(*rollback_node, file),
          fmt::format("{}: 'rollback' must be a table, e.g. {{ action = \"run\", ... }}", context));
    step.rollback = std::make_unique<Step>(parseStep(*t, file, context + " rollback", env, true, check));
  }
  return step;
}

}  // namespace

Plan parsePlan(const toml::node& remedy, const std::string& file, const std::string& check, const ActionEnv& env,
               const toml::table* check_table) {
  const toml::array* arr = remedy.as_array();
  if (!arr || !arr->is_array_of_tables())
    throw config::ConfigError(config::positionOf(remedy, file),
                              fmt::format("check '{}': 'remedy' must be an array of tables ([[check.remedy]])", check));
  Plan plan;
  size_t i = 0;
  for (const auto& item : *arr) {
    Step step =
        parseStep(*item.as_table(), file, fmt::format("check '{}' remedy {}", check, ++i), env, false, check_table);
    if (step.action == "notify") {
      plan.notify.push_back(std::move(step));
    } else {
      plan.steps.push_back(std::move(step));
    }
  }
  return plan;
}

}  // namespace hale::agent::remedies
