#!/usr/bin/env python3
"""The alert rules against a metrics file the binary really wrote, not hand-typed series: a run
that fails before fetching (its key's environment variable unset, exit 78) must raise
QonversionEtlRunFailed{status="failed"} and nothing else. So a renamed series or label in the
metrics file breaks this test rather than the alerts.

  alerts_on_real_metrics.py BINARY PROMTOOL RULES_FILE
"""

import os
import re
import subprocess
import sys
import tempfile

SERIES_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")
TARGET_LABELS = 'instance="etl-host:9100",job="node"'


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    binary, promtool, rules = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as scratch:
        metrics = os.path.join(scratch, "qonversion-etl.prom")
        config = os.path.join(scratch, "config.toml")
        with open(config, "w", encoding="utf-8") as out:
            out.write(
                f'metrics_file = "{metrics}"\n'
                '[api]\nbase_url = "http://127.0.0.1:9/v1/analytics"\n'
                f'[warehouse]\nurl = "sqlite:{scratch}/warehouse.sqlite"\n'
                '[[project]]\nname = "app"\napi_key = { env = "QETL_ALERTS_TEST_UNSET_KEY" }\n'
                '[[window]]\nname = "all_time"\nfrom = "2024-01-01"\n'
            )
        env = {k: v for k, v in os.environ.items() if k != "QETL_ALERTS_TEST_UNSET_KEY"}
        run = subprocess.run([binary, "run", "-q", "-c", config], capture_output=True, text=True, env=env)
        if run.returncode != 78:
            fail(f"expected exit 78 from a run without its key, got {run.returncode}: {run.stderr}")
        if not os.path.exists(metrics):
            fail("the failed run wrote no metrics file")
        with open(metrics, encoding="utf-8") as f:
            text = f.read()

        # Every sample, as promtool input: the file's value held for an hour, with the labels
        # node_exporter's target adds.
        series = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = SERIES_LINE.match(line)
            if not match:
                fail(f"unreadable line in the metrics file: {line!r}")
            name, labels, value = match.groups()
            inner = labels[1:-1] + "," if labels else ""
            series.append(f"      - series: '{name}{{{inner}{TARGET_LABELS}}}'\n        values: '{value}x60'\n")

        test = os.path.join(scratch, "real.test.yml")
        with open(test, "w", encoding="utf-8") as out:
            out.write(f"rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
            out.writelines(series)
            out.write(
                "    promql_expr_test:\n"
                "      - expr: ALERTS{alertstate=\"firing\"}\n"
                "        eval_time: 30m\n"
                "        exp_samples:\n"
                "          - labels: 'ALERTS{alertname=\"QonversionEtlRunFailed\",alertstate=\"firing\","
                f"severity=\"warning\",status=\"failed\",{TARGET_LABELS}}}'\n"
                "            value: 1\n"
            )
        result = subprocess.run([promtool, "test", "rules", test], capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"promtool on the real metrics file:\n{text}\n{result.stdout}{result.stderr}")
    print("a real failed run's metrics file raises QonversionEtlRunFailed{status=\"failed\"} and nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
