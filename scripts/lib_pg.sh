# Shared by the PostgreSQL benchmark scripts (source it; not a script of its own): a throwaway
# PostgreSQL server, the benchmark table and a timer.
#
#   pg_start NAME     initdb + start a server of the installed PostgreSQL (pg_config --bindir)
#                     in a fresh /tmp/NAME.XXXXXX directory on a random port, fsync off; runs
#                     as `postgres` when root; stops it and deletes the directory on exit.
#                     Sets $work (the directory, for scratch files) and $url
#                     (postgres://postgres@127.0.0.1:PORT), exports PGHOST/PGPORT/PGUSER.
#   make_customers DB ROWS
#                     creates the benchmark table public.customers (14 columns: bigint id,
#                     names, email, phone, date, address, timestamptz, long text, int, numeric)
#                     with ROWS rows in DB, primary key, VACUUM ANALYZE.
#   secs CMD ARGS...  runs CMD quietly and prints its wall time in seconds.

pg_start() {
  bin=$(pg_config --bindir)
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  local port=$((20000 + RANDOM % 20000))
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$work"; as_pg=(runuser -u postgres --); fi
  trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  "${as_pg[@]}" "$bin/initdb" -D "$work/data" --auth=trust -U postgres >/dev/null
  "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -o "-p $port -k $work -c fsync=off -c synchronous_commit=off" \
    -l "$work/log" -w start >/dev/null
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
  url=postgres://postgres@127.0.0.1:$port
}

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }

make_customers() {
  psql -qX -d "$1" <<SQL
CREATE TABLE customers AS SELECT g::bigint AS id, 'First'||(g%997) AS first_name, 'Last'||(g%1999) AS last_name,
  'user'||g||'@mail.example.com' AS email, '+44 20 '||lpad((g%100000000)::text,8,'0') AS phone,
  date '1950-01-01' + (g%20000) AS date_of_birth, (g%300)||' Main Street' AS street, 'City'||(g%500) AS city,
  lpad((g%99999)::text,5,'0') AS postcode, 'DE'::text AS country,
  timestamptz '2025-01-01' - (g||' minutes')::interval AS created_at,
  md5(g::text)||md5((g+1)::text)||' notes, call +44 20 7946 '||lpad((g%10000)::text,4,'0') AS notes,
  (g%10000)::int AS loyalty_points, ((g%100000)/100.0)::numeric(12,2) AS balance
FROM generate_series(1, $2) g;
ALTER TABLE customers ADD PRIMARY KEY (id);
VACUUM ANALYZE customers;
SQL
}
