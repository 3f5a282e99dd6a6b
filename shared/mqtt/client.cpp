#include "shared/mqtt/client.h"

#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>
#include <mqtt/async_client.h>

#include <mutex>
#include <unordered_map>

namespace hale::mqtt {
namespace {

// What one asynchronous Paho operation reports when it completes.
struct Completion {
  bool ok;
  int return_code;
  int reason_code;
};
using CompletionFn = std::function<void(const Completion&)>;

std::string describe(const Completion& c) {
  if (c.reason_code >= 0x80)
    return fmt::format("{} (reason code {})", ::mqtt::exception::reason_code_str(c.reason_code), c.reason_code);
  return fmt::format("{} (rc {})", ::mqtt::exception::error_str(c.return_code), c.return_code);
}

std::string pahoUri(const std::string& url) {
  if (url.rfind("mqtts://", 0) == 0) return "ssl://" + url.substr(8);
  if (url.rfind("mqtt://", 0) == 0) return "tcp://" + url.substr(7);
  return url;
}

}  // namespace

// One listener serves every operation. The per-operation callback is kept
// here under an id carried in the token's user context, and taken out on the
// first completion: Paho C++ 1.2 reports a v5 connect's success twice (from
// the C callback and from on_connected), so ownership must not ride on the token.
class Client::Listener final : public ::mqtt::iaction_listener {
 public:
  void* add(CompletionFn fn) {
    std::lock_guard lock(mutex_);
    const uint64_t id = next_id_++;
    pending_.emplace(id, std::move(fn));
    return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  }
  void discard(void* ctx) {
    std::lock_guard lock(mutex_);
    pending_.erase(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ctx)));
  }

 private:
  void complete(const ::mqtt::token& tok, bool ok) {
    CompletionFn fn;
    {
      std::lock_guard lock(mutex_);
      auto it = pending_.find(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok.get_user_context())));
      if (it == pending_.end()) return;
      fn = std::move(it->second);
      pending_.erase(it);
    }
    const int reason = static_cast<int>(tok.get_reason_code());
    fn(Completion{ok && reason < 0x80, tok.get_return_code(), reason});
  }
  void on_failure(const ::mqtt::token& tok) override { complete(tok, false); }
  void on_success(const ::mqtt::token& tok) override { complete(tok, true); }

  std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, CompletionFn> pending_;
};

Client::Client(asio::io_context& io, Options options)
    : options_(std::move(options)), listener_(std::make_unique<Listener>()), line_(io), retry_timer_(io),
      backoff_(options_.backoff_initial, options_.backoff_max) {
  client_ = std::make_unique<::mqtt::async_client>(pahoUri(currentUrl()), options_.client_id,
                                                   ::mqtt::create_options(MQTTVERSION_5), nullptr);
  client_->set_connected_handler([this](const std::string&) {
    post([this] {
      connected_ = true;
      connecting_ = false;
      if (backoff_.attempts() > 0) ++reconnects_;
      backoff_.reset();
      subscribeAll();
      if (on_connected_) on_connected_();
    });
  });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    post([this, cause] {
      connected_ = false;
      pending_subscriptions_ = static_cast<int>(options_.subscriptions.size());
      if (on_disconnected_) on_disconnected_();
      if (!stopping_) scheduleReconnect(cause.empty() ? "connection lost" : "connection lost: " + cause);
    });
  });
  client_->set_disconnected_handler([this](const ::mqtt::properties&, ::mqtt::ReasonCode reason) {
    post([this, reason] {
      connected_ = false;
      if (on_disconnected_) on_disconnected_();
      if (!stopping_)
        scheduleReconnect(fmt::format("disconnected by broker: {}", ::mqtt::exception::reason_code_str(reason)));
    });
  });
  client_->set_message_callback([this](::mqtt::const_message_ptr msg) {
    post([this, topic = msg->get_topic(), payload = msg->get_payload_str()] {
      if (on_message_) on_message_(topic, payload);
    });
  });
}

Client::~Client() {
  line_.cut();  // Paho's threads may still call back until client_ is gone: those calls are dropped
  stopping_ = true;
  try {
    if (client_ && client_->is_connected()) client_->disconnect(0)->wait_for(std::chrono::milliseconds(500));
  } catch (const std::exception&) {
    // Best effort: we are going away either way.
  }
}

template <class F>
void Client::post(F&& f) {
  (void)line_.post(std::forward<F>(f));
}

void Client::start() {
  stopping_ = false;
  connect();
}

void Client::connect() {
  if (stopping_ || connecting_) return;
  connecting_ = true;
  ::mqtt::connect_options_builder builder;
  builder.mqtt_version(MQTTVERSION_5)
      .keep_alive_interval(options_.keepalive)
      .connect_timeout(std::chrono::seconds(10))
      .clean_start(options_.clean_start)
      .automatic_reconnect(false);
  // One broker per attempt, ours to choose: a failed connect moves to the
  // next broker of the list (the agent's outbox makes the move lossless).
  const std::string url = currentUrl();
  auto servers = std::make_shared<::mqtt::string_collection>();
  servers->push_back(pahoUri(url));
  builder.servers(servers);
  if (options_.session_expiry_s > 0)
    builder.properties({{::mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(options_.session_expiry_s)}});
  if (!options_.tls.ca_file.empty()) {
    ::mqtt::ssl_options ssl;
    ssl.set_trust_store(options_.tls.ca_file);
    if (!options_.tls.cert_file.empty()) ssl.set_key_store(options_.tls.cert_file);
    if (!options_.tls.key_file.empty()) ssl.set_private_key(options_.tls.key_file);
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(true);  // also checks the broker's host name
    builder.ssl(std::move(ssl));
  }
  if (options_.will) {
    builder.will(::mqtt::will_options(options_.will->topic, options_.will->payload, options_.will->qos,
                                      options_.will->retained));
  }
  void* ctx = listener_->add([this, url](const Completion& c) {
    if (!c.ok) return post([this, why = describe(c)] { handleConnectFailure(why); });
    post([this, url] { noteBroker(url); });
  });
  try {
    client_->connect(builder.finalize(), ctx, *listener_);
  } catch (const ::mqtt::exception& e) {
    listener_->discard(ctx);
    handleConnectFailure(e.what());
  }
}

std::string Client::currentUrl() const {
  return options_.urls.empty() ? options_.url : options_.urls[url_index_ % options_.urls.size()];
}

// Runs once per successful connect, with the broker that took it.
void Client::noteBroker(const std::string& url) {
  if (url != broker_ && connects_ > 0)
    log::warn(options_.log_component, "moved to another broker", {{"from", broker_}, {"to", url}});
  ++connects_;
  broker_ = url;
  log::info(options_.log_component, "connected", {{"broker", broker_}, {"client_id", options_.client_id}});
}

void Client::handleConnectFailure(const std::string& reason) {
  const std::string failed = currentUrl();
  ++url_index_;  // try the next broker of the list (the same one when there is one)
  connecting_ = false;
  connected_ = false;
  if (!stopping_) scheduleReconnect("connect failed: " + reason, failed);
}

void Client::scheduleReconnect(const std::string& reason, const std::string& broker) {
  if (stopping_ || connecting_) return;
  const auto delay = backoff_.next();
  log::warn(options_.log_component, reason,
            {{"broker", broker.empty() ? broker_ : broker},
             {"retry_in_ms", std::to_string(delay.count())},
             {"attempt", std::to_string(backoff_.attempts())}});
  connecting_ = true;  // a timer is pending; a second loss must not start another
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled, or the client (and its timer) is gone
    connecting_ = false;
    connect();
  });
}

void Client::subscribeAll() {
  pending_subscriptions_ = static_cast<int>(options_.subscriptions.size());
  for (const auto& [filter, qos] : options_.subscriptions) {
    void* ctx = listener_->add([this, filter = filter](const Completion& c) {
      if (c.ok) {
        --pending_subscriptions_;
        return;
      }
      post([this, filter, why = describe(c)] {
        log::error(options_.log_component, "subscribe refused", {{"filter", filter}, {"reason", why}});
      });
    });
    try {
      client_->subscribe(filter, qos, ctx, *listener_);
    } catch (const ::mqtt::exception& e) {
      listener_->discard(ctx);
      log::error(options_.log_component, "subscribe failed", {{"filter", filter}, {"reason", e.what()}});
    }
  }
}

void Client::publish(const std::string& topic, std::string payload, int qos, bool retained, PublishDone done) {
  auto msg = ::mqtt::make_message(topic, std::move(payload), qos, retained);
  auto complete = [this, done = std::move(done)](const Completion& c) {
    if (!done) return;
    post([done, c] {
      if (c.ok)
        done(hale::Status{});
      else
        done(hale::Error{describe(c), c.reason_code >= 0x80 ? c.reason_code : c.return_code});
    });
  };
  void* ctx = listener_->add(complete);
  try {
    client_->publish(msg, ctx, *listener_);
  } catch (const ::mqtt::exception& e) {
    listener_->discard(ctx);
    // Not connected, or the client's queue is full: report like any other failure.
    complete(Completion{false, e.get_return_code(), static_cast<int>(e.get_reason_code())});
  }
}

void Client::reconnect() {
  if (stopping_) return;
  retry_timer_.cancel();
  try {
    if (client_->is_connected()) client_->disconnect(500)->wait_for(std::chrono::milliseconds(1000));
  } catch (const ::mqtt::exception& e) {
    log::warn(options_.log_component, "disconnect before reconnect failed", {{"reason", e.what()}});
  }
  connected_ = false;
  connecting_ = false;
  backoff_.reset();
  log::info(options_.log_component, "reconnecting to pick up new TLS files", {{"broker", options_.url}});
  connect();
}

void Client::stop(std::chrono::milliseconds timeout) {
  stopping_ = true;
  retry_timer_.cancel();
  connected_ = false;
  try {
    if (client_->is_connected()) client_->disconnect(static_cast<int>(timeout.count()))->wait_for(timeout);
  } catch (const ::mqtt::exception& e) {
    log::warn(options_.log_component, "disconnect failed", {{"reason", e.what()}});
  }
}

}  // namespace hale::mqtt
