#!/bin/sh
# Serves one published site with `hejnal serve` and with nginx (sendfile, and
# gzip_static for the .gz files hejnal publishes beside each file), and runs the
# same wrk commands against both, in turns, three times each: plain 200, gzip
# 200 and 304 to the server's own ETag.
#
#   cargo build --release --bin hejnal --example cycle_bench
#   sh benches/serve_vs_nginx.sh            (needs nginx and wrk on PATH)
#
# Loopback only. DURATION, CONNECTIONS and THREADS can be set in the environment.
set -eu
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SITE=$(mktemp -d)
chmod 755 "$SITE"
trap 'kill "$HEJNAL" 2>/dev/null; nginx -c "$SITE/nginx.conf" -p "$SITE" -s stop 2>/dev/null; rm -rf "$SITE"' EXIT

"$ROOT/target/release/examples/cycle_bench" --sources 200 --items 50 --site "$SITE"
"$ROOT/target/release/hejnal" --config "$SITE/feeds.toml" serve --listen 127.0.0.1:18080 \
    >"$SITE/hejnal.log" 2>&1 &
HEJNAL=$!

cat >"$SITE/nginx.conf" <<CONF
worker_processes auto;
pid $SITE/nginx.pid;
error_log $SITE/nginx-error.log;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip_static on;
    etag on;
    server { listen 127.0.0.1:18081; root $SITE/public; }
}
CONF
nginx -c "$SITE/nginx.conf" -p "$SITE"
sleep 1

etag() { curl -sI "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}'; }
HEJNAL_ETAG=$(etag http://127.0.0.1:18080/feed.xml)
NGINX_ETAG=$(etag http://127.0.0.1:18081/feed.xml)
echo "feed.xml: $(wc -c <"$SITE/public/feed.xml") bytes; ETags hejnal $HEJNAL_ETAG, nginx $NGINX_ETAG"

run() { # name url [header]
    if [ $# -eq 3 ]; then
        rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$3" "$2" | awk '/Requests\/sec/ {print $2}')
    else
        rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$2" | awk '/Requests\/sec/ {print $2}')
    fi
    echo "$1 $rps"
}
for round in 1 2 3; do
    echo "round $round (requests/s)"
    run "  hejnal 200" http://127.0.0.1:18080/feed.xml
    run "  nginx  200" http://127.0.0.1:18081/feed.xml
    run "  hejnal 200 gzip" http://127.0.0.1:18080/feed.xml "Accept-Encoding: gzip"
    run "  nginx  200 gzip" http://127.0.0.1:18081/feed.xml "Accept-Encoding: gzip"
    run "  hejnal 304" http://127.0.0.1:18080/feed.xml "If-None-Match: $HEJNAL_ETAG"
    run "  nginx  304" http://127.0.0.1:18081/feed.xml "If-None-Match: $NGINX_ETAG"
done
