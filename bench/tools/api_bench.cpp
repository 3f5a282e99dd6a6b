// API latency benchmark tool.
//   hale-api-bench seed DB NODES REGIONS   fills an aggregator database with NODES
//       simulated nodes (10 checks each over all components, ~5 % with an open
//       critical issue, ~10 % offline) through the same Store::ingest the
//       aggregator uses, so the schema and indexes are the real ones.
//   hale-api-bench get PORT PATH REQUESTS  sends REQUESTS sequential GETs over one
//       keep-alive connection to 127.0.0.1:PORT and prints
//       `p50_ms p99_ms max_ms` of the request-to-last-byte latency.
#include "aggregator/storage/store.h"
#include "shared/util/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace hale;

int seed(const std::string& path, int nodes, int regions) {
  aggregator::storage::Store store(path);
  const int64_t now = unixMillisNow();
  constexpr int kChecks = 10;
  std::vector<aggregator::storage::IngestItem> batch;
  for (int n = 0; n < nodes; ++n) {
    aggregator::storage::IngestItem item;
    item.node = "node" + std::to_string(n);
    item.region = "region" + std::to_string(n % regions);
    item.seq = 1;
    item.sent_at_ms = item.received_ms = now;
    wire::HeartbeatRecord hb;
    hb.agent_version = "bench";
    hb.interval_ms = 30'000;
    hb.checks_total = kChecks;
    item.heartbeat = hb;
    batch.push_back(item);
    item.heartbeat.reset();
    item.seq = 2;
    for (int c = 0; c < kChecks; ++c) {
      wire::ResultRecord r;
      r.check = "check" + std::to_string(c);
      r.kind = "disk";
      r.component = static_cast<wire::Component>(c % 5);
      r.status = (n % 20 == 0 && c == 0) ? wire::CheckStatus::Crit : wire::CheckStatus::Ok;
      r.message = "fine";
      r.observed_at_ms = now;
      item.results.push_back(r);
    }
    batch.push_back(item);
    item.results.clear();
    if (n % 20 == 0) {
      item.seq = 3;
      wire::IssueRecord issue;
      issue.issue_id = 1;
      issue.check = "check0";
      issue.state = wire::IssueState::Opened;
      issue.status = issue.severity = wire::CheckStatus::Crit;
      issue.message = "simulated";
      issue.opened_at_ms = now;
      item.issue = issue;
      batch.push_back(item);
    }
    if (batch.size() >= 2000) {
      store.ingest(batch);
      batch.clear();
    }
  }
  store.ingest(batch);
  for (int n = 0; n < nodes; ++n)
    store.nodes().setOnline("node" + std::to_string(n), "region" + std::to_string(n % regions), n % 10 != 0, now);
  std::printf("seeded %d nodes in %d regions\n", nodes, regions);
  return 0;
}

// Reads one HTTP/1.1 response (Content-Length framed, as RESTinio sends).
bool readResponse(int fd, std::string& buf) {
  size_t header_end;
  char chunk[65536];
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) return false;
    buf.append(chunk, static_cast<size_t>(got));
  }
  const auto cl = buf.find("Content-Length:");
  const size_t length =
      cl == std::string::npos || cl > header_end ? 0 : std::strtoul(buf.c_str() + cl + 15, nullptr, 10);
  while (buf.size() < header_end + 4 + length) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) return false;
    buf.append(chunk, static_cast<size_t>(got));
  }
  const bool ok = buf.compare(0, 12, "HTTP/1.1 200") == 0;
  buf.erase(0, header_end + 4 + length);
  return ok;
}

int get(int port, const std::string& path, int requests) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    return 1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  std::vector<double> ms;
  std::string buf;
  for (int i = 0; i < requests; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()) || !readResponse(fd, buf)) {
      std::fprintf(stderr, "request %d to %s failed\n", i, path.c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  std::printf("%.3f %.3f %.3f\n", at(0.50), at(0.99), ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "seed" && argc == 5) return seed(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "get" && argc == 5) return get(std::atoi(argv[2]), argv[3], std::atoi(argv[4]));
  std::fprintf(stderr, "usage: hale-api-bench seed DB NODES REGIONS | get PORT PATH REQUESTS\n");
  return 64;
}
