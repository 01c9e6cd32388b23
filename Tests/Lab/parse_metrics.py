#!/usr/bin/env python3
"""parse_metrics.py FILE SAMPLE: parse a Prometheus text exposition with prometheus_client
(so a format error fails the test) and print the value of SAMPLE, written as
name or name{label="value",...}. Exits 1 if the sample is absent."""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1]).read()
    match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', sys.argv[2])
    name, label_text = match.group(1), match.group(2) or ""
    wanted = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items()):
                value = sample.value
                print(int(value) if value == int(value) else value)
                return 0
    print(f"no sample {sys.argv[2]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
