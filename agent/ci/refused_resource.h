#pragma once
// A permission failure is never retried; a person has to grant access. The
// diagnosis says to what: the repository, image, package, secret, URL,
// registry or file the log names in the lines around the refusal.
#include <string>
#include <vector>

namespace hale::agent::ci {

/// "repository acme/app", "secret NPM_TOKEN", "URL https://...", "registry
/// ghcr.io", "file /var/lib/x", ...; empty when the lines name none.
std::string refusedResource(const std::vector<std::string>& lines);

}  // namespace hale::agent::ci
