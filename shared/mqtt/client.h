#pragma once
// MQTT v5 over mutual TLS on top of Paho's async client. Paho calls back from
// its own threads; every callback here is posted onto the owner's io_context,
// so application code runs single-threaded. Reconnection is ours (jittered
// exponential backoff, one log line per step) rather than Paho's fixed doubling.
#include "shared/util/backoff.h"
#include "shared/util/lifeline.h"
#include "shared/util/result.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mqtt {
class async_client;
}

namespace hale::mqtt {

struct TlsFiles {
  std::string ca_file;    ///< trust anchor for the broker's certificate
  std::string cert_file;  ///< our client certificate (PEM)
  std::string key_file;   ///< its private key (PEM)
};

struct Will {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = true;
};

struct Options {
  std::string url;  ///< mqtts://host:port (TLS) or mqtt://host:port; the first of `urls`
  /// Every broker to try, in order, on each connect (an agent's failover list);
  /// empty or one: just `url`.
  std::vector<std::string> urls;
  std::string client_id;
  TlsFiles tls;
  std::chrono::seconds keepalive{30};
  std::optional<Will> will;
  bool clean_start = true;
  uint32_t session_expiry_s = 0;  ///< with clean_start=false: how long the broker keeps our session
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::vector<std::pair<std::string, int>> subscriptions;  ///< (filter, qos), renewed on every connect
  std::string log_component = "mqtt";
};

using PublishDone = std::function<void(const hale::Status&)>;
using MessageHandler = std::function<void(const std::string& topic, const std::string& payload)>;

class Client {
 public:
  Client(asio::io_context& io, Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void onMessage(MessageHandler handler) { on_message_ = std::move(handler); }
  void onConnected(std::function<void()> handler) { on_connected_ = std::move(handler); }
  void onDisconnected(std::function<void()> handler) { on_disconnected_ = std::move(handler); }

  /// Starts connecting; retries until stop().
  void start();
  /// Publishes; `done` runs on the io_context with the broker's verdict (a
  /// v5 reason code >= 0x80, e.g. 135 "not authorized", is a failure).
  void publish(const std::string& topic, std::string payload, int qos, bool retained, PublishDone done = {});
  /// Drops the connection cleanly and connects again at once, re-reading the
  /// TLS files (certificate rotation on SIGHUP).
  void reconnect();
  /// Disconnects cleanly (no last will); waits at most `timeout`.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  bool connected() const { return connected_.load(); }
  /// Connected and every subscription acknowledged by the broker: messages
  /// published from now on reach us.
  bool ready() const { return connected_.load() && pending_subscriptions_.load() == 0; }
  uint64_t reconnects() const { return reconnects_.load(); }
  const Options& options() const { return options_; }
  /// The broker of the list the client connected to last ("" before the first connect).
  const std::string& broker() const { return broker_; }

 private:
  class Listener;
  void connect();
  void handleConnectFailure(const std::string& reason);
  void noteBroker(const std::string& url);
  std::string currentUrl() const;
  /// `broker`: the one that failed, when not the one we were connected to.
  void scheduleReconnect(const std::string& reason, const std::string& broker = {});
  void subscribeAll();
  template <class F>
  void post(F&& f);

  Options options_;
  std::unique_ptr<Listener> listener_;  // declared first: outlives client_, whose threads call it
  Lifeline line_;                       // likewise: Paho's threads post to the loop through it
  std::unique_ptr<::mqtt::async_client> client_;
  asio::steady_timer retry_timer_;
  hale::Backoff backoff_;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<int> pending_subscriptions_{0};
  bool stopping_ = false;
  bool connecting_ = false;
  std::string broker_ = options_.url;
  uint64_t connects_ = 0;
  size_t url_index_ = 0;  ///< the broker of options_.urls the next connect goes to
  MessageHandler on_message_;
  std::function<void()> on_connected_;
  std::function<void()> on_disconnected_;
};

}  // namespace hale::mqtt
