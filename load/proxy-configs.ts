// Config files for the native peers, written into a temp dir per run: nginx
// with one worker, haproxy with one thread and caddy (GOMAXPROCS=1), all as plain
// WebSocket reverse proxies with their usual settings (buffers left at their defaults).

export interface NativePeerConfig {
  readonly listenPort: number;
  readonly appPort: number;
  /** Directory for pid, logs and temp files. */
  readonly dir: string;
  /** Largest number of client connections the run will hold at once. */
  readonly maxConnections: number;
}

export function nginxConfig(config: NativePeerConfig, runningAsRoot: boolean): string {
  const { dir } = config;
  return `${runningAsRoot ? 'user root root;\n' : ''}worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events {
  # two per proxied connection, plus a sixteenth: below 1/16 free, nginx closes
  # connections still waiting for their request ("reusing connections")
  worker_connections ${Math.min(19_900, Math.ceil((2 * config.maxConnections * 16) / 15) + 100)};
}
http {
  access_log off;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy-temp;
  fastcgi_temp_path ${dir}/fastcgi-temp;
  uwsgi_temp_path ${dir}/uwsgi-temp;
  scgi_temp_path ${dir}/scgi-temp;
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }
  server {
    listen 127.0.0.1:${config.listenPort} backlog=4096;
    location / {
      proxy_pass http://127.0.0.1:${config.appPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

export function haproxyConfig(config: NativePeerConfig): string {
  return `global
  nbthread 1
  maxconn ${config.maxConnections + 100}
  ulimit-n 20000
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-request 10s
frontend websocket
  bind 127.0.0.1:${config.listenPort}
  maxconn ${config.maxConnections + 100}
  default_backend app
backend app
  server app 127.0.0.1:${config.appPort}
`;
}

/**
 * Caddy's reverse_proxy tunnels WebSocket upgrades by itself: the site is one line.
 * The global block only keeps it off shared resources (admin port 2019, HTTPS, logs).
 */
export function caddyConfig(config: NativePeerConfig): string {
  return `{
  admin off
  auto_https off
  log {
    output discard
  }
}
http://127.0.0.1:${config.listenPort} {
  reverse_proxy 127.0.0.1:${config.appPort}
}
`;
}
