#pragma once
// A man page (roff, man(7) macros) built from the same tables as a program's
// --help, so the page cannot drift from the commands it documents. The pages
// in docs/man/ are generated with it (a unit test fails on drift) and the
// packages install them gzipped under /usr/share/man/man1.
#include <string>
#include <string_view>
#include <vector>

namespace hale::man {

/// Text for roff: backslashes and hyphens escaped, lines starting with . or ' protected.
std::string escape(std::string_view text);

struct Entry {
  std::string name;     ///< shown in bold
  std::string usage;    ///< synopsis line, may be empty
  std::string summary;  ///< one paragraph
};

struct Section {
  std::string title;                    ///< e.g. "COMMANDS"
  std::vector<std::string> paragraphs;  ///< plain text, one paragraph each
  std::vector<Entry> entries;           ///< tagged paragraphs after the text
};

struct Page {
  std::string name;      ///< program name, e.g. hale-agent
  std::string summary;   ///< the NAME line after the dash
  std::string synopsis;  ///< e.g. "COMMAND [OPTIONS]"
  std::vector<Section> sections;
};

std::string render(const Page& page);

}  // namespace hale::man
