-- wrk `done` hook: one machine-readable line with the numbers wrk's text output lacks (p95, errors).
-- Latencies are in microseconds. bench/load.py parses the line starting with "BENCH ".
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\"requests\": %d, \"duration_us\": %d, \"p50\": %d, \"p90\": %d, \"p95\": %d, \"p99\": %d, " ..
    "\"max\": %d, \"mean\": %.1f, \"connect\": %d, \"read\": %d, \"write\": %d, \"status\": %d, \"timeout\": %d}\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
