#pragma once
// The Prometheus text exposition for node_exporter's textfile collector, written atomically
// (temp file + rename) so the collector never reads half a file.
#include <optional>
#include <string>

#include "runner/run_job.hpp"

namespace qetl {

// `last_success` is when the newest succeeded run ended: this run's end when it succeeded,
// otherwise the value carried over from the previous file (nullopt: never).
std::string render_run_metrics(const RunSummary& summary, std::optional<UnixSeconds> last_success);

// Reads qonversion_etl_last_success_timestamp_seconds from an earlier file, if any.
std::optional<UnixSeconds> previous_last_success(const std::string& path);

// Writes `path` atomically; throws EtlError(internal) naming the path when it cannot.
void write_run_metrics(const std::string& path, const RunSummary& summary);

}  // namespace qetl
