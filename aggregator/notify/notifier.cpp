#include "aggregator/notify/notifier.h"

#include "shared/crypto/crypto.h"
#include "shared/sqlite/database.h"
#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

namespace hale::aggregator::notify {
namespace {
using nlohmann::json;

constexpr config::FieldSpec kNotifyFields[] = {
    {"kind", config::FieldType::String, "", "slack ({\"text\": ...}) or webhook (generic JSON)", true},
    {"url", config::FieldType::String, "", "http:// or https:// URL to POST to", true},
    {"secret_file", config::FieldType::String, "", "file holding the HMAC-SHA256 key of X-Hale-Signature-256"},
    {"secret_env", config::FieldType::String, "", "environment variable holding that key instead"},
    {"events", config::FieldType::StringArray, "",
     "unfixed_critical, remediation_failed, breaker_open, region_failover; unset: all"},
    {"unfixed_after", config::FieldType::Duration, "10m", "a critical issue open this long is reported"},
    {"max_attempts", config::FieldType::Integer, "8", "deliveries tried before giving up"},
    {"retry_initial", config::FieldType::Duration, "2s", "first retry delay; doubles up to retry_cap, with jitter"},
    {"retry_cap", config::FieldType::Duration, "5m", "longest retry delay"},
    {"timeout", config::FieldType::Duration, "5s", "one delivery attempt gives up after this"},
    {"ca_file", config::FieldType::String, "/etc/ssl/certs/ca-certificates.crt", "trust anchors for https:// URLs"},
};

constexpr std::string_view kEventNames[] = {"unfixed_critical", "remediation_failed", "breaker_open",
                                            "region_failover"};
constexpr Event kAllEvents[] = {Event::UnfixedCritical, Event::RemediationFailed, Event::BreakerOpen,
                                Event::RegionFailover};

std::string trimmed(std::string t) {
  const auto first = t.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return t.substr(first, t.find_last_not_of(" \t\r\n") - first + 1);
}

std::string isoTime(int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string summary(const Message& m) {
  switch (m.event) {
    case Event::UnfixedCritical:
      return fmt::format("Hale could not fix a critical issue on {} ({}): {}: {}", m.node, m.region, m.check,
                         m.message);
    case Event::RemediationFailed:
      return fmt::format("Remediation failed on {} ({}) for {}: {}", m.node, m.region, m.check, m.message);
    case Event::BreakerOpen:
      return fmt::format("Circuit breaker open on {} ({}) for {}: {}", m.node, m.region, m.check, m.message);
    case Event::RegionFailover:
      return fmt::format("Region failover: {}", m.message);
  }
  return m.message;
}
}  // namespace

std::string_view eventName(Event e) { return kEventNames[static_cast<size_t>(e)]; }

std::optional<Event> eventFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kEventNames); ++i)
    if (kEventNames[i] == name) return kAllEvents[i];
  return std::nullopt;
}

bool Target::wants(Event e) const { return std::find(events.begin(), events.end(), e) != events.end(); }

std::span<const config::FieldSpec> notifyFields() { return kNotifyFields; }

std::optional<std::string> readSecret(const config::Fields& f, const std::string& file_key,
                                      const std::string& env_key) {
  const auto file = f.optStr(file_key);
  const auto env = f.optStr(env_key);
  if (file && !file->empty() && env && !env->empty())
    f.fail(env_key, fmt::format("set {} or {}, not both", file_key, env_key));
  std::string secret;
  if (file && !file->empty()) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) f.fail(file_key, fmt::format("cannot read '{}'", *file));
    std::stringstream ss;
    ss << in.rdbuf();
    secret = trimmed(ss.str());
    if (secret.size() < 16) f.fail(file_key, fmt::format("'{}' must hold a secret of 16 characters or more", *file));
    return secret;
  }
  if (env && !env->empty()) {
    const char* value = std::getenv(env->c_str());
    secret = trimmed(value ? value : "");
    if (secret.size() < 16)
      f.fail(env_key, fmt::format("environment variable '{}' must hold a secret of 16 characters or more", *env));
    return secret;
  }
  return std::nullopt;
}

std::vector<Target> readTargets(const toml::table& root, const std::string& path) {
  std::vector<Target> out;
  const toml::node* list = root.get("notify");
  if (!list) return out;
  const toml::array* arr = list->as_array();
  if (!arr || !arr->is_array_of_tables())
    throw config::ConfigError(config::positionOf(*list, path), "'notify' must be an array of tables ([[notify]])");
  for (const auto& item : *arr) {
    const auto f = config::readFields(*item.as_table(), kNotifyFields, path, "[[notify]]");
    Target t;
    t.kind = f.str("kind");
    if (t.kind != "slack" && t.kind != "webhook") f.fail("kind", "expected slack or webhook");
    t.url_text = f.str("url");
    auto url = net::parseUrl(t.url_text);
    if (!url) f.fail("url", url.error().message);
    t.url = *url;
    t.secret = readSecret(f, "secret_file", "secret_env");
    if (f.has("events")) {
      for (const auto& name : f.strings("events")) {
        auto e = eventFromName(name);
        if (!e)
          f.fail("events", fmt::format("unknown event '{}'; expected one of {}", name, fmt::join(kEventNames, ", ")));
        if (!t.wants(*e)) t.events.push_back(*e);
      }
      if (t.events.empty()) f.fail("events", "list at least one event, or leave events out for all");
    } else {
      t.events.assign(std::begin(kAllEvents), std::end(kAllEvents));
    }
    t.unfixed_after = f.duration("unfixed_after");
    const auto attempts = f.integer("max_attempts");
    if (attempts < 1 || attempts > 100) f.fail("max_attempts", "expected 1..100");
    t.max_attempts = static_cast<int>(attempts);
    t.retry_initial = f.duration("retry_initial");
    t.retry_cap = f.duration("retry_cap");
    t.timeout = f.duration("timeout");
    if (t.retry_initial.count() <= 0 || t.retry_cap < t.retry_initial)
      f.fail("retry_cap", "expected 0 < retry_initial <= retry_cap");
    if (t.timeout.count() <= 0) f.fail("timeout", "expected a duration above zero");
    t.ca_file = f.str("ca_file");
    for (const auto& other : out)
      if (other.key() == t.key()) f.fail("url", "the same kind and url is configured twice");
    out.push_back(std::move(t));
  }
  return out;
}

std::string renderBody(const std::string& kind, const Message& m) {
  if (kind == "slack") {
    std::string text = summary(m);
    if (!m.link.empty()) text += fmt::format(" <{}|details>", m.link);
    return json{{"text", text}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return json{{"event", eventName(m.event)},
              {"node", m.node},
              {"region", m.region},
              {"check", m.check},
              {"issue", m.issue},
              {"severity", m.severity},
              {"message", m.message},
              {"summary", summary(m)},
              {"time", isoTime(m.time_ms)},
              {"time_ms", m.time_ms},
              {"link", m.link}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// The worker's own connection and statements.
struct Notifier::Db {
  explicit Db(const std::string& path)
      : db(path), insert(db,
                         "INSERT OR IGNORE INTO notifications(dedup_key, target, event, body, state, attempts, "
                         "next_attempt_ms, created_ms, last_error) VALUES(?, ?, ?, ?, 'pending', 0, ?, ?, '')"),
        due(db,
            "SELECT id, target, body, attempts FROM notifications WHERE state = 'pending' AND next_attempt_ms <= ? "
            "ORDER BY next_attempt_ms, id LIMIT 32"),
        mark(db, "UPDATE notifications SET state = ?, attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?"),
        depth(db, "SELECT count(*) FROM notifications WHERE state = 'pending'"),
        exists(db, "SELECT 1 FROM notifications WHERE dedup_key = ?"),
        get_state(db, "SELECT value FROM notify_state WHERE key = ?"),
        set_state(db,
                  "INSERT INTO notify_state(key, value) VALUES(?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
        remediations(db,
                     "SELECT r.node, n.region, r.issue_id, r.check_name, r.action, r.outcome, r.reason, r.at_ms "
                     "FROM remediations r JOIN nodes n ON n.node = r.node "
                     "WHERE r.at_ms >= ? AND (r.outcome = 'Failed' OR (r.outcome = 'Skipped' AND "
                     "r.reason LIKE 'circuit breaker open%')) ORDER BY r.at_ms"),
        unfixed(db,
                "SELECT i.node, n.region, i.issue_id, i.check_name, i.message, i.opened_at_ms, "
                "EXISTS(SELECT 1 FROM remediations r WHERE r.node = i.node AND r.issue_id = i.issue_id "
                "AND r.outcome = 'Failed') FROM issues i JOIN nodes n ON n.node = i.node "
                "WHERE i.closed_at_ms = 0 AND i.severity = 2"),
        prune(db, "DELETE FROM notifications WHERE state != 'pending' AND created_ms < ?") {}
  sqlite::Database db;
  sqlite::Statement insert, due, mark, depth, exists, get_state, set_state, remediations, unfixed, prune;
  std::mt19937_64 random{std::random_device{}()};
};

Notifier::Notifier(std::string database, Settings settings)
    : database_(std::move(database)), settings_(std::move(settings)) {}

Notifier::~Notifier() { stop(); }

void Notifier::start() {
  if (settings_.targets.empty() || worker_.joinable()) return;
  worker_ = std::thread([this] { loop(); });
}

void Notifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Notifier::regionFailover(const std::string& from, const std::string& to, uint64_t epoch,
                              const std::string& reason) {
  if (std::none_of(settings_.targets.begin(), settings_.targets.end(),
                   [](const Target& t) { return t.wants(Event::RegionFailover); }))
    return;
  Message m;
  m.event = Event::RegionFailover;
  m.region = from;
  m.issue = epoch;
  m.severity = "critical";
  m.message = fmt::format("region {} demoted, {} promoted (epoch {}): {}", from, to, epoch, reason);
  m.time_ms = unixMillisNow();
  if (!settings_.link_base.empty()) m.link = settings_.link_base + "/api/v1/regions";
  {
    std::lock_guard lock(mu_);
    failovers_.push_back(std::move(m));
  }
  cv_.notify_all();
}

void Notifier::loop() {
  for (;;) {
    try {
      runOnce();
    } catch (const std::exception& e) {
      // A busy database skips one pass; the queue is still there next time.
      log::error("notify", "notification pass failed", {{"error", e.what()}});
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, settings_.poll_interval, [this] { return stopping_ || !failovers_.empty(); });
    if (stopping_) return;
  }
}

void Notifier::runOnce() {
  std::lock_guard pass(pass_mu_);
  if (!db_) db_ = std::make_unique<Db>(database_);
  const int64_t now = unixMillisNow();
  scan(now);
  deliver(now);
  db_->depth.reset();
  counters_.depth = db_->depth.step() ? db_->depth.int64(0) : 0;
  db_->depth.reset();  // an unfinished read would pin an old snapshot and make the next write BUSY
}

void Notifier::enqueue(const Target& t, const Message& m, int64_t now_ms) {
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", t.key(), eventName(m.event), m.node, m.check, m.issue,
                                      m.event == Event::RegionFailover ? m.region : "");
  // Most passes see the same open issues again: skip rendering what is queued already.
  const bool known = db_->exists.with(key).step();
  db_->exists.reset();
  if (known) return;
  if (db_->insert.with(key, t.key(), eventName(m.event), renderBody(t.kind, m), now_ms, now_ms).run() > 0) {
    ++counters_.queued;
    log::info(
        "notify", "notification queued",
        {{"event", std::string(eventName(m.event))}, {"node", m.node}, {"check", m.check}, {"target", t.url_text}});
  }
}

void Notifier::scan(int64_t now) {
  std::vector<Message> failovers;
  {
    std::lock_guard lock(mu_);
    failovers.swap(failovers_);
  }
  auto fanOut = [&](const Message& m) {
    for (const auto& t : settings_.targets)
      if (t.wants(m.event)) enqueue(t, m, now);
  };
  auto link = [&](const std::string& node) {
    return settings_.link_base.empty() ? std::string() : settings_.link_base + "/api/v1/nodes/" + node;
  };
  sqlite::Transaction tx(db_->db);
  for (const auto& m : failovers) fanOut(m);

  // Remediation decisions since the watermark; agents' clocks may lag ours, so
  // look back further and let the dedup key drop what was queued before.
  constexpr int64_t kLookbackMs = 10 * 60 * 1000;
  auto state = [&](const char* key) -> std::optional<int64_t> {
    db_->get_state.with(key);
    std::optional<int64_t> v;
    if (db_->get_state.step()) v = db_->get_state.int64(0);
    db_->get_state.reset();
    return v;
  };
  // The first start sets a floor: history from before notifications were on is not replayed.
  const auto floor = state("remediations_floor");
  if (!floor) db_->set_state.with("remediations_floor", now).run();
  const int64_t from = floor ? std::max(*floor, state("remediations_after").value_or(now) - kLookbackMs) : now;
  db_->remediations.with(from);
  while (db_->remediations.step()) {
    auto& s = db_->remediations;
    Message m;
    m.node = s.text(0);
    m.region = s.text(1);
    m.issue = static_cast<uint64_t>(s.int64(2));
    m.check = s.text(3);
    const std::string action = s.text(4), outcome = s.text(5), reason = s.text(6);
    m.time_ms = s.int64(7);
    m.link = link(m.node);
    m.severity = "error";
    const bool breaker = reason.find("circuit breaker open") != std::string::npos;
    m.message = fmt::format("{}: {}", action, reason);
    if (outcome == "Failed") {
      m.event = Event::RemediationFailed;
      fanOut(m);
    }
    if (breaker) {
      m.event = Event::BreakerOpen;
      fanOut(m);
    }
  }
  db_->remediations.reset();
  db_->set_state.with("remediations_after", now).run();

  for (const auto& t : settings_.targets) {
    if (!t.wants(Event::UnfixedCritical)) continue;
    db_->unfixed.reset();
    while (db_->unfixed.step()) {
      auto& s = db_->unfixed;
      const int64_t opened = s.int64(5);
      const bool remedy_failed = s.int64(6) != 0;
      if (!remedy_failed && now - opened < t.unfixed_after.count()) continue;
      Message m;
      m.event = Event::UnfixedCritical;
      m.node = s.text(0);
      m.region = s.text(1);
      m.issue = static_cast<uint64_t>(s.int64(2));
      m.check = s.text(3);
      m.message = s.text(4);
      m.time_ms = opened;
      m.severity = "critical";
      m.link = link(m.node);
      enqueue(t, m, now);
    }
    db_->unfixed.reset();
  }
  // Delivered and abandoned rows are kept a week (dedup, inspection).
  db_->prune.with(now - int64_t{7} * 24 * 3600 * 1000).run();
  tx.commit();
}

void Notifier::deliver(int64_t now) {
  struct Due {
    int64_t id;
    std::string target, body;
    int attempts;
  };
  std::vector<Due> due;
  db_->due.with(now);
  while (db_->due.step())
    due.push_back({db_->due.int64(0), db_->due.text(1), db_->due.text(2), static_cast<int>(db_->due.int64(3))});
  db_->due.reset();
  for (auto& d : due) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    const Target* t = nullptr;
    for (const auto& candidate : settings_.targets)
      if (candidate.key() == d.target) t = &candidate;
    if (!t) {
      db_->mark.with("failed", d.attempts, now, "target no longer configured", d.id).run();
      ++counters_.failed;
      continue;
    }
    net::HttpRequest req;
    req.method = "POST";
    req.body = d.body;
    req.headers = {{"Content-Type", "application/json"}};
    if (t->secret)
      req.headers.emplace_back("X-Hale-Signature-256", [&] {
        const auto mac = crypto::hmacSha256({reinterpret_cast<const uint8_t*>(t->secret->data()), t->secret->size()},
                                            {reinterpret_cast<const uint8_t*>(d.body.data()), d.body.size()});
        return "sha256=" + crypto::toHex(mac);
      }());
    net::TlsOptions tls;
    std::string error;
    if (t->url.https) {
      auto trust = net::TlsTrust::load(t->ca_file);
      if (trust)
        tls.verify_with = *trust;
      else
        error = trust.error().message;
    }
    if (error.empty()) {
      auto r = net::httpRequest(t->url, req, tls, std::chrono::steady_clock::now() + t->timeout, 64 * 1024);
      if (!r)
        error = r.error().message;
      else if (r->status < 200 || r->status > 299)
        error = fmt::format("HTTP {}", r->status);
    }
    const int attempts = d.attempts + 1;
    if (error.empty()) {
      db_->mark.with("sent", attempts, now, "", d.id).run();
      ++counters_.sent;
      continue;
    }
    if (attempts >= t->max_attempts) {
      db_->mark.with("failed", attempts, now, error, d.id).run();
      ++counters_.failed;
      log::error("notify", "notification abandoned",
                 {{"target", t->url_text}, {"attempts", std::to_string(attempts)}, {"error", error}});
      continue;
    }
    // Doubling base up to the cap, then a random point in [base/2, base].
    double base = static_cast<double>(t->retry_initial.count());
    for (int i = 1; i < attempts && base < static_cast<double>(t->retry_cap.count()); ++i) base *= 2;
    base = std::min(base, static_cast<double>(t->retry_cap.count()));
    const double delay = base / 2 + std::uniform_real_distribution<double>(0, base / 2)(db_->random);
    db_->mark.with("pending", attempts, now + static_cast<int64_t>(delay), error, d.id).run();
    ++counters_.retries;
    log::warn("notify", "notification delivery failed; will retry",
              {{"target", t->url_text}, {"attempt", std::to_string(attempts)}, {"error", error}});
  }
}

void Notifier::appendMetrics(std::string& out) const {
  out += fmt::format(
      "# HELP hale_notifications_sent_total Outgoing notifications delivered.\n"
      "# TYPE hale_notifications_sent_total counter\nhale_notifications_sent_total {}\n"
      "# HELP hale_notifications_failed_total Outgoing notifications abandoned after max_attempts.\n"
      "# TYPE hale_notifications_failed_total counter\nhale_notifications_failed_total {}\n"
      "# HELP hale_notifications_retries_total Failed delivery attempts that were rescheduled.\n"
      "# TYPE hale_notifications_retries_total counter\nhale_notifications_retries_total {}\n"
      "# HELP hale_notifications_queue_depth Notifications waiting for delivery.\n"
      "# TYPE hale_notifications_queue_depth gauge\nhale_notifications_queue_depth {}\n",
      counters_.sent.load(), counters_.failed.load(), counters_.retries.load(), counters_.depth.load());
}

}  // namespace hale::aggregator::notify
