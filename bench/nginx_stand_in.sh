# Sourced by the dispatch benchmarks: starts the nginx Lambda stand-in
# (nginx_lambda.conf.in: every Invoke answered with one fixed no-op task result, GetFunction
# for `run --backend aws`, an S3 stand-in on a second port that logs each request) in a fresh
# temporary directory, removed with nginx on exit. Sets dir, port, s3port, url, nginx_pid.
# `pg_build`, when set, is the PARALLELAGRAM_BUILD its GetFunction reports.
# Needs `here` (this folder).
dir=$(mktemp -d)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port)
s3port=$(free_port)
sed -e "s|PGBUILD|${pg_build:-none}|g" -e "s|S3PORT|$s3port|g" -e "s|PORT|$port|g" -e "s|DIR|$dir|g" "$here/nginx_lambda.conf.in" \
  >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$dir"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -s -o /dev/null "$url/" && break; sleep 0.1; done
