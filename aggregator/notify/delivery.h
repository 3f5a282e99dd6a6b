#pragma once
// One delivery attempt: POST the body to the target (http or https with the
// target's trust anchors), signed with X-Hale-Signature-256 when the target
// has a secret. Any 2xx answer is a delivery.
#include "aggregator/notify/notify_config.h"
#include "shared/util/result.h"

#include <string>

namespace hale::aggregator::notify {

/// An Error says why the attempt failed (connection, TLS, "HTTP 500").
Status deliver(const Target& target, const std::string& body);

}  // namespace hale::aggregator::notify
