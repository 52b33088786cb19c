// The installed units as systemd judges them: `systemd-analyze verify` finds nothing to say
// about any of them (the binary in ExecStart= included), and `systemd-analyze security` rates the
// services' exposure at 2.0 or less. Each check is also shown to fail on a broken copy, so it
// cannot pass by checking nothing.
#include <gtest/gtest.h>

#include <regex>

#include "install/install_support.hpp"

namespace qetl::test {
namespace {

// The exposure SPEC's hardening asks for, and the same as systemd-analyze's --threshold (which
// counts in tenths: 2.0 is 20).
constexpr double kMaxExposure = 2.0;
constexpr const char* kThreshold = "--threshold=20";

// Installs with a prefix inside a temporary directory, so that ExecStart= names the staged
// binary and verify checks that very file.
class InstalledUnits : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProcessResult install = cmake_install(prefix(), "", dir_.path().string());
    ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  }
  std::string prefix() const { return dir_.file("prefix"); }
  std::string unit_dir() const { return prefix() + "/lib/systemd/system"; }
  std::string unit(const std::string& name) const { return unit_dir() + "/" + name; }
  std::string scratch() const { return dir_.path().string(); }

  // A copy of an installed unit with `edit` applied, in a directory of its own (with the other
  // units, so a timer still finds its service).
  std::string broken_copy(const std::string& name, const std::string& line_start, const std::string& replacement) {
    const std::string copy_dir = dir_.file("broken");
    fs::create_directories(copy_dir);
    for (const auto& u : kUnitFiles) fs::copy_file(unit(u), copy_dir + "/" + u, fs::copy_options::overwrite_existing);
    const std::string path = copy_dir + "/" + name;
    write_text(path, replace_line(slurp(unit(name)), line_start, replacement));
    return path;
  }

  ProcessResult verify(const std::string& path) { return run_systemd_analyze({"verify", path}, scratch()); }

  TempDir dir_;
};

// verify prints a line for every problem, warnings included (an unknown directive, a value it
// ignores) while still exiting 0: both the exit status and the silence count.
void expect_clean(const ProcessResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 0) << what << ":\n" << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << what;
}

TEST_F(InstalledUnits, VerifyFindsNothingToSay) {
  for (const auto& name : kUnitFiles) expect_clean(verify(unit(name)), name);
  // Templates through an instance name as well, as `systemctl start qonversion-etl@myapp` loads them.
  expect_clean(verify(unit("qonversion-etl@myapp.service")), "qonversion-etl@myapp.service");
  expect_clean(verify(unit("qonversion-etl@myapp.timer")), "qonversion-etl@myapp.timer");
  // The binary verify checked is the staged one.
  EXPECT_EQ(split_command_line(UnitFile::read(unit("qonversion-etl.service")).get("Service", "ExecStart")).at(0),
            prefix() + "/bin/qonversion-etl");
}

TEST_F(InstalledUnits, VerifyRejectsBrokenCopies) {
  const ProcessResult missing_binary = verify(
      broken_copy("qonversion-etl.service", "ExecStart=", "ExecStart=" + prefix() + "/bin/no-such-binary run"));
  EXPECT_NE(missing_binary.exit_code, 0);
  EXPECT_TRUE(has(missing_binary.err, "no-such-binary")) << missing_binary.err;

  const ProcessResult bad_calendar = verify(broken_copy("qonversion-etl@.timer", "OnCalendar=", "OnCalendar=nightly-ish"));
  EXPECT_NE(bad_calendar.exit_code, 0);
  EXPECT_TRUE(has(bad_calendar.err, "calendar")) << bad_calendar.err;

  // Exits 0, but says so: what expect_clean() catches.
  const ProcessResult typo = verify(broken_copy("qonversion-etl.service", "ProtectHome=", "ProtectHom=yes"));
  EXPECT_TRUE(has(typo.out + typo.err, "ProtectHom")) << typo.out << typo.err;
}

// "Overall exposure level for qonversion-etl.service: 1.1 OK" -> 1.1 (or -1 when absent).
double exposure(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("Overall exposure level for [^:]+: ([0-9]+\\.[0-9]+)"))) return -1;
  return std::stod(m[1]);
}

TEST_F(InstalledUnits, SecurityExposureAtMostTwo) {
  for (const std::string name : {"qonversion-etl.service", "qonversion-etl@.service", "qonversion-etl@myapp.service"}) {
    const ProcessResult r = run_systemd_analyze({"security", "--offline=true", kThreshold, unit(name)}, scratch());
    EXPECT_EQ(r.exit_code, 0) << name << ":\n" << r.out << r.err;
    const double level = exposure(r.out);
    EXPECT_GE(level, 0.0) << name << ": no exposure level in:\n" << r.out << r.err;
    EXPECT_LE(level, kMaxExposure) << name << ":\n" << r.out;
    std::cout << name << ": overall exposure " << level << "\n";
    ::testing::Test::RecordProperty(name + " exposure", std::to_string(level));
  }
}

TEST_F(InstalledUnits, SecurityRejectsAnUnhardenedCopy) {
  // The same service without its sandbox: everything from the hardening block on, and the
  // dynamic user, gone.
  const std::string text = slurp(unit("qonversion-etl.service"));
  const auto hardening = text.find("\n# Hardening.");
  ASSERT_NE(hardening, std::string::npos) << "the service has no '# Hardening.' block";
  const std::string path = dir_.file("plain/qonversion-etl.service");
  write_text(path, replace_line(text.substr(0, hardening + 1), "DynamicUser=", "DynamicUser=no"));

  const ProcessResult r = run_systemd_analyze({"security", "--offline=true", kThreshold, path}, scratch());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_GT(exposure(r.out), kMaxExposure) << r.out;
}

// The timers: nightly in UTC, caught up after downtime, spread out; each starts its service.
TEST_F(InstalledUnits, TimersAreNightlyInUtc) {
  for (const std::string name : {"qonversion-etl.timer", "qonversion-etl@.timer"}) {
    const UnitFile timer = UnitFile::read(unit(name));
    const std::string calendar = timer.get("Timer", "OnCalendar");
    EXPECT_TRUE(has(calendar, " UTC")) << name << ": " << calendar;
    EXPECT_EQ(timer.get("Timer", "Persistent"), "true") << name;
    EXPECT_NE(timer.get("Timer", "RandomizedDelaySec"), "") << name;
    EXPECT_EQ(timer.get("Timer", "Unit"), "") << name << ": the timer starts the service of its own name";
    EXPECT_EQ(timer.get("Install", "WantedBy"), "timers.target") << name;

    // systemd understands it as once a day at 02:15 UTC (shown in UTC, whatever the host's zone).
    const ProcessResult next = run_systemd_analyze({"calendar", "--iterations=2", calendar}, scratch(), {{"TZ", "UTC"}});
    ASSERT_EQ(next.exit_code, 0) << next.err;
    EXPECT_TRUE(has(next.out, "Normalized form: *-*-* 02:15:00 UTC")) << next.out;
    std::smatch first, second;
    ASSERT_TRUE(std::regex_search(next.out, first, std::regex("Next elapse: [A-Za-z]{3} ([0-9-]{10}) 02:15:00 UTC")))
        << next.out;
    ASSERT_TRUE(std::regex_search(next.out, second, std::regex("Iter. #2: [A-Za-z]{3} ([0-9-]{10}) 02:15:00 UTC")))
        << next.out;
    EXPECT_NE(first[1], second[1]) << "two elapses on the same day:\n" << next.out;
  }
}

}  // namespace
}  // namespace qetl::test
