#pragma once
// The operator's page, served at / and /dashboard: one self-contained HTML
// document (CSS and vanilla JS inline, no CDN, no fonts to fetch) that polls
// the JSON API every few seconds, so it works on an air-gapped network.
#include <string_view>

namespace hale::aggregator::dashboard {

/// The page, embedded in the binary.
std::string_view dashboardPage();

}  // namespace hale::aggregator::dashboard
