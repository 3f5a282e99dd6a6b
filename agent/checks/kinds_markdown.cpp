#include "agent/checks/kinds_markdown.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string table(std::span<const config::FieldSpec> fields) {
  std::string out = "| key | type | default | description |\n|---|---|---|---|\n";
  for (const auto& f : fields) {
    const std::string def = f.required                ? "*required*"
                            : f.default_value.empty() ? ""
                                                      : fmt::format("`{}`", f.default_value);
    out +=
        fmt::format("| `{}` | {} | {} | {} |\n", f.key, config::fieldTypeName(f.type), cell(def), cell(f.description));
  }
  return out;
}

}  // namespace

std::string commonFieldsMarkdown() { return table(commonFields()); }

std::string kindMarkdown(const CheckKind& kind) {
  std::string summary(kind.summary);
  if (!summary.empty() && summary[0] >= 'a' && summary[0] <= 'z')
    summary[0] = static_cast<char>(summary[0] - 'a' + 'A');
  return fmt::format("### `{}`\n\n{}. Default component: {}.\n\n{}", kind.name, summary,
                     wire::componentName(kind.default_component), table(kind.fields));
}

std::string allKindsMarkdown() {
  std::string out = "### Keys every check accepts\n\n" + commonFieldsMarkdown();
  for (const auto& kind : allKinds()) out += "\n" + kindMarkdown(kind);
  return out;
}

}  // namespace hale::agent::checks
