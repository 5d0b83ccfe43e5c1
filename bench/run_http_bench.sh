#!/usr/bin/env bash
# HTTP client (SigV4 on, one thread) vs wrk (one thread) against the same
# fixed-response nginx on 127.0.0.1, in one run. "ours" is the invoke path's
# client (Http1Client); "libcurl" is CurlHttpClient (every other AWS call). Needs the release build:
#   cmake --preset release && cmake --build --preset release --target http_client_bench
# Usage: bench/run_http_bench.sh [connections=16] [seconds=5]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${PG_BENCH_BIN:-$here/../build/http_client_bench}
conns=${1:-16}
secs=${2:-5}
dir=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
sed -e "s|PORT|$port|g" -e "s|DIR|$dir|g" "$here/nginx_fixed.conf.in" >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
url="http://127.0.0.1:$port"
echo "wrk -t1 -c$conns -d${secs}s $url/2015-03-31/functions/bench/invocations"
wrk_out=$(wrk -t1 -c"$conns" -d"${secs}s" "$url/2015-03-31/functions/bench/invocations")
wrk_rps=$(echo "$wrk_out" | awk '/Requests\/sec/ {print $2}')
echo "wrk: $wrk_rps requests/s"
echo "$bin $url $conns $secs"
ours=$(${PG_BENCH_WRAP:-} "$bin" "$url" "$conns" "$secs")
echo "ours: $ours"
our_rps=$(echo "$ours" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
echo "$bin $url $conns $secs --unsigned   (no SigV4: the HTTP client alone)"
raw=$(${PG_BENCH_WRAP:-} "$bin" "$url" "$conns" "$secs" --unsigned)
echo "ours unsigned: $raw"
echo "$bin $url $conns $secs --curl   (the same signed requests on libcurl)"
curl_out=$(${PG_BENCH_WRAP:-} "$bin" "$url" "$conns" "$secs" --curl)
echo "libcurl signed: $curl_out"
curl_rps=$(echo "$curl_out" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
python3 -c "print('ratio libcurl/wrk: %.2f' % ($curl_rps / $wrk_rps))"
python3 -c "print('ratio ours/wrk: %.2f' % ($our_rps / $wrk_rps))"
