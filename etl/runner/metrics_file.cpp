#include "runner/metrics_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "util/errors.hpp"

namespace qetl {
namespace {

constexpr const char* kLastSuccess = "qonversion_etl_last_success_timestamp_seconds";

void series(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_run_metrics(const RunSummary& s, std::optional<UnixSeconds> last_success) {
  const RunRecord& r = s.record;
  const UnixSeconds finished = r.finished_at.value_or(r.started_at);
  if (r.status == "succeeded") last_success = finished;
  std::ostringstream out;
  series(out, "qonversion_etl_last_run_start_timestamp_seconds", "gauge", "When the last run started (Unix time).");
  out << "qonversion_etl_last_run_start_timestamp_seconds " << r.started_at << '\n';
  series(out, "qonversion_etl_last_run_end_timestamp_seconds", "gauge", "When the last run ended (Unix time).");
  out << "qonversion_etl_last_run_end_timestamp_seconds " << finished << '\n';
  if (last_success) {
    series(out, kLastSuccess, "gauge", "When the last run that loaded every cell ended (Unix time).");
    out << kLastSuccess << ' ' << *last_success << '\n';
  }
  series(out, "qonversion_etl_last_run_status", "gauge", "1 for the status the last run ended with.");
  for (const char* status : {"succeeded", "partial", "failed", "interrupted"}) {
    out << "qonversion_etl_last_run_status{status=\"" << status << "\"} " << (r.status == status ? 1 : 0) << '\n';
  }
  series(out, "qonversion_etl_last_run_exit_code", "gauge", "Exit code of the last run.");
  out << "qonversion_etl_last_run_exit_code " << static_cast<int>(s.exit_code) << '\n';
  series(out, "qonversion_etl_last_run_duration_seconds", "gauge", "Wall time of the last run.");
  out << "qonversion_etl_last_run_duration_seconds " << (finished - r.started_at) << '\n';
  series(out, "qonversion_etl_last_run_cells", "gauge", "Cells of the last run by outcome.");
  out << "qonversion_etl_last_run_cells{outcome=\"planned\"} " << r.cells_planned << '\n';
  out << "qonversion_etl_last_run_cells{outcome=\"succeeded\"} " << r.cells_succeeded << '\n';
  out << "qonversion_etl_last_run_cells{outcome=\"failed\"} " << r.cells_failed << '\n';
  series(out, "qonversion_etl_last_run_rows_upserted", "gauge", "Rows the last run inserted or updated.");
  out << "qonversion_etl_last_run_rows_upserted " << r.rows_upserted << '\n';
  series(out, "qonversion_etl_last_run_requests", "gauge",
         "Requests of the last run by HTTP status (\"none\": no answer arrived).");
  for (const auto& [status, count] : s.fetch.responses_by_status) {
    out << "qonversion_etl_last_run_requests{code=\"" << (status == 0 ? std::string("none") : std::to_string(status))
        << "\"} " << count << '\n';
  }
  if (!s.findings.empty()) {
    series(out, "qonversion_etl_last_run_data_check_findings", "gauge",
           "Data-check findings about the last run's snapshot by check and severity (see etl_data_checks).");
    for (const auto& [key, count] : s.findings) {
      out << "qonversion_etl_last_run_data_check_findings{check=\"" << label_value(key.first) << "\",severity=\""
          << label_value(key.second) << "\"} " << count << '\n';
    }
  }
  series(out, "qonversion_etl_last_run_retries", "gauge", "Requests of the last run that were retries.");
  out << "qonversion_etl_last_run_retries " << s.fetch.retries << '\n';

  // The same figures per project (projects have their own keys and rates, so one can fail
  // alone). Separate series, so that sum() over a series never counts a request twice.
  series(out, "qonversion_etl_last_run_project_cells", "gauge", "Cells of the last run by project and outcome.");
  for (const auto& [project, cells] : s.cells_by_project) {
    const std::string p = label_value(project);
    out << "qonversion_etl_last_run_project_cells{project=\"" << p << "\",outcome=\"planned\"} " << cells.planned << '\n';
    out << "qonversion_etl_last_run_project_cells{project=\"" << p << "\",outcome=\"succeeded\"} " << cells.succeeded
        << '\n';
    out << "qonversion_etl_last_run_project_cells{project=\"" << p << "\",outcome=\"failed\"} " << cells.failed << '\n';
  }
  series(out, "qonversion_etl_last_run_project_requests", "gauge",
         "Requests of the last run by project and HTTP status (\"none\": no answer arrived).");
  for (const auto& [project, requests] : s.fetch.by_project) {
    for (const auto& [status, count] : requests.responses_by_status) {
      out << "qonversion_etl_last_run_project_requests{project=\"" << label_value(project) << "\",code=\""
          << (status == 0 ? std::string("none") : std::to_string(status)) << "\"} " << count << '\n';
    }
  }
  series(out, "qonversion_etl_last_run_project_retries", "gauge", "Retries of the last run by project.");
  for (const auto& [project, requests] : s.fetch.by_project) {
    out << "qonversion_etl_last_run_project_retries{project=\"" << label_value(project) << "\"} " << requests.retries
        << '\n';
  }
  return out.str();
}

std::optional<UnixSeconds> previous_last_success(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  const std::string prefix = std::string(kLastSuccess) + " ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      try {
        return std::stoll(line.substr(prefix.size()));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

namespace {

// A new temp file beside `path` under a name nobody can guess, created exclusively and never
// through a symlink: the folder is often shared with node_exporter and other jobs. Returns -1
// with errno set when it cannot.
int create_temp_beside(const std::string& path, std::string& temp) {
  std::random_device random;
  for (int attempt = 0; attempt < 16; ++attempt) {
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".tmp.%08x%08x", random(), random());
    temp = path + suffix;
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

}  // namespace

void write_run_metrics(const std::string& path, const RunSummary& summary) {
  const std::string text = render_run_metrics(summary, previous_last_success(path));
  std::string temp;
  bool created = false;
  auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    if (created) ::unlink(temp.c_str());
    throw EtlError(ExitCode::internal, "metrics file " + path + ": " + what + ": " + reason);
  };
  const int fd = create_temp_beside(path, temp);
  if (fd < 0) fail("cannot create");
  created = true;
  // node_exporter runs as another user: readable by all, whatever the service's UMask=0077.
  if (::fchmod(fd, 0644) != 0) {
    ::close(fd);
    fail("cannot make readable");
  }
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail("cannot write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("cannot flush");
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename into place");
}

}  // namespace qetl
