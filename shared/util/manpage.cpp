#include "shared/util/manpage.h"

#include <algorithm>
#include <cctype>

namespace hale::man {

std::string escape(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  return out;
}

std::string render(const Page& page) {
  std::string upper = page.name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  std::string out = ".\\\" Generated from the program's command table; do not edit (see docs/man/README).\n";
  out += ".TH " + upper + " 1 \"\" \"Hale\" \"User Commands\"\n";
  out += ".SH NAME\n" + escape(page.name) + " \\- " + escape(page.summary) + "\n";
  out += ".SH SYNOPSIS\n.B " + escape(page.name) + "\n" + escape(page.synopsis) + "\n";
  for (const auto& s : page.sections) {
    out += ".SH " + escape(s.title) + "\n";
    for (size_t i = 0; i < s.paragraphs.size(); ++i) out += (i ? ".PP\n" : "") + escape(s.paragraphs[i]) + "\n";
    for (const auto& e : s.entries) {
      out += ".TP\n.B " + escape(e.name) + "\n";
      if (!e.usage.empty()) out += escape(e.usage) + "\n.br\n";
      out += escape(e.summary) + "\n";
    }
  }
  return out;
}

}  // namespace hale::man
