// `cmake --install`: what lands where, paths rewritten for the prefix, and an existing config
// that is never overwritten.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "install/install_support.hpp"

namespace qetl::test {
namespace {

std::string read_text(const fs::path& path) { return slurp(path.string()); }

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The .sql files of one source folder, by name.
std::set<std::string> sql_files(const fs::path& dir) {
  std::set<std::string> names;
  if (!fs::is_directory(dir)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") names.insert(entry.path().filename().string());
  }
  return names;
}

TEST(InstallTree, PrefixUsrIntoDestdir) {
  TempDir dir;
  const std::string root = dir.file("root");
  const ProcessResult install = cmake_install("/usr", root, dir.path().string());
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  const fs::path r(root);

  const fs::path binary = r / "usr/bin/qonversion-etl";
  ASSERT_TRUE(fs::is_regular_file(binary)) << binary;
  EXPECT_EQ(::access(binary.c_str(), X_OK), 0) << binary << " is not executable";
  const ProcessResult version = spawn({binary.string(), "--version"}, {}, dir.path().string());
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("qonversion-etl ", 0), 0u) << version.out;

  // With the prefix /usr the paths in the units are already right: installed as they are.
  for (const auto& unit : kUnitFiles) {
    const fs::path installed = r / "usr/lib/systemd/system" / unit;
    ASSERT_TRUE(fs::is_regular_file(installed)) << installed;
    EXPECT_EQ(read_text(installed), read_text(fs::path(QETL_SOURCE_DIR) / "systemd" / unit)) << unit;
    EXPECT_EQ(mode_of(installed), 0644u) << unit;
  }

  // GNUInstallDirs puts the config of the prefix /usr in /etc, not /usr/etc.
  const fs::path config = r / "etc/qonversion-etl/config.toml";
  ASSERT_TRUE(fs::is_regular_file(config)) << config;
  EXPECT_FALSE(fs::exists(r / "usr/etc"));
  const std::string default_config = read_text(fs::path(QETL_SOURCE_DIR) / "config/config.installed.toml");
  EXPECT_EQ(read_text(config), default_config);
  // The service's dynamic user has to read it.
  EXPECT_EQ(mode_of(config), 0644u);
  EXPECT_EQ(read_text(r / "usr/share/qonversion-etl/config.toml"), default_config);

  for (const std::string folder : {"postgres", "sqlite", "examples"}) {
    const fs::path source = fs::path(QETL_SOURCE_DIR) / "sql" / folder;
    const fs::path installed = r / "usr/share/qonversion-etl" / folder;
    EXPECT_TRUE(fs::is_directory(installed)) << installed;
    EXPECT_EQ(sql_files(installed), sql_files(source)) << folder;
    for (const auto& name : sql_files(source)) {
      EXPECT_EQ(read_text(installed / name), read_text(source / name)) << folder << "/" << name;
    }
  }
  EXPECT_FALSE(sql_files(r / "usr/share/qonversion-etl/postgres").empty());
  EXPECT_FALSE(sql_files(r / "usr/share/qonversion-etl/sqlite").empty());

  // The installed binary accepts the installed config as it is.
  const ProcessResult plan = spawn({binary.string(), "plan", "--config", config.string()}, {}, dir.path().string());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(has(plan.out, " cells across 1 project(s)")) << plan.out;
}

TEST(InstallTree, SecondInstallKeepsAnEditedConfig) {
  TempDir dir;
  const std::string root = dir.file("root");
  ASSERT_EQ(cmake_install("/usr", root, dir.path().string()).exit_code, 0);
  const std::string config = root + "/etc/qonversion-etl/config.toml";
  const std::string edited = read_text(config) + "# edited by the administrator\n";
  write_text(config, edited, 0640);

  const ProcessResult again = cmake_install("/usr", root, dir.path().string());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(read_text(config), edited);
  EXPECT_EQ(mode_of(config), 0640u);
  EXPECT_TRUE(has(again.out, "Keeping: " + config)) << again.out;
  // The rest is installed again as usual.
  EXPECT_TRUE(has(again.out, "/usr/lib/systemd/system/qonversion-etl.service")) << again.out;

  // A symlinked config (to a file kept elsewhere) is left alone too, even when dangling.
  fs::remove(config);
  fs::create_symlink("/nonexistent/qonversion-etl.toml", config);
  ASSERT_EQ(cmake_install("/usr", root, dir.path().string()).exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(config));
  EXPECT_EQ(fs::read_symlink(config), "/nonexistent/qonversion-etl.toml");
}

// Another prefix: the units name the binary and the config directory where they were installed,
// following GNUInstallDirs (/opt/<name> keeps its config in /etc/opt/<name>).
TEST(InstallTree, UnitsNameThePathsOfAnotherPrefix) {
  TempDir dir;
  const std::string root = dir.file("root");
  ASSERT_EQ(cmake_install("/opt/qetl", root, dir.path().string()).exit_code, 0);
  EXPECT_TRUE(fs::is_regular_file(root + "/opt/qetl/bin/qonversion-etl"));
  EXPECT_TRUE(fs::is_regular_file(root + "/etc/opt/qetl/qonversion-etl/config.toml"));

  const UnitFile service = UnitFile::read(root + "/opt/qetl/lib/systemd/system/qonversion-etl.service");
  EXPECT_EQ(service.get("Service", "ExecStart"),
            "/opt/qetl/bin/qonversion-etl run --resume --config /etc/opt/qetl/qonversion-etl/config.toml");
  EXPECT_EQ(service.get("Service", "LoadCredential"), "qonversion-api-key:/etc/opt/qetl/qonversion-etl/api-key");
  const UnitFile instance = UnitFile::read(root + "/opt/qetl/lib/systemd/system/qonversion-etl@.service");
  EXPECT_EQ(instance.get("Service", "ExecStart"),
            "/opt/qetl/bin/qonversion-etl run --resume --config /etc/opt/qetl/qonversion-etl/%i.toml");
  EXPECT_EQ(instance.get("Service", "LoadCredential"),
            "qonversion-api-key:/etc/opt/qetl/qonversion-etl/%i.api-key");
  // Nothing of the /usr layout is left behind.
  for (const auto& unit : kUnitFiles) {
    const std::string text = read_text(root + "/opt/qetl/lib/systemd/system/" + unit);
    EXPECT_FALSE(has(text, "/usr/bin/")) << unit;
    EXPECT_FALSE(has(text, " /etc/qonversion-etl") || has(text, ":/etc/qonversion-etl")) << unit;
  }
}

// A path systemd would split or expand cannot go into ExecStart=: the install says so.
TEST(InstallTree, PrefixTheUnitsCannotNameIsRefused) {
  TempDir dir;
  const ProcessResult install = cmake_install(dir.file("with space"), "", dir.path().string());
  EXPECT_NE(install.exit_code, 0);
  EXPECT_TRUE(has(install.err, "cannot write")) << install.out << install.err;
}

}  // namespace
}  // namespace qetl::test
