// A permission failure names what was refused, from the lines around it.
#include <doctest/doctest.h>

#include "agent/ci/refused_resource.h"

using hale::agent::ci::refusedResource;

TEST_CASE("refused_resource: the most specific name in the lines wins") {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"remote: Permission to acme/app.git denied to github-actions[bot].",
        "fatal: unable to access 'https://github.com/acme/app.git/': The requested URL returned error: 403"},
       "repository acme/app"},
      {{"fatal: Authentication failed for 'https://gitlab.example.org/acme/infra.git/'"},
       "repository https://gitlab.example.org/acme/infra.git"},
      {{"The push refers to repository [docker.io/acme/web]", "denied: requested access to the resource is denied"},
       "image docker.io/acme/web"},
      {{"Error response from daemon: pull access denied for acme/private, repository does not exist"},
       "image acme/private"},
      {{"Error: Input required and not supplied: github_token"}, "secret github_token"},
      {{"npm ERR! need auth This command requires you to be logged in.",
        "npm ERR! need auth You need to authorize "
        "this machine using `npm adduser`",
        "env: NPM_TOKEN is empty"},
       "secret NPM_TOKEN"},
      {{"Error: Resource not accessible by integration"}, "token GITHUB_TOKEN (the workflow's permissions)"},
      {{"npm ERR! 403 403 Forbidden - PUT https://registry.npmjs.org/left-pad - You do not have permission to "
        "publish \"left-pad\""},
       "package left-pad"},
      {{"HTTPError: 403 Forbidden from https://upload.pypi.org/legacy/"}, "URL https://upload.pypi.org/legacy/"},
      {{"Error: writing blob: initiating layer upload to /v2/acme/app/blobs/uploads/ in ghcr.io: denied"},
       "registry ghcr.io"},
      {{"Error publishing package. NuGet server returned 403: The specified API key is invalid"}, "registry NuGet"},
      {{"npm ERR! Error: EACCES: permission denied, mkdir '/usr/lib/node_modules/widget'"},
       "file /usr/lib/node_modules/widget"},
  };
  for (const auto& [lines, expected] : cases) {
    CAPTURE(lines.front());
    CHECK(refusedResource(lines) == expected);
  }
}

TEST_CASE("refused_resource: nothing named, nothing said") {
  CHECK(refusedResource({}).empty());
  CHECK(refusedResource({"Permission denied", "Error: 403"}).empty());
}
