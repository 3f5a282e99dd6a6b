#pragma once
// `hale-agent diagnose`: prints the diagnosis of a finished build log, or
// proposes (and on --confirm stores) a pattern learned from a labelled log.
#include <string>
#include <vector>

#include "agent/ci/classifier.h"

namespace hale::agent::ci {

/// `args` are the words after "diagnose":
///   [--json] [--patterns DIR|FILE]... FILE|-...
///   --learn CATEGORY [--confirm] [--local FILE] [--patterns DIR|FILE]... FILE
/// Without --patterns, defaultPatternDirs() is used. Returns 0 when a
/// diagnosis (or proposal) was printed, 2 on a usage or configuration error.
int runDiagnoseCommand(const std::vector<std::string>& args);

/// The diagnosis as a JSON object (category, confidence, evidence, ...);
/// `file`, when not empty, is included as "file".
std::string diagnosisToJson(const Diagnosis& d, const std::string& file = {});
/// The diagnosis for people: category, confidence, evidence with line numbers, remedy.
std::string diagnosisToText(const Diagnosis& d);

}  // namespace hale::agent::ci
