#pragma once
// Markdown reference of the check kinds, rendered from their FieldSpec tables
// so that docs/checks.md cannot drift from what the config loader accepts.
#include "agent/checks/check.h"

#include <string>

namespace hale::agent::checks {

/// The table of keys every check accepts.
std::string commonFieldsMarkdown();
/// One kind: heading, summary, default component and its key table.
std::string kindMarkdown(const CheckKind& kind);
/// The common table followed by every kind in registry order.
std::string allKindsMarkdown();

}  // namespace hale::agent::checks
