// The admin API: what the probes and scrapers get, before and after the control thread
// publishes, and the Prometheus and JSON renderings of a node's counters.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "control/admin_server.h"
#include "control/node_metrics.h"

namespace palisade::control {
namespace {

httplib::Result get(uint16_t port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5);
  return c.Get(path);
}

TEST(AdminServer, NotReadyUntilPublishedThenServesTheView) {
  auto admin = AdminServer::start("127.0.0.1:0");
  ASSERT_TRUE(admin) << admin.error().to_string();
  const uint16_t port = (*admin)->port();
  ASSERT_NE(port, 0);

  auto ready = get(port, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("no policy generation"), std::string::npos);
  auto health = get(port, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  AdminView view;
  view.ready = true;
  view.readiness = "ready: generation 7 in force";
  view.metrics = "palisade_generation 7\n";
  view.stats_json = R"({"generation":7})";
  (*admin)->publish(view);
  ready = get(port, "/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready: generation 7 in force\n");
  auto metrics = get(port, "/metrics");
  EXPECT_EQ(metrics->body, "palisade_generation 7\n");
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_EQ(get(port, "/stats")->body, R"({"generation":7})");
  EXPECT_EQ(get(port, "/nothing")->status, 404);
}

TEST(AdminServer, FlowsAreServedAfterASequenceNumberAndBounded) {
  auto admin = AdminServer::start("127.0.0.1:0");
  ASSERT_TRUE(admin);
  for (size_t i = 0; i < AdminServer::kFlowLines + 10; ++i) {
    (*admin)->add_flow_line("flow " + std::to_string(i));
  }
  auto all = nlohmann::json::parse(get((*admin)->port(), "/flows")->body);
  ASSERT_EQ(all.size(), AdminServer::kFlowLines);  // the oldest 10 are gone
  EXPECT_EQ(all.front()["line"], "flow 10");
  const uint64_t last = all.back()["seq"];
  (*admin)->add_flow_line("newest");
  auto after =
      nlohmann::json::parse(get((*admin)->port(), "/flows?after=" + std::to_string(last))->body);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["line"], "newest");
  EXPECT_EQ(get((*admin)->port(), "/flows?after=x")->status, 400);
}

TEST(AdminServer, BadListenAddressesAreErrorsOnTheField) {
  for (const char* bad : {"9090", "localhost:", "127.0.0.1:70000", ":80"}) {
    auto admin = AdminServer::start(bad);
    ASSERT_FALSE(admin) << bad;
    EXPECT_EQ(admin.error().field, "admin.listen") << bad;
  }
  auto first = AdminServer::start("127.0.0.1:0");
  ASSERT_TRUE(first);
  auto taken = AdminServer::start("127.0.0.1:" + std::to_string((*first)->port()));
  ASSERT_FALSE(taken);  // the port is in use
  EXPECT_NE(taken.error().to_string().find("cannot listen"), std::string::npos);
}

NodeSample sample() {
  NodeSample s;
  s.node = "node-a";
  s.generation = 3;
  s.workers.resize(2);
  s.workers[0].counts[static_cast<size_t>(dataplane::Counter::Rx)] = 10;
  s.workers[1].counts[static_cast<size_t>(dataplane::Counter::Rx)] = 5;
  s.workers[1].drops[static_cast<size_t>(dataplane::Drop::PolicyDenied)] = 4;
  s.workers[0].port_rx[1] = 9;
  s.port_names = {"uplink", "pod-\"a\""};
  s.conntrack_live = 2;
  s.conntrack_capacity = 1024;
  s.verdicts.push_back({"default/allow-web", "allow", 0, 6});
  s.control.source = "kubernetes https://127.0.0.1:6443";
  s.control.in_sync = true;
  s.control.source_state = "in sync";
  return s;
}

TEST(NodeMetrics, PrometheusTextCarriesEveryCounterWithItsLabels) {
  LatencyHistogram h;
  h.record(0.004);
  h.record(0.3);
  NodeSample s = sample();
  s.control.event_to_enforcement = &h;
  const std::string text = render_prometheus(s);
  EXPECT_NE(text.find("palisade_generation 3\n"), std::string::npos);
  EXPECT_NE(text.find("palisade_ready 1\n"), std::string::npos);
  EXPECT_NE(text.find("palisade_worker_rx_packets_total{worker=\"1\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("palisade_drops_total{worker=\"1\",reason=\"policy_denied\"} 4\n"),
            std::string::npos);
  // Label values are escaped.
  EXPECT_NE(text.find("palisade_port_rx_packets_total{port=\"pod-\\\"a\\\"\",worker=\"0\"} 9\n"),
            std::string::npos);
  EXPECT_NE(text.find("palisade_policy_verdict_hits_total{generation=\"3\",decided_by=\"default/"
                      "allow-web\",kind=\"allow\",rule=\"0\"} 6\n"),
            std::string::npos);
  EXPECT_NE(text.find("palisade_event_to_enforcement_seconds_bucket{le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("palisade_event_to_enforcement_seconds_bucket{le=\"0.5\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("palisade_event_to_enforcement_seconds_count 2\n"), std::string::npos);
  // Every sample line belongs to a declared metric.
  std::istringstream lines(text);
  std::set<std::string> declared;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      declared.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (!line.starts_with("#")) {
      std::string name = line.substr(0, line.find_first_of("{ "));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix) && !declared.contains(name)) {
          name = name.substr(0, name.size() - std::string(suffix).size());
        }
      }
      EXPECT_TRUE(declared.contains(name)) << line;
    }
  }
}

TEST(NodeMetrics, NotReadyWhenTheSourceIsOutOfSync) {
  NodeSample s = sample();
  s.control.in_sync = false;
  EXPECT_NE(render_prometheus(s).find("palisade_ready 0\n"), std::string::npos);
}

TEST(NodeMetrics, StatsJsonAddsPortsUpAcrossWorkers) {
  const auto j = nlohmann::json::parse(render_stats_json(sample()));
  EXPECT_EQ(j["generation"], 3);
  EXPECT_EQ(j["workers"].size(), 2u);
  EXPECT_EQ(j["workers"][1]["drops"]["policy_denied"], 4);
  EXPECT_EQ(j["ports"][1]["name"], "pod-\"a\"");
  EXPECT_EQ(j["ports"][1]["rx"], 9);
  EXPECT_EQ(j["verdicts"][0]["hits"], 6);
  EXPECT_EQ(j["control"]["state"], "in sync");
}

TEST(LatencyHistogram, QuantilesOfRecentSamples) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), 0);
  for (int i = 1; i <= 100; ++i) {
    h.record(i / 1000.0);
  }
  EXPECT_NEAR(h.quantile(0.5), 0.050, 0.0015);
  EXPECT_NEAR(h.quantile(0.99), 0.099, 0.0015);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.bucket(3), 10u);  // <= 10 ms
}

}  // namespace
}  // namespace palisade::control
