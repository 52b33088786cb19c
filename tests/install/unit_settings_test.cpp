// The settings the services are built on, read from the units in systemd/. The exposure score
// alone would not notice some of them going (the job running as root still rates 1.7), and the
// template must not drift from the plain service.
#include <gtest/gtest.h>

#include "install/install_support.hpp"

namespace qetl::test {
namespace {

UnitFile source_unit(const std::string& name) { return UnitFile::read(std::string(QETL_SOURCE_DIR) + "/systemd/" + name); }

class ServiceSettings : public ::testing::TestWithParam<std::string> {};

TEST_P(ServiceSettings, OneshotRetriedAndSandboxed) {
  const UnitFile unit = source_unit(GetParam());
  const std::map<std::string, std::string> expected = {
      // How it runs and is retried.
      {"Type", "oneshot"},
      {"TimeoutStartSec", "infinity"},
      {"Restart", "on-failure"},
      {"RestartPreventExitStatus", "64 65 77 78"},
      {"SuccessExitStatus", "130 143"},
      {"CPUSchedulingPolicy", "batch"},
      {"Nice", "10"},
      {"IOSchedulingClass", "best-effort"},
      {"IOSchedulingPriority", "7"},
      // Who it runs as, and what it may touch.
      {"DynamicUser", "yes"},
      {"UMask", "0077"},
      {"NoNewPrivileges", "yes"},
      {"PrivateUsers", "yes"},
      {"ProtectSystem", "strict"},
      {"ProtectHome", "yes"},
      {"PrivateTmp", "yes"},
      {"PrivateDevices", "yes"},
      {"DevicePolicy", "closed"},
      {"ProtectKernelTunables", "yes"},
      {"ProtectKernelModules", "yes"},
      {"ProtectKernelLogs", "yes"},
      {"ProtectControlGroups", "yes"},
      {"ProtectClock", "yes"},
      {"ProtectHostname", "yes"},
      {"ProtectProc", "invisible"},
      {"ProcSubset", "pid"},
      // Outbound TCP (the API, PostgreSQL) and a Unix socket (a local PostgreSQL), nothing else.
      {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
      {"RestrictNamespaces", "yes"},
      {"RestrictRealtime", "yes"},
      {"RestrictSUIDSGID", "yes"},
      {"LockPersonality", "yes"},
      {"MemoryDenyWriteExecute", "yes"},
      {"RemoveIPC", "yes"},
      {"SystemCallArchitectures", "native"},
  };
  for (const auto& [key, value] : expected) EXPECT_EQ(unit.get("Service", key), value) << GetParam() << ": " << key;
  // Present and empty: no capabilities at all.
  EXPECT_EQ(unit.keys("Service").count("CapabilityBoundingSet"), 1u);
  EXPECT_EQ(unit.get("Service", "CapabilityBoundingSet"), "");
  EXPECT_EQ(unit.all("Service", "SystemCallFilter"),
            (std::vector<std::string>{"@system-service", "~@privileged @resources"}));
  EXPECT_NE(unit.get("Service", "RestartSec"), "");
  EXPECT_NE(unit.get("Unit", "StartLimitIntervalSec"), "");
  EXPECT_NE(unit.get("Unit", "StartLimitBurst"), "");
  // Every start, retries included, fetches only the cells still missing from the snapshot.
  const auto argv = split_command_line(unit.get("Service", "ExecStart"));
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--resume"), 1) << unit.get("Service", "ExecStart");
}

INSTANTIATE_TEST_SUITE_P(Units, ServiceSettings, ::testing::Values("qonversion-etl.service", "qonversion-etl@.service"),
                         [](const auto& info) { return info.param == "qonversion-etl.service" ? "plain" : "template"; });

// The template is the plain service with the instance name in its paths, and nothing else changed.
TEST(TemplateService, DiffersFromThePlainServiceOnlyInItsPaths) {
  const UnitFile plain = source_unit("qonversion-etl.service");
  const UnitFile templ = source_unit("qonversion-etl@.service");
  const std::map<std::string, std::string> per_instance = {
      {"ExecStart", "/usr/bin/qonversion-etl run --resume --config /etc/qonversion-etl/%i.toml"},
      {"LoadCredential", "qonversion-api-key:/etc/qonversion-etl/%i.api-key"},
      {"StateDirectory", "qonversion-etl/%i"},
  };
  EXPECT_EQ(plain.keys("Service"), templ.keys("Service"));
  for (const auto& key : plain.keys("Service")) {
    const auto it = per_instance.find(key);
    if (it == per_instance.end()) {
      EXPECT_EQ(plain.all("Service", key), templ.all("Service", key)) << key;
    } else {
      EXPECT_EQ(templ.get("Service", key), it->second) << key;
    }
  }
  EXPECT_EQ(plain.get("Service", "ExecStart"),
            "/usr/bin/qonversion-etl run --resume --config /etc/qonversion-etl/config.toml");
  EXPECT_EQ(plain.get("Service", "LoadCredential"), "qonversion-api-key:/etc/qonversion-etl/api-key");
  EXPECT_EQ(plain.get("Service", "StateDirectory"), "qonversion-etl");
  EXPECT_EQ(plain.keys("Unit"), templ.keys("Unit"));
  for (const auto& key : plain.keys("Unit")) {
    if (key != "Description") {
      EXPECT_EQ(plain.all("Unit", key), templ.all("Unit", key)) << key;
    }
  }

  const UnitFile plain_timer = source_unit("qonversion-etl.timer");
  const UnitFile template_timer = source_unit("qonversion-etl@.timer");
  EXPECT_EQ(plain_timer.keys("Timer"), template_timer.keys("Timer"));
  for (const auto& key : plain_timer.keys("Timer")) {
    EXPECT_EQ(plain_timer.all("Timer", key), template_timer.all("Timer", key)) << key;
  }
}

}  // namespace
}  // namespace qetl::test
