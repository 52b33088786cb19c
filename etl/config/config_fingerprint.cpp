#include "config/config_fingerprint.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <stdexcept>

#include "util/mask.hpp"

namespace qetl {
namespace {

// Quoted, with '"', '\' and bytes outside printable ASCII escaped: unambiguous whatever the text.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Round-trips: the same double always gives the same text, different ones different texts.
std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

const char* grain_name(SnapshotGrain g) { return g == SnapshotGrain::hour ? "hour" : "day"; }

const char* unit_name(CalendarUnit u) {
  switch (u) {
    case CalendarUnit::day: return "day";
    case CalendarUnit::week: return "week";
    case CalendarUnit::month: return "month";
  }
  return "day";
}

const char* fail_on_name(ChecksFailOn f) {
  switch (f) {
    case ChecksFailOn::never: return "never";
    case ChecksFailOn::error: return "error";
    case ChecksFailOn::warning: return "warning";
  }
  return "never";
}

// Where a secret is read from, never the secret.
std::string source_text(const SecretSource& s) {
  const char* kind = s.kind == SecretSource::Kind::env ? "env" : s.kind == SecretSource::Kind::file ? "file" : "credential";
  return std::string(kind) + ":" + quoted(s.name);
}

std::string rule_text(const MatrixRule& rule) {
  std::string out;
  for (const auto& [dimension, label] : rule.fields) out += (out.empty() ? "" : ",") + dimension + ":" + quoted(label);
  return out;
}

class Lines {
 public:
  void add(const std::string& key, const std::string& value) { text_ += key + "=" + value + "\n"; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string canonical_config_text(const Config& c) {
  Lines out;
  out.add("format", "qonversion-etl config 1");  // changes when this rendering changes
  out.add("snapshot_grain", grain_name(c.snapshot_grain));
  out.add("max_cells", std::to_string(c.max_cells));
  out.add("metrics_file", c.metrics_file ? quoted(*c.metrics_file) : "none");

  out.add("api.base_url", quoted(c.api.base_url));
  out.add("api.concurrency", std::to_string(c.api.concurrency));
  out.add("api.requests_per_minute", number(c.api.requests_per_minute));
  out.add("api.timeout_seconds", number(c.api.timeout_seconds));
  out.add("api.max_attempts", std::to_string(c.api.max_attempts));
  out.add("api.max_retry_wait_seconds", number(c.api.max_retry_wait_seconds));
  out.add("api.give_up_after_seconds", number(c.api.give_up_after_seconds));
  out.add("api.ca_file", c.api.ca_file ? quoted(*c.api.ca_file) : "none");

  out.add("warehouse.url", quoted(mask_warehouse_url(c.warehouse.url)));
  out.add("warehouse.schema", quoted(c.warehouse.schema));

  for (std::size_t i = 0; i < c.projects.size(); ++i) {
    const ProjectConfig& p = c.projects[i];
    const std::string key = "project[" + std::to_string(i) + "]";
    out.add(key + ".name", quoted(p.name));
    out.add(key + ".api_key", source_text(p.api_key));
    std::string environments;
    for (int e : p.environments) environments += (environments.empty() ? "" : ",") + std::to_string(e);
    out.add(key + ".environments", environments);
  }

  for (std::size_t i = 0; i < c.windows.size(); ++i) {
    const WindowConfig& w = c.windows[i];
    const std::string key = "window[" + std::to_string(i) + "]";
    out.add(key + ".name", quoted(w.name));
    switch (w.kind) {
      case WindowKind::fixed: out.add(key + ".from", std::to_string(w.from)); break;
      case WindowKind::rolling: out.add(key + ".last_seconds", std::to_string(w.last_seconds)); break;
      case WindowKind::cohort:
        out.add(key + ".each", unit_name(w.each));
        out.add(key + ".count", std::to_string(w.count));
        break;
    }
  }

  for (const MatrixDimension& d : c.matrix) {
    std::string entries;
    for (const auto& entry : d.entries) {
      if (!entries.empty()) entries += ",";
      if (!entry) {
        entries += "*";
      } else if (!entry->is_group) {
        entries += quoted(entry->label);
      } else {
        entries += "{" + quoted(entry->label) + ":";
        for (std::size_t v = 0; v < entry->values.size(); ++v) entries += (v ? "," : "") + quoted(entry->values[v]);
        entries += "}";
      }
    }
    out.add("matrix." + d.dimension, entries);
  }
  for (std::size_t i = 0; i < c.excludes.size(); ++i) out.add("matrix.exclude[" + std::to_string(i) + "]", rule_text(c.excludes[i]));
  for (std::size_t i = 0; i < c.includes.size(); ++i) out.add("matrix.include[" + std::to_string(i) + "]", rule_text(c.includes[i]));

  out.add("checks.fail_on", fail_on_name(c.checks.fail_on));
  out.add("checks.max_change", number(c.checks.max_change));
  out.add("checks.min_count", std::to_string(c.checks.min_count));
  out.add("checks.tolerance", number(c.checks.tolerance));

  if (c.bi) {
    out.add("bi.metabase_url", quoted(c.bi->metabase_url));
    out.add("bi.metabase_database_id", std::to_string(c.bi->metabase_database_id));
    out.add("bi.metabase_api_key", source_text(c.bi->metabase_api_key));
  }
  return out.take();
}

std::string config_sha256(const Config& config) { return sha256_hex(canonical_config_text(config)); }

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed in OpenSSL's libcrypto");
  }
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace qetl
