"""Requests per operation and status class, from incidentd's /metrics (hb_requests) on stdin."""
import collections
import re
import sys

counts = collections.defaultdict(collections.Counter)
pattern = re.compile(r'^hb_requests\{(?P<labels>.*)\} (?P<value>[0-9.e+]+)$')
for line in sys.stdin:
    match = pattern.match(line.strip())
    if not match:
        continue
    labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
    operation = labels["http_request_method"] + " " + labels["http_route"]
    counts[operation][labels["http_response_status_code"][0] + "xx"] += int(float(match["value"]))

total = collections.Counter()
print(f'{"operation":55} {"requests":>9} {"2xx":>7} {"3xx":>5} {"4xx":>7} {"5xx":>5}')
for operation in sorted(counts):
    c = counts[operation]
    total.update(c)
    print(f'{operation:55} {sum(c.values()):9} {c["2xx"]:7} {c["3xx"]:5} {c["4xx"]:7} {c["5xx"]:5}')
print(f'{"all":55} {sum(total.values()):9} {total["2xx"]:7} {total["3xx"]:5} {total["4xx"]:7} {total["5xx"]:5}')
sys.exit(1 if total["5xx"] else 0)
